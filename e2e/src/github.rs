//! A GitHub fake on loopback: `GET /repos/{owner}/{repo}/pulls` as GitHub serves it
//! (pagination by `page`/`per_page` with a `Link: rel="next"` header, "Pull Request Simple"
//! items), with scripted faults (a status, the primary rate limit as 403 with
//! `x-ratelimit-remaining: 0`, the secondary one as 429 with `retry-after`), and the bodies of
//! `pull_request` webhook deliveries ([`pull_request_event`]) shaped like
//! `shared/github/webhooks-schema.json`'s. `e2e/tests/github_contract.rs` checks both against
//! `shared/github`. Written from those documents; it depends on no Launchplane crate.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// One open pull request the fake lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakePull {
    pub number: i64,
    pub head_sha: String,
    pub labels: Vec<String>,
    pub updated_at: String,
}

/// A scripted answer, taken by the next listing call (one per page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GitHubFault {
    /// Answer with this status (e.g. 502).
    Status(u16),
    /// 403 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset` at this epoch second.
    PrimaryRateLimit { reset: i64 },
    /// 429 with `retry-after` of this many seconds.
    SecondaryRateLimit { retry_after: u64 },
    /// 200 with an empty list, whatever is open.
    Empty,
    /// Answer as usual (to reach a later page's fault).
    Pass,
}

/// One call the fake answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitHubCall {
    pub path: String,
    pub query: String,
    /// The `Authorization` header was `Bearer <the expected token>`.
    pub authorized: bool,
}

#[derive(Default)]
struct FakeState {
    pulls: BTreeMap<String, Vec<FakePull>>,
    faults: VecDeque<GitHubFault>,
    calls: Vec<GitHubCall>,
    per_page_cap: usize,
}

/// The fake. Dropping it stops the server.
pub struct GitHubFake {
    state: Arc<Mutex<FakeState>>,
    addr: SocketAddr,
    token: String,
    task: JoinHandle<()>,
}

impl Drop for GitHubFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Shared {
    state: Arc<Mutex<FakeState>>,
    base: String,
    token: String,
}

impl GitHubFake {
    /// Start on a loopback port, accepting `token`.
    pub async fn start(token: &str) -> std::io::Result<GitHubFake> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(FakeState {
            per_page_cap: 100,
            ..FakeState::default()
        }));
        let shared = Shared {
            state: state.clone(),
            base: format!("http://{addr}"),
            token: token.to_string(),
        };
        let app = Router::new()
            .route("/repos/{owner}/{repo}/pulls", get(list_pulls))
            .with_state(shared);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(GitHubFake {
            state,
            addr,
            token: token.to_string(),
            task,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The open pull requests of `owner/repo`.
    pub fn set_pulls(&self, full_name: &str, pulls: Vec<FakePull>) {
        self.lock().pulls.insert(full_name.to_string(), pulls);
    }

    /// Queue `fault` for the next call.
    pub fn fault(&self, fault: GitHubFault) {
        self.lock().faults.push_back(fault);
    }

    /// Serve at most `n` items per page (to force pagination with few pull requests).
    pub fn cap_page_size(&self, n: usize) {
        self.lock().per_page_cap = n.max(1);
    }

    pub fn calls(&self) -> Vec<GitHubCall> {
        self.lock().calls.clone()
    }
}

/// A "Pull Request Simple" item, with every property the REST description requires.
pub fn pull_item(base: &str, full_name: &str, pull: &FakePull) -> Value {
    let n = pull.number;
    let api = format!("{base}/repos/{full_name}");
    let web = format!("https://github.com/{full_name}");
    let user = user("octocat");
    let repo = json!({"id": 1, "name": full_name.split('/').nth(1).unwrap_or_default(),
        "full_name": full_name, "url": api, "html_url": web});
    json!({
        "url": format!("{api}/pulls/{n}"), "id": 1000 + n, "node_id": format!("PR_{n}"),
        "html_url": format!("{web}/pull/{n}"), "diff_url": format!("{web}/pull/{n}.diff"),
        "patch_url": format!("{web}/pull/{n}.patch"), "issue_url": format!("{api}/issues/{n}"),
        "commits_url": format!("{api}/pulls/{n}/commits"),
        "review_comments_url": format!("{api}/pulls/{n}/comments"),
        "review_comment_url": format!("{api}/pulls/comments{{/number}}"),
        "comments_url": format!("{api}/issues/{n}/comments"),
        "statuses_url": format!("{api}/statuses/{}", pull.head_sha),
        "number": n, "state": "open", "locked": false, "title": format!("Change {n}"),
        "user": user, "body": null,
        "labels": pull.labels.iter().enumerate().map(|(i, l)| label(i as i64, l)).collect::<Vec<_>>(),
        "milestone": null, "active_lock_reason": null,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": pull.updated_at,
        "closed_at": null, "merged_at": null, "merge_commit_sha": null,
        "assignee": null, "assignees": [], "requested_reviewers": [], "requested_teams": [],
        "head": {"label": format!("octocat:change-{n}"), "ref": format!("change-{n}"), "sha": pull.head_sha,
                 "user": user, "repo": repo},
        "base": {"label": "acme:main", "ref": "main", "sha": "0000000000000000000000000000000000000000",
                 "user": user, "repo": repo},
        "_links": {
            "comments": {"href": format!("{api}/issues/{n}/comments")},
            "commits": {"href": format!("{api}/pulls/{n}/commits")},
            "statuses": {"href": format!("{api}/statuses/{}", pull.head_sha)},
            "html": {"href": format!("{web}/pull/{n}")},
            "issue": {"href": format!("{api}/issues/{n}")},
            "review_comments": {"href": format!("{api}/pulls/{n}/comments")},
            "review_comment": {"href": format!("{api}/pulls/comments{{/number}}")},
            "self": {"href": format!("{api}/pulls/{n}")}
        },
        "author_association": "CONTRIBUTOR", "auto_merge": null, "draft": false
    })
}

fn user(login: &str) -> Value {
    let u = format!("https://api.github.com/users/{login}");
    json!({"login": login, "id": 1, "node_id": "U_1", "avatar_url": "https://avatars.githubusercontent.com/u/1",
        "gravatar_id": "", "url": u, "html_url": format!("https://github.com/{login}"),
        "followers_url": format!("{u}/followers"), "following_url": format!("{u}/following{{/other_user}}"),
        "gists_url": format!("{u}/gists{{/gist_id}}"), "starred_url": format!("{u}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{u}/subscriptions"), "organizations_url": format!("{u}/orgs"),
        "repos_url": format!("{u}/repos"), "events_url": format!("{u}/events{{/privacy}}"),
        "received_events_url": format!("{u}/received_events"), "type": "User", "site_admin": false})
}

fn label(id: i64, name: &str) -> Value {
    json!({"id": 500 + id, "node_id": format!("L_{id}"), "url": format!("https://api.github.com/labels/{name}"),
        "name": name, "description": "", "color": "ededed", "default": false})
}

async fn list_pulls(
    State(shared): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let full_name = format!("{owner}/{repo}");
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", shared.token));
    let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
    state.calls.push(GitHubCall {
        path: format!("/repos/{full_name}/pulls"),
        query: query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&"),
        authorized,
    });
    if !authorized {
        let body = json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let fault = state.faults.pop_front();
    let mut response_headers = HeaderMap::new();
    match fault {
        Some(GitHubFault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, axum::Json(json!({"message": "Server Error"}))).into_response();
        }
        Some(GitHubFault::PrimaryRateLimit { reset }) => {
            response_headers.insert("x-ratelimit-limit", HeaderValue::from_static("5000"));
            response_headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
            if let Ok(v) = HeaderValue::from_str(&reset.to_string()) {
                response_headers.insert("x-ratelimit-reset", v);
            }
            let body = json!({"message": "API rate limit exceeded", "documentation_url": "https://docs.github.com/rest"});
            return (StatusCode::FORBIDDEN, response_headers, axum::Json(body)).into_response();
        }
        Some(GitHubFault::SecondaryRateLimit { retry_after }) => {
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                response_headers.insert("retry-after", v);
            }
            let body = json!({"message": "You have exceeded a secondary rate limit", "documentation_url": "https://docs.github.com/rest"});
            return (StatusCode::TOO_MANY_REQUESTS, response_headers, axum::Json(body)).into_response();
        }
        Some(GitHubFault::Empty) => return axum::Json(json!([])).into_response(),
        Some(GitHubFault::Pass) | None => {}
    }
    if query.get("state").is_some_and(|s| s != "open") {
        return axum::Json(json!([])).into_response();
    }
    let per_page = query
        .get("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100)
        .min(state.per_page_cap);
    let page = query
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let all = state.pulls.get(&full_name).cloned().unwrap_or_default();
    let items: Vec<Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|p| pull_item(&shared.base, &full_name, p))
        .collect();
    if page * per_page < all.len() {
        let next = format!(
            "<{}/repos/{full_name}/pulls?state=open&per_page={per_page}&page={}>; rel=\"next\"",
            shared.base,
            page + 1
        );
        if let Ok(v) = HeaderValue::from_str(&next) {
            response_headers.insert("link", v);
        }
    }
    (response_headers, axum::Json(Value::Array(items))).into_response()
}

/// The body of a `pull_request` delivery with `action`, as GitHub sends it: the properties
/// `webhooks-schema.json` requires of `pull_request$<action>`, `pull-request`, `label` and
/// `repository` (the ones the contract test checks), with the pull request's facts.
pub fn pull_request_event(
    action: &str,
    full_name: &str,
    pull: &FakePull,
    open: bool,
    label_changed: Option<&str>,
) -> Value {
    let mut pr = pull_item("https://api.github.com", full_name, pull);
    let state = if open { "open" } else { "closed" };
    let pr_object = pr.as_object_mut();
    if let Some(o) = pr_object {
        o.insert("state".into(), json!(state));
        o.insert(
            "html_url".into(),
            json!(format!("https://github.com/{full_name}/pull/{}", pull.number)),
        );
        for (k, v) in [
            ("merged", json!(false)),
            ("mergeable", Value::Null),
            ("rebaseable", Value::Null),
            ("mergeable_state", json!("unknown")),
            ("merged_by", Value::Null),
            ("comments", json!(0)),
            ("review_comments", json!(0)),
            ("maintainer_can_modify", json!(false)),
            ("commits", json!(1)),
            ("additions", json!(1)),
            ("deletions", json!(0)),
            ("changed_files", json!(1)),
        ] {
            o.insert(k.into(), v);
        }
        if !open {
            o.insert("closed_at".into(), json!(pull.updated_at));
        }
    }
    let mut event = json!({
        "action": action,
        "number": pull.number,
        "pull_request": pr,
        "repository": repository(full_name),
        "sender": user("octocat"),
    });
    if action == "synchronize" {
        event["before"] = json!("0000000000000000000000000000000000000000");
        event["after"] = json!(pull.head_sha);
    }
    if let Some(l) = label_changed {
        event["label"] = label(99, l);
    }
    event
}

/// A `repository` object (the `repository` definition's required properties).
pub fn repository(full_name: &str) -> Value {
    let name = full_name.split('/').nth(1).unwrap_or_default();
    let owner = full_name.split('/').next().unwrap_or_default();
    let api = format!("https://api.github.com/repos/{full_name}");
    let web = format!("https://github.com/{full_name}");
    let mut r = json!({
        "id": 1, "node_id": "R_1", "name": name, "full_name": full_name, "private": false,
        "owner": user(owner), "html_url": web, "description": null, "fork": false, "url": api,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "pushed_at": "2026-01-01T00:00:00Z",
        "git_url": format!("git://github.com/{full_name}.git"), "ssh_url": format!("git@github.com:{full_name}.git"),
        "clone_url": format!("{web}.git"), "svn_url": web, "homepage": null, "size": 1,
        "stargazers_count": 0, "watchers_count": 0, "language": null, "has_issues": true,
        "has_projects": true, "has_downloads": true, "has_wiki": true, "has_pages": false,
        "forks_count": 0, "mirror_url": null, "archived": false, "open_issues_count": 1, "license": null,
        "forks": 0, "open_issues": 1, "watchers": 0, "default_branch": "main", "is_template": false,
        "web_commit_signoff_required": false, "topics": [], "visibility": "public", "custom_properties": {}
    });
    for key in [
        "forks",
        "keys",
        "collaborators",
        "teams",
        "hooks",
        "issue_events",
        "events",
        "assignees",
        "branches",
        "tags",
        "blobs",
        "git_tags",
        "git_refs",
        "trees",
        "statuses",
        "languages",
        "stargazers",
        "contributors",
        "subscribers",
        "subscription",
        "commits",
        "git_commits",
        "comments",
        "issue_comment",
        "contents",
        "compare",
        "merges",
        "archive",
        "downloads",
        "issues",
        "pulls",
        "milestones",
        "notifications",
        "labels",
        "releases",
        "deployments",
    ] {
        r[format!("{key}_url")] = json!(format!("{api}/{key}"));
    }
    r
}

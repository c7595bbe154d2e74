//! A GitHub fake on loopback: `GET /repos/{owner}/{repo}/pulls` as GitHub serves it
//! (pagination by `page`/`per_page` with a `Link: rel="next"` header, "Pull Request Simple"
//! items), with scripted faults (a status, the primary rate limit as 403 with
//! `x-ratelimit-remaining: 0`, the secondary one as 429 with `retry-after`), and the bodies of
//! `pull_request` webhook deliveries ([`pull_request_event`]) shaped like
//! `shared/github/webhooks-schema.json`'s. For pull-request feedback it also serves issue
//! comments (list, read, create, edit) and deployments with their statuses (list, create),
//! answering with "Issue Comment", "Deployment" and "Deployment Status" objects. For incident
//! notifications it serves issues (list with `state`/`labels`/`sort`/`direction`, create, read,
//! update/close) answering with "Issue" objects. The scripted faults apply to every route,
//! including a slow answer (the call is served, its answer held back) for client timeouts. `e2e/tests/github_contract.rs` checks all of it against
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

/// A scripted answer, taken by the next call to any route (one per page of a listing).
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
    /// Serve the call as usual (its writes happen) but hold the answer back this long: a client
    /// with a shorter timeout gives up after the server acted.
    SlowAnswer(std::time::Duration),
}

/// An issue the fake holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeIssue {
    pub number: i64,
    /// `owner/repo`.
    pub repository: String,
    pub title: String,
    pub body: Option<String>,
    pub labels: Vec<String>,
    /// `open` or `closed`.
    pub state: String,
    /// `completed`, `not_planned`, `duplicate`, `reopened` or none.
    pub state_reason: Option<String>,
    /// The login of its author.
    pub author: String,
}

/// A comment the fake holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeComment {
    pub id: i64,
    /// `owner/repo`.
    pub repository: String,
    pub issue: i64,
    pub body: String,
    /// The login of its author (`launchplane-bot` for the token's, or a person's).
    pub author: String,
}

/// A deployment the fake holds, with the states of its statuses, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeDeployment {
    pub id: i64,
    pub repository: String,
    pub sha: String,
    pub git_ref: String,
    pub environment: String,
    pub description: Option<String>,
    pub auto_merge: Option<bool>,
    pub required_contexts: Option<Vec<String>>,
    pub statuses: Vec<String>,
}

/// One call the fake answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitHubCall {
    /// `GET`, `POST`, `PATCH`.
    pub method: String,
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
    comments: Vec<FakeComment>,
    deployments: Vec<FakeDeployment>,
    issues: Vec<FakeIssue>,
    next_id: i64,
    next_issue: i64,
    /// Set by a [`GitHubFault::SlowAnswer`], taken after the handler ran.
    hold_answer: Option<std::time::Duration>,
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
            next_id: 1000,
            next_issue: 0,
            ..FakeState::default()
        }));
        let shared = Shared {
            state: state.clone(),
            base: format!("http://{addr}"),
            token: token.to_string(),
        };
        let app = Router::new()
            .route("/repos/{owner}/{repo}/pulls", get(list_pulls))
            .route(
                "/repos/{owner}/{repo}/issues/{issue_number}/comments",
                get(list_comments).post(create_comment),
            )
            .route(
                "/repos/{owner}/{repo}/issues/comments/{comment_id}",
                get(get_comment).patch(update_comment),
            )
            .route(
                "/repos/{owner}/{repo}/deployments",
                get(list_deployments).post(create_deployment),
            )
            .route(
                "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
                axum::routing::post(create_deployment_status),
            )
            .route(
                "/repos/{owner}/{repo}/issues",
                get(list_issues).post(create_issue),
            )
            .route(
                "/repos/{owner}/{repo}/issues/{issue_number}",
                get(get_issue).patch(update_issue),
            )
            .layer(axum::middleware::from_fn_with_state(state.clone(), hold_answer))
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

    /// The comments held, in the order made.
    pub fn comments(&self) -> Vec<FakeComment> {
        self.lock().comments.clone()
    }

    /// Add a comment as `author` would (e.g. a person's, or one copying another's marker).
    pub fn add_comment(&self, full_name: &str, issue: i64, author: &str, body: &str) -> i64 {
        let mut state = self.lock();
        state.next_id += 1;
        let id = state.next_id;
        state.comments.push(FakeComment {
            id,
            repository: full_name.into(),
            issue,
            body: body.into(),
            author: author.into(),
        });
        id
    }

    /// Remove a comment (as a person deleting it would).
    pub fn delete_comment(&self, id: i64) {
        self.lock().comments.retain(|c| c.id != id);
    }

    /// The issues held, in the order made.
    pub fn issues(&self) -> Vec<FakeIssue> {
        self.lock().issues.clone()
    }

    /// Add an issue as `author` would (a person's, or one copying another's marker); its number.
    pub fn add_issue(&self, full_name: &str, author: &str, title: &str, body: &str, labels: &[&str]) -> i64 {
        let mut state = self.lock();
        state.next_issue += 1;
        let number = state.next_issue;
        state.issues.push(FakeIssue {
            number,
            repository: full_name.into(),
            title: title.into(),
            body: Some(body.into()),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            state: "open".into(),
            state_reason: None,
            author: author.into(),
        });
        number
    }

    /// Change an issue's state by hand (as a person would).
    pub fn set_issue_state(&self, number: i64, state: &str) {
        if let Some(i) = self.lock().issues.iter_mut().find(|i| i.number == number) {
            i.state = state.into();
        }
    }

    /// The deployments held, in the order made.
    pub fn deployments(&self) -> Vec<FakeDeployment> {
        self.lock().deployments.clone()
    }
}

/// The caller's token is checked, the call recorded and a scripted fault taken: `Err` is the
/// answer to give instead of the route's own. `Empty` lists nothing.
fn gate<'a>(
    shared: &'a Shared,
    headers: &HeaderMap,
    method: &str,
    path: String,
    query: &BTreeMap<String, String>,
) -> Result<(std::sync::MutexGuard<'a, FakeState>, bool), Box<Response>> {
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", shared.token));
    let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
    state.calls.push(GitHubCall {
        method: method.into(),
        path,
        query: query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&"),
        authorized,
    });
    if !authorized {
        let body = json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"});
        return Err(Box::new(
            (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response(),
        ));
    }
    let mut response_headers = HeaderMap::new();
    match state.faults.pop_front() {
        Some(GitHubFault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Err(Box::new(
                (status, axum::Json(json!({"message": "Server Error"}))).into_response(),
            ))
        }
        Some(GitHubFault::PrimaryRateLimit { reset }) => {
            response_headers.insert("x-ratelimit-limit", HeaderValue::from_static("5000"));
            response_headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
            if let Ok(v) = HeaderValue::from_str(&reset.to_string()) {
                response_headers.insert("x-ratelimit-reset", v);
            }
            let body = json!({"message": "API rate limit exceeded", "documentation_url": "https://docs.github.com/rest"});
            Err(Box::new(
                (StatusCode::FORBIDDEN, response_headers, axum::Json(body)).into_response(),
            ))
        }
        Some(GitHubFault::SecondaryRateLimit { retry_after }) => {
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                response_headers.insert("retry-after", v);
            }
            let body = json!({"message": "You have exceeded a secondary rate limit", "documentation_url": "https://docs.github.com/rest"});
            Err(Box::new(
                (StatusCode::TOO_MANY_REQUESTS, response_headers, axum::Json(body)).into_response(),
            ))
        }
        Some(GitHubFault::Empty) => Ok((state, true)),
        Some(GitHubFault::SlowAnswer(d)) => {
            state.hold_answer = Some(d);
            Ok((state, false))
        }
        Some(GitHubFault::Pass) | None => Ok((state, false)),
    }
}

/// Hold back the answer of a call that took a [`GitHubFault::SlowAnswer`].
async fn hold_answer(
    State(state): State<Arc<Mutex<FakeState>>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let hold = state.lock().unwrap_or_else(|p| p.into_inner()).hold_answer.take();
    if let Some(d) = hold {
        tokio::time::sleep(d).await;
    }
    response
}

fn not_found() -> Response {
    let body = json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

fn unprocessable(message: &str) -> Response {
    let body = json!({"message": message, "documentation_url": "https://docs.github.com/rest"});
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
}

/// An "Issue Comment" with every property the REST description requires.
pub fn comment_item(base: &str, c: &FakeComment) -> Value {
    let api = format!("{base}/repos/{}", c.repository);
    json!({
        "id": c.id, "node_id": format!("IC_{}", c.id),
        "url": format!("{api}/issues/comments/{}", c.id),
        "html_url": format!("https://github.com/{}/pull/{}#issuecomment-{}", c.repository, c.issue, c.id),
        "issue_url": format!("{api}/issues/{}", c.issue),
        "body": c.body, "user": user(&c.author),
        "created_at": "2026-01-15T08:00:00Z", "updated_at": "2026-01-15T08:00:00Z",
        "author_association": "NONE"
    })
}

/// A "Deployment" with every property the REST description requires.
pub fn deployment_item(base: &str, d: &FakeDeployment) -> Value {
    let api = format!("{base}/repos/{}", d.repository);
    json!({
        "url": format!("{api}/deployments/{}", d.id), "id": d.id, "node_id": format!("DE_{}", d.id),
        "sha": d.sha, "ref": d.git_ref, "task": "deploy", "payload": {},
        "original_environment": d.environment, "environment": d.environment,
        "description": d.description, "creator": user("launchplane-bot"),
        "created_at": "2026-01-15T08:00:00Z", "updated_at": "2026-01-15T08:00:00Z",
        "statuses_url": format!("{api}/deployments/{}/statuses", d.id),
        "repository_url": api, "transient_environment": false, "production_environment": false
    })
}

/// A "Deployment Status" with every property the REST description requires.
pub fn deployment_status_item(
    base: &str,
    d: &FakeDeployment,
    id: i64,
    state: &str,
    environment_url: &str,
) -> Value {
    let api = format!("{base}/repos/{}", d.repository);
    json!({
        "url": format!("{api}/deployments/{}/statuses/{id}", d.id), "id": id, "node_id": format!("DES_{id}"),
        "state": state, "creator": user("launchplane-bot"), "description": "",
        "environment": d.environment, "target_url": "", "log_url": "", "environment_url": environment_url,
        "created_at": "2026-01-15T08:00:00Z", "updated_at": "2026-01-15T08:00:00Z",
        "deployment_url": format!("{api}/deployments/{}", d.id), "repository_url": api
    })
}

/// One page of `items` per `page`/`per_page`, with a `Link: rel="next"` to `path` while more.
fn paged(
    shared: &Shared,
    per_page_cap: usize,
    path: &str,
    query: &BTreeMap<String, String>,
    items: Vec<Value>,
) -> Response {
    let per_page = query
        .get("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100)
        .min(per_page_cap);
    let page = query
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let total = items.len();
    let shown: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let mut response_headers = HeaderMap::new();
    if page * per_page < total {
        let mut rest: Vec<String> = query
            .iter()
            .filter(|(k, _)| k.as_str() != "page" && k.as_str() != "per_page")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        rest.push(format!("per_page={per_page}"));
        rest.push(format!("page={}", page + 1));
        let next = format!("<{}{path}?{}>; rel=\"next\"", shared.base, rest.join("&"));
        if let Ok(v) = HeaderValue::from_str(&next) {
            response_headers.insert("link", v);
        }
    }
    (response_headers, axum::Json(Value::Array(shown))).into_response()
}

async fn list_comments(
    State(shared): State<Shared>,
    Path((owner, repo, issue)): Path<(String, String, i64)>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let full_name = format!("{owner}/{repo}");
    let path = format!("/repos/{full_name}/issues/{issue}/comments");
    let (state, empty) = match gate(&shared, &headers, "GET", path.clone(), &query) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let items: Vec<Value> = if empty {
        vec![]
    } else {
        let mut mine: Vec<&FakeComment> = state
            .comments
            .iter()
            .filter(|c| c.repository == full_name && c.issue == issue)
            .collect();
        mine.sort_by_key(|c| c.id);
        mine.into_iter().map(|c| comment_item(&shared.base, c)).collect()
    };
    let cap = state.per_page_cap;
    drop(state);
    paged(&shared, cap, &path, &query, items)
}

#[derive(serde::Deserialize)]
struct CommentBody {
    body: String,
}

async fn create_comment(
    State(shared): State<Shared>,
    Path((owner, repo, issue)): Path<(String, String, i64)>,
    headers: HeaderMap,
    body: Option<axum::Json<CommentBody>>,
) -> Response {
    let full_name = format!("{owner}/{repo}");
    let path = format!("/repos/{full_name}/issues/{issue}/comments");
    let (mut state, _) = match gate(&shared, &headers, "POST", path, &BTreeMap::new()) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some(axum::Json(body)) = body else {
        return unprocessable("body is required");
    };
    state.next_id += 1;
    let c = FakeComment {
        id: state.next_id,
        repository: full_name,
        issue,
        body: body.body,
        author: "launchplane-bot".into(),
    };
    state.comments.push(c.clone());
    (StatusCode::CREATED, axum::Json(comment_item(&shared.base, &c))).into_response()
}

async fn get_comment(
    State(shared): State<Shared>,
    Path((owner, repo, id)): Path<(String, String, i64)>,
    headers: HeaderMap,
) -> Response {
    let full_name = format!("{owner}/{repo}");
    let path = format!("/repos/{full_name}/issues/comments/{id}");
    let (state, _) = match gate(&shared, &headers, "GET", path, &BTreeMap::new()) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match state
        .comments
        .iter()
        .find(|c| c.id == id && c.repository == full_name)
    {
        Some(c) => axum::Json(comment_item(&shared.base, c)).into_response(),
        None => not_found(),
    }
}

async fn update_comment(
    State(shared): State<Shared>,
    Path((owner, repo, id)): Path<(String, String, i64)>,
    headers: HeaderMap,
    body: Option<axum::Json<CommentBody>>,
) -> Response {
    let full_name = format!("{owner}/{repo}");
    let path = format!("/repos/{full_name}/issues/comments/{id}");
    let (mut state, _) = match gate(&shared, &headers, "PATCH", path, &BTreeMap::new()) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some(axum::Json(body)) = body else {
        return unprocessable("body is required");
    };
    match state
        .comments
        .iter_mut()
        .find(|c| c.id == id && c.repository == full_name)
    {
        Some(c) => {
            c.body = body.body;
            axum::Json(comment_item(&shared.base, c)).into_response()
        }
        None => not_found(),
    }
}

async fn list_deployments(
    State(shared): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let full_name = format!("{owner}/{repo}");
    let path = format!("/repos/{full_name}/deployments");
    let (state, empty) = match gate(&shared, &headers, "GET", path.clone(), &query) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let items: Vec<Value> = if empty {
        vec![]
    } else {
        // GitHub lists the newest first.
        state
            .deployments
            .iter()
            .rev()
            .filter(|d| d.repository == full_name)
            .filter(|d| query.get("environment").is_none_or(|e| *e == d.environment))
            .filter(|d| query.get("sha").is_none_or(|s| *s == d.sha))
            .filter(|d| query.get("ref").is_none_or(|r| *r == d.git_ref))
            .map(|d| deployment_item(&shared.base, d))
            .collect()
    };
    let cap = state.per_page_cap;
    drop(state);
    paged(&shared, cap, &path, &query, items)
}

#[derive(serde::Deserialize)]
struct DeploymentBody {
    #[serde(rename = "ref")]
    git_ref: String,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    auto_merge: Option<bool>,
    #[serde(default)]
    required_contexts: Option<Vec<String>>,
}

async fn create_deployment(
    State(shared): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    body: Option<axum::Json<DeploymentBody>>,
) -> Response {
    let full_name = format!("{owner}/{repo}");
    let path = format!("/repos/{full_name}/deployments");
    let (mut state, _) = match gate(&shared, &headers, "POST", path, &BTreeMap::new()) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some(axum::Json(body)) = body else {
        return unprocessable("ref is required");
    };
    state.next_id += 1;
    let d = FakeDeployment {
        id: state.next_id,
        repository: full_name,
        // The fake takes refs to be SHAs (what Launchplane sends).
        sha: body.git_ref.clone(),
        git_ref: body.git_ref,
        environment: body.environment.unwrap_or_else(|| "production".into()),
        description: body.description,
        auto_merge: body.auto_merge,
        required_contexts: body.required_contexts,
        statuses: vec![],
    };
    state.deployments.push(d.clone());
    (StatusCode::CREATED, axum::Json(deployment_item(&shared.base, &d))).into_response()
}

#[derive(serde::Deserialize)]
struct DeploymentStatusBody {
    state: String,
    #[serde(default)]
    environment_url: Option<String>,
}

const DEPLOYMENT_STATES: [&str; 7] = [
    "error",
    "failure",
    "inactive",
    "in_progress",
    "queued",
    "pending",
    "success",
];

async fn create_deployment_status(
    State(shared): State<Shared>,
    Path((owner, repo, id)): Path<(String, String, i64)>,
    headers: HeaderMap,
    body: Option<axum::Json<DeploymentStatusBody>>,
) -> Response {
    let full_name = format!("{owner}/{repo}");
    let path = format!("/repos/{full_name}/deployments/{id}/statuses");
    let (mut state, _) = match gate(&shared, &headers, "POST", path, &BTreeMap::new()) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some(axum::Json(body)) = body else {
        return unprocessable("state is required");
    };
    if !DEPLOYMENT_STATES.contains(&body.state.as_str()) {
        return unprocessable("state is not one of the allowed values");
    }
    state.next_id += 1;
    let status_id = state.next_id;
    let Some(d) = state
        .deployments
        .iter_mut()
        .find(|d| d.id == id && d.repository == full_name)
    else {
        return not_found();
    };
    d.statuses.push(body.state.clone());
    let d = d.clone();
    let item = deployment_status_item(
        &shared.base,
        &d,
        status_id,
        &body.state,
        body.environment_url.as_deref().unwrap_or_default(),
    );
    (StatusCode::CREATED, axum::Json(item)).into_response()
}

/// An "Issue" with every property the REST description requires.
pub fn issue_item(base: &str, i: &FakeIssue) -> Value {
    let api = format!("{base}/repos/{}", i.repository);
    let n = i.number;
    let closed = i.state == "closed";
    json!({
        "id": 5000 + n, "node_id": format!("I_{n}"),
        "url": format!("{api}/issues/{n}"), "repository_url": api,
        "labels_url": format!("{api}/issues/{n}/labels{{/name}}"),
        "comments_url": format!("{api}/issues/{n}/comments"),
        "events_url": format!("{api}/issues/{n}/events"),
        "html_url": format!("https://github.com/{}/issues/{n}", i.repository),
        "number": n, "state": i.state, "state_reason": i.state_reason,
        "title": i.title, "body": i.body, "user": user(&i.author),
        "labels": i.labels.iter().enumerate().map(|(k, l)| label(k as i64, l)).collect::<Vec<_>>(),
        "assignee": null, "assignees": [], "milestone": null, "locked": false,
        "active_lock_reason": null, "comments": 0,
        "closed_at": if closed { json!("2026-01-15T09:00:00Z") } else { Value::Null },
        "created_at": "2026-01-15T08:00:00Z", "updated_at": "2026-01-15T08:00:00Z",
        "author_association": "NONE"
    })
}

async fn list_issues(
    State(shared): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let full_name = format!("{owner}/{repo}");
    let path = format!("/repos/{full_name}/issues");
    let (state, empty) = match gate(&shared, &headers, "GET", path.clone(), &query) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let wanted_state = query.get("state").map(String::as_str).unwrap_or("open");
    if !["open", "closed", "all"].contains(&wanted_state) {
        return unprocessable("state is not one of open, closed, all");
    }
    let labels: Vec<&str> = query
        .get("labels")
        .map(|l| l.split(',').map(str::trim).filter(|l| !l.is_empty()).collect())
        .unwrap_or_default();
    let mut items: Vec<&FakeIssue> = if empty {
        vec![]
    } else {
        state
            .issues
            .iter()
            .filter(|i| i.repository == full_name)
            .filter(|i| wanted_state == "all" || i.state == wanted_state)
            .filter(|i| labels.iter().all(|l| i.labels.iter().any(|have| have == l)))
            .collect()
    };
    // Created order is number order; GitHub's default is the newest first.
    if query.get("direction").map(String::as_str) != Some("asc") {
        items.reverse();
    }
    let items: Vec<Value> = items.into_iter().map(|i| issue_item(&shared.base, i)).collect();
    let cap = state.per_page_cap;
    drop(state);
    paged(&shared, cap, &path, &query, items)
}

#[derive(serde::Deserialize)]
struct NewIssueBody {
    #[serde(default)]
    title: Option<Value>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    labels: Option<Vec<String>>,
}

async fn create_issue(
    State(shared): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    body: Option<axum::Json<NewIssueBody>>,
) -> Response {
    let full_name = format!("{owner}/{repo}");
    let path = format!("/repos/{full_name}/issues");
    let (mut state, _) = match gate(&shared, &headers, "POST", path, &BTreeMap::new()) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some(axum::Json(body)) = body else {
        return unprocessable("title is required");
    };
    // The description admits a string or an integer title.
    let title = match body.title {
        Some(Value::String(t)) if !t.is_empty() => t,
        Some(Value::Number(n)) => n.to_string(),
        _ => return unprocessable("title is required"),
    };
    state.next_issue += 1;
    let issue = FakeIssue {
        number: state.next_issue,
        repository: full_name,
        title,
        body: body.body,
        labels: body.labels.unwrap_or_default(),
        state: "open".into(),
        state_reason: None,
        author: "launchplane-bot".into(),
    };
    state.issues.push(issue.clone());
    (StatusCode::CREATED, axum::Json(issue_item(&shared.base, &issue))).into_response()
}

async fn get_issue(
    State(shared): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, i64)>,
    headers: HeaderMap,
) -> Response {
    let full_name = format!("{owner}/{repo}");
    let path = format!("/repos/{full_name}/issues/{number}");
    let (state, _) = match gate(&shared, &headers, "GET", path, &BTreeMap::new()) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match state
        .issues
        .iter()
        .find(|i| i.number == number && i.repository == full_name)
    {
        Some(i) => axum::Json(issue_item(&shared.base, i)).into_response(),
        None => not_found(),
    }
}

#[derive(serde::Deserialize)]
struct IssueUpdateBody {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    state_reason: Option<String>,
    #[serde(default)]
    labels: Option<Vec<String>>,
}

const STATE_REASONS: [&str; 4] = ["completed", "not_planned", "duplicate", "reopened"];

async fn update_issue(
    State(shared): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, i64)>,
    headers: HeaderMap,
    body: Option<axum::Json<IssueUpdateBody>>,
) -> Response {
    let full_name = format!("{owner}/{repo}");
    let path = format!("/repos/{full_name}/issues/{number}");
    let (mut state, _) = match gate(&shared, &headers, "PATCH", path, &BTreeMap::new()) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some(axum::Json(body)) = body else {
        return unprocessable("Problems parsing JSON");
    };
    if body
        .state
        .as_deref()
        .is_some_and(|s| s != "open" && s != "closed")
    {
        return unprocessable("state is not one of open, closed");
    }
    if body
        .state_reason
        .as_deref()
        .is_some_and(|r| !STATE_REASONS.contains(&r))
    {
        return unprocessable("state_reason is not one of the allowed values");
    }
    let Some(issue) = state
        .issues
        .iter_mut()
        .find(|i| i.number == number && i.repository == full_name)
    else {
        return not_found();
    };
    if let Some(t) = body.title {
        issue.title = t;
    }
    if let Some(b) = body.body {
        issue.body = Some(b);
    }
    if let Some(l) = body.labels {
        issue.labels = l;
    }
    if let Some(s) = body.state {
        issue.state = s;
    }
    if body.state_reason.is_some() {
        issue.state_reason = body.state_reason;
    }
    let issue = issue.clone();
    axum::Json(issue_item(&shared.base, &issue)).into_response()
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
    let (state, empty) = match gate(
        &shared,
        &headers,
        "GET",
        format!("/repos/{full_name}/pulls"),
        &query,
    ) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if empty {
        return axum::Json(json!([])).into_response();
    }
    let mut response_headers = HeaderMap::new();
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

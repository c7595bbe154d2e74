//! A small GitHub REST client. It never retries on its own: a rate limit (403 or 429 with
//! `x-ratelimit-remaining: 0`, or a `retry-after`) is returned as [`GitHubError::RateLimited`]
//! with the time GitHub names, and the caller waits until then, so a limit never turns into a
//! storm of retries. The token goes only to the configured base URL: a pagination link to
//! another origin is refused.

use jiff::Timestamp;
use launchplane_providers::SecretString;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, LINK, USER_AGENT};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use std::time::Duration;
use thiserror::Error;

/// GitHub's public API.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// The most pages one listing follows (100 items each).
pub const MAX_PAGES: usize = 50;
/// How long to wait after a 429 that names no time.
pub const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// A failed call. Secret-free: the token is never part of it.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum GitHubError {
    #[error("GitHub rate limit reached ({status}); next call not before {until}")]
    RateLimited { status: u16, until: Timestamp },
    #[error("GitHub refused the token ({status}): check the token's scopes and expiry")]
    Unauthorized { status: u16 },
    #[error("GitHub answered {status} for {what}")]
    Status { status: u16, what: String },
    #[error("GitHub could not be reached: {0}")]
    Unreachable(String),
    #[error("GitHub's answer could not be read: {0}")]
    Malformed(String),
    #[error("cannot build the GitHub client: {0}")]
    Config(String),
}

impl GitHubError {
    /// Whether the caller should wait until [`GitHubError::RateLimited::until`].
    pub fn rate_limited_until(&self) -> Option<Timestamp> {
        match self {
            GitHubError::RateLimited { until, .. } => Some(*until),
            _ => None,
        }
    }
}

/// One item of `GET /repos/{owner}/{repo}/pulls` ("Pull Request Simple"): the fields used.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct PullRequestSimple {
    pub number: i64,
    pub state: String,
    pub html_url: String,
    pub updated_at: String,
    pub head: HeadRef,
    #[serde(default)]
    pub labels: Vec<LabelName>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct HeadRef {
    pub sha: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct LabelName {
    pub name: String,
}

/// An "Issue Comment": the fields used.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct IssueComment {
    pub id: i64,
    #[serde(default)]
    pub body: Option<String>,
    pub html_url: String,
}

/// An "Issue": the fields used. The issues listing also holds pull requests, told apart by
/// `pull_request`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Issue {
    pub number: i64,
    pub state: String,
    #[serde(default)]
    pub body: Option<String>,
    pub html_url: String,
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
}

/// What `POST /repos/{owner}/{repo}/issues` is asked for.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub struct NewIssue {
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
}

/// What `PATCH /repos/{owner}/{repo}/issues/{issue_number}` is asked for: only the fields
/// named change.
#[derive(Clone, Debug, Default, serde::Serialize, PartialEq, Eq)]
pub struct IssueUpdate {
    /// `open` or `closed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `completed`, `not_planned`, `duplicate` or `reopened`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
}

/// A "Deployment": the fields used.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Deployment {
    pub id: i64,
    pub sha: String,
    pub environment: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// A "Deployment Status": the fields used.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct DeploymentStatus {
    pub id: i64,
    pub state: String,
}

/// What `POST /repos/{owner}/{repo}/deployments` is asked for.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub struct NewDeployment {
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub environment: String,
    pub description: String,
    pub auto_merge: bool,
    pub required_contexts: Vec<String>,
    pub transient_environment: bool,
    pub production_environment: bool,
}

/// What `POST .../deployments/{deployment_id}/statuses` is asked for.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub struct NewDeploymentStatus {
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_url: Option<String>,
    pub description: String,
}

/// The client: a base URL and a token.
pub struct GitHubClient {
    base: Url,
    token: SecretString,
    http: reqwest::Client,
}

impl std::fmt::Debug for GitHubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubClient")
            .field("base", &self.base.as_str())
            .field("token", &"<redacted>")
            .finish()
    }
}

impl GitHubClient {
    /// A client of `base_url` (e.g. [`DEFAULT_API_URL`], or a GitHub Enterprise
    /// `https://ghe.example.com/api/v3`) with `token`.
    pub fn new(base_url: &str, token: SecretString) -> Result<Self, GitHubError> {
        Self::with_timeout(base_url, token, Duration::from_secs(30))
    }

    /// A client whose every call gives up after `timeout` (connecting included).
    pub fn with_timeout(base_url: &str, token: SecretString, timeout: Duration) -> Result<Self, GitHubError> {
        let mut base = Url::parse(base_url).map_err(|e| GitHubError::Config(format!("{base_url:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(GitHubError::Config(format!("{base_url:?} is not an http(s) URL")));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| GitHubError::Config(e.to_string()))?;
        Ok(GitHubClient { base, token, http })
    }

    /// Every open pull request of `owner/repo` (`GET /repos/{owner}/{repo}/pulls?state=open`),
    /// following the `Link: rel="next"` pages. Any failing page fails the whole listing: a
    /// partial listing is never returned as if it were whole.
    pub async fn open_pulls(&self, owner: &str, repo: &str) -> Result<Vec<PullRequestSimple>, GitHubError> {
        let mut url = self
            .base
            .join(&format!("repos/{owner}/{repo}/pulls"))
            .map_err(|e| GitHubError::Config(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("state", "open")
            .append_pair("per_page", "100");
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let (page, next): (Vec<PullRequestSimple>, _) = self
                .get(url.clone(), &format!("the pulls of {owner}/{repo}"))
                .await?;
            all.extend(page);
            match next {
                Some(n) => url = n,
                None => return Ok(all),
            }
        }
        Err(GitHubError::Malformed(format!(
            "the pulls of {owner}/{repo} span more than {MAX_PAGES} pages"
        )))
    }

    /// Every comment of issue (or pull request) `number`
    /// (`GET /repos/{owner}/{repo}/issues/{issue_number}/comments`), all pages; a failing page
    /// fails the whole listing.
    pub async fn issue_comments(
        &self,
        owner: &str,
        repo: &str,
        number: i64,
    ) -> Result<Vec<IssueComment>, GitHubError> {
        let url = self.url(
            &format!("repos/{owner}/{repo}/issues/{number}/comments"),
            &[("per_page", "100")],
        )?;
        self.all_pages(url, &format!("the comments of {owner}/{repo}#{number}"))
            .await
    }

    /// One comment (`GET /repos/{owner}/{repo}/issues/comments/{comment_id}`).
    pub async fn issue_comment(&self, owner: &str, repo: &str, id: i64) -> Result<IssueComment, GitHubError> {
        let url = self.url(&format!("repos/{owner}/{repo}/issues/comments/{id}"), &[])?;
        let (c, _) = self
            .send(
                reqwest::Method::GET,
                url,
                None,
                &format!("comment {id} of {owner}/{repo}"),
            )
            .await?;
        Ok(c)
    }

    /// Comment `body` on issue (or pull request) `number`
    /// (`POST /repos/{owner}/{repo}/issues/{issue_number}/comments`).
    pub async fn create_issue_comment(
        &self,
        owner: &str,
        repo: &str,
        number: i64,
        body: &str,
    ) -> Result<IssueComment, GitHubError> {
        let url = self.url(&format!("repos/{owner}/{repo}/issues/{number}/comments"), &[])?;
        let payload = serde_json::json!({ "body": body });
        let (c, _) = self
            .send(
                reqwest::Method::POST,
                url,
                Some(payload),
                &format!("a new comment on {owner}/{repo}#{number}"),
            )
            .await?;
        Ok(c)
    }

    /// Replace comment `id`'s body (`PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}`).
    pub async fn update_issue_comment(
        &self,
        owner: &str,
        repo: &str,
        id: i64,
        body: &str,
    ) -> Result<IssueComment, GitHubError> {
        let url = self.url(&format!("repos/{owner}/{repo}/issues/comments/{id}"), &[])?;
        let payload = serde_json::json!({ "body": body });
        let (c, _) = self
            .send(
                reqwest::Method::PATCH,
                url,
                Some(payload),
                &format!("the edit of comment {id} of {owner}/{repo}"),
            )
            .await?;
        Ok(c)
    }

    /// The first issue (oldest first) of `owner/repo` carrying all of `labels`, open or closed,
    /// for which `wanted` holds (`GET /repos/{owner}/{repo}/issues?state=all&labels=…`); pull
    /// requests in the listing are passed over. Pages are read until one matches, so a hit
    /// costs no more pages than needed; any failing page fails the search (a search that could
    /// not see every page never answers "none").
    pub async fn find_issue(
        &self,
        owner: &str,
        repo: &str,
        labels: &[String],
        wanted: impl Fn(&Issue) -> bool,
    ) -> Result<Option<Issue>, GitHubError> {
        let joined = labels.join(",");
        let mut query = vec![
            ("state", "all"),
            ("sort", "created"),
            ("direction", "asc"),
            ("per_page", "100"),
        ];
        if !joined.is_empty() {
            query.push(("labels", joined.as_str()));
        }
        let mut url = self.url(&format!("repos/{owner}/{repo}/issues"), &query)?;
        let what = format!("the issues of {owner}/{repo}");
        for _ in 0..MAX_PAGES {
            let (page, next): (Vec<Issue>, _) = self.get(url.clone(), &what).await?;
            if let Some(hit) = page.into_iter().find(|i| i.pull_request.is_none() && wanted(i)) {
                return Ok(Some(hit));
            }
            match next {
                Some(n) => url = n,
                None => return Ok(None),
            }
        }
        Err(GitHubError::Malformed(format!(
            "{what} span more than {MAX_PAGES} pages"
        )))
    }

    /// One issue (`GET /repos/{owner}/{repo}/issues/{issue_number}`).
    pub async fn issue(&self, owner: &str, repo: &str, number: i64) -> Result<Issue, GitHubError> {
        let url = self.url(&format!("repos/{owner}/{repo}/issues/{number}"), &[])?;
        let (i, _) = self
            .send(
                reqwest::Method::GET,
                url,
                None,
                &format!("issue {owner}/{repo}#{number}"),
            )
            .await?;
        Ok(i)
    }

    /// Open an issue (`POST /repos/{owner}/{repo}/issues`).
    pub async fn create_issue(&self, owner: &str, repo: &str, new: &NewIssue) -> Result<Issue, GitHubError> {
        let url = self.url(&format!("repos/{owner}/{repo}/issues"), &[])?;
        let payload = serde_json::to_value(new).map_err(|e| GitHubError::Config(e.to_string()))?;
        let (i, _) = self
            .send(
                reqwest::Method::POST,
                url,
                Some(payload),
                &format!("a new issue in {owner}/{repo}"),
            )
            .await?;
        Ok(i)
    }

    /// Change an issue's state (`PATCH /repos/{owner}/{repo}/issues/{issue_number}`).
    pub async fn update_issue(
        &self,
        owner: &str,
        repo: &str,
        number: i64,
        update: &IssueUpdate,
    ) -> Result<Issue, GitHubError> {
        let url = self.url(&format!("repos/{owner}/{repo}/issues/{number}"), &[])?;
        let payload = serde_json::to_value(update).map_err(|e| GitHubError::Config(e.to_string()))?;
        let (i, _) = self
            .send(
                reqwest::Method::PATCH,
                url,
                Some(payload),
                &format!("the update of issue {owner}/{repo}#{number}"),
            )
            .await?;
        Ok(i)
    }

    /// The deployments of `environment` at `sha` (`GET /repos/{owner}/{repo}/deployments`), all
    /// pages.
    pub async fn deployments(
        &self,
        owner: &str,
        repo: &str,
        environment: &str,
        sha: &str,
    ) -> Result<Vec<Deployment>, GitHubError> {
        let url = self.url(
            &format!("repos/{owner}/{repo}/deployments"),
            &[("environment", environment), ("sha", sha), ("per_page", "100")],
        )?;
        self.all_pages(
            url,
            &format!("the deployments of {owner}/{repo} in {environment}"),
        )
        .await
    }

    /// Create a deployment (`POST /repos/{owner}/{repo}/deployments`). GitHub answers 202 when
    /// it merged the default branch instead; with `auto_merge: false` that does not happen, and
    /// an answer without an id is reported as malformed.
    pub async fn create_deployment(
        &self,
        owner: &str,
        repo: &str,
        new: &NewDeployment,
    ) -> Result<Deployment, GitHubError> {
        let url = self.url(&format!("repos/{owner}/{repo}/deployments"), &[])?;
        let payload = serde_json::to_value(new).map_err(|e| GitHubError::Config(e.to_string()))?;
        let (d, _) = self
            .send(
                reqwest::Method::POST,
                url,
                Some(payload),
                &format!("a new deployment of {owner}/{repo} in {}", new.environment),
            )
            .await?;
        Ok(d)
    }

    /// Post a status on deployment `id`
    /// (`POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses`).
    pub async fn create_deployment_status(
        &self,
        owner: &str,
        repo: &str,
        id: i64,
        new: &NewDeploymentStatus,
    ) -> Result<DeploymentStatus, GitHubError> {
        let url = self.url(&format!("repos/{owner}/{repo}/deployments/{id}/statuses"), &[])?;
        let payload = serde_json::to_value(new).map_err(|e| GitHubError::Config(e.to_string()))?;
        let (d, _) = self
            .send(
                reqwest::Method::POST,
                url,
                Some(payload),
                &format!("a {} status of deployment {id} of {owner}/{repo}", new.state),
            )
            .await?;
        Ok(d)
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, GitHubError> {
        let mut url = self
            .base
            .join(path)
            .map_err(|e| GitHubError::Config(e.to_string()))?;
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        Ok(url)
    }

    async fn all_pages<T: serde::de::DeserializeOwned>(
        &self,
        mut url: Url,
        what: &str,
    ) -> Result<Vec<T>, GitHubError> {
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let (page, next): (Vec<T>, _) = self.get(url.clone(), what).await?;
            all.extend(page);
            match next {
                Some(n) => url = n,
                None => return Ok(all),
            }
        }
        Err(GitHubError::Malformed(format!(
            "{what} span more than {MAX_PAGES} pages"
        )))
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        what: &str,
    ) -> Result<(T, Option<Url>), GitHubError> {
        self.send(reqwest::Method::GET, url, None, what).await
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        url: Url,
        body: Option<serde_json::Value>,
        what: &str,
    ) -> Result<(T, Option<Url>), GitHubError> {
        let mut request = self.http.request(method, url);
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = request
            .header(AUTHORIZATION, format!("Bearer {}", self.token.expose()))
            .header(ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .header(USER_AGENT, "launchplane")
            .send()
            .await
            .map_err(|e| GitHubError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(until) = rate_limited(status, &headers, Timestamp::now()) {
            return Err(GitHubError::RateLimited {
                status: status.as_u16(),
                until,
            });
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(GitHubError::Unauthorized {
                status: status.as_u16(),
            });
        }
        if !status.is_success() {
            return Err(GitHubError::Status {
                status: status.as_u16(),
                what: what.to_string(),
            });
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| GitHubError::Unreachable(e.without_url().to_string()))?;
        let value =
            serde_json::from_slice(&bytes).map_err(|e| GitHubError::Malformed(format!("{what}: {e}")))?;
        let next = next_link(&headers, &self.base)?;
        Ok((value, next))
    }
}

/// When a rate-limited answer lets the next call go, per GitHub's rules: 403 or 429 with
/// `x-ratelimit-remaining: 0` waits until `x-ratelimit-reset` (epoch seconds); a `retry-after`
/// (seconds) waits that long; a 429 naming neither waits [`DEFAULT_RATE_LIMIT_WAIT`]. `None`:
/// not a rate limit.
pub fn rate_limited(status: StatusCode, headers: &HeaderMap, now: Timestamp) -> Option<Timestamp> {
    if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    let after = |d: Duration| now.checked_add(d).ok();
    if let Some(seconds) = number("retry-after") {
        return after(Duration::from_secs(seconds.clamp(1, 86_400).unsigned_abs()));
    }
    if number("x-ratelimit-remaining") == Some(0) {
        let reset = number("x-ratelimit-reset").and_then(|s| Timestamp::from_second(s).ok());
        return Some(match reset {
            Some(at) if at > now => at,
            _ => after(DEFAULT_RATE_LIMIT_WAIT)?,
        });
    }
    (status == StatusCode::TOO_MANY_REQUESTS)
        .then(|| after(DEFAULT_RATE_LIMIT_WAIT))
        .flatten()
}

/// The `rel="next"` URL of a `Link` header, refused unless it has `base`'s origin.
pub fn next_link(headers: &HeaderMap, base: &Url) -> Result<Option<Url>, GitHubError> {
    let Some(link) = headers.get(LINK).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    for part in link.split(',') {
        let mut pieces = part.split(';');
        let target = pieces.next().unwrap_or_default().trim();
        if !pieces.any(|p| p.trim() == "rel=\"next\"") {
            continue;
        }
        let raw = target.trim_start_matches('<').trim_end_matches('>');
        let url = Url::parse(raw).map_err(|e| GitHubError::Malformed(format!("Link next {raw:?}: {e}")))?;
        if url.origin() != base.origin() {
            return Err(GitHubError::Malformed(format!(
                "Link next points at {}, not at the API's origin {}; not followed (the token goes nowhere else)",
                url.origin().ascii_serialization(),
                base.origin().ascii_serialization()
            )));
        }
        return Ok(Some(url));
    }
    Ok(None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn rate_limits_are_read_as_github_documents_them() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let reset = "1800000900";
        let exhausted = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", reset)]);
        for status in [StatusCode::FORBIDDEN, StatusCode::TOO_MANY_REQUESTS] {
            assert_eq!(
                rate_limited(status, &exhausted, now),
                Some(Timestamp::from_second(1_800_000_900).unwrap())
            );
        }
        let retry = headers(&[("retry-after", "30")]);
        assert_eq!(
            rate_limited(StatusCode::FORBIDDEN, &retry, now),
            Some(Timestamp::from_second(1_800_000_030).unwrap())
        );
        assert_eq!(
            rate_limited(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), now),
            Some(Timestamp::from_second(1_800_000_060).unwrap())
        );
        // A plain 403 (no rights) is not a rate limit; nor is a 200 with remaining 0.
        assert_eq!(
            rate_limited(
                StatusCode::FORBIDDEN,
                &headers(&[("x-ratelimit-remaining", "12")]),
                now
            ),
            None
        );
        assert_eq!(rate_limited(StatusCode::OK, &exhausted, now), None);
    }

    #[test]
    fn the_next_page_is_followed_only_on_the_apis_origin() {
        let base = Url::parse("https://api.github.com/").unwrap();
        let link = |v: &str| headers(&[("link", v)]);
        let next = next_link(
            &link("<https://api.github.com/repositories/1/pulls?page=2>; rel=\"next\", <https://api.github.com/repositories/1/pulls?page=5>; rel=\"last\""),
            &base,
        )
        .unwrap();
        assert_eq!(
            next.unwrap().as_str(),
            "https://api.github.com/repositories/1/pulls?page=2"
        );
        assert_eq!(
            next_link(&link("<https://api.github.com/x?page=1>; rel=\"prev\""), &base).unwrap(),
            None
        );
        assert_eq!(next_link(&HeaderMap::new(), &base).unwrap(), None);
        assert!(next_link(&link("<https://evil.example/steal>; rel=\"next\""), &base).is_err());
        assert!(next_link(&link("<http://api.github.com/x>; rel=\"next\""), &base).is_err());
    }
}

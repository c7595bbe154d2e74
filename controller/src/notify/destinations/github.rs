//! The GitHub issue destination: one issue per incident occurrence, its durable home.
//!
//! An occurrence's issue is found by the hidden marker in its body
//! (`<!-- launchplane:incident <namespace>/<name> occurrence <n> -->`), never by its title, and
//! each comment carries its notice's marker (`<!-- launchplane:notice <id> -->`): before writing
//! anything the destination looks for the marker, so a retry after a timeout or a restart
//! between the intent and the send finds what the first attempt wrote instead of writing it
//! twice. Only an issue carrying the marker is ever commented on or closed.

use super::text;
use crate::github::client::{GitHubClient, GitHubError, Issue, IssueUpdate, NewIssue};
use crate::notify::destination::{
    BuildError, Destination, GitHubIssueConfig, Notice, NoticeKind, SendError, Sent,
};
use futures::FutureExt;
use futures::future::BoxFuture;
use jiff::Timestamp;
use launchplane_api::resources::IncidentTransitionType;
use std::time::Duration;

/// GitHub caps an issue or comment body at 65536 characters; the evidence gets a share well
/// below it.
const MAX_EVIDENCE_CHARS: usize = 8_000;

pub struct GitHubIssueDestination {
    client: GitHubClient,
    owner: String,
    repo: String,
    labels: Vec<String>,
}

impl GitHubIssueDestination {
    /// A destination with the client's default timeouts.
    pub fn new(config: &GitHubIssueConfig) -> Result<Self, BuildError> {
        Self::with_timeout(config, Duration::from_secs(30))
    }

    /// A destination whose calls give up after `timeout` (tests, and callers with a deadline).
    pub fn with_timeout(config: &GitHubIssueConfig, timeout: Duration) -> Result<Self, BuildError> {
        // reqwest and lettre are built without a default TLS provider: ring, as everywhere.
        launchplane_providers::install_crypto_provider();
        let client = GitHubClient::with_timeout(&config.api_url, config.token.clone(), timeout)
            .map_err(|e| BuildError(format!("github.apiUrl: {e}")))?;
        Self::with_client(config, client)
    }

    fn with_client(config: &GitHubIssueConfig, client: GitHubClient) -> Result<Self, BuildError> {
        for (field, value) in [("github.owner", &config.owner), ("github.repo", &config.repo)] {
            if value.is_empty() || value.contains('/') || value.chars().any(char::is_whitespace) {
                return Err(BuildError(format!(
                    "{field} {value:?} is not a GitHub account or repository name: give the bare name (e.g. owner \"acme\", repo \"shop\")"
                )));
            }
        }
        if let Some(bad) = config
            .labels
            .iter()
            .find(|l| l.trim().is_empty() || l.contains(','))
        {
            return Err(BuildError(format!(
                "github.labels: {bad:?} is not a usable label name (empty, or holds a comma, which the issues listing reads as a separator)"
            )));
        }
        Ok(GitHubIssueDestination {
            client,
            owner: config.owner.clone(),
            repo: config.repo.clone(),
            labels: config.labels.clone(),
        })
    }

    async fn deliver(&self, notice: &Notice) -> Result<Sent, GitHubError> {
        let marker = incident_marker(notice);
        let issue = match notice.kind {
            NoticeKind::Transition(IncidentTransitionType::Resolved) => {
                // Nothing was ever filed for this occurrence: nothing to close, and an issue
                // opened only to be closed would be noise.
                let Some((issue, _)) = self.home(notice, &marker, false).await? else {
                    return Ok(Sent { remote_id: None });
                };
                self.comment_once(&issue, notice).await?;
                if issue.state != "closed" {
                    let close = IssueUpdate {
                        state: Some("closed".into()),
                        state_reason: Some("completed".into()),
                    };
                    self.client
                        .update_issue(&self.owner, &self.repo, issue.number, &close)
                        .await?;
                }
                issue
            }
            NoticeKind::Transition(IncidentTransitionType::Opened | IncidentTransitionType::Reopened) => {
                match self.home(notice, &marker, true).await? {
                    Some((issue, _)) => issue,
                    None => return Ok(Sent { remote_id: None }),
                }
            }
            NoticeKind::Transition(IncidentTransitionType::VerdictChanged) | NoticeKind::Repeat(_) => {
                match self.home(notice, &marker, true).await? {
                    // Just filed with this notice's words: no comment repeating them.
                    Some((issue, true)) => issue,
                    Some((issue, false)) => {
                        self.comment_once(&issue, notice).await?;
                        issue
                    }
                    None => return Ok(Sent { remote_id: None }),
                }
            }
        };
        Ok(Sent {
            remote_id: Some(issue.number.to_string()),
        })
    }

    /// The occurrence's issue: the one `thread` names if it still carries the marker, else the
    /// first in the repository carrying it, else (when `create`) a new one. The flag says
    /// whether it was created now.
    async fn home(
        &self,
        notice: &Notice,
        marker: &str,
        create: bool,
    ) -> Result<Option<(Issue, bool)>, GitHubError> {
        if let Some(number) = notice.thread.iter().find_map(|t| t.parse::<i64>().ok()) {
            match self.client.issue(&self.owner, &self.repo, number).await {
                Ok(issue) if carries(&issue.body, marker) => return Ok(Some((issue, false))),
                // Moved, deleted or edited by a person: the marker search below decides.
                Ok(_)
                | Err(GitHubError::Status {
                    status: 404 | 410, ..
                }) => {}
                Err(e) => return Err(e),
            }
        }
        let found = self
            .client
            .find_issue(&self.owner, &self.repo, &self.labels, |i| {
                carries(&i.body, marker)
            })
            .await?;
        if let Some(issue) = found {
            return Ok(Some((issue, false)));
        }
        if !create {
            return Ok(None);
        }
        let new = NewIssue {
            title: issue_title(notice),
            body: issue_body(notice),
            labels: self.labels.clone(),
        };
        let issue = self.client.create_issue(&self.owner, &self.repo, &new).await?;
        tracing::info!(
            repository = %format!("{}/{}", self.owner, self.repo),
            issue = issue.number,
            incident = %format!("{}/{}", notice.incident.namespace, notice.incident.name),
            "filed the incident's GitHub issue"
        );
        Ok(Some((issue, true)))
    }

    /// Comment the notice on `issue` unless it is already there: in a comment, or in the body
    /// (an issue filed by this very notice, when the occurrence had no issue yet).
    async fn comment_once(&self, issue: &Issue, notice: &Notice) -> Result<(), GitHubError> {
        let marker = notice_marker(notice);
        if carries(&issue.body, &marker) {
            return Ok(());
        }
        let number = issue.number;
        let comments = self
            .client
            .issue_comments(&self.owner, &self.repo, number)
            .await?;
        if comments.iter().any(|c| carries(&c.body, &marker)) {
            return Ok(());
        }
        self.client
            .create_issue_comment(&self.owner, &self.repo, number, &comment_body(notice))
            .await?;
        Ok(())
    }
}

impl Destination for GitHubIssueDestination {
    fn type_name(&self) -> &'static str {
        "github"
    }

    fn deduplicates(&self) -> bool {
        true
    }

    fn send<'a>(&'a self, notice: &'a Notice) -> BoxFuture<'a, Result<Sent, SendError>> {
        async move {
            self.deliver(notice)
                .await
                .map_err(|e| send_error(e, Timestamp::now()))
        }
        .boxed()
    }
}

/// Whether a body carries `marker` on a line of its own (as written), not merely quoted in
/// a sentence.
fn carries(body: &Option<String>, marker: &str) -> bool {
    body.as_deref()
        .is_some_and(|b| b.lines().any(|l| l.trim() == marker))
}

/// The hidden marker of an incident occurrence's issue.
pub fn incident_marker(notice: &Notice) -> String {
    let i = &notice.incident;
    format!(
        "<!-- launchplane:incident {}/{} occurrence {} -->",
        i.namespace, i.name, notice.occurrence
    )
}

/// The hidden marker of one notice's comment.
pub fn notice_marker(notice: &Notice) -> String {
    format!("<!-- launchplane:notice {} -->", notice.id)
}

/// The evidence as Markdown that cannot forge a marker or break out of its quote: `<` is
/// escaped (no HTML comment can start in it) and each line is quoted.
fn evidence(notice: &Notice) -> String {
    let text = text::clip(&notice.message, MAX_EVIDENCE_CHARS).replace('<', "&lt;");
    if text.trim().is_empty() {
        return "> (no message)".into();
    }
    text.lines()
        .map(|l| format!("> {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn issue_title(notice: &Notice) -> String {
    format!(
        "[{}] Incident: {} ({})",
        notice.severity.as_str(),
        text::subject(notice),
        notice.verdict.as_str()
    )
}

pub fn issue_body(notice: &Notice) -> String {
    let i = &notice.incident;
    format!(
        "Launchplane opened an incident: {kind} `{lane}` of product `{product}`, check `{check}`, is not Matched.\n\n\
         | | |\n|---|---|\n\
         | Severity | {severity} |\n| Verdict | {verdict} |\n| State | {state} |\n\
         | Since | {time} |\n| Incident | `{ns}/{name}`, occurrence {occurrence} |\n\n\
         Evidence:\n\n{evidence}\n\n\
         Launchplane comments here while the incident stays open and closes this issue when it resolves.\n\n\
         {marker}\n{notice_marker}\n",
        kind = i.kind,
        lane = i.lane,
        product = i.product,
        check = i.check,
        severity = notice.severity.as_str(),
        verdict = notice.verdict.as_str(),
        state = notice.state.as_str(),
        time = notice.time,
        ns = i.namespace,
        name = i.name,
        occurrence = notice.occurrence,
        evidence = evidence(notice),
        marker = incident_marker(notice),
        notice_marker = notice_marker(notice),
    )
}

pub fn comment_body(notice: &Notice) -> String {
    let headline = match notice.kind {
        NoticeKind::Transition(IncidentTransitionType::Resolved) => {
            format!(
                "Resolved at {}: {} is Matched again.",
                notice.time,
                text::subject(notice)
            )
        }
        _ => format!(
            "{}: {} is {} ({}) at {}.",
            text::what(notice),
            text::subject(notice),
            notice.verdict.as_str(),
            notice.severity.as_str(),
            notice.time
        ),
    };
    format!(
        "{headline}\n\nEvidence:\n\n{}\n\n{}\n",
        evidence(notice),
        notice_marker(notice)
    )
}

/// A client error as the engine reads it. GitHub writes are found again by marker, so a
/// timeout (which may have written) is as retryable as a refused connection.
pub fn send_error(e: GitHubError, now: Timestamp) -> SendError {
    let message = e.to_string();
    match e {
        GitHubError::RateLimited { until, .. } => SendError::Retryable {
            message,
            // Whole seconds, rounded up: GitHub names seconds, and an early retry only earns
            // another refusal.
            retry_after: Some(Duration::from_secs(
                until.duration_since(now).as_secs_f64().max(0.0).ceil() as u64,
            )),
        },
        GitHubError::Status { status, .. } if status >= 500 => SendError::Retryable {
            message,
            retry_after: None,
        },
        GitHubError::Unreachable(_) | GitHubError::Malformed(_) => SendError::Retryable {
            message,
            retry_after: None,
        },
        GitHubError::Status { status, .. } => SendError::Permanent {
            message: format!(
                "{message}: check that the repository exists, has issues enabled{}, and that the token may read and write its issues",
                if status == 422 {
                    " and the labels are valid"
                } else {
                    ""
                }
            ),
        },
        GitHubError::Unauthorized { .. } | GitHubError::Config(_) => SendError::Permanent { message },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limit_asks_for_the_wait_github_named() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let until = Timestamp::from_second(1_800_000_042).unwrap();
        let e = send_error(GitHubError::RateLimited { status: 403, until }, now);
        assert!(matches!(
            e,
            SendError::Retryable { retry_after: Some(d), .. } if d == Duration::from_secs(42)
        ));
        let almost = send_error(
            GitHubError::RateLimited {
                status: 429,
                until: until.checked_add(jiff::SignedDuration::from_millis(-1)).unwrap(),
            },
            now,
        );
        assert!(
            matches!(almost, SendError::Retryable { retry_after: Some(d), .. } if d == Duration::from_secs(42))
        );
        let past = send_error(
            GitHubError::RateLimited {
                status: 429,
                until: Timestamp::from_second(1_799_999_000).unwrap(),
            },
            now,
        );
        assert!(matches!(
            past,
            SendError::Retryable {
                retry_after: Some(Duration::ZERO),
                ..
            }
        ));
    }

    #[test]
    fn server_errors_retry_and_client_errors_need_a_person() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let status = |s| GitHubError::Status {
            status: s,
            what: "a new issue in acme/shop".into(),
        };
        assert!(matches!(
            send_error(status(502), now),
            SendError::Retryable { .. }
        ));
        assert!(matches!(
            send_error(status(404), now),
            SendError::Permanent { .. }
        ));
        assert!(matches!(
            send_error(GitHubError::Unauthorized { status: 401 }, now),
            SendError::Permanent { .. }
        ));
        assert!(matches!(
            send_error(GitHubError::Unreachable("timed out".into()), now),
            SendError::Retryable { .. }
        ));
    }
}

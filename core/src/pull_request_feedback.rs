//! Pull-request feedback, the pure part: from a Preview's status and the feedback recorded in
//! it, which GitHub writes are due — the one comment (created once, then edited in place) and
//! the deployment of the newest generation with its status.
//!
//! Restart safety: the comment carries a hidden marker naming the Preview
//! ([`marker`]); a comment is only ever edited when its body, read from GitHub, carries that
//! marker ([`is_ours`], [`find_ours`]). A deployment's description names its generation
//! ([`deployment_description`]), so a deployment created just before a restart is found again
//! by listing the environment's deployments for the head SHA ([`find_deployment`]) before a
//! second one is made.
//!
//! A GitHub failure never touches the Preview's own verdict: it is recorded in
//! `status.feedback` and retried after a backoff ([`backoff`]) or the rate limit's reset.

use jiff::{SignedDuration, Timestamp};
use launchplane_api::conditions::{status as cond_status, types};
use launchplane_api::resources::{GenerationPhase, PreviewFeedback, PreviewStatus, PullRequest};
use sha2::{Digest, Sha256};

/// The first backoff after a failed delivery; it doubles per failure up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: SignedDuration = SignedDuration::from_secs(30);
/// The longest backoff.
pub const MAX_BACKOFF: SignedDuration = SignedDuration::from_secs(30 * 60);

/// A GitHub deployment status Launchplane posts (the names of the REST API's `state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeploymentState {
    InProgress,
    Success,
    Failure,
    Inactive,
}

impl DeploymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentState::InProgress => "in_progress",
            DeploymentState::Success => "success",
            DeploymentState::Failure => "failure",
            DeploymentState::Inactive => "inactive",
        }
    }
}

/// The Preview the feedback is about.
#[derive(Clone, Copy, Debug)]
pub struct FeedbackFacts<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub pull_request: &'a PullRequest,
    pub status: &'a PreviewStatus,
    /// The Preview is being torn down.
    pub going: bool,
}

/// The comment write due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommentWrite {
    /// Write `body` to the preview's comment: edit `known` (after checking its marker) or, with
    /// none recorded, the one carrying the marker among the pull request's comments, or else
    /// create it.
    Upsert {
        known: Option<i64>,
        body: String,
        digest: String,
    },
}

/// The deployment write due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeploymentWrite {
    /// Find (by environment, SHA and generation) or create the deployment of `generation`, then
    /// post `state`.
    Create {
        environment: String,
        sha: String,
        generation: String,
        description: String,
        state: DeploymentState,
        url: Option<String>,
    },
    /// Post `state` on the recorded deployment `id`.
    Status {
        id: i64,
        state: DeploymentState,
        url: Option<String>,
    },
}

/// What is due now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Due {
    pub comment: Option<CommentWrite>,
    pub deployment: Option<DeploymentWrite>,
    /// Nothing is sent before this time (a rate limit or the backoff); the writes above are
    /// empty meanwhile.
    pub waiting_until: Option<Timestamp>,
}

impl Due {
    pub fn is_empty(&self) -> bool {
        self.comment.is_none() && self.deployment.is_none()
    }
}

/// The hidden marker of the comment of Preview `namespace/name`.
pub fn marker(namespace: &str, name: &str) -> String {
    format!("<!-- launchplane:preview {namespace}/{name} -->")
}

/// Whether a comment body is this Preview's: it carries exactly its marker.
pub fn is_ours(body: &str, namespace: &str, name: &str) -> bool {
    body.lines().any(|l| l.trim() == marker(namespace, name))
}

/// The preview's comment among a pull request's comments (id, body): the oldest carrying
/// the marker, so a duplicate made by some accident is never joined by another.
pub fn find_ours<'a>(
    comments: impl IntoIterator<Item = (i64, &'a str)>,
    namespace: &str,
    name: &str,
) -> Option<i64> {
    comments
        .into_iter()
        .filter(|(_, body)| is_ours(body, namespace, name))
        .map(|(id, _)| id)
        .min()
}

/// The description of a generation's deployment; it names the generation, which is how a
/// restarted controller recognises a deployment it made.
pub fn deployment_description(generation: &str) -> String {
    format!("launchplane preview generation {generation}")
}

/// The deployment of `generation` among the environment's deployments for a SHA
/// (id, description): the oldest whose description names it.
pub fn find_deployment<'a>(
    deployments: impl IntoIterator<Item = (i64, Option<&'a str>)>,
    generation: &str,
) -> Option<i64> {
    let wanted = deployment_description(generation);
    deployments
        .into_iter()
        .filter(|(_, d)| *d == Some(wanted.as_str()))
        .map(|(id, _)| id)
        .min()
}

/// The identity verified at the preview URL at the last reconcile.
fn identity_verified(status: &PreviewStatus) -> bool {
    status
        .conditions
        .iter()
        .any(|c| c.type_ == types::RUNTIME_IDENTITY_VERIFIED && c.status == cond_status::TRUE)
}

/// The deployment state the newest generation calls for. `success` only once the generation
/// is Ready *and* the runtime identity was verified.
fn wanted_state(status: &PreviewStatus, phase: GenerationPhase) -> DeploymentState {
    match phase {
        GenerationPhase::Requested | GenerationPhase::Deploying => DeploymentState::InProgress,
        GenerationPhase::Ready if identity_verified(status) => DeploymentState::Success,
        GenerationPhase::Ready => DeploymentState::InProgress,
        GenerationPhase::Failed => DeploymentState::Failure,
    }
}

fn state_word(facts: &FeedbackFacts<'_>) -> &'static str {
    if facts.going {
        return "torn down";
    }
    match facts.status.generations.last().map(|g| g.phase) {
        None => "waiting",
        Some(GenerationPhase::Requested) => "requested",
        Some(GenerationPhase::Deploying) => "deploying",
        Some(GenerationPhase::Ready) if identity_verified(facts.status) => "ready",
        Some(GenerationPhase::Ready) => "verifying",
        Some(GenerationPhase::Failed) => "failed",
    }
}

/// The comment's body: marker, state, URL, artifact, commit and the verified identity. It
/// holds no time, so an unchanged preview writes nothing.
pub fn comment_body(facts: &FeedbackFacts<'_>) -> String {
    let status = facts.status;
    let newest = status.generations.last();
    let dash = "—".to_string();
    let mut out = format!(
        "{}\n### Preview `{}`: {}\n\n| | |\n|---|---|\n",
        marker(facts.namespace, facts.name),
        facts.name,
        state_word(facts)
    );
    let url = status.url.clone().unwrap_or_else(|| dash.clone());
    let commit = newest
        .and_then(|g| g.head_sha.clone())
        .unwrap_or_else(|| facts.pull_request.head_sha.clone());
    let artifact = newest
        .and_then(|g| g.artifact.clone())
        .unwrap_or_else(|| dash.clone());
    let generation = newest.map(|g| g.id.clone()).unwrap_or_else(|| dash.clone());
    let identity = if identity_verified(status) {
        format!(
            "verified, generation `{}`",
            status.serving_generation.as_deref().unwrap_or("—")
        )
    } else {
        "not verified".to_string()
    };
    for (k, v) in [
        ("URL", url),
        ("Commit", format!("`{commit}`")),
        ("Artifact", format!("`{artifact}`")),
        ("Generation", format!("`{generation}`")),
        ("Runtime identity", identity),
    ] {
        out.push_str(&format!("| {k} | {v} |\n"));
    }
    if let Some(e) = newest.and_then(|g| g.evidence.as_deref())
        && newest.is_some_and(|g| g.phase == GenerationPhase::Failed)
    {
        out.push_str(&format!("\n{e}\n"));
    }
    out
}

/// The SHA-256 of a body, hex.
pub fn digest(body: &str) -> String {
    hex::encode(Sha256::digest(body.as_bytes()))
}

/// The GitHub writes due for `facts`, given what was `recorded`, at `now`.
pub fn due(facts: &FeedbackFacts<'_>, recorded: &PreviewFeedback, now: Timestamp) -> Due {
    if let Some(until) = recorded.retry_after.as_ref().map(|t| t.0)
        && until > now
    {
        return Due {
            waiting_until: Some(until),
            ..Due::default()
        };
    }
    let body = comment_body(facts);
    let body_digest = digest(&body);
    let comment = (recorded.comment_digest.as_deref() != Some(body_digest.as_str())
        // Teardown edits only a comment that exists: a preview that never commented says nothing.
        && !(facts.going && recorded.comment_id.is_none()))
    .then_some(CommentWrite::Upsert {
        known: recorded.comment_id,
        body,
        digest: body_digest,
    });
    Due {
        comment,
        deployment: deployment_due(facts, recorded),
        waiting_until: None,
    }
}

fn deployment_due(facts: &FeedbackFacts<'_>, recorded: &PreviewFeedback) -> Option<DeploymentWrite> {
    let posted = recorded.deployment_state.as_deref();
    if facts.going {
        let id = recorded.deployment_id?;
        return (posted != Some(DeploymentState::Inactive.as_str())).then_some(DeploymentWrite::Status {
            id,
            state: DeploymentState::Inactive,
            url: None,
        });
    }
    let newest = facts.status.generations.last()?;
    let sha = newest.head_sha.clone()?;
    let state = wanted_state(facts.status, newest.phase);
    let url = facts.status.url.clone();
    match recorded.deployment_id {
        Some(id) if recorded.deployment_generation.as_deref() == Some(newest.id.as_str()) => {
            // A settled preview's identity is probed again at every reconcile; a probe that
            // could not verify it for a moment does not take a posted success back.
            let regress =
                posted == Some(DeploymentState::Success.as_str()) && state == DeploymentState::InProgress;
            (posted != Some(state.as_str()) && !regress).then_some(DeploymentWrite::Status { id, state, url })
        }
        _ => Some(DeploymentWrite::Create {
            environment: facts.name.to_string(),
            sha,
            generation: newest.id.clone(),
            description: deployment_description(&newest.id),
            state,
            url,
        }),
    }
}

/// `owner` and `repo` of a pull request's `repository` (`owner/name`, `host/owner/name`, with or
/// without `https://` and `.git`). `None`: not a repository GitHub's API can be asked about.
pub fn owner_and_repo(repository: &str) -> Option<(String, String)> {
    let trimmed = repository
        .trim()
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .trim_end_matches(".git");
    let parts: Vec<&str> = trimmed.split('/').collect();
    let (owner, repo) = match parts.as_slice() {
        [owner, repo] | [_, owner, repo] => (*owner, *repo),
        _ => return None,
    };
    let fine = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    (fine(owner) && fine(repo)).then(|| (owner.to_string(), repo.to_string()))
}

/// The backoff after `failures` failed deliveries in a row (1 → 30 s, doubling, ≤ 30 min).
pub fn backoff(failures: u32) -> SignedDuration {
    let shift = failures.saturating_sub(1).min(10);
    let secs = FIRST_BACKOFF.as_secs().saturating_mul(1i64 << shift);
    SignedDuration::from_secs(secs).min(MAX_BACKOFF)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

//! Pull-request feedback from the Preview reconcile, in both shells: the GitHub token is read
//! from its Secret at each delivery (a rotation is picked up), the writes due are performed
//! ([`crate::github::feedback::deliver`]) and the record returned for the Preview's status.
//! Nothing here fails a reconcile: a missing Secret or a GitHub error is the record's message.

use crate::engine::World;
use crate::engine::secrets::ReadPurpose;
use crate::github::client::{DEFAULT_API_URL, GitHubClient};
use crate::github::feedback::deliver;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::resources::{Preview, PreviewFeedback, PreviewStatus};
use launchplane_core::pull_request_feedback::{FeedbackFacts, backoff, due};
use launchplane_providers::SecretString;
use std::time::Duration;

/// Where pull-request feedback goes, and the token's Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedbackSettings {
    /// GitHub's API ([`DEFAULT_API_URL`], or a GitHub Enterprise `…/api/v3`).
    pub api_url: String,
    /// The Secret's namespace; `None`: the Preview's own namespace (one token per tenant).
    pub token_namespace: Option<String>,
    pub token_name: String,
    pub token_key: String,
}

impl Default for FeedbackSettings {
    fn default() -> Self {
        FeedbackSettings {
            api_url: DEFAULT_API_URL.into(),
            token_namespace: None,
            token_name: "launchplane-github".into(),
            token_key: "token".into(),
        }
    }
}

/// The flags of `launchplane controller` and `launchplane reconcile` that turn feedback on.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct FeedbackArgs {
    /// Post pull-request feedback for Previews: one comment per preview on its pull request,
    /// and a GitHub deployment per generation (docs/github.md, "Pull-request feedback").
    #[arg(long)]
    pub pr_feedback: bool,
    /// GitHub's API base URL (GitHub Enterprise: `https://HOST/api/v3`).
    #[arg(long, value_name = "URL", default_value = DEFAULT_API_URL, requires = "pr_feedback")]
    pub pr_feedback_api_url: String,
    /// The Secret holding the GitHub token (rights: issues and deployments, write).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "launchplane-github",
        requires = "pr_feedback"
    )]
    pub pr_feedback_token_secret: String,
    /// The key of the token in that Secret.
    #[arg(long, value_name = "KEY", default_value = "token", requires = "pr_feedback")]
    pub pr_feedback_token_key: String,
    /// The namespace of that Secret (default: each Preview's own namespace).
    #[arg(long, value_name = "NAMESPACE", requires = "pr_feedback")]
    pub pr_feedback_token_namespace: Option<String>,
}

impl FeedbackArgs {
    /// The settings, when feedback is on.
    pub fn settings(&self) -> Option<FeedbackSettings> {
        self.pr_feedback.then(|| FeedbackSettings {
            api_url: self.pr_feedback_api_url.clone(),
            token_namespace: self.pr_feedback_token_namespace.clone(),
            token_name: self.pr_feedback_token_secret.clone(),
            token_key: self.pr_feedback_token_key.clone(),
        })
    }
}

/// The feedback record after delivering what `status` calls for (`going`: the Preview is
/// torn down). `None` when feedback is not configured.
pub async fn feedback(
    world: &World,
    preview: &Preview,
    namespace: &str,
    status: &PreviewStatus,
    going: bool,
) -> Option<PreviewFeedback> {
    let settings = world.feedback.as_ref()?;
    let name = preview.metadata.name.as_deref().unwrap_or_default();
    let recorded = status.feedback.clone().unwrap_or_default();
    let now = world.now();
    let facts = FeedbackFacts {
        namespace,
        name,
        pull_request: &preview.spec.pull_request,
        status,
        going,
    };
    // Nothing due (the usual reconcile of a settled preview), or waiting out a rate limit or
    // backoff: no Secret read, no GitHub call.
    if due(&facts, &recorded, now).is_empty() {
        return Some(recorded);
    }
    let client = match client(world, settings, namespace).await {
        Ok(c) => c,
        Err(message) => return Some(failed(recorded, message, now)),
    };
    Some(deliver(&client, &facts, &recorded, now).await)
}

async fn client(world: &World, settings: &FeedbackSettings, namespace: &str) -> Result<GitHubClient, String> {
    let secret_namespace = settings.token_namespace.as_deref().unwrap_or(namespace);
    let what = format!(
        "the GitHub token Secret {secret_namespace}/{} (key {})",
        settings.token_name, settings.token_key
    );
    let data = world
        .secrets
        .secret(secret_namespace, &settings.token_name, ReadPurpose::Webhook)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{what} does not exist; create it to post pull-request feedback"))?;
    let token = data
        .get(&settings.token_key)
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("{what} has no such key, or it is empty"))?;
    GitHubClient::new(&settings.api_url, SecretString::from(token.to_string())).map_err(|e| e.to_string())
}

fn failed(mut record: PreviewFeedback, message: String, now: Timestamp) -> PreviewFeedback {
    record.delivered = false;
    record.failures = record.failures.saturating_add(1);
    record.retry_after = now.checked_add(backoff(record.failures)).ok().map(Time);
    record.message = Some(message);
    record
}

/// Come back by the feedback's retry time, so a delivery held by a rate limit or backoff is
/// retried even when nothing else changes.
pub fn until_retry(record: Option<&PreviewFeedback>, now: Timestamp, requeue: Duration) -> Duration {
    let Some(at) = record.and_then(|r| r.retry_after.as_ref()) else {
        return requeue;
    };
    let left = at.0.duration_since(now);
    let left = if left.is_positive() {
        left.unsigned_abs()
    } else {
        Duration::ZERO
    };
    requeue.min(left.max(Duration::from_secs(1)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        feedback: FeedbackArgs,
    }

    #[test]
    fn feedback_is_off_unless_asked_for_and_its_flags_need_it() {
        let off = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(off.feedback.settings(), None);
        let on = Cli::try_parse_from(["x", "--pr-feedback"]).unwrap();
        assert_eq!(on.feedback.settings(), Some(FeedbackSettings::default()));
        let custom = Cli::try_parse_from([
            "x",
            "--pr-feedback",
            "--pr-feedback-token-secret",
            "gh",
            "--pr-feedback-token-key",
            "pat",
            "--pr-feedback-token-namespace",
            "launchplane",
            "--pr-feedback-api-url",
            "https://ghe.example.com/api/v3",
        ])
        .unwrap();
        assert_eq!(
            custom.feedback.settings(),
            Some(FeedbackSettings {
                api_url: "https://ghe.example.com/api/v3".into(),
                token_namespace: Some("launchplane".into()),
                token_name: "gh".into(),
                token_key: "pat".into(),
            })
        );
        // A token flag without --pr-feedback is a mistake, not silently ignored.
        assert!(Cli::try_parse_from(["x", "--pr-feedback-token-secret", "gh"]).is_err());
    }
}

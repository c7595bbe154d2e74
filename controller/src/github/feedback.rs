//! Pull-request feedback, the I/O: perform the writes [`launchplane_core::pull_request_feedback::due`]
//! names through the [`GitHubClient`], and return the feedback record to keep in the Preview's
//! status. It never fails the reconcile: a GitHub error or rate limit becomes the record's
//! message and a retry time, and what was done before it (a comment id, a deployment id) is
//! kept, so the next attempt neither repeats nor duplicates it.

use super::client::{GitHubClient, GitHubError, NewDeployment, NewDeploymentStatus};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::resources::PreviewFeedback;
use launchplane_core::pull_request_feedback::{
    CommentWrite, DeploymentState, DeploymentWrite, FeedbackFacts, backoff, due, find_deployment, find_ours,
    is_ours, owner_and_repo,
};

/// Deliver what is due for `facts` given `recorded`; the record to write back.
pub async fn deliver(
    client: &GitHubClient,
    facts: &FeedbackFacts<'_>,
    recorded: &PreviewFeedback,
    now: Timestamp,
) -> PreviewFeedback {
    let due = due(facts, recorded, now);
    if due.waiting_until.is_some() {
        return recorded.clone();
    }
    let mut record = recorded.clone();
    let Some((owner, repo)) = owner_and_repo(&facts.pull_request.repository) else {
        record.delivered = false;
        record.message = Some(format!(
            "spec.pullRequest.repository {:?} is not a GitHub owner/name; no feedback is posted",
            facts.pull_request.repository
        ));
        return record;
    };
    let at = Where {
        client,
        owner: &owner,
        repo: &repo,
        facts,
    };
    let mut result = Ok(());
    if let Some(comment) = &due.comment {
        result = at.comment(comment, &mut record).await;
    }
    if result.is_ok()
        && let Some(deployment) = &due.deployment
    {
        result = at.deployment(deployment, &mut record).await;
    }
    match result {
        Ok(()) => {
            record.delivered = true;
            record.message = None;
            record.failures = 0;
            record.retry_after = None;
        }
        Err(e) => {
            record.delivered = false;
            record.failures = record.failures.saturating_add(1);
            let until = e
                .rate_limited_until()
                .or_else(|| now.checked_add(backoff(record.failures)).ok());
            record.retry_after = until.map(Time);
            record.message = Some(match until {
                Some(t) => format!("{e}; retried after {t}"),
                None => e.to_string(),
            });
            tracing::warn!(error = %e, failures = record.failures, "pull-request feedback not delivered");
        }
    }
    record
}

struct Where<'a> {
    client: &'a GitHubClient,
    owner: &'a str,
    repo: &'a str,
    facts: &'a FeedbackFacts<'a>,
}

fn not_found(e: &GitHubError) -> bool {
    matches!(e, GitHubError::Status { status: 404, .. })
}

impl Where<'_> {
    async fn comment(&self, write: &CommentWrite, record: &mut PreviewFeedback) -> Result<(), GitHubError> {
        let CommentWrite::Upsert { known, body, digest } = write;
        let (ns, name) = (self.facts.namespace, self.facts.name);
        // The recorded id is edited only when the comment, read now, carries our marker.
        let mut target = None;
        if let Some(id) = known {
            match self.client.issue_comment(self.owner, self.repo, *id).await {
                Ok(c) if is_ours(c.body.as_deref().unwrap_or_default(), ns, name) => target = Some(c.id),
                Ok(_) => tracing::warn!(
                    comment = id,
                    "the comment recorded in status does not carry this preview's marker; left alone"
                ),
                Err(e) if not_found(&e) => {}
                Err(e) => return Err(e),
            }
        }
        if target.is_none() {
            let comments = self
                .client
                .issue_comments(self.owner, self.repo, self.facts.pull_request.number)
                .await?;
            target = find_ours(
                comments
                    .iter()
                    .map(|c| (c.id, c.body.as_deref().unwrap_or_default())),
                ns,
                name,
            );
        }
        let written = match target {
            Some(id) => {
                self.client
                    .update_issue_comment(self.owner, self.repo, id, body)
                    .await?
            }
            None => {
                self.client
                    .create_issue_comment(self.owner, self.repo, self.facts.pull_request.number, body)
                    .await?
            }
        };
        record.comment_id = Some(written.id);
        record.comment_digest = Some(digest.clone());
        Ok(())
    }

    async fn deployment(
        &self,
        write: &DeploymentWrite,
        record: &mut PreviewFeedback,
    ) -> Result<(), GitHubError> {
        let (id, state, url) = match write {
            DeploymentWrite::Create {
                environment,
                sha,
                generation,
                description,
                state,
                url,
            } => {
                let listed = self
                    .client
                    .deployments(self.owner, self.repo, environment, sha)
                    .await?;
                let found = find_deployment(
                    listed.iter().map(|d| (d.id, d.description.as_deref())),
                    generation,
                );
                let id = match found {
                    Some(id) => id,
                    None => {
                        let new = NewDeployment {
                            git_ref: sha.clone(),
                            environment: environment.clone(),
                            description: description.clone(),
                            auto_merge: false,
                            required_contexts: vec![],
                            // Not transient: GitHub then marks the previous generation's successful
                            // deployment inactive when this one succeeds (`auto_inactive`).
                            transient_environment: false,
                            production_environment: false,
                        };
                        self.client
                            .create_deployment(self.owner, self.repo, &new)
                            .await?
                            .id
                    }
                };
                // Kept before the status is posted: a failure now still remembers the deployment.
                record.deployment_id = Some(id);
                record.deployment_generation = Some(generation.clone());
                record.deployment_state = None;
                (id, *state, url.clone())
            }
            DeploymentWrite::Status { id, state, url } => (*id, *state, url.clone()),
        };
        let status = NewDeploymentStatus {
            state: state.as_str().to_string(),
            environment_url: url,
            description: description_of(state).to_string(),
        };
        self.client
            .create_deployment_status(self.owner, self.repo, id, &status)
            .await?;
        record.deployment_state = Some(state.as_str().to_string());
        Ok(())
    }
}

fn description_of(state: DeploymentState) -> &'static str {
    match state {
        DeploymentState::InProgress => "deploying; success once the runtime identity is verified",
        DeploymentState::Success => "deployed; runtime identity verified",
        DeploymentState::Failure => "the deploy or its verification failed",
        DeploymentState::Inactive => "preview torn down",
    }
}

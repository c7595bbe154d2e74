//! ProviderConfig: reachability, authentication and version, from the poller's snapshot.

use super::Outcome;
use crate::observe::poller::Snapshot;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::conditions::{self, Aspect, Progress, reasons as condition_reasons, types};
use launchplane_api::resources::{ProviderConfig, ProviderConfigStatus};
use launchplane_api::verdict::Verdict;
use launchplane_api::verify::target::ProviderFailure;

/// Why the controller could not even build a client for the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialProblem {
    /// A CamelCase reason, e.g. `SecretNotFound`.
    pub reason: &'static str,
    /// Names the Secret and key and says how to fix it; never holds the key itself.
    pub message: String,
}

/// Where the API key in use came from, so a refusal names the place a person fixes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// `spec.apiKeySecretRef` (the cluster, and standalone without the variable).
    Secret,
    /// A standalone environment variable such as `LAUNCHPLANE_API_KEY_DOKPLOY_MAIN`.
    Variable(String),
}

impl KeySource {
    fn describe(&self, config: &ProviderConfig) -> String {
        match self {
            KeySource::Secret => format!(
                "Secret {} (key {})",
                config.spec.api_key_secret_ref.name, config.spec.api_key_secret_ref.key
            ),
            KeySource::Variable(name) => format!("the environment variable {name}"),
        }
    }
}

/// Compute a ProviderConfig's status. `credentials` is the outcome of resolving the API key
/// Secret; when it failed there is no snapshot worth reading and the resource is Stalled until
/// the user fixes the reference.
pub fn reconcile(
    config: &ProviderConfig,
    credentials: Result<&Snapshot, &CredentialProblem>,
    key_source: &KeySource,
    target_count: usize,
    now: Timestamp,
) -> Outcome<ProviderConfigStatus> {
    let old = config.status.clone().unwrap_or_default();
    let generation = config.metadata.generation;
    let target_count = i32::try_from(target_count).ok();

    let snapshot = match credentials {
        Ok(snapshot) => snapshot,
        Err(problem) => {
            let aspects = [
                Aspect::required(
                    types::PROVIDER_REACHABLE,
                    Verdict::Unchecked,
                    "no API key to connect with",
                ),
                Aspect::required(
                    types::PROVIDER_AUTHENTICATED,
                    Verdict::Unverifiable,
                    problem.message.clone(),
                ),
            ];
            let progress = Progress::Stalled {
                reason: problem.reason.into(),
                message: problem.message.clone(),
            };
            let computed = conditions::compute(&old.conditions, &aspects, &progress, generation, now);
            return Outcome {
                status: ProviderConfigStatus {
                    observed_generation: generation,
                    verdict: Some(computed.verdict),
                    conditions: computed.conditions,
                    reachable: None,
                    authenticated: None,
                    dokploy_version: old.dokploy_version,
                    last_poll_time: old.last_poll_time,
                    target_count,
                },
                transitions: computed.transitions,
            };
        }
    };

    let (reachable, authenticated) = match &snapshot.last_failure {
        None if snapshot.observed_at.is_some() => (
            (Verdict::Matched, "Dokploy answered the last poll".to_string()),
            (Verdict::Matched, "Dokploy accepted the API key".to_string()),
        ),
        None => (
            (Verdict::Unchecked, "not polled yet".to_string()),
            (Verdict::Unchecked, "not polled yet".to_string()),
        ),
        Some((ProviderFailure::Unreachable, detail)) => (
            (Verdict::Unverifiable, format!("Dokploy is unreachable: {detail}")),
            (
                Verdict::Unchecked,
                "cannot check the API key while Dokploy is unreachable".to_string(),
            ),
        ),
        Some((ProviderFailure::Unauthorized, detail)) => (
            (Verdict::Matched, "Dokploy answered".to_string()),
            (
                Verdict::Mismatch,
                format!(
                    "Dokploy refused the API key from {}: {detail}; put a valid key there",
                    key_source.describe(config)
                ),
            ),
        ),
        Some((ProviderFailure::Throttled, detail)) => (
            (
                Verdict::Unverifiable,
                format!("Dokploy throttled the API key, backing off: {detail}"),
            ),
            (
                Verdict::Matched,
                "the API key was accepted before the throttling".to_string(),
            ),
        ),
        Some((ProviderFailure::Other, detail)) => (
            (
                Verdict::Unverifiable,
                format!("Dokploy answered with an error: {detail}"),
            ),
            (
                Verdict::Unchecked,
                "not known while Dokploy answers with errors".to_string(),
            ),
        ),
    };
    let aspects = [
        Aspect::required(types::PROVIDER_REACHABLE, reachable.0, reachable.1),
        Aspect::required(types::PROVIDER_AUTHENTICATED, authenticated.0, authenticated.1),
    ];
    let progress = if snapshot.last_poll_at.is_none() {
        Progress::Reconciling {
            reason: condition_reasons::PROGRESSING.into(),
            message: "waiting for the first poll".into(),
        }
    } else {
        Progress::Settled
    };
    let computed = conditions::compute(&old.conditions, &aspects, &progress, generation, now);
    Outcome {
        status: ProviderConfigStatus {
            observed_generation: generation,
            verdict: Some(computed.verdict),
            conditions: computed.conditions,
            reachable: snapshot.reachable(),
            authenticated: snapshot.authenticated(),
            dokploy_version: snapshot.version.clone().or(old.dokploy_version),
            last_poll_time: snapshot.last_poll_at.map(Time).or(old.last_poll_time),
            target_count,
        },
        transitions: computed.transitions,
    }
}

#[cfg(test)]
mod tests;

//! ProviderConfig: reachability, authentication and version, from the poller's snapshot.

use super::Outcome;
use crate::observation::Snapshot;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::conditions::{self, Aspect, Progress, reasons as condition_reasons, types};
use launchplane_api::resources::{ListingSummary, ProviderConfig, ProviderConfigStatus};
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
                    last_listing: old.last_listing,
                    deploy_notification: old.deploy_notification,
                },
                transitions: computed.transitions,
            };
        }
    };

    let last_listing = listing_after(old.last_listing.as_ref(), snapshot);
    // Only about the listing this poll made: a failed poll made none.
    let shrink = last_listing
        .as_ref()
        .filter(|_| snapshot.last_failure.is_none())
        .and_then(shrink_note);
    let (reachable, authenticated) = match &snapshot.last_failure {
        None if snapshot.observed_at.is_some() => (
            (
                Verdict::Matched,
                match &shrink {
                    Some(note) => format!("Dokploy answered the last poll; {note}"),
                    None => "Dokploy answered the last poll".to_string(),
                },
            ),
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
        Some((ProviderFailure::DeadlinePassed, detail)) => (
            (
                Verdict::Unverifiable,
                format!("the round's deadline passed before Dokploy answered: {detail}"),
            ),
            (
                Verdict::Unchecked,
                "not known: the round's deadline passed before Dokploy answered".to_string(),
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
    let mut computed = conditions::compute(&old.conditions, &aspects, &progress, generation, now);
    // Advisory, not a verdict: the provider answered and accepted the key, which is what this
    // resource vouches for. The targets the listing lacks carry the doubt themselves
    // (Unverifiable until a later listing confirms), and a sweep or deletion may be real.
    if let Some(note) = &shrink
        && let Some(ready) = computed.conditions.iter_mut().find(|c| c.type_ == types::READY)
    {
        ready.message = format!("{}; {note}", ready.message);
    }
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
            last_listing,
            deploy_notification: old.deploy_notification,
        },
        transitions: computed.transitions,
    }
}

/// The listing summary after `snapshot`: a new listing (a later `observed_at`) records its
/// size and the size of the one before; the same listing seen again (a status written twice
/// per poll) changes nothing.
pub fn listing_after(old: Option<&ListingSummary>, snapshot: &Snapshot) -> Option<ListingSummary> {
    let (Some(targets), Some(at)) = (&snapshot.targets, snapshot.observed_at) else {
        return old.cloned();
    };
    if old.is_some_and(|o| o.time.0 >= at) {
        return old.cloned();
    }
    Some(ListingSummary {
        time: Time(at),
        services: i32::try_from(targets.len()).unwrap_or(i32::MAX),
        previous_services: old.map(|o| o.services),
    })
}

/// A plain note when `listing` holds markedly fewer services than the one before: at least a
/// quarter fewer and at least two fewer, so that one deletion in a small organization is not
/// called out.
pub fn shrink_note(listing: &ListingSummary) -> Option<String> {
    let previous = listing.previous_services?;
    let lost = previous.saturating_sub(listing.services);
    let markedly = lost >= 2 && lost.saturating_mul(4) >= previous;
    markedly.then(|| {
        format!(
            "its listing of {} holds {} applications and compose services, {lost} fewer than the \
             listing before ({previous}); a listing can be partial, so ProviderTargets missing from it \
             are Unverifiable until a later listing confirms they are gone",
            Timestamp::from_second(listing.time.0.as_second()).unwrap_or(listing.time.0),
            listing.services
        )
    })
}

pub mod notification;

/// The least time between two polls that deploy notifications ask for: a burst of builds
/// becomes one poll.
pub const REQUESTED_POLL_GAP: jiff::SignedDuration = jiff::SignedDuration::from_secs(10);

/// The time asked for in `launchplane.dev/poll-requested-at`, if it is one.
pub fn poll_requested_at(config: &ProviderConfig) -> Option<Timestamp> {
    config
        .metadata
        .annotations
        .as_ref()?
        .get(launchplane_api::resources::POLL_REQUESTED_ANNOTATION)?
        .parse()
        .ok()
}

/// When a requested poll (a Dokploy deploy notification, through the receiver) makes the next
/// poll due: at once for a request later than the last poll, but never sooner than
/// [`REQUESTED_POLL_GAP`] after it; `None` when the last poll already answers the request.
pub fn requested_poll_due(requested: Option<Timestamp>, last_poll: Option<Timestamp>) -> Option<Timestamp> {
    let requested = requested?;
    match last_poll {
        None => Some(requested),
        Some(last) if requested > last => Some(requested.max(last + REQUESTED_POLL_GAP)),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests;

//! Health checks: the outcome of one check, judged from what its GET answered (`publicHttp`,
//! `privateHttp`) or from Dokploy's own view of the target in the shared poll (`provider`).

use crate::redact::without_credentials;
use crate::target::TargetRef;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::resources::{HealthCheck, HealthCheckType, HealthEvidence};
use launchplane_api::verdict::Verdict;
use launchplane_api::verify::target::{ObservationWindow, ObservedTarget, ProviderFailure};

/// One health check's outcome.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HealthResult {
    pub evidence: HealthEvidence,
    pub required: bool,
}

/// Judge one health check from what its GET answered (`Err`: transport failure, secret-free).
pub fn health_result(
    check: &HealthCheck,
    url: Option<&str>,
    answer: Option<Result<u16, String>>,
    now: Timestamp,
) -> HealthResult {
    let (target, verdict, status_code, message) = match (check.check_type, url, answer) {
        // Judged by [`provider_result`]; reaching here means nobody gave it the poll's view.
        (HealthCheckType::Provider, _, _) => (
            PROVIDER_TARGET.to_string(),
            Verdict::Unverifiable,
            None,
            "no observation of the provider was available to the check".to_string(),
        ),
        (_, None, _) => (
            "(no url)".to_string(),
            Verdict::Unverifiable,
            None,
            "the check has a path but the lane has no base URL: set the Lane's \
             spec.runtimeIdentity.baseUrl, the Product's spec.baseUrl or the ProviderTarget's domains"
                .to_string(),
        ),
        // The URL is the user's to write and may carry a password or a token: the evidence
        // (lane status, Events, records, incidents) never does.
        (_, Some(url), None) => (
            without_credentials(url),
            Verdict::Unchecked,
            None,
            "not run yet".into(),
        ),
        (_, Some(url), Some(Err(reason))) => (
            without_credentials(url),
            Verdict::Unverifiable,
            None,
            without_credentials(&reason),
        ),
        (_, Some(url), Some(Ok(code))) => {
            let ok = i32::from(code) == check.expect_status;
            (
                without_credentials(url),
                if ok { Verdict::Matched } else { Verdict::Mismatch },
                Some(i32::from(code)),
                format!("answered HTTP {code}, expected {}", check.expect_status),
            )
        }
    };
    HealthResult {
        evidence: HealthEvidence {
            target,
            verdict: Some(verdict),
            status_code,
            message: Some(message),
            checked_at: Some(Time(now)),
        },
        required: check.required,
    }
}

/// `HealthEvidence.target` of a provider check.
pub const PROVIDER_TARGET: &str = "provider";

/// Since when the lane's target may have changed under the lane's own hand, for
/// [`provider_sight`]: a poll taken before then shows the target as it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LastChange {
    /// No deploy of the lane ever started.
    Never,
    /// The latest deploy the lane started (or was given as evidence) began or ended then.
    At(Timestamp),
    /// An attempt is mutating the target now (its record is Pending).
    InFlight,
}

/// What the shared poll of the target's ProviderConfig shows of the lane's target, for a
/// `provider` check: the listed target, or why it cannot be seen (a sentence). A poll older
/// than the lane's last change is not evidence of it (compared by whole seconds, strictly, as
/// Kubernetes keeps times).
pub fn provider_sight<'a>(
    window: Option<&ObservationWindow<'a>>,
    target: Option<&TargetRef>,
    changed: LastChange,
    now: Timestamp,
) -> Result<&'a ObservedTarget, String> {
    let Some(target) = target else {
        return Err("the lane's ProviderTarget is not bound to a Dokploy target yet".into());
    };
    let Some(window) = window else {
        return Err("the target's ProviderConfig has not been polled yet".into());
    };
    if let Some((failure, detail)) = &window.last_failure {
        let what = match failure {
            ProviderFailure::Unreachable => "provider unreachable",
            ProviderFailure::Unauthorized => "provider refused the API key",
            ProviderFailure::Throttled => "provider throttled the API key",
            ProviderFailure::Other => "provider error",
            ProviderFailure::DeadlinePassed => "the round's deadline passed",
        };
        return Err(format!("the last poll failed: {what}: {detail}"));
    }
    let (Some(targets), Some(observed_at)) = (window.targets, window.observed_at) else {
        return Err("the target's ProviderConfig has not been polled yet".into());
    };
    let window_len =
        window.poll_interval * i32::try_from(window.stale_after_polls.max(1)).unwrap_or(i32::MAX);
    let age = now.duration_since(observed_at);
    if age > window_len {
        return Err(format!(
            "the last successful poll was {}s ago, more than {} poll intervals",
            age.as_secs(),
            window.stale_after_polls
        ));
    }
    match changed {
        LastChange::InFlight => {
            return Err(
                "a deploy attempt of the lane is changing the target; judged at a poll after it".into(),
            );
        }
        LastChange::At(at) if observed_at.as_second() <= at.as_second() => {
            return Err(format!(
                "the last poll ({observed_at}) is not after the lane's last deploy ({at}); judged at the next poll"
            ));
        }
        _ => {}
    }
    let category = target.category.as_str();
    targets
        .iter()
        .find(|t| t.id == target.id && t.category == category)
        .ok_or_else(|| format!("the poll of {observed_at} does not list {category} {}", target.id))
}

/// How Dokploy's status of a target reads as health.
enum Health {
    Healthy,
    Unhealthy,
    Unknown,
}

/// `applicationStatus` / `composeStatus`: the last Dokploy action on the target (not container
/// health: see the Dokploy notes), read as health.
fn service_health(status: Option<&str>) -> (Health, String) {
    match status {
        Some("done") => (Health::Healthy, "done".into()),
        Some("error") => (Health::Unhealthy, "error (its last deploy failed)".into()),
        Some("idle") => (
            Health::Unhealthy,
            "idle (stopped, never deployed, or its source changed with no deploy since)".into(),
        ),
        Some("running") => (Health::Unknown, "running (a deploy is under way)".into()),
        Some(other) => (
            Health::Unknown,
            format!("{other:?}, a status Launchplane does not know"),
        ),
        None => (Health::Unknown, "without a status".into()),
    }
}

/// Judge a `provider` check from the shared poll: the target's status and its newest
/// deployment's, both as the same poll listed them. Healthy (`done`, and a last deployment
/// that is `done` or absent) is Matched; unhealthy (`error`, `idle`, a last deployment in
/// `error` or `cancelled`) is Mismatch; anything else (a deploy running, a status it does not
/// know, no fresh poll) is Unverifiable. The message cites the evidence.
pub fn provider_result(
    check: &HealthCheck,
    sight: Result<&ObservedTarget, String>,
    now: Timestamp,
) -> HealthResult {
    let (verdict, message) = match sight {
        Err(why) => (Verdict::Unverifiable, why),
        Ok(target) => {
            let what = match target.category.as_str() {
                "compose" => "compose service",
                other => other,
            };
            let (service, service_says) = service_health(target.status.as_deref());
            let (deployment, deployment_says) = match &target.last_deployment {
                None => (Health::Healthy, "no deployment is listed".to_string()),
                Some(d) => {
                    let at = d.at.as_deref().map(|at| format!(" ({at})")).unwrap_or_default();
                    let health = match d.status.as_str() {
                        "done" => Health::Healthy,
                        "error" | "cancelled" => Health::Unhealthy,
                        _ => Health::Unknown,
                    };
                    (
                        health,
                        format!("its last deployment {}{at} is {}", d.id, d.status),
                    )
                }
            };
            let verdict = match (service, deployment) {
                (Health::Unhealthy, _) | (_, Health::Unhealthy) => Verdict::Mismatch,
                (Health::Unknown, _) | (_, Health::Unknown) => Verdict::Unverifiable,
                (Health::Healthy, Health::Healthy) => Verdict::Matched,
            };
            (
                verdict,
                format!(
                    "Dokploy reports {what} {} {service_says}; {deployment_says}",
                    target.id
                ),
            )
        }
    };
    HealthResult {
        evidence: HealthEvidence {
            target: PROVIDER_TARGET.to_string(),
            verdict: Some(verdict),
            status_code: None,
            message: Some(message),
            checked_at: Some(Time(now)),
        },
        required: check.required,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

//! What Dokploy and the checks answered, as the bootstrap's [`record`](super::record) reads
//! it: a run's answer, the schedule's history rows, and the lane's driver checks.

use super::record::{RunAnswer, ScheduleRun, ScheduleRunStatus, Verification};
use crate::redact::without_credentials;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::resources::{
    BootstrapStepResult, CheckResult, StepOutcome, VerificationCheck, VerificationCheckName,
};
use launchplane_providers::{DeploymentStatus, ScheduleRunAnswer};

/// What `schedule.runManually` answered (it answers when the command ended).
pub fn answer(a: &ScheduleRunAnswer) -> RunAnswer {
    match &a.status {
        DeploymentStatus::Done => RunAnswer::Finished {
            succeeded: true,
            deployment_id: Some(a.deployment_id.clone()),
            message: format!("Dokploy deployment {}", a.deployment_id),
        },
        DeploymentStatus::Error | DeploymentStatus::Cancelled => RunAnswer::Finished {
            succeeded: false,
            deployment_id: Some(a.deployment_id.clone()),
            message: format!(
                "Dokploy deployment {} ended {}",
                a.deployment_id,
                status_word(&a.status)
            ),
        },
        // An answer that does not say the command ended settles nothing: the history does.
        DeploymentStatus::Running | DeploymentStatus::Other(_) => RunAnswer::Lost {
            message: format!(
                "Dokploy answered with deployment {} {}, not an end",
                a.deployment_id,
                status_word(&a.status)
            ),
        },
    }
}

fn status_word(s: &DeploymentStatus) -> String {
    match s {
        DeploymentStatus::Running => "running".into(),
        DeploymentStatus::Done => "done".into(),
        DeploymentStatus::Error => "error".into(),
        DeploymentStatus::Cancelled => "cancelled".into(),
        DeploymentStatus::Other(o) => without_credentials(o),
    }
}

/// The history rows of a schedule, newest first (an unknown status reads as still running:
/// it proves no end).
pub fn runs(rows: &[launchplane_providers::ScheduleRun]) -> Vec<ScheduleRun> {
    let at = |s: &Option<String>| s.as_deref().and_then(|t| t.parse::<Timestamp>().ok());
    rows.iter()
        .map(|r| ScheduleRun {
            deployment_id: r.deployment_id.clone(),
            status: match r.status {
                DeploymentStatus::Done => ScheduleRunStatus::Done,
                DeploymentStatus::Error => ScheduleRunStatus::Error,
                DeploymentStatus::Cancelled => ScheduleRunStatus::Cancelled,
                DeploymentStatus::Running | DeploymentStatus::Other(_) => ScheduleRunStatus::Running,
            },
            started_at: at(&r.created_at).or_else(|| at(&r.started_at)),
            finished_at: at(&r.finished_at),
        })
        .collect()
}

/// One driver check as a bootstrap step: a required check counts as it came out (Unverifiable
/// is Unknown, never a pass); an advisory one is reported and Skipped, so it holds nothing.
pub fn step(check: &VerificationCheck, now: Timestamp) -> BootstrapStepResult {
    let message = check.message.clone().unwrap_or_default();
    let (result, message) = match (check.required, check.result) {
        (_, CheckResult::Passed) => (StepOutcome::Passed, message),
        (true, CheckResult::Failed) => (StepOutcome::Failed, message),
        (true, CheckResult::Unverifiable) => (StepOutcome::Unknown, message),
        (false, r) => (
            StepOutcome::Skipped,
            format!("advisory, not required ({r:?}): {message}"),
        ),
    };
    BootstrapStepResult {
        result,
        message: without_credentials(&message),
        time: Some(check.checked_at.clone().unwrap_or(Time(now))),
        deployment_id: None,
    }
}

/// The checks as the bootstrap's verification; `identity` None: the lane expects no identity
/// (it has no RuntimeIdentity: nothing deployed yet). A check the driver did not make is
/// Unknown: it was not compared.
pub fn verification(
    checks: &[VerificationCheck],
    identity: Option<&VerificationCheck>,
    now: Timestamp,
) -> Verification {
    let of = |name: VerificationCheckName| {
        checks
            .iter()
            .find(|c| c.name == name)
            .map_or_else(|| not_made(now), |c| step(c, now))
    };
    Verification {
        health: of(VerificationCheckName::Health),
        canonical_url: of(VerificationCheckName::CanonicalUrl),
        logo: of(VerificationCheckName::Logo),
        runtime_identity: identity.map_or_else(
            || BootstrapStepResult {
                result: StepOutcome::Skipped,
                message: "the lane has no RuntimeIdentity (nothing deployed yet): no identity is expected"
                    .into(),
                time: Some(Time(now)),
                deployment_id: None,
            },
            |c| step(c, now),
        ),
    }
}

fn not_made(now: Timestamp) -> BootstrapStepResult {
    BootstrapStepResult {
        result: StepOutcome::Unknown,
        message: "not checked: the lane's driver makes no such check".into(),
        time: Some(Time(now)),
        deployment_id: None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn check(name: VerificationCheckName, result: CheckResult, required: bool) -> VerificationCheck {
        VerificationCheck {
            name,
            result,
            required,
            url: None,
            message: Some("seen".into()),
            checked_at: None,
        }
    }

    /// An unreachable required check is Unknown, never Passed; an advisory failure holds
    /// nothing (Skipped, saying so).
    #[test]
    fn unverifiable_is_never_a_pass_and_advisory_holds_nothing() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let s = step(
            &check(VerificationCheckName::Health, CheckResult::Unverifiable, true),
            now,
        );
        assert_eq!(s.result, StepOutcome::Unknown);
        let s = step(
            &check(VerificationCheckName::Logo, CheckResult::Failed, false),
            now,
        );
        assert_eq!(s.result, StepOutcome::Skipped);
        assert!(s.message.starts_with("advisory"));
        let v = verification(
            &[check(VerificationCheckName::Health, CheckResult::Passed, true)],
            None,
            now,
        );
        assert_eq!(v.health.result, StepOutcome::Passed);
        assert_eq!(v.logo.result, StepOutcome::Unknown);
        assert_eq!(v.runtime_identity.result, StepOutcome::Skipped);
    }

    /// Only an answer that says the command ended settles a run.
    #[test]
    fn only_an_ended_answer_settles_a_run() {
        let a = |status| ScheduleRunAnswer {
            deployment_id: "d1".into(),
            status,
            log_path: None,
        };
        assert!(matches!(
            answer(&a(DeploymentStatus::Done)),
            RunAnswer::Finished { succeeded: true, .. }
        ));
        assert!(matches!(
            answer(&a(DeploymentStatus::Error)),
            RunAnswer::Finished { succeeded: false, .. }
        ));
        assert!(matches!(
            answer(&a(DeploymentStatus::Running)),
            RunAnswer::Lost { .. }
        ));
    }
}

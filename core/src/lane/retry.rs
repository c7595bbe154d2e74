//! Retrying a lane's failed deploys: exponential backoff with a cap, and a limit after which
//! the lane is Stalled until its desired state changes.
//!
//! A lane's *desired state* is what its controller records remember: the Artifact (its
//! `spec.artifactRef`, or its Promotion's), the Promotion that set it (`spec.promotionRef`) and
//! the lane's spec generation (`spec.laneGeneration`). The *streak* is
//! the run of the lane's newest controller records that Failed for the current desired state;
//! deploys for the first desired state, spec changes and drift corrections count alike. After
//! the n-th failure in a row the next attempt waits `base × 2^(n-1)`, at most `max`; after
//! `maxAttempts` failures no attempt is made until the desired state changes (a spec edit bumps
//! the generation, or a new `spec.artifactRef`), which starts an attempt at once.
//!
//! The streak is counted from the records alone, never kept in status: status is derived and
//! can be lost or rewritten (a restore, a state folder started afresh), while the records are
//! the evidence a restart plans from. So the streak's records are never pruned; that keeps at
//! most `maxAttempts` records beyond `historyLimit`, each the account of one failed attempt.

use crate::deployment_record::{self as record, DeployRetryPolicy};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::resources::{DeployRetryStatus, DeploymentPhase, DeploymentRecord};

/// Reason of `Reconciling=True` while the next attempt waits out its backoff.
pub const RETRY_SCHEDULED: &str = "DeployRetryScheduled";
/// Reason of `Stalled=True` once every attempt for the desired state failed.
pub const RETRIES_EXHAUSTED: &str = "DeployRetriesExhausted";

/// When this controller saw the attempt fail: its own clock (the verification or step that
/// failed it), not Dokploy's `finishedAt`, so backoff does not depend on the two clocks agreeing.
pub fn failed_at(r: &DeploymentRecord) -> Option<Timestamp> {
    let status = r.status.as_ref()?;
    status
        .verification
        .as_ref()
        .and_then(|v| v.finished_at.as_ref())
        .or_else(|| status.post_deploy.as_ref().and_then(|p| p.finished_at.as_ref()))
        .map(|t| t.0)
        .or_else(|| record::finished_at(r))
}

/// The failed attempts in a row for the desired state (`artifact`, `promotion`, `generation`),
/// newest first. `controller` holds the lane's controller records, oldest attempt first. An attempt in
/// flight on top is skipped (it is the next attempt, not a failure yet). A verified deploy
/// recorded by someone else (`settled`, the inventory's record) after the newest failure ends
/// the streak: the lane reached a state since.
pub fn streak<'a>(
    controller: &[&'a DeploymentRecord],
    artifact: Option<&str>,
    promotion: Option<&str>,
    generation: Option<i64>,
    settled: Option<&DeploymentRecord>,
) -> Vec<&'a DeploymentRecord> {
    let Some(artifact) = artifact else {
        return Vec::new();
    };
    let failed: Vec<&DeploymentRecord> = controller
        .iter()
        .rev()
        .skip_while(|r| !record::is_terminal(record::phase(r)))
        .take_while(|r| {
            record::phase(r) == DeploymentPhase::Failed
                && r.spec.artifact_ref.name == artifact
                && r.spec.promotion_ref.as_ref().map(|p| p.name.as_str()) == promotion
                && r.spec.lane_generation == generation
        })
        .copied()
        .collect();
    let settled_since = match (settled.and_then(record::finished_at), failed.first()) {
        (Some(ok), Some(newest)) => failed_at(newest).is_some_and(|f| ok >= f),
        _ => false,
    };
    if settled_since { Vec::new() } else { failed }
}

/// Whether a new attempt may be made now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// No failed attempt for the current desired state.
    Open,
    /// `failures` attempts failed; the next is due at `at` (`None`: the failure time is
    /// unknown, so it is due now).
    Backoff { failures: u32, at: Option<Timestamp> },
    /// Every attempt failed: nothing more until the desired state changes.
    Exhausted { failures: u32 },
}

impl Gate {
    /// Whether an attempt may start at `now`.
    pub fn allows(&self, now: Timestamp) -> bool {
        match self {
            Gate::Open => true,
            Gate::Backoff { at, .. } => at.is_none_or(|at| now >= at),
            Gate::Exhausted { .. } => false,
        }
    }

    /// When the next attempt is due, while it waits.
    pub fn next_attempt(&self) -> Option<Timestamp> {
        match self {
            Gate::Backoff { at, .. } => *at,
            _ => None,
        }
    }
}

/// The gate the streak sets.
pub fn gate(streak: &[&DeploymentRecord], policy: &DeployRetryPolicy) -> Gate {
    let failures = u32::try_from(streak.len()).unwrap_or(u32::MAX);
    match streak.first() {
        None => Gate::Open,
        Some(_) if failures >= policy.attempts() => Gate::Exhausted { failures },
        Some(newest) => Gate::Backoff {
            failures,
            at: failed_at(newest).and_then(|t| t.checked_add(policy.delay_after(failures)).ok()),
        },
    }
}

/// Why the record's attempt failed, in a sentence naming the record.
pub fn failure(r: &DeploymentRecord) -> String {
    let why = r
        .status
        .as_ref()
        .and_then(|s| {
            s.verification
                .as_ref()
                .filter(|v| v.finished_at.is_some())
                .and_then(|v| v.message.clone())
                .or_else(|| s.post_deploy.as_ref().and_then(|p| p.message.clone()))
        })
        .unwrap_or_else(|| "no reason recorded".into());
    format!(
        "deployment record {}: {why}",
        r.metadata.name.as_deref().unwrap_or_default()
    )
}

fn when(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// What the lane's status says of the streak (`None` when there is none). While an attempt is
/// `in_flight` no next attempt is scheduled.
pub fn status(
    streak: &[&DeploymentRecord],
    gate: &Gate,
    policy: &DeployRetryPolicy,
    in_flight: bool,
) -> Option<DeployRetryStatus> {
    let newest = streak.first()?;
    Some(DeployRetryStatus {
        failed_attempts: i32::try_from(streak.len()).unwrap_or(i32::MAX),
        max_attempts: i32::try_from(policy.attempts()).unwrap_or(i32::MAX),
        next_attempt_time: gate.next_attempt().filter(|_| !in_flight).map(Time),
        last_failure: Some(failure(newest)),
        last_failed_record: newest.metadata.name.clone(),
    })
}

/// `next attempt at 2027-01-15T08:00:30Z`.
pub fn next_attempt_text(gate: &Gate) -> String {
    match gate.next_attempt() {
        Some(at) => format!("next attempt at {}", when(at)),
        None => "next attempt now".into(),
    }
}

/// `attempt 2 of 5 failed (deployment record …: …); next attempt at …`.
pub fn scheduled_message(streak: &[&DeploymentRecord], gate: &Gate, policy: &DeployRetryPolicy) -> String {
    let last = streak.first().map(|r| failure(r)).unwrap_or_default();
    format!(
        "attempt {} of {} failed ({last}); {}",
        streak.len(),
        policy.attempts(),
        next_attempt_text(gate)
    )
}

/// The Stalled message once every attempt failed: what failed and how to start again.
pub fn exhausted_message(
    streak: &[&DeploymentRecord],
    policy: &DeployRetryPolicy,
    artifact: &str,
    generation: Option<i64>,
) -> String {
    let last = streak.first().map(|r| failure(r)).unwrap_or_default();
    let at = generation
        .map(|g| format!(" at generation {g}"))
        .unwrap_or_default();
    format!(
        "attempt {n} of {n} failed ({last}); no further attempt for artifact {artifact}{at}: fix the \
         cause, then change the lane's spec or spec.artifactRef to start again",
        n = policy.attempts()
    )
}

/// `(attempt 3 of 5; 2 failed before)` for an attempt in flight after failures.
pub fn in_flight_note(streak: &[&DeploymentRecord], policy: &DeployRetryPolicy) -> Option<String> {
    (!streak.is_empty()).then(|| {
        format!(
            "attempt {} of {}; {} failed before",
            streak.len() + 1,
            policy.attempts(),
            streak.len()
        )
    })
}

//! Stage 5 of [`plan`](super::plan): the lane's status. Its conditions (from the aspects and
//! the progress), the inventory and release tuple, the identity expected and observed, every
//! mismatch, the retry streak and the last record.
//!
//! What the records no longer show (pruned, or a status restored from elsewhere) is kept from
//! the previous status rather than forgotten.

use super::aspects::Aspects;
use super::blocker::Blockers;
use super::history::History;
use super::next_step::Pace;
use super::resolve::Resolved;
use super::retry;
use super::{name_of, old_conditions};
use crate::Outcome;
use crate::deployment_record as record;
use crate::deployment_record::DeployRetryPolicy;
use jiff::Timestamp;
use launchplane_api::conditions::{self, Progress};
use launchplane_api::identity::release_tuple_id;
use launchplane_api::resources::{DeploymentRecord, DesiredArtifact, Lane, LaneStatus};
use launchplane_api::verdict::FieldMismatch;

/// What the status stage takes.
pub(super) struct Inputs<'a> {
    pub lane: &'a Lane,
    /// The lane's records, all of them.
    pub records: &'a [DeploymentRecord],
    pub resolved: &'a Resolved<'a>,
    pub history: &'a History<'a>,
    pub aspects: &'a Aspects,
    pub pace: Pace,
    pub policy: &'a DeployRetryPolicy,
    pub now: Timestamp,
}

/// The status to write, and the condition transitions worth an Event.
pub(super) fn compute(input: Inputs<'_>) -> Outcome<LaneStatus> {
    let Inputs {
        lane,
        records,
        resolved,
        history,
        aspects,
        pace,
        policy,
        now,
    } = input;
    let old = lane.status.as_ref();
    let progress = progress(pace, &resolved.blockers);
    let computed = conditions::compute(
        old_conditions(lane),
        &aspects.list,
        &progress,
        lane.metadata.generation,
        now,
    );
    let child = aspects.child.as_ref();
    let status = LaneStatus {
        observed_generation: lane.metadata.generation,
        desired: resolved.desired.as_ref().map(|artifact| DesiredArtifact {
            artifact: artifact.clone(),
            promotion: None,
        }),
        hold: None,
        verdict: Some(computed.verdict),
        conditions: computed.conditions,
        inventory: history.inventory.clone(),
        release_tuple: release_tuple(lane, resolved.product_name.as_deref(), history),
        expected_identity: child.map(|c| c.spec.expected.clone()),
        observed_identity: child
            .and_then(|c| c.status.as_ref())
            .and_then(|s| s.observed.clone()),
        mismatches: mismatches(resolved, aspects),
        last_deployment_record: last_record(records)
            .or_else(|| old.and_then(|o| o.last_deployment_record.clone())),
        deploy_retry: retry::status(&history.streak, &history.gate, policy, history.active.is_some()),
    };
    Outcome {
        status,
        transitions: computed.transitions,
    }
}

/// Reconciling while something is under way; else Stalled on the first blocker that needs
/// the user, or on exhausted retries; else Settled.
fn progress(pace: Pace, blockers: &Blockers) -> Progress {
    match (pace, blockers.stall()) {
        (Pace::Reconciling { reason, message }, _) => Progress::Reconciling { reason, message },
        (_, Some(b)) => Progress::Stalled {
            reason: b.reason.to_string(),
            message: b.message.clone(),
        },
        (Pace::RetriesExhausted(message), None) => Progress::Stalled {
            reason: retry::RETRIES_EXHAUSTED.to_string(),
            message,
        },
        (Pace::Idle, None) => Progress::Settled,
    }
}

/// The release tuple of the inventory: as its record names it, else built from the product,
/// stage and artifact; else the one the status already holds.
fn release_tuple(lane: &Lane, product: Option<&str>, history: &History<'_>) -> Option<String> {
    history
        .inventory_record
        .and_then(|r| {
            r.spec.expected_identity.release_tuple_id.clone().or_else(|| {
                Some(release_tuple_id(
                    product?,
                    &lane.spec.stage,
                    &r.spec.artifact_ref.name,
                ))
            })
        })
        .or_else(|| lane.status.as_ref().and_then(|o| o.release_tuple.clone()))
}

/// Every mismatch, in order: the target's (its own, then the claim's), the drift, the
/// identity's.
fn mismatches(resolved: &Resolved<'_>, aspects: &Aspects) -> Vec<FieldMismatch> {
    resolved
        .target_check
        .mismatches
        .iter()
        .chain(aspects.drift.iter().flatten())
        .chain(&aspects.identity_mismatches)
        .cloned()
        .collect()
}

/// The record the lane acted on last: one in flight, else the one finished last.
fn last_record(records: &[DeploymentRecord]) -> Option<String> {
    records
        .iter()
        .max_by_key(|r| {
            (
                !record::is_terminal(record::phase(r)),
                record::finished_at(r),
                record::attempt(r).unwrap_or(0),
            )
        })
        .map(|r| name_of(&r.metadata))
}

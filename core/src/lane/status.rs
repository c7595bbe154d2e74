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
use crate::promotion::Feed;
use jiff::Timestamp;
use launchplane_api::conditions::{self, Progress};
use launchplane_api::identity::release_tuple_id;
use launchplane_api::resources::{DeploymentRecord, Lane, LaneInventory, LaneStatus};
use launchplane_api::verdict::FieldMismatch;

/// What the status stage takes.
pub(super) struct Inputs<'a> {
    pub lane: &'a Lane,
    /// What the lane should run and who set it; its hold.
    pub feed: &'a Feed,
    /// The lane's records, all of them.
    pub records: &'a [DeploymentRecord],
    pub resolved: &'a Resolved<'a>,
    pub history: &'a History<'a>,
    pub aspects: &'a Aspects,
    pub pace: Pace,
    pub policy: &'a DeployRetryPolicy,
    pub bootstraps: &'a [&'a launchplane_api::resources::DataBootstrap],
    pub now: Timestamp,
}

/// The status to write, and the condition transitions worth an Event.
pub(super) fn compute(input: Inputs<'_>) -> Outcome<LaneStatus> {
    let Inputs {
        lane,
        feed,
        records,
        resolved,
        history,
        aspects,
        pace,
        policy,
        bootstraps,
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
        desired: feed.desired.clone(),
        hold: feed.hold.clone(),
        verdict: Some(computed.verdict),
        conditions: computed.conditions,
        inventory: inventory(old, feed, history),
        release_tuple: release_tuple(lane, resolved.product_name.as_deref(), history),
        expected_identity: child.map(|c| c.spec.expected.clone()),
        observed_identity: child
            .and_then(|c| c.status.as_ref())
            .and_then(|s| s.observed.clone()),
        mismatches: mismatches(resolved, aspects),
        rollback_candidates: rollback_candidates(old, history),
        last_deployment_record: last_record(records)
            .or_else(|| old.and_then(|o| o.last_deployment_record.clone())),
        deploy_retry: retry::status(&history.streak, &history.gate, policy, history.active.is_some()),
        // A DataBootstrap's provenance, never a deploy's: its own summary, which never moves
        // the inventory.
        bootstrap: bootstrap_summary(lane, bootstraps),
        // The driver's checks: filled by `plan` from what was observed now.
        verification: None,
    };
    Outcome {
        status,
        transitions: computed.transitions,
    }
}

/// The lane's `bootstrap` summary; absent while no DataBootstrap ever touched the lane (as
/// before DataBootstraps existed).
fn bootstrap_summary(
    lane: &Lane,
    bootstraps: &[&launchplane_api::resources::DataBootstrap],
) -> Option<launchplane_api::resources::LaneBootstrap> {
    let summary = crate::bootstrap::lane_summary(lane, bootstraps);
    let had = lane.status.as_ref().is_some_and(|s| s.bootstrap.is_some());
    (had || summary.last.is_some()).then_some(summary)
}

/// The inventory, with the BackupGate that authorized the Promotion that put it there: the
/// feed's when that Promotion set the desired artifact, else as the status already said.
fn inventory(old: Option<&LaneStatus>, feed: &Feed, history: &History<'_>) -> Option<LaneInventory> {
    let mut inventory = history.inventory.clone()?;
    let promotion = inventory.promotion.as_deref();
    let fed_by = feed.desired.as_ref().and_then(|d| d.promotion.as_deref());
    inventory.backup_gate = if promotion.is_some() && promotion == fed_by {
        feed.backup_gate.clone()
    } else {
        old.and_then(|o| o.inventory.as_ref())
            .filter(|i| i.promotion.as_deref() == promotion && i.artifact == inventory.artifact)
            .and_then(|i| i.backup_gate.clone())
    };
    Some(inventory)
}

/// The rollback candidates the records show; the status's when no record shows any (pruned
/// by hand, or a state folder started afresh).
fn rollback_candidates(old: Option<&LaneStatus>, history: &History<'_>) -> Vec<String> {
    if history.candidates.is_empty() {
        return old.map(|o| o.rollback_candidates.clone()).unwrap_or_default();
    }
    history.candidates.iter().map(|(a, _)| a.clone()).collect()
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

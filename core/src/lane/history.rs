//! Stage 2 of [`plan`](super::plan): read the lane's deployment records. Which are this
//! controller's and which are evidence written by others, which attempt is in flight, which
//! record the inventory stands on, the failed attempts in a row for the desired state, and
//! the record the target is compared with.
//!
//! Everything a restart needs is read from the records (and, for the inventory, the previous
//! status), never from memory: the plan resumes from here after any stop.

use super::name_of;
use super::retry;
use crate::deployment_record as record;
use crate::deployment_record::DeployRetryPolicy;
use crate::promotion::Feed;
use launchplane_api::resources::{DeploymentPhase, DeploymentRecord, Lane, LaneInventory};
use std::collections::BTreeSet;

/// What the lane's records say.
pub(super) struct History<'a> {
    /// The records this controller wrote, oldest attempt first.
    pub controller: Vec<&'a DeploymentRecord>,
    /// The highest attempt number written so far (0: none).
    pub max_attempt: u32,
    /// The newest controller record still in flight.
    pub active: Option<&'a DeploymentRecord>,
    /// The record written by someone else to verify next (the first by name still in flight).
    pub evidence: Option<&'a DeploymentRecord>,
    /// The most recently verified record, the one the inventory stands on.
    pub inventory_record: Option<&'a DeploymentRecord>,
    /// The lane's inventory: the inventory record's, else the one its status already holds.
    pub inventory: Option<LaneInventory>,
    /// The newest controller record.
    pub latest: Option<&'a DeploymentRecord>,
    /// The record the target is compared with: the one in flight, else the inventory's.
    pub reference: Option<&'a DeploymentRecord>,
    /// The failed attempts in a row for the desired state, newest first ([`retry::streak`]).
    pub streak: Vec<&'a DeploymentRecord>,
    /// Whether a new attempt may be made, as the streak sets it.
    pub gate: retry::Gate,
    /// The artifacts a rollback may return to, newest first, each with the newest Succeeded
    /// record of it ([`rollback_candidates`]).
    pub candidates: Vec<(String, &'a DeploymentRecord)>,
}

impl History<'_> {
    /// The post-deploy schedules the lane's records name, newest first: what makes a marked
    /// schedule the lane's ([`crate::schedule::choose`]).
    pub fn post_deploy_schedules(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for r in self.controller.iter().rev() {
            let id = r
                .status
                .as_ref()
                .and_then(|s| s.post_deploy_command.as_ref())
                .and_then(|run| run.schedule_id.clone());
            if let Some(id) = id
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
        ids
    }

    /// The Artifact the inventory runs.
    pub fn current_artifact(&self) -> Option<&str> {
        self.inventory.as_ref().map(|i| i.artifact.as_str())
    }

    /// Controller records beyond `limit` (newest kept), never the inventory's, one in flight,
    /// a failed attempt of the current streak (they are what the retry count is read from), or
    /// the record of a rollback candidate (a rollback needs it as proof the lane ran it).
    pub fn prunable(&self, limit: i32) -> Vec<String> {
        let keep = usize::try_from(limit.max(1)).unwrap_or(1);
        let protected: BTreeSet<String> = self
            .inventory_record
            .into_iter()
            .chain(self.active)
            .chain(self.streak.iter().copied())
            .chain(self.candidates.iter().map(|(_, r)| *r))
            .map(|r| name_of(&r.metadata))
            .collect();
        self.controller
            .iter()
            .rev()
            .skip(keep)
            .map(|r| name_of(&r.metadata))
            .filter(|n| !protected.contains(n))
            .collect()
    }
}

/// Read `records` (the lane's) for `lane`, whose desired Artifact is `desired` (set by the
/// Promotion `feed` names, if one did); failed attempts are gated by `policy`.
pub(super) fn read<'a>(
    records: &'a [DeploymentRecord],
    lane: &Lane,
    desired: Option<&str>,
    feed: &Feed,
    policy: &DeployRetryPolicy,
) -> History<'a> {
    let mut controller: Vec<&DeploymentRecord> = records.iter().filter(|r| !record::is_evidence(r)).collect();
    controller.sort_by_key(|r| record::attempt(r).unwrap_or(0));
    let max_attempt = controller
        .iter()
        .filter_map(|r| record::attempt(r))
        .max()
        .unwrap_or(0);
    let active = controller
        .iter()
        .rev()
        .find(|r| !record::is_terminal(record::phase(r)))
        .copied();
    let evidence = records
        .iter()
        .filter(|r| record::is_evidence(r) && !record::is_terminal(record::phase(r)))
        .min_by_key(|r| r.metadata.name.as_deref().unwrap_or_default());
    let inventory_record = records
        .iter()
        .filter(|r| record::phase(r) == DeploymentPhase::Succeeded)
        .max_by_key(|r| {
            (
                record::finished_at(r),
                record::attempt(r).unwrap_or(0),
                r.metadata.name.as_deref().unwrap_or_default(),
            )
        });
    let inventory = inventory_record
        .map(inventory_of)
        .or_else(|| lane.status.as_ref().and_then(|s| s.inventory.clone()));
    let promotion = feed.desired.as_ref().and_then(|d| d.promotion.as_deref());
    let streak = retry::streak(
        &controller,
        desired,
        promotion,
        lane.metadata.generation,
        inventory_record,
    );
    let candidates = rollback_candidates(records, candidates_wanted(lane));
    let gate = retry::gate(&streak, policy);
    History {
        max_attempt,
        active,
        evidence,
        inventory_record,
        inventory,
        latest: controller.last().copied(),
        reference: active.or(inventory_record),
        streak,
        gate,
        controller,
        candidates,
    }
}

/// How many rollback candidates the lane keeps: `promotion.rollbackCandidates`, else 3.
pub(super) fn candidates_wanted(lane: &Lane) -> usize {
    let n = lane.spec.promotion.as_ref().map_or(3, |p| p.rollback_candidates);
    usize::try_from(n.max(1)).unwrap_or(1)
}

/// The last `n` distinct artifacts with a Succeeded record, newest first, each with its
/// newest Succeeded record.
pub fn rollback_candidates(records: &[DeploymentRecord], n: usize) -> Vec<(String, &DeploymentRecord)> {
    let mut succeeded: Vec<&DeploymentRecord> = records
        .iter()
        .filter(|r| record::phase(r) == DeploymentPhase::Succeeded)
        .collect();
    succeeded.sort_by_key(|r| {
        std::cmp::Reverse((
            record::finished_at(r),
            record::attempt(r).unwrap_or(0),
            r.metadata.name.clone(),
        ))
    });
    let mut out: Vec<(String, &DeploymentRecord)> = Vec::new();
    for r in succeeded {
        if out.len() >= n {
            break;
        }
        if !out.iter().any(|(a, _)| *a == r.spec.artifact_ref.name) {
            out.push((r.spec.artifact_ref.name.clone(), r));
        }
    }
    out
}

/// The inventory a verified record stands for.
fn inventory_of(r: &DeploymentRecord) -> LaneInventory {
    LaneInventory {
        artifact: r.spec.artifact_ref.name.clone(),
        source_ref: r.spec.expected_identity.source_git_ref.clone(),
        image: r.spec.expected_identity.image_reference.clone(),
        deployment_record: Some(name_of(&r.metadata)),
        promotion: r.spec.promotion_ref.as_ref().map(|p| p.name.clone()),
        backup_gate: None,
        since: r
            .status
            .as_ref()
            .and_then(|s| s.verification.as_ref())
            .and_then(|v| v.finished_at.clone()),
    }
}

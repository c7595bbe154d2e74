//! A lane's history: what ran in it, from when to when, by which DeploymentRecord and which
//! Promotion, read from its records alone.
//!
//! Every Succeeded record opens a *period* at its verified time ([`record::finished_at`]); the
//! period lasts until the next Succeeded record's verified time, or is still open. Records are
//! ordered exactly as the lane picks the record its inventory stands on (verified time, then
//! attempt, then name), so the open period is always the lane's inventory record. Records that
//! never ran (Failed, or still in flight) are listed apart, as *attempts*.
//!
//! A lane keeps only `spec.historyLimit` records (beyond those it must keep): older controller
//! records are pruned, and with them the periods they opened. Pruning shows as missing attempt
//! numbers (the controller numbers its attempts 1, 2, 3, … and makes one at a time), so the
//! history knows from when on it is whole, and an instant before that is
//! [`At::Unknown`], never "nothing ran".

use crate::deployment_record as record;
use jiff::Timestamp;
use launchplane_api::conditions::{self, types};
use launchplane_api::resources::{DeploymentOrigin, DeploymentPhase, DeploymentRecord};
use serde::Serialize;
use std::collections::BTreeSet;

/// The history of one lane.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LaneHistory {
    /// What ran, oldest first. Consecutive: each period ends where the next begins.
    pub periods: Vec<Period>,
    /// Attempts that never ran (Failed, or still in flight), oldest first.
    pub attempts: Vec<Attempt>,
    /// Set when some of the lane's controller records are gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pruned: Option<Pruned>,
}

/// One artifact running in the lane, from one verified record to the next.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    /// When the record was verified.
    pub from: Timestamp,
    /// When the next record was verified; absent while it still runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Timestamp>,
    pub artifact: String,
    /// The image reference the record expected (`repository@sha256:…`), when it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The DeploymentRecord.
    pub record: String,
    /// The Promotion the record carried out, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promotion: Option<String>,
    /// `Controller` when this controller deployed it, `External` for evidence.
    pub origin: DeploymentOrigin,
}

/// A record that never ran.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// When the attempt began (the earliest time the record holds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<Timestamp>,
    /// When it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended: Option<Timestamp>,
    pub artifact: String,
    pub record: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promotion: Option<String>,
    pub origin: DeploymentOrigin,
    /// `Failed`, `Pending`, `Deploying` or `Verifying`; `Succeeded` for a record that holds no
    /// time, so it cannot be placed among the periods.
    pub phase: DeploymentPhase,
    /// What the record says happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Controller records that are gone (pruned by `spec.historyLimit`, or deleted by hand).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pruned {
    /// The attempt numbers missing.
    pub attempts: Vec<u32>,
    /// Over which instants the periods are whole all the same.
    pub whole: Whole,
}

/// Over which instants a history's periods are whole: no record that is gone could have run
/// then.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Whole {
    /// Every instant: the records that are gone can only have been attempts that never ran.
    Always,
    /// From this instant on.
    Since(Timestamp),
    /// No instant: no record that is kept bounds when the ones that are gone ran.
    Never,
}

/// What ran at one instant.
#[derive(Clone, Debug, PartialEq)]
pub enum At<'a> {
    /// This period covers the instant.
    Ran(&'a Period),
    /// No record says anything ran then; `first` is the first verified record's time, if any.
    NothingRan { first: Option<Timestamp> },
    /// The records that would say are gone; the history is whole from `whole_since` (absent:
    /// at no instant).
    Unknown { whole_since: Option<Timestamp> },
}

/// Whether `record` belongs to `lane`: the lane label the controller writes, or `spec.laneRef`
/// (how evidence names its lane), as both shells' record stores list them.
pub fn names_lane(record: &DeploymentRecord, lane: &str) -> bool {
    let labelled = record
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(record::LANE_LABEL))
        .is_some_and(|l| l == lane);
    labelled || record.spec.lane_ref.as_ref().is_some_and(|l| l.name == lane)
}

/// The history of a lane from its records (the lane's own, in any order).
pub fn history(records: &[DeploymentRecord]) -> LaneHistory {
    let mut succeeded: Vec<(Timestamp, &DeploymentRecord)> = Vec::new();
    let mut attempts: Vec<Attempt> = Vec::new();
    for r in records {
        match (record::phase(r), record::finished_at(r)) {
            (DeploymentPhase::Succeeded, Some(at)) => succeeded.push((at, r)),
            (phase, _) => attempts.push(attempt(r, phase)),
        }
    }
    // The lane's own order for its inventory record (`lane::history`): the last is the open one.
    succeeded.sort_by_key(|(at, r)| (*at, record::attempt(r).unwrap_or(0), name(r)));
    let mut periods: Vec<Period> = succeeded.iter().map(|(at, r)| period(*at, r)).collect();
    let starts: Vec<Timestamp> = periods.iter().skip(1).map(|p| p.from).collect();
    for (p, next) in periods.iter_mut().zip(starts) {
        p.to = Some(next);
    }
    attempts.sort_by(|a, b| (a.started, a.ended, &a.record).cmp(&(b.started, b.ended, &b.record)));
    let pruned = pruned(records, &periods);
    LaneHistory {
        periods,
        attempts,
        pruned,
    }
}

impl LaneHistory {
    /// What ran at `at`. Periods are half-open: at the instant a record was verified, its
    /// artifact runs, not the one before.
    pub fn at(&self, at: Timestamp) -> At<'_> {
        match self.pruned.as_ref().map(|p| p.whole) {
            Some(Whole::Since(since)) if at < since => {
                return At::Unknown {
                    whole_since: Some(since),
                };
            }
            Some(Whole::Never) => return At::Unknown { whole_since: None },
            _ => {}
        }
        let covering = self
            .periods
            .iter()
            .find(|p| p.from <= at && p.to.is_none_or(|to| at < to));
        match covering {
            Some(p) => At::Ran(p),
            None => At::NothingRan {
                first: self.periods.first().map(|p| p.from),
            },
        }
    }

    /// The period still open: what the lane runs, as far as its records say.
    pub fn current(&self) -> Option<&Period> {
        self.periods.last().filter(|p| p.to.is_none())
    }
}

fn name(r: &DeploymentRecord) -> &str {
    r.metadata.name.as_deref().unwrap_or_default()
}

fn origin(r: &DeploymentRecord) -> DeploymentOrigin {
    if record::is_evidence(r) {
        DeploymentOrigin::External
    } else {
        DeploymentOrigin::Controller
    }
}

fn period(from: Timestamp, r: &DeploymentRecord) -> Period {
    Period {
        from,
        to: None,
        artifact: r.spec.artifact_ref.name.clone(),
        image: r.spec.expected_identity.image_reference.clone(),
        record: name(r).to_string(),
        promotion: r.spec.promotion_ref.as_ref().map(|p| p.name.clone()),
        origin: origin(r),
    }
}

fn attempt(r: &DeploymentRecord, phase: DeploymentPhase) -> Attempt {
    let status = r.status.as_ref();
    let message = status
        .and_then(|s| {
            s.verification
                .as_ref()
                .and_then(|v| v.message.clone())
                .or_else(|| s.post_deploy.as_ref().and_then(|p| p.message.clone()))
                .or_else(|| conditions::find(&s.conditions, types::READY).map(|c| c.message.clone()))
        })
        .filter(|m| !m.is_empty());
    Attempt {
        started: earliest_time(r),
        ended: (phase == DeploymentPhase::Failed)
            .then(|| record::finished_at(r))
            .flatten(),
        artifact: r.spec.artifact_ref.name.clone(),
        record: name(r).to_string(),
        promotion: r.spec.promotion_ref.as_ref().map(|p| p.name.clone()),
        origin: origin(r),
        phase,
        message,
    }
}

/// The earliest time a record holds: when it was created, or failing that the first thing
/// written on it. Every time on a record is at or after its creation.
fn earliest_time(r: &DeploymentRecord) -> Option<Timestamp> {
    let created = r.metadata.creation_timestamp.as_ref().map(|t| t.0);
    let status = r.status.as_ref();
    let deploy = status.and_then(|s| s.deploy.as_ref());
    let steps = status
        .into_iter()
        .flat_map(|s| [&s.post_deploy, &s.verification, &s.bootstrap])
        .flatten();
    let step_times = steps.flat_map(|s| [&s.started_at, &s.finished_at]).flatten();
    let deploy_times = deploy
        .into_iter()
        .flat_map(|d| [&d.started_at, &d.finished_at])
        .flatten();
    let condition_times = status
        .into_iter()
        .flat_map(|s| s.conditions.iter().map(|c| &c.last_transition_time));
    created
        .into_iter()
        .chain(step_times.chain(deploy_times).chain(condition_times).map(|t| t.0))
        .min()
}

/// Which controller attempts are missing, and over which instants the periods are whole
/// without them.
///
/// The controller makes attempt n+1 only once attempt n has ended, so a missing attempt ended
/// before the first kept attempt above it began (`bound`), and after every kept attempt below
/// it ended. A missing attempt that Succeeded was not the newest success (the lane never
/// prunes its inventory record), so its period would lie between two kept ones. It cannot lie
/// inside a period a kept controller record opened: a record older than a pruned one is kept
/// only as the inventory record, and a later success would have replaced it as that. What is
/// left: before the first kept period (unless that is a controller attempt older than every
/// missing one), and inside a period opened by evidence (never pruned) before `bound`.
fn pruned(records: &[DeploymentRecord], periods: &[Period]) -> Option<Pruned> {
    let controller: Vec<(u32, &DeploymentRecord)> = records
        .iter()
        .filter(|r| !record::is_evidence(r))
        .filter_map(|r| Some((record::attempt(r)?, r)))
        .collect();
    let kept: BTreeSet<u32> = controller.iter().map(|(n, _)| *n).collect();
    let max = kept.last().copied()?;
    let missing: Vec<u32> = (1..max).filter(|n| !kept.contains(n)).collect();
    let (Some(&lowest), Some(&highest)) = (missing.first(), missing.last()) else {
        return None;
    };
    let mut whole = Whole::Always;
    if let Some(first) = periods.first() {
        let first_attempt = controller
            .iter()
            .find(|(_, r)| name(r) == first.record)
            .map(|(n, _)| *n);
        if first_attempt.is_none_or(|a| a > lowest) {
            whole = Whole::Since(first.from);
        }
        let bound = controller
            .iter()
            .filter(|(n, _)| *n > highest)
            .min_by_key(|(n, _)| *n)
            .and_then(|(_, r)| earliest_time(r));
        let evidence_before_bound = periods
            .iter()
            .any(|p| p.origin == DeploymentOrigin::External && bound.is_none_or(|b| p.from < b));
        if evidence_before_bound {
            whole = match (whole, bound) {
                (_, None) | (Whole::Never, _) => Whole::Never,
                (Whole::Always, Some(b)) => Whole::Since(b),
                (Whole::Since(s), Some(b)) => Whole::Since(s.max(b)),
            };
        }
    }
    Some(Pruned {
        attempts: missing,
        whole,
    })
}

#[cfg(test)]
mod tests;

//! Which artifact a lane should run, and who set it.
//!
//! A lane without `spec.promotion` runs its `spec.artifactRef`. A lane with it is fed by its
//! Promotions, never by a field of its own spec, so a sync from git cannot undo a promotion:
//!
//! 1. the artifact of its Promotion in phase Deploying (one at a time, see [`super::plan`]);
//! 2. else the artifact of its latest Succeeded Promotion (by completion time);
//! 3. else nothing: the lane only observes.
//!
//! A Failed Promotion feeds nothing, so the lane goes back to what its last Succeeded one set,
//! which is what its inventory still holds: nothing is redeployed. A Succeeded rollback (a
//! Promotion without `fromLane`) holds the lane until a later Promotion a person made
//! succeeds; automatic promotions are refused while it holds ([`super::gates::hold`]).

use super::{is_auto, is_rollback, phase};
use launchplane_api::resources::{DesiredArtifact, Lane, LaneHold, Promotion, PromotionPhase};

/// What a lane's Promotions (or its spec) make it want.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Feed {
    /// The artifact the lane should run, and the Promotion that set it (`None`: it observes).
    pub desired: Option<DesiredArtifact>,
    /// The desired artifact is a Promotion's in flight (Deploying): deployed once, never retried
    /// by the lane (a failure fails the Promotion).
    pub in_flight: bool,
    /// The rollback holding the lane, if one does.
    pub hold: Option<LaneHold>,
    /// The BackupGate that authorized the Promotion named in `desired`, if one did.
    pub backup_gate: Option<String>,
}

/// The Promotions into `lane` (same namespace, `spec.toLane` its name).
pub fn into_lane<'a>(lane: &Lane, promotions: &[&'a Promotion]) -> Vec<&'a Promotion> {
    let name = lane.metadata.name.as_deref().unwrap_or_default();
    promotions
        .iter()
        .copied()
        .filter(|p| p.metadata.namespace == lane.metadata.namespace && p.spec.to_lane == name)
        .collect()
}

/// When a Succeeded Promotion completed (`None` sorts first).
fn completed(p: &Promotion) -> Option<jiff::Timestamp> {
    p.status.as_ref()?.completion_time.as_ref().map(|t| t.0)
}

fn artifact_of(p: &Promotion) -> Option<&str> {
    p.status.as_ref()?.artifact.as_deref()
}

fn name_of(p: &Promotion) -> String {
    p.metadata.name.clone().unwrap_or_default()
}

fn set_by(p: &Promotion, artifact: &str) -> DesiredArtifact {
    DesiredArtifact {
        artifact: artifact.to_string(),
        promotion: Some(name_of(p)),
    }
}

/// What `lane` should run, from its spec or the namespace's `promotions`.
pub fn feed(lane: &Lane, promotions: &[&Promotion]) -> Feed {
    if lane.spec.promotion.is_none() {
        return Feed {
            desired: lane.spec.artifact_ref.as_ref().map(|r| DesiredArtifact {
                artifact: r.name.clone(),
                promotion: None,
            }),
            ..Feed::default()
        };
    }
    let mine = into_lane(lane, promotions);
    let mut succeeded: Vec<&Promotion> = mine
        .iter()
        .copied()
        .filter(|p| phase(p) == PromotionPhase::Succeeded && artifact_of(p).is_some())
        .collect();
    succeeded.sort_by_key(|p| (completed(p), name_of(p)));
    let hold = succeeded.iter().fold(None, |hold, p| {
        if is_rollback(p) {
            Some(LaneHold {
                promotion: name_of(p),
                artifact: artifact_of(p).unwrap_or_default().to_string(),
                since: p.status.as_ref().and_then(|s| s.completion_time.clone()),
            })
        } else if is_auto(p) {
            hold
        } else {
            None
        }
    });
    let deploying = mine
        .iter()
        .copied()
        .filter(|p| phase(p) == PromotionPhase::Deploying)
        .filter_map(|p| Some((p, artifact_of(p)?)))
        .min_by_key(|(p, _)| {
            (
                p.status.as_ref().and_then(|s| s.start_time.as_ref()).map(|t| t.0),
                name_of(p),
            )
        });
    let (source, in_flight) = match deploying {
        Some((p, _)) => (Some(p), true),
        None => (succeeded.last().copied(), false),
    };
    Feed {
        desired: source.and_then(|p| Some(set_by(p, artifact_of(p)?))),
        in_flight,
        hold,
        backup_gate: source.and_then(|p| p.status.as_ref()?.backup_gate.clone()),
    }
}

//! What a bootstrap's outcome does to its lane: the four inventory rules, as a table. A
//! bootstrap never moves the lane's `inventory` (nor its `lastDeploymentRecord` or release
//! tuple) and never writes a DeploymentRecord: it is not a deploy, and claims no artifact. It
//! moves only the lane's `bootstrap` summary, which names the DataBootstrap itself.
//!
//! | outcome | lane `bootstrap.state` | `last` | `inventoryStale` | inventory |
//! |---|---|---|---|---|
//! | `Bootstrapped` (bootstrap, post-deploy and checks passed) | `Bootstrapped` | this one | false | kept |
//! | `VerificationFailed` (bootstrapped; post-deploy or a check did not pass) | `VerificationFailed` | this one | false | kept |
//! | `NotStarted` (failed before any mutation) | as it was | as it was | as it was | kept |
//! | `Unknown` (running, or its answer lost while the schedule may still run) | `Unknown` | this one | true | kept |
//! | `Failed` (the command ran and failed) | `Failed` | this one | false | kept |
//!
//! The summary follows the lane's newest DataBootstrap that touched it (by start time, then
//! name); when that one is deleted, the lane's status keeps what it said, so a lane that was
//! bootstrapped never reads as fresh again.

use super::{name_of, of_lane, outcome, started_at};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::resources::{BootstrapOutcome, DataBootstrap, Lane, LaneBootstrap, LaneBootstrapState};

/// What an outcome does to the lane's `bootstrap` summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaneEffect {
    /// The summary's new state; None: nothing moves.
    pub state: Option<LaneBootstrapState>,
    /// Whether the lane's inventory no longer speaks for its data.
    pub inventory_stale: bool,
}

/// The table above.
pub fn lane_effect(outcome: BootstrapOutcome) -> LaneEffect {
    let moves = |state, inventory_stale| LaneEffect {
        state: Some(state),
        inventory_stale,
    };
    match outcome {
        BootstrapOutcome::Bootstrapped => moves(LaneBootstrapState::Bootstrapped, false),
        BootstrapOutcome::VerificationFailed => moves(LaneBootstrapState::VerificationFailed, false),
        BootstrapOutcome::NotStarted => LaneEffect {
            state: None,
            inventory_stale: false,
        },
        BootstrapOutcome::Unknown => moves(LaneBootstrapState::Unknown, true),
        BootstrapOutcome::Failed => moves(LaneBootstrapState::Failed, false),
    }
}

fn explain(state: LaneBootstrapState, name: &str) -> String {
    match state {
        LaneBootstrapState::None => "never bootstrapped".into(),
        LaneBootstrapState::Bootstrapped => {
            format!("bootstrapped by DataBootstrap {name}, post-deployed and verified")
        }
        LaneBootstrapState::VerificationFailed => format!(
            "partially bootstrapped by DataBootstrap {name}: its post-deploy or a check did not pass; the inventory \
             still names the last deploy"
        ),
        LaneBootstrapState::Failed => format!(
            "DataBootstrap {name}'s command ran and failed: the data may be partly replaced; the inventory still names \
             the last deploy"
        ),
        LaneBootstrapState::Unknown => format!(
            "DataBootstrap {name} runs or its answer was lost: the inventory does not speak for the data until the \
             schedule's history settles it"
        ),
    }
}

/// The lane's `bootstrap` summary, from its DataBootstraps and what its status said.
pub fn lane_summary(lane: &Lane, bootstraps: &[&DataBootstrap]) -> LaneBootstrap {
    let name = lane.metadata.name.as_deref().unwrap_or_default();
    let old = lane.status.as_ref().and_then(|s| s.bootstrap.clone());
    let newest = bootstraps
        .iter()
        .filter(|b| of_lane(b, lane.metadata.namespace.as_deref(), name))
        .filter_map(|b| {
            let effect = lane_effect(outcome(b)?);
            Some((started_at(b)?, name_of(b), effect))
        })
        .filter(|(_, _, effect)| effect.state.is_some())
        .max_by(|a, c| (a.0, &a.1).cmp(&(c.0, &c.1)));
    let fresh = |(since, last, effect): (jiff::Timestamp, String, LaneEffect)| {
        let state = effect.state.unwrap_or_default();
        LaneBootstrap {
            state,
            message: Some(explain(state, &last)),
            last: Some(last),
            since: Some(Time(since)),
            inventory_stale: effect.inventory_stale,
        }
    };
    match (newest, old) {
        (Some(n), Some(o)) => {
            let old_since = o.since.as_ref().map(|t| t.0);
            if o.last.as_deref() == Some(n.1.as_str()) || old_since.is_none_or(|t| t <= n.0) {
                fresh(n)
            } else {
                o
            }
        }
        (Some(n), None) => fresh(n),
        (None, Some(o)) => o,
        (None, None) => LaneBootstrap {
            state: LaneBootstrapState::None,
            message: Some(explain(LaneBootstrapState::None, "")),
            ..Default::default()
        },
    }
}

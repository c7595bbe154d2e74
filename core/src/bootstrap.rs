//! DataBootstrap: one destructive load of data into a lane, then post-deploy, then the
//! checks. One operation per object: the spec is immutable, each step is sent once (its intent
//! recorded first), and a DataBootstrap that finished never runs again.
//!
//! ```text
//!  DataBootstrap ─► admission (confirmation, command, lane, one at a time, no deploy in
//!                   flight, a usable BackupGate unless the lane was never bootstrapped)
//!                     Block ─► Blocked (Stalled)      Wait ─► Pending
//!               ─► Bootstrapping: intent recorded ─► RunBootstrap (once)
//!                     answer lost / restart ─► Unknown ─► Settle from the schedule's history
//!               ─► PostDeploying: intent recorded ─► RunPostDeploy (once)   (same settling)
//!               ─► Verifying: Verify until every required check passes or the window ends
//!               ─► Succeeded | Failed (final)
//! ```
//!
//! A shell reconciles a DataBootstrap so: [`plan`]; write the status (for `RunBootstrap` and
//! `RunPostDeploy` that write is the intent, and must land before the run is sent); perform
//! the step; [`record`] what it answered onto the object's status; [`plan`] again and write.
//! It performs each step at most once per reconcile (`Settle` and `Verify` come back until
//! settled or passed: the shell looks again after [`RECHECK`]).
//!
//! - [`admission`]: whether a DataBootstrap may start, and which BackupGate it takes;
//! - [`record`](mod@record): a run's answer, the schedule's history, the checks → the status;
//! - [`inventory`]: what each outcome does to the lane (the four inventory rules) and the
//!   lane's `bootstrap` summary. A bootstrap never moves a lane's inventory and never writes a
//!   DeploymentRecord: its provenance is its own.

pub mod admission;
pub mod evidence;
pub mod inventory;
mod plan;
pub mod record;
pub mod target;

pub use admission::{Admission, admit, never_bootstrapped};
pub use inventory::{LaneEffect, lane_effect, lane_summary};
pub use plan::{BootstrapInputs, BootstrapPlan, Step, plan};
pub use record::{Event, History, RunAnswer, RunStage, ScheduleRun, ScheduleRunStatus, Verification, record};

use jiff::{SignedDuration, Timestamp};
use launchplane_api::resources::{BootstrapOutcome, BootstrapPhase, DataBootstrap};

/// How soon a shell looks again at a run whose answer was lost, or at checks that have not
/// all passed yet.
pub const RECHECK: SignedDuration = SignedDuration::from_secs(30);
/// How long the checks may take to pass after post-deploy ended (an Odoo restarts its
/// workers after a module update).
pub const VERIFY_WINDOW: SignedDuration = SignedDuration::from_mins(10);
/// How long after a run was sent an empty history proves that it never started: Dokploy
/// records a schedule run as soon as it starts it, and the client's deadline is far shorter.
pub const NOT_STARTED_GRACE: SignedDuration = SignedDuration::from_mins(10);
/// How far Dokploy's clock may be behind ours when a run in its history is matched with the
/// time the run was sent.
pub const CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// The DataBootstrap's phase (Pending before its first status).
pub fn phase(b: &DataBootstrap) -> BootstrapPhase {
    b.status.as_ref().and_then(|s| s.phase).unwrap_or_default()
}

/// Its name (empty when it has none).
pub fn name_of(b: &DataBootstrap) -> String {
    b.metadata.name.clone().unwrap_or_default()
}

/// What it did to its lane so far (None before it started).
pub fn outcome(b: &DataBootstrap) -> Option<BootstrapOutcome> {
    b.status.as_ref().and_then(|s| s.outcome)
}

/// When its bootstrap run was admitted and its intent recorded.
pub fn started_at(b: &DataBootstrap) -> Option<Timestamp> {
    b.status
        .as_ref()
        .filter(|s| s.bootstrap_run.is_some())
        .and_then(|s| s.start_time.as_ref())
        .map(|t| t.0)
}

/// The bootstrap command was (or may have been) sent: the lane's data may have changed.
pub fn touched_lane(b: &DataBootstrap) -> bool {
    b.status.as_ref().is_some_and(|s| s.bootstrap_run.is_some())
        && outcome(b) != Some(BootstrapOutcome::NotStarted)
}

/// Of `lane` in `namespace`.
fn of_lane(b: &DataBootstrap, namespace: Option<&str>, lane: &str) -> bool {
    b.metadata.namespace.as_deref() == namespace && b.spec.lane_ref.name == lane
}

#[cfg(test)]
mod tests;

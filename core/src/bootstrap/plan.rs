//! The phase machine: from the DataBootstrap's status (and, before it starts, admission), the
//! status to write and the one next step.
//!
//! | status so far | next step |
//! |---|---|
//! | final (Succeeded, Failed) | `Done`: never runs again |
//! | no bootstrap run, admission Block / Wait | `Wait` (Blocked until woken / Pending, looked at again) |
//! | no bootstrap run, admitted | `RunBootstrap` (status carries the intent: write it first) |
//! | bootstrap run Unknown | `Settle(Bootstrap)` (never sent again) |
//! | bootstrap Passed, no post-deploy | `RunPostDeploy` (intent first) |
//! | post-deploy Unknown | `Settle(PostDeploy)` |
//! | post-deploy Passed, checks not all passed | `Verify`, or `Wait` until [`RECHECK`] after the last |
//!
//! A run's result still Unknown while its phase is Bootstrapping or PostDeploying means its
//! answer was never recorded (the controller restarted while it ran): the phase becomes
//! Unknown, and only the schedule's history settles it.

use super::RECHECK;
use super::admission::{self, Admission};
use super::record::RunStage;
use crate::Outcome;
use crate::ready::{self, Ready};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::conditions::Progress;
use launchplane_api::resources::{
    BackupGate, BootstrapOutcome, BootstrapPhase, BootstrapStepResult, DataBootstrap, DataBootstrapStatus,
    DeploymentRecord, Lane, Promotion, StepOutcome,
};
use launchplane_api::verdict::Verdict;

/// What a DataBootstrap's plan reads.
pub struct BootstrapInputs<'a> {
    pub bootstrap: &'a DataBootstrap,
    /// Its lane (`spec.laneRef`), if it exists.
    pub lane: Option<&'a Lane>,
    /// The lane's DeploymentRecords (its last deploy; a deploy in flight).
    pub records: &'a [DeploymentRecord],
    /// The namespace's DataBootstraps (this one may be among them).
    pub bootstraps: &'a [&'a DataBootstrap],
    /// The namespace's BackupGates, and its Promotions (which gate each used).
    pub gates: &'a [&'a BackupGate],
    pub promotions: &'a [&'a Promotion],
    /// The Product's bootstrap command, used when the spec names none.
    pub product_command: Option<&'a str>,
    /// Why the lane's compose may not be run on, as the shell found it before the bootstrap
    /// started ([`super::target`]); None: it may, or it was not asked (already started).
    pub target_refusal: Option<&'a str>,
    pub now: Timestamp,
}

/// The next step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send the bootstrap command once (after writing the status: it holds the intent).
    RunBootstrap,
    /// Send the post-deploy command once (after writing the status).
    RunPostDeploy,
    /// Run the checks and record them.
    Verify,
    /// Read the schedule's history of the run whose answer was lost, and record it.
    Settle(RunStage),
    /// Nothing to do before `retry_at` (None: until something it waits for changes).
    Wait { retry_at: Option<Timestamp> },
    /// Finished: nothing ever runs again.
    Done,
}

/// The status to write, and the step.
#[derive(Clone, Debug, PartialEq)]
pub struct BootstrapPlan {
    pub outcome: Outcome<DataBootstrapStatus>,
    pub step: Step,
    /// When to look again if nothing wakes it sooner: [`RECHECK`] after now while a run is
    /// settled or the checks run (a shell performs those once per reconcile), the `Wait`'s
    /// time when waiting; None when Blocked (woken by what it needs) or Done.
    pub requeue_at: Option<Timestamp>,
}

/// The status and step of a DataBootstrap.
pub fn plan(input: &BootstrapInputs<'_>) -> BootstrapPlan {
    let b = input.bootstrap;
    let now = input.now;
    let old = b.status.clone().unwrap_or_default();
    let mut s = old.clone();
    let phase = s.phase.unwrap_or_default();
    let result_of = |r: &Option<BootstrapStepResult>| r.as_ref().map(|r| r.result);
    let (step, progress) = if phase.is_final() {
        (Step::Done, Progress::Settled)
    } else {
        match (result_of(&s.bootstrap_run), result_of(&s.post_deploy)) {
            (None, _) => start(input, &mut s),
            (Some(StepOutcome::Unknown), _) => {
                settling(&mut s, RunStage::Bootstrap, BootstrapPhase::Bootstrapping)
            }
            (Some(StepOutcome::Passed), None) => {
                s.post_deploy = Some(intent("the post-deploy command", now));
                s.phase = Some(BootstrapPhase::PostDeploying);
                s.outcome = Some(BootstrapOutcome::Unknown);
                s.message = Some("bootstrapped; running the post-deploy command".into());
                (Step::RunPostDeploy, reconciling(&s))
            }
            (Some(StepOutcome::Passed), Some(StepOutcome::Unknown)) => {
                settling(&mut s, RunStage::PostDeploy, BootstrapPhase::PostDeploying)
            }
            (Some(StepOutcome::Passed), Some(StepOutcome::Passed)) => {
                s.phase = Some(BootstrapPhase::Verifying);
                let last = s.readiness.as_ref().and_then(|r| r.time.as_ref()).map(|t| t.0);
                let due = last.and_then(|t| t.checked_add(RECHECK).ok());
                let step = match due {
                    Some(due) if due > now => Step::Wait { retry_at: Some(due) },
                    _ => Step::Verify,
                };
                (step, reconciling(&s))
            }
            // A run that failed or was skipped leaves a final phase behind it (`record`); a
            // status that says otherwise was not written by it, and nothing runs on it.
            _ => {
                s.phase = Some(BootstrapPhase::Failed);
                s.message = Some("a step did not pass: nothing more runs".into());
                s.completion_time = s.completion_time.or(Some(Time(now)));
                (Step::Done, Progress::Settled)
            }
        }
    };
    finish(b, &old, s, step, progress, now)
}

fn intent(what: &str, now: Timestamp) -> BootstrapStepResult {
    BootstrapStepResult {
        result: StepOutcome::Unknown,
        message: format!("intent recorded at {now}: {what} is sent once (a Dokploy schedule run)"),
        time: Some(Time(now)),
        deployment_id: None,
    }
}

fn reconciling(s: &DataBootstrapStatus) -> Progress {
    Progress::Reconciling {
        reason: s.phase.unwrap_or_default().as_str().into(),
        message: s.message.clone().unwrap_or_default(),
    }
}

/// Before the bootstrap run: admission.
fn start(input: &BootstrapInputs<'_>, s: &mut DataBootstrapStatus) -> (Step, Progress) {
    let now = input.now;
    match admission::admit(input) {
        Admission::Block { reason, message } => {
            s.phase = Some(BootstrapPhase::Blocked);
            s.message = Some(message.clone());
            (
                Step::Wait { retry_at: None },
                Progress::Stalled {
                    reason: reason.into(),
                    message,
                },
            )
        }
        Admission::Wait { reason, message } => {
            s.phase = Some(BootstrapPhase::Pending);
            s.message = Some(message.clone());
            (
                Step::Wait {
                    retry_at: now.checked_add(RECHECK).ok(),
                },
                Progress::Reconciling {
                    reason: reason.into(),
                    message,
                },
            )
        }
        Admission::Admit {
            backup_gate,
            first,
            message,
        } => {
            s.phase = Some(BootstrapPhase::Bootstrapping);
            s.backup_gate = backup_gate;
            s.first_bootstrap = Some(first);
            s.start_time = Some(Time(now));
            s.bootstrap_run = Some(intent("the bootstrap command", now));
            s.outcome = Some(BootstrapOutcome::Unknown);
            s.message = Some(format!(
                "{message}; bootstrapping Lane {} from {}",
                input.bootstrap.spec.lane_ref.name,
                crate::redact::without_credentials(&input.bootstrap.spec.source.dataset)
            ));
            (Step::RunBootstrap, reconciling(s))
        }
    }
}

/// A run whose result is Unknown: settle it by the history. Still in its running phase, its
/// answer was never recorded (a restart while it ran).
fn settling(s: &mut DataBootstrapStatus, stage: RunStage, running: BootstrapPhase) -> (Step, Progress) {
    if s.phase == Some(running) {
        let (slot, what) = match stage {
            RunStage::Bootstrap => (&mut s.bootstrap_run, "the bootstrap command"),
            RunStage::PostDeploy => (&mut s.post_deploy, "the post-deploy command"),
        };
        let sent = slot
            .as_ref()
            .and_then(|r| r.time.as_ref())
            .map(|t| t.0.to_string())
            .unwrap_or_default();
        let message = format!(
            "{what} was sent at {sent} and its answer was not recorded (the controller stopped while it ran); the \
             schedule may still run: the schedule's history settles it"
        );
        if let Some(run) = slot.as_mut() {
            run.message = message.clone();
        }
        s.message = Some(message);
    }
    s.phase = Some(BootstrapPhase::Unknown);
    s.outcome = Some(BootstrapOutcome::Unknown);
    (
        Step::Settle(stage),
        Progress::Reconciling {
            reason: BootstrapPhase::Unknown.as_str().into(),
            message: s.message.clone().unwrap_or_default(),
        },
    )
}

fn finish(
    b: &DataBootstrap,
    old: &DataBootstrapStatus,
    mut s: DataBootstrapStatus,
    step: Step,
    progress: Progress,
    now: Timestamp,
) -> BootstrapPlan {
    let phase = s.phase.unwrap_or_default();
    let verdict = match phase {
        BootstrapPhase::Succeeded => Verdict::Matched,
        BootstrapPhase::Blocked | BootstrapPhase::Failed => Verdict::Mismatch,
        BootstrapPhase::Unknown => Verdict::Unverifiable,
        BootstrapPhase::Pending
        | BootstrapPhase::Bootstrapping
        | BootstrapPhase::PostDeploying
        | BootstrapPhase::Verifying => Verdict::Unchecked,
    };
    let reason = match &progress {
        Progress::Stalled { reason, .. } => reason.clone(),
        _ => phase.as_str().to_string(),
    };
    let (conditions, transitions) = ready::conditions(
        &old.conditions,
        Ready {
            ready: phase == BootstrapPhase::Succeeded,
            unknown: !phase.is_final() && phase != BootstrapPhase::Blocked,
            reason,
            message: s.message.clone().unwrap_or_default(),
        },
        &progress,
        b.metadata.generation,
        now,
    );
    s.observed_generation = b.metadata.generation;
    s.verdict = Some(verdict);
    s.conditions = conditions;
    let requeue_at = match step {
        Step::Wait { retry_at } => retry_at,
        Step::Settle(_) | Step::Verify => now.checked_add(RECHECK).ok(),
        Step::RunBootstrap | Step::RunPostDeploy => Some(now),
        Step::Done => None,
    };
    BootstrapPlan {
        outcome: Outcome {
            status: s,
            transitions,
        },
        step,
        requeue_at,
    }
}

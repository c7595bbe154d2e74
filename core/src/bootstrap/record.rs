//! What a shell saw, recorded onto a DataBootstrap's status: a run's answer, the schedule's
//! deployment history (which settles a run whose answer was lost), the checks. Only the
//! results, the phase and the outcome move here; [`super::plan`] writes the conditions.
//!
//! | a run (bootstrap or post-deploy) | result | phase | outcome |
//! |---|---|---|---|
//! | answered: the command ended well | Passed | next step | (bootstrap: under way) |
//! | answered: the command failed | Failed | Failed | bootstrap `Failed`; post-deploy `VerificationFailed` |
//! | refused before it started, or history proves it never started | Failed | Failed | bootstrap `NotStarted`; post-deploy `VerificationFailed` |
//! | sent, answer lost (timeout, lost connection, restart) | Unknown | Unknown | `Unknown` |
//!
//! A run whose answer was lost is settled by the schedule's history alone, never by sending it
//! again: the run of that history started at or after it was sent (less [`CLOCK_SKEW`]), or
//! the one with its deployment id. One such run, finished: the answer it gives. Still running,
//! none yet, or the history unreadable: still Unknown. None at all [`NOT_STARTED_GRACE`] after
//! it was sent, or no schedule at all: it never started. Several: which was ours cannot be told,
//! and a person decides (it stays Unknown, saying so).

use super::{CLOCK_SKEW, NOT_STARTED_GRACE, VERIFY_WINDOW};
use crate::redact::without_credentials;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::resources::{
    BootstrapOutcome, BootstrapPhase, BootstrapStepResult, DataBootstrap, DataBootstrapStatus, StepOutcome,
};

/// The two commands a bootstrap runs as Dokploy schedules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStage {
    Bootstrap,
    PostDeploy,
}

impl RunStage {
    fn what(self) -> &'static str {
        match self {
            RunStage::Bootstrap => "the bootstrap command",
            RunStage::PostDeploy => "the post-deploy command",
        }
    }
}

/// What `schedule.runManually` (or the attempt to send it) answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunAnswer {
    /// The command ended (the route answers when it does).
    Finished {
        succeeded: bool,
        deployment_id: Option<String>,
        message: String,
    },
    /// Provably nothing ran: the schedule could not be created, or Dokploy refused the run
    /// before starting it, or it was never sent.
    NotStarted { message: String },
    /// Sent, and no answer came (timeout, lost connection): the command may still run.
    Lost { message: String },
}

/// A run's status in Dokploy's deployment history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduleRunStatus {
    Running,
    Done,
    Error,
    Cancelled,
}

/// One row of `deployment.allByType` (type `schedule`) for the schedule the command ran as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleRun {
    pub deployment_id: String,
    pub status: ScheduleRunStatus,
    /// `createdAt` (the run's start).
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

/// The schedule's history as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum History {
    /// Its runs, newest first, listed at `observed_at`.
    Runs {
        runs: Vec<ScheduleRun>,
        observed_at: Timestamp,
    },
    /// No schedule of Launchplane's for the run exists (for the bootstrap: none carries this
    /// DataBootstrap's marker; the schedule is created before the run, so it never started),
    /// listed at `observed_at`.
    NoSchedule { observed_at: Timestamp },
    /// It could not be read.
    Unreadable { message: String },
}

/// The checks, each Passed, Failed, Unknown (not comparable) or Skipped (not required).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verification {
    pub health: BootstrapStepResult,
    pub canonical_url: BootstrapStepResult,
    pub logo: BootstrapStepResult,
    pub runtime_identity: BootstrapStepResult,
}

/// What a shell saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The schedule the bootstrap command runs as was created (record it before the run).
    ScheduleCreated { schedule_id: String },
    /// A run sent by this reconcile answered.
    Answered { stage: RunStage, answer: RunAnswer },
    /// The schedule's history, read to settle a run whose answer was lost.
    History { stage: RunStage, history: History },
    /// The checks ran.
    Verified(Box<Verification>),
}

fn result(
    result: StepOutcome,
    message: String,
    time: Timestamp,
    deployment_id: Option<String>,
) -> BootstrapStepResult {
    BootstrapStepResult {
        result,
        message: without_credentials(&message),
        time: Some(Time(time)),
        deployment_id,
    }
}

fn skipped(why: &str, now: Timestamp) -> Option<BootstrapStepResult> {
    Some(result(StepOutcome::Skipped, why.to_string(), now, None))
}

/// The status after `event`. An event that does not fit the phase (an answer for a run
/// already settled, checks before post-deploy passed) changes nothing.
pub fn record(b: &DataBootstrap, event: Event, now: Timestamp) -> DataBootstrapStatus {
    let mut s = b.status.clone().unwrap_or_default();
    match event {
        Event::ScheduleCreated { schedule_id } => {
            if s.schedule_id.is_none() {
                s.schedule_id = Some(schedule_id);
            }
        }
        Event::Answered { stage, answer } => {
            if pending_run(&s, stage).is_some() {
                answered(&mut s, stage, answer, now);
            }
        }
        Event::History { stage, history } => {
            if let Some(sent) = pending_run(&s, stage) {
                settle(&mut s, stage, sent, history, now);
            }
        }
        Event::Verified(v) => {
            if s.phase == Some(BootstrapPhase::Verifying) {
                verified(&mut s, *v, now);
            }
        }
    }
    s
}

fn slot(s: &mut DataBootstrapStatus, stage: RunStage) -> &mut Option<BootstrapStepResult> {
    match stage {
        RunStage::Bootstrap => &mut s.bootstrap_run,
        RunStage::PostDeploy => &mut s.post_deploy,
    }
}

/// When the run of `stage` was sent, while its result is Unknown.
fn pending_run(s: &DataBootstrapStatus, stage: RunStage) -> Option<Timestamp> {
    let run = match stage {
        RunStage::Bootstrap => s.bootstrap_run.as_ref(),
        RunStage::PostDeploy => s.post_deploy.as_ref(),
    }?;
    if s.phase.is_some_and(BootstrapPhase::is_final) || run.result != StepOutcome::Unknown {
        return None;
    }
    Some(run.time.as_ref().map_or(Timestamp::UNIX_EPOCH, |t| t.0))
}

fn answered(s: &mut DataBootstrapStatus, stage: RunStage, answer: RunAnswer, now: Timestamp) {
    let what = stage.what();
    match answer {
        RunAnswer::Finished {
            succeeded: true,
            deployment_id,
            message,
        } => passed(
            s,
            stage,
            deployment_id,
            format!("{what} ended successfully{}", detail(&message)),
            now,
        ),
        RunAnswer::Finished {
            succeeded: false,
            deployment_id,
            message,
        } => failed(
            s,
            stage,
            true,
            deployment_id,
            format!("{what} ran and failed{}", detail(&message)),
            now,
        ),
        RunAnswer::NotStarted { message } => failed(
            s,
            stage,
            false,
            None,
            format!("{what} never started, so nothing was changed{}", detail(&message)),
            now,
        ),
        RunAnswer::Lost { message } => {
            let sent = pending_run(s, stage).unwrap_or(now);
            lost(
                s,
                stage,
                format!(
                    "{what} was sent at {sent} and its answer was lost{}; the schedule may still run: the schedule's \
                     history settles it",
                    detail(&message)
                ),
            );
        }
    }
}

fn detail(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// The run of `stage` passed: the next step follows.
fn passed(s: &mut DataBootstrapStatus, stage: RunStage, id: Option<String>, message: String, now: Timestamp) {
    *slot(s, stage) = Some(result(StepOutcome::Passed, message.clone(), now, id));
    s.phase = Some(match stage {
        RunStage::Bootstrap => BootstrapPhase::PostDeploying,
        RunStage::PostDeploy => BootstrapPhase::Verifying,
    });
    s.outcome = Some(BootstrapOutcome::Unknown);
    s.message = Some(without_credentials(&message));
}

/// The run of `stage` failed (`ran`: it started, so it may have changed the lane's data).
fn failed(
    s: &mut DataBootstrapStatus,
    stage: RunStage,
    ran: bool,
    id: Option<String>,
    message: String,
    now: Timestamp,
) {
    *slot(s, stage) = Some(result(StepOutcome::Failed, message.clone(), now, id));
    let (outcome, readiness) = match (stage, ran) {
        (RunStage::Bootstrap, false) => (
            BootstrapOutcome::NotStarted,
            "not bootstrapped: the bootstrap never started and the lane's data is as it was",
        ),
        (RunStage::Bootstrap, true) => (
            BootstrapOutcome::Failed,
            "not bootstrapped: the bootstrap command failed and the lane's data may be partly replaced",
        ),
        (RunStage::PostDeploy, _) => (
            BootstrapOutcome::VerificationFailed,
            "partially bootstrapped: the data was loaded but the post-deploy did not pass",
        ),
    };
    if stage == RunStage::Bootstrap {
        s.post_deploy = skipped("the bootstrap did not pass", now);
    }
    let why = "an earlier step did not pass";
    s.health = skipped(why, now);
    s.canonical_url = skipped(why, now);
    s.logo = skipped(why, now);
    s.runtime_identity = skipped(why, now);
    s.readiness = Some(result(StepOutcome::Failed, readiness.into(), now, None));
    s.phase = Some(BootstrapPhase::Failed);
    s.outcome = Some(outcome);
    s.message = Some(without_credentials(&message));
    s.completion_time = Some(Time(now));
}

/// The answer of `stage`'s run was lost: Unknown until the history settles it. The result's
/// time stays when it was sent, which the history is matched with.
fn lost(s: &mut DataBootstrapStatus, stage: RunStage, message: String) {
    let message = without_credentials(&message);
    if let Some(run) = slot(s, stage).as_mut() {
        run.message = message.clone();
    }
    s.phase = Some(BootstrapPhase::Unknown);
    s.outcome = Some(BootstrapOutcome::Unknown);
    s.message = Some(message);
}

fn settle(s: &mut DataBootstrapStatus, stage: RunStage, sent: Timestamp, history: History, now: Timestamp) {
    let what = stage.what();
    let known_id = match stage {
        RunStage::Bootstrap => s.bootstrap_run.as_ref(),
        RunStage::PostDeploy => s.post_deploy.as_ref(),
    }
    .and_then(|r| r.deployment_id.clone());
    let (runs, observed_at) = match history {
        History::Unreadable { message } => {
            return lost(
                s,
                stage,
                format!(
                    "{what} was sent at {sent}; its answer was lost and the schedule's history could not be read{}",
                    detail(&message)
                ),
            );
        }
        History::NoSchedule { observed_at } if observed_at >= sent => {
            return failed(
                s,
                stage,
                false,
                None,
                format!(
                    "{what} never started, so nothing was changed: at {observed_at} Dokploy holds no schedule of \
                     Launchplane's for it (the schedule is created before the run)"
                ),
                now,
            );
        }
        History::NoSchedule { .. } => return,
        History::Runs { runs, observed_at } => (runs, observed_at),
    };
    if observed_at < sent {
        return;
    }
    let since = sent.checked_sub(CLOCK_SKEW).unwrap_or(sent);
    let ours: Vec<&ScheduleRun> = match &known_id {
        Some(id) => runs.iter().filter(|r| r.deployment_id == *id).collect(),
        None => runs
            .iter()
            .filter(|r| r.started_at.is_none_or(|t| t >= since))
            .collect(),
    };
    match ours.as_slice() {
        [] => {
            let grace = sent.checked_add(NOT_STARTED_GRACE).unwrap_or(sent);
            if observed_at >= grace {
                failed(
                    s,
                    stage,
                    false,
                    None,
                    format!(
                        "{what} never started, so nothing was changed: sent at {sent}, and the schedule's history at \
                         {observed_at} shows no run since"
                    ),
                    now,
                );
            } else {
                lost(
                    s,
                    stage,
                    format!(
                        "{what} was sent at {sent} and its answer was lost; the schedule's history at {observed_at} \
                         shows no run of it yet (it proves none started from {grace})"
                    ),
                );
            }
        }
        [run] => {
            let id = Some(run.deployment_id.clone());
            let at = run.finished_at.unwrap_or(observed_at);
            let source = format!(
                "settled by the schedule's history: Dokploy deployment {}",
                run.deployment_id
            );
            match run.status {
                ScheduleRunStatus::Running => lost(
                    s,
                    stage,
                    format!(
                        "{what} was sent at {sent}; its answer was lost and the schedule's history at {observed_at} \
                         shows its run {} still running",
                        run.deployment_id
                    ),
                ),
                ScheduleRunStatus::Done => {
                    passed(s, stage, id, format!("{what} ended successfully ({source})"), at)
                }
                ScheduleRunStatus::Error => failed(
                    s,
                    stage,
                    true,
                    id,
                    format!("{what} ran and failed ({source})"),
                    at,
                ),
                ScheduleRunStatus::Cancelled => failed(
                    s,
                    stage,
                    true,
                    id,
                    format!("{what} ran and was cancelled ({source})"),
                    at,
                ),
            }
        }
        several => {
            let ids: Vec<&str> = several.iter().map(|r| r.deployment_id.as_str()).collect();
            lost(
                s,
                stage,
                format!(
                    "{what} was sent at {sent} and its answer was lost; the schedule's history shows {} runs since ({}), \
                     and which one was this bootstrap's cannot be told: check them in Dokploy, then delete this \
                     DataBootstrap",
                    ids.len(),
                    ids.join(", ")
                ),
            );
        }
    }
}

fn verified(s: &mut DataBootstrapStatus, v: Verification, now: Timestamp) {
    let stamp = |mut r: BootstrapStepResult| {
        r.time = r.time.or(Some(Time(now)));
        r.message = without_credentials(&r.message);
        r
    };
    let checks = [
        ("health", stamp(v.health)),
        ("canonicalUrl", stamp(v.canonical_url)),
        ("logo", stamp(v.logo)),
        ("runtimeIdentity", stamp(v.runtime_identity)),
    ];
    let not_passed: Vec<String> = checks
        .iter()
        .filter(|(_, r)| !matches!(r.result, StepOutcome::Passed | StepOutcome::Skipped))
        .map(|(name, r)| format!("{name} {:?}{}", r.result, detail(&r.message)))
        .collect();
    let [health, canonical_url, logo, runtime_identity] = checks.map(|(_, r)| Some(r));
    s.health = health;
    s.canonical_url = canonical_url;
    s.logo = logo;
    s.runtime_identity = runtime_identity;
    let post_deployed = s
        .post_deploy
        .as_ref()
        .and_then(|r| r.time.as_ref())
        .map_or(now, |t| t.0);
    let deadline = post_deployed.checked_add(VERIFY_WINDOW).unwrap_or(post_deployed);
    if not_passed.is_empty() {
        let message = "bootstrapped, post-deployed and verified: every required check passed".to_string();
        s.readiness = Some(result(StepOutcome::Passed, message.clone(), now, None));
        s.phase = Some(BootstrapPhase::Succeeded);
        s.outcome = Some(BootstrapOutcome::Bootstrapped);
        s.message = Some(message);
        s.completion_time = Some(Time(now));
    } else if now >= deadline {
        let message = format!(
            "partially bootstrapped: the data was loaded and post-deployed, but not every required check passed by \
             {deadline}: {}",
            not_passed.join("; ")
        );
        s.readiness = Some(result(StepOutcome::Failed, message.clone(), now, None));
        s.phase = Some(BootstrapPhase::Failed);
        s.outcome = Some(BootstrapOutcome::VerificationFailed);
        s.message = Some(without_credentials(&message));
        s.completion_time = Some(Time(now));
    } else {
        let message = format!(
            "verifying until {deadline}; not passed yet: {}",
            not_passed.join("; ")
        );
        s.readiness = Some(result(StepOutcome::Unknown, message.clone(), now, None));
        s.message = Some(without_credentials(&message));
    }
}

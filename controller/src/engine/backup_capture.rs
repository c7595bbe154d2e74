//! A BackupGate's capture: plan ([`launchplane_core::backup_capture::plan`]), perform the one
//! step, save the gate's `status.capture`, and again, within limits. Every step's intent is
//! saved before its call (`webContainers` before `docker.stopContainer`, the run's
//! `requestedAt` before `schedule.runManually`), so stopping after any step loses nothing and
//! repeats nothing.

use super::executor::{ExecError, Executor};
use futures::future::BoxFuture;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::conditions::Clock;
use launchplane_api::resources::{
    BackupGate, BackupGateStatus, CaptureStatus, CommandResult, Lane, Product, ProviderTarget,
};
use launchplane_core::backup_capture::{self, CaptureInputs, CaptureStep};
use launchplane_core::lane;
use launchplane_core::schedule::{self, Settled};
use std::time::{Duration, Instant};

/// Lines of a run's log read for the evidence (the command's last line and Dokploy's own).
const LOG_TAIL: u32 = 20;

/// Where each step's capture status goes (the gate's status in both shells; a test's memory).
pub trait CaptureSink: Sync {
    fn save<'a>(&'a self, capture: &'a CaptureStatus) -> BoxFuture<'a, Result<(), String>>;
}

/// What a capture acts on, read by the caller.
pub struct CaptureWorld<'a> {
    pub lane: Option<&'a Lane>,
    pub product: Option<&'a Product>,
    pub target: Option<&'a ProviderTarget>,
    pub instance: &'a str,
    /// The backup schedules the lane's BackupGates name (what makes a marked one the lane's).
    pub known: Vec<String>,
    /// How long an unanswered run may take to appear in the history (the deploy settings'
    /// `startTimeout`), and the wait between looks.
    pub settle_timeout: jiff::SignedDuration,
    pub poll_delay: Duration,
}

/// What one call of [`capture`] did.
#[derive(Debug, Default)]
pub struct CaptureReport {
    pub steps: Vec<&'static str>,
    /// The capture as last saved.
    pub capture: Option<CaptureStatus>,
    /// A step that failed in a way worth retrying later (secret-free).
    pub error: Option<String>,
}

/// Run `gate`'s capture, at most `max_steps` steps and within `deadline`.
pub async fn capture(
    gate: &BackupGate,
    world: &CaptureWorld<'_>,
    executor: Option<&Executor>,
    sink: &dyn CaptureSink,
    clock: &dyn Clock,
    max_steps: usize,
    deadline: Duration,
) -> CaptureReport {
    let started = Instant::now();
    let mut gate = gate.clone();
    let mut report = CaptureReport {
        capture: gate.status.as_ref().and_then(|s| s.capture.clone()),
        ..Default::default()
    };
    let target_ref = world.target.and_then(lane::target_ref);
    loop {
        let now = clock.now();
        let current = gate
            .status
            .as_ref()
            .and_then(|s| s.capture.clone())
            .unwrap_or_default();
        // The marker is read fresh before anything runs; once a run is under way the compose
        // is not consulted again.
        let untouched = current.run.as_ref().and_then(|r| r.result).is_none();
        let read = match (executor, &target_ref, untouched) {
            (Some(e), Some(t), true) => Some(e.read_target(t).await.map_err(|e| e.to_string())),
            _ => None,
        };
        let description = read.as_ref().map(|r| match r {
            Ok(facts) => Ok(facts.description.as_deref()),
            Err(e) => Err(e.as_str()),
        });
        let step = backup_capture::plan(
            &CaptureInputs {
                gate: &gate,
                lane: world.lane,
                product: world.product,
                target: world.target,
                description,
                instance: world.instance,
                known: &world.known,
            },
            now,
        );
        let Some(step) = step else {
            return report;
        };
        if report.steps.len() >= max_steps || started.elapsed() >= deadline {
            return report;
        }
        tracing::info!(step = step.name(), "backup capture step");
        report.steps.push(step.name());
        let budget = deadline
            .saturating_sub(started.elapsed())
            .max(Duration::from_secs(5));
        let outcome = perform(&step, &current, world, executor, sink, now, budget).await;
        let (next, wait) = match outcome {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(step = step.name(), error = %e, "backup capture step failed");
                report.error = Some(e);
                return report;
            }
        };
        if let Err(e) = sink.save(&next).await {
            report.error = Some(e);
            return report;
        }
        report.capture = Some(next.clone());
        gate.status.get_or_insert_with(BackupGateStatus::default).capture = Some(next);
        if let Some(wait) = wait {
            if started.elapsed() + wait >= deadline {
                return report;
            }
            tokio::time::sleep(wait).await;
        }
    }
}

type Done = (CaptureStatus, Option<Duration>);

fn failed(current: &CaptureStatus, why: String, now: Timestamp) -> CaptureStatus {
    let mut out = current.clone();
    let mut run = out.run.clone().unwrap_or_default();
    run.result = Some(CommandResult::Failed);
    run.finished_at = Some(Time(now));
    run.message = Some(why);
    out.run = Some(run);
    out
}

async fn perform(
    step: &CaptureStep,
    current: &CaptureStatus,
    world: &CaptureWorld<'_>,
    executor: Option<&Executor>,
    sink: &dyn CaptureSink,
    now: Timestamp,
    budget: Duration,
) -> Result<Done, String> {
    let exec = || executor.ok_or_else(|| "no provider client for this gate's lane".to_string());
    match step {
        CaptureStep::Refuse { status } => Ok(((**status).clone(), None)),
        CaptureStep::EnsureSchedule { want, known, intent } => {
            let exec = exec()?;
            let mut current = current.clone();
            if intent.is_none() {
                // The intent first: a restart after `schedule.create` adopts what it made.
                current = backup_capture::schedule_pending(&current, now, None);
                sink.save(&current).await?;
            }
            match exec.ensure_schedule(want, known, *intent).await {
                Ok((id, previous)) => Ok((backup_capture::scheduled(&current, want, &id, previous), None)),
                Err(ExecError::Transient(e)) => Err(format!("EnsureSchedule: {e}")),
                // A marked schedule no gate names: nothing is run or changed, and the gate waits
                // (saying why) for a person, or for a gate's record the cache has not shown yet.
                Err(ExecError::Conflict(why)) => {
                    sink.save(&backup_capture::schedule_pending(
                        &current,
                        now,
                        Some(why.clone()),
                    ))
                    .await?;
                    Err(format!("EnsureSchedule: {why}"))
                }
                Err(e) => Ok((
                    failed(&current, format!("the backup schedule: {}", e.message()), now),
                    None,
                )),
            }
        }
        CaptureStep::StopWeb { compose_id, service } => {
            stop_web(compose_id, service, current, exec()?, sink, now).await
        }
        CaptureStep::RunCommand { schedule_id, status } => {
            sink.save(status).await?;
            let Some(intent) = status.run.clone() else {
                return Err("the run's intent is missing".into());
            };
            let mut out = (**status).clone();
            match exec()?.run_schedule(schedule_id, budget).await {
                Ok(answer) => {
                    out.run = Some(schedule::answered(&intent, &answer, now));
                    let wait = out.run.as_ref().and_then(|r| r.result) == Some(CommandResult::Unknown);
                    Ok((out, wait.then_some(world.poll_delay)))
                }
                Err(ExecError::Transient(e)) => {
                    tracing::warn!(error = %e, "no answer from the backup run; reading its history next");
                    Ok((out, Some(world.poll_delay)))
                }
                Err(e) => Ok((
                    failed(
                        &out,
                        format!("Dokploy refused to run the backup schedule: {}", e.message()),
                        now,
                    ),
                    None,
                )),
            }
        }
        CaptureStep::SettleCommand { schedule_id } => {
            let runs = exec()?
                .schedule_runs(schedule_id)
                .await
                .map_err(|e| format!("SettleCommand: {e}"))?;
            let Some(run) = current.run.as_ref() else {
                return Err("the run is missing".into());
            };
            match schedule::settle(run, &runs, world.settle_timeout, now) {
                Settled::Done(run) => {
                    let mut out = current.clone();
                    out.run = Some(run);
                    Ok((out, None))
                }
                Settled::Wait => Ok((current.clone(), Some(world.poll_delay))),
            }
        }
        CaptureStep::StartWeb {
            compose_id,
            containers,
        } => {
            let gone = exec()?
                .start_containers(compose_id, containers)
                .await
                .map_err(|e| {
                    format!("StartWeb (the web containers the capture stopped are still stopped): {e}")
                })?;
            let mut out = current.clone();
            out.web_started_at = Some(Time(now));
            let succeeded = out.run.as_ref().and_then(|r| r.result) == Some(CommandResult::Succeeded);
            if !gone.is_empty() && succeeded {
                // A deploy recreated the web while the backup ran: it did not run with the web
                // stopped, as the gate asked.
                let why = format!(
                    "the web service's containers ({}) were recreated during the capture (a deploy?), so \
                     the backup was not taken with the web stopped; create a new BackupGate",
                    gone.join(", ")
                );
                out = failed(&out, why, now);
            }
            Ok((out, None))
        }
        CaptureStep::ReadEvidence { deployment_id } => match exec()?.run_log(deployment_id, LOG_TAIL).await {
            Ok(log) => Ok((backup_capture::evidence(current, Some(log.expose()), now), None)),
            Err(ExecError::Transient(e)) => Err(format!("ReadEvidence: {e}")),
            Err(_) => Ok((backup_capture::evidence(current, None, now), None)),
        },
    }
}

/// Stop the web service's running containers: their ids are saved first (found now, or as a
/// restart found them saved), then each is stopped. Any failure ends the capture Failed, so
/// what was stopped is started again next; the backup is never taken half-stopped.
async fn stop_web(
    compose_id: &str,
    service: &str,
    current: &CaptureStatus,
    exec: &Executor,
    sink: &dyn CaptureSink,
    now: Timestamp,
) -> Result<Done, String> {
    let mut out = current.clone();
    if out.web_containers.is_empty() {
        let listed = match exec.compose_containers(compose_id).await {
            Ok(listed) => listed,
            Err(ExecError::Transient(e)) => return Err(format!("StopWeb: {e}")),
            Err(e) => {
                let why = format!("the compose's containers could not be listed: {}", e.message());
                return Ok((failed(current, why, now), None));
            }
        };
        match backup_capture::to_stop(&listed.app_name, service, &listed.containers) {
            Ok(ids) => out.web_containers = ids,
            Err(why) => return Ok((failed(current, why, now), None)),
        }
        if out.web_containers.is_empty() {
            // Nothing of the web runs: nothing to stop, and nothing to start again after.
            tracing::info!(service, "the web service's containers are all stopped already");
            out.web_stopped_at = Some(Time(now));
            return Ok((out, None));
        }
        sink.save(&out).await?;
    }
    if let Err(e) = exec.stop_containers(compose_id, &out.web_containers).await {
        let why = format!(
            "stopping the web service `{service}` failed ({e}); the backup was not taken, and the \
             containers stopped are started again"
        );
        return Ok((failed(&out, why, now), None));
    }
    out.web_stopped_at = Some(Time(now));
    Ok((out, None))
}

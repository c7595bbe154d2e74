//! The lane loop: observe, plan, perform the one planned step, and again, within limits.
//!
//! Every step's effect is persisted (a record written, a record's phase moved, or the provider
//! changed and re-observed next time round) before the next plan, so stopping the loop after
//! any step — a crash, a deadline, `--once` running out — loses nothing: the next run plans
//! from the records and resumes at the same place.
//!
//! The target's image and env come from the shared poller ([`PolledFacts`]) when its read is
//! fresh and saw every change this controller made for the lane; the driver reads the target
//! itself (`application.one` / `compose.one`) only when no such read exists: while an attempt
//! is Pending (its steps are mutating the target), right after a mutation step of this drive
//! (so the step's effect is confirmed before the next plan), or when the poller's read is
//! older than the detail interval or older than the lane's last mutation. N lanes in sync
//! therefore cost no detail calls beyond the poller's own.

use super::executor::{Action, ExecError, Executor, Performed, probe_identity, run_health};
pub use super::polled::PolledFacts;
use super::store::{RecordStore, StoreError};
use super::verification;
use crate::observe::prober::Prober;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::conditions::Clock;
use launchplane_api::resources::{
    Artifact, DeploymentPhase, DeploymentRecord, Lane, Product, ProviderTarget, RuntimeIdentity,
};
use launchplane_api::resources::{CommandResult, CommandRun};
use launchplane_core::deployment_record::{self as record, DeploySettings};
use launchplane_core::health::{self, HealthResult, LastChange};
use launchplane_core::lane::{self, LaneInputs, LanePlan, Step, post_deploy};
use launchplane_core::promotion::Feed;
use launchplane_core::schedule::{self, Settled};
use launchplane_core::target::{DesiredEnv, TargetFacts, TargetRef};
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use tracing::Instrument;

/// The least a post-deploy command is waited for before its outcome is left to its run history.
const MIN_COMMAND_WAIT: Duration = Duration::from_secs(5);

/// How far one call of [`drive`] may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DriveLimits {
    /// Most steps performed in one call.
    pub max_steps: usize,
    /// Wall-clock budget; waits that would overrun it end the call instead.
    pub deadline: Duration,
}

impl Default for DriveLimits {
    fn default() -> Self {
        DriveLimits {
            max_steps: 50,
            deadline: Duration::from_secs(120),
        }
    }
}

/// The objects one lane is planned from (read by the caller from the cluster or the folder).
pub struct LaneWorld<'a> {
    pub lane: &'a Lane,
    /// The lane's uid (cluster) or name (standalone).
    pub lane_key: String,
    /// What the lane should run and who set it ([`launchplane_core::promotion::feed`]).
    pub feed: Feed,
    pub product: Option<&'a Product>,
    pub target: Option<&'a ProviderTarget>,
    pub artifact: Option<&'a Artifact>,
    pub desired_env: Result<DesiredEnv, String>,
    /// The lane's RuntimeIdentity child as last stored.
    pub identity: Option<RuntimeIdentity>,
    /// What the shared poller of the target's ProviderConfig read; `None` makes the driver
    /// read the target itself every time.
    pub polled: Option<PolledFacts>,
    /// This controller instance, as ownership markers name it (the cluster's `--instance-id`,
    /// the standalone state folder's id).
    pub instance: &'a str,
    /// The other Lanes of the namespace naming the same ProviderTarget
    /// ([`lane::rival_lanes`]).
    pub rivals: Vec<String>,
    /// The namespace's DataBootstraps (the lane's summary; no deploy while one of it runs).
    pub bootstraps: Vec<Arc<launchplane_api::resources::DataBootstrap>>,
}

/// Why a step could not be performed (secret-free).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DriveError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{step}: {error}")]
    Step { step: &'static str, error: ExecError },
    #[error("deployment record {0} disappeared while it was in use")]
    RecordGone(String),
}

/// What one call of [`drive`] did and where it left the lane.
#[derive(Clone, Debug)]
pub struct DriveReport {
    /// The last plan: its status is what the lane's status should be now.
    pub plan: LanePlan,
    /// The steps performed, in order.
    pub steps: Vec<&'static str>,
    /// The lane's records as of the last plan.
    pub records: Vec<DeploymentRecord>,
    /// A step that failed in a way worth retrying later (the plan still stands).
    pub error: Option<DriveError>,
    /// The health checks as the last plan saw them, in `spec.healthChecks` order.
    pub health: Vec<HealthResult>,
}

/// Run the lane's loop. `executor` is `None` when the lane's provider could not be set up (the
/// plan then sees an unread target and mutates nothing).
pub async fn drive(
    world: &LaneWorld<'_>,
    executor: Option<&Executor>,
    prober: &Prober,
    store: &dyn RecordStore,
    settings: &DeploySettings,
    limits: DriveLimits,
    clock: &dyn Clock,
) -> DriveReport {
    let namespace = world
        .lane
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let name = world.lane.metadata.name.clone().unwrap_or_default();
    let span = tracing::info_span!("lane", namespace = %namespace, name = %name);
    drive_inner(
        world, executor, prober, store, settings, limits, clock, &namespace, &name,
    )
    .instrument(span)
    .await
}

#[allow(clippy::too_many_arguments)]
async fn drive_inner(
    world: &LaneWorld<'_>,
    executor: Option<&Executor>,
    prober: &Prober,
    store: &dyn RecordStore,
    settings: &DeploySettings,
    limits: DriveLimits,
    clock: &dyn Clock,
    namespace: &str,
    name: &str,
) -> DriveReport {
    let started = Instant::now();
    let mut steps: Vec<&'static str> = Vec::new();
    let mut identity = world.identity.clone();
    let target_ref: Option<TargetRef> = world.target.and_then(lane::target_ref);
    let base = verification::base_url(
        world.lane,
        world.product,
        world.target,
        target_ref.as_ref(),
        world.polled.as_ref(),
        clock.now(),
    );
    let endpoint = lane::endpoint(world.lane, world.product, base.url.as_deref());
    let checks = lane::health_urls(world.lane, base.url.as_deref());
    let requests = launchplane_core::verification::requests(world.product, &base);
    let bootstrap_refs: Vec<&launchplane_api::resources::DataBootstrap> =
        world.bootstraps.iter().map(AsRef::as_ref).collect();
    // Set once a step of this drive may have changed the target: from then on it is read.
    let mut mutated = false;
    loop {
        let now = clock.now();
        let (records, list_error) = match store.list(namespace, name).await {
            Ok(r) => (r, None),
            Err(e) => (Vec::new(), Some(DriveError::Store(e))),
        };
        let facts: Option<Result<Arc<TargetFacts>, String>> = match (executor, &target_ref) {
            (Some(e), Some(t)) => match polled_facts(world.polled.as_ref(), t, &records, mutated, now) {
                Some(shared) => Some(Ok(shared)),
                None => Some(e.read_target(t).await.map(Arc::new).map_err(|e| e.to_string())),
            },
            _ => None,
        };
        let probe = match &endpoint {
            Some(ep) => Some(probe_identity(prober, ep).await),
            None => None,
        };
        let window = world
            .polled
            .as_ref()
            .and_then(|p| p.listing.as_ref())
            .map(|(snapshot, settings)| snapshot.window(settings));
        let changed = if mutated {
            // This drive's own step: the poll cannot have seen it.
            LastChange::InFlight
        } else {
            lane_changed(&records)
        };
        let sight = health::provider_sight(window.as_ref(), target_ref.as_ref(), changed, now);
        let health = run_health(prober, &checks, &sight, now).await;
        let driver_checks = verification::run_checks(prober, &requests, &base, now).await;
        let plan = lane::plan(
            &LaneInputs {
                lane: world.lane,
                lane_key: &world.lane_key,
                feed: &world.feed,
                product: world.product,
                target: world.target,
                artifact: world.artifact,
                records: &records,
                desired_env: world.desired_env.as_ref().map_err(Clone::clone),
                facts: facts
                    .as_ref()
                    .map(|f| f.as_ref().map(AsRef::as_ref).map_err(Clone::clone)),
                probe: probe.as_ref(),
                identity: identity.as_ref(),
                health: &health,
                base: &base,
                checks: &driver_checks,
                settings,
                instance: world.instance,
                rivals: &world.rivals,
                bootstraps: &bootstrap_refs,
            },
            now,
        );
        // The records move into the report (no copy per drive).
        let done = |plan: LanePlan,
                    steps: Vec<&'static str>,
                    records: Vec<DeploymentRecord>,
                    error: Option<DriveError>| DriveReport {
            plan,
            steps,
            records,
            error,
            health: health.clone(),
        };
        if list_error.is_some() {
            return done(plan, steps, records, list_error);
        }
        let Some(step) = plan.step.clone() else {
            return done(plan, steps, records, None);
        };
        if steps.len() >= limits.max_steps || started.elapsed() >= limits.deadline {
            return done(plan, steps, records, None);
        }
        // Only the next plan reads it: no copy of the child when the drive ends here.
        identity = plan.identity.clone().or(identity);
        tracing::info!(step = step.name(), "lane step");
        // A command run waits for its answer no longer than what is left of the drive.
        let budget = limits
            .deadline
            .saturating_sub(started.elapsed())
            .max(MIN_COMMAND_WAIT);
        let result = perform(&step, &records, world, executor, store, settings, clock, budget).await;
        mutated |= matches!(
            step,
            Step::MarkTarget { .. } | Step::SetImage { .. } | Step::MergeEnv { .. } | Step::Deploy { .. }
        );
        steps.push(step.name());
        match result {
            Ok(None) => {}
            Ok(Some(wait)) => {
                if started.elapsed() + wait >= limits.deadline {
                    return done(plan, steps, records, None);
                }
                tokio::time::sleep(wait).await;
            }
            Err(e) => {
                tracing::warn!(step = step.name(), error = %e, "lane step failed");
                return done(plan, steps, records, Some(e));
            }
        }
    }
}

/// The poller's facts of `target`, when they may stand in for a read now: no mutation step
/// in this drive yet, read no longer ago than the detail interval, and read after the last
/// change this controller (or a deploy given as evidence) made for every record of the lane.
/// Times compare by whole seconds, strictly: Kubernetes keeps record times to the second, and a
/// read in the same second as a mutation may have preceded it.
pub fn polled_facts(
    polled: Option<&PolledFacts>,
    target: &TargetRef,
    records: &[DeploymentRecord],
    mutated: bool,
    now: Timestamp,
) -> Option<Arc<TargetFacts>> {
    if mutated {
        return None;
    }
    let polled = polled?;
    let read = polled.facts.get(target.category, &target.id)?;
    if !read.fresh(now, polled.max_age) {
        return None;
    }
    let read_second = read.read_at.as_second();
    records
        .iter()
        .all(|r| last_change(r).is_some_and(|t| read_second > t.as_second()))
        .then(|| read.facts.clone())
}

/// The latest moment the target may have been changed for `record`: `None` while it is
/// Pending (its MarkTarget / SetImage / MergeEnv / Deploy steps are under way). The controller's own
/// mutations all come before the deploy starts, so a record past Pending counts from its
/// deploy's start, or, when it failed before deploying, from when it failed. A deploy
/// recorded by someone else (evidence) counts from when it finished.
fn last_change(record: &DeploymentRecord) -> Option<Timestamp> {
    if record::phase(record) == DeploymentPhase::Pending {
        return None;
    }
    let status = record.status.as_ref()?;
    let started = status
        .deploy
        .as_ref()
        .and_then(|d| d.started_at.as_ref())
        .map(|t| t.0);
    if record::is_evidence(record) {
        return record::finished_at(record).max(started);
    }
    started.or_else(|| record::finished_at(record))
}

/// Since when the lane's records say its target may have changed ([`last_change`] of each).
fn lane_changed(records: &[DeploymentRecord]) -> LastChange {
    let mut latest = LastChange::Never;
    for record in records {
        match (last_change(record), latest) {
            (None, _) => return LastChange::InFlight,
            (Some(at), LastChange::At(l)) if l >= at => {}
            (Some(at), _) => latest = LastChange::At(at),
        }
    }
    latest
}

fn find<'a>(records: &'a [DeploymentRecord], name: &str) -> Result<&'a DeploymentRecord, DriveError> {
    records
        .iter()
        .find(|r| r.metadata.name.as_deref() == Some(name))
        .ok_or_else(|| DriveError::RecordGone(name.to_string()))
}

/// A refused mutation fails the attempt (on its record); a transient one is retried later.
async fn refused_fails_record(
    store: &dyn RecordStore,
    rec: &DeploymentRecord,
    namespace: &str,
    step: &'static str,
    error: ExecError,
    clock: &dyn Clock,
) -> Result<Option<Duration>, DriveError> {
    match &error {
        ExecError::Refused(message) | ExecError::NotFound(message) | ExecError::Conflict(message) => {
            let status = record::fail(rec, step, message, clock.now());
            store
                .write_status(
                    namespace,
                    rec.metadata.name.as_deref().unwrap_or_default(),
                    &status,
                )
                .await?;
            Ok(None)
        }
        ExecError::Transient(_) => Err(DriveError::Step { step, error }),
    }
}

/// Perform a mutation of the record `name`'s attempt: refused, the attempt fails on its record;
/// transient, retried later.
async fn mutate(
    executor: Option<&Executor>,
    action: &Action,
    records: &[DeploymentRecord],
    name: &str,
    namespace: &str,
    store: &dyn RecordStore,
    clock: &dyn Clock,
) -> Result<Option<Duration>, DriveError> {
    let step = action_step(action);
    let exec = executor.ok_or(DriveError::Step {
        step,
        error: ExecError::Transient("no provider client for this lane".into()),
    })?;
    match exec.perform(action).await {
        Ok(Performed::EnvMerged(change)) => {
            tracing::info!(added = ?change.added, updated = ?change.updated, "env merged");
            Ok(None)
        }
        Ok(_) => Ok(None),
        Err(e) => refused_fails_record(store, find(records, name)?, namespace, step, e, clock).await,
    }
}

/// The lane step an action performs, as records and errors name it.
fn action_step(action: &Action) -> &'static str {
    match action {
        Action::SetDescription { .. } => "MarkTarget",
        other => other.name(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn perform(
    step: &Step,
    records: &[DeploymentRecord],
    world: &LaneWorld<'_>,
    executor: Option<&Executor>,
    store: &dyn RecordStore,
    settings: &DeploySettings,
    clock: &dyn Clock,
    budget: Duration,
) -> Result<Option<Duration>, DriveError> {
    let namespace = world
        .lane
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let no_provider = |step: &'static str| DriveError::Step {
        step,
        error: ExecError::Transient("no provider client for this lane".into()),
    };
    match step {
        Step::CreateRecord(rec) => {
            store.create(rec).await?;
            Ok(None)
        }
        Step::MarkTarget {
            record: name,
            target,
            description,
        } => {
            let action = Action::SetDescription {
                target: target.clone(),
                description: description.clone(),
            };
            mutate(executor, &action, records, name, &namespace, store, clock).await
        }
        Step::SetImage {
            record: name,
            target,
            image,
        } => {
            let action = Action::SetImage {
                target: target.clone(),
                image: image.clone(),
            };
            mutate(executor, &action, records, name, &namespace, store, clock).await
        }
        Step::MergeEnv {
            record: name,
            target,
            identity,
            pin,
            ..
        } => {
            let lane_env = world.desired_env.clone().unwrap_or_default();
            let action = Action::MergeEnv {
                target: target.clone(),
                env: lane::record_env(identity, &lane_env, pin),
            };
            mutate(executor, &action, records, name, &namespace, store, clock).await
        }
        Step::Deploy {
            record: name,
            target,
            title,
            description,
            status,
        } => {
            let exec = executor.ok_or_else(|| no_provider("Deploy"))?;
            // The phase moves to Deploying before the call: a restart then follows the deploy by
            // its title and never sends it again.
            store.write_status(&namespace, name, status).await?;
            let mut rec = find(records, name)?.clone();
            rec.status = Some((**status).clone());
            let action = Action::Deploy {
                target: target.clone(),
                title: title.clone(),
                description: description.clone(),
            };
            match exec.perform(&action).await {
                Ok(_) => Ok(None),
                Err(ExecError::Transient(e)) => {
                    // Maybe sent, maybe not: following it decides (it fails if it never appears).
                    tracing::warn!(error = %e, "deploy call failed; following it by title");
                    Ok(Some(settings.poll_delay))
                }
                Err(e) => refused_fails_record(store, &rec, &namespace, "Deploy", e, clock).await,
            }
        }
        Step::FollowDeployment {
            record: name,
            target,
            title,
            description,
        } => {
            let exec = executor.ok_or_else(|| no_provider("FollowDeployment"))?;
            // By title first, always: a deploy that exists is followed, never sent again.
            let found = exec
                .find_deployment(target, title)
                .await
                .map_err(|error| DriveError::Step {
                    step: "FollowDeployment",
                    error,
                })?;
            let rec = find(records, name)?;
            let now = clock.now();
            let activity = if found.is_none() && record::resend_due(rec, settings, now) {
                match exec.deploy_activity(target).await {
                    Ok(activity) => Some(activity),
                    Err(error) => {
                        // Without proof that Dokploy is idle for the target, nothing is re-sent.
                        tracing::warn!(%error, "cannot read Dokploy's deploy activity; not re-sending");
                        None
                    }
                }
            } else {
                None
            };
            let outcome = record::follow(rec, found.as_ref(), activity.as_ref(), settings, now);
            if let Some(status) = &outcome.status {
                store.write_status(&namespace, name, status).await?;
            }
            if outcome.resend {
                // `resentAt` is written above, first: a restart from here never sends it a third time.
                tracing::warn!(%title, "no deployment appeared and Dokploy shows none under way: sending the deploy again, once");
                let action = Action::Deploy {
                    target: target.clone(),
                    title: title.clone(),
                    description: description.clone(),
                };
                match exec.perform(&action).await {
                    Ok(_) => {}
                    Err(ExecError::Transient(e)) => {
                        tracing::warn!(error = %e, "re-sent deploy call failed; following it by title");
                    }
                    Err(e) => {
                        let mut rec = rec.clone();
                        rec.status = outcome.status.clone();
                        return refused_fails_record(store, &rec, &namespace, "Deploy", e, clock).await;
                    }
                }
            }
            Ok(outcome.wait.then_some(settings.poll_delay))
        }
        Step::WriteRecord {
            record: name,
            status,
            wait,
        } => {
            store.write_status(&namespace, name, status).await?;
            Ok(wait.then_some(settings.poll_delay))
        }
        Step::PruneRecords { names } => {
            for n in names {
                store.delete(&namespace, n).await?;
            }
            Ok(None)
        }
        Step::EnsureSchedule {
            record: name,
            want,
            known,
            intent,
        } => {
            let exec = executor.ok_or_else(|| no_provider("PostDeploy"))?;
            let mut rec = find(records, name)?.clone();
            if intent.is_none() {
                // The intent first: a restart after `schedule.create` adopts what it made.
                let status = post_deploy::schedule_requested(&rec, clock.now());
                store.write_status(&namespace, name, &status).await?;
                rec.status = Some(status);
            }
            match exec.ensure_schedule(want, known, *intent).await {
                Ok((schedule, previous)) => {
                    let status = post_deploy::scheduled(&rec, &schedule, previous, clock.now());
                    store.write_status(&namespace, name, &status).await?;
                    Ok(None)
                }
                Err(e) => refused_fails_record(store, &rec, &namespace, "PostDeploy", e, clock).await,
            }
        }
        Step::RunCommand {
            record: name,
            schedule: schedule_id,
            status,
        } => {
            let exec = executor.ok_or_else(|| no_provider("PostDeploy"))?;
            // The intent first: a restart from here reads the run history, never runs it again.
            store.write_status(&namespace, name, status).await?;
            let mut rec = find(records, name)?.clone();
            rec.status = Some((**status).clone());
            let Some(intent) = post_deploy::run_of(&rec).cloned() else {
                return Err(DriveError::RecordGone(name.clone()));
            };
            let run = match exec.run_schedule(schedule_id, budget).await {
                Ok(answer) => schedule::answered(&intent, &answer, clock.now()),
                Err(ExecError::Transient(e)) => {
                    // Maybe running, maybe done, maybe never started: the history settles it.
                    tracing::warn!(error = %e, schedule = %schedule_id, "no answer from the post-deploy run; reading its history next");
                    return Ok(Some(settings.poll_delay));
                }
                Err(e) => CommandRun {
                    result: Some(CommandResult::Failed),
                    finished_at: Some(Time(clock.now())),
                    message: Some(format!(
                        "Dokploy refused to run the post-deploy schedule: {}",
                        e.message()
                    )),
                    ..intent
                },
            };
            let wait = run.result == Some(CommandResult::Unknown);
            store
                .write_status(&namespace, name, &post_deploy::with_run(&rec, run, clock.now()))
                .await?;
            Ok(wait.then_some(settings.poll_delay))
        }
        Step::SettleCommand {
            record: name,
            schedule: schedule_id,
        } => {
            let exec = executor.ok_or_else(|| no_provider("PostDeploy"))?;
            let rec = find(records, name)?;
            let Some(run) = post_deploy::run_of(rec) else {
                return Ok(None);
            };
            let runs = exec
                .schedule_runs(schedule_id)
                .await
                .map_err(|error| DriveError::Step {
                    step: "PostDeploy",
                    error,
                })?;
            match schedule::settle(run, &runs, settings.start_timeout, clock.now()) {
                Settled::Done(run) => {
                    let status = post_deploy::with_run(rec, run, clock.now());
                    store.write_status(&namespace, name, &status).await?;
                    Ok(None)
                }
                Settled::Wait => Ok(Some(settings.poll_delay)),
            }
        }
    }
}

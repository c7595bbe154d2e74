//! DataBootstrap: run one data bootstrap of a lane, in both shells. The pure core decides
//! ([`launchplane_core::bootstrap`]); this reconcile reads the world, performs the one step
//! the plan names, records what it answered, and writes the status after each step.
//!
//! ```text
//!  caches: the Lane, its Product and ProviderTarget, the lane's DeploymentRecords (a deploy in
//!          flight), the namespace's BackupGates, Promotions and DataBootstraps
//!  before it starts: the compose read fresh (a Manage, Matched compose with the lane's marker)
//!        │
//!        ▼
//!  plan ─► write the status (for a run: its intent) ─► perform:
//!    RunBootstrap   schedule.create once (marked with this DataBootstrap, id recorded) ─►
//!                   schedule.runManually (answers when the command ends)
//!    RunPostDeploy  the lane's post-deploy schedule (found by its marker, else created) ─► run
//!    Settle         deployment.allByType type=schedule of the run's schedule
//!    Verify         the lane's driver checks at its base URL, and its runtime identity probed
//!  ─► record ─► write ─► plan again (within the drive's steps and time)
//! ```
//!
//! Secrets never enter a command line: the commands read them from the compose env.

use crate::engine::executor::{ExecError, Executor};
use crate::engine::kinds::runtime_identity::probe_within;
use crate::engine::lane_records::lane_records;
use crate::engine::verification;
use crate::engine::{
    Reconciled, Result, StatusStore, Wake, World, commit, namespace_and_name, ready_message,
};
use crate::error_policy::jittered;
use jiff::Timestamp;
use kube::runtime::reflector::ObjectRef;
use launchplane_api::resources::{BackupGate, DataBootstrap, Lane, Product, Promotion, ProviderTarget};
use launchplane_core::bootstrap::{
    self, BootstrapInputs, Event, History, RunAnswer, RunStage, Step, evidence, target,
};
use launchplane_core::lane;
use launchplane_core::runtime_identity::{probe_target, reconcile as classify_identity};
use launchplane_core::schedule::{self, ScheduleWant};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A settled or blocked bootstrap is still looked at now and then (a lane's status may change
/// what it waits for without waking it).
const IDLE_RECHECK: Duration = Duration::from_secs(300);

/// Reconcile one DataBootstrap: as many steps as [`World::drive`] allows, the status written
/// after each.
#[tracing::instrument(skip_all, fields(kind = "DataBootstrap", name = %b.metadata.name.as_deref().unwrap_or_default(), namespace = b.metadata.namespace.as_deref().unwrap_or_default()))]
pub async fn reconcile<S: StatusStore>(
    b: Arc<DataBootstrap>,
    world: &World,
    store: &S,
) -> Result<Reconciled> {
    let (namespace, _) = namespace_and_name(b.as_ref())?;
    let caches = &world.caches;
    caches.lanes.synced().await;
    caches.products.synced().await;
    caches.targets.synced().await;
    caches.records.synced().await;
    caches.backup_gates.synced().await;
    caches.promotions.synced().await;
    caches.data_bootstraps.synced().await;
    let lane_name = b.spec.lane_ref.name.clone();
    let lane = caches.get::<Lane>(&namespace, &lane_name);
    let product = lane
        .as_ref()
        .and_then(|l| caches.get::<Product>(&namespace, &l.spec.product_ref.name));
    let target = lane
        .as_ref()
        .and_then(|l| caches.get::<ProviderTarget>(&namespace, &l.spec.target_ref.name));
    let records = match &lane {
        Some(l) => lane_records(world, store, l, &namespace).await?,
        None => Vec::new(),
    };
    let gates = caches.in_namespace::<BackupGate>(&namespace);
    let gates: Vec<&BackupGate> = gates.iter().map(AsRef::as_ref).collect();
    let promotions = caches.in_namespace::<Promotion>(&namespace);
    let promotions: Vec<&Promotion> = promotions.iter().map(AsRef::as_ref).collect();
    let executor = target
        .as_ref()
        .and_then(|t| {
            world
                .providers
                .provider(&format!("{namespace}/{}", t.spec.provider_config_ref.name))
        })
        .map(Executor::new);
    let run = Run {
        world,
        lane: lane.as_deref(),
        product: product.as_deref(),
        target: target.as_deref(),
        executor: executor.as_ref(),
        identity: lane.as_ref().and_then(|l| store.lane_identity(l)),
    };

    let started = Instant::now();
    let limits = world.wait_budget(world.drive.deadline);
    let mut current = b.as_ref().clone();
    let mut steps = 0usize;
    loop {
        let now = world.now();
        let others = caches.in_namespace::<DataBootstrap>(&namespace);
        let mut bootstraps: Vec<&DataBootstrap> = others
            .iter()
            .map(AsRef::as_ref)
            .filter(|o| o.metadata.name != current.metadata.name)
            .collect();
        bootstraps.push(&current);
        // Only before it starts is the compose read: once the command may have run, what
        // Dokploy holds of it is settled from the schedule, never refused anew.
        let refusal = if bootstrap::started_at(&current).is_none() {
            run.refusal(&current).await
        } else {
            None
        };
        let product_command = target::product_command(run.product);
        let plan = bootstrap::plan(&BootstrapInputs {
            bootstrap: &current,
            lane: run.lane,
            records: &records,
            bootstraps: &bootstraps,
            gates: &gates,
            promotions: &promotions,
            product_command,
            target_refusal: refusal.as_deref(),
            now,
        });
        let wake = lane_wake(&namespace, &lane_name);
        let next = |at: Option<Timestamp>| match at {
            Some(at) => {
                let secs = at.duration_since(now).as_secs().max(1);
                Reconciled::after(jittered(Duration::from_secs(secs.unsigned_abs())))
            }
            None => Reconciled::after(jittered(IDLE_RECHECK)),
        };
        let acting = !matches!(plan.step, Step::Done | Step::Wait { .. });
        // Out of steps or time: stop before the status is written, since for a run that write
        // is its intent, and an intent with no run behind it reads after a restart as a run
        // whose answer was lost.
        if acting && (steps >= world.drive.max_steps || started.elapsed() >= limits) {
            return Ok(next(Some(now)).waking(wake));
        }
        let status = plan.outcome.status.clone();
        let message = ready_message(&status.conditions);
        // For RunBootstrap and RunPostDeploy this write is the intent: it lands before the run.
        commit(store, &current, &status, Some(&message)).await?;
        current.status = Some(status);
        let event = match plan.step {
            Step::Done | Step::Wait { .. } => return Ok(next(plan.requeue_at).waking(wake)),
            Step::RunBootstrap => {
                run.bootstrap(&mut current, store, limits.saturating_sub(started.elapsed()))
                    .await?
            }
            Step::RunPostDeploy => {
                run.post_deploy(&current, limits.saturating_sub(started.elapsed()))
                    .await
            }
            Step::Settle(stage) => run.settle(&current, stage).await,
            Step::Verify => Event::Verified(Box::new(run.verify(now).await)),
        };
        steps += 1;
        tracing::info!(step = ?plan.step, "data bootstrap step");
        let recorded = bootstrap::record(&current, event, world.now());
        commit(store, &current, &recorded, None).await?;
        current.status = Some(recorded);
        // A settle or check that changed nothing is looked at again later, not in a spin.
        if matches!(plan.step, Step::Settle(_) | Step::Verify)
            && current.status.as_ref().and_then(|s| s.phase) == plan.outcome.status.phase
        {
            return Ok(next(plan.requeue_at).waking(wake));
        }
    }
}

/// The lane's status follows its bootstraps.
fn lane_wake(namespace: &str, lane: &str) -> Vec<Wake> {
    vec![Wake::Lane(ObjectRef::new(lane).within(namespace))]
}

/// What one reconcile acts on.
struct Run<'a> {
    world: &'a World,
    lane: Option<&'a Lane>,
    product: Option<&'a Product>,
    target: Option<&'a ProviderTarget>,
    executor: Option<&'a Executor>,
    identity: Option<launchplane_api::resources::RuntimeIdentity>,
}

impl Run<'_> {
    /// Why nothing may run on the lane's compose (read fresh), if anything forbids it.
    async fn refusal(&self, b: &DataBootstrap) -> Option<String> {
        let lane = self.lane?;
        let command = target::command(b, self.product)?;
        self.schedules(b, lane, command).await.err()
    }

    async fn schedules(
        &self,
        b: &DataBootstrap,
        lane: &Lane,
        command: &str,
    ) -> std::result::Result<target::Schedules, String> {
        target::compose_of(lane, self.product, self.target)?;
        let (Some(executor), Some(t)) = (self.executor, self.target.and_then(lane::target_ref)) else {
            return Err("no Dokploy client for the lane's ProviderConfig".into());
        };
        let read = executor.read_target(&t).await.map_err(|e| e.to_string());
        let description = match &read {
            Ok(facts) => Ok(facts.description.as_deref()),
            Err(e) => Err(e.as_str()),
        };
        target::schedules(
            b,
            lane,
            self.product,
            self.target,
            description,
            command,
            &self.world.instance,
        )
    }

    /// Create (once) the bootstrap's schedule, record its id, then send the run once.
    async fn bootstrap<S: StatusStore>(
        &self,
        current: &mut DataBootstrap,
        store: &S,
        wait: Duration,
    ) -> Result<Event> {
        let not_started = |message: String| Event::Answered {
            stage: RunStage::Bootstrap,
            answer: RunAnswer::NotStarted { message },
        };
        let (Some(lane), Some(command)) = (self.lane, target::command(current, self.product)) else {
            return Ok(not_started("the lane or the bootstrap command is gone".into()));
        };
        let want = match self.schedules(current, lane, command).await {
            Ok(s) => s.bootstrap,
            Err(why) => return Ok(not_started(why)),
        };
        let Some(executor) = self.executor else {
            return Ok(not_started(
                "no Dokploy client for the lane's ProviderConfig".into(),
            ));
        };
        let known: Vec<String> = recorded_schedule(current).into_iter().collect();
        let schedule_id = match executor.ensure_schedule(&want, &known, admitted(current)).await {
            Ok((id, _)) => id,
            // Whether Dokploy created it is not known: the history (by marker) settles it.
            Err(ExecError::Transient(e)) => {
                return Ok(Event::Answered {
                    stage: RunStage::Bootstrap,
                    answer: RunAnswer::Lost {
                        message: format!("creating the schedule: {e}"),
                    },
                });
            }
            Err(e) => {
                return Ok(not_started(format!(
                    "Dokploy refused the schedule: {}",
                    e.message()
                )));
            }
        };
        let recorded = bootstrap::record(
            current,
            Event::ScheduleCreated {
                schedule_id: schedule_id.clone(),
            },
            self.world.now(),
        );
        commit(store, current, &recorded, None).await?;
        current.status = Some(recorded);
        Ok(Event::Answered {
            stage: RunStage::Bootstrap,
            answer: send(executor, &schedule_id, wait).await,
        })
    }

    /// Run the lane's post-deploy command once (none configured: nothing runs, and it says so).
    async fn post_deploy(&self, current: &DataBootstrap, wait: Duration) -> Event {
        let answered = |answer| Event::Answered {
            stage: RunStage::PostDeploy,
            answer,
        };
        let want = match self.post_deploy_want(current).await {
            Ok(Some(want)) => want,
            Ok(None) => {
                return answered(RunAnswer::Finished {
                    succeeded: true,
                    deployment_id: None,
                    message: "the lane names no post-deploy command, so none ran".into(),
                });
            }
            Err(why) => return answered(RunAnswer::NotStarted { message: why }),
        };
        let Some(executor) = self.executor else {
            return answered(RunAnswer::NotStarted {
                message: "no Dokploy client for the lane's ProviderConfig".into(),
            });
        };
        match executor.ensure_schedule(&want, &[], admitted(current)).await {
            Ok((id, _)) => answered(send(executor, &id, wait).await),
            Err(ExecError::Transient(e)) => answered(RunAnswer::Lost {
                message: format!("the post-deploy schedule: {e}"),
            }),
            Err(e) => answered(RunAnswer::NotStarted {
                message: format!("Dokploy refused the post-deploy schedule: {}", e.message()),
            }),
        }
    }

    /// The bootstrap's post-deploy schedule (the lane's command, marked with this
    /// DataBootstrap). Once the bootstrap ran, the compose is not refused anew: its id is the
    /// lane's target's, as when the bootstrap started.
    async fn post_deploy_want(
        &self,
        current: &DataBootstrap,
    ) -> std::result::Result<Option<ScheduleWant>, String> {
        let lane = self.lane.ok_or("the lane is gone")?;
        let compose_id = target::compose_of(lane, self.product, self.target)?;
        Ok(target::post_deploy_want(
            current,
            lane,
            self.product,
            &compose_id,
            &self.world.instance,
        ))
    }

    /// Read the history of the schedule whose run's answer was lost.
    async fn settle(&self, current: &DataBootstrap, stage: RunStage) -> Event {
        let history = self.history(current, stage).await;
        Event::History { stage, history }
    }

    async fn history(&self, current: &DataBootstrap, stage: RunStage) -> History {
        let Some(executor) = self.executor else {
            return History::Unreadable {
                message: "no Dokploy client for the lane's ProviderConfig".into(),
            };
        };
        let recorded = current.status.as_ref().and_then(|s| s.schedule_id.clone());
        let schedule_id = match (stage, recorded) {
            (RunStage::Bootstrap, Some(id)) => Some(id),
            // Stopped between the intent and recording the schedule: find it by our marker.
            (RunStage::Bootstrap, None) => {
                let Some(lane) = self.lane else {
                    return History::Unreadable {
                        message: "the lane is gone".into(),
                    };
                };
                let Some(command) = target::command(current, self.product) else {
                    return History::Unreadable {
                        message: "the bootstrap command is gone".into(),
                    };
                };
                let compose_id = match target::compose_of(lane, self.product, self.target) {
                    Ok(id) => id,
                    Err(message) => return History::Unreadable { message },
                };
                let want = ScheduleWant {
                    compose_id: compose_id.clone(),
                    service: String::new(),
                    purpose: target::PURPOSE.into(),
                    owner: target::owner(current, &self.world.instance),
                    command: command.to_string(),
                };
                match executor.compose_schedules(&compose_id).await {
                    Ok(list) => match marked(&want, &list, current) {
                        Ok(id) => id,
                        Err(message) => return History::Unreadable { message },
                    },
                    Err(e) => {
                        return History::Unreadable {
                            message: e.to_string(),
                        };
                    }
                }
            }
            (RunStage::PostDeploy, _) => match self.post_deploy_want(current).await {
                Ok(Some(want)) => match executor.compose_schedules(&want.compose_id).await {
                    Ok(list) => match marked(&want, &list, current) {
                        Ok(id) => id,
                        Err(message) => return History::Unreadable { message },
                    },
                    Err(e) => {
                        return History::Unreadable {
                            message: e.to_string(),
                        };
                    }
                },
                Ok(None) => None,
                Err(message) => return History::Unreadable { message },
            },
        };
        let observed_at = self.world.now();
        let Some(schedule_id) = schedule_id else {
            return History::NoSchedule { observed_at };
        };
        match executor.schedule_runs(&schedule_id).await {
            Ok(rows) => History::Runs {
                runs: evidence::runs(&rows),
                observed_at,
            },
            Err(e) => History::Unreadable {
                message: e.to_string(),
            },
        }
    }

    /// The lane's driver checks at its base URL, and its runtime identity probed now.
    async fn verify(&self, now: Timestamp) -> bootstrap::Verification {
        let Some(lane) = self.lane else {
            return evidence::verification(&[], None, now);
        };
        let target_ref = self.target.and_then(lane::target_ref);
        let base = verification::base_url(lane, self.product, self.target, target_ref.as_ref(), None, now);
        let requests = launchplane_core::verification::requests(self.product, &base);
        let checks = verification::run_checks(&self.world.prober, &requests, &base, now).await;
        let identity = match &self.identity {
            Some(child) => {
                let timeout =
                    Duration::from_secs(u64::try_from(child.spec.timeout_seconds.clamp(1, 60)).unwrap_or(5));
                let probe = probe_within(&self.world.prober, &probe_target(&child.spec), timeout).await;
                let mut probed = child.clone();
                probed.status = Some(classify_identity(child, Some(&probe), now).status);
                launchplane_core::verification::identity_from_child(Some(&probed))
            }
            None => None,
        };
        evidence::verification(&checks, identity.as_ref(), now)
    }
}

/// Send a run once and classify its answer.
/// The bootstrap schedule the DataBootstrap recorded.
fn recorded_schedule(current: &DataBootstrap) -> Option<String> {
    current.status.as_ref().and_then(|s| s.schedule_id.clone())
}

/// When the DataBootstrap was admitted (its intent recorded, before any schedule of its was
/// created): a schedule carrying its marker made before then is not its.
fn admitted(current: &DataBootstrap) -> Option<jiff::Timestamp> {
    current
        .status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .map(|t| t.0)
}

/// The DataBootstrap's schedule for `want` among `list`, by [`schedule::choose`]: none yet, its
/// own, or a Conflict (a marked schedule it did not make).
fn marked(
    want: &ScheduleWant,
    list: &[launchplane_providers::ScheduleView],
    current: &DataBootstrap,
) -> std::result::Result<Option<String>, String> {
    let known: Vec<String> = recorded_schedule(current).into_iter().collect();
    match schedule::choose(want, list, &known, admitted(current)) {
        schedule::Choice::Recorded(s) | schedule::Choice::Adopt(s) => Ok(Some(s.schedule_id.clone())),
        schedule::Choice::Create => Ok(None),
        schedule::Choice::Conflict(why) => Err(why),
    }
}

async fn send(executor: &Executor, schedule_id: &str, wait: Duration) -> RunAnswer {
    match executor
        .run_schedule(schedule_id, wait.max(Duration::from_secs(5)))
        .await
    {
        Ok(answer) => evidence::answer(&answer),
        // Even a refusal may come after Dokploy started the run: the history settles it.
        Err(e) => RunAnswer::Lost {
            message: e.to_string(),
        },
    }
}

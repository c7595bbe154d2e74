//! Lane benchmarks: lanes deployed for real through the driver against the simulator (setup,
//! not measured), then the settled loop measured: shared poll + one drive per lane (records
//! listed from an in-memory store as the kube shell's reflector would hold them, facts from
//! the poller, identity probe, plan).

use super::{NS, client, client_for, cpu_ms, proc_status_kb};
use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use launchplane::engine::driver::{DriveLimits, LaneWorld, PolledFacts, drive};
use launchplane::engine::executor::Executor;
use launchplane::engine::store::{RecordStore, StoreError};
use launchplane::observe::poller::Poller;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane_api::conditions::SystemClock;
use launchplane_api::resources::{
    Artifact, ArtifactImage, ArtifactSpec, DeploymentRecord, DeploymentRecordStatus, Lane,
    LaneRuntimeIdentity, LaneSpec, LocalObjectRef, ManagementPolicy, Product, ProductSpec, ProviderTarget,
    ProviderTargetSpec, ProviderTargetStatus, RuntimeIdentity, SourceRef, TargetCategory,
};
use launchplane_api::verdict::Verdict;
use launchplane_core::deployment_record::DeploySettings;
use launchplane_core::lane::{self, LaneInputs};
use launchplane_core::observation::{PollSettings, TrackedTarget};
use launchplane_core::target::DesiredEnv;
use launchplane_e2e::sim::{DokploySim, SeedApplication, SimConfig};
use launchplane_providers::{Provider, SecretString, TargetCategory as ProviderCategory};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const OLD_IMAGE: &str = "ghcr.io/acme/shop:old";

/// Records by lane, in memory (what a reflector store holds in the cluster).
#[derive(Default)]
pub struct MemoryStore {
    by_lane: Mutex<HashMap<String, Vec<DeploymentRecord>>>,
}

fn lane_of(r: &DeploymentRecord) -> String {
    r.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(launchplane_core::deployment_record::LANE_LABEL))
        .cloned()
        .unwrap_or_default()
}

impl MemoryStore {
    pub fn from_records(records: Vec<DeploymentRecord>) -> Self {
        let mut by_lane: HashMap<String, Vec<DeploymentRecord>> = HashMap::new();
        for r in records {
            by_lane.entry(lane_of(&r)).or_default().push(r);
        }
        MemoryStore {
            by_lane: Mutex::new(by_lane),
        }
    }

    pub fn all(&self) -> Vec<DeploymentRecord> {
        self.by_lane.lock().unwrap().values().flatten().cloned().collect()
    }
}

impl RecordStore for MemoryStore {
    fn list<'a>(
        &'a self,
        _namespace: &'a str,
        lane: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Vec<DeploymentRecord>, StoreError>> {
        let out = self
            .by_lane
            .lock()
            .unwrap()
            .get(lane)
            .cloned()
            .unwrap_or_default();
        Box::pin(async move { Ok(out) })
    }

    fn create<'a>(
        &'a self,
        record: &'a DeploymentRecord,
    ) -> futures::future::BoxFuture<'a, Result<(), StoreError>> {
        let mut map = self.by_lane.lock().unwrap();
        let list = map.entry(lane_of(record)).or_default();
        if !list.iter().any(|r| r.metadata.name == record.metadata.name) {
            list.push(record.clone());
        }
        Box::pin(async { Ok(()) })
    }

    fn write_status<'a>(
        &'a self,
        _namespace: &'a str,
        name: &'a str,
        status: &'a DeploymentRecordStatus,
    ) -> futures::future::BoxFuture<'a, Result<(), StoreError>> {
        let mut map = self.by_lane.lock().unwrap();
        for r in map.values_mut().flatten() {
            if r.metadata.name.as_deref() == Some(name) {
                r.status = Some(status.clone());
            }
        }
        Box::pin(async { Ok(()) })
    }

    fn delete<'a>(
        &'a self,
        _namespace: &'a str,
        name: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<(), StoreError>> {
        let mut map = self.by_lane.lock().unwrap();
        for list in map.values_mut() {
            list.retain(|r| r.metadata.name.as_deref() != Some(name));
        }
        Box::pin(async { Ok(()) })
    }
}

/// The controller instance the benchmark's lanes mark their targets as.
const INSTANCE: &str = "bench";

pub fn product() -> Product {
    let mut p = Product::new(
        "shop",
        ProductSpec {
            display_name: "Shop".into(),
            repository: "github.com/acme/shop".into(),
            image_repository: "ghcr.io/acme/shop".into(),
            ..Default::default()
        },
    );
    p.metadata.namespace = Some(NS.into());
    p
}

pub fn artifact() -> Artifact {
    let mut a = Artifact::new(
        "shop-a",
        ArtifactSpec {
            image: ArtifactImage {
                repository: "ghcr.io/acme/shop".into(),
                digest: format!("sha256:{}", "a".repeat(64)),
            },
            source: SourceRef {
                repository: "github.com/acme/shop".into(),
                commit: "a".repeat(40),
            },
            ..Default::default()
        },
    );
    a.metadata.namespace = Some(NS.into());
    a
}

/// Lane `i` on app `app` (reachable at `url`) and its bound, Matched ProviderTarget.
pub fn lane_objects(i: usize, app: &str, url: &str) -> (Lane, ProviderTarget) {
    let name = format!("lane-{i:05}");
    let mut target = ProviderTarget::new(
        &name,
        ProviderTargetSpec {
            provider_config_ref: LocalObjectRef::new(super::CONFIG),
            target_category: TargetCategory::Application,
            target_id: Some(app.to_string()),
            display_name: name.clone(),
            management_policy: ManagementPolicy::Manage,
            ..Default::default()
        },
    );
    target.metadata.namespace = Some(NS.into());
    target.status = Some(ProviderTargetStatus {
        verdict: Some(Verdict::Matched),
        bound_target_id: Some(app.to_string()),
        ..Default::default()
    });
    let mut lane = Lane::new(
        &name,
        LaneSpec {
            product_ref: LocalObjectRef::new("shop"),
            stage: format!("s{i:05}"),
            target_ref: LocalObjectRef::new(&name),
            artifact_ref: Some(LocalObjectRef::new("shop-a")),
            runtime_identity: LaneRuntimeIdentity {
                required: true,
                base_url: Some(url.to_string()),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    lane.metadata.namespace = Some(NS.into());
    lane.metadata.uid = Some(format!("uid-{i:05}"));
    lane.metadata.generation = Some(1);
    (lane, target)
}

pub fn desired_env() -> DesiredEnv {
    DesiredEnv::from([("APP_ENV".to_string(), SecretString::new("bench"))])
}

/// What the parent hands the steady-state child: the lanes' apps and their records.
#[derive(Serialize, Deserialize)]
pub struct Fleet {
    pub apps: Vec<(String, String)>,
    pub records: Vec<DeploymentRecord>,
}

/// One lane as a shell holds it between reconciles.
pub struct Held {
    pub lane: Lane,
    pub target: ProviderTarget,
    pub identity: Option<RuntimeIdentity>,
}

/// Drive every lane once (bounded concurrency, like the kube controller's workers); returns
/// (lanes Matched, steps taken). Each lane's new status and identity child replace the held
/// ones as soon as its drive returns, as a shell writes them per reconcile: no cycle keeps all
/// N reports (and the old statuses beside them) alive at once.
#[allow(clippy::too_many_arguments)]
pub async fn drive_all(
    held: &mut [Held],
    executor: &Executor,
    prober: &Prober,
    store: &MemoryStore,
    polled: Option<PolledFacts>,
    limits: DriveLimits,
    settings: &DeploySettings,
    concurrency: usize,
) -> (usize, usize) {
    let product = product();
    let artifact = artifact();
    let env = desired_env();
    futures::stream::iter(held.iter_mut())
        .map(|h| {
            let (product, artifact, env, polled) = (&product, &artifact, &env, polled.clone());
            async move {
                let world = LaneWorld {
                    lane: &h.lane,
                    lane_key: h.lane.metadata.name.clone().unwrap_or_default(),
                    feed: launchplane_core::promotion::feed(&h.lane, &[]),
                    product: Some(product),
                    target: Some(&h.target),
                    artifact: Some(artifact),
                    desired_env: Ok(env.clone()),
                    identity: h.identity.take(),
                    polled,
                    instance: INSTANCE,
                    rivals: Vec::new(),
                };
                let report = drive(
                    &world,
                    Some(executor),
                    prober,
                    store,
                    settings,
                    limits,
                    &SystemClock,
                )
                .await;
                let previous = world.identity;
                let plan = report.plan;
                let matched = plan.outcome.status.verdict == Some(Verdict::Matched);
                h.identity = plan.identity.or(previous);
                h.lane.status = Some(plan.outcome.status);
                (usize::from(matched), report.steps.len())
            }
        })
        .buffer_unordered(concurrency)
        .fold((0, 0), |(matched, steps), (m, s)| async move {
            (matched + m, steps + s)
        })
        .await
}

/// Seed `n` apps and deploy a lane onto each through the real driver (setup, not measured).
pub async fn deployed_fleet(n: usize) -> (DokploySim, Fleet, Vec<Held>, Duration) {
    let started = Instant::now();
    let sim = DokploySim::start(SimConfig {
        api_key: format!("bench-lanes-{n}"),
        deploy_duration: Duration::from_millis(1),
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let (_, env) = sim.seed_project("lanes");
    let mut apps = Vec::with_capacity(n);
    for i in 0..n {
        let id = sim
            .seed_application(
                &env,
                SeedApplication {
                    name: format!("lane-app-{i:05}"),
                    docker_image: Some(OLD_IMAGE.into()),
                    env: Some("KEEP=1\n".into()),
                    domains: vec![format!("lane-{i:05}.bench.test")],
                    deployed: true,
                    ..SeedApplication::default()
                },
            )
            .expect("seed");
        let url = sim.app_url(&id).expect("app url");
        apps.push((id, url));
    }
    let mut held: Vec<Held> = apps
        .iter()
        .enumerate()
        .map(|(i, (id, url))| {
            let (lane, target) = lane_objects(i, id, url);
            Held {
                lane,
                target,
                identity: None,
            }
        })
        .collect();
    let executor = Executor::new(client(&sim));
    let prober = Prober::new(ProberConfig::default()).expect("prober");
    let store = MemoryStore::default();
    let settings = DeploySettings {
        poll_delay: Duration::from_millis(5),
        ..DeploySettings::default()
    };
    let limits = DriveLimits {
        max_steps: 50,
        deadline: Duration::from_secs(120),
    };
    let (matched, _) = drive_all(&mut held, &executor, &prober, &store, None, limits, &settings, 32).await;
    assert_eq!(matched, n, "every lane deployed and verified");
    let fleet = Fleet {
        apps,
        records: store.all(),
    };
    (sim, fleet, held, started.elapsed())
}

/// Pure core: `lane::plan` over in-sync lanes (inputs captured from the deployed fleet).
pub async fn plans_per_second(
    sim: &DokploySim,
    fleet: &Fleet,
    held: &[Held],
    sample: usize,
    min: Duration,
) -> f64 {
    let provider: Arc<dyn Provider> = client(sim);
    let mut poller = Poller::new(
        provider,
        PollSettings {
            detail_interval: SignedDuration::from_secs(3600),
            ..PollSettings::default()
        },
    );
    let tracked: BTreeSet<TrackedTarget> = fleet
        .apps
        .iter()
        .take(sample)
        .map(|(id, _)| (ProviderCategory::Application, id.clone()))
        .collect();
    poller.poll(&tracked, Timestamp::now()).await;
    let facts = poller.facts();
    let prober = Prober::new(ProberConfig::default()).expect("prober");
    let store = MemoryStore::from_records(fleet.records.clone());
    let product = product();
    let artifact = artifact();
    let env = desired_env();
    let settings = DeploySettings::default();
    let mut captured = Vec::new();
    for (h, (id, _)) in held.iter().zip(&fleet.apps).take(sample) {
        let records = store
            .list(NS, h.lane.metadata.name.as_deref().unwrap_or_default())
            .await
            .unwrap();
        let endpoint = lane::endpoint(&h.lane, Some(&product), Some(&h.target)).expect("endpoint");
        let probe = prober.probe(&endpoint).await;
        let f = facts
            .get(ProviderCategory::Application, id)
            .expect("facts")
            .facts
            .clone();
        captured.push((records, f, probe));
    }
    let now = Timestamp::now();
    super::rate(min, captured.len(), || {
        for ((records, f, probe), h) in captured.iter().zip(held) {
            let plan = lane::plan(
                &LaneInputs {
                    lane: &h.lane,
                    lane_key: h.lane.metadata.name.as_deref().unwrap_or_default(),
                    feed: &launchplane_core::promotion::feed(&h.lane, &[]),
                    product: Some(&product),
                    target: Some(&h.target),
                    artifact: Some(&artifact),
                    records,
                    desired_env: Ok(&env),
                    facts: Some(Ok(f.as_ref())),
                    probe: Some(probe),
                    identity: h.identity.as_ref(),
                    health: &[],
                    settings: &settings,
                    instance: INSTANCE,
                    rivals: &[],
                },
                now,
            );
            assert!(plan.step.is_none(), "{:?}", plan.step);
            assert_eq!(plan.outcome.status.verdict, Some(Verdict::Matched));
            black_box(plan);
        }
    })
}

#[derive(Debug, Serialize, Deserialize)]
pub struct LaneSteady {
    pub n: usize,
    /// RSS with the lanes, targets and records loaded, before the first poll.
    pub rss_loaded_kb: u64,
    /// RSS after the first poll (10,000 detail reads), before the first drives.
    pub rss_polled_kb: u64,
    pub rss_after_first_kb: u64,
    pub hwm_kb: u64,
    pub rss_end_kb: u64,
    pub first_cycle_ms: f64,
    pub first_cycle_detail: u32,
    pub window_s: f64,
    pub cycles: u32,
    pub cpu_ms_window: f64,
    pub cpu_ms_per_cycle: f64,
    pub wall_ms_per_cycle: f64,
    /// Detail reads the poller made in the measured cycles, in total.
    pub poller_detail_window: u64,
    pub org_wide_window: u64,
    pub steps_window: usize,
    pub matched_min: usize,
}

/// The child: `n` settled lanes; each cycle is one shared poll, then one drive per lane.
pub async fn steady_child(
    url: String,
    key: String,
    fleet_path: String,
    interval: Duration,
    window: Duration,
) {
    let fleet: Fleet =
        serde_json::from_slice(&std::fs::read(&fleet_path).expect("fleet file")).expect("fleet");
    let n = fleet.apps.len();
    let provider: Arc<dyn Provider> = client_for(&url, &key);
    let settings = PollSettings {
        poll_interval: SignedDuration::try_from(interval).unwrap(),
        detail_interval: SignedDuration::from_secs(3600),
        stale_after_polls: 3,
    };
    let mut poller = Poller::new(provider.clone(), settings);
    let tracked: BTreeSet<TrackedTarget> = fleet
        .apps
        .iter()
        .map(|(id, _)| (ProviderCategory::Application, id.clone()))
        .collect();
    let mut held: Vec<Held> = fleet
        .apps
        .iter()
        .enumerate()
        .map(|(i, (id, url))| {
            let (lane, target) = lane_objects(i, id, url);
            Held {
                lane,
                target,
                identity: None,
            }
        })
        .collect();
    let store = MemoryStore::from_records(fleet.records);
    drop(fleet.apps);
    let executor = Executor::new(provider);
    let prober = Prober::new(ProberConfig::default()).expect("prober");
    let deploy = DeploySettings::default();
    let limits = DriveLimits::default();
    let polled = |poller: &Poller| PolledFacts {
        facts: poller.facts(),
        max_age: poller.settings().detail_interval,
    };

    let rss_loaded_kb = proc_status_kb("VmRSS:");
    let started = Instant::now();
    poller.poll(&tracked, Timestamp::now()).await;
    let first_cycle_detail = poller.snapshot().last_cycle.detail;
    let rss_polled_kb = proc_status_kb("VmRSS:");
    let (matched, steps) = drive_all(
        &mut held,
        &executor,
        &prober,
        &store,
        Some(polled(&poller)),
        limits,
        &deploy,
        64,
    )
    .await;
    assert_eq!((matched, steps), (n, 0), "settled lanes after the first cycle");
    let first_cycle_ms = started.elapsed().as_secs_f64() * 1000.0;
    let rss_after_first_kb = proc_status_kb("VmRSS:");

    let cpu0 = cpu_ms();
    let begin = Instant::now();
    let mut cycles = 0u32;
    let mut wall = Duration::ZERO;
    let (mut poller_detail, mut org_wide, mut steps_window, mut matched_min) = (0u64, 0u64, 0usize, n);
    while begin.elapsed() < window {
        let next = begin + interval * cycles;
        tokio::time::sleep_until(tokio::time::Instant::from_std(next)).await;
        let cycle_start = Instant::now();
        poller.poll(&tracked, Timestamp::now()).await;
        let calls = poller.snapshot().last_cycle;
        poller_detail += u64::from(calls.detail);
        org_wide += u64::from(calls.org_wide);
        let (matched, steps) = drive_all(
            &mut held,
            &executor,
            &prober,
            &store,
            Some(polled(&poller)),
            limits,
            &deploy,
            64,
        )
        .await;
        wall += cycle_start.elapsed();
        steps_window += steps;
        matched_min = matched_min.min(matched);
        cycles += 1;
    }
    let elapsed = begin.elapsed().as_secs_f64();
    let cpu = cpu_ms() - cpu0;
    let result = LaneSteady {
        n,
        rss_loaded_kb,
        rss_polled_kb,
        rss_after_first_kb,
        hwm_kb: proc_status_kb("VmHWM:"),
        rss_end_kb: proc_status_kb("VmRSS:"),
        first_cycle_ms,
        first_cycle_detail,
        window_s: elapsed,
        cycles,
        cpu_ms_window: cpu,
        cpu_ms_per_cycle: cpu / f64::from(cycles.max(1)),
        wall_ms_per_cycle: wall.as_secs_f64() * 1000.0 / f64::from(cycles.max(1)),
        poller_detail_window: poller_detail,
        org_wide_window: org_wide,
        steps_window,
        matched_min,
    };
    println!("LANES {}", serde_json::to_string(&result).unwrap());
}

//! Section 7: lanes. Lanes deployed for real through the driver against the simulator (setup,
//! not measured); then `lane::plan` per second over in-sync lanes, and N settled lanes in a
//! child process: one shared poll + one drive per lane per cycle (records listed from an
//! in-memory store as the kube shell's reflector would hold them, facts from the poller,
//! identity probe, plan), with the Dokploy calls each cycle made.

use crate::fixtures::{
    INSTANCE, MemoryStore, NS, artifact, client, client_for, desired_env, lane_objects, product,
    seed_lane_apps, tracked_of,
};
use crate::measure::{self, child_result, cpu_ms, heap, kb_to_mb, proc_status_kb, rate};
use crate::report::{Report, Row, Section, Status};
use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use launchplane::engine::driver::{DriveLimits, LaneWorld, PolledFacts, drive};
use launchplane::engine::executor::Executor;
use launchplane::engine::store::RecordStore;
use launchplane::observe::poller::Poller;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane_api::conditions::SystemClock;
use launchplane_api::resources::{DeploymentRecord, Lane, ProviderTarget, RuntimeIdentity};
use launchplane_api::verdict::Verdict;
use launchplane_core::deployment_record::DeploySettings;
use launchplane_core::lane::{self, LaneInputs};
use launchplane_core::observation::PollSettings;
use launchplane_e2e::sim::{DokploySim, SimConfig};
use launchplane_providers::{Provider, TargetCategory as ProviderCategory};
use serde::{Deserialize, Serialize};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const RESULT: &str = "LANES ";

/// What the parent hands the steady-state child: the lanes' apps and their records.
#[derive(Serialize, Deserialize)]
struct Fleet {
    apps: Vec<(String, String)>,
    records: Vec<DeploymentRecord>,
}

/// One lane as a shell holds it between reconciles.
struct Held {
    lane: Lane,
    target: ProviderTarget,
    identity: Option<RuntimeIdentity>,
}

fn held_for(apps: &[(String, String)]) -> Vec<Held> {
    apps.iter()
        .enumerate()
        .map(|(i, (id, url))| {
            let (lane, target) = lane_objects(i, id, url);
            Held {
                lane,
                target,
                identity: None,
            }
        })
        .collect()
}

/// What every drive of a cycle shares.
struct Drivers<'a> {
    executor: &'a Executor,
    prober: &'a Prober,
    store: &'a MemoryStore,
    settings: &'a DeploySettings,
    limits: DriveLimits,
    concurrency: usize,
}

/// Drive every lane once (bounded concurrency, like the kube controller's workers); returns
/// (lanes Matched, steps taken). Each lane's new status and identity child replace the held
/// ones as soon as its drive returns, as a shell writes them per reconcile: no cycle keeps all
/// N reports (and the old statuses beside them) alive at once.
async fn drive_all(held: &mut [Held], drivers: &Drivers<'_>, polled: Option<PolledFacts>) -> (usize, usize) {
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
                    bootstraps: Vec::new(),
                };
                let report = drive(
                    &world,
                    Some(drivers.executor),
                    drivers.prober,
                    drivers.store,
                    drivers.settings,
                    drivers.limits,
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
        .buffer_unordered(drivers.concurrency)
        .fold((0, 0), |(matched, steps), (m, s)| async move {
            (matched + m, steps + s)
        })
        .await
}

/// Seed `n` apps and deploy a lane onto each through the real driver (setup, not measured).
async fn deployed_fleet(n: usize) -> (DokploySim, Fleet, Vec<Held>, Duration) {
    let started = Instant::now();
    let sim = DokploySim::start(SimConfig {
        api_key: format!("bench-lanes-{n}"),
        deploy_duration: Duration::from_millis(1),
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let apps = seed_lane_apps(&sim, n);
    let mut held = held_for(&apps);
    let executor = Executor::new(client(&sim));
    let prober = Prober::new(ProberConfig::default()).expect("prober");
    let store = MemoryStore::default();
    let settings = DeploySettings {
        poll_delay: Duration::from_millis(5),
        ..DeploySettings::default()
    };
    let drivers = Drivers {
        executor: &executor,
        prober: &prober,
        store: &store,
        settings: &settings,
        limits: DriveLimits {
            max_steps: 50,
            deadline: Duration::from_secs(120),
        },
        concurrency: 32,
    };
    let (matched, _) = drive_all(&mut held, &drivers, None).await;
    assert_eq!(matched, n, "every lane deployed and verified");
    let fleet = Fleet {
        apps,
        records: store.all(),
    };
    (sim, fleet, held, started.elapsed())
}

/// Pure core: `lane::plan` over in-sync lanes (inputs captured from the deployed fleet).
async fn plans_per_second(
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
    let tracked = tracked_of(fleet.apps.iter().take(sample).map(|(id, _)| id));
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
        let base =
            launchplane_core::verification::base_url::resolve(&h.lane, Some(&product), Some(&h.target), None);
        let endpoint = lane::endpoint(&h.lane, Some(&product), base.url.as_deref()).expect("endpoint");
        let probe = prober.probe(&endpoint).await;
        let f = facts
            .get(ProviderCategory::Application, id)
            .expect("facts")
            .facts
            .clone();
        captured.push((records, f, probe));
    }
    let now = Timestamp::now();
    rate(min, captured.len(), || {
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
                    base: &launchplane_core::verification::base_url::resolve(
                        &h.lane,
                        Some(&product),
                        Some(&h.target),
                        None,
                    ),
                    checks: &[],
                    settings: &settings,
                    instance: INSTANCE,
                    rivals: &[],
                    bootstraps: &[],
                },
                now,
            );
            assert!(plan.step.is_none(), "{:?}", plan.step);
            assert_eq!(plan.outcome.status.verdict, Some(Verdict::Matched));
            black_box(plan);
        }
    })
}

/// The child's arguments (`child-lanes`): the simulator, the fleet file, the cycle timing.
#[derive(Clone, Debug, clap::Args)]
pub struct ChildArgs {
    #[arg(long)]
    url: String,
    #[arg(long)]
    key: String,
    /// The lanes' apps and records, as JSON ([`Fleet`]).
    #[arg(long)]
    fleet: PathBuf,
    #[arg(long)]
    interval_ms: u64,
    #[arg(long)]
    window_ms: u64,
    /// Where the heap profile goes (with `--features heap-profile`).
    #[arg(long)]
    heap_file: PathBuf,
}

impl ChildArgs {
    fn to_args(&self) -> Vec<String> {
        vec![
            "child-lanes".into(),
            "--url".into(),
            self.url.clone(),
            "--key".into(),
            self.key.clone(),
            "--fleet".into(),
            self.fleet.display().to_string(),
            "--interval-ms".into(),
            self.interval_ms.to_string(),
            "--window-ms".into(),
            self.window_ms.to_string(),
            "--heap-file".into(),
            self.heap_file.display().to_string(),
        ]
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct LaneSteady {
    n: usize,
    /// RSS with the lanes, targets and records loaded, before the first poll.
    rss_loaded_kb: u64,
    /// RSS after the first poll (10,000 detail reads), before the first drives.
    rss_polled_kb: u64,
    rss_after_first_kb: u64,
    hwm_kb: u64,
    rss_end_kb: u64,
    first_cycle_ms: f64,
    first_cycle_detail: u32,
    window_s: f64,
    cycles: u32,
    cpu_ms_window: f64,
    cpu_ms_per_cycle: f64,
    wall_ms_per_cycle: f64,
    /// Detail reads the poller made in the measured cycles, in total.
    poller_detail_window: u64,
    org_wide_window: u64,
    steps_window: usize,
    matched_min: usize,
    heap: Option<heap::Breakdown>,
}

/// The child: `n` settled lanes; each cycle is one shared poll, then one drive per lane.
pub async fn child(args: ChildArgs) {
    let profile = heap::start(&args.heap_file.display().to_string());
    let interval = Duration::from_millis(args.interval_ms);
    let window = Duration::from_millis(args.window_ms);
    let fleet: Fleet =
        serde_json::from_slice(&std::fs::read(&args.fleet).expect("fleet file")).expect("fleet");
    let n = fleet.apps.len();
    let provider: Arc<dyn Provider> = client_for(&args.url, &args.key);
    let settings = PollSettings {
        poll_interval: SignedDuration::try_from(interval).unwrap(),
        detail_interval: SignedDuration::from_secs(3600),
        stale_after_polls: 3,
    };
    let mut poller = Poller::new(provider.clone(), settings);
    let tracked = tracked_of(fleet.apps.iter().map(|(id, _)| id));
    let mut held = held_for(&fleet.apps);
    let store = MemoryStore::from_records(fleet.records);
    drop(fleet.apps);
    let executor = Executor::new(provider);
    let prober = Prober::new(ProberConfig::default()).expect("prober");
    let deploy = DeploySettings::default();
    let drivers = Drivers {
        executor: &executor,
        prober: &prober,
        store: &store,
        settings: &deploy,
        limits: DriveLimits::default(),
        concurrency: 64,
    };
    let polled = |poller: &Poller| PolledFacts {
        facts: poller.facts(),
        max_age: poller.settings().detail_interval,
        listing: None,
    };

    let rss_loaded_kb = proc_status_kb("VmRSS:");
    let started = Instant::now();
    poller.poll(&tracked, Timestamp::now()).await;
    let first_cycle_detail = poller.snapshot().last_cycle.detail;
    let rss_polled_kb = proc_status_kb("VmRSS:");
    let (matched, steps) = drive_all(&mut held, &drivers, Some(polled(&poller))).await;
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
        let (matched, steps) = drive_all(&mut held, &drivers, Some(polled(&poller))).await;
        wall += cycle_start.elapsed();
        steps_window += steps;
        matched_min = matched_min.min(matched);
        cycles += 1;
    }
    let elapsed = begin.elapsed().as_secs_f64();
    let cpu = cpu_ms() - cpu0;
    let (hwm_kb, rss_end_kb) = (proc_status_kb("VmHWM:"), proc_status_kb("VmRSS:"));

    let mut shares = heap::Shares::start();
    let facts = poller.facts();
    drop(poller);
    shares.freed("poller: snapshot and detail entries");
    drop(facts);
    shares.freed("poller: shared facts (image, raw env, description)");
    held.iter_mut().for_each(|h| h.lane.status = None);
    shares.freed("Lane statuses");
    held.iter_mut().for_each(|h| h.identity = None);
    shares.freed("RuntimeIdentity children");
    drop(held);
    shares.freed("Lanes and ProviderTargets (spec, metadata)");
    drop(store);
    shares.freed("DeploymentRecords (the in-memory store)");
    drop(tracked);
    shares.freed("tracked set");
    let heap = shares.finish();
    profile.stop();

    child_result(
        RESULT,
        &LaneSteady {
            n,
            rss_loaded_kb,
            rss_polled_kb,
            rss_after_first_kb,
            hwm_kb,
            rss_end_kb,
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
            heap,
        },
    );
}

/// The parent: deploy the fleet, measure `lane::plan`, run the settled lanes in the child,
/// report.
pub async fn run(
    report: &mut Report,
    n: usize,
    interval: Duration,
    window: Duration,
    min: Duration,
    heap_file: PathBuf,
) {
    report.section(
        Section::Lanes,
        &format!("7. lanes: {n} lanes deployed through the driver (setup), then settled cycles"),
    );
    let (sim, fleet, held, setup) = deployed_fleet(n).await;
    println!(
        "  setup: {n} lanes deployed and verified in {:.1} s (not measured)",
        setup.as_secs_f64()
    );
    let sample = n.min(1000);
    let per_sec = plans_per_second(&sim, &fleet, &held, sample, min).await;
    report.add(
        Row::measured("lane plans/s (pure core, in-sync lanes)", per_sec, "/s")
            .at(sample)
            .no_target()
            .note("core::lane::plan with records, facts and a parsed probe; no step, Matched"),
    );
    drop(held);
    let path = std::env::temp_dir().join(format!("launchplane-bench-fleet-{}.json", std::process::id()));
    std::fs::write(&path, serde_json::to_vec(&fleet).unwrap()).expect("fleet file");
    drop(fleet);
    sim.reset_call_counts();
    let args = ChildArgs {
        url: sim.base_url(),
        key: sim.api_key(),
        fleet: path.clone(),
        interval_ms: interval.as_millis() as u64,
        window_ms: window.as_millis() as u64,
        heap_file,
    };
    let result = measure::run_child::<LaneSteady>(args.to_args(), RESULT).await;
    let _ = std::fs::remove_file(&path);
    let counts = sim.call_counts();
    sim.shutdown().await;
    let r = match result {
        Ok(r) => r,
        Err(why) => {
            eprintln!("lanes child failed: {why}");
            report.add(Row::absent("lanes steady state", Status::Missed).note("the child process failed"));
            return;
        }
    };
    let count = |route: &str| counts.get(route).copied().unwrap_or(0);
    let polls = u64::from(r.cycles) + 1;
    let org = count("overview.services") + count("overview.domains") + count("deployment.allCentralized");
    let detail_total = count("application.one") + count("compose.one");
    let poller_detail = u64::from(r.first_cycle_detail) + r.poller_detail_window;
    let lane_reads = detail_total.saturating_sub(poller_detail);
    let other: u64 = counts.values().sum::<u64>() - org - detail_total - count("settings.getDokployVersion");
    report.add(
        Row::measured(
            "calls per cycle with lanes: org-wide",
            org as f64 / polls as f64,
            "calls",
        )
        .at(n)
        .met("≤ 3", org <= 3 * polls)
        .note(format!(
            "{polls} polls; version read {} (first contact)",
            count("settings.getDokployVersion")
        )),
    );
    report.add(
        Row::measured(
            "calls per steady cycle with lanes: detail (poller + lanes)",
            r.poller_detail_window as f64 / f64::from(r.cycles.max(1)),
            "calls",
        )
        .at(n)
        .met(
            "only changed/stale (here 0)",
            r.poller_detail_window == 0 && lane_reads == 0,
        )
        .note(format!(
            "first cycle: poller {} (all new); lanes' own reads over all cycles: {lane_reads}; \
             other calls (mutations, deployment lists): {other}",
            r.first_cycle_detail
        )),
    );
    let hwm_mb = kb_to_mb(r.hwm_kb);
    report.add(
        Row::measured("peak RSS (VmHWM) with N settled lanes", hwm_mb, "MB")
            .at(n)
            .met("≤ 100 MB", hwm_mb <= 100.0)
            .note(format!(
                "RSS loaded {:.1} MB, after the first poll {:.1} MB, after the first cycle {:.1} MB, \
                 at end {:.1} MB; first cycle {:.0} ms",
                kb_to_mb(r.rss_loaded_kb),
                kb_to_mb(r.rss_polled_kb),
                kb_to_mb(r.rss_after_first_kb),
                kb_to_mb(r.rss_end_kb),
                r.first_cycle_ms
            )),
    );
    let per_thousand = r.n as f64 / 1000.0;
    // Per cycle, over the cycle interval: the window's edges would otherwise count a partial
    // interval.
    let measured = r.cpu_ms_per_cycle / interval.as_secs_f64() / per_thousand;
    report.add(
        Row::measured(
            format!(
                "CPU ms/s per 1,000 lanes at a {} s lane interval",
                interval.as_secs()
            ),
            measured,
            "ms/s",
        )
        .at(n)
        .met("≤ 10 ms/s per 1,000", measured <= 10.0)
        .note(format!(
            "{} cycles in {:.1} s; per cycle {:.0} ms CPU, {:.0} ms wall; steps {}, min Matched {}",
            r.cycles, r.window_s, r.cpu_ms_per_cycle, r.wall_ms_per_cycle, r.steps_window, r.matched_min
        )),
    );
    let at_default = r.cpu_ms_per_cycle / 60.0 / per_thousand;
    report.add(
        Row::measured(
            "CPU ms/s per 1,000 lanes at the default 60 s interval",
            at_default,
            "ms/s",
        )
        .at(n)
        .met("≤ 10 ms/s per 1,000", at_default <= 10.0)
        .note("derived: CPU per cycle / 60 s (lanes requeue at the poll interval when settled)"),
    );
    if let Some(heap) = &r.heap {
        heap::report(report, n, heap);
    }
}

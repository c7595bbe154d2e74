//! Launchplane benchmarks (`make bench`): measurements, not timed tests.
//!
//! Runs against the in-process Dokploy simulator (launchplane-e2e) and prints one table row
//! per measurement with the design target beside it; writes the same rows as JSON (default
//! `target/bench/results.json`, `--out PATH` to change). `--quick` shrinks the sizes for a
//! smoke run, `--lanes N` sets the lane count, `--only a,b` runs just the named sections
//! (core, calls, drift, steady, probes, lanes, apply). Sections:
//!
//! 1. pure core: ProviderTarget verifications/s and RuntimeIdentity classifications/s;
//! 2. Dokploy calls per poll cycle at 100 / 1,000 / 10,000 tracked targets;
//! 3. drift detection latency after an out-of-band rename;
//! 4. steady-state memory and CPU with 10,000 ProviderTargets (measured in a child process
//!    of this binary, so the simulator's own memory and CPU are not counted);
//! 5. health/identity probes per second through the shared prober;
//! 6. apply → verdict latency (needs a real API server: skipped without KUBECONFIG);
//! 7. lanes: `lane::plan` per second over in-sync lanes, and N settled lanes in a child
//!    process (one shared poll + one drive per lane per cycle: records listed, facts from the
//!    poller, identity probe, plan), with the Dokploy calls each cycle made.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use launchplane::observe::poller::Poller;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane_api::Verdict;
use launchplane_api::identity::{parse_deployment_header, parse_health_body};
use launchplane_api::resources::{
    IdentityEndpoint, IdentityFields, LocalObjectRef, ProviderTarget, ProviderTargetSpec, RuntimeIdentity,
    RuntimeIdentitySpec, TargetCategory,
};
use launchplane_api::verify::target::ObservedTarget;
use launchplane_core::observation::{PollSettings, TrackedTarget};
use launchplane_core::probe::ProbeResult;
use launchplane_core::{provider_target, runtime_identity};
use launchplane_e2e::sim::{DokploySim, OutOfBandEdit, SeedApplication, SimConfig};
use launchplane_providers::{DokployClient, DokployConfig, RateLimit, TargetCategory as ProviderCategory};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const NS: &str = "bench";
const CONFIG: &str = "dokploy-main";

// Not `benches/lanes.rs`: cargo would take that for a bench target of its own.
#[path = "bench/apply.rs"]
mod apply;
#[path = "bench/lanes.rs"]
mod lanes;

// ---------------------------------------------------------------------------------------
// Result rows
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug, Serialize)]
struct Row {
    section: String,
    metric: String,
    /// The number of targets (or apps) the row was measured at, when that matters.
    n: Option<u64>,
    value: Option<f64>,
    unit: String,
    target: String,
    /// `met`, `missed`, `info` (no target), `not-measured` or `skipped`.
    status: String,
    note: String,
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        section: &str,
        metric: &str,
        n: Option<u64>,
        value: f64,
        unit: &str,
        target: &str,
        met: Option<bool>,
        note: impl Into<String>,
    ) {
        let status = match met {
            Some(true) => "met",
            Some(false) => "missed",
            None => "info",
        };
        let row = Row {
            section: section.into(),
            metric: metric.into(),
            n,
            value: Some(value),
            unit: unit.into(),
            target: target.into(),
            status: status.into(),
            note: note.into(),
        };
        println!("  {}", line(&row));
        self.rows.push(row);
    }

    fn absent(&mut self, section: &str, metric: &str, target: &str, status: &str, note: &str) {
        let row = Row {
            section: section.into(),
            metric: metric.into(),
            n: None,
            value: None,
            unit: String::new(),
            target: target.into(),
            status: status.into(),
            note: note.into(),
        };
        println!("  {}", line(&row));
        self.rows.push(row);
    }
}

fn fmt_value(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn line(row: &Row) -> String {
    let n = row.n.map(|n| format!("N={n}")).unwrap_or_default();
    let value = row
        .value
        .map(|v| format!("{} {}", fmt_value(v), row.unit))
        .unwrap_or_else(|| "-".into());
    format!(
        "{:<58} {:>8} {:>22}  {:<28} {:<12} {}",
        row.metric, n, value, row.target, row.status, row.note
    )
}

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

fn provider_target(i: usize, id: &str, display: &str) -> ProviderTarget {
    let mut t = ProviderTarget::new(
        &format!("target-{i:05}"),
        ProviderTargetSpec {
            provider_config_ref: LocalObjectRef::new(CONFIG),
            target_category: TargetCategory::Application,
            target_id: Some(id.to_string()),
            display_name: display.to_string(),
            domains: vec![format!("app-{i:05}.bench.test")],
            ..ProviderTargetSpec::default()
        },
    );
    t.metadata.namespace = Some(NS.into());
    t.metadata.generation = Some(1);
    t
}

fn observed_target(i: usize) -> ObservedTarget {
    ObservedTarget {
        id: format!("id-{i:05}-aaaaaaaaaaaaaa"),
        category: "application".into(),
        name: format!("app-{i:05}"),
        status: Some("done".into()),
        project: Some("bench".into()),
        environment: Some("production".into()),
        domains: [format!("app-{i:05}.bench.test")].into_iter().collect(),
        last_deploy_at: Some("2026-01-01T00:00:00.000Z".into()),
        target_type: Some("docker".into()),
        image: Some(format!("ghcr.io/acme/app-{i:05}:1")),
        env_keys: Some(["A".to_string(), "B".to_string()].into_iter().collect()),
    }
}

/// A client with a rate limit high enough not to be what is measured (the default, 5 calls/s,
/// would make the first cycle at 10,000 targets take 2,000 s of detail reads on purpose).
fn client(sim: &DokploySim) -> Arc<DokployClient> {
    let mut config = DokployConfig::new(sim.base_url(), sim.api_key());
    config.rate_limit = RateLimit {
        per_second: 1_000_000.0,
        burst: 1_000_000,
    };
    Arc::new(DokployClient::new(config).expect("client"))
}

fn client_for(url: &str, key: &str) -> Arc<DokployClient> {
    let mut config = DokployConfig::new(url.to_string(), key.to_string());
    config.rate_limit = RateLimit {
        per_second: 1_000_000.0,
        burst: 1_000_000,
    };
    Arc::new(DokployClient::new(config).expect("client"))
}

/// Seed `n` applications (with a domain each) into a fresh simulator; returns the ids.
async fn seeded_sim(n: usize, key: &str) -> (DokploySim, Vec<String>) {
    let sim = DokploySim::start(SimConfig {
        api_key: key.into(),
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let (_, env) = sim.seed_project("bench");
    let ids = (0..n)
        .map(|i| {
            sim.seed_application(
                &env,
                SeedApplication {
                    name: format!("app-{i:05}"),
                    docker_image: Some(format!("ghcr.io/acme/app-{i:05}:1")),
                    env: Some("A=1\nB=2\n".into()),
                    domains: vec![format!("app-{i:05}.bench.test")],
                    ..SeedApplication::default()
                },
            )
            .expect("seed")
        })
        .collect();
    (sim, ids)
}

fn targets_for(ids: &[String]) -> Vec<ProviderTarget> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| provider_target(i, id, &format!("app-{i:05}")))
        .collect()
}

fn tracked_of(ids: &[String]) -> BTreeSet<TrackedTarget> {
    ids.iter()
        .map(|id| (ProviderCategory::Application, id.clone()))
        .collect()
}

fn total_calls(sim: &DokploySim) -> (u64, u64) {
    let counts = sim.call_counts();
    let detail: u64 = ["application.one", "compose.one"]
        .iter()
        .map(|r| counts.get(*r).copied().unwrap_or(0))
        .sum();
    let all: u64 = counts.values().sum();
    (all - detail, detail)
}

// ---------------------------------------------------------------------------------------
// 1. Pure core
// ---------------------------------------------------------------------------------------

/// Run `f` (which does `per_call` operations) repeatedly for at least `min`; ops per second.
fn rate(min: Duration, per_call: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    let started = Instant::now();
    let mut calls = 0usize;
    while started.elapsed() < min {
        f();
        calls += 1;
    }
    (calls * per_call) as f64 / started.elapsed().as_secs_f64()
}

fn bench_core(report: &mut Report, sizes: &[usize], min: Duration) {
    println!("\n== 1. pure core throughput");
    let now = Timestamp::now();
    let settings = PollSettings::default();
    for &n in sizes {
        let observed: Vec<ObservedTarget> = (0..n).map(observed_target).collect();
        let targets: Vec<ProviderTarget> = observed
            .iter()
            .enumerate()
            .map(|(i, o)| provider_target(i, &o.id, &o.name))
            .collect();
        let snapshot = launchplane_core::observation::Snapshot {
            targets: Some(Arc::new(observed)),
            observed_at: Some(now),
            last_poll_at: Some(now),
            version: Some("v0.30.2".into()),
            ..Default::default()
        };
        let window = snapshot.window(&settings);
        // Claims indexed once per pass (ids are unique here, so nobody has a rival).
        let per_sec = rate(min, n, || {
            for t in &targets {
                let outcome = provider_target::reconcile(t, &window, &[], now);
                assert_eq!(outcome.status.verdict, Some(Verdict::Matched));
                black_box(outcome);
            }
        });
        report.add(
            "core",
            "ProviderTarget verifications/s (claims precomputed)",
            Some(n as u64),
            per_sec,
            "/s",
            "(no target)",
            None,
            "reconcile::provider_target::reconcile over a snapshot of N",
        );
        // As the kube controller and standalone mode call it: one claim index per poll, then
        // each target's claims looked up by its id.
        let started = Instant::now();
        let mut done = 0usize;
        let index = provider_target::ClaimIndex::build(&targets);
        for t in &targets {
            let claims = index.claims_for(t);
            black_box(provider_target::reconcile(t, &window, &claims, now));
            done += 1;
            if started.elapsed() > Duration::from_secs(20) {
                break;
            }
        }
        let full_pass = started.elapsed().as_secs_f64() * (n as f64 / done as f64);
        report.add(
            "core",
            "ProviderTarget verifications/s incl. claim index",
            Some(n as u64),
            n as f64 / full_pass,
            "/s",
            "(no target)",
            None,
            format!("one full pass = {:.1} ms", full_pass * 1000.0),
        );
    }

    let expected = IdentityFields {
        product: Some("shop".into()),
        context: Some("prod".into()),
        deployment_record_id: Some("shop-prod-42".into()),
        artifact_id: Some("shop-abc123".into()),
        ..IdentityFields::default()
    };
    let identity = RuntimeIdentity::new(
        "shop-prod",
        RuntimeIdentitySpec {
            expected,
            endpoint: IdentityEndpoint {
                base_url: "http://127.0.0.1:1".into(),
                health_path: "/healthz".into(),
            },
            ..RuntimeIdentitySpec::default()
        },
    );
    let body = serde_json::to_vec(&json!({"status": "ok", "runtime_identity": {
        "product": "shop", "context": "prod", "deploymentRecordId": "shop-prod-42",
        "artifactId": "shop-abc123", "environmentKind": "stable"}}))
    .unwrap();
    let probe = ProbeResult {
        health_status: Some(200),
        observations: vec![
            parse_health_body(&body),
            parse_deployment_header(Some("shop-prod-42")),
        ],
        elapsed: Duration::from_millis(1),
    };
    let now = Timestamp::now();
    let per_sec = rate(min, 1000, || {
        for _ in 0..1000 {
            let outcome = runtime_identity::reconcile(&identity, Some(&probe), now);
            assert_eq!(outcome.status.verdict, Some(Verdict::Matched));
            black_box(outcome);
        }
    });
    report.add(
        "core",
        "RuntimeIdentity classifications/s",
        None,
        per_sec,
        "/s",
        "(no target)",
        None,
        "reconcile::runtime_identity::reconcile on a parsed probe",
    );
    let per_sec = rate(min, 1000, || {
        for _ in 0..1000 {
            let probe = ProbeResult {
                health_status: Some(200),
                observations: vec![
                    parse_health_body(&body),
                    parse_deployment_header(Some("shop-prod-42")),
                ],
                elapsed: Duration::from_millis(1),
            };
            black_box(runtime_identity::reconcile(&identity, Some(&probe), now));
        }
    });
    report.add(
        "core",
        "RuntimeIdentity parse + classify/s",
        None,
        per_sec,
        "/s",
        "(no target)",
        None,
        "health JSON and header parsed each time",
    );
}

// ---------------------------------------------------------------------------------------
// 2. Calls per poll cycle
// ---------------------------------------------------------------------------------------

async fn bench_calls(
    report: &mut Report,
    sizes: &[usize],
    edits: usize,
) -> Option<(DokploySim, Vec<String>)> {
    println!("\n== 2. Dokploy calls per poll cycle (org-wide + detail), naive = one detail call per target");
    let mut kept = None;
    let largest = sizes.iter().copied().max().unwrap_or(0);
    for &n in sizes {
        let (sim, ids) = seeded_sim(n, &format!("bench-calls-{n}")).await;
        let tracked = tracked_of(&ids);
        let targets = targets_for(&ids);
        let settings = PollSettings {
            poll_interval: SignedDuration::from_secs(60),
            // The "at scale" setting: details are re-read on change, or hourly.
            detail_interval: SignedDuration::from_secs(3600),
            stale_after_polls: 3,
        };
        let mut poller = Poller::new(client(&sim), settings);
        let t0 = Timestamp::now();
        let run = async |poller: &mut Poller, at: Timestamp| {
            sim.reset_call_counts();
            let started = Instant::now();
            let snapshot = poller.poll(&tracked, at).await.clone();
            let wall = started.elapsed();
            assert!(snapshot.last_failure.is_none(), "{:?}", snapshot.last_failure);
            let window = snapshot.window(poller.settings());
            let mut verdicts: BTreeMap<String, usize> = BTreeMap::new();
            for t in &targets {
                let v = provider_target::reconcile(t, &window, &[], at).status.verdict;
                *verdicts
                    .entry(format!("{:?}", v.unwrap_or_default()))
                    .or_default() += 1;
            }
            let (org, detail) = total_calls(&sim);
            (org, detail, wall, verdicts)
        };

        let (org, detail, wall, _) = run(&mut poller, t0).await;
        let label = "first cycle";
        report.add(
            "calls",
            &format!("{label}: org-wide calls"),
            Some(n as u64),
            org as f64,
            "calls",
            "≤ 3 (+1 version read)",
            Some(org <= 4),
            "settings.getDokployVersion + overview.services/domains + deployment.allCentralized",
        );
        report.add(
            "calls",
            &format!("{label}: detail calls (naive: {n})"),
            Some(n as u64),
            detail as f64,
            "calls",
            "= N (nothing read yet)",
            Some(detail == n as u64),
            format!("cycle wall time {:.0} ms", wall.as_secs_f64() * 1000.0),
        );

        let (org, detail, wall, verdicts) = run(&mut poller, t0 + SignedDuration::from_secs(60)).await;
        report.add(
            "calls",
            "steady cycle (no changes): total calls",
            Some(n as u64),
            (org + detail) as f64,
            "calls",
            "≤ 3, no detail",
            Some(org <= 3 && detail == 0),
            format!(
                "org {org} + detail {detail} vs naive {n}; wall {:.0} ms; verdicts {verdicts:?}",
                wall.as_secs_f64() * 1000.0
            ),
        );

        let k = edits.min(n);
        for id in ids.iter().take(k) {
            sim.edit(
                id,
                OutOfBandEdit {
                    name: Some(format!("renamed-{id}")),
                    ..OutOfBandEdit::default()
                },
            );
        }
        let (org, detail, _, verdicts) = run(&mut poller, t0 + SignedDuration::from_secs(120)).await;
        let mismatched = verdicts.get("Mismatch").copied().unwrap_or(0);
        report.add(
            "calls",
            &format!("after {k} out-of-band renames: total calls"),
            Some(n as u64),
            (org + detail) as f64,
            "calls",
            &format!("≤ 3 + {k} detail"),
            Some(org <= 3 && detail <= k as u64 && mismatched == k),
            format!("org {org} + detail {detail}; {mismatched} Mismatch"),
        );

        // Env-only edits change neither the name nor lastDeployAt in the org-wide listing,
        // so they are seen when the detail ages past the detail interval.
        for id in ids.iter().skip(k).take(k) {
            sim.edit(
                id,
                OutOfBandEdit {
                    env: Some("A=1\nB=2\nINJECTED=1\n".into()),
                    ..OutOfBandEdit::default()
                },
            );
        }
        let (org, detail, _, _) = run(&mut poller, t0 + SignedDuration::from_secs(180)).await;
        report.add(
            "calls",
            &format!("after {k} out-of-band env edits: total calls"),
            Some(n as u64),
            (org + detail) as f64,
            "calls",
            "≤ 3 (env drift: next detail read)",
            Some(org <= 3),
            format!("org {org} + detail {detail}: env drift waits for the detail interval (here 1 h)"),
        );

        // The default detail interval equals the poll interval: every tracked detail is due.
        poller.set_settings(PollSettings {
            detail_interval: SignedDuration::from_secs(60),
            ..settings
        });
        let (org, detail, wall, _) = run(&mut poller, t0 + SignedDuration::from_secs(240)).await;
        report.add(
            "calls",
            "steady cycle, default detail interval (= poll interval)",
            Some(n as u64),
            (org + detail) as f64,
            "calls",
            "(every detail stale: = 3 + N)",
            None,
            format!(
                "org {org} + detail {detail}; wall {:.0} ms; lengthen detailIntervalSeconds at scale",
                wall.as_secs_f64() * 1000.0
            ),
        );
        if n == largest {
            kept = Some((sim, ids));
        } else {
            sim.shutdown().await;
        }
    }
    kept
}

// ---------------------------------------------------------------------------------------
// 3. Drift detection latency
// ---------------------------------------------------------------------------------------

async fn bench_drift(report: &mut Report, n: usize, interval: Duration, trials: usize) {
    println!("\n== 3. drift detection latency (out-of-band rename → Mismatch)");
    let (sim, ids) = seeded_sim(n, &format!("bench-drift-{n}")).await;
    let tracked = tracked_of(&ids);
    let targets = Arc::new(targets_for(&ids));
    let settings = PollSettings {
        poll_interval: SignedDuration::try_from(interval).unwrap(),
        detail_interval: SignedDuration::from_secs(3600),
        stale_after_polls: 1000,
    };
    let mut poller = Poller::new(client(&sim), settings);
    poller.poll(&tracked, Timestamp::now()).await;

    // One poll loop; the main task edits at a random phase and waits for the verdict. Every
    // poll is reported (start instant and verdicts), so the polls that started after the edit
    // can be counted exactly.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<Option<Verdict>>)>();
    let loop_targets = targets.clone();
    let poll_loop = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let started = Instant::now();
            let now = Timestamp::now();
            let snapshot = poller.poll(&tracked, now).await.clone();
            let window = snapshot.window(poller.settings());
            let verdicts = loop_targets
                .iter()
                .map(|t| provider_target::reconcile(t, &window, &[], now).status.verdict)
                .collect();
            if tx.send((started, verdicts)).is_err() {
                return;
            }
        }
    });
    let mut latencies = Vec::new();
    let mut polls_needed = Vec::new();
    for trial in 0..trials {
        let pick = (trial * 7919) % n;
        // A varied phase within the poll interval.
        let phase = interval.mul_f64(f64::from((trial * 37 % 100) as u32) / 100.0);
        tokio::time::sleep(phase).await;
        while rx.try_recv().is_ok() {}
        let edited_at = Instant::now();
        sim.edit(
            &ids[pick],
            OutOfBandEdit {
                name: Some(format!("renamed-{trial}")),
                ..OutOfBandEdit::default()
            },
        );
        let mut started_after = 0u64;
        loop {
            let (started, verdicts) = rx.recv().await.unwrap();
            if started >= edited_at {
                started_after += 1;
            }
            if verdicts.get(pick).copied().flatten() == Some(Verdict::Mismatch) {
                latencies.push(edited_at.elapsed());
                // A poll already running at the edit may see it too: count that as one.
                polls_needed.push(started_after.max(1));
                break;
            }
        }
        // Restore, so the next trial starts Matched.
        sim.edit(
            &ids[pick],
            OutOfBandEdit {
                name: Some(format!("app-{pick:05}")),
                ..OutOfBandEdit::default()
            },
        );
    }
    poll_loop.abort();
    latencies.sort();
    let p50 = latencies[latencies.len() / 2];
    let max = latencies[latencies.len() - 1];
    let worst_polls = polls_needed.iter().copied().max().unwrap_or(0);
    report.add(
        "drift",
        "polls from edit to Mismatch (worst of trials)",
        Some(n as u64),
        worst_polls as f64,
        "polls",
        "≤ 1 poll",
        Some(worst_polls <= 1),
        format!("{trials} trials; poll interval {} ms", interval.as_millis()),
    );
    report.add(
        "drift",
        "edit → Mismatch wall time p50",
        Some(n as u64),
        p50.as_secs_f64() * 1000.0,
        "ms",
        &format!("≤ interval ({} ms) + poll", interval.as_millis()),
        None,
        "edit at a random phase of the interval",
    );
    report.add(
        "drift",
        "edit → Mismatch wall time max",
        Some(n as u64),
        max.as_secs_f64() * 1000.0,
        "ms",
        &format!("≤ interval ({} ms) + poll", interval.as_millis()),
        None,
        "",
    );
    sim.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// 4. Steady state memory and CPU (child process)
// ---------------------------------------------------------------------------------------

#[derive(Debug, Serialize, serde::Deserialize)]
struct SteadyResult {
    n: usize,
    /// RSS after the first poll (N detail reads), before the first verification.
    rss_polled_kb: u64,
    rss_after_first_kb: u64,
    hwm_kb: u64,
    rss_end_kb: u64,
    first_cycle_ms: f64,
    window_s: f64,
    cycles: u32,
    cpu_ms_window: f64,
    cpu_ms_per_cycle: f64,
}

fn proc_status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// User + system CPU of this process, in ms (from /proc/self/stat, 100 ticks per second).
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the `(comm)` part; utime and stime are fields 14 and 15 (1-based).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // rest starts at field 3 (state), so field 14 is index 11.
    (ticks(11) + ticks(12)) * 10.0
}

/// The child: a poller + verify loop holding `n` ProviderTargets and their statuses.
async fn steady_child(url: String, key: String, n: usize, interval: Duration, window: Duration) {
    let provider = client_for(&url, &key);
    let settings = PollSettings {
        poll_interval: SignedDuration::try_from(interval).unwrap(),
        detail_interval: SignedDuration::from_secs(3600),
        stale_after_polls: 3,
    };
    let mut poller = Poller::new(provider, settings);
    // Ids come from the org-wide listing, as the user's manifests would name them.
    let org = poller.poll(&BTreeSet::new(), Timestamp::now()).await.clone();
    let listed = org.targets.clone().expect("listing");
    let ids: Vec<String> = listed.iter().take(n).map(|t| t.id.clone()).collect();
    let mut targets: Vec<ProviderTarget> = listed
        .iter()
        .take(n)
        .enumerate()
        .map(|(i, t)| provider_target(i, &t.id, &t.name))
        .collect();
    drop(org);
    let tracked = tracked_of(&ids);

    let verify_all = |targets: &mut Vec<ProviderTarget>, poller: &Poller, now: Timestamp| {
        let window = poller.snapshot().window(poller.settings());
        let index = provider_target::ClaimIndex::build(targets.iter());
        // Each new status replaces the old one as soon as it is made (as the kube controller
        // writes it per reconcile): never all N old and N new statuses alive at once.
        let mut matched = 0;
        for t in targets.iter_mut() {
            let claims = index.claims_for(t);
            let s = provider_target::reconcile(t, &window, &claims, now).status;
            matched += usize::from(s.verdict == Some(Verdict::Matched));
            t.status = Some(s);
        }
        matched
    };

    let started = Instant::now();
    let now = Timestamp::now();
    poller.poll(&tracked, now).await;
    let rss_polled_kb = proc_status_kb("VmRSS:");
    let matched = verify_all(&mut targets, &poller, now);
    assert_eq!(matched, n, "every target Matched after the first cycle");
    let first_cycle_ms = started.elapsed().as_secs_f64() * 1000.0;
    let rss_after_first_kb = proc_status_kb("VmRSS:");

    let cpu0 = cpu_ms();
    let begin = Instant::now();
    let mut cycles = 0u32;
    while begin.elapsed() < window {
        let next = begin + interval * (cycles + 1);
        tokio::time::sleep_until(tokio::time::Instant::from_std(next)).await;
        let now = Timestamp::now();
        poller.poll(&tracked, now).await;
        let matched = verify_all(&mut targets, &poller, now);
        assert_eq!(matched, n);
        cycles += 1;
    }
    let elapsed = begin.elapsed().as_secs_f64();
    let cpu = cpu_ms() - cpu0;
    let result = SteadyResult {
        n,
        rss_polled_kb,
        rss_after_first_kb,
        hwm_kb: proc_status_kb("VmHWM:"),
        rss_end_kb: proc_status_kb("VmRSS:"),
        first_cycle_ms,
        window_s: elapsed,
        cycles,
        cpu_ms_window: cpu,
        cpu_ms_per_cycle: cpu / f64::from(cycles.max(1)),
    };
    println!("STEADY {}", serde_json::to_string(&result).unwrap());
}

async fn bench_steady(
    report: &mut Report,
    sim: Option<(DokploySim, Vec<String>)>,
    n: usize,
    interval: Duration,
    window: Duration,
) {
    println!("\n== 4. steady state: poller + verify loop holding N ProviderTargets (child process)");
    let (sim, _) = match sim {
        Some((sim, ids)) if ids.len() >= n => (sim, ids),
        other => {
            if let Some((sim, _)) = other {
                sim.shutdown().await;
            }
            seeded_sim(n, "bench-steady").await
        }
    };
    let exe = std::env::current_exe().expect("current exe");
    let args = vec![
        "--child-steady".to_string(),
        sim.base_url(),
        sim.api_key(),
        n.to_string(),
        interval.as_millis().to_string(),
        window.as_millis().to_string(),
    ];
    let output = tokio::task::spawn_blocking(move || std::process::Command::new(exe).args(args).output())
        .await
        .expect("join")
        .expect("child");
    sim.shutdown().await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(result) = stdout
        .lines()
        .find_map(|l| l.strip_prefix("STEADY "))
        .and_then(|l| serde_json::from_str::<SteadyResult>(l).ok())
    else {
        eprintln!(
            "steady child failed: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        report.absent("steady", "steady state", "", "missed", "the child process failed");
        return;
    };
    let per_thousand = result.n as f64 / 1000.0;
    let hwm_mb = result.hwm_kb as f64 / 1024.0;
    report.add(
        "steady",
        "peak RSS (VmHWM), whole controller process",
        Some(n as u64),
        hwm_mb,
        "MB",
        "≤ 100 MB",
        Some(hwm_mb <= 100.0),
        format!(
            "RSS after the first poll {:.1} MB, after the first cycle {:.1} MB, at end {:.1} MB; \
             first cycle {:.0} ms",
            result.rss_polled_kb as f64 / 1024.0,
            result.rss_after_first_kb as f64 / 1024.0,
            result.rss_end_kb as f64 / 1024.0,
            result.first_cycle_ms
        ),
    );
    let measured = result.cpu_ms_window / result.window_s / per_thousand;
    report.add(
        "steady",
        &format!(
            "CPU ms/s per 1,000 targets at a {} s poll interval",
            interval.as_secs()
        ),
        Some(n as u64),
        measured,
        "ms/s",
        "≤ 10 ms/s per 1,000",
        Some(measured <= 10.0),
        format!(
            "{} cycles in {:.1} s; {:.0} ms CPU per cycle (poll + verify all)",
            result.cycles, result.window_s, result.cpu_ms_per_cycle
        ),
    );
    let at_default = result.cpu_ms_per_cycle / 60.0 / per_thousand;
    report.add(
        "steady",
        "CPU ms/s per 1,000 targets at the default 60 s interval",
        Some(n as u64),
        at_default,
        "ms/s",
        "≤ 10 ms/s per 1,000",
        Some(at_default <= 10.0),
        "derived: CPU per steady cycle / 60 s",
    );
}

// ---------------------------------------------------------------------------------------
// 5. Probes per second
// ---------------------------------------------------------------------------------------

async fn bench_probes(report: &mut Report, apps: usize, duration: Duration) {
    println!("\n== 5. health/identity probes through the shared prober");
    let sim = DokploySim::start(SimConfig {
        api_key: "bench-probes".into(),
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let (_, env) = sim.seed_project("probes");
    let mut urls = Vec::new();
    for i in 0..apps {
        let identity = json!({"product": "shop", "context": format!("lane-{i}"), "deploymentRecordId": format!("rec-{i}")});
        let id = sim
            .seed_application(
                &env,
                SeedApplication {
                    name: format!("probe-{i}"),
                    docker_image: Some("ghcr.io/acme/shop:1".into()),
                    env: Some(format!(
                        "LAUNCHPLANE_RUNTIME_IDENTITY_JSON='{identity}'\nLAUNCHPLANE_DEPLOYMENT_RECORD_ID=rec-{i}\n"
                    )),
                    deployed: true,
                    ..SeedApplication::default()
                },
            )
            .expect("seed");
        urls.push(sim.app_url(&id).expect("app url"));
    }
    let identities: Vec<RuntimeIdentity> = urls
        .iter()
        .enumerate()
        .map(|(i, url)| {
            RuntimeIdentity::new(
                &format!("probe-{i}"),
                RuntimeIdentitySpec {
                    expected: IdentityFields {
                        product: Some("shop".into()),
                        context: Some(format!("lane-{i}")),
                        deployment_record_id: Some(format!("rec-{i}")),
                        ..IdentityFields::default()
                    },
                    endpoint: IdentityEndpoint {
                        base_url: url.clone(),
                        health_path: "/healthz".into(),
                    },
                    ..RuntimeIdentitySpec::default()
                },
            )
        })
        .collect();
    let health_only = |spec: &RuntimeIdentitySpec| {
        let mut target = runtime_identity::probe_target(spec);
        target.surfaces.well_known = false;
        target
    };
    let runs = [(1usize, false), (16, false), (64, false), (64, true)];
    for (concurrency, one_request) in runs {
        let prober = Prober::new(ProberConfig {
            max_concurrent: concurrency,
            ..ProberConfig::default()
        })
        .expect("prober");
        let begin = Instant::now();
        let mut done = 0usize;
        let mut matched = 0usize;
        while begin.elapsed() < duration {
            let batch = futures::stream::iter(0..concurrency * 8)
                .map(|i| {
                    let identity = &identities[i % identities.len()];
                    let prober = &prober;
                    let target = if one_request {
                        health_only(&identity.spec)
                    } else {
                        runtime_identity::probe_target(&identity.spec)
                    };
                    async move {
                        let probe = prober.probe(&target).await;
                        runtime_identity::reconcile(identity, Some(&probe), Timestamp::now())
                            .status
                            .verdict
                    }
                })
                .buffer_unordered(concurrency);
            let verdicts: Vec<_> = batch.collect().await;
            done += verdicts.len();
            matched += verdicts.iter().filter(|v| **v == Some(Verdict::Matched)).count();
        }
        let per_sec = done as f64 / begin.elapsed().as_secs_f64();
        report.add(
            "probes",
            &format!(
                "probes/s (probe + classify), concurrency {concurrency}{}",
                if one_request { ", health+header only" } else { "" },
            ),
            Some(apps as u64),
            per_sec,
            "/s",
            "≥ 5,000 /s",
            Some(per_sec >= 5000.0),
            format!(
                "{done} probes, {matched} Matched; {} HTTP request(s) each; the simulator's apps keep connections alive",
                if one_request { 1 } else { 2 },
            ),
        );
    }
    sim.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// 7. Lanes
// ---------------------------------------------------------------------------------------

async fn bench_lanes(report: &mut Report, n: usize, interval: Duration, window: Duration, min: Duration) {
    println!("\n== 7. lanes: {n} lanes deployed through the driver (setup), then settled cycles");
    let (sim, fleet, held, setup) = lanes::deployed_fleet(n).await;
    println!(
        "  setup: {n} lanes deployed and verified in {:.1} s (not measured)",
        setup.as_secs_f64()
    );
    let sample = n.min(1000);
    let per_sec = lanes::plans_per_second(&sim, &fleet, &held, sample, min).await;
    report.add(
        "lanes",
        "lane plans/s (pure core, in-sync lanes)",
        Some(sample as u64),
        per_sec,
        "/s",
        "(no target)",
        None,
        "reconcile::lane::plan with records, facts and a parsed probe; no step, Matched",
    );
    drop(held);
    let path = std::env::temp_dir().join(format!("launchplane-bench-fleet-{}.json", std::process::id()));
    std::fs::write(&path, serde_json::to_vec(&fleet).unwrap()).expect("fleet file");
    drop(fleet);
    sim.reset_call_counts();
    let exe = std::env::current_exe().expect("current exe");
    let args = vec![
        "--child-lanes".to_string(),
        sim.base_url(),
        sim.api_key(),
        path.display().to_string(),
        interval.as_millis().to_string(),
        window.as_millis().to_string(),
    ];
    let output = tokio::task::spawn_blocking(move || std::process::Command::new(exe).args(args).output())
        .await
        .expect("join")
        .expect("child");
    let _ = std::fs::remove_file(&path);
    let counts = sim.call_counts();
    sim.shutdown().await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(r) = stdout
        .lines()
        .find_map(|l| l.strip_prefix("LANES "))
        .and_then(|l| serde_json::from_str::<lanes::LaneSteady>(l).ok())
    else {
        eprintln!(
            "lanes child failed: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        report.absent(
            "lanes",
            "lanes steady state",
            "",
            "missed",
            "the child process failed",
        );
        return;
    };
    let count = |route: &str| counts.get(route).copied().unwrap_or(0);
    let polls = u64::from(r.cycles) + 1;
    let org = count("overview.services") + count("overview.domains") + count("deployment.allCentralized");
    let detail_total = count("application.one") + count("compose.one");
    let poller_detail = u64::from(r.first_cycle_detail) + r.poller_detail_window;
    let lane_reads = detail_total.saturating_sub(poller_detail);
    let other: u64 = counts.values().sum::<u64>() - org - detail_total - count("settings.getDokployVersion");
    report.add(
        "lanes",
        "calls per cycle with lanes: org-wide",
        Some(n as u64),
        org as f64 / polls as f64,
        "calls",
        "≤ 3",
        Some(org <= 3 * polls),
        format!(
            "{polls} polls; version read {} (first contact)",
            count("settings.getDokployVersion")
        ),
    );
    report.add(
        "lanes",
        "calls per steady cycle with lanes: detail (poller + lanes)",
        Some(n as u64),
        r.poller_detail_window as f64 / f64::from(r.cycles.max(1)),
        "calls",
        "only changed/stale (here 0)",
        Some(r.poller_detail_window == 0 && lane_reads == 0),
        format!(
            "first cycle: poller {} (all new); lanes' own reads over all cycles: {lane_reads}; \
             other calls (mutations, deployment lists): {other}",
            r.first_cycle_detail
        ),
    );
    let hwm_mb = r.hwm_kb as f64 / 1024.0;
    report.add(
        "lanes",
        "peak RSS (VmHWM) with N settled lanes",
        Some(n as u64),
        hwm_mb,
        "MB",
        "≤ 100 MB",
        Some(hwm_mb <= 100.0),
        format!(
            "RSS loaded {:.1} MB, after the first poll {:.1} MB, after the first cycle {:.1} MB, \
             at end {:.1} MB; first cycle {:.0} ms",
            r.rss_loaded_kb as f64 / 1024.0,
            r.rss_polled_kb as f64 / 1024.0,
            r.rss_after_first_kb as f64 / 1024.0,
            r.rss_end_kb as f64 / 1024.0,
            r.first_cycle_ms
        ),
    );
    let per_thousand = r.n as f64 / 1000.0;
    // Per cycle, over the cycle interval: the window's edges would otherwise count a partial
    // interval.
    let measured = r.cpu_ms_per_cycle / interval.as_secs_f64() / per_thousand;
    report.add(
        "lanes",
        &format!(
            "CPU ms/s per 1,000 lanes at a {} s lane interval",
            interval.as_secs()
        ),
        Some(n as u64),
        measured,
        "ms/s",
        "≤ 10 ms/s per 1,000",
        Some(measured <= 10.0),
        format!(
            "{} cycles in {:.1} s; per cycle {:.0} ms CPU, {:.0} ms wall; steps {}, min Matched {}",
            r.cycles, r.window_s, r.cpu_ms_per_cycle, r.wall_ms_per_cycle, r.steps_window, r.matched_min
        ),
    );
    let at_default = r.cpu_ms_per_cycle / 60.0 / per_thousand;
    report.add(
        "lanes",
        "CPU ms/s per 1,000 lanes at the default 60 s interval",
        Some(n as u64),
        at_default,
        "ms/s",
        "≤ 10 ms/s per 1,000",
        Some(at_default <= 10.0),
        "derived: CPU per cycle / 60 s (lanes requeue at the poll interval when settled)",
    );
}

// ---------------------------------------------------------------------------------------
// 6. apply → verdict
// ---------------------------------------------------------------------------------------

async fn bench_apply(report: &mut Report, n: usize, lanes: usize) {
    println!("\n== 6. apply → verdict latency (real API server)");
    let metric = "apply → verdict p50/p99";
    if std::env::var_os("KUBECONFIG").is_none() {
        println!(
            "  skipped: no KUBECONFIG (scripts/bench.sh starts the local API server when Go is installed)"
        );
        report.absent("apply", metric, "p99 ≤ 1 s", "skipped", "skipped: no KUBECONFIG");
        return;
    }
    match apply::measure(n, lanes).await {
        Ok(measured) => {
            let lane_note =
                "create request → Matched with the artifact in inventory; instant simulator deploy";
            let lanes = match &measured.lanes {
                Ok(lanes) => lanes.clone(),
                Err(why) => {
                    println!("  Lane: not measured: {why}");
                    report.absent(
                        "apply",
                        "apply → verdict p99 (Lane)",
                        "p99 ≤ 5 s",
                        "not measured",
                        why,
                    );
                    Vec::new()
                }
            };
            let mut rows = vec![(
                "ProviderTarget",
                &measured.targets,
                "create request → watch event carrying verdict Matched; controllers in-process",
                Duration::from_secs(1),
            )];
            if !lanes.is_empty() {
                rows.push(("Lane", &lanes, lane_note, Duration::from_secs(5)));
            }
            for (kind, latencies, note, target) in rows {
                let p50 = apply::quantile(latencies, 0.50);
                let p99 = apply::quantile(latencies, 0.99);
                println!(
                    "  {kind}: n={} p50 {:.0} ms, p99 {:.0} ms",
                    latencies.len(),
                    p50.as_secs_f64() * 1000.0,
                    p99.as_secs_f64() * 1000.0
                );
                report.add(
                    "apply",
                    &format!("apply → verdict p50 ({kind})"),
                    Some(latencies.len() as u64),
                    p50.as_secs_f64() * 1000.0,
                    "ms",
                    "(no target)",
                    None,
                    note,
                );
                report.add(
                    "apply",
                    &format!("apply → verdict p99 ({kind})"),
                    Some(latencies.len() as u64),
                    p99.as_secs_f64() * 1000.0,
                    "ms",
                    &format!("p99 ≤ {} s", target.as_secs()),
                    Some(p99 <= target),
                    note,
                );
            }
        }
        Err(why) => {
            println!("  skipped: {why}");
            report.absent(
                "apply",
                metric,
                "p99 ≤ 1 s",
                "skipped",
                &format!("skipped: {why}"),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------

fn machine() -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    json!({
        "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": model,
        "memory_mb": mem_kb / 1024,
        "date": Timestamp::now().round(jiff::Unit::Second).unwrap().to_string(),
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    if let Some(pos) = args.iter().position(|a| a == "--child-lanes") {
        let get = |i: usize| args.get(pos + i).cloned().unwrap_or_default();
        let ms = |s: String| Duration::from_millis(s.parse().unwrap_or(1000));
        runtime.block_on(lanes::steady_child(
            get(1),
            get(2),
            get(3),
            ms(get(4)),
            ms(get(5)),
        ));
        return;
    }
    if let Some(pos) = args.iter().position(|a| a == "--child-steady") {
        let get = |i: usize| args.get(pos + i).cloned().unwrap_or_default();
        let ms = |s: String| Duration::from_millis(s.parse().unwrap_or(1000));
        runtime.block_on(steady_child(
            get(1),
            get(2),
            get(3).parse().unwrap_or(1000),
            ms(get(4)),
            ms(get(5)),
        ));
        return;
    }

    let quick = args.iter().any(|a| a == "--quick");
    let out = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/bench/results.json"));
    let sizes: &[usize] = if quick { &[100, 1000] } else { &[100, 1000, 10_000] };
    let steady_n = if quick { 1000 } else { 10_000 };
    let lanes_n = args
        .iter()
        .position(|a| a == "--lanes")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 1000 } else { 10_000 });
    let min = Duration::from_millis(if quick { 200 } else { 1000 });
    // `--only core,calls,drift,steady,probes,lanes,apply`: run just those sections.
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let run = |section: &str| only.as_ref().is_none_or(|o| o.iter().any(|s| s == section));

    let machine = machine();
    println!(
        "Launchplane benchmarks ({})",
        if quick { "quick" } else { "full" }
    );
    println!("machine: {machine}");
    println!(
        "  {:<58} {:>8} {:>22}  {:<28} {:<12} note",
        "metric", "size", "value", "target", "status"
    );
    let mut report = Report::default();
    if run("core") {
        bench_core(&mut report, sizes, min);
    }
    runtime.block_on(async {
        let kept = if run("calls") {
            bench_calls(&mut report, sizes, 10).await
        } else {
            None
        };
        if run("drift") {
            bench_drift(
                &mut report,
                if quick { 100 } else { 1000 },
                Duration::from_millis(200),
                10,
            )
            .await;
        }
        if run("steady") {
            bench_steady(
                &mut report,
                kept,
                steady_n,
                Duration::from_secs(5),
                Duration::from_secs(if quick { 10 } else { 30 }),
            )
            .await;
        } else if let Some((sim, _)) = kept {
            sim.shutdown().await;
        }
        if run("probes") {
            bench_probes(&mut report, 8, Duration::from_secs(if quick { 1 } else { 3 })).await;
        }
        if run("lanes") {
            bench_lanes(
                &mut report,
                lanes_n,
                Duration::from_secs(10),
                Duration::from_secs(if quick { 20 } else { 30 }),
                min,
            )
            .await;
        }
    });
    if run("apply") {
        runtime.block_on(bench_apply(
            &mut report,
            if quick { 20 } else { 200 },
            if quick { 3 } else { 20 },
        ));
    }

    let missed = report.rows.iter().filter(|r| r.status == "missed").count();
    println!(
        "\n{} rows, {missed} missed target(s), {} not measured, {} skipped",
        report.rows.len(),
        report.rows.iter().filter(|r| r.status == "not-measured").count(),
        report.rows.iter().filter(|r| r.status == "skipped").count()
    );
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).expect("create the output folder");
    }
    let doc = json!({"machine": machine, "quick": quick, "rows": report.rows});
    std::fs::write(&out, serde_json::to_string_pretty(&doc).unwrap()).expect("write results");
    println!("wrote {}", out.display());
}

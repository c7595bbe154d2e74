//! Section 4: steady-state memory and CPU with N ProviderTargets: a poller + verify loop in a
//! child process of this binary, so the simulator's own memory and CPU are not counted.

use crate::fixtures::{client_for, provider_target, seeded_sim, tracked_of};
use crate::measure::{self, child_result, cpu_ms, heap, kb_to_mb, proc_status_kb};
use crate::report::{Report, Row, Section, Status};
use jiff::{SignedDuration, Timestamp};
use launchplane::observe::poller::Poller;
use launchplane_api::Verdict;
use launchplane_api::resources::ProviderTarget;
use launchplane_core::observation::PollSettings;
use launchplane_core::provider_target;
use launchplane_e2e::sim::DokploySim;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const RESULT: &str = "STEADY ";

/// The child's arguments (`child-steady`): the simulator, N, and the cycle timing.
#[derive(Clone, Debug, clap::Args)]
pub struct ChildArgs {
    #[arg(long)]
    url: String,
    #[arg(long)]
    key: String,
    #[arg(long)]
    n: usize,
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
            "child-steady".into(),
            "--url".into(),
            self.url.clone(),
            "--key".into(),
            self.key.clone(),
            "--n".into(),
            self.n.to_string(),
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
    heap: Option<heap::Breakdown>,
}

/// Each new status replaces the old one as soon as it is made (as the kube controller writes
/// it per reconcile): never all N old and N new statuses alive at once. Returns how many
/// are Matched.
fn verify_all(targets: &mut [ProviderTarget], poller: &Poller, now: Timestamp) -> usize {
    let window = poller.snapshot().window(poller.settings());
    let index = provider_target::ClaimIndex::build(targets.iter());
    let mut matched = 0;
    for t in targets.iter_mut() {
        let claims = index.claims_for(t);
        let s = provider_target::reconcile(t, &window, &claims, now).status;
        matched += usize::from(s.verdict == Some(Verdict::Matched));
        t.status = Some(s);
    }
    matched
}

/// The child: a poller + verify loop holding `n` ProviderTargets and their statuses.
pub async fn child(args: ChildArgs) {
    let profile = heap::start(&args.heap_file.display().to_string());
    let interval = Duration::from_millis(args.interval_ms);
    let window = Duration::from_millis(args.window_ms);
    let n = args.n;
    let provider = client_for(&args.url, &args.key);
    let settings = PollSettings {
        poll_interval: SignedDuration::try_from(interval).unwrap(),
        detail_interval: SignedDuration::from_secs(3600),
        stale_after_polls: 3,
    };
    let mut poller = Poller::new(provider, settings);
    // Ids come from the org-wide listing, as the user's manifests would name them. Nothing
    // of the listing is kept past this (it once was: 8 MB at 10,000 that no controller holds).
    let (ids, mut targets): (Vec<String>, Vec<ProviderTarget>) = {
        let listed = poller
            .poll(&BTreeSet::new(), Timestamp::now())
            .await
            .targets
            .clone();
        let listed = listed.expect("listing");
        let listed = &listed[..n.min(listed.len())];
        let ids = listed.iter().map(|t| t.id.clone()).collect();
        let targets = listed
            .iter()
            .enumerate()
            .map(|(i, t)| provider_target(i, &t.id, &t.name))
            .collect();
        (ids, targets)
    };
    let tracked = tracked_of(&ids);

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
    let (hwm_kb, rss_end_kb) = (proc_status_kb("VmHWM:"), proc_status_kb("VmRSS:"));
    let mut shares = heap::Shares::start();
    targets.iter_mut().for_each(|t| t.status = None);
    shares.freed("ProviderTarget statuses");
    drop(targets);
    shares.freed("ProviderTargets (spec, metadata)");
    drop(poller);
    shares.freed("poller: snapshot, detail entries, shared facts");
    drop((tracked, ids));
    shares.freed("tracked set and ids");
    let heap = shares.finish();
    profile.stop();
    child_result(
        RESULT,
        &SteadyResult {
            n,
            rss_polled_kb,
            rss_after_first_kb,
            hwm_kb,
            rss_end_kb,
            first_cycle_ms,
            window_s: elapsed,
            cycles,
            cpu_ms_window: cpu,
            cpu_ms_per_cycle: cpu / f64::from(cycles.max(1)),
            heap,
        },
    );
}

/// The parent: seed (or reuse the calls section's) simulator, run the child, report.
pub async fn run(
    report: &mut Report,
    sim: Option<(DokploySim, Vec<String>)>,
    n: usize,
    interval: Duration,
    window: Duration,
    heap_file: PathBuf,
) {
    report.section(
        Section::Steady,
        "4. steady state: poller + verify loop holding N ProviderTargets (child process)",
    );
    let (sim, _) = match sim {
        Some((sim, ids)) if ids.len() >= n => (sim, ids),
        other => {
            if let Some((sim, _)) = other {
                sim.shutdown().await;
            }
            seeded_sim(n, "bench-steady").await
        }
    };
    let args = ChildArgs {
        url: sim.base_url(),
        key: sim.api_key(),
        n,
        interval_ms: interval.as_millis() as u64,
        window_ms: window.as_millis() as u64,
        heap_file,
    };
    let result = measure::run_child::<SteadyResult>(args.to_args(), RESULT).await;
    sim.shutdown().await;
    let result = match result {
        Ok(result) => result,
        Err(why) => {
            eprintln!("steady child failed: {why}");
            report.add(Row::absent("steady state", Status::Missed).note("the child process failed"));
            return;
        }
    };
    let per_thousand = result.n as f64 / 1000.0;
    let hwm_mb = kb_to_mb(result.hwm_kb);
    report.add(
        Row::measured("peak RSS (VmHWM), whole controller process", hwm_mb, "MB")
            .at(n)
            .met("≤ 100 MB", hwm_mb <= 100.0)
            .note(format!(
                "RSS after the first poll {:.1} MB, after the first cycle {:.1} MB, at end {:.1} MB; \
                 first cycle {:.0} ms",
                kb_to_mb(result.rss_polled_kb),
                kb_to_mb(result.rss_after_first_kb),
                kb_to_mb(result.rss_end_kb),
                result.first_cycle_ms
            )),
    );
    let measured = result.cpu_ms_window / result.window_s / per_thousand;
    report.add(
        Row::measured(
            format!(
                "CPU ms/s per 1,000 targets at a {} s poll interval",
                interval.as_secs()
            ),
            measured,
            "ms/s",
        )
        .at(n)
        .met("≤ 10 ms/s per 1,000", measured <= 10.0)
        .note(format!(
            "{} cycles in {:.1} s; {:.0} ms CPU per cycle (poll + verify all)",
            result.cycles, result.window_s, result.cpu_ms_per_cycle
        )),
    );
    let at_default = result.cpu_ms_per_cycle / 60.0 / per_thousand;
    report.add(
        Row::measured(
            "CPU ms/s per 1,000 targets at the default 60 s interval",
            at_default,
            "ms/s",
        )
        .at(n)
        .met("≤ 10 ms/s per 1,000", at_default <= 10.0)
        .note("derived: CPU per steady cycle / 60 s"),
    );
    if let Some(heap) = &result.heap {
        heap::report(report, n, heap);
    }
}

//! Section 2: Dokploy calls per poll cycle at 100 / 1,000 / 10,000 tracked targets: the first
//! cycle, a steady one, after out-of-band renames and env edits, and with the default detail
//! interval.

use crate::fixtures::{client, seeded_sim, targets_for, total_calls, tracked_of};
use crate::report::{Report, Row, Section};
use jiff::{SignedDuration, Timestamp};
use launchplane::observe::poller::Poller;
use launchplane_api::resources::ProviderTarget;
use launchplane_core::observation::{PollSettings, TrackedTarget};
use launchplane_core::provider_target;
use launchplane_e2e::sim::{DokploySim, OutOfBandEdit};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// What one measured cycle saw.
struct Cycle {
    org: u64,
    detail: u64,
    wall: Duration,
    verdicts: BTreeMap<String, usize>,
}

/// Measure every size; the simulator of the largest is handed back (the steady section
/// reuses its seeded apps).
pub async fn run(report: &mut Report, sizes: &[usize], edits: usize) -> Option<(DokploySim, Vec<String>)> {
    report.section(
        Section::Calls,
        "2. Dokploy calls per poll cycle (org-wide + detail), naive = one detail call per target",
    );
    let mut kept = None;
    let largest = sizes.iter().copied().max().unwrap_or(0);
    for &n in sizes {
        let (sim, ids) = seeded_sim(n, &format!("bench-calls-{n}")).await;
        at_size(report, &sim, &ids, edits).await;
        if n == largest {
            kept = Some((sim, ids));
        } else {
            sim.shutdown().await;
        }
    }
    kept
}

async fn cycle(
    sim: &DokploySim,
    poller: &mut Poller,
    tracked: &BTreeSet<TrackedTarget>,
    targets: &[ProviderTarget],
    at: Timestamp,
) -> Cycle {
    sim.reset_call_counts();
    let started = Instant::now();
    let snapshot = poller.poll(tracked, at).await.clone();
    let wall = started.elapsed();
    assert!(snapshot.last_failure.is_none(), "{:?}", snapshot.last_failure);
    let window = snapshot.window(poller.settings());
    let mut verdicts: BTreeMap<String, usize> = BTreeMap::new();
    for t in targets {
        let v = provider_target::reconcile(t, &window, &[], at).status.verdict;
        *verdicts
            .entry(format!("{:?}", v.unwrap_or_default()))
            .or_default() += 1;
    }
    let (org, detail) = total_calls(sim);
    Cycle {
        org,
        detail,
        wall,
        verdicts,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn at_size(report: &mut Report, sim: &DokploySim, ids: &[String], edits: usize) {
    let n = ids.len();
    let tracked = tracked_of(ids);
    let targets = targets_for(ids);
    let settings = PollSettings {
        poll_interval: SignedDuration::from_secs(60),
        // The "at scale" setting: details are re-read on change, or hourly.
        detail_interval: SignedDuration::from_secs(3600),
        stale_after_polls: 3,
    };
    let mut poller = Poller::new(client(sim), settings);
    let t0 = Timestamp::now();
    let at = |minutes: i64| t0 + SignedDuration::from_secs(60 * minutes);

    let c = cycle(sim, &mut poller, &tracked, &targets, at(0)).await;
    report.add(
        Row::measured("first cycle: org-wide calls", c.org as f64, "calls")
            .at(n)
            .met("≤ 3 (+1 version read)", c.org <= 4)
            .note("settings.getDokployVersion + overview.services/domains + deployment.allCentralized"),
    );
    report.add(
        Row::measured(
            format!("first cycle: detail calls (naive: {n})"),
            c.detail as f64,
            "calls",
        )
        .at(n)
        .met("= N (nothing read yet)", c.detail == n as u64)
        .note(format!("cycle wall time {:.0} ms", ms(c.wall))),
    );

    let c = cycle(sim, &mut poller, &tracked, &targets, at(1)).await;
    report.add(
        Row::measured(
            "steady cycle (no changes): total calls",
            (c.org + c.detail) as f64,
            "calls",
        )
        .at(n)
        .met("≤ 3, no detail", c.org <= 3 && c.detail == 0)
        .note(format!(
            "org {} + detail {} vs naive {n}; wall {:.0} ms; verdicts {:?}",
            c.org,
            c.detail,
            ms(c.wall),
            c.verdicts
        )),
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
    let c = cycle(sim, &mut poller, &tracked, &targets, at(2)).await;
    let mismatched = c.verdicts.get("Mismatch").copied().unwrap_or(0);
    report.add(
        Row::measured(
            format!("after {k} out-of-band renames: total calls"),
            (c.org + c.detail) as f64,
            "calls",
        )
        .at(n)
        .met(
            &format!("≤ 3 + {k} detail"),
            c.org <= 3 && c.detail <= k as u64 && mismatched == k,
        )
        .note(format!(
            "org {} + detail {}; {mismatched} Mismatch",
            c.org, c.detail
        )),
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
    let c = cycle(sim, &mut poller, &tracked, &targets, at(3)).await;
    report.add(
        Row::measured(
            format!("after {k} out-of-band env edits: total calls"),
            (c.org + c.detail) as f64,
            "calls",
        )
        .at(n)
        .met("≤ 3 (env drift: next detail read)", c.org <= 3)
        .note(format!(
            "org {} + detail {}: env drift waits for the detail interval (here 1 h)",
            c.org, c.detail
        )),
    );

    // The default detail interval equals the poll interval: every tracked detail is due.
    poller.set_settings(PollSettings {
        detail_interval: SignedDuration::from_secs(60),
        ..settings
    });
    let c = cycle(sim, &mut poller, &tracked, &targets, at(4)).await;
    report.add(
        Row::measured(
            "steady cycle, default detail interval (= poll interval)",
            (c.org + c.detail) as f64,
            "calls",
        )
        .at(n)
        .beside("(every detail stale: = 3 + N)")
        .note(format!(
            "org {} + detail {}; wall {:.0} ms; lengthen detailIntervalSeconds at scale",
            c.org,
            c.detail,
            ms(c.wall)
        )),
    );
}

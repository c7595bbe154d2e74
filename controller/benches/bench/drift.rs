//! Section 3: drift detection latency: an out-of-band rename at a varied phase of the poll
//! interval, until the ProviderTarget's verdict is Mismatch.

use crate::fixtures::{client, seeded_sim, targets_for, tracked_of};
use crate::report::{Report, Row, Section};
use jiff::{SignedDuration, Timestamp};
use launchplane::observe::poller::Poller;
use launchplane_api::Verdict;
use launchplane_core::observation::PollSettings;
use launchplane_core::provider_target;
use launchplane_e2e::sim::OutOfBandEdit;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub async fn run(report: &mut Report, n: usize, interval: Duration, trials: usize) {
    report.section(
        Section::Drift,
        "3. drift detection latency (out-of-band rename → Mismatch)",
    );
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
    let bound = format!("≤ interval ({} ms) + poll", interval.as_millis());
    report.add(
        Row::measured(
            "polls from edit to Mismatch (worst of trials)",
            worst_polls as f64,
            "polls",
        )
        .at(n)
        .met("≤ 1 poll", worst_polls <= 1)
        .note(format!(
            "{trials} trials; poll interval {} ms",
            interval.as_millis()
        )),
    );
    report.add(
        Row::measured("edit → Mismatch wall time p50", p50.as_secs_f64() * 1000.0, "ms")
            .at(n)
            .beside(&bound)
            .note("edit at a random phase of the interval"),
    );
    report.add(
        Row::measured("edit → Mismatch wall time max", max.as_secs_f64() * 1000.0, "ms")
            .at(n)
            .beside(&bound),
    );
    sim.shutdown().await;
}

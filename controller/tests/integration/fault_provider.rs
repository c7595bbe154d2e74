//! Fault suite: Dokploy failing in every way the simulator can fail (5xx, timeouts, 401
//! throttling after a run of successes, a key refused on first contact, malformed bodies,
//! connection refused), through the real ProviderConfig reconcile (kube controller code with
//! a mocked API server) and the poller.
//!
//! Each fault must give Unverifiable for the ProviderTargets and the ProviderConfig, never a
//! false Matched or Mismatch (the one honest Mismatch is a key Dokploy refuses on first
//! contact: that is the ProviderAuthenticated aspect, not a target), and the next poll must be
//! backed off in the right delay class (error_policy.rs: Transient backs off from the 2 s
//! base, Throttled waits the long throttle interval, a refused key waits the backoff cap).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::fault_support;

use fault_support::*;
use jiff::{SignedDuration, Timestamp};
use launchplane::error_policy::BackoffPolicy;
use launchplane::observe::poller::Poller;
use launchplane_api::Verdict;
use launchplane_api::conditions::{find, types};
use launchplane_core::observation::{PollSettings, Snapshot, TrackedTarget};
use launchplane_core::provider_config::{KeySource, reconcile as config_core};
use launchplane_core::provider_target::{claims_against, reconcile as target_core};
use launchplane_e2e::sim::Fault;
use launchplane_providers::{DokployClient, DokployConfig, RetryPolicy, TargetCategory as Category};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

// === the faults ===

#[tokio::test]
async fn server_errors_are_unverifiable_and_back_off_transiently() {
    let h = Harness::start("fault-5xx-key").await;
    healthy_first_poll(&h).await;
    let base = BackoffPolicy::default().base.as_secs_f64();

    h.sim.inject("*", Fault::Status(503));
    h.next_poll();
    let (action, status) = h.reconcile().await;
    assert_eq!(status["verdict"], "Unverifiable", "{status}");
    let reachable = condition(&status, types::PROVIDER_REACHABLE);
    assert_eq!(reachable["reason"], "Unverifiable");
    assert!(
        reachable["message"].as_str().unwrap().contains("503"),
        "{reachable}"
    );
    assert_all_unverifiable(&h.target_verdicts(), "ProviderError");
    // First failure in a row: the transient base delay, well inside the poll interval.
    assert_eq!(requeue_secs(&action), base, "{action:?}");

    // A second failure backs off further (2 s × 2, full jitter, never below the base).
    h.next_poll();
    let (action, _) = h.reconcile().await;
    let delay = requeue_secs(&action);
    assert!((base..=base * 2.0).contains(&delay), "{delay}");
    assert_all_unverifiable(&h.target_verdicts(), "ProviderError");

    // Recovery: Matched again, back on the poll interval.
    h.sim.clear_faults();
    h.next_poll();
    let (action, status) = h.reconcile().await;
    assert_eq!(status["verdict"], "Matched", "{status}");
    assert!(requeue_secs(&action) >= f64::from(POLL) * 0.9 - 1.0);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn a_detail_read_failing_alone_never_turns_into_a_mismatch() {
    let h = Harness::start("fault-detail-key").await;
    h.sim.inject("application.one", Fault::Status(500));
    let (_, status) = h.reconcile().await;
    // The org-wide listing answered, so the config is reachable; the targets were compared on
    // what the listing shows and their detail (type, image, env keys) is simply not known yet.
    assert_eq!(status["verdict"], "Matched", "{status}");
    for (verdict, reason, message) in h.target_verdicts() {
        assert_ne!(verdict, Verdict::Mismatch, "{reason}: {message}");
    }
    h.sim.shutdown().await;
}

#[tokio::test]
async fn throttling_401_after_successes_is_unverifiable_and_waits_the_long_interval() {
    let key = "fault-throttle-key";
    let (sim, _, targets) = seeded(key).await;
    // The key works for exactly the first poll (1 version read, 3 org-wide, 3 details), then
    // every call gets Dokploy's exhausted-key 401.
    sim.inject("*", Fault::UnauthorizedAfter(7));
    let h = Harness::with(sim, key, None, targets);
    healthy_first_poll(&h).await;
    assert_eq!(
        h.sim.call_counts().values().sum::<u64>(),
        7,
        "the run of successes"
    );

    h.next_poll();
    let (action, status) = h.reconcile().await;
    assert_eq!(status["verdict"], "Unverifiable", "{status}");
    let reachable = condition(&status, types::PROVIDER_REACHABLE);
    assert_eq!(reachable["reason"], "Unverifiable", "{reachable}");
    assert!(
        reachable["message"].as_str().unwrap().contains("throttled"),
        "{reachable}"
    );
    // Not proof the key is wrong: the key stays Authenticated.
    assert_eq!(
        condition(&status, types::PROVIDER_AUTHENTICATED)["reason"],
        "Matched"
    );
    assert_eq!(status["authenticated"], true);
    assert_all_unverifiable(&h.target_verdicts(), "ProviderThrottled");
    assert_eq!(
        requeue_secs(&action),
        BackoffPolicy::default().throttle.as_secs_f64(),
        "an exhausted key waits the throttle interval"
    );
    // And no 401 was retried in-process: at most the three concurrent org-wide calls.
    let calls = h.sim.call_counts().values().sum::<u64>();
    assert!((8..=10).contains(&calls), "{calls} calls");
    h.sim.shutdown().await;
}

#[tokio::test]
async fn a_key_refused_on_first_contact_is_a_mismatch_of_the_key_only() {
    let key = "fault-refused-key";
    let (sim, _, targets) = seeded(key).await;
    sim.inject("*", Fault::UnauthorizedAfter(0));
    let h = Harness::with(sim, key, None, targets);
    let (action, status) = h.reconcile().await;
    assert_eq!(
        condition(&status, types::PROVIDER_AUTHENTICATED)["reason"],
        "Mismatch",
        "{status}"
    );
    assert!(!status.to_string().contains(key), "the key never reaches status");
    // The targets are not compared at all: Unverifiable, not Mismatch.
    assert_all_unverifiable(&h.target_verdicts(), "ProviderUnauthorized");
    assert_eq!(
        requeue_secs(&action),
        BackoffPolicy::default().max.as_secs_f64(),
        "a refused key waits the backoff cap"
    );
    h.sim.shutdown().await;
}

#[tokio::test]
async fn malformed_bodies_are_unverifiable_and_back_off_transiently() {
    let h = Harness::start("fault-malformed-key").await;
    healthy_first_poll(&h).await;
    h.sim.inject("overview.services", Fault::MalformedBody);
    h.next_poll();
    let (action, status) = h.reconcile().await;
    assert_eq!(status["verdict"], "Unverifiable", "{status}");
    assert!(
        condition(&status, types::PROVIDER_REACHABLE)["message"]
            .as_str()
            .unwrap()
            .contains("malformed"),
        "{status}"
    );
    assert_all_unverifiable(&h.target_verdicts(), "ProviderError");
    assert_eq!(requeue_secs(&action), BackoffPolicy::default().base.as_secs_f64());
    h.sim.shutdown().await;
}

#[tokio::test]
async fn connection_refused_is_unreachable_and_backs_off_transiently() {
    // A port nothing listens on: Unreachable, the transport failure class timeouts share. The
    // discard port, as the other "nothing there" tests use: a free port picked and released
    // here could be taken by a simulator another test starts meanwhile.
    let url = "http://127.0.0.1:9".to_string();
    let key = "fault-refused-conn-key";
    let (sim, _, targets) = seeded(key).await;
    let h = Harness::with(sim, key, Some(&url), targets);
    let (action, status) = h.reconcile().await;
    assert_eq!(status["verdict"], "Unverifiable", "{status}");
    assert_eq!(status["reachable"], false);
    assert_all_unverifiable(&h.target_verdicts(), "ProviderUnreachable");
    assert_eq!(requeue_secs(&action), BackoffPolicy::default().base.as_secs_f64());
    h.sim.shutdown().await;
}

/// Timeouts go through the poller with a short client timeout (the kube controller's client
/// uses the 30 s default, too slow for a test); the failure is Unreachable, which the
/// connection-refused test above shows backs off in the transient class.
#[tokio::test]
async fn timeouts_are_unreachable_and_never_a_stale_match() {
    let key = "fault-timeout-key";
    let (sim, ids, targets) = seeded(key).await;
    let mut dokploy = DokployConfig::new(sim.base_url(), key.to_string());
    dokploy.request_timeout = Duration::from_millis(300);
    dokploy.retry = RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
    };
    let settings = PollSettings::default();
    let mut poller = Poller::new(Arc::new(DokployClient::new(dokploy).unwrap()), settings);
    let tracked: BTreeSet<TrackedTarget> = ids.iter().map(|id| (Category::Application, id.clone())).collect();
    let t0 = Timestamp::from_second(1_800_000_000).unwrap();
    let config = config(&sim.base_url());

    let verdicts = |snapshot: &Snapshot, now: Timestamp| -> Vec<(Verdict, String)> {
        let window = snapshot.window(&settings);
        targets
            .iter()
            .map(|t| {
                let s = target_core(t, &window, &claims_against(t, &targets), now).status;
                (s.verdict.unwrap(), s.reason.unwrap_or_default())
            })
            .collect()
    };
    let good = poller.poll(&tracked, t0).await.clone();
    assert!(verdicts(&good, t0).iter().all(|(v, _)| *v == Verdict::Matched));

    sim.inject("*", Fault::Timeout);
    let t1 = t0 + SignedDuration::from_secs(60);
    let started = std::time::Instant::now();
    let failed = poller.poll(&tracked, t1).await.clone();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the client timeout bounds the poll"
    );
    let (failure, detail) = failed.last_failure.clone().expect("the poll failed");
    assert_eq!(
        failure,
        launchplane_api::verify::target::ProviderFailure::Unreachable
    );
    assert!(detail.contains("timed out"), "{detail}");
    // The last good listing is kept as facts, but no verdict is drawn from it.
    assert!(good.targets.as_ref().is_some_and(|t| !t.is_empty()));
    assert_eq!(failed.targets, good.targets);
    for (verdict, reason) in verdicts(&failed, t1) {
        assert_eq!(verdict, Verdict::Unverifiable);
        assert_eq!(reason, "ProviderUnreachable");
    }
    let status = config_core(&config, Ok(&failed), &KeySource::Secret, targets.len(), t1).status;
    assert_eq!(status.verdict, Some(Verdict::Unverifiable));
    assert_eq!(status.reachable, Some(false));
    let reachable = find(&status.conditions, types::PROVIDER_REACHABLE).unwrap();
    assert!(reachable.message.contains("timed out"), "{}", reachable.message);
    sim.shutdown().await;
}

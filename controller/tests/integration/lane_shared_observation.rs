//! Observation is shared, not per lane: lanes take their target's image and env from the
//! shared poller's detail reads, so N lanes in sync cost no `application.one` call beyond the
//! poller's own per cycle. The driver still reads the target itself when the poller's read
//! cannot be trusted: while an attempt is in flight and after a mutation step (so a lane
//! deploys once even though the poller's read still shows the old image).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use jiff::{SignedDuration, Timestamp};
use launchplane::engine::driver::{DriveLimits, DriveReport, LaneWorld, PolledFacts, drive};
use launchplane::engine::executor::Executor;
use launchplane::observe::poller::Poller;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane::standalone::records::FileRecordStore;
use launchplane::standalone::state::StateDir;
use launchplane_api::conditions::{Clock, SystemClock};
use launchplane_api::resources::{
    Artifact, Lane, LaneEnv, LaneRuntimeIdentity, LaneSpec, LocalObjectRef, PreviewPolicy, Product,
    ProviderTarget, RuntimeIdentity,
};
use launchplane_api::verdict::Verdict;
use launchplane_core::observation::{PollSettings, TrackedTarget};
use launchplane_core::target::DesiredEnv;
use launchplane_e2e::sim::{DokploySim, OutOfBandEdit, SeedApplication};
use launchplane_providers::{DokployClient, DokployConfig, Provider, RateLimit, SecretString};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use support::{INSTANCE, NS, artifact, deploy_settings, managed_target, shop_product, start_sim};
const LANES: usize = 5;
const OLD_IMAGE: &str =
    "ghcr.io/acme/shop@sha256:1111111111111111111111111111111111111111111111111111111111111111";

struct One {
    app: String,
    target: ProviderTarget,
    lane: Lane,
    identity: Option<RuntimeIdentity>,
}

struct Fleet {
    /// How far the controller's clock is ahead of Dokploy's (the simulator's is the real one).
    skew: SignedDuration,
    sim: DokploySim,
    product: Product,
    artifact: Artifact,
    lanes: Vec<One>,
    state: tempfile::TempDir,
    prober: Prober,
    executor: Executor,
    poller: Poller,
}

async fn fleet(detail_interval: SignedDuration) -> Fleet {
    launchplane_providers::install_crypto_provider();
    let sim = start_sim(50).await;
    let (_project, production) = sim.seed_project("shop");
    let product = shop_product(PreviewPolicy::default());
    let artifact = artifact("shop-a", 'a');
    let mut lanes = Vec::new();
    for i in 0..LANES {
        let name = format!("shop-{i}");
        let app = sim
            .seed_application(
                &production,
                SeedApplication {
                    name: name.clone(),
                    docker_image: Some(OLD_IMAGE.into()),
                    env: Some("KEEP_ME=1\n".into()),
                    domains: vec![format!("{name}.shop.test")],
                    deployed: true,
                    ..Default::default()
                },
            )
            .unwrap();
        let target = managed_target(&name, &app);
        let mut lane = Lane::new(
            &name,
            LaneSpec {
                product_ref: LocalObjectRef::new("shop"),
                stage: format!("stage-{i}"),
                target_ref: LocalObjectRef::new(&name),
                artifact_ref: Some(LocalObjectRef::new("shop-a")),
                env: LaneEnv::default(),
                runtime_identity: LaneRuntimeIdentity {
                    required: true,
                    base_url: Some(sim.app_url(&app).unwrap()),
                    ..Default::default()
                },
                ..Default::default()
            },
        );
        lane.metadata.namespace = Some(NS.into());
        lanes.push(One {
            app,
            target,
            lane,
            identity: None,
        });
    }
    let mut config = DokployConfig::new(sim.base_url(), sim.api_key());
    config.rate_limit = RateLimit {
        per_second: 10_000.0,
        burst: 10_000,
    };
    let client: Arc<dyn Provider> = Arc::new(DokployClient::new(config).unwrap());
    let poller = Poller::new(
        client.clone(),
        PollSettings {
            poll_interval: SignedDuration::from_secs(1),
            detail_interval,
            stale_after_polls: 3,
        },
    );
    Fleet {
        skew: SignedDuration::ZERO,
        sim,
        product,
        artifact,
        lanes,
        state: tempfile::tempdir().unwrap(),
        prober: Prober::new(ProberConfig::default()).unwrap(),
        executor: Executor::new(client),
        poller,
    }
}

impl Fleet {
    fn tracked(&self) -> BTreeSet<TrackedTarget> {
        self.lanes
            .iter()
            .map(|l| (launchplane_providers::TargetCategory::Application, l.app.clone()))
            .collect()
    }

    async fn poll(&mut self) {
        let tracked = self.tracked();
        let now = Timestamp::now().checked_add(self.skew).unwrap();
        let snapshot = self.poller.poll(&tracked, now).await;
        assert!(snapshot.last_failure.is_none(), "{:?}", snapshot.last_failure);
    }

    /// Drive lane `i` with the poller's facts, as both shells do.
    async fn drive(&mut self, i: usize, max_steps: usize) -> DriveReport {
        let store = FileRecordStore::new(StateDir::new(self.state.path()), Vec::new());
        let polled = PolledFacts {
            facts: self.poller.facts(),
            max_age: self.poller.settings().detail_interval,
            listing: None,
        };
        let one = &self.lanes[i];
        let world = LaneWorld {
            lane: &one.lane,
            lane_key: one.lane.metadata.name.clone().unwrap(),
            feed: launchplane_core::promotion::feed(&one.lane, &[]),
            product: Some(&self.product),
            target: Some(&one.target),
            artifact: Some(&self.artifact),
            desired_env: Ok(DesiredEnv::from([(
                "APP_ENV".to_string(),
                SecretString::new("testing"),
            )])),
            identity: one.identity.clone(),
            polled: Some(polled),
            instance: INSTANCE,
            rivals: Vec::new(),
            bootstraps: Vec::new(),
        };
        let report = drive(
            &world,
            Some(&self.executor),
            &self.prober,
            &store,
            &deploy_settings(),
            DriveLimits {
                max_steps,
                deadline: Duration::from_secs(30),
            },
            &Skewed(self.skew),
        )
        .await;
        assert!(report.error.is_none(), "{:?}", report.error);
        let one = &mut self.lanes[i];
        one.lane.status = Some(report.plan.outcome.status.clone());
        one.identity = report.plan.identity.clone().or(one.identity.take());
        report
    }

    /// One reconcile cycle: a poll, then every lane driven once. Returns the `application.one`
    /// calls of the cycle and the poller's own detail reads in it.
    async fn cycle(&mut self) -> (u64, u32) {
        self.sim.reset_call_counts();
        self.poll().await;
        let polled = self.poller.snapshot().last_cycle.detail;
        for i in 0..LANES {
            let report = self.drive(i, 10).await;
            assert!(report.steps.is_empty(), "lane {i} in sync: {:?}", report.steps);
        }
        (self.sim.call_count("application.one"), polled)
    }

    fn verdict(&self, i: usize) -> Option<Verdict> {
        self.lanes[i].lane.status.as_ref().and_then(|s| s.verdict)
    }

    /// Deploy every lane to Matched, starting from a poll that read the old image.
    async fn deploy_all(&mut self) {
        self.poll().await;
        for i in 0..LANES {
            self.drive(i, 40).await;
            assert_eq!(self.verdict(i), Some(Verdict::Matched), "lane {i}");
        }
        assert_eq!(self.sim.call_count("application.deploy"), LANES as u64);
        // The next poll starts in a later second than every deploy (record times are whole
        // seconds; a read in the same second as a deploy's start is not trusted).
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
}

/// The controller's clock, `0` ahead of Dokploy's.
struct Skewed(SignedDuration);

impl Clock for Skewed {
    fn now(&self) -> Timestamp {
        SystemClock
            .now()
            .checked_add(self.0)
            .unwrap_or_else(|_| SystemClock.now())
    }
}

/// A read taken before a deploy never stands in for the target after it, however the
/// controller's and Dokploy's clocks differ: a deploy counts from when the controller sent it,
/// not from the start time Dokploy reports (with the controller an hour ahead, Dokploy's start
/// of a deploy made after the poll read as before it, and the old image as drift).
#[tokio::test]
async fn a_read_from_before_a_deploy_is_never_taken_for_after_it_whatever_the_clocks_say() {
    let mut f = fleet(SignedDuration::from_secs(300)).await;
    f.skew = SignedDuration::from_hours(1);
    f.poll().await;
    for i in 0..LANES {
        f.drive(i, 40).await;
        assert_eq!(f.verdict(i), Some(Verdict::Matched), "lane {i}");
    }
    assert_eq!(f.sim.call_count("application.deploy"), LANES as u64);
    // The poller's facts still show the old image, read before the deploys.
    for i in 0..LANES {
        let report = f.drive(i, 40).await;
        assert!(report.steps.is_empty(), "lane {i}: {:?}", report.steps);
        assert_eq!(
            f.verdict(i),
            Some(Verdict::Matched),
            "lane {i}: {:?}",
            f.lanes[i].lane.status
        );
    }
    assert_eq!(f.sim.call_count("application.deploy"), LANES as u64);
    f.sim.shutdown().await;
}

#[tokio::test]
async fn lanes_deploy_once_each_although_the_shared_read_still_shows_the_old_image() {
    let mut f = fleet(SignedDuration::from_secs(300)).await;
    f.poll().await;
    let facts = f.poller.facts();
    for one in &f.lanes {
        let read = facts
            .get(launchplane_providers::TargetCategory::Application, &one.app)
            .unwrap();
        assert_eq!(read.facts.image.as_deref(), Some(OLD_IMAGE));
    }
    f.sim.reset_call_counts();
    for i in 0..LANES {
        let report = f.drive(i, 40).await;
        assert!(report.steps.contains(&"Deploy"), "{:?}", report.steps);
        assert_eq!(f.verdict(i), Some(Verdict::Matched), "lane {i}");
    }
    // Had the stale shared read stood in after SetImage, the lanes would set the image
    // again and again; instead each deployed exactly once, and confirmed its steps by reading.
    assert_eq!(f.sim.call_count("application.deploy"), LANES as u64);
    assert_eq!(f.sim.call_count("application.saveDockerProvider"), LANES as u64);
    assert!(f.sim.call_count("application.one") >= LANES as u64);
    f.sim.shutdown().await;
}

#[tokio::test]
async fn lanes_in_sync_cost_no_detail_call_beyond_the_pollers_own() {
    let mut f = fleet(SignedDuration::from_secs(300)).await;
    f.deploy_all().await;

    // The first poll after the deploys re-reads the changed targets (their lastDeployAt
    // moved); the lanes read nothing themselves.
    let (detail_calls, polled) = f.cycle().await;
    assert_eq!(
        detail_calls,
        u64::from(polled),
        "every application.one of the cycle is the poller's"
    );
    for i in 0..LANES {
        assert_eq!(f.verdict(i), Some(Verdict::Matched), "lane {i}");
    }

    // Steady state: three org-wide calls per poll, no detail call at all for N lanes.
    for _ in 0..3 {
        let (detail_calls, polled) = f.cycle().await;
        assert_eq!((detail_calls, polled), (0, 0));
        assert_eq!(f.sim.call_count("overview.services"), 1);
        for i in 0..LANES {
            assert_eq!(f.verdict(i), Some(Verdict::Matched), "lane {i}");
        }
    }
    assert_eq!(f.sim.call_count("application.deploy"), 0);
    f.sim.shutdown().await;
}

#[tokio::test]
async fn with_every_detail_stale_each_cycle_the_lanes_still_add_no_detail_call() {
    // The default detail interval equals the poll interval: the poller re-reads every tracked
    // target each cycle, and the lanes use those reads (N calls per cycle, not 2N).
    let mut f = fleet(SignedDuration::from_secs(300)).await;
    f.deploy_all().await;
    f.poller.set_settings(PollSettings {
        detail_interval: SignedDuration::ZERO,
        ..*f.poller.settings()
    });
    let tracked = f.tracked();
    for _ in 0..2 {
        f.sim.reset_call_counts();
        f.poller.poll(&tracked, Timestamp::now()).await;
        assert_eq!(f.sim.call_count("application.one"), LANES as u64);
        for i in 0..LANES {
            let store = FileRecordStore::new(StateDir::new(f.state.path()), Vec::new());
            let one = &f.lanes[i];
            let world = LaneWorld {
                lane: &one.lane,
                lane_key: one.lane.metadata.name.clone().unwrap(),
                feed: launchplane_core::promotion::feed(&one.lane, &[]),
                product: Some(&f.product),
                target: Some(&one.target),
                artifact: Some(&f.artifact),
                desired_env: Ok(DesiredEnv::from([(
                    "APP_ENV".to_string(),
                    SecretString::new("testing"),
                )])),
                identity: one.identity.clone(),
                // The read of this very cycle counts as fresh for one poll interval.
                polled: Some(PolledFacts {
                    facts: f.poller.facts(),
                    max_age: f.poller.settings().poll_interval,
                    listing: None,
                }),
                instance: INSTANCE,
                rivals: Vec::new(),
                bootstraps: Vec::new(),
            };
            let report = drive(
                &world,
                Some(&f.executor),
                &f.prober,
                &store,
                &deploy_settings(),
                DriveLimits::default(),
                &SystemClock,
            )
            .await;
            assert!(report.steps.is_empty(), "{:?}", report.steps);
            assert_eq!(report.plan.outcome.status.verdict, Some(Verdict::Matched));
        }
        assert_eq!(
            f.sim.call_count("application.one"),
            LANES as u64,
            "the poller's N reads and nothing more"
        );
    }
    f.sim.shutdown().await;
}

#[tokio::test]
async fn out_of_band_drift_reaches_the_lanes_through_the_pollers_next_read() {
    let mut f = fleet(SignedDuration::from_secs(300)).await;
    f.deploy_all().await;
    f.cycle().await;

    // Someone renames lane 0's app and swaps its image: the listing shows the rename, so the
    // poller re-reads that one target, and the lane sees the new image without a read of its
    // own.
    assert!(f.sim.edit(
        &f.lanes[0].app,
        OutOfBandEdit {
            name: Some("renamed".into()),
            docker_image: Some("ghcr.io/acme/shop:latest".into()),
            ..Default::default()
        }
    ));
    let (detail_calls, polled) = f.cycle().await;
    assert_eq!((detail_calls, polled), (1, 1));
    assert_eq!(f.verdict(0), Some(Verdict::Mismatch));
    let fields: Vec<String> = f.lanes[0]
        .lane
        .status
        .as_ref()
        .unwrap()
        .mismatches
        .iter()
        .map(|m| m.field.clone())
        .collect();
    assert!(fields.contains(&"image".to_string()), "{fields:?}");
    for i in 1..LANES {
        assert_eq!(f.verdict(i), Some(Verdict::Matched), "lane {i}");
    }
    f.sim.shutdown().await;
}

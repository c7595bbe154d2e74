//! Failed and interrupted lane deploys against the Dokploy simulator, through the real driver,
//! executor, prober and file record store, on a clock the test moves (no long sleeps):
//!
//! - failed attempts are retried on a growing backoff and stop at the limit, with
//!   `status.deployRetry` and the Reconciling / Stalled conditions saying where the lane stands;
//! - a spec change after a failure is deployed at once, without waiting out the backoff;
//! - a record left Deploying by a crash before the deploy reached Dokploy (D8) is re-sent
//!   exactly once and then succeeds; never while Dokploy is busy deploying the app; and a
//!   record that says it was re-sent is never sent again: it fails at the start timeout and
//!   the retry policy makes the next attempt.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane::engine::driver::{DriveLimits, DriveReport, LaneWorld, drive};
use launchplane::engine::executor::Executor;
use launchplane::engine::store::RecordStore;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane::standalone::records::FileRecordStore;
use launchplane::standalone::state::StateDir;
use launchplane_api::conditions::{Clock, find, types};
use launchplane_api::resources::{
    Artifact, DeployRetryStatus, DeploymentPhase, DeploymentRecord, Lane, LaneRuntimeIdentity, LaneSpec,
    LocalObjectRef, PreviewPolicy, Product, ProviderTarget, RuntimeIdentity,
};
use launchplane_api::verdict::Verdict;
use launchplane_core::deployment_record::{DeployRetryPolicy, DeploySettings, start_deploy};
use launchplane_core::target::DesiredEnv;
use launchplane_e2e::sim::{DokploySim, SeedApplication};
use launchplane_providers::{DokployClient, DokployConfig, SecretString};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::{NS, artifact, managed_target, shop_product, start_sim};

/// A clock the test moves by hand.
struct TestClock(Mutex<Timestamp>);

impl TestClock {
    fn start() -> Self {
        TestClock(Mutex::new(
            Timestamp::from_second(Timestamp::now().as_second()).unwrap(),
        ))
    }

    fn advance(&self, secs: i64) {
        let mut now = self.0.lock().unwrap();
        *now = now.checked_add(SignedDuration::from_secs(secs)).unwrap();
    }

    fn at(&self, secs_from_now: i64) -> Time {
        Time(
            self.now()
                .checked_add(SignedDuration::from_secs(secs_from_now))
                .unwrap(),
        )
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

/// Short, documented-shape settings: resend after 5s, fail an invisible deploy at 30s, back
/// off 30s, 60s, then the 100s cap, four attempts in all.
fn settings() -> DeploySettings {
    DeploySettings {
        start_timeout: SignedDuration::from_secs(30),
        resend_after: SignedDuration::from_secs(5),
        verify_timeout: SignedDuration::from_secs(5),
        retry: DeployRetryPolicy {
            base_delay: SignedDuration::from_secs(30),
            max_delay: SignedDuration::from_secs(100),
            max_attempts: 4,
        },
        poll_delay: Duration::from_millis(20),
    }
}

struct World {
    sim: DokploySim,
    app: String,
    product: Product,
    target: ProviderTarget,
    lane: Lane,
    artifacts: Vec<Artifact>,
    identity: Option<RuntimeIdentity>,
    state: tempfile::TempDir,
    prober: Prober,
    executor: Executor,
    env: DesiredEnv,
    clock: TestClock,
}

async fn world(deploy_ms: u64) -> World {
    let sim = start_sim(deploy_ms).await;
    let (_project, production) = sim.seed_project("shop");
    let app = sim
        .seed_application(
            &production,
            SeedApplication {
                name: "shop-testing".into(),
                docker_image: Some("ghcr.io/acme/shop:old".into()),
                env: Some("KEEP_ME=1\n".into()),
                domains: vec!["testing.shop.test".into()],
                deployed: true,
                ..Default::default()
            },
        )
        .unwrap();
    let url = sim.app_url(&app).unwrap();
    let mut lane = Lane::new(
        "shop-testing",
        LaneSpec {
            product_ref: LocalObjectRef::new("shop"),
            stage: "testing".into(),
            target_ref: LocalObjectRef::new("shop-testing"),
            artifact_ref: Some(LocalObjectRef::new("shop-a")),
            runtime_identity: LaneRuntimeIdentity {
                required: true,
                base_url: Some(url),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    lane.metadata.namespace = Some(NS.into());
    lane.metadata.generation = Some(1);
    let client = DokployClient::new(DokployConfig::new(sim.base_url(), sim.api_key())).unwrap();
    World {
        target: managed_target("shop-testing", &app),
        sim,
        app,
        product: shop_product(PreviewPolicy::default()),
        lane,
        artifacts: vec![artifact("shop-a", 'a'), artifact("shop-b", 'b')],
        identity: None,
        state: tempfile::tempdir().unwrap(),
        prober: Prober::new(ProberConfig::default()).unwrap(),
        executor: Executor::new(Arc::new(client)),
        env: DesiredEnv::from([("APP_ENV".to_string(), SecretString::new("testing"))]),
        clock: TestClock::start(),
    }
}

impl World {
    fn store(&self) -> FileRecordStore {
        FileRecordStore::new(StateDir::new(self.state.path()), Vec::new())
    }

    /// One controller run at the test clock's time, from scratch (as after a restart).
    async fn run(&mut self, max_steps: usize) -> DriveReport {
        let store = self.store();
        let artifact = self.lane.spec.artifact_ref.as_ref().and_then(|r| {
            self.artifacts
                .iter()
                .find(|a| a.metadata.name.as_deref() == Some(&r.name))
        });
        let world = LaneWorld {
            lane: &self.lane,
            lane_key: "shop-testing".into(),
            feed: launchplane_core::promotion::feed(&self.lane, &[]),
            product: Some(&self.product),
            target: Some(&self.target),
            artifact,
            desired_env: Ok(self.env.clone()),
            identity: self.identity.clone(),
            polled: None,
            instance: support::INSTANCE,
            rivals: Vec::new(),
            bootstraps: Vec::new(),
        };
        let report = drive(
            &world,
            Some(&self.executor),
            &self.prober,
            &store,
            &settings(),
            DriveLimits {
                max_steps,
                deadline: Duration::from_secs(30),
            },
            &self.clock,
        )
        .await;
        assert!(report.error.is_none(), "{:?}", report.error);
        self.lane.status = Some(report.plan.outcome.status.clone());
        self.identity = report.plan.identity.clone().or(self.identity.take());
        report
    }

    async fn records(&self) -> Vec<DeploymentRecord> {
        self.store().list(NS, "shop-testing").await.unwrap()
    }

    fn condition(&self, type_: &str) -> (String, String, String) {
        let c = find(&self.lane.status.as_ref().unwrap().conditions, type_).unwrap();
        (c.status.clone(), c.reason.clone(), c.message.clone())
    }

    fn retry(&self) -> Option<DeployRetryStatus> {
        self.lane.status.as_ref().unwrap().deploy_retry.clone()
    }

    fn deploys(&self) -> u64 {
        self.sim.call_count("application.deploy")
    }

    /// A spec edit: a new env value, as the API server counts it (a new generation).
    fn edit_spec(&mut self, value: &str) {
        self.env.insert("APP_ENV".into(), SecretString::new(value));
        self.lane.metadata.generation = Some(self.lane.metadata.generation.unwrap_or(0) + 1);
    }

    /// The lane's only record, after a run that wrote its intent and mutated the target but
    /// never sent the deploy: saved as Deploying at `now`, as a controller killed right after
    /// that write leaves it.
    async fn crash_after_writing_deploying(&mut self) -> DeploymentRecord {
        let report = self.run(4).await;
        assert_eq!(
            report.steps,
            vec!["CreateRecord", "MarkTarget", "SetImage", "MergeEnv"]
        );
        let record = self.records().await.pop().unwrap();
        let id = record.metadata.name.clone().unwrap();
        let status = start_deploy(&record, &id, self.clock.now());
        self.store().write_status(NS, &id, &status).await.unwrap();
        assert_eq!(self.deploys(), 0, "the deploy never reached Dokploy");
        let mut record = record;
        record.status = Some(status);
        record
    }
}

fn phase(r: &DeploymentRecord) -> Option<DeploymentPhase> {
    r.status.as_ref().and_then(|s| s.phase)
}

#[tokio::test]
async fn failed_deploys_are_retried_on_a_growing_backoff_and_stop_at_the_limit() {
    let mut w = world(50).await;
    w.sim.set_deploy_outcome(&w.app, true);

    // Attempt 1 fails; attempt n+1 is due 30s, 60s, then 100s (the cap) after failure n.
    let mut expected_deploys = 0;
    for (n, wait) in [(1, 30), (2, 60), (3, 100)] {
        let report = w.run(40).await;
        expected_deploys += 1;
        assert!(report.steps.contains(&"Deploy"), "{:?}", report.steps);
        assert_eq!(w.deploys(), expected_deploys, "attempt {n} deployed once");
        let retry = w.retry().expect("status.deployRetry");
        assert_eq!(retry.failed_attempts, n);
        assert_eq!(retry.max_attempts, 4);
        assert_eq!(retry.next_attempt_time, Some(w.clock.at(wait)));
        assert!(
            retry.last_failure.as_deref().unwrap().contains("ended error"),
            "{retry:?}"
        );
        let (reconciling, reason, message) = w.condition(types::RECONCILING);
        assert_eq!(
            (reconciling.as_str(), reason.as_str()),
            ("True", "DeployRetryScheduled")
        );
        assert!(
            message.starts_with(&format!("attempt {n} of 4 failed")),
            "{message}"
        );
        assert!(message.contains("next attempt at"), "{message}");

        // One second short of the backoff: nothing is sent.
        w.clock.advance(wait - 1);
        let report = w.run(40).await;
        assert!(report.steps.is_empty(), "{:?}", report.steps);
        assert_eq!(w.deploys(), expected_deploys);
        w.clock.advance(1);
    }

    // The fourth attempt fails too: Stalled, and no further attempt however long it waits.
    w.run(40).await;
    assert_eq!(w.deploys(), 4);
    let retry = w.retry().unwrap();
    assert_eq!((retry.failed_attempts, retry.max_attempts), (4, 4));
    assert_eq!(retry.next_attempt_time, None);
    let (stalled, reason, message) = w.condition(types::STALLED);
    assert_eq!(
        (stalled.as_str(), reason.as_str()),
        ("True", "DeployRetriesExhausted")
    );
    assert!(message.starts_with("attempt 4 of 4 failed"), "{message}");
    assert!(message.contains("change the lane's spec"), "{message}");
    assert_eq!(w.condition(types::RECONCILING).0, "False");
    for _ in 0..3 {
        w.clock.advance(86_400);
        let report = w.run(40).await;
        assert!(report.steps.is_empty(), "{:?}", report.steps);
    }
    assert_eq!(w.deploys(), 4);
    let failed = w.records().await;
    assert_eq!(failed.len(), 4);
    assert!(failed.iter().all(|r| phase(r) == Some(DeploymentPhase::Failed)));

    // The cause is fixed and the spec edited: deployed at once, and the count starts over.
    w.sim.set_deploy_outcome(&w.app, false);
    w.edit_spec("fixed");
    w.run(40).await;
    assert_eq!(w.deploys(), 5);
    assert_eq!(w.retry(), None);
    assert_eq!(w.condition(types::STALLED).0, "False");
    assert_eq!(w.condition(types::READY).0, "True");
    let status = w.lane.status.clone().unwrap();
    assert_eq!(status.inventory.unwrap().artifact, "shop-a");
    assert_eq!(status.verdict, Some(Verdict::Matched), "{:?}", status.conditions);
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_spec_or_artifact_change_after_a_failed_deploy_is_deployed_at_once() {
    let mut w = world(50).await;
    w.run(40).await;
    assert_eq!(w.deploys(), 1);

    // A spec change whose deploy fails: a retry is scheduled 30s out.
    w.sim.set_deploy_outcome(&w.app, true);
    w.clock.advance(10);
    w.edit_spec("second");
    w.run(40).await;
    assert_eq!(w.deploys(), 2);
    assert_eq!(w.retry().unwrap().failed_attempts, 1);

    // Two seconds later the user edits the lane again: deployed now, not at the retry time.
    w.sim.set_deploy_outcome(&w.app, false);
    w.clock.advance(2);
    w.edit_spec("third");
    let report = w.run(40).await;
    assert!(report.steps.contains(&"CreateRecord"), "{:?}", report.steps);
    assert_eq!(w.deploys(), 3);
    assert_eq!(w.retry(), None);
    assert!(w.sim.application_env(&w.app).unwrap().contains("APP_ENV=third"));
    assert_eq!(w.condition(types::READY).0, "True");

    // The same for a new artifact right after a failure.
    w.sim.set_deploy_outcome(&w.app, true);
    w.clock.advance(10);
    w.edit_spec("fourth");
    w.run(40).await;
    assert_eq!((w.deploys(), w.retry().unwrap().failed_attempts), (4, 1));
    w.sim.set_deploy_outcome(&w.app, false);
    w.clock.advance(1);
    w.lane.spec.artifact_ref = Some(LocalObjectRef::new("shop-b"));
    w.edit_spec("fourth");
    w.run(40).await;
    assert_eq!(w.deploys(), 5);
    let status = w.lane.status.clone().unwrap();
    assert_eq!(status.inventory.unwrap().artifact, "shop-b");
    assert_eq!(status.deploy_retry, None);
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_deploy_lost_between_writing_deploying_and_sending_is_sent_once_and_succeeds() {
    let mut w = world(50).await;
    let record = w.crash_after_writing_deploying().await;
    let id = record.metadata.name.clone().unwrap();

    // Before resendAfter (5s): followed by title only; nothing is sent, the queue is not read.
    w.clock.advance(4);
    let report = w.run(3).await;
    assert_eq!(report.steps, vec!["FollowDeployment"; 3]);
    assert_eq!(w.deploys(), 0);
    assert_eq!(w.sim.call_count("deployment.queueList"), 0);

    // After it, with Dokploy idle for the app: sent again, once, and followed to success.
    w.clock.advance(1);
    let resent_at = w.clock.at(0);
    w.run(60).await;
    assert_eq!(w.deploys(), 1, "exactly one deploy");
    let records = w.records().await;
    assert_eq!(records.len(), 1, "the same attempt, no new record");
    let record = &records[0];
    assert_eq!(phase(record), Some(DeploymentPhase::Succeeded));
    let deploy = record.status.as_ref().unwrap().deploy.clone().unwrap();
    assert_eq!(deploy.resent_at, Some(resent_at));
    assert_eq!(deploy.status.as_deref(), Some("done"));
    let titles: Vec<String> = w
        .sim
        .deployments(&w.app)
        .iter()
        .filter_map(|d| d["title"].as_str().map(str::to_string))
        .collect();
    assert_eq!(titles.iter().filter(|t| **t == id).count(), 1, "{titles:?}");
    let status = w.lane.status.clone().unwrap();
    assert_eq!(
        status.inventory.unwrap().deployment_record.as_deref(),
        Some(id.as_str())
    );
    assert_eq!(w.condition(types::READY).0, "True");

    // A restart afterwards changes nothing.
    w.clock.advance(3_600);
    let report = w.run(40).await;
    assert!(report.steps.is_empty(), "{:?}", report.steps);
    assert_eq!(w.deploys(), 1);
    w.sim.shutdown().await;
}

#[tokio::test]
async fn nothing_is_re_sent_while_dokploy_is_deploying_the_app() {
    // Deploys take 3s: someone's deploy of the app is running when the lane looks.
    let mut w = world(3_000).await;
    w.crash_after_writing_deploying().await;
    let client = DokployClient::new(DokployConfig::new(w.sim.base_url(), w.sim.api_key())).unwrap();
    client
        .deploy(
            launchplane_providers::TargetCategory::Application,
            &w.app,
            "Manual deployment",
            "",
        )
        .await
        .unwrap();
    w.clock.advance(6);
    let report = w.run(1).await;
    assert_eq!(report.steps, vec!["FollowDeployment"]);
    assert_eq!(
        w.deploys(),
        1,
        "only the other deploy: the lane's may be queued behind it"
    );
    assert_eq!(
        w.sim.call_count("deployment.queueList"),
        1,
        "the queue was looked at"
    );
    let record = w.records().await.pop().unwrap();
    assert_eq!(record.status.unwrap().deploy.unwrap().resent_at, None);

    // Once it is done, Dokploy is idle for the app: the lane's deploy is sent, once.
    for _ in 0..60 {
        if w.sim.deployments(&w.app).iter().all(|d| d["status"] != "running") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    w.run(400).await;
    assert_eq!(w.deploys(), 2);
    assert_eq!(phase(&w.records().await[0]), Some(DeploymentPhase::Succeeded));
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_record_that_says_it_was_re_sent_is_never_sent_again_and_fails_into_the_retry_policy() {
    let mut w = world(50).await;
    let record = w.crash_after_writing_deploying().await;
    let id = record.metadata.name.clone().unwrap();
    // Killed again, right after noting the re-send and before sending it.
    let mut status = record.status.clone().unwrap();
    status.deploy.as_mut().unwrap().resent_at = Some(w.clock.at(5));
    w.store().write_status(NS, &id, &status).await.unwrap();

    w.clock.advance(10);
    let report = w.run(3).await;
    assert_eq!(report.steps, vec!["FollowDeployment"; 3]);
    assert_eq!(w.deploys(), 0, "a re-send is never repeated");

    // Still nothing by startTimeout (30s): the attempt fails, and the retry policy takes over.
    w.clock.advance(21);
    w.run(40).await;
    let failed = w.records().await.pop().unwrap();
    assert_eq!(phase(&failed), Some(DeploymentPhase::Failed));
    let message = failed.status.unwrap().post_deploy.unwrap().message.unwrap();
    assert!(message.contains("sent again at"), "{message}");
    assert_eq!(w.deploys(), 0);
    let retry = w.retry().unwrap();
    assert_eq!(retry.failed_attempts, 1);
    assert_eq!(retry.next_attempt_time, Some(w.clock.at(30)));

    w.clock.advance(30);
    w.run(60).await;
    assert_eq!(w.deploys(), 1, "the next attempt deploys under a new record");
    let records = w.records().await;
    assert_eq!(records.len(), 2);
    assert!(
        records
            .iter()
            .any(|r| phase(r) == Some(DeploymentPhase::Succeeded))
    );
    assert_eq!(w.retry(), None);
    assert_eq!(w.condition(types::READY).0, "True");
    w.sim.shutdown().await;
}

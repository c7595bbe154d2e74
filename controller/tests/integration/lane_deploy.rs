//! Lane deploys against the Dokploy simulator, through the real driver, executor, prober and
//! file record store: intent before mutation, env merge keeping unrelated keys, the deploy
//! titled with the record id, followed to done or error, identity verified; a controller
//! stopped after every step resumes without a second deploy; failures leave the inventory;
//! drift Report vs Correct; suspend; external evidence; secrets never written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use launchplane::engine::driver::{DriveLimits, DriveReport, LaneWorld, drive};
use launchplane::engine::executor::Executor;
use launchplane::engine::store::RecordStore;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane::standalone::records::FileRecordStore;
use launchplane::standalone::state::StateDir;
use launchplane_api::conditions::{SystemClock, find, types};
use launchplane_api::identity::{RuntimeIdentityPayload, identity_env};
use launchplane_api::resources::{
    Artifact, DeploymentOrigin, DeploymentPhase, DeploymentRecord, DeploymentRecordSpec, DriftPolicy,
    EnvValue, IdentityFields, Lane, LaneEnv, LaneRuntimeIdentity, LaneSpec, LocalObjectRef, PreviewPolicy,
    Product, ProviderTarget, RuntimeIdentity,
};
use launchplane_api::verdict::Verdict;
use launchplane_core::target::DesiredEnv;
use launchplane_e2e::sim::{DokploySim, OutOfBandEdit, SeedApplication};
use launchplane_providers::{DokployClient, DokployConfig, SecretString};
use std::sync::Arc;
use std::time::Duration;

use support::{INSTANCE, NS, artifact, deploy_settings, managed_target, shop_product, start_sim};
const OLD_IMAGE: &str =
    "ghcr.io/acme/shop@sha256:1111111111111111111111111111111111111111111111111111111111111111";
const SECRET_VALUE: &str = "s3cr3t-payment-key-7f1";
const TENANT_SECRET: &str = "tenant-only-session-secret-42";

fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

/// One lane on a simulator service: `shop-testing`'s application here (also used by
/// `lane_claims`), an Odoo compose in `odoo_compose`.
pub(crate) struct World {
    pub(crate) sim: DokploySim,
    /// The Dokploy service the lane deploys to: an application's id (a compose's in
    /// `odoo_compose`).
    pub(crate) service: String,
    pub(crate) product: Product,
    pub(crate) target: ProviderTarget,
    pub(crate) lane: Lane,
    pub(crate) artifacts: Vec<Artifact>,
    pub(crate) identity: Option<RuntimeIdentity>,
    pub(crate) state: tempfile::TempDir,
    pub(crate) prober: Prober,
    pub(crate) executor: Executor,
    pub(crate) env: DesiredEnv,
    pub(crate) external: Vec<DeploymentRecord>,
    /// The other lanes of the namespace naming the same target.
    pub(crate) rivals: Vec<String>,
}

/// The world with the application's env set to `env` (unmarked, docker-sourced).
pub(crate) async fn world(env: &str) -> World {
    let sim = start_sim(100).await;
    let (_project, production) = sim.seed_project("shop");
    let app = sim
        .seed_application(
            &production,
            SeedApplication {
                name: "shop-testing".into(),
                docker_image: Some(OLD_IMAGE.into()),
                env: Some(env.into()),
                domains: vec!["testing.shop.test".into()],
                deployed: true,
                ..Default::default()
            },
        )
        .unwrap();
    let url = sim.app_url(&app).unwrap();
    let product = shop_product(PreviewPolicy::default());
    let target = managed_target("shop-testing", &app);
    let mut lane = Lane::new(
        "shop-testing",
        LaneSpec {
            product_ref: LocalObjectRef::new("shop"),
            stage: "testing".into(),
            target_ref: LocalObjectRef::new("shop-testing"),
            artifact_ref: Some(LocalObjectRef::new("shop-a")),
            env: LaneEnv {
                values: vec![EnvValue {
                    name: "APP_ENV".into(),
                    value: "testing".into(),
                }],
                ..Default::default()
            },
            runtime_identity: LaneRuntimeIdentity {
                required: true,
                base_url: Some(url),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    lane.metadata.namespace = Some(NS.into());
    let client = DokployClient::new(DokployConfig::new(sim.base_url(), sim.api_key())).unwrap();
    let env = DesiredEnv::from([
        ("APP_ENV".to_string(), SecretString::new("testing")),
        ("PAYMENT_KEY".to_string(), SecretString::new(SECRET_VALUE)),
    ]);
    World {
        sim,
        service: app,
        product,
        target,
        lane,
        artifacts: vec![artifact("shop-a", 'a'), artifact("shop-b", 'b')],
        identity: None,
        state: tempfile::tempdir().unwrap(),
        prober: Prober::new(ProberConfig::default()).unwrap(),
        executor: Executor::new(Arc::new(client)),
        env,
        external: Vec::new(),
        rivals: Vec::new(),
    }
}

impl World {
    pub(crate) fn store(&self) -> FileRecordStore {
        FileRecordStore::new(StateDir::new(self.state.path()), self.external.clone())
    }

    /// One controller run, from scratch (a fresh store and executor state, as after a restart).
    pub(crate) async fn run(&mut self, max_steps: usize) -> DriveReport {
        let store = self.store();
        let artifact = self.lane.spec.artifact_ref.as_ref().and_then(|r| {
            self.artifacts
                .iter()
                .find(|a| a.metadata.name.as_deref() == Some(&r.name))
        });
        let world = LaneWorld {
            lane: &self.lane,
            lane_key: self.lane.metadata.name.clone().unwrap_or_default(),
            feed: launchplane_core::promotion::feed(&self.lane, &[]),
            product: Some(&self.product),
            target: Some(&self.target),
            artifact,
            desired_env: Ok(self.env.clone()),
            identity: self.identity.clone(),
            // No shared poller: the driver reads the target on every plan.
            polled: None,
            instance: INSTANCE,
            rivals: self.rivals.clone(),
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
            &SystemClock,
        )
        .await;
        assert!(report.error.is_none(), "{:?}", report.error);
        self.lane.status = Some(report.plan.outcome.status.clone());
        self.identity = report.plan.identity.clone().or(self.identity.take());
        report
    }

    pub(crate) async fn records(&self) -> Vec<DeploymentRecord> {
        let lane = self.lane.metadata.name.clone().unwrap_or_default();
        self.store().list(NS, &lane).await.unwrap()
    }

    pub(crate) fn condition(&self, type_: &str) -> (String, String, String) {
        let c = find(&self.lane.status.as_ref().unwrap().conditions, type_).unwrap();
        (c.status.clone(), c.reason.clone(), c.message.clone())
    }

    pub(crate) fn mutations(&self) -> u64 {
        [
            "application.saveDockerProvider",
            "application.update",
            "application.deploy",
        ]
        .iter()
        .map(|r| self.sim.call_count(r))
        .sum()
    }
}

fn phase(r: &DeploymentRecord) -> Option<DeploymentPhase> {
    r.status.as_ref().and_then(|s| s.phase)
}

#[tokio::test]
async fn a_lane_restarted_after_every_step_deploys_once_and_verifies_the_identity() {
    let mut w = world(&format!("KEEP_ME=1\n# a comment\nSESSION='{TENANT_SECRET}'\n")).await;
    let mut steps = Vec::new();
    for _ in 0..40 {
        let report = w.run(1).await;
        if report.steps.is_empty() {
            break;
        }
        let step = report.steps[0];
        if step == "CreateRecord" {
            // Intent first: the record exists, Pending, and nothing was mutated yet.
            let records = w.records().await;
            assert_eq!(records.len(), 1);
            assert_eq!(phase(&records[0]), Some(DeploymentPhase::Pending));
            assert_eq!(w.mutations(), 0);
        }
        steps.push(step);
    }
    let deduped: Vec<&str> = steps.iter().copied().fold(Vec::new(), |mut v, s| {
        if v.last() != Some(&s) {
            v.push(s);
        }
        v
    });
    assert_eq!(
        deduped,
        vec![
            "CreateRecord",
            "MarkTarget",
            "SetImage",
            "MergeEnv",
            "Deploy",
            "FollowDeployment",
            "WriteRecord"
        ],
        "{steps:?}"
    );
    assert_eq!(
        w.sim.call_count("application.deploy"),
        1,
        "one record, one deploy"
    );

    let records = w.records().await;
    assert_eq!(records.len(), 1);
    let record = &records[0];
    let id = record.metadata.name.clone().unwrap();
    assert_eq!(
        id,
        launchplane_api::identity::deployment_record_id("shop-testing", "shop-a", 1)
    );
    assert_eq!(phase(record), Some(DeploymentPhase::Succeeded));
    let evidence = record.status.as_ref().unwrap();
    assert_eq!(evidence.deploy.as_ref().unwrap().status.as_deref(), Some("done"));
    assert_eq!(
        evidence.identity.as_ref().unwrap().verdict,
        Some(Verdict::Matched)
    );

    // The deploy is titled with the record id; the image is pinned by digest.
    let deployments = w.sim.deployments(&w.service);
    assert!(
        deployments.iter().any(|d| d["title"] == id.as_str()),
        "{deployments:?}"
    );
    assert_eq!(
        w.sim.docker_image(&w.service).as_deref(),
        Some(format!("ghcr.io/acme/shop@{}", digest('a')).as_str())
    );
    // Unrelated keys and comments are kept byte for byte; the identity and lane keys are added.
    let env = w.sim.application_env(&w.service).unwrap();
    assert!(
        env.starts_with(&format!("KEEP_ME=1\n# a comment\nSESSION='{TENANT_SECRET}'\n")),
        "{env}"
    );
    for key in [
        "LAUNCHPLANE_RUNTIME_IDENTITY_JSON",
        "LAUNCHPLANE_DEPLOYMENT_RECORD_ID",
        "APP_ENV",
        "PAYMENT_KEY",
    ] {
        assert!(env.contains(key), "{key} missing");
    }

    let status = w.lane.status.clone().unwrap();
    let inventory = status.inventory.unwrap();
    assert_eq!(inventory.artifact, "shop-a");
    assert_eq!(inventory.deployment_record.as_deref(), Some(id.as_str()));
    assert_eq!(inventory.source_ref.as_deref(), Some("a".repeat(40).as_str()));
    assert!(status.release_tuple.unwrap().starts_with("rt-"));
    assert_eq!(status.verdict, Some(Verdict::Matched), "{:?}", status.conditions);
    assert_eq!(w.condition(types::RUNTIME_IDENTITY_VERIFIED).0, "True");
    assert_eq!(w.condition(types::READY).0, "True");

    // Running again changes nothing.
    let again = w.run(10).await;
    assert!(again.steps.is_empty(), "{:?}", again.steps);
    assert_eq!(w.sim.call_count("application.deploy"), 1);
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_failed_deploy_leaves_the_inventory_and_stays_on_its_record() {
    let mut w = world("KEEP_ME=1\n").await;
    w.run(40).await;
    assert_eq!(
        w.lane
            .status
            .as_ref()
            .unwrap()
            .inventory
            .as_ref()
            .unwrap()
            .artifact,
        "shop-a"
    );

    w.sim.set_deploy_outcome(&w.service, true);
    w.lane.spec.artifact_ref = Some(LocalObjectRef::new("shop-b"));
    w.run(40).await;
    assert_eq!(w.sim.call_count("application.deploy"), 2);
    let status = w.lane.status.clone().unwrap();
    assert_eq!(
        status.inventory.as_ref().unwrap().artifact,
        "shop-a",
        "inventory stays"
    );
    let failed: Vec<DeploymentRecord> = w
        .records()
        .await
        .into_iter()
        .filter(|r| r.spec.artifact_ref.name == "shop-b")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(phase(&failed[0]), Some(DeploymentPhase::Failed));
    assert_eq!(
        failed[0]
            .status
            .as_ref()
            .unwrap()
            .deploy
            .as_ref()
            .unwrap()
            .status
            .as_deref(),
        Some("error")
    );
    let (deployed, reason, message) = w.condition(types::DEPLOYED);
    assert_eq!((deployed.as_str(), reason.as_str()), ("False", "Mismatch"));
    assert!(
        message.contains("failed") && message.contains("shop-a"),
        "{message}"
    );
    assert_eq!(status.last_deployment_record, failed[0].metadata.name);

    // No retry before retryAfter: the failed attempt is not deployed again.
    let again = w.run(40).await;
    assert!(again.steps.is_empty(), "{:?}", again.steps);
    assert_eq!(w.sim.call_count("application.deploy"), 2);
    w.sim.shutdown().await;
}

#[tokio::test]
async fn drift_is_reported_under_report_and_restored_under_correct() {
    let mut w = world("KEEP_ME=1\n").await;
    w.run(40).await;
    assert_eq!(w.sim.call_count("application.deploy"), 1);
    let first = w.lane.status.as_ref().unwrap().inventory.clone().unwrap();

    // Out of band: someone edits an owned env key and the image in the dashboard.
    let env = w
        .sim
        .application_env(&w.service)
        .unwrap()
        .replace("APP_ENV=testing", "APP_ENV=hacked");
    w.sim.edit(
        &w.service,
        OutOfBandEdit {
            env: Some(env),
            docker_image: Some("ghcr.io/acme/shop:latest".into()),
            ..Default::default()
        },
    );
    let report = w.run(40).await;
    assert!(
        report.steps.is_empty(),
        "Report never mutates: {:?}",
        report.steps
    );
    assert_eq!(w.sim.call_count("application.deploy"), 1);
    let (synced, reason, message) = w.condition(types::CONFIG_SYNCED);
    assert_eq!((synced.as_str(), reason.as_str()), ("False", "Mismatch"));
    assert!(
        message.contains("image") && message.contains("ghcr.io/acme/shop:latest"),
        "{message}"
    );
    assert!(
        message.contains("env.APP_ENV differs (value withheld)"),
        "{message}"
    );
    assert!(
        !message.contains("hacked"),
        "env values are never shown: {message}"
    );
    let fields: Vec<String> = w
        .lane
        .status
        .as_ref()
        .unwrap()
        .mismatches
        .iter()
        .map(|m| m.field.clone())
        .collect();
    assert!(
        fields.contains(&"image".to_string()) && fields.contains(&"env.APP_ENV".to_string()),
        "{fields:?}"
    );
    assert_eq!(w.lane.status.as_ref().unwrap().verdict, Some(Verdict::Mismatch));

    w.lane.spec.drift_policy = DriftPolicy::Correct;
    let report = w.run(40).await;
    assert!(report.steps.contains(&"CreateRecord"), "{:?}", report.steps);
    assert_eq!(
        w.sim.call_count("application.deploy"),
        2,
        "corrected through a new record"
    );
    let status = w.lane.status.clone().unwrap();
    let now = status.inventory.clone().unwrap();
    assert_eq!(now.artifact, first.artifact);
    assert_ne!(now.deployment_record, first.deployment_record);
    assert_eq!(w.condition(types::CONFIG_SYNCED).0, "True");
    assert_eq!(status.verdict, Some(Verdict::Matched), "{:?}", status.conditions);
    assert!(
        w.sim
            .application_env(&w.service)
            .unwrap()
            .contains("APP_ENV=testing")
    );
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_suspended_lane_mutates_nothing_and_says_so() {
    let mut w = world("KEEP_ME=1\n").await;
    w.lane.spec.suspend = true;
    let report = w.run(40).await;
    assert!(report.steps.is_empty(), "{:?}", report.steps);
    assert!(w.records().await.is_empty());
    assert_eq!(w.mutations(), 0);
    let (stalled, reason, _) = w.condition(types::STALLED);
    assert_eq!((stalled.as_str(), reason.as_str()), ("True", "Suspended"));
    assert!(w.condition(types::DEPLOYED).2.contains("spec.suspend is true"));
    w.sim.shutdown().await;
}

#[tokio::test]
async fn an_external_record_is_verified_and_advances_the_inventory_without_a_deploy() {
    // Someone else deployed shop-a with its identity and reports it as evidence.
    let expected = IdentityFields {
        product: Some("shop".into()),
        context: Some("testing".into()),
        deployment_record_id: Some("ci-run-981".into()),
        artifact_id: Some("shop-a".into()),
        image_reference: Some(format!("ghcr.io/acme/shop@{}", digest('a'))),
        ..Default::default()
    };
    let env: String = identity_env(&RuntimeIdentityPayload::from(&expected))
        .into_iter()
        .map(|(k, v)| format!("{k}='{v}'\n"))
        .collect();
    let mut w = world(&env).await;
    w.sim.edit(
        &w.service,
        OutOfBandEdit {
            docker_image: Some(format!("ghcr.io/acme/shop@{}", digest('a'))),
            ..Default::default()
        },
    );
    let mut record = DeploymentRecord::new(
        "ci-run-981",
        DeploymentRecordSpec {
            lane_ref: Some(LocalObjectRef::new("shop-testing")),
            artifact_ref: LocalObjectRef::new("shop-a"),
            target_ref: LocalObjectRef::new("shop-testing"),
            expected_identity: expected,
            origin: DeploymentOrigin::External,
            requested_by: Some("github-actions/run/981".into()),
            ..Default::default()
        },
    );
    record.metadata.namespace = Some(NS.into());
    w.external = vec![record];
    // The lane only observes (no artifactRef): nothing may be deployed for the evidence.
    w.lane.spec.artifact_ref = None;
    let report = w.run(40).await;
    assert_eq!(report.steps, vec!["WriteRecord"]);
    assert_eq!(w.mutations(), 0);
    let records = w.records().await;
    assert_eq!(phase(&records[0]), Some(DeploymentPhase::Succeeded));
    let inventory = w.lane.status.as_ref().unwrap().inventory.clone().unwrap();
    assert_eq!(inventory.artifact, "shop-a");
    assert_eq!(inventory.deployment_record.as_deref(), Some("ci-run-981"));

    // Asking for the same artifact now needs no deploy either.
    w.lane.spec.artifact_ref = Some(LocalObjectRef::new("shop-a"));
    let report = w.run(40).await;
    assert!(report.steps.is_empty(), "{:?}", report.steps);
    assert_eq!(w.sim.call_count("application.deploy"), 0);
    assert_eq!(w.condition(types::DEPLOYED).0, "True");
    w.sim.shutdown().await;
}

#[tokio::test]
async fn secret_values_appear_in_no_status_record_or_report() {
    let mut w = world(&format!("SESSION={TENANT_SECRET}\n")).await;
    let mut debug = String::new();
    let report = w.run(40).await;
    debug.push_str(&format!("{report:?}"));
    let env = w
        .sim
        .application_env(&w.service)
        .unwrap()
        .replace("APP_ENV=testing", "APP_ENV=x");
    w.sim.edit(
        &w.service,
        OutOfBandEdit {
            env: Some(env),
            ..Default::default()
        },
    );
    let report = w.run(40).await;
    debug.push_str(&format!("{report:?}"));
    assert!(
        w.sim.application_env(&w.service).unwrap().contains(SECRET_VALUE),
        "the secret was written to Dokploy"
    );
    let mut files = vec![w.state.path().to_path_buf()];
    let mut written = String::new();
    while let Some(dir) = files.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            if e.path().is_dir() {
                files.push(e.path());
            } else {
                written.push_str(&std::fs::read_to_string(e.path()).unwrap());
            }
        }
    }
    written.push_str(&serde_json::to_string(&w.lane.status).unwrap());
    written.push_str(&serde_json::to_string(&w.identity).unwrap());
    assert!(written.contains("dr-"), "records were written");
    for secret in [SECRET_VALUE, TENANT_SECRET] {
        assert!(!written.contains(secret), "{secret} leaked into state");
        assert!(!debug.contains(secret), "{secret} leaked into a report");
    }
    w.sim.shutdown().await;
}

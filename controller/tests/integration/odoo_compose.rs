//! Odoo compose lanes against the Dokploy simulator, through the real driver, executor, prober
//! and file record store: the compose is marked, its image pinned through the compose env key
//! the Product names, the identity merged with the lane's env, and `compose.deploy` titled with
//! the record id followed through `deployment.allByCompose`; unrelated compose env and the
//! compose file are kept byte for byte, a foreign compose is never touched, and a controller
//! restarted after every step deploys once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use launchplane::engine::executor::Executor;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane_api::conditions::types;
use launchplane_api::ownership::Owner;
use launchplane_api::resources::{
    DeploymentPhase, DeploymentRecord, Driver, EnvValue, Lane, LaneEnv, LaneRuntimeIdentity, LaneSpec,
    LocalObjectRef, OdooSpec, PreviewPolicy, TargetCategory,
};
use launchplane_api::verdict::Verdict;
use launchplane_core::lane::lane_owner;
use launchplane_core::target::DesiredEnv;
use launchplane_e2e::sim::SeedCompose;
use launchplane_providers::{DokployClient, DokployConfig, SecretString};
use std::sync::Arc;

use support::{INSTANCE, NS, artifact, managed_target, shop_product, start_sim};

pub(crate) const OLD_IMAGE: &str =
    "ghcr.io/acme/shop@sha256:1111111111111111111111111111111111111111111111111111111111111111";
pub(crate) const COMPOSE_FILE: &str = "services:\n  web:\n    image: ${SHOP_IMAGE}\n    depends_on:\n      - db\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\nvolumes:\n  data: {}\n";
/// A tenant secret already in the compose env: kept, never read into anything Launchplane writes.
pub(crate) const TENANT_SECRET: &str = "tenant-db-password-9c2e";
/// A secret the lane's env delivers.
pub(crate) const LANE_SECRET: &str = "lane-smtp-password-51ab";
pub(crate) const LANE: &str = "shop-prod";

pub(crate) use crate::lane_deploy::World;

pub(crate) fn initial_env() -> String {
    format!("# tenant settings\nPOSTGRES_PASSWORD='{TENANT_SECRET}'\nSHOP_IMAGE={OLD_IMAGE}\n")
}

/// The world: an unmarked compose (`web` served at its domain, `db`), deployed once by hand.
pub(crate) async fn world() -> World {
    let sim = start_sim(100).await;
    let (_project, production) = sim.seed_project("shop");
    let compose = sim
        .seed_compose(
            &production,
            SeedCompose {
                name: "shop-odoo".into(),
                description: Some("odoo stack of the shop".into()),
                compose_file: COMPOSE_FILE.into(),
                env: Some(initial_env()),
                domains: vec!["odoo.shop.test".into()],
                service_name: Some("web".into()),
                deployed: true,
                ..Default::default()
            },
        )
        .unwrap();
    let url = sim.compose_app_url(&compose, "web").unwrap();
    let mut product = shop_product(PreviewPolicy::default());
    product.spec.driver = Driver::Odoo;
    product.spec.odoo = Some(OdooSpec {
        image_env_key: "SHOP_IMAGE".into(),
        ..Default::default()
    });
    let mut target = managed_target("shop-odoo", &compose);
    target.spec.target_category = TargetCategory::Compose;
    let mut lane = Lane::new(
        LANE,
        LaneSpec {
            product_ref: LocalObjectRef::new("shop"),
            stage: "prod".into(),
            target_ref: LocalObjectRef::new("shop-odoo"),
            artifact_ref: Some(LocalObjectRef::new("shop-a")),
            env: LaneEnv {
                values: vec![EnvValue {
                    name: "APP_ENV".into(),
                    value: "prod".into(),
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
    World {
        sim,
        service: compose,
        product,
        target,
        lane,
        artifacts: vec![artifact("shop-a", 'a'), artifact("shop-b", 'b')],
        identity: None,
        state: tempfile::tempdir().unwrap(),
        prober: Prober::new(ProberConfig::default()).unwrap(),
        executor: Executor::new(Arc::new(client)),
        env: DesiredEnv::from([
            ("APP_ENV".to_string(), SecretString::new("prod")),
            ("SMTP_PASSWORD".to_string(), SecretString::new(LANE_SECRET)),
        ]),
        external: Vec::new(),
        rivals: Vec::new(),
    }
}

impl World {
    pub(crate) fn compose_row(&self, key: &str) -> Option<String> {
        self.sim
            .service_json(&self.service)
            .and_then(|c| c[key].as_str().map(str::to_string))
    }

    /// What someone with access to Dokploy can do: put a schedule of their own, carrying a
    /// copy of the lane's ownership marker for `purpose`, on the lane's compose. Its id.
    pub(crate) async fn forge_schedule(&self, purpose: &str, service: &str, command: &str) -> String {
        let forged = launchplane_core::schedule::ScheduleWant {
            compose_id: self.service.clone(),
            service: service.into(),
            purpose: purpose.into(),
            owner: lane_owner(&self.lane, support::INSTANCE),
            command: command.into(),
        };
        self.client()
            .create_schedule(&forged.spec())
            .await
            .unwrap()
            .schedule_id
    }

    /// A client of the simulator, as a person's script would use.
    pub(crate) fn client(&self) -> DokployClient {
        DokployClient::new(DokployConfig::new(self.sim.base_url(), self.sim.api_key())).unwrap()
    }
}

fn phase(r: &DeploymentRecord) -> Option<DeploymentPhase> {
    r.status.as_ref().and_then(|s| s.phase)
}

#[tokio::test]
async fn an_odoo_lane_restarted_after_every_step_pins_the_image_in_the_compose_env_and_deploys_once() {
    let mut w = world().await;
    let mut steps = Vec::new();
    for _ in 0..40 {
        let report = w.run(1).await;
        if report.steps.is_empty() {
            break;
        }
        steps.push(report.steps[0]);
    }
    steps.dedup();
    assert_eq!(
        steps,
        vec![
            "CreateRecord",
            "MarkTarget",
            "MergeEnv",
            "Deploy",
            "FollowDeployment",
            "WriteRecord"
        ]
    );
    assert_eq!(w.sim.call_count("compose.deploy"), 1, "one record, one deploy");
    assert_eq!(w.sim.call_count("application.saveDockerProvider"), 0);
    assert!(w.sim.call_count("deployment.allByCompose") >= 1);

    let records = w.records().await;
    assert_eq!(records.len(), 1);
    let record = &records[0];
    let id = record.metadata.name.clone().unwrap();
    assert_eq!(
        phase(record),
        Some(DeploymentPhase::Succeeded),
        "{:?}",
        record.status
    );
    let deployments = w.sim.deployments(&w.service);
    assert!(
        deployments.iter().any(|d| d["title"] == id.as_str()),
        "{deployments:?}"
    );

    // The compose file is kept byte for byte; unrelated env lines too, the image is pinned by
    // digest through SHOP_IMAGE, and the identity and lane keys are added.
    assert_eq!(w.compose_row("composeFile").as_deref(), Some(COMPOSE_FILE));
    let env = w.compose_row("env").unwrap();
    let image = format!("ghcr.io/acme/shop@sha256:{}", "a".repeat(64));
    assert!(
        env.starts_with(&format!(
            "# tenant settings\nPOSTGRES_PASSWORD='{TENANT_SECRET}'\nSHOP_IMAGE={image}\n"
        )),
        "{env}"
    );
    for key in [
        "LAUNCHPLANE_RUNTIME_IDENTITY_JSON",
        "LAUNCHPLANE_DEPLOYMENT_RECORD_ID",
        "APP_ENV",
        "SMTP_PASSWORD",
    ] {
        assert!(env.contains(key), "{key} missing");
    }
    // Marked as the lane's, the earlier description kept.
    let description = w.compose_row("description").unwrap();
    let owner = lane_owner(&w.lane, INSTANCE);
    assert_eq!(description, owner.describe("odoo stack of the shop"));

    // The web service serves the injected identity: verified, and the inventory advanced.
    let status = w.lane.status.clone().unwrap();
    assert_eq!(status.verdict, Some(Verdict::Matched), "{:?}", status.conditions);
    assert_eq!(
        status.inventory.unwrap().deployment_record.as_deref(),
        Some(id.as_str())
    );
    assert_eq!(w.condition(types::RUNTIME_IDENTITY_VERIFIED).0, "True");
    assert_eq!(
        w.condition(types::CONFIG_SYNCED).0,
        "True",
        "{:?}",
        w.condition(types::CONFIG_SYNCED)
    );

    // No secret in what Launchplane wrote.
    let written = serde_json::to_string(&(w.records().await, &w.lane.status)).unwrap();
    for secret in [TENANT_SECRET, LANE_SECRET] {
        assert!(!written.contains(secret), "{secret} leaked");
    }

    // Running again changes nothing.
    let again = w.run(10).await;
    assert!(again.steps.is_empty(), "{:?}", again.steps);
    assert_eq!(w.sim.call_count("compose.deploy"), 1);
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_compose_marked_by_another_owner_is_never_touched() {
    let mut w = world().await;
    let other = Owner::new("cluster-other", NS, "Lane", "shop-prod", Some("u-77"));
    assert!(w.sim.set_description(&w.service, &other.describe("theirs")));
    let before = w.sim.service_json(&w.service).unwrap();
    let report = w.run(20).await;
    assert!(
        report.steps.iter().all(|s| *s == "CreateRecord"),
        "{:?}",
        report.steps
    );
    let after = w.sim.service_json(&w.service).unwrap();
    assert_eq!(before["env"], after["env"]);
    assert_eq!(before["description"], after["description"]);
    assert_eq!(w.sim.call_count("compose.update"), 0);
    assert_eq!(w.sim.call_count("compose.deploy"), 0);
    let (stalled, reason, message) = w.condition(types::STALLED);
    assert_eq!(
        (stalled.as_str(), reason.as_str()),
        ("True", "TargetOwnedElsewhere")
    );
    assert!(message.contains("Dokploy compose"), "{message}");
    w.sim.shutdown().await;
}

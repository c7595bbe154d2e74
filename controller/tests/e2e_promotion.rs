//! Issue 14 end to end, on a real API server: promote → verify → rollback, with the controllers
//! running in-process (`launchplane::k8s::run`) against the Dokploy simulator, in a temporary
//! namespace. Every step waits on a watch (`await_condition`, as `kubectl wait` does) with a
//! timeout; nothing sleeps to synchronise.
//!
//! 1. `shop-testing` runs and verifies `shop-b`; `shop-prod` (fed by Promotions from testing,
//!    `requireBackupGate`) gets it by a Promotion like any release, so the record that prod
//!    ran `shop-b` is the controller's own. Then testing moves on to `shop-a` and verifies it.
//! 2. A Promotion of `shop-a` is Blocked, its BackupGate gate denying (the only BackupGate is
//!    used by the first Promotion); with a fresh Passed BackupGate it succeeds: prod's desired
//!    artifact names it, its inventory is `shop-a`, the app was deployed once for it and echoes
//!    it, the record names the Promotion, the BackupGate names its user, the tuple is recorded.
//! 3. The next Promotion (the rollback below), with no new BackupGate, is refused: the one the
//!    promotion used is not reused.
//! 4. A rollback to `shop-b` (no `fromLane`), with a fresh BackupGate, succeeds once the app
//!    echoes `shop-b`, and holds the lane; a rollback to `shop-c`, which prod never ran, is
//!    refused by its RollbackTarget gate and deploys nothing.
//!
//! Needs `KUBECONFIG`; without it the test says `SKIPPED: ...` and passes (see e2e_support).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::FutureExt;
use jiff::Timestamp;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use launchplane_api::resources::{
    Artifact, BackupGate, BackupGateSpec, BackupResult, DeploymentRecord, GateOutcome, GateResult, Lane,
    LocalObjectRef, ManagementPolicy, PreviewPolicy, Product, Promotion, PromotionPhase, ProviderTarget,
};
use launchplane_core::promotion::gates::{BACKUP_GATE, ROLLBACK_TARGET, last_deploy};
use launchplane_e2e::sim::{DokploySim, SeedApplication, SimConfig};
use launchplane_testkit::build::{artifact, in_namespace};
use std::time::Duration;

mod e2e_support;

use e2e_support::{
    Controllers, app_target, create_sim_provider_config, create_testing_and_prod, promotion,
    run_in_namespace, shop_product, wait_lane_runs, wait_until,
};

/// How long one step may take: a deploy in the simulator, a probe, a few watch events.
const STEP: Duration = Duration::from_secs(120);
const TESTING: &str = "shop-testing";
const PROD: &str = "shop-prod";
const WELL_KNOWN_PATH: &str = "/.well-known/launchplane-runtime.json";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promote_verify_and_roll_back_on_a_real_cluster() {
    run_in_namespace("e2e_promotion", "launchplane-e2e-promo", scenario).await;
}

/// Starts the simulator and the controllers, runs the steps, and stops both whatever happened.
async fn scenario(client: Client, ns: String) {
    let sim = DokploySim::start(SimConfig::default()).await.unwrap();
    let (_, environment) = sim.seed_project("shop");
    let seed = |name: &str| {
        sim.seed_application(
            &environment,
            SeedApplication {
                name: name.into(),
                docker_image: Some("ghcr.io/acme/shop:old".into()),
                env: Some("KEEP_ME=1\n".into()),
                deployed: true,
                ..SeedApplication::default()
            },
        )
        .unwrap()
    };
    let scene = Scene {
        testing_app: seed(TESTING),
        prod_app: seed(PROD),
        lanes: Api::namespaced(client.clone(), &ns),
        promotions: Api::namespaced(client.clone(), &ns),
        gates: Api::namespaced(client.clone(), &ns),
        records: Api::namespaced(client.clone(), &ns),
        client: client.clone(),
        ns: ns.clone(),
        sim,
    };
    let controllers = Controllers::start(&client, &ns, "e2e-promotions");
    let steps = std::panic::AssertUnwindSafe(steps(&scene)).catch_unwind().await;
    controllers.stop().await;
    scene.sim.shutdown().await;
    if let Err(panic) = steps {
        std::panic::resume_unwind(panic);
    }
}

async fn steps(s: &Scene) {
    s.create_shop().await;

    // 1. prod first runs shop-b, promoted from testing like any release.
    s.wait_lane_runs(TESTING, "shop-b").await;
    s.create_backup_gate("prod-backup-1").await;
    s.promote("prod-shop-b", "shop-b").await;
    s.wait_succeeded("prod-shop-b").await;
    s.wait_lane_runs(PROD, "shop-b").await;
    assert_eq!(s.echoed(&s.prod_app).await, "shop-b");
    // Testing moves on to shop-a.
    s.lanes
        .patch(
            TESTING,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"artifactRef": {"name": "shop-a"}}})),
        )
        .await
        .unwrap();
    s.wait_lane_runs(TESTING, "shop-a").await;
    assert_eq!(s.echoed(&s.testing_app).await, "shop-a");

    // 2. Promote shop-a: Blocked until a BackupGate it may use exists.
    s.promote("prod-shop-a", "shop-a").await;
    let blocked = s.wait_blocked_by("prod-shop-a", BACKUP_GATE).await;
    let status = blocked.status.as_ref().unwrap();
    assert_eq!(status.waiting_on.as_deref(), Some(BACKUP_GATE));
    let stalled = status.conditions.iter().find(|c| c.type_ == "Stalled");
    assert!(
        stalled.is_some_and(|c| c.status == "True" && c.reason == BACKUP_GATE),
        "{stalled:?}"
    );
    let sentence = &gate(&blocked, BACKUP_GATE).unwrap().message;
    assert!(
        sentence.contains("Lane shop-prod requires a Passed BackupGate taken after its last deploy")
            && sentence.contains(
                "BackupGate prod-backup-1 is used by Promotion prod-shop-b (a BackupGate authorizes one Promotion or DataBootstrap only)"
            ),
        "{sentence}"
    );
    assert_eq!(s.launchplane_deploys().len(), 1, "nothing deployed while Blocked");
    // The gate's answer went out as an Event (published before the status is written).
    let denied = s.promotion_events("prod-shop-a", "GateDenied").await;
    assert!(
        denied.iter().any(|n| *n == format!("{BACKUP_GATE}: {sentence}")),
        "{denied:?}"
    );

    s.create_backup_gate("prod-backup-2").await;
    let promoted = s.wait_succeeded("prod-shop-a").await;
    let status = promoted.status.clone().unwrap();
    let record_name = status
        .deployment_record
        .clone()
        .expect("the Promotion names its record");
    let prod = s.wait_lane_runs(PROD, "shop-a").await.status.unwrap();
    let desired = prod.desired.unwrap();
    assert_eq!(
        (desired.artifact.as_str(), desired.promotion.as_deref()),
        ("shop-a", Some("prod-shop-a"))
    );
    let inventory = prod.inventory.unwrap();
    assert_eq!(
        (
            inventory.promotion.as_deref(),
            inventory.backup_gate.as_deref(),
            inventory.deployment_record.as_deref()
        ),
        (
            Some("prod-shop-a"),
            Some("prod-backup-2"),
            Some(record_name.as_str())
        )
    );
    assert_eq!(
        s.launchplane_deploys()
            .iter()
            .filter(|t| **t == record_name)
            .count(),
        1,
        "exactly one deploy of prod for prod-shop-a: {:?}",
        s.launchplane_deploys()
    );
    assert_eq!(s.echoed(&s.prod_app).await, "shop-a");
    let record = s.records.get(&record_name).await.unwrap();
    assert_eq!(
        record.spec.promotion_ref,
        Some(LocalObjectRef::new("prod-shop-a"))
    );
    assert_eq!(status.backup_gate.as_deref(), Some("prod-backup-2"));
    let allowed = s.promotion_events("prod-shop-a", "GateAllowed").await;
    assert!(
        allowed
            .iter()
            .any(|n| n.starts_with("BackupGate: BackupGate prod-backup-2 ")),
        "{allowed:?}"
    );
    s.wait_backup_gate_used_by("prod-backup-2", "prod-shop-a").await;
    let tuple = status
        .release_tuple
        .expect("a Succeeded Promotion records its tuple");
    assert_eq!(
        (
            tuple.product.as_str(),
            tuple.lane.as_str(),
            tuple.artifact.as_str(),
            tuple.image.as_str(),
            tuple.source_commit.as_str()
        ),
        (
            "shop",
            PROD,
            "shop-a",
            format!("ghcr.io/acme/shop@sha256:{}", "a".repeat(64)).as_str(),
            "a".repeat(40).as_str()
        )
    );
    assert_eq!(
        (
            tuple.deployment_record.as_deref(),
            tuple.promotion.as_str(),
            tuple.backup_gate.as_deref()
        ),
        (Some(record_name.as_str()), "prod-shop-a", Some("prod-backup-2"))
    );
    assert_eq!(prod.release_tuple.as_deref(), Some(tuple.id.as_str()));

    // 3. and 4. The rollback to shop-b is the next Promotion: without a new BackupGate it is
    // refused, prod-backup-2 being prod-shop-a's.
    s.roll_back("prod-rollback-shop-b", "shop-b").await;
    let blocked = s.wait_blocked_by("prod-rollback-shop-b", BACKUP_GATE).await;
    let sentence = &gate(&blocked, BACKUP_GATE).unwrap().message;
    assert!(
        sentence.contains("BackupGate prod-backup-2 is used by Promotion prod-shop-a"),
        "{sentence}"
    );
    let target = gate(&blocked, ROLLBACK_TARGET).expect("a rollback asks RollbackTarget");
    assert_eq!(target.outcome, GateOutcome::Allow, "{target:?}");
    assert_eq!(s.launchplane_deploys().len(), 2, "nothing deployed while Blocked");

    s.create_backup_gate("prod-backup-3").await;
    let rolled_back = s.wait_succeeded("prod-rollback-shop-b").await;
    let status = rolled_back.status.unwrap();
    let record_name = status.deployment_record.clone().unwrap();
    assert_eq!(status.backup_gate.as_deref(), Some("prod-backup-3"));
    assert_eq!(
        s.echoed(&s.prod_app).await,
        "shop-b",
        "Succeeded only once the app echoes the older artifact"
    );
    s.wait_lane_runs(PROD, "shop-b").await;
    // The lane takes the hold from its Succeeded rollback, so it follows the Promotion's phase.
    let prod = s
        .wait_lane_held(PROD, "prod-rollback-shop-b")
        .await
        .status
        .unwrap();
    let hold = prod.hold.unwrap();
    assert_eq!(
        (hold.promotion.as_str(), hold.artifact.as_str()),
        ("prod-rollback-shop-b", "shop-b")
    );
    assert!(hold.since.is_some(), "{hold:?}");
    assert_eq!(
        prod.desired.unwrap().promotion.as_deref(),
        Some("prod-rollback-shop-b")
    );
    assert_eq!(
        s.launchplane_deploys()
            .iter()
            .filter(|t| **t == record_name)
            .count(),
        1
    );
    let record = s.records.get(&record_name).await.unwrap();
    assert_eq!(
        record.spec.promotion_ref,
        Some(LocalObjectRef::new("prod-rollback-shop-b"))
    );
    s.wait_backup_gate_used_by("prod-backup-3", "prod-rollback-shop-b")
        .await;

    // A rollback to an artifact prod never ran is refused, never invented.
    s.roll_back("prod-rollback-shop-c", "shop-c").await;
    let refused = s.wait_blocked_by("prod-rollback-shop-c", ROLLBACK_TARGET).await;
    let sentence = &gate(&refused, ROLLBACK_TARGET).unwrap().message;
    assert!(
        sentence.contains("Lane shop-prod has no Succeeded DeploymentRecord of shop-c"),
        "{sentence}"
    );
    let deploys = s.launchplane_deploys();
    assert_eq!(
        deploys.len(),
        3,
        "one deploy per Succeeded Promotion: {deploys:?}"
    );
    assert_eq!(
        s.prod_records().await.len(),
        3,
        "no record for the refused rollback"
    );
    assert_eq!(s.echoed(&s.prod_app).await, "shop-b");
}

/// The namespace, its APIs, and the simulator with the two lanes' apps.
struct Scene {
    client: Client,
    ns: String,
    sim: DokploySim,
    testing_app: String,
    prod_app: String,
    lanes: Api<Lane>,
    promotions: Api<Promotion>,
    gates: Api<BackupGate>,
    records: Api<DeploymentRecord>,
}

impl Scene {
    fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = kube::core::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// The provider, managed targets on both apps, the Product, artifacts shop-a, shop-b and
    /// shop-c, testing running shop-b and prod fed by Promotions from testing.
    async fn create_shop(&self) {
        let pp = PostParams::default();
        create_sim_provider_config(&self.client, &self.ns, &self.sim).await;
        for (name, app) in [(TESTING, &self.testing_app), (PROD, &self.prod_app)] {
            let mut target = app_target(name, "dokploy-main", Some(app.clone()), name);
            target.spec.management_policy = ManagementPolicy::Manage;
            self.api::<ProviderTarget>().create(&pp, &target).await.unwrap();
        }
        self.api::<Product>()
            .create(&pp, &shop_product(PreviewPolicy::default()))
            .await
            .unwrap();
        for (name, c) in [("shop-a", 'a'), ("shop-b", 'b'), ("shop-c", 'c')] {
            self.api::<Artifact>()
                .create(&pp, &in_namespace(artifact(name, c), &self.ns))
                .await
                .unwrap();
        }
        create_testing_and_prod(
            &self.lanes,
            (
                TESTING,
                self.sim
                    .app_url(&self.testing_app)
                    .expect("the seeded app serves"),
            ),
            (
                PROD,
                self.sim.app_url(&self.prod_app).expect("the seeded app serves"),
            ),
            "shop-b",
        )
        .await;
    }

    /// A Promotion of `artifact` from testing into prod.
    async fn promote(&self, name: &str, artifact: &str) {
        self.create_promotion(name, Some(TESTING), artifact).await;
    }

    /// A rollback of prod to `artifact`: no `fromLane`.
    async fn roll_back(&self, name: &str, artifact: &str) {
        self.create_promotion(name, None, artifact).await;
    }

    async fn create_promotion(&self, name: &str, from: Option<&str>, artifact: &str) {
        self.promotions
            .create(&PostParams::default(), &promotion(name, from, PROD, artifact))
            .await
            .unwrap();
    }

    /// A Passed BackupGate for prod, taken now: as the backup workflow writes it.
    async fn create_backup_gate(&self, name: &str) {
        // takenAt must be after prod's last deploy, and Kubernetes times have whole seconds:
        // in this fast test a backup could fall in the same second as the deploy before it,
        // which the gate rightly cannot tell from "before". A backup is taken after the deploy,
        // so wait for the next second when needed (this orders evidence, it syncs nothing).
        if let Some(last) = last_deploy(&self.prod_records().await) {
            let next_second = last.checked_add(jiff::SignedDuration::from_secs(1)).unwrap();
            let wait = next_second.duration_since(Timestamp::now());
            if wait.is_positive() {
                tokio::time::sleep(wait.unsigned_abs()).await;
            }
        }
        let gate = BackupGate::new(
            name,
            BackupGateSpec {
                lane_ref: LocalObjectRef::new(PROD),
                capture: None,
                backup_id: Some(name.into()),
                taken_at: Some(Time(Timestamp::now())),
                location: Some(format!("s3://backups/shop-prod/{name}")),
                evidence: None,
                result: Some(BackupResult::Passed),
            },
        );
        self.gates.create(&PostParams::default(), &gate).await.unwrap();
    }

    /// prod's DeploymentRecords, from the API server.
    async fn prod_records(&self) -> Vec<DeploymentRecord> {
        self.records
            .list(&ListParams::default().labels(&format!("launchplane.dev/lane={PROD}")))
            .await
            .unwrap()
            .items
    }

    /// The deploys of prod's app Launchplane sent (each titled with its record's name).
    fn launchplane_deploys(&self) -> Vec<String> {
        self.sim
            .deployments(&self.prod_app)
            .iter()
            .filter_map(|d| d["title"].as_str().map(String::from))
            .filter(|t| t.starts_with("dr-"))
            .collect()
    }

    /// The artifact `app` serves as its runtime identity now.
    async fn echoed(&self, app: &str) -> String {
        let url = self.sim.app_url(app).expect("the app runs");
        let identity: serde_json::Value = reqwest::get(format!("{url}{WELL_KNOWN_PATH}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        identity["artifactId"]
            .as_str()
            .unwrap_or_else(|| panic!("{app} echoes no artifactId: {identity}"))
            .to_string()
    }

    /// Waits until `lane` runs `artifact`, verified (inventory and verdict Matched).
    async fn wait_lane_runs(&self, lane: &str, artifact: &'static str) -> Lane {
        wait_lane_runs(&self.lanes, lane, artifact, STEP).await
    }

    /// Waits until `lane` is held by the rollback `promotion`.
    async fn wait_lane_held(&self, lane: &str, promotion: &'static str) -> Lane {
        wait_until(
            &self.lanes,
            lane,
            &format!("Lane {lane} held by {promotion}"),
            STEP,
            move |l: &Lane| {
                l.status
                    .as_ref()
                    .and_then(|s| s.hold.as_ref())
                    .is_some_and(|h| h.promotion == promotion)
            },
        )
        .await
    }

    /// Waits until the Promotion `name` is Blocked and has asked `gate_name` (or finished, to
    /// fail at once), then requires that gate to deny.
    async fn wait_blocked_by(&self, name: &str, gate_name: &'static str) -> Promotion {
        let p = wait_until(
            &self.promotions,
            name,
            &format!("Promotion {name} Blocked by {gate_name}"),
            STEP,
            move |p: &Promotion| {
                let finished = matches!(phase(p), Some(PromotionPhase::Succeeded | PromotionPhase::Failed));
                finished || (phase(p) == Some(PromotionPhase::Blocked) && gate(p, gate_name).is_some())
            },
        )
        .await;
        let denied = gate(&p, gate_name).is_some_and(|g| g.outcome == GateOutcome::Deny);
        assert!(
            phase(&p) == Some(PromotionPhase::Blocked) && denied,
            "{name} should be Blocked with {gate_name} denying: {:#?}",
            p.status
        );
        p
    }

    /// The notes of the Events `reason` about the Promotion `name`.
    async fn promotion_events(&self, name: &str, reason: &str) -> Vec<String> {
        self.api::<Event>()
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| {
                e.regarding.as_ref().is_some_and(|r| {
                    r.kind.as_deref() == Some("Promotion") && r.name.as_deref() == Some(name)
                }) && e.reason.as_deref() == Some(reason)
            })
            .filter_map(|e| e.note)
            .collect()
    }

    /// Waits, as `kubectl wait --for=condition=Ready`, until the Promotion is Ready (or
    /// Failed, to fail at once), then requires it Succeeded.
    async fn wait_succeeded(&self, name: &str) -> Promotion {
        let p = wait_until(
            &self.promotions,
            name,
            &format!("Promotion {name} Ready"),
            STEP,
            |p: &Promotion| ready(p) || phase(p) == Some(PromotionPhase::Failed),
        )
        .await;
        assert_eq!(
            phase(&p),
            Some(PromotionPhase::Succeeded),
            "{name}: {:#?}",
            p.status
        );
        p
    }

    /// Waits until the BackupGate's status names the Promotion that used it.
    async fn wait_backup_gate_used_by(&self, name: &str, promotion: &str) {
        let promotion = promotion.to_string();
        wait_until(
            &self.gates,
            name,
            &format!("BackupGate {name} used by {promotion}"),
            STEP,
            move |g: &BackupGate| {
                g.status.as_ref().and_then(|s| s.used_by.as_deref()) == Some(promotion.as_str())
            },
        )
        .await;
    }
}

fn phase(p: &Promotion) -> Option<PromotionPhase> {
    p.status.as_ref().and_then(|s| s.phase)
}

fn ready(p: &Promotion) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True")
}

fn gate<'a>(p: &'a Promotion, name: &str) -> Option<&'a GateResult> {
    p.status
        .as_ref()
        .and_then(|s| s.gates.iter().find(|g| g.name == name))
}

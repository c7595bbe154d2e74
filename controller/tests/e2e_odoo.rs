//! Issue 15 end to end, on a real API server: an Odoo product with a testing and a prod compose
//! lane, the controllers running in-process (`launchplane::k8s::run`) against the Dokploy
//! simulator, in a temporary namespace. Every step waits on a watch with a timeout that shows
//! what it saw; nothing sleeps to synchronise.
//!
//! 1. testing deploys `shop-a`: the image pinned through `ODOO_IMAGE` in the compose env (an
//!    unrelated key and the compose file kept byte for byte), `compose.deploy` titled with the
//!    record id, the post-deploy schedule run once (its own result on the record), each Odoo
//!    check Passed on the record and the lane, the inventory advanced.
//! 2. prod's first release is a Promotion of `shop-a` with a workflow BackupGate (a capture
//!    needs the compose the lane's first deploy marks). Testing moves on to `shop-b`; a
//!    BackupGate with `spec.capture` and `stopWeb` is captured by the controller (only the web
//!    service's container stopped while the scripted backup runs in db and prints its evidence,
//!    then started again) and Passed with it; the Promotion of `shop-b` uses it and Succeeds;
//!    prod's inventory names the Promotion and the gate.
//! 3. testing's post-deploy run fails (scripted) for `shop-c`: that record is Failed with its
//!    post-deploy result, and the inventory stays at `shop-b`.
//! 4. a DataBootstrap of prod: its command and the post-deploy run once each as schedules
//!    marked with the DataBootstrap, every check passes, prod records the bootstrap
//!    (`status.bootstrap`), with no deploy, no DeploymentRecord and its inventory unchanged.
//!
//! Needs `KUBECONFIG`; without it the test says `SKIPPED: ...` and passes (see e2e_support).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::FutureExt;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use launchplane_api::resources::{
    Artifact, BackupCapture, BackupCommand, BackupGate, BackupGateSpec, BackupResult, BootstrapPhase,
    BootstrapSource, CheckResult, CommandResult, CommandSpec, DataBootstrap, DataBootstrapSpec,
    DeploymentPhase, DeploymentRecord, Driver, Lane, LaneBootstrapState, LocalObjectRef, ManagementPolicy,
    OdooSpec, PreviewPolicy, Product, Promotion, PromotionPhase, ProviderTarget, StepOutcome, TargetCategory,
    VerificationCheck, VerificationCheckName,
};
use launchplane_core::promotion::gates::last_deploy;
use launchplane_e2e::sim::{DokploySim, ScheduleRunScript, SeedCompose, SimConfig};
use launchplane_testkit::build::{artifact, in_namespace};
use std::time::{Duration, Instant};

mod e2e_support;

use e2e_support::{
    Controllers, app_target, create_sim_provider_config, create_testing_and_prod, promotion,
    run_in_namespace, shop_product, wait_lane_runs, wait_until,
};

/// How long one step may take: a compose deploy in the simulator, a schedule run, the checks.
const STEP: Duration = Duration::from_secs(120);
const TESTING: &str = "shop-testing";
const PROD: &str = "shop-prod";
const OLD_IMAGE: &str = "ghcr.io/acme/shop:old";
const COMPOSE_FILE: &str = "services:\n  web:\n    image: ${ODOO_IMAGE}\n    env_file: .env\n    depends_on:\n      - db\n  db:\n    image: postgres:16\nvolumes:\n  filestore: {}\n";
const POST_DEPLOY: &str = "odoo -u all --stop-after-init";
const BACKUP: &str = "odoo-backup --to /backups/shop-prod";
const EVIDENCE_PATH: &str = "/backups/shop-prod/2026-12-06.zip";
const BOOTSTRAP: &str = "odoo-restore --dataset demo-2026-12";
/// The name of the schedule a DataBootstrap's command runs as.
const BOOTSTRAP_SCHEDULE: &str = "launchplane-data-bootstrap";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_odoo_product_deploys_verifies_promotes_with_a_captured_gate_and_bootstraps() {
    run_in_namespace("e2e_odoo", "launchplane-e2e-odoo", scenario).await;
}

/// Starts the simulator and the controllers, runs the steps, and stops both whatever happened.
async fn scenario(client: Client, ns: String) {
    let sim = DokploySim::start(SimConfig::default()).await.unwrap();
    let (_, environment) = sim.seed_project("shop");
    let seed = |name: &str| {
        sim.seed_compose(
            &environment,
            SeedCompose {
                name: name.into(),
                description: Some(format!("odoo stack of {name}")),
                compose_file: COMPOSE_FILE.into(),
                env: Some(initial_env()),
                domains: vec![format!("{name}.shop.test")],
                service_name: Some("web".into()),
                deployed: true,
                ..SeedCompose::default()
            },
        )
        .unwrap()
    };
    let scene = Scene {
        testing: seed(TESTING),
        prod: seed(PROD),
        lanes: Api::namespaced(client.clone(), &ns),
        promotions: Api::namespaced(client.clone(), &ns),
        gates: Api::namespaced(client.clone(), &ns),
        records: Api::namespaced(client.clone(), &ns),
        client: client.clone(),
        ns: ns.clone(),
        sim,
    };
    let controllers = Controllers::start(&client, &ns, "e2e-odoo");
    let steps = std::panic::AssertUnwindSafe(steps(&scene)).catch_unwind().await;
    controllers.stop().await;
    scene.sim.shutdown().await;
    if let Err(panic) = steps {
        std::panic::resume_unwind(panic);
    }
}

/// The tenant's compose env: a comment, an unrelated key, the image key.
fn initial_env() -> String {
    format!("# tenant settings\nKEEP_ME=1\nODOO_IMAGE={OLD_IMAGE}\n")
}

fn image(c: char) -> String {
    format!("ghcr.io/acme/shop@sha256:{}", c.to_string().repeat(64))
}

async fn steps(s: &Scene) {
    let started = Instant::now();
    let lap = |step: &str| {
        eprintln!(
            "e2e_odoo: {step} done at {:.1} s",
            started.elapsed().as_secs_f64()
        )
    };
    s.create_shop().await;

    // 1. testing deploys shop-a.
    let lane = s.wait_lane_runs(TESTING, "shop-a").await;
    let status = lane.status.clone().unwrap();
    let inventory = status.inventory.clone().unwrap();
    let record_name = inventory.deployment_record.clone().unwrap();
    assert_eq!(inventory.image.as_deref(), Some(image('a').as_str()));
    let record = s
        .wait_record(&record_name, "Succeeded", |p| p == DeploymentPhase::Succeeded)
        .await;
    let env = s.compose_row(&s.testing, "env");
    assert!(
        env.starts_with(&format!(
            "# tenant settings\nKEEP_ME=1\nODOO_IMAGE={}\n",
            image('a')
        )),
        "the image pinned in place, the comment and KEEP_ME kept: {env}"
    );
    assert!(env.contains("LAUNCHPLANE_RUNTIME_IDENTITY_JSON="), "{env}");
    assert_eq!(s.compose_row(&s.testing, "composeFile"), COMPOSE_FILE);
    assert_eq!(
        s.deploys_titled(&s.testing, &record_name),
        1,
        "one compose.deploy titled with the record id: {:?}",
        s.sim.deployments(&s.testing)
    );
    let rs = record.status.clone().unwrap();
    let run = rs
        .post_deploy_command
        .clone()
        .expect("the record has its post-deploy result");
    assert_eq!(run.result, Some(CommandResult::Succeeded), "{run:?}");
    let schedule = run.schedule_id.clone().unwrap();
    let schedules = s.sim.compose_schedules(&s.testing);
    assert_eq!(schedules.len(), 1, "{schedules:?}");
    assert_eq!(
        (
            schedules[0]["scheduleId"].as_str(),
            schedules[0]["serviceName"].as_str(),
            schedules[0]["command"].as_str()
        ),
        (Some(schedule.as_str()), Some("web"), Some(POST_DEPLOY))
    );
    let runs = s.sim.schedule_runs(&schedule);
    assert_eq!(runs.len(), 1, "the post-deploy ran once: {runs:?}");
    assert_eq!(runs[0]["deploymentId"].as_str(), run.deployment_id.as_deref());
    assert_all_passed("record", &rs.checks);
    assert_all_passed("lane", &status.verification.clone().unwrap_or_default().checks);

    lap("1 (testing deploys shop-a)");

    // 2. prod's first release: a Promotion with a workflow BackupGate, which marks its compose.
    s.create_workflow_gate("prod-backup-workflow").await;
    s.promote("prod-shop-a", "shop-a").await;
    s.wait_succeeded("prod-shop-a").await;
    s.wait_lane_runs(PROD, "shop-a").await;
    // testing moves on to shop-b.
    s.set_artifact(TESTING, "shop-b").await;
    s.wait_lane_runs(TESTING, "shop-b").await;

    lap("2a (prod's first release, testing on shop-b)");

    // The controller captures prod's backup.
    s.sim.script_schedule_runs(
        "launchplane-backup",
        ScheduleRunScript::succeed(format!(
            "dumping shop-prod and its filestore...\n{{\"path\": \"{EVIDENCE_PATH}\", \"sizeBytes\": 52428800, \"checksum\": \"sha256:abc\"}}"
        )),
    );
    s.after_prods_last_deploy().await;
    let asked = Instant::now();
    s.create_capture_gate("prod-capture").await;
    let gate = s.wait_gate_settled("prod-capture").await;
    // Five steps (schedule, stop the web, run, start the web, evidence), one per reconcile in
    // the cluster: each goes on
    // after the poll delay (2 s), not the 10 s retry of an interrupted capture. The pace is the
    // unit test's to hold (`backup_gate::tests`); a timed assertion here would be a flaky one.
    eprintln!(
        "e2e_odoo: the capture settled {:.1} s after the gate was created",
        asked.elapsed().as_secs_f64()
    );
    let gs = gate.status.clone().unwrap();
    assert_eq!(gs.result, Some(BackupResult::Passed), "{gs:#?}");
    let capture = gs.capture.clone().unwrap();
    assert_eq!(
        (
            capture.location.as_deref(),
            capture.size_bytes,
            capture.checksum.as_deref(),
            capture.service.as_deref()
        ),
        (
            Some(EVIDENCE_PATH),
            Some(52_428_800),
            Some("sha256:abc"),
            Some("db")
        )
    );
    assert!(capture.taken_at.is_some(), "{capture:?}");
    assert_eq!(capture.web_containers.len(), 1, "{capture:?}");
    assert!(
        capture.web_stopped_at.is_some() && capture.web_started_at.is_some(),
        "{capture:?}"
    );
    assert_eq!(
        (
            s.sim.call_count("docker.stopContainer"),
            s.sim.call_count("docker.startContainer"),
            s.sim.call_count("compose.stop")
        ),
        (1, 1, 0),
        "only the web's container stopped, and started again"
    );
    assert!(s.sim.compose_container_running(&s.prod, "web"));
    let backup_run = capture.run.clone().unwrap();
    assert_eq!(backup_run.result, Some(CommandResult::Succeeded));
    let backup_schedule = backup_run.schedule_id.clone().unwrap();
    assert_eq!(
        s.sim.schedule_runs(&backup_schedule).len(),
        1,
        "one backup run for the gate"
    );

    lap("2b (the capture)");
    s.promote("prod-shop-b", "shop-b").await;
    let promoted = s.wait_succeeded("prod-shop-b").await;
    let ps = promoted.status.unwrap();
    assert_eq!(ps.backup_gate.as_deref(), Some("prod-capture"));
    let prod_record = ps.deployment_record.clone().unwrap();
    let prod = s.wait_lane_runs(PROD, "shop-b").await.status.unwrap();
    let inventory = prod.inventory.unwrap();
    assert_eq!(
        (
            inventory.promotion.as_deref(),
            inventory.backup_gate.as_deref(),
            inventory.deployment_record.as_deref(),
            inventory.image.as_deref()
        ),
        (
            Some("prod-shop-b"),
            Some("prod-capture"),
            Some(prod_record.as_str()),
            Some(image('b').as_str())
        )
    );
    assert_eq!(s.deploys_titled(&s.prod, &prod_record), 1);
    assert_eq!(
        s.sim.schedule_runs(&backup_schedule).len(),
        1,
        "the capture never ran twice"
    );
    s.wait_gate_used_by("prod-capture", "prod-shop-b").await;

    lap("2c (the Promotion with the captured gate)");

    // 3. testing's post-deploy fails for shop-c: that record fails, the inventory stays.
    s.sim
        .script_schedule_runs(&schedule, ScheduleRunScript::fail("ERROR: module sale not found"));
    let before = s.lanes.get(TESTING).await.unwrap().status.unwrap();
    let previous = before.last_deployment_record.clone();
    s.set_artifact(TESTING, "shop-c").await;
    let failed_name = s.wait_new_record(TESTING, previous).await;
    let failed = s
        .wait_record(&failed_name, "Failed", |p| {
            matches!(p, DeploymentPhase::Failed | DeploymentPhase::Succeeded)
        })
        .await;
    let fs = failed.status.clone().unwrap();
    assert_eq!(fs.phase, Some(DeploymentPhase::Failed), "{fs:#?}");
    assert_eq!(failed.spec.artifact_ref.name, "shop-c");
    assert_eq!(
        fs.post_deploy_command.as_ref().and_then(|r| r.result),
        Some(CommandResult::Failed),
        "{fs:#?}"
    );
    assert_eq!(
        fs.deploy.as_ref().and_then(|d| d.status.as_deref()),
        Some("done"),
        "deployed, then the post-deploy failed"
    );
    let message = fs
        .post_deploy
        .as_ref()
        .and_then(|p| p.message.clone())
        .unwrap_or_default();
    assert!(message.starts_with("PostDeploy failed"), "{message}");
    let after = s.lanes.get(TESTING).await.unwrap().status.unwrap();
    let inventory = after.inventory.unwrap();
    assert_eq!(
        (inventory.artifact.as_str(), inventory.image.as_deref()),
        ("shop-b", Some(image('b').as_str())),
        "the inventory did not move"
    );
    let records = s.lane_records(TESTING).await;
    assert!(
        records
            .iter()
            .filter(|r| r.spec.artifact_ref.name == "shop-c")
            .all(|r| r.status.as_ref().and_then(|st| st.phase) != Some(DeploymentPhase::Succeeded)),
        "no shop-c record succeeded"
    );
    lap("3 (the failed post-deploy)");

    // 4. A DataBootstrap of prod (never bootstrapped, so no BackupGate is asked for): the
    // bootstrap and the post-deploy run once each as schedules marked with the DataBootstrap,
    // every check passes, the lane records the bootstrap; no deploy, no record, inventory kept.
    let prod_before = s.lanes.get(PROD).await.unwrap().status.unwrap();
    let deploys_before = s.sim.deployments(&s.prod).len();
    s.sim.script_schedule_runs(
        BOOTSTRAP_SCHEDULE,
        ScheduleRunScript::succeed("restored demo-2026-12 into shop-prod"),
    );
    let boots: Api<DataBootstrap> = s.api();
    let mut boot = DataBootstrap::new(
        "prod-demo-data",
        DataBootstrapSpec {
            lane_ref: LocalObjectRef::new(PROD),
            source: BootstrapSource {
                dataset: "demo-2026-12".into(),
                sha256: None,
            },
            command: Some(BOOTSTRAP.into()),
            confirm_destructive: true,
            backup_gate_ref: None,
        },
    );
    boot.metadata.namespace = Some(s.ns.clone());
    boots.create(&PostParams::default(), &boot).await.unwrap();
    let done = wait_until(
        &boots,
        "prod-demo-data",
        "the DataBootstrap to finish",
        STEP,
        |b: &DataBootstrap| {
            b.status.as_ref().and_then(|st| st.phase).is_some_and(|p| {
                matches!(
                    p,
                    BootstrapPhase::Succeeded | BootstrapPhase::Failed | BootstrapPhase::Unknown
                )
            })
        },
    )
    .await;
    let bs = done.status.unwrap();
    assert_eq!(bs.phase, Some(BootstrapPhase::Succeeded), "{bs:#?}");
    for (name, step) in [
        ("bootstrapRun", &bs.bootstrap_run),
        ("postDeploy", &bs.post_deploy),
        ("health", &bs.health),
        ("canonicalUrl", &bs.canonical_url),
        ("logo", &bs.logo),
        ("runtimeIdentity", &bs.runtime_identity),
        ("readiness", &bs.readiness),
    ] {
        assert_eq!(
            step.as_ref().map(|r| r.result),
            Some(StepOutcome::Passed),
            "{name}: {bs:#?}"
        );
    }
    let schedules = s.sim.compose_schedules(&s.prod);
    let ours = schedules
        .iter()
        .find(|x| x["name"] == BOOTSTRAP_SCHEDULE)
        .expect("the bootstrap's schedule");
    assert_eq!(ours["serviceName"], "web");
    let ran = s.sim.schedule_runs(ours["scheduleId"].as_str().unwrap());
    assert_eq!(ran.len(), 1, "the bootstrap ran once: {ran:?}");
    let prod = wait_until(
        &s.lanes,
        PROD,
        "prod to record the bootstrap",
        STEP,
        |l: &Lane| {
            l.status
                .as_ref()
                .and_then(|st| st.bootstrap.as_ref())
                .is_some_and(|b| b.state == LaneBootstrapState::Bootstrapped)
        },
    )
    .await
    .status
    .unwrap();
    assert_eq!(
        prod.bootstrap.as_ref().and_then(|b| b.last.as_deref()),
        Some("prod-demo-data")
    );
    assert_eq!(
        prod.inventory, prod_before.inventory,
        "a bootstrap deploys no artifact"
    );
    assert_eq!(
        prod.last_deployment_record, prod_before.last_deployment_record,
        "and writes no DeploymentRecord"
    );
    assert_eq!(
        s.sim.deployments(&s.prod).len(),
        deploys_before,
        "no compose deploy"
    );
    lap("4 (the data bootstrap)");
}

fn assert_all_passed(on: &str, checks: &[VerificationCheck]) {
    use VerificationCheckName::{CanonicalUrl, Health, Logo, RuntimeIdentity};
    for name in [Health, CanonicalUrl, Logo, RuntimeIdentity] {
        let check = checks.iter().find(|c| c.name == name);
        assert!(
            check.is_some_and(|c| c.result == CheckResult::Passed && c.required),
            "{on}: {name:?} should be a required Passed check: {checks:#?}"
        );
    }
}

/// The namespace, its APIs, and the simulator with the two lanes' composes.
struct Scene {
    client: Client,
    ns: String,
    sim: DokploySim,
    testing: String,
    prod: String,
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

    /// The provider, managed compose targets, the Odoo Product, artifacts shop-a, shop-b and
    /// shop-c, testing running shop-a and prod fed by Promotions from testing.
    async fn create_shop(&self) {
        let pp = PostParams::default();
        create_sim_provider_config(&self.client, &self.ns, &self.sim).await;
        for (name, compose) in [(TESTING, &self.testing), (PROD, &self.prod)] {
            let mut target = app_target(name, "dokploy-main", Some(compose.clone()), name);
            target.spec.target_category = TargetCategory::Compose;
            target.spec.management_policy = ManagementPolicy::Manage;
            self.api::<ProviderTarget>().create(&pp, &target).await.unwrap();
        }
        let mut product = shop_product(PreviewPolicy::default());
        product.spec.driver = Driver::Odoo;
        product.spec.odoo = Some(OdooSpec {
            image_env_key: "ODOO_IMAGE".into(),
            web_service: "web".into(),
            bootstrap: None,
            post_deploy: Some(CommandSpec {
                command: POST_DEPLOY.into(),
                ..CommandSpec::default()
            }),
            backup: Some(BackupCommand {
                command: BACKUP.into(),
                service: Some("db".into()),
                stop_web: false,
            }),
        });
        self.api::<Product>().create(&pp, &product).await.unwrap();
        for (name, c) in [("shop-a", 'a'), ("shop-b", 'b'), ("shop-c", 'c')] {
            self.api::<Artifact>()
                .create(&pp, &in_namespace(artifact(name, c), &self.ns))
                .await
                .unwrap();
        }
        create_testing_and_prod(
            &self.lanes,
            (TESTING, self.url_of(&self.testing)),
            (PROD, self.url_of(&self.prod)),
            "shop-a",
        )
        .await;
    }

    /// Where the compose's web service answers.
    fn url_of(&self, compose: &str) -> String {
        self.sim
            .compose_app_url(compose, "web")
            .expect("the seeded compose serves")
    }

    async fn set_artifact(&self, lane: &str, artifact: &str) {
        self.lanes
            .patch(
                lane,
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({"spec": {"artifactRef": {"name": artifact}}})),
            )
            .await
            .unwrap();
    }

    /// A Promotion of `artifact` from testing into prod.
    async fn promote(&self, name: &str, artifact: &str) {
        self.promotions
            .create(
                &PostParams::default(),
                &promotion(name, Some(TESTING), PROD, artifact),
            )
            .await
            .unwrap();
    }

    /// A Passed BackupGate for prod as a backup workflow writes it.
    async fn create_workflow_gate(&self, name: &str) {
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

    /// A BackupGate for prod the controller takes itself.
    async fn create_capture_gate(&self, name: &str) {
        let gate = BackupGate::new(
            name,
            BackupGateSpec {
                lane_ref: LocalObjectRef::new(PROD),
                // The web stopped while the backup runs in db: only its container stops.
                capture: Some(BackupCapture { stop_web: Some(true) }),
                ..BackupGateSpec::default()
            },
        );
        self.gates.create(&PostParams::default(), &gate).await.unwrap();
    }

    /// Kubernetes times have whole seconds: a backup taken in the same second as prod's last
    /// deploy cannot be told from one taken before it. A backup is taken after the deploy, so
    /// wait for the next second when needed (this orders evidence, it syncs nothing).
    async fn after_prods_last_deploy(&self) {
        if let Some(last) = last_deploy(&self.lane_records(PROD).await) {
            let next_second = last.checked_add(jiff::SignedDuration::from_secs(1)).unwrap();
            let wait = next_second.duration_since(Timestamp::now());
            if wait.is_positive() {
                tokio::time::sleep(wait.unsigned_abs()).await;
            }
        }
    }

    async fn lane_records(&self, lane: &str) -> Vec<DeploymentRecord> {
        self.records
            .list(&ListParams::default().labels(&format!("launchplane.dev/lane={lane}")))
            .await
            .unwrap()
            .items
    }

    /// A column of the compose as `compose.one` answers it.
    fn compose_row(&self, compose: &str, key: &str) -> String {
        self.sim
            .service_json(compose)
            .and_then(|c| c[key].as_str().map(String::from))
            .unwrap_or_else(|| panic!("compose {compose} has no {key}"))
    }

    /// How many deployments of `compose` carry the title `record`.
    fn deploys_titled(&self, compose: &str, record: &str) -> usize {
        self.sim
            .deployments(compose)
            .iter()
            .filter(|d| d["title"].as_str() == Some(record))
            .count()
    }

    /// Waits until `lane` runs `artifact`, verified (inventory and verdict Matched).
    async fn wait_lane_runs(&self, lane: &str, artifact: &'static str) -> Lane {
        wait_lane_runs(&self.lanes, lane, artifact, STEP).await
    }

    /// Waits until `lane` names a DeploymentRecord other than `previous`; its name.
    async fn wait_new_record(&self, lane: &str, previous: Option<String>) -> String {
        let was = previous.clone();
        let l = wait_until(
            &self.lanes,
            lane,
            &format!("Lane {lane} names a record other than {was:?}"),
            STEP,
            move |l: &Lane| {
                let last = l.status.as_ref().and_then(|s| s.last_deployment_record.clone());
                last.is_some() && last != previous
            },
        )
        .await;
        l.status.unwrap().last_deployment_record.unwrap()
    }

    async fn wait_record(
        &self,
        name: &str,
        what: &str,
        done: impl Fn(DeploymentPhase) -> bool + Send + 'static,
    ) -> DeploymentRecord {
        wait_until(
            &self.records,
            name,
            &format!("DeploymentRecord {name} {what}"),
            STEP,
            move |r: &DeploymentRecord| r.status.as_ref().and_then(|s| s.phase).is_some_and(&done),
        )
        .await
    }

    /// Waits until the captured gate has a result (Passed or Failed).
    async fn wait_gate_settled(&self, name: &str) -> BackupGate {
        wait_until(
            &self.gates,
            name,
            &format!("BackupGate {name} captured"),
            STEP,
            |g: &BackupGate| g.status.as_ref().and_then(|s| s.result).is_some(),
        )
        .await
    }

    async fn wait_gate_used_by(&self, name: &str, promotion: &str) {
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

    /// Waits until the Promotion is Succeeded or Failed, then requires it Succeeded.
    async fn wait_succeeded(&self, name: &str) -> Promotion {
        let p = wait_until(
            &self.promotions,
            name,
            &format!("Promotion {name} Succeeded"),
            STEP,
            |p: &Promotion| matches!(phase(p), Some(PromotionPhase::Succeeded | PromotionPhase::Failed)),
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
}

fn phase(p: &Promotion) -> Option<PromotionPhase> {
    p.status.as_ref().and_then(|s| s.phase)
}

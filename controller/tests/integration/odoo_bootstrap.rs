//! DataBootstrap against the Dokploy simulator, through standalone mode's rounds (the engine
//! both shells run): an Odoo lane deployed once, then bootstrapped — the bootstrap command as a
//! schedule marked with the DataBootstrap, the lane's post-deploy schedule, the lane's checks —
//! each run sent once even when the controller restarts between rounds; the lane records the
//! bootstrap (its own provenance: no DeploymentRecord, the inventory unchanged); a failed
//! bootstrap moves nothing; a lost answer is settled from the schedule's history; a second
//! bootstrap of the lane is Blocked and a missing confirmation is refused naming the field; no
//! secret reaches a status or a schedule.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane::standalone::engine::Engine;
use launchplane::standalone::inputs::Inputs;
use launchplane::standalone::state::StateDir;
use launchplane_api::conditions::SystemClock;
use launchplane_api::resources::{
    BootstrapCommand, BootstrapOutcome, BootstrapPhase, BootstrapSource, CommandSpec, DataBootstrap,
    DataBootstrapSpec, DataBootstrapStatus, Driver, LaneBootstrapState, LaneStatus, LocalObjectRef,
    ManagementPolicy, OdooSpec, PreviewPolicy, StepOutcome, TargetCategory,
};
use launchplane_e2e::sim::{DokploySim, ScheduleRunScript, SeedCompose};
use launchplane_testkit::build::{NS, artifact, lane, provider_config, shop_product, target};
use launchplane_testkit::fleet::start_sim;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const API_KEY_VALUE: &[u8] = b"sim-api-key";
/// A secret the lane's env delivers to the compose (the bootstrap command reads it there).
const SECRET: &str = "restore-token-7f3a91";
const BOOTSTRAP: &str = "launchplane-data-bootstrap";
const POST_DEPLOY: &str = "launchplane-data-bootstrap-post-deploy";

struct Case {
    sim: DokploySim,
    inputs: Inputs,
    state_dir: tempfile::TempDir,
}

/// An Odoo lane on a compose, deployed by the first round, with `bootstraps`.
async fn case(bootstraps: Vec<DataBootstrap>) -> Case {
    let sim = start_sim(20).await;
    let (_, environment) = sim.seed_project("erp");
    let compose = sim
        .seed_compose(
            &environment,
            SeedCompose {
                id: Some("compose-0".into()),
                name: "erp".into(),
                compose_file: "services:\n  web:\n    image: ${ODOO_IMAGE}\n  db:\n    image: postgres:16\n"
                    .into(),
                env: Some("POSTGRES_DB=erp\n".into()),
                domains: vec!["erp.test".into()],
                service_name: Some("web".into()),
                deployed: true,
                ..Default::default()
            },
        )
        .unwrap();
    let url = sim.compose_app_url(&compose, "web").unwrap();
    let mut product = shop_product(PreviewPolicy::default());
    product.metadata.name = Some("erp".into());
    product.spec.driver = Driver::Odoo;
    product.spec.odoo = Some(OdooSpec {
        post_deploy: Some(CommandSpec {
            command: "odoo -u all --stop-after-init".into(),
            ..Default::default()
        }),
        bootstrap: Some(BootstrapCommand {
            command: "odoo-restore --from \"$DATASET_URL\"".into(),
        }),
        ..Default::default()
    });
    let mut erp_target = target("erp-prod", &compose, "erp", ManagementPolicy::Manage);
    erp_target.spec.target_category = TargetCategory::Compose;
    let mut erp_lane = lane("erp-prod", "erp-prod", "shop-a", &url);
    erp_lane.spec.product_ref = LocalObjectRef::new("erp");
    erp_lane.spec.env.secret_refs = vec![LocalObjectRef::new("restore")];
    erp_lane.metadata.generation = Some(1);
    let inputs = Inputs {
        configs: vec![provider_config(&sim.base_url())],
        targets: vec![erp_target],
        products: vec![product],
        artifacts: vec![artifact("shop-a", 'a')],
        lanes: vec![erp_lane],
        data_bootstraps: bootstraps,
        secrets: [
            (
                format!("{NS}/dokploy-key"),
                BTreeMap::from([("api-key".to_string(), API_KEY_VALUE.to_vec())]),
            ),
            (
                format!("{NS}/restore"),
                BTreeMap::from([("RESTORE_TOKEN".to_string(), SECRET.as_bytes().to_vec())]),
            ),
        ]
        .into(),
        ..Default::default()
    };
    Case {
        sim,
        inputs,
        state_dir: tempfile::tempdir().unwrap(),
    }
}

fn bootstrap(name: &str) -> DataBootstrap {
    let mut b = DataBootstrap::new(
        name,
        DataBootstrapSpec {
            lane_ref: LocalObjectRef::new("erp-prod"),
            source: BootstrapSource {
                dataset: "demo-2026-11".into(),
                sha256: None,
            },
            command: None,
            confirm_destructive: true,
            backup_gate_ref: None,
        },
    );
    b.metadata.namespace = Some(NS.into());
    b.metadata.generation = Some(1);
    b
}

impl Case {
    fn state(&self) -> StateDir {
        StateDir::new(self.state_dir.path())
    }

    /// `n` rounds, each by a new engine over the same state folder (a restart between rounds).
    async fn rounds(&self, n: usize) {
        for _ in 0..n {
            let mut engine = Engine::new(
                Prober::new(ProberConfig::default()).unwrap(),
                self.state(),
                Box::new(|_: &str| None),
            )
            .with_deploy(support::deploy_settings())
            .with_clock(Arc::new(SystemClock));
            engine.round(&self.inputs).await;
        }
    }

    fn bootstrap(&self, name: &str) -> DataBootstrapStatus {
        self.state()
            .load("DataBootstrap", NS, name)
            .unwrap_or_else(|| panic!("DataBootstrap {name} has no status"))
    }

    fn lane(&self) -> LaneStatus {
        self.state().load("Lane", NS, "erp-prod").unwrap()
    }

    /// No secret in any status the state folder holds, nor in any schedule on the compose.
    fn assert_no_secret(&self) {
        for path in walk(self.state_dir.path()) {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                !text.contains(SECRET),
                "the secret leaked into {}",
                path.display()
            );
        }
        for schedule in self.sim.compose_schedules("compose-0") {
            assert!(
                !schedule.to_string().contains(SECRET),
                "the secret leaked into {schedule}"
            );
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn inventory(lane: &LaneStatus) -> (Option<String>, Option<String>) {
    (
        lane.inventory.as_ref().map(|i| i.artifact.clone()),
        lane.last_deployment_record.clone(),
    )
}

/// The deployed lane's inventory, before any bootstrap: round one, the bootstrap left out.
async fn deployed(c: &mut Case) -> (Option<String>, Option<String>) {
    let bootstraps = std::mem::take(&mut c.inputs.data_bootstraps);
    c.rounds(1).await;
    c.inputs.data_bootstraps = bootstraps;
    let lane = c.lane();
    assert_eq!(
        lane.verdict,
        Some(launchplane_api::verdict::Verdict::Matched),
        "{lane:#?}"
    );
    let (artifact, record) = inventory(&lane);
    assert_eq!(artifact.as_deref(), Some("shop-a"));
    (artifact, record)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bootstrap_runs_once_verifies_and_the_lane_records_it_without_a_deploy() {
    let mut c = case(vec![bootstrap("erp-boot")]).await;
    c.sim
        .script_schedule_runs(BOOTSTRAP, ScheduleRunScript::succeed("restored demo-2026-11"));
    let (artifact, record) = deployed(&mut c).await;
    assert_eq!(
        c.sim.call_count("schedule.runManually"),
        1,
        "the deploy's post-deploy"
    );
    // Restarted between rounds: every run happens once.
    c.rounds(3).await;
    let s = c.bootstrap("erp-boot");
    assert_eq!(s.phase, Some(BootstrapPhase::Succeeded), "{s:#?}");
    assert_eq!(s.outcome, Some(BootstrapOutcome::Bootstrapped));
    for (name, step) in [
        ("bootstrapRun", &s.bootstrap_run),
        ("postDeploy", &s.post_deploy),
        ("health", &s.health),
        ("canonicalUrl", &s.canonical_url),
        ("logo", &s.logo),
        ("runtimeIdentity", &s.runtime_identity),
        ("readiness", &s.readiness),
    ] {
        assert_eq!(
            step.as_ref().map(|r| r.result),
            Some(StepOutcome::Passed),
            "{name}: {s:#?}"
        );
    }
    assert_eq!(
        c.sim.call_count("compose.deploy"),
        1,
        "a bootstrap is not a deploy"
    );
    assert_eq!(
        c.sim.call_count("schedule.create"),
        3,
        "the lane's post-deploy, and the bootstrap's two"
    );
    assert_eq!(
        c.sim.call_count("schedule.runManually"),
        3,
        "deploy post-deploy, bootstrap, post-deploy"
    );
    // The bootstrap's schedule is marked with the DataBootstrap, in the web service.
    let schedules = c.sim.compose_schedules("compose-0");
    let ours = schedules.iter().find(|s| s["name"] == BOOTSTRAP).unwrap();
    assert_eq!(ours["serviceName"], "web");
    assert!(
        ours["description"]
            .as_str()
            .unwrap()
            .starts_with("launchplane data-bootstrap of DataBootstrap"),
        "{ours}"
    );
    assert_eq!(
        s.schedule_id.as_ref(),
        ours["scheduleId"].as_str().map(String::from).as_ref()
    );
    // The lane records the bootstrap, its inventory and records untouched.
    let lane = c.lane();
    let summary = lane.bootstrap.clone().unwrap();
    assert_eq!(summary.state, LaneBootstrapState::Bootstrapped);
    assert_eq!(summary.last.as_deref(), Some("erp-boot"));
    assert!(!summary.inventory_stale);
    assert_eq!(inventory(&lane), (artifact, record));
    c.assert_no_secret();
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_bootstrap_moves_nothing_and_runs_no_post_deploy() {
    let mut c = case(vec![bootstrap("erp-boot")]).await;
    c.sim
        .script_schedule_runs(BOOTSTRAP, ScheduleRunScript::fail("pg_restore: invalid dump"));
    let (artifact, record) = deployed(&mut c).await;
    c.rounds(2).await;
    let s = c.bootstrap("erp-boot");
    assert_eq!(s.phase, Some(BootstrapPhase::Failed), "{s:#?}");
    assert_eq!(s.outcome, Some(BootstrapOutcome::Failed));
    assert_eq!(
        s.post_deploy.as_ref().map(|r| r.result),
        Some(StepOutcome::Skipped)
    );
    assert_eq!(
        c.sim.call_count("schedule.runManually"),
        2,
        "the deploy's post-deploy and the bootstrap"
    );
    let lane = c.lane();
    assert_eq!(lane.bootstrap.as_ref().unwrap().state, LaneBootstrapState::Failed);
    assert_eq!(inventory(&lane), (artifact, record));
    c.assert_no_secret();
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_post_deploy_is_verification_failed_and_the_inventory_stays() {
    let mut c = case(vec![bootstrap("erp-boot")]).await;
    let (artifact, record) = deployed(&mut c).await;
    c.sim
        .script_schedule_runs(POST_DEPLOY, ScheduleRunScript::fail("module update failed"));
    c.rounds(2).await;
    let s = c.bootstrap("erp-boot");
    assert_eq!(s.phase, Some(BootstrapPhase::Failed), "{s:#?}");
    assert_eq!(s.outcome, Some(BootstrapOutcome::VerificationFailed));
    assert_eq!(
        s.bootstrap_run.as_ref().map(|r| r.result),
        Some(StepOutcome::Passed)
    );
    let lane = c.lane();
    assert_eq!(
        lane.bootstrap.as_ref().unwrap().state,
        LaneBootstrapState::VerificationFailed
    );
    assert_eq!(inventory(&lane), (artifact, record));
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_settled_from_the_schedule_history_never_sent_again() {
    let mut c = case(vec![bootstrap("erp-boot")]).await;
    // The connection drops as soon as the run started; the run goes on and ends well.
    c.sim.script_schedule_runs(
        BOOTSTRAP,
        ScheduleRunScript::succeed("restored")
            .taking(Duration::from_millis(300))
            .dropping_connection(),
    );
    deployed(&mut c).await;
    c.rounds(1).await;
    let s = c.bootstrap("erp-boot");
    assert_eq!(s.phase, Some(BootstrapPhase::Unknown), "{s:#?}");
    assert_eq!(s.outcome, Some(BootstrapOutcome::Unknown));
    c.rounds(1).await;
    let lane = c.lane();
    let summary = lane.bootstrap.unwrap();
    assert!(
        summary.state == LaneBootstrapState::Unknown && summary.inventory_stale
            || summary.state == LaneBootstrapState::Bootstrapped,
        "{summary:#?}"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    c.rounds(2).await;
    let s = c.bootstrap("erp-boot");
    assert_eq!(s.phase, Some(BootstrapPhase::Succeeded), "{s:#?}");
    assert!(
        s.bootstrap_run
            .as_ref()
            .unwrap()
            .message
            .contains("settled by the schedule's history"),
        "{s:#?}"
    );
    // Deploy's post-deploy, the bootstrap once, the bootstrap's post-deploy.
    assert_eq!(c.sim.call_count("schedule.runManually"), 3);
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_bootstrap_is_blocked_and_a_missing_confirmation_names_the_field() {
    let mut unconfirmed = bootstrap("erp-unconfirmed");
    unconfirmed.spec.confirm_destructive = false;
    let mut c = case(vec![bootstrap("erp-boot"), unconfirmed]).await;
    // The first one's run takes a while and its answer is lost: it is in progress while the
    // second is looked at.
    c.sim.script_schedule_runs(
        BOOTSTRAP,
        ScheduleRunScript::succeed("restored")
            .taking(Duration::from_secs(30))
            .dropping_connection(),
    );
    deployed(&mut c).await;
    let mut second = bootstrap("erp-second");
    second.metadata.creation_timestamp = None;
    c.inputs.data_bootstraps.push(second);
    c.rounds(1).await;
    let first = c.bootstrap("erp-boot");
    assert_eq!(first.phase, Some(BootstrapPhase::Unknown), "{first:#?}");
    let s = c.bootstrap("erp-second");
    assert_eq!(s.phase, Some(BootstrapPhase::Blocked), "{s:#?}");
    assert!(
        s.message
            .as_deref()
            .unwrap()
            .contains("DataBootstrap erp-boot in progress"),
        "{s:#?}"
    );
    let u = c.bootstrap("erp-unconfirmed");
    assert_eq!(u.phase, Some(BootstrapPhase::Blocked), "{u:#?}");
    assert!(
        u.message.as_deref().unwrap().contains("spec.confirmDestructive"),
        "{u:#?}"
    );
    assert_eq!(
        c.sim.call_count("schedule.create"),
        2,
        "post-deploy and erp-boot's only"
    );
    // The lane holds its deploys while erp-boot runs.
    c.rounds(1).await;
    let lane = c.lane();
    assert_eq!(lane.bootstrap.unwrap().state, LaneBootstrapState::Unknown);
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compose_without_the_lanes_marker_is_never_run_on() {
    let mut c = case(vec![bootstrap("erp-boot")]).await;
    // Suspended: the lane is observed but never deploys, so its compose is never marked.
    c.inputs.lanes[0].spec.suspend = true;
    c.rounds(2).await;
    let s = c.bootstrap("erp-boot");
    assert_eq!(s.phase, Some(BootstrapPhase::Blocked), "{s:#?}");
    let message = s.message.clone().unwrap();
    assert!(
        message.contains("does not carry Lane erp-prod's ownership marker"),
        "{message}"
    );
    let stalled = s.conditions.iter().find(|c| c.type_ == "Stalled").unwrap();
    assert_eq!(stalled.reason, "TargetRefused");
    assert_eq!(c.sim.call_count("schedule.create"), 0);
    assert_eq!(c.sim.call_count("schedule.runManually"), 0);
    c.sim.shutdown().await;
}

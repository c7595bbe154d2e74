//! The Odoo driver's post-deploy command: after a controller record's deploy is done and
//! before it is verified, the command (`spec.odoo.postDeploy` of the Product, the Lane's
//! `spec.odoo.postDeploy` overriding it) runs in the compose's web service as a Dokploy
//! schedule Launchplane owns ([`crate::schedule`]). Its outcome is the record's
//! `status.postDeployCommand`, apart from the deploy and the verification:
//!
//! ```text
//! Verifying ─► EnsureSchedule (the intent first; ours by a recorded id, else the one made
//!              since the intent, else create; update a changed command; record its id)
//!          ─► RunCommand (intent written first, then schedule.runManually)
//!          ─► [Unknown: SettleCommand from deployment.allByType type=schedule]
//!          ─► Succeeded: verification (its window starts now) │ Failed: the attempt fails
//! ```
//!
//! Records given as evidence (someone else's deploy) are only verified: nothing runs for them.

use super::Step;
use crate::deployment_record::{self as record};
use crate::schedule::{self, ScheduleWant};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::resources::{
    CommandResult, CommandRun, DeploymentPhase, DeploymentRecord, DeploymentRecordStatus, Driver, Lane,
    Product, StepEvidence,
};
use launchplane_api::verdict::Verdict;
use launchplane_providers::TargetCategory;

/// The purpose the post-deploy schedule's description names.
pub const PURPOSE: &str = "post-deploy";

/// The post-deploy schedule a lane wants on its compose `compose_id`: the Lane's command when
/// it overrides it, else the Product's; `None` when the lane's product is not an Odoo product
/// on a compose or names no command.
pub fn want(
    lane: &Lane,
    product: Option<&Product>,
    category: TargetCategory,
    compose_id: &str,
    instance: &str,
) -> Option<ScheduleWant> {
    let product = product.filter(|p| p.spec.driver == Driver::Odoo)?;
    if category != TargetCategory::Compose {
        return None;
    }
    let odoo = product.spec.odoo.clone().unwrap_or_default();
    let command = lane
        .spec
        .odoo
        .as_ref()
        .and_then(|o| o.post_deploy.as_ref())
        .and_then(|o| o.command.clone())
        .or_else(|| odoo.post_deploy.as_ref().map(|p| p.command.clone()))?;
    Some(ScheduleWant {
        compose_id: compose_id.to_string(),
        service: odoo.web_service,
        purpose: PURPOSE.into(),
        owner: super::lane_owner(lane, instance),
        command,
    })
}

/// The record's post-deploy run, as written.
pub fn run_of(r: &DeploymentRecord) -> Option<&CommandRun> {
    r.status.as_ref().and_then(|s| s.post_deploy_command.as_ref())
}

/// What the Verifying record `r` (named `name`) needs before it is verified, given the lane's
/// post-deploy schedule (`want`) and whether a blocker holds the lane back: `None` when nothing
/// (no command, evidence, or the command succeeded), else the step (`None` while a blocker
/// holds back running it).
pub(super) fn pending(
    r: &DeploymentRecord,
    name: &str,
    want: Option<&ScheduleWant>,
    known: &[String],
    blocked: bool,
    now: Timestamp,
) -> Option<Option<Step>> {
    let want = want?;
    if record::is_evidence(r) {
        return None;
    }
    let run = run_of(r);
    let step = match run.and_then(|run| run.result) {
        Some(CommandResult::Succeeded) => return None,
        // Written together with the record's Failed phase: nothing more to do.
        Some(CommandResult::Failed) => None,
        // Reading the history changes nothing: it goes on whatever holds the lane back.
        Some(CommandResult::Unknown) => {
            run.and_then(|run| run.schedule_id.clone())
                .map(|schedule| Step::SettleCommand {
                    record: name.to_string(),
                    schedule,
                })
        }
        None if blocked => None,
        None => Some(match run.and_then(|run| run.schedule_id.clone()) {
            None => Step::EnsureSchedule {
                record: name.to_string(),
                want: Box::new(want.clone()),
                known: known.to_vec(),
                intent: run
                    .and_then(|run| run.schedule_requested_at.as_ref())
                    .map(|t| t.0),
            },
            Some(schedule) => {
                let previous = run.and_then(|run| run.previous_run_id.clone());
                let intent = schedule::requested(&schedule, previous, now);
                Step::RunCommand {
                    record: name.to_string(),
                    schedule,
                    status: Box::new(with_run(r, intent, now)),
                }
            }
        }),
    };
    Some(step)
}

/// `r`'s status once its post-deploy schedule is known (`schedule_id`, whose newest run so far
/// is `previous_run_id`).
pub fn scheduled(
    r: &DeploymentRecord,
    schedule_id: &str,
    previous_run_id: Option<String>,
    now: Timestamp,
) -> DeploymentRecordStatus {
    let run = CommandRun {
        result: None,
        schedule_id: Some(schedule_id.to_string()),
        schedule_requested_at: run_of(r).and_then(|run| run.schedule_requested_at.clone()),
        previous_run_id,
        message: Some(format!("post-deploy schedule {schedule_id} is ready to run")),
        ..Default::default()
    };
    with_run(r, run, now)
}

/// `r`'s status with the intent to create its post-deploy schedule, written before
/// `schedule.create`.
pub fn schedule_requested(r: &DeploymentRecord, now: Timestamp) -> DeploymentRecordStatus {
    let run = CommandRun {
        schedule_requested_at: Some(Time(now)),
        message: Some("finding or creating the lane's post-deploy schedule".into()),
        ..Default::default()
    };
    with_run(r, run, now)
}

/// `r`'s status with `run` as its post-deploy run: Failed fails the attempt; Succeeded starts
/// the verification window now (the command's time is not the app's to answer in).
pub fn with_run(r: &DeploymentRecord, run: CommandRun, now: Timestamp) -> DeploymentRecordStatus {
    let mut status = r.status.clone().unwrap_or_default();
    match run.result {
        Some(CommandResult::Failed) => {
            status.phase = Some(DeploymentPhase::Failed);
            status.post_deploy = Some(StepEvidence {
                verdict: Some(Verdict::Mismatch),
                message: Some(format!(
                    "PostDeploy failed: {}",
                    run.message.as_deref().unwrap_or("the post-deploy command failed")
                )),
                started_at: run.requested_at.clone(),
                finished_at: Some(Time(now)),
            });
        }
        Some(CommandResult::Succeeded) => {
            status.verification = Some(StepEvidence {
                verdict: Some(Verdict::Unchecked),
                message: Some("post-deploy succeeded; verifying health and runtime identity".into()),
                started_at: Some(Time(now)),
                finished_at: None,
            });
        }
        _ => {}
    }
    status.post_deploy_command = Some(run);
    record::summarize(r, status, now)
}

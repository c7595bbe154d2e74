//! A BackupGate with `spec.capture`: the controller takes the backup itself by running its
//! lane's backup command (the Odoo Product's `spec.odoo.backup`) as a Dokploy schedule the lane
//! owns ([`crate::schedule`], purpose `backup`), and the gate's `status.capture` records every
//! step before it is taken, so a restart resumes and never runs the command twice:
//!
//! ```text
//! EnsureSchedule ─► [stopWeb: StopWeb (webContainers first)] ─► RunCommand (intent first)
//!   ─► [Unknown: SettleCommand] ─► [stopped: StartWeb, whatever the outcome] ─► ReadEvidence
//!   ─► Passed (taken, with the evidence of the command's last line) │ Failed
//! ```
//!
//! `stopWeb` stops only the web service's containers (`docker.stopContainer`, one by one; the
//! backup runs by `docker exec` in another service, which keeps running). They are found among
//! the containers of the compose's project ([`web_containers`]), and their ids are written to
//! `webContainers` before the first is stopped, so they are started again whatever happens,
//! also after a restart mid-capture (`webContainers` set and `webStartedAt` absent). A stop
//! that fails in any way ends the capture Failed, and what was stopped is started again. A
//! refusal before anything was changed (no lane, not an Odoo lane on a compose it owns, no
//! backup command) fails the gate at once.

use crate::lane::lane_owner;
use crate::schedule::ScheduleWant;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::ownership::{Ownership, ownership};
use launchplane_api::resources::{
    BackupGate, CaptureStatus, CommandResult, CommandRun, Driver, Lane, ManagementPolicy, Product,
    ProviderTarget, TargetCategory,
};
use launchplane_api::verdict::Verdict;
use launchplane_providers::ContainerView;

/// The purpose the backup schedule's description names.
pub const PURPOSE: &str = "backup";

/// The most characters of a reported path or checksum kept.
const MAX_FIELD: usize = 1024;

/// What a capture's plan looks at.
pub struct CaptureInputs<'a> {
    pub gate: &'a BackupGate,
    pub lane: Option<&'a Lane>,
    pub product: Option<&'a Product>,
    pub target: Option<&'a ProviderTarget>,
    /// The compose's description as read now (`None`: not read; `Err`: the read failed).
    pub description: Option<Result<Option<&'a str>, &'a str>>,
    pub instance: &'a str,
    /// The backup schedules the lane's BackupGates name (`status.capture.run.scheduleId`): what
    /// makes a marked schedule the lane's ([`crate::schedule::choose`]).
    pub known: &'a [String],
}

/// The one next thing a capture does.
#[derive(Clone, Debug, PartialEq)]
pub enum CaptureStep {
    /// Write the intent to create the lane's backup schedule (unless `intent` says it is there
    /// since then), then take it by [`crate::schedule::choose`] (one of `known`, else the one
    /// made since the intent, else a new one); record its id.
    EnsureSchedule {
        want: Box<ScheduleWant>,
        known: Vec<String>,
        intent: Option<Timestamp>,
    },
    /// Stop the web service's running containers: find them (unless `webContainers` already
    /// names them), write their ids first, then stop each.
    StopWeb { compose_id: String, service: String },
    /// Write `status` (the run's intent) first, then run the schedule.
    RunCommand {
        schedule_id: String,
        status: Box<CaptureStatus>,
    },
    /// Read the schedule's runs and settle the Unknown run.
    SettleCommand { schedule_id: String },
    /// Start the web containers the capture stopped.
    StartWeb {
        compose_id: String,
        containers: Vec<String>,
    },
    /// Read the run's log and take the evidence from the command's last line.
    ReadEvidence { deployment_id: String },
    /// Nothing can be done: write `status` (Failed) and stop.
    Refuse { status: Box<CaptureStatus> },
}

impl CaptureStep {
    pub fn name(&self) -> &'static str {
        match self {
            CaptureStep::EnsureSchedule { .. } => "EnsureSchedule",
            CaptureStep::StopWeb { .. } => "StopWeb",
            CaptureStep::RunCommand { .. } => "RunCommand",
            CaptureStep::SettleCommand { .. } => "SettleCommand",
            CaptureStep::StartWeb { .. } => "StartWeb",
            CaptureStep::ReadEvidence { .. } => "ReadEvidence",
            CaptureStep::Refuse { .. } => "Refuse",
        }
    }
}

/// Where a capture stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Taken, the web running again: the gate may be Passed.
    Passed,
    /// Failed (never Passed), with why.
    Failed(String),
    /// Under way, with what it waits for.
    InProgress(String),
}

/// Whether `gate`'s capture holds its lane's web stopped on purpose now (its containers stopped
/// or being stopped, not started again): the lane's incidents take it as planned, not as an
/// outage.
pub fn holds_web_stopped(gate: &BackupGate) -> bool {
    gate.status
        .as_ref()
        .and_then(|s| s.capture.as_ref())
        .is_some_and(|c| !c.web_containers.is_empty() && c.web_started_at.is_none())
}

fn run_of(c: &CaptureStatus) -> Option<&CommandRun> {
    c.run.as_ref()
}

/// Where `capture` stands.
pub fn outcome(capture: Option<&CaptureStatus>) -> Outcome {
    let Some(c) = capture else {
        return Outcome::InProgress("the capture has not started".into());
    };
    let restarted = c.web_containers.is_empty() || c.web_started_at.is_some();
    let run = run_of(c);
    match run.and_then(|r| r.result) {
        Some(CommandResult::Failed) if restarted => Outcome::Failed(
            run.and_then(|r| r.message.clone())
                .unwrap_or_else(|| "the backup command failed".into()),
        ),
        Some(CommandResult::Failed) => Outcome::InProgress(
            "the backup failed; starting the web containers the capture stopped again".into(),
        ),
        Some(CommandResult::Succeeded) if !restarted => {
            Outcome::InProgress("backup taken; starting the web containers the capture stopped again".into())
        }
        Some(CommandResult::Succeeded) if c.taken_at.is_some() && c.location.is_some() => Outcome::Passed,
        Some(CommandResult::Succeeded) => {
            Outcome::InProgress("reading the evidence the command reported".into())
        }
        Some(CommandResult::Unknown) => Outcome::InProgress(
            "the backup command was asked to run; waiting for its end in Dokploy's run history".into(),
        ),
        None => Outcome::InProgress(
            run.and_then(|r| r.message.clone())
                .unwrap_or_else(|| "preparing the backup schedule".into()),
        ),
    }
}

/// The compose a capture acts on, its backup schedule, and the web service to stop (when
/// `stopWeb`), or why the gate cannot be captured.
fn resolve(input: &CaptureInputs<'_>) -> Result<(ScheduleWant, Option<String>), String> {
    let gate = input.gate;
    let lane_name = &gate.spec.lane_ref.name;
    let lane = input
        .lane
        .ok_or_else(|| format!("spec.laneRef: Lane {lane_name} not found in this namespace"))?;
    let product = input.product.ok_or_else(|| {
        format!(
            "Lane {lane_name}'s Product {} not found",
            lane.spec.product_ref.name
        )
    })?;
    if product.spec.driver != Driver::Odoo {
        return Err(format!(
            "capture runs the Odoo driver's backup command; Lane {lane_name}'s Product is not an odoo \
             product: take the backup with a workflow instead"
        ));
    }
    let odoo = product.spec.odoo.clone().unwrap_or_default();
    let backup = odoo.backup.clone().ok_or_else(|| {
        format!(
            "Product {} has no spec.odoo.backup (the backup command to run); add it, or take the backup \
             with a workflow",
            lane.spec.product_ref.name
        )
    })?;
    let stop_web = gate
        .spec
        .capture
        .as_ref()
        .and_then(|c| c.stop_web)
        .unwrap_or(backup.stop_web);
    let service = backup.service.unwrap_or_else(|| odoo.web_service.clone());
    if stop_web && service == odoo.web_service {
        return Err(format!(
            "stopWeb stops the web service `{web}`, and the backup command runs by `docker exec` in \
             a running container of spec.odoo.backup.service (`{service}`): set Product {product}'s \
             spec.odoo.backup.service to another service of the compose (the database's), or set \
             stopWeb false",
            web = odoo.web_service,
            product = lane.spec.product_ref.name,
        ));
    }
    let target = input.target.ok_or_else(|| {
        format!(
            "Lane {lane_name}'s ProviderTarget {} not found",
            lane.spec.target_ref.name
        )
    })?;
    let name = target.metadata.name.clone().unwrap_or_default();
    let status = target.status.clone().unwrap_or_default();
    if target.spec.target_category != TargetCategory::Compose {
        return Err(format!("ProviderTarget {name} is not a compose"));
    }
    if target.spec.management_policy != ManagementPolicy::Manage {
        return Err(format!(
            "ProviderTarget {name} has managementPolicy Observe; nothing is run on it"
        ));
    }
    if status.verdict != Some(Verdict::Matched) {
        return Err(format!(
            "ProviderTarget {name} is not Matched; nothing is run on it"
        ));
    }
    let compose_id = crate::lane::target_ref(target)
        .map(|t| t.id)
        .ok_or_else(|| format!("ProviderTarget {name} is not bound to a Dokploy compose yet"))?;
    let owner = lane_owner(lane, input.instance);
    match input.description {
        None => return Err("the compose was not read".into()),
        Some(Err(e)) => return Err(format!("the compose could not be read: {e}")),
        Some(Ok(description)) => {
            if ownership(description, &owner) != Ownership::Ours {
                return Err(format!(
                    "Dokploy compose {compose_id} does not carry Lane {lane_name}'s ownership marker \
                     (the lane marks it on its first deploy); Launchplane runs nothing on a compose \
                     that is not its lane's"
                ));
            }
        }
    }
    Ok((
        ScheduleWant {
            compose_id,
            service,
            purpose: PURPOSE.into(),
            owner,
            command: backup.command,
        },
        stop_web.then_some(odoo.web_service),
    ))
}

/// The capture's next step, from its status as written (`None`: nothing more to do).
pub fn plan(input: &CaptureInputs<'_>, now: Timestamp) -> Option<CaptureStep> {
    let capture = input
        .gate
        .status
        .as_ref()
        .and_then(|s| s.capture.clone())
        .unwrap_or_default();
    let run = capture.run.clone();
    let result = run.as_ref().and_then(|r| r.result);
    let schedule = run.as_ref().and_then(|r| r.schedule_id.clone());
    // The web containers the capture stopped are started before anything else, once the
    // command is over or will not run.
    let stopped = !capture.web_containers.is_empty() && capture.web_started_at.is_none();
    let over = matches!(result, Some(CommandResult::Failed | CommandResult::Succeeded));
    if stopped && (over || schedule.is_none()) {
        let compose_id = input.target.and_then(crate::lane::target_ref).map(|t| t.id)?;
        return Some(CaptureStep::StartWeb {
            compose_id,
            containers: capture.web_containers.clone(),
        });
    }
    match result {
        Some(CommandResult::Failed) => return None,
        Some(CommandResult::Unknown) => {
            return schedule.map(|schedule_id| CaptureStep::SettleCommand { schedule_id });
        }
        Some(CommandResult::Succeeded) => {
            if capture.taken_at.is_some() {
                return None;
            }
            let deployment_id = run.as_ref().and_then(|r| r.deployment_id.clone())?;
            return Some(CaptureStep::ReadEvidence { deployment_id });
        }
        None => {}
    }
    // Nothing has run: every rule is checked again before each change.
    let (want, stop_web) = match resolve(input) {
        Ok(ok) => ok,
        // Stopped already: the refusal is written, then the web started again (above).
        Err(why) => {
            let mut status = capture.clone();
            status.run = Some(failed(run.as_ref(), &why, now));
            return Some(CaptureStep::Refuse {
                status: Box::new(status),
            });
        }
    };
    let Some(schedule_id) = schedule else {
        return Some(CaptureStep::EnsureSchedule {
            want: Box::new(want),
            known: input.known.to_vec(),
            intent: run
                .as_ref()
                .and_then(|r| r.schedule_requested_at.as_ref())
                .map(|t| t.0),
        });
    };
    if let Some(service) = stop_web
        && capture.web_stopped_at.is_none()
    {
        return Some(CaptureStep::StopWeb {
            compose_id: want.compose_id,
            service,
        });
    }
    let previous = run.as_ref().and_then(|r| r.previous_run_id.clone());
    let mut status = capture;
    status.run = Some(crate::schedule::requested(&schedule_id, previous, now));
    Some(CaptureStep::RunCommand {
        schedule_id,
        status: Box::new(status),
    })
}

/// The containers of `service` among those of the compose project `app_name` (Dokploy's
/// `docker.getContainersByAppNameMatch` with `appType=docker-compose` lists the project's,
/// stopped ones too). Compose names a service's containers `<project>-<service>-<n>`; a
/// container named otherwise (a `container_name:` in the compose file) is not taken for the
/// service's, so such a compose cannot be captured with `stopWeb`.
pub fn web_containers<'a>(
    app_name: &str,
    service: &str,
    containers: &'a [ContainerView],
) -> Vec<&'a ContainerView> {
    containers
        .iter()
        .filter(|c| {
            let name = c.name.trim_start_matches('/');
            name.strip_prefix(app_name)
                .and_then(|rest| rest.strip_prefix('-'))
                .and_then(|rest| rest.strip_prefix(service))
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect()
}

/// What stopping the web leaves to do, from the service's containers as listed: the running
/// ones' ids to record and stop, or why the capture cannot stop the web (an empty list is
/// never proof: Dokploy answers `[]` when its `docker ps` fails).
pub fn to_stop(app_name: &str, service: &str, containers: &[ContainerView]) -> Result<Vec<String>, String> {
    let ours = web_containers(app_name, service, containers);
    if ours.is_empty() {
        return Err(format!(
            "no container of the web service `{service}` is listed for compose project `{app_name}` \
             (Dokploy lists `<project>-<service>-<n>` containers; a `container_name:` in the compose \
             file, or a failed `docker ps`, lists none): the web could not be stopped, so the backup \
             was not taken"
        ));
    }
    Ok(ours
        .iter()
        .filter(|c| c.state == "running")
        .map(|c| c.container_id.clone())
        .collect())
}

fn failed(run: Option<&CommandRun>, why: &str, now: Timestamp) -> CommandRun {
    CommandRun {
        result: Some(CommandResult::Failed),
        finished_at: Some(Time(now)),
        message: Some(why.to_string()),
        ..run.cloned().unwrap_or_default()
    }
}

/// The capture once its schedule is known.
pub fn scheduled(
    capture: &CaptureStatus,
    want: &ScheduleWant,
    schedule_id: &str,
    previous: Option<String>,
) -> CaptureStatus {
    let mut out = capture.clone();
    out.service = Some(want.service.clone());
    out.run = Some(CommandRun {
        schedule_id: Some(schedule_id.to_string()),
        schedule_requested_at: capture.run.as_ref().and_then(|r| r.schedule_requested_at.clone()),
        previous_run_id: previous,
        message: Some(format!("backup schedule {schedule_id} is ready to run")),
        ..Default::default()
    });
    out
}

/// The capture with the intent to create the lane's backup schedule (written before
/// `schedule.create`), or with why the schedule cannot be used yet (`why`).
pub fn schedule_pending(
    capture: &CaptureStatus,
    requested_at: Timestamp,
    why: Option<String>,
) -> CaptureStatus {
    let mut out = capture.clone();
    let run = out.run.get_or_insert_with(CommandRun::default);
    run.schedule_requested_at.get_or_insert(Time(requested_at));
    run.message = Some(why.unwrap_or_else(|| "finding or creating the lane's backup schedule".into()));
    out
}

/// What the backup command reported on its last output line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reported {
    pub path: Option<String>,
    pub size_bytes: Option<i64>,
    pub checksum: Option<String>,
}

/// The evidence in a run's log: the last line that reads as a JSON object or as `key=value`
/// pairs naming `path` (Dokploy's own closing lines, such as `✅ Command executed
/// successfully`, do not). Keys: `path` (or `location`), `sizeBytes` (or `size_bytes`,
/// `size`), `checksum`. Nothing else of the log is kept.
pub fn reported(log: &str) -> Option<Reported> {
    log.lines().rev().find_map(|line| {
        let line = line.trim();
        let r = if line.starts_with('{') {
            json_line(line)?
        } else {
            pairs_line(line)?
        };
        r.path.is_some().then_some(r)
    })
}

fn clip(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && s.len() <= MAX_FIELD).then(|| s.to_string())
}

fn json_line(line: &str) -> Option<Reported> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let obj = value.as_object()?;
    let text = |keys: &[&str]| keys.iter().find_map(|k| obj.get(*k)?.as_str().and_then(clip));
    Some(Reported {
        path: text(&["path", "location"]),
        size_bytes: ["sizeBytes", "size_bytes", "size"]
            .iter()
            .find_map(|k| obj.get(*k)?.as_i64())
            .filter(|n| *n >= 0),
        checksum: text(&["checksum"]),
    })
}

fn pairs_line(line: &str) -> Option<Reported> {
    let mut r = Reported::default();
    for pair in line.split_whitespace() {
        let (k, v) = pair.split_once('=')?;
        match k {
            "path" | "location" => r.path = clip(v),
            "sizeBytes" | "size_bytes" | "size" => r.size_bytes = v.parse().ok().filter(|n: &i64| *n >= 0),
            "checksum" => r.checksum = clip(v),
            _ => {}
        }
    }
    Some(r)
}

/// The capture once its evidence was read from `log` (`None`: the log could not be read).
pub fn evidence(capture: &CaptureStatus, log: Option<&str>, now: Timestamp) -> CaptureStatus {
    let mut out = capture.clone();
    match log.and_then(reported) {
        Some(r) => {
            out.taken_at = Some(
                capture
                    .run
                    .as_ref()
                    .and_then(|r| r.finished_at.clone())
                    .unwrap_or(Time(now)),
            );
            out.location = r.path;
            out.size_bytes = r.size_bytes;
            out.checksum = r.checksum;
        }
        None => {
            out.run = Some(failed(
                capture.run.as_ref(),
                "the backup command succeeded but reported no backup on its last output line (a JSON \
                 object or key=value pairs with path); the gate cannot pass without it",
                now,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn evidence_is_the_last_line_naming_a_path_json_or_pairs() {
        let log = "Initializing schedule\ndocker exec abc sh -c backup\ndumping...\n{\"path\": \"/backups/prod.zip\", \"sizeBytes\": 2048, \"checksum\": \"sha256:ab\"}\n✅ Command executed successfully\n";
        assert_eq!(
            reported(log),
            Some(Reported {
                path: Some("/backups/prod.zip".into()),
                size_bytes: Some(2048),
                checksum: Some("sha256:ab".into()),
            })
        );
        let pairs = "x\npath=s3://b/prod.dump size=12\n✅ Command executed successfully\n";
        assert_eq!(reported(pairs).unwrap().size_bytes, Some(12));
        assert_eq!(reported("done\n✅ Command executed successfully\n"), None);
        assert_eq!(reported("{\"sizeBytes\": 3}\n"), None, "a path is required");
    }

    #[test]
    fn a_capture_passes_only_when_taken_with_evidence_and_the_compose_running() {
        let mut c = CaptureStatus {
            run: Some(CommandRun {
                result: Some(CommandResult::Succeeded),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(matches!(outcome(Some(&c)), Outcome::InProgress(_)));
        c.taken_at = Some(Time(Timestamp::UNIX_EPOCH));
        c.location = Some("/b".into());
        assert_eq!(outcome(Some(&c)), Outcome::Passed);
        c.web_containers = vec!["a1".into()];
        c.web_stopped_at = Some(Time(Timestamp::UNIX_EPOCH));
        assert!(
            matches!(outcome(Some(&c)), Outcome::InProgress(_)),
            "stopped, not started"
        );
        c.web_started_at = Some(Time(Timestamp::UNIX_EPOCH));
        assert_eq!(outcome(Some(&c)), Outcome::Passed);
        if let Some(r) = c.run.as_mut() {
            r.result = Some(CommandResult::Failed);
        }
        assert!(
            matches!(outcome(Some(&c)), Outcome::Failed(_)),
            "never Passed when failed"
        );
        if let Some(r) = c.run.as_mut() {
            r.result = Some(CommandResult::Unknown);
        }
        assert!(matches!(outcome(Some(&c)), Outcome::InProgress(_)));
    }

    #[test]
    fn the_web_containers_the_capture_stopped_are_started_again_before_anything_else() {
        use launchplane_api::resources::{
            BackupCapture, BackupGateSpec, BackupGateStatus, LocalObjectRef, ProviderTargetSpec,
        };
        let target = ProviderTarget::new(
            "odoo",
            ProviderTargetSpec {
                target_category: TargetCategory::Compose,
                target_id: Some("c1".into()),
                ..Default::default()
            },
        );
        let gate = |capture: CaptureStatus| {
            let mut g = BackupGate::new(
                "g",
                BackupGateSpec {
                    lane_ref: LocalObjectRef::new("prod"),
                    capture: Some(BackupCapture::default()),
                    ..Default::default()
                },
            );
            g.status = Some(BackupGateStatus {
                capture: Some(capture),
                ..Default::default()
            });
            g
        };
        let plan_of = |g: &BackupGate| {
            plan(
                &CaptureInputs {
                    gate: g,
                    lane: None,
                    product: None,
                    target: Some(&target),
                    description: None,
                    instance: "i",
                    known: &[],
                },
                Timestamp::UNIX_EPOCH,
            )
        };
        let run = |result| CommandRun {
            result,
            schedule_id: Some("s1".into()),
            ..Default::default()
        };
        let stopped = |result| CaptureStatus {
            web_containers: vec!["a1".into(), "b2".into()],
            web_stopped_at: Some(Time(Timestamp::UNIX_EPOCH)),
            run: Some(run(result)),
            ..Default::default()
        };
        // Failed, or refused (even with no lane any more): started again.
        for result in [Some(CommandResult::Failed), Some(CommandResult::Succeeded)] {
            assert_eq!(
                plan_of(&gate(stopped(result))),
                Some(CaptureStep::StartWeb {
                    compose_id: "c1".into(),
                    containers: vec!["a1".into(), "b2".into()],
                })
            );
        }
        // Unknown: the history first (the command may still run).
        assert_eq!(
            plan_of(&gate(stopped(Some(CommandResult::Unknown)))),
            Some(CaptureStep::SettleCommand {
                schedule_id: "s1".into()
            })
        );
        // Stopped before the run was asked for, and the lane is gone: refused, then started.
        let Some(CaptureStep::Refuse { status }) = plan_of(&gate(stopped(None))) else {
            panic!()
        };
        assert_eq!(
            status.run.as_ref().and_then(|r| r.result),
            Some(CommandResult::Failed)
        );
        assert!(matches!(
            plan_of(&gate(*status)),
            Some(CaptureStep::StartWeb { .. })
        ));
        // Recorded but not yet stopped (a restart between the intent and the stops), and the
        // lane gone: refused, then started; never run.
        let mut intent = stopped(None);
        intent.web_stopped_at = None;
        let Some(CaptureStep::Refuse { status }) = plan_of(&gate(intent)) else {
            panic!()
        };
        assert!(matches!(
            plan_of(&gate(*status)),
            Some(CaptureStep::StartWeb { .. })
        ));
    }

    fn container(name: &str, state: &str) -> ContainerView {
        ContainerView {
            container_id: format!("id-{name}"),
            name: name.into(),
            state: state.into(),
            status: None,
        }
    }

    #[test]
    fn a_gate_holds_the_web_stopped_from_its_intent_until_it_is_started_again() {
        use launchplane_api::resources::{BackupGateSpec, BackupGateStatus, LocalObjectRef};
        let gate = |capture: CaptureStatus| {
            let mut g = BackupGate::new(
                "g",
                BackupGateSpec {
                    lane_ref: LocalObjectRef::new("prod"),
                    ..Default::default()
                },
            );
            g.status = Some(BackupGateStatus {
                capture: Some(capture),
                ..Default::default()
            });
            g
        };
        assert!(!holds_web_stopped(&gate(CaptureStatus::default())));
        let stopping = CaptureStatus {
            web_containers: vec!["a1".into()],
            ..Default::default()
        };
        assert!(holds_web_stopped(&gate(stopping.clone())));
        let started = CaptureStatus {
            web_started_at: Some(Time(Timestamp::UNIX_EPOCH)),
            ..stopping
        };
        assert!(!holds_web_stopped(&gate(started)));
    }

    #[test]
    fn only_the_web_services_own_containers_are_stopped() {
        let listed = [
            container("shop-a1b2c3-web-1", "running"),
            container("shop-a1b2c3-web-2", "exited"),
            container("shop-a1b2c3-db-1", "running"),
            // Another service whose name starts like the web's, and a lookalike project.
            container("shop-a1b2c3-web-worker-1", "running"),
            container("shop-a1b2c3x-web-1", "running"),
            container("shop-a1b2c3-web-", "running"),
        ];
        let names: Vec<&str> = web_containers("shop-a1b2c3", "web", &listed)
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["shop-a1b2c3-web-1", "shop-a1b2c3-web-2"]);
        assert_eq!(
            to_stop("shop-a1b2c3", "web", &listed),
            Ok(vec!["id-shop-a1b2c3-web-1".to_string()]),
            "only the running ones are stopped (and so started again)"
        );
        let none = to_stop("shop-a1b2c3", "web", &[container("odoo", "running")]).unwrap_err();
        assert!(none.contains("no container of the web service `web`"), "{none}");
        assert!(
            to_stop("shop-a1b2c3", "web", &[]).is_err(),
            "an empty list is no proof"
        );
    }
}

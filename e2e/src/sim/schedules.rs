//! Schedules (`schedule.*`), their runs (deployment rows with a `scheduleId`,
//! `deployment.allByType?type=schedule`) and run logs (`deployment.readLogs`).
//!
//! From API-NOTES §8 and §10 and the request schemas in `openapi.json`; no schedule call was
//! recorded on a real server (OBSERVED-v0.30.2 has none), so the row columns are those of the
//! create schema, with the table's defaults.
//!
//! - `schedule.create` answers the new row; `schedule.update` the updated row (only the keys
//!   sent change); `schedule.delete` answers `true` and takes the schedule's runs with it;
//!   `schedule.one` is the row with its `application`/`compose` (each with `environment` and
//!   `project`) and `server`; `schedule.list {id, scheduleType}` lists a service's schedules,
//!   oldest first, each with `deployments` newest first. An unknown `scheduleId` is a 404
//!   `Schedule not found`; `schedule.list` of an unknown id is `[]`.
//! - `schedule.runManually` runs the command and answers when it ends:
//!   `{status:"done"|"error", deploymentId, logPath}`. The run's deployment row is created
//!   `running` when the run starts and settles `done` or `error`, whatever happens to the HTTP
//!   call: the run is its own task, so a client that times out or loses the connection finds
//!   the outcome later in `deployment.allByType?type=schedule`.
//! - How a run goes is scripted per schedule ([`ScheduleRunScript`]): output or error, how long
//!   the command takes, a connection dropped while the run goes on, or the 500 that Dokploy
//!   versions which rethrow a failed command answer. A compose schedule whose service has no
//!   running container fails at once, as Dokploy's "Container not found" does.
//! - Each run writes a log as Dokploy does, including the `docker exec … -c <command>` line:
//!   a secret written into a command ends up in the log file (and in the schedule row).

use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use super::compose;
use super::errors::TrpcError;
use super::state::{
    DEPLOYMENTS_KEPT, Deployment, Kind, Row, SharedRef, State, new_id, now_iso, schedule_row,
    schedule_run_row, str_of,
};

/// How the simulator plays a schedule's command when it runs. Set with
/// [`super::DokploySim::script_schedule_runs`]; the default is an instant success with no
/// output.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScheduleRunScript {
    pub outcome: RunOutcome,
    /// How long the command runs before it ends (a hanging command: a long one).
    pub duration: Duration,
    /// Close the `schedule.runManually` connection without an answer as soon as the run has
    /// started; the run goes on and settles its deployment row after `duration`.
    pub drop_connection: bool,
}

/// How a scripted command ends.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    /// Exit 0, printing `output` into the run's log: the row ends `done`, the answer is
    /// `{status:"done", …}`.
    Succeed { output: String },
    /// A non-zero exit with `error` in the log: the row ends `error`, the answer is 200
    /// `{status:"error", …}` (Dokploy v0.30.x catches the failure and reports it).
    Fail { error: String },
    /// The row ends `error` and the answer is 500 `INTERNAL_SERVER_ERROR` with `message`, as
    /// Dokploy versions whose `runCommand` rethrows the failure answer.
    ServerError { message: String },
}

impl Default for RunOutcome {
    fn default() -> RunOutcome {
        RunOutcome::Succeed {
            output: String::new(),
        }
    }
}

impl ScheduleRunScript {
    pub fn succeed(output: impl Into<String>) -> ScheduleRunScript {
        ScheduleRunScript {
            outcome: RunOutcome::Succeed {
                output: output.into(),
            },
            ..ScheduleRunScript::default()
        }
    }

    pub fn fail(error: impl Into<String>) -> ScheduleRunScript {
        ScheduleRunScript {
            outcome: RunOutcome::Fail { error: error.into() },
            ..ScheduleRunScript::default()
        }
    }

    pub fn server_error(message: impl Into<String>) -> ScheduleRunScript {
        ScheduleRunScript {
            outcome: RunOutcome::ServerError {
                message: message.into(),
            },
            ..ScheduleRunScript::default()
        }
    }

    /// The command takes `duration` before it ends.
    pub fn taking(mut self, duration: Duration) -> ScheduleRunScript {
        self.duration = duration;
        self
    }

    /// The HTTP connection drops as soon as the run has started; the run goes on.
    pub fn dropping_connection(mut self) -> ScheduleRunScript {
        self.drop_connection = true;
        self
    }
}

/// What `schedule.runManually` answers once its run is over (or the connection is dropped).
pub(crate) enum RunAnswer {
    Json(Value),
    Error(TrpcError),
    Dropped,
}

fn not_found() -> TrpcError {
    TrpcError::not_found("Schedule not found")
}

/// A `composeId`/`applicationId` that names nothing violates the schedule table's foreign key:
/// the insert fails inside the procedure, which answers 500 with the database's message.
fn check_references(st: &State, input: &Map<String, Value>) -> Result<(), TrpcError> {
    for (key, kind) in [("composeId", Kind::Compose), ("applicationId", Kind::Application)] {
        if let Some(id) = input.get(key).and_then(Value::as_str)
            && st.service(kind, id).is_none()
        {
            return Err(TrpcError::new(
                500,
                format!(
                    "insert or update on table \"schedule\" violates foreign key constraint \"schedule_{key}_{}_{key}_fk\"",
                    kind.type_name()
                ),
            ));
        }
    }
    Ok(())
}

/// `schedule.create`: the new row (`scheduleId` in the input is ignored).
pub(crate) fn create(st: &mut State, input: Map<String, Value>) -> Result<Value, TrpcError> {
    check_references(st, &input)?;
    let id = new_id();
    let mut row = schedule_row(&id);
    for (key, value) in input {
        if key != "scheduleId" {
            row.insert(key, value);
        }
    }
    let seq = st.next_seq();
    st.schedules.insert(
        id,
        super::state::Entity {
            seq,
            row: row.clone(),
        },
    );
    Ok(Value::Object(row))
}

/// `schedule.update`: the keys sent replace the row's, the updated row is answered.
pub(crate) fn update(st: &mut State, input: Map<String, Value>) -> Result<Value, TrpcError> {
    let id = str_of(&input, "scheduleId").unwrap_or_default().to_string();
    if !st.schedules.contains_key(&id) {
        return Err(not_found());
    }
    check_references(st, &input)?;
    let Some(schedule) = st.schedules.get_mut(&id) else {
        return Err(not_found());
    };
    for (key, value) in input {
        if key != "scheduleId" {
            schedule.row.insert(key, value);
        }
    }
    Ok(Value::Object(schedule.row.clone()))
}

/// `schedule.delete`: `true`; the schedule's runs go with it.
pub(crate) fn delete(st: &mut State, schedule_id: &str) -> Result<Value, TrpcError> {
    if st.schedules.remove(schedule_id).is_none() {
        return Err(not_found());
    }
    for run in st.deployments.remove(schedule_id).unwrap_or_default() {
        if let Some(id) = str_of(&run.row, "deploymentId") {
            st.logs.remove(id);
        }
    }
    Ok(json!(true))
}

/// A service row with its `environment` (and that environment's `project`), as
/// `findScheduleById` loads the schedule's `application` and `compose`.
fn service_with_environment(st: &State, kind: Kind, id: Option<&str>) -> Value {
    let Some(entity) = id.and_then(|id| st.service(kind, id)) else {
        return Value::Null;
    };
    let mut out = entity.row.clone();
    out.insert("environment".into(), st.environment_with_project(&entity.row));
    Value::Object(out)
}

/// `schedule.one`: the row with `application`, `compose` and `server`.
pub(crate) fn one(st: &State, schedule_id: &str) -> Result<Value, TrpcError> {
    let Some(schedule) = st.schedules.get(schedule_id) else {
        return Err(not_found());
    };
    let mut out = schedule.row.clone();
    out.insert(
        "application".into(),
        service_with_environment(st, Kind::Application, str_of(&schedule.row, "applicationId")),
    );
    out.insert(
        "compose".into(),
        service_with_environment(st, Kind::Compose, str_of(&schedule.row, "composeId")),
    );
    out.insert("server".into(), Value::Null);
    Ok(Value::Object(out))
}

fn summary(st: &State, kind: Kind, id: Option<&str>) -> Value {
    let Some(entity) = id.and_then(|id| st.service(kind, id)) else {
        return Value::Null;
    };
    let keys = [kind.id_key(), "appName", "name", "serverId"];
    Value::Object(
        keys.iter()
            .map(|k| (k.to_string(), entity.row.get(*k).cloned().unwrap_or(Value::Null)))
            .collect(),
    )
}

/// `schedule.list {id, scheduleType}`: the schedules of one service (or server), oldest first,
/// each with service summaries and its runs, newest first.
pub(crate) fn list(st: &State, id: &str, schedule_type: &str) -> Value {
    let key = match schedule_type {
        "application" => "applicationId",
        "compose" => "composeId",
        "server" => "serverId",
        _ => "organizationId",
    };
    let id = if schedule_type == "dokploy-server" {
        st.organization_id.as_str()
    } else {
        id
    };
    let rows: Vec<Value> = State::sorted(&st.schedules)
        .into_iter()
        .filter(|e| str_of(&e.row, key) == Some(id))
        .map(|e| {
            let mut out = e.row.clone();
            out.insert(
                "application".into(),
                summary(st, Kind::Application, str_of(&e.row, "applicationId")),
            );
            out.insert("server".into(), Value::Null);
            out.insert(
                "compose".into(),
                summary(st, Kind::Compose, str_of(&e.row, "composeId")),
            );
            let schedule_id = str_of(&e.row, "scheduleId").unwrap_or_default();
            out.insert(
                "deployments".into(),
                Value::Array(st.deployment_rows(schedule_id)),
            );
            Value::Object(out)
        })
        .collect();
    Value::Array(rows)
}

/// `deployment.allByType {id, type}`: the deployments whose `<type>Id` is `id`, newest first,
/// each with `rollback`. No existence check: an unknown id is `[]`.
pub(crate) fn deployments_by_type(st: &State, id: &str, kind: &str) -> Value {
    let owned = match kind {
        "application" => st.applications.contains_key(id),
        "compose" => st.composes.contains_key(id),
        "schedule" => st.schedules.contains_key(id),
        // Servers, previews and backups are not simulated: none has deployments.
        _ => false,
    };
    let rows = if owned { st.deployment_rows(id) } else { Vec::new() };
    Value::Array(
        rows.into_iter()
            .map(|mut row| {
                if let Some(obj) = row.as_object_mut() {
                    obj.insert("rollback".into(), Value::Null);
                }
                row
            })
            .collect(),
    )
}

/// `deployment.readLogs {deploymentId, tail}`: the last `tail` lines of the deployment's log,
/// as a JSON string.
pub(crate) fn read_logs(st: &State, deployment_id: &str, tail: usize) -> Result<Value, TrpcError> {
    let known = st
        .deployments
        .values()
        .flatten()
        .any(|d| str_of(&d.row, "deploymentId") == Some(deployment_id));
    if !known {
        return Err(TrpcError::not_found("Deployment not found"));
    }
    let log = st.logs.get(deployment_id).map(String::as_str).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    let start = lines.len().saturating_sub(tail);
    let mut out = lines[start..].join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    Ok(Value::String(out))
}

/// The script for a schedule: the newest one set for its id, its name, or `*`.
fn script_for(st: &State, schedule_id: &str, name: &str) -> ScheduleRunScript {
    st.run_scripts
        .iter()
        .find(|(key, _)| key == schedule_id || key == name || key == "*")
        .map(|(_, script)| script.clone())
        .unwrap_or_default()
}

/// Why the command cannot start: its container is not running.
fn missing_container(st: &State, schedule: &Row) -> Option<String> {
    match str_of(schedule, "scheduleType") {
        Some("compose") => {
            let service = str_of(schedule, "serviceName").unwrap_or_default();
            let compose_id = str_of(schedule, "composeId").unwrap_or_default();
            if compose::container_running(st, compose_id, service) {
                return None;
            }
            let name = st
                .composes
                .get(compose_id)
                .and_then(|c| str_of(&c.row, "name"))
                .unwrap_or("undefined");
            Some(format!(
                "Container not found for service '{service}' of compose '{name}', make sure the service is running"
            ))
        }
        Some("application") | None => {
            let app_id = str_of(schedule, "applicationId").unwrap_or_default();
            if st.running_apps.contains_key(app_id) {
                return None;
            }
            let app_name = st
                .applications
                .get(app_id)
                .and_then(|a| str_of(&a.row, "appName"))
                .unwrap_or("undefined");
            Some(format!(
                "Container not found for application '{app_name}', make sure the service is running"
            ))
        }
        // Host-level scripts need no container.
        Some(_) => None,
    }
}

fn append_log(st: &mut State, deployment_id: &str, text: &str) {
    st.logs
        .entry(deployment_id.to_string())
        .or_default()
        .push_str(text);
}

/// `schedule.runManually`: starts the run (its row `running`) and returns where its answer
/// will come from. The run settles on its own task, whether or not anyone waits for it.
pub(crate) fn run_manually(
    shared: &SharedRef,
    st: &mut State,
    schedule_id: &str,
) -> Result<oneshot::Receiver<RunAnswer>, TrpcError> {
    let Some(schedule) = st.schedules.get(schedule_id) else {
        return Err(not_found());
    };
    let schedule = schedule.row.clone();
    let app_name = str_of(&schedule, "appName").unwrap_or("schedule").to_string();
    let name = str_of(&schedule, "name").unwrap_or_default().to_string();
    let row = schedule_run_row(schedule_id, &app_name);
    let deployment_id = str_of(&row, "deploymentId").unwrap_or_default().to_string();
    let log_path = row.get("logPath").cloned().unwrap_or(Value::Null);
    let seq = st.next_seq();
    let runs = st.deployments.entry(schedule_id.to_string()).or_default();
    runs.truncate(DEPLOYMENTS_KEPT);
    runs.insert(0, Deployment { seq, row });
    append_log(st, &deployment_id, "Initializing schedule\n");

    let blocked = missing_container(st, &schedule);
    let script = script_for(st, schedule_id, &name);
    if blocked.is_none() {
        let container = new_id().to_ascii_lowercase();
        let shell = str_of(&schedule, "shellType").unwrap_or("bash");
        let command = str_of(&schedule, "command").unwrap_or_default();
        append_log(
            st,
            &deployment_id,
            &format!("docker exec {container} {shell} -c {command}\n"),
        );
    }

    let (tx, rx) = oneshot::channel();
    let mut tx = Some(tx);
    if script.drop_connection
        && let Some(tx) = tx.take()
    {
        let _ = tx.send(RunAnswer::Dropped);
    }
    let shared2 = shared.clone();
    let schedule_id = schedule_id.to_string();
    shared.handle.spawn(async move {
        let duration = if blocked.is_some() {
            Duration::ZERO
        } else {
            script.duration
        };
        tokio::time::sleep(duration).await;
        let mut st = shared2.lock();
        let (status, log, error) = match (&blocked, &script.outcome) {
            (Some(why), _) => ("error", format!("❌ {why}\n"), None),
            (None, RunOutcome::Succeed { output }) => {
                let mut log = output.clone();
                if !log.is_empty() && !log.ends_with('\n') {
                    log.push('\n');
                }
                log.push_str("✅ Command executed successfully\n");
                ("done", log, None)
            }
            (None, RunOutcome::Fail { error }) => ("error", format!("{error}\n❌ Command failed\n"), None),
            (None, RunOutcome::ServerError { message }) => (
                "error",
                format!("{message}\n❌ Command failed\n"),
                Some(TrpcError::new(500, message.clone())),
            ),
        };
        append_log(&mut st, &deployment_id, &log);
        if let Some(run) = st.deployments.get_mut(&schedule_id).and_then(|runs| {
            runs.iter_mut()
                .find(|d| str_of(&d.row, "deploymentId") == Some(deployment_id.as_str()))
        }) {
            run.row.insert("status".into(), json!(status));
            run.row.insert("finishedAt".into(), json!(now_iso()));
        }
        drop(st);
        if let Some(tx) = tx.take() {
            let answer = match error {
                Some(e) => RunAnswer::Error(e),
                None => RunAnswer::Json(json!({
                    "status": status,
                    "deploymentId": deployment_id,
                    "logPath": log_path,
                })),
            };
            // Nobody listens when the client has gone: the row above is the outcome.
            let _ = tx.send(answer);
        }
    });
    Ok(rx)
}

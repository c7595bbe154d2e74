//! The Dokploy API under `/api/{router}.{procedure}`: the request pipeline (faults, body
//! parsing, auth, routing, content type, validation) and the procedures.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Query, Request};
use axum::response::Response;
use http::{Method, header::CONTENT_TYPE};
use serde_json::{Map, Value, json};

use super::errors::{self, TrpcError, json_response, raw_response};
use super::faults::{self, FaultAction};
use super::notifications;
use super::schedules::{self, RunAnswer};
use super::state::{Entity, Kind, Row, SharedRef, State, as_row, str_of};
use super::validate::{self, Field, Ty};
use super::{compose, containers, deploy};

/// Next.js's default API body limit.
const BODY_LIMIT: usize = 1024 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
enum ProcKind {
    Query,
    Mutation,
}

struct Route {
    name: &'static str,
    kind: ProcKind,
    fields: &'static [Field],
}

const fn q(name: &'static str, fields: &'static [Field]) -> Route {
    Route {
        name,
        kind: ProcKind::Query,
        fields,
    }
}
const fn m(name: &'static str, fields: &'static [Field]) -> Route {
    Route {
        name,
        kind: ProcKind::Mutation,
        fields,
    }
}

const ROUTES: &[Route] = &[
    q("settings.getDokployVersion", validate::NONE),
    q("overview.services", validate::NONE),
    q("overview.domains", validate::NONE),
    q("deployment.allCentralized", validate::NONE),
    q("project.all", validate::NONE),
    m("project.create", validate::PROJECT_CREATE),
    q("environment.byProjectId", validate::ENVIRONMENT_BY_PROJECT),
    q("environment.one", validate::ENVIRONMENT_ONE),
    m("environment.create", validate::ENVIRONMENT_CREATE),
    q("application.one", validate::APPLICATION_ID),
    m("application.create", validate::APPLICATION_CREATE),
    m("application.update", validate::APPLICATION_UPDATE),
    m(
        "application.saveEnvironment",
        validate::APPLICATION_SAVE_ENVIRONMENT,
    ),
    m(
        "application.saveDockerProvider",
        validate::APPLICATION_SAVE_DOCKER_PROVIDER,
    ),
    m("application.deploy", validate::DEPLOY_APPLICATION),
    m("application.delete", validate::APPLICATION_ID),
    q("compose.one", validate::COMPOSE_ID),
    m("compose.create", validate::COMPOSE_CREATE),
    m("compose.update", validate::COMPOSE_UPDATE),
    m("compose.deploy", validate::DEPLOY_COMPOSE),
    m("compose.delete", validate::COMPOSE_DELETE),
    m("compose.stop", validate::COMPOSE_ID),
    m("compose.start", validate::COMPOSE_ID),
    q(
        "docker.getContainersByAppNameMatch",
        validate::DOCKER_CONTAINERS_BY_APP_NAME,
    ),
    m("docker.stopContainer", validate::DOCKER_CONTAINER),
    m("docker.startContainer", validate::DOCKER_CONTAINER),
    q("compose.loadServices", validate::COMPOSE_LOAD_SERVICES),
    m("domain.create", validate::DOMAIN_CREATE),
    m("domain.delete", validate::DOMAIN_ID),
    q("domain.byApplicationId", validate::APPLICATION_ID),
    q("domain.byComposeId", validate::COMPOSE_ID),
    q("deployment.all", validate::APPLICATION_ID),
    q("deployment.allByCompose", validate::COMPOSE_ID),
    q("deployment.queueList", validate::NONE),
    q("deployment.allByType", validate::DEPLOYMENT_ALL_BY_TYPE),
    q("deployment.readLogs", validate::DEPLOYMENT_READ_LOGS),
    m("schedule.create", validate::SCHEDULE_CREATE),
    m("schedule.update", validate::SCHEDULE_UPDATE),
    m("schedule.delete", validate::SCHEDULE_ID),
    q("schedule.one", validate::SCHEDULE_ID),
    q("schedule.list", validate::SCHEDULE_LIST),
    m("schedule.runManually", validate::SCHEDULE_RUN),
    m("notification.createCustom", validate::NOTIFICATION_CREATE_CUSTOM),
    m("notification.updateCustom", validate::NOTIFICATION_UPDATE_CUSTOM),
    q("notification.one", validate::NOTIFICATION_ID),
    q("notification.all", validate::NONE),
    m("notification.remove", validate::NOTIFICATION_ID),
];

/// The canonical procedure name for a path segment (case-insensitive), if implemented.
pub(crate) fn canonical(name: &str) -> Option<&'static str> {
    ROUTES
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(name))
        .map(|r| r.name)
}

/// The names of every implemented procedure.
pub fn procedure_names() -> Vec<&'static str> {
    ROUTES.iter().map(|r| r.name).collect()
}

enum Reply {
    Json(Value),
    Empty,
    /// The answer comes when a schedule run ends (or its connection is dropped).
    Later(tokio::sync::oneshot::Receiver<RunAnswer>),
}

type ProcResult = Result<Reply, TrpcError>;

/// Entry point for everything under `/api/`. `rest` is the path after `/api/`.
pub(crate) async fn handle_api(shared: SharedRef, rest: String, req: Request) -> Response {
    let requested = rest.trim_end_matches('/').to_string();
    if requested.eq_ignore_ascii_case("health") {
        return json_response(200, &json!({"ok": true}));
    }
    let route = ROUTES.iter().find(|r| r.name.eq_ignore_ascii_case(&requested));
    let count_name = route.map_or(requested.clone(), |r| r.name.to_string());
    *shared.lock().calls.entry(count_name.clone()).or_insert(0) += 1;
    tracing::debug!(method = %req.method(), procedure = %count_name, "sim api call");

    // Injected faults come first, as a proxy or a throttled key would.
    let (latency, action) = faults::evaluate(&mut shared.lock().faults, &count_name);
    if latency > Duration::ZERO {
        tokio::time::sleep(latency).await;
    }
    match action {
        FaultAction::Proceed => {}
        FaultAction::Hold => {
            let mut shutdown = shared.shutdown.subscribe();
            let _ = shutdown.wait_for(|v| *v).await;
            return raw_response(503, None, "");
        }
        FaultAction::Status(code) => {
            return TrpcError::new(code, format!("Simulated failure ({code})"))
                .into_response(Some(&count_name));
        }
        FaultAction::Unauthorized => return errors::unauthorized(),
        FaultAction::Malformed => {
            return raw_response(
                200,
                Some("application/json"),
                "{\"result\": <html>502 Bad Gateway</html>",
            );
        }
    }

    let method = req.method().clone();
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.to_ascii_lowercase());
    let api_key = req
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let uri = req.uri().clone();
    let bytes = match to_bytes(req.into_body(), BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return raw_response(413, None, "Body exceeded 1mb limit"),
    };

    // Next.js parses JSON bodies before anything else looks at the request.
    let is_json = content_type
        .as_deref()
        .is_some_and(|ct| ct.starts_with("application/json"));
    let mut body_json = Value::Object(Map::new());
    if method == Method::POST && is_json && !bytes.is_empty() {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) => body_json = v,
            Err(_) => return errors::invalid_json(),
        }
    }

    if api_key.as_deref() != Some(shared.api_key.as_str()) {
        return errors::unauthorized();
    }

    let Some(route) = route else {
        return TrpcError::not_found("Not found").into_response(None);
    };
    let wanted = match route.kind {
        ProcKind::Query => Method::GET,
        ProcKind::Mutation => Method::POST,
    };
    if method != wanted {
        return TrpcError::not_found("Not found").into_response(None);
    }

    let input = match route.kind {
        ProcKind::Query => {
            let params: HashMap<String, String> =
                Query::try_from_uri(&uri).map(|Query(p)| p).unwrap_or_default();
            Value::Object(
                params
                    .into_iter()
                    .map(|(k, v)| {
                        let value = coerce_query(route.fields, &k, v);
                        (k, value)
                    })
                    .collect(),
            )
        }
        ProcKind::Mutation => {
            match content_type.as_deref() {
                None => {
                    return TrpcError::new(415, "Missing content-type header")
                        .into_response(Some(route.name));
                }
                Some(_) if !is_json => {
                    return TrpcError::new(415, "Unsupported content-type").into_response(Some(route.name));
                }
                Some(_) => {}
            }
            body_json
        }
    };
    let input = match validate::validate(route.fields, &input) {
        Ok(v) => v,
        Err(issues) => return TrpcError::validation(issues).into_response(Some(route.name)),
    };

    let journal = (route.kind == ProcKind::Mutation).then(|| journal_entry(&shared, route.name, &input));
    let reply = dispatch(&shared, route.name, input);
    if let Some(mut entry) = journal {
        entry.succeeded = reply.is_ok();
        // A create acts on the service it makes: name it, so later calls can be traced to it.
        if let Ok(Reply::Json(row)) = &reply {
            if entry.service_id.is_none() {
                entry.service_id = ["applicationId", "composeId"]
                    .iter()
                    .find_map(|k| row.get(*k).and_then(Value::as_str))
                    .map(str::to_string);
            }
            if route.name == "schedule.create" {
                entry.schedule_id = row.get("scheduleId").and_then(Value::as_str).map(str::to_string);
            }
        }
        shared.lock().journal.push(entry);
    }
    match reply {
        Ok(Reply::Json(v)) => json_response(200, &v),
        Ok(Reply::Empty) => raw_response(200, Some("application/json"), Body::empty()),
        // The lock is not held here: the run settles on its own task.
        Ok(Reply::Later(answer)) => match answer.await {
            Ok(RunAnswer::Json(v)) => json_response(200, &v),
            Ok(RunAnswer::Error(e)) => e.into_response(Some(route.name)),
            Ok(RunAnswer::Dropped) => errors::dropped_connection(),
            // The simulator is shutting down.
            Err(_) => raw_response(503, None, ""),
        },
        Err(e) => e.into_response(Some(route.name)),
    }
}

/// Query values arrive as strings; the tRPC adapter coerces the number- and boolean-typed
/// keys (API-NOTES §1).
fn coerce_query(fields: &[Field], key: &str, value: String) -> Value {
    let ty = fields.iter().find(|f| f.name == key).map(|f| f.ty);
    match ty {
        Some(Ty::Num) => value
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::String(value), Value::Number),
        Some(Ty::Bool) => match value.as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(value),
        },
        _ => Value::String(value),
    }
}

/// What a mutation is about to act on, read before it runs: the service it changes (a
/// domain's or a schedule's service for the domain and schedule routes) and that service's
/// description then, where ownership markers live; for the schedule routes also the schedule
/// and its own description.
fn journal_entry(shared: &SharedRef, procedure: &str, input: &Map<String, Value>) -> super::Mutation {
    let st = shared.lock();
    let schedule = input
        .get("scheduleId")
        .and_then(Value::as_str)
        .and_then(|id| st.schedules.get(id));
    let of_row = |row: &Row| {
        ["applicationId", "composeId"]
            .iter()
            .find_map(|k| str_of(row, k))
            .map(str::to_string)
    };
    // An existing schedule acts on its current service, whatever an update sends.
    let service_id = schedule
        .and_then(|e| of_row(&e.row))
        .or_else(|| {
            ["applicationId", "composeId"]
                .iter()
                .find_map(|k| input.get(*k).and_then(Value::as_str))
                .map(str::to_string)
        })
        .or_else(|| of_row(&st.domains.get(s(input, "domainId"))?.row))
        .or_else(|| {
            containers::find(&st, input.get("containerId")?.as_str()?).map(|(compose_id, _)| compose_id)
        });
    let description_before = service_id.as_deref().and_then(|id| {
        let kind = st.kind_of(id)?;
        str_of(&st.service(kind, id)?.row, "description").map(str::to_string)
    });
    let description_sent = input
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_string);
    let schedule_id = procedure
        .starts_with("schedule.")
        .then(|| {
            input
                .get("scheduleId")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .flatten();
    super::Mutation {
        procedure: procedure.to_string(),
        service_id,
        description_before,
        description_sent,
        schedule_id,
        schedule_description_before: schedule.and_then(|e| str_of(&e.row, "description").map(str::to_string)),
        succeeded: false,
    }
}

fn s<'a>(input: &'a Map<String, Value>, key: &str) -> &'a str {
    input.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn dispatch(shared: &SharedRef, name: &str, input: Map<String, Value>) -> ProcResult {
    let mut st = shared.lock();
    let st = &mut *st;
    match name {
        "settings.getDokployVersion" => Ok(Reply::Json(json!(super::DOKPLOY_VERSION))),
        "overview.services" => Ok(Reply::Json(overview_services(st))),
        "overview.domains" => Ok(Reply::Json(overview_domains(st))),
        "deployment.allCentralized" => Ok(Reply::Json(deployments_centralized(st))),
        "deployment.queueList" => Ok(Reply::Json(deploy::queue_list(st))),
        "project.all" => Ok(Reply::Json(project_all(st))),
        "project.create" => {
            let description = input.get("description").cloned().unwrap_or(Value::Null);
            let env = input
                .get("env")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let (project_id, env_id) = st.create_project(s(&input, "name"), description, &env);
            let project = st.projects.get(&project_id).map(|e| Value::Object(e.row.clone()));
            let environment = st.environments.get(&env_id).map(|e| Value::Object(e.row.clone()));
            Ok(Reply::Json(
                json!({"project": project, "environment": environment}),
            ))
        }
        "environment.byProjectId" => {
            let project_id = s(&input, "projectId");
            // Dokploy turns every error of this route into BAD_REQUEST.
            let Some(project) = st.projects.get(project_id) else {
                return Err(TrpcError::bad_request("Project not found"));
            };
            let project = Value::Object(project.row.clone());
            let envs: Vec<Value> = State::sorted(&st.environments)
                .into_iter()
                .filter(|e| str_of(&e.row, "projectId") == Some(project_id))
                .map(|e| {
                    let mut out = pick(&e.row, &["name", "description", "environmentId", "isDefault"]);
                    add_service_summaries(st, &e.row, &mut out, true);
                    out.insert("project".into(), project.clone());
                    Value::Object(out)
                })
                .collect();
            Ok(Reply::Json(Value::Array(envs)))
        }
        "environment.one" => {
            let Some(env) = st.environments.get(s(&input, "environmentId")) else {
                return Err(TrpcError::not_found("Environment not found"));
            };
            let mut out = pick(
                &env.row,
                &[
                    "name",
                    "description",
                    "environmentId",
                    "isDefault",
                    "projectId",
                    "env",
                ],
            );
            add_service_summaries(st, &env.row, &mut out, false);
            let project = st.project_of_env(&env.row).map(|p| Value::Object(p.row.clone()));
            out.insert("project".into(), project.unwrap_or(Value::Null));
            Ok(Reply::Json(Value::Object(out)))
        }
        "environment.create" => {
            let project_id = s(&input, "projectId");
            if !st.projects.contains_key(project_id) {
                return Err(TrpcError::not_found("Project not found"));
            }
            let env_name = s(&input, "name");
            if env_name == "production" {
                return Err(TrpcError::bad_request(
                    "You cannot create an environment named production",
                ));
            }
            let description = input.get("description").cloned().unwrap_or(Value::Null);
            let id = st.insert_environment(project_id, env_name, description, false);
            Ok(Reply::Json(row_value(st.environments.get(&id))))
        }
        "application.one" => {
            let id = s(&input, "applicationId");
            full_service(st, Kind::Application, id)
                .map(Reply::Json)
                .ok_or_else(|| TrpcError::not_found("Application not found"))
        }
        "application.create" => {
            let environment_id = s(&input, "environmentId");
            if !st.environments.contains_key(environment_id) {
                return Err(TrpcError::not_found("Environment not found"));
            }
            let description = input.get("description").cloned().unwrap_or(Value::Null);
            let source_type = input
                .get("sourceType")
                .and_then(Value::as_str)
                .unwrap_or("github");
            let id = st.insert_application(
                environment_id,
                s(&input, "name"),
                input.get("appName").and_then(Value::as_str),
                description,
                source_type,
            );
            Ok(Reply::Json(row_value(st.applications.get(&id))))
        }
        "application.update" => {
            let id = s(&input, "applicationId").to_string();
            let Some(app) = st.applications.get_mut(&id) else {
                return Err(TrpcError::bad_request("Error updating application"));
            };
            for (key, value) in input {
                if key != "applicationId" && key != "appName" {
                    app.row.insert(key, value);
                }
            }
            Ok(Reply::Json(json!(true)))
        }
        "application.saveEnvironment" => {
            let Some(app) = st.applications.get_mut(s(&input, "applicationId")) else {
                return Err(TrpcError::not_found("Application not found"));
            };
            for key in ["env", "buildArgs", "buildSecrets", "createEnvFile"] {
                if let Some(v) = input.get(key) {
                    app.row.insert(key.into(), v.clone());
                }
            }
            Ok(Reply::Json(json!(true)))
        }
        "application.saveDockerProvider" => {
            let Some(app) = st.applications.get_mut(s(&input, "applicationId")) else {
                return Err(TrpcError::not_found("Application not found"));
            };
            for key in ["dockerImage", "username", "password", "registryUrl"] {
                if let Some(v) = input.get(key) {
                    app.row.insert(key.into(), v.clone());
                }
            }
            app.row.insert("sourceType".into(), json!("docker"));
            app.row.insert("applicationStatus".into(), json!("idle"));
            Ok(Reply::Json(json!(true)))
        }
        "application.deploy" | "compose.deploy" => {
            let (kind, id_key, missing) = if name == "application.deploy" {
                (Kind::Application, "applicationId", "Application not found")
            } else {
                (Kind::Compose, "composeId", "Compose not found")
            };
            let id = s(&input, id_key).to_string();
            if st.service(kind, &id).is_none() {
                return Err(TrpcError::not_found(missing));
            }
            let title = input
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or("Manual deployment")
                .to_string();
            let description = input
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            deploy::enqueue(shared, st, &id, title, description);
            if kind == Kind::Application {
                Ok(Reply::Empty)
            } else {
                Ok(Reply::Json(
                    json!({"success": true, "message": "Deployment queued", "composeId": id}),
                ))
            }
        }
        "application.delete" | "compose.delete" => {
            let (kind, id_key, missing) = if name == "application.delete" {
                (Kind::Application, "applicationId", "Application not found")
            } else {
                (Kind::Compose, "composeId", "Compose not found")
            };
            let id = s(&input, id_key).to_string();
            let Some(full) = full_service(st, kind, &id) else {
                return Err(TrpcError::not_found(missing));
            };
            st.remove_service(&id);
            Ok(Reply::Json(full))
        }
        "compose.one" => full_service(st, Kind::Compose, s(&input, "composeId"))
            .map(Reply::Json)
            .ok_or_else(|| TrpcError::not_found("Compose not found")),
        "compose.create" => {
            let environment_id = s(&input, "environmentId");
            if !st.environments.contains_key(environment_id) {
                return Err(TrpcError::not_found("Environment not found"));
            }
            let id = st.insert_compose(
                environment_id,
                s(&input, "name"),
                input.get("appName").and_then(Value::as_str),
                input.get("description").cloned().unwrap_or(Value::Null),
                input
                    .get("composeType")
                    .and_then(Value::as_str)
                    .unwrap_or("docker-compose"),
                input
                    .get("sourceType")
                    .and_then(Value::as_str)
                    .unwrap_or("github"),
                input
                    .get("composeFile")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            );
            Ok(Reply::Json(row_value(st.composes.get(&id))))
        }
        "compose.update" => {
            let id = s(&input, "composeId").to_string();
            let Some(compose) = st.composes.get_mut(&id) else {
                return Err(TrpcError::not_found("Compose not found"));
            };
            for (key, value) in input {
                if key != "composeId" && key != "appName" {
                    compose.row.insert(key, value);
                }
            }
            Ok(Reply::Json(Value::Object(compose.row.clone())))
        }
        "domain.create" => {
            // Dokploy turns every error of this route into BAD_REQUEST.
            if let Some(app_id) = input.get("applicationId").and_then(Value::as_str)
                && !st.applications.contains_key(app_id)
            {
                return Err(TrpcError::bad_request("Application not found"));
            }
            if let Some(compose_id) = input.get("composeId").and_then(Value::as_str)
                && !st.composes.contains_key(compose_id)
            {
                return Err(TrpcError::bad_request("Compose not found"));
            }
            Ok(Reply::Json(Value::Object(st.insert_domain(input))))
        }
        "domain.delete" => {
            let Some(domain) = st.domains.remove(s(&input, "domainId")) else {
                return Err(TrpcError::not_found("Domain not found"));
            };
            Ok(Reply::Json(Value::Object(domain.row)))
        }
        "domain.byApplicationId" | "domain.byComposeId" => {
            let (kind, id_key, missing, stub) = if name == "domain.byApplicationId" {
                (
                    Kind::Application,
                    "applicationId",
                    "Application not found",
                    "application",
                )
            } else {
                (Kind::Compose, "composeId", "Compose not found", "compose")
            };
            let id = s(&input, id_key);
            let Some(service) = st.service(kind, id) else {
                return Err(TrpcError::not_found(missing));
            };
            let owner = Value::Object(pick(&service.row, &[id_key, "appName", "name"]));
            let rows: Vec<Value> = st
                .domains_of(kind, id)
                .into_iter()
                .map(|row| {
                    let mut row = row.clone();
                    row.insert(stub.into(), owner.clone());
                    Value::Object(row)
                })
                .collect();
            Ok(Reply::Json(Value::Array(rows)))
        }
        "compose.stop" => compose::stop(st, s(&input, "composeId")).map(Reply::Json),
        "compose.start" => compose::start(shared, st, s(&input, "composeId")).map(Reply::Json),
        "docker.getContainersByAppNameMatch" => Ok(Reply::Json(containers::list(
            st,
            s(&input, "appName"),
            input.get("appType").and_then(Value::as_str),
            input.get("serverId").and_then(Value::as_str),
        ))),
        "docker.stopContainer" | "docker.startContainer" => containers::set_running(
            shared,
            st,
            s(&input, "containerId"),
            input.get("serverId").and_then(Value::as_str),
            name == "docker.startContainer",
        )
        .map(|()| Reply::Empty),
        "compose.loadServices" => compose::load_services(
            st,
            s(&input, "composeId"),
            input.get("type").and_then(Value::as_str) == Some("fetch"),
        )
        .map(Reply::Json),
        "notification.createCustom" => {
            notifications::create_custom(st, &input);
            Ok(Reply::Empty)
        }
        "notification.updateCustom" => notifications::update_custom(st, &input).map(Reply::Json),
        "notification.one" => notifications::one(st, s(&input, "notificationId")).map(Reply::Json),
        "notification.all" => Ok(Reply::Json(notifications::all(st))),
        "notification.remove" => notifications::remove(st, s(&input, "notificationId")).map(Reply::Json),
        "schedule.create" => schedules::create(st, input).map(Reply::Json),
        "schedule.update" => schedules::update(st, input).map(Reply::Json),
        "schedule.delete" => schedules::delete(st, s(&input, "scheduleId")).map(Reply::Json),
        "schedule.one" => schedules::one(st, s(&input, "scheduleId")).map(Reply::Json),
        "schedule.list" => Ok(Reply::Json(schedules::list(
            st,
            s(&input, "id"),
            s(&input, "scheduleType"),
        ))),
        "schedule.runManually" => {
            schedules::run_manually(shared, st, s(&input, "scheduleId")).map(Reply::Later)
        }
        "deployment.allByType" => Ok(Reply::Json(schedules::deployments_by_type(
            st,
            s(&input, "id"),
            s(&input, "type"),
        ))),
        "deployment.readLogs" => {
            // `tail` is an integer 1-10000, 100 by default.
            let tail = input.get("tail").and_then(Value::as_f64).unwrap_or(100.0) as usize;
            schedules::read_logs(st, s(&input, "deploymentId"), tail).map(Reply::Json)
        }
        "deployment.all" | "deployment.allByCompose" => {
            let (kind, id_key, missing) = if name == "deployment.all" {
                (Kind::Application, "applicationId", "Application not found")
            } else {
                (Kind::Compose, "composeId", "Compose not found")
            };
            let id = s(&input, id_key);
            if st.service(kind, id).is_none() {
                return Err(TrpcError::not_found(missing));
            }
            Ok(Reply::Json(Value::Array(st.deployment_rows(id))))
        }
        _ => Err(TrpcError::not_found("Not found")),
    }
}

fn row_value(entity: Option<&Entity>) -> Value {
    entity.map_or(Value::Null, |e| Value::Object(e.row.clone()))
}

fn pick(row: &Row, keys: &[&str]) -> Row {
    keys.iter()
        .map(|k| (k.to_string(), row.get(*k).cloned().unwrap_or(Value::Null)))
        .collect()
}

/// `application.one` / `compose.one`: every column plus relations and the two extra fields.
pub(crate) fn full_service(st: &State, kind: Kind, id: &str) -> Option<Value> {
    let entity = st.service(kind, id)?;
    let mut out = entity.row.clone();
    out.insert("environment".into(), st.environment_with_project(&entity.row));
    let domains: Vec<Value> = st
        .domains_of(kind, id)
        .into_iter()
        .map(|r| Value::Object(r.clone()))
        .collect();
    // Relations carry no guaranteed order in Dokploy; oldest first here.
    let mut deployments = st.deployment_rows(id);
    deployments.reverse();
    match kind {
        Kind::Application => {
            out.insert("domains".into(), Value::Array(domains));
            out.insert("deployments".into(), Value::Array(deployments));
            for key in ["mounts", "redirects", "security", "ports"] {
                out.insert(key.into(), json!([]));
            }
            for key in ["gitlab", "github", "bitbucket", "gitea", "server"] {
                out.insert(key.into(), Value::Null);
            }
            out.insert("previewDeployments".into(), json!([]));
            for key in ["registry", "buildRegistry", "rollbackRegistry"] {
                out.insert(key.into(), Value::Null);
            }
        }
        Kind::Compose => {
            out.insert("deployments".into(), Value::Array(deployments));
            out.insert("mounts".into(), json!([]));
            out.insert("domains".into(), Value::Array(domains));
            for key in ["github", "gitlab", "bitbucket", "gitea", "server"] {
                out.insert(key.into(), Value::Null);
            }
            out.insert("backups".into(), json!([]));
        }
    }
    out.insert("hasGitProviderAccess".into(), json!(true));
    out.insert("unauthorizedProvider".into(), Value::Null);
    Some(Value::Object(out))
}

/// The service summaries `environment.byProjectId` (`with_app_name`) and `environment.one`
/// (no appName) put on each environment. Services never run on a remote server here, so
/// `server` is always null.
fn add_service_summaries(st: &State, env: &Row, out: &mut Row, with_app_name: bool) {
    let env_id = str_of(env, "environmentId");
    let mut app_keys = vec!["applicationId", "name", "description"];
    if with_app_name {
        app_keys.push("appName");
    }
    app_keys.extend(["createdAt", "serverId", "applicationStatus", "icon"]);
    let apps: Vec<Value> = State::sorted(&st.applications)
        .into_iter()
        .filter(|e| str_of(&e.row, "environmentId") == env_id)
        .map(|e| {
            let mut r = pick(&e.row, &app_keys);
            r.insert("server".into(), Value::Null);
            Value::Object(r)
        })
        .collect();
    let mut compose_keys = vec!["composeId", "name", "description"];
    if with_app_name {
        compose_keys.push("appName");
    }
    compose_keys.extend(["createdAt", "serverId", "composeStatus", "icon"]);
    let composes: Vec<Value> = State::sorted(&st.composes)
        .into_iter()
        .filter(|e| str_of(&e.row, "environmentId") == env_id)
        .map(|e| {
            let mut r = pick(&e.row, &compose_keys);
            r.insert("server".into(), Value::Null);
            Value::Object(r)
        })
        .collect();
    out.insert("applications".into(), Value::Array(apps));
    for key in ["mariadb", "mongo", "mysql", "postgres", "redis"] {
        out.insert(key.into(), json!([]));
    }
    out.insert("compose".into(), Value::Array(composes));
    out.insert("libsql".into(), json!([]));
}

fn project_all(st: &State) -> Value {
    let projects: Vec<Value> = State::sorted(&st.projects)
        .into_iter()
        .map(|p| {
            let project_id = str_of(&p.row, "projectId");
            let mut out = p.row.clone();
            let envs: Vec<Value> = State::sorted(&st.environments)
                .into_iter()
                .filter(|e| str_of(&e.row, "projectId") == project_id)
                .map(|e| {
                    let env_id = str_of(&e.row, "environmentId");
                    let mut env = pick(&e.row, &["name", "environmentId", "isDefault"]);
                    let apps: Vec<Value> = State::sorted(&st.applications)
                        .into_iter()
                        .filter(|a| str_of(&a.row, "environmentId") == env_id)
                        .map(|a| Value::Object(pick(&a.row, &["applicationId", "name", "applicationStatus"])))
                        .collect();
                    let composes: Vec<Value> = State::sorted(&st.composes)
                        .into_iter()
                        .filter(|c| str_of(&c.row, "environmentId") == env_id)
                        .map(|c| Value::Object(pick(&c.row, &["composeId", "name", "composeStatus"])))
                        .collect();
                    env.insert("applications".into(), Value::Array(apps));
                    for key in ["mariadb", "mongo", "mysql", "postgres", "redis"] {
                        env.insert(key.into(), json!([]));
                    }
                    env.insert("compose".into(), Value::Array(composes));
                    env.insert("libsql".into(), json!([]));
                    Value::Object(env)
                })
                .collect();
            out.insert("environments".into(), Value::Array(envs));
            out.insert("projectTags".into(), json!([]));
            Value::Object(out)
        })
        .collect();
    Value::Array(projects)
}

/// project/environment names and ids for a service row.
fn placement(st: &State, row: &Row) -> (Value, Value, Value, Value) {
    let env = st.environment_of(row);
    let project = env.and_then(|e| st.project_of_env(&e.row));
    let get = |e: Option<&Entity>, key: &str| e.and_then(|e| e.row.get(key).cloned()).unwrap_or(Value::Null);
    (
        get(project, "projectId"),
        get(project, "name"),
        get(env, "environmentId"),
        get(env, "name"),
    )
}

fn overview_services(st: &State) -> Value {
    let mut all: Vec<(u64, Value)> = Vec::new();
    for (kind, map) in [
        (Kind::Application, &st.applications),
        (Kind::Compose, &st.composes),
    ] {
        for (id, e) in map {
            let (project_id, project_name, environment_id, environment_name) = placement(st, &e.row);
            all.push((
                e.seq,
                json!({
                    "id": id,
                    "type": kind.type_name(),
                    "name": e.row.get("name"),
                    "appName": e.row.get("appName"),
                    "status": e.row.get(kind.status_key()),
                    "createdAt": e.row.get("createdAt"),
                    "serverId": Value::Null,
                    "serverName": Value::Null,
                    "icon": e.row.get("icon"),
                    "projectId": project_id,
                    "projectName": project_name,
                    "environmentId": environment_id,
                    "environmentName": environment_name,
                    "lastDeployAt": st.last_deploy_at(id),
                }),
            ));
        }
    }
    all.sort_by_key(|(seq, _)| *seq);
    Value::Array(all.into_iter().map(|(_, v)| v).collect())
}

fn overview_domains(st: &State) -> Value {
    let rows: Vec<Value> = State::sorted(&st.domains)
        .into_iter()
        .map(|d| {
            let mut out = pick(
                &d.row,
                &[
                    "domainId",
                    "host",
                    "path",
                    "port",
                    "customEntrypoint",
                    "https",
                    "certificateType",
                    "createdAt",
                    "enabled",
                    "domainType",
                ],
            );
            let owner = if let Some(id) = str_of(&d.row, "applicationId") {
                st.applications.get(id).map(|e| (id, "application", e))
            } else if let Some(id) = str_of(&d.row, "composeId") {
                st.composes.get(id).map(|e| (id, "compose", e))
            } else {
                None
            };
            let (owner_id, owner_type, service_name, placement) = match owner {
                Some((id, ty, e)) => (
                    json!(id),
                    json!(ty),
                    e.row.get("name").cloned(),
                    Some(placement(st, &e.row)),
                ),
                None => (Value::Null, Value::Null, None, None),
            };
            let (project_id, project_name, environment_id, environment_name) =
                placement.unwrap_or((Value::Null, Value::Null, Value::Null, Value::Null));
            out.insert("serviceOwnerId".into(), owner_id);
            out.insert("serviceOwnerType".into(), owner_type);
            out.insert("serviceName".into(), service_name.unwrap_or(Value::Null));
            out.insert("projectId".into(), project_id);
            out.insert("projectName".into(), project_name);
            out.insert("environmentId".into(), environment_id);
            out.insert("environmentName".into(), environment_name);
            Value::Object(out)
        })
        .collect();
    Value::Array(rows)
}

fn deployments_centralized(st: &State) -> Value {
    let mut all: Vec<(u64, Value)> = Vec::new();
    for (service_id, list) in &st.deployments {
        let Some(kind) = st.kind_of(service_id) else {
            continue;
        };
        let Some(service) = st.service(kind, service_id) else {
            continue;
        };
        let (project_id, project_name, environment_id, environment_name) = placement(st, &service.row);
        let mut summary = pick(&service.row, &[kind.id_key(), "name", "appName"]);
        summary.insert(
            "environment".into(),
            json!({
                "environmentId": environment_id,
                "name": environment_name,
                "project": {"projectId": project_id, "name": project_name},
            }),
        );
        summary.insert("server".into(), Value::Null);
        if kind == Kind::Application {
            summary.insert("buildServer".into(), Value::Null);
        }
        for d in list {
            let mut row = d.row.clone();
            let (app, compose) = match kind {
                Kind::Application => (Value::Object(summary.clone()), Value::Null),
                Kind::Compose => (Value::Null, Value::Object(summary.clone())),
            };
            row.insert("application".into(), app);
            row.insert("compose".into(), compose);
            row.insert("server".into(), Value::Null);
            row.insert("buildServer".into(), Value::Null);
            all.push((d.seq, Value::Object(row)));
        }
    }
    all.sort_by_key(|(seq, _)| std::cmp::Reverse(*seq));
    Value::Array(all.into_iter().map(|(_, v)| v).collect())
}

/// Used by admin seeding: creates a domain row for a service through the same path as
/// `domain.create`.
pub(crate) fn create_domain_for(st: &mut State, service_id: &str, host: &str) -> Option<String> {
    let kind = st.kind_of(service_id)?;
    let fields = match kind {
        Kind::Application => {
            as_row(json!({"host": host, "applicationId": service_id, "domainType": "application"}))
        }
        Kind::Compose => as_row(json!({"host": host, "composeId": service_id, "domainType": "compose"})),
    };
    let row = st.insert_domain(fields);
    str_of(&row, "domainId").map(str::to_string)
}

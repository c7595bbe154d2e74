//! Admin routes under `/__sim/` for the binary and shell scripts: seeding, out-of-band edits,
//! faults, app behaviour and call counts. They need no API key; the simulator only listens on
//! loopback.

use std::time::Duration;

use axum::body::to_bytes;
use axum::extract::Request;
use axum::response::Response;
use http::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::errors::{json_response, raw_response};
use super::state::SharedRef;
use super::{AppBehaviour, DokploySim, Fault, OutOfBandEdit, RunOutcome, ScheduleRunScript, SeedDocument};

/// A fault as JSON: `{"kind":"latency","ms":250}`, `{"kind":"status","status":503}`,
/// `{"kind":"unauthorizedAfter","calls":3}`, `{"kind":"malformedBody"}`, `{"kind":"timeout"}`,
/// `{"kind":"deployError"}`.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum FaultDoc {
    Latency { ms: u64 },
    Status { status: u16 },
    UnauthorizedAfter { calls: u64 },
    MalformedBody,
    Timeout,
    DeployError,
}

impl From<FaultDoc> for Fault {
    fn from(doc: FaultDoc) -> Fault {
        match doc {
            FaultDoc::Latency { ms } => Fault::Latency(Duration::from_millis(ms)),
            FaultDoc::Status { status } => Fault::Status(status),
            FaultDoc::UnauthorizedAfter { calls } => Fault::UnauthorizedAfter(calls),
            FaultDoc::MalformedBody => Fault::MalformedBody,
            FaultDoc::Timeout => Fault::Timeout,
            FaultDoc::DeployError => Fault::DeployError,
        }
    }
}

#[derive(Deserialize)]
struct FaultRequest {
    #[serde(default = "star")]
    route: String,
    fault: FaultDoc,
}

fn star() -> String {
    "*".to_string()
}

/// `{"kind":"normal"}`, `{"kind":"staleIdentity","payload":{...}}`,
/// `{"kind":"malformedIdentity"}`, `{"kind":"noIdentity"}`, `{"kind":"down"}`.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum BehaviourDoc {
    Normal,
    StaleIdentity { payload: Value },
    MalformedIdentity,
    NoIdentity,
    Down,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BehaviourRequest {
    service_id: String,
    behaviour: BehaviourDoc,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EditRequest {
    service_id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    docker_image: Option<String>,
    /// Delete the service, as a person would in the dashboard.
    #[serde(default)]
    remove: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeployOutcomeRequest {
    service_id: String,
    fail: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DomainRequest {
    service_id: String,
    host: String,
    /// For a compose: the service the domain routes to.
    #[serde(default)]
    service_name: Option<String>,
}

/// `{"kind":"succeed","output":"…"}`, `{"kind":"fail","error":"…"}`,
/// `{"kind":"serverError","message":"…"}`.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum RunOutcomeDoc {
    Succeed {
        #[serde(default)]
        output: String,
    },
    Fail {
        error: String,
    },
    ServerError {
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunScriptRequest {
    #[serde(default = "star")]
    selector: String,
    outcome: RunOutcomeDoc,
    #[serde(default)]
    duration_ms: u64,
    #[serde(default)]
    drop_connection: bool,
}

fn bad(message: impl std::fmt::Display) -> Response {
    json_response(400, &json!({"error": message.to_string()}))
}

fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}

pub(crate) async fn handle_admin(shared: SharedRef, rest: String, req: Request) -> Response {
    let sim = DokploySim::handle_for(shared);
    let method = req.method().clone();
    let Ok(bytes) = to_bytes(req.into_body(), 16 * 1024 * 1024).await else {
        return bad("body too large");
    };
    let route = rest.trim_end_matches('/');
    let result: Result<Response, String> = (|| match (&method, route) {
        (&Method::POST, "seed") => {
            let doc: SeedDocument = parse(&bytes)?;
            Ok(json_response(200, &sim.seed(&doc)))
        }
        (&Method::POST, "edit") => {
            let edit: EditRequest = parse(&bytes)?;
            let ok = if edit.remove {
                sim.remove_service(&edit.service_id)
            } else {
                sim.edit(
                    &edit.service_id,
                    OutOfBandEdit {
                        name: edit.name,
                        env: edit.env,
                        docker_image: edit.docker_image,
                    },
                )
            };
            Ok(json_response(if ok { 200 } else { 404 }, &json!({"ok": ok})))
        }
        (&Method::POST, "domains") => {
            let req: DomainRequest = parse(&bytes)?;
            let added = match &req.service_name {
                Some(service) => sim.add_compose_domain(&req.service_id, &req.host, service),
                None => sim.add_domain(&req.service_id, &req.host),
            };
            match added {
                Some(id) => Ok(json_response(200, &json!({"domainId": id}))),
                None => Ok(json_response(404, &json!({"error": "no such service"}))),
            }
        }
        (&Method::POST, "faults") => {
            let req: FaultRequest = parse(&bytes)?;
            sim.inject(&req.route, req.fault.into());
            Ok(json_response(200, &json!({"ok": true})))
        }
        (&Method::DELETE, "faults") => {
            sim.clear_faults();
            Ok(json_response(200, &json!({"ok": true})))
        }
        (&Method::POST, "app-behaviour") => {
            let req: BehaviourRequest = parse(&bytes)?;
            let behaviour = match req.behaviour {
                BehaviourDoc::Normal => AppBehaviour::Normal,
                BehaviourDoc::StaleIdentity { payload } => AppBehaviour::StaleIdentity(payload),
                BehaviourDoc::MalformedIdentity => AppBehaviour::MalformedIdentity,
                BehaviourDoc::NoIdentity => AppBehaviour::NoIdentity,
                BehaviourDoc::Down => AppBehaviour::Down,
            };
            sim.set_app_behaviour(&req.service_id, behaviour);
            Ok(json_response(200, &json!({"ok": true})))
        }
        (&Method::POST, "deploy-outcome") => {
            let req: DeployOutcomeRequest = parse(&bytes)?;
            sim.set_deploy_outcome(&req.service_id, req.fail);
            Ok(json_response(200, &json!({"ok": true})))
        }
        (&Method::POST, "schedule-runs") => {
            let req: RunScriptRequest = parse(&bytes)?;
            let outcome = match req.outcome {
                RunOutcomeDoc::Succeed { output } => RunOutcome::Succeed { output },
                RunOutcomeDoc::Fail { error } => RunOutcome::Fail { error },
                RunOutcomeDoc::ServerError { message } => RunOutcome::ServerError { message },
            };
            sim.script_schedule_runs(
                &req.selector,
                ScheduleRunScript {
                    outcome,
                    duration: Duration::from_millis(req.duration_ms),
                    drop_connection: req.drop_connection,
                },
            );
            Ok(json_response(200, &json!({"ok": true})))
        }
        (&Method::DELETE, "schedule-runs") => {
            sim.clear_schedule_scripts();
            Ok(json_response(200, &json!({"ok": true})))
        }
        (&Method::GET, "calls") => Ok(json_response(200, &json!(sim.call_counts()))),
        (&Method::GET, "mutations") => Ok(json_response(200, &json!(sim.mutations()))),
        (&Method::GET, "apps") => Ok(json_response(200, &json!(sim.app_urls()))),
        _ => Ok(raw_response(
            404,
            Some("text/plain; charset=utf-8"),
            "unknown simulator admin route\n",
        )),
    })();
    result.unwrap_or_else(bad)
}

//! The compose runtime: what a compose deploy leaves running, and the routes that act on it
//! (`compose.stop`, `compose.start`, `compose.loadServices`).
//!
//! Dokploy deploys a raw compose with `docker compose -p <appName> up -d --remove-orphans`, so
//! a successful deploy leaves one container per service of the compose file (API-NOTES §6).
//! Here each service the compose's domains route to (`serviceName`) gets a loopback app, the
//! same app an application deploy starts ([`super::apps`]), serving the runtime identity from
//! the compose env as it was when the deploy started. The other services (a database, say)
//! are only recorded as running: a schedule can `docker exec` into them, nothing serves HTTP.
//!
//! Simplification: the whole compose env reaches every service. On a real server a variable
//! reaches a container only where the compose file references it (interpolation or
//! `env_file`).
//!
//! `compose.stop` and `compose.start` take only a `composeId`: they act on the **whole**
//! compose (`docker compose -p <appName> stop` / `up -d`), the database included. One
//! container is stopped or started through the docker routes ([`super::containers`]).
//!
//! Each successful deploy recreates every container with a new id (`docker compose up`
//! recreates a container whose configuration changed, and a deploy normally changes the
//! env); `compose.stop`/`compose.start` and the docker routes keep the ids. So an id read
//! before a deploy names no container after it, as on a real server.

use serde_json::{Value, json};

use super::apps;
use super::errors::TrpcError;
use super::state::{ComposeRuntime, Container, Kind, SharedRef, State, str_of};

/// The top-level service names of a compose file, in file order.
///
/// A line-based reader, not a YAML parser: it finds the `services:` key at column 0 and takes
/// the keys indented one level below it, until the next top-level key. `services: {}` has none.
/// Flow-style service maps (`services: {web: …}`) are not read.
pub fn service_names(compose_file: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_services = false;
    let mut child_indent: Option<usize> = None;
    for line in compose_file.lines() {
        let content = line.trim_end();
        let trimmed = content.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = content.len() - trimmed.len();
        if indent == 0 {
            in_services = trimmed
                .strip_prefix("services:")
                .is_some_and(|rest| rest.trim().is_empty() || rest.trim().starts_with('#'));
            child_indent = None;
            continue;
        }
        if !in_services {
            continue;
        }
        let level = *child_indent.get_or_insert(indent);
        if indent != level {
            continue;
        }
        if let Some((key, _)) = trimmed.split_once(':') {
            let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
            if !key.is_empty() && !key.starts_with('-') {
                names.push(key.to_string());
            }
        }
    }
    names
}

/// The compose services a domain routes to (`serviceName`), in domain order, deduplicated.
pub(crate) fn routed_services(st: &State, compose_id: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for row in st.domains_of(Kind::Compose, compose_id) {
        if let Some(name) = str_of(row, "serviceName")
            && !out.iter().any(|n| n == name)
        {
            out.push(name.to_string());
        }
    }
    out
}

/// What a compose deploy job saw when it started: the file it writes to disk, the env it
/// writes to `.env`, and the domains turned into Traefik labels.
pub(crate) struct DeploySnapshot {
    pub compose_file: String,
    pub env: String,
    pub routed: Vec<String>,
}

pub(crate) fn snapshot(st: &State, compose_id: &str) -> Option<DeploySnapshot> {
    let row = &st.composes.get(compose_id)?.row;
    Some(DeploySnapshot {
        compose_file: str_of(row, "composeFile").unwrap_or_default().to_string(),
        env: str_of(row, "env").unwrap_or_default().to_string(),
        routed: routed_services(st, compose_id),
    })
}

/// A successful compose deploy: the file's services run, with the snapshot's env; services
/// no longer in the file are removed (`--remove-orphans`). Call with the lock held.
pub(crate) fn deployed(shared: &SharedRef, st: &mut State, compose_id: &str, snap: DeploySnapshot) {
    let services = service_names(&snap.compose_file);
    let web_services: Vec<String> = services
        .iter()
        .filter(|s| snap.routed.contains(s))
        .cloned()
        .collect();
    st.compose_files_on_disk
        .insert(compose_id.to_string(), snap.compose_file);
    // A web service that stays is recreated behind the same domain: its app keeps its port and
    // takes the new env; a service no longer routed (or gone) stops.
    let keep: Vec<String> = web_services
        .iter()
        .map(|s| apps::app_key(compose_id, s))
        .collect();
    stop_apps_except(st, compose_id, &keep);
    let app_name = st
        .composes
        .get(compose_id)
        .and_then(|c| str_of(&c.row, "appName"))
        .unwrap_or_default()
        .to_string();
    let now = std::time::Instant::now();
    let containers = services
        .iter()
        .map(|service| Container {
            id: st.next_container_id(),
            name: format!("{app_name}-{service}-1"),
            service: service.clone(),
            running: true,
            since: now,
        })
        .collect();
    st.compose_runtime.insert(
        compose_id.to_string(),
        ComposeRuntime {
            containers,
            web_services,
            env: snap.env,
        },
    );
    start_apps(shared, st, compose_id);
}

/// Records the compose file a deploy job writes to disk when it starts (before it runs).
pub(crate) fn file_written(st: &mut State, compose_id: &str, compose_file: &str) {
    st.compose_files_on_disk
        .insert(compose_id.to_string(), compose_file.to_string());
}

/// Starts (or reconfigures) the app of every web service whose container runs.
fn start_apps(shared: &SharedRef, st: &mut State, compose_id: &str) {
    let Some(runtime) = st.compose_runtime.get(compose_id) else {
        return;
    };
    let running = runtime.running_services();
    let starts: Vec<(String, String)> = runtime
        .web_services
        .iter()
        .filter(|s| running.contains(s))
        .map(|s| (apps::app_key(compose_id, s), runtime.env.clone()))
        .collect();
    for (key, env) in starts {
        apps::start_or_reconfigure(shared, st, &key, env);
    }
}

fn stop_apps(st: &mut State, compose_id: &str) {
    stop_apps_except(st, compose_id, &[]);
}

fn stop_apps_except(st: &mut State, compose_id: &str, keep: &[String]) {
    let prefix = format!("{compose_id}/");
    let keys: Vec<String> = st
        .running_apps
        .keys()
        .filter(|k| k.starts_with(&prefix) && !keep.contains(k))
        .cloned()
        .collect();
    for key in keys {
        st.stop_app(&key);
    }
}

/// Whether the compose's `service` has a running container (for `docker exec`).
pub(crate) fn container_running(st: &State, compose_id: &str, service: &str) -> bool {
    st.compose_runtime
        .get(compose_id)
        .is_some_and(|r| r.containers.iter().any(|c| c.service == service && c.running))
}

/// Every container changes state; one already in it keeps its `since`, as docker leaves a
/// running container running (and an exited one exited).
fn set_all_running(runtime: &mut ComposeRuntime, running: bool) {
    let now = std::time::Instant::now();
    for c in runtime.containers.iter_mut().filter(|c| c.running != running) {
        c.running = running;
        c.since = now;
    }
}

fn set_status(st: &mut State, compose_id: &str, status: &str) {
    if let Some(c) = st.composes.get_mut(compose_id) {
        c.row.insert("composeStatus".into(), json!(status));
    }
}

/// `compose.stop {composeId}` → `true`: every service of the compose stops (the database
/// too), `composeStatus` becomes `idle`. A compose never deployed has no project directory:
/// the command fails, Dokploy sets `composeStatus` to `error` and answers 500.
pub(crate) fn stop(st: &mut State, compose_id: &str) -> Result<Value, TrpcError> {
    if !st.composes.contains_key(compose_id) {
        return Err(TrpcError::not_found("Compose not found"));
    }
    let Some(runtime) = st.compose_runtime.get_mut(compose_id) else {
        set_status(st, compose_id, "error");
        return Err(TrpcError::new(
            500,
            "docker compose stop failed: the compose has no project directory (never deployed)",
        ));
    };
    set_all_running(runtime, false);
    stop_apps(st, compose_id);
    set_status(st, compose_id, "idle");
    Ok(json!(true))
}

/// `compose.start {composeId}` → `true`: every service starts again from the last deploy's
/// file and env, `composeStatus` becomes `done`. A compose never deployed fails with 500 and
/// `composeStatus` `idle`.
pub(crate) fn start(shared: &SharedRef, st: &mut State, compose_id: &str) -> Result<Value, TrpcError> {
    if !st.composes.contains_key(compose_id) {
        return Err(TrpcError::not_found("Compose not found"));
    }
    let Some(runtime) = st.compose_runtime.get_mut(compose_id) else {
        set_status(st, compose_id, "idle");
        return Err(TrpcError::new(
            500,
            "docker compose up failed: the compose has no project directory (never deployed)",
        ));
    };
    set_all_running(runtime, true);
    start_apps(shared, st, compose_id);
    set_status(st, compose_id, "done");
    Ok(json!(true))
}

/// `compose.loadServices {composeId, type?}` → the service names of the compose file.
/// `fetch` first writes the file from the database to disk (raw source), `cache` (the
/// default) reads the file already on disk, as the last deploy or fetch left it. No services
/// (or no file on disk yet) is a 404 `Services not found`.
pub(crate) fn load_services(st: &mut State, compose_id: &str, fetch: bool) -> Result<Value, TrpcError> {
    let Some(compose) = st.composes.get(compose_id) else {
        return Err(TrpcError::not_found("Compose not found"));
    };
    if fetch {
        let file = str_of(&compose.row, "composeFile")
            .unwrap_or_default()
            .to_string();
        st.compose_files_on_disk.insert(compose_id.to_string(), file);
    }
    let names = st
        .compose_files_on_disk
        .get(compose_id)
        .map(|f| service_names(f))
        .unwrap_or_default();
    if names.is_empty() {
        return Err(TrpcError::not_found("Services not found"));
    }
    Ok(json!(names))
}

#[cfg(test)]
mod tests {
    use super::service_names;

    #[test]
    fn service_names_are_the_keys_one_level_under_services() {
        let file = "version: '3'\nservices:\n  # the app\n  odoo:\n    image: odoo:17\n    environment:\n      - A=1\n    depends_on:\n      db:\n        condition: service_healthy\n  \"db\":\n    image: postgres:16\n\nvolumes:\n  data: {}\n";
        assert_eq!(service_names(file), ["odoo", "db"]);
        assert!(service_names("services: {}\n").is_empty());
        assert!(service_names("").is_empty());
        assert_eq!(
            service_names("x:\n  services:\n    no: 1\nservices:\n    web:\n        image: a\n"),
            ["web"]
        );
    }
}

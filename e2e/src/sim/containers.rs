//! The docker routes on single containers of a deployed compose:
//! `docker.getContainersByAppNameMatch`, `docker.stopContainer`, `docker.startContainer`.
//!
//! As Dokploy's `services/docker.ts` runs them:
//! - the list runs `docker ps -a --format '…' --filter='label=com.docker.compose.project=<appName>'`
//!   for `appType=docker-compose` and answers `[{containerId, name, state, status}]`, stopped
//!   containers included. Any failure answers `[]`, so an empty list proves nothing. Without
//!   `appType` (or with `stack`) Dokploy greps `docker ps` for the name instead; the simulator
//!   keeps no swarm task containers, so it answers `[]` there.
//! - stop and start run `docker container stop|start <id>`; docker's stderr (an unknown id)
//!   becomes a 500 whose message is that stderr. Stopping a stopped container and starting a
//!   running one succeed. Success answers with no value (200, empty body). Docker accepts a
//!   container's name as well as its id; id prefixes are not simulated.
//!
//! The simulator has no remote servers: a `serverId` is an unknown server (404
//! `Server not found` on stop and start; the list swallows the error and answers `[]`).
//!
//! Stopping a web service's container stops its loopback app (its health stops answering) and
//! a schedule's `docker exec` into it fails; starting it serves again with the env of the last
//! deploy.

use serde_json::{Value, json};

use super::apps;
use super::errors::TrpcError;
use super::state::{Container, SharedRef, State, str_of};

/// `docker.getContainersByAppNameMatch`.
pub(crate) fn list(st: &State, app_name: &str, app_type: Option<&str>, server_id: Option<&str>) -> Value {
    if app_type != Some("docker-compose") || server_id.is_some() {
        return json!([]);
    }
    // The compose project label is the compose's appName.
    let rows: Vec<Value> = st
        .composes
        .iter()
        .filter(|(_, c)| str_of(&c.row, "appName") == Some(app_name))
        .filter_map(|(id, _)| st.compose_runtime.get(id))
        .flat_map(|r| r.containers.iter())
        .map(|c| {
            json!({
                "containerId": c.id,
                "name": c.name,
                "state": if c.running { "running" } else { "exited" },
                "status": status(c),
            })
        })
        .collect();
    Value::Array(rows)
}

/// `docker.stopContainer` (`running = false`) and `docker.startContainer` (`running = true`).
pub(crate) fn set_running(
    shared: &SharedRef,
    st: &mut State,
    container: &str,
    server_id: Option<&str>,
    running: bool,
) -> Result<(), TrpcError> {
    if server_id.is_some() {
        return Err(TrpcError::not_found("Server not found"));
    }
    let Some((compose_id, service)) = find(st, container) else {
        return Err(TrpcError::new(
            500,
            format!("Error response from daemon: No such container: {container}"),
        ));
    };
    let Some(runtime) = st.compose_runtime.get_mut(&compose_id) else {
        return Ok(());
    };
    let env = runtime.env.clone();
    let web = runtime.web_services.contains(&service);
    if let Some(c) = runtime
        .containers
        .iter_mut()
        .find(|c| c.id == container || c.name == container)
        && c.running != running
    {
        c.running = running;
        c.since = std::time::Instant::now();
    }
    if web {
        let key = apps::app_key(&compose_id, &service);
        if running {
            apps::start_or_reconfigure(shared, st, &key, env);
        } else {
            st.stop_app(&key);
        }
    }
    Ok(())
}

/// The compose and service of the container with this id or name.
pub(crate) fn find(st: &State, container: &str) -> Option<(String, String)> {
    st.compose_runtime.iter().find_map(|(compose_id, r)| {
        r.containers
            .iter()
            .find(|c| c.id == container || c.name == container)
            .map(|c| (compose_id.clone(), c.service.clone()))
    })
}

/// Docker's `Status` column: `Up 2 minutes`, `Exited (0) 3 seconds ago`.
fn status(c: &Container) -> String {
    let since = human_duration(c.since.elapsed().as_secs());
    if c.running {
        format!("Up {since}")
    } else {
        format!("Exited (0) {since} ago")
    }
}

/// Docker's `units.HumanDuration`, to the hour.
fn human_duration(secs: u64) -> String {
    match secs {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        2..=59 => format!("{secs} seconds"),
        60..=119 => "About a minute".into(),
        120..=3599 => format!("{} minutes", secs / 60),
        3600..=7199 => "About an hour".into(),
        _ => format!("{} hours", secs / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn durations_read_as_docker_writes_them() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(3), "3 seconds");
        assert_eq!(human_duration(61), "About a minute");
        assert_eq!(human_duration(600), "10 minutes");
        assert_eq!(human_duration(7300), "2 hours");
    }
}

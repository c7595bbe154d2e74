//! Calls on single containers of a compose: list them, stop one, start one. Dokploy runs
//! `docker` on the target's host (the Dokploy host, or the remote server `serverId`).

use crate::errors::Result;
use crate::model::ContainerView;
use crate::ops::Op;
use crate::wire::WireContainer;

use super::{DokployClient, invalid, malformed, parse, require};

/// Dokploy's pattern for `containerId` and `appName` on the docker routes
/// (`^[a-zA-Z0-9.\-_]+$`); checked here so bad input never reaches a shell on the server.
fn check_docker_name(route: &'static str, what: &str, value: &str) -> Result<()> {
    require(route, what, value)?;
    if value
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
    {
        Ok(())
    } else {
        Err(invalid(
            route,
            format!("{what} must be letters, digits, '.', '-' or '_' only"),
        ))
    }
}

fn check_server(route: &'static str, server_id: Option<&str>) -> Result<()> {
    match server_id {
        Some(s) => require(route, "server id (omit it for the Dokploy host)", s),
        None => Ok(()),
    }
}

impl DokployClient {
    /// `docker.getContainersByAppNameMatch {appType: "docker-compose", appName, serverId?}`:
    /// Dokploy runs `docker ps -a --filter label=com.docker.compose.project=<appName>` on the
    /// target's host (`server_id`, or the Dokploy host) and lists every container of the
    /// compose project, stopped ones included.
    ///
    /// An empty list is **not** proof that the compose has no containers: Dokploy answers `[]`
    /// whenever the command fails (docker unreachable, a remote server down). An entry that
    /// lacks its id, name or state fails the whole answer (`Malformed`).
    pub async fn compose_containers(
        &self,
        app_name: &str,
        server_id: Option<&str>,
    ) -> Result<Vec<ContainerView>> {
        let op = Op::ComposeContainers {
            app_name: app_name.to_owned(),
            server_id: server_id.map(str::to_owned),
        };
        check_docker_name(op.route(), "compose appName", app_name)?;
        check_server(op.route(), server_id)?;
        let body = self.call(&op).await?;
        let rows: Vec<WireContainer> = parse(op.route(), &body)?;
        rows.into_iter()
            .enumerate()
            .map(|(i, w)| {
                w.into_model()
                    .map_err(|field| malformed(op.route(), format!("entry {i} lacks `{field}`")))
            })
            .collect()
    }

    /// `docker.stopContainer {containerId, serverId?}`: `docker container stop <id>` (SIGTERM,
    /// then SIGKILL after docker's grace period). Stopping a stopped container succeeds; an
    /// unknown id is a 500 `Server` error carrying docker's `No such container`. Sent once,
    /// never retried: after `Unreachable`, list the containers to learn the state.
    pub async fn stop_container(&self, container_id: &str, server_id: Option<&str>) -> Result<()> {
        let op = Op::StopContainer {
            container_id: container_id.to_owned(),
            server_id: server_id.map(str::to_owned),
        };
        check_docker_name(op.route(), "container id", container_id)?;
        check_server(op.route(), server_id)?;
        // Dokploy answers 200 with no value; the body is not read.
        self.call(&op).await.map(drop)
    }

    /// `docker.startContainer {containerId, serverId?}`: `docker container start <id>`, with
    /// the configuration the container was created with. Starting a running container
    /// succeeds; an unknown id is a 500 `Server` error. Sent once, never retried.
    pub async fn start_container(&self, container_id: &str, server_id: Option<&str>) -> Result<()> {
        let op = Op::StartContainer {
            container_id: container_id.to_owned(),
            server_id: server_id.map(str::to_owned),
        };
        check_docker_name(op.route(), "container id", container_id)?;
        check_server(op.route(), server_id)?;
        self.call(&op).await.map(drop)
    }
}

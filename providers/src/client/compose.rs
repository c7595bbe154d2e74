//! Calls on a compose's runtime: stop, start, and the services of its compose file.

use crate::errors::Result;
use crate::model::ComposeFileSource;
use crate::ops::Op;

use super::{DokployClient, parse, require};

impl DokployClient {
    /// `compose.stop {composeId}`: `docker compose -p <appName> stop` (a stack is removed with
    /// `docker stack rm`). It stops **every** service of the compose, the database included;
    /// Dokploy has no route that stops one service. `composeStatus` becomes `idle`. Sent once.
    pub async fn stop_compose(&self, compose_id: &str) -> Result<()> {
        let op = Op::ComposeStop {
            compose_id: compose_id.to_owned(),
        };
        require(op.route(), "compose id", compose_id)?;
        self.call(&op).await.map(drop)
    }

    /// `compose.start {composeId}`: `docker compose up -d` with the file and `.env` the last
    /// deploy wrote, every service. `composeStatus` becomes `done`. Sent once.
    pub async fn start_compose(&self, compose_id: &str) -> Result<()> {
        let op = Op::ComposeStart {
            compose_id: compose_id.to_owned(),
        };
        require(op.route(), "compose id", compose_id)?;
        self.call(&op).await.map(drop)
    }

    /// `compose.loadServices`: the service names of the compose file, read from `source`.
    pub async fn compose_services(&self, compose_id: &str, source: ComposeFileSource) -> Result<Vec<String>> {
        let op = Op::ComposeLoadServices {
            compose_id: compose_id.to_owned(),
            source,
        };
        require(op.route(), "compose id", compose_id)?;
        let body = self.call(&op).await?;
        parse(op.route(), &body)
    }
}

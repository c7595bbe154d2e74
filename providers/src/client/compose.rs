//! Calls on a compose's runtime: the services of its compose file.

use crate::errors::Result;
use crate::model::ComposeFileSource;
use crate::ops::Op;

use super::{DokployClient, parse, require};

impl DokployClient {
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

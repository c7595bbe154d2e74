//! `launchplane controller`: being written; it refuses to start until it is.

use anyhow::Result;

#[derive(Debug, clap::Args)]
pub struct ControllerArgs {}

pub fn run(_args: ControllerArgs) -> Result<i32> {
    anyhow::bail!("launchplane controller is not built yet")
}

//! `launchplane`: the controller binary and its command-line tools. Started as
//! `kubectl-launchplane` (a copy or a link of this binary of that name), it is the kubectl
//! plugin and takes the plugin's commands directly.

use anyhow::Result;
use clap::Parser;
use launchplane::cli::plugin;

fn main() -> Result<()> {
    let code = if plugin::invoked_as_plugin(std::env::args_os().next().as_deref()) {
        plugin::run(plugin::KubectlCli::parse().args)?
    } else {
        launchplane::cli::run(launchplane::cli::Cli::parse())?
    };
    std::process::exit(code);
}

//! `launchplane`: the controller binary and its command-line tools.

use anyhow::Result;
use clap::Parser;

fn main() -> Result<()> {
    let args = launchplane::cli::Cli::parse();
    let code = launchplane::cli::run(args)?;
    std::process::exit(code);
}

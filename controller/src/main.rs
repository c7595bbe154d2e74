//! `launchplane`: the controller binary and its command-line tools.

use anyhow::Result;
use clap::Parser;

mod cli;

fn main() -> Result<()> {
    let args = cli::Cli::parse();
    std::process::exit(cli::run(args)?);
}

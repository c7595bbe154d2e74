//! Command-line entry points. Each subcommand lives in its own module; `run` only dispatches.

use anyhow::Result;
use clap::{Parser, Subcommand};

pub mod answer;
pub mod artifacts;
mod controller;
mod crds;
pub mod history;
pub mod plugin;
mod reconcile;
pub mod targets;
mod webhooks;

/// Launchplane keeps the operational truth for web products deployed on Dokploy.
#[derive(Debug, Parser)]
#[command(name = "launchplane", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print every CustomResourceDefinition as YAML, or write one file per kind.
    Crds(crds::CrdsArgs),
    /// Run the controllers against a cluster (kubeconfig or in-cluster config).
    Controller(controller::ControllerArgs),
    /// Reconcile a folder of manifests without a cluster and print every verdict.
    Reconcile(reconcile::ReconcileArgs),
    /// Artifact tools for registry-cleanup jobs.
    Artifacts(artifacts::ArtifactsArgs),
    /// What ran in a lane, from when to when, by which DeploymentRecord and Promotion.
    History(history::HistoryArgs),
    /// Receive GitHub pull-request deliveries (Previews) and Dokploy deploy notifications.
    Webhooks(webhooks::WebhooksArgs),
    /// Adopt an existing Dokploy estate: audit what ProviderTargets claim of it, import the rest.
    Targets(targets::TargetsArgs),
    /// The kubectl plugin's commands (what `kubectl launchplane …` runs: this binary installed
    /// as `kubectl-launchplane`).
    Kubectl(plugin::PluginArgs),
}

/// Run a parsed command line and return the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Crds(args) => crds::run(&args),
        Command::Controller(args) => controller::run(args),
        Command::Reconcile(args) => reconcile::run(args),
        Command::Artifacts(args) => artifacts::run(args),
        Command::History(args) => history::run(args),
        Command::Webhooks(args) => webhooks::run(args),
        Command::Targets(args) => targets::run(args),
        Command::Kubectl(args) => plugin::run(args),
    }
}

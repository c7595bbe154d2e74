//! `launchplane artifacts protected`: the artifacts a product still needs, as JSON, for
//! registry-cleanup jobs. Exits 1 when a referenced Artifact manifest is missing (the id is
//! still printed as protected), so a cleanup job can stop instead of guessing.

use anyhow::{Context, Result};
use kube::api::{Api, ListParams};
use kube::{Client, Resource};
use launchplane_api::resources::{Artifact, Lane, Preview};
use launchplane_core::protected::{ProtectedSet, protected};
use serde::de::DeserializeOwned;
use std::fmt::Debug;

#[derive(Debug, clap::Args)]
pub struct ArtifactsArgs {
    #[command(subcommand)]
    pub command: ArtifactsCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ArtifactsCommand {
    /// Print the artifacts referenced by a product's lanes and live previews as JSON.
    Protected(ProtectedArgs),
}

#[derive(Debug, clap::Args)]
pub struct ProtectedArgs {
    /// Namespace of the product's resources.
    #[arg(long, short = 'n')]
    pub namespace: String,
    /// The Product's name.
    #[arg(long)]
    pub product: String,
}

pub fn run(args: ArtifactsArgs) -> Result<i32> {
    match args.command {
        ArtifactsCommand::Protected(args) => {
            launchplane_providers::install_crypto_provider();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let set = runtime.block_on(async {
                let client = Client::try_default()
                    .await
                    .context("no Kubernetes configuration: set KUBECONFIG or run in a cluster")?;
                protected_in_cluster(client, &args.namespace, &args.product).await
            })?;
            println!("{}", serde_json::to_string_pretty(&set)?);
            Ok(report_missing(&set))
        }
    }
}

/// List the namespace's lanes, previews and artifacts and compute the product's set.
pub async fn protected_in_cluster(client: Client, namespace: &str, product: &str) -> Result<ProtectedSet> {
    let lanes: Vec<Lane> = list(&client, namespace).await?;
    let previews: Vec<Preview> = list(&client, namespace).await?;
    let artifacts: Vec<Artifact> = list(&client, namespace).await?;
    Ok(protected(product, namespace, &lanes, &previews, &artifacts))
}

async fn list<K>(client: &Client, namespace: &str) -> Result<Vec<K>>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    // A partial answer would make the set too small, which is the one unsafe mistake here:
    // any failure fails the command.
    Ok(api
        .list(&ListParams::default())
        .await
        .with_context(|| format!("cannot list {} in namespace {namespace}", K::plural(&())))?
        .items)
}

/// Warn on stderr for each missing manifest; the exit code for the set.
pub fn report_missing(set: &ProtectedSet) -> i32 {
    for missing in &set.missing {
        eprintln!(
            "warning: Artifact {}/{} is referenced by {} but has no manifest; it stays protected",
            set.namespace,
            missing.artifact,
            missing.referenced_by.join(", ")
        );
    }
    if set.missing.is_empty() { 0 } else { 1 }
}

//! `launchplane controller`: run the ProviderConfig, ProviderTarget and RuntimeIdentity
//! controllers against a cluster, with `/metrics`, `/healthz` and `/readyz` alongside.

use crate::k8s::run::{RunOptions, Shutdown, run as run_controllers, shutdown_on_signal};
use crate::metrics::Metrics;
use crate::server::{ServerState, serve};
use crate::telemetry::{self, LogFormat};
use anyhow::{Context as _, Result, bail};
use kube::Client;
use kube::api::{Api, ListParams};
use launchplane_api::resources::ProviderConfig;
use std::net::SocketAddr;
use std::sync::Arc;

/// Flags as the Helm chart passes them (charts/launchplane/templates/deployment.yaml).
#[derive(Debug, clap::Args)]
pub struct ControllerArgs {
    /// Address of the /metrics, /healthz and /readyz server.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// Log line format (the filter comes from RUST_LOG).
    #[arg(long, value_enum, default_value_t = LogFormat::Plain)]
    pub log_format: LogFormat,
    /// Only reconcile while holding the Lease (needed for more than one replica).
    #[arg(long)]
    pub leader_election: bool,
    /// Watch only this namespace (default: every namespace).
    #[arg(long)]
    pub watch_namespace: Option<String>,
}

pub fn run(args: ControllerArgs) -> Result<i32> {
    telemetry::init(args.log_format, "info");
    if args.leader_election {
        // Two replicas reconciling at once would double every Dokploy poll and race on
        // status; running as if elected would be worse than not running.
        tracing::error!("--leader-election is not implemented in this build; run one replica without it");
        bail!(
            "--leader-election is not supported yet: run a single replica (replicaCount: 1, \
             leaderElection.enabled: false); the chart's Recreate strategy keeps one controller at a time"
        );
    }
    launchplane_providers::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(controller(args))?;
    Ok(0)
}

async fn controller(args: ControllerArgs) -> Result<()> {
    let client = Client::try_default()
        .await
        .context("no Kubernetes configuration: set KUBECONFIG or run in a cluster")?;
    check_crds(&client, args.watch_namespace.as_deref()).await?;

    let metrics = Arc::new(Metrics::new());
    let state = ServerState::new(metrics.clone());
    let shutdown: Shutdown = shutdown_on_signal();
    let server = tokio::spawn(serve(args.metrics_addr, state.clone(), shutdown.clone()));
    let options = RunOptions {
        watch_namespace: args.watch_namespace,
        instance: std::env::var("POD_NAME").ok(),
    };
    let controllers = run_controllers(client, options, metrics, state.ready.clone(), shutdown);
    futures::pin_mut!(controllers);
    // A server that cannot bind is fatal at once; otherwise both end on the signal.
    tokio::select! {
        served = server => {
            served.context("metrics server task failed")?
                .with_context(|| format!("cannot serve on {}", args.metrics_addr))?;
            bail!("the metrics server stopped before the controllers");
        }
        ran = &mut controllers => ran.context("cannot start the controllers")?,
    }
    Ok(())
}

/// Fail fast, and say what to do, when the CRDs are missing or unreadable.
async fn check_crds(client: &Client, namespace: Option<&str>) -> Result<()> {
    let api: Api<ProviderConfig> = crate::k8s::run::api(client.clone(), namespace);
    api.list(&ListParams::default().limit(1)).await.context(
        "cannot list ProviderConfigs: install the CRDs (kubectl apply -f crds/) and check the \
         controller's RBAC",
    )?;
    Ok(())
}

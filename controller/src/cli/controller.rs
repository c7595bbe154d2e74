//! `launchplane controller`: run the ProviderConfig, ProviderTarget and RuntimeIdentity
//! controllers against a cluster, with `/metrics`, `/healthz` and `/readyz` alongside.

use crate::k8s::context::Shutdown;
use crate::k8s::leader::{Elector, LeaderConfig};
use crate::k8s::run::{RunOptions, run as run_controllers, shutdown_on_signal};
use crate::metrics::Metrics;
use crate::server::{ServerState, serve};
use crate::telemetry::{self, LogFormat};
use anyhow::{Context as _, Result};
use kube::Client;
use kube::api::{Api, ListParams};
use launchplane_api::resources::ProviderConfig;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

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
    /// Verify previews through this base URL (e.g. the ingress controller's in-cluster
    /// address), sending the preview host as `Host`, instead of resolving the public preview
    /// URL (default: the public URL).
    #[arg(long, value_name = "URL", value_parser = probe_via_url)]
    pub preview_probe_via: Option<String>,
    /// This controller instance, as the ownership markers of the Dokploy applications it
    /// creates (previews) or manages (lanes' Manage targets) name it. Give every cluster (or
    /// install) that shares a Dokploy its own id.
    #[arg(long, env = "LAUNCHPLANE_INSTANCE_ID", default_value = crate::engine::preview::DEFAULT_INSTANCE, value_parser = instance_id)]
    pub instance_id: String,
    #[command(flatten)]
    pub feedback: crate::engine::feedback::FeedbackArgs,
}

fn instance_id(value: &str) -> Result<String, String> {
    if launchplane_api::ownership::valid_instance_id(value) {
        Ok(value.to_string())
    } else {
        Err("must be 1-63 characters of lowercase letters, digits and '-', starting and ending with a letter or digit".into())
    }
}

/// An absolute http(s) URL without query or fragment (a path prefix is allowed).
fn probe_via_url(value: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http:// or https:// URL with a host, e.g. http://ingress-nginx-controller.ingress-nginx".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not carry a query or fragment".into());
    }
    Ok(value.trim_end_matches('/').to_string())
}

pub fn run(args: ControllerArgs) -> Result<i32> {
    telemetry::init(args.log_format, "info");
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
        preview_probe_via: args.preview_probe_via,
        instance_id: Some(args.instance_id),
        feedback: args.feedback.settings(),
    };
    let ready = state.ready.clone();
    let controllers = async {
        if !args.leader_election {
            metrics.leader.set(1);
            return run_controllers(client, options, metrics.clone(), ready, shutdown)
                .await
                .context("cannot start the controllers");
        }
        let config = LeaderConfig::from_env(options.watch_namespace.as_deref(), client.default_namespace())?;
        let elector = Elector::new(client.clone(), config).await?;
        // A standby is ready: it is healthy and knows it does not lead. Gating readiness on
        // leadership would keep every standby unready and stall rolling updates.
        ready.store(true, Ordering::Relaxed);
        let led = elector
            .lead(shutdown, |stop| {
                metrics.leader.set(1);
                run_controllers(client, options, metrics.clone(), ready, stop)
            })
            .await;
        metrics.leader.set(0);
        match led? {
            Some(ran) => ran.context("cannot start the controllers"),
            None => Ok(()),
        }
    };
    futures::pin_mut!(controllers, server);
    // A server that cannot bind is fatal at once. Otherwise the server stops on the signal,
    // usually first: the controllers still get to finish (and release the Lease).
    tokio::select! {
        served = &mut server => {
            served.context("metrics server task failed")?
                .with_context(|| format!("cannot serve on {}", args.metrics_addr))?;
            controllers.await?;
        }
        ran = &mut controllers => ran?,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::super::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<Option<String>, clap::Error> {
        let cli = Cli::try_parse_from(["launchplane", "controller"].iter().chain(args))?;
        match cli.command {
            Command::Controller(args) => Ok(args.preview_probe_via),
            _ => unreachable!("parsed the controller subcommand"),
        }
    }

    #[test]
    fn preview_probe_via_is_optional_and_takes_an_http_url() {
        assert_eq!(parse(&[]).unwrap(), None);
        assert_eq!(
            parse(&[
                "--preview-probe-via",
                "http://ingress-nginx-controller.ingress-nginx/"
            ])
            .unwrap(),
            Some("http://ingress-nginx-controller.ingress-nginx".to_string())
        );
        assert_eq!(
            parse(&["--preview-probe-via=https://10.0.0.7:8443"]).unwrap(),
            Some("https://10.0.0.7:8443".to_string())
        );
        for bad in ["ingress.local", "ftp://ingress", "http://ingress/?x=1", ""] {
            assert!(parse(&["--preview-probe-via", bad]).is_err(), "{bad} accepted");
        }
    }
}

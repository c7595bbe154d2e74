//! `launchplane webhooks`: the receiver of GitHub pull-request deliveries and Dokploy deploy
//! notifications (see [`crate::webhooks`] for why it is its own server), and the optional
//! resync of open pull requests through GitHub's REST API.

use crate::k8s::context::Shutdown;
use crate::k8s::run::shutdown_on_signal;
use crate::k8s::secrets::KubeSecrets;
use crate::telemetry::{self, LogFormat};
use crate::webhooks::limit::{Rate, RateLimiter};
use crate::webhooks::metrics::WebhookMetrics;
use crate::webhooks::receiver::{DEFAULT_MAX_BODY, Receiver, SecretKey, router};
use crate::webhooks::replay::{DEFAULT_CAPACITY, DeliveryLog};
use crate::webhooks::store::KubeStore;
use anyhow::{Context as _, Result};
use kube::Client;
use std::net::SocketAddr;
use std::sync::Arc;

/// Flags; the Secrets named are read from `--secret-namespace`.
#[derive(Debug, clap::Args)]
pub struct WebhooksArgs {
    /// Address of the receiver (GitHub and Dokploy call it; /healthz and /metrics too).
    #[arg(long, default_value = "0.0.0.0:8090")]
    pub addr: SocketAddr,
    /// Log line format (the filter comes from RUST_LOG).
    #[arg(long, value_enum, default_value_t = LogFormat::Plain)]
    pub log_format: LogFormat,
    /// Serve only the Products of this namespace (default: every namespace).
    #[arg(long)]
    pub watch_namespace: Option<String>,
    /// The namespace of the receiver's own Secrets (GitHub's webhook secret and token).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub secret_namespace: String,
    /// The Secret holding GitHub's webhook secret.
    #[arg(long, default_value = "launchplane-webhooks")]
    pub github_secret: String,
    /// The key of the webhook secret in `--github-secret`.
    #[arg(long, default_value = "webhook-secret")]
    pub github_secret_key: String,
    /// The largest body taken, in bytes; larger ones are refused with 413.
    #[arg(long, default_value_t = DEFAULT_MAX_BODY, value_parser = clap::value_parser!(usize))]
    pub max_body_bytes: usize,
    /// Requests per second taken from one source address (burst: `--rate-burst`); more are
    /// refused with 429.
    #[arg(long, default_value_t = Rate::default().per_second)]
    pub rate_per_second: f64,
    #[arg(long, default_value_t = Rate::default().burst)]
    pub rate_burst: f64,
    /// How many delivery ids are remembered to refuse replays.
    #[arg(long, default_value_t = DEFAULT_CAPACITY)]
    pub replay_memory: usize,
    #[command(flatten)]
    pub resync: crate::webhooks::resync::ResyncArgs,
}

pub fn run(args: WebhooksArgs) -> Result<i32> {
    telemetry::init(args.log_format, "info");
    launchplane_providers::install_crypto_provider();
    if !(args.rate_per_second > 0.0 && args.rate_burst >= 1.0) {
        anyhow::bail!("--rate-per-second must be above 0 and --rate-burst at least 1");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))?;
    Ok(0)
}

async fn serve(args: WebhooksArgs) -> Result<()> {
    let client = Client::try_default()
        .await
        .context("no Kubernetes configuration: set KUBECONFIG or run in a cluster")?;
    let metrics = Arc::new(WebhookMetrics::new());
    let store = Arc::new(KubeStore::new(client.clone(), args.watch_namespace.clone()));
    let secrets = Arc::new(KubeSecrets::new(client));
    let receiver = Arc::new(Receiver {
        store: store.clone(),
        secrets: secrets.clone(),
        webhook_secret: SecretKey {
            namespace: args.secret_namespace.clone(),
            name: args.github_secret.clone(),
            key: args.github_secret_key.clone(),
        },
        deliveries: DeliveryLog::new(args.replay_memory),
        limiter: RateLimiter::new(Rate {
            per_second: args.rate_per_second,
            burst: args.rate_burst,
        }),
        metrics: metrics.clone(),
        max_body: args.max_body_bytes,
    });
    let shutdown: Shutdown = shutdown_on_signal();
    let resync = crate::webhooks::resync::run(
        &args.resync,
        &args.secret_namespace,
        store,
        secrets,
        metrics,
        shutdown.clone(),
    );
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot serve on {}", args.addr))?;
    tracing::info!(addr = %args.addr, "receiving GitHub deliveries at /github and Dokploy notifications at /dokploy/{{namespace}}/{{name}}");
    let server = axum::serve(
        listener,
        router(receiver).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown);
    let (served, _) = tokio::join!(server, resync);
    served.context("the receiver stopped")?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<super::WebhooksArgs, clap::Error> {
        let cli = Cli::try_parse_from(["launchplane", "webhooks"].iter().chain(args))?;
        match cli.command {
            Command::Webhooks(args) => Ok(args),
            _ => unreachable!("parsed the webhooks subcommand"),
        }
    }

    #[test]
    fn the_resync_is_off_by_default_and_bounded() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.resync.resync_interval, None);
        assert_eq!(args.resync.github_api_url, "https://api.github.com");
        assert_eq!(args.github_secret_key, "webhook-secret");
        assert_eq!(
            parse(&["--resync-interval", "600"])
                .unwrap()
                .resync
                .resync_interval,
            Some(600)
        );
        for bad in ["0", "59", "86401", "soon"] {
            assert!(parse(&["--resync-interval", bad]).is_err(), "{bad} accepted");
        }
    }
}

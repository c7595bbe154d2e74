//! `dokploy-sim`: the Dokploy simulator as a process, for scripts and manual poking.
//!
//! ```text
//! cargo run -p launchplane-e2e --bin dokploy-sim -- --port 3000 --ingress-port 3080 \
//!     --api-key KEY [--seed FILE.json] [--port-file PATH]
//! ```

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use launchplane_e2e::{DokploySim, SeedDocument, SimConfig};

#[derive(Parser, Debug)]
#[command(name = "dokploy-sim", about = "A Dokploy v0.30.2 API simulator on 127.0.0.1")]
struct Args {
    /// Port for the Dokploy API (0 = any free port).
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Port for the ingress that routes by Host header to deployed apps (0 = any).
    #[arg(long, default_value_t = 3080)]
    ingress_port: u16,
    /// The one valid x-api-key.
    #[arg(long, env = "DOKPLOY_SIM_API_KEY", default_value = "sim-api-key")]
    api_key: String,
    /// A seed document (JSON) to load at start.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Write the bound ports here as KEY=VALUE lines (sourceable by a shell).
    #[arg(long)]
    port_file: Option<PathBuf>,
    /// How long a deployment stays "running", in milliseconds.
    #[arg(long, default_value_t = 200)]
    deploy_duration_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let sim = DokploySim::start(SimConfig {
        api_key: args.api_key.clone(),
        api_port: args.port,
        ingress_port: args.ingress_port,
        deploy_duration: Duration::from_millis(args.deploy_duration_ms),
    })
    .await
    .context("starting the simulator")?;

    if let Some(path) = &args.seed {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let doc: SeedDocument =
            serde_json::from_str(&text).with_context(|| format!("parsing seed {}", path.display()))?;
        let ids = sim.seed(&doc);
        println!("seeded: {ids}");
    }

    println!("dokploy-sim {} API      {}/api/", sim.version(), sim.base_url());
    println!("dokploy-sim ingress     {}", sim.ingress_url());
    println!("dokploy-sim admin       {}/__sim/", sim.base_url());

    if let Some(path) = &args.port_file {
        let content = format!(
            "DOKPLOY_SIM_API_PORT={}\nDOKPLOY_SIM_INGRESS_PORT={}\nDOKPLOY_SIM_URL={}\nDOKPLOY_SIM_INGRESS_URL={}\n",
            sim.api_port(),
            sim.ingress_port(),
            sim.base_url(),
            sim.ingress_url()
        );
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, content).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    }

    wait_for_signal().await;
    println!("dokploy-sim: shutting down");
    sim.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

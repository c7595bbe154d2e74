//! The Launchplane controller: reconcilers, the shared provider poller, the health and
//! identity prober, the kube-runtime wiring, the HTTP server, the CLI and standalone mode.
//!
//! ```text
//!  manifests ──► kube watch / folder ──► reconcile (pure core in launchplane-api) ──► status
//!                                             ▲                    ▲
//!                        poller (one per ProviderConfig)     prober (shared client)
//!                                             ▲                    ▲
//!                                          Dokploy            app endpoints
//! ```

pub mod cli;
pub mod engine;
pub mod error_policy;
pub mod k8s;
pub mod metrics;
pub mod observe;
pub mod server;
pub mod standalone;
pub mod telemetry;

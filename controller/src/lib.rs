//! The Launchplane controller: the reconcile engine both shells run ([`engine`]), the cluster
//! shell ([`k8s`]) and the standalone shell ([`standalone`]), the shared provider poller and the
//! health and identity prober ([`observe`]), the HTTP server, the CLI. The decisions themselves
//! are the pure `launchplane-core` crate's; docs/architecture.md draws how it fits together.
//!
//! ```text
//!  kube watches / a folder ──► Caches ──► engine::kinds (decide: launchplane-core) ──► status
//!                                              ▲                      ▲
//!                          poller (one per ProviderConfig)      prober (shared client)
//!                                              ▲                      ▲
//!                                           Dokploy              app endpoints
//! ```

pub mod cli;
pub mod engine;
pub mod error_policy;
pub mod github;
pub mod k8s;
pub mod metrics;
pub mod notify;
pub mod observe;
pub mod server;
pub mod standalone;
pub mod telemetry;
pub mod webhooks;

//! Performing a lane's steps: the thin shell around [`launchplane_core::lane::plan`].
//!
//! - [`executor`]: one provider or probe action through `Arc<dyn Provider>` and the
//!   [`Prober`](crate::observe::prober::Prober); no kube types.
//! - [`store`]: where DeploymentRecords live ([`RecordStore`](store::RecordStore)): files in the
//!   state folder in standalone mode, the Kubernetes API in the cluster.
//! - [`driver`]: observe → plan → perform one step → repeat, bounded; the same loop in both
//!   modes.

pub mod driver;
pub mod executor;
pub mod store;

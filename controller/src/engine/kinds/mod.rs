//! Each kind's reconcile, written once and run by both shells: gather the inputs from the
//! [`World`](super::World), let the pure core decide, perform at most what it decided, and
//! [`commit`](super::commit) the status.

pub mod approval;
pub mod artifact;
pub mod backup_gate;
pub mod data_bootstrap;
pub mod deployment_record;
pub mod lane;
pub mod notification_policy;
pub mod preview;
pub mod product;
pub mod promotion;
pub mod provider_config;
pub mod provider_target;
pub mod runtime_identity;

//! The Kubernetes shell: kube-runtime controllers around the pure reconcile core.

pub mod common;
pub mod context;
pub mod error;
pub mod events;
pub mod leader;
pub mod permissions;
pub mod provider_config;
pub mod provider_target;
pub mod registry;
pub mod run;
pub mod runtime_identity;
pub mod status;

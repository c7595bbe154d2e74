//! The Kubernetes shell: kube-runtime controllers around the pure reconcile core.

pub mod artifact;
pub mod cache;
pub mod common;
pub mod context;
pub mod deployment_record;
pub mod error;
pub mod events;
pub mod lane;
pub mod leader;
pub mod permissions;
pub mod preview;
pub mod product;
pub mod provider_config;
pub mod provider_target;
pub mod records;
pub mod registry;
pub mod run;
pub mod runtime_identity;
pub mod status;

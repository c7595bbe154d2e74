//! The Kubernetes shell: kube-runtime controllers around the pure reconcile core.

pub mod events;
pub mod status;

//! Standalone mode: the same reconcilers over a folder of manifests, with status kept in a
//! local state folder instead of the Kubernetes API.

pub mod engine;
pub mod inputs;
pub mod manifests;
pub mod report;
pub mod state;

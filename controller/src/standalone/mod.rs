//! Standalone mode: the same reconcilers over a folder of manifests, with status kept in a
//! local state folder instead of the Kubernetes API.

pub mod accepted;
pub mod engine;
pub mod inputs;
pub mod manifests;
pub mod references;
pub mod report;
pub mod state;

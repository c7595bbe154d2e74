//! Standalone mode: the engine's reconciles over a folder of manifests, with status kept in a
//! local state folder instead of the Kubernetes API.
//!
//! - [`manifests`], [`inputs`], [`references`], [`accepted`]: the folder, checked as the API
//!   server would take it, references resolved, at load (exit 2 on bad input).
//! - [`engine`]: one round: the engine's kinds in order, one row each ([`report`]).
//! - [`secrets`], [`store`], [`records`], [`state`]: the engine's read and write sides on the
//!   folder and the state folder.

pub mod accepted;
pub mod engine;
pub mod inputs;
pub mod manifests;
pub mod records;
pub mod references;
pub mod report;
pub mod secrets;
pub mod state;
pub mod store;

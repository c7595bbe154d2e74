//! Launchplane's API: the custom resource types of group `launchplane.dev`, the condition
//! vocabulary, the runtime-identity contract and the pure compare/classify functions.
//!
//! This crate does no I/O. Reconcilers (in the `launchplane` binary) fetch observations, hand
//! them to the pure functions here, and write back what those return.

pub mod conditions;
pub mod crd;
pub mod identity;
pub mod ownership;
pub mod resources;
pub mod validation;
pub mod verdict;
pub mod verify;

pub use verdict::{FieldMismatch, Verdict};

/// The API group of every Launchplane kind.
pub const GROUP: &str = "launchplane.dev";
/// The served and stored version of every Launchplane kind.
pub const VERSION: &str = "v1alpha1";
/// The category that makes `kubectl get launchplane` list every kind.
pub const CATEGORY: &str = "launchplane";

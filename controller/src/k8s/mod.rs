//! The cluster shell: the engine's reconciles under kube-runtime controllers.
//!
//! - [`run`]: the wiring: one watch and cache per kind, one controller per kind, the wakes.
//! - [`controller`]: the one generic controller runner and its tail (error policy, metrics).
//! - [`context`]: what every reconcile shares ([`context::Context`]: the engine's World, the
//!   store, metrics, wakes).
//! - [`secrets`], [`store`], [`records`], [`status`], [`events`]: the engine's read and write
//!   sides on the API server.
//! - [`leader`], [`permissions`]: leader election and the RBAC the controller needs.

pub mod context;
pub mod controller;
pub mod events;
pub mod leader;
pub mod permissions;
pub mod records;
pub mod run;
pub mod secrets;
pub mod status;
pub mod store;

//! The custom resource types of group `launchplane.dev`, version `v1alpha1`.
//!
//! ```text
//! ProviderConfig ◄── ProviderTarget ◄── Lane ──► Artifact ◄── Preview
//!   (Dokploy)          (one app/compose)  │  ▲                  │
//!                                         │  └── Promotion ◄── Approval (a person's yes)
//!                     Product ◄───────────┴──────────────────────┘
//!                                         │
//!          DeploymentRecord (one attempt) ┘   BackupGate (evidence for a lane)
//!          RuntimeIdentity (expected identity + where to probe it)
//!          DataBootstrap (one destructive data load of a lane; its own provenance, not a deploy)
//!          Incident (a lane, preview or check that stayed wrong; written by the controller)
//! ```
//!
//! One module per kind; [`common`] holds references, the expected-identity fields and the
//! string formats. Every kind is namespaced, has a status subresource whose status carries
//! `observedGeneration`, `verdict` and `conditions`, a short name, the `launchplane` category
//! and printer columns ending in Verdict and Age. Records (DeploymentRecord, Promotion,
//! BackupGate, Approval, DataBootstrap) have an immutable spec, enforced by the API server.

// kube's `#[kube(printcolumn(...))]` repeats keys such as `type_` across columns, which
// clippy mistakes for duplicated attributes.
#![allow(clippy::duplicated_attributes)]

pub mod approval;
pub mod artifact;
pub mod backup_gate;
pub mod common;
pub mod data_bootstrap;
pub mod deployment_record;
pub mod env;
pub mod incident;
pub mod lane;
pub mod notification_policy;
pub mod odoo;
pub mod preview;
pub mod product;
pub mod promotion;
pub mod provider_config;
pub mod provider_target;
pub mod runtime_identity;
pub mod verification;

pub use approval::*;
pub use artifact::*;
pub use backup_gate::*;
pub use common::*;
pub use data_bootstrap::*;
pub use deployment_record::*;
pub use env::*;
pub use incident::*;
pub use lane::*;
pub use notification_policy::*;
pub use odoo::*;
pub use preview::*;
pub use product::*;
pub use promotion::*;
pub use provider_config::*;
pub use provider_target::*;
pub use runtime_identity::*;
pub use verification::*;

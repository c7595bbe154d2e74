//! The Launchplane reconcile core: for every kind, spec + observation + history + clock →
//! the status to write and at most one step to take.
//!
//! Nothing here does I/O, and Cargo holds it to that: this crate depends on neither
//! kube-runtime, nor an HTTP client, nor tokio (the provider crate is taken without its
//! Dokploy client). The kube controllers and standalone mode gather the inputs (the poller's
//! snapshot, a probe result, the other objects' claims), call these functions, and perform
//! and write what they return; so both modes give the same verdict for the same facts, and
//! every rule is unit-tested without a cluster or a network.
//!
//! - Shared model: [`target`] (what a step acts on and what was read of it), [`probe`] (what a
//!   probe asked and saw), [`health`], [`observation`] (a ProviderConfig's poll as data).
//! - One module per kind: [`provider_config`], [`provider_target`], [`runtime_identity`],
//!   [`lane`] (with [`deployment_record`], the phase machine of one deploy attempt),
//!   [`preview`], [`product`], [`artifact`], [`protected`] (what registry cleanup keeps), and
//!   [`history`] (what ran in a lane, from when to when).
//! - Promotions: [`promotion`] (which artifact a lane is fed, the gates, the queue, automatic
//!   promotion), with the evidence kinds [`backup_gate`] and [`approval`]; [`ready`] writes
//!   the conditions of kinds reported through `Ready` alone.
//! - [`pull_request`]: what a GitHub pull-request event (or a resync's listing) does to the
//!   Previews of a Product (`launchplane webhooks`).
//! - [`bootstrap`]: a DataBootstrap's admission, phase machine and what its outcome does to
//!   its lane (its own provenance, never a deploy's).
//! - [`verification`]: a lane's base URL and where it came from, and the driver's checks
//!   (Odoo: health, canonical URL, logo, runtime identity), classified from what they answered.
//! - [`incident`]: when a lane, preview or check that stays wrong opens an Incident, and
//!   when it resolves; [`notification`]: which destinations hear of it, what is due for each
//!   (send, retry, remind, give up), and a NotificationPolicy's status.
//! - Adopting an existing Dokploy estate: [`adoption`] (what ProviderTargets claim of what
//!   Dokploy lists, and which ones an import creates).

pub mod action;
pub mod adoption;
pub mod approval;
pub mod artifact;
pub mod backup_capture;
pub mod backup_gate;
pub mod bootstrap;
pub mod deployment_record;
pub mod health;
pub mod history;
pub mod incident;
pub mod lane;
pub mod notification;
pub mod observation;
pub mod preview;
pub mod probe;
pub mod product;
pub mod promotion;
pub mod protected;
pub mod provider_config;
pub mod provider_target;
pub mod pull_request;
pub mod pull_request_feedback;
pub mod ready;
pub mod redact;
pub mod runtime_identity;
pub mod schedule;
pub mod target;
pub mod verification;

use launchplane_api::conditions::Transition;

/// A status to write, and the condition transitions worth an Event.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome<S> {
    pub status: S,
    pub transitions: Vec<Transition>,
}

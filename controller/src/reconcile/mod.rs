//! The pure reconcile core: spec + observation + old status + clock → new status.
//!
//! Nothing here does I/O. The kube controllers and standalone mode gather the inputs (the
//! poller's snapshot, a probe result, the other ProviderTargets' claims), call these
//! functions, and write what they return; so both modes give the same verdict for the same
//! facts, and every rule is unit-tested without a cluster or a network.

pub mod artifact;
pub mod deployment_record;
pub mod lane;
pub mod preview;
pub mod product;
pub mod protected;
pub mod provider_config;
pub mod provider_target;
pub mod runtime_identity;

use launchplane_api::conditions::Transition;

/// A status to write, and the condition transitions worth an Event.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome<S> {
    pub status: S,
    pub transitions: Vec<Transition>,
}

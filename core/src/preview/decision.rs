//! What a stage of the preview planner decided ([`Decision`]), and where that leaves the preview
//! ([`Pace`]): the types the stages (`resolve`, `generation`) hand to `plan`.

use super::Fresh;
use super::step::PreviewStep;
use std::time::Duration;

/// Where the plan leaves the preview, and so how the shell goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pace {
    /// Ready (and verified now) or Failed: nothing more until the resync.
    Settled,
    /// A step is planned: perform it and plan again (or, past the drive's limits, soon).
    Working(String),
    /// Deploying or waiting for the URL: look again after the poll delay.
    Waiting(String),
    /// The application was confirmed deleted outside Launchplane: the generation is requested
    /// again; the next reconcile creates a new application and deploys it.
    Recovering(String),
    /// Could not be verified (Dokploy or the URL did not answer usefully): retried soon; the
    /// recorded application is kept.
    Unverifiable(String),
    /// A setup problem outside the spec (environment, name conflict, Dokploy refusing the
    /// application or domain): the generation stays requested and is retried on the resync.
    Stalled { reason: String, message: String },
    /// Stopped before anything was read (a missing reference, previews off, no Dokploy client):
    /// looked at again after `retry`, or [`BLOCKED_RECHECK`].
    Blocked {
        reason: String,
        message: String,
        retry: Option<Duration>,
    },
    /// The Artifact the spec names does not exist yet: CI creates it after pushing the image
    /// (a Preview made from a pull-request event names it before it is built). Nothing is
    /// read or deployed; looked at again after [`ARTIFACT_RECHECK`](super::plan::ARTIFACT_RECHECK)
    /// (in the cluster, sooner: the Artifact's creation wakes the Preview).
    AwaitingArtifact(String),
    /// A read or a step failed in a way worth retrying soon.
    ProviderError(String),
    /// The ttl has passed: the shell deletes the Preview (its teardown follows).
    Expired(String),
}

/// What one stage decided, before the conditions.
pub(super) struct Decision {
    pub(super) pace: Pace,
    pub(super) step: Option<PreviewStep>,
    pub(super) fresh: Fresh,
}

impl Decision {
    pub(super) fn new(pace: Pace, fresh: Fresh) -> Self {
        Decision {
            pace,
            step: None,
            fresh,
        }
    }

    pub(super) fn step(step: PreviewStep, message: String, fresh: Fresh) -> Self {
        Decision {
            pace: Pace::Working(message),
            step: Some(step),
            fresh,
        }
    }

    pub(super) fn stall(reason: &str, message: String, fresh: Fresh) -> Self {
        Decision::new(
            Pace::Stalled {
                reason: reason.into(),
                message,
            },
            fresh,
        )
    }
}

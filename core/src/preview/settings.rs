//! Timings and reachability of previews.

use std::time::Duration;

/// The instance id of a controller started without `--instance-id`.
pub const DEFAULT_INSTANCE: &str = "launchplane";

/// Timings and reachability of previews.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewSettings {
    /// Pause between looks at a running deploy or a probe that does not match yet.
    pub poll_delay: Duration,
    /// How long after its deploy was sent (or, before that, after it was requested) a
    /// generation's deploy may take to finish.
    pub deploy_timeout: Duration,
    /// How long a deploy recorded as sent may stay invisible (no deployment with the
    /// generation's title) before it is sent again, once, and only when Dokploy shows nothing
    /// under way for the application ([`crate::deployment_record::SentDeploy`]). Well under
    /// `deploy_timeout`.
    pub resend_after: Duration,
    /// How long after the deploy finished (as Dokploy reports it) the URL may take to serve the
    /// new generation.
    pub verify_timeout: Duration,
    /// Wall-clock budget of one reconcile; the rest continues on the next one.
    pub deadline: Duration,
    /// Probe preview hosts through this base URL (e.g. the ingress controller's in-cluster
    /// address, or the simulator's ingress), sending the preview host as `Host`, instead of
    /// resolving the public preview URL. `None`: probe the public URL.
    pub probe_via: Option<String>,
    /// Re-check a settled preview this often.
    pub resync: Duration,
    /// This controller instance, as its ownership markers name it (`--instance-id` in the
    /// cluster, the state folder's id in standalone mode).
    pub instance: String,
}

impl Default for PreviewSettings {
    fn default() -> Self {
        PreviewSettings {
            poll_delay: Duration::from_secs(2),
            deploy_timeout: Duration::from_secs(900),
            resend_after: Duration::from_secs(60),
            verify_timeout: Duration::from_secs(120),
            deadline: Duration::from_secs(60),
            probe_via: None,
            resync: Duration::from_secs(300),
            instance: DEFAULT_INSTANCE.into(),
        }
    }
}

/// How soon a preview that could not be verified (or whose provider failed) is looked at again.
pub const UNVERIFIABLE_RETRY: Duration = Duration::from_secs(30);

/// How soon a preview without a Dokploy client is looked at again.
pub const PROVIDER_RETRY: Duration = Duration::from_secs(30);

/// How soon an expired preview is looked at again (its deletion is under way).
pub const EXPIRED_RETRY: Duration = Duration::from_secs(5);

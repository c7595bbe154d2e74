//! What a reconcile reads: the objects (one cache per kind), the Secrets and ConfigMaps its
//! spec references, the Dokploy clients and their shared observation, the prober, and the
//! settings and identity of this controller. The same [`World`] type serves both shells; only
//! where Secrets and ConfigMaps come from ([`Secrets`]) differs.

use super::caches::Caches;
use super::driver::DriveLimits;
use super::providers::Registry;
use super::secrets::Secrets;
use crate::error_policy::{BackoffPolicy, FailureCounts};
use crate::metrics::Metrics;
use crate::observe::prober::Prober;
use jiff::Timestamp;
use launchplane_api::conditions::Clock;
use launchplane_core::deployment_record::DeploySettings;
use launchplane_core::preview::PreviewSettings;
use launchplane_providers::Deadline;
use std::sync::Arc;
use std::time::Duration;

/// Everything a reconcile reads, shared by every reconcile of a shell.
pub struct World {
    pub caches: Caches,
    pub secrets: Arc<dyn Secrets>,
    pub providers: Registry,
    pub prober: Prober,
    /// This controller instance, as its ownership markers name it (`--instance-id` in the
    /// cluster, the state folder's id in standalone mode).
    pub instance: String,
    pub clock: Arc<dyn Clock>,
    /// Probe and call counts (served at `/metrics` by the cluster; standalone keeps them unread).
    pub metrics: Arc<Metrics>,
    /// Failure counts per object, for retries with backoff (and the poll schedule).
    pub failures: FailureCounts,
    pub backoff: BackoffPolicy,
    /// Deploy timings of lanes.
    pub deploy: DeploySettings,
    /// How far one lane reconcile goes: one step in the cluster (each persisted step is seen
    /// before the next is planned), to completion within the round in standalone mode.
    pub drive: DriveLimits,
    /// How many steps one Preview reconcile may take: one generation's in the cluster
    /// ([`crate::engine::preview::CLUSTER_PREVIEW_STEPS`]), to completion within the round in
    /// standalone mode. The waits end by the preview deadline (and the round's).
    pub preview_steps: usize,
    /// Timings and reachability of previews; `None` when previews are not reconciled
    /// (standalone mode without `--previews`: they create and delete Dokploy applications).
    pub previews: Option<PreviewSettings>,
    /// The deadline of standalone mode's round, which every Dokploy client shares; the waits
    /// of lanes and previews end by it too. `None` in the cluster.
    pub round: Option<Deadline>,
    /// Builds the destinations of NotificationPolicies; `None`: nothing is notified
    /// (standalone mode without `--notify`).
    pub notify: Option<std::sync::Arc<dyn crate::notify::destination::DestinationFactory>>,
    /// Where pull-request feedback (the preview's comment and GitHub deployment) is posted;
    /// `None`: none is.
    pub feedback: Option<crate::engine::feedback::FeedbackSettings>,
}

/// No lane or preview step starts in the round's last seconds. A deploy step records its phase
/// (Deploying) and then sends the deploy; were the deadline to pass in between, the deploy
/// would not be sent and the next run would wait for one that never comes.
pub const STEP_MARGIN: Duration = Duration::from_secs(2);

impl World {
    /// Now, whole seconds: Kubernetes stores times to the second, so a sub-second "now" would
    /// make every freshly computed status differ from the stored one and defeat the
    /// skip-unchanged-status check. Standalone mode keeps the same precision, so both shells
    /// write the same status for the same facts.
    pub fn now(&self) -> Timestamp {
        whole_seconds(self.clock.now())
    }

    /// How long a lane's or preview's waits may run: `budget`, cut to what is left of the
    /// round less [`STEP_MARGIN`] (zero once that passed).
    pub fn wait_budget(&self, budget: Duration) -> Duration {
        match self.round.as_ref().and_then(Deadline::remaining) {
            Some(left) => budget.min(left.saturating_sub(STEP_MARGIN)),
            None => budget,
        }
    }
}

/// `now` cut to the second.
pub fn whole_seconds(now: Timestamp) -> Timestamp {
    Timestamp::from_second(now.as_second()).unwrap_or(now)
}

/// A [`Clock`] that answers in whole seconds (see [`World::now`]).
pub struct WholeSeconds<'a>(pub &'a dyn Clock);

impl Clock for WholeSeconds<'_> {
    fn now(&self) -> Timestamp {
        whole_seconds(self.0.now())
    }
}

//! What every reconcile shares: the client, the Event recorder, metrics, the observation
//! registry, the prober, the stores of the other kinds, and the retry bookkeeping.

use super::cache::Cache;
use super::registry::Registry;
use crate::error_policy::{BackoffPolicy, FailureCounts};
use crate::metrics::Metrics;
use crate::observe::prober::Prober;
use futures::channel::mpsc::UnboundedSender;
use jiff::Timestamp;
use kube::Client;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use launchplane_api::conditions::Clock;
use launchplane_api::resources::{ProviderConfig, ProviderTarget};
use std::sync::Arc;

/// The reporting controller name on Events.
pub const REPORTER: &str = "launchplane-controller";

pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub registry: Arc<Registry>,
    pub prober: Prober,
    /// Every ProviderConfig (the ProviderConfig controller's own reflector).
    pub configs: Cache<ProviderConfig>,
    /// Every ProviderTarget, status included: claims and tracked ids come from here.
    pub targets: Cache<ProviderTarget>,
    /// Asks the ProviderTarget controller to re-verify a target (after its config's poll).
    pub target_trigger: UnboundedSender<ObjectRef<ProviderTarget>>,
    pub failures: FailureCounts,
    pub backoff: BackoffPolicy,
    pub clock: Arc<dyn Clock>,
    /// The stores and triggers of the Lane, Artifact and DeploymentRecord controllers.
    pub lanes: super::lane::LaneStores,
    /// This controller instance, as the ownership markers it writes in Dokploy name it
    /// (`--instance-id`). The one copy every controller of this process reads.
    pub instance_id: String,
}

impl Context {
    /// `instance` names this replica on Events (the pod name in the chart).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: Client,
        instance: Option<String>,
        metrics: Arc<Metrics>,
        prober: Prober,
        configs: Cache<ProviderConfig>,
        targets: Cache<ProviderTarget>,
        target_trigger: UnboundedSender<ObjectRef<ProviderTarget>>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let reporter = Reporter {
            controller: REPORTER.into(),
            instance,
        };
        Context {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            metrics,
            registry: Arc::new(Registry::default()),
            prober,
            configs,
            targets,
            target_trigger,
            failures: FailureCounts::default(),
            backoff: BackoffPolicy::default(),
            clock,
            lanes: super::lane::LaneStores::default(),
            instance_id: crate::preview::DEFAULT_INSTANCE.into(),
        }
    }

    /// With this controller instance's id (see [`Context::instance_id`]).
    pub fn with_instance_id(mut self, instance_id: impl Into<String>) -> Self {
        self.instance_id = instance_id.into();
        self
    }

    /// With the lane controllers' stores (see `k8s::lane::wiring`).
    pub fn with_lanes(mut self, lanes: super::lane::LaneStores) -> Self {
        self.lanes = lanes;
        self
    }

    /// Now, whole seconds: Kubernetes stores times to the second, so a sub-second "now" would
    /// make every freshly computed status differ from the stored one and defeat the
    /// skip-unchanged-status check.
    pub fn now(&self) -> Timestamp {
        let now = self.clock.now();
        Timestamp::from_second(now.as_second()).unwrap_or(now)
    }
}

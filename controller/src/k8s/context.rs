//! What every cluster reconcile shares: the engine's [`World`] (caches, Secrets through the API
//! server, Dokploy clients, prober), the cluster's [`KubeStore`], metrics, and where wakes go.

use super::secrets::KubeSecrets;
use super::store::KubeStore;
use crate::engine::driver::DriveLimits;
use crate::engine::preview::{CLUSTER_PREVIEW_STEPS, PreviewSettings};
use crate::engine::providers::{ClientSettings, Registry};
use crate::engine::{Caches, Wake, World};
use crate::error_policy::{BackoffPolicy, FailureCounts};
use crate::metrics::{Metrics, MetricsObserver};
use crate::observe::prober::Prober;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use futures::future::{BoxFuture, Shared};
use kube::Client;
use kube::runtime::events::Reporter;
use kube::runtime::reflector::ObjectRef;
use launchplane_api::conditions::Clock;
use launchplane_api::resources::{Artifact, BackupGate, Lane, Preview, Product, Promotion, ProviderTarget};
use launchplane_core::deployment_record::DeploySettings;
use std::sync::Arc;
use std::time::Duration;

/// The reporting controller name on Events.
pub const REPORTER: &str = "launchplane-controller";

/// A shutdown signal every controller can wait on.
pub type Shutdown = Shared<BoxFuture<'static, ()>>;

/// Where a reconcile's wakes go: the controller of the woken kind looks at the object now.
#[derive(Clone)]
pub struct Wakes {
    pub targets: UnboundedSender<ObjectRef<ProviderTarget>>,
    pub lanes: UnboundedSender<ObjectRef<Lane>>,
    pub artifacts: UnboundedSender<ObjectRef<Artifact>>,
    pub products: UnboundedSender<ObjectRef<Product>>,
    pub promotions: UnboundedSender<ObjectRef<Promotion>>,
    pub backup_gates: UnboundedSender<ObjectRef<BackupGate>>,
    pub previews: UnboundedSender<ObjectRef<Preview>>,
}

/// The receiving ends of [`Wakes`], one per controller that can be woken.
pub struct Woken {
    pub targets: UnboundedReceiver<ObjectRef<ProviderTarget>>,
    pub lanes: UnboundedReceiver<ObjectRef<Lane>>,
    pub artifacts: UnboundedReceiver<ObjectRef<Artifact>>,
    pub products: UnboundedReceiver<ObjectRef<Product>>,
    pub promotions: UnboundedReceiver<ObjectRef<Promotion>>,
    pub backup_gates: UnboundedReceiver<ObjectRef<BackupGate>>,
    pub previews: UnboundedReceiver<ObjectRef<Preview>>,
}

/// Wake channels.
pub fn wakes() -> (Wakes, Woken) {
    let (targets, targets_rx) = unbounded();
    let (lanes, lanes_rx) = unbounded();
    let (artifacts, artifacts_rx) = unbounded();
    let (products, products_rx) = unbounded();
    let (promotions, promotions_rx) = unbounded();
    let (backup_gates, backup_gates_rx) = unbounded();
    let (previews, previews_rx) = unbounded();
    (
        Wakes {
            targets,
            lanes,
            artifacts,
            products,
            promotions,
            backup_gates,
            previews,
        },
        Woken {
            targets: targets_rx,
            lanes: lanes_rx,
            artifacts: artifacts_rx,
            products: products_rx,
            promotions: promotions_rx,
            backup_gates: backup_gates_rx,
            previews: previews_rx,
        },
    )
}

impl Wakes {
    /// Wakes nobody listens to (a context for one reconcile in a test).
    pub fn none() -> Self {
        wakes().0
    }

    /// Pass `wake` to its controller. After shutdown nobody is left to tell.
    pub fn send(&self, wake: Wake) {
        let _ = match wake {
            Wake::ProviderTarget(o) => self.targets.unbounded_send(o).map_err(drop),
            Wake::Lane(o) => self.lanes.unbounded_send(o).map_err(drop),
            Wake::Artifact(o) => self.artifacts.unbounded_send(o).map_err(drop),
            Wake::Product(o) => self.products.unbounded_send(o).map_err(drop),
            Wake::Promotion(o) => self.promotions.unbounded_send(o).map_err(drop),
            Wake::BackupGate(o) => self.backup_gates.unbounded_send(o).map_err(drop),
            Wake::Preview(o) => self.previews.unbounded_send(o).map_err(drop),
        };
    }
}

/// Everything the cluster's reconciles share.
pub struct Context {
    pub world: World,
    pub store: KubeStore,
    pub client: Client,
    pub metrics: Arc<Metrics>,
    pub wakes: Wakes,
}

impl Context {
    /// `replica` names this replica on Events (the pod name in the chart); `instance` is this
    /// controller instance in ownership markers (`--instance-id`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: Client,
        replica: Option<String>,
        instance: String,
        metrics: Arc<Metrics>,
        prober: Prober,
        caches: Caches,
        wakes: Wakes,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let reporter = Reporter {
            controller: REPORTER.into(),
            instance: replica,
        };
        let store = KubeStore::new(client.clone(), reporter, caches.identities.clone());
        let providers = Registry::new(ClientSettings {
            observer: Some(Arc::new(MetricsObserver(metrics.clone()))),
            ..ClientSettings::default()
        });
        Context {
            world: World {
                caches,
                secrets: Arc::new(KubeSecrets::new(client.clone())),
                providers,
                prober,
                instance,
                clock,
                metrics: metrics.clone(),
                failures: FailureCounts::default(),
                backoff: BackoffPolicy::default(),
                deploy: DeploySettings::default(),
                // One step per reconcile: each persisted step is seen before the next is planned.
                drive: DriveLimits {
                    max_steps: 1,
                    deadline: Duration::from_secs(30),
                },
                preview_steps: CLUSTER_PREVIEW_STEPS,
                previews: Some(PreviewSettings::default()),
                round: None,
                feedback: None,
                // The cluster always notifies; a namespace without NotificationPolicies costs
                // nothing.
                notify: Some(crate::engine::deliveries::default_factory()),
            },
            store,
            client,
            metrics,
            wakes,
        }
    }

    /// With these deploy timings (tests: quick polling).
    pub fn with_deploy(mut self, settings: DeploySettings) -> Self {
        self.world.deploy = settings;
        self
    }

    /// Post pull-request feedback for Previews.
    pub fn with_feedback(mut self, settings: crate::engine::feedback::FeedbackSettings) -> Self {
        self.world.feedback = Some(settings);
        self
    }

    /// Build notification destinations with `factory` (tests: recording fakes).
    pub fn with_notify(
        mut self,
        factory: std::sync::Arc<dyn crate::notify::destination::DestinationFactory>,
    ) -> Self {
        self.world.notify = Some(factory);
        self
    }

    /// With these preview timings and probe route.
    pub fn with_previews(mut self, settings: PreviewSettings) -> Self {
        self.world.previews = Some(settings);
        self
    }
}

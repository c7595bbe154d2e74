//! What the integration tests share beyond the testkit's builders and fleets (re-exported here
//! so a test module takes its fixtures from one place): a listed cache, the cluster Context of a
//! lane test, quick deploy settings, and small waiting helpers. The integration test binary
//! declares it once; each module uses what it needs.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub use launchplane_testkit::build::{
    NS, artifact, managed_target, ns, preview_policy, shop_product, template_target,
};
pub use launchplane_testkit::fleet::{sim_with_preview_template, sim_with_testing_app, start_sim};

use futures::FutureExt;
use kube::Client;
use kube::runtime::watcher;
use launchplane::engine::Caches;
use launchplane::engine::cache::{self, Cache};
use launchplane::engine::providers::{Fingerprint, PollerSlot};
use launchplane::k8s::context::Shutdown;
use launchplane::k8s::context::{Context, Wakes};
use launchplane::metrics::Metrics;
use launchplane::observe::poller::Poller;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane_api::conditions::{Clock, SystemClock};
use launchplane_api::resources::{Artifact, Lane, Product, ProviderTarget};
use launchplane_api::verdict::Verdict;
use launchplane_core::deployment_record::{DeployRetryPolicy, DeploySettings};
use launchplane_core::observation::PollSettings;
use launchplane_e2e::sim::DokploySim;
use launchplane_providers::{ApiKey, DokployClient, DokployConfig, RateLimit, RetryPolicy};
use std::sync::Arc;
use std::time::Duration;

/// The controller instance the lane tests run as (ownership markers name it).
pub const INSTANCE: &str = "cluster-test";

/// Every kind's cache, empty and listed.
pub fn listed_caches() -> Caches {
    Caches {
        configs: store(vec![]),
        targets: store(vec![]),
        identities: store(vec![]),
        products: store(vec![]),
        artifacts: store(vec![]),
        lanes: store(vec![]),
        records: store(vec![]),
        previews: store(vec![]),
        promotions: store(vec![]),
        backup_gates: store(vec![]),
        approvals: store(vec![]),
        incidents: store(vec![]),
        notification_policies: store(vec![]),
        data_bootstraps: store(vec![]),
    }
}

/// A store that has listed `objects`.
pub fn store<K>(objects: Vec<K>) -> Cache<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
{
    let (reader, mut writer) = cache::cache();
    writer.apply(&watcher::Event::Init);
    for o in objects {
        writer.apply(&watcher::Event::InitApply(o));
    }
    writer.apply(&watcher::Event::InitDone);
    reader
}

/// A client config for the simulator that tries once (an injected fault fails at once
/// instead of being retried) and is not throttled.
pub fn single_attempt_config(sim: &DokploySim) -> DokployConfig {
    let mut config = DokployConfig::new(sim.base_url(), sim.api_key());
    config.retry = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    config.rate_limit = RateLimit {
        per_second: 1000.0,
        burst: 1000,
    };
    config
}

/// Deploy timings for driver tests: quick polling, no retry within a test (an hour's backoff).
pub fn deploy_settings() -> DeploySettings {
    DeploySettings {
        start_timeout: jiff::SignedDuration::from_secs(30),
        resend_after: jiff::SignedDuration::from_secs(10),
        verify_timeout: jiff::SignedDuration::from_secs(5),
        retry: DeployRetryPolicy {
            base_delay: jiff::SignedDuration::from_secs(3600),
            max_delay: jiff::SignedDuration::from_secs(3600),
            max_attempts: 5,
        },
        poll_delay: Duration::from_millis(50),
    }
}

/// The lane controller's context over `client`, with `target`, `product` and `artifact` in its
/// stores, `lanes` as its lane store, and the `shop/dokploy` poller slot on the simulator.
pub fn lane_context(
    client: Client,
    leader: Option<String>,
    sim: &DokploySim,
    target: ProviderTarget,
    product: Product,
    artifact: Artifact,
    lanes: Cache<Lane>,
) -> Arc<Context> {
    lane_context_with_clock(
        client,
        leader,
        sim,
        target,
        product,
        artifact,
        lanes,
        Arc::new(SystemClock),
    )
}

/// [`lane_context`] on `clock`.
#[allow(clippy::too_many_arguments)]
pub fn lane_context_with_clock(
    client: Client,
    leader: Option<String>,
    sim: &DokploySim,
    target: ProviderTarget,
    product: Product,
    artifact: Artifact,
    lanes: Cache<Lane>,
    clock: Arc<dyn Clock>,
) -> Arc<Context> {
    let caches = Caches {
        targets: store(vec![target]),
        products: store(vec![product]),
        artifacts: store(vec![artifact]),
        lanes,
        ..listed_caches()
    };
    let ctx = Context::new(
        client,
        leader,
        INSTANCE.into(),
        Arc::new(Metrics::new()),
        Prober::new(ProberConfig::default()).unwrap(),
        caches,
        Wakes::none(),
        clock,
    )
    .with_deploy(DeploySettings {
        poll_delay: Duration::from_millis(50),
        ..DeploySettings::default()
    });
    let dokploy = DokployClient::new(DokployConfig::new(sim.base_url(), sim.api_key())).unwrap();
    ctx.world.providers.set_slot(
        &format!("{NS}/dokploy"),
        PollerSlot {
            fingerprint: Fingerprint {
                url: sim.base_url(),
                api_key: ApiKey::new(sim.api_key()),
                rate_limit: (10, 10),
            },
            poller: Poller::new(Arc::new(dokploy), PollSettings::default()),
            next_poll_at: None,
            last_poll_at: None,
        },
    );
    Arc::new(ctx)
}

/// A shutdown signal and its trigger.
pub fn shutdown_pair() -> (futures::channel::oneshot::Sender<()>, Shutdown) {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    (tx, rx.map(|_| ()).boxed().shared())
}

/// Waits up to `secs` for `check`, looking every 100 ms; panics naming `what` after that.
pub async fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out: {what}");
}

/// A [`StatusStore`](launchplane::engine::StatusStore) for driving one kind directly: it keeps
/// every status it is asked to write (in order, as JSON) and writes nowhere; it holds no lane
/// records or children. Incidents it keeps apart (objects with their statuses).
#[derive(Default)]
pub struct StatusLog {
    writes: std::sync::Mutex<Vec<serde_json::Value>>,
    incidents: std::sync::Mutex<Vec<launchplane_api::resources::Incident>>,
}

impl StatusLog {
    /// The statuses written so far, oldest first (Incidents' aside).
    pub fn writes(&self) -> Vec<serde_json::Value> {
        self.writes.lock().unwrap().clone()
    }

    /// The Incidents kept, each with its last status.
    pub fn incidents(&self) -> Vec<launchplane_api::resources::Incident> {
        self.incidents.lock().unwrap().clone()
    }
}

impl launchplane::engine::StatusStore for StatusLog {
    fn write_status<'a, K: launchplane::engine::Cached>(
        &'a self,
        object: &'a K,
        status: &'a K::Status,
    ) -> futures::future::BoxFuture<'a, Result<bool, launchplane::engine::StoreError>> {
        Box::pin(async move {
            if object.status() == Some(status) {
                return Ok(false);
            }
            let json = serde_json::to_value(status).unwrap();
            if K::KIND == "Incident" {
                let mut kept = self.incidents.lock().unwrap();
                if let Some(i) = kept.iter_mut().find(|i| i.metadata.name == object.meta().name) {
                    i.status = Some(serde_json::from_value(json).unwrap());
                }
                return Ok(true);
            }
            self.writes.lock().unwrap().push(json);
            Ok(true)
        })
    }

    fn announce<'a, K: launchplane::engine::Kind>(
        &'a self,
        _object: &'a K,
        _previous: Option<Verdict>,
        _current: Verdict,
        _message: &'a str,
    ) -> futures::future::BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    fn notify<'a, K: launchplane::engine::Kind>(
        &'a self,
        _object: &'a K,
        _reason: &'a str,
        _message: &'a str,
        _warning: bool,
    ) -> futures::future::BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    fn create_promotion<'a>(
        &'a self,
        _promotion: &'a launchplane_api::resources::Promotion,
    ) -> futures::future::BoxFuture<'a, Result<bool, launchplane::engine::StoreError>> {
        Box::pin(async { Ok(false) })
    }

    fn lane_records<'a>(
        &'a self,
        _lane: &'a Lane,
        _evidence: Vec<launchplane_api::resources::DeploymentRecord>,
    ) -> Box<dyn launchplane::engine::store::RecordStore + 'a> {
        Box::new(NoRecords)
    }

    fn lane_identity(&self, _lane: &Lane) -> Option<launchplane_api::resources::RuntimeIdentity> {
        None
    }

    fn save_lane_identity<'a>(
        &'a self,
        _lane: &'a Lane,
        _child: &'a launchplane_api::resources::RuntimeIdentity,
        _stored: Option<&'a launchplane_api::resources::RuntimeIdentity>,
    ) -> futures::future::BoxFuture<'a, Result<(), launchplane::engine::StoreError>> {
        Box::pin(async { Ok(()) })
    }

    fn incidents<'a>(
        &'a self,
        namespace: &'a str,
        subject: &'a str,
    ) -> futures::future::BoxFuture<
        'a,
        Result<Vec<launchplane_api::resources::Incident>, launchplane::engine::StoreError>,
    > {
        Box::pin(async move {
            let label = launchplane::engine::incidents::SUBJECT_LABEL;
            Ok(self
                .incidents()
                .into_iter()
                .filter(|i| {
                    i.metadata.namespace.as_deref() == Some(namespace)
                        && i.metadata
                            .labels
                            .as_ref()
                            .and_then(|l| l.get(label))
                            .map(String::as_str)
                            == Some(subject)
                })
                .collect())
        })
    }

    fn create_incident<'a>(
        &'a self,
        incident: &'a launchplane_api::resources::Incident,
    ) -> futures::future::BoxFuture<
        'a,
        Result<launchplane_api::resources::Incident, launchplane::engine::StoreError>,
    > {
        Box::pin(async move {
            let mut kept = self.incidents.lock().unwrap();
            if let Some(i) = kept.iter().find(|i| i.metadata.name == incident.metadata.name) {
                return Ok(i.clone());
            }
            kept.push(incident.clone());
            Ok(incident.clone())
        })
    }

    fn delete_incident<'a>(
        &'a self,
        incident: &'a launchplane_api::resources::Incident,
    ) -> futures::future::BoxFuture<'a, Result<(), launchplane::engine::StoreError>> {
        Box::pin(async move {
            self.incidents
                .lock()
                .unwrap()
                .retain(|i| i.metadata.name != incident.metadata.name);
            Ok(())
        })
    }
}

/// No records, and nothing kept.
struct NoRecords;

impl launchplane::engine::store::RecordStore for NoRecords {
    fn list<'a>(
        &'a self,
        _namespace: &'a str,
        _lane: &'a str,
    ) -> futures::future::BoxFuture<
        'a,
        Result<Vec<launchplane_api::resources::DeploymentRecord>, launchplane::engine::StoreError>,
    > {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn create<'a>(
        &'a self,
        _record: &'a launchplane_api::resources::DeploymentRecord,
    ) -> futures::future::BoxFuture<'a, Result<(), launchplane::engine::StoreError>> {
        Box::pin(async { Ok(()) })
    }

    fn write_status<'a>(
        &'a self,
        _namespace: &'a str,
        _name: &'a str,
        _status: &'a launchplane_api::resources::DeploymentRecordStatus,
    ) -> futures::future::BoxFuture<'a, Result<(), launchplane::engine::StoreError>> {
        Box::pin(async { Ok(()) })
    }

    fn delete<'a>(
        &'a self,
        _namespace: &'a str,
        _name: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<(), launchplane::engine::StoreError>> {
        Box::pin(async { Ok(()) })
    }
}

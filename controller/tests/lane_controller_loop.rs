//! The real Lane controller loop (`Controller::for_stream`, the wiring `launchplane
//! controller` uses) over an in-memory watch, against the Dokploy simulator and a mocked API
//! server that stores what it is sent (records, their statuses, the identity child, the lane's
//! status) and feeds the lane's status back into the watch, as a real one would.
//!
//! What this proves beyond the single-reconcile test: one step per reconcile and the requeue
//! while a step is in flight carry a lane from nothing to Succeeded — intent record, image,
//! env, one deploy titled with the record id, followed to done, identity verified — and the
//! lane settles Matched with its inventory set, without a second deploy.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures::FutureExt;
use futures::channel::mpsc::{UnboundedSender, unbounded};
use http::{Method, Request, Response};
use kube::Client;
use kube::client::Body;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use launchplane::k8s::context::Context;
use launchplane::k8s::lane::{self, LaneStores};
use launchplane::k8s::registry::{Fingerprint, PollerSlot};
use launchplane::k8s::run::{self, Shutdown};
use launchplane::metrics::Metrics;
use launchplane::observe::poller::{PollSettings, Poller};
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane::reconcile::deployment_record::DeploySettings;
use launchplane_api::conditions::SystemClock;
use launchplane_api::resources::{
    Artifact, ArtifactImage, ArtifactSpec, EnvValue, Lane, LaneEnv, LaneRuntimeIdentity, LaneSpec,
    LocalObjectRef, ManagementPolicy, Product, ProductSpec, ProviderTarget, ProviderTargetSpec,
    ProviderTargetStatus, SourceRef, TargetCategory,
};
use launchplane_api::verdict::Verdict;
use launchplane_e2e::sim::{DokploySim, SeedApplication, SimConfig};
use launchplane_providers::{ApiKey, DokployClient, DokployConfig};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const NS: &str = "shop";
const GROUP: &str = "/apis/launchplane.dev/v1alpha1/namespaces/shop";

type LaneEvents = UnboundedSender<Result<watcher::Event<Lane>, watcher::Error>>;

/// A mocked API server that keeps objects by path.
#[derive(Clone, Default)]
struct ApiServer {
    objects: Arc<Mutex<BTreeMap<String, Value>>>,
    calls: Arc<Mutex<Vec<(Method, String)>>>,
    lane_events: Arc<Mutex<Option<LaneEvents>>>,
}

impl ApiServer {
    fn client(&self) -> Client {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let me = self.clone();
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                let method = request.method().clone();
                let path = request.uri().path().to_string();
                let query = request.uri().query().unwrap_or_default().to_string();
                let bytes = request.into_body().collect_bytes().await.unwrap_or_default();
                let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                me.calls.lock().unwrap().push((method.clone(), path.clone()));
                let (status, answer) = me.answer(&method, &path, &query, body);
                send.send_response(
                    Response::builder()
                        .status(status)
                        .body(Body::from(serde_json::to_vec(&answer).unwrap()))
                        .unwrap(),
                );
            }
        });
        Client::new(service, "default")
    }

    fn answer(&self, method: &Method, path: &str, query: &str, body: Value) -> (u16, Value) {
        let not_found = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                               "reason": "NotFound", "code": 404});
        let mut objects = self.objects.lock().unwrap();
        let records = format!("{GROUP}/deploymentrecords");
        match (method.clone(), path) {
            (Method::POST, p) if p.ends_with("/events") => (201, body),
            (Method::GET, p) if p == records => {
                let wanted = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("labelSelector="))
                    .map(|s| s.replace("%2F", "/").replace("%3D", "="))
                    .unwrap_or_default();
                let (key, value) = wanted.split_once('=').unwrap_or(("", ""));
                let items: Vec<Value> = objects
                    .iter()
                    .filter(|(k, _)| k.starts_with(&format!("{records}/")))
                    .map(|(_, v)| v.clone())
                    .filter(|v| v["metadata"]["labels"][key] == value)
                    .collect();
                (
                    200,
                    json!({"apiVersion": "launchplane.dev/v1alpha1", "kind": "DeploymentRecordList",
                           "metadata": {"resourceVersion": "1"}, "items": items}),
                )
            }
            (Method::POST, p) if p == records => {
                let key = format!("{records}/{}", body["metadata"]["name"].as_str().unwrap());
                if objects.contains_key(&key) {
                    return (
                        409,
                        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                               "reason": "AlreadyExists", "code": 409}),
                    );
                }
                let mut stored = body;
                stored["metadata"]["uid"] = format!("uid-{}", objects.len()).into();
                objects.insert(key, stored.clone());
                (201, stored)
            }
            (Method::PATCH, p) if p.ends_with("/status") => {
                let key = p.trim_end_matches("/status").to_string();
                let Some(object) = objects.get_mut(&key) else {
                    return (404, not_found);
                };
                object["status"] = body["status"].clone();
                let object = object.clone();
                if key.contains("/lanes/")
                    && let Some(tx) = self.lane_events.lock().unwrap().as_ref()
                {
                    // As a watch would: the store sees the status (no reconcile: same generation).
                    let lane: Lane = serde_json::from_value(object.clone()).unwrap();
                    let _ = tx.unbounded_send(Ok(watcher::Event::Apply(lane)));
                }
                (200, object)
            }
            (Method::PATCH, p) if p.starts_with(&format!("{GROUP}/runtimeidentities/")) => {
                objects.insert(p.to_string(), body.clone());
                (200, body)
            }
            (Method::GET, p) => match objects.get(p) {
                Some(o) => (200, o.clone()),
                None => (404, not_found),
            },
            (Method::DELETE, p) => match objects.remove(p) {
                Some(o) => (200, o),
                None => (404, not_found),
            },
            _ => (404, not_found),
        }
    }

    fn get(&self, path: &str) -> Option<Value> {
        self.objects.lock().unwrap().get(path).cloned()
    }

    fn records(&self) -> Vec<Value> {
        let prefix = format!("{GROUP}/deploymentrecords/");
        self.objects
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn store<K>(objects: Vec<K>) -> Store<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
{
    let (reader, mut writer) = reflector::store();
    writer.apply_watcher_event(&watcher::Event::Init);
    for o in objects {
        writer.apply_watcher_event(&watcher::Event::InitApply(o));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
    reader
}

fn shutdown_pair() -> (futures::channel::oneshot::Sender<()>, Shutdown) {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    (tx, rx.map(|_| ()).boxed().shared())
}

async fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lane_loop_carries_a_lane_from_nothing_to_a_verified_deploy() {
    let sim = DokploySim::start(SimConfig {
        deploy_duration: Duration::from_millis(100),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let (_, environment) = sim.seed_project("shop");
    let app = sim
        .seed_application(
            &environment,
            SeedApplication {
                name: "shop-testing".into(),
                docker_image: Some("ghcr.io/acme/shop:old".into()),
                env: Some("KEEP_ME=1\n".into()),
                deployed: true,
                ..Default::default()
            },
        )
        .unwrap();
    let url = sim.app_url(&app).unwrap();

    let mut product = Product::new("shop", ProductSpec::default());
    product.metadata.namespace = Some(NS.into());
    let mut target = ProviderTarget::new(
        "shop-testing",
        ProviderTargetSpec {
            provider_config_ref: LocalObjectRef::new("dokploy"),
            target_category: TargetCategory::Application,
            target_id: Some(app.clone()),
            display_name: "shop-testing".into(),
            management_policy: ManagementPolicy::Manage,
            ..Default::default()
        },
    );
    target.metadata.namespace = Some(NS.into());
    target.status = Some(ProviderTargetStatus {
        verdict: Some(Verdict::Matched),
        message: Some("matches".into()),
        bound_target_id: Some(app.clone()),
        ..Default::default()
    });
    let mut artifact = Artifact::new(
        "shop-a",
        ArtifactSpec {
            image: ArtifactImage {
                repository: "ghcr.io/acme/shop".into(),
                digest: format!("sha256:{}", "a".repeat(64)),
            },
            source: SourceRef {
                repository: "github.com/acme/shop".into(),
                commit: "a".repeat(40),
            },
            ..Default::default()
        },
    );
    artifact.metadata.namespace = Some(NS.into());
    let mut lane = Lane::new(
        "shop-testing",
        LaneSpec {
            product_ref: LocalObjectRef::new("shop"),
            stage: "testing".into(),
            target_ref: LocalObjectRef::new("shop-testing"),
            artifact_ref: Some(LocalObjectRef::new("shop-a")),
            env: LaneEnv {
                values: vec![EnvValue {
                    name: "APP_ENV".into(),
                    value: "testing".into(),
                }],
                ..Default::default()
            },
            runtime_identity: LaneRuntimeIdentity {
                required: true,
                base_url: Some(url.clone()),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    lane.metadata.namespace = Some(NS.into());
    lane.metadata.uid = Some("lane-uid-1".into());
    lane.metadata.generation = Some(1);

    let server = ApiServer::default();
    server.objects.lock().unwrap().insert(
        format!("{GROUP}/lanes/shop-testing"),
        serde_json::to_value(&lane).unwrap(),
    );
    let (trigger, _) = unbounded();
    let (lane_reader, lane_writer) = reflector::store();
    let (_lane_trigger, lane_triggered) = unbounded();
    let ctx = Context::new(
        server.client(),
        None,
        Arc::new(Metrics::new()),
        Prober::new(ProberConfig::default()).unwrap(),
        store(vec![]),
        store(vec![target]),
        trigger,
        Arc::new(SystemClock),
    )
    .with_lanes(LaneStores {
        lanes: lane_reader.clone(),
        products: store(vec![product]),
        artifacts: store(vec![artifact]),
        settings: DeploySettings {
            poll_delay: Duration::from_millis(50),
            ..DeploySettings::default()
        },
        ..LaneStores::default()
    });
    let dokploy = DokployClient::new(DokployConfig::new(sim.base_url(), sim.api_key())).unwrap();
    ctx.registry.set_slot(
        &format!("{NS}/dokploy"),
        PollerSlot {
            fingerprint: Fingerprint {
                url: sim.base_url(),
                api_key: ApiKey::new(sim.api_key()),
                rate_limit: (10, 10),
            },
            poller: Poller::new(Arc::new(dokploy), PollSettings::default()),
            next_poll_at: None,
        },
    );
    let ctx = Arc::new(ctx);

    let (lane_tx, lane_events) = unbounded();
    lane_tx.unbounded_send(Ok(watcher::Event::Init)).unwrap();
    lane_tx
        .unbounded_send(Ok(watcher::Event::InitApply(lane.clone())))
        .unwrap();
    lane_tx.unbounded_send(Ok(watcher::Event::InitDone)).unwrap();
    *server.lane_events.lock().unwrap() = Some(lane_tx);
    let (stop, shutdown) = shutdown_pair();
    let lane_loop = tokio::spawn(lane::lanes(
        run::filtered(lane_events, lane_writer),
        lane_reader,
        lane_triggered,
        ctx.clone(),
        shutdown,
    ));

    let lane_path = format!("{GROUP}/lanes/shop-testing");
    eventually(60, "the lane settles Matched with its inventory", || {
        server.get(&lane_path).is_some_and(|l| {
            l["status"]["verdict"] == "Matched" && l["status"]["inventory"]["artifact"] == "shop-a"
        })
    })
    .await;
    let status = server.get(&lane_path).unwrap()["status"].clone();
    let records = server.records();
    assert_eq!(records.len(), 1, "one record");
    let record = &records[0];
    let id = record["metadata"]["name"].as_str().unwrap().to_string();
    assert_eq!(record["status"]["phase"], "Succeeded");
    assert_eq!(record["status"]["deploy"]["status"], "done");
    assert_eq!(record["status"]["identity"]["verdict"], "Matched");
    assert_eq!(record["metadata"]["ownerReferences"][0]["uid"], "lane-uid-1");
    assert_eq!(status["inventory"]["deploymentRecord"], id.as_str());
    assert_eq!(sim.call_count("application.deploy"), 1, "deployed once");
    assert!(
        sim.deployments(&app).iter().any(|d| d["title"] == id.as_str()),
        "the deploy is titled with the record id"
    );
    let child = server
        .get(&format!("{GROUP}/runtimeidentities/shop-testing"))
        .expect("the identity child was applied");
    assert_eq!(child["metadata"]["ownerReferences"][0]["kind"], "Lane");
    assert_eq!(child["spec"]["expected"]["deploymentRecordId"], id.as_str());

    // Settled: later reconciles (at the poll interval) deploy nothing more.
    let calls = server.calls.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sim.call_count("application.deploy"), 1);
    assert!(
        server
            .calls
            .lock()
            .unwrap()
            .iter()
            .skip(calls)
            .all(|(m, p)| *m == Method::GET || p.ends_with("/events")),
        "a settled lane only reads"
    );

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), lane_loop)
        .await
        .expect("the lane loop stops on shutdown")
        .unwrap();
    sim.shutdown().await;
}

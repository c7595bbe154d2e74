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

use crate::support;

use futures::channel::mpsc::{UnboundedSender, unbounded};
use http::{Method, Request, Response};
use kube::Client;
use kube::client::Body;
use kube::runtime::watcher;
use launchplane::engine::cache;
use launchplane::k8s::controller;
use launchplane::k8s::run;
use launchplane_api::resources::{
    DriftPolicy, EnvValue, Lane, LaneEnv, LaneRuntimeIdentity, LaneSpec, LocalObjectRef, PreviewPolicy,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{
    INSTANCE, NS, artifact, eventually, lane_context, managed_target, shutdown_pair, sim_with_testing_app,
};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lane_loop_carries_a_lane_from_nothing_to_a_verified_deploy() {
    let (sim, app) = sim_with_testing_app().await;
    let url = sim.app_url(&app).unwrap();

    // Its imageRepository is the artifacts' (an artifact of another repository is refused).
    let product = support::shop_product(PreviewPolicy::default());
    let target = managed_target("shop-testing", &app);
    let artifact = artifact("shop-a", 'a');
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
    let (lane_reader, lane_writer) = cache::cache();
    let (_lane_trigger, lane_triggered) = unbounded();
    let ctx = lane_context(
        server.client(),
        None,
        &sim,
        target,
        product,
        artifact,
        lane_reader.clone(),
    );

    let (lane_tx, lane_events) = unbounded();
    lane_tx.unbounded_send(Ok(watcher::Event::Init)).unwrap();
    lane_tx
        .unbounded_send(Ok(watcher::Event::InitApply(lane.clone())))
        .unwrap();
    lane_tx.unbounded_send(Ok(watcher::Event::InitDone)).unwrap();
    *server.lane_events.lock().unwrap() = Some(lane_tx);
    let (stop, shutdown) = shutdown_pair();
    let lane_loop = tokio::spawn(controller::run(
        run::filtered(lane_events, lane_writer),
        lane_reader.store(),
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
    // Marked first, as this instance's (the context's id) and this lane's (its uid).
    let description = sim.service_json(&app).unwrap()["description"].clone();
    assert_eq!(
        description,
        format!("launchplane.dev/owner={INSTANCE}/{NS}/Lane/shop-testing/lane-uid-1").as_str()
    );

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

fn correcting_lane(name: &str, uid: &str, url: &str) -> Lane {
    let mut lane = Lane::new(
        name,
        LaneSpec {
            product_ref: LocalObjectRef::new("shop"),
            stage: "testing".into(),
            target_ref: LocalObjectRef::new("shop-testing"),
            artifact_ref: Some(LocalObjectRef::new("shop-a")),
            drift_policy: DriftPolicy::Correct,
            runtime_identity: LaneRuntimeIdentity {
                base_url: Some(url.into()),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    lane.metadata.namespace = Some(NS.into());
    lane.metadata.uid = Some(uid.into());
    lane.metadata.generation = Some(1);
    lane
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_lanes_on_one_target_in_the_cluster_both_stall_and_nothing_is_deployed() {
    let (sim, app) = sim_with_testing_app().await;
    let url = sim.app_url(&app).unwrap();
    let lanes = [
        correcting_lane("shop-testing", "uid-a", &url),
        correcting_lane("shop-canary", "uid-b", &url),
    ];
    let server = ApiServer::default();
    for lane in &lanes {
        server.objects.lock().unwrap().insert(
            format!("{GROUP}/lanes/{}", lane.metadata.name.as_deref().unwrap()),
            serde_json::to_value(lane).unwrap(),
        );
    }
    let (lane_reader, lane_writer) = cache::cache();
    let (_lane_trigger, lane_triggered) = unbounded();
    let ctx = lane_context(
        server.client(),
        None,
        &sim,
        managed_target("shop-testing", &app),
        support::shop_product(PreviewPolicy::default()),
        artifact("shop-a", 'a'),
        lane_reader.clone(),
    );
    let (lane_tx, lane_events) = unbounded();
    lane_tx.unbounded_send(Ok(watcher::Event::Init)).unwrap();
    for lane in &lanes {
        lane_tx
            .unbounded_send(Ok(watcher::Event::InitApply(lane.clone())))
            .unwrap();
    }
    lane_tx.unbounded_send(Ok(watcher::Event::InitDone)).unwrap();
    *server.lane_events.lock().unwrap() = Some(lane_tx);
    let (stop, shutdown) = shutdown_pair();
    let lane_loop = tokio::spawn(controller::run(
        run::filtered(lane_events, lane_writer),
        lane_reader.store(),
        lane_triggered,
        ctx.clone(),
        shutdown,
    ));

    let stalled_on = |name: &str| {
        let other = if name == "shop-testing" {
            "shop-canary"
        } else {
            "shop-testing"
        };
        server.get(&format!("{GROUP}/lanes/{name}")).is_some_and(|l| {
            l["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter().any(|c| {
                    c["type"] == "Stalled"
                        && c["status"] == "True"
                        && c["reason"] == "TargetSharedByLanes"
                        && c["message"].as_str().is_some_and(|m| m.contains(other))
                })
            })
        })
    };
    eventually(30, "both lanes report the conflict", || {
        stalled_on("shop-testing") && stalled_on("shop-canary")
    })
    .await;
    // A few more reconciles: still nothing written, nothing deployed.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(server.records().is_empty(), "no deployment record");
    let mutations: u64 = [
        "application.update",
        "application.saveDockerProvider",
        "application.deploy",
    ]
    .iter()
    .map(|r| sim.call_count(r))
    .sum();
    assert_eq!(mutations, 0, "{:?}", sim.call_counts());
    for name in ["shop-testing", "shop-canary"] {
        let lane = server.get(&format!("{GROUP}/lanes/{name}")).unwrap();
        assert_eq!(lane["status"]["verdict"], "Mismatch", "{lane}");
    }

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), lane_loop)
        .await
        .expect("the lane loop stops on shutdown")
        .unwrap();
    sim.shutdown().await;
}

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
use http::Method;
use kube::runtime::watcher;
use launchplane::engine::cache;
use launchplane::k8s::controller;
use launchplane::k8s::run;
use launchplane_api::resources::{
    DeploymentRecord, DriftPolicy, EnvValue, Lane, LaneEnv, LaneRuntimeIdentity, LaneSpec, LocalObjectRef,
    PreviewPolicy,
};
use launchplane_testkit::FakeApiServer;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{
    INSTANCE, NS, artifact, eventually, lane_context, managed_target, shutdown_pair, sim_with_testing_app,
};

const GROUP: &str = "/apis/launchplane.dev/v1alpha1/namespaces/shop";

type LaneEvents = UnboundedSender<Result<watcher::Event<Lane>, watcher::Error>>;

/// The fake API server, with every status written to a Lane fed back into the lane watch, as
/// the real watch would (the cache sees it; no reconcile: the generation is the same).
fn api_server(lane_events: &Arc<Mutex<Option<LaneEvents>>>) -> FakeApiServer {
    let server = FakeApiServer::new();
    let events = lane_events.clone();
    server.on_write(move |path, object| {
        if path.contains("/lanes/")
            && let Some(tx) = events.lock().unwrap().as_ref()
            && let Ok(lane) = serde_json::from_value::<Lane>(object.clone())
        {
            let _ = tx.unbounded_send(Ok(watcher::Event::Apply(lane)));
        }
    });
    server
}

/// The DeploymentRecords the server holds.
fn records(server: &FakeApiServer) -> Vec<Value> {
    server
        .objects::<DeploymentRecord>(NS)
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect()
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

    let feedback = Arc::new(Mutex::new(None));
    let server = api_server(&feedback);
    server.put(&lane);
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
    *feedback.lock().unwrap() = Some(lane_tx);
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
    let records = records(&server);
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
    let calls = server.calls().len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sim.call_count("application.deploy"), 1);
    assert!(
        server
            .calls()
            .iter()
            .skip(calls)
            .all(|c| c.method == Method::GET || c.path.ends_with("/events")),
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
    let feedback = Arc::new(Mutex::new(None));
    let server = api_server(&feedback);
    for lane in &lanes {
        server.put(lane);
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
    *feedback.lock().unwrap() = Some(lane_tx);
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
    assert!(records(&server).is_empty(), "no deployment record");
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

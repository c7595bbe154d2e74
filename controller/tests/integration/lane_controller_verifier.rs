//! The exact API calls one Lane reconcile makes, against a scripted API server (kube's
//! tower-test `ApiServerVerifier` pattern), with the provider and the app served by the
//! Dokploy simulator.
//!
//! A fresh lane's first reconcile: read the env Secret, list the lane's records by label,
//! read the target (simulator), POST the intent record owned by the lane — before any
//! provider mutation — then SSA its first status, list again, SSA the RuntimeIdentity child
//! (owned by the lane), SSA the lane's status, and publish the verdict Event. Nothing else;
//! and no secret value in any body.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use http::{Method, Request, Response};
use kube::Client;
use kube::client::Body;
use launchplane::engine::cache::listed_cache;
use launchplane::k8s::controller;
use launchplane_api::resources::{
    EnvValue, Lane, LaneEnv, LaneRuntimeIdentity, LaneSpec, LocalObjectRef, PreviewPolicy,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::{NS, artifact, lane_context, managed_target, sim_with_testing_app};
use tower_test::mock::Handle;

const LANE_UID: &str = "0b1e5c9e-lane-uid";
const SECRET_VALUE: &str = "s3cr3t-payment-key-verifier";
const SSA_QUERY: &str = "?&force=true&fieldManager=launchplane.dev%2Fcontroller";
const MUTATIONS: [&str; 3] = [
    "application.saveDockerProvider",
    "application.update",
    "application.deploy",
];

type Verifier = Handle<Request<Body>, Response<Body>>;

fn lane(url: &str) -> Lane {
    let mut l = Lane::new(
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
                secret_refs: vec![LocalObjectRef::new("shop-secrets")],
                ..Default::default()
            },
            runtime_identity: LaneRuntimeIdentity {
                base_url: Some(url.into()),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    l.metadata.namespace = Some(NS.into());
    l.metadata.uid = Some(LANE_UID.into());
    l.metadata.generation = Some(1);
    l
}

async fn next(
    handle: &mut Verifier,
    what: &str,
) -> (
    Method,
    String,
    Value,
    tower_test::mock::SendResponse<Response<Body>>,
) {
    let (request, send) = tokio::time::timeout(Duration::from_secs(10), handle.next_request())
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .unwrap_or_else(|| panic!("client gone before {what}"));
    let method = request.method().clone();
    let uri = request.uri().to_string();
    let bytes = request.into_body().collect_bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (method, uri, body, send)
}

fn answer(send: tower_test::mock::SendResponse<Response<Body>>, status: u16, body: &Value) {
    send.send_response(
        Response::builder()
            .status(status)
            .body(Body::from(serde_json::to_vec(body).unwrap()))
            .unwrap(),
    );
}

fn list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "launchplane.dev/v1alpha1", "kind": "DeploymentRecordList",
           "metadata": {"resourceVersion": "1"}, "items": items})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_lane_writes_its_intent_record_owned_by_the_lane_before_any_provider_mutation() {
    let (sim, app) = sim_with_testing_app().await;
    let sim = Arc::new(sim);
    let url = sim.app_url(&app).unwrap();

    // Its imageRepository is the artifacts' (an artifact of another repository is refused).
    let product = support::shop_product(PreviewPolicy::default());
    let target = managed_target("shop-testing", &app);

    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let ctx = lane_context(
        client,
        Some("test".into()),
        &sim,
        target,
        product,
        artifact("shop-a", 'a'),
        listed_cache(),
    );

    let lane = lane(&url);
    let record_id = launchplane_api::identity::deployment_record_id(LANE_UID, "shop-a", 1);
    let records = format!("/apis/launchplane.dev/v1alpha1/namespaces/{NS}/deploymentrecords");
    let server_sim = sim.clone();
    let server_id = record_id.clone();
    let server_url = url.clone();
    let lane_for_answer = lane.clone();
    let server = tokio::spawn(async move {
        let sim = server_sim;
        let record_id = server_id;
        let mut bodies = String::new();

        // 1. The env Secret, by get.
        let (method, uri, _, send) = next(&mut handle, "the Secret get").await;
        assert_eq!(
            (method, uri.as_str()),
            (Method::GET, "/api/v1/namespaces/shop/secrets/shop-secrets")
        );
        let encoded = {
            use std::fmt::Write;
            // base64 of the secret value, by hand: the wire format of Secret data.
            const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let input = SECRET_VALUE.as_bytes();
            let mut out = String::new();
            for chunk in input.chunks(3) {
                let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
                let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
                for i in 0..4 {
                    if i <= chunk.len() {
                        let _ = write!(out, "{}", T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                    } else {
                        out.push('=');
                    }
                }
            }
            out
        };
        answer(
            send,
            200,
            &json!({"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": "shop-secrets", "namespace": NS},
                    "data": {"PAYMENT_KEY": encoded}}),
        );

        // 2. The lane's records, listed fresh by label.
        let (method, uri, _, send) = next(&mut handle, "the record list").await;
        assert_eq!(method, Method::GET);
        assert!(uri.starts_with(&records), "{uri}");
        assert!(
            uri.contains("labelSelector=launchplane.dev%2Flane%3Dshop-testing"),
            "{uri}"
        );
        answer(send, 200, &list(vec![]));

        // 3. The intent record: POSTed, owned by the lane, before any provider mutation
        //    (the target was already read).
        let (method, uri, body, send) = next(&mut handle, "the intent record").await;
        assert_eq!(method, Method::POST);
        assert!(uri.starts_with(&records), "{uri}");
        let mutations: u64 = MUTATIONS.iter().map(|r| sim.call_count(r)).sum();
        assert_eq!(mutations, 0, "intent before mutation");
        assert!(
            sim.call_count("application.one") >= 1,
            "the target was read first"
        );
        assert_eq!(body["metadata"]["name"], record_id.as_str());
        assert_eq!(
            body["metadata"]["ownerReferences"],
            json!([{"apiVersion": "launchplane.dev/v1alpha1", "kind": "Lane",
                    "name": "shop-testing", "uid": LANE_UID, "blockOwnerDeletion": false}])
        );
        assert_eq!(body["metadata"]["labels"]["launchplane.dev/lane"], "shop-testing");
        assert_eq!(body["metadata"]["labels"]["launchplane.dev/attempt"], "1");
        assert_eq!(body["spec"]["laneGeneration"], 1);
        assert_eq!(body["spec"]["artifactRef"]["name"], "shop-a");
        assert!(
            body.get("status").is_none_or(Value::is_null),
            "status goes to /status"
        );
        bodies.push_str(&body.to_string());
        let mut stored = body.clone();
        stored["metadata"]["uid"] = "record-uid".into();
        answer(send, 201, &stored);

        // 4. Its first status, by SSA on /status with the one field manager.
        let (method, uri, body, send) = next(&mut handle, "the record status").await;
        assert_eq!(method, Method::PATCH);
        assert_eq!(uri, format!("{records}/{record_id}/status{SSA_QUERY}"));
        assert_eq!(body["kind"], "DeploymentRecord");
        assert_eq!(body["status"]["phase"], "Pending");
        bodies.push_str(&body.to_string());
        stored["status"] = body["status"].clone();
        answer(send, 200, &stored);

        // 5. Listed again for the next plan (the step limit then ends the reconcile).
        let (method, _, _, send) = next(&mut handle, "the second list").await;
        assert_eq!(method, Method::GET);
        answer(send, 200, &list(vec![stored.clone()]));

        // 6. The RuntimeIdentity child, owned by the lane, expecting the record.
        let (method, uri, body, send) = next(&mut handle, "the identity child").await;
        assert_eq!(method, Method::PATCH);
        assert_eq!(
            uri,
            format!(
                "/apis/launchplane.dev/v1alpha1/namespaces/{NS}/runtimeidentities/shop-testing{SSA_QUERY}"
            )
        );
        assert_eq!(body["metadata"]["ownerReferences"][0]["uid"], LANE_UID);
        assert_eq!(body["spec"]["expected"]["deploymentRecordId"], record_id.as_str());
        assert_eq!(body["spec"]["endpoint"]["baseUrl"], server_url.as_str());
        assert!(
            body.get("status").is_none(),
            "the child's status is its own controller's"
        );
        bodies.push_str(&body.to_string());
        answer(send, 200, &body);

        // 7. The lane's status by SSA.
        let (method, uri, body, send) = next(&mut handle, "the lane status").await;
        assert_eq!(method, Method::PATCH);
        assert_eq!(
            uri,
            format!("/apis/launchplane.dev/v1alpha1/namespaces/{NS}/lanes/shop-testing/status{SSA_QUERY}")
        );
        let status = &body["status"];
        assert_eq!(status["lastDeploymentRecord"], record_id.as_str());
        assert_eq!(status["observedGeneration"], 1);
        let reconciling = status["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Reconciling")
            .unwrap();
        assert_eq!(reconciling["status"], "True");
        let verdict = status["verdict"].clone();
        bodies.push_str(&body.to_string());
        let mut lane_obj = serde_json::to_value(lane_for_answer).unwrap();
        lane_obj["status"] = body["status"].clone();
        answer(send, 200, &lane_obj);

        // 8. A first verdict that is not Matched is news.
        let (method, uri, body, send) = next(&mut handle, "the Event").await;
        assert_eq!(method, Method::POST);
        assert_eq!(uri, format!("/apis/events.k8s.io/v1/namespaces/{NS}/events?"));
        assert_eq!(body["reason"], verdict);
        assert_eq!(body["regarding"]["kind"], "Lane");
        bodies.push_str(&body.to_string());
        answer(send, 201, &body);
        assert!(!bodies.contains(SECRET_VALUE), "no secret value in any API body");
        handle
    });

    let action = controller::reconcile(Arc::new(lane), ctx.clone()).await.unwrap();
    drop(ctx);
    let mut handle = server.await.unwrap();
    if let Ok(Some((request, _))) = tokio::time::timeout(Duration::from_secs(1), handle.next_request()).await
    {
        panic!("unexpected call: {} {}", request.method(), request.uri());
    }
    // A step is in flight: looked at again soon, not at the poll interval.
    assert_eq!(
        action,
        kube::runtime::controller::Action::requeue(Duration::from_secs(1))
    );
    let mutations: u64 = MUTATIONS.iter().map(|r| sim.call_count(r)).sum();
    assert_eq!(
        mutations, 0,
        "one step per reconcile: only the intent was written"
    );
}

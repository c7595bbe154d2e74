//! One Lane reconcile in the cluster shell while a failed attempt waits out its backoff,
//! against a scripted API server (kube's tower-test `ApiServerVerifier` pattern) and the
//! Dokploy simulator: the records are listed, nothing is created or deployed, the lane's status
//! says which attempt failed and when the next is due, the failure starts its Incident's clock
//! (issue 16), and the lane is requeued for the attempt's moment — not a poll interval later,
//! and not in a tight loop.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use http::{Method, Request, Response};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Client;
use kube::client::Body;
use kube::runtime::controller::Action;
use launchplane::engine::cache::listed_cache;
use launchplane::k8s::controller;
use launchplane_api::conditions::FixedClock;
use launchplane_api::resources::{
    DeploymentPhase, Lane, LaneRuntimeIdentity, LaneSpec, LocalObjectRef, StepEvidence,
};
use launchplane_api::verdict::Verdict;
use launchplane_core::lane::new_record;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::{NS, artifact, lane_context_with_clock, managed_target, sim_with_testing_app};
use tower_test::mock::Handle;

type Verifier = Handle<Request<Body>, Response<Body>>;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lane_waiting_on_backoff_writes_where_it_stands_and_requeues_when_the_attempt_is_due() {
    let (sim, app) = sim_with_testing_app().await;
    let url = sim.app_url(&app).unwrap();
    let now = Timestamp::from_second(Timestamp::now().as_second()).unwrap();

    let mut lane = Lane::new(
        "shop-testing",
        LaneSpec {
            product_ref: LocalObjectRef::new("shop"),
            stage: "testing".into(),
            target_ref: LocalObjectRef::new("shop-testing"),
            artifact_ref: Some(LocalObjectRef::new("shop-a")),
            runtime_identity: LaneRuntimeIdentity {
                base_url: Some(url),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    lane.metadata.namespace = Some(NS.into());
    lane.metadata.uid = Some("lane-uid-retry".into());
    lane.metadata.generation = Some(1);

    // The first attempt failed 23 seconds ago: with the default 30s backoff the next is due
    // in 7 seconds.
    let shop_a = artifact("shop-a", 'a');
    let mut failed = new_record(
        &lane,
        "lane-uid-retry",
        "shop",
        &shop_a,
        1,
        "artifact shop-a",
        now,
    );
    let status = failed.status.as_mut().unwrap();
    status.phase = Some(DeploymentPhase::Failed);
    status.post_deploy = Some(StepEvidence {
        verdict: Some(Verdict::Mismatch),
        message: Some("Dokploy deployment dep-1 ended error".into()),
        finished_at: Some(Time(now.checked_sub(SignedDuration::from_secs(23)).unwrap())),
        ..Default::default()
    });
    let failed_name = failed.metadata.name.clone().unwrap();
    let due = now.checked_add(SignedDuration::from_secs(7)).unwrap();

    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let ctx = lane_context_with_clock(
        Client::new(service, "default"),
        Some("test".into()),
        &sim,
        managed_target("shop-testing", &app),
        support::shop_product(Default::default()),
        shop_a,
        listed_cache(),
        Arc::new(FixedClock(now)),
    );
    let records = format!("/apis/launchplane.dev/v1alpha1/namespaces/{NS}/deploymentrecords");
    let failed_json = serde_json::to_value(&failed).unwrap();
    let lane_for_answer = lane.clone();
    let server = tokio::spawn(async move {
        // 1. The lane's records, listed fresh.
        let (method, uri, _, send) = next(&mut handle, "the record list").await;
        assert_eq!(method, Method::GET);
        assert!(uri.starts_with(&records), "{uri}");
        answer(
            send,
            200,
            &json!({"apiVersion": "launchplane.dev/v1alpha1", "kind": "DeploymentRecordList",
                    "metadata": {"resourceVersion": "1"}, "items": [failed_json]}),
        );

        // 2. No record is created and nothing deployed: the lane's status says why.
        let (method, uri, body, send) = next(&mut handle, "the lane status").await;
        assert_eq!(method, Method::PATCH, "{uri}");
        assert!(uri.contains("/lanes/shop-testing/status"), "{uri}");
        let status = &body["status"];
        assert_eq!(
            status["deployRetry"],
            json!({
                "failedAttempts": 1,
                "maxAttempts": 5,
                "nextAttemptTime": Time(due),
                "lastFailure": format!("deployment record {failed_name}: Dokploy deployment dep-1 ended error"),
                "lastFailedRecord": failed_name,
            })
        );
        let reconciling = status["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Reconciling")
            .unwrap()
            .clone();
        assert_eq!(reconciling["status"], "True");
        assert_eq!(reconciling["reason"], "DeployRetryScheduled");
        assert!(
            reconciling["message"]
                .as_str()
                .unwrap()
                .starts_with("attempt 1 of 5 failed"),
            "{reconciling}"
        );
        let mut lane_obj = serde_json::to_value(lane_for_answer).unwrap();
        lane_obj["status"] = body["status"].clone();
        answer(send, 200, &lane_obj);

        // 3. The verdict Event.
        let (method, uri, body, send) = next(&mut handle, "the Event").await;
        assert_eq!(method, Method::POST, "{uri}");
        answer(send, 201, &body);

        // 4. The failure starts the clock of the lane's incidents: its Incidents listed by
        //    label, a Pending one created for each failing aspect (owned by the lane) and its
        //    status applied.
        let (method, uri, _, send) = next(&mut handle, "the incident list").await;
        assert_eq!(method, Method::GET, "{uri}");
        assert!(
            uri.contains("/incidents?&labelSelector=launchplane.dev%2Fincident-of%3Dlane.shop-testing"),
            "{uri}"
        );
        answer(
            send,
            200,
            &json!({"apiVersion": "launchplane.dev/v1alpha1", "kind": "IncidentList",
                    "metadata": {"resourceVersion": "1"}, "items": []}),
        );
        // ConfigSynced (the target differs from the reference record) and Deployed (the
        // failed attempt), in the lane's order of aspects: one Incident each.
        for (aspect, verdict) in [("config-synced", "Missing"), ("deployed", "Mismatch")] {
            let name = format!("lane.shop-testing.{aspect}");
            let (method, uri, body, send) = next(&mut handle, "the incident").await;
            assert_eq!(method, Method::POST, "{uri}");
            assert_eq!(body["metadata"]["name"], name.as_str());
            assert_eq!(body["metadata"]["ownerReferences"][0]["kind"], "Lane");
            answer(send, 201, &body);
            let mut stored = body;
            let (method, uri, body, send) = next(&mut handle, "the incident status").await;
            assert_eq!(method, Method::PATCH, "{uri}");
            assert!(uri.contains(&format!("/incidents/{name}/status")), "{uri}");
            assert_eq!(body["status"]["state"], "Pending");
            assert_eq!(body["status"]["verdict"], verdict);
            stored["status"] = body["status"].clone();
            answer(send, 200, &stored);
        }
        handle
    });

    let action = controller::reconcile(Arc::new(lane), ctx.clone()).await.unwrap();
    drop(ctx);
    let mut handle = server.await.unwrap();
    if let Ok(Some((request, _))) = tokio::time::timeout(Duration::from_secs(1), handle.next_request()).await
    {
        panic!("unexpected call: {} {}", request.method(), request.uri());
    }
    assert_eq!(
        action,
        Action::requeue(Duration::from_secs(7)),
        "woken when the attempt is due, not a poll interval (60s) later"
    );
    assert_eq!(sim.call_count("application.deploy"), 0);
    sim.shutdown().await;
}

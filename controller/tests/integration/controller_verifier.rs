//! The exact API calls one reconcile makes, checked against a scripted API server
//! (kube's tower-test `ApiServerVerifier` pattern, as in kube-rs/controller-rs fixtures.rs).
//!
//! Each test scripts the calls it expects, in order, answers them as the API server would,
//! and finally checks that nothing else was called: the context (and so every client clone)
//! is dropped after the reconcile, so any further request would still be queued.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use http::{Method, Request, Response};
use jiff::Timestamp;
use kube::Client;
use kube::client::Body;
use kube::runtime::controller::Action;
use launchplane::engine::providers::ProviderView;
use launchplane::k8s::context::{Context, Wakes};
use launchplane::k8s::controller;
use launchplane::metrics::Metrics;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane_api::Verdict;
use launchplane_api::conditions::{FixedClock, find, types};
use launchplane_api::resources::{
    LocalObjectRef, ProviderConfig, ProviderConfigSpec, ProviderTarget, ProviderTargetSpec, SecretKeyRef,
    TargetCategory,
};
use launchplane_api::verify::target::ObservedTarget;
use launchplane_core::observation::{PollSettings, Snapshot};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::{NS, store};
use tower_test::mock::Handle;

const STATUS_QUERY: &str = "?&force=true&fieldManager=launchplane.dev%2Fcontroller";

fn now() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap()
}

// === fixtures ===

fn config() -> ProviderConfig {
    let mut c = ProviderConfig::new(
        "main",
        ProviderConfigSpec {
            url: "http://127.0.0.1:9".into(),
            api_key_secret_ref: SecretKeyRef {
                name: "dokploy-key".into(),
                key: "api-key".into(),
            },
            ..ProviderConfigSpec::default()
        },
    );
    c.metadata.namespace = Some(NS.into());
    c.metadata.generation = Some(1);
    c
}

fn target() -> ProviderTarget {
    let mut t = ProviderTarget::new(
        "shop-prod",
        ProviderTargetSpec {
            provider_config_ref: LocalObjectRef::new("main"),
            target_category: TargetCategory::Application,
            target_id: Some("app-1".into()),
            display_name: "shop-prod".into(),
            ..ProviderTargetSpec::default()
        },
    );
    t.metadata.namespace = Some(NS.into());
    t.metadata.generation = Some(1);
    t
}

fn observed(id: &str, name: &str) -> ObservedTarget {
    ObservedTarget {
        routes: Vec::new(),
        id: id.into(),
        category: "application".into(),
        name: name.into(),
        status: Some("done".into()),
        project: None,
        environment: None,
        domains: Default::default(),
        last_deploy_at: None,
        target_type: None,
        image: None,
        env_keys: None,
        last_deployment: None,
    }
}

fn snapshot(targets: Vec<ObservedTarget>) -> ProviderView {
    ProviderView {
        snapshot: Arc::new(Snapshot {
            targets: Some(Arc::new(targets)),
            observed_at: Some(now()),
            last_poll_at: Some(now()),
            version: Some("v0.30.2".into()),
            ..Snapshot::default()
        }),
        settings: PollSettings::default(),
        ..ProviderView::default()
    }
}

type Verifier = Handle<Request<Body>, Response<Body>>;

fn context(
    configs: Vec<ProviderConfig>,
    targets: Vec<ProviderTarget>,
) -> (Arc<Context>, Verifier, Arc<Metrics>) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let metrics = Arc::new(Metrics::new());
    let caches = launchplane::engine::Caches {
        configs: store(configs),
        targets: store(targets),
        ..support::listed_caches()
    };
    let ctx = Context::new(
        client,
        Some("test".into()),
        "test-instance".into(),
        metrics.clone(),
        Prober::new(ProberConfig::default()).unwrap(),
        caches,
        Wakes::none(),
        Arc::new(FixedClock(now())),
    );
    (Arc::new(ctx), handle, metrics)
}

// === the scripted API server ===

/// Expect one request; return its body (JSON) after answering `status` with `answer`.
async fn expect(handle: &mut Verifier, method: Method, uri: &str, status: u16, answer: Value) -> Value {
    let (request, send) = tokio::time::timeout(Duration::from_secs(5), handle.next_request())
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {method} {uri}"))
        .unwrap_or_else(|| panic!("client gone before {method} {uri}"));
    assert_eq!(request.method(), method, "{}", request.uri());
    assert_eq!(request.uri().to_string(), uri);
    let bytes = request.into_body().collect_bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    send.send_response(
        Response::builder()
            .status(status)
            .body(Body::from(serde_json::to_vec(&answer).unwrap()))
            .unwrap(),
    );
    body
}

/// Expect the SSA status patch of `K` and answer with `obj` carrying the patched status.
async fn expect_status_patch<K: serde::Serialize>(
    handle: &mut Verifier,
    plural: &str,
    name: &str,
    obj: &K,
) -> Value {
    let uri = format!("/apis/launchplane.dev/v1alpha1/namespaces/{NS}/{plural}/{name}/status{STATUS_QUERY}");
    let (request, send) = tokio::time::timeout(Duration::from_secs(5), handle.next_request())
        .await
        .expect("timed out waiting for the status patch")
        .expect("client gone before the status patch");
    assert_eq!(request.method(), Method::PATCH);
    assert_eq!(request.uri().to_string(), uri);
    assert_eq!(
        request.headers().get("content-type").unwrap(),
        "application/apply-patch+yaml"
    );
    let bytes = request.into_body().collect_bytes().await.unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    let mut answer = serde_json::to_value(obj).unwrap();
    answer["status"] = body["status"].clone();
    send.send_response(
        Response::builder()
            .body(Body::from(serde_json::to_vec(&answer).unwrap()))
            .unwrap(),
    );
    body
}

/// Expect an Event; return its body.
async fn expect_event(handle: &mut Verifier) -> Value {
    let (request, send) = tokio::time::timeout(Duration::from_secs(5), handle.next_request())
        .await
        .expect("timed out waiting for the Event")
        .expect("client gone before the Event");
    assert_eq!(request.method(), Method::POST);
    assert_eq!(
        request.uri().to_string(),
        format!("/apis/events.k8s.io/v1/namespaces/{NS}/events?")
    );
    let bytes = request.into_body().collect_bytes().await.unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    send.send_response(
        Response::builder()
            .status(201)
            .body(Body::from(bytes.to_vec()))
            .unwrap(),
    );
    body
}

/// Expect the calls of a resource's first failure (issue 16): its Incidents listed by
/// subject label (none), a Pending Incident created, owned by the resource, and its status
/// applied. Returns the status applied.
async fn expect_pending_incident(handle: &mut Verifier, subject: &str, name: &str) -> Value {
    let base = format!("/apis/launchplane.dev/v1alpha1/namespaces/{NS}/incidents");
    let next = async |handle: &mut Verifier| {
        let (request, send) = tokio::time::timeout(Duration::from_secs(5), handle.next_request())
            .await
            .expect("timed out waiting for an Incident call")
            .expect("client gone before an Incident call");
        let method = request.method().clone();
        let uri = request.uri().to_string();
        let bytes = request.into_body().collect_bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice::<Value>(&bytes).unwrap()
        };
        (method, uri, body, send)
    };
    let reply = |send: tower_test::mock::SendResponse<Response<Body>>, status: u16, body: &Value| {
        send.send_response(
            Response::builder()
                .status(status)
                .body(Body::from(serde_json::to_vec(body).unwrap()))
                .unwrap(),
        );
    };
    let (method, uri, _, send) = next(handle).await;
    assert_eq!(method, Method::GET, "{uri}");
    assert!(uri.starts_with(&base), "{uri}");
    assert!(
        uri.contains(&format!(
            "labelSelector=launchplane.dev%2Fincident-of%3D{subject}"
        )),
        "{uri}"
    );
    reply(
        send,
        200,
        &json!({"apiVersion": "launchplane.dev/v1alpha1", "kind": "IncidentList",
                "metadata": {"resourceVersion": "1"}, "items": []}),
    );
    let (method, uri, created, send) = next(handle).await;
    assert_eq!(method, Method::POST, "{uri}");
    assert!(uri.starts_with(&format!("{base}?")), "{uri}");
    assert_eq!(created["metadata"]["name"], name);
    assert_eq!(
        created["metadata"]["labels"]["launchplane.dev/incident-of"],
        subject
    );
    assert!(created.get("status").is_none_or(Value::is_null), "{created}");
    let mut stored = created.clone();
    stored["metadata"]["uid"] = json!("incident-uid");
    stored["metadata"]["generation"] = json!(1);
    reply(send, 201, &stored);
    expect_status_patch(handle, "incidents", name, &stored).await["status"].clone()
}

/// After the reconcile dropped every client, no request may be left.
async fn expect_silence(handle: &mut Verifier) {
    if let Ok(Some((request, _))) = tokio::time::timeout(Duration::from_secs(1), handle.next_request()).await
    {
        panic!("unexpected call: {} {}", request.method(), request.uri());
    }
}

// === ProviderTarget ===

#[tokio::test]
async fn provider_target_writes_the_core_verdict_by_ssa_and_no_event_for_a_first_match() {
    let pt = target();
    let (ctx, mut handle, metrics) = context(vec![config()], vec![pt.clone()]);
    let view = snapshot(vec![observed("app-1", "shop-prod")]);
    ctx.world.providers.publish(&format!("{NS}/main"), view.clone());

    // What the pure core says for these facts is what must be written.
    let expected =
        launchplane_core::provider_target::reconcile(&pt, &view.snapshot.window(&view.settings), &[], now())
            .status;
    assert_eq!(expected.verdict, Some(Verdict::Matched));

    let server = tokio::spawn(async move {
        let body = expect_status_patch(&mut handle, "providertargets", "shop-prod", &target()).await;
        assert_eq!(body["apiVersion"], "launchplane.dev/v1alpha1");
        assert_eq!(body["kind"], "ProviderTarget");
        assert_eq!(body["status"], serde_json::to_value(&expected).unwrap());
        assert_eq!(body["status"]["verdict"], "Matched");
        handle
    });
    let action = controller::reconcile(Arc::new(pt), ctx).await.unwrap();
    let mut handle = server.await.unwrap();
    expect_silence(&mut handle).await;

    // Requeued (at the poll interval): never left waiting for an edit.
    assert_ne!(action, Action::await_change());
    assert!(
        metrics
            .encode()
            .contains(r#"launchplane_reconciles_total{kind="ProviderTarget"} 1"#)
    );
}

#[tokio::test]
async fn provider_target_publishes_an_event_only_when_the_verdict_changes() {
    // Listed two polls ago, absent from the last listing (Unverifiable until confirmed); now a
    // later listing lacks it too: the id is gone from Dokploy.
    let mut pt = target();
    for (secs_ago, listed) in [(120, vec![observed("app-1", "shop-prod")]), (60, vec![])] {
        let mut view = snapshot(listed);
        let at = now() - jiff::SignedDuration::from_secs(secs_ago);
        view.snapshot = Arc::new(Snapshot {
            observed_at: Some(at),
            last_poll_at: Some(at),
            ..(*view.snapshot).clone()
        });
        pt.status = Some(
            launchplane_core::provider_target::reconcile(&pt, &view.snapshot.window(&view.settings), &[], at)
                .status,
        );
    }
    assert_eq!(
        pt.status.as_ref().and_then(|s| s.reason.as_deref()),
        Some("AbsenceUnconfirmed")
    );
    let (ctx, mut handle, _) = context(vec![config()], vec![pt.clone()]);
    ctx.world
        .providers
        .publish(&format!("{NS}/main"), snapshot(vec![observed("app-2", "other")]));

    let server = tokio::spawn(async move {
        let body = expect_status_patch(&mut handle, "providertargets", "shop-prod", &target()).await;
        assert_eq!(body["status"]["verdict"], "Missing");
        let event = expect_event(&mut handle).await;
        assert_eq!(event["reason"], "Missing");
        assert_eq!(event["type"], "Warning");
        assert_eq!(event["regarding"]["name"], "shop-prod");
        assert!(
            event["note"]
                .as_str()
                .unwrap()
                .starts_with("verdict Unverifiable -> Missing")
        );
        // No Lane names the target: its failure starts an incident's clock.
        let incident = expect_pending_incident(
            &mut handle,
            "target.shop-prod",
            "target.shop-prod.target-verified",
        )
        .await;
        assert_eq!(incident["state"], "Pending");
        assert_eq!(incident["verdict"], "Missing");
        handle
    });
    controller::reconcile(Arc::new(pt), ctx).await.unwrap();
    let mut handle = server.await.unwrap();
    expect_silence(&mut handle).await;
}

#[tokio::test]
async fn provider_target_with_an_unchanged_status_makes_no_call() {
    let mut pt = target();
    let view = snapshot(vec![observed("app-1", "shop-prod")]);
    pt.status = Some(
        launchplane_core::provider_target::reconcile(&pt, &view.snapshot.window(&view.settings), &[], now())
            .status,
    );
    let (ctx, mut handle, _) = context(vec![config()], vec![pt.clone()]);
    ctx.world.providers.publish(&format!("{NS}/main"), view);
    controller::reconcile(Arc::new(pt), ctx).await.unwrap();
    expect_silence(&mut handle).await;
}

#[tokio::test]
async fn provider_target_whose_config_is_missing_is_stalled_and_names_it() {
    let pt = target();
    let (ctx, mut handle, _) = context(vec![], vec![pt.clone()]);
    let server = tokio::spawn(async move {
        let body = expect_status_patch(&mut handle, "providertargets", "shop-prod", &target()).await;
        assert_eq!(body["status"]["verdict"], "Unverifiable");
        assert_eq!(body["status"]["reason"], "ProviderConfigNotFound");
        let stalled = body["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Stalled")
            .unwrap()
            .clone();
        assert_eq!(stalled["status"], "True");
        assert!(
            stalled["message"]
                .as_str()
                .unwrap()
                .contains("ProviderConfig shop/main")
        );
        // A first verdict that is not Matched is news.
        let event = expect_event(&mut handle).await;
        assert_eq!(event["reason"], "Unverifiable");
        let incident = expect_pending_incident(
            &mut handle,
            "target.shop-prod",
            "target.shop-prod.target-verified",
        )
        .await;
        assert_eq!(incident["verdict"], "Unverifiable");
        handle
    });
    controller::reconcile(Arc::new(pt), ctx).await.unwrap();
    let mut handle = server.await.unwrap();
    expect_silence(&mut handle).await;
}

// === ProviderConfig ===

#[tokio::test]
async fn provider_config_with_a_missing_secret_is_stalled_and_names_the_secret() {
    let pc = config();
    let (ctx, mut handle, _) = context(vec![pc.clone()], vec![target()]);
    let server = tokio::spawn(async move {
        let not_found = json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "secrets \"dokploy-key\" not found", "reason": "NotFound", "code": 404
        });
        let get = expect(
            &mut handle,
            Method::GET,
            &format!("/api/v1/namespaces/{NS}/secrets/dokploy-key"),
            404,
            not_found,
        )
        .await;
        assert_eq!(get, Value::Null);
        let body = expect_status_patch(&mut handle, "providerconfigs", "main", &config()).await;
        let status: launchplane_api::resources::ProviderConfigStatus =
            serde_json::from_value(body["status"].clone()).unwrap();
        assert_eq!(status.verdict, Some(Verdict::Unverifiable));
        assert_eq!(status.target_count, Some(1));
        let stalled = find(&status.conditions, types::STALLED).unwrap();
        assert_eq!(stalled.status, "True");
        assert_eq!(stalled.reason, "SecretNotFound");
        assert!(
            stalled.message.contains("Secret shop/dokploy-key"),
            "{}",
            stalled.message
        );
        assert!(stalled.message.contains("api-key"));
        let event = expect_event(&mut handle).await;
        assert_eq!(event["reason"], "Unverifiable");
        handle
    });
    let action = controller::reconcile(Arc::new(pc), ctx.clone()).await.unwrap();
    // Retried soon (Secret and config are often applied together), not left waiting.
    assert_ne!(action, Action::await_change());
    assert!(
        ctx.world.providers.view(&format!("{NS}/main")).is_none(),
        "no client without a key"
    );
    drop(ctx);
    let mut handle = server.await.unwrap();
    expect_silence(&mut handle).await;
}

#[tokio::test]
async fn provider_config_api_errors_go_through_the_error_policy() {
    let pc = config();
    let (ctx, mut handle, metrics) = context(vec![pc.clone()], vec![]);
    let server = tokio::spawn(async move {
        let boom = json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "etcd is sad", "reason": "InternalError", "code": 500
        });
        // kube retries nothing by itself here; one GET, then the error surfaces.
        expect(
            &mut handle,
            Method::GET,
            &format!("/api/v1/namespaces/{NS}/secrets/dokploy-key"),
            500,
            boom,
        )
        .await;
        handle
    });
    let pc = Arc::new(pc);
    let error = controller::reconcile(pc.clone(), ctx.clone()).await.unwrap_err();
    assert_eq!(error.category(), "read_secret");
    let action = controller::error_policy(pc.clone(), &error, ctx.clone());
    assert_ne!(action, Action::await_change(), "transient errors are retried");
    assert!(metrics.encode().contains(
        r#"launchplane_reconcile_failures_total{kind="ProviderConfig",error_category="read_secret"} 1"#
    ));

    // An object without a namespace is the user's to fix: wait for a change.
    let mut orphan = config();
    orphan.metadata.namespace = None;
    let error = controller::reconcile(Arc::new(orphan.clone()), ctx.clone())
        .await
        .unwrap_err();
    assert_eq!(
        controller::error_policy(Arc::new(orphan.clone()), &error, ctx.clone()),
        Action::await_change()
    );
    drop(ctx);
    let mut handle = server.await.unwrap();
    expect_silence(&mut handle).await;
}

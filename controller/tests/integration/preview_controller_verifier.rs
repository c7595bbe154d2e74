//! The exact API calls of the Preview and Product controllers, against a scripted API server
//! (kube's tower-test `ApiServerVerifier` pattern), with Dokploy played by the simulator.
//!
//! - A new Preview: the one call is the JSON patch kube's `finalizer` helper sends to add
//!   `launchplane.dev/preview-teardown`, before any Dokploy call. The next reconcile deploys
//!   it, writing status only by server-side apply on `/status` (field manager
//!   `launchplane.dev/controller`), with the `Deploying` phase persisted before the deploy.
//! - A Preview being deleted: a teardown Dokploy refuses keeps the finalizer (no finalizer
//!   patch) and says why in status; once Dokploy deletes, the finalizer is removed, and only
//!   after the application is gone.
//! - An expired ttl: status, then a DELETE of the Preview; Dokploy is not touched.
//! - The Product controller: one SSA status write with previewCount, orphans and
//!   protectedArtifacts; nothing when nothing changed. The sweep's baseline is in that status
//!   and holds across restarts; nothing is swept before the Preview cache has listed.
//! - The Preview watch lets a finalizer-only change through (and still drops status writes).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use futures::StreamExt;
use http::{Method, Request, Response};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Client;
use kube::client::Body;
use kube::runtime::controller::Action;
use kube::runtime::watcher;
use launchplane::engine::cache;
use launchplane::engine::driver::DriveLimits;
use launchplane::engine::executor::Executor;
use launchplane::engine::preview::{PreviewSettings, PreviewWorld};
use launchplane::engine::providers::{Fingerprint, PollerSlot};
use launchplane::engine::{Caches, Error as EngineError};
use launchplane::k8s::context::{Context, Wakes};
use launchplane::k8s::controller;
use launchplane::k8s::run::filtered_previews;
use launchplane::metrics::Metrics;
use launchplane::observe::poller::Poller;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane_api::conditions::SystemClock;
use launchplane_api::ownership::Owner;
use launchplane_api::resources::{
    Artifact, CleanupPolicy, GenerationPhase, Lane, LaneSpec, LocalObjectRef, Preview, PreviewGeneration,
    PreviewPolicy, PreviewSpec, PreviewStatus, Product, ProductStatus, ProviderTarget, PullRequest,
    SweepBaseline,
};
use launchplane_core::observation::PollSettings;
use launchplane_core::preview::FINALIZER;
use launchplane_e2e::sim::{DokploySim, Fault, SeedApplication};
use launchplane_providers::{ApiKey, DokployClient};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tower_test::mock::{Handle, SendResponse};

use support::{
    NS, artifact, ns, preview_policy, shop_product, sim_with_preview_template, single_attempt_config, store,
    template_target,
};

const NAME: &str = "shop-pr-42";
const HOST: &str = "pr-42.preview.shop.test";
const SSA_QUERY: &str = "?&force=true&fieldManager=launchplane.dev%2Fcontroller";
/// Every Dokploy route that changes something.
const MUTATIONS: [&str; 8] = [
    "application.create",
    "application.saveDockerProvider",
    "application.saveEnvironment",
    "application.update",
    "application.deploy",
    "application.delete",
    "domain.create",
    "domain.delete",
];

type Verifier = Handle<Request<Body>, Response<Body>>;

fn previews_uri() -> String {
    format!("/apis/launchplane.dev/v1alpha1/namespaces/{NS}/previews")
}

fn new_preview() -> Preview {
    let mut p = ns(Preview::new(
        NAME,
        PreviewSpec {
            product_ref: LocalObjectRef::new("shop"),
            pull_request: PullRequest {
                repository: "github.com/acme/shop".into(),
                number: 42,
                url: None,
                head_sha: "a".repeat(40),
            },
            artifact_ref: LocalObjectRef::new("shop-a"),
            ttl: None,
        },
    ));
    p.metadata.generation = Some(1);
    p.metadata.uid = Some("preview-uid".into());
    p.metadata.creation_timestamp = Some(Time(Timestamp::now()));
    p
}

fn with_finalizer(mut p: Preview) -> Preview {
    p.metadata.finalizers = Some(vec![FINALIZER.into()]);
    p
}

/// The simulator with a preview environment holding the template app, and the objects around it.
struct Fixture {
    sim: Arc<DokploySim>,
    env: String,
    product: Product,
    template: ProviderTarget,
    artifacts: Vec<Artifact>,
    client: Arc<DokployClient>,
}

async fn fixture() -> Fixture {
    let (sim, env, template_id) = sim_with_preview_template().await;
    let product = shop_product(PreviewPolicy {
        environment: Some("previews".into()),
        cleanup: CleanupPolicy::Report,
        ..preview_policy()
    });
    let template = template_target(&template_id);
    let config = single_attempt_config(&sim);
    Fixture {
        client: Arc::new(DokployClient::new(config).unwrap()),
        sim: Arc::new(sim),
        env,
        product,
        template,
        artifacts: vec![
            artifact("shop-a", 'a'),
            artifact("shop-b", 'b'),
            artifact("shop-c", 'c'),
        ],
    }
}

impl Fixture {
    fn settings(&self) -> PreviewSettings {
        PreviewSettings {
            poll_delay: Duration::from_millis(40),
            deploy_timeout: Duration::from_secs(20),
            resend_after: Duration::from_secs(60),
            verify_timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(20),
            probe_via: Some(self.sim.ingress_url()),
            resync: Duration::from_secs(300),
            instance: "verifier-test".into(),
        }
    }

    /// A Context on a scripted API server, with the simulator registered as the
    /// `shop/dokploy` provider, the Product, its template and the artifacts cached.
    fn context(&self) -> (Arc<Context>, Verifier) {
        self.context_with(vec![], store(vec![]))
    }

    /// [`Fixture::context`] with these Lanes and this Preview cache (the Product reconcile
    /// reads both).
    fn context_with(&self, lanes: Vec<Lane>, previews: cache::Cache<Preview>) -> (Arc<Context>, Verifier) {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let caches = Caches {
            targets: store(vec![self.template.clone()]),
            products: store(vec![self.product.clone()]),
            artifacts: store(self.artifacts.clone()),
            lanes: store(lanes),
            previews,
            ..support::listed_caches()
        };
        let ctx = Context::new(
            Client::new(service, "default"),
            Some("test".into()),
            "verifier-test".into(),
            Arc::new(Metrics::new()),
            Prober::new(ProberConfig::default()).unwrap(),
            caches,
            Wakes::none(),
            Arc::new(SystemClock),
        )
        .with_previews(self.settings());
        ctx.world.providers.set_slot(
            &format!("{NS}/dokploy"),
            PollerSlot {
                fingerprint: Fingerprint {
                    url: self.sim.base_url(),
                    api_key: ApiKey::new(self.sim.api_key()),
                    rate_limit: (1000, 1000),
                },
                poller: Poller::new(self.client.clone(), PollSettings::default()),
                next_poll_at: None,
                last_poll_at: None,
            },
        );
        (Arc::new(ctx), handle)
    }

    fn mutations(&self) -> u64 {
        MUTATIONS.iter().map(|r| self.sim.call_count(r)).sum()
    }

    fn calls(&self) -> u64 {
        self.sim.call_counts().values().sum()
    }

    /// Deploy `preview` to Ready directly (no API server): the status a live preview has.
    async fn deployed(&self, preview: &Preview) -> PreviewStatus {
        let world = PreviewWorld {
            preview,
            product: Some(&self.product),
            template: Some(&self.template),
            artifact: self.artifacts.first(),
        };
        let settings = self.settings();
        let report = launchplane::engine::preview::drive(
            &world,
            Some(&Executor::new(self.client.clone())),
            &Prober::new(ProberConfig::default()).unwrap(),
            &settings,
            DriveLimits {
                deadline: settings.deadline,
                ..DriveLimits::default()
            },
            &support::StatusLog::default(),
            &SystemClock,
        )
        .await;
        assert_eq!(
            report.status.generations.last().map(|g| g.phase),
            Some(GenerationPhase::Ready),
            "{report:?}"
        );
        report.status
    }

    async fn ingress(&self, host: &str) -> u16 {
        reqwest::Client::new()
            .get(format!("{}/healthz", self.sim.ingress_url()))
            .header("host", host)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

// === the scripted API server ===

struct Call {
    method: Method,
    uri: String,
    content_type: String,
    body: Value,
    send: SendResponse<Response<Body>>,
}

/// The next request, or `None` once every client is gone.
async fn next_call(handle: &mut Verifier, what: &str) -> Option<Call> {
    let (request, send) = tokio::time::timeout(Duration::from_secs(15), handle.next_request())
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))?;
    let method = request.method().clone();
    let uri = request.uri().to_string();
    let content_type = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let bytes = request.into_body().collect_bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    Some(Call {
        method,
        uri,
        content_type,
        body,
        send,
    })
}

async fn expect_call(handle: &mut Verifier, what: &str) -> Call {
    next_call(handle, what)
        .await
        .unwrap_or_else(|| panic!("client gone before {what}"))
}

fn answer(send: SendResponse<Response<Body>>, status: u16, body: &Value) {
    send.send_response(
        Response::builder()
            .status(status)
            .body(Body::from(serde_json::to_vec(body).unwrap()))
            .unwrap(),
    );
}

/// Assert `call` is the SSA write of a status on `/status` with the one field manager.
fn assert_status_ssa(call: &Call, plural: &str, name: &str, kind: &str) {
    assert_eq!(call.method, Method::PATCH, "{}", call.uri);
    assert_eq!(
        call.uri,
        format!("/apis/launchplane.dev/v1alpha1/namespaces/{NS}/{plural}/{name}/status{SSA_QUERY}")
    );
    assert_eq!(call.content_type, "application/apply-patch+yaml");
    assert_eq!(call.body["apiVersion"], "launchplane.dev/v1alpha1");
    assert_eq!(call.body["kind"], kind);
    assert!(call.body.get("spec").is_none(), "a status write carries no spec");
    assert!(
        call.body.get("metadata").is_none(),
        "a status write carries no metadata"
    );
}

fn condition<'a>(status: &'a Value, kind: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} condition in {status}"))
}

fn with_status(object: &impl serde::Serialize, status: &Value) -> Value {
    let mut v = serde_json::to_value(object).unwrap();
    v["status"] = status.clone();
    v
}

/// Drop the context, then assert the reconcile made no call beyond the scripted ones.
async fn assert_no_more_calls(ctx: Arc<Context>, handle: &mut Verifier) {
    drop(ctx);
    if let Ok(Some((request, _))) = tokio::time::timeout(Duration::from_secs(1), handle.next_request()).await
    {
        panic!("unexpected call: {} {}", request.method(), request.uri());
    }
}

// === the Preview controller ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_preview_gets_the_finalizer_before_any_dokploy_call_then_deploys_with_ssa_status() {
    let fx = fixture().await;

    // 1. Without the finalizer: the one call is the JSON patch that adds it. Nothing else.
    let (ctx, mut handle) = fx.context();
    let sim = fx.sim.clone();
    let server = tokio::spawn(async move {
        let call = expect_call(&mut handle, "the finalizer patch").await;
        assert_eq!(call.method, Method::PATCH);
        assert_eq!(call.uri, format!("{}/{NAME}?", previews_uri()));
        assert_eq!(call.content_type, "application/json-patch+json");
        assert_eq!(
            call.body,
            json!([
                {"op": "test", "path": "/metadata/finalizers", "value": null},
                {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]},
            ])
        );
        assert_eq!(
            sim.call_counts().values().sum::<u64>(),
            0,
            "the finalizer comes before any Dokploy call"
        );
        answer(
            call.send,
            200,
            &serde_json::to_value(with_finalizer(new_preview())).unwrap(),
        );
        handle
    });
    let action = controller::reconcile(Arc::new(new_preview()), ctx.clone())
        .await
        .unwrap();
    let mut handle = server.await.unwrap();
    assert_no_more_calls(ctx, &mut handle).await;
    assert_eq!(
        action,
        Action::await_change(),
        "the patch triggers the next reconcile"
    );
    assert_eq!(fx.calls(), 0, "no Dokploy call before the finalizer is on");

    // 2. With the finalizer: deployed, every status write by SSA on /status; the Deploying
    //    phase is persisted before Dokploy is asked to deploy (restart safety).
    let (ctx, mut handle) = fx.context();
    let sim = fx.sim.clone();
    let server = tokio::spawn(async move {
        let mut writes: Vec<(Value, u64)> = Vec::new();
        while let Some(call) = next_call(&mut handle, "a status write").await {
            assert_status_ssa(&call, "previews", NAME, "Preview");
            let status = call.body["status"].clone();
            writes.push((status.clone(), sim.call_count("application.deploy")));
            answer(
                call.send,
                200,
                &with_status(&with_finalizer(new_preview()), &status),
            );
        }
        writes
    });
    let action = controller::reconcile(Arc::new(with_finalizer(new_preview())), ctx.clone())
        .await
        .unwrap();
    drop(ctx);
    let writes = server.await.unwrap();
    assert!(writes.len() >= 3, "target id, Deploying, final: {writes:#?}");

    // The application id is recorded before anything is deployed to it.
    let (first, deploys) = &writes[0];
    let app = first["targetId"]
        .as_str()
        .expect("the first write records the app")
        .to_string();
    assert_eq!(*deploys, 0);
    assert_eq!(first["generations"][0]["phase"], "Requested");
    let (deploying, deploys) = writes
        .iter()
        .find(|(s, _)| s["generations"][0]["phase"] == "Deploying")
        .expect("the Deploying phase is persisted");
    assert_eq!(*deploys, 0, "Deploying is written before application.deploy");
    assert_eq!(deploying["targetId"], app.as_str());

    let (last, _) = writes.last().unwrap();
    assert_eq!(last["verdict"], "Matched", "{last}");
    assert_eq!(last["url"], format!("https://{HOST}"));
    assert_eq!(last["slug"], "pr-42");
    assert_eq!(last["observedGeneration"], 1);
    assert_eq!(last["generations"][0]["phase"], "Ready");
    assert_eq!(last["servingGeneration"], last["generations"][0]["id"]);
    assert_eq!(condition(last, "Ready")["status"], "True");
    assert_eq!(fx.sim.service_json(&app).unwrap()["name"], "shop-pr-42");
    assert_eq!(
        fx.sim.service_json(&app).unwrap()["environmentId"],
        fx.env.as_str()
    );
    assert_eq!(fx.sim.call_count("application.deploy"), 1);
    assert_eq!(fx.ingress(HOST).await, 200);
    assert_eq!(
        action,
        Action::requeue(Duration::from_secs(300)),
        "settled: resync"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_teardown_keeps_the_finalizer_and_says_why_then_it_is_released_after_teardown() {
    let fx = fixture().await;
    let live = with_finalizer(new_preview());
    let status = fx.deployed(&live).await;
    let app = status.target_id.clone().unwrap();
    assert_eq!(fx.ingress(HOST).await, 200);
    let mut deleting = live.clone();
    deleting.status = Some(status);
    deleting.metadata.deletion_timestamp = Some(Time(Timestamp::now()));
    deleting.metadata.generation = Some(2);

    // 1. Dokploy refuses the application delete: one status write (Stalled, TeardownFailed,
    //    naming the app), no finalizer patch, an error for the retry.
    fx.sim.inject("application.delete", Fault::Status(500));
    let (ctx, mut handle) = fx.context();
    let answer_with = deleting.clone();
    let server = tokio::spawn(async move {
        let call = expect_call(&mut handle, "the teardown failure status").await;
        assert_status_ssa(&call, "previews", NAME, "Preview");
        let status = call.body["status"].clone();
        answer(call.send, 200, &with_status(&answer_with, &status));
        (handle, status)
    });
    let result = controller::reconcile(Arc::new(deleting.clone()), ctx.clone()).await;
    let (mut handle, written) = server.await.unwrap();
    assert_no_more_calls(ctx, &mut handle).await;
    match result {
        Err(EngineError::Teardown { message, .. }) => assert!(message.contains(&app), "{message}"),
        other => panic!("expected a teardown error, got {other:?}"),
    }
    let stalled = condition(&written, "Stalled");
    assert_eq!(stalled["status"], "True");
    assert_eq!(stalled["reason"], "TeardownFailed");
    let why = stalled["message"].as_str().unwrap();
    assert!(why.contains("finalizer stays") && why.contains(&app), "{why}");
    assert_eq!(written["targetId"], app.as_str(), "the recorded target is kept");
    assert!(fx.sim.service_json(&app).is_some(), "the app is still there");

    // 2. Dokploy deletes again: the teardown completes, and only then is the finalizer removed
    //    (the patch kube's helper sends: test the index, remove it). No status write.
    fx.sim.clear_faults();
    deleting.status = Some(serde_json::from_value(written).unwrap());
    let (ctx, mut handle) = fx.context();
    let sim = fx.sim.clone();
    let server_app = app.clone();
    let mut released = deleting.clone();
    released.metadata.finalizers = None;
    let server = tokio::spawn(async move {
        let call = expect_call(&mut handle, "the finalizer removal").await;
        assert_eq!(call.method, Method::PATCH);
        assert_eq!(call.uri, format!("{}/{NAME}?", previews_uri()));
        assert_eq!(call.content_type, "application/json-patch+json");
        assert_eq!(
            call.body,
            json!([
                {"op": "test", "path": "/metadata/finalizers/0", "value": FINALIZER},
                {"op": "remove", "path": "/metadata/finalizers/0"},
            ])
        );
        assert!(
            sim.service_json(&server_app).is_none(),
            "the finalizer is released only once the app is gone"
        );
        assert!(!sim.app_urls().contains_key(&server_app));
        answer(call.send, 200, &serde_json::to_value(released).unwrap());
        handle
    });
    let action = controller::reconcile(Arc::new(deleting), ctx.clone())
        .await
        .unwrap();
    let mut handle = server.await.unwrap();
    assert_no_more_calls(ctx, &mut handle).await;
    assert_eq!(action, Action::await_change());
    assert_eq!(fx.ingress(HOST).await, 404, "the preview host no longer routes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_preview_is_deleted_by_the_controller_without_touching_dokploy() {
    let fx = fixture().await;
    let mut expired = with_finalizer(new_preview());
    expired.spec.ttl = Some("1h".into());
    expired.metadata.creation_timestamp = Some(Time(
        Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_hours(2))
            .unwrap(),
    ));

    let (ctx, mut handle) = fx.context();
    let answer_with = expired.clone();
    let server = tokio::spawn(async move {
        let call = expect_call(&mut handle, "the Expired status").await;
        assert_status_ssa(&call, "previews", NAME, "Preview");
        let status = call.body["status"].clone();
        let reconciling = condition(&status, "Reconciling");
        assert_eq!(reconciling["status"], "True");
        assert_eq!(reconciling["reason"], "Expired");
        assert!(status["expiresAt"].is_string(), "{status}");
        answer(call.send, 200, &with_status(&answer_with, &status));

        let call = expect_call(&mut handle, "the DELETE").await;
        assert_eq!(call.method, Method::DELETE);
        assert_eq!(call.uri, format!("{}/{NAME}?", previews_uri()));
        let mut deleting = with_status(&answer_with, &status);
        deleting["metadata"]["deletionTimestamp"] = json!(Timestamp::now().to_string());
        answer(call.send, 200, &deleting);
        handle
    });
    let action = controller::reconcile(Arc::new(expired), ctx.clone())
        .await
        .unwrap();
    let mut handle = server.await.unwrap();
    assert_no_more_calls(ctx, &mut handle).await;
    assert_eq!(action, Action::await_change(), "the finalizer takes it from here");
    assert_eq!(fx.calls(), 0, "an expired preview is not deployed");
}

// === the Product controller ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_product_controller_writes_one_status_with_preview_count_orphans_and_protected_artifacts() {
    let fx = fixture().await;
    let seed = |name: &str| {
        fx.sim
            .seed_application(
                &fx.env,
                SeedApplication {
                    name: name.into(),
                    ..Default::default()
                },
            )
            .unwrap()
    };
    let _live = seed("shop-pr-42");
    let orphan = seed("shop-pr-7");
    let _unrelated = seed("shop-worker");

    // A live preview whose generations used shop-a (Ready) and shop-c (Failed), and a lane
    // that wants shop-b.
    let mut live = with_finalizer(new_preview());
    live.status = Some(PreviewStatus {
        generations: vec![
            PreviewGeneration {
                id: "g1".into(),
                artifact: Some("shop-a".into()),
                phase: GenerationPhase::Ready,
                ..Default::default()
            },
            PreviewGeneration {
                id: "g2".into(),
                artifact: Some("shop-c".into()),
                phase: GenerationPhase::Failed,
                ..Default::default()
            },
        ],
        ..Default::default()
    });
    let lane = ns(Lane::new(
        "shop-testing",
        LaneSpec {
            product_ref: LocalObjectRef::new("shop"),
            stage: "testing".into(),
            target_ref: LocalObjectRef::new("shop-testing"),
            artifact_ref: Some(LocalObjectRef::new("shop-b")),
            ..Default::default()
        },
    ));
    let (lanes, previews) = (vec![lane], vec![live]);
    let (ctx, mut handle) = fx.context_with(lanes.clone(), store(previews.clone()));
    let answer_with = fx.product.clone();
    let server = tokio::spawn(async move {
        let call = expect_call(&mut handle, "the Product status").await;
        assert_status_ssa(&call, "products", "shop", "Product");
        let status = call.body["status"].clone();
        answer(call.send, 200, &with_status(&answer_with, &status));
        (handle, status)
    });
    let action = controller::reconcile(Arc::new(fx.product.clone()), ctx.clone())
        .await
        .unwrap();
    let (mut handle, status) = server.await.unwrap();
    assert_no_more_calls(ctx, &mut handle).await;
    assert_eq!(action, Action::requeue(Duration::from_secs(300)));
    assert_eq!(status["previewCount"], 1, "{status}");
    assert_eq!(
        status["orphans"],
        json!([{"targetId": orphan, "displayName": "shop-pr-7", "reason": status["orphans"][0]["reason"]}]),
        "only the unclaimed preview-named app is an orphan"
    );
    assert!(status["orphans"][0]["reason"].is_string());
    assert_eq!(
        status["protectedArtifacts"],
        json!(["shop-a", "shop-b"]),
        "the lane's artifact and the preview's non-failed generation"
    );
    assert_eq!(status["lanes"][0]["name"], "shop-testing", "{status}");
    assert_eq!(fx.mutations(), 0, "cleanup: Report deletes nothing");

    // Reconciled again with that status stored: nothing changed, nothing written.
    let mut stored = fx.product.clone();
    stored.status = Some(serde_json::from_value(status).unwrap());
    let (ctx, mut handle) = fx.context_with(lanes, store(previews));
    controller::reconcile(Arc::new(stored), ctx.clone())
        .await
        .unwrap();
    assert_no_more_calls(ctx, &mut handle).await;
}

/// Run the Product controller once for `product` on a fresh context and stores (as a
/// restarted controller would: nothing in memory), answering every status write. Returns the
/// statuses written.
async fn product_round(fx: &Fixture, product: &Product, previews: cache::Cache<Preview>) -> Vec<Value> {
    let (ctx, mut handle) = fx.context_with(vec![], previews);
    let answer_with = product.clone();
    let server = tokio::spawn(async move {
        let mut writes = Vec::new();
        while let Some(call) = next_call(&mut handle, "a Product status write").await {
            assert_status_ssa(&call, "products", "shop", "Product");
            let status = call.body["status"].clone();
            answer(call.send, 200, &with_status(&answer_with, &status));
            writes.push(status);
        }
        writes
    });
    controller::reconcile(Arc::new(product.clone()), ctx.clone())
        .await
        .unwrap();
    drop(ctx);
    server.await.unwrap()
}

/// D11 in the cluster: the sweep's baseline is written to Product status, not kept in memory,
/// so a restarted controller holds the same line. The first listing only sets it; a listing
/// with fewer than half its targets deletes nothing, twice, each time on a fresh controller;
/// a whole listing again deletes the orphan and moves the baseline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_baseline_is_persisted_in_product_status_and_holds_across_restarts() {
    let fx = fixture().await;
    let mut product = fx.product.clone();
    product.spec.preview.cleanup = CleanupPolicy::Delete;
    product.spec.preview.delete_budget = 10;
    let seed = |name: &str, owner: Option<Owner>| {
        fx.sim
            .seed_application(
                &fx.env,
                SeedApplication {
                    name: name.into(),
                    description: owner.map(|o| o.describe("seeded")),
                    ..Default::default()
                },
            )
            .unwrap()
    };
    let orphan = seed(
        "shop-pr-7",
        Some(Owner::new(
            "verifier-test",
            NS,
            "Preview",
            "shop-pr-7",
            Some("gone"),
        )),
    );
    let workers: Vec<String> = (1..=6).map(|n| seed(&format!("shop-worker-{n}"), None)).collect();

    // 1. No baseline yet: the listing (template, orphan, 6 workers) becomes it; no delete.
    let writes = product_round(&fx, &product, store(vec![])).await;
    let status = writes
        .last()
        .expect("the first sweep writes its baseline")
        .clone();
    assert_eq!(
        status["sweepBaseline"],
        json!({"environmentId": fx.env, "targets": 8}),
        "{status}"
    );
    assert_eq!(fx.sim.call_count("application.delete"), 0);

    // 2. The listing loses the workers (2 of 8). Each round on a freshly started controller
    //    that only has the stored status: nothing deleted, the baseline kept.
    for id in &workers {
        assert!(fx.sim.remove_service(id));
    }
    let mut stored = product.clone();
    stored.status = Some(serde_json::from_value(status).unwrap());
    for round in ["after a restart", "after another restart"] {
        let writes = product_round(&fx, &stored, store(vec![])).await;
        if let Some(status) = writes.last() {
            assert_eq!(
                status["sweepBaseline"],
                json!({"environmentId": fx.env, "targets": 8}),
                "{round}"
            );
            assert!(
                status["orphans"][0]["reason"]
                    .as_str()
                    .unwrap()
                    .contains("markedly fewer"),
                "{round}: {status}"
            );
            stored.status = Some(serde_json::from_value(status.clone()).unwrap());
        }
        assert!(fx.sim.service_json(&orphan).is_some(), "{round}: deleted");
        assert_eq!(fx.sim.call_count("application.delete"), 0, "{round}");
    }

    // 3. Whole again (4 of 8): the orphan is deleted and the baseline follows.
    seed("shop-cron-1", None);
    seed("shop-cron-2", None);
    let writes = product_round(&fx, &stored, store(vec![])).await;
    assert!(fx.sim.service_json(&orphan).is_none(), "a whole listing deletes");
    assert_eq!(
        writes.last().unwrap()["sweepBaseline"],
        json!({"environmentId": fx.env, "targets": 3})
    );
}

/// Nothing is swept before the Preview cache has listed: until then a live preview's
/// application would look orphaned. The reconcile waits (no Dokploy call at all), then
/// sweeps with the live Preview known and leaves its application alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_product_controller_sweeps_nothing_before_the_preview_cache_has_listed() {
    let fx = fixture().await;
    let live = with_finalizer(new_preview());
    let app = fx
        .sim
        .seed_application(
            &fx.env,
            SeedApplication {
                name: "shop-pr-42".into(),
                description: Some(
                    Owner::new("verifier-test", NS, "Preview", NAME, Some("preview-uid")).describe("seeded"),
                ),
                ..Default::default()
            },
        )
        .unwrap();
    let mut product = fx.product.clone();
    product.spec.preview.cleanup = CleanupPolicy::Delete;
    product.spec.preview.delete_budget = 10;
    product.status = Some(ProductStatus {
        sweep_baseline: Some(SweepBaseline {
            environment_id: fx.env.clone(),
            targets: 2,
        }),
        ..Default::default()
    });
    let (previews, mut writer) = cache::cache::<Preview>();
    let round = {
        let fx_ref = &fx;
        let product = product.clone();
        async move { product_round(fx_ref, &product, previews).await }
    };
    let feed = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            fx.calls(),
            0,
            "Dokploy was called before the Preview cache listed"
        );
        writer.apply(&watcher::Event::Init);
        writer.apply(&watcher::Event::InitApply(live));
        writer.apply(&watcher::Event::InitDone);
    };
    let (writes, ()) = tokio::join!(round, feed);
    assert!(!writes.is_empty());
    assert!(
        fx.sim.service_json(&app).is_some(),
        "the live preview's app was swept"
    );
    assert_eq!(fx.sim.call_count("application.delete"), 0);
}

// === the Preview watch ===

#[tokio::test]
async fn the_preview_watch_passes_a_finalizer_change_but_not_a_status_write() {
    let (tx, rx) = futures::channel::mpsc::unbounded();
    let (_reader, writer) = cache::cache::<Preview>();
    let mut stream = Box::pin(filtered_previews(rx, writer));
    let first = new_preview();
    let finalized = with_finalizer(first.clone());
    let mut status_written = finalized.clone();
    status_written.status = Some(PreviewStatus {
        url: Some(format!("https://{HOST}")),
        ..Default::default()
    });
    let mut deleting = status_written.clone();
    deleting.metadata.deletion_timestamp = Some(Time(Timestamp::now()));
    deleting.metadata.generation = Some(2);
    for p in [first, finalized, status_written, deleting] {
        tx.unbounded_send(Ok(watcher::Event::Apply(p))).unwrap();
    }
    drop(tx);
    let seen: Vec<Preview> = stream.by_ref().map(Result::unwrap).collect().await;
    let summary: Vec<(bool, bool, bool)> = seen
        .iter()
        .map(|p| {
            (
                p.metadata.finalizers.is_some(),
                p.status.is_some(),
                p.metadata.deletion_timestamp.is_some(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![(false, false, false), (true, false, false), (true, true, true)],
        "first sighting, the added finalizer (same generation) and the deletion; not the status write"
    );
}

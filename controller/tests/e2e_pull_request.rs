//! Issue 17's "Done when", on a real API server: a pull request's life from GitHub to Dokploy
//! and back.
//!
//! The receiver (`launchplane::webhooks`, the router `launchplane webhooks` serves) runs
//! in-process on a loopback port with a `KubeStore`; the controllers run in-process with PR
//! feedback pointed at the GitHub fake (token from a Secret) and preview probes through a gate
//! in front of the Dokploy simulator's ingress. Then:
//!
//! 1. a signed `opened` delivery of a pull request labelled `preview` creates the Preview,
//!    which waits for its Artifact (Reconciling `WaitingForArtifact`) and already has its one
//!    comment on the pull request;
//! 2. CI creates the Artifact: the Preview deploys (its Dokploy app is created and deployed);
//!    while the gate keeps the preview URL from answering, the GitHub deployment stays
//!    `in_progress` (no `success` before the runtime identity verifies);
//! 3. the gate opens: the identity verifies, the Preview is Ready/Matched and the deployment's
//!    last status is `success`; the pull request still has exactly one Launchplane comment;
//! 4. a signed `closed` delivery deletes the Preview; its finalizer tears the Dokploy app down
//!    and the deployment gets `inactive`.
//!
//! Needs `KUBECONFIG` (skips loudly without it, like every e2e test).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, Client};
use launchplane::engine::feedback::FeedbackSettings;
use launchplane::k8s::run::RunOptions;
use launchplane::k8s::secrets::KubeSecrets;
use launchplane::webhooks::limit::{Rate, RateLimiter};
use launchplane::webhooks::metrics::WebhookMetrics;
use launchplane::webhooks::receiver::{DEFAULT_MAX_BODY, Receiver, SecretKey, router};
use launchplane::webhooks::replay::DeliveryLog;
use launchplane::webhooks::signature::sign;
use launchplane::webhooks::store::KubeStore;
use launchplane_api::Verdict;
use launchplane_api::resources::{Artifact, LocalObjectRef, Preview, PreviewPolicy, Product, ProviderTarget};
use launchplane_core::pull_request_feedback::is_ours;
use launchplane_e2e::github::{FakeDeployment, FakePull, GitHubFake, pull_request_event};
use launchplane_e2e::sim::{DokploySim, SeedApplication, SimConfig};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

mod e2e_support;

use e2e_support::{
    Controllers, app_target, artifact_a, create_sim_provider_config, run_in_namespace, shop_product,
};

const WEBHOOK_SECRET: &str = "e2e-pr-webhook-secret";
const GITHUB_TOKEN: &str = "ghp_e2epullrequesttoken";
const PREVIEW: &str = "shop-pr-42";
const HOST: &str = "pr-42.preview.shop.test";
/// The Artifact the receiver's Preview waits for: `<product>-<first 7 of the head SHA>`.
const ARTIFACT: &str = "shop-aaaaaaa";
/// Each step's bound: a reconcile is seconds; a step that takes this long is stuck.
const STEP: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_labelled_pull_request_deploys_a_preview_with_feedback_and_closing_tears_it_down() {
    run_in_namespace("e2e_pull_request", "launchplane-e2e-pr", scenario).await;
}

async fn scenario(client: Client, ns: String) {
    let started = std::time::Instant::now();
    let sim = DokploySim::start(SimConfig::default()).await.unwrap();
    let github = GitHubFake::start(GITHUB_TOKEN).await.unwrap();
    let gate = Gate::start(sim.ingress_url()).await;
    let (project, _) = sim.seed_project("shop");
    let previews_env = sim.seed_environment(&project, "previews").unwrap();
    let template_app = sim
        .seed_application(
            &previews_env,
            SeedApplication {
                name: "shop-preview-template".into(),
                ..SeedApplication::default()
            },
        )
        .unwrap();

    let pp = PostParams::default();
    let secrets = Api::<Secret>::namespaced(client.clone(), &ns);
    for (name, key, value) in [
        ("launchplane-webhooks", "webhook-secret", WEBHOOK_SECRET),
        ("launchplane-github", "token", GITHUB_TOKEN),
    ] {
        let mut secret = Secret::default();
        secret.metadata.name = Some(name.into());
        secret.string_data = Some(BTreeMap::from([(key.into(), value.into())]));
        secrets.create(&pp, &secret).await.unwrap();
    }
    create_sim_provider_config(&client, &ns, &sim).await;
    let targets = Api::<ProviderTarget>::namespaced(client.clone(), &ns);
    targets
        .create(
            &pp,
            &app_target(
                "shop-preview-template",
                "dokploy-main",
                Some(template_app),
                "shop-preview-template",
            ),
        )
        .await
        .unwrap();
    Api::<Product>::namespaced(client.clone(), &ns)
        .create(
            &pp,
            &shop_product(PreviewPolicy {
                enabled: true,
                base_domain: Some("preview.shop.test".into()),
                template_target_ref: Some(LocalObjectRef::new("shop-preview-template")),
                environment: Some("previews".into()),
                ..PreviewPolicy::default()
            }),
        )
        .await
        .unwrap();

    let controllers = Controllers::start_with(
        &client,
        RunOptions {
            watch_namespace: Some(ns.clone()),
            instance: Some("e2e-pr".into()),
            preview_probe_via: Some(gate.url()),
            instance_id: Some(format!("e2e-pr-{ns}")),
            feedback: Some(FeedbackSettings {
                api_url: github.base_url(),
                token_namespace: None,
                token_name: "launchplane-github".into(),
                token_key: "token".into(),
            }),
        },
    );
    let receiver = start_receiver(&client, &ns).await;

    let previews = Api::<Preview>::namespaced(client.clone(), &ns);
    let outcome = std::panic::AssertUnwindSafe(steps(&client, &ns, &sim, &github, &gate, &receiver))
        .catch_unwind()
        .await;
    let live = previews.get_opt(PREVIEW).await.ok().flatten();
    controllers.stop().await;
    // A Preview left by a failed step keeps its teardown finalizer, and with no controller to
    // release it the namespace would never finish deleting. Its Dokploy app lives in the
    // simulator, which goes with the test.
    if live.is_some() {
        let _ = previews
            .patch(
                PREVIEW,
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({"metadata": {"finalizers": null}})),
            )
            .await;
    }
    receiver.task.abort();
    gate.task.abort();
    sim.shutdown().await;
    if let Err(panic) = outcome {
        eprintln!(
            "e2e_pull_request failed; the Preview: {:#?}\nGitHub deployments: {:#?}\nGitHub calls: {:#?}",
            live.map(|p| (p.metadata.finalizers, p.status)),
            github.deployments(),
            github.calls()
        );
        std::panic::resume_unwind(panic);
    }
    eprintln!("e2e_pull_request: passed in {:?}", started.elapsed());
}

async fn steps(
    client: &Client,
    ns: &str,
    sim: &DokploySim,
    github: &GitHubFake,
    gate: &Gate,
    receiver: &ReceiverTask,
) {
    let previews = Api::<Preview>::namespaced(client.clone(), ns);
    let targets = Api::<ProviderTarget>::namespaced(client.clone(), ns);
    let t0 = std::time::Instant::now();
    let lap = |what: &str| eprintln!("e2e_pull_request: {what} at {:?}", t0.elapsed());

    // The template verified means its ProviderConfig has polled: the Preview does not start
    // by stalling on ProviderUnavailable.
    bounded(
        "the template target to be Matched",
        await_condition(targets, "shop-preview-template", |t: Option<&ProviderTarget>| {
            t.and_then(|t| t.status.as_ref()).and_then(|s| s.verdict) == Some(Verdict::Matched)
        }),
    )
    .await;
    lap("template Matched");

    // 1. GitHub: pull request 42 opened with the `preview` label.
    let pull = FakePull {
        number: 42,
        head_sha: "a".repeat(40),
        labels: vec!["preview".into()],
        updated_at: "2026-01-15T08:00:00Z".into(),
    };
    let (status, answer) = receiver.deliver("e2e-pr-1", "opened", &pull, true).await;
    assert_eq!(status, 200, "opened: {answer}");
    assert!(answer.contains("created"), "opened: {answer}");
    let created = previews
        .get(PREVIEW)
        .await
        .expect("the receiver created the Preview");
    assert_eq!(created.spec.artifact_ref.name, ARTIFACT);
    assert_eq!(created.spec.pull_request.head_sha, "a".repeat(40));
    bounded(
        "the Preview to wait for its Artifact, with its comment posted",
        await_condition(previews.clone(), PREVIEW, |p: Option<&Preview>| {
            let Some(s) = p.and_then(|p| p.status.as_ref()) else {
                return false;
            };
            let waiting = s
                .conditions
                .iter()
                .any(|c| c.type_ == "Reconciling" && c.status == "True" && c.reason == "WaitingForArtifact");
            let commented = s.feedback.as_ref().is_some_and(|f| f.comment_id.is_some());
            waiting && commented
        }),
    )
    .await;
    lap("Preview WaitingForArtifact, commented");
    assert_eq!(
        ours(github).len(),
        1,
        "one comment while waiting: {:#?}",
        github.comments()
    );
    assert!(
        ours(github)[0].body.contains("waiting"),
        "the comment says it waits: {}",
        ours(github)[0].body
    );
    assert!(
        github
            .deployments()
            .iter()
            .all(|d| !d.statuses.iter().any(|s| s == "success")),
        "no success before anything was deployed: {:#?}",
        github.deployments()
    );

    // 2. CI pushed the image and creates the Artifact: the Preview deploys. The gate keeps the
    //    preview URL from answering, so its identity cannot be verified yet.
    let artifact = artifact_a(ARTIFACT);
    Api::<Artifact>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &artifact)
        .await
        .unwrap();
    bounded(
        "the Preview to be deployed and waiting for its URL, its deployment posted",
        await_condition(previews.clone(), PREVIEW, |p: Option<&Preview>| {
            let Some(s) = p.and_then(|p| p.status.as_ref()) else {
                return false;
            };
            let serving_wait = s.conditions.iter().any(|c| {
                c.type_ == "Reconciling" && c.status == "True" && c.message.contains("to serve generation")
            });
            let posted = s
                .feedback
                .as_ref()
                .is_some_and(|f| f.deployment_id.is_some() && f.deployment_state.is_some());
            serving_wait && posted && s.target_id.is_some()
        }),
    )
    .await;
    lap("deployed, identity not verified, deployment posted");
    let waiting = previews.get(PREVIEW).await.unwrap();
    let app = waiting.status.as_ref().and_then(|s| s.target_id.clone()).unwrap();
    assert!(sim.app_urls().contains_key(&app), "the preview app was deployed");
    let image = sim.docker_image(&app).unwrap_or_default();
    assert!(
        image.contains(&"a".repeat(64)),
        "the Artifact's digest is deployed: {image}"
    );
    assert!(
        gate.refused() > 0,
        "the controller probed the preview URL and was refused"
    );
    assert!(
        !verified(&waiting),
        "the identity cannot have verified behind the closed gate: {:#?}",
        waiting.status
    );
    assert_eq!(
        waiting
            .status
            .as_ref()
            .and_then(|s| s.feedback.as_ref())
            .and_then(|f| f.deployment_state.as_deref()),
        Some("in_progress"),
        "deployed but not verified: the recorded deployment state must be in_progress"
    );
    let deployments = preview_deployments(github);
    assert_eq!(deployments.len(), 1, "{deployments:#?}");
    assert!(
        !deployments[0].statuses.is_empty() && deployments[0].statuses.iter().all(|s| s == "in_progress"),
        "no success before the identity verifies: {:?}",
        deployments[0].statuses
    );

    // 3. The preview URL answers: the identity verifies and the deployment turns success.
    gate.open();
    bounded(
        "the Preview to be Ready/Matched and its deployment success",
        await_condition(previews.clone(), PREVIEW, |p: Option<&Preview>| {
            let Some(s) = p.and_then(|p| p.status.as_ref()) else {
                return false;
            };
            let ready = s
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            ready
                && s.verdict == Some(Verdict::Matched)
                && s.feedback.as_ref().and_then(|f| f.deployment_state.as_deref()) == Some("success")
        }),
    )
    .await;
    lap("Ready, deployment success");
    let ready = previews.get(PREVIEW).await.unwrap();
    assert!(verified(&ready), "{:#?}", ready.status);
    let comments = ours(github);
    assert_eq!(
        comments.len(),
        1,
        "exactly one Launchplane comment: {:#?}",
        github.comments()
    );
    assert_eq!(comments[0].repository, "acme/shop");
    assert_eq!(comments[0].issue, 42);
    for want in ["ready", "https://pr-42.preview.shop.test", ARTIFACT, "verified"] {
        assert!(
            comments[0].body.contains(want),
            "the comment lacks {want:?}: {}",
            comments[0].body
        );
    }
    let deployments = preview_deployments(github);
    assert_eq!(deployments.len(), 1, "{deployments:#?}");
    let deployment = &deployments[0];
    assert_eq!(deployment.sha, "a".repeat(40));
    assert_eq!(deployment.statuses.last().map(String::as_str), Some("success"));
    assert_eq!(
        deployment.statuses.iter().filter(|s| *s == "success").count(),
        1,
        "{:?}",
        deployment.statuses
    );
    assert!(
        github.calls().iter().all(|c| c.authorized),
        "every GitHub call carried the token from the Secret"
    );

    // 4. GitHub: the pull request is closed. The Preview goes, its app is torn down, its
    //    deployment is inactive.
    let uid = ready.metadata.uid.clone().unwrap();
    let (status, answer) = receiver.deliver("e2e-pr-2", "closed", &pull, false).await;
    assert_eq!(status, 200, "closed: {answer}");
    assert!(answer.contains("deleted"), "closed: {answer}");
    bounded(
        "the Preview to be deleted (its finalizer released)",
        await_condition(previews.clone(), PREVIEW, conditions::is_deleted(&uid)),
    )
    .await;
    lap("Preview deleted");
    assert!(
        sim.service_json(&app).is_none(),
        "the preview app is still in Dokploy"
    );
    assert!(!sim.app_urls().contains_key(&app), "the preview app still runs");
    let served = reqwest::Client::new()
        .get(format!("{}/healthz", sim.ingress_url()))
        .header("host", HOST)
        .send()
        .await
        .unwrap();
    assert_eq!(served.status().as_u16(), 404, "the preview host still routes");
    let deployments = preview_deployments(github);
    assert_eq!(deployments.len(), 1, "{deployments:#?}");
    assert_eq!(
        deployments[0].statuses.last().map(String::as_str),
        Some("inactive"),
        "{:?}",
        deployments[0].statuses
    );
    let comments = ours(github);
    assert_eq!(comments.len(), 1, "still one comment: {:#?}", github.comments());
    assert!(comments[0].body.contains("torn down"), "{}", comments[0].body);
}

/// `what` within [`STEP`], or a panic naming it.
async fn bounded<T, E: std::fmt::Debug>(
    what: &str,
    wait: impl std::future::Future<Output = Result<T, E>>,
) -> T {
    match tokio::time::timeout(STEP, wait).await {
        Ok(Ok(value)) => value,
        Ok(Err(error)) => panic!("watching for {what}: {error:?}"),
        Err(_) => panic!("timed out after {STEP:?} waiting for {what}"),
    }
}

fn verified(preview: &Preview) -> bool {
    preview.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == "RuntimeIdentityVerified" && c.status == "True")
    })
}

/// The comments carrying this Preview's marker.
fn ours(github: &GitHubFake) -> Vec<launchplane_e2e::github::FakeComment> {
    github
        .comments()
        .into_iter()
        .filter(|c| is_ours(&c.body, c_namespace(c), PREVIEW))
        .collect()
}

/// The namespace in a comment's marker (the test's namespace is generated).
fn c_namespace(c: &launchplane_e2e::github::FakeComment) -> &str {
    c.body
        .split("<!-- launchplane:preview ")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
}

/// The GitHub deployments of the Preview's environment.
fn preview_deployments(github: &GitHubFake) -> Vec<FakeDeployment> {
    github
        .deployments()
        .into_iter()
        .filter(|d| d.environment == PREVIEW && d.repository == "acme/shop")
        .collect()
}

/// The receiver, serving on a loopback port until aborted.
struct ReceiverTask {
    base: String,
    task: tokio::task::JoinHandle<()>,
}

/// The receiver as `launchplane webhooks` builds it, its Secrets in `ns`, serving `ns`'s
/// Products. The listener is bound before this returns: deliveries need no wait.
async fn start_receiver(client: &Client, ns: &str) -> ReceiverTask {
    let store = Arc::new(KubeStore::new(client.clone(), Some(ns.to_string())));
    let receiver = Arc::new(Receiver {
        store,
        secrets: Arc::new(KubeSecrets::new(client.clone())),
        webhook_secret: SecretKey {
            namespace: ns.to_string(),
            name: "launchplane-webhooks".into(),
            key: "webhook-secret".into(),
        },
        deliveries: DeliveryLog::new(100),
        limiter: RateLimiter::new(Rate::default()),
        metrics: Arc::new(WebhookMetrics::new()),
        max_body: DEFAULT_MAX_BODY,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router(receiver).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    ReceiverTask {
        base: format!("http://{addr}"),
        task,
    }
}

impl ReceiverTask {
    /// A `pull_request` delivery as GitHub makes it (signed with the webhook secret); the
    /// answer's status and body.
    async fn deliver(&self, id: &str, action: &str, pull: &FakePull, open: bool) -> (u16, String) {
        let body = pull_request_event(action, "acme/shop", pull, open, None).to_string();
        let answer = reqwest::Client::new()
            .post(format!("{}/github", self.base))
            .header("content-type", "application/json")
            .header("x-github-event", "pull_request")
            .header("x-github-delivery", id)
            .header(
                "x-hub-signature-256",
                sign(WEBHOOK_SECRET.as_bytes(), body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        (status, answer.text().await.unwrap_or_default())
    }
}

/// What the controller probes preview URLs through: refuses (503) while closed, then forwards
/// to the simulator's ingress. It holds the identity unverifiable after the deploy, so the
/// test can see that the deployment is not `success` before it verifies.
struct Gate {
    url: String,
    state: Arc<GateState>,
    task: tokio::task::JoinHandle<()>,
}

struct GateState {
    open: AtomicBool,
    refused: AtomicU64,
    upstream: String,
    http: reqwest::Client,
}

impl Gate {
    async fn start(upstream: String) -> Gate {
        let state = Arc::new(GateState {
            open: AtomicBool::new(false),
            refused: AtomicU64::new(0),
            upstream,
            http: reqwest::Client::new(),
        });
        let app = axum::Router::new().fallback(forward).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Gate { url, state, task }
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    fn open(&self) {
        self.state.open.store(true, Ordering::SeqCst);
    }

    fn refused(&self) -> u64 {
        self.state.refused.load(Ordering::SeqCst)
    }
}

async fn forward(State(state): State<Arc<GateState>>, request: Request) -> Response {
    if !state.open.load(Ordering::SeqCst) {
        state.refused.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::SERVICE_UNAVAILABLE, "the gate is closed").into_response();
    }
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let mut upstream = state
        .http
        .request(request.method().clone(), format!("{}{path}", state.upstream));
    for (name, value) in request.headers() {
        upstream = upstream.header(name, value);
    }
    let answer = match upstream.send().await {
        Ok(answer) => answer,
        Err(error) => return (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    };
    let mut response = Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        if !matches!(
            name.as_str(),
            "transfer-encoding" | "connection" | "content-length"
        ) {
            response = response.header(name, value);
        }
    }
    let body = answer.bytes().await.unwrap_or_default();
    response.body(Body::from(body)).unwrap()
}

//! `launchplane webhooks` over the fake API server: each pull-request event's effect on the
//! Previews, the refusals (signature, replay, size, payload) that touch no Preview, a
//! person's Preview left alone, unknown repositories, the Dokploy notification asking for a
//! poll, and the resync against the GitHub fake never deleting on faults.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use http::{Method, Request, StatusCode};
use launchplane::github::client::GitHubClient;
use launchplane::k8s::secrets::KubeSecrets;
use launchplane::webhooks::limit::{Rate, RateLimiter};
use launchplane::webhooks::metrics::WebhookMetrics;
use launchplane::webhooks::receiver::{Receiver, SecretKey, router};
use launchplane::webhooks::replay::DeliveryLog;
use launchplane::webhooks::resync::{ResyncState, resync_once};
use launchplane::webhooks::signature::sign;
use launchplane::webhooks::store::{KubeStore, PreviewStore};
use launchplane_api::resources::{
    DeployNotifications, POLL_REQUESTED_ANNOTATION, Preview, PreviewPolicy, ProviderConfig, SecretKeyRef,
};
use launchplane_core::pull_request::{MANAGED_BY, MANAGED_BY_LABEL};
use launchplane_e2e::github::{FakePull, GitHubFake, GitHubFault, pull_request_event};
use launchplane_providers::SecretString;
use launchplane_testkit::api_server::FakeApiServer;
use launchplane_testkit::build::{in_namespace, preview, provider_config, shop_product};
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

const NS: &str = "shop";
const HOOKS_NS: &str = "hooks";
const SECRET: &str = "whsec-Zq9-do-not-leak";
const SHA: &str = "b7e4d20f1a2b3c4d5e6f708192a3b4c5d6e7f809";
const SHA2: &str = "0123456789abcdef0123456789abcdef01234567";

struct Setup {
    api: FakeApiServer,
    receiver: Arc<Receiver>,
    metrics: Arc<WebhookMetrics>,
}

fn setup_with(max_body: usize, rate: Rate) -> Setup {
    let api = FakeApiServer::new();
    let mut product = shop_product(PreviewPolicy {
        enabled: true,
        base_domain: Some("preview.shop.test".into()),
        template_target_ref: Some(launchplane_api::resources::LocalObjectRef { name: "tpl".into() }),
        ..PreviewPolicy::default()
    });
    product.spec.repository = "github.com/acme/shop".into();
    api.put(&in_namespace(product, NS));
    api.put_secret(
        HOOKS_NS,
        "launchplane-webhooks",
        &[("webhook-secret", SECRET.as_bytes())],
    );
    let client = api.client();
    let metrics = Arc::new(WebhookMetrics::new());
    let receiver = Arc::new(Receiver {
        store: Arc::new(KubeStore::new(client.clone(), Some(NS.into()))),
        secrets: Arc::new(KubeSecrets::new(client)),
        webhook_secret: SecretKey {
            namespace: HOOKS_NS.into(),
            name: "launchplane-webhooks".into(),
            key: "webhook-secret".into(),
        },
        deliveries: DeliveryLog::new(100),
        limiter: RateLimiter::new(rate),
        metrics: metrics.clone(),
        max_body,
    });
    Setup {
        api,
        receiver,
        metrics,
    }
}

fn setup() -> Setup {
    setup_with(64 * 1024, Rate::default())
}

fn pull(sha: &str, labels: &[&str], updated: &str) -> FakePull {
    FakePull {
        number: 42,
        head_sha: sha.into(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        updated_at: updated.into(),
    }
}

fn event(action: &str, pull: &FakePull, open: bool, label: Option<&str>) -> Vec<u8> {
    pull_request_event(action, "acme/shop", pull, open, label)
        .to_string()
        .into_bytes()
}

fn delivery(id: &str, event: &str, body: Vec<u8>, signature: Option<String>) -> Request<Body> {
    let mut r = Request::builder()
        .method(Method::POST)
        .uri("/github")
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", id);
    if let Some(s) = signature {
        r = r.header("x-hub-signature-256", s);
    }
    r.body(Body::from(body)).unwrap()
}

fn signed(id: &str, body: Vec<u8>) -> Request<Body> {
    let s = sign(SECRET.as_bytes(), &body);
    delivery(id, "pull_request", body, Some(s))
}

async fn send(s: &Setup, request: Request<Body>) -> (StatusCode, Value) {
    let response = router(s.receiver.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn previews(s: &Setup) -> Vec<Preview> {
    s.api.objects::<Preview>(NS)
}

/// Writes (create, patch, delete) the receiver sent for Previews.
fn preview_writes(s: &Setup) -> usize {
    s.api
        .calls()
        .iter()
        .filter(|c| c.path.contains("/previews") && c.method != Method::GET)
        .count()
}

#[tokio::test]
async fn opened_synchronize_and_closed_create_update_and_delete_the_receivers_preview() {
    let s = setup();
    let (code, answer) = send(
        &s,
        signed(
            "d-1",
            event(
                "opened",
                &pull(SHA, &["preview"], "2026-01-15T08:00:00Z"),
                true,
                None,
            ),
        ),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    assert_eq!(answer["changes"][0]["outcome"], "created");
    let created = previews(&s);
    assert_eq!(created.len(), 1);
    let p = &created[0];
    assert_eq!(p.metadata.name.as_deref(), Some("shop-pr-42"));
    assert_eq!(p.metadata.labels.as_ref().unwrap()[MANAGED_BY_LABEL], MANAGED_BY);
    assert_eq!(p.spec.pull_request.head_sha, SHA);
    assert_eq!(p.spec.artifact_ref.name, "shop-b7e4d20");
    assert_eq!(
        p.spec.pull_request.url.as_deref(),
        Some("https://github.com/acme/shop/pull/42")
    );

    // A new head: the same Preview, the new commit and artifact.
    let (code, answer) = send(
        &s,
        signed(
            "d-2",
            event(
                "synchronize",
                &pull(SHA2, &["preview"], "2026-01-15T09:00:00Z"),
                true,
                None,
            ),
        ),
    )
    .await;
    assert_eq!(
        (code, answer["changes"][0]["outcome"].clone()),
        (StatusCode::OK, "updated".into()),
        "{answer}"
    );
    let updated = previews(&s);
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].spec.pull_request.head_sha, SHA2);
    assert_eq!(updated[0].spec.artifact_ref.name, "shop-0123456");

    // An unlabeled event for another label changes nothing.
    let (_, answer) = send(
        &s,
        signed(
            "d-3",
            event(
                "unlabeled",
                &pull(SHA2, &["preview"], "2026-01-15T09:30:00Z"),
                true,
                Some("bug"),
            ),
        ),
    )
    .await;
    assert_eq!(answer["changes"][0]["reason"], "OtherLabel");
    assert_eq!(previews(&s).len(), 1);

    let (code, answer) = send(
        &s,
        signed(
            "d-4",
            event(
                "closed",
                &pull(SHA2, &["preview"], "2026-01-15T10:00:00Z"),
                false,
                None,
            ),
        ),
    )
    .await;
    assert_eq!(
        (code, answer["changes"][0]["outcome"].clone()),
        (StatusCode::OK, "deleted".into()),
        "{answer}"
    );
    assert!(previews(&s).is_empty());
    assert_eq!(s.metrics.count("pull_request", "created"), 1);
    assert_eq!(s.metrics.count("pull_request", "deleted"), 1);
}

#[tokio::test]
async fn labeled_creates_and_unlabeled_deletes() {
    let s = setup();
    let (_, answer) = send(
        &s,
        signed(
            "l-1",
            event("opened", &pull(SHA, &[], "2026-01-15T08:00:00Z"), true, None),
        ),
    )
    .await;
    assert_eq!(answer["changes"][0]["reason"], "NotLabelled");
    assert!(previews(&s).is_empty());
    send(
        &s,
        signed(
            "l-2",
            event(
                "labeled",
                &pull(SHA, &["preview"], "2026-01-15T08:01:00Z"),
                true,
                Some("preview"),
            ),
        ),
    )
    .await;
    assert_eq!(previews(&s).len(), 1);
    let (_, answer) = send(
        &s,
        signed(
            "l-3",
            event(
                "unlabeled",
                &pull(SHA, &[], "2026-01-15T08:02:00Z"),
                true,
                Some("preview"),
            ),
        ),
    )
    .await;
    assert_eq!(answer["changes"][0]["outcome"], "deleted");
    assert!(previews(&s).is_empty());
    // Reopened with the label: a preview again.
    send(
        &s,
        signed(
            "l-4",
            event(
                "reopened",
                &pull(SHA, &["preview"], "2026-01-15T08:03:00Z"),
                true,
                None,
            ),
        ),
    )
    .await;
    assert_eq!(previews(&s).len(), 1);
}

#[tokio::test]
async fn refused_deliveries_touch_no_preview() {
    let s = setup_with(16 * 1024, Rate::default());
    let body = event(
        "opened",
        &pull(SHA, &["preview"], "2026-01-15T08:00:00Z"),
        true,
        None,
    );
    // No signature, a wrong one, a signature of another body.
    let (code, _) = send(&s, delivery("r-1", "pull_request", body.clone(), None)).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, answer) = send(
        &s,
        delivery("r-2", "pull_request", body.clone(), Some(sign(b"wrong", &body))),
    )
    .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["outcome"], "refused_signature");
    let (code, _) = send(
        &s,
        delivery(
            "r-3",
            "pull_request",
            body.clone(),
            Some(sign(SECRET.as_bytes(), b"{}")),
        ),
    )
    .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    assert_eq!(s.metrics.signatures_refused.get(), 3);
    // Oversized: refused before the signature is even computed.
    let big = vec![b' '; 20 * 1024];
    let (code, answer) = send(&s, signed("r-4", big)).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    // Malformed, though signed: 400 naming the field.
    let mut value: Value = serde_json::from_slice(&body).unwrap();
    value["pull_request"]["head"]
        .as_object_mut()
        .unwrap()
        .remove("sha");
    let (code, answer) = send(&s, signed("r-5", value.to_string().into_bytes())).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(
        answer["message"].as_str().unwrap().contains("pull_request.head"),
        "{answer}"
    );
    let (code, _) = send(&s, signed("r-6", b"not json".to_vec())).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    // A missing delivery id.
    let mut no_id = signed("r-7", body.clone());
    no_id.headers_mut().remove("x-github-delivery");
    assert_eq!(send(&s, no_id).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(preview_writes(&s), 0, "no Preview touched");
    assert!(previews(&s).is_empty());

    // A replay of a taken delivery, even correctly signed, is refused.
    assert_eq!(send(&s, signed("r-8", body.clone())).await.0, StatusCode::OK);
    let writes = preview_writes(&s);
    let closing = event(
        "closed",
        &pull(SHA, &["preview"], "2026-01-15T09:00:00Z"),
        false,
        None,
    );
    let (code, answer) = send(&s, signed("r-8", closing)).await;
    assert_eq!(code, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["outcome"], "replay");
    assert_eq!(preview_writes(&s), writes, "the replay touched nothing");
    assert_eq!(previews(&s).len(), 1);
    assert_eq!(s.metrics.replays.get(), 1);
}

#[tokio::test]
async fn the_rate_limit_refuses_a_flood_from_one_source() {
    let s = setup_with(
        64 * 1024,
        Rate {
            per_second: 0.001,
            burst: 2.0,
        },
    );
    let body = event("opened", &pull(SHA, &[], "2026-01-15T08:00:00Z"), true, None);
    assert_ne!(
        send(&s, signed("f-1", body.clone())).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_ne!(
        send(&s, signed("f-2", body.clone())).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    let (code, answer) = send(&s, signed("f-3", body)).await;
    assert_eq!(code, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer["outcome"], "rate_limited");
    assert_eq!(s.metrics.count("pull_request", "rate_limited"), 1);
}

#[tokio::test]
async fn unknown_repositories_and_other_events_are_ignored_with_202() {
    let s = setup();
    let body = pull_request_event(
        "opened",
        "other/repo",
        &pull(SHA, &["preview"], "2026-01-15T08:00:00Z"),
        true,
        None,
    )
    .to_string()
    .into_bytes();
    let (code, answer) = send(&s, signed("u-1", body)).await;
    assert_eq!(code, StatusCode::ACCEPTED);
    assert_eq!(answer["outcome"], "unknown_repository");
    let (code, _) = send(&s, {
        let b = br#"{"zen":"hi"}"#.to_vec();
        let sig = sign(SECRET.as_bytes(), &b);
        delivery("u-2", "push", b, Some(sig))
    })
    .await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let (code, answer) = send(&s, {
        let b = br#"{"zen":"hi"}"#.to_vec();
        let sig = sign(SECRET.as_bytes(), &b);
        delivery("u-3", "ping", b, Some(sig))
    })
    .await;
    assert_eq!((code, answer["outcome"].clone()), (StatusCode::OK, "pong".into()));
    assert_eq!(preview_writes(&s), 0);
}

#[tokio::test]
async fn a_persons_preview_is_never_touched() {
    let s = setup();
    let theirs = in_namespace(preview("by-hand", 42, "shop-handmade"), NS);
    s.api.put(&theirs);
    for (id, action, open, label) in [
        ("p-1", "opened", true, None),
        ("p-2", "synchronize", true, None),
        ("p-3", "unlabeled", true, Some("preview")),
        ("p-4", "closed", false, None),
    ] {
        let (_, answer) = send(
            &s,
            signed(
                id,
                event(
                    action,
                    &pull(SHA2, &["preview"], "2026-01-15T08:00:00Z"),
                    open,
                    label,
                ),
            ),
        )
        .await;
        assert_eq!(
            answer["changes"][0]["reason"], "MadeByAPerson",
            "{action}: {answer}"
        );
    }
    assert_eq!(preview_writes(&s), 0);
    assert_eq!(
        previews(&s),
        vec![s.api.object::<Preview>(NS, "by-hand").unwrap()]
    );
}

#[tokio::test]
async fn a_failed_write_answers_503_and_lets_the_redelivery_through() {
    let s = setup();
    s.api.fail("/previews", 500);
    let body = event(
        "opened",
        &pull(SHA, &["preview"], "2026-01-15T08:00:00Z"),
        true,
        None,
    );
    let (code, answer) = send(&s, signed("w-1", body.clone())).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert!(previews(&s).is_empty());
    // GitHub's redelivery keeps the id: it is not refused as a replay.
    let (code, answer) = send(&s, signed("w-1", body)).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert_ne!(answer["outcome"], "replay");
}

#[tokio::test]
async fn a_dokploy_notification_with_the_token_asks_its_config_to_poll() {
    let s = setup();
    let mut config = in_namespace(provider_config("http://dokploy.test"), NS);
    config.spec.deploy_notifications = Some(DeployNotifications {
        receiver_url: "https://hooks.example.com".into(),
        token_secret_ref: SecretKeyRef {
            name: "dokploy-notify".into(),
            key: "token".into(),
        },
    });
    let config_name = config.metadata.name.clone().unwrap();
    s.api.put(&config);
    s.api
        .put_secret(NS, "dokploy-notify", &[("token", b"n0tify-t0ken")]);
    let call = |token: Option<&str>| {
        let mut r = Request::builder()
            .method(Method::POST)
            .uri(format!("/dokploy/{NS}/{config_name}"))
            .header("content-type", "application/json");
        if let Some(t) = token {
            r = r.header("x-launchplane-token", t);
        }
        r.body(Body::from(
            r#"{"title":"Build success","status":"success","type":"build"}"#,
        ))
        .unwrap()
    };
    let annotation = |s: &Setup| {
        s.api
            .object::<ProviderConfig>(NS, &config_name)
            .and_then(|c| c.metadata.annotations)
            .and_then(|a| a.get(POLL_REQUESTED_ANNOTATION).cloned())
    };
    assert_eq!(send(&s, call(None)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(send(&s, call(Some("wrong"))).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(annotation(&s), None);
    let (code, answer) = send(&s, call(Some("n0tify-t0ken"))).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{answer}");
    let at: jiff::Timestamp = annotation(&s).expect("annotated").parse().unwrap();
    assert!(jiff::Timestamp::now().duration_since(at).as_secs() < 60);
    let stored = s.api.object::<ProviderConfig>(NS, &config_name).unwrap();
    assert_eq!(stored.spec, config.spec, "only the annotation changed");
    // A config that takes no notifications is not found.
    let other = in_namespace(provider_config("http://dokploy.test"), "elsewhere");
    s.api.put(&other);
    let r = Request::builder()
        .method(Method::POST)
        .uri(format!("/dokploy/elsewhere/{}", other.metadata.name.unwrap()))
        .header("x-launchplane-token", "n0tify-t0ken")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&s, r).await.0, StatusCode::NOT_FOUND);
}

// === the resync ===

fn open_pull(n: i64, sha: &str) -> FakePull {
    FakePull {
        number: n,
        head_sha: sha.into(),
        labels: vec!["preview".into()],
        updated_at: "2026-01-15T08:00:00Z".into(),
    }
}

async fn resync_setup() -> (Setup, GitHubFake, GitHubClient) {
    launchplane_providers::install_crypto_provider();
    let s = setup();
    let fake = GitHubFake::start("ghp-t0ken").await.unwrap();
    let github = GitHubClient::new(&fake.base_url(), SecretString::new("ghp-t0ken")).unwrap();
    (s, fake, github)
}

#[tokio::test]
async fn the_resync_creates_what_deliveries_missed_following_pages() {
    let (s, fake, github) = resync_setup().await;
    let mut pulls: Vec<FakePull> = (1..=5).map(|n| open_pull(n, &format!("{:040x}", n))).collect();
    pulls.push(FakePull {
        labels: vec![],
        ..open_pull(6, SHA)
    });
    fake.set_pulls("acme/shop", pulls);
    fake.cap_page_size(2);
    let mut state = ResyncState::default();
    let report = resync_once(
        s.receiver.store.as_ref(),
        &github,
        &mut state,
        jiff::Timestamp::now(),
    )
    .await;
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(fake.calls().len(), 3, "three pages followed");
    assert!(fake.calls().iter().all(|c| c.authorized));
    let mut names: Vec<String> = previews(&s).into_iter().filter_map(|p| p.metadata.name).collect();
    names.sort();
    assert_eq!(
        names,
        ["shop-pr-1", "shop-pr-2", "shop-pr-3", "shop-pr-4", "shop-pr-5"]
    );
    // Again: nothing new.
    let writes = preview_writes(&s);
    resync_once(
        s.receiver.store.as_ref(),
        &github,
        &mut state,
        jiff::Timestamp::now(),
    )
    .await;
    assert_eq!(preview_writes(&s), writes);
}

#[tokio::test]
async fn the_resync_never_deletes_on_faults_empty_or_shrunk_listings() {
    let (s, fake, github) = resync_setup().await;
    fake.set_pulls(
        "acme/shop",
        (1..=4).map(|n| open_pull(n, &format!("{:040x}", n))).collect(),
    );
    let store: &dyn PreviewStore = s.receiver.store.as_ref();
    let mut state = ResyncState::default();
    resync_once(store, &github, &mut state, jiff::Timestamp::now()).await;
    assert_eq!(previews(&s).len(), 4);
    let deletes = |s: &Setup| {
        s.api
            .calls()
            .iter()
            .filter(|c| c.method == Method::DELETE)
            .count()
    };

    // 5xx.
    fake.fault(GitHubFault::Status(502));
    let report = resync_once(store, &github, &mut state, jiff::Timestamp::now()).await;
    assert_eq!(report.failed.len(), 1, "{report:?}");
    // An empty answer.
    // A sharply shrunk answer (one of four): called out, nothing deleted.
    let four: Vec<FakePull> = (1..=4).map(|n| open_pull(n, &format!("{:040x}", n))).collect();
    fake.set_pulls("acme/shop", vec![four[0].clone()]);
    let report = resync_once(store, &github, &mut state, jiff::Timestamp::now()).await;
    assert_eq!(
        report.shrunk,
        vec!["github.com/acme/shop".to_string()],
        "called out"
    );
    fake.set_pulls("acme/shop", four.clone());
    resync_once(store, &github, &mut state, jiff::Timestamp::now()).await;
    // An empty answer.
    fake.fault(GitHubFault::Empty);
    let report = resync_once(store, &github, &mut state, jiff::Timestamp::now()).await;
    assert!(report.failed.is_empty());
    assert_eq!(
        report.shrunk,
        vec!["github.com/acme/shop".to_string()],
        "called out"
    );
    // A failing second page: the whole listing counts as failed.
    fake.cap_page_size(2);
    let calls = fake.calls().len();
    fake.fault(GitHubFault::Pass);
    fake.fault(GitHubFault::Status(500));
    let report = resync_once(store, &github, &mut state, jiff::Timestamp::now()).await;
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.listed.len(), 0, "{report:?}");
    assert_eq!(fake.calls().len(), calls + 2);
    assert_eq!(deletes(&s), 0, "nothing deleted");
    assert_eq!(previews(&s).len(), 4);
}

#[tokio::test]
async fn a_rate_limit_pauses_the_resync_until_githubs_time_with_no_retry_storm() {
    let (s, fake, github) = resync_setup().await;
    fake.set_pulls("acme/shop", vec![open_pull(1, SHA)]);
    let now = jiff::Timestamp::now();
    let reset = now.as_second() + 900;
    fake.fault(GitHubFault::PrimaryRateLimit { reset });
    let mut state = ResyncState::default();
    let store = s.receiver.store.as_ref();
    let report = resync_once(store, &github, &mut state, now).await;
    assert_eq!(report.rate_limited.map(|t| t.as_second()), Some(reset));
    assert_eq!(fake.calls().len(), 1);
    // Passes before the reset make no call at all.
    for minutes in [1, 5, 14] {
        let later = now + jiff::SignedDuration::from_mins(minutes);
        let report = resync_once(store, &github, &mut state, later).await;
        assert!(report.rate_limited.is_some());
    }
    assert_eq!(fake.calls().len(), 1, "no call while paused");
    assert!(previews(&s).is_empty());
    // After the reset the listing is taken again.
    let report = resync_once(
        store,
        &github,
        &mut state,
        now + jiff::SignedDuration::from_mins(16),
    )
    .await;
    assert_eq!(report.rate_limited, None);
    assert_eq!(previews(&s).len(), 1);
    // The secondary limit (429, retry-after): counted from the moment GitHub answered.
    fake.fault(GitHubFault::SecondaryRateLimit { retry_after: 120 });
    let t = jiff::Timestamp::now();
    let report = resync_once(store, &github, &mut state, t).await;
    assert!(report.rate_limited.is_some());
    let calls = fake.calls().len();
    resync_once(
        store,
        &github,
        &mut state,
        t + jiff::SignedDuration::from_secs(60),
    )
    .await;
    assert_eq!(fake.calls().len(), calls, "paused for retry-after");
}

#[tokio::test]
async fn the_github_token_never_leaves_the_api_origin_and_never_shows_in_errors() {
    let (_, fake, github) = resync_setup().await;
    fake.fault(GitHubFault::Status(500));
    let e = github.open_pulls("acme", "shop").await.unwrap_err();
    assert!(!e.to_string().contains("ghp-t0ken"));
    assert!(!format!("{github:?}").contains("ghp-t0ken"));
    let wrong = GitHubClient::new(&fake.base_url(), SecretString::new("other")).unwrap();
    let e = wrong.open_pulls("acme", "shop").await.unwrap_err();
    assert!(e.to_string().contains("refused the token"), "{e}");
    assert!(!e.to_string().contains("other"));
}

#[tokio::test]
async fn the_webhook_secret_appears_in_no_answer_or_metric() {
    let s = setup();
    let body = event(
        "opened",
        &pull(SHA, &["preview"], "2026-01-15T08:00:00Z"),
        true,
        None,
    );
    let mut answers = Vec::new();
    for request in [
        signed("s-1", body.clone()),
        delivery("s-2", "pull_request", body.clone(), Some(sign(b"wrong", &body))),
        signed("s-1", body.clone()),
        signed("s-3", b"{}".to_vec()),
    ] {
        answers.push(send(&s, request).await.1.to_string());
    }
    let everything = format!("{}\n{}", answers.join("\n"), s.metrics.encode());
    assert!(!everything.contains(SECRET), "{everything}");
    assert!(
        !everything.contains(&sign(SECRET.as_bytes(), &body)[7..]),
        "no expected digest either"
    );
}

// === the controller's side of a Dokploy notification ===

struct StepClock(std::sync::Mutex<jiff::Timestamp>);

impl launchplane_api::conditions::Clock for StepClock {
    fn now(&self) -> jiff::Timestamp {
        *self.0.lock().unwrap()
    }
}

#[tokio::test]
async fn a_requested_poll_makes_the_config_poll_before_its_interval_once() {
    use crate::support::{INSTANCE, StatusLog, listed_caches, start_sim, store};
    use launchplane::engine::kinds::provider_config::reconcile;
    use launchplane::k8s::context::{Context, Wakes};
    use launchplane::metrics::Metrics;
    use launchplane::observe::prober::{Prober, ProberConfig};

    launchplane_providers::install_crypto_provider();
    let sim = start_sim(10).await;
    let api = FakeApiServer::new();
    let config = provider_config(&sim.base_url());
    let namespace = config.metadata.namespace.clone().unwrap();
    api.put_secret(
        &namespace,
        "dokploy-key",
        &[("api-key", sim.api_key().as_bytes())],
    );
    let t0 = jiff::Timestamp::now();
    let clock = Arc::new(StepClock(std::sync::Mutex::new(t0)));
    let ctx = Context::new(
        api.client(),
        None,
        INSTANCE.into(),
        Arc::new(Metrics::new()),
        Prober::new(ProberConfig::default()).unwrap(),
        launchplane::engine::Caches {
            configs: store(vec![config.clone()]),
            ..listed_caches()
        },
        Wakes::none(),
        clock.clone(),
    );
    let statuses = StatusLog::default();
    let polls = || sim.call_count("overview.services");
    let advance = |secs: i64| {
        let mut now = clock.0.lock().unwrap();
        *now += jiff::SignedDuration::from_secs(secs);
    };
    reconcile(Arc::new(config.clone()), &ctx.world, &statuses)
        .await
        .unwrap();
    assert_eq!(polls(), 1, "the first poll");
    advance(20);
    reconcile(Arc::new(config.clone()), &ctx.world, &statuses)
        .await
        .unwrap();
    assert_eq!(polls(), 1, "not due before its 60s interval");

    // Dokploy reported a deploy 5s ago: the receiver annotated the config.
    let mut asked = config.clone();
    asked.metadata.annotations = Some(
        [(
            POLL_REQUESTED_ANNOTATION.to_string(),
            (t0 + jiff::SignedDuration::from_secs(15)).to_string(),
        )]
        .into(),
    );
    reconcile(Arc::new(asked.clone()), &ctx.world, &statuses)
        .await
        .unwrap();
    assert_eq!(polls(), 2, "polled at once, 40s before the interval");
    advance(5);
    reconcile(Arc::new(asked.clone()), &ctx.world, &statuses)
        .await
        .unwrap();
    assert_eq!(polls(), 2, "the same request polls once");
    // A burst right after that poll waits for the gap, then polls once.
    let mut again = asked.clone();
    again.metadata.annotations = Some(
        [(
            POLL_REQUESTED_ANNOTATION.to_string(),
            (t0 + jiff::SignedDuration::from_secs(25)).to_string(),
        )]
        .into(),
    );
    reconcile(Arc::new(again.clone()), &ctx.world, &statuses)
        .await
        .unwrap();
    assert_eq!(polls(), 2, "within 10s of the last poll");
    advance(10);
    reconcile(Arc::new(again), &ctx.world, &statuses).await.unwrap();
    assert_eq!(polls(), 3);
}

// === the ProviderConfig's Dokploy notification ===

#[tokio::test]
async fn the_config_keeps_one_marked_notification_and_never_touches_anothers() {
    use crate::support::{INSTANCE, StatusLog, listed_caches, start_sim, store};
    use launchplane::engine::kinds::provider_config::reconcile;
    use launchplane::k8s::context::{Context, Wakes};
    use launchplane::metrics::Metrics;
    use launchplane::observe::prober::{Prober, ProberConfig};
    use launchplane_api::resources::{DeployNotificationStatus, ProviderConfigStatus};
    use launchplane_providers::{CustomNotificationSpec, DokployClient, DokployConfig};

    launchplane_providers::install_crypto_provider();
    let sim = start_sim(10).await;
    let dokploy = DokployClient::new(DokployConfig::new(sim.base_url(), sim.api_key())).unwrap();
    // A person's notification, pointing at the same receiver: never Launchplane's.
    dokploy
        .create_custom_notification(&CustomNotificationSpec {
            name: "ops alerts".into(),
            endpoint: "https://hooks.example.com/dokploy/shop/dokploy".into(),
            token: SecretString::new("theirs"),
        })
        .await
        .unwrap();
    let api = FakeApiServer::new();
    let mut config = provider_config(&sim.base_url());
    config.metadata.uid = Some("uid-pc".into());
    config.metadata.generation = Some(1);
    let namespace = config.metadata.namespace.clone().unwrap();
    config.spec.deploy_notifications = Some(DeployNotifications {
        receiver_url: "https://hooks.example.com/".into(),
        token_secret_ref: SecretKeyRef {
            name: "notify".into(),
            key: "token".into(),
        },
    });
    api.put_secret(
        &namespace,
        "dokploy-key",
        &[("api-key", sim.api_key().as_bytes())],
    );
    api.put_secret(&namespace, "notify", &[("token", b"n0tify-1")]);
    let clock = Arc::new(StepClock(std::sync::Mutex::new(jiff::Timestamp::now())));
    let ctx = Context::new(
        api.client(),
        None,
        INSTANCE.into(),
        Arc::new(Metrics::new()),
        Prober::new(ProberConfig::default()).unwrap(),
        launchplane::engine::Caches {
            configs: store(vec![config.clone()]),
            ..listed_caches()
        },
        Wakes::none(),
        clock.clone(),
    );
    let statuses = StatusLog::default();
    // One reconcile, its status written back onto the object as the API server would.
    let round = |config: &ProviderConfig| {
        let config = config.clone();
        let ctx = &ctx;
        let statuses = &statuses;
        let clock = clock.clone();
        async move {
            *clock.0.lock().unwrap() += jiff::SignedDuration::from_secs(120);
            reconcile(Arc::new(config.clone()), &ctx.world, statuses)
                .await
                .unwrap();
            let status: ProviderConfigStatus =
                serde_json::from_value(statuses.writes().last().unwrap().clone()).unwrap();
            let mut next = config;
            next.status = Some(status);
            next
        }
    };
    let all = || async { dokploy.notifications().await.unwrap() };
    let config = round(&config).await;
    let note = config
        .status
        .as_ref()
        .unwrap()
        .deploy_notification
        .clone()
        .unwrap();
    assert_eq!(note.state, "Ready", "{note:?}");
    let id = note.notification_id.clone().unwrap();
    assert_eq!(all().await.len(), 2);
    let ours = dokploy.notification(&id).await.unwrap();
    assert_eq!(
        ours.name,
        format!("launchplane.dev/owner={INSTANCE}/{namespace}/ProviderConfig/dokploy/uid-pc")
    );
    let custom = ours.custom.clone().unwrap();
    assert_eq!(
        custom.endpoint,
        format!("https://hooks.example.com/dokploy/{namespace}/dokploy")
    );
    assert_eq!(custom.headers["x-launchplane-token"].expose(), "n0tify-1");
    assert!(ours.app_deploy && ours.app_build_error);

    // Again: found by id, nothing new.
    let config = round(&config).await;
    assert_eq!(all().await.len(), 2, "never a second one");
    assert_eq!(
        config
            .status
            .as_ref()
            .unwrap()
            .deploy_notification
            .as_ref()
            .unwrap()
            .notification_id
            .as_deref(),
        Some(id.as_str())
    );

    // The intent stored, the id lost (a crash between Dokploy's create and the status write):
    // the one notification named with the marker since the intent is ours.
    let mut crashed = config.clone();
    crashed.status.as_mut().unwrap().deploy_notification = Some(DeployNotificationStatus {
        notification_id: None,
        state: "Pending".into(),
        message: None,
        create_requested_at: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            jiff::Timestamp::now(),
        )),
    });
    let config = round(&crashed).await;
    assert_eq!(all().await.len(), 2, "not made twice");
    let note = config
        .status
        .as_ref()
        .unwrap()
        .deploy_notification
        .clone()
        .unwrap();
    assert_eq!(note.notification_id.as_deref(), Some(id.as_str()));
    assert_eq!(note.create_requested_at, None, "the intent is spent");

    // No id and no intent (a lost status, or a person who copied the marker into a
    // notification's name): a name is never proof, so it is neither adopted nor changed.
    let before = dokploy.notification(&id).await.unwrap();
    let mut lost = config.clone();
    lost.status.as_mut().unwrap().deploy_notification = None;
    api.put_secret(&namespace, "notify", &[("token", b"n0tify-x")]);
    let refused = round(&lost).await;
    let note = refused
        .status
        .as_ref()
        .unwrap()
        .deploy_notification
        .clone()
        .unwrap();
    assert_eq!(note.state, "Conflict", "{note:?}");
    assert_eq!(note.notification_id, None);
    assert!(note.message.unwrap().contains(&id));
    assert_eq!(dokploy.notification(&id).await.unwrap(), before, "untouched");
    assert_eq!(all().await.len(), 2, "and nothing made beside it");
    api.put_secret(&namespace, "notify", &[("token", b"n0tify-1")]);

    // A rotated token: updated in place.
    api.put_secret(&namespace, "notify", &[("token", b"n0tify-2")]);
    let config = round(&config).await;
    assert_eq!(
        dokploy.notification(&id).await.unwrap().custom.unwrap().headers["x-launchplane-token"].expose(),
        "n0tify-2"
    );
    assert_eq!(all().await.len(), 2);

    // A recorded id that is not ours (someone pointed the status at their own): left alone.
    let theirs_id = all()
        .await
        .into_iter()
        .find(|n| n.name == "ops alerts")
        .unwrap()
        .notification_id;
    let theirs = dokploy.notification(&theirs_id).await.unwrap();
    let mut pointed = config.clone();
    pointed
        .status
        .as_mut()
        .unwrap()
        .deploy_notification
        .as_mut()
        .unwrap()
        .notification_id = Some(theirs.notification_id.clone());
    let conflicted = round(&pointed).await;
    assert_eq!(
        conflicted
            .status
            .as_ref()
            .unwrap()
            .deploy_notification
            .as_ref()
            .unwrap()
            .state,
        "Conflict"
    );
    let after = dokploy.notification(&theirs.notification_id).await.unwrap();
    assert_eq!(after, theirs, "untouched");

    // The spec drops deployNotifications: ours is removed, theirs stays.
    let mut dropped = config.clone();
    dropped.spec.deploy_notifications = None;
    dropped.metadata.generation = Some(2);
    let dropped = round(&dropped).await;
    assert_eq!(dropped.status.as_ref().unwrap().deploy_notification, None);
    let left = all().await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].name, "ops alerts");
    // No status or log-bound message holds a token.
    let written = serde_json::to_string(&statuses.writes()).unwrap();
    assert!(!written.contains("n0tify-1") && !written.contains("n0tify-2") && !written.contains("theirs"));
}

#[tokio::test]
async fn a_new_artifact_wakes_the_previews_waiting_for_it() {
    use crate::support::{INSTANCE, StatusLog, artifact, listed_caches, store};
    use launchplane::engine::Wake;
    use launchplane::engine::kinds::artifact::reconcile;
    use launchplane::k8s::context::{Context, Wakes};
    use launchplane::metrics::Metrics;
    use launchplane::observe::prober::{Prober, ProberConfig};
    use launchplane_api::conditions::SystemClock;

    let built = artifact("shop-b7e4d20", 'b');
    let waiting = preview("shop-pr-42", 42, "shop-b7e4d20");
    let other = preview("shop-pr-7", 7, "shop-0000000");
    let ctx = Context::new(
        FakeApiServer::new().client(),
        None,
        INSTANCE.into(),
        Arc::new(Metrics::new()),
        Prober::new(ProberConfig::default()).unwrap(),
        launchplane::engine::Caches {
            artifacts: store(vec![built.clone()]),
            previews: store(vec![waiting.clone(), other]),
            ..listed_caches()
        },
        Wakes::none(),
        Arc::new(SystemClock),
    );
    let done = reconcile(Arc::new(built), &ctx.world, &StatusLog::default())
        .await
        .unwrap();
    let woken: Vec<String> = done
        .wake
        .iter()
        .filter_map(|w| match w {
            Wake::Preview(o) => Some(o.name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(woken, vec!["shop-pr-42".to_string()]);
}

//! Shared by the fault suites: the Dokploy simulator seeded with three applications and their
//! ProviderTargets, the real ProviderConfig reconcile with a mocked API server, and a clock
//! the test moves.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use http::{Method, Request, Response};
use jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::client::Body;
use kube::runtime::controller::Action;
use kube::runtime::watcher;
use launchplane::engine::Caches;
use launchplane::engine::cache::{self, Cache};
use launchplane::engine::preview::DEFAULT_INSTANCE;
use launchplane::k8s::context::{Context, Wakes};
use launchplane::k8s::controller;
use launchplane::metrics::Metrics;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane_api::Verdict;
use launchplane_api::conditions::Clock;
use launchplane_api::resources::{
    LocalObjectRef, ProviderConfig, ProviderConfigSpec, ProviderTarget, ProviderTargetSpec, RateLimit,
    SecretKeyRef, TargetCategory,
};
use launchplane_core::provider_target::{claims_against, reconcile as target_core};
use launchplane_e2e::sim::{DokploySim, SeedApplication, SimConfig};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

pub const NS: &str = "shop";
pub const POLL: i32 = 60;

// === a clock the test moves ===

pub struct StepClock(pub Mutex<Timestamp>);

impl Clock for StepClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

impl StepClock {
    pub fn advance(&self, secs: i64) {
        let mut t = self.0.lock().unwrap();
        *t += SignedDuration::from_secs(secs);
    }
}

// === a mocked API server: the Secret, status patches (recorded), Events ===

#[derive(Clone, Default)]
pub struct ApiServer {
    pub patches: Arc<Mutex<Vec<(String, Value)>>>,
    /// The object a status patch answers with (the patched status is put into it).
    pub object: Arc<Mutex<Value>>,
}

impl ApiServer {
    pub fn client(&self, api_key: String) -> Client {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let me = self.clone();
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                let method = request.method().clone();
                let path = request.uri().path().to_string();
                let bytes = request.into_body().collect_bytes().await.unwrap_or_default();
                let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let (status, answer) = if path.ends_with("/secrets/dokploy-key") {
                    (
                        200,
                        json!({"apiVersion": "v1", "kind": "Secret",
                               "metadata": {"name": "dokploy-key", "namespace": NS},
                               "data": {"api-key": base64(api_key.as_bytes())}}),
                    )
                } else if method == Method::PATCH && path.ends_with("/status") {
                    me.patches.lock().unwrap().push((path.clone(), body.clone()));
                    let mut object = me.object.lock().unwrap().clone();
                    object["status"] = body["status"].clone();
                    (200, object)
                } else if method == Method::POST && path.ends_with("/events") {
                    (201, body)
                } else {
                    (404, json!({"kind": "Status", "code": 404, "reason": "NotFound"}))
                };
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

    pub fn last_config_status(&self) -> Value {
        self.patches
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(path, _)| path.contains("/providerconfigs/"))
            .map(|(_, body)| body["status"].clone())
            .expect("a ProviderConfig status was written")
    }
}

pub fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

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

// === fixtures ===

pub fn config(url: &str) -> ProviderConfig {
    let mut c = ProviderConfig::new(
        "main",
        ProviderConfigSpec {
            url: url.into(),
            api_key_secret_ref: SecretKeyRef {
                name: "dokploy-key".into(),
                key: "api-key".into(),
            },
            poll_interval_seconds: POLL,
            rate_limit: RateLimit {
                requests_per_second: 1000,
                burst: 1000,
            },
            ..ProviderConfigSpec::default()
        },
    );
    c.metadata.namespace = Some(NS.into());
    c.metadata.generation = Some(1);
    c
}

pub fn target(i: usize, id: &str) -> ProviderTarget {
    let mut t = ProviderTarget::new(
        &format!("web-{i}"),
        ProviderTargetSpec {
            provider_config_ref: LocalObjectRef::new("main"),
            target_category: TargetCategory::Application,
            target_id: Some(id.into()),
            display_name: format!("web-{i}"),
            provider_target_type: Some("docker".into()),
            domains: vec![format!("web-{i}.shop.test")],
            ..ProviderTargetSpec::default()
        },
    );
    t.metadata.namespace = Some(NS.into());
    t.metadata.generation = Some(1);
    t
}

/// The simulator (with its own API key, so the process-wide per-key rate limiter and success
/// counter are this test's alone), three applications and their ProviderTargets.
pub async fn seeded(key: &str) -> (DokploySim, Vec<String>, Vec<ProviderTarget>) {
    seeded_with(key, "A=1\n", false).await
}

/// As [`seeded`], with this env on every application, optionally deployed (a running app).
pub async fn seeded_with(
    key: &str,
    app_env: &str,
    deployed: bool,
) -> (DokploySim, Vec<String>, Vec<ProviderTarget>) {
    let sim = DokploySim::start(SimConfig {
        api_key: key.into(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let (_, env) = sim.seed_project("shop");
    let ids: Vec<String> = (0..3)
        .map(|i| {
            sim.seed_application(
                &env,
                SeedApplication {
                    name: format!("web-{i}"),
                    docker_image: Some("ghcr.io/acme/web:1".into()),
                    env: Some(app_env.into()),
                    domains: vec![format!("web-{i}.shop.test")],
                    deployed,
                    ..SeedApplication::default()
                },
            )
            .unwrap()
        })
        .collect();
    let targets = ids.iter().enumerate().map(|(i, id)| target(i, id)).collect();
    (sim, ids, targets)
}

pub struct Harness {
    pub sim: DokploySim,
    pub server: ApiServer,
    pub ctx: Arc<Context>,
    pub clock: Arc<StepClock>,
    pub config: Arc<ProviderConfig>,
    pub targets: Vec<ProviderTarget>,
}

impl Harness {
    pub async fn start(key: &str) -> Harness {
        let (sim, _, targets) = seeded(key).await;
        Self::with(sim, key, None, targets)
    }

    pub fn with(sim: DokploySim, key: &str, url: Option<&str>, targets: Vec<ProviderTarget>) -> Harness {
        let config = config(url.unwrap_or(&sim.base_url()));
        let server = ApiServer::default();
        *server.object.lock().unwrap() = serde_json::to_value(&config).unwrap();
        let clock = Arc::new(StepClock(Mutex::new(
            Timestamp::from_second(1_800_000_000).unwrap(),
        )));
        let caches = Caches {
            configs: store(vec![config.clone()]),
            targets: store(targets.clone()),
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
        };
        let ctx = Arc::new(Context::new(
            server.client(key.to_string()),
            None,
            DEFAULT_INSTANCE.into(),
            Arc::new(Metrics::new()),
            Prober::new(ProberConfig::default()).unwrap(),
            caches,
            Wakes::none(),
            clock.clone(),
        ));
        Harness {
            sim,
            server,
            ctx,
            clock,
            config: Arc::new(config),
            targets,
        }
    }

    /// One ProviderConfig reconcile (it polls when due); the requeue it asked for, and the
    /// status it wrote.
    pub async fn reconcile(&self) -> (Action, Value) {
        let action = controller::reconcile(self.config.clone(), self.ctx.clone())
            .await
            .expect("the reconcile itself succeeds: a Dokploy fault is a verdict, not an error");
        (action, self.server.last_config_status())
    }

    /// The verdicts the ProviderTargets get from the snapshot the poll published.
    pub fn target_verdicts(&self) -> Vec<(Verdict, String, String)> {
        let view = self
            .ctx
            .world
            .providers
            .view(&format!("{NS}/main"))
            .expect("a published view");
        let window = view.snapshot.window(&view.settings);
        let now = self.ctx.world.now();
        self.targets
            .iter()
            .map(|t| {
                let claims = claims_against(t, &self.targets);
                let s = target_core(t, &window, &claims, now).status;
                (
                    s.verdict.unwrap(),
                    s.reason.unwrap_or_default(),
                    s.message.unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Move past the next poll time.
    pub fn next_poll(&self) {
        self.clock.advance(i64::from(POLL) * 2);
    }
}

pub fn condition<'a>(status: &'a Value, kind: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
        .unwrap_or_else(|| panic!("no {kind} condition in {status}"))
}

pub fn assert_all_unverifiable(verdicts: &[(Verdict, String, String)], reason: &str) {
    assert!(!verdicts.is_empty());
    for (verdict, why, message) in verdicts {
        assert_eq!(*verdict, Verdict::Unverifiable, "{why}: {message}");
        assert_eq!(why, reason, "{message}");
    }
}

pub fn requeue_secs(action: &Action) -> f64 {
    // Action keeps its delay private; its Debug output names it.
    let text = format!("{action:?}");
    let inner = text
        .split("Some(")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap_or_else(|| panic!("no requeue in {text}"));
    if let Some(ms) = inner.strip_suffix("ms") {
        ms.parse::<f64>().unwrap() / 1000.0
    } else if let Some(s) = inner.strip_suffix('s') {
        s.parse::<f64>().unwrap()
    } else {
        panic!("cannot read the delay in {text}")
    }
}

/// Poll successfully once: everything Matched, the next poll on the interval (±10 % jitter).
pub async fn healthy_first_poll(h: &Harness) {
    let (action, status) = h.reconcile().await;
    assert_eq!(status["verdict"], "Matched", "{status}");
    for (verdict, _, message) in h.target_verdicts() {
        assert_eq!(verdict, Verdict::Matched, "{message}");
    }
    let delay = requeue_secs(&action);
    let poll = f64::from(POLL);
    assert!(delay >= poll * 0.9 - 1.0 && delay <= poll * 1.1 + 1.0, "{delay}");
}

//! Incidents through the engine (issue 16): a lane whose app starts serving the wrong artifact
//! opens an Incident after the Product's `openAfter` and resolves it `resolveAfter` after the
//! app is fixed, in the cluster shell over a fake API server (restarted in between: the same
//! Incident, not a second one) and in standalone mode across runs over one state folder.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane::engine::Caches;
use launchplane::engine::caches::caches;
use launchplane::engine::providers::{Fingerprint, PollerSlot};
use launchplane::k8s::context::{Context, Wakes};
use launchplane::k8s::controller;
use launchplane::metrics::Metrics;
use launchplane::notify::destination::DestinationFactory;
use launchplane::observe::poller::Poller;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane::standalone::engine::Engine;
use launchplane::standalone::inputs::Inputs;
use launchplane::standalone::state::StateDir;
use launchplane_api::conditions::Clock;
use launchplane_api::resources::{
    BackupCapture, BackupGate, BackupGateSpec, BackupGateStatus, CaptureStatus, DriftPolicy, HealthCheck,
    HealthCheckType, Incident, IncidentPolicy, IncidentState, IncidentTransitionType, Lane, LocalObjectRef,
    NotificationPolicy, PreviewPolicy, Product,
};
use launchplane_e2e::sim::{AppBehaviour, DokploySim};
use launchplane_providers::{ApiKey, DokployClient, DokployConfig};
use launchplane_testkit::FakeApiServer;
use launchplane_testkit::build::{NS, artifact, lane, managed_target, provider_config, shop_product, target};
use launchplane_testkit::fleet::sim_with_testing_app;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET_VALUE: &str = "s3cr3t-incident-payment-key";
const INCIDENT: &str = "lane.shop-testing.runtime-identity-verified";

/// The wall clock, moved forward by the test: Dokploy's times stay real, the controller's
/// clocks (open-after, resolve-after) jump.
#[derive(Default)]
struct Shifted(AtomicI64);

impl Shifted {
    fn set(&self, offset: SignedDuration) {
        self.0.store(offset.as_secs(), Ordering::SeqCst);
    }
}

impl Clock for Shifted {
    fn now(&self) -> Timestamp {
        Timestamp::now() + SignedDuration::from_secs(self.0.load(Ordering::SeqCst))
    }
}

fn minutes(m: i64) -> SignedDuration {
    SignedDuration::from_secs(m * 60)
}

fn product() -> Product {
    let mut p = shop_product(PreviewPolicy::default());
    p.spec.incidents = IncidentPolicy {
        open_after: "10m".into(),
        resolve_after: "5m".into(),
        history_limit: 20,
    };
    p
}

fn the_lane(url: &str) -> Lane {
    let mut l = lane("shop-testing", "shop-testing", "shop-a", url);
    l.spec.drift_policy = DriftPolicy::Report;
    l.spec.env.secret_refs = vec![LocalObjectRef::new("shop-secrets")];
    l.metadata.uid = Some("lane-uid-incidents".into());
    l.metadata.generation = Some(1);
    l
}

/// What the app serves once it is wrong: another artifact of the product.
fn wrong_artifact() -> AppBehaviour {
    AppBehaviour::StaleIdentity(json!({
        "product": "shop",
        "context": "testing",
        "artifactId": "shop-b",
        "deploymentRecordId": "someone-elses-deploy",
    }))
}

/// A cluster-shell context over `server`, its caches filled as the watches would: the lanes,
/// incidents, notification policies and backup gates the server holds, and every write of one
/// of those fed back; plus the lane's target (on `app`), `product` and artifact `shop-a`.
/// Deliveries go through `notify` when given.
pub(crate) fn cluster_context(
    server: &FakeApiServer,
    clock: Arc<dyn Clock>,
    sim: &DokploySim,
    app: &str,
    product: Product,
    notify: Option<Arc<dyn DestinationFactory>>,
) -> (Arc<Context>, Caches) {
    let (caches, mut writers) = caches();
    writers.listed();
    // As a watch's first listing would: what the API server holds.
    for l in server.objects::<Lane>(NS) {
        writers.put(l);
    }
    for i in server.objects::<Incident>(NS) {
        writers.put(i);
    }
    for p in server.objects::<NotificationPolicy>(NS) {
        writers.put(p);
    }
    for g in server.objects::<BackupGate>(NS) {
        writers.put(g);
    }
    writers.put(managed_target("shop-testing", app));
    writers.put(product);
    writers.put(artifact("shop-a", 'a'));
    let feed = Mutex::new(writers);
    server.on_write(move |path, object| {
        let mut w = feed.lock().unwrap();
        let kind = |segment: &str| path.contains(segment);
        if kind("/lanes/")
            && let Ok(o) = serde_json::from_value::<Lane>(object.clone())
        {
            w.put(o);
        }
        if kind("/incidents/")
            && let Ok(o) = serde_json::from_value::<Incident>(object.clone())
        {
            w.put(o);
        }
        if kind("/notificationpolicies/")
            && let Ok(o) = serde_json::from_value::<NotificationPolicy>(object.clone())
        {
            w.put(o);
        }
    });
    let mut ctx = Context::new(
        server.client(),
        None,
        support::INSTANCE.into(),
        Arc::new(Metrics::new()),
        Prober::new(ProberConfig::default()).unwrap(),
        caches.clone(),
        Wakes::none(),
        clock,
    )
    .with_deploy(support::deploy_settings());
    if let Some(factory) = notify {
        ctx = ctx.with_notify(factory);
    }
    let dokploy = DokployClient::new(DokployConfig::new(sim.base_url(), sim.api_key())).unwrap();
    ctx.world.providers.set_slot(
        &format!("{NS}/dokploy"),
        PollerSlot {
            fingerprint: Fingerprint {
                url: sim.base_url(),
                api_key: ApiKey::new(sim.api_key()),
                rate_limit: (10, 10),
            },
            poller: Poller::new(Arc::new(dokploy), Default::default()),
            next_poll_at: None,
            last_poll_at: None,
        },
    );
    (Arc::new(ctx), caches)
}

/// The cluster shell: a context over the fake API server whose writes come back into the
/// caches, as the watches would bring them.
struct Cluster {
    server: FakeApiServer,
    clock: Arc<Shifted>,
}

impl Cluster {
    /// An empty API server holding the lane's Secret, and a clock at now.
    fn new() -> Self {
        let cluster = Cluster {
            server: FakeApiServer::new(),
            clock: Arc::new(Shifted::default()),
        };
        cluster
            .server
            .put_secret(NS, "shop-secrets", &[("PAYMENT_KEY", SECRET_VALUE.as_bytes())]);
        cluster
    }

    fn context(&self, sim: &DokploySim, app: &str) -> (Arc<Context>, Caches) {
        cluster_context(&self.server, self.clock.clone(), sim, app, product(), None)
    }

    fn incidents(&self) -> Vec<Incident> {
        self.server.objects::<Incident>(NS)
    }

    fn incident(&self) -> Incident {
        let all = self.incidents();
        assert_eq!(all.len(), 1, "one incident: {all:#?}");
        all.into_iter().next().unwrap()
    }
}

/// Reconcile the lane once; returns when the controller asked to look again.
pub(crate) async fn reconcile(ctx: &Arc<Context>, caches: &Caches) -> kube::runtime::controller::Action {
    let current = caches.get::<Lane>(NS, "shop-testing").unwrap();
    controller::reconcile(current, ctx.clone()).await.unwrap()
}

fn state_of(incident: &Incident) -> (IncidentState, i32) {
    let s = incident.status.as_ref().unwrap();
    (s.state.unwrap(), s.occurrence)
}

/// A BackupGate's capture of the lane, holding its web stopped (`web_started` false) or done.
fn capturing_gate(web_started: bool) -> BackupGate {
    let mut g = BackupGate::new(
        "shop-testing-cold",
        BackupGateSpec {
            lane_ref: LocalObjectRef::new("shop-testing"),
            capture: Some(BackupCapture { stop_web: Some(true) }),
            ..Default::default()
        },
    );
    g.metadata.namespace = Some(NS.into());
    g.status = Some(BackupGateStatus {
        capture: Some(CaptureStatus {
            web_containers: vec!["0123456789ab".into()],
            web_started_at: web_started.then(|| Time(Timestamp::now())),
            ..Default::default()
        }),
        ..Default::default()
    });
    g
}

/// Reconcile until the lane has settled (not Reconciling).
pub(crate) async fn settle(ctx: &Arc<Context>, caches: &Caches) {
    for _ in 0..200 {
        reconcile(ctx, caches).await;
        let lane = caches.get::<Lane>(NS, "shop-testing").unwrap();
        let settled = lane.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "Reconciling" && c.status == "False")
        });
        if settled {
            return;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    panic!("the lane never settled");
}

/// A capture that stops the web on purpose pages nobody: while a BackupGate holds the lane's web
/// stopped, the lane's failing checks start no Incident, however long it lasts; once the web is
/// started again, a failure counts as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_a_capture_stopped_on_purpose_opens_no_incident() {
    let (sim, app) = sim_with_testing_app().await;
    let url = sim.app_url(&app).unwrap();
    let cluster = Cluster::new();
    // A required health check of the app: the web down fails it.
    let mut lane = the_lane(&url);
    lane.spec.health_checks = vec![HealthCheck {
        check_type: HealthCheckType::PrivateHttp,
        url: Some(format!("{url}/")),
        path: None,
        expect_status: 200,
        timeout_seconds: 2,
        required: true,
    }];
    cluster.server.put(&lane);
    let (ctx, caches) = cluster.context(&sim, &app);
    settle(&ctx, &caches).await;
    assert!(cluster.incidents().is_empty(), "{:#?}", cluster.incidents());

    cluster.server.put(&capturing_gate(false));
    let (ctx, caches) = cluster.context(&sim, &app);
    sim.set_app_behaviour(&app, AppBehaviour::Down);
    for offset in [0, 0, 0, 11, 11, 30] {
        cluster.clock.set(minutes(offset));
        reconcile(&ctx, &caches).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(
            cluster.incidents().is_empty(),
            "down on purpose, {offset} min: {:#?}",
            cluster.incidents()
        );
    }
    let lane = caches.get::<Lane>(NS, "shop-testing").unwrap();
    assert_ne!(
        lane.status.as_ref().unwrap().verdict,
        Some(launchplane_api::Verdict::Matched),
        "the lane's own status still says the web is down"
    );

    // Started again by the capture, but still down: that is an outage.
    cluster.server.put(&capturing_gate(true));
    let (ctx, caches) = cluster.context(&sim, &app);
    for _ in 0..100 {
        reconcile(&ctx, &caches).await;
        if !cluster.incidents().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let opened: Vec<String> = cluster.incidents().iter().map(|i| i.spec.check.clone()).collect();
    assert!(
        opened.iter().any(|c| c.starts_with("health privateHttp")),
        "a failure after the capture counts: {opened:?}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lane_serving_the_wrong_artifact_opens_an_incident_and_resolves_once_fixed_across_a_restart() {
    let (sim, app) = sim_with_testing_app().await;
    let url = sim.app_url(&app).unwrap();
    let cluster = Cluster::new();
    cluster.server.put(&the_lane(&url));
    let (ctx, caches) = cluster.context(&sim, &app);

    // Deployed and verified: no incident, not even a pending one.
    settle(&ctx, &caches).await;
    let lane = caches.get::<Lane>(NS, "shop-testing").unwrap();
    assert_eq!(
        lane.status.as_ref().unwrap().verdict,
        Some(launchplane_api::Verdict::Matched),
        "{:#?}",
        lane.status
    );
    assert!(cluster.incidents().is_empty(), "{:#?}", cluster.incidents());

    // The app starts serving another artifact: the clock starts, nothing is open yet, and the
    // lane is looked at again when the incident is due (not at the poll interval).
    sim.set_app_behaviour(&app, wrong_artifact());
    let action = reconcile(&ctx, &caches).await;
    let pending = cluster.incident();
    assert_eq!(pending.metadata.name.as_deref(), Some(INCIDENT));
    assert_eq!(state_of(&pending), (IncidentState::Pending, 0));
    let status = pending.status.clone().unwrap();
    assert_eq!(status.verdict, Some(launchplane_api::Verdict::Mismatch));
    assert_eq!(pending.spec.product, "shop");
    assert_eq!(pending.spec.lane, "shop-testing");
    assert_eq!(pending.spec.check, "RuntimeIdentityVerified");
    assert!(
        status.message.as_deref().unwrap_or_default().contains("shop-b"),
        "the evidence names what the app serves: {status:#?}"
    );
    // Otherwise looked at again at the poll interval, as before.
    assert_ne!(action, kube::runtime::controller::Action::await_change());

    // Not before openAfter, and looked at again when it is due (sooner than the poll interval).
    cluster.clock.set(minutes(10) - SignedDuration::from_secs(5));
    let action = reconcile(&ctx, &caches).await;
    assert_eq!(state_of(&cluster.incident()), (IncidentState::Pending, 0));
    assert!(
        (4..=6).any(|s| action == kube::runtime::controller::Action::requeue(Duration::from_secs(s))),
        "looked at again when it is due: {action:?}"
    );
    // ...open once it has passed.
    cluster.clock.set(minutes(10) + SignedDuration::from_secs(2));
    reconcile(&ctx, &caches).await;
    let open = cluster.incident();
    assert_eq!(state_of(&open), (IncidentState::Open, 1));
    let resolved_condition = |i: &Incident| {
        i.status
            .as_ref()
            .unwrap()
            .conditions
            .iter()
            .find(|c| c.type_ == "Resolved")
            .map(|c| c.status.clone())
    };
    assert_eq!(resolved_condition(&open).as_deref(), Some("False"));

    // A restart: fresh caches listed from the API server, new clients. The same Incident goes
    // on; none is created twice.
    drop(ctx);
    let (ctx, caches) = cluster.context(&sim, &app);
    cluster.clock.set(minutes(11));
    reconcile(&ctx, &caches).await;
    assert_eq!(state_of(&cluster.incident()), (IncidentState::Open, 1));

    // Fixed: resolved resolveAfter (5m) after the first Matched reconcile, not before.
    sim.set_app_behaviour(&app, AppBehaviour::Normal);
    cluster.clock.set(minutes(12));
    reconcile(&ctx, &caches).await;
    assert_eq!(state_of(&cluster.incident()), (IncidentState::Open, 1));
    cluster.clock.set(minutes(16));
    reconcile(&ctx, &caches).await;
    assert_eq!(state_of(&cluster.incident()), (IncidentState::Open, 1));
    cluster.clock.set(minutes(17) + SignedDuration::from_secs(2));
    reconcile(&ctx, &caches).await;
    let resolved = cluster.incident();
    assert_eq!(state_of(&resolved), (IncidentState::Resolved, 1));
    assert_eq!(resolved_condition(&resolved).as_deref(), Some("True"));
    let history: Vec<IncidentTransitionType> = resolved
        .status
        .as_ref()
        .unwrap()
        .transitions
        .iter()
        .map(|t| t.type_)
        .collect();
    assert_eq!(
        history,
        [IncidentTransitionType::Opened, IncidentTransitionType::Resolved]
    );
    assert!(resolved.status.as_ref().unwrap().deliveries.is_empty());

    // One Incident created, ever, owned by the lane; no secret in any of its writes.
    let posts: Vec<Value> = cluster
        .server
        .calls()
        .into_iter()
        .filter(|c| c.path.ends_with("/incidents") && c.method == http::Method::POST)
        .map(|c| c.body)
        .collect();
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert_eq!(
        posts[0]["metadata"]["ownerReferences"][0]["uid"],
        "lane-uid-incidents"
    );
    let written: String = cluster
        .server
        .calls()
        .into_iter()
        .filter(|c| c.path.contains("/incidents"))
        .map(|c| c.body.to_string())
        .collect();
    assert!(!written.contains(SECRET_VALUE), "no secret in an Incident");
    sim.shutdown().await;
}

/// Standalone mode: the same story across separate runs (a new engine each time, as a CI job
/// runs `launchplane reconcile --once`), the clocks kept in the state folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_runs_open_and_resolve_the_same_incident_from_the_state_folder() {
    let (sim, app) = sim_with_testing_app().await;
    let url = sim.app_url(&app).unwrap();
    let state_dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(state_dir.path());
    let clock = Arc::new(Shifted::default());
    let mut lane = the_lane(&url);
    lane.spec.env.secret_refs.clear();
    // Dokploy's own view, advisory: reported in Healthy from the round's poll.
    lane.spec.health_checks = vec![HealthCheck {
        check_type: HealthCheckType::Provider,
        url: None,
        path: None,
        expect_status: 200,
        timeout_seconds: 5,
        required: false,
    }];
    let inputs = Inputs {
        configs: vec![provider_config(&sim.base_url())],
        targets: vec![target(
            "shop-testing",
            &app,
            "shop-testing",
            launchplane_api::resources::ManagementPolicy::Manage,
        )],
        products: vec![product()],
        artifacts: vec![artifact("shop-a", 'a')],
        lanes: vec![lane],
        secrets: [(
            format!("{NS}/dokploy-key"),
            BTreeMap::from([("api-key".to_string(), sim.api_key().into_bytes())]),
        )]
        .into(),
        ..Default::default()
    };
    let run = |at: SignedDuration| {
        clock.set(at);
        let mut engine = Engine::new(
            Prober::new(ProberConfig::default()).unwrap(),
            state.clone(),
            Box::new(|_: &str| None),
        )
        .with_deploy(support::deploy_settings())
        .with_clock(clock.clone());
        let inputs = inputs.clone();
        async move { engine.round(&inputs).await }
    };
    let incident_rows = |rows: &[launchplane::standalone::report::Row]| {
        rows.iter()
            .filter(|r| r.kind == "Incident")
            .map(|r| (r.name.clone(), r.reason.clone(), r.required))
            .collect::<Vec<_>>()
    };

    let healthy = || {
        let lane_status: Value = state.load("Lane", NS, "shop-testing").unwrap();
        lane_status["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Healthy")
            .unwrap()["message"]
            .as_str()
            .unwrap()
            .to_string()
    };

    let rows = run(SignedDuration::ZERO).await;
    let lane_row = rows.iter().find(|r| r.kind == "Lane").unwrap();
    assert_eq!(lane_row.reason, "AllAspectsMatched", "{rows:#?}");
    assert!(incident_rows(&rows).is_empty(), "{rows:#?}");
    // The round's poll came before the lane's deploy: no evidence of it yet.
    assert!(
        healthy().contains(
            "provider (advisory): Unverifiable (a deploy attempt of the lane is changing the target"
        ),
        "{}",
        healthy()
    );

    sim.set_app_behaviour(&app, wrong_artifact());
    let rows = run(minutes(1)).await;
    assert_eq!(
        incident_rows(&rows),
        [(INCIDENT.to_string(), "Pending".to_string(), false)],
        "{rows:#?}"
    );
    // This round's poll saw the deployed application.
    assert!(
        healthy().contains(&format!(
            "provider (advisory): Matched (Dokploy reports application {app} done; its last deployment "
        )),
        "{}",
        healthy()
    );
    let rows = run(minutes(11) + SignedDuration::from_secs(2)).await;
    assert_eq!(
        incident_rows(&rows),
        [(INCIDENT.to_string(), "Open".to_string(), false)]
    );
    let open = rows.iter().find(|r| r.kind == "Incident").unwrap();
    assert!(
        open.message
            .starts_with("shop/shop-testing RuntimeIdentityVerified: open since"),
        "{}",
        open.message
    );

    sim.set_app_behaviour(&app, AppBehaviour::Normal);
    run(minutes(12)).await;
    let rows = run(minutes(17) + SignedDuration::from_secs(2)).await;
    assert_eq!(
        incident_rows(&rows),
        [(INCIDENT.to_string(), "Resolved".to_string(), false)]
    );
    // One Incident kept, whole, in the state folder.
    assert_eq!(
        state.stored("incidents"),
        vec![(NS.to_string(), INCIDENT.to_string())]
    );
    let kept: Incident = state.load("incidents", NS, INCIDENT).unwrap();
    assert_eq!(kept.spec.check, "RuntimeIdentityVerified");

    // The lane leaves the folder: its Incident is forgotten with it.
    let mut gone = inputs.clone();
    gone.lanes.clear();
    clock.set(minutes(18));
    let mut engine = Engine::new(
        Prober::new(ProberConfig::default()).unwrap(),
        state.clone(),
        Box::new(|_: &str| None),
    )
    .with_clock(clock.clone());
    let rows = engine.round(&gone).await;
    assert!(incident_rows(&rows).is_empty(), "{rows:#?}");
    assert!(state.stored("incidents").is_empty());
    sim.shutdown().await;
}

/// The evidence never keeps a credential: a required check whose URL carries a user and
/// password (and a token in its query) fails to connect; its Incident names the check and keeps
/// the error without either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_never_keeps_the_credentials_of_a_check_url() {
    const PASSWORD: &str = "hunter2-incident-pw";
    const TOKEN: &str = "t0ken-incident-query";
    let (sim, app) = sim_with_testing_app().await;
    let url = sim.app_url(&app).unwrap();
    let state_dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(state_dir.path());
    let mut lane = the_lane(&url);
    lane.spec.env.secret_refs.clear();
    // Observe only: nothing to deploy, the check alone fails.
    lane.spec.artifact_ref = None;
    // Port 9 (discard) on loopback: refused.
    lane.spec.health_checks = vec![HealthCheck {
        check_type: HealthCheckType::PrivateHttp,
        url: Some(format!("http://ops:{PASSWORD}@127.0.0.1:9/healthz?token={TOKEN}")),
        path: None,
        expect_status: 200,
        timeout_seconds: 2,
        required: true,
    }];
    let inputs = Inputs {
        configs: vec![provider_config(&sim.base_url())],
        targets: vec![target(
            "shop-testing",
            &app,
            "shop-testing",
            launchplane_api::resources::ManagementPolicy::Observe,
        )],
        products: vec![product()],
        artifacts: vec![artifact("shop-a", 'a')],
        lanes: vec![lane],
        secrets: [(
            format!("{NS}/dokploy-key"),
            BTreeMap::from([("api-key".to_string(), sim.api_key().into_bytes())]),
        )]
        .into(),
        ..Default::default()
    };
    let mut engine = Engine::new(
        Prober::new(ProberConfig::default()).unwrap(),
        state.clone(),
        Box::new(|_: &str| None),
    );
    let rows = engine.round(&inputs).await;
    let incidents = launchplane::standalone::store::stored_incidents(&state);
    assert_eq!(incidents.len(), 1, "{rows:#?}");
    let incident = &incidents[0];
    assert!(
        incident
            .metadata
            .name
            .as_deref()
            .unwrap()
            .starts_with("lane.shop-testing.health-private-http-"),
        "{incident:#?}"
    );
    assert_eq!(
        incident.spec.check,
        "health privateHttp http://<redacted>@127.0.0.1:9/healthz?token=<redacted>"
    );
    let status = incident.status.as_ref().unwrap();
    assert_eq!(status.state, Some(IncidentState::Pending));
    assert_eq!(status.verdict, Some(launchplane_api::Verdict::Unverifiable));
    let kept = serde_json::to_string(incident).unwrap();
    let row = rows.iter().find(|r| r.kind == "Incident").unwrap();
    for secret in [PASSWORD, TOKEN] {
        assert!(!kept.contains(secret), "{secret} kept in the Incident: {kept}");
        assert!(
            !row.message.contains(secret),
            "{secret} in the row: {}",
            row.message
        );
    }
    sim.shutdown().await;
}

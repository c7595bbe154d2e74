//! The real kube-runtime controller loop (`Controller::for_stream`, the same wiring functions
//! `launchplane controller` uses) over in-memory watch streams, reconciling against the
//! Dokploy simulator and a mocked API server that answers every call and records it.
//!
//! What this proves beyond the single-reconcile tests: the ProviderConfig poll triggers the
//! ProviderTarget reconciles, requeues keep polling on the config's interval, a failing object
//! is retried through the error policy while the others carry on, identities are probed
//! through the shared prober, and the loops stop on the shutdown signal.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use http::Method;
use jiff::Timestamp;
use kube::runtime::watcher;
use launchplane::engine::Caches;
use launchplane::engine::cache;
use launchplane::engine::preview::DEFAULT_INSTANCE;
use launchplane::k8s::context::{Context, Wakes, wakes};
use launchplane::k8s::{controller, run};
use launchplane::metrics::Metrics;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane_api::conditions::SystemClock;
use launchplane_api::resources::{
    EnvironmentKind, IdentityEndpoint, IdentityFields, IdentitySurface, LocalObjectRef, ProviderConfig,
    ProviderConfigSpec, ProviderTarget, ProviderTargetSpec, RuntimeIdentity, RuntimeIdentitySpec,
    SecretKeyRef, TargetCategory,
};
use launchplane_e2e::sim::{DokploySim, SeedApplication, SimConfig};
use launchplane_testkit::FakeApiServer;
use std::sync::Arc;
use std::time::Duration;
use support::{NS, eventually, shutdown_pair};

type WatchItem<K> = Result<watcher::Event<K>, watcher::Error>;

/// An in-memory watch: the initial list, then nothing (the channel stays open).
fn initial_list<K: Clone + Send + 'static>(
    objects: Vec<K>,
) -> (UnboundedSender<WatchItem<K>>, UnboundedReceiver<WatchItem<K>>) {
    let (tx, rx) = unbounded();
    tx.unbounded_send(Ok(watcher::Event::Init)).unwrap();
    for o in objects {
        tx.unbounded_send(Ok(watcher::Event::InitApply(o))).unwrap();
    }
    tx.unbounded_send(Ok(watcher::Event::InitDone)).unwrap();
    (tx, rx)
}

fn config(name: &str, url: &str, secret: &str) -> ProviderConfig {
    let mut c = ProviderConfig::new(
        name,
        ProviderConfigSpec {
            url: url.into(),
            api_key_secret_ref: SecretKeyRef {
                name: secret.into(),
                key: "api-key".into(),
            },
            // Below the schema's minimum on purpose: the loop must requeue within the test.
            poll_interval_seconds: 1,
            ..ProviderConfigSpec::default()
        },
    );
    c.metadata.namespace = Some(NS.into());
    c.metadata.generation = Some(1);
    c
}

fn target(name: &str, config: &str, id: Option<&str>, display: &str) -> ProviderTarget {
    let mut t = ProviderTarget::new(
        name,
        ProviderTargetSpec {
            provider_config_ref: LocalObjectRef::new(config),
            target_category: TargetCategory::Application,
            target_id: id.map(str::to_string),
            display_name: display.into(),
            domains: vec!["shop.example.com".into()],
            ..ProviderTargetSpec::default()
        },
    );
    t.metadata.namespace = Some(NS.into());
    t.metadata.generation = Some(1);
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configs_poll_the_simulator_and_targets_follow_while_a_failing_config_is_retried() {
    let sim = DokploySim::start(SimConfig::default()).await.unwrap();
    let (_, environment) = sim.seed_project("shop");
    let app = sim
        .seed_application(
            &environment,
            SeedApplication {
                name: "shop-prod".into(),
                docker_image: Some("ghcr.io/acme/shop:1".into()),
                domains: vec!["shop.example.com".into()],
                ..SeedApplication::default()
            },
        )
        .unwrap();

    let configs = vec![
        config("main", &sim.base_url(), "dokploy-key"),
        // Its Secret read fails with a 500 on every attempt.
        config("flaky", &sim.base_url(), "flaky-key"),
    ];
    let targets = vec![
        target("shop-prod", "main", Some(&app), "shop-prod"),
        target("shop-orphan", "flaky", Some("app-none"), "shop-orphan"),
        target("shop-lost", "nope", None, "shop-lost"),
    ];
    let server = FakeApiServer::new();
    configs.iter().for_each(|c| server.put(c));
    targets.iter().for_each(|t| server.put(t));
    server.put_secret(NS, "dokploy-key", &[("api-key", sim.api_key().as_bytes())]);
    // Its Secret read fails with a 500 on every attempt.
    server.fail("/secrets/flaky-key", 500);

    let (config_reader, config_writer) = cache::cache();
    let (target_reader, target_writer) = cache::cache();
    let (wakes, woken) = wakes();
    let metrics = Arc::new(Metrics::new());
    let caches = Caches {
        configs: config_reader.clone(),
        targets: target_reader.clone(),
        ..support::listed_caches()
    };
    let ctx = Arc::new(Context::new(
        server.client(),
        None,
        DEFAULT_INSTANCE.into(),
        metrics.clone(),
        Prober::new(ProberConfig::default()).unwrap(),
        caches,
        wakes,
        Arc::new(SystemClock),
    ));
    let (_config_tx, config_events) = initial_list(configs);
    let (_target_tx, target_events) = initial_list(targets);
    let (stop, shutdown) = shutdown_pair();
    let loops = tokio::spawn(futures::future::join(
        controller::run(
            run::filtered(config_events, config_writer),
            config_reader.store(),
            futures::stream::pending(),
            ctx.clone(),
            shutdown.clone(),
        ),
        controller::run(
            run::filtered(target_events, target_writer),
            target_reader.store(),
            woken.targets,
            ctx.clone(),
            shutdown,
        ),
    ));

    // The target of the working config is verified against the simulator.
    eventually(10, "shop-prod Matched", || {
        server
            .last_status::<ProviderTarget>(NS, "shop-prod")
            .is_some_and(|s| s["verdict"] == "Matched")
    })
    .await;
    let status = server.last_status::<ProviderTarget>(NS, "shop-prod").unwrap();
    assert_eq!(status["boundTargetId"], app.as_str());
    assert_eq!(
        status["observed"]["image"], "ghcr.io/acme/shop:1",
        "detail read for a tracked id"
    );
    let config_status = server.last_status::<ProviderConfig>(NS, "main").unwrap();
    assert_eq!(config_status["verdict"], "Matched");
    assert_eq!(config_status["dokployVersion"], "v0.30.2");
    assert_eq!(config_status["targetCount"], 1);

    // Requeue: the 1 s poll interval keeps polling, one org-wide round per poll, not per target.
    let polls = sim.call_count("overview.services");
    eventually(10, "a later poll", || {
        sim.call_count("overview.services") >= polls + 2
    })
    .await;

    // The failing config is retried by the error policy and counted, and never wrote a
    // status; its target says what is wrong instead of erroring.
    eventually(10, "the flaky Secret read retried", || {
        server.count(&Method::GET, "/secrets/flaky-key") >= 2
    })
    .await;
    assert!(server.last_status::<ProviderConfig>(NS, "flaky").is_none());
    assert!(metrics.encode().contains(
        r#"launchplane_reconcile_failures_total{kind="ProviderConfig",error_category="read_secret"}"#
    ));
    eventually(5, "orphan target reported", || {
        server
            .last_status::<ProviderTarget>(NS, "shop-orphan")
            .is_some_and(|s| s["reason"] == "ProviderConfigNotReady")
    })
    .await;
    let lost = server.last_status::<ProviderTarget>(NS, "shop-lost").unwrap();
    assert_eq!(lost["reason"], "ProviderConfigNotFound");
    assert_eq!(lost["verdict"], "Unverifiable");

    // Graceful shutdown: both loops end on the signal.
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), loops)
        .await
        .expect("controllers stop on shutdown")
        .unwrap();
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_identities_are_probed_on_their_interval() {
    let sim = DokploySim::start(SimConfig::default()).await.unwrap();
    let (_, environment) = sim.seed_project("shop");
    let app = sim
        .seed_application(
            &environment,
            SeedApplication {
                name: "shop-prod".into(),
                docker_image: Some("ghcr.io/acme/shop:1".into()),
                env: Some(r#"LAUNCHPLANE_RUNTIME_IDENTITY_JSON={"product":"shop","context":"prod","environmentKind":"stable"}"#.into()),
                deployed: true,
                ..SeedApplication::default()
            },
        )
        .unwrap();
    let url = sim.app_url(&app).expect("the deployed app runs");

    let identity = |name: &str, context: &str, base_url: &str| {
        let mut ri = RuntimeIdentity::new(
            name,
            RuntimeIdentitySpec {
                expected: IdentityFields {
                    product: Some("shop".into()),
                    context: Some(context.into()),
                    environment_kind: Some(EnvironmentKind::Stable),
                    ..IdentityFields::default()
                },
                endpoint: IdentityEndpoint {
                    base_url: base_url.into(),
                    health_path: "/healthz".into(),
                },
                surfaces: vec![IdentitySurface::HealthJson, IdentitySurface::WellKnown],
                interval_seconds: 1,
                timeout_seconds: 2,
                ..RuntimeIdentitySpec::default()
            },
        );
        ri.metadata.namespace = Some(NS.into());
        ri.metadata.generation = Some(1);
        ri
    };
    let identities = vec![
        identity("prod", "prod", &url),
        identity("stale", "testing", &url),
        // Nothing listens there: advisory Unverifiable, and the others carry on.
        identity("down", "prod", "http://127.0.0.1:9"),
    ];
    let server = FakeApiServer::new();
    identities.iter().for_each(|i| server.put(i));

    let (reader, writer) = cache::cache();
    let metrics = Arc::new(Metrics::new());
    let caches = Caches {
        identities: reader.clone(),
        ..support::listed_caches()
    };
    let ctx = Arc::new(Context::new(
        server.client(),
        None,
        DEFAULT_INSTANCE.into(),
        metrics.clone(),
        Prober::new(ProberConfig::default()).unwrap(),
        caches,
        Wakes::none(),
        Arc::new(SystemClock),
    ));
    let (_tx, events) = initial_list(identities);
    let (stop, shutdown) = shutdown_pair();
    let started = Timestamp::now();
    let identity_loop = tokio::spawn(controller::run(
        run::filtered(events, writer),
        reader.store(),
        futures::stream::pending(),
        ctx,
        shutdown,
    ));

    eventually(10, "all three classified", || {
        ["prod", "stale", "down"]
            .iter()
            .all(|n| server.last_status::<RuntimeIdentity>(NS, n).is_some())
    })
    .await;
    let verdict = |n: &str| server.last_status::<RuntimeIdentity>(NS, n).unwrap()["verdict"].clone();
    assert_eq!(verdict("prod"), "Matched");
    assert_eq!(verdict("stale"), "Mismatch");
    assert_eq!(verdict("down"), "Unverifiable");
    // Mismatch and Unverifiable are news on a first verdict; Matched is not.
    eventually(5, "two events", || server.count(&Method::POST, "/events") == 2).await;

    // Requeued on the 1 s interval: probed again.
    eventually(10, "a second probe of prod", || {
        server.count(&Method::PATCH, "/runtimeidentities/prod/status") >= 2
    })
    .await;
    assert!(
        metrics
            .encode()
            .contains(r#"launchplane_probes_total{result="matched"}"#)
    );
    assert!(Timestamp::now().duration_since(started).as_secs() < 15);

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), identity_loop)
        .await
        .expect("controller stops on shutdown")
        .unwrap();
    sim.shutdown().await;
}

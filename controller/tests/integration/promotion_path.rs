//! Issue 14: promotions through the cluster shell — the generic runner
//! (`k8s::controller::reconcile`) over the fake API server, against the Dokploy simulator.
//!
//! - A promotion from testing into prod, requiring a BackupGate, restarted at every step:
//!   every reconcile runs in a fresh controller (new caches listed from the API server, new
//!   Dokploy clients), so a crash between any two steps of the gates, the record, the marker,
//!   the image, the env, the deploy and the verification is covered. The prod app is deployed
//!   exactly once, the Promotion ends Succeeded with its release tuple, the BackupGate names it.
//! - An automatic promotion is created once, however often the lane is reconciled in fresh
//!   controllers, even when the cache has not seen the first creation yet.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use launchplane::engine::Cached;
use launchplane::engine::caches::{CacheWriters, caches};
use launchplane::k8s::context::{Context, Wakes};
use launchplane::k8s::controller;
use launchplane::metrics::Metrics;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane_api::conditions::SystemClock;
use launchplane_api::resources::{
    Approval, Artifact, BackupGate, BackupGateSpec, BackupResult, DeploymentRecord, Lane, LanePromotion,
    LocalObjectRef, ManagementPolicy, PreviewPolicy, Product, Promotion, PromotionPhase, PromotionSpec,
    ProviderConfig, ProviderTarget, RuntimeIdentity,
};
use launchplane_e2e::sim::DokploySim;
use launchplane_testkit::FakeApiServer;
use launchplane_testkit::build::{NS, artifact, lane, provider_config, shop_product, target};
use launchplane_testkit::fleet::{seed_fleet, start_sim};
use std::sync::Arc;
use std::time::Duration;

const API_KEY_VALUE: &[u8] = b"sim-api-key";

/// The simulator (its apps `app-0` for testing and `app-1` for prod) and the API server holding
/// testing (deploying `shop-a`) and prod (fed by Promotions from testing, `auto` as asked).
async fn setup(auto: bool) -> (DokploySim, FakeApiServer) {
    let sim = start_sim(20).await;
    let apps = seed_fleet(&sim, 2, "ghcr.io/acme/shop:old");
    let server = FakeApiServer::new();
    server.put_secret(NS, "dokploy-key", &[("api-key", API_KEY_VALUE)]);
    server.put(&provider_config(&sim.base_url()));
    let mut testing_target = target("shop-testing", &apps[0], "web-0", ManagementPolicy::Manage);
    let mut prod_target = target("shop-prod", &apps[1], "web-1", ManagementPolicy::Manage);
    for t in [&mut testing_target, &mut prod_target] {
        t.metadata.generation = Some(1);
    }
    server.put(&testing_target);
    server.put(&prod_target);
    server.put(&shop_product(PreviewPolicy::default()));
    server.put(&artifact("shop-a", 'a'));
    let mut testing = lane(
        "shop-testing",
        "shop-testing",
        "shop-a",
        &sim.app_url(&apps[0]).unwrap(),
    );
    testing.metadata.generation = Some(1);
    let mut prod = lane(
        "shop-prod",
        "shop-prod",
        "unused",
        &sim.app_url(&apps[1]).unwrap(),
    );
    prod.spec.artifact_ref = None;
    prod.spec.promotion = Some(LanePromotion {
        source_lane: "shop-testing".into(),
        require_backup_gate: !auto,
        auto,
        ..Default::default()
    });
    prod.metadata.generation = Some(1);
    server.put(&testing);
    server.put(&prod);
    (sim, server)
}

/// A controller started afresh: every cache listed from the API server, no Dokploy client yet.
fn restart(server: &FakeApiServer) -> Arc<Context> {
    let (caches, mut writers) = caches();
    writers.listed();
    fn load<K: Cached>(server: &FakeApiServer, writers: &mut CacheWriters) {
        for o in server.objects::<K>(NS) {
            writers.put(o);
        }
    }
    load::<ProviderConfig>(server, &mut writers);
    load::<ProviderTarget>(server, &mut writers);
    load::<RuntimeIdentity>(server, &mut writers);
    load::<Product>(server, &mut writers);
    load::<Artifact>(server, &mut writers);
    load::<Lane>(server, &mut writers);
    load::<DeploymentRecord>(server, &mut writers);
    load::<Promotion>(server, &mut writers);
    load::<BackupGate>(server, &mut writers);
    load::<Approval>(server, &mut writers);
    Arc::new(
        Context::new(
            server.client(),
            None,
            "cluster-promotions".into(),
            Arc::new(Metrics::new()),
            Prober::new(ProberConfig::default()).unwrap(),
            caches,
            Wakes::none(),
            Arc::new(SystemClock),
        )
        .with_deploy(support::deploy_settings()),
    )
}

/// Reconcile `kind/name` once in `ctx`, through the generic runner.
async fn reconcile<K: controller::Reconcile>(ctx: &Arc<Context>, name: &str) {
    let object = ctx
        .world
        .caches
        .get::<K>(NS, name)
        .unwrap_or_else(|| panic!("{name} is cached"));
    controller::reconcile(object, ctx.clone()).await.unwrap();
}

/// A restarted controller whose ProviderConfig polled (it sets up the Dokploy client) and
/// whose ProviderTargets were verified against the poll, as after any restart.
async fn polled(server: &FakeApiServer) -> Arc<Context> {
    let ctx = restart(server);
    reconcile::<ProviderConfig>(&ctx, "dokploy").await;
    reconcile::<ProviderTarget>(&ctx, "shop-testing").await;
    reconcile::<ProviderTarget>(&ctx, "shop-prod").await;
    // The targets' statuses as written (the watch would bring them back).
    restart(server)
}

/// One step of the cluster after a restart (a poll first), then `step`.
async fn after_restart(server: &FakeApiServer, step: usize) {
    let ctx = polled(server).await;
    reconcile::<ProviderConfig>(&ctx, "dokploy").await;
    match step % 6 {
        0 | 3 => reconcile::<Lane>(&ctx, "shop-testing").await,
        1 | 4 => reconcile::<Lane>(&ctx, "shop-prod").await,
        2 => {
            for p in server.objects::<Promotion>(NS) {
                reconcile::<Promotion>(&ctx, p.metadata.name.as_deref().unwrap()).await;
            }
        }
        _ => {
            for g in server.objects::<BackupGate>(NS) {
                reconcile::<BackupGate>(&ctx, g.metadata.name.as_deref().unwrap()).await;
            }
        }
    }
}

fn promotion_phase(server: &FakeApiServer, name: &str) -> Option<PromotionPhase> {
    server
        .object::<Promotion>(NS, name)
        .and_then(|p| p.status)
        .and_then(|s| s.phase)
}

/// Deployments of `app` Launchplane sent (titled with a record id).
fn launchplane_deploys(sim: &DokploySim, app: &str) -> Vec<String> {
    sim.deployments(app)
        .iter()
        .filter_map(|d| d["title"].as_str().map(String::from))
        .filter(|t| t.starts_with("dr-"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promotion_restarted_at_every_step_deploys_once_and_succeeds() {
    let (sim, server) = setup(false).await;
    let mut promotion = Promotion::new(
        "prod-shop-a",
        PromotionSpec {
            product_ref: LocalObjectRef::new("shop"),
            from_lane: Some("shop-testing".into()),
            to_lane: "shop-prod".into(),
            artifact_ref: Some(LocalObjectRef::new("shop-a")),
            reason: Some("release".into()),
        },
    );
    promotion.metadata.namespace = Some(NS.into());
    promotion.metadata.generation = Some(1);
    server.put(&promotion);

    // Until testing runs and verifies shop-a, the Promotion is Blocked by SourceVerified; then
    // by the missing BackupGate, until one is written.
    let mut saw_blocked_by = Vec::new();
    let mut gate_written = false;
    for step in 0..400 {
        after_restart(&server, step).await;
        let p = server.object::<Promotion>(NS, "prod-shop-a").unwrap();
        let status = p.status.clone().unwrap_or_default();
        if status.phase == Some(PromotionPhase::Blocked)
            && let Some(w) = status.waiting_on.clone()
            && saw_blocked_by.last() != Some(&w)
        {
            saw_blocked_by.push(w);
        }
        if saw_blocked_by.last().map(String::as_str) == Some("BackupGate") && !gate_written {
            let mut gate = BackupGate::new(
                "prod-nightly",
                BackupGateSpec {
                    lane_ref: LocalObjectRef::new("shop-prod"),
                    capture: None,
                    backup_id: Some("nightly-1".into()),
                    taken_at: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                        jiff::Timestamp::now(),
                    )),
                    location: Some("s3://backups/shop-prod/nightly-1".into()),
                    evidence: None,
                    result: Some(BackupResult::Passed),
                },
            );
            gate.metadata.namespace = Some(NS.into());
            gate.metadata.generation = Some(1);
            server.put(&gate);
            gate_written = true;
        }
        assert!(
            launchplane_deploys(&sim, "app-1").len() <= 1,
            "prod deployed twice: {:?}",
            launchplane_deploys(&sim, "app-1")
        );
        if status.phase == Some(PromotionPhase::Succeeded)
            && server
                .object::<BackupGate>(NS, "prod-nightly")
                .and_then(|g| g.status)
                .and_then(|s| s.used_by)
                .is_some()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        promotion_phase(&server, "prod-shop-a"),
        Some(PromotionPhase::Succeeded),
        "{:#?}",
        server.object::<Promotion>(NS, "prod-shop-a").unwrap().status
    );
    assert_eq!(saw_blocked_by.first().map(String::as_str), Some("SourceVerified"));
    assert!(
        saw_blocked_by.iter().any(|w| w == "BackupGate"),
        "{saw_blocked_by:?}"
    );

    let status = server
        .object::<Promotion>(NS, "prod-shop-a")
        .unwrap()
        .status
        .unwrap();
    let record = status.deployment_record.clone().unwrap();
    assert_eq!(
        launchplane_deploys(&sim, "app-1"),
        vec![record.clone()],
        "exactly one deploy"
    );
    assert_eq!(
        launchplane_deploys(&sim, "app-0").len(),
        1,
        "testing deployed once too"
    );
    let r = server.object::<DeploymentRecord>(NS, &record).unwrap();
    assert_eq!(r.spec.promotion_ref, Some(LocalObjectRef::new("prod-shop-a")));
    assert_eq!(status.backup_gate.as_deref(), Some("prod-nightly"));
    let tuple = status.release_tuple.unwrap();
    assert_eq!(
        (tuple.lane.as_str(), tuple.artifact.as_str()),
        ("shop-prod", "shop-a")
    );
    assert_eq!(tuple.deployment_record.as_deref(), Some(record.as_str()));
    // The lane says what it wants, who set it, and that the BackupGate authorized it.
    let prod = server.object::<Lane>(NS, "shop-prod").unwrap().status.unwrap();
    let desired = prod.desired.unwrap();
    assert_eq!(
        (desired.artifact.as_str(), desired.promotion.as_deref()),
        ("shop-a", Some("prod-shop-a"))
    );
    let inventory = prod.inventory.unwrap();
    assert_eq!(inventory.promotion.as_deref(), Some("prod-shop-a"));
    assert_eq!(inventory.backup_gate.as_deref(), Some("prod-nightly"));
    let used = server
        .object::<BackupGate>(NS, "prod-nightly")
        .unwrap()
        .status
        .unwrap();
    assert_eq!(used.used_by.as_deref(), Some("prod-shop-a"));
    // Gate news went out as Events.
    let events = server
        .calls()
        .into_iter()
        .filter(|c| c.method == http::Method::POST && c.path.ends_with("/events"))
        .filter(|c| c.body["regarding"]["kind"] == "Promotion")
        .map(|c| c.body["reason"].as_str().unwrap_or_default().to_string())
        .collect::<Vec<_>>();
    assert!(events.iter().any(|r| r == "GateDenied"), "{events:?}");
    assert!(events.iter().any(|r| r == "GateAllowed"), "{events:?}");

    // Later restarts change nothing: no second deploy, the Promotion stays as it ended.
    for step in 0..12 {
        after_restart(&server, step).await;
    }
    assert_eq!(launchplane_deploys(&sim, "app-1").len(), 1);
    assert_eq!(
        promotion_phase(&server, "prod-shop-a"),
        Some(PromotionPhase::Succeeded)
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_automatic_promotion_is_created_once_across_restarts_and_lags() {
    let (sim, server) = setup(true).await;
    // testing deploys and verifies shop-a.
    for step in 0..80 {
        let ctx = polled(&server).await;
        reconcile::<ProviderConfig>(&ctx, "dokploy").await;
        reconcile::<Lane>(&ctx, "shop-testing").await;
        let verified = server
            .object::<Lane>(NS, "shop-testing")
            .and_then(|l| l.status)
            .and_then(|s| s.inventory)
            .is_some();
        if verified && step > 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // prod's reconciles, each in a fresh controller, want the same Promotion; one of them runs
    // on a cache that has not seen the first one yet (the create answers AlreadyExists).
    for _ in 0..3 {
        let ctx = polled(&server).await;
        reconcile::<ProviderConfig>(&ctx, "dokploy").await;
        reconcile::<Lane>(&ctx, "shop-prod").await;
    }
    let created: Vec<Promotion> = server.objects::<Promotion>(NS);
    assert_eq!(created.len(), 1, "{created:#?}");
    let posts = |server: &FakeApiServer| server.count(&http::Method::POST, "/promotions");
    let before = posts(&server);
    let lagging = {
        let (caches, mut writers) = caches();
        writers.listed();
        for l in server.objects::<Lane>(NS) {
            writers.put(l);
        }
        for a in server.objects::<Artifact>(NS) {
            writers.put(a);
        }
        for t in server.objects::<ProviderTarget>(NS) {
            writers.put(t);
        }
        for c in server.objects::<ProviderConfig>(NS) {
            writers.put(c);
        }
        for p in server.objects::<Product>(NS) {
            writers.put(p);
        }
        Arc::new(
            Context::new(
                server.client(),
                None,
                "cluster-promotions".into(),
                Arc::new(Metrics::new()),
                Prober::new(ProberConfig::default()).unwrap(),
                caches,
                Wakes::none(),
                Arc::new(SystemClock),
            )
            .with_deploy(support::deploy_settings()),
        )
    };
    reconcile::<ProviderConfig>(&lagging, "dokploy").await;
    reconcile::<Lane>(&lagging, "shop-prod").await;
    assert_eq!(
        posts(&server),
        before + 1,
        "the lagging controller asked once more"
    );
    let all = server.objects::<Promotion>(NS);
    assert_eq!(all.len(), 1, "and the API server kept one: {all:#?}");
    let p = &all[0];
    assert_eq!(p.metadata.name.as_deref(), Some("shop-prod-auto-shop-a"));
    assert_eq!(
        p.metadata.labels.as_ref().unwrap()["launchplane.dev/auto-promotion"],
        "true"
    );
    assert_eq!(p.spec.artifact_ref.as_ref().unwrap().name, "shop-a");
    sim.shutdown().await;
}

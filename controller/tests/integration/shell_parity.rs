//! The two shells give the same verdict, reason and message for the same facts (issue 13).
//!
//! One scenario — a ProviderConfig, a managed target a Lane deploys an Artifact to, a target
//! renamed in Dokploy, a target whose application is gone, a RuntimeIdentity an app does not
//! answer for, the Product and the Artifact, and (issue 14) a prod Lane fed by Promotions with a
//! Promotion of the testing lane's artifact into it — runs through the standalone shell (rounds
//! of `standalone::engine::Engine` over a folder's objects and a state folder) and through the
//! cluster shell (the generic controller runner, `k8s::controller::reconcile`, over a fake API
//! server whose writes come back into the caches as a watch would bring them), each against its
//! own Dokploy simulator seeded id for id. Every object's status must then agree: verdict, and
//! the type, status, reason and message of every condition (URLs of the two simulators aside).
//! So must the Incidents both shells write (issue 16): the two ProviderTargets no lane covers
//! are failing, so each shell keeps the same Pending Incident for each, by the same name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use launchplane::engine::caches::{CacheWriters, caches};
use launchplane::engine::{Cached, Kind};
use launchplane::k8s::context::{Context, Wakes};
use launchplane::k8s::controller;
use launchplane::metrics::Metrics;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane::standalone::engine::Engine;
use launchplane::standalone::inputs::Inputs;
use launchplane::standalone::state::StateDir;
use launchplane_api::conditions::{Clock, SystemClock};
use launchplane_api::resources::{
    Artifact, BackupCapture, BackupCommand, BackupGate, BackupGateSpec, BootstrapSource, CommandSpec,
    DataBootstrap, DataBootstrapSpec, Driver, Incident, Lane, LanePromotion, LaneStatus, LocalObjectRef,
    ManagementPolicy, OdooSpec, PreviewPolicy, Product, Promotion, PromotionSpec, ProviderConfig,
    ProviderTarget, RuntimeIdentity, TargetCategory,
};
use launchplane_e2e::sim::DokploySim;
use launchplane_e2e::sim::{ScheduleRunScript, SeedCompose};
use launchplane_testkit::FakeApiServer;
use launchplane_testkit::build::{
    NS, artifact, lane, provider_config, runtime_identity, shop_product, target,
};
use launchplane_testkit::fleet::{seed_fleet, start_sim};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const API_KEY_VALUE: &[u8] = b"sim-api-key";

/// The real clock: Dokploy's own times (a deployment's start) are compared with the
/// controller's, so a clock of its own would make the two disagree.
fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// The scenario's objects over `sim` (its URLs are the only thing that differs between the
/// two simulators).
struct Scenario {
    configs: Vec<ProviderConfig>,
    targets: Vec<ProviderTarget>,
    identities: Vec<RuntimeIdentity>,
    products: Vec<Product>,
    artifacts: Vec<Artifact>,
    lanes: Vec<Lane>,
    promotions: Vec<Promotion>,
    gates: Vec<BackupGate>,
    bootstraps: Vec<DataBootstrap>,
}

async fn scenario() -> (DokploySim, Scenario) {
    let sim = start_sim(20).await;
    let apps = seed_fleet(&sim, 4, "ghcr.io/acme/shop:old");
    let web0 = sim.app_url(&apps[0]).unwrap();
    let web1 = sim.app_url(&apps[1]).unwrap();
    let web2 = sim.app_url(&apps[2]).unwrap();
    let web3 = sim.app_url(&apps[3]).unwrap();
    // Issue 15: a VeriReel-style product's lane, verified by its driver's checks (health on the
    // Product's health path, runtime identity), each reported on the lane and its record.
    let mut vr_lane = lane("vr-testing", "vr-testing", "shop-a", &web3);
    vr_lane.spec.product_ref = LocalObjectRef::new("vr");
    vr_lane.metadata.generation = Some(1);
    let mut vr_product = shop_product(PreviewPolicy::default());
    vr_product.metadata.name = Some("vr".into());
    vr_product.spec.driver = Driver::Verireel;
    let mut testing_lane = lane("shop-testing", "shop-testing", "shop-a", &web0);
    testing_lane.metadata.generation = Some(1);
    // Fed by Promotions from testing: nothing in its spec says which artifact.
    let mut prod_lane = lane("shop-prod", "shop-prod", "unused", &web2);
    prod_lane.spec.artifact_ref = None;
    prod_lane.spec.promotion = Some(LanePromotion {
        source_lane: "shop-testing".into(),
        ..Default::default()
    });
    prod_lane.metadata.generation = Some(1);
    let mut promotion = Promotion::new(
        "prod-shop-a",
        PromotionSpec {
            product_ref: LocalObjectRef::new("shop"),
            from_lane: Some("shop-testing".into()),
            to_lane: "shop-prod".into(),
            artifact_ref: Some(LocalObjectRef::new("shop-a")),
            reason: None,
        },
    );
    promotion.metadata.namespace = Some(NS.into());
    promotion.metadata.generation = Some(1);
    let scenario = Scenario {
        configs: vec![provider_config(&sim.base_url())],
        targets: vec![
            target("shop-testing", &apps[0], "web-0", ManagementPolicy::Manage),
            // Renamed in Dokploy: a Mismatch.
            target("shop-renamed", &apps[1], "web-old", ManagementPolicy::Observe),
            // Its application is gone: Missing.
            target("shop-gone", "app-gone", "web-gone", ManagementPolicy::Observe),
            target("shop-prod", &apps[2], "web-2", ManagementPolicy::Manage),
            target("vr-testing", &apps[3], "web-3", ManagementPolicy::Manage),
        ],
        // web-1 serves no identity: Missing (advisory).
        identities: vec![runtime_identity("shop-public", "prod", "shop-a", &web1)],
        products: vec![shop_product(PreviewPolicy::default()), vr_product],
        artifacts: vec![artifact("shop-a", 'a')],
        lanes: vec![testing_lane, prod_lane, vr_lane],
        promotions: vec![promotion],
        gates: Vec::new(),
        bootstraps: Vec::new(),
    };
    (sim, scenario)
}

/// `text` with every RFC 3339 time replaced by `<time>` (the shells ran at different moments).
fn timeless(text: &str) -> String {
    let mut out = String::new();
    for word in text.split_inclusive([' ', ';', ',', '(', ')']) {
        let core = word.trim_end_matches([' ', ';', ',', '(', ')']);
        if core.parse::<jiff::Timestamp>().is_ok() {
            out.push_str("<time>");
            out.push_str(&word[core.len()..]);
        } else {
            out.push_str(word);
        }
    }
    out
}

/// What an Incident says, for comparing: its name and spec, state, occurrence, verdicts,
/// severity, evidence and conditions, times aside.
fn incident_said(incident: &Incident, sim: &DokploySim) -> Value {
    let status = serde_json::to_value(incident.status.clone().unwrap_or_default()).unwrap();
    let mut said = said(Some(status.clone()), sim);
    for c in said["conditions"].as_array_mut().unwrap() {
        c["message"] = timeless(c["message"].as_str().unwrap_or_default()).into();
    }
    serde_json::json!({
        "name": incident.metadata.name,
        "spec": incident.spec,
        "labels": incident.metadata.labels,
        "state": status["state"],
        "occurrence": status["occurrence"],
        "verdict": status["verdict"],
        "worstVerdict": status["worstVerdict"],
        "severity": status["severity"],
        "message": said["message"],
        "conditions": said["conditions"],
        "transitions": status["transitions"].as_array().map_or(0, Vec::len),
    })
}

/// What a status says, for comparing: the verdict and every condition's type, status,
/// reason and message, with the simulator's URLs replaced.
fn said(status: Option<Value>, sim: &DokploySim) -> Value {
    let Some(status) = status else {
        return Value::Null;
    };
    let mut urls: Vec<String> = sim.app_urls().into_values().collect();
    urls.push(sim.base_url());
    urls.push(sim.ingress_url());
    // Standalone mode lists Dokploy once per round (two here), the cluster once per poll
    // interval (one here). When the standalone's two listings straddle a second, a target
    // absent from both says since when; the cluster, with one listing, cannot. That is a
    // difference in the facts, not in the logic, so the clause is left out of the comparison.
    const SINCE: &str = " (absent from every listing since ";
    let scrub = |text: &str| {
        let mut text = urls
            .iter()
            .fold(text.to_string(), |t, url| t.replace(url.as_str(), "<sim>"));
        while let Some(start) = text.find(SINCE) {
            let end = text[start..].find(')').map_or(text.len(), |e| start + e + 1);
            text.replace_range(start..end, "");
        }
        text
    };
    let conditions: Vec<Value> = status["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| {
            serde_json::json!({
                "type": c["type"],
                "status": c["status"],
                "reason": c["reason"],
                "message": scrub(c["message"].as_str().unwrap_or_default()),
            })
        })
        .collect();
    // A driver's checks (issue 15), the times they ran at aside.
    let mut verification = status["verification"].clone();
    if let Some(v) = verification.as_object_mut() {
        v.entry("baseUrl")
            .and_modify(|u| *u = scrub(u.as_str().unwrap_or_default()).into());
        for check in v
            .get_mut("checks")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let check = check.as_object_mut().unwrap();
            check.remove("checkedAt");
            for field in ["url", "message"] {
                check
                    .entry(field)
                    .and_modify(|t| *t = scrub(t.as_str().unwrap_or_default()).into());
            }
        }
    }
    serde_json::json!({
        "verdict": status["verdict"],
        "reason": status["reason"],
        "message": status["message"].as_str().map(scrub),
        "conditions": conditions,
        "verification": verification,
    })
}

async fn standalone(sim: &DokploySim, s: &Scenario) -> BTreeMap<String, Value> {
    let state_dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(state_dir.path());
    let inputs = Inputs {
        configs: s.configs.clone(),
        targets: s.targets.clone(),
        identities: s.identities.clone(),
        products: s.products.clone(),
        artifacts: s.artifacts.clone(),
        lanes: s.lanes.clone(),
        promotions: s.promotions.clone(),
        backup_gates: s.gates.clone(),
        data_bootstraps: s.bootstraps.clone(),
        secrets: [(
            format!("{NS}/dokploy-key"),
            BTreeMap::from([("api-key".to_string(), API_KEY_VALUE.to_vec())]),
        )]
        .into(),
        ..Default::default()
    };
    let mut engine = Engine::new(
        Prober::new(ProberConfig::default()).unwrap(),
        state.clone(),
        Box::new(|_: &str| None),
    )
    .with_deploy(support::deploy_settings())
    .with_clock(clock());
    // The first round allows the Promotion once testing verified shop-a; the second deploys it
    // into prod and sees it verified.
    engine.round(&inputs).await;
    engine.round(&inputs).await;
    let mut out = BTreeMap::new();
    fn read<K: Kind>(out: &mut BTreeMap<String, Value>, state: &StateDir, objects: &[K], sim: &DokploySim) {
        for o in objects {
            let status: Option<Value> = state.load(K::KIND, o.namespace_or_default(), o.name_or_empty());
            out.insert(format!("{}/{}", K::KIND, o.name_or_empty()), said(status, sim));
        }
    }
    read(&mut out, &state, &s.configs, sim);
    read(&mut out, &state, &s.targets, sim);
    read(&mut out, &state, &s.identities, sim);
    read(&mut out, &state, &s.products, sim);
    read(&mut out, &state, &s.artifacts, sim);
    read(&mut out, &state, &s.lanes, sim);
    read(&mut out, &state, &s.promotions, sim);
    read(&mut out, &state, &s.gates, sim);
    read(&mut out, &state, &s.bootstraps, sim);
    for incident in launchplane::standalone::store::stored_incidents(&state) {
        out.insert(
            format!("Incident/{}", incident.metadata.name.clone().unwrap_or_default()),
            incident_said(&incident, sim),
        );
    }
    out
}

async fn cluster(sim: &DokploySim, s: &Scenario) -> BTreeMap<String, Value> {
    let server = FakeApiServer::new();
    server.put_secret(NS, "dokploy-key", &[("api-key", API_KEY_VALUE)]);
    let (caches, writers) = caches();
    let writers = Arc::new(Mutex::new(writers));
    {
        let mut w = writers.lock().unwrap();
        w.listed();
    }
    fn seed<K: Cached>(server: &FakeApiServer, writers: &Mutex<CacheWriters>, objects: &[K]) {
        for o in objects {
            server.put(o);
            writers.lock().unwrap().put(o.clone());
        }
    }
    seed(&server, &writers, &s.configs);
    seed(&server, &writers, &s.targets);
    seed(&server, &writers, &s.identities);
    seed(&server, &writers, &s.products);
    seed(&server, &writers, &s.artifacts);
    seed(&server, &writers, &s.lanes);
    seed(&server, &writers, &s.promotions);
    seed(&server, &writers, &s.gates);
    seed(&server, &writers, &s.bootstraps);
    // As the watches would: every write comes back into the caches.
    let feed = writers.clone();
    server.on_write(move |path, object| {
        let mut w = feed.lock().unwrap();
        fn back<K: Cached>(w: &mut CacheWriters, object: &Value) {
            if let Ok(o) = serde_json::from_value::<K>(object.clone()) {
                w.put(o);
            }
        }
        let plural = path.rsplit('/').nth(1).unwrap_or_default();
        match plural {
            "providerconfigs" => back::<ProviderConfig>(&mut w, object),
            "providertargets" => back::<ProviderTarget>(&mut w, object),
            "runtimeidentities" => back::<RuntimeIdentity>(&mut w, object),
            "products" => back::<Product>(&mut w, object),
            "artifacts" => back::<Artifact>(&mut w, object),
            "lanes" => back::<Lane>(&mut w, object),
            "promotions" => back::<Promotion>(&mut w, object),
            "backupgates" => back::<BackupGate>(&mut w, object),
            "databootstraps" => back::<DataBootstrap>(&mut w, object),
            "incidents" => back::<Incident>(&mut w, object),
            _ => {}
        }
    });
    let ctx = Arc::new(
        Context::new(
            server.client(),
            None,
            "cluster-parity".into(),
            Arc::new(Metrics::new()),
            Prober::new(ProberConfig::default()).unwrap(),
            caches.clone(),
            Wakes::none(),
            clock(),
        )
        .with_deploy(support::deploy_settings()),
    );
    async fn each<K: controller::Reconcile>(ctx: &Arc<Context>, objects: &[K]) {
        for o in objects {
            let current = ctx
                .world
                .caches
                .get::<K>(o.namespace_or_default(), o.name_or_empty())
                .unwrap();
            controller::reconcile(current, ctx.clone()).await.unwrap();
        }
    }
    // The order standalone mode runs them in; the cluster's controllers converge to it.
    each(&ctx, &s.configs).await;
    each(&ctx, &s.targets).await;
    each(&ctx, &s.identities).await;
    // One step per reconcile in the cluster: reconcile each lane until it has nothing left to
    // do. The Promotions before and after the lanes, twice, as standalone mode's two rounds.
    for _round in 0..2 {
        each(&ctx, &s.promotions).await;
        for l in &s.lanes {
            for _ in 0..80 {
                let current = caches.get::<Lane>(NS, l.name_or_empty()).unwrap();
                controller::reconcile(current, ctx.clone()).await.unwrap();
                let status: Option<LaneStatus> = caches
                    .get::<Lane>(NS, l.name_or_empty())
                    .and_then(|l| l.status.clone());
                let settled = status.is_some_and(|s| {
                    s.conditions
                        .iter()
                        .any(|c| c.type_ == "Reconciling" && c.status == "False")
                });
                if settled {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        }
        each(&ctx, &s.promotions).await;
    }
    // A captured gate takes one step per reconcile too: until it has a result.
    for g in &s.gates {
        for _ in 0..40 {
            let current = caches.get::<BackupGate>(NS, g.name_or_empty()).unwrap();
            controller::reconcile(current, ctx.clone()).await.unwrap();
            let done = caches
                .get::<BackupGate>(NS, g.name_or_empty())
                .and_then(|g| g.status.clone())
                .is_some_and(|s| s.result.is_some());
            if done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
    // A bootstrap takes one step per reconcile too: until it is final.
    for b in &s.bootstraps {
        for _ in 0..40 {
            let current = caches.get::<DataBootstrap>(NS, b.name_or_empty()).unwrap();
            controller::reconcile(current, ctx.clone()).await.unwrap();
            let done = caches
                .get::<DataBootstrap>(NS, b.name_or_empty())
                .is_some_and(|b| launchplane_core::bootstrap::phase(&b).is_final());
            if done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
    each(&ctx, &s.products).await;
    each(&ctx, &s.artifacts).await;
    let mut out = BTreeMap::new();
    fn read<K: Cached>(
        out: &mut BTreeMap<String, Value>,
        server: &FakeApiServer,
        objects: &[K],
        sim: &DokploySim,
    ) {
        for o in objects {
            let stored: Option<K> = server.object(o.namespace_or_default(), o.name_or_empty());
            let status = stored
                .and_then(|k| k.status().cloned())
                .map(|s| serde_json::to_value(s).unwrap());
            out.insert(format!("{}/{}", K::KIND, o.name_or_empty()), said(status, sim));
        }
    }
    read(&mut out, &server, &s.configs, sim);
    read(&mut out, &server, &s.targets, sim);
    read(&mut out, &server, &s.identities, sim);
    read(&mut out, &server, &s.products, sim);
    read(&mut out, &server, &s.artifacts, sim);
    read(&mut out, &server, &s.lanes, sim);
    read(&mut out, &server, &s.promotions, sim);
    read(&mut out, &server, &s.gates, sim);
    read(&mut out, &server, &s.bootstraps, sim);
    for incident in server.objects::<Incident>(NS) {
        out.insert(
            format!("Incident/{}", incident.metadata.name.clone().unwrap_or_default()),
            incident_said(&incident, sim),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_shells_write_the_same_verdicts_reasons_and_messages() {
    let (sim_a, scenario_a) = scenario().await;
    let (sim_b, scenario_b) = scenario().await;
    let standalone = standalone(&sim_a, &scenario_a).await;
    let cluster = cluster(&sim_b, &scenario_b).await;

    // The scenario shows what it should: every verdict, and the lane deployed.
    let verdict = |kind: &str, name: &str| standalone[&format!("{kind}/{name}")]["verdict"].clone();
    assert_eq!(verdict("ProviderConfig", "dokploy"), "Matched");
    assert_eq!(verdict("ProviderTarget", "shop-testing"), "Matched");
    assert_eq!(verdict("ProviderTarget", "shop-renamed"), "Mismatch");
    assert_eq!(verdict("ProviderTarget", "shop-gone"), "Missing");
    assert_eq!(verdict("RuntimeIdentity", "shop-public"), "Missing");
    assert_eq!(verdict("Lane", "shop-testing"), "Matched", "{standalone:#?}");
    assert_eq!(verdict("Lane", "shop-prod"), "Matched", "{standalone:#?}");
    assert_eq!(verdict("Promotion", "prod-shop-a"), "Matched", "{standalone:#?}");
    assert_eq!(verdict("Lane", "vr-testing"), "Matched", "{standalone:#?}");
    let vr = &standalone["Lane/vr-testing"]["verification"];
    assert_eq!(vr["baseUrlSource"], "Lane", "{vr:#}");
    let checks: Vec<(&str, &str)> = vr["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        checks,
        [("health", "Passed"), ("runtimeIdentity", "Passed")],
        "{vr:#}"
    );
    // The two targets no lane covers are failing: one Pending Incident each, in both shells
    // (compared with everything else below). The lanes and the covered targets have none.
    let incidents: Vec<(&String, &Value)> = standalone
        .iter()
        .filter(|(k, _)| k.starts_with("Incident/"))
        .collect();
    let names: Vec<&str> = incidents.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "Incident/target.shop-gone.target-verified",
            "Incident/target.shop-renamed.target-verified"
        ],
        "{standalone:#?}"
    );
    for (_, incident) in &incidents {
        assert_eq!(incident["state"], "Pending");
        assert_eq!(incident["severity"], "critical");
    }
    // testing once, prod once (the Promotion's deploy), vr-testing once.
    assert_eq!(sim_a.call_count("application.deploy"), 3);
    assert_eq!(sim_b.call_count("application.deploy"), 3);

    for (object, said) in &standalone {
        assert_eq!(
            Some(said),
            cluster.get(object),
            "{object}: the standalone shell (left) and the cluster shell (right) disagree"
        );
    }
    assert_eq!(standalone.len(), cluster.len());
    sim_a.shutdown().await;
    sim_b.shutdown().await;
}

/// An Odoo product on a compose: a lane deploying to it (mark, env pin, compose deploy,
/// post-deploy schedule, verification) and a BackupGate the controller captures.
async fn odoo_scenario() -> (DokploySim, Scenario) {
    let sim = start_sim(20).await;
    let (_, environment) = sim.seed_project("erp");
    let compose = sim
        .seed_compose(
            &environment,
            SeedCompose {
                id: Some("compose-0".into()),
                name: "erp".into(),
                compose_file: "services:\n  web:\n    image: ${ODOO_IMAGE}\n  db:\n    image: postgres:16\n"
                    .into(),
                env: Some("POSTGRES_DB=erp\n".into()),
                domains: vec!["erp.test".into()],
                service_name: Some("web".into()),
                deployed: true,
                ..Default::default()
            },
        )
        .unwrap();
    sim.script_schedule_runs(
        "launchplane-backup",
        ScheduleRunScript::succeed("{\"path\": \"/backups/erp.zip\", \"sizeBytes\": 10}"),
    );
    let url = sim.compose_app_url(&compose, "web").unwrap();
    let mut product = shop_product(PreviewPolicy::default());
    product.metadata.name = Some("erp".into());
    product.spec.driver = Driver::Odoo;
    product.spec.odoo = Some(OdooSpec {
        post_deploy: Some(CommandSpec {
            command: "odoo -u all --stop-after-init".into(),
            ..Default::default()
        }),
        backup: Some(BackupCommand {
            command: "odoo-backup".into(),
            service: Some("db".into()),
            stop_web: false,
        }),
        ..Default::default()
    });
    let mut erp_target = target("erp-prod", &compose, "erp", ManagementPolicy::Manage);
    erp_target.spec.target_category = TargetCategory::Compose;
    let mut erp_lane = lane("erp-prod", "erp-prod", "shop-a", &url);
    erp_lane.spec.product_ref = LocalObjectRef::new("erp");
    erp_lane.metadata.generation = Some(1);
    let mut gate = BackupGate::new(
        "erp-prod-backup",
        BackupGateSpec {
            lane_ref: LocalObjectRef::new("erp-prod"),
            capture: Some(BackupCapture::default()),
            ..Default::default()
        },
    );
    gate.metadata.namespace = Some(NS.into());
    gate.metadata.generation = Some(1);
    // A second gate reuses the lane's backup schedule (the id the first recorded), with the
    // web stopped while it runs.
    let mut cold = gate.clone();
    cold.metadata.name = Some("erp-prod-cold".into());
    cold.spec.capture = Some(BackupCapture { stop_web: Some(true) });
    // A first bootstrap of the lane (no BackupGate needed), run once the lane deployed.
    let mut bootstrap = DataBootstrap::new(
        "erp-prod-boot",
        DataBootstrapSpec {
            lane_ref: LocalObjectRef::new("erp-prod"),
            source: BootstrapSource {
                dataset: "demo-2026-11".into(),
                sha256: None,
            },
            command: Some("odoo-restore demo".into()),
            confirm_destructive: true,
            backup_gate_ref: None,
        },
    );
    bootstrap.metadata.namespace = Some(NS.into());
    bootstrap.metadata.generation = Some(1);
    let scenario = Scenario {
        configs: vec![provider_config(&sim.base_url())],
        targets: vec![erp_target],
        identities: Vec::new(),
        products: vec![product],
        artifacts: vec![artifact("shop-a", 'a')],
        lanes: vec![erp_lane],
        promotions: Vec::new(),
        gates: vec![gate, cold],
        bootstraps: vec![bootstrap],
    };
    (sim, scenario)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_odoo_lane_and_a_captured_backup_gate_read_the_same_in_both_shells() {
    let (sim_a, scenario_a) = odoo_scenario().await;
    let (sim_b, scenario_b) = odoo_scenario().await;
    let standalone = standalone(&sim_a, &scenario_a).await;
    let cluster = cluster(&sim_b, &scenario_b).await;
    let verdict = |kind: &str, name: &str| standalone[&format!("{kind}/{name}")]["verdict"].clone();
    assert_eq!(
        verdict("ProviderTarget", "erp-prod"),
        "Matched",
        "{standalone:#?}"
    );
    assert_eq!(verdict("Lane", "erp-prod"), "Matched", "{standalone:#?}");
    for gate in ["erp-prod-backup", "erp-prod-cold"] {
        assert_eq!(verdict("BackupGate", gate), "Matched", "{standalone:#?}");
    }
    assert_eq!(
        verdict("DataBootstrap", "erp-prod-boot"),
        "Matched",
        "{standalone:#?}"
    );
    for sim in [&sim_a, &sim_b] {
        assert_eq!(sim.call_count("compose.deploy"), 1);
        assert_eq!(
            sim.call_count("schedule.create"),
            4,
            "post-deploy, backup (one for both gates), and the bootstrap's two"
        );
        assert_eq!(
            sim.call_count("schedule.runManually"),
            5,
            "post-deploy, two backups, bootstrap, post-deploy"
        );
        assert_eq!(
            (
                sim.call_count("docker.stopContainer"),
                sim.call_count("docker.startContainer")
            ),
            (1, 1),
            "the cold backup stopped the web's container, and started it again"
        );
    }
    // The gate's message says when the backup was taken: the shells took it at other times.
    let timeless_said = |said: &Value| {
        let mut said = said.clone();
        if let Some(m) = said["message"].as_str() {
            said["message"] = timeless(m).into();
        }
        for c in said["conditions"].as_array_mut().into_iter().flatten() {
            c["message"] = timeless(c["message"].as_str().unwrap_or_default()).into();
        }
        said
    };
    for (object, said) in &standalone {
        assert_eq!(
            Some(timeless_said(said)),
            cluster.get(object).map(timeless_said),
            "{object}: the standalone shell (left) and the cluster shell (right) disagree"
        );
    }
    assert_eq!(standalone.len(), cluster.len());
    sim_a.shutdown().await;
    sim_b.shutdown().await;
}

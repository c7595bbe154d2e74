//! Standalone previews against the Dokploy simulator: a Preview in the folder is deployed to
//! Ready and counted on its Product (with its protected artifacts and the orphans of the
//! preview environment); once its manifest leaves the folder it is torn down and forgotten,
//! and a teardown that fails keeps it recorded and fails the round's row. The sweep's baseline
//! holds round after round and across a new Engine over the same state folder (D11), and a
//! teardown of a preview that never recorded an application says so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane::engine::preview::PreviewSettings;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane::standalone::engine::Engine;
use launchplane::standalone::inputs::Inputs;
use launchplane::standalone::report::Row;
use launchplane::standalone::state::StateDir;
use launchplane_api::ownership::Owner;
use launchplane_api::resources::{
    CleanupPolicy, LocalObjectRef, Preview, PreviewSpec, PreviewStatus, ProductStatus, ProviderConfig,
    ProviderConfigSpec, ProviderTarget, ProviderTargetSpec, PullRequest, RateLimit, SecretKeyRef,
    SweepBaseline, TargetCategory,
};
use launchplane_api::verdict::Verdict;
use launchplane_e2e::sim::{DokploySim, Fault, SeedApplication};
use std::time::Duration;

use support::{NS, artifact, ns, preview_policy, shop_product, sim_with_preview_template};

pub(crate) fn inputs(sim: &DokploySim, template_id: &str) -> Inputs {
    let config = ns(ProviderConfig::new(
        "dokploy",
        ProviderConfigSpec {
            url: sim.base_url(),
            api_key_secret_ref: SecretKeyRef {
                name: "dokploy".into(),
                key: "apiKey".into(),
            },
            rate_limit: RateLimit {
                requests_per_second: 1000,
                burst: 1000,
            },
            ..Default::default()
        },
    ));
    let template = ns(ProviderTarget::new(
        "shop-preview-template",
        ProviderTargetSpec {
            provider_config_ref: LocalObjectRef::new("dokploy"),
            target_category: TargetCategory::Application,
            target_id: Some(template_id.into()),
            display_name: "shop-preview-template".into(),
            ..Default::default()
        },
    ));
    let product = shop_product(preview_policy());
    let artifact = artifact("shop-a", 'a');
    let preview = ns(Preview::new(
        "shop-pr-42",
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
    Inputs {
        configs: vec![config],
        targets: vec![template],
        products: vec![product],
        artifacts: vec![artifact],
        previews: vec![preview],
        ..Default::default()
    }
}

/// An Engine over `state` that reconciles previews against `sim`.
pub(crate) fn engine(sim: &DokploySim, state: &StateDir) -> Engine {
    let key = sim.api_key();
    Engine::new(
        Prober::new(ProberConfig::default()).unwrap(),
        state.clone(),
        Box::new(move |v: &str| (v == "LAUNCHPLANE_API_KEY_DOKPLOY").then(|| key.clone())),
    )
    .with_previews(PreviewSettings {
        poll_delay: Duration::from_millis(40),
        deploy_timeout: Duration::from_secs(20),
        resend_after: Duration::from_secs(60),
        verify_timeout: Duration::from_secs(3),
        deadline: Duration::from_secs(20),
        probe_via: Some(sim.ingress_url()),
        resync: Duration::from_secs(300),
        instance: String::new(),
    })
}

fn row<'a>(rows: &'a [Row], kind: &str, name: &str) -> &'a Row {
    rows.iter()
        .find(|r| r.kind == kind && r.name == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} row in {rows:#?}"))
}

#[tokio::test]
async fn a_folder_preview_is_deployed_counted_and_torn_down_when_its_manifest_goes() {
    let (sim, env, template_id) = sim_with_preview_template().await;
    let orphan = sim
        .seed_application(
            &env,
            SeedApplication {
                name: "shop-pr-7".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(dir.path());
    let key = sim.api_key();
    let mut engine = Engine::new(
        Prober::new(ProberConfig::default()).unwrap(),
        state.clone(),
        Box::new(move |v: &str| (v == "LAUNCHPLANE_API_KEY_DOKPLOY").then(|| key.clone())),
    )
    .with_previews(PreviewSettings {
        poll_delay: Duration::from_millis(40),
        deploy_timeout: Duration::from_secs(20),
        resend_after: Duration::from_secs(60),
        verify_timeout: Duration::from_secs(3),
        deadline: Duration::from_secs(20),
        probe_via: Some(sim.ingress_url()),
        resync: Duration::from_secs(300),
        // Replaced by the state folder's own instance id.
        instance: String::new(),
    });
    let mut folder = inputs(&sim, &template_id);

    let rows = engine.round(&folder).await;
    let preview = row(&rows, "Preview", "shop-pr-42");
    assert_eq!(preview.verdict, Verdict::Matched, "{preview:?}");
    assert!(
        preview.message.contains("https://pr-42.preview.shop.test"),
        "{preview:?}"
    );
    let product = row(&rows, "Product", "shop");
    assert!(product.message.contains("1 previews"), "{product:?}");
    assert!(
        product.message.contains("1 orphaned preview targets"),
        "{product:?}"
    );
    let status: ProductStatus = state.load("Product", NS, "shop").unwrap();
    assert_eq!(status.preview_count, Some(1));
    assert_eq!(status.protected_artifacts, vec!["shop-a".to_string()]);
    assert_eq!(status.orphans.len(), 1);
    assert_eq!(status.orphans[0].target_id, orphan);
    let app = sim
        .app_urls()
        .keys()
        .find(|id| sim.service_json(id).is_some_and(|s| s["name"] == "shop-pr-42"))
        .cloned()
        .expect("the preview app runs");

    // The manifest leaves the folder, but Dokploy refuses the delete: kept, and the row fails.
    folder.previews.clear();
    sim.inject("application.delete", Fault::Status(500));
    let rows = engine.round(&folder).await;
    let gone = row(&rows, "Preview", "shop-pr-42");
    assert_eq!(gone.reason, "TeardownFailed", "{gone:?}");
    assert!(gone.is_failure());
    assert!(sim.service_json(&app).is_some());

    // Dokploy answers again: torn down, confirmed, forgotten; the orphan was only reported.
    sim.clear_faults();
    let rows = engine.round(&folder).await;
    let gone = row(&rows, "Preview", "shop-pr-42");
    assert_eq!(gone.reason, "TornDown", "{gone:?}");
    assert!(!gone.is_failure());
    assert!(sim.service_json(&app).is_none());
    assert!(sim.service_json(&orphan).is_some());
    let rows = engine.round(&folder).await;
    assert!(!rows.iter().any(|r| r.kind == "Preview"), "forgotten: {rows:#?}");
    let status: ProductStatus = state.load("Product", NS, "shop").unwrap();
    assert_eq!(status.preview_count, Some(0));
    sim.shutdown().await;
}

/// D11: the shrink guard holds. The first round only sets the baseline (nothing deleted); a
/// listing with fewer than half its targets is refused, and the same partial listing is
/// refused again the next round and after a restart (a new Engine over the same state folder),
/// because a refused sweep never lowers the baseline. A whole listing again lets it delete.
#[tokio::test]
async fn the_same_partial_listing_deletes_nothing_round_after_round_and_across_a_restart() {
    let (sim, env, template_id) = sim_with_preview_template().await;
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(dir.path());
    let instance = state.instance_id().unwrap();
    let orphan = sim
        .seed_application(
            &env,
            SeedApplication {
                name: "shop-pr-1".into(),
                description: Some(Owner::new(&instance, NS, "Preview", "shop-pr-1", None).describe("seeded")),
                ..Default::default()
            },
        )
        .unwrap();
    let others: Vec<String> = (1..=6)
        .map(|n| {
            sim.seed_application(
                &env,
                SeedApplication {
                    name: format!("shop-worker-{n}"),
                    ..Default::default()
                },
            )
            .unwrap()
        })
        .collect();
    let mut folder = inputs(&sim, &template_id);
    folder.products[0].spec.preview.cleanup = CleanupPolicy::Delete;
    folder.products[0].spec.preview.delete_budget = 10;
    let baseline = |state: &StateDir| {
        state
            .load::<ProductStatus>("Product", NS, "shop")
            .and_then(|s| s.sweep_baseline)
    };

    // Round 1: no baseline yet. The listing (template, 6 workers, the orphan, the preview's
    // own app) becomes it, and nothing is deleted.
    let mut first = engine(&sim, &state);
    let rows = first.round(&folder).await;
    let product = row(&rows, "Product", "shop");
    assert!(product.message.contains("first listing"), "{product:?}");
    assert!(
        sim.service_json(&orphan).is_some(),
        "deleted on the first listing"
    );
    assert_eq!(
        baseline(&state),
        Some(SweepBaseline {
            environment_id: env.clone(),
            targets: 9
        })
    );

    // The listing loses the workers: 3 targets of 9. Refused, and again, and after a restart.
    for id in &others {
        assert!(sim.remove_service(id));
    }
    for round in ["next round", "the round after"] {
        let rows = first.round(&folder).await;
        let product = row(&rows, "Product", "shop");
        assert!(product.message.contains("markedly fewer"), "{round}: {product:?}");
        assert!(
            sim.service_json(&orphan).is_some(),
            "{round}: the orphan was deleted"
        );
        assert_eq!(baseline(&state).unwrap().targets, 9, "{round}");
    }
    let mut restarted = engine(&sim, &state);
    let rows = restarted.round(&folder).await;
    assert!(
        row(&rows, "Product", "shop").message.contains("markedly fewer"),
        "{rows:#?}"
    );
    assert!(sim.service_json(&orphan).is_some(), "deleted after a restart");
    assert_eq!(sim.call_count("application.delete"), 0);

    // Whole again (at least half of 9): the orphan goes, and the baseline follows.
    for n in 1..=2 {
        sim.seed_application(
            &env,
            SeedApplication {
                name: format!("shop-cron-{n}"),
                ..Default::default()
            },
        )
        .unwrap();
    }
    restarted.round(&folder).await;
    assert!(
        sim.service_json(&orphan).is_none(),
        "a whole listing deletes again"
    );
    assert_eq!(baseline(&state).unwrap().targets, 4);
    sim.shutdown().await;
}

/// The teardown of a preview that never recorded an application says exactly that, in every
/// path: the expired preview kept in the folder, and the one whose manifest is gone.
#[tokio::test]
async fn tearing_down_a_never_created_preview_says_no_application_was_recorded() {
    let (sim, _env, template_id) = sim_with_preview_template().await;
    let dir = tempfile::tempdir().unwrap();
    let state = StateDir::new(dir.path());
    let mut folder = inputs(&sim, &template_id);
    folder.previews[0].spec.ttl = Some("1h".into());
    let expired = PreviewStatus {
        expires_at: Some(Time(
            Timestamp::now()
                .checked_sub(jiff::SignedDuration::from_hours(1))
                .unwrap(),
        )),
        ..Default::default()
    };
    state.save("Preview", NS, "shop-pr-42", &expired).unwrap();
    let mut engine = engine(&sim, &state);
    let rows = engine.round(&folder).await;
    let preview = row(&rows, "Preview", "shop-pr-42");
    assert_eq!(
        preview.message,
        "spec.ttl has passed: no application was recorded for it, so nothing was deleted; \
         remove its manifest from the folder"
    );

    folder.previews.clear();
    let rows = engine.round(&folder).await;
    let gone = row(&rows, "Preview", "shop-pr-42");
    assert_eq!(gone.reason, "TornDown", "{gone:?}");
    assert_eq!(
        gone.message,
        "the manifest is gone: no application was recorded for it, so nothing was deleted"
    );
    for route in ["application.create", "application.delete", "domain.delete"] {
        assert_eq!(sim.call_count(route), 0, "{route}");
    }
    sim.shutdown().await;
}

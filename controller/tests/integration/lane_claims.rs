//! Whose target a lane may change, against the Dokploy simulator: an unmarked Manage target
//! is marked (its description and env kept) before the first mutation, then deployed; a
//! target another owner marked (another instance, another Lane, a Preview) is left byte for
//! byte alone with a Conflict; a git-sourced target is converted only when the lane allows
//! it; two Lanes on one target (driftPolicy Correct) never deploy against each other; an
//! Artifact of another repository is never deployed, by a lane or a preview. The driver runs
//! as in `lane_deploy`; the D7 and two-instance cases run the standalone Engine, the shell
//! that passes the other lanes and its state folder's instance id to the plan.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::lane_deploy::{World, world};
use crate::support::{self, INSTANCE, NS, artifact, managed_target, ns, shop_product, sim_with_testing_app};

use launchplane::engine::preview::PreviewSettings;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane::standalone::engine::Engine;
use launchplane::standalone::inputs::Inputs;
use launchplane::standalone::report::Row;
use launchplane::standalone::state::StateDir;
use launchplane_api::conditions::types;
use launchplane_api::ownership::Owner;
use launchplane_api::resources::{
    DriftPolicy, Lane, LaneRuntimeIdentity, LaneSpec, LocalObjectRef, Preview, PreviewPolicy, PreviewSpec,
    ProviderConfig, ProviderConfigSpec, ProviderTarget, ProviderTargetSpec, PullRequest, RateLimit,
    SecretKeyRef, TargetCategory,
};
use launchplane_api::verdict::Verdict;
use launchplane_e2e::sim::{DokploySim, SeedApplication};
use serde_json::Value;
use std::time::Duration;

const MUTATIONS: [&str; 3] = [
    "application.update",
    "application.saveDockerProvider",
    "application.deploy",
];

fn mutation_calls(sim: &DokploySim) -> u64 {
    MUTATIONS.iter().map(|r| sim.call_count(r)).sum()
}

fn description(sim: &DokploySim, app: &str) -> Option<String> {
    sim.service_json(app)
        .and_then(|s| s["description"].as_str().map(str::to_string))
}

#[tokio::test]
async fn an_unmarked_target_is_marked_then_deployed_and_keeps_its_description_and_env() {
    let mut w = world("KEEP_ME=1\n# the team's own settings\n").await;
    w.sim.set_description(&w.service, "shop testing\nowner: web team");
    let report = w.run(40).await;
    let mark = report.steps.iter().position(|s| *s == "MarkTarget");
    let set_image = report.steps.iter().position(|s| *s == "SetImage");
    assert!(
        matches!((mark, set_image), (Some(m), Some(s)) if m < s),
        "marked before the first mutation: {:?}",
        report.steps
    );
    assert_eq!(report.steps[0], "CreateRecord", "intent first");

    let marker = Owner::new(INSTANCE, NS, "Lane", "shop-testing", None).marker();
    assert_eq!(
        description(&w.sim, &w.service).as_deref(),
        Some(format!("shop testing\nowner: web team\n{marker}").as_str())
    );
    let env = w.sim.application_env(&w.service).unwrap();
    assert!(env.starts_with("KEEP_ME=1\n# the team's own settings\n"), "{env}");
    assert_eq!(w.sim.call_count("application.deploy"), 1);
    assert_eq!(w.lane.status.as_ref().unwrap().verdict, Some(Verdict::Matched));

    // Marked once: later rounds write nothing.
    let updates = w.sim.call_count("application.update");
    let again = w.run(40).await;
    assert!(again.steps.is_empty(), "{:?}", again.steps);
    assert_eq!(w.sim.call_count("application.update"), updates);
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_target_marked_by_another_owner_is_left_byte_for_byte_alone() {
    let owners = [
        (
            "another instance",
            Owner::new("cluster-b", NS, "Lane", "shop-testing", Some("uid-b")),
            "instance cluster-b",
        ),
        (
            "another lane",
            Owner::new(INSTANCE, NS, "Lane", "shop-prod", None),
            "Lane shop/shop-prod",
        ),
        (
            "a preview",
            Owner::new(INSTANCE, NS, "Preview", "shop-pr-7", Some("uid-7")),
            "Preview shop/shop-pr-7",
        ),
    ];
    for (what, owner, whose) in owners {
        let mut w = world("KEEP_ME=1\n").await;
        w.lane.spec.drift_policy = DriftPolicy::Correct;
        w.sim
            .set_description(&w.service, &owner.describe("someone else's app"));
        let before: Value = w.sim.service_json(&w.service).unwrap();
        w.sim.reset_call_counts();
        for _ in 0..3 {
            let report = w.run(40).await;
            assert!(report.steps.is_empty(), "{what}: {:?}", report.steps);
        }
        assert_eq!(mutation_calls(&w.sim), 0, "{what}: {:?}", w.sim.call_counts());
        assert_eq!(
            w.sim.service_json(&w.service).unwrap(),
            before,
            "{what}: the application is unchanged"
        );
        assert!(w.records().await.is_empty(), "{what}: no deployment record");
        let (stalled, reason, message) = w.condition(types::STALLED);
        assert_eq!(
            (stalled.as_str(), reason.as_str()),
            ("True", "TargetOwnedElsewhere"),
            "{what}"
        );
        assert!(message.contains(whose), "{what}: {message}");
        assert!(message.contains(&owner.marker()), "{what}: {message}");
        let (_, verdict, _) = w.condition(types::TARGET_VERIFIED);
        assert_eq!(verdict, "Mismatch", "{what}");
        assert_eq!(w.lane.status.as_ref().unwrap().verdict, Some(Verdict::Mismatch));
        w.sim.shutdown().await;
    }
}

/// `w` pointed at a new, git-sourced application (`sourceType` github) in the same
/// environment, serving as if deployed.
fn git_sourced(w: &mut World) {
    let environment = w.sim.service_json(&w.service).unwrap()["environmentId"]
        .as_str()
        .unwrap()
        .to_string();
    let app = w
        .sim
        .seed_application(
            &environment,
            SeedApplication {
                name: "shop-git".into(),
                env: Some("KEEP_ME=1\n".into()),
                deployed: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(w.sim.service_json(&app).unwrap()["sourceType"], "github");
    w.lane.spec.runtime_identity.base_url = Some(w.sim.app_url(&app).unwrap());
    w.target = managed_target("shop-testing", &app);
    w.service = app;
}

#[tokio::test]
async fn a_git_sourced_target_is_converted_only_when_the_lane_allows_it() {
    let mut w = world("KEEP_ME=1\n").await;
    git_sourced(&mut w);
    let before: Value = w.sim.service_json(&w.service).unwrap();
    w.sim.reset_call_counts();
    let report = w.run(40).await;
    assert!(report.steps.is_empty(), "{:?}", report.steps);
    assert_eq!(mutation_calls(&w.sim), 0);
    assert_eq!(w.sim.service_json(&w.service).unwrap(), before);
    let (stalled, reason, message) = w.condition(types::STALLED);
    assert_eq!(
        (stalled.as_str(), reason.as_str()),
        ("True", "TargetSourceNotDocker")
    );
    assert!(
        message.contains("github") && message.contains("spec.allowSourceConversion"),
        "{message}"
    );

    w.lane.spec.allow_source_conversion = true;
    w.run(40).await;
    let after = w.sim.service_json(&w.service).unwrap();
    assert_eq!(after["sourceType"], "docker", "converted");
    assert_eq!(w.sim.call_count("application.deploy"), 1);
    assert!(
        after["description"]
            .as_str()
            .is_some_and(|d| d.contains("launchplane.dev/owner=")),
        "{after}"
    );
    assert_eq!(w.lane.status.as_ref().unwrap().verdict, Some(Verdict::Matched));
    w.sim.shutdown().await;
}

#[tokio::test]
async fn an_artifact_of_another_repository_is_never_deployed() {
    let mut w = world("KEEP_ME=1\n").await;
    for a in &mut w.artifacts {
        a.spec.image.repository = "ghcr.io/evil/shop".into();
    }
    w.sim.reset_call_counts();
    let report = w.run(40).await;
    assert!(report.steps.is_empty(), "{:?}", report.steps);
    assert_eq!(mutation_calls(&w.sim), 0);
    assert!(w.records().await.is_empty());
    let (_, reason, message) = w.condition(types::STALLED);
    assert_eq!(reason, "ArtifactRepositoryMismatch");
    assert!(
        message.contains("ghcr.io/evil/shop") && message.contains("ghcr.io/acme/shop"),
        "{message}"
    );
    w.sim.shutdown().await;
}

// ---- the standalone shell -------------------------------------------------------------

fn lane(name: &str, url: &str) -> Lane {
    ns(Lane::new(
        name,
        LaneSpec {
            product_ref: LocalObjectRef::new("shop"),
            stage: name.trim_start_matches("shop-").into(),
            target_ref: LocalObjectRef::new("shop-testing"),
            artifact_ref: Some(LocalObjectRef::new("shop-a")),
            drift_policy: DriftPolicy::Correct,
            runtime_identity: LaneRuntimeIdentity {
                base_url: Some(url.into()),
                ..Default::default()
            },
            ..Default::default()
        },
    ))
}

fn config(sim: &DokploySim) -> ProviderConfig {
    ns(ProviderConfig::new(
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
    ))
}

/// A folder with the `shop-testing` Manage target over `app` and `lanes` naming it.
fn folder(sim: &DokploySim, app: &str, lanes: Vec<Lane>) -> Inputs {
    let mut target = managed_target("shop-testing", app);
    target.status = None;
    target.spec.display_name = "shop-testing".into();
    Inputs {
        configs: vec![config(sim)],
        targets: vec![target],
        products: vec![shop_product(PreviewPolicy::default())],
        artifacts: vec![artifact("shop-a", 'a')],
        lanes,
        ..Default::default()
    }
}

fn engine(sim: &DokploySim, state: &std::path::Path) -> Engine {
    let key = sim.api_key();
    Engine::new(
        Prober::new(ProberConfig::default()).unwrap(),
        StateDir::new(state),
        Box::new(move |v: &str| (v == "LAUNCHPLANE_API_KEY_DOKPLOY").then(|| key.clone())),
    )
}

fn row<'a>(rows: &'a [Row], kind: &str, name: &str) -> &'a Row {
    rows.iter()
        .find(|r| r.kind == kind && r.name == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} row in {rows:#?}"))
}

#[tokio::test]
async fn two_lanes_correcting_one_target_both_stand_still_until_one_goes() {
    let (sim, app) = sim_with_testing_app().await;
    let url = sim.app_url(&app).unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut engine = engine(&sim, state.path());
    let mut inputs = folder(
        &sim,
        &app,
        vec![lane("shop-testing", &url), lane("shop-staging", &url)],
    );
    sim.reset_call_counts();
    for _ in 0..3 {
        let rows = engine.round(&inputs).await;
        assert_eq!(
            row(&rows, "ProviderTarget", "shop-testing").verdict,
            Verdict::Matched
        );
        for (name, other) in [("shop-testing", "shop-staging"), ("shop-staging", "shop-testing")] {
            let r = row(&rows, "Lane", name);
            assert_eq!(r.verdict, Verdict::Mismatch, "{r:?}");
            assert_eq!(r.reason, "TargetSharedByLanes", "{r:?}");
            assert!(r.message.contains(other), "{r:?}");
            assert!(r.is_failure());
        }
    }
    assert_eq!(mutation_calls(&sim), 0, "{:?}", sim.call_counts());

    // One lane moves away: the other deploys, once.
    inputs
        .lanes
        .retain(|l| l.metadata.name.as_deref() == Some("shop-testing"));
    let rows = engine.round(&inputs).await;
    let r = row(&rows, "Lane", "shop-testing");
    assert_eq!(r.verdict, Verdict::Matched, "{r:?}");
    assert_eq!(sim.call_count("application.deploy"), 1);
    let marker = Owner::new(engine.instance(), NS, "Lane", "shop-testing", None).marker();
    assert!(
        description(&sim, &app).is_some_and(|d| d.ends_with(&marker)),
        "{:?}",
        description(&sim, &app)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_second_state_folder_meets_the_first_ones_marker_and_stops() {
    let (sim, app) = sim_with_testing_app().await;
    let url = sim.app_url(&app).unwrap();
    let inputs = folder(&sim, &app, vec![lane("shop-testing", &url)]);
    let first_state = tempfile::tempdir().unwrap();
    let mut first = engine(&sim, first_state.path());
    let rows = first.round(&inputs).await;
    assert_eq!(row(&rows, "Lane", "shop-testing").verdict, Verdict::Matched);
    assert!(first.instance().starts_with("standalone-"));
    let marked = description(&sim, &app).unwrap();
    assert!(marked.contains(&format!("launchplane.dev/owner={}/", first.instance())));

    // Another state folder is another instance: same lane name, not its target.
    let second_state = tempfile::tempdir().unwrap();
    let mut second = engine(&sim, second_state.path());
    assert_ne!(second.instance(), first.instance());
    let before = sim.service_json(&app).unwrap();
    sim.reset_call_counts();
    let rows = second.round(&inputs).await;
    let r = row(&rows, "Lane", "shop-testing");
    assert_eq!(r.reason, "TargetOwnedElsewhere", "{r:?}");
    assert!(r.message.contains(first.instance()), "{r:?}");
    assert_eq!(mutation_calls(&sim), 0);
    assert_eq!(sim.service_json(&app).unwrap(), before);

    // The first keeps its target.
    let rows = first.round(&inputs).await;
    assert_eq!(row(&rows, "Lane", "shop-testing").verdict, Verdict::Matched);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_preview_of_an_artifact_from_another_repository_makes_no_provider_call() {
    let (sim, _env, template_id) = support::sim_with_preview_template().await;
    let state = tempfile::tempdir().unwrap();
    let mut engine = engine(&sim, state.path()).with_previews(PreviewSettings {
        poll_delay: Duration::from_millis(40),
        deadline: Duration::from_secs(5),
        probe_via: Some(sim.ingress_url()),
        ..PreviewSettings::default()
    });
    let template = ns(ProviderTarget::new(
        "shop-preview-template",
        ProviderTargetSpec {
            provider_config_ref: LocalObjectRef::new("dokploy"),
            target_category: TargetCategory::Application,
            target_id: Some(template_id),
            display_name: "shop-preview-template".into(),
            ..Default::default()
        },
    ));
    let mut foreign = artifact("shop-a", 'a');
    foreign.spec.image.repository = "ghcr.io/evil/shop".into();
    let inputs = Inputs {
        configs: vec![config(&sim)],
        targets: vec![template],
        products: vec![shop_product(support::preview_policy())],
        artifacts: vec![foreign],
        previews: vec![ns(Preview::new(
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
        ))],
        ..Default::default()
    };
    sim.reset_call_counts();
    let rows = engine.round(&inputs).await;
    let r = row(&rows, "Preview", "shop-pr-42");
    assert_eq!(r.reason, "ArtifactRepositoryMismatch", "{r:?}");
    assert!(r.message.contains("ghcr.io/evil/shop"), "{r:?}");
    for route in [
        "application.create",
        "application.update",
        "application.saveDockerProvider",
        "application.deploy",
        "domain.create",
    ] {
        assert_eq!(sim.call_count(route), 0, "{route}");
    }
    sim.shutdown().await;
}

//! Dokploy simulator fleets: a simulator seeded with the applications a test or a benchmark
//! needs, and their ids.

use launchplane_e2e::sim::{DokploySim, SeedApplication, SimConfig};
use std::time::Duration;

/// The simulator, each deploy taking `deploy_ms`.
pub async fn start_sim(deploy_ms: u64) -> DokploySim {
    DokploySim::start(SimConfig {
        deploy_duration: Duration::from_millis(deploy_ms),
        ..SimConfig::default()
    })
    .await
    .unwrap_or_else(|e| panic!("cannot start the Dokploy simulator: {e}"))
}

/// The simulator (100 ms deploys) with `shop-testing` running `ghcr.io/acme/shop:old` with
/// `KEEP_ME=1`; returns the app's id too.
pub async fn sim_with_testing_app() -> (DokploySim, String) {
    let sim = start_sim(100).await;
    let (_, environment) = sim.seed_project("shop");
    let app = sim
        .seed_application(
            &environment,
            SeedApplication {
                name: "shop-testing".into(),
                docker_image: Some("ghcr.io/acme/shop:old".into()),
                env: Some("KEEP_ME=1\n".into()),
                deployed: true,
                ..Default::default()
            },
        )
        .unwrap_or_else(|| panic!("the production environment exists"));
    (sim, app)
}

/// The simulator (50 ms deploys) with a `previews` environment holding
/// `shop-preview-template`; returns the environment's and the template's ids too.
pub async fn sim_with_preview_template() -> (DokploySim, String, String) {
    let sim = start_sim(50).await;
    let (project, _) = sim.seed_project("shop");
    let env = sim
        .seed_environment(&project, "previews")
        .unwrap_or_else(|| panic!("the project exists"));
    let template_id = sim
        .seed_application(
            &env,
            SeedApplication {
                name: "shop-preview-template".into(),
                ..Default::default()
            },
        )
        .unwrap_or_else(|| panic!("the previews environment exists"));
    (sim, env, template_id)
}

/// Seed `apps` applications with fixed ids (`app-0`, `app-1`, …) and names (`web-0`, …) in one
/// project's production environment, each running `image` as deployed: the same fleet, id for
/// id, in every simulator it is seeded into.
pub fn seed_fleet(sim: &DokploySim, apps: usize, image: &str) -> Vec<String> {
    let (_, environment) = sim.seed_project("fleet");
    (0..apps)
        .map(|i| {
            sim.seed_application(
                &environment,
                SeedApplication {
                    id: Some(format!("app-{i}")),
                    name: format!("web-{i}"),
                    docker_image: Some(image.into()),
                    env: Some("KEEP_ME=1\n".into()),
                    deployed: true,
                    ..Default::default()
                },
            )
            .unwrap_or_else(|| panic!("the production environment exists"))
        })
        .collect()
}

//! The docker container calls against the simulator: a compose's containers listed by its
//! appName, one stopped and started again through the `Provider` trait, unknown ids and bad
//! input refused, and stop/start sent once however they fail.

use std::sync::Arc;

use launchplane_e2e::{DokploySim, Fault, SeedCompose};
use launchplane_providers::{Provider, ProviderError, TargetCategory};

use super::{client, sim};

const ODOO_FILE: &str = "services:\n  odoo:\n    image: odoo:17\n  db:\n    image: postgres:16\n";

/// A deployed compose (`odoo` serving `erp.test`, and `db`) and its appName.
async fn deployed_compose(sim: &DokploySim, p: &dyn Provider) -> (String, String) {
    let (_, env_id) = sim.seed_project("erp");
    let id = sim
        .seed_compose(
            &env_id,
            SeedCompose {
                name: "odoo".into(),
                compose_file: ODOO_FILE.into(),
                domains: vec!["erp.test".into()],
                service_name: Some("odoo".into()),
                deployed: true,
                ..SeedCompose::default()
            },
        )
        .unwrap();
    let detail = p.target_detail(TargetCategory::Compose, &id).await.unwrap();
    assert_eq!(detail.server_id, None, "the sim runs everything on its own host");
    (id, detail.app_name.unwrap())
}

#[tokio::test]
async fn a_web_container_is_listed_stopped_and_started_again() {
    let sim = sim().await;
    let p: Arc<dyn Provider> = Arc::new(client(&sim));
    let (compose, app) = deployed_compose(&sim, p.as_ref()).await;

    let listed = p.compose_containers(&app, None).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, [format!("{app}-odoo-1"), format!("{app}-db-1")]);
    assert!(listed.iter().all(|c| c.is_running()), "{listed:?}");
    assert!(
        listed
            .iter()
            .all(|c| c.status.as_deref().is_some_and(|s| s.starts_with("Up ")))
    );
    let web = listed[0].container_id.clone();
    assert_eq!(
        sim.compose_container_id(&compose, "odoo").as_deref(),
        Some(web.as_str())
    );

    p.stop_container(&web, None).await.unwrap();
    assert!(!sim.compose_container_running(&compose, "odoo"));
    assert!(
        sim.compose_container_running(&compose, "db"),
        "only the web service stopped"
    );
    assert!(sim.compose_app_url(&compose, "odoo").is_none());
    let listed = p.compose_containers(&app, None).await.unwrap();
    let states: Vec<&str> = listed.iter().map(|c| c.state.as_str()).collect();
    assert_eq!(states, ["exited", "running"]);
    // Already stopped is success.
    p.stop_container(&web, None).await.unwrap();

    p.start_container(&web, None).await.unwrap();
    assert!(sim.compose_container_running(&compose, "odoo"));
    assert!(sim.compose_app_url(&compose, "odoo").is_some());
    p.start_container(&web, None).await.unwrap();
    assert_eq!(sim.call_count("docker.stopContainer"), 2);
    assert_eq!(sim.call_count("docker.startContainer"), 2);

    // Another name lists nothing, which is not proof of anything.
    assert!(p.compose_containers("erp-other", None).await.unwrap().is_empty());
}

#[tokio::test]
async fn unknown_containers_and_bad_input_are_refused() {
    let sim = sim().await;
    let p: Arc<dyn Provider> = Arc::new(client(&sim));
    let (compose, app) = deployed_compose(&sim, p.as_ref()).await;

    let e = p.stop_container("0123456789ab", None).await.unwrap_err();
    assert!(matches!(e, ProviderError::Server { status: 500, .. }), "{e}");
    assert!(e.to_string().contains("No such container"), "{e}");
    let e = p.start_container("0123456789ab", None).await.unwrap_err();
    assert!(matches!(e, ProviderError::Server { status: 500, .. }), "{e}");

    // Refused before any call: the server would run these through a shell.
    sim.reset_call_counts();
    for bad in ["", " ", "abc; rm -rf /", "a b"] {
        let e = p.stop_container(bad, None).await.unwrap_err();
        assert!(matches!(e, ProviderError::InvalidInput { .. }), "{bad:?}: {e}");
        assert!(e.to_string().contains("container id"), "{e}");
        let e = p.start_container(bad, None).await.unwrap_err();
        assert!(matches!(e, ProviderError::InvalidInput { .. }), "{bad:?}: {e}");
        let e = p.compose_containers(bad, None).await.unwrap_err();
        assert!(matches!(e, ProviderError::InvalidInput { .. }), "{bad:?}: {e}");
        assert!(e.to_string().contains("appName"), "{e}");
    }
    let e = p.compose_containers(&app, Some("")).await.unwrap_err();
    assert!(matches!(e, ProviderError::InvalidInput { .. }), "{e}");
    assert!(sim.call_counts().is_empty(), "{:?}", sim.call_counts());
    assert!(sim.compose_container_running(&compose, "odoo"));
}

#[tokio::test]
async fn stop_and_start_are_sent_once_and_the_list_is_retried() {
    let sim = sim().await;
    let p: Arc<dyn Provider> = Arc::new(client(&sim));
    let (compose, app) = deployed_compose(&sim, p.as_ref()).await;
    let web = sim.compose_container_id(&compose, "odoo").unwrap();

    sim.inject("docker.stopContainer", Fault::Status(503));
    sim.inject("docker.startContainer", Fault::Status(503));
    sim.inject("docker.getContainersByAppNameMatch", Fault::Status(503));
    let e = p.stop_container(&web, None).await.unwrap_err();
    assert!(matches!(e, ProviderError::Server { status: 503, .. }), "{e}");
    let e = p.start_container(&web, None).await.unwrap_err();
    assert!(matches!(e, ProviderError::Server { status: 503, .. }), "{e}");
    assert!(p.compose_containers(&app, None).await.is_err());
    assert_eq!(
        sim.call_count("docker.stopContainer"),
        1,
        "a mutation is never retried"
    );
    assert_eq!(
        sim.call_count("docker.startContainer"),
        1,
        "a mutation is never retried"
    );
    assert_eq!(
        sim.call_count("docker.getContainersByAppNameMatch"),
        3,
        "a read is retried"
    );

    sim.clear_faults();
    sim.inject("docker.getContainersByAppNameMatch", Fault::MalformedBody);
    let e = p.compose_containers(&app, None).await.unwrap_err();
    assert!(matches!(e, ProviderError::Malformed { .. }), "{e}");
    assert!(sim.compose_container_running(&compose, "odoo"));
}

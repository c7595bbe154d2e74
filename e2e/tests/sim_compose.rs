//! The compose runtime in the simulator: a compose deploy starts its web service's app from
//! the compose env, `compose.stop`/`compose.start` act on the whole compose, and
//! `compose.loadServices` reads the compose file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{get, get_app, post, start, wait_deploy_finished};
use launchplane_e2e::{AppBehaviour, Fault};
use serde_json::{Value, json};

const ODOO_FILE: &str =
    "services:\n  odoo:\n    image: ${ODOO_IMAGE}\n    env_file: .env\n  db:\n    image: postgres:16\n";

fn identity_env(record: &str, image: &str) -> String {
    let identity = json!({"product": "erp", "context": "testing", "deploymentRecordId": record});
    format!(
        "# kept by hand\nPGPASSWORD=s3cret\nODOO_IMAGE={image}\nLAUNCHPLANE_RUNTIME_IDENTITY_JSON='{identity}'\nLAUNCHPLANE_DEPLOYMENT_RECORD_ID={record}\n"
    )
}

/// A raw compose (`odoo` + `db`) with `erp.test` routed to `odoo`, never deployed.
async fn compose_with_domain(sim: &launchplane_e2e::DokploySim) -> String {
    let created = post(sim, "project.create", &json!({"name": "erp"})).await.json();
    let env_id = created["environment"]["environmentId"]
        .as_str()
        .unwrap()
        .to_string();
    let compose = post(
        sim,
        "compose.create",
        &json!({"name": "odoo", "environmentId": env_id, "sourceType": "raw", "composeFile": ODOO_FILE}),
    )
    .await
    .json();
    let compose_id = compose["composeId"].as_str().unwrap().to_string();
    let domain = post(
        sim,
        "domain.create",
        &json!({"host": "erp.test", "composeId": compose_id, "serviceName": "odoo", "domainType": "compose", "port": 8069}),
    )
    .await;
    assert_eq!(domain.status, 200);
    compose_id
}

async fn deploy(sim: &launchplane_e2e::DokploySim, compose_id: &str, env: &str, title: &str) -> Value {
    let r = post(
        sim,
        "compose.update",
        &json!({"composeId": compose_id, "env": env}),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = post(
        sim,
        "compose.deploy",
        &json!({"composeId": compose_id, "title": title}),
    )
    .await;
    assert_eq!(r.status, 200);
    wait_deploy_finished(sim, compose_id).await
}

async fn identity_at(url: &str, host: Option<&str>) -> Value {
    let r = get_app(url, "/.well-known/launchplane-runtime.json", host)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[tokio::test]
async fn a_compose_deploy_starts_its_web_service_serving_the_identity_from_the_compose_env() {
    let sim = start().await;
    let compose_id = compose_with_domain(&sim).await;
    let ingress = sim.ingress_url();
    assert!(sim.compose_app_url(&compose_id, "odoo").is_none());
    assert_eq!(
        get_app(&ingress, "/", Some("erp.test")).await.unwrap().status,
        502
    );

    let row = deploy(
        &sim,
        &compose_id,
        &identity_env("rec-1", "odoo@sha256:aa"),
        "rec-1",
    )
    .await;
    assert_eq!(row["status"], "done");
    let url = sim
        .compose_app_url(&compose_id, "odoo")
        .expect("the web service serves");
    assert_eq!(identity_at(&url, None).await["deploymentRecordId"], "rec-1");
    let via_ingress = get_app(&ingress, "/web/health", Some("erp.test")).await.unwrap();
    assert_eq!(via_ingress.status, 200);
    assert_eq!(via_ingress.header("x-launchplane-deployment"), Some("rec-1"));
    assert_eq!(via_ingress.json()["runtime_identity"]["product"], "erp");
    // Every service runs (a schedule can exec into the database), only the routed one serves.
    assert_eq!(sim.compose_running_services(&compose_id), ["odoo", "db"]);
    assert!(sim.compose_app_url(&compose_id, "db").is_none());

    // The deploy is visible by compose and by type, with the title it was sent with.
    let by_compose = get(&sim, &format!("deployment.allByCompose?composeId={compose_id}"))
        .await
        .json();
    let by_type = get(
        &sim,
        &format!("deployment.allByType?id={compose_id}&type=compose"),
    )
    .await
    .json();
    assert_eq!(by_compose.as_array().unwrap().len(), 1);
    assert_eq!(by_compose[0]["title"], "rec-1");
    assert_eq!(by_type[0]["deploymentId"], by_compose[0]["deploymentId"]);
    assert_eq!(by_type[0]["rollback"], Value::Null);
    assert!(by_compose[0].get("rollback").is_none());

    // An env change reaches the app only with the next deploy.
    let r = post(
        &sim,
        "compose.update",
        &json!({"composeId": compose_id, "env": identity_env("rec-2", "odoo@sha256:bb")}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(identity_at(&url, None).await["deploymentRecordId"], "rec-1");
    deploy(
        &sim,
        &compose_id,
        &identity_env("rec-2", "odoo@sha256:bb"),
        "rec-2",
    )
    .await;
    assert_eq!(
        identity_at(&ingress, Some("erp.test")).await["deploymentRecordId"],
        "rec-2"
    );

    // A behaviour set on the compose applies to its services' apps.
    sim.set_app_behaviour(&compose_id, AppBehaviour::Down);
    assert_eq!(
        get_app(&ingress, "/", Some("erp.test")).await.unwrap().status,
        502
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failed_compose_deploy_starts_nothing() {
    let sim = start().await;
    let compose_id = compose_with_domain(&sim).await;
    sim.set_deploy_outcome(&compose_id, true);
    let row = deploy(&sim, &compose_id, &identity_env("rec-1", "x"), "rec-1").await;
    assert_eq!(row["status"], "error");
    assert!(sim.compose_app_url(&compose_id, "odoo").is_none());
    assert!(sim.compose_running_services(&compose_id).is_empty());

    sim.set_deploy_outcome(&compose_id, false);
    sim.inject("compose.deploy", Fault::DeployError);
    assert_eq!(deploy(&sim, &compose_id, "", "rec-2").await["status"], "error");
    assert!(sim.compose_app_url(&compose_id, "odoo").is_none());
    sim.clear_faults();
    assert_eq!(deploy(&sim, &compose_id, "", "rec-3").await["status"], "done");
    assert!(sim.compose_app_url(&compose_id, "odoo").is_some());
    sim.shutdown().await;
}

#[tokio::test]
async fn stop_and_start_act_on_the_whole_compose() {
    let sim = start().await;
    let compose_id = compose_with_domain(&sim).await;
    let ingress = sim.ingress_url();

    // Never deployed: no project directory, the command fails.
    let r = post(&sim, "compose.stop", &json!({"composeId": compose_id})).await;
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (500, json!("INTERNAL_SERVER_ERROR"))
    );
    let one = get(&sim, &format!("compose.one?composeId={compose_id}"))
        .await
        .json();
    assert_eq!(one["composeStatus"], "error");
    let r = post(&sim, "compose.start", &json!({"composeId": compose_id})).await;
    assert_eq!(r.status, 500);

    deploy(&sim, &compose_id, &identity_env("rec-1", "a"), "rec-1").await;
    let r = post(&sim, "compose.stop", &json!({"composeId": compose_id})).await;
    assert_eq!((r.status, r.json()), (200, json!(true)));
    let one = get(&sim, &format!("compose.one?composeId={compose_id}"))
        .await
        .json();
    assert_eq!(one["composeStatus"], "idle");
    // The database stops with the web service: stop knows no service.
    assert!(sim.compose_running_services(&compose_id).is_empty());
    assert!(sim.compose_app_url(&compose_id, "odoo").is_none());
    assert_eq!(
        get_app(&ingress, "/", Some("erp.test")).await.unwrap().status,
        502
    );

    // Start brings back what the last deploy ran, not the env edited since.
    let r = post(
        &sim,
        "compose.update",
        &json!({"composeId": compose_id, "env": identity_env("rec-9", "z")}),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = post(&sim, "compose.start", &json!({"composeId": compose_id})).await;
    assert_eq!((r.status, r.json()), (200, json!(true)));
    let one = get(&sim, &format!("compose.one?composeId={compose_id}"))
        .await
        .json();
    assert_eq!(one["composeStatus"], "done");
    assert_eq!(sim.compose_running_services(&compose_id), ["odoo", "db"]);
    assert_eq!(
        identity_at(&ingress, Some("erp.test")).await["deploymentRecordId"],
        "rec-1"
    );

    // Unknown id and missing id.
    let r = post(&sim, "compose.stop", &json!({"composeId": "nope"})).await;
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (404, json!("Compose not found"))
    );
    let r = post(&sim, "compose.start", &json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["data"]["zodError"]["fieldErrors"]["composeId"],
        json!(["Invalid input: expected string, received undefined"])
    );

    let journal: Vec<(String, Option<String>, bool)> = sim
        .mutations()
        .into_iter()
        .filter(|m| m.procedure.starts_with("compose.st"))
        .map(|m| (m.procedure, m.service_id, m.succeeded))
        .collect();
    let c = Some(compose_id.clone());
    assert_eq!(
        journal,
        vec![
            ("compose.stop".into(), c.clone(), false),
            ("compose.start".into(), c.clone(), false),
            ("compose.stop".into(), c.clone(), true),
            ("compose.start".into(), c.clone(), true),
            ("compose.stop".into(), Some("nope".into()), false),
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn load_services_reads_the_file_on_disk_or_fetches_it_first() {
    let sim = start().await;
    let compose_id = compose_with_domain(&sim).await;
    // Nothing on disk before a deploy or a fetch.
    let r = get(&sim, &format!("compose.loadServices?composeId={compose_id}")).await;
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (404, json!("Services not found"))
    );
    let r = get(
        &sim,
        &format!("compose.loadServices?composeId={compose_id}&type=fetch"),
    )
    .await;
    assert_eq!((r.status, r.json()), (200, json!(["odoo", "db"])));

    let grown = format!("{ODOO_FILE}  worker:\n    image: ${{ODOO_IMAGE}}\n");
    let r = post(
        &sim,
        "compose.update",
        &json!({"composeId": compose_id, "composeFile": grown}),
    )
    .await;
    assert_eq!(r.status, 200);
    let cached = get(
        &sim,
        &format!("compose.loadServices?composeId={compose_id}&type=cache"),
    )
    .await;
    assert_eq!(
        cached.json(),
        json!(["odoo", "db"]),
        "cache reads the file on disk"
    );
    let fetched = get(
        &sim,
        &format!("compose.loadServices?composeId={compose_id}&type=fetch"),
    )
    .await;
    assert_eq!(fetched.json(), json!(["odoo", "db", "worker"]));

    let r = get(&sim, "compose.loadServices?composeId=nope&type=fetch").await;
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (404, json!("Compose not found"))
    );
    let r = get(
        &sim,
        &format!("compose.loadServices?composeId={compose_id}&type=both"),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["issues"][0]["code"], "invalid_value");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_seeded_deployed_compose_serves_at_once() {
    let sim = start().await;
    let (_, env_id) = sim.seed_project("erp");
    let compose_id = sim
        .seed_compose(
            &env_id,
            launchplane_e2e::SeedCompose {
                name: "odoo".into(),
                compose_file: ODOO_FILE.into(),
                env: Some(identity_env("rec-0", "odoo:17")),
                domains: vec!["erp.test".into()],
                service_name: Some("odoo".into()),
                deployed: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        identity_at(&sim.ingress_url(), Some("erp.test")).await["deploymentRecordId"],
        "rec-0"
    );
    assert_eq!(sim.deployments(&compose_id)[0]["status"], "done");
    sim.shutdown().await;
}

//! The docker container routes in the simulator: `docker.getContainersByAppNameMatch` lists a
//! deployed compose's containers, `docker.stopContainer` / `docker.startContainer` act on one
//! of them (its app goes down and up, a schedule cannot exec into it while it is stopped),
//! and `compose.stop` / a deploy act on all of them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{get, get_app, post, start, wait_deploy_finished};
use launchplane_e2e::{DokploySim, Fault, SeedCompose, fixtures};
use serde_json::{Value, json};

fn deployed_compose(sim: &DokploySim) -> String {
    fixtures::deployed_odoo_compose(sim, None, "PGPASSWORD=s3cret\n")
}

fn app_name(sim: &DokploySim, compose_id: &str) -> String {
    sim.service_json(compose_id).unwrap()["appName"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn list(sim: &DokploySim, app_name: &str) -> Vec<Value> {
    let r = get(
        sim,
        &format!("docker.getContainersByAppNameMatch?appType=docker-compose&appName={app_name}"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json().as_array().unwrap().clone()
}

/// `(name, state)` of each listed container.
fn states(rows: &[Value]) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn id_of(rows: &[Value], name: &str) -> String {
    rows.iter()
        .find(|r| r["name"] == name)
        .and_then(|r| r["containerId"].as_str())
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_deployed_compose_lists_one_running_container_per_service() {
    let sim = start().await;
    let compose_id = deployed_compose(&sim);
    let app = app_name(&sim, &compose_id);
    let rows = list(&sim, &app).await;
    assert_eq!(
        states(&rows),
        [
            (format!("{app}-odoo-1"), "running".to_string()),
            (format!("{app}-db-1"), "running".to_string())
        ]
    );
    for row in &rows {
        let id = row["containerId"].as_str().unwrap();
        assert!(
            id.len() == 12
                && id
                    .bytes()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)),
            "{id}"
        );
        assert!(row["status"].as_str().unwrap().starts_with("Up "), "{row}");
    }
    assert_ne!(rows[0]["containerId"], rows[1]["containerId"]);
    assert_eq!(sim.compose_containers(&compose_id), rows);

    // Another project's name, or another appType, lists nothing.
    assert!(list(&sim, "someone-else").await.is_empty());
    let r = get(
        &sim,
        &format!("docker.getContainersByAppNameMatch?appType=stack&appName={app}"),
    )
    .await;
    assert_eq!((r.status, r.json()), (200, json!([])));
    sim.shutdown().await;
}

#[tokio::test]
async fn stopping_one_container_stops_only_that_service() {
    let sim = start().await;
    let compose_id = deployed_compose(&sim);
    let app = app_name(&sim, &compose_id);
    let ingress = sim.ingress_url();
    let schedule = post(
        &sim,
        "schedule.create",
        &json!({"name": "backup", "cronExpression": "0 0 1 1 *", "scheduleType": "compose",
                "composeId": compose_id, "serviceName": "odoo", "shellType": "bash",
                "command": "true", "enabled": false}),
    )
    .await
    .json();
    let schedule_id = schedule["scheduleId"].as_str().unwrap().to_string();
    let rows = list(&sim, &app).await;
    let web = id_of(&rows, &format!("{app}-odoo-1"));
    let address = sim.compose_app_url(&compose_id, "odoo").unwrap();
    assert_eq!(
        get_app(&ingress, "/", Some("erp.test")).await.unwrap().status,
        200
    );

    let r = post(&sim, "docker.stopContainer", &json!({"containerId": web})).await;
    assert_eq!((r.status, r.text()), (200, String::new()));
    assert_eq!(
        states(&list(&sim, &app).await),
        [
            (format!("{app}-odoo-1"), "exited".to_string()),
            (format!("{app}-db-1"), "running".to_string())
        ]
    );
    assert!(
        list(&sim, &app).await[0]["status"]
            .as_str()
            .unwrap()
            .starts_with("Exited (0) ")
    );
    assert!(!sim.compose_container_running(&compose_id, "odoo"));
    assert!(sim.compose_container_running(&compose_id, "db"));
    assert_eq!(sim.compose_running_services(&compose_id), ["db"]);
    assert!(sim.compose_app_url(&compose_id, "odoo").is_none());
    assert_eq!(
        get_app(&ingress, "/", Some("erp.test")).await.unwrap().status,
        502
    );
    // The docker routes leave the compose's status alone.
    assert_eq!(sim.service_json(&compose_id).unwrap()["composeStatus"], "done");
    // A schedule cannot exec into the stopped service.
    let r = post(&sim, "schedule.runManually", &json!({"scheduleId": schedule_id})).await;
    assert_eq!((r.status, r.json()["status"].clone()), (200, json!("error")));
    let log = sim
        .deployment_log(r.json()["deploymentId"].as_str().unwrap())
        .unwrap();
    assert!(log.contains("Container not found for service 'odoo'"), "{log}");

    // Stopping it again succeeds; the journal names the compose it acted on.
    let r = post(&sim, "docker.stopContainer", &json!({"containerId": web})).await;
    assert_eq!(r.status, 200);
    let last = sim.mutations().pop().unwrap();
    assert_eq!(last.procedure, "docker.stopContainer");
    assert_eq!(last.service_id.as_deref(), Some(compose_id.as_str()));

    // Started again: same id, serving again with the env of the last deploy.
    let r = post(&sim, "docker.startContainer", &json!({"containerId": web})).await;
    assert_eq!((r.status, r.text()), (200, String::new()));
    let rows = list(&sim, &app).await;
    assert_eq!(id_of(&rows, &format!("{app}-odoo-1")), web);
    assert!(rows.iter().all(|r| r["state"] == "running"), "{rows:?}");
    assert_eq!(
        sim.compose_app_url(&compose_id, "odoo").as_deref(),
        Some(address.as_str()),
        "a container started again keeps its address, as behind its domain"
    );
    assert_eq!(
        get_app(&ingress, "/", Some("erp.test")).await.unwrap().status,
        200
    );
    let r = post(&sim, "schedule.runManually", &json!({"scheduleId": schedule_id})).await;
    assert_eq!(r.json()["status"], "done");
    // Starting a running container succeeds.
    let r = post(&sim, "docker.startContainer", &json!({"containerId": web})).await;
    assert_eq!(r.status, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn compose_stop_exits_every_container_and_a_deploy_recreates_them() {
    let sim = start().await;
    let compose_id = deployed_compose(&sim);
    let app = app_name(&sim, &compose_id);
    let before = list(&sim, &app).await;

    let r = post(&sim, "compose.stop", &json!({"composeId": compose_id})).await;
    assert_eq!(r.status, 200);
    let rows = list(&sim, &app).await;
    assert!(rows.iter().all(|r| r["state"] == "exited"), "{rows:?}");
    assert_eq!(rows.len(), 2, "stopped containers are listed (docker ps -a)");
    let r = post(&sim, "compose.start", &json!({"composeId": compose_id})).await;
    assert_eq!(r.status, 200);
    let rows = list(&sim, &app).await;
    assert!(rows.iter().all(|r| r["state"] == "running"), "{rows:?}");
    assert_eq!(
        rows.iter().map(|r| &r["containerId"]).collect::<Vec<_>>(),
        before.iter().map(|r| &r["containerId"]).collect::<Vec<_>>(),
        "start keeps the containers"
    );

    // A deploy recreates every container: an id read before it names nothing after it.
    let web = id_of(&before, &format!("{app}-odoo-1"));
    let r = post(
        &sim,
        "compose.deploy",
        &json!({"composeId": compose_id, "title": "rec-2"}),
    )
    .await;
    assert_eq!(r.status, 200);
    wait_deploy_finished(&sim, &compose_id).await;
    let after = list(&sim, &app).await;
    assert_eq!(states(&after), states(&rows));
    assert_ne!(id_of(&after, &format!("{app}-odoo-1")), web);
    let r = post(&sim, "docker.stopContainer", &json!({"containerId": web})).await;
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (
            500,
            json!(format!("Error response from daemon: No such container: {web}"))
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_compose_never_deployed_has_no_containers() {
    let sim = start().await;
    let (_, env_id) = sim.seed_project("fresh");
    let compose_id = sim
        .seed_compose(
            &env_id,
            SeedCompose {
                name: "fresh".into(),
                compose_file: fixtures::ODOO_COMPOSE_FILE.into(),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(list(&sim, &app_name(&sim, &compose_id)).await.is_empty());
    assert!(sim.compose_containers(&compose_id).is_empty());
    assert_eq!(sim.compose_container_id(&compose_id, "odoo"), None);
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_containers_and_bad_input_are_refused() {
    let sim = start().await;
    let compose_id = deployed_compose(&sim);
    for route in ["docker.stopContainer", "docker.startContainer"] {
        let r = post(&sim, route, &json!({"containerId": "abc"})).await;
        assert_eq!(
            (r.status, r.json()["code"].clone(), r.json()["message"].clone()),
            (
                500,
                json!("INTERNAL_SERVER_ERROR"),
                json!("Error response from daemon: No such container: abc")
            ),
            "{route}"
        );
        let r = post(&sim, route, &json!({"containerId": "a b;rm -rf"})).await;
        assert_eq!(r.status, 400, "{route}");
        assert_eq!(r.json()["issues"][0]["path"], json!(["containerId"]));
        let r = post(&sim, route, &json!({})).await;
        assert_eq!(r.status, 400, "{route}");
        // The sim has no remote servers.
        let web = sim.compose_container_id(&compose_id, "odoo").unwrap();
        let r = post(&sim, route, &json!({"containerId": web, "serverId": "srv-1"})).await;
        assert_eq!(r.status, 404, "{route}");
    }
    assert!(sim.compose_container_running(&compose_id, "odoo"));

    let r = get(
        &sim,
        "docker.getContainersByAppNameMatch?appType=docker-compose&appName=a%20b",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["issues"][0]["path"], json!(["appName"]));
    let r = get(&sim, "docker.getContainersByAppNameMatch?appType=docker-compose").await;
    assert_eq!(r.status, 400);
    let r = get(&sim, "docker.getContainersByAppNameMatch?appType=swarm&appName=x").await;
    assert_eq!(r.status, 400);
    // GET on a mutation is a 404, as on every tRPC route.
    let r = get(&sim, "docker.stopContainer?containerId=abc").await;
    assert_eq!(r.status, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_apply_to_the_container_routes() {
    let sim = start().await;
    let compose_id = deployed_compose(&sim);
    let app = app_name(&sim, &compose_id);
    let web = sim.compose_container_id(&compose_id, "odoo").unwrap();
    sim.inject("docker.stopContainer", Fault::Status(502));
    let r = post(&sim, "docker.stopContainer", &json!({"containerId": web})).await;
    assert_eq!(r.status, 502);
    assert!(
        sim.compose_container_running(&compose_id, "odoo"),
        "a refused call stops nothing"
    );
    sim.clear_faults();
    sim.inject("docker.getContainersByAppNameMatch", Fault::MalformedBody);
    let r = get(
        &sim,
        &format!("docker.getContainersByAppNameMatch?appType=docker-compose&appName={app}"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_str::<Value>(&r.text()).is_err());
    assert_eq!(sim.call_count("docker.stopContainer"), 1);
    assert_eq!(sim.call_count("docker.getContainersByAppNameMatch"), 1);
    sim.shutdown().await;
}

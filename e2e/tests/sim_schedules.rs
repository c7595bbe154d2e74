//! Schedules in the simulator: the `schedule.*` routes, manual runs scripted to succeed, fail,
//! hang or lose their connection, and the runs' history in `deployment.allByType`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{get, post, send, start};
use launchplane_e2e::{DokploySim, ScheduleRunScript, SeedCompose, fixtures};
use serde_json::{Value, json};

fn deployed_compose(sim: &DokploySim) -> String {
    fixtures::deployed_odoo_compose(sim, Some("erp stack"), "PGPASSWORD=s3cret\n")
}

fn schedule_body(compose_id: &str) -> Value {
    json!({
        "name": "launchplane post-deploy",
        "description": "post-deploy\nlaunchplane.dev/owner=i/ns/Lane/erp/-",
        "cronExpression": "0 0 1 1 *",
        "scheduleType": "compose",
        "composeId": compose_id,
        "serviceName": "odoo",
        "shellType": "bash",
        "command": "odoo -u all --stop-after-init",
        "enabled": false,
    })
}

async fn create_schedule(sim: &DokploySim, compose_id: &str) -> String {
    let r = post(sim, "schedule.create", &schedule_body(compose_id)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["scheduleId"].as_str().unwrap().to_string()
}

async fn runs(sim: &DokploySim, schedule_id: &str) -> Vec<Value> {
    let r = get(
        sim,
        &format!("deployment.allByType?id={schedule_id}&type=schedule"),
    )
    .await;
    assert_eq!(r.status, 200);
    r.json().as_array().unwrap().clone()
}

/// Waits until the newest run is no longer `running`.
async fn settled(sim: &DokploySim, schedule_id: &str) -> Value {
    for _ in 0..200 {
        let list = runs(sim, schedule_id).await;
        if let Some(first) = list.first()
            && first["status"] != "running"
        {
            return first.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the run of {schedule_id} did not settle");
}

#[tokio::test]
async fn schedules_are_created_read_listed_updated_and_deleted() {
    let sim = start().await;
    let compose_id = deployed_compose(&sim);
    let created = post(&sim, "schedule.create", &schedule_body(&compose_id)).await;
    assert_eq!(created.status, 200);
    let row = created.json();
    let schedule_id = row["scheduleId"].as_str().unwrap().to_string();
    assert_eq!(row["description"], schedule_body(&compose_id)["description"]);
    assert_eq!(row["enabled"], false);
    assert_eq!(row["timezone"], Value::Null);
    assert!(row["appName"].as_str().unwrap().starts_with("schedule-"));
    assert!(row.get("compose").is_none(), "create answers the row only");

    let one = get(&sim, &format!("schedule.one?scheduleId={schedule_id}"))
        .await
        .json();
    assert_eq!(one["command"], "odoo -u all --stop-after-init");
    assert_eq!(one["compose"]["composeId"], compose_id.as_str());
    assert_eq!(one["compose"]["environment"]["project"]["name"], "erp");
    // The compose relation is the whole row, env included: a client must not keep it.
    assert_eq!(one["compose"]["env"], "PGPASSWORD=s3cret\n");
    assert_eq!(
        (one["application"].clone(), one["server"].clone()),
        (Value::Null, Value::Null)
    );
    assert!(one.get("deployments").is_none());

    let second = post(
        &sim,
        "schedule.create",
        &json!({"name": "backup", "cronExpression": "0 3 * * *", "command": "backup.sh",
                "scheduleType": "compose", "composeId": compose_id, "serviceName": "db"}),
    )
    .await
    .json();
    assert_eq!(
        (second["shellType"].clone(), second["enabled"].clone()),
        (json!("bash"), json!(true))
    );
    let list = get(
        &sim,
        &format!("schedule.list?id={compose_id}&scheduleType=compose"),
    )
    .await
    .json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["launchplane post-deploy", "backup"], "oldest first");
    assert_eq!(
        list[0]["compose"],
        json!({"composeId": compose_id, "appName": list[0]["compose"]["appName"], "name": "odoo", "serverId": null})
    );
    assert_eq!(list[0]["deployments"], json!([]));
    let other = get(&sim, "schedule.list?id=nope&scheduleType=compose").await;
    assert_eq!((other.status, other.json()), (200, json!([])));

    let mut body = schedule_body(&compose_id);
    body["scheduleId"] = json!(schedule_id);
    body["command"] = json!("odoo -u sale --stop-after-init");
    let updated = post(&sim, "schedule.update", &body).await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.json()["command"], "odoo -u sale --stop-after-init");
    assert_eq!(
        updated.json()["appName"],
        row["appName"],
        "what was not sent is kept"
    );

    let r = post(&sim, "schedule.delete", &json!({"scheduleId": schedule_id})).await;
    assert_eq!((r.status, r.json()), (200, json!(true)));
    let r = get(&sim, &format!("schedule.one?scheduleId={schedule_id}")).await;
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (404, json!("Schedule not found"))
    );
    let list = get(
        &sim,
        &format!("schedule.list?id={compose_id}&scheduleType=compose"),
    )
    .await
    .json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn schedule_routes_refuse_bad_input_and_unknown_ids() {
    let sim = start().await;
    let compose_id = deployed_compose(&sim);
    let r = post(
        &sim,
        "schedule.create",
        &json!({"scheduleType": "compose", "shellType": "zsh"}),
    )
    .await;
    assert_eq!(r.status, 400);
    let fields = r.json()["data"]["zodError"]["fieldErrors"].clone();
    let missing = json!(["Invalid input: expected string, received undefined"]);
    assert_eq!(fields["name"], missing);
    assert_eq!(fields["cronExpression"], missing);
    assert_eq!(fields["command"], missing);
    assert_eq!(
        fields["shellType"],
        json!(["Invalid option: expected one of \"bash\"|\"sh\""])
    );

    // update needs the schedule's id and the three required columns again
    let r = post(&sim, "schedule.update", &json!({"name": "x"})).await;
    let fields = r.json()["data"]["zodError"]["fieldErrors"].clone();
    assert_eq!(r.status, 400);
    let mut keys: Vec<&String> = fields.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["command", "cronExpression", "scheduleId"]);

    let r = get(&sim, &format!("schedule.list?id={compose_id}")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["issues"][0]["code"], "invalid_value");
    let r = get(&sim, "deployment.allByType?id=x&type=cron").await;
    assert_eq!(r.status, 400);
    let r = get(&sim, "deployment.allByType?type=schedule").await;
    assert_eq!(r.status, 400);
    let r = post(&sim, "schedule.runManually", &json!({"scheduleId": ""})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["issues"][0]["code"], "too_small");

    // unknown schedule: 404 from every route that loads it
    let mut update = schedule_body(&compose_id);
    update["scheduleId"] = json!("nope");
    for r in [
        get(&sim, "schedule.one?scheduleId=nope").await,
        post(&sim, "schedule.update", &update).await,
        post(&sim, "schedule.delete", &json!({"scheduleId": "nope"})).await,
        post(&sim, "schedule.runManually", &json!({"scheduleId": "nope"})).await,
    ] {
        assert_eq!(
            r.json(),
            json!({"message": "Schedule not found", "code": "NOT_FOUND",
                   "data": {"code": "NOT_FOUND", "httpStatus": 404, "path": r.json()["data"]["path"], "zodError": null}})
        );
        assert_eq!(r.status, 404);
    }
    // a compose that does not exist breaks the schedule table's foreign key
    let r = post(&sim, "schedule.create", &schedule_body("no-such-compose")).await;
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (500, json!("INTERNAL_SERVER_ERROR"))
    );
    // history of an unknown id is empty, not a 404
    let r = get(&sim, "deployment.allByType?id=nope&type=schedule").await;
    assert_eq!((r.status, r.json()), (200, json!([])));
    let r = get(&sim, "deployment.readLogs?deploymentId=nope").await;
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (404, json!("Deployment not found"))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_manual_run_answers_when_the_command_ends_and_leaves_its_history() {
    let sim = start().await;
    let compose_id = deployed_compose(&sim);
    let schedule_id = create_schedule(&sim, &compose_id).await;
    sim.script_schedule_runs(
        "launchplane post-deploy",
        ScheduleRunScript::succeed("modules updated: sale, stock").taking(Duration::from_millis(300)),
    );
    let started = Instant::now();
    let r = post(&sim, "schedule.runManually", &json!({"scheduleId": schedule_id})).await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "answered before the command ended"
    );
    assert_eq!(r.status, 200);
    let answer = r.json();
    assert_eq!(answer["status"], "done");
    let mut keys: Vec<&String> = answer.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["deploymentId", "logPath", "status"]);

    let history = runs(&sim, &schedule_id).await;
    assert_eq!(history.len(), 1);
    let run = &history[0];
    assert_eq!(run["deploymentId"], answer["deploymentId"]);
    assert_eq!(run["status"], "done");
    assert_eq!(run["scheduleId"], schedule_id.as_str());
    assert_eq!(
        (run["composeId"].clone(), run["title"].clone()),
        (Value::Null, json!("Schedule"))
    );
    assert!(run["finishedAt"].is_string() && run["startedAt"].is_string());
    assert_eq!(run["rollback"], Value::Null);
    assert!(
        run["logPath"]
            .as_str()
            .unwrap()
            .starts_with("/etc/dokploy/schedules/schedule-")
    );
    // A schedule run is not a compose deployment.
    let by_compose = get(&sim, &format!("deployment.allByCompose?composeId={compose_id}"))
        .await
        .json();
    assert!(
        by_compose
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["scheduleId"].is_null())
    );
    // schedule.list carries the runs too.
    let list = get(
        &sim,
        &format!("schedule.list?id={compose_id}&scheduleType=compose"),
    )
    .await
    .json();
    assert_eq!(list[0]["deployments"][0]["deploymentId"], answer["deploymentId"]);

    let deployment_id = answer["deploymentId"].as_str().unwrap();
    let log = get(&sim, &format!("deployment.readLogs?deploymentId={deployment_id}")).await;
    assert_eq!(log.status, 200);
    let log = log.json();
    let log = log.as_str().unwrap();
    assert!(log.contains("modules updated: sale, stock"), "{log}");
    assert!(
        log.contains("bash -c odoo -u all --stop-after-init"),
        "Dokploy writes the command line into the log: {log}"
    );
    let tail = get(
        &sim,
        &format!("deployment.readLogs?deploymentId={deployment_id}&tail=1"),
    )
    .await;
    assert_eq!(tail.json(), json!("✅ Command executed successfully\n"));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failing_command_ends_its_run_in_error() {
    let sim = start().await;
    let compose_id = deployed_compose(&sim);
    let schedule_id = create_schedule(&sim, &compose_id).await;
    sim.script_schedule_runs(
        &schedule_id,
        ScheduleRunScript::fail("ERROR: module 'x' not found"),
    );
    let r = post(&sim, "schedule.runManually", &json!({"scheduleId": schedule_id})).await;
    assert_eq!((r.status, r.json()["status"].clone()), (200, json!("error")));
    assert_eq!(settled(&sim, &schedule_id).await["status"], "error");
    let log = sim
        .deployment_log(r.json()["deploymentId"].as_str().unwrap())
        .unwrap();
    assert!(
        log.contains("module 'x' not found") && log.contains("❌ Command failed"),
        "{log}"
    );

    // Versions that rethrow answer 500; the row ends in error all the same.
    sim.script_schedule_runs("*", ScheduleRunScript::server_error("Command failed: exit 1"));
    let r = post(&sim, "schedule.runManually", &json!({"scheduleId": schedule_id})).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["message"], "Command failed: exit 1");
    let history = runs(&sim, &schedule_id).await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["status"], "error");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_run_needs_the_service_container() {
    let sim = start().await;
    let compose_id = deployed_compose(&sim);
    let schedule_id = create_schedule(&sim, &compose_id).await;
    let r = post(&sim, "compose.stop", &json!({"composeId": compose_id})).await;
    assert_eq!(r.status, 200);
    let r = post(&sim, "schedule.runManually", &json!({"scheduleId": schedule_id})).await;
    assert_eq!((r.status, r.json()["status"].clone()), (200, json!("error")));
    let log = sim
        .deployment_log(r.json()["deploymentId"].as_str().unwrap())
        .unwrap();
    assert!(
        log.contains("Container not found for service 'odoo' of compose 'odoo'"),
        "{log}"
    );
    let r = post(&sim, "compose.start", &json!({"composeId": compose_id})).await;
    assert_eq!(r.status, 200);
    let r = post(&sim, "schedule.runManually", &json!({"scheduleId": schedule_id})).await;
    assert_eq!(r.json()["status"], "done");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_client_that_gives_up_finds_the_run_settled_later() {
    let sim = start().await;
    let compose_id = deployed_compose(&sim);
    let schedule_id = create_schedule(&sim, &compose_id).await;
    sim.script_schedule_runs(
        "*",
        ScheduleRunScript::succeed("done").taking(Duration::from_millis(600)),
    );
    let gave_up = tokio::time::timeout(
        Duration::from_millis(150),
        post(&sim, "schedule.runManually", &json!({"scheduleId": schedule_id})),
    )
    .await;
    assert!(gave_up.is_err(), "no answer while the command runs");
    let history = runs(&sim, &schedule_id).await;
    assert_eq!(history[0]["status"], "running");
    assert_eq!(history[0]["finishedAt"], Value::Null);
    let settled = settled(&sim, &schedule_id).await;
    assert_eq!(settled["status"], "done");
    assert_eq!(settled["deploymentId"], history[0]["deploymentId"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_dropped_connection_leaves_the_run_going() {
    let sim = start().await;
    let compose_id = deployed_compose(&sim);
    let schedule_id = create_schedule(&sim, &compose_id).await;
    sim.script_schedule_runs(
        "*",
        ScheduleRunScript::fail("disk full")
            .taking(Duration::from_millis(300))
            .dropping_connection(),
    );
    let key = sim.api_key();
    let body = json!({"scheduleId": schedule_id}).to_string();
    let answer = send(
        &sim.base_url(),
        "POST",
        "/api/schedule.runManually",
        &[("x-api-key", &key), ("Content-Type", "application/json")],
        Some(body.as_bytes()),
    )
    .await;
    // Either nothing parses as a response or its body is cut: no answer to read.
    let answered = answer.is_ok_and(|r| serde_json::from_slice::<Value>(&r.body).is_ok());
    assert!(!answered, "the connection was dropped before an answer");
    assert_eq!(runs(&sim, &schedule_id).await[0]["status"], "running");
    assert_eq!(settled(&sim, &schedule_id).await["status"], "error");
    sim.shutdown().await;
}

#[tokio::test]
async fn runs_keep_about_ten_and_go_with_their_schedule() {
    let sim = start().await;
    let compose_id = deployed_compose(&sim);
    let schedule_id = create_schedule(&sim, &compose_id).await;
    for _ in 0..12 {
        let r = post(&sim, "schedule.runManually", &json!({"scheduleId": schedule_id})).await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(runs(&sim, &schedule_id).await.len(), 11);
    let r = post(&sim, "schedule.delete", &json!({"scheduleId": schedule_id})).await;
    assert_eq!(r.status, 200);
    assert!(runs(&sim, &schedule_id).await.is_empty());
    // Removing the compose takes its schedules along.
    let other = create_schedule(&sim, &compose_id).await;
    assert!(sim.remove_service(&compose_id));
    let r = get(&sim, &format!("schedule.one?scheduleId={other}")).await;
    assert_eq!(r.status, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn schedule_mutations_are_journaled_with_their_service_and_schedule() {
    let sim = start().await;
    let compose_id = deployed_compose(&sim);
    let schedule_id = create_schedule(&sim, &compose_id).await;
    let mut body = schedule_body(&compose_id);
    body["scheduleId"] = json!(schedule_id);
    body["description"] = json!("taken over");
    assert_eq!(post(&sim, "schedule.update", &body).await.status, 200);
    assert_eq!(
        post(&sim, "schedule.runManually", &json!({"scheduleId": schedule_id}))
            .await
            .status,
        200
    );
    assert_eq!(
        post(&sim, "schedule.delete", &json!({"scheduleId": schedule_id}))
            .await
            .status,
        200
    );
    let marker = schedule_body(&compose_id)["description"]
        .as_str()
        .unwrap()
        .to_string();
    let journal: Vec<_> = sim
        .mutations()
        .into_iter()
        .filter(|m| m.procedure.starts_with("schedule."))
        .map(|m| {
            (
                m.procedure,
                m.service_id,
                m.description_before,
                m.schedule_id,
                m.schedule_description_before,
                m.description_sent,
            )
        })
        .collect();
    let c = Some(compose_id.clone());
    let s = Some(schedule_id.clone());
    let erp = Some("erp stack".to_string());
    assert_eq!(
        journal,
        vec![
            (
                "schedule.create".into(),
                c.clone(),
                erp.clone(),
                s.clone(),
                None,
                Some(marker.clone())
            ),
            (
                "schedule.update".into(),
                c.clone(),
                erp.clone(),
                s.clone(),
                Some(marker.clone()),
                Some("taken over".into())
            ),
            (
                "schedule.runManually".into(),
                c.clone(),
                erp.clone(),
                s.clone(),
                Some("taken over".into()),
                None
            ),
            (
                "schedule.delete".into(),
                c.clone(),
                erp.clone(),
                s.clone(),
                Some("taken over".into()),
                None
            ),
        ]
    );
    sim.shutdown().await;
}

/// An update that moves a schedule to another compose acts on the schedule's current one.
#[tokio::test]
async fn a_schedule_update_is_journaled_against_the_schedules_current_service() {
    let sim = start().await;
    let compose_id = deployed_compose(&sim);
    let (_, env_id) = sim.seed_project("other");
    let other = sim
        .seed_compose(
            &env_id,
            SeedCompose {
                name: "other".into(),
                compose_file: fixtures::ODOO_COMPOSE_FILE.into(),
                ..SeedCompose::default()
            },
        )
        .unwrap();
    let schedule_id = create_schedule(&sim, &compose_id).await;
    let mut body = schedule_body(&other);
    body["scheduleId"] = json!(schedule_id);
    assert_eq!(post(&sim, "schedule.update", &body).await.status, 200);
    let touched: Vec<_> = sim
        .mutations()
        .into_iter()
        .filter(|m| m.procedure.starts_with("schedule."))
        .map(|m| m.service_id)
        .collect();
    assert_eq!(touched, [Some(compose_id.clone()), Some(compose_id)]);
    let list = get(&sim, &format!("schedule.list?id={other}&scheduleType=compose"))
        .await
        .json();
    assert_eq!(list[0]["scheduleId"], schedule_id.as_str());
    sim.shutdown().await;
}

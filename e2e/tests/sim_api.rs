//! The simulator's Dokploy API over real HTTP on loopback: auth, errors, validation, shapes,
//! env storage and deployments, checked against the recorded v0.30.2 behaviour.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{get, post, project_and_app, send, start, wait_deploy_finished};
use serde_json::{Value, json};

#[tokio::test]
async fn missing_or_wrong_key_is_401_without_envelope() {
    let sim = start().await;
    let base = sim.base_url();
    let none = send(&base, "GET", "/api/project.all", &[], None).await.unwrap();
    let wrong = send(
        &base,
        "GET",
        "/api/project.all",
        &[("x-api-key", "invalid-key-123")],
        None,
    )
    .await
    .unwrap();
    for r in [none, wrong] {
        assert_eq!(r.status, 401);
        assert_eq!(r.text(), r#"{"message":"Unauthorized"}"#);
        assert_eq!(r.header("content-type"), Some("application/json; charset=utf-8"));
    }
    // an unknown procedure without a key is still a 401: auth comes before routing
    let r = send(&base, "GET", "/api/application.doesNotExist", &[], None)
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_id_is_a_404_envelope() {
    let sim = start().await;
    let r = get(&sim, "application.one?applicationId=doesNotExist123").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        json!({"message":"Application not found","code":"NOT_FOUND","data":{"code":"NOT_FOUND","httpStatus":404,"path":"application.one","zodError":null}})
    );
    let r = get(&sim, "compose.one?composeId=nope").await;
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (404, json!("Compose not found"))
    );
    let r = get(&sim, "environment.one?environmentId=nope").await;
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (404, json!("Environment not found"))
    );
    // application.update with an unknown id: 400, as observed
    let r = post(
        &sim,
        "application.update",
        &json!({"applicationId": "doesNotExist123", "description": "x"}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({"message":"Error updating application","code":"BAD_REQUEST","data":{"code":"BAD_REQUEST","httpStatus":400,"path":"application.update","zodError":null}})
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn validation_failures_carry_issues_and_field_errors() {
    let sim = start().await;
    let (_, app_id) = project_and_app(&sim, "nginx:1.27-alpine").await;
    let r = post(
        &sim,
        "application.saveEnvironment",
        &json!({"applicationId": app_id, "env": "FOO=bar", "buildArgs": ""}),
    )
    .await;
    assert_eq!(r.status, 400);
    let msg = "Invalid input: expected nonoptional, received undefined";
    assert_eq!(
        r.json(),
        json!({
            "message": "Input validation failed",
            "code": "BAD_REQUEST",
            "data": {"code": "BAD_REQUEST", "httpStatus": 400, "path": "application.saveEnvironment",
                     "zodError": {"formErrors": [], "fieldErrors": {"buildSecrets": [msg], "createEnvFile": [msg]}}},
            "issues": [
                {"code": "invalid_type", "expected": "nonoptional", "path": ["buildSecrets"], "message": msg},
                {"code": "invalid_type", "expected": "nonoptional", "path": ["createEnvFile"], "message": msg},
            ]
        })
    );

    let r = post(
        &sim,
        "application.create",
        &json!({"name": "x", "sourceType": "ftp"}),
    )
    .await;
    assert_eq!(r.status, 400);
    let body = r.json();
    assert_eq!(
        body["data"]["zodError"]["fieldErrors"],
        json!({
            "environmentId": ["Invalid input: expected string, received undefined"],
            "sourceType": ["Invalid option: expected one of \"github\"|\"docker\"|\"git\"|\"gitlab\"|\"bitbucket\"|\"gitea\"|\"drop\""]
        })
    );
    assert_eq!(body["issues"][1]["code"], "invalid_value");
    assert_eq!(body["issues"][1]["values"].as_array().unwrap().len(), 7);

    // saveDockerProvider needs all five keys; nulls are fine
    let r = post(
        &sim,
        "application.saveDockerProvider",
        &json!({"applicationId": app_id, "dockerImage": "x"}),
    )
    .await;
    assert_eq!(r.status, 400);
    let fields = r.json()["data"]["zodError"]["fieldErrors"].clone();
    assert_eq!(fields.as_object().unwrap().len(), 3, "{fields}");

    // a missing query parameter
    let r = get(&sim, "application.one").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["issues"],
        json!([{"expected":"string","code":"invalid_type","path":["applicationId"],"message":"Invalid input: expected string, received undefined"}])
    );

    // wrong type, appName pattern
    let r = post(
        &sim,
        "application.update",
        &json!({"applicationId": app_id, "replicas": "two", "appName": "a b"}),
    )
    .await;
    assert_eq!(r.status, 400);
    let issues = r.json()["issues"].clone();
    assert!(
        issues
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["code"] == "invalid_format"),
        "{issues}"
    );
    assert!(
        issues
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["message"] == "Invalid input: expected number, received string")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_json_is_plain_text_before_auth() {
    let sim = start().await;
    for key in [sim.api_key(), "invalid-key-123".to_string()] {
        let r = send(
            &sim.base_url(),
            "POST",
            "/api/application.create",
            &[("x-api-key", &key), ("Content-Type", "application/json")],
            Some(br#"{"name":"broken", "environmentId": "#),
        )
        .await
        .unwrap();
        assert_eq!(r.status, 400);
        assert_eq!(r.text(), "Invalid JSON");
        assert_eq!(r.header("content-type"), None);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_method_and_unknown_procedure_are_404() {
    let sim = start().await;
    let key = sim.api_key();
    let base = sim.base_url();
    let expected = json!({"message":"Not found","code":"NOT_FOUND","data":{"code":"NOT_FOUND","httpStatus":404,"zodError":null}});
    let r = get(&sim, "application.update?applicationId=x").await;
    assert_eq!((r.status, r.json()), (404, expected.clone()));
    let r = post(&sim, "application.one", &json!({"applicationId": "x"})).await;
    assert_eq!((r.status, r.json()), (404, expected.clone()));
    let r = get(&sim, "application.doesNotExist").await;
    assert_eq!((r.status, r.json()), (404, expected));

    // paths ignore case and a trailing slash
    let r = get(&sim, "SETTINGS.getdokployversion/").await;
    assert_eq!((r.status, r.json()), (200, json!("v0.30.2")));
    assert_eq!(sim.call_count("settings.getDokployVersion"), 1);

    // mutations need a JSON content type
    let r = send(
        &base,
        "POST",
        "/api/project.create",
        &[("x-api-key", &key), ("Content-Type", "text/plain")],
        Some(b"{}"),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 415);
    assert_eq!(r.json()["code"], "UNSUPPORTED_MEDIA_TYPE");
    sim.shutdown().await;
}

#[tokio::test]
async fn resources_are_shaped_as_recorded() {
    let sim = start().await;
    let created = post(
        &sim,
        "project.create",
        &json!({"name": "contract", "description": "d"}),
    )
    .await
    .json();
    let project_id = created["project"]["projectId"].as_str().unwrap().to_string();
    assert_eq!(created["environment"]["name"], "production");
    assert_eq!(created["environment"]["isDefault"], true);
    assert_eq!(created["project"]["env"], "");
    let env_id = created["environment"]["environmentId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(env_id.len(), 21);

    let app = post(
        &sim,
        "application.create",
        &json!({"name": "web", "environmentId": env_id, "sourceType": "docker", "bogus": 1}),
    )
    .await
    .json();
    let app_id = app["applicationId"].as_str().unwrap().to_string();
    assert_eq!(app_id.len(), 21);
    assert_eq!(app["applicationStatus"], "idle");
    assert_eq!(app["env"], Value::Null);
    assert!(app.get("bogus").is_none());
    assert_eq!(
        app.as_object().unwrap().len(),
        101,
        "application row column count"
    );

    let r = post(
        &sim,
        "application.create",
        &json!({"name": "api", "environmentId": env_id, "appName": "my-api"}),
    )
    .await;
    let app_name = r.json()["appName"].as_str().unwrap().to_string();
    assert!(
        app_name.starts_with("my-api-") && app_name.len() == "my-api-".len() + 6,
        "{app_name}"
    );

    let r = post(
        &sim,
        "application.saveDockerProvider",
        &json!({"applicationId": app_id, "dockerImage": "nginx:1.27-alpine", "username": null, "password": null, "registryUrl": null}),
    )
    .await;
    assert_eq!((r.status, r.json()), (200, json!(true)));
    let r = post(
        &sim,
        "application.update",
        &json!({"applicationId": app_id, "replicas": 2, "serverId": "ignored"}),
    )
    .await;
    assert_eq!((r.status, r.json()), (200, json!(true)));

    let domain = post(
        &sim,
        "domain.create",
        &json!({"applicationId": app_id, "host": "web.example.test", "path": "/", "port": 80, "https": false, "certificateType": "none", "domainType": "application"}),
    )
    .await
    .json();
    assert_eq!(domain["uniqueConfigKey"], 1);
    assert_eq!(domain["enabled"], true);
    let domain_id = domain["domainId"].as_str().unwrap().to_string();

    let one = get(&sim, &format!("application.one?applicationId={app_id}"))
        .await
        .json();
    assert_eq!(one["dockerImage"], "nginx:1.27-alpine");
    assert_eq!(one["sourceType"], "docker");
    assert_eq!(one["replicas"], 2);
    assert_eq!(one["serverId"], Value::Null);
    assert_eq!(one["environment"]["project"]["projectId"], project_id.as_str());
    assert_eq!(one["domains"][0]["host"], "web.example.test");
    assert_eq!(one["hasGitProviderAccess"], true);
    for key in [
        "mounts",
        "redirects",
        "security",
        "ports",
        "previewDeployments",
        "deployments",
    ] {
        assert!(one[key].is_array(), "{key}");
    }

    let by_app = get(&sim, &format!("domain.byApplicationId?applicationId={app_id}"))
        .await
        .json();
    assert_eq!(
        by_app[0]["application"],
        json!({"applicationId": app_id, "appName": one["appName"], "name": "web"})
    );

    let services = get(&sim, "overview.services").await.json();
    assert_eq!(services.as_array().unwrap().len(), 2);
    let keys: Vec<&str> = services[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "id",
        "type",
        "name",
        "appName",
        "status",
        "createdAt",
        "serverId",
        "serverName",
        "icon",
        "projectId",
        "projectName",
        "environmentId",
        "environmentName",
        "lastDeployAt",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(services[0]["projectName"], "contract");
    assert_eq!(services[0]["lastDeployAt"], Value::Null);

    let domains = get(&sim, "overview.domains").await.json();
    assert_eq!(domains[0]["serviceOwnerId"], app_id.as_str());
    assert_eq!(domains[0]["serviceOwnerType"], "application");
    assert_eq!(domains[0]["serviceName"], "web");
    assert_eq!(domains[0].as_object().unwrap().len(), 17);

    let all = get(&sim, "project.all").await.json();
    assert_eq!(
        all[0]["environments"][0]["applications"][0],
        json!({"applicationId": app_id, "name": "web", "applicationStatus": "idle"})
    );

    let envs = get(&sim, &format!("environment.byProjectId?projectId={project_id}"))
        .await
        .json();
    assert_eq!(envs[0]["applications"].as_array().unwrap().len(), 2);
    let first = &envs[0]["applications"][0];
    let first_id = first["applicationId"].as_str().unwrap();
    assert!(first["appName"].is_string(), "{first}");
    assert_eq!(first["appName"], sim.service_json(first_id).unwrap()["appName"]);
    let env_one = get(&sim, &format!("environment.one?environmentId={env_id}"))
        .await
        .json();
    assert!(env_one["applications"][0].get("appName").is_none());
    assert_eq!(env_one["project"]["name"], "contract");

    let staging = post(
        &sim,
        "environment.create",
        &json!({"name": "staging", "projectId": project_id}),
    )
    .await
    .json();
    assert_eq!(staging["isDefault"], false);
    let r = post(
        &sim,
        "environment.create",
        &json!({"name": "production", "projectId": project_id}),
    )
    .await;
    assert_eq!(r.status, 400);

    // compose
    let compose = post(
        &sim,
        "compose.create",
        &json!({"name": "stack", "environmentId": env_id, "composeType": "docker-compose", "sourceType": "raw", "composeFile": "services: {}\n"}),
    )
    .await
    .json();
    let compose_id = compose["composeId"].as_str().unwrap().to_string();
    assert_eq!(compose["composeStatus"], "idle");
    let updated = post(
        &sim,
        "compose.update",
        &json!({"composeId": compose_id, "env": "NAME=peer", "description": "u"}),
    )
    .await
    .json();
    assert_eq!(updated["env"], "NAME=peer");
    assert_eq!(updated["description"], "u");
    assert!(
        updated.get("environment").is_none(),
        "compose.update returns the row only"
    );
    let one = get(&sim, &format!("compose.one?composeId={compose_id}"))
        .await
        .json();
    assert!(one["backups"].is_array());
    let r = post(&sim, "compose.deploy", &json!({"composeId": compose_id})).await;
    assert_eq!(
        r.json(),
        json!({"success": true, "message": "Deployment queued", "composeId": compose_id})
    );
    let finished = wait_deploy_finished(&sim, &compose_id).await;
    assert_eq!(finished["status"], "done");
    assert_eq!(finished["composeId"], compose_id.as_str());
    let by_compose = get(&sim, &format!("deployment.allByCompose?composeId={compose_id}"))
        .await
        .json();
    assert_eq!(by_compose.as_array().unwrap().len(), 1);
    let central = get(&sim, "deployment.allCentralized").await.json();
    assert_eq!(
        central[0]["compose"]["environment"]["project"]["name"],
        "contract"
    );
    assert_eq!(central[0]["application"], Value::Null);

    let r = post(&sim, "compose.delete", &json!({"composeId": compose_id})).await;
    assert_eq!(r.status, 400, "deleteVolumes is required");
    let r = post(
        &sim,
        "compose.delete",
        &json!({"composeId": compose_id, "deleteVolumes": false}),
    )
    .await;
    assert_eq!(r.json()["composeId"], compose_id.as_str());
    assert_eq!(
        get(&sim, &format!("compose.one?composeId={compose_id}"))
            .await
            .status,
        404
    );

    // deletes
    let r = post(&sim, "domain.delete", &json!({"domainId": domain_id})).await;
    assert_eq!(r.json()["host"], "web.example.test");
    let r = post(&sim, "domain.delete", &json!({"domainId": domain_id})).await;
    assert_eq!(r.status, 404);
    let r = post(&sim, "application.delete", &json!({"applicationId": app_id})).await;
    assert_eq!(r.json()["applicationId"], app_id.as_str());
    assert_eq!(
        get(&sim, &format!("application.one?applicationId={app_id}"))
            .await
            .status,
        404
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn env_is_stored_byte_for_byte() {
    let sim = start().await;
    let (_, app_id) = project_and_app(&sim, "nginx").await;
    let env = "A=1\r\n# comment\n  B = 'x y' \n\tC=\"é\\n\"\n\nexport D=${{project.X}}\n=odd\n";
    let r = post(
        &sim,
        "application.update",
        &json!({"applicationId": app_id, "env": env}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(sim.application_env(&app_id).as_deref(), Some(env));
    let one = get(&sim, &format!("application.one?applicationId={app_id}"))
        .await
        .json();
    assert_eq!(one["env"].as_str(), Some(env));

    let env2 = "ONLY=this\n\n\n";
    let r = post(
        &sim,
        "application.saveEnvironment",
        &json!({"applicationId": app_id, "env": env2, "buildArgs": null, "buildSecrets": null, "createEnvFile": true}),
    )
    .await;
    assert_eq!((r.status, r.json()), (200, json!(true)));
    assert_eq!(sim.application_env(&app_id).as_deref(), Some(env2));
    sim.shutdown().await;
}

#[tokio::test]
async fn deploy_answers_empty_and_records_running_then_done() {
    let sim = start().await;
    let (_, app_id) = project_and_app(&sim, "nginx").await;
    let r = post(
        &sim,
        "application.deploy",
        &json!({"applicationId": app_id, "title": "reconcile:1", "description": "gen 1"}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.body.is_empty());

    let list = get(&sim, &format!("deployment.all?applicationId={app_id}"))
        .await
        .json();
    assert_eq!(list[0]["status"], "running");
    assert_eq!(list[0]["title"], "reconcile:1");
    assert_eq!(list[0]["description"], "gen 1");
    assert_eq!(list[0]["finishedAt"], Value::Null);
    let one = get(&sim, &format!("application.one?applicationId={app_id}"))
        .await
        .json();
    assert_eq!(one["applicationStatus"], "running");

    let done = wait_deploy_finished(&sim, &app_id).await;
    assert_eq!(done["status"], "done");
    assert!(done["finishedAt"].is_string());
    let one = get(&sim, &format!("application.one?applicationId={app_id}"))
        .await
        .json();
    assert_eq!(one["applicationStatus"], "done");
    let services = get(&sim, "overview.services").await.json();
    assert_eq!(services[0]["lastDeployAt"], done["createdAt"]);

    // a second deploy without a title: default title, newest first
    post(&sim, "application.deploy", &json!({"applicationId": app_id})).await;
    wait_deploy_finished(&sim, &app_id).await;
    let list = get(&sim, &format!("deployment.all?applicationId={app_id}"))
        .await
        .json();
    assert_eq!(list[0]["title"], "Manual deployment");
    assert_eq!(list[0]["description"], "");
    assert_eq!(list[1]["title"], "reconcile:1");
    sim.shutdown().await;
}

#[tokio::test]
async fn deploys_queue_per_service_and_keep_about_ten() {
    let sim = common::start_with(Duration::from_millis(10)).await;
    let (_, app_id) = project_and_app(&sim, "nginx").await;
    for i in 0..13 {
        post(
            &sim,
            "application.deploy",
            &json!({"applicationId": app_id, "title": format!("d{i}")}),
        )
        .await;
    }
    // one runs at a time
    let running = sim
        .deployments(&app_id)
        .iter()
        .filter(|d| d["status"] == "running")
        .count();
    assert_eq!(running, 1);
    for _ in 0..200 {
        let list = sim.deployments(&app_id);
        if list
            .first()
            .is_some_and(|d| d["title"] == "d12" && d["status"] != "running")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let list = sim.deployments(&app_id);
    assert_eq!(list.len(), 11);
    assert_eq!(list[0]["title"], "d12");
    assert_eq!(list[10]["title"], "d2");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_queue_list_shows_the_running_job_and_those_waiting_behind_it() {
    // A queued job has no deployment row until it starts: deployment.queueList is where it shows.
    let sim = common::start_with(Duration::from_millis(300)).await;
    let (_, app_id) = project_and_app(&sim, "nginx").await;
    assert_eq!(get(&sim, "deployment.queueList").await.json(), json!([]));
    for title in ["first", "second"] {
        post(
            &sim,
            "application.deploy",
            &json!({"applicationId": app_id, "title": title}),
        )
        .await;
    }
    let rows = sim.deployments(&app_id);
    assert_eq!(rows.len(), 1, "only the running job has a row: {rows:?}");
    let queue = get(&sim, "deployment.queueList").await.json();
    let jobs = queue.as_array().unwrap();
    assert_eq!(jobs.len(), 2, "{queue}");
    let by_title = |t: &str| jobs.iter().find(|j| j["data"]["titleLog"] == t).unwrap().clone();
    assert_eq!(by_title("first")["state"], "active");
    assert_eq!(by_title("second")["state"], "waiting");
    for job in jobs {
        assert_eq!(job["data"]["applicationId"], app_id.as_str());
        assert_eq!(job["data"]["applicationType"], "application");
        assert!(job["id"].is_string() && job["timestamp"].is_number());
    }
    // Both run, one after the other; then the queue is empty.
    for _ in 0..100 {
        if get(&sim, "deployment.queueList").await.json() == json!([]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(get(&sim, "deployment.queueList").await.json(), json!([]));
    assert_eq!(sim.deployments(&app_id).len(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn deploy_errors_can_be_injected() {
    let sim = start().await;
    let (_, app_id) = project_and_app(&sim, "nginx").await;
    sim.set_deploy_outcome(&app_id, true);
    post(&sim, "application.deploy", &json!({"applicationId": app_id})).await;
    let d = wait_deploy_finished(&sim, &app_id).await;
    assert_eq!(d["status"], "error");
    assert_eq!(d["errorMessage"], Value::Null);
    let one = get(&sim, &format!("application.one?applicationId={app_id}"))
        .await
        .json();
    assert_eq!(one["applicationStatus"], "error");
    assert!(sim.app_url(&app_id).is_none(), "a failed deploy starts no app");

    sim.set_deploy_outcome(&app_id, false);
    sim.inject("application.deploy", launchplane_e2e::Fault::DeployError);
    post(&sim, "application.deploy", &json!({"applicationId": app_id})).await;
    assert_eq!(wait_deploy_finished(&sim, &app_id).await["status"], "error");

    sim.clear_faults();
    post(&sim, "application.deploy", &json!({"applicationId": app_id})).await;
    assert_eq!(wait_deploy_finished(&sim, &app_id).await["status"], "done");
    sim.shutdown().await;
}

#[tokio::test]
async fn deploy_without_an_image_fails() {
    let sim = start().await;
    let created = post(&sim, "project.create", &json!({"name": "p"})).await.json();
    let env_id = created["environment"]["environmentId"].as_str().unwrap();
    let app = post(
        &sim,
        "application.create",
        &json!({"name": "web", "environmentId": env_id}),
    )
    .await
    .json();
    let app_id = app["applicationId"].as_str().unwrap();
    post(&sim, "application.deploy", &json!({"applicationId": app_id})).await;
    assert_eq!(wait_deploy_finished(&sim, app_id).await["status"], "error");
    sim.shutdown().await;
}

#[tokio::test]
async fn out_of_band_edits_and_removal_show_through_the_api() {
    let sim = start().await;
    let (project_id, env_id) = sim.seed_project("shop");
    assert!(sim.seed_environment(&project_id, "staging").is_some());
    let app_id = sim
        .seed_application(
            &env_id,
            launchplane_e2e::SeedApplication {
                id: None,
                name: "web".into(),
                docker_image: Some("img:1".into()),
                env: Some("A=1".into()),
                domains: vec!["shop.test".into()],
                deployed: false,
                description: None,
            },
        )
        .unwrap();
    assert!(sim.edit(
        &app_id,
        launchplane_e2e::OutOfBandEdit {
            name: Some("renamed".into()),
            env: Some("A=2".into()),
            docker_image: Some("img:2".into())
        }
    ));
    let one = get(&sim, &format!("application.one?applicationId={app_id}"))
        .await
        .json();
    assert_eq!(
        (
            one["name"].clone(),
            one["env"].clone(),
            one["dockerImage"].clone()
        ),
        (json!("renamed"), json!("A=2"), json!("img:2"))
    );
    assert_eq!(sim.docker_image(&app_id).as_deref(), Some("img:2"));
    assert_eq!(one["domains"][0]["host"], "shop.test");
    assert!(sim.remove_service(&app_id));
    assert!(!sim.remove_service(&app_id));
    assert_eq!(
        get(&sim, &format!("application.one?applicationId={app_id}"))
            .await
            .status,
        404
    );
    assert_eq!(get(&sim, "overview.domains").await.json(), json!([]));
    assert!(!sim.edit(&app_id, launchplane_e2e::OutOfBandEdit::default()));
    sim.shutdown().await;
}

#[test]
fn the_simulator_can_be_shared_across_tasks() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<launchplane_e2e::DokploySim>();
}

#[tokio::test]
async fn version_and_urls() {
    let sim = start().await;
    assert_eq!(sim.version(), "v0.30.2");
    assert!(sim.base_url().starts_with("http://127.0.0.1:"));
    assert!(sim.ingress_url().starts_with("http://127.0.0.1:"));
    assert_ne!(sim.base_url(), sim.ingress_url());
    assert_eq!(sim.api_key(), "sim-api-key");
    let r = send(&sim.base_url(), "GET", "/api/health", &[], None)
        .await
        .unwrap();
    assert_eq!((r.status, r.json()), (200, json!({"ok": true})));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_seed_can_fix_an_application_id_unless_it_is_taken() {
    let sim = start().await;
    let (_, env) = sim.seed_project("shop");
    let fixed = |id: &str| launchplane_e2e::SeedApplication {
        id: Some(id.into()),
        name: "web".into(),
        domains: vec![format!("{id}.test")],
        ..Default::default()
    };
    let first = sim.seed_application(&env, fixed("app-fixed-1")).unwrap();
    assert_eq!(first, "app-fixed-1");
    let one = get(&sim, "application.one?applicationId=app-fixed-1").await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["applicationId"], "app-fixed-1");
    assert_eq!(one.json()["domains"][0]["host"], "app-fixed-1.test");

    let second = sim.seed_application(&env, fixed("app-fixed-1")).unwrap();
    assert_ne!(second, "app-fixed-1", "a taken id is not reused");
    sim.shutdown().await;
}

/// The mutation journal names the service each mutation acted on and its description just
/// before (where ownership markers live); reads and refused calls are not in it.
#[tokio::test]
async fn the_mutation_journal_records_whose_service_each_mutation_touched() {
    let sim = start().await;
    let (_env, app) = project_and_app(&sim, "nginx:1").await;
    let update = json!({"applicationId": app, "description": "made by hand"});
    assert_eq!(post(&sim, "application.update", &update).await.status, 200);
    let marked =
        json!({"applicationId": app, "description": "made by hand\nlaunchplane.dev/owner=i/ns/Lane/l/-"});
    assert_eq!(post(&sim, "application.update", &marked).await.status, 200);
    let domain = post(
        &sim,
        "domain.create",
        &json!({"applicationId": app, "host": "web.test", "port": 80, "https": false,
                "certificateType": "none", "domainType": "application"}),
    )
    .await
    .json();
    let domain_id = domain["domainId"].as_str().unwrap().to_string();
    assert_eq!(
        post(&sim, "domain.delete", &json!({"domainId": domain_id}))
            .await
            .status,
        200
    );
    assert_eq!(
        get(&sim, &format!("application.one?applicationId={app}"))
            .await
            .status,
        200
    );
    // Refused before it ran: not a mutation of anything.
    assert_eq!(post(&sim, "application.update", &json!({})).await.status, 400);

    let journal = sim.mutations();
    let touched: Vec<(&str, Option<&str>, Option<&str>)> = journal
        .iter()
        .map(|m| {
            (
                m.procedure.as_str(),
                m.service_id.as_deref(),
                m.description_before.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        touched,
        vec![
            ("project.create", None, None),
            ("application.create", Some(app.as_str()), None),
            ("application.saveDockerProvider", Some(app.as_str()), None),
            ("application.update", Some(app.as_str()), None),
            ("application.update", Some(app.as_str()), Some("made by hand")),
            (
                "domain.create",
                Some(app.as_str()),
                Some("made by hand\nlaunchplane.dev/owner=i/ns/Lane/l/-")
            ),
            (
                "domain.delete",
                Some(app.as_str()),
                Some("made by hand\nlaunchplane.dev/owner=i/ns/Lane/l/-")
            ),
        ]
    );
    assert!(journal.iter().all(|m| m.succeeded));
    assert_eq!(
        journal[4].description_sent.as_deref(),
        marked["description"].as_str()
    );
    sim.shutdown().await;
}

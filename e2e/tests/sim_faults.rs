//! Fault injection, call counts and the HTTP admin routes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{get, post, project_and_app, send, start, wait_deploy_finished};
use launchplane_e2e::Fault;
use serde_json::{Value, json};

#[tokio::test]
async fn latency_delays_the_answer() {
    let sim = start().await;
    sim.inject("project.all", Fault::Latency(Duration::from_millis(300)));
    let t = Instant::now();
    let r = get(&sim, "project.all").await;
    assert_eq!(r.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    let t = Instant::now();
    get(&sim, "overview.services").await;
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "other routes are not delayed"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn status_answers_with_an_envelope() {
    let sim = start().await;
    sim.inject("*", Fault::Status(503));
    let r = get(&sim, "overview.services").await;
    assert_eq!(r.status, 503);
    let body = r.json();
    assert_eq!(body["code"], "SERVICE_UNAVAILABLE");
    assert_eq!(body["data"]["httpStatus"], 503);
    assert_eq!(body["data"]["path"], "overview.services");
    sim.clear_faults();
    assert_eq!(get(&sim, "overview.services").await.status, 200);

    sim.inject("application.one", Fault::Status(500));
    let r = get(&sim, "application.one?applicationId=x").await;
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (500, json!("INTERNAL_SERVER_ERROR"))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn unauthorized_after_n_calls_models_an_exhausted_key() {
    let sim = start().await;
    sim.inject("*", Fault::UnauthorizedAfter(3));
    for _ in 0..3 {
        assert_eq!(get(&sim, "project.all").await.status, 200);
    }
    for _ in 0..2 {
        let r = get(&sim, "overview.services").await;
        assert_eq!(r.status, 401);
        assert_eq!(r.text(), r#"{"message":"Unauthorized"}"#);
    }
    sim.clear_faults();
    assert_eq!(get(&sim, "project.all").await.status, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_body_is_200_but_not_json() {
    let sim = start().await;
    sim.inject("settings.getDokployVersion", Fault::MalformedBody);
    let r = get(&sim, "settings.getDokployVersion").await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    sim.shutdown().await;
}

#[tokio::test]
async fn timeout_holds_the_connection() {
    let sim = start().await;
    sim.inject("application.one", Fault::Timeout);
    let key = sim.api_key();
    let held = tokio::time::timeout(
        Duration::from_millis(500),
        send(
            &sim.base_url(),
            "GET",
            "/api/application.one?applicationId=x",
            &[("x-api-key", &key)],
            None,
        ),
    )
    .await;
    assert!(held.is_err(), "no answer within the client's timeout");
    // other routes still answer
    assert_eq!(get(&sim, "project.all").await.status, 200);
    // shutdown releases held calls
    tokio::time::timeout(Duration::from_secs(5), sim.shutdown())
        .await
        .expect("shutdown does not hang");
}

#[tokio::test]
async fn deploy_error_fault_on_every_route() {
    let sim = start().await;
    let (_, app_id) = project_and_app(&sim, "img:1").await;
    sim.inject("*", Fault::DeployError);
    let r = post(&sim, "application.deploy", &json!({"applicationId": app_id})).await;
    assert_eq!(r.status, 200, "the deploy call itself succeeds");
    assert_eq!(wait_deploy_finished(&sim, &app_id).await["status"], "error");
    sim.shutdown().await;
}

#[tokio::test]
async fn calls_are_counted_by_procedure() {
    let sim = start().await;
    let (_, app_id) = project_and_app(&sim, "img:1").await;
    get(&sim, &format!("application.one?applicationId={app_id}")).await;
    get(&sim, &format!("APPLICATION.ONE?applicationId={app_id}")).await;
    post(&sim, "application.deploy", &json!({"applicationId": app_id})).await;
    // failures count too
    send(&sim.base_url(), "GET", "/api/project.all", &[], None)
        .await
        .unwrap();
    get(&sim, "nothing.here").await;
    assert_eq!(sim.call_count("application.one"), 2);
    assert_eq!(sim.call_count("application.deploy"), 1);
    assert_eq!(sim.call_count("project.create"), 1);
    assert_eq!(sim.call_count("project.all"), 1);
    assert_eq!(sim.call_count("overview.services"), 0);
    let counts = sim.call_counts();
    assert_eq!(counts.get("application.saveDockerProvider"), Some(&1));
    assert_eq!(counts.get("nothing.here"), Some(&1));
    sim.shutdown().await;
}

#[tokio::test]
async fn admin_routes_seed_fault_and_report() {
    let sim = start().await;
    let base = sim.base_url();
    let seed = json!({"projects": [{"name": "shop", "environments": [
        {"name": "production", "applications": [
            {"name": "web", "dockerImage": "web:1", "env": "LAUNCHPLANE_DEPLOYMENT_RECORD_ID=rec-9\n", "domains": ["web.test"], "deployed": true}],
         "compose": [{"name": "stack", "composeFile": "services: {}\n", "domains": ["stack.test"]}]},
        {"name": "staging", "applications": [{"name": "web-staging"}]}]}]});
    let r = send(
        &base,
        "POST",
        "/__sim/seed",
        &[("Content-Type", "application/json")],
        Some(seed.to_string().as_bytes()),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    let ids = r.json();
    let web = ids["services"]["web"].as_str().unwrap().to_string();
    assert_eq!(
        ids["projects"]["shop"]["environments"]["production"]["applications"]["web"],
        web.as_str()
    );
    assert!(ids["projects"]["shop"]["environments"]["staging"]["environmentId"].is_string());
    assert!(ids["domains"]["stack.test"].is_string());
    let ingress = sim.ingress_url();
    let h = common::get_app(&ingress, "/healthz", Some("web.test"))
        .await
        .unwrap();
    assert_eq!(h.header("x-launchplane-deployment"), Some("rec-9"));

    let fault = json!({"route": "project.all", "fault": {"kind": "status", "status": 502}});
    let r = send(
        &base,
        "POST",
        "/__sim/faults",
        &[("Content-Type", "application/json")],
        Some(fault.to_string().as_bytes()),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(get(&sim, "project.all").await.status, 502);
    let r = send(&base, "DELETE", "/__sim/faults", &[], None).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(get(&sim, "project.all").await.status, 200);

    let edit = json!({"serviceId": web, "dockerImage": "web:2"});
    let r = send(
        &base,
        "POST",
        "/__sim/edit",
        &[("Content-Type", "application/json")],
        Some(edit.to_string().as_bytes()),
    )
    .await
    .unwrap();
    assert_eq!(r.json(), json!({"ok": true}));
    assert_eq!(sim.docker_image(&web).as_deref(), Some("web:2"));

    let behaviour = json!({"serviceId": web, "behaviour": {"kind": "noIdentity"}});
    send(
        &base,
        "POST",
        "/__sim/app-behaviour",
        &[("Content-Type", "application/json")],
        Some(behaviour.to_string().as_bytes()),
    )
    .await
    .unwrap();
    let h = common::get_app(&ingress, "/healthz", Some("web.test"))
        .await
        .unwrap();
    assert_eq!(h.header("x-launchplane-deployment"), None);

    let calls = send(&base, "GET", "/__sim/calls", &[], None)
        .await
        .unwrap()
        .json();
    assert_eq!(calls["project.all"], 2);
    let apps = send(&base, "GET", "/__sim/apps", &[], None).await.unwrap().json();
    assert!(apps[&web].is_string());

    let r = send(
        &base,
        "POST",
        "/__sim/faults",
        &[("Content-Type", "application/json")],
        Some(b"{\"fault\":{\"kind\":\"nope\"}}"),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 400);
    sim.shutdown().await;
}

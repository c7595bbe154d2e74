//! The "containers" the simulator starts on deploy, the identity they serve, the ingress, and
//! the app behaviours.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{get_app, post, project_and_app, start, wait_deploy_finished};
use launchplane_e2e::{AppBehaviour, SeedApplication};
use serde_json::{Value, json};

fn identity_env(record: &str, artifact: &str) -> String {
    let identity =
        json!({"product": "shop", "context": "prod", "deploymentRecordId": record, "artifactId": artifact});
    format!(
        "# managed by launchplane\nUNRELATED=keep\nLAUNCHPLANE_RUNTIME_IDENTITY_JSON='{identity}'\nLAUNCHPLANE_DEPLOYMENT_RECORD_ID={record}\n"
    )
}

/// Seeds a running application `web` (domain `web.test`) serving identity `rec-1`/`art-1`.
fn deployed_web_app(sim: &launchplane_e2e::DokploySim) -> String {
    let (_, env_id) = sim.seed_project("shop");
    sim.seed_application(
        &env_id,
        SeedApplication {
            id: None,
            name: "web".into(),
            docker_image: Some("web:1".into()),
            env: Some(identity_env("rec-1", "art-1")),
            domains: vec!["web.test".into()],
            deployed: true,
            description: None,
        },
    )
    .unwrap()
}

async fn deploy_with_env(sim: &launchplane_e2e::DokploySim, app_id: &str, env: &str) {
    let r = post(
        sim,
        "application.update",
        &json!({"applicationId": app_id, "env": env}),
    )
    .await;
    assert_eq!(r.status, 200);
    post(sim, "application.deploy", &json!({"applicationId": app_id})).await;
    assert_eq!(wait_deploy_finished(sim, app_id).await["status"], "done");
}

#[tokio::test]
async fn a_deployed_app_serves_its_identity_on_all_three_surfaces() {
    let sim = start().await;
    let (_, app_id) = project_and_app(&sim, "shop:1").await;
    assert!(sim.app_url(&app_id).is_none());
    deploy_with_env(&sim, &app_id, &identity_env("rec-1", "art-1")).await;
    let url = sim.app_url(&app_id).expect("app runs after a done deploy");

    let health = get_app(&url, "/healthz", None).await.unwrap();
    assert_eq!(health.status, 200);
    assert_eq!(health.header("x-launchplane-deployment"), Some("rec-1"));
    let body = health.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["runtime_identity"]["artifactId"], "art-1");
    assert!(body["runtime_identity"].is_object());

    // any health path answers the same
    let other = get_app(&url, "/api/health", None).await.unwrap();
    assert_eq!(other.json()["runtime_identity"]["deploymentRecordId"], "rec-1");

    let well_known = get_app(&url, "/.well-known/launchplane-runtime.json", None)
        .await
        .unwrap();
    assert_eq!(well_known.status, 200);
    assert_eq!(well_known.header("x-launchplane-deployment"), Some("rec-1"));
    assert_eq!(well_known.json()["product"], "shop");
    sim.shutdown().await;
}

#[tokio::test]
async fn an_app_without_identity_env_serves_none() {
    let sim = start().await;
    let (_, app_id) = project_and_app(&sim, "shop:1").await;
    deploy_with_env(&sim, &app_id, "PORT=8080\n").await;
    let url = sim.app_url(&app_id).unwrap();
    let health = get_app(&url, "/healthz", None).await.unwrap();
    assert_eq!(health.json(), json!({"status": "ok"}));
    assert_eq!(health.header("x-launchplane-deployment"), None);
    assert_eq!(
        get_app(&url, "/.well-known/launchplane-runtime.json", None)
            .await
            .unwrap()
            .status,
        404
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn env_changes_reach_the_app_only_after_a_deploy() {
    let sim = start().await;
    let (_, app_id) = project_and_app(&sim, "shop:1").await;
    deploy_with_env(&sim, &app_id, &identity_env("rec-1", "art-1")).await;
    let url = sim.app_url(&app_id).unwrap();

    let r = post(
        &sim,
        "application.update",
        &json!({"applicationId": app_id, "env": identity_env("rec-2", "art-2")}),
    )
    .await;
    assert_eq!(r.status, 200);
    let health = get_app(&url, "/healthz", None).await.unwrap();
    assert_eq!(
        health.header("x-launchplane-deployment"),
        Some("rec-1"),
        "no deploy, no change"
    );
    assert_eq!(health.json()["runtime_identity"]["artifactId"], "art-1");

    // an out-of-band edit does not reach it either
    sim.edit(
        &app_id,
        launchplane_e2e::OutOfBandEdit {
            env: Some(identity_env("rec-x", "art-x")),
            ..Default::default()
        },
    );
    assert_eq!(
        get_app(&url, "/healthz", None)
            .await
            .unwrap()
            .header("x-launchplane-deployment"),
        Some("rec-1")
    );

    deploy_with_env(&sim, &app_id, &identity_env("rec-3", "art-3")).await;
    assert_eq!(
        sim.app_url(&app_id).as_deref(),
        Some(url.as_str()),
        "same port after a redeploy"
    );
    let health = get_app(&url, "/healthz", None).await.unwrap();
    assert_eq!(health.header("x-launchplane-deployment"), Some("rec-3"));
    assert_eq!(health.json()["runtime_identity"]["artifactId"], "art-3");

    // a failed deploy leaves the running app as it was
    sim.set_deploy_outcome(&app_id, true);
    let r = post(
        &sim,
        "application.update",
        &json!({"applicationId": app_id, "env": identity_env("rec-4", "art-4")}),
    )
    .await;
    assert_eq!(r.status, 200);
    post(&sim, "application.deploy", &json!({"applicationId": app_id})).await;
    assert_eq!(wait_deploy_finished(&sim, &app_id).await["status"], "error");
    assert_eq!(
        get_app(&url, "/healthz", None)
            .await
            .unwrap()
            .header("x-launchplane-deployment"),
        Some("rec-3")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_ingress_routes_by_host() {
    let sim = start().await;
    let (project_id, env_id) = sim.seed_project("shop");
    let _ = project_id;
    let a = sim
        .seed_application(
            &env_id,
            SeedApplication {
                id: None,
                name: "a".into(),
                docker_image: Some("a:1".into()),
                env: Some(identity_env("rec-a", "art-a")),
                domains: vec!["a.shop.test".into()],
                deployed: true,
                description: None,
            },
        )
        .unwrap();
    let b = sim
        .seed_application(
            &env_id,
            SeedApplication {
                id: None,
                name: "b".into(),
                docker_image: Some("b:1".into()),
                env: Some(identity_env("rec-b", "art-b")),
                domains: vec![],
                deployed: true,
                description: None,
            },
        )
        .unwrap();
    sim.add_domain(&b, "B.shop.test").unwrap();
    let ingress = sim.ingress_url();
    let ra = get_app(&ingress, "/healthz", Some("a.shop.test:443"))
        .await
        .unwrap();
    assert_eq!(ra.header("x-launchplane-deployment"), Some("rec-a"));
    let rb = get_app(&ingress, "/healthz", Some("b.shop.test")).await.unwrap();
    assert_eq!(rb.header("x-launchplane-deployment"), Some("rec-b"));
    assert_eq!(rb.json()["runtime_identity"]["artifactId"], "art-b");
    let unknown = get_app(&ingress, "/healthz", Some("nope.test")).await.unwrap();
    assert_eq!(unknown.status, 404);

    // the seeded deploy shows as a done deployment
    assert_eq!(sim.deployments(&a)[0]["status"], "done");

    // a domain on an app that was never deployed: the proxy has no backend
    let c = sim
        .seed_application(
            &env_id,
            SeedApplication {
                name: "c".into(),
                domains: vec!["c.test".into()],
                ..Default::default()
            },
        )
        .unwrap();
    assert!(sim.app_url(&c).is_none());
    assert_eq!(get_app(&ingress, "/", Some("c.test")).await.unwrap().status, 502);
    sim.shutdown().await;
}

#[tokio::test]
async fn app_behaviours_override_what_is_served() {
    let sim = start().await;
    let app = deployed_web_app(&sim);
    let url = sim.app_url(&app).unwrap();
    let ingress = sim.ingress_url();

    let stale = json!({"product": "shop", "deploymentRecordId": "rec-old", "artifactId": "art-old"});
    sim.set_app_behaviour(&app, AppBehaviour::StaleIdentity(stale.clone()));
    let h = get_app(&url, "/healthz", None).await.unwrap();
    assert_eq!(h.json()["runtime_identity"], stale);
    assert_eq!(h.header("x-launchplane-deployment"), Some("rec-old"));
    assert_eq!(
        get_app(&url, "/.well-known/launchplane-runtime.json", None)
            .await
            .unwrap()
            .json(),
        stale
    );

    sim.set_app_behaviour(&app, AppBehaviour::MalformedIdentity);
    let h = get_app(&url, "/healthz", None).await.unwrap();
    let ident = h.json()["runtime_identity"].clone();
    assert!(ident.is_string());
    assert!(serde_json::from_str::<Value>(ident.as_str().unwrap()).is_err());
    let wk = get_app(&url, "/.well-known/launchplane-runtime.json", None)
        .await
        .unwrap();
    assert_eq!(wk.status, 200);
    assert!(serde_json::from_slice::<Value>(&wk.body).is_err());

    sim.set_app_behaviour(&app, AppBehaviour::NoIdentity);
    let h = get_app(&url, "/healthz", None).await.unwrap();
    assert_eq!(h.json(), json!({"status": "ok"}));
    assert_eq!(h.header("x-launchplane-deployment"), None);
    assert_eq!(
        get_app(&url, "/.well-known/launchplane-runtime.json", None)
            .await
            .unwrap()
            .status,
        404
    );

    sim.set_app_behaviour(&app, AppBehaviour::Down);
    assert!(
        get_app(&url, "/healthz", None).await.is_err(),
        "a down app closes connections"
    );
    assert_eq!(
        get_app(&ingress, "/healthz", Some("web.test"))
            .await
            .unwrap()
            .status,
        502
    );

    sim.set_app_behaviour(&app, AppBehaviour::Normal);
    let h = get_app(&url, "/healthz", None).await.unwrap();
    assert_eq!(h.header("x-launchplane-deployment"), Some("rec-1"));
    assert_eq!(
        get_app(&ingress, "/healthz", Some("web.test"))
            .await
            .unwrap()
            .json()["runtime_identity"]["artifactId"],
        "art-1"
    );

    // deleting the application stops its app
    let r = post(&sim, "application.delete", &json!({"applicationId": app})).await;
    assert_eq!(r.status, 200);
    assert!(sim.app_url(&app).is_none());
    assert!(get_app(&url, "/healthz", None).await.is_err());
    assert_eq!(
        get_app(&ingress, "/healthz", Some("web.test"))
            .await
            .unwrap()
            .status,
        404
    );
    sim.shutdown().await;
}

/// Reads one HTTP/1.1 response (headers and a Content-Length body) from a kept-alive stream.
async fn read_one(
    stream: &mut tokio::io::BufReader<tokio::net::TcpStream>,
) -> (u16, Vec<(String, String)>, String) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let mut status_line = String::new();
    stream.read_line(&mut status_line).await.unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).await.unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').unwrap();
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .expect("the app answers with a Content-Length");
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.unwrap();
    (status, headers, String::from_utf8(body).unwrap())
}

#[tokio::test]
async fn apps_keep_connections_alive_until_they_go_down() {
    use tokio::io::AsyncWriteExt;
    let sim = start().await;
    let app = deployed_web_app(&sim);
    let addr = sim
        .app_url(&app)
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let mut conn = tokio::io::BufReader::new(tokio::net::TcpStream::connect(&addr).await.unwrap());

    for _ in 0..2 {
        conn.get_mut().write_all(request.as_bytes()).await.unwrap();
        let (status, headers, body) = read_one(&mut conn).await;
        assert_eq!(status, 200);
        assert!(
            !headers.iter().any(|(k, v)| k == "connection" && v == "close"),
            "{headers:?}"
        );
        assert!(body.contains("rec-1"), "{body}");
    }

    sim.set_app_behaviour(&app, AppBehaviour::Down);
    conn.get_mut().write_all(request.as_bytes()).await.unwrap();
    let (status, headers, _) = read_one(&mut conn).await;
    assert_eq!(
        status, 502,
        "a request already on the wire when the app went down"
    );
    assert!(
        headers.iter().any(|(k, v)| k == "connection" && v == "close"),
        "{headers:?}"
    );
    assert!(
        get_app(&format!("http://{addr}"), "/healthz", None)
            .await
            .is_err(),
        "new connections to a down app are dropped"
    );
    sim.shutdown().await;
}

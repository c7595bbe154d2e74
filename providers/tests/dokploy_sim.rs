//! The Dokploy client against the Dokploy simulator (`launchplane-e2e`): every operation, every
//! injected fault mapped to its typed error, env merges that keep unrelated bytes, secrets that
//! never reach an error or a log line, and no retried mutation. Compose runtime and schedule
//! calls are in `dokploy_sim/compose_schedules.rs`, container calls in `dokploy_sim/containers.rs`.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use launchplane_e2e::{DokploySim, Fault, OutOfBandEdit, SeedApplication, SeedCompose, SimConfig};
use launchplane_providers::{
    DeploymentStatus, DokployClient, DokployConfig, Provider, ProviderError, RateLimit, RegistryCredentials,
    RetryPolicy, SecretString, ServiceCategory, TargetCategory,
};

#[path = "dokploy_sim/compose_schedules.rs"]
mod compose_schedules;
#[path = "dokploy_sim/containers.rs"]
mod containers;

const APP_ENV: &str = "# app settings\r\nexport PUBLIC_URL=https://web.example.test\r\n\r\nDB_PASSWORD='s3cr3t-db-pass'\r\nLAUNCHPLANE_ARTIFACT_ID=old\r\nQUOTED=\"a # not a comment\"\r\nLAUNCHPLANE_STALE=x\r\n";

/// A simulator with its own API key, so that each test has its own rate-limit bucket and
/// success count (both are per key and process-wide).
async fn sim() -> DokploySim {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let api_key = format!(
        "sim-key-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    DokploySim::start(SimConfig {
        api_key,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn config(sim: &DokploySim) -> DokployConfig {
    launchplane_providers::install_crypto_provider();
    let mut cfg = DokployConfig::new(sim.base_url().to_string(), sim.api_key().to_string());
    cfg.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    };
    cfg.rate_limit = RateLimit {
        per_second: 1000.0,
        burst: 1000,
    };
    cfg.request_timeout = Duration::from_secs(5);
    cfg
}

fn client(sim: &DokploySim) -> DokployClient {
    DokployClient::new(config(sim)).unwrap()
}

struct Seeded {
    project_id: String,
    env_id: String,
    app: String,
    compose: String,
}

async fn seed(sim: &DokploySim) -> Seeded {
    let (project_id, env_id) = sim.seed_project("launchplane-test");
    let app = sim
        .seed_application(
            &env_id,
            SeedApplication {
                id: None,
                name: "web".into(),
                docker_image: Some("ghcr.io/acme/web:1.0.0".into()),
                env: Some(APP_ENV.into()),
                domains: vec!["web.example.test".into()],
                deployed: true,
                description: None,
            },
        )
        .unwrap();
    let compose = sim
        .seed_compose(
            &env_id,
            SeedCompose {
                name: "stack".into(),
                compose_file: "services:\n  whoami:\n    image: traefik/whoami:v1.10\n".into(),
                env: Some("NAME=peer\n".into()),
                domains: vec![],
                ..SeedCompose::default()
            },
        )
        .unwrap();
    Seeded {
        project_id,
        env_id,
        app,
        compose,
    }
}

fn secrets(pairs: &[(&str, &str)]) -> BTreeMap<String, SecretString> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), SecretString::new(*v)))
        .collect()
}

#[tokio::test]
async fn version_and_org_snapshot() {
    let sim = sim().await;
    let s = seed(&sim).await;
    let c = client(&sim);
    assert!(!c.version().await.unwrap().is_empty());
    let snap = c.observe_org().await.unwrap();
    let app = snap.services.iter().find(|x| x.id == s.app).unwrap();
    assert_eq!(app.category, ServiceCategory::Application);
    assert_eq!(app.name.as_deref(), Some("web"));
    assert_eq!(app.environment_id.as_deref(), Some(s.env_id.as_str()));
    assert_eq!(app.project_id.as_deref(), Some(s.project_id.as_str()));
    let compose = snap.services.iter().find(|x| x.id == s.compose).unwrap();
    assert_eq!(compose.category, ServiceCategory::Compose);
    let d = snap
        .domains
        .iter()
        .find(|d| d.host == "web.example.test")
        .unwrap();
    assert_eq!(d.service_owner_id.as_deref(), Some(s.app.as_str()));
    // Through the trait object, as the controller uses it.
    let p: Arc<dyn Provider> = Arc::new(c);
    assert_eq!(p.observe_org().await.unwrap().services.len(), snap.services.len());
}

/// `environment.byProjectId` lists every environment of a project, the empty ones too (which
/// `overview.services` cannot show); an unknown project is the 400 Dokploy turns every error
/// of this route into.
#[tokio::test]
async fn project_environments_include_empty_ones() {
    let sim = sim().await;
    let s = seed(&sim).await;
    let empty = sim.seed_environment(&s.project_id, "previews").unwrap();
    let c = client(&sim);
    let envs = c.project_environments(&s.project_id).await.unwrap();
    let found: Vec<(&str, Option<&str>, bool)> = envs
        .iter()
        .map(|e| (e.environment_id.as_str(), e.name.as_deref(), e.is_default))
        .collect();
    assert!(
        found.contains(&(s.env_id.as_str(), Some("production"), true)),
        "{found:?}"
    );
    assert!(
        found.contains(&(empty.as_str(), Some("previews"), false)),
        "{found:?}"
    );
    let listed = c.observe_org().await.unwrap();
    assert!(
        !listed
            .services
            .iter()
            .any(|x| x.environment_id.as_deref() == Some(empty.as_str())),
        "an empty environment is not in overview.services"
    );
    let err = c.project_environments("no-such-project").await.unwrap_err();
    assert!(
        matches!(err, ProviderError::BadRequest { status: 400, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("Project not found"), "{err}");
}

#[tokio::test]
async fn target_detail_of_application_and_compose() {
    let sim = sim().await;
    let s = seed(&sim).await;
    let c = client(&sim);
    let d = c
        .target_detail(TargetCategory::Application, &s.app)
        .await
        .unwrap();
    assert_eq!(d.id, s.app);
    assert_eq!(d.name.as_deref(), Some("web"));
    assert_eq!(d.image.as_deref(), Some("ghcr.io/acme/web:1.0.0"));
    assert_eq!(d.env.as_ref().map(SecretString::expose), Some(APP_ENV));
    assert_eq!(d.hosts(), ["web.example.test"]);
    assert_eq!(
        d.environment.as_ref().map(|e| e.id.as_str()),
        Some(s.env_id.as_str())
    );
    assert_eq!(
        d.project.as_ref().map(|p| (p.id.as_str(), p.name.as_deref())),
        Some((s.project_id.as_str(), Some("launchplane-test")))
    );
    let sim_app_name = sim.service_json(&s.app).unwrap()["appName"].clone();
    assert_eq!(d.app_name.as_deref(), sim_app_name.as_str());
    assert!(
        d.app_name.as_deref().is_some_and(|n| n.starts_with("app-")),
        "{:?}",
        d.app_name
    );
    assert!(d.env_keys().contains(&"DB_PASSWORD".to_owned()));
    let dbg = format!("{d:?}");
    assert!(!dbg.contains("s3cr3t-db-pass"), "{dbg}");

    let cd = c
        .target_detail(TargetCategory::Compose, &s.compose)
        .await
        .unwrap();
    assert_eq!(cd.name.as_deref(), Some("stack"));
    assert!(
        cd.compose_file
            .as_ref()
            .unwrap()
            .expose()
            .contains("traefik/whoami:v1.10")
    );
    assert_eq!(cd.env.as_ref().map(SecretString::expose), Some("NAME=peer\n"));
}

#[tokio::test]
async fn merge_env_keeps_every_unrelated_byte() {
    let sim = sim().await;
    let s = seed(&sim).await;
    let c = client(&sim);
    let before = sim.application_env(&s.app).unwrap();
    let set = secrets(&[
        ("LAUNCHPLANE_ARTIFACT_ID", "art-2"),
        ("LAUNCHPLANE_DEPLOYMENT_RECORD_ID", "rec-9"),
    ]);
    let remove: BTreeSet<String> = ["LAUNCHPLANE_STALE".to_owned()].into();
    let change = c
        .merge_env(TargetCategory::Application, &s.app, set.clone(), remove.clone())
        .await
        .unwrap();
    assert!(change.written);
    assert_eq!(change.added, ["LAUNCHPLANE_DEPLOYMENT_RECORD_ID"]);
    assert_eq!(change.updated, ["LAUNCHPLANE_ARTIFACT_ID"]);
    assert_eq!(change.removed, ["LAUNCHPLANE_STALE"]);
    let after = sim.application_env(&s.app).unwrap();
    let expected = before
        .replace(
            "LAUNCHPLANE_ARTIFACT_ID=old\r\n",
            "LAUNCHPLANE_ARTIFACT_ID=art-2\r\n",
        )
        .replace("LAUNCHPLANE_STALE=x\r\n", "")
        + "LAUNCHPLANE_DEPLOYMENT_RECORD_ID=rec-9\r\n";
    assert_eq!(after, expected);

    // A second identical merge changes nothing and sends no write.
    let writes = sim.call_count("application.update");
    let change = c
        .merge_env(TargetCategory::Application, &s.app, set, remove)
        .await
        .unwrap();
    assert!(!change.written);
    assert_eq!(sim.call_count("application.update"), writes);
    assert_eq!(sim.application_env(&s.app).unwrap(), after);
}

#[tokio::test]
async fn merge_env_on_compose() {
    let sim = sim().await;
    let s = seed(&sim).await;
    let c = client(&sim);
    let change = c
        .merge_env(
            TargetCategory::Compose,
            &s.compose,
            secrets(&[("EXTRA", "two words")]),
            BTreeSet::new(),
        )
        .await
        .unwrap();
    assert!(change.written);
    let d = c
        .target_detail(TargetCategory::Compose, &s.compose)
        .await
        .unwrap();
    assert_eq!(d.env.unwrap().expose(), "NAME=peer\nEXTRA='two words'\n");
}

#[tokio::test]
async fn set_image_public_and_private() {
    let sim = sim().await;
    let s = seed(&sim).await;
    let c = client(&sim);
    c.set_image(&s.app, "ghcr.io/acme/web:2.0.0", None).await.unwrap();
    assert_eq!(
        sim.docker_image(&s.app).as_deref(),
        Some("ghcr.io/acme/web:2.0.0")
    );
    let creds = RegistryCredentials {
        username: "robot".into(),
        password: SecretString::new("registry-pass-777"),
        registry_url: Some("ghcr.io".into()),
    };
    c.set_image(&s.app, "ghcr.io/acme/private:1", Some(creds))
        .await
        .unwrap();
    let d = c
        .target_detail(TargetCategory::Application, &s.app)
        .await
        .unwrap();
    assert_eq!(d.image.as_deref(), Some("ghcr.io/acme/private:1"));
    assert_eq!(d.registry_username.as_deref(), Some("robot"));
    assert!(d.has_registry_password);
    assert!(!format!("{d:?}").contains("registry-pass-777"));
}

#[tokio::test]
async fn set_description_changes_only_the_description() {
    let sim = sim().await;
    let s = seed(&sim).await;
    let c = client(&sim);
    let before = c
        .target_detail(TargetCategory::Application, &s.app)
        .await
        .unwrap();
    let description = "made by hand\nlaunchplane.dev/owner=i/ns/Lane/web/-";
    c.set_description(TargetCategory::Application, &s.app, description)
        .await
        .unwrap();
    assert_eq!(sim.call_count("application.update"), 1);
    let after = c
        .target_detail(TargetCategory::Application, &s.app)
        .await
        .unwrap();
    assert_eq!(after.description.as_deref(), Some(description));
    assert_eq!(after.image, before.image);
    assert_eq!(after.env, before.env);
    assert_eq!(after.source_type, before.source_type);
    // Dokploy answers an unknown application with 400 "Error updating application".
    assert!(matches!(
        c.set_description(TargetCategory::Application, "doesNotExist123", "x")
            .await,
        Err(ProviderError::BadRequest { .. })
    ));
}

#[tokio::test]
async fn set_description_of_a_compose_keeps_its_file_and_env_byte_for_byte() {
    let sim = sim().await;
    let s = seed(&sim).await;
    let c = client(&sim);
    let before = c
        .target_detail(TargetCategory::Compose, &s.compose)
        .await
        .unwrap();
    let description = "odoo stack\nlaunchplane.dev/owner=i/ns/Lane/prod/-";
    c.set_description(TargetCategory::Compose, &s.compose, description)
        .await
        .unwrap();
    assert_eq!(sim.call_count("compose.update"), 1);
    let after = c
        .target_detail(TargetCategory::Compose, &s.compose)
        .await
        .unwrap();
    assert_eq!(after.description.as_deref(), Some(description));
    assert_eq!(
        after.compose_file.as_ref().map(|f| f.expose().to_owned()),
        before.compose_file.as_ref().map(|f| f.expose().to_owned())
    );
    assert_eq!(after.env, before.env);
}

#[tokio::test]
async fn update_compose_file() {
    let sim = sim().await;
    let s = seed(&sim).await;
    let c = client(&sim);
    let file = "services:\n  whoami:\n    image: traefik/whoami:v1.11\n";
    c.update_compose_file(&s.compose, file).await.unwrap();
    let d = c
        .target_detail(TargetCategory::Compose, &s.compose)
        .await
        .unwrap();
    assert_eq!(d.compose_file.unwrap().expose(), file);
    assert_eq!(d.source_type.as_deref(), Some("raw"));
}

async fn wait_for_deployment(
    c: &DokployClient,
    category: TargetCategory,
    id: &str,
    title: &str,
) -> launchplane_providers::Deployment {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(d) = c.find_deployment(category, id, title).await.unwrap()
            && d.status.is_terminal()
        {
            return d;
        }
        assert!(Instant::now() < deadline, "deployment {title} did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn deploy_and_find_deployment() {
    let sim = sim().await;
    let s = seed(&sim).await;
    let c = client(&sim);
    assert!(
        c.find_deployment(TargetCategory::Application, &s.app, "reconcile:1")
            .await
            .unwrap()
            .is_none()
    );
    c.deploy(TargetCategory::Application, &s.app, "reconcile:1", "launchplane")
        .await
        .unwrap();
    let d = wait_for_deployment(&c, TargetCategory::Application, &s.app, "reconcile:1").await;
    assert_eq!(d.status, DeploymentStatus::Done);
    assert_eq!(d.title.as_deref(), Some("reconcile:1"));

    sim.set_deploy_outcome(&s.app, true);
    c.deploy(TargetCategory::Application, &s.app, "reconcile:2", "launchplane")
        .await
        .unwrap();
    let d = wait_for_deployment(&c, TargetCategory::Application, &s.app, "reconcile:2").await;
    assert_eq!(d.status, DeploymentStatus::Error);

    c.deploy(TargetCategory::Compose, &s.compose, "reconcile:c1", "launchplane")
        .await
        .unwrap();
    let d = wait_for_deployment(&c, TargetCategory::Compose, &s.compose, "reconcile:c1").await;
    assert!(d.status.is_terminal());
    assert_eq!(sim.call_count("application.deploy"), 2);
    assert_eq!(sim.call_count("compose.deploy"), 1);
}

#[tokio::test]
async fn create_and_delete_application_and_domain() {
    let sim = sim().await;
    let s = seed(&sim).await;
    let c = client(&sim);
    let id = c
        .create_application(
            &s.env_id,
            "preview-42",
            None,
            Some("made by Launchplane\nlaunchplane.dev/owner=x"),
        )
        .await
        .unwrap();
    let d = c.target_detail(TargetCategory::Application, &id).await.unwrap();
    assert_eq!(d.name.as_deref(), Some("preview-42"));
    assert_eq!(d.source_type.as_deref(), Some("docker"));
    // The description (where the ownership marker lives) comes back from application.one.
    assert_eq!(
        d.description.as_deref(),
        Some("made by Launchplane\nlaunchplane.dev/owner=x")
    );
    let id2 = c
        .create_application(&s.env_id, "preview-43", Some("preview-43-app"), None)
        .await
        .unwrap();
    assert_ne!(id, id2);

    let dom = c
        .create_domain(&id, "pr-42.preview.example.test", 8080, false, Some("/"))
        .await
        .unwrap();
    let dom2 = c
        .create_domain(&id, "pr-42-tls.preview.example.test", 443, true, None)
        .await
        .unwrap();
    let snap = c.observe_org().await.unwrap();
    assert!(
        snap.domains
            .iter()
            .any(|d| d.domain_id == dom && d.service_owner_id.as_deref() == Some(id.as_str()))
    );
    let detail = c.target_detail(TargetCategory::Application, &id).await.unwrap();
    let https = detail.domains.iter().find(|d| d.domain_id == dom2).unwrap();
    assert!(https.https);
    assert_eq!(https.port, Some(443));

    c.delete_domain(&dom).await.unwrap();
    c.delete_domain(&dom).await.unwrap(); // already gone
    c.delete_application(&id).await.unwrap();
    c.delete_application(&id).await.unwrap(); // already gone
    let e = c
        .target_detail(TargetCategory::Application, &id)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::NotFound {
                route: "application.one",
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn out_of_band_changes_are_observed() {
    let sim = sim().await;
    let s = seed(&sim).await;
    let c = client(&sim);
    assert!(sim.edit(
        &s.app,
        OutOfBandEdit {
            name: Some("renamed".into()),
            env: Some("ONLY=this\n".into()),
            docker_image: Some("evil/image:latest".into()),
        }
    ));
    let d = c
        .target_detail(TargetCategory::Application, &s.app)
        .await
        .unwrap();
    assert_eq!(d.name.as_deref(), Some("renamed"));
    assert_eq!(d.image.as_deref(), Some("evil/image:latest"));
    assert_eq!(d.env.unwrap().expose(), "ONLY=this\n");
    sim.remove_service(&s.app);
    let e = c
        .target_detail(TargetCategory::Application, &s.app)
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(
        !c.observe_org()
            .await
            .unwrap()
            .services
            .iter()
            .any(|x| x.id == s.app)
    );
}

#[tokio::test]
async fn faults_map_to_typed_errors() {
    let sim = sim().await;
    let s = seed(&sim).await;
    let c = client(&sim);

    sim.inject("overview.services", Fault::Status(500));
    let e = c.observe_org().await.unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Server {
                route: "overview.services",
                status: 500,
                ..
            }
        ),
        "{e}"
    );
    sim.clear_faults();

    sim.inject("application.one", Fault::Status(404));
    let e = c
        .target_detail(TargetCategory::Application, &s.app)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::NotFound {
                route: "application.one",
                ..
            }
        ),
        "{e}"
    );
    sim.clear_faults();

    sim.inject("overview.domains", Fault::MalformedBody);
    let e = c.observe_org().await.unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Malformed {
                route: "overview.domains",
                ..
            }
        ),
        "{e}"
    );
    sim.clear_faults();

    sim.inject("application.one", Fault::Status(429));
    let e = c
        .target_detail(TargetCategory::Application, &s.app)
        .await
        .unwrap_err();
    assert!(matches!(e, ProviderError::Throttled { .. }), "{e}");
    sim.clear_faults();

    sim.inject("application.one", Fault::Status(409));
    let e = c
        .target_detail(TargetCategory::Application, &s.app)
        .await
        .unwrap_err();
    assert!(matches!(e, ProviderError::Conflict { .. }), "{e}");
    sim.clear_faults();

    // Latency inside the timeout is just slow.
    sim.inject("application.one", Fault::Latency(Duration::from_millis(300)));
    let started = Instant::now();
    c.target_detail(TargetCategory::Application, &s.app)
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    sim.clear_faults();
}

#[tokio::test]
async fn timeout_is_unreachable_within_the_configured_timeout() {
    let sim = sim().await;
    let s = seed(&sim).await;
    let mut cfg = config(&sim);
    cfg.request_timeout = Duration::from_millis(400);
    cfg.retry = RetryPolicy::none();
    let c = DokployClient::new(cfg).unwrap();
    sim.inject("application.one", Fault::Timeout);
    let started = Instant::now();
    let e = c
        .target_detail(TargetCategory::Application, &s.app)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(
            e,
            ProviderError::Unreachable {
                route: "application.one",
                ..
            }
        ),
        "{e}"
    );
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_millis(1400),
        "{took:?}"
    );

    // Latency above the timeout is a timeout too.
    sim.clear_faults();
    sim.inject("application.one", Fault::Latency(Duration::from_secs(3)));
    let e = c
        .target_detail(TargetCategory::Application, &s.app)
        .await
        .unwrap_err();
    assert!(matches!(e, ProviderError::Unreachable { .. }), "{e}");
}

#[tokio::test]
async fn unauthorized_on_first_contact_throttled_after_successes() {
    let sim = sim().await;
    let s = seed(&sim).await;

    // A wrong key that has never worked: Unauthorized.
    let mut cfg = config(&sim);
    cfg.api_key = SecretString::new(format!("wrong-key-{}", std::process::id()));
    let bad = DokployClient::new(cfg).unwrap();
    let e = bad.version().await.unwrap_err();
    assert!(matches!(e, ProviderError::Unauthorized { .. }), "{e}");
    assert!(!e.to_string().contains("wrong-key"), "{e}");

    // The real key works a few times, then Dokploy starts answering 401: Throttled.
    let c = client(&sim);
    sim.inject("application.one", Fault::UnauthorizedAfter(2));
    c.target_detail(TargetCategory::Application, &s.app)
        .await
        .unwrap();
    c.target_detail(TargetCategory::Application, &s.app)
        .await
        .unwrap();
    let e = c
        .target_detail(TargetCategory::Application, &s.app)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Throttled {
                route: "application.one",
                ..
            }
        ),
        "{e}"
    );
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn deploys_are_never_retried_reads_are() {
    let sim = sim().await;
    let s = seed(&sim).await;
    let c = client(&sim);
    sim.inject("application.deploy", Fault::Status(500));
    sim.inject("application.one", Fault::Status(500));
    let e = c
        .deploy(TargetCategory::Application, &s.app, "reconcile:x", "d")
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Server {
                route: "application.deploy",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(sim.call_count("application.deploy"), 1);
    let before = sim.call_count("application.one");
    let e = c
        .target_detail(TargetCategory::Application, &s.app)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Server {
                route: "application.one",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(sim.call_count("application.one") - before, 3);

    // A timed-out deploy is not retried either.
    sim.clear_faults();
    let mut cfg = config(&sim);
    cfg.request_timeout = Duration::from_millis(300);
    let slow = DokployClient::new(cfg).unwrap();
    sim.inject("application.deploy", Fault::Timeout);
    let e = slow
        .deploy(TargetCategory::Application, &s.app, "reconcile:y", "d")
        .await
        .unwrap_err();
    assert!(matches!(e, ProviderError::Unreachable { .. }), "{e}");
    assert_eq!(sim.call_count("application.deploy"), 2);
}

/// A `MakeWriter` that keeps every formatted log line.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The process-wide log capture, installed once as the global subscriber. A scoped
/// (thread-local) subscriber missed events now and then: the other tests of this binary run on
/// other threads, and a callsite they reach first is cached as "never interesting". Every
/// test's provider events land here, which only makes the no-secret check stricter.
fn capture() -> Capture {
    static CAPTURE: std::sync::OnceLock<Capture> = std::sync::OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            use tracing_subscriber::layer::SubscriberExt;
            let cap = Capture::default();
            // Only this crate's (and the HTTP stack's) events: the simulator's own logs are
            // its business.
            let targets = tracing_subscriber::filter::Targets::new()
                .with_target("launchplane_providers", tracing::Level::TRACE)
                .with_target("reqwest", tracing::Level::TRACE)
                .with_target("hyper", tracing::Level::TRACE)
                .with_target("hyper_util", tracing::Level::TRACE);
            let subscriber = tracing_subscriber::registry()
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_writer(cap.clone())
                        .with_ansi(false),
                )
                .with(targets);
            tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
            cap
        })
        .clone()
}

#[tokio::test]
async fn secrets_reach_no_error_no_log_line_and_no_debug() {
    let cap = capture();

    let sim = sim().await;
    let s = seed(&sim).await;
    let api_key = sim.api_key().to_string();
    let c = client(&sim);
    let env_secret = "env-secret-value-5150";
    let reg_secret = "registry-password-8675309";
    let mut texts = Vec::new();
    fn record(texts: &mut Vec<String>, e: ProviderError) {
        texts.push(format!("{e} | {e:?}"));
    }

    // Successful operations carrying secrets.
    c.merge_env(
        TargetCategory::Application,
        &s.app,
        secrets(&[("API_TOKEN", env_secret)]),
        BTreeSet::new(),
    )
    .await
    .unwrap();
    let creds = RegistryCredentials {
        username: "robot".into(),
        password: SecretString::new(reg_secret),
        registry_url: None,
    };
    c.set_image(&s.app, "ghcr.io/acme/web:3", Some(creds.clone()))
        .await
        .unwrap();
    let detail = c
        .target_detail(TargetCategory::Application, &s.app)
        .await
        .unwrap();
    texts.push(format!("{detail:?}"));
    texts.push(format!("{creds:?}"));
    texts.push(format!("{:?}", config(&sim)));
    texts.push(format!("{c:?}"));

    // Failing operations carrying secrets, every fault kind.
    for fault in [
        Fault::Status(500),
        Fault::Status(400),
        Fault::MalformedBody,
        Fault::Status(401),
    ] {
        sim.clear_faults();
        sim.inject("application.update", fault.clone());
        sim.inject("application.saveDockerProvider", fault.clone());
        sim.inject("application.one", fault);
        if let Err(e) = c
            .merge_env(
                TargetCategory::Application,
                &s.app,
                secrets(&[("API_TOKEN", "another-secret-value-1")]),
                BTreeSet::new(),
            )
            .await
        {
            record(&mut texts, e);
        }
        if let Err(e) = c.set_image(&s.app, "img:1", Some(creds.clone())).await {
            record(&mut texts, e);
        }
        if let Err(e) = c.target_detail(TargetCategory::Application, &s.app).await {
            record(&mut texts, e);
        }
    }
    sim.clear_faults();
    let mut bad_cfg = config(&sim);
    bad_cfg.api_key = SecretString::new("definitely-wrong-api-key-31337");
    let bad = DokployClient::new(bad_cfg).unwrap();
    if let Err(e) = bad.observe_org().await {
        record(&mut texts, e);
    }
    assert!(texts.len() > 8, "not enough errors to inspect: {texts:?}");

    let logs = String::from_utf8(cap.0.lock().unwrap().clone()).unwrap();
    // The capture works: it saw the provider's spans and events, with routes and outcomes.
    assert!(
        logs.contains("dokploy call failed"),
        "the capture saw no provider log line: {logs}"
    );
    assert!(logs.contains("route=\"application.update\""), "{logs}");
    assert!(logs.contains("outcome=\"server\""), "{logs}");
    for secret in [
        env_secret,
        reg_secret,
        "another-secret-value-1",
        "s3cr3t-db-pass",
        &api_key,
        "definitely-wrong-api-key-31337",
    ] {
        assert!(!logs.contains(secret), "log leaks {secret}:\n{logs}");
        for t in &texts {
            assert!(!t.contains(secret), "error/debug leaks {secret}: {t}");
        }
    }
}

#[tokio::test]
async fn clients_with_one_key_share_one_rate_limit() {
    let sim = sim().await;
    let mut cfg = config(&sim);
    cfg.rate_limit = RateLimit {
        per_second: 20.0,
        burst: 2,
    };
    let a = DokployClient::new(cfg.clone()).unwrap();
    let b = DokployClient::new(cfg).unwrap();
    let started = Instant::now();
    tokio::join!(
        async {
            for _ in 0..6 {
                a.version().await.unwrap();
            }
        },
        async {
            for _ in 0..6 {
                b.version().await.unwrap();
            }
        }
    );
    // 12 calls, 2 free, 20/s: at least (12 - 2) / 20 = 0.5 s, whichever client made them.
    assert!(
        started.elapsed() >= Duration::from_millis(480),
        "{:?}",
        started.elapsed()
    );
}

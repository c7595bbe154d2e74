//! Fault suite: secrets stay secret. A seeded Dokploy env value, the API key and a Secret
//! manifest value must appear in no log line (everything Launchplane and its HTTP stack log,
//! down to trace level, captured into a buffer), no status, no error and no output of the
//! real `launchplane reconcile` binary, on the happy path and through faults.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fault_support;

use fault_support::*;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane_api::resources::{IdentityEndpoint, IdentityFields, RuntimeIdentity, RuntimeIdentitySpec};
use launchplane_core::runtime_identity;
use launchplane_e2e::sim::Fault;
use launchplane_providers::{DokployClient, DokployConfig, SecretValue, TargetCategory as Category};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

// === log capture: one global subscriber for this test binary, at trace level ===

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

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

fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    LOGS.get_or_init(|| {
        use tracing_subscriber::util::SubscriberInitExt;
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        // Everything (hyper, reqwest, kube, our crates) except the simulator, which is the
        // stand-in for Dokploy, not Launchplane.
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("trace,launchplane_e2e=off"))
            .with_writer(move || Capture(writer.clone()))
            .with_ansi(false)
            .finish()
            .try_init()
            .expect("the only subscriber");
        buffer
    })
    .clone()
}

fn logs() -> String {
    String::from_utf8_lossy(&capture_logs().lock().unwrap()).into_owned()
}

fn assert_hidden(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "{what} leaks a secret ({} chars): …{}…",
            secret.len(),
            text.find(secret)
                .map(|i| &text[i.saturating_sub(80)..(i + secret.len() + 20).min(text.len())])
                .unwrap_or_default()
        );
    }
}

fn identity_env(extra_secret: &str) -> String {
    format!(
        "DATABASE_PASSWORD={extra_secret}\n\
         LAUNCHPLANE_RUNTIME_IDENTITY_JSON='{{\"product\":\"shop\",\"context\":\"prod\",\"deploymentRecordId\":\"rec-1\"}}'\n\
         LAUNCHPLANE_DEPLOYMENT_RECORD_ID=rec-1\n"
    )
}

fn identity(base_url: &str) -> RuntimeIdentity {
    let mut ri = RuntimeIdentity::new(
        "web-0",
        RuntimeIdentitySpec {
            expected: IdentityFields {
                product: Some("shop".into()),
                context: Some("prod".into()),
                deployment_record_id: Some("rec-1".into()),
                ..IdentityFields::default()
            },
            endpoint: IdentityEndpoint {
                base_url: base_url.into(),
                health_path: "/healthz".into(),
            },
            ..RuntimeIdentitySpec::default()
        },
    );
    ri.metadata.namespace = Some(NS.into());
    ri
}

#[tokio::test]
async fn secrets_reach_no_log_status_or_error_in_the_controller() {
    let logs_buffer = capture_logs();
    const KEY: &str = "lpkey-ZX81-controller-s3cret-0042";
    const ENV_SECRET: &str = "env-value-Q7-hunter2-s3cret";
    const NEW_SECRET: &str = "rotated-value-M3-s3cret";
    let secrets = [KEY, ENV_SECRET, NEW_SECRET];

    // The capture works: a canary logged here is found.
    tracing::info!(canary = "canary-4711", "capture check");
    assert!(logs().contains("canary-4711"));

    let (sim, ids, targets) = seeded_with(KEY, &identity_env(ENV_SECRET), true).await;
    let app_url = sim.app_url(&ids[0]).unwrap();
    let h = Harness::with(sim, KEY, None, targets);
    let mut texts: Vec<(String, String)> = Vec::new();

    // Happy path: statuses carry env key names, never values.
    let (_, status) = h.reconcile().await;
    assert_eq!(status["verdict"], "Matched", "{status}");
    texts.push(("ProviderConfig status".into(), status.to_string()));
    let view = h.ctx.world.providers.view(&format!("{NS}/main")).unwrap();
    let window = view.snapshot.window(&view.settings);
    for t in &h.targets {
        let s = launchplane_core::provider_target::reconcile(t, &window, &[], h.ctx.world.now()).status;
        let json = serde_json::to_string(&s).unwrap();
        assert!(
            json.contains("DATABASE_PASSWORD"),
            "the env key names are observed: {json}"
        );
        texts.push(("ProviderTarget status".into(), json));
    }
    let prober = Prober::new(ProberConfig::default()).unwrap();
    let ri = identity(&app_url);
    let probe = prober.probe(&runtime_identity::probe_target(&ri.spec)).await;
    let ri_status = runtime_identity::reconcile(&ri, Some(&probe), h.ctx.world.now()).status;
    assert_eq!(
        ri_status.verdict,
        Some(launchplane_api::Verdict::Matched),
        "{ri_status:?}"
    );
    texts.push((
        "RuntimeIdentity status".into(),
        serde_json::to_string(&ri_status).unwrap(),
    ));

    // Writing a secret env value, with the write failing: the error names no value.
    let client = DokployClient::new(DokployConfig::new(h.sim.base_url(), KEY.to_string())).unwrap();
    let set = BTreeMap::from([("DATABASE_PASSWORD".to_string(), SecretValue::new(NEW_SECRET))]);
    h.sim.inject("application.update", Fault::Status(500));
    let error = client
        .merge_env(Category::Application, &ids[0], set.clone(), BTreeSet::new())
        .await
        .unwrap_err();
    texts.push(("merge_env error".into(), format!("{error} {error:?}")));
    h.sim.clear_faults();
    let change = client
        .merge_env(Category::Application, &ids[0], set, BTreeSet::new())
        .await
        .unwrap();
    texts.push(("merge_env outcome".into(), format!("{change:?}")));
    // A key Dokploy refuses: the error names the failure, not the key.
    let wrong = DokployClient::new(DokployConfig::new(h.sim.base_url(), format!("{KEY}-wrong"))).unwrap();
    let error = wrong.version().await.unwrap_err();
    texts.push(("refused-key error".into(), format!("{error} {error:?}")));
    texts.push(("client Debug".into(), format!("{client:?}")));

    // Faults: every status and message written on the way.
    for fault in [
        Fault::Status(503),
        Fault::MalformedBody,
        Fault::UnauthorizedAfter(0),
    ] {
        h.sim.clear_faults();
        h.sim.inject("*", fault.clone());
        h.next_poll();
        let (_, status) = h.reconcile().await;
        assert_ne!(status["verdict"], "Matched", "{fault:?}: {status}");
        texts.push((
            format!("ProviderConfig status under {fault:?}"),
            status.to_string(),
        ));
        for (_, reason, message) in h.target_verdicts() {
            texts.push((
                format!("ProviderTarget under {fault:?}"),
                format!("{reason} {message}"),
            ));
        }
    }
    // Every status patch the controller sent to the API server.
    for (path, body) in h.server.patches.lock().unwrap().iter() {
        texts.push((format!("patch {path}"), body.to_string()));
    }

    for (what, text) in &texts {
        assert_hidden(what, text, &secrets);
    }
    let captured = String::from_utf8_lossy(&logs_buffer.lock().unwrap()).into_owned();
    assert!(
        captured.contains("dokploy call"),
        "the Dokploy client's logs were captured"
    );
    assert_hidden("the logs", &captured, &secrets);
    h.sim.shutdown().await;
}

// === the real binary in standalone mode ===

fn run_binary(dir: &Path, state: &Path, output: &str, rust_log: &str) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_launchplane"))
        .args(["reconcile", "-f"])
        .arg(dir)
        .arg("--once")
        .arg("--state")
        .arg(state)
        .args(["--output", output])
        .env("RUST_LOG", rust_log)
        .env_remove("LAUNCHPLANE_API_KEY_MAIN")
        .output()
        .expect("run launchplane");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read_tree(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            read_tree(&path, out);
        } else {
            out.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_reach_no_output_or_state_of_the_standalone_binary() {
    const KEY: &str = "lpkey-ZX81-standalone-s3cret-0043";
    const ENV_SECRET: &str = "env-value-R8-swordfish-s3cret";
    const MANIFEST_SECRET: &str = "manifest-only-T9-s3cret";
    let secrets = [KEY, ENV_SECRET, MANIFEST_SECRET];
    let (sim, ids, _) = seeded_with(KEY, &identity_env(ENV_SECRET), true).await;
    let app_url = sim.app_url(&ids[0]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let manifests = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: dokploy-key, namespace: {NS}}}\n\
         stringData:\n  api-key: {KEY}\n  unrelated-token: {MANIFEST_SECRET}\n---\n\
         apiVersion: launchplane.dev/v1alpha1\nkind: ProviderConfig\n\
         metadata: {{name: main, namespace: {NS}}}\n\
         spec:\n  providerType: Dokploy\n  url: {url}\n  apiKeySecretRef: {{name: dokploy-key, key: api-key}}\n---\n\
         apiVersion: launchplane.dev/v1alpha1\nkind: ProviderTarget\n\
         metadata: {{name: web-0, namespace: {NS}}}\n\
         spec:\n  providerConfigRef: {{name: main}}\n  targetCategory: application\n  targetId: {id}\n  \
         displayName: web-0\n  providerTargetType: docker\n---\n\
         apiVersion: launchplane.dev/v1alpha1\nkind: RuntimeIdentity\n\
         metadata: {{name: web-0, namespace: {NS}}}\n\
         spec:\n  expected: {{product: shop, context: prod, deploymentRecordId: rec-1}}\n  \
         endpoint: {{baseUrl: '{app_url}', healthPath: /healthz}}\n",
        url = sim.base_url(),
        id = ids[0],
    );
    std::fs::write(dir.path().join("all.yaml"), manifests).unwrap();

    let mut seen = String::new();
    let (dir_path, state_path) = (dir.path().to_path_buf(), state.path().to_path_buf());
    let run = |output: &'static str, log: &'static str| {
        let (d, s) = (dir_path.clone(), state_path.clone());
        tokio::task::spawn_blocking(move || run_binary(&d, &s, output, log))
    };
    let (code, stdout, stderr) = run("table", "trace").await.unwrap();
    assert_eq!(code, 0, "all Matched: {stdout}\n{stderr}");
    assert!(stdout.contains("Matched"), "{stdout}");
    seen.push_str(&stdout);
    seen.push_str(&stderr);
    let (code, stdout, stderr) = run("json", "debug").await.unwrap();
    assert_eq!(code, 0, "{stderr}");
    seen.push_str(&stdout);
    seen.push_str(&stderr);

    // Through faults: a server error, a malformed body, the key refused.
    for fault in [
        Fault::Status(500),
        Fault::MalformedBody,
        Fault::UnauthorizedAfter(0),
    ] {
        sim.clear_faults();
        sim.inject("*", fault.clone());
        let (code, stdout, stderr) = run("table", "trace").await.unwrap();
        assert_eq!(code, 1, "{fault:?} is a hard failure: {stdout}\n{stderr}");
        assert!(
            stdout.contains("Unverifiable") || stdout.contains("Mismatch"),
            "{stdout}"
        );
        seen.push_str(&stdout);
        seen.push_str(&stderr);
    }
    assert!(
        seen.contains("DEBUG") || seen.contains("TRACE"),
        "the logs were on"
    );
    assert_hidden("the standalone output", &seen, &secrets);
    let mut files = String::new();
    read_tree(state.path(), &mut files);
    assert!(!files.is_empty(), "statuses were kept");
    assert_hidden("the state folder", &files, &secrets);
    sim.shutdown().await;
}

/// `launchplane webhooks`: the webhook secret, the GitHub token and a Dokploy notification token
/// reach no log line (trace level), answer or metric, on accepted and refused deliveries and
/// through the resync's faults.
#[tokio::test]
async fn webhook_secrets_reach_no_log_answer_or_metric() {
    use axum::body::Body;
    use launchplane::github::client::GitHubClient;
    use launchplane::k8s::secrets::KubeSecrets;
    use launchplane::webhooks::limit::{Rate, RateLimiter};
    use launchplane::webhooks::metrics::WebhookMetrics;
    use launchplane::webhooks::receiver::{Receiver, SecretKey, router};
    use launchplane::webhooks::replay::DeliveryLog;
    use launchplane::webhooks::resync::{ResyncState, resync_once};
    use launchplane::webhooks::signature::sign;
    use launchplane::webhooks::store::KubeStore;
    use launchplane_api::resources::{DeployNotifications, PreviewPolicy, SecretKeyRef};
    use launchplane_e2e::github::{FakePull, GitHubFake, GitHubFault, pull_request_event};
    use launchplane_testkit::api_server::FakeApiServer;
    use launchplane_testkit::build::{provider_config, shop_product};
    use tower::ServiceExt;

    let logs_buffer = capture_logs();
    const WEBHOOK: &str = "whsec-K9-webhook-s3cret-7781";
    const TOKEN: &str = "ghp-T4-github-s3cret-token-9920";
    const NOTIFY: &str = "notify-R2-dokploy-s3cret-5531";
    let secrets = [WEBHOOK, TOKEN, NOTIFY];
    tracing::info!("webhook capture canary");
    assert!(logs().contains("webhook capture canary"));

    launchplane_providers::install_crypto_provider();
    let api = FakeApiServer::new();
    api.put(&shop_product(PreviewPolicy {
        enabled: true,
        base_domain: Some("preview.shop.test".into()),
        template_target_ref: Some(launchplane_api::resources::LocalObjectRef::new("tpl")),
        ..PreviewPolicy::default()
    }));
    api.put_secret(NS, "hooks", &[("webhook-secret", WEBHOOK.as_bytes())]);
    api.put_secret(NS, "notify", &[("token", NOTIFY.as_bytes())]);
    let mut config = provider_config("http://dokploy.test");
    config.spec.deploy_notifications = Some(DeployNotifications {
        receiver_url: "https://hooks.example.com".into(),
        token_secret_ref: SecretKeyRef {
            name: "notify".into(),
            key: "token".into(),
        },
    });
    api.put(&config);
    let client = api.client();
    let metrics = Arc::new(WebhookMetrics::new());
    let receiver = Arc::new(Receiver {
        store: Arc::new(KubeStore::new(client.clone(), Some(NS.into()))),
        secrets: Arc::new(KubeSecrets::new(client)),
        webhook_secret: SecretKey {
            namespace: NS.into(),
            name: "hooks".into(),
            key: "webhook-secret".into(),
        },
        deliveries: DeliveryLog::new(100),
        limiter: RateLimiter::new(Rate::default()),
        metrics: metrics.clone(),
        max_body: 1 << 20,
    });
    let pull = FakePull {
        number: 7,
        head_sha: "b7e4d20f1a2b3c4d5e6f708192a3b4c5d6e7f809".into(),
        labels: vec!["preview".into()],
        updated_at: "2026-01-15T08:00:00Z".into(),
    };
    let body = pull_request_event("opened", "acme/shop", &pull, true, None)
        .to_string()
        .into_bytes();
    let mut answers = String::new();
    let requests = vec![
        ("d1", sign(WEBHOOK.as_bytes(), &body), body.clone()),
        ("d1", sign(WEBHOOK.as_bytes(), &body), body.clone()),
        ("d2", sign(b"wrong", &body), body.clone()),
        ("d3", sign(WEBHOOK.as_bytes(), b"{}"), b"{}".to_vec()),
    ];
    for (id, signature, body) in requests {
        let request = http::Request::builder()
            .method("POST")
            .uri("/github")
            .header("x-github-event", "pull_request")
            .header("x-github-delivery", id)
            .header("x-hub-signature-256", signature)
            .body(Body::from(body))
            .unwrap();
        let response = router(receiver.clone()).oneshot(request).await.unwrap();
        answers.push_str(&String::from_utf8_lossy(
            &axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap(),
        ));
    }
    for token in [NOTIFY, "not-the-token"] {
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("/dokploy/{NS}/dokploy"))
            .header("x-launchplane-token", token)
            .body(Body::from("{}"))
            .unwrap();
        let response = router(receiver.clone()).oneshot(request).await.unwrap();
        answers.push_str(&String::from_utf8_lossy(
            &axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap(),
        ));
    }
    let fake = GitHubFake::start(TOKEN).await.unwrap();
    fake.set_pulls("acme/shop", vec![pull]);
    let github =
        GitHubClient::new(&fake.base_url(), launchplane_providers::SecretString::new(TOKEN)).unwrap();
    answers.push_str(&format!("{github:?}"));
    let mut state = ResyncState::default();
    fake.fault(GitHubFault::Status(502));
    let report = resync_once(
        receiver.store.as_ref(),
        &github,
        &mut state,
        jiff::Timestamp::now(),
    )
    .await;
    answers.push_str(&format!("{report:?}"));
    fake.fault(GitHubFault::PrimaryRateLimit {
        reset: jiff::Timestamp::now().as_second() + 1,
    });
    let report = resync_once(
        receiver.store.as_ref(),
        &github,
        &mut state,
        jiff::Timestamp::now(),
    )
    .await;
    answers.push_str(&format!("{report:?}"));
    let wrong = GitHubClient::new(&fake.base_url(), launchplane_providers::SecretString::new("x")).unwrap();
    answers.push_str(&format!("{:?}", wrong.open_pulls("acme", "shop").await));

    assert!(
        answers.contains("refused_signature") && answers.contains("replay"),
        "{answers}"
    );
    assert_hidden("answers and errors", &answers, &secrets);
    assert_hidden("metrics", &metrics.encode(), &secrets);
    let all_logs = String::from_utf8_lossy(&logs_buffer.lock().unwrap()).into_owned();
    assert!(all_logs.contains("delivery refused"), "the refusals were logged");
    assert_hidden("logs", &all_logs, &secrets);
}

#[tokio::test]
async fn notification_secrets_reach_no_log_or_error() {
    use launchplane::notify::destination::{
        DestinationConfig, DestinationFactory, DiscordConfig, EmailConfig, GitHubIssueConfig, IncidentKey,
        Notice, NoticeKind, SmtpSecurity,
    };
    use launchplane::notify::destinations::RealDestinations;
    use launchplane_api::Verdict;
    use launchplane_api::resources::{IncidentSeverity, IncidentState, IncidentTransitionType};
    use launchplane_e2e::discord::{DiscordFake, DiscordFault};
    use launchplane_e2e::github::{GitHubFake, GitHubFault};
    use launchplane_e2e::smtp::{SmtpServer, SmtpTls};
    use launchplane_providers::SecretString;
    use std::time::Duration;

    let logs_buffer = capture_logs();
    const TOKEN: &str = "ghp-N1-notify-s3cret-token-4410";
    const HOOK: &str = "dIsCoRd-N2-webhook-s3cret-8812";
    const PASSWORD: &str = "smtp-N3-s3cret-password-2291";
    let secrets = [TOKEN, HOOK, PASSWORD];
    tracing::info!("notification capture canary");

    let notice = |kind, thread: Vec<String>| Notice {
        incident: IncidentKey {
            namespace: "shop".into(),
            name: "shop-production-public".into(),
            product: "shop".into(),
            kind: "Lane".into(),
            lane: "production".into(),
            check: "public".into(),
        },
        kind,
        transition: 1,
        occurrence: 1,
        state: IncidentState::Open,
        severity: IncidentSeverity::Warning,
        verdict: Verdict::Mismatch,
        message: "wrong artifact".into(),
        time: jiff::Timestamp::now(),
        id: format!("uid-9/{kind:?}"),
        thread,
    };
    let opened = notice(NoticeKind::Transition(IncidentTransitionType::Opened), vec![]);
    let mut answers = String::new();
    let mut record = |what: &str, r: &dyn std::fmt::Debug, shown: String| {
        answers.push_str(&format!("{what}: {r:?} {shown}\n"));
    };

    let github_fake = GitHubFake::start(TOKEN).await.unwrap();
    let github = RealDestinations
        .build(&DestinationConfig::GitHubIssue(GitHubIssueConfig {
            api_url: github_fake.base_url(),
            owner: "acme".into(),
            repo: "ops".into(),
            labels: vec!["incident".into()],
            token: SecretString::new(TOKEN),
        }))
        .unwrap();
    let r = github.send(&opened).await;
    record("github", &r, String::new());
    github_fake.fault(GitHubFault::SecondaryRateLimit { retry_after: 3 });
    let r = github.send(&notice(NoticeKind::Repeat(1), vec![])).await;
    record(
        "github rate limit",
        &r,
        r.as_ref().err().map(|e| e.to_string()).unwrap_or_default(),
    );
    github_fake.fault(GitHubFault::Status(502));
    let r = github.send(&notice(NoticeKind::Repeat(2), vec![])).await;
    record(
        "github 502",
        &r,
        r.as_ref().err().map(|e| e.to_string()).unwrap_or_default(),
    );

    let discord_fake = DiscordFake::start("1200000000000000009", HOOK).await.unwrap();
    let discord_config = |url: String| {
        DestinationConfig::Discord(DiscordConfig {
            webhook_url: SecretString::new(url),
            username: None,
        })
    };
    let discord = RealDestinations
        .build(&discord_config(discord_fake.webhook_url()))
        .unwrap();
    let r = discord.send(&opened).await;
    record("discord", &r, String::new());
    discord_fake.fault(DiscordFault::RateLimited {
        retry_after: 0.5,
        global: false,
        header: true,
    });
    let r = discord.send(&opened).await;
    record(
        "discord 429",
        &r,
        r.as_ref().err().map(|e| e.to_string()).unwrap_or_default(),
    );
    let broken = RealDestinations
        .build(&discord_config(format!("{}x", discord_fake.webhook_url())))
        .unwrap();
    let r = broken.send(&opened).await;
    record(
        "discord 401",
        &r,
        r.as_ref().err().map(|e| e.to_string()).unwrap_or_default(),
    );
    let r = RealDestinations.build(&discord_config(format!("not a url {HOOK}")));
    record("discord bad url", &r.as_ref().err(), String::new());
    let gone = format!("http://127.0.0.1:9/api/webhooks/1/{HOOK}");
    let r = RealDestinations
        .build(&discord_config(gone))
        .unwrap()
        .send(&opened)
        .await;
    record(
        "discord unreachable",
        &r,
        r.as_ref().err().map(|e| e.to_string()).unwrap_or_default(),
    );

    let server = tokio::task::spawn_blocking(|| SmtpServer::start(SmtpTls::StartTls, "lp", PASSWORD))
        .await
        .unwrap()
        .unwrap();
    if let Some(server) = &server {
        let config = |password: &str| {
            DestinationConfig::Email(EmailConfig {
                host: "127.0.0.1".into(),
                port: server.port,
                security: SmtpSecurity::StartTls,
                extra_ca_pem: Some(server.ca_pem()),
                from: "launchplane@example.com".into(),
                to: vec!["oncall@example.com".into()],
                username: Some("lp".into()),
                password: Some(SecretString::new(password)),
            })
        };
        let email = RealDestinations.build(&config(PASSWORD)).unwrap();
        let r = email.send(&opened).await;
        assert!(r.is_ok(), "{r:?}");
        record("email", &r, String::new());
        server.fault_next_data("451 4.3.0 later").unwrap();
        let r = email.send(&opened).await;
        record(
            "email 451",
            &r,
            r.as_ref().err().map(|e| e.to_string()).unwrap_or_default(),
        );
        // A password that is a prefix of the real one: an error quoting it would show.
        let wrong = format!("{PASSWORD}-wrong");
        let r = RealDestinations
            .build(&config(&wrong))
            .unwrap()
            .send(&opened)
            .await;
        record(
            "email wrong password",
            &r,
            r.as_ref().err().map(|e| e.to_string()).unwrap_or_default(),
        );
        assert!(r.is_err());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    assert!(
        answers.contains("Retryable") && answers.contains("Permanent"),
        "{answers}"
    );
    assert_hidden("answers and errors", &answers, &secrets);
    let all_logs = String::from_utf8_lossy(&logs_buffer.lock().unwrap()).into_owned();
    assert!(all_logs.contains("notification capture canary"));
    assert!(all_logs.contains("filed the incident's GitHub issue"));
    assert_hidden("logs", &all_logs, &secrets);
}

/// The Odoo driver through the real `launchplane reconcile` binary (trace logs): a Secret the
/// post-deploy command needs (`spec.odoo.postDeploy.env.secretRefs`) and a tenant secret in the
/// compose env reach no output, no state file, no schedule's command and no run log, while the
/// lane deploys, runs its post-deploy command and a BackupGate is captured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odoo_secrets_reach_no_output_state_schedule_or_run_log() {
    use launchplane_e2e::sim::{DokploySim, ScheduleRunScript, SeedCompose, SimConfig};
    const KEY: &str = "lpkey-odoo-Q7-s3cret-0091";
    const SMTP: &str = "smtp-sentinel-K4-s3cret";
    const TENANT: &str = "tenant-db-sentinel-V2-s3cret";
    let secrets = [KEY, SMTP, TENANT];
    let sim = DokploySim::start(SimConfig {
        api_key: KEY.into(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let (_, env) = sim.seed_project("erp");
    let compose = sim
        .seed_compose(
            &env,
            SeedCompose {
                name: "erp".into(),
                compose_file: "services:\n  web:\n    image: ${ODOO_IMAGE}\n  db:\n    image: postgres:16\n"
                    .into(),
                env: Some(format!("POSTGRES_PASSWORD={TENANT}\n")),
                domains: vec!["erp.test".into()],
                service_name: Some("web".into()),
                deployed: true,
                ..Default::default()
            },
        )
        .unwrap();
    sim.script_schedule_runs(
        "launchplane-backup",
        ScheduleRunScript::succeed("{\"path\": \"/backups/erp.zip\"}"),
    );
    let app_url = sim.compose_app_url(&compose, "web").unwrap();
    let digest = format!("sha256:{}", "a".repeat(64));
    let commit = "a".repeat(40);
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let manifests = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: dokploy-key, namespace: {NS}}}\n\
         stringData:\n  api-key: {KEY}\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata: {{name: smtp, namespace: {NS}}}\n\
         stringData:\n  SMTP_PASSWORD: {SMTP}\n---\n\
         apiVersion: launchplane.dev/v1alpha1\nkind: ProviderConfig\n\
         metadata: {{name: main, namespace: {NS}}}\n\
         spec:\n  providerType: Dokploy\n  url: {url}\n  apiKeySecretRef: {{name: dokploy-key, key: api-key}}\n---\n\
         apiVersion: launchplane.dev/v1alpha1\nkind: ProviderTarget\n\
         metadata: {{name: erp-prod, namespace: {NS}}}\n\
         spec:\n  providerConfigRef: {{name: main}}\n  targetCategory: compose\n  targetId: {compose}\n  \
         displayName: erp\n  managementPolicy: Manage\n---\n\
         apiVersion: launchplane.dev/v1alpha1\nkind: Product\n\
         metadata: {{name: erp, namespace: {NS}}}\n\
         spec:\n  displayName: ERP\n  repository: github.com/acme/erp\n  driver: odoo\n  \
         imageRepository: ghcr.io/acme/erp\n  runtimePort: 8069\n  odoo:\n    postDeploy:\n      \
         command: odoo -u all --smtp-password=\"$SMTP_PASSWORD\"\n      env:\n        secretRefs: [{{name: smtp}}]\n    \
         backup:\n      command: odoo-backup\n      service: db\n---\n\
         apiVersion: launchplane.dev/v1alpha1\nkind: Artifact\n\
         metadata: {{name: erp-a, namespace: {NS}}}\n\
         spec:\n  image: {{repository: ghcr.io/acme/erp, digest: '{digest}'}}\n  \
         source: {{repository: github.com/acme/erp, commit: '{commit}'}}\n---\n\
         apiVersion: launchplane.dev/v1alpha1\nkind: Lane\n\
         metadata: {{name: erp-prod, namespace: {NS}}}\n\
         spec:\n  productRef: {{name: erp}}\n  stage: prod\n  targetRef: {{name: erp-prod}}\n  \
         artifactRef: {{name: erp-a}}\n  runtimeIdentity: {{baseUrl: '{app_url}'}}\n---\n\
         apiVersion: launchplane.dev/v1alpha1\nkind: BackupGate\n\
         metadata: {{name: erp-prod-backup, namespace: {NS}}}\n\
         spec:\n  laneRef: {{name: erp-prod}}\n  capture: {{}}\n",
        url = sim.base_url(),
    );
    std::fs::write(dir.path().join("all.yaml"), manifests).unwrap();
    let (d, s) = (dir.path().to_path_buf(), state.path().to_path_buf());
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || run_binary(&d, &s, "table", "trace"))
        .await
        .unwrap();
    assert_eq!(code, 0, "all Matched: {stdout}\n{stderr}");
    assert_eq!(sim.call_count("compose.deploy"), 1);
    assert_eq!(
        sim.call_count("schedule.runManually"),
        2,
        "post-deploy and backup"
    );
    // The secret did reach the compose env (how the command gets it)...
    let env = sim.service_json(&compose).unwrap()["env"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        env.contains(&format!("SMTP_PASSWORD={SMTP}")),
        "delivered through the compose env"
    );
    // ...and nowhere else.
    let mut seen = format!("{stdout}\n{stderr}");
    assert!(
        seen.contains("TRACE") || seen.contains("DEBUG"),
        "the logs were on"
    );
    for schedule in sim.compose_schedules(&compose) {
        seen.push_str(&schedule.to_string());
        for run in sim.schedule_runs(schedule["scheduleId"].as_str().unwrap_or_default()) {
            seen.push_str(
                &sim.deployment_log(run["deploymentId"].as_str().unwrap_or_default())
                    .unwrap_or_default(),
            );
        }
    }
    assert_hidden("the output, schedules and run logs", &seen, &secrets);
    let mut files = String::new();
    read_tree(state.path(), &mut files);
    assert!(files.contains("postDeployCommand"), "the record was kept");
    assert_hidden("the state folder", &files, &secrets);
    sim.shutdown().await;
}

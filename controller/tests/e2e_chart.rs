//! The real `launchplane controller` binary on a real API server, with exactly the rights the
//! Helm chart grants: the chart is rendered (namespace mode, leader election on) and applied
//! with kubectl, the binary runs as a child process with the args of the chart's Deployment
//! and a token of the chart's ServiceAccount, and every verdict is awaited with
//! `kubectl wait`. Its log must not mention `forbidden`, and its Events must be there. The
//! same for `launchplane webhooks` and the ServiceAccount the chart gives it (`webhooks.*`).
//!
//! Needs `KUBECONFIG`, `kubectl` and helm (`HELM`, as scripts/e2e.sh sets it): without them the
//! test says `SKIPPED: ...` and passes, unless scripts/e2e.sh set up the cluster (then it fails).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e_support;

use e2e_support::{app_target, artifact_a, clean_up, connect, create_namespaces, shop_product};
use futures::FutureExt;
use jiff::Timestamp;
use launchplane_api::resources::{
    Lane, LaneRuntimeIdentity, LaneSpec, LocalObjectRef, ManagementPolicy, PreviewPolicy, ProviderConfig,
    ProviderConfigSpec, SecretKeyRef,
};
use launchplane_e2e::sim::{DokploySim, SeedApplication, SimConfig};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

const RELEASE: &str = "launchplane";
const WAIT: &str = "--timeout=120s";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chart_service_account_runs_the_controller_on_a_real_cluster() {
    let test = "e2e_chart: the chart's ServiceAccount runs the controller";
    let Some(client) = connect(test).await else {
        return;
    };
    let Some(helm) = std::env::var_os("HELM").map(PathBuf::from) else {
        assert!(
            std::env::var_os("LAUNCHPLANE_E2E_REQUIRED").is_none(),
            "{test}: HELM is not set although scripts/e2e.sh set up the cluster"
        );
        eprintln!("SKIPPED: {test} (HELM is not set; scripts/e2e.sh installs helm and sets it)");
        return;
    };
    let ns = format!("launchplane-e2e-chart-{}", Timestamp::now().as_millisecond());
    let namespaces = create_namespaces(&client, &[&ns]).await;
    let work = tempfile::tempdir().unwrap();
    let outcome = std::panic::AssertUnwindSafe(scenario(&helm, &ns, work.path()))
        .catch_unwind()
        .await;
    clean_up(&namespaces, &[&ns], outcome).await;
}

async fn scenario(helm: &Path, ns: &str, work: &Path) {
    // 1. The chart, rendered for this namespace and applied as a user would. Without the
    //    approval admission policy: it is cluster-scoped (this test deletes namespaces only)
    //    and has its own test, e2e_approval_policy.rs.
    let chart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/launchplane");
    let rendered = run(Command::new(helm).args(["template", RELEASE]).arg(&chart).args([
        "--namespace",
        ns,
        "--set",
        &format!("watchNamespace={ns}"),
        "--set",
        "leaderElection.enabled=true",
        "--set",
        "approvalPolicy.enabled=false",
    ]))
    .await;
    let docs: Vec<Value> = serde_saphyr::from_multiple(&rendered).unwrap();
    let docs: Vec<Value> = docs.into_iter().filter(|d| !d.is_null()).collect();
    kubectl_apply(&docs, ns).await;
    let deployment = docs
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("the chart renders a Deployment");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let service_account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
        .as_str()
        .expect("the Deployment names its ServiceAccount")
        .to_string();

    // 2. A kubeconfig holding only a token of that ServiceAccount.
    let token = run(&mut kubectl(&[
        "create",
        "token",
        &service_account,
        "-n",
        ns,
        "--duration=1h",
    ]))
    .await;
    let kubeconfig = token_kubeconfig(work, token.trim()).await;
    let as_controller = |args: &[&str]| {
        let mut c = kubectl(args);
        c.env("KUBECONFIG", &kubeconfig);
        c
    };
    let may_create_namespaces = as_controller(&["auth", "can-i", "create", "namespaces"])
        .output()
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&may_create_namespaces.stdout).trim(),
        "no",
        "the token must carry the chart's rights, not the admin's"
    );

    // 3. Dokploy (the simulator) and the resources, applied with kubectl.
    let sim = DokploySim::start(SimConfig::default()).await.unwrap();
    let (_, environment) = sim.seed_project("shop");
    let prod = sim
        .seed_application(
            &environment,
            SeedApplication {
                name: "shop-prod".into(),
                docker_image: Some("ghcr.io/acme/shop:1".into()),
                deployed: true,
                ..SeedApplication::default()
            },
        )
        .unwrap();
    let renamed = sim
        .seed_application(
            &environment,
            SeedApplication {
                name: "shop-testing-renamed".into(),
                ..SeedApplication::default()
            },
        )
        .unwrap();
    let lane_app = sim
        .seed_application(
            &environment,
            SeedApplication {
                name: "shop-lane".into(),
                docker_image: Some("ghcr.io/acme/shop:old".into()),
                env: Some("KEEP_ME=1\n".into()),
                deployed: true,
                ..SeedApplication::default()
            },
        )
        .unwrap();
    let lane_url = sim.app_url(&lane_app).expect("the lane's app serves");
    let dead_url = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let config = |name: &str, url: String| {
        ProviderConfig::new(
            name,
            ProviderConfigSpec {
                url,
                api_key_secret_ref: SecretKeyRef {
                    name: "dokploy-main-api-key".into(),
                    key: "api-key".into(),
                },
                poll_interval_seconds: 5,
                ..ProviderConfigSpec::default()
            },
        )
    };
    let mut lane_target = app_target("shop-lane", "dokploy-main", Some(lane_app), "shop-lane");
    lane_target.spec.management_policy = ManagementPolicy::Manage;
    let lane = Lane::new(
        "shop-lane",
        LaneSpec {
            product_ref: LocalObjectRef::new("shop"),
            stage: "testing".into(),
            target_ref: LocalObjectRef::new("shop-lane"),
            artifact_ref: Some(LocalObjectRef::new("shop-lane-a")),
            runtime_identity: LaneRuntimeIdentity {
                required: true,
                base_url: Some(lane_url),
                ..LaneRuntimeIdentity::default()
            },
            ..LaneSpec::default()
        },
    );
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "dokploy-main-api-key"},
        "stringData": {"api-key": sim.api_key()},
    });
    let objects = vec![
        secret,
        to_value(&config("dokploy-main", sim.base_url())),
        to_value(&config("dokploy-down", dead_url)),
        to_value(&app_target("shop-prod", "dokploy-main", Some(prod), "shop-prod")),
        to_value(&app_target(
            "gone",
            "dokploy-main",
            Some("app-gone".into()),
            "gone",
        )),
        to_value(&app_target(
            "shop-testing",
            "dokploy-main",
            Some(renamed),
            "shop-testing",
        )),
        to_value(&app_target(
            "behind-outage",
            "dokploy-down",
            Some("app-x".into()),
            "behind-outage",
        )),
        to_value(&shop_product(PreviewPolicy::default())),
        to_value(&artifact_a("shop-lane-a")),
        to_value(&lane_target),
        to_value(&lane),
    ];
    kubectl_apply(&objects, ns).await;

    // 4. The binary, with the Deployment's args (metrics on loopback) and env, as the SA.
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let args: Vec<String> = container["args"]
        .as_array()
        .expect("the container has args")
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .map(|a| {
            if a.starts_with("--metrics-addr=") {
                format!("--metrics-addr=127.0.0.1:{metrics_port}")
            } else {
                a
            }
        })
        .collect();
    assert!(args.contains(&format!("--watch-namespace={ns}")), "{args:?}");
    let log_path = work.join("controller.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut controller = Command::new(env!("CARGO_BIN_EXE_launchplane"))
        .args(&args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("KUBECONFIG", &kubeconfig)
        .env("POD_NAME", "launchplane-e2e-0")
        .env("POD_NAMESPACE", ns)
        .env("RUST_LOG", "info")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    // 5. Every verdict, awaited as a user would.
    let waits = async {
        for (name, verdict) in [
            ("shop-prod", "Matched"),
            ("gone", "Missing"),
            ("shop-testing", "Mismatch"),
            ("behind-outage", "Unverifiable"),
        ] {
            kubectl_wait(ns, &format!("providertarget/{name}"), &jsonpath_verdict(verdict)).await?;
        }
        kubectl_wait(ns, "providertarget/shop-prod", "--for=condition=Ready").await?;
        kubectl_wait(ns, "lane/shop-lane", "--for=condition=Ready").await?;
        kubectl_wait(ns, "lane/shop-lane", &jsonpath_verdict("Matched")).await
    };
    let waited = tokio::time::timeout(Duration::from_secs(300), waits).await;
    let events = run(&mut kubectl(&[
        "get",
        "events.events.k8s.io",
        "-n",
        ns,
        "-o",
        "json",
    ]))
    .await;
    let _ = controller.start_kill();
    let _ = controller.wait().await;
    sim.shutdown().await;
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    match waited {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("{e}; controller log:\n{log}"),
        Err(_) => panic!("the verdicts did not all show in 300 s; controller log:\n{log}"),
    }

    let events: Value = serde_json::from_str(&events).unwrap();
    let ours: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reportingController"] == "launchplane-controller")
        .collect();
    for kind in ["ProviderTarget", "Lane"] {
        assert!(
            ours.iter().any(|e| e["regarding"]["kind"] == kind),
            "no Event about a {kind}; Events: {ours:#?}"
        );
    }
    assert!(
        !log.to_lowercase().contains("forbidden"),
        "the chart's RBAC refused the controller something:\n{log}"
    );
    assert!(log.contains("controllers started"), "{log}");
}

/// The real `launchplane webhooks` binary with exactly the rights the chart gives its own
/// ServiceAccount (namespace mode, resync and one notification token Secret): a signed
/// `opened` delivery creates a Preview, the resync (GitHub fake on loopback, token from the
/// receiver's own Secret) creates another, a `closed` delivery deletes the first, a Dokploy
/// notification sets the poll annotation, and nothing it did was forbidden. The account can do
/// nothing beyond that (`kubectl auth can-i`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chart_service_account_runs_the_webhook_receiver_on_a_real_cluster() {
    let test = "e2e_chart: the chart's webhooks ServiceAccount runs the receiver";
    let Some(client) = connect(test).await else {
        return;
    };
    let Some(helm) = std::env::var_os("HELM").map(PathBuf::from) else {
        assert!(
            std::env::var_os("LAUNCHPLANE_E2E_REQUIRED").is_none(),
            "{test}: HELM is not set although scripts/e2e.sh set up the cluster"
        );
        eprintln!("SKIPPED: {test} (HELM is not set; scripts/e2e.sh installs helm and sets it)");
        return;
    };
    let ns = format!("launchplane-e2e-hooks-{}", Timestamp::now().as_millisecond());
    let namespaces = create_namespaces(&client, &[&ns]).await;
    let work = tempfile::tempdir().unwrap();
    let outcome = std::panic::AssertUnwindSafe(webhooks_scenario(&helm, &ns, work.path()))
        .catch_unwind()
        .await;
    clean_up(&namespaces, &[&ns], outcome).await;
}

async fn webhooks_scenario(helm: &Path, ns: &str, work: &Path) {
    use launchplane::webhooks::signature::sign;
    use launchplane_api::resources::DeployNotifications;
    use launchplane_e2e::github::{FakePull, GitHubFake, pull_request_event};

    const WEBHOOK: &str = "e2e-webhook-secret";
    const TOKEN: &str = "e2e-github-token";
    // 1. The chart with the receiver, applied as a user would.
    let chart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/launchplane");
    let rendered = run(Command::new(helm).args(["template", RELEASE]).arg(&chart).args([
        "--namespace",
        ns,
        "--set",
        &format!("watchNamespace={ns}"),
        "--set",
        "approvalPolicy.enabled=false",
        "--set",
        "webhooks.enabled=true",
        "--set",
        "webhooks.resync.intervalSeconds=60",
        "--set",
        "webhooks.resync.tokenSecret.name=github-token",
        "--set-json",
        "webhooks.notificationTokenSecrets=[\"dokploy-notify\"]",
    ]))
    .await;
    let docs: Vec<Value> = serde_saphyr::from_multiple(&rendered).unwrap();
    let docs: Vec<Value> = docs.into_iter().filter(|d| !d.is_null()).collect();
    kubectl_apply(&docs, ns).await;
    let deployment = docs
        .iter()
        .find(|d| {
            d["kind"] == "Deployment" && d["metadata"]["labels"]["app.kubernetes.io/component"] == "webhooks"
        })
        .expect("the chart renders the receiver's Deployment");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let service_account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
        .as_str()
        .expect("the Deployment names its ServiceAccount")
        .to_string();

    // 2. A kubeconfig holding only a token of the receiver's ServiceAccount, which can do
    //    nothing beyond its rules.
    let token = run(&mut kubectl(&[
        "create",
        "token",
        &service_account,
        "-n",
        ns,
        "--duration=1h",
    ]))
    .await;
    let kubeconfig = token_kubeconfig(work, token.trim()).await;
    let can_i = |args: &[&str]| {
        let mut c = kubectl(&["auth", "can-i"]);
        c.args(args).args(["-n", ns]).env("KUBECONFIG", &kubeconfig);
        async move {
            let out = c.output().await.unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        }
    };
    for (args, want) in [
        (&["create", "previews.launchplane.dev"][..], "yes"),
        (&["delete", "previews.launchplane.dev"], "yes"),
        (&["patch", "providerconfigs.launchplane.dev"], "yes"),
        (&["get", "secrets/dokploy-notify"], "yes"),
        (&["get", "secrets/launchplane-webhooks"], "yes"),
        (&["get", "secrets/github-token"], "yes"),
        (&["get", "secrets/dokploy-main-api-key"], "no"),
        (&["list", "secrets"], "no"),
        (&["update", "previews.launchplane.dev"], "no"),
        (
            &["patch", "previews.launchplane.dev", "--subresource=status"],
            "no",
        ),
        (&["create", "products.launchplane.dev"], "no"),
        (&["patch", "lanes.launchplane.dev"], "no"),
        (&["create", "artifacts.launchplane.dev"], "no"),
        (&["list", "previews.launchplane.dev", "--all-namespaces"], "no"),
    ] {
        assert_eq!(
            can_i(args).await,
            want,
            "kubectl auth can-i {args:?} as the receiver"
        );
    }

    // 3. The receiver's Secrets, a Product with previews, a ProviderConfig taking Dokploy's
    //    notifications, and GitHub (a fake on loopback) with one more open labelled pull.
    let github = GitHubFake::start(TOKEN).await.unwrap();
    let pull = |number: i64, sha: char| FakePull {
        number,
        head_sha: sha.to_string().repeat(40),
        labels: vec!["preview".into()],
        updated_at: "2026-01-15T08:00:00Z".into(),
    };
    github.set_pulls("acme/shop", vec![pull(8, 'c')]);
    let secret = |name: &str, key: &str, value: &str| {
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
               "stringData": {key: value}})
    };
    let mut config = ProviderConfig::new(
        "dokploy-main",
        ProviderConfigSpec {
            url: "https://dokploy.invalid".into(),
            api_key_secret_ref: SecretKeyRef {
                name: "dokploy-main-api-key".into(),
                key: "api-key".into(),
            },
            ..ProviderConfigSpec::default()
        },
    );
    config.spec.deploy_notifications = Some(DeployNotifications {
        receiver_url: "https://hooks.example.com".into(),
        token_secret_ref: SecretKeyRef {
            name: "dokploy-notify".into(),
            key: "token".into(),
        },
    });
    let objects = vec![
        secret("launchplane-webhooks", "webhook-secret", WEBHOOK),
        secret("github-token", "github-token", TOKEN),
        secret("dokploy-notify", "token", "e2e-notify-token"),
        secret("dokploy-main-api-key", "api-key", "unused"),
        to_value(&config),
        to_value(&shop_product(PreviewPolicy {
            enabled: true,
            base_domain: Some("preview.shop.test".into()),
            template_target_ref: Some(LocalObjectRef::new("shop-template")),
            ..PreviewPolicy::default()
        })),
    ];
    kubectl_apply(&objects, ns).await;

    // 4. The binary with the Deployment's args (loopback address, the fake's API URL: the
    //    chart takes https only) and env, as the receiver's ServiceAccount.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let args: Vec<String> = container["args"]
        .as_array()
        .expect("the container has args")
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .map(|a| {
            if a.starts_with("--addr=") {
                format!("--addr=127.0.0.1:{port}")
            } else if a.starts_with("--github-api-url=") {
                format!("--github-api-url={}", github.base_url())
            } else {
                a
            }
        })
        .collect();
    assert_eq!(args[0], "webhooks", "{args:?}");
    let log_path = work.join("webhooks.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut receiver = Command::new(env!("CARGO_BIN_EXE_launchplane"))
        .args(&args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("KUBECONFIG", &kubeconfig)
        .env("POD_NAMESPACE", ns)
        .env("RUST_LOG", "info")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    // 5. Deliveries, as GitHub and Dokploy make them.
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deliver = |id: &'static str, action: &'static str, open: bool| {
        let body = pull_request_event(action, "acme/shop", &pull(7, 'b'), open, None).to_string();
        http.post(format!("{base}/github"))
            .header("content-type", "application/json")
            .header("x-github-event", "pull_request")
            .header("x-github-delivery", id)
            .header("x-hub-signature-256", sign(WEBHOOK.as_bytes(), body.as_bytes()))
            .body(body)
            .send()
    };
    let preview_exists = |name: &'static str| async move {
        kubectl(&[
            "get",
            "-n",
            ns,
            "previews.launchplane.dev",
            name,
            "--ignore-not-found",
            "-o",
            "name",
        ])
        .output()
        .await
        .map(|o| !String::from_utf8_lossy(&o.stdout).trim().is_empty())
        .unwrap_or(false)
    };
    let steps = async {
        for _ in 0..100 {
            if http
                .get(format!("{base}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let opened = deliver("e2e-1", "opened", true)
            .await
            .map_err(|e| e.to_string())?;
        let (status, text) = (opened.status(), opened.text().await.unwrap_or_default());
        if !status.is_success() || !text.contains("created") || !preview_exists("shop-pr-7").await {
            return Err(format!("opened: {status} {text}; Preview shop-pr-7 not created"));
        }
        // The resync's first pass runs at start: its Preview shows without a delivery.
        let mut resynced = false;
        for _ in 0..60 {
            if preview_exists("shop-pr-8").await {
                resynced = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if !resynced {
            return Err("the resync did not create Preview shop-pr-8".into());
        }
        let closed = deliver("e2e-2", "closed", false)
            .await
            .map_err(|e| e.to_string())?;
        let (status, text) = (closed.status(), closed.text().await.unwrap_or_default());
        if !status.is_success() || !text.contains("deleted") || preview_exists("shop-pr-7").await {
            return Err(format!("closed: {status} {text}; Preview shop-pr-7 not deleted"));
        }
        let notified = http
            .post(format!("{base}/dokploy/{ns}/dokploy-main"))
            .header("x-launchplane-token", "e2e-notify-token")
            .body("{}")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let (status, text) = (notified.status(), notified.text().await.unwrap_or_default());
        if status.as_u16() != 202 || !text.contains("polled") {
            return Err(format!("Dokploy notification: {status} {text}"));
        }
        Ok::<(), String>(())
    };
    let done = tokio::time::timeout(Duration::from_secs(120), steps).await;
    let _ = receiver.start_kill();
    let _ = receiver.wait().await;
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    match done {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("{e}; receiver log:\n{log}"),
        Err(_) => panic!("the receiver did not finish in 120 s; log:\n{log}"),
    }
    let annotation = run(&mut kubectl(&[
        "get",
        "-n",
        ns,
        "providerconfigs.launchplane.dev",
        "dokploy-main",
        "-o",
        "jsonpath={.metadata.annotations.launchplane\\.dev/poll-requested-at}",
    ]))
    .await;
    assert!(!annotation.trim().is_empty(), "no poll-requested-at annotation");
    assert!(
        !log.to_lowercase().contains("forbidden"),
        "the chart's RBAC refused the receiver something:\n{log}"
    );
}

fn jsonpath_verdict(verdict: &str) -> String {
    format!("--for=jsonpath={{.status.verdict}}={verdict}")
}

fn to_value<T: serde::Serialize>(object: &T) -> Value {
    serde_json::to_value(object).unwrap()
}

/// `kubectl` with the admin's KUBECONFIG and `args`.
fn kubectl(args: &[&str]) -> Command {
    let mut command = Command::new("kubectl");
    command.args(args);
    command
}

/// Run `command`; panic with its stderr unless it succeeds; return its stdout.
async fn run(command: &mut Command) -> String {
    let out = command.stdin(Stdio::null()).output().await.unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `kubectl apply -n ns -f -` of `objects`, as one List.
async fn kubectl_apply(objects: &[Value], ns: &str) {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
    let mut child = kubectl(&["apply", "-n", ns, "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, list.to_string().as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "kubectl apply refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn kubectl_wait(ns: &str, object: &str, condition: &str) -> Result<(), String> {
    let out = kubectl(&["wait", "-n", ns, object, condition, WAIT])
        .output()
        .await
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "kubectl wait {object} {condition}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

/// A kubeconfig for the admin's cluster (server and CA) that authenticates with `token` only.
async fn token_kubeconfig(work: &Path, token: &str) -> PathBuf {
    let view = |path: &'static str| async move {
        run(&mut kubectl(&[
            "config",
            "view",
            "--raw",
            "--minify",
            "--flatten",
            "-o",
            &format!("jsonpath={{{path}}}"),
        ]))
        .await
    };
    let server = view(".clusters[0].cluster.server").await;
    let ca = view(".clusters[0].cluster.certificate-authority-data").await;
    let cluster = if ca.is_empty() {
        json!({"server": server, "insecure-skip-tls-verify": true})
    } else {
        json!({"server": server, "certificate-authority-data": ca})
    };
    let config = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "e2e", "cluster": cluster}],
        "users": [{"name": "launchplane", "user": {"token": token}}],
        "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "launchplane"}}],
        "current-context": "e2e",
    });
    let path = work.join("controller.kubeconfig");
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

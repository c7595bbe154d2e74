//! `launchplane reconcile` as a user runs it: the real binary, a folder of manifests, exit
//! codes, output formats, and the API key kept out of everything printed.

#![allow(clippy::unwrap_used)]

use launchplane_e2e::sim::{DokploySim, Fault, SeedApplication, SimConfig};
use std::path::Path;
use std::process::{Command, Output};

fn reconcile(dir: &Path, state: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_launchplane"))
        .args(["reconcile", "--once", "-f"])
        .arg(dir)
        .arg("--state")
        .arg(state)
        .args(extra)
        .env_remove("LAUNCHPLANE_API_KEY_DOKPLOY")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_bad_manifest_exits_2_naming_file_resource_and_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("targets.yaml"),
        "apiVersion: launchplane.dev/v1alpha1\nkind: ProviderTarget\nmetadata: {name: web, namespace: shop}\n\
         spec:\n  providerConfigRef: {name: dokploy}\n  targetCategory: database\n  displayName: web\n",
    )
    .unwrap();
    let out = reconcile(dir.path(), &dir.path().join("state"), &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("targets.yaml: ProviderTarget/shop/web: field spec.targetCategory"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was reconciled"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(!dir.path().join("state").exists(), "bad input writes no state");
}

#[test]
fn an_empty_folder_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = reconcile(dir.path(), &dir.path().join("state"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no manifests found"));
}

fn folder(dir: &Path, url: &str, key: &str, target_id: &str) {
    std::fs::write(
        dir.join("provider.yaml"),
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: dokploy-key}}\nstringData: {{api-key: {key}}}\n---\n\
             apiVersion: launchplane.dev/v1alpha1\nkind: ProviderConfig\nmetadata: {{name: dokploy}}\n\
             spec:\n  url: {url}\n  apiKeySecretRef: {{name: dokploy-key, key: api-key}}\n---\n\
             apiVersion: launchplane.dev/v1alpha1\nkind: ProviderTarget\nmetadata: {{name: web}}\n\
             spec:\n  providerConfigRef: {{name: dokploy}}\n  targetCategory: application\n  targetId: {target_id}\n  \
             displayName: web\n  domains: [web.test]\n"
        ),
    )
    .unwrap();
}

#[test]
fn a_matching_folder_exits_0_and_a_refused_key_exits_1_without_printing_it() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = runtime
        .block_on(DokploySim::start(SimConfig {
            api_key: "key-that-must-not-leak".into(),
            ..SimConfig::default()
        }))
        .unwrap();
    let (_, env) = sim.seed_project("shop");
    let id = sim
        .seed_application(
            &env,
            SeedApplication {
                id: None,
                name: "web".into(),
                docker_image: Some("nginx:1.27".into()),
                env: Some("SECRET_VALUE=hunter2".into()),
                domains: vec!["web.test".into()],
                deployed: false,
                description: None,
            },
        )
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let manifests = dir.path().join("m");
    std::fs::create_dir(&manifests).unwrap();
    folder(&manifests, &sim.base_url(), "key-that-must-not-leak", &id);
    let out = reconcile(&manifests, &state, &["--output", "json"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", text(&out.stderr));
    let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let verdicts: Vec<(&str, &str)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(
        verdicts,
        vec![("ProviderConfig", "Matched"), ("ProviderTarget", "Matched")]
    );
    let saved: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(state.join("providertarget/default/web.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(saved["boundTargetId"], id.as_str());
    assert_eq!(saved["observed"]["envKeys"][0], "SECRET_VALUE");

    folder(&manifests, &sim.base_url(), "a-wrong-key-also-secret", &id);
    let out = reconcile(&manifests, &state, &[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("ProviderConfig") && stdout.contains("Mismatch"),
        "{stdout}"
    );
    assert!(stdout.contains("dokploy-key"), "names the Secret: {stdout}");
    for secret in ["key-that-must-not-leak", "a-wrong-key-also-secret", "hunter2"] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} leaked"
        );
        let state_files = std::fs::read_dir(state.join("providertarget/default")).unwrap();
        for f in state_files.flatten() {
            assert!(!std::fs::read_to_string(f.path()).unwrap().contains(secret));
        }
    }
    runtime.block_on(sim.shutdown());
}

/// The API key from `LAUNCHPLANE_API_KEY_<NAME>` needs no Secret manifest (issue 12: references
/// are resolved at load, and this one may be resolved by the environment instead). Without
/// either, the folder is refused at load, the message naming both.
#[test]
fn the_api_key_variable_works_without_a_secret_manifest() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = runtime
        .block_on(DokploySim::start(SimConfig {
            api_key: "key-from-the-environment".into(),
            ..SimConfig::default()
        }))
        .unwrap();
    let (_, env) = sim.seed_project("shop");
    let id = sim
        .seed_application(
            &env,
            SeedApplication {
                id: None,
                name: "web".into(),
                docker_image: Some("nginx:1.27".into()),
                env: None,
                domains: vec!["web.test".into()],
                deployed: false,
                description: None,
            },
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("m");
    std::fs::create_dir(&manifests).unwrap();
    folder(&manifests, &sim.base_url(), "unused", &id);
    let provider = std::fs::read_to_string(manifests.join("provider.yaml")).unwrap();
    let (_, without_secret) = provider.split_once("---\n").unwrap();
    std::fs::write(manifests.join("provider.yaml"), without_secret).unwrap();

    let out = reconcile(&manifests, &dir.path().join("s1"), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "ProviderConfig/default/dokploy: field spec.apiKeySecretRef: Secret default/dokploy-key is not in \
             the folder, and the environment variable LAUNCHPLANE_API_KEY_DOKPLOY"
        ),
        "{stderr}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_launchplane"))
        .args(["reconcile", "--once", "-f"])
        .arg(&manifests)
        .arg("--state")
        .arg(dir.path().join("s2"))
        .env("LAUNCHPLANE_API_KEY_DOKPLOY", "key-from-the-environment")
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", text(&out.stderr));
    assert!(!stdout.contains("key-from-the-environment"));
    runtime.block_on(sim.shutdown());
}

fn rows(out: &Output) -> Vec<serde_json::Value> {
    let stdout = text(&out.stdout);
    serde_json::from_str::<serde_json::Value>(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", text(&out.stderr)))
        .as_array()
        .unwrap()
        .clone()
}

fn row<'a>(rows: &'a [serde_json::Value], kind: &str, name: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["kind"] == kind && r["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} in {rows:?}"))
}

/// D12 (issue 12), standalone shell: the first absence of a target is kept in the state folder,
/// so a second `--once` run, not the first, confirms it.
#[test]
fn a_target_absent_from_one_run_is_confirmed_missing_by_the_next_run() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = runtime.block_on(DokploySim::start(SimConfig::default())).unwrap();
    let (_, env) = sim.seed_project("shop");
    let id = sim
        .seed_application(
            &env,
            SeedApplication {
                name: "web".into(),
                docker_image: Some("nginx:1.27".into()),
                domains: vec!["web.test".into()],
                ..SeedApplication::default()
            },
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (manifests, state) = (dir.path().join("m"), dir.path().join("state"));
    std::fs::create_dir(&manifests).unwrap();
    folder(&manifests, &sim.base_url(), &sim.api_key(), &id);
    let json = ["--output", "json"];

    let out = reconcile(&manifests, &state, &json);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    assert!(sim.remove_service(&id));
    let out = reconcile(&manifests, &state, &json);
    let first = rows(&out);
    let target = row(&first, "ProviderTarget", "web");
    assert_eq!(
        (target["verdict"].as_str(), target["reason"].as_str()),
        (Some("Unverifiable"), Some("AbsenceUnconfirmed")),
        "{target}"
    );
    assert!(
        target["message"]
            .as_str()
            .unwrap()
            .contains("confirming on the next poll"),
        "{target}"
    );
    assert_eq!(out.status.code(), Some(1));
    let saved: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(state.join("providertarget/default/web.json")).unwrap(),
    )
    .unwrap();
    assert!(saved["firstAbsentTime"].is_string(), "{saved}");

    // Times are kept to the second, as on the API server: the next run's listing is a later
    // one only a second on.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = reconcile(&manifests, &state, &json);
    let second = rows(&out);
    let target = row(&second, "ProviderTarget", "web");
    assert_eq!(
        (target["verdict"].as_str(), target["reason"].as_str()),
        (Some("Missing"), Some("TargetNotFound")),
        "{target}"
    );
    assert_eq!(out.status.code(), Some(1));
    runtime.block_on(sim.shutdown());
}

/// A folder with two lanes on two Manage targets, so that a round has more Dokploy work than
/// the poll: each lane reads its target. The lanes' apps are probed on a closed loopback port.
fn lanes_folder(dir: &Path, url: &str, key: &str, closed: &str) {
    folder(dir, url, key, "app-web");
    let mut yaml = String::from(
        "apiVersion: launchplane.dev/v1alpha1\nkind: Product\nmetadata: {name: shop}\n\
         spec:\n  displayName: Shop\n  repository: github.com/acme/shop\n  driver: generic-web\n  \
         imageRepository: ghcr.io/acme/shop\n  runtimePort: 8080\n  healthPath: /healthz\n---\n\
         apiVersion: launchplane.dev/v1alpha1\nkind: Artifact\nmetadata: {name: shop-1}\n\
         spec:\n  image:\n    repository: ghcr.io/acme/shop\n    digest: sha256:",
    );
    yaml.push_str(&"a".repeat(64));
    yaml.push_str("\n  source:\n    repository: github.com/acme/shop\n    commit: ");
    yaml.push_str(&"b".repeat(40));
    yaml.push('\n');
    for stage in ["testing", "prod"] {
        yaml.push_str(&format!(
            "---\napiVersion: launchplane.dev/v1alpha1\nkind: ProviderTarget\nmetadata: {{name: shop-{stage}}}\n\
             spec:\n  providerConfigRef: {{name: dokploy}}\n  targetCategory: application\n  \
             targetId: app-{stage}\n  displayName: shop-{stage}\n  managementPolicy: Manage\n---\n\
             apiVersion: launchplane.dev/v1alpha1\nkind: Lane\nmetadata: {{name: shop-{stage}}}\n\
             spec:\n  productRef: {{name: shop}}\n  stage: {stage}\n  targetRef: {{name: shop-{stage}}}\n  \
             artifactRef: {{name: shop-1}}\n  runtimeIdentity: {{baseUrl: \"{closed}\"}}\n"
        ));
    }
    std::fs::write(dir.join("lanes.yaml"), yaml).unwrap();
}

/// D13 (issue 12): `--once` against a Dokploy that never answers took 361 s (three 30 s
/// attempts of every read: the poll's, then each lane's, again on each lane step). The round
/// now has a deadline (`--timeout`): past it no Dokploy call is sent and those still waiting
/// are abandoned, so the run ends within the deadline, with Unverifiable verdicts and exit 1.
#[test]
fn once_against_a_dokploy_that_never_answers_ends_within_its_timeout() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = runtime.block_on(DokploySim::start(SimConfig::default())).unwrap();
    sim.inject("*", Fault::Timeout);
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let dir = tempfile::tempdir().unwrap();
    let (manifests, state) = (dir.path().join("m"), dir.path().join("state"));
    std::fs::create_dir(&manifests).unwrap();
    lanes_folder(&manifests, &sim.base_url(), &sim.api_key(), &closed);

    const TIMEOUT: u64 = 4;
    // Generous: this checks that the bound holds, not how fast the binary starts.
    const SLACK: u64 = 20;
    let started = std::time::Instant::now();
    let out = reconcile(
        &manifests,
        &state,
        &[
            "--output",
            "json",
            "--previews",
            "--timeout",
            &TIMEOUT.to_string(),
        ],
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed < std::time::Duration::from_secs(TIMEOUT + SLACK),
        "took {elapsed:?} with --timeout {TIMEOUT}"
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let rows = rows(&out);
    assert_eq!(row(&rows, "ProviderConfig", "dokploy")["verdict"], "Unverifiable");
    for name in ["web", "shop-testing", "shop-prod"] {
        let target = row(&rows, "ProviderTarget", name);
        assert_eq!(
            (target["verdict"].as_str(), target["reason"].as_str()),
            (Some("Unverifiable"), Some("DeadlinePassed")),
            "{target}"
        );
        assert!(
            target["message"]
                .as_str()
                .unwrap()
                .contains("the round's deadline passed"),
            "{target}"
        );
    }
    for lane in ["shop-testing", "shop-prod"] {
        assert_ne!(row(&rows, "Lane", lane)["verdict"], "Matched");
    }
    assert_eq!(
        sim.call_count("application.one"),
        0,
        "no lane read is sent past the deadline"
    );
    runtime.block_on(sim.shutdown());
}

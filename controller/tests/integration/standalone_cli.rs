//! `launchplane reconcile` as a user runs it: the real binary, a folder of manifests, exit
//! codes, output formats, and the API key kept out of everything printed.

#![allow(clippy::unwrap_used)]

use launchplane_e2e::sim::{DokploySim, SeedApplication, SimConfig};
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

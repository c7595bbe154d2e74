//! A CI drift check as a user writes one (issue 16, item 6): `launchplane reconcile --once
//! --notify` run again and again over one folder and one state folder, with a
//! NotificationPolicy whose GitHub issue destination is the GitHub fake. Drift that lasts
//! `openAfter` across runs files one issue per incident, never a second on later runs; without
//! `--notify` nothing is sent; the token is never printed or stored.

#![allow(clippy::unwrap_used)]

use launchplane_e2e::github::GitHubFake;
use launchplane_e2e::sim::{DokploySim, SeedApplication, SimConfig};
use std::path::Path;
use std::process::{Command, Output};

const TOKEN: &str = "ghp_drift-check-s3ntinel";

fn reconcile(dir: &Path, state: &Path, notify: bool) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_launchplane"));
    command
        .args(["reconcile", "--once", "--output", "json", "-f"])
        .arg(dir)
        .arg("--state")
        .arg(state)
        .env_remove("LAUNCHPLANE_API_KEY_DOKPLOY");
    if notify {
        command.arg("--notify");
    }
    command.output().unwrap()
}

/// A lane of shop on an Observe target running another image than its Artifact (drift the
/// check may not correct), incidents opening after 1 s, and the `ci` NotificationPolicy
/// sending every incident of shop to the GitHub fake.
fn folder(dir: &Path, sim: &DokploySim, app: &str, github: &str) {
    let (url, key) = (sim.base_url(), sim.api_key());
    let digest = "a".repeat(64);
    let commit = "b".repeat(40);
    let yaml = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: dokploy-key}}\nstringData: {{api-key: {key}}}\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata: {{name: github-token}}\nstringData: {{token: {TOKEN}}}\n---\n\
         apiVersion: launchplane.dev/v1alpha1\nkind: ProviderConfig\nmetadata: {{name: dokploy}}\n\
         spec:\n  url: {url}\n  apiKeySecretRef: {{name: dokploy-key, key: api-key}}\n---\n\
         apiVersion: launchplane.dev/v1alpha1\nkind: Product\nmetadata: {{name: shop}}\n\
         spec:\n  displayName: Shop\n  repository: github.com/acme/shop\n  imageRepository: ghcr.io/acme/shop\n  runtimePort: 8080\n  \
         incidents: {{openAfter: 1s, resolveAfter: 1s}}\n---\n\
         apiVersion: launchplane.dev/v1alpha1\nkind: Artifact\nmetadata: {{name: shop-1}}\n\
         spec:\n  image: {{repository: ghcr.io/acme/shop, digest: \"sha256:{digest}\"}}\n  \
         source: {{repository: github.com/acme/shop, commit: \"{commit}\"}}\n---\n\
         apiVersion: launchplane.dev/v1alpha1\nkind: ProviderTarget\nmetadata: {{name: shop-testing}}\n\
         spec:\n  providerConfigRef: {{name: dokploy}}\n  targetCategory: application\n  targetId: {app}\n  \
         displayName: shop-testing\n  managementPolicy: Observe\n---\n\
         apiVersion: launchplane.dev/v1alpha1\nkind: Lane\nmetadata: {{name: shop-testing}}\n\
         spec:\n  productRef: {{name: shop}}\n  stage: testing\n  targetRef: {{name: shop-testing}}\n  \
         artifactRef: {{name: shop-1}}\n---\n\
         apiVersion: launchplane.dev/v1alpha1\nkind: NotificationPolicy\nmetadata: {{name: ci}}\n\
         spec:\n  destinations:\n    - name: issues\n      githubIssue:\n        apiUrl: {github}\n        \
         owner: acme\n        repo: shop-drift\n        labels: [drift]\n        \
         tokenSecretRef: {{name: github-token, key: token}}\n  routes:\n    - destinations: [issues]\n"
    );
    std::fs::write(dir.join("shop.yaml"), yaml).unwrap();
}

/// The Incidents the state folder holds, as (name, state): their statuses, one file each
/// under `incident/<namespace>/`.
fn incidents(state: &Path) -> Vec<(String, String)> {
    let dir = state.join("incident").join("default");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = entries
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let name = file
                .strip_suffix(".json")
                .filter(|n| !n.starts_with('.'))?
                .to_string();
            let text = std::fs::read_to_string(e.path()).ok()?;
            let v: serde_json::Value = serde_json::from_str(&text).ok()?;
            Some((name, v["state"].as_str().unwrap_or_default().to_string()))
        })
        .collect();
    out.sort();
    out
}

fn everything_written(state: &Path, outputs: &[&Output]) -> String {
    let mut all = String::new();
    for entry in walk(state) {
        all.push_str(&std::fs::read_to_string(entry).unwrap_or_default());
    }
    for out in outputs {
        all.push_str(&String::from_utf8_lossy(&out.stdout));
        all.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    all
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
    }
    files
}

#[test]
fn drift_that_lasts_across_runs_files_one_github_issue_per_incident_and_never_a_second() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = runtime.block_on(DokploySim::start(SimConfig::default())).unwrap();
    let github = runtime.block_on(GitHubFake::start(TOKEN)).unwrap();
    let (_, env) = sim.seed_project("shop");
    let app = sim
        .seed_application(
            &env,
            SeedApplication {
                name: "shop-testing".into(),
                docker_image: Some("ghcr.io/acme/shop:hand-deployed".into()),
                deployed: true,
                ..SeedApplication::default()
            },
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (manifests, state) = (dir.path().join("m"), dir.path().join("state"));
    std::fs::create_dir(&manifests).unwrap();
    folder(&manifests, &sim, &app, &github.base_url());

    // First run: the drift is seen, not yet for openAfter.
    let first = reconcile(&manifests, &state, true);
    assert_eq!(
        first.status.code(),
        Some(1),
        "drift exits 1: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(github.issues().is_empty(), "nothing is open yet");
    assert!(
        incidents(&state).iter().all(|(_, s)| s == "Pending"),
        "{:?}",
        incidents(&state)
    );

    // A later run without --notify opens the incidents but sends nothing.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let quiet = reconcile(&manifests, &state, false);
    let open: Vec<String> = incidents(&state)
        .into_iter()
        .filter(|(_, s)| s == "Open")
        .map(|(n, _)| n)
        .collect();
    assert!(
        !open.is_empty(),
        "the drift outlasted openAfter: {:?}",
        incidents(&state)
    );
    assert!(github.issues().is_empty(), "without --notify nothing is sent");
    assert!(String::from_utf8_lossy(&quiet.stderr).contains("nothing is sent without --notify"));

    // With --notify: one issue per open incident, each carrying its incident's marker.
    let filed = reconcile(&manifests, &state, true);
    let issues = github.issues();
    assert_eq!(issues.len(), open.len(), "{issues:#?}");
    for name in &open {
        let carrying: Vec<_> = issues
            .iter()
            .filter(|i| {
                i.body
                    .as_deref()
                    .unwrap_or_default()
                    .contains(&format!("launchplane:incident default/{name} "))
            })
            .collect();
        assert_eq!(carrying.len(), 1, "{name}: {issues:#?}");
        assert_eq!(carrying[0].labels, vec!["drift".to_string()]);
    }

    // Later runs: no second issue, no comment (no reminder is configured).
    let again = reconcile(&manifests, &state, true);
    let last = reconcile(&manifests, &state, true);
    assert_eq!(github.issues().len(), open.len(), "never a second issue");
    assert!(github.comments().is_empty(), "{:#?}", github.comments());

    let written = everything_written(&state, &[&first, &quiet, &filed, &again, &last]);
    assert!(!written.contains(TOKEN), "the token was printed or stored");
    runtime.block_on(sim.shutdown());
}

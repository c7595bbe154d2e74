//! The README's main command, `make demo`, as a test: the real binary over docs/examples/
//! against the Dokploy simulator shows every verdict, step by step.

#![allow(clippy::unwrap_used)]

#[path = "../../examples/demo/scenario.rs"]
mod scenario;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_demo_shows_every_verdict() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let work = tempfile::tempdir().unwrap();
    let steps = scenario::run(
        Path::new(env!("CARGO_BIN_EXE_launchplane")),
        &root.join("docs/examples"),
        &work.path().join("demo"),
    )
    .unwrap();
    assert_eq!(steps.len(), 3);
    assert!(steps.iter().all(|s| !s.title.is_empty()));

    let [declared, drifted, outage] = [&steps[0], &steps[1], &steps[2]];
    assert_eq!(
        declared.verdicts,
        set(&["Matched", "Missing"]),
        "{}",
        declared.output
    );
    assert!(declared.output.contains("NoTargetNamed"), "{}", declared.output);
    // The shop-testing lane deployed its artifact and verified the identity it injected.
    let state = work.path().join("demo/state");
    let lane = |name: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(state.join(format!("lane/default/{name}.json"))).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let testing = lane("shop-testing");
    assert_eq!(testing["inventory"]["artifact"], "shop-3f2a9c1", "{testing}");
    let record = testing["inventory"]["deploymentRecord"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(record.starts_with("dr-"), "{record}");
    assert!(state.join(format!("records/default/{record}.json")).exists());
    let identity_verified = testing["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "RuntimeIdentityVerified")
        .unwrap()
        .clone();
    assert_eq!(identity_verified["status"], "True", "{testing}");
    assert!(
        declared
            .output
            .lines()
            .any(|l| l.starts_with("Lane ") && l.contains("shop-testing") && l.contains("AllAspectsMatched")),
        "{}",
        declared.output
    );
    // shop-prod was not deployed: its inventory comes from the record given as evidence.
    assert_eq!(
        lane("shop-prod")["inventory"]["deploymentRecord"],
        "shop-prod-3f2a9c1-a1b2c3d4e5f6"
    );
    assert_eq!(
        drifted.verdicts,
        set(&["Matched", "Mismatch", "Missing"]),
        "{}",
        drifted.output
    );
    assert!(
        drifted.output.contains("differs in displayName"),
        "{}",
        drifted.output
    );
    assert!(drifted.output.contains("shop-2e1d0c9"), "{}", drifted.output);
    // The out-of-band edits show on the lanes with the field named (env values withheld).
    assert!(
        drifted.output.contains("env.APP_ENV differs (value withheld)"),
        "{}",
        drifted.output
    );
    assert!(
        drifted.output.contains("observed \"ghcr.io/acme/shop:latest\""),
        "{}",
        drifted.output
    );
    assert!(!drifted.output.contains("APP_ENV=staging"), "{}", drifted.output);
    assert!(outage.verdicts.contains("Unverifiable"), "{}", outage.output);
    assert!(
        !outage.verdicts.contains("Matched"),
        "an outage never reads as Matched: {}",
        outage.output
    );
    // The Missing preview template is a required failure in every step.
    assert!(steps.iter().all(|s| s.exit_code == 1));
    // The app's own env holds a secret-looking value; no step may print it.
    assert!(steps.iter().all(|s| !s.output.contains("demo-only-secret")));
    // The lane's Secret value went to Dokploy only: not to the output, statuses or records.
    let secret = "FAKE-TESTING-PAYMENT-KEY-REPLACE-ME";
    assert!(steps.iter().all(|s| !s.output.contains(secret)));
    let mut dirs = vec![state.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(!text.contains(secret), "{} holds a secret", path.display());
                assert!(
                    !text.contains("demo-only-secret"),
                    "{} holds a secret",
                    path.display()
                );
            }
        }
    }
}

//! The README's main command, `make demo`, as a test: the real binary over docs/examples/
//! against the Dokploy simulator shows every verdict, step by step.

#![allow(clippy::unwrap_used)]

#[path = "../../examples/demo/scenario.rs"]
mod scenario;

use std::collections::{BTreeMap, BTreeSet};
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
    assert_eq!(steps.len(), 7);
    assert!(steps.iter().all(|s| !s.title.is_empty()));

    let [declared, release, soaked, promoted, rolled_back, drifted, outage] = [
        &steps[0], &steps[1], &steps[2], &steps[3], &steps[4], &steps[5], &steps[6],
    ];
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
    // By the end, testing runs the next release the demo's CI built.
    assert_eq!(
        testing["inventory"]["artifact"],
        scenario::NEXT_ARTIFACT,
        "{testing}"
    );
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
    // Step 1: shop-prod was not deployed: the example Promotion of what it already runs and
    // verifies (from the record given as evidence) succeeded without a deploy.
    assert!(
        declared
            .output
            .lines()
            .any(|l| l.contains("shop-prod-from-testing-3f2a9c1")
                && l.contains("Succeeded")
                && l.contains("nothing deployed")),
        "{}",
        declared.output
    );
    promotion_path(&state, [release, soaked, promoted, rolled_back]);
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

/// Steps 2 to 5: deferred by the soak and denied by the BackupGate gate, denied by it alone,
/// deployed once and verified, rolled back once, verified and held.
fn promotion_path(state: &Path, [release, soaked, promoted, rolled_back]: [&scenario::Step; 4]) {
    let gate_line = |step: &scenario::Step, gate: &str, outcome: &str| {
        step.details
            .iter()
            .any(|l| l.split_whitespace().take(2).eq([gate, outcome]))
    };
    assert!(gate_line(release, "Soak", "Defer"), "{:#?}", release.details);
    assert!(gate_line(release, "BackupGate", "Deny"), "{:#?}", release.details);
    assert!(gate_line(soaked, "Soak", "Allow"), "{:#?}", soaked.details);
    assert!(gate_line(soaked, "BackupGate", "Deny"), "{:#?}", soaked.details);
    assert!(
        gate_line(promoted, "BackupGate", "Allow"),
        "{:#?}",
        promoted.details
    );
    assert!(
        gate_line(rolled_back, "RollbackTarget", "Allow"),
        "{:#?}",
        rolled_back.details
    );

    let status = |kind: &str, name: &str| scenario::status(state, kind, name).unwrap();
    let next = "shop-prod-from-testing-4b5c6d7";
    assert_eq!(status("promotion", next)["phase"], "Succeeded");
    assert_eq!(status("promotion", scenario::ROLLBACK)["phase"], "Succeeded");
    // Each BackupGate authorized exactly the one Promotion that took it.
    assert_eq!(
        status("backupgate", "shop-prod-backup-before-4b5c6d7")["usedBy"],
        next
    );
    assert_eq!(
        status("backupgate", "shop-prod-backup-before-rollback")["usedBy"],
        scenario::ROLLBACK
    );
    assert!(status("backupgate", "shop-prod-backup-20261121")["usedBy"].is_null());

    // Exactly one deploy attempt per Promotion, each record naming its Promotion.
    let mut by_promotion: BTreeMap<String, usize> = BTreeMap::new();
    for entry in std::fs::read_dir(state.join("records/default"))
        .unwrap()
        .flatten()
    {
        let record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(entry.path()).unwrap()).unwrap();
        if let Some(p) = record["spec"]["promotionRef"]["name"].as_str() {
            *by_promotion.entry(p.to_string()).or_default() += 1;
        }
    }
    assert_eq!(
        by_promotion,
        BTreeMap::from([(next.to_string(), 1), (scenario::ROLLBACK.to_string(), 1)])
    );

    // The rollback holds the lane on the older artifact, which the app echoed.
    let prod = status("lane", "shop-prod");
    assert_eq!(prod["inventory"]["artifact"], "shop-3f2a9c1", "{prod}");
    assert_eq!(prod["inventory"]["promotion"], scenario::ROLLBACK, "{prod}");
    assert_eq!(prod["hold"]["promotion"], scenario::ROLLBACK, "{prod}");
    assert_eq!(prod["desired"]["promotion"], scenario::ROLLBACK, "{prod}");
    let tuple = &status("promotion", scenario::ROLLBACK)["releaseTuple"];
    assert_eq!(tuple["artifact"], "shop-3f2a9c1", "{tuple}");
    assert_eq!(tuple["backupGate"], "shop-prod-backup-before-rollback", "{tuple}");
}

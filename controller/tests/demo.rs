//! The README's main command, `make demo`, as a test: the real binary over docs/examples/
//! against the Dokploy simulator shows every verdict, step by step.

#![allow(clippy::unwrap_used)]

#[path = "../examples/demo/scenario.rs"]
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
}

//! `make demo`: Launchplane's standalone mode against the Dokploy simulator.
//!
//! Usage: `demo [PATH-TO-launchplane]` (default `target/debug/launchplane`). Starts and stops
//! everything it needs; leaves the rendered manifests and state under `target/demo/`.

mod scenario;

use anyhow::{Result, bail};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn main() -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let launchplane = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/debug/launchplane"));
    let work = root.join("target/demo");
    println!("Launchplane demo: standalone reconcile of docs/examples/ against a simulated Dokploy");
    println!("manifests and state: {}", work.display());
    println!(
        "(the demo cuts prod's soak from 1h to {}s so it can wait it out)\n",
        scenario::SOAK_SECONDS
    );

    let steps = scenario::run(&launchplane, &root.join("docs/examples"), &work)?;
    let mut seen = BTreeSet::new();
    for step in &steps {
        println!("== {}", step.title);
        let rounds = match step.rounds {
            1 => String::new(),
            n => format!(", the last of {n} rounds a second apart"),
        };
        println!(
            "$ launchplane reconcile -f target/demo/manifests --once --state target/demo/state   (exit {}{rounds})",
            step.exit_code
        );
        println!("{}", step.output);
        for line in &step.details {
            println!("{line}");
        }
        if !step.details.is_empty() {
            println!();
        }
        seen.extend(step.verdicts.iter().cloned());
    }
    println!(
        "verdicts shown: {}",
        seen.iter().cloned().collect::<Vec<_>>().join(", ")
    );
    let wanted = ["Matched", "Mismatch", "Missing", "Unverifiable"];
    let missing: Vec<&str> = wanted.iter().copied().filter(|v| !seen.contains(*v)).collect();
    if !missing.is_empty() {
        bail!("the demo should have shown {} but did not", missing.join(", "));
    }
    println!("simulator stopped; demo complete");
    Ok(())
}

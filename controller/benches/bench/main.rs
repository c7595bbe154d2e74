//! Launchplane benchmarks (`make bench`): measurements, not timed tests.
//!
//! Runs against the in-process Dokploy simulator (launchplane-e2e) and prints one table row
//! per measurement with the design target beside it; writes the same rows as JSON. One module
//! per section, in the order they run:
//!
//! 1. [`pure_core`]: ProviderTarget verifications/s and RuntimeIdentity classifications/s;
//! 2. [`calls`]: Dokploy calls per poll cycle at 100 / 1,000 / 10,000 tracked targets;
//! 3. [`drift`]: drift detection latency after an out-of-band rename;
//! 4. [`steady`]: steady-state memory and CPU with 10,000 ProviderTargets (in a child process
//!    of this binary, so the simulator's own memory and CPU are not counted);
//! 5. [`probes`]: health/identity probes per second through the shared prober;
//! 7. [`lanes`]: `lane::plan` per second, and N settled lanes in a child process;
//! 6. [`apply`]: apply → verdict latency (needs a real API server: skipped without KUBECONFIG).
//!
//! [`report`] holds the row every section reports with, [`fixtures`] what they measure on,
//! [`measure`] how (rates, RSS, CPU, child processes, the heap profile).
//! `cargo bench -p launchplane --features heap-profile --bench bench -- --only steady,lanes`
//! runs the two children on dhat's allocator and adds rows that take their live heap apart by
//! holder (the RSS and CPU rows of such a run include the profiler's own cost).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod apply;
mod calls;
mod drift;
mod fixtures;
mod lanes;
mod measure;
mod probes;
mod pure_core;
mod report;
mod steady;

use clap::{Parser, Subcommand};
use report::{Report, Section};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "bench",
    about = "Launchplane benchmarks against the Dokploy simulator"
)]
struct Args {
    /// Smaller sizes (1,000 lanes, 1,000 steady targets, shorter windows), for a smoke run.
    #[arg(long)]
    quick: bool,
    /// Where the rows are written as JSON (heap profiles go beside it).
    #[arg(long, default_value = "target/bench/results.json")]
    out: PathBuf,
    /// The number of lanes of the lane section (default 10,000; 1,000 with --quick).
    #[arg(long)]
    lanes: Option<usize>,
    /// Run just these sections (comma-separated); all when absent.
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Section>,
    /// Passed by `cargo bench` to every bench binary; nothing to do here.
    #[arg(long, hide = true)]
    bench: bool,
    #[command(subcommand)]
    child: Option<Child>,
}

/// The steady-state children the sections start (this same binary).
#[derive(Debug, Subcommand)]
enum Child {
    #[command(hide = true)]
    ChildSteady(steady::ChildArgs),
    #[command(hide = true)]
    ChildLanes(lanes::ChildArgs),
}

/// The sizes and durations of one run.
struct Plan {
    quick: bool,
    sizes: &'static [usize],
    steady_n: usize,
    lanes_n: usize,
    /// How long each throughput loop runs at least.
    min: Duration,
    out: PathBuf,
}

impl Plan {
    fn of(args: &Args) -> Plan {
        let quick = args.quick;
        Plan {
            quick,
            sizes: if quick { &[100, 1000] } else { &[100, 1000, 10_000] },
            steady_n: if quick { 1000 } else { 10_000 },
            lanes_n: args.lanes.unwrap_or(if quick { 1000 } else { 10_000 }),
            min: Duration::from_millis(if quick { 200 } else { 1000 }),
            out: args.out.clone(),
        }
    }

    /// By the results file: `target/bench/dhat-lanes.json` beside `results.json`.
    fn heap_file(&self, name: &str) -> PathBuf {
        let dir = self.out.parent().unwrap_or(Path::new("."));
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        dir.join(format!("dhat-{name}.json"))
    }

    /// Seconds, shorter in a quick run.
    fn secs(&self, quick: u64, full: u64) -> Duration {
        Duration::from_secs(if self.quick { quick } else { full })
    }
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match args.child {
        Some(Child::ChildSteady(child)) => return runtime.block_on(steady::child(child)),
        Some(Child::ChildLanes(child)) => return runtime.block_on(lanes::child(child)),
        None => {}
    }
    let plan = Plan::of(&args);
    let run = |section: Section| args.only.is_empty() || args.only.contains(&section);

    let machine = measure::machine();
    println!(
        "Launchplane benchmarks ({})",
        if plan.quick { "quick" } else { "full" }
    );
    println!("machine: {machine}");
    if measure::heap::ENABLED {
        println!("heap-profile build: RSS and CPU figures include the profiler's own cost");
    }
    let mut report = Report::new();
    if run(Section::Core) {
        pure_core::run(&mut report, plan.sizes, plan.min);
    }
    runtime.block_on(async {
        let kept = if run(Section::Calls) {
            calls::run(&mut report, plan.sizes, 10).await
        } else {
            None
        };
        if run(Section::Drift) {
            let n = if plan.quick { 100 } else { 1000 };
            drift::run(&mut report, n, Duration::from_millis(200), 10).await;
        }
        if run(Section::Steady) {
            steady::run(
                &mut report,
                kept,
                plan.steady_n,
                Duration::from_secs(5),
                plan.secs(10, 30),
                plan.heap_file("steady"),
            )
            .await;
        } else if let Some((sim, _)) = kept {
            sim.shutdown().await;
        }
        if run(Section::Probes) {
            probes::run(&mut report, 8, plan.secs(1, 3)).await;
        }
        if run(Section::Lanes) {
            lanes::run(
                &mut report,
                plan.lanes_n,
                Duration::from_secs(10),
                plan.secs(20, 30),
                plan.min,
                plan.heap_file("lanes"),
            )
            .await;
        }
    });
    if run(Section::Apply) {
        let (n, lanes) = if plan.quick { (20, 3) } else { (200, 20) };
        runtime.block_on(apply::run(&mut report, n, lanes));
    }

    println!("\n{}", report.summary());
    if let Some(dir) = plan.out.parent() {
        std::fs::create_dir_all(dir).expect("create the output folder");
    }
    let doc = json!({"machine": machine, "quick": plan.quick, "rows": report.rows()});
    std::fs::write(&plan.out, serde_json::to_string_pretty(&doc).unwrap()).expect("write results");
    println!("wrote {}", plan.out.display());
}

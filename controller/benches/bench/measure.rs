//! How the sections measure: throughput loops, this process's RSS and CPU, the machine, the
//! child processes that hold a steady state, and (with `--features heap-profile`) live heap.

use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::time::{Duration, Instant};

/// Run `f` (which does `per_call` operations) repeatedly for at least `min`; ops per second.
pub fn rate(min: Duration, per_call: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    let started = Instant::now();
    let mut calls = 0usize;
    while started.elapsed() < min {
        f();
        calls += 1;
    }
    (calls * per_call) as f64 / started.elapsed().as_secs_f64()
}

/// A `/proc/self/status` field in kB (`VmRSS:`, `VmHWM:`); 0 when unreadable.
pub fn proc_status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// User + system CPU of this process, in ms (from /proc/self/stat, 100 ticks per second).
pub fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the `(comm)` part; utime and stime are fields 14 and 15 (1-based).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // rest starts at field 3 (state), so field 14 is index 11.
    (ticks(11) + ticks(12)) * 10.0
}

pub fn kb_to_mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// What the results file says of the machine.
pub fn machine() -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    json!({
        "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": model,
        "memory_mb": mem_kb / 1024,
        "date": Timestamp::now().round(jiff::Unit::Second).unwrap().to_string(),
        "heap_profile": heap::ENABLED,
    })
}

/// Run this bench binary again with `args` (a hidden child subcommand), so what the child
/// holds is measured without the simulator's memory and CPU, and parse the line it prints
/// after `prefix`. On failure, the child's exit status and stderr.
pub async fn run_child<T: DeserializeOwned>(args: Vec<String>, prefix: &str) -> Result<T, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current exe: {e}"))?;
    let output = tokio::task::spawn_blocking(move || std::process::Command::new(exe).args(args).output())
        .await
        .map_err(|e| format!("join: {e}"))?
        .map_err(|e| format!("spawning the child: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| format!("{}\n{}", output.status, String::from_utf8_lossy(&output.stderr)))
}

/// Print a child's result on the line the parent looks for.
pub fn child_result(prefix: &str, result: &impl serde::Serialize) {
    println!("{prefix}{}", serde_json::to_string(result).unwrap());
}

/// Live heap, by structure: with `--features heap-profile` the bench runs on dhat's allocator
/// and the children profile their heap; without it every figure here is absent and the
/// allocator is the system's (the RSS and CPU rows are only meaningful then).
pub mod heap {
    use crate::report::{Report, Row};
    use serde::{Deserialize, Serialize};

    pub const ENABLED: bool = cfg!(feature = "heap-profile");

    /// Bytes the structure named `holder` kept alive (the drop in live heap when it was freed).
    #[derive(Clone, Debug, Serialize, Deserialize)]
    pub struct Share {
        pub holder: String,
        pub bytes: u64,
    }

    /// The live heap of a child, taken apart.
    #[derive(Clone, Debug, Default, Serialize, Deserialize)]
    pub struct Breakdown {
        /// Live heap at the end of the measured window.
        pub live: u64,
        /// Live heap at its peak (dhat's t-gmax), transient copies included.
        pub peak: u64,
        pub shares: Vec<Share>,
    }

    /// Takes the live heap apart at the end of a child: free the holders one by one, calling
    /// [`Shares::freed`] after each, and what each freed is its share.
    pub struct Shares(Option<(Breakdown, u64)>);

    impl Shares {
        /// Nothing is recorded without a running profile.
        pub fn start() -> Shares {
            Shares(stats().map(|(live, peak)| {
                let breakdown = Breakdown {
                    live,
                    peak,
                    shares: Vec::new(),
                };
                (breakdown, live)
            }))
        }

        /// `holder` has just been freed.
        pub fn freed(&mut self, holder: &str) {
            if let (Some((breakdown, before)), Some((now, _))) = (&mut self.0, stats()) {
                breakdown.shares.push(Share {
                    holder: holder.into(),
                    bytes: before.saturating_sub(now),
                });
                *before = now;
            }
        }

        /// What is still live is listed as the rest.
        pub fn finish(self) -> Option<Breakdown> {
            self.0.map(|(mut breakdown, rest)| {
                breakdown.shares.push(Share {
                    holder: "the rest (what the holders above do not cover)".into(),
                    bytes: rest,
                });
                breakdown
            })
        }
    }

    /// One `info` row for the peak, one for the live heap, and one per holder.
    pub fn report(report: &mut Report, n: usize, heap: &Breakdown) {
        let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
        report.add(
            Row::measured("live heap at its peak (heap profile)", mb(heap.peak), "MB")
                .at(n)
                .note("transient copies included (dhat's t-gmax)"),
        );
        report.add(
            Row::measured("live heap at the end of the window", mb(heap.live), "MB")
                .at(n)
                .note("taken apart in the rows below: what freeing each holder gave back"),
        );
        for share in &heap.shares {
            report.add(
                Row::measured(format!("  held by {}", share.holder), mb(share.bytes), "MB")
                    .at(n)
                    .note(format!(
                        "{:.0} bytes per item",
                        share.bytes as f64 / n.max(1) as f64
                    )),
            );
        }
    }

    #[cfg(feature = "heap-profile")]
    mod profiler {
        #[global_allocator]
        static ALLOC: dhat::Alloc = dhat::Alloc;

        pub type Profiler = dhat::Profiler;

        pub fn start(file: &str) -> Option<Profiler> {
            Some(
                dhat::Profiler::builder()
                    .file_name(file)
                    .trim_backtraces(Some(16))
                    .build(),
            )
        }

        pub fn stats() -> Option<(u64, u64)> {
            let s = dhat::HeapStats::get();
            Some((s.curr_bytes as u64, s.max_bytes as u64))
        }
    }

    #[cfg(not(feature = "heap-profile"))]
    mod profiler {
        pub type Profiler = ();

        pub fn start(_file: &str) -> Option<Profiler> {
            None
        }

        pub fn stats() -> Option<(u64, u64)> {
            None
        }
    }

    /// A running heap profile (none without the feature).
    // Held, never read: dropping it stops the profile and writes the file.
    pub struct Profile(#[allow(dead_code)] Option<profiler::Profiler>);

    /// Start profiling; dhat writes the profile to `file` when it stops (viewable with dhat's
    /// dh_view.html).
    pub fn start(file: &str) -> Profile {
        Profile(profiler::start(file))
    }

    impl Profile {
        /// Stop profiling and write the profile.
        pub fn stop(self) {}
    }

    /// (live bytes, peak live bytes), while a profile runs.
    fn stats() -> Option<(u64, u64)> {
        profiler::stats()
    }
}

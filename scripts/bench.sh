#!/usr/bin/env bash
# `make bench`: build the benchmark binary in release (cargo's bench profile) and run it
# against the in-process Dokploy simulator. Prints a table; writes target/bench/results.json.
#
#   ./scripts/bench.sh              full run (100 / 1,000 / 10,000 targets and 10,000 lanes;
#                                   about 5 minutes on 2 cores)
#   ./scripts/bench.sh --quick      smaller sizes (1,000 lanes), for a smoke run
#   ./scripts/bench.sh --lanes N    the lane section at N lanes
#   ./scripts/bench.sh --only steady,lanes
#                                   just those sections (core, calls, drift, steady, probes,
#                                   lanes, apply); combines with the options above
#
# apply → verdict needs KUBECONFIG (the row says skipped without one).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
out="$target_dir/bench/results.json"
mkdir -p "$(dirname "$out")"
echo "building the benchmarks (release)…"
cargo bench -q -p launchplane --bench bench --no-run
cargo bench -q -p launchplane --bench bench -- --out "$out" "$@"

#!/usr/bin/env bash
# `make bench`: build the benchmark binary in release (cargo's bench profile) and run it
# against the in-process Dokploy simulator. Prints a table; writes target/bench/results.json.
#
#   ./scripts/bench.sh            full run (100 / 1,000 / 10,000 targets; a few minutes)
#   ./scripts/bench.sh --quick    smaller sizes, for a smoke run
#
# Rows that need lanes (issue 5) say "not measured yet"; apply → verdict needs KUBECONFIG.
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

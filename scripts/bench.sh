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
#   ./scripts/bench.sh --help       the bench's options (clap; an unknown section is an error)
#
# The bench is controller/benches/bench/: one module per section, one row type (report.rs),
# the fixtures (fixtures.rs). `cargo bench -p launchplane --features heap-profile --bench bench
# -- --only steady,lanes` takes the steady-state children's live heap apart by holder
# (docs/performance.md).
#
# apply → verdict needs a real API server: KUBECONFIG's when set, else the project's own
# (scripts/cluster.sh, started in target/bench-cluster and stopped afterwards) when Go is
# installed; without either the row says skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
wants_apply() { # the apply section runs unless --only leaves it out (or only help is asked)
    local previous="" arg
    for arg in "$@"; do
        if [[ "$arg" == "--help" || "$arg" == "-h" ]]; then return 1; fi
        if [[ "$previous" == "--only" && ",$arg," != *,apply,* ]]; then return 1; fi
        previous="$arg"
    done
}
if [[ -z "${KUBECONFIG:-}" ]] && command -v go >/dev/null && wants_apply "$@"; then
    export LAUNCHPLANE_CLUSTER_DIR="$root/target/bench-cluster"
    scripts/cluster.sh start
    trap 'scripts/cluster.sh stop' EXIT
    eval "$(scripts/cluster.sh env)"
fi
target_dir=${CARGO_TARGET_DIR:-$root/target}
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
out="$target_dir/bench/results.json"
mkdir -p "$(dirname "$out")"
echo "building the benchmarks (release)…"
cargo bench -q -p launchplane --bench bench --no-run
cargo bench -q -p launchplane --bench bench -- --out "$out" "$@"

#!/usr/bin/env bash
# Run every end-to-end test (every `<crate>/tests/e2e_*.rs`) against a real Kubernetes API
# server, after applying the CRDs from crds/. Each test creates its own temporary namespaces
# and deletes them afterwards.
#
# Which API server:
# - KUBECONFIG set: that cluster (kind, k3d, any other; see docs/e2e.md). It wins.
# - otherwise, with Go installed: the project's own control plane (scripts/cluster.sh: etcd,
#   kube-apiserver and kube-controller-manager built from their Go modules, on loopback),
#   started here and stopped when the tests end. The first build on a machine takes minutes;
#   later runs reuse the binaries.
# - otherwise nothing runs: each test is listed as `SKIPPED: <test>: <reason>` and the script
#   exits 0 — except under CI (CI=true), where a skipped e2e tier is a failure.
#
# Usage: scripts/e2e.sh                      (make e2e; make test runs it last)
#        E2E_FILTER=verdict scripts/e2e.sh   # passed to each test binary as a name filter
# Exits non-zero when a test fails, the CRDs cannot be applied, or (in CI) the tier is skipped.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
CARGO="${CARGO:-cargo}"
started=$SECONDS

say() { echo "e2e: $*"; }

# --- which tests: <package> <test target> per line ----------------------------------------
tests=()
shopt -s nullglob
for file in */tests/e2e_*.rs; do
    crate_dir="${file%%/*}"
    package="$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$crate_dir/Cargo.toml" | head -n 1)"
    [[ -n "$package" ]] || { echo "e2e: cannot read the package name of $crate_dir/Cargo.toml" >&2; exit 1; }
    target="$(basename "$file" .rs)"
    tests+=("$package $target")
done
shopt -u nullglob
if ((${#tests[@]} == 0)); then
    say "no tests named */tests/e2e_*.rs"
    exit 0
fi

skip_all() {
    local reason="$1" entry
    for entry in "${tests[@]}"; do
        echo "SKIPPED: ${entry#* }: $reason"
    done
    if [[ "${CI:-}" == "true" ]]; then
        echo "e2e: the e2e tier must run in CI, and it was skipped: $reason" >&2
        exit 1
    fi
    exit 0
}

# --- which cluster? -----------------------------------------------------------------------
if [[ -n "${KUBECONFIG:-}" ]]; then
    for config in ${KUBECONFIG//:/ }; do
        [[ -r "$config" ]] || skip_all "KUBECONFIG names $config, which is not a readable file"
    done
    command -v kubectl >/dev/null || skip_all "kubectl is not installed"
    say "using the cluster in KUBECONFIG"
elif command -v go >/dev/null; then
    # A folder of its own, so a cluster started by hand (target/cluster) is left alone.
    export LAUNCHPLANE_CLUSTER_DIR="${LAUNCHPLANE_CLUSTER_DIR:-$root/target/e2e-cluster}"
    build_started=$SECONDS
    bin_dir="$(scripts/cluster.sh build)"
    say "local API server binaries ready in $((SECONDS - build_started)) s ($bin_dir)"
    scripts/cluster.sh start
    trap 'scripts/cluster.sh stop' EXIT
    eval "$(scripts/cluster.sh env)"
    # The kubectl built with the server, so client and server are one release.
    export PATH="$bin_dir:$PATH"
else
    skip_all "KUBECONFIG is not set and Go is not installed, so the local API server cannot be built (scripts/cluster.sh)"
fi
if ! info="$(kubectl cluster-info --request-timeout=10s </dev/null 2>&1)"; then
    skip_all "the cluster does not answer ($(echo "$info" | grep -v '^$' | tail -n 1))"
fi
say "cluster: $(kubectl config current-context 2>/dev/null || echo '?') ($(echo "$info" | head -n 1 | sed 's/\x1b\[[0-9;]*m//g'))"
# From here on a test that cannot reach the cluster fails instead of skipping.
export LAUNCHPLANE_E2E_REQUIRED=1
# The chart test renders the Helm chart.
HELM="${HELM:-$(scripts/install-helm.sh)}"
export HELM

# --- CRDs -------------------------------------------------------------------------------
say "applying crds/"
kubectl apply --server-side --force-conflicts --field-manager=launchplane-e2e -f crds/
kubectl wait --for=condition=Established --timeout=60s -f crds/

# --- run every test; report all, fail if any failed ---------------------------------------
tier_started=$SECONDS
failed=()
for entry in "${tests[@]}"; do
    package="${entry%% *}"
    target="${entry#* }"
    say "running $target ($package)"
    if "$CARGO" test -p "$package" --test "$target" -- --nocapture ${E2E_FILTER:+"$E2E_FILTER"}; then
        say "PASSED: $target"
    else
        say "FAILED: $target"
        failed+=("$target")
    fi
done
say "the e2e tests took $((SECONDS - tier_started)) s; the whole tier $((SECONDS - started)) s"

if ((${#failed[@]})); then
    echo "e2e: ${#failed[@]} of ${#tests[@]} test(s) failed: ${failed[*]}" >&2
    exit 1
fi
say "all ${#tests[@]} e2e test(s) passed"

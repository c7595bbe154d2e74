#!/usr/bin/env bash
# Run every end-to-end test (every `<crate>/tests/e2e_*.rs`) against the cluster KUBECONFIG
# points at, after applying the CRDs from crds/. Each test creates its own temporary
# namespaces and deletes them afterwards.
#
# Without KUBECONFIG, without kubectl, or when the cluster does not answer, nothing runs:
# each test is listed as `SKIPPED: <test>: <reason>` and the script exits 0, so CI without a
# cluster stays green and says plainly what it did not check. docs/e2e.md shows how to get
# a local cluster (kind, k3d).
#
# Usage: scripts/e2e.sh            (make e2e)
#        E2E_FILTER=verdict scripts/e2e.sh   # passed to each test binary as a name filter
# Exits non-zero when a test fails or the CRDs cannot be applied.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
CARGO="${CARGO:-cargo}"

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
    exit 0
}

# --- is there a cluster? ----------------------------------------------------------------
[[ -n "${KUBECONFIG:-}" ]] || skip_all "KUBECONFIG is not set"
for config in ${KUBECONFIG//:/ }; do
    [[ -r "$config" ]] || skip_all "KUBECONFIG names $config, which is not a readable file"
done
command -v kubectl >/dev/null || skip_all "kubectl is not installed"
if ! info="$(kubectl cluster-info --request-timeout=10s </dev/null 2>&1)"; then
    skip_all "the cluster in KUBECONFIG does not answer ($(echo "$info" | grep -v '^$' | tail -n 1))"
fi
say "cluster: $(kubectl config current-context 2>/dev/null || echo '?') ($(echo "$info" | head -n 1 | sed 's/\x1b\[[0-9;]*m//g'))"

# --- CRDs -------------------------------------------------------------------------------
say "applying crds/"
kubectl apply --server-side --force-conflicts --field-manager=launchplane-e2e -f crds/
kubectl wait --for=condition=Established --timeout=60s -f crds/

# --- run every test; report all, fail if any failed ---------------------------------------
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

if ((${#failed[@]})); then
    echo "e2e: ${#failed[@]} of ${#tests[@]} test(s) failed: ${failed[*]}" >&2
    exit 1
fi
say "all ${#tests[@]} e2e test(s) passed"

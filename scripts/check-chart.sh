#!/usr/bin/env bash
# Check the Helm chart: lint (with the values schema), render it in several configurations,
# parse the output, assert least-privilege RBAC and the controller's Deployment shape, and
# verify the chart's CRDs are exact copies of crds/.
#
# Usage: scripts/check-chart.sh        (HELM=/path/to/helm to skip the pinned local install)
# Exits non-zero when any check fails; every check runs, and the failures are listed at the end.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
chart="charts/launchplane"
release="launchplane"
release_ns="launchplane-system"

failures=()
step() { echo "check-chart: $*"; }
fail() { echo "check-chart: FAIL: $*" >&2; failures+=("$*"); }

HELM="${HELM:-$(scripts/install-helm.sh)}"
step "using $("$HELM" version --template '{{.Version}}') at $HELM"

if ! python3 -c 'import yaml' 2>/dev/null; then
    step "PyYAML missing: installing it with pip"
    python3 -m pip install --quiet pyyaml >&2 || { echo "check-chart: FAIL: cannot install PyYAML" >&2; exit 1; }
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# --- lint, which also validates values against values.schema.json -------------------------
lint() {
    local label="$1"; shift
    if "$HELM" lint --strict "$chart" "$@" >"$work/lint.out" 2>&1; then
        step "helm lint ($label): ok"
    else
        cat "$work/lint.out" >&2
        fail "helm lint ($label)"
    fi
}
lint "defaults"
lint "replicaCount=2" --set replicaCount=2
lint "watchNamespace + serviceMonitor + networkPolicy" \
    --set watchNamespace=apps --set metrics.serviceMonitor.enabled=true --set networkPolicy.enabled=true

# The schema must reject bad values, not just accept good ones.
for bad in replicaCount=0 logFormat=xml image.digest=latest watchNamespace=Not_A_Namespace unknownKey=1 \
    approvalPolicy.enabled=maybe approvalPolicy.unknownKey=1; do
    if "$HELM" lint "$chart" --set "$bad" >"$work/lint.out" 2>&1; then
        fail "helm lint accepted the invalid value $bad: values.schema.json is not enforced"
    elif ! grep -q "values don't meet the specifications of the schema" "$work/lint.out"; then
        cat "$work/lint.out" >&2
        fail "helm lint rejected $bad, but not through values.schema.json"
    fi
done
step "values.schema.json rejects invalid values: ok"

# --- render and check ------------------------------------------------------------------
cat >"$work/check.py" <<'PY'
"""Parse one `helm template` output and assert what the chart promises."""
import sys
import yaml

path, scenario, replicas, leader, service_monitor, watch_ns, release_ns, approval_policy = sys.argv[1:]
replicas = int(replicas)
leader = leader == "true"
service_monitor = service_monitor == "true"
approval_policy = approval_policy == "true"

KINDS = {
    "providerconfigs", "providertargets", "products", "lanes", "previews",
    "runtimeidentities", "artifacts", "deploymentrecords", "promotions", "backupgates", "approvals",
    "incidents",
}
READ = {"get", "list", "watch"}
LEASE_VERBS = {"get", "create", "update", "patch"}
CORE_READ_ONLY = {"secrets", "configmaps"}
GROUPS = {"launchplane.dev", "", "events.k8s.io", "coordination.k8s.io"}
errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)


try:
    docs = [d for d in yaml.safe_load_all(open(path)) if d is not None]
except yaml.YAMLError as e:
    sys.exit(f"[{scenario}] rendered output is not valid YAML: {e}")

for d in docs:
    check(isinstance(d, dict) and d.get("apiVersion") and d.get("kind")
          and (d.get("metadata") or {}).get("name"),
          f"document without apiVersion/kind/metadata.name: {str(d)[:80]}")
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)

# RBAC: no wildcards, only the groups and resources the controller needs.
roles = by_kind.get("Role", []) + by_kind.get("ClusterRole", [])
check(roles, "no Role or ClusterRole rendered")
lease_rules, event_verbs, granted = [], set(), {}
for role in roles:
    name = f'{role["kind"]}/{role["metadata"]["name"]}'
    for rule in role.get("rules", []):
        groups, resources, verbs = (rule.get(k, []) for k in ("apiGroups", "resources", "verbs"))
        check("nonResourceURLs" not in rule, f"{name}: grants nonResourceURLs")
        for field, values in (("apiGroups", groups), ("resources", resources), ("verbs", verbs),
                              ("resourceNames", rule.get("resourceNames", []))):
            check(not any("*" in v for v in values), f"{name}: wildcard in {field}: {values}")
        check(set(groups) <= GROUPS, f"{name}: unexpected apiGroups {sorted(set(groups) - GROUPS)}")
        for group in groups:
            for res in resources:
                granted.setdefault((group, res), set()).update(verbs)
                if group == "":
                    check(res in CORE_READ_ONLY, f"{name}: core resource {res} is not allowed")
                    check(set(verbs) <= READ, f"{name}: {res} must be read only, got {verbs}")
                if group == "coordination.k8s.io":
                    check(res == "leases", f"{name}: unexpected coordination resource {res}")
                    lease_rules.append((role, verbs))
                if group == "events.k8s.io" and res == "events":
                    event_verbs.update(verbs)
                if group == "launchplane.dev":
                    base = res.split("/")[0]
                    check(base in KINDS, f"{name}: unknown launchplane.dev resource {res}")

check(granted.get(("", "secrets"), set()) <= READ, "secrets must be get/list/watch only")
check(granted.get(("", "secrets"), set()) == READ, "the controller must read secrets (API keys)")
check({"create", "patch"} <= event_verbs, f"events.k8s.io events need create and patch, got {sorted(event_verbs)}")
for kind in KINDS:
    check(READ <= granted.get(("launchplane.dev", kind), set()), f"{kind}: get/list/watch missing")
    check("patch" in granted.get(("launchplane.dev", kind + "/status"), set()), f"{kind}/status: patch missing")
    # Children the controller owns are deleted with history pruning; a Preview whose ttl has
    # passed is deleted by the controller (its finalizer then tears the preview down); a
    # pending Incident that cleared before it opened is deleted by the controller.
    if kind not in ("runtimeidentities", "deploymentrecords", "previews", "incidents"):
        check("delete" not in granted.get(("launchplane.dev", kind), set()), f"{kind}: must not be deletable")
for child in ("runtimeidentities", "deploymentrecords", "incidents"):
    # Incidents are created and deleted; their status is patched on /status.
    needed = {"create", "delete"} if child == "incidents" else {"create", "patch", "delete"}
    check(needed <= granted.get(("launchplane.dev", child), set()),
          f"{child}: {'/'.join(sorted(needed))} missing")

if leader:
    check(lease_rules, "leader election is on but no leases rule is rendered")
else:
    check(not lease_rules, "leases are granted although leader election is off")
for role, verbs in lease_rules:
    check(role["kind"] == "Role" and role["metadata"].get("namespace") == release_ns,
          "leases must be granted by a Role in the release namespace only")
    check(set(verbs) <= LEASE_VERBS, f"leases verbs {verbs} exceed {sorted(LEASE_VERBS)}")

if watch_ns:
    check(not by_kind.get("ClusterRole") and not by_kind.get("ClusterRoleBinding"),
          "watchNamespace is set but cluster-wide RBAC is rendered")
    check(any(r["metadata"].get("namespace") == watch_ns for r in by_kind.get("Role", [])),
          f"no Role in the watched namespace {watch_ns}")
else:
    check(len(by_kind.get("ClusterRole", [])) == 1 and len(by_kind.get("ClusterRoleBinding", [])) == 1,
          "cluster mode needs exactly one ClusterRole and ClusterRoleBinding")

rendered_roles = {(r["kind"], r["metadata"]["name"]) for r in roles}
sas = {s["metadata"]["name"] for s in by_kind.get("ServiceAccount", [])}
for b in by_kind.get("RoleBinding", []) + by_kind.get("ClusterRoleBinding", []):
    ref = (b["roleRef"]["kind"], b["roleRef"]["name"])
    check(ref in rendered_roles, f'{b["kind"]}/{b["metadata"]["name"]} binds missing {ref}')
    for s in b.get("subjects", []):
        check(s["kind"] == "ServiceAccount" and s["name"] in sas and s.get("namespace") == release_ns,
              f'{b["kind"]}/{b["metadata"]["name"]}: unexpected subject {s}')

# Deployment: command line, probes, strategy, restricted security context.
deps = by_kind.get("Deployment", [])
check(len(deps) == 1, f"expected one Deployment, got {len(deps)}")
if deps:
    spec = deps[0]["spec"]
    pod = spec["template"]["spec"]
    check(spec["replicas"] == replicas, f'replicas {spec["replicas"]} != {replicas}')
    strategy = (spec.get("strategy") or {}).get("type", "RollingUpdate")
    check((strategy == "Recreate") == (replicas == 1), f"strategy {strategy} with {replicas} replica(s)")
    check(pod.get("serviceAccountName") in sas, "the pod does not use the chart's ServiceAccount")
    c = pod["containers"][0]
    args = c.get("args", [])
    check(args[:1] == ["controller"], f"container must run `launchplane controller`, args {args}")
    check("--metrics-addr=0.0.0.0:8080" in args, f"--metrics-addr missing: {args}")
    check(any(a.startswith("--log-format=") for a in args), f"--log-format missing: {args}")
    check(("--leader-election" in args) == leader, f"--leader-election with leader={leader}: {args}")
    check((f"--watch-namespace={watch_ns}" in args) == bool(watch_ns), f"--watch-namespace: {args}")
    check(not any(a.startswith("--watch-namespace") for a in args) or watch_ns, f"stray --watch-namespace: {args}")
    check({"name": "http", "containerPort": 8080, "protocol": "TCP"} in c.get("ports", []), "port 8080 named http missing")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = (c.get(probe) or {}).get("httpGet", {})
        check(get.get("path") == path and get.get("port") == "http", f"{probe} must GET {path} on http")
    check(c.get("resources", {}).get("requests") and c.get("resources", {}).get("limits"), "resources not set")
    sc = {**pod.get("securityContext", {}), **c.get("securityContext", {})}
    check(sc.get("runAsNonRoot") is True, "runAsNonRoot must be true")
    check(sc.get("runAsUser") == 65532, "runAsUser must be 65532")
    check(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem must be true")
    check(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation must be false")
    check(sc.get("capabilities", {}).get("drop") == ["ALL"], "capabilities must drop ALL")
    check(sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "seccompProfile must be RuntimeDefault")
    check(not sc.get("privileged"), "privileged must not be set")

svcs = by_kind.get("Service", [])
check(len(svcs) == 1 and {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}
      in svcs[0]["spec"]["ports"], "metrics Service must expose port 8080 named http")
check(bool(by_kind.get("ServiceMonitor")) == service_monitor,
      f"ServiceMonitor rendered={bool(by_kind.get('ServiceMonitor'))}, expected {service_monitor}")
for crd in by_kind.get("CustomResourceDefinition", []):
    names = crd["spec"]["names"]
    check(crd["spec"]["group"] == "launchplane.dev", f'CRD {crd["metadata"]["name"]}: group is not launchplane.dev')
    check(names["plural"] in KINDS, f'CRD {crd["metadata"]["name"]}: kind {names["plural"]} has no RBAC in the chart')
check(not by_kind.get("Secret"), "the chart must not render Secrets (API keys live in ProviderConfig refs)")

# The admission policy that makes an Approval's approver the user who created it.
policies = by_kind.get("ValidatingAdmissionPolicy", [])
bindings = by_kind.get("ValidatingAdmissionPolicyBinding", [])
if not approval_policy:
    check(not policies and not bindings, "approvalPolicy.enabled=false but an admission policy is rendered")
else:
    check(len(policies) == 1 and len(bindings) == 1,
          f"expected one ValidatingAdmissionPolicy and one binding, got {len(policies)} and {len(bindings)}")
if approval_policy and len(policies) == 1 and len(bindings) == 1:
    policy, binding = policies[0], bindings[0]
    pspec, bspec = policy["spec"], binding["spec"]
    check(policy["apiVersion"] == "admissionregistration.k8s.io/v1"
          and binding["apiVersion"] == "admissionregistration.k8s.io/v1",
          "the admission policy must use admissionregistration.k8s.io/v1 (GA since Kubernetes 1.30)")
    check(release_ns in policy["metadata"]["name"],
          f'the cluster-scoped policy name {policy["metadata"]["name"]} must hold the release namespace')
    check(bspec.get("policyName") == policy["metadata"]["name"], "the binding names another policy")
    check(bspec.get("validationActions") == ["Deny"], f'validationActions {bspec.get("validationActions")} != [Deny]')
    check(pspec.get("failurePolicy") == "Fail", "failurePolicy must be Fail: an unproven approver must not pass")
    rules = pspec.get("matchConstraints", {}).get("resourceRules", [])
    check(any(r.get("apiGroups") == ["launchplane.dev"] and r.get("resources") == ["approvals"]
              and {"CREATE", "UPDATE"} <= set(r.get("operations", [])) for r in rules),
          f"the policy must match CREATE and UPDATE of launchplane.dev approvals: {rules}")
    check(not any("*" in res or "/" in res for r in rules for res in r.get("resources", [])),
          "the policy must not match subresources (the controller writes approvals/status)")
    expressions = " ".join(v.get("expression", "") for v in pspec.get("validations", []))
    check("object.spec.approver" in expressions and "request.userInfo.username" in expressions,
          f"the policy must compare spec.approver with the requesting user: {expressions}")
    check(all(v.get("message") and v.get("messageExpression") for v in pspec.get("validations", [])),
          "every validation needs a message and a messageExpression naming the field and the user")
    selector = (bspec.get("matchResources") or {}).get("namespaceSelector")
    if watch_ns:
        check(selector == {"matchLabels": {"kubernetes.io/metadata.name": watch_ns}},
              f"namespace mode: the binding must cover {watch_ns} only, got {selector}")
    else:
        check(not bspec.get("matchResources"), "cluster mode: the binding must cover every namespace")

if errors:
    for e in errors:
        print(f"[{scenario}] {e}", file=sys.stderr)
    sys.exit(1)
summary = ", ".join(f"{k} x{len(v)}" if len(v) > 1 else k for k, v in sorted(by_kind.items()))
print(f"[{scenario}] {len(docs)} documents ok: {summary}")
PY

# render <scenario> <replicas> <leader> <serviceMonitor> <watchNamespace> <approvalPolicy> -- <helm args>
render() {
    local scenario="$1" replicas="$2" leader="$3" sm="$4" watch_ns="$5" approval="$6"; shift 7
    local out="$work/$scenario.yaml"
    if ! "$HELM" template "$release" "$chart" --namespace "$release_ns" "$@" >"$out" 2>"$work/template.err"; then
        cat "$work/template.err" >&2
        fail "helm template ($scenario)"
        return
    fi
    if ! python3 "$work/check.py" "$out" "$scenario" "$replicas" "$leader" "$sm" "$watch_ns" "$release_ns" "$approval" \
        | sed 's/^/check-chart: /'; then
        fail "rendered chart ($scenario)"
    fi
}
render defaults 1 false false "" true -- --include-crds
render ha-namespaced 2 true true apps true -- \
    --set replicaCount=2 --set metrics.serviceMonitor.enabled=true --set watchNamespace=apps \
    --set networkPolicy.enabled=true
render single-with-lease 1 true false "" true -- --set leaderElection.enabled=true --set logFormat=plain
render no-approval-policy 1 false false "" false -- --set approvalPolicy.enabled=false

# --- the chart's CRDs are exact copies of crds/ ------------------------------------------
shopt -s nullglob
src=(crds/*.yaml)
copy=("$chart"/crds/*.yaml)
shopt -u nullglob
if ((${#src[@]} == 0)); then
    fail "crds/ holds no CRD YAML yet: run make crds (it also runs make chart-crds)"
else
    differ=0
    for f in "${src[@]}"; do
        cmp -s "$f" "$chart/crds/$(basename "$f")" || { echo "check-chart: differs or missing: $chart/crds/$(basename "$f")" >&2; differ=1; }
    done
    for f in "${copy[@]}"; do
        [[ -e "crds/$(basename "$f")" ]] || { echo "check-chart: not in crds/: $f" >&2; differ=1; }
    done
    if ((differ)); then
        fail "chart CRDs differ from crds/: run make chart-crds"
    else
        step "chart CRDs are byte-identical to crds/ (${#src[@]} files): ok"
    fi
fi

if ((${#failures[@]})); then
    echo "check-chart: ${#failures[@]} check(s) failed:" >&2
    printf '  - %s\n' "${failures[@]}" >&2
    exit 1
fi
step "all chart checks passed"

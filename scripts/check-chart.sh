#!/usr/bin/env bash
# Check the Helm chart: lint (with the values schema), render it in several configurations,
# parse the output, assert least-privilege RBAC and the controller's Deployment shape, the CI
# identity's AuthenticationConfiguration and per-workflow grants, and verify the chart's CRDs
# are exact copies of crds/.
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

# --- CI identity values (GitHub Actions OIDC; docs/ci-identity.md) --------------------------
# Every form of grant: any ref, a ref, an environment, both; the owners derived from them.
cat >"$work/ci-identity.json" <<'JSON'
{"ciIdentity": {"enabled": true, "audiences": ["https://k8s.example.com", "launchplane"],
  "issuer": {"url": "https://token.actions.githubusercontent.com",
             "certificateAuthority": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}},
 "ciGrants": [
  {"repository": "acme/shop", "workflow": ".github/workflows/deploy.yml", "namespace": "shop",
   "resources": ["artifacts"], "verbs": ["create"]},
  {"repository": "acme/shop", "workflow": ".github/workflows/deploy.yml", "ref": "refs/heads/main",
   "namespace": "shop", "resources": ["artifacts", "deploymentrecords"], "verbs": ["create", "get"]},
  {"repository": "acme/shop", "workflow": ".github/workflows/release.yaml", "environment": "production",
   "namespace": "shop-prod", "resources": ["deploymentrecords"], "verbs": ["create"]},
  {"repository": "globex/Web.Site", "workflow": ".github/workflows/ci.yml", "ref": "refs/tags/v1.2.0",
   "environment": "prod eu", "namespace": "web", "resources": ["artifacts"], "verbs": ["create", "get", "patch"]}]}
JSON
# Grants without the ConfigMap (the admin configured the API server otherwise), another prefix.
cat >"$work/ci-grants-only.json" <<'JSON'
{"ciIdentity": {"prefix": "gha:"},
 "ciGrants": [{"repository": "acme/shop", "workflow": ".github/workflows/deploy.yml", "namespace": "shop",
   "resources": ["artifacts"], "verbs": ["create"]}]}
JSON
# Owners set explicitly, no grants, the v1beta1 API of Kubernetes 1.30 to 1.33.
cat >"$work/ci-owners-v1beta1.json" <<'JSON'
{"ciIdentity": {"enabled": true, "apiVersion": "apiserver.config.k8s.io/v1beta1",
  "audiences": ["https://k8s.example.com"], "repositoryOwners": ["acme", "globex"]}}
JSON
lint "ciIdentity + ciGrants" -f "$work/ci-identity.json"

# grant '<JSON fields>': a valid ciGrants entry with those fields changed or added.
grant() {
    python3 -c 'import json, sys
g = {"repository": "acme/shop", "workflow": ".github/workflows/deploy.yml", "namespace": "shop",
     "resources": ["artifacts"], "verbs": ["create"]}
g.update(json.loads(sys.argv[1]))
print(json.dumps(g))' "${1:-"{}"}"
}
schema_refuses() { # schema_refuses --set|--set-json <value>
    if "$HELM" lint "$chart" "$1" "$2" >"$work/lint.out" 2>&1; then
        fail "helm lint accepted the invalid value $2: values.schema.json is not enforced"
    elif ! grep -q "values don't meet the specifications of the schema" "$work/lint.out"; then
        cat "$work/lint.out" >&2
        fail "helm lint rejected $2, but not through values.schema.json"
    fi
}
for bad in ciIdentity.apiVersion=apiserver.config.k8s.io/v2 ciIdentity.issuer.url=http://token.example \
    ciIdentity.issuer.url=https://token.example/ ciIdentity.issuer.certificateAuthority=not-a-pem \
    ciIdentity.prefix=GitHub ciIdentity.prefix=github-actions ciIdentity.unknownKey=1; do
    schema_refuses --set "$bad"
done
for bad in 'ciIdentity.enabled=true' 'ciIdentity.repositoryOwners=["-acme"]' \
    "ciGrants=[$(grant '{"resources": ["artifacts/status"]}')]" \
    "ciGrants=[$(grant '{"resources": ["secrets"]}')]" \
    "ciGrants=[$(grant '{"resources": []}')]" \
    "ciGrants=[$(grant '{"verbs": ["*"]}')]" \
    "ciGrants=[$(grant '{"verbs": ["escalate"]}')]" \
    "ciGrants=[$(grant '{"workflow": "deploy.yml"}')]" \
    "ciGrants=[$(grant '{"ref": "main"}')]" \
    "ciGrants=[$(grant '{"ref": "refs/heads/a:b"}')]" \
    "ciGrants=[$(grant '{"repository": "shop"}')]" \
    "ciGrants=[$(grant '{"environment": ""}')]" \
    "ciGrants=[$(grant '{"namespace": "Shop"}')]" \
    "ciGrants=[$(grant '{"unknownKey": 1}')]"; do
    schema_refuses --set-json "$bad"
done
step "values.schema.json rejects invalid ciIdentity and ciGrants values: ok"

# What the schema cannot see across fields, the templates refuse with a message naming the fix.
refuse() { # refuse <expected message part> -- <helm args>
    local expected="$1"; shift 2
    if "$HELM" template "$release" "$chart" --namespace "$release_ns" "$@" >"$work/template.out" 2>&1; then
        fail "helm template accepted $*; expected a refusal saying: $expected"
    elif ! grep -qF -- "$expected" "$work/template.out"; then
        cat "$work/template.out" >&2
        fail "helm template refused $*, but without saying: $expected"
    fi
}
refuse 'starts with "system:", which Kubernetes reserves' -- --set ciIdentity.prefix=system: \
    --set-json "ciGrants=[$(grant)]"
refuse 'ciGrants[0] and ciGrants[1] both grant "github-actions:workflow:acme/shop/.github/workflows/deploy.yml" in namespace "shop": merge' -- \
    --set-json "ciGrants=[$(grant), $(grant '{"verbs": ["get"]}')]"
refuse 'its owner "acme" is not in ciIdentity.repositoryOwners [globex], so its tokens could never authenticate' -- \
    --set-json 'ciIdentity={"enabled": true, "audiences": ["k8s"], "repositoryOwners": ["globex"]}' \
    --set-json "ciGrants=[$(grant)]"
refuse 'ciIdentity.repositoryOwners is empty and no ciGrants name a repository' -- \
    --set-json 'ciIdentity={"enabled": true, "audiences": ["k8s"]}'
step "the templates refuse a system: prefix, duplicate grants, a grant of an owner not allowed, no owners: ok"

# --- render and check ------------------------------------------------------------------
cat >"$work/check.py" <<'PY'
"""Parse one `helm template` output and assert what the chart promises."""
import sys
import yaml

import json

path, scenario, replicas, leader, service_monitor, watch_ns, release_ns, approval_policy, ci_values = sys.argv[1:]
replicas = int(replicas)
leader = leader == "true"
service_monitor = service_monitor == "true"
approval_policy = approval_policy == "true"

KINDS = {
    "providerconfigs", "providertargets", "products", "lanes", "previews",
    "runtimeidentities", "artifacts", "deploymentrecords", "promotions", "backupgates", "approvals",
    "incidents", "databootstraps", "notificationpolicies",
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


def component(d):
    return ((d.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/component")


# The CI identity's objects are checked on their own (below), the webhook receiver's by
# webhooks.py; the rest is the controller's.
ci_docs = [d for d in docs if component(d) in ("ci-identity", "ci-grant")]
by_kind = {}
for d in docs:
    if d not in ci_docs and component(d) != "webhooks":
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

# CI identity: the AuthenticationConfiguration for the API server, and one Role and RoleBinding
# per grant binding exactly the group the configuration gives that workflow. The group names
# are computed here independently of the templates.
ci = json.load(open(ci_values)) if ci_values != "-" else {}
identity = ci.get("ciIdentity", {})
grants = ci.get("ciGrants", [])
prefix = identity.get("prefix", "github-actions:")
CI_VERBS = {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}


def ci_group(g):
    group = f'{prefix}workflow:{g["repository"]}/{g["workflow"]}'
    if g.get("ref"):
        group += "@" + g["ref"]
    if g.get("environment"):
        group += ":environment:" + g["environment"]
    return group


config_maps = [d for d in ci_docs if d["kind"] == "ConfigMap"]
if not identity.get("enabled"):
    check(not config_maps, "ciIdentity.enabled is false but the authentication ConfigMap is rendered")
elif check(len(config_maps) == 1, f"expected one authentication ConfigMap, got {len(config_maps)}") or len(config_maps) == 1:
    cm = config_maps[0]
    check(cm["metadata"].get("namespace") == release_ns, "the authentication ConfigMap must be in the release namespace")
    config = yaml.safe_load(cm["data"]["authentication-config.yaml"])
    check(config.get("kind") == "AuthenticationConfiguration", f'kind {config.get("kind")}')
    check(config.get("apiVersion") == identity.get("apiVersion", "apiserver.config.k8s.io/v1"),
          f'apiVersion {config.get("apiVersion")}')
    jwt = config.get("jwt") or []
    check(len(jwt) == 1, f"expected one JWT authenticator, got {len(jwt)}")
    issuer = jwt[0]["issuer"] if jwt else {}
    check(issuer.get("url") == (identity.get("issuer") or {}).get("url", "https://token.actions.githubusercontent.com"),
          f'issuer url {issuer.get("url")}')
    check(issuer.get("audiences") == identity["audiences"], f'audiences {issuer.get("audiences")}')
    check(issuer.get("audienceMatchPolicy") == "MatchAny", "audienceMatchPolicy must be MatchAny")
    ca = (identity.get("issuer") or {}).get("certificateAuthority", "")
    check(bool(issuer.get("certificateAuthority")) == bool(ca), "certificateAuthority rendered iff set")
    owners = identity.get("repositoryOwners") or list(dict.fromkeys(g["repository"].split("/")[0] for g in grants))
    rules = jwt[0].get("claimValidationRules", []) if jwt else []
    owner_rule = "claims.repository_owner in [" + ",".join(f"'{o}'" for o in owners) + "]"
    check(any(r.get("expression") == owner_rule for r in rules), f"no rule `{owner_rule}`: {rules}")
    check(all(r.get("message") for r in rules), "every claim validation rule needs a message")
    mappings = jwt[0].get("claimMappings", {}) if jwt else {}
    check(mappings.get("username", {}).get("expression") == f"'{prefix}' + claims.workflow_ref",
          f'username expression {mappings.get("username")}')
    groups_expression = mappings.get("groups", {}).get("expression", "")
    for part in (f"'{prefix}repository:'", f"'{prefix}workflow:'", "claims.ref", "has(claims.environment)",
                 "':environment:' + claims.environment"):
        check(part in groups_expression, f"the groups expression lacks {part}: {groups_expression}")
    for extra in mappings.get("extra", []):
        check(extra["key"].startswith("launchplane.dev/"), f'extra key {extra["key"]} is not launchplane.dev/')

ci_roles = [d for d in ci_docs if d["kind"] == "Role"]
ci_bindings = [d for d in ci_docs if d["kind"] == "RoleBinding"]
check(not [d for d in ci_docs if d["kind"] not in ("Role", "RoleBinding", "ConfigMap")],
      "CI identity objects other than Roles, RoleBindings and the ConfigMap are rendered")
check(len(ci_roles) == len(grants) and len(ci_bindings) == len(grants),
      f"{len(grants)} grants but {len(ci_roles)} Roles and {len(ci_bindings)} RoleBindings")
for i, g in enumerate(grants):
    want = ci_group(g)
    found = [b for b in ci_bindings if b["metadata"].get("namespace") == g["namespace"]
             and [s.get("name") for s in b.get("subjects", [])] == [want]]
    if not check(len(found) == 1, f"ciGrants[{i}]: no RoleBinding in {g['namespace']} binding exactly {want}") and len(found) == 1:
        b = found[0]
        subject = b["subjects"][0]
        check(subject.get("kind") == "Group" and subject.get("apiGroup") == "rbac.authorization.k8s.io",
              f"ciGrants[{i}]: subject {subject}")
        roles_named = [r for r in ci_roles if r["metadata"].get("namespace") == g["namespace"]
                       and b["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                            "name": r["metadata"]["name"]}]
        check(len(roles_named) == 1, f"ciGrants[{i}]: the RoleBinding's Role is missing")
        for r in roles_named:
            check(r.get("rules") == [{"apiGroups": ["launchplane.dev"], "resources": g["resources"], "verbs": g["verbs"]}],
                  f"ciGrants[{i}]: rules {r.get('rules')}")
for r in ci_roles:
    for rule in r.get("rules", []):
        check(rule.get("apiGroups") == ["launchplane.dev"], f'{r["metadata"]["name"]}: apiGroups {rule.get("apiGroups")}')
        check(set(rule.get("resources", [])) <= KINDS, f'{r["metadata"]["name"]}: resources {rule.get("resources")}')
        check(set(rule.get("verbs", [])) <= CI_VERBS, f'{r["metadata"]["name"]}: verbs {rule.get("verbs")}')
        check(not rule.get("nonResourceURLs") and not rule.get("resourceNames"), f'{r["metadata"]["name"]}: {rule}')

if errors:
    for e in errors:
        print(f"[{scenario}] {e}", file=sys.stderr)
    sys.exit(1)
summary = ", ".join(f"{k} x{len(v)}" if len(v) > 1 else k for k, v in sorted(by_kind.items()))
if ci_docs:
    summary += f"; CI identity: {len(config_maps)} ConfigMap, {len(ci_roles)} grant(s)"
print(f"[{scenario}] {len(docs)} documents ok: {summary}")
PY

cat >"$work/webhooks.py" <<'PY'
"""Assert the webhook receiver's objects in one `helm template` output (docs/github.md).

expect (JSON): {"enabled": bool} and, when enabled, replicas, watch_ns, own_secrets,
notification_secrets, resync (interval or 0), ingress_host, tls.
"""
import json
import sys
import yaml

path, scenario, release_ns, expect = sys.argv[1:]
expect = json.loads(expect)
errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)
    return cond


docs = [d for d in yaml.safe_load_all(open(path)) if d is not None]
labels = lambda d: (d.get("metadata") or {}).get("labels") or {}
mine = [d for d in docs if labels(d).get("app.kubernetes.io/component") == "webhooks"]
others = [d for d in docs if d not in mine]
of = lambda kind, ds=mine: [d for d in ds if d["kind"] == kind]

if not expect["enabled"]:
    check(not mine, f"webhooks.enabled is false but {[d['kind'] for d in mine]} are rendered")
    check(not any("webhooks" in d["metadata"]["name"] for d in others),
          "webhooks.enabled is false but an object named *webhooks* is rendered")
else:
    watch_ns, replicas = expect["watch_ns"], expect["replicas"]
    deps, sas, svcs = of("Deployment"), of("ServiceAccount"), of("Service")
    check(len(deps) == 1 and len(sas) == 1 and len(svcs) == 1,
          f"expected one Deployment, ServiceAccount and Service, got {[d['kind'] for d in mine]}")
    check(len(of("PodDisruptionBudget")) == (1 if replicas > 1 else 0),
          f"a PodDisruptionBudget iff replicas > 1 (replicas {replicas})")
    check(not of("Secret", docs), "the chart must not render Secrets: the webhook secret and token are referenced")
    sa = sas[0]["metadata"]["name"] if sas else None
    controller_deps = of("Deployment", others)
    if deps and controller_deps:
        dep, ctl = deps[0], controller_deps[0]
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        ctl_selector = ctl["spec"]["selector"]["matchLabels"]
        check(not all(pod_labels.get(k) == v for k, v in ctl_selector.items()),
              f"the controller's selector {ctl_selector} picks up the receiver's pods")
        check(all(pod_labels.get(k) == v for k, v in dep["spec"]["selector"]["matchLabels"].items()),
              "the receiver's Deployment does not select its own pods")
        for svc in svcs:
            check(svc["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]
                  and svc["spec"]["ports"][0]["targetPort"] == "http", "the Service must select the receiver's pods on http")
        for s in of("Service", others):
            check(not all(pod_labels.get(k) == v for k, v in s["spec"]["selector"].items()),
                  f"Service {s['metadata']['name']} selects the receiver's pods")
        check(dep["spec"]["replicas"] == replicas, f'replicas {dep["spec"]["replicas"]} != {replicas}')
        pod, cpod = dep["spec"]["template"]["spec"], ctl["spec"]["template"]["spec"]
        check(pod["serviceAccountName"] == sa and sa != cpod["serviceAccountName"],
              "the receiver must run as its own ServiceAccount, never the controller's")
        c, cc = pod["containers"][0], cpod["containers"][0]
        check(pod.get("securityContext") == cpod.get("securityContext")
              and c.get("securityContext") == cc.get("securityContext"),
              "the receiver's security contexts must be the controller's")
        check(c["securityContext"].get("readOnlyRootFilesystem") is True
              and c["securityContext"].get("allowPrivilegeEscalation") is False, "restricted securityContext")
        check(c["image"] == cc["image"], "the receiver runs the controller's image")
        args = c["args"]
        check(args[0] == "webhooks" and "--addr=0.0.0.0:8090" in args, f"must run `launchplane webhooks --addr=0.0.0.0:8090`: {args}")
        check((f"--watch-namespace={watch_ns}" in args) == bool(watch_ns)
              and (bool(watch_ns) or not any(a.startswith("--watch-namespace") for a in args)), f"--watch-namespace: {args}")
        own = expect["own_secrets"]
        check(f"--github-secret={own[0]}" in args and "--github-secret-key=webhook-secret" in args, f"--github-secret: {args}")
        resync = expect["resync"]
        check((f"--resync-interval={resync}" in args) == bool(resync)
              and (bool(resync) or not any(a.startswith(("--resync", "--github-token", "--github-api")) for a in args)),
              f"resync flags with interval {resync}: {args}")
        if resync:
            check(f"--github-token-secret={own[-1]}" in args and "--github-token-key=github-token" in args,
                  f"--github-token-secret: {args}")
        env = {e["name"]: e for e in c.get("env", [])}
        check(env.get("POD_NAMESPACE", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.namespace",
              "POD_NAMESPACE (the --secret-namespace) must come from the pod's namespace")
        check(not any("secretKeyRef" in json.dumps(e) for e in c.get("env", [])) and not c.get("envFrom"),
              "no Secret value may reach the receiver's environment: it reads them from the API server")
        check({"name": "http", "containerPort": 8090, "protocol": "TCP"} in c["ports"], "port 8090 named http")
        for probe in ("livenessProbe", "readinessProbe"):
            check(c.get(probe, {}).get("httpGet") == {"path": "/healthz", "port": "http"}, f"{probe} must GET /healthz on http")

    # RBAC: exactly these rules, where they belong, bound to the receiver's account only.
    want_watched = {
        ("launchplane.dev", "products", ()): {"get", "list"},
        ("launchplane.dev", "previews", ()): {"get", "list", "create", "patch", "delete"},
        ("launchplane.dev", "providerconfigs", ()): {"get", "patch"},
    }
    if expect["notification_secrets"]:
        want_watched[("", "secrets", tuple(sorted(expect["notification_secrets"])))] = {"get"}
    want_own = {("", "secrets", tuple(sorted(set(expect["own_secrets"])))): {"get"}}

    def rules_of(role):
        got = {}
        for r in role.get("rules", []):
            for g in r.get("apiGroups", []):
                for res in r.get("resources", []):
                    key = (g, res, tuple(sorted(r.get("resourceNames", []))))
                    got.setdefault(key, set()).update(r.get("verbs", []))
        return got

    roles = of("Role") + of("ClusterRole")
    if watch_ns:
        check(not of("ClusterRole") and not of("ClusterRoleBinding"), "namespace mode: nothing cluster-wide")
        watched = [r for r in of("Role") if r["metadata"].get("namespace") == watch_ns and not r["metadata"]["name"].endswith("-secrets")]
    else:
        watched = of("ClusterRole")
    own_roles = [r for r in of("Role") if r["metadata"].get("namespace") == release_ns and r["metadata"]["name"].endswith("-secrets")]
    if check(len(watched) == 1, f"expected one role where the receiver serves, got {len(watched)}"):
        check(rules_of(watched[0]) == want_watched, f"rules where it serves: {rules_of(watched[0])} != {want_watched}")
    if check(len(own_roles) == 1, f"expected one Role for its own Secrets in {release_ns}"):
        check(rules_of(own_roles[0]) == want_own, f"rules on its own Secrets: {rules_of(own_roles[0])} != {want_own}")
    check(len(roles) == 2, f"unexpected roles: {[(r['kind'], r['metadata']['name']) for r in roles]}")
    role_refs = {(r["kind"], r["metadata"]["name"], r["metadata"].get("namespace")) for r in roles}
    bindings = of("RoleBinding") + of("ClusterRoleBinding")
    check(len(bindings) == 2, f"expected two bindings, got {len(bindings)}")
    for b in bindings:
        ns = b["metadata"].get("namespace")
        check((b["roleRef"]["kind"], b["roleRef"]["name"], ns) in role_refs, f"{b['metadata']['name']} binds a missing role")
        check(b["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": release_ns}],
              f"{b['metadata']['name']}: subjects {b['subjects']}")
    for b in of("RoleBinding", others) + of("ClusterRoleBinding", others):
        check(not any(s.get("name") == sa and s.get("kind") == "ServiceAccount" for s in b.get("subjects", [])),
              f"the receiver's ServiceAccount is bound by the controller's {b['metadata']['name']}")

    ingresses = of("Ingress")
    host = expect.get("ingress_host")
    check(len(ingresses) == (1 if host else 0), f"an Ingress iff webhooks.ingress.enabled, got {len(ingresses)}")
    for ing in ingresses:
        rules = ing["spec"]["rules"]
        check([r["host"] for r in rules] == [host], f"Ingress hosts {rules}")
        paths = {(p["path"], p["pathType"]) for p in rules[0]["http"]["paths"]}
        check(paths == {("/github", "Exact"), ("/dokploy/", "Prefix")},
              f"the Ingress must route /github and /dokploy/ only (never /metrics): {paths}")
        check(all(p["backend"]["service"] == {"name": svcs[0]["metadata"]["name"], "port": {"name": "http"}}
                  for p in rules[0]["http"]["paths"]), "Ingress backends must be the receiver's Service")
        tls = ing["spec"].get("tls")
        check(tls == ([{"hosts": [host], "secretName": expect["tls"]}] if expect.get("tls") else None), f"tls {tls}")

if errors:
    for e in errors:
        print(f"[{scenario}] webhooks: {e}", file=sys.stderr)
    sys.exit(1)
if mine:
    print(f"[{scenario}] webhooks: {len(mine)} objects ok: " + ", ".join(sorted(d["kind"] for d in mine)))
PY

# render <scenario> <replicas> <leader> <serviceMonitor> <watchNamespace> <approvalPolicy> <CI values file or -> -- <helm args>
render() {
    local scenario="$1" replicas="$2" leader="$3" sm="$4" watch_ns="$5" approval="$6" ci="$7"; shift 8
    local out="$work/$scenario.yaml"
    if ! "$HELM" template "$release" "$chart" --namespace "$release_ns" "$@" >"$out" 2>"$work/template.err"; then
        cat "$work/template.err" >&2
        fail "helm template ($scenario)"
        return
    fi
    if ! python3 "$work/check.py" "$out" "$scenario" "$replicas" "$leader" "$sm" "$watch_ns" "$release_ns" "$approval" "$ci" \
        | sed 's/^/check-chart: /'; then
        fail "rendered chart ($scenario)"
    fi
    # WEBHOOKS: what the receiver's objects should be (webhooks.py); default: none.
    local webhooks="${WEBHOOKS:-}"
    [[ -n "$webhooks" ]] || webhooks='{"enabled": false}'
    if ! python3 "$work/webhooks.py" "$out" "$scenario" "$release_ns" "$webhooks" \
        | sed 's/^/check-chart: /'; then
        fail "rendered webhooks ($scenario)"
    fi
}
render defaults 1 false false "" true - -- --include-crds
render ha-namespaced 2 true true apps true - -- \
    --set replicaCount=2 --set metrics.serviceMonitor.enabled=true --set watchNamespace=apps \
    --set networkPolicy.enabled=true
render single-with-lease 1 true false "" true - -- --set leaderElection.enabled=true --set logFormat=plain
render no-approval-policy 1 false false "" false - -- --set approvalPolicy.enabled=false
render ci-identity 1 false false "" true "$work/ci-identity.json" -- -f "$work/ci-identity.json"
render ci-grants-only 1 false false apps true "$work/ci-grants-only.json" -- -f "$work/ci-grants-only.json" \
    --set watchNamespace=apps
render ci-owners-v1beta1 1 false false "" true "$work/ci-owners-v1beta1.json" -- -f "$work/ci-owners-v1beta1.json"

# --- the webhook receiver (docs/github.md) -------------------------------------------------
# Off by default (every scenario above checks that nothing of it renders); on: cluster mode
# with everything, namespace mode with the least, and the schema's refusals.
cat >"$work/webhooks-full.json" <<'JSON'
{"webhooks": {"enabled": true, "replicaCount": 3,
  "githubSecret": {"name": "gh-hook", "key": "webhook-secret"},
  "resync": {"intervalSeconds": 600, "githubApiUrl": "https://ghe.example.com/api/v3",
             "tokenSecret": {"name": "gh-token", "key": "github-token"}},
  "notificationTokenSecrets": ["dokploy-notify", "dokploy-notify-eu"],
  "ingress": {"enabled": true, "className": "nginx", "host": "hooks.example.com", "tlsSecretName": "hooks-tls"}}}
JSON
lint "webhooks (cluster mode, resync, ingress, PDB)" -f "$work/webhooks-full.json"
lint "webhooks (namespace mode)" --set webhooks.enabled=true --set watchNamespace=apps
WEBHOOKS='{"enabled": true, "replicas": 3, "watch_ns": "", "own_secrets": ["gh-hook", "gh-token"],
  "notification_secrets": ["dokploy-notify", "dokploy-notify-eu"], "resync": 600,
  "ingress_host": "hooks.example.com", "tls": "hooks-tls"}' \
    render webhooks-cluster 1 false false "" true - -- -f "$work/webhooks-full.json"
WEBHOOKS='{"enabled": true, "replicas": 1, "watch_ns": "apps", "own_secrets": ["launchplane-webhooks"],
  "notification_secrets": [], "resync": 0}' \
    render webhooks-namespaced 1 false false apps true - -- --set webhooks.enabled=true --set watchNamespace=apps
# The token shares the webhook secret's Secret unless named: one name in the own-Secrets Role.
WEBHOOKS='{"enabled": true, "replicas": 2, "watch_ns": "", "own_secrets": ["launchplane-webhooks"],
  "notification_secrets": ["dokploy-notify"], "resync": 3600, "ingress_host": "hooks.example.com"}' \
    render webhooks-shared-secret 1 false false "" true - -- --set webhooks.enabled=true \
    --set webhooks.replicaCount=2 --set webhooks.resync.intervalSeconds=3600 \
    --set-json 'webhooks.notificationTokenSecrets=["dokploy-notify"]' \
    --set webhooks.ingress.enabled=true --set webhooks.ingress.host=hooks.example.com
for bad in webhooks.enabled=yes webhooks.replicaCount=0 webhooks.unknownKey=1 webhooks.githubSecret.value=s3cret \
    webhooks.githubSecret.name=Not_A_Secret webhooks.githubSecret.key=a/b webhooks.resync.intervalSeconds=59 \
    webhooks.resync.intervalSeconds=86401 webhooks.resync.githubApiUrl=http://api.github.com \
    webhooks.resync.tokenSecret.token=ghp_x webhooks.maxBodyBytes=0 webhooks.rateLimit.perSecond=0 \
    webhooks.rateLimit.burst=0 webhooks.replayMemory=0 webhooks.service.port=0 webhooks.ingress.host=Hooks_Example; do
    schema_refuses --set "$bad"
done
for bad in 'webhooks.notificationTokenSecrets=["*"]' 'webhooks.notificationTokenSecrets=""'; do
    schema_refuses --set-json "$bad"
done
step "values.schema.json rejects invalid webhooks values: ok"
refuse 'webhooks.ingress.host is required when webhooks.ingress.enabled is true' -- \
    --set webhooks.enabled=true --set webhooks.ingress.enabled=true
refuse 'webhooks.serviceAccount.name is required when webhooks.serviceAccount.create is false' -- \
    --set webhooks.enabled=true --set webhooks.serviceAccount.create=false
step "the templates refuse an Ingress without a host and a missing ServiceAccount name: ok"

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

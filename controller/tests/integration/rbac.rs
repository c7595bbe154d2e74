//! The Helm chart grants every permission the controller declares in
//! `launchplane::k8s::permissions` (which a unit test there keeps in step with the calls the
//! k8s modules make), where it is needed, and nothing cluster-wide beyond Launchplane's own
//! kinds, reading Secrets and ConfigMaps, and writing Events.
//!
//! Renders `charts/launchplane` with the repository's pinned helm (`scripts/install-helm.sh`,
//! or `HELM=/path/to/helm`). When helm cannot be had, the test says `SKIPPED: ...` with the
//! reason and passes; `make chart-check` fails loudly in that case anyway.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use launchplane::k8s::permissions::{self, Permission, Scope};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const RELEASE: &str = "launchplane";
const RELEASE_NS: &str = "launchplane-system";

/// Every kind of the `launchplane.dev` group; subresources of these are also allowed.
const KINDS: &[&str] = &[
    "providerconfigs",
    "providertargets",
    "products",
    "lanes",
    "previews",
    "runtimeidentities",
    "artifacts",
    "deploymentrecords",
    "promotions",
    "backupgates",
    "approvals",
    "incidents",
    "databootstraps",
    "notificationpolicies",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The helm binary, or why there is none.
fn helm() -> Result<PathBuf, String> {
    if let Some(helm) = std::env::var_os("HELM") {
        return Ok(PathBuf::from(helm));
    }
    let output = Command::new(root().join("scripts/install-helm.sh"))
        .current_dir(root())
        .output()
        .map_err(|e| format!("cannot run scripts/install-helm.sh: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "scripts/install-helm.sh failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let path = String::from_utf8_lossy(&output.stdout).trim().to_string();
    Ok(PathBuf::from(path))
}

fn render(helm: &Path, set: &[&str]) -> Vec<Value> {
    let mut command = Command::new(helm);
    command.current_dir(root()).args([
        "template",
        RELEASE,
        "charts/launchplane",
        "--namespace",
        RELEASE_NS,
    ]);
    for value in set {
        command.args(["--set", value]);
    }
    let output = command.output().expect("helm runs");
    assert!(
        output.status.success(),
        "helm template {set:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    serde_saphyr::from_multiple::<Value>(&text)
        .expect("helm renders YAML")
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

/// Where a rule applies: the whole cluster, or one namespace.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Where {
    Cluster,
    Namespace(String),
}

/// (where, group, resource) -> verbs, from the roles bound to the controller's ServiceAccount.
type Grants = BTreeMap<(Where, String, String), BTreeSet<String>>;

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

/// The chart's ServiceAccount as the Deployment's pod uses it.
fn pod_service_account(docs: &[Value]) -> String {
    let deployments = of_kind(docs, "Deployment");
    assert_eq!(deployments.len(), 1, "one Deployment");
    deployments[0]["spec"]["template"]["spec"]["serviceAccountName"]
        .as_str()
        .expect("the pod names its ServiceAccount")
        .to_string()
}

fn controller_args(docs: &[Value]) -> Vec<String> {
    strings(&of_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["args"])
}

/// Everything the roles bound to `account` grant, with a check on each rule on the way.
fn grants(docs: &[Value], account: &str, problems: &mut Vec<String>) -> Grants {
    let mut grants = Grants::new();
    for binding in of_kind(docs, "RoleBinding")
        .into_iter()
        .chain(of_kind(docs, "ClusterRoleBinding"))
    {
        let binds_us =
            binding["subjects"].as_array().into_iter().flatten().any(|s| {
                s["kind"] == "ServiceAccount" && s["name"] == account && s["namespace"] == RELEASE_NS
            });
        if !binds_us {
            problems.push(format!(
                "{} binds someone else: {}",
                binding["metadata"]["name"], binding["subjects"]
            ));
            continue;
        }
        let (role_kind, role_name) = (&binding["roleRef"]["kind"], &binding["roleRef"]["name"]);
        let binding_ns = binding["metadata"]["namespace"].as_str().map(str::to_string);
        let role = docs.iter().find(|d| {
            &d["kind"] == role_kind
                && &d["metadata"]["name"] == role_name
                && (role_kind == "ClusterRole"
                    || d["metadata"]["namespace"].as_str() == binding_ns.as_deref())
        });
        let Some(role) = role else {
            problems.push(format!(
                "{} binds a role the chart does not render: {role_kind}/{role_name}",
                binding["metadata"]["name"]
            ));
            continue;
        };
        // A ClusterRole bound by a RoleBinding grants only in the binding's namespace.
        let scope = match (&binding["kind"], binding_ns) {
            (kind, _) if kind == "ClusterRoleBinding" => Where::Cluster,
            (_, Some(ns)) => Where::Namespace(ns),
            (_, None) => Where::Namespace("default".into()),
        };
        for rule in role["rules"].as_array().into_iter().flatten() {
            if !rule["nonResourceURLs"].is_null() {
                problems.push(format!("{role_name}: grants nonResourceURLs"));
            }
            if !rule["resourceNames"].is_null() {
                // Allowed in principle, but the controller declares none; flag it to review.
                problems.push(format!("{role_name}: resourceNames are not expected: {rule}"));
            }
            let verbs = strings(&rule["verbs"]);
            for group in strings(&rule["apiGroups"]) {
                for resource in strings(&rule["resources"]) {
                    for field in [&group, &resource].into_iter().chain(&verbs) {
                        if field.contains('*') {
                            problems.push(format!("{role_name}: wildcard {field:?}"));
                        }
                    }
                    grants
                        .entry((scope.clone(), group.clone(), resource))
                        .or_default()
                        .extend(verbs.iter().cloned());
                }
            }
        }
    }
    grants
}

/// Where each declared permission must be granted for this rendering.
fn needed_at(permission: &Permission, watch_namespace: Option<&str>) -> Where {
    match (permission.scope, watch_namespace) {
        (Scope::Watched, None) => Where::Cluster,
        (Scope::Watched, Some(ns)) => Where::Namespace(ns.into()),
        (Scope::OwnNamespace, _) => Where::Namespace(RELEASE_NS.into()),
    }
}

/// What is acceptable at cluster scope: the group's kinds (and their subresources), reading
/// Secrets and ConfigMaps, writing Events. Nothing else, and never leases.
fn allowed_cluster_wide(group: &str, resource: &str, verbs: &BTreeSet<String>) -> Result<(), String> {
    let read: BTreeSet<String> = ["get", "list", "watch"].map(String::from).into();
    let events: BTreeSet<String> = ["create", "patch"].map(String::from).into();
    let base = resource.split('/').next().unwrap_or(resource);
    match group {
        "launchplane.dev" if KINDS.contains(&base) => Ok(()),
        "launchplane.dev" => Err(format!("unknown launchplane.dev resource {resource}")),
        "" if (resource == "secrets" || resource == "configmaps") && verbs.is_subset(&read) => Ok(()),
        "" => Err(format!(
            "core {resource} {verbs:?}: only reading secrets and configmaps is allowed"
        )),
        "events.k8s.io" if resource == "events" && verbs.is_subset(&events) => Ok(()),
        _ => Err(format!(
            "{group}/{resource} {verbs:?} is not allowed cluster-wide"
        )),
    }
}

struct Scenario {
    name: &'static str,
    set: &'static [&'static str],
    leader_election: bool,
    watch_namespace: Option<&'static str>,
}

fn check(helm: &Path, scenario: &Scenario) -> Vec<String> {
    check_docs(&render(helm, scenario.set), scenario)
}

fn check_docs(docs: &[Value], scenario: &Scenario) -> Vec<String> {
    let mut problems = Vec::new();
    let args = controller_args(docs);
    if args.contains(&"--leader-election".to_string()) != scenario.leader_election {
        problems.push(format!(
            "--leader-election in {args:?}, expected {}",
            scenario.leader_election
        ));
    }
    let account = pod_service_account(docs);
    let grants = grants(docs, &account, &mut problems);

    // 1. Every declared permission is granted where the controller needs it.
    for permission in permissions::required(scenario.leader_election) {
        let at = needed_at(permission, scenario.watch_namespace);
        let key = (
            at.clone(),
            permission.group.to_string(),
            permission.resource.to_string(),
        );
        let granted = grants.get(&key).cloned().unwrap_or_default();
        let missing: Vec<_> = permission
            .verbs
            .iter()
            .filter(|v| !granted.contains(**v))
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{:?} {}/{}: missing {missing:?} (needed because {})",
                at, permission.group, permission.resource, permission.why
            ));
        }
    }

    // 2. Nothing cluster-wide beyond the allowed set; leases only in the release namespace,
    //    and only when leader election is on; in namespace mode, nothing cluster-wide at all.
    for ((at, group, resource), verbs) in &grants {
        if *at == Where::Cluster {
            if scenario.watch_namespace.is_some() {
                problems.push(format!(
                    "watchNamespace is set but {group}/{resource} is granted cluster-wide"
                ));
            }
            if let Err(why) = allowed_cluster_wide(group, resource, verbs) {
                problems.push(why);
            }
        }
        if group == "coordination.k8s.io" {
            let lease_verbs: BTreeSet<String> = permissions::LEADER_ELECTION
                .iter()
                .flat_map(|p| p.verbs.iter().map(|v| v.to_string()))
                .collect();
            if !scenario.leader_election {
                problems.push("leases are granted although leader election is off".into());
            }
            if *at != Where::Namespace(RELEASE_NS.into()) || resource != "leases" {
                problems.push(format!(
                    "{group}/{resource} granted at {at:?}, not only in {RELEASE_NS}"
                ));
            }
            if !verbs.is_subset(&lease_verbs) {
                problems.push(format!(
                    "leases: {verbs:?} beyond the verbs kube-lease-manager uses {lease_verbs:?}"
                ));
            }
        }
        if let Where::Namespace(ns) = at
            && ns != RELEASE_NS
            && Some(ns.as_str()) != scenario.watch_namespace
        {
            problems.push(format!("{group}/{resource} granted in unrelated namespace {ns}"));
        }
        if group.is_empty() && (resource == "secrets" || resource == "configmaps") {
            let read: BTreeSet<String> = ["get", "list", "watch"].map(String::from).into();
            if !verbs.is_subset(&read) {
                problems.push(format!("{resource} must be read only, got {verbs:?}"));
            }
        }
    }
    problems
        .into_iter()
        .map(|p| format!("[{}] {p}", scenario.name))
        .collect()
}

#[test]
fn the_chart_grants_what_the_controller_declares_and_nothing_more_cluster_wide() {
    let helm = match helm() {
        Ok(helm) => helm,
        Err(reason) => {
            eprintln!("SKIPPED: rbac chart test ({reason})");
            return;
        }
    };
    let scenarios = [
        Scenario {
            name: "defaults",
            set: &[],
            leader_election: false,
            watch_namespace: None,
        },
        Scenario {
            name: "two replicas",
            set: &["replicaCount=2"],
            leader_election: true,
            watch_namespace: None,
        },
        Scenario {
            name: "one namespace, lease forced on",
            set: &["watchNamespace=apps", "leaderElection.enabled=true"],
            leader_election: true,
            watch_namespace: Some("apps"),
        },
        Scenario {
            name: "one namespace",
            set: &["watchNamespace=apps"],
            leader_election: false,
            watch_namespace: Some("apps"),
        },
    ];
    let problems: Vec<String> = scenarios.iter().flat_map(|s| check(&helm, s)).collect();
    assert!(
        problems.is_empty(),
        "chart RBAC problems:\n  {}",
        problems.join("\n  ")
    );
}

/// The checker itself must catch a missing grant, or a green run would prove nothing.
#[test]
fn a_missing_grant_is_reported() {
    let docs: Vec<Value> = serde_saphyr::from_multiple(
        r#"
kind: Deployment
metadata: {name: c}
spec: {template: {spec: {serviceAccountName: sa, containers: [{args: [controller]}]}}}
---
kind: ClusterRole
metadata: {name: r}
rules:
  - apiGroups: ["launchplane.dev"]
    resources: ["providerconfigs", "providertargets", "runtimeidentities"]
    verbs: ["list", "watch"]
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: ["get", "delete"]
---
kind: ClusterRoleBinding
metadata: {name: r}
roleRef: {kind: ClusterRole, name: r}
subjects: [{kind: ServiceAccount, name: sa, namespace: launchplane-system}]
"#,
    )
    .unwrap();
    let scenario = Scenario {
        name: "fixture",
        set: &[],
        leader_election: true,
        watch_namespace: None,
    };
    let problems = check_docs(&docs, &scenario).join("\n");
    for expected in [
        // Declared but not granted.
        r#"launchplane.dev/providerconfigs/status: missing ["patch"]"#,
        r#"events.k8s.io/events: missing ["create", "patch"]"#,
        r#"Namespace("launchplane-system") coordination.k8s.io/leases: missing"#,
        // Granted but beyond what is allowed cluster-wide.
        "core secrets",
        "secrets must be read only",
    ] {
        assert!(
            problems.contains(expected),
            "{expected:?} not reported in:\n{problems}"
        );
    }
}

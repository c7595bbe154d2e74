//! Every Kubernetes API permission the controller uses, and why. The Helm chart's RBAC must
//! grant all of them (`controller/tests/integration/rbac.rs` renders the chart and checks), and a unit
//! test below fails when the k8s modules start using a kind that is not declared here.
//!
//! When a controller starts calling a new kind or verb, add it here first: the chart test then
//! says what the chart is missing.

/// Where a permission must be granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Wherever the controller watches: the whole cluster (ClusterRole), or the
    /// `--watch-namespace` (Role there).
    Watched,
    /// The controller's own namespace only (the leader-election Lease).
    OwnNamespace,
}

/// One RBAC rule the controller needs: API group (`""` is core), resource (with
/// `/subresource`), verbs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permission {
    pub group: &'static str,
    pub resource: &'static str,
    pub verbs: &'static [&'static str],
    pub scope: Scope,
    /// The call that needs it.
    pub why: &'static str,
}

const fn watched(
    group: &'static str,
    resource: &'static str,
    verbs: &'static [&'static str],
    why: &'static str,
) -> Permission {
    Permission {
        group,
        resource,
        verbs,
        scope: Scope::Watched,
        why,
    }
}

const GROUP: &str = "launchplane.dev";

/// What the ProviderConfig, ProviderTarget and RuntimeIdentity controllers call.
pub const CONTROLLERS: &[Permission] = &[
    watched(
        GROUP,
        "providerconfigs",
        &["list", "watch"],
        "k8s::run watches them; cli::controller lists one to check the CRDs are installed",
    ),
    watched(
        GROUP,
        "providertargets",
        &["list", "watch"],
        "k8s::run watches them",
    ),
    watched(
        GROUP,
        "runtimeidentities",
        &["list", "watch"],
        "k8s::run watches them",
    ),
    watched(
        GROUP,
        "providerconfigs/status",
        &["patch"],
        "k8s::status server-side applies the status",
    ),
    watched(
        GROUP,
        "providertargets/status",
        &["patch"],
        "k8s::status server-side applies the status",
    ),
    watched(
        GROUP,
        "runtimeidentities/status",
        &["patch"],
        "k8s::status server-side applies the status",
    ),
    watched(
        "",
        "secrets",
        &["get"],
        "k8s::provider_config reads the Dokploy API key a ProviderConfig references; k8s::lane \
         reads the Secrets a lane's spec.env references",
    ),
    // The Lane, Artifact and DeploymentRecord controllers (k8s::lane, k8s::artifact,
    // k8s::deployment_record, k8s::records).
    watched(
        GROUP,
        "lanes",
        &["list", "watch"],
        "k8s::lane watches them; k8s::artifact counts who references an artifact",
    ),
    watched(
        GROUP,
        "products",
        &["list", "watch"],
        "k8s::lane reads a lane's Product from a reflector",
    ),
    watched(
        GROUP,
        "artifacts",
        &["list", "watch"],
        "k8s::artifact watches them; k8s::lane reads a lane's Artifact from the store",
    ),
    watched(
        GROUP,
        "deploymentrecords",
        &["get", "list", "watch", "create", "delete"],
        "k8s::records creates the intent record before a deploy, lists a lane's records by label, \
         prunes beyond historyLimit; k8s::deployment_record watches them",
    ),
    watched(
        GROUP,
        "runtimeidentities",
        &["patch"],
        "k8s::lane server-side applies each lane's RuntimeIdentity child",
    ),
    watched(
        GROUP,
        "lanes/status",
        &["patch"],
        "k8s::status server-side applies the status",
    ),
    watched(
        GROUP,
        "artifacts/status",
        &["patch"],
        "k8s::status server-side applies the status",
    ),
    watched(
        GROUP,
        "deploymentrecords/status",
        &["patch"],
        "k8s::records server-side applies each record's phase and evidence",
    ),
    watched(
        "",
        "configmaps",
        &["get"],
        "k8s::lane reads the ConfigMaps a lane's spec.env references",
    ),
    watched(
        "events.k8s.io",
        "events",
        &["create", "patch"],
        "k8s::events publishes verdict transitions; kube's Recorder patches repeats into a series",
    ),
    // The Preview and Product controllers (k8s::preview, k8s::product).
    watched(
        GROUP,
        "previews",
        &["list", "watch", "patch", "delete"],
        "k8s::preview watches them, patches the preview-teardown finalizer in and out \
         (kube::runtime::finalizer) and deletes a Preview whose spec.ttl has passed",
    ),
    watched(
        GROUP,
        "previews/status",
        &["patch"],
        "k8s::status server-side applies the status",
    ),
    watched(
        GROUP,
        "products/status",
        &["patch"],
        "k8s::product server-side applies the status (lanes, previewCount, orphans, protectedArtifacts)",
    ),
    // The Promotion, BackupGate and Approval controllers (engine::kinds::promotion, backup_gate,
    // approval; k8s::run watches them, k8s::store creates automatic Promotions).
    watched(
        GROUP,
        "promotions",
        &["list", "watch", "create"],
        "k8s::run watches them; k8s::store creates the Promotion a lane with promotion.auto wants",
    ),
    watched(
        GROUP,
        "promotions/status",
        &["patch"],
        "k8s::status server-side applies the status (phase, gates, release tuple)",
    ),
    watched(
        GROUP,
        "backupgates",
        &["list", "watch"],
        "k8s::run watches them; a Promotion's BackupGate gate reads them from the cache",
    ),
    watched(
        GROUP,
        "backupgates/status",
        &["patch"],
        "k8s::status server-side applies the status (result, usedBy)",
    ),
    watched(
        GROUP,
        "approvals",
        &["list", "watch"],
        "k8s::run watches them; a Promotion's Approval gate reads them from the cache",
    ),
    watched(
        GROUP,
        "approvals/status",
        &["patch"],
        "k8s::status server-side applies the status",
    ),
    // Incidents (engine::incidents; k8s::store writes them, k8s::run watches them for the
    // gauges).
    watched(
        GROUP,
        "incidents",
        &["get", "list", "watch", "create", "delete"],
        "k8s::store lists a resource's Incidents by label, creates one when a failure starts,          reads one it finds already created, deletes a pending one that cleared before it opened;          k8s::run watches them for the incidents_open gauge",
    ),
    watched(
        GROUP,
        "incidents/status",
        &["patch"],
        "k8s::status server-side applies the status (state, times, transitions, deliveries)",
    ),
    // NotificationPolicies (engine::deliveries reads them from the cache after writing an
    // Incident; engine::kinds::notification_policy reports on them).
    watched(
        GROUP,
        "notificationpolicies",
        &["list", "watch"],
        "k8s::run watches them; engine::deliveries routes each written Incident by them",
    ),
    watched(
        GROUP,
        "notificationpolicies/status",
        &["patch"],
        "k8s::status server-side applies the status (destinations, Ready, Delivering)",
    ),
    // DataBootstraps (engine::kinds::data_bootstrap runs one operation per object; lanes and
    // promotions read them from the cache).
    watched(
        GROUP,
        "databootstraps",
        &["list", "watch"],
        "k8s::run watches them; engine::kinds::data_bootstrap runs each, lanes hold deploys while one runs",
    ),
    watched(
        GROUP,
        "databootstraps/status",
        &["patch"],
        "k8s::status server-side applies the status (phase, each step's result, readiness)",
    ),
];

/// What `--leader-election` adds (k8s::leader: kube-lease-manager gets, creates and patches
/// the Lease; the watchdog gets it).
pub const LEADER_ELECTION: &[Permission] = &[Permission {
    group: "coordination.k8s.io",
    resource: "leases",
    verbs: &["get", "create", "patch"],
    scope: Scope::OwnNamespace,
    why: "k8s::leader takes, renews and releases the launchplane-controller Lease",
}];

/// The permissions a controller started with or without `--leader-election` uses.
pub fn required(leader_election: bool) -> impl Iterator<Item = &'static Permission> {
    let lease: &[Permission] = if leader_election { LEADER_ELECTION } else { &[] };
    CONTROLLERS.iter().chain(lease)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;

    /// The API types the controller's Kubernetes code names in `Api<T>`, `Api::<T>`,
    /// `api::<T>` (the watched kinds) or `store::<T>`, with the plural each maps to.
    fn plural(kind: &str) -> Option<&'static str> {
        Some(match kind {
            "ProviderConfig" => "providerconfigs",
            "ProviderTarget" => "providertargets",
            "RuntimeIdentity" => "runtimeidentities",
            "Product" => "products",
            "Lane" => "lanes",
            "Preview" => "previews",
            "Artifact" => "artifacts",
            "DeploymentRecord" => "deploymentrecords",
            "Promotion" => "promotions",
            "BackupGate" => "backupgates",
            "Approval" => "approvals",
            "Incident" => "incidents",
            "NotificationPolicy" => "notificationpolicies",
            "DataBootstrap" => "databootstraps",
            "Secret" => "secrets",
            "ConfigMap" => "configmaps",
            "Lease" => "leases",
            "Event" => "events",
            _ => return None,
        })
    }

    fn api_types(source: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for marker in ["Api<", "Api::<", "api::<", "store::<"] {
            for (at, _) in source.match_indices(marker) {
                let rest = &source[at + marker.len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                // Generic helpers (`Api<K>`) are not a kind.
                if name.len() > 1 {
                    found.insert(name);
                }
            }
        }
        found
    }

    /// Keeps the list honest: a kind the code talks to must be declared, and a declared kind
    /// must still be used somewhere.
    #[test]
    fn the_declared_kinds_are_the_ones_the_k8s_modules_use() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![src.join("cli/controller.rs")];
        for entry in std::fs::read_dir(src.join("k8s")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("permissions.rs") {
                files.push(path);
            }
        }
        let mut used = BTreeSet::new();
        for file in &files {
            let source = std::fs::read_to_string(file).unwrap();
            // Unit tests build fixtures (`Api<Secret>` in a test is not a call).
            let code = source.split("#[cfg(test)]").next().unwrap_or_default();
            for kind in api_types(code) {
                let plural = plural(&kind)
                    .unwrap_or_else(|| panic!("{}: Api of {kind}: add it to plural()", file.display()));
                used.insert(plural);
            }
        }
        // kube's Recorder creates events.k8s.io Events without naming the type here.
        used.insert("events");
        let declared: BTreeSet<&str> = required(true)
            .map(|p| p.resource.split('/').next().unwrap_or(p.resource))
            .collect();
        let undeclared: Vec<_> = used.difference(&declared).collect();
        assert!(
            undeclared.is_empty(),
            "the k8s modules use {undeclared:?}, not declared in permissions.rs"
        );
        let unused: Vec<_> = declared.difference(&used).collect();
        assert!(unused.is_empty(), "declared but unused: {unused:?}");
    }

    #[test]
    fn leases_only_with_leader_election() {
        assert!(required(false).all(|p| p.resource != "leases"));
        assert!(required(true).any(|p| p.resource == "leases" && p.scope == Scope::OwnNamespace));
        assert!(required(true).all(|p| !p.verbs.is_empty() && !p.why.is_empty()));
    }
}

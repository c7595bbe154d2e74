//! Every Kubernetes API permission the controller uses, and why. The Helm chart's RBAC must
//! grant all of them (`controller/tests/rbac.rs` renders the chart and checks), and a unit
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
        "k8s::provider_config reads the Dokploy API key a ProviderConfig references",
    ),
    watched(
        "events.k8s.io",
        "events",
        &["create", "patch"],
        "k8s::events publishes verdict transitions; kube's Recorder patches repeats into a series",
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

    /// The API types the controller's Kubernetes code names in `Api<T>`, `Api::<T>` or
    /// `store::<T>` (the watched kinds), with the plural each maps to.
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
            "Secret" => "secrets",
            "ConfigMap" => "configmaps",
            "Lease" => "leases",
            "Event" => "events",
            _ => return None,
        })
    }

    fn api_types(source: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for marker in ["Api<", "Api::<", "store::<"] {
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

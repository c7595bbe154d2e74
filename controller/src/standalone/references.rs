//! References between the objects of a folder, resolved when the folder is read: a name that
//! points at nothing is bad input (exit 2, nothing reconciled), not a verdict found halfway
//! through a round. A folder is the whole desired state, so unlike a cluster, where objects
//! arrive in any order, a missing object is a mistake in the folder.
//!
//! References never cross namespaces: the CRDs' references carry only a name (a `namespace`
//! in one is an unknown field), and it is looked up in the referring object's namespace.

use super::manifests::{Manifest, ManifestError};
use crate::engine::providers::api_key_variable;
use launchplane_api::GROUP;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// One field of a kind that names another object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reference {
    pub kind: &'static str,
    /// Dotted path to the name; `[]` walks every item of a list.
    pub path: &'static str,
    /// The kind named (in the referring object's namespace).
    pub target: &'static str,
}

const fn reference(kind: &'static str, path: &'static str, target: &'static str) -> Reference {
    Reference { kind, path, target }
}

/// Every reference of every kind (a test checks it against the CRDs' `…Ref`/`…Refs` fields).
pub const REFERENCES: [Reference; 34] = [
    reference("ProviderConfig", "spec.apiKeySecretRef.name", "Secret"),
    reference(
        "ProviderConfig",
        "spec.deployNotifications.tokenSecretRef.name",
        "Secret",
    ),
    reference("ProviderTarget", "spec.providerConfigRef.name", "ProviderConfig"),
    reference("Product", "spec.preview.templateTargetRef.name", "ProviderTarget"),
    reference("Lane", "spec.productRef.name", "Product"),
    reference("Lane", "spec.targetRef.name", "ProviderTarget"),
    reference("Lane", "spec.artifactRef.name", "Artifact"),
    reference("Lane", "spec.env.configMapRefs[].name", "ConfigMap"),
    reference("Lane", "spec.env.secretRefs[].name", "Secret"),
    reference("Lane", "spec.promotion.sourceLane", "Lane"),
    reference(
        "Lane",
        "spec.odoo.postDeploy.env.configMapRefs[].name",
        "ConfigMap",
    ),
    reference("Lane", "spec.odoo.postDeploy.env.secretRefs[].name", "Secret"),
    reference(
        "Product",
        "spec.odoo.postDeploy.env.configMapRefs[].name",
        "ConfigMap",
    ),
    reference("Product", "spec.odoo.postDeploy.env.secretRefs[].name", "Secret"),
    reference("Preview", "spec.productRef.name", "Product"),
    reference("Preview", "spec.artifactRef.name", "Artifact"),
    reference("DeploymentRecord", "spec.laneRef.name", "Lane"),
    reference("DeploymentRecord", "spec.previewRef.name", "Preview"),
    reference("DeploymentRecord", "spec.artifactRef.name", "Artifact"),
    reference("DeploymentRecord", "spec.targetRef.name", "ProviderTarget"),
    reference("DeploymentRecord", "spec.promotionRef.name", "Promotion"),
    reference("Promotion", "spec.productRef.name", "Product"),
    reference("Promotion", "spec.fromLane", "Lane"),
    reference("Promotion", "spec.toLane", "Lane"),
    reference("Promotion", "spec.artifactRef.name", "Artifact"),
    reference("BackupGate", "spec.laneRef.name", "Lane"),
    reference("Approval", "spec.promotionRef.name", "Promotion"),
    reference("DataBootstrap", "spec.laneRef.name", "Lane"),
    reference("DataBootstrap", "spec.backupGateRef.name", "BackupGate"),
    reference(
        "NotificationPolicy",
        "spec.destinations[].githubIssue.tokenSecretRef.name",
        "Secret",
    ),
    reference(
        "NotificationPolicy",
        "spec.destinations[].email.usernameSecretRef.name",
        "Secret",
    ),
    reference(
        "NotificationPolicy",
        "spec.destinations[].email.passwordSecretRef.name",
        "Secret",
    ),
    reference(
        "NotificationPolicy",
        "spec.destinations[].email.caSecretRef.name",
        "Secret",
    ),
    reference(
        "NotificationPolicy",
        "spec.destinations[].discord.webhookUrlSecretRef.name",
        "Secret",
    ),
    // RuntimeIdentity names no object: its expected ids are compared with what the app serves.
];

/// The objects of a folder by kind, namespace and name.
pub struct Folder<'a> {
    by_key: HashMap<(String, String, String), &'a Manifest>,
}

impl<'a> Folder<'a> {
    /// Our kinds and core v1 Secrets and ConfigMaps; other API groups' kinds are no targets.
    pub fn new(manifests: &'a [Manifest]) -> Self {
        let by_key = manifests
            .iter()
            .filter(|m| m.api_version == "v1" || m.api_version.split('/').next() == Some(GROUP))
            .map(|m| ((m.kind.clone(), m.namespace.clone(), m.name.clone()), m))
            .collect();
        Folder { by_key }
    }

    fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<&'a Manifest> {
        self.by_key
            .get(&(kind.to_string(), namespace.to_string(), name.to_string()))
            .copied()
    }

    /// Namespaces other than `namespace` holding a `kind` called `name`: the likely mistake
    /// behind a reference that does not resolve.
    fn elsewhere(&self, kind: &str, namespace: &str, name: &str) -> BTreeSet<&str> {
        self.by_key
            .keys()
            .filter(|(k, ns, n)| k == kind && n == name && ns != namespace)
            .map(|(_, ns, _)| ns.as_str())
            .collect()
    }
}

/// The references of `m` (a manifest its schema accepted) that do not resolve in `folder`.
/// `variable` reads the environment, where an API key may stand in for its Secret.
pub fn dangling(
    m: &Manifest,
    folder: &Folder<'_>,
    variable: &dyn Fn(&str) -> Option<String>,
) -> Vec<ManifestError> {
    let mut errors = Vec::new();
    for r in REFERENCES.iter().filter(|r| r.kind == m.kind) {
        for (path, value) in values_at(&m.value, r.path) {
            let Some(name) = value.as_str() else {
                continue; // the schema check reported it
            };
            let field = path.strip_suffix(".name").unwrap_or(&path);
            if r.path == "spec.apiKeySecretRef.name" {
                errors.extend(api_key_problem(m, folder, name, variable));
                continue;
            }
            if folder.get(r.target, &m.namespace, name).is_some() || made_by_the_controller(r) {
                continue;
            }
            errors.push(m.error(Some(field), missing(folder, r.target, &m.namespace, name, "")));
        }
    }
    errors
}

/// Whether the kind a reference names may be one the controller creates itself, so that the
/// folder need not hold it: a Promotion may be an automatic one (`spec.promotion.auto`), kept
/// in the state folder. An Approval or a record naming a Promotion that exists nowhere is
/// reported by its own status (Missing), not refused at load.
fn made_by_the_controller(r: &Reference) -> bool {
    r.target == "Promotion"
}

/// A ProviderConfig's key: from `LAUNCHPLANE_API_KEY_<NAME>` when that is set (the Secret may
/// then be absent), else from the Secret manifest, which must hold the key.
fn api_key_problem(
    m: &Manifest,
    folder: &Folder<'_>,
    secret: &str,
    variable: &dyn Fn(&str) -> Option<String>,
) -> Option<ManifestError> {
    let var = api_key_variable(&m.name);
    if variable(&var).is_some_and(|v| !v.is_empty()) {
        return None;
    }
    let alternative = format!(", and the environment variable {var} that could supply the key is not set");
    let Some(found) = folder.get("Secret", &m.namespace, secret) else {
        return Some(m.error(
            Some("spec.apiKeySecretRef"),
            missing(folder, "Secret", &m.namespace, secret, &alternative) + &format!("; or set {var}"),
        ));
    };
    let key = m
        .value
        .pointer("/spec/apiKeySecretRef/key")
        .and_then(Value::as_str)?;
    let has_key = ["data", "stringData"]
        .iter()
        .any(|field| found.value.get(field).and_then(|d| d.get(key)).is_some());
    (!has_key).then(|| {
        m.error(
            Some("spec.apiKeySecretRef.key"),
            format!(
                "Secret {}/{secret} has no key {key}{alternative}; add the key to the Secret or set {var}",
                m.namespace
            ),
        )
    })
}

fn missing(folder: &Folder<'_>, kind: &str, namespace: &str, name: &str, alternative: &str) -> String {
    let mut message =
        format!("{kind} {namespace}/{name} is not in the folder{alternative}; add it or fix the name");
    let elsewhere = folder.elsewhere(kind, namespace, name);
    if !elsewhere.is_empty() {
        let list: Vec<&str> = elsewhere.into_iter().collect();
        message.push_str(&format!(
            " (a {kind} {name} is in namespace {}, but references do not cross namespaces)",
            list.join(", ")
        ));
    }
    message
}

/// Every value at `path` in `value`, with its concrete path (`spec.env.secretRefs[1].name`).
fn values_at<'v>(value: &'v Value, path: &str) -> Vec<(String, &'v Value)> {
    let mut found = vec![(String::new(), value)];
    for segment in path.split('.') {
        let (name, each) = match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (segment, false),
        };
        found = found
            .into_iter()
            .filter_map(|(at, v)| Some((format!("{at}.{name}"), v.get(name)?)))
            .flat_map(|(at, v)| match (each, v) {
                (true, Value::Array(items)) => items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| (format!("{at}[{i}]"), item))
                    .collect::<Vec<_>>(),
                (true, _) => Vec::new(),
                (false, v) => vec![(at, v)],
            })
            .collect();
    }
    found
        .into_iter()
        .map(|(at, v)| (at.trim_start_matches('.').to_string(), v))
        .collect()
}

#[cfg(test)]
mod tests;

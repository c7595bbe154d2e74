//! Which ProviderTargets an import creates, from an [`Audit`]: one per unclaimed application
//! or compose service that can be told apart and that nobody else owns, bound by id, with
//! `managementPolicy: Observe` and the project, environment and domains Dokploy reports as
//! what it expects. Everything else is skipped with the reason:
//!
//! - `skipped-exists`: a ProviderTarget claims it already (whatever that one's verdict; the
//!   audit says what is wrong with it);
//! - `skipped-conflict`: another Launchplane's marker, a duplicate name, or a ProviderTarget
//!   adopting by name that may mean it;
//! - `skipped-incomplete`: what Dokploy reports does not make a valid ProviderTarget (no
//!   project or environment, a domain no ProviderTarget can expect, …): every manifest is
//!   checked against the ProviderTarget CRD's schema and rules before it is offered;
//! - `unsupported`: a Preview's application (its Preview manages it) and services that cannot
//!   be ProviderTargets (databases).
//!
//! Names are DNS-1123 labels made from the project, environment and name
//! (`shop-production-web`), the same for the same estate on every run; when two services (or a
//! service and an existing ProviderTarget) would get one name, each of them takes a suffix
//! made from its id instead.

use super::{Audit, OtherService, ServiceRow, ServiceState};
use launchplane_api::resources::{
    LocalObjectRef, ManagementPolicy, ProviderTarget, ProviderTargetSpec, TargetCategory,
};
use launchplane_api::validation::{
    SchemaValidator, Violation, is_dns1123_label, is_dns1123_subdomain, validate_metadata,
};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The longest name an import gives (a DNS-1123 label, as most tools expect of a name).
pub const NAME_MAX: usize = 63;

/// Only the services of one project and environment (`--selector PROJECT/ENVIRONMENT`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    pub project: String,
    pub environment: String,
}

impl Selector {
    /// Read `PROJECT/ENVIRONMENT` (the last `/` separates them: project names may hold one).
    pub fn parse(text: &str) -> Result<Selector, String> {
        match text.rsplit_once('/') {
            Some((project, environment)) if !project.is_empty() && !environment.is_empty() => Ok(Selector {
                project: project.to_string(),
                environment: environment.to_string(),
            }),
            _ => Err(format!(
                "expected PROJECT/ENVIRONMENT as Dokploy names them, e.g. shop/production (got {text:?})"
            )),
        }
    }

    fn selects(&self, project: Option<&str>, environment: Option<&str>) -> bool {
        project == Some(self.project.as_str()) && environment == Some(self.environment.as_str())
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.project, self.environment)
    }
}

/// What an import does with one service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    WouldCreate,
    SkippedExists,
    SkippedIncomplete,
    SkippedConflict,
    Unsupported,
}

impl Decision {
    pub const ALL: [Decision; 5] = [
        Decision::WouldCreate,
        Decision::SkippedExists,
        Decision::SkippedIncomplete,
        Decision::SkippedConflict,
        Decision::Unsupported,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::WouldCreate => "would-create",
            Decision::SkippedExists => "skipped-exists",
            Decision::SkippedIncomplete => "skipped-incomplete",
            Decision::SkippedConflict => "skipped-conflict",
            Decision::Unsupported => "unsupported",
        }
    }
}

/// One service and what the import does with it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportRow {
    pub decision: Decision,
    /// `application`, `compose`, or the type of a service that cannot be a target.
    pub category: String,
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The ProviderTarget: the one to create, or the ones claiming the service already.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub provider_targets: Vec<String>,
    pub detail: String,
    /// The ProviderTarget to create (`would-create` only).
    #[serde(skip)]
    pub manifest: Option<ProviderTarget>,
}

/// Every row of an import, sorted as the audit sorts services (others last).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportPlan {
    pub rows: Vec<ImportRow>,
}

impl ImportPlan {
    /// How many rows have each decision (every decision, zeros included).
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        Decision::ALL
            .iter()
            .map(|d| (d.as_str(), self.rows.iter().filter(|r| r.decision == *d).count()))
            .collect()
    }
}

/// Where the ProviderTargets go and what is there already.
#[derive(Clone, Copy, Debug)]
pub struct Destination<'a> {
    /// The namespace of the ProviderConfig (a ProviderTarget names a config of its own
    /// namespace).
    pub namespace: &'a str,
    /// The ProviderConfig's name.
    pub config: &'a str,
    /// The names of the ProviderTargets the namespace holds already (of any config).
    pub taken: &'a BTreeSet<String>,
}

/// The import of `audit`'s services (those `selector` selects, if any) into `destination`.
pub fn plan(audit: &Audit, destination: Destination<'_>, selector: Option<&Selector>) -> ImportPlan {
    let selected: Vec<&ServiceRow> = audit
        .services
        .iter()
        .filter(|s| selector.is_none_or(|sel| sel.selects(s.project.as_deref(), s.environment.as_deref())))
        .collect();
    let names = names(&selected, destination.taken);
    let mut validator = SchemaValidator::new();
    let schema = provider_target_schema();
    let mut rows: Vec<ImportRow> = selected
        .iter()
        .map(|service| {
            let name = names.get(service.id.as_str()).cloned().unwrap_or_default();
            decide(service, name, destination, &mut validator, schema.as_ref())
        })
        .collect();
    rows.extend(
        audit
            .others
            .iter()
            .filter(|o| {
                selector.is_none_or(|sel| sel.selects(o.project.as_deref(), o.environment.as_deref()))
            })
            .map(other),
    );
    ImportPlan { rows }
}

fn decide(
    service: &ServiceRow,
    name: String,
    destination: Destination<'_>,
    validator: &mut SchemaValidator,
    schema: Option<&Value>,
) -> ImportRow {
    let skip = |decision: Decision, targets: Vec<String>, detail: String| ImportRow {
        decision,
        category: service.category.clone(),
        id: service.id.clone(),
        name: service.name.clone(),
        project: service.project.clone(),
        environment: service.environment.clone(),
        provider_targets: targets,
        detail,
        manifest: None,
    };
    if !service.claimed_by.is_empty() {
        let detail = match service.state {
            ServiceState::Matched => "claimed already, and Matched".to_string(),
            state => format!("claimed already ({}): {}", state.as_str(), service.detail),
        };
        return skip(Decision::SkippedExists, service.claimed_by.clone(), detail);
    }
    match service.state {
        ServiceState::ForeignMarker | ServiceState::DuplicateName | ServiceState::AmbiguousClaim => {
            return skip(Decision::SkippedConflict, Vec::new(), service.detail.clone());
        }
        _ => {}
    }
    if service
        .marker
        .as_ref()
        .is_some_and(|m| m.kind.as_deref() == Some("Preview"))
    {
        return skip(Decision::Unsupported, Vec::new(), service.detail.clone());
    }
    if let Some(problem) = incomplete(service) {
        return skip(Decision::SkippedIncomplete, Vec::new(), problem);
    }
    let manifest = manifest(service, &name, destination);
    let violations = schema.map_or_else(
        || {
            vec![violation(
                "",
                "the ProviderTarget CRD has no schema to check against",
            )]
        },
        |schema| violations(validator, schema, &manifest),
    );
    if !violations.is_empty() {
        let problems: Vec<String> = violations.iter().map(ToString::to_string).collect();
        return skip(
            Decision::SkippedIncomplete,
            Vec::new(),
            format!(
                "what Dokploy reports does not make a valid ProviderTarget: {}",
                problems.join("; ")
            ),
        );
    }
    let mut row = skip(
        Decision::WouldCreate,
        vec![format!("{}/{name}", destination.namespace)],
        "Observe, bound by id".into(),
    );
    row.manifest = Some(manifest);
    row
}

/// Why Dokploy's report of `service` cannot fill a ProviderTarget's expectations, in words.
fn incomplete(service: &ServiceRow) -> Option<String> {
    if service.name.trim().is_empty() {
        return Some("Dokploy reports no name for it, which a ProviderTarget's displayName needs".into());
    }
    for (field, value) in [
        ("project", &service.project),
        ("environment", &service.environment),
    ] {
        if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
            return Some(format!(
                "Dokploy reports no {field} for it, so an imported ProviderTarget could not expect one"
            ));
        }
    }
    let odd: Vec<&str> = service
        .domains
        .iter()
        .map(String::as_str)
        .filter(|d| !is_dns1123_subdomain(d))
        .collect();
    if !odd.is_empty() {
        return Some(format!(
            "its domain{} {} cannot be a ProviderTarget's expected domain (lowercase DNS names only); \
             write its ProviderTarget by hand without spec.domains",
            if odd.len() == 1 { "" } else { "s" },
            odd.join(", ")
        ));
    }
    None
}

fn other(service: &OtherService) -> ImportRow {
    ImportRow {
        decision: Decision::Unsupported,
        category: service.kind.clone(),
        id: service.id.clone(),
        name: service.name.clone(),
        project: service.project.clone(),
        environment: service.environment.clone(),
        provider_targets: Vec::new(),
        detail: format!(
            "a {} service: ProviderTargets name applications and compose services only",
            service.kind
        ),
        manifest: None,
    }
}

/// The ProviderTarget of `service`.
pub fn manifest(service: &ServiceRow, name: &str, destination: Destination<'_>) -> ProviderTarget {
    let mut target = ProviderTarget::new(
        name,
        ProviderTargetSpec {
            provider_config_ref: LocalObjectRef {
                name: destination.config.to_string(),
            },
            target_category: if service.category == "compose" {
                TargetCategory::Compose
            } else {
                TargetCategory::Application
            },
            target_id: Some(service.id.clone()),
            display_name: service.name.clone(),
            provider_target_type: None,
            project: service.project.clone(),
            environment: service.environment.clone(),
            domains: service.domains.clone(),
            management_policy: ManagementPolicy::Observe,
        },
    );
    target.metadata.namespace = Some(destination.namespace.to_string());
    target
}

/// What the API server would refuse in `target`: its name and namespace, its metadata, its
/// schema and its rules.
pub fn violations(
    validator: &mut SchemaValidator,
    schema: &Value,
    target: &ProviderTarget,
) -> Vec<Violation> {
    let Ok(object) = serde_json::to_value(target) else {
        return vec![violation("", "cannot be written as JSON")];
    };
    let mut found = Vec::new();
    if !target.metadata.name.as_deref().is_some_and(is_dns1123_subdomain) {
        found.push(violation(
            "metadata.name",
            "must be a DNS-1123 subdomain (lowercase letters, digits, '-' and '.')",
        ));
    }
    if !target.metadata.namespace.as_deref().is_some_and(is_dns1123_label) {
        found.push(violation("metadata.namespace", "must be a DNS-1123 label"));
    }
    found.extend(validate_metadata(object.get("metadata").unwrap_or(&Value::Null)));
    found.extend(validator.validate_object(schema, &object, None));
    found
}

fn violation(path: &str, problem: &str) -> Violation {
    Violation {
        path: path.into(),
        problem: problem.into(),
        blocking: true,
    }
}

/// The ProviderTarget CRD's `openAPIV3Schema`.
pub fn provider_target_schema() -> Option<Value> {
    launchplane_api::crd::all()
        .into_iter()
        .find(|crd| crd.spec.names.kind == "ProviderTarget")
        .and_then(|crd| crd.spec.versions.into_iter().next())
        .and_then(|version| version.schema)
        .and_then(|schema| schema.open_api_v3_schema)
        .and_then(|schema| serde_json::to_value(schema).ok())
}

/// The name of each selected unclaimed service's ProviderTarget, by id.
fn names(services: &[&ServiceRow], taken: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut by_base: BTreeMap<String, Vec<&ServiceRow>> = BTreeMap::new();
    for service in services.iter().filter(|s| s.claimed_by.is_empty()) {
        by_base.entry(base_name(service)).or_default().push(service);
    }
    let mut names = BTreeMap::new();
    for (base, group) in by_base {
        let shared = group.len() > 1 || taken.contains(&base);
        for service in group {
            let name = if shared {
                suffixed(&base, service)
            } else {
                base.clone()
            };
            names.insert(service.id.clone(), name);
        }
    }
    names
}

/// `project-environment-name`, as a DNS-1123 label.
fn base_name(service: &ServiceRow) -> String {
    let parts: Vec<String> = [
        service.project.as_deref(),
        service.environment.as_deref(),
        Some(service.name.as_str()),
    ]
    .into_iter()
    .flatten()
    .map(slug)
    .filter(|p| !p.is_empty())
    .collect();
    let base = if parts.is_empty() {
        service.category.clone()
    } else {
        parts.join("-")
    };
    if base.len() <= NAME_MAX {
        base
    } else {
        suffixed(&base, service)
    }
}

/// `base`, cut to leave room, then `-` and eight hex digits of the service's id.
fn suffixed(base: &str, service: &ServiceRow) -> String {
    let digest = Sha256::digest(format!("{}/{}", service.category, service.id).as_bytes());
    let hash = hex::encode(&digest[..4]);
    let room = NAME_MAX - hash.len() - 1;
    let cut: String = base.chars().take(room).collect();
    format!("{}-{hash}", cut.trim_end_matches('-'))
}

/// Lowercase letters and digits, runs of anything else as one `-`, none at either end.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests;

//! Turning a folder's manifests into typed resources, refusing the whole folder when any
//! manifest is bad: a drift check that silently skipped a typo'd resource would report
//! green for the wrong reason.

use super::manifests::{Manifest, ManifestError};
use super::references::{self, Folder};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use launchplane_api::resources::{
    Approval, Artifact, BackupGate, DataBootstrap, DeploymentRecord, Lane, NotificationPolicy, Preview,
    Product, Promotion, ProviderConfig, ProviderTarget, RuntimeIdentity,
};
use launchplane_api::validation::{SchemaValidator, Violation, validate_metadata};
use launchplane_api::{GROUP, VERSION, crd};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Kinds standalone mode reconciles today (DeploymentRecords given as manifests are evidence).
const RECONCILED: [&str; 13] = [
    "ProviderConfig",
    "ProviderTarget",
    "RuntimeIdentity",
    "Product",
    "Artifact",
    "Lane",
    "DeploymentRecord",
    "Preview",
    "Promotion",
    "BackupGate",
    "Approval",
    "NotificationPolicy",
    "DataBootstrap",
];

/// The typed contents of a folder.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub configs: Vec<ProviderConfig>,
    pub targets: Vec<ProviderTarget>,
    pub identities: Vec<RuntimeIdentity>,
    pub products: Vec<Product>,
    pub artifacts: Vec<Artifact>,
    pub lanes: Vec<Lane>,
    /// DeploymentRecords given as manifests: evidence of deploys made elsewhere.
    pub records: Vec<DeploymentRecord>,
    /// Pull-request previews (a recorded preview whose manifest is gone is torn down).
    pub previews: Vec<Preview>,
    /// Promotions (the ones the controller creates itself live in the state folder).
    pub promotions: Vec<Promotion>,
    /// Backup evidence written by backup workflows.
    pub backup_gates: Vec<BackupGate>,
    /// People's approvals of Promotions.
    pub approvals: Vec<Approval>,
    /// Where Incidents are notified (sent only with `--notify`).
    pub notification_policies: Vec<NotificationPolicy>,
    /// Data bootstraps of lanes (each runs once; its status is kept in the state folder).
    pub data_bootstraps: Vec<DataBootstrap>,
    /// Secret data by `namespace/name`, then key. Values stay in memory only.
    pub secrets: HashMap<String, BTreeMap<String, Vec<u8>>>,
    /// ConfigMap data by `namespace/name`, then key (lanes' `env.configMapRefs`).
    pub config_maps: HashMap<String, BTreeMap<String, String>>,
    /// Valid resources of kinds standalone mode does not reconcile yet, as `Kind/ns/name`.
    pub not_reconciled: Vec<String>,
    /// Manifests of other API groups (Deployments, …), as `Kind/ns/name`.
    pub ignored: Vec<String>,
    /// The objects of kinds with transition rules (`oldSelf`), as accepted now: what the next
    /// load compares them with ([`LoadContext::accepted`]).
    pub accepted: Vec<AcceptedObject>,
}

/// An object as accepted from the folder: the part its schema describes (`{"spec": …}`).
#[derive(Clone, Debug, PartialEq)]
pub struct AcceptedObject {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub body: Value,
}

/// What reading a folder needs from outside it.
#[derive(Clone, Copy)]
pub struct LoadContext<'a> {
    /// The environment, where `LAUNCHPLANE_API_KEY_<NAME>` may supply a ProviderConfig's key in
    /// place of its Secret manifest.
    pub variable: &'a dyn Fn(&str) -> Option<String>,
    /// The object of this kind, namespace and name as last accepted from the folder, for the
    /// CRDs' transition rules (`self == oldSelf`): `None` reads as a create.
    pub accepted: &'a dyn Fn(&str, &str, &str) -> Option<Value>,
}

fn no_variable(_: &str) -> Option<String> {
    None
}

fn nothing_accepted(_: &str, _: &str, _: &str) -> Option<Value> {
    None
}

impl LoadContext<'static> {
    /// No environment and no earlier load: a first run with every variable unset.
    pub fn isolated() -> Self {
        LoadContext {
            variable: &no_variable,
            accepted: &nothing_accepted,
        }
    }
}

/// Top-level fields of the core kinds standalone mode reads.
const SECRET_FIELDS: [&str; 7] = [
    "apiVersion",
    "kind",
    "metadata",
    "data",
    "stringData",
    "type",
    "immutable",
];
const CONFIG_MAP_FIELDS: [&str; 6] = [
    "apiVersion",
    "kind",
    "metadata",
    "data",
    "binaryData",
    "immutable",
];

/// The kinds of our group whose CRD carries a transition rule, so whose accepted objects are
/// kept between loads.
pub fn kinds_with_transition_rules() -> Vec<String> {
    fn has_transition_rule(schema: &Value) -> bool {
        match schema {
            Value::Object(map) => map.iter().any(|(k, v)| {
                if k == "x-kubernetes-validations" {
                    v.as_array().into_iter().flatten().any(|r| {
                        r.get("rule")
                            .and_then(Value::as_str)
                            .is_some_and(|rule| rule.contains("oldSelf"))
                    })
                } else {
                    has_transition_rule(v)
                }
            }),
            Value::Array(items) => items.iter().any(has_transition_rule),
            _ => false,
        }
    }
    schemas()
        .iter()
        .filter(|(_, schema)| has_transition_rule(schema))
        .map(|(kind, _)| kind.clone())
        .collect()
}

/// Each kind's `openAPIV3Schema`, as JSON (generated once per process).
fn schemas() -> &'static HashMap<String, Value> {
    static SCHEMAS: std::sync::OnceLock<HashMap<String, Value>> = std::sync::OnceLock::new();
    SCHEMAS.get_or_init(|| {
        crd::all()
            .into_iter()
            .filter_map(|c| {
                let kind = c.spec.names.kind.clone();
                let schema = c
                    .spec
                    .versions
                    .first()?
                    .schema
                    .as_ref()?
                    .open_api_v3_schema
                    .clone()?;
                Some((kind, serde_json::to_value(schema).ok()?))
            })
            .collect()
    })
}

/// Check and decode every manifest as the API server would take them (schemas, CEL rules,
/// metadata), and resolve every reference between them. Either all are good, or every problem
/// is returned.
pub fn decode(manifests: &[Manifest], context: LoadContext<'_>) -> Result<Inputs, Vec<ManifestError>> {
    let schemas = schemas();
    let with_history = kinds_with_transition_rules();
    let mut validator = SchemaValidator::new();
    let mut inputs = Inputs::default();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, &Manifest> = HashMap::new();
    let mut resolvable: Vec<&Manifest> = Vec::new();
    let our_api_version = format!("{GROUP}/{VERSION}");
    let refuse = |m: &Manifest, violations: Vec<Violation>| -> Vec<ManifestError> {
        violations
            .into_iter()
            .map(|v| m.error(Some(&v.path), v.problem))
            .collect()
    };

    for m in manifests {
        if let Some(first) = seen.insert(m.resource(), m) {
            errors.push(m.error(
                Some("metadata.name"),
                format!(
                    "defined twice (also in {} document {}); names are unique per kind and namespace",
                    first.file.display(),
                    first.document
                ),
            ));
            continue;
        }
        let group = m.api_version.split('/').next().unwrap_or_default();
        if group == GROUP {
            if m.api_version != our_api_version {
                errors.push(m.error(
                    Some("apiVersion"),
                    format!("{} is not served; use {our_api_version}", m.api_version),
                ));
                continue;
            }
            let Some(schema) = schemas.get(&m.kind) else {
                let mut known: Vec<&str> = schemas.keys().map(String::as_str).collect();
                known.sort_unstable();
                errors.push(m.error(
                    Some("kind"),
                    format!(
                        "{} is not a kind of {GROUP}; use one of {}",
                        m.kind,
                        known.join(", ")
                    ),
                ));
                continue;
            };
            // As the API server takes an object: metadata, then the schema with its unknown
            // fields (a `specs:` typo included) and CEL rules, transition rules against the
            // object as last accepted. `status` is the controller's and is ignored.
            let old = (context.accepted)(&m.kind, &m.namespace, &m.name);
            let mut violations = validate_metadata(m.value.get("metadata").unwrap_or(&Value::Null));
            violations.extend(validator.validate_object(schema, &m.value, old.as_ref()));
            if m.value.get("spec").is_none() {
                for v in violations.iter_mut().filter(|v| v.path == "spec") {
                    v.problem = "required: every resource of this kind needs a spec".into();
                }
            }
            if !violations.is_empty() {
                errors.extend(refuse(m, violations));
                continue;
            }
            if let Err(e) = decode_kind(m, &mut inputs) {
                errors.push(e);
                continue;
            }
            resolvable.push(m);
            if with_history.contains(&m.kind) {
                inputs.accepted.push(AcceptedObject {
                    kind: m.kind.clone(),
                    namespace: m.namespace.clone(),
                    name: m.name.clone(),
                    body: serde_json::json!({ "spec": m.value.get("spec") }),
                });
            }
        } else if m.api_version == "v1" && (m.kind == "Secret" || m.kind == "ConfigMap") {
            let violations = core_violations(m);
            if !violations.is_empty() {
                errors.extend(refuse(m, violations));
                continue;
            }
            if m.kind == "ConfigMap" {
                match m.decode::<ConfigMap>() {
                    Ok(cm) => {
                        inputs
                            .config_maps
                            .insert(format!("{}/{}", m.namespace, m.name), cm.data.unwrap_or_default());
                    }
                    Err(e) => errors.push(e),
                }
                continue;
            }
            match m.decode::<Secret>() {
                Ok(secret) => {
                    inputs
                        .secrets
                        .insert(format!("{}/{}", m.namespace, m.name), secret_data(&secret));
                }
                Err(e) => errors.push(e),
            }
        } else {
            inputs.ignored.push(m.resource());
        }
    }
    // Every object that exists counts as a target, even one refused above: its own error says
    // what is wrong with it, and a second "not in the folder" would mislead.
    let folder = Folder::new(manifests);
    for m in resolvable {
        errors.extend(references::dangling(m, &folder, context.variable));
    }
    if errors.is_empty() {
        Ok(inputs)
    } else {
        Err(errors)
    }
}

/// What `kubectl apply --validate=strict` refuses in a Secret or ConfigMap: bad metadata and
/// unknown fields (a `strinData:` typo would otherwise leave the Secret empty).
fn core_violations(m: &Manifest) -> Vec<Violation> {
    let known: &[&str] = if m.kind == "Secret" {
        &SECRET_FIELDS
    } else {
        &CONFIG_MAP_FIELDS
    };
    let mut violations = validate_metadata(m.value.get("metadata").unwrap_or(&Value::Null));
    let top = m.value.as_object().into_iter().flatten();
    violations.extend(
        top.filter(|(k, _)| !known.contains(&k.as_str()))
            .map(|(k, _)| Violation {
                path: k.clone(),
                problem: format!(
                    "unknown field of a {} (kubectl apply --validate=strict refuses it)",
                    m.kind
                ),
                blocking: false,
            }),
    );
    violations
}

fn decode_kind(m: &Manifest, inputs: &mut Inputs) -> Result<(), ManifestError> {
    // The namespace a manifest omits is `default`, as kubectl would apply it; the typed
    // object carries it so references and state paths agree.
    let with_namespace = |mut meta: kube::api::ObjectMeta| {
        meta.namespace = Some(m.namespace.clone());
        meta
    };
    match m.kind.as_str() {
        "ProviderConfig" => {
            let mut o: ProviderConfig = m.decode()?;
            o.metadata = with_namespace(o.metadata);
            o.status = None;
            inputs.configs.push(o);
        }
        "ProviderTarget" => {
            let mut o: ProviderTarget = m.decode()?;
            o.metadata = with_namespace(o.metadata);
            o.status = None;
            inputs.targets.push(o);
        }
        "RuntimeIdentity" => {
            let mut o: RuntimeIdentity = m.decode()?;
            o.metadata = with_namespace(o.metadata);
            o.status = None;
            inputs.identities.push(o);
        }
        "Product" => {
            let mut o: Product = m.decode()?;
            o.metadata = with_namespace(o.metadata);
            o.status = None;
            inputs.products.push(o);
        }
        "Artifact" => {
            let mut o: Artifact = m.decode()?;
            o.metadata = with_namespace(o.metadata);
            o.status = None;
            inputs.artifacts.push(o);
        }
        "Lane" => {
            let mut o: Lane = m.decode()?;
            o.metadata = with_namespace(o.metadata);
            o.status = None;
            inputs.lanes.push(o);
        }
        "DeploymentRecord" => {
            let mut o: DeploymentRecord = m.decode()?;
            o.metadata = with_namespace(o.metadata);
            o.status = None;
            inputs.records.push(o);
        }
        "Preview" => {
            let mut o: Preview = m.decode()?;
            o.metadata = with_namespace(o.metadata);
            o.status = None;
            inputs.previews.push(o);
        }
        "Promotion" => {
            let mut o: Promotion = m.decode()?;
            o.metadata = with_namespace(o.metadata);
            o.status = None;
            inputs.promotions.push(o);
        }
        "BackupGate" => {
            let mut o: BackupGate = m.decode()?;
            o.metadata = with_namespace(o.metadata);
            o.status = None;
            inputs.backup_gates.push(o);
        }
        "Approval" => {
            let mut o: Approval = m.decode()?;
            o.metadata = with_namespace(o.metadata);
            o.status = None;
            inputs.approvals.push(o);
        }
        "NotificationPolicy" => {
            let mut o: NotificationPolicy = m.decode()?;
            o.metadata = with_namespace(o.metadata);
            o.status = None;
            inputs.notification_policies.push(o);
        }
        "DataBootstrap" => {
            let mut o: DataBootstrap = m.decode()?;
            o.metadata = with_namespace(o.metadata);
            o.status = None;
            inputs.data_bootstraps.push(o);
        }
        _ => {
            debug_assert!(!RECONCILED.contains(&m.kind.as_str()));
            inputs.not_reconciled.push(m.resource());
        }
    }
    Ok(())
}

/// `data` (base64, decoded by k8s-openapi) and `stringData` (wins, as on the API server), as
/// bytes: whether a value is text is for its reader to say (a lane's env refuses one that is
/// not, naming the key), as in the cluster.
fn secret_data(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    for (k, v) in secret.string_data.iter().flatten() {
        out.insert(k.clone(), v.clone().into_bytes());
    }
    out
}

#[cfg(test)]
mod tests;

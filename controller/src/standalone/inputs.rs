//! Turning a folder's manifests into typed resources, refusing the whole folder when any
//! manifest is bad: a drift check that silently skipped a typo'd resource would report
//! green for the wrong reason.

use super::manifests::{Manifest, ManifestError};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use launchplane_api::resources::{
    Artifact, DeploymentRecord, Lane, Preview, Product, ProviderConfig, ProviderTarget, RuntimeIdentity,
};
use launchplane_api::validation::SchemaValidator;
use launchplane_api::{GROUP, VERSION, crd};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Kinds standalone mode reconciles today (DeploymentRecords given as manifests are evidence).
const RECONCILED: [&str; 8] = [
    "ProviderConfig",
    "ProviderTarget",
    "RuntimeIdentity",
    "Product",
    "Artifact",
    "Lane",
    "DeploymentRecord",
    "Preview",
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
    /// Secret data by `namespace/name`, then key. Values stay in memory only.
    pub secrets: HashMap<String, BTreeMap<String, String>>,
    /// ConfigMap data by `namespace/name`, then key (lanes' `env.configMapRefs`).
    pub config_maps: HashMap<String, BTreeMap<String, String>>,
    /// Valid resources of kinds standalone mode does not reconcile yet, as `Kind/ns/name`.
    pub not_reconciled: Vec<String>,
    /// Manifests of other API groups (ConfigMaps, Deployments, …), as `Kind/ns/name`.
    pub ignored: Vec<String>,
}

/// Check and decode every manifest. Either all are good, or every problem is returned.
pub fn decode(manifests: &[Manifest]) -> Result<Inputs, Vec<ManifestError>> {
    let schemas: HashMap<String, Value> = crd::all()
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
        .collect();
    let mut validator = SchemaValidator::new();
    let mut inputs = Inputs::default();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, &Manifest> = HashMap::new();
    let our_api_version = format!("{GROUP}/{VERSION}");

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
            // apiVersion, kind and metadata are the API server's to check (done above for
            // what standalone mode needs); status is the controller's, not the author's.
            let violations = match (m.value.get("spec"), schema.pointer("/properties/spec")) {
                (Some(spec), Some(spec_schema)) => validator.validate(spec_schema, spec, "spec"),
                (None, Some(_)) => vec![launchplane_api::validation::Violation {
                    path: "spec".into(),
                    problem: "required: every resource of this kind needs a spec".into(),
                }],
                (_, None) => Vec::new(),
            };
            if !violations.is_empty() {
                errors.extend(violations.into_iter().map(|v| m.error(Some(&v.path), v.problem)));
                continue;
            }
            if let Err(e) = decode_kind(m, &mut inputs) {
                errors.push(e);
            }
        } else if m.api_version == "v1" && m.kind == "Secret" {
            match m.decode::<Secret>() {
                Ok(secret) => {
                    inputs
                        .secrets
                        .insert(format!("{}/{}", m.namespace, m.name), secret_data(&secret));
                }
                Err(e) => errors.push(e),
            }
        } else if m.api_version == "v1" && m.kind == "ConfigMap" {
            match m.decode::<ConfigMap>() {
                Ok(cm) => {
                    inputs
                        .config_maps
                        .insert(format!("{}/{}", m.namespace, m.name), cm.data.unwrap_or_default());
                }
                Err(e) => errors.push(e),
            }
        } else {
            inputs.ignored.push(m.resource());
        }
    }
    if errors.is_empty() {
        Ok(inputs)
    } else {
        Err(errors)
    }
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
        _ => {
            debug_assert!(!RECONCILED.contains(&m.kind.as_str()));
            inputs.not_reconciled.push(m.resource());
        }
    }
    Ok(())
}

/// `data` (base64, decoded by k8s-openapi) and `stringData` (wins, as on the API server).
fn secret_data(secret: &Secret) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in secret.data.iter().flatten() {
        if let Ok(text) = String::from_utf8(v.0.clone()) {
            out.insert(k.clone(), text);
        }
    }
    for (k, v) in secret.string_data.iter().flatten() {
        out.insert(k.clone(), v.clone());
    }
    out
}

#[cfg(test)]
mod tests;

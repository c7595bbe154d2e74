//! `kubectl launchplane diff lane/NAME`: the three-way comparison of a lane, field by field:
//! what Launchplane wants (the ProviderTarget's spec, what the lane's current DeploymentRecord
//! expects, the lane's env), what Dokploy has (the ProviderTarget's `status.observed`) and what
//! the app echoes (the identity its last probe read).
//!
//! Every verdict is one the controller reached and wrote to status (the ProviderTarget's
//! comparison, the lane's drift check and its runtime-identity check, their mismatches); the
//! plugin compares nothing itself, and calls no Dokploy. Values of Secret keys are never read
//! into the view: a Secret contributes its key names only. Dokploy's env values are not in
//! status at all (only key names), so its column says whether a key is set.

use super::connect::Scope;
use super::output::{
    Cell, EXIT_OK, Format, NONE, age, bad_input, clipped, not_found, serialized, table, unreadable,
};
use super::status::condition_verdict;
use crate::cli::answer::Answer;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use kube::{Client, Resource};
use launchplane_api::Verdict;
use launchplane_api::conditions::types;
use launchplane_api::identity::{IdentityField, RuntimeIdentityPayload, identity_env};
use launchplane_api::resources::{Lane, ProviderTarget, ProviderTargetStatus, RuntimeIdentity};
use launchplane_core::deployment_record::LANE_LABEL;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Clone, Debug, clap::Args)]
pub struct DiffArgs {
    /// The lane: `lane/NAME` (or `NAME`).
    #[arg(value_name = "lane/NAME")]
    pub lane: String,
}

/// The name in `lane/NAME`, `lanes/NAME`, `lpl/NAME`, `lane.launchplane.dev/NAME` or `NAME`,
/// given to `command`.
pub fn lane_name(text: &str, command: &str) -> Result<String, String> {
    let (kind, name) = match text.split_once('/') {
        Some((kind, name)) => (Some(kind), name),
        None => (None, text),
    };
    if let Some(kind) = kind
        && !matches!(
            kind,
            "lane" | "lanes" | "lpl" | "lane.launchplane.dev" | "lanes.launchplane.dev"
        )
    {
        return Err(format!(
            "{text}: {command} takes a lane, not a {kind}; pass lane/NAME (`kubectl get lanes` lists them)"
        ));
    }
    if name.is_empty() || name.contains('/') {
        return Err(format!(
            "{text}: not a lane name; pass lane/NAME, e.g. lane/shop-prod"
        ));
    }
    Ok(name.to_string())
}

/// Where a lane's env comes from, as read now: a ConfigMap's keys and values, or a Secret's
/// keys alone (`None` values: withheld); `Err` says why it could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvSource {
    /// `ConfigMap` or `Secret`.
    pub kind: &'static str,
    pub name: String,
    pub keys: Result<BTreeMap<String, Option<String>>, String>,
}

/// Everything `diff` reads for one lane.
#[derive(Clone, Debug)]
pub struct LaneFacts {
    pub lane: Lane,
    pub target: Option<ProviderTarget>,
    /// The lane's RuntimeIdentity child.
    pub child: Option<RuntimeIdentity>,
    /// The lane's ConfigMaps, then its Secrets, in the order of its spec.
    pub env_sources: Vec<EnvSource>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffView {
    pub namespace: String,
    pub lane: String,
    pub desired: Option<String>,
    pub desired_by: Option<String>,
    pub deployed: Option<String>,
    pub echoed: Option<String>,
    /// The DeploymentRecord whose identity the app is expected to serve.
    pub expected_record: Option<String>,
    pub target: String,
    pub target_observed_at: Option<Timestamp>,
    pub identity_probed_at: Option<Timestamp>,
    pub fields: Vec<FieldRow>,
    /// The lane's aspect conditions, as the controller judged them.
    pub conditions: Vec<ConditionRow>,
}

/// One compared field. A value absent is `null`; `verdict` is `null` where nothing is compared.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldRow {
    pub field: String,
    /// Where the wanted value comes from.
    pub source: String,
    pub spec: Option<String>,
    /// The wanted value is a Secret's: never shown.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
    pub dokploy: Option<String>,
    pub app: Option<String>,
    pub verdict: Option<Verdict>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionRow {
    #[serde(rename = "type")]
    pub type_: String,
    pub verdict: Option<Verdict>,
    pub message: String,
}

/// What a field's verdict is, from the ProviderTarget's own comparison: Matched or Mismatch
/// only on an observation its last verdict stands on; otherwise the target's verdict (stale,
/// unreachable, missing), never Matched. `None` when the spec does not ask for the field.
pub fn target_verdict(status: Option<&ProviderTargetStatus>, field: &str, compared: bool) -> Option<Verdict> {
    if !compared {
        return None;
    }
    let Some(s) = status else {
        return Some(Verdict::Unchecked);
    };
    let verdict = s.verdict.unwrap_or_default();
    let fresh = matches!(verdict, Verdict::Matched | Verdict::Mismatch) && s.observed.is_some();
    if !fresh {
        return Some(verdict);
    }
    Some(if s.mismatches.iter().any(|m| m.field == field) {
        Verdict::Mismatch
    } else {
        Verdict::Matched
    })
}

/// The fields the lane's drift check (`ConfigSynced`) compares.
fn config_field(field: &str) -> bool {
    field == "image" || field == "env" || field.starts_with("env.")
}

/// The fields the lane's runtime-identity check compares.
fn identity_field(field: &str) -> bool {
    field.starts_with("identity.")
}

/// A lane field's verdict, from the comparison the controller made (`condition`, over the
/// fields `compares` owns): Mismatch when the lane's status names the field; Matched when the
/// comparison matched, or found differences in other fields only; when it found a difference
/// it names no field of, every field shares its Mismatch; when it could not compare
/// (Unverifiable, Missing, Unchecked), every field has that verdict, never Matched.
pub fn lane_verdict(lane: &Lane, field: &str, condition: &str, compares: fn(&str) -> bool) -> Verdict {
    let status = lane.status.clone().unwrap_or_default();
    if status.mismatches.iter().any(|m| m.field == field) {
        return Verdict::Mismatch;
    }
    match condition_verdict(&status.conditions, condition).unwrap_or_default() {
        Verdict::Mismatch if status.mismatches.iter().any(|m| compares(&m.field)) => Verdict::Matched,
        verdict => verdict,
    }
}

fn name<K: Resource>(k: &K) -> String {
    k.meta().name.clone().unwrap_or_default()
}

/// The three-way view of `facts`.
pub fn view(facts: &LaneFacts) -> DiffView {
    let lane = &facts.lane;
    let status = lane.status.clone().unwrap_or_default();
    let mut fields = target_rows(facts);
    fields.extend(identity_rows(facts));
    fields.extend(env_rows(facts));
    let conditions = [
        types::TARGET_VERIFIED,
        types::CONFIG_SYNCED,
        types::DEPLOYED,
        types::RUNTIME_IDENTITY_VERIFIED,
        types::HEALTHY,
    ]
    .into_iter()
    .map(|type_| {
        let found = launchplane_api::conditions::find(&status.conditions, type_);
        ConditionRow {
            type_: type_.to_string(),
            verdict: condition_verdict(&status.conditions, type_),
            message: found.map(|c| c.message.clone()).unwrap_or_default(),
        }
    })
    .collect();
    DiffView {
        namespace: lane.metadata.namespace.clone().unwrap_or_default(),
        lane: name(lane),
        desired: status.desired.as_ref().map(|d| d.artifact.clone()),
        desired_by: status.desired.as_ref().and_then(|d| d.promotion.clone()),
        deployed: status.inventory.as_ref().map(|i| i.artifact.clone()),
        echoed: status
            .observed_identity
            .as_ref()
            .and_then(|o| o.artifact_id.clone()),
        expected_record: status
            .expected_identity
            .as_ref()
            .and_then(|e| e.deployment_record_id.clone()),
        target: lane.spec.target_ref.name.clone(),
        target_observed_at: facts
            .target
            .as_ref()
            .and_then(|t| t.status.as_ref())
            .and_then(|s| s.last_observed_time.as_ref())
            .map(|t| t.0),
        identity_probed_at: facts
            .child
            .as_ref()
            .and_then(|c| c.status.as_ref())
            .and_then(|s| s.last_probe_time.as_ref())
            .map(|t| t.0),
        fields,
        conditions,
    }
}

/// The ProviderTarget's fields: its spec against Dokploy.
fn target_rows(facts: &LaneFacts) -> Vec<FieldRow> {
    let Some(target) = &facts.target else {
        return Vec::new();
    };
    let spec = &target.spec;
    let status = target.status.as_ref();
    let observed = status.and_then(|s| s.observed.clone()).unwrap_or_default();
    let source = format!("ProviderTarget {}", name(target));
    let domains = |d: &[String]| {
        let mut d = d.to_vec();
        d.sort();
        d.join(",")
    };
    let rows: [(&str, Option<String>, Option<String>, bool); 7] = [
        (
            "targetId",
            spec.target_id.clone(),
            observed
                .target_id
                .clone()
                .or_else(|| status.and_then(|s| s.bound_target_id.clone())),
            spec.target_id.is_some(),
        ),
        (
            "targetCategory",
            Some(spec.target_category.as_str().to_string()),
            observed.category.clone(),
            true,
        ),
        (
            "displayName",
            Some(spec.display_name.clone()),
            observed.display_name.clone(),
            true,
        ),
        (
            "providerTargetType",
            spec.provider_target_type.clone(),
            observed.target_type.clone(),
            spec.provider_target_type.is_some(),
        ),
        (
            "project",
            spec.project.clone(),
            observed.project.clone(),
            spec.project.as_deref().is_some_and(|p| !p.is_empty()),
        ),
        (
            "environment",
            spec.environment.clone(),
            observed.environment.clone(),
            spec.environment.as_deref().is_some_and(|e| !e.is_empty()),
        ),
        (
            "domains",
            (!spec.domains.is_empty()).then(|| domains(&spec.domains)),
            status
                .and_then(|s| s.observed.as_ref())
                .map(|_| domains(&observed.domains)),
            !spec.domains.is_empty(),
        ),
    ];
    rows.into_iter()
        .map(|(field, want, got, compared)| FieldRow {
            field: format!("target.{field}"),
            source: source.clone(),
            spec: want,
            withheld: false,
            dokploy: got,
            app: None,
            verdict: target_verdict(status, field, compared),
        })
        .collect()
}

/// The identity the current record expects, against the image on Dokploy (for the image) and
/// what the app echoes.
fn identity_rows(facts: &LaneFacts) -> Vec<FieldRow> {
    let lane = &facts.lane;
    let status = lane.status.clone().unwrap_or_default();
    let Some(expected) = status.expected_identity.as_ref() else {
        return Vec::new();
    };
    let expected = RuntimeIdentityPayload::from(expected);
    let echoed = status.observed_identity.clone().unwrap_or_default();
    let dokploy_image = facts
        .target
        .as_ref()
        .and_then(|t| t.status.as_ref())
        .and_then(|s| s.observed.as_ref())
        .and_then(|o| o.image.clone());
    let source = match &expected.deployment_record_id {
        Some(r) => format!("DeploymentRecord {r}"),
        None => "the lane's current DeploymentRecord".to_string(),
    };
    // The image first: the one field all three sides show.
    let order = std::iter::once(IdentityField::ImageReference).chain(
        IdentityField::ALL
            .into_iter()
            .filter(|f| *f != IdentityField::ImageReference),
    );
    order
        .filter_map(|f| {
            let want = expected.get(f).filter(|v| !v.is_empty())?;
            let key = f.json_key();
            let app_verdict = lane_verdict(
                lane,
                &format!("identity.{key}"),
                types::RUNTIME_IDENTITY_VERIFIED,
                identity_field,
            );
            // The image is the one field Dokploy shows too: the lane's drift check compares it.
            let (field, dokploy, verdict) = if f == IdentityField::ImageReference {
                let on_dokploy = lane_verdict(lane, "image", types::CONFIG_SYNCED, config_field);
                (
                    "image".to_string(),
                    dokploy_image.clone(),
                    Verdict::worst([on_dokploy, app_verdict]),
                )
            } else {
                (format!("identity.{key}"), None, app_verdict)
            };
            Some(FieldRow {
                field,
                source: source.clone(),
                spec: Some(want.to_string()),
                withheld: false,
                dokploy,
                app: echoed.get(f).map(str::to_string),
                verdict: Some(verdict),
            })
        })
        .collect()
}

/// The env the lane writes (its ConfigMaps, then its Secrets, then its literal values, then
/// the identity keys of the current record: later wins), against the keys Dokploy has; then
/// Dokploy's other keys, which are not the lane's and are not compared.
fn env_rows(facts: &LaneFacts) -> Vec<FieldRow> {
    let lane = &facts.lane;
    let status = lane.status.clone().unwrap_or_default();
    // key -> (source, value: None when withheld)
    let mut wanted: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    let mut unreadable: Vec<String> = Vec::new();
    for source in &facts.env_sources {
        let label = format!("{} {}", source.kind, source.name);
        match &source.keys {
            Ok(keys) => {
                for (k, v) in keys {
                    wanted.insert(k.clone(), (label.clone(), v.clone()));
                }
            }
            Err(why) => unreadable.push(format!("{label}: {why}")),
        }
    }
    for v in &lane.spec.env.values {
        wanted.insert(v.name.clone(), ("spec.env.values".into(), Some(v.value.clone())));
    }
    if let Some(expected) = &status.expected_identity {
        for (k, v) in identity_env(&RuntimeIdentityPayload::from(expected)) {
            wanted.insert(k, ("identity".into(), Some(v)));
        }
    }
    let observed = facts
        .target
        .as_ref()
        .and_then(|t| t.status.as_ref())
        .and_then(|s| s.observed.as_ref());
    let on_dokploy = |key: &str| {
        observed.map(|o| {
            if o.env_keys.iter().any(|k| k == key) {
                "set"
            } else {
                "absent"
            }
            .to_string()
        })
    };
    let mut rows: Vec<FieldRow> = Vec::new();
    for why in &unreadable {
        rows.push(FieldRow {
            field: "env".into(),
            source: why.clone(),
            spec: None,
            withheld: false,
            dokploy: None,
            app: None,
            verdict: Some(condition_verdict(&status.conditions, types::CONFIG_SYNCED).unwrap_or_default()),
        });
    }
    for (key, (source, value)) in &wanted {
        let withheld = value.is_none();
        rows.push(FieldRow {
            field: format!("env.{key}"),
            source: source.clone(),
            spec: value.clone(),
            withheld,
            dokploy: on_dokploy(key),
            app: None,
            verdict: Some(lane_verdict(
                lane,
                &format!("env.{key}"),
                types::CONFIG_SYNCED,
                config_field,
            )),
        });
    }
    // A drift the controller found on a key the view does not know (a source unreadable now).
    for m in &status.mismatches {
        if let Some(key) = m.field.strip_prefix("env.")
            && !wanted.contains_key(key)
        {
            rows.push(FieldRow {
                field: m.field.clone(),
                source: "the lane's env".into(),
                spec: None,
                withheld: true,
                dokploy: on_dokploy(key),
                app: None,
                verdict: Some(Verdict::Mismatch),
            });
        }
    }
    if let Some(o) = observed {
        let other_source = if unreadable.is_empty() {
            "not the lane's: kept, not compared".to_string()
        } else {
            "not the lane's, or from a source not readable now: not compared".to_string()
        };
        for key in &o.env_keys {
            if !wanted.contains_key(key) && !rows.iter().any(|r| r.field == format!("env.{key}")) {
                rows.push(FieldRow {
                    field: format!("env.{key}"),
                    source: other_source.clone(),
                    spec: None,
                    withheld: false,
                    dokploy: Some("set".into()),
                    app: None,
                    verdict: None,
                });
            }
        }
    }
    rows
}

/// Widest value cell in the table; JSON and YAML carry every value whole.
const CELL_MAX: usize = 48;

fn value_cell(value: Option<&str>) -> String {
    value.map_or_else(|| "-".to_string(), |v| clipped(v, CELL_MAX))
}

pub fn render_table(view: &DiffView, now: Timestamp, colour: bool) -> String {
    let mut out = String::new();
    let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| NONE.to_string());
    let _ = writeln!(
        out,
        "Lane {}/{}: desired {}{}, deployed {}, echoed {}",
        view.namespace,
        view.lane,
        or_none(&view.desired),
        view.desired_by
            .as_ref()
            .map(|p| format!(" (Promotion {p})"))
            .unwrap_or_default(),
        or_none(&view.deployed),
        or_none(&view.echoed),
    );
    let seen =
        |t: Option<Timestamp>| t.map_or_else(|| "never".to_string(), |t| format!("{} ago", age(t, now)));
    let _ = writeln!(
        out,
        "SPEC: ProviderTarget {} and what {} expects; DOKPLOY: observed {}; APP: probed {}",
        view.target,
        view.expected_record.as_ref().map_or_else(
            || "no deployment record".to_string(),
            |r| format!("DeploymentRecord {r}")
        ),
        seen(view.target_observed_at),
        seen(view.identity_probed_at),
    );
    out.push('\n');
    let rows: Vec<Vec<Cell>> = view
        .fields
        .iter()
        .map(|r| {
            let spec = if r.withheld {
                format!("(withheld: {})", r.source)
            } else if r.field == "env" {
                r.source.clone()
            } else if r.spec.is_none() && r.verdict.is_none() {
                "(not the lane's)".to_string()
            } else {
                value_cell(r.spec.as_deref())
            };
            vec![
                Cell::plain(&*r.field),
                Cell::plain(spec),
                Cell::plain(value_cell(r.dokploy.as_deref())),
                Cell::plain(value_cell(r.app.as_deref())),
                r.verdict.map_or_else(|| Cell::plain("-"), Cell::verdict),
            ]
        })
        .collect();
    out.push_str(&table(
        &["FIELD", "SPEC", "DOKPLOY", "APP", "VERDICT"],
        &rows,
        colour,
    ));
    out.push('\n');
    let rows: Vec<Vec<Cell>> = view
        .conditions
        .iter()
        .map(|c| {
            vec![
                Cell::plain(&*c.type_),
                c.verdict.map_or_else(|| Cell::plain(NONE), Cell::verdict),
                Cell::plain(&*c.message),
            ]
        })
        .collect();
    out.push_str(&table(&["CONDITION", "VERDICT", "MESSAGE"], &rows, colour));
    out
}

pub fn answer(facts: &LaneFacts, format: Format, now: Timestamp, colour: bool) -> Answer {
    let view = view(facts);
    Answer {
        stdout: match format {
            Format::Table => render_table(&view, now, colour),
            Format::Json | Format::Yaml => serialized(format, &view),
        },
        code: EXIT_OK,
        ..Answer::default()
    }
}

/// A ConfigMap's or a Secret's keys, or why they cannot be read. A Secret's values are dropped
/// here, as soon as they arrive.
async fn env_source(client: &Client, namespace: &str, kind: &'static str, source: &str) -> EnvSource {
    let missing = |e: &kube::Error| match e {
        kube::Error::Api(s) if s.code == 404 => "does not exist".to_string(),
        kube::Error::Api(s) if s.code == 403 => format!("not readable ({})", s.reason),
        other => format!("not readable: {other}"),
    };
    let keys = if kind == "Secret" {
        Api::<Secret>::namespaced(client.clone(), namespace)
            .get(source)
            .await
            .map(|s| {
                s.data
                    .unwrap_or_default()
                    .into_keys()
                    .map(|k| (k, None))
                    .collect()
            })
            .map_err(|e| missing(&e))
    } else {
        Api::<ConfigMap>::namespaced(client.clone(), namespace)
            .get(source)
            .await
            .map(|c| {
                c.data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, Some(v)))
                    .collect()
            })
            .map_err(|e| missing(&e))
    };
    EnvSource {
        kind,
        name: source.to_string(),
        keys,
    }
}

/// Read the lane and what it names.
pub async fn fetch(client: &Client, namespace: &str, lane_name: &str) -> Result<LaneFacts, Answer> {
    let lanes: Api<Lane> = Api::namespaced(client.clone(), namespace);
    let lane = match lanes.get_opt(lane_name).await {
        Ok(Some(lane)) => lane,
        Ok(None) => {
            return Err(not_found(format!(
                "lane {lane_name} not found in namespace {namespace}: `kubectl get lanes -n {namespace}` lists \
                 them, and -n picks another namespace"
            )));
        }
        Err(e) => return Err(unreadable(&format!("lane {namespace}/{lane_name}"), "get", &e)),
    };
    let target = Api::<ProviderTarget>::namespaced(client.clone(), namespace)
        .get_opt(&lane.spec.target_ref.name)
        .await
        .map_err(|e| {
            unreadable(
                &format!("providertarget {namespace}/{}", lane.spec.target_ref.name),
                "get",
                &e,
            )
        })?;
    let child = Api::<RuntimeIdentity>::namespaced(client.clone(), namespace)
        .get_opt(lane_name)
        .await
        .map_err(|e| unreadable(&format!("runtimeidentity {namespace}/{lane_name}"), "get", &e))?
        .filter(|c| {
            c.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(LANE_LABEL))
                .is_some_and(|v| v == lane_name)
        });
    let mut env_sources = Vec::new();
    for r in &lane.spec.env.config_map_refs {
        env_sources.push(env_source(client, namespace, "ConfigMap", &r.name).await);
    }
    for r in &lane.spec.env.secret_refs {
        env_sources.push(env_source(client, namespace, "Secret", &r.name).await);
    }
    Ok(LaneFacts {
        lane,
        target,
        child,
        env_sources,
    })
}

pub async fn run(
    client: &Client,
    scope: Scope,
    args: &DiffArgs,
    format: Format,
    now: Timestamp,
    colour: bool,
) -> Answer {
    let namespace = match scope.one("diff") {
        Ok(ns) => ns,
        Err(e) => return bad_input(e),
    };
    let lane = match lane_name(&args.lane, "diff") {
        Ok(name) => name,
        Err(e) => return bad_input(e),
    };
    match fetch(client, &namespace, &lane).await {
        Ok(facts) => answer(&facts, format, now, colour),
        Err(answer) => answer,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use launchplane_api::resources::TargetObservation;
    use launchplane_api::verdict::FieldMismatch;

    #[test]
    fn a_lane_is_named_as_kubectl_names_it() {
        assert_eq!(lane_name("lane/shop-prod", "diff"), Ok("shop-prod".into()));
        assert_eq!(lane_name("lpl/shop-prod", "diff"), Ok("shop-prod".into()));
        assert_eq!(lane_name("shop-prod", "diff"), Ok("shop-prod".into()));
        let e = lane_name("preview/shop-pr-1", "diff").unwrap_err();
        assert!(
            e.contains("diff takes a lane, not a preview") && e.contains("lane/NAME"),
            "{e}"
        );
        assert!(lane_name("lane/", "diff").is_err());
        assert!(lane_name("lane/a/b", "diff").is_err());
    }

    fn observed_status(verdict: Verdict, mismatched: &[&str]) -> ProviderTargetStatus {
        ProviderTargetStatus {
            verdict: Some(verdict),
            observed: Some(TargetObservation::default()),
            mismatches: mismatched
                .iter()
                .map(|f| FieldMismatch::values(*f, Some("a"), Some("b")))
                .collect(),
            ..ProviderTargetStatus::default()
        }
    }

    fn lane_with(condition: &str, verdict: &str, mismatched: &[&str]) -> Lane {
        let mut lane = Lane::new("shop-prod", launchplane_api::resources::LaneSpec::default());
        lane.status = Some(launchplane_api::resources::LaneStatus {
            conditions: vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
                type_: condition.into(),
                status: "False".into(),
                reason: verdict.into(),
                message: String::new(),
                last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                    Timestamp::UNIX_EPOCH,
                ),
                observed_generation: None,
            }],
            mismatches: mismatched.iter().map(|f| FieldMismatch::withheld(*f)).collect(),
            ..Default::default()
        });
        lane
    }

    #[test]
    fn a_lane_field_differs_only_where_the_controller_s_comparison_says_it_does() {
        let c = types::CONFIG_SYNCED;
        let drifted = lane_with(c, "Mismatch", &["env.DATABASE_URL", "target.domains"]);
        assert_eq!(
            lane_verdict(&drifted, "env.DATABASE_URL", c, config_field),
            Verdict::Mismatch
        );
        assert_eq!(
            lane_verdict(&drifted, "env.LOG_LEVEL", c, config_field),
            Verdict::Matched
        );
        assert_eq!(lane_verdict(&drifted, "image", c, config_field), Verdict::Matched);
        // A difference the status names no field of belongs to every field.
        let unattributed = lane_with(c, "Mismatch", &["target.domains"]);
        assert_eq!(
            lane_verdict(&unattributed, "env.LOG_LEVEL", c, config_field),
            Verdict::Mismatch
        );
        // No comparison, no Matched.
        let unread = lane_with(c, "Unverifiable", &[]);
        assert_eq!(
            lane_verdict(&unread, "env.LOG_LEVEL", c, config_field),
            Verdict::Unverifiable
        );
        let matched = lane_with(c, "Matched", &[]);
        assert_eq!(lane_verdict(&matched, "image", c, config_field), Verdict::Matched);
    }

    #[test]
    fn a_target_field_is_matched_only_on_an_observation_the_verdict_stands_on() {
        let drifted = observed_status(Verdict::Mismatch, &["displayName"]);
        assert_eq!(
            target_verdict(Some(&drifted), "displayName", true),
            Some(Verdict::Mismatch)
        );
        assert_eq!(
            target_verdict(Some(&drifted), "project", true),
            Some(Verdict::Matched)
        );
        assert_eq!(
            target_verdict(Some(&drifted), "project", false),
            None,
            "not asked for"
        );
        // An observation kept from before an outage proves nothing now.
        let stale = observed_status(Verdict::Unverifiable, &[]);
        assert_eq!(
            target_verdict(Some(&stale), "project", true),
            Some(Verdict::Unverifiable)
        );
        let gone = observed_status(Verdict::Missing, &[]);
        assert_eq!(
            target_verdict(Some(&gone), "project", true),
            Some(Verdict::Missing)
        );
        assert_eq!(target_verdict(None, "project", true), Some(Verdict::Unchecked));
        let unobserved = ProviderTargetStatus {
            verdict: Some(Verdict::Mismatch),
            ..ProviderTargetStatus::default()
        };
        assert_eq!(
            target_verdict(Some(&unobserved), "project", true),
            Some(Verdict::Mismatch)
        );
    }
}

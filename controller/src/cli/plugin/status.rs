//! `kubectl launchplane status [PRODUCT]`: what runs where. Per lane the desired artifact
//! (`status.desired`), the deployed one (`status.inventory`) and the one its app echoes (the
//! identity the last probe read, `status.observedIdentity`), the verdict, the fields that
//! differ, the last DeploymentRecord and how old the evidence is; per preview its URL and
//! generation. Read from what the controller wrote: the plugin judges nothing itself.

use super::connect::Scope;
use super::output::{Cell, EXIT_OK, Format, NONE, Tone, age, not_found, serialized, table, unreadable};
use crate::cli::answer::Answer;
use jiff::Timestamp;
use kube::api::{Api, ListParams};
use kube::{Client, Resource};
use launchplane_api::Verdict;
use launchplane_api::conditions::{find, types};
use launchplane_api::resources::{
    DeploymentPhase, DeploymentRecord, GenerationPhase, Lane, Preview, Product, ProviderTarget,
    RuntimeIdentity,
};
use launchplane_core::deployment_record::LANE_LABEL;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Write as _;

#[derive(Clone, Debug, clap::Args)]
pub struct StatusArgs {
    /// Only this Product's lanes and previews.
    pub product: Option<String>,
}

/// Everything `status` reads, as the cluster gave it.
#[derive(Clone, Debug, Default)]
pub struct Fleet {
    pub products: Vec<Product>,
    pub lanes: Vec<Lane>,
    pub identities: Vec<RuntimeIdentity>,
    pub targets: Vec<ProviderTarget>,
    pub records: Vec<DeploymentRecord>,
    pub previews: Vec<Preview>,
}

/// What `status` prints.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    pub lanes: Vec<LaneRow>,
    pub previews: Vec<PreviewRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LaneRow {
    pub namespace: String,
    pub name: String,
    pub product: String,
    pub stage: String,
    /// `status.desired.artifact`.
    pub desired: Option<String>,
    /// The Promotion that set the desired artifact.
    pub desired_by: Option<String>,
    /// `status.inventory.artifact`.
    pub deployed: Option<String>,
    /// The artifact the app served at the last probe.
    pub echoed: Option<String>,
    /// The `RuntimeIdentityVerified` condition's verdict.
    pub identity: Option<Verdict>,
    /// `status.verdict`.
    pub verdict: Option<Verdict>,
    /// The fields of `status.mismatches`.
    pub drift: Vec<String>,
    pub last_record: Option<RecordRef>,
    pub evidence: Evidence,
    /// A rollback holding the lane.
    pub held_by: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordRef {
    pub name: String,
    /// Absent when the record is gone (pruned) or not readable.
    pub phase: Option<DeploymentPhase>,
}

/// How fresh the lane's verdict is: the evidence is as old as its oldest part.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// When Dokploy was last observed for the lane's ProviderTarget.
    pub target_observed_at: Option<Timestamp>,
    /// When the lane's app was last probed for its identity.
    pub identity_probed_at: Option<Timestamp>,
    /// Seconds since the older of the two.
    pub age_seconds: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewRow {
    pub namespace: String,
    pub name: String,
    pub product: String,
    pub pull_request: i64,
    pub url: Option<String>,
    /// The newest generation.
    pub generation: Option<GenerationRef>,
    /// The generation the URL serves.
    pub serving: Option<String>,
    pub verdict: Option<Verdict>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationRef {
    pub id: String,
    pub phase: GenerationPhase,
    pub artifact: Option<String>,
}

fn name<K: Resource>(k: &K) -> &str {
    k.meta().name.as_deref().unwrap_or_default()
}

fn namespace<K: Resource>(k: &K) -> &str {
    k.meta().namespace.as_deref().unwrap_or_default()
}

fn same<A: Resource, B: Resource>(a: &A, b: &B) -> bool {
    namespace(a) == namespace(b)
}

/// A condition's verdict: aspect conditions carry it as their reason.
pub fn condition_verdict(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    type_: &str,
) -> Option<Verdict> {
    find(conditions, type_)
        .and_then(|c| serde_json::from_value(serde_json::Value::String(c.reason.clone())).ok())
}

/// The view of `fleet`, only `product`'s when one is named, sorted by namespace, product, name.
pub fn view(fleet: &Fleet, product: Option<&str>, now: Timestamp) -> StatusView {
    let wanted = |p: &str| product.is_none_or(|want| want == p);
    let mut lanes: Vec<LaneRow> = fleet
        .lanes
        .iter()
        .filter(|l| wanted(&l.spec.product_ref.name))
        .map(|l| lane_row(l, fleet, now))
        .collect();
    lanes.sort_by(|a, b| (&a.namespace, &a.product, &a.name).cmp(&(&b.namespace, &b.product, &b.name)));
    let mut previews: Vec<PreviewRow> = fleet
        .previews
        .iter()
        .filter(|p| wanted(&p.spec.product_ref.name))
        .map(preview_row)
        .collect();
    previews.sort_by(|a, b| (&a.namespace, &a.product, &a.name).cmp(&(&b.namespace, &b.product, &b.name)));
    StatusView { lanes, previews }
}

fn lane_row(lane: &Lane, fleet: &Fleet, now: Timestamp) -> LaneRow {
    let lane_name = name(lane);
    let status = lane.status.clone().unwrap_or_default();
    // The lane's RuntimeIdentity child: named as the lane, and labelled with it.
    let child = fleet.identities.iter().find(|i| {
        same(*i, lane)
            && name(*i) == lane_name
            && i.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(LANE_LABEL))
                .is_some_and(|v| v == lane_name)
    });
    let target = fleet
        .targets
        .iter()
        .find(|t| same(*t, lane) && name(*t) == lane.spec.target_ref.name);
    let target_observed_at = target
        .and_then(|t| t.status.as_ref())
        .and_then(|s| s.last_observed_time.as_ref())
        .map(|t| t.0);
    let identity_probed_at = child
        .and_then(|c| c.status.as_ref())
        .and_then(|s| s.last_probe_time.as_ref())
        .map(|t| t.0);
    let oldest = [target_observed_at, identity_probed_at]
        .into_iter()
        .flatten()
        .min();
    let last_record = status.last_deployment_record.as_ref().map(|r| RecordRef {
        name: r.clone(),
        phase: fleet
            .records
            .iter()
            .find(|d| same(*d, lane) && name(*d) == r)
            .and_then(|d| d.status.as_ref())
            .and_then(|s| s.phase),
    });
    LaneRow {
        namespace: namespace(lane).to_string(),
        name: lane_name.to_string(),
        product: lane.spec.product_ref.name.clone(),
        stage: lane.spec.stage.clone(),
        desired: status.desired.as_ref().map(|d| d.artifact.clone()),
        desired_by: status.desired.as_ref().and_then(|d| d.promotion.clone()),
        deployed: status.inventory.as_ref().map(|i| i.artifact.clone()),
        echoed: status
            .observed_identity
            .as_ref()
            .and_then(|o| o.artifact_id.clone()),
        identity: condition_verdict(&status.conditions, types::RUNTIME_IDENTITY_VERIFIED),
        verdict: status.verdict,
        drift: status.mismatches.iter().map(|m| m.field.clone()).collect(),
        last_record,
        evidence: Evidence {
            target_observed_at,
            identity_probed_at,
            age_seconds: oldest.map(|t| (now.as_second() - t.as_second()).max(0)),
        },
        held_by: status.hold.as_ref().map(|h| h.promotion.clone()),
    }
}

fn preview_row(preview: &Preview) -> PreviewRow {
    let status = preview.status.clone().unwrap_or_default();
    PreviewRow {
        namespace: namespace(preview).to_string(),
        name: name(preview).to_string(),
        product: preview.spec.product_ref.name.clone(),
        pull_request: preview.spec.pull_request.number,
        url: status.url.clone(),
        generation: status.generations.last().map(|g| GenerationRef {
            id: g.id.clone(),
            phase: g.phase,
            artifact: g.artifact.clone(),
        }),
        serving: status.serving_generation.clone(),
        verdict: status.verdict,
    }
}

fn or_none(value: Option<&str>) -> String {
    value.unwrap_or(NONE).to_string()
}

fn verdict_cell(verdict: Option<Verdict>) -> Cell {
    verdict.map_or_else(|| Cell::plain(NONE), Cell::verdict)
}

/// The tables: lanes, then previews (when there are any); a NAMESPACE column with `-A`.
pub fn render_table(view: &StatusView, all_namespaces: bool, now: Timestamp, colour: bool) -> String {
    let mut out = String::new();
    if !view.lanes.is_empty() {
        let mut headers = vec![
            "PRODUCT",
            "LANE",
            "DESIRED",
            "DEPLOYED",
            "ECHOED",
            "VERDICT",
            "DRIFT",
            "LAST RECORD",
            "EVIDENCE",
        ];
        if all_namespaces {
            headers.insert(0, "NAMESPACE");
        }
        let rows: Vec<Vec<Cell>> = view
            .lanes
            .iter()
            .map(|l| {
                let mut row = vec![
                    Cell::plain(&*l.product),
                    Cell::plain(&*l.name),
                    Cell::plain(or_none(l.desired.as_deref())),
                    Cell::plain(or_none(l.deployed.as_deref())),
                    Cell {
                        text: or_none(l.echoed.as_deref()),
                        tone: l.identity.map(Tone::of).unwrap_or_default(),
                    },
                    verdict_cell(l.verdict),
                    Cell::plain(if l.drift.is_empty() {
                        "-".to_string()
                    } else {
                        l.drift.join(",")
                    }),
                    Cell::plain(l.last_record.as_ref().map_or_else(
                        || NONE.to_string(),
                        |r| match r.phase {
                            Some(p) => format!("{} ({p:?})", r.name),
                            None => r.name.clone(),
                        },
                    )),
                    Cell::plain(
                        [l.evidence.target_observed_at, l.evidence.identity_probed_at]
                            .into_iter()
                            .flatten()
                            .min()
                            .map_or_else(|| NONE.to_string(), |t| age(t, now)),
                    ),
                ];
                if all_namespaces {
                    row.insert(0, Cell::plain(&*l.namespace));
                }
                row
            })
            .collect();
        out.push_str(&table(&headers, &rows, colour));
    }
    if !view.previews.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        let mut headers = vec![
            "PRODUCT",
            "PREVIEW",
            "PR",
            "URL",
            "GENERATION",
            "PHASE",
            "SERVING",
            "VERDICT",
        ];
        if all_namespaces {
            headers.insert(0, "NAMESPACE");
        }
        let rows: Vec<Vec<Cell>> = view
            .previews
            .iter()
            .map(|p| {
                let mut row = vec![
                    Cell::plain(&*p.product),
                    Cell::plain(&*p.name),
                    Cell::plain(format!("#{}", p.pull_request)),
                    Cell::plain(or_none(p.url.as_deref())),
                    Cell::plain(or_none(p.generation.as_ref().map(|g| g.id.as_str()))),
                    Cell::plain(
                        p.generation
                            .as_ref()
                            .map_or_else(|| NONE.to_string(), |g| format!("{:?}", g.phase)),
                    ),
                    Cell::plain(or_none(p.serving.as_deref())),
                    verdict_cell(p.verdict),
                ];
                if all_namespaces {
                    row.insert(0, Cell::plain(&*p.namespace));
                }
                row
            })
            .collect();
        out.push_str(&table(&headers, &rows, colour));
    }
    out
}

/// The answer for `fleet`: a named product that nothing in scope knows is not found.
pub fn answer(
    fleet: &Fleet,
    product: Option<&str>,
    scope: &Scope,
    format: Format,
    now: Timestamp,
    colour: bool,
) -> Answer {
    let view = view(fleet, product, now);
    let place = match scope {
        Scope::Namespace(ns) => format!("namespace {ns}"),
        Scope::All => "any namespace".to_string(),
    };
    if let Some(p) = product
        && view.lanes.is_empty()
        && view.previews.is_empty()
        && !fleet.products.iter().any(|x| name(x) == p)
    {
        return not_found(format!(
            "product {p} not found in {place}: `kubectl get products{}` lists them",
            match scope {
                Scope::Namespace(ns) => format!(" -n {ns}"),
                Scope::All => " -A".into(),
            }
        ));
    }
    let mut out = Answer {
        code: EXIT_OK,
        ..Answer::default()
    };
    match format {
        Format::Table => {
            out.stdout = render_table(&view, *scope == Scope::All, now, colour);
            if out.stdout.is_empty() {
                let _ = writeln!(
                    out.stderr,
                    "No lanes or previews{} found in {place}.",
                    product.map(|p| format!(" of product {p}")).unwrap_or_default()
                );
            }
        }
        Format::Json | Format::Yaml => out.stdout = serialized(format, &view),
    }
    out
}

async fn list<K>(client: &Client, scope: &Scope) -> Result<Vec<K>, Answer>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = match scope {
        Scope::Namespace(ns) => Api::namespaced(client.clone(), ns),
        Scope::All => Api::all(client.clone()),
    };
    let where_ = match scope {
        Scope::Namespace(ns) => format!("in namespace {ns}"),
        Scope::All => "in all namespaces".into(),
    };
    api.list(&ListParams::default())
        .await
        .map(|l| l.items)
        .map_err(|e| unreadable(&format!("{} {where_}", K::plural(&())), "list", &e))
}

/// Read what `status` shows from the cluster.
pub async fn fetch(client: &Client, scope: &Scope) -> Result<Fleet, Answer> {
    Ok(Fleet {
        products: list(client, scope).await?,
        lanes: list(client, scope).await?,
        identities: list(client, scope).await?,
        targets: list(client, scope).await?,
        records: list(client, scope).await?,
        previews: list(client, scope).await?,
    })
}

pub async fn run(
    client: &Client,
    scope: &Scope,
    args: &StatusArgs,
    format: Format,
    now: Timestamp,
    colour: bool,
) -> Answer {
    match fetch(client, scope).await {
        Ok(fleet) => answer(&fleet, args.product.as_deref(), scope, format, now, colour),
        Err(answer) => answer,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
    use launchplane_api::identity::RuntimeIdentityPayload;
    use launchplane_api::resources::{
        DesiredArtifact, LaneInventory, LaneSpec, LaneStatus, LocalObjectRef, ProviderTargetSpec,
        ProviderTargetStatus, RuntimeIdentitySpec, RuntimeIdentityStatus,
    };
    use launchplane_api::verdict::FieldMismatch;
    use std::collections::BTreeMap;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn lane(name: &str, product: &str) -> Lane {
        let mut l = Lane::new(
            name,
            LaneSpec {
                product_ref: LocalObjectRef::new(product),
                target_ref: LocalObjectRef::new(name),
                stage: "prod".into(),
                ..LaneSpec::default()
            },
        );
        l.metadata.namespace = Some("shop".into());
        l
    }

    fn identity_condition(verdict: &str) -> Condition {
        Condition {
            type_: types::RUNTIME_IDENTITY_VERIFIED.into(),
            status: if verdict == "Matched" { "True" } else { "False" }.into(),
            reason: verdict.into(),
            message: String::new(),
            last_transition_time: Time(t(0)),
            observed_generation: None,
        }
    }

    #[test]
    fn a_lane_shows_desired_deployed_and_echoed_and_the_age_of_its_oldest_evidence() {
        let mut l = lane("shop-prod", "shop");
        l.status = Some(LaneStatus {
            desired: Some(DesiredArtifact {
                artifact: "shop-3".into(),
                promotion: Some("shop-prod-from-testing-3".into()),
            }),
            inventory: Some(LaneInventory {
                artifact: "shop-2".into(),
                ..LaneInventory::default()
            }),
            observed_identity: Some(RuntimeIdentityPayload {
                artifact_id: Some("shop-1".into()),
                ..RuntimeIdentityPayload::default()
            }),
            conditions: vec![identity_condition("Mismatch")],
            verdict: Some(Verdict::Mismatch),
            mismatches: vec![FieldMismatch::values(
                "identity.artifactId",
                Some("shop-2"),
                Some("shop-1"),
            )],
            ..LaneStatus::default()
        });
        let mut child = RuntimeIdentity::new("shop-prod", RuntimeIdentitySpec::default());
        child.metadata.namespace = Some("shop".into());
        child.metadata.labels = Some(BTreeMap::from([(LANE_LABEL.into(), "shop-prod".into())]));
        child.status = Some(RuntimeIdentityStatus {
            last_probe_time: Some(Time(t(100))),
            ..RuntimeIdentityStatus::default()
        });
        let mut target = ProviderTarget::new("shop-prod", ProviderTargetSpec::default());
        target.metadata.namespace = Some("shop".into());
        target.status = Some(ProviderTargetStatus {
            last_observed_time: Some(Time(t(40))),
            ..ProviderTargetStatus::default()
        });
        let fleet = Fleet {
            lanes: vec![l],
            identities: vec![child],
            targets: vec![target],
            ..Fleet::default()
        };
        let v = view(&fleet, None, t(160));
        let row = &v.lanes[0];
        assert_eq!(
            (
                row.desired.as_deref(),
                row.deployed.as_deref(),
                row.echoed.as_deref()
            ),
            (Some("shop-3"), Some("shop-2"), Some("shop-1"))
        );
        assert_eq!(row.identity, Some(Verdict::Mismatch));
        assert_eq!(row.drift, ["identity.artifactId"]);
        assert_eq!(
            row.evidence.age_seconds,
            Some(120),
            "the older of probe and observation"
        );
    }

    #[test]
    fn a_runtime_identity_of_the_lane_s_name_but_not_its_child_is_not_its_evidence() {
        let l = lane("shop-prod", "shop");
        let mut stranger = RuntimeIdentity::new("shop-prod", RuntimeIdentitySpec::default());
        stranger.metadata.namespace = Some("shop".into());
        stranger.status = Some(RuntimeIdentityStatus {
            last_probe_time: Some(Time(t(100))),
            ..RuntimeIdentityStatus::default()
        });
        let fleet = Fleet {
            lanes: vec![l],
            identities: vec![stranger],
            ..Fleet::default()
        };
        let row = &view(&fleet, None, t(160)).lanes[0];
        assert_eq!(row.evidence.identity_probed_at, None);
        assert_eq!(row.evidence.age_seconds, None);
    }

    #[test]
    fn a_product_filter_keeps_its_lanes_and_an_unknown_product_is_not_found() {
        let fleet = Fleet {
            lanes: vec![lane("shop-prod", "shop"), lane("blog-prod", "blog")],
            ..Fleet::default()
        };
        let v = view(&fleet, Some("blog"), t(0));
        assert_eq!(v.lanes.len(), 1);
        assert_eq!(v.lanes[0].name, "blog-prod");
        let scope = Scope::Namespace("shop".into());
        let a = answer(&fleet, Some("nope"), &scope, Format::Table, t(0), false);
        assert_eq!(a.code, 1);
        assert!(
            a.stderr.contains("product nope not found in namespace shop"),
            "{}",
            a.stderr
        );
        let a = answer(&Fleet::default(), None, &scope, Format::Table, t(0), false);
        assert_eq!((a.code, a.stdout.as_str()), (0, ""));
        assert_eq!(a.stderr, "No lanes or previews found in namespace shop.\n");
    }
}

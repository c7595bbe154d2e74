//! `kubectl launchplane promote LANE --from LANE [--artifact A]` and `rollback LANE --to A`:
//! each creates one Promotion, named from what it does (`<lane>-from-<source>-<artifact>`,
//! `<lane>-rollback-<artifact>`, as docs/promotions.md names them), so running the same
//! command twice creates nothing twice. The plugin refuses what is plainly wrong before
//! asking (a lane not fed by Promotions, another source lane, an artifact the lane cannot roll
//! back to); the controller's gates stay the authority on everything else.

use super::output::{
    EXIT_NOT_FOUND, EXIT_OK, Format, bad_input, failure, not_found, refused, serialized, unreadable,
};
use crate::cli::answer::Answer;
use kube::api::{Api, PostParams};
use kube::{Client, Resource};
use launchplane_api::resources::{Artifact, Lane, LocalObjectRef, Promotion, PromotionPhase, PromotionSpec};
use launchplane_core::promotion::auto::bounded;
use launchplane_core::promotion::verified;

#[derive(Clone, Debug, clap::Args)]
pub struct PromoteArgs {
    /// The lane to promote into (it must have spec.promotion).
    #[arg(value_name = "LANE")]
    pub lane: String,
    /// The lane to promote from: the destination's spec.promotion.sourceLane.
    #[arg(long, value_name = "LANE")]
    pub from: String,
    /// The Artifact to promote. Default: what the source lane runs and verifies now.
    #[arg(long, value_name = "ARTIFACT")]
    pub artifact: Option<String>,
    /// Why, for the record (spec.reason).
    #[arg(long)]
    pub reason: Option<String>,
}

#[derive(Clone, Debug, clap::Args)]
pub struct RollbackArgs {
    /// The lane to roll back (it must have spec.promotion).
    #[arg(value_name = "LANE")]
    pub lane: String,
    /// The Artifact to return to: one of the lane's status.rollbackCandidates.
    #[arg(long, value_name = "ARTIFACT")]
    pub to: String,
    /// Why, for the record (spec.reason).
    #[arg(long)]
    pub reason: Option<String>,
}

/// `name` without its product's prefix (`shop-testing` → `testing` for product `shop`).
fn short<'a>(name: &'a str, product: &str) -> &'a str {
    name.strip_prefix(product)
        .and_then(|rest| rest.strip_prefix('-'))
        .filter(|rest| !rest.is_empty())
        .unwrap_or(name)
}

/// `<lane>-from-<source>-<artifact>`, the product's prefix taken off the source and the
/// artifact, cut and hashed past 63 characters.
pub fn promotion_name(to_lane: &str, from_lane: &str, product: &str, artifact: &str) -> String {
    bounded(format!(
        "{to_lane}-from-{}-{}",
        short(from_lane, product),
        short(artifact, product)
    ))
}

/// `<lane>-rollback-<artifact>`, the product's prefix taken off the artifact.
pub fn rollback_name(to_lane: &str, product: &str, artifact: &str) -> String {
    bounded(format!("{to_lane}-rollback-{}", short(artifact, product)))
}

fn name_of<K: Resource>(k: &K) -> String {
    k.meta().name.clone().unwrap_or_default()
}

fn promotion(name: String, namespace: Option<String>, spec: PromotionSpec) -> Promotion {
    let mut p = Promotion::new(&name, spec);
    p.metadata.namespace = namespace;
    p
}

/// The lane must take Promotions; the message says how to feed it otherwise.
fn fed_by_promotions(lane: &Lane) -> Result<&launchplane_api::resources::LanePromotion, Answer> {
    lane.spec.promotion.as_ref().ok_or_else(|| {
        let name = name_of(lane);
        bad_input(format!(
            "LANE: lane {name} is not fed by Promotions (it has no spec.promotion); set \
             spec.promotion.sourceLane on it, or change its spec.artifactRef instead"
        ))
    })
}

/// The Promotion of `artifact` (default: what `from` verifies now) from `from` into `to`.
pub fn plan_promotion(
    to: &Lane,
    from: &Lane,
    artifact: Option<&str>,
    reason: Option<String>,
) -> Result<Promotion, Answer> {
    let rules = fed_by_promotions(to)?;
    let (to_name, from_name) = (name_of(to), name_of(from));
    if rules.source_lane != from_name {
        return Err(bad_input(format!(
            "--from: lane {to_name} takes Promotions from {} (spec.promotion.sourceLane), not from \
             {from_name}; pass --from {}",
            rules.source_lane, rules.source_lane
        )));
    }
    let product = &to.spec.product_ref.name;
    if from.spec.product_ref.name != *product {
        return Err(bad_input(format!(
            "--from: lane {from_name} belongs to product {}, lane {to_name} to product {product}; \
             a Promotion moves an artifact within one product",
            from.spec.product_ref.name
        )));
    }
    let artifact = match artifact {
        Some(a) => a.to_string(),
        None => match verified(from) {
            Ok(v) => v.artifact,
            Err(why) => {
                return Err(failure(
                    EXIT_NOT_FOUND,
                    format!(
                        "--from: nothing to promote: {why}; wait until it verifies an artifact, or \
                         name one with --artifact"
                    ),
                ));
            }
        },
    };
    Ok(promotion(
        promotion_name(&to_name, &from_name, product, &artifact),
        to.metadata.namespace.clone(),
        PromotionSpec {
            product_ref: to.spec.product_ref.clone(),
            from_lane: Some(from_name),
            to_lane: to_name,
            artifact_ref: Some(LocalObjectRef::new(artifact)),
            reason,
        },
    ))
}

/// The rollback of `to` to `artifact`, which must be one of its rollback candidates.
pub fn plan_rollback(to: &Lane, artifact: &str, reason: Option<String>) -> Result<Promotion, Answer> {
    fed_by_promotions(to)?;
    let to_name = name_of(to);
    let candidates = to
        .status
        .as_ref()
        .map(|s| s.rollback_candidates.clone())
        .unwrap_or_default();
    if !candidates.iter().any(|c| c == artifact) {
        return Err(bad_input(if candidates.is_empty() {
            format!(
                "--to: lane {to_name} lists no rollback candidates (status.rollbackCandidates): it has \
                 verified no artifact it could return to yet"
            )
        } else {
            format!(
                "--to: lane {to_name} can roll back to {} (status.rollbackCandidates, newest first); {artifact} \
                 is not one of them",
                candidates.join(", ")
            )
        }));
    }
    let product = &to.spec.product_ref.name;
    Ok(promotion(
        rollback_name(&to_name, product, artifact),
        to.metadata.namespace.clone(),
        PromotionSpec {
            product_ref: to.spec.product_ref.clone(),
            from_lane: None,
            to_lane: to_name,
            artifact_ref: Some(LocalObjectRef::new(artifact)),
            reason,
        },
    ))
}

/// What the command prints once `promotion` is created, or found already made by the same
/// command.
pub fn created(promotion: &Promotion, format: Format, existed: bool) -> Answer {
    let name = name_of(promotion);
    let stdout = match format {
        Format::Table if existed => format!("promotion.launchplane.dev/{name} unchanged\n"),
        Format::Table => format!("promotion.launchplane.dev/{name} created\n"),
        Format::Json | Format::Yaml => serialized(format, promotion),
    };
    let phase = launchplane_core::promotion::phase(promotion);
    let stderr = match (existed, phase) {
        (true, PromotionPhase::Failed) => format!(
            "note: Promotion {name} was made before and Failed; delete it (`kubectl delete promotion {name}`) \
             to try again\n"
        ),
        (true, phase) => format!("note: Promotion {name} was made before; it is {phase:?}\n"),
        (false, _) => String::new(),
    };
    Answer {
        stdout,
        stderr,
        code: EXIT_OK,
    }
}

/// Create `wanted`. The same Promotion made before (same lanes and artifact) is no error: the
/// command was run twice.
pub async fn create(client: &Client, wanted: &Promotion, format: Format) -> Answer {
    let namespace = wanted.metadata.namespace.clone().unwrap_or_default();
    let name = name_of(wanted);
    let api: Api<Promotion> = Api::namespaced(client.clone(), &namespace);
    match api.create(&PostParams::default(), wanted).await {
        Ok(made) => created(&made, format, false),
        Err(kube::Error::Api(s)) if s.code == 409 => match api.get_opt(&name).await {
            Ok(Some(existing))
                if existing.spec.to_lane == wanted.spec.to_lane
                    && existing.spec.from_lane == wanted.spec.from_lane
                    && existing.spec.artifact_ref == wanted.spec.artifact_ref =>
            {
                created(&existing, format, true)
            }
            Ok(_) => not_found(format!(
                "a Promotion named {name} already exists in namespace {namespace} with another spec; \
                 look at it (`kubectl get promotion {name} -o yaml`) and delete it if it is not wanted"
            )),
            Err(e) => unreadable(&format!("promotion {namespace}/{name}"), "get", &e),
        },
        Err(kube::Error::Api(s)) => refused(&format!("Promotion {namespace}/{name}"), &s),
        Err(e) => not_found(format!("cannot create Promotion {namespace}/{name}: {e}")),
    }
}

async fn lane(client: &Client, namespace: &str, name: &str, flag: &str) -> Result<Lane, Answer> {
    match Api::<Lane>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
    {
        Ok(Some(lane)) => Ok(lane),
        Ok(None) => Err(not_found(format!(
            "{flag}lane {name} not found in namespace {namespace}: `kubectl get lanes -n {namespace}` lists \
             them, and -n picks another namespace"
        ))),
        Err(e) => Err(unreadable(&format!("lane {namespace}/{name}"), "get", &e)),
    }
}

pub async fn promote(client: &Client, namespace: &str, args: &PromoteArgs, format: Format) -> Answer {
    let to = match lane(client, namespace, &args.lane, "").await {
        Ok(l) => l,
        Err(a) => return a,
    };
    let from = match lane(client, namespace, &args.from, "--from: ").await {
        Ok(l) => l,
        Err(a) => return a,
    };
    if let Some(artifact) = &args.artifact {
        match Api::<Artifact>::namespaced(client.clone(), namespace)
            .get_opt(artifact)
            .await
        {
            Ok(Some(_)) => {}
            Ok(None) => {
                return not_found(format!(
                    "--artifact: artifact {artifact} not found in namespace {namespace}: `kubectl get \
                     artifacts -n {namespace}` lists them"
                ));
            }
            Err(e) => return unreadable(&format!("artifact {namespace}/{artifact}"), "get", &e),
        }
    }
    match plan_promotion(&to, &from, args.artifact.as_deref(), args.reason.clone()) {
        Ok(p) => create(client, &p, format).await,
        Err(a) => a,
    }
}

pub async fn rollback(client: &Client, namespace: &str, args: &RollbackArgs, format: Format) -> Answer {
    let to = match lane(client, namespace, &args.lane, "").await {
        Ok(l) => l,
        Err(a) => return a,
    };
    match plan_rollback(&to, &args.to, args.reason.clone()) {
        Ok(p) => create(client, &p, format).await,
        Err(a) => a,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
    use launchplane_api::conditions::types;
    use launchplane_api::identity::RuntimeIdentityPayload;
    use launchplane_api::resources::{LaneInventory, LanePromotion, LaneSpec, LaneStatus};

    fn lane(name: &str, source: Option<&str>) -> Lane {
        let mut l = Lane::new(
            name,
            LaneSpec {
                product_ref: LocalObjectRef::new("shop"),
                promotion: source.map(|s| LanePromotion {
                    source_lane: s.into(),
                    ..LanePromotion::default()
                }),
                ..LaneSpec::default()
            },
        );
        l.metadata.namespace = Some("shop".into());
        l
    }

    fn verifying(mut l: Lane, artifact: &str, echoed: &str) -> Lane {
        l.status = Some(LaneStatus {
            inventory: Some(LaneInventory {
                artifact: artifact.into(),
                ..LaneInventory::default()
            }),
            observed_identity: Some(RuntimeIdentityPayload {
                artifact_id: Some(echoed.into()),
                ..RuntimeIdentityPayload::default()
            }),
            conditions: vec![Condition {
                type_: types::RUNTIME_IDENTITY_VERIFIED.into(),
                status: "True".into(),
                reason: "Matched".into(),
                message: String::new(),
                last_transition_time: Time(jiff::Timestamp::UNIX_EPOCH),
                observed_generation: None,
            }],
            ..LaneStatus::default()
        });
        l
    }

    #[test]
    fn names_are_the_ones_docs_promotions_md_gives() {
        assert_eq!(
            promotion_name("shop-prod", "shop-testing", "shop", "shop-3f2a9c1"),
            "shop-prod-from-testing-3f2a9c1"
        );
        assert_eq!(
            rollback_name("shop-prod", "shop", "shop-2e1d0c9"),
            "shop-prod-rollback-2e1d0c9"
        );
        // Names without the product's prefix are kept whole; `shop` alone is not emptied.
        assert_eq!(
            promotion_name("prod", "qa", "shop", "build-7"),
            "prod-from-qa-build-7"
        );
        assert_eq!(rollback_name("prod", "shop", "shop"), "prod-rollback-shop");
        let long = promotion_name(
            "shop-production-europe-west",
            "shop-staging-europe-west",
            "shop",
            &"a".repeat(40),
        );
        assert!(long.len() <= 63, "{long}");
        assert_ne!(
            long,
            promotion_name(
                "shop-production-europe-west",
                "shop-staging-europe-west",
                "shop",
                &"b".repeat(40)
            ),
            "two long names never meet"
        );
    }

    #[test]
    fn a_promotion_defaults_to_what_the_source_verifies_and_pins_it() {
        let to = lane("shop-prod", Some("shop-testing"));
        let from = verifying(lane("shop-testing", None), "shop-3f2a9c1", "shop-3f2a9c1");
        let p = plan_promotion(&to, &from, None, Some("QA signed off".into())).unwrap();
        assert_eq!(p.metadata.name.as_deref(), Some("shop-prod-from-testing-3f2a9c1"));
        assert_eq!(p.metadata.namespace.as_deref(), Some("shop"));
        assert_eq!(
            p.spec,
            PromotionSpec {
                product_ref: LocalObjectRef::new("shop"),
                from_lane: Some("shop-testing".into()),
                to_lane: "shop-prod".into(),
                artifact_ref: Some(LocalObjectRef::new("shop-3f2a9c1")),
                reason: Some("QA signed off".into()),
            }
        );
        let named = plan_promotion(&to, &from, Some("shop-1"), None).unwrap();
        assert_eq!(named.metadata.name.as_deref(), Some("shop-prod-from-testing-1"));
    }

    #[test]
    fn a_source_that_verifies_nothing_is_refused_with_its_reason() {
        let to = lane("shop-prod", Some("shop-testing"));
        let from = verifying(lane("shop-testing", None), "shop-3", "shop-2");
        let a = plan_promotion(&to, &from, None, None).unwrap_err();
        assert_eq!(a.code, 1);
        assert!(
            a.stderr.contains("its app echoes artifact shop-2") && a.stderr.contains("--artifact"),
            "{}",
            a.stderr
        );
    }

    #[test]
    fn a_wrong_source_or_a_lane_without_promotions_is_bad_input() {
        let to = lane("shop-prod", Some("shop-testing"));
        let other = verifying(lane("shop-dev", None), "shop-3", "shop-3");
        let a = plan_promotion(&to, &other, None, None).unwrap_err();
        assert_eq!(a.code, 2);
        assert!(
            a.stderr
                .contains("--from: lane shop-prod takes Promotions from shop-testing")
                && a.stderr.contains("pass --from shop-testing"),
            "{}",
            a.stderr
        );
        let plain = lane("shop-prod", None);
        let a = plan_rollback(&plain, "shop-1", None).unwrap_err();
        assert_eq!(a.code, 2);
        assert!(a.stderr.contains("not fed by Promotions"), "{}", a.stderr);
    }

    #[test]
    fn a_rollback_goes_only_to_a_listed_candidate() {
        let mut to = lane("shop-prod", Some("shop-testing"));
        let a = plan_rollback(&to, "shop-1", None).unwrap_err();
        assert!(a.stderr.contains("lists no rollback candidates"), "{}", a.stderr);
        to.status = Some(LaneStatus {
            rollback_candidates: vec!["shop-3".into(), "shop-2".into()],
            ..LaneStatus::default()
        });
        let a = plan_rollback(&to, "shop-1", None).unwrap_err();
        assert_eq!(a.code, 2);
        assert!(
            a.stderr
                .contains("--to: lane shop-prod can roll back to shop-3, shop-2")
                && a.stderr.contains("shop-1 is not one of them"),
            "{}",
            a.stderr
        );
        let p = plan_rollback(&to, "shop-2", Some("checkout errors".into())).unwrap();
        assert_eq!(p.metadata.name.as_deref(), Some("shop-prod-rollback-2"));
        assert_eq!(p.spec.from_lane, None);
        assert_eq!(p.spec.artifact_ref, Some(LocalObjectRef::new("shop-2")));
    }
}

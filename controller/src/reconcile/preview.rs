//! Previews, the pure parts: names derived from the Product's preview policy, generations
//! and their bounded history, time to live, and the orphan sweep's decision.
//!
//! The sweep deletes provider targets, so its rules fail closed: it deletes nothing unless
//! the inventory call succeeded, the inventory did not shrink markedly since the previous
//! sweep, the policy says `Delete`, and the target follows the preview naming exactly. Even
//! then it deletes at most the budget per sweep.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use launchplane_api::conditions::{self, Aspect, Computed, Progress, types};
use launchplane_api::identity::{ENVIRONMENT_KIND_PREVIEW, RuntimeIdentityPayload, identity_env};
use launchplane_api::resources::{
    CleanupPolicy, GenerationPhase, OrphanTarget, PreviewGeneration, PreviewPolicy,
};
use launchplane_api::verdict::Verdict;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Why a preview cannot be named.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NamingError {
    #[error("Product {product} has preview.enabled false; set it to true to allow previews")]
    Disabled { product: String },
    #[error("Product {product} has no preview.baseDomain; set it, e.g. preview.example.com")]
    NoBaseDomain { product: String },
    #[error("preview slug {slug:?} from preview.slugTemplate is not a DNS label; use e.g. pr-{{number}}")]
    BadSlug { slug: String },
}

/// Everything a preview is called, derived once so every part agrees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewNames {
    /// `pr-42`.
    pub slug: String,
    /// `pr-42.preview.shop.example.com`.
    pub host: String,
    /// `https://pr-42.preview.shop.example.com`.
    pub url: String,
    /// The Dokploy application's name, `shop-pr-42`: what the orphan sweep recognises.
    pub target_name: String,
    /// The identity's `previewId`, `shop-pr-42`.
    pub preview_id: String,
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Name the preview of pull request `number` of `product`.
pub fn names(product: &str, policy: &PreviewPolicy, number: i64) -> Result<PreviewNames, NamingError> {
    if !policy.enabled {
        return Err(NamingError::Disabled {
            product: product.into(),
        });
    }
    let Some(base) = policy.base_domain.as_deref().filter(|b| !b.is_empty()) else {
        return Err(NamingError::NoBaseDomain {
            product: product.into(),
        });
    };
    let slug = policy.slug(number);
    if !is_dns_label(&slug) {
        return Err(NamingError::BadSlug { slug });
    }
    let host = format!("{slug}.{base}");
    Ok(PreviewNames {
        url: format!("https://{host}"),
        host,
        target_name: format!("{product}-{slug}"),
        preview_id: format!("{product}-{slug}"),
        slug,
    })
}

/// The pull-request number a Dokploy target name belongs to, if it follows the preview naming
/// of `product` exactly (`shop-pr-42` → 42). Anything else is not a preview target.
pub fn number_of(product: &str, policy: &PreviewPolicy, target_name: &str) -> Option<i64> {
    let slug = target_name.strip_prefix(product)?.strip_prefix('-')?;
    let (before, after) = policy.slug_template.split_once("{number}")?;
    let digits = slug.strip_prefix(before)?.strip_suffix(after)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return None;
    }
    let number = digits.parse::<i64>().ok()?;
    (policy.slug(number) == slug).then_some(number)
}

/// A generation's id: deterministic in what it deploys, so a retried reconcile finds the
/// generation it already started instead of starting another.
pub fn generation_id(preview_id: &str, head_sha: &str, artifact: &str) -> String {
    let digest = Sha256::digest(format!("{preview_id}\n{head_sha}\n{artifact}").as_bytes());
    let short: String = hex::encode(digest).chars().take(10).collect();
    format!("{preview_id}-g{short}")
}

/// Record the generation for (`head_sha`, `artifact`) if it is new. Returns the generations
/// (newest last) and whether one was added. The history is cut to `limit`, but the serving
/// generation is never cut: it is what the preview URL shows.
pub fn request_generation(
    old: &[PreviewGeneration],
    preview_id: &str,
    head_sha: &str,
    artifact: &str,
    now: Timestamp,
    limit: usize,
) -> (Vec<PreviewGeneration>, bool) {
    let id = generation_id(preview_id, head_sha, artifact);
    let mut generations = old.to_vec();
    let added = !generations.iter().any(|g| g.id == id);
    if added {
        generations.push(PreviewGeneration {
            id,
            head_sha: Some(head_sha.into()),
            artifact: Some(artifact.into()),
            phase: GenerationPhase::Requested,
            requested_time: Some(Time(now)),
            ..PreviewGeneration::default()
        });
    }
    (bound_history(generations, limit.max(1)), added)
}

fn bound_history(mut generations: Vec<PreviewGeneration>, limit: usize) -> Vec<PreviewGeneration> {
    let serving = serving(&generations).map(|g| g.id.clone());
    while generations.len() > limit {
        // Drop the oldest generation that is not the serving one.
        let Some(pos) = generations.iter().position(|g| Some(&g.id) != serving.as_ref()) else {
            break;
        };
        generations.remove(pos);
    }
    generations
}

/// The generation the preview URL serves: the newest Ready one. A newer failed generation
/// does not replace it.
pub fn serving(generations: &[PreviewGeneration]) -> Option<&PreviewGeneration> {
    generations
        .iter()
        .rev()
        .find(|g| g.phase == GenerationPhase::Ready)
}

/// Parse a ttl such as `72h`, `90m`, `1h30m`, `45s` (the CRD pattern admits these).
pub fn parse_ttl(ttl: &str) -> Option<SignedDuration> {
    let mut total: i64 = 0;
    let mut number = String::new();
    for c in ttl.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let n: i64 = number.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        number.clear();
    }
    (number.is_empty() && total > 0).then(|| SignedDuration::from_secs(total))
}

/// When a preview created at `created` with `ttl` expires; `None` without a (valid) ttl.
pub fn expires_at(created: Timestamp, ttl: Option<&str>) -> Option<Timestamp> {
    created.checked_add(parse_ttl(ttl?)?).ok()
}

/// One target of the preview environment, as the inventory call listed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InventoryTarget {
    pub id: String,
    pub name: String,
}

/// What the sweep knows.
#[derive(Clone, Debug)]
pub struct SweepInput<'a> {
    pub product: &'a str,
    pub policy: &'a PreviewPolicy,
    /// The preview environment's targets, or why they could not be listed.
    pub inventory: Result<&'a [InventoryTarget], String>,
    /// How many targets the previous successful sweep saw in the environment.
    pub previous_count: Option<usize>,
    /// Pull-request numbers of the Previews that exist (deleting ones included: their own
    /// finalizer tears them down).
    pub live: &'a BTreeSet<i64>,
}

/// What the sweep decided.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepPlan {
    /// Every orphan, for Product status, with why it is (or is not) being deleted.
    pub orphans: Vec<OrphanTarget>,
    /// Target ids to delete now (within the budget).
    pub delete: Vec<String>,
    /// Why nothing may be deleted this sweep, when that is the case.
    pub refused: Option<String>,
    /// The inventory size to remember for the next sweep (only after a successful listing).
    pub count: Option<usize>,
}

/// A shrink below this fraction of the previous listing is "markedly fewer": the listing is
/// more likely broken (wrong environment, partial answer) than the previews really gone.
const SHRINK_FLOOR: f64 = 0.5;

/// Decide the orphan sweep.
pub fn plan_sweep(input: &SweepInput<'_>) -> SweepPlan {
    let targets = match &input.inventory {
        Ok(targets) => *targets,
        Err(why) => {
            return SweepPlan {
                refused: Some(format!(
                    "the preview inventory could not be listed ({why}); nothing is deleted"
                )),
                ..SweepPlan::default()
            };
        }
    };
    let orphaned: Vec<&InventoryTarget> = targets
        .iter()
        .filter(|t| number_of(input.product, input.policy, &t.name).is_some_and(|n| !input.live.contains(&n)))
        .collect();
    let shrunk = input
        .previous_count
        .filter(|&prev| prev >= 2 && (targets.len() as f64) < (prev as f64) * SHRINK_FLOOR);
    let refused = if let Some(prev) = shrunk {
        Some(format!(
            "the preview environment lists {} targets, markedly fewer than the {prev} of the previous \
             sweep; nothing is deleted until a listing looks whole again",
            targets.len()
        ))
    } else if input.policy.cleanup == CleanupPolicy::Report {
        Some("preview.cleanup is Report: orphans are listed, never deleted".into())
    } else if input.policy.delete_budget <= 0 {
        Some("preview.deleteBudget is 0: deletion is disabled".into())
    } else {
        None
    };
    let budget = usize::try_from(input.policy.delete_budget).unwrap_or(0);
    let delete: Vec<String> = if refused.is_none() {
        orphaned.iter().take(budget).map(|t| t.id.clone()).collect()
    } else {
        Vec::new()
    };
    let orphans = orphaned
        .iter()
        .map(|t| OrphanTarget {
            target_id: t.id.clone(),
            display_name: Some(t.name.clone()),
            reason: Some(if delete.contains(&t.id) {
                "no Preview exists for this preview target; deleting it".into()
            } else if let Some(why) = &refused {
                format!("no Preview exists for this preview target; kept: {why}")
            } else {
                "no Preview exists for this preview target; kept: over this sweep's deleteBudget".into()
            }),
        })
        .collect();
    SweepPlan {
        orphans,
        delete,
        refused,
        count: Some(targets.len()),
    }
}

/// The finalizer that holds a Preview until its Dokploy application and domain are gone.
pub const FINALIZER: &str = "launchplane.dev/preview-teardown";

/// Env key holding the preview's public URL (`https://pr-42.preview.example.com`).
pub const PREVIEW_URL_ENV: &str = "LAUNCHPLANE_PREVIEW_URL";
/// The conventional public-URL key many web frameworks read; set to the preview URL too.
pub const PUBLIC_URL_ENV: &str = "PUBLIC_URL";

/// The identity a preview generation's app must serve. `deploymentRecordId` is the generation
/// id (the deploy is titled with it too), so the `X-Launchplane-Deployment` header names the
/// generation.
pub fn expected_identity(
    product: &str,
    names: &PreviewNames,
    generation_id: &str,
    artifact_id: &str,
    source_git_ref: &str,
    image_reference: &str,
) -> RuntimeIdentityPayload {
    RuntimeIdentityPayload {
        product: Some(product.into()),
        context: Some(names.slug.clone()),
        environment_kind: Some(ENVIRONMENT_KIND_PREVIEW.into()),
        deployment_record_id: Some(generation_id.into()),
        artifact_id: Some(artifact_id.into()),
        source_git_ref: Some(source_git_ref.into()),
        image_reference: Some(image_reference.into()),
        preview_id: Some(names.preview_id.clone()),
        preview_generation_id: Some(generation_id.into()),
        ..RuntimeIdentityPayload::default()
    }
}

/// The env keys Launchplane writes on a preview target: the four identity keys plus
/// [`PREVIEW_URL_ENV`] and [`PUBLIC_URL_ENV`]. Nothing here is secret.
pub fn preview_env(identity: &RuntimeIdentityPayload, names: &PreviewNames) -> BTreeMap<String, String> {
    let mut env = identity_env(identity);
    env.insert(PREVIEW_URL_ENV.into(), names.url.clone());
    env.insert(PUBLIC_URL_ENV.into(), names.url.clone());
    env
}

/// Move generation `id` to `phase`, stamping the finish time and evidence for Ready/Failed.
pub fn set_phase(
    generations: &[PreviewGeneration],
    id: &str,
    phase: GenerationPhase,
    evidence: Option<String>,
    now: Timestamp,
) -> Vec<PreviewGeneration> {
    generations
        .iter()
        .cloned()
        .map(|mut g| {
            if g.id == id {
                g.phase = phase;
                if matches!(phase, GenerationPhase::Ready | GenerationPhase::Failed) {
                    g.finished_time = Some(Time(now));
                }
                if evidence.is_some() {
                    g.evidence = evidence.clone();
                }
            }
            g
        })
        .collect()
}

/// Whether a preview with `expires_at` has expired at `now`.
pub fn is_expired(expires_at: Option<Timestamp>, now: Timestamp) -> bool {
    expires_at.is_some_and(|at| at <= now)
}

/// The Preview's conditions and verdict from its newest generation: `Deployed` and
/// `RuntimeIdentityVerified` follow the newest generation's phase (a failed generation is a
/// Mismatch even while an older one still serves), `Ready` is True only when the newest
/// generation is Ready.
pub fn preview_conditions(
    old: &[Condition],
    newest: Option<&PreviewGeneration>,
    progress: &Progress,
    generation: Option<i64>,
    now: Timestamp,
) -> Computed {
    let aspects: Vec<Aspect> = match newest {
        None => vec![
            Aspect::required(types::DEPLOYED, Verdict::Unchecked, "no generation yet"),
            Aspect::required(
                types::RUNTIME_IDENTITY_VERIFIED,
                Verdict::Unchecked,
                "no generation yet",
            ),
        ],
        Some(g) => {
            let evidence = g.evidence.clone().unwrap_or_default();
            let (deployed, identity) = match g.phase {
                GenerationPhase::Requested => (
                    (Verdict::Unchecked, format!("generation {} requested", g.id)),
                    (Verdict::Unchecked, "not probed yet".to_string()),
                ),
                GenerationPhase::Deploying => (
                    (Verdict::Unchecked, format!("generation {} deploying", g.id)),
                    (Verdict::Unchecked, "not probed yet".to_string()),
                ),
                GenerationPhase::Ready => (
                    (Verdict::Matched, format!("generation {} deployed", g.id)),
                    (Verdict::Matched, evidence),
                ),
                GenerationPhase::Failed if evidence.starts_with("identity") => (
                    (Verdict::Matched, format!("generation {} deployed", g.id)),
                    (Verdict::Mismatch, evidence),
                ),
                GenerationPhase::Failed => (
                    (Verdict::Mismatch, evidence),
                    (Verdict::Unchecked, "not probed: the deploy failed".to_string()),
                ),
            };
            vec![
                Aspect::required(types::DEPLOYED, deployed.0, deployed.1),
                Aspect::required(types::RUNTIME_IDENTITY_VERIFIED, identity.0, identity.1),
            ]
        }
    };
    conditions::compute(old, &aspects, progress, generation, now)
}

#[cfg(test)]
mod tests;

//! Previews, the pure parts: names derived from the Product's preview policy, generations
//! and their bounded history, time to live, and the orphan sweep's decision.
//!
//! The sweep deletes provider targets, so its rules fail closed: it deletes nothing unless
//! the inventory call succeeded, a whole listing of the same environment was seen before (the
//! baseline) and this one is not markedly smaller, the policy says `Delete`, and the target
//! follows the preview naming exactly. Even then it deletes at most the budget per sweep.
//!
//! The baseline ([`SweepBaseline`], persisted in Product status by both shells) moves only on a
//! listing that looks whole: the first listing of an environment (which deletes nothing), or
//! one with at least half the baseline's targets. A refused listing never lowers it, so the
//! same partial listing is refused round after round, across restarts.
//!
//! A settled preview is verified again on every reconcile: its recorded application read by
//! id ([`check_target`]) and its URL probed ([`identity_finding`]). A 404 alone never makes it
//! forget the application: only a 404 that the org listing confirms ([`TargetCheck::Gone`]).

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use launchplane_api::conditions::{self, Aspect, Computed, Progress, types};
use launchplane_api::identity::{ENVIRONMENT_KIND_PREVIEW, RuntimeIdentityPayload, identity_env};
use launchplane_api::resources::{
    CleanupPolicy, GenerationPhase, OrphanTarget, PreviewGeneration, PreviewPolicy, SweepBaseline,
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
    let serving = newest_ready(&generations).map(|g| g.id.clone());
    while generations.len() > limit {
        // Drop the oldest generation that is not the serving one.
        let Some(pos) = generations.iter().position(|g| Some(&g.id) != serving.as_ref()) else {
            break;
        };
        generations.remove(pos);
    }
    generations
}

fn newest_ready(generations: &[PreviewGeneration]) -> Option<&PreviewGeneration> {
    generations
        .iter()
        .rev()
        .find(|g| g.phase == GenerationPhase::Ready)
}

/// The generation the preview URL serves: the newest Ready one deployed to the preview's
/// current application `target` (a generation recorded before targets were kept counts as
/// deployed to it). A newer failed generation does not replace it; without an application
/// nothing is served, whatever the history says was deployed before.
pub fn serving<'a>(
    generations: &'a [PreviewGeneration],
    target: Option<&str>,
) -> Option<&'a PreviewGeneration> {
    let target = target?;
    generations
        .iter()
        .rev()
        .find(|g| g.phase == GenerationPhase::Ready && g.target_id.as_deref().is_none_or(|t| t == target))
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

/// One successful listing of the preview environment.
#[derive(Clone, Copy, Debug)]
pub struct Listing<'a> {
    /// The Dokploy environment listed.
    pub environment: &'a str,
    pub targets: &'a [InventoryTarget],
}

/// What the sweep knows.
#[derive(Clone, Debug)]
pub struct SweepInput<'a> {
    pub product: &'a str,
    pub policy: &'a PreviewPolicy,
    /// The preview environment's targets, or why they could not be listed.
    pub inventory: Result<Listing<'a>, String>,
    /// The last whole listing (persisted); `None` before the first one.
    pub baseline: Option<&'a SweepBaseline>,
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
    /// This listing, when it looks whole (or is the first of its environment): what the
    /// baseline becomes, less what the sweep deletes ([`next_baseline`]). `None`: the listing
    /// failed or shrank, and the baseline stays where it was.
    pub whole: Option<SweepBaseline>,
}

/// A listing with fewer than this fraction of the baseline's targets is "markedly fewer": it
/// is more likely broken (a partial answer, a wrong environment) than the previews really gone.
const SHRINK_FLOOR: f64 = 0.5;

/// Whether a listing of `listed` targets is markedly fewer than `baseline`.
fn shrunk(listed: usize, baseline: &SweepBaseline) -> bool {
    let baseline = usize::try_from(baseline.targets).unwrap_or(0);
    (listed as f64) < (baseline as f64) * SHRINK_FLOOR
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Decide the orphan sweep.
pub fn plan_sweep(input: &SweepInput<'_>) -> SweepPlan {
    let listing = match &input.inventory {
        Ok(listing) => *listing,
        Err(why) => {
            return SweepPlan {
                refused: Some(format!(
                    "the preview inventory could not be listed ({why}); nothing is deleted"
                )),
                ..SweepPlan::default()
            };
        }
    };
    let targets = listing.targets;
    let orphaned: Vec<&InventoryTarget> = targets
        .iter()
        .filter(|t| number_of(input.product, input.policy, &t.name).is_some_and(|n| !input.live.contains(&n)))
        .collect();
    let this_listing = SweepBaseline {
        environment_id: listing.environment.to_string(),
        targets: count(targets.len()),
    };
    let (whole, refused) = match input.baseline {
        // No whole listing of this environment yet: one listing cannot tell a whole answer
        // from a partial one or the wrong environment, and a wrong delete cannot be undone.
        // It becomes the baseline; deleting waits for the next sweep.
        None => (
            Some(this_listing),
            Some(format!(
                "this is the first listing of preview environment {} that Launchplane has seen \
                 ({} targets); it becomes the baseline and nothing is deleted until a later sweep \
                 confirms it",
                listing.environment,
                targets.len()
            )),
        ),
        Some(b) if b.environment_id != listing.environment => (
            Some(this_listing),
            Some(format!(
                "the preview environment changed from {} to {}; this listing ({} targets) becomes \
                 the new baseline and nothing is deleted until a later sweep confirms it",
                b.environment_id,
                listing.environment,
                targets.len()
            )),
        ),
        Some(b) if shrunk(targets.len(), b) => (
            None,
            Some(format!(
                "the preview environment lists {} targets, markedly fewer than the {} of the last \
                 whole listing; nothing is deleted until a listing looks whole again (if the \
                 previews really went away, see docs/operations.md to reset the baseline)",
                targets.len(),
                b.targets
            )),
        ),
        Some(_) => (Some(this_listing), None),
    };
    // The policy's refusals first: they hold whatever the listing, and a reason that does not
    // flip between rounds keeps Product status from being rewritten for nothing.
    let refused = if input.policy.cleanup == CleanupPolicy::Report {
        Some("preview.cleanup is Report: orphans are listed, never deleted".into())
    } else if input.policy.delete_budget <= 0 {
        Some("preview.deleteBudget is 0: deletion is disabled".into())
    } else {
        refused
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
        whole,
    }
}

/// The baseline to persist after a sweep that planned `plan` and deleted `deleted` targets:
/// a whole listing less its own deletions (the next listing will not show them), else the
/// `previous` baseline unchanged. Never lowered by a failed or shrunken listing.
pub fn next_baseline(
    plan: &SweepPlan,
    previous: Option<&SweepBaseline>,
    deleted: usize,
) -> Option<SweepBaseline> {
    match &plan.whole {
        Some(whole) => Some(SweepBaseline {
            environment_id: whole.environment_id.clone(),
            targets: whole.targets.saturating_sub(count(deleted)).max(0),
        }),
        None => previous.cloned(),
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

/// Generation `id` moves to Deploying on application `target`: where and when its deploy
/// was sent (the deploy timeout counts from then, not from the request, which may have
/// waited on a stalled setup).
pub fn start_deploy(
    generations: &[PreviewGeneration],
    id: &str,
    target: &str,
    now: Timestamp,
) -> Vec<PreviewGeneration> {
    generations
        .iter()
        .cloned()
        .map(|mut g| {
            if g.id == id {
                g.phase = GenerationPhase::Deploying;
                g.target_id = Some(target.to_string());
                g.deploy_time = Some(Time(now));
            }
            g
        })
        .collect()
}

/// Recovery once the application `gone` is confirmed deleted outside Launchplane: generation
/// `id` (what the spec asks for) is requested again, to be deployed to a new application.
/// Its entry keeps its id, head and artifact, and its evidence says why it is deployed again;
/// nothing else in the history changes (it still says what was deployed, and where).
pub fn redeploy_after_gone(
    generations: &[PreviewGeneration],
    id: &str,
    gone: Option<&str>,
    now: Timestamp,
) -> Vec<PreviewGeneration> {
    let why = match gone {
        Some(gone) => format!(
            "redeploying: application {gone} was deleted outside Launchplane (application.one \
             answered 404 and the org listing no longer lists it)"
        ),
        None => "redeploying: no application is recorded for this preview".to_string(),
    };
    generations
        .iter()
        .cloned()
        .map(|mut g| {
            if g.id == id {
                g.phase = GenerationPhase::Requested;
                g.requested_time = Some(Time(now));
                g.finished_time = None;
                g.target_id = None;
                g.deploy_time = None;
                g.evidence = Some(why.clone());
            }
            g
        })
        .collect()
}

/// Whether a preview with `expires_at` has expired at `now`.
pub fn is_expired(expires_at: Option<Timestamp>, now: Timestamp) -> bool {
    expires_at.is_some_and(|at| at <= now)
}

/// The Preview's conditions and verdict.
///
/// - `TargetVerified`: the recorded application as read in this reconcile (`fresh.target`);
///   not read is Unchecked.
/// - `Deployed`: the newest generation's phase (the history: what was deployed).
/// - `RuntimeIdentityVerified`: for a Ready generation, the identity probed in this reconcile
///   (`fresh.identity`; not probed is Unchecked); for a failed one, the evidence it failed on
///   (a failed generation is a Mismatch even while an older one still serves).
///
/// `Ready` is True only when all three are Matched: a Ready generation and fresh evidence.
pub fn preview_conditions(
    old: &[Condition],
    newest: Option<&PreviewGeneration>,
    fresh: &Fresh,
    progress: &Progress,
    generation: Option<i64>,
    now: Timestamp,
) -> Computed {
    let target = fresh.target.clone().unwrap_or_else(|| {
        Finding::new(
            Verdict::Unchecked,
            "the preview application was not read in this reconcile",
        )
    });
    let mut aspects = vec![Aspect::required(
        types::TARGET_VERIFIED,
        target.verdict,
        target.message,
    )];
    match newest {
        None => aspects.extend([
            Aspect::required(types::DEPLOYED, Verdict::Unchecked, "no generation yet"),
            Aspect::required(
                types::RUNTIME_IDENTITY_VERIFIED,
                Verdict::Unchecked,
                "no generation yet",
            ),
        ]),
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
                GenerationPhase::Ready => {
                    let probed = fresh
                        .identity
                        .clone()
                        .unwrap_or_else(|| Finding::new(Verdict::Unchecked, "not probed in this reconcile"));
                    (
                        (Verdict::Matched, format!("generation {} deployed", g.id)),
                        (probed.verdict, probed.message),
                    )
                }
                GenerationPhase::Failed if evidence.starts_with("identity") => (
                    (Verdict::Matched, format!("generation {} deployed", g.id)),
                    (Verdict::Mismatch, evidence),
                ),
                GenerationPhase::Failed => (
                    (Verdict::Mismatch, evidence),
                    (Verdict::Unchecked, "not probed: the deploy failed".to_string()),
                ),
            };
            aspects.extend([
                Aspect::required(types::DEPLOYED, deployed.0, deployed.1),
                Aspect::required(types::RUNTIME_IDENTITY_VERIFIED, identity.0, identity.1),
            ]);
        }
    }
    conditions::compute(old, &aspects, progress, generation, now)
}

mod environment;
mod verification;

pub use environment::{ProjectEnvironment, resolve_environment};
pub use verification::{AppRead, Finding, Fresh, Listed, TargetCheck, check_target, identity_finding};

#[cfg(test)]
mod tests;

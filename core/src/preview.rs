//! Previews, the pure parts: names derived from the Product's preview policy, generations
//! and their bounded history, time to live, the pipeline that plans a preview one step at a
//! time, its teardown, and the orphan sweep's decision.
//!
//! One pipeline per reconcile, like a lane's, with one entry and one exit:
//!
//! ```text
//!  PreviewInputs + status ─► resolve ─► needs ─► (the shell reads) Observation ─► plan
//!                            Job        Needs                                    PreviewPlan:
//!                                                                                status + ≤ 1 PreviewStep
//! ```
//!
//! - `resolve` ([`PreviewInputs`]): the Product, the names, the ttl, the template target, the
//!   Artifact and a Dokploy client; the generation (head commit × artifact) is requested.
//! - [`needs`]: what to read for the generation's phase (see [`Needs`]).
//! - [`plan`]: the status and at most one [`PreviewStep`]; [`PreviewPlan::after`] says what a
//!   step's outcome means. The shell performs each step through the one executor (every step
//!   comes down to one [`crate::action::Action`]) and plans again, within its limits.
//! - Teardown ([`plan_teardown`]) and the sweep ([`plan_sweep`], [`sweep_verdict`]) delete
//!   only recorded ids whose ownership marker, read fresh, is this Preview's or this instance's.
//!
//! Restart safety: the generation id is deterministic and is the deploy's title, so a
//! restarted reconcile finds a deploy it already sent instead of sending another; the phase
//! Deploying is persisted before the deploy is sent, and a deploy lost in between is sent again
//! once ([`crate::deployment_record::SentDeploy`], the rule lanes follow); an application
//! created before a crash (but not yet recorded) is adopted by its exact preview name in the
//! preview environment, and only when it carries this Preview's ownership marker.
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

use crate::deployment_record::SentDeploy;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use launchplane_api::conditions::{self, Aspect, Computed, Progress, types};
use launchplane_api::identity::{ENVIRONMENT_KIND_PREVIEW, RuntimeIdentityPayload, identity_env};
#[cfg(doc)]
use launchplane_api::resources::SweepBaseline;
use launchplane_api::resources::{GenerationPhase, PreviewGeneration, PreviewPolicy};
use launchplane_api::verdict::Verdict;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

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
                g.resent_time = None;
            }
            g
        })
        .collect()
}

/// Generation `id`'s deploy is sent again, once, at `now` (recorded before it is sent; see
/// [`crate::deployment_record::SentDeploy`]).
pub fn mark_resent(generations: &[PreviewGeneration], id: &str, now: Timestamp) -> Vec<PreviewGeneration> {
    generations
        .iter()
        .cloned()
        .map(|mut g| {
            if g.id == id {
                g.resent_time = Some(Time(now));
            }
            g
        })
        .collect()
}

/// Generation `generation`'s deploy as [`SentDeploy`], while it is Deploying: when it was sent
/// and whether it was sent again.
pub fn sent_deploy(generation: &PreviewGeneration) -> Option<SentDeploy> {
    let sent_at = generation.deploy_time.as_ref().map(|t| t.0)?;
    (generation.phase == GenerationPhase::Deploying).then_some(SentDeploy {
        sent_at,
        resent_at: generation.resent_time.as_ref().map(|t| t.0),
    })
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
                g.resent_time = None;
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

mod decision;
mod environment;
mod generation;
mod observation;
mod plan;
mod resolve;
mod settings;
mod step;
mod sweep;
mod teardown;
mod verification;

pub use decision::Pace;
pub use environment::{
    EnvSetup, Located, ProjectEnvironment, among_project, in_environment, locate, named_in, project_unlisted,
    resolve_environment,
};
pub use observation::{
    ApplicationQuery, ApplicationRead, DeploymentQuery, Needs, Observation, Placement, PlacementQuery,
    ProbeQuery, needs,
};
pub use plan::{ARTIFACT_RECHECK, BLOCKED_RECHECK, PreviewPlan, plan};
pub use resolve::{Job, PreviewInputs, expiry, preview_names, preview_owner, probe_target};
pub use settings::{DEFAULT_INSTANCE, EXPIRED_RETRY, PROVIDER_RETRY, PreviewSettings, UNVERIFIABLE_RETRY};
pub use step::PreviewStep;
pub use sweep::{InventoryTarget, Listing, SweepInput, SweepPlan, next_baseline, plan_sweep, sweep_verdict};
pub use teardown::{
    TeardownError, TeardownNeeds, TeardownNext, TeardownObservation, TeardownProgress, TeardownReport,
    TeardownTarget, plan_teardown, teardown_failed, teardown_needs, teardown_stalled,
};
pub use verification::{
    AppRead, Finding, Fresh, Listed, TargetCheck, check_target, conflict_message, identity_finding,
};

#[cfg(test)]
mod tests;

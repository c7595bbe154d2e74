//! Stage 1 of [`plan`](super::plan): resolve what the lane names (its Product, its
//! ProviderTarget and whether that target is the lane's to change, its Artifact, its env) and
//! gather the blockers: every reason the lane must not mutate anything now.
//!
//! Nothing here looks at the lane's records; a blocker holds back every mutation, whatever
//! phase a record is in.

use super::blocker::{Blocker, Blockers, blocker};
use super::pin::ImagePin;
use super::{Facts, LaneInputs, RESERVED_ENV_PREFIX, claim, name_of};
use crate::artifact;
use crate::provider_target::tracked_target;
use crate::target::{DesiredEnv, TargetRef};
use crate::verification::{self, BaseUrl};
use launchplane_api::resources::{
    Artifact, DesiredArtifact, Driver, Lane, ManagementPolicy, Product, ProviderTarget, ProviderTargetStatus,
    TargetCategory,
};
use launchplane_api::verdict::{FieldMismatch, Verdict};

/// What resolving the ProviderTarget found.
pub(super) struct TargetCheck {
    /// The Dokploy target the lane's steps act on (`None`: not bound to an id yet).
    pub target_ref: Option<TargetRef>,
    /// The description that marks the (unmarked) target as the lane's, to be written before
    /// the attempt's first mutation.
    pub mark: Option<String>,
    /// `target.*` mismatches: the ProviderTarget's own, then the claim's.
    pub mismatches: Vec<FieldMismatch>,
    /// The verdict and message of `TargetVerified`.
    pub verdict: Verdict,
    pub message: String,
}

/// What the lane's references resolved to.
pub(super) struct Resolved<'a> {
    pub blockers: Blockers,
    /// The Product, whatever its driver (its health path and identity settings still count).
    pub product: Option<&'a Product>,
    pub product_name: Option<String>,
    pub target_check: TargetCheck,
    /// The Artifact to deploy, when it exists and may be deployed.
    pub artifact: Option<&'a Artifact>,
    /// The Artifact the lane should run: its `spec.artifactRef`, or its Promotions' (`None`:
    /// the lane only observes).
    pub desired: Option<String>,
    /// The Promotion that set `desired`, when one did.
    pub promotion: Option<String>,
    /// The lane is fed by Promotions (`spec.promotion`), not by `spec.artifactRef`.
    pub fed: bool,
    /// The lane's env (empty when it could not be resolved: the lane is blocked then).
    pub env: &'a DesiredEnv,
    /// Whether the runtime identity must be verified (the lane's or the Product's setting).
    pub identity_required: bool,
    /// Where the image is pinned on the target.
    pub pin: ImagePin,
    /// The driver's post-deploy schedule, when it has a command (Odoo on a bound compose).
    pub post_deploy: Option<crate::schedule::ScheduleWant>,
    /// Where the lane's app is reached, and where that came from.
    pub base: &'a BaseUrl,
}

impl Resolved<'_> {
    /// Why the lane deploys nothing: it is given no artifact.
    pub fn nothing_desired(&self) -> &'static str {
        if self.fed {
            "no Promotion has set an artifact yet"
        } else {
            "spec.artifactRef is not set"
        }
    }
}

/// The env a lane whose env did not resolve is compared with (it mutates nothing then).
static NO_ENV: DesiredEnv = DesiredEnv::new();

/// The driver's name as written in a Product.
pub fn driver_name(driver: Driver) -> &'static str {
    match driver {
        Driver::GenericWeb => "generic-web",
        Driver::Odoo => "odoo",
        Driver::Verireel => "verireel",
    }
}

/// The Dokploy target a ProviderTarget claims, as steps act on it: its category and the id
/// of its spec, else the one an earlier adoption recorded (`None`: not bound yet).
pub fn target_ref(target: &ProviderTarget) -> Option<TargetRef> {
    tracked_target(target).map(|(category, id)| TargetRef { category, id })
}

/// Resolve the lane's references, in the order their blockers are reported: Product (and,
/// for a driver with checks, the base URL they run at), ProviderTarget (and its claim),
/// Artifact, env, `spec.suspend`.
pub(super) fn resolve<'a>(input: &LaneInputs<'a>, facts: Facts<'_>) -> Resolved<'a> {
    let lane = input.lane;
    let mut blockers = Blockers::default();
    blockers.extend(product(lane, input.product));
    blockers.extend(base_url(input.product, input.base));
    let driver = input.product.map(|p| p.spec.driver);
    let (target_check, found) = target(input, driver, facts);
    blockers.extend(found);
    let desired = input.feed.desired.as_ref();
    let (artifact, found) = artifact(desired, input.artifact, input.product);
    blockers.extend(found);
    let (env, found) = env(&input.desired_env);
    blockers.extend(found);
    blockers.extend(bootstrap_in_progress(lane, input.bootstraps));
    if lane.spec.suspend {
        blockers.extend([blocker(
            "Suspended",
            "spec.suspend is true: no deploys or corrections (observation continues)".into(),
            true,
        )]);
    }
    let post_deploy = target_check
        .target_ref
        .as_ref()
        .and_then(|t| super::post_deploy::want(lane, input.product, t.category, &t.id, input.instance));
    Resolved {
        blockers,
        product: input.product,
        product_name: input.product.map(|p| name_of(&p.metadata)),
        target_check,
        artifact,
        desired: desired.map(|d| d.artifact.clone()),
        promotion: desired.and_then(|d| d.promotion.clone()),
        fed: lane.spec.promotion.is_some(),
        env,
        identity_required: lane.spec.runtime_identity.required
            || input.product.is_some_and(|p| p.spec.runtime_identity.required),
        pin: ImagePin::of(input.product, input.target),
        post_deploy,
        base: input.base,
    }
}

/// The Product must exist (every driver deploys: generic-web and verireel applications, odoo
/// composes; the target's category is checked with the target).
fn product(lane: &Lane, product: Option<&Product>) -> Option<Blocker> {
    let name = &lane.spec.product_ref.name;
    match product {
        None => Some(blocker(
            "ProductNotFound",
            format!("spec.productRef: Product {name} not found in this namespace"),
            true,
        )),
        Some(_) => None,
    }
}

/// A driver with checks (odoo, verireel) verifies its deploys at the lane's base URL: without
/// one, a deploy could never be verified (nor its failure seen), so none is made.
fn base_url(product: Option<&Product>, base: &BaseUrl) -> Option<Blocker> {
    if !verification::has_checks(product) || base.url.is_some() {
        return None;
    }
    let why = base.problem.as_deref().unwrap_or("the lane has no base URL");
    Some(blocker(
        "BaseUrlUnresolved",
        format!("not deploying what could not be verified: {why}"),
        !base.transient,
    ))
}

/// The ProviderTarget: Matched and `Manage`, or no mutation; then whether it is the lane's to
/// change (marker, source type, other lanes; see [`claim`]).
fn target(input: &LaneInputs<'_>, driver: Option<Driver>, facts: Facts<'_>) -> (TargetCheck, Vec<Blocker>) {
    let name = &input.lane.spec.target_ref.name;
    let Some(pt) = input.target else {
        let message = format!("spec.targetRef: ProviderTarget {name} not found in this namespace");
        let check = TargetCheck {
            target_ref: None,
            mark: None,
            mismatches: Vec::new(),
            verdict: Verdict::Missing,
            message: message.clone(),
        };
        return (check, vec![blocker("TargetNotFound", message, true)]);
    };
    let status = pt.status.clone().unwrap_or_default();
    let verdict = status.verdict.unwrap_or_default();
    let detail = status
        .message
        .clone()
        .unwrap_or_else(|| "not verified yet".into());
    let mut blockers = unusable(name, pt, driver, verdict, &detail);
    let target_ref = target_ref(pt);
    let claim = claim::judge(
        input.lane,
        pt,
        target_ref.as_ref().map(|t| t.id.as_str()),
        facts.and_then(Result::ok),
        input.instance,
        input.rivals,
    );
    blockers.extend(claim.blockers);
    let mut mismatches = own_mismatches(&status);
    mismatches.extend(claim.mismatches);
    let message = format!("ProviderTarget {name}: {detail}");
    let (verdict, message) = match claim.verdict {
        Some((worse, why)) => (Verdict::worst([verdict, worse]), format!("{why} ({message})")),
        None => (verdict, message),
    };
    let check = TargetCheck {
        target_ref,
        mark: claim.mark,
        mismatches,
        verdict,
        message,
    };
    (check, blockers)
}

/// Why the ProviderTarget itself rules out mutation: not Matched, not `Manage`, not the kind
/// of target the Product's driver deploys (generic-web: an application; odoo: a compose).
fn unusable(
    name: &str,
    pt: &ProviderTarget,
    driver: Option<Driver>,
    verdict: Verdict,
    detail: &str,
) -> Vec<Blocker> {
    let mut blockers = Vec::new();
    if verdict != Verdict::Matched {
        blockers.push(blocker(
            "TargetNotVerified",
            format!(
                "ProviderTarget {name} is {verdict} ({detail}); a target that is not Matched is never \
                 mutated"
            ),
            false,
        ));
    }
    if pt.spec.management_policy != ManagementPolicy::Manage {
        blockers.push(blocker(
            "TargetNotManaged",
            format!(
                "ProviderTarget {name} has managementPolicy Observe; set Manage to let the lane deploy to \
                 it"
            ),
            true,
        ));
    }
    match (driver, pt.spec.target_category) {
        (Some(Driver::Odoo), TargetCategory::Application) => blockers.push(blocker(
            "TargetNotCompose",
            format!(
                "the odoo driver deploys a Dokploy compose (its image pinned through the compose env); \
                 ProviderTarget {name} is an application target. Point spec.targetRef at a compose \
                 ProviderTarget"
            ),
            true,
        )),
        (Some(Driver::Odoo), TargetCategory::Compose) => {}
        (_, TargetCategory::Compose) => blockers.push(blocker(
            "TargetNotApplication",
            format!(
                "the generic-web driver deploys a Dokploy application; ProviderTarget {name} is a compose \
                 target (compose targets are deployed by the odoo driver)"
            ),
            true,
        )),
        (_, TargetCategory::Application) => {}
    }
    blockers
}

/// The ProviderTarget's own mismatches, named as the lane's `target.*` fields.
fn own_mismatches(status: &ProviderTargetStatus) -> Vec<FieldMismatch> {
    status
        .mismatches
        .iter()
        .map(|m| FieldMismatch {
            field: format!("target.{}", m.field),
            ..m.clone()
        })
        .collect()
}

/// The Artifact to deploy: missing, not pinned to a digest and an exact commit, or not an
/// image of the Product's `imageRepository` fails closed, before any provider call.
fn artifact<'a>(
    wanted: Option<&DesiredArtifact>,
    found: Option<&'a Artifact>,
    product: Option<&Product>,
) -> (Option<&'a Artifact>, Option<Blocker>) {
    let Some(wanted) = wanted else {
        return (None, None);
    };
    let Some(a) = found else {
        let by = match &wanted.promotion {
            Some(p) => format!("Promotion {p}"),
            None => "spec.artifactRef".into(),
        };
        let message = format!("{by}: Artifact {} not found in this namespace", wanted.artifact);
        return (None, Some(blocker("ArtifactNotFound", message, true)));
    };
    if let Err(problem) = artifact::check(&a.spec) {
        let message = format!("Artifact {} cannot be deployed: {problem}", wanted.artifact);
        return (None, Some(blocker("ArtifactInvalid", message, true)));
    }
    match product.map(|p| artifact::check_repository(a, p)) {
        Some(Err(problem)) => (None, Some(blocker(artifact::REPOSITORY_MISMATCH, problem, true))),
        _ => (Some(a), None),
    }
}

/// The lane's env: resolved, and free of the keys reserved for the runtime identity.
fn env<'a>(desired: &Result<&'a DesiredEnv, String>) -> (&'a DesiredEnv, Option<Blocker>) {
    let env = match desired {
        Ok(env) => *env,
        Err(problem) => return (&NO_ENV, Some(blocker("EnvNotResolved", problem.clone(), true))),
    };
    let reserved: Vec<&String> = env
        .keys()
        .filter(|k| k.starts_with(RESERVED_ENV_PREFIX))
        .collect();
    if reserved.is_empty() {
        return (env, None);
    }
    let message = format!(
        "env keys {reserved:?} start with {RESERVED_ENV_PREFIX}, which is reserved for the runtime \
         identity; rename them"
    );
    (env, Some(blocker("EnvInvalid", message, true)))
}

/// A DataBootstrap of the lane under way: nothing is deployed or corrected until it ends (its
/// commands replace the data the running release serves).
fn bootstrap_in_progress(
    lane: &Lane,
    bootstraps: &[&launchplane_api::resources::DataBootstrap],
) -> Option<Blocker> {
    let name = lane.metadata.name.as_deref().unwrap_or_default();
    let running = bootstraps.iter().find(|b| {
        b.metadata.namespace == lane.metadata.namespace
            && b.spec.lane_ref.name == name
            && crate::bootstrap::started_at(b).is_some()
            && !crate::bootstrap::phase(b).is_final()
    })?;
    Some(blocker(
        "BootstrapInProgress",
        format!(
            "DataBootstrap {} of this lane is in progress (phase {}): no deploy starts until it ends",
            crate::bootstrap::name_of(running),
            crate::bootstrap::phase(running).as_str()
        ),
        false,
    ))
}

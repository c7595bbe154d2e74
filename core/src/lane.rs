//! Lane: plan the next step of a lane from its spec, the objects it references, its deployment
//! records and what was observed, and compute its status.
//!
//! [`plan`] is pure. Each call returns the status to write and **at most one** next [`Step`],
//! derived from the persisted phase of the lane's records, so a controller stopped between
//! any two steps resumes at the right one. It composes five stages, each a pure function from
//! typed inputs to a typed output, and no stage sees another's locals:
//!
//! ```text
//! LaneInputs ─► resolve ──► history ──► aspects ──► next_step ──► status ──► LanePlan
//!               Resolved    History     Aspects     Next (Step,   Outcome
//!                                                   Pace)
//! ```
//!
//! 1. `resolve`: the Product (driver `generic-web`, deploying an application, or `odoo`,
//!    deploying a compose whose image is pinned through its env: [`ImagePin`]), the
//!    ProviderTarget (Matched and `Manage`, else the lane does not mutate and says why; for a `Manage` target also: not
//!    marked by another owner, docker-sourced unless `spec.allowSourceConversion`, named by
//!    no other Lane of the namespace, see `claim`), the Artifact (missing, not pinned to a
//!    digest and an exact commit, or not an image of the Product's `imageRepository`: fail
//!    closed before any provider call), the env and `spec.suspend`: the blockers, in order;
//! 2. `history`: the lane's records: this controller's attempts and the evidence written by
//!    others, the attempt in flight, the inventory's record, the failed attempts in a row for
//!    the desired state ([`retry`]) and the reference record the target is compared with;
//! 3. `aspects`: `TargetVerified`, `ConfigSynced` (drift against the reference record, or a
//!    spec change to deploy: see [`spec_changed`]), `RuntimeIdentityVerified` (through the
//!    lane's RuntimeIdentity child, [`identity_child`]), `Healthy` and `Deployed`;
//! 4. `next_step`: a controller record in flight is continued: Pending → [`Step::MarkTarget`]
//!    (an unmarked target first gets this lane's ownership marker) / [`Step::SetImage`] /
//!    [`Step::MergeEnv`] / [`Step::Deploy`] (whichever the observed target still lacks);
//!    Deploying → [`Step::FollowDeployment`] (found by its title, the record id; a deploy that
//!    never appeared is sent again at most once, when Dokploy shows nothing under way for the
//!    target); Verifying → first the driver's post-deploy command when it has one
//!    ([`post_deploy`]: [`Step::EnsureSchedule`], [`Step::RunCommand`],
//!    [`Step::SettleCommand`]), then [`Step::WriteRecord`] with the verification outcome. Records
//!    written by others (evidence) are verified the same way, without deploying. Otherwise,
//!    when the desired artifact is not the inventory's, the lane's spec changed and the target
//!    lacks it, the target drifted out of band and `driftPolicy` is `Correct`, or the last
//!    attempt for the desired state failed, a new record is written first
//!    ([`Step::CreateRecord`]), unless failed attempts for the same desired state hold it back
//!    (exponential backoff, then Stalled). Otherwise records beyond `historyLimit` are pruned
//!    (never the current retry streak's);
//! 5. `status`: the conditions (the aspects, and Reconciling / Stalled from the next step and
//!    the blockers), the inventory, the release tuple, the identity expected and observed,
//!    every mismatch, `deployRetry` and the last record.
//!
//! The inventory is the most recently verified record: it moves only when a deploy and its
//! required verification passed.

use super::Outcome;
use super::deployment_record::DeploySettings;
use crate::health::HealthResult;
use crate::probe::ProbeResult;
use crate::promotion::Feed;
use crate::target::{DesiredEnv, TargetFacts, TargetRef};
use crate::verification::{self, BaseUrl};
pub use aspects::identity_child;
pub use claim::{lane_owner, rival_lanes};
pub use drift::{drift, record_env, spec_changed};
pub use endpoint::{endpoint, health_urls};
pub use history::rollback_candidates;
pub use intent::new_record;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta};
use launchplane_api::identity::RuntimeIdentityPayload;
use launchplane_api::resources::{
    Artifact, DeploymentRecord, DeploymentRecordStatus, Lane, LaneStatus, Product, ProviderTarget,
    RuntimeIdentity, VerificationCheck,
};
pub use pin::ImagePin;
pub use resolve::{driver_name, target_ref};

/// Prefix of env keys reserved for the runtime identity.
pub const RESERVED_ENV_PREFIX: &str = "LAUNCHPLANE_";

/// The one next thing to do for a lane.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Write this record (intent, phase Pending) before anything touches the provider.
    CreateRecord(Box<DeploymentRecord>),
    /// Mark the unmarked target as the lane's: write `description` (its description as read,
    /// with the lane's ownership marker line appended) before any other mutation.
    MarkTarget {
        record: String,
        target: TargetRef,
        description: String,
    },
    /// Point the target at the record's image, by digest.
    SetImage {
        record: String,
        target: TargetRef,
        image: String,
    },
    /// Merge the identity keys of `identity` and the lane's resolved env into the target's
    /// env, keeping every other key; on a compose also the image, through `pin`'s env key.
    /// `keys` names what is written (values are not carried).
    MergeEnv {
        record: String,
        target: TargetRef,
        identity: Box<RuntimeIdentityPayload>,
        keys: Vec<String>,
        pin: ImagePin,
    },
    /// Write `status` (phase Deploying) on the record, then queue the deploy titled `title`.
    Deploy {
        record: String,
        target: TargetRef,
        title: String,
        description: String,
        status: Box<DeploymentRecordStatus>,
    },
    /// Look up the deployment titled `title` and fold it into the record; when none appeared
    /// and Dokploy is idle for the target, send the deploy again once (same title and
    /// `description`; see [`crate::deployment_record::follow`]).
    FollowDeployment {
        record: String,
        target: TargetRef,
        title: String,
        description: String,
    },
    /// Write a record's status (a verification outcome); `wait` when it is still verifying.
    WriteRecord {
        record: String,
        status: Box<DeploymentRecordStatus>,
        wait: bool,
    },
    /// Delete these records (beyond `historyLimit`; never the inventory's or one in flight).
    PruneRecords { names: Vec<String> },
    /// Write the intent to create the lane's post-deploy schedule on the record (unless
    /// `intent` says it is there since then), then take the schedule by
    /// [`crate::schedule::choose`] (one of `known`, the ids the lane's records name; else the one
    /// created since the intent; else a new one; update it when its command changed) and write
    /// its id on the record.
    EnsureSchedule {
        record: String,
        want: Box<crate::schedule::ScheduleWant>,
        known: Vec<String>,
        intent: Option<Timestamp>,
    },
    /// Write `status` (the run's intent) on the record, then run the schedule and write how it
    /// ended; a lost answer leaves it Unknown, settled by [`Step::SettleCommand`].
    RunCommand {
        record: String,
        schedule: String,
        status: Box<DeploymentRecordStatus>,
    },
    /// Read the schedule's runs and settle the record's Unknown post-deploy run.
    SettleCommand { record: String, schedule: String },
}

impl Step {
    /// A short name for logs and tests.
    pub fn name(&self) -> &'static str {
        match self {
            Step::CreateRecord(_) => "CreateRecord",
            Step::MarkTarget { .. } => "MarkTarget",
            Step::SetImage { .. } => "SetImage",
            Step::MergeEnv { .. } => "MergeEnv",
            Step::Deploy { .. } => "Deploy",
            Step::FollowDeployment { .. } => "FollowDeployment",
            Step::WriteRecord { .. } => "WriteRecord",
            Step::PruneRecords { .. } => "PruneRecords",
            Step::EnsureSchedule { .. } => "EnsureSchedule",
            Step::RunCommand { .. } => "RunCommand",
            Step::SettleCommand { .. } => "SettleCommand",
        }
    }
}

/// Everything [`plan`] looks at.
pub struct LaneInputs<'a> {
    pub lane: &'a Lane,
    /// The lane's uid (cluster) or name (standalone): the seed of its record ids.
    pub lane_key: &'a str,
    pub product: Option<&'a Product>,
    pub target: Option<&'a ProviderTarget>,
    /// What the lane should run and who set it: its `spec.artifactRef`, or its Promotions
    /// ([`crate::promotion::feed`]).
    pub feed: &'a Feed,
    /// The Artifact the feed names, if it exists.
    pub artifact: Option<&'a Artifact>,
    /// The lane's DeploymentRecords, with status.
    pub records: &'a [DeploymentRecord],
    /// The resolved env, or why it could not be resolved (naming the missing reference).
    pub desired_env: Result<&'a DesiredEnv, String>,
    /// The target as read now: `None` when it was not read (no bound target), `Err` with a
    /// secret-free message when the read failed.
    pub facts: Option<Result<&'a TargetFacts, String>>,
    /// A fresh probe of the lane's endpoint (identity surfaces), if one was made.
    pub probe: Option<&'a ProbeResult>,
    /// The lane's RuntimeIdentity child as stored (its status carries transition times).
    pub identity: Option<&'a RuntimeIdentity>,
    /// The lane's health checks, run now.
    pub health: &'a [HealthResult],
    /// The lane's base URL and where it came from ([`crate::verification::base_url::resolve`]).
    pub base: &'a BaseUrl,
    /// The driver's checks besides the identity, run now ([`crate::verification::requests`];
    /// empty for `generic-web`).
    pub checks: &'a [VerificationCheck],
    pub settings: &'a DeploySettings,
    /// This controller instance, as ownership markers name it.
    pub instance: &'a str,
    /// The other Lanes of the namespace naming the same ProviderTarget ([`rival_lanes`]).
    pub rivals: &'a [String],
    /// The namespace's DataBootstraps (the lane's `bootstrap` summary; no deploy starts while
    /// one of the lane's is under way).
    pub bootstraps: &'a [&'a launchplane_api::resources::DataBootstrap],
}

/// What [`plan`] decided.
#[derive(Clone, Debug, PartialEq)]
pub struct LanePlan {
    pub outcome: Outcome<LaneStatus>,
    /// The aspects the status was computed from, each marked required or advisory (what
    /// incidents watch).
    pub aspects: Vec<launchplane_api::conditions::Aspect>,
    /// The lane's RuntimeIdentity child (spec and status), when there is something to expect.
    pub identity: Option<RuntimeIdentity>,
    pub step: Option<Step>,
}

/// The target as read now, as the stages take it: `None` when it was not read, `Err` with why
/// the read failed.
type Facts<'a> = Option<Result<&'a TargetFacts, &'a str>>;

/// What was observed of the lane's world now, as the stages take it.
#[derive(Clone, Copy)]
struct Observed<'a> {
    facts: Facts<'a>,
    /// A fresh probe of the lane's endpoint, if one was made.
    probe: Option<&'a ProbeResult>,
    /// The lane's RuntimeIdentity child as stored.
    identity: Option<&'a RuntimeIdentity>,
    /// The lane's health checks, run now.
    health: &'a [HealthResult],
    /// The driver's checks besides the identity, run now.
    checks: &'a [VerificationCheck],
}

/// The conditions the lane's status holds now (its previous ones, for this plan).
fn old_conditions(lane: &Lane) -> &[Condition] {
    lane.status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default()
}

/// An object's name (empty when it has none).
fn name_of(meta: &ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

/// Plan the lane's next step and compute its status: the five stages, in order.
pub fn plan(input: &LaneInputs<'_>, now: Timestamp) -> LanePlan {
    let lane = input.lane;
    let observed = Observed {
        facts: input
            .facts
            .as_ref()
            .map(|f| f.as_ref().map(|x| *x).map_err(String::as_str)),
        probe: input.probe,
        identity: input.identity,
        health: input.health,
        checks: input.checks,
    };
    let resolved = resolve::resolve(input, observed.facts);
    let history = history::read(
        input.records,
        lane,
        resolved.desired.as_deref(),
        input.feed,
        &input.settings.retry,
    );
    let aspects = aspects::judge(&aspects::Inputs {
        lane,
        resolved: &resolved,
        history: &history,
        observed,
        policy: &input.settings.retry,
        now,
    });
    let next = next_step::decide(&next_step::Inputs {
        lane,
        lane_key: input.lane_key,
        resolved: &resolved,
        feed: input.feed,
        history: &history,
        aspects: &aspects,
        observed,
        settings: input.settings,
        now,
    });
    let outcome = status::compute(status::Inputs {
        lane,
        feed: input.feed,
        records: input.records,
        resolved: &resolved,
        history: &history,
        aspects: &aspects,
        pace: next.pace,
        policy: &input.settings.retry,
        bootstraps: input.bootstraps,
        now,
    });
    let mut outcome = outcome;
    if verification::has_checks(resolved.product) {
        let mut checks = input.checks.to_vec();
        checks.extend(verification::identity_from_child(aspects.child.as_ref()));
        let old = lane.status.as_ref().and_then(|s| s.verification.as_ref());
        outcome.status.verification = Some(verification::lane_status(input.base, checks, old));
    }
    LanePlan {
        outcome,
        aspects: aspects.list.into(),
        identity: aspects.child,
        step: next.step,
    }
}

mod aspects;
mod blocker;
mod claim;
mod drift;
mod endpoint;
mod history;
mod intent;
mod next_step;
mod pin;
pub mod post_deploy;
mod resolve;
pub mod retry;
mod status;

#[cfg(test)]
mod tests;

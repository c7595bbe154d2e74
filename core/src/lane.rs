//! Lane: plan the next step of a lane from its spec, the objects it references, its deployment
//! records and what was observed, and compute its status.
//!
//! [`plan`] is pure. Each call returns the status to write and **at most one** next [`Step`],
//! derived from the persisted phase of the lane's records, so a controller stopped between
//! any two steps resumes at the right one:
//!
//! 1. resolve the Product (driver `generic-web` only), the ProviderTarget (Matched and
//!    `Manage`, else the lane does not mutate and says why; for a `Manage` target also: not
//!    marked by another owner, docker-sourced unless `spec.allowSourceConversion`, named by
//!    no other Lane of the namespace, see [`claim`]) and the Artifact (missing, not pinned to
//!    a digest and an exact commit, or not an image of the Product's `imageRepository`: fail
//!    closed before any provider call);
//! 2. a controller record in flight is continued: Pending → [`Step::MarkTarget`] (an
//!    unmarked target first gets this lane's ownership marker) / [`Step::SetImage`] /
//!    [`Step::MergeEnv`] / [`Step::Deploy`] (whichever the observed target still lacks);
//!    Deploying → [`Step::FollowDeployment`] (found by its title, the record id; a deploy that
//!    never appeared is sent again at most once, when Dokploy shows nothing under way for the
//!    target); Verifying → [`Step::WriteRecord`] with the verification outcome;
//! 3. records written by others (evidence) are verified the same way, without deploying;
//! 4. otherwise, when the desired artifact is not the inventory's, the lane's spec changed
//!    (see [`spec_changed`]) and the target lacks it, the target drifted out of band and
//!    `driftPolicy` is `Correct`, or the last attempt for the desired state failed, a new
//!    record is written first ([`Step::CreateRecord`]), unless failed attempts for the same
//!    desired state hold it back ([`retry`]: exponential backoff, then Stalled);
//! 5. otherwise records beyond `historyLimit` are pruned (never the current retry streak's).
//!
//! The inventory is the most recently verified record: it moves only when a deploy and its
//! required verification passed.

use super::Outcome;
use super::deployment_record::{self as record, DeploySettings};
use crate::health::HealthResult;
use crate::probe::ProbeResult;
use crate::provider_target::tracked_target;
use crate::target::{DesiredEnv, TargetFacts, TargetRef};
pub use aspects::identity_child;
pub use claim::{lane_owner, rival_lanes};
pub use drift::{drift, record_env, spec_changed};
pub use endpoint::{base_url, endpoint, health_urls};
pub use intent::new_record;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta};
use launchplane_api::conditions::{self, Progress, Transition};
use launchplane_api::identity::{RuntimeIdentityPayload, release_tuple_id};
use launchplane_api::resources::{
    Artifact, DeploymentRecord, DeploymentRecordStatus, Lane, LaneStatus, Product, ProviderTarget,
    RuntimeIdentity,
};
use launchplane_api::verdict::FieldMismatch;
pub use resolve::driver_name;

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
    /// env, keeping every other key. `keys` names what is written (values are not carried).
    MergeEnv {
        record: String,
        target: TargetRef,
        identity: Box<RuntimeIdentityPayload>,
        keys: Vec<String>,
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
    /// `description`; see [`record::follow`]).
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
    /// The Artifact `spec.artifactRef` names, if it exists.
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
    pub settings: &'a DeploySettings,
    /// This controller instance, as ownership markers name it.
    pub instance: &'a str,
    /// The other Lanes of the namespace naming the same ProviderTarget ([`rival_lanes`]).
    pub rivals: &'a [String],
}

/// What [`plan`] decided.
#[derive(Clone, Debug, PartialEq)]
pub struct LanePlan {
    pub outcome: Outcome<LaneStatus>,
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
}

/// The conditions the lane's status holds now (its previous ones, for this plan).
fn old_conditions(lane: &Lane) -> &[Condition] {
    lane.status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default()
}

fn name_of(meta: &ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

/// The Dokploy target a ProviderTarget claims, as steps act on it: its category and the id
/// of its spec, else the one an earlier adoption recorded (`None`: not bound yet).
pub fn target_ref(target: &ProviderTarget) -> Option<TargetRef> {
    tracked_target(target).map(|(category, id)| TargetRef { category, id })
}

/// Plan the lane's next step and compute its status.
pub fn plan(input: &LaneInputs<'_>, now: Timestamp) -> LanePlan {
    let lane = input.lane;
    let spec = &lane.spec;
    let old = lane.status.clone().unwrap_or_default();
    let settings = input.settings;
    let facts: Facts<'_> = input
        .facts
        .as_ref()
        .map(|f| f.as_ref().map(|x| *x).map_err(String::as_str));

    let resolved = resolve::resolve(input, facts);
    let product_name = resolved.product_name.clone();
    let mut mismatches: Vec<FieldMismatch> = resolved.target_check.mismatches.clone();
    let desired_name = resolved.desired.clone();

    let records = input.records;
    let history = history::read(records, lane, desired_name.as_deref(), &settings.retry);
    let active = history.active;
    let inventory_record = history.inventory_record;

    let observed = Observed {
        facts,
        probe: input.probe,
        identity: input.identity,
        health: input.health,
    };
    let aspects = aspects::judge(&aspects::Inputs {
        lane,
        resolved: &resolved,
        history: &history,
        observed,
        retry: &settings.retry,
        now,
    });
    let drift_found = aspects.drift.clone();
    if let Some(d) = &drift_found {
        mismatches.extend(d.iter().cloned());
    }
    mismatches.extend(aspects.identity_mismatches.iter().cloned());
    let child = aspects.child.clone();

    let inventory = history.inventory.clone();
    let release_tuple = inventory_record
        .and_then(|r| {
            r.spec.expected_identity.release_tuple_id.clone().or_else(|| {
                Some(release_tuple_id(
                    product_name.as_deref()?,
                    &spec.stage,
                    &r.spec.artifact_ref.name,
                ))
            })
        })
        .or(old.release_tuple.clone());

    let streak = history.streak.as_slice();
    let gate = history.gate;
    let next = next_step::decide(&next_step::Inputs {
        lane,
        lane_key: input.lane_key,
        resolved: &resolved,
        history: &history,
        aspects: &aspects,
        observed,
        settings,
        now,
    });
    let step = next.step;
    let (reconciling, retry_stalled) = match next.pace {
        next_step::Pace::Idle => (None, None),
        next_step::Pace::Reconciling { reason, message } => (Some((reason, message)), None),
        next_step::Pace::RetriesExhausted(message) => (None, Some(message)),
    };

    let progress = if let Some((reason, message)) = reconciling {
        Progress::Reconciling { reason, message }
    } else if let Some(b) = resolved.blockers.stall() {
        Progress::Stalled {
            reason: b.reason.to_string(),
            message: b.message.clone(),
        }
    } else if let Some(message) = retry_stalled {
        Progress::Stalled {
            reason: retry::RETRIES_EXHAUSTED.to_string(),
            message,
        }
    } else {
        Progress::Settled
    };
    let computed = conditions::compute(
        &old.conditions,
        &aspects.list,
        &progress,
        lane.metadata.generation,
        now,
    );
    let last_deployment_record = records
        .iter()
        .max_by_key(|r| {
            (
                !record::is_terminal(record::phase(r)),
                record::finished_at(r),
                record::attempt(r).unwrap_or(0),
            )
        })
        .map(|r| name_of(&r.metadata))
        .or(old.last_deployment_record.clone());
    let status = LaneStatus {
        observed_generation: lane.metadata.generation,
        verdict: Some(computed.verdict),
        conditions: computed.conditions,
        inventory,
        release_tuple,
        expected_identity: child.as_ref().map(|c| c.spec.expected.clone()),
        observed_identity: child
            .as_ref()
            .and_then(|c| c.status.as_ref())
            .and_then(|s| s.observed.clone()),
        mismatches,
        last_deployment_record,
        deploy_retry: retry::status(streak, &gate, &settings.retry, active.is_some()),
    };
    let transitions: Vec<Transition> = computed.transitions;
    LanePlan {
        outcome: Outcome { status, transitions },
        identity: child,
        step,
    }
}

mod aspects;
mod claim;
mod drift;
mod endpoint;
mod history;
mod intent;
mod next_step;
mod resolve;
pub mod retry;

#[cfg(test)]
mod tests;

//! Whether a DataBootstrap may start, asked in order:
//!
//! | check | refused as |
//! |---|---|
//! | `spec.confirmDestructive` is true | Blocked `ConfirmationMissing` |
//! | `spec.source.dataset` carries no credentials | Blocked `SecretInSource` |
//! | a command: `spec.command`, else the Product's | Blocked `NoCommand` |
//! | the Lane exists | Blocked `LaneNotFound` |
//! | the Lane has a status (what it ran and was bootstrapped with is known) | Pending `LaneNotObserved` |
//! | no other DataBootstrap of the lane has started and not finished | Blocked `BootstrapInProgress` |
//! | none created before it waits or runs (earliest first, then by name) | Pending `Queued` |
//! | no deploy of the lane is in flight | Pending `LaneDeploying` |
//! | the lane's compose may be run on (the shell read it: [`super::target`]) | Blocked `TargetRefused` |
//! | a usable BackupGate, unless the lane was never bootstrapped | Blocked `BackupGateRequired` |
//!
//! **Never bootstrapped** is known from the lane's status: `status.bootstrap` is absent or
//! says `None`, and no other DataBootstrap of the lane has touched it (started, and not
//! provably before any mutation), so that a summary lagging behind its DataBootstraps does
//! not pass for a fresh lane. Once a bootstrap touched the lane, its status keeps saying so
//! after the DataBootstrap is deleted ([`super::inventory::lane_summary`]).
//!
//! The BackupGate is judged by the rule Promotions use ([`crate::backup_gate::refusal`]):
//! Passed and sane, taken after the lane's last deploy or bootstrap, within the lane's
//! `promotion.backupMaxAge` (24h by default), and used by no Promotion or other DataBootstrap:
//! each authorizes one operation only.

use super::{BootstrapInputs, name_of, of_lane, phase, started_at, touched_lane};
use crate::backup_gate::{self, Usability};
use crate::deployment_record as record;
use crate::promotion::gates::last_deploy;
use crate::redact::without_credentials;
use jiff::Timestamp;
use launchplane_api::resources::{BackupGate, DataBootstrap, Lane, LaneBootstrapState};

pub const CONFIRMATION_MISSING: &str = "ConfirmationMissing";
pub const SECRET_IN_SOURCE: &str = "SecretInSource";
pub const NO_COMMAND: &str = "NoCommand";
pub const LANE_NOT_FOUND: &str = "LaneNotFound";
pub const LANE_NOT_OBSERVED: &str = "LaneNotObserved";
pub const BOOTSTRAP_IN_PROGRESS: &str = "BootstrapInProgress";
pub const QUEUED: &str = "Queued";
pub const LANE_DEPLOYING: &str = "LaneDeploying";
pub const BACKUP_GATE_REQUIRED: &str = "BackupGateRequired";
pub const TARGET_REFUSED: &str = "TargetRefused";

/// What admission decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// It may start, taking `backup_gate` (none when the lane was never bootstrapped and none
    /// was named).
    Admit {
        backup_gate: Option<String>,
        first: bool,
        message: String,
    },
    /// Not yet: what it waits for goes on its own (another bootstrap, a deploy, the lane's
    /// first status).
    Wait { reason: &'static str, message: String },
    /// Refused until a person changes something.
    Block { reason: &'static str, message: String },
}

fn block(reason: &'static str, message: String) -> Admission {
    Admission::Block { reason, message }
}

fn wait(reason: &'static str, message: String) -> Admission {
    Admission::Wait { reason, message }
}

/// The lane was never bootstrapped: its status says so, and no other DataBootstrap of it
/// (than `me`) has touched it.
pub fn never_bootstrapped(lane: &Lane, bootstraps: &[&DataBootstrap], me: &str) -> bool {
    let name = lane.metadata.name.as_deref().unwrap_or_default();
    let summary_says_never = lane
        .status
        .as_ref()
        .and_then(|s| s.bootstrap.as_ref())
        .is_none_or(|b| b.state == LaneBootstrapState::None && b.last.is_none());
    summary_says_never
        && !bootstraps
            .iter()
            .filter(|b| of_lane(b, lane.metadata.namespace.as_deref(), name) && name_of(b) != me)
            .any(|b| touched_lane(b))
}

/// The command the bootstrap runs: its own, else the Product's.
pub fn command<'a>(input: &BootstrapInputs<'a>) -> Option<&'a str> {
    input
        .bootstrap
        .spec
        .command
        .as_deref()
        .or(input.product_command)
        .filter(|c| !c.trim().is_empty())
}

/// Whether the DataBootstrap may start now.
pub fn admit(input: &BootstrapInputs<'_>) -> Admission {
    let b = input.bootstrap;
    let me = name_of(b);
    let lane_name = &b.spec.lane_ref.name;
    if !b.spec.confirm_destructive {
        return block(
            CONFIRMATION_MISSING,
            "spec.confirmDestructive is not true: a data bootstrap replaces the lane's data; create a new \
             DataBootstrap with confirmDestructive: true to confirm that it may"
                .into(),
        );
    }
    if without_credentials(&b.spec.source.dataset) != b.spec.source.dataset {
        return block(
            SECRET_IN_SOURCE,
            format!(
                "spec.source.dataset {} carries credentials: a secret never belongs in a DataBootstrap; name the \
                 dataset without them and give the command its credentials through the lane's env (a Secret)",
                without_credentials(&b.spec.source.dataset)
            ),
        );
    }
    if command(input).is_none() {
        return block(
            NO_COMMAND,
            "no bootstrap command: set spec.command, or the Product's bootstrap command".into(),
        );
    }
    let Some(lane) = input.lane else {
        return block(
            LANE_NOT_FOUND,
            format!("spec.laneRef: Lane {lane_name} not found in this namespace"),
        );
    };
    if lane.status.is_none() {
        return wait(
            LANE_NOT_OBSERVED,
            format!("Lane {lane_name} has no status yet: waiting for its first reconcile"),
        );
    }
    let namespace = b.metadata.namespace.as_deref();
    let others: Vec<&DataBootstrap> = input
        .bootstraps
        .iter()
        .copied()
        .filter(|o| of_lane(o, namespace, lane_name) && name_of(o) != me && !phase(o).is_final())
        .collect();
    if let Some(running) = others.iter().find(|o| started_at(o).is_some()) {
        return block(
            BOOTSTRAP_IN_PROGRESS,
            format!(
                "Lane {lane_name} has DataBootstrap {} in progress (phase {}): one bootstrap of a lane runs at a \
                 time; wait for it to finish, or delete this one",
                name_of(running),
                phase(running).as_str()
            ),
        );
    }
    let key = |o: &DataBootstrap| (o.metadata.creation_timestamp.as_ref().map(|t| t.0), name_of(o));
    if let Some(ahead) = others.iter().filter(|o| key(o) < key(b)).min_by_key(|o| key(o)) {
        return wait(
            QUEUED,
            format!(
                "behind DataBootstrap {} of Lane {lane_name}, created before it: one bootstrap of a lane runs at a time",
                name_of(ahead)
            ),
        );
    }
    if let Some(r) = input
        .records
        .iter()
        .find(|r| !record::is_terminal(record::phase(r)))
    {
        return wait(
            LANE_DEPLOYING,
            format!(
                "Lane {lane_name} is deploying (DeploymentRecord {}): a bootstrap waits for the deploy to finish",
                r.metadata.name.as_deref().unwrap_or_default()
            ),
        );
    }
    if let Some(why) = input.target_refusal {
        return block(
            TARGET_REFUSED,
            format!("nothing runs on Lane {lane_name}'s compose: {why}"),
        );
    }
    let first = never_bootstrapped(lane, input.bootstraps, &me);
    match backup_gate(input, lane, first) {
        Err(message) => block(BACKUP_GATE_REQUIRED, message),
        Ok(gate) => {
            let message = match (&gate, first) {
                (Some(g), _) => format!("admitted with BackupGate {g} of Lane {lane_name}"),
                (None, _) => format!(
                    "admitted without a BackupGate: Lane {lane_name} has never been bootstrapped (its status.bootstrap \
                     says None)"
                ),
            };
            Admission::Admit {
                backup_gate: gate,
                first,
                message,
            }
        }
    }
}

/// When the lane's data last changed in a way a backup must postdate: its last deploy, or a
/// bootstrap that touched it.
fn last_change(input: &BootstrapInputs<'_>, lane: &Lane) -> Option<Timestamp> {
    let me = name_of(input.bootstrap);
    let name = lane.metadata.name.as_deref().unwrap_or_default();
    let summary = lane
        .status
        .as_ref()
        .and_then(|s| s.bootstrap.as_ref())
        .and_then(|b| b.since.as_ref())
        .map(|t| t.0);
    let others = input
        .bootstraps
        .iter()
        .filter(|b| of_lane(b, lane.metadata.namespace.as_deref(), name) && name_of(b) != me)
        .filter(|b| touched_lane(b))
        .filter_map(|b| started_at(b));
    [last_deploy(input.records), summary]
        .into_iter()
        .flatten()
        .chain(others)
        .max()
}

/// The BackupGate the bootstrap takes (None: none needed); Err: why none may be taken.
fn backup_gate(input: &BootstrapInputs<'_>, lane: &Lane, first: bool) -> Result<Option<String>, String> {
    let b = input.bootstrap;
    let me = name_of(b);
    let lane_name = &b.spec.lane_ref.name;
    let namespace = b.metadata.namespace.as_deref();
    let (max_age, max_age_text) = backup_gate::max_age(
        lane.spec
            .promotion
            .as_ref()
            .and_then(|p| p.backup_max_age.as_deref()),
    )?;
    let last = last_change(input, lane);
    let used_by = |g: &BackupGate| -> Option<String> {
        let gate = g.metadata.name.as_deref().unwrap_or_default();
        let by_bootstrap = input
            .bootstraps
            .iter()
            .filter(|o| o.metadata.namespace.as_deref() == namespace && name_of(o) != me)
            .find(|o| o.status.as_ref().and_then(|s| s.backup_gate.as_deref()) == Some(gate))
            .map(|o| format!("DataBootstrap {}", name_of(o)));
        let by_promotion = || {
            input
                .promotions
                .iter()
                .filter(|p| p.metadata.namespace.as_deref() == namespace)
                .find(|p| p.status.as_ref().and_then(|s| s.backup_gate.as_deref()) == Some(gate))
                .and_then(|p| p.metadata.name.clone())
                .or_else(|| g.status.as_ref().and_then(|s| s.used_by.clone()))
                .map(|p| format!("Promotion {p}"))
        };
        by_bootstrap.or_else(by_promotion)
    };
    let usability = Usability {
        lane: lane_name,
        namespace,
        last_change: last,
        last_change_what: "the lane's last deploy or data bootstrap",
        max_age,
        max_age_text: &max_age_text,
        used_by: &used_by,
        one: "Promotion or DataBootstrap",
        now: input.now,
    };
    if let Some(wanted) = &b.spec.backup_gate_ref {
        let gate = input.gates.iter().find(|g| {
            g.metadata.namespace.as_deref() == namespace && g.metadata.name.as_deref() == Some(&wanted.name)
        });
        let Some(gate) = gate else {
            return Err(format!(
                "spec.backupGateRef: BackupGate {} not found in this namespace",
                wanted.name
            ));
        };
        if gate.spec.lane_ref.name != *lane_name {
            return Err(format!(
                "spec.backupGateRef: BackupGate {} protects Lane {}, not Lane {lane_name}",
                wanted.name, gate.spec.lane_ref.name
            ));
        }
        return match backup_gate::refusal(gate, &usability) {
            Some(why) => Err(format!(
                "spec.backupGateRef: BackupGate {} {why}: back Lane {lane_name} up again and create a DataBootstrap \
                 naming the new BackupGate",
                wanted.name
            )),
            None => Ok(Some(wanted.name.clone())),
        };
    }
    if first {
        return Ok(None);
    }
    let after = last.map_or_else(String::new, |t| format!(" (at {t})"));
    let wanted = format!(
        "Lane {lane_name} has been bootstrapped before, so a bootstrap needs a Passed BackupGate of it taken after \
         its last deploy or data bootstrap{after} and at most {max_age_text} old"
    );
    match backup_gate::newest_usable(input.gates, &usability) {
        Ok(g) => Ok(g.metadata.name.clone()),
        Err(refused) if refused.is_empty() => Err(format!("{wanted}; there is none")),
        Err(refused) => Err(format!("{wanted}; none is usable: {}", refused.join("; "))),
    }
}

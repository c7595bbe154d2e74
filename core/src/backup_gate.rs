//! BackupGate: evidence from the workflow that took a backup of a lane, or a backup the
//! controller captured itself (`spec.capture`, [`crate::backup_capture`]); spec immutable. Its
//! status says whether it may authorize a Promotion, and which one used it.
//!
//! `status.result` is Passed only when the workflow concluded Passed (`spec.result`), or the
//! capture succeeded with its evidence and left the compose running, and the evidence is
//! sane: taken no later than now, for a Lane that exists. A capture under way has no result. `status.usedBy` is the
//! Promotion whose `status.backupGate` names it: this reconcile is the one writer of the
//! BackupGate's status, and the Promotion's status is where the use is decided
//! ([`crate::promotion::gates::backup_gate`]), so a BackupGate is never used twice.

use super::Outcome;
use super::backup_capture;
use super::ready::{self, Ready};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::conditions::Progress;
use launchplane_api::resources::{BackupGate, BackupGateStatus, BackupResult, Promotion};
use launchplane_api::verdict::Verdict;

/// When the gate's backup was taken: the workflow's `spec.takenAt`, or when the capture's
/// command ended.
pub fn taken_at(gate: &BackupGate) -> Option<Timestamp> {
    match &gate.spec.capture {
        Some(_) => gate
            .status
            .as_ref()
            .and_then(|s| s.capture.as_ref())
            .and_then(|c| c.taken_at.as_ref())
            .map(|t| t.0),
        None => gate.spec.taken_at.as_ref().map(|t| t.0),
    }
}

/// The gate's backup, as messages name it: the workflow's `spec.backupId`, or where the
/// capture's command said it wrote it.
pub fn backup_name(gate: &BackupGate) -> String {
    match &gate.spec.capture {
        Some(_) => gate
            .status
            .as_ref()
            .and_then(|s| s.capture.as_ref())
            .and_then(|c| c.location.clone())
            .map_or_else(|| "(being captured)".to_string(), |l| format!("captured at {l}")),
        None => gate.spec.backup_id.clone().unwrap_or_default(),
    }
}

/// Why `gate` may not authorize a Promotion (`lane_exists`: its `spec.laneRef` resolves).
pub fn check(gate: &BackupGate, lane_exists: bool, now: Timestamp) -> Result<(), String> {
    if gate.spec.capture.is_some() {
        let capture = gate.status.as_ref().and_then(|s| s.capture.as_ref());
        match backup_capture::outcome(capture) {
            backup_capture::Outcome::Passed => {}
            backup_capture::Outcome::Failed(why) => return Err(format!("failed: the capture failed: {why}")),
            backup_capture::Outcome::InProgress(why) => return Err(format!("is not captured yet: {why}")),
        }
    } else if gate.spec.result != Some(BackupResult::Passed) {
        return Err("failed: the backup workflow concluded Failed (spec.result)".into());
    }
    let Some(taken) = taken_at(gate) else {
        return Err("is not sane evidence: it says nothing of when it was taken".into());
    };
    if taken > now {
        let field = if gate.spec.capture.is_some() {
            "status.capture.takenAt"
        } else {
            "spec.takenAt"
        };
        return Err(format!("is not sane evidence: {field} {taken} is in the future"));
    }
    if !lane_exists {
        return Err(format!(
            "is not sane evidence: spec.laneRef: Lane {} not found in this namespace",
            gate.spec.lane_ref.name
        ));
    }
    Ok(())
}

/// The BackupGate's status from its evidence, whether its lane exists, and the namespace's
/// Promotions (which one used it).
pub fn reconcile(
    gate: &BackupGate,
    lane_exists: bool,
    promotions: &[&Promotion],
    now: Timestamp,
) -> Outcome<BackupGateStatus> {
    let old = gate.status.clone().unwrap_or_default();
    let name = gate.metadata.name.clone().unwrap_or_default();
    let mut users: Vec<String> = promotions
        .iter()
        .filter(|p| p.metadata.namespace == gate.metadata.namespace)
        .filter(|p| p.status.as_ref().and_then(|s| s.backup_gate.as_deref()) == Some(name.as_str()))
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    users.sort();
    let used_by = users.into_iter().next();
    let checked = check(gate, lane_exists, now);
    let (result, verdict, message) = match &checked {
        Ok(()) => {
            let use_note = used_by.as_ref().map_or_else(
                || "; it may authorize one Promotion".to_string(),
                |p| format!("; it authorized Promotion {p} and authorizes no other"),
            );
            (
                BackupResult::Passed,
                Verdict::Matched,
                format!(
                    "backup {} of Lane {} taken at {} passed{use_note}",
                    backup_name(gate),
                    gate.spec.lane_ref.name,
                    taken_at(gate).map(|t| t.to_string()).unwrap_or_default()
                ),
            )
        }
        Err(why) => (
            BackupResult::Failed,
            if lane_exists {
                Verdict::Mismatch
            } else {
                Verdict::Missing
            },
            format!("backup {} {why}", backup_name(gate)),
        ),
    };
    let capture = gate.status.as_ref().and_then(|s| s.capture.clone());
    let capturing = gate.spec.capture.is_some()
        && matches!(
            backup_capture::outcome(capture.as_ref()),
            backup_capture::Outcome::InProgress(_)
        );
    let verdict = if capturing { Verdict::Unchecked } else { verdict };
    let progress = match &checked {
        Ok(()) => Progress::Settled,
        Err(why) if capturing => Progress::Reconciling {
            reason: "Capturing".into(),
            message: format!(
                "backup {why}",
                why = why.trim_start_matches("is not captured yet: ")
            ),
        },
        Err(why) => Progress::Stalled {
            reason: "BackupNotUsable".into(),
            message: format!("backup {} {why}", backup_name(gate)),
        },
    };
    let (conditions, transitions) = ready::conditions(
        &old.conditions,
        Ready {
            ready: checked.is_ok(),
            unknown: capturing,
            reason: if capturing {
                "Capturing".to_string()
            } else {
                format!("{result:?}")
            },
            message: message.clone(),
        },
        &progress,
        gate.metadata.generation,
        now,
    );
    // A capture under way has no result yet: never Passed, not Failed either.
    let result = (!capturing).then_some(result);
    let unchanged = old.result == result && old.message.as_deref() == Some(message.as_str());
    Outcome {
        status: BackupGateStatus {
            observed_generation: gate.metadata.generation,
            verdict: Some(verdict),
            conditions,
            result,
            message: Some(message),
            used_by,
            evaluated_at: if unchanged {
                old.evaluated_at
            } else {
                Some(Time(now))
            },
            capture,
        },
        transitions,
    }
}

/// How old a BackupGate may be when the lane does not say (`promotion.backupMaxAge`).
pub const DEFAULT_MAX_AGE: SignedDuration = SignedDuration::from_hours(24);

/// The lane's `promotion.backupMaxAge` (default 24h), as a duration and as written.
pub fn max_age(text: Option<&str>) -> Result<(SignedDuration, String), String> {
    match text {
        None => Ok((DEFAULT_MAX_AGE, "24h".to_string())),
        Some(text) => crate::preview::parse_ttl(text)
            .map(|d| (d, text.to_string()))
            .ok_or_else(|| format!("spec.promotion.backupMaxAge {text:?} is not a duration such as 24h")),
    }
}

/// What makes a BackupGate usable for one operation on its lane (a Promotion into it, a
/// DataBootstrap of it): the rule both share, so that a gate is judged the same way whoever
/// asks.
pub struct Usability<'a> {
    /// The lane's name and namespace.
    pub lane: &'a str,
    pub namespace: Option<&'a str>,
    /// When the lane last changed in a way a backup must postdate, and what that was (e.g.
    /// "the last deploy").
    pub last_change: Option<Timestamp>,
    pub last_change_what: &'a str,
    /// `promotion.backupMaxAge`, and as written.
    pub max_age: SignedDuration,
    pub max_age_text: &'a str,
    /// The other operation that used the gate, as "Promotion p" or "DataBootstrap b".
    pub used_by: &'a dyn Fn(&BackupGate) -> Option<String>,
    /// What one gate authorizes, e.g. "Promotion".
    pub one: &'a str,
    pub now: Timestamp,
}

/// Why `gate` may not authorize the operation; None when it may.
pub fn refusal(gate: &BackupGate, u: &Usability<'_>) -> Option<String> {
    if let Err(why) = check(gate, true, u.now) {
        return Some(why);
    }
    // `check` refuses a gate not taken yet (a capture under way).
    let taken = taken_at(gate).unwrap_or(Timestamp::UNIX_EPOCH);
    if let Some(other) = (u.used_by)(gate) {
        Some(format!(
            "is used by {other} (a BackupGate authorizes one {} only)",
            u.one
        ))
    } else if u.last_change.is_some_and(|l| taken <= l) {
        Some(format!("was taken at {taken}, before {}", u.last_change_what))
    } else if u.now.duration_since(taken) > u.max_age {
        Some(format!(
            "was taken at {taken}, more than {} before",
            u.max_age_text
        ))
    } else {
        None
    }
}

/// The lane's newest usable BackupGate among `gates` (the ones of other lanes or namespaces
/// are left out); else why each of the lane's was refused, as "BackupGate g <why>".
pub fn newest_usable<'g>(gates: &[&'g BackupGate], u: &Usability<'_>) -> Result<&'g BackupGate, Vec<String>> {
    let mut mine: Vec<&BackupGate> = gates
        .iter()
        .copied()
        .filter(|g| g.metadata.namespace.as_deref() == u.namespace && g.spec.lane_ref.name == u.lane)
        .collect();
    mine.sort_by_key(|g| std::cmp::Reverse((taken_at(g), g.metadata.name.clone())));
    let mut refused = Vec::new();
    for g in mine {
        match refusal(g, u) {
            Some(why) => refused.push(format!(
                "BackupGate {} {why}",
                g.metadata.name.as_deref().unwrap_or_default()
            )),
            None => return Ok(g),
        }
    }
    Err(refused)
}

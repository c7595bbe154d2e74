//! Incidents: when a resource of a product stays wrong, and when it is right again.
//!
//! What an Incident watches is one [`Watched`] thing of one resource ([`Subject`]): a required
//! aspect of a Lane or Preview (`Deployed`, `ConfigSynced`, ...), one required health check of
//! a Lane, or the required verdict of a ProviderTarget or RuntimeIdentity no lane covers
//! ([`watched`]). Each (product, lane or preview, check) has one Incident, named
//! deterministically ([`incident_name`]), so a restart finds the one it wrote.
//!
//! [`track`] is the whole rule, pure: from the Incident's status as stored (if any), what the
//! resource shows now and the time, the status to store and when to look again.
//!
//! ```text
//!            not Matched                       not Matched for openAfter
//!  (none) ───────────────► Pending ─────────────────────────────────────► Open
//!     ▲                      │ Matched before openAfter                   │ ▲
//!     └──────────────────────┘ (occurrence 0: forgotten;                  │ │ not Matched
//!                              else back to Resolved)            Matched  │ │ again
//!                                                       for resolveAfter  ▼ │
//!                        Pending ◄───────────────────────────────────── Resolved
//!                        (opens as occurrence n+1: Reopened)  not Matched
//! ```
//!
//! Time is measured from what the Incident stores (`failingSince`, `matchedSince`), never from
//! the process, so the clocks survive restarts in both shells, and a resource flapping between
//! two bad verdicts keeps its clock. `Unchecked` (nothing compared yet) neither starts nor
//! stops a clock: an incident opens and resolves on evidence only.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use launchplane_api::conditions::{status as condition_status, types};
use launchplane_api::resources::{
    IncidentPolicy, IncidentSeverity, IncidentState, IncidentStatus, IncidentTransition,
    IncidentTransitionType, Product,
};
use launchplane_api::verdict::Verdict;

mod watched;

pub use watched::{
    NAME_MAX_LEN, Subject, Watched, evidence, from_aspects, from_conditions, from_health, incident_name,
    lane_watched, subject_label, watched_by_ready,
};

/// The condition saying whether the incident is resolved (the one `kubectl wait` is for).
pub const RESOLVED: &str = "Resolved";

/// The Product's `spec.incidents`, as durations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub open_after: SignedDuration,
    pub resolve_after: SignedDuration,
    pub history_limit: usize,
}

impl Default for Policy {
    fn default() -> Self {
        policy_of(&IncidentPolicy::default())
    }
}

/// The policy of `product` (the defaults without one: a ProviderTarget or RuntimeIdentity no
/// lane covers has no product). A value the schema would refuse falls back to its default.
pub fn policy(product: Option<&Product>) -> Policy {
    product.map_or_else(Policy::default, |p| policy_of(&p.spec.incidents))
}

fn policy_of(spec: &IncidentPolicy) -> Policy {
    let defaults = IncidentPolicy::default();
    let duration = |text: &str, fallback: &str| {
        crate::preview::parse_ttl(text)
            .or_else(|| crate::preview::parse_ttl(fallback))
            .unwrap_or(SignedDuration::from_secs(600))
    };
    Policy {
        open_after: duration(&spec.open_after, &defaults.open_after),
        resolve_after: duration(&spec.resolve_after, &defaults.resolve_after),
        history_limit: usize::try_from(spec.history_limit.clamp(1, 100)).unwrap_or(20),
    }
}

/// What the resource shows of the watched thing now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen<'a> {
    /// Its verdict and the evidence (the condition's or check's message).
    Now { verdict: Verdict, message: &'a str },
    /// The resource no longer has it (a health check removed from the lane's spec).
    Gone,
}

/// What [`track`] decided.
#[derive(Clone, Debug, PartialEq)]
pub struct Tracked {
    /// The status to store; `None`: there is no incident (none was due, or a first failure
    /// cleared before it opened: forget it).
    pub status: Option<IncidentStatus>,
    /// When the decision changes by time alone (an incident opens or resolves): look again then.
    pub due: Option<Timestamp>,
}

/// The severity of a failing verdict.
pub fn severity(verdict: Verdict) -> IncidentSeverity {
    match verdict {
        Verdict::Mismatch | Verdict::Missing => IncidentSeverity::Critical,
        _ => IncidentSeverity::Warning,
    }
}

/// Move the incident on from what the resource shows now.
pub fn track(
    existing: Option<&IncidentStatus>,
    seen: Seen<'_>,
    policy: &Policy,
    generation: Option<i64>,
    now: Timestamp,
) -> Tracked {
    let state = existing.and_then(|s| s.state);
    let mut status = existing.cloned().unwrap_or_default();
    let failing = match seen {
        Seen::Now {
            verdict: Verdict::Unchecked,
            ..
        } => {
            // No evidence either way: nothing moves, but a clock already running still ends on time.
            return Tracked {
                status: existing.cloned(),
                due: existing.and_then(|s| due_of(s, policy)),
            };
        }
        Seen::Now { verdict, message } if !verdict.is_matched() => Some((verdict, evidence(message))),
        _ => None,
    };
    match (state, failing) {
        // Nothing failed and nothing is on record.
        (None, None) => {
            return Tracked {
                status: None,
                due: None,
            };
        }
        // A failure starts (or restarts, after a resolution) the openAfter clock.
        (None | Some(IncidentState::Resolved), Some((verdict, message))) => {
            status.state = Some(IncidentState::Pending);
            status.failing_since = Some(Time(now));
            status.matched_since = None;
            status.verdict = Some(verdict);
            status.last_seen_time = Some(Time(now));
            status.message = Some(message.clone());
            if status.occurrence == 0 {
                status.first_seen_time = Some(Time(now));
                status.worst_verdict = Some(verdict);
                status.severity = Some(severity(verdict));
            }
            open_when_due(&mut status, verdict, &message, policy, now);
        }
        (Some(IncidentState::Pending), Some((verdict, message))) => {
            status.verdict = Some(verdict);
            status.last_seen_time = Some(Time(now));
            status.message = Some(message.clone());
            if status.occurrence == 0 {
                let worst = status.worst_verdict.unwrap_or(verdict).max(verdict);
                status.worst_verdict = Some(worst);
                status.severity = Some(severity(worst));
            }
            open_when_due(&mut status, verdict, &message, policy, now);
        }
        // Cleared before it opened: a first failure is forgotten, a later one leaves the last
        // occurrence resolved as it was.
        (Some(IncidentState::Pending), None) => {
            if status.occurrence == 0 {
                return Tracked {
                    status: None,
                    due: None,
                };
            }
            status.state = Some(IncidentState::Resolved);
            status.failing_since = None;
            status.verdict = Some(Verdict::Matched);
        }
        (Some(IncidentState::Open), Some((verdict, message))) => {
            status.failing_since.get_or_insert(Time(now));
            status.matched_since = None;
            status.last_seen_time = Some(Time(now));
            if status.verdict != Some(verdict) && status.verdict.is_some_and(|v| !v.is_matched()) {
                push(
                    &mut status,
                    IncidentTransitionType::VerdictChanged,
                    verdict,
                    &message,
                    policy,
                    now,
                );
            }
            status.verdict = Some(verdict);
            let worst = status.worst_verdict.unwrap_or(verdict).max(verdict);
            status.worst_verdict = Some(worst);
            status.severity = Some(severity(worst));
            status.message = Some(message);
        }
        (Some(IncidentState::Open), None) => {
            let gone = matches!(seen, Seen::Gone);
            let since = status.matched_since.as_ref().map_or(now, |t| t.0);
            status.matched_since = Some(Time(since));
            status.failing_since = None;
            status.verdict = Some(Verdict::Matched);
            if gone || now.duration_since(since) >= policy.resolve_after {
                let why = if gone {
                    "no longer watched: the check was removed, or a Lane now covers the resource".to_string()
                } else {
                    format!(
                        "Matched since {since} (for {}s)",
                        now.duration_since(since).as_secs()
                    )
                };
                status.state = Some(IncidentState::Resolved);
                status.matched_since = None;
                status.resolved_time = Some(Time(now));
                push(
                    &mut status,
                    IncidentTransitionType::Resolved,
                    Verdict::Matched,
                    &why,
                    policy,
                    now,
                );
            }
        }
        (Some(IncidentState::Resolved), None) => {
            status.verdict = Some(Verdict::Matched);
        }
    }
    status.observed_generation = generation;
    status.conditions = conditions(
        existing.map(|s| s.conditions.as_slice()).unwrap_or_default(),
        &status,
        policy,
        generation,
        now,
    );
    let due = due_of(&status, policy);
    Tracked {
        status: Some(status),
        due,
    }
}

/// Open (or reopen) a Pending incident whose failure has lasted `openAfter`.
fn open_when_due(
    status: &mut IncidentStatus,
    verdict: Verdict,
    message: &str,
    policy: &Policy,
    now: Timestamp,
) {
    let since = status.failing_since.as_ref().map_or(now, |t| t.0);
    if now.duration_since(since) < policy.open_after {
        return;
    }
    let reopened = status.occurrence > 0;
    status.occurrence += 1;
    status.state = Some(IncidentState::Open);
    status.first_seen_time = Some(Time(since));
    status.opened_time = Some(Time(now));
    status.resolved_time = None;
    if reopened {
        // A new occurrence: its worst verdict starts afresh.
        status.worst_verdict = Some(verdict);
        status.severity = Some(severity(verdict));
    }
    let kind = if reopened {
        IncidentTransitionType::Reopened
    } else {
        IncidentTransitionType::Opened
    };
    push(status, kind, verdict, message, policy, now);
}

/// Record a transition, keeping the last `historyLimit`.
fn push(
    status: &mut IncidentStatus,
    type_: IncidentTransitionType,
    verdict: Verdict,
    message: &str,
    policy: &Policy,
    now: Timestamp,
) {
    let sequence = status.transitions.last().map_or(0, |t| t.sequence) + 1;
    status.transitions.push(IncidentTransition {
        sequence,
        type_,
        time: Time(now),
        occurrence: status.occurrence,
        verdict,
        message: message.to_string(),
    });
    let excess = status.transitions.len().saturating_sub(policy.history_limit);
    status.transitions.drain(..excess);
}

/// When time alone moves the incident: `openAfter` after its failure began (Pending), or
/// `resolveAfter` after it was Matched again (Open).
fn due_of(status: &IncidentStatus, policy: &Policy) -> Option<Timestamp> {
    match status.state? {
        IncidentState::Pending => status
            .failing_since
            .as_ref()?
            .0
            .checked_add(policy.open_after)
            .ok(),
        IncidentState::Open => status
            .matched_since
            .as_ref()?
            .0
            .checked_add(policy.resolve_after)
            .ok(),
        IncidentState::Resolved => None,
    }
}

/// `Resolved` and `Ready`: True once resolved, False while open, Unknown while pending; each
/// keeps its transition time unless its status flips.
fn conditions(
    old: &[Condition],
    status: &IncidentStatus,
    policy: &Policy,
    generation: Option<i64>,
    now: Timestamp,
) -> Vec<Condition> {
    let evidence = status.message.clone().unwrap_or_default();
    let (value, reason, message) = match status.state.unwrap_or_default() {
        IncidentState::Resolved => (
            condition_status::TRUE,
            "Resolved",
            format!(
                "resolved at {}",
                status
                    .resolved_time
                    .as_ref()
                    .map(|t| t.0.to_string())
                    .unwrap_or_default()
            ),
        ),
        IncidentState::Open => (
            condition_status::FALSE,
            "Open",
            format!(
                "open since {} (occurrence {}): {evidence}",
                status
                    .opened_time
                    .as_ref()
                    .map(|t| t.0.to_string())
                    .unwrap_or_default(),
                status.occurrence
            ),
        ),
        IncidentState::Pending => (
            condition_status::UNKNOWN,
            "Pending",
            format!(
                "not Matched since {}; opens after {}s unless Matched before: {}",
                status
                    .failing_since
                    .as_ref()
                    .map(|t| t.0.to_string())
                    .unwrap_or_default(),
                policy.open_after.as_secs(),
                evidence
            ),
        ),
    };
    [RESOLVED, types::READY]
        .into_iter()
        .map(|type_| {
            let last_transition_time = match old.iter().find(|c| c.type_ == type_) {
                Some(c) if c.status == value => c.last_transition_time.clone(),
                _ => Time(now),
            };
            Condition {
                type_: type_.to_string(),
                status: value.to_string(),
                reason: reason.to_string(),
                message: message.clone(),
                observed_generation: generation,
                last_transition_time,
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

//! The condition vocabulary and the helper that turns aspect verdicts into Kubernetes
//! conditions.
//!
//! Every reconciler describes what it found as a list of [`Aspect`]s (one per compared
//! concern: `TargetVerified`, `RuntimeIdentityVerified`, ...). [`compute`] merges them with the
//! conditions already on the object and returns the new list, the summary verdict and the
//! transitions (so the shell emits Events only when something flipped).
//!
//! Conventions kept here, once for every kind:
//! - aspect conditions carry the verdict as their `reason`;
//! - `Ready` is True only when every required aspect is Matched;
//! - `Reconciling` / `Stalled` follow kstatus (abnormal-true; present as False otherwise);
//! - `observedGeneration` is always set;
//! - `lastTransitionTime` is kept unless the status flips, and comes from an injected clock.

use crate::verdict::Verdict;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// Condition types.
pub mod types {
    pub const READY: &str = "Ready";
    pub const TARGET_VERIFIED: &str = "TargetVerified";
    pub const CONFIG_SYNCED: &str = "ConfigSynced";
    pub const DEPLOYED: &str = "Deployed";
    pub const RUNTIME_IDENTITY_VERIFIED: &str = "RuntimeIdentityVerified";
    pub const HEALTHY: &str = "Healthy";
    pub const PROVIDER_REACHABLE: &str = "ProviderReachable";
    pub const PROVIDER_AUTHENTICATED: &str = "ProviderAuthenticated";
    /// kstatus: the controller is working towards the desired state.
    pub const RECONCILING: &str = "Reconciling";
    /// kstatus: the controller cannot make progress without a change from the user.
    pub const STALLED: &str = "Stalled";
}

/// Reasons used outside the verdict names.
pub mod reasons {
    pub const ALL_ASPECTS_MATCHED: &str = "AllAspectsMatched";
    pub const UP_TO_DATE: &str = "UpToDate";
    pub const PROGRESSING: &str = "Progressing";
    pub const NOT_STALLED: &str = "NotStalled";
    pub const INVALID_SPEC: &str = "InvalidSpec";
}

/// Condition statuses.
pub mod status {
    pub const TRUE: &str = "True";
    pub const FALSE: &str = "False";
    pub const UNKNOWN: &str = "Unknown";
}

/// The source of "now", injected so tests are deterministic.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that always answers the same instant (tests, replays).
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// One compared concern of a resource and what the comparison found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aspect {
    /// The condition type, one of [`types`].
    pub type_: &'static str,
    pub verdict: Verdict,
    /// Human-readable detail: what differs, or why it could not be compared. No secrets.
    pub message: String,
    /// Whether `Ready` depends on this aspect. Advisory aspects still get a condition and
    /// still count towards `status.verdict`, but do not hold `Ready` back.
    pub required: bool,
}

impl Aspect {
    pub fn required(type_: &'static str, verdict: Verdict, message: impl Into<String>) -> Self {
        Aspect {
            type_,
            verdict,
            message: message.into(),
            required: true,
        }
    }

    pub fn advisory(type_: &'static str, verdict: Verdict, message: impl Into<String>) -> Self {
        Aspect {
            type_,
            verdict,
            message: message.into(),
            required: false,
        }
    }
}

/// Where the controller stands in driving the resource to its desired state (kstatus).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Progress {
    /// Nothing in flight; status reflects the current generation.
    #[default]
    Settled,
    /// Work is under way (a deploy running, a first probe pending): `Reconciling=True`.
    Reconciling { reason: String, message: String },
    /// No progress is possible until the user changes something: `Stalled=True`.
    Stalled { reason: String, message: String },
}

/// A condition whose status changed in this computation (for Events).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub type_: String,
    pub from: Option<String>,
    pub to: String,
    pub reason: String,
    pub message: String,
}

/// The result of [`compute`].
#[derive(Clone, Debug, PartialEq)]
pub struct Computed {
    pub conditions: Vec<Condition>,
    /// The worst verdict over every aspect: `status.verdict`.
    pub verdict: Verdict,
    pub ready: bool,
    pub transitions: Vec<Transition>,
}

/// The condition status an aspect verdict maps to.
pub fn status_for(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Matched => status::TRUE,
        Verdict::Mismatch | Verdict::Missing => status::FALSE,
        Verdict::Unverifiable | Verdict::Unchecked => status::UNKNOWN,
    }
}

/// Build the full condition list for a resource.
///
/// `old` is the current `status.conditions`; conditions of types this call does not produce
/// are dropped, so a status written from the result carries exactly what the reconciler knows.
pub fn compute(
    old: &[Condition],
    aspects: &[Aspect],
    progress: &Progress,
    generation: Option<i64>,
    now: Timestamp,
) -> Computed {
    let verdict = Verdict::worst(aspects.iter().map(|a| a.verdict));
    let mut wanted: Vec<(String, &'static str, String, String)> = aspects
        .iter()
        .map(|a| {
            (
                a.type_.to_string(),
                status_for(a.verdict),
                a.verdict.as_str().to_string(),
                a.message.clone(),
            )
        })
        .collect();

    let (ready_status, ready_reason, ready_message) = ready_summary(aspects);
    let ready = ready_status == status::TRUE;
    wanted.push((
        types::READY.to_string(),
        ready_status,
        ready_reason,
        ready_message,
    ));

    let (rec_status, rec_reason, rec_message) = match progress {
        Progress::Reconciling { reason, message } => (status::TRUE, reason.clone(), message.clone()),
        _ => (status::FALSE, reasons::UP_TO_DATE.to_string(), String::new()),
    };
    wanted.push((
        types::RECONCILING.to_string(),
        rec_status,
        rec_reason,
        rec_message,
    ));
    let (st_status, st_reason, st_message) = match progress {
        Progress::Stalled { reason, message } => (status::TRUE, reason.clone(), message.clone()),
        _ => (status::FALSE, reasons::NOT_STALLED.to_string(), String::new()),
    };
    wanted.push((types::STALLED.to_string(), st_status, st_reason, st_message));

    let mut conditions = Vec::with_capacity(wanted.len());
    let mut transitions = Vec::new();
    for (type_, status, reason, message) in wanted {
        let previous = old.iter().find(|c| c.type_ == type_);
        let flipped = previous.is_none_or(|p| p.status != status);
        let last_transition_time = match previous {
            Some(p) if !flipped => p.last_transition_time.clone(),
            _ => Time(now),
        };
        if flipped || previous.is_some_and(|p| p.reason != reason) {
            transitions.push(Transition {
                type_: type_.clone(),
                from: previous.map(|p| p.status.clone()),
                to: status.to_string(),
                reason: reason.clone(),
                message: message.clone(),
            });
        }
        conditions.push(Condition {
            type_,
            status: status.to_string(),
            reason,
            message,
            observed_generation: generation,
            last_transition_time,
        });
    }
    Computed {
        conditions,
        verdict,
        ready,
        transitions,
    }
}

fn ready_summary(aspects: &[Aspect]) -> (&'static str, String, String) {
    let required: Vec<&Aspect> = aspects.iter().filter(|a| a.required).collect();
    let failing: Vec<&&Aspect> = required.iter().filter(|a| !a.verdict.is_matched()).collect();
    if failing.is_empty() {
        return (
            status::TRUE,
            reasons::ALL_ASPECTS_MATCHED.to_string(),
            "every required aspect is Matched".to_string(),
        );
    }
    let worst = Verdict::worst(failing.iter().map(|a| a.verdict));
    let message = failing
        .iter()
        .map(|a| {
            if a.message.is_empty() {
                format!("{} is {}", a.type_, a.verdict)
            } else {
                format!("{} is {}: {}", a.type_, a.verdict, a.message)
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    (status_for(worst), worst.as_str().to_string(), message)
}

/// Find a condition by type.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).unwrap()
    }

    fn aspects(target: Verdict, identity: Verdict, identity_required: bool) -> Vec<Aspect> {
        vec![
            Aspect::required(types::TARGET_VERIFIED, target, ""),
            Aspect {
                type_: types::RUNTIME_IDENTITY_VERIFIED,
                verdict: identity,
                message: "identity detail".into(),
                required: identity_required,
            },
        ]
    }

    #[test]
    fn aspect_conditions_carry_the_verdict_as_reason_and_map_status() {
        let out = compute(
            &[],
            &aspects(Verdict::Matched, Verdict::Unverifiable, true),
            &Progress::Settled,
            Some(3),
            t(100),
        );
        let target = find(&out.conditions, types::TARGET_VERIFIED).unwrap();
        assert_eq!(
            (target.status.as_str(), target.reason.as_str()),
            ("True", "Matched")
        );
        let id = find(&out.conditions, types::RUNTIME_IDENTITY_VERIFIED).unwrap();
        assert_eq!(
            (id.status.as_str(), id.reason.as_str()),
            ("Unknown", "Unverifiable")
        );
        assert!(out.conditions.iter().all(|c| c.observed_generation == Some(3)));
        assert_eq!(out.verdict, Verdict::Unverifiable);
        assert!(!out.ready);
    }

    #[test]
    fn ready_ignores_advisory_aspects_but_verdict_does_not() {
        let out = compute(
            &[],
            &aspects(Verdict::Matched, Verdict::Missing, false),
            &Progress::Settled,
            Some(1),
            t(1),
        );
        let ready = find(&out.conditions, types::READY).unwrap();
        assert_eq!(ready.status, "True");
        assert_eq!(ready.reason, reasons::ALL_ASPECTS_MATCHED);
        assert!(out.ready);
        assert_eq!(out.verdict, Verdict::Missing);
    }

    #[test]
    fn ready_false_names_every_failing_required_aspect() {
        let out = compute(
            &[],
            &aspects(Verdict::Mismatch, Verdict::Missing, true),
            &Progress::Settled,
            Some(1),
            t(1),
        );
        let ready = find(&out.conditions, types::READY).unwrap();
        assert_eq!(ready.status, "False");
        assert_eq!(ready.reason, "Mismatch");
        assert!(
            ready.message.contains("TargetVerified is Mismatch"),
            "{}",
            ready.message
        );
        assert!(
            ready
                .message
                .contains("RuntimeIdentityVerified is Missing: identity detail"),
            "{}",
            ready.message
        );
    }

    #[test]
    fn last_transition_time_kept_unless_status_flips() {
        let first = compute(
            &[],
            &aspects(Verdict::Matched, Verdict::Matched, true),
            &Progress::Settled,
            Some(1),
            t(10),
        );
        assert_eq!(
            first.transitions.len(),
            first.conditions.len(),
            "everything is new"
        );

        // Same statuses later, new generation: times kept, generation updated, no transitions.
        let second = compute(
            &first.conditions,
            &aspects(Verdict::Matched, Verdict::Matched, true),
            &Progress::Settled,
            Some(2),
            t(20),
        );
        assert!(second.transitions.is_empty(), "{:?}", second.transitions);
        for c in &second.conditions {
            assert_eq!(c.last_transition_time, Time(t(10)), "{}", c.type_);
            assert_eq!(c.observed_generation, Some(2));
        }

        // Identity flips to Mismatch: its time and Ready's move, the target's stays.
        let third = compute(
            &second.conditions,
            &aspects(Verdict::Matched, Verdict::Mismatch, true),
            &Progress::Settled,
            Some(2),
            t(30),
        );
        let time_of = |ty: &str| find(&third.conditions, ty).unwrap().last_transition_time.clone();
        assert_eq!(time_of(types::TARGET_VERIFIED), Time(t(10)));
        assert_eq!(time_of(types::RUNTIME_IDENTITY_VERIFIED), Time(t(30)));
        assert_eq!(time_of(types::READY), Time(t(30)));
        let flipped: Vec<&str> = third.transitions.iter().map(|x| x.type_.as_str()).collect();
        assert_eq!(flipped, vec![types::RUNTIME_IDENTITY_VERIFIED, types::READY]);
        assert_eq!(third.transitions[0].from.as_deref(), Some("True"));
        assert_eq!(third.transitions[0].to, "False");
    }

    #[test]
    fn a_reason_change_without_status_flip_is_reported_but_keeps_the_time() {
        let first = compute(
            &[],
            &aspects(Verdict::Mismatch, Verdict::Matched, true),
            &Progress::Settled,
            Some(1),
            t(10),
        );
        let second = compute(
            &first.conditions,
            &aspects(Verdict::Missing, Verdict::Matched, true),
            &Progress::Settled,
            Some(1),
            t(20),
        );
        let target = find(&second.conditions, types::TARGET_VERIFIED).unwrap();
        assert_eq!(target.reason, "Missing");
        assert_eq!(target.last_transition_time, Time(t(10)));
        assert!(
            second
                .transitions
                .iter()
                .any(|x| x.type_ == types::TARGET_VERIFIED)
        );
    }

    #[test]
    fn kstatus_conditions_follow_progress() {
        let settled = compute(&[], &[], &Progress::Settled, Some(1), t(1));
        assert_eq!(
            find(&settled.conditions, types::RECONCILING).unwrap().status,
            "False"
        );
        assert_eq!(find(&settled.conditions, types::STALLED).unwrap().status, "False");

        let reconciling = compute(
            &settled.conditions,
            &[],
            &Progress::Reconciling {
                reason: "Deploying".into(),
                message: "deployment dr-1 running".into(),
            },
            Some(1),
            t(2),
        );
        let c = find(&reconciling.conditions, types::RECONCILING).unwrap();
        assert_eq!((c.status.as_str(), c.reason.as_str()), ("True", "Deploying"));

        let stalled = compute(
            &reconciling.conditions,
            &[],
            &Progress::Stalled {
                reason: reasons::INVALID_SPEC.into(),
                message: "spec.artifactRef: artifact shop-1 not found".into(),
            },
            Some(1),
            t(3),
        );
        assert_eq!(find(&stalled.conditions, types::STALLED).unwrap().status, "True");
        assert_eq!(
            find(&stalled.conditions, types::RECONCILING).unwrap().status,
            "False"
        );
    }

    #[test]
    fn stale_condition_types_are_dropped() {
        let old = vec![Condition {
            type_: "Obsolete".into(),
            status: "True".into(),
            reason: "X".into(),
            message: String::new(),
            observed_generation: Some(1),
            last_transition_time: Time(t(1)),
        }];
        let out = compute(&old, &[], &Progress::Settled, Some(1), t(2));
        assert!(find(&out.conditions, "Obsolete").is_none());
    }

    #[test]
    fn empty_aspect_list_is_ready_with_unchecked_verdict() {
        let out = compute(&[], &[], &Progress::Settled, None, t(1));
        assert!(out.ready);
        assert_eq!(out.verdict, Verdict::Unchecked);
    }
}

//! A NotificationPolicy's status: each destination configured (its Secrets readable, the
//! destination buildable) and delivering (its last attempt, on any Incident of the namespace,
//! did not fail). A failing destination raises the policy's `Delivering` condition, never the
//! reconcile of a lane.

use super::due::outcome;
use crate::Outcome;
use crate::ready::{self, Ready};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use launchplane_api::conditions::{self, Progress, status as condition_status};
use launchplane_api::resources::{
    DestinationStatus, Incident, IncidentDelivery, NotificationPolicy, NotificationPolicyStatus,
};
use launchplane_api::verdict::Verdict;
use std::collections::BTreeMap;

/// The condition naming the failing destinations.
pub const DELIVERING: &str = "Delivering";

/// Whether a destination could be configured: `Err` says why not (a Secret or key missing, a
/// URL the destination refuses), naming the field and never a value.
pub type Configured = Result<(), String>;

/// A destination's latest delivery on any Incident, and which Incident.
#[derive(Clone, Debug, PartialEq)]
pub struct Latest {
    pub delivery: IncidentDelivery,
    pub incident: String,
}

/// The latest delivery of each destination of `policy` across `incidents` (of its namespace),
/// by time, the later record winning a tie.
pub fn latest_deliveries(policy: &str, incidents: &[&Incident]) -> BTreeMap<String, Latest> {
    let prefix = format!("{policy}/");
    let mut out: BTreeMap<String, Latest> = BTreeMap::new();
    let mut incidents: Vec<&Incident> = incidents.to_vec();
    incidents.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    for incident in incidents {
        let Some(status) = incident.status.as_ref() else {
            continue;
        };
        for d in &status.deliveries {
            let Some(name) = d.destination.strip_prefix(&prefix) else {
                continue;
            };
            let newer = out.get(name).is_none_or(|l| l.delivery.time.0 <= d.time.0);
            if newer {
                out.insert(
                    name.to_string(),
                    Latest {
                        delivery: d.clone(),
                        incident: incident.metadata.name.clone().unwrap_or_default(),
                    },
                );
            }
        }
    }
    out
}

/// The policy's status from how each destination is configured (`configured`, by name; a
/// destination missing from it was not checked) and its latest delivery.
pub fn status(
    policy: &NotificationPolicy,
    configured: &BTreeMap<String, Configured>,
    latest: &BTreeMap<String, Latest>,
    now: Timestamp,
) -> Outcome<NotificationPolicyStatus> {
    let old = policy.status.clone().unwrap_or_default();
    let mut destinations = Vec::new();
    let mut unconfigured = Vec::new();
    let mut failing = Vec::new();
    for d in &policy.spec.destinations {
        let last = latest.get(&d.name);
        let problem = match configured.get(&d.name) {
            Some(Err(why)) => Some(why.clone()),
            _ => None,
        };
        let failed =
            last.filter(|l| matches!(l.delivery.outcome.as_str(), outcome::RETRYING | outcome::FAILED));
        let message = match (&problem, failed, last) {
            (Some(why), _, _) => Some(why.clone()),
            (None, Some(l), _) => Some(format!(
                "{} on Incident {}: {}",
                l.delivery.outcome,
                l.incident,
                l.delivery.message.clone().unwrap_or_default()
            )),
            (None, None, Some(l)) => Some(format!("{} on Incident {}", l.delivery.outcome, l.incident)),
            (None, None, None) => None,
        };
        if let Some(why) = &problem {
            unconfigured.push(format!("{}: {why}", d.name));
        } else if let Some(m) = &message
            && failed.is_some()
        {
            failing.push(format!("{}: {m}", d.name));
        }
        destinations.push(DestinationStatus {
            name: d.name.clone(),
            type_: d.type_name().to_string(),
            healthy: problem.is_none() && failed.is_none(),
            message: message.map(|m| crate::incident::evidence(&m)),
            last_outcome: last.map(|l| l.delivery.outcome.clone()),
            last_time: last.map(|l| l.delivery.time.clone()),
            last_incident: last.map(|l| l.incident.clone()),
        });
    }
    let healthy_count = destinations.iter().filter(|d| d.healthy).count();
    let total = destinations.len();
    let (verdict, reason, message) = if !unconfigured.is_empty() {
        (
            Verdict::Missing,
            "DestinationUnconfigured",
            unconfigured.join("; "),
        )
    } else if !failing.is_empty() {
        (Verdict::Unverifiable, "DestinationFailing", failing.join("; "))
    } else {
        (
            Verdict::Matched,
            "Delivering",
            format!("{total} destination(s) configured, none failing"),
        )
    };
    let generation = policy.metadata.generation;
    let (mut conditions, transitions) = ready::conditions(
        &old.conditions,
        Ready {
            ready: verdict == Verdict::Matched,
            unknown: false,
            reason: reason.to_string(),
            message: crate::incident::evidence(&message),
        },
        &Progress::Settled,
        generation,
        now,
    );
    let delivering_message = if failing.is_empty() {
        "no destination is failing".to_string()
    } else {
        failing.join("; ")
    };
    let value = if failing.is_empty() {
        condition_status::TRUE
    } else {
        condition_status::FALSE
    };
    let last_transition_time = match conditions::find(&old.conditions, DELIVERING) {
        Some(c) if c.status == value => c.last_transition_time.clone(),
        _ => Time(now),
    };
    conditions.push(Condition {
        type_: DELIVERING.to_string(),
        status: value.to_string(),
        reason: if failing.is_empty() {
            "Delivering".to_string()
        } else {
            "DestinationFailing".to_string()
        },
        message: crate::incident::evidence(&delivering_message),
        observed_generation: generation,
        last_transition_time,
    });
    Outcome {
        status: NotificationPolicyStatus {
            observed_generation: generation,
            verdict: Some(verdict),
            summary: Some(format!("{healthy_count}/{total}")),
            failing: {
                let names: Vec<&str> = destinations
                    .iter()
                    .filter(|d| !d.healthy)
                    .map(|d| d.name.as_str())
                    .collect();
                (!names.is_empty()).then(|| names.join(","))
            },
            destinations,
            conditions,
        },
        transitions,
    }
}

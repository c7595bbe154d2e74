//! Which destinations an Incident goes to: the routes of the namespace's NotificationPolicies
//! that match it, and how often each destination hears about it.

use jiff::SignedDuration;
use launchplane_api::resources::{
    Incident, IncidentSeverity, NotificationPolicy, NotificationRoute, RouteMatch,
};

/// How often a destination hears about an Incident, from its route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cadence {
    /// The first reminder's interval while the Incident stays open; `None`: no reminders.
    pub interval: Option<SignedDuration>,
    /// Each reminder's interval is the previous one times this (at least 1).
    pub backoff: i32,
    /// The longest interval between reminders.
    pub max: SignedDuration,
    /// Whether the resolution is sent.
    pub notify_resolved: bool,
}

impl Default for Cadence {
    fn default() -> Self {
        cadence(&NotificationRoute::default())
    }
}

impl Cadence {
    /// The interval before reminder `n` (from 1): `interval × backoff^(n-1)`, at most `max`.
    pub fn interval_before(&self, n: i32) -> Option<SignedDuration> {
        let first = self.interval?;
        let mut wait = first.min(self.max);
        for _ in 1..n.max(1) {
            wait = wait
                .checked_mul(self.backoff.max(1))
                .unwrap_or(self.max)
                .min(self.max);
            if wait >= self.max {
                break;
            }
        }
        Some(wait)
    }
}

/// A route's cadence. A duration the schema would refuse falls back to its default (no
/// reminders for `repeatInterval`, 24h for `repeatMax`).
pub fn cadence(route: &NotificationRoute) -> Cadence {
    let parse = |text: &str| crate::preview::parse_ttl(text).filter(|d| d.is_positive());
    Cadence {
        interval: route.repeat_interval.as_deref().and_then(parse),
        backoff: route.repeat_backoff.clamp(1, 10),
        max: parse(&route.repeat_max).unwrap_or(SignedDuration::from_hours(24)),
        notify_resolved: route.notify_resolved,
    }
}

/// One destination an Incident goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `<policy>/<destination>`: what the Incident's deliveries name.
    pub id: String,
    pub policy: String,
    pub destination: String,
    pub cadence: Cadence,
}

/// Whether `rule` matches the Incident (every list that is set contains its value).
pub fn matches(rule: &RouteMatch, incident: &Incident) -> bool {
    let spec = &incident.spec;
    let severity: Option<IncidentSeverity> = incident.status.as_ref().and_then(|s| s.severity);
    let has = |list: &[String], value: &str| list.is_empty() || list.iter().any(|v| v == value);
    has(&rule.products, &spec.product)
        && has(&rule.lanes, &spec.lane)
        && has(&rule.checks, &spec.check)
        && (rule.severities.is_empty() || severity.is_some_and(|s| rule.severities.contains(&s)))
}

/// The destinations the Incident goes to, through the policies of its namespace: in the
/// order of the policies' names, each destination once, with the cadence of the first route
/// of its policy that names it. A route naming a destination its policy lacks (the schema
/// refuses it) names nothing.
pub fn targets(policies: &[&NotificationPolicy], incident: &Incident) -> Vec<Target> {
    let namespace = incident.metadata.namespace.as_deref().unwrap_or("default");
    let mut policies: Vec<&NotificationPolicy> = policies
        .iter()
        .copied()
        .filter(|p| p.metadata.namespace.as_deref().unwrap_or("default") == namespace)
        .collect();
    policies.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut out: Vec<Target> = Vec::new();
    for policy in policies {
        let name = policy.metadata.name.clone().unwrap_or_default();
        for route in &policy.spec.routes {
            if !matches(&route.match_, incident) {
                continue;
            }
            for destination in &route.destinations {
                let id = format!("{name}/{destination}");
                let known = policy.spec.destinations.iter().any(|d| &d.name == destination);
                if known && !out.iter().any(|t| t.id == id) {
                    out.push(Target {
                        id,
                        policy: name.clone(),
                        destination: destination.clone(),
                        cadence: cadence(route),
                    });
                }
            }
        }
    }
    out
}

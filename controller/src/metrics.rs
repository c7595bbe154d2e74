//! Prometheus metrics, served at `/metrics` in the OpenMetrics text format.
//!
//! One `Metrics` value is shared (behind `Arc`) by every reconciler, the poller, the prober
//! and the provider client's call observer, so the HTTP server and the work share no globals.

use launchplane_api::Verdict;
use launchplane_providers::CallObserver;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    pub kind: String,
    pub error_category: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub route: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProbeLabels {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerdictLabels {
    pub kind: String,
    pub verdict: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct IncidentLabels {
    pub product: String,
    pub severity: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NotificationLabels {
    /// `github`, `email` or `discord`.
    pub destination_type: String,
    /// `Delivered`, `Retrying`, `Failed` or `Unknown`.
    pub outcome: String,
}

/// Every series Launchplane exports.
pub struct Metrics {
    registry: Registry,
    pub reconciles: Family<KindLabels, Counter>,
    pub reconcile_failures: Family<FailureLabels, Counter>,
    pub reconcile_duration: Family<KindLabels, Histogram>,
    pub provider_calls: Family<CallLabels, Counter>,
    pub provider_call_duration: Family<CallLabels, Histogram>,
    pub provider_throttles: Counter,
    pub probes: Family<ProbeLabels, Counter>,
    pub resources: Family<VerdictLabels, Gauge>,
    pub verdict_age: Family<KindLabels, Gauge<f64, AtomicU64>>,
    pub leader: Gauge,
    pub incidents_open: Family<IncidentLabels, Gauge>,
    pub notifications: Family<NotificationLabels, Counter>,
    /// Every label set `incidents_open` has had: one whose incidents all resolved reads 0
    /// rather than vanishing (an alert on `> 0` then resolves instead of going stale).
    incident_series: Mutex<BTreeSet<IncidentLabels>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("launchplane");
        let reconciles = Family::<KindLabels, Counter>::default();
        registry.register("reconciles", "Reconciles run, by kind", reconciles.clone());
        let reconcile_failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            "reconcile_failures",
            "Reconciles that failed, by kind and error category",
            reconcile_failures.clone(),
        );
        let reconcile_duration = Family::<KindLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 14))
        });
        registry.register_with_unit(
            "reconcile_duration",
            "Time spent in one reconcile, by kind",
            Unit::Seconds,
            reconcile_duration.clone(),
        );
        let provider_calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "provider_calls",
            "Dokploy API calls by route and outcome",
            provider_calls.clone(),
        );
        let provider_call_duration = Family::<CallLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.0, 12))
        });
        registry.register_with_unit(
            "provider_call_duration",
            "Dokploy API call latency by route and outcome",
            Unit::Seconds,
            provider_call_duration.clone(),
        );
        let provider_throttles = Counter::default();
        registry.register(
            "provider_throttles",
            "Dokploy answers taken as throttling (429, or 401 after successes)",
            provider_throttles.clone(),
        );
        let probes = Family::<ProbeLabels, Counter>::default();
        registry.register("probes", "Health and identity probes by result", probes.clone());
        let resources = Family::<VerdictLabels, Gauge>::default();
        registry.register(
            "resources",
            "Resources by kind and current verdict",
            resources.clone(),
        );
        let verdict_age = Family::<KindLabels, Gauge<f64, AtomicU64>>::default();
        registry.register_with_unit(
            "verdict_age",
            "Age of the oldest verdict per kind",
            Unit::Seconds,
            verdict_age.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica runs the controllers (holds the Lease, or runs without leader election)",
            leader.clone(),
        );
        let incidents_open = Family::<IncidentLabels, Gauge>::default();
        registry.register(
            "incidents_open",
            "Open Incidents by product and severity (critical: Mismatch or Missing; warning: Unverifiable)",
            incidents_open.clone(),
        );
        let notifications = Family::<NotificationLabels, Counter>::default();
        registry.register(
            "notifications",
            "Notification attempts by destination type and outcome (Delivered, Retrying, Failed, Unknown)",
            notifications.clone(),
        );
        Metrics {
            registry,
            reconciles,
            reconcile_failures,
            reconcile_duration,
            provider_calls,
            provider_call_duration,
            provider_throttles,
            probes,
            resources,
            verdict_age,
            leader,
            incidents_open,
            notifications,
            incident_series: Mutex::default(),
        }
    }

    /// Replace the open-incident counts (`(product, severity)` → count; absent means 0).
    pub fn set_incidents_open(&self, counts: &BTreeMap<IncidentLabels, i64>) {
        let mut seen = self.incident_series.lock().unwrap_or_else(|p| p.into_inner());
        seen.extend(counts.keys().cloned());
        for labels in seen.iter() {
            self.incidents_open
                .get_or_create(labels)
                .set(counts.get(labels).copied().unwrap_or(0));
        }
    }

    /// One notification attempt's outcome.
    pub fn notified(&self, destination_type: &str, outcome: &str) {
        self.notifications
            .get_or_create(&NotificationLabels {
                destination_type: destination_type.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    pub fn reconciled(&self, kind: &str, elapsed: Duration) {
        let labels = KindLabels { kind: kind.into() };
        self.reconciles.get_or_create(&labels).inc();
        self.reconcile_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    pub fn reconcile_failed(&self, kind: &str, error_category: &str) {
        self.reconcile_failures
            .get_or_create(&FailureLabels {
                kind: kind.into(),
                error_category: error_category.into(),
            })
            .inc();
    }

    pub fn provider_call(&self, route: &str, outcome: &str, elapsed: Duration) {
        let labels = CallLabels {
            route: route.into(),
            outcome: outcome.into(),
        };
        self.provider_calls.get_or_create(&labels).inc();
        self.provider_call_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        if outcome == "throttled" {
            self.provider_throttles.inc();
        }
    }

    pub fn probe(&self, result: &str) {
        self.probes
            .get_or_create(&ProbeLabels {
                result: result.into(),
            })
            .inc();
    }

    /// Replace the per-verdict resource counts of one kind.
    pub fn set_verdict_counts(&self, kind: &str, counts: &[(Verdict, i64)]) {
        for verdict in Verdict::ALL {
            let n = counts.iter().find(|(v, _)| *v == verdict).map_or(0, |(_, n)| *n);
            self.resources
                .get_or_create(&VerdictLabels {
                    kind: kind.into(),
                    verdict: verdict.as_str().into(),
                })
                .set(n);
        }
    }

    pub fn set_verdict_age(&self, kind: &str, seconds: f64) {
        self.verdict_age
            .get_or_create(&KindLabels { kind: kind.into() })
            .set(seconds);
    }

    /// The registry in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Feeds every Dokploy call the provider client makes into [`Metrics::provider_call`].
pub struct MetricsObserver(pub Arc<Metrics>);

impl CallObserver for MetricsObserver {
    fn observe(&self, route: &str, outcome: &str, elapsed: Duration) {
        self.0.provider_call(route, outcome, elapsed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_the_named_series() {
        let m = Metrics::new();
        m.reconciled("Lane", Duration::from_millis(3));
        m.reconcile_failed("Lane", "provider_unreachable");
        m.provider_call("application.one", "ok", Duration::from_millis(20));
        m.provider_call("overview.services", "throttled", Duration::from_millis(5));
        m.probe("matched");
        m.set_verdict_counts("ProviderTarget", &[(Verdict::Matched, 2), (Verdict::Mismatch, 1)]);
        m.set_verdict_age("ProviderTarget", 12.5);
        m.leader.set(1);
        let shop_critical = IncidentLabels {
            product: "shop".into(),
            severity: "critical".into(),
        };
        let blog_warning = IncidentLabels {
            product: "blog".into(),
            severity: "warning".into(),
        };
        m.set_incidents_open(&BTreeMap::from([(shop_critical.clone(), 2), (blog_warning, 1)]));
        // The blog's incident resolved: its series reads 0, it does not vanish.
        m.set_incidents_open(&BTreeMap::from([(shop_critical, 2)]));
        m.notified("github", "Delivered");
        m.notified("github", "Delivered");
        m.notified("discord", "Unknown");
        let text = m.encode();
        for needle in [
            r#"launchplane_reconciles_total{kind="Lane"} 1"#,
            r#"launchplane_reconcile_failures_total{kind="Lane",error_category="provider_unreachable"} 1"#,
            r#"launchplane_reconcile_duration_seconds_count{kind="Lane"} 1"#,
            r#"launchplane_provider_calls_total{route="application.one",outcome="ok"} 1"#,
            r#"launchplane_provider_call_duration_seconds_count{route="overview.services",outcome="throttled"} 1"#,
            "launchplane_provider_throttles_total 1",
            r#"launchplane_probes_total{result="matched"} 1"#,
            r#"launchplane_resources{kind="ProviderTarget",verdict="Mismatch"} 1"#,
            r#"launchplane_resources{kind="ProviderTarget",verdict="Missing"} 0"#,
            r#"launchplane_verdict_age_seconds{kind="ProviderTarget"} 12.5"#,
            "launchplane_leader 1",
            r#"launchplane_incidents_open{product="shop",severity="critical"} 2"#,
            r#"launchplane_incidents_open{product="blog",severity="warning"} 0"#,
            r#"launchplane_notifications_total{destination_type="github",outcome="Delivered"} 2"#,
            r#"launchplane_notifications_total{destination_type="discord",outcome="Unknown"} 1"#,
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }
}

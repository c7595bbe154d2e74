//! The receiver's own series (it is its own process), served at its `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    /// `X-GitHub-Event` (`pull_request`, `ping`, …), or `dokploy` for a deploy notification.
    pub event: String,
    /// `created`, `updated`, `deleted`, `ignored`, `unknown_repository`, `invalid`,
    /// `refused_signature`, `replay`, `too_large`, `rate_limited`, `error`, `polled`, `pong`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

/// Every series `launchplane webhooks` exports.
pub struct WebhookMetrics {
    registry: Registry,
    pub deliveries: Family<DeliveryLabels, Counter>,
    pub signatures_refused: Counter,
    pub replays: Counter,
    pub resyncs: Family<OutcomeLabels, Counter>,
    pub resync_created: Counter,
}

impl Default for WebhookMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl WebhookMetrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("launchplane_webhooks");
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "deliveries",
            "Deliveries by event and outcome (one per Preview change, or one for the delivery)",
            deliveries.clone(),
        );
        let signatures_refused = Counter::default();
        registry.register(
            "signatures_refused",
            "Deliveries refused for a missing, malformed or wrong signature or token",
            signatures_refused.clone(),
        );
        let replays = Counter::default();
        registry.register(
            "replays",
            "Deliveries refused because their X-GitHub-Delivery id was already taken",
            replays.clone(),
        );
        let resyncs = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "resyncs",
            "Resync passes over the open pull requests, by outcome (ok, rate_limited, failed)",
            resyncs.clone(),
        );
        let resync_created = Counter::default();
        registry.register(
            "resync_changes",
            "Previews the resync created or updated (missed deliveries caught)",
            resync_created.clone(),
        );
        WebhookMetrics {
            registry,
            deliveries,
            signatures_refused,
            replays,
            resyncs,
            resync_created,
        }
    }

    pub fn delivery(&self, event: &str, outcome: &str) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                event: event.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    pub fn resync(&self, outcome: &str) {
        self.resyncs
            .get_or_create(&OutcomeLabels {
                outcome: outcome.into(),
            })
            .inc();
    }

    /// The value of `deliveries{event,outcome}` (tests).
    pub fn count(&self, event: &str, outcome: &str) -> u64 {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                event: event.into(),
                outcome: outcome.into(),
            })
            .get()
    }

    /// The registry in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

//! The shared observation, one entry per ProviderConfig (`namespace/name`).
//!
//! The ProviderConfig controller is the only writer: it owns each config's [`Poller`] and
//! publishes a [`ProviderView`] after every poll. ProviderTarget reconciles only read views,
//! so a thousand targets of one config cost one set of Dokploy calls per poll interval.

use crate::observe::poller::Poller;

use jiff::Timestamp;
use launchplane_core::observation::{PollSettings, SharedFacts, Snapshot};
use launchplane_core::provider_target::ClaimIndex;
use launchplane_providers::{ApiKey, Provider};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

/// What ProviderTargets read: the latest snapshot, the settings it was taken with, and who
/// claimed which id when it was taken (so a target finds its rivals without a scan). Lanes
/// read `facts`: the image and raw env the poller's detail reads saw (secret; `Debug` shows a
/// count), so a lane in sync makes no detail call of its own.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProviderView {
    pub snapshot: Arc<Snapshot>,
    pub settings: PollSettings,
    pub claims: Arc<ClaimIndex>,
    pub facts: Arc<SharedFacts>,
}

/// What the client was built from; a change means a new client (and a new poller).
#[derive(Clone)]
pub struct Fingerprint {
    pub url: String,
    pub api_key: ApiKey,
    pub rate_limit: (i32, i32),
}

impl PartialEq for Fingerprint {
    fn eq(&self, other: &Self) -> bool {
        self.url == other.url
            && self.api_key.expose() == other.api_key.expose()
            && self.rate_limit == other.rate_limit
    }
}

/// One ProviderConfig's poller and its schedule. Only that config's reconcile touches it,
/// and kube-runtime never runs two reconciles of one object at once.
pub struct PollerSlot {
    pub fingerprint: Fingerprint,
    pub poller: Poller,
    /// When the next poll is due; `None` means now.
    pub next_poll_at: Option<Timestamp>,
}

/// Views and pollers of every ProviderConfig this process serves.
#[derive(Default)]
pub struct Registry {
    views: RwLock<HashMap<String, ProviderView>>,
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<PollerSlot>>>>,
    /// Each slot's client, readable without waiting for a poll to finish (lane deploys).
    providers: RwLock<HashMap<String, Arc<dyn Provider>>>,
}

impl Registry {
    /// The view of `namespace/name`, if its config has a working client.
    pub fn view(&self, key: &str) -> Option<ProviderView> {
        self.views
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    /// Publish a config's latest observation (also how tests stage a snapshot).
    pub fn publish(&self, key: &str, view: ProviderView) {
        self.views
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), view);
    }

    /// The poller slot of `key`, if one was built.
    pub fn slot(&self, key: &str) -> Option<Arc<tokio::sync::Mutex<PollerSlot>>> {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    pub fn set_slot(&self, key: &str, slot: PollerSlot) -> Arc<tokio::sync::Mutex<PollerSlot>> {
        self.providers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), slot.poller.provider());
        let slot = Arc::new(tokio::sync::Mutex::new(slot));
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), slot.clone());
        slot
    }

    /// The provider client of `key`'s config, if one was built (the lanes' deploy steps).
    pub fn provider(&self, key: &str) -> Option<Arc<dyn Provider>> {
        self.providers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    /// Forget a config: its credentials no longer work, or it was deleted.
    pub fn remove(&self, key: &str) {
        self.providers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        self.views.write().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    /// Forget every config not in `live` (deleted objects are never reconciled again).
    pub fn retain(&self, live: impl Fn(&str) -> bool) {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|k, _| live(k));
        self.providers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|k, _| live(k));
        self.views
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|k, _| live(k));
    }
}

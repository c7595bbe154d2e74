//! The one reconcile engine both shells run.
//!
//! ```text
//!            cluster shell (k8s)                         standalone shell (standalone)
//!   watches ─► Caches ◄─ KubeSecrets            folder ─► Caches ◄─ FolderSecrets
//!              │                                           │
//!              ▼                                           ▼
//!            World { caches, secrets, providers (clients, pollers, views), prober, instance }
//!              │
//!              ▼
//!   kinds::<kind>::reconcile(object, &World, &impl StatusStore)      ◄── written once per kind
//!     gather inputs from the World ─► launchplane_core::<kind> plan (pure) ─► status (+ one step)
//!     lanes (driver) and previews (preview::drive): observe ─► plan ─► one step ─► again
//!     every step ─► one Action ─► Executor (Provider; reads + Prober) ─► RecordStore / StatusStore
//!              │
//!              ▼
//!   commit: status (unless unchanged) + announcement on a verdict change ─► Reconciled
//!              │                                           │
//!   KubeStore: SSA status, Events, records         FolderStore: state folder, cache, rows
//!   runner: requeue, wakes, error policy,          round: kinds in order, rows, exit code
//!   metrics (k8s::controller)                      (standalone::round)
//! ```
//!
//! - [`world`]: what a reconcile reads ([`World`], with [`Secrets`] the shell-specific part).
//! - [`secrets`]: where Secrets, ConfigMaps and variables come from ([`Secrets`]).
//! - [`store`]: where its results go ([`StatusStore`], [`store::RecordStore`]).
//! - [`caches`], [`kind`]: one cache per kind; what the engine needs of every kind.
//! - [`providers`]: Dokploy clients, pollers and shared views, and API-key resolution.
//! - [`kinds`]: each kind's reconcile, written once.
//! - [`executor`]: the one executor every kind's steps go through (one error type, one
//!   classification); [`driver`]: a lane's plan → step → plan loop; [`preview`]: a preview's
//!   loop, its teardown and the orphan sweep.
//! - [`env`]: a lane's env from its ConfigMaps, Secrets and values.
//! - [`verification`]: a lane's base URL and its driver's checks (Odoo, VeriReel), observed.
//! - [`incidents`]: after a Lane, Preview, ProviderTarget or RuntimeIdentity wrote its status,
//!   its Incidents opened, updated, resolved or forgotten (the rule is
//!   `launchplane_core::incident`); [`deliveries`]: then each written Incident's notices sent
//!   to the destinations its NotificationPolicies route it to, every attempt recorded on it
//!   (the rules are `launchplane_core::notification`).

pub mod backup_capture;
pub mod cache;
pub mod caches;
pub mod deliveries;
pub mod driver;
pub mod env;
pub mod error;
pub mod executor;
pub mod feedback;
pub mod incidents;
pub mod kind;
pub mod kinds;
pub mod lane_records;
pub mod notification;
pub mod polled;
pub mod preview;
pub mod providers;
pub mod secrets;
pub mod store;
pub mod verification;
pub mod world;

pub use caches::{CacheWriters, Cached, Caches};
pub use error::{Error, Result};
pub use kind::Kind;
pub use secrets::{Secrets, WorldError};
pub use store::{StatusStore, StoreError};
pub use world::World;

use kube::runtime::reflector::ObjectRef;
use launchplane_api::conditions::{find, types};
use launchplane_api::resources::{Artifact, BackupGate, Lane, Preview, Product, Promotion, ProviderTarget};
use std::time::Duration;

/// Another object one reconcile's outcome concerns, so the cluster looks at it now instead of
/// at its next resync. Standalone rounds run every kind in order and need none of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wake {
    /// A ProviderConfig polled: its targets are verified against the new snapshot.
    ProviderTarget(ObjectRef<ProviderTarget>),
    /// An artifact or record of the lane changed.
    Lane(ObjectRef<Lane>),
    /// A lane's wish or inventory moved: the artifact recounts its users.
    Artifact(ObjectRef<Artifact>),
    /// A Preview of the product changed: counts, protected set, sweep.
    Product(ObjectRef<Product>),
    /// What a Promotion's gates or outcome read changed: its lanes, a BackupGate, an Approval,
    /// the Promotion ahead of it.
    Promotion(ObjectRef<Promotion>),
    /// A Promotion took (or let go of) the BackupGate: its `usedBy` follows.
    BackupGate(ObjectRef<BackupGate>),
    /// The Artifact a Preview waits for was created (or changed): it deploys now.
    Preview(ObjectRef<Preview>),
}

/// What one reconcile asks of its shell besides the status it already wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Reconciled {
    /// Look again after this long; `None`: only when the object changes.
    pub requeue: Option<Duration>,
    pub wake: Vec<Wake>,
}

impl Reconciled {
    /// Look again after `delay` (at least a second, so a bad interval never spins).
    pub fn after(delay: Duration) -> Self {
        Reconciled {
            requeue: Some(delay.max(Duration::from_secs(1))),
            wake: Vec::new(),
        }
    }

    /// Look again only when the object changes.
    pub fn on_change() -> Self {
        Reconciled {
            requeue: None,
            wake: Vec::new(),
        }
    }

    pub fn waking(mut self, wake: impl IntoIterator<Item = Wake>) -> Self {
        self.wake.extend(wake);
        self
    }
}

/// `(namespace, name)` of an object, or the user-class error saying which is missing.
pub fn namespace_and_name<K: Kind>(object: &K) -> Result<(String, String)> {
    let namespace = object
        .meta()
        .namespace
        .clone()
        .ok_or(Error::MissingNamespace { kind: K::KIND })?;
    let name = object
        .meta()
        .name
        .clone()
        .ok_or(Error::MissingName { kind: K::KIND })?;
    Ok((namespace, name))
}

/// The tail of every reconcile: write `status` unless `object` already carries it, and announce
/// a verdict change with `announce` (the Ready condition's message, unless the kind has a better
/// one; `None` for kinds whose verdict changes are not news of their own). Returns whether the
/// status was written.
pub async fn commit<K: Cached, S: StatusStore>(
    store: &S,
    object: &K,
    status: &K::Status,
    announce: Option<&str>,
) -> Result<bool> {
    let written = store.write_status(object, status).await.map_err(|e| {
        Error::write(
            format!("writing the status of {} {}", K::KIND, object.name_or_empty()),
            e,
        )
    })?;
    if let (Some(message), Some(verdict)) = (announce, K::verdict(status)) {
        let previous = object.status().and_then(|s| K::verdict(s));
        store.announce(object, previous, verdict, message).await;
    }
    Ok(written)
}

/// The Ready condition's message: the most useful one-line summary for an announcement.
pub fn ready_message(conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]) -> String {
    find(conditions, types::READY)
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

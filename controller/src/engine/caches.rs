//! One cache per kind: every object the reconcilers read, in both shells.
//!
//! The cluster fills each cache from its one watch (`k8s::wiring`); standalone mode fills them
//! from the folder's manifests and the state folder's statuses, and writes each new status back
//! into its cache, so a kind reconciled later in a round reads what an earlier one wrote, as a
//! reconcile in the cluster reads what the watch brought back.

use super::cache::{Cache, CacheWriter, cache};
use super::kind::Kind;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use launchplane_api::resources::{
    Approval, Artifact, BackupGate, DataBootstrap, DeploymentRecord, Incident, Lane, NotificationPolicy,
    Preview, Product, Promotion, ProviderConfig, ProviderTarget, RuntimeIdentity,
};
use std::sync::Arc;

/// The caches the reconcilers read.
#[derive(Clone)]
pub struct Caches {
    pub configs: Cache<ProviderConfig>,
    pub targets: Cache<ProviderTarget>,
    pub identities: Cache<RuntimeIdentity>,
    pub products: Cache<Product>,
    pub artifacts: Cache<Artifact>,
    pub lanes: Cache<Lane>,
    pub records: Cache<DeploymentRecord>,
    pub previews: Cache<Preview>,
    pub promotions: Cache<Promotion>,
    pub backup_gates: Cache<BackupGate>,
    pub approvals: Cache<Approval>,
    /// The controller's own Incidents (the cluster's gauges read them; incidents are tracked
    /// from fresh reads, see [`crate::engine::incidents`]).
    pub incidents: Cache<Incident>,
    /// Where Incidents are notified (read after each Incident is written).
    pub notification_policies: Cache<NotificationPolicy>,
    /// Data bootstraps of lanes (a lane's `bootstrap` summary, and its deploys held while one
    /// runs).
    pub data_bootstraps: Cache<DataBootstrap>,
}

/// What fills [`Caches`], one writer per kind.
pub struct CacheWriters {
    pub configs: CacheWriter<ProviderConfig>,
    pub targets: CacheWriter<ProviderTarget>,
    pub identities: CacheWriter<RuntimeIdentity>,
    pub products: CacheWriter<Product>,
    pub artifacts: CacheWriter<Artifact>,
    pub lanes: CacheWriter<Lane>,
    pub records: CacheWriter<DeploymentRecord>,
    pub previews: CacheWriter<Preview>,
    pub promotions: CacheWriter<Promotion>,
    pub backup_gates: CacheWriter<BackupGate>,
    pub approvals: CacheWriter<Approval>,
    pub incidents: CacheWriter<Incident>,
    pub notification_policies: CacheWriter<NotificationPolicy>,
    pub data_bootstraps: CacheWriter<DataBootstrap>,
}

/// Empty caches and their writers.
pub fn caches() -> (Caches, CacheWriters) {
    let (configs, configs_w) = cache();
    let (targets, targets_w) = cache();
    let (identities, identities_w) = cache();
    let (products, products_w) = cache();
    let (artifacts, artifacts_w) = cache();
    let (lanes, lanes_w) = cache();
    let (records, records_w) = cache();
    let (previews, previews_w) = cache();
    let (promotions, promotions_w) = cache();
    let (backup_gates, backup_gates_w) = cache();
    let (approvals, approvals_w) = cache();
    let (incidents, incidents_w) = cache();
    let (notification_policies, notification_policies_w) = cache();
    let (data_bootstraps, data_bootstraps_w) = cache();
    (
        Caches {
            configs,
            targets,
            identities,
            products,
            artifacts,
            lanes,
            records,
            previews,
            promotions,
            backup_gates,
            approvals,
            incidents,
            notification_policies,
            data_bootstraps,
        },
        CacheWriters {
            configs: configs_w,
            targets: targets_w,
            identities: identities_w,
            products: products_w,
            artifacts: artifacts_w,
            lanes: lanes_w,
            records: records_w,
            previews: previews_w,
            promotions: promotions_w,
            backup_gates: backup_gates_w,
            approvals: approvals_w,
            incidents: incidents_w,
            notification_policies: notification_policies_w,
            data_bootstraps: data_bootstraps_w,
        },
    )
}

/// A kind's cache among [`Caches`].
pub trait Cached: Kind {
    fn cache(caches: &Caches) -> &Cache<Self>;
    fn writer(writers: &mut CacheWriters) -> &mut CacheWriter<Self>;
}

macro_rules! cached {
    ($kind:ty, $field:ident) => {
        impl Cached for $kind {
            fn cache(caches: &Caches) -> &Cache<Self> {
                &caches.$field
            }

            fn writer(writers: &mut CacheWriters) -> &mut CacheWriter<Self> {
                &mut writers.$field
            }
        }
    };
}

cached!(ProviderConfig, configs);
cached!(ProviderTarget, targets);
cached!(RuntimeIdentity, identities);
cached!(Product, products);
cached!(Artifact, artifacts);
cached!(Lane, lanes);
cached!(DeploymentRecord, records);
cached!(Preview, previews);
cached!(Promotion, promotions);
cached!(BackupGate, backup_gates);
cached!(Approval, approvals);
cached!(Incident, incidents);
cached!(NotificationPolicy, notification_policies);
cached!(DataBootstrap, data_bootstraps);

impl Caches {
    /// The cache of kind `K`.
    pub fn of<K: Cached>(&self) -> &Cache<K> {
        K::cache(self)
    }

    /// The object `namespace/name` of kind `K`, as cached.
    pub fn get<K: Cached>(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        K::cache(self).get(&ObjectRef::new(name).within(namespace))
    }

    /// Every cached object of kind `K` in `namespace`.
    pub fn in_namespace<K: Cached>(&self, namespace: &str) -> Vec<Arc<K>> {
        K::cache(self).state_filter(|o| o.namespace_or_default() == namespace)
    }
}

impl CacheWriters {
    /// Mark every cache listed, empty (standalone mode: the folder's objects are [`put`] after).
    ///
    /// [`put`]: CacheWriters::put
    pub fn listed(&mut self) {
        fn done<K: Cached>(writers: &mut CacheWriters) {
            let writer = K::writer(writers);
            writer.apply(&watcher::Event::Init);
            writer.apply(&watcher::Event::InitDone);
        }
        done::<ProviderConfig>(self);
        done::<ProviderTarget>(self);
        done::<RuntimeIdentity>(self);
        done::<Product>(self);
        done::<Artifact>(self);
        done::<Lane>(self);
        done::<DeploymentRecord>(self);
        done::<Preview>(self);
        done::<Promotion>(self);
        done::<BackupGate>(self);
        done::<Approval>(self);
        done::<Incident>(self);
        done::<NotificationPolicy>(self);
        done::<DataBootstrap>(self);
    }

    /// Put `object` in its cache (a first listing entry, or an update).
    pub fn put<K: Cached>(&mut self, object: K) {
        K::writer(self).apply(&watcher::Event::Apply(object));
    }

    /// Take `object` out of its cache.
    pub fn remove<K: Cached>(&mut self, object: K) {
        K::writer(self).apply(&watcher::Event::Delete(object));
    }
}

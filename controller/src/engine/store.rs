//! Where a reconcile's results go: statuses, verdict announcements, a lane's DeploymentRecords
//! ([`RecordStore`]: the lane driver writes the intent record through it before any provider
//! mutation, and every later phase) and its RuntimeIdentity child. The status subresource, Events and objects in the cluster
//! (`k8s::store`); the state folder in standalone mode (`standalone::store`).

use super::caches::Cached;
use super::kind::Kind;
use futures::future::BoxFuture;
use launchplane_api::Verdict;
use launchplane_api::resources::{
    DeploymentRecord, DeploymentRecordStatus, Incident, Lane, Promotion, RuntimeIdentity,
};
use thiserror::Error;

/// A write that did not happen (secret-free: statuses and records hold no secrets).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum StoreError {
    #[error("{0}")]
    Io(String),
    /// The API server asked to slow down (HTTP 429).
    #[error("{0} (the API server asked to slow down)")]
    Throttled(String),
}

/// The write side of a shell.
pub trait StatusStore: Send + Sync {
    /// Write `status` as `object`'s status unless it already carries exactly it (our own
    /// writes come back, and an unconditional write per reconcile would be a write storm).
    /// Returns whether a write was made.
    fn write_status<'a, K: Cached>(
        &'a self,
        object: &'a K,
        status: &'a K::Status,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Tell people a verdict changed (an Event in the cluster; the printed table is standalone
    /// mode's announcement, so nothing there). Never fails: the status already says it.
    fn announce<'a, K: Kind>(
        &'a self,
        object: &'a K,
        previous: Option<Verdict>,
        current: Verdict,
        message: &'a str,
    ) -> BoxFuture<'a, ()>;

    /// Tell people something happened to `object` besides a verdict change (a promotion gate's
    /// answer changed): an Event in the cluster (`warning`: of type Warning), nothing in
    /// standalone mode (the printed table says it). Never fails.
    fn notify<'a, K: Kind>(
        &'a self,
        object: &'a K,
        reason: &'a str,
        message: &'a str,
        warning: bool,
    ) -> BoxFuture<'a, ()>;

    /// Create a Promotion the controller decided on (`promotion.auto`), unless it exists: its
    /// name is deterministic, so an existing one is the same decision made before. Returns
    /// whether it was created now.
    fn create_promotion<'a>(&'a self, promotion: &'a Promotion) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// The DeploymentRecords of `lane`; `evidence` are the records that name it only by
    /// `spec.laneRef` (from the cache).
    fn lane_records<'a>(
        &'a self,
        lane: &'a Lane,
        evidence: Vec<DeploymentRecord>,
    ) -> Box<dyn RecordStore + 'a>;

    /// The lane's RuntimeIdentity child as stored, when it is the lane's (a RuntimeIdentity of
    /// the lane's name that the lane does not own is left alone: `None`).
    fn lane_identity(&self, lane: &Lane) -> Option<RuntimeIdentity>;

    /// Store the lane's child (its spec and labels; in the cluster its status is the
    /// RuntimeIdentity controller's), unless `stored` already carries them.
    fn save_lane_identity<'a>(
        &'a self,
        lane: &'a Lane,
        child: &'a RuntimeIdentity,
        stored: Option<&'a RuntimeIdentity>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// The Incidents of one subject (label `launchplane.dev/incident-of=<subject>`) in
    /// `namespace`, with status, read fresh: not from a cache that may lag behind the last write.
    fn incidents<'a>(
        &'a self,
        namespace: &'a str,
        subject: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Incident>, StoreError>>;

    /// Create an Incident (spec, labels, owner; no status) and return it as stored. Its name
    /// is deterministic, so one that exists already is returned as it is.
    fn create_incident<'a>(&'a self, incident: &'a Incident) -> BoxFuture<'a, Result<Incident, StoreError>>;

    /// Delete an Incident the controller wrote (a pending one that cleared before it opened).
    fn delete_incident<'a>(&'a self, incident: &'a Incident) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// The records of lanes. Implementations must make `create` durable before it returns.
pub trait RecordStore: Send + Sync {
    /// Every record of `lane` in `namespace`, with status.
    fn list<'a>(
        &'a self,
        namespace: &'a str,
        lane: &'a str,
    ) -> BoxFuture<'a, Result<Vec<DeploymentRecord>, StoreError>>;
    /// Write a new record (spec and initial status). Writing one that exists is a no-op.
    fn create<'a>(&'a self, record: &'a DeploymentRecord) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Replace a record's status.
    fn write_status<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        status: &'a DeploymentRecordStatus,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Delete a record the controller wrote; records from elsewhere are left alone.
    fn delete<'a>(&'a self, namespace: &'a str, name: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
}

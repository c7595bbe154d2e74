//! Where DeploymentRecords live. The lane driver writes the intent record through this before
//! any provider mutation, and every later phase through [`RecordStore::write_status`]. The
//! cluster keeps them as objects (`k8s::records`), standalone mode as files in its state folder
//! (`standalone::records`).

use super::store::StoreError;
use futures::future::BoxFuture;
use launchplane_api::resources::{DeploymentRecord, DeploymentRecordStatus};

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

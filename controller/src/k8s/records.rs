//! DeploymentRecords in the cluster: the [`RecordStore`] the lane driver writes through.
//!
//! - `create` POSTs the record (its spec and labels, owned by the Lane through a plain
//!   ownerReference, so garbage collection removes the history with the lane) and returns only
//!   once the API server has it: the intent is durable before any provider call. A record that
//!   already exists is success (the names are deterministic: a restart re-plans the same one).
//!   The initial status follows by server-side apply on `/status`.
//! - `write_status` server-side applies the whole status with the one field manager.
//! - `list` reads the lane's records fresh from the API server by the `launchplane.dev/lane`
//!   label (a reflector could lag behind our own writes, and a stale list would re-plan a step
//!   already taken), plus records given as evidence that name the lane in `spec.laneRef`
//!   without the label (from the reflector: nobody but their author writes those).
//! - `delete` removes only records the controller wrote (attempt label, origin Controller),
//!   guarded by their uid.
//!
//! Records hold no secrets, so API errors are passed on as they are.

use super::status::{FIELD_MANAGER, apply_status};
use crate::engine::store::{RecordStore, StoreError};
use futures::future::BoxFuture;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{DeleteParams, ListParams, PostParams, Preconditions};
use kube::{Api, Client, Resource};
use launchplane_api::resources::{DeploymentRecord, DeploymentRecordStatus, Lane};
use launchplane_core::deployment_record::{self as record, LANE_LABEL};

/// The ownerReference a lane's records (and its RuntimeIdentity child) carry: not the
/// controller reference, and never blocking the lane's deletion.
pub fn lane_owner(lane: &Lane) -> Option<OwnerReference> {
    Some(OwnerReference {
        api_version: Lane::api_version(&()).into_owned(),
        kind: Lane::kind(&()).into_owned(),
        name: lane.metadata.name.clone()?,
        uid: lane.metadata.uid.clone()?,
        controller: None,
        block_owner_deletion: Some(false),
    })
}

/// The records of one lane, in the lane's namespace.
pub struct KubeRecordStore {
    client: Client,
    lane: String,
    owner: Option<OwnerReference>,
    /// Evidence records naming the lane by `spec.laneRef` only (from the reflector).
    evidence: Vec<DeploymentRecord>,
}

fn io(what: &str, namespace: &str, name: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Io(format!("{what} DeploymentRecord {namespace}/{name}: {error}"))
}

fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == code)
}

impl KubeRecordStore {
    /// The store of `lane`'s records. `evidence` are records that name the lane in
    /// `spec.laneRef` (those without the lane label are added to every list).
    pub fn new(client: Client, lane: &Lane, evidence: Vec<DeploymentRecord>) -> Self {
        KubeRecordStore {
            client,
            lane: lane.metadata.name.clone().unwrap_or_default(),
            owner: lane_owner(lane),
            evidence,
        }
    }

    fn api(&self, namespace: &str) -> Api<DeploymentRecord> {
        Api::namespaced(self.client.clone(), namespace)
    }

    async fn list_records(&self, namespace: &str, lane: &str) -> Result<Vec<DeploymentRecord>, StoreError> {
        let selector = format!("{LANE_LABEL}={lane}");
        let mut out = self
            .api(namespace)
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| io("listing", namespace, &selector, e))?
            .items;
        for r in &self.evidence {
            let same_lane = r.spec.lane_ref.as_ref().is_some_and(|l| l.name == lane)
                && r.metadata.namespace.as_deref() == Some(namespace);
            let listed = out.iter().any(|o| o.metadata.name == r.metadata.name);
            if same_lane && !listed {
                out.push(r.clone());
            }
        }
        Ok(out)
    }

    async fn create_record(&self, rec: &DeploymentRecord) -> Result<(), StoreError> {
        let namespace = rec.metadata.namespace.clone().unwrap_or_else(|| "default".into());
        let name = rec.metadata.name.clone().unwrap_or_default();
        let mut body = rec.clone();
        body.status = None;
        let mine = body
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(LANE_LABEL))
            .is_some_and(|l| *l == self.lane);
        if let (true, Some(owner)) = (mine, &self.owner) {
            body.metadata.owner_references = Some(vec![owner.clone()]);
        }
        let params = PostParams {
            dry_run: false,
            field_manager: Some(FIELD_MANAGER.to_string()),
        };
        let api = self.api(&namespace);
        match api.create(&params, &body).await {
            Ok(_) => {}
            // The same intent written before a restart: it stands as it is (its status may
            // have moved on since; never rewind it).
            Err(e) if is_status(&e, 409) => return Ok(()),
            Err(e) => return Err(io("creating", &namespace, &name, e)),
        }
        if let Some(status) = &rec.status
            && let Err(error) = apply_status(&api, &name, status).await
        {
            // The record is durable; without a status it reads as Pending, which it is.
            tracing::warn!(%error, record = %name, "could not write the initial record status");
        }
        Ok(())
    }

    async fn delete_record(&self, namespace: &str, name: &str) -> Result<(), StoreError> {
        let api = self.api(namespace);
        let Some(found) = api
            .get_opt(name)
            .await
            .map_err(|e| io("reading", namespace, name, e))?
        else {
            return Ok(());
        };
        if record::is_evidence(&found) {
            return Ok(());
        }
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: found.metadata.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(name, &params).await {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, 404) || is_status(&e, 409) => Ok(()),
            Err(e) => Err(io("deleting", namespace, name, e)),
        }
    }
}

impl RecordStore for KubeRecordStore {
    fn list<'a>(
        &'a self,
        namespace: &'a str,
        lane: &'a str,
    ) -> BoxFuture<'a, Result<Vec<DeploymentRecord>, StoreError>> {
        Box::pin(self.list_records(namespace, lane))
    }

    fn create<'a>(&'a self, record: &'a DeploymentRecord) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.create_record(record))
    }

    fn write_status<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        status: &'a DeploymentRecordStatus,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            apply_status(&self.api(namespace), name, status)
                .await
                .map(|_| ())
                .map_err(|e| io("writing the status of", namespace, name, e))
        })
    }

    fn delete<'a>(&'a self, namespace: &'a str, name: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.delete_record(namespace, name))
    }
}

//! Standalone mode's [`StatusStore`]: statuses in the state folder (one JSON file per object,
//! written atomically), each also put back into the round's cache so a kind reconciled later
//! in the round reads it; DeploymentRecords as files ([`FileRecordStore`]); a lane's
//! RuntimeIdentity child whole under `lane-identities/`; the Promotions the controller creates
//! itself (`promotion.auto`) whole under `auto-promotions/`, read back into every round;
//! Incidents whole under `incidents/` (their status under `incident/`).
//! Nothing is announced: the printed table is standalone mode's announcement.

use super::records::FileRecordStore;
use super::state::StateDir;
use crate::engine::incidents::SUBJECT_LABEL;
use crate::engine::store::RecordStore;
use crate::engine::{CacheWriters, Cached, Kind, StatusStore, StoreError};
use futures::future::BoxFuture;
use launchplane_api::Verdict;
use launchplane_api::resources::{DeploymentRecord, Incident, Lane, Promotion, RuntimeIdentity};
use std::sync::Mutex;

/// The kind under which a lane's RuntimeIdentity child is kept in the state folder.
pub const LANE_IDENTITY: &str = "lane-identities";

/// The kind under which the Promotions the controller created (`promotion.auto`) are kept
/// whole: the folder does not hold them, the state folder does.
pub const AUTO_PROMOTIONS: &str = "auto-promotions";

/// The kind under which Incidents are kept whole (spec, labels; their status is kept like
/// every status, under `incident/`).
pub const INCIDENT_OBJECTS: &str = "incidents";

/// Writes into the state folder and the round's caches.
pub struct FolderStore {
    state: StateDir,
    writers: Mutex<CacheWriters>,
    /// DeploymentRecords given as manifests: evidence, whose status lives in the state folder.
    manifest_records: Vec<DeploymentRecord>,
}

impl FolderStore {
    pub fn new(state: StateDir, writers: CacheWriters, manifest_records: Vec<DeploymentRecord>) -> Self {
        FolderStore {
            state,
            writers: Mutex::new(writers),
            manifest_records,
        }
    }

    /// Put `object` (as the folder gives it, with its stored status) in the round's cache.
    pub fn put<K: Cached>(&self, object: K) {
        self.writers.lock().unwrap_or_else(|p| p.into_inner()).put(object);
    }

    /// Every Incident the state folder keeps, with its status.
    pub fn stored_incidents(&self) -> Vec<Incident> {
        stored_incidents(&self.state)
    }

    /// Forget an Incident: its object and its status.
    pub fn forget_incident(&self, incident: &Incident) -> std::io::Result<()> {
        let (namespace, name) = (incident.namespace_or_default(), incident.name_or_empty());
        self.state.remove(INCIDENT_OBJECTS, namespace, name)?;
        self.state.remove(Incident::KIND, namespace, name)?;
        self.writers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(incident.clone());
        Ok(())
    }
}

/// Every Incident `state` keeps, with its status.
pub fn stored_incidents(state: &StateDir) -> Vec<Incident> {
    state
        .stored(INCIDENT_OBJECTS)
        .into_iter()
        .filter_map(|(namespace, name)| {
            let mut incident: Incident = state.load(INCIDENT_OBJECTS, &namespace, &name)?;
            incident.status = state.load(Incident::KIND, &namespace, &name);
            Some(incident)
        })
        .collect()
}

impl StatusStore for FolderStore {
    fn write_status<'a, K: Cached>(
        &'a self,
        object: &'a K,
        status: &'a K::Status,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let (namespace, name) = (object.namespace_or_default(), object.name_or_empty());
            let unchanged = object.status() == Some(status);
            if !unchanged {
                self.state.save(K::KIND, namespace, name, status).map_err(|e| {
                    StoreError::Io(format!(
                        "writing the state of {} {namespace}/{name}: {e}",
                        K::KIND
                    ))
                })?;
            }
            let mut updated = object.clone();
            *updated.status_mut() = Some(status.clone());
            self.put(updated);
            Ok(!unchanged)
        })
    }

    fn announce<'a, K: Kind>(
        &'a self,
        _object: &'a K,
        _previous: Option<Verdict>,
        _current: Verdict,
        _message: &'a str,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    fn notify<'a, K: Kind>(
        &'a self,
        _object: &'a K,
        _reason: &'a str,
        _message: &'a str,
        _warning: bool,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    fn create_promotion<'a>(&'a self, promotion: &'a Promotion) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let namespace = promotion.metadata.namespace.as_deref().unwrap_or("default");
            let name = promotion.metadata.name.as_deref().unwrap_or_default();
            if self
                .state
                .load::<Promotion>(AUTO_PROMOTIONS, namespace, name)
                .is_some()
            {
                return Ok(false);
            }
            let mut stored = promotion.clone();
            stored.status = None;
            self.state
                .save(AUTO_PROMOTIONS, namespace, name, &stored)
                .map_err(|e| StoreError::Io(format!("keeping Promotion {namespace}/{name}: {e}")))?;
            // The rest of the round sees it, as the cluster's watch would bring it back.
            self.put(stored);
            Ok(true)
        })
    }

    fn lane_records<'a>(
        &'a self,
        _lane: &'a Lane,
        _evidence: Vec<DeploymentRecord>,
    ) -> Box<dyn RecordStore + 'a> {
        Box::new(FileRecordStore::new(
            self.state.clone(),
            self.manifest_records.clone(),
        ))
    }

    fn lane_identity(&self, lane: &Lane) -> Option<RuntimeIdentity> {
        self.state.load(
            LANE_IDENTITY,
            lane.metadata.namespace.as_deref().unwrap_or("default"),
            lane.metadata.name.as_deref().unwrap_or_default(),
        )
    }

    fn save_lane_identity<'a>(
        &'a self,
        lane: &'a Lane,
        child: &'a RuntimeIdentity,
        stored: Option<&'a RuntimeIdentity>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            if stored == Some(child) {
                return Ok(());
            }
            let namespace = lane.metadata.namespace.as_deref().unwrap_or("default");
            let name = lane.metadata.name.as_deref().unwrap_or_default();
            self.state
                .save(LANE_IDENTITY, namespace, name, child)
                .map_err(|e| {
                    StoreError::Io(format!(
                        "writing the RuntimeIdentity of lane {namespace}/{name}: {e}"
                    ))
                })
        })
    }

    fn incidents<'a>(
        &'a self,
        namespace: &'a str,
        subject: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Incident>, StoreError>> {
        Box::pin(async move {
            Ok(self
                .stored_incidents()
                .into_iter()
                .filter(|i| {
                    i.namespace_or_default() == namespace
                        && i.metadata
                            .labels
                            .as_ref()
                            .and_then(|l| l.get(SUBJECT_LABEL))
                            .is_some_and(|s| s == subject)
                })
                .collect())
        })
    }

    fn create_incident<'a>(&'a self, incident: &'a Incident) -> BoxFuture<'a, Result<Incident, StoreError>> {
        Box::pin(async move {
            let (namespace, name) = (incident.namespace_or_default(), incident.name_or_empty());
            if let Some(existing) = self.state.load::<Incident>(INCIDENT_OBJECTS, namespace, name) {
                return Ok(existing);
            }
            let mut stored = incident.clone();
            stored.status = None;
            // As the API server would: a new object is at generation 1.
            stored.metadata.generation = Some(1);
            self.state
                .save(INCIDENT_OBJECTS, namespace, name, &stored)
                .map_err(|e| StoreError::Io(format!("keeping Incident {namespace}/{name}: {e}")))?;
            self.put(stored.clone());
            Ok(stored)
        })
    }

    fn delete_incident<'a>(&'a self, incident: &'a Incident) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.forget_incident(incident).map_err(|e| {
                StoreError::Io(format!(
                    "forgetting Incident {}/{}: {e}",
                    incident.namespace_or_default(),
                    incident.name_or_empty()
                ))
            })
        })
    }
}

//! Standalone mode's DeploymentRecords: the [`RecordStore`] of the state folder.

use super::accepted;
use super::state::StateDir;
use crate::engine::store::{RecordStore, StoreError};
use futures::future::BoxFuture;
use launchplane_api::resources::{DeploymentRecord, DeploymentRecordSpec, DeploymentRecordStatus};
use launchplane_core::deployment_record::LANE_LABEL;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Standalone mode's store: records the controller writes are whole JSON objects under
/// `<state>/records/<namespace>/<name>.json` (written atomically: temporary file, then
/// rename); records given as manifests (evidence) keep their status in the state folder like
/// any other resource.
pub struct FileRecordStore {
    root: PathBuf,
    state: StateDir,
    manifests: Vec<DeploymentRecord>,
    lock: Mutex<()>,
}

impl FileRecordStore {
    pub fn new(state: StateDir, manifests: Vec<DeploymentRecord>) -> Self {
        FileRecordStore {
            root: state.root().join("records"),
            state,
            manifests,
            lock: Mutex::new(()),
        }
    }

    fn path(&self, namespace: &str, name: &str) -> PathBuf {
        self.root.join(namespace).join(format!("{name}.json"))
    }

    fn read(&self, path: &Path) -> Result<Option<DeploymentRecord>, StoreError> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| StoreError::Io(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Io(format!("{}: {e}", path.display()))),
        }
    }

    fn write(&self, record: &DeploymentRecord) -> Result<(), StoreError> {
        let namespace = record.metadata.namespace.as_deref().unwrap_or("default");
        let name = record.metadata.name.as_deref().unwrap_or_default();
        let path = self.path(namespace, name);
        let io = |e: std::io::Error| StoreError::Io(format!("{}: {e}", path.display()));
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir).map_err(io)?;
        let json = serde_json::to_vec_pretty(record).map_err(|e| StoreError::Io(e.to_string()))?;
        let tmp = dir.join(format!(".{name}.json.tmp"));
        std::fs::write(&tmp, json).map_err(io)?;
        std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }

    fn manifest(&self, namespace: &str, name: &str) -> Option<&DeploymentRecord> {
        self.manifests.iter().find(|r| {
            r.metadata.namespace.as_deref().unwrap_or("default") == namespace
                && r.metadata.name.as_deref() == Some(name)
        })
    }

    /// The records of `lane` (what [`RecordStore::list`] answers), for readers outside a round.
    pub fn list_sync(&self, namespace: &str, lane: &str) -> Result<Vec<DeploymentRecord>, StoreError> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| StoreError::Io("store lock poisoned".into()))?;
        let mut out: Vec<DeploymentRecord> = self
            .manifests
            .iter()
            .filter(|r| r.metadata.namespace.as_deref().unwrap_or("default") == namespace)
            .filter(|r| r.spec.lane_ref.as_ref().is_some_and(|l| l.name == lane))
            .cloned()
            .map(|mut r| {
                r.status = self.state.load(
                    "DeploymentRecord",
                    namespace,
                    r.metadata.name.as_deref().unwrap_or_default(),
                );
                r
            })
            .collect();
        let dir = self.root.join(namespace);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(StoreError::Io(format!("{}: {e}", dir.display()))),
        };
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        for path in paths {
            if let Some(r) = self.read(&path)? {
                let mine = r
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(LANE_LABEL))
                    .is_some_and(|l| l == lane)
                    || r.spec.lane_ref.as_ref().is_some_and(|l| l.name == lane);
                let shadowed = out.iter().any(|m| m.metadata.name == r.metadata.name);
                if mine && !shadowed {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }

    fn create_sync(&self, record: &DeploymentRecord) -> Result<(), StoreError> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| StoreError::Io("store lock poisoned".into()))?;
        let namespace = record.metadata.namespace.as_deref().unwrap_or("default");
        let name = record.metadata.name.as_deref().unwrap_or_default();
        if self.manifest(namespace, name).is_some() || self.read(&self.path(namespace, name))?.is_some() {
            return Ok(());
        }
        self.write(record)
    }

    fn write_status_sync(
        &self,
        namespace: &str,
        name: &str,
        status: &DeploymentRecordStatus,
    ) -> Result<(), StoreError> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| StoreError::Io("store lock poisoned".into()))?;
        if self.manifest(namespace, name).is_some() {
            return self
                .state
                .save("DeploymentRecord", namespace, name, status)
                .map_err(|e| StoreError::Io(e.to_string()));
        }
        let Some(mut record) = self.read(&self.path(namespace, name))? else {
            return Err(StoreError::Io(format!(
                "deployment record {namespace}/{name} does not exist"
            )));
        };
        record.status = Some(status.clone());
        self.write(&record)
    }

    fn delete_sync(&self, namespace: &str, name: &str) -> Result<(), StoreError> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| StoreError::Io("store lock poisoned".into()))?;
        match std::fs::remove_file(self.path(namespace, name)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::Io(e.to_string())),
        }
    }
}

/// The DeploymentRecords given as manifests, as the state folder keeps them without the
/// manifests folder: each spec as last accepted from the folder (`accepted/DeploymentRecord/`),
/// named by its namespace and name. Their status is read by [`FileRecordStore`]. The folder's
/// manifests carry more (labels), but nothing a record's lane, origin or evidence is read from.
pub fn accepted_manifest_records(state: &StateDir) -> Result<Vec<DeploymentRecord>, StoreError> {
    const KIND: &str = "DeploymentRecord";
    let mut out = Vec::new();
    for (namespace, name) in accepted::stored(state, KIND) {
        let unreadable = |why: String| {
            StoreError::Io(format!(
                "state folder {}: the accepted DeploymentRecord {namespace}/{name} {why}",
                state.root().display()
            ))
        };
        let body = accepted::load(state, KIND, &namespace, &name)
            .ok_or_else(|| unreadable("cannot be read as JSON".into()))?;
        let spec: DeploymentRecordSpec = serde_json::from_value(body["spec"].clone())
            .map_err(|e| unreadable(format!("has no readable spec: {e}")))?;
        let mut record = DeploymentRecord::new(&name, spec);
        record.metadata.namespace = Some(namespace);
        out.push(record);
    }
    Ok(out)
}

impl RecordStore for FileRecordStore {
    fn list<'a>(
        &'a self,
        namespace: &'a str,
        lane: &'a str,
    ) -> BoxFuture<'a, Result<Vec<DeploymentRecord>, StoreError>> {
        Box::pin(async move { self.list_sync(namespace, lane) })
    }

    fn create<'a>(&'a self, record: &'a DeploymentRecord) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.create_sync(record) })
    }

    fn write_status<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        status: &'a DeploymentRecordStatus,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.write_status_sync(namespace, name, status) })
    }

    fn delete<'a>(&'a self, namespace: &'a str, name: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.delete_sync(namespace, name) })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use launchplane_api::resources::{DeploymentPhase, DeploymentRecordSpec, LocalObjectRef};
    use std::collections::BTreeMap;

    fn record(name: &str, lane: &str, labelled: bool) -> DeploymentRecord {
        let mut r = DeploymentRecord::new(
            name,
            DeploymentRecordSpec {
                lane_ref: Some(LocalObjectRef::new(lane)),
                artifact_ref: LocalObjectRef::new("shop-1"),
                target_ref: LocalObjectRef::new("t"),
                ..Default::default()
            },
        );
        r.metadata.namespace = Some("shop".into());
        if labelled {
            r.metadata.labels = Some(BTreeMap::from([(LANE_LABEL.to_string(), lane.to_string())]));
        }
        r
    }

    #[test]
    fn created_records_survive_a_new_store_and_creating_twice_keeps_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileRecordStore::new(StateDir::new(dir.path()), vec![]);
        let mut first = record("dr-1", "testing", true);
        first.status = Some(DeploymentRecordStatus {
            phase: Some(DeploymentPhase::Pending),
            ..Default::default()
        });
        store.create_sync(&first).unwrap();
        let mut again = first.clone();
        again.spec.requested_by = Some("second".into());
        store.create_sync(&again).unwrap();
        let status = DeploymentRecordStatus {
            phase: Some(DeploymentPhase::Deploying),
            ..Default::default()
        };
        store.write_status_sync("shop", "dr-1", &status).unwrap();

        let reopened = FileRecordStore::new(StateDir::new(dir.path()), vec![]);
        let listed = reopened.list_sync("shop", "testing").unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].spec.requested_by, None);
        assert_eq!(
            listed[0].status.as_ref().unwrap().phase,
            Some(DeploymentPhase::Deploying)
        );
        assert!(reopened.list_sync("shop", "prod").unwrap().is_empty());
        // No temporary file is left behind.
        let names: Vec<String> = std::fs::read_dir(dir.path().join("records/shop"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["dr-1.json"]);
        reopened.delete_sync("shop", "dr-1").unwrap();
        assert!(reopened.list_sync("shop", "testing").unwrap().is_empty());
    }

    #[test]
    fn manifest_records_are_read_back_from_what_the_state_folder_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let evidence = record("ext-1", "prod", false);
        let body = serde_json::json!({ "spec": evidence.spec });
        state
            .save("accepted/DeploymentRecord", "shop", "ext-1", &body)
            .unwrap();
        let read = accepted_manifest_records(&state).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].metadata.namespace.as_deref(), Some("shop"));
        assert_eq!(read[0].metadata.name.as_deref(), Some("ext-1"));
        assert_eq!(read[0].spec, evidence.spec);

        // A spec that cannot be read fails the whole read: a history without it would be wrong.
        let broken = serde_json::json!({ "spec": { "laneRef": { "name": "prod" } } });
        state
            .save("accepted/DeploymentRecord", "shop", "ext-2", &broken)
            .unwrap();
        let e = accepted_manifest_records(&state).unwrap_err().to_string();
        assert!(
            e.contains("DeploymentRecord shop/ext-2 has no readable spec"),
            "{e}"
        );
    }

    #[test]
    fn manifest_records_keep_their_status_in_the_state_folder() {
        let dir = tempfile::tempdir().unwrap();
        let evidence = record("ext-1", "prod", false);
        let store = FileRecordStore::new(StateDir::new(dir.path()), vec![evidence]);
        let status = DeploymentRecordStatus {
            phase: Some(DeploymentPhase::Succeeded),
            ..Default::default()
        };
        store.write_status_sync("shop", "ext-1", &status).unwrap();
        let listed = store.list_sync("shop", "prod").unwrap();
        assert_eq!(
            listed[0].status.as_ref().unwrap().phase,
            Some(DeploymentPhase::Succeeded)
        );
        assert!(dir.path().join("deploymentrecord/shop/ext-1.json").exists());
        // Deleting evidence is a no-op.
        store.delete_sync("shop", "ext-1").unwrap();
        assert_eq!(store.list_sync("shop", "prod").unwrap().len(), 1);
    }
}

//! The cluster's [`StatusStore`]: statuses by server-side apply on the status subresource,
//! verdict changes as Events, a lane's DeploymentRecords as objects ([`KubeRecordStore`]) and
//! its RuntimeIdentity child as an object the lane owns.

use super::events::{publish_note, publish_transition};
use super::records::{KubeRecordStore, lane_owner};
use super::status::{FIELD_MANAGER, apply_status};
use crate::engine::cache::Cache;
use crate::engine::incidents::SUBJECT_LABEL;
use crate::engine::store::RecordStore;
use crate::engine::{Cached, Kind, StatusStore, StoreError};
use futures::future::BoxFuture;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::{Client, Resource, ResourceExt};
use launchplane_api::Verdict;
use launchplane_api::resources::{DeploymentRecord, Incident, Lane, Promotion, RuntimeIdentity};

/// Writes through the API server.
#[derive(Clone)]
pub struct KubeStore {
    client: Client,
    /// Verdict transitions (a verdict flapping back within kube's cache window adds to the
    /// series of its first Event).
    recorder: Recorder,
    /// Who publishes Events; each note gets a recorder of its own (see `notify`).
    reporter: Reporter,
    /// The RuntimeIdentity cache (a lane's child is read from it).
    identities: Cache<RuntimeIdentity>,
}

impl KubeStore {
    pub fn new(client: Client, reporter: Reporter, identities: Cache<RuntimeIdentity>) -> Self {
        KubeStore {
            recorder: Recorder::new(client.clone(), reporter.clone()),
            client,
            reporter,
            identities,
        }
    }
}

/// The store error for a failed API call: throttled on 429, else I/O.
pub fn store_error(what: String, error: &kube::Error) -> StoreError {
    let message = format!("{what}: {error}");
    match error {
        kube::Error::Api(status) if status.code == 429 => StoreError::Throttled(message),
        _ => StoreError::Io(message),
    }
}

/// Why the RuntimeIdentity named like the lane is not the lane's to write: it exists and is
/// not owned by this lane (someone created it by hand).
fn identity_blocked(lane: &Lane, existing: &RuntimeIdentity) -> Option<String> {
    let uid = lane.metadata.uid.as_deref()?;
    let owned = existing
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.uid == uid);
    (!owned).then(|| {
        format!(
            "RuntimeIdentity {} exists and is not owned by this lane; it is left alone",
            existing.name_any()
        )
    })
}

impl StatusStore for KubeStore {
    fn write_status<'a, K: Cached>(
        &'a self,
        object: &'a K,
        status: &'a K::Status,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let (namespace, name) = (object.namespace_or_default(), object.name_or_empty());
            if object.status() == Some(status) {
                tracing::trace!(kind = K::KIND, namespace, name, "status unchanged; not written");
                return Ok(false);
            }
            tracing::debug!(kind = K::KIND, namespace, name, "writing status");
            let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
            apply_status(&api, name, status).await.map_err(|e| {
                store_error(
                    format!("writing the status of {} {namespace}/{name}", K::KIND),
                    &e,
                )
            })?;
            Ok(true)
        })
    }

    fn announce<'a, K: Kind>(
        &'a self,
        object: &'a K,
        previous: Option<Verdict>,
        current: Verdict,
        message: &'a str,
    ) -> BoxFuture<'a, ()> {
        Box::pin(publish_transition(
            &self.recorder,
            object,
            previous,
            current,
            message,
        ))
    }

    fn notify<'a, K: Kind>(
        &'a self,
        object: &'a K,
        reason: &'a str,
        message: &'a str,
        warning: bool,
    ) -> BoxFuture<'a, ()> {
        // Each note is news of its own: a gate's new answer, with its own sentence. kube's
        // Recorder folds Events of one reason about one object into a series of the first,
        // keeping the first note, so a shared recorder would show a Promotion's second
        // GateAllowed with the first gate's sentence. A fresh recorder has nothing to fold into.
        let recorder = Recorder::new(self.client.clone(), self.reporter.clone());
        Box::pin(async move { publish_note(&recorder, object, reason, message, warning).await })
    }

    fn create_promotion<'a>(&'a self, promotion: &'a Promotion) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let namespace = promotion
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| "default".into());
            let name = promotion.name_any();
            let mut body = promotion.clone();
            body.status = None;
            let api: Api<Promotion> = Api::namespaced(self.client.clone(), &namespace);
            let params = PostParams {
                dry_run: false,
                field_manager: Some(FIELD_MANAGER.to_string()),
            };
            match api.create(&params, &body).await {
                Ok(_) => Ok(true),
                // The same decision made before (the name is derived from lane and artifact).
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                Err(e) => Err(store_error(format!("creating Promotion {namespace}/{name}"), &e)),
            }
        })
    }

    fn lane_records<'a>(
        &'a self,
        lane: &'a Lane,
        evidence: Vec<DeploymentRecord>,
    ) -> Box<dyn RecordStore + 'a> {
        Box::new(KubeRecordStore::new(self.client.clone(), lane, evidence))
    }

    fn lane_identity(&self, lane: &Lane) -> Option<RuntimeIdentity> {
        let namespace = lane.metadata.namespace.as_deref()?;
        let name = lane.metadata.name.as_deref()?;
        let existing = self.identities.get(&ObjectRef::new(name).within(namespace))?;
        match identity_blocked(lane, &existing) {
            Some(why) => {
                tracing::warn!(%why, "not adopting the RuntimeIdentity");
                None
            }
            None => Some(existing.as_ref().clone()),
        }
    }

    fn save_lane_identity<'a>(
        &'a self,
        lane: &'a Lane,
        child: &'a RuntimeIdentity,
        stored: Option<&'a RuntimeIdentity>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let namespace = child.metadata.namespace.clone().unwrap_or_default();
            let name = child.name_any();
            // A RuntimeIdentity of the lane's name that someone else made is left alone.
            if let Some(existing) = self.identities.get(&ObjectRef::new(&name).within(&namespace))
                && identity_blocked(lane, &existing).is_some()
            {
                return Ok(());
            }
            let owner = lane_owner(lane);
            let unchanged = stored.is_some_and(|s| {
                s.spec == child.spec
                    && s.metadata.labels == child.metadata.labels
                    && owner.as_ref().is_none_or(|o| {
                        s.metadata
                            .owner_references
                            .iter()
                            .flatten()
                            .any(|r| r.uid == o.uid)
                    })
            });
            if unchanged {
                return Ok(());
            }
            // Spec, labels and the ownerReference; its status is the RuntimeIdentity reconcile's.
            let body = serde_json::json!({
                "apiVersion": RuntimeIdentity::api_version(&()),
                "kind": RuntimeIdentity::kind(&()),
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "labels": child.metadata.labels,
                    "ownerReferences": owner.into_iter().collect::<Vec<_>>(),
                },
                "spec": child.spec,
            });
            let api: Api<RuntimeIdentity> = Api::namespaced(self.client.clone(), &namespace);
            api.patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(body),
            )
            .await
            .map_err(|e| store_error(format!("applying RuntimeIdentity {namespace}/{name}"), &e))?;
            Ok(())
        })
    }

    fn incidents<'a>(
        &'a self,
        namespace: &'a str,
        subject: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Incident>, StoreError>> {
        Box::pin(async move {
            let api: Api<Incident> = Api::namespaced(self.client.clone(), namespace);
            let selector = format!("{SUBJECT_LABEL}={subject}");
            Ok(api
                .list(&ListParams::default().labels(&selector))
                .await
                .map_err(|e| store_error(format!("listing Incidents {namespace}/{selector}"), &e))?
                .items)
        })
    }

    fn create_incident<'a>(&'a self, incident: &'a Incident) -> BoxFuture<'a, Result<Incident, StoreError>> {
        Box::pin(async move {
            let namespace = incident.namespace_or_default();
            let name = incident.name_any();
            let api: Api<Incident> = Api::namespaced(self.client.clone(), namespace);
            let mut body = incident.clone();
            body.status = None;
            body.metadata.creation_timestamp = None;
            let params = PostParams {
                dry_run: false,
                field_manager: Some(FIELD_MANAGER.to_string()),
            };
            match api.create(&params, &body).await {
                Ok(created) => Ok(created),
                // Written before (the name is the subject's and the check's): take it as it is.
                Err(kube::Error::Api(status)) if status.code == 409 => api
                    .get(&name)
                    .await
                    .map_err(|e| store_error(format!("reading Incident {namespace}/{name}"), &e)),
                Err(e) => Err(store_error(format!("creating Incident {namespace}/{name}"), &e)),
            }
        })
    }

    fn delete_incident<'a>(&'a self, incident: &'a Incident) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let namespace = incident.namespace_or_default();
            let name = incident.name_any();
            let api: Api<Incident> = Api::namespaced(self.client.clone(), namespace);
            // Only the object read: one recreated since is another decision's.
            let params = DeleteParams {
                preconditions: incident.metadata.uid.clone().map(|uid| Preconditions {
                    uid: Some(uid),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            match api.delete(&name, &params).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
                Err(e) => Err(store_error(format!("deleting Incident {namespace}/{name}"), &e)),
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::engine::caches::caches;
    use launchplane_api::resources::PromotionSpec;
    use launchplane_testkit::FakeApiServer;

    #[tokio::test]
    async fn each_gate_note_is_an_event_of_its_own_with_its_own_sentence() {
        let server = FakeApiServer::new();
        let (caches, _writers) = caches();
        let store = KubeStore::new(
            server.client(),
            Reporter::from("launchplane"),
            caches.identities.clone(),
        );
        let mut promotion = Promotion::new("prod-shop-a", PromotionSpec::default());
        promotion.metadata.namespace = Some("shop".into());
        let notes = [
            "Route: Lane shop-prod takes promotions from Lane shop-testing",
            "BackupGate: BackupGate nightly-2 passed",
        ];
        for note in notes {
            store.notify(&promotion, "GateAllowed", note, false).await;
        }
        let sent: Vec<(http::Method, String)> = server
            .calls()
            .into_iter()
            .filter(|c| c.path.contains("/events"))
            .map(|c| (c.method, c.body["note"].as_str().unwrap_or_default().to_string()))
            .collect();
        assert_eq!(
            sent,
            notes
                .iter()
                .map(|n| (http::Method::POST, n.to_string()))
                .collect::<Vec<_>>()
        );
    }
}

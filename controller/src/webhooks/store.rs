//! What the receiver reads and writes: Products, Previews and ProviderConfigs. In the cluster
//! ([`KubeStore`]) through the API server under its own field manager; the decision of what to
//! write is `launchplane_core::pull_request`'s.

use futures::future::BoxFuture;
use jiff::Timestamp;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::{Api, Client};
use launchplane_api::resources::{POLL_REQUESTED_ANNOTATION, Preview, Product, ProviderConfig};
use serde_json::json;

/// The field manager of the receiver's writes.
pub const FIELD_MANAGER: &str = "launchplane-webhooks";

/// A read or write the store could not make. Secret-free: it names objects, never values.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("{message}")]
pub struct StoreError {
    pub message: String,
    /// The object changed or appeared meanwhile (409/412): the next delivery decides again.
    pub conflict: bool,
}

/// The objects the receiver works on.
pub trait PreviewStore: Send + Sync {
    /// Every Product the receiver serves (its namespace, or all).
    fn products(&self) -> BoxFuture<'_, Result<Vec<Product>, StoreError>>;
    /// Every Preview of `namespace`.
    fn previews<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Result<Vec<Preview>, StoreError>>;
    fn create<'a>(&'a self, preview: &'a Preview) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Write `preview`'s labels, annotations and spec over `judged` (the object decided on).
    fn replace<'a>(
        &'a self,
        preview: &'a Preview,
        judged: &'a Preview,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Delete `judged`, and only that object (same uid).
    fn delete<'a>(&'a self, judged: &'a Preview) -> BoxFuture<'a, Result<(), StoreError>>;
    fn provider_config<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<ProviderConfig>, StoreError>>;
    /// Ask the controller to poll `namespace/name` now (see [`POLL_REQUESTED_ANNOTATION`]).
    fn request_poll<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        at: Timestamp,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// The cluster's store.
#[derive(Clone)]
pub struct KubeStore {
    client: Client,
    /// Serve one namespace's Products only; `None`: every namespace.
    namespace: Option<String>,
}

impl KubeStore {
    pub fn new(client: Client, namespace: Option<String>) -> Self {
        KubeStore { client, namespace }
    }
}

fn failed(what: String, error: kube::Error) -> StoreError {
    let conflict = matches!(&error, kube::Error::Api(s) if s.code == 409 || s.code == 412);
    StoreError {
        message: format!("{what}: {error}"),
        conflict,
    }
}

fn name_of(p: &Preview) -> (String, String) {
    (
        p.metadata.namespace.clone().unwrap_or_else(|| "default".into()),
        p.metadata.name.clone().unwrap_or_default(),
    )
}

impl PreviewStore for KubeStore {
    fn products(&self) -> BoxFuture<'_, Result<Vec<Product>, StoreError>> {
        Box::pin(async move {
            let api: Api<Product> = crate::k8s::run::api(self.client.clone(), self.namespace.as_deref());
            api.list(&ListParams::default())
                .await
                .map(|l| l.items)
                .map_err(|e| failed("listing Products".into(), e))
        })
    }

    fn previews<'a>(&'a self, namespace: &'a str) -> BoxFuture<'a, Result<Vec<Preview>, StoreError>> {
        Box::pin(async move {
            Api::<Preview>::namespaced(self.client.clone(), namespace)
                .list(&ListParams::default())
                .await
                .map(|l| l.items)
                .map_err(|e| failed(format!("listing the Previews of namespace {namespace}"), e))
        })
    }

    fn create<'a>(&'a self, preview: &'a Preview) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let (ns, name) = name_of(preview);
            let params = PostParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..PostParams::default()
            };
            Api::<Preview>::namespaced(self.client.clone(), &ns)
                .create(&params, preview)
                .await
                .map(drop)
                .map_err(|e| failed(format!("creating Preview {ns}/{name}"), e))
        })
    }

    fn replace<'a>(
        &'a self,
        preview: &'a Preview,
        judged: &'a Preview,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let (ns, name) = name_of(judged);
            // The resourceVersion of the object judged: if a person changed it meanwhile (took
            // it over, say), the API server refuses and the next delivery decides again.
            let body = json!({
                "apiVersion": "launchplane.dev/v1alpha1",
                "kind": "Preview",
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "resourceVersion": judged.metadata.resource_version,
                    "labels": preview.metadata.labels,
                    "annotations": preview.metadata.annotations,
                },
                "spec": preview.spec,
            });
            Api::<Preview>::namespaced(self.client.clone(), &ns)
                .patch(
                    &name,
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(&body),
                )
                .await
                .map(drop)
                .map_err(|e| failed(format!("updating Preview {ns}/{name}"), e))
        })
    }

    fn delete<'a>(&'a self, judged: &'a Preview) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let (ns, name) = name_of(judged);
            let params = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: judged.metadata.uid.clone(),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            match Api::<Preview>::namespaced(self.client.clone(), &ns)
                .delete(&name, &params)
                .await
            {
                Ok(_) => Ok(()),
                // Gone already: what was asked for.
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
                Err(e) => Err(failed(format!("deleting Preview {ns}/{name}"), e)),
            }
        })
    }

    fn provider_config<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<ProviderConfig>, StoreError>> {
        Box::pin(async move {
            Api::<ProviderConfig>::namespaced(self.client.clone(), namespace)
                .get_opt(name)
                .await
                .map_err(|e| failed(format!("reading ProviderConfig {namespace}/{name}"), e))
        })
    }

    fn request_poll<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        at: Timestamp,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let patch = json!({"metadata": {"annotations": {POLL_REQUESTED_ANNOTATION: at.to_string()}}});
            Api::<ProviderConfig>::namespaced(self.client.clone(), namespace)
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map(drop)
                .map_err(|e| failed(format!("asking ProviderConfig {namespace}/{name} to poll"), e))
        })
    }
}

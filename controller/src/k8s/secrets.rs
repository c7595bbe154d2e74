//! Secrets and ConfigMaps in the cluster, read by a plain GET when a reconcile needs them: they
//! are not watched (a controller that cached every Secret of every namespace would hold far
//! more than it reads), and values never leave the returned data.

use crate::engine::secrets::{ReadPurpose, SecretData, Secrets, WorldError};
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{Api, Client};
use std::collections::BTreeMap;

/// The cluster's [`Secrets`]: the API server, and no environment variables.
#[derive(Clone)]
pub struct KubeSecrets {
    client: Client,
}

impl KubeSecrets {
    pub fn new(client: Client) -> Self {
        KubeSecrets { client }
    }
}

fn read_error(
    kind: &'static str,
    namespace: &str,
    name: &str,
    purpose: ReadPurpose,
    error: kube::Error,
) -> WorldError {
    WorldError {
        kind,
        namespace: namespace.to_string(),
        name: name.to_string(),
        throttled: matches!(&error, kube::Error::Api(status) if status.code == 429),
        message: error.to_string(),
        purpose,
    }
}

impl Secrets for KubeSecrets {
    fn secret<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        purpose: ReadPurpose,
    ) -> BoxFuture<'a, Result<Option<SecretData>, WorldError>> {
        Box::pin(async move {
            let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
            let secret = api
                .get_opt(name)
                .await
                .map_err(|e| read_error("Secret", namespace, name, purpose, e))?;
            Ok(secret.map(|s| {
                let mut data: BTreeMap<String, Vec<u8>> = s
                    .data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.0))
                    .collect();
                // The API server folds stringData into data on write; a Secret read back has
                // none, but honour it as the API server would if one does.
                data.extend(
                    s.string_data
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k, v.into_bytes())),
                );
                data
            }))
        })
    }

    fn config_map<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<BTreeMap<String, String>>, WorldError>> {
        Box::pin(async move {
            let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
            let config_map = api
                .get_opt(name)
                .await
                .map_err(|e| read_error("ConfigMap", namespace, name, ReadPurpose::Env, e))?;
            Ok(config_map.map(|c| c.data.unwrap_or_default()))
        })
    }

    fn variable(&self, _name: &str) -> Option<String> {
        None
    }

    fn reads_variables(&self) -> bool {
        false
    }
}

//! Where Secrets, ConfigMaps and variables come from: the API server in the cluster
//! (`k8s::secrets`), the folder and the process environment in standalone mode
//! (`standalone::secrets`). Values never leave the returned data.

use futures::future::BoxFuture;
use std::collections::BTreeMap;
use thiserror::Error;

/// A Secret's or ConfigMap's data could not be read (the object may exist; an absent object is
/// `Ok(None)`, not an error). Secret-free: it names the object, never a value.
#[derive(Debug, Error)]
#[error("reading {kind} {namespace}/{name}: {message}")]
pub struct WorldError {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub message: String,
    /// Whether the failure was the API server asking to slow down (HTTP 429).
    pub throttled: bool,
    /// What the object was read for (metrics tell an API key from a lane's env).
    pub purpose: ReadPurpose,
}

/// Why a Secret or ConfigMap was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadPurpose {
    /// A ProviderConfig's API key.
    ApiKey,
    /// A lane's env (`spec.env.secretRefs`, `spec.env.configMapRefs`).
    Env,
    /// A secret of the webhook receiver (GitHub's webhook secret or token, a Dokploy
    /// notification token).
    Webhook,
    /// A NotificationPolicy destination's credentials (a token, a webhook URL, an SMTP
    /// password or CA).
    Notification,
}

/// A Secret's data: `data` decoded, `stringData` merged. Values are secrets.
pub type SecretData = BTreeMap<String, Vec<u8>>;

/// Where Secrets, ConfigMaps and variables come from: the API server in the cluster, the
/// folder (and the process environment) in standalone mode.
pub trait Secrets: Send + Sync {
    /// The data of Secret `namespace/name` (`data` decoded, `stringData` merged), if it exists.
    fn secret<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        purpose: ReadPurpose,
    ) -> BoxFuture<'a, Result<Option<SecretData>, WorldError>>;

    /// The data of ConfigMap `namespace/name`, if it exists.
    fn config_map<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<BTreeMap<String, String>>, WorldError>>;

    /// An environment variable (the API key of [`super::providers::api_key_variable`]); the
    /// cluster reads none.
    fn variable(&self, name: &str) -> Option<String>;

    /// Whether [`Secrets::variable`] can ever answer (so messages may mention variables).
    fn reads_variables(&self) -> bool;
}

//! Secrets and ConfigMaps in standalone mode: the manifests of the folder, and the process
//! environment for API keys ([`crate::engine::providers::api_key_variable`]).

use super::inputs::Inputs;
use crate::engine::secrets::{ReadPurpose, SecretData, Secrets, WorldError};
use futures::future::BoxFuture;
use std::collections::{BTreeMap, HashMap};

/// Where API keys come from besides Secret manifests: the environment, read by the caller so
/// this module stays free of process-global state.
pub type EnvLookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// The folder's [`Secrets`].
pub struct FolderSecrets {
    secrets: HashMap<String, BTreeMap<String, Vec<u8>>>,
    config_maps: HashMap<String, BTreeMap<String, String>>,
    env: Box<EnvLookup>,
}

impl FolderSecrets {
    pub fn new(inputs: &Inputs, env: Box<EnvLookup>) -> Self {
        FolderSecrets {
            secrets: inputs.secrets.clone(),
            config_maps: inputs.config_maps.clone(),
            env,
        }
    }
}

impl Secrets for FolderSecrets {
    fn secret<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        _purpose: ReadPurpose,
    ) -> BoxFuture<'a, Result<Option<SecretData>, WorldError>> {
        Box::pin(async move { Ok(self.secrets.get(&format!("{namespace}/{name}")).cloned()) })
    }

    fn config_map<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<BTreeMap<String, String>>, WorldError>> {
        Box::pin(async move { Ok(self.config_maps.get(&format!("{namespace}/{name}")).cloned()) })
    }

    fn variable(&self, name: &str) -> Option<String> {
        (self.env)(name)
    }

    fn reads_variables(&self) -> bool {
        true
    }
}

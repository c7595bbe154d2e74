//! The ProviderConfig, its API key and the ProviderTargets, read as each shell reads them: in
//! the cluster through the API server (`KubeSecrets` for the key), or from a folder of
//! manifests through standalone mode's loader (`FolderSecrets`, so
//! `LAUNCHPLANE_API_KEY_<CONFIG>` wins over the Secret manifest) with the ProviderTargets'
//! statuses from the state folder. Nothing is written in either.

use super::SourceArgs;
use crate::engine::preview::DEFAULT_INSTANCE;
use crate::engine::providers::resolve_api_key;
use crate::engine::secrets::Secrets;
use crate::k8s::secrets::KubeSecrets;
use crate::standalone::inputs::{self, LoadContext};
use crate::standalone::manifests::load_dir;
use crate::standalone::secrets::FolderSecrets;
use crate::standalone::state::StateDir;
use kube::Client;
use kube::api::{Api, ListParams};
use launchplane_api::ownership::valid_instance_id;
use launchplane_api::resources::{ProviderConfig, ProviderTarget, ProviderTargetStatus};
use launchplane_api::{GROUP, VERSION};
use launchplane_providers::ApiKey;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a folder's API keys come from besides its Secret manifests (the process environment).
pub type Env = dyn Fn(&str) -> Option<String> + Send + Sync;

/// The default state folder, as `launchplane reconcile` keeps it.
const DEFAULT_STATE: &str = ".launchplane-state";

/// What the commands work from.
#[derive(Clone)]
pub struct Loaded {
    pub namespace: String,
    pub config: ProviderConfig,
    /// Every ProviderTarget of the namespace (of any config), with its status where known.
    pub targets: Vec<ProviderTarget>,
    pub api_key: ApiKey,
    /// This instance's id as markers name it; `None`: it has made none (a folder never run).
    pub instance: Option<String>,
    /// Where it was read: `cluster` or the folder.
    pub origin: String,
}

impl Loaded {
    /// `namespace/name` of the ProviderConfig.
    pub fn key(&self) -> String {
        format!(
            "{}/{}",
            self.namespace,
            self.config.metadata.name.as_deref().unwrap_or_default()
        )
    }
}

fn instance(source: &SourceArgs, default: Option<String>) -> Result<Option<String>, String> {
    match &source.instance_id {
        Some(id) if valid_instance_id(id) => Ok(Some(id.clone())),
        Some(id) => Err(format!(
            "--instance-id {id:?}: must be 1-63 characters of lowercase letters, digits and '-', starting \
             and ending with a letter or digit (the controller's --instance-id)"
        )),
        None => Ok(default),
    }
}

/// The ProviderConfig `--provider-config` names in the namespace `-n` names (the kubeconfig
/// context's by default), its API key, and the namespace's ProviderTargets.
pub async fn from_cluster(client: &Client, source: &SourceArgs) -> Result<Loaded, String> {
    let instance = instance(source, Some(DEFAULT_INSTANCE.to_string()))?;
    let namespace = source
        .namespace
        .clone()
        .unwrap_or_else(|| client.default_namespace().to_string());
    let name = &source.provider_config;
    let configs: Api<ProviderConfig> = Api::namespaced(client.clone(), &namespace);
    let config = match configs.get_opt(name).await {
        Ok(Some(config)) => config,
        Ok(None) => {
            return Err(format!(
                "--provider-config: there is no ProviderConfig {name} in namespace {namespace}; `kubectl get \
                 providerconfigs -n {namespace}` lists them, and -n picks another namespace"
            ));
        }
        Err(e) => return Err(unreadable(&format!("ProviderConfig {namespace}/{name}"), &e)),
    };
    let targets: Api<ProviderTarget> = Api::namespaced(client.clone(), &namespace);
    // The whole list or nothing: a claim left out would make its service look free to import.
    let targets = targets
        .list(&ListParams::default())
        .await
        .map_err(|e| unreadable(&format!("the ProviderTargets of namespace {namespace}"), &e))?
        .items;
    let api_key = api_key(&KubeSecrets::new(client.clone()), &config).await?;
    Ok(Loaded {
        namespace,
        config,
        targets,
        api_key,
        instance,
        origin: "cluster".into(),
    })
}

fn unreadable(what: &str, error: &kube::Error) -> String {
    format!(
        "cannot read {what}: {error}; check KUBECONFIG and that you may get providerconfigs and secrets and \
         list providertargets there"
    )
}

async fn api_key(secrets: &dyn Secrets, config: &ProviderConfig) -> Result<ApiKey, String> {
    let key = format!(
        "{}/{}",
        config.metadata.namespace.as_deref().unwrap_or("default"),
        config.metadata.name.as_deref().unwrap_or_default()
    );
    match resolve_api_key(secrets, config).await {
        Ok(Ok((api_key, _))) => Ok(api_key),
        Ok(Err(problem)) => Err(format!("ProviderConfig {key}: {}", problem.message)),
        Err(e) => Err(format!("ProviderConfig {key}: {e}")),
    }
}

/// The ProviderConfig `--provider-config` names in the folder `dir` (namespace `-n`, default
/// `default`), its API key, and the folder's ProviderTargets of that namespace with the
/// statuses the state folder keeps. The folder is checked as `launchplane reconcile` checks
/// it: one bad manifest refuses the folder.
pub async fn from_folder(dir: &Path, source: &SourceArgs, env: Arc<Env>) -> Result<Loaded, String> {
    let state = StateDir::new(
        source
            .state
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE)),
    );
    let instance = instance(source, state.stored_instance_id())?;
    let (manifests, errors) = load_dir(dir);
    if !errors.is_empty() {
        return Err(problems(dir, errors.iter().map(ToString::to_string)));
    }
    if manifests.is_empty() {
        return Err(format!(
            "-f: no manifests found in {}; pass the folder holding the ProviderConfig and its ProviderTargets",
            dir.display()
        ));
    }
    let variable = |name: &str| env(name);
    // Transition rules compare with the object as last accepted; a read-only command takes
    // every object as new, so it never records what it accepted.
    let nothing_accepted = |_: &str, _: &str, _: &str| None;
    let context = LoadContext {
        variable: &variable,
        accepted: &nothing_accepted,
    };
    let inputs = inputs::decode(&manifests, context)
        .map_err(|errors| problems(dir, errors.iter().map(ToString::to_string)))?;
    let namespace = source.namespace.clone().unwrap_or_else(|| "default".into());
    let name = &source.provider_config;
    let Some(config) = inputs
        .configs
        .iter()
        .find(|c| {
            c.metadata.namespace.as_deref() == Some(&namespace) && c.metadata.name.as_deref() == Some(name)
        })
        .cloned()
    else {
        let elsewhere: Vec<&str> = inputs
            .configs
            .iter()
            .filter(|c| c.metadata.name.as_deref() == Some(name))
            .filter_map(|c| c.metadata.namespace.as_deref())
            .collect();
        let hint = match elsewhere.first() {
            Some(ns) => format!("; it is in namespace {}: pass -n {ns}", elsewhere.join(", ")),
            None => {
                let names: Vec<String> = inputs
                    .configs
                    .iter()
                    .map(|c| {
                        format!(
                            "{}/{}",
                            c.metadata.namespace.as_deref().unwrap_or_default(),
                            c.metadata.name.as_deref().unwrap_or_default()
                        )
                    })
                    .collect();
                if names.is_empty() {
                    "; it holds no ProviderConfig".into()
                } else {
                    format!("; its ProviderConfigs are {}", names.join(", "))
                }
            }
        };
        return Err(format!(
            "--provider-config: the folder {} holds no ProviderConfig {namespace}/{name}{hint}",
            dir.display()
        ));
    };
    let targets: Vec<ProviderTarget> = inputs
        .targets
        .iter()
        .filter(|t| t.metadata.namespace.as_deref() == Some(&namespace))
        .map(|t| {
            let mut t = t.clone();
            t.status = state.load::<ProviderTargetStatus>(
                "ProviderTarget",
                &namespace,
                t.metadata.name.as_deref().unwrap_or_default(),
            );
            t
        })
        .collect();
    let secrets = FolderSecrets::new(&inputs, Box::new(move |name: &str| env(name)));
    let api_key = api_key(&secrets, &config).await?;
    Ok(Loaded {
        namespace,
        config,
        targets,
        api_key,
        instance,
        origin: dir.display().to_string(),
    })
}

fn problems(dir: &Path, errors: impl Iterator<Item = String>) -> String {
    let errors: Vec<String> = errors.collect();
    format!(
        "{} problem(s) in {}; fix them first (`launchplane reconcile --once -f` refuses the folder as well):\n  {}",
        errors.len(),
        dir.display(),
        errors.join("\n  ")
    )
}

/// The ProviderTargets an output folder already holds (none when it does not exist yet).
pub fn folder_targets(dir: &Path) -> Result<Vec<ProviderTarget>, String> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let (manifests, errors) = load_dir(dir);
    if !errors.is_empty() {
        return Err(format!(
            "--out: {}",
            problems(dir, errors.iter().map(ToString::to_string))
        ));
    }
    let ours = format!("{GROUP}/{VERSION}");
    let mut targets = Vec::new();
    for m in manifests
        .iter()
        .filter(|m| m.kind == "ProviderTarget" && m.api_version == ours)
    {
        let mut target: ProviderTarget = m.decode().map_err(|e| format!("--out: {e}"))?;
        target.metadata.namespace = Some(m.namespace.clone());
        targets.push(target);
    }
    Ok(targets)
}

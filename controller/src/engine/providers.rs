//! The Dokploy clients and the shared observation, one entry per ProviderConfig
//! (`namespace/name`), in both shells.
//!
//! The ProviderConfig reconcile is the only writer: it resolves the API key
//! ([`resolve_api_key`]), keeps one client and one [`Poller`] per config ([`Registry::slot_for`],
//! rebuilt when the URL, key or rate limit changes) and publishes a [`ProviderView`] after
//! every poll. ProviderTarget reconciles only read views, so a thousand targets of one config
//! cost one set of Dokploy calls per poll interval; lanes, previews and sweeps take the same
//! client from [`Registry::provider`].

use super::secrets::{ReadPurpose, SecretData, Secrets, WorldError};
use crate::observe::poller::Poller;

use jiff::Timestamp;
use launchplane_api::resources::{ProviderConfig, ProviderConfigSpec, SecretKeyRef};
use launchplane_core::observation::{PollSettings, SharedFacts, Snapshot, poll_settings};
use launchplane_core::provider_config::{CredentialProblem, KeySource};
use launchplane_core::provider_target::ClaimIndex;
use launchplane_providers::{
    ApiKey, CallObserver, Deadline, DokployClient, DokployConfig, Provider, RateLimit,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// What ProviderTargets read: the latest snapshot, the settings it was taken with, and who
/// claimed which id when it was taken (so a target finds its rivals without a scan). Lanes
/// read `facts`: the image and raw env the poller's detail reads saw (secret; `Debug` shows a
/// count), so a lane in sync makes no detail call of its own.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProviderView {
    pub snapshot: Arc<Snapshot>,
    pub settings: PollSettings,
    pub claims: Arc<ClaimIndex>,
    pub facts: Arc<SharedFacts>,
}

/// What the client was built from; a change means a new client (and a new poller).
#[derive(Clone)]
pub struct Fingerprint {
    pub url: String,
    pub api_key: ApiKey,
    pub rate_limit: (i32, i32),
}

impl PartialEq for Fingerprint {
    fn eq(&self, other: &Self) -> bool {
        self.url == other.url
            && self.api_key.expose() == other.api_key.expose()
            && self.rate_limit == other.rate_limit
    }
}

/// One ProviderConfig's poller and its schedule. Only that config's reconcile touches it,
/// and kube-runtime never runs two reconciles of one object at once.
pub struct PollerSlot {
    pub fingerprint: Fingerprint,
    pub poller: Poller,
    /// When the next poll is due; `None` means now.
    pub next_poll_at: Option<Timestamp>,
    /// When the last poll was made (a requested poll is due only when asked for after it).
    pub last_poll_at: Option<Timestamp>,
}

/// How this shell builds its Dokploy clients, beyond what a ProviderConfig says.
#[derive(Clone, Default)]
pub struct ClientSettings {
    /// Whole-request timeout of one call attempt; `None`: the client's default.
    pub request_timeout: Option<Duration>,
    /// A deadline every client shares (standalone mode's round); `None`: calls are bounded by
    /// their timeouts only.
    pub deadline: Option<Deadline>,
    /// Where call metrics go; `None`: nowhere.
    pub observer: Option<Arc<dyn CallObserver>>,
}

/// Views and pollers of every ProviderConfig this process serves.
#[derive(Default)]
pub struct Registry {
    views: RwLock<HashMap<String, ProviderView>>,
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<PollerSlot>>>>,
    /// Each slot's client, readable without waiting for a poll to finish (lane deploys).
    providers: RwLock<HashMap<String, Arc<dyn Provider>>>,
    clients: ClientSettings,
}

impl Registry {
    /// A registry whose clients are built with `clients`.
    pub fn new(clients: ClientSettings) -> Self {
        Registry {
            clients,
            ..Registry::default()
        }
    }

    /// The poller slot for `key`'s config, rebuilt when the URL, key or rate limit changed.
    pub fn slot_for(
        &self,
        key: &str,
        spec: &ProviderConfigSpec,
        api_key: ApiKey,
    ) -> Result<Arc<tokio::sync::Mutex<PollerSlot>>, CredentialProblem> {
        let settings = poll_settings(spec);
        let fingerprint = Fingerprint {
            url: spec.url.clone(),
            api_key,
            rate_limit: (spec.rate_limit.requests_per_second, spec.rate_limit.burst),
        };
        if let Some(slot) = self.slot(key) {
            let reusable = match slot.try_lock() {
                Ok(mut guard) if guard.fingerprint == fingerprint => {
                    if *guard.poller.settings() != settings {
                        guard.poller.set_settings(settings);
                        // A new interval applies now, not after the old one runs out.
                        guard.next_poll_at = None;
                    }
                    true
                }
                _ => false,
            };
            if reusable {
                return Ok(slot);
            }
        }
        let mut dokploy = DokployConfig::new(spec.url.clone(), fingerprint.api_key.clone());
        dokploy.rate_limit = RateLimit {
            per_second: f64::from(spec.rate_limit.requests_per_second.max(1)),
            burst: u32::try_from(spec.rate_limit.burst.max(1)).unwrap_or(1),
        };
        if let Some(timeout) = self.clients.request_timeout {
            dokploy.request_timeout = timeout;
        }
        dokploy.deadline = self.clients.deadline.clone();
        if let Some(observer) = &self.clients.observer {
            dokploy.observer = observer.clone();
        }
        let client = DokployClient::new(dokploy).map_err(|error| CredentialProblem {
            reason: "InvalidProviderConfig",
            message: format!("cannot build a Dokploy client from spec.url and the API key: {error}"),
        })?;
        Ok(self.set_slot(
            key,
            PollerSlot {
                fingerprint,
                poller: Poller::new(Arc::new(client), settings),
                next_poll_at: None,
                last_poll_at: None,
            },
        ))
    }

    /// Make every config's next poll due now (standalone mode: a round polls each config once).
    pub fn poll_all_now(&self) {
        let slots: Vec<_> = self
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for slot in slots {
            if let Ok(mut slot) = slot.try_lock() {
                slot.next_poll_at = None;
            }
        }
    }

    /// The view of `namespace/name`, if its config has a working client.
    pub fn view(&self, key: &str) -> Option<ProviderView> {
        self.views
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    /// Publish a config's latest observation (also how tests stage a snapshot).
    pub fn publish(&self, key: &str, view: ProviderView) {
        self.views
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), view);
    }

    /// The poller slot of `key`, if one was built.
    pub fn slot(&self, key: &str) -> Option<Arc<tokio::sync::Mutex<PollerSlot>>> {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    pub fn set_slot(&self, key: &str, slot: PollerSlot) -> Arc<tokio::sync::Mutex<PollerSlot>> {
        self.providers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), slot.poller.provider());
        let slot = Arc::new(tokio::sync::Mutex::new(slot));
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), slot.clone());
        slot
    }

    /// The provider client of `key`'s config, if one was built (the lanes' deploy steps).
    pub fn provider(&self, key: &str) -> Option<Arc<dyn Provider>> {
        self.providers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    /// Forget a config: its credentials no longer work, or it was deleted.
    pub fn remove(&self, key: &str) {
        self.providers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        self.views.write().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    /// Forget every config not in `live` (deleted objects are never reconciled again).
    pub fn retain(&self, live: impl Fn(&str) -> bool) {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|k, _| live(k));
        self.providers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|k, _| live(k));
        self.views
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|k, _| live(k));
    }
}

/// The environment variable that supplies the API key of a ProviderConfig, e.g.
/// `LAUNCHPLANE_API_KEY_DOKPLOY_MAIN` for `dokploy-main`. Where the shell reads variables
/// (standalone mode), it wins over the Secret, so a repository can keep a placeholder Secret and
/// CI can inject the real key.
pub fn api_key_variable(config_name: &str) -> String {
    let suffix: String = config_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("LAUNCHPLANE_API_KEY_{suffix}")
}

/// The API key of `config` and where it came from: the variable of [`api_key_variable`] when
/// the shell has one set, else the Secret `spec.apiKeySecretRef` names. A missing Secret or key
/// is the user's to fix (a problem, written to status); a failure to read it is an error to retry.
pub async fn resolve_api_key(
    secrets: &dyn Secrets,
    config: &ProviderConfig,
) -> Result<Result<(ApiKey, KeySource), CredentialProblem>, WorldError> {
    let namespace = config.metadata.namespace.as_deref().unwrap_or("default");
    let variable = api_key_variable(config.metadata.name.as_deref().unwrap_or_default());
    if let Some(value) = secrets.variable(&variable)
        && !value.trim().is_empty()
    {
        return Ok(Ok((ApiKey::new(value.trim()), KeySource::Variable(variable))));
    }
    let reference = &config.spec.api_key_secret_ref;
    let secret = secrets
        .secret(namespace, &reference.name, ReadPurpose::ApiKey)
        .await?;
    let found = api_key_from(secret.as_ref(), namespace, reference).map(|key| (key, KeySource::Secret));
    Ok(found.map_err(|mut problem| {
        if secrets.reads_variables() {
            problem.message = format!("{}, or set the environment variable {variable}", problem.message);
        }
        problem
    }))
}

/// The API key in the data of a Secret, or what is wrong with it. Messages name the Secret and
/// the key, never the value.
pub fn api_key_from(
    secret: Option<&SecretData>,
    namespace: &str,
    secret_ref: &SecretKeyRef,
) -> Result<ApiKey, CredentialProblem> {
    let (name, key) = (&secret_ref.name, &secret_ref.key);
    let Some(data) = secret else {
        return Err(CredentialProblem {
            reason: "SecretNotFound",
            message: format!(
                "Secret {namespace}/{name} (key {key}) does not exist; create it with the Dokploy API key"
            ),
        });
    };
    let Some(bytes) = data.get(key) else {
        return Err(CredentialProblem {
            reason: "SecretKeyNotFound",
            message: format!("Secret {namespace}/{name} has no key {key}; add the Dokploy API key under it"),
        });
    };
    // Keys pasted from a file often end in a newline, which no header may carry.
    match std::str::from_utf8(bytes).map(str::trim) {
        Ok(value) if !value.is_empty() => Ok(ApiKey::new(value)),
        _ => Err(CredentialProblem {
            reason: "SecretKeyInvalid",
            message: format!(
                "key {key} of Secret {namespace}/{name} is empty or not UTF-8; put the Dokploy API key in it"
            ),
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn secret_ref() -> SecretKeyRef {
        SecretKeyRef {
            name: "dokploy".into(),
            key: "api-key".into(),
        }
    }

    fn data(entries: &[(&str, &[u8])]) -> SecretData {
        entries.iter().map(|(k, v)| (k.to_string(), v.to_vec())).collect()
    }

    #[test]
    fn api_key_problems_name_the_secret_and_key_but_never_the_value() {
        let missing = api_key_from(None, "ns", &secret_ref()).unwrap_err();
        assert_eq!(missing.reason, "SecretNotFound");
        assert!(missing.message.contains("ns/dokploy") && missing.message.contains("api-key"));

        let other = data(&[("token", b"s3cr3t")]);
        let no_key = api_key_from(Some(&other), "ns", &secret_ref()).unwrap_err();
        assert_eq!(no_key.reason, "SecretKeyNotFound");
        assert!(!no_key.message.contains("s3cr3t"));

        let empty = data(&[("api-key", b" \n")]);
        assert_eq!(
            api_key_from(Some(&empty), "ns", &secret_ref())
                .unwrap_err()
                .reason,
            "SecretKeyInvalid"
        );
        let not_text = data(&[("api-key", &[0xff, 0xfe])]);
        assert_eq!(
            api_key_from(Some(&not_text), "ns", &secret_ref())
                .unwrap_err()
                .reason,
            "SecretKeyInvalid"
        );
        let good = data(&[("api-key", b"k3y\n")]);
        assert_eq!(
            api_key_from(Some(&good), "ns", &secret_ref()).unwrap().expose(),
            "k3y"
        );
    }

    #[test]
    fn the_variable_is_named_after_the_config() {
        assert_eq!(
            api_key_variable("dokploy-main"),
            "LAUNCHPLANE_API_KEY_DOKPLOY_MAIN"
        );
        assert_eq!(api_key_variable("a.b"), "LAUNCHPLANE_API_KEY_A_B");
    }
}

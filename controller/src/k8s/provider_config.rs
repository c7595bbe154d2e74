//! The ProviderConfig controller: resolve the API key, keep one client and one poller per
//! config, poll when due, publish the snapshot for the config's ProviderTargets, write status.

use super::common::{namespace_and_name, write_status_if_changed};
use super::context::Context;
use super::error::{Error, Result};
use super::events::publish_transition;
use super::registry::{Fingerprint, PollerSlot, ProviderView};
use crate::error_policy::{RetryClass, jittered};
use crate::metrics::MetricsObserver;
use crate::observe::poller::Poller;
use jiff::SignedDuration;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, ResourceExt};
use launchplane_api::conditions::{find, types};
use launchplane_api::resources::{ProviderConfig, ProviderConfigSpec, ProviderTarget, SecretKeyRef};
use launchplane_api::verify::target::ProviderFailure;
use launchplane_core::observation::{PollSettings, TrackedTarget, poll_settings};
use launchplane_core::provider_config::{CredentialProblem, KeySource, reconcile as compute};
use launchplane_core::provider_target::ClaimIndex;
use launchplane_core::provider_target::tracked_target;
use launchplane_providers::{ApiKey, DokployClient, DokployConfig, RateLimit};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const KIND: &str = "ProviderConfig";

/// Reconcile one ProviderConfig.
#[tracing::instrument(skip_all, fields(kind = KIND, name = %config.name_any(), namespace = config.namespace().unwrap_or_default()))]
pub async fn reconcile(config: Arc<ProviderConfig>, ctx: Arc<Context>) -> Result<Action> {
    let started = Instant::now();
    let (namespace, name) = namespace_and_name(config.as_ref(), KIND)?;
    let key = format!("{namespace}/{name}");
    let now = ctx.now();
    // Deleted configs are never reconciled again, so their pollers are dropped here.
    ctx.registry
        .retain(|k| k == key || config_exists(&ctx.configs, k));

    // Tracked ids and the target count come from the ProviderTarget store: a poll before it
    // has listed once would track nothing. An error means its writer is gone (shutdown).
    ctx.targets.synced().await;
    let targets = targets_of(&ctx.targets, &namespace, &name);
    let credentials = read_api_key(&ctx, &namespace, &config.spec.api_key_secret_ref).await?;
    let slot = credentials.and_then(|api_key| slot_for(&ctx, &key, &config.spec, api_key));

    let (outcome, delay) = match slot {
        Err(problem) => {
            tracing::info!(reason = problem.reason, message = %problem.message, "no usable API key");
            ctx.registry.remove(&key);
            notify_targets(&ctx, &targets);
            // The Secret is not watched, so "wait for a change" would miss the user creating
            // it; back off instead, quickly at first (Secret and config applied together),
            // up to the long interval for a reference that stays broken.
            let delay = ctx
                .failures
                .delay(&ctx.backoff, RetryClass::Transient, &key)
                .unwrap_or(ctx.backoff.max);
            (
                compute(&config, Err(&problem), &KeySource::Secret, targets.len(), now),
                delay,
            )
        }
        Ok(slot) => {
            let mut slot = slot.lock().await;
            let due = slot.next_poll_at.is_none_or(|at| at <= now);
            if due {
                let tracked = tracked(&targets);
                let snapshot = slot.poller.poll(&tracked, now).await.clone();
                let delay = next_poll_delay(&ctx, &key, &snapshot.last_failure, slot.poller.settings());
                slot.next_poll_at = Some(now + delay);
                ctx.registry.publish(
                    &key,
                    ProviderView {
                        snapshot: Arc::new(snapshot),
                        settings: *slot.poller.settings(),
                        claims: Arc::new(ClaimIndex::build(targets.iter().map(AsRef::as_ref))),
                        facts: slot.poller.facts(),
                    },
                );
                notify_targets(&ctx, &targets);
            }
            let delay = slot
                .next_poll_at
                .map(|at| at.duration_since(now).unsigned_abs())
                .unwrap_or_default();
            (
                compute(
                    &config,
                    Ok(slot.poller.snapshot()),
                    &KeySource::Secret,
                    targets.len(),
                    now,
                ),
                delay,
            )
        }
    };

    let api: Api<ProviderConfig> = Api::namespaced(ctx.client.clone(), &namespace);
    let old = config.status.as_ref();
    write_status_if_changed(&api, KIND, &namespace, &name, old, &outcome.status).await?;
    if let Some(verdict) = outcome.status.verdict {
        let message = ready_message(&outcome.status.conditions);
        publish_transition(
            &ctx.recorder,
            config.as_ref(),
            old.and_then(|s| s.verdict),
            verdict,
            &message,
        )
        .await;
    }
    ctx.metrics.reconciled(KIND, started.elapsed());
    // A floor, so a misconfigured interval can never spin.
    Ok(Action::requeue(delay.max(Duration::from_secs(1))))
}

/// The Ready condition's message: the most useful one-line summary for an Event.
pub fn ready_message(conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]) -> String {
    find(conditions, types::READY)
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

fn config_exists(configs: &Store<ProviderConfig>, key: &str) -> bool {
    let Some((namespace, name)) = key.split_once('/') else {
        return false;
    };
    configs.get(&ObjectRef::new(name).within(namespace)).is_some()
}

/// The ProviderTargets that reference `namespace/name` (references never cross namespaces).
pub fn targets_of(targets: &Store<ProviderTarget>, namespace: &str, name: &str) -> Vec<Arc<ProviderTarget>> {
    targets.state_filter(|t| {
        t.metadata.namespace.as_deref() == Some(namespace) && t.spec.provider_config_ref.name == name
    })
}

/// The targets whose detail is worth reading: the ids the ProviderTargets claim.
pub fn tracked(targets: &[Arc<ProviderTarget>]) -> BTreeSet<TrackedTarget> {
    targets.iter().filter_map(|t| tracked_target(t)).collect()
}

/// Resolve the API key. A missing Secret or key is the user's to fix (a problem, written to
/// status); an API server failure is ours to retry (an error).
async fn read_api_key(
    ctx: &Context,
    namespace: &str,
    secret_ref: &SecretKeyRef,
) -> Result<Result<ApiKey, CredentialProblem>> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let secret = api
        .get_opt(&secret_ref.name)
        .await
        .map_err(|source| Error::ReadSecret {
            namespace: namespace.to_string(),
            name: secret_ref.name.clone(),
            source: Box::new(source),
        })?;
    Ok(api_key_from(secret.as_ref(), namespace, secret_ref))
}

/// The API key in `secret`, or what is wrong with it. Messages name the Secret and the key,
/// never the value.
pub fn api_key_from(
    secret: Option<&Secret>,
    namespace: &str,
    secret_ref: &SecretKeyRef,
) -> Result<ApiKey, CredentialProblem> {
    let (name, key) = (&secret_ref.name, &secret_ref.key);
    let Some(secret) = secret else {
        return Err(CredentialProblem {
            reason: "SecretNotFound",
            message: format!(
                "Secret {namespace}/{name} (key {key}) does not exist; create it with the Dokploy API key"
            ),
        });
    };
    let Some(bytes) = secret.data.as_ref().and_then(|d| d.get(key)) else {
        return Err(CredentialProblem {
            reason: "SecretKeyNotFound",
            message: format!("Secret {namespace}/{name} has no key {key}; add the Dokploy API key under it"),
        });
    };
    // Keys pasted from a file often end in a newline, which no header may carry.
    match std::str::from_utf8(&bytes.0).map(str::trim) {
        Ok(value) if !value.is_empty() => Ok(ApiKey::new(value)),
        _ => Err(CredentialProblem {
            reason: "SecretKeyInvalid",
            message: format!(
                "key {key} of Secret {namespace}/{name} is empty or not UTF-8; put the Dokploy API key in it"
            ),
        }),
    }
}

/// The poller slot for the config, rebuilt when the URL, key or rate limit changed.
fn slot_for(
    ctx: &Context,
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
    if let Some(slot) = ctx.registry.slot(key) {
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
    dokploy.observer = Arc::new(MetricsObserver(ctx.metrics.clone()));
    let client = DokployClient::new(dokploy).map_err(|error| CredentialProblem {
        reason: "InvalidProviderConfig",
        message: format!("cannot build a Dokploy client from spec.url and the API key: {error}"),
    })?;
    Ok(ctx.registry.set_slot(
        key,
        PollerSlot {
            fingerprint,
            poller: Poller::new(Arc::new(client), settings),
            next_poll_at: None,
        },
    ))
}

/// When to poll next: the interval after a success; backoff after a failure, the long wait
/// when Dokploy throttles the key or refuses it.
fn next_poll_delay(
    ctx: &Context,
    key: &str,
    failure: &Option<(ProviderFailure, String)>,
    settings: &PollSettings,
) -> SignedDuration {
    let interval = settings.poll_interval.unsigned_abs();
    let delay = match failure {
        None => {
            ctx.failures.succeeded(key);
            jittered(interval)
        }
        Some((ProviderFailure::Throttled, _)) => ctx.backoff.throttle.max(interval),
        Some((ProviderFailure::Unauthorized, _)) => ctx.backoff.max.max(interval),
        Some(_) => ctx
            .failures
            .delay(&ctx.backoff, RetryClass::Transient, key)
            .unwrap_or(interval)
            .min(interval),
    };
    SignedDuration::try_from(delay).unwrap_or(settings.poll_interval)
}

/// Ask the ProviderTarget controller to re-verify these targets against the new snapshot.
fn notify_targets(ctx: &Context, targets: &[Arc<ProviderTarget>]) {
    for target in targets {
        // The receiver lives as long as the ProviderTarget controller; after shutdown there
        // is nobody left to tell.
        let _ = ctx
            .target_trigger
            .unbounded_send(ObjectRef::from_obj(target.as_ref()));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use std::collections::BTreeMap;

    fn secret_ref() -> SecretKeyRef {
        SecretKeyRef {
            name: "dokploy".into(),
            key: "api-key".into(),
        }
    }

    fn secret(data: &[(&str, &[u8])]) -> Secret {
        Secret {
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.to_vec())))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..Secret::default()
        }
    }

    #[test]
    fn api_key_problems_name_the_secret_and_key_but_never_the_value() {
        let missing = api_key_from(None, "ns", &secret_ref()).unwrap_err();
        assert_eq!(missing.reason, "SecretNotFound");
        assert!(missing.message.contains("ns/dokploy") && missing.message.contains("api-key"));

        let other = secret(&[("token", b"s3cr3t")]);
        let no_key = api_key_from(Some(&other), "ns", &secret_ref()).unwrap_err();
        assert_eq!(no_key.reason, "SecretKeyNotFound");
        assert!(!no_key.message.contains("s3cr3t"));

        let empty = secret(&[("api-key", b" \n")]);
        assert_eq!(
            api_key_from(Some(&empty), "ns", &secret_ref())
                .unwrap_err()
                .reason,
            "SecretKeyInvalid"
        );
        let good = secret(&[("api-key", b"k3y\n")]);
        assert_eq!(
            api_key_from(Some(&good), "ns", &secret_ref()).unwrap().expose(),
            "k3y"
        );
    }

    #[test]
    fn poll_settings_follow_the_spec() {
        let spec = ProviderConfigSpec {
            poll_interval_seconds: 30,
            detail_interval_seconds: Some(300),
            stale_after_polls: 4,
            ..ProviderConfigSpec::default()
        };
        let s = poll_settings(&spec);
        assert_eq!(s.poll_interval, SignedDuration::from_secs(30));
        assert_eq!(s.detail_interval, SignedDuration::from_secs(300));
        assert_eq!(s.stale_after_polls, 4);
    }
}

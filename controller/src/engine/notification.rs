//! Keep a ProviderConfig's Dokploy custom notification (`spec.deployNotifications`): read,
//! list, create, update or remove it as `launchplane_core::provider_config::notification`
//! plans, a few steps per poll. Only the notification recorded by id, or the one that appeared
//! named with the config's ownership marker after the intent to create it was stored, is ever
//! changed or removed.

use crate::engine::World;
use crate::engine::secrets::ReadPurpose;
use launchplane_api::ownership::Owner;
use launchplane_api::resources::{DeployNotificationStatus, ProviderConfig};
use launchplane_core::provider_config::notification::{NotificationFacts, NotificationStep, plan};
use launchplane_providers::{CustomNotificationSpec, Provider, ProviderError, SecretString};

/// The most steps one poll takes (list, create, list, record, read, update).
const MAX_STEPS: usize = 8;

/// The URL Dokploy calls for `namespace/name`.
pub fn endpoint(receiver_url: &str, namespace: &str, name: &str) -> String {
    format!(
        "{}/dokploy/{namespace}/{name}",
        receiver_url.trim_end_matches('/')
    )
}

fn failed(id: Option<String>, message: String) -> Option<DeployNotificationStatus> {
    Some(DeployNotificationStatus {
        notification_id: id,
        state: "Failed".into(),
        message: Some(message),
        create_requested_at: None,
    })
}

/// Whether `status` holds an intent to create that has not been carried out: the next
/// reconcile must come at once, not at the next poll.
pub fn intent_pending(status: Option<&DeployNotificationStatus>) -> bool {
    status.is_some_and(|s| {
        s.notification_id.is_none() && s.create_requested_at.is_some() && s.state == "Pending"
    })
}

/// Bring the notification to what the spec asks; the status to record.
pub async fn keep(
    config: &ProviderConfig,
    world: &World,
    provider: &dyn Provider,
) -> Option<DeployNotificationStatus> {
    let namespace = config.metadata.namespace.as_deref().unwrap_or("default");
    let name = config.metadata.name.as_deref().unwrap_or_default();
    let old = config.status.as_ref().and_then(|s| s.deploy_notification.clone());
    let mut recorded = old.as_ref().and_then(|s| s.notification_id.clone());
    let mut intent = old
        .as_ref()
        .and_then(|s| s.create_requested_at.clone())
        .map(|t| t.0);
    let wanted = config.spec.deploy_notifications.as_ref();
    if wanted.is_none() && recorded.is_none() {
        return None;
    }
    let marker = Owner::new(
        &world.instance,
        namespace,
        "ProviderConfig",
        name,
        config.metadata.uid.as_deref(),
    )
    .marker();
    let spec = match wanted {
        None => None,
        Some(w) => {
            let r = &w.token_secret_ref;
            let token = match world
                .secrets
                .secret(namespace, &r.name, ReadPurpose::Webhook)
                .await
            {
                Ok(Some(data)) => data
                    .get(&r.key)
                    .and_then(|v| String::from_utf8(v.clone()).ok())
                    .filter(|t| !t.trim().is_empty()),
                Ok(None) => None,
                Err(e) => return failed(recorded, format!("cannot read the notification token: {e}")),
            };
            let Some(token) = token else {
                return failed(
                    recorded,
                    format!(
                        "spec.deployNotifications.tokenSecretRef: key {} of Secret {namespace}/{} is missing, empty or not UTF-8",
                        r.key, r.name
                    ),
                );
            };
            Some(CustomNotificationSpec {
                name: marker.clone(),
                endpoint: endpoint(&w.receiver_url, namespace, name),
                token: SecretString::new(token.trim()),
            })
        }
    };
    let mut facts = NotificationFacts::default();
    let mut last = old;
    for _ in 0..MAX_STEPS {
        let p = plan(
            &marker,
            spec.as_ref(),
            recorded.as_deref(),
            intent,
            world.now(),
            &facts,
        );
        last = p.status.clone();
        let id = recorded.clone();
        match p.step {
            NotificationStep::Nothing => return p.status,
            NotificationStep::Read => {
                let read = match provider.notification(id.as_deref().unwrap_or_default()).await {
                    Ok(v) => Ok(Some(v)),
                    Err(ProviderError::NotFound { .. }) => Ok(None),
                    Err(e) => Err(e.to_string()),
                };
                facts.read = Some(read);
            }
            NotificationStep::List => {
                facts.listed = Some(provider.notifications().await.map_err(|e| e.to_string()))
            }
            // The intent must be stored before Dokploy is asked: the caller writes this status
            // and comes back at once (`intent_pending`).
            NotificationStep::Intend => return p.status,
            NotificationStep::Create => {
                let Some(s) = spec.as_ref() else { return p.status };
                if let Err(e) = provider.create_custom_notification(s).await {
                    let mut status = failed(None, format!("Dokploy refused to create the notification: {e}"));
                    if let Some(st) = status.as_mut() {
                        st.create_requested_at =
                            p.status.as_ref().and_then(|s| s.create_requested_at.clone());
                    }
                    return status;
                }
                tracing::info!(endpoint = %s.endpoint, "Dokploy deploy notification created");
                facts = NotificationFacts::default();
            }
            NotificationStep::Record { notification_id } => {
                recorded = Some(notification_id);
                intent = None;
                facts = NotificationFacts::default();
            }
            NotificationStep::Update {
                notification_id,
                custom_id,
            } => {
                let Some(s) = spec.as_ref() else { return p.status };
                if let Err(e) = provider
                    .update_custom_notification(&notification_id, &custom_id, s)
                    .await
                {
                    return failed(
                        id,
                        format!("Dokploy refused to update notification {notification_id}: {e}"),
                    );
                }
                facts = NotificationFacts::default();
            }
            NotificationStep::Remove { notification_id } => {
                return match provider.remove_notification(&notification_id).await {
                    Ok(()) => {
                        tracing::info!(%notification_id, "Dokploy deploy notification removed");
                        None
                    }
                    Err(e) => failed(id, format!("cannot remove notification {notification_id}: {e}")),
                };
            }
            NotificationStep::Forget => {
                recorded = None;
                facts = NotificationFacts::default();
                // Nothing wanted: forgetting was all there was to do.
                spec.as_ref()?;
            }
        }
    }
    last
}

//! Calls on Dokploy notifications. See [`crate::notifications`] for the model.
//!
//! `notification.createCustom` answers 200 with an empty body (Dokploy's service returns
//! nothing from its transaction), so the new notification's id is found afterwards in
//! `notification.all`, by the name Launchplane gave it (its ownership marker).

use crate::errors::{ProviderError, Result};
use crate::notifications::{CustomNotificationSpec, CustomView, NotificationView};
use crate::ops::Op;
use crate::secret::SecretString;
use serde_json::Value;

use super::{DokployClient, malformed, parse, require};

fn view(route: &'static str, v: &Value) -> Result<NotificationView> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let notification_id = text(v, "notificationId")
        .ok_or_else(|| malformed(route, "a notification lacks its notificationId"))?;
    let custom = match v.get("custom") {
        Some(c) if c.is_object() => Some(CustomView {
            custom_id: text(c, "customId").unwrap_or_default(),
            endpoint: text(c, "endpoint").unwrap_or_default(),
            headers: c
                .get("headers")
                .and_then(Value::as_object)
                .map(|h| {
                    h.iter()
                        .filter_map(|(k, v)| {
                            v.as_str().map(|s| (k.to_ascii_lowercase(), SecretString::new(s)))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(NotificationView {
        notification_id,
        name: text(v, "name").unwrap_or_default(),
        notification_type: text(v, "notificationType").unwrap_or_default(),
        app_deploy: v.get("appDeploy").and_then(Value::as_bool).unwrap_or(false),
        app_build_error: v.get("appBuildError").and_then(Value::as_bool).unwrap_or(false),
        custom,
    })
}

fn check(route: &'static str, spec: &CustomNotificationSpec) -> Result<()> {
    require(route, "notification name", &spec.name)?;
    require(route, "endpoint", &spec.endpoint)?;
    // The token's value never goes into the error.
    require(route, "token", spec.token.expose())
}

impl DokployClient {
    /// `notification.createCustom`: on deploys and build errors, the token in its header.
    /// Sent once; Dokploy answers with no id (see the module).
    pub async fn create_custom_notification(&self, spec: &CustomNotificationSpec) -> Result<()> {
        let op = Op::NotificationCreateCustom { spec: spec.clone() };
        check(op.route(), spec)?;
        self.call(&op).await.map(drop)
    }

    /// `notification.updateCustom`: the notification becomes `spec`. Sent once.
    pub async fn update_custom_notification(
        &self,
        notification_id: &str,
        custom_id: &str,
        spec: &CustomNotificationSpec,
    ) -> Result<()> {
        let op = Op::NotificationUpdateCustom {
            notification_id: notification_id.to_owned(),
            custom_id: custom_id.to_owned(),
            spec: spec.clone(),
        };
        require(op.route(), "notification id", notification_id)?;
        require(op.route(), "custom id", custom_id)?;
        check(op.route(), spec)?;
        self.call(&op).await.map(drop)
    }

    /// `notification.one`: by id, with its custom part (404 `NotFound` when it is gone).
    pub async fn notification(&self, notification_id: &str) -> Result<NotificationView> {
        let op = Op::NotificationOne {
            notification_id: notification_id.to_owned(),
        };
        require(op.route(), "notification id", notification_id)?;
        let body = self.call(&op).await?;
        let v: Value = parse(op.route(), &body)?;
        view(op.route(), &v)
    }

    /// `notification.all`: every notification of the organization (the custom part may be
    /// missing from this answer).
    pub async fn notifications(&self) -> Result<Vec<NotificationView>> {
        let op = Op::NotificationAll;
        let body = self.call(&op).await?;
        let v: Value = parse(op.route(), &body)?;
        let items = v
            .as_array()
            .ok_or_else(|| malformed(op.route(), "the answer is not a list"))?;
        items.iter().map(|i| view(op.route(), i)).collect()
    }

    /// `notification.remove`; already gone (404) is success.
    pub async fn remove_notification(&self, notification_id: &str) -> Result<()> {
        let op = Op::NotificationRemove {
            notification_id: notification_id.to_owned(),
        };
        require(op.route(), "notification id", notification_id)?;
        match self.call(&op).await {
            Ok(_) | Err(ProviderError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

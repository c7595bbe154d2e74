//! Dokploy notifications, as far as Launchplane keeps one: a custom notification (an HTTP
//! endpoint Dokploy POSTs to on deploys and build errors) carrying a token header.

use crate::secret::SecretString;
use std::collections::BTreeMap;

/// The custom notification Launchplane wants: its name (the ownership marker), the endpoint
/// Dokploy calls, and the token sent in [`TOKEN_HEADER`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomNotificationSpec {
    pub name: String,
    pub endpoint: String,
    pub token: SecretString,
}

/// The header the token travels in (the receiver's `x-launchplane-token`).
pub const TOKEN_HEADER: &str = "x-launchplane-token";

/// A notification as Dokploy reads it (`notification.one`, `notification.all`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationView {
    pub notification_id: String,
    pub name: String,
    /// `custom`, `slack`, …
    pub notification_type: String,
    pub app_deploy: bool,
    pub app_build_error: bool,
    /// The custom endpoint, when Dokploy's answer includes it (`notification.one` does).
    pub custom: Option<CustomView>,
}

/// The custom part of a notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomView {
    pub custom_id: String,
    pub endpoint: String,
    /// Header values are secrets (the token): redacted in `Debug`, never logged.
    pub headers: BTreeMap<String, SecretString>,
}

impl NotificationView {
    /// Whether it is exactly `spec`: same name, endpoint and token, on deploys and build errors.
    /// `None` when the answer did not include the custom part (cannot be compared).
    pub fn matches(&self, spec: &CustomNotificationSpec) -> Option<bool> {
        let custom = self.custom.as_ref()?;
        Some(
            self.name == spec.name
                && self.notification_type == "custom"
                && self.app_deploy
                && self.app_build_error
                && custom.endpoint == spec.endpoint
                && custom.headers.get(TOKEN_HEADER).map(SecretString::expose) == Some(spec.token.expose()),
        )
    }
}

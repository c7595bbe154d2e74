//! ProviderConfig: one Dokploy instance, the API key to reach it, and how often to poll it.

use super::common::{HTTP_URL_PATTERN, SecretKeyRef, URL_MAX_LEN, keep_field_description};
use crate::verdict::Verdict;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A Dokploy instance Launchplane observes (and, for `Manage` targets, deploys to): its URL,
/// the Secret holding its API key, how often it is polled and how hard.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "launchplane.dev",
    version = "v1alpha1",
    kind = "ProviderConfig",
    namespaced,
    status = "ProviderConfigStatus",
    derive = "Default",
    derive = "PartialEq",
    shortname = "lpc",
    category = "launchplane",
    doc = "A Dokploy instance: URL, API-key Secret, poll interval and rate limit.",
    printcolumn(
        name = "URL",
        type_ = "string",
        json_path = ".spec.url",
        description = "Dokploy base URL"
    ),
    printcolumn(
        name = "Reachable",
        type_ = "boolean",
        json_path = ".status.reachable",
        description = "Whether the last poll reached Dokploy"
    ),
    printcolumn(
        name = "Targets",
        type_ = "integer",
        json_path = ".status.targetCount",
        description = "ProviderTargets bound to this provider"
    ),
    printcolumn(
        name = "Verdict",
        type_ = "string",
        json_path = ".status.verdict",
        description = "Worst verdict of the provider's aspects"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct ProviderConfigSpec {
    /// The kind of provider. Only `Dokploy` exists today. Default `Dokploy`.
    #[serde(default)]
    pub provider_type: ProviderType,
    /// Base URL of the Dokploy instance, e.g. `https://dokploy.example.com` (http or https,
    /// no trailing `/api`).
    #[schemars(length(min = 1, max = URL_MAX_LEN), regex(pattern = HTTP_URL_PATTERN))]
    pub url: String,
    /// The Secret key holding the Dokploy API key (sent as `x-api-key`). The key is read by the
    /// controller only; it never appears in status, logs or events.
    pub api_key_secret_ref: SecretKeyRef,
    /// Seconds between two polls of the org-wide Dokploy endpoints (jittered). Default 60,
    /// minimum 5.
    #[serde(default = "default_poll_interval_seconds")]
    #[schemars(range(min = 5, max = 86400))]
    pub poll_interval_seconds: i32,
    /// Seconds after which a target's detail (env, image) is fetched again even if the
    /// overview shows no change. Absent: the poll interval. Lengthen it at scale; drift in env
    /// or image is then detected within one detail interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 5, max = 86400))]
    pub detail_interval_seconds: Option<i32>,
    /// Client-side rate limit for calls with this API key. Default 5 requests per second,
    /// burst 10.
    #[serde(default)]
    pub rate_limit: RateLimit,
    /// How many poll intervals may pass without a fresh observation before verdicts that rely
    /// on it turn `Unverifiable`. Default 3, minimum 1.
    #[serde(default = "default_stale_after_polls")]
    #[schemars(range(min = 1, max = 100))]
    pub stale_after_polls: i32,
    /// Have Dokploy call Launchplane's receiver (`launchplane webhooks`) when a deploy or
    /// build finishes, so the config is polled at once instead of at the next interval: the
    /// controller keeps one Dokploy custom notification for this config (created, marked and
    /// found again by id). Absent: none is made, and one made before is removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy_notifications: Option<DeployNotifications>,
}

/// A Dokploy custom notification that calls Launchplane's receiver on deploy events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeployNotifications {
    /// The receiver's base URL as Dokploy reaches it, e.g. `https://launchplane-hooks.example.com`.
    /// Dokploy calls `<receiverUrl>/dokploy/<namespace>/<name>` of this ProviderConfig.
    #[schemars(length(min = 1, max = URL_MAX_LEN), regex(pattern = HTTP_URL_PATTERN))]
    pub receiver_url: String,
    /// The Secret key holding the token Dokploy sends in the `x-launchplane-token` header; the
    /// receiver refuses a call without it. Never logged or written to status.
    pub token_secret_ref: SecretKeyRef,
}

/// The header a Dokploy deploy notification carries the token in.
pub const NOTIFICATION_TOKEN_HEADER: &str = "x-launchplane-token";

/// The annotation the receiver sets on a ProviderConfig when Dokploy reports a deploy: the
/// controller polls the config at once when its value is later than the last poll.
pub const POLL_REQUESTED_ANNOTATION: &str = "launchplane.dev/poll-requested-at";

fn default_poll_interval_seconds() -> i32 {
    60
}

fn default_stale_after_polls() -> i32 {
    3
}

impl Default for ProviderConfigSpec {
    fn default() -> Self {
        ProviderConfigSpec {
            provider_type: ProviderType::default(),
            url: String::new(),
            api_key_secret_ref: SecretKeyRef::default(),
            poll_interval_seconds: default_poll_interval_seconds(),
            detail_interval_seconds: None,
            rate_limit: RateLimit::default(),
            stale_after_polls: default_stale_after_polls(),
            deploy_notifications: None,
        }
    }
}

impl ProviderConfigSpec {
    /// The detail interval in seconds: `detailIntervalSeconds`, or the poll interval.
    pub fn effective_detail_interval_seconds(&self) -> i32 {
        self.detail_interval_seconds.unwrap_or(self.poll_interval_seconds)
    }
}

/// The kind of deployment platform.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ProviderType {
    /// A Dokploy instance (HTTP API with `x-api-key`).
    #[default]
    Dokploy,
}

/// A token bucket for the calls made with one API key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Sustained requests per second. Default 5, minimum 1.
    #[serde(default = "default_requests_per_second")]
    #[schemars(range(min = 1, max = 1000))]
    pub requests_per_second: i32,
    /// Requests allowed in a burst above the sustained rate. Default 10, minimum 1.
    #[serde(default = "default_burst")]
    #[schemars(range(min = 1, max = 10000))]
    pub burst: i32,
}

fn default_requests_per_second() -> i32 {
    5
}

fn default_burst() -> i32 {
    10
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            requests_per_second: default_requests_per_second(),
            burst: default_burst(),
        }
    }
}

/// What the controller last learned about the Dokploy instance.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderConfigStatus {
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Worst verdict of the provider's aspects (reachability, authentication). Absent before
    /// the first poll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub verdict: Option<Verdict>,
    /// Conditions: `ProviderReachable`, `ProviderAuthenticated`, `Ready`, `Reconciling`,
    /// `Stalled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// Whether the last poll got an HTTP answer from Dokploy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reachable: Option<bool>,
    /// Whether the last poll was accepted with the API key. A 401 after a run of successes is
    /// treated as a possible throttle, not as proof the key is wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticated: Option<bool>,
    /// The Dokploy version reported by the instance, when it reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dokploy_version: Option<String>,
    /// When the last poll completed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_poll_time: Option<Time>,
    /// Number of ProviderTargets that reference this ProviderConfig.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_count: Option<i32>,
    /// The last successful Dokploy listing (`overview.services`) and the size of the one
    /// before it. A listing markedly smaller than the one before is called out in the
    /// `ProviderReachable` and `Ready` messages: a listing can be partial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_listing: Option<ListingSummary>,
    /// The Dokploy custom notification kept for `spec.deployNotifications`: its id (how it is
    /// found again) and how it stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy_notification: Option<DeployNotificationStatus>,
}

/// How the config's Dokploy deploy notification stands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeployNotificationStatus {
    /// The Dokploy `notificationId` Launchplane created and marked; the only notification it
    /// changes or removes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_id: Option<String>,
    /// `Ready` (as wanted), `Pending` (being made), `Failed` (Dokploy refused or could not be
    /// read; retried at the next poll) or `Conflict` (the recorded id is not Launchplane's, or
    /// a notification carries this config's marker as its name that Launchplane never recorded
    /// making).
    pub state: String,
    /// What happened, for a person. Never holds the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When Launchplane decided to create the notification, written before it asks Dokploy
    /// (whose create answers with no id). Only while this is set and no id is recorded is a
    /// notification found by its name, and only one that appeared after it was written: a
    /// name alone is never proof of ownership.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_requested_at: Option<Time>,
}

/// The size of one Dokploy listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListingSummary {
    /// When the listing was made.
    pub time: Time,
    /// How many applications and compose services it held.
    pub services: i32,
    /// How many the listing before it held; absent for the first listing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_services: Option<i32>,
}

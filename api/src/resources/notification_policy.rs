//! NotificationPolicy: which Incidents people hear about, where, and how often. Routes match
//! Incidents by product, lane, check and severity and send each transition (and reminders
//! while it stays open) to named destinations: a GitHub issue, an email, a Discord message.
//! Credentials come from Secret references only; the policy itself holds no secret.

use super::common::{
    DNS1123_LABEL_MAX_LEN, DNS1123_LABEL_PATTERN, DURATION_MAX_LEN, DURATION_PATTERN, HOSTNAME_MAX_LEN,
    HTTP_URL_PATTERN, NAME_MAX_LEN, SecretKeyRef, TEXT_MAX_LEN, URL_MAX_LEN, keep_field_description,
};
use super::incident::IncidentSeverity;
use crate::verdict::Verdict;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Most destinations per policy (and per route), routes per policy: bounds for the CEL
/// rules' cost estimate.
pub const MAX_DESTINATIONS: usize = 16;
pub const MAX_ROUTES: usize = 32;
/// Most entries in a route's match list, labels, recipients.
pub const MAX_LIST: usize = 32;

/// The message of the rule that a destination sets exactly one type.
pub const ONE_DESTINATION_TYPE_MESSAGE: &str = "each destination sets exactly one of githubIssue, email or discord; split it into one destination per type";
/// The message of the rule that a route names destinations of the policy only.
pub const ROUTE_DESTINATION_MESSAGE: &str = "spec.routes[].destinations: every name must be one of spec.destinations[].name; add the destination or fix the name";
/// The message of the rule that destination names are unique.
pub const UNIQUE_DESTINATION_MESSAGE: &str =
    "spec.destinations[].name must be unique within the policy; rename one of them";

/// Routes Incidents of this namespace to destinations (a GitHub issue, an email, a Discord
/// message), once per transition, with reminders while an Incident stays open.
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "launchplane.dev",
    version = "v1alpha1",
    kind = "NotificationPolicy",
    namespaced,
    status = "NotificationPolicyStatus",
    derive = "Default",
    derive = "PartialEq",
    shortname = "lpnp",
    category = "launchplane",
    doc = "Routes the Incidents of this namespace to destinations (GitHub issue, email, Discord), once per transition, with reminders while open.",
    printcolumn(
        name = "Destinations",
        type_ = "string",
        json_path = ".status.summary",
        description = "How many destinations deliver, of how many"
    ),
    printcolumn(
        name = "Failing",
        type_ = "string",
        json_path = ".status.failing",
        description = "The destinations not configured or not delivering"
    ),
    printcolumn(name = "Verdict", type_ = "string", json_path = ".status.verdict"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.routes.all(r, r.destinations.all(d, self.destinations.exists(x, x.name == d)))")
        .message(ROUTE_DESTINATION_MESSAGE),
    validation = Rule::new("self.destinations.all(a, self.destinations.exists_one(b, b.name == a.name))")
        .message(UNIQUE_DESTINATION_MESSAGE)
)]
pub struct NotificationPolicySpec {
    /// Where notifications go, each named for the routes.
    #[schemars(length(min = 1, max = MAX_DESTINATIONS))]
    pub destinations: Vec<NotificationDestination>,
    /// Which Incidents go where. An Incident that no route matches notifies nobody.
    #[serde(default)]
    #[schemars(length(max = MAX_ROUTES))]
    pub routes: Vec<NotificationRoute>,
}

/// One destination: exactly one of `githubIssue`, `email`, `discord`.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("(has(self.githubIssue) ? 1 : 0) + (has(self.email) ? 1 : 0) + (has(self.discord) ? 1 : 0) == 1")
        .message(ONE_DESTINATION_TYPE_MESSAGE)
)]
pub struct NotificationDestination {
    /// The destination's name, as routes name it (DNS-1123 label), e.g. `oncall-email`.
    #[schemars(length(min = 1, max = DNS1123_LABEL_MAX_LEN), regex(pattern = DNS1123_LABEL_PATTERN))]
    pub name: String,
    /// Each Incident occurrence becomes one GitHub issue: opened, commented on by reminders
    /// and changes, closed on resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_issue: Option<GitHubIssueDestination>,
    /// One email per transition over SMTP, threaded per occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailDestination>,
    /// One Discord webhook message per transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discord: Option<DiscordDestination>,
}

impl NotificationDestination {
    /// `github`, `email` or `discord` (the metrics label); `none` for an entry the schema
    /// would refuse.
    pub fn type_name(&self) -> &'static str {
        match (&self.github_issue, &self.email, &self.discord) {
            (Some(_), None, None) => "github",
            (None, Some(_), None) => "email",
            (None, None, Some(_)) => "discord",
            _ => "none",
        }
    }
}

/// A GitHub repository whose issues are the Incidents' durable home.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitHubIssueDestination {
    /// The REST API's base URL. Default `https://api.github.com`; GitHub Enterprise Server:
    /// `https://HOST/api/v3`.
    #[serde(default = "default_github_api_url")]
    #[schemars(length(min = 1, max = URL_MAX_LEN), regex(pattern = HTTP_URL_PATTERN))]
    pub api_url: String,
    /// The repository's owner (user or organization), e.g. `acme`.
    #[schemars(length(min = 1, max = 39), regex(pattern = r"^[A-Za-z0-9][-A-Za-z0-9]*$"))]
    pub owner: String,
    /// The repository's name, e.g. `shop-incidents`.
    #[schemars(length(min = 1, max = 100), regex(pattern = r"^[-A-Za-z0-9._]+$"))]
    pub repo: String,
    /// Labels put on each issue opened, e.g. `incident`.
    #[serde(default)]
    #[schemars(length(max = MAX_LIST), inner(length(min = 1, max = 50)))]
    pub labels: Vec<String>,
    /// The Secret key holding a token allowed to create, comment on and close issues of the
    /// repository (fine-grained: Issues read and write).
    pub token_secret_ref: SecretKeyRef,
}

impl Default for GitHubIssueDestination {
    fn default() -> Self {
        GitHubIssueDestination {
            api_url: default_github_api_url(),
            owner: String::new(),
            repo: String::new(),
            labels: Vec::new(),
            token_secret_ref: SecretKeyRef::default(),
        }
    }
}

fn default_github_api_url() -> String {
    "https://api.github.com".to_string()
}

/// How an SMTP connection is secured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum SmtpSecurity {
    /// A plain connection upgraded with STARTTLS before anything is sent (port 587). Refused
    /// if the server does not offer it.
    #[default]
    #[serde(rename = "StartTLS")]
    StartTls,
    /// TLS from the first byte (port 465).
    #[serde(rename = "TLS")]
    Tls,
}

/// An SMTP relay and who hears from it.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("has(self.usernameSecretRef) == has(self.passwordSecretRef)")
        .message("email: set both usernameSecretRef and passwordSecretRef (SMTP AUTH), or neither")
)]
pub struct EmailDestination {
    /// The relay's host name, e.g. `smtp.example.com`.
    #[schemars(length(min = 1, max = HOSTNAME_MAX_LEN), regex(pattern = r"^[A-Za-z0-9]([-.A-Za-z0-9]*[A-Za-z0-9])?$"))]
    pub host: String,
    /// The relay's port, e.g. `587` (StartTLS) or `465` (TLS).
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// `StartTLS` (the default) or `TLS`. Mail is never sent in the clear.
    #[serde(default)]
    #[schemars(transform = keep_field_description)]
    pub security: SmtpSecurity,
    /// The sender address, e.g. `launchplane@example.com`.
    #[schemars(length(min = 3, max = 254), regex(pattern = r"^[^@\s]+@[^@\s]+$"))]
    pub from: String,
    /// The recipients.
    #[schemars(length(min = 1, max = MAX_LIST), inner(length(min = 3, max = 254), regex(pattern = r"^[^@\s]+@[^@\s]+$")))]
    pub to: Vec<String>,
    /// The Secret key holding the SMTP AUTH user name; with `passwordSecretRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_secret_ref: Option<SecretKeyRef>,
    /// The Secret key holding the SMTP AUTH password; with `usernameSecretRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret_ref: Option<SecretKeyRef>,
    /// The Secret key holding PEM certificates to trust besides the system's (a private
    /// relay's CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret_ref: Option<SecretKeyRef>,
}

/// A Discord channel's webhook.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiscordDestination {
    /// The Secret key holding the webhook URL (the URL carries the webhook's token, so it is a
    /// secret as a whole).
    pub webhook_url_secret_ref: SecretKeyRef,
    /// The name messages are posted under. Default: the webhook's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 80))]
    pub username: Option<String>,
}

/// Which Incidents a route sends, where, and how often.
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRoute {
    /// Which Incidents the route sends; every list that is set must contain the Incident's
    /// value. Empty: every Incident of the namespace.
    #[serde(default, rename = "match")]
    pub match_: RouteMatch,
    /// The destinations (by `spec.destinations[].name`) each matching Incident goes to.
    #[schemars(length(min = 1, max = MAX_DESTINATIONS), inner(length(min = 1, max = DNS1123_LABEL_MAX_LEN)))]
    pub destinations: Vec<String>,
    /// How long after an Incident opened (and after each reminder) a reminder is sent while it
    /// stays open, as hours, minutes and seconds, e.g. `1h`. Absent: no reminders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = DURATION_MAX_LEN), regex(pattern = DURATION_PATTERN))]
    #[x_kube(validation = Rule::new("self.matches('[1-9]')")
        .message("repeatInterval must be longer than zero, e.g. 1h; leave it out for no reminders"))]
    pub repeat_interval: Option<String>,
    /// Each reminder's interval is the previous one times this factor (escalation with
    /// backoff). Default 2; 1 keeps the interval.
    #[serde(default = "default_repeat_backoff")]
    #[schemars(range(min = 1, max = 10))]
    pub repeat_backoff: i32,
    /// The longest interval between reminders, e.g. `24h` (the default).
    #[serde(default = "default_repeat_max")]
    #[schemars(length(min = 2, max = DURATION_MAX_LEN), regex(pattern = DURATION_PATTERN))]
    #[x_kube(validation = Rule::new("self.matches('[1-9]')")
        .message("repeatMax must be longer than zero, e.g. 24h"))]
    pub repeat_max: String,
    /// Whether a resolution is sent too. Default true; false: resolutions are quiet.
    #[serde(default = "default_notify_resolved")]
    pub notify_resolved: bool,
}

impl Default for NotificationRoute {
    fn default() -> Self {
        NotificationRoute {
            match_: RouteMatch::default(),
            destinations: Vec::new(),
            repeat_interval: None,
            repeat_backoff: default_repeat_backoff(),
            repeat_max: default_repeat_max(),
            notify_resolved: default_notify_resolved(),
        }
    }
}

fn default_repeat_backoff() -> i32 {
    2
}

fn default_repeat_max() -> String {
    "24h".to_string()
}

fn default_notify_resolved() -> bool {
    true
}

/// What a route matches. Each list, when not empty, must contain the Incident's value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteMatch {
    /// Products (`Incident.spec.product`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_LIST), inner(length(min = 1, max = DNS1123_LABEL_MAX_LEN)))]
    pub products: Vec<String>,
    /// Lanes, Previews (or ProviderTargets, RuntimeIdentities) by name (`Incident.spec.lane`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_LIST), inner(length(min = 1, max = DNS1123_LABEL_MAX_LEN)))]
    pub lanes: Vec<String>,
    /// Checks (`Incident.spec.check`), e.g. `Deployed`, `health provider`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_LIST), inner(length(min = 1, max = 512)))]
    pub checks: Vec<String>,
    /// Severities: `critical`, `warning`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 2))]
    pub severities: Vec<IncidentSeverity>,
}

/// How the policy's destinations fare.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPolicyStatus {
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Matched: every destination is configured and delivering; Missing: a Secret or key a
    /// destination names is absent; Unverifiable: a destination is failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = keep_field_description)]
    pub verdict: Option<Verdict>,
    /// `delivering/total`, e.g. `2/3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub summary: Option<String>,
    /// The destinations not configured or not delivering, comma-separated (the conditions say
    /// why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub failing: Option<String>,
    /// Each destination's configuration and last delivery.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_DESTINATIONS))]
    pub destinations: Vec<DestinationStatus>,
    /// Conditions: `Ready` (every destination configured and delivering) and `Delivering`
    /// (False names each failing destination and why; never a credential).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// One destination as last seen.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DestinationStatus {
    /// `spec.destinations[].name`.
    #[schemars(length(min = 1, max = DNS1123_LABEL_MAX_LEN))]
    pub name: String,
    /// `github`, `email` or `discord`.
    #[serde(rename = "type")]
    #[schemars(length(min = 1, max = 16))]
    pub type_: String,
    /// Whether it is configured (its Secrets readable) and its last delivery did not fail.
    pub healthy: bool,
    /// Why not, or what it last did (never a credential).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = TEXT_MAX_LEN))]
    pub message: Option<String>,
    /// The outcome of its last delivery attempt (`Delivered`, `Retrying`, `Failed`, `Unknown`,
    /// `Intended`), from the Incidents of the namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    pub last_outcome: Option<String>,
    /// When that attempt was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_time: Option<Time>,
    /// The Incident it was about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = NAME_MAX_LEN))]
    pub last_incident: Option<String>,
}

//! The seam between the delivery engine and the destinations.
//!
//! A destination is built from its resolved configuration (the NotificationPolicy's
//! destination entry with its Secret values read) and sends one [`Notice`] at a time. It keeps
//! no state between calls that a restart would lose: whatever it needs to find again (the
//! GitHub issue of an incident, the Message-ID of the first email) it finds from the notice
//! (`thread`, the incident's key) or from the remote side (a marker in an issue's body).

use futures::future::BoxFuture;
use jiff::Timestamp;
use launchplane_api::Verdict;
use launchplane_api::resources::{IncidentSeverity, IncidentState, IncidentTransitionType};
use launchplane_providers::SecretString;
use std::time::Duration;
use thiserror::Error;

/// Which incident a notice is about: its object and what it watches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentKey {
    pub namespace: String,
    /// The Incident's name (deterministic per product, lane and check).
    pub name: String,
    pub product: String,
    /// `Lane`, `Preview`, `ProviderTarget` or `RuntimeIdentity`.
    pub kind: String,
    /// The Lane or Preview (or ProviderTarget / RuntimeIdentity) name.
    pub lane: String,
    pub check: String,
}

/// Why a notice is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    /// The transition itself (`Opened`, `Reopened`, `VerdictChanged`, `Resolved`).
    Transition(IncidentTransitionType),
    /// The `n`th reminder that the incident is still open (from 1).
    Repeat(u32),
}

/// One notification: one transition (or reminder) of one incident. Never carries a secret:
/// `message` is the Incident's evidence, already secret-free.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub incident: IncidentKey,
    pub kind: NoticeKind,
    /// The `sequence` of the transition this notice carries (a reminder carries the sequence
    /// of the transition that opened the occurrence).
    pub transition: i64,
    /// The occurrence of the incident (from 1): a reopened incident is a new occurrence.
    pub occurrence: i32,
    pub state: IncidentState,
    pub severity: IncidentSeverity,
    pub verdict: Verdict,
    pub message: String,
    /// When the transition (or reminder) happened.
    pub time: Timestamp,
    /// A stable id for this exact notice (incident uid, occurrence, transition, repeat), for
    /// destinations that deduplicate (email Message-ID, a marker in a GitHub comment).
    pub id: String,
    /// What this destination answered for earlier notices of the same occurrence, oldest
    /// first (an issue number, the first email's Message-ID): for threading.
    pub thread: Vec<String>,
}

/// What a destination did with a notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// The destination's id of what it wrote (issue number, Message-ID, Discord message id).
    pub remote_id: Option<String>,
}

/// A send that did not deliver. Messages never carry a credential (token, webhook URL,
/// password).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SendError {
    /// Not delivered; worth trying again (5xx, connection refused, a rate limit). `retry_after`
    /// is what the destination asked for (GitHub's retry-after / x-ratelimit-reset, Discord's
    /// retry_after), if it said.
    #[error("{message}")]
    Retryable {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Not delivered and trying again will not help until a person changes something (401,
    /// 404 repository, a rejected address).
    #[error("{message}")]
    Permanent { message: String },
    /// The request may have reached the destination (a timeout after it was sent): the
    /// destination cannot tell whether it delivered.
    #[error("{message}")]
    Unknown { message: String },
}

/// A place notices go. Object-safe (`BoxFuture`) so the engine holds `Box<dyn Destination>`
/// and tests hold fakes.
pub trait Destination: Send + Sync {
    /// `github`, `email` or `discord` (metrics label).
    fn type_name(&self) -> &'static str;

    /// Whether sending the same [`Notice::id`] twice is harmless because the destination finds
    /// the first (GitHub: a marker in the issue or comment body; email: the Message-ID is the
    /// receiver's to deduplicate). Discord cannot: after an interrupted send the engine records
    /// `Unknown` instead of sending again.
    fn deduplicates(&self) -> bool;

    fn send<'a>(&'a self, notice: &'a Notice) -> BoxFuture<'a, Result<Sent, SendError>>;
}

/// A destination's configuration with its Secret values read: what the delivery engine hands
/// a [`DestinationFactory`]. `Debug` never prints a credential ([`SecretString`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DestinationConfig {
    GitHubIssue(GitHubIssueConfig),
    Email(EmailConfig),
    Discord(DiscordConfig),
}

/// One GitHub repository whose issues are the incidents' durable home.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitHubIssueConfig {
    /// The REST API's base URL (`https://api.github.com`, or a GitHub Enterprise / fake one).
    pub api_url: String,
    pub owner: String,
    pub repo: String,
    /// Labels put on each issue it opens.
    pub labels: Vec<String>,
    pub token: SecretString,
}

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS before AUTH (the default; refused if the server
    /// does not offer it).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// An SMTP relay and who hears from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// PEM certificates trusted in addition to the system's (a private relay's CA).
    pub extra_ca_pem: Option<String>,
    pub from: String,
    pub to: Vec<String>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
}

/// A Discord channel webhook (its URL holds the token, so all of it is secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscordConfig {
    pub webhook_url: SecretString,
    /// The display name messages are posted under.
    pub username: Option<String>,
}

/// Why a destination could not be built (a malformed URL, an unreadable CA). Never carries a
/// credential.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct BuildError(pub String);

/// Builds destinations from their configuration: the real ones in the controller
/// (`notify::destinations`), fakes in tests.
pub trait DestinationFactory: Send + Sync {
    fn build(&self, config: &DestinationConfig) -> Result<Box<dyn Destination>, BuildError>;
}

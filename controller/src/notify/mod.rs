//! Notifications: an Incident's transitions delivered to the destinations its
//! NotificationPolicies route them to (a GitHub issue, an email, a Discord message).
//!
//! ```text
//!  Incident transition ─► routes of the NotificationPolicies (pure, launchplane-core)
//!        │ intent written on the Incident before sending
//!        ▼
//!  Destination::send (this module: GitHub issue, SMTP, Discord webhook)
//!        │ outcome (Delivered / Failed / Unknown) written on the Incident
//! ```
//!
//! [`destination`] is the seam between the two halves: the delivery engine (intents, retries,
//! escalation, policy conditions) programs against [`destination::Destination`]; each
//! destination turns one [`destination::Notice`] into its own API's calls.

pub mod destination;
pub mod destinations;

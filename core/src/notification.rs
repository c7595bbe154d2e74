//! Notifications: which Incidents go to which destinations of the NotificationPolicies, what
//! is due for each (destination, transition), and how a policy's destinations fare.
//!
//! ```text
//!  Incident + NotificationPolicies ─► route::targets: the destinations it goes to, each with
//!                                     the cadence of the first route naming it
//!        │ per destination
//!        ▼
//!  due::due(status, destination, cadence, now) ─► at most one Action (send attempt n of a
//!                                                  transition or reminder; an interrupted send)
//!        │                                         and when to look again
//!        ▼
//!  due::intend (the `Intended` record, stored BEFORE the send) ─► send ─► due::record
//! ```
//!
//! Every fact lives on the Incident (`status.deliveries`), never in the process, so a restart
//! neither loses nor repeats a notification: an `Intended` record without an outcome is an
//! interrupted send, re-sent with the same notice id where the destination deduplicates,
//! recorded `Unknown` where it cannot (Discord).

mod due;
mod policy;
mod route;

pub use due::{
    Action, Due, MAX_ATTEMPTS, NoticeRef, PER_DESTINATION, Sending, Settled, Step, due, intend,
    opening_sequence, outcome, record, record_unknown, retry_backoff, settle, thread,
};
pub use policy::{Configured, Latest, latest_deliveries, status};
pub use route::{Cadence, Target, cadence, matches, targets};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

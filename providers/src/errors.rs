//! Typed provider errors.
//!
//! Every variant names the Dokploy route (`application.one`, …) and carries a short reason that
//! has been through [`crate::redact`]: response bodies are never quoted whole, request bodies are
//! never quoted at all, and the API key, env values and registry passwords never appear.
//!
//! | HTTP / transport outcome                      | variant          | retried (GET only) |
//! |-----------------------------------------------|------------------|--------------------|
//! | connect error, timeout, broken body           | `Unreachable`    | yes                |
//! | 5xx                                           | `Server`         | yes                |
//! | 401 on first contact with this key            | `Unauthorized`   | no                 |
//! | 401 with a tRPC envelope (permission denied)  | `Unauthorized`   | no                 |
//! | 401 gateway body after ≥N successes, or 429   | `Throttled`      | no                 |
//! | 404                                           | `NotFound`       | no                 |
//! | 409                                           | `Conflict`       | no                 |
//! | other 4xx (400, 403, 415, …)                  | `BadRequest`     | no                 |
//! | 2xx whose body does not parse                 | `Malformed`      | no                 |
//! | caller input rejected before any request      | `InvalidInput`   | no                 |
//! | the caller's [`crate::Deadline`] passed       | `DeadlinePassed` | no                 |

use thiserror::Error;

/// Result alias for provider operations.
pub type Result<T, E = ProviderError> = std::result::Result<T, E>;

/// What went wrong talking to the provider. `route` is the Dokploy procedure name.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum ProviderError {
    /// The key is missing, wrong, disabled, or lacks permission for this object.
    #[error("{route}: unauthorized: {reason}")]
    Unauthorized { route: &'static str, reason: String },

    /// The key is (probably) rate limited: 429, or Dokploy's 401 after earlier successes.
    #[error("{route}: throttled: {reason}")]
    Throttled { route: &'static str, reason: String },

    /// The object (or the route) does not exist.
    #[error("{route}: not found: {reason}")]
    NotFound { route: &'static str, reason: String },

    /// No usable answer: connection refused, DNS, TLS, timeout, body cut off.
    #[error("{route}: unreachable: {reason}")]
    Unreachable { route: &'static str, reason: String },

    /// A 2xx answer whose body is not the expected shape.
    #[error("{route}: malformed response: {reason}")]
    Malformed { route: &'static str, reason: String },

    /// 409, e.g. an `appName` that is already taken.
    #[error("{route}: conflict: {reason}")]
    Conflict { route: &'static str, reason: String },

    /// 5xx.
    #[error("{route}: server error {status}: {reason}")]
    Server {
        route: &'static str,
        status: u16,
        reason: String,
    },

    /// Any other 4xx: input validation, wrong content type, forbidden.
    #[error("{route}: bad request {status}: {reason}")]
    BadRequest {
        route: &'static str,
        status: u16,
        reason: String,
    },

    /// The caller's input was refused before anything was sent (bad env key, unrepresentable
    /// value, invalid base URL).
    #[error("{route}: invalid input: {reason}")]
    InvalidInput { route: &'static str, reason: String },

    /// The caller's [`crate::Deadline`] passed before the call was sent, or before it was
    /// answered (then, as after a timeout, a mutation may or may not have been applied).
    #[error("{route}: {reason}")]
    DeadlinePassed { route: &'static str, reason: String },
}

impl ProviderError {
    /// A short, stable name for metrics and logs (`"unreachable"`, `"throttled"`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unauthorized { .. } => "unauthorized",
            Self::Throttled { .. } => "throttled",
            Self::NotFound { .. } => "not_found",
            Self::Unreachable { .. } => "unreachable",
            Self::Malformed { .. } => "malformed",
            Self::Conflict { .. } => "conflict",
            Self::Server { .. } => "server",
            Self::BadRequest { .. } => "bad_request",
            Self::InvalidInput { .. } => "invalid_input",
            Self::DeadlinePassed { .. } => "deadline_passed",
        }
    }

    /// The Dokploy route the error came from.
    pub fn route(&self) -> &'static str {
        match self {
            Self::Unauthorized { route, .. }
            | Self::Throttled { route, .. }
            | Self::NotFound { route, .. }
            | Self::Unreachable { route, .. }
            | Self::Malformed { route, .. }
            | Self::Conflict { route, .. }
            | Self::Server { route, .. }
            | Self::BadRequest { route, .. }
            | Self::InvalidInput { route, .. }
            | Self::DeadlinePassed { route, .. } => route,
        }
    }

    /// Whether an idempotent read may be retried in-process. Only transport failures and 5xx:
    /// a throttle is handed to the controller, which backs off for much longer than a retry would.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Server { .. })
    }

    /// Whether the observation could not be made (the controller's `Unverifiable` verdict), as
    /// opposed to a definite answer such as `NotFound`.
    pub fn is_unverifiable(&self) -> bool {
        matches!(
            self,
            Self::Unauthorized { .. }
                | Self::Throttled { .. }
                | Self::Unreachable { .. }
                | Self::Malformed { .. }
                | Self::Server { .. }
                | Self::DeadlinePassed { .. }
        )
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_route_and_kind() {
        let e = ProviderError::Server {
            route: "application.one",
            status: 502,
            reason: "bad gateway".into(),
        };
        assert_eq!(e.to_string(), "application.one: server error 502: bad gateway");
        assert_eq!(e.kind(), "server");
        assert_eq!(e.route(), "application.one");
        assert!(e.is_retryable());
        let t = ProviderError::Throttled {
            route: "overview.services",
            reason: "429".into(),
        };
        assert!(!t.is_retryable());
        assert!(t.is_unverifiable());
    }
}

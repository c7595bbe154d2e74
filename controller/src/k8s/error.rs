//! The controller's error type. Each variant names the step that failed, and says how it is
//! retried ([`Error::class`]) and how it is counted ([`Error::category`]).
//!
//! Provider failures are not errors here: a Dokploy outage is an observation (the verdict says
//! Unverifiable) and is retried by the poll schedule, so the status still gets written.

use crate::error_policy::RetryClass;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Every Launchplane kind is namespaced; an object without one is not ours to guess about.
    #[error("{kind} has no namespace")]
    MissingNamespace { kind: &'static str },

    #[error("{kind} has no name")]
    MissingName { kind: &'static str },

    #[error("reading Secret {namespace}/{name}: {source}")]
    ReadSecret {
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },

    /// A ConfigMap or Secret a Lane's env references could not be read (API failure; a
    /// missing object is written to the lane's status instead).
    #[error("reading {kind} {namespace}/{name}: {source}")]
    ReadEnv {
        kind: &'static str,
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },

    /// A lane's RuntimeIdentity child could not be applied.
    #[error("applying RuntimeIdentity {namespace}/{name}: {source}")]
    ApplyChild {
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },

    /// A lane step failed in a way worth retrying (provider or API hiccup). Secret-free.
    #[error("lane {namespace}/{name}: {message}")]
    LaneStep {
        namespace: String,
        name: String,
        message: String,
    },

    #[error("writing the status of {kind} {namespace}/{name}: {source}")]
    WriteStatus {
        kind: &'static str,
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
}

// kube::Error is large; boxed so every Result on the reconcile path stays small.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// How the failure is retried: a malformed object waits for an edit, an API server that
    /// says "slow down" gets the long wait, anything else backs off with jitter.
    pub fn class(&self) -> RetryClass {
        match self {
            Error::MissingNamespace { .. } | Error::MissingName { .. } => RetryClass::User,
            Error::ReadSecret { source, .. } | Error::WriteStatus { source, .. } => kube_class(source),
            Error::ReadEnv { source, .. } | Error::ApplyChild { source, .. } => kube_class(source),
            Error::LaneStep { .. } => RetryClass::Transient,
        }
    }

    /// A stable label for metrics and logs.
    pub fn category(&self) -> &'static str {
        match self {
            Error::MissingNamespace { .. } => "missing_namespace",
            Error::MissingName { .. } => "missing_name",
            Error::ReadSecret { .. } => "read_secret",
            Error::WriteStatus { .. } => "write_status",
            Error::ReadEnv { .. } => "read_env",
            Error::ApplyChild { .. } => "apply_child",
            Error::LaneStep { .. } => "lane_step",
        }
    }
}

fn kube_class(error: &kube::Error) -> RetryClass {
    match error {
        kube::Error::Api(status) if status.code == 429 => RetryClass::Throttled,
        _ => RetryClass::Transient,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status::failure("x", "Y").with_code(code)))
    }

    #[test]
    fn classes() {
        assert_eq!(Error::MissingNamespace { kind: "X" }.class(), RetryClass::User);
        let read = |code| Error::ReadSecret {
            namespace: "ns".into(),
            name: "s".into(),
            source: Box::new(api_error(code)),
        };
        assert_eq!(read(429).class(), RetryClass::Throttled);
        assert_eq!(read(500).class(), RetryClass::Transient);
        assert_eq!(read(500).category(), "read_secret");
    }
}

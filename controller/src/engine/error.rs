//! Why a reconcile failed. Each variant names what failed, and says how it is retried
//! ([`Error::class`]) and how it is counted ([`Error::category`]).
//!
//! Provider failures are mostly not errors here: a Dokploy outage is an observation (the
//! verdict says Unverifiable) and is retried by the poll schedule, so the status still gets
//! written. What is an error is what kept the reconcile from finishing its own work: a read of
//! a referenced Secret, a write of status or records, a lane step worth retrying, a teardown.

use super::secrets::{ReadPurpose, WorldError};
use super::store::StoreError;
use crate::error_policy::RetryClass;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Every Launchplane kind is namespaced; an object without one is not ours to guess about.
    #[error("{kind} has no namespace")]
    MissingNamespace { kind: &'static str },

    #[error("{kind} has no name")]
    MissingName { kind: &'static str },

    /// A Secret or ConfigMap the object references could not be read (a missing one is written
    /// to the object's status instead).
    #[error(transparent)]
    Read(#[from] WorldError),

    /// A status, record or child could not be written.
    #[error("{what}: {source}")]
    Write {
        what: String,
        #[source]
        source: StoreError,
    },

    /// A lane step failed in a way worth retrying (provider or API hiccup). Secret-free.
    #[error("lane {namespace}/{name}: {message}")]
    LaneStep {
        namespace: String,
        name: String,
        message: String,
    },

    /// A preview's Dokploy application and domain could not be torn down; its finalizer stays.
    #[error("tearing down Preview {namespace}/{name} (the finalizer stays): {message}")]
    Teardown {
        namespace: String,
        name: String,
        message: String,
    },

    /// Anything else the shell could not do (deleting an expired Preview, its finalizer).
    #[error("{0}")]
    Shell(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// How the failure is retried: a malformed object waits for an edit, an API server that
    /// says "slow down" gets the long wait, anything else backs off with jitter.
    pub fn class(&self) -> RetryClass {
        match self {
            Error::MissingNamespace { .. } | Error::MissingName { .. } => RetryClass::User,
            Error::Read(e) if e.throttled => RetryClass::Throttled,
            Error::Write {
                source: StoreError::Throttled(_),
                ..
            } => RetryClass::Throttled,
            _ => RetryClass::Transient,
        }
    }

    /// A stable label for metrics and logs.
    pub fn category(&self) -> &'static str {
        match self {
            Error::MissingNamespace { .. } => "missing_namespace",
            Error::MissingName { .. } => "missing_name",
            // The ProviderConfig's API key Secret, and the Secrets and ConfigMaps of a lane's env.
            Error::Read(e) if e.purpose == ReadPurpose::ApiKey => "read_secret",
            Error::Read(_) => "read_env",
            Error::Write { .. } => "write_status",
            Error::LaneStep { .. } => "lane_step",
            Error::Teardown { .. } => "teardown",
            Error::Shell(_) => "shell",
        }
    }

    /// A write of `what` failed.
    pub fn write(what: impl Into<String>, source: StoreError) -> Self {
        Error::Write {
            what: what.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(Error::MissingNamespace { kind: "X" }.class(), RetryClass::User);
        let read = |throttled| {
            Error::Read(WorldError {
                kind: "Secret",
                namespace: "ns".into(),
                name: "s".into(),
                message: "boom".into(),
                throttled,
                purpose: ReadPurpose::ApiKey,
            })
        };
        assert_eq!(read(true).class(), RetryClass::Throttled);
        assert_eq!(read(false).class(), RetryClass::Transient);
        assert_eq!(read(false).category(), "read_secret");
        let write = Error::write("status", StoreError::Throttled("429".into()));
        assert_eq!(write.class(), RetryClass::Throttled);
        assert_eq!(write.category(), "write_status");
    }
}

//! What the one executor does on Dokploy, for every kind, and the one way its failures are
//! classified.
//!
//! Each kind's plan names its own steps with what they mean for that kind (a lane's
//! [`crate::lane::Step`] fails its DeploymentRecord when refused; a preview's
//! [`crate::preview::PreviewStep`] fails its generation or stalls the Preview). Whatever such a
//! step does on Dokploy comes down to one [`Action`], which the executor performs through the
//! Provider trait; every failure of an action or a read is one [`ExecError`].

use crate::target::{DesiredEnv, TargetRef};
use launchplane_providers::{EnvChange, ProviderError};
use thiserror::Error;

/// One change (or deploy) on Dokploy.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Replace an application's description (to carry an ownership marker).
    SetDescription { target: TargetRef, description: String },
    /// Point an application at an image (public: no registry credentials).
    SetImage { target: TargetRef, image: String },
    /// Write `env` over the target's env; every other key is kept as it is.
    MergeEnv { target: TargetRef, env: DesiredEnv },
    /// Queue a deploy titled `title`, by which it is found again.
    Deploy {
        target: TargetRef,
        title: String,
        description: String,
    },
    /// Create a docker-source application named `name` in `environment`; `description` carries
    /// the ownership marker.
    CreateApplication {
        environment: String,
        name: String,
        description: String,
    },
    /// Attach the domain `host` to `application`.
    CreateDomain {
        application: String,
        host: String,
        port: u16,
        https: bool,
    },
    /// Delete a domain by id (already gone is success).
    DeleteDomain { domain: String },
    /// Delete an application by id (already gone is success).
    DeleteApplication { application: String },
}

impl Action {
    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Action::SetDescription { .. } => "SetDescription",
            Action::SetImage { .. } => "SetImage",
            Action::MergeEnv { .. } => "MergeEnv",
            Action::Deploy { .. } => "Deploy",
            Action::CreateApplication { .. } => "CreateApplication",
            Action::CreateDomain { .. } => "CreateDomain",
            Action::DeleteDomain { .. } => "DeleteDomain",
            Action::DeleteApplication { .. } => "DeleteApplication",
        }
    }
}

/// What a performed action gave back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Performed {
    Done,
    /// The id of what was created (an application, a domain).
    Created(String),
    /// What an env merge changed (key names only).
    EnvMerged(EnvChange),
}

/// Why an action or a read did not happen. Secret-free: provider errors are redacted by the
/// provider crate, and env values never leave the merge request itself.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ExecError {
    /// The provider refused it (bad input, conflict): retrying the same action will not help,
    /// so the attempt or generation fails, or the setup stalls, as its kind says.
    #[error("refused: {0}")]
    Refused(String),
    /// What it names does not exist (404). Refused too, for every action; a read tells it apart
    /// because a 404 alone never proves an application gone (see
    /// [`crate::preview::check_target`]).
    #[error("refused: {0}")]
    NotFound(String),
    /// What was found is not Launchplane's (a marker no record of ours explains): nothing was
    /// run or changed, and retrying changes nothing until a person acts.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The provider could not be reached or was throttled: try again.
    #[error("transient: {0}")]
    Transient(String),
}

impl ExecError {
    /// The provider's own words (what the classification is prefixed to in `Display`).
    pub fn message(&self) -> &str {
        match self {
            ExecError::Refused(m)
            | ExecError::NotFound(m)
            | ExecError::Conflict(m)
            | ExecError::Transient(m) => m,
        }
    }

    /// Whether retrying the same action cannot help.
    pub fn is_refused(&self) -> bool {
        !matches!(self, ExecError::Transient(_))
    }
}

impl From<ProviderError> for ExecError {
    fn from(e: ProviderError) -> Self {
        match e {
            ProviderError::NotFound { .. } => ExecError::NotFound(e.to_string()),
            ProviderError::BadRequest { .. }
            | ProviderError::Conflict { .. }
            | ProviderError::InvalidInput { .. } => ExecError::Refused(e.to_string()),
            _ => ExecError::Transient(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_and_404s_are_final_everything_else_is_retried() {
        let refused = [
            ProviderError::BadRequest {
                route: "application.create",
                status: 400,
                reason: "bad".into(),
            },
            ProviderError::Conflict {
                route: "application.create",
                reason: "taken".into(),
            },
            ProviderError::InvalidInput {
                route: "application.saveEnvironment",
                reason: "key".into(),
            },
        ];
        for e in refused {
            let text = e.to_string();
            let classified = ExecError::from(e);
            assert!(matches!(classified, ExecError::Refused(_)), "{classified}");
            assert!(classified.is_refused());
            assert_eq!(classified.message(), text);
        }
        let gone = ExecError::from(ProviderError::NotFound {
            route: "application.one",
            reason: "no such application".into(),
        });
        assert!(matches!(gone, ExecError::NotFound(_)));
        assert!(gone.is_refused());
        for e in [
            ProviderError::Server {
                route: "application.deploy",
                status: 502,
                reason: "gateway".into(),
            },
            ProviderError::Unreachable {
                route: "application.deploy",
                reason: "timeout".into(),
            },
            ProviderError::Throttled {
                route: "application.one",
                reason: "429".into(),
            },
            ProviderError::Unauthorized {
                route: "application.one",
                reason: "401".into(),
            },
        ] {
            let classified = ExecError::from(e);
            assert!(matches!(classified, ExecError::Transient(_)), "{classified}");
            assert!(!classified.is_refused());
        }
    }
}

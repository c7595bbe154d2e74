//! The provider's view of Dokploy: what the controller reads and hands back.
//!
//! These types are Dokploy-flavoured but Kubernetes-free. Timestamps stay as Dokploy's ISO-8601
//! strings (they compare correctly as strings and the controller parses what it needs); fields
//! Dokploy may omit are `Option`. Secrets (`env`, the compose file) are [`SecretString`]s, and the
//! registry password is never read into any type at all.

use std::fmt;

use crate::secret::SecretString;

/// The two kinds of Dokploy target Launchplane manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TargetCategory {
    Application,
    Compose,
}

impl TargetCategory {
    /// Dokploy's name (`overview.services` `type`, router name).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Application => "application",
            Self::Compose => "compose",
        }
    }
}

impl fmt::Display for TargetCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A service's type as `overview.services` reports it; databases land in `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServiceCategory {
    Application,
    Compose,
    Other(String),
}

impl ServiceCategory {
    pub fn parse(s: &str) -> Self {
        match s {
            "application" => Self::Application,
            "compose" => Self::Compose,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The target category, for the two kinds Launchplane manages.
    pub fn target(&self) -> Option<TargetCategory> {
        match self {
            Self::Application => Some(TargetCategory::Application),
            Self::Compose => Some(TargetCategory::Compose),
            Self::Other(_) => None,
        }
    }
}

/// `applicationStatus` / `composeStatus`: the last Dokploy action, not container health.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServiceStatus {
    Idle,
    Running,
    Done,
    Error,
    Other(String),
}

impl ServiceStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "idle" => Self::Idle,
            "running" => Self::Running,
            "done" => Self::Done,
            "error" => Self::Error,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// A deployment row's `status`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeploymentStatus {
    Running,
    Done,
    Error,
    Cancelled,
    Other(String),
}

impl DeploymentStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "running" => Self::Running,
            "done" => Self::Done,
            "error" => Self::Error,
            "cancelled" => Self::Cancelled,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Whether the deployment has finished (successfully or not).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Done | Self::Error | Self::Cancelled)
    }
}

/// One entry of `overview.services`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSummary {
    pub id: String,
    pub category: ServiceCategory,
    /// Display name; not unique.
    pub name: Option<String>,
    /// Docker service name; unique.
    pub app_name: Option<String>,
    pub status: Option<ServiceStatus>,
    pub last_deploy_at: Option<String>,
    pub created_at: Option<String>,
    pub project_id: Option<String>,
    pub project_name: Option<String>,
    pub environment_id: Option<String>,
    pub environment_name: Option<String>,
    pub server_id: Option<String>,
}

/// One entry of `overview.domains`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainSummary {
    pub domain_id: String,
    pub host: String,
    pub path: Option<String>,
    pub port: Option<u16>,
    pub https: bool,
    pub certificate_type: Option<String>,
    pub enabled: Option<bool>,
    pub domain_type: Option<String>,
    /// The owning service's id (`applicationId` / `composeId`).
    pub service_owner_id: Option<String>,
    pub service_owner_type: Option<String>,
    /// The owning service's display name.
    pub service_name: Option<String>,
    pub project_id: Option<String>,
    pub environment_id: Option<String>,
    pub environment_name: Option<String>,
}

/// One entry of `deployment.allCentralized`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentSummary {
    pub deployment_id: String,
    pub title: Option<String>,
    pub status: DeploymentStatus,
    /// `applicationId` or `composeId` of the deployed service.
    pub service_id: Option<String>,
    pub category: Option<TargetCategory>,
    pub created_at: Option<String>,
    pub finished_at: Option<String>,
}

/// What one poll of the three org-wide routes saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgSnapshot {
    pub services: Vec<ServiceSummary>,
    pub domains: Vec<DomainSummary>,
    /// Newest first.
    pub deployments: Vec<DeploymentSummary>,
}

/// One environment of a project (`environment.byProjectId`), services left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentSummary {
    pub environment_id: String,
    pub name: Option<String>,
    /// The project's default environment (`production`, which cannot be deleted).
    pub is_default: bool,
}

/// An id with its display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedRef {
    pub id: String,
    pub name: Option<String>,
}

/// A domain attached to a target (from the `.one` routes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRef {
    pub domain_id: String,
    pub host: String,
    pub path: Option<String>,
    pub port: Option<u16>,
    pub https: bool,
    /// Compose only: the compose service the domain routes to.
    pub service_name: Option<String>,
}

/// The full detail of one target (`application.one` / `compose.one`). `Debug` is safe to log:
/// `env` and `compose_file` print `<redacted>`, and the registry password is not held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetDetail {
    pub category: TargetCategory,
    pub id: String,
    pub name: Option<String>,
    pub app_name: Option<String>,
    /// Free text; Launchplane's ownership marker lives here (`launchplane_api::ownership`).
    pub description: Option<String>,
    /// `dockerImage` (applications only).
    pub image: Option<String>,
    /// The raw dotenv string; `None` when never set.
    pub env: Option<SecretString>,
    pub domains: Vec<DomainRef>,
    pub status: Option<ServiceStatus>,
    pub environment: Option<NamedRef>,
    pub project: Option<NamedRef>,
    pub source_type: Option<String>,
    /// Compose only. Held as a secret because compose files often inline credentials.
    pub compose_file: Option<SecretString>,
    /// Registry user (applications); not a secret.
    pub registry_username: Option<String>,
    pub registry_url: Option<String>,
    /// Whether Dokploy holds a registry password. The password itself is never read.
    pub has_registry_password: bool,
    /// The remote server the target runs on (`serverId`); `None` when it runs on the Dokploy
    /// host itself. The docker routes need it to reach the target's containers.
    pub server_id: Option<String>,
}

impl TargetDetail {
    /// The domain hosts, in Dokploy's order.
    pub fn hosts(&self) -> Vec<&str> {
        self.domains.iter().map(|d| d.host.as_str()).collect()
    }

    /// The env key names (values are never exposed by this helper).
    pub fn env_keys(&self) -> Vec<String> {
        self.env
            .as_ref()
            .map(|e| crate::env_merge::keys(e.expose()))
            .unwrap_or_default()
    }
}

/// One container of a compose, as `docker.getContainersByAppNameMatch` lists it (a line of
/// `docker ps -a`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerView {
    /// Docker's short id (12 hex characters); what `docker.stopContainer` takes.
    pub container_id: String,
    /// Compose v2 names a service's container `<project>-<service>-<n>` (project = the
    /// compose's `appName`), unless the compose file sets `container_name`.
    pub name: String,
    /// Docker's state: `running`, `exited`, `created`, `paused`, `restarting`, `dead`.
    pub state: String,
    /// Docker's human status, e.g. `Up 2 hours`, `Exited (0) 3 seconds ago`.
    pub status: Option<String>,
}

impl ContainerView {
    /// Whether docker reports the container running (`paused` and `restarting` are not).
    pub fn is_running(&self) -> bool {
        self.state == "running"
    }
}

/// One deployment of a target (`deployment.all` / `deployment.allByCompose`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub id: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: DeploymentStatus,
    pub created_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

/// One job of Dokploy's in-memory deploy queue (`deployment.queueList`): a deploy waiting its
/// turn (`waiting`) or being run (`active`). A queued deploy has no deployment row yet: the row
/// appears only when the worker starts the job, so this is the only place it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedDeploy {
    pub job_id: String,
    /// The application or compose the job deploys (`data.applicationId` / `data.composeId`).
    pub service_id: Option<String>,
    pub category: Option<TargetCategory>,
    /// The title the deploy was sent with (`data.titleLog`).
    pub title: Option<String>,
    /// `waiting` or `active`, as Dokploy wrote it.
    pub state: Option<String>,
}

/// Private registry credentials for `set_image`. `Debug` redacts the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryCredentials {
    pub username: String,
    pub password: SecretString,
    /// `None` for Docker Hub.
    pub registry_url: Option<String>,
}

/// What `merge_env` did: key names only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvChange {
    /// Whether an update was sent (false when the merge changed nothing).
    pub written: bool,
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub removed: Vec<String>,
}

/// Where `compose.loadServices` reads the compose file from (its `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComposeFileSource {
    /// `fetch`: the file as saved in Dokploy (for a raw compose, the database copy is written to
    /// disk first; for a git source, the repository is cloned again).
    Saved,
    /// `cache`: the file already on the Dokploy host, as the last deploy or fetch left it; a
    /// compose never deployed has none (404 `Services not found`).
    LastWritten,
}

impl ComposeFileSource {
    /// The `type` query value.
    pub fn as_query(&self) -> &'static str {
        match self {
            Self::Saved => "fetch",
            Self::LastWritten => "cache",
        }
    }
}

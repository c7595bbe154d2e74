//! Launchplane's provider layer: the [`Provider`] trait and [`DokployClient`], the Dokploy HTTP
//! client. Knows Dokploy, not Kubernetes.
//!
//! - [`provider`]: the trait the controller programs against (`Arc<dyn Provider>`).
//! - [`client`]: the reqwest implementation: timeouts, retries for reads only, per-key rate
//!   limit, typed errors, metrics hook.
//! - [`ops`]: every request as data, for the OpenAPI contract test.
//! - [`env_merge`]: the pure dotenv editor behind `merge_env`.
//! - [`model`], [`schedules`], [`wire`](crate): what the controller sees / how Dokploy's JSON
//!   is read.
//! - [`errors`], [`redact`], [`secret`]: typed errors that never carry a secret.
//! - [`ratelimit`], [`retry`], [`observer`], [`deadline`]: call discipline.

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
pub mod deadline;
pub mod env_merge;
pub mod errors;
pub mod model;
pub mod notifications;
pub mod observer;
#[cfg(feature = "client")]
pub mod ops;
pub mod provider;
#[cfg(feature = "client")]
pub mod ratelimit;
pub mod redact;
#[cfg(feature = "client")]
pub mod retry;
pub mod schedules;
pub mod secret;
#[cfg(feature = "client")]
mod wire;

#[cfg(feature = "client")]
pub use client::{DokployClient, DokployConfig, install_crypto_provider};
#[cfg(feature = "client")]
pub use deadline::Deadline;
pub use errors::{ProviderError, Result};
pub use model::{
    ComposeFileSource, ContainerView, Deployment, DeploymentStatus, DeploymentSummary, DomainRef,
    DomainSummary, EnvChange, EnvironmentSummary, NamedRef, OrgSnapshot, QueuedDeploy, RegistryCredentials,
    ServiceCategory, ServiceStatus, ServiceSummary, TargetCategory, TargetDetail,
};
pub use notifications::{CustomNotificationSpec, CustomView, NotificationView};
pub use observer::{CallObserver, NoopObserver};
#[cfg(feature = "client")]
pub use ops::{Method, Op, RequestSpec, request_spec};
pub use provider::Provider;
#[cfg(feature = "client")]
pub use ratelimit::RateLimit;
#[cfg(feature = "client")]
pub use retry::RetryPolicy;
pub use schedules::{ComposeScheduleSpec, ScheduleRun, ScheduleRunAnswer, ScheduleView, ShellType};
pub use secret::{ApiKey, SecretString, SecretValue};

//! What the reconcile core knows of a provider target: which one a step acts on, what was read
//! of it, and the env a lane wants on it.

use launchplane_providers::SecretString;
use std::collections::BTreeMap;

/// The lane's env as resolved from its values, ConfigMaps and Secrets. Values are secrets.
pub type DesiredEnv = BTreeMap<String, SecretString>;

/// What was read of the target: its image, its raw env, its description (where ownership
/// markers live) and its source type. `Debug` redacts the env.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetFacts {
    pub image: Option<String>,
    /// The raw dotenv text; compared through the provider's env editor, never printed.
    pub env: SecretString,
    /// The Dokploy description, as read (`None`: empty).
    pub description: Option<String>,
    /// The Dokploy `sourceType` (`docker`, `git`, `github`, ...); `None` when not given.
    pub source_type: Option<String>,
}

impl From<launchplane_providers::TargetDetail> for TargetFacts {
    fn from(detail: launchplane_providers::TargetDetail) -> Self {
        TargetFacts {
            image: detail.image,
            env: detail.env.unwrap_or_default(),
            description: detail.description,
            source_type: detail.source_type,
        }
    }
}

/// The provider target a step acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetRef {
    pub category: launchplane_providers::TargetCategory,
    pub id: String,
}

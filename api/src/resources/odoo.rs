//! The Odoo driver's settings: on the Product (how its compose is deployed and what runs after
//! a deploy) and the overrides a Lane may make.

use super::common::{ENV_NAME_MAX_LEN, ENV_NAME_PATTERN, pattern_rule};
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// The env key a compose lane pins its image through when the Product names none.
pub const DEFAULT_IMAGE_ENV_KEY: &str = "ODOO_IMAGE";
/// The compose service that serves Odoo's web app when the Product names none.
pub const DEFAULT_WEB_SERVICE: &str = "web";

/// How an Odoo product runs on a Dokploy compose (`driver: odoo`).
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OdooSpec {
    /// The compose env key the image is pinned through, as `repository@digest`; the compose
    /// file refers to it, e.g. `image: ${ODOO_IMAGE}`. Default `ODOO_IMAGE`.
    #[serde(default = "default_image_env_key")]
    #[schemars(length(min = 1, max = ENV_NAME_MAX_LEN), regex(pattern = ENV_NAME_PATTERN))]
    #[x_kube(validation = pattern_rule(ENV_NAME_PATTERN,
        "imageEnvKey must be an env key such as ODOO_IMAGE (letters, digits and '_', not starting with a digit)"))]
    pub image_env_key: String,
    /// The compose service that runs Odoo's web app (where post-deploy commands run). Default
    /// `web`.
    #[serde(default = "default_web_service")]
    #[schemars(length(min = 1, max = 63))]
    pub web_service: String,
}

fn default_image_env_key() -> String {
    DEFAULT_IMAGE_ENV_KEY.to_string()
}

fn default_web_service() -> String {
    DEFAULT_WEB_SERVICE.to_string()
}

impl Default for OdooSpec {
    fn default() -> Self {
        OdooSpec {
            image_env_key: default_image_env_key(),
            web_service: default_web_service(),
        }
    }
}

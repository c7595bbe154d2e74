//! The Odoo driver's settings: on the Product (how its compose is deployed and what runs after
//! a deploy) and the overrides a Lane may make.

use super::common::{ENV_NAME_MAX_LEN, ENV_NAME_PATTERN, pattern_rule};
use super::env::LaneEnv;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::KubeSchema;
use schemars::JsonSchema;
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
    /// What runs in the web service after every deploy, before verification (update modules,
    /// apply settings), as a Dokploy schedule Launchplane owns. Absent: nothing runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_deploy: Option<CommandSpec>,
    /// The lane's backup command, run by the controller for a BackupGate with `capture`.
    /// Absent: such gates fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupCommand>,
    /// The data bootstrap command a DataBootstrap of its lanes runs when it names none.
    /// Absent: a DataBootstrap must name its own `spec.command`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<BootstrapCommand>,
}

/// The data bootstrap command of an Odoo product (restores a dataset into a lane).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BootstrapCommand {
    /// The command line, run once as `sh -c <command>` in the web service's container. It is
    /// stored in Dokploy and written to the run's log: never put a secret in it; it reads
    /// secrets from the compose env (the lane's `env`).
    #[schemars(length(min = 1, max = 4096))]
    pub command: String,
}

/// The backup command of an Odoo lane (database and filestore).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupCommand {
    /// The command line, run as `sh -c <command>` in `service`'s container. Its last output
    /// line reports the backup as JSON (`{"path": "...", "sizeBytes": 123, "checksum":
    /// "sha256:..."}`) or as `key=value` pairs (`path=... sizeBytes=123 checksum=...`); `path`
    /// is required. Never put a secret in it (Dokploy logs the command line).
    #[schemars(length(min = 1, max = 4096))]
    pub command: String,
    /// The compose service it runs in. Default: `webService`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub service: Option<String>,
    /// Stop the web service while capturing: its containers (`<appName>-<webService>-<n>`) are
    /// stopped one by one (`docker.stopContainer`), the command runs in `service`, which must
    /// then be another service (the database's), and the containers are started again whatever
    /// happens. Default false.
    #[serde(default)]
    pub stop_web: bool,
}

/// A command Launchplane runs in a compose service through a Dokploy schedule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandSpec {
    /// The command line, run as `sh -c <command>` in the service's container, e.g.
    /// `odoo -u all --stop-after-init`. It is stored in Dokploy and written to every run's log:
    /// never put a secret in it; refer to an env key (`$SMTP_PASSWORD`) delivered by `env`.
    #[schemars(length(min = 1, max = 4096))]
    pub command: String,
    /// Env keys the command needs, written into the compose env with the lane's (the same
    /// owned-key merge): literal values, ConfigMaps and Secrets of the namespace.
    #[serde(default)]
    pub env: LaneEnv,
}

/// What a Lane of an Odoo product changes of its Product's `spec.odoo`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LaneOdoo {
    /// Overrides of the post-deploy command. Absent: the Product's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_deploy: Option<CommandOverride>,
}

/// A lane's override of a command of its Product.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandOverride {
    /// The command line instead of the Product's. Absent: the Product's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 4096))]
    pub command: Option<String>,
    /// Env keys added to the Product's (a key set here wins).
    #[serde(default)]
    pub env: LaneEnv,
}

/// How a command Launchplane ran as a Dokploy schedule ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum CommandResult {
    /// The command exited 0.
    Succeeded,
    /// The command failed (non-zero exit, container missing, run cancelled).
    Failed,
    /// Asked for, outcome not known yet: settled from the schedule's run history.
    #[default]
    Unknown,
}

/// One run of a command Launchplane owns as a Dokploy schedule: the schedule, the intent (written
/// before the run is asked for, so a restart never asks twice) and the outcome. No secret: the
/// command's output is not kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandRun {
    /// `Succeeded`, `Failed` or `Unknown` (asked for, not settled yet). Absent: not asked for yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<CommandResult>,
    /// The Dokploy schedule (marked as Launchplane's in its description) the command runs as.
    /// Recorded ids are what makes a marked schedule Launchplane's: later records reuse it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_id: Option<String>,
    /// When Launchplane set out to create the schedule (written before `schedule.create`): a
    /// restart adopts the one marked schedule created since, and no other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_requested_at: Option<Time>,
    /// The schedule's newest run before this one: the runs after it are this one's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_run_id: Option<String>,
    /// When the run was asked for (written before `schedule.runManually`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<Time>,
    /// The run's Dokploy deployment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    /// When the run ended (as Launchplane learnt it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// What happened, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
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
            post_deploy: None,
            backup: None,
            bootstrap: None,
        }
    }
}

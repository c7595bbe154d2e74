//! The env a lane (or a driver's command) writes to its target: literal values, ConfigMaps and
//! Secrets, by reference.

use super::common::{ENV_NAME_MAX_LEN, ENV_NAME_PATTERN, LocalObjectRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The env a lane writes to its target.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LaneEnv {
    /// Literal, non-secret values, one per name (names are unique). Put secrets in a Secret
    /// and list it in `secretRefs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 200),
        extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"])
    )]
    pub values: Vec<EnvValue>,
    /// ConfigMaps in this namespace whose every key becomes an env key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub config_map_refs: Vec<LocalObjectRef>,
    /// Secrets in this namespace whose every key becomes an env key. Values are never written
    /// to status or logs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub secret_refs: Vec<LocalObjectRef>,
}

/// One literal env value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvValue {
    /// The env key, a C identifier such as `DATABASE_HOST`. Keys starting with
    /// `LAUNCHPLANE_` are reserved for the runtime identity.
    #[schemars(length(min = 1, max = ENV_NAME_MAX_LEN), regex(pattern = ENV_NAME_PATTERN))]
    pub name: String,
    /// The value (non-secret). Default empty.
    #[serde(default)]
    #[schemars(length(max = 32768))]
    pub value: String,
}

//! Input validation shaped like Dokploy's zod v4 schemas: required keys, types, enums, string
//! lengths and the appName pattern, with zod's issue objects and messages. Unknown keys are
//! dropped, as zod objects strip them. The field lists follow `dokploy/openapi.json`.

use serde_json::{Map, Value, json};

#[derive(Clone, Copy, Debug)]
pub(crate) enum Ty {
    Str,
    Bool,
    Num,
    Enum(&'static [&'static str]),
    StrArray,
    /// Any JSON object (the swarm settings); not checked deeper.
    Obj,
    /// An array of objects (serviceNetworks); not checked deeper.
    ObjArray,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Req {
    Optional,
    /// `z.string()` and friends: a missing key reports the expected type.
    Required,
    /// drizzle-zod `.required()`: a missing key reports `expected nonoptional`.
    NonOptional,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub nullable: bool,
    pub req: Req,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// `^[a-zA-Z0-9._-]+$` in one of its spellings (the regex as zod prints it in the issue):
    /// the appName pattern, or the docker routes' container and appName pattern.
    pub pattern: Option<&'static str>,
}

pub(crate) const fn field(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        nullable: false,
        req: Req::Optional,
        min: None,
        max: None,
        pattern: None,
    }
}

impl Field {
    pub const fn required(mut self) -> Field {
        self.req = Req::Required;
        self
    }
    pub const fn nonoptional(mut self) -> Field {
        self.req = Req::NonOptional;
        self
    }
    pub const fn nullable(mut self) -> Field {
        self.nullable = true;
        self
    }
    pub const fn min(mut self, n: f64) -> Field {
        self.min = Some(n);
        self
    }
    pub const fn max(mut self, n: f64) -> Field {
        self.max = Some(n);
        self
    }
    /// The docker routes' `containerId` and `appName`: `min(1)` and the pattern, no maximum.
    pub const fn docker_name(mut self) -> Field {
        self.pattern = Some(DOCKER_NAME_PATTERN);
        self.min = Some(1.0);
        self
    }
    pub const fn app_name(mut self) -> Field {
        self.pattern = Some(APP_NAME_PATTERN);
        self.min = Some(1.0);
        self.max = Some(63.0);
        self
    }
}

pub(crate) const APP_NAME_PATTERN: &str = "/^[a-zA-Z0-9._-]+$/";
/// Dokploy's `containerIdRegex` (docker router), also used for `appName` there.
pub(crate) const DOCKER_NAME_PATTERN: &str = r"/^[a-zA-Z0-9.\-_]+$/";

fn received(value: Option<&Value>) -> &'static str {
    match value {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}

fn type_name(ty: Ty) -> &'static str {
    match ty {
        Ty::Str | Ty::Enum(_) => "string",
        Ty::Bool => "boolean",
        Ty::Num => "number",
        Ty::StrArray | Ty::ObjArray => "array",
        Ty::Obj => "object",
    }
}

fn invalid_type(path: &str, expected: &str, value: Option<&Value>) -> Value {
    json!({
        "expected": expected,
        "code": "invalid_type",
        "path": [path],
        "message": format!("Invalid input: expected {expected}, received {}", received(value)),
    })
}

/// Validates `input` (already a JSON object) against `fields`. Returns the cleaned object
/// (unknown keys dropped) or zod's issues.
pub(crate) fn validate(fields: &[Field], input: &Value) -> Result<Map<String, Value>, Vec<Value>> {
    let Some(obj) = input.as_object() else {
        return Err(vec![json!({
            "expected": "object",
            "code": "invalid_type",
            "path": [],
            "message": format!("Invalid input: expected object, received {}", received(Some(input))),
        })]);
    };
    let mut issues = Vec::new();
    let mut out = Map::new();
    for f in fields {
        let value = obj.get(f.name);
        match value {
            None => match f.req {
                Req::Optional => {}
                // zod's enum reports any value outside the set, a missing one included, as
                // `invalid_value`.
                Req::Required if matches!(f.ty, Ty::Enum(_)) => check(f, &Value::Null, &mut issues),
                Req::Required => issues.push(invalid_type(f.name, type_name(f.ty), None)),
                Req::NonOptional => issues.push(invalid_type(f.name, "nonoptional", None)),
            },
            Some(Value::Null) if f.nullable => {
                out.insert(f.name.to_string(), Value::Null);
            }
            Some(v) => {
                let before = issues.len();
                check(f, v, &mut issues);
                if issues.len() == before {
                    out.insert(f.name.to_string(), v.clone());
                }
            }
        }
    }
    if issues.is_empty() { Ok(out) } else { Err(issues) }
}

fn check(f: &Field, v: &Value, issues: &mut Vec<Value>) {
    match f.ty {
        Ty::Str => match v.as_str() {
            None => issues.push(invalid_type(f.name, "string", Some(v))),
            Some(s) => {
                let len = s.encode_utf16().count() as f64;
                if let Some(min) = f.min
                    && len < min
                {
                    issues.push(json!({
                        "origin": "string", "code": "too_small", "minimum": min as u64, "inclusive": true,
                        "path": [f.name],
                        "message": format!("Too small: expected string to have >={} characters", min as u64),
                    }));
                } else if let Some(max) = f.max
                    && len > max
                {
                    issues.push(json!({
                        "origin": "string", "code": "too_big", "maximum": max as u64, "inclusive": true,
                        "path": [f.name],
                        "message": format!("Too big: expected string to have <={} characters", max as u64),
                    }));
                }
                if let Some(pattern) = f.pattern
                    && !s.is_empty()
                    && !s
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                {
                    issues.push(json!({
                        "origin": "string", "code": "invalid_format", "format": "regex",
                        "pattern": pattern, "path": [f.name],
                        "message": format!("Invalid string: must match pattern {pattern}"),
                    }));
                }
            }
        },
        Ty::Enum(values) => {
            if !v.as_str().is_some_and(|s| values.contains(&s)) {
                let quoted: Vec<String> = values.iter().map(|s| format!("\"{s}\"")).collect();
                issues.push(json!({
                    "code": "invalid_value",
                    "values": values,
                    "path": [f.name],
                    "message": format!("Invalid option: expected one of {}", quoted.join("|")),
                }));
            }
        }
        Ty::Bool => {
            if !v.is_boolean() {
                issues.push(invalid_type(f.name, "boolean", Some(v)));
            }
        }
        Ty::Num => match v.as_f64() {
            None => issues.push(invalid_type(f.name, "number", Some(v))),
            Some(n) => {
                if let Some(min) = f.min
                    && n < min
                {
                    issues.push(json!({
                        "origin": "number", "code": "too_small", "minimum": min, "inclusive": true,
                        "path": [f.name], "message": format!("Too small: expected number to be >={min}"),
                    }));
                } else if let Some(max) = f.max
                    && n > max
                {
                    issues.push(json!({
                        "origin": "number", "code": "too_big", "maximum": max, "inclusive": true,
                        "path": [f.name], "message": format!("Too big: expected number to be <={max}"),
                    }));
                }
            }
        },
        Ty::StrArray => match v.as_array() {
            None => issues.push(invalid_type(f.name, "array", Some(v))),
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    if !item.is_string() {
                        issues.push(json!({
                            "expected": "string", "code": "invalid_type", "path": [f.name, i],
                            "message": format!("Invalid input: expected string, received {}", received(Some(item))),
                        }));
                    }
                }
            }
        },
        Ty::Obj => {
            if !v.is_object() {
                issues.push(invalid_type(f.name, "object", Some(v)));
            }
        }
        Ty::ObjArray => {
            if !v
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_object))
            {
                issues.push(invalid_type(f.name, "array", Some(v)));
            }
        }
    }
}

// ---- schemas (from dokploy/openapi.json) --------------------------------------------------

use Ty::{Bool, Num, Obj, ObjArray, Str, StrArray};

const SOURCE_TYPES_APP: &[&str] = &["github", "docker", "git", "gitlab", "bitbucket", "gitea", "drop"];
const SOURCE_TYPES_COMPOSE: &[&str] = &["git", "github", "gitlab", "bitbucket", "gitea", "raw"];
const COMPOSE_TYPES: &[&str] = &["docker-compose", "stack"];
const CERT_TYPES: &[&str] = &["letsencrypt", "none", "custom"];
const DOMAIN_TYPES: &[&str] = &["compose", "application", "preview"];
const TRIGGER_TYPES: &[&str] = &["push", "tag"];
const STATUSES: &[&str] = &["idle", "running", "done", "error"];
const BUILD_TYPES: &[&str] = &[
    "dockerfile",
    "heroku_buildpacks",
    "paketo_buildpacks",
    "nixpacks",
    "static",
    "railpack",
];

pub(crate) const NONE: &[Field] = &[];

pub(crate) const PROJECT_CREATE: &[Field] = &[
    field("name", Str).required().min(1.0),
    field("description", Str).nullable(),
    field("env", Str),
];

pub(crate) const ENVIRONMENT_BY_PROJECT: &[Field] = &[field("projectId", Str).required()];
pub(crate) const ENVIRONMENT_ONE: &[Field] = &[field("environmentId", Str).required().min(1.0)];
pub(crate) const ENVIRONMENT_CREATE: &[Field] = &[
    field("name", Str).required().min(1.0),
    field("description", Str),
    field("projectId", Str).required().min(1.0),
];

pub(crate) const APPLICATION_ID: &[Field] = &[field("applicationId", Str).required().min(1.0)];
pub(crate) const COMPOSE_ID: &[Field] = &[field("composeId", Str).required().min(1.0)];
pub(crate) const DOMAIN_ID: &[Field] = &[field("domainId", Str).required().min(1.0)];

pub(crate) const APPLICATION_CREATE: &[Field] = &[
    field("name", Str).required().min(1.0),
    field("appName", Str).app_name(),
    field("description", Str).nullable(),
    field("environmentId", Str).required(),
    field("serverId", Str).nullable(),
    field("sourceType", Ty::Enum(SOURCE_TYPES_APP)),
];

pub(crate) const APPLICATION_SAVE_ENVIRONMENT: &[Field] = &[
    field("applicationId", Str).nonoptional(),
    field("env", Str).nullable().nonoptional(),
    field("buildArgs", Str).nullable().nonoptional(),
    field("buildSecrets", Str).nullable().nonoptional(),
    field("createEnvFile", Bool).nonoptional(),
];

pub(crate) const APPLICATION_SAVE_DOCKER_PROVIDER: &[Field] = &[
    field("dockerImage", Str).nullable().nonoptional(),
    field("applicationId", Str).nonoptional(),
    field("username", Str).nullable().nonoptional(),
    field("password", Str).nullable().nonoptional(),
    field("registryUrl", Str).nullable().nonoptional(),
];

pub(crate) const DEPLOY_APPLICATION: &[Field] = &[
    field("applicationId", Str).required().min(1.0),
    field("title", Str),
    field("description", Str),
];

pub(crate) const DEPLOY_COMPOSE: &[Field] = &[
    field("composeId", Str).required().min(1.0),
    field("title", Str),
    field("description", Str),
];

pub(crate) const COMPOSE_CREATE: &[Field] = &[
    field("name", Str).required().min(1.0),
    field("description", Str).nullable(),
    field("environmentId", Str).required(),
    field("composeType", Ty::Enum(COMPOSE_TYPES)),
    field("appName", Str).app_name(),
    field("serverId", Str).nullable(),
    field("composeFile", Str),
    field("sourceType", Ty::Enum(SOURCE_TYPES_COMPOSE)),
];

pub(crate) const COMPOSE_DELETE: &[Field] = &[
    field("composeId", Str).required().min(1.0),
    field("deleteVolumes", Bool).required(),
];

pub(crate) const DOMAIN_CREATE: &[Field] = &[
    field("host", Str).required().min(1.0),
    field("path", Str).nullable().min(1.0),
    field("port", Num).nullable().min(1.0).max(65535.0),
    field("customEntrypoint", Str).nullable(),
    field("https", Bool),
    field("applicationId", Str).nullable(),
    field("certificateType", Ty::Enum(CERT_TYPES)),
    field("customCertResolver", Str).nullable(),
    field("composeId", Str).nullable(),
    field("serviceName", Str).nullable(),
    field("domainType", Ty::Enum(DOMAIN_TYPES)).nullable(),
    field("previewDeploymentId", Str).nullable(),
    field("internalPath", Str).nullable(),
    field("stripPath", Bool),
    field("middlewares", StrArray).nullable(),
    field("forwardAuthEnabled", Bool),
];

/// `application.update`: `applicationId` plus every column, all optional.
pub(crate) const APPLICATION_UPDATE: &[Field] = &[
    field("applicationId", Str).required().min(1.0),
    field("name", Str).min(1.0),
    field("appName", Str).app_name(),
    field("description", Str).nullable(),
    field("env", Str).nullable(),
    field("previewEnv", Str).nullable(),
    field("watchPaths", StrArray).nullable(),
    field("previewBuildArgs", Str).nullable(),
    field("previewBuildSecrets", Str).nullable(),
    field("previewLabels", StrArray).nullable(),
    field("previewWildcard", Str).nullable(),
    field("previewPort", Num).nullable(),
    field("previewHttps", Bool),
    field("previewPath", Str).nullable(),
    field("previewCertificateType", Ty::Enum(CERT_TYPES)),
    field("previewCustomCertResolver", Str).nullable(),
    field("previewLimit", Num).nullable(),
    field("isPreviewDeploymentsActive", Bool).nullable(),
    field("previewRequireCollaboratorPermissions", Bool).nullable(),
    field("rollbackActive", Bool).nullable(),
    field("buildArgs", Str).nullable(),
    field("buildSecrets", Str).nullable(),
    field("memoryReservation", Str).nullable(),
    field("memoryLimit", Str).nullable(),
    field("cpuReservation", Str).nullable(),
    field("cpuLimit", Str).nullable(),
    field("title", Str).nullable(),
    field("enabled", Bool).nullable(),
    field("subtitle", Str).nullable(),
    field("command", Str).nullable(),
    field("args", StrArray).nullable(),
    field("icon", Str).nullable().max(2_097_152.0),
    field("refreshToken", Str).nullable(),
    field("sourceType", Ty::Enum(SOURCE_TYPES_APP)),
    field("cleanCache", Bool).nullable(),
    field("repository", Str).nullable(),
    field("owner", Str).nullable(),
    field("branch", Str).nullable(),
    field("buildPath", Str).nullable(),
    field("triggerType", Ty::Enum(TRIGGER_TYPES)).nullable(),
    field("autoDeploy", Bool).nullable(),
    field("gitlabProjectId", Num).nullable(),
    field("gitlabRepository", Str).nullable(),
    field("gitlabOwner", Str).nullable(),
    field("gitlabBranch", Str).nullable(),
    field("gitlabBuildPath", Str).nullable(),
    field("gitlabPathNamespace", Str).nullable(),
    field("giteaRepository", Str).nullable(),
    field("giteaOwner", Str).nullable(),
    field("giteaBranch", Str).nullable(),
    field("giteaBuildPath", Str).nullable(),
    field("bitbucketRepository", Str).nullable(),
    field("bitbucketRepositorySlug", Str).nullable(),
    field("bitbucketOwner", Str).nullable(),
    field("bitbucketBranch", Str).nullable(),
    field("bitbucketBuildPath", Str).nullable(),
    field("username", Str).nullable(),
    field("password", Str).nullable(),
    field("dockerImage", Str).nullable(),
    field("registryUrl", Str).nullable(),
    field("customGitUrl", Str).nullable(),
    field("customGitBranch", Str).nullable(),
    field("customGitBuildPath", Str).nullable(),
    field("customGitSSHKeyId", Str).nullable(),
    field("enableSubmodules", Bool),
    field("dockerfile", Str).nullable(),
    field("dockerContextPath", Str).nullable(),
    field("dockerBuildStage", Str).nullable(),
    field("dropBuildPath", Str).nullable(),
    field("healthCheckSwarm", Obj).nullable(),
    field("restartPolicySwarm", Obj).nullable(),
    field("placementSwarm", Obj).nullable(),
    field("updateConfigSwarm", Obj).nullable(),
    field("rollbackConfigSwarm", Obj).nullable(),
    field("modeSwarm", Obj).nullable(),
    field("labelsSwarm", Obj).nullable(),
    field("networkSwarm", ObjArray).nullable(),
    field("stopGracePeriodSwarm", Num).nullable(),
    field("endpointSpecSwarm", Obj).nullable(),
    field("ulimitsSwarm", ObjArray).nullable(),
    field("replicas", Num),
    field("applicationStatus", Ty::Enum(STATUSES)),
    field("buildType", Ty::Enum(BUILD_TYPES)),
    field("railpackVersion", Str).nullable(),
    field("herokuVersion", Str).nullable(),
    field("publishDirectory", Str).nullable(),
    field("isStaticSpa", Bool).nullable(),
    field("createEnvFile", Bool),
    field("createdAt", Str),
    field("registryId", Str).nullable(),
    field("rollbackRegistryId", Str).nullable(),
    field("environmentId", Str),
    field("githubId", Str).nullable(),
    field("gitlabId", Str).nullable(),
    field("giteaId", Str).nullable(),
    field("bitbucketId", Str).nullable(),
    field("buildServerId", Str).nullable(),
    field("buildRegistryId", Str).nullable(),
    field("networkIds", StrArray).nullable(),
    field("detachDokployNetwork", Bool),
];

/// `compose.update`: `composeId` plus every column, all optional.
pub(crate) const COMPOSE_UPDATE: &[Field] = &[
    field("composeId", Str).required(),
    field("name", Str).min(1.0),
    field("appName", Str).app_name(),
    field("description", Str).nullable(),
    field("env", Str).nullable(),
    field("composeFile", Str),
    field("refreshToken", Str).nullable(),
    field("sourceType", Ty::Enum(SOURCE_TYPES_COMPOSE)),
    field("composeType", Ty::Enum(COMPOSE_TYPES)),
    field("repository", Str).nullable(),
    field("owner", Str).nullable(),
    field("branch", Str).nullable(),
    field("autoDeploy", Bool).nullable(),
    field("gitlabProjectId", Num).nullable(),
    field("gitlabRepository", Str).nullable(),
    field("gitlabOwner", Str).nullable(),
    field("gitlabBranch", Str).nullable(),
    field("gitlabPathNamespace", Str).nullable(),
    field("bitbucketRepository", Str).nullable(),
    field("bitbucketRepositorySlug", Str).nullable(),
    field("bitbucketOwner", Str).nullable(),
    field("bitbucketBranch", Str).nullable(),
    field("giteaRepository", Str).nullable(),
    field("giteaOwner", Str).nullable(),
    field("giteaBranch", Str).nullable(),
    field("customGitUrl", Str).nullable(),
    field("customGitBranch", Str).nullable(),
    field("customGitSSHKeyId", Str).nullable(),
    field("command", Str),
    field("createEnvFile", Bool),
    field("enableSubmodules", Bool),
    field("composePath", Str).min(1.0),
    field("suffix", Str),
    field("randomize", Bool),
    field("isolatedDeployment", Bool),
    field("isolatedDeploymentsVolume", Bool),
    field("triggerType", Ty::Enum(TRIGGER_TYPES)).nullable(),
    field("composeStatus", Ty::Enum(STATUSES)),
    field("icon", Str).nullable().max(2_097_152.0),
    field("environmentId", Str),
    field("createdAt", Str),
    field("watchPaths", StrArray).nullable(),
    field("githubId", Str).nullable(),
    field("gitlabId", Str).nullable(),
    field("bitbucketId", Str).nullable(),
    field("giteaId", Str).nullable(),
    field("serviceNetworks", ObjArray).nullable(),
];

const SHELL_TYPES: &[&str] = &["bash", "sh"];
const SCHEDULE_TYPES: &[&str] = &["application", "compose", "server", "dokploy-server"];
const DEPLOYMENT_TYPES: &[&str] = &[
    "application",
    "compose",
    "server",
    "schedule",
    "previewDeployment",
    "backup",
    "volumeBackup",
];
const LOAD_SERVICES_TYPES: &[&str] = &["fetch", "cache"];

/// `schedule.create`: the schedule table's insert schema (`name`, `cronExpression`, `command`
/// are the columns without a default).
pub(crate) const SCHEDULE_CREATE: &[Field] = &[
    field("scheduleId", Str),
    field("name", Str).required(),
    field("description", Str).nullable(),
    field("cronExpression", Str).required(),
    field("appName", Str),
    field("serviceName", Str).nullable(),
    field("shellType", Ty::Enum(SHELL_TYPES)),
    field("scheduleType", Ty::Enum(SCHEDULE_TYPES)),
    field("command", Str).required(),
    field("script", Str).nullable(),
    field("applicationId", Str).nullable(),
    field("composeId", Str).nullable(),
    field("serverId", Str).nullable(),
    field("organizationId", Str).nullable(),
    field("enabled", Bool),
    field("timezone", Str).nullable(),
    field("createdAt", Str),
];

/// `schedule.update`: the insert schema with a required `scheduleId`, so `name`,
/// `cronExpression` and `command` are required here too.
pub(crate) const SCHEDULE_UPDATE: &[Field] = &[
    field("scheduleId", Str).required().min(1.0),
    field("name", Str).required(),
    field("description", Str).nullable(),
    field("cronExpression", Str).required(),
    field("appName", Str),
    field("serviceName", Str).nullable(),
    field("shellType", Ty::Enum(SHELL_TYPES)),
    field("scheduleType", Ty::Enum(SCHEDULE_TYPES)),
    field("command", Str).required(),
    field("script", Str).nullable(),
    field("applicationId", Str).nullable(),
    field("composeId", Str).nullable(),
    field("serverId", Str).nullable(),
    field("organizationId", Str).nullable(),
    field("enabled", Bool),
    field("timezone", Str).nullable(),
    field("createdAt", Str),
];

/// `notification.createCustom` (`apiCreateCustom`): `name` and `endpoint` (min 1) required.
pub(crate) const NOTIFICATION_CREATE_CUSTOM: &[Field] = &[
    field("name", Str).required(),
    field("endpoint", Str).required().min(1.0),
    field("headers", Ty::Obj),
    field("appDeploy", Bool),
    field("appBuildError", Bool),
    field("databaseBackup", Bool),
    field("dokployBackup", Bool),
    field("volumeBackup", Bool),
    field("dokployRestart", Bool),
    field("dockerCleanup", Bool),
    field("serverThreshold", Bool),
];
/// `notification.updateCustom`: `notificationId` and `customId` (min 1) required.
pub(crate) const NOTIFICATION_UPDATE_CUSTOM: &[Field] = &[
    field("notificationId", Str).required().min(1.0),
    field("customId", Str).required().min(1.0),
    field("name", Str),
    field("endpoint", Str).min(1.0),
    field("headers", Ty::Obj),
    field("appDeploy", Bool),
    field("appBuildError", Bool),
    field("databaseBackup", Bool),
    field("dokployBackup", Bool),
    field("volumeBackup", Bool),
    field("dokployRestart", Bool),
    field("dockerCleanup", Bool),
    field("serverThreshold", Bool),
    field("organizationId", Str),
];
/// `notification.one`, `notification.remove`: `notificationId` (min 1).
pub(crate) const NOTIFICATION_ID: &[Field] = &[field("notificationId", Str).required().min(1.0)];

/// `schedule.one`, `schedule.delete`: `z.object({scheduleId: z.string()})`.
pub(crate) const SCHEDULE_ID: &[Field] = &[field("scheduleId", Str).required()];
/// `schedule.runManually`: `scheduleId: z.string().min(1)`.
pub(crate) const SCHEDULE_RUN: &[Field] = &[field("scheduleId", Str).required().min(1.0)];
pub(crate) const SCHEDULE_LIST: &[Field] = &[
    field("id", Str).required(),
    field("scheduleType", Ty::Enum(SCHEDULE_TYPES)).required(),
];

pub(crate) const DEPLOYMENT_ALL_BY_TYPE: &[Field] = &[
    field("id", Str).required().min(1.0),
    field("type", Ty::Enum(DEPLOYMENT_TYPES)).required(),
];

pub(crate) const DEPLOYMENT_READ_LOGS: &[Field] = &[
    field("deploymentId", Str).required().min(1.0),
    field("tail", Num).min(1.0).max(10000.0),
];

pub(crate) const COMPOSE_LOAD_SERVICES: &[Field] = &[
    field("composeId", Str).required().min(1.0),
    field("type", Ty::Enum(LOAD_SERVICES_TYPES)),
];

const DOCKER_APP_TYPES: &[&str] = &["stack", "docker-compose"];
/// `docker.getContainersByAppNameMatch`.
pub(crate) const DOCKER_CONTAINERS_BY_APP_NAME: &[Field] = &[
    field("appType", Ty::Enum(DOCKER_APP_TYPES)),
    field("appName", Str).required().docker_name(),
    field("serverId", Str),
];
/// `docker.stopContainer`, `docker.startContainer`.
pub(crate) const DOCKER_CONTAINER: &[Field] = &[
    field("containerId", Str).required().docker_name(),
    field("serverId", Str),
];

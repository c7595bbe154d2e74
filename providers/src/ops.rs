//! Every request the Dokploy client can send, as data.
//!
//! [`Op`] names an operation with its inputs; [`Op::build`] turns it into method, route, query and
//! JSON body exactly as `openapi.json` describes them (queries are `GET` with query parameters,
//! mutations `POST` with a JSON object). [`request_spec`] exposes the shape without the values,
//! and [`Op::examples`] lists one instance of every variant (and of every optional-field
//! combination), so the contract test in `tests/openapi_contract.rs` can check every request the
//! client can make against the document.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::model::{ComposeFileSource, RegistryCredentials};
use crate::notifications::{CustomNotificationSpec, TOKEN_HEADER};
use crate::schedules::{ComposeScheduleSpec, ShellType};
use crate::secret::SecretString;

/// HTTP method of a Dokploy procedure: tRPC queries are GET, mutations POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// One Dokploy call with its inputs. `Debug` is safe: secrets are `SecretString`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    OverviewServices,
    OverviewDomains,
    DeploymentAllCentralized,
    DokployVersion,
    ApplicationOne {
        application_id: String,
    },
    ComposeOne {
        compose_id: String,
    },
    /// The environments of one project (each with its service summaries).
    EnvironmentByProjectId {
        project_id: String,
    },
    ApplicationUpdateEnv {
        application_id: String,
        env: SecretString,
    },
    ComposeUpdateEnv {
        compose_id: String,
        env: SecretString,
    },
    /// `application.update {applicationId, description}`: only the description column changes.
    /// Launchplane's ownership marker lives there (`launchplane_api::ownership`).
    ApplicationUpdateDescription {
        application_id: String,
        description: String,
    },
    /// `compose.update {composeId, description}`: only the description column changes; the
    /// compose file, its env and every other column are left as they are.
    ComposeUpdateDescription {
        compose_id: String,
        description: String,
    },
    ApplicationSaveDockerProvider {
        application_id: String,
        docker_image: String,
        registry: Option<RegistryCredentials>,
    },
    ComposeUpdateFile {
        compose_id: String,
        compose_file: SecretString,
    },
    ApplicationDeploy {
        application_id: String,
        title: String,
        description: String,
    },
    ComposeDeploy {
        compose_id: String,
        title: String,
        description: String,
    },
    DeploymentAll {
        application_id: String,
    },
    DeploymentAllByCompose {
        compose_id: String,
    },
    /// Dokploy's deploy queue: jobs waiting or running, which have no deployment row yet.
    DeploymentQueueList,
    ApplicationCreate {
        environment_id: String,
        name: String,
        app_name: Option<String>,
        /// Carries Launchplane's ownership marker (`launchplane_api::ownership`).
        description: Option<String>,
    },
    ApplicationDelete {
        application_id: String,
    },
    DomainCreate {
        application_id: String,
        host: String,
        port: u16,
        https: bool,
        path: Option<String>,
    },
    DomainDelete {
        domain_id: String,
    },
    /// `docker.getContainersByAppNameMatch` with `appType=docker-compose`: the containers of
    /// the compose project `app_name` (the compose's `appName`), stopped ones included.
    ComposeContainers {
        app_name: String,
        server_id: Option<String>,
    },
    /// `docker.stopContainer`: `docker container stop <id>` on one container.
    StopContainer {
        container_id: String,
        server_id: Option<String>,
    },
    /// `docker.startContainer`: `docker container start <id>` on one container.
    StartContainer {
        container_id: String,
        server_id: Option<String>,
    },
    /// The service names of the compose file.
    ComposeLoadServices {
        compose_id: String,
        source: ComposeFileSource,
    },
    /// A schedule on a compose service (`scheduleType: "compose"`); the command is a secret.
    ScheduleCreate {
        spec: ComposeScheduleSpec,
    },
    /// Rewrites the schedule's columns to `spec`'s (the route requires name, cron expression
    /// and command again).
    ScheduleUpdate {
        schedule_id: String,
        spec: ComposeScheduleSpec,
    },
    ScheduleDelete {
        schedule_id: String,
    },
    ScheduleOne {
        schedule_id: String,
    },
    /// The schedules of one compose, each with its runs.
    ScheduleList {
        compose_id: String,
    },
    /// Runs the schedule's command now; the answer comes when the command has ended.
    ScheduleRunManually {
        schedule_id: String,
    },
    /// `deployment.allByType` with `type=schedule`: a schedule's runs, newest first.
    DeploymentAllBySchedule {
        schedule_id: String,
    },
    /// The last `tail` lines (1-10000) of a deployment's or a schedule run's log.
    DeploymentReadLogs {
        deployment_id: String,
        tail: u32,
    },
    /// A custom notification on deploys and build errors; the token header is a secret.
    NotificationCreateCustom {
        spec: CustomNotificationSpec,
    },
    NotificationUpdateCustom {
        notification_id: String,
        custom_id: String,
        spec: CustomNotificationSpec,
    },
    NotificationOne {
        notification_id: String,
    },
    NotificationAll,
    NotificationRemove {
        notification_id: String,
    },
}

/// The shape of a request, without values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    pub method: Method,
    /// `router.procedure`; the URL path is `/api/{route}`.
    pub route: &'static str,
    pub query_keys: Vec<&'static str>,
    pub body_keys: Vec<String>,
    /// JSON type of each body value (`string`, `number`, `boolean`, `null`, `array`, `object`).
    pub body_types: Vec<(String, &'static str)>,
    /// Values the client fixes itself (enums such as `sourceType`); never secrets.
    pub body_constants: Vec<(String, String)>,
    /// Query values the client fixes itself (enums such as `type`); never secrets.
    pub query_constants: Vec<(&'static str, String)>,
}

/// Body fields whose value is a constant chosen by the client, listed in [`RequestSpec`].
const CONSTANT_FIELDS: [&str; 5] = [
    "sourceType",
    "certificateType",
    "domainType",
    "scheduleType",
    "shellType",
];

/// Query parameters whose value is an enum chosen by the client, listed in [`RequestSpec`].
const CONSTANT_QUERY_KEYS: [&str; 3] = ["type", "scheduleType", "appType"];

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A request ready to send. No `Debug`: the body holds plaintext secrets.
pub(crate) struct Request {
    pub(crate) method: Method,
    pub(crate) route: &'static str,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Option<Value>,
    /// Replaces the client's request timeout for this call (a call answered only when a
    /// command ends).
    pub(crate) timeout: Option<Duration>,
}

fn body(value: Value) -> Option<Value> {
    Some(value)
}

impl Op {
    /// The Dokploy procedure name.
    pub fn route(&self) -> &'static str {
        match self {
            Self::OverviewServices => "overview.services",
            Self::OverviewDomains => "overview.domains",
            Self::DeploymentAllCentralized => "deployment.allCentralized",
            Self::DokployVersion => "settings.getDokployVersion",
            Self::ApplicationOne { .. } => "application.one",
            Self::ComposeOne { .. } => "compose.one",
            Self::ApplicationUpdateEnv { .. } | Self::ApplicationUpdateDescription { .. } => {
                "application.update"
            }
            Self::EnvironmentByProjectId { .. } => "environment.byProjectId",
            Self::ComposeUpdateEnv { .. }
            | Self::ComposeUpdateFile { .. }
            | Self::ComposeUpdateDescription { .. } => "compose.update",
            Self::ApplicationSaveDockerProvider { .. } => "application.saveDockerProvider",
            Self::ApplicationDeploy { .. } => "application.deploy",
            Self::ComposeDeploy { .. } => "compose.deploy",
            Self::DeploymentAll { .. } => "deployment.all",
            Self::DeploymentAllByCompose { .. } => "deployment.allByCompose",
            Self::DeploymentQueueList => "deployment.queueList",
            Self::ApplicationCreate { .. } => "application.create",
            Self::ApplicationDelete { .. } => "application.delete",
            Self::DomainCreate { .. } => "domain.create",
            Self::DomainDelete { .. } => "domain.delete",
            Self::ComposeLoadServices { .. } => "compose.loadServices",
            Self::ComposeContainers { .. } => "docker.getContainersByAppNameMatch",
            Self::StopContainer { .. } => "docker.stopContainer",
            Self::StartContainer { .. } => "docker.startContainer",
            Self::ScheduleCreate { .. } => "schedule.create",
            Self::ScheduleUpdate { .. } => "schedule.update",
            Self::ScheduleDelete { .. } => "schedule.delete",
            Self::ScheduleOne { .. } => "schedule.one",
            Self::ScheduleList { .. } => "schedule.list",
            Self::ScheduleRunManually { .. } => "schedule.runManually",
            Self::DeploymentAllBySchedule { .. } => "deployment.allByType",
            Self::DeploymentReadLogs { .. } => "deployment.readLogs",
            Self::NotificationCreateCustom { .. } => "notification.createCustom",
            Self::NotificationUpdateCustom { .. } => "notification.updateCustom",
            Self::NotificationOne { .. } => "notification.one",
            Self::NotificationAll => "notification.all",
            Self::NotificationRemove { .. } => "notification.remove",
        }
    }

    /// GET for reads (retried), POST for mutations (never retried).
    pub fn method(&self) -> Method {
        match self {
            Self::OverviewServices
            | Self::OverviewDomains
            | Self::DeploymentAllCentralized
            | Self::DokployVersion
            | Self::ApplicationOne { .. }
            | Self::ComposeOne { .. }
            | Self::EnvironmentByProjectId { .. }
            | Self::DeploymentAll { .. }
            | Self::DeploymentAllByCompose { .. }
            | Self::DeploymentQueueList
            | Self::ComposeLoadServices { .. }
            | Self::ComposeContainers { .. }
            | Self::ScheduleOne { .. }
            | Self::ScheduleList { .. }
            | Self::DeploymentAllBySchedule { .. }
            | Self::DeploymentReadLogs { .. }
            | Self::NotificationOne { .. }
            | Self::NotificationAll => Method::Get,
            Self::ApplicationUpdateEnv { .. }
            | Self::ApplicationUpdateDescription { .. }
            | Self::ComposeUpdateDescription { .. }
            | Self::ComposeUpdateEnv { .. }
            | Self::ApplicationSaveDockerProvider { .. }
            | Self::ComposeUpdateFile { .. }
            | Self::ApplicationDeploy { .. }
            | Self::ComposeDeploy { .. }
            | Self::ApplicationCreate { .. }
            | Self::ApplicationDelete { .. }
            | Self::DomainCreate { .. }
            | Self::DomainDelete { .. }
            | Self::StopContainer { .. }
            | Self::StartContainer { .. }
            | Self::ScheduleCreate { .. }
            | Self::ScheduleUpdate { .. }
            | Self::ScheduleDelete { .. }
            | Self::ScheduleRunManually { .. }
            | Self::NotificationCreateCustom { .. }
            | Self::NotificationUpdateCustom { .. }
            | Self::NotificationRemove { .. } => Method::Post,
        }
    }

    pub(crate) fn build(&self) -> Request {
        let mut query = Vec::new();
        let body = match self {
            Self::OverviewServices
            | Self::OverviewDomains
            | Self::DeploymentAllCentralized
            | Self::DeploymentQueueList
            | Self::DokployVersion => None,
            Self::ApplicationOne { application_id } | Self::DeploymentAll { application_id } => {
                query.push(("applicationId", application_id.clone()));
                None
            }
            Self::ComposeOne { compose_id } | Self::DeploymentAllByCompose { compose_id } => {
                query.push(("composeId", compose_id.clone()));
                None
            }
            Self::EnvironmentByProjectId { project_id } => {
                query.push(("projectId", project_id.clone()));
                None
            }
            Self::ApplicationUpdateEnv { application_id, env } => {
                body(json!({ "applicationId": application_id, "env": env.expose() }))
            }
            Self::ComposeUpdateEnv { compose_id, env } => {
                body(json!({ "composeId": compose_id, "env": env.expose() }))
            }
            Self::ApplicationUpdateDescription {
                application_id,
                description,
            } => body(json!({ "applicationId": application_id, "description": description })),
            Self::ComposeUpdateDescription {
                compose_id,
                description,
            } => body(json!({ "composeId": compose_id, "description": description })),
            // All five keys are required; null credentials mean a public image.
            Self::ApplicationSaveDockerProvider {
                application_id,
                docker_image,
                registry,
            } => body(json!({
                "applicationId": application_id,
                "dockerImage": docker_image,
                "username": registry.as_ref().map(|r| r.username.as_str()),
                "password": registry.as_ref().map(|r| r.password.expose()),
                "registryUrl": registry.as_ref().and_then(|r| r.registry_url.as_deref()),
            })),
            Self::ComposeUpdateFile {
                compose_id,
                compose_file,
            } => body(json!({
                "composeId": compose_id,
                "composeFile": compose_file.expose(),
                "sourceType": "raw",
            })),
            Self::ApplicationDeploy {
                application_id,
                title,
                description,
            } => body(json!({ "applicationId": application_id, "title": title, "description": description })),
            Self::ComposeDeploy {
                compose_id,
                title,
                description,
            } => body(json!({ "composeId": compose_id, "title": title, "description": description })),
            Self::ApplicationCreate {
                environment_id,
                name,
                app_name,
                description,
            } => {
                let mut m = Map::new();
                m.insert("name".into(), json!(name));
                m.insert("environmentId".into(), json!(environment_id));
                m.insert("sourceType".into(), json!("docker"));
                if let Some(app_name) = app_name {
                    m.insert("appName".into(), json!(app_name));
                }
                if let Some(description) = description {
                    m.insert("description".into(), json!(description));
                }
                body(Value::Object(m))
            }
            Self::ApplicationDelete { application_id } => body(json!({ "applicationId": application_id })),
            Self::DomainCreate {
                application_id,
                host,
                port,
                https,
                path,
            } => {
                let mut m = Map::new();
                m.insert("applicationId".into(), json!(application_id));
                m.insert("host".into(), json!(host));
                m.insert("port".into(), json!(port));
                m.insert("https".into(), json!(https));
                // The API does not enforce the dashboard's "https needs a certificate" rule;
                // we do: Let's Encrypt for https, none otherwise.
                m.insert(
                    "certificateType".into(),
                    json!(if *https { "letsencrypt" } else { "none" }),
                );
                m.insert("domainType".into(), json!("application"));
                if let Some(path) = path {
                    m.insert("path".into(), json!(path));
                }
                body(Value::Object(m))
            }
            Self::DomainDelete { domain_id } => body(json!({ "domainId": domain_id })),
            Self::ComposeLoadServices { compose_id, source } => {
                query.push(("composeId", compose_id.clone()));
                query.push(("type", source.as_query().to_owned()));
                None
            }
            Self::ComposeContainers { app_name, server_id } => {
                query.push(("appType", "docker-compose".to_owned()));
                query.push(("appName", app_name.clone()));
                if let Some(server_id) = server_id {
                    query.push(("serverId", server_id.clone()));
                }
                None
            }
            Self::StopContainer {
                container_id,
                server_id,
            }
            | Self::StartContainer {
                container_id,
                server_id,
            } => {
                let mut m = Map::new();
                m.insert("containerId".into(), json!(container_id));
                if let Some(server_id) = server_id {
                    m.insert("serverId".into(), json!(server_id));
                }
                body(Value::Object(m))
            }
            Self::ScheduleCreate { spec } => body(Value::Object(schedule_body(spec))),
            Self::ScheduleUpdate { schedule_id, spec } => {
                let mut m = schedule_body(spec);
                m.insert("scheduleId".into(), json!(schedule_id));
                body(Value::Object(m))
            }
            Self::ScheduleDelete { schedule_id } | Self::ScheduleRunManually { schedule_id } => {
                body(json!({ "scheduleId": schedule_id }))
            }
            Self::ScheduleOne { schedule_id } => {
                query.push(("scheduleId", schedule_id.clone()));
                None
            }
            Self::ScheduleList { compose_id } => {
                query.push(("id", compose_id.clone()));
                query.push(("scheduleType", "compose".to_owned()));
                None
            }
            Self::DeploymentAllBySchedule { schedule_id } => {
                query.push(("id", schedule_id.clone()));
                query.push(("type", "schedule".to_owned()));
                None
            }
            Self::DeploymentReadLogs { deployment_id, tail } => {
                query.push(("deploymentId", deployment_id.clone()));
                query.push(("tail", tail.to_string()));
                None
            }
            Self::NotificationCreateCustom { spec } => body(Value::Object(notification_body(spec))),
            Self::NotificationUpdateCustom {
                notification_id,
                custom_id,
                spec,
            } => {
                let mut m = notification_body(spec);
                m.insert("notificationId".into(), json!(notification_id));
                m.insert("customId".into(), json!(custom_id));
                body(Value::Object(m))
            }
            Self::NotificationOne { notification_id } => {
                query.push(("notificationId", notification_id.clone()));
                None
            }
            Self::NotificationAll => None,
            Self::NotificationRemove { notification_id } => {
                body(json!({ "notificationId": notification_id }))
            }
        };
        Request {
            method: self.method(),
            route: self.route(),
            query,
            body,
            timeout: None,
        }
    }

    /// Plaintext values this request carries, for scrubbing error text (never logged).
    pub(crate) fn secret_values(&self) -> Vec<String> {
        match self {
            Self::ApplicationUpdateEnv { env, .. } | Self::ComposeUpdateEnv { env, .. } => {
                let mut v = crate::env_merge::values(env.expose());
                v.push(env.expose().to_owned());
                v
            }
            Self::ApplicationSaveDockerProvider {
                registry: Some(r), ..
            } => vec![r.password.expose().to_owned()],
            Self::ComposeUpdateFile { compose_file, .. } => vec![compose_file.expose().to_owned()],
            Self::ScheduleCreate { spec } | Self::ScheduleUpdate { spec, .. } => {
                vec![spec.command.expose().to_owned()]
            }
            Self::NotificationCreateCustom { spec } | Self::NotificationUpdateCustom { spec, .. } => {
                vec![spec.token.expose().to_owned()]
            }
            _ => Vec::new(),
        }
    }

    /// One instance of every variant and every optional-field combination, for contract tests.
    pub fn examples() -> Vec<Op> {
        let id = || "id-1".to_owned();
        let creds = RegistryCredentials {
            username: "robot".into(),
            password: SecretString::new("pw"),
            registry_url: Some("ghcr.io".into()),
        };
        vec![
            Op::OverviewServices,
            Op::OverviewDomains,
            Op::DeploymentAllCentralized,
            Op::DokployVersion,
            Op::ApplicationOne { application_id: id() },
            Op::ComposeOne { compose_id: id() },
            Op::EnvironmentByProjectId { project_id: id() },
            Op::ApplicationUpdateEnv {
                application_id: id(),
                env: SecretString::new("A=1"),
            },
            Op::ComposeUpdateEnv {
                compose_id: id(),
                env: SecretString::new("A=1"),
            },
            Op::ApplicationUpdateDescription {
                application_id: id(),
                description: "made by hand\nlaunchplane.dev/owner=i/ns/Lane/web/-".into(),
            },
            Op::ComposeUpdateDescription {
                compose_id: id(),
                description: "odoo stack\nlaunchplane.dev/owner=i/ns/Lane/prod/-".into(),
            },
            Op::ApplicationSaveDockerProvider {
                application_id: id(),
                docker_image: "nginx:1".into(),
                registry: None,
            },
            Op::ApplicationSaveDockerProvider {
                application_id: id(),
                docker_image: "ghcr.io/o/app:1".into(),
                registry: Some(creds.clone()),
            },
            Op::ApplicationSaveDockerProvider {
                application_id: id(),
                docker_image: "o/app:1".into(),
                registry: Some(RegistryCredentials {
                    registry_url: None,
                    ..creds
                }),
            },
            Op::ComposeUpdateFile {
                compose_id: id(),
                compose_file: SecretString::new("services: {}\n"),
            },
            Op::ApplicationDeploy {
                application_id: id(),
                title: "t".into(),
                description: "d".into(),
            },
            Op::ComposeDeploy {
                compose_id: id(),
                title: "t".into(),
                description: "d".into(),
            },
            Op::DeploymentAll { application_id: id() },
            Op::DeploymentAllByCompose { compose_id: id() },
            Op::DeploymentQueueList,
            Op::ApplicationCreate {
                environment_id: id(),
                name: "web".into(),
                app_name: None,
                description: None,
            },
            Op::ApplicationCreate {
                environment_id: id(),
                name: "web".into(),
                app_name: Some("web-app".into()),
                description: Some("d".into()),
            },
            Op::ApplicationDelete { application_id: id() },
            Op::DomainCreate {
                application_id: id(),
                host: "h.test".into(),
                port: 80,
                https: false,
                path: None,
            },
            Op::DomainCreate {
                application_id: id(),
                host: "h.test".into(),
                port: 443,
                https: true,
                path: Some("/x".into()),
            },
            Op::DomainDelete { domain_id: id() },
            Op::ComposeLoadServices {
                compose_id: id(),
                source: ComposeFileSource::Saved,
            },
            Op::ComposeLoadServices {
                compose_id: id(),
                source: ComposeFileSource::LastWritten,
            },
            Op::ComposeContainers {
                app_name: "erp-stack-x1y2z3".into(),
                server_id: None,
            },
            Op::ComposeContainers {
                app_name: "erp-stack-x1y2z3".into(),
                server_id: Some(id()),
            },
            Op::StopContainer {
                container_id: "3f2a9c1b7d4e".into(),
                server_id: None,
            },
            Op::StopContainer {
                container_id: "3f2a9c1b7d4e".into(),
                server_id: Some(id()),
            },
            Op::StartContainer {
                container_id: "3f2a9c1b7d4e".into(),
                server_id: None,
            },
            Op::StartContainer {
                container_id: "3f2a9c1b7d4e".into(),
                server_id: Some(id()),
            },
            Op::ScheduleCreate { spec: schedule() },
            Op::ScheduleCreate {
                spec: ComposeScheduleSpec {
                    shell: ShellType::Sh,
                    enabled: true,
                    ..schedule()
                },
            },
            Op::ScheduleUpdate {
                schedule_id: id(),
                spec: schedule(),
            },
            Op::ScheduleDelete { schedule_id: id() },
            Op::ScheduleOne { schedule_id: id() },
            Op::ScheduleList { compose_id: id() },
            Op::ScheduleRunManually { schedule_id: id() },
            Op::DeploymentAllBySchedule { schedule_id: id() },
            Op::DeploymentReadLogs {
                deployment_id: id(),
                tail: 100,
            },
            Op::NotificationCreateCustom {
                spec: notification_spec(),
            },
            Op::NotificationUpdateCustom {
                notification_id: id(),
                custom_id: id(),
                spec: notification_spec(),
            },
            Op::NotificationOne {
                notification_id: id(),
            },
            Op::NotificationAll,
            Op::NotificationRemove {
                notification_id: id(),
            },
        ]
    }
}

/// `notification.createCustom`'s body (and `updateCustom`'s, less the ids): on deploys and
/// build errors only; the token in its header.
fn notification_body(spec: &CustomNotificationSpec) -> Map<String, Value> {
    let mut headers = Map::new();
    headers.insert(TOKEN_HEADER.into(), json!(spec.token.expose()));
    let mut m = Map::new();
    m.insert("name".into(), json!(spec.name));
    m.insert("endpoint".into(), json!(spec.endpoint));
    m.insert("headers".into(), Value::Object(headers));
    m.insert("appDeploy".into(), json!(true));
    m.insert("appBuildError".into(), json!(true));
    for off in [
        "databaseBackup",
        "dokployBackup",
        "volumeBackup",
        "dokployRestart",
        "dockerCleanup",
        "serverThreshold",
    ] {
        m.insert(off.into(), json!(false));
    }
    m
}

fn notification_spec() -> CustomNotificationSpec {
    CustomNotificationSpec {
        name: "launchplane.dev/owner=launchplane/shop/ProviderConfig/dokploy/uid-1".into(),
        endpoint: "https://hooks.example.com/dokploy/shop/dokploy".into(),
        token: SecretString::new("t0ken"),
    }
}

/// `schedule.create`'s body (and `schedule.update`'s, less its id): every column Launchplane
/// sets, so an update leaves the row exactly as `spec` says. `timezone` is left to Dokploy
/// (UTC); a schedule Launchplane runs by hand is not enabled.
fn schedule_body(spec: &ComposeScheduleSpec) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), json!(spec.name));
    m.insert("description".into(), json!(spec.description));
    m.insert("cronExpression".into(), json!(spec.cron_expression));
    m.insert("scheduleType".into(), json!("compose"));
    m.insert("composeId".into(), json!(spec.compose_id));
    m.insert("serviceName".into(), json!(spec.service_name));
    m.insert("shellType".into(), json!(spec.shell.as_str()));
    m.insert("command".into(), json!(spec.command.expose()));
    m.insert("enabled".into(), json!(spec.enabled));
    m
}

/// The example schedule of [`Op::examples`].
fn schedule() -> ComposeScheduleSpec {
    ComposeScheduleSpec {
        compose_id: "id-1".into(),
        service_name: "odoo".into(),
        name: "post-deploy".into(),
        description: "post-deploy\nlaunchplane.dev/owner=i/ns/Lane/erp/-".into(),
        command: SecretString::new("odoo -u all --stop-after-init"),
        shell: ShellType::Bash,
        cron_expression: "0 0 1 1 *".into(),
        enabled: false,
    }
}

/// The method, route and field names `op` sends.
pub fn request_spec(op: &Op) -> RequestSpec {
    let req = op.build();
    let empty = Map::new();
    let fields = match &req.body {
        Some(Value::Object(m)) => m,
        _ => &empty,
    };
    RequestSpec {
        method: req.method,
        route: req.route,
        query_keys: req.query.iter().map(|(k, _)| *k).collect(),
        body_keys: fields.keys().cloned().collect(),
        body_types: fields.iter().map(|(k, v)| (k.clone(), json_type(v))).collect(),
        body_constants: fields
            .iter()
            .filter(|(k, _)| CONSTANT_FIELDS.contains(&k.as_str()))
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
            .collect(),
        query_constants: req
            .query
            .iter()
            .filter(|(k, _)| CONSTANT_QUERY_KEYS.contains(k))
            .map(|(k, v)| (*k, v.clone()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn gets_have_no_body_and_posts_no_query() {
        for op in Op::examples() {
            let r = op.build();
            match r.method {
                Method::Get => assert!(r.body.is_none(), "{}", r.route),
                Method::Post => assert!(r.query.is_empty() && r.body.is_some(), "{}", r.route),
            }
        }
    }

    #[test]
    fn examples_cover_every_route() {
        let routes: BTreeSet<_> = Op::examples().iter().map(Op::route).collect();
        assert_eq!(routes.len(), 36, "{routes:?}");
    }

    #[test]
    fn a_description_update_sends_only_the_id_and_the_description() {
        let op = Op::ApplicationUpdateDescription {
            application_id: "a".into(),
            description: "text\nlaunchplane.dev/owner=i/ns/Lane/web/-".into(),
        };
        assert_eq!(op.route(), "application.update");
        assert_eq!(op.method(), Method::Post);
        assert_eq!(
            op.build().body.unwrap_or_default(),
            json!({"applicationId": "a", "description": "text\nlaunchplane.dev/owner=i/ns/Lane/web/-"})
        );
    }

    #[test]
    fn save_docker_provider_sends_nulls_for_public_images() {
        let op = Op::ApplicationSaveDockerProvider {
            application_id: "a".into(),
            docker_image: "nginx".into(),
            registry: None,
        };
        let b = op.build().body.unwrap_or_default();
        assert_eq!(
            b,
            json!({"applicationId":"a","dockerImage":"nginx","username":null,"password":null,"registryUrl":null})
        );
    }

    #[test]
    fn a_compose_schedule_is_created_with_every_column_launchplane_sets() {
        let op = Op::ScheduleCreate { spec: schedule() };
        assert_eq!((op.route(), op.method()), ("schedule.create", Method::Post));
        assert_eq!(
            op.build().body.unwrap_or_default(),
            json!({
                "name": "post-deploy",
                "description": "post-deploy\nlaunchplane.dev/owner=i/ns/Lane/erp/-",
                "cronExpression": "0 0 1 1 *",
                "scheduleType": "compose",
                "composeId": "id-1",
                "serviceName": "odoo",
                "shellType": "bash",
                "command": "odoo -u all --stop-after-init",
                "enabled": false,
            })
        );
        let update = Op::ScheduleUpdate {
            schedule_id: "s-1".into(),
            spec: schedule(),
        };
        let body = update.build().body.unwrap_or_default();
        assert_eq!(body["scheduleId"], "s-1");
        assert_eq!(body["command"], "odoo -u all --stop-after-init");
        assert_eq!(update.secret_values(), ["odoo -u all --stop-after-init"]);
    }

    #[test]
    fn schedule_and_history_reads_name_their_type() {
        let list = Op::ScheduleList {
            compose_id: "c-1".into(),
        }
        .build();
        assert_eq!(
            list.query,
            [("id", "c-1".to_owned()), ("scheduleType", "compose".to_owned())]
        );
        let runs = Op::DeploymentAllBySchedule {
            schedule_id: "s-1".into(),
        };
        assert_eq!(runs.route(), "deployment.allByType");
        assert_eq!(
            runs.build().query,
            [("id", "s-1".to_owned()), ("type", "schedule".to_owned())]
        );
        let services = Op::ComposeLoadServices {
            compose_id: "c-1".into(),
            source: ComposeFileSource::Saved,
        };
        assert_eq!(
            request_spec(&services).query_constants,
            [("type", "fetch".to_owned())]
        );
    }

    #[test]
    fn container_routes_name_the_compose_type_and_send_the_server_only_when_given() {
        let list = Op::ComposeContainers {
            app_name: "erp-abc".into(),
            server_id: None,
        };
        assert_eq!(
            (list.route(), list.method()),
            ("docker.getContainersByAppNameMatch", Method::Get)
        );
        assert_eq!(
            list.build().query,
            [
                ("appType", "docker-compose".to_owned()),
                ("appName", "erp-abc".to_owned())
            ]
        );
        let remote = Op::ComposeContainers {
            app_name: "erp-abc".into(),
            server_id: Some("srv-1".into()),
        };
        assert_eq!(remote.build().query[2], ("serverId", "srv-1".to_owned()));
        let stop = Op::StopContainer {
            container_id: "abc123".into(),
            server_id: None,
        };
        assert_eq!(
            (stop.route(), stop.method()),
            ("docker.stopContainer", Method::Post)
        );
        assert_eq!(
            stop.build().body.unwrap_or_default(),
            json!({"containerId": "abc123"})
        );
        let start = Op::StartContainer {
            container_id: "abc123".into(),
            server_id: Some("srv-1".into()),
        };
        assert_eq!(start.route(), "docker.startContainer");
        assert_eq!(start.method(), Method::Post);
        assert_eq!(
            start.build().body.unwrap_or_default(),
            json!({"containerId": "abc123", "serverId": "srv-1"})
        );
    }

    #[test]
    fn debug_of_an_op_hides_secrets() {
        let op = Op::ApplicationSaveDockerProvider {
            application_id: "a".into(),
            docker_image: "i".into(),
            registry: Some(RegistryCredentials {
                username: "u".into(),
                password: SecretString::new("registry-pass-xyz"),
                registry_url: None,
            }),
        };
        assert!(!format!("{op:?}").contains("registry-pass-xyz"));
        let op = Op::ApplicationUpdateEnv {
            application_id: "a".into(),
            env: SecretString::new("K=val-secret"),
        };
        assert!(!format!("{op:?}").contains("val-secret"));
        let op = Op::ScheduleUpdate {
            schedule_id: "s".into(),
            spec: ComposeScheduleSpec {
                command: SecretString::new("ADMIN_PASSWORD=hunter2 odoo -i base"),
                ..schedule()
            },
        };
        assert!(!format!("{op:?}").contains("hunter2"), "{op:?}");
    }
}

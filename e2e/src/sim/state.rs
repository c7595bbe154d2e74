//! The simulator's data: projects, environments, services, domains, deployments, and the
//! bookkeeping for faults, call counts and running apps. Rows are kept as JSON objects with
//! the column set Dokploy v0.30.2 returns, so responses are shaped as recorded.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::Rng;
use serde_json::{Map, Value, json};

use super::faults::FaultEntry;
use super::{AppBehaviour, Fault, ScheduleRunScript};

pub(crate) type Row = Map<String, Value>;

/// Deployments kept per service once a new one starts (Dokploy keeps the newest 10, then adds
/// the new one, so a list holds at most 11).
pub(crate) const DEPLOYMENTS_KEPT: usize = 10;

pub(crate) struct Shared {
    pub state: Mutex<State>,
    pub api_key: String,
    pub deploy_duration: Duration,
    pub handle: tokio::runtime::Handle,
    pub shutdown: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub(crate) type SharedRef = Arc<Shared>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Application,
    Compose,
}

impl Kind {
    pub fn id_key(self) -> &'static str {
        match self {
            Kind::Application => "applicationId",
            Kind::Compose => "composeId",
        }
    }
    pub fn status_key(self) -> &'static str {
        match self {
            Kind::Application => "applicationStatus",
            Kind::Compose => "composeStatus",
        }
    }
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Application => "application",
            Kind::Compose => "compose",
        }
    }
}

pub(crate) struct Entity {
    pub seq: u64,
    pub row: Row,
}

pub(crate) struct Deployment {
    pub seq: u64,
    pub row: Row,
}

pub(crate) struct DeployJob {
    /// The queue's job id (`deployment.queueList` `id`).
    pub id: u64,
    pub title: String,
    pub description: String,
    /// When the job was queued, in milliseconds since the epoch (`timestamp`).
    pub queued_ms: i64,
    /// When the worker started it (`processedOn`).
    pub started_ms: Option<i64>,
}

#[derive(Default)]
pub(crate) struct DeployQueue {
    /// The deployment id of the running job.
    pub running: Option<String>,
    /// The running job itself (listed as `active` until it finishes).
    pub running_job: Option<DeployJob>,
    pub pending: VecDeque<DeployJob>,
}

/// A "container": the local HTTP app standing in for a deployed application.
pub(crate) struct RunningApp {
    pub port: u16,
    /// The application's env string as it was when the deploy that started it ran.
    pub env: String,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// What a compose's last successful deploy left running: its containers (one per service of
/// the compose file) and the env they were started with. `compose.stop` and `compose.start`
/// act on all of them, `docker.stopContainer` / `docker.startContainer` on one;
/// `compose.start` restarts them from this env, as `docker compose up` reads the `.env` file
/// the last deploy wrote.
pub(crate) struct ComposeRuntime {
    /// One container per service of the compose file as deployed (the database too), in file
    /// order.
    pub containers: Vec<Container>,
    /// The services a compose domain routed to at deploy time: they get a loopback app.
    pub web_services: Vec<String>,
    pub env: String,
}

impl ComposeRuntime {
    /// The services that have a running container, in file order.
    pub fn running_services(&self) -> Vec<String> {
        self.containers
            .iter()
            .filter(|c| c.running)
            .map(|c| c.service.clone())
            .collect()
    }
}

/// One container of a deployed compose, as `docker ps -a` lists it.
pub(crate) struct Container {
    /// 12 lowercase hex characters (docker's short id).
    pub id: String,
    /// `<appName>-<service>-1`, compose v2's name.
    pub name: String,
    pub service: String,
    pub running: bool,
    /// When it last started or stopped, for docker's `Status` column.
    pub since: std::time::Instant,
}

#[derive(Default)]
pub(crate) struct State {
    pub organization_id: String,
    pub seq: u64,
    pub unique_config_key: u64,
    pub projects: HashMap<String, Entity>,
    pub environments: HashMap<String, Entity>,
    pub applications: HashMap<String, Entity>,
    pub composes: HashMap<String, Entity>,
    pub domains: HashMap<String, Entity>,
    /// service id -> deployments, newest first
    pub deployments: HashMap<String, Vec<Deployment>>,
    pub queues: HashMap<String, DeployQueue>,
    pub calls: BTreeMap<String, u64>,
    /// Every mutation that reached a procedure, in order (see [`Mutation`]).
    pub journal: Vec<super::Mutation>,
    pub faults: Vec<FaultEntry>,
    pub behaviours: HashMap<String, AppBehaviour>,
    pub deploy_fail: HashMap<String, bool>,
    pub running_apps: HashMap<String, RunningApp>,
    /// service id -> the port its app last listened on (kept across a stop and start).
    pub app_ports: HashMap<String, u16>,
    /// compose id -> what its last successful deploy left running.
    pub compose_runtime: HashMap<String, ComposeRuntime>,
    /// Containers created so far: the source of container ids.
    pub containers_created: u64,
    /// compose id -> the compose file on the server's disk (written by a deploy or by
    /// `compose.loadServices` with `type=fetch`); what `type=cache` reads.
    pub compose_files_on_disk: HashMap<String, String>,
    pub schedules: HashMap<String, Entity>,
    /// Scripted outcomes of schedule runs, newest first: (schedule id, schedule name or `*`).
    pub run_scripts: Vec<(String, ScheduleRunScript)>,
    /// deployment id -> its log file's content (`deployment.readLogs`).
    pub logs: HashMap<String, String>,
    /// Notification rows, oldest first, each with its `custom` part (see `notifications`).
    pub notifications: Vec<Value>,
}

const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const SUFFIX_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const WORDS: &[&str] = &[
    "connect",
    "back",
    "end",
    "matrix",
    "override",
    "bluetooth",
    "application",
    "parse",
    "index",
    "bypass",
    "program",
    "input",
    "quantify",
    "navigate",
    "compress",
    "synthesize",
    "transmit",
    "hack",
    "calculate",
    "generate",
    "reboot",
    "copy",
    "port",
    "driver",
    "feed",
    "array",
    "circuit",
    "pixel",
    "protocol",
    "sensor",
    "bus",
    "panel",
    "firewall",
    "system",
    "alarm",
    "card",
    "monitor",
    "microchip",
    "capacitor",
];

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

/// A 21-character nanoid-like id.
pub(crate) fn new_id() -> String {
    random_from(ID_ALPHABET, 21)
}

fn suffix() -> String {
    random_from(SUFFIX_ALPHABET, 6)
}

/// `appName` as Dokploy builds it: the given name plus a random 6-character suffix, or a
/// generated `<prefix>-<word>-<word>-<word>-<suffix>`.
pub(crate) fn app_name(prefix: &str, given: Option<&str>) -> String {
    match given {
        Some(name) => format!("{name}-{}", suffix()),
        None => {
            let mut rng = rand::rng();
            let words: Vec<&str> = (0..3).map(|_| WORDS[rng.random_range(0..WORDS.len())]).collect();
            format!("{prefix}-{}-{}", words.join("-"), suffix())
        }
    }
}

/// ISO-8601 UTC with milliseconds, as Dokploy's rows carry (`2026-11-22T12:34:43.767Z`).
pub(crate) fn now_iso() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

pub(crate) fn str_of<'a>(row: &'a Row, key: &str) -> Option<&'a str> {
    row.get(key).and_then(Value::as_str)
}

impl State {
    /// The environment row of a service, with its project: a service's `environment` relation.
    pub(crate) fn environment_with_project(&self, row: &Row) -> Value {
        let Some(env) = self.environment_of(row) else {
            return Value::Null;
        };
        let mut out = env.row.clone();
        let project = self
            .project_of_env(&env.row)
            .map_or(Value::Null, |p| Value::Object(p.row.clone()));
        out.insert("project".into(), project);
        Value::Object(out)
    }

    pub fn new() -> State {
        State {
            organization_id: new_id(),
            ..State::default()
        }
    }

    /// A new container id: 12 lowercase hex characters, unique in this simulator. The counter
    /// is multiplied by an odd constant modulo 2^48 (a bijection), so ids are distinct without
    /// looking sequential.
    pub fn next_container_id(&mut self) -> String {
        self.containers_created += 1;
        let mixed = self.containers_created.wrapping_mul(0x0005_DEEC_E66D) & 0xFFFF_FFFF_FFFF;
        format!("{mixed:012x}")
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn kind_of(&self, service_id: &str) -> Option<Kind> {
        if self.applications.contains_key(service_id) {
            Some(Kind::Application)
        } else if self.composes.contains_key(service_id) {
            Some(Kind::Compose)
        } else {
            None
        }
    }

    pub fn service(&self, kind: Kind, id: &str) -> Option<&Entity> {
        match kind {
            Kind::Application => self.applications.get(id),
            Kind::Compose => self.composes.get(id),
        }
    }

    pub fn service_mut(&mut self, kind: Kind, id: &str) -> Option<&mut Entity> {
        match kind {
            Kind::Application => self.applications.get_mut(id),
            Kind::Compose => self.composes.get_mut(id),
        }
    }

    // ---- creation -------------------------------------------------------------------------

    pub fn create_project(&mut self, name: &str, description: Value, env: &str) -> (String, String) {
        let project_id = new_id();
        let created = now_iso();
        let row = json!({
            "projectId": project_id,
            "name": name,
            "description": description,
            "createdAt": created,
            "organizationId": self.organization_id,
            "env": env,
        });
        let seq = self.next_seq();
        self.projects.insert(
            project_id.clone(),
            Entity {
                seq,
                row: as_row(row),
            },
        );
        let env_id =
            self.insert_environment(&project_id, "production", json!("Production environment"), true);
        (project_id, env_id)
    }

    pub fn insert_environment(
        &mut self,
        project_id: &str,
        name: &str,
        description: Value,
        is_default: bool,
    ) -> String {
        let environment_id = new_id();
        let row = json!({
            "environmentId": environment_id,
            "name": name,
            "description": description,
            "createdAt": now_iso(),
            "env": "",
            "projectId": project_id,
            "isDefault": is_default,
        });
        let seq = self.next_seq();
        self.environments.insert(
            environment_id.clone(),
            Entity {
                seq,
                row: as_row(row),
            },
        );
        environment_id
    }

    pub fn insert_application(
        &mut self,
        environment_id: &str,
        name: &str,
        given_app_name: Option<&str>,
        description: Value,
        source_type: &str,
    ) -> String {
        let id = new_id();
        let row = application_row(
            &id,
            name,
            &app_name("app", given_app_name),
            description,
            environment_id,
            source_type,
        );
        let seq = self.next_seq();
        self.applications.insert(id.clone(), Entity { seq, row });
        id
    }

    #[allow(clippy::too_many_arguments)]
    pub fn insert_compose(
        &mut self,
        environment_id: &str,
        name: &str,
        given_app_name: Option<&str>,
        description: Value,
        compose_type: &str,
        source_type: &str,
        compose_file: &str,
    ) -> String {
        let id = new_id();
        let row = compose_row(
            &id,
            name,
            &app_name("compose", given_app_name),
            description,
            environment_id,
            compose_type,
            source_type,
            compose_file,
        );
        let seq = self.next_seq();
        self.composes.insert(id.clone(), Entity { seq, row });
        id
    }

    /// Inserts a domain row; the caller has checked the owner.
    pub fn insert_domain(&mut self, mut fields: Row) -> Row {
        self.unique_config_key += 1;
        let id = new_id();
        let mut row = as_row(json!({
            "domainId": id,
            "host": "",
            "https": false,
            "port": 3000,
            "customEntrypoint": null,
            "path": "/",
            "serviceName": null,
            "domainType": "application",
            "uniqueConfigKey": self.unique_config_key,
            "createdAt": now_iso(),
            "composeId": null,
            "customCertResolver": null,
            "applicationId": null,
            "previewDeploymentId": null,
            "certificateType": "none",
            "internalPath": "/",
            "stripPath": false,
            "middlewares": [],
            "forwardAuthEnabled": false,
            "enabled": true,
        }));
        // Nullable-with-default columns: an explicit null from the API keeps the DB default.
        for key in ["path", "port", "domainType", "internalPath", "middlewares"] {
            if fields.get(key).is_some_and(Value::is_null) {
                fields.remove(key);
            }
        }
        for (key, value) in fields {
            if row.contains_key(&key) && key != "domainId" && key != "uniqueConfigKey" && key != "createdAt" {
                row.insert(key, value);
            }
        }
        let seq = self.next_seq();
        self.domains.insert(
            id,
            Entity {
                seq,
                row: row.clone(),
            },
        );
        row
    }

    // ---- lookups --------------------------------------------------------------------------

    pub fn sorted(map: &HashMap<String, Entity>) -> Vec<&Entity> {
        let mut v: Vec<&Entity> = map.values().collect();
        v.sort_by_key(|e| e.seq);
        v
    }

    pub fn domains_of(&self, kind: Kind, service_id: &str) -> Vec<&Row> {
        let key = kind.id_key();
        State::sorted(&self.domains)
            .into_iter()
            .filter(|e| str_of(&e.row, key) == Some(service_id))
            .map(|e| &e.row)
            .collect()
    }

    /// The service owning an enabled domain with this host (case-insensitive), with the
    /// domain's `serviceName` (the compose service it routes to).
    pub fn service_for_host(&self, host: &str) -> Option<(Kind, String, Option<String>)> {
        State::sorted(&self.domains).into_iter().find_map(|e| {
            let matches = str_of(&e.row, "host").is_some_and(|h| h.eq_ignore_ascii_case(host))
                && e.row.get("enabled").and_then(Value::as_bool).unwrap_or(true);
            if !matches {
                return None;
            }
            let service_name = str_of(&e.row, "serviceName").map(str::to_string);
            if let Some(id) = str_of(&e.row, "applicationId") {
                return Some((Kind::Application, id.to_string(), service_name));
            }
            str_of(&e.row, "composeId").map(|id| (Kind::Compose, id.to_string(), service_name))
        })
    }

    pub fn environment_of(&self, row: &Row) -> Option<&Entity> {
        str_of(row, "environmentId").and_then(|id| self.environments.get(id))
    }

    pub fn project_of_env(&self, env: &Row) -> Option<&Entity> {
        str_of(env, "projectId").and_then(|id| self.projects.get(id))
    }

    pub fn deployment_rows(&self, service_id: &str) -> Vec<Value> {
        self.deployments
            .get(service_id)
            .map(|list| list.iter().map(|d| Value::Object(d.row.clone())).collect())
            .unwrap_or_default()
    }

    pub fn last_deploy_at(&self, service_id: &str) -> Value {
        self.deployments
            .get(service_id)
            .and_then(|list| list.first())
            .and_then(|d| d.row.get("createdAt").cloned())
            .unwrap_or(Value::Null)
    }

    /// Removes a service with everything hanging off it. Returns the removed kind.
    pub fn remove_service(&mut self, service_id: &str) -> Option<Kind> {
        let kind = self.kind_of(service_id)?;
        match kind {
            Kind::Application => self.applications.remove(service_id),
            Kind::Compose => self.composes.remove(service_id),
        };
        let key = kind.id_key();
        self.domains
            .retain(|_, e| str_of(&e.row, key) != Some(service_id));
        self.deployments.remove(service_id);
        self.queues.remove(service_id);
        self.behaviours.remove(service_id);
        self.deploy_fail.remove(service_id);
        self.compose_runtime.remove(service_id);
        self.compose_files_on_disk.remove(service_id);
        // A service's schedules go with it (the schedule table's foreign keys cascade), and so
        // do their runs.
        let schedules: Vec<String> = self
            .schedules
            .iter()
            .filter(|(_, e)| str_of(&e.row, key) == Some(service_id))
            .map(|(id, _)| id.clone())
            .collect();
        for id in schedules {
            self.schedules.remove(&id);
            self.deployments.remove(&id);
        }
        let prefix = format!("{service_id}/");
        let apps: Vec<String> = self
            .running_apps
            .keys()
            .filter(|k| *k == service_id || k.starts_with(&prefix))
            .cloned()
            .collect();
        for key in apps {
            self.stop_app(&key);
        }
        Some(kind)
    }

    /// Stops and forgets the loopback app under `key`, if it runs.
    pub fn stop_app(&mut self, key: &str) {
        if let Some(mut app) = self.running_apps.remove(key)
            && let Some(stop) = app.stop.take()
        {
            let _ = stop.send(());
        }
    }

    /// Is a `DeployError` fault injected for this deploy route (or for every route)?
    pub fn deploy_error_injected(&self, route: &str) -> bool {
        self.faults
            .iter()
            .any(|f| matches!(f.fault, Fault::DeployError) && f.matches(route))
    }
}

pub(crate) fn as_row(value: Value) -> Row {
    match value {
        Value::Object(map) => map,
        _ => Row::new(),
    }
}

fn application_row(
    id: &str,
    name: &str,
    app_name: &str,
    description: Value,
    environment_id: &str,
    source_type: &str,
) -> Row {
    as_row(json!({
        "applicationId": id,
        "name": name,
        "appName": app_name,
        "description": description,
        "env": null,
        "previewEnv": null,
        "watchPaths": null,
        "previewBuildArgs": null,
        "previewBuildSecrets": null,
        "previewLabels": null,
        "previewWildcard": null,
        "previewPort": 3000,
        "previewHttps": false,
        "previewPath": "/",
        "previewCertificateType": "none",
        "previewCustomCertResolver": null,
        "previewLimit": 3,
        "isPreviewDeploymentsActive": false,
        "previewRequireCollaboratorPermissions": true,
        "rollbackActive": false,
        "buildArgs": null,
        "buildSecrets": null,
        "memoryReservation": null,
        "memoryLimit": null,
        "cpuReservation": null,
        "cpuLimit": null,
        "title": null,
        "enabled": null,
        "subtitle": null,
        "command": null,
        "args": null,
        "icon": null,
        "refreshToken": new_id(),
        "sourceType": source_type,
        "cleanCache": false,
        "repository": null,
        "owner": null,
        "branch": null,
        "buildPath": "/",
        "triggerType": "push",
        "autoDeploy": true,
        "gitlabProjectId": null,
        "gitlabRepository": null,
        "gitlabOwner": null,
        "gitlabBranch": null,
        "gitlabBuildPath": "/",
        "gitlabPathNamespace": null,
        "giteaRepository": null,
        "giteaOwner": null,
        "giteaBranch": null,
        "giteaBuildPath": "/",
        "bitbucketRepository": null,
        "bitbucketRepositorySlug": null,
        "bitbucketOwner": null,
        "bitbucketBranch": null,
        "bitbucketBuildPath": "/",
        "username": null,
        "password": null,
        "dockerImage": null,
        "registryUrl": null,
        "customGitUrl": null,
        "customGitBranch": null,
        "customGitBuildPath": null,
        "customGitSSHKeyId": null,
        "enableSubmodules": false,
        "dockerfile": "Dockerfile",
        "dockerContextPath": null,
        "dockerBuildStage": null,
        "dropBuildPath": null,
        "healthCheckSwarm": null,
        "restartPolicySwarm": null,
        "placementSwarm": null,
        "updateConfigSwarm": null,
        "rollbackConfigSwarm": null,
        "modeSwarm": null,
        "labelsSwarm": null,
        "networkSwarm": null,
        "stopGracePeriodSwarm": null,
        "endpointSpecSwarm": null,
        "ulimitsSwarm": null,
        "replicas": 1,
        "applicationStatus": "idle",
        "buildType": "nixpacks",
        "railpackVersion": "0.15.4",
        "herokuVersion": "24",
        "publishDirectory": null,
        "isStaticSpa": null,
        "createEnvFile": true,
        "createdAt": now_iso(),
        "registryId": null,
        "rollbackRegistryId": null,
        "environmentId": environment_id,
        "githubId": null,
        "gitlabId": null,
        "giteaId": null,
        "bitbucketId": null,
        "serverId": null,
        "buildServerId": null,
        "buildRegistryId": null,
        "networkIds": [],
        "detachDokployNetwork": false,
    }))
}

#[allow(clippy::too_many_arguments)]
fn compose_row(
    id: &str,
    name: &str,
    app_name: &str,
    description: Value,
    environment_id: &str,
    compose_type: &str,
    source_type: &str,
    compose_file: &str,
) -> Row {
    as_row(json!({
        "composeId": id,
        "name": name,
        "appName": app_name,
        "description": description,
        "env": null,
        "composeFile": compose_file,
        "refreshToken": new_id(),
        "sourceType": source_type,
        "composeType": compose_type,
        "repository": null,
        "owner": null,
        "branch": null,
        "autoDeploy": true,
        "gitlabProjectId": null,
        "gitlabRepository": null,
        "gitlabOwner": null,
        "gitlabBranch": null,
        "gitlabPathNamespace": null,
        "bitbucketRepository": null,
        "bitbucketRepositorySlug": null,
        "bitbucketOwner": null,
        "bitbucketBranch": null,
        "giteaRepository": null,
        "giteaOwner": null,
        "giteaBranch": null,
        "customGitUrl": null,
        "customGitBranch": null,
        "customGitSSHKeyId": null,
        "command": "",
        "createEnvFile": true,
        "enableSubmodules": false,
        "composePath": "./docker-compose.yml",
        "suffix": "",
        "randomize": false,
        "isolatedDeployment": false,
        "isolatedDeploymentsVolume": false,
        "triggerType": "push",
        "composeStatus": "idle",
        "icon": null,
        "environmentId": environment_id,
        "createdAt": now_iso(),
        "watchPaths": null,
        "githubId": null,
        "gitlabId": null,
        "bitbucketId": null,
        "giteaId": null,
        "serverId": null,
        "serviceNetworks": [],
    }))
}

pub(crate) fn deployment_row(
    kind: Kind,
    service_id: &str,
    title: &str,
    description: &str,
    app_name: &str,
) -> Row {
    let id = new_id();
    let now = now_iso();
    let (application_id, compose_id) = match kind {
        Kind::Application => (Value::from(service_id), Value::Null),
        Kind::Compose => (Value::Null, Value::from(service_id)),
    };
    as_row(json!({
        "deploymentId": id,
        "title": title,
        "description": description,
        "status": "running",
        "logPath": format!("/etc/dokploy/logs/{app_name}/{app_name}-{}.log", now.replace([':', '.'], "-")),
        "pid": null,
        "applicationId": application_id,
        "composeId": compose_id,
        "serverId": null,
        "isPreviewDeployment": false,
        "previewDeploymentId": null,
        "createdAt": now,
        "startedAt": now,
        "finishedAt": null,
        "errorMessage": null,
        "scheduleId": null,
        "backupId": null,
        "rollbackId": null,
        "volumeBackupId": null,
        "buildServerId": null,
    }))
}

/// A run of a schedule, as `createDeploymentSchedule` inserts it: status `running`, the
/// schedule's id and no service id, title and description `Schedule`, a log under the
/// schedules path named after the schedule's `appName`.
pub(crate) fn schedule_run_row(schedule_id: &str, schedule_app_name: &str) -> Row {
    let now = now_iso();
    let stamp = jiff::Timestamp::now().strftime("%Y-%m-%d:%H:%M:%S").to_string();
    as_row(json!({
        "deploymentId": new_id(),
        "title": "Schedule",
        "description": "Schedule",
        "status": "running",
        "logPath": format!("/etc/dokploy/schedules/{schedule_app_name}/{schedule_app_name}-{stamp}.log"),
        "pid": null,
        "applicationId": null,
        "composeId": null,
        "serverId": null,
        "isPreviewDeployment": false,
        "previewDeploymentId": null,
        "createdAt": now,
        "startedAt": now,
        "finishedAt": null,
        "errorMessage": null,
        "scheduleId": schedule_id,
        "backupId": null,
        "rollbackId": null,
        "volumeBackupId": null,
        "buildServerId": null,
    }))
}

/// A new schedule row: the columns of Dokploy's `schedule` table with their defaults
/// (`shellType` bash, `scheduleType` application, `enabled` true, a generated `appName`).
pub(crate) fn schedule_row(schedule_id: &str) -> Row {
    as_row(json!({
        "scheduleId": schedule_id,
        "name": "",
        "description": null,
        "cronExpression": "",
        "appName": app_name("schedule", None),
        "serviceName": null,
        "shellType": "bash",
        "scheduleType": "application",
        "command": "",
        "script": null,
        "applicationId": null,
        "composeId": null,
        "serverId": null,
        "userId": null,
        "organizationId": null,
        "enabled": true,
        "timezone": null,
        "createdAt": now_iso(),
    }))
}

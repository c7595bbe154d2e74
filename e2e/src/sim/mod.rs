//! A Dokploy v0.30.2 simulator.
//!
//! It serves the Dokploy HTTP API routes the Launchplane provider uses under
//! `{base_url}/api/{router}.{procedure}`, shaped as the references in `shared/dokploy/`
//! describe (request fields from `openapi.json`, responses and error bodies from
//! `API-NOTES.md` and `OBSERVED-v0.30.2.md`). A successful application deploy starts a local
//! HTTP app standing in for the container, serving the runtime identity injected through the
//! application's env; a successful compose deploy does the same for each compose service a
//! domain routes to, from the compose env. An ingress routes to those apps by Host header.
//! Schedules run their command as scripted ([`ScheduleRunScript`]) and keep their runs as
//! deployment rows.
//!
//! Tests drive it through [`DokploySim`]'s sync admin methods; the `dokploy-sim` binary and
//! shell scripts use the HTTP admin routes under `/__sim/`.

mod admin;
mod apps;
mod compose;
mod containers;
mod deploy;
pub mod dotenv;
mod errors;
mod faults;
mod notifications;
mod routes;
mod schedules;
mod state;
mod validate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State as AxState};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use faults::FaultEntry;
use state::{Kind, Shared, SharedRef, State, str_of};

pub use compose::service_names as compose_service_names;
pub use routes::procedure_names;
pub use schedules::{RunOutcome, ScheduleRunScript};

/// The version `settings.getDokployVersion` reports.
pub const DOKPLOY_VERSION: &str = "v0.30.2";

/// The one valid API key unless [`SimConfig::api_key`] says otherwise.
pub const DEFAULT_API_KEY: &str = "sim-api-key";

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub api_key: String,
    /// 0 = any free port.
    pub api_port: u16,
    /// 0 = any free port.
    pub ingress_port: u16,
    /// How long a deployment stays `running` before it ends `done` or `error`.
    pub deploy_duration: Duration,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            api_key: DEFAULT_API_KEY.to_string(),
            api_port: 0,
            ingress_port: 0,
            deploy_duration: Duration::from_millis(200),
        }
    }
}

/// One mutating API call as the simulator received it, for tests that prove whose services a
/// client changed. Calls refused before validation (auth, faults, bad input) are not listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mutation {
    /// The canonical procedure, e.g. `application.update`.
    pub procedure: String,
    /// The application or compose service it acts on (a domain's owner for `domain.*`; the
    /// new service for a create); `None` for unknown ids and calls about no service.
    pub service_id: Option<String>,
    /// That service's `description` just before the call (where ownership markers live).
    pub description_before: Option<String>,
    /// The `description` the call sent, if any (`application.create`, `application.update`,
    /// `schedule.create`, `schedule.update`: for a schedule, the schedule's own description).
    pub description_sent: Option<String>,
    /// The schedule a `schedule.*` mutation acts on (the new one for a create).
    pub schedule_id: Option<String>,
    /// That schedule's `description` just before the call (where a schedule's ownership
    /// marker lives).
    pub schedule_description_before: Option<String>,
    /// Whether the procedure succeeded (for `schedule.runManually`: whether the run started;
    /// how it ended is in its deployment row).
    pub succeeded: bool,
}

/// A fault injected on an API route (`"application.one"`, or `"*"` for every route).
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer after this extra delay (adds up with other faults).
    Latency(Duration),
    /// Answer with this status and a tRPC error envelope.
    Status(u16),
    /// The key works for N calls (to the matching routes), then 401 `{"message":"Unauthorized"}`:
    /// Dokploy's exhausted-key behaviour.
    UnauthorizedAfter(u64),
    /// 200 with a body that is not JSON.
    MalformedBody,
    /// Never answer: hold the connection until the simulator shuts down.
    Timeout,
    /// Deploys (on `application.deploy` / `compose.deploy` / `*`) end in status `error`.
    DeployError,
}

/// What a deployed app serves, overriding what it was deployed with.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum AppBehaviour {
    /// Serve the identity from the env at deploy time.
    #[default]
    Normal,
    /// Serve this payload instead of the injected one (its `deploymentRecordId`, if any, also
    /// goes into the `X-Launchplane-Deployment` header).
    StaleIdentity(Value),
    /// Serve an identity that is not valid JSON.
    MalformedIdentity,
    /// Serve no identity at all (no `runtime_identity`, no header, 404 on the well-known URL).
    NoIdentity,
    /// Stop answering: connections are closed at once; the ingress answers 502.
    Down,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SeedApplication {
    /// A fixed id (e.g. to match ids written in example manifests); a random one otherwise,
    /// and also when this one is already taken.
    pub id: Option<String>,
    pub name: String,
    /// The application's description (where Launchplane's ownership marker lives).
    pub description: Option<String>,
    /// Set as if through `saveDockerProvider` (sourceType `docker`).
    pub docker_image: Option<String>,
    pub env: Option<String>,
    pub domains: Vec<String>,
    /// If true, the app is started as if deployed (status `done`, one `done` deployment).
    pub deployed: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SeedCompose {
    /// The compose's id; generated when absent (or taken).
    pub id: Option<String>,
    pub name: String,
    /// The compose's description (where Launchplane's ownership marker lives).
    pub description: Option<String>,
    pub compose_file: String,
    pub env: Option<String>,
    pub domains: Vec<String>,
    /// The compose service the seeded domains route to (`serviceName`); none if unset.
    pub service_name: Option<String>,
    /// If true, the compose is started as if deployed (status `done`, one `done` deployment,
    /// its web services serving).
    pub deployed: bool,
}

/// An edit made outside the API's caller, as a person clicking in the Dokploy dashboard.
#[derive(Debug, Clone, Default)]
pub struct OutOfBandEdit {
    pub name: Option<String>,
    pub env: Option<String>,
    /// Applications only.
    pub docker_image: Option<String>,
}

/// A seed document (`POST /__sim/seed`, `dokploy-sim --seed FILE`):
///
/// ```json
/// {"projects": [{"name": "shop", "environments": [
///   {"name": "production", "applications": [
///     {"name": "web", "dockerImage": "nginx:1.27", "env": "A=1", "domains": ["web.test"], "deployed": true}],
///    "compose": [{"name": "stack", "composeFile": "services: {}", "domains": []}]}]}]}
/// ```
///
/// An environment named `production` is the project's default one; other names are created.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SeedDocument {
    pub projects: Vec<SeedProject>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SeedProject {
    pub name: String,
    pub description: Option<String>,
    pub environments: Vec<SeedEnvironment>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SeedEnvironment {
    pub name: String,
    pub applications: Vec<SeedApplication>,
    pub compose: Vec<SeedCompose>,
}

/// A running simulator. Cheap admin methods are sync (they take a std mutex, never held
/// across an await), so tests can call them from anywhere.
pub struct DokploySim {
    shared: SharedRef,
    api_addr: Option<SocketAddr>,
    ingress_addr: Option<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

async fn top_handler(AxState(shared): AxState<SharedRef>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if let Some(rest) = path.strip_prefix("/api/") {
        return routes::handle_api(shared, rest.to_string(), req).await;
    }
    if let Some(rest) = path.strip_prefix("/__sim/") {
        return admin::handle_admin(shared, rest.to_string(), req).await;
    }
    errors::raw_response(404, Some("text/plain; charset=utf-8"), "Not found")
}

async fn bind(port: u16) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(("127.0.0.1", port)).await
}

impl DokploySim {
    /// Binds the API and the ingress on 127.0.0.1 (port 0 = any) and starts serving.
    pub async fn start(config: SimConfig) -> std::io::Result<DokploySim> {
        let api = bind(config.api_port).await?;
        let ingress = bind(config.ingress_port).await?;
        let (shutdown, _) = tokio::sync::watch::channel(false);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new()),
            api_key: config.api_key.clone(),
            deploy_duration: config.deploy_duration,
            handle: tokio::runtime::Handle::current(),
            shutdown,
        });
        let api_addr = api.local_addr()?;
        let ingress_addr = ingress.local_addr()?;
        let mut tasks = Vec::new();
        for (listener, router) in [
            (
                api,
                Router::new().fallback(top_handler).with_state(shared.clone()),
            ),
            (ingress, apps::ingress_router(shared.clone())),
        ] {
            let mut rx = shared.shutdown.subscribe();
            tasks.push(tokio::spawn(async move {
                let stop = async move {
                    let _ = rx.wait_for(|v| *v).await;
                };
                if let Err(err) = axum::serve(listener, router).with_graceful_shutdown(stop).await {
                    tracing::warn!(%err, "dokploy simulator server ended");
                }
            }));
        }
        tracing::info!(api = %api_addr, ingress = %ingress_addr, "dokploy simulator started");
        Ok(DokploySim {
            shared,
            api_addr: Some(api_addr),
            ingress_addr: Some(ingress_addr),
            tasks,
        })
    }

    /// A handle on the same state without the servers (for the admin routes).
    pub(crate) fn handle_for(shared: SharedRef) -> DokploySim {
        DokploySim {
            shared,
            api_addr: None,
            ingress_addr: None,
            tasks: Vec::new(),
        }
    }

    /// `http://127.0.0.1:PORT`; the Dokploy API lives under `{base_url}/api/`.
    pub fn base_url(&self) -> String {
        self.api_addr.map(|a| format!("http://{a}")).unwrap_or_default()
    }

    pub fn api_port(&self) -> u16 {
        self.api_addr.map_or(0, |a| a.port())
    }

    pub fn api_key(&self) -> String {
        self.shared.api_key.clone()
    }

    /// `http://127.0.0.1:IPORT`: routes by Host header to deployed apps.
    pub fn ingress_url(&self) -> String {
        self.ingress_addr
            .map(|a| format!("http://{a}"))
            .unwrap_or_default()
    }

    pub fn ingress_port(&self) -> u16 {
        self.ingress_addr.map_or(0, |a| a.port())
    }

    pub fn version(&self) -> String {
        DOKPLOY_VERSION.to_string()
    }

    // ---- seeding ------------------------------------------------------------------------

    /// Creates a project with its default `production` environment.
    pub fn seed_project(&self, name: &str) -> (String, String) {
        self.shared.lock().create_project(name, Value::Null, "")
    }

    /// Creates an environment; `None` when the project does not exist.
    pub fn seed_environment(&self, project_id: &str, name: &str) -> Option<String> {
        let mut st = self.shared.lock();
        if !st.projects.contains_key(project_id) {
            return None;
        }
        Some(st.insert_environment(project_id, name, Value::Null, false))
    }

    pub fn seed_application(&self, environment_id: &str, seed: SeedApplication) -> Option<String> {
        let mut st = self.shared.lock();
        if !st.environments.contains_key(environment_id) {
            return None;
        }
        let source = if seed.docker_image.is_some() {
            "docker"
        } else {
            "github"
        };
        let description = seed.description.clone().map_or(Value::Null, Value::String);
        let id = st.insert_application(environment_id, &seed.name, None, description, source);
        let id = match seed.id.as_deref() {
            Some(wanted) if !wanted.is_empty() && st.kind_of(wanted).is_none() => {
                match st.applications.remove(&id) {
                    Some(mut entity) => {
                        entity.row.insert("applicationId".into(), json!(wanted));
                        st.applications.insert(wanted.to_string(), entity);
                        wanted.to_string()
                    }
                    None => id,
                }
            }
            _ => id,
        };
        if let Some(app) = st.applications.get_mut(&id) {
            app.row.insert("dockerImage".into(), json!(seed.docker_image));
            app.row.insert("env".into(), json!(seed.env));
        }
        for host in &seed.domains {
            routes::create_domain_for(&mut st, &id, host);
        }
        if seed.deployed {
            let seq = st.next_seq();
            let app_name = st
                .applications
                .get(&id)
                .and_then(|e| str_of(&e.row, "appName"))
                .unwrap_or_default()
                .to_string();
            let mut row = state::deployment_row(Kind::Application, &id, "Manual deployment", "", &app_name);
            row.insert("status".into(), json!("done"));
            row.insert(
                "finishedAt".into(),
                row.get("startedAt").cloned().unwrap_or(Value::Null),
            );
            st.deployments
                .entry(id.clone())
                .or_default()
                .insert(0, state::Deployment { seq, row });
            if let Some(app) = st.applications.get_mut(&id) {
                app.row.insert("applicationStatus".into(), json!("done"));
            }
            apps::start_or_reconfigure(&self.shared, &mut st, &id, seed.env.unwrap_or_default());
        }
        Some(id)
    }

    pub fn seed_compose(&self, environment_id: &str, seed: SeedCompose) -> Option<String> {
        let mut st = self.shared.lock();
        if !st.environments.contains_key(environment_id) {
            return None;
        }
        let description = seed.description.clone().map_or(Value::Null, Value::String);
        let id = st.insert_compose(
            environment_id,
            &seed.name,
            None,
            description,
            "docker-compose",
            "raw",
            &seed.compose_file,
        );
        let id = match seed.id.as_deref() {
            Some(wanted) if !wanted.is_empty() && st.kind_of(wanted).is_none() => {
                match st.composes.remove(&id) {
                    Some(mut entity) => {
                        entity.row.insert("composeId".into(), json!(wanted));
                        st.composes.insert(wanted.to_string(), entity);
                        wanted.to_string()
                    }
                    None => id,
                }
            }
            _ => id,
        };
        if let Some(c) = st.composes.get_mut(&id) {
            c.row.insert("env".into(), json!(seed.env));
        }
        for host in &seed.domains {
            if let Some(domain_id) = routes::create_domain_for(&mut st, &id, host)
                && let Some(domain) = st.domains.get_mut(&domain_id)
            {
                domain.row.insert("serviceName".into(), json!(seed.service_name));
            }
        }
        if seed.deployed {
            let seq = st.next_seq();
            let app_name = st
                .composes
                .get(&id)
                .and_then(|e| str_of(&e.row, "appName"))
                .unwrap_or_default()
                .to_string();
            let mut row = state::deployment_row(Kind::Compose, &id, "Manual deployment", "", &app_name);
            row.insert("status".into(), json!("done"));
            row.insert(
                "finishedAt".into(),
                row.get("startedAt").cloned().unwrap_or(Value::Null),
            );
            st.deployments
                .entry(id.clone())
                .or_default()
                .insert(0, state::Deployment { seq, row });
            if let Some(c) = st.composes.get_mut(&id) {
                c.row.insert("composeStatus".into(), json!("done"));
            }
            if let Some(snap) = compose::snapshot(&st, &id) {
                compose::deployed(&self.shared, &mut st, &id, snap);
            }
        }
        Some(id)
    }

    /// Adds a domain to an application or compose; `None` when the service does not exist.
    pub fn add_domain(&self, service_id: &str, host: &str) -> Option<String> {
        routes::create_domain_for(&mut self.shared.lock(), service_id, host)
    }

    /// Adds a domain routing to one service of a compose (`serviceName`); `None` when the
    /// compose does not exist. Like every compose domain it takes effect at the next deploy.
    pub fn add_compose_domain(&self, compose_id: &str, host: &str, service_name: &str) -> Option<String> {
        let mut st = self.shared.lock();
        st.composes.get(compose_id)?;
        let domain_id = routes::create_domain_for(&mut st, compose_id, host)?;
        if let Some(domain) = st.domains.get_mut(&domain_id) {
            domain.row.insert("serviceName".into(), json!(service_name));
        }
        Some(domain_id)
    }

    /// Seeds a whole document; returns the created ids by name.
    pub fn seed(&self, doc: &SeedDocument) -> Value {
        let mut projects = serde_json::Map::new();
        let mut services = serde_json::Map::new();
        let mut domains = serde_json::Map::new();
        for project in &doc.projects {
            let (project_id, production_id) = {
                let mut st = self.shared.lock();
                st.create_project(&project.name, json!(project.description), "")
            };
            let mut envs = serde_json::Map::new();
            for env in &project.environments {
                let env_id = if env.name == "production" || env.name.is_empty() {
                    Some(production_id.clone())
                } else {
                    self.seed_environment(&project_id, &env.name)
                };
                let Some(env_id) = env_id else { continue };
                let mut apps = serde_json::Map::new();
                for app in &env.applications {
                    if let Some(id) = self.seed_application(&env_id, app.clone()) {
                        services.insert(app.name.clone(), json!(id));
                        apps.insert(app.name.clone(), json!(id));
                    }
                }
                let mut composes = serde_json::Map::new();
                for compose in &env.compose {
                    if let Some(id) = self.seed_compose(&env_id, compose.clone()) {
                        services.insert(compose.name.clone(), json!(id));
                        composes.insert(compose.name.clone(), json!(id));
                    }
                }
                let name = if env.name.is_empty() {
                    "production".to_string()
                } else {
                    env.name.clone()
                };
                envs.insert(
                    name,
                    json!({"environmentId": env_id, "applications": apps, "compose": composes}),
                );
            }
            projects.insert(
                project.name.clone(),
                json!({"projectId": project_id, "productionEnvironmentId": production_id, "environments": envs}),
            );
        }
        {
            let st = self.shared.lock();
            for d in State::sorted(&st.domains) {
                if let (Some(host), Some(id)) = (str_of(&d.row, "host"), str_of(&d.row, "domainId")) {
                    domains.insert(host.to_string(), json!(id));
                }
            }
        }
        json!({"projects": projects, "services": services, "domains": domains})
    }

    // ---- out-of-band edits --------------------------------------------------------------

    /// Edits a service as a person in the dashboard would. `false` when it does not exist.
    /// Set a service's description, as a person editing it in the dashboard (or another
    /// tool taking it over). Returns false for an unknown id.
    pub fn set_description(&self, service_id: &str, description: &str) -> bool {
        let mut st = self.shared.lock();
        let Some(kind) = st.kind_of(service_id) else {
            return false;
        };
        let Some(entity) = st.service_mut(kind, service_id) else {
            return false;
        };
        entity.row.insert("description".into(), json!(description));
        true
    }

    pub fn edit(&self, service_id: &str, edit: OutOfBandEdit) -> bool {
        let mut st = self.shared.lock();
        let Some(kind) = st.kind_of(service_id) else {
            return false;
        };
        let Some(entity) = st.service_mut(kind, service_id) else {
            return false;
        };
        if let Some(name) = edit.name {
            entity.row.insert("name".into(), json!(name));
        }
        if let Some(env) = edit.env {
            entity.row.insert("env".into(), json!(env));
        }
        if let Some(image) = edit.docker_image
            && kind == Kind::Application
        {
            entity.row.insert("dockerImage".into(), json!(image));
        }
        true
    }

    /// Deletes a service with its domains, deployments and app. `false` when it does not exist.
    pub fn remove_service(&self, service_id: &str) -> bool {
        self.shared.lock().remove_service(service_id).is_some()
    }

    // ---- faults -------------------------------------------------------------------------

    /// Injects a fault on a route (procedure name, case-insensitive) or `"*"`.
    pub fn inject(&self, route: &str, fault: Fault) {
        self.shared.lock().faults.push(FaultEntry {
            route: route.to_string(),
            fault,
            hits: 0,
        });
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    pub fn set_app_behaviour(&self, service_id: &str, behaviour: AppBehaviour) {
        let mut st = self.shared.lock();
        if behaviour == AppBehaviour::Normal {
            st.behaviours.remove(service_id);
        } else {
            st.behaviours.insert(service_id.to_string(), behaviour);
        }
    }

    /// How the runs of a schedule go from now on: `selector` is a schedule id, a schedule name,
    /// or `*` for every schedule. The newest script that matches a run wins.
    pub fn script_schedule_runs(&self, selector: &str, script: ScheduleRunScript) {
        self.shared
            .lock()
            .run_scripts
            .insert(0, (selector.to_string(), script));
    }

    /// Forgets every run script: runs succeed at once with no output again.
    pub fn clear_schedule_scripts(&self) {
        self.shared.lock().run_scripts.clear();
    }

    /// `fail = true`: the service's next deploys end in status `error` until set back.
    pub fn set_deploy_outcome(&self, service_id: &str, fail: bool) {
        self.shared
            .lock()
            .deploy_fail
            .insert(service_id.to_string(), fail);
    }

    // ---- observation --------------------------------------------------------------------

    /// Dokploy API calls for a procedure (canonical name, e.g. `application.deploy`).
    pub fn call_count(&self, route: &str) -> u64 {
        let st = self.shared.lock();
        let name = routes::canonical(route).unwrap_or(route);
        st.calls.get(name).copied().unwrap_or(0)
    }

    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.shared.lock().calls.clone()
    }

    pub fn reset_call_counts(&self) {
        self.shared.lock().calls.clear();
    }

    /// Every mutating API call that passed validation, in order, with what it acted on.
    pub fn mutations(&self) -> Vec<Mutation> {
        self.shared.lock().journal.clone()
    }

    /// The application's env exactly as stored (`None` if unknown or null).
    pub fn application_env(&self, application_id: &str) -> Option<String> {
        let st = self.shared.lock();
        st.applications
            .get(application_id)
            .and_then(|e| str_of(&e.row, "env"))
            .map(str::to_string)
    }

    pub fn docker_image(&self, application_id: &str) -> Option<String> {
        let st = self.shared.lock();
        st.applications
            .get(application_id)
            .and_then(|e| str_of(&e.row, "dockerImage"))
            .map(str::to_string)
    }

    /// The service's deployments as `deployment.all` would return them (newest first).
    pub fn deployments(&self, service_id: &str) -> Vec<Value> {
        self.shared.lock().deployment_rows(service_id)
    }

    /// `application.one` / `compose.one` as the API would return it.
    pub fn service_json(&self, service_id: &str) -> Option<Value> {
        let st = self.shared.lock();
        let kind = st.kind_of(service_id)?;
        routes::full_service(&st, kind, service_id)
    }

    /// The schedules of a compose as `schedule.list` would return them (oldest first).
    pub fn compose_schedules(&self, compose_id: &str) -> Vec<Value> {
        let st = self.shared.lock();
        match schedules::list(&st, compose_id, "compose") {
            Value::Array(rows) => rows,
            _ => Vec::new(),
        }
    }

    /// A schedule's runs as `deployment.allByType?type=schedule` would return them (newest
    /// first).
    pub fn schedule_runs(&self, schedule_id: &str) -> Vec<Value> {
        self.shared.lock().deployment_rows(schedule_id)
    }

    /// The log a deployment or schedule run wrote so far.
    pub fn deployment_log(&self, deployment_id: &str) -> Option<String> {
        self.shared.lock().logs.get(deployment_id).cloned()
    }

    /// The services of a compose that have a running container, in file order (all of them
    /// after a deploy, none after `compose.stop`, all but one after `docker.stopContainer`).
    pub fn compose_running_services(&self, compose_id: &str) -> Vec<String> {
        let st = self.shared.lock();
        st.compose_runtime
            .get(compose_id)
            .map(|r| r.running_services())
            .unwrap_or_default()
    }

    /// Whether `service` of the compose has a running container (what a schedule's `docker
    /// exec` into it needs).
    pub fn compose_container_running(&self, compose_id: &str, service: &str) -> bool {
        compose::container_running(&self.shared.lock(), compose_id, service)
    }

    /// The containers of a compose as `docker.getContainersByAppNameMatch` lists them
    /// (`{containerId, name, state, status}`, file order); empty when it never deployed.
    pub fn compose_containers(&self, compose_id: &str) -> Vec<Value> {
        let st = self.shared.lock();
        let Some(app_name) = st
            .composes
            .get(compose_id)
            .and_then(|c| str_of(&c.row, "appName"))
        else {
            return Vec::new();
        };
        match containers::list(&st, app_name, Some("docker-compose"), None) {
            Value::Array(rows) => rows,
            _ => Vec::new(),
        }
    }

    /// The id of the container of one service of a compose, if it has one.
    pub fn compose_container_id(&self, compose_id: &str, service: &str) -> Option<String> {
        let st = self.shared.lock();
        st.compose_runtime
            .get(compose_id)?
            .containers
            .iter()
            .find(|c| c.service == service)
            .map(|c| c.id.clone())
    }

    /// The loopback URL of the app standing in for one service of a compose, while it runs.
    /// Its app is keyed `composeId/service` (for [`Self::set_app_behaviour`]; a behaviour set
    /// on the compose id applies to all its services).
    pub fn compose_app_url(&self, compose_id: &str, service: &str) -> Option<String> {
        self.app_url(&apps::app_key(compose_id, service))
    }

    /// The loopback URL of the app standing in for the service's container, while it runs.
    pub fn app_url(&self, service_id: &str) -> Option<String> {
        let st = self.shared.lock();
        st.running_apps
            .get(service_id)
            .map(|a| format!("http://127.0.0.1:{}", a.port))
    }

    pub fn app_urls(&self) -> BTreeMap<String, String> {
        let st = self.shared.lock();
        st.running_apps
            .iter()
            .map(|(id, a)| (id.clone(), format!("http://127.0.0.1:{}", a.port)))
            .collect()
    }

    /// Stops every server (held `Timeout` calls are released) and waits briefly for them.
    pub async fn shutdown(self) {
        let _ = self.shared.shutdown.send(true);
        {
            let mut st = self.shared.lock();
            for app in st.running_apps.values_mut() {
                if let Some(stop) = app.stop.take() {
                    let _ = stop.send(());
                }
            }
        }
        for task in self.tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task).await.is_err() {
                abort.abort();
            }
        }
    }
}

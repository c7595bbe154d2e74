//! Dokploy response shapes, deserialised leniently, and their conversion into [`crate::model`].
//!
//! The OpenAPI document has no response schemas, and Dokploy adds columns often, so every field
//! is optional and unknown fields are ignored. Secret columns are handled here: `env` and
//! `composeFile` go straight into `SecretString`, and `password` (the registry password) has no
//! field at all, so serde skips it without ever allocating it into a struct.
//!
//! Numbers are read as `serde_json::Value` where Dokploy's typing is loose (`port` is a JSON
//! number, possibly written as a float by some versions).

use serde::Deserialize;
use serde_json::Value;

mod schedule;
pub(crate) use schedule::{WireRunAnswer, WireSchedule, WireScheduleRun};

use crate::model::{
    ContainerView, DeploymentStatus, DeploymentSummary, DomainRef, DomainSummary, EnvironmentSummary,
    NamedRef, ServiceCategory, ServiceStatus, ServiceSummary, TargetCategory, TargetDetail,
};
use crate::secret::SecretString;

fn port(v: &Option<Value>) -> Option<u16> {
    let v = v.as_ref()?;
    v.as_u64()
        .or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        })
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .and_then(|p| u16::try_from(p).ok())
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireService {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    app_name: Option<String>,
    status: Option<String>,
    created_at: Option<String>,
    server_id: Option<String>,
    project_id: Option<String>,
    project_name: Option<String>,
    environment_id: Option<String>,
    environment_name: Option<String>,
    last_deploy_at: Option<String>,
}

impl WireService {
    pub(crate) fn into_model(self) -> Option<ServiceSummary> {
        Some(ServiceSummary {
            id: self.id?,
            category: ServiceCategory::parse(self.kind.as_deref().unwrap_or("")),
            name: self.name,
            app_name: self.app_name,
            status: self.status.as_deref().map(ServiceStatus::parse),
            last_deploy_at: self.last_deploy_at,
            created_at: self.created_at,
            project_id: self.project_id,
            project_name: self.project_name,
            environment_id: self.environment_id,
            environment_name: self.environment_name,
            server_id: self.server_id,
        })
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireOverviewDomain {
    domain_id: Option<String>,
    host: Option<String>,
    path: Option<String>,
    port: Option<Value>,
    https: Option<bool>,
    certificate_type: Option<String>,
    enabled: Option<bool>,
    domain_type: Option<String>,
    service_owner_id: Option<String>,
    service_owner_type: Option<String>,
    service_name: Option<String>,
    project_id: Option<String>,
    environment_id: Option<String>,
    environment_name: Option<String>,
}

impl WireOverviewDomain {
    pub(crate) fn into_model(self) -> Option<DomainSummary> {
        Some(DomainSummary {
            port: port(&self.port),
            domain_id: self.domain_id?,
            host: self.host?,
            path: self.path,
            https: self.https.unwrap_or(false),
            certificate_type: self.certificate_type,
            enabled: self.enabled,
            domain_type: self.domain_type,
            service_owner_id: self.service_owner_id,
            service_owner_type: self.service_owner_type,
            service_name: self.service_name,
            project_id: self.project_id,
            environment_id: self.environment_id,
            environment_name: self.environment_name,
        })
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireDeployment {
    pub(crate) deployment_id: Option<String>,
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) application_id: Option<String>,
    pub(crate) compose_id: Option<String>,
    pub(crate) created_at: Option<String>,
    pub(crate) started_at: Option<String>,
    pub(crate) finished_at: Option<String>,
}

impl WireDeployment {
    fn status(&self) -> DeploymentStatus {
        DeploymentStatus::parse(self.status.as_deref().unwrap_or(""))
    }

    pub(crate) fn into_summary(self) -> Option<DeploymentSummary> {
        let status = self.status();
        let (service_id, category) = match (self.application_id, self.compose_id) {
            (Some(a), _) => (Some(a), Some(TargetCategory::Application)),
            (None, Some(c)) => (Some(c), Some(TargetCategory::Compose)),
            (None, None) => (None, None),
        };
        Some(DeploymentSummary {
            deployment_id: self.deployment_id?,
            title: self.title,
            status,
            service_id,
            category,
            created_at: self.created_at,
            finished_at: self.finished_at,
        })
    }

    pub(crate) fn into_model(self) -> Option<crate::model::Deployment> {
        let status = self.status();
        Some(crate::model::Deployment {
            id: self.deployment_id?,
            title: self.title,
            description: self.description,
            status,
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
        })
    }
}

/// One row of `deployment.queueList`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireQueueJob {
    pub(crate) id: Option<String>,
    pub(crate) data: WireQueueJobData,
    pub(crate) state: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireQueueJobData {
    pub(crate) application_id: Option<String>,
    pub(crate) compose_id: Option<String>,
    pub(crate) title_log: Option<String>,
}

impl WireQueueJob {
    pub(crate) fn into_model(self) -> Option<crate::model::QueuedDeploy> {
        let (service_id, category) = match (self.data.application_id, self.data.compose_id) {
            (Some(a), _) => (Some(a), Some(TargetCategory::Application)),
            (None, Some(c)) => (Some(c), Some(TargetCategory::Compose)),
            (None, None) => (None, None),
        };
        Some(crate::model::QueuedDeploy {
            job_id: self.id?,
            service_id,
            category,
            title: self.data.title_log,
            state: self.state,
        })
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WireProject {
    project_id: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WireEnvironment {
    environment_id: Option<String>,
    name: Option<String>,
    project_id: Option<String>,
    project: Option<WireProject>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WireDomain {
    domain_id: Option<String>,
    host: Option<String>,
    path: Option<String>,
    port: Option<Value>,
    https: Option<bool>,
    service_name: Option<String>,
}

/// `application.one` and `compose.one`, the columns Launchplane reads. Deliberately absent:
/// `password` (registry password), `refreshToken`, git-provider secrets, the environment's and
/// project's own `env`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireTarget {
    application_id: Option<String>,
    compose_id: Option<String>,
    name: Option<String>,
    app_name: Option<String>,
    description: Option<String>,
    docker_image: Option<String>,
    env: Option<SecretString>,
    compose_file: Option<SecretString>,
    application_status: Option<String>,
    compose_status: Option<String>,
    source_type: Option<String>,
    username: Option<String>,
    registry_url: Option<String>,
    environment_id: Option<String>,
    environment: Option<WireEnvironment>,
    domains: Option<Vec<WireDomain>>,
    server_id: Option<String>,
    /// Only its presence is recorded; see [`PasswordPresence`].
    password: PasswordPresence,
}

/// Reads the registry `password` column as a yes/no without keeping the value.
#[derive(Default)]
struct PasswordPresence(bool);

impl<'de> Deserialize<'de> for PasswordPresence {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Option::<SecretString>::deserialize(d)?;
        Ok(Self(v.is_some_and(|s| !s.is_empty())))
    }
}

impl WireTarget {
    /// `fallback_id` is the id asked for, used if the body omits it.
    pub(crate) fn into_model(self, category: TargetCategory, fallback_id: &str) -> TargetDetail {
        let id = match category {
            TargetCategory::Application => self.application_id,
            TargetCategory::Compose => self.compose_id,
        }
        .unwrap_or_else(|| fallback_id.to_owned());
        let env_ref = self.environment.as_ref();
        let environment = env_ref
            .and_then(|e| e.environment_id.clone())
            .or(self.environment_id)
            .map(|id| NamedRef {
                id,
                name: env_ref.and_then(|e| e.name.clone()),
            });
        let project_name = env_ref
            .and_then(|e| e.project.as_ref())
            .and_then(|p| p.name.clone());
        let project = env_ref
            .and_then(|e| {
                e.project
                    .as_ref()
                    .and_then(|p| p.project_id.clone())
                    .or_else(|| e.project_id.clone())
            })
            .map(|id| NamedRef {
                id,
                name: project_name,
            });
        let status = match category {
            TargetCategory::Application => self.application_status,
            TargetCategory::Compose => self.compose_status,
        };
        let domains = self
            .domains
            .unwrap_or_default()
            .into_iter()
            .filter_map(|d| {
                Some(DomainRef {
                    port: port(&d.port),
                    domain_id: d.domain_id?,
                    host: d.host?,
                    path: d.path,
                    https: d.https.unwrap_or(false),
                    service_name: d.service_name,
                })
            })
            .collect();
        TargetDetail {
            category,
            id,
            name: self.name,
            app_name: self.app_name,
            description: self.description,
            image: self.docker_image,
            env: self.env,
            domains,
            status: status.as_deref().map(ServiceStatus::parse),
            environment,
            project,
            source_type: self.source_type,
            compose_file: self.compose_file,
            registry_username: self.username,
            registry_url: self.registry_url,
            has_registry_password: self.password.0,
            server_id: self.server_id.filter(|s| !s.is_empty()),
        }
    }
}

/// `application.one` reduced to what `merge_env` needs.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct WireEnvOnly {
    pub(crate) env: Option<SecretString>,
}

/// One entry of `environment.byProjectId`. The service arrays it also carries are not read.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireProjectEnvironment {
    environment_id: Option<String>,
    name: Option<String>,
    is_default: Option<bool>,
}

impl WireProjectEnvironment {
    pub(crate) fn into_model(self) -> Option<EnvironmentSummary> {
        Some(EnvironmentSummary {
            environment_id: self.environment_id?,
            name: self.name,
            is_default: self.is_default.unwrap_or(false),
        })
    }
}

/// One entry of `docker.getContainersByAppNameMatch`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireContainer {
    container_id: Option<String>,
    name: Option<String>,
    state: Option<String>,
    status: Option<String>,
}

impl WireContainer {
    /// The container, or the name of the first field it lacks (an empty string counts as
    /// missing: Dokploy builds each entry by splitting a line of `docker ps`).
    pub(crate) fn into_model(self) -> Result<ContainerView, &'static str> {
        fn present(v: Option<String>, field: &'static str) -> Result<String, &'static str> {
            v.filter(|s| !s.trim().is_empty()).ok_or(field)
        }
        Ok(ContainerView {
            container_id: present(self.container_id, "containerId")?,
            name: present(self.name, "name")?,
            state: present(self.state, "state")?,
            status: self.status.filter(|s| !s.is_empty()),
        })
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireCreatedApplication {
    pub(crate) application_id: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireCreatedDomain {
    pub(crate) domain_id: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn application_one_as_observed() {
        let body = r#"{"applicationId":"tFl9","name":"web","appName":"app-x","env":"FOO=bar\nPORT=8080",
          "username":"robot","password":"registry-pw-123","registryUrl":"ghcr.io","dockerImage":"nginx:1.27-alpine",
          "applicationStatus":"error","sourceType":"docker","environmentId":"h-N6",
          "environment":{"environmentId":"h-N6","name":"production","env":"SHARED=1","projectId":"xu00",
             "project":{"projectId":"xu00","name":"peer","env":""}},
          "domains":[{"domainId":"d1","host":"web.example.test","https":false,"port":80,"path":"/"}],
          "deployments":[], "newColumn": {"x": 1}}"#;
        let w: WireTarget = serde_json::from_str(body).unwrap();
        let d = w.into_model(TargetCategory::Application, "ignored");
        assert_eq!(d.id, "tFl9");
        assert_eq!(d.image.as_deref(), Some("nginx:1.27-alpine"));
        assert_eq!(
            d.env.as_ref().map(SecretString::expose),
            Some("FOO=bar\nPORT=8080")
        );
        assert_eq!(d.env_keys(), ["FOO", "PORT"]);
        assert_eq!(d.hosts(), ["web.example.test"]);
        assert_eq!(d.domains[0].port, Some(80));
        assert_eq!(d.status, Some(ServiceStatus::Error));
        assert_eq!(
            d.environment,
            Some(NamedRef {
                id: "h-N6".into(),
                name: Some("production".into())
            })
        );
        assert_eq!(
            d.project,
            Some(NamedRef {
                id: "xu00".into(),
                name: Some("peer".into())
            })
        );
        assert!(d.has_registry_password);
        let dbg = format!("{d:?}");
        assert!(
            !dbg.contains("registry-pw-123") && !dbg.contains("PORT=8080"),
            "{dbg}"
        );
    }

    #[test]
    fn nulls_and_missing_fields() {
        let w: WireTarget = serde_json::from_str(r#"{"env":null,"password":null,"domains":null}"#).unwrap();
        let d = w.into_model(TargetCategory::Compose, "c1");
        assert_eq!(d.id, "c1");
        assert!(d.env.is_none() && !d.has_registry_password && d.domains.is_empty());
        assert_eq!(d.server_id, None);
    }

    #[test]
    fn a_target_on_a_remote_server_names_it() {
        let w: WireTarget = serde_json::from_str(r#"{"composeId":"c1","serverId":"srv-9"}"#).unwrap();
        let d = w.into_model(TargetCategory::Compose, "c1");
        assert_eq!(d.server_id.as_deref(), Some("srv-9"));
    }

    #[test]
    fn containers_as_dokploy_lists_them() {
        let rows: Vec<WireContainer> = serde_json::from_str(
            r#"[{"containerId":"3f2a9c1b7d4e","name":"erp-x1-odoo-1","state":"exited",
                 "status":"Exited (0) 3 seconds ago","image":"odoo:17"},
                {"containerId":"9b8a7c6d5e4f","name":"erp-x1-db-1","state":"running"}]"#,
        )
        .unwrap();
        let views: Vec<ContainerView> = rows.into_iter().map(|w| w.into_model().unwrap()).collect();
        assert_eq!(views[0].container_id, "3f2a9c1b7d4e");
        assert_eq!(views[0].status.as_deref(), Some("Exited (0) 3 seconds ago"));
        assert!(!views[0].is_running() && views[1].is_running());
        assert_eq!(views[1].status, None);
        for (body, field) in [
            (r#"{"name":"n","state":"running"}"#, "containerId"),
            (r#"{"containerId":"a","state":"running"}"#, "name"),
            (r#"{"containerId":"a","name":"n","state":""}"#, "state"),
        ] {
            let w: WireContainer = serde_json::from_str(body).unwrap();
            assert_eq!(w.into_model().unwrap_err(), field, "{body}");
        }
    }

    #[test]
    fn environments_by_project_as_observed() {
        let body = r#"[{"name":"production","description":"Production environment",
          "environmentId":"h-N6kpn3sKX9mSrjyvlUq","isDefault":true,"applications":[],"compose":[],
          "project":{"projectId":"xu00","name":"p","env":""}},
          {"name":"previews","environmentId":"e-2","isDefault":false,"applications":[]}]"#;
        let envs: Vec<WireProjectEnvironment> = serde_json::from_str(body).unwrap();
        let envs: Vec<EnvironmentSummary> = envs
            .into_iter()
            .filter_map(WireProjectEnvironment::into_model)
            .collect();
        assert_eq!(envs.len(), 2);
        assert_eq!(envs[0].environment_id, "h-N6kpn3sKX9mSrjyvlUq");
        assert_eq!(envs[0].name.as_deref(), Some("production"));
        assert!(envs[0].is_default);
        assert_eq!(envs[1].name.as_deref(), Some("previews"));
        assert!(!envs[1].is_default);
    }

    #[test]
    fn overview_rows() {
        let s: Vec<WireService> = serde_json::from_str(
            r#"[{"id":"a","type":"application","status":"done"},{"id":"p","type":"postgres"},{"type":"compose"}]"#,
        )
        .unwrap();
        let s: Vec<_> = s.into_iter().filter_map(WireService::into_model).collect();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].category, ServiceCategory::Other("postgres".into()));
        let d: WireOverviewDomain =
            serde_json::from_str(r#"{"domainId":"d","host":"h","port":443.0,"https":true}"#).unwrap();
        assert_eq!(d.into_model().unwrap().port, Some(443));
    }
}

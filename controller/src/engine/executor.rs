//! The one executor: every kind's steps against the provider, one [`Action`] at a time, and
//! the reads and probes their plans need. Secret-free errors only: provider errors are redacted
//! by the provider crate, and env values never leave this module except inside the merge
//! request itself.

use crate::observe::prober::Prober;

use jiff::Timestamp;
use launchplane_api::resources::HealthCheck;
use launchplane_api::resources::HealthCheckType;
use launchplane_api::verify::target::ObservedTarget;
pub use launchplane_core::action::{Action, ExecError, Performed};
use launchplane_core::deployment_record::DeployActivity;
use launchplane_core::health::{HealthResult, health_result, provider_result};
use launchplane_core::probe::{ProbeResult, ProbeTarget, Surfaces};
use launchplane_core::schedule::{self, ScheduleWant};
use launchplane_core::target::{TargetFacts, TargetRef};
use launchplane_providers::{
    ContainerView, Deployment, EnvironmentSummary, OrgSnapshot, Provider, ScheduleRun, ScheduleRunAnswer,
    ScheduleView, SecretString, ServiceStatus, TargetCategory, TargetDetail,
};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// A compose project's containers, as Dokploy lists them.
pub struct ComposeContainers {
    pub app_name: String,
    pub containers: Vec<ContainerView>,
}

/// Performs every kind's steps through a provider: one [`Action`] at a time, each failure one
/// [`ExecError`] (the one classification: refused or transient). The reads the plans need go
/// through it too.
#[derive(Clone)]
pub struct Executor {
    provider: Arc<dyn Provider>,
}

impl Executor {
    pub fn new(provider: Arc<dyn Provider>) -> Self {
        Executor { provider }
    }

    /// Perform `action`.
    pub async fn perform(&self, action: &Action) -> Result<Performed, ExecError> {
        let provider = self.provider.as_ref();
        match action {
            Action::SetDescription { target, description } => {
                provider
                    .set_description(target.category, &target.id, description)
                    .await?;
            }
            Action::SetImage { target, image } => provider.set_image(&target.id, image, None).await?,
            Action::MergeEnv { target, env } => {
                let change = provider
                    .merge_env(target.category, &target.id, env.clone(), BTreeSet::new())
                    .await?;
                return Ok(Performed::EnvMerged(change));
            }
            Action::Deploy {
                target,
                title,
                description,
            } => {
                provider
                    .deploy(target.category, &target.id, title, description)
                    .await?;
            }
            Action::CreateApplication {
                environment,
                name,
                description,
            } => {
                let id = provider
                    .create_application(environment, name, Some(name), Some(description))
                    .await?;
                return Ok(Performed::Created(id));
            }
            Action::CreateDomain {
                application,
                host,
                port,
                https,
            } => {
                let id = provider
                    .create_domain(application, host, *port, *https, None)
                    .await?;
                return Ok(Performed::Created(id));
            }
            Action::DeleteDomain { domain } => provider.delete_domain(domain).await?,
            Action::DeleteApplication { application } => provider.delete_application(application).await?,
        }
        Ok(Performed::Done)
    }

    /// Read the target's image, env (it stays a secret), description and source type.
    pub async fn read_target(&self, target: &TargetRef) -> Result<TargetFacts, ExecError> {
        let detail = self.provider.target_detail(target.category, &target.id).await?;
        Ok(TargetFacts::from(detail))
    }

    /// Read an application by id (`application.one`); a 404 is [`ExecError::NotFound`].
    pub async fn application(&self, id: &str) -> Result<TargetDetail, ExecError> {
        Ok(self
            .provider
            .target_detail(TargetCategory::Application, id)
            .await?)
    }

    /// The org listing: every service and domain (`overview.*`).
    pub async fn inventory(&self) -> Result<OrgSnapshot, ExecError> {
        Ok(self.provider.observe_org().await?)
    }

    /// Every environment of a project, empty ones included.
    pub async fn project_environments(&self, project: &str) -> Result<Vec<EnvironmentSummary>, ExecError> {
        Ok(self.provider.project_environments(project).await?)
    }

    /// What Dokploy shows of deploys for the target: its jobs in the deploy queue and whether
    /// a deploy of it is running. Two reads; made only when a re-send is considered.
    pub async fn deploy_activity(&self, target: &TargetRef) -> Result<DeployActivity, ExecError> {
        let queued = self
            .provider
            .deploy_queue()
            .await?
            .iter()
            .filter(|job| job.service_id.as_deref() == Some(target.id.as_str()))
            .count();
        let detail = self.provider.target_detail(target.category, &target.id).await?;
        Ok(DeployActivity {
            queued,
            running: detail.status == Some(ServiceStatus::Running),
        })
    }

    /// The schedule `want` describes, by [`schedule::choose`]: ours by a recorded id
    /// (`known`), updated by id when what it runs differs; or the one marked schedule created
    /// since our recorded `intent` (a lost `schedule.create` answer); else a new one. The caller
    /// writes its intent before calling with `intent` `None`. A marked schedule no record names
    /// is refused (a copied marker is not ownership). Returns its id and its newest run before
    /// now.
    pub async fn ensure_schedule(
        &self,
        want: &ScheduleWant,
        known: &[String],
        intent: Option<Timestamp>,
    ) -> Result<(String, Option<String>), ExecError> {
        let schedules = self.provider.compose_schedules(&want.compose_id).await?;
        let spec = want.spec();
        let ours = match schedule::choose(want, &schedules, known, intent) {
            schedule::Choice::Recorded(ours) => ours,
            schedule::Choice::Adopt(ours) => {
                tracing::info!(schedule = %ours.schedule_id, purpose = %want.purpose, "adopting the schedule our lost create made");
                ours
            }
            schedule::Choice::Create => {
                let created = self.provider.create_schedule(&spec).await?;
                tracing::info!(schedule = %created.schedule_id, purpose = %want.purpose, "created our schedule");
                return Ok((created.schedule_id, None));
            }
            schedule::Choice::Conflict(why) => return Err(ExecError::Conflict(why)),
        };
        if want.differs(ours) {
            tracing::info!(schedule = %ours.schedule_id, purpose = %want.purpose, "updating our schedule");
            self.provider.update_schedule(&ours.schedule_id, &spec).await?;
        }
        let newest = ours
            .runs
            .as_ref()
            .and_then(|runs| runs.first())
            .map(|r| r.deployment_id.clone());
        Ok((ours.schedule_id.clone(), newest))
    }

    /// The schedules of a compose (ours among them are told by their marker).
    pub async fn compose_schedules(&self, compose_id: &str) -> Result<Vec<ScheduleView>, ExecError> {
        Ok(self.provider.compose_schedules(compose_id).await?)
    }

    /// Run a schedule now, waiting up to `wait` for its answer (sent once, never retried).
    pub async fn run_schedule(
        &self,
        schedule_id: &str,
        wait: Duration,
    ) -> Result<ScheduleRunAnswer, ExecError> {
        Ok(self.provider.run_schedule(schedule_id, wait).await?)
    }

    /// The containers of a compose's project (stopped ones too), with the project's name.
    pub async fn compose_containers(&self, compose_id: &str) -> Result<ComposeContainers, ExecError> {
        let detail = self
            .provider
            .target_detail(TargetCategory::Compose, compose_id)
            .await?;
        let app_name = detail
            .app_name
            .clone()
            .ok_or_else(|| ExecError::Refused(format!("Dokploy compose {compose_id} reports no appName")))?;
        let containers = self
            .provider
            .compose_containers(&app_name, detail.server_id.as_deref())
            .await?;
        Ok(ComposeContainers { app_name, containers })
    }

    /// Stop the containers `ids` of a compose (each sent once; the first failure ends it).
    pub async fn stop_containers(&self, compose_id: &str, ids: &[String]) -> Result<(), ExecError> {
        let server = self.server_of(compose_id).await?;
        for id in ids {
            tracing::info!(container = %id, "stopping a web container");
            self.provider.stop_container(id, server.as_deref()).await?;
        }
        Ok(())
    }

    /// Start the containers `ids` of a compose again (starting a running one does nothing). A
    /// container that failed to start and is no longer listed among the compose's (a deploy
    /// recreated them meanwhile, under new ids) is gone, not stopped: it is skipped. An empty
    /// listing proves nothing (Dokploy answers `[]` when its `docker ps` fails), so then the
    /// failure stands and the start is retried. Returns the ids found gone.
    pub async fn start_containers(&self, compose_id: &str, ids: &[String]) -> Result<Vec<String>, ExecError> {
        let server = self.server_of(compose_id).await?;
        let mut gone = Vec::new();
        for id in ids {
            tracing::info!(container = %id, "starting a web container again");
            let Err(error) = self.provider.start_container(id, server.as_deref()).await else {
                continue;
            };
            let listed = self.compose_containers(compose_id).await?.containers;
            if !listed.is_empty() && !listed.iter().any(|c| c.container_id == *id) {
                tracing::info!(container = %id, "the web container is gone (recreated by a deploy); nothing to start");
                gone.push(id.clone());
                continue;
            }
            return Err(error.into());
        }
        Ok(gone)
    }

    /// The Dokploy server a compose runs on (`None`: Dokploy's own host).
    async fn server_of(&self, compose_id: &str) -> Result<Option<String>, ExecError> {
        Ok(self
            .provider
            .target_detail(TargetCategory::Compose, compose_id)
            .await?
            .server_id)
    }

    /// The last `tail` lines of a run's log (a secret: it holds the command line and output).
    pub async fn run_log(&self, deployment_id: &str, tail: u32) -> Result<SecretString, ExecError> {
        Ok(self.provider.deployment_log(deployment_id, tail).await?)
    }

    /// A schedule's runs, newest first.
    pub async fn schedule_runs(&self, schedule_id: &str) -> Result<Vec<ScheduleRun>, ExecError> {
        Ok(self.provider.schedule_runs(schedule_id).await?)
    }

    pub async fn find_deployment(
        &self,
        target: &TargetRef,
        title: &str,
    ) -> Result<Option<Deployment>, ExecError> {
        Ok(self
            .provider
            .find_deployment(target.category, &target.id, title)
            .await?)
    }
}

/// Probe the lane's identity surfaces.
pub async fn probe_identity(prober: &Prober, endpoint: &ProbeTarget) -> ProbeResult {
    prober.probe(endpoint).await
}

/// Probe a preview's URL, sending `host` as `Host` when probing through `probe_via`.
pub async fn probe_as(prober: &Prober, target: &ProbeTarget, host: Option<&str>) -> ProbeResult {
    prober.probe_as(target, host).await
}

/// Run every health check: one GET each for HTTP checks; a `provider` check is judged from
/// `sight`, what the shared poll shows of the target (no request of its own).
pub async fn run_health(
    prober: &Prober,
    checks: &[(HealthCheck, Option<String>)],
    sight: &Result<&ObservedTarget, String>,
    now: Timestamp,
) -> Vec<HealthResult> {
    let mut out = Vec::with_capacity(checks.len());
    for (check, url) in checks {
        if check.check_type == HealthCheckType::Provider {
            out.push(provider_result(check, sight.clone(), now));
            continue;
        }
        let answer = match url {
            None => None,
            Some(url) => Some(get_status(prober, url).await),
        };
        out.push(health_result(check, url.as_deref(), answer, now));
    }
    out
}

async fn get_status(prober: &Prober, url: &str) -> Result<u16, String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "not a valid URL".to_string())?;
    let origin = parsed.origin().ascii_serialization();
    let mut path = parsed.path().to_string();
    if let Some(q) = parsed.query() {
        path = format!("{path}?{q}");
    }
    let result = prober
        .probe(&ProbeTarget {
            base_url: origin,
            health_path: path,
            surfaces: Surfaces {
                health_json: false,
                header: true,
                well_known: false,
            },
        })
        .await;
    match result.health_status {
        Some(code) => Ok(code),
        None => Err(result
            .observations
            .iter()
            .find_map(|o| match o {
                launchplane_api::identity::SurfaceObservation::Unreachable { reason, .. } => {
                    Some(reason.clone())
                }
                _ => None,
            })
            .unwrap_or_else(|| "no answer".into())),
    }
}

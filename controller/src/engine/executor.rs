//! One action at a time against the provider and the app endpoints. Secret-free errors only:
//! provider errors are redacted by the provider crate, and env values never leave this module
//! except inside the merge request itself.

use crate::observe::prober::Prober;

use jiff::Timestamp;
use launchplane_api::resources::HealthCheck;
use launchplane_core::deployment_record::DeployActivity;
use launchplane_core::health::{HealthResult, health_result};
use launchplane_core::probe::{ProbeResult, ProbeTarget, Surfaces};
use launchplane_core::target::{DesiredEnv, TargetFacts, TargetRef};
use launchplane_providers::{Deployment, EnvChange, Provider, ProviderError, ServiceStatus};
use std::collections::BTreeSet;
use std::sync::Arc;
use thiserror::Error;

/// Why an action did not happen.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ExecError {
    /// The provider refused it (bad input, target gone): retrying the same action will not help,
    /// so the attempt fails.
    #[error("refused: {0}")]
    Refused(String),
    /// The provider could not be reached or was throttled: try again on the next reconcile.
    #[error("transient: {0}")]
    Transient(String),
}

impl From<ProviderError> for ExecError {
    fn from(e: ProviderError) -> Self {
        match e {
            ProviderError::BadRequest { .. }
            | ProviderError::NotFound { .. }
            | ProviderError::Conflict { .. }
            | ProviderError::InvalidInput { .. } => ExecError::Refused(e.to_string()),
            _ => ExecError::Transient(e.to_string()),
        }
    }
}

/// Performs steps through a provider and the shared prober.
#[derive(Clone)]
pub struct Executor {
    provider: Arc<dyn Provider>,
}

impl Executor {
    pub fn new(provider: Arc<dyn Provider>) -> Self {
        Executor { provider }
    }

    /// Read the target's image, env (it stays a secret), description and source type.
    pub async fn read_target(&self, target: &TargetRef) -> Result<TargetFacts, ExecError> {
        let detail = self.provider.target_detail(target.category, &target.id).await?;
        Ok(TargetFacts::from(detail))
    }

    /// Replace the application's description (to carry the lane's ownership marker).
    pub async fn set_description(&self, target: &TargetRef, description: &str) -> Result<(), ExecError> {
        if target.category != launchplane_providers::TargetCategory::Application {
            return Err(ExecError::Refused(format!(
                "{} is not a Dokploy application; only applications are marked",
                target.id
            )));
        }
        self.provider.set_description(&target.id, description).await?;
        Ok(())
    }

    pub async fn set_image(&self, target: &TargetRef, image: &str) -> Result<(), ExecError> {
        self.provider.set_image(&target.id, image, None).await?;
        Ok(())
    }

    /// Write `env` over the target's env; every other key is kept as it is.
    pub async fn merge_env(&self, target: &TargetRef, env: DesiredEnv) -> Result<EnvChange, ExecError> {
        Ok(self
            .provider
            .merge_env(target.category, &target.id, env, BTreeSet::new())
            .await?)
    }

    pub async fn deploy(&self, target: &TargetRef, title: &str, description: &str) -> Result<(), ExecError> {
        self.provider
            .deploy(target.category, &target.id, title, description)
            .await?;
        Ok(())
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

/// Run every health check: one GET each (provider checks fail closed without a request).
pub async fn run_health(
    prober: &Prober,
    checks: &[(HealthCheck, Option<String>)],
    now: Timestamp,
) -> Vec<HealthResult> {
    let mut out = Vec::with_capacity(checks.len());
    for (check, url) in checks {
        let answer = match (check.check_type, url) {
            (launchplane_api::resources::HealthCheckType::Provider, _) | (_, None) => None,
            (_, Some(url)) => Some(get_status(prober, url).await),
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

//! Standalone lanes: each Lane runs its steps (deploy, follow, verify) to completion within
//! the round, bounded; then Products and Artifacts are summarised from the lanes.
//!
//! Records the controller writes are files under `<state>/records/`; DeploymentRecord
//! manifests in the folder are evidence of deploys made elsewhere and are only verified. The
//! lane's RuntimeIdentity child is kept whole (spec and status) under
//! `<state>/lane-identities/`.

use super::{Engine, key_of, summary};
use crate::deploy::driver::{DriveLimits, LaneWorld, PolledFacts, drive};
use crate::deploy::executor::Executor;
use crate::deploy::store::FileRecordStore;
use crate::standalone::inputs::Inputs;
use crate::standalone::report::Row;
use jiff::Timestamp;
use launchplane_api::conditions::SystemClock;
use launchplane_api::resources::{
    ArtifactStatus, Lane, LaneStatus, ProductStatus, ProviderTarget, RuntimeIdentity,
};
use launchplane_core::deployment_record::DeploySettings;
use launchplane_core::target::DesiredEnv;
use launchplane_core::{artifact, product};
use launchplane_providers::SecretString;
use std::time::Duration;

/// Deploy timings for standalone mode: a quicker poll than in the cluster, since `--once`
/// waits in-process for the deploy to finish.
pub(super) fn standalone_deploy_settings() -> DeploySettings {
    DeploySettings {
        poll_delay: Duration::from_millis(500),
        ..DeploySettings::default()
    }
}

/// The kind under which a lane's RuntimeIdentity child is kept in the state folder.
const LANE_IDENTITY: &str = "lane-identities";

/// The lane's env from the folder: ConfigMaps, then Secrets, then literal values (later wins).
/// A missing reference is named; values are never part of the message.
pub fn resolve_env(lane: &Lane, inputs: &Inputs) -> Result<DesiredEnv, String> {
    let mut env = DesiredEnv::new();
    let namespace = &lane.metadata.namespace;
    for r in &lane.spec.env.config_map_refs {
        let key = key_of(namespace, &Some(r.name.clone()));
        let data = inputs.config_maps.get(&key).ok_or_else(|| {
            format!(
                "spec.env.configMapRefs: ConfigMap {key} is not in the folder; add it or remove the reference"
            )
        })?;
        env.extend(
            data.iter()
                .map(|(k, v)| (k.clone(), SecretString::new(v.clone()))),
        );
    }
    for r in &lane.spec.env.secret_refs {
        let key = key_of(namespace, &Some(r.name.clone()));
        let data = inputs.secrets.get(&key).ok_or_else(|| {
            format!("spec.env.secretRefs: Secret {key} is not in the folder; add it or remove the reference")
        })?;
        env.extend(
            data.iter()
                .map(|(k, v)| (k.clone(), SecretString::new(v.clone()))),
        );
    }
    env.extend(
        lane.spec
            .env
            .values
            .iter()
            .map(|v| (v.name.clone(), SecretString::new(v.value.clone()))),
    );
    Ok(env)
}

/// A lane's spec as last seen and the generation it was given (manifests in a folder carry no
/// `metadata.generation`). The spec holds references and literal, non-secret values only.
#[derive(serde::Serialize, serde::Deserialize)]
struct SeenSpec {
    generation: i64,
    spec: launchplane_api::resources::LaneSpec,
}

impl Engine {
    /// The lane's generation, counted like the API server does: one more on each spec edit.
    fn lane_generation(&self, lane: &Lane) -> i64 {
        let seen: Option<SeenSpec> =
            self.load(&lane.metadata.namespace, &lane.metadata.name, "lane-generations");
        match seen {
            Some(s) if s.spec == lane.spec => s.generation,
            other => {
                let generation = other.map_or(1, |s| s.generation + 1);
                let spec = lane.spec.clone();
                self.save("lane-generations", &lane.metadata, &SeenSpec { generation, spec });
                generation
            }
        }
    }

    /// Run every lane, then summarise products and artifacts. `targets` carry this round's
    /// statuses.
    pub(super) async fn lanes(
        &mut self,
        inputs: &Inputs,
        targets: &[ProviderTarget],
        now: Timestamp,
    ) -> Vec<Row> {
        let mut rows = Vec::new();
        let store = FileRecordStore::new(self.state.clone(), inputs.records.clone());
        let mut done: Vec<Lane> = Vec::new();
        for lane in &inputs.lanes {
            let mut lane = lane.clone();
            lane.status = self.load::<LaneStatus>(&lane.metadata.namespace, &lane.metadata.name, "Lane");
            lane.metadata.generation = Some(self.lane_generation(&lane));
            let namespace = lane.metadata.namespace.clone();
            let same = |ns: &Option<String>, name: &Option<String>, wanted: &str| {
                *ns == namespace && name.as_deref() == Some(wanted)
            };
            let product = inputs.products.iter().find(|p| {
                same(
                    &p.metadata.namespace,
                    &p.metadata.name,
                    &lane.spec.product_ref.name,
                )
            });
            let target = targets.iter().find(|t| {
                same(
                    &t.metadata.namespace,
                    &t.metadata.name,
                    &lane.spec.target_ref.name,
                )
            });
            let artifact = lane.spec.artifact_ref.as_ref().and_then(|r| {
                inputs
                    .artifacts
                    .iter()
                    .find(|a| same(&a.metadata.namespace, &a.metadata.name, &r.name))
            });
            let slot = target.and_then(|t| {
                let config = key_of(
                    &t.metadata.namespace,
                    &Some(t.spec.provider_config_ref.name.clone()),
                );
                self.providers.get(&config)
            });
            let executor = slot.map(|slot| Executor::new(slot.provider.clone()));
            // This round's poll of the config read the tracked targets: lanes reuse it.
            let polled = slot.map(|slot| PolledFacts {
                facts: slot.poller.facts(),
                max_age: slot.poller.settings().detail_interval,
            });
            let identity: Option<RuntimeIdentity> = self.load(&namespace, &lane.metadata.name, LANE_IDENTITY);
            let world = LaneWorld {
                lane: &lane,
                lane_key: lane.metadata.name.clone().unwrap_or_default(),
                product,
                target,
                artifact,
                desired_env: resolve_env(&lane, inputs),
                identity,
                polled,
                instance: &self.instance,
                rivals: launchplane_core::lane::rival_lanes(&lane, &inputs.lanes),
            };
            // The lane's waits end with the round: what is left continues next round.
            let limits = DriveLimits {
                deadline: self.limits.deadline.min(self.round_left()),
                ..self.limits
            };
            let report = drive(
                &world,
                executor.as_ref(),
                &self.prober,
                &store,
                &self.deploy,
                limits,
                &SystemClock,
            )
            .await;
            let status = report.plan.outcome.status.clone();
            if let Some(child) = &report.plan.identity {
                self.save(LANE_IDENTITY, &lane.metadata, child);
            }
            self.save("Lane", &lane.metadata, &status);
            let (reason, mut message) = summary(&status.conditions, status.verdict);
            if let Some(e) = &report.error {
                message = format!("{message} (last step: {e}; retried next round)");
            }
            rows.push(self.row("Lane", &lane.metadata, status.verdict, reason, message, true));
            lane.status = Some(status);
            done.push(lane);
        }

        for p in &inputs.products {
            let mut p = p.clone();
            p.status = self.load::<ProductStatus>(&p.metadata.namespace, &p.metadata.name, "Product");
            let status = product::reconcile(&p, &done, None, now).status;
            let (reason, message) = summary(&status.conditions, status.verdict);
            rows.push(self.row("Product", &p.metadata, status.verdict, reason, message, true));
            self.save("Product", &p.metadata, &status);
        }
        for a in &inputs.artifacts {
            let mut a = a.clone();
            a.status = self.load::<ArtifactStatus>(&a.metadata.namespace, &a.metadata.name, "Artifact");
            let status = artifact::reconcile(&a, &done, now).status;
            let (reason, message) = summary(&status.conditions, status.verdict);
            rows.push(self.row("Artifact", &a.metadata, status.verdict, reason, message, true));
            self.save("Artifact", &a.metadata, &status);
        }
        rows
    }
}

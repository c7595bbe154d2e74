//! The ProviderTarget controller: verify one target against its config's shared snapshot.
//! No Dokploy call is made here; the ProviderConfig controller polls and then asks for these
//! reconciles.

use super::common::{namespace_and_name, write_status_if_changed};
use super::context::Context;
use super::error::Result;
use super::events::publish_transition;
use super::provider_config::ready_message;
use crate::error_policy::jittered;
use jiff::Timestamp;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};
use launchplane_api::conditions::{self, Aspect, Progress, types};
use launchplane_api::resources::{ProviderConfig, ProviderTarget, ProviderTargetStatus};
use launchplane_api::verdict::Verdict;
use launchplane_core::Outcome;
use launchplane_core::provider_target::reconcile as compute;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const KIND: &str = "ProviderTarget";

/// How often a target whose config is missing looks again (the config's creation also
/// triggers it at once).
const CONFIG_MISSING_RECHECK: Duration = Duration::from_secs(300);

/// Reconcile one ProviderTarget.
#[tracing::instrument(skip_all, fields(kind = KIND, name = %target.name_any(), namespace = target.namespace().unwrap_or_default()))]
pub async fn reconcile(target: Arc<ProviderTarget>, ctx: Arc<Context>) -> Result<Action> {
    let started = Instant::now();
    let (namespace, name) = namespace_and_name(target.as_ref(), KIND)?;
    let config_name = &target.spec.provider_config_ref.name;
    let config_key = format!("{namespace}/{config_name}");
    let now = ctx.now();

    // Before the ProviderConfig store has listed once, every config would look missing.
    ctx.configs.synced().await;
    let config = ctx
        .configs
        .get(&ObjectRef::<ProviderConfig>::new(config_name).within(&namespace));
    let (outcome, requeue) = match (config, ctx.registry.view(&config_key)) {
        (None, _) => (
            config_unavailable(&target, ConfigState::NotFound(config_name), now),
            CONFIG_MISSING_RECHECK,
        ),
        (Some(config), None) => {
            let interval =
                Duration::from_secs(u64::try_from(config.spec.poll_interval_seconds.max(1)).unwrap_or(60));
            (
                config_unavailable(&target, ConfigState::NotReady(config_name), now),
                interval,
            )
        }
        (Some(_), Some(view)) => {
            let window = view.snapshot.window(&view.settings);
            let claims = view.claims.claims_for(&target);
            let interval = view.settings.poll_interval.unsigned_abs();
            (compute(&target, &window, &claims, now), jittered(interval))
        }
    };

    let api: Api<ProviderTarget> = Api::namespaced(ctx.client.clone(), &namespace);
    let old = target.status.as_ref();
    write_status_if_changed(&api, KIND, &namespace, &name, old, &outcome.status).await?;
    if let Some(verdict) = outcome.status.verdict {
        let message = outcome
            .status
            .message
            .clone()
            .unwrap_or_else(|| ready_message(&outcome.status.conditions));
        publish_transition(
            &ctx.recorder,
            target.as_ref(),
            old.and_then(|s| s.verdict),
            verdict,
            &message,
        )
        .await;
    }
    ctx.metrics.reconciled(KIND, started.elapsed());
    ctx.failures
        .succeeded(&super::common::failure_key(target.as_ref(), KIND));
    Ok(Action::requeue(requeue.max(Duration::from_secs(1))))
}

/// Why there is no snapshot to verify against.
#[derive(Clone, Copy, Debug)]
pub enum ConfigState<'a> {
    /// No ProviderConfig of that name in the target's namespace: the user must fix the ref.
    NotFound(&'a str),
    /// The config exists but has no working client yet (first poll pending, or its API key
    /// cannot be read; its own status says which).
    NotReady(&'a str),
}

/// The status of a target that cannot be verified because its config is unavailable. Facts
/// observed earlier are kept: they are the last known truth, and lastObservedTime dates them.
pub fn config_unavailable(
    target: &ProviderTarget,
    state: ConfigState<'_>,
    now: Timestamp,
) -> Outcome<ProviderTargetStatus> {
    let old = target.status.clone().unwrap_or_default();
    let namespace = target.namespace().unwrap_or_default();
    let (reason, message, progress) = match state {
        ConfigState::NotFound(name) => {
            let message = format!(
                "ProviderConfig {namespace}/{name} does not exist; create it or fix spec.providerConfigRef"
            );
            let progress = Progress::Stalled {
                reason: "ProviderConfigNotFound".into(),
                message: message.clone(),
            };
            ("ProviderConfigNotFound", message, progress)
        }
        ConfigState::NotReady(name) => {
            let message =
                format!("ProviderConfig {namespace}/{name} has not observed Dokploy yet; see its status");
            let progress = Progress::Reconciling {
                reason: "ProviderConfigNotReady".into(),
                message: message.clone(),
            };
            ("ProviderConfigNotReady", message, progress)
        }
    };
    let aspects = [Aspect::required(
        types::TARGET_VERIFIED,
        Verdict::Unverifiable,
        message.clone(),
    )];
    let computed = conditions::compute(
        &old.conditions,
        &aspects,
        &progress,
        target.metadata.generation,
        now,
    );
    Outcome {
        status: ProviderTargetStatus {
            observed_generation: target.metadata.generation,
            verdict: Some(computed.verdict),
            reason: Some(reason.to_string()),
            message: Some(message),
            conditions: computed.conditions,
            bound_target_id: old.bound_target_id,
            observed: old.observed,
            mismatches: Vec::new(),
            last_observed_time: old.last_observed_time,
            first_absent_time: old.first_absent_time,
        },
        transitions: computed.transitions,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use launchplane_api::resources::ProviderTargetSpec;

    fn target() -> ProviderTarget {
        let mut t = ProviderTarget::new("shop", ProviderTargetSpec::default());
        t.metadata.namespace = Some("ns".into());
        t.spec.provider_config_ref.name = "main".into();
        t
    }

    #[test]
    fn a_missing_config_stalls_the_target_and_names_the_config() {
        let out = config_unavailable(&target(), ConfigState::NotFound("main"), Timestamp::UNIX_EPOCH);
        assert_eq!(out.status.verdict, Some(Verdict::Unverifiable));
        assert_eq!(out.status.reason.as_deref(), Some("ProviderConfigNotFound"));
        let stalled = conditions::find(&out.status.conditions, types::STALLED).unwrap();
        assert_eq!(stalled.status, "True");
        assert!(stalled.message.contains("ProviderConfig ns/main"));
    }

    #[test]
    fn a_config_not_ready_is_progress_not_a_stall() {
        let out = config_unavailable(&target(), ConfigState::NotReady("main"), Timestamp::UNIX_EPOCH);
        let stalled = conditions::find(&out.status.conditions, types::STALLED).unwrap();
        assert_eq!(stalled.status, "False");
        let reconciling = conditions::find(&out.status.conditions, types::RECONCILING).unwrap();
        assert_eq!(reconciling.status, "True");
    }
}

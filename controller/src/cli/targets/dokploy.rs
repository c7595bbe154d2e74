//! Reading a whole Dokploy estate once: the org-wide listing, the detail of every application
//! and compose service it shows, then the listing again. The controller's poller reads details
//! only for tracked targets and keeps going past a failed one; an audit needs every
//! description (ownership markers live there), so here any failed call ends the reading and
//! no answer is given from what was read.

use crate::observe::poller::into_observed_targets;
use jiff::Timestamp;
use launchplane_api::verify::target::ObservedTarget;
use launchplane_core::adoption::{OtherService, Reading};
use launchplane_core::observation::{ListedAs, ReadFacts, SharedFacts, Snapshot};
use launchplane_core::target::TargetFacts;
use launchplane_providers::{
    OrgSnapshot, Provider, ProviderError, ServiceCategory, TargetCategory, env_merge,
};
use std::sync::Arc;
use thiserror::Error;

/// Why Dokploy could not be read whole. Secret-free: provider errors never carry a key.
#[derive(Debug, Error)]
pub enum ReadError {
    #[error("listing its services: {0}")]
    Listing(ProviderError),
    #[error("{category} {id} was listed but is gone now; run it again")]
    Vanished { category: TargetCategory, id: String },
    #[error("reading {category} {id}: {error}")]
    Detail {
        category: TargetCategory,
        id: String,
        error: ProviderError,
    },
}

/// Listing, every detail, listing again.
pub async fn read(provider: &dyn Provider) -> Result<Reading, ReadError> {
    let first_org = provider.observe_org().await.map_err(ReadError::Listing)?;
    let first_at = Timestamp::now();
    let mut first = into_observed_targets(first_org);
    let mut facts = SharedFacts::default();
    for target in &first {
        let category = category(target);
        let detail = match provider.target_detail(category, &target.id).await {
            Ok(detail) => detail,
            Err(ProviderError::NotFound { .. }) => {
                return Err(ReadError::Vanished {
                    category,
                    id: target.id.clone(),
                });
            }
            Err(error) => {
                return Err(ReadError::Detail {
                    category,
                    id: target.id.clone(),
                    error,
                });
            }
        };
        facts.record(
            (category, target.id.clone()),
            Some(ReadFacts {
                facts: Arc::new(TargetFacts::from(detail)),
                read_at: Timestamp::now(),
                listed: ListedAs {
                    name: target.name.clone(),
                    last_deploy_at: target.last_deploy_at.clone(),
                },
            }),
        );
    }
    let second_org = provider.observe_org().await.map_err(ReadError::Listing)?;
    let second_at = Timestamp::now();
    let others = others(&second_org);
    let mut second = into_observed_targets(second_org);
    with_details(&mut first, &facts);
    with_details(&mut second, &facts);
    Ok(Reading {
        first: snapshot(first, first_at),
        second: snapshot(second, second_at),
        facts,
        others,
    })
}

fn snapshot(targets: Vec<ObservedTarget>, at: Timestamp) -> Snapshot {
    Snapshot {
        targets: Some(Arc::new(targets)),
        observed_at: Some(at),
        last_poll_at: Some(at),
        ..Snapshot::default()
    }
}

fn category(target: &ObservedTarget) -> TargetCategory {
    if target.category == TargetCategory::Compose.as_str() {
        TargetCategory::Compose
    } else {
        TargetCategory::Application
    }
}

/// The detail fields a ProviderTarget compares (type), and those the JSON shows, as the
/// poller fills them for tracked targets.
fn with_details(targets: &mut [ObservedTarget], facts: &SharedFacts) {
    for target in targets {
        let Some(read) = facts.get(category(target), &target.id) else {
            continue;
        };
        target.target_type = read.facts.source_type.clone();
        target.image = read.facts.image.clone();
        target.env_keys = Some(env_merge::keys(read.facts.env.expose()).into_iter().collect());
    }
}

/// The listed services that cannot be ProviderTargets (databases).
fn others(org: &OrgSnapshot) -> Vec<OtherService> {
    org.services
        .iter()
        .filter_map(|s| match &s.category {
            ServiceCategory::Other(kind) => Some(OtherService {
                id: s.id.clone(),
                kind: kind.clone(),
                name: s.name.clone().unwrap_or_default(),
                project: s.project_name.clone(),
                environment: s.environment_name.clone(),
            }),
            _ => None,
        })
        .collect()
}

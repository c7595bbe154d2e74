//! Where a DataBootstrap's commands run: the lane's compose, only when it is a Manage, Matched
//! compose carrying the lane's ownership marker (a name is never proof), and the schedules it
//! runs them as. Both commands run as schedules marked with the DataBootstrap as their owner,
//! one per command and DataBootstrap, so that each schedule's history holds its run alone: a
//! lost answer is settled by "the run since it was sent", which on the lane's shared
//! post-deploy schedule could be a deploy's run. The post-deploy command is the lane's
//! ([`crate::lane::post_deploy::want`]).

use crate::lane::{self, lane_owner, post_deploy};
use crate::schedule::ScheduleWant;
use launchplane_api::ownership::{Owner, Ownership, ownership};
use launchplane_api::resources::{DataBootstrap, Driver, Lane, ManagementPolicy, Product, ProviderTarget};
use launchplane_api::verdict::Verdict;
use launchplane_providers::TargetCategory;

/// The purpose the bootstrap schedule's description names.
pub const PURPOSE: &str = "data-bootstrap";
/// The purpose of the bootstrap's own post-deploy schedule.
pub const POST_DEPLOY_PURPOSE: &str = "data-bootstrap-post-deploy";

/// The kind a bootstrap schedule's marker names.
pub const KIND: &str = "DataBootstrap";

/// What a bootstrap runs, on which compose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedules {
    pub compose_id: String,
    /// The bootstrap command's schedule (owned by the DataBootstrap).
    pub bootstrap: ScheduleWant,
    /// The bootstrap's post-deploy schedule (the lane's command); None: the lane names no
    /// post-deploy command.
    pub post_deploy: Option<ScheduleWant>,
}

/// The owner a bootstrap schedule's marker names.
pub fn owner(b: &DataBootstrap, instance: &str) -> Owner {
    Owner::new(
        instance,
        b.metadata.namespace.as_deref().unwrap_or("default"),
        KIND,
        b.metadata.name.as_deref().unwrap_or_default(),
        b.metadata.uid.as_deref(),
    )
}

/// The compose id of the lane's target, when the target may be run on: the checks that need no
/// Dokploy read. Err: why nothing runs, naming what a person should change.
pub fn compose_of(
    lane: &Lane,
    product: Option<&Product>,
    target: Option<&ProviderTarget>,
) -> Result<String, String> {
    let lane_name = lane.metadata.name.as_deref().unwrap_or_default();
    let product = product.ok_or_else(|| {
        format!(
            "Lane {lane_name}'s Product {} not found",
            lane.spec.product_ref.name
        )
    })?;
    if product.spec.driver != Driver::Odoo {
        return Err(format!(
            "a DataBootstrap runs the Odoo driver's commands; Lane {lane_name}'s Product {} is not an odoo product",
            lane.spec.product_ref.name
        ));
    }
    let target = target.ok_or_else(|| {
        format!(
            "Lane {lane_name}'s ProviderTarget {} not found",
            lane.spec.target_ref.name
        )
    })?;
    let name = target.metadata.name.clone().unwrap_or_default();
    if target.spec.target_category != launchplane_api::resources::TargetCategory::Compose {
        return Err(format!(
            "ProviderTarget {name} is not a compose; a DataBootstrap runs only on an Odoo compose lane"
        ));
    }
    if target.spec.management_policy != ManagementPolicy::Manage {
        return Err(format!(
            "ProviderTarget {name} has managementPolicy Observe; nothing is run on it"
        ));
    }
    if target.status.as_ref().and_then(|s| s.verdict) != Some(Verdict::Matched) {
        return Err(format!(
            "ProviderTarget {name} is not Matched; nothing is run on it"
        ));
    }
    lane::target_ref(target)
        .map(|t| t.id)
        .ok_or_else(|| format!("ProviderTarget {name} is not bound to a Dokploy compose yet"))
}

/// The schedules a bootstrap runs on its lane's compose, once the compose's `description` was
/// read fresh. `command` is the admitted bootstrap command.
pub fn schedules(
    b: &DataBootstrap,
    lane: &Lane,
    product: Option<&Product>,
    target: Option<&ProviderTarget>,
    description: Result<Option<&str>, &str>,
    command: &str,
    instance: &str,
) -> Result<Schedules, String> {
    let compose_id = compose_of(lane, product, target)?;
    let lane_name = lane.metadata.name.as_deref().unwrap_or_default();
    let description = description.map_err(|e| format!("the compose could not be read: {e}"))?;
    if ownership(description, &lane_owner(lane, instance)) != Ownership::Ours {
        return Err(format!(
            "Dokploy compose {compose_id} does not carry Lane {lane_name}'s ownership marker (the lane marks it on \
             its first deploy); Launchplane runs nothing on a compose that is not its lane's: deploy the lane first"
        ));
    }
    let odoo = product.and_then(|p| p.spec.odoo.clone()).unwrap_or_default();
    let post_deploy = post_deploy_want(b, lane, product, &compose_id, instance);
    Ok(Schedules {
        bootstrap: ScheduleWant {
            compose_id: compose_id.clone(),
            service: odoo.web_service,
            purpose: PURPOSE.into(),
            owner: owner(b, instance),
            command: command.to_string(),
        },
        post_deploy,
        compose_id,
    })
}

/// The bootstrap's own post-deploy schedule on `compose_id`: the lane's post-deploy command,
/// marked with the DataBootstrap. None: the lane names no post-deploy command.
pub fn post_deploy_want(
    b: &DataBootstrap,
    lane: &Lane,
    product: Option<&Product>,
    compose_id: &str,
    instance: &str,
) -> Option<ScheduleWant> {
    let lanes = post_deploy::want(lane, product, TargetCategory::Compose, compose_id, instance)?;
    Some(ScheduleWant {
        purpose: POST_DEPLOY_PURPOSE.into(),
        owner: owner(b, instance),
        ..lanes
    })
}

/// The bootstrap command: the DataBootstrap's, else its Product's.
pub fn command<'a>(b: &'a DataBootstrap, product: Option<&'a Product>) -> Option<&'a str> {
    b.spec.command.as_deref().or_else(|| product_command(product))
}

/// The Product's bootstrap command (`spec.odoo.bootstrap.command`).
pub fn product_command(product: Option<&Product>) -> Option<&str> {
    product
        .and_then(|p| p.spec.odoo.as_ref())
        .and_then(|o| o.bootstrap.as_ref())
        .map(|c| c.command.as_str())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use launchplane_api::resources::{
        BootstrapCommand, DataBootstrapSpec, LaneSpec, OdooSpec, ProductSpec, ProviderTargetSpec,
        ProviderTargetStatus,
    };

    fn world() -> (DataBootstrap, Lane, Product, ProviderTarget) {
        let mut b = DataBootstrap::new("boot", DataBootstrapSpec::default());
        b.metadata.namespace = Some("shop".into());
        b.spec.lane_ref.name = "prod".into();
        let mut lane = Lane::new("prod", LaneSpec::default());
        lane.metadata.namespace = Some("shop".into());
        let product = Product::new(
            "erp",
            ProductSpec {
                driver: Driver::Odoo,
                odoo: Some(OdooSpec {
                    bootstrap: Some(BootstrapCommand {
                        command: "odoo-restore".into(),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        let mut target = ProviderTarget::new(
            "prod",
            ProviderTargetSpec {
                target_category: launchplane_api::resources::TargetCategory::Compose,
                management_policy: ManagementPolicy::Manage,
                ..Default::default()
            },
        );
        target.status = Some(ProviderTargetStatus {
            verdict: Some(Verdict::Matched),
            ..Default::default()
        });
        (b, lane, product, target)
    }

    /// Nothing runs on a compose that is not Matched, or that is observed only; the message
    /// names the target.
    #[test]
    fn only_a_managed_matched_compose_is_run_on() {
        let (_, lane, product, mut target) = world();
        target.status = None;
        let err = compose_of(&lane, Some(&product), Some(&target)).unwrap_err();
        assert!(err.contains("ProviderTarget prod is not Matched"), "{err}");
        target.spec.management_policy = ManagementPolicy::Observe;
        let err = compose_of(&lane, Some(&product), Some(&target)).unwrap_err();
        assert!(err.contains("managementPolicy Observe"), "{err}");
    }

    /// A compose without the lane's marker is refused even when everything else fits: a name
    /// is never proof.
    #[test]
    fn a_compose_without_the_lanes_marker_is_refused() {
        let (b, lane, product, target) = world();
        let err = schedules(
            &b,
            &lane,
            Some(&product),
            Some(&target),
            Ok(Some("shop prod")),
            "x",
            "i",
        )
        .unwrap_err();
        assert!(err.contains("not bound") || err.contains("marker"), "{err}");
    }

    /// The spec's command wins over the Product's; the Product's is used otherwise.
    #[test]
    fn the_command_is_the_spec_s_else_the_product_s() {
        let (mut b, _, product, _) = world();
        assert_eq!(command(&b, Some(&product)), Some("odoo-restore"));
        b.spec.command = Some("own".into());
        assert_eq!(command(&b, Some(&product)), Some("own"));
        assert_eq!(command(&b, None), Some("own"));
    }
}

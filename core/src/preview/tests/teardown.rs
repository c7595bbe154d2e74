//! The teardown's and the sweep's deletes: only recorded ids whose marker, read fresh, is this
//! Preview's (teardown) or this instance's orphan's (sweep).

use crate::action::ExecError;
use crate::preview::*;
use crate::probe::ProbeResult;
use launchplane_api::identity::{RuntimeIdentityPayload, Surface, SurfaceObservation};
use launchplane_api::ownership::Owner;
use launchplane_providers::{
    DomainSummary, OrgSnapshot, SecretString, ServiceCategory, ServiceSummary, TargetCategory, TargetDetail,
};
use std::collections::BTreeSet;
use std::time::Duration;

const APP: &str = "app-1";
const HOST: &str = "pr-42.preview.shop.test";

fn owner() -> Owner {
    Owner::new("test", "shop", "Preview", "shop-pr-42", Some("uid-42"))
}

fn target() -> TeardownTarget {
    TeardownTarget {
        target_id: Some(APP.into()),
        owner: owner(),
        host: Some(HOST.into()),
        url: Some(format!("https://{HOST}")),
        preview_id: Some("shop-pr-42".into()),
        health_path: "/healthz".into(),
    }
}

fn service(id: &str) -> ServiceSummary {
    ServiceSummary {
        id: id.into(),
        category: ServiceCategory::Application,
        name: Some("shop-pr-42".into()),
        app_name: None,
        status: None,
        last_deploy_at: None,
        created_at: None,
        project_id: None,
        project_name: None,
        environment_id: Some("env-prev".into()),
        environment_name: None,
        server_id: None,
    }
}

fn domain(id: &str, host: &str, owner: &str) -> DomainSummary {
    DomainSummary {
        domain_id: id.into(),
        host: host.into(),
        path: None,
        port: Some(8080),
        https: true,
        certificate_type: None,
        enabled: None,
        domain_type: None,
        service_owner_id: Some(owner.into()),
        service_owner_type: None,
        service_name: None,
        project_id: None,
        environment_id: None,
        environment_name: None,
    }
}

fn listing(apps: &[&str], domains: Vec<DomainSummary>) -> OrgSnapshot {
    OrgSnapshot {
        services: apps.iter().map(|a| service(a)).collect(),
        domains,
        deployments: Vec::new(),
    }
}

fn marked(description: Option<String>) -> TargetDetail {
    TargetDetail {
        category: TargetCategory::Application,
        id: APP.into(),
        name: Some("shop-pr-42".into()),
        app_name: None,
        description,
        image: None,
        env: Some(SecretString::new("")),
        domains: Vec::new(),
        status: None,
        environment: None,
        project: None,
        source_type: None,
        compose_file: None,
        registry_username: None,
        registry_url: None,
        has_registry_password: false,
        server_id: None,
    }
}

fn observed(
    inventory: OrgSnapshot,
    application: Option<Result<TargetDetail, ExecError>>,
) -> TeardownObservation {
    TeardownObservation {
        inventory: Ok(inventory),
        application,
        probe: None,
    }
}

#[test]
fn teardown_deletes_the_domains_then_the_application_then_confirms() {
    let t = target();
    let settings = PreviewSettings::default();
    let mut progress = TeardownProgress::default();
    let needs = teardown_needs(&t, &progress, &settings);
    assert_eq!(
        (needs.application.as_deref(), needs.probe.clone()),
        (Some(APP), None)
    );

    let domains = vec![domain("d1", HOST, APP), domain("d9", "other.test", "app-9")];
    let ours = Some(Ok(marked(Some(owner().describe("preview")))));
    let next = plan_teardown(&t, &observed(listing(&[APP], domains), ours), &mut progress);
    let step = PreviewStep::DeleteDomain {
        domain: "d1".into(),
        host: HOST.into(),
    };
    assert_eq!(next, TeardownNext::Step(step.clone()));
    assert!(progress.ours);
    progress.performed(&step);
    // Once ours, the marker is not read again; the next delete is the application.
    assert_eq!(teardown_needs(&t, &progress, &settings).application, None);
    let next = plan_teardown(&t, &observed(listing(&[APP], vec![]), None), &mut progress);
    let step = PreviewStep::DeleteApplication {
        application: APP.into(),
    };
    assert_eq!(next, TeardownNext::Step(step.clone()));
    progress.performed(&step);
    assert!(
        teardown_needs(&t, &progress, &settings).probe.is_some(),
        "confirmed at its URL"
    );

    // Confirmation: still listed, its host still listed, still serving; else done.
    let confirm = |inventory: OrgSnapshot, probe: Option<ProbeResult>| {
        let observation = TeardownObservation {
            inventory: Ok(inventory),
            application: None,
            probe,
        };
        plan_teardown(&t, &observation, &mut progress.clone())
    };
    assert_eq!(
        confirm(listing(&[APP], vec![]), None),
        TeardownNext::Failed(TeardownError::StillListed(APP.into()))
    );
    assert_eq!(
        confirm(listing(&[], vec![domain("d1", HOST, APP)]), None),
        TeardownNext::Failed(TeardownError::DomainStillListed(HOST.into()))
    );
    let serving = ProbeResult {
        health_status: Some(200),
        observations: vec![SurfaceObservation::Found {
            surface: Surface::HealthBody,
            payload: RuntimeIdentityPayload {
                preview_id: Some("shop-pr-42".into()),
                ..Default::default()
            },
        }],
        elapsed: Duration::from_millis(1),
    };
    assert!(matches!(
        confirm(listing(&[], vec![]), Some(serving)),
        TeardownNext::Failed(TeardownError::StillServing { .. })
    ));
    assert_eq!(confirm(listing(&[], vec![]), None), TeardownNext::Done);
    assert_eq!(progress.report.application.as_deref(), Some(APP));
    assert_eq!(progress.report.domains, vec![HOST.to_string()]);
}

#[test]
fn teardown_deletes_nothing_that_is_not_recorded_and_ours() {
    let t = target();
    // Not ours: left alone, and said whose it is.
    let mut progress = TeardownProgress::default();
    let theirs = Owner::new("cluster-b", "shop", "Preview", "shop-pr-42", Some("x"));
    let next = plan_teardown(
        &t,
        &observed(
            listing(&[APP], vec![]),
            Some(Ok(marked(Some(theirs.describe("x"))))),
        ),
        &mut progress,
    );
    assert_eq!(next, TeardownNext::Done);
    assert!(progress.report.left_alone.unwrap().contains("cluster-b"));

    // Already gone (404), or nothing recorded: nothing deleted, nothing to confirm.
    let mut progress = TeardownProgress::default();
    let gone = Some(Err(ExecError::NotFound("application.one: not found".into())));
    assert_eq!(
        plan_teardown(&t, &observed(listing(&[], vec![]), gone), &mut progress),
        TeardownNext::Done
    );
    let unrecorded = TeardownTarget {
        target_id: None,
        ..target()
    };
    assert_eq!(
        plan_teardown(
            &unrecorded,
            &observed(listing(&[APP], vec![]), None),
            &mut progress
        ),
        TeardownNext::Done
    );
    assert_eq!(progress.report, TeardownReport::default());

    // An unreadable marker or inventory is no licence to delete.
    let unreadable = Some(Err(ExecError::Transient(
        "application.one: server error 500".into(),
    )));
    assert!(matches!(
        plan_teardown(
            &t,
            &observed(listing(&[APP], vec![]), unreadable),
            &mut TeardownProgress::default()
        ),
        TeardownNext::Failed(TeardownError::OwnershipUnknown { .. })
    ));
    let no_inventory = TeardownObservation {
        inventory: Err(ExecError::Transient("overview.services: 500".into())),
        application: None,
        probe: None,
    };
    assert!(matches!(
        plan_teardown(&t, &no_inventory, &mut TeardownProgress::default()),
        TeardownNext::Failed(TeardownError::Inventory(_))
    ));
    // A failed delete names what it was deleting.
    let failed = teardown_failed(
        &PreviewStep::DeleteApplication {
            application: APP.into(),
        },
        &ExecError::Transient("application.delete: server error 500".into()),
    );
    assert!(failed.to_string().contains(APP), "{failed}");
}

#[test]
fn the_sweep_deletes_only_this_instances_orphans_by_their_fresh_marker() {
    let live_owner = Owner::new("test", "shop", "Preview", "shop-pr-11", Some("u11"));
    let live = BTreeSet::from([live_owner.clone()]);
    let verdict = |owner: Option<Owner>| {
        let description = owner.map(|o| o.describe("seeded"));
        sweep_verdict(description.as_deref(), "test", "shop", &live)
    };
    assert_eq!(
        verdict(Some(Owner::new(
            "test",
            "shop",
            "Preview",
            "shop-pr-7",
            Some("gone")
        ))),
        None
    );
    let kept = [
        (None, "no Launchplane ownership marker"),
        (
            Some(Owner::new("cluster-b", "shop", "Preview", "shop-pr-7", None)),
            "instance cluster-b",
        ),
        (
            Some(Owner::new("test", "elsewhere", "Preview", "shop-pr-7", None)),
            "not a Preview of namespace shop",
        ),
        (
            Some(Owner::new("test", "shop", "Lane", "shop-pr-7", None)),
            "not a Preview of namespace shop",
        ),
        (Some(live_owner), "still exists"),
    ];
    for (owner, why) in kept {
        let said = verdict(owner.clone()).unwrap_or_else(|| panic!("{owner:?} would be deleted"));
        assert!(said.contains(why), "{said}");
    }
}

/// Every teardown path words its outcome through [`TeardownReport::summary`]; a preview
/// that never recorded an application must never read as if one was removed.
#[test]
fn the_teardown_summary_says_what_was_removed_and_never_names_a_missing_application() {
    assert_eq!(
        TeardownReport::default().summary(),
        "no application was recorded for it, so nothing was deleted"
    );
    let removed = TeardownReport {
        application: Some("app-1".into()),
        domains: vec!["pr-1.preview.example.com".into()],
        left_alone: None,
    };
    assert_eq!(
        removed.summary(),
        "application app-1 and its domains were removed"
    );
    let kept = TeardownReport {
        left_alone: Some("its ownership marker names another-cluster/shop/Preview/x/u".into()),
        ..TeardownReport::default()
    };
    assert_eq!(
        kept.summary(),
        "nothing was deleted: its ownership marker names another-cluster/shop/Preview/x/u"
    );
}

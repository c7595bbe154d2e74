#![allow(clippy::unwrap_used)]

use super::super::tests::{app, config, reading, service, target};
use super::super::{Audit, OtherService, audit};
use super::*;
use launchplane_api::resources::ProviderTarget;

const OTHER: &str = "launchplane.dev/owner=cluster-b/shop/Lane/web/uid-9";
const OURS_PREVIEW: &str = "launchplane.dev/owner=cluster-a/shop/Preview/shop-pr-1/uid-1";

fn destination(taken: &BTreeSet<String>) -> Destination<'_> {
    Destination {
        namespace: "shop",
        config: "dokploy",
        taken,
    }
}

fn audited(
    listed: &[launchplane_api::verify::target::ObservedTarget],
    targets: &[ProviderTarget],
    descriptions: &[(&str, &str)],
) -> Audit {
    audit(
        &config(),
        targets,
        &reading(listed, descriptions),
        Some("cluster-a"),
    )
    .unwrap()
}

fn decision<'a>(plan: &'a ImportPlan, id: &str) -> &'a ImportRow {
    plan.rows
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no row for {id}: {plan:#?}"))
}

#[test]
fn an_unclaimed_service_becomes_an_observe_target_bound_by_id_that_the_crd_accepts() {
    let listed = [service(
        "application",
        "Xy_7aB",
        "Web Shop",
        ("Shop", "production"),
        &["shop.test", "www.shop.test"],
    )];
    let plan = plan(&audited(&listed, &[], &[]), destination(&BTreeSet::new()), None);
    let row = decision(&plan, "Xy_7aB");
    assert_eq!(row.decision, Decision::WouldCreate, "{row:#?}");
    assert_eq!(row.provider_targets, ["shop/shop-production-web-shop"]);
    let manifest = row.manifest.clone().unwrap();
    assert_eq!(
        serde_json::to_value(&manifest).unwrap(),
        serde_json::json!({
            "apiVersion": "launchplane.dev/v1alpha1",
            "kind": "ProviderTarget",
            "metadata": {"name": "shop-production-web-shop", "namespace": "shop"},
            "spec": {
                "providerConfigRef": {"name": "dokploy"},
                "targetCategory": "application",
                "targetId": "Xy_7aB",
                "displayName": "Web Shop",
                "project": "Shop",
                "environment": "production",
                "domains": ["shop.test", "www.shop.test"],
                "managementPolicy": "Observe"
            }
        })
    );
    let schema = provider_target_schema().unwrap();
    assert_eq!(
        violations(&mut SchemaValidator::new(), &schema, &manifest),
        vec![]
    );
}

#[test]
fn the_validation_it_relies_on_refuses_a_bad_manifest() {
    let listed = [app("a-1", "web")];
    let plan = plan(&audited(&listed, &[], &[]), destination(&BTreeSet::new()), None);
    let mut bad = plan.rows[0].manifest.clone().unwrap();
    bad.metadata.name = Some("Not_A_Name".into());
    bad.spec.domains = vec!["*.shop.test".into()];
    let found = violations(
        &mut SchemaValidator::new(),
        &provider_target_schema().unwrap(),
        &bad,
    );
    let paths: Vec<&str> = found.iter().map(|v| v.path.as_str()).collect();
    assert!(paths.contains(&"metadata.name"), "{found:?}");
    assert!(paths.contains(&"spec.domains[0]"), "{found:?}");
}

#[test]
fn every_decision_and_its_reason() {
    let mut no_project = app("a-noproject", "orphan");
    no_project.project = None;
    let listed = [
        app("a-free", "web"),
        app("a-claimed", "api"),
        app("a-foreign", "legacy"),
        app("a-dup-1", "cron"),
        app("a-dup-2", "cron"),
        app("a-preview", "shop-pr-1"),
        service(
            "application",
            "a-wild",
            "wild",
            ("shop", "production"),
            &["*.shop.test"],
        ),
        no_project,
        service("compose", "c-free", "stack", ("shop", "production"), &[]),
    ];
    let mut audit = audited(
        &listed,
        &[target("api", Some("a-claimed"), "api")],
        &[("a-foreign", OTHER), ("a-preview", OURS_PREVIEW)],
    );
    audit.others.push(OtherService {
        id: "pg-1".into(),
        kind: "postgres".into(),
        name: "db".into(),
        project: Some("shop".into()),
        environment: Some("production".into()),
    });
    let plan = plan(&audit, destination(&BTreeSet::new()), None);
    let expect = [
        ("a-free", Decision::WouldCreate),
        ("c-free", Decision::WouldCreate),
        ("a-claimed", Decision::SkippedExists),
        ("a-foreign", Decision::SkippedConflict),
        ("a-dup-1", Decision::SkippedConflict),
        ("a-dup-2", Decision::SkippedConflict),
        ("a-preview", Decision::Unsupported),
        ("pg-1", Decision::Unsupported),
        ("a-wild", Decision::SkippedIncomplete),
        ("a-noproject", Decision::SkippedIncomplete),
    ];
    for (id, want) in expect {
        assert_eq!(
            decision(&plan, id).decision,
            want,
            "{id}: {:#?}",
            decision(&plan, id)
        );
    }
    assert_eq!(plan.rows.len(), expect.len());
    assert_eq!(decision(&plan, "a-claimed").provider_targets, ["shop/api"]);
    assert_eq!(
        decision(&plan, "a-claimed").detail,
        "claimed already, and Matched"
    );
    assert!(decision(&plan, "a-wild").detail.contains("*.shop.test"));
    assert!(decision(&plan, "a-noproject").detail.contains("no project"));
    assert!(decision(&plan, "pg-1").detail.contains("a postgres service"));
    assert_eq!(
        decision(&plan, "c-free")
            .manifest
            .as_ref()
            .unwrap()
            .spec
            .target_category,
        TargetCategory::Compose
    );
    assert!(
        plan.rows
            .iter()
            .all(|r| r.manifest.is_some() == (r.decision == Decision::WouldCreate))
    );
    let counts: BTreeMap<&str, usize> = plan.counts().into_iter().collect();
    assert_eq!(
        counts,
        BTreeMap::from([
            ("would-create", 2),
            ("skipped-exists", 1),
            ("skipped-incomplete", 2),
            ("skipped-conflict", 3),
            ("unsupported", 2),
        ])
    );
}

#[test]
fn a_claimed_service_is_never_imported_again_whatever_its_verdict() {
    let listed = [service(
        "application",
        "a-1",
        "web",
        ("shop", "production"),
        &["a.test"],
    )];
    let mut drift = target("web", Some("a-1"), "web");
    drift.spec.domains = vec!["b.test".into()];
    let plan = plan(
        &audited(&listed, &[drift], &[]),
        destination(&BTreeSet::new()),
        None,
    );
    assert_eq!(plan.rows[0].decision, Decision::SkippedExists);
    assert!(
        plan.rows[0]
            .detail
            .starts_with("claimed already (mismatch): domains"),
        "{}",
        plan.rows[0].detail
    );
}

#[test]
fn a_second_import_of_the_same_estate_creates_nothing() {
    let listed = [
        app("a-1", "web"),
        app("a-2", "Web"),
        service("compose", "c-1", "stack", ("shop", "staging"), &["stack.test"]),
    ];
    let first = plan(&audited(&listed, &[], &[]), destination(&BTreeSet::new()), None);
    let created: Vec<ProviderTarget> = first.rows.iter().filter_map(|r| r.manifest.clone()).collect();
    assert_eq!(created.len(), 3);
    let taken: BTreeSet<String> = created.iter().filter_map(|t| t.metadata.name.clone()).collect();
    let second_audit = audited(&listed, &created, &[]);
    assert!(!second_audit.blocking(), "{second_audit:#?}");
    assert!(
        second_audit
            .services
            .iter()
            .all(|s| s.state == super::super::ServiceState::Matched)
    );
    let second = plan(&second_audit, destination(&taken), None);
    assert!(
        second.rows.iter().all(|r| r.decision == Decision::SkippedExists),
        "{second:#?}"
    );
}

#[test]
fn names_are_dns_labels_and_clashes_take_a_suffix_from_the_id() {
    let long = "a".repeat(80);
    let listed = [
        app("a-1", "web"),
        app("a-2", "Web"),
        app("a-3", "admin"),
        app("a-4", "api"),
        app("a-5", &long),
        service("application", "a-6", "--", ("shop", "production"), &[]),
    ];
    let taken = BTreeSet::from(["shop-production-api".to_string()]);
    let plan = plan(&audited(&listed, &[], &[]), destination(&taken), None);
    let name = |id: &str| {
        decision(&plan, id)
            .manifest
            .as_ref()
            .unwrap()
            .metadata
            .name
            .clone()
            .unwrap()
    };
    assert_eq!(name("a-3"), "shop-production-admin");
    let (web, web_too) = (name("a-1"), name("a-2"));
    assert_ne!(web, web_too);
    for n in [&web, &web_too] {
        assert!(n.starts_with("shop-production-web-"), "{n}");
        assert_eq!(n.len(), "shop-production-web-".len() + 8, "{n}");
    }
    assert!(
        name("a-4").starts_with("shop-production-api-"),
        "taken: {}",
        name("a-4")
    );
    assert_eq!(name("a-5").len(), NAME_MAX);
    assert_eq!(name("a-6"), "shop-production");
    for row in &plan.rows {
        let n = row.manifest.as_ref().unwrap().metadata.name.clone().unwrap();
        assert!(launchplane_api::validation::is_dns1123_label(&n), "{n}");
    }
    // The same estate gives the same names.
    let again = super::plan(&audited(&listed, &[], &[]), destination(&taken), None);
    assert_eq!(again, plan);
}

#[test]
fn the_selector_keeps_one_project_and_environment() {
    let listed = [
        app("a-1", "web"),
        service("application", "a-2", "web", ("shop", "staging"), &[]),
        service("application", "a-3", "web", ("blog", "production"), &[]),
    ];
    let selector = Selector::parse("shop/staging").unwrap();
    let plan = plan(
        &audited(&listed, &[], &[]),
        destination(&BTreeSet::new()),
        Some(&selector),
    );
    let ids: Vec<&str> = plan.rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["a-2"]);
    assert_eq!(plan.rows[0].decision, Decision::WouldCreate);
}

#[test]
fn selectors_name_a_project_and_an_environment() {
    assert_eq!(
        Selector::parse("acme/shop/production").unwrap(),
        Selector {
            project: "acme/shop".into(),
            environment: "production".into()
        }
    );
    for bad in ["shop", "shop/", "/production", ""] {
        let e = Selector::parse(bad).unwrap_err();
        assert!(e.contains("shop/production"), "{bad}: {e}");
    }
}

#[test]
fn slugs_keep_letters_and_digits() {
    assert_eq!(slug("Web Shop (EU)"), "web-shop-eu");
    assert_eq!(slug("--a__b--"), "a-b");
    assert_eq!(slug("ünïcode"), "n-code");
}

#![allow(clippy::unwrap_used)]

use super::*;
use crate::observation::{ListedAs, ReadFacts};
use crate::target::TargetFacts;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::resources::{
    LocalObjectRef, ProviderConfigSpec, ProviderTargetSpec, SecretKeyRef, TargetCategory, TargetObservation,
};
use launchplane_api::verify::target::ProviderFailure;
use std::sync::Arc;

pub(super) fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

pub(super) fn config() -> ProviderConfig {
    let mut c = ProviderConfig::new(
        "dokploy",
        ProviderConfigSpec {
            url: "http://dokploy.test".into(),
            api_key_secret_ref: SecretKeyRef {
                name: "dokploy".into(),
                key: "api-key".into(),
            },
            ..Default::default()
        },
    );
    c.metadata.namespace = Some("shop".into());
    c
}

/// A service as listed, with its detail fields.
pub(super) fn service(
    category: &str,
    id: &str,
    name: &str,
    place: (&str, &str),
    domains: &[&str],
) -> ObservedTarget {
    ObservedTarget {
        routes: Vec::new(),
        id: id.into(),
        category: category.into(),
        name: name.into(),
        status: Some("done".into()),
        project: Some(place.0.into()),
        environment: Some(place.1.into()),
        domains: domains.iter().map(|d| d.to_string()).collect(),
        last_deploy_at: None,
        target_type: Some("docker".into()),
        image: None,
        env_keys: Some(BTreeSet::new()),
        last_deployment: None,
    }
}

pub(super) fn app(id: &str, name: &str) -> ObservedTarget {
    service("application", id, name, ("shop", "production"), &[])
}

/// A ProviderTarget of the config, bound by `id` (or adopting `display` by name).
pub(super) fn target(name: &str, id: Option<&str>, display: &str) -> ProviderTarget {
    let mut pt = ProviderTarget::new(
        name,
        ProviderTargetSpec {
            provider_config_ref: LocalObjectRef {
                name: "dokploy".into(),
            },
            target_category: TargetCategory::Application,
            target_id: id.map(str::to_string),
            display_name: display.into(),
            ..Default::default()
        },
    );
    pt.metadata.namespace = Some("shop".into());
    pt
}

fn snapshot(targets: &[ObservedTarget], at: Timestamp) -> Snapshot {
    Snapshot {
        targets: Some(Arc::new(targets.to_vec())),
        observed_at: Some(at),
        ..Snapshot::default()
    }
}

/// Both listings show `targets`; each has a detail with the description given by id.
pub(super) fn reading(targets: &[ObservedTarget], descriptions: &[(&str, &str)]) -> Reading {
    let mut facts = SharedFacts::default();
    for target in targets {
        let description = descriptions
            .iter()
            .find(|(id, _)| *id == target.id)
            .map(|(_, d)| d.to_string());
        facts.record(
            (category_of(target), target.id.clone()),
            Some(ReadFacts {
                facts: Arc::new(TargetFacts {
                    description,
                    ..TargetFacts::default()
                }),
                read_at: t(1),
                listed: ListedAs::default(),
            }),
        );
    }
    Reading {
        first: snapshot(targets, t(0)),
        second: snapshot(targets, t(2)),
        facts,
        others: Vec::new(),
    }
}

fn state_of<'a>(audit: &'a Audit, id: &str) -> &'a ServiceRow {
    audit
        .services
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no row for {id}: {audit:#?}"))
}

const OTHER: &str = "launchplane.dev/owner=cluster-b/shop/Lane/web/uid-9";
const OURS_PREVIEW: &str = "Preview shop-pr-1\nlaunchplane.dev/owner=cluster-a/shop/Preview/shop-pr-1/uid-1";

#[test]
fn every_service_gets_the_state_that_applies() {
    let listed = [
        app("a-match", "web"),
        service(
            "application",
            "a-drift",
            "api",
            ("shop", "production"),
            &["api.shop.test"],
        ),
        app("a-twice", "worker"),
        app("a-free", "admin"),
        app("a-dup-1", "cron"),
        app("a-dup-2", "cron"),
        service("application", "a-env", "cron", ("shop", "staging"), &[]),
        app("a-foreign", "legacy"),
        app("a-broken", "odd"),
        app("a-preview", "shop-pr-1"),
        service("compose", "c-match", "stack", ("shop", "production"), &[]),
    ];
    let mut drift = target("api", Some("a-drift"), "api");
    drift.spec.domains = vec!["shop.test".into()];
    drift.spec.project = Some("shop".into());
    let mut compose = target("stack", Some("c-match"), "stack");
    compose.spec.target_category = TargetCategory::Compose;
    let targets = [
        target("web", Some("a-match"), "web"),
        drift,
        target("worker", Some("a-twice"), "worker"),
        target("worker-2", Some("a-twice"), "worker"),
        compose,
    ];
    let read = reading(
        &listed,
        &[
            ("a-foreign", OTHER),
            ("a-broken", "launchplane.dev/owner=nonsense"),
            ("a-preview", OURS_PREVIEW),
        ],
    );
    let audit = audit(&config(), &targets, &read, Some("cluster-a")).unwrap();

    let expect = [
        ("a-match", ServiceState::Matched),
        ("a-drift", ServiceState::Mismatch),
        ("a-twice", ServiceState::ClaimedTwice),
        ("a-free", ServiceState::Unclaimed),
        ("a-dup-1", ServiceState::DuplicateName),
        ("a-dup-2", ServiceState::DuplicateName),
        ("a-env", ServiceState::Unclaimed),
        ("a-foreign", ServiceState::ForeignMarker),
        ("a-broken", ServiceState::ForeignMarker),
        ("a-preview", ServiceState::Unclaimed),
        ("c-match", ServiceState::Matched),
    ];
    for (id, state) in expect {
        assert_eq!(
            state_of(&audit, id).state,
            state,
            "{id}: {:#?}",
            state_of(&audit, id)
        );
    }
    assert!(audit.targets.is_empty());
    assert!(audit.blocking());

    let drifted = state_of(&audit, "a-drift");
    assert_eq!(drifted.claimed_by, ["shop/api"]);
    assert_eq!(drifted.mismatches.len(), 1);
    assert_eq!(
        drifted.detail,
        "domains: expected shop.test, observed api.shop.test"
    );
    assert_eq!(
        state_of(&audit, "a-twice").claimed_by,
        ["shop/worker", "shop/worker-2"]
    );
    assert!(
        state_of(&audit, "a-dup-1")
            .detail
            .contains("2 applications in shop/production are named \"cron\" (ids a-dup-1, a-dup-2)")
    );
    let foreign = state_of(&audit, "a-foreign");
    assert_eq!(
        foreign.marker,
        Some(Marker {
            owner: Some("cluster-b/shop/Lane/web/uid-9".into()),
            ours: false,
            kind: Some("Lane".into()),
        })
    );
    assert!(foreign.detail.contains(OTHER), "{}", foreign.detail);
    assert!(state_of(&audit, "a-broken").detail.contains("does not parse"));
    let preview = state_of(&audit, "a-preview");
    assert!(preview.marker.as_ref().unwrap().ours);
    assert!(
        preview.detail.contains("a Preview's application"),
        "{}",
        preview.detail
    );

    // Sorted by project, environment, category, name, id.
    let order: Vec<&str> = audit.services.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        order,
        [
            "a-free",
            "a-drift",
            "a-dup-1",
            "a-dup-2",
            "a-foreign",
            "a-broken",
            "a-preview",
            "a-match",
            "a-twice",
            "c-match",
            "a-env"
        ]
    );
}

#[test]
fn matched_and_unclaimed_alone_block_nothing() {
    let listed = [app("a-1", "web"), app("a-2", "admin")];
    let audit = audit(
        &config(),
        &[target("web", Some("a-1"), "web")],
        &reading(&listed, &[]),
        Some("cluster-a"),
    )
    .unwrap();
    assert!(!audit.blocking(), "{audit:#?}");
    let counts: BTreeMap<&str, usize> = audit.counts().into_iter().collect();
    assert_eq!(counts["matched"], 1);
    assert_eq!(counts["unclaimed"], 1);
    assert_eq!(counts["gone"], 0);
    assert_eq!(counts.len(), 10, "every state is counted, zeros included");
}

#[test]
fn our_own_marker_is_not_foreign_but_every_marker_is_when_no_instance_is_known() {
    let listed = [app("a-1", "web")];
    let ours = "launchplane.dev/owner=cluster-a/shop/Lane/web/uid-1";
    let read = reading(&listed, &[("a-1", ours)]);
    let with_instance = audit(&config(), &[], &read, Some("cluster-a")).unwrap();
    assert_eq!(with_instance.services[0].state, ServiceState::Unclaimed);
    assert!(
        with_instance.services[0]
            .detail
            .contains("this instance's marker")
    );
    let without = audit(&config(), &[], &read, None).unwrap();
    assert_eq!(without.services[0].state, ServiceState::ForeignMarker);
}

#[test]
fn a_foreign_marker_outranks_a_claim() {
    let listed = [app("a-1", "web")];
    let read = reading(&listed, &[("a-1", OTHER)]);
    let audit = audit(
        &config(),
        &[target("web", Some("a-1"), "web")],
        &read,
        Some("cluster-a"),
    )
    .unwrap();
    assert_eq!(audit.services[0].state, ServiceState::ForeignMarker);
    assert_eq!(audit.services[0].claimed_by, ["shop/web"]);
}

#[test]
fn a_target_whose_id_two_listings_lack_is_gone_even_if_a_listing_showed_it_before() {
    let listed = [app("a-1", "web")];
    let mut seen = target("old", Some("a-gone"), "old");
    seen.status = Some(ProviderTargetStatus {
        bound_target_id: Some("a-gone".into()),
        observed: Some(TargetObservation {
            target_id: Some("a-gone".into()),
            ..Default::default()
        }),
        last_observed_time: Some(Time(t(-60))),
        ..Default::default()
    });
    let never = target("never", Some("a-never"), "never");
    let by_name = target("by-name", None, "nothing-has-this-name");
    let audit = audit(
        &config(),
        &[seen, never, by_name],
        &reading(&listed, &[]),
        Some("cluster-a"),
    )
    .unwrap();
    let states: Vec<(&str, TargetState, Option<&str>)> = audit
        .targets
        .iter()
        .map(|t| (t.target.as_str(), t.state, t.target_id.as_deref()))
        .collect();
    assert_eq!(
        states,
        [
            ("shop/by-name", TargetState::Gone, None),
            ("shop/never", TargetState::Gone, Some("a-never")),
            ("shop/old", TargetState::Gone, Some("a-gone")),
        ]
    );
    // The controller's own words, confirmed by the second listing.
    let old = audit.targets.iter().find(|t| t.target == "shop/old").unwrap();
    assert!(
        old.detail.starts_with(
            "no application with id a-gone exists in the provider (absent from every listing since"
        ),
        "{}",
        old.detail
    );
    assert!(audit.blocking());
}

#[test]
fn a_target_adopting_a_shared_name_is_ambiguous_and_contests_every_service_of_that_name() {
    let listed = [
        app("a-1", "web"),
        service("application", "a-2", "web", ("shop", "staging"), &[]),
        app("a-3", "admin"),
    ];
    let audit = audit(
        &config(),
        &[target("web", None, "web")],
        &reading(&listed, &[]),
        Some("cluster-a"),
    )
    .unwrap();
    assert_eq!(audit.targets.len(), 1);
    assert_eq!(audit.targets[0].state, TargetState::Ambiguous);
    assert!(audit.targets[0].detail.contains("set spec.targetId"));
    assert_eq!(state_of(&audit, "a-1").state, ServiceState::AmbiguousClaim);
    assert_eq!(state_of(&audit, "a-2").state, ServiceState::AmbiguousClaim);
    assert!(state_of(&audit, "a-1").detail.contains("shop/web"));
    assert_eq!(state_of(&audit, "a-3").state, ServiceState::Unclaimed);
}

#[test]
fn a_target_adopting_a_unique_name_claims_it() {
    let listed = [app("a-1", "web"), app("a-2", "admin")];
    let audit = audit(
        &config(),
        &[target("web", None, "web")],
        &reading(&listed, &[]),
        Some("cluster-a"),
    )
    .unwrap();
    assert_eq!(state_of(&audit, "a-1").state, ServiceState::Matched);
    assert_eq!(state_of(&audit, "a-1").claimed_by, ["shop/web"]);
}

#[test]
fn a_name_adopter_and_an_id_claim_on_one_service_are_claimed_twice() {
    let listed = [app("a-1", "web")];
    let audit = audit(
        &config(),
        &[target("web", Some("a-1"), "web"), target("web-too", None, "web")],
        &reading(&listed, &[]),
        Some("cluster-a"),
    )
    .unwrap();
    assert_eq!(state_of(&audit, "a-1").state, ServiceState::ClaimedTwice);
    assert_eq!(state_of(&audit, "a-1").claimed_by, ["shop/web", "shop/web-too"]);
}

#[test]
fn a_type_the_detail_does_not_report_is_unverifiable_never_matched() {
    let mut listed = app("a-1", "web");
    listed.target_type = None;
    let mut typed = target("web", Some("a-1"), "web");
    typed.spec.provider_target_type = Some("docker".into());
    let audit = audit(&config(), &[typed], &reading(&[listed], &[]), Some("cluster-a")).unwrap();
    assert_eq!(audit.services[0].state, ServiceState::Unverifiable);
    assert!(audit.blocking());
}

#[test]
fn targets_of_other_configs_and_namespaces_are_left_out() {
    let listed = [app("a-1", "web")];
    let mut elsewhere = target("web", Some("a-1"), "web");
    elsewhere.metadata.namespace = Some("other".into());
    let mut other_config = target("web-2", Some("a-1"), "web");
    other_config.spec.provider_config_ref.name = "another".into();
    let audit = audit(
        &config(),
        &[elsewhere, other_config],
        &reading(&listed, &[]),
        Some("cluster-a"),
    )
    .unwrap();
    assert_eq!(audit.services[0].state, ServiceState::Unclaimed);
    assert!(audit.targets.is_empty());
}

#[test]
fn no_answer_from_a_partial_or_failed_reading() {
    let listed = [app("a-1", "web"), app("a-2", "admin")];
    let whole = reading(&listed, &[]);

    let mut shrunk = whole.clone();
    shrunk.second = snapshot(&listed[..1], t(2));
    let e = audit(&config(), &[], &shrunk, None).unwrap_err();
    assert_eq!(
        e,
        Unreadable::ListingsDisagree("only the first shows application a-2".into())
    );
    assert!(e.to_string().contains("run it again"));

    let mut grown = whole.clone();
    grown.first = snapshot(&listed[..1], t(0));
    assert_eq!(
        audit(&config(), &[], &grown, None).unwrap_err(),
        Unreadable::ListingsDisagree("only the second shows application a-2".into())
    );

    let mut unread = whole.clone();
    unread.facts = reading(&listed[..1], &[]).facts;
    assert_eq!(
        audit(&config(), &[], &unread, None).unwrap_err(),
        Unreadable::DetailMissing(vec!["application a-2".into()])
    );

    let mut failed = whole.clone();
    failed.second.last_failure = Some((ProviderFailure::Unreachable, "connection refused".into()));
    assert_eq!(
        audit(&config(), &[], &failed, None).unwrap_err(),
        Unreadable::NotListed("connection refused".into())
    );

    let never = Reading::default();
    assert!(matches!(
        audit(&config(), &[], &never, None),
        Err(Unreadable::NotListed(_))
    ));
}

#[test]
fn listings_stamped_alike_still_confirm_an_absence() {
    let listed = [app("a-1", "web")];
    let mut read = reading(&listed, &[]);
    read.second.observed_at = read.first.observed_at;
    let mut seen = target("old", Some("a-gone"), "old");
    seen.status = Some(ProviderTargetStatus {
        observed: Some(TargetObservation {
            target_id: Some("a-gone".into()),
            ..Default::default()
        }),
        ..Default::default()
    });
    let audit = audit(&config(), &[seen], &read, None).unwrap();
    assert_eq!(audit.targets[0].state, TargetState::Gone);
    assert!(
        audit.targets[0]
            .detail
            .starts_with("no application with id a-gone exists in the provider"),
        "confirmed, not still waiting for a later listing: {}",
        audit.targets[0].detail
    );
}

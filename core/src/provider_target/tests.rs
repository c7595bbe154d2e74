#![allow(clippy::unwrap_used)]

use super::*;
use jiff::SignedDuration;
use launchplane_api::resources::{LocalObjectRef, TargetCategory};
use launchplane_api::verify::target::ProviderFailure;
use std::collections::BTreeSet;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn target(name: &str, id: Option<&str>, display: &str) -> ProviderTarget {
    let mut pt = ProviderTarget::new(
        name,
        ProviderTargetSpec {
            provider_config_ref: LocalObjectRef {
                name: "dokploy".into(),
            },
            target_category: TargetCategory::Application,
            target_id: id.map(str::to_string),
            display_name: display.into(),
            domains: vec!["shop.test".into()],
            ..Default::default()
        },
    );
    pt.metadata.namespace = Some("shop".into());
    pt.metadata.generation = Some(4);
    pt
}

fn observed(id: &str, name: &str) -> ObservedTarget {
    ObservedTarget {
        routes: Vec::new(),
        id: id.into(),
        category: "application".into(),
        name: name.into(),
        status: Some("done".into()),
        project: Some("shop".into()),
        environment: Some("production".into()),
        domains: BTreeSet::from(["shop.test".to_string()]),
        last_deploy_at: Some("2027-01-15T08:00:00.000Z".into()),
        target_type: Some("docker".into()),
        image: Some("ghcr.io/acme/shop@sha256:aa".into()),
        env_keys: Some(BTreeSet::from(["SECRET_TOKEN".to_string()])),
        last_deployment: None,
    }
}

fn window(targets: &[ObservedTarget]) -> ObservationWindow<'_> {
    ObservationWindow {
        targets: Some(targets),
        observed_at: Some(t(0)),
        last_failure: None,
        poll_interval: SignedDuration::from_secs(30),
        stale_after_polls: 3,
    }
}

#[test]
fn matched_target_writes_observation_and_conditions() {
    let targets = [observed("app-1", "shop-prod")];
    let out = reconcile(
        &target("prod", Some("app-1"), "shop-prod"),
        &window(&targets),
        &[],
        t(10),
    );
    let s = out.status;
    assert_eq!(s.verdict, Some(Verdict::Matched));
    assert_eq!(s.reason.as_deref(), Some("Matched"));
    assert_eq!(s.observed_generation, Some(4));
    assert_eq!(s.bound_target_id.as_deref(), Some("app-1"));
    let o = s.observed.unwrap();
    assert_eq!(o.env_keys, vec!["SECRET_TOKEN"], "key names only");
    assert_eq!(o.image.as_deref(), Some("ghcr.io/acme/shop@sha256:aa"));
    assert!(o.last_deploy_at.is_some());
    let ready = conditions::find(&s.conditions, types::READY).unwrap();
    assert_eq!(ready.status, "True");
    let verified = conditions::find(&s.conditions, types::TARGET_VERIFIED).unwrap();
    assert_eq!(verified.reason, "Matched");
    assert_eq!(verified.observed_generation, Some(4));
    assert!(out.transitions.iter().any(|t| t.type_ == types::READY));
}

#[test]
fn adoption_by_display_name_records_the_id_and_a_later_rename_is_a_mismatch() {
    let targets = [observed("app-1", "shop-prod"), observed("app-2", "other")];
    let mut pt = target("prod", None, "shop-prod");
    let out = reconcile(&pt, &window(&targets), &[], t(10));
    assert_eq!(out.status.verdict, Some(Verdict::Matched));
    assert_eq!(out.status.bound_target_id.as_deref(), Some("app-1"));
    pt.status = Some(out.status);

    let renamed = [observed("app-1", "shop-renamed"), observed("app-2", "other")];
    let out = reconcile(&pt, &window(&renamed), &[], t(40));
    assert_eq!(out.status.verdict, Some(Verdict::Mismatch));
    assert_eq!(out.status.bound_target_id.as_deref(), Some("app-1"));
    assert_eq!(out.status.mismatches[0].field, "displayName");
    let ready = conditions::find(&out.status.conditions, types::READY).unwrap();
    assert_eq!(ready.status, "False");
    assert!(ready.message.contains("displayName"), "{}", ready.message);
}

#[test]
fn several_targets_with_the_name_are_ambiguous_and_nothing_is_bound() {
    let targets = [observed("app-1", "web"), observed("app-2", "web")];
    let out = reconcile(&target("prod", None, "web"), &window(&targets), &[], t(10));
    assert_eq!(out.status.verdict, Some(Verdict::Mismatch));
    assert_eq!(out.status.reason.as_deref(), Some("Ambiguous"));
    assert_eq!(out.status.bound_target_id, None);
}

fn listing_at(targets: &[ObservedTarget], secs: i64) -> ObservationWindow<'_> {
    ObservationWindow {
        observed_at: Some(t(secs)),
        ..window(targets)
    }
}

#[test]
fn a_vanished_id_is_missing_once_confirmed_and_drops_the_stale_observation() {
    let targets = [observed("app-1", "shop-prod")];
    let mut pt = target("prod", Some("app-1"), "shop-prod");
    pt.status = Some(reconcile(&pt, &window(&targets), &[], t(10)).status);
    pt.status = Some(reconcile(&pt, &listing_at(&[], 30), &[], t(40)).status);
    let out = reconcile(&pt, &listing_at(&[], 60), &[], t(70));
    assert_eq!(out.status.verdict, Some(Verdict::Missing));
    assert_eq!(out.status.observed, None);
}

/// D12 (issue 12): a listing that drops a target seen before makes it Unverifiable, not
/// Missing, and the status keeps what it last saw; a second, later listing confirms.
#[test]
fn a_target_dropped_from_one_listing_is_unverifiable_until_a_later_listing_confirms() {
    let whole = [observed("app-1", "shop-prod"), observed("app-2", "other")];
    let partial = [observed("app-2", "other")];
    let mut pt = target("prod", Some("app-1"), "shop-prod");
    pt.status = Some(reconcile(&pt, &listing_at(&whole, 0), &[], t(5)).status);

    let out = reconcile(&pt, &listing_at(&partial, 30), &[], t(35));
    assert_eq!(out.status.verdict, Some(Verdict::Unverifiable));
    assert_eq!(out.status.reason.as_deref(), Some("AbsenceUnconfirmed"));
    let message = out.status.message.clone().unwrap();
    assert!(
        message.contains("absent from the listing of") && message.contains("confirming on the next poll"),
        "{message}"
    );
    assert!(out.status.observed.is_some(), "the last known facts are kept");
    assert_eq!(out.status.bound_target_id.as_deref(), Some("app-1"));
    pt.status = Some(out.status);

    // The same listing, verified again (the cluster does so several times per poll).
    let again = reconcile(&pt, &listing_at(&partial, 30), &[], t(50));
    assert_eq!(again.status.reason.as_deref(), Some("AbsenceUnconfirmed"));
    pt.status = Some(again.status);

    let confirmed = reconcile(&pt, &listing_at(&partial, 60), &[], t(65));
    assert_eq!(confirmed.status.verdict, Some(Verdict::Missing));
    assert_eq!(confirmed.status.reason.as_deref(), Some("TargetNotFound"));
}

#[test]
fn a_target_back_in_the_listing_is_matched_and_its_absence_forgotten() {
    let whole = [observed("app-1", "shop-prod"), observed("app-2", "other")];
    let partial = [observed("app-2", "other")];
    let mut pt = target("prod", Some("app-1"), "shop-prod");
    pt.status = Some(reconcile(&pt, &listing_at(&whole, 0), &[], t(5)).status);
    pt.status = Some(reconcile(&pt, &listing_at(&partial, 30), &[], t(35)).status);
    let back = reconcile(&pt, &listing_at(&whole, 60), &[], t(65)).status;
    assert_eq!(back.verdict, Some(Verdict::Matched));
    pt.status = Some(back);

    // A new gap starts a new confirmation: the old first absence does not complete it.
    let gap = reconcile(&pt, &listing_at(&partial, 90), &[], t(95)).status;
    assert_eq!(gap.reason.as_deref(), Some("AbsenceUnconfirmed"));
}

#[test]
fn an_id_never_seen_is_missing_at_once() {
    let partial = [observed("app-2", "other")];
    let out = reconcile(
        &target("prod", Some("app-1"), "shop-prod"),
        &listing_at(&partial, 30),
        &[],
        t(35),
    );
    assert_eq!(out.status.verdict, Some(Verdict::Missing));
    assert_eq!(out.status.reason.as_deref(), Some("TargetNotFound"));
}

#[test]
fn two_claims_on_one_id_conflict_on_both() {
    let targets = [observed("app-1", "shop-prod")];
    let a = target("a", Some("app-1"), "shop-prod");
    let b = target("b", Some("app-1"), "shop-prod");
    let other_config = {
        let mut c = target("c", Some("app-1"), "shop-prod");
        c.spec.provider_config_ref.name = "elsewhere".into();
        c
    };
    let all = [a.clone(), b.clone(), other_config];
    for (me, rival) in [(&a, "shop/b"), (&b, "shop/a")] {
        let claims = claims_against(me, &all);
        assert_eq!(claims.len(), 1, "only the same config's targets count");
        let out = reconcile(me, &window(&targets), &claims, t(10));
        assert_eq!(out.status.verdict, Some(Verdict::Mismatch));
        assert_eq!(out.status.reason.as_deref(), Some("Conflict"));
        assert!(out.status.message.unwrap().contains(rival));
    }
}

#[test]
fn an_outage_is_unverifiable_and_keeps_the_last_known_facts() {
    let targets = [observed("app-1", "shop-prod")];
    let mut pt = target("prod", None, "shop-prod");
    pt.status = Some(reconcile(&pt, &window(&targets), &[], t(10)).status);
    let failed = ObservationWindow {
        last_failure: Some((
            ProviderFailure::Unreachable,
            "overview.services: unreachable".into(),
        )),
        ..window(&targets)
    };
    let out = reconcile(&pt, &failed, &[], t(40));
    assert_eq!(out.status.verdict, Some(Verdict::Unverifiable));
    assert_eq!(out.status.reason.as_deref(), Some("ProviderUnreachable"));
    assert_eq!(out.status.bound_target_id.as_deref(), Some("app-1"));
    assert!(out.status.observed.is_some());
    assert_eq!(out.status.last_observed_time, Some(Time(t(0))));
    let verified = conditions::find(&out.status.conditions, types::TARGET_VERIFIED).unwrap();
    assert_eq!(verified.status, "Unknown");
}

#[test]
fn an_old_observation_turns_unverifiable() {
    let targets = [observed("app-1", "shop-prod")];
    let out = reconcile(
        &target("prod", Some("app-1"), "shop-prod"),
        &window(&targets),
        &[],
        t(91),
    );
    assert_eq!(out.status.verdict, Some(Verdict::Unverifiable));
    assert_eq!(out.status.reason.as_deref(), Some("ObservationStale"));
}

#[test]
fn before_the_first_poll_the_target_is_reconciling() {
    let empty = ObservationWindow {
        targets: None,
        observed_at: None,
        ..window(&[])
    };
    let out = reconcile(&target("prod", Some("app-1"), "x"), &empty, &[], t(0));
    assert_eq!(out.status.verdict, Some(Verdict::Unchecked));
    let reconciling = conditions::find(&out.status.conditions, types::RECONCILING).unwrap();
    assert_eq!(reconciling.status, "True");
}

#[test]
fn the_transition_time_is_kept_while_the_verdict_holds() {
    let targets = [observed("app-1", "shop-prod")];
    let mut pt = target("prod", Some("app-1"), "shop-prod");
    pt.status = Some(reconcile(&pt, &window(&targets), &[], t(10)).status);
    let later = ObservationWindow {
        observed_at: Some(t(60)),
        ..window(&targets)
    };
    let out = reconcile(&pt, &later, &[], t(70));
    let ready = conditions::find(&out.status.conditions, types::READY).unwrap();
    assert_eq!(ready.last_transition_time, Time(t(10)));
    assert!(out.transitions.is_empty());
}

#[test]
fn the_claim_index_agrees_with_the_scan() {
    let mut unbound = target("unbound", None, "shop-prod");
    unbound.metadata.name = Some("unbound".into());
    let all = [
        target("a", Some("app-1"), "x"),
        target("b", Some("app-1"), "x"),
        target("c", Some("app-2"), "x"),
        unbound,
    ];
    let index = ClaimIndex::build(&all);
    for me in &all {
        let mut scanned = claims_against(me, &all);
        let mut indexed = index.claims_for(me);
        scanned.sort_by(|x, y| (&x.owner, &x.target_id).cmp(&(&y.owner, &y.target_id)));
        indexed.sort_by(|x, y| (&x.owner, &x.target_id).cmp(&(&y.owner, &y.target_id)));
        assert_eq!(scanned, indexed, "{:?}", me.metadata.name);
    }
    assert_eq!(index.claims_for(&all[0]).len(), 1);
    assert_eq!(index.claims_for(&all[3]).len(), 3);
}

// ---- config_unavailable --------------------------------------------------------------

fn unbound_target() -> ProviderTarget {
    let mut t = ProviderTarget::new("shop", ProviderTargetSpec::default());
    t.metadata.namespace = Some("ns".into());
    t.spec.provider_config_ref.name = "main".into();
    t
}

#[test]
fn a_missing_config_stalls_the_target_and_names_the_config() {
    let out = config_unavailable(
        &unbound_target(),
        ConfigState::NotFound("main"),
        Timestamp::UNIX_EPOCH,
    );
    assert_eq!(out.status.verdict, Some(Verdict::Unverifiable));
    assert_eq!(out.status.reason.as_deref(), Some("ProviderConfigNotFound"));
    let stalled = conditions::find(&out.status.conditions, types::STALLED).unwrap();
    assert_eq!(stalled.status, "True");
    assert!(stalled.message.contains("ProviderConfig ns/main"));
}

#[test]
fn a_config_not_ready_is_progress_not_a_stall() {
    let out = config_unavailable(
        &unbound_target(),
        ConfigState::NotReady("main"),
        Timestamp::UNIX_EPOCH,
    );
    let stalled = conditions::find(&out.status.conditions, types::STALLED).unwrap();
    assert_eq!(stalled.status, "False");
    let reconciling = conditions::find(&out.status.conditions, types::RECONCILING).unwrap();
    assert_eq!(reconciling.status, "True");
    assert_eq!(out.status.verdict, Some(Verdict::Unverifiable));
}

/// Right after a restart nothing was compared: Unchecked, never Unverifiable (which starts an
/// Incident's clock for every lane) nor Matched.
#[test]
fn a_config_not_polled_yet_leaves_the_target_unchecked() {
    let out = config_unavailable(
        &unbound_target(),
        ConfigState::NotPolledYet("main"),
        Timestamp::UNIX_EPOCH,
    );
    assert_eq!(out.status.verdict, Some(Verdict::Unchecked));
    assert_eq!(out.status.reason.as_deref(), Some("ProviderConfigNotPolled"));
    let stalled = conditions::find(&out.status.conditions, types::STALLED).unwrap();
    assert_eq!(stalled.status, "False");
}

//! Whether the lane may change its target at all: the ownership marker (marked before the
//! first mutation, foreign markers refused), the source type, other Lanes naming the same
//! target, and the Artifact's image repository.

use super::*;
use launchplane_api::ownership::Owner;

/// The fixture with the target as a person left it: no marker.
fn unmarked(description: Option<&str>) -> Fx {
    let mut f = fx();
    f.facts.description = description.map(str::to_string);
    f
}

fn marker(instance: &str, namespace: &str, kind: &str, name: &str, uid: Option<&str>) -> String {
    format!(
        "deployed by hand once\n{}",
        Owner::new(instance, namespace, kind, name, uid).marker()
    )
}

/// `f` with its first attempt Pending (the record the plan wrote from `f`'s own facts).
fn pending(mut f: Fx) -> Fx {
    let Some(Step::CreateRecord(r)) = f.plan(t(0)).step else {
        panic!("the first plan writes a record: {:?}", f.plan(t(0)).step)
    };
    f.records = vec![*r];
    f
}

fn assert_conflict(p: &LanePlan, reason: &str, needles: &[&str]) {
    assert_eq!(p.step, None, "{reason}: nothing is written, nothing mutated");
    let (stalled, stalled_reason, message) = cond(p, types::STALLED);
    assert_eq!(
        (stalled.as_str(), stalled_reason.as_str()),
        ("True", reason),
        "{message}"
    );
    for needle in needles {
        assert!(message.contains(needle), "{reason}: {needle:?} not in {message}");
    }
    let (verified, verdict, target_message) = cond(p, types::TARGET_VERIFIED);
    assert_eq!(
        (verified.as_str(), verdict.as_str()),
        ("False", "Mismatch"),
        "{target_message}"
    );
    assert_eq!(cond(p, types::READY).0, "False");
    assert!(cond(p, types::DEPLOYED).2.contains("not deploying"));
}

#[test]
fn an_unmarked_target_is_marked_after_the_intent_and_before_any_other_mutation() {
    // Unmarked is no obstacle: the intent record is written first.
    let f = unmarked(Some("made by hand"));
    let p = f.plan(t(0));
    assert_eq!(p.step.as_ref().map(Step::name), Some("CreateRecord"));
    assert_eq!(cond(&p, types::STALLED).0, "False");

    // Then the marker goes on, keeping the description, before the image is set.
    let mut f = pending(f);
    let me = lane_owner(&f.lane, INSTANCE);
    match f.plan(t(1)).step {
        Some(Step::MarkTarget {
            description, target, ..
        }) => {
            assert_eq!(description, format!("made by hand\n{}", me.marker()));
            assert_eq!(target.id, "app-1");
        }
        other => panic!("{other:?}"),
    }
    // Once the fresh read shows the marker, the attempt goes on.
    f.facts.description = Some(format!("made by hand\n{}", me.marker()));
    assert_eq!(f.plan(t(1)).step.unwrap().name(), "SetImage");

    // A target that already runs the record's image and env is still marked before the deploy.
    let mut f = pending(unmarked(None));
    let r = f.records[0].clone();
    f.converge(&r);
    f.facts.description = None;
    match f.plan(t(1)).step {
        Some(Step::MarkTarget { description, .. }) => assert_eq!(description, me.marker()),
        other => panic!("{other:?}"),
    }

    // A description that could not be read: nothing is marked or changed.
    let f = pending(unmarked(None));
    let p = plan(
        &LaneInputs {
            lane: &f.lane,
            lane_key: "testing",
            feed: &crate::promotion::feed(&f.lane, &[]),
            product: Some(&f.product),
            target: Some(&f.target),
            artifact: Some(&f.artifact),
            records: &f.records,
            desired_env: Ok(&f.env),
            facts: Some(Err("application.one: 500".into())),
            probe: None,
            identity: None,
            health: &[],
            base: &crate::verification::base_url::resolve(&f.lane, Some(&f.product), Some(&f.target), None),
            checks: &[],
            settings: &settings(),
            instance: INSTANCE,
            rivals: &[],
            bootstraps: &[],
        },
        t(1),
    );
    assert_eq!(p.step, None);
}

#[test]
fn drift_correction_marks_an_unmarked_target_first() {
    let mut f = deployed_fixture();
    f.lane.spec.drift_policy = DriftPolicy::Correct;
    f.facts.image = Some("ghcr.io/acme/shop:latest".into());
    f.facts.description = Some("prod".into());
    let Some(Step::CreateRecord(r)) = f.plan(t(10)).step else {
        panic!("{:?}", f.plan(t(10)).step)
    };
    f.records.push(*r);
    assert_eq!(f.plan(t(11)).step.unwrap().name(), "MarkTarget");
}

#[test]
fn an_observe_target_is_never_marked_nor_judged_by_its_marker() {
    let mut f = unmarked(Some("x"));
    f.target.spec.management_policy = ManagementPolicy::Observe;
    let p = f.plan(t(0));
    assert_eq!(p.step, None);
    assert_eq!(cond(&p, types::STALLED).1, "TargetNotManaged");
    let mut f = unmarked(Some(&marker("cluster-b", "shop", "Lane", "testing", None)));
    f.target.spec.management_policy = ManagementPolicy::Observe;
    assert_eq!(cond(&f.plan(t(0)), types::TARGET_VERIFIED).1, "Matched");
}

#[test]
fn a_target_marked_by_anyone_else_is_a_conflict_and_nothing_is_written() {
    let mut f = fx();
    f.lane.metadata.uid = Some("uid-2".into());
    let table = [
        (
            "another instance",
            marker("cluster-b", "shop", "Lane", "testing", Some("uid-2")),
            "of another Launchplane (instance cluster-b; this one is cluster-a)",
        ),
        (
            "another lane",
            marker(INSTANCE, "shop", "Lane", "prod", Some("uid-9")),
            "Lane shop/prod",
        ),
        (
            "another namespace",
            marker(INSTANCE, "other", "Lane", "testing", Some("uid-2")),
            "Lane other/testing",
        ),
        (
            "a preview",
            marker(INSTANCE, "shop", "Preview", "shop-pr-4", Some("uid-4")),
            "Preview shop/shop-pr-4",
        ),
        (
            "an earlier lane of this name",
            marker(INSTANCE, "shop", "Lane", "testing", Some("uid-1")),
            "an earlier Lane of the same name (uid uid-1; this Lane's uid is uid-2)",
        ),
    ];
    for (what, description, whose) in table {
        let mut g = fx();
        g.lane.metadata.uid = f.lane.metadata.uid.clone();
        g.facts.description = Some(description.clone());
        let p = g.plan(t(0));
        let owner = description.lines().last().unwrap();
        assert_conflict(
            &p,
            "TargetOwnedElsewhere",
            &[whose, owner, "spec.targetRef", "remove that marker line"],
        );
        assert!(
            p.outcome
                .status
                .mismatches
                .iter()
                .any(|m| m.field == "target.owner"),
            "{what}"
        );

        // Nor is an attempt already in flight continued on it.
        g.facts.description = Some("made by hand".into());
        let mut g = pending(g);
        g.facts.description = Some(description.clone());
        assert_eq!(g.plan(t(1)).step, None, "{what}");
    }
    // The lane's own marker, this lane's uid: no conflict.
    f.facts.description = Some(marker(INSTANCE, "shop", "Lane", "testing", Some("uid-2")));
    assert_eq!(f.plan(t(0)).step.unwrap().name(), "CreateRecord");

    // A marker line that does not parse cannot be told from a foreign one.
    let f = unmarked(Some("launchplane.dev/owner=cluster-a/shop/Lane"));
    assert_conflict(&f.plan(t(0)), "TargetOwnedElsewhere", &["does not parse"]);
}

#[test]
fn a_foreign_marker_stops_drift_correction_too() {
    let mut f = deployed_fixture();
    f.lane.spec.drift_policy = DriftPolicy::Correct;
    f.facts.image = Some("ghcr.io/acme/shop:latest".into());
    f.facts.description = Some(marker("cluster-b", "shop", "Lane", "testing", None));
    let p = f.plan(t(10));
    assert_conflict(&p, "TargetOwnedElsewhere", &["cluster-b"]);
    assert!(cond(&p, types::CONFIG_SYNCED).2.contains("not correcting"));
}

#[test]
fn a_source_built_target_is_refused_unless_the_lane_allows_converting_it() {
    let mut f = fx();
    f.facts.source_type = Some("github".into());
    let p = f.plan(t(0));
    assert_conflict(
        &p,
        "TargetSourceNotDocker",
        &["source type github", "spec.allowSourceConversion: true"],
    );
    assert!(
        p.outcome
            .status
            .mismatches
            .iter()
            .any(|m| m.field == "target.sourceType")
    );

    f.lane.spec.allow_source_conversion = true;
    assert_eq!(f.plan(t(0)).step.unwrap().name(), "CreateRecord");
    let mut f = pending(f);
    assert_eq!(f.plan(t(1)).step.unwrap().name(), "SetImage");

    // A source type Dokploy did not give: nothing changes, with or without the flag.
    f.facts.source_type = None;
    for allow in [false, true] {
        f.lane.spec.allow_source_conversion = allow;
        let p = f.plan(t(1));
        assert_eq!(p.step, None);
        let (_, verdict, message) = cond(&p, types::TARGET_VERIFIED);
        assert_eq!(verdict, "Unverifiable", "{message}");
        assert!(message.contains("sourceType"), "{message}");
    }
}

#[test]
fn lanes_naming_one_manage_target_all_stand_still() {
    let mut f = deployed_fixture();
    f.lane.spec.drift_policy = DriftPolicy::Correct;
    f.facts.image = Some("ghcr.io/acme/shop:latest".into());
    f.rivals = vec!["prod".into(), "staging".into()];
    let p = f.plan(t(10));
    assert_conflict(
        &p,
        "TargetSharedByLanes",
        &["Lanes prod, staging", "ProviderTarget web", "spec.targetRef"],
    );
    // A new artifact is not deployed either.
    let mut f = fx();
    f.rivals = vec!["prod".into()];
    assert_conflict(&f.plan(t(0)), "TargetSharedByLanes", &["Lane prod of"]);
    // Observe targets may be watched by any number of lanes.
    f.target.spec.management_policy = ManagementPolicy::Observe;
    assert_eq!(cond(&f.plan(t(0)), types::STALLED).1, "TargetNotManaged");
}

#[test]
fn rivals_are_the_other_lanes_of_the_namespace_on_the_same_target() {
    let lane = |ns: &str, name: &str, target: &str| {
        let mut l = Lane::new(
            name,
            LaneSpec {
                target_ref: LocalObjectRef::new(target),
                ..Default::default()
            },
        );
        l.metadata.namespace = Some(ns.into());
        l
    };
    let me = lane("shop", "testing", "web");
    let all = [
        me.clone(),
        lane("shop", "prod", "web"),
        lane("shop", "canary", "web"),
        lane("shop", "other", "api"),
        lane("acme", "prod", "web"),
    ];
    assert_eq!(
        rival_lanes(&me, &all),
        vec!["canary".to_string(), "prod".to_string()]
    );
    assert!(rival_lanes(&me, [&me]).is_empty());
}

#[test]
fn an_artifact_of_another_repository_is_never_deployed() {
    let mut f = fx();
    f.artifact.spec.image.repository = "ghcr.io/evil/shop".into();
    let p = f.plan(t(0));
    assert_eq!(p.step, None);
    let (stalled, reason, message) = cond(&p, types::STALLED);
    assert_eq!(
        (stalled.as_str(), reason.as_str()),
        ("True", "ArtifactRepositoryMismatch")
    );
    assert!(
        message.contains("ghcr.io/evil/shop") && message.contains("ghcr.io/acme/shop"),
        "{message}"
    );
    // Nor is an attempt planned before the Product changed continued.
    let mut f = pending(fx());
    f.product.spec.image_repository = "ghcr.io/acme/other".into();
    assert_eq!(f.plan(t(1)).step, None);
}

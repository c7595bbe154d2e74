#![allow(clippy::unwrap_used)]

use super::*;
use launchplane_api::identity::{Classification, ClassificationReason};
use launchplane_api::resources::{CleanupPolicy, LocalObjectRef, SweepBaseline};
use std::collections::BTreeSet;

fn policy(cleanup: CleanupPolicy, budget: i32) -> PreviewPolicy {
    PreviewPolicy {
        enabled: true,
        base_domain: Some("preview.shop.example.com".into()),
        template_target_ref: Some(LocalObjectRef::new("shop-preview-template")),
        cleanup,
        delete_budget: budget,
        ..PreviewPolicy::default()
    }
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

#[test]
fn names_follow_the_policy() {
    let n = names("shop", &policy(CleanupPolicy::Report, 3), 42).unwrap();
    assert_eq!(n.slug, "pr-42");
    assert_eq!(n.host, "pr-42.preview.shop.example.com");
    assert_eq!(n.url, "https://pr-42.preview.shop.example.com");
    assert_eq!(n.target_name, "shop-pr-42");
    assert_eq!(n.preview_id, "shop-pr-42");
}

#[test]
fn naming_refuses_a_disabled_or_incomplete_policy() {
    let mut p = policy(CleanupPolicy::Report, 3);
    p.enabled = false;
    assert!(matches!(names("shop", &p, 1), Err(NamingError::Disabled { .. })));
    let mut p = policy(CleanupPolicy::Report, 3);
    p.base_domain = None;
    let e = names("shop", &p, 1).unwrap_err();
    assert!(e.to_string().contains("preview.baseDomain"), "{e}");
}

#[test]
fn only_exact_preview_names_map_back_to_a_number() {
    let p = policy(CleanupPolicy::Report, 3);
    assert_eq!(number_of("shop", &p, "shop-pr-42"), Some(42));
    for other in [
        "shop-prod",
        "shop-pr-",
        "shop-pr-42x",
        "shop-pr-042",
        "shopx-pr-42",
        "other-pr-42",
        "shop-pr-4-2",
    ] {
        assert_eq!(number_of("shop", &p, other), None, "{other}");
    }
    let custom = PreviewPolicy {
        slug_template: "preview-{number}-web".into(),
        ..p
    };
    assert_eq!(number_of("shop", &custom, "shop-preview-7-web"), Some(7));
    assert_eq!(number_of("shop", &custom, "shop-preview-7"), None);
}

#[test]
fn a_new_head_or_artifact_starts_a_generation_and_a_repeat_does_not() {
    let (g, added) = request_generation(&[], "shop-pr-42", "a".repeat(40).as_str(), "shop-1", t(0), 10);
    assert!(added);
    assert_eq!(g[0].phase, GenerationPhase::Requested);
    let (again, added) = request_generation(&g, "shop-pr-42", "a".repeat(40).as_str(), "shop-1", t(5), 10);
    assert!(!added);
    assert_eq!(again, g);
    let (next, added) = request_generation(&g, "shop-pr-42", "b".repeat(40).as_str(), "shop-2", t(9), 10);
    assert!(added);
    assert_eq!(next.len(), 2);
    assert_ne!(next[0].id, next[1].id);
}

#[test]
fn a_failed_generation_keeps_the_previous_ready_one_serving_and_history_keeps_it() {
    let mut generations = Vec::new();
    for (i, phase) in [
        GenerationPhase::Ready,
        GenerationPhase::Failed,
        GenerationPhase::Failed,
        GenerationPhase::Failed,
    ]
    .into_iter()
    .enumerate()
    {
        let (g, _) = request_generation(
            &generations,
            "shop-pr-1",
            &format!("{i:0>40}"),
            "a",
            t(i as i64),
            2,
        );
        generations = g;
        if let Some(last) = generations.last_mut() {
            last.phase = phase;
        }
    }
    assert_eq!(generations.len(), 2, "bounded");
    let serving = serving(&generations, Some("app")).unwrap();
    assert_eq!(serving.head_sha.as_deref(), Some(format!("{:0>40}", 0).as_str()));
    assert_eq!(generations.last().unwrap().phase, GenerationPhase::Failed);
}

#[test]
fn ttl_parsing_and_expiry() {
    assert_eq!(parse_ttl("72h"), Some(SignedDuration::from_hours(72)));
    assert_eq!(parse_ttl("1h30m"), Some(SignedDuration::from_mins(90)));
    assert_eq!(parse_ttl("45s"), Some(SignedDuration::from_secs(45)));
    for bad in ["", "h", "10", "10d", "0s", "1h-2m"] {
        assert_eq!(parse_ttl(bad), None, "{bad}");
    }
    assert_eq!(expires_at(t(0), Some("1m")), Some(t(60)));
    assert_eq!(expires_at(t(0), None), None);
}

fn inventory(names: &[&str]) -> Vec<InventoryTarget> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| InventoryTarget {
            id: format!("id-{i}"),
            name: n.to_string(),
        })
        .collect()
}

fn baseline(environment: &str, targets: i32) -> SweepBaseline {
    SweepBaseline {
        environment_id: environment.into(),
        targets,
    }
}

fn listing(targets: &[InventoryTarget]) -> Result<Listing<'_>, String> {
    Ok(Listing {
        environment: "env-previews",
        targets,
    })
}

#[test]
fn the_sweep_reports_orphans_and_deletes_only_with_delete_within_budget() {
    let targets = inventory(&[
        "shop-pr-1",
        "shop-pr-2",
        "shop-pr-3",
        "shop-pr-4",
        "shop-prod",
        "other-pr-9",
    ]);
    let live = BTreeSet::from([2]);
    let whole = baseline("env-previews", 6);
    let report = plan_sweep(&SweepInput {
        product: "shop",
        policy: &policy(CleanupPolicy::Report, 3),
        inventory: listing(&targets),
        baseline: Some(&whole),
        live: &live,
    });
    let orphan_names: Vec<_> = report
        .orphans
        .iter()
        .map(|o| o.display_name.clone().unwrap())
        .collect();
    assert_eq!(orphan_names, vec!["shop-pr-1", "shop-pr-3", "shop-pr-4"]);
    assert!(report.delete.is_empty());
    assert_eq!(
        report.whole,
        Some(baseline("env-previews", 6)),
        "a whole listing moves the baseline, under Report too"
    );

    let delete_policy = policy(CleanupPolicy::Delete, 2);
    let delete = plan_sweep(&SweepInput {
        product: "shop",
        policy: &delete_policy,
        inventory: listing(&targets),
        baseline: Some(&whole),
        live: &live,
    });
    assert_eq!(delete.delete, vec!["id-0", "id-2"], "the budget caps deletions");
    assert!(delete.orphans[2].reason.clone().unwrap().contains("deleteBudget"));
    assert_eq!(
        next_baseline(&delete, Some(&whole), 2),
        Some(baseline("env-previews", 4)),
        "what the sweep deleted is not expected in the next listing"
    );
}

#[test]
fn the_sweep_deletes_nothing_when_the_inventory_failed_or_shrank() {
    let live = BTreeSet::new();
    let delete_policy = policy(CleanupPolicy::Delete, 10);
    let ten = baseline("env-previews", 10);
    let failed = plan_sweep(&SweepInput {
        product: "shop",
        policy: &delete_policy,
        inventory: Err("overview.services: server error 503".into()),
        baseline: Some(&ten),
        live: &live,
    });
    assert!(failed.delete.is_empty());
    assert_eq!(failed.whole, None);
    assert_eq!(
        next_baseline(&failed, Some(&ten), 0),
        Some(ten.clone()),
        "a failed listing leaves the baseline"
    );
    assert!(failed.refused.unwrap().contains("could not be listed"));

    let few = inventory(&["shop-pr-1", "shop-pr-2"]);
    let shrunk = plan_sweep(&SweepInput {
        product: "shop",
        policy: &delete_policy,
        inventory: listing(&few),
        baseline: Some(&ten),
        live: &live,
    });
    assert!(shrunk.delete.is_empty());
    assert_eq!(shrunk.orphans.len(), 2, "still reported");
    assert!(shrunk.refused.clone().unwrap().contains("markedly fewer"));

    let three = baseline("env-previews", 3);
    let same = plan_sweep(&SweepInput {
        product: "shop",
        policy: &delete_policy,
        inventory: listing(&few),
        baseline: Some(&three),
        live: &live,
    });
    assert_eq!(same.delete.len(), 2);
}

/// D11: a refused sweep never lowers the baseline, so the same partial listing is refused
/// the next round too, and every round after, until a listing looks whole again.
#[test]
fn a_refused_sweep_keeps_the_baseline_so_the_same_partial_listing_is_refused_again() {
    let live = BTreeSet::new();
    let delete_policy = policy(CleanupPolicy::Delete, 10);
    let partial = inventory(&["shop-pr-1"]);
    let mut kept = Some(baseline("env-previews", 6));
    for round in 0..3 {
        let plan = plan_sweep(&SweepInput {
            product: "shop",
            policy: &delete_policy,
            inventory: listing(&partial),
            baseline: kept.as_ref(),
            live: &live,
        });
        assert!(plan.delete.is_empty(), "round {round} deleted {:?}", plan.delete);
        assert!(
            plan.refused.clone().unwrap().contains("markedly fewer"),
            "{plan:?}"
        );
        assert_eq!(plan.whole, None);
        kept = next_baseline(&plan, kept.as_ref(), 0);
        assert_eq!(kept, Some(baseline("env-previews", 6)), "round {round}");
    }

    // A whole listing again (at least half the baseline): it moves, and deleting resumes.
    let back = inventory(&["shop-pr-1", "shop-pr-2", "shop-pr-3"]);
    let plan = plan_sweep(&SweepInput {
        product: "shop",
        policy: &delete_policy,
        inventory: listing(&back),
        baseline: kept.as_ref(),
        live: &live,
    });
    assert_eq!(plan.delete.len(), 3);
    assert_eq!(
        next_baseline(&plan, kept.as_ref(), 3),
        Some(baseline("env-previews", 0))
    );
}

/// Half the baseline is still whole (the floor), one fewer is not.
#[test]
fn the_floor_is_half_the_baseline() {
    let live = BTreeSet::new();
    let delete_policy = policy(CleanupPolicy::Delete, 10);
    let four = baseline("env-previews", 4);
    let two = inventory(&["shop-pr-1", "shop-pr-2"]);
    let one = inventory(&["shop-pr-1"]);
    let at_floor = plan_sweep(&SweepInput {
        product: "shop",
        policy: &delete_policy,
        inventory: listing(&two),
        baseline: Some(&four),
        live: &live,
    });
    assert_eq!(at_floor.refused, None);
    assert_eq!(at_floor.whole, Some(baseline("env-previews", 2)));
    let below = plan_sweep(&SweepInput {
        product: "shop",
        policy: &delete_policy,
        inventory: listing(&one),
        baseline: Some(&four),
        live: &live,
    });
    assert!(below.refused.is_some());
    assert_eq!(next_baseline(&below, Some(&four), 0), Some(four));
}

/// No baseline (a new Product, a first start, a state folder without one) or a baseline of
/// another environment: the listing becomes the baseline and nothing is deleted that round.
#[test]
fn the_first_listing_of_an_environment_sets_the_baseline_and_deletes_nothing() {
    let live = BTreeSet::new();
    let delete_policy = policy(CleanupPolicy::Delete, 10);
    let targets = inventory(&["shop-pr-1", "shop-pr-2", "shop-prod"]);
    let first = plan_sweep(&SweepInput {
        product: "shop",
        policy: &delete_policy,
        inventory: listing(&targets),
        baseline: None,
        live: &live,
    });
    assert!(first.delete.is_empty());
    assert_eq!(first.orphans.len(), 2, "reported");
    assert!(
        first.refused.clone().unwrap().contains("first listing"),
        "{first:?}"
    );
    let set = next_baseline(&first, None, 0);
    assert_eq!(set, Some(baseline("env-previews", 3)));

    let next = plan_sweep(&SweepInput {
        product: "shop",
        policy: &delete_policy,
        inventory: listing(&targets),
        baseline: set.as_ref(),
        live: &live,
    });
    assert_eq!(
        next.delete,
        vec!["id-0", "id-1"],
        "confirmed by a second whole listing"
    );

    let production = baseline("env-production", 40);
    let moved = plan_sweep(&SweepInput {
        product: "shop",
        policy: &delete_policy,
        inventory: listing(&targets),
        baseline: Some(&production),
        live: &live,
    });
    assert!(moved.delete.is_empty());
    assert!(moved.refused.unwrap().contains("environment changed"));
    assert_eq!(moved.whole, Some(baseline("env-previews", 3)));
}

// === verification: fresh evidence only ===

#[test]
fn only_a_404_the_org_listing_confirms_forgets_the_application() {
    assert_eq!(check_target("app-1", AppRead::Ours, None), TargetCheck::Ours);
    assert_eq!(
        check_target("app-1", AppRead::NotFound, Some(Listed::Absent)),
        TargetCheck::Gone
    );
    for (read, listed) in [
        (AppRead::NotFound, None),
        (AppRead::NotFound, Some(Listed::Present)),
        (AppRead::NotFound, Some(Listed::Failed("503".into()))),
        (AppRead::Failed("server error 500".into()), None),
        (AppRead::Failed("timed out".into()), Some(Listed::Absent)),
    ] {
        let check = check_target("app-1", read.clone(), listed.clone());
        assert!(
            matches!(check, TargetCheck::Unknown(_)),
            "{read:?} {listed:?} gave {check:?}"
        );
        assert_eq!(check.finding("app-1").verdict, Verdict::Unverifiable);
    }
    assert_eq!(TargetCheck::Gone.finding("app-1").verdict, Verdict::Missing);
    let theirs = check_target("app-1", AppRead::NotOurs("Conflict: x".into()), None);
    assert_eq!(theirs.finding("app-1").verdict, Verdict::Mismatch);
}

fn classification(reason: ClassificationReason, verdict: Verdict) -> Classification {
    Classification {
        verdict,
        reason,
        hard_failure: false,
        required: true,
        mismatches: Vec::new(),
        message: "detail".into(),
    }
}

#[test]
fn the_identity_is_matched_only_with_a_match_and_a_healthy_answer() {
    let url = "https://pr-1.preview.example.com";
    let matched = classification(ClassificationReason::Matched, Verdict::Matched);
    assert_eq!(
        identity_finding(&matched, Some(200), url).verdict,
        Verdict::Matched
    );
    assert_eq!(
        identity_finding(&matched, Some(503), url).verdict,
        Verdict::Mismatch
    );
    assert_eq!(
        identity_finding(&matched, None, url).verdict,
        Verdict::Unverifiable
    );
    let unreachable = classification(ClassificationReason::Unreachable, Verdict::Unverifiable);
    assert_eq!(
        identity_finding(&unreachable, None, url).verdict,
        Verdict::Unverifiable
    );
    let other = classification(ClassificationReason::Mismatch, Verdict::Mismatch);
    let finding = identity_finding(&other, Some(200), url);
    assert_eq!(finding.verdict, Verdict::Mismatch);
    assert!(finding.message.starts_with("identity"), "{}", finding.message);
}

fn ready(id: &str, target: Option<&str>) -> PreviewGeneration {
    PreviewGeneration {
        id: id.into(),
        phase: GenerationPhase::Ready,
        target_id: target.map(str::to_string),
        ..PreviewGeneration::default()
    }
}

#[test]
fn a_ready_generation_is_ready_only_on_fresh_evidence() {
    let g = ready("g1", Some("app-1"));
    let status_of = |fresh: &Fresh| {
        let c = preview_conditions(&[], Some(&g), fresh, &Progress::Settled, Some(1), t(0));
        (
            c.verdict,
            conditions::find(&c.conditions, types::READY)
                .unwrap()
                .status
                .clone(),
        )
    };
    let matched = Finding::new(Verdict::Matched, "ok");
    assert_eq!(
        status_of(&Fresh {
            target: Some(matched.clone()),
            identity: Some(matched.clone()),
        }),
        (Verdict::Matched, "True".to_string())
    );
    // Nothing looked at in this reconcile: not Matched, whatever the history says.
    assert_eq!(
        status_of(&Fresh::default()),
        (Verdict::Unchecked, "Unknown".to_string())
    );
    assert_eq!(
        status_of(&Fresh {
            target: Some(Finding::new(Verdict::Unverifiable, "application.one: 503")),
            identity: None,
        }),
        (Verdict::Unverifiable, "Unknown".to_string())
    );
    assert_eq!(
        status_of(&Fresh {
            target: Some(Finding::new(Verdict::Missing, "gone")),
            identity: None,
        }),
        (Verdict::Missing, "False".to_string())
    );
}

#[test]
fn recovery_requests_the_generation_again_and_nothing_serves_meanwhile() {
    let old = vec![ready("g0", Some("app-1")), ready("g1", Some("app-1"))];
    assert_eq!(serving(&old, Some("app-1")).map(|g| g.id.as_str()), Some("g1"));
    let again = redeploy_after_gone(&old, "g1", Some("app-1"), t(50));
    assert_eq!(again[0], old[0], "the rest of the history is untouched");
    assert_eq!(again[1].phase, GenerationPhase::Requested);
    assert_eq!(again[1].requested_time, Some(Time(t(50))));
    assert_eq!(again[1].target_id, None);
    assert!(again[1].evidence.clone().unwrap().contains("app-1"));
    // The application is gone: nothing serves, not even the older Ready generation.
    assert_eq!(serving(&again, None), None);
    // A new application: what was deployed to the old one does not serve there.
    assert_eq!(serving(&again, Some("app-2")), None);
    let redeployed = start_deploy(&again, "g1", "app-2", t(60));
    assert_eq!(redeployed[1].deploy_time, Some(Time(t(60))));
    let redeployed = set_phase(&redeployed, "g1", GenerationPhase::Ready, None, t(70));
    assert_eq!(
        serving(&redeployed, Some("app-2")).map(|g| g.id.as_str()),
        Some("g1")
    );
    // Generations recorded before targets were kept count as deployed to the current one.
    assert_eq!(
        serving(&[ready("legacy", None)], Some("app-9")).map(|g| g.id.as_str()),
        Some("legacy")
    );
}

#[test]
fn an_environment_resolves_by_id_or_unique_name_in_the_template_project() {
    let envs = vec![
        ProjectEnvironment {
            id: "e-prod".into(),
            name: Some("production".into()),
        },
        ProjectEnvironment {
            id: "e-prev".into(),
            name: Some("previews".into()),
        },
    ];
    let none = BTreeSet::new();
    assert_eq!(
        resolve_environment("previews", "p1", &envs, &none),
        Ok("e-prev".into())
    );
    assert_eq!(
        resolve_environment("e-prev", "p1", &envs, &none),
        Ok("e-prev".into())
    );
    let missing = resolve_environment("staging", "p1", &envs, &none).unwrap_err();
    assert!(missing.contains("staging") && missing.contains("p1"), "{missing}");
    // An id the org listing shows (an environment of another project with services).
    let listed = BTreeSet::from(["e-other"]);
    assert_eq!(
        resolve_environment("e-other", "p1", &envs, &listed),
        Ok("e-other".into())
    );
    let mut twice = envs.clone();
    twice.push(ProjectEnvironment {
        id: "e-prev-2".into(),
        name: Some("previews".into()),
    });
    let ambiguous = resolve_environment("previews", "p1", &twice, &none).unwrap_err();
    assert!(ambiguous.contains("2 environments"), "{ambiguous}");
}

mod pipeline;
mod teardown;

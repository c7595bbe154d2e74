#![allow(clippy::unwrap_used)]

use super::*;
use launchplane_api::resources::LocalObjectRef;

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
    let serving = serving(&generations).unwrap();
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
    let report = plan_sweep(&SweepInput {
        product: "shop",
        policy: &policy(CleanupPolicy::Report, 3),
        inventory: Ok(&targets),
        previous_count: Some(6),
        live: &live,
    });
    let orphan_names: Vec<_> = report
        .orphans
        .iter()
        .map(|o| o.display_name.clone().unwrap())
        .collect();
    assert_eq!(orphan_names, vec!["shop-pr-1", "shop-pr-3", "shop-pr-4"]);
    assert!(report.delete.is_empty());
    assert_eq!(report.count, Some(6));

    let delete_policy = policy(CleanupPolicy::Delete, 2);
    let delete = plan_sweep(&SweepInput {
        product: "shop",
        policy: &delete_policy,
        inventory: Ok(&targets),
        previous_count: Some(6),
        live: &live,
    });
    assert_eq!(delete.delete, vec!["id-0", "id-2"], "the budget caps deletions");
    assert!(delete.orphans[2].reason.clone().unwrap().contains("deleteBudget"));
}

#[test]
fn the_sweep_deletes_nothing_when_the_inventory_failed_or_shrank() {
    let live = BTreeSet::new();
    let delete_policy = policy(CleanupPolicy::Delete, 10);
    let failed = plan_sweep(&SweepInput {
        product: "shop",
        policy: &delete_policy,
        inventory: Err("overview.services: server error 503".into()),
        previous_count: Some(10),
        live: &live,
    });
    assert!(failed.delete.is_empty());
    assert_eq!(failed.count, None, "a failed listing is not remembered");
    assert!(failed.refused.unwrap().contains("could not be listed"));

    let few = inventory(&["shop-pr-1", "shop-pr-2"]);
    let shrunk = plan_sweep(&SweepInput {
        product: "shop",
        policy: &delete_policy,
        inventory: Ok(&few),
        previous_count: Some(10),
        live: &live,
    });
    assert!(shrunk.delete.is_empty());
    assert_eq!(shrunk.orphans.len(), 2, "still reported");
    assert!(shrunk.refused.unwrap().contains("markedly fewer"));

    let same = plan_sweep(&SweepInput {
        product: "shop",
        policy: &delete_policy,
        inventory: Ok(&few),
        previous_count: Some(3),
        live: &live,
    });
    assert_eq!(same.delete.len(), 2);
}

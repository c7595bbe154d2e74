#![allow(clippy::unwrap_used)]

use super::*;
use launchplane_api::resources::{PreviewPolicy, ProductSpec};

const SHA: &str = "b7e4d20f1a2b3c4d5e6f708192a3b4c5d6e7f809";
const SHA2: &str = "0123456789abcdef0123456789abcdef01234567";

fn product(enabled: bool) -> Product {
    let mut p = Product::new(
        "shop",
        ProductSpec {
            display_name: "Shop".into(),
            repository: "github.com/acme/shop".into(),
            image_repository: "ghcr.io/acme/shop".into(),
            preview: PreviewPolicy {
                enabled,
                base_domain: Some("preview.shop.test".into()),
                template_target_ref: Some(LocalObjectRef { name: "tpl".into() }),
                ..PreviewPolicy::default()
            },
            ..ProductSpec::default()
        },
    );
    p.metadata.namespace = Some("shop".into());
    p
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).unwrap()
}

fn event(action: Action, labels: &[&str]) -> PullRequestFacts {
    PullRequestFacts {
        action,
        host: "github.com".into(),
        full_name: "acme/shop".into(),
        number: 42,
        head_sha: SHA.into(),
        url: Some("https://github.com/acme/shop/pull/42".into()),
        open: true,
        labels: labels.iter().map(|l| l.to_string()).collect(),
        label: None,
        updated_at: Some(at(0)),
    }
}

fn ours(sha: &str, updated: i64) -> Preview {
    let mut e = event(Action::Opened, &["preview"]);
    e.head_sha = sha.into();
    e.updated_at = Some(at(updated));
    match decide(&e, &product(true), &[]) {
        Change::Create(p) => *p,
        other => panic!("{other:?}"),
    }
}

fn a_persons(name: &str, number: i64) -> Preview {
    let mut p = Preview::new(
        name,
        PreviewSpec {
            product_ref: LocalObjectRef { name: "shop".into() },
            pull_request: PullRequest {
                repository: "github.com/acme/shop".into(),
                number,
                url: None,
                head_sha: SHA.into(),
            },
            artifact_ref: LocalObjectRef {
                name: "by-hand".into(),
            },
            ttl: None,
        },
    );
    p.metadata.namespace = Some("shop".into());
    p
}

fn reason(change: &Change) -> &'static str {
    match change {
        Change::Ignore(i) => i.reason,
        Change::Create(_) => "Create",
        Change::Update(_) => "Update",
        Change::Delete { .. } => "Delete",
    }
}

#[test]
fn a_labelled_open_pull_request_gets_a_marked_preview_naming_its_artifact() {
    let change = decide(&event(Action::Opened, &["preview"]), &product(true), &[]);
    let Change::Create(p) = change else {
        panic!("{change:?}")
    };
    assert_eq!(p.metadata.name.as_deref(), Some("shop-pr-42"));
    assert_eq!(p.metadata.namespace.as_deref(), Some("shop"));
    assert!(is_managed(&p));
    let labels = p.metadata.labels.clone().unwrap();
    assert_eq!(labels[PRODUCT_LABEL], "shop");
    assert_eq!(labels[PULL_REQUEST_LABEL], "42");
    assert_eq!(
        p.metadata.annotations.clone().unwrap()[UPDATED_AT_ANNOTATION],
        at(0).to_string()
    );
    assert_eq!(p.spec.product_ref.name, "shop");
    assert_eq!(p.spec.pull_request.repository, "github.com/acme/shop");
    assert_eq!(p.spec.pull_request.number, 42);
    assert_eq!(p.spec.pull_request.head_sha, SHA);
    assert_eq!(
        p.spec.pull_request.url.as_deref(),
        Some("https://github.com/acme/shop/pull/42")
    );
    assert_eq!(p.spec.artifact_ref.name, "shop-b7e4d20");
    assert_eq!(p.spec.ttl, None);
}

/// The table: action × labels × what exists → the change.
#[test]
fn each_event_against_each_state() {
    let label = |l: &str| Some(l.to_string());
    struct Row {
        action: Action,
        labels: &'static [&'static str],
        label: Option<String>,
        open: bool,
        existing: Vec<Preview>,
        want: &'static str,
    }
    let rows = vec![
        // Creation needs the label and an open pull request.
        Row {
            action: Action::Opened,
            labels: &["preview"],
            label: None,
            open: true,
            existing: vec![],
            want: "Create",
        },
        Row {
            action: Action::Opened,
            labels: &[],
            label: None,
            open: true,
            existing: vec![],
            want: "NotLabelled",
        },
        Row {
            action: Action::Opened,
            labels: &["bug"],
            label: None,
            open: true,
            existing: vec![],
            want: "NotLabelled",
        },
        Row {
            action: Action::Reopened,
            labels: &["preview"],
            label: None,
            open: true,
            existing: vec![],
            want: "Create",
        },
        Row {
            action: Action::Labeled,
            labels: &["preview"],
            label: label("preview"),
            open: true,
            existing: vec![],
            want: "Create",
        },
        Row {
            action: Action::Labeled,
            labels: &["preview"],
            label: label("preview"),
            open: false,
            existing: vec![],
            want: "NotOpen",
        },
        Row {
            action: Action::Synchronize,
            labels: &["preview"],
            label: None,
            open: true,
            existing: vec![],
            want: "Create",
        },
        Row {
            action: Action::Resync,
            labels: &["preview"],
            label: None,
            open: true,
            existing: vec![],
            want: "Create",
        },
        // A new head updates the receiver's Preview; the same head changes nothing.
        Row {
            action: Action::Synchronize,
            labels: &["preview"],
            label: None,
            open: true,
            existing: vec![ours(SHA2, -10)],
            want: "Update",
        },
        Row {
            action: Action::Synchronize,
            labels: &["preview"],
            label: None,
            open: true,
            existing: vec![ours(SHA, -10)],
            want: "UpToDate",
        },
        Row {
            action: Action::Resync,
            labels: &["preview"],
            label: None,
            open: true,
            existing: vec![ours(SHA2, -10)],
            want: "Update",
        },
        Row {
            action: Action::Labeled,
            labels: &["preview", "bug"],
            label: label("bug"),
            open: true,
            existing: vec![ours(SHA, -10)],
            want: "UpToDate",
        },
        // Without the label nothing is updated, and nothing is deleted either.
        Row {
            action: Action::Synchronize,
            labels: &[],
            label: None,
            open: true,
            existing: vec![ours(SHA2, -10)],
            want: "NotLabelled",
        },
        // Deletion: only closed, or unlabeled with the policy's label; only the receiver's.
        Row {
            action: Action::Closed,
            labels: &["preview"],
            label: None,
            open: false,
            existing: vec![ours(SHA, -10)],
            want: "Delete",
        },
        Row {
            action: Action::Unlabeled,
            labels: &[],
            label: label("preview"),
            open: true,
            existing: vec![ours(SHA, -10)],
            want: "Delete",
        },
        Row {
            action: Action::Unlabeled,
            labels: &["preview"],
            label: label("bug"),
            open: true,
            existing: vec![ours(SHA, -10)],
            want: "OtherLabel",
        },
        Row {
            action: Action::Unlabeled,
            labels: &[],
            label: None,
            open: true,
            existing: vec![ours(SHA, -10)],
            want: "OtherLabel",
        },
        Row {
            action: Action::Closed,
            labels: &[],
            label: None,
            open: false,
            existing: vec![],
            want: "NoPreview",
        },
        Row {
            action: Action::Resync,
            labels: &[],
            label: None,
            open: true,
            existing: vec![ours(SHA, -10)],
            want: "NotLabelled",
        },
        // A person's Preview of the same pull request is never touched.
        Row {
            action: Action::Closed,
            labels: &[],
            label: None,
            open: false,
            existing: vec![a_persons("mine", 42)],
            want: "MadeByAPerson",
        },
        Row {
            action: Action::Unlabeled,
            labels: &[],
            label: label("preview"),
            open: true,
            existing: vec![a_persons("mine", 42)],
            want: "MadeByAPerson",
        },
        Row {
            action: Action::Opened,
            labels: &["preview"],
            label: None,
            open: true,
            existing: vec![a_persons("mine", 42)],
            want: "MadeByAPerson",
        },
        Row {
            action: Action::Synchronize,
            labels: &["preview"],
            label: None,
            open: true,
            existing: vec![a_persons("shop-pr-42", 42)],
            want: "MadeByAPerson",
        },
        // A person's Preview of another pull request that has the name blocks the creation.
        Row {
            action: Action::Opened,
            labels: &["preview"],
            label: None,
            open: true,
            existing: vec![a_persons("shop-pr-42", 7)],
            want: "NameTaken",
        },
        // A person's Preview of another pull request is irrelevant.
        Row {
            action: Action::Opened,
            labels: &["preview"],
            label: None,
            open: true,
            existing: vec![a_persons("other", 7)],
            want: "Create",
        },
        Row {
            action: Action::Other("edited".into()),
            labels: &["preview"],
            label: None,
            open: true,
            existing: vec![],
            want: "ActionNotHandled",
        },
    ];
    for (i, row) in rows.into_iter().enumerate() {
        let mut e = event(row.action.clone(), row.labels);
        e.label = row.label.clone();
        e.open = row.open;
        let got = decide(&e, &product(true), &row.existing);
        assert_eq!(
            reason(&got),
            row.want,
            "row {i}: {:?} labels {:?} label {:?}: {got:?}",
            row.action,
            row.labels,
            row.label
        );
    }
}

#[test]
fn the_resync_never_deletes_whatever_it_is_given() {
    // Every shape a listing can take for a pull request the receiver previews.
    for labels in [&[][..], &["preview"][..], &["bug"][..]] {
        for open in [true, false] {
            for sha in [SHA, SHA2, "not-a-sha"] {
                let mut e = event(Action::Resync, labels);
                e.open = open;
                e.head_sha = sha.into();
                let got = decide(&e, &product(true), &[ours(SHA, 0)]);
                assert!(
                    !matches!(got, Change::Delete { .. }),
                    "{labels:?} {open} {sha}: {got:?}"
                );
            }
        }
    }
}

#[test]
fn an_update_keeps_the_name_and_moves_head_artifact_and_updated_at() {
    let mut e = event(Action::Synchronize, &["preview"]);
    e.head_sha = SHA2.into();
    e.updated_at = Some(at(60));
    let mut existing = ours(SHA, 0);
    existing.metadata.name = Some("shop-pr-42-old-template".into());
    let Change::Update(p) = decide(&e, &product(true), &[existing]) else {
        panic!()
    };
    assert_eq!(p.metadata.name.as_deref(), Some("shop-pr-42-old-template"));
    assert_eq!(p.spec.pull_request.head_sha, SHA2);
    assert_eq!(p.spec.artifact_ref.name, "shop-0123456");
    assert_eq!(
        p.metadata.annotations.unwrap()[UPDATED_AT_ANNOTATION],
        at(60).to_string()
    );
}

#[test]
fn an_event_older_than_the_preview_changes_nothing() {
    // A synchronize delivered late, after a newer one wrote the Preview.
    let mut late = event(Action::Synchronize, &["preview"]);
    late.head_sha = SHA2.into();
    late.updated_at = Some(at(-30));
    assert_eq!(reason(&decide(&late, &product(true), &[ours(SHA, 0)])), "Stale");
    // A closed event from before a reopen does not tear the reopened preview down.
    let mut old_close = event(Action::Closed, &["preview"]);
    old_close.open = false;
    old_close.updated_at = Some(at(-30));
    assert_eq!(
        reason(&decide(&old_close, &product(true), &[ours(SHA, 0)])),
        "Stale"
    );
    // Without a time on either side the event is taken.
    old_close.updated_at = None;
    assert_eq!(
        reason(&decide(&old_close, &product(true), &[ours(SHA, 0)])),
        "Delete"
    );
}

#[test]
fn disabled_previews_and_bad_shas_are_ignored_with_a_reason() {
    let e = event(Action::Opened, &["preview"]);
    let got = decide(&e, &product(false), &[]);
    assert_eq!(reason(&got), "PreviewsDisabled");
    let Change::Ignore(i) = got else { panic!() };
    assert!(i.message.contains("spec.preview.enabled"), "{}", i.message);
    // Disabling stops new previews; a close still takes the receiver's along.
    let mut close = event(Action::Closed, &[]);
    close.open = false;
    assert_eq!(
        reason(&decide(&close, &product(false), &[ours(SHA, -1)])),
        "Delete"
    );
    for bad in ["", "B7E4D20F1A2B3C4D5E6F708192A3B4C5D6E7F809", "b7e4d20", "main"] {
        let mut e = event(Action::Opened, &["preview"]);
        e.head_sha = bad.into();
        assert_eq!(
            reason(&decide(&e, &product(true), &[])),
            "InvalidHeadSha",
            "{bad}"
        );
    }
}

#[test]
fn a_products_repository_is_matched_with_or_without_host_and_without_case() {
    assert!(names_repository(
        "github.com/acme/shop",
        "github.com",
        "acme/shop"
    ));
    assert!(names_repository("acme/shop", "github.com", "acme/shop"));
    assert!(names_repository(
        "GitHub.com/Acme/Shop",
        "github.com",
        "acme/shop"
    ));
    assert!(names_repository(
        "https://github.com/acme/shop.git",
        "github.com",
        "acme/shop"
    ));
    assert!(!names_repository(
        "github.com/acme/shop",
        "github.example.com",
        "acme/shop"
    ));
    assert!(!names_repository(
        "github.com/acme/shop",
        "github.com",
        "acme/shopping"
    ));
    assert!(!names_repository("shop", "github.com", "acme/shop"));
    assert!(!names_repository("a/b/c/d", "github.com", "b/c"));
}

#[test]
fn a_custom_label_and_slug_template_are_followed() {
    let mut p = product(true);
    p.spec.preview.label = "deploy-preview".into();
    p.spec.preview.slug_template = "review-{number}".into();
    assert_eq!(
        reason(&decide(&event(Action::Opened, &["preview"]), &p, &[])),
        "NotLabelled"
    );
    let Change::Create(created) = decide(&event(Action::Opened, &["deploy-preview"]), &p, &[]) else {
        panic!()
    };
    assert_eq!(created.metadata.name.as_deref(), Some("shop-review-42"));
    let mut e = event(Action::Unlabeled, &[]);
    e.label = Some("preview".into());
    assert_eq!(reason(&decide(&e, &p, &[*created.clone()])), "OtherLabel");
    e.label = Some("deploy-preview".into());
    assert_eq!(reason(&decide(&e, &p, &[*created])), "Delete");
}

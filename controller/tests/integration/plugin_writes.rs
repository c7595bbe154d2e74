//! `kubectl launchplane promote`, `rollback` and `approve` over the fake API server: each
//! creates exactly the one object it should (its name, namespace and spec), a second run
//! creates nothing, and what the plugin refuses reaches the API server not at all.

#![allow(clippy::unwrap_used)]

use super::plugin_views::{kubectl, shop};
use http::Method;
use launchplane_api::resources::{Approval, Promotion};
use launchplane_testkit::api_server::FakeApiServer;
use serde_json::{Value, json};

/// The bodies POSTed to `suffix`.
fn posted(server: &FakeApiServer, suffix: &str) -> Vec<Value> {
    server
        .calls()
        .into_iter()
        .filter(|c| c.method == Method::POST && c.path.ends_with(suffix))
        .map(|c| c.body)
        .collect()
}

fn created(body: &Value) -> (String, String, Value) {
    (
        body["metadata"]["name"].as_str().unwrap().to_string(),
        body["metadata"]["namespace"].as_str().unwrap().to_string(),
        body["spec"].clone(),
    )
}

#[tokio::test]
async fn promote_creates_the_promotion_of_what_the_source_verifies_once() {
    let server = FakeApiServer::new();
    shop(&server);
    let answer = kubectl(
        &server,
        &[
            "promote",
            "shop-prod",
            "--from",
            "shop-testing",
            "--reason",
            "QA signed off",
        ],
    )
    .await;
    assert_eq!(answer.code, 0, "{}", answer.stderr);
    assert_eq!(
        answer.stdout,
        "promotion.launchplane.dev/shop-prod-from-testing-3f2a9c1 created\n"
    );
    let bodies = posted(&server, "/namespaces/shop/promotions");
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        created(&bodies[0]),
        (
            "shop-prod-from-testing-3f2a9c1".into(),
            "shop".into(),
            json!({"productRef": {"name": "shop"}, "fromLane": "shop-testing", "toLane": "shop-prod",
                   "artifactRef": {"name": "shop-3f2a9c1"}, "reason": "QA signed off"})
        )
    );
    assert_eq!(
        bodies[0]["metadata"].get("labels"),
        None,
        "made by a person, not labelled automatic"
    );

    // The same command again: nothing new, and it says so.
    let again = kubectl(&server, &["promote", "shop-prod", "--from", "shop-testing"]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        again.stdout,
        "promotion.launchplane.dev/shop-prod-from-testing-3f2a9c1 unchanged\n"
    );
    assert!(
        again.stderr.contains("was made before; it is Pending"),
        "{}",
        again.stderr
    );
    assert_eq!(
        server.objects::<Promotion>("shop").len(),
        2,
        "the fixture's and this one"
    );

    // A named artifact, printed as the object created.
    let json = kubectl(
        &server,
        &[
            "promote",
            "shop-prod",
            "--from",
            "shop-testing",
            "--artifact",
            "shop-1a0b9c8",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(json.code, 0, "{}", json.stderr);
    let printed: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(printed["metadata"]["name"], "shop-prod-from-testing-1a0b9c8");
    assert_eq!(printed["spec"]["artifactRef"]["name"], "shop-1a0b9c8");
}

#[tokio::test]
async fn promote_refuses_before_asking_when_the_command_cannot_be_right() {
    let server = FakeApiServer::new();
    shop(&server);
    let cases: [(&[&str], i32, &str); 5] = [
        (
            &["promote", "shop-prod", "--from", "shop-prod"],
            2,
            "--from: lane shop-prod takes Promotions from shop-testing (spec.promotion.sourceLane), not from shop-prod; pass --from shop-testing",
        ),
        (
            &["promote", "shop-testing", "--from", "shop-prod"],
            2,
            "LANE: lane shop-testing is not fed by Promotions (it has no spec.promotion)",
        ),
        (
            &["promote", "shop-canary", "--from", "shop-testing"],
            1,
            "lane shop-canary not found in namespace shop",
        ),
        (
            &["promote", "shop-prod", "--from", "shop-qa"],
            1,
            "--from: lane shop-qa not found in namespace shop",
        ),
        (
            &[
                "promote",
                "shop-prod",
                "--from",
                "shop-testing",
                "--artifact",
                "shop-9",
            ],
            1,
            "--artifact: artifact shop-9 not found in namespace shop",
        ),
    ];
    for (args, code, message) in cases {
        let answer = kubectl(&server, args).await;
        assert_eq!(answer.code, code, "{args:?}: {}", answer.stderr);
        assert!(answer.stderr.contains(message), "{args:?}: {}", answer.stderr);
    }
    assert!(
        posted(&server, "/promotions").is_empty(),
        "nothing refused reached the API server"
    );
}

#[tokio::test]
async fn rollback_creates_a_rollback_promotion_only_to_a_listed_candidate() {
    let server = FakeApiServer::new();
    shop(&server);
    let refused = kubectl(&server, &["rollback", "shop-prod", "--to", "shop-3f2a9c1"]).await;
    assert_eq!(refused.code, 2);
    assert_eq!(
        refused.stderr,
        "error: --to: lane shop-prod can roll back to shop-2e1d0c9, shop-1a0b9c8 (status.rollbackCandidates, \
         newest first); shop-3f2a9c1 is not one of them\n"
    );
    assert!(posted(&server, "/promotions").is_empty());

    let answer = kubectl(
        &server,
        &[
            "rollback",
            "shop-prod",
            "--to",
            "shop-1a0b9c8",
            "--reason",
            "checkout errors",
        ],
    )
    .await;
    assert_eq!(answer.code, 0, "{}", answer.stderr);
    assert_eq!(
        answer.stdout,
        "promotion.launchplane.dev/shop-prod-rollback-1a0b9c8 created\n"
    );
    let bodies = posted(&server, "/namespaces/shop/promotions");
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        created(&bodies[0]),
        (
            "shop-prod-rollback-1a0b9c8".into(),
            "shop".into(),
            json!({"productRef": {"name": "shop"}, "toLane": "shop-prod",
                   "artifactRef": {"name": "shop-1a0b9c8"}, "reason": "checkout errors"})
        )
    );
}

#[tokio::test]
async fn approve_creates_an_approval_by_the_user_the_api_server_names() {
    let server = FakeApiServer::new();
    shop(&server);
    server.set_user("alice@example.com");
    let promoted = kubectl(&server, &["promote", "shop-prod", "--from", "shop-testing"]).await;
    assert_eq!(promoted.code, 0, "{}", promoted.stderr);

    let answer = kubectl(
        &server,
        &[
            "approve",
            "shop-prod-from-testing-3f2a9c1",
            "--comment",
            "QA signed off",
        ],
    )
    .await;
    assert_eq!(answer.code, 0, "{}", answer.stderr);
    assert_eq!(
        answer.stdout,
        "approval.launchplane.dev/shop-prod-from-testing-3f2a9c1-alice-example-com created\n"
    );
    assert_eq!(answer.stderr, "", "shop-prod requires approval: no note");
    assert_eq!(
        posted(&server, "/selfsubjectreviews").len(),
        1,
        "who am I, asked of the API server"
    );
    let bodies = posted(&server, "/namespaces/shop/approvals");
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        created(&bodies[0]),
        (
            "shop-prod-from-testing-3f2a9c1-alice-example-com".into(),
            "shop".into(),
            json!({"promotionRef": {"name": "shop-prod-from-testing-3f2a9c1"}, "approver": "alice@example.com",
                   "comment": "QA signed off"})
        )
    );

    let again = kubectl(&server, &["approve", "shop-prod-from-testing-3f2a9c1"]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.ends_with("unchanged\n"), "{}", again.stdout);
    assert_eq!(server.objects::<Approval>("shop").len(), 1);

    // Another user approves under their own name.
    server.set_user("system:serviceaccount:ci:release-bot");
    let bot = kubectl(
        &server,
        &["approve", "shop-prod-from-testing-3f2a9c1", "-o", "yaml"],
    )
    .await;
    assert_eq!(bot.code, 0, "{}", bot.stderr);
    assert!(
        bot.stdout
            .contains("approver: system:serviceaccount:ci:release-bot"),
        "{}",
        bot.stdout
    );
    assert_eq!(server.objects::<Approval>("shop").len(), 2);

    let finished = kubectl(&server, &["approve", "shop-prod-from-testing-2e1d0c9"]).await;
    assert_eq!(finished.code, 1);
    assert!(
        finished.stderr.contains("is Succeeded already"),
        "{}",
        finished.stderr
    );
    let missing = kubectl(&server, &["approve", "shop-prod-from-testing-0000000"]).await;
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("promotion shop-prod-from-testing-0000000 not found in namespace shop"),
        "{}",
        missing.stderr
    );
    assert_eq!(
        posted(&server, "/namespaces/shop/approvals").len(),
        3,
        "the two made and the one found made"
    );
}

#[tokio::test]
async fn an_object_the_api_server_finds_invalid_is_bad_input_and_one_it_forbids_is_refused() {
    let server = FakeApiServer::new();
    shop(&server);
    server.fail("/namespaces/shop/promotions", 422);
    let invalid = kubectl(&server, &["rollback", "shop-prod", "--to", "shop-1a0b9c8"]).await;
    assert_eq!(invalid.code, 2, "{}", invalid.stderr);
    assert!(
        invalid
            .stderr
            .starts_with("error: the API server refused Promotion shop/shop-prod-rollback-1a0b9c8: "),
        "{}",
        invalid.stderr
    );
    server.set_user("alice@example.com");
    server.fail("/namespaces/shop/approvals", 403);
    let forbidden = kubectl(&server, &["approve", "shop-prod-from-testing-2e1d0c9"]).await;
    // A Succeeded Promotion is refused before asking; a pending one reaches the API server.
    assert_eq!(forbidden.code, 1);
    let mut pending: Promotion = server.object("shop", "shop-prod-from-testing-2e1d0c9").unwrap();
    pending.metadata.name = Some("shop-prod-from-testing-3f2a9c1".into());
    pending.status = None;
    server.put(&pending);
    let forbidden = kubectl(&server, &["approve", "shop-prod-from-testing-3f2a9c1"]).await;
    assert_eq!(forbidden.code, 1, "{}", forbidden.stderr);
    assert!(
        forbidden
            .stderr
            .contains("the API server refused Approval shop/shop-prod-from-testing-3f2a9c1-alice-example-com by alice@example.com"),
        "{}",
        forbidden.stderr
    );
}

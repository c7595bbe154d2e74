//! `kubectl launchplane status`, `diff` and `history` over the fake API server: golden tables
//! and JSON (insta snapshots under `snapshots/`) of a namespace as the controller leaves it:
//! a verified testing lane, a prod lane fed by Promotions whose target drifted (a domain, and
//! an env key from a Secret), a lane not reconciled yet, two previews; and another namespace.
//! What the plugin shows is read from what the fixtures' statuses say, and nothing else.

#![allow(clippy::unwrap_used)]

use clap::Parser;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::ConfigMap;
use launchplane::cli::answer::Answer;
use launchplane::cli::plugin::{self, KubectlCli};
use launchplane_api::resources::{
    Artifact, DeploymentRecord, Lane, Preview, Product, Promotion, ProviderTarget, RuntimeIdentity,
};
use launchplane_testkit::api_server::FakeApiServer;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// The instant the plugin runs at.
pub const NOW: &str = "2027-01-15T12:00:00Z";

/// `NOW` less `secs` seconds, as RFC 3339.
pub fn ago(secs: i64) -> String {
    let now: Timestamp = NOW.parse().unwrap();
    Timestamp::from_second(now.as_second() - secs)
        .unwrap()
        .to_string()
}

/// The value of the Secret key the prod lane reads: it must never be printed.
pub const SECRET_VALUE: &str = "postgres://shop:s3cr3t-Pa55@db.internal/shop";

fn object<K: DeserializeOwned>(value: Value) -> K {
    serde_json::from_value(value).unwrap()
}

fn condition(type_: &str, verdict: &str, message: &str) -> Value {
    let status = match (type_, verdict) {
        ("Ready", _) => "False",
        (_, "Matched") => "True",
        _ => "False",
    };
    json!({"type": type_, "status": status, "reason": verdict, "message": message,
           "lastTransitionTime": ago(3600)})
}

fn image(c: char) -> String {
    format!("ghcr.io/acme/shop@sha256:{}", c.to_string().repeat(64))
}

fn identity(stage: &str, record: &str, artifact: &str, c: char) -> Value {
    json!({"product": "shop", "context": stage, "environmentKind": "stable",
           "deploymentRecordId": record, "artifactId": artifact,
           "sourceGitRef": c.to_string().repeat(40), "imageReference": image(c),
           "releaseTupleId": format!("shop-{stage}-{artifact}")})
}

fn record(
    namespace: &str,
    name: &str,
    lane: &str,
    attempt: u32,
    artifact: &str,
    phase: &str,
    at: i64,
) -> DeploymentRecord {
    object(json!({
        "apiVersion": "launchplane.dev/v1alpha1", "kind": "DeploymentRecord",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": ago(at + 60),
                     "labels": {"launchplane.dev/lane": lane, "launchplane.dev/attempt": attempt.to_string()}},
        "spec": {"laneRef": {"name": lane}, "artifactRef": {"name": artifact}, "targetRef": {"name": lane}},
        "status": {"phase": phase, "verification": {"finishedAt": ago(at)}}
    }))
}

fn artifact(name: &str, c: char) -> Artifact {
    object(json!({
        "apiVersion": "launchplane.dev/v1alpha1", "kind": "Artifact",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"image": {"repository": "ghcr.io/acme/shop", "digest": format!("sha256:{}", c.to_string().repeat(64))},
                 "source": {"repository": "github.com/acme/shop", "commit": c.to_string().repeat(40)}}
    }))
}

fn target(name: &str, id: &str, env: &str, domains: &[&str], status: Value) -> ProviderTarget {
    object(json!({
        "apiVersion": "launchplane.dev/v1alpha1", "kind": "ProviderTarget",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"providerConfigRef": {"name": "dokploy-main"}, "targetCategory": "application",
                 "targetId": id, "displayName": name, "providerTargetType": "docker", "project": "shop",
                 "environment": env, "domains": domains, "managementPolicy": "Manage"},
        "status": status
    }))
}

fn child(name: &str, probed: i64) -> RuntimeIdentity {
    object(json!({
        "apiVersion": "launchplane.dev/v1alpha1", "kind": "RuntimeIdentity",
        "metadata": {"name": name, "namespace": "shop", "labels": {"launchplane.dev/lane": name}},
        "spec": {"endpoint": {"baseUrl": format!("https://{name}.example.com")}},
        "status": {"verdict": "Matched", "reason": "Matched", "lastProbeTime": ago(probed)}
    }))
}

/// The `shop` namespace, and a `blog` namespace with one lane not reconciled yet.
pub fn shop(server: &FakeApiServer) {
    let testing_identity = identity("testing", "shop-testing-5-d4e5f6", "shop-3f2a9c1", '3');
    let prod_identity = identity("prod", "shop-prod-2-a1b2c3", "shop-2e1d0c9", '2');
    server.put(&object::<Product>(json!({
        "apiVersion": "launchplane.dev/v1alpha1", "kind": "Product",
        "metadata": {"name": "shop", "namespace": "shop"},
        "spec": {"displayName": "Shop", "repository": "github.com/acme/shop",
                 "imageRepository": "ghcr.io/acme/shop", "runtimePort": 8080}
    })));
    for (name, c) in [
        ("shop-1a0b9c8", '1'),
        ("shop-2e1d0c9", '2'),
        ("shop-3f2a9c1", '3'),
    ] {
        server.put(&artifact(name, c));
    }
    server.put(&object::<Lane>(json!({
        "apiVersion": "launchplane.dev/v1alpha1", "kind": "Lane",
        "metadata": {"name": "shop-testing", "namespace": "shop", "generation": 2},
        "spec": {"productRef": {"name": "shop"}, "stage": "testing", "targetRef": {"name": "shop-testing"},
                 "artifactRef": {"name": "shop-3f2a9c1"}},
        "status": {
            "observedGeneration": 2,
            "desired": {"artifact": "shop-3f2a9c1"},
            "inventory": {"artifact": "shop-3f2a9c1", "deploymentRecord": "shop-testing-5-d4e5f6", "since": ago(7200)},
            "verdict": "Matched",
            "expectedIdentity": testing_identity.clone(),
            "observedIdentity": testing_identity,
            "lastDeploymentRecord": "shop-testing-5-d4e5f6",
            "rollbackCandidates": ["shop-3f2a9c1", "shop-2e1d0c9"],
            "conditions": [
                condition("TargetVerified", "Matched", "the target matches its ProviderTarget"),
                condition("ConfigSynced", "Matched", "image and owned env keys match deployment record shop-testing-5-d4e5f6"),
                condition("Deployed", "Matched", "runs shop-3f2a9c1"),
                condition("RuntimeIdentityVerified", "Matched", "the app serves the expected identity"),
                condition("Healthy", "Matched", "no health checks declared")
            ]
        }
    })));
    server.put(&object::<Lane>(json!({
        "apiVersion": "launchplane.dev/v1alpha1", "kind": "Lane",
        "metadata": {"name": "shop-prod", "namespace": "shop", "generation": 4},
        "spec": {"productRef": {"name": "shop"}, "stage": "prod", "targetRef": {"name": "shop-prod"},
                 "env": {"values": [{"name": "LOG_FORMAT", "value": "json"}],
                         "configMapRefs": [{"name": "shop-config"}], "secretRefs": [{"name": "shop-db"}]},
                 "runtimeIdentity": {"required": true},
                 "promotion": {"sourceLane": "shop-testing", "requireApproval": true}},
        "status": {
            "observedGeneration": 4,
            "desired": {"artifact": "shop-2e1d0c9", "promotion": "shop-prod-from-testing-2e1d0c9"},
            "inventory": {"artifact": "shop-2e1d0c9", "deploymentRecord": "shop-prod-2-a1b2c3",
                          "promotion": "shop-prod-from-testing-2e1d0c9", "since": ago(86_400)},
            "verdict": "Mismatch",
            "expectedIdentity": prod_identity.clone(),
            "observedIdentity": prod_identity,
            "mismatches": [
                {"field": "target.domains", "expected": "shop.example.com,www.shop.example.com", "observed": "shop.example.com"},
                {"field": "env.DATABASE_URL", "withheld": true}
            ],
            "lastDeploymentRecord": "shop-prod-2-a1b2c3",
            "rollbackCandidates": ["shop-2e1d0c9", "shop-1a0b9c8"],
            "conditions": [
                condition("TargetVerified", "Mismatch", "domains: expected shop.example.com,www.shop.example.com, observed shop.example.com"),
                condition("ConfigSynced", "Mismatch", "the target differs from deployment record shop-prod-2-a1b2c3: env.DATABASE_URL (withheld) (driftPolicy Report: not corrected)"),
                condition("Deployed", "Matched", "runs shop-2e1d0c9"),
                condition("RuntimeIdentityVerified", "Matched", "the app serves the expected identity"),
                condition("Healthy", "Matched", "no health checks declared")
            ]
        }
    })));
    server.put(&target(
        "shop-testing",
        "app-7Hq2xK9mTzL4",
        "testing",
        &["testing.shop.example.com"],
        json!({"verdict": "Matched", "reason": "Matched", "lastObservedTime": ago(30),
               "boundTargetId": "app-7Hq2xK9mTzL4",
               "observed": {"targetId": "app-7Hq2xK9mTzL4", "displayName": "shop-testing", "category": "application",
                            "type": "docker", "project": "shop", "environment": "testing",
                            "domains": ["testing.shop.example.com"], "image": image('3'),
                            "envKeys": ["LAUNCHPLANE_ARTIFACT_ID", "LAUNCHPLANE_DEPLOYMENT_RECORD_ID",
                                        "LAUNCHPLANE_RUNTIME_IDENTITY_JSON", "LAUNCHPLANE_SOURCE_GIT_REF"]}}),
    ));
    server.put(&target(
        "shop-prod",
        "app-Vb81NcQe5sRw",
        "production",
        &["shop.example.com", "www.shop.example.com"],
        json!({"verdict": "Mismatch", "reason": "Drifted", "lastObservedTime": ago(90),
               "boundTargetId": "app-Vb81NcQe5sRw",
               "observed": {"targetId": "app-Vb81NcQe5sRw", "displayName": "shop-prod", "category": "application",
                            "type": "docker", "project": "shop", "environment": "production",
                            "domains": ["shop.example.com"], "image": image('2'),
                            "envKeys": ["DATABASE_URL", "LAUNCHPLANE_ARTIFACT_ID", "LAUNCHPLANE_DEPLOYMENT_RECORD_ID",
                                        "LAUNCHPLANE_RUNTIME_IDENTITY_JSON", "LAUNCHPLANE_SOURCE_GIT_REF",
                                        "LOG_FORMAT", "LOG_LEVEL", "SENTRY_DSN"]},
               "mismatches": [{"field": "domains", "expected": "shop.example.com,www.shop.example.com",
                               "observed": "shop.example.com"}]}),
    ));
    server.put(&child("shop-testing", 45));
    server.put(&child("shop-prod", 20));
    server.put(&object::<ConfigMap>(json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shop-config", "namespace": "shop"},
        "data": {"LOG_LEVEL": "info"}
    })));
    server.put_secret("shop", "shop-db", &[("DATABASE_URL", SECRET_VALUE.as_bytes())]);
    for r in [
        record(
            "shop",
            "shop-prod-1-9f8e7d",
            "shop-prod",
            1,
            "shop-1a0b9c8",
            "Succeeded",
            3 * 86_400,
        ),
        {
            let mut r = record(
                "shop",
                "shop-prod-2-a1b2c3",
                "shop-prod",
                2,
                "shop-2e1d0c9",
                "Succeeded",
                86_400,
            );
            r.spec.promotion_ref = Some(launchplane_api::resources::LocalObjectRef::new(
                "shop-prod-from-testing-2e1d0c9",
            ));
            r
        },
        record(
            "shop",
            "shop-testing-5-d4e5f6",
            "shop-testing",
            5,
            "shop-3f2a9c1",
            "Succeeded",
            7200,
        ),
    ] {
        server.put(&r);
    }
    server.put(&object::<Promotion>(json!({
        "apiVersion": "launchplane.dev/v1alpha1", "kind": "Promotion",
        "metadata": {"name": "shop-prod-from-testing-2e1d0c9", "namespace": "shop"},
        "spec": {"productRef": {"name": "shop"}, "fromLane": "shop-testing", "toLane": "shop-prod",
                 "artifactRef": {"name": "shop-2e1d0c9"}},
        "status": {"phase": "Succeeded", "artifact": "shop-2e1d0c9"}
    })));
    for (name, number, generations, serving, verdict) in [
        (
            "shop-pr-42",
            42,
            json!([{"id": "shop-pr-42-g1", "artifact": "shop-pr-42-aaaaaaa", "phase": "Failed"},
                   {"id": "shop-pr-42-g2", "artifact": "shop-pr-42-bbbbbbb", "phase": "Ready"}]),
            Some("shop-pr-42-g2"),
            "Matched",
        ),
        (
            "shop-pr-43",
            43,
            json!([{"id": "shop-pr-43-g1", "artifact": "shop-pr-43-ccccccc", "phase": "Deploying"}]),
            None,
            "Unchecked",
        ),
    ] {
        server.put(&object::<Preview>(json!({
            "apiVersion": "launchplane.dev/v1alpha1", "kind": "Preview",
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"productRef": {"name": "shop"}, "artifactRef": {"name": "shop-pr"},
                     "pullRequest": {"repository": "github.com/acme/shop", "number": number,
                                     "headSha": "b".repeat(40)}},
            "status": {"url": format!("https://pr-{number}.preview.shop.example.com"), "generations": generations,
                       "servingGeneration": serving, "verdict": verdict}
        })));
    }
    server.put(&object::<Lane>(json!({
        "apiVersion": "launchplane.dev/v1alpha1", "kind": "Lane",
        "metadata": {"name": "blog-prod", "namespace": "blog"},
        "spec": {"productRef": {"name": "blog"}, "stage": "prod", "targetRef": {"name": "blog-prod"},
                 "artifactRef": {"name": "blog-1"}}
    })));
}

/// The plugin's answer to `args` (as typed after `kubectl launchplane`), in namespace `shop`
/// unless the flags say otherwise, at [`NOW`], without colour.
pub async fn kubectl(server: &FakeApiServer, args: &[&str]) -> Answer {
    let cli = KubectlCli::try_parse_from(std::iter::once("kubectl-launchplane").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let scope = plugin::connect::scope(&cli.args.cluster, "shop");
    let now: Timestamp = NOW.parse().unwrap();
    plugin::answer(
        &server.client(),
        scope,
        &cli.args.command,
        cli.args.output,
        now,
        false,
    )
    .await
}

fn ok(answer: &Answer) -> &str {
    assert_eq!(answer.code, 0, "{}", answer.stderr);
    assert!(
        !answer.stdout.contains(SECRET_VALUE),
        "a Secret's value was printed"
    );
    &answer.stdout
}

fn no_writes(server: &FakeApiServer) {
    let writes: Vec<String> = server
        .calls()
        .iter()
        .filter(|c| c.method != http::Method::GET)
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    assert!(writes.is_empty(), "the reading commands wrote: {writes:?}");
}

#[tokio::test]
async fn status_shows_what_runs_where_as_table_json_and_yaml() {
    let server = FakeApiServer::new();
    shop(&server);
    insta::assert_snapshot!("status_table", ok(&kubectl(&server, &["status"]).await));
    insta::assert_snapshot!(
        "status_json",
        ok(&kubectl(&server, &["status", "-o", "json"]).await)
    );
    insta::assert_snapshot!(
        "status_all_namespaces_table",
        ok(&kubectl(&server, &["status", "-A"]).await)
    );

    let yaml = kubectl(&server, &["status", "shop", "-o", "yaml"]).await;
    let parsed: Value = serde_saphyr::from_str(ok(&yaml)).unwrap();
    let json: Value =
        serde_json::from_str(ok(&kubectl(&server, &["status", "shop", "-o", "json"]).await)).unwrap();
    assert_eq!(parsed, json, "YAML and JSON say the same");
    assert_eq!(json["lanes"][1]["echoed"], "shop-3f2a9c1");

    let blog = kubectl(&server, &["status", "-n", "blog"]).await;
    assert!(ok(&blog).contains("blog-prod"), "{}", blog.stdout);
    let missing = kubectl(&server, &["status", "nope"]).await;
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr,
        "error: product nope not found in namespace shop: `kubectl get products -n shop` lists them\n"
    );
    no_writes(&server);
}

#[tokio::test]
async fn diff_compares_spec_dokploy_and_the_app_field_by_field_and_withholds_secret_values() {
    let server = FakeApiServer::new();
    shop(&server);
    let table = kubectl(&server, &["diff", "lane/shop-prod"]).await;
    insta::assert_snapshot!("diff_table", ok(&table));
    let json = kubectl(&server, &["diff", "lane/shop-prod", "-o", "json"]).await;
    insta::assert_snapshot!("diff_json", ok(&json));
    let view: Value = serde_json::from_str(&json.stdout).unwrap();
    let row = |field: &str| {
        view["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["field"] == field)
            .unwrap_or_else(|| panic!("no row {field}"))
            .clone()
    };
    let db = row("env.DATABASE_URL");
    assert_eq!(
        (&db["withheld"], &db["spec"], &db["verdict"], &db["source"]),
        (
            &json!(true),
            &Value::Null,
            &json!("Mismatch"),
            &json!("Secret shop-db")
        )
    );
    assert_eq!(row("target.domains")["verdict"], "Mismatch");
    assert_eq!(row("target.project")["verdict"], "Matched");
    assert_eq!(row("env.LOG_LEVEL")["spec"], "info");
    assert_eq!(
        row("env.SENTRY_DSN")["verdict"],
        Value::Null,
        "the tenant's key is not compared"
    );
    assert_eq!(row("image")["app"], row("image")["spec"]);

    let missing = kubectl(&server, &["diff", "lane/shop-canary"]).await;
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("lane shop-canary not found in namespace shop"),
        "{}",
        missing.stderr
    );
    let wrong_kind = kubectl(&server, &["diff", "preview/shop-pr-42"]).await;
    assert_eq!(wrong_kind.code, 2);
    assert!(
        wrong_kind.stderr.contains("pass lane/NAME"),
        "{}",
        wrong_kind.stderr
    );
    no_writes(&server);
}

#[tokio::test]
async fn diff_of_a_lane_whose_secret_cannot_be_read_says_so_and_still_shows_the_drift() {
    let server = FakeApiServer::new();
    shop(&server);
    server.fail("/secrets/shop-db", 403);
    let answer = kubectl(&server, &["diff", "shop-prod", "-o", "json"]).await;
    let view: Value = serde_json::from_str(ok(&answer)).unwrap();
    let fields = view["fields"].as_array().unwrap();
    let env = fields.iter().find(|r| r["field"] == "env").unwrap();
    assert!(
        env["source"]
            .as_str()
            .unwrap()
            .starts_with("Secret shop-db: not readable"),
        "{env}"
    );
    let db = fields.iter().find(|r| r["field"] == "env.DATABASE_URL").unwrap();
    assert_eq!(
        (&db["verdict"], &db["withheld"]),
        (&json!("Mismatch"), &json!(true)),
        "{db}"
    );
}

#[tokio::test]
async fn history_is_launchplane_history_over_the_plugin_s_connection() {
    let server = FakeApiServer::new();
    shop(&server);
    insta::assert_snapshot!(
        "history_table",
        ok(&kubectl(&server, &["history", "shop-prod"]).await)
    );
    insta::assert_snapshot!(
        "history_json",
        ok(&kubectl(&server, &["history", "lane/shop-prod", "-o", "json"]).await)
    );
    let at = kubectl(
        &server,
        &["history", "shop-prod", "--at", &ago(2 * 86_400), "-o", "yaml"],
    )
    .await;
    assert!(ok(&at).contains("record: shop-prod-1-9f8e7d"), "{}", at.stdout);
    let missing = kubectl(&server, &["history", "shop-canary"]).await;
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("lane shop-canary not found in namespace shop"),
        "{}",
        missing.stderr
    );
    no_writes(&server);
}

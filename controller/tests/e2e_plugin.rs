//! `kubectl launchplane` against a real API server: the real binary, started under the plugin's
//! name (a symbolic link `kubectl-launchplane`, as the docs say to install it), reads a
//! namespace whose lanes, targets, identities, records and previews carry the statuses a
//! controller would write (written here through `/status`, so every verdict is known), and
//! creates Promotions and an Approval that the API server validates against the CRDs. The
//! approval is made by an impersonated user (`--as alice@example.com`, as `kubectl --as`),
//! and, where helm is at hand (`HELM`, which scripts/e2e.sh sets), under the chart's admission
//! policy, which accepts only an Approval whose approver is the user making it.
//!
//! Needs `KUBECONFIG`: without it, or when the cluster does not answer, the test says
//! `SKIPPED: ...` and passes, unless scripts/e2e.sh set up the cluster (then it fails).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e_support;

use e2e_support::{MANAGER, apply_crds, clean_up, connect, create_namespaces, render_approval_policy};
use futures::FutureExt;
use jiff::Timestamp;
use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube::{Api, Client, Config};
use launchplane_api::resources::{Approval, ApprovalSpec, LocalObjectRef, Promotion};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

const ALICE: &str = "alice@example.com";
const SECRET_VALUE: &str = "postgres://shop:e2e-s3cr3t@db/shop";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugin_reads_and_promotes_on_a_real_cluster() {
    let test = "e2e_plugin: kubectl launchplane on a real cluster";
    let Some(admin) = connect(test).await else {
        return;
    };
    apply_crds(&admin).await;
    let ns = format!("launchplane-e2e-plugin-{}", Timestamp::now().as_millisecond());
    let namespaces = create_namespaces(&admin, &[&ns]).await;
    let helm = std::env::var_os("HELM").map(PathBuf::from);
    let policy = match &helm {
        Some(helm) => Some(render_approval_policy(helm, &ns).await),
        None => {
            eprintln!("{test}: HELM is not set: approving without the chart's admission policy");
            None
        }
    };
    let policy_name = policy.as_ref().and_then(|(p, _)| p.metadata.name.clone());
    let outcome = std::panic::AssertUnwindSafe(scenario(&admin, &ns, policy))
        .catch_unwind()
        .await;
    if let Some(name) = policy_name {
        // Cluster-scoped: deleting the namespace does not remove them.
        let _ = Api::<ValidatingAdmissionPolicyBinding>::all(admin.clone())
            .delete(&name, &DeleteParams::default())
            .await;
        let _ = Api::<ValidatingAdmissionPolicy>::all(admin.clone())
            .delete(&name, &DeleteParams::default())
            .await;
    }
    clean_up(&namespaces, &[&ns], outcome).await;
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Run `kubectl-launchplane` (a link to the built binary in `dir`) with `args` in `ns`; the
/// child inherits `KUBECONFIG`.
async fn plugin(dir: &Path, ns: &str, args: &[&str]) -> Output {
    // -n and -A exclude each other, as with kubectl.
    let namespace: &[&str] = if args.contains(&"-A") { &[] } else { &["-n", ns] };
    let out = tokio::process::Command::new(dir.join("kubectl-launchplane"))
        .args(namespace)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .await
        .unwrap();
    assert!(
        !text(&out.stdout).contains(SECRET_VALUE) && !text(&out.stderr).contains(SECRET_VALUE),
        "{args:?} printed a Secret's value"
    );
    out
}

fn succeeded(args: &[&str], out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn api(client: &Client, ns: &str, kind: &str, plural: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("launchplane.dev", "v1alpha1", kind);
    Api::namespaced_with(
        client.clone(),
        ns,
        &ApiResource::from_gvk_with_plural(&gvk, plural),
    )
}

/// Create `object` (its spec), then write its `status` through the status subresource, as the
/// controller would.
async fn create_with_status(client: &Client, ns: &str, kind: &str, plural: &str, mut object: Value) {
    let status = object.as_object_mut().unwrap().remove("status");
    object["apiVersion"] = "launchplane.dev/v1alpha1".into();
    object["kind"] = kind.into();
    let name = object["metadata"]["name"].as_str().unwrap().to_string();
    let api = api(client, ns, kind, plural);
    let dynamic: DynamicObject = serde_json::from_value(object).unwrap();
    api.create(&PostParams::default(), &dynamic)
        .await
        .unwrap_or_else(|e| panic!("creating {kind} {name}: {e}"));
    if let Some(status) = status {
        api.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": status})),
        )
        .await
        .unwrap_or_else(|e| panic!("writing the status of {kind} {name}: {e}"));
    }
}

fn ago(secs: i64) -> String {
    Timestamp::from_second(Timestamp::now().as_second() - secs)
        .unwrap()
        .to_string()
}

fn condition(type_: &str, verdict: &str) -> Value {
    json!({"type": type_, "status": if verdict == "Matched" { "True" } else { "False" },
           "reason": verdict, "message": format!("{type_} is {verdict}"), "lastTransitionTime": ago(3600)})
}

fn image(c: char) -> String {
    format!("ghcr.io/acme/shop@sha256:{}", c.to_string().repeat(64))
}

fn identity(stage: &str, record: &str, artifact: &str, c: char) -> Value {
    json!({"product": "shop", "context": stage, "environmentKind": "stable", "deploymentRecordId": record,
           "artifactId": artifact, "sourceGitRef": c.to_string().repeat(40), "imageReference": image(c)})
}

/// The namespace as a controller would leave it: shop-testing verifies shop-3; shop-prod, fed
/// by Promotions, runs and echoes shop-2 (shop-1 before), with a domain and a Secret's env key
/// drifted on Dokploy; a preview.
async fn seed(client: &Client, ns: &str) {
    let mut secret = Secret::default();
    secret.metadata.name = Some("shop-db".into());
    secret.string_data = Some([("DATABASE_URL".to_string(), SECRET_VALUE.to_string())].into());
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    create_with_status(
        client,
        ns,
        "Product",
        "products",
        json!({
            "metadata": {"name": "shop"},
            "spec": {"displayName": "Shop", "repository": "github.com/acme/shop",
                     "imageRepository": "ghcr.io/acme/shop", "runtimePort": 8080}
        }),
    )
    .await;
    for (name, c) in [("shop-1", '1'), ("shop-2", '2'), ("shop-3", '3')] {
        create_with_status(client, ns, "Artifact", "artifacts", json!({
            "metadata": {"name": name},
            "spec": {"image": {"repository": "ghcr.io/acme/shop", "digest": format!("sha256:{}", c.to_string().repeat(64))},
                     "source": {"repository": "github.com/acme/shop", "commit": c.to_string().repeat(40)}}
        }))
        .await;
    }
    for (name, id, domains, observed_domains, env_keys, c, verdict, mismatches) in [
        (
            "shop-testing",
            "app-testing",
            json!(["testing.shop.example.com"]),
            json!(["testing.shop.example.com"]),
            json!(["LAUNCHPLANE_ARTIFACT_ID"]),
            '3',
            "Matched",
            json!([]),
        ),
        (
            "shop-prod",
            "app-prod",
            json!(["shop.example.com", "www.shop.example.com"]),
            json!(["shop.example.com"]),
            json!(["DATABASE_URL", "LAUNCHPLANE_ARTIFACT_ID"]),
            '2',
            "Mismatch",
            json!([{"field": "domains", "expected": "shop.example.com,www.shop.example.com", "observed": "shop.example.com"}]),
        ),
    ] {
        create_with_status(client, ns, "ProviderTarget", "providertargets", json!({
            "metadata": {"name": name},
            "spec": {"providerConfigRef": {"name": "dokploy-main"}, "targetCategory": "application", "targetId": id,
                     "displayName": name, "domains": domains, "managementPolicy": "Manage"},
            "status": {"verdict": verdict, "reason": if verdict == "Matched" { "Matched" } else { "Drifted" },
                       "lastObservedTime": ago(30), "boundTargetId": id, "mismatches": mismatches,
                       "observed": {"targetId": id, "displayName": name, "category": "application",
                                    "domains": observed_domains, "envKeys": env_keys, "image": image(c)}}
        }))
        .await;
        create_with_status(
            client,
            ns,
            "RuntimeIdentity",
            "runtimeidentities",
            json!({
                "metadata": {"name": name, "labels": {"launchplane.dev/lane": name}},
                "spec": {"endpoint": {"baseUrl": format!("https://{name}.example.com")}},
                "status": {"verdict": "Matched", "reason": "Matched", "lastProbeTime": ago(10)}
            }),
        )
        .await;
    }
    let testing = identity("testing", "shop-testing-1", "shop-3", '3');
    create_with_status(client, ns, "Lane", "lanes", json!({
        "metadata": {"name": "shop-testing"},
        "spec": {"productRef": {"name": "shop"}, "stage": "testing", "targetRef": {"name": "shop-testing"},
                 "artifactRef": {"name": "shop-3"}},
        "status": {"desired": {"artifact": "shop-3"}, "verdict": "Matched",
                   "inventory": {"artifact": "shop-3", "deploymentRecord": "shop-testing-1", "since": ago(7200)},
                   "expectedIdentity": testing, "observedIdentity": testing, "lastDeploymentRecord": "shop-testing-1",
                   "conditions": [condition("ConfigSynced", "Matched"), condition("RuntimeIdentityVerified", "Matched")]}
    }))
    .await;
    let prod = identity("prod", "shop-prod-2", "shop-2", '2');
    create_with_status(client, ns, "Lane", "lanes", json!({
        "metadata": {"name": "shop-prod"},
        "spec": {"productRef": {"name": "shop"}, "stage": "prod", "targetRef": {"name": "shop-prod"},
                 "env": {"secretRefs": [{"name": "shop-db"}]},
                 "promotion": {"sourceLane": "shop-testing", "requireApproval": true}},
        "status": {"desired": {"artifact": "shop-2", "promotion": "shop-prod-from-testing-2"}, "verdict": "Mismatch",
                   "inventory": {"artifact": "shop-2", "deploymentRecord": "shop-prod-2", "since": ago(3600)},
                   "expectedIdentity": prod, "observedIdentity": prod, "lastDeploymentRecord": "shop-prod-2",
                   "rollbackCandidates": ["shop-2", "shop-1"],
                   "mismatches": [{"field": "target.domains", "expected": "shop.example.com,www.shop.example.com",
                                   "observed": "shop.example.com"},
                                  {"field": "env.DATABASE_URL", "withheld": true}],
                   "conditions": [condition("TargetVerified", "Mismatch"), condition("ConfigSynced", "Mismatch"),
                                  condition("RuntimeIdentityVerified", "Matched")]}
    }))
    .await;
    for (name, lane, artifact, attempt, finished) in [
        ("shop-prod-1", "shop-prod", "shop-1", "1", 7200),
        ("shop-prod-2", "shop-prod", "shop-2", "2", 3600),
        ("shop-testing-1", "shop-testing", "shop-3", "1", 7200),
    ] {
        create_with_status(client, ns, "DeploymentRecord", "deploymentrecords", json!({
            "metadata": {"name": name, "labels": {"launchplane.dev/lane": lane, "launchplane.dev/attempt": attempt}},
            "spec": {"laneRef": {"name": lane}, "artifactRef": {"name": artifact}, "targetRef": {"name": lane}},
            "status": {"phase": "Succeeded", "verification": {"finishedAt": ago(finished)}}
        }))
        .await;
    }
    create_with_status(client, ns, "Preview", "previews", json!({
        "metadata": {"name": "shop-pr-42"},
        "spec": {"productRef": {"name": "shop"}, "artifactRef": {"name": "shop-3"},
                 "pullRequest": {"repository": "github.com/acme/shop", "number": 42, "headSha": "b".repeat(40)}},
        "status": {"url": "https://pr-42.preview.shop.example.com", "servingGeneration": "shop-pr-42-g1",
                   "verdict": "Matched", "generations": [{"id": "shop-pr-42-g1", "artifact": "shop-3", "phase": "Ready"}]}
    }))
    .await;
}

async fn scenario(
    admin: &Client,
    ns: &str,
    policy: Option<(ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding)>,
) {
    seed(admin, ns).await;
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_launchplane"),
        dir.path().join("kubectl-launchplane"),
    )
    .unwrap();
    let dir = dir.path();

    // status: what runs where, as written.
    let args = ["status", "-o", "json"];
    let status: Value = serde_json::from_str(&succeeded(&args, &plugin(dir, ns, &args).await)).unwrap();
    let lanes = status["lanes"].as_array().unwrap();
    let row = |name: &str| lanes.iter().find(|l| l["name"] == name).unwrap().clone();
    let prod = row("shop-prod");
    assert_eq!(
        (
            &prod["desired"],
            &prod["deployed"],
            &prod["echoed"],
            &prod["verdict"]
        ),
        (
            &json!("shop-2"),
            &json!("shop-2"),
            &json!("shop-2"),
            &json!("Mismatch")
        ),
        "{prod:#}"
    );
    assert_eq!(prod["drift"], json!(["target.domains", "env.DATABASE_URL"]));
    assert_eq!(
        prod["lastRecord"],
        json!({"name": "shop-prod-2", "phase": "Succeeded"})
    );
    let age = prod["evidence"]["ageSeconds"].as_i64().unwrap();
    assert!(
        (30..600).contains(&age),
        "the evidence is as old as its oldest part: {age}"
    );
    assert_eq!(row("shop-testing")["echoed"], "shop-3");
    assert_eq!(
        status["previews"][0]["url"],
        "https://pr-42.preview.shop.example.com"
    );
    let table = succeeded(&["status"], &plugin(dir, ns, &["status"]).await);
    assert!(table.starts_with("PRODUCT   LANE "), "{table}");
    assert!(!table.contains('\u{1b}'), "no colour off a terminal:\n{table}");
    let all = succeeded(
        &["status", "-A"],
        &plugin(dir, ns, &["status", "-A", "-o", "json"]).await,
    );
    assert!(all.contains(&format!("\"namespace\": \"{ns}\"")), "{all}");

    // diff: the three ways, the Secret's key withheld.
    let args = ["diff", "lane/shop-prod", "-o", "json"];
    let diff: Value = serde_json::from_str(&succeeded(&args, &plugin(dir, ns, &args).await)).unwrap();
    let field = |f: &str| {
        diff["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["field"] == f)
            .unwrap_or_else(|| panic!("{f}: {diff:#}"))
            .clone()
    };
    assert_eq!(field("target.domains")["verdict"], "Mismatch");
    assert_eq!(field("target.displayName")["verdict"], "Matched");
    let db = field("env.DATABASE_URL");
    assert_eq!(
        (&db["withheld"], &db["spec"], &db["verdict"]),
        (&json!(true), &Value::Null, &json!("Mismatch"))
    );
    let image = field("image");
    assert_eq!(
        (&image["dokploy"], &image["app"]),
        (&image["spec"], &image["spec"])
    );

    // history: the lane's records.
    let args = ["history", "shop-prod", "-o", "json"];
    let history: Value = serde_json::from_str(&succeeded(&args, &plugin(dir, ns, &args).await)).unwrap();
    let records: Vec<&str> = history["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["record"].as_str().unwrap())
        .collect();
    assert_eq!(records, ["shop-prod-1", "shop-prod-2"], "{history:#}");

    // promote: the API server accepts the Promotion the plugin makes, once.
    let args = [
        "promote",
        "shop-prod",
        "--from",
        "shop-testing",
        "--reason",
        "e2e",
    ];
    assert_eq!(
        succeeded(&args, &plugin(dir, ns, &args).await),
        "promotion.launchplane.dev/shop-prod-from-testing-3 created\n"
    );
    let promotions = Api::<Promotion>::namespaced(admin.clone(), ns);
    let made = promotions.get("shop-prod-from-testing-3").await.unwrap();
    assert_eq!(
        (
            made.spec.from_lane.as_deref(),
            made.spec.to_lane.as_str(),
            made.spec.artifact_ref.as_ref().map(|a| a.name.as_str())
        ),
        (Some("shop-testing"), "shop-prod", Some("shop-3"))
    );
    assert!(succeeded(&args, &plugin(dir, ns, &args).await).ends_with("unchanged\n"));
    assert_eq!(promotions.list(&Default::default()).await.unwrap().items.len(), 1);

    // rollback: refused to an artifact the lane never verified, made to one it did.
    let out = plugin(dir, ns, &["rollback", "shop-prod", "--to", "shop-3"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--to: lane shop-prod can roll back to shop-2, shop-1"),
        "{}",
        text(&out.stderr)
    );
    let args = ["rollback", "shop-prod", "--to", "shop-1"];
    succeeded(&args, &plugin(dir, ns, &args).await);
    let rollback = promotions.get("shop-prod-rollback-1").await.unwrap();
    assert_eq!(
        (rollback.spec.from_lane, rollback.spec.artifact_ref),
        (None, Some(LocalObjectRef::new("shop-1")))
    );

    // approve, as Alice, under the chart's admission policy when helm is at hand.
    grant_approver(admin, ns, ALICE).await;
    if let Some((policy, binding)) = policy {
        let name = policy.metadata.name.clone().unwrap();
        Api::<ValidatingAdmissionPolicy>::all(admin.clone())
            .create(&PostParams::default(), &policy)
            .await
            .unwrap();
        Api::<ValidatingAdmissionPolicyBinding>::all(admin.clone())
            .create(&PostParams::default(), &binding)
            .await
            .unwrap();
        wait_until_enforced(ns, &name).await;
    }
    let args = [
        "approve",
        "shop-prod-from-testing-3",
        "--comment",
        "e2e",
        "--as",
        ALICE,
    ];
    assert_eq!(
        succeeded(&args, &plugin(dir, ns, &args).await),
        "approval.launchplane.dev/shop-prod-from-testing-3-alice-example-com created\n"
    );
    let approval = Api::<Approval>::namespaced(admin.clone(), ns)
        .get("shop-prod-from-testing-3-alice-example-com")
        .await
        .unwrap();
    assert_eq!(
        approval.spec.approver, ALICE,
        "the approver is the user the API server saw"
    );
    assert_eq!(approval.spec.promotion_ref.name, "shop-prod-from-testing-3");

    // Bob may not read Promotions here: exit 1, saying what the cluster refused.
    let out = plugin(
        dir,
        ns,
        &["approve", "shop-prod-from-testing-3", "--as", "bob@example.com"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot get promotion"),
        "{}",
        text(&out.stderr)
    );
}

/// Let `user` read what `approve` reads and create Approvals in `ns`.
async fn grant_approver(admin: &Client, ns: &str, user: &str) {
    let rule = |resources: &[&str], verbs: &[&str]| PolicyRule {
        api_groups: Some(vec!["launchplane.dev".into()]),
        resources: Some(resources.iter().map(|r| r.to_string()).collect()),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        ..PolicyRule::default()
    };
    let mut role = Role::default();
    role.metadata.name = Some("approver".into());
    role.rules = Some(vec![
        rule(&["promotions", "lanes"], &["get"]),
        rule(&["approvals"], &["get", "create"]),
    ]);
    Api::<Role>::namespaced(admin.clone(), ns)
        .create(&PostParams::default(), &role)
        .await
        .unwrap();
    let binding = RoleBinding {
        metadata: kube::api::ObjectMeta {
            name: Some("approver".into()),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: "approver".into(),
        },
        subjects: Some(vec![Subject {
            kind: "User".into(),
            api_group: Some("rbac.authorization.k8s.io".into()),
            name: user.into(),
            namespace: None,
        }]),
    };
    Api::<RoleBinding>::namespaced(admin.clone(), ns)
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
}

/// Until the policy is enforced (the API server loads it asynchronously), a dry-run Approval by
/// Alice naming someone else is accepted (or refused by RBAC while the binding settles); once
/// the policy refuses it, it is enforced.
async fn wait_until_enforced(ns: &str, policy: &str) {
    let mut config = Config::infer().await.unwrap();
    config.auth_info.impersonate = Some(ALICE.into());
    let alice = Api::<Approval>::namespaced(Client::try_from(config).unwrap(), ns);
    let mut probe = Approval::new(
        "probe",
        ApprovalSpec {
            promotion_ref: LocalObjectRef::new("shop-prod-from-testing-3"),
            approver: "bob@example.com".into(),
            comment: None,
        },
    );
    probe.metadata.namespace = Some(ns.into());
    let dry_run = PostParams {
        dry_run: true,
        field_manager: Some(MANAGER.into()),
    };
    let started = Instant::now();
    loop {
        match alice.create(&dry_run, &probe).await {
            Err(kube::Error::Api(s)) if s.message.contains(policy) => return,
            answer if started.elapsed() > Duration::from_secs(60) => {
                panic!("{policy} was not enforced within 60 s; the last answer: {answer:?}")
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

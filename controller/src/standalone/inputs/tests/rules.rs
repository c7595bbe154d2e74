//! Issue 12, D10: every CEL rule of the CRDs is enforced at load, as `kubectl apply` enforces
//! it. One case breaks each rule of docs/examples; its counterpart is accepted. A rule added
//! to a CRD without a case here fails `every_rule_has_a_case`.

use super::*;
use serde_json::json;

/// An Incident as the controller writes it. docs/examples holds none (people never write
/// one), but a folder may, and its spec's immutability is a CRD rule like any other.
const INCIDENT: &str = "apiVersion: launchplane.dev/v1alpha1
kind: Incident
metadata:
  name: lane.shop-prod.deployed
spec:
  product: shop
  kind: Lane
  lane: shop-prod
  check: Deployed
";

/// A DataBootstrap. docs/examples holds none (the folder is applied whole, and a bootstrap
/// replaces a lane's data), but a folder may, and its rules are CRD rules like any other.
const DATA_BOOTSTRAP: &str = "apiVersion: launchplane.dev/v1alpha1
kind: DataBootstrap
metadata:
  name: shop-prod-demo-data
spec:
  laneRef:
    name: shop-prod
  source:
    dataset: demo-2026-11
  confirmDestructive: true
  backupGateRef:
    name: shop-prod-backup-20261121
";

/// A NotificationPolicy with one destination of each type (docs/examples holds none: its
/// demo folder runs without `--notify`).
const NOTIFICATION_POLICY: &str = "apiVersion: launchplane.dev/v1alpha1
kind: NotificationPolicy
metadata:
  name: oncall
spec:
  destinations:
    - name: issues
      githubIssue:
        owner: acme
        repo: shop-incidents
        tokenSecretRef: {name: github-token, key: token}
    - name: mail
      email:
        host: smtp.example.com
        port: 587
        from: launchplane@example.com
        to: [oncall@example.com]
        usernameSecretRef: {name: smtp, key: username}
        passwordSecretRef: {name: smtp, key: password}
    - name: chat
      discord:
        webhookUrlSecretRef: {name: discord, key: url}
  routes:
    - match: {products: [shop], severities: [critical]}
      destinations: [issues, mail]
      repeatInterval: 1h
      repeatMax: 24h
    - destinations: [chat]
      notifyResolved: false
---
apiVersion: v1
kind: Secret
metadata:
  name: github-token
stringData:
  token: FAKE-TOKEN
---
apiVersion: v1
kind: Secret
metadata:
  name: smtp
stringData:
  username: FAKE-USER
  password: FAKE-PASSWORD
---
apiVersion: v1
kind: Secret
metadata:
  name: discord
stringData:
  url: https://discord.example/api/webhooks/FAKE
";

/// docs/examples, [`INCIDENT`], [`DATA_BOOTSTRAP`] and [`NOTIFICATION_POLICY`] (shadowing the
/// shared helper for this module's cases).
fn examples() -> Vec<Manifest> {
    let mut manifests = super::examples();
    let mut errors = Vec::new();
    for (file, text) in [
        ("incident.yaml", INCIDENT),
        ("data-bootstrap.yaml", DATA_BOOTSTRAP),
        ("notification-policy.yaml", NOTIFICATION_POLICY),
    ] {
        crate::standalone::manifests::parse_file(Path::new(file), text, &mut manifests, &mut errors);
    }
    assert!(errors.is_empty(), "{errors:?}");
    manifests
}

/// [`super::edited`] over this module's [`examples`].
fn edited(kind: &str, name: &str, edit: &dyn Fn(&mut Value)) -> Vec<Manifest> {
    let mut manifests = examples();
    let m = manifests
        .iter_mut()
        .find(|m| m.kind == kind && (name.is_empty() || m.name == name))
        .unwrap_or_else(|| panic!("no {kind} {name} in docs/examples"));
    edit(&mut m.value);
    manifests
}

/// One rule broken: the manifest edited, where the rule sits in the schema, and where the
/// failure must be reported.
struct Case {
    kind: &'static str,
    /// The manifest's name; empty for the first of its kind.
    name: &'static str,
    /// The rule's schema node, `[]` for list items (e.g. `spec.healthChecks[]`).
    rule_at: &'static str,
    /// A fragment of the rule's text that tells it from the other rules of the node.
    rule: &'static str,
    /// The field the failure is reported at.
    field: &'static str,
    bad: fn(&mut Value),
    /// A neighbouring edit that keeps the rule: proves the case fails for the rule alone.
    good: fn(&mut Value),
}

const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn cases() -> Vec<Case> {
    vec![
        Case {
            kind: "Product",
            name: "shop",
            rule_at: "spec.preview.slugTemplate",
            rule: "{number}",
            field: "spec.preview.slugTemplate",
            bad: |v| set(v, "/spec/preview/slugTemplate", json!("pr")),
            good: |v| set(v, "/spec/preview/slugTemplate", json!("preview-{number}")),
        },
        Case {
            kind: "Product",
            name: "shop",
            rule_at: "spec.preview",
            rule: "self.enabled",
            field: "spec.preview",
            bad: |v| remove(v, "/spec/preview/baseDomain"),
            good: |v| {
                remove(v, "/spec/preview/baseDomain");
                set(v, "/spec/preview/enabled", json!(false));
            },
        },
        Case {
            kind: "Product",
            name: "shop",
            rule_at: "spec.incidents.openAfter",
            rule: "self.matches('[1-9]')",
            field: "spec.incidents.openAfter",
            bad: |v| set(v, "/spec/incidents/openAfter", json!("0m")),
            good: |v| set(v, "/spec/incidents/openAfter", json!("90s")),
        },
        Case {
            kind: "Product",
            name: "shop",
            rule_at: "spec.incidents.resolveAfter",
            rule: "self.matches('[1-9]')",
            field: "spec.incidents.resolveAfter",
            bad: |v| set(v, "/spec/incidents/resolveAfter", json!("0h0s")),
            good: |v| set(v, "/spec/incidents/resolveAfter", json!("1h")),
        },
        Case {
            kind: "Product",
            name: "shop",
            rule_at: "spec.odoo.imageEnvKey",
            rule: "self.matches",
            field: "spec.odoo.imageEnvKey",
            bad: |v| set(v, "/spec/odoo", json!({"imageEnvKey": "1-IMAGE"})),
            good: |v| set(v, "/spec/odoo", json!({"imageEnvKey": "SHOP_IMAGE"})),
        },
        Case {
            kind: "BackupGate",
            name: "",
            rule_at: "spec",
            rule: "has(self.capture)",
            field: "spec",
            bad: |v| remove(v, "/spec/location"),
            good: |v| {
                let lane = v["spec"]["laneRef"].clone();
                set(v, "/spec", json!({"laneRef": lane, "capture": {}}));
            },
        },
        Case {
            kind: "Product",
            name: "shop",
            rule_at: "spec.imageRepository",
            rule: "self.matches",
            field: "spec.imageRepository",
            bad: |v| set(v, "/spec/imageRepository", json!("ghcr.io/acme/shop:latest")),
            good: |v| set(v, "/spec/imageRepository", json!("registry.acme.dev:5000/shop")),
        },
        Case {
            kind: "Lane",
            name: "shop-testing",
            rule_at: "spec.healthChecks[]",
            rule: "self.type == 'provider'",
            field: "spec.healthChecks[0]",
            bad: |v| {
                set(
                    v,
                    "/spec/healthChecks/0/url",
                    json!("https://shop.example.com/healthz"),
                )
            },
            good: |v| {
                set(
                    v,
                    "/spec/healthChecks/0/url",
                    json!("https://shop.example.com/healthz"),
                );
                remove(v, "/spec/healthChecks/0/path");
            },
        },
        Case {
            kind: "Lane",
            name: "shop-prod",
            rule_at: "spec",
            rule: "!has(self.promotion) || !has(self.artifactRef)",
            field: "spec",
            bad: |v| set(v, "/spec/artifactRef", json!({"name": "shop-3f2a9c1"})),
            good: |v| {
                set(v, "/spec/artifactRef", json!({"name": "shop-3f2a9c1"}));
                remove(v, "/spec/promotion");
            },
        },
        Case {
            kind: "Lane",
            name: "shop-prod",
            rule_at: "spec.promotion.soak",
            rule: "[1-9]",
            field: "spec.promotion.soak",
            bad: |v| set(v, "/spec/promotion/soak", json!("0h0m")),
            good: |v| set(v, "/spec/promotion/soak", json!("0h1m")),
        },
        Case {
            kind: "Lane",
            name: "shop-prod",
            rule_at: "spec.promotion.backupMaxAge",
            rule: "[1-9]",
            field: "spec.promotion.backupMaxAge",
            bad: |v| set(v, "/spec/promotion/backupMaxAge", json!("0s")),
            good: |v| set(v, "/spec/promotion/backupMaxAge", json!("30m")),
        },
        Case {
            kind: "Lane",
            name: "shop-prod",
            rule_at: "spec.promotion.window",
            rule: "self.startHour < self.endHour",
            field: "spec.promotion.window",
            bad: |v| {
                set(
                    v,
                    "/spec/promotion/window",
                    json!({"timeZone": "Europe/Berlin", "startHour": 17, "endHour": 9}),
                )
            },
            good: |v| {
                set(
                    v,
                    "/spec/promotion/window",
                    json!({"timeZone": "Europe/Berlin", "startHour": 9, "endHour": 17}),
                )
            },
        },
        Case {
            kind: "DeploymentRecord",
            name: "",
            rule_at: "spec",
            rule: "has(self.laneRef) != has(self.previewRef)",
            field: "spec",
            bad: |v| set(v, "/spec/previewRef", json!({"name": "shop-pr-42"})),
            good: |v| {
                set(v, "/spec/previewRef", json!({"name": "shop-pr-42"}));
                remove(v, "/spec/laneRef");
            },
        },
        Case {
            kind: "Preview",
            name: "shop-pr-42",
            rule_at: "spec.ttl",
            rule: "[1-9]",
            field: "spec.ttl",
            bad: |v| set(v, "/spec/ttl", json!("0h0m")),
            good: |v| set(v, "/spec/ttl", json!("0h1m")),
        },
        Case {
            kind: "Preview",
            name: "shop-pr-42",
            rule_at: "spec.ttl",
            rule: "(h|m|s)",
            field: "spec.ttl",
            bad: |v| set(v, "/spec/ttl", json!("3d")),
            good: |v| set(v, "/spec/ttl", json!("72h")),
        },
        Case {
            kind: "Preview",
            name: "shop-pr-42",
            rule_at: "spec.pullRequest.headSha",
            rule: "[0-9a-f]{40}",
            field: "spec.pullRequest.headSha",
            bad: |v| set(v, "/spec/pullRequest/headSha", json!("b7e4d20")),
            good: |v| set(v, "/spec/pullRequest/headSha", json!("a".repeat(40))),
        },
        Case {
            kind: "Artifact",
            name: "shop-3f2a9c1",
            rule_at: "spec.image.digest",
            rule: "sha256",
            field: "spec.image.digest",
            bad: |v| set(v, "/spec/image/digest", json!("sha256:latest")),
            good: |v| set(v, "/spec/image/digest", json!(DIGEST)),
        },
        Case {
            kind: "Artifact",
            name: "shop-3f2a9c1",
            rule_at: "spec.image.repository",
            rule: "self.matches",
            field: "spec.image.repository",
            bad: |v| set(v, "/spec/image/repository", json!("ghcr.io/acme/shop:v1")),
            good: |v| set(v, "/spec/image/repository", json!("ghcr.io/acme/shop-web")),
        },
        Case {
            kind: "Artifact",
            name: "shop-3f2a9c1",
            rule_at: "spec.source.commit",
            rule: "self.matches",
            field: "spec.source.commit",
            bad: |v| set(v, "/spec/source/commit", json!("main")),
            good: |v| set(v, "/spec/source/commit", json!("b".repeat(40))),
        },
        Case {
            kind: "Artifact",
            name: "shop-3f2a9c1",
            rule_at: "spec.sourceRepos[].commit",
            rule: "self.matches",
            field: "spec.sourceRepos[0].commit",
            bad: |v| set(v, "/spec/sourceRepos/0/commit", json!("v1.2.3")),
            good: |v| set(v, "/spec/sourceRepos/0/commit", json!("c".repeat(40))),
        },
        Case {
            kind: "Promotion",
            name: "",
            rule_at: "spec",
            rule: "has(self.fromLane) || has(self.artifactRef)",
            field: "spec",
            bad: |v| {
                remove(v, "/spec/fromLane");
                remove(v, "/spec/artifactRef");
            },
            good: |v| remove(v, "/spec/fromLane"),
        },
        Case {
            kind: "NotificationPolicy",
            name: "oncall",
            rule_at: "spec",
            rule: "self.routes.all",
            field: "spec",
            bad: |v| set(v, "/spec/routes/1/destinations/0", json!("pager")),
            good: |v| set(v, "/spec/routes/1/destinations/0", json!("issues")),
        },
        Case {
            kind: "NotificationPolicy",
            name: "oncall",
            rule_at: "spec",
            rule: "exists_one",
            field: "spec",
            bad: |v| set(v, "/spec/destinations/2/name", json!("mail")),
            good: |v| {
                set(v, "/spec/destinations/2/name", json!("discord"));
                set(v, "/spec/routes/1/destinations/0", json!("discord"));
            },
        },
        Case {
            kind: "NotificationPolicy",
            name: "oncall",
            rule_at: "spec.destinations[]",
            rule: "has(self.githubIssue)",
            field: "spec.destinations[2]",
            bad: |v| {
                let email = v.pointer("/spec/destinations/1/email").cloned().unwrap();
                set(v, "/spec/destinations/2/email", email);
            },
            good: |v| {
                let email = v.pointer("/spec/destinations/1/email").cloned().unwrap();
                set(v, "/spec/destinations/2/email", email);
                remove(v, "/spec/destinations/2/discord");
            },
        },
        Case {
            kind: "NotificationPolicy",
            name: "oncall",
            rule_at: "spec.destinations[].email",
            rule: "usernameSecretRef",
            field: "spec.destinations[1].email",
            bad: |v| remove(v, "/spec/destinations/1/email/passwordSecretRef"),
            good: |v| {
                remove(v, "/spec/destinations/1/email/passwordSecretRef");
                remove(v, "/spec/destinations/1/email/usernameSecretRef");
            },
        },
        Case {
            kind: "NotificationPolicy",
            name: "oncall",
            rule_at: "spec.routes[].repeatInterval",
            rule: "self.matches('[1-9]')",
            field: "spec.routes[0].repeatInterval",
            bad: |v| set(v, "/spec/routes/0/repeatInterval", json!("0m")),
            good: |v| set(v, "/spec/routes/0/repeatInterval", json!("30m")),
        },
        Case {
            kind: "NotificationPolicy",
            name: "oncall",
            rule_at: "spec.routes[].repeatMax",
            rule: "self.matches('[1-9]')",
            field: "spec.routes[0].repeatMax",
            bad: |v| set(v, "/spec/routes/0/repeatMax", json!("0h")),
            good: |v| set(v, "/spec/routes/0/repeatMax", json!("12h")),
        },
        Case {
            kind: "Promotion",
            name: "",
            rule_at: "spec",
            rule: "self.fromLane != self.toLane",
            field: "spec",
            bad: |v| set(v, "/spec/fromLane", json!("shop-prod")),
            good: |v| {
                set(v, "/spec/fromLane", json!("shop-prod"));
                set(v, "/spec/toLane", json!("shop-testing"));
            },
        },
        Case {
            kind: "DataBootstrap",
            name: "",
            rule_at: "spec",
            rule: "self.confirmDestructive",
            field: "spec",
            bad: |v| set(v, "/spec/confirmDestructive", json!(false)),
            good: |v| set(v, "/spec/source/dataset", json!("demo-2026-12")),
        },
        Case {
            kind: "DataBootstrap",
            name: "",
            rule_at: "spec.source.sha256",
            rule: "self.matches",
            field: "spec.source.sha256",
            bad: |v| set(v, "/spec/source/sha256", json!("A".repeat(64))),
            good: |v| set(v, "/spec/source/sha256", json!("a".repeat(64))),
        },
    ]
}

/// Every rule of every CRD: (kind, schema node as `spec.a[].b`, rule, message).
fn all_rules() -> Vec<(String, String, String, String)> {
    fn walk(kind: &str, node: &Value, path: &str, out: &mut Vec<(String, String, String, String)>) {
        for r in node
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let text = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            out.push((
                kind.into(),
                path.trim_start_matches('.').into(),
                text("rule"),
                text("message"),
            ));
        }
        for (k, child) in node
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            walk(kind, child, &format!("{path}.{k}"), out);
        }
        if let Some(items) = node.get("items") {
            walk(kind, items, &format!("{path}[]"), out);
        }
    }
    let mut out = Vec::new();
    for (kind, schema) in schemas() {
        walk(kind, schema, "", &mut out);
    }
    out
}

/// The message of the rule of `kind` at `rule_at` whose text contains `fragment`.
fn message_of(kind: &str, rule_at: &str, fragment: &str) -> String {
    let found: Vec<_> = all_rules()
        .into_iter()
        .filter(|(k, at, rule, _)| k == kind && at == rule_at && rule.contains(fragment))
        .collect();
    assert_eq!(found.len(), 1, "{kind} {rule_at} {fragment}: {found:?}");
    found[0].3.clone()
}

#[test]
fn every_rule_is_enforced_at_load_and_its_counterpart_accepted() {
    for case in cases() {
        let label = format!("{} {} `{}`", case.kind, case.rule_at, case.rule);
        let message = message_of(case.kind, case.rule_at, case.rule);
        let errors = decode(&edited(case.kind, case.name, &case.bad), LoadContext::isolated())
            .err()
            .unwrap_or_else(|| panic!("{label}: accepted"));
        assert!(
            errors
                .iter()
                .any(|e| e.field.as_deref() == Some(case.field) && e.message == message),
            "{label}: no `{message}` at {}: {errors:#?}",
            case.field
        );
        // Besides the rule, at most the OpenAPI pattern of the same field (the API server
        // reports both too); nothing anywhere else.
        assert!(
            errors.iter().all(|e| e.field.as_deref() == Some(case.field)),
            "{label}: {errors:#?}"
        );
        assert!(
            errors[0]
                .to_string()
                .contains(&format!(": field {}: ", case.field)),
            "{}",
            errors[0]
        );
        if let Err(errors) = decode(&edited(case.kind, case.name, &case.good), LoadContext::isolated()) {
            panic!("{label}: the valid counterpart is refused: {errors:#?}");
        }
    }
}

#[test]
fn every_rule_has_a_case() {
    let covered: Vec<(&str, &str, &str)> = cases()
        .iter()
        .map(|c| (c.kind, c.rule_at, c.rule))
        .chain(transitions().iter().map(|t| (t.kind, t.rule_at, "oldSelf")))
        .collect();
    let missing: Vec<String> = all_rules()
        .into_iter()
        .filter(|(kind, at, rule, _)| {
            !covered
                .iter()
                .any(|(k, a, fragment)| k == kind && a == at && rule.contains(fragment))
        })
        .map(|(kind, at, rule, _)| format!("{kind} {at}: {rule}"))
        .collect();
    assert!(
        missing.is_empty(),
        "rules without a case:\n{}",
        missing.join("\n")
    );
}

/// One transition rule (`self == oldSelf`) broken by an edit between two loads.
struct Transition {
    kind: &'static str,
    name: &'static str,
    rule_at: &'static str,
    field: &'static str,
    edit: fn(&mut Value),
}

fn transitions() -> Vec<Transition> {
    vec![
        Transition {
            kind: "Artifact",
            name: "shop-3f2a9c1",
            rule_at: "spec.image.digest",
            field: "spec.image.digest",
            edit: |v| set(v, "/spec/image/digest", json!(DIGEST)),
        },
        Transition {
            kind: "Artifact",
            name: "shop-3f2a9c1",
            rule_at: "spec.image.repository",
            field: "spec.image.repository",
            edit: |v| set(v, "/spec/image/repository", json!("ghcr.io/acme/other")),
        },
        Transition {
            kind: "Artifact",
            name: "shop-3f2a9c1",
            rule_at: "spec.source.commit",
            field: "spec.source.commit",
            edit: |v| set(v, "/spec/source/commit", json!("d".repeat(40))),
        },
        Transition {
            kind: "Artifact",
            name: "shop-3f2a9c1",
            rule_at: "spec.sourceRepos[].commit",
            field: "spec.sourceRepos[0].commit",
            edit: |v| set(v, "/spec/sourceRepos/0/commit", json!("e".repeat(40))),
        },
        Transition {
            kind: "DeploymentRecord",
            name: "",
            rule_at: "spec",
            field: "spec",
            edit: |v| set(v, "/spec/requestedBy", json!("someone/else")),
        },
        Transition {
            kind: "Promotion",
            name: "",
            rule_at: "spec",
            field: "spec",
            edit: |v| set(v, "/spec/reason", json!("another reason")),
        },
        Transition {
            kind: "Approval",
            name: "",
            rule_at: "spec",
            field: "spec",
            edit: |v| set(v, "/spec/comment", json!("approved again")),
        },
        Transition {
            kind: "Incident",
            name: "",
            rule_at: "spec",
            field: "spec",
            edit: |v| set(v, "/spec/check", json!("ConfigSynced")),
        },
        Transition {
            kind: "DataBootstrap",
            name: "",
            rule_at: "spec",
            field: "spec",
            edit: |v| set(v, "/spec/source/dataset", json!("demo-2026-12")),
        },
        Transition {
            kind: "BackupGate",
            name: "",
            rule_at: "spec",
            field: "spec",
            edit: |v| set(v, "/spec/location", json!("s3://acme-backups/elsewhere.dump")),
        },
    ]
}

/// Load `manifests` as a second load after the examples were accepted.
fn reload(manifests: &[Manifest]) -> Result<Inputs, Vec<ManifestError>> {
    let first = decode(&examples(), LoadContext::isolated()).unwrap().accepted;
    let accepted = move |kind: &str, namespace: &str, name: &str| {
        first
            .iter()
            .find(|a| a.kind == kind && a.namespace == namespace && a.name == name)
            .map(|a| a.body.clone())
    };
    decode(
        manifests,
        LoadContext {
            variable: &|_| None,
            accepted: &accepted,
        },
    )
}

#[test]
fn immutable_fields_edited_since_the_last_load_are_refused() {
    assert!(reload(&examples()).is_ok(), "an unchanged folder loads again");
    for t in transitions() {
        let message = message_of(t.kind, t.rule_at, "oldSelf");
        let label = format!("{} {}", t.kind, t.rule_at);
        let manifests = edited(t.kind, t.name, &t.edit);
        let errors = reload(&manifests)
            .err()
            .unwrap_or_else(|| panic!("{label}: the edit was accepted"));
        assert_eq!(
            errors
                .iter()
                .map(|e| (e.field.as_deref().unwrap_or_default(), e.message.as_str()))
                .collect::<Vec<_>>(),
            vec![(t.field, message.as_str())],
            "{label}"
        );
        // The same edit on a first load is a create: nothing to compare with.
        assert!(decode(&manifests, LoadContext::isolated()).is_ok(), "{label}");
    }
}

#[test]
fn list_items_correlate_by_their_map_keys() {
    // A source repo replaced by another is a new item, not an edit of the old one.
    let manifests = edited("Artifact", "shop-3f2a9c1", &|v| {
        set(
            v,
            "/spec/sourceRepos/0",
            json!({"repository": "github.com/acme/other", "commit": "f".repeat(40)}),
        );
    });
    assert!(reload(&manifests).is_ok());
}

/// Issue 12, D10: `ttl: 0s` read as "never expires". Every ttl the CRD accepts is one
/// `parse_ttl` turns into a positive duration and an expiry time; every zero one is refused.
#[test]
fn the_crd_and_parse_ttl_agree_on_every_ttl() {
    use launchplane_core::preview::{expires_at, parse_ttl};
    let schema = &schemas()["Preview"];
    let mut validator = SchemaValidator::new();
    let preview = |ttl: &str| {
        json!({"spec": {
            "productRef": {"name": "shop"}, "artifactRef": {"name": "a"}, "ttl": ttl,
            "pullRequest": {"repository": "github.com/acme/shop", "number": 1, "headSha": "a".repeat(40)}}})
    };
    let numbers = ["0", "00", "000000", "1", "01", "7", "59", "999999", "1234567"];
    let mut ttls: Vec<String> = ["", "h", "1", "1d", "1h 2m", "-1h", "1.5h", "1H"]
        .map(String::from)
        .to_vec();
    for a in numbers {
        for ua in ["h", "m", "s"] {
            ttls.push(format!("{a}{ua}"));
            for b in numbers {
                for ub in ["h", "m", "s"] {
                    ttls.push(format!("{a}{ua}{b}{ub}"));
                }
            }
        }
    }
    ttls.push("999999h".repeat(4));
    let created: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let (mut accepted, mut refused) = (0, 0);
    for ttl in &ttls {
        let crd_accepts = validator.validate_object(schema, &preview(ttl), None).is_empty();
        let zero = ttl.chars().any(|c| c.is_ascii_digit()) && !ttl.chars().any(|c| ('1'..='9').contains(&c));
        if crd_accepts {
            accepted += 1;
            let parsed = parse_ttl(ttl).unwrap_or_else(|| panic!("{ttl}: accepted, not parsed"));
            assert!(parsed.is_positive(), "{ttl}");
            assert!(
                expires_at(created, Some(ttl)).is_some_and(|t| t > created),
                "{ttl}"
            );
        } else {
            refused += 1;
        }
        if zero {
            assert!(!crd_accepts, "{ttl}: a zero ttl is accepted");
            assert_eq!(parse_ttl(ttl), None, "{ttl}");
        }
    }
    assert!(
        accepted > 400 && refused > 100,
        "{accepted} accepted, {refused} refused"
    );
}

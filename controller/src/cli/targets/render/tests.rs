//! Golden output: the audit and the import, as tables and as JSON, for one small estate with
//! a row of most kinds.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::cli::targets::write::{Done, Outcome};
use jiff::Timestamp;
use launchplane_api::resources::{
    LocalObjectRef, ProviderConfig, ProviderConfigSpec, ProviderTarget, ProviderTargetSpec, SecretKeyRef,
};
use launchplane_api::verify::target::ObservedTarget;
use launchplane_core::adoption::import::{self, Destination};
use launchplane_core::adoption::{OtherService, Reading, audit};
use launchplane_core::observation::{ListedAs, ReadFacts, SharedFacts, Snapshot};
use launchplane_core::target::TargetFacts;
use launchplane_providers::{ApiKey, TargetCategory};
use std::collections::BTreeSet;
use std::sync::Arc;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn loaded() -> Loaded {
    let mut config = ProviderConfig::new(
        "dokploy",
        ProviderConfigSpec {
            url: "https://dokploy.example.test".into(),
            api_key_secret_ref: SecretKeyRef {
                name: "dokploy".into(),
                key: "api-key".into(),
            },
            ..Default::default()
        },
    );
    config.metadata.namespace = Some("shop".into());
    let target = |name: &str, id: &str, display: &str, domains: &[&str]| {
        let mut t = ProviderTarget::new(
            name,
            ProviderTargetSpec {
                provider_config_ref: LocalObjectRef {
                    name: "dokploy".into(),
                },
                target_id: Some(id.into()),
                display_name: display.into(),
                domains: domains.iter().map(|d| d.to_string()).collect(),
                ..Default::default()
            },
        );
        t.metadata.namespace = Some("shop".into());
        t
    };
    Loaded {
        namespace: "shop".into(),
        config,
        targets: vec![
            target("web", "app-web", "web", &["web.shop.test"]),
            target("api", "app-api", "api", &["api.shop.example"]),
            target("admin", "app-admin", "admin", &[]),
        ],
        api_key: ApiKey::new("k"),
        instance: Some("cluster-a".into()),
        origin: "cluster".into(),
    }
}

fn service(category: &str, id: &str, name: &str, environment: &str, domains: &[&str]) -> ObservedTarget {
    ObservedTarget {
        routes: Vec::new(),
        id: id.into(),
        category: category.into(),
        name: name.into(),
        project: Some("shop".into()),
        environment: Some(environment.into()),
        domains: domains.iter().map(|d| d.to_string()).collect(),
        target_type: Some("docker".into()),
        env_keys: Some(BTreeSet::new()),
        ..ObservedTarget::default()
    }
}

fn estate() -> Audit {
    let listed = vec![
        service("application", "app-web", "web", "production", &["web.shop.test"]),
        service("application", "app-api", "api", "production", &["api.shop.test"]),
        service("application", "app-worker", "worker", "production", &[]),
        service("application", "app-news", "newsletter", "production", &[]),
        service(
            "compose",
            "cmp-search",
            "search",
            "staging",
            &["search.shop.test"],
        ),
    ];
    let mut facts = SharedFacts::default();
    for s in &listed {
        let category = if s.category == "compose" {
            TargetCategory::Compose
        } else {
            TargetCategory::Application
        };
        let description =
            (s.id == "app-news").then(|| "launchplane.dev/owner=cluster-b/mkt/Lane/news/u1".to_string());
        facts.record(
            (category, s.id.clone()),
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
    let snapshot = |at| Snapshot {
        targets: Some(Arc::new(listed.clone())),
        observed_at: Some(at),
        ..Snapshot::default()
    };
    let reading = Reading {
        first: snapshot(t(0)),
        second: snapshot(t(2)),
        facts,
        others: vec![OtherService {
            id: "pg-1".into(),
            kind: "postgres".into(),
            name: "db".into(),
            project: Some("shop".into()),
            environment: Some("production".into()),
        }],
    };
    let loaded = loaded();
    audit(&loaded.config, &loaded.targets, &reading, Some("cluster-a")).unwrap()
}

fn dry_run() -> Done {
    let taken: BTreeSet<String> = ["web", "api", "admin"].map(String::from).into();
    let plan = import::plan(
        &estate(),
        Destination {
            namespace: "shop",
            config: "dokploy",
            taken: &taken,
        },
        None,
    );
    Done {
        rows: plan
            .rows
            .into_iter()
            .map(|r| (Outcome::Planned(r.decision), r))
            .collect(),
        error: None,
    }
}

#[test]
fn the_audit_as_a_table() {
    assert_eq!(
        super::audit_table(&loaded(), &estate()),
        "\
STATE            CATEGORY      PROJECT/ENVIRONMENT   NAME         ID           CLAIMED BY   DETAIL
mismatch         application   shop/production       api          app-api      shop/api     domains: expected api.shop.example, observed api.shop.test
foreign-marker   application   shop/production       newsletter   app-news     <none>       its description carries another Launchplane's ownership marker (launchplane.dev/owner=cluster-b/mkt/Lane/news/u1): that instance manages this application; leave it to it, or remove the marker line in Dokploy if that instance is gone
matched          application   shop/production       web          app-web      shop/web
unclaimed        application   shop/production       worker       app-worker   <none>       no ProviderTarget claims it
unclaimed        compose       shop/staging          search       cmp-search   <none>       no ProviderTarget claims it

STATE   PROVIDERTARGET   CATEGORY      TARGET ID   DISPLAY NAME   DETAIL
gone    shop/admin       application   app-admin   admin          no application with id app-admin exists in the provider (absent from every listing since 2027-01-15T08:00:00Z)

ProviderConfig shop/dokploy (cluster, Dokploy https://dokploy.example.test): 5 applications and compose services, 3 ProviderTargets (1 other service that cannot be a ProviderTarget)
matched 1, mismatch 1, unclaimed 2, foreign-marker 1, gone 1
3 rows block adoption: resolve them (see DETAIL), then audit again
"
    );
}

#[test]
fn the_audit_as_json() {
    let json: serde_json::Value = serde_json::from_str(&super::audit_json(&loaded(), &estate())).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "providerConfig": "shop/dokploy",
            "source": "cluster",
            "dokploy": "https://dokploy.example.test",
            "instance": "cluster-a",
            "blocking": true,
            "counts": {
                "matched": 1, "mismatch": 1, "claimed-twice": 0, "unverifiable": 0, "unclaimed": 2,
                "duplicate-name": 0, "ambiguous-claim": 0, "foreign-marker": 1, "gone": 1, "ambiguous": 0
            },
            "services": [
                {"category": "application", "id": "app-api", "name": "api", "project": "shop",
                 "environment": "production", "domains": ["api.shop.test"], "state": "mismatch",
                 "claimedBy": ["shop/api"],
                 "mismatches": [{"field": "domains", "expected": "api.shop.example", "observed": "api.shop.test"}],
                 "detail": "domains: expected api.shop.example, observed api.shop.test"},
                {"category": "application", "id": "app-news", "name": "newsletter", "project": "shop",
                 "environment": "production", "domains": [], "state": "foreign-marker", "claimedBy": [],
                 "marker": {"owner": "cluster-b/mkt/Lane/news/u1", "ours": false, "kind": "Lane"},
                 "detail": "its description carries another Launchplane's ownership marker \
                            (launchplane.dev/owner=cluster-b/mkt/Lane/news/u1): that instance manages this \
                            application; leave it to it, or remove the marker line in Dokploy if that instance is gone"},
                {"category": "application", "id": "app-web", "name": "web", "project": "shop",
                 "environment": "production", "domains": ["web.shop.test"], "state": "matched",
                 "claimedBy": ["shop/web"], "detail": ""},
                {"category": "application", "id": "app-worker", "name": "worker", "project": "shop",
                 "environment": "production", "domains": [], "state": "unclaimed", "claimedBy": [],
                 "detail": "no ProviderTarget claims it"},
                {"category": "compose", "id": "cmp-search", "name": "search", "project": "shop",
                 "environment": "staging", "domains": ["search.shop.test"], "state": "unclaimed", "claimedBy": [],
                 "detail": "no ProviderTarget claims it"}
            ],
            "targets": [
                {"target": "shop/admin", "category": "application", "targetId": "app-admin", "displayName": "admin",
                 "state": "gone",
                 "detail": "no application with id app-admin exists in the provider (absent from every listing since 2027-01-15T08:00:00Z)"}
            ],
            "others": [
                {"id": "pg-1", "kind": "postgres", "name": "db", "project": "shop", "environment": "production"}
            ]
        })
    );
}

#[test]
fn import_table_of_a_dry_run() {
    assert_eq!(
        import_table(&loaded(), &dry_run(), &Mode::DryRun),
        "\
OUTCOME            CATEGORY      PROJECT/ENVIRONMENT   NAME         ID           PROVIDERTARGET                DETAIL
skipped-exists     application   shop/production       api          app-api      shop/api                      claimed already (mismatch): domains: expected api.shop.example, observed api.shop.test
skipped-conflict   application   shop/production       newsletter   app-news     <none>                        its description carries another Launchplane's ownership marker (launchplane.dev/owner=cluster-b/mkt/Lane/news/u1): that instance manages this application; leave it to it, or remove the marker line in Dokploy if that instance is gone
skipped-exists     application   shop/production       web          app-web      shop/web                      claimed already, and Matched
would-create       application   shop/production       worker       app-worker   shop/shop-production-worker   Observe, bound by id
would-create       compose       shop/staging          search       cmp-search   shop/shop-staging-search      Observe, bound by id
unsupported        postgres      shop/production       db           pg-1         <none>                        a postgres service: ProviderTargets name applications and compose services only

ProviderConfig shop/dokploy (cluster, Dokploy https://dokploy.example.test)
would-create 2, skipped-exists 2, skipped-incomplete 0, skipped-conflict 1, unsupported 1
dry run: nothing was written; --out DIR writes the manifests, --apply creates them
"
    );
}

#[test]
fn import_json_of_a_written_run() {
    let mut done = dry_run();
    for (outcome, row) in &mut done.rows {
        if row.manifest.is_some() {
            *outcome = Outcome::Written;
        }
    }
    let json: serde_json::Value =
        serde_json::from_str(&import_json(&loaded(), &done, &Mode::Out("repo/targets".into()))).unwrap();
    assert_eq!(json["mode"], "out");
    assert_eq!(json["out"], "repo/targets");
    assert_eq!(
        json["counts"],
        serde_json::json!({"written": 2, "would-create": 0, "skipped-exists": 2, "skipped-incomplete": 0,
                           "skipped-conflict": 1, "unsupported": 1})
    );
    assert_eq!(
        json["rows"][3],
        serde_json::json!({"outcome": "written", "category": "application", "id": "app-worker", "name": "worker",
                           "project": "shop", "environment": "production",
                           "providerTargets": ["shop/shop-production-worker"], "detail": "Observe, bound by id"})
    );
    assert_eq!(json["rows"].as_array().unwrap().len(), 6);
}

//! Preview lifecycle against the Dokploy simulator, through the real preview executor, client
//! and prober (probing the preview host through the simulator's ingress, which routes by
//! `Host`): create to Ready, a new generation, a failed generation keeping the serving one,
//! teardown (success, failure keeping the preview, status-only teardown of a preview whose
//! spec no longer validates), ttl, and the orphan sweep (report, delete within budget,
//! refusal on a failed or shrunken inventory).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane::engine::driver::DriveLimits;
use launchplane::engine::executor::Executor;
use launchplane::engine::preview::{
    PreviewReport, PreviewSettings, PreviewWorld, TeardownError, TeardownTarget, drive, sweep, teardown,
};
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane_api::conditions::{SystemClock, find, types};
use launchplane_api::ownership::Owner;
use launchplane_api::resources::{
    Artifact, CleanupPolicy, GenerationPhase, LocalObjectRef, Preview, PreviewPolicy, PreviewSpec, Product,
    ProviderTarget, PullRequest, SweepBaseline,
};
use launchplane_api::verdict::Verdict;
use launchplane_e2e::sim::{DokploySim, Fault, SeedApplication};
use launchplane_providers::DokployClient;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use support::{
    StatusLog, artifact, preview_policy, shop_product, sim_with_preview_template, single_attempt_config,
    template_target,
};

const NS: &str = support::NS;
pub(crate) const HOST: &str = "pr-42.preview.shop.test";
pub(crate) const INSTANCE: &str = "lifecycle-test";

/// The simulator with the preview template, a client on it, and the objects around one
/// Preview (shared with [`crate::preview_resync`]).
pub(crate) struct World {
    pub(crate) sim: DokploySim,
    pub(crate) client: DokployClient,
    pub(crate) prober: Prober,
    pub(crate) product: Product,
    pub(crate) template: ProviderTarget,
    pub(crate) artifacts: Vec<Artifact>,
    pub(crate) preview: Preview,
    pub(crate) env: String,
    /// Where previews are probed: the simulator's ingress, unless a test points it elsewhere.
    pub(crate) probe_via: String,
}

pub(crate) async fn world(cleanup: CleanupPolicy, budget: i32) -> World {
    let (sim, env, template_id) = sim_with_preview_template().await;
    let product = shop_product(PreviewPolicy {
        cleanup,
        delete_budget: budget,
        history_limit: 3,
        ..preview_policy()
    });
    let template = template_target(&template_id);
    let client = DokployClient::new(single_attempt_config(&sim)).unwrap();
    World {
        client,
        prober: Prober::new(ProberConfig::default()).unwrap(),
        product,
        template,
        artifacts: vec![
            artifact("shop-a", 'a'),
            artifact("shop-b", 'b'),
            artifact("shop-c", 'c'),
            artifact("shop-a2", 'a'),
        ],
        preview: preview(42, 'a', "shop-a"),
        env,
        probe_via: sim.ingress_url(),
        sim,
    }
}

pub(crate) fn preview(number: i64, head: char, artifact: &str) -> Preview {
    let mut p = Preview::new(
        &format!("shop-pr-{number}"),
        PreviewSpec {
            product_ref: LocalObjectRef::new("shop"),
            pull_request: PullRequest {
                repository: "github.com/acme/shop".into(),
                number,
                url: None,
                head_sha: head.to_string().repeat(40),
            },
            artifact_ref: LocalObjectRef::new(artifact),
            ttl: None,
        },
    );
    p.metadata.namespace = Some(NS.into());
    p.metadata.generation = Some(1);
    p
}

impl World {
    /// A baseline of `targets` for the preview environment: a whole listing seen before.
    pub(crate) fn baseline(&self, targets: i32) -> SweepBaseline {
        SweepBaseline {
            environment_id: self.env.clone(),
            targets,
        }
    }

    pub(crate) fn settings(&self) -> PreviewSettings {
        PreviewSettings {
            poll_delay: Duration::from_millis(40),
            deploy_timeout: Duration::from_secs(20),
            resend_after: Duration::from_secs(60),
            verify_timeout: Duration::from_secs(3),
            deadline: Duration::from_secs(20),
            probe_via: Some(self.probe_via.clone()),
            resync: Duration::from_secs(300),
            instance: INSTANCE.into(),
        }
    }

    pub(crate) async fn run(&mut self) -> PreviewReport {
        let settings = self.settings();
        self.run_with(&settings).await
    }

    /// One reconcile of the preview with these timings; its status is kept on the preview.
    pub(crate) async fn run_with(&mut self, settings: &PreviewSettings) -> PreviewReport {
        let artifact = self
            .artifacts
            .iter()
            .find(|a| a.metadata.name.as_deref() == Some(&self.preview.spec.artifact_ref.name));
        let world = PreviewWorld {
            preview: &self.preview,
            product: Some(&self.product),
            template: Some(&self.template),
            artifact,
        };
        let report = drive(
            &world,
            Some(&self.executor()),
            &self.prober,
            settings,
            DriveLimits {
                deadline: settings.deadline,
                ..DriveLimits::default()
            },
            &StatusLog::default(),
            &SystemClock,
        )
        .await;
        self.preview.status = Some(report.status.clone());
        report
    }

    /// The executor over this world's client.
    pub(crate) fn executor(&self) -> Executor {
        Executor::new(Arc::new(self.client.clone()))
    }

    pub(crate) fn set(&mut self, head: char, artifact: &str) {
        self.preview.spec.pull_request.head_sha = head.to_string().repeat(40);
        self.preview.spec.artifact_ref = LocalObjectRef::new(artifact);
    }

    pub(crate) async fn ingress(&self, host: &str) -> (u16, String) {
        let response = reqwest::Client::new()
            .get(format!("{}/healthz", self.sim.ingress_url()))
            .header("host", host)
            .send()
            .await
            .unwrap();
        let code = response.status().as_u16();
        (code, response.text().await.unwrap_or_default())
    }

    /// An application named `name`, marked as made by this instance for the Preview `name`
    /// (uid `gone-uid`), which no longer exists: a real orphan.
    fn seed_orphan(&self, name: &str) -> String {
        self.seed_marked(
            name,
            Some(Owner::new(INSTANCE, NS, "Preview", name, Some("gone-uid"))),
        )
    }

    /// An application named `name` with `owner`'s marker, or none.
    fn seed_marked(&self, name: &str, owner: Option<Owner>) -> String {
        self.sim
            .seed_application(
                &self.env,
                SeedApplication {
                    name: name.into(),
                    description: owner.map(|o| o.describe("seeded")),
                    ..Default::default()
                },
            )
            .unwrap()
    }
}

pub(crate) fn phases(report: &PreviewReport) -> Vec<GenerationPhase> {
    report.status.generations.iter().map(|g| g.phase).collect()
}

#[tokio::test]
async fn a_preview_goes_to_ready_then_new_generations_and_a_failed_one_keeps_the_serving_one() {
    let mut w = world(CleanupPolicy::Report, 3).await;
    let report = w.run().await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let s = &report.status;
    assert_eq!(s.url.as_deref(), Some("https://pr-42.preview.shop.test"));
    assert_eq!(s.slug.as_deref(), Some("pr-42"));
    let app = s.target_id.clone().expect("the application id is recorded");
    assert_eq!(phases(&report), vec![GenerationPhase::Ready]);
    let first = s.generations[0].id.clone();
    assert_eq!(s.serving_generation.as_deref(), Some(first.as_str()));
    assert!(
        s.generations[0]
            .evidence
            .as_deref()
            .unwrap()
            .contains("identity Matched"),
        "{:?}",
        s.generations[0].evidence
    );
    let ready = find(&s.conditions, types::READY).unwrap();
    assert_eq!(ready.status, "True", "{ready:?}");
    // The app: created in the preview environment, image by digest, identity and URL keys.
    let service = w.sim.service_json(&app).unwrap();
    assert_eq!(service["name"], "shop-pr-42");
    assert_eq!(service["environmentId"], w.env.as_str());
    assert_eq!(
        w.sim.docker_image(&app).as_deref(),
        Some(format!("ghcr.io/acme/shop@sha256:{}", "a".repeat(64)).as_str())
    );
    let env = w.sim.application_env(&app).unwrap();
    assert!(
        env.contains("LAUNCHPLANE_PREVIEW_URL=https://pr-42.preview.shop.test"),
        "{env}"
    );
    assert!(
        env.contains("PUBLIC_URL=https://pr-42.preview.shop.test"),
        "{env}"
    );
    let (code, body) = w.ingress(HOST).await;
    assert_eq!(code, 200);
    assert!(
        body.contains(&format!("\"previewGenerationId\":\"{first}\"")),
        "{body}"
    );
    assert!(body.contains("\"previewId\":\"shop-pr-42\""), "{body}");

    // A second reconcile of the same spec changes nothing in Dokploy.
    let deploys = w.sim.call_count("application.deploy");
    let creates = w.sim.call_count("application.create");
    let report = w.run().await;
    assert_eq!(phases(&report), vec![GenerationPhase::Ready]);
    assert_eq!(w.sim.call_count("application.deploy"), deploys);
    assert_eq!(w.sim.call_count("application.create"), creates);

    // A new head commit and artifact: a new generation, now serving.
    w.set('b', "shop-b");
    let report = w.run().await;
    assert_eq!(
        phases(&report),
        vec![GenerationPhase::Ready, GenerationPhase::Ready]
    );
    let second = report.status.generations[1].id.clone();
    assert_ne!(first, second);
    assert_eq!(report.status.serving_generation.as_deref(), Some(second.as_str()));
    assert_eq!(
        report.status.target_id.as_deref(),
        Some(app.as_str()),
        "the same app is reused"
    );
    assert_eq!(w.sim.call_count("application.create"), creates);

    // A generation whose deploy fails: recorded Failed with evidence; the previous Ready one
    // is still the serving one, and the URL still serves it.
    w.sim.inject("application.deploy", Fault::DeployError);
    w.set('c', "shop-c");
    let report = w.run().await;
    assert_eq!(
        phases(&report),
        vec![
            GenerationPhase::Ready,
            GenerationPhase::Ready,
            GenerationPhase::Failed
        ]
    );
    let failed = &report.status.generations[2];
    assert!(
        failed.evidence.as_deref().unwrap().contains("ended error"),
        "{failed:?}"
    );
    assert!(failed.finished_time.is_some());
    assert_eq!(report.status.serving_generation.as_deref(), Some(second.as_str()));
    let ready = find(&report.status.conditions, types::READY).unwrap();
    assert_eq!(ready.status, "False");
    let (_, body) = w.ingress(HOST).await;
    assert!(body.contains(&second), "{body}");

    // History is bounded by historyLimit (3), never dropping the serving generation.
    w.sim.clear_faults();
    w.set('a', "shop-a2");
    let report = w.run().await;
    assert_eq!(report.status.generations.len(), 3);
    assert!(!report.status.generations.iter().any(|g| g.id == first));
    assert_eq!(report.status.generations[2].phase, GenerationPhase::Ready);
    w.sim.shutdown().await;
}

#[tokio::test]
async fn teardown_removes_app_and_domain_and_a_failed_teardown_says_why() {
    let mut w = world(CleanupPolicy::Report, 3).await;
    let report = w.run().await;
    let app = report.status.target_id.clone().unwrap();
    assert_eq!(w.ingress(HOST).await.0, 200);
    let target = TeardownTarget::of(&w.preview, Some(&w.product), INSTANCE);

    // application.delete fails: the teardown fails, says why, and the app is still there.
    w.sim.inject("application.delete", Fault::Status(500));
    let err = teardown(&target, Some(&w.executor()), &w.prober, &w.settings())
        .await
        .unwrap_err();
    assert!(matches!(err, TeardownError::Application { .. }), "{err}");
    assert!(err.to_string().contains(&app), "{err}");
    assert!(w.sim.service_json(&app).is_some());
    assert!(w.sim.call_count("domain.delete") >= 1, "the domain went first");

    // Once Dokploy answers again, the teardown completes and confirms both are gone.
    w.sim.clear_faults();
    let done = teardown(&target, Some(&w.executor()), &w.prober, &w.settings())
        .await
        .unwrap();
    assert_eq!(done.application.as_deref(), Some(app.as_str()));
    assert!(w.sim.service_json(&app).is_none());
    assert_eq!(w.ingress(HOST).await.0, 404);

    // Idempotent: tearing down what is gone succeeds.
    teardown(&target, Some(&w.executor()), &w.prober, &w.settings())
        .await
        .unwrap();

    // An unreadable inventory means the teardown cannot be confirmed.
    w.sim.inject("overview.services", Fault::Status(500));
    let err = teardown(&target, Some(&w.executor()), &w.prober, &w.settings())
        .await
        .unwrap_err();
    assert!(matches!(err, TeardownError::Inventory(_)), "{err}");
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_preview_whose_spec_no_longer_validates_is_torn_down_from_its_status() {
    let mut w = world(CleanupPolicy::Report, 3).await;
    let report = w.run().await;
    let app = report.status.target_id.clone().unwrap();
    // The Product is gone (or its policy broken): only the status is left to go by.
    w.preview.spec.product_ref = LocalObjectRef::new("no-such-product");
    let target = TeardownTarget::of(&w.preview, None, INSTANCE);
    assert_eq!(target.target_id.as_deref(), Some(app.as_str()));
    assert_eq!(target.host.as_deref(), Some(HOST));
    teardown(&target, Some(&w.executor()), &w.prober, &w.settings())
        .await
        .unwrap();
    assert!(w.sim.service_json(&app).is_none());
    assert_eq!(w.ingress(HOST).await.0, 404);
    w.sim.shutdown().await;
}

#[tokio::test]
async fn an_expired_preview_asks_to_be_deleted_without_touching_dokploy() {
    let mut w = world(CleanupPolicy::Report, 3).await;
    w.preview.spec.ttl = Some("1h".into());
    w.preview.metadata.creation_timestamp = Some(Time(
        Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_hours(2))
            .unwrap(),
    ));
    let report = w.run().await;
    assert!(report.expired);
    let expires = report.status.expires_at.clone().unwrap().0;
    assert!(expires < Timestamp::now());
    let reconciling = find(&report.status.conditions, types::RECONCILING).unwrap();
    assert_eq!(reconciling.reason, "Expired");
    assert_eq!(w.sim.call_count("application.create"), 0);

    // Not yet expired: deploys as usual and records when it will expire.
    w.preview.metadata.creation_timestamp = Some(Time(Timestamp::now()));
    w.preview.status = None;
    let report = w.run().await;
    assert!(!report.expired);
    assert!(report.status.expires_at.unwrap().0 > Timestamp::now());
    w.sim.shutdown().await;
}

#[tokio::test]
async fn the_sweep_reports_orphans_and_deletes_nothing_under_report() {
    let w = world(CleanupPolicy::Report, 3).await;
    let orphan = w.seed_orphan("shop-pr-7");
    let _live = w.seed_orphan("shop-pr-42");
    let _unrelated = w.seed_orphan("shop-worker");
    let live = BTreeSet::from([42]);
    let report = sweep(
        &w.product,
        Some(&w.template),
        &live,
        &BTreeSet::new(),
        INSTANCE,
        None,
        Some(&w.executor()),
    )
    .await;
    let ids: Vec<&str> = report.plan.orphans.iter().map(|o| o.target_id.as_str()).collect();
    assert_eq!(ids, vec![orphan.as_str()]);
    assert_eq!(report.plan.orphans[0].display_name.as_deref(), Some("shop-pr-7"));
    assert!(report.deleted.is_empty());
    assert_eq!(report.plan.whole, Some(w.baseline(4)));
    assert_eq!(w.sim.call_count("application.delete"), 0);
    w.sim.shutdown().await;
}

#[tokio::test]
async fn the_sweep_deletes_within_budget_and_refuses_on_a_failed_or_shrunken_inventory() {
    let w = world(CleanupPolicy::Delete, 2).await;
    let orphans: Vec<String> = (1..=3).map(|n| w.seed_orphan(&format!("shop-pr-{n}"))).collect();
    let live = BTreeSet::new();

    // A failed listing: nothing deleted, and why.
    w.sim.inject("overview.services", Fault::Status(500));
    let report = sweep(
        &w.product,
        Some(&w.template),
        &live,
        &BTreeSet::new(),
        INSTANCE,
        Some(&w.baseline(4)),
        Some(&w.executor()),
    )
    .await;
    assert!(
        report
            .plan
            .refused
            .as_deref()
            .unwrap()
            .contains("could not be listed")
    );
    assert!(report.deleted.is_empty());
    assert_eq!(report.plan.whole, None);
    w.sim.clear_faults();

    // A listing markedly smaller than the previous sweep's: nothing deleted.
    let report = sweep(
        &w.product,
        Some(&w.template),
        &live,
        &BTreeSet::new(),
        INSTANCE,
        Some(&w.baseline(20)),
        Some(&w.executor()),
    )
    .await;
    assert!(report.plan.refused.as_deref().unwrap().contains("markedly fewer"));
    assert_eq!(report.plan.orphans.len(), 3);
    assert_eq!(w.sim.call_count("application.delete"), 0);

    // A whole listing: two deleted (the budget), the third kept and listed.
    let report = sweep(
        &w.product,
        Some(&w.template),
        &live,
        &BTreeSet::new(),
        INSTANCE,
        Some(&w.baseline(4)),
        Some(&w.executor()),
    )
    .await;
    assert_eq!(report.deleted.len(), 2);
    assert_eq!(w.sim.call_count("application.delete"), 2);
    let kept: Vec<&String> = orphans.iter().filter(|o| !report.deleted.contains(o)).collect();
    assert_eq!(kept.len(), 1);
    assert!(w.sim.service_json(kept[0]).is_some());
    assert!(
        report
            .plan
            .orphans
            .iter()
            .any(|o| o.target_id == *kept[0] && o.reason.as_deref().unwrap().contains("deleteBudget"))
    );
    // The template itself never follows the preview naming, so it is never a candidate.
    assert!(
        w.sim
            .service_json(w.template.spec.target_id.as_deref().unwrap())
            .is_some()
    );
    w.sim.shutdown().await;
}

// === ownership: never touch what is not ours (issue 12: D1–D4 and the real-Dokploy takeover) ===

/// A person's app that happens to carry the preview's name is never adopted, changed or
/// deleted: the Preview stalls with a Conflict saying what to do (the generation stays
/// requested), and carries on by itself once the person has resolved it.
#[tokio::test]
async fn a_preview_never_adopts_an_application_it_did_not_create() {
    let mut w = world(CleanupPolicy::Delete, 3).await;
    let theirs = w
        .sim
        .seed_application(
            &w.env,
            SeedApplication {
                name: "shop-pr-42".into(),
                docker_image: Some("nginx:1.27".into()),
                env: Some("OWNER=human".into()),
                description: Some("made by hand".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let report = w.run().await;
    assert_eq!(phases(&report), vec![GenerationPhase::Requested]);
    let stalled = find(&report.status.conditions, types::STALLED).unwrap();
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "Conflict")
    );
    let evidence = stalled.message.clone();
    assert!(evidence.contains("Conflict"), "{evidence}");
    assert!(evidence.contains(&theirs), "{evidence}");
    assert!(evidence.contains("no Launchplane ownership marker"), "{evidence}");
    assert_eq!(
        find(&report.status.conditions, types::TARGET_VERIFIED)
            .unwrap()
            .reason,
        "Mismatch"
    );
    assert_eq!(report.status.verdict, Some(Verdict::Mismatch));
    assert_eq!(report.status.target_id, None);
    for route in [
        "application.create",
        "application.saveDockerProvider",
        "application.update",
        "application.deploy",
        "domain.create",
    ] {
        assert_eq!(w.sim.call_count(route), 0, "{route} was called");
    }
    let app = w.sim.service_json(&theirs).unwrap();
    assert_eq!(app["dockerImage"], "nginx:1.27");
    assert_eq!(app["env"], "OWNER=human");

    // Removing the Preview deletes nothing: it never recorded an application.
    let target = TeardownTarget::of(&w.preview, Some(&w.product), INSTANCE);
    let done = teardown(&target, Some(&w.executor()), &w.prober, &w.settings())
        .await
        .unwrap();
    assert_eq!(done.application, None);
    assert!(
        done.summary().contains("nothing was deleted"),
        "{}",
        done.summary()
    );
    assert_eq!(w.sim.call_count("application.delete"), 0);
    assert!(w.sim.service_json(&theirs).is_some());

    // The person removes their application: the next reconcile (the resync) goes ahead.
    assert!(w.sim.remove_service(&theirs));
    let report = w.run().await;
    assert_eq!(phases(&report), vec![GenerationPhase::Ready]);
    assert!(report.status.target_id.is_some_and(|id| id != theirs));
    w.sim.shutdown().await;
}

/// Two Previews of one pull request never share an application, and removing the second
/// leaves the first one's application alone.
#[tokio::test]
async fn a_second_preview_of_one_pull_request_is_a_conflict_and_its_removal_deletes_nothing() {
    let mut w = world(CleanupPolicy::Delete, 3).await;
    w.preview.metadata.uid = Some("uid-first".into());
    let first = w.run().await;
    assert_eq!(phases(&first), vec![GenerationPhase::Ready]);
    let app = first.status.target_id.clone().unwrap();
    let marker = w.sim.service_json(&app).unwrap()["description"].clone();
    assert!(
        marker.as_str().unwrap().contains(&format!(
            "launchplane.dev/owner={INSTANCE}/{NS}/Preview/shop-pr-42/uid-first"
        )),
        "{marker}"
    );

    // The same pull request again, as another object (another manifest, or a re-created one).
    let first_preview = w.preview.clone();
    w.preview = preview(42, 'a', "shop-a");
    w.preview.metadata.name = Some("shop-pr-42-again".into());
    w.preview.metadata.uid = Some("uid-second".into());
    let second = w.run().await;
    assert_eq!(phases(&second), vec![GenerationPhase::Requested]);
    let evidence = find(&second.status.conditions, types::STALLED)
        .unwrap()
        .message
        .clone();
    assert!(
        evidence.contains("Conflict") && evidence.contains("uid-first"),
        "{evidence}"
    );

    let target = TeardownTarget::of(&w.preview, Some(&w.product), INSTANCE);
    teardown(&target, Some(&w.executor()), &w.prober, &w.settings())
        .await
        .unwrap();
    assert!(
        w.sim.service_json(&app).is_some(),
        "the first preview's app was deleted"
    );
    assert_eq!(w.ingress(HOST).await.0, 200);

    // The first preview's own teardown removes it.
    let target = TeardownTarget::of(&first_preview, Some(&w.product), INSTANCE);
    let done = teardown(&target, Some(&w.executor()), &w.prober, &w.settings())
        .await
        .unwrap();
    assert_eq!(done.application.as_deref(), Some(app.as_str()));
    assert!(w.sim.service_json(&app).is_none());
    w.sim.shutdown().await;
}

/// Teardown deletes only the recorded id, and only while its marker is ours: an app whose
/// marker was removed (or replaced) out of band is left in place and said so.
#[tokio::test]
async fn teardown_leaves_the_recorded_application_alone_once_it_is_not_ours() {
    let mut w = world(CleanupPolicy::Delete, 3).await;
    let report = w.run().await;
    let app = report.status.target_id.clone().unwrap();
    let foreign = Owner::new("another-cluster", NS, "Preview", "shop-pr-42", Some("x"));
    assert!(w.sim.set_description(&app, &foreign.describe("taken over")));
    let target = TeardownTarget::of(&w.preview, Some(&w.product), INSTANCE);
    let done = teardown(&target, Some(&w.executor()), &w.prober, &w.settings())
        .await
        .unwrap();
    assert_eq!(done.application, None);
    assert!(done.summary().contains("another-cluster"), "{}", done.summary());
    assert_eq!(w.sim.call_count("application.delete"), 0);
    assert!(w.sim.service_json(&app).is_some());

    // An unreadable application is no licence to delete: the teardown fails and retries.
    w.sim.inject("application.one", Fault::Status(500));
    let err = teardown(&target, Some(&w.executor()), &w.prober, &w.settings())
        .await
        .unwrap_err();
    assert!(matches!(err, TeardownError::OwnershipUnknown { .. }), "{err}");
    w.sim.shutdown().await;
}

/// The sweep deletes only this instance's orphans: never an unmarked app with a preview
/// name, another instance's, another namespace's, or a live Preview's of another product
/// whose names overlap.
#[tokio::test]
async fn the_sweep_deletes_only_this_instances_orphans() {
    let w = world(CleanupPolicy::Delete, 10).await;
    let orphan = w.seed_orphan("shop-pr-7");
    let by_hand = w.seed_marked("shop-pr-8", None);
    let other_instance = w.seed_marked(
        "shop-pr-9",
        Some(Owner::new(
            "other-cluster",
            NS,
            "Preview",
            "shop-pr-9",
            Some("u9"),
        )),
    );
    let other_namespace = w.seed_marked(
        "shop-pr-10",
        Some(Owner::new(
            INSTANCE,
            "elsewhere",
            "Preview",
            "shop-pr-10",
            Some("u10"),
        )),
    );
    let live_other_product = Owner::new(INSTANCE, NS, "Preview", "shop-pr-11", Some("u11"));
    let overlapping = w.seed_marked("shop-pr-11", Some(live_other_product.clone()));
    let live_owners = BTreeSet::from([live_other_product]);
    let report = sweep(
        &w.product,
        Some(&w.template),
        &BTreeSet::new(),
        &live_owners,
        INSTANCE,
        Some(&w.baseline(6)),
        Some(&w.executor()),
    )
    .await;
    assert_eq!(report.deleted, vec![orphan.clone()]);
    assert!(w.sim.service_json(&orphan).is_none());
    for kept in [&by_hand, &other_instance, &other_namespace, &overlapping] {
        assert!(w.sim.service_json(kept).is_some(), "{kept} was deleted");
        assert!(
            report.left_alone.iter().any(|(id, _)| id == kept),
            "{kept} not reported"
        );
    }
    assert_eq!(w.sim.call_count("application.delete"), 1);
    w.sim.shutdown().await;
}

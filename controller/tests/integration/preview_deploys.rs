//! A preview generation's deploy against the Dokploy simulator, through the real executor,
//! client and prober:
//!
//! - D8 for previews: a generation persisted as Deploying whose deploy never reached Dokploy
//!   (a controller stopped between the two, or a call Dokploy never queued) is sent again,
//!   once, after `resendAfter`, when Dokploy shows nothing under way for the application; a
//!   generation that says it was re-sent is never sent a third time and fails at
//!   `deployTimeout` instead;
//! - verification is timed from when Dokploy says the deploy finished, so a URL that never
//!   serves the generation fails it even when no single reconcile lasts `verifyTimeout`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::preview_lifecycle::{World, phases, world};

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane::engine::preview::PreviewSettings;
use launchplane_api::resources::{CleanupPolicy, GenerationPhase, PreviewGeneration};
use launchplane_e2e::sim::{AppBehaviour, Fault};
use serde_json::json;
use std::time::Duration;

/// The generation the preview's spec asks for (the newest).
fn newest(w: &World) -> PreviewGeneration {
    w.preview
        .status
        .as_ref()
        .and_then(|s| s.generations.last().cloned())
        .unwrap()
}

fn seconds_ago(secs: i64) -> Time {
    Time(
        Timestamp::now()
            .checked_sub(SignedDuration::from_secs(secs))
            .unwrap(),
    )
}

/// Deployments of `app` titled `title`, as Dokploy lists them.
fn titled(w: &World, app: &str, title: &str) -> usize {
    w.sim
        .deployments(app)
        .iter()
        .filter(|d| d["title"] == title)
        .count()
}

/// The preview's app, Ready on generation `a`; then generation `b` persisted as Deploying with
/// its image and env written, and its deploy never queued by Dokploy (the call answered 500
/// before Dokploy saw it: what a controller stopped right after persisting Deploying leaves).
async fn lost_deploy(w: &mut World) -> (String, String) {
    let report = w.run().await;
    assert_eq!(phases(&report), vec![GenerationPhase::Ready], "{report:?}");
    let app = report.status.target_id.clone().unwrap();
    w.set('b', "shop-b");
    w.sim.inject("application.deploy", Fault::Status(500));
    let short = PreviewSettings {
        deadline: Duration::from_millis(300),
        ..w.settings()
    };
    let report = w.run_with(&short).await;
    assert_eq!(
        phases(&report),
        vec![GenerationPhase::Ready, GenerationPhase::Deploying],
        "{report:?}"
    );
    w.sim.clear_faults();
    let generation = newest(w).id;
    assert_eq!(
        titled(w, &app, &generation),
        0,
        "the deploy never reached Dokploy"
    );
    (app, generation)
}

#[tokio::test]
async fn a_deploy_lost_after_deploying_was_persisted_is_sent_once_and_the_generation_goes_ready() {
    let mut w = world(CleanupPolicy::Report, 3).await;
    let (app, generation) = lost_deploy(&mut w).await;
    let settings = PreviewSettings {
        resend_after: Duration::from_secs(3),
        deploy_timeout: Duration::from_secs(600),
        ..w.settings()
    };

    // Before resendAfter: followed by its title only; nothing is sent, the queue is not read.
    let queue_reads = w.sim.call_count("deployment.queueList");
    let quick = PreviewSettings {
        deadline: Duration::from_millis(300),
        ..settings.clone()
    };
    let report = w.run_with(&quick).await;
    assert_eq!(newest(&w).phase, GenerationPhase::Deploying, "{report:?}");
    assert_eq!(titled(&w, &app, &generation), 0);
    assert_eq!(w.sim.call_count("deployment.queueList"), queue_reads);

    // The restart comes later than resendAfter: Dokploy is idle for the app, so the deploy is
    // sent again, once, and the generation is followed to Ready.
    if let Some(status) = w.preview.status.as_mut() {
        status.generations.last_mut().unwrap().deploy_time = Some(seconds_ago(10));
    }
    let report = w.run_with(&settings).await;
    assert_eq!(
        phases(&report),
        vec![GenerationPhase::Ready, GenerationPhase::Ready],
        "{report:?}"
    );
    assert_eq!(report.steps, vec!["Resend"], "{report:?}");
    assert!(
        w.sim.call_count("deployment.queueList") > queue_reads,
        "the queue was looked at"
    );
    assert_eq!(titled(&w, &app, &generation), 1, "exactly one deploy");
    let ready = newest(&w);
    assert!(ready.resent_time.is_some(), "{ready:?}");
    assert_eq!(
        report.status.serving_generation.as_deref(),
        Some(generation.as_str())
    );

    // A restart afterwards changes nothing.
    let report = w.run_with(&settings).await;
    assert!(report.steps.is_empty(), "{:?}", report.steps);
    assert_eq!(titled(&w, &app, &generation), 1);
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_generation_that_says_it_was_re_sent_is_never_sent_again_and_fails_at_the_deploy_timeout() {
    let mut w = world(CleanupPolicy::Report, 3).await;
    let (app, generation) = lost_deploy(&mut w).await;
    let settings = PreviewSettings {
        resend_after: Duration::from_secs(3),
        deploy_timeout: Duration::from_secs(60),
        deadline: Duration::from_millis(300),
        ..w.settings()
    };
    // Stopped again, right after noting the re-send and before sending it.
    if let Some(status) = w.preview.status.as_mut() {
        let g = status.generations.last_mut().unwrap();
        g.deploy_time = Some(seconds_ago(10));
        g.resent_time = Some(seconds_ago(5));
    }
    let report = w.run_with(&settings).await;
    assert_eq!(newest(&w).phase, GenerationPhase::Deploying, "{report:?}");
    assert_eq!(titled(&w, &app, &generation), 0, "a re-send is never repeated");

    // Still nothing by deployTimeout: the generation fails; the serving one stays.
    if let Some(status) = w.preview.status.as_mut() {
        status.generations.last_mut().unwrap().deploy_time = Some(seconds_ago(61));
    }
    let report = w.run_with(&settings).await;
    let failed = newest(&w);
    assert_eq!(failed.phase, GenerationPhase::Failed, "{report:?}");
    assert!(
        failed
            .evidence
            .as_deref()
            .unwrap()
            .contains("did not finish within 60s"),
        "{failed:?}"
    );
    assert_eq!(titled(&w, &app, &generation), 0);
    assert_eq!(
        report.status.serving_generation,
        Some(report.status.generations[0].id.clone())
    );
    w.sim.shutdown().await;
}

/// The verification window counts from when Dokploy says the deploy finished, not from when
/// a reconcile first saw it done: a URL that keeps serving another generation fails the new
/// one once `verifyTimeout` has passed, even though each reconcile ends sooner (the cluster's
/// reconcile budget is shorter than its verification window).
#[tokio::test]
async fn a_generation_whose_url_never_serves_it_fails_after_the_verify_timeout_across_reconciles() {
    let mut w = world(CleanupPolicy::Report, 3).await;
    let report = w.run().await;
    let app = report.status.target_id.clone().unwrap();
    let first = report.status.generations[0].id.clone();
    // The app keeps serving generation a, whatever is deployed.
    w.sim.set_app_behaviour(
        &app,
        AppBehaviour::StaleIdentity(json!({
            "product": "shop",
            "previewId": "shop-pr-42",
            "previewGenerationId": first,
            "deploymentRecordId": first,
        })),
    );
    w.set('b', "shop-b");
    let settings = PreviewSettings {
        verify_timeout: Duration::from_secs(2),
        deadline: Duration::from_millis(700),
        ..w.settings()
    };
    let report = w.run_with(&settings).await;
    assert_eq!(newest(&w).phase, GenerationPhase::Deploying, "{report:?}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let report = w.run_with(&settings).await;
    let failed = newest(&w);
    assert_eq!(failed.phase, GenerationPhase::Failed, "{report:?}");
    assert!(
        failed.evidence.as_deref().unwrap().starts_with("identity"),
        "{failed:?}"
    );
    assert_eq!(report.status.serving_generation.as_deref(), Some(first.as_str()));
    w.sim.shutdown().await;
}

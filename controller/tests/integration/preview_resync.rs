//! Settled previews are verified again, with fresh evidence, on every reconcile (issue 12,
//! D5), against the Dokploy simulator through the real executor, client and prober:
//!
//! - a Ready preview whose application is deleted out of band turns Missing, then recovers
//!   (a new application under its marker, the generation deployed again);
//! - faults of `application.one` (5xx, timeout, malformed, a 404 the org listing contradicts)
//!   and a preview URL that does not answer read Unverifiable, never Matched, and keep the
//!   recorded application;
//! - a one-off 404 while a generation is deploying keeps `targetId` and creates no second app;
//! - `preview.environment` given as the name of an environment that is still empty works, and
//!   setup problems (an environment that does not exist yet) stall the Preview without failing
//!   its generation, which deploys once the setup is fixed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::preview_lifecycle::{HOST, INSTANCE, World, phases, world};
use crate::support::single_attempt_config;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane::engine::preview::PreviewReport;
use launchplane_api::conditions::{find, types};
use launchplane_api::ownership::Owner;
use launchplane_api::resources::{CleanupPolicy, GenerationPhase};
use launchplane_api::verdict::Verdict;
use launchplane_e2e::sim::{AppBehaviour, Fault};
use launchplane_providers::DokployClient;
use std::time::Duration;

fn condition(report: &PreviewReport, type_: &str) -> (String, String, String) {
    let c = find(&report.status.conditions, type_).unwrap_or_else(|| panic!("no {type_} in {report:?}"));
    (c.status.clone(), c.reason.clone(), c.message.clone())
}

/// The preview deployed to Ready; returns its application id.
async fn ready(w: &mut World) -> String {
    let report = w.run().await;
    assert_eq!(phases(&report), vec![GenerationPhase::Ready], "{report:?}");
    assert_eq!(report.status.verdict, Some(Verdict::Matched));
    report.status.target_id.clone().unwrap()
}

/// The ids of every application named `name`, as the org listing shows them.
async fn apps_named(w: &World, name: &str) -> Vec<String> {
    w.client
        .observe_org()
        .await
        .unwrap()
        .services
        .into_iter()
        .filter(|s| s.name.as_deref() == Some(name))
        .map(|s| s.id)
        .collect()
}

async fn project_of_template(w: &World) -> String {
    let id = w.template.spec.target_id.clone().unwrap();
    w.client
        .observe_org()
        .await
        .unwrap()
        .services
        .into_iter()
        .find(|s| s.id == id)
        .and_then(|s| s.project_id)
        .unwrap()
}

/// D5: a settled Ready preview is looked at again. Its application deleted by hand, it turns
/// Missing on the next reconcile, and the one after recovers it: a new application with this
/// Preview's marker, the same generation deployed again and verified at the URL.
#[tokio::test]
async fn a_ready_preview_whose_app_is_deleted_out_of_band_turns_missing_and_recovers() {
    let mut w = world(CleanupPolicy::Report, 3).await;
    let first = ready(&mut w).await;
    let generation = w.preview.status.as_ref().unwrap().generations[0].id.clone();

    // The resync of a settled preview reads the application and probes the URL again.
    let reads = w.sim.call_count("application.one");
    let report = w.run().await;
    assert!(w.sim.call_count("application.one") > reads, "not read again");
    assert_eq!(report.status.verdict, Some(Verdict::Matched));
    let (ready_status, _, _) = condition(&report, types::READY);
    assert_eq!(ready_status, "True");
    let (_, reason, message) = condition(&report, types::TARGET_VERIFIED);
    assert_eq!(reason, "Matched");
    assert!(message.contains(&first), "{message}");

    // Deleted out of band.
    assert!(w.sim.remove_service(&first));
    let report = w.run().await;
    assert_eq!(report.status.verdict, Some(Verdict::Missing), "{report:?}");
    let (status, reason, message) = condition(&report, types::TARGET_VERIFIED);
    assert_eq!((status.as_str(), reason.as_str()), ("False", "Missing"));
    assert!(message.contains(&first), "{message}");
    assert_eq!(condition(&report, types::READY).0, "False");
    let (status, reason, _) = condition(&report, types::RECONCILING);
    assert_eq!((status.as_str(), reason.as_str()), ("True", "Recovering"));
    assert_eq!(
        report.status.target_id, None,
        "forgotten only once confirmed gone"
    );
    assert_eq!(report.status.serving_generation, None, "nothing serves it now");
    assert_eq!(phases(&report), vec![GenerationPhase::Requested]);
    let redeploy = &report.status.generations[0];
    assert_eq!(redeploy.id, generation, "the same generation, deployed again");
    assert!(
        redeploy.evidence.as_deref().unwrap().contains(&first),
        "{redeploy:?}"
    );
    assert_eq!(w.sim.call_count("application.create"), 1, "not yet");

    // The next reconcile recovers.
    let report = w.run().await;
    assert_eq!(phases(&report), vec![GenerationPhase::Ready], "{report:?}");
    assert_eq!(report.status.verdict, Some(Verdict::Matched));
    let second = report.status.target_id.clone().unwrap();
    assert_ne!(second, first);
    assert_eq!(
        report.status.serving_generation.as_deref(),
        Some(generation.as_str())
    );
    assert_eq!(
        report.status.generations[0].target_id.as_deref(),
        Some(second.as_str())
    );
    let marker = w.sim.service_json(&second).unwrap()["description"].clone();
    let owner = Owner::new(INSTANCE, crate::support::NS, "Preview", "shop-pr-42", None);
    assert!(marker.as_str().unwrap().contains(&owner.marker()), "{marker}");
    assert_eq!(w.sim.call_count("application.create"), 2);
    let (code, body) = w.ingress(HOST).await;
    assert_eq!(code, 200);
    assert!(body.contains(&generation), "{body}");
    w.sim.shutdown().await;
}

/// D5/D6: whatever `application.one` does wrong (5xx, timeout, a malformed answer, a 404 the
/// org listing contradicts), and when the URL does not answer, a Ready preview reads
/// Unverifiable: never Matched, never forgetting its application, never creating another.
#[tokio::test]
async fn a_ready_preview_reads_unverifiable_never_matched_through_every_fault() {
    let mut w = world(CleanupPolicy::Report, 3).await;
    let mut config = single_attempt_config(&w.sim);
    config.request_timeout = Duration::from_secs(1);
    w.client = DokployClient::new(config).unwrap();
    let app = ready(&mut w).await;

    for (route, fault) in [
        ("application.one", Fault::Status(500)),
        ("application.one", Fault::Timeout),
        ("application.one", Fault::MalformedBody),
        ("application.one", Fault::Status(404)),
        ("overview.services", Fault::Status(503)),
    ] {
        let what = format!("{route} {fault:?}");
        w.sim.inject(route, fault);
        if route == "overview.services" {
            // Only asked after a 404: both at once.
            w.sim.inject("application.one", Fault::Status(404));
        }
        let report = w.run().await;
        assert_eq!(
            report.status.verdict,
            Some(Verdict::Unverifiable),
            "{what}: {report:?}"
        );
        let (status, reason, _) = condition(&report, types::TARGET_VERIFIED);
        assert_eq!(
            (status.as_str(), reason.as_str()),
            ("Unknown", "Unverifiable"),
            "{what}"
        );
        assert_eq!(condition(&report, types::READY).0, "Unknown", "{what}");
        assert_eq!(report.status.target_id.as_deref(), Some(app.as_str()), "{what}");
        assert_eq!(
            phases(&report),
            vec![GenerationPhase::Ready],
            "{what}: history kept"
        );
        assert!(report.error.is_some(), "{what}: retried soon");
        assert_eq!(report.requeue, Duration::from_secs(30), "{what}");
        w.sim.clear_faults();
    }

    // The URL does not answer (the prober cannot connect): Unverifiable too.
    let ingress = std::mem::replace(&mut w.probe_via, "http://127.0.0.1:9".into());
    let report = w.run().await;
    assert_eq!(report.status.verdict, Some(Verdict::Unverifiable), "{report:?}");
    let (status, reason, _) = condition(&report, types::RUNTIME_IDENTITY_VERIFIED);
    assert_eq!((status.as_str(), reason.as_str()), ("Unknown", "Unverifiable"));
    w.probe_via = ingress;

    // The app stops answering behind the ingress: whatever the probe makes of it, not Matched.
    w.sim.set_app_behaviour(&app, AppBehaviour::Down);
    let report = w.run().await;
    assert_ne!(report.status.verdict, Some(Verdict::Matched), "{report:?}");
    assert_ne!(condition(&report, types::READY).0, "True");
    w.sim.set_app_behaviour(&app, AppBehaviour::Normal);

    // Dokploy and the app answer again: Matched on fresh evidence, the same application.
    let report = w.run().await;
    assert_eq!(report.status.verdict, Some(Verdict::Matched), "{report:?}");
    assert_eq!(report.status.target_id.as_deref(), Some(app.as_str()));
    assert_eq!(w.sim.call_count("application.create"), 1);
    assert_eq!(w.sim.call_count("application.delete"), 0);
    w.sim.shutdown().await;
}

/// A single 404 from `application.one` while a new generation is on its way never makes the
/// preview forget its application (which would create a second one next time).
#[tokio::test]
async fn a_one_off_404_keeps_the_target_id_and_creates_no_second_app() {
    let mut w = world(CleanupPolicy::Report, 3).await;
    let app = ready(&mut w).await;
    w.set('b', "shop-b");
    w.sim.inject("application.one", Fault::Status(404));
    let report = w.run().await;
    assert_eq!(
        report.status.target_id.as_deref(),
        Some(app.as_str()),
        "the id is kept: the org listing still lists it"
    );
    assert_eq!(
        phases(&report),
        vec![GenerationPhase::Ready, GenerationPhase::Requested]
    );
    let (_, reason, message) = condition(&report, types::TARGET_VERIFIED);
    assert_eq!(reason, "Unverifiable");
    assert!(message.contains("still lists"), "{message}");
    assert!(report.error.is_some());

    w.sim.clear_faults();
    let report = w.run().await;
    assert_eq!(
        phases(&report),
        vec![GenerationPhase::Ready, GenerationPhase::Ready]
    );
    assert_eq!(report.status.target_id.as_deref(), Some(app.as_str()));
    assert_eq!(w.sim.call_count("application.create"), 1, "no second app");
    assert_eq!(apps_named(&w, "shop-pr-42").await, vec![app]);
    w.sim.shutdown().await;
}

/// `preview.environment` names an environment of the template's project that holds no
/// service yet (so `overview.services` cannot show it): it is found through
/// `environment.byProjectId`, and the preview is created there.
#[tokio::test]
async fn a_preview_environment_given_by_name_that_is_still_empty_works() {
    let mut w = world(CleanupPolicy::Report, 3).await;
    let project = project_of_template(&w).await;
    let empty = w.sim.seed_environment(&project, "review-apps").unwrap();
    w.product.spec.preview.environment = Some("review-apps".into());
    let report = w.run().await;
    assert_eq!(phases(&report), vec![GenerationPhase::Ready], "{report:?}");
    let app = report.status.target_id.clone().unwrap();
    assert_eq!(w.sim.service_json(&app).unwrap()["environmentId"], empty.as_str());
    assert!(w.sim.call_count("environment.byProjectId") >= 1);
    w.sim.shutdown().await;
}

/// A setup problem (here: the named environment does not exist yet) stalls the Preview with a
/// reason and leaves its generation requested; once the environment exists the next
/// reconcile deploys it, with the deploy timed from when it was sent, not from the request.
#[tokio::test]
async fn a_setup_error_stalls_and_the_generation_deploys_once_the_setup_is_fixed() {
    let mut w = world(CleanupPolicy::Report, 3).await;
    let project = project_of_template(&w).await;
    w.product.spec.preview.environment = Some("review-apps".into());
    let report = w.run().await;
    assert_eq!(phases(&report), vec![GenerationPhase::Requested], "{report:?}");
    let (status, reason, message) = condition(&report, types::STALLED);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "PreviewEnvironmentNotFound")
    );
    assert!(message.contains("review-apps"), "{message}");
    assert_eq!(report.status.verdict, Some(Verdict::Unverifiable));
    assert_eq!(report.requeue, Duration::from_secs(300), "retried on the resync");
    assert_eq!(w.sim.call_count("application.create"), 0);
    // Asked again on the resync, still missing: still stalled, still requested.
    let report = w.run().await;
    assert_eq!(phases(&report), vec![GenerationPhase::Requested]);

    // The generation has waited long past the deploy timeout (20 s) by the time it is fixed.
    if let Some(status) = w.preview.status.as_mut() {
        status.generations[0].requested_time = Some(Time(
            jiff::Timestamp::now()
                .checked_sub(jiff::SignedDuration::from_hours(1))
                .unwrap(),
        ));
    }
    let env = w.sim.seed_environment(&project, "review-apps").unwrap();
    let report = w.run().await;
    assert_eq!(phases(&report), vec![GenerationPhase::Ready], "{report:?}");
    assert_eq!(condition(&report, types::STALLED).0, "False");
    assert_eq!(report.status.verdict, Some(Verdict::Matched));
    let app = report.status.target_id.clone().unwrap();
    assert_eq!(w.sim.service_json(&app).unwrap()["environmentId"], env.as_str());
    w.sim.shutdown().await;
}

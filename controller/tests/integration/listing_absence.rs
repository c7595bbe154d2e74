//! D12 (issue 12): a Dokploy listing that suddenly lacks targets, against the simulator,
//! through the cluster's ProviderConfig reconcile (real poller and client, mocked API server)
//! and the ProviderTarget core with its status carried from poll to poll, as the API server
//! keeps it.
//!
//! A target seen before and absent from one listing is Unverifiable until a second, later
//! listing also lacks it; a listing that drops half of the apps for one poll therefore never
//! makes them Missing, and apps that are really gone are Missing on the second poll.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::fault_support::*;
use launchplane::k8s::controller;
use launchplane_api::Verdict;
use launchplane_api::conditions::types;
use launchplane_api::resources::{ProviderConfig, ProviderTarget};
use launchplane_core::provider_target::{claims_against, reconcile as target_core};
use launchplane_e2e::sim::{DokploySim, SeedApplication, SimConfig};
use std::sync::Arc;

const APPS: usize = 4;

fn app(i: usize, id: Option<&str>) -> SeedApplication {
    SeedApplication {
        id: id.map(str::to_string),
        name: format!("web-{i}"),
        docker_image: Some("ghcr.io/acme/web:1".into()),
        env: Some("A=1\n".into()),
        domains: vec![format!("web-{i}.shop.test")],
        ..SeedApplication::default()
    }
}

/// The simulator with four applications and their ProviderTargets; the environment id, for
/// putting removed apps back.
async fn four_apps(key: &str) -> (Harness, Vec<String>, String) {
    let sim = DokploySim::start(SimConfig {
        api_key: key.into(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let (_, env) = sim.seed_project("shop");
    let ids: Vec<String> = (0..APPS)
        .map(|i| sim.seed_application(&env, app(i, None)).unwrap())
        .collect();
    let targets = ids.iter().enumerate().map(|(i, id)| target(i, id)).collect();
    (Harness::with(sim, key, None, targets), ids, env)
}

/// Verify every target against the published snapshot, keeping each status for the next
/// time as the API server would. Verified twice: the cluster reconciles a target more than
/// once per poll, and the second look must not confirm an absence the first one saw.
fn verify(h: &Harness, targets: &mut [ProviderTarget]) -> Vec<(Verdict, String, String)> {
    let view = h
        .ctx
        .world
        .providers
        .view(&format!("{NS}/main"))
        .expect("a published view");
    let window = view.snapshot.window(&view.settings);
    let now = h.ctx.world.now();
    let mut out = Vec::new();
    for _ in 0..2 {
        let all = targets.to_vec();
        out = targets
            .iter_mut()
            .map(|t| {
                let s = target_core(t, &window, &claims_against(t, &all), now).status;
                t.status = Some(s.clone());
                (
                    s.verdict.unwrap(),
                    s.reason.unwrap_or_default(),
                    s.message.unwrap_or_default(),
                )
            })
            .collect();
    }
    out
}

/// One poll through the ProviderConfig controller, with the status it wrote last time (as
/// the watch would deliver it), then the targets verified against the new snapshot.
async fn poll(
    h: &Harness,
    config: &mut ProviderConfig,
    targets: &mut [ProviderTarget],
) -> (serde_json::Value, Vec<(Verdict, String, String)>) {
    h.next_poll();
    controller::reconcile(Arc::new(config.clone()), h.ctx.clone())
        .await
        .unwrap();
    let status = h.server.last_config_status();
    config.status = Some(serde_json::from_value(status.clone()).unwrap());
    (status, verify(h, targets))
}

#[tokio::test]
async fn a_listing_that_drops_half_the_apps_for_one_poll_never_makes_them_missing() {
    let (h, ids, env) = four_apps("listing-drop-key").await;
    let mut targets = h.targets.clone();
    let mut config = h.config.as_ref().clone();
    let (_, verdicts) = poll(&h, &mut config, &mut targets).await;
    assert!(
        verdicts.iter().all(|(v, _, _)| *v == Verdict::Matched),
        "{verdicts:?}"
    );

    for id in &ids[..2] {
        assert!(h.sim.remove_service(id));
    }
    let (written, verdicts) = poll(&h, &mut config, &mut targets).await;
    assert_eq!(written["verdict"], "Matched", "the provider answered: {written}");
    let ready = condition(&written, types::READY)["message"].as_str().unwrap();
    assert!(
        ready.contains("holds 2 applications and compose services, 2 fewer than the listing before (4)"),
        "the ProviderConfig says plainly that the listing shrank: {ready}"
    );
    for (i, (verdict, reason, message)) in verdicts.iter().enumerate() {
        if i < 2 {
            assert_eq!(
                (*verdict, reason.as_str()),
                (Verdict::Unverifiable, "AbsenceUnconfirmed"),
                "{message}"
            );
            assert!(message.contains("confirming on the next poll"), "{message}");
        } else {
            assert_eq!(*verdict, Verdict::Matched, "{message}");
        }
    }

    // The apps are listed again: back to Matched, never Missing, and the absence forgotten.
    for (i, id) in ids[..2].iter().enumerate() {
        assert_eq!(
            h.sim.seed_application(&env, app(i, Some(id))).as_deref(),
            Some(id.as_str())
        );
    }
    let (written, verdicts) = poll(&h, &mut config, &mut targets).await;
    assert!(
        verdicts.iter().all(|(v, _, _)| *v == Verdict::Matched),
        "{verdicts:?}"
    );
    assert!(
        targets
            .iter()
            .all(|t| t.status.as_ref().unwrap().first_absent_time.is_none())
    );
    assert!(
        !condition(&written, types::READY)["message"]
            .as_str()
            .unwrap()
            .contains("fewer")
    );
    h.sim.shutdown().await;
}

#[tokio::test]
async fn apps_really_gone_are_missing_on_the_second_poll_that_lacks_them() {
    let (h, ids, _) = four_apps("listing-gone-key").await;
    let mut targets = h.targets.clone();
    let mut config = h.config.as_ref().clone();
    poll(&h, &mut config, &mut targets).await;
    for id in &ids[..2] {
        assert!(h.sim.remove_service(id));
    }
    let (_, first) = poll(&h, &mut config, &mut targets).await;
    assert_eq!(first[0].0, Verdict::Unverifiable, "{first:?}");

    let (_, second) = poll(&h, &mut config, &mut targets).await;
    for (i, (verdict, reason, message)) in second.iter().enumerate() {
        let want = if i < 2 {
            (Verdict::Missing, "TargetNotFound")
        } else {
            (Verdict::Matched, "Matched")
        };
        assert_eq!((*verdict, reason.as_str()), want, "{message}");
    }
    assert!(
        second[0].2.contains("absent from every listing since"),
        "{}",
        second[0].2
    );
    h.sim.shutdown().await;
}

//! Section 5: health/identity probes per second through the shared prober, at several
//! concurrencies, against the simulator's apps.

use crate::report::{Report, Row, Section};
use futures::StreamExt;
use jiff::Timestamp;
use launchplane::observe::prober::{Prober, ProberConfig};
use launchplane_api::Verdict;
use launchplane_api::resources::{IdentityEndpoint, IdentityFields, RuntimeIdentity, RuntimeIdentitySpec};
use launchplane_core::runtime_identity;
use launchplane_e2e::sim::{DokploySim, SeedApplication, SimConfig};
use serde_json::json;
use std::time::{Duration, Instant};

pub async fn run(report: &mut Report, apps: usize, duration: Duration) {
    report.section(
        Section::Probes,
        "5. health/identity probes through the shared prober",
    );
    let sim = DokploySim::start(SimConfig {
        api_key: "bench-probes".into(),
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let identities = seeded_identities(&sim, apps);
    let health_only = |spec: &RuntimeIdentitySpec| {
        let mut target = runtime_identity::probe_target(spec);
        target.surfaces.well_known = false;
        target
    };
    let runs = [(1usize, false), (16, false), (64, false), (64, true)];
    for (concurrency, one_request) in runs {
        let prober = Prober::new(ProberConfig {
            max_concurrent: concurrency,
            ..ProberConfig::default()
        })
        .expect("prober");
        let begin = Instant::now();
        let mut done = 0usize;
        let mut matched = 0usize;
        while begin.elapsed() < duration {
            let batch = futures::stream::iter(0..concurrency * 8)
                .map(|i| {
                    let identity = &identities[i % identities.len()];
                    let prober = &prober;
                    let target = if one_request {
                        health_only(&identity.spec)
                    } else {
                        runtime_identity::probe_target(&identity.spec)
                    };
                    async move {
                        let probe = prober.probe(&target).await;
                        runtime_identity::reconcile(identity, Some(&probe), Timestamp::now())
                            .status
                            .verdict
                    }
                })
                .buffer_unordered(concurrency);
            let verdicts: Vec<_> = batch.collect().await;
            done += verdicts.len();
            matched += verdicts.iter().filter(|v| **v == Some(Verdict::Matched)).count();
        }
        let per_sec = done as f64 / begin.elapsed().as_secs_f64();
        report.add(
            Row::measured(
                format!(
                    "probes/s (probe + classify), concurrency {concurrency}{}",
                    if one_request { ", health+header only" } else { "" },
                ),
                per_sec,
                "/s",
            )
            .at(apps)
            .met("≥ 5,000 /s", per_sec >= 5000.0)
            .note(format!(
                "{done} probes, {matched} Matched; {} HTTP request(s) each; the simulator's apps keep connections alive",
                if one_request { 1 } else { 2 },
            )),
        );
    }
    sim.shutdown().await;
}

/// `apps` deployed apps serving a runtime identity, and a RuntimeIdentity expecting each.
fn seeded_identities(sim: &DokploySim, apps: usize) -> Vec<RuntimeIdentity> {
    let (_, env) = sim.seed_project("probes");
    (0..apps)
        .map(|i| {
            let identity = json!({"product": "shop", "context": format!("lane-{i}"), "deploymentRecordId": format!("rec-{i}")});
            let id = sim
                .seed_application(
                    &env,
                    SeedApplication {
                        name: format!("probe-{i}"),
                        docker_image: Some("ghcr.io/acme/shop:1".into()),
                        env: Some(format!(
                            "LAUNCHPLANE_RUNTIME_IDENTITY_JSON='{identity}'\nLAUNCHPLANE_DEPLOYMENT_RECORD_ID=rec-{i}\n"
                        )),
                        deployed: true,
                        ..SeedApplication::default()
                    },
                )
                .expect("seed");
            RuntimeIdentity::new(
                &format!("probe-{i}"),
                RuntimeIdentitySpec {
                    expected: IdentityFields {
                        product: Some("shop".into()),
                        context: Some(format!("lane-{i}")),
                        deployment_record_id: Some(format!("rec-{i}")),
                        ..IdentityFields::default()
                    },
                    endpoint: IdentityEndpoint {
                        base_url: sim.app_url(&id).expect("app url"),
                        health_path: "/healthz".into(),
                    },
                    ..RuntimeIdentitySpec::default()
                },
            )
        })
        .collect()
}

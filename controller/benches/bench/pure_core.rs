//! Section 1: pure core throughput: ProviderTarget verifications/s and RuntimeIdentity
//! classifications/s, no I/O.

use crate::fixtures::{observed_target, provider_target};
use crate::measure::rate;
use crate::report::{Report, Row, Section};
use jiff::Timestamp;
use launchplane_api::Verdict;
use launchplane_api::identity::{parse_deployment_header, parse_health_body};
use launchplane_api::resources::{
    IdentityEndpoint, IdentityFields, ProviderTarget, RuntimeIdentity, RuntimeIdentitySpec,
};
use launchplane_api::verify::target::ObservedTarget;
use launchplane_core::observation::{PollSettings, Snapshot};
use launchplane_core::probe::ProbeResult;
use launchplane_core::{provider_target, runtime_identity};
use serde_json::json;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn run(report: &mut Report, sizes: &[usize], min: Duration) {
    report.section(Section::Core, "1. pure core throughput");
    for &n in sizes {
        verifications(report, n, min);
    }
    classifications(report, min);
}

fn verifications(report: &mut Report, n: usize, min: Duration) {
    let now = Timestamp::now();
    let settings = PollSettings::default();
    let observed: Vec<ObservedTarget> = (0..n).map(observed_target).collect();
    let targets: Vec<ProviderTarget> = observed
        .iter()
        .enumerate()
        .map(|(i, o)| provider_target(i, &o.id, &o.name))
        .collect();
    let snapshot = Snapshot {
        targets: Some(Arc::new(observed)),
        observed_at: Some(now),
        last_poll_at: Some(now),
        version: Some("v0.30.2".into()),
        ..Default::default()
    };
    let window = snapshot.window(&settings);
    // Claims indexed once per pass (ids are unique here, so nobody has a rival).
    let per_sec = rate(min, n, || {
        for t in &targets {
            let outcome = provider_target::reconcile(t, &window, &[], now);
            assert_eq!(outcome.status.verdict, Some(Verdict::Matched));
            black_box(outcome);
        }
    });
    report.add(
        Row::measured(
            "ProviderTarget verifications/s (claims precomputed)",
            per_sec,
            "/s",
        )
        .at(n)
        .no_target()
        .note("core::provider_target::reconcile over a snapshot of N"),
    );
    // As the kube controller and standalone mode call it: one claim index per poll, then
    // each target's claims looked up by its id.
    let started = Instant::now();
    let mut done = 0usize;
    let index = provider_target::ClaimIndex::build(&targets);
    for t in &targets {
        let claims = index.claims_for(t);
        black_box(provider_target::reconcile(t, &window, &claims, now));
        done += 1;
        if started.elapsed() > Duration::from_secs(20) {
            break;
        }
    }
    let full_pass = started.elapsed().as_secs_f64() * (n as f64 / done as f64);
    report.add(
        Row::measured(
            "ProviderTarget verifications/s incl. claim index",
            n as f64 / full_pass,
            "/s",
        )
        .at(n)
        .no_target()
        .note(format!("one full pass = {:.1} ms", full_pass * 1000.0)),
    );
}

fn classifications(report: &mut Report, min: Duration) {
    let expected = IdentityFields {
        product: Some("shop".into()),
        context: Some("prod".into()),
        deployment_record_id: Some("shop-prod-42".into()),
        artifact_id: Some("shop-abc123".into()),
        ..IdentityFields::default()
    };
    let identity = RuntimeIdentity::new(
        "shop-prod",
        RuntimeIdentitySpec {
            expected,
            endpoint: IdentityEndpoint {
                base_url: "http://127.0.0.1:1".into(),
                health_path: "/healthz".into(),
            },
            ..RuntimeIdentitySpec::default()
        },
    );
    let body = serde_json::to_vec(&json!({"status": "ok", "runtime_identity": {
        "product": "shop", "context": "prod", "deploymentRecordId": "shop-prod-42",
        "artifactId": "shop-abc123", "environmentKind": "stable"}}))
    .unwrap();
    let parsed = || ProbeResult {
        health_status: Some(200),
        observations: vec![
            parse_health_body(&body),
            parse_deployment_header(Some("shop-prod-42")),
        ],
        elapsed: Duration::from_millis(1),
    };
    let probe = parsed();
    let now = Timestamp::now();
    let per_sec = rate(min, 1000, || {
        for _ in 0..1000 {
            let outcome = runtime_identity::reconcile(&identity, Some(&probe), now);
            assert_eq!(outcome.status.verdict, Some(Verdict::Matched));
            black_box(outcome);
        }
    });
    report.add(
        Row::measured("RuntimeIdentity classifications/s", per_sec, "/s")
            .no_target()
            .note("core::runtime_identity::reconcile on a parsed probe"),
    );
    let per_sec = rate(min, 1000, || {
        for _ in 0..1000 {
            black_box(runtime_identity::reconcile(&identity, Some(&parsed()), now));
        }
    });
    report.add(
        Row::measured("RuntimeIdentity parse + classify/s", per_sec, "/s")
            .no_target()
            .note("health JSON and header parsed each time"),
    );
}

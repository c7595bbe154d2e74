#![allow(clippy::unwrap_used)]

use super::*;
// The plan's own types come through `super::*`; what the fixtures build with is named here.
use crate::deployment_record::{
    self as record, ATTEMPT_LABEL, DeployRetryPolicy, DeploySettings, start_deploy,
};
use crate::health::health_result;
use crate::probe::ProbeResult;
use crate::target::{DesiredEnv, TargetFacts};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::conditions::{self, types};
use launchplane_api::identity::{
    RuntimeIdentityPayload, Surface, SurfaceObservation, deployment_record_id, release_tuple_id,
};
use launchplane_api::resources::{
    Artifact, ArtifactImage, ArtifactSpec, DeploymentOrigin, DeploymentPhase, DeploymentRecord, DriftPolicy,
    Driver, HealthCheck, HealthCheckType, Lane, LaneSpec, LocalObjectRef, ManagementPolicy, Product,
    ProductSpec, ProviderTarget, ProviderTargetSpec, ProviderTargetStatus, SourceRef, StepEvidence,
    TargetCategory,
};
use launchplane_api::verdict::{FieldMismatch, Verdict};
use launchplane_providers::SecretString;
use std::collections::BTreeSet;
use std::time::Duration;

const SECRET: &str = "very-secret-value-0192";
const INSTANCE: &str = "cluster-a";

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn settings() -> DeploySettings {
    DeploySettings {
        start_timeout: SignedDuration::from_secs(60),
        resend_after: SignedDuration::from_secs(20),
        verify_timeout: SignedDuration::from_secs(30),
        retry: DeployRetryPolicy {
            base_delay: SignedDuration::from_secs(30),
            max_delay: SignedDuration::from_secs(300),
            max_attempts: 5,
        },
        poll_delay: Duration::from_millis(1),
    }
}

struct Fx {
    lane: Lane,
    product: Product,
    target: ProviderTarget,
    artifact: Artifact,
    records: Vec<DeploymentRecord>,
    env: DesiredEnv,
    facts: TargetFacts,
    /// Whether the target was read this plan (`false`: no provider client yet).
    read: bool,
    probe: Option<ProbeResult>,
    rivals: Vec<String>,
    /// The namespace's Promotions (they feed a lane with `spec.promotion`).
    promotions: Vec<launchplane_api::resources::Promotion>,
    /// The driver's checks, as run now.
    checks: Vec<launchplane_api::resources::VerificationCheck>,
    /// The target's routes as the shared poll shows them (`None`: not looked at).
    routes: Option<Vec<launchplane_api::verify::target::ObservedRoute>>,
    /// The namespace's DataBootstraps.
    bootstraps: Vec<launchplane_api::resources::DataBootstrap>,
}

fn fx() -> Fx {
    let mut lane = Lane::new(
        "testing",
        LaneSpec {
            product_ref: LocalObjectRef::new("shop"),
            stage: "testing".into(),
            target_ref: LocalObjectRef::new("web"),
            artifact_ref: Some(LocalObjectRef::new("shop-1")),
            ..Default::default()
        },
    );
    lane.metadata.namespace = Some("shop".into());
    lane.spec.runtime_identity.base_url = Some("http://app.test".into());
    let mut product = Product::new(
        "shop",
        ProductSpec {
            image_repository: "ghcr.io/acme/shop".into(),
            ..Default::default()
        },
    );
    product.metadata.namespace = Some("shop".into());
    let mut target = ProviderTarget::new(
        "web",
        ProviderTargetSpec {
            target_id: Some("app-1".into()),
            display_name: "web".into(),
            management_policy: ManagementPolicy::Manage,
            ..Default::default()
        },
    );
    target.status = Some(ProviderTargetStatus {
        verdict: Some(Verdict::Matched),
        message: Some("matches".into()),
        ..Default::default()
    });
    let mut artifact = Artifact::new(
        "shop-1",
        ArtifactSpec {
            image: ArtifactImage {
                repository: "ghcr.io/acme/shop".into(),
                digest: format!("sha256:{}", "a".repeat(64)),
            },
            source: SourceRef {
                repository: "github.com/acme/shop".into(),
                commit: "b".repeat(40),
            },
            ..Default::default()
        },
    );
    artifact.metadata.namespace = Some("shop".into());
    // Marked as this lane's already: the tests of the marking step start from other facts.
    let description = format!("shop testing\n{}", lane_owner(&lane, INSTANCE).marker());
    Fx {
        lane,
        product,
        target,
        artifact,
        records: Vec::new(),
        env: DesiredEnv::from([("API_KEY".to_string(), SecretString::new(SECRET))]),
        facts: TargetFacts {
            image: Some("old".into()),
            env: SecretString::new("OTHER=1\n"),
            description: Some(description),
            source_type: Some("docker".into()),
        },
        read: true,
        probe: None,
        rivals: Vec::new(),
        promotions: Vec::new(),
        checks: Vec::new(),
        routes: None,
        bootstraps: Vec::new(),
    }
}

impl Fx {
    fn plan(&self, now: Timestamp) -> LanePlan {
        plan(
            &LaneInputs {
                lane: &self.lane,
                lane_key: "testing",
                feed: &crate::promotion::feed(&self.lane, &self.promotions.iter().collect::<Vec<_>>()),
                product: Some(&self.product),
                target: Some(&self.target),
                artifact: Some(&self.artifact),
                records: &self.records,
                desired_env: Ok(&self.env),
                facts: self.read.then_some(Ok(&self.facts)),
                probe: self.probe.as_ref(),
                identity: None,
                health: &[],
                base: &crate::verification::base_url::resolve(
                    &self.lane,
                    Some(&self.product),
                    Some(&self.target),
                    self.routes.as_deref().map(Ok),
                ),
                checks: &self.checks,
                settings: &settings(),
                instance: INSTANCE,
                rivals: &self.rivals,
                bootstraps: &self.bootstraps.iter().collect::<Vec<_>>(),
            },
            now,
        )
    }

    /// The record the first plan writes, with `phase`.
    fn record(&self, phase: DeploymentPhase) -> DeploymentRecord {
        let Some(Step::CreateRecord(r)) = fx().plan(t(0)).step else {
            panic!("first plan writes a record")
        };
        let mut r = *r;
        r.status.as_mut().unwrap().phase = Some(phase);
        r
    }

    /// Make the target look exactly as `r` deployed it.
    fn converge(&mut self, r: &DeploymentRecord) {
        let identity = RuntimeIdentityPayload::from(&r.spec.expected_identity);
        let env = record_env(&identity, &self.env, &ImagePin::Application);
        let merged =
            launchplane_providers::env_merge::merge(self.facts.env.expose(), &env, &BTreeSet::new()).unwrap();
        self.facts = TargetFacts {
            image: r.spec.expected_identity.image_reference.clone(),
            env: merged.env,
            ..self.facts.clone()
        };
        self.probe = Some(serving(&identity));
    }
}

fn serving(identity: &RuntimeIdentityPayload) -> ProbeResult {
    ProbeResult {
        health_status: Some(200),
        observations: vec![SurfaceObservation::Found {
            surface: Surface::HealthBody,
            payload: identity.clone(),
        }],
        elapsed: Duration::from_millis(1),
    }
}

fn cond(p: &LanePlan, type_: &str) -> (String, String, String) {
    let c = conditions::find(&p.outcome.status.conditions, type_).unwrap();
    (c.status.clone(), c.reason.clone(), c.message.clone())
}

fn succeeded(mut r: DeploymentRecord, at: i64) -> DeploymentRecord {
    let s = r.status.as_mut().unwrap();
    s.phase = Some(DeploymentPhase::Succeeded);
    s.verification = Some(StepEvidence {
        finished_at: Some(Time(t(at))),
        ..Default::default()
    });
    r
}

#[test]
fn nothing_is_mutated_when_a_reference_does_not_resolve() {
    type Edit = fn(&mut Fx);
    let table: Vec<(&str, Edit, &str)> = vec![
        (
            "product missing",
            |f| f.lane.spec.product_ref.name = "nope".into(),
            "ProductNotFound",
        ),
        (
            "odoo on an application target",
            |f| f.product.spec.driver = Driver::Odoo,
            "TargetNotCompose",
        ),
        (
            "target observe-only",
            |f| f.target.spec.management_policy = ManagementPolicy::Observe,
            "TargetNotManaged",
        ),
        (
            "target compose",
            |f| f.target.spec.target_category = TargetCategory::Compose,
            "TargetNotApplication",
        ),
        (
            "artifact missing",
            |f| f.lane.spec.artifact_ref = Some(LocalObjectRef::new("gone")),
            "ArtifactNotFound",
        ),
        (
            "branch as commit",
            |f| f.artifact.spec.source.commit = "main".into(),
            "ArtifactInvalid",
        ),
        (
            "tag as digest",
            |f| f.artifact.spec.image.digest = "latest".into(),
            "ArtifactInvalid",
        ),
        (
            "reserved env key",
            |f| {
                f.env.insert("LAUNCHPLANE_X".into(), SecretString::new("1"));
            },
            "EnvInvalid",
        ),
        ("suspended", |f| f.lane.spec.suspend = true, "Suspended"),
    ];
    for (what, edit, reason) in table {
        let mut f = fx();
        edit(&mut f);
        let product = (f.lane.spec.product_ref.name == "shop").then_some(&f.product);
        let artifact = (f.lane.spec.artifact_ref.as_ref().unwrap().name == "shop-1").then_some(&f.artifact);
        let p = plan(
            &LaneInputs {
                lane: &f.lane,
                lane_key: "testing",
                feed: &crate::promotion::feed(&f.lane, &[]),
                product,
                target: Some(&f.target),
                artifact,
                records: &[],
                desired_env: Ok(&f.env),
                facts: Some(Ok(&f.facts)),
                probe: None,
                identity: None,
                health: &[],
                base: &crate::verification::base_url::resolve(&f.lane, product, Some(&f.target), None),
                checks: &[],
                settings: &settings(),
                instance: INSTANCE,
                rivals: &[],
                bootstraps: &[],
            },
            t(0),
        );
        assert_eq!(p.step, None, "{what}: no step");
        let (stalled, stalled_reason, message) = cond(&p, types::STALLED);
        assert_eq!(
            (stalled.as_str(), stalled_reason.as_str()),
            ("True", reason),
            "{what}: {message}"
        );
        let (_, _, deployed) = cond(&p, types::DEPLOYED);
        assert!(deployed.contains("not deploying"), "{what}: {deployed}");
    }
}

#[test]
fn an_unresolved_env_reference_or_an_unmatched_target_blocks_too() {
    let f = fx();
    let p = plan(
        &LaneInputs {
            lane: &f.lane,
            lane_key: "testing",
            feed: &crate::promotion::feed(&f.lane, &[]),
            product: Some(&f.product),
            target: Some(&f.target),
            artifact: Some(&f.artifact),
            records: &[],
            desired_env: Err("spec.env.secretRefs: Secret shop/x is not in the folder".into()),
            facts: Some(Ok(&f.facts)),
            probe: None,
            identity: None,
            health: &[],
            base: &crate::verification::base_url::resolve(&f.lane, Some(&f.product), Some(&f.target), None),
            checks: &[],
            settings: &settings(),
            instance: INSTANCE,
            rivals: &[],
            bootstraps: &[],
        },
        t(0),
    );
    assert_eq!(p.step, None);
    assert_eq!(cond(&p, types::STALLED).1, "EnvNotResolved");

    let mut f = fx();
    f.target.status.as_mut().unwrap().verdict = Some(Verdict::Mismatch);
    let p = f.plan(t(0));
    assert_eq!(p.step, None, "a target that is not Matched is never mutated");
    assert!(cond(&p, types::DEPLOYED).2.contains("never mutated"));
    assert_eq!(cond(&p, types::TARGET_VERIFIED).1, "Mismatch");
}

/// While a DataBootstrap of the lane is under way the lane starts no deploy, says why, and its
/// `bootstrap` summary marks the inventory stale; once it ended, the deploy goes ahead.
#[test]
fn no_deploy_starts_while_a_data_bootstrap_of_the_lane_runs() {
    use launchplane_api::resources::{
        BootstrapPhase, BootstrapStepResult, DataBootstrap, DataBootstrapSpec, DataBootstrapStatus,
        LaneBootstrapState, StepOutcome,
    };
    let mut f = fx();
    let mut b = DataBootstrap::new("boot", DataBootstrapSpec::default());
    b.metadata.namespace = f.lane.metadata.namespace.clone();
    b.spec.lane_ref.name = "testing".into();
    b.status = Some(DataBootstrapStatus {
        phase: Some(BootstrapPhase::Bootstrapping),
        outcome: Some(launchplane_api::resources::BootstrapOutcome::Unknown),
        start_time: Some(Time(t(0))),
        bootstrap_run: Some(BootstrapStepResult {
            result: StepOutcome::Unknown,
            ..Default::default()
        }),
        ..Default::default()
    });
    f.bootstraps = vec![b.clone()];
    let p = f.plan(t(1));
    assert_eq!(p.step, None, "no deploy while the bootstrap runs");
    let status = serde_json::to_string(&p.outcome.status).unwrap();
    assert!(
        status.contains("DataBootstrap boot of this lane is in progress"),
        "{status}"
    );
    let summary = p.outcome.status.bootstrap.clone().unwrap();
    assert_eq!(summary.state, LaneBootstrapState::Unknown);
    assert!(summary.inventory_stale);
    // Ended: the deploy goes ahead.
    b.status.as_mut().unwrap().phase = Some(BootstrapPhase::Failed);
    b.status.as_mut().unwrap().outcome = Some(launchplane_api::resources::BootstrapOutcome::Failed);
    f.bootstraps = vec![b];
    assert!(matches!(f.plan(t(2)).step, Some(Step::CreateRecord(_))));
}

#[test]
fn the_first_deploy_writes_a_deterministic_intent_record() {
    let p = fx().plan(t(0));
    let Some(Step::CreateRecord(r)) = p.step.clone() else {
        panic!("{:?}", p.step)
    };
    let id = deployment_record_id("testing", "shop-1", 1);
    assert_eq!(r.metadata.name.as_deref(), Some(id.as_str()));
    assert_eq!(r.metadata.labels.as_ref().unwrap()[ATTEMPT_LABEL], "1");
    assert_eq!(r.status.as_ref().unwrap().phase, Some(DeploymentPhase::Pending));
    let e = &r.spec.expected_identity;
    assert_eq!(e.deployment_record_id.as_deref(), Some(id.as_str()));
    assert_eq!(e.source_git_ref.as_deref(), Some("b".repeat(40).as_str()));
    assert_eq!(
        e.image_reference.as_deref(),
        Some(fx().artifact.spec.image_reference().as_str())
    );
    assert_eq!(
        e.release_tuple_id.as_deref(),
        Some(release_tuple_id("shop", "testing", "shop-1").as_str())
    );
    assert_eq!(cond(&p, types::DEPLOYED).1, "Missing");
    // Planning again gives the same record: nothing depends on when.
    let Some(Step::CreateRecord(again)) = fx().plan(t(99)).step else {
        panic!()
    };
    assert_eq!(again.metadata.name, r.metadata.name);
}

#[test]
fn a_pending_record_sets_the_image_then_merges_env_then_deploys_titled_with_its_id() {
    let mut f = fx();
    let r = f.record(DeploymentPhase::Pending);
    let id = r.metadata.name.clone().unwrap();
    f.records = vec![r.clone()];
    assert_eq!(f.plan(t(1)).step.unwrap().name(), "SetImage");

    f.facts.image = r.spec.expected_identity.image_reference.clone();
    match f.plan(t(1)).step.unwrap() {
        Step::MergeEnv { keys, .. } => {
            assert!(keys.contains(&"API_KEY".to_string()));
            assert!(keys.contains(&"LAUNCHPLANE_DEPLOYMENT_RECORD_ID".to_string()));
            assert!(
                !keys.contains(&"OTHER".to_string()),
                "unrelated keys are not written"
            );
        }
        other => panic!("{other:?}"),
    }

    f.converge(&r);
    match f.plan(t(1)).step.unwrap() {
        Step::Deploy { title, status, .. } => {
            assert_eq!(title, id);
            assert_eq!(
                status.phase,
                Some(DeploymentPhase::Deploying),
                "written before the call"
            );
        }
        other => panic!("{other:?}"),
    }
    let p = f.plan(t(1));
    assert_eq!(cond(&p, types::RECONCILING).0, "True");
}

#[test]
fn a_deploying_record_is_followed_never_deployed_again() {
    let mut f = fx();
    let mut r = f.record(DeploymentPhase::Pending);
    let id = r.metadata.name.clone().unwrap();
    r.status = Some(start_deploy(&r, &id, t(1)));
    f.records = vec![r.clone()];
    // Whatever the target looks like (the deploy may or may not have been sent), follow it.
    for converged in [false, true] {
        if converged {
            f.converge(&r);
        }
        match f.plan(t(2)).step.unwrap() {
            Step::FollowDeployment { title, .. } => assert_eq!(title, id),
            other => panic!("{other:?}"),
        }
    }
    // Suspending does not stop following (it is read-only).
    f.lane.spec.suspend = true;
    assert_eq!(f.plan(t(2)).step.unwrap().name(), "FollowDeployment");
}

#[test]
fn verification_succeeds_and_advances_the_inventory_a_failure_does_not() {
    let mut f = fx();
    let mut r = f.record(DeploymentPhase::Verifying);
    r.status.as_mut().unwrap().verification = Some(StepEvidence {
        started_at: Some(Time(t(1))),
        ..Default::default()
    });
    f.records = vec![r.clone()];
    f.converge(&r);
    let Some(Step::WriteRecord { status, wait, .. }) = f.plan(t(2)).step else {
        panic!()
    };
    assert_eq!(status.phase, Some(DeploymentPhase::Succeeded));
    assert!(!wait);

    // Once the record says Succeeded the inventory moves and the lane is Ready.
    f.records = vec![succeeded(r.clone(), 3)];
    let p = f.plan(t(4));
    assert_eq!(p.step, None);
    let inv = p.outcome.status.inventory.clone().unwrap();
    assert_eq!(inv.artifact, "shop-1");
    assert_eq!(inv.deployment_record, r.metadata.name);
    assert_eq!(inv.since, Some(Time(t(3))));
    assert_eq!(
        cond(&p, types::READY).0,
        "True",
        "{:?}",
        p.outcome.status.conditions
    );
    assert_eq!(p.outcome.status.verdict, Some(Verdict::Matched));

    // A later attempt that failed leaves it where it was, visible on the Deployed condition.
    f.lane.status = Some(p.outcome.status.clone());
    f.artifact.metadata.name = Some("shop-2".into());
    f.lane.spec.artifact_ref = Some(LocalObjectRef::new("shop-2"));
    let Some(Step::CreateRecord(second)) = f.plan(t(5)).step else {
        panic!()
    };
    assert_eq!(second.metadata.labels.as_ref().unwrap()[ATTEMPT_LABEL], "2");
    let mut failed = *second;
    failed.status.as_mut().unwrap().phase = Some(DeploymentPhase::Failed);
    failed.status.as_mut().unwrap().verification = Some(StepEvidence {
        finished_at: Some(Time(t(6))),
        message: Some("identity Mismatch".into()),
        ..Default::default()
    });
    f.records.push(failed.clone());
    let p = f.plan(t(7));
    assert_eq!(p.outcome.status.inventory.clone().unwrap().artifact, "shop-1");
    assert_eq!(p.outcome.status.last_deployment_record, failed.metadata.name);
    let (_, reason, message) = cond(&p, types::DEPLOYED);
    assert_eq!(reason, "Mismatch");
    assert!(
        message.contains("failed") && message.contains("inventory stays at shop-1"),
        "{message}"
    );
    assert_eq!(p.step, None, "no retry inside the backoff");
    // After the backoff, a new attempt (a new record) is made.
    let Some(Step::CreateRecord(third)) = f.plan(t(6 + 301)).step else {
        panic!()
    };
    assert_eq!(third.metadata.labels.as_ref().unwrap()[ATTEMPT_LABEL], "3");
    assert_ne!(third.metadata.name, failed.metadata.name);
}

/// Issue 15: a driver's required check that fails keeps the attempt from succeeding, so the
/// inventory does not advance; the record and the lane each show the check's own result.
#[test]
fn a_failing_driver_check_holds_the_inventory_and_shows_on_the_lane() {
    use launchplane_api::resources::{BaseUrlSource, CheckResult, VerificationCheck, VerificationCheckName};
    let mut f = fx();
    let mut r = f.record(DeploymentPhase::Verifying);
    r.status.as_mut().unwrap().verification = Some(StepEvidence {
        started_at: Some(Time(t(1))),
        ..Default::default()
    });
    f.product.spec.driver = Driver::Verireel;
    f.records = vec![r.clone()];
    f.converge(&r);
    let health = |result: CheckResult| VerificationCheck {
        name: VerificationCheckName::Health,
        result,
        required: true,
        url: Some("http://app.test/healthz".into()),
        message: Some("answered HTTP 503, expected 2xx".into()),
        checked_at: Some(Time(t(2))),
    };
    f.checks = vec![health(CheckResult::Failed)];
    let Some(Step::WriteRecord { status, wait, .. }) = f.plan(t(2)).step else {
        panic!()
    };
    assert_eq!((status.phase, wait), (Some(DeploymentPhase::Verifying), true));
    let results: Vec<_> = status.checks.iter().map(|c| (c.name, c.result)).collect();
    assert_eq!(
        results,
        vec![
            (VerificationCheckName::Health, CheckResult::Failed),
            (VerificationCheckName::RuntimeIdentity, CheckResult::Passed)
        ]
    );
    let Some(Step::WriteRecord { status, .. }) = f.plan(t(40)).step else {
        panic!()
    };
    assert_eq!(status.phase, Some(DeploymentPhase::Failed));
    let mut failed = r.clone();
    failed.status = Some(*status);
    f.records = vec![failed];
    let p = f.plan(t(41));
    assert_eq!(p.outcome.status.inventory, None, "the inventory does not advance");
    let v = p.outcome.status.verification.clone().unwrap();
    assert_eq!(v.base_url_source, Some(BaseUrlSource::Lane));
    assert_eq!(v.base_url.as_deref(), Some("http://app.test"));
    assert_eq!(v.checks[0].result, CheckResult::Failed);
    assert_eq!(cond(&p, types::HEALTHY).1, "Mismatch");

    // The same attempt with the check passing succeeds (the check is what held it).
    f.records = vec![r];
    f.checks = vec![health(CheckResult::Passed)];
    let Some(Step::WriteRecord { status, .. }) = f.plan(t(2)).step else {
        panic!()
    };
    assert_eq!(status.phase, Some(DeploymentPhase::Succeeded));
}

/// Issue 15: a verireel lane whose Dokploy domains do not say which one is public deploys
/// nothing it could not verify, and says which field to set; once one is selected it deploys.
#[test]
fn a_verireel_lane_without_a_base_url_deploys_nothing() {
    use launchplane_api::verify::target::ObservedRoute;
    let mut f = fx();
    f.product.spec.driver = Driver::Verireel;
    f.lane.spec.runtime_identity.base_url = None;
    let route = |host: &str| ObservedRoute {
        host: host.into(),
        https: true,
        path: None,
    };
    f.routes = Some(vec![route("internal.example.com"), route("vr.example.com")]);
    let p = f.plan(t(0));
    assert_eq!(p.step, None, "nothing written, nothing deployed");
    let (stalled, reason, message) = cond(&p, types::STALLED);
    assert_eq!((stalled.as_str(), reason.as_str()), ("True", "BaseUrlUnresolved"));
    assert!(
        message.contains("internal.example.com, vr.example.com") && message.contains("spec.domains"),
        "{message}"
    );
    let v = p.outcome.status.verification.clone().unwrap();
    assert_eq!((v.base_url, v.base_url_source), (None, None));
    assert!(v.message.unwrap().contains("none is selected"));

    // A poll that is not there yet holds it back without stalling.
    f.routes = None;
    let p = f.plan(t(0));
    assert_eq!(p.step, None);
    assert_eq!(cond(&p, types::STALLED).0, "False");

    // The public domain listed first in the ProviderTarget selects it: the lane deploys.
    f.routes = Some(vec![route("internal.example.com"), route("vr.example.com")]);
    f.target.spec.domains = vec!["vr.example.com".into()];
    let p = f.plan(t(0));
    assert_eq!(p.step.map(|s| s.name()), Some("CreateRecord"));
    let v = p.outcome.status.verification.unwrap();
    assert_eq!(v.base_url.as_deref(), Some("https://vr.example.com"));
    assert_eq!(
        v.base_url_source,
        Some(launchplane_api::resources::BaseUrlSource::DokployDomain)
    );
}

fn deployed_fixture() -> Fx {
    let mut f = fx();
    let r = succeeded(f.record(DeploymentPhase::Pending), 3);
    f.converge(&r);
    f.records = vec![r];
    f
}

/// A controller just started, before its first poll: the target not read, and its
/// ProviderTarget Unchecked (`ProviderConfigNotPolled`). Nothing was compared, so ConfigSynced
/// is Unchecked too, not Unverifiable (which starts an Incident's clock); a target that could
/// not be verified still makes it Unverifiable.
#[test]
fn an_unread_target_not_yet_polled_leaves_config_synced_unchecked() {
    let mut f = deployed_fixture();
    f.read = false;
    for (target, config) in [
        (Verdict::Unchecked, "Unchecked"),
        (Verdict::Unverifiable, "Unverifiable"),
    ] {
        f.target.status.get_or_insert_with(Default::default).verdict = Some(target);
        let p = f.plan(t(10));
        assert_eq!(cond(&p, types::CONFIG_SYNCED).1, config, "{target:?}");
        assert_eq!(p.step, None, "nothing is done on an unread target");
    }
}

#[test]
fn drift_report_correct_suspend_and_unmatched_target() {
    let f = deployed_fixture();
    let p = f.plan(t(10));
    assert_eq!(p.step, None);
    assert_eq!(cond(&p, types::CONFIG_SYNCED).1, "Matched");

    // (edit, policy, expect a new record)
    type Edit = fn(&mut Fx);
    let drifts: Vec<(&str, Edit, &str)> = vec![
        (
            "image",
            |f| f.facts.image = Some("ghcr.io/acme/shop:latest".into()),
            "image",
        ),
        (
            "owned env",
            |f| {
                let env = f.facts.env.expose().replace(SECRET, "changed");
                f.facts.env = SecretString::new(env);
            },
            "env.API_KEY",
        ),
        (
            "identity env",
            |f| {
                let env = f
                    .facts
                    .env
                    .expose()
                    .replace("LAUNCHPLANE_ARTIFACT_ID=shop-1", "LAUNCHPLANE_ARTIFACT_ID=x");
                f.facts.env = SecretString::new(env);
            },
            "env.LAUNCHPLANE_ARTIFACT_ID",
        ),
    ];
    for (what, edit, field) in drifts {
        for policy in [DriftPolicy::Report, DriftPolicy::Correct] {
            for suspended in [false, true] {
                let mut f = deployed_fixture();
                f.lane.spec.drift_policy = policy;
                f.lane.spec.suspend = suspended;
                edit(&mut f);
                let p = f.plan(t(10));
                let (_, reason, message) = cond(&p, types::CONFIG_SYNCED);
                assert_eq!(reason, "Mismatch", "{what}");
                assert!(message.contains(field), "{what}: {message}");
                assert!(
                    p.outcome.status.mismatches.iter().any(|m| m.field == field),
                    "{what}"
                );
                assert!(!format!("{p:?}").contains("changed"), "{what}: values withheld");
                let corrects = policy == DriftPolicy::Correct && !suspended;
                match (&p.step, corrects) {
                    (Some(Step::CreateRecord(r)), true) => {
                        assert_eq!(r.metadata.labels.as_ref().unwrap()[ATTEMPT_LABEL], "2");
                        assert!(r.spec.requested_by.as_ref().unwrap().contains("drift correction"));
                    }
                    (None, false) => {}
                    other => panic!("{what} {policy:?} suspended={suspended}: {other:?}"),
                }
            }
        }
    }

    // A renamed target (the ProviderTarget is Mismatch) is reported and never corrected.
    let mut f = deployed_fixture();
    f.lane.spec.drift_policy = DriftPolicy::Correct;
    f.facts.image = Some("other".into());
    let status = f.target.status.as_mut().unwrap();
    status.verdict = Some(Verdict::Mismatch);
    status.mismatches = vec![FieldMismatch::values("displayName", Some("web"), Some("web-old"))];
    let p = f.plan(t(10));
    assert_eq!(p.step, None);
    assert!(cond(&p, types::CONFIG_SYNCED).2.contains("not correcting"));
    assert!(
        p.outcome
            .status
            .mismatches
            .iter()
            .any(|m| m.field == "target.displayName")
    );
}

#[test]
fn evidence_records_are_verified_without_a_deploy() {
    let mut f = fx();
    f.lane.spec.artifact_ref = None;
    let mut evidence = f.record(DeploymentPhase::Pending);
    evidence.metadata.labels = None;
    evidence.spec.origin = DeploymentOrigin::External;
    evidence.status = None;
    f.records = vec![evidence.clone()];
    f.probe = Some(serving(&RuntimeIdentityPayload::from(
        &evidence.spec.expected_identity,
    )));
    let Some(Step::WriteRecord { status, .. }) = f.plan(t(1)).step else {
        panic!()
    };
    assert_eq!(status.phase, Some(DeploymentPhase::Succeeded));
    assert!(status.deploy.is_none(), "nothing was deployed");
    f.records[0].status = Some(*status);
    let p = f.plan(t(2));
    assert_eq!(p.step, None);
    assert_eq!(p.outcome.status.inventory.unwrap().artifact, "shop-1");
}

#[test]
fn records_beyond_the_history_limit_are_pruned_but_never_the_inventory() {
    let mut f = deployed_fixture();
    f.lane.spec.history_limit = 2;
    let inventory = f.records[0].clone();
    for attempt in 2..=4 {
        let mut r = inventory.clone();
        r.metadata.name = Some(format!("dr-old-{attempt}"));
        r.metadata
            .labels
            .as_mut()
            .unwrap()
            .insert(ATTEMPT_LABEL.into(), attempt.to_string());
        r.status.as_mut().unwrap().phase = Some(DeploymentPhase::Failed);
        r.status.as_mut().unwrap().verification = Some(StepEvidence {
            finished_at: Some(Time(t(1))),
            ..Default::default()
        });
        f.records.push(r);
    }
    match f.plan(t(10_000)).step {
        Some(Step::PruneRecords { names }) => assert_eq!(names, vec!["dr-old-2".to_string()]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn health_checks_feed_healthy_and_a_provider_check_without_the_poll_fails_closed() {
    let check = |t: HealthCheckType, required| HealthCheck {
        check_type: t,
        url: None,
        path: Some("/healthz".into()),
        expect_status: 200,
        timeout_seconds: 5,
        required,
    };
    let ok = health_result(
        &check(HealthCheckType::PublicHttp, true),
        Some("http://a/healthz"),
        Some(Ok(200)),
        t(0),
    );
    assert_eq!(ok.evidence.verdict, Some(Verdict::Matched));
    let bad = health_result(
        &check(HealthCheckType::PrivateHttp, true),
        Some("http://a/healthz"),
        Some(Ok(503)),
        t(0),
    );
    assert_eq!(bad.evidence.verdict, Some(Verdict::Mismatch));
    let down = health_result(
        &check(HealthCheckType::PublicHttp, true),
        Some("http://a/healthz"),
        Some(Err("timed out".into())),
        t(0),
    );
    assert_eq!(down.evidence.verdict, Some(Verdict::Unverifiable));
    let provider = health_result(&check(HealthCheckType::Provider, true), None, None, t(0));
    assert_eq!(provider.evidence.verdict, Some(Verdict::Unverifiable));
    assert!(
        provider
            .evidence
            .message
            .unwrap()
            .contains("no observation of the provider")
    );

    let f = deployed_fixture();
    let run = |health: &[HealthResult]| {
        plan(
            &LaneInputs {
                lane: &f.lane,
                lane_key: "testing",
                feed: &crate::promotion::feed(&f.lane, &[]),
                product: Some(&f.product),
                target: Some(&f.target),
                artifact: Some(&f.artifact),
                records: &f.records,
                desired_env: Ok(&f.env),
                facts: Some(Ok(&f.facts)),
                probe: f.probe.as_ref(),
                identity: None,
                health,
                base: &crate::verification::base_url::resolve(
                    &f.lane,
                    Some(&f.product),
                    Some(&f.target),
                    None,
                ),
                checks: &[],
                settings: &settings(),
                instance: INSTANCE,
                rivals: &[],
                bootstraps: &[],
            },
            t(10),
        )
    };
    let p = run(&[ok.clone(), bad.clone()]);
    assert_eq!(cond(&p, types::HEALTHY).1, "Mismatch");
    assert_eq!(cond(&p, types::READY).0, "False");
    let mut advisory = bad;
    advisory.required = false;
    let p = run(&[ok, advisory]);
    assert_eq!(cond(&p, types::HEALTHY).1, "Matched");
    assert_eq!(cond(&p, types::READY).0, "True");
}

#[test]
fn the_identity_child_feeds_runtime_identity_verified() {
    let mut f = deployed_fixture();
    f.product.spec.runtime_identity.required = true;
    let p = f.plan(t(10));
    let child = p.identity.clone().unwrap();
    assert_eq!(child.metadata.name.as_deref(), Some("testing"));
    assert!(child.spec.required, "the product's policy makes it required");
    assert_eq!(child.spec.endpoint.base_url, "http://app.test");
    assert_eq!(cond(&p, types::RUNTIME_IDENTITY_VERIFIED).1, "Matched");
    // A stale app: Mismatch, named field.
    let mut stale = RuntimeIdentityPayload::from(&f.records[0].spec.expected_identity);
    stale.artifact_id = Some("shop-0".into());
    f.probe = Some(serving(&stale));
    let p = f.plan(t(11));
    assert_eq!(cond(&p, types::RUNTIME_IDENTITY_VERIFIED).1, "Mismatch");
    assert!(
        p.outcome
            .status
            .mismatches
            .iter()
            .any(|m| m.field == "identity.artifactId")
    );
    assert_eq!(cond(&p, types::READY).0, "False");
}

#[test]
fn secret_env_values_never_reach_the_plan() {
    let mut f = fx();
    let r = f.record(DeploymentPhase::Pending);
    f.records = vec![r];
    f.facts.image = f.records[0].spec.expected_identity.image_reference.clone();
    let shown = format!("{:?}", f.plan(t(1)));
    assert!(shown.contains("MergeEnv"));
    assert!(!shown.contains(SECRET), "{shown}");
    let status = serde_json::to_string(&f.plan(t(1)).outcome.status).unwrap();
    assert!(!status.contains(SECRET));
}

/// A lane at generation 1 whose first record succeeded and whose target matches it; its
/// status (ConfigSynced True at generation 1) as the last plan left it.
fn synced_at_generation_one(policy: DriftPolicy) -> Fx {
    let mut f = fx();
    f.lane.spec.drift_policy = policy;
    f.lane.metadata.generation = Some(1);
    let Some(Step::CreateRecord(r)) = f.plan(t(0)).step else {
        panic!("first plan writes a record")
    };
    assert_eq!(
        r.spec.lane_generation,
        Some(1),
        "the record remembers its generation"
    );
    let r = succeeded(*r, 3);
    f.converge(&r);
    f.records = vec![r];
    let p = f.plan(t(10));
    assert_eq!(p.step, None);
    assert_eq!(cond(&p, types::CONFIG_SYNCED).1, "Matched");
    f.lane.status = Some(p.outcome.status);
    f
}

#[test]
fn a_spec_change_deploys_under_any_drift_policy_and_out_of_band_changes_stay_drift() {
    const NEW_VALUE: &str = "rotated-by-a-spec-edit-55";
    for policy in [DriftPolicy::Report, DriftPolicy::Correct] {
        // The user edits the lane's env: generation 2. Desired state, deployed either way.
        let mut f = synced_at_generation_one(policy);
        f.lane.metadata.generation = Some(2);
        f.env.insert("API_KEY".into(), SecretString::new(NEW_VALUE));
        let p = f.plan(t(20));
        let Some(Step::CreateRecord(r)) = &p.step else {
            panic!("{policy:?}: a spec change is deployed, got {:?}", p.step)
        };
        assert_eq!(r.spec.lane_generation, Some(2));
        assert_eq!(r.metadata.labels.as_ref().unwrap()[ATTEMPT_LABEL], "2");
        assert!(
            r.spec
                .requested_by
                .as_ref()
                .unwrap()
                .contains("spec change (generation 2"),
            "{:?}",
            r.spec.requested_by
        );
        let (_, reason, message) = cond(&p, types::CONFIG_SYNCED);
        assert_eq!(reason, "Mismatch");
        assert!(message.contains("spec changed"), "{message}");
        assert!(!format!("{p:?}").contains(NEW_VALUE), "values withheld");

        // The same difference made out of band (no generation bump) is drift.
        let mut f = synced_at_generation_one(policy);
        let env = f.facts.env.expose().replace(SECRET, "edited-in-dokploy");
        f.facts.env = SecretString::new(env);
        let p = f.plan(t(20));
        match (policy, &p.step) {
            (DriftPolicy::Report, None) => {
                assert!(cond(&p, types::CONFIG_SYNCED).2.contains("driftPolicy Report"));
            }
            (DriftPolicy::Correct, Some(Step::CreateRecord(r))) => {
                assert!(r.spec.requested_by.as_ref().unwrap().contains("drift correction"));
            }
            other => panic!("out-of-band under {other:?}"),
        }

        // A rotated Secret value (same generation) is drift too: applied only under Correct.
        let mut f = synced_at_generation_one(policy);
        f.env.insert("API_KEY".into(), SecretString::new(NEW_VALUE));
        let p = f.plan(t(20));
        assert_eq!(
            p.step.is_some(),
            policy == DriftPolicy::Correct,
            "{policy:?}: {:?}",
            p.step
        );
    }

    // A spec edit that changes nothing on the target (a health-check tweak) moves the synced
    // generation: later out-of-band edits are still drift.
    let mut f = synced_at_generation_one(DriftPolicy::Report);
    f.lane.metadata.generation = Some(2);
    let p = f.plan(t(20));
    assert_eq!(p.step, None);
    f.lane.status = Some(p.outcome.status);
    f.facts.image = Some("ghcr.io/acme/shop:latest".into());
    let p = f.plan(t(30));
    assert_eq!(
        p.step, None,
        "out-of-band drift after a no-op spec edit is reported only"
    );
    assert!(cond(&p, types::CONFIG_SYNCED).2.contains("driftPolicy Report"));

    // A suspended lane says what it would deploy and does not.
    let mut f = synced_at_generation_one(DriftPolicy::Report);
    f.lane.metadata.generation = Some(2);
    f.lane.spec.suspend = true;
    f.env.insert("API_KEY".into(), SecretString::new(NEW_VALUE));
    let p = f.plan(t(20));
    assert_eq!(p.step, None);
    assert!(
        cond(&p, types::CONFIG_SYNCED)
            .2
            .contains("spec changed, but not deploying"),
        "{}",
        cond(&p, types::CONFIG_SYNCED).2
    );
}

mod claims;
mod promoted;
mod retry;

/// The fixture as an Odoo product deploying to a compose target.
fn odoo() -> Fx {
    let mut f = fx();
    f.product.spec.driver = Driver::Odoo;
    f.product.spec.odoo = Some(launchplane_api::resources::OdooSpec {
        image_env_key: "SHOP_IMAGE".into(),
        ..Default::default()
    });
    f.target.spec.target_category = TargetCategory::Compose;
    f.facts.image = None;
    f.facts.source_type = Some("raw".into());
    f.facts.env = SecretString::new("POSTGRES_DB=shop\nSHOP_IMAGE=ghcr.io/acme/shop@sha256:old\n");
    f
}

#[test]
fn an_odoo_compose_lane_pins_its_image_through_the_compose_env_then_deploys() {
    let mut f = odoo();
    let p = f.plan(t(0));
    let Some(Step::CreateRecord(r)) = p.step else {
        panic!(
            "an odoo compose lane is deployed: {:?}",
            p.outcome.status.conditions
        )
    };
    let mut r = *r;
    r.status.as_mut().unwrap().phase = Some(DeploymentPhase::Pending);
    let id = r.metadata.name.clone().unwrap();
    let image = r.spec.expected_identity.image_reference.clone().unwrap();
    f.records = vec![r.clone()];
    // The image is never set as an application's: it travels in the env merge.
    match f.plan(t(1)).step.unwrap() {
        Step::MergeEnv { keys, pin, .. } => {
            assert_eq!(
                pin,
                ImagePin::ComposeEnv {
                    key: "SHOP_IMAGE".into()
                }
            );
            assert!(keys.contains(&"SHOP_IMAGE".to_string()), "{keys:?}");
            assert!(keys.contains(&"LAUNCHPLANE_DEPLOYMENT_RECORD_ID".to_string()));
            assert!(
                !keys.contains(&"POSTGRES_DB".to_string()),
                "unrelated keys are kept"
            );
        }
        other => panic!("{other:?}"),
    }
    let c = cond(&f.plan(t(1)), types::CONFIG_SYNCED);
    assert!(c.2.contains("image"), "{c:?}");
    // Merged: the compose env holds the image and identity, and the deploy goes out titled
    // with the record id.
    let identity = RuntimeIdentityPayload::from(&r.spec.expected_identity);
    let pin = ImagePin::ComposeEnv {
        key: "SHOP_IMAGE".into(),
    };
    let env = record_env(&identity, &f.env, &pin);
    assert_eq!(env["SHOP_IMAGE"].expose(), image);
    let merged =
        launchplane_providers::env_merge::merge(f.facts.env.expose(), &env, &BTreeSet::new()).unwrap();
    assert!(merged.env.expose().starts_with("POSTGRES_DB=shop\n"));
    f.facts.env = merged.env;
    match f.plan(t(1)).step.unwrap() {
        Step::Deploy { title, .. } => assert_eq!(title, id),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unmarked_compose_is_marked_first_and_a_foreign_one_is_a_conflict() {
    let mut f = odoo();
    let r = f.record(DeploymentPhase::Pending);
    f.records = vec![r];
    f.facts.description = Some("odoo stack".into());
    match f.plan(t(1)).step.unwrap() {
        Step::MarkTarget { description, .. } => {
            assert!(description.starts_with("odoo stack\n"), "{description}");
            assert!(description.contains(&lane_owner(&f.lane, INSTANCE).marker()));
        }
        other => panic!("{other:?}"),
    }
    let other = launchplane_api::ownership::Owner::new("cluster-b", "shop", "Lane", "prod", Some("u9"));
    f.facts.description = Some(other.describe("odoo stack"));
    let p = f.plan(t(1));
    assert_eq!(p.step, None, "a foreign compose is never changed");
    let (status, _, message) = cond(&p, types::TARGET_VERIFIED);
    assert_eq!(status, "False");
    assert!(message.contains("Conflict: Dokploy compose app-1"), "{message}");
}

#[test]
fn a_generic_web_lane_still_refuses_a_compose_target() {
    let mut f = odoo();
    f.product.spec.driver = Driver::GenericWeb;
    let p = f.plan(t(0));
    assert_eq!(p.step, None);
    assert_eq!(cond(&p, types::STALLED).1, "TargetNotApplication");
}

#[test]
fn post_deploy_comes_between_the_deploy_and_verification_and_is_never_asked_twice() {
    use launchplane_api::resources::{CommandResult, CommandSpec};
    let mut f = odoo();
    if let Some(o) = f.product.spec.odoo.as_mut() {
        o.post_deploy = Some(CommandSpec {
            command: "odoo -u all --stop-after-init".into(),
            ..Default::default()
        });
    }
    let r = f.record(DeploymentPhase::Verifying);
    let name = r.metadata.name.clone().unwrap();
    f.records = vec![r.clone()];
    f.converge(&r);
    // Deployed and serving, but the command comes first.
    let (_, reason, message) = cond(&f.plan(t(1)), types::RECONCILING);
    assert_eq!(reason, "PostDeploying");
    assert!(message.ends_with("running its post-deploy command"), "{message}");
    match f.plan(t(1)).step.unwrap() {
        Step::EnsureSchedule { want, .. } => {
            assert_eq!(want.service, "web");
            assert_eq!(want.compose_id, "app-1");
            assert!(
                want.description()
                    .contains(&lane_owner(&f.lane, INSTANCE).marker())
            );
        }
        other => panic!("{other:?}"),
    }
    let scheduled = post_deploy::scheduled(&r, "s1", Some("d0".into()), t(2));
    let mut r2 = r.clone();
    r2.status = Some(scheduled);
    f.records = vec![r2.clone()];
    let Step::RunCommand { schedule, status, .. } = f.plan(t(3)).step.unwrap() else {
        panic!()
    };
    assert_eq!(schedule, "s1");
    let intent = status.post_deploy_command.clone().unwrap();
    assert_eq!(intent.result, Some(CommandResult::Unknown));
    assert_eq!(intent.previous_run_id.as_deref(), Some("d0"));
    // Stopped after the intent was written: the history is read, the command is not run again,
    // whatever holds the lane back.
    let mut r3 = r2.clone();
    r3.status = Some(*status);
    f.records = vec![r3.clone()];
    f.lane.spec.suspend = true;
    match f.plan(t(4)).step.unwrap() {
        Step::SettleCommand { record, schedule } => {
            assert_eq!((record, schedule), (name.clone(), "s1".into()))
        }
        other => panic!("{other:?}"),
    }
    f.lane.spec.suspend = false;
    // Succeeded: verification. Failed: the record is Failed and nothing runs.
    let mut ok = r3.clone();
    let mut run = intent.clone();
    run.result = Some(CommandResult::Succeeded);
    ok.status = Some(post_deploy::with_run(&r3, run, t(5)));
    f.records = vec![ok];
    assert_eq!(f.plan(t(6)).step.unwrap().name(), "WriteRecord");
    let mut failed = r3.clone();
    let mut run = intent;
    run.result = Some(CommandResult::Failed);
    failed.status = Some(post_deploy::with_run(&r3, run, t(5)));
    assert_eq!(
        failed.status.as_ref().unwrap().phase,
        Some(DeploymentPhase::Failed)
    );
    // No post-deploy for an application lane or without a command.
    let mut plain = fx();
    let r = plain.record(DeploymentPhase::Verifying);
    plain.records = vec![r.clone()];
    plain.converge(&r);
    assert_eq!(plain.plan(t(1)).step.unwrap().name(), "WriteRecord");
}

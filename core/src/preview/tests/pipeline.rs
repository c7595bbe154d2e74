//! The preview pipeline: what is read in each state ([`needs`]), the one step planned from each
//! state ([`plan`]), and what a step's outcome means ([`PreviewPlan::after`]).

use super::t;
use crate::action::{ExecError, Performed};
use crate::deployment_record::DeployActivity;
use crate::preview::*;
use crate::probe::ProbeResult;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::conditions::{find, types};
use launchplane_api::identity::{RuntimeIdentityPayload, Surface, SurfaceObservation};
use launchplane_api::resources::{
    Artifact, ArtifactImage, ArtifactSpec, GenerationPhase, LocalObjectRef, ManagementPolicy, Preview,
    PreviewGeneration, PreviewPolicy, PreviewSpec, PreviewStatus, Product, ProductSpec, ProviderTarget,
    ProviderTargetSpec, PullRequest, SourceRef, TargetCategory as ApiCategory,
};
use launchplane_api::verdict::Verdict;
use launchplane_providers::{
    Deployment, DeploymentStatus, DomainRef, SecretString, TargetCategory, TargetDetail, env_merge,
};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const INSTANCE: &str = "test";
const APP: &str = "app-1";

struct Fx {
    preview: Preview,
    product: Product,
    template: ProviderTarget,
    artifact: Artifact,
    settings: PreviewSettings,
}

fn fx() -> Fx {
    let mut product = Product::new(
        "shop",
        ProductSpec {
            display_name: "Shop".into(),
            repository: "github.com/acme/shop".into(),
            image_repository: "ghcr.io/acme/shop".into(),
            preview: PreviewPolicy {
                enabled: true,
                base_domain: Some("preview.shop.test".into()),
                template_target_ref: Some(LocalObjectRef::new("template")),
                ..PreviewPolicy::default()
            },
            ..Default::default()
        },
    );
    product.metadata.namespace = Some("shop".into());
    let mut template = ProviderTarget::new(
        "template",
        ProviderTargetSpec {
            provider_config_ref: LocalObjectRef::new("dokploy"),
            target_category: ApiCategory::Application,
            target_id: Some("tmpl".into()),
            display_name: "template".into(),
            management_policy: ManagementPolicy::Observe,
            ..Default::default()
        },
    );
    template.metadata.namespace = Some("shop".into());
    let mut artifact = Artifact::new(
        "shop-a",
        ArtifactSpec {
            image: ArtifactImage {
                repository: "ghcr.io/acme/shop".into(),
                digest: format!("sha256:{}", "a".repeat(64)),
            },
            source: SourceRef {
                repository: "github.com/acme/shop".into(),
                commit: "a".repeat(40),
            },
            ..Default::default()
        },
    );
    artifact.metadata.namespace = Some("shop".into());
    let mut preview = Preview::new(
        "shop-pr-42",
        PreviewSpec {
            product_ref: LocalObjectRef::new("shop"),
            pull_request: PullRequest {
                repository: "github.com/acme/shop".into(),
                number: 42,
                url: None,
                head_sha: "a".repeat(40),
            },
            artifact_ref: LocalObjectRef::new("shop-a"),
            ttl: None,
        },
    );
    preview.metadata.namespace = Some("shop".into());
    preview.metadata.uid = Some("uid-42".into());
    preview.metadata.generation = Some(1);
    Fx {
        preview,
        product,
        template,
        artifact,
        settings: PreviewSettings {
            instance: INSTANCE.into(),
            ..PreviewSettings::default()
        },
    }
}

impl Fx {
    fn inputs(&self) -> PreviewInputs<'_> {
        PreviewInputs {
            preview: &self.preview,
            product: Some(&self.product),
            template: Some(&self.template),
            artifact: Some(&self.artifact),
            provider: true,
        }
    }

    fn names(&self) -> PreviewNames {
        preview_names(&self.preview, &self.product).unwrap()
    }

    fn generation(&self) -> String {
        generation_id("shop-pr-42", &"a".repeat(40), "shop-a")
    }

    fn image(&self) -> String {
        self.artifact.spec.image_reference()
    }

    fn marker(&self) -> String {
        preview_owner(&self.preview, INSTANCE).describe("Launchplane preview")
    }

    fn identity(&self) -> RuntimeIdentityPayload {
        expected_identity(
            "shop",
            &self.names(),
            &self.generation(),
            "shop-a",
            &"a".repeat(40),
            &self.image(),
        )
    }

    /// The preview's env, written as the merge writes it.
    fn env(&self) -> String {
        let wanted: BTreeMap<String, SecretString> = preview_env(&self.identity(), &self.names())
            .into_iter()
            .map(|(k, v)| (k, SecretString::new(v)))
            .collect();
        env_merge::merge("", &wanted, &BTreeSet::new())
            .unwrap()
            .env
            .expose()
            .to_string()
    }

    /// The application as read: this Preview's marker, `hosts`, `image` and `env`.
    fn app(&self, hosts: &[&str], image: Option<&str>, env: Option<&str>) -> TargetDetail {
        detail(APP, Some(self.marker()), hosts, image, env)
    }

    /// The application with everything of this generation in place.
    fn complete(&self) -> TargetDetail {
        let env = self.env();
        let image = self.image();
        self.app(&[&self.names().host], Some(&image), Some(&env))
    }

    fn needs(&self, status: &PreviewStatus) -> Needs {
        needs(&self.inputs(), status, &self.settings, t(0))
    }

    fn plan(&self, observed: &Observation, status: &PreviewStatus) -> PreviewPlan {
        plan(&self.inputs(), observed, status, &self.settings, t(0))
    }

    /// A status whose generation is `phase`, on application `target` (recorded too).
    fn status(&self, phase: GenerationPhase, target: Option<&str>) -> PreviewStatus {
        PreviewStatus {
            target_id: target.map(Into::into),
            generations: vec![PreviewGeneration {
                id: self.generation(),
                head_sha: Some("a".repeat(40)),
                artifact: Some("shop-a".into()),
                phase,
                requested_time: Some(Time(t(-30))),
                target_id: target
                    .filter(|_| phase != GenerationPhase::Requested)
                    .map(Into::into),
                deploy_time: (phase != GenerationPhase::Requested).then(|| Time(t(-20))),
                ..PreviewGeneration::default()
            }],
            ..PreviewStatus::default()
        }
    }

    /// Deploying, sent `ago` seconds ago, re-sent or not.
    fn deploying(&self, ago: i64, resent: bool) -> PreviewStatus {
        let mut status = self.status(GenerationPhase::Deploying, Some(APP));
        let g = &mut status.generations[0];
        g.deploy_time = Some(Time(t(-ago)));
        g.resent_time = resent.then(|| Time(t(-1)));
        status
    }

    fn probe_serving(&self) -> ProbeResult {
        ProbeResult {
            health_status: Some(200),
            observations: vec![SurfaceObservation::Found {
                surface: Surface::HealthBody,
                payload: self.identity(),
            }],
            elapsed: Duration::from_millis(1),
        }
    }
}

fn detail(
    id: &str,
    description: Option<String>,
    hosts: &[&str],
    image: Option<&str>,
    env: Option<&str>,
) -> TargetDetail {
    TargetDetail {
        category: TargetCategory::Application,
        id: id.into(),
        name: Some("shop-pr-42".into()),
        app_name: None,
        description,
        image: image.map(Into::into),
        env: env.map(SecretString::new),
        domains: hosts
            .iter()
            .map(|h| DomainRef {
                domain_id: format!("dom-{h}"),
                host: h.to_string(),
                path: None,
                port: Some(8080),
                https: true,
                service_name: None,
            })
            .collect(),
        status: None,
        environment: None,
        project: None,
        source_type: Some("docker".into()),
        compose_file: None,
        registry_username: None,
        registry_url: None,
        has_registry_password: false,
        server_id: None,
    }
}

/// What was read: the recorded application as `detail`.
fn read(detail: TargetDetail) -> Observation {
    Observation {
        application: Some(ApplicationRead {
            detail: Ok(detail),
            listed: None,
        }),
        ..Observation::default()
    }
}

fn deployment(status: DeploymentStatus, finished: Option<Timestamp>) -> Deployment {
    Deployment {
        id: "dep-1".into(),
        title: None,
        description: None,
        status,
        created_at: None,
        started_at: None,
        finished_at: finished.map(|f| f.to_string()),
    }
}

fn unreachable() -> ProbeResult {
    ProbeResult {
        health_status: None,
        observations: vec![SurfaceObservation::unreachable(
            Surface::HealthBody,
            "connection refused",
        )],
        elapsed: Duration::from_millis(1),
    }
}

fn cond(plan: &PreviewPlan, type_: &str) -> (String, String, String) {
    let c = find(&plan.status.conditions, type_).unwrap_or_else(|| panic!("no {type_}"));
    (c.status.clone(), c.reason.clone(), c.message.clone())
}

fn phase(plan: &PreviewPlan) -> GenerationPhase {
    plan.status.generations.last().unwrap().phase
}

fn placement(named: &[&str], detail: Option<Result<TargetDetail, ExecError>>) -> Observation {
    Observation {
        placement: Some(Ok(Placement {
            environment: Ok("env-prev".into()),
            named: named.iter().map(|s| s.to_string()).collect(),
            detail,
        })),
        ..Observation::default()
    }
}

fn refused() -> ExecError {
    ExecError::Refused("application.x: bad request 400: no".into())
}

fn transient() -> ExecError {
    ExecError::Transient("application.x: server error 502: gateway".into())
}

#[test]
fn each_state_names_what_is_read_for_it() {
    let f = fx();
    // Nothing recorded: where the application goes.
    let n = f.needs(&PreviewStatus::default());
    let placement = n.placement.clone().unwrap();
    assert_eq!(placement.template_id, "tmpl");
    assert_eq!(placement.name, "shop-pr-42");
    assert_eq!((n.application, n.deployment, n.probe), (None, None, None));
    // Requested on a recorded application: the application and the deployment by title.
    let n = f.needs(&f.status(GenerationPhase::Requested, Some(APP)));
    assert_eq!(n.placement, None);
    assert_eq!(n.application.as_ref().unwrap().id, APP);
    let d = n.deployment.clone().unwrap();
    assert_eq!(
        (d.title.as_str(), d.activity_when_missing),
        (f.generation().as_str(), false)
    );
    assert_eq!(n.probe, None);
    // Deploying: the probe too, once deployed; the activity only when a re-send is due.
    let n = f.needs(&f.deploying(5, false));
    assert!(n.probe.as_ref().unwrap().once_deployed);
    assert!(!n.deployment.unwrap().activity_when_missing);
    assert!(
        f.needs(&f.deploying(90, false))
            .deployment
            .unwrap()
            .activity_when_missing
    );
    assert!(
        !f.needs(&f.deploying(90, true))
            .deployment
            .unwrap()
            .activity_when_missing
    );
    assert!(
        !f.needs(&f.deploying(901, false))
            .deployment
            .unwrap()
            .activity_when_missing
    );
    // Ready: read again and probed now.
    let n = f.needs(&f.status(GenerationPhase::Ready, Some(APP)));
    assert_eq!(n.application.unwrap().id, APP);
    assert!(!n.probe.unwrap().once_deployed);
    assert_eq!(n.deployment, None);
    // Failed, or stopped before reading: nothing.
    assert_eq!(
        f.needs(&f.status(GenerationPhase::Failed, Some(APP))),
        Needs::default()
    );
    let mut no_product = f.inputs();
    no_product.product = None;
    assert_eq!(
        needs(&no_product, &PreviewStatus::default(), &f.settings, t(0)),
        Needs::default()
    );
}

#[test]
fn the_reads_after_the_application_are_made_only_when_it_is_ours() {
    let f = fx();
    let n = f.needs(&f.deploying(5, false));
    let ours = read(f.complete()).application;
    assert!(n.past_application(ours.as_ref()));
    let theirs = read(detail(APP, Some("made by hand".into()), &[], None, None)).application;
    assert!(!n.past_application(theirs.as_ref()));
    let failed = ApplicationRead {
        detail: Err(transient()),
        listed: None,
    };
    assert!(!n.past_application(Some(&failed)));
    assert!(ApplicationRead::wants_listing(&Err(ExecError::NotFound(
        "404".into()
    ))));
    assert!(!ApplicationRead::wants_listing(&Err(transient())));
    // The probe of a deploying generation waits for the deployment to be done.
    assert!(!n.wants_probe(Some(&Ok(None))));
    assert!(!n.wants_probe(Some(&Ok(Some(deployment(DeploymentStatus::Running, None))))));
    assert!(n.wants_probe(Some(&Ok(Some(deployment(DeploymentStatus::Done, None))))));
    let due = f.needs(&f.deploying(90, false));
    assert!(due.wants_activity(&Ok(None)));
    assert!(!due.wants_activity(&Ok(Some(deployment(DeploymentStatus::Running, None)))));
}

#[test]
fn missing_references_stop_before_anything_is_read() {
    let f = fx();
    let mut inputs = f.inputs();
    inputs.product = None;
    let p = plan(
        &inputs,
        &Observation::default(),
        &PreviewStatus::default(),
        &f.settings,
        t(0),
    );
    assert_eq!(p.step, None);
    assert_eq!(cond(&p, types::STALLED).1, "ProductNotFound");
    assert_eq!(p.status.verdict, Some(Verdict::Unverifiable));
    assert_eq!(p.requeue(&f.settings), BLOCKED_RECHECK);
    assert_eq!(p.status.url, None, "not named yet");

    let mut inputs = f.inputs();
    inputs.provider = false;
    let p = plan(
        &inputs,
        &Observation::default(),
        &PreviewStatus::default(),
        &f.settings,
        t(0),
    );
    assert_eq!(cond(&p, types::STALLED).1, "ProviderUnavailable");
    assert_eq!(p.requeue(&f.settings), PROVIDER_RETRY);
    assert!(p.status.generations.is_empty(), "no generation requested");
    assert_eq!(p.status.url.as_deref(), Some("https://pr-42.preview.shop.test"));

    let mut expired = fx();
    expired.preview.spec.ttl = Some("1h".into());
    expired.preview.metadata.creation_timestamp = Some(Time(t(-7200)));
    let p = expired.plan(&Observation::default(), &PreviewStatus::default());
    assert!(p.expired());
    assert_eq!(p.requeue(&f.settings), EXPIRED_RETRY);
    assert_eq!(cond(&p, types::RECONCILING).1, "Expired");
}

#[test]
fn an_artifact_of_another_commit_than_the_head_is_never_deployed() {
    let mut f = fx();
    f.artifact.spec.source.commit = "b".repeat(40);
    let p = f.plan(&Observation::default(), &PreviewStatus::default());
    assert_eq!(p.step, None);
    let (status, reason, message) = cond(&p, types::STALLED);
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "ArtifactCommitMismatch")
    );
    assert!(
        message.contains("bbbbbbbbbbbb") && message.contains("aaaaaaaaaaaa"),
        "{message}"
    );
    assert!(message.contains("spec.artifactRef"), "names the field: {message}");
    assert!(p.status.generations.is_empty(), "no generation requested");
    assert_ne!(p.status.verdict, Some(Verdict::Matched));
    // The build of the head commit goes ahead.
    f.artifact.spec.source.commit = "a".repeat(40);
    let p = f.plan(&Observation::default(), &PreviewStatus::default());
    assert_ne!(cond(&p, types::STALLED).1, "ArtifactCommitMismatch");
    assert_eq!(p.status.generations.len(), 1, "its generation is requested");
}

#[test]
fn a_missing_artifact_is_waited_for_not_stalled_and_says_who_makes_it() {
    let f = fx();
    let mut inputs = f.inputs();
    inputs.artifact = None;
    let p = plan(
        &inputs,
        &Observation::default(),
        &PreviewStatus::default(),
        &f.settings,
        t(0),
    );
    assert_eq!(p.step, None);
    assert!(matches!(p.pace, Pace::AwaitingArtifact(_)), "{:?}", p.pace);
    let (status, reason, message) = cond(&p, types::RECONCILING);
    assert_eq!((status.as_str(), reason.as_str()), ("True", "WaitingForArtifact"));
    assert!(
        message.contains(&format!(
            "waiting for Artifact {}",
            f.preview.spec.artifact_ref.name
        )),
        "{message}"
    );
    assert!(
        message.contains(&f.preview.spec.pull_request.head_sha),
        "names the commit: {message}"
    );
    assert!(message.contains("CI creates it"), "{message}");
    assert_eq!(
        cond(&p, types::STALLED).0,
        "False",
        "waiting for CI is not a stall"
    );
    assert_eq!(p.requeue(&f.settings), ARTIFACT_RECHECK);
    assert!(
        p.status.generations.is_empty(),
        "no generation requested before the artifact exists"
    );
    assert_ne!(p.status.verdict, Some(Verdict::Matched));
}

#[test]
fn without_a_recorded_application_one_is_created_or_only_ours_is_adopted() {
    let f = fx();
    let none = PreviewStatus::default();

    // None of its name: created, with this Preview's marker; its id is recorded next.
    let p = f.plan(&placement(&[], None), &none);
    let Some(PreviewStep::CreateApplication {
        environment,
        name,
        description,
    }) = p.step.clone()
    else {
        panic!("{:?}", p.step);
    };
    assert_eq!((environment.as_str(), name.as_str()), ("env-prev", "shop-pr-42"));
    assert!(
        description.contains("launchplane.dev/owner=test/shop/Preview/shop-pr-42/uid-42"),
        "{description}"
    );
    assert_eq!(phase(&p), GenerationPhase::Requested);
    let next = p.after(Ok(&Performed::Created("app-9".into())), t(0)).unwrap();
    assert_eq!(
        next.step,
        Some(PreviewStep::RecordApplication {
            application: "app-9".into()
        })
    );
    assert!(next.step.as_ref().unwrap().saves_first());
    assert_eq!(next.status.target_id.as_deref(), Some("app-9"));

    // One of its name, with our marker (created before a crash): recorded.
    let p = f.plan(&placement(&["app-7"], Some(Ok(f.app(&[], None, None)))), &none);
    assert_eq!(
        p.step,
        Some(PreviewStep::RecordApplication {
            application: "app-7".into()
        })
    );
    assert_eq!(p.status.target_id.as_deref(), Some("app-7"));

    // One of its name that is not ours: a Conflict, nothing recorded or changed.
    let theirs = detail("app-7", Some("made by hand".into()), &[], None, None);
    let p = f.plan(&placement(&["app-7"], Some(Ok(theirs))), &none);
    assert_eq!(p.step, None);
    let (status, reason, message) = cond(&p, types::STALLED);
    assert_eq!((status.as_str(), reason.as_str()), ("True", "Conflict"));
    assert!(
        message.contains("app-7") && message.contains("no Launchplane ownership marker"),
        "{message}"
    );
    assert_eq!(cond(&p, types::TARGET_VERIFIED).1, "Mismatch");
    assert_eq!(p.status.verdict, Some(Verdict::Mismatch));
    assert_eq!(
        (p.status.target_id.clone(), phase(&p)),
        (None, GenerationPhase::Requested)
    );

    // Several: ambiguous. An environment that does not resolve: its setup reason.
    let p = f.plan(&placement(&["app-7", "app-8"], None), &none);
    assert_eq!(cond(&p, types::STALLED).1, "Ambiguous");
    let mut unresolved = placement(&[], None);
    if let Some(Ok(p)) = unresolved.placement.as_mut() {
        p.environment = Err(EnvSetup {
            reason: "PreviewEnvironmentNotFound",
            message: "no review-apps".into(),
        });
    }
    let p = f.plan(&unresolved, &none);
    assert_eq!(cond(&p, types::STALLED).1, "PreviewEnvironmentNotFound");
    assert_eq!(p.requeue(&f.settings), f.settings.resync);

    // The listing could not be read: retried soon.
    let failed = Observation {
        placement: Some(Err("overview.services: server error 500".into())),
        ..Observation::default()
    };
    let p = f.plan(&failed, &none);
    assert_eq!(cond(&p, types::RECONCILING).1, "ProviderError");
    assert!(p.error().is_some());
    assert_eq!(p.requeue(&f.settings), UNVERIFIABLE_RETRY);
}

#[test]
fn a_requested_generation_gets_its_domain_image_env_then_its_deploy_in_that_order() {
    let f = fx();
    let status = f.status(GenerationPhase::Requested, Some(APP));
    let host = f.names().host;
    let image = f.image();
    let env = f.env();
    let none_found = |detail: TargetDetail| Observation {
        deployment: Some(Ok(None)),
        ..read(detail)
    };

    let p = f.plan(&none_found(f.app(&[], None, None)), &status);
    assert_eq!(
        p.step,
        Some(PreviewStep::AddDomain {
            application: APP.into(),
            host: host.clone(),
            port: 8080,
            https: true,
        })
    );
    let p = f.plan(&none_found(f.app(&[&host], Some("nginx:old"), None)), &status);
    assert_eq!(
        p.step,
        Some(PreviewStep::SetImage {
            application: APP.into(),
            image: image.clone(),
        })
    );
    assert!(!p.step.as_ref().unwrap().saves_first());
    let p = f.plan(
        &none_found(f.app(&[&host], Some(&image), Some("OTHER=1"))),
        &status,
    );
    let Some(PreviewStep::MergeEnv { env: written, .. }) = &p.step else {
        panic!("{:?}", p.step);
    };
    assert_eq!(
        written.get(PREVIEW_URL_ENV).map(String::as_str),
        Some("https://pr-42.preview.shop.test")
    );
    assert_eq!(phase(&p), GenerationPhase::Requested);

    // Everything in place: the deploy, with the phase Deploying persisted before it is sent.
    let p = f.plan(&none_found(f.app(&[&host], Some(&image), Some(&env))), &status);
    let step = p.step.clone().unwrap();
    assert_eq!(
        step,
        PreviewStep::Deploy {
            application: APP.into(),
            title: f.generation(),
            description: format!("Launchplane preview shop-pr-42 of shop ({image})"),
        }
    );
    assert!(step.saves_first());
    let g = &p.status.generations[0];
    assert_eq!(g.phase, GenerationPhase::Deploying);
    assert_eq!(
        (g.target_id.as_deref(), g.deploy_time.clone()),
        (Some(APP), Some(Time(t(0))))
    );
    assert_eq!(cond(&p, types::RECONCILING).1, "Deploying");

    // A deployment of that title exists already: Deploying persisted, nothing sent again.
    let found = Observation {
        deployment: Some(Ok(Some(deployment(DeploymentStatus::Running, None)))),
        ..read(f.app(&[&host], None, None))
    };
    let p = f.plan(&found, &status);
    assert_eq!(
        p.step,
        Some(PreviewStep::MarkDeploying {
            application: APP.into()
        })
    );
    assert_eq!(p.step.as_ref().unwrap().action(), None);
    assert_eq!(phase(&p), GenerationPhase::Deploying);
}

#[test]
fn a_refused_setup_stalls_a_refused_deploy_fails_and_a_transient_failure_is_retried() {
    let f = fx();
    let host = f.names().host;
    let none = PreviewStatus::default();
    let create = f.plan(&placement(&[], None), &none);
    let p = create.after(Err(&refused()), t(0)).unwrap();
    assert_eq!(cond(&p, types::STALLED).1, "ApplicationNotCreated");
    assert_eq!((phase(&p), p.step.clone()), (GenerationPhase::Requested, None));
    let p = create.after(Err(&transient()), t(0)).unwrap();
    let (_, reason, message) = cond(&p, types::RECONCILING);
    assert_eq!(reason, "ProviderError");
    assert!(message.starts_with("creating the application: "), "{message}");

    let status = f.status(GenerationPhase::Requested, Some(APP));
    let observed = |detail| Observation {
        deployment: Some(Ok(None)),
        ..read(detail)
    };
    let domain = f.plan(&observed(f.app(&[], None, None)), &status);
    let p = domain.after(Err(&refused()), t(0)).unwrap();
    assert_eq!(cond(&p, types::STALLED).1, "DomainNotCreated");
    assert_eq!(phase(&p), GenerationPhase::Requested);

    let image = f.plan(&observed(f.app(&[&host], None, None)), &status);
    let p = image.after(Err(&refused()), t(0)).unwrap();
    assert_eq!(phase(&p), GenerationPhase::Failed);
    let evidence = p.status.generations[0].evidence.clone().unwrap();
    assert!(evidence.starts_with("deploy: setting the image: "), "{evidence}");
    assert_eq!(p.pace, Pace::Settled);
    let p = image.after(Err(&transient()), t(0)).unwrap();
    assert_eq!(phase(&p), GenerationPhase::Requested);
    assert!(p.error().unwrap().starts_with("setting the image: "));
    assert_eq!(image.after(Ok(&Performed::Done), t(0)), None, "done: read again");

    let deploy = f.plan(&observed(f.complete()), &status);
    let p = deploy.after(Err(&refused()), t(0)).unwrap();
    assert_eq!(phase(&p), GenerationPhase::Failed);
    assert!(
        p.status.generations[0]
            .evidence
            .as_deref()
            .unwrap()
            .starts_with("deploy: ")
    );
    // Maybe sent: followed by its title, not retried.
    assert_eq!(deploy.after(Err(&transient()), t(0)), None);
    // The phase could not be persisted first: nothing is sent, retried soon.
    let p = deploy.unsaved("the API server is away", t(0));
    assert_eq!(p.step, None);
    assert!(p.error().unwrap().contains("writing the Preview status"));
}

#[test]
fn a_deploying_generation_is_followed_by_its_title_then_verified_at_its_url() {
    let f = fx();
    let status = f.deploying(20, false);
    let with = |found: Option<Deployment>, probe: Option<ProbeResult>| Observation {
        deployment: Some(Ok(found)),
        probe,
        ..read(f.complete())
    };

    let p = f.plan(
        &with(Some(deployment(DeploymentStatus::Running, None)), None),
        &status,
    );
    assert_eq!((p.step.clone(), phase(&p)), (None, GenerationPhase::Deploying));
    assert!(
        matches!(&p.pace, Pace::Waiting(m) if m.contains("is running")),
        "{:?}",
        p.pace
    );
    assert_eq!(p.requeue(&f.settings), f.settings.poll_delay);

    let done = Some(deployment(DeploymentStatus::Done, Some(t(-5))));
    let p = f.plan(&with(done.clone(), Some(f.probe_serving())), &status);
    assert_eq!(
        (phase(&p), p.pace.clone()),
        (GenerationPhase::Ready, Pace::Settled)
    );
    assert_eq!(p.status.serving_generation, Some(f.generation()));
    assert_eq!(cond(&p, types::READY).0, "True");
    assert_eq!(p.status.verdict, Some(Verdict::Matched));

    // Not serving it yet: waited for, within verifyTimeout of Dokploy's finish; then failed.
    let p = f.plan(&with(done, Some(unreachable())), &status);
    assert!(
        matches!(&p.pace, Pace::Waiting(m) if m.contains("to serve generation")),
        "{:?}",
        p.pace
    );
    let long_done = Some(deployment(DeploymentStatus::Done, Some(t(-121))));
    let p = f.plan(&with(long_done, Some(unreachable())), &status);
    assert_eq!(phase(&p), GenerationPhase::Failed);
    assert!(
        p.status.generations[0]
            .evidence
            .as_deref()
            .unwrap()
            .starts_with("identity")
    );

    let p = f.plan(
        &with(Some(deployment(DeploymentStatus::Error, None)), None),
        &status,
    );
    assert_eq!(phase(&p), GenerationPhase::Failed);
    assert!(
        p.status.generations[0]
            .evidence
            .as_deref()
            .unwrap()
            .ends_with("ended error")
    );

    // Not finished within deployTimeout of being sent.
    let p = f.plan(&with(None, None), &f.deploying(901, false));
    assert_eq!(phase(&p), GenerationPhase::Failed);
    let evidence = p.status.generations[0].evidence.clone().unwrap();
    assert!(evidence.contains("did not finish within 900s"), "{evidence}");

    let failed = Observation {
        deployment: Some(Err(transient())),
        ..read(f.complete())
    };
    let p = f.plan(&failed, &status);
    assert!(p.error().unwrap().starts_with("following the deploy: "));
}

#[test]
fn a_lost_deploy_is_sent_again_once_and_only_while_dokploy_is_idle_for_the_app() {
    let f = fx();
    let missing = |activity: Option<DeployActivity>| Observation {
        deployment: Some(Ok(None)),
        activity: activity.map(Ok),
        ..read(f.complete())
    };
    let idle = Some(DeployActivity::default());
    let busy = Some(DeployActivity {
        queued: 1,
        running: false,
    });

    // Before resendAfter: only followed.
    let p = f.plan(&missing(idle), &f.deploying(30, false));
    assert!(matches!(p.pace, Pace::Waiting(_)), "{:?}", p.pace);

    // After it, Dokploy idle: sent again, the re-send persisted first.
    let p = f.plan(&missing(idle), &f.deploying(90, false));
    let step = p.step.clone().unwrap();
    assert_eq!(
        step,
        PreviewStep::Resend {
            application: APP.into(),
            title: f.generation(),
            description: format!("Launchplane preview shop-pr-42 of shop ({})", f.image()),
        }
    );
    assert!(step.saves_first());
    assert!(matches!(
        step.action(),
        Some(crate::action::Action::Deploy { .. })
    ));
    assert_eq!(p.status.generations[0].resent_time, Some(Time(t(0))));
    assert_eq!(phase(&p), GenerationPhase::Deploying);

    // Busy, unread, or re-sent before: never sent (again).
    for (activity, resent) in [(busy, false), (None, false), (idle, true)] {
        let p = f.plan(&missing(activity), &f.deploying(90, resent));
        assert_eq!(p.step, None, "{activity:?} {resent}");
    }
    let unread = Observation {
        activity: Some(Err(transient())),
        ..missing(None)
    };
    assert_eq!(f.plan(&unread, &f.deploying(90, false)).step, None);
}

#[test]
fn a_ready_generation_is_verified_again_on_fresh_evidence() {
    let f = fx();
    let ready = f.status(GenerationPhase::Ready, Some(APP));
    let probed = |read: Observation, probe: ProbeResult| Observation {
        probe: Some(probe),
        ..read
    };

    let p = f.plan(&probed(read(f.complete()), f.probe_serving()), &ready);
    assert_eq!((p.step.clone(), p.pace.clone()), (None, Pace::Settled));
    assert_eq!(p.status.verdict, Some(Verdict::Matched));
    assert_eq!(p.requeue(&f.settings), f.settings.resync);

    let p = f.plan(&probed(read(f.complete()), unreachable()), &ready);
    assert!(matches!(p.pace, Pace::Unverifiable(_)));
    assert_eq!(p.status.verdict, Some(Verdict::Unverifiable));
    assert_eq!(p.status.target_id.as_deref(), Some(APP));

    let theirs = detail(APP, Some("made by hand".into()), &[], None, None);
    let p = f.plan(&read(theirs), &ready);
    assert_eq!(cond(&p, types::STALLED).1, "Conflict");

    // A 404 the org listing confirms: forgotten, the generation requested again.
    let gone = Observation {
        application: Some(ApplicationRead {
            detail: Err(ExecError::NotFound("application.one: not found".into())),
            listed: Some(Listed::Absent),
        }),
        ..Observation::default()
    };
    let p = f.plan(&gone, &ready);
    assert!(matches!(p.pace, Pace::Recovering(_)));
    assert_eq!(
        (p.status.target_id.clone(), phase(&p)),
        (None, GenerationPhase::Requested)
    );
    assert_eq!(p.status.verdict, Some(Verdict::Missing));
    assert_eq!(p.step, None, "the next reconcile creates the new application");
    // One the listing contradicts: kept, Unverifiable.
    let contradicted = Observation {
        application: Some(ApplicationRead {
            detail: Err(ExecError::NotFound("application.one: not found".into())),
            listed: Some(Listed::Present),
        }),
        ..Observation::default()
    };
    let p = f.plan(&contradicted, &ready);
    assert!(matches!(p.pace, Pace::Unverifiable(_)));
    assert_eq!(p.status.target_id.as_deref(), Some(APP));

    // Nothing recorded at all: recovered the same way.
    let p = f.plan(&Observation::default(), &f.status(GenerationPhase::Ready, None));
    assert!(matches!(p.pace, Pace::Recovering(_)));

    // A failed generation is settled: nothing read, nothing planned.
    let p = f.plan(
        &Observation::default(),
        &f.status(GenerationPhase::Failed, Some(APP)),
    );
    assert_eq!((p.step, p.pace), (None, Pace::Settled));
}

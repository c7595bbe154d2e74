//! The poller against the Dokploy simulator, counting the calls it really makes.

#![allow(clippy::unwrap_used)]

use super::*;
use jiff::SignedDuration;
use launchplane_e2e::sim::{DokploySim, Fault, OutOfBandEdit, SeedApplication, SimConfig};
use launchplane_providers::{DokployClient, DokployConfig, RateLimit, RetryPolicy};
use std::time::Duration;

const ORG_ROUTES: [&str; 3] = [
    "overview.services",
    "overview.domains",
    "deployment.allCentralized",
];

fn client(sim: &DokploySim) -> Arc<dyn Provider> {
    launchplane_providers::install_crypto_provider();
    let mut cfg = DokployConfig::new(sim.base_url(), sim.api_key());
    cfg.retry = RetryPolicy {
        max_attempts: 1,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(1),
    };
    cfg.rate_limit = RateLimit {
        per_second: 10_000.0,
        burst: 10_000,
    };
    Arc::new(DokployClient::new(cfg).unwrap())
}

/// Five applications; the first three are tracked.
async fn seeded() -> (DokploySim, Vec<String>) {
    let sim = DokploySim::start(SimConfig::default()).await.unwrap();
    let (_, env) = sim.seed_project("shop");
    let ids = (0..5)
        .map(|i| {
            sim.seed_application(
                &env,
                SeedApplication {
                    id: None,
                    name: format!("app-{i}"),
                    docker_image: Some(format!("nginx:1.{i}")),
                    env: Some("A=1\nB=2".into()),
                    domains: vec![format!("app-{i}.test")],
                    deployed: false,
                    description: None,
                },
            )
            .unwrap()
        })
        .collect();
    (sim, ids)
}

fn tracked(ids: &[String]) -> BTreeSet<TrackedTarget> {
    ids.iter()
        .map(|id| (TargetCategory::Application, id.clone()))
        .collect()
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn settings(detail_secs: i64) -> PollSettings {
    PollSettings {
        poll_interval: SignedDuration::from_secs(30),
        detail_interval: SignedDuration::from_secs(detail_secs),
        stale_after_polls: 3,
    }
}

#[tokio::test]
async fn one_poll_makes_the_org_wide_calls_once_and_details_only_for_tracked_targets() {
    let (sim, ids) = seeded().await;
    let mut poller = Poller::new(client(&sim), settings(300));
    let snap = poller.poll(&tracked(&ids[..3]), t(0)).await.clone();

    for route in ORG_ROUTES {
        assert_eq!(sim.call_count(route), 1, "{route}");
    }
    assert_eq!(sim.call_count("application.one"), 3);
    assert_eq!(
        snap.last_cycle,
        CycleCalls {
            org_wide: 2,
            detail: 3
        }
    );
    assert_eq!(snap.version.as_deref(), Some(sim.version().as_str()));

    let targets = snap.targets.unwrap();
    assert_eq!(targets.len(), 5);
    let first = targets.iter().find(|t| t.id == ids[0]).unwrap();
    assert_eq!(first.name, "app-0");
    assert_eq!(first.project.as_deref(), Some("shop"));
    assert_eq!(first.image.as_deref(), Some("nginx:1.0"));
    assert_eq!(first.target_type.as_deref(), Some("docker"));
    assert_eq!(
        first.env_keys.clone().unwrap(),
        BTreeSet::from(["A".to_string(), "B".to_string()])
    );
    assert!(first.domains.contains("app-0.test"));
    let untracked = targets.iter().find(|t| t.id == ids[4]).unwrap();
    assert_eq!(untracked.image, None, "untracked targets get no detail call");
    sim.shutdown().await;
}

#[tokio::test]
async fn fresh_details_are_not_read_again_but_changed_or_old_ones_are() {
    let (sim, ids) = seeded().await;
    let mut poller = Poller::new(client(&sim), settings(300));
    let tracked = tracked(&ids[..3]);
    poller.poll(&tracked, t(0)).await;
    sim.reset_call_counts();

    let snap = poller.poll(&tracked, t(30)).await.clone();
    assert_eq!(
        snap.last_cycle,
        CycleCalls {
            org_wide: 1,
            detail: 0
        }
    );
    assert_eq!(sim.call_count("application.one"), 0);
    // Details carried over from the earlier read.
    assert!(
        snap.targets
            .unwrap()
            .iter()
            .all(|t| ids[..3].contains(&t.id) == t.image.is_some())
    );

    // A rename shows in the listing, so that target's detail is re-read at once.
    assert!(sim.edit(
        &ids[1],
        OutOfBandEdit {
            name: Some("renamed".into()),
            ..Default::default()
        }
    ));
    let snap = poller.poll(&tracked, t(60)).await.clone();
    assert_eq!(snap.last_cycle.detail, 1);

    // An image edit does not show in the listing: it is seen when the detail ages out.
    assert!(sim.edit(
        &ids[2],
        OutOfBandEdit {
            docker_image: Some("nginx:evil".into()),
            ..Default::default()
        }
    ));
    let snap = poller.poll(&tracked, t(90)).await.clone();
    assert_eq!(snap.last_cycle.detail, 0);
    // Read at t=0: ids 0 and 2 age out; id 1, re-read at t=60 after its rename, does not.
    let snap = poller.poll(&tracked, t(301)).await.clone();
    assert_eq!(snap.last_cycle.detail, 2);
    let edited = snap
        .targets
        .unwrap()
        .iter()
        .find(|t| t.id == ids[2])
        .cloned()
        .unwrap();
    assert_eq!(edited.image.as_deref(), Some("nginx:evil"));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failed_poll_keeps_the_last_targets_and_reports_the_failure() {
    let (sim, ids) = seeded().await;
    let mut poller = Poller::new(client(&sim), settings(300));
    poller.poll(&tracked(&ids), t(0)).await;

    sim.inject("overview.services", Fault::Status(503));
    let snap = poller.poll(&tracked(&ids), t(30)).await.clone();
    let (failure, detail) = snap.last_failure.clone().unwrap();
    assert_eq!(failure, ProviderFailure::Other);
    assert!(detail.contains("overview.services"), "{detail}");
    assert_eq!(snap.observed_at, Some(t(0)), "the last good observation is kept");
    assert_eq!(snap.targets.as_ref().unwrap().len(), 5);
    assert_eq!(snap.reachable(), Some(true));

    sim.clear_faults();
    let snap = poller.poll(&tracked(&ids), t(60)).await.clone();
    assert_eq!(snap.last_failure, None);
    assert_eq!(snap.observed_at, Some(t(60)));
    sim.shutdown().await;
}

#[tokio::test]
async fn an_exhausted_key_is_throttled_and_a_wrong_key_is_unauthorized() {
    let (sim, ids) = seeded().await;
    let mut poller = Poller::new(client(&sim), settings(300));
    poller.poll(&tracked(&ids), t(0)).await;
    sim.inject("*", Fault::UnauthorizedAfter(0));
    let snap = poller.poll(&tracked(&ids), t(30)).await.clone();
    assert_eq!(
        snap.last_failure.as_ref().map(|f| f.0),
        Some(ProviderFailure::Throttled)
    );
    assert_eq!(snap.authenticated(), Some(true));

    launchplane_providers::install_crypto_provider();
    let wrong = DokployClient::new(DokployConfig::new(sim.base_url(), "not-the-key")).unwrap();
    let mut stranger = Poller::new(Arc::new(wrong), settings(300));
    let snap = stranger.poll(&BTreeSet::new(), t(0)).await.clone();
    assert_eq!(
        snap.last_failure.as_ref().map(|f| f.0),
        Some(ProviderFailure::Unauthorized)
    );
    assert_eq!(snap.targets, None);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_provider_is_reported_as_such() {
    launchplane_providers::install_crypto_provider();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut cfg = DokployConfig::new(url, "k");
    cfg.retry = RetryPolicy {
        max_attempts: 1,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(1),
    };
    let mut poller = Poller::new(Arc::new(DokployClient::new(cfg).unwrap()), settings(300));
    let snap = poller.poll(&BTreeSet::new(), t(0)).await.clone();
    assert_eq!(
        snap.last_failure.as_ref().map(|f| f.0),
        Some(ProviderFailure::Unreachable)
    );
    assert_eq!(snap.reachable(), Some(false));
    assert_eq!(snap.authenticated(), None);
}

#[tokio::test]
async fn detail_reads_keep_each_tracked_targets_facts_for_the_lanes() {
    let (sim, ids) = seeded().await;
    let mut poller = Poller::new(client(&sim), settings(300));
    poller.poll(&tracked(&ids[..3]), t(0)).await;
    let facts = poller.facts();
    assert_eq!(
        facts.len(),
        3,
        "one entry per tracked target, none for the others"
    );
    let first = facts.get(TargetCategory::Application, &ids[0]).unwrap();
    assert_eq!(first.read_at, t(0));
    assert_eq!(first.facts.image.as_deref(), Some("nginx:1.0"));
    assert_eq!(first.facts.env.expose(), "A=1\nB=2");
    assert!(first.fresh(t(300), SignedDuration::from_secs(300)));
    assert!(!first.fresh(t(301), SignedDuration::from_secs(300)));
    assert!(facts.get(TargetCategory::Application, &ids[4]).is_none());
    // Nothing of the env in Debug output (the snapshot may be logged).
    assert!(!format!("{facts:?}").contains("A=1"));
    assert!(!format!("{first:?}").contains("A=1"));

    // A poll without reads keeps the very same map (no copy per poll).
    poller.poll(&tracked(&ids[..3]), t(30)).await;
    assert!(Arc::ptr_eq(&facts, &poller.facts()));

    // A re-read replaces the entry without touching the map lanes already hold; an untracked
    // target's facts are forgotten.
    assert!(sim.edit(
        &ids[1],
        OutOfBandEdit {
            name: Some("renamed".into()),
            docker_image: Some("nginx:2".into()),
            ..Default::default()
        }
    ));
    poller.poll(&tracked(&ids[..2]), t(60)).await;
    let now = poller.facts();
    assert_eq!(now.len(), 2);
    let renamed = now.get(TargetCategory::Application, &ids[1]).unwrap();
    assert_eq!(
        (renamed.read_at, renamed.facts.image.as_deref()),
        (t(60), Some("nginx:2"))
    );
    assert!(now.get(TargetCategory::Application, &ids[2]).is_none());
    assert_eq!(facts.len(), 3, "the earlier map is unchanged");
    sim.shutdown().await;
}

/// The snapshot's env key names come from each target's last read: a poll that reads nothing
/// keeps them (carried over from the previous snapshot), a re-read replaces them, and the one
/// entry per target records how the listing showed the target when it was read.
#[tokio::test]
async fn the_snapshots_env_keys_follow_each_targets_last_read() {
    let (sim, ids) = seeded().await;
    let mut poller = Poller::new(client(&sim), settings(300));
    let tracked = tracked(&ids[..2]);
    poller.poll(&tracked, t(0)).await;
    let keys = |snap: &Snapshot, id: &str| {
        let target = snap
            .targets
            .as_ref()
            .unwrap()
            .iter()
            .find(|t| t.id == id)
            .unwrap();
        target.env_keys.clone().unwrap()
    };
    let set = |keys: &[&str]| keys.iter().map(ToString::to_string).collect::<BTreeSet<_>>();

    // An env edit does not show in the listing: nothing is read, the keys stay.
    assert!(sim.edit(
        &ids[0],
        OutOfBandEdit {
            env: Some("A=1\nC=3".into()),
            ..Default::default()
        }
    ));
    let snap = poller.poll(&tracked, t(30)).await.clone();
    assert_eq!(snap.last_cycle.detail, 0);
    assert_eq!(keys(&snap, &ids[0]), set(&["A", "B"]));

    // A rename makes the target due: the re-read brings the new keys, and the next poll,
    // reading nothing, keeps them; the other target keeps its own.
    assert!(sim.edit(
        &ids[0],
        OutOfBandEdit {
            name: Some("renamed".into()),
            ..Default::default()
        }
    ));
    let snap = poller.poll(&tracked, t(60)).await.clone();
    assert_eq!(snap.last_cycle.detail, 1);
    assert_eq!(keys(&snap, &ids[0]), set(&["A", "C"]));
    let snap = poller.poll(&tracked, t(90)).await.clone();
    assert_eq!(snap.last_cycle.detail, 0);
    assert_eq!(keys(&snap, &ids[0]), set(&["A", "C"]));
    assert_eq!(keys(&snap, &ids[1]), set(&["A", "B"]));

    let facts = poller.facts();
    let entry = facts.get(TargetCategory::Application, &ids[0]).unwrap();
    assert_eq!(entry.read_at, t(60));
    assert_eq!(entry.listed.name, "renamed");
    sim.shutdown().await;
}

/// Issue 12: a domain turned off in Dokploy (`enabled: false` in overview.domains) does not
/// count as present; one whose flag is absent (older servers) does.
#[test]
fn a_disabled_domain_is_not_present() {
    use launchplane_providers::{DomainSummary, OrgSnapshot, ServiceCategory, ServiceSummary};
    let domain = |host: &str, enabled: Option<bool>| DomainSummary {
        domain_id: host.into(),
        host: host.into(),
        path: None,
        port: None,
        https: false,
        certificate_type: None,
        enabled,
        domain_type: None,
        service_owner_id: Some("app-1".into()),
        service_owner_type: None,
        service_name: None,
        project_id: None,
        environment_id: None,
        environment_name: None,
    };
    let org = OrgSnapshot {
        services: vec![ServiceSummary {
            id: "app-1".into(),
            category: ServiceCategory::Application,
            name: Some("web".into()),
            app_name: None,
            status: None,
            last_deploy_at: None,
            created_at: None,
            project_id: None,
            project_name: None,
            environment_id: None,
            environment_name: None,
            server_id: None,
        }],
        domains: vec![
            domain("on.test", Some(true)),
            domain("off.test", Some(false)),
            domain("unknown.test", None),
        ],
        ..OrgSnapshot::default()
    };
    let observed = observed_targets(&org);
    let hosts: Vec<&str> = observed[0].domains.iter().map(String::as_str).collect();
    assert_eq!(hosts, vec!["on.test", "unknown.test"]);
    // Issue 15: the routes (what a verireel lane's base URL comes from) leave it out too.
    let routed: Vec<&str> = observed[0].routes.iter().map(|r| r.host.as_str()).collect();
    assert_eq!(routed, vec!["on.test", "unknown.test"]);
}

/// Issue 15: each enabled domain's route (host, https, path) is kept per target, in the
/// listing's order, for a verireel lane's base URL.
#[test]
fn each_target_keeps_its_routes() {
    use launchplane_api::verify::target::ObservedRoute;
    use launchplane_providers::{DomainSummary, OrgSnapshot, ServiceCategory, ServiceSummary};
    let domain = |owner: &str, host: &str, https: bool, path: Option<&str>| DomainSummary {
        domain_id: host.into(),
        host: host.into(),
        path: path.map(str::to_string),
        port: Some(3000),
        https,
        certificate_type: None,
        enabled: Some(true),
        domain_type: None,
        service_owner_id: Some(owner.into()),
        service_owner_type: None,
        service_name: None,
        project_id: None,
        environment_id: None,
        environment_name: None,
    };
    let service = |id: &str| ServiceSummary {
        id: id.into(),
        category: ServiceCategory::Application,
        name: Some(id.into()),
        app_name: None,
        status: None,
        last_deploy_at: None,
        created_at: None,
        project_id: None,
        project_name: None,
        environment_id: None,
        environment_name: None,
        server_id: None,
    };
    let org = OrgSnapshot {
        services: vec![service("app-1"), service("app-2")],
        domains: vec![
            domain("app-1", "vr.example.com", true, Some("/app")),
            domain("app-2", "other.example.com", false, None),
            domain("app-1", "internal.example.com", false, Some("/")),
        ],
        ..OrgSnapshot::default()
    };
    let observed = observed_targets(&org);
    assert_eq!(
        observed[0].routes,
        vec![
            ObservedRoute {
                host: "vr.example.com".into(),
                https: true,
                path: Some("/app".into()),
            },
            ObservedRoute {
                host: "internal.example.com".into(),
                https: false,
                path: Some("/".into()),
            },
        ]
    );
    assert_eq!(observed[1].routes.len(), 1);
}

/// Issue 16: the listing carries each target's newest deployment from the same poll
/// (`deployment.allCentralized`, newest first), for the `provider` health check.
#[test]
fn each_target_keeps_its_newest_deployment() {
    use launchplane_providers::{
        DeploymentStatus, DeploymentSummary, OrgSnapshot, ServiceCategory, ServiceSummary,
    };
    let service = |id: &str| ServiceSummary {
        id: id.into(),
        category: ServiceCategory::Application,
        name: Some(id.into()),
        app_name: None,
        status: Some(launchplane_providers::ServiceStatus::Done),
        last_deploy_at: None,
        created_at: None,
        project_id: None,
        project_name: None,
        environment_id: None,
        environment_name: None,
        server_id: None,
    };
    let deployment = |id: &str, service: &str, status: DeploymentStatus| DeploymentSummary {
        deployment_id: id.into(),
        title: None,
        status,
        service_id: Some(service.into()),
        category: None,
        created_at: Some(format!("created-{id}")),
        finished_at: None,
    };
    let org = OrgSnapshot {
        services: vec![service("app-1"), service("app-2")],
        domains: Vec::new(),
        deployments: vec![
            deployment("d3", "app-1", DeploymentStatus::Error),
            deployment("d2", "app-1", DeploymentStatus::Done),
            deployment("d1", "app-3", DeploymentStatus::Done),
        ],
    };
    let observed = into_observed_targets(org);
    let last = observed[0].last_deployment.as_ref().unwrap();
    assert_eq!((last.id.as_str(), last.status.as_str()), ("d3", "error"));
    assert_eq!(last.at.as_deref(), Some("created-d3"));
    assert_eq!(observed[0].status.as_deref(), Some("done"));
    assert_eq!(observed[1].last_deployment, None);
}

//! The compose runtime and schedule calls against the simulator: stop/start/services of a
//! compose, a schedule's life, runs answered when their command ends, runs that outlive the
//! client's wait or lose their connection and are settled from history, and schedule commands
//! that never reach an error, a log line or a `Debug`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use launchplane_e2e::{DokploySim, Fault, ScheduleRunScript, SeedCompose, fixtures};
use launchplane_providers::{
    ComposeFileSource, ComposeScheduleSpec, DeploymentStatus, DokployClient, Provider, ProviderError,
    RetryPolicy, SecretString, ShellType,
};

use super::{capture, client, config, sim};

fn deployed_compose(sim: &DokploySim) -> String {
    fixtures::deployed_odoo_compose(sim, None, "PGPASSWORD=compose-secret-77\n")
}

fn spec(compose_id: &str, command: &str) -> ComposeScheduleSpec {
    ComposeScheduleSpec {
        compose_id: compose_id.into(),
        service_name: "odoo".into(),
        name: "launchplane post-deploy".into(),
        description: "post-deploy\nlaunchplane.dev/owner=i/ns/Lane/erp/-".into(),
        command: SecretString::new(command),
        shell: ShellType::Bash,
        cron_expression: "0 0 1 1 *".into(),
        enabled: false,
    }
}

/// Polls the schedule's history until its newest run has ended.
async fn settled(c: &DokployClient, schedule_id: &str) -> launchplane_providers::ScheduleRun {
    for _ in 0..200 {
        let runs = c.schedule_runs(schedule_id).await.unwrap();
        if let Some(run) = runs.into_iter().next()
            && run.status.is_terminal()
        {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the run of {schedule_id} did not settle");
}

#[tokio::test]
async fn compose_services_from_the_saved_and_the_last_written_file() {
    let sim = sim().await;
    let compose = deployed_compose(&sim);
    let p: Arc<dyn Provider> = Arc::new(client(&sim));
    assert_eq!(
        p.compose_services(&compose, ComposeFileSource::Saved)
            .await
            .unwrap(),
        ["odoo", "db"]
    );
    assert_eq!(
        p.compose_services(&compose, ComposeFileSource::LastWritten)
            .await
            .unwrap(),
        ["odoo", "db"]
    );
    let e = p
        .compose_services("nope", ComposeFileSource::Saved)
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    let e = p
        .compose_services(" ", ComposeFileSource::Saved)
        .await
        .unwrap_err();
    assert!(matches!(e, ProviderError::InvalidInput { .. }), "{e}");

    // A compose never deployed has no file on disk yet.
    let (_, env) = sim.seed_project("fresh");
    let fresh = sim
        .seed_compose(
            &env,
            SeedCompose {
                name: "fresh".into(),
                compose_file: fixtures::ODOO_COMPOSE_FILE.into(),
                ..SeedCompose::default()
            },
        )
        .unwrap();
    let e = p
        .compose_services(&fresh, ComposeFileSource::LastWritten)
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
}

#[tokio::test]
async fn a_schedule_is_created_read_updated_listed_and_deleted() {
    let sim = sim().await;
    let compose = deployed_compose(&sim);
    let p: Arc<dyn Provider> = Arc::new(client(&sim));
    let wanted = spec(&compose, "odoo -u all --stop-after-init");
    let created = p.create_schedule(&wanted).await.unwrap();
    assert_eq!(created.compose_id.as_deref(), Some(compose.as_str()));
    assert_eq!(created.description.as_deref(), Some(wanted.description.as_str()));
    assert_eq!(created.schedule_type.as_deref(), Some("compose"));
    assert_eq!(created.service_name.as_deref(), Some("odoo"));
    assert_eq!(created.enabled, Some(false));
    assert_eq!(created.command, Some(wanted.command.clone()));
    assert!(created.runs.is_none());
    let id = created.schedule_id.clone();

    let one = p.schedule(&id).await.unwrap();
    assert_eq!(one, created, "schedule.one reads back what create answered");

    let changed = ComposeScheduleSpec {
        command: SecretString::new("odoo -u sale --stop-after-init"),
        shell: ShellType::Sh,
        ..wanted.clone()
    };
    let updated = p.update_schedule(&id, &changed).await.unwrap();
    assert_eq!(updated.command, Some(changed.command.clone()));
    assert_eq!(updated.shell_type.as_deref(), Some("sh"));
    assert_eq!(updated.app_name, created.app_name);

    p.run_schedule(&id, Duration::from_secs(5)).await.unwrap();
    let listed = p.compose_schedules(&compose).await.unwrap();
    assert_eq!(listed.len(), 1);
    let runs = listed[0].runs.as_ref().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, DeploymentStatus::Done);
    assert!(p.compose_schedules("nope").await.unwrap().is_empty());

    p.delete_schedule(&id).await.unwrap();
    p.delete_schedule(&id).await.unwrap();
    assert_eq!(sim.call_count("schedule.delete"), 2, "already gone is success");
    assert!(p.schedule(&id).await.unwrap_err().is_not_found());
    assert!(p.schedule_runs(&id).await.unwrap().is_empty());
    let e = p.update_schedule(&id, &changed).await.unwrap_err();
    assert!(e.is_not_found(), "{e}");

    // Refused before anything is sent.
    let calls = sim.call_counts();
    for bad in [
        ComposeScheduleSpec {
            command: SecretString::new(""),
            ..wanted.clone()
        },
        ComposeScheduleSpec {
            service_name: String::new(),
            ..wanted.clone()
        },
        ComposeScheduleSpec {
            cron_expression: " ".into(),
            ..wanted.clone()
        },
    ] {
        let e = p.create_schedule(&bad).await.unwrap_err();
        assert!(matches!(e, ProviderError::InvalidInput { .. }), "{e}");
    }
    assert_eq!(sim.call_counts(), calls);
}

#[tokio::test]
async fn a_run_is_answered_when_its_command_ends() {
    let sim = sim().await;
    let compose = deployed_compose(&sim);
    let c = client(&sim);
    let id = c
        .create_schedule(&spec(&compose, "odoo -u all"))
        .await
        .unwrap()
        .schedule_id;
    sim.script_schedule_runs(
        &id,
        ScheduleRunScript::succeed("updated 3 modules").taking(Duration::from_millis(300)),
    );
    let started = Instant::now();
    let answer = c.run_schedule(&id, Duration::from_secs(5)).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(answer.status, DeploymentStatus::Done);
    let runs = c.schedule_runs(&id).await.unwrap();
    assert_eq!(runs[0].deployment_id, answer.deployment_id);
    assert_eq!(runs[0].schedule_id.as_deref(), Some(id.as_str()));
    assert!(runs[0].finished_at.is_some());
    assert_eq!(runs[0].log_path, answer.log_path);
    let log = c.deployment_log(&answer.deployment_id, 100).await.unwrap();
    assert!(log.expose().contains("updated 3 modules"));
    let e = c.deployment_log(&answer.deployment_id, 0).await.unwrap_err();
    assert!(matches!(e, ProviderError::InvalidInput { .. }), "{e}");

    sim.script_schedule_runs(&id, ScheduleRunScript::fail("module x not found"));
    let failed = c.run_schedule(&id, Duration::from_secs(5)).await.unwrap();
    assert_eq!(failed.status, DeploymentStatus::Error);

    sim.script_schedule_runs(&id, ScheduleRunScript::server_error("Command failed"));
    let e = c.run_schedule(&id, Duration::from_secs(5)).await.unwrap_err();
    assert!(matches!(e, ProviderError::Server { status: 500, .. }), "{e}");
    assert_eq!(settled(&c, &id).await.status, DeploymentStatus::Error);
    assert_eq!(c.schedule_runs(&id).await.unwrap().len(), 3);

    let e = c.run_schedule("nope", Duration::from_secs(5)).await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
}

/// The driver's "Unknown": the client stops waiting (or the connection drops) while the
/// command runs on; the run is sent once and its outcome is read from history later.
#[tokio::test]
async fn a_run_that_outlives_the_wait_is_settled_from_history() {
    let sim = sim().await;
    let compose = deployed_compose(&sim);
    let mut cfg = config(&sim);
    cfg.retry = RetryPolicy::none();
    let c = DokployClient::new(cfg).unwrap();
    let id = c
        .create_schedule(&spec(&compose, "backup.sh"))
        .await
        .unwrap()
        .schedule_id;

    sim.script_schedule_runs(
        &id,
        ScheduleRunScript::succeed("ok").taking(Duration::from_millis(900)),
    );
    let started = Instant::now();
    let e = c.run_schedule(&id, Duration::from_millis(200)).await.unwrap_err();
    assert!(
        matches!(
            e,
            ProviderError::Unreachable {
                route: "schedule.runManually",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("200ms"), "the wait is the timeout: {e}");
    assert!(started.elapsed() < Duration::from_millis(800));
    assert_eq!(
        c.schedule_runs(&id).await.unwrap()[0].status,
        DeploymentStatus::Running
    );
    assert_eq!(settled(&c, &id).await.status, DeploymentStatus::Done);
    assert_eq!(sim.call_count("schedule.runManually"), 1, "never re-sent");

    sim.script_schedule_runs(
        &id,
        ScheduleRunScript::fail("disk full")
            .taking(Duration::from_millis(300))
            .dropping_connection(),
    );
    let e = c.run_schedule(&id, Duration::from_secs(5)).await.unwrap_err();
    assert!(matches!(e, ProviderError::Unreachable { .. }), "{e}");
    let runs = c.schedule_runs(&id).await.unwrap();
    assert_eq!(
        (runs.len(), runs[0].status.clone()),
        (2, DeploymentStatus::Running)
    );
    assert_eq!(settled(&c, &id).await.status, DeploymentStatus::Error);
    assert_eq!(sim.call_count("schedule.runManually"), 2);
}

#[tokio::test]
async fn schedule_commands_reach_no_error_log_line_or_debug() {
    let cap = capture();
    let sim = sim().await;
    let compose = deployed_compose(&sim);
    let c = client(&sim);
    let secret = "ADMIN_PASSWORD=odoo-admin-secret-4242";
    let command = format!("{secret} odoo -i base --stop-after-init");
    let mut texts = Vec::new();
    let created = c.create_schedule(&spec(&compose, &command)).await.unwrap();
    texts.push(format!("{created:?} {:?}", spec(&compose, &command)));
    let one = c.schedule(&created.schedule_id).await.unwrap();
    texts.push(format!("{one:?}"));
    let listed = c.compose_schedules(&compose).await.unwrap();
    texts.push(format!("{listed:?}"));
    let answer = c
        .run_schedule(&created.schedule_id, Duration::from_secs(5))
        .await
        .unwrap();
    let log = c.deployment_log(&answer.deployment_id, 100).await.unwrap();
    assert!(
        log.expose().contains(secret),
        "Dokploy's log holds the command line"
    );
    texts.push(format!("{log:?} {log}"));
    for fault in [Fault::Status(500), Fault::Status(400), Fault::MalformedBody] {
        sim.clear_faults();
        sim.inject("schedule.create", fault.clone());
        sim.inject("schedule.update", fault.clone());
        sim.inject("schedule.one", fault);
        for e in [
            c.create_schedule(&spec(&compose, &command)).await.err(),
            c.update_schedule(&created.schedule_id, &spec(&compose, &command))
                .await
                .err(),
            c.schedule(&created.schedule_id).await.err(),
        ]
        .into_iter()
        .flatten()
        {
            texts.push(format!("{e} | {e:?}"));
        }
    }
    assert!(texts.len() >= 12, "{texts:?}");
    let logs = String::from_utf8(cap.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("route=\"schedule.create\""),
        "the capture saw the calls"
    );
    for secret in ["odoo-admin-secret-4242", "compose-secret-77"] {
        assert!(!logs.contains(secret), "log leaks {secret}:\n{logs}");
        for t in &texts {
            assert!(!t.contains(secret), "error/debug leaks {secret}: {t}");
        }
    }
}

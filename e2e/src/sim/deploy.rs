//! The deploy queue: jobs for one service run FIFO, one at a time. A job's deployment record
//! is created when it starts (status `running`), and finishes `done` or `error` after the
//! configured deploy duration. A successful application deploy (re)starts its app with the
//! env the application had when the job started; a successful compose deploy starts the apps
//! of its web services from the compose file, env and domains it had then ([`super::compose`]).
//! `deployment.queueList` lists every job, waiting or running, as Dokploy's in-memory queue
//! does.

use serde_json::Value;

use super::apps;
use super::compose::{self, DeploySnapshot};
use super::state::{
    DEPLOYMENTS_KEPT, DeployJob, Deployment, Kind, SharedRef, State, deployment_row, now_iso, str_of,
};

/// Queues a deploy; starts it at once when nothing runs for that service.
pub(crate) fn enqueue(
    shared: &SharedRef,
    st: &mut State,
    service_id: &str,
    title: String,
    description: String,
) {
    let id = st.next_seq();
    let queue = st.queues.entry(service_id.to_string()).or_default();
    queue.pending.push_back(DeployJob {
        id,
        title,
        description,
        queued_ms: jiff::Timestamp::now().as_millisecond(),
        started_ms: None,
    });
    if queue.running.is_none() {
        start_next(shared, st, service_id);
    }
}

/// Starts the next queued job for the service, if any. Call with the lock held.
pub(crate) fn start_next(shared: &SharedRef, st: &mut State, service_id: &str) {
    let Some(kind) = st.kind_of(service_id) else {
        st.queues.remove(service_id);
        return;
    };
    let Some(queue) = st.queues.get_mut(service_id) else {
        return;
    };
    let Some(mut job) = queue.pending.pop_front() else {
        queue.running = None;
        queue.running_job = None;
        return;
    };
    job.started_ms = Some(jiff::Timestamp::now().as_millisecond());
    let (app_name, env) = match st.service(kind, service_id) {
        Some(e) => (
            str_of(&e.row, "appName").unwrap_or_default().to_string(),
            str_of(&e.row, "env").unwrap_or_default().to_string(),
        ),
        None => return,
    };
    // A compose job writes the file from the database to disk before it runs anything.
    let snapshot = match kind {
        Kind::Compose => compose::snapshot(st, service_id),
        Kind::Application => None,
    };
    if let Some(snap) = &snapshot {
        compose::file_written(st, service_id, &snap.compose_file);
    }
    let row = deployment_row(kind, service_id, &job.title, &job.description, &app_name);
    let deployment_id = str_of(&row, "deploymentId").unwrap_or_default().to_string();
    let seq = st.next_seq();
    let list = st.deployments.entry(service_id.to_string()).or_default();
    list.truncate(DEPLOYMENTS_KEPT);
    list.insert(0, Deployment { seq, row });
    if let Some(queue) = st.queues.get_mut(service_id) {
        queue.running = Some(deployment_id.clone());
        queue.running_job = Some(job);
    }
    if let Some(e) = st.service_mut(kind, service_id) {
        e.row.insert(kind.status_key().into(), Value::from("running"));
    }

    let shared2 = shared.clone();
    let service_id = service_id.to_string();
    let duration = shared.deploy_duration;
    shared.handle.spawn(async move {
        tokio::time::sleep(duration).await;
        let mut st = shared2.lock();
        finish(
            &shared2,
            &mut st,
            kind,
            &service_id,
            &deployment_id,
            env,
            snapshot,
        );
        start_next(&shared2, &mut st, &service_id);
    });
}

fn finish(
    shared: &SharedRef,
    st: &mut State,
    kind: Kind,
    service_id: &str,
    deployment_id: &str,
    env: String,
    snapshot: Option<DeploySnapshot>,
) {
    let Some(service) = st.service(kind, service_id) else {
        return;
    };
    let route = match kind {
        Kind::Application => "application.deploy",
        Kind::Compose => "compose.deploy",
    };
    let no_image = kind == Kind::Application
        && str_of(&service.row, "dockerImage").is_none_or(|image| image.trim().is_empty());
    let fail = st.deploy_fail.get(service_id).copied().unwrap_or(false)
        || st.deploy_error_injected(route)
        || no_image;
    let status = if fail { "error" } else { "done" };
    if let Some(list) = st.deployments.get_mut(service_id)
        && let Some(d) = list
            .iter_mut()
            .find(|d| str_of(&d.row, "deploymentId") == Some(deployment_id))
    {
        d.row.insert("status".into(), Value::from(status));
        d.row.insert("finishedAt".into(), Value::from(now_iso()));
    }
    if let Some(e) = st.service_mut(kind, service_id) {
        e.row.insert(kind.status_key().into(), Value::from(status));
    }
    if fail {
        return;
    }
    match (kind, snapshot) {
        (Kind::Application, _) => apps::start_or_reconfigure(shared, st, service_id, env),
        (Kind::Compose, Some(snap)) => compose::deployed(shared, st, service_id, snap),
        (Kind::Compose, None) => {}
    }
}

/// `deployment.queueList`: every job of every service, running (`active`) or waiting, newest
/// first, in Dokploy's row shape.
pub(crate) fn queue_list(st: &State) -> Value {
    let mut rows: Vec<(i64, u64, Value)> = Vec::new();
    for (service_id, queue) in &st.queues {
        let Some(kind) = st.kind_of(service_id) else {
            continue;
        };
        let jobs = queue
            .running_job
            .iter()
            .map(|j| (j, "active"))
            .chain(queue.pending.iter().map(|j| (j, "waiting")));
        for (job, state) in jobs {
            let (id_key, application_type) = match kind {
                Kind::Application => ("applicationId", "application"),
                Kind::Compose => ("composeId", "compose"),
            };
            let row = serde_json::json!({
                "id": job.id.to_string(),
                "name": "deployments",
                "data": {
                    id_key: service_id,
                    "titleLog": job.title,
                    "descriptionLog": job.description,
                    "type": "deploy",
                    "applicationType": application_type,
                    "server": false,
                },
                "timestamp": job.queued_ms,
                "processedOn": job.started_ms,
                "finishedOn": null,
                "state": state,
                "servicePath": {"href": format!("/dashboard/services/{service_id}"), "label": service_id},
            });
            rows.push((job.queued_ms, job.id, row));
        }
    }
    rows.sort_by_key(|r| std::cmp::Reverse((r.0, r.1)));
    Value::Array(rows.into_iter().map(|(_, _, row)| row).collect())
}

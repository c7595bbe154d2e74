//! `schedule.*` rows, schedule runs (deployment rows with a `scheduleId`) and the
//! `schedule.runManually` answer, read leniently like the rest of [`super`].
//!
//! Not read on purpose: `schedule.one`'s `compose` and `application` relations are whole
//! service rows, `env` and `composeFile` included; they have no field here, so serde skips
//! them without keeping their values.

use serde::Deserialize;

use crate::model::DeploymentStatus;
use crate::schedules::{ScheduleRun, ScheduleRunAnswer, ScheduleView};
use crate::secret::SecretString;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireSchedule {
    schedule_id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    schedule_type: Option<String>,
    compose_id: Option<String>,
    application_id: Option<String>,
    service_name: Option<String>,
    shell_type: Option<String>,
    command: Option<SecretString>,
    cron_expression: Option<String>,
    enabled: Option<bool>,
    app_name: Option<String>,
    created_at: Option<String>,
    /// Only `schedule.list` carries them.
    deployments: Option<Vec<WireScheduleRun>>,
}

impl WireSchedule {
    /// `None` when the row lacks its id, or one of its runs lacks its own.
    pub(crate) fn into_model(self) -> Option<ScheduleView> {
        let runs = match self.deployments {
            Some(list) => Some(
                list.into_iter()
                    .map(WireScheduleRun::into_model)
                    .collect::<Option<Vec<_>>>()?,
            ),
            None => None,
        };
        Some(ScheduleView {
            schedule_id: self.schedule_id?,
            name: self.name,
            description: self.description,
            schedule_type: self.schedule_type,
            compose_id: self.compose_id,
            application_id: self.application_id,
            service_name: self.service_name,
            shell_type: self.shell_type,
            command: self.command,
            cron_expression: self.cron_expression,
            enabled: self.enabled,
            app_name: self.app_name,
            created_at: self.created_at,
            runs,
        })
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireScheduleRun {
    deployment_id: Option<String>,
    schedule_id: Option<String>,
    title: Option<String>,
    description: Option<String>,
    status: Option<String>,
    created_at: Option<String>,
    started_at: Option<String>,
    finished_at: Option<String>,
    error_message: Option<String>,
    log_path: Option<String>,
}

impl WireScheduleRun {
    pub(crate) fn into_model(self) -> Option<ScheduleRun> {
        Some(ScheduleRun {
            deployment_id: self.deployment_id?,
            schedule_id: self.schedule_id,
            title: self.title,
            description: self.description,
            status: DeploymentStatus::parse(self.status.as_deref().unwrap_or("")),
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            error_message: self.error_message,
            log_path: self.log_path,
        })
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireRunAnswer {
    status: Option<String>,
    deployment_id: Option<String>,
    log_path: Option<String>,
}

impl WireRunAnswer {
    pub(crate) fn into_model(self) -> Option<ScheduleRunAnswer> {
        Some(ScheduleRunAnswer {
            deployment_id: self.deployment_id?,
            status: DeploymentStatus::parse(self.status.as_deref()?),
            log_path: self.log_path,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_schedule_row_with_its_relations_keeps_no_service_secret() {
        let body = r#"{"scheduleId":"s1","name":"post","description":"x\nlaunchplane.dev/owner=i/ns/Lane/l/-",
          "cronExpression":"0 0 1 1 *","appName":"schedule-a-b-c-123456","serviceName":"odoo","shellType":"bash",
          "scheduleType":"compose","command":"odoo -u all","script":null,"applicationId":null,"composeId":"c1",
          "serverId":null,"enabled":false,"timezone":null,"createdAt":"2026-11-22T12:00:00.000Z",
          "compose":{"composeId":"c1","env":"PGPASSWORD=compose-secret","composeFile":"services: {}"},
          "application":null,"server":null}"#;
        let w: WireSchedule = serde_json::from_str(body).unwrap();
        let v = w.into_model().unwrap();
        assert_eq!(v.schedule_id, "s1");
        assert_eq!(v.compose_id.as_deref(), Some("c1"));
        assert_eq!(v.enabled, Some(false));
        assert_eq!(v.command.as_ref().map(SecretString::expose), Some("odoo -u all"));
        assert!(v.runs.is_none());
        let dbg = format!("{v:?}");
        assert!(
            !dbg.contains("compose-secret") && !dbg.contains("odoo -u all"),
            "{dbg}"
        );
    }

    #[test]
    fn listed_runs_must_each_carry_their_id() {
        let ok = r#"{"scheduleId":"s1","deployments":[{"deploymentId":"d2","status":"running","scheduleId":"s1"},
            {"deploymentId":"d1","status":"done","finishedAt":"t"}]}"#;
        let v = serde_json::from_str::<WireSchedule>(ok)
            .unwrap()
            .into_model()
            .unwrap();
        let runs = v.runs.unwrap();
        assert_eq!(runs[0].status, DeploymentStatus::Running);
        assert_eq!(runs[1].finished_at.as_deref(), Some("t"));
        let bad = r#"{"scheduleId":"s1","deployments":[{"status":"done"}]}"#;
        assert!(
            serde_json::from_str::<WireSchedule>(bad)
                .unwrap()
                .into_model()
                .is_none()
        );
    }

    #[test]
    fn a_run_answer_needs_its_deployment_and_status() {
        let a: WireRunAnswer =
            serde_json::from_str(r#"{"status":"error","deploymentId":"d","logPath":"/l"}"#).unwrap();
        let a = a.into_model().unwrap();
        assert_eq!(a.status, DeploymentStatus::Error);
        let none: WireRunAnswer = serde_json::from_str(r#"{"deploymentId":"d"}"#).unwrap();
        assert!(none.into_model().is_none());
    }
}

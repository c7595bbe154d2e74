//! Calls on Dokploy schedules and their runs. See [`crate::schedules`] for the model.

use std::time::Duration;

use crate::errors::{ProviderError, Result};
use crate::ops::Op;
use crate::schedules::{ComposeScheduleSpec, ScheduleRun, ScheduleRunAnswer, ScheduleView};
use crate::secret::SecretString;
use crate::wire::{WireRunAnswer, WireSchedule, WireScheduleRun};

use super::{DokployClient, invalid, malformed, parse, parse_list, require};

/// The most lines `deployment.readLogs` returns.
const MAX_LOG_LINES: u32 = 10_000;

fn check_spec(route: &'static str, spec: &ComposeScheduleSpec) -> Result<()> {
    require(route, "compose id", &spec.compose_id)?;
    require(route, "service name", &spec.service_name)?;
    require(route, "schedule name", &spec.name)?;
    require(route, "cron expression", &spec.cron_expression)?;
    // The command's value never goes into the error.
    require(route, "command", spec.command.expose())
}

impl DokployClient {
    /// `schedule.create` with `scheduleType: "compose"`; returns the new row. Sent once.
    pub async fn create_schedule(&self, spec: &ComposeScheduleSpec) -> Result<ScheduleView> {
        let op = Op::ScheduleCreate { spec: spec.clone() };
        check_spec(op.route(), spec)?;
        let body = self.call(&op).await?;
        let row: WireSchedule = parse(op.route(), &body)?;
        row.into_model()
            .ok_or_else(|| malformed(op.route(), "no scheduleId in the answer"))
    }

    /// `schedule.update`: the schedule's columns become `spec`'s; returns the updated row.
    /// Sent once.
    pub async fn update_schedule(
        &self,
        schedule_id: &str,
        spec: &ComposeScheduleSpec,
    ) -> Result<ScheduleView> {
        let op = Op::ScheduleUpdate {
            schedule_id: schedule_id.to_owned(),
            spec: spec.clone(),
        };
        require(op.route(), "schedule id", schedule_id)?;
        check_spec(op.route(), spec)?;
        let body = self.call(&op).await?;
        let row: WireSchedule = parse(op.route(), &body)?;
        row.into_model()
            .ok_or_else(|| malformed(op.route(), "no scheduleId in the answer"))
    }

    /// `schedule.delete`; a schedule that is already gone (404) is success. Its runs go with it.
    pub async fn delete_schedule(&self, schedule_id: &str) -> Result<()> {
        let op = Op::ScheduleDelete {
            schedule_id: schedule_id.to_owned(),
        };
        require(op.route(), "schedule id", schedule_id)?;
        match self.call(&op).await {
            Ok(_) | Err(ProviderError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `schedule.one`: the schedule by id (404 `NotFound` when it is gone). Its runs are not
    /// in this answer; see [`Self::schedule_runs`].
    pub async fn schedule(&self, schedule_id: &str) -> Result<ScheduleView> {
        let op = Op::ScheduleOne {
            schedule_id: schedule_id.to_owned(),
        };
        require(op.route(), "schedule id", schedule_id)?;
        let body = self.call(&op).await?;
        let row: WireSchedule = parse(op.route(), &body)?;
        row.into_model()
            .ok_or_else(|| malformed(op.route(), "no scheduleId in the answer"))
    }

    /// `schedule.list {id, scheduleType: "compose"}`: the compose's schedules, oldest first,
    /// each with its runs (newest first). An unknown compose id lists nothing.
    pub async fn compose_schedules(&self, compose_id: &str) -> Result<Vec<ScheduleView>> {
        let op = Op::ScheduleList {
            compose_id: compose_id.to_owned(),
        };
        require(op.route(), "compose id", compose_id)?;
        let body = self.call(&op).await?;
        parse_list(op.route(), &body, WireSchedule::into_model)
    }

    /// `schedule.runManually`: runs the command now and waits up to `wait` for it to end
    /// (instead of the configured request timeout: the answer comes only when the command
    /// ends). Sent once, never retried.
    ///
    /// `Unreachable` (a timeout, a dropped connection) or `DeadlinePassed` says nothing about
    /// the run: it may not have started, or may still be running and settle later. Settle it
    /// from [`Self::schedule_runs`].
    pub async fn run_schedule(&self, schedule_id: &str, wait: Duration) -> Result<ScheduleRunAnswer> {
        let op = Op::ScheduleRunManually {
            schedule_id: schedule_id.to_owned(),
        };
        require(op.route(), "schedule id", schedule_id)?;
        if wait.is_zero() {
            return Err(invalid(op.route(), "the wait for the run must be positive"));
        }
        let body = self.call_with(&op, Some(wait)).await?;
        let answer: WireRunAnswer = parse(op.route(), &body)?;
        answer
            .into_model()
            .ok_or_else(|| malformed(op.route(), "no deploymentId or status in the answer"))
    }

    /// `deployment.allByType {id, type: "schedule"}`: the schedule's runs, newest first. Each
    /// schedule keeps about its newest ten. An unknown schedule id has none.
    pub async fn schedule_runs(&self, schedule_id: &str) -> Result<Vec<ScheduleRun>> {
        let op = Op::DeploymentAllBySchedule {
            schedule_id: schedule_id.to_owned(),
        };
        require(op.route(), "schedule id", schedule_id)?;
        let body = self.call(&op).await?;
        let mut runs = parse_list(op.route(), &body, WireScheduleRun::into_model)?;
        // Dokploy sorts newest first; sort again (stable, by ISO timestamp) rather than rely on it.
        runs.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        Ok(runs)
    }

    /// `deployment.readLogs`: the last `tail` lines (1-10000) of a deployment's or a schedule
    /// run's log. Held as a secret: the log holds the command line and whatever it printed.
    pub async fn deployment_log(&self, deployment_id: &str, tail: u32) -> Result<SecretString> {
        let op = Op::DeploymentReadLogs {
            deployment_id: deployment_id.to_owned(),
            tail,
        };
        require(op.route(), "deployment id", deployment_id)?;
        if !(1..=MAX_LOG_LINES).contains(&tail) {
            return Err(invalid(op.route(), "tail must be 1-10000 lines"));
        }
        let body = self.call(&op).await?;
        parse::<SecretString>(op.route(), &body)
    }
}

//! Dokploy schedules as the controller sees them: what Launchplane asks for
//! ([`ComposeScheduleSpec`]), what Dokploy holds ([`ScheduleView`]), and the runs a schedule
//! left ([`ScheduleRun`], [`ScheduleRunAnswer`]).
//!
//! A schedule runs `docker exec <container> <shell> -c <command>` in one service of a compose
//! (API-NOTES §10). Each run is a deployment row carrying the schedule's id, read with
//! `deployment.allByType?type=schedule`; `schedule.runManually` answers only when the command
//! has ended.
//!
//! Ownership: a schedule has a free-text `description` column (`openapi.json`,
//! `schedule.create`), where Launchplane's marker goes, as on applications
//! (`launchplane_api::ownership`). The `name` is a display name and never proof.
//!
//! Secrets: Dokploy keeps the command in the schedule row (returned by `schedule.one` and
//! `schedule.list`) and writes the whole command line into each run's log. A command is
//! therefore held as a [`SecretString`] here, but a secret should reach the command through the
//! compose env, not be written into it.

use std::fmt;

use crate::model::DeploymentStatus;
use crate::secret::SecretString;

/// The shell the command runs in (`shellType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShellType {
    Bash,
    Sh,
}

impl ShellType {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Bash => "bash",
            Self::Sh => "sh",
        }
    }
}

impl fmt::Display for ShellType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A schedule on one service of a compose, as Launchplane creates or updates it
/// (`scheduleType: "compose"`). `Debug` is safe: the command prints `<redacted>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeScheduleSpec {
    pub compose_id: String,
    /// The compose service whose container the command runs in (`serviceName`).
    pub service_name: String,
    /// Display name; not unique and never proof of ownership.
    pub name: String,
    /// Where Launchplane's ownership marker lives (`launchplane_api::ownership`).
    pub description: String,
    /// The command line, run as `<shell> -c <command>`.
    pub command: SecretString,
    pub shell: ShellType,
    /// Dokploy requires a cron expression even for a schedule only ever run by hand.
    pub cron_expression: String,
    /// Whether Dokploy's own cron runs it; `false` for schedules Launchplane runs by hand.
    pub enabled: bool,
}

/// A schedule as `schedule.create` / `schedule.update` / `schedule.one` / `schedule.list`
/// return it. `Debug` is safe: the command prints `<redacted>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleView {
    pub schedule_id: String,
    pub name: Option<String>,
    /// Free text; Launchplane's ownership marker lives here.
    pub description: Option<String>,
    /// `application`, `compose`, `server` or `dokploy-server`.
    pub schedule_type: Option<String>,
    pub compose_id: Option<String>,
    pub application_id: Option<String>,
    pub service_name: Option<String>,
    pub shell_type: Option<String>,
    pub command: Option<SecretString>,
    pub cron_expression: Option<String>,
    pub enabled: Option<bool>,
    /// The schedule's own generated name (its log folder), not a service's.
    pub app_name: Option<String>,
    pub created_at: Option<String>,
    /// The schedule's runs, newest first, when the route reports them (`schedule.list`);
    /// `None` from `schedule.one`, `schedule.create` and `schedule.update`.
    pub runs: Option<Vec<ScheduleRun>>,
}

/// One run of a schedule: a deployment row with the schedule's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRun {
    pub deployment_id: String,
    pub schedule_id: Option<String>,
    /// `Schedule` for runs Dokploy starts.
    pub title: Option<String>,
    pub description: Option<String>,
    /// `running` until the command ends, then `done` or `error` (`cancelled` if the server
    /// restarted meanwhile).
    pub status: DeploymentStatus,
    pub created_at: Option<String>,
    pub started_at: Option<String>,
    /// Set once the run has ended.
    pub finished_at: Option<String>,
    /// Set only when Dokploy could not create the run's log file.
    pub error_message: Option<String>,
    /// The log file on the Dokploy host (`deployment.readLogs` reads it).
    pub log_path: Option<String>,
}

/// What `schedule.runManually` answers once the command has ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRunAnswer {
    pub deployment_id: String,
    /// `done` or `error`.
    pub status: DeploymentStatus,
    pub log_path: Option<String>,
}

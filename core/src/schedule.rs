//! Commands Launchplane runs as Dokploy schedules it owns (the Odoo driver's post-deploy, a
//! BackupGate's capture): which schedule is ours, whether it must be updated, and how a run's
//! outcome is read from its answer or from the schedule's run history.
//!
//! - **Ownership** ([`choose`]): a schedule is ours when a record of ours names its id (a
//!   DeploymentRecord's or BackupGate's `scheduleId`) and it still carries our ownership marker
//!   ([`launchplane_api::ownership`]) and purpose ([`ScheduleWant::description`]). A marker alone
//!   is not proof, as a name never is: a marked schedule no record names is adopted only as
//!   the answer to our own recorded intent to create it ([`CommandRun::schedule_requested_at`],
//!   written before `schedule.create`), created since; any other is a Conflict, and
//!   Launchplane neither runs nor changes it. Only ours, by its id, is updated or run.
//! - **Once**: a controller stopped between `schedule.create` and recording its id adopts the
//!   schedule under its intent rather than creating a second. A run is asked for only after its
//!   intent is recorded ([`CommandRun::requested_at`] with the schedule's newest run before
//!   it); a restart then reads the run history instead of running it again.
//! - **Secrets** never enter a command: they reach it through the compose env.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::ownership::{Owner, Ownership, ownership};
use launchplane_api::resources::{CommandResult, CommandRun};
use launchplane_providers::{
    ComposeScheduleSpec, DeploymentStatus, ScheduleRun, ScheduleRunAnswer, ScheduleView, SecretString,
    ShellType,
};

/// Dokploy requires a cron expression even for a schedule only ever run by hand; the schedule
/// is created disabled, so this never fires.
pub const MANUAL_CRON: &str = "0 0 1 1 *";

/// What Launchplane wants of one schedule it owns on a compose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleWant {
    pub compose_id: String,
    /// The compose service the command runs in.
    pub service: String,
    /// What the schedule is for, e.g. `post-deploy` (its name and the first line of its
    /// description).
    pub purpose: String,
    /// Whose it is (its description's marker).
    pub owner: Owner,
    /// The command line (never a secret: secrets reach it through the compose env).
    pub command: String,
}

impl ScheduleWant {
    /// The first line of the schedule's description: the purpose and the owning object.
    fn title(&self) -> String {
        format!(
            "launchplane {} of {} {}/{}",
            self.purpose, self.owner.kind, self.owner.namespace, self.owner.name
        )
    }

    /// The schedule's description: the title, then the ownership marker.
    pub fn description(&self) -> String {
        self.owner.describe(&self.title())
    }

    /// The schedule as created or updated: disabled (run only by Launchplane), `sh`.
    pub fn spec(&self) -> ComposeScheduleSpec {
        ComposeScheduleSpec {
            compose_id: self.compose_id.clone(),
            service_name: self.service.clone(),
            name: format!("launchplane-{}", self.purpose),
            description: self.description(),
            command: SecretString::new(self.command.clone()),
            shell: ShellType::Sh,
            cron_expression: MANUAL_CRON.into(),
            enabled: false,
        }
    }

    /// Whether `view` is this want's schedule: our marker, our title, on this compose.
    pub fn is_ours(&self, view: &ScheduleView) -> bool {
        let description = view.description.as_deref();
        ownership(description, &self.owner) == Ownership::Ours
            && description.and_then(|d| d.lines().next()) == Some(self.title().as_str())
            && view.compose_id.as_deref().is_none_or(|c| c == self.compose_id)
    }

    /// Whether our schedule `view` must be updated to run what is wanted. A column Dokploy did
    /// not report counts as differing only for the command and service (what runs, and where);
    /// an unreported shell or `enabled` is left as it is rather than rewritten on every use.
    pub fn differs(&self, view: &ScheduleView) -> bool {
        view.command.as_ref().map(SecretString::expose) != Some(self.command.as_str())
            || view.service_name.as_deref() != Some(self.service.as_str())
            || view
                .shell_type
                .as_deref()
                .is_some_and(|s| s != ShellType::Sh.as_str())
            || view.enabled == Some(true)
    }
}

/// How much earlier than our intent Dokploy's clock may date the schedule we then created.
const CLOCK_SKEW: SignedDuration = SignedDuration::from_secs(300);

/// Which schedule a [`ScheduleWant`] uses, from the compose's listing.
#[derive(Debug, PartialEq)]
pub enum Choice<'a> {
    /// Ours by a recorded id (and still marked): use it, updated by id when it differs.
    Recorded(&'a ScheduleView),
    /// The one marked schedule created since our recorded intent to create one: the answer to
    /// that `schedule.create` was lost. Recorded from now on.
    Adopt(&'a ScheduleView),
    /// None of ours exists: create it (the caller's intent is written first).
    Create,
    /// Marked schedules that no record names and that our intent does not explain: someone
    /// else's, whatever their marker says. Nothing is run or changed.
    Conflict(String),
}

/// Which schedule `want` uses among `schedules`, given the ids our records name (`known`) and
/// when our intent to create one was recorded before this attempt (`intent`; `None`: it was
/// written just now, so nothing of ours can exist yet).
pub fn choose<'a>(
    want: &ScheduleWant,
    schedules: &'a [ScheduleView],
    known: &[String],
    intent: Option<Timestamp>,
) -> Choice<'a> {
    let marked: Vec<&ScheduleView> = schedules.iter().filter(|s| want.is_ours(s)).collect();
    if let Some(recorded) = marked.iter().find(|s| known.contains(&s.schedule_id)) {
        return Choice::Recorded(recorded);
    }
    let since = |s: &ScheduleView, t: Timestamp| {
        s.created_at
            .as_deref()
            .and_then(|c| c.parse::<Timestamp>().ok())
            .is_some_and(|c| c >= t - CLOCK_SKEW)
    };
    match (marked.as_slice(), intent) {
        ([], _) => Choice::Create,
        ([one], Some(t)) if since(one, t) => Choice::Adopt(one),
        (others, _) => {
            let ids: Vec<&str> = others.iter().map(|s| s.schedule_id.as_str()).collect();
            Choice::Conflict(format!(
                "Dokploy schedule {} on compose {} carries the ownership marker of {} {}/{} for \
                 `{}`, but no record of Launchplane's names it and Launchplane did not ask to \
                 create it: a copied marker is not ownership, so Launchplane neither runs nor \
                 changes it. Delete it in Dokploy if nobody needs it, and Launchplane creates its own",
                ids.join(", "),
                want.compose_id,
                want.owner.kind,
                want.owner.namespace,
                want.owner.name,
                want.purpose,
            ))
        }
    }
}

/// The run that was asked for as `run`: the oldest of `runs` (newest first) after
/// `run.previous_run_id`.
fn ours<'a>(run: &CommandRun, runs: &'a [ScheduleRun]) -> Option<&'a ScheduleRun> {
    let newer = match run.previous_run_id.as_deref() {
        Some(previous) => match runs.iter().position(|r| r.deployment_id == previous) {
            Some(i) => &runs[..i],
            // The previous run is gone from the history (Dokploy keeps a few): every run
            // listed started after it.
            None => runs,
        },
        None => runs,
    };
    newer.last()
}

/// The intent of a run: written before `schedule.runManually`, so a restart settles it from
/// the history and never asks again.
pub fn requested(schedule_id: &str, previous_run_id: Option<String>, now: Timestamp) -> CommandRun {
    CommandRun {
        result: Some(CommandResult::Unknown),
        schedule_id: Some(schedule_id.to_string()),
        schedule_requested_at: None,
        previous_run_id,
        requested_at: Some(Time(now)),
        deployment_id: None,
        finished_at: None,
        message: Some("asked Dokploy to run the command; waiting for its end".into()),
    }
}

/// `run` after `schedule.runManually` answered.
pub fn answered(run: &CommandRun, answer: &ScheduleRunAnswer, now: Timestamp) -> CommandRun {
    let mut out = run.clone();
    out.deployment_id = Some(answer.deployment_id.clone());
    let (result, message) = match &answer.status {
        DeploymentStatus::Done => (CommandResult::Succeeded, "the command succeeded".to_string()),
        DeploymentStatus::Error => (
            CommandResult::Failed,
            format!(
                "the command failed (Dokploy run {}; its log is in Dokploy)",
                answer.deployment_id
            ),
        ),
        other => (
            CommandResult::Unknown,
            format!("Dokploy answered the run with status {other:?}; reading its history"),
        ),
    };
    if result != CommandResult::Unknown {
        out.finished_at = Some(Time(now));
    }
    out.result = Some(result);
    out.message = Some(message);
    out
}

/// What the run history says of an Unknown run.
#[derive(Clone, Debug, PartialEq)]
pub enum Settled {
    /// Settled (Succeeded or Failed): write it.
    Done(CommandRun),
    /// Still running, or not in the history yet: look again later.
    Wait,
}

/// Settle the Unknown run `run` from the schedule's `runs` (newest first). A run that never
/// appears within `timeout` of being asked for is Failed: the request never reached Dokploy
/// (or its run was lost); it is not asked for again.
pub fn settle(run: &CommandRun, runs: &[ScheduleRun], timeout: SignedDuration, now: Timestamp) -> Settled {
    let mut out = run.clone();
    let Some(found) = ours(run, runs) else {
        let asked = run.requested_at.as_ref().map_or(now, |t| t.0);
        if now.duration_since(asked) <= timeout {
            return Settled::Wait;
        }
        out.result = Some(CommandResult::Failed);
        out.finished_at = Some(Time(now));
        out.message = Some(format!(
            "no run of Dokploy schedule {} appeared within {}s of asking for it; the command is \
             taken as not run and is not asked for again",
            run.schedule_id.as_deref().unwrap_or("?"),
            timeout.as_secs()
        ));
        return Settled::Done(out);
    };
    out.deployment_id = Some(found.deployment_id.clone());
    let (result, message) = match &found.status {
        DeploymentStatus::Done => (
            CommandResult::Succeeded,
            "the command succeeded (from the run history)".to_string(),
        ),
        DeploymentStatus::Error => (
            CommandResult::Failed,
            format!(
                "the command failed (Dokploy run {}; its log is in Dokploy)",
                found.deployment_id
            ),
        ),
        DeploymentStatus::Cancelled => (
            CommandResult::Failed,
            format!(
                "Dokploy run {} was cancelled (the Dokploy server restarted during it)",
                found.deployment_id
            ),
        ),
        DeploymentStatus::Running | DeploymentStatus::Other(_) => return Settled::Wait,
    };
    out.result = Some(result);
    out.finished_at = Some(Time(now));
    out.message = Some(message);
    Settled::Done(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn want() -> ScheduleWant {
        ScheduleWant {
            compose_id: "c1".into(),
            service: "web".into(),
            purpose: "post-deploy".into(),
            owner: Owner::new("i", "shop", "Lane", "prod", Some("u1")),
            command: "odoo -u all --stop-after-init".into(),
        }
    }

    fn view(description: &str, command: &str) -> ScheduleView {
        ScheduleView {
            schedule_id: "s1".into(),
            name: Some("launchplane-post-deploy".into()),
            description: Some(description.into()),
            schedule_type: Some("compose".into()),
            compose_id: Some("c1".into()),
            application_id: None,
            service_name: Some("web".into()),
            shell_type: Some("sh".into()),
            command: Some(SecretString::new(command)),
            cron_expression: Some(MANUAL_CRON.into()),
            enabled: Some(false),
            app_name: None,
            created_at: None,
            runs: None,
        }
    }

    fn run(id: &str, status: DeploymentStatus) -> ScheduleRun {
        ScheduleRun {
            deployment_id: id.into(),
            schedule_id: Some("s1".into()),
            title: Some("Schedule".into()),
            description: None,
            status,
            created_at: None,
            started_at: None,
            finished_at: None,
            error_message: None,
            log_path: None,
        }
    }

    #[test]
    fn only_a_schedule_with_our_marker_and_purpose_is_ours_whatever_its_name() {
        let w = want();
        let ours = view(&w.description(), &w.command);
        assert!(w.is_ours(&ours));
        assert!(!w.differs(&ours));
        assert!(w.differs(&view(&w.description(), "odoo -u sale")));
        let mut enabled = ours.clone();
        enabled.enabled = Some(true);
        assert!(w.differs(&enabled), "Dokploy's cron must never run it");
        let mut quiet = ours.clone();
        quiet.enabled = None;
        quiet.shell_type = None;
        assert!(!w.differs(&quiet), "unreported columns are not rewritten");
        let other_lane = Owner::new("i", "shop", "Lane", "testing", Some("u2"));
        let mut theirs = ours.clone();
        theirs.description = Some(other_lane.describe("launchplane post-deploy of Lane shop/prod"));
        assert!(!w.is_ours(&theirs), "another owner's marker");
        let mut unmarked = ours.clone();
        unmarked.description = Some("launchplane post-deploy of Lane shop/prod".into());
        assert!(!w.is_ours(&unmarked), "a name or title is never proof");
        let backup = ScheduleWant {
            purpose: "backup".into(),
            ..want()
        };
        assert!(
            !backup.is_ours(&ours),
            "the same owner's schedule for another purpose"
        );
        let spec = w.spec();
        assert!(!spec.enabled);
        assert_eq!(spec.description, w.description());
    }

    #[test]
    fn a_run_is_settled_from_the_runs_after_the_one_before_it() {
        let asked = requested("s1", Some("d1".into()), t(0));
        assert_eq!(asked.result, Some(CommandResult::Unknown));
        // Only the old run: not there yet.
        let old = [run("d1", DeploymentStatus::Error)];
        assert_eq!(
            settle(&asked, &old, SignedDuration::from_secs(60), t(10)),
            Settled::Wait
        );
        // Ours running, then done.
        let running = [
            run("d2", DeploymentStatus::Running),
            run("d1", DeploymentStatus::Error),
        ];
        assert_eq!(
            settle(&asked, &running, SignedDuration::from_secs(60), t(10)),
            Settled::Wait
        );
        let done = [
            run("d3", DeploymentStatus::Error),
            run("d2", DeploymentStatus::Done),
            run("d1", DeploymentStatus::Error),
        ];
        let Settled::Done(r) = settle(&asked, &done, SignedDuration::from_secs(60), t(10)) else {
            panic!()
        };
        assert_eq!(r.result, Some(CommandResult::Succeeded));
        assert_eq!(
            r.deployment_id.as_deref(),
            Some("d2"),
            "the first run after the intent"
        );
        let cancelled = [
            run("d2", DeploymentStatus::Cancelled),
            run("d1", DeploymentStatus::Done),
        ];
        let Settled::Done(r) = settle(&asked, &cancelled, SignedDuration::from_secs(60), t(10)) else {
            panic!()
        };
        assert_eq!(r.result, Some(CommandResult::Failed));
        // Never appeared: Failed after the timeout, never asked again.
        let Settled::Done(r) = settle(&asked, &old, SignedDuration::from_secs(60), t(61)) else {
            panic!()
        };
        assert_eq!(r.result, Some(CommandResult::Failed));
        // No run before: the oldest listed is ours.
        let first = requested("s1", None, t(0));
        let Settled::Done(r) = settle(&first, &done, SignedDuration::from_secs(60), t(1)) else {
            panic!()
        };
        assert_eq!(r.deployment_id.as_deref(), Some("d1"));
    }

    #[test]
    fn an_answer_settles_done_and_error_and_leaves_anything_else_unknown() {
        let asked = requested("s1", None, t(0));
        let answer = |status| ScheduleRunAnswer {
            deployment_id: "d9".into(),
            status,
            log_path: None,
        };
        let ok = answered(&asked, &answer(DeploymentStatus::Done), t(5));
        assert_eq!(ok.result, Some(CommandResult::Succeeded));
        assert_eq!(ok.deployment_id.as_deref(), Some("d9"));
        let failed = answered(&asked, &answer(DeploymentStatus::Error), t(5));
        assert_eq!(failed.result, Some(CommandResult::Failed));
        let odd = answered(&asked, &answer(DeploymentStatus::Running), t(5));
        assert_eq!(odd.result, Some(CommandResult::Unknown));
        assert_eq!(odd.finished_at, None);
    }

    fn made(id: &str, created: Timestamp) -> ScheduleView {
        let w = want();
        ScheduleView {
            schedule_id: id.into(),
            created_at: Some(created.to_string()),
            ..view(&w.description(), &w.command)
        }
    }

    #[test]
    fn a_marked_schedule_is_used_by_its_recorded_id_or_adopted_only_under_our_intent() {
        let w = want();
        let ours = made("s1", t(100));
        let mut unmarked = made("s0", t(0));
        unmarked.description = Some("launchplane post-deploy of Lane shop/prod".into());
        let known = vec!["s1".to_string()];
        // Recorded: used, whatever else is listed.
        let copy = made("s9", t(200));
        let listing = [unmarked.clone(), copy.clone(), ours.clone()];
        assert_eq!(choose(&w, &listing, &known, None), Choice::Recorded(&ours));
        // A recorded id whose marker is gone is not ours any more.
        let mut stripped = ours.clone();
        stripped.description = unmarked.description.clone();
        assert!(matches!(choose(&w, &[stripped], &known, None), Choice::Create));
        // Nothing marked: create.
        assert_eq!(choose(&w, &[unmarked.clone()], &[], None), Choice::Create);
        assert_eq!(choose(&w, &[], &[], Some(t(50))), Choice::Create);
        // A marked schedule no record names, with no intent before this attempt: a Conflict.
        let Choice::Conflict(why) = choose(&w, std::slice::from_ref(&copy), &[], None) else {
            panic!("a copied marker was taken for ours")
        };
        assert!(
            why.contains("s9") && why.contains("Lane shop/prod") && why.contains("Delete it"),
            "{why}"
        );
        // Under our intent: the one created since (a clock a little behind counts) is adopted...
        assert_eq!(
            choose(&w, std::slice::from_ref(&copy), &[], Some(t(150))),
            Choice::Adopt(&copy)
        );
        // ... one made long before the intent, or one of several, is not.
        assert!(matches!(
            choose(&w, std::slice::from_ref(&copy), &[], Some(t(200 + 301))),
            Choice::Conflict(_)
        ));
        let twin = made("s8", t(210));
        assert!(matches!(
            choose(&w, &[copy.clone(), twin], &[], Some(t(150))),
            Choice::Conflict(_)
        ));
        let mut undated = copy;
        undated.created_at = None;
        assert!(matches!(
            choose(&w, &[undated], &[], Some(t(150))),
            Choice::Conflict(_)
        ));
    }
}

//! The gates a Promotion passes before its destination deploys. Each is a pure function of
//! what it names as evidence, and answers Allow, Deny (until what it needs changes) or Defer
//! (ask again at `retryAt`), with a sentence citing that evidence.
//!
//! Messages never say "ago" or "now": a status is written only when it changes, and a message
//! that moved with the clock would rewrite it on every reconcile. Times are absolute (RFC 3339).
//!
//! | gate | asked for | allows when |
//! |---|---|---|
//! | [`route`] | every Promotion | the destination takes Promotions, from this source |
//! | [`hold`] | every Promotion | not an automatic Promotion into a lane a rollback holds |
//! | [`rollback_target`] | rollbacks | the destination has a Succeeded record of the artifact |
//! | [`source_verified`] | promotions | the source runs the artifact and its app echoes it |
//! | [`soak`] | `promotion.soak` | the source has verified it for the soak (Defer until then) |
//! | [`backup_gate`] | `promotion.requireBackupGate` | a usable Passed BackupGate exists |
//! | [`window`] | `promotion.window` | inside the window (Defer until it opens) |
//! | [`approval`] | `promotion.requireApproval` | an Approval names the Promotion |

use super::verified::verified;
use super::{is_auto, name_of};
use crate::backup_gate;
use crate::deployment_record as record;
use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::resources::{
    Approval, BackupGate, DeploymentPhase, DeploymentRecord, GateOutcome, GateResult, Lane, LaneHold,
    Promotion, PromotionWindow, Weekday,
};
use std::sync::OnceLock;

pub const ROUTE: &str = "Route";
pub const HOLD: &str = "Hold";
pub const ROLLBACK_TARGET: &str = "RollbackTarget";
pub const SOURCE_VERIFIED: &str = "SourceVerified";
pub const SOAK: &str = "Soak";
pub const BACKUP_GATE: &str = "BackupGate";
pub const WINDOW: &str = "Window";
pub const APPROVAL: &str = "Approval";

/// How old a BackupGate may be when the lane does not say (`promotion.backupMaxAge`).
pub const DEFAULT_BACKUP_MAX_AGE: SignedDuration = backup_gate::DEFAULT_MAX_AGE;

fn answer(name: &str, outcome: GateOutcome, message: String, retry_at: Option<Timestamp>) -> GateResult {
    GateResult {
        name: name.to_string(),
        outcome,
        message,
        retry_at: retry_at.map(Time),
    }
}

pub fn allow(name: &str, message: String) -> GateResult {
    answer(name, GateOutcome::Allow, message, None)
}

pub fn deny(name: &str, message: String) -> GateResult {
    answer(name, GateOutcome::Deny, message, None)
}

pub fn defer(name: &str, message: String, at: Timestamp) -> GateResult {
    answer(name, GateOutcome::Defer, message, Some(at))
}

fn lane_name(lane: &Lane) -> &str {
    lane.metadata.name.as_deref().unwrap_or_default()
}

/// The destination takes Promotions (`spec.promotion`), of the same Product, and a promotion
/// comes from the lane it names as `sourceLane`.
pub fn route(p: &Promotion, to: Option<&Lane>, from: Option<&Lane>) -> GateResult {
    let to_name = &p.spec.to_lane;
    let Some(to) = to else {
        return deny(
            ROUTE,
            format!("spec.toLane: Lane {to_name} not found in this namespace"),
        );
    };
    let Some(rules) = to.spec.promotion.as_ref() else {
        return deny(
            ROUTE,
            format!("Lane {to_name} takes no Promotions: set spec.promotion on it to feed it by Promotions"),
        );
    };
    let product = &p.spec.product_ref.name;
    if to.spec.product_ref.name != *product {
        return deny(
            ROUTE,
            format!(
                "Lane {to_name} belongs to Product {}, not to Product {product}",
                to.spec.product_ref.name
            ),
        );
    }
    let Some(from_name) = p.spec.from_lane.as_deref() else {
        return allow(
            ROUTE,
            format!("Lane {to_name} takes Promotions; this one rolls it back"),
        );
    };
    if from_name != rules.source_lane {
        return deny(
            ROUTE,
            format!(
                "Lane {to_name} takes promotions from Lane {} only (spec.promotion.sourceLane), not from Lane {from_name}",
                rules.source_lane
            ),
        );
    }
    if from.is_none() {
        return deny(
            ROUTE,
            format!("spec.fromLane: Lane {from_name} not found in this namespace"),
        );
    }
    allow(
        ROUTE,
        format!("Lane {to_name} takes promotions from Lane {from_name}"),
    )
}

/// An automatic Promotion into a lane a rollback holds is denied; a person's Promotion is
/// allowed (and lifts the hold once it succeeds).
pub fn hold(p: &Promotion, to: &str, hold: Option<&LaneHold>) -> GateResult {
    let Some(h) = hold else {
        return allow(HOLD, format!("Lane {to} is not held by a rollback"));
    };
    let since = h
        .since
        .as_ref()
        .map(|t| format!(" since {}", t.0))
        .unwrap_or_default();
    let held = format!(
        "Lane {to} is held on {} by rollback Promotion {}{since}",
        h.artifact, h.promotion
    );
    if is_auto(p) {
        deny(
            HOLD,
            format!("{held}: automatic promotions wait until a person promotes into it"),
        )
    } else {
        allow(
            HOLD,
            format!("{held}; a Promotion made by a person replaces the hold once it succeeds"),
        )
    }
}

/// A rollback goes only to an artifact the destination ran: a Succeeded DeploymentRecord of
/// it. Nothing else is accepted, and no record is ever invented to pass.
pub fn rollback_target(artifact: &str, to: &Lane, records: &[DeploymentRecord]) -> GateResult {
    let name = lane_name(to);
    let ran = records
        .iter()
        .filter(|r| r.spec.artifact_ref.name == artifact && record::phase(r) == DeploymentPhase::Succeeded)
        .max_by_key(|r| record::finished_at(r));
    if let Some(r) = ran {
        let when = record::finished_at(r)
            .map(|t| format!(", verified at {t}"))
            .unwrap_or_default();
        return allow(
            ROLLBACK_TARGET,
            format!(
                "Lane {name} ran {artifact} before: DeploymentRecord {} Succeeded{when}",
                r.metadata.name.as_deref().unwrap_or_default()
            ),
        );
    }
    let candidates = to
        .status
        .as_ref()
        .map(|s| s.rollback_candidates.join(", "))
        .filter(|c| !c.is_empty())
        .map(|c| format!(" (its rollback candidates: {c})"))
        .unwrap_or_default();
    deny(
        ROLLBACK_TARGET,
        format!(
            "Lane {name} has no Succeeded DeploymentRecord of {artifact}: a rollback goes only to an artifact \
             the lane ran before{candidates}"
        ),
    )
}

/// The source lane runs the artifact and its app echoes it now (what it serves, not what was
/// last deployed). `artifact` is the one the Promotion names, if it names one.
pub fn source_verified(artifact: Option<&str>, from_name: &str, from: Option<&Lane>) -> GateResult {
    let Some(from) = from else {
        return deny(
            SOURCE_VERIFIED,
            format!("spec.fromLane: Lane {from_name} not found in this namespace"),
        );
    };
    match verified(from) {
        Err(why) => deny(SOURCE_VERIFIED, why),
        Ok(v) if artifact.is_some_and(|a| a != v.artifact) => deny(
            SOURCE_VERIFIED,
            format!(
                "Lane {from_name} runs and verifies {}, not {}",
                v.artifact,
                artifact.unwrap_or_default()
            ),
        ),
        Ok(v) => {
            let record = v
                .record
                .map(|r| format!(" (DeploymentRecord {r})"))
                .unwrap_or_default();
            allow(
                SOURCE_VERIFIED,
                format!(
                    "Lane {from_name} runs {} and its app echoes it{record}",
                    v.artifact
                ),
            )
        }
    }
}

/// The source lane has been verified on the artifact for at least `soak` (the destination's
/// `promotion.soak`); deferred until then.
pub fn soak(soak: &str, artifact: Option<&str>, from: Option<&Lane>, now: Timestamp) -> GateResult {
    let Some(duration) = crate::preview::parse_ttl(soak) else {
        return deny(
            SOAK,
            format!("spec.promotion.soak {soak:?} is not a duration such as 1h or 30m"),
        );
    };
    let Some(from) = from else {
        return deny(SOAK, "the soak cannot begin: the source lane is not found".into());
    };
    let from_name = lane_name(from);
    let v = match verified(from) {
        Ok(v) => v,
        Err(why) => return deny(SOAK, format!("the soak of {soak} has not begun: {why}")),
    };
    if artifact.is_some_and(|a| a != v.artifact) {
        return deny(
            SOAK,
            format!(
                "the soak of {soak} has not begun: Lane {from_name} runs {}, not {}",
                v.artifact,
                artifact.unwrap_or_default()
            ),
        );
    }
    let since = v.since.unwrap_or(now);
    let due = since.checked_add(duration).unwrap_or(since);
    if now >= due {
        allow(
            SOAK,
            format!(
                "Lane {from_name} has verified {} since {since}, at least the soak of {soak}",
                v.artifact
            ),
        )
    } else {
        defer(
            SOAK,
            format!(
                "Lane {from_name} has verified {} since {since}; the soak of {soak} ends at {due}",
                v.artifact
            ),
            due,
        )
    }
}

/// When the lane's target was last deployed to, as its records tell: the start of the newest
/// deploy (a record past Pending), or when one given as evidence finished.
pub fn last_deploy(records: &[DeploymentRecord]) -> Option<Timestamp> {
    records
        .iter()
        .filter(|r| record::phase(r) != DeploymentPhase::Pending)
        .filter_map(|r| {
            let started = r
                .status
                .as_ref()
                .and_then(|s| s.deploy.as_ref())
                .and_then(|d| d.started_at.as_ref())
                .map(|t| t.0);
            started.or_else(|| record::finished_at(r))
        })
        .max()
}

/// What [`backup_gate`] found: the answer, and the BackupGate it would use.
#[derive(Clone, Debug, PartialEq)]
pub struct BackupGateAnswer {
    pub result: GateResult,
    pub chosen: Option<String>,
}

/// What else decides whether a BackupGate may authorize a Promotion.
pub struct BackupGateInputs<'a> {
    pub promotion: &'a Promotion,
    pub to: &'a Lane,
    /// The destination's records (its last deploy).
    pub records: &'a [DeploymentRecord],
    /// The BackupGates of the namespace.
    pub gates: &'a [&'a BackupGate],
    /// The Promotions of the namespace (which BackupGate each used).
    pub promotions: &'a [&'a Promotion],
    /// The DataBootstraps of the namespace (which BackupGate each took).
    pub bootstraps: &'a [&'a launchplane_api::resources::DataBootstrap],
    /// `promotion.backupMaxAge`.
    pub max_age: Option<&'a str>,
    pub now: Timestamp,
}

/// A Passed BackupGate for the destination, taken after its last deploy, within the maximum
/// age, used by no other Promotion (each authorizes one only; none is ever reused). The newest
/// such is chosen.
pub fn backup_gate(input: &BackupGateInputs<'_>) -> BackupGateAnswer {
    let to = lane_name(input.to);
    let me = name_of(input.promotion);
    let (max_age, max_age_text) = match backup_gate::max_age(input.max_age) {
        Ok(m) => m,
        Err(why) => {
            return BackupGateAnswer {
                result: deny(BACKUP_GATE, why),
                chosen: None,
            };
        }
    };
    let last = last_deploy(input.records);
    let after = last.map_or_else(
        || "(it has not been deployed to)".to_string(),
        |t| format!("at {t}"),
    );
    let wanted = format!(
        "Lane {to} requires a Passed BackupGate taken after its last deploy {after} and at most {max_age_text} old"
    );
    let used_by = |g: &BackupGate| -> Option<String> {
        let gate = g.metadata.name.as_deref().unwrap_or_default();
        // Each BackupGate authorizes one operation: one a DataBootstrap took is spent.
        let by_bootstrap = input
            .bootstraps
            .iter()
            .filter(|b| b.metadata.namespace == g.metadata.namespace)
            .find(|b| b.status.as_ref().and_then(|s| s.backup_gate.as_deref()) == Some(gate))
            .map(|b| format!("DataBootstrap {}", crate::bootstrap::name_of(b)));
        if by_bootstrap.is_some() {
            return by_bootstrap;
        }
        input
            .promotions
            .iter()
            .filter(|p| name_of(p) != me)
            .find(|p| p.status.as_ref().and_then(|s| s.backup_gate.as_deref()) == Some(gate))
            .map(|p| name_of(p))
            .or_else(|| {
                g.status
                    .as_ref()
                    .and_then(|s| s.used_by.clone())
                    .filter(|u| *u != me)
            })
            .map(|p| format!("Promotion {p}"))
    };
    let usability = backup_gate::Usability {
        lane: to,
        namespace: input.to.metadata.namespace.as_deref(),
        last_change: last,
        last_change_what: "the last deploy",
        max_age,
        max_age_text: &max_age_text,
        used_by: &used_by,
        one: "Promotion or DataBootstrap",
        now: input.now,
    };
    match backup_gate::newest_usable(input.gates, &usability) {
        Ok(g) => {
            let name = g.metadata.name.clone().unwrap_or_default();
            BackupGateAnswer {
                result: allow(
                    BACKUP_GATE,
                    format!(
                        "BackupGate {name} (backup {}, taken at {}) passed, was taken after Lane {to}'s last \
                         deploy {after}, is at most {max_age_text} old and authorizes no other Promotion",
                        backup_gate::backup_name(g),
                        backup_gate::taken_at(g)
                            .map(|t| t.to_string())
                            .unwrap_or_default()
                    ),
                ),
                chosen: Some(name),
            }
        }
        Err(refused) => {
            let message = if refused.is_empty() {
                format!("{wanted}; there is none")
            } else {
                format!("{wanted}; none is usable: {}", refused.join("; "))
            };
            BackupGateAnswer {
                result: deny(BACKUP_GATE, message),
                chosen: None,
            }
        }
    }
}

/// The time zones, bundled with the binary: the container has no `/usr/share/zoneinfo`, and
/// reading it would be I/O the core does not do.
fn time_zones() -> &'static TimeZoneDatabase {
    static DB: OnceLock<TimeZoneDatabase> = OnceLock::new();
    DB.get_or_init(TimeZoneDatabase::bundled)
}

fn civil(day: Weekday) -> jiff::civil::Weekday {
    match day {
        Weekday::Monday => jiff::civil::Weekday::Monday,
        Weekday::Tuesday => jiff::civil::Weekday::Tuesday,
        Weekday::Wednesday => jiff::civil::Weekday::Wednesday,
        Weekday::Thursday => jiff::civil::Weekday::Thursday,
        Weekday::Friday => jiff::civil::Weekday::Friday,
        Weekday::Saturday => jiff::civil::Weekday::Saturday,
        Weekday::Sunday => jiff::civil::Weekday::Sunday,
    }
}

/// The window as a person reads it: `Monday, Friday 09:00-17:00 Europe/Berlin`.
fn describe(w: &PromotionWindow) -> String {
    let days = if w.days.is_empty() {
        "every day".to_string()
    } else {
        w.days
            .iter()
            .map(|d| format!("{d:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{days} {:02}:00-{:02}:00 {}",
        w.start_hour, w.end_hour, w.time_zone
    )
}

/// The start (or end) of `hour` on `date` in `tz`, as an instant (24 is the next midnight).
fn at_hour(date: jiff::civil::Date, hour: i32, tz: &TimeZone) -> Option<Timestamp> {
    let (date, hour) = if hour >= 24 {
        (date.tomorrow().ok()?, 0)
    } else {
        (date, hour)
    };
    let hour = i8::try_from(hour).ok()?;
    Some(date.at(hour, 0, 0, 0).to_zoned(tz.clone()).ok()?.timestamp())
}

/// Inside the window (its days, `startHour` ≤ hour < `endHour`, in its time zone): Allow;
/// outside: Defer until it next opens.
pub fn window(w: &PromotionWindow, now: Timestamp) -> GateResult {
    let Ok(tz) = time_zones().get(&w.time_zone) else {
        return deny(
            WINDOW,
            format!(
                "spec.promotion.window.timeZone {:?} is not a known time zone; use an IANA name such as Europe/Berlin",
                w.time_zone
            ),
        );
    };
    let described = describe(w);
    let allowed = |d: jiff::civil::Date| w.days.is_empty() || w.days.iter().any(|x| civil(*x) == d.weekday());
    let today = now.to_zoned(tz.clone()).date();
    for offset in 0..=8 {
        let Some(date) = today.checked_add(jiff::Span::new().days(offset)).ok() else {
            break;
        };
        if !allowed(date) {
            continue;
        }
        let (Some(opens), Some(closes)) = (at_hour(date, w.start_hour, &tz), at_hour(date, w.end_hour, &tz))
        else {
            continue;
        };
        if now >= opens && now < closes {
            return allow(
                WINDOW,
                format!("inside the window {described}, open until {closes}"),
            );
        }
        if opens > now {
            return defer(
                WINDOW,
                format!("outside the window {described}; it opens at {opens}"),
                opens,
            );
        }
    }
    deny(WINDOW, format!("the window {described} never opens"))
}

/// An Approval names the Promotion (the chart's admission policy makes sure its approver is
/// the user who created it).
pub fn approval(p: &Promotion, to: &str, approvals: &[&Approval]) -> GateResult {
    let me = name_of(p);
    let mut mine: Vec<&Approval> = approvals
        .iter()
        .copied()
        .filter(|a| a.metadata.namespace == p.metadata.namespace && a.spec.promotion_ref.name == me)
        .collect();
    mine.sort_by_key(|a| a.metadata.name.clone());
    if mine.is_empty() {
        return deny(
            APPROVAL,
            format!(
                "Lane {to} requires an Approval naming this Promotion and none does yet: create an Approval with \
                 spec.promotionRef.name {me}"
            ),
        );
    }
    let who: Vec<String> = mine
        .iter()
        .map(|a| {
            format!(
                "{} (Approval {})",
                a.spec.approver,
                a.metadata.name.as_deref().unwrap_or_default()
            )
        })
        .collect();
    allow(APPROVAL, format!("approved by {}", who.join(", ")))
}

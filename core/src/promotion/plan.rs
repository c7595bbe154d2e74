//! A Promotion's status from its destination and source lanes, the destination's records, the
//! namespace's other Promotions, BackupGates, Approvals and Artifacts: the queue, the gates,
//! and how the destination's deploy of it ended. Pure; the shells gather the inputs.

use super::feed::feed;
use super::gates::{self, BackupGateInputs};
use super::verified::verified;
use super::{is_rollback, name_of, phase};
use crate::Outcome;
use crate::artifact;
use crate::deployment_record as record;
use crate::ready::{self, Ready};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use launchplane_api::conditions::{Progress, find, types};
use launchplane_api::identity::release_tuple_id;
use launchplane_api::resources::{
    Approval, Artifact, BackupGate, DeploymentPhase, DeploymentRecord, GateOutcome, GateResult, Lane,
    Promotion, PromotionPhase, PromotionStatus, ReleaseTuple,
};
use launchplane_api::verdict::Verdict;

/// The name of the check that the Artifact exists and may be deployed.
pub const ARTIFACT: &str = "Artifact";

/// Everything [`plan`] looks at.
pub struct PromotionInputs<'a> {
    pub promotion: &'a Promotion,
    /// The Lanes of the Promotion's namespace.
    pub lanes: &'a [&'a Lane],
    /// The Promotions of the namespace (this one among them).
    pub promotions: &'a [&'a Promotion],
    /// The destination lane's DeploymentRecords, with status.
    pub records: &'a [DeploymentRecord],
    /// The BackupGates of the namespace.
    pub backup_gates: &'a [&'a BackupGate],
    /// The Approvals of the namespace.
    pub approvals: &'a [&'a Approval],
    /// The Artifacts of the namespace.
    pub artifacts: &'a [&'a Artifact],
    /// The DataBootstraps of the namespace (a BackupGate one took authorizes no Promotion).
    pub bootstraps: &'a [&'a launchplane_api::resources::DataBootstrap],
}

/// What [`plan`] decided.
#[derive(Clone, Debug, PartialEq)]
pub struct PromotionPlan {
    pub outcome: Outcome<PromotionStatus>,
    /// The gates whose answer changed since the status before: news for Events.
    pub news: Vec<GateResult>,
    /// When a deferred gate is to be asked again.
    pub retry_at: Option<Timestamp>,
}

/// The Artifact the Promotion moves: fixed once it deploys; else the one it names; else what
/// its source lane runs.
pub fn resolved_artifact(p: &Promotion, from: Option<&Lane>) -> Option<String> {
    let fixed = p.status.as_ref().and_then(|s| s.artifact.clone());
    if (phase(p) == PromotionPhase::Deploying || phase(p).is_final())
        && let Some(a) = fixed
    {
        return Some(a);
    }
    p.spec.artifact_ref.as_ref().map(|r| r.name.clone()).or_else(|| {
        from.and_then(|l| l.status.as_ref())
            .and_then(|s| s.inventory.as_ref())
            .map(|i| i.artifact.clone())
    })
}

fn lane<'a>(lanes: &[&'a Lane], name: &str) -> Option<&'a Lane> {
    lanes
        .iter()
        .copied()
        .find(|l| l.metadata.name.as_deref() == Some(name))
}

/// Where the Promotion ends up, before it becomes a status.
struct Decision {
    phase: PromotionPhase,
    artifact: Option<String>,
    gates: Vec<GateResult>,
    waiting_on: Option<String>,
    backup_gate: Option<String>,
    deployment_record: Option<String>,
    release_tuple: Option<ReleaseTuple>,
    start_time: Option<Time>,
    completion_time: Option<Time>,
    progress: Progress,
    message: String,
    retry_at: Option<Timestamp>,
}

impl Decision {
    /// A decision that keeps what the status already fixed (artifact, gates, times).
    fn from_old(old: &PromotionStatus, phase: PromotionPhase, progress: Progress, message: String) -> Self {
        Decision {
            phase,
            artifact: old.artifact.clone(),
            gates: old.gates.clone(),
            waiting_on: None,
            backup_gate: old.backup_gate.clone(),
            deployment_record: old.deployment_record.clone(),
            release_tuple: None,
            start_time: old.start_time.clone(),
            completion_time: None,
            progress,
            message,
            retry_at: None,
        }
    }
}

/// The Promotion's status now.
pub fn plan(input: &PromotionInputs<'_>, now: Timestamp) -> PromotionPlan {
    let p = input.promotion;
    let old = p.status.clone().unwrap_or_default();
    let current = phase(p);
    if current.is_final() && p.status.is_some() {
        // A finished Promotion is history: its status stays as it was written.
        return PromotionPlan {
            outcome: Outcome {
                status: old,
                transitions: Vec::new(),
            },
            news: Vec::new(),
            retry_at: None,
        };
    }
    let to = lane(input.lanes, &p.spec.to_lane);
    let from = p.spec.from_lane.as_deref().and_then(|f| lane(input.lanes, f));
    let artifact = resolved_artifact(p, from);
    let mut decision = if current == PromotionPhase::Deploying {
        deploying(input, &old, to, artifact)
    } else if let Some(ahead) = ahead_of(p, input.promotions) {
        let mut d = Decision::from_old(
            &old,
            PromotionPhase::Pending,
            Progress::Reconciling {
                reason: "Queued".into(),
                message: format!(
                    "behind Promotion {ahead}: one Promotion deploys into Lane {} at a time, in creation order",
                    p.spec.to_lane
                ),
            },
            format!("waiting behind Promotion {ahead}"),
        );
        d.artifact = artifact;
        d.gates = Vec::new();
        d.waiting_on = Some(format!("behind {ahead}"));
        d
    } else {
        evaluate(input, &old, to, from, artifact, now)
    };
    if decision.phase == PromotionPhase::Succeeded {
        decision.release_tuple = release_tuple(input, &decision, to.map(|l| l.spec.stage.as_str()));
    }
    finish(p, &old, decision, now)
}

/// The Promotion ahead of `p` for its destination: one Deploying, else the earliest created
/// that has not finished (`None`: `p` is first).
fn ahead_of(p: &Promotion, promotions: &[&Promotion]) -> Option<String> {
    let me = name_of(p);
    let waiting: Vec<&Promotion> = promotions
        .iter()
        .copied()
        .filter(|o| o.metadata.namespace == p.metadata.namespace && o.spec.to_lane == p.spec.to_lane)
        .filter(|o| !phase(o).is_final())
        .collect();
    let first = waiting
        .iter()
        .find(|o| phase(o) == PromotionPhase::Deploying)
        .or_else(|| {
            waiting
                .iter()
                .min_by_key(|o| (o.metadata.creation_timestamp.as_ref().map(|t| t.0), name_of(o)))
        })?;
    let first = name_of(first);
    (first != me).then_some(first)
}

/// Before it deploys: succeed at once when the destination already verifies the artifact,
/// else ask every gate.
fn evaluate(
    input: &PromotionInputs<'_>,
    old: &PromotionStatus,
    to: Option<&Lane>,
    from: Option<&Lane>,
    artifact: Option<String>,
    now: Timestamp,
) -> Decision {
    let p = input.promotion;
    let route = gates::route(p, to, from);
    let (Some(to), GateOutcome::Allow) = (to, route.outcome) else {
        return decide(old, artifact, vec![route], None, now);
    };
    let to_name = p.spec.to_lane.as_str();
    if let (Some(a), Ok(v)) = (artifact.as_deref(), verified(to))
        && v.artifact == a
    {
        let message = format!("Lane {to_name} already runs {a} and its app echoes it: nothing deployed");
        let mut d = Decision::from_old(old, PromotionPhase::Succeeded, Progress::Settled, message);
        d.artifact = Some(a.to_string());
        d.gates = Vec::new();
        d.deployment_record = v.record.filter(|r| named_by(input.records, r, &name_of(p)));
        return d;
    }
    let rules = to.spec.promotion.clone().unwrap_or_default();
    let mut answers = vec![route];
    if let Some(a) = artifact.as_deref() {
        answers.push(artifact_gate(a, input.artifacts));
    }
    answers.push(gates::hold(p, to_name, feed(to, input.promotions).hold.as_ref()));
    if is_rollback(p) {
        let a = artifact.as_deref().unwrap_or_default();
        answers.push(gates::rollback_target(a, to, input.records));
    } else {
        let from_name = p.spec.from_lane.as_deref().unwrap_or_default();
        let named = p.spec.artifact_ref.as_ref().map(|r| r.name.as_str());
        answers.push(gates::source_verified(named, from_name, from));
        if let Some(soak) = rules.soak.as_deref() {
            answers.push(gates::soak(soak, artifact.as_deref(), from, now));
        }
    }
    let mut chosen = None;
    if rules.require_backup_gate {
        let answer = gates::backup_gate(&BackupGateInputs {
            promotion: p,
            to,
            records: input.records,
            gates: input.backup_gates,
            promotions: input.promotions,
            bootstraps: input.bootstraps,
            max_age: rules.backup_max_age.as_deref(),
            now,
        });
        chosen = answer.chosen;
        answers.push(answer.result);
    }
    if let Some(w) = rules.window.as_ref() {
        answers.push(gates::window(w, now));
    }
    if rules.require_approval {
        answers.push(gates::approval(p, to_name, input.approvals));
    }
    decide(old, artifact, answers, chosen, now)
}

/// The Artifact exists and pins an image by digest and an exact commit (else the destination
/// could only refuse to deploy it).
fn artifact_gate(name: &str, artifacts: &[&Artifact]) -> GateResult {
    match artifacts
        .iter()
        .find(|a| a.metadata.name.as_deref() == Some(name))
    {
        None => gates::deny(ARTIFACT, format!("Artifact {name} not found in this namespace")),
        Some(a) => match artifact::check(&a.spec) {
            Ok(()) => gates::allow(
                ARTIFACT,
                format!("Artifact {name} pins {}", a.spec.image_reference()),
            ),
            Err(problem) => gates::deny(ARTIFACT, format!("Artifact {name} cannot be deployed: {problem}")),
        },
    }
}

/// The phase the gates' answers make: Blocked on any Deny, Pending on any Defer, else
/// Deploying.
fn decide(
    old: &PromotionStatus,
    artifact: Option<String>,
    answers: Vec<GateResult>,
    chosen: Option<String>,
    now: Timestamp,
) -> Decision {
    let first_not_allowed = answers.iter().find(|g| g.outcome != GateOutcome::Allow);
    let denied = answers.iter().find(|g| g.outcome == GateOutcome::Deny);
    let deferred = answers.iter().find(|g| g.outcome == GateOutcome::Defer);
    let retry_at = answers
        .iter()
        .filter(|g| g.outcome == GateOutcome::Defer)
        .filter_map(|g| g.retry_at.as_ref().map(|t| t.0))
        .min();
    let (phase, progress, message) = match (denied, deferred) {
        (Some(g), _) => (
            PromotionPhase::Blocked,
            Progress::Stalled {
                reason: g.name.clone(),
                message: g.message.clone(),
            },
            format!("{} denied it: {}", g.name, g.message),
        ),
        (None, Some(g)) => (
            PromotionPhase::Pending,
            Progress::Reconciling {
                reason: g.name.clone(),
                message: g.message.clone(),
            },
            format!("{} deferred it: {}", g.name, g.message),
        ),
        (None, None) => {
            let a = artifact.clone().unwrap_or_default();
            (
                PromotionPhase::Deploying,
                Progress::Reconciling {
                    reason: "Deploying".into(),
                    message: format!("every gate allowed it: the destination lane deploys {a}"),
                },
                format!("every gate allowed it: the destination lane deploys {a}"),
            )
        }
    };
    let deploying = phase == PromotionPhase::Deploying;
    Decision {
        phase,
        artifact,
        waiting_on: first_not_allowed.map(|g| g.name.clone()),
        gates: answers,
        backup_gate: if deploying { chosen } else { None },
        deployment_record: old.deployment_record.clone(),
        release_tuple: None,
        start_time: if deploying { Some(Time(now)) } else { None },
        completion_time: None,
        progress,
        message,
        retry_at,
    }
}

/// Whether the record `name` among `records` names the Promotion `promotion`.
fn named_by(records: &[DeploymentRecord], name: &str, promotion: &str) -> bool {
    records.iter().any(|r| {
        r.metadata.name.as_deref() == Some(name)
            && r.spec.promotion_ref.as_ref().is_some_and(|p| p.name == promotion)
    })
}

/// Why a record failed, as its status tells.
fn failure(r: &DeploymentRecord) -> String {
    let name = r.metadata.name.as_deref().unwrap_or_default();
    let why = r
        .status
        .as_ref()
        .and_then(|s| find(&s.conditions, types::READY))
        .map(|c| c.message.clone())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "no reason recorded".into());
    format!("DeploymentRecord {name} Failed: {why}")
}

/// While the destination deploys it: follow the record that names the Promotion.
fn deploying(
    input: &PromotionInputs<'_>,
    old: &PromotionStatus,
    to: Option<&Lane>,
    artifact: Option<String>,
) -> Decision {
    let p = input.promotion;
    let me = name_of(p);
    let to_name = &p.spec.to_lane;
    let a = artifact.clone().unwrap_or_default();
    let reconciling = |message: String| {
        Decision::from_old(
            old,
            PromotionPhase::Deploying,
            Progress::Reconciling {
                reason: "Deploying".into(),
                message: message.clone(),
            },
            message,
        )
    };
    let Some(to) = to else {
        let message = format!("Lane {to_name} is gone: nothing deploys {a} any more");
        return Decision::from_old(
            old,
            PromotionPhase::Failed,
            Progress::Stalled {
                reason: "DestinationGone".into(),
                message: message.clone(),
            },
            message,
        );
    };
    let newest = input
        .records
        .iter()
        .filter(|r| r.spec.promotion_ref.as_ref().is_some_and(|n| n.name == me))
        .max_by_key(|r| {
            (
                record::attempt(r).unwrap_or(0),
                record::finished_at(r),
                r.metadata.name.clone(),
            )
        });
    let Some(r) = newest else {
        return match verified(to) {
            Ok(v) if v.artifact == a => Decision::from_old(
                old,
                PromotionPhase::Succeeded,
                Progress::Settled,
                format!("Lane {to_name} already runs {a} and its app echoes it: nothing deployed"),
            ),
            _ => reconciling(format!(
                "Lane {to_name} is to deploy {a}: waiting for its DeploymentRecord naming this Promotion"
            )),
        };
    };
    let name = r.metadata.name.clone().unwrap_or_default();
    match record::phase(r) {
        DeploymentPhase::Succeeded => {
            let echoed = r
                .status
                .as_ref()
                .and_then(|s| s.identity.as_ref())
                .filter(|i| i.verdict == Some(Verdict::Matched))
                .and_then(|i| i.observed.as_ref())
                .and_then(|o| o.artifact_id.as_deref())
                == Some(a.as_str());
            let lane_echoes = verified(to).is_ok_and(|v| v.artifact == a);
            if echoed || lane_echoes {
                let mut d = Decision::from_old(
                    old,
                    PromotionPhase::Succeeded,
                    Progress::Settled,
                    format!(
                        "Lane {to_name} runs {a} and its runtime identity echoes it (DeploymentRecord {name})"
                    ),
                );
                d.deployment_record = Some(name);
                d
            } else {
                let mut d = reconciling(format!(
                    "DeploymentRecord {name} Succeeded; waiting for Lane {to_name}'s runtime identity to echo {a}"
                ));
                d.deployment_record = Some(name);
                d
            }
        }
        DeploymentPhase::Failed => {
            let message = format!("{}; Lane {to_name} keeps what it ran before", failure(r));
            let mut d = Decision::from_old(
                old,
                PromotionPhase::Failed,
                Progress::Stalled {
                    reason: "DeployFailed".into(),
                    message: message.clone(),
                },
                message,
            );
            d.deployment_record = Some(name);
            d
        }
        phase => {
            let mut d = reconciling(format!(
                "Lane {to_name} is deploying {a}: DeploymentRecord {name} is {phase:?}"
            ));
            d.deployment_record = Some(name);
            d
        }
    }
}

/// What a Succeeded Promotion released: from the Artifact manifest, else the record's
/// expected identity.
fn release_tuple(input: &PromotionInputs<'_>, d: &Decision, stage: Option<&str>) -> Option<ReleaseTuple> {
    let p = input.promotion;
    let artifact = d.artifact.clone()?;
    let product = p.spec.product_ref.name.clone();
    let manifest = input
        .artifacts
        .iter()
        .find(|a| a.metadata.name.as_deref() == Some(artifact.as_str()));
    let record = d.deployment_record.as_deref().and_then(|n| {
        input
            .records
            .iter()
            .find(|r| r.metadata.name.as_deref() == Some(n))
    });
    let expected = record.map(|r| &r.spec.expected_identity);
    let image = manifest
        .map(|m| m.spec.image_reference())
        .or_else(|| expected.and_then(|e| e.image_reference.clone()))
        .unwrap_or_default();
    let source_commit = manifest
        .map(|m| m.spec.source.commit.clone())
        .or_else(|| expected.and_then(|e| e.source_git_ref.clone()))
        .unwrap_or_default();
    Some(ReleaseTuple {
        id: release_tuple_id(&product, stage.unwrap_or_default(), &artifact),
        product,
        lane: p.spec.to_lane.clone(),
        artifact,
        image,
        source_commit,
        source_repos: manifest
            .map(|m| {
                m.spec
                    .source_repos
                    .iter()
                    .map(|s| format!("{}@{}", s.repository, s.commit))
                    .collect()
            })
            .unwrap_or_default(),
        deployment_record: d.deployment_record.clone(),
        promotion: name_of(p),
        backup_gate: d.backup_gate.clone(),
    })
}

/// The status a decision makes, and the gates whose answer changed.
fn finish(p: &Promotion, old: &PromotionStatus, mut d: Decision, now: Timestamp) -> PromotionPlan {
    let finished = d.phase.is_final();
    if finished {
        d.completion_time = Some(Time(now));
        d.waiting_on = None;
        d.progress = match d.progress {
            Progress::Reconciling { .. } => Progress::Settled,
            other => other,
        };
    }
    let verdict = match d.phase {
        PromotionPhase::Succeeded => Verdict::Matched,
        PromotionPhase::Failed | PromotionPhase::Blocked => Verdict::Mismatch,
        PromotionPhase::Pending | PromotionPhase::Deploying => Verdict::Unchecked,
    };
    let (conditions, transitions) = ready::conditions(
        &old.conditions,
        Ready {
            ready: d.phase == PromotionPhase::Succeeded,
            unknown: matches!(d.phase, PromotionPhase::Pending | PromotionPhase::Deploying),
            reason: format!("{:?}", d.phase),
            message: d.message.clone(),
        },
        &d.progress,
        p.metadata.generation,
        now,
    );
    let news = d
        .gates
        .iter()
        .filter(|g| {
            old.gates
                .iter()
                .find(|o| o.name == g.name)
                .is_none_or(|o| o.outcome != g.outcome)
        })
        .cloned()
        .collect();
    PromotionPlan {
        outcome: Outcome {
            status: PromotionStatus {
                observed_generation: p.metadata.generation,
                verdict: Some(verdict),
                conditions,
                phase: Some(d.phase),
                artifact: d.artifact.clone(),
                gates: d.gates.clone(),
                waiting_on: d.waiting_on.clone(),
                backup_gate: d.backup_gate.clone(),
                deployment_record: d.deployment_record.clone(),
                release_tuple: d.release_tuple.clone(),
                start_time: d.start_time.clone(),
                completion_time: d.completion_time.clone(),
            },
            transitions,
        },
        news,
        retry_at: d.retry_at,
    }
}

//! Conditions of a kind whose one aspect is reported through `Ready` itself (a Promotion's
//! phase, a BackupGate's result, an Approval's Promotion): the kstatus conditions from
//! [`conditions::compute`], with `Ready` set as the kind says.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use launchplane_api::conditions::{self, Progress, Transition, status, types};

/// What `Ready` says.
pub struct Ready {
    pub ready: bool,
    /// `False` or `Unknown` when not ready (`Unknown`: not decided yet).
    pub unknown: bool,
    pub reason: String,
    pub message: String,
}

/// `Ready`, `Reconciling` and `Stalled`, keeping each transition time unless its status flips.
pub fn conditions(
    old: &[Condition],
    ready: Ready,
    progress: &Progress,
    generation: Option<i64>,
    now: Timestamp,
) -> (Vec<Condition>, Vec<Transition>) {
    let computed = conditions::compute(old, &[], progress, generation, now);
    let mut list = computed.conditions;
    let mut transitions: Vec<Transition> = computed
        .transitions
        .into_iter()
        .filter(|t| t.type_ != types::READY)
        .collect();
    let wanted = if ready.ready {
        status::TRUE
    } else if ready.unknown {
        status::UNKNOWN
    } else {
        status::FALSE
    };
    if let Some(c) = list.iter_mut().find(|c| c.type_ == types::READY) {
        let was = conditions::find(old, types::READY);
        c.last_transition_time = match was {
            Some(w) if w.status == wanted => w.last_transition_time.clone(),
            _ => Time(now),
        };
        if was.is_none_or(|w| w.status != wanted || w.reason != ready.reason) {
            transitions.push(Transition {
                type_: types::READY.into(),
                from: was.map(|w| w.status.clone()),
                to: wanted.into(),
                reason: ready.reason.clone(),
                message: ready.message.clone(),
            });
        }
        c.status = wanted.into();
        c.reason = ready.reason;
        c.message = ready.message;
    }
    (list, transitions)
}

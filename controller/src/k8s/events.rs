//! Kubernetes Events, published on verdict transitions only: a verdict that holds is news
//! once, not on every reconcile.

use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder};
use launchplane_api::Verdict;

/// The Event for a verdict change, if the verdict changed.
pub fn verdict_event(previous: Option<Verdict>, current: Verdict, message: &str) -> Option<Event> {
    if previous == Some(current) {
        return None;
    }
    // The first verdict of a new object is only news when it is bad.
    if previous.is_none() && matches!(current, Verdict::Matched | Verdict::Unchecked) {
        return None;
    }
    let type_ = if current.is_matched() {
        EventType::Normal
    } else {
        EventType::Warning
    };
    let note: String = message.chars().take(1000).collect();
    Some(Event {
        type_,
        reason: current.as_str().to_string(),
        note: Some(match previous {
            Some(p) => format!("verdict {p} -> {current}: {note}"),
            None => format!("verdict {current}: {note}"),
        }),
        action: "Verify".to_string(),
        secondary: None,
    })
}

/// Publish the transition Event, if any. A failure to publish is logged, never fatal: the
/// status already carries the verdict.
pub async fn publish_transition<K>(
    recorder: &Recorder,
    obj: &K,
    previous: Option<Verdict>,
    current: Verdict,
    message: &str,
) where
    K: Resource<DynamicType = ()>,
{
    if let Some(event) = verdict_event(previous, current, message)
        && let Err(error) = recorder.publish(&event, &obj.object_ref(&())).await
    {
        tracing::warn!(%error, "could not publish the verdict Event");
    }
}

/// Publish an Event that is news of its own (a promotion gate's new answer). A failure to
/// publish is logged, never fatal: the status already says it.
pub async fn publish_note<K>(recorder: &Recorder, obj: &K, reason: &str, message: &str, warning: bool)
where
    K: Resource<DynamicType = ()>,
{
    let event = Event {
        type_: if warning {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: reason.to_string(),
        note: Some(message.chars().take(1000).collect()),
        action: "Evaluate".to_string(),
        secondary: None,
    };
    if let Err(error) = recorder.publish(&event, &obj.object_ref(&())).await {
        tracing::warn!(%error, "could not publish the Event");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn events_only_on_transitions() {
        assert!(verdict_event(Some(Verdict::Matched), Verdict::Matched, "m").is_none());
        assert!(verdict_event(None, Verdict::Matched, "m").is_none());
        assert!(verdict_event(None, Verdict::Unchecked, "m").is_none());
        let e = verdict_event(None, Verdict::Missing, "no such target").unwrap();
        assert_eq!(e.type_, EventType::Warning);
        assert_eq!(e.reason, "Missing");
        let e = verdict_event(Some(Verdict::Mismatch), Verdict::Matched, "ok").unwrap();
        assert_eq!(e.type_, EventType::Normal);
        assert_eq!(e.note.as_deref(), Some("verdict Mismatch -> Matched: ok"));
    }

    #[test]
    fn notes_are_bounded() {
        let long = "x".repeat(5000);
        let e = verdict_event(Some(Verdict::Matched), Verdict::Mismatch, &long).unwrap();
        assert!(e.note.unwrap().len() < 1100);
    }
}

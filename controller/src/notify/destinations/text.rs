//! The words every destination uses for a notice: what happened, to what, how bad. Kept in one
//! place so a GitHub issue, an email and a Discord message say the same thing.

use crate::notify::destination::{Notice, NoticeKind};
use launchplane_api::resources::IncidentTransitionType;

/// What the notice announces, in a few words (`opened`, `reminder 2`, `resolved`).
pub fn what(notice: &Notice) -> String {
    match notice.kind {
        NoticeKind::Transition(IncidentTransitionType::Opened) => "opened".into(),
        NoticeKind::Transition(IncidentTransitionType::Reopened) => "reopened".into(),
        NoticeKind::Transition(IncidentTransitionType::VerdictChanged) => {
            format!("verdict now {}", notice.verdict.as_str())
        }
        NoticeKind::Transition(IncidentTransitionType::Resolved) => "resolved".into(),
        NoticeKind::Repeat(n) => format!("still open (reminder {n})"),
    }
}

/// `shop/production check public`: the incident's subject, as every destination names it.
pub fn subject(notice: &Notice) -> String {
    let i = &notice.incident;
    format!("{}/{} check {}", i.product, i.lane, i.check)
}

/// The evidence cut to at most `max` characters (whole characters; an ellipsis marks the cut),
/// so a long condition message fits a destination's field limits.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_keeps_whole_characters_and_marks_the_cut() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcdé", 4), "abc…");
        assert_eq!(clip("ééééé", 3).chars().count(), 3);
    }
}

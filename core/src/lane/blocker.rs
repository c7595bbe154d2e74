//! Blockers: the reasons a lane must not mutate anything now, in the order they were found
//! (resolving its references, judging its claim on the target).

/// One reason the lane must not mutate anything now.
pub(super) struct Blocker {
    pub reason: &'static str,
    pub message: String,
    /// Needs a change by the user (kstatus Stalled), rather than time.
    pub stalls: bool,
}

pub(super) fn blocker(reason: &'static str, message: String, stalls: bool) -> Blocker {
    Blocker {
        reason,
        message,
        stalls,
    }
}

/// The blockers, in the order they were found: the first one that stalls names the lane's
/// Stalled reason.
#[derive(Default)]
pub(super) struct Blockers(Vec<Blocker>);

impl Blockers {
    /// Whether anything holds the lane back.
    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }

    /// Every blocker's message, for the `not deploying: …` notes of the aspects.
    pub fn message(&self) -> String {
        self.0
            .iter()
            .map(|b| b.message.clone())
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The first blocker that needs a change by the user.
    pub fn stall(&self) -> Option<&Blocker> {
        self.0.iter().find(|b| b.stalls)
    }
}

impl Extend<Blocker> for Blockers {
    fn extend<I: IntoIterator<Item = Blocker>>(&mut self, found: I) {
        self.0.extend(found);
    }
}

//! Replays refused by `X-GitHub-Delivery`: the ids of the last deliveries taken, in bounded
//! memory (the oldest id is forgotten first). A delivery whose handling failed is forgotten
//! again, so GitHub's redelivery of it is taken.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

/// The most delivery ids remembered by default.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// The longest delivery id taken (GitHub's are UUIDs).
pub const MAX_ID_LEN: usize = 128;

/// The ids of the last deliveries taken.
pub struct DeliveryLog {
    capacity: usize,
    seen: Mutex<(HashSet<String>, VecDeque<String>)>,
}

impl DeliveryLog {
    pub fn new(capacity: usize) -> Self {
        DeliveryLog {
            capacity: capacity.max(1),
            seen: Mutex::default(),
        }
    }

    /// Take `id`: true the first time, false for a replay of a remembered one.
    pub fn take(&self, id: &str) -> bool {
        let mut guard = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let (set, order) = &mut *guard;
        if set.contains(id) {
            return false;
        }
        if order.len() >= self.capacity
            && let Some(oldest) = order.pop_front()
        {
            set.remove(&oldest);
        }
        set.insert(id.to_string());
        order.push_back(id.to_string());
        true
    }

    /// Forget `id` (its handling failed; a redelivery may try again).
    pub fn forget(&self, id: &str) {
        let mut guard = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let (set, order) = &mut *guard;
        if set.remove(id) {
            order.retain(|o| o != id);
        }
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).1.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_is_refused_and_memory_stays_bounded() {
        let log = DeliveryLog::new(3);
        assert!(log.take("a"));
        assert!(!log.take("a"), "replay");
        assert!(log.take("b") && log.take("c") && log.take("d"));
        assert_eq!(log.len(), 3, "bounded");
        assert!(log.take("a"), "the oldest was forgotten first");
        assert!(!log.take("d"));
        log.forget("d");
        assert!(log.take("d"), "a failed delivery may be redelivered");
    }
}

//! A small in-process cache for configuration that nearly every casework page reads and almost
//! nothing writes: the casework services with their settings, the life domains and the waiting
//! list's weights.
//!
//! Reading them costs several queries per page, and with SQLite each query is a round trip to the
//! connection's thread; the casework load benchmark found those round trips to be most of a page's
//! cost. The outcome-measure schedules are cached the same way. Writes through this
//! [`Store`](crate::Store) clear the cache at once. Another process
//! sharing a PostgreSQL database (several `careweave serve` instances) cannot clear it, so every
//! entry also expires after [`FRESH_FOR`]; a settings change made elsewhere shows here within that
//! time. Personal data is never cached.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use careweave_domain::casework::Prioritisation;

use crate::casework::CaseworkService;

/// How long a cached value is trusted without asking the database again.
pub const FRESH_FOR: Duration = Duration::from_secs(30);

/// One cached value and when it was read.
#[derive(Debug)]
pub(crate) struct Cached<T> {
    slot: RwLock<Option<(Instant, T)>>,
}

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Self {
            slot: RwLock::new(None),
        }
    }
}

impl<T: Clone> Cached<T> {
    /// The value, if one was read less than [`FRESH_FOR`] ago.
    pub(crate) fn get(&self) -> Option<T> {
        // A panic while holding the lock cannot leave a half-written value (the slot is replaced
        // whole), so a poisoned lock is still safe to read.
        let slot = self.slot.read().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref()
            .filter(|(read_at, _)| read_at.elapsed() < FRESH_FOR)
            .map(|(_, value)| value.clone())
    }

    pub(crate) fn put(&self, value: T) {
        *self.slot.write().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), value));
    }

    pub(crate) fn clear(&self) {
        *self.slot.write().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// Casework's configuration, shared by every clone of a [`Store`](crate::Store).
#[derive(Debug, Default)]
pub(crate) struct SettingsCache {
    pub(crate) services: Cached<Arc<[CaseworkService]>>,
    pub(crate) life_domains: Cached<Arc<[(String, String)]>>,
    pub(crate) prioritisation: Cached<Prioritisation>,
    pub(crate) outcome_schedules: Cached<Arc<[crate::outcomes::OutcomeSchedule]>>,
}

impl SettingsCache {
    /// Forgets everything, after a write to any of the settings.
    pub(crate) fn clear(&self) {
        self.services.clear();
        self.life_domains.clear();
        self.prioritisation.clear();
        self.outcome_schedules.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_kept_until_cleared() {
        let cached = Cached::default();
        assert_eq!(cached.get(), None::<u32>);
        cached.put(7);
        assert_eq!(cached.get(), Some(7));
        cached.clear();
        assert_eq!(cached.get(), None);
    }

    #[test]
    fn a_stale_value_is_not_returned() {
        let cached = Cached::default();
        *cached.slot.write().expect("an unpoisoned lock") =
            Some((Instant::now() - FRESH_FOR - Duration::from_secs(1), 7_u32));
        assert_eq!(cached.get(), None);
    }
}

//! Attempt counts that hold per installation (`plenum_domain::limits`): failures at
//! something guessed, and requests in a fixed window. Every count is one atomic change, so
//! attempts made at once on several nodes are all counted. The rules (when a lock ends, when
//! a window is over) are the domain's; a backend only keeps and updates the counts.
//!
//! [`MemoryLimits`] keeps them in the process: what a backend with one node can use (SQLite).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use plenum_domain::Timestamp;
use plenum_domain::limits::{AttemptKey, Failures, RateWindow, WindowCount};

use crate::StoreResult;

#[async_trait::async_trait]
pub trait Limits {
    /// The failures of `key` still remembered at `now` (`Failures::forgotten`).
    async fn failures(&self, key: &AttemptKey, now: Timestamp) -> StoreResult<Option<Failures>>;

    /// Counts one more failure of `key` at `now` (`Failures::after_failure`); the count after
    /// it.
    async fn record_failure(&self, key: &AttemptKey, now: Timestamp) -> StoreResult<Failures>;

    /// A success: `key`'s failures start over.
    async fn forget_failures(&self, key: &AttemptKey) -> StoreResult<()>;

    /// Counts one request of `key` at `now` in its window (`RateWindow::after_request`); the
    /// count after it, which `window.verdict` judges.
    async fn count_request(
        &self,
        key: &AttemptKey,
        window: RateWindow,
        now: Timestamp,
    ) -> StoreResult<WindowCount>;

    /// Deletes the counts that mean nothing any more at `now` (forgotten failures, ended
    /// windows); how many went.
    async fn expire_attempts(&self, now: Timestamp) -> StoreResult<u64>;
}

/// A count as kept in memory, with when it stops meaning anything.
#[derive(Debug, Clone, Copy)]
enum Count {
    Failures(Failures),
    Window(WindowCount),
}

impl Count {
    fn expires_at(&self) -> Timestamp {
        match self {
            Self::Failures(f) => f.forgotten_at(),
            Self::Window(w) => w.ends_at,
        }
    }
}

/// Counts in the process. Bounded: when full, expired counts are dropped first, then all (a
/// guesser then has its free attempts again, at most once per `MAX_KEYS` keys it fills). A
/// restart forgets them too.
#[derive(Debug, Default)]
pub struct MemoryLimits(Mutex<HashMap<AttemptKey, Count>>);

impl MemoryLimits {
    const MAX_KEYS: usize = 100_000;

    fn lock(&self) -> MutexGuard<'_, HashMap<AttemptKey, Count>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Replaces `key`'s count with what `next` makes of it (and answers what `next` says),
    /// making room first if needed.
    fn update<T>(
        &self,
        key: &AttemptKey,
        now: Timestamp,
        next: impl FnOnce(Option<Count>) -> (Count, T),
    ) -> T {
        let mut counts = self.lock();
        if counts.len() >= Self::MAX_KEYS && !counts.contains_key(key) {
            counts.retain(|_, c| c.expires_at() > now);
            if counts.len() >= Self::MAX_KEYS {
                counts.clear();
            }
        }
        let (after, answer) = next(counts.get(key).copied());
        counts.insert(key.clone(), after);
        answer
    }
}

#[async_trait::async_trait]
impl Limits for MemoryLimits {
    async fn failures(&self, key: &AttemptKey, now: Timestamp) -> StoreResult<Option<Failures>> {
        Ok(match self.lock().get(key) {
            Some(Count::Failures(f)) if !f.forgotten(now) => Some(*f),
            _ => None,
        })
    }

    async fn record_failure(&self, key: &AttemptKey, now: Timestamp) -> StoreResult<Failures> {
        Ok(self.update(key, now, |before| {
            let before = match before {
                Some(Count::Failures(f)) => Some(f),
                _ => None,
            };
            let after = Failures::after_failure(before, now);
            (Count::Failures(after), after)
        }))
    }

    async fn forget_failures(&self, key: &AttemptKey) -> StoreResult<()> {
        self.lock().remove(key);
        Ok(())
    }

    async fn count_request(
        &self,
        key: &AttemptKey,
        window: RateWindow,
        now: Timestamp,
    ) -> StoreResult<WindowCount> {
        Ok(self.update(key, now, |before| {
            let before = match before {
                Some(Count::Window(w)) => Some(w),
                _ => None,
            };
            let after = window.after_request(before, now);
            (Count::Window(after), after)
        }))
    }

    async fn expire_attempts(&self, now: Timestamp) -> StoreResult<u64> {
        let mut counts = self.lock();
        let before = counts.len();
        counts.retain(|_, c| c.expires_at() > now);
        Ok((before - counts.len()) as u64)
    }
}

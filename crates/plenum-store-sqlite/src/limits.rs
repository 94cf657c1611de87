//! Attempt counts (`plenum_store::Limits`) kept in the process, not in the file. One server
//! runs on a data directory, so the process sees every attempt; and a Rocket.Chat request
//! or a failed join would otherwise write a transaction, against the journal's write lock,
//! for a count that is worth little after a restart (a guesser has its free attempts again
//! once; the policy's locks then slow it as before).

use plenum_domain::Timestamp;
use plenum_domain::limits::{AttemptKey, Failures, RateWindow, WindowCount};
use plenum_store::{Limits, StoreResult};

use crate::SqliteStore;

#[async_trait::async_trait]
impl Limits for SqliteStore {
    async fn failures(&self, key: &AttemptKey, now: Timestamp) -> StoreResult<Option<Failures>> {
        self.limits.failures(key, now).await
    }

    async fn record_failure(&self, key: &AttemptKey, now: Timestamp) -> StoreResult<Failures> {
        self.limits.record_failure(key, now).await
    }

    async fn forget_failures(&self, key: &AttemptKey) -> StoreResult<()> {
        self.limits.forget_failures(key).await
    }

    async fn count_request(
        &self,
        key: &AttemptKey,
        window: RateWindow,
        now: Timestamp,
    ) -> StoreResult<WindowCount> {
        self.limits.count_request(key, window, now).await
    }

    async fn expire_attempts(&self, now: Timestamp) -> StoreResult<u64> {
        self.limits.expire_attempts(now).await
    }
}

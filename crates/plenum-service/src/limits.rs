//! Limits that hold per installation (`plenum_domain::limits`), counted in the store so that
//! every node sees every attempt (`plenum_store::Limits`): failed sign-ins of usernames that
//! have no account, wrong meeting passwords and live passcodes by address, and the requests
//! of a vendor API's user in a fixed window (Rocket.Chat). The rules are the domain's; this
//! is where the use cases ask and count.

use plenum_domain::Timestamp;
use plenum_domain::limits::{AttemptKey, Failures, RateWindow};

use crate::context::{Context, Integrations};
use crate::{Accounts, ServiceError};

impl Context {
    /// The failures of `key` remembered at `now`; `Err(until)` while they lock it out (the
    /// sign-in lockout policy, as for an account).
    pub(crate) async fn failed_attempts(
        &self,
        key: &AttemptKey,
        now: Timestamp,
    ) -> Result<Result<Option<Failures>, Timestamp>, ServiceError> {
        let failures = self.store.failures(key, now).await?;
        Ok(match failures {
            Some(f) => f
                .throttle(&self.policy.lockout)
                .check(now)
                .map(|()| Some(f)),
            None => Ok(None),
        })
    }

    /// Counts one more failure of `key`. A store that cannot count it is logged, not
    /// passed on: the attempt failed either way, and the caller answers that.
    pub(crate) async fn count_failed_attempt(&self, key: &AttemptKey) {
        if let Err(e) = self.store.record_failure(key, self.now()).await {
            tracing::warn!(error = %e, key = key.as_str(), "a failed attempt was not counted");
        }
    }

    /// A success after `failed` (what [`Context::failed_attempts`] found): the key starts
    /// over. Nothing to do, and no round trip, if it had no failures.
    pub(crate) async fn forget_failed_attempts(&self, key: &AttemptKey, failed: Option<Failures>) {
        if failed.is_none() {
            return;
        }
        if let Err(e) = self.store.forget_failures(key).await {
            tracing::warn!(error = %e, key = key.as_str(), "failed attempts were not forgotten");
        }
    }
}

impl Integrations<'_> {
    /// Counts one request of `requests` (`Attempts::RocketChatRequests`, say) in its
    /// `window`, on whichever node it arrives: `Ok(remaining)` requests in the window if it
    /// is within the limit, else `Err(ends_at)`, when the window ends. One store round trip.
    pub async fn count_request(
        &self,
        requests: &AttemptKey,
        window: RateWindow,
    ) -> Result<Result<u32, Timestamp>, ServiceError> {
        let counted = self
            .inner
            .store
            .count_request(requests, window, self.inner.now())
            .await?;
        Ok(window.verdict(counted))
    }
}

impl Accounts<'_> {
    /// Deletes attempt counts that mean nothing any more (forgotten failures, ended
    /// windows); the server calls this with its hourly janitor.
    pub async fn purge_expired_attempts(&self) -> Result<u64, ServiceError> {
        Ok(self.inner.store.expire_attempts(self.inner.now()).await?)
    }
}

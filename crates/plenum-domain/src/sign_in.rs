//! Sign-in throttling: the rule that slows down password guessing.
//!
//! Policy (documented in `docs/security.md`): the first [`LockoutPolicy::free_attempts`]
//! consecutive failures of an account cost nothing. Each failure after that locks the account
//! for `base_lock`, doubling with every further failure, capped at `max_lock`. While locked,
//! attempts are refused without checking the credential and are *not* counted, so an attacker
//! cannot extend a lock indefinitely. A successful sign-in clears the record.

use jiff::SignedDuration;

use crate::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub free_attempts: u32,
    pub base_lock: SignedDuration,
    pub max_lock: SignedDuration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            free_attempts: 5,
            base_lock: SignedDuration::from_secs(30),
            max_lock: SignedDuration::from_mins(15),
        }
    }
}

/// The failure record of one account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignInThrottle {
    pub consecutive_failures: u32,
    pub locked_until: Option<Timestamp>,
}

impl SignInThrottle {
    /// `Err(until)` while the account is locked.
    pub fn check(&self, now: Timestamp) -> Result<(), Timestamp> {
        match self.locked_until {
            Some(until) if until > now => Err(until),
            _ => Ok(()),
        }
    }

    /// The record after one more failed attempt at `now`.
    pub fn after_failure(&self, policy: &LockoutPolicy, now: Timestamp) -> Self {
        let failures = self.consecutive_failures.saturating_add(1);
        Self {
            consecutive_failures: failures,
            locked_until: policy.lock_after(failures, now),
        }
    }
}

impl LockoutPolicy {
    /// Until when an account is locked after `failures` consecutive failures, the last at `now`.
    pub fn lock_after(&self, failures: u32, now: Timestamp) -> Option<Timestamp> {
        if failures <= self.free_attempts {
            return None;
        }
        let doublings = (failures - self.free_attempts - 1).min(30);
        let lock = self
            .base_lock
            .checked_mul(1i32 << doublings)
            .unwrap_or(self.max_lock)
            .min(self.max_lock);
        now.checked_add(lock).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).unwrap()
    }

    #[test]
    fn free_attempts_then_doubling_locks() {
        let policy = LockoutPolicy::default();
        let mut t = SignInThrottle::default();
        for _ in 0..5 {
            t = t.after_failure(&policy, at(0));
            assert!(t.check(at(0)).is_ok());
        }
        t = t.after_failure(&policy, at(0));
        assert_eq!(t.check(at(0)), Err(at(30)));
        assert!(t.check(at(30)).is_ok());
        t = t.after_failure(&policy, at(30));
        assert_eq!(t.check(at(30)), Err(at(90)));
        for _ in 0..20 {
            t = t.after_failure(&policy, at(1000));
        }
        assert_eq!(t.check(at(1000)), Err(at(1000 + 15 * 60)));
    }

    proptest! {
        #[test]
        fn lock_never_exceeds_the_cap(failures in 0u32..200, now in 0i64..4_000_000_000) {
            let policy = LockoutPolicy::default();
            let mut t = SignInThrottle::default();
            for _ in 0..failures {
                t = t.after_failure(&policy, at(now));
            }
            if let Err(until) = t.check(at(now)) {
                prop_assert!(until.duration_since(at(now)) <= policy.max_lock);
            }
            prop_assert_eq!(t.check(at(now)).is_err(), failures > policy.free_attempts);
        }
    }
}

/// One issued access token, as the store keeps it (by hash, never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenRecord {
    pub hash: crate::credentials::TokenHash,
    pub user_id: crate::ids::UserId,
    pub company_id: crate::ids::CompanyId,
    /// The FRTC `client_id` the token was issued to, if the client sent one.
    pub client_id: Option<String>,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

impl AccessTokenRecord {
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at <= now
    }
}

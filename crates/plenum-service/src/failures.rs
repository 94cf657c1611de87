//! Failed attempts kept in memory by key, throttled by a [`LockoutPolicy`]: sign-ins of
//! usernames that have no account, and wrong meeting passwords from one address.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

use plenum_domain::Timestamp;
use plenum_domain::sign_in::{LockoutPolicy, SignInThrottle};

/// Bounded: when full, keys no longer locked are forgotten first, then all. A restart forgets
/// them too; what they guard is then guessed at the policy's free rate again, no faster.
#[derive(Debug)]
pub(crate) struct Failures<K>(Mutex<HashMap<K, SignInThrottle>>);

impl<K> Default for Failures<K> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<K: Eq + Hash> Failures<K> {
    const MAX_KEYS: usize = 10_000;

    /// `Err(until)` while `key` is locked.
    pub(crate) fn check(&self, key: &K, now: Timestamp) -> Result<(), Timestamp> {
        self.lock()
            .get(key)
            .map_or(Ok(()), |throttle| throttle.check(now))
    }

    pub(crate) fn record_failure(&self, key: K, policy: &LockoutPolicy, now: Timestamp) {
        let mut keys = self.lock();
        if keys.len() >= Self::MAX_KEYS && !keys.contains_key(&key) {
            keys.retain(|_, t| t.check(now).is_err());
            if keys.len() >= Self::MAX_KEYS {
                keys.clear();
            }
        }
        let after = keys
            .get(&key)
            .copied()
            .unwrap_or_default()
            .after_failure(policy, now);
        keys.insert(key, after);
    }

    /// A success: the key starts over.
    pub(crate) fn forget(&self, key: &K) {
        self.lock().remove(key);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, SignInThrottle>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).expect("a time")
    }

    #[test]
    fn a_key_locks_after_the_free_attempts_and_a_success_starts_it_over() {
        let policy = LockoutPolicy::default();
        let failures = Failures::<&str>::default();
        for _ in 0..policy.free_attempts {
            assert!(failures.check(&"k", at(0)).is_ok());
            failures.record_failure("k", &policy, at(0));
        }
        assert!(failures.check(&"k", at(0)).is_ok());
        failures.record_failure("k", &policy, at(0));
        assert_eq!(failures.check(&"k", at(0)), Err(at(30)));
        assert!(failures.check(&"other", at(0)).is_ok());
        failures.forget(&"k");
        assert!(failures.check(&"k", at(0)).is_ok());
    }
}

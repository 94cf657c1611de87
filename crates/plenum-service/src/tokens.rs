//! The in-memory cache that keeps credential checks off the disk.
//!
//! Every authenticated request needs its credential checked: a user's access token, an
//! integration's API key, a Huawei app token. Looking it up in the store each time would put
//! a database read (and its join) on the hot path of every call, so verified credentials are
//! cached by hash. The cache is kept honest two ways:
//! - changes made through this process (sign-out, password change, role change, a revoked
//!   key) evict the affected entries at once;
//! - an entry older than `revalidate_after` is checked against the store again, which picks up
//!   changes made by another process on the same data (the offline `plenum user
//!   reset-password` or `plenum key revoke`, or another node once a shared database backend
//!   exists) within that bound.
//!
//! Only credentials that were found valid are cached; an unknown one is looked up every time.
//! The companies that credentials speak for are remembered the same way (by id): Rokid reads
//! its company's time zone on every request.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};

use jiff::SignedDuration;
use plenum_domain::Timestamp;
use plenum_domain::credentials::TokenHash;

/// A credential that can end by itself, without any change in the store.
pub(crate) trait Expiring {
    fn is_expired(&self, now: Timestamp) -> bool;
}

#[derive(Debug)]
struct Cached<V> {
    value: Arc<V>,
    checked_at: Timestamp,
}

/// Remembered values by key: credentials by the hash of their secret, companies by id.
#[derive(Debug)]
pub(crate) struct TokenCache<V, K = TokenHash> {
    entries: RwLock<HashMap<K, Cached<V>>>,
    revalidate_after: SignedDuration,
    max_entries: usize,
}

impl<V: Expiring, K: Hash + Eq> TokenCache<V, K> {
    pub(crate) fn new(revalidate_after: SignedDuration, max_entries: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            revalidate_after,
            max_entries: max_entries.max(1),
        }
    }

    /// The cached credential, if it was checked recently enough and has not expired.
    pub(crate) fn get(&self, key: &K, now: Timestamp) -> Option<Arc<V>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let cached = entries.get(key)?;
        let fresh = cached
            .checked_at
            .checked_add(self.revalidate_after)
            .is_ok_and(|deadline| now < deadline);
        (fresh && !cached.value.is_expired(now)).then(|| cached.value.clone())
    }

    pub(crate) fn put(&self, key: K, value: Arc<V>, now: Timestamp) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.max_entries {
            // Bounded memory: drop what has expired; if that is not enough, start over. Both
            // only cost a store read per live credential afterwards.
            entries.retain(|_, c| !c.value.is_expired(now));
            if entries.len() >= self.max_entries {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Cached {
                value,
                checked_at: now,
            },
        );
    }

    pub(crate) fn remove(&self, key: &K) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    /// Evicts every entry `ended` says no longer holds (its user or key changed).
    pub(crate) fn remove_where(&self, ended: impl Fn(&V) -> bool) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, c| !ended(&c.value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Until(i64, u8);

    impl Expiring for Until {
        fn is_expired(&self, now: Timestamp) -> bool {
            now.as_second() >= self.0
        }
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn entries_are_revalidated_expire_and_can_be_evicted() {
        let cache: TokenCache<Until> = TokenCache::new(SignedDuration::from_secs(10), 2);
        let (a, b) = (TokenHash::of("a"), TokenHash::of("b"));
        cache.put(a, Arc::new(Until(100, 1)), t(0));
        cache.put(b, Arc::new(Until(5, 2)), t(0));
        assert!(cache.get(&a, t(9)).is_some());
        assert!(cache.get(&a, t(10)).is_none(), "checked too long ago");
        assert!(cache.get(&b, t(5)).is_none(), "expired");
        cache.remove_where(|v| v.1 == 1);
        assert!(cache.get(&a, t(1)).is_none(), "evicted");
        // Full: the expired entry makes room.
        cache.put(a, Arc::new(Until(100, 1)), t(6));
        cache.put(TokenHash::of("c"), Arc::new(Until(100, 3)), t(6));
        assert!(cache.get(&a, t(7)).is_some());
    }
}

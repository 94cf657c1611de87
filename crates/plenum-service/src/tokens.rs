//! The in-memory cache that keeps token checks off the disk.
//!
//! Every authenticated request needs its token checked. Looking it up in the store each time
//! would put a database read on the hot path of every call, so verified tokens are cached by
//! hash. The cache is kept honest two ways:
//! - changes made through this process (sign-out, password change, role change) evict the
//!   affected entries at once;
//! - an entry older than `revalidate_after` is checked against the store again, which picks up
//!   changes made by another process on the same data (the offline `plenum user reset-password`,
//!   or another node once a shared database backend exists) within that bound.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jiff::SignedDuration;
use plenum_domain::Timestamp;
use plenum_domain::credentials::TokenHash;
use plenum_domain::ids::UserId;

use crate::Principal;

#[derive(Debug)]
struct Cached {
    principal: Arc<Principal>,
    checked_at: Timestamp,
}

#[derive(Debug)]
pub(crate) struct TokenCache {
    entries: RwLock<HashMap<TokenHash, Cached>>,
    revalidate_after: SignedDuration,
    max_entries: usize,
}

impl TokenCache {
    pub(crate) fn new(revalidate_after: SignedDuration, max_entries: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            revalidate_after,
            max_entries: max_entries.max(1),
        }
    }

    /// The cached principal, if it was checked recently enough and has not expired.
    pub(crate) fn get(&self, hash: &TokenHash, now: Timestamp) -> Option<Arc<Principal>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let cached = entries.get(hash)?;
        let fresh = cached
            .checked_at
            .checked_add(self.revalidate_after)
            .is_ok_and(|deadline| now < deadline);
        (fresh && !cached.principal.token.is_expired(now)).then(|| cached.principal.clone())
    }

    pub(crate) fn put(&self, principal: Arc<Principal>, now: Timestamp) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.max_entries {
            // Bounded memory: drop what has expired; if that is not enough, start over. Both
            // only cost a store read per live token afterwards.
            entries.retain(|_, c| !c.principal.token.is_expired(now));
            if entries.len() >= self.max_entries {
                entries.clear();
            }
        }
        entries.insert(
            principal.token.hash,
            Cached {
                principal,
                checked_at: now,
            },
        );
    }

    pub(crate) fn remove(&self, hash: &TokenHash) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(hash);
    }

    /// Evicts every token of a user (their role, profile or credential changed).
    pub(crate) fn remove_user(&self, user: UserId) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, c| c.principal.user.id != user);
    }
}

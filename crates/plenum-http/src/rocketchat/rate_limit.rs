//! Rocket.Chat's per-user rate limit: a fixed window that opens with a user's first request
//! and lasts `window_ms` (Meteor's `RateLimiter`, which Rocket.Chat's API uses, counts the
//! same way). Time comes from the service's clock, so tests move it instead of sleeping.

use std::collections::HashMap;
use std::sync::Mutex;

use plenum_domain::ids::UserId;

/// Windows kept before stale ones are swept (bounded memory).
const MAX_TRACKED: usize = 100_000;

/// Requests per window Rocket.Chat documents for `video-conference.list` (3 per 1000 ms).
pub const DOCUMENTED_LIMIT: u32 = 3;

#[derive(Debug)]
pub struct RateLimiter {
    /// Requests one user may make per window (`--rocketchat-rate-limit`).
    limit: u32,
    windows: Mutex<HashMap<UserId, (i64, u32)>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new(DOCUMENTED_LIMIT)
    }
}

impl RateLimiter {
    pub fn new(limit: u32) -> Self {
        Self {
            limit: limit.max(1),
            windows: Mutex::default(),
        }
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Counts one request of `user` at `now_ms`. `Ok(remaining)` if it is within the limit
    /// of the current window, else `Err(reset_ms)`: when the window ends.
    pub fn check(&self, user: UserId, now_ms: i64, window_ms: i64) -> Result<u32, i64> {
        let limit = self.limit;
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= MAX_TRACKED {
            windows.retain(|_, (start, _)| now_ms < *start + window_ms);
        }
        let entry = windows.entry(user).or_insert((now_ms, 0));
        if now_ms >= entry.0 + window_ms || now_ms < entry.0 {
            *entry = (now_ms, 0);
        }
        if entry.1 >= limit {
            return Err(entry.0 + window_ms);
        }
        entry.1 += 1;
        Ok(limit - entry.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_per_window_per_user() {
        let limiter = RateLimiter::new(3);
        let t0 = jiff::Timestamp::from_second(1_700_000_000).unwrap_or_else(|_| unreachable!());
        let (alice, bob) = (UserId::new(t0), UserId::new(t0));
        assert_eq!(limiter.check(alice, 0, 1000), Ok(2));
        assert_eq!(limiter.check(alice, 10, 1000), Ok(1));
        assert_eq!(limiter.check(alice, 20, 1000), Ok(0));
        assert_eq!(limiter.check(alice, 999, 1000), Err(1000));
        assert_eq!(limiter.check(bob, 999, 1000), Ok(2), "per user");
        assert_eq!(limiter.check(alice, 1000, 1000), Ok(2), "a new window");
    }
}

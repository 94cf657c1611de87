//! Limits that hold per installation, whichever node a request reaches: failed attempts at
//! something guessed (locked out by a [`LockoutPolicy`]), and requests counted in a fixed
//! window ([`RateWindow`]). What is counted is named by an [`Attempts`] key; the store keeps
//! the counts (`plenum_store::Limits`) and these rules say what they mean.

use std::net::IpAddr;

use jiff::SignedDuration;

use crate::Timestamp;
use crate::ids::UserId;
use crate::schedule::MeetingNumber;
use crate::sign_in::{LockoutPolicy, SignInThrottle};
use crate::user::Username;

/// What one count is kept for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempts<'a> {
    /// Failed sign-ins with a username that has no account (an account keeps its own
    /// record), locked as an account's are: if a name without an account never locked, the
    /// lock would tell which usernames exist (docs/security.md).
    UnknownUsername(&'a Username),
    /// Wrong passwords for one meeting from one address: a join is answered at once and a
    /// connection may try again, so without a lock a password of a few digits falls to a
    /// loop in seconds.
    MeetingPassword(IpAddr, &'a MeetingNumber),
    /// Wrong live-stream passcodes from one address.
    LivePasscode(IpAddr),
    /// A Rocket.Chat user's API requests.
    RocketChatRequests(UserId),
}

impl Attempts<'_> {
    /// The key the count is stored under: a kind and what it counts, never two kinds alike.
    pub fn key(&self) -> AttemptKey {
        AttemptKey(match self {
            Self::UnknownUsername(name) => format!("sign-in:{}", name.canonical()),
            Self::MeetingPassword(from, meeting) => format!("join:{from}/{}", meeting.as_str()),
            Self::LivePasscode(from) => format!("watch:{from}"),
            Self::RocketChatRequests(user) => format!("rocketchat:{user}"),
        })
    }
}

/// A stored count's key (see [`Attempts::key`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttemptKey(String);

impl AttemptKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How long failures are remembered after the last one. Long past the longest lock, so
/// forgetting them does not give a guesser its free attempts back any sooner than a day.
pub const FAILURES_REMEMBERED: SignedDuration = SignedDuration::from_hours(24);

/// The consecutive failures of one key, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub count: u32,
    pub last_at: Timestamp,
}

impl Failures {
    /// The count after one more failure at `now`: a first one if the earlier ones are
    /// forgotten (or `before` is none).
    pub fn after_failure(before: Option<Self>, now: Timestamp) -> Self {
        let count = before
            .filter(|f| !f.forgotten(now))
            .map_or(1, |f| f.count.saturating_add(1));
        Self {
            count,
            last_at: now,
        }
    }

    /// When the failures are forgotten (and may be deleted).
    pub fn forgotten_at(&self) -> Timestamp {
        self.last_at
            .checked_add(FAILURES_REMEMBERED)
            .unwrap_or(Timestamp::MAX)
    }

    pub fn forgotten(&self, now: Timestamp) -> bool {
        self.forgotten_at() <= now
    }

    /// The lock these failures put on their key: as an account's (`SignInThrottle`), the
    /// lock running from the last failure.
    pub fn throttle(&self, policy: &LockoutPolicy) -> SignInThrottle {
        SignInThrottle {
            consecutive_failures: self.count,
            locked_until: policy.lock_after(self.count, self.last_at),
        }
    }
}

/// A fixed window of requests: it opens with a key's first request and lasts `length`;
/// `limit` requests fit in it (Meteor's `RateLimiter`, which Rocket.Chat's API uses, counts
/// the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateWindow {
    pub limit: u32,
    pub length: SignedDuration,
}

/// The requests counted in one key's current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowCount {
    pub count: u32,
    pub ends_at: Timestamp,
}

impl RateWindow {
    /// The window a request at `now` opens.
    pub fn opened(&self, now: Timestamp) -> WindowCount {
        WindowCount {
            count: 1,
            ends_at: now.checked_add(self.length).unwrap_or(Timestamp::MAX),
        }
    }

    /// Whether `window` is over at `now`: ended, or ending later than a window opened now
    /// would (the clock went back), so a request at `now` opens a new one.
    pub fn is_over(&self, window: &WindowCount, now: Timestamp) -> bool {
        window.ends_at <= now || window.ends_at > self.opened(now).ends_at
    }

    /// The count after one more request at `now`.
    pub fn after_request(&self, before: Option<WindowCount>, now: Timestamp) -> WindowCount {
        match before {
            Some(w) if !self.is_over(&w, now) => WindowCount {
                count: w.count.saturating_add(1),
                ends_at: w.ends_at,
            },
            _ => self.opened(now),
        }
    }

    /// A request that made `counted`: `Ok(remaining)` in this window if it is within the
    /// limit, else `Err(ends_at)`, when the window ends.
    pub fn verdict(&self, counted: WindowCount) -> Result<u32, Timestamp> {
        let limit = self.limit.max(1);
        if counted.count <= limit {
            Ok(limit - counted.count)
        } else {
            Err(counted.ends_at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(1_700_000_000_000 + ms).expect("an instant")
    }

    #[test]
    fn three_per_window_then_a_new_window() {
        let window = RateWindow {
            limit: 3,
            length: SignedDuration::from_millis(1000),
        };
        let mut count = None;
        let mut verdicts = Vec::new();
        for ms in [0, 10, 20, 999, 1000] {
            let counted = window.after_request(count, at(ms));
            verdicts.push(window.verdict(counted));
            count = Some(counted);
        }
        assert_eq!(
            verdicts,
            [Ok(2), Ok(1), Ok(0), Err(at(1000)), Ok(2)],
            "the fourth waits for the window's end; at its end a new one opens"
        );
    }

    #[test]
    fn a_clock_gone_back_opens_a_new_window() {
        let window = RateWindow {
            limit: 1,
            length: SignedDuration::from_millis(1000),
        };
        let later = window.after_request(None, at(5000));
        let back = window.after_request(Some(later), at(0));
        assert_eq!(back, window.opened(at(0)));
    }

    #[test]
    fn failures_lock_from_the_last_one_and_are_forgotten_after_a_day() {
        let policy = LockoutPolicy::default();
        let mut failures = None;
        for _ in 0..=policy.free_attempts {
            failures = Some(Failures::after_failure(failures, at(0)));
        }
        let six = failures.expect("counted");
        assert_eq!(six.throttle(&policy).check(at(0)), Err(at(30_000)));
        let day = FAILURES_REMEMBERED.as_millis() as i64;
        assert_eq!(Failures::after_failure(Some(six), at(day - 1)).count, 7);
        assert_eq!(Failures::after_failure(Some(six), at(day)).count, 1);
    }

    #[test]
    fn keys_of_different_kinds_differ() {
        let number = MeetingNumber::parse("5550100").expect("a number");
        let from: IpAddr = "192.0.2.1".parse().expect("an address");
        let name = Username::parse("alice").expect("a username");
        let keys = [
            Attempts::UnknownUsername(&name).key(),
            Attempts::MeetingPassword(from, &number).key(),
            Attempts::LivePasscode(from).key(),
        ];
        assert_eq!(
            keys.iter().collect::<std::collections::HashSet<_>>().len(),
            3
        );
        assert_eq!(
            Attempts::UnknownUsername(&Username::parse("ALICE").expect("a username")).key(),
            keys[0],
            "usernames are counted in their canonical form"
        );
    }
}

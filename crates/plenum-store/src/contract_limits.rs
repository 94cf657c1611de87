//! The contract of attempt counts ([`Limits`](crate::Limits)), for every backend. Run by
//! [`contract_tests!`](crate::contract_tests) with the rest of the suite; its checks are
//! listed in [`limits_contract_tests!`](crate::limits_contract_tests).

use std::collections::BTreeSet;

use plenum_domain::ids::UserId;
use plenum_domain::limits::{AttemptKey, Attempts, FAILURES_REMEMBERED, RateWindow, WindowCount};
use plenum_domain::sign_in::LockoutPolicy;
use plenum_domain::user::Username;
use plenum_domain::{SignedDuration, Timestamp};

use crate::Store;

fn at_ms(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(1_800_000_000_000 + ms).expect("an instant")
}

fn username(name: &str) -> AttemptKey {
    Attempts::UnknownUsername(&Username::parse(name).expect("a username")).key()
}

fn requests(n: i64) -> AttemptKey {
    Attempts::RocketChatRequests(UserId::new(at_ms(n))).key()
}

/// Rocket.Chat's documented limit: 3 requests per 1000 ms.
const WINDOW: RateWindow = RateWindow {
    limit: 3,
    length: SignedDuration::from_millis(1000),
};

const DAY_MS: i64 = FAILURES_REMEMBERED.as_millis() as i64;

/// Expands to one `#[tokio::test]` per limits check; `contract_tests!` invokes it.
#[macro_export]
macro_rules! limits_contract_tests {
    ($make:expr, $expect:expr) => {
        $crate::contract_tests!(@tests_of contract_limits; $make; $expect;
            // limits-contract-list-start (every `pub async fn` check of this file, in order)
            failures_lock_as_the_policy_says_until_a_success_forgets_them,
            failures_are_forgotten_a_day_after_the_last,
            concurrent_failures_of_one_key_are_all_counted,
            requests_are_counted_in_fixed_windows_per_key,
            concurrent_requests_of_one_key_are_counted_exactly,
            expired_counts_are_deleted_and_live_ones_kept,
            // limits-contract-list-end
        );
    };
}

pub async fn failures_lock_as_the_policy_says_until_a_success_forgets_them(store: &dyn Store) {
    let policy = LockoutPolicy::default();
    let (alice, bob) = (username("alice"), username("bob"));
    assert_eq!(store.failures(&alice, at_ms(0)).await.expect("read"), None);
    for n in 1..=policy.free_attempts + 1 {
        let counted = store.record_failure(&alice, at_ms(0)).await.expect("count");
        assert_eq!((counted.count, counted.last_at), (n, at_ms(0)));
    }
    let stored = store
        .failures(&alice, at_ms(1))
        .await
        .expect("read")
        .expect("alice's failures");
    assert_eq!(stored.count, policy.free_attempts + 1);
    assert_eq!(
        stored.throttle(&policy).check(at_ms(1)),
        Err(at_ms(30_000)),
        "locked for the policy's first lock from the last failure"
    );
    assert_eq!(store.failures(&bob, at_ms(1)).await.expect("read"), None);
    store.record_failure(&bob, at_ms(2)).await.expect("count");
    store.forget_failures(&alice).await.expect("forget");
    assert_eq!(store.failures(&alice, at_ms(3)).await.expect("read"), None);
    assert_eq!(
        store
            .record_failure(&alice, at_ms(4))
            .await
            .expect("count")
            .count,
        1,
        "after a success, failures start over"
    );
    assert_eq!(
        store
            .failures(&bob, at_ms(5))
            .await
            .expect("read")
            .map(|f| f.count),
        Some(1),
        "another key is left alone"
    );
}

pub async fn failures_are_forgotten_a_day_after_the_last(store: &dyn Store) {
    let key = username("carol");
    store.record_failure(&key, at_ms(0)).await.expect("count");
    let second = store
        .record_failure(&key, at_ms(1000))
        .await
        .expect("count");
    assert_eq!(second.count, 2);
    assert_eq!(
        store
            .failures(&key, at_ms(1000 + DAY_MS - 1))
            .await
            .expect("read")
            .map(|f| f.count),
        Some(2),
        "remembered for a day after the last failure"
    );
    assert_eq!(
        store
            .failures(&key, at_ms(1000 + DAY_MS))
            .await
            .expect("read"),
        None
    );
    let again = store
        .record_failure(&key, at_ms(1000 + DAY_MS))
        .await
        .expect("count");
    assert_eq!((again.count, again.last_at), (1, at_ms(1000 + DAY_MS)));
}

pub async fn concurrent_failures_of_one_key_are_all_counted(store: &dyn Store) {
    let key = username("dave");
    let counts = futures::future::join_all((0..20).map(|_| store.record_failure(&key, at_ms(0))))
        .await
        .into_iter()
        .map(|f| f.expect("count").count)
        .collect::<BTreeSet<u32>>();
    assert_eq!(counts, (1..=20).collect(), "each failure has its own count");
    assert_eq!(
        store
            .failures(&key, at_ms(0))
            .await
            .expect("read")
            .map(|f| f.count),
        Some(20)
    );
}

pub async fn requests_are_counted_in_fixed_windows_per_key(store: &dyn Store) {
    let (alice, bob) = (requests(1), requests(2));
    let mut verdicts = Vec::new();
    for ms in [0, 10, 20, 999] {
        let counted = store
            .count_request(&alice, WINDOW, at_ms(ms))
            .await
            .expect("count");
        verdicts.push(WINDOW.verdict(counted));
    }
    assert_eq!(verdicts, [Ok(2), Ok(1), Ok(0), Err(at_ms(1000))]);
    assert_eq!(
        store
            .count_request(&bob, WINDOW, at_ms(999))
            .await
            .expect("count"),
        WindowCount {
            count: 1,
            ends_at: at_ms(1999)
        },
        "per key"
    );
    assert_eq!(
        store
            .count_request(&alice, WINDOW, at_ms(1000))
            .await
            .expect("count"),
        WindowCount {
            count: 1,
            ends_at: at_ms(2000)
        },
        "a window opens at the end of the last"
    );
    assert_eq!(
        store
            .count_request(&alice, WINDOW, at_ms(500))
            .await
            .expect("count"),
        WindowCount {
            count: 1,
            ends_at: at_ms(1500)
        },
        "a clock gone back opens a window too"
    );
}

pub async fn concurrent_requests_of_one_key_are_counted_exactly(store: &dyn Store) {
    let (key, other) = (requests(3), requests(6));
    // Requests of two keys, interleaved: each key's are counted on their own.
    let both = futures::future::join_all((0..30).map(|i| {
        let key = if i % 3 == 2 { &other } else { &key };
        store.count_request(key, WINDOW, at_ms(100))
    }))
    .await
    .into_iter()
    .map(|c| c.expect("count"))
    .collect::<Vec<_>>();
    let (counted, others): (Vec<_>, Vec<_>) =
        both.into_iter().enumerate().partition(|(i, _)| i % 3 != 2);
    let counted: Vec<WindowCount> = counted.into_iter().map(|(_, c)| c).collect();
    let others: BTreeSet<u32> = others.into_iter().map(|(_, c)| c.count).collect();
    assert_eq!(others, (1..=10).collect(), "the other key's own counts");
    let counts: BTreeSet<u32> = counted.iter().map(|c| c.count).collect();
    assert_eq!(counts, (1..=20).collect(), "each request has its own count");
    assert!(
        counted.iter().all(|c| c.ends_at == at_ms(1100)),
        "one window"
    );
    let within = counted
        .iter()
        .filter(|c| WINDOW.verdict(**c).is_ok())
        .count();
    assert_eq!(within, 3, "exactly the limit gets through");
}

pub async fn expired_counts_are_deleted_and_live_ones_kept(store: &dyn Store) {
    let (ended, open, forgotten, remembered) = (
        requests(4),
        requests(5),
        username("erin"),
        username("frank"),
    );
    store
        .count_request(&ended, WINDOW, at_ms(0))
        .await
        .expect("count");
    store
        .count_request(&open, WINDOW, at_ms(DAY_MS))
        .await
        .expect("count");
    store
        .record_failure(&forgotten, at_ms(0))
        .await
        .expect("count");
    store
        .record_failure(&remembered, at_ms(10))
        .await
        .expect("count");
    assert_eq!(
        store.expire_attempts(at_ms(DAY_MS)).await.expect("expire"),
        2,
        "the ended window and the forgotten failures"
    );
    assert_eq!(
        store
            .count_request(&open, WINDOW, at_ms(DAY_MS + 1))
            .await
            .expect("count")
            .count,
        2,
        "the open window is kept"
    );
    assert_eq!(
        store
            .failures(&remembered, at_ms(DAY_MS))
            .await
            .expect("read")
            .map(|f| f.count),
        Some(1)
    );
    assert_eq!(
        store.expire_attempts(at_ms(DAY_MS)).await.expect("expire"),
        0
    );
}

#[cfg(test)]
mod tests {
    /// Every check must be listed in [`limits_contract_tests!`], or backends skip it.
    #[test]
    fn every_check_is_in_the_macro() {
        crate::contract::assert_every_check_is_listed(
            include_str!("contract_limits.rs"),
            "// limits-contract-list-start",
            "// limits-contract-list-end",
        );
    }
}

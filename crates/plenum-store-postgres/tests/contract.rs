//! The store contract suite against PostgreSQL: the very list SQLite runs
//! (`plenum_store::contract_tests!`), each check on a database of its own.
//!
//! The server is named by `PLENUM_TEST_DATABASE_URL` (a database the user may create
//! databases from, such as `postgres://plenum@localhost/postgres?host=/tmp/…/socket`).
//! `scripts/test.sh` starts a throwaway cluster and sets it (`scripts/pg-test-server.sh`).
//! Without it the checks are skipped with a notice when run by hand (`cargo test`), and fail
//! when the environment says it is CI (`CI` set): CI must never pass by running nothing.

use plenum_store::contract::Expect;
use plenum_store_postgres::PgStore;
use plenum_store_postgres::testing::{self, TestDatabase};

/// The checks this backend does not pass yet. Each still runs and must fail; one that passes
/// fails its test until it is taken off this list. Empty: PostgreSQL passes the whole suite.
const PENDING: &[&str] = &[];

fn expect(check: &str) -> Expect {
    if testing::server(check).is_none() {
        return Expect::Skip;
    }
    if PENDING.contains(&check) {
        Expect::Pending
    } else {
        Expect::Pass
    }
}

/// A new, empty store in a database of its own (dropped with the returned guard).
async fn fresh_store() -> (TestDatabase, PgStore) {
    let server = std::env::var(testing::SERVER_VARIABLE).expect("checked by `expect`");
    let database = TestDatabase::create(&server).await;
    let store = PgStore::open_with(&database.url(), 8)
        .await
        .expect("open the store");
    (database, store)
}

plenum_store::contract_tests!(fresh_store, expect);

/// Two servers on one database: a notice one announces is heard by the other (`NOTIFY`),
/// so a sign-out on one ends the token on both at once.
#[tokio::test]
async fn a_notice_announced_by_one_server_is_heard_by_another_on_the_same_database() {
    if expect("notices_between_servers") == plenum_store::contract::Expect::Skip {
        return;
    }
    use plenum_store::{Notice, Notices as _};
    let (database, first) = fresh_store().await;
    let second = PgStore::open_with(&database.url(), 2)
        .await
        .expect("a second server's store");
    let mut heard_by_second = second.notices();
    let notice = Notice::Token(plenum_domain::credentials::TokenHash::of("signed out"));
    first.announce(&notice).await.expect("announce");
    let heard = tokio::time::timeout(std::time::Duration::from_secs(10), heard_by_second.recv())
        .await
        .expect("heard within 10 s")
        .expect("a notice");
    assert_eq!(heard, notice);
    first.close().await;
    second.close().await;
}

#[tokio::test]
async fn migrations_run_twice_are_harmless() {
    if expect("migrations_run_twice_are_harmless") == Expect::Skip {
        return;
    }
    let (database, store) = fresh_store().await;
    store.close().await;
    let again = PgStore::open_with(&database.url(), 2)
        .await
        .expect("reopen");
    again.close().await;
}

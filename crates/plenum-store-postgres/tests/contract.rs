//! The store contract suite against PostgreSQL: the very list SQLite runs
//! (`plenum_store::contract_tests!`), each check on a database of its own
//! (`plenum_store_postgres::testing`, on the server `PLENUM_TEST_DATABASE_URL` names). Without
//! the variable the checks are skipped with a notice when run by hand (`cargo test`), and fail
//! when the environment says it is CI (`CI` set): CI must never pass by running nothing.

use plenum_store::contract::Expect;
use plenum_store_postgres::PgStore;
use plenum_store_postgres::testing::{TestDatabase, server_available};

/// The checks this backend does not pass yet. Each still runs and must fail; one that passes
/// fails its test until it is taken off this list. Empty: PostgreSQL passes the whole suite.
const PENDING: &[&str] = &[];

fn expect(check: &str) -> Expect {
    if !server_available(check) {
        return Expect::Skip;
    }
    if PENDING.contains(&check) {
        Expect::Pending
    } else {
        Expect::Pass
    }
}

/// A new, empty store in a database of its own.
async fn fresh_store() -> (TestDatabase, PgStore) {
    let database = TestDatabase::create("the contract suite")
        .await
        .expect("checked by `expect`");
    let store = PgStore::open_with(database.url(), 8)
        .await
        .expect("open the store");
    (database, store)
}

plenum_store::contract_tests!(fresh_store, expect);

#[tokio::test]
async fn migrations_run_twice_are_harmless() {
    let Some(database) = TestDatabase::create("migrations_run_twice_are_harmless").await else {
        return;
    };
    let store = PgStore::open_with(database.url(), 2).await.expect("open");
    store.close().await;
    let again = PgStore::open_with(database.url(), 2).await.expect("reopen");
    again.close().await;
}

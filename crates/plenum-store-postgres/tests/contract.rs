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
use sqlx::{Connection, Executor, PgConnection};

/// The variable naming the test server.
const URL: &str = "PLENUM_TEST_DATABASE_URL";

/// The checks this backend does not pass yet. Each still runs and must fail; one that passes
/// fails its test until it is taken off this list. Empty: PostgreSQL passes the whole suite.
const PENDING: &[&str] = &[];

fn expect(check: &str) -> Expect {
    if std::env::var_os(URL).is_none() {
        if std::env::var_os("CI").is_some() {
            panic!(
                "{URL} is not set: CI must run the PostgreSQL contract (scripts/test.sh sets it)"
            );
        }
        eprintln!(
            "{check}: skipped, {URL} is not set (scripts/test.sh starts a server and sets it)"
        );
        return Expect::Skip;
    }
    if PENDING.contains(&check) {
        Expect::Pending
    } else {
        Expect::Pass
    }
}

/// A database made for one test, dropped when the test ends (with its connections).
struct Database {
    server: String,
    name: String,
}

impl Drop for Database {
    fn drop(&mut self) {
        let server = self.server.clone();
        let name = self.name.clone();
        // The test's runtime is ending: the drop runs on a thread of its own, waited for.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&server).await?;
                conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("the test database {} was not dropped", self.name);
        }
    }
}

/// A URL naming database `name` on the server of `server` (which names another database).
fn url_of_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server, None),
    };
    // postgres://user@host[:port][/database]: the path after the authority is the database.
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut url = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// A new, empty store in a database of its own.
async fn fresh_store() -> (Database, PgStore) {
    let server = std::env::var(URL).expect("checked by `expect`");
    let name = format!("plenum_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&server)
        .await
        .unwrap_or_else(|e| panic!("connect to the test server ({URL}): {e}"));
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create the test database");
    conn.close().await.expect("close");
    let database = Database { server, name };
    let store = PgStore::open_with(&url_of_database(&database.server, &database.name), 8)
        .await
        .expect("open the store");
    (database, store)
}

plenum_store::contract_tests!(fresh_store, expect);

#[test]
fn database_urls_keep_the_server_and_its_options() {
    assert_eq!(
        url_of_database(
            "postgres://plenum@localhost/postgres?host=/tmp/x/socket",
            "t1"
        ),
        "postgres://plenum@localhost/t1?host=/tmp/x/socket"
    );
    assert_eq!(
        url_of_database("postgres://u:p@db.example:5433", "t2"),
        "postgres://u:p@db.example:5433/t2"
    );
}

#[tokio::test]
async fn migrations_run_twice_are_harmless() {
    if expect("migrations_run_twice_are_harmless") == Expect::Skip {
        return;
    }
    let (database, store) = fresh_store().await;
    store.close().await;
    let again = PgStore::open_with(&url_of_database(&database.server, &database.name), 2)
        .await
        .expect("reopen");
    again.close().await;
}

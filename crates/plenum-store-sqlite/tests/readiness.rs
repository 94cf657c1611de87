//! `/readyz`'s question to the SQLite store: does the database hold this binary's migrations?

use plenum_store::{Readiness, Store};
use plenum_store_sqlite::{DATABASE_FILE, Durability, SqliteStore};
use rusqlite::Connection;
use tempfile::TempDir;

#[tokio::test]
async fn a_store_is_ready_with_its_migrations_and_says_which_one_is_not_applied() {
    let dir = TempDir::new().expect("temporary directory");
    let store = SqliteStore::open(dir.path(), Durability::Normal)
        .await
        .expect("open store");
    assert_eq!(
        store.readiness().await.expect("readiness"),
        Readiness::Ready
    );

    // The last migration's record no longer matches what this binary would apply (as when
    // another version of the program wrote it, or it failed).
    let conn = Connection::open(dir.path().join(DATABASE_FILE)).expect("open");
    let last: i64 = conn
        .query_row("SELECT max(version) FROM _sqlx_migrations", [], |row| {
            row.get(0)
        })
        .expect("the last migration");
    conn.execute(
        "UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = ?1",
        [last],
    )
    .expect("change the record");
    assert_eq!(
        store.readiness().await.expect("readiness"),
        Readiness::MigrationsPending {
            versions: vec![last]
        }
    );
    store.close().await;
}

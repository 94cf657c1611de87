//! What only the SQLite backend of webhooks and the audit log promises: the audit log refuses
//! changes even from SQL, and the delivery task's and the audit list's queries are indexed.

use plenum_store_sqlite::{DATABASE_FILE, Durability, SqliteStore};
use rusqlite::Connection;
use tempfile::TempDir;

async fn store_file() -> (TempDir, std::path::PathBuf) {
    let dir = TempDir::new().expect("temporary directory");
    let store = SqliteStore::open(dir.path(), Durability::Normal)
        .await
        .expect("open store");
    store.close().await;
    let file = dir.path().join(DATABASE_FILE);
    (dir, file)
}

#[tokio::test]
async fn the_audit_log_refuses_updates_even_from_sql() {
    let (_dir, file) = store_file().await;
    let conn = Connection::open(&file).expect("open");
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF; \
         INSERT INTO audit_log (company_id, at, actor_user, actor_name, address, action, target, \
           meeting_number, details) VALUES (x'00', 1, NULL, 'operator', NULL, 'company.create', \
           'company:x', NULL, '{}');",
    )
    .expect("append");
    let refused = conn
        .execute("UPDATE audit_log SET actor_name = 'someone else'", [])
        .expect_err("the log is append-only");
    assert!(refused.to_string().contains("append-only"), "{refused}");
    let name: String = conn
        .query_row("SELECT actor_name FROM audit_log", [], |row| row.get(0))
        .expect("read");
    assert_eq!(name, "operator");
}

fn plan(conn: &Connection, sql: &str) -> String {
    let mut st = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .expect("explain");
    let rows = st
        .query_map([], |row| row.get::<_, String>(3))
        .expect("plan");
    rows.map(|r| r.expect("row")).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn the_delivery_and_audit_queries_use_their_indexes() {
    let (_dir, file) = store_file().await;
    let conn = Connection::open(&file).expect("open");
    let due = plan(
        &conn,
        &plenum_store_sqlite::DUE_DELIVERIES
            .replace("?1", "5")
            .replace("?2", "10"),
    );
    assert!(due.contains("webhook_deliveries_due"), "{due}");
    assert!(due.contains("webhook_deliveries_in_order"), "{due}");
    assert!(!due.contains("SCAN"), "{due}");
    let audit = plan(
        &conn,
        "SELECT seq FROM audit_log WHERE company_id = x'00' AND action = 'meeting.mute' \
         ORDER BY at DESC, seq DESC LIMIT 20",
    );
    assert!(audit.contains("audit_by_action"), "{audit}");
    assert!(!audit.contains("TEMP B-TREE"), "{audit}");
    let by_meeting = plan(
        &conn,
        "SELECT seq FROM audit_log WHERE company_id = x'00' AND meeting_number = '123456' \
         ORDER BY at DESC, seq DESC LIMIT 20",
    );
    assert!(by_meeting.contains("audit_by_meeting"), "{by_meeting}");
    let events = plan(
        &conn,
        "INSERT INTO webhook_events (id, company_id, type, type_bit, meeting_number, \
         occurred_at, body) SELECT x'01', x'00', 't', 1, NULL, 1, '{}' WHERE EXISTS \
         (SELECT 1 FROM webhook_endpoints WHERE company_id = x'00' AND (types & 1) != 0)",
    );
    assert!(!events.contains("SCAN webhook_endpoints"), "{events}");
}

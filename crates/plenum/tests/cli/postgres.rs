//! The binary on PostgreSQL (`--database-url` / `PLENUM_DATABASE_URL`): `plenum migrate`, the
//! offline commands, `plenum import` and `plenum serve` against a real server, and what stays
//! SQLite-only (`backup`, `restore`).
//!
//! The server is named by `PLENUM_TEST_DATABASE_URL`, as for the store's contract suite
//! (`scripts/test.sh` starts a throwaway cluster with `scripts/pg-test-server.sh`); each test
//! makes a database of its own and drops it (`plenum_store_postgres::testing`). Without the
//! variable a test is skipped with a notice, unless `CI` is set: CI must never pass by running
//! nothing.
//!
//! Offline commands and servers run on *different* data directories against one database:
//! whatever one sees of another's writes can only have come through PostgreSQL.

use plenum_store_postgres::testing::{self, TestDatabase};
use serde_json::json;

use crate::{Sandbox, announced_password};

/// A database of its own for `test`; `None` (with a notice) when there is no test server.
async fn database(test: &str) -> Option<TestDatabase> {
    let server = testing::server(test)?;
    Some(TestDatabase::create(&server).await)
}

#[tokio::test]
async fn migrate_applies_the_sqlite_migrations_once() {
    let sandbox = Sandbox::new();
    let first = sandbox.run(&["migrate"]).await;
    first.assert_ok();
    assert!(
        first
            .stdout
            .contains("migrations to the SQLite database in")
            && first.stdout.contains("0001 companies users tokens"),
        "{first:?}"
    );
    let again = sandbox.run(&["migrate"]).await;
    again.assert_ok();
    assert!(
        again
            .stdout
            .contains("is up to date: no migration to apply"),
        "{again:?}"
    );
    // Nothing but the schema: the next command still initialises the installation.
    let created = sandbox
        .run(&[
            "user",
            "create",
            "--username",
            "bob",
            "--password",
            "Passw0rd-123",
        ])
        .await;
    created.assert_ok();
    announced_password(&created.stdout);
}

#[tokio::test]
async fn migrate_applies_the_postgres_migrations_once() {
    let Some(db) = database("migrate_applies_the_postgres_migrations_once").await else {
        return;
    };
    let sandbox = Sandbox::new();
    let first = sandbox.run(&["migrate", "--database-url", &db.url()]).await;
    first.assert_ok();
    assert!(
        first.stdout.contains("to the PostgreSQL database")
            && first.stdout.contains("0001 schema")
            && first.stdout.contains("0002 history webhooks audit"),
        "{first:?}"
    );
    let again = sandbox.run(&["migrate", "--database-url", &db.url()]).await;
    again.assert_ok();
    assert!(
        again
            .stdout
            .contains("is up to date: no migration to apply"),
        "{again:?}"
    );
    // PostgreSQL holds the data: the data directory has no SQLite database.
    assert!(!sandbox.data_dir().join("plenum.db").exists());
}

#[tokio::test]
async fn offline_commands_and_import_write_to_postgres_and_a_server_serves_them() {
    let Some(db) =
        database("offline_commands_and_import_write_to_postgres_and_a_server_serves_them").await
    else {
        return;
    };
    let url = db.url();
    let url = url.as_str();
    let offline = Sandbox::new();
    let created = offline
        .run(&[
            "--database-url",
            url,
            "user",
            "create",
            "--username",
            "bob",
            "--role",
            "MeetingOperator",
            "--password",
            "Passw0rd-123",
        ])
        .await;
    created.assert_ok();
    // The database was new: the first command initialised it.
    let admin_password = announced_password(&created.stdout);
    assert!(!offline.data_dir().join("plenum.db").exists());

    let company = offline
        .run(&[
            "--database-url",
            url,
            "company",
            "create",
            "--name",
            "Acme",
            "--time-zone",
            "Europe/Berlin",
            "--admin-username",
            "acme-admin",
            "--password",
            "Passw0rd-123",
        ])
        .await;
    company.assert_ok();
    let webhook = offline
        .run(&[
            "--database-url",
            url,
            "webhook",
            "add",
            "https://hooks.example/plenum",
        ])
        .await;
    webhook.assert_ok();
    let history = offline.write(
        "history.jsonl",
        &[
            r#"{"type":"session","id":"01900000-0000-7000-8000-0000000000a1","meeting_number":"7000001","name":"Review","owner":"admin","started_at":"2026-06-17T08:00:00Z","ended_at":"2026-06-17T08:45:00Z"}"#,
            r#"{"type":"attendance","session":"01900000-0000-7000-8000-0000000000a1","user":"bob","display_name":"Bob","device_type":"desktop","media_type":"video","joined_at":"2026-06-17T08:00:12Z"}"#,
            r#"{"type":"recording","session":"01900000-0000-7000-8000-0000000000a1","kind":"video","status":"completed","codec":"vp8","size_bytes":1000,"duration_secs":2700,"started_at":"2026-06-17T08:00:30Z","ended_at":"2026-06-17T08:45:00Z","download_url":"https://files.example/r.webm"}"#,
        ]
        .join("\n"),
    );
    let history = history.to_str().expect("a UTF-8 path");
    let imported = offline
        .run(&["--database-url", url, "import", history])
        .await;
    imported.assert_ok();
    assert!(
        imported
            .stdout
            .contains("0 rooms, 1 sessions, 1 attendance, 1 recordings; 0 already present"),
        "{imported:?}"
    );
    let again = offline
        .run(&["--database-url", url, "import", history])
        .await;
    again.assert_ok();
    assert!(again.stdout.contains("3 already present"), "{again:?}");
    let key = offline
        .run(&["--database-url", url, "key", "create", "--name", "crm"])
        .await;
    key.assert_ok();
    let key = key
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("API key (shown only now):"))
        .unwrap_or_else(|| panic!("no key printed: {key:?}"))
        .trim()
        .to_owned();

    // A server on another data directory, told the database by the environment.
    let node = Sandbox::new();
    let server = node.serve(&[], &[("PLENUM_DATABASE_URL", url)]).await;
    assert!(crate::announced_passwords(&server.stdout()).is_empty());
    assert!(!node.data_dir().join("plenum.db").exists());
    let bob = server.sign_in("bob", "Passw0rd-123").await;
    let info = server.post("/api/v1/user/info", Some(&bob), None).await;
    assert_eq!(info.status.as_u16(), 200, "{info:?}");
    assert_eq!(info.body["role"], json!(["MeetingOperator"]));
    server.sign_in("acme-admin", "Passw0rd-123").await;
    let admin = server.sign_in("admin", &admin_password).await;

    // Scheduling on PostgreSQL through FRTC, and its list.
    let start = (jiff::Timestamp::now().as_second() + 3600) * 1000;
    let scheduled = server
        .post(
            "/api/v1/meeting_schedule",
            Some(&admin),
            Some(json!({
                "meeting_type": "reservation",
                "meeting_name": "Design review",
                "schedule_start_time": start,
                "schedule_end_time": start + 3_600_000,
            })),
        )
        .await;
    assert_eq!(scheduled.status.as_u16(), 200, "{scheduled:?}");
    let listed = server.get("/api/v1/meeting_schedule", Some(&admin)).await;
    assert_eq!(listed.status.as_u16(), 200, "{listed:?}");
    assert!(
        listed.body.to_string().contains("Design review"),
        "{listed:?}"
    );

    // The endpoint added offline, and the audit log of what was done offline and online.
    let hooks = server.get("/api/v1/webhooks", Some(&admin)).await;
    assert!(
        hooks
            .body
            .to_string()
            .contains("https://hooks.example/plenum"),
        "{hooks:?}"
    );
    let audit = server.get("/api/v1/audit", Some(&admin)).await;
    assert_eq!(audit.status.as_u16(), 200, "{audit:?}");
    assert!(audit.body.to_string().contains("webhook"), "{audit:?}");

    // The imported history, through Telnyx with the key created offline.
    let recordings: serde_json::Value = reqwest::Client::new()
        .get(server.url("/v2/room_recordings"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(recordings["meta"]["total_results"], 1, "{recordings}");
    assert_eq!(
        recordings["data"][0]["session_id"],
        "01900000-0000-7000-8000-0000000000a1"
    );
    server.stop().await;
}

#[tokio::test]
async fn backup_and_restore_refuse_on_postgres_and_point_to_its_tools() {
    // Refused before any connection: no server is needed.
    let sandbox = Sandbox::new();
    let url = "postgres://plenum:s3cret@127.0.0.1:1/plenum";
    let target = sandbox.data_dir().with_extension("backup");
    let target = target.to_str().expect("a UTF-8 path");
    for args in [["backup", target], ["restore", target]] {
        let run = sandbox
            .run(&["--database-url", url, args[0], args[1]])
            .await;
        run.assert_failed();
        assert!(
            run.stderr.contains("pg_dump") && run.stderr.contains("point-in-time"),
            "{run:?}"
        );
        assert!(
            !run.stderr.contains("s3cret"),
            "the password is shown: {run:?}"
        );
    }
    assert!(!std::path::Path::new(target).exists());
    // Only PostgreSQL is accepted besides the data directory.
    let other = sandbox
        .run(&["--database-url", "mysql://x@y/z", "migrate"])
        .await;
    other.assert_failed();
    assert!(other.stderr.contains("PostgreSQL URL"), "{other:?}");
}

#[tokio::test]
async fn a_meeting_held_on_postgres_survives_a_kill_9_and_another_node_reads_its_record() {
    let Some(db) =
        database("a_meeting_held_on_postgres_survives_a_kill_9_and_another_node_reads_its_record")
            .await
    else {
        return;
    };
    let url = db.url();
    let url = url.as_str();
    let first = Sandbox::new();
    let server = first
        .serve(
            &[
                "--database-url",
                url,
                "--admin-password",
                crate::ADMIN_PASSWORD,
            ],
            &[],
        )
        .await;
    let admin = server.sign_in("admin", crate::ADMIN_PASSWORD).await;
    let room = server
        .post(
            "/api/v1/meeting_room",
            Some(&admin),
            Some(json!({"meetingroom_name": "Ops", "meeting_number": "7100001", "meeting_password": "1234"})),
        )
        .await;
    assert_eq!(room.status.as_u16(), 200, "{room:?}");
    let (_a, _) = crate::live::join(&server, "7100001", "Stays A").await;
    let (mut b, _) = crate::live::join(&server, "7100001", "Leaves B").await;
    let (ending, why) = b.leave(&mut plenum_client::Ignore).await;
    assert_eq!(ending, plenum_client::Ending::Left, "{why}");
    let running = server
        .post("/api/v1/meeting/7100001", Some(&admin), None)
        .await;
    let session = running.body["session_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a session: {running:?}"))
        .to_owned();
    server.crash().await;

    // The next server, on a data directory of its own, closes what the killed one left open.
    let second = Sandbox::new();
    let server = second.serve(&["--database-url", url], &[]).await;
    let log = server.stderr();
    assert!(
        log.contains("closed the meetings a previous run left open")
            && log.contains("sessions=1")
            && log.contains("attendance=1"),
        "{log}"
    );
    let admin = server.sign_in("admin", crate::ADMIN_PASSWORD).await;
    let key = server
        .post(
            "/api/v1/api_keys",
            Some(&admin),
            Some(json!({"name": "ops", "kind": "api_key"})),
        )
        .await;
    let key = key.body["api_key"].as_str().expect("an API key").to_owned();
    let stays: serde_json::Value = reqwest::Client::new()
        .get(server.url(&format!(
            "/ar/corporation/openapi/rtc/meeting/record/list?id={session}"
        )))
        .bearer_auth(&key)
        .send()
        .await
        .expect("the participants")
        .json()
        .await
        .expect("JSON");
    let stays = stays.as_array().expect("a list").clone();
    let mut names: Vec<&str> = stays
        .iter()
        .map(|s| s["participantUserFullName"].as_str().unwrap_or_default())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["Leaves B", "Stays A"], "{stays:?}");
    assert!(stays.iter().all(|s| s["status"] == "已退出"), "{stays:?}");
    server.stop().await;
}

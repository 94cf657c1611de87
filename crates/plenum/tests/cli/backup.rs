//! Backups of a running installation and restoring them (`plenum backup`, `plenum restore`;
//! docs/operations.md), with the real binary.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::StatusCode;
use serde_json::json;

use crate::{ADMIN_PASSWORD, EXIT_LIMIT, Sandbox, Server};

/// Creates a user (a write the server acknowledges with 200) and says whether it was.
async fn create_user(server: &Server, admin: &str, username: &str) -> bool {
    server
        .post(
            "/api/v1/user/users",
            Some(admin),
            Some(json!({"username": username, "role": "Normal", "password": "Passw0rd-123"})),
        )
        .await
        .status
        == StatusCode::OK
}

/// The usernames the server lists, all pages.
async fn usernames(server: &Server, admin: &str) -> Vec<String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("an HTTP client");
    let reply: serde_json::Value = client
        .get(server.url("/api/v1/user/public/users?page_num=1&page_size=500"))
        .bearer_auth(admin)
        .send()
        .await
        .expect("listing users")
        .json()
        .await
        .expect("a JSON list");
    reply["users"]
        .as_array()
        .unwrap_or_else(|| panic!("no users in {reply}"))
        .iter()
        .filter_map(|u| u["username"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_backup_taken_while_writes_go_on_restores_everything_acknowledged_before_it() {
    let sandbox = Sandbox::new();
    let server = sandbox
        .serve(&["--admin-password", ADMIN_PASSWORD], &[])
        .await;
    let admin = server.sign_in("admin", ADMIN_PASSWORD).await;
    for i in 0..5 {
        assert!(create_user(&server, &admin, &format!("before-{i}")).await);
    }
    // A writer goes on while the backup runs; what it had acknowledged when the backup
    // began must be in the copy.
    let writing = Arc::new(AtomicBool::new(true));
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let server = Arc::new(tokio::sync::Mutex::new(server));
    let writer = {
        let (writing, acknowledged, server, admin) = (
            writing.clone(),
            acknowledged.clone(),
            server.clone(),
            admin.clone(),
        );
        tokio::spawn(async move {
            // Bounded: at most 200 users, and only while the backup runs.
            for i in 0..200 {
                if !writing.load(Ordering::Relaxed) {
                    break;
                }
                let name = format!("during-{i}");
                if create_user(&*server.lock().await, &admin, &name).await {
                    acknowledged
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(name);
                }
            }
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let before_backup: Vec<String> = acknowledged
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let copy = sandbox.data_dir().with_file_name("copy.db");
    let copy_arg = copy.to_string_lossy().into_owned();
    sandbox.run(&["backup", &copy_arg]).await.assert_ok();
    writing.store(false, Ordering::Relaxed);
    writer.await.expect("the writer ends");

    // A restore is refused while the server uses the data directory.
    let refused = sandbox.run(&["restore", &copy_arg]).await;
    refused.assert_failed();
    assert!(refused.stderr.contains("in use"), "{}", refused.stderr);
    // So is a backup over an existing file.
    sandbox.run(&["backup", &copy_arg]).await.assert_failed();

    let Ok(server) = Arc::try_unwrap(server) else {
        panic!("the writer still holds the server");
    };
    let mut server = server.into_inner();
    server.signal("TERM").await;
    assert!(server.wait_exit(EXIT_LIMIT).await.success());

    // Restored into another installation, the copy holds everything acknowledged before the
    // backup began.
    let other = Sandbox::new();
    let restored = other.run(&["restore", &copy_arg]).await;
    restored.assert_ok();
    let server = other.serve(&[], &[]).await;
    let admin = server.sign_in("admin", ADMIN_PASSWORD).await;
    let names = usernames(&server, &admin).await;
    for name in (0..5)
        .map(|i| format!("before-{i}"))
        .chain(before_backup.iter().cloned())
    {
        assert!(names.contains(&name), "{name} is missing from the restore");
    }
    server.sign_in("before-0", "Passw0rd-123").await;
}

#[tokio::test]
async fn a_restore_keeps_the_database_it_replaces() {
    let sandbox = Sandbox::new();
    let mut server = sandbox
        .serve(&["--admin-password", ADMIN_PASSWORD], &[])
        .await;
    let admin = server.sign_in("admin", ADMIN_PASSWORD).await;
    assert!(create_user(&server, &admin, "in-the-copy").await);
    let copy = sandbox.data_dir().with_file_name("copy.db");
    let copy_arg = copy.to_string_lossy().into_owned();
    sandbox.run(&["backup", &copy_arg]).await.assert_ok();
    assert!(create_user(&server, &admin, "after-the-copy").await);
    server.signal("TERM").await;
    assert!(server.wait_exit(EXIT_LIMIT).await.success());

    let restored = sandbox.run(&["restore", &copy_arg]).await;
    restored.assert_ok();
    assert!(restored.stdout.contains("kept as"), "{}", restored.stdout);
    let server = sandbox.serve(&[], &[]).await;
    server.sign_in("in-the-copy", "Passw0rd-123").await;
    assert_eq!(
        server
            .try_sign_in("after-the-copy", "Passw0rd-123")
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "the restore is the copy, not what came after it"
    );
}

#[tokio::test]
async fn the_database_file_alone_is_whole_after_a_clean_stop() {
    let sandbox = Sandbox::new();
    let mut server = sandbox
        .serve(&["--admin-password", ADMIN_PASSWORD], &[])
        .await;
    let admin = server.sign_in("admin", ADMIN_PASSWORD).await;
    assert!(create_user(&server, &admin, "kept").await);
    server.signal("TERM").await;
    assert!(server.wait_exit(EXIT_LIMIT).await.success());
    // Only plenum.db, without its write-ahead log, into another data directory.
    let other = Sandbox::new();
    std::fs::create_dir_all(other.data_dir()).expect("a data directory");
    std::fs::copy(
        sandbox.data_dir().join("plenum.db"),
        other.data_dir().join("plenum.db"),
    )
    .expect("copying plenum.db");
    let server = other.serve(&[], &[]).await;
    server.sign_in("kept", "Passw0rd-123").await;
}

//! First start, restarts, and a crash.

use serde_json::json;

use crate::{ADMIN_PASSWORD, Sandbox, announced_password, announced_passwords};

#[tokio::test]
async fn first_start_prints_a_generated_admin_password_exactly_once() {
    let sandbox = Sandbox::new();
    let server = sandbox.serve(&[], &[]).await;
    let first = server.stdout();
    let password = announced_password(&first);
    assert!(
        password.len() >= 12,
        "a weak generated password: {password}"
    );
    assert!(first.contains("    username: admin\n"), "{first}");
    server.sign_in("admin", &password).await;
    let stopped = server.stop().await;
    // Shown on stdout only, never logged.
    assert!(!stopped.stderr.contains(&password), "{}", stopped.stderr);

    // A second start has nothing to announce, and --admin-password (first start only) does
    // not change the existing admin's password.
    let server = sandbox
        .serve(&["--admin-password", "Another-Passw0rd-2"], &[])
        .await;
    let second = server.stdout();
    assert!(announced_passwords(&second).is_empty(), "{second}");
    assert!(!second.contains(&password), "{second}");
    server.sign_in("admin", &password).await;
    server
        .try_sign_in("admin", "Another-Passw0rd-2")
        .await
        .assert_error(401, "invalid_credentials");
    server.stop().await;
}

#[tokio::test]
async fn an_acknowledged_user_and_token_survive_a_kill_9() {
    let sandbox = Sandbox::new();
    let server = sandbox
        .serve(&["--admin-password", ADMIN_PASSWORD], &[])
        .await;
    assert!(announced_passwords(&server.stdout()).is_empty());
    let admin = server.sign_in("admin", ADMIN_PASSWORD).await;
    let created = server
        .post(
            "/api/v1/user/users",
            Some(&admin),
            Some(
                json!({"username": "survivor", "password": "Surv1vor-Passw0rd", "role": "Normal"}),
            ),
        )
        .await;
    assert_eq!(created.status.as_u16(), 200, "{created:?}");
    server.crash().await;

    let server = sandbox.serve(&[], &[]).await;
    let token = server.sign_in("survivor", "Surv1vor-Passw0rd").await;
    let info = server.post("/api/v1/user/info", Some(&token), None).await;
    assert_eq!(info.status.as_u16(), 200, "{info:?}");
    assert_eq!(info.body["username"], "survivor");
    assert_eq!(info.body["role"], json!(["Normal"]));
    // The admin's token, issued before the crash, is still valid.
    let info = server.post("/api/v1/user/info", Some(&admin), None).await;
    assert_eq!(info.status.as_u16(), 200, "{info:?}");
    assert_eq!(info.body["username"], "admin");
    server.stop().await;
}

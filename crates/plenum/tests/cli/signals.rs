//! Graceful shutdown on SIGTERM and SIGINT.

use crate::{ADMIN_PASSWORD, EXIT_LIMIT, Sandbox, healthy};

async fn exits_cleanly_on(signal: &str) {
    let sandbox = Sandbox::new();
    let mut server = sandbox
        .serve(&["--admin-password", ADMIN_PASSWORD], &[])
        .await;
    server.sign_in("admin", ADMIN_PASSWORD).await;
    server.signal(signal).await;
    let status = server.wait_exit(EXIT_LIMIT).await;
    assert!(
        status.success(),
        "SIG{signal}: exit status {status}\n{}",
        server.stderr()
    );
    assert!(
        server.stderr().contains("shutting down"),
        "{}",
        server.stderr()
    );
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("an HTTP client");
    assert!(!healthy(&client, server.addr).await, "still answering");
}

#[tokio::test]
async fn sigterm_stops_the_server_with_exit_status_0() {
    exits_cleanly_on("TERM").await;
}

#[tokio::test]
async fn sigint_stops_the_server_with_exit_status_0() {
    exits_cleanly_on("INT").await;
}

#[tokio::test]
async fn sighup_without_tls_leaves_the_server_serving() {
    let sandbox = Sandbox::new();
    let mut server = sandbox
        .serve(&["--admin-password", ADMIN_PASSWORD], &[])
        .await;
    server.signal("HUP").await;
    // The signal is handled (logged), not the default action that ends the process.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    server.sign_in("admin", ADMIN_PASSWORD).await;
    server.signal("TERM").await;
    assert!(server.wait_exit(EXIT_LIMIT).await.success());
}

//! Configuration precedence, end to end: file < environment < flags.

use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use crate::{ADMIN_PASSWORD, Sandbox, Server, free_port, loopback};

/// Whether anything accepts connections on 127.0.0.1:`port`.
fn answers(port: u16) -> bool {
    TcpStream::connect_timeout(&loopback(port), Duration::from_secs(1)).is_ok()
}

async fn max_calls(server: &Server) -> Value {
    let token = server.sign_in("admin", ADMIN_PASSWORD).await;
    let capacity = server
        .post("/api/v1/system/capacity", Some(&token), None)
        .await;
    assert_eq!(capacity.status.as_u16(), 200, "{capacity:?}");
    capacity.body["system"]["max_calls"].clone()
}

#[tokio::test]
async fn the_environment_overrides_the_file_and_flags_override_both() {
    let sandbox = Sandbox::new();
    let (p1, p2, p3) = (free_port(), free_port(), free_port());
    let file = sandbox.write(
        "plenum.toml",
        &format!("listen = \"127.0.0.1:{p1}\"\nmax_calls = 5\n"),
    );
    let file = file.to_str().expect("a UTF-8 path");
    let env_listen = format!("127.0.0.1:{p2}");
    let flag_listen = format!("127.0.0.1:{p3}");

    // The file alone.
    let server = sandbox
        .serve_at(
            loopback(p1),
            &["--config", file, "--admin-password", ADMIN_PASSWORD],
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(max_calls(&server).await, 5);
    server.stop().await;

    // PLENUM_LISTEN beats the file's listen; the file's other keys still apply.
    let server = sandbox
        .serve_at(
            loopback(p2),
            &["--config", file],
            &[("PLENUM_LISTEN", &env_listen)],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!answers(p1), "the file's port answers");
    assert_eq!(max_calls(&server).await, 5);
    server.stop().await;

    // --listen beats both; PLENUM_MAX_CALLS beats the file's max_calls.
    let server = sandbox
        .serve_at(
            loopback(p3),
            &["--config", file, "--listen", &flag_listen],
            &[("PLENUM_LISTEN", &env_listen), ("PLENUM_MAX_CALLS", "7")],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!answers(p1), "the file's port answers");
    assert!(!answers(p2), "the environment's port answers");
    assert_eq!(max_calls(&server).await, 7);
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_key_in_the_configuration_file_is_refused_by_name() {
    let sandbox = Sandbox::new();
    let port = free_port();
    let file = sandbox.write(
        "plenum.toml",
        &format!("listen = \"127.0.0.1:{port}\"\nmax_cals = 5\n"),
    );
    let file = file.to_str().expect("a UTF-8 path");

    let serve = sandbox.run(&["serve", "--config", file]).await;
    serve.assert_failed();
    assert!(serve.stderr.contains("max_cals"), "{serve:?}");
    assert!(serve.stderr.contains(file), "{serve:?}");
    assert!(!answers(port));
    // Nothing was started: the data directory was not even created.
    assert!(!sandbox.data_dir().exists());

    // The offline commands read the same file the same way.
    let offline = sandbox.run(&["--config", file, "company", "list"]).await;
    offline.assert_failed();
    assert!(offline.stderr.contains("max_cals"), "{offline:?}");
}

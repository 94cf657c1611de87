//! The offline administration commands, `plenum user …` and `plenum company …`, on the data
//! directory, followed by the server that serves what they wrote.

use serde_json::json;

use crate::{Sandbox, announced_password, announced_passwords};

/// The password a command printed as `generated password (shown only now): …`.
#[track_caller]
fn generated_password(stdout: &str) -> String {
    let found: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("generated password (shown only now): "))
        .collect();
    assert_eq!(found.len(), 1, "one generated password expected:\n{stdout}");
    found[0].to_owned()
}

#[tokio::test]
async fn user_create_initialises_a_new_data_directory_and_the_user_can_sign_in() {
    let sandbox = Sandbox::new();
    let created = sandbox
        .run(&[
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
    // The data directory was new: it was initialised, and the admin's password announced.
    let admin_password = announced_password(&created.stdout);
    assert!(
        created
            .stdout
            .contains("created user bob (MeetingOperator)"),
        "{created:?}"
    );
    assert!(!created.stdout.contains("Passw0rd-123"), "{created:?}");

    let server = sandbox.serve(&[], &[]).await;
    assert!(announced_passwords(&server.stdout()).is_empty());
    let bob = server.sign_in("bob", "Passw0rd-123").await;
    let info = server
        .post("/api/v1/user/info?client_id=c1", Some(&bob), None)
        .await;
    assert_eq!(info.status.as_u16(), 200, "{info:?}");
    assert_eq!(info.body["username"], "bob");
    assert_eq!(info.body["role"], json!(["MeetingOperator"]));
    server.sign_in("admin", &admin_password).await;
    server.stop().await;
}

#[tokio::test]
async fn user_create_refuses_a_taken_name_and_generates_or_reads_passwords() {
    let sandbox = Sandbox::new();
    sandbox
        .run(&[
            "user",
            "create",
            "--username",
            "bob",
            "--password",
            "Passw0rd-123",
        ])
        .await
        .assert_ok();
    // The data directory exists now: nothing more to announce.
    let taken = sandbox
        .run(&[
            "user",
            "create",
            "--username",
            "BOB",
            "--password",
            "Other-Passw0rd-9",
        ])
        .await;
    taken.assert_failed();
    assert!(taken.stderr.contains("already taken"), "{taken:?}");
    assert!(!taken.stdout.contains("created user"), "{taken:?}");
    assert!(announced_passwords(&taken.stdout).is_empty(), "{taken:?}");

    let generated = sandbox
        .run(&["user", "create", "--username", "carol"])
        .await;
    generated.assert_ok();
    let carol_password = generated_password(&generated.stdout);
    assert!(carol_password.len() >= 12, "{generated:?}");
    assert!(generated.stderr.is_empty(), "{generated:?}");

    let from_stdin = sandbox
        .run_with_stdin(
            &["user", "create", "--username", "dave", "--password-stdin"],
            "Stdin-Passw0rd-7\n",
        )
        .await;
    from_stdin.assert_ok();
    assert!(from_stdin.stdout.contains("created user dave (Normal)"));
    assert!(!from_stdin.stdout.contains("generated password"));

    let server = sandbox.serve(&[], &[]).await;
    server.sign_in("bob", "Passw0rd-123").await;
    server
        .try_sign_in("bob", "Other-Passw0rd-9")
        .await
        .assert_error(401, "invalid_credentials");
    server.sign_in("carol", &carol_password).await;
    server.sign_in("dave", "Stdin-Passw0rd-7").await;
    server.stop().await;
}

#[tokio::test]
async fn reset_password_while_stopped_replaces_the_password_and_ends_the_sessions() {
    let sandbox = Sandbox::new();
    sandbox
        .run(&[
            "user",
            "create",
            "--username",
            "bob",
            "--role",
            "MeetingOperator",
            "--password",
            "Passw0rd-123",
        ])
        .await
        .assert_ok();
    let server = sandbox.serve(&[], &[]).await;
    let old_token = server.sign_in("bob", "Passw0rd-123").await;
    server.stop().await;

    let reset = sandbox
        .run(&[
            "user",
            "reset-password",
            "--username",
            "bob",
            "--password",
            "New-Passw0rd",
        ])
        .await;
    reset.assert_ok();
    assert!(reset.stdout.contains("password of bob reset"), "{reset:?}");
    let unknown = sandbox
        .run(&[
            "user",
            "reset-password",
            "--username",
            "ghost",
            "--password",
            "New-Passw0rd",
        ])
        .await;
    unknown.assert_failed();
    assert!(unknown.stderr.starts_with("plenum: "), "{unknown:?}");

    let server = sandbox.serve(&[], &[]).await;
    server
        .try_sign_in("bob", "Passw0rd-123")
        .await
        .assert_error(401, "invalid_credentials");
    server
        .post("/api/v1/user/info", Some(&old_token), None)
        .await
        .assert_error(401, "token_invalid");
    let new_token = server.sign_in("bob", "New-Passw0rd").await;
    let info = server
        .post("/api/v1/user/info", Some(&new_token), None)
        .await;
    assert_eq!(info.body["role"], json!(["MeetingOperator"]), "{info:?}");
    server.stop().await;
}

#[tokio::test]
async fn company_create_and_list_and_the_company_admin_signs_in() {
    let sandbox = Sandbox::new();
    let created = sandbox
        .run(&[
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
    created.assert_ok();
    assert!(created.stdout.contains("\"Acme\""), "{created:?}");
    assert!(created.stdout.contains("acme-admin"), "{created:?}");

    let bad_zone = sandbox
        .run(&[
            "company",
            "create",
            "--name",
            "Nowhere",
            "--time-zone",
            "Mars/Olympus_Mons",
            "--admin-username",
            "nowhere-admin",
            "--password",
            "Passw0rd-123",
        ])
        .await;
    bad_zone.assert_failed();
    assert!(bad_zone.stderr.contains("time_zone"), "{bad_zone:?}");

    let list = sandbox.run(&["company", "list"]).await;
    list.assert_ok();
    let acme: Vec<&str> = list
        .stdout
        .lines()
        .filter(|l| l.split('\t').nth(1) == Some("Acme"))
        .collect();
    assert_eq!(acme.len(), 1, "{list:?}");
    assert!(
        acme[0].split('\t').any(|f| f == "Europe/Berlin"),
        "{list:?}"
    );
    assert!(!list.stdout.contains("Nowhere"), "{list:?}");
    assert!(
        list.stdout.lines().any(|l| l.ends_with("\tdefault")),
        "{list:?}"
    );

    let server = sandbox.serve(&[], &[]).await;
    let token = server.sign_in("acme-admin", "Passw0rd-123").await;
    let info = server.post("/api/v1/user/info", Some(&token), None).await;
    assert_eq!(info.status.as_u16(), 200, "{info:?}");
    assert_eq!(info.body["role"], json!(["SystemAdmin"]), "{info:?}");
    server.stop().await;
}

//! Webhooks and the real binary: a server killed (-9) while deliveries are under way sends
//! everything that was not acknowledged after its restart; `plenum webhook …` offline.

use std::time::{Duration, Instant};

use plenum_testkit::webhooks::{Mode, Receiver, distinct_delivered};
use serde_json::json;

use crate::{ADMIN_PASSWORD, Sandbox, Server};

/// A configuration for tests: loopback receivers allowed, quick retries and polls.
const CONFIG: &str = "\
[webhooks]
allow_private = true
attempt_timeout_ms = 1000
retry_first_delay_ms = 50
retry_max_delay_ms = 200
retry_for_secs = 3600
poll_interval_ms = 50
";

async fn create_user(server: &Server, admin: &str, name: &str) {
    let reply = server
        .post(
            "/api/v1/user/users",
            Some(admin),
            Some(json!({"username": name, "password": "Passw0rd-123", "role": "Normal"})),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
}

#[tokio::test]
async fn a_server_killed_during_delivery_sends_what_was_not_acknowledged_after_its_restart() {
    let sandbox = Sandbox::new();
    let config = sandbox.write("plenum.toml", CONFIG);
    let config = config.to_str().expect("a UTF-8 path");
    let server = sandbox
        .serve(
            &["--config", config, "--admin-password", ADMIN_PASSWORD],
            &[],
        )
        .await;
    let admin = server.sign_in("admin", ADMIN_PASSWORD).await;
    let receiver = Receiver::start().await;
    let reply = server
        .post(
            "/api/v1/webhooks",
            Some(&admin),
            Some(json!({"url": receiver.url(), "event_types": ["user.created"]})),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
    receiver.set_secret(reply.body["secret"].as_str().expect("the secret"));
    // Some are delivered, then the receiver holds its answers: attempts are under way when
    // the server dies, others wait behind them.
    for i in 0..5 {
        create_user(&server, &admin, &format!("early{i}")).await;
    }
    receiver.wait_delivered(5, Duration::from_secs(20)).await;
    receiver.set_mode(Mode::Slow(Duration::from_secs(3)));
    for i in 0..20 {
        create_user(&server, &admin, &format!("late{i}")).await;
    }
    receiver.wait_until(Duration::from_secs(20), |_| true).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.crash().await;

    receiver.set_mode(Mode::Accept);
    let server = sandbox.serve(&["--config", config], &[]).await;
    let started = Instant::now();
    let all = receiver
        .wait_until(Duration::from_secs(30), |all| {
            distinct_delivered(all).len() >= 25
        })
        .await;
    let delivered = distinct_delivered(&all);
    let names: Vec<String> = delivered
        .iter()
        .map(|r| r.body["data"]["username"].as_str().unwrap_or("").to_owned())
        .collect();
    let mut expected: Vec<String> = (0..5).map(|i| format!("early{i}")).collect();
    expected.extend((0..20).map(|i| format!("late{i}")));
    let mut sorted = names.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected, "every event once at least, none lost");
    assert!(
        all.iter().all(|r| r.valid),
        "signed with the same secret after the restart"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    server.stop().await;
}

#[tokio::test]
async fn meetings_a_kill_9_left_open_are_told_ended_at_the_restart() {
    let sandbox = Sandbox::new();
    let config = sandbox.write("plenum.toml", CONFIG);
    let config = config.to_str().expect("a UTF-8 path");
    let server = sandbox
        .serve(
            &["--config", config, "--admin-password", ADMIN_PASSWORD],
            &[],
        )
        .await;
    let admin = server.sign_in("admin", ADMIN_PASSWORD).await;
    let receiver = Receiver::start().await;
    let reply = server
        .post(
            "/api/v1/webhooks",
            Some(&admin),
            Some(json!({"url": receiver.url(), "event_types": ["participant.left", "meeting.ended"]})),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
    receiver.set_secret(reply.body["secret"].as_str().expect("the secret"));
    let room = server
        .post(
            "/api/v1/meeting_room",
            Some(&admin),
            Some(json!({"meetingroom_name": "Ops", "meeting_number": "7100002", "meeting_password": "1234"})),
        )
        .await;
    assert_eq!(room.status.as_u16(), 200, "{room:?}");
    let (_stays, stay_id) = crate::live::join(&server, "7100002", "Stays").await;
    server.crash().await;

    // The next start closes the meeting where the dead server last vouched for it, and
    // tells the webhooks as a graceful end would have: the stay, then the meeting.
    let server = sandbox.serve(&["--config", config], &[]).await;
    let all = receiver
        .wait_until(Duration::from_secs(20), |all| {
            distinct_delivered(all).len() >= 2
        })
        .await;
    let delivered = distinct_delivered(&all);
    let types: Vec<&str> = delivered
        .iter()
        .map(|r| r.body["type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        types,
        ["participant.left", "meeting.ended"],
        "{delivered:?}"
    );
    let (left, ended) = (&delivered[0].body["data"], &delivered[1].body["data"]);
    assert_eq!(left["participant_id"], json!(stay_id));
    assert_eq!(left["reason"], "server_shutdown");
    assert_eq!(ended["meeting_number"], "7100002");
    assert_eq!(ended["reason"], "server_shutdown");
    assert_eq!(left["session_id"], ended["session_id"]);
    assert!(all.iter().all(|r| r.valid), "signed");
    server.stop().await;
}

#[tokio::test]
async fn webhooks_are_added_listed_rotated_and_removed_offline() {
    let sandbox = Sandbox::new();
    let config = sandbox.write("plenum.toml", CONFIG);
    let config = config.to_str().expect("a UTF-8 path");
    let added = sandbox
        .run(&[
            "--config",
            config,
            "webhook",
            "add",
            "http://127.0.0.1:9/hook",
            "--event-types",
            "meeting.started,meeting.ended",
            "--description",
            "ops",
        ])
        .await;
    added.assert_ok();
    // The first offline command initialised the data directory: its admin password.
    let admin_password = crate::announced_password(&added.stdout);
    let secret_line = added
        .stdout
        .lines()
        .find(|l| l.starts_with("signing secret (shown only now): whsec_"))
        .unwrap_or_else(|| panic!("no secret printed: {}", added.stdout));
    let secret = secret_line
        .rsplit(' ')
        .next()
        .expect("the secret")
        .to_owned();
    let listed = sandbox.run(&["--config", config, "webhook", "list"]).await;
    listed.assert_ok();
    let line = listed
        .stdout
        .lines()
        .last()
        .expect("one endpoint")
        .to_owned();
    assert!(line.contains("http://127.0.0.1:9/hook"), "{line}");
    assert!(line.contains("meeting.started,meeting.ended"), "{line}");
    assert!(line.contains("active"), "{line}");
    assert!(
        !listed.stdout.contains(&secret),
        "a list never shows the secret"
    );
    let id = line.split('\t').next().expect("the id").to_owned();
    // The same URL again, a URL that is not http, an unknown type: refused.
    for args in [
        vec!["webhook", "add", "http://127.0.0.1:9/hook"],
        vec!["webhook", "add", "ftp://127.0.0.1/hook"],
        vec![
            "webhook",
            "add",
            "http://127.0.0.1:10/",
            "--event-types",
            "meeting.exploded",
        ],
    ] {
        let mut all = vec!["--config", config];
        all.extend(args);
        sandbox.run(&all).await.assert_failed();
    }
    let rotated = sandbox
        .run(&["--config", config, "webhook", "rotate", &id])
        .await;
    rotated.assert_ok();
    assert!(rotated.stdout.contains("whsec_"));
    assert!(!rotated.stdout.contains(&secret), "a new secret");
    sandbox
        .run(&["--config", config, "webhook", "remove", &id])
        .await
        .assert_ok();
    let listed = sandbox.run(&["--config", config, "webhook", "list"]).await;
    assert!(!listed.stdout.contains(&id));
    // Private addresses need the configuration's permission.
    let refused = sandbox
        .run(&["webhook", "add", "http://127.0.0.1:9/hook"])
        .await;
    refused.assert_failed();
    assert!(refused.stderr.contains("private"), "{}", refused.stderr);
    // The operator's changes are in the audit log, as the operator, without an address.
    let server = sandbox.serve(&["--config", config], &[]).await;
    let admin = server.sign_in("admin", &admin_password).await;
    let log = server
        .get("/api/v1/audit?actor=operator&page_size=50", Some(&admin))
        .await;
    assert_eq!(log.status.as_u16(), 200, "{log:?}");
    let actions: Vec<&str> = log.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        actions,
        ["webhook.delete", "webhook.rotate_secret", "webhook.create"]
    );
    assert!(log.body["entries"][0].get("address").is_none());
    assert_eq!(log.body["entries"][0]["actor"]["name"], "operator");
    server.stop().await;
}

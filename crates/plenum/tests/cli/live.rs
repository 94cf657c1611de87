//! Live meetings and the real binary: a kill -9 loses no acknowledged join or leave.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::{ADMIN_PASSWORD, Sandbox, Server};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next JSON frame of type `kind` (bounded: at most 50 frames, 10 s each).
async fn frame_of(socket: &mut Socket, kind: &str) -> Value {
    for _ in 0..50 {
        let next = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("a frame in time")
            .expect("an open connection")
            .expect("a readable frame");
        if let Message::Text(text) = next {
            let value: Value = serde_json::from_str(text.as_str()).expect("JSON");
            if value["type"] == kind {
                return value;
            }
        }
    }
    panic!("no `{kind}` frame");
}

/// A guest joined to `number`: the socket and its client_uuid.
async fn join(server: &Server, number: &str, name: &str) -> (Socket, String) {
    let url = format!("ws://{}/api/v1/live", server.addr);
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connecting the client protocol");
    frame_of(&mut socket, "hello").await;
    let join =
        json!({"type": "join", "meeting_number": number, "password": "1234", "display_name": name});
    socket
        .send(Message::text(join.to_string()))
        .await
        .expect("sending join");
    let joined = frame_of(&mut socket, "joined").await;
    let id = joined["client_uuid"]
        .as_str()
        .expect("client_uuid")
        .to_owned();
    (socket, id)
}

#[tokio::test]
async fn joins_and_leaves_acknowledged_before_a_kill_9_are_all_recorded() {
    let sandbox = Sandbox::new();
    let server = sandbox
        .serve(&["--admin-password", ADMIN_PASSWORD], &[])
        .await;
    let admin = server.sign_in("admin", ADMIN_PASSWORD).await;
    let room = server
        .post(
            "/api/v1/meeting_room",
            Some(&admin),
            Some(json!({"meetingroom_name": "Ops", "meeting_number": "7100001", "meeting_password": "1234"})),
        )
        .await;
    assert_eq!(room.status.as_u16(), 200, "{room:?}");

    let (_a, _) = join(&server, "7100001", "Stays A").await;
    let (_b, _) = join(&server, "7100001", "Stays B").await;
    let (mut c, _) = join(&server, "7100001", "Leaves C").await;
    c.send(Message::text(json!({"type": "leave"}).to_string()))
        .await
        .expect("sending leave");
    frame_of(&mut c, "left").await;
    let running = server
        .post("/api/v1/meeting/7100001", Some(&admin), None)
        .await;
    let session = running.body["session_id"]
        .as_str()
        .expect("a session")
        .to_owned();
    assert_eq!(
        running.body["participants"].as_array().map(Vec::len),
        Some(2)
    );

    server.crash().await;

    // The next start closes the session and the two stays that were open — and only those:
    // the join of C and its leave were acknowledged, so they were already on disk.
    let server = sandbox.serve(&[], &[]).await;
    let log = server.stderr();
    assert!(
        log.contains("closed the meetings a previous run left open"),
        "{log}"
    );
    assert!(log.contains("sessions=1"), "{log}");
    assert!(log.contains("attendance=2"), "{log}");

    // The record, as an integration reads it (Rokid's participants of the meeting): all
    // three stays are closed, none before its join; C's leave is where C left.
    let admin = server.sign_in("admin", ADMIN_PASSWORD).await;
    let key = server
        .post(
            "/api/v1/api_keys",
            Some(&admin),
            Some(json!({"name": "ops", "kind": "api_key"})),
        )
        .await;
    let key = key.body["api_key"].as_str().expect("an API key").to_owned();
    let stays: Value = reqwest::Client::new()
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
    assert_eq!(names, ["Leaves C", "Stays A", "Stays B"], "{stays:?}");
    for stay in &stays {
        assert_eq!(stay["status"], "已退出", "{stay}");
        assert!(
            !stay["endTime"].as_str().unwrap_or_default().is_empty(),
            "{stay}"
        );
        assert!(
            stay["endTime"].as_str() >= stay["startTime"].as_str(),
            "{stay}"
        );
    }

    // Nothing runs any more; the room starts a new session on the next join.
    server
        .post("/api/v1/meeting/7100001", Some(&admin), None)
        .await
        .assert_error(404, "meeting_not_running");
    let (_d, _) = join(&server, "7100001", "Next day").await;
    let again = server
        .post("/api/v1/meeting/7100001", Some(&admin), None)
        .await;
    assert_ne!(again.body["session_id"].as_str(), Some(session.as_str()));
    server.stop().await;
}

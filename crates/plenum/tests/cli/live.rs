//! Live meetings and the real binary: a kill -9 loses no acknowledged join or leave.

use plenum_client::{Frame, Ignore, JoinRequest, Observer, Participant, live_url};
use serde_json::{Value, json};

use crate::{ADMIN_PASSWORD, Sandbox, Server};

/// The types of the frames a participant received.
#[derive(Default)]
struct Types(Vec<String>);

impl Observer for Types {
    async fn frame(&mut self, frame: &Frame) {
        if let Ok(v) = frame.value() {
            self.0
                .push(v["type"].as_str().unwrap_or_default().to_owned());
        }
    }
}

/// A guest joined to `number` with `plenum_client` (the client `plenum bot` runs).
pub(crate) async fn join(server: &Server, number: &str, name: &str) -> (Participant, String) {
    let url = live_url(&server.url("")).expect("the live URL");
    let mut p = Participant::connect(&url, None)
        .await
        .expect("connecting the client protocol");
    let request = JoinRequest {
        meeting_number: number.to_owned(),
        password: Some("1234".to_owned()),
        display_name: name.to_owned(),
        device_type: "web".to_owned(),
        media_type: "video".to_owned(),
    };
    let joined = p
        .join(&request, &mut Ignore)
        .await
        .unwrap_or_else(|e| panic!("joining {name}: {e:?}"));
    (p, joined.client_uuid)
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
    let mut seen = Types::default();
    let (ending, why) = c.leave(&mut seen).await;
    assert_eq!(ending, plenum_client::Ending::Left, "{why}");
    assert!(seen.0.iter().any(|t| t == "left"), "{:?}", seen.0);
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

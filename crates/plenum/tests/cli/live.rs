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
    let (p, joined) = try_join(server, number, name)
        .await
        .unwrap_or_else(|e| panic!("joining {name}: {e}"));
    (p, joined.client_uuid)
}

/// A guest's join to `number` (password 1234); `Err` says why it failed.
pub(crate) async fn try_join(
    server: &Server,
    number: &str,
    name: &str,
) -> Result<(Participant, plenum_client::Joined), String> {
    let url = live_url(&server.url("")).expect("the live URL");
    let mut p = Participant::connect(&url, None)
        .await
        .map_err(|e| format!("connecting: {e:#}"))?;
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
        .map_err(|e| format!("{e:?}"))?;
    Ok((p, joined))
}

/// Signs the admin in and makes the room `number` (password 1234); the admin's token.
async fn admin_with_room(server: &Server, number: &str) -> String {
    let admin = server.sign_in("admin", ADMIN_PASSWORD).await;
    let room = server
        .post(
            "/api/v1/meeting_room",
            Some(&admin),
            Some(json!({"meetingroom_name": "Ops", "meeting_number": number, "meeting_password": "1234"})),
        )
        .await;
    assert_eq!(room.status.as_u16(), 200, "{room:?}");
    admin
}

#[tokio::test]
async fn joins_and_leaves_acknowledged_before_a_kill_9_are_all_recorded() {
    let sandbox = Sandbox::new();
    let server = sandbox
        .serve(&["--admin-password", ADMIN_PASSWORD], &[])
        .await;
    let admin = admin_with_room(&server, "7100001").await;

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

/// Sessions of ten lines each (a session and nine stays), `lines` in all, owned by `admin`.
fn history_file(lines: usize) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(lines * 260);
    let mut k = 0usize;
    while k * 10 < lines {
        let session = format!("5e550000-0000-4000-8000-{k:012x}");
        let day = 1 + k % 28;
        let _ = writeln!(
            out,
            r#"{{"type":"session","id":"{session}","meeting_number":"{number}","name":"Review {k}","owner":"admin","started_at":"2025-03-{day:02}T08:00:00Z","ended_at":"2025-03-{day:02}T09:00:00Z"}}"#,
            number = 8_000_000 + k % 5000
        );
        for a in 0..9usize {
            let stay = format!("57a70000-0000-4000-8000-{:012x}", k * 16 + a);
            let _ = writeln!(
                out,
                r#"{{"type":"attendance","id":"{stay}","session":"{session}","display_name":"Guest {a}","device_type":"web","media_type":"video","joined_at":"2025-03-{day:02}T08:0{a}:00Z","left_at":"2025-03-{day:02}T08:30:00Z"}}"#
            );
        }
        k += 1;
    }
    out
}

/// A large `plenum import` (another process, one transaction) while people join and leave a
/// running meeting: every join is acknowledged and the meeting keeps running. Before the
/// import was written by the journal itself, 100,000 lines held the write lock for longer
/// than the journal waits (5 s in a debug build), and the meeting ended.
#[tokio::test]
async fn a_large_import_while_people_join_ends_no_meeting_and_loses_no_join() {
    const LINES: usize = 100_000;
    const MOST_JOINS: usize = 400;
    let sandbox = Sandbox::new();
    let server = sandbox
        .serve(&["--admin-password", ADMIN_PASSWORD], &[])
        .await;
    let admin = admin_with_room(&server, "7100003").await;
    let (_stays, _) = join(&server, "7100003", "Stays").await;
    let session = server
        .post("/api/v1/meeting/7100003", Some(&admin), None)
        .await
        .body["session_id"]
        .as_str()
        .expect("a session")
        .to_owned();

    let file = sandbox.write("history.jsonl", &history_file(LINES));
    let path = file.to_str().expect("a UTF-8 path").to_owned();
    let data_dir = sandbox.data_dir();
    let import = tokio::spawn(async move {
        let mut cmd = crate::plenum();
        cmd.arg("--data-dir").arg(data_dir).args(["import", &path]);
        crate::run(cmd, None).await
    });
    // People come and go for as long as the import runs (bounded: MOST_JOINS).
    let mut joins = 0;
    while !import.is_finished() && joins < MOST_JOINS {
        let (mut p, _) = join(&server, "7100003", &format!("Visitor {joins}")).await;
        let (ending, why) = p.leave(&mut Ignore).await;
        assert_eq!(ending, plenum_client::Ending::Left, "{why}");
        joins += 1;
    }
    let imported = import.await.expect("the import's task");
    imported.assert_ok();
    assert!(
        imported.stdout.contains("10000 sessions, 90000 attendance"),
        "{}",
        imported.stdout
    );
    assert!(joins >= 2, "the import was over before anyone joined");

    // The same meeting, still running, with the one who stayed.
    let running = server
        .post("/api/v1/meeting/7100003", Some(&admin), None)
        .await;
    assert_eq!(running.body["session_id"].as_str(), Some(session.as_str()));
    assert_eq!(
        running.body["participants"].as_array().map(Vec::len),
        Some(1),
        "{running:?}"
    );
    server.stop().await;
}

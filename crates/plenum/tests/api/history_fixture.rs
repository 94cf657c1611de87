//! The record of meetings every history-surface test starts from, imported over HTTP
//! (`POST /api/v1/history/import`) into a company in Europe/Berlin, and a second company with
//! a record of its own, so every test can also check that nothing crosses the border.

use plenum_testkit::TestApp;
use serde_json::{Value, json};

/// Ids of the imported records (fixed, so tests can name them).
pub mod ids {
    pub const BOARD: &str = "01900000-0000-7000-8000-0000000000b1";
    pub const LAB: &str = "01900000-0000-7000-8000-0000000000b2";
    /// Ended, in the board room, Berlin 2026-06-17 10:00–10:45.
    pub const REVIEW: &str = "01900000-0000-7000-8000-000000000051";
    /// Still running, in the board room, from Berlin 2026-06-18 10:00.
    pub const SYNC: &str = "01900000-0000-7000-8000-000000000052";
    /// Ended, in the lab, Berlin 2026-06-10 14:00–15:00.
    pub const LAB_TEST: &str = "01900000-0000-7000-8000-000000000053";
    pub const ALICE_IN_REVIEW: &str = "01900000-0000-7000-8000-0000000000a1";
    pub const BOB_IN_REVIEW: &str = "01900000-0000-7000-8000-0000000000a2";
    pub const PHONE_IN_REVIEW: &str = "01900000-0000-7000-8000-0000000000a3";
    pub const BOB_IN_SYNC: &str = "01900000-0000-7000-8000-0000000000a4";
    /// REVIEW, video, completed, 2700 s.
    pub const REC_REVIEW: &str = "01900000-0000-7000-8000-0000000000c1";
    /// REVIEW, audio of ALICE_IN_REVIEW, completed, 600 s.
    pub const REC_ALICE: &str = "01900000-0000-7000-8000-0000000000c2";
    /// SYNC, video, processing, 60 s, no end.
    pub const REC_SYNC: &str = "01900000-0000-7000-8000-0000000000c3";
    /// LAB_TEST, video, completed, 3600 s.
    pub const REC_LAB: &str = "01900000-0000-7000-8000-0000000000c4";
    /// Globex's own.
    pub const GLOBEX_ROOM: &str = "01900000-0000-7000-8000-0000000009b1";
    pub const GLOBEX_SESSION: &str = "01900000-0000-7000-8000-000000000951";
    pub const GLOBEX_ATTENDANCE: &str = "01900000-0000-7000-8000-0000000009a1";
    pub const GLOBEX_RECORDING: &str = "01900000-0000-7000-8000-0000000009c1";
}

pub const PASSWORD: &str = "Passw0rd-123";

/// The Berlin company's record, as JSON lines.
pub fn acme_jsonl() -> String {
    use ids::*;
    let lines = [
        json!({"type": "room", "id": BOARD, "name": "Board", "meeting_number": "7000001", "owner": "alice"}),
        json!({"type": "room", "id": LAB, "name": "Lab", "meeting_number": "7000002", "owner": "carol"}),
        json!({"type": "session", "id": REVIEW, "room": BOARD, "meeting_number": "7000001",
               "name": "Device Inspection Review", "owner": "alice", "invitees": ["bob", "carol"],
               "started_at": "2026-06-17T08:00:00Z", "ended_at": "2026-06-17T08:45:00Z"}),
        json!({"type": "session", "id": SYNC, "room": BOARD, "meeting_number": "7000001",
               "name": "Weekly sync", "owner": "bob", "started_at": "2026-06-18T08:00:00Z"}),
        json!({"type": "session", "id": LAB_TEST, "room": LAB, "meeting_number": "7000002",
               "name": "Lab test", "owner": "carol", "started_at": "2026-06-10T12:00:00Z",
               "ended_at": "2026-06-10T13:00:00Z"}),
        json!({"type": "attendance", "id": ALICE_IN_REVIEW, "session": REVIEW, "user": "alice",
               "display_name": "Alice", "device_type": "desktop", "media_type": "video",
               "department": "Engineering", "joined_at": "2026-06-17T08:00:12Z",
               "left_at": "2026-06-17T08:45:00Z"}),
        json!({"type": "attendance", "id": BOB_IN_REVIEW, "session": REVIEW, "user": "bob",
               "display_name": "Bob", "device_type": "web", "media_type": "video",
               "joined_at": "2026-06-17T08:05:20Z", "left_at": "2026-06-17T08:30:00Z"}),
        json!({"type": "attendance", "id": PHONE_IN_REVIEW, "session": REVIEW,
               "display_name": "+991116005905", "call_number": "+991116005905",
               "device_type": "phone", "media_type": "audio", "department": "Field",
               "joined_at": "2026-06-17T08:10:00Z", "left_at": "2026-06-17T08:20:00Z"}),
        json!({"type": "attendance", "id": BOB_IN_SYNC, "session": SYNC, "user": "bob",
               "display_name": "Bob", "device_type": "mobile", "media_type": "video",
               "joined_at": "2026-06-18T08:01:00Z"}),
        json!({"type": "recording", "id": REC_REVIEW, "session": REVIEW, "kind": "video",
               "status": "completed", "codec": "vp8", "size_bytes": 5_600_000, "duration_secs": 2700,
               "started_at": "2026-06-17T08:00:30Z", "ended_at": "2026-06-17T08:45:00Z",
               "completed_at": "2026-06-17T08:46:00Z",
               "download_url": "https://files.example/review.webm"}),
        json!({"type": "recording", "id": REC_ALICE, "session": REVIEW, "attendance": ALICE_IN_REVIEW,
               "kind": "audio", "status": "completed", "codec": "opus", "size_bytes": 1_200_000,
               "duration_secs": 600, "started_at": "2026-06-17T08:10:00Z",
               "ended_at": "2026-06-17T08:20:00Z", "completed_at": "2026-06-17T08:21:00Z",
               "download_url": "https://files.example/alice.ogg"}),
        json!({"type": "recording", "id": REC_SYNC, "session": SYNC, "kind": "video",
               "status": "processing", "codec": "vp8", "size_bytes": 0, "duration_secs": 60,
               "started_at": "2026-06-18T08:02:00Z"}),
        json!({"type": "recording", "id": REC_LAB, "session": LAB_TEST, "kind": "video",
               "status": "completed", "codec": "h264", "size_bytes": 9_000_000, "duration_secs": 3600,
               "started_at": "2026-06-10T12:00:00Z", "ended_at": "2026-06-10T13:00:00Z",
               "completed_at": "2026-06-10T13:05:00Z", "download_url": "https://files.example/lab.mp4"}),
    ];
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn globex_jsonl() -> String {
    use ids::*;
    [
        json!({"type": "room", "id": GLOBEX_ROOM, "name": "Globex room", "meeting_number": "9000001", "owner": "gina"}),
        json!({"type": "session", "id": GLOBEX_SESSION, "room": GLOBEX_ROOM, "meeting_number": "9000001",
               "name": "Device Inspection Review (Globex)", "owner": "gina",
               "started_at": "2026-06-17T08:00:00Z", "ended_at": "2026-06-17T09:00:00Z"}),
        json!({"type": "attendance", "id": GLOBEX_ATTENDANCE, "session": GLOBEX_SESSION, "user": "gina",
               "display_name": "Gina", "device_type": "desktop", "media_type": "video",
               "joined_at": "2026-06-17T08:00:00Z", "left_at": "2026-06-17T09:00:00Z"}),
        json!({"type": "recording", "id": GLOBEX_RECORDING, "session": GLOBEX_SESSION,
               "attendance": GLOBEX_ATTENDANCE, "kind": "video", "status": "completed",
               "codec": "vp8", "size_bytes": 1, "duration_secs": 3600,
               "started_at": "2026-06-17T08:00:00Z", "ended_at": "2026-06-17T09:00:00Z",
               "completed_at": "2026-06-17T09:01:00Z", "download_url": "https://files.example/globex.webm"}),
    ]
    .iter()
    .map(|l| format!("{l}\n"))
    .collect()
}

/// A server with both companies' records, and the credentials to read them.
#[derive(Debug)]
pub struct Recorded {
    pub app: TestApp,
    /// Acme (Europe/Berlin): its id, its SystemAdmin alice's token, a bearer API key.
    pub acme_id: String,
    pub alice: String,
    pub acme_key: String,
    /// Globex (UTC): its id, its SystemAdmin gina's token, a bearer API key.
    pub globex_id: String,
    pub gina: String,
    pub globex_key: String,
}

pub async fn create_key(app: &TestApp, admin: &str, name: &str, kind: &str) -> Value {
    let reply = app
        .post(
            "/api/v1/api_keys",
            Some(admin),
            json!({"name": name, "kind": kind}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    reply.body
}

pub async fn import(app: &TestApp, admin: &str, text: String) -> plenum_testkit::Reply {
    let response = app
        .client
        .post(app.url("/api/v1/history/import"))
        .bearer_auth(admin)
        .header("content-type", "application/x-ndjson")
        .body(text)
        .send()
        .await
        .unwrap_or_else(|e| panic!("import request failed: {e}"));
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    plenum_testkit::Reply {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

async fn company(
    app: &TestApp,
    operator: &str,
    name: &str,
    zone: &str,
    admin: &str,
) -> (String, String) {
    let reply = app
        .post(
            "/api/v1/companies",
            Some(operator),
            json!({"name": name, "time_zone": zone, "admin": {"username": admin, "password": PASSWORD, "real_name": admin.to_uppercase()}}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    let id = reply.body["company_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (id, app.sign_in(admin, PASSWORD).await)
}

pub async fn recorded() -> Recorded {
    recorded_with(|_| {}).await
}

pub async fn recorded_with(configure: impl FnOnce(&mut plenum::config::Settings)) -> Recorded {
    let app = TestApp::spawn_with(configure).await;
    let operator = app.admin_token().await;
    let (acme_id, alice) = company(&app, &operator, "Acme", "Europe/Berlin", "alice").await;
    for (name, role) in [("bob", "Normal"), ("carol", "MeetingOperator")] {
        app.create_user(&alice, name, role, PASSWORD).await;
    }
    let imported = import(&app, &alice, acme_jsonl()).await;
    assert_eq!(imported.status.as_u16(), 200, "{}", imported.body);
    let (globex_id, gina) = company(&app, &operator, "Globex", "UTC", "gina").await;
    let imported = import(&app, &gina, globex_jsonl()).await;
    assert_eq!(imported.status.as_u16(), 200, "{}", imported.body);
    let acme_key = create_key(&app, &alice, "acme integration", "api_key").await["api_key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let globex_key = create_key(&app, &gina, "globex integration", "api_key").await["api_key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Recorded {
        app,
        acme_id,
        alice,
        acme_key,
        globex_id,
        gina,
        globex_key,
    }
}

/// Acme's Telnyx recordings (`query` is the query string, with its `?`), with Acme's API key.
pub async fn acme_recordings(r: &Recorded, query: &str) -> plenum_testkit::Reply {
    send(
        &r.app,
        reqwest::Method::GET,
        &format!("/v2/room_recordings{query}"),
        &[("authorization", &format!("Bearer {}", r.acme_key))],
        None,
    )
    .await
}

/// Sends a request with extra headers and an optional JSON body; status, body, headers.
pub async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> plenum_testkit::Reply {
    let mut request = app.client.request(method, app.url(path));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    plenum_testkit::Reply {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

//! Integration tests of the HTTP API: a real server per test, real HTTP over loopback.

mod audit;
mod browser;
mod calendar;
mod companies;
mod errors;
mod history_admin;
mod history_fixture;
mod history_tenancy;
mod host_controls;
mod huawei;
mod join_page;
mod live;
mod media;
mod metrics;
mod openapi;
mod persistence;
mod races;
mod recording;
mod recording_files;
mod recurrence;
mod rocketchat;
mod rokid;
mod rooms;
mod schedules;
mod stress;
mod system;
mod telnyx;
mod tokens;
mod users;
mod vendor_sdks;
mod watch;
mod web_app;
mod webhooks;

use serde_json::Value;

/// The keys of a JSON object, sorted: for "exactly the documented fields" checks.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

pub fn sorted(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

/// Asserts an FRTC error: the status, the code, and the documented shape.
#[track_caller]
pub fn assert_frtc_error(reply: &plenum_testkit::Reply, status: u16, code: &str) {
    assert_eq!(reply.status.as_u16(), status, "body: {}", reply.body);
    assert_eq!(reply.error_code(), code, "body: {}", reply.body);
    assert_eq!(keys(&reply.body), sorted(&["error", "errorCode"]));
    assert!(!reply.body["error"].as_str().unwrap_or("").is_empty());
}

// --- helpers of the scheduling tests -------------------------------------------------------

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;

/// The test server's "now" (its manual clock), in milliseconds since the Unix epoch.
pub fn now_ms(app: &plenum_testkit::TestApp) -> i64 {
    use plenum_service::Clock as _;
    app.clock.now().as_millisecond()
}

/// A whole minute `days` days after the server's now: a good start for a reservation.
pub fn in_days(app: &plenum_testkit::TestApp, days: i64) -> i64 {
    (now_ms(app) / MINUTE_MS) * MINUTE_MS + days * DAY_MS
}

/// Schedules a meeting (`POST /api/v1/meeting_schedule`), asserting success; the detail.
pub async fn schedule(app: &plenum_testkit::TestApp, token: &str, body: Value) -> Value {
    let reply = app
        .post("/api/v1/meeting_schedule", Some(token), body.clone())
        .await;
    assert_eq!(
        reply.status.as_u16(),
        200,
        "scheduling {body} failed: {}",
        reply.body
    );
    reply.body
}

/// A reservation named `name` from `start` for an hour, with optional extra fields.
pub async fn reserve(
    app: &plenum_testkit::TestApp,
    token: &str,
    name: &str,
    start: i64,
    extra: Value,
) -> Value {
    let mut body = serde_json::json!({
        "meeting_type": "reservation",
        "meeting_name": name,
        "schedule_start_time": start,
        "schedule_end_time": start + HOUR_MS,
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    schedule(app, token, body).await
}

/// The string field `key` of a JSON object (panics if it is not a string).
#[track_caller]
pub fn s(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string `{key}` in {v}"))
        .to_owned()
}

/// Signs in a new user of the caller's company: (user id, token).
pub async fn user(
    app: &plenum_testkit::TestApp,
    admin_token: &str,
    username: &str,
    role: &str,
) -> (String, String) {
    let id = app
        .create_user(admin_token, username, role, "Passw0rd-123")
        .await;
    (id, app.sign_in(username, "Passw0rd-123").await)
}

/// Creates a company (as the platform operator `operator`) with the admin `admin` and
/// returns the admin's token.
pub async fn company_admin(
    app: &plenum_testkit::TestApp,
    operator: &str,
    name: &str,
    time_zone: &str,
    admin: &str,
) -> String {
    let reply = app
        .post(
            "/api/v1/companies",
            Some(operator),
            serde_json::json!({"name": name, "time_zone": time_zone,
                   "admin": {"username": admin, "password": "Passw0rd-123"}}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    app.sign_in(admin, "Passw0rd-123").await
}

/// A plain-text answer (e.g. iCalendar): status, Content-Type and body.
pub async fn text(
    app: &plenum_testkit::TestApp,
    path: &str,
    token: Option<&str>,
) -> (u16, String, String) {
    let mut request = app.client.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path} failed: {e}"));
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response
        .text()
        .await
        .unwrap_or_else(|e| panic!("reading {path} failed: {e}"));
    (status, content_type, body)
}

/// A room with `number` and password `1234`, owned by the caller.
pub async fn room(app: &plenum_testkit::TestApp, token: &str, number: &str) {
    let reply = app
        .post(
            "/api/v1/meeting_room",
            Some(token),
            serde_json::json!({"meetingroom_name": format!("Room {number}"), "meeting_number": number,
                   "meeting_password": "1234"}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
}

/// A test server whose meetings look at the clock often, so end times and heartbeat
/// timeouts are seen quickly after the manual clock moves.
pub async fn live_app() -> plenum_testkit::TestApp {
    plenum_testkit::TestApp::spawn_with(|s| {
        s.policy.live.tick_interval = std::time::Duration::from_millis(20)
    })
    .await
}

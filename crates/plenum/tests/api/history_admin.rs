//! The FRTC-style extensions for the record of meetings: integration keys
//! (`/api/v1/api_keys`) and import (`/api/v1/history/import`).

use reqwest::Method;
use serde_json::json;

use crate::history_fixture::{
    PASSWORD, Recorded, acme_jsonl, acme_recordings, create_key, ids, import, recorded, send,
};
use crate::{assert_frtc_error, keys, sorted};

async fn recording_total(r: &crate::history_fixture::Recorded) -> serde_json::Value {
    acme_recordings(r, "").await.body["meta"]["total_results"].clone()
}

#[tokio::test]
async fn keys_are_shown_once_listed_without_secrets_and_revoked() {
    let r = recorded().await;
    let created = create_key(&r.app, &r.alice, "crm", "api_key").await;
    assert_eq!(
        keys(&created),
        sorted(&[
            "api_key_id",
            "name",
            "kind",
            "prefix",
            "created_time",
            "api_key"
        ])
    );
    let secret = created["api_key"].as_str().unwrap_or_default().to_owned();
    assert!(secret.len() >= 40, "{secret}");
    assert!(secret.starts_with(created["prefix"].as_str().unwrap_or("-")));
    let app = create_key(&r.app, &r.alice, "welink", "huawei_app").await;
    assert_eq!(
        keys(&app),
        sorted(&[
            "api_key_id",
            "name",
            "kind",
            "prefix",
            "created_time",
            "app_id",
            "app_key"
        ])
    );
    // The default kind is a bearer key.
    let default = r
        .app
        .post("/api/v1/api_keys", Some(&r.alice), json!({"name": "plain"}))
        .await;
    assert_eq!(default.body["kind"], "api_key");

    let listed = r.app.get("/api/v1/api_keys", Some(&r.alice)).await;
    assert_eq!(listed.status.as_u16(), 200);
    let text = listed.body.to_string();
    assert!(
        !text.contains(&secret) && !text.contains(app["app_key"].as_str().unwrap_or("-")),
        "{text}"
    );
    let names: Vec<&str> = listed.body["api_keys"]
        .as_array()
        .unwrap_or_else(|| unreachable!())
        .iter()
        .map(|k| k["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        vec!["acme integration", "crm", "welink", "plain"],
        "oldest first, own company only"
    );

    let id = created["api_key_id"].as_str().unwrap_or_default();
    let revoked = r
        .app
        .call(
            Method::DELETE,
            &format!("/api/v1/api_keys/{id}"),
            Some(&r.alice),
            None,
        )
        .await;
    assert_eq!(revoked.status.as_u16(), 200);
    assert!(revoked.body["revoked_time"].is_i64());
    assert!(revoked.body.get("api_key").is_none());
    // Another company's SystemAdmin cannot revoke or see it; unknown ids are 404.
    for who in [&r.gina, &r.alice] {
        let path = if who == &r.gina {
            format!("/api/v1/api_keys/{id}")
        } else {
            "/api/v1/api_keys/01900000-0000-7000-8000-00000000ffff".to_owned()
        };
        assert_frtc_error(
            &r.app.call(Method::DELETE, &path, Some(who), None).await,
            404,
            "api_key_not_found",
        );
    }
    assert_frtc_error(
        &r.app
            .call(
                Method::DELETE,
                "/api/v1/api_keys/nope",
                Some(&r.alice),
                None,
            )
            .await,
        404,
        "api_key_not_found",
    );
    assert!(
        !r.app
            .get("/api/v1/api_keys", Some(&r.gina))
            .await
            .body
            .to_string()
            .contains("crm")
    );
}

#[tokio::test]
async fn keys_need_a_system_admin_and_valid_fields() {
    let r = recorded().await;
    let carol = r.app.sign_in("carol", PASSWORD).await;
    for (method, path) in [
        (Method::POST, "/api/v1/api_keys"),
        (Method::GET, "/api/v1/api_keys"),
        (Method::DELETE, "/api/v1/api_keys/x"),
    ] {
        let body = (method == Method::POST).then(|| json!({"name": "x"}));
        assert_frtc_error(
            &r.app
                .call(method.clone(), path, Some(&carol), body.clone())
                .await,
            403,
            "permission_denied",
        );
        assert_frtc_error(
            &r.app.call(method, path, None, body).await,
            401,
            "token_missing",
        );
    }
    for (body, code) in [
        (json!({"name": ""}), "empty_value"),
        (json!({"name": "x".repeat(65)}), "too_long"),
        (json!({"name": "ok", "kind": "password"}), "invalid_choice"),
        (json!({"name": "a\u{7}b"}), "invalid_characters"),
    ] {
        assert_frtc_error(
            &r.app.post("/api/v1/api_keys", Some(&r.alice), body).await,
            400,
            code,
        );
    }
    assert_frtc_error(
        &r.app
            .post("/api/v1/api_keys", Some(&r.alice), json!({}))
            .await,
        400,
        "missing_field",
    );
}

#[tokio::test]
async fn importing_the_same_file_again_changes_nothing() {
    let r = recorded().await;
    let again = import(&r.app, &r.alice, acme_jsonl()).await;
    assert_eq!(again.status.as_u16(), 200, "{}", again.body);
    assert_eq!(
        again.body,
        json!({"rooms": 0, "sessions": 0, "attendance": 0, "recordings": 0, "unchanged": 13})
    );
    assert_eq!(recording_total(&r).await, 4);
    // Records without ids get ids from their line: the same line imports once.
    let line = format!(
        "{}\n",
        json!({"type": "attendance", "session": ids::REVIEW, "display_name": "Late guest", "device_type": "web",
               "media_type": "audio", "joined_at": "2026-06-17T08:40:00Z", "left_at": "2026-06-17T08:44:00Z"})
    );
    let first = import(&r.app, &r.alice, line.clone()).await;
    assert_eq!(first.body["attendance"], 1, "{}", first.body);
    let second = import(&r.app, &r.alice, line).await;
    assert_eq!(
        second.body,
        json!({"rooms": 0, "sessions": 0, "attendance": 0, "recordings": 0, "unchanged": 1})
    );
}

#[tokio::test]
async fn a_bad_line_refuses_the_whole_file_naming_the_line() {
    let r = recorded().await;
    let good = json!({"type": "session", "id": "01900000-0000-7000-8000-000000000777", "meeting_number": "7000009",
                      "name": "Would be new", "owner": "alice", "started_at": "2026-07-01T08:00:00Z"});
    let good_rec = json!({"type": "recording", "session": "01900000-0000-7000-8000-000000000777", "kind": "video",
                          "status": "completed", "codec": "vp8", "size_bytes": 1, "duration_secs": 1,
                          "started_at": "2026-07-01T08:00:00Z"});
    for (bad, reason) in [
        (
            json!({"type": "attendance", "session": "01900000-0000-7000-8000-000000000999", "display_name": "x", "device_type": "web", "media_type": "video", "joined_at": "2026-07-01T08:00:00Z"}),
            "session",
        ),
        (
            json!({"type": "session", "meeting_number": "7000010", "name": "x", "owner": "nobody", "started_at": "2026-07-01T08:00:00Z"}),
            "nobody",
        ),
        (
            json!({"type": "session", "meeting_number": "7000010", "name": "x", "owner": "gina", "started_at": "2026-07-01T08:00:00Z"}),
            "gina",
        ),
        (
            json!({"type": "session", "id": ids::GLOBEX_SESSION, "meeting_number": "7000010", "name": "x", "owner": "alice", "started_at": "2026-07-01T08:00:00Z"}),
            "already in use",
        ),
        (
            json!({"type": "room", "name": "Taken", "meeting_number": "9000001", "owner": "alice"}),
            "meeting_number",
        ),
        (
            json!({"type": "recording", "session": ids::REVIEW, "kind": "smell", "status": "completed", "codec": "x", "size_bytes": 1, "duration_secs": 1, "started_at": "2026-07-01T08:00:00Z"}),
            "kind",
        ),
        (
            json!({"type": "recording", "session": ids::REVIEW, "attendance": ids::BOB_IN_SYNC, "kind": "video", "status": "completed", "codec": "x", "size_bytes": 1, "duration_secs": 1, "started_at": "2026-07-01T08:00:00Z"}),
            "attendance",
        ),
        (json!({"type": "party"}), "unknown variant"),
    ] {
        let text = format!("{good}\n\n{good_rec}\n{bad}\n");
        let reply = import(&r.app, &r.alice, text).await;
        assert_frtc_error(&reply, 400, "import_refused");
        let message = reply.body["error"].as_str().unwrap_or("");
        assert!(message.contains("line 4"), "{message}");
        assert!(message.contains(reason), "{reason}: {message}");
        assert_eq!(
            recording_total(&r).await,
            4,
            "nothing of the file was written ({reason})"
        );
    }
    let broken = import(&r.app, &r.alice, format!("{good}\n{{\"type\":")).await;
    assert_frtc_error(&broken, 400, "import_refused");
    assert!(
        broken.body["error"]
            .as_str()
            .unwrap_or("")
            .contains("line 2")
    );
    let response = r
        .app
        .client
        .post(r.app.url("/api/v1/history/import"))
        .bearer_auth(&r.alice)
        .body(vec![b'{', b'\n', 0xff, 0xfe])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    assert!(
        body["error"]
            .as_str()
            .unwrap_or("")
            .contains("line 2: the file is not UTF-8"),
        "{body}"
    );
}

#[tokio::test]
async fn import_needs_a_system_admin() {
    let r = recorded().await;
    let carol = r.app.sign_in("carol", PASSWORD).await;
    assert_frtc_error(
        &import(&r.app, &carol, acme_jsonl()).await,
        403,
        "permission_denied",
    );
    let anonymous = r
        .app
        .client
        .post(r.app.url("/api/v1/history/import"))
        .body(acme_jsonl())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(anonymous.status().as_u16(), 401);
}

// --- a record that contradicts itself ------------------------------------------------------

/// A session of the refused files: new, ended, in the past.
const NEW_SESSION: &str = "01900000-0000-7000-8000-000000000778";

/// What the history surfaces show of Acme: its sessions (Rokid, newest first), the rows of
/// the sessions the refused files add stays to, and its recordings (Telnyx). Equal before and
/// after a refused file: nothing of it was written.
async fn acme_record(r: &Recorded) -> serde_json::Value {
    let auth = format!("Bearer {}", r.acme_key);
    let headers = [("authorization", auth.as_str())];
    let meetings = send(
        &r.app,
        Method::POST,
        "/ar/corporation/openapi/rtc/meeting/info/page",
        &headers,
        Some(json!({"companyId": r.acme_id, "pageSize": 500})),
    )
    .await;
    assert_eq!(meetings.status.as_u16(), 200, "{}", meetings.body);
    let mut rows = Vec::new();
    for session in [ids::REVIEW, ids::SYNC] {
        let path = format!("/ar/corporation/openapi/rtc/meeting/record/list?id={session}");
        let reply = send(&r.app, Method::GET, &path, &headers, None).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        rows.push(reply.body);
    }
    json!({"meetings": meetings.body, "rows": rows, "recordings": recording_total(r).await})
}

/// Imports a file of good lines, a blank line and `bad` (line 5); asserts that it is refused
/// as `import_refused` naming line 5 with `reason`, and that nothing of it was written. The
/// message.
async fn assert_line_5_refused(r: &Recorded, bad: serde_json::Value, reason: &str) -> String {
    let good = [
        json!({"type": "session", "id": NEW_SESSION, "meeting_number": "7000009", "name": "Would be new",
               "owner": "alice", "started_at": "2026-07-01T08:00:00Z", "ended_at": "2026-07-01T09:00:00Z"}),
        json!({"type": "attendance", "session": ids::REVIEW, "display_name": "Would be new too",
               "device_type": "web", "media_type": "audio", "joined_at": "2026-06-17T08:10:00Z",
               "left_at": "2026-06-17T08:20:00Z"}),
        json!({"type": "recording", "session": NEW_SESSION, "kind": "video", "status": "completed",
               "codec": "vp8", "size_bytes": 1, "duration_secs": 1, "started_at": "2026-07-01T08:00:00Z",
               "download_url": "https://files.example/new.webm"}),
    ];
    let text = format!("{}\n{}\n{}\n\n{bad}\n", good[0], good[1], good[2]);
    let before = acme_record(r).await;
    let reply = import(&r.app, &r.alice, text).await;
    assert_frtc_error(&reply, 400, "import_refused");
    let message = reply.body["error"].as_str().unwrap_or("").to_owned();
    assert!(
        message.starts_with("the import was refused, nothing was written: line 5: "),
        "{bad}: {message}"
    );
    assert!(message.contains(reason), "{reason}: {message}");
    assert_eq!(
        acme_record(r).await,
        before,
        "nothing of the file was written ({message})"
    );
    message
}

fn stay_in(session: &str, joined_at: &str, left_at: Option<&str>) -> serde_json::Value {
    let mut stay = json!({"type": "attendance", "session": session, "display_name": "Guest",
                          "device_type": "web", "media_type": "video", "joined_at": joined_at});
    if let Some(left_at) = left_at {
        stay["left_at"] = json!(left_at);
    }
    stay
}

#[tokio::test]
async fn a_stay_without_left_at_in_an_ended_session_left_at_its_end() {
    let r = recorded().await;
    // REVIEW (imported by an earlier request) ended at 08:45 UTC, 10:45 in Acme's zone. A
    // stay without left_at is closed then, not "still in the meeting" (Rokid 会议中, Huawei
    // leftTime null) of a meeting that is over; one that joined early is kept as recorded.
    let mut early = stay_in(
        ids::REVIEW,
        "2026-06-17T07:58:00Z",
        Some("2026-06-17T08:05:00Z"),
    );
    early["display_name"] = json!("Early Bird");
    let mut open = stay_in(ids::REVIEW, "2026-06-17T08:10:00Z", None);
    open["display_name"] = json!("No Leave Time");
    let imported = import(&r.app, &r.alice, format!("{early}\n{open}\n")).await;
    assert_eq!(imported.status.as_u16(), 200, "{}", imported.body);
    assert_eq!(imported.body["attendance"], 2);
    let headers = [("authorization", format!("Bearer {}", r.acme_key))];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let path = format!(
        "/ar/corporation/openapi/rtc/meeting/record/list?id={}",
        ids::REVIEW
    );
    let rows = send(&r.app, Method::GET, &path, &headers, None).await.body;
    let row = |name: &str| {
        rows.as_array()
            .and_then(|rows| rows.iter().find(|r| r["participantUserFullName"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {rows}"))
    };
    assert_eq!(row("No Leave Time")["endTime"], "2026-06-17 10:45:00");
    assert_eq!(row("No Leave Time")["status"], "已退出");
    assert_eq!(row("Early Bird")["startTime"], "2026-06-17 09:58:00");
}

#[tokio::test]
async fn a_running_session_starting_in_the_future_is_refused() {
    let r = recorded().await;
    let in_an_hour = plenum_domain::Timestamp::from_millisecond(crate::now_ms(&r.app) + 3_600_000)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string();
    // Running (no ended_at) from the future: nothing would ever end it.
    for started_at in ["2099-01-01T00:00:00Z", in_an_hour.as_str()] {
        let session = json!({"type": "session", "meeting_number": "7000010", "name": "Tomorrow",
                             "owner": "alice", "started_at": started_at});
        assert_line_5_refused(&r, session, "started_at is in the future").await;
    }
    // One that started a minute ago and is still running is history.
    let a_minute_ago = plenum_domain::Timestamp::from_millisecond(crate::now_ms(&r.app) - 60_000)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string();
    let running = import(
        &r.app,
        &r.alice,
        format!(
            "{}\n",
            json!({"type": "session", "meeting_number": "7000010", "name": "Just started",
                   "owner": "alice", "started_at": a_minute_ago})
        ),
    )
    .await;
    assert_eq!(running.status.as_u16(), 200, "{}", running.body);
    assert_eq!(running.body["sessions"], 1);
}

#[tokio::test]
async fn a_download_url_that_is_not_an_http_url_is_refused() {
    let r = recorded().await;
    for url in [
        "javascript:alert(1)",
        "JavaScript://files.example/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "/recordings/review.webm",
        "files.example/review.webm",
        "ftp://files.example/review.webm",
        "https://",
        "https://files.example/a b.webm",
        "https://files.example/\"onmouseover=\"alert(1)",
    ] {
        let recording = json!({"type": "recording", "session": ids::REVIEW, "kind": "video",
                               "status": "completed", "codec": "vp8", "size_bytes": 1, "duration_secs": 1,
                               "started_at": "2026-06-17T08:00:00Z", "ended_at": "2026-06-17T08:01:00Z",
                               "download_url": url});
        assert_line_5_refused(
            &r,
            recording,
            "download_url: must be an absolute http or https URL",
        )
        .await;
    }
    let long = format!("https://files.example/{}", "a".repeat(2048));
    assert_line_5_refused(
        &r,
        json!({"type": "recording", "session": ids::REVIEW, "kind": "video", "status": "completed",
               "codec": "vp8", "size_bytes": 1, "duration_secs": 1,
               "started_at": "2026-06-17T08:00:00Z", "download_url": long}),
        "download_url: must be at most 2048 characters",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_username_is_named_as_written() {
    let r = recorded().await;
    for (bad, field) in [
        (
            json!({"type": "session", "meeting_number": "7000010", "name": "x", "owner": "alice",
                   "invitees": ["bob", "bobb"], "started_at": "2026-07-01T08:00:00Z"}),
            "invitees",
        ),
        (
            json!({"type": "session", "meeting_number": "7000010", "name": "x", "owner": "bobb",
                   "started_at": "2026-07-01T08:00:00Z"}),
            "owner",
        ),
        (
            json!({"type": "attendance", "session": ids::REVIEW, "user": "bobb", "display_name": "B",
                   "device_type": "web", "media_type": "video", "joined_at": "2026-06-17T08:10:00Z",
                   "left_at": "2026-06-17T08:20:00Z"}),
            "user",
        ),
    ] {
        let expected = format!("{field}: the company has no user \"bobb\"");
        assert_eq!(
            assert_line_5_refused(&r, bad, &expected).await,
            format!("the import was refused, nothing was written: line 5: {expected}")
        );
    }
}

/// An empty import (the README's example posts one when its file is missing) is refused as
/// empty, not answered "0 imported".
#[tokio::test]
async fn an_empty_import_is_refused_as_empty() {
    let r = recorded().await;
    for body in ["", "\n\n  \n"] {
        let reply = import(&r.app, &r.alice, body.to_owned()).await;
        assert_frtc_error(&reply, 400, "import_refused");
        let message = reply.body["error"].as_str().unwrap_or("");
        assert!(message.contains("no records"), "{message}");
    }
    assert_eq!(recording_total(&r).await, 4, "nothing changed");
}

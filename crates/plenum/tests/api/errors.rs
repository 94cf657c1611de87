//! Errors that are not about one endpoint.

use plenum_testkit::TestApp;
use plenum_testkit::live::LiveClient;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::history_fixture::{create_key, send};
use crate::{HOUR_MS, assert_frtc_error, in_days, keys, now_ms, room, s, schedule, sorted};

#[tokio::test]
async fn unknown_paths_and_methods_get_the_frtc_error_shape() {
    let app = TestApp::spawn().await;
    assert_frtc_error(
        &app.get("/api/v1/nothing-here", None).await,
        404,
        "not_found",
    );
    let reply = app
        .call(Method::DELETE, "/api/v1/user/sign_in", None, None)
        .await;
    assert_frtc_error(&reply, 405, "method_not_allowed");
}

#[tokio::test]
async fn malformed_bodies_are_told_apart() {
    let app = TestApp::spawn().await;
    let cases = [
        ("{", "malformed_json"),
        ("[]", "malformed_json"),
        ("\"admin\"", "malformed_json"),
        (
            "{\"username\": \"admin\", \"password\": \"x\"} trailing",
            "malformed_json",
        ),
        ("", "missing_field"),
        ("{}", "missing_field"),
        (
            "{\"username\": null, \"password\": \"x\"}",
            "invalid_field_type",
        ),
        (
            "{\"username\": [\"admin\"], \"password\": \"x\"}",
            "invalid_field_type",
        ),
        (
            "{\"username\": \"admin\", \"password\": 123}",
            "invalid_field_type",
        ),
    ];
    for (body, code) in cases {
        let reply = app
            .call_raw(Method::POST, "/api/v1/user/sign_in", None, body)
            .await;
        assert_frtc_error(&reply, 400, code);
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::spawn().await;
    let huge = "x".repeat(100 * 1024);
    let reply = app
        .post(
            "/api/v1/user/sign_in",
            None,
            json!({"username": "admin", "password": huge}),
        )
        .await;
    assert_frtc_error(&reply, 413, "payload_too_large");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let ok = app.get("/healthz", None).await;
    assert_eq!(ok.status, StatusCode::OK);
    let err = app.get("/api/v1/user/info", None).await;
    for reply in [ok, err] {
        let id = reply
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert_eq!(id.len(), 36, "{id:?}");
    }
}

/// The client protocol's route has its own layers (its answer is logged at debug); its
/// responses still carry a request id: the upgrade's 101 and a refusal alike.
#[tokio::test]
async fn the_client_protocol_upgrade_carries_a_request_id_too() {
    let app = TestApp::spawn().await;
    let refused = app.get("/api/v1/live", None).await;
    assert!(refused.status.is_client_error(), "{:?}", refused.status);
    let url = app.url("/api/v1/live").replacen("http://", "ws://", 1);
    let (_socket, upgraded) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap_or_else(|e| panic!("cannot connect the client protocol: {e}"));
    assert_eq!(upgraded.status().as_u16(), 101);
    let ids: Vec<String> = [
        refused.headers.get("x-request-id"),
        upgraded.headers().get("x-request-id"),
    ]
    .into_iter()
    .map(|v| v.and_then(|v| v.to_str().ok()).unwrap_or("").to_owned())
    .collect();
    for id in &ids {
        assert_eq!(id.len(), 36, "{id:?}");
    }
    assert_ne!(ids[0], ids[1]);
}

#[tokio::test]
async fn list_filters_refuse_control_characters_and_overlong_text() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for path in ["/api/v1/meeting_schedule", "/api/v1/user/public/users"] {
        let reply = app
            .get(&format!("{path}?filter=%00%00%00"), Some(&admin))
            .await;
        assert_frtc_error(&reply, 400, "invalid_characters");
        let long = "a".repeat(129);
        let reply = app
            .get(&format!("{path}?filter={long}"), Some(&admin))
            .await;
        assert_frtc_error(&reply, 400, "too_long");
        // Characters that mean something to SQL or the search syntax are plain text.
        let reply = app
            .get(
                &format!("{path}?filter=%22%27%3B--%20*%20OR%20NEAR("),
                Some(&admin),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
}

#[tokio::test]
async fn times_that_are_not_whole_milliseconds_are_refused_by_name() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for (start, end) in [
        (json!(1e30), json!(2e30)),
        (json!(1.5), json!(2.5)),
        (json!("soon"), json!("later")),
    ] {
        let reply = app
            .post(
                "/api/v1/meeting_schedule",
                Some(&admin),
                json!({"meeting_type": "reservation", "meeting_name": "x",
                       "schedule_start_time": start, "schedule_end_time": end}),
            )
            .await;
        assert_frtc_error(&reply, 400, "invalid_time");
        let message = reply.body["error"].as_str().unwrap_or("");
        assert!(
            message.contains("schedule_") && message.contains("milliseconds"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn vendor_paths_answer_what_cannot_be_routed_in_their_own_shape() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let key = create_key(&app, &admin, "shapes", "api_key").await["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = format!("Bearer {key}");
    let headers = [("authorization", bearer.as_str())];
    let call = |method: Method, path: &'static str| send(&app, method, path, &headers, None);

    // Rokid: Spring's body, with the request's path.
    for (method, path, status) in [
        (
            Method::GET,
            "/ar/corporation/openapi/rtc/meeting/info/page",
            405,
        ),
        (
            Method::POST,
            "/ar/corporation/openapi/rtc/meeting/record/list",
            405,
        ),
        (Method::GET, "/ar/corporation/openapi/rtc/nothing", 404),
    ] {
        let reply = call(method, path).await;
        assert_eq!(reply.status.as_u16(), status, "{path}: {}", reply.body);
        assert_eq!(
            keys(&reply.body),
            sorted(&["error", "message", "path", "status", "timestamp"])
        );
        assert_eq!(reply.body["status"], status);
        assert_eq!(reply.body["path"], path);
    }

    // Telnyx: `errors`; an id that is not even text is an unknown recording.
    for (method, path, status, code) in [
        (Method::POST, "/v2/room_recordings", 405, "10015"),
        (Method::GET, "/v2/room_recordings/a/b", 404, "10005"),
        (Method::GET, "/v2/room_recordings/%FF", 404, "10005"),
    ] {
        let reply = call(method, path).await;
        assert_eq!(reply.status.as_u16(), status, "{path}: {}", reply.body);
        assert_eq!(keys(&reply.body), sorted(&["errors"]), "{}", reply.body);
        assert_eq!(reply.body["errors"][0]["code"], code);
    }

    // Huawei: the API gateway's `error_code` / `error_msg`.
    for (method, path, status) in [
        (Method::GET, "/v2/usg/acs/auth/appauth", 405),
        (Method::GET, "/v1/mmc/management/conferences/nothing", 404),
    ] {
        let reply = call(method, path).await;
        assert_eq!(reply.status.as_u16(), status, "{path}: {}", reply.body);
        assert_eq!(keys(&reply.body), sorted(&["error_code", "error_msg"]));
        assert_eq!(reply.body["error_code"], "APIGW.0101");
    }

    // Rocket.Chat, under FRTC's /api/v1.
    for (method, path, status) in [
        (Method::GET, "/api/v1/login", 405),
        (Method::GET, "/api/v1/video-conference.nothing", 404),
    ] {
        let reply = call(method, path).await;
        assert_eq!(reply.status.as_u16(), status, "{path}: {}", reply.body);
        assert_eq!(reply.body["status"], "error", "{}", reply.body);
        assert!(reply.body["message"].is_string());
    }

    // Bodies over the limit.
    let huge = json!({"pad": "x".repeat(100 * 1024)});
    let rokid = "/ar/corporation/openapi/rtc/meeting/info/page";
    let reply = send(&app, Method::POST, rokid, &headers, Some(huge.clone())).await;
    assert_eq!(reply.status.as_u16(), 413, "{}", reply.body);
    assert_eq!(reply.body["status"], 413);
    let login = "/api/v1/login";
    let reply = send(&app, Method::POST, login, &[], Some(huge.clone())).await;
    assert_eq!(reply.status.as_u16(), 413, "{}", reply.body);
    assert_eq!(reply.body["success"], false);
    let appauth = "/v2/usg/acs/auth/appauth";
    let reply = send(&app, Method::POST, appauth, &[], Some(huge)).await;
    assert_eq!(reply.status.as_u16(), 413, "{}", reply.body);
    assert_eq!(reply.body["error_code"], "APIGW.0201");
}

/// axum's own refusals — a body over the limit where a handler reads raw bytes, a path
/// parameter that is not UTF-8 — come in the FRTC shape, not as plain text.
#[tokio::test]
async fn what_axum_refuses_itself_is_an_frtc_error_too() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let huge = json!({"meeting_name": "x".repeat(100 * 1024)});
    let reply = app
        .post("/api/v1/meeting_schedule/recurrence", Some(&admin), huge)
        .await;
    assert_frtc_error(&reply, 413, "payload_too_large");
    for (path, parameter) in [
        ("/api/v1/user/users/%FF", "user_id"),
        ("/api/v1/meeting_schedule/%FF", "reservation_id"),
        ("/api/v1/meeting/%FF", "meeting_number"),
        ("/files/recordings/%FF/x/y", "company"),
    ] {
        let reply = app.get(path, Some(&admin)).await;
        assert_frtc_error(&reply, 400, "malformed_request");
        let message = reply.body["error"].as_str().unwrap_or("");
        assert!(message.contains(parameter), "{path}: {message}");
    }
}

/// `base` with the fields of `extra` set.
fn with(base: &Value, extra: Value) -> Value {
    let mut body = base.clone();
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    body
}

/// Each rule a value can break has its own code (docs/errors.md): one request each, the
/// code and status exact, the field named.
#[tokio::test]
async fn each_broken_rule_has_its_own_code() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let alice = app
        .create_user(&admin, "alice", "Normal", "Passw0rd-123")
        .await;
    let bob = app
        .create_user(&admin, "bob", "Normal", "Passw0rd-123")
        .await;
    let new_user = json!({"username": "carol", "password": "Passw0rd-123"});
    let start = in_days(&app, 1);
    let reservation = json!({"meeting_type": "reservation", "meeting_name": "Review",
        "schedule_start_time": start, "schedule_end_time": start + HOUR_MS});
    let users = "/api/v1/user/users";
    let schedules = "/api/v1/meeting_schedule";
    let cases = [
        (
            users,
            with(&new_user, json!({"username": ""})),
            "empty_value",
            "username",
        ),
        (
            users,
            with(&new_user, json!({"real_name": "Car\u{0}ol"})),
            "invalid_characters",
            "real_name",
        ),
        (
            users,
            with(&new_user, json!({"role": "Boss"})),
            "invalid_choice",
            "role",
        ),
        (
            users,
            with(&new_user, json!({"email": "carol"})),
            "invalid_email",
            "email",
        ),
        (
            users,
            with(&new_user, json!({"mobile": "call me"})),
            "invalid_mobile",
            "mobile",
        ),
        (
            users,
            with(&new_user, json!({"username": "-carol"})),
            "invalid_username",
            "username",
        ),
        (
            schedules,
            with(&reservation, json!({"time_to_join": 1441})),
            "out_of_range",
            "time_to_join",
        ),
        (
            schedules,
            with(&reservation, json!({"schedule_start_time": -5})),
            "invalid_time",
            "schedule_start_time",
        ),
        (
            schedules,
            with(
                &reservation,
                json!({"invited_users": [alice], "invited_users_detail": [{"user_id": bob}]}),
            ),
            "conflicting_fields",
            "invited_users",
        ),
    ];
    for (path, body, code, field) in cases {
        let reply = app.post(path, Some(&admin), body.clone()).await;
        assert_frtc_error(&reply, 400, code);
        assert!(
            s(&reply.body, "error").contains(field),
            "{body}: {}",
            reply.body
        );
    }

    // A meeting stays the kind it was created as.
    let created = schedule(&app, &admin, reservation.clone()).await;
    let path = format!("{schedules}/{}", s(&created, "reservation_id"));
    let reply = app
        .post(&path, Some(&admin), json!({"meeting_type": "instant"}))
        .await;
    assert_frtc_error(&reply, 400, "immutable_field");
    assert!(
        s(&reply.body, "error").contains("meeting_type"),
        "{}",
        reply.body
    );

    // Query parameters: a number out of range, one that is no number, a query that cannot
    // be read (a parameter twice).
    for (query, status, code) in [
        ("page_size=501", 400, "out_of_range"),
        ("page_num=first", 400, "invalid_field_type"),
        ("page_num=1&page_num=2", 400, "malformed_request"),
    ] {
        let reply = app.get(&format!("{schedules}?{query}"), Some(&admin)).await;
        assert_frtc_error(&reply, status, code);
    }
}

/// The codes of a running meeting's calls, its live stream and the client protocol's door.
#[tokio::test]
async fn a_running_meeting_refuses_with_its_own_codes() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    room(&app, &admin, "7400001").await;
    let mut host = LiveClient::connect(&app, Some(&admin)).await;
    host.join_ok("7400001", Some("1234"), "Host").await;
    let meeting = "/api/v1/meeting/7400001";

    // An end moved into the past.
    let reply = app
        .post(
            meeting,
            Some(&admin),
            json!({"end_time": now_ms(&app) - 1000}),
        )
        .await;
    assert_frtc_error(&reply, 400, "end_in_past");
    assert!(
        s(&reply.body, "error").contains("end_time"),
        "{}",
        reply.body
    );

    // Asking to be unmuted when nobody muted you.
    let path = format!("{meeting}/request_unmute?client_id={}", host.id());
    let reply = app.post(&path, Some(&admin), json!({})).await;
    assert_frtc_error(&reply, 409, "not_muted");

    // A live stream pushed to something that is not an RTMP address; nothing starts.
    let live = format!("{meeting}/live");
    let reply = app
        .post(
            &live,
            Some(&admin),
            json!({"rtmp_url": "http://example.com/x"}),
        )
        .await;
    assert_frtc_error(&reply, 400, "invalid_url");
    assert!(
        s(&reply.body, "error").contains("rtmp_url"),
        "{}",
        reply.body
    );

    // A WHEP offer that is no SDP offer, or no text at all.
    let reply = app
        .post(&live, Some(&admin), json!({"live_password": "4321"}))
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    let detail = app.get(meeting, Some(&admin)).await.body;
    let live_url = s(&detail, "live_url");
    let id = live_url.rsplit('/').next().unwrap_or_default();
    for offer in [b"v=0 this is no offer".to_vec(), vec![0xff, 0xfe, 0x00]] {
        let response = app
            .client
            .post(app.url(&format!("/live/{id}/whep")))
            .header(reqwest::header::CONTENT_TYPE, "application/sdp")
            .bearer_auth("4321")
            .body(offer)
            .send()
            .await
            .expect("the WHEP request");
        assert_eq!(response.status().as_u16(), 400);
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(body["errorCode"], "invalid_sdp", "{body}");
    }

    // The client protocol's endpoint without a WebSocket upgrade.
    let reply = app.get("/api/v1/live", None).await;
    assert_frtc_error(&reply, 426, "websocket_required");
    assert_eq!(
        reply.headers.get("upgrade").and_then(|v| v.to_str().ok()),
        Some("websocket")
    );
}

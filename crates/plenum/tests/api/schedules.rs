//! Single scheduled meetings (FRTC "Meeting Schedule"): instant meetings and reservations,
//! their numbers, validation, lists and permissions.

use plenum_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    DAY_MS, HOUR_MS, assert_frtc_error, company_admin, in_days, keys, now_ms, reserve, s, schedule,
    sorted, user,
};

/// Every field of a scheduled meeting's detail (create answer and `GET …/{reservation_id}`).
const DETAIL_FIELDS: &[&str] = &[
    "reservation_id",
    "meeting_type",
    "meeting_name",
    "meeting_description",
    "meeting_number",
    "call_rate_type",
    "schedule_start_time",
    "schedule_end_time",
    "meeting_password",
    "invited_users_detail",
    "owner_id",
    "owner_name",
    "recurrence_gid",
    "recurrence_type",
    "meeting_room_id",
    "mute_upon_entry",
    "guest_dial_in",
    "watermark",
    "watermark_type",
    "time_to_join",
    "generate_live_url",
    "live_passcode",
    "live_meeting_url",
    "meeting_url",
];

/// The fields of a row of the meeting lists, as documented.
pub const ROW_FIELDS: &[&str] = &[
    "meeting_number",
    "meeting_name",
    "meeting_type",
    "meeting_password",
    "reservation_id",
    "recurrence_gid",
    "schedule_start_time",
    "schedule_end_time",
    "recurrence_type",
    "owner_id",
    "owner_name",
    "meeting_url",
];

fn is_generated_number(n: &str) -> bool {
    n.len() == 9 && n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0')
}

async fn user_id(app: &TestApp, token: &str) -> String {
    let info = app.post("/api/v1/user/info", Some(token), json!({})).await;
    s(&info.body, "user_id")
}

/// The meeting list as `(name, reservation_id)` in the order given, and the whole answer.
async fn list(app: &TestApp, token: &str, query: &str) -> (Vec<String>, Value) {
    let reply = app
        .get(&format!("/api/v1/meeting_schedule{query}"), Some(token))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let names = reply.body["scheduled_meetings"]
        .as_array()
        .unwrap_or_else(|| panic!("no scheduled_meetings in {}", reply.body))
        .iter()
        .map(|m| s(m, "meeting_name"))
        .collect();
    (names, reply.body)
}

#[tokio::test]
async fn an_instant_meeting_has_every_documented_field_and_cannot_be_updated() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let admin_id = user_id(&app, &admin).await;
    let now = now_ms(&app);

    let created = schedule(
        &app,
        &admin,
        json!({"meeting_type": "instant", "meeting_name": "Quick sync"}),
    )
    .await;
    assert_eq!(keys(&created), sorted(DETAIL_FIELDS), "{created}");
    assert!(!s(&created, "reservation_id").is_empty());
    assert_eq!(created["meeting_type"], "instant");
    assert_eq!(created["meeting_name"], "Quick sync");
    assert_eq!(created["meeting_description"], "");
    assert!(
        is_generated_number(&s(&created, "meeting_number")),
        "{created}"
    );
    assert_eq!(created["call_rate_type"], "2048K");
    // An instant meeting starts now and is planned for an hour.
    assert_eq!(created["schedule_start_time"], json!(now));
    assert_eq!(created["schedule_end_time"], json!(now + HOUR_MS));
    assert_eq!(created["meeting_password"], "");
    assert_eq!(created["invited_users_detail"], json!([]));
    assert_eq!(created["owner_id"], json!(admin_id));
    assert_eq!(created["owner_name"], "Administrator");
    assert_eq!(created["recurrence_gid"], "");
    assert_eq!(created["recurrence_type"], "NONE");
    assert_eq!(created["meeting_room_id"], Value::Null);
    assert_eq!(created["mute_upon_entry"], "DISABLE");
    assert_eq!(created["guest_dial_in"], true);
    assert_eq!(created["watermark"], false);
    assert_eq!(created["watermark_type"], "single");
    assert_eq!(created["time_to_join"], 30);
    assert_eq!(created["generate_live_url"], false);
    assert_eq!(created["live_passcode"], "");
    assert_eq!(created["live_meeting_url"], "");
    let join = s(&created, "meeting_url");
    let prefix = format!("{}/j/", app.base_url);
    assert!(
        join.starts_with(&prefix) && join.len() > prefix.len(),
        "{join}"
    );

    let id = s(&created, "reservation_id");
    let detail = app
        .get(&format!("/api/v1/meeting_schedule/{id}"), Some(&admin))
        .await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_eq!(detail.body, created);

    // Documented: "for instant meeting can not be updated".
    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/{id}"),
            Some(&admin),
            json!({"meeting_name": "Renamed"}),
        )
        .await;
    assert_frtc_error(&reply, 409, "instant_meeting_immutable");
    let detail = app
        .get(&format!("/api/v1/meeting_schedule/{id}"), Some(&admin))
        .await;
    assert_eq!(detail.body["meeting_name"], "Quick sync");

    // An instant meeting may still be deleted.
    let reply = app
        .call(
            Method::DELETE,
            &format!("/api/v1/meeting_schedule/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_reservation_keeps_every_field_and_updates_change_only_what_is_given() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (bob, _) = user(&app, &admin, "bob", "Normal").await;
    let (carol, _) = user(&app, &admin, "carol", "Normal").await;
    let start = in_days(&app, 1);

    let created = schedule(
        &app,
        &admin,
        json!({
            "meeting_type": "reservation",
            "meeting_name": "Quarterly review",
            "meeting_description": "Numbers, plans; and a cake",
            "call_rate_type": "4096K",
            "schedule_start_time": start,
            "schedule_end_time": start + 2 * HOUR_MS,
            "meeting_password": "123456",
            // As the documented example sends them (names are ignored, ids count).
            "invited_users_detail": [
                {"user_id": carol, "username": "whatever", "real_name": "Ignored"},
                {"user_id": bob},
            ],
            "mute_upon_entry": "ENABLE",
            "guest_dial_in": false,
            "watermark": true,
            "watermark_type": "multiple",
            "time_to_join": 15,
            "generate_live_url": true,
            "live_passcode": "888888",
            // Echoed response fields a client may send back are ignored.
            "owner_name": "Someone else",
            "recurrence_type": "NONE",
            "meeting_url": "https://elsewhere.example/j/x",
        }),
    )
    .await;
    assert_eq!(keys(&created), sorted(DETAIL_FIELDS));
    let id = s(&created, "reservation_id");
    let detail = app
        .get(&format!("/api/v1/meeting_schedule/{id}"), Some(&admin))
        .await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_eq!(detail.body, created, "the detail shows what was created");
    let d = &detail.body;
    assert_eq!(d["meeting_type"], "reservation");
    assert_eq!(d["meeting_name"], "Quarterly review");
    assert_eq!(d["meeting_description"], "Numbers, plans; and a cake");
    assert_eq!(d["call_rate_type"], "4096K");
    assert_eq!(d["schedule_start_time"], json!(start));
    assert_eq!(d["schedule_end_time"], json!(start + 2 * HOUR_MS));
    assert_eq!(d["meeting_password"], "123456");
    assert_eq!(
        d["invited_users_detail"],
        json!([
            {"user_id": bob, "username": "bob", "real_name": "BOB"},
            {"user_id": carol, "username": "carol", "real_name": "CAROL"},
        ])
    );
    assert_eq!(d["owner_name"], "Administrator");
    assert_eq!(d["recurrence_type"], "NONE");
    assert_eq!(d["recurrence_gid"], "");
    assert_eq!(d["mute_upon_entry"], "ENABLE");
    assert_eq!(d["guest_dial_in"], false);
    assert_eq!(d["watermark"], true);
    assert_eq!(d["watermark_type"], "multiple");
    assert_eq!(d["time_to_join"], 15);
    assert_eq!(d["generate_live_url"], true);
    assert_eq!(d["live_passcode"], "888888");
    let live = s(d, "live_meeting_url");
    assert!(
        live.starts_with(&format!("{}/live/", app.base_url)),
        "{live}"
    );
    assert!(s(d, "meeting_url").starts_with(&format!("{}/j/", app.base_url)));

    // Sending the detail back as it is changes nothing.
    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/{id}"),
            Some(&admin),
            created.clone(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_eq!(
        app.get(&format!("/api/v1/meeting_schedule/{id}"), Some(&admin))
            .await
            .body,
        created
    );

    // Update: some fields, as the documented update example sends them.
    let moved = start + DAY_MS;
    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/{id}"),
            Some(&admin),
            json!({
                "meeting_type": "reservation",
                "meeting_name": "Quarterly review (moved)",
                "schedule_start_time": moved.to_string(),
                "schedule_end_time": (moved + HOUR_MS).to_string(),
                "meeting_room_id": null,
                "invited_users": [bob],
                "mute_upon_entry": "DISABLE",
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_eq!(reply.body, Value::Null, "an empty answer");
    let after = app
        .get(&format!("/api/v1/meeting_schedule/{id}"), Some(&admin))
        .await
        .body;
    assert_eq!(after["meeting_name"], "Quarterly review (moved)");
    assert_eq!(after["schedule_start_time"], json!(moved));
    assert_eq!(after["schedule_end_time"], json!(moved + HOUR_MS));
    assert_eq!(after["mute_upon_entry"], "DISABLE");
    assert_eq!(
        after["invited_users_detail"],
        json!([{"user_id": bob, "username": "bob", "real_name": "BOB"}])
    );
    // Everything left out stays as it was.
    for field in [
        "reservation_id",
        "meeting_type",
        "meeting_description",
        "meeting_number",
        "call_rate_type",
        "meeting_password",
        "owner_id",
        "owner_name",
        "meeting_room_id",
        "guest_dial_in",
        "watermark",
        "watermark_type",
        "time_to_join",
        "generate_live_url",
        "live_passcode",
        "live_meeting_url",
        "meeting_url",
    ] {
        assert_eq!(after[field], created[field], "{field} changed");
    }

    // An empty password removes it; switching live streaming off clears its fields.
    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/{id}"),
            Some(&admin),
            json!({"meeting_password": "", "generate_live_url": false}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let after = app
        .get(&format!("/api/v1/meeting_schedule/{id}"), Some(&admin))
        .await
        .body;
    assert_eq!(after["meeting_password"], "");
    assert_eq!(after["generate_live_url"], false);
    assert_eq!(after["live_passcode"], "");
    assert_eq!(after["live_meeting_url"], "");
    assert_eq!(after["meeting_name"], "Quarterly review (moved)");

    // Delete: 204, then it is gone.
    let path = format!("/api/v1/meeting_schedule/{id}");
    let reply = app.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_frtc_error(
        &app.get(&path, Some(&admin)).await,
        404,
        "schedule_not_found",
    );
    assert_frtc_error(
        &app.call(Method::DELETE, &path, Some(&admin), None).await,
        404,
        "schedule_not_found",
    );
    assert_frtc_error(
        &app.post(&path, Some(&admin), json!({"meeting_name": "Ghost"}))
            .await,
        404,
        "schedule_not_found",
    );
    let (names, _) = list(&app, &admin, "").await;
    assert!(names.is_empty(), "{names:?}");
}

#[tokio::test]
async fn updates_are_validated_like_creation() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let start = in_days(&app, 1);
    let created = reserve(&app, &admin, "Planning", start, json!({})).await;
    let path = format!("/api/v1/meeting_schedule/{}", s(&created, "reservation_id"));
    let cases = [
        (
            json!({"schedule_start_time": start, "schedule_end_time": start - HOUR_MS}),
            400,
            "end_before_start",
        ),
        (
            json!({"schedule_start_time": start - 2 * DAY_MS, "schedule_end_time": start - 2 * DAY_MS + HOUR_MS}),
            400,
            "start_in_past",
        ),
        // One end alone is checked with the other as stored: here after the stored end.
        (
            json!({"schedule_start_time": start + DAY_MS}),
            400,
            "end_before_start",
        ),
        (json!({"meeting_name": ""}), 400, "empty_value"),
        (json!({"meeting_type": "webinar"}), 400, "invalid_choice"),
        (json!({"call_rate_type": "3000K"}), 400, "invalid_choice"),
        (json!({"meeting_password": "abc"}), 400, "invalid_password"),
        (
            json!({"invited_users": ["00000000-0000-7000-8000-000000000000"]}),
            400,
            "unknown_invitee",
        ),
        (
            json!({"meeting_room_id": "00000000-0000-7000-8000-000000000000"}),
            404,
            "room_not_found",
        ),
    ];
    for (body, status, code) in cases {
        let reply = app.post(&path, Some(&admin), body.clone()).await;
        assert_eq!(reply.status.as_u16(), status, "{body}: {}", reply.body);
        assert_frtc_error(&reply, status, code);
    }
    let after = app.get(&path, Some(&admin)).await.body;
    assert_eq!(after, created, "no refused update changed anything");
}

#[tokio::test]
async fn meeting_numbers_are_unique_and_free_again_after_delete() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let start = in_days(&app, 1);

    let first = reserve(
        &app,
        &admin,
        "Numbered",
        start,
        json!({"meeting_number": "12345678"}),
    )
    .await;
    assert_eq!(first["meeting_number"], "12345678");

    // Taken: by another reservation, an instant meeting, or on update.
    let reply = app
        .post(
            "/api/v1/meeting_schedule",
            Some(&admin),
            json!({"meeting_type": "reservation", "meeting_name": "Clash",
                   "meeting_number": "12345678",
                   "schedule_start_time": start + DAY_MS,
                   "schedule_end_time": start + DAY_MS + HOUR_MS}),
        )
        .await;
    assert_frtc_error(&reply, 409, "meeting_number_taken");
    let reply = app
        .post(
            "/api/v1/meeting_schedule",
            Some(&admin),
            json!({"meeting_type": "instant", "meeting_name": "Clash", "meeting_number": "12345678"}),
        )
        .await;
    assert_frtc_error(&reply, 409, "meeting_number_taken");
    let other = reserve(&app, &admin, "Other", start, json!({})).await;
    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/{}", s(&other, "reservation_id")),
            Some(&admin),
            json!({"meeting_number": "12345678"}),
        )
        .await;
    assert_frtc_error(&reply, 409, "meeting_number_taken");
    assert_eq!(
        app.get(
            &format!("/api/v1/meeting_schedule/{}", s(&other, "reservation_id")),
            Some(&admin)
        )
        .await
        .body["meeting_number"],
        other["meeting_number"],
        "the refused update changed nothing"
    );

    // A number held by a room is taken too.
    let room = app
        .post(
            "/api/v1/meeting_room",
            Some(&admin),
            json!({"meetingroom_name": "Board room", "meeting_number": "87654321"}),
        )
        .await;
    assert_eq!(room.status, StatusCode::OK, "{}", room.body);
    let reply = app
        .post(
            "/api/v1/meeting_schedule",
            Some(&admin),
            json!({"meeting_type": "reservation", "meeting_name": "Clash",
                   "meeting_number": "87654321",
                   "schedule_start_time": start, "schedule_end_time": start + HOUR_MS}),
        )
        .await;
    assert_frtc_error(&reply, 409, "meeting_number_taken");

    // Malformed numbers are refused by name.
    for bad in ["12345", "1234567890123", "12ab5678"] {
        let reply = app
            .post(
                "/api/v1/meeting_schedule",
                Some(&admin),
                json!({"meeting_type": "instant", "meeting_name": "Bad", "meeting_number": bad}),
            )
            .await;
        assert_frtc_error(&reply, 400, "invalid_meeting_number");
        assert!(
            s(&reply.body, "error").contains("meeting_number"),
            "{}",
            reply.body
        );
    }

    // Deleted: the number is free again.
    let reply = app
        .call(
            Method::DELETE,
            &format!("/api/v1/meeting_schedule/{}", s(&first, "reservation_id")),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let again = reserve(
        &app,
        &admin,
        "Numbered again",
        start + DAY_MS,
        json!({"meeting_number": "12345678"}),
    )
    .await;
    assert_eq!(again["meeting_number"], "12345678");
    assert_ne!(again["reservation_id"], first["reservation_id"]);

    // A meeting that changes its number frees the old one.
    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/{}", s(&again, "reservation_id")),
            Some(&admin),
            json!({"meeting_number": "11112222"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let reused = reserve(
        &app,
        &admin,
        "Third",
        start,
        json!({"meeting_number": "12345678"}),
    )
    .await;
    assert_eq!(reused["meeting_number"], "12345678");
}

#[tokio::test]
async fn bad_meetings_are_refused_with_their_code_and_nothing_is_created() {
    let app = TestApp::spawn().await;
    let operator = app.admin_token().await;
    let acme = company_admin(&app, &operator, "Acme", "UTC", "acme-admin").await;
    let (outsider, _) = user(&app, &acme, "outsider", "Normal").await;
    let now = now_ms(&app);
    let start = in_days(&app, 1);
    let reservation = |extra: Value| {
        let mut body = json!({
            "meeting_type": "reservation",
            "meeting_name": "Bad",
            "schedule_start_time": start,
            "schedule_end_time": start + HOUR_MS,
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    };
    // (body, status, errorCode, the field the message names)
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (json!({}), 400, "missing_field", "meeting_type"),
        (
            json!({"meeting_name": "No type"}),
            400,
            "missing_field",
            "meeting_type",
        ),
        (
            json!({"meeting_type": "reservation"}),
            400,
            "missing_field",
            "meeting_name",
        ),
        (
            json!({"meeting_type": "instant"}),
            400,
            "missing_field",
            "meeting_name",
        ),
        (
            json!({"meeting_type": "webinar", "meeting_name": "x"}),
            400,
            "invalid_choice",
            "meeting_type",
        ),
        (
            json!({"meeting_type": "reservation", "meeting_name": "No times"}),
            400,
            "missing_field",
            "schedule_start_time",
        ),
        (
            json!({"meeting_type": "reservation", "meeting_name": "No end", "schedule_start_time": start}),
            400,
            "missing_field",
            "schedule_end_time",
        ),
        (
            reservation(json!({"meeting_name": ""})),
            400,
            "empty_value",
            "meeting_name",
        ),
        (
            reservation(json!({"meeting_name": 42})),
            400,
            "invalid_field_type",
            "meeting_name",
        ),
        (
            reservation(json!({"schedule_end_time": start - HOUR_MS})),
            400,
            "end_before_start",
            "schedule_end_time",
        ),
        (
            reservation(json!({"schedule_end_time": start})),
            400,
            "end_before_start",
            "schedule_end_time",
        ),
        (
            reservation(
                json!({"schedule_start_time": now - DAY_MS, "schedule_end_time": now - DAY_MS + HOUR_MS}),
            ),
            400,
            "start_in_past",
            "schedule_start_time",
        ),
        (
            reservation(json!({"schedule_end_time": start + 24 * HOUR_MS + 60_000})),
            400,
            "meeting_too_long",
            "schedule_end_time",
        ),
        (
            reservation(json!({"schedule_start_time": "abc"})),
            400,
            "invalid_time",
            "schedule_start_time",
        ),
        (
            reservation(json!({"schedule_end_time": true})),
            400,
            "invalid_field_type",
            "schedule_end_time",
        ),
        (
            reservation(json!({"call_rate_type": "3000K"})),
            400,
            "invalid_choice",
            "call_rate_type",
        ),
        (
            reservation(json!({"call_rate_type": "2048"})),
            400,
            "invalid_choice",
            "call_rate_type",
        ),
        (
            reservation(json!({"meeting_password": "abc"})),
            400,
            "invalid_password",
            "meeting_password",
        ),
        (
            reservation(json!({"meeting_password": "123"})),
            400,
            "invalid_password",
            "meeting_password",
        ),
        (
            reservation(json!({"mute_upon_entry": "YES"})),
            400,
            "invalid_choice",
            "mute_upon_entry",
        ),
        (
            reservation(json!({"watermark_type": "triple"})),
            400,
            "invalid_choice",
            "watermark_type",
        ),
        (
            reservation(json!({"time_to_join": 1441})),
            400,
            "out_of_range",
            "time_to_join",
        ),
        (
            reservation(json!({"generate_live_url": true, "live_passcode": "12"})),
            400,
            "invalid_password",
            "live_passcode",
        ),
        (
            reservation(
                json!({"invited_users_detail": [{"user_id": "0190a6e5-6f7c-7cc1-8a3b-5d2f9e1a4b6c"}]}),
            ),
            400,
            "unknown_invitee",
            "0190a6e5-6f7c-7cc1-8a3b-5d2f9e1a4b6c",
        ),
        (
            reservation(json!({"invited_users": ["not-a-user-id"]})),
            400,
            "unknown_invitee",
            "not-a-user-id",
        ),
        (
            // A user of another company is unknown here.
            reservation(json!({"invited_users": [outsider.clone()]})),
            400,
            "unknown_invitee",
            &outsider,
        ),
        (
            reservation(json!({"meeting_room_id": "0190a6e5-6f7c-7cc1-8a3b-5d2f9e1a4b6c"})),
            404,
            "room_not_found",
            "",
        ),
        (
            reservation(json!({"meeting_room_id": "no-such-room"})),
            404,
            "room_not_found",
            "",
        ),
    ];
    for (body, status, code, field) in &cases {
        let reply = app
            .post("/api/v1/meeting_schedule", Some(&operator), body.clone())
            .await;
        assert_eq!(reply.status.as_u16(), *status, "{body}: {}", reply.body);
        assert_frtc_error(&reply, *status, code);
        assert!(
            s(&reply.body, "error").contains(field),
            "{body}: the message should name {field}: {}",
            reply.body
        );
    }
    let (names, body) = list(&app, &operator, "").await;
    assert!(names.is_empty(), "nothing was created: {names:?}");
    assert_eq!(body["total_size"], 0);

    // Times as strings of digits (as the detail example shows them) are accepted.
    let created = schedule(
        &app,
        &operator,
        reservation(json!({"schedule_start_time": start.to_string(),
                           "schedule_end_time": (start + HOUR_MS).to_string()})),
    )
    .await;
    assert_eq!(created["schedule_start_time"], json!(start));
    assert_eq!(created["schedule_end_time"], json!(start + HOUR_MS));
    // A start a few seconds ago is clock skew, not the past.
    let skewed = schedule(
        &app,
        &operator,
        reservation(
            json!({"schedule_start_time": now - 60_000, "schedule_end_time": now + HOUR_MS}),
        ),
    )
    .await;
    assert_eq!(skewed["schedule_start_time"], json!(now - 60_000));
    // Exactly 24 hours is allowed.
    let long = schedule(
        &app,
        &operator,
        reservation(json!({"schedule_end_time": start + 24 * HOUR_MS})),
    )
    .await;
    assert_eq!(long["schedule_end_time"], json!(start + 24 * HOUR_MS));
}

#[tokio::test]
async fn the_list_pages_by_start_time_and_filters_by_name_or_number() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let base = in_days(&app, 1);
    // Created out of order; listed by start time.
    for (name, hours, number) in [
        ("Alpha standup", 5, "55501001"),
        ("Beta review", 1, "55501002"),
        ("Gamma planning", 3, "55502001"),
        ("Delta retro", 2, "66600001"),
        ("Epsilon demo", 4, "77700001"),
    ] {
        reserve(
            &app,
            &admin,
            name,
            base + hours * HOUR_MS,
            json!({"meeting_number": number, "meeting_password": "2468"}),
        )
        .await;
    }

    let (names, body) = list(&app, &admin, "").await;
    assert_eq!(
        names,
        [
            "Beta review",
            "Delta retro",
            "Gamma planning",
            "Epsilon demo",
            "Alpha standup"
        ]
    );
    assert_eq!(
        keys(&body),
        sorted(&["scheduled_meetings", "total_page_num", "total_size"])
    );
    assert_eq!(body["total_size"], 5);
    assert_eq!(body["total_page_num"], 1);
    let first = &body["scheduled_meetings"][0];
    assert_eq!(keys(first), sorted(ROW_FIELDS));
    assert_eq!(first["meeting_number"], "55501002");
    assert_eq!(first["meeting_type"], "reservation");
    assert_eq!(first["meeting_password"], "2468");
    assert_eq!(first["recurrence_gid"], "");
    assert_eq!(first["recurrence_type"], "NONE");
    assert_eq!(first["owner_name"], "Administrator");
    assert_eq!(first["schedule_start_time"], json!(base + HOUR_MS));
    assert_eq!(first["schedule_end_time"], json!(base + 2 * HOUR_MS));
    assert!(s(first, "meeting_url").starts_with(&format!("{}/j/", app.base_url)));
    let starts: Vec<i64> = body["scheduled_meetings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["schedule_start_time"].as_i64())
                .collect()
        })
        .unwrap_or_default();
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");

    // Paging.
    let (names, body) = list(&app, &admin, "?page_num=1&page_size=2").await;
    assert_eq!(names, ["Beta review", "Delta retro"]);
    assert_eq!(body["total_size"], 5);
    assert_eq!(body["total_page_num"], 3);
    let (names, _) = list(&app, &admin, "?page_num=2&page_size=2").await;
    assert_eq!(names, ["Gamma planning", "Epsilon demo"]);
    let (names, body) = list(&app, &admin, "?page_num=3&page_size=2").await;
    assert_eq!(names, ["Alpha standup"]);
    assert_eq!(body["total_size"], 5);
    let (names, body) = list(&app, &admin, "?page_num=4&page_size=2").await;
    assert!(names.is_empty());
    assert_eq!(body["total_size"], 5);

    // Filter by name: a case-insensitive substring, long or short.
    for (filter, expected) in [
        ("PLANN", vec!["Gamma planning"]),
        ("review", vec!["Beta review"]),
        ("TA", vec!["Beta review", "Delta retro", "Alpha standup"]),
        ("mo", vec!["Epsilon demo"]),
        ("V", vec!["Beta review"]),
        ("e", vec!["Beta review", "Delta retro", "Epsilon demo"]),
        ("zzz", vec![]),
        ("q", vec![]),
    ] {
        let (names, body) = list(&app, &admin, &format!("?filter={filter}")).await;
        assert_eq!(names, expected, "filter {filter:?}");
        assert_eq!(
            body["total_size"],
            json!(expected.len()),
            "filter {filter:?}"
        );
    }
    // Characters special to SQL LIKE or full-text queries are plain characters.
    for filter in [
        "_", "%25", "%25a%25", "a_p", "%22", "%22ta", "*", "ta*", "NEAR(a",
    ] {
        let (names, body) = list(&app, &admin, &format!("?filter={filter}")).await;
        assert!(names.is_empty(), "filter {filter:?}: {names:?}");
        assert_eq!(body["total_size"], 0);
    }
    // Filter by number: a prefix, not a substring.
    for (filter, expected) in [
        (
            "5550",
            vec!["Beta review", "Gamma planning", "Alpha standup"],
        ),
        ("55501", vec!["Beta review", "Alpha standup"]),
        ("66600001", vec!["Delta retro"]),
        ("7", vec!["Epsilon demo"]),
        ("0001", vec![]),
    ] {
        let (names, body) = list(&app, &admin, &format!("?filter={filter}")).await;
        assert_eq!(names, expected, "filter {filter:?}");
        assert_eq!(
            body["total_size"],
            json!(expected.len()),
            "filter {filter:?}"
        );
    }
    // Filter and paging together.
    let (names, body) = list(&app, &admin, "?filter=5550&page_size=2&page_num=2").await;
    assert_eq!(names, ["Alpha standup"]);
    assert_eq!(body["total_size"], 3);
    assert_eq!(body["total_page_num"], 2);

    // A renamed meeting is found by its new name only.
    let (_, body) = list(&app, &admin, "?filter=epsilon").await;
    let id = s(&body["scheduled_meetings"][0], "reservation_id");
    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/{id}"),
            Some(&admin),
            json!({"meeting_name": "Zeta showcase"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let (names, _) = list(&app, &admin, "?filter=epsilon").await;
    assert!(names.is_empty(), "{names:?}");
    let (names, _) = list(&app, &admin, "?filter=showc").await;
    assert_eq!(names, ["Zeta showcase"]);
}

#[tokio::test]
async fn the_list_refuses_bad_paging() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for (query, field, code) in [
        ("page_num=0", "page_num", "out_of_range"),
        ("page_num=-1", "page_num", "out_of_range"),
        ("page_num=abc", "page_num", "invalid_field_type"),
        ("page_size=0", "page_size", "out_of_range"),
        ("page_size=501", "page_size", "out_of_range"),
        ("page_size=ten", "page_size", "invalid_field_type"),
    ] {
        let reply = app
            .get(&format!("/api/v1/meeting_schedule?{query}"), Some(&admin))
            .await;
        assert_frtc_error(&reply, 400, code);
        assert!(
            s(&reply.body, "error").contains(field),
            "{query}: {}",
            reply.body
        );
    }
    let reply = app
        .get("/api/v1/meeting_schedule?page_size=500", Some(&admin))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_frtc_error(
        &app.get("/api/v1/meeting_schedule", None).await,
        401,
        "token_missing",
    );
}

#[tokio::test]
async fn people_see_their_own_and_invited_meetings_operators_see_the_company() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (alice_id, alice) = user(&app, &admin, "alice", "Normal").await;
    let (bob_id, bob) = user(&app, &admin, "bob", "Normal").await;
    let (_, olga) = user(&app, &admin, "olga", "MeetingOperator").await;
    let start = in_days(&app, 1);
    reserve(
        &app,
        &alice,
        "A: alice invites bob",
        start,
        json!({"invited_users": [bob_id]}),
    )
    .await;
    let b = reserve(&app, &alice, "B: alice alone", start + HOUR_MS, json!({})).await;
    reserve(&app, &bob, "C: bob alone", start + 2 * HOUR_MS, json!({})).await;
    reserve(
        &app,
        &admin,
        "D: admin invites alice",
        start + 3 * HOUR_MS,
        json!({"invited_users": [alice_id]}),
    )
    .await;
    let everything = vec![
        "A: alice invites bob",
        "B: alice alone",
        "C: bob alone",
        "D: admin invites alice",
    ];
    for (token, expected) in [
        (
            &alice,
            vec![
                "A: alice invites bob",
                "B: alice alone",
                "D: admin invites alice",
            ],
        ),
        (&bob, vec!["A: alice invites bob", "C: bob alone"]),
        (&olga, everything.clone()),
        (&admin, everything.clone()),
    ] {
        let (names, body) = list(&app, token, "").await;
        assert_eq!(names, expected);
        assert_eq!(body["total_size"], json!(expected.len()));
    }
    // The filter works within what one may see.
    let (names, body) = list(&app, &bob, "?filter=alone").await;
    assert_eq!(names, ["C: bob alone"]);
    assert_eq!(body["total_size"], 1);

    // Another company sees none of it, not even by id.
    let acme = company_admin(&app, &admin, "Acme", "UTC", "acme-admin").await;
    let (names, body) = list(&app, &acme, "").await;
    assert!(names.is_empty(), "{names:?}");
    assert_eq!(body["total_size"], 0);
    let (names, _) = list(&app, &acme, "?filter=alice").await;
    assert!(names.is_empty(), "{names:?}");
    let path = format!("/api/v1/meeting_schedule/{}", s(&b, "reservation_id"));
    assert_frtc_error(
        &app.get(&path, Some(&acme)).await,
        404,
        "schedule_not_found",
    );
    assert_frtc_error(
        &app.post(&path, Some(&acme), json!({"meeting_name": "Mine"}))
            .await,
        404,
        "schedule_not_found",
    );
    assert_frtc_error(
        &app.call(Method::DELETE, &path, Some(&acme), None).await,
        404,
        "schedule_not_found",
    );
    // And its own meetings are its own.
    reserve(&app, &acme, "Acme kickoff", start, json!({})).await;
    let (names, _) = list(&app, &acme, "").await;
    assert_eq!(names, ["Acme kickoff"]);
    let (names, body) = list(&app, &admin, "").await;
    assert_eq!(names, everything);
    assert_eq!(body["total_size"], 4);
}

#[tokio::test]
async fn only_the_owner_and_operators_change_a_meeting_invitees_only_see_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (alice_id, alice) = user(&app, &admin, "alice", "Normal").await;
    let (bob_id, bob) = user(&app, &admin, "bob", "Normal").await;
    let (_, carol) = user(&app, &admin, "carol", "Normal").await;
    let (_, olga) = user(&app, &admin, "olga", "MeetingOperator").await;
    let start = in_days(&app, 1);
    let meeting = reserve(
        &app,
        &alice,
        "Alice's meeting",
        start,
        json!({"invited_users": [bob_id, bob_id], "meeting_password": "1357"}),
    )
    .await;
    let path = format!("/api/v1/meeting_schedule/{}", s(&meeting, "reservation_id"));

    assert_eq!(
        meeting["invited_users_detail"],
        json!([{"user_id": bob_id, "username": "bob", "real_name": "BOB"}]),
        "invited once"
    );
    // The invitee sees it but may not change it.
    let seen = app.get(&path, Some(&bob)).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(seen.body, meeting);
    assert_frtc_error(
        &app.post(&path, Some(&bob), json!({"meeting_name": "Bob's now"}))
            .await,
        403,
        "permission_denied",
    );
    assert_frtc_error(
        &app.call(Method::DELETE, &path, Some(&bob), None).await,
        403,
        "permission_denied",
    );
    // Someone not invited does not learn that it exists.
    assert_frtc_error(
        &app.get(&path, Some(&carol)).await,
        404,
        "schedule_not_found",
    );
    assert_frtc_error(
        &app.post(&path, Some(&carol), json!({"meeting_name": "Carol's now"}))
            .await,
        404,
        "schedule_not_found",
    );
    assert_frtc_error(
        &app.call(Method::DELETE, &path, Some(&carol), None).await,
        404,
        "schedule_not_found",
    );
    assert_eq!(app.get(&path, Some(&alice)).await.body, meeting);

    // A MeetingOperator changes anyone's meeting; the owner stays the owner.
    let reply = app
        .post(&path, Some(&olga), json!({"meeting_name": "Moderated"}))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let after = app.get(&path, Some(&alice)).await.body;
    assert_eq!(after["meeting_name"], "Moderated");
    assert_eq!(after["owner_id"], json!(alice_id));
    assert_eq!(after["owner_name"], "ALICE");

    // The owner removes the invitee: bob no longer sees it.
    let reply = app
        .post(&path, Some(&alice), json!({"invited_users": []}))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_frtc_error(&app.get(&path, Some(&bob)).await, 404, "schedule_not_found");

    // A MeetingOperator deletes anyone's meeting.
    let reply = app.call(Method::DELETE, &path, Some(&olga), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_frtc_error(
        &app.get(&path, Some(&alice)).await,
        404,
        "schedule_not_found",
    );

    // Without a token: 401.
    assert_frtc_error(
        &app.post(
            "/api/v1/meeting_schedule",
            None,
            json!({"meeting_type": "instant", "meeting_name": "x"}),
        )
        .await,
        401,
        "token_missing",
    );
}

#[tokio::test]
async fn a_meeting_under_way_can_still_be_extended() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let start = in_days(&app, 0) + HOUR_MS;
    let meeting = reserve(&app, &admin, "Workshop", start, json!({})).await;
    let path = format!("/api/v1/meeting_schedule/{}", s(&meeting, "reservation_id"));
    // Half an hour into the meeting…
    app.clock.advance(std::time::Duration::from_secs(90 * 60));

    // …the client sends the meeting back as it shows it (its start is now in the past),
    // with a later end.
    let mut body = meeting.clone();
    body["schedule_end_time"] = json!(start + 2 * HOUR_MS);
    let reply = app.post(&path, Some(&admin), body).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let after = app.get(&path, Some(&admin)).await.body;
    assert_eq!(after["schedule_start_time"], json!(start));
    assert_eq!(after["schedule_end_time"], json!(start + 2 * HOUR_MS));

    // Moving the start into the past is still refused.
    let reply = app
        .post(
            &path,
            Some(&admin),
            json!({"schedule_start_time": start - HOUR_MS, "schedule_end_time": start + HOUR_MS}),
        )
        .await;
    assert_frtc_error(&reply, 400, "start_in_past");
    assert!(s(&reply.body, "error").contains("schedule_start_time"));
    // And the slot's own rules hold for an unchanged start too.
    let reply = app
        .post(
            &path,
            Some(&admin),
            json!({"schedule_start_time": start, "schedule_end_time": start + 25 * HOUR_MS}),
        )
        .await;
    assert_frtc_error(&reply, 400, "meeting_too_long");
    assert_eq!(app.get(&path, Some(&admin)).await.body, after);
}

#[tokio::test]
async fn searches_find_meetings_created_after_earlier_searches_for_the_same_text() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let start = in_days(&app, 1);
    reserve(&app, &admin, "Quarterly kraken review", start, json!({})).await;
    // The first searches see none of these trigrams; what they learn must not hide later
    // meetings from the same search.
    for filter in ["zebra-kraken", "bra-kra", "kraken"] {
        let reply = app
            .get(
                &format!("/api/v1/meeting_schedule?filter={filter}"),
                Some(&admin),
            )
            .await;
        let expected = u64::from(filter == "kraken");
        assert_eq!(
            reply.body["total_size"], expected,
            "{filter}: {}",
            reply.body
        );
    }
    reserve(
        &app,
        &admin,
        "Zebra-Kraken sync",
        start + HOUR_MS,
        json!({}),
    )
    .await;
    for (filter, expected) in [
        ("zebra-kraken", 1),
        ("bra-kra", 1),
        ("kraken", 2),
        ("ZEBRA", 1),
    ] {
        let reply = app
            .get(
                &format!("/api/v1/meeting_schedule?filter={filter}"),
                Some(&admin),
            )
            .await;
        assert_eq!(
            reply.body["total_size"], expected,
            "{filter}: {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn updates_check_permission_before_reading_the_body() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (_, alice) = user(&app, &admin, "alice", "Normal").await;
    let (bob_id, bob) = user(&app, &admin, "bob", "Normal").await;
    let (_, carol) = user(&app, &admin, "carol", "Normal").await;
    let start = in_days(&app, 1);
    let meeting = reserve(
        &app,
        &alice,
        "Planning",
        start,
        json!({"invited_users": [bob_id]}),
    )
    .await;
    let path = format!("/api/v1/meeting_schedule/{}", s(&meeting, "reservation_id"));
    let unknown = format!(
        "/api/v1/meeting_schedule/{}",
        "0194b3a2-0000-7000-8000-000000000000"
    );

    for body in [
        "{bad",
        "[]",
        "{\"schedule_start_time\": 1, \"schedule_end_time\": 0}",
        "{\"meeting_password\": \"x\"}",
    ] {
        // An invitee may see the meeting but not change it, whatever the body.
        let reply = app.call_raw(Method::POST, &path, Some(&bob), body).await;
        assert_frtc_error(&reply, 403, "permission_denied");
        // Someone who may not see it learns nothing, not even that the body is wrong.
        let reply = app.call_raw(Method::POST, &path, Some(&carol), body).await;
        assert_frtc_error(&reply, 404, "schedule_not_found");
        let reply = app
            .call_raw(Method::POST, &unknown, Some(&alice), body)
            .await;
        assert_frtc_error(&reply, 404, "schedule_not_found");
        let reply = app
            .call_raw(
                Method::POST,
                "/api/v1/meeting_schedule/not-an-id",
                Some(&alice),
                body,
            )
            .await;
        assert_frtc_error(&reply, 404, "schedule_not_found");
    }
    // The body is judged once the caller may change the meeting.
    let reply = app
        .call_raw(Method::POST, &path, Some(&alice), "{bad")
        .await;
    assert_frtc_error(&reply, 400, "malformed_json");
    let reply = app
        .call_raw(
            Method::POST,
            &path,
            Some(&admin),
            "{\"meeting_password\": \"x\"}",
        )
        .await;
    assert_frtc_error(&reply, 400, "invalid_password");
    assert_eq!(app.get(&path, Some(&alice)).await.body, meeting);
}

#[tokio::test]
async fn an_update_may_move_one_end_and_the_other_stays() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let start = in_days(&app, 1);
    let meeting = reserve(&app, &admin, "Review", start, json!({})).await;
    let path = format!("/api/v1/meeting_schedule/{}", s(&meeting, "reservation_id"));
    let end = meeting["schedule_end_time"]
        .as_i64()
        .unwrap_or_else(|| panic!("no end in {meeting}"));

    // Only the end: the start stays.
    let reply = app
        .post(
            &path,
            Some(&admin),
            json!({"schedule_end_time": end + HOUR_MS}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_eq!(slot_of(&app, &admin, &path).await, (start, end + HOUR_MS));
    // Only the start (as a string of digits): the end stays.
    let reply = app
        .post(
            &path,
            Some(&admin),
            json!({"schedule_start_time": (start - HOUR_MS).to_string()}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_eq!(
        slot_of(&app, &admin, &path).await,
        (start - HOUR_MS, end + HOUR_MS)
    );

    // The slot made with the stored end is checked whole: order, length, past.
    for (body, field, code) in [
        (
            json!({"schedule_end_time": start - 2 * HOUR_MS}),
            "schedule_end_time",
            "end_before_start",
        ),
        (
            json!({"schedule_start_time": end + 2 * HOUR_MS}),
            "schedule_end_time",
            "end_before_start",
        ),
        (
            json!({"schedule_end_time": start + 30 * HOUR_MS}),
            "schedule_end_time",
            "meeting_too_long",
        ),
        (
            json!({"schedule_end_time": -5}),
            "schedule_end_time",
            "invalid_time",
        ),
    ] {
        let reply = app.post(&path, Some(&admin), body.clone()).await;
        assert_frtc_error(&reply, 400, code);
        assert!(
            s(&reply.body, "error").contains(field),
            "{body}: {}",
            reply.body
        );
        assert_eq!(
            slot_of(&app, &admin, &path).await,
            (start - HOUR_MS, end + HOUR_MS),
            "{body} changed the meeting"
        );
    }

    // A start moved alone into the past is refused like any moved start.
    let soon = in_days(&app, 0) + HOUR_MS;
    let other = reserve(&app, &admin, "Soon", soon, json!({})).await;
    let other = format!("/api/v1/meeting_schedule/{}", s(&other, "reservation_id"));
    let reply = app
        .post(
            &other,
            Some(&admin),
            json!({"schedule_start_time": now_ms(&app) - 10 * 60_000}),
        )
        .await;
    assert_frtc_error(&reply, 400, "start_in_past");
    assert!(
        s(&reply.body, "error").contains("schedule_start_time"),
        "{}",
        reply.body
    );

    // A meeting under way is extended by its end alone.
    app.clock.advance(std::time::Duration::from_millis(
        (DAY_MS - HOUR_MS / 2) as u64,
    ));
    let admin = app.admin_token().await;
    let reply = app
        .post(
            &path,
            Some(&admin),
            json!({"schedule_end_time": end + 2 * HOUR_MS}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_eq!(
        slot_of(&app, &admin, &path).await,
        (start - HOUR_MS, end + 2 * HOUR_MS)
    );
}

/// A meeting's `(schedule_start_time, schedule_end_time)`.
async fn slot_of(app: &TestApp, token: &str, path: &str) -> (i64, i64) {
    let detail = app.get(path, Some(token)).await.body;
    (
        detail["schedule_start_time"].as_i64().unwrap_or(-1),
        detail["schedule_end_time"].as_i64().unwrap_or(-1),
    )
}

#[tokio::test]
async fn what_a_meeting_cannot_be_is_refused_by_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (alice_id, _) = user(&app, &admin, "alice", "Normal").await;
    let (bob_id, _) = user(&app, &admin, "bob", "Normal").await;
    let start = in_days(&app, 1);
    let room = app
        .post(
            "/api/v1/meeting_room",
            Some(&admin),
            json!({"meetingroom_name": "Blue", "meeting_number": "4440001"}),
        )
        .await;
    assert_eq!(room.status, StatusCode::OK, "{}", room.body);
    let room_id = s(&room.body, "meeting_room_id");
    let reservation = |extra: Value| {
        let mut body = json!({"meeting_type": "reservation", "meeting_name": "Single",
            "schedule_start_time": start, "schedule_end_time": start + HOUR_MS});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    };

    // On create: a single meeting does not repeat; a room's meeting has the room's number;
    // the two invitee lists must agree.
    for (body, field, code) in [
        (
            reservation(json!({"recurrence_type": "DAILY"})),
            "recurrence_type",
            "invalid_recurrence_type",
        ),
        (
            reservation(json!({"recurrence_type": "junk"})),
            "recurrence_type",
            "invalid_recurrence_type",
        ),
        (
            json!({"meeting_type": "instant", "meeting_name": "Now", "recurrence_type": "WEEKLY"}),
            "recurrence_type",
            "invalid_recurrence_type",
        ),
        (
            reservation(json!({"meeting_room_id": room_id, "meeting_number": "4440002"})),
            "meeting_number",
            "immutable_field",
        ),
        (
            reservation(json!({"invited_users": [alice_id],
                "invited_users_detail": [{"user_id": bob_id}]})),
            "invited_users",
            "conflicting_fields",
        ),
    ] {
        let reply = app
            .post("/api/v1/meeting_schedule", Some(&admin), body.clone())
            .await;
        assert_frtc_error(&reply, 400, code);
        assert!(
            s(&reply.body, "error").contains(field),
            "{body}: {}",
            reply.body
        );
    }
    assert_eq!(
        app.get("/api/v1/meeting_schedule", Some(&admin)).await.body["total_size"],
        0,
        "nothing was created"
    );
    // What agrees is taken: NONE, the room's own number, the same invitees twice.
    let created = schedule(
        &app,
        &admin,
        reservation(
            json!({"recurrence_type": "NONE", "meeting_room_id": room_id,
            "meeting_number": "4440001", "invited_users": [alice_id, bob_id],
            "invited_users_detail": [{"user_id": bob_id}, {"user_id": alice_id}]}),
        ),
    )
    .await;
    assert_eq!(created["meeting_number"], "4440001");
    assert_eq!(
        created["invited_users_detail"].as_array().map(Vec::len),
        Some(2)
    );

    // On update: the kind cannot change, the invitee lists must agree.
    let path = format!("/api/v1/meeting_schedule/{}", s(&created, "reservation_id"));
    for (body, field, code) in [
        (
            json!({"meeting_type": "instant"}),
            "meeting_type",
            "immutable_field",
        ),
        (
            json!({"meeting_type": "recurrence"}),
            "meeting_type",
            "immutable_field",
        ),
        (
            json!({"recurrence_type": "DAILY"}),
            "recurrence_type",
            "invalid_recurrence_type",
        ),
        (
            json!({"recurrence_type": "junk"}),
            "recurrence_type",
            "invalid_recurrence_type",
        ),
        (
            json!({"invited_users": [alice_id], "invited_users_detail": []}),
            "invited_users",
            "conflicting_fields",
        ),
    ] {
        let reply = app.post(&path, Some(&admin), body.clone()).await;
        assert_frtc_error(&reply, 400, code);
        assert!(
            s(&reply.body, "error").contains(field),
            "{body}: {}",
            reply.body
        );
    }
    assert_eq!(app.get(&path, Some(&admin)).await.body, created);
    // Its own kind and recurrence, as the detail shows them, may be sent back.
    let same = json!({"meeting_type": "reservation", "recurrence_type": "NONE"});
    let reply = app.post(&path, Some(&admin), same).await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    // The detail sent back as it is changes nothing and is taken.
    let reply = app.post(&path, Some(&admin), created.clone()).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
}

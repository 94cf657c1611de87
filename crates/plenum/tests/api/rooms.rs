//! Meeting rooms (FRTC "Meeting Room"): persistent places with a permanent number and
//! password, and meetings scheduled in them.

use plenum_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    DAY_MS, HOUR_MS, assert_frtc_error, company_admin, in_days, keys, now_ms, reserve, s, schedule,
    sorted, user,
};

const ROOM_FIELDS: &[&str] = &[
    "meeting_room_id",
    "meeting_number",
    "meetingroom_name",
    "meeting_password",
    "owner_id",
    "owner_name",
    "creator_id",
    "creator_name",
    "created_time",
];

async fn create_room(app: &TestApp, token: &str, body: Value) -> Value {
    let reply = app
        .post("/api/v1/meeting_room", Some(token), body.clone())
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "creating the room {body} failed: {}",
        reply.body
    );
    reply.body
}

fn room_names(list: &Value) -> Vec<String> {
    list["meeting_rooms"]
        .as_array()
        .unwrap_or_else(|| panic!("no meeting_rooms in {list}"))
        .iter()
        .map(|r| s(r, "meetingroom_name"))
        .collect()
}

async fn user_id(app: &TestApp, token: &str) -> String {
    s(
        &app.post("/api/v1/user/info", Some(token), json!({}))
            .await
            .body,
        "user_id",
    )
}

#[tokio::test]
async fn operators_and_admins_create_rooms_with_the_documented_fields() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let admin_id = user_id(&app, &admin).await;
    let (olga_id, olga) = user(&app, &admin, "olga", "MeetingOperator").await;
    let (nora_id, nora) = user(&app, &admin, "nora", "Normal").await;
    let now = now_ms(&app);

    let board = create_room(
        &app,
        &admin,
        json!({"meetingroom_name": "Board room", "meeting_password": "4321"}),
    )
    .await;
    assert_eq!(keys(&board), sorted(ROOM_FIELDS), "{board}");
    assert!(!s(&board, "meeting_room_id").is_empty());
    let number = s(&board, "meeting_number");
    assert!(
        number.len() == 9 && number.bytes().all(|b| b.is_ascii_digit()),
        "{number}"
    );
    assert_eq!(board["meetingroom_name"], "Board room");
    assert_eq!(board["meeting_password"], "4321");
    assert_eq!(board["owner_id"], json!(admin_id));
    assert_eq!(board["owner_name"], "Administrator");
    assert_eq!(board["creator_id"], json!(admin_id));
    assert_eq!(board["creator_name"], "Administrator");
    assert_eq!(board["created_time"], json!(now));

    // A MeetingOperator creates one for someone else, with a chosen number.
    app.clock.advance(std::time::Duration::from_secs(60));
    let lab = create_room(
        &app,
        &olga,
        json!({"meetingroom_name": "Lab", "meeting_number": "24680135", "owner_id": nora_id}),
    )
    .await;
    assert_eq!(lab["meeting_number"], "24680135");
    assert_eq!(lab["meeting_password"], "");
    assert_eq!(lab["owner_id"], json!(nora_id));
    assert_eq!(lab["owner_name"], "NORA");
    assert_eq!(lab["creator_id"], json!(olga_id));
    assert_eq!(lab["creator_name"], "OLGA");
    assert_eq!(lab["created_time"], json!(now + 60_000));

    // A Normal user may not.
    let reply = app
        .post(
            "/api/v1/meeting_room",
            Some(&nora),
            json!({"meetingroom_name": "Mine"}),
        )
        .await;
    assert_frtc_error(&reply, 403, "permission_denied");
    assert_frtc_error(
        &app.post(
            "/api/v1/meeting_room",
            None,
            json!({"meetingroom_name": "Anon"}),
        )
        .await,
        401,
        "token_missing",
    );

    // The documented list: POST with an empty body; GET too. Everyone in the company sees
    // the rooms, oldest first.
    for token in [&admin, &olga, &nora] {
        let reply = app
            .call(Method::POST, "/api/v1/meeting_room", Some(token), None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(
            keys(&reply.body),
            sorted(&["meeting_rooms", "total_page_num", "total_size"])
        );
        assert_eq!(room_names(&reply.body), ["Board room", "Lab"]);
        assert_eq!(reply.body["meeting_rooms"][0], board);
        assert_eq!(reply.body["meeting_rooms"][1], lab);
        assert_eq!(reply.body["total_size"], 2);
        let reply = app
            .post("/api/v1/meeting_room", Some(token), json!({}))
            .await;
        assert_eq!(room_names(&reply.body), ["Board room", "Lab"]);
        let reply = app.get("/api/v1/meeting_room", Some(token)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(room_names(&reply.body), ["Board room", "Lab"]);
    }
    // Paged.
    let reply = app
        .get("/api/v1/meeting_room?page_num=2&page_size=1", Some(&nora))
        .await;
    assert_eq!(room_names(&reply.body), ["Lab"]);
    assert_eq!(reply.body["total_page_num"], 2);
    assert_frtc_error(
        &app.get("/api/v1/meeting_room?page_size=0", Some(&nora))
            .await,
        400,
        "out_of_range",
    );
}

#[tokio::test]
async fn a_room_is_read_updated_and_deleted_by_its_id() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (_, olga) = user(&app, &admin, "olga", "MeetingOperator").await;
    let (nora_id, nora) = user(&app, &admin, "nora", "Normal").await;
    let room = create_room(
        &app,
        &admin,
        json!({"meetingroom_name": "Board room", "meeting_password": "4321"}),
    )
    .await;
    let path = format!("/api/v1/meeting_room/{}", s(&room, "meeting_room_id"));

    // Anyone in the company reads it.
    for token in [&admin, &olga, &nora] {
        let reply = app.get(&path, Some(token)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body, room);
    }

    // Update: what is given changes, the rest stays; the answer is the room.
    let reply = app
        .post(
            &path,
            Some(&olga),
            json!({"meetingroom_name": "Boardroom 2", "meeting_number": "13572468", "owner_id": nora_id}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["meetingroom_name"], "Boardroom 2");
    assert_eq!(reply.body["meeting_number"], "13572468");
    assert_eq!(reply.body["owner_id"], json!(nora_id));
    for field in [
        "meeting_room_id",
        "meeting_password",
        "creator_id",
        "creator_name",
        "created_time",
    ] {
        assert_eq!(reply.body[field], room[field], "{field} changed");
    }
    assert_eq!(app.get(&path, Some(&nora)).await.body, reply.body);
    // The old number is free again.
    create_room(
        &app,
        &admin,
        json!({"meetingroom_name": "Old number", "meeting_number": room["meeting_number"]}),
    )
    .await;
    // The password can be removed.
    let reply = app
        .post(&path, Some(&admin), json!({"meeting_password": null}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["meeting_password"], "");
    assert_eq!(reply.body["meetingroom_name"], "Boardroom 2");

    // A Normal user (even the owner) may neither change nor delete it, whatever the body
    // holds: permission comes before the body.
    assert_frtc_error(
        &app.post(&path, Some(&nora), json!({"meetingroom_name": "Mine"}))
            .await,
        403,
        "permission_denied",
    );
    for body in [
        "{bad",
        "{\"meetingroom_name\": 5}",
        "{\"meetingroom_name\": \"\"}",
    ] {
        for target in [path.as_str(), "/api/v1/meeting_room"] {
            let reply = app.call_raw(Method::POST, target, Some(&nora), body).await;
            assert_frtc_error(&reply, 403, "permission_denied");
        }
    }
    // Listing by POST stays open to everyone.
    let listed = app
        .post("/api/v1/meeting_room", Some(&nora), json!({}))
        .await;
    assert_eq!(listed.status.as_u16(), 200, "{}", listed.body);
    assert_frtc_error(
        &app.call(Method::DELETE, &path, Some(&nora), None).await,
        403,
        "permission_denied",
    );

    // Bad fields are refused by name.
    for (body, field, code) in [
        (
            json!({"meetingroom_name": ""}),
            "meetingroom_name",
            "empty_value",
        ),
        (
            json!({"meeting_password": "abc"}),
            "meeting_password",
            "invalid_password",
        ),
        (
            json!({"meeting_number": "12"}),
            "meeting_number",
            "invalid_meeting_number",
        ),
    ] {
        let reply = app.post(&path, Some(&admin), body.clone()).await;
        assert_frtc_error(&reply, 400, code);
        assert!(s(&reply.body, "error").contains(field), "{}", reply.body);
        let reply = app
            .post("/api/v1/meeting_room", Some(&admin), {
                let mut b = body.clone();
                if let Some(o) = b.as_object_mut() {
                    o.entry("meetingroom_name").or_insert(json!("New"));
                }
                b
            })
            .await;
        assert_frtc_error(&reply, 400, code);
    }
    let reply = app
        .post(
            "/api/v1/meeting_room",
            Some(&admin),
            json!({"meetingroom_name": "Orphan", "owner_id": "0190a6e5-6f7c-7cc1-8a3b-5d2f9e1a4b6c"}),
        )
        .await;
    assert_frtc_error(&reply, 404, "user_not_found");

    // Delete: 204, then gone.
    let reply = app.call(Method::DELETE, &path, Some(&olga), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_frtc_error(&app.get(&path, Some(&admin)).await, 404, "room_not_found");
    assert_frtc_error(
        &app.call(Method::DELETE, &path, Some(&admin), None).await,
        404,
        "room_not_found",
    );
    assert_frtc_error(
        &app.post(&path, Some(&admin), json!({"meetingroom_name": "Ghost"}))
            .await,
        404,
        "room_not_found",
    );
    assert_frtc_error(
        &app.get("/api/v1/meeting_room/not-a-room", Some(&admin))
            .await,
        404,
        "room_not_found",
    );
    // Its number is free: a meeting may take it.
    let single = reserve(
        &app,
        &admin,
        "Takes the number",
        in_days(&app, 1),
        json!({"meeting_number": "13572468"}),
    )
    .await;
    assert_eq!(single["meeting_number"], "13572468");
}

#[tokio::test]
async fn meetings_in_a_room_use_its_number_and_password_and_keep_it_in_use() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (_, nora) = user(&app, &admin, "nora", "Normal").await;
    let room = create_room(
        &app,
        &admin,
        json!({"meetingroom_name": "Board room", "meeting_number": "24680135", "meeting_password": "4321"}),
    )
    .await;
    let room_id = s(&room, "meeting_room_id");
    let start = in_days(&app, 1);

    // Anyone may schedule in a room; the meeting takes its number and password.
    let first = reserve(
        &app,
        &nora,
        "In the board room",
        start,
        json!({"meeting_room_id": room_id}),
    )
    .await;
    assert_eq!(first["meeting_room_id"], json!(room_id));
    assert_eq!(first["meeting_number"], "24680135");
    assert_eq!(first["meeting_password"], "4321");
    // Another number with the room is refused (as an update refuses it).
    let reply = app
        .post(
            "/api/v1/meeting_schedule",
            Some(&admin),
            json!({"meeting_type": "reservation", "meeting_name": "Elsewhere",
                   "schedule_start_time": start + DAY_MS,
                   "schedule_end_time": start + DAY_MS + HOUR_MS,
                   "meeting_room_id": room_id, "meeting_number": "11223344"}),
        )
        .await;
    assert_frtc_error(&reply, 400, "immutable_field");
    assert!(
        s(&reply.body, "error").contains("meeting_number"),
        "{}",
        reply.body
    );
    // A password given wins; two meetings share the room's number (given or not).
    let second = reserve(
        &app,
        &admin,
        "Also in the board room",
        start + DAY_MS,
        json!({"meeting_room_id": room_id, "meeting_password": "9876",
               "meeting_number": "24680135"}),
    )
    .await;
    assert_eq!(second["meeting_number"], "24680135");
    assert_eq!(second["meeting_password"], "9876");
    let instant = schedule(
        &app,
        &admin,
        json!({"meeting_type": "instant", "meeting_name": "Now in the room", "meeting_room_id": room_id}),
    )
    .await;
    assert_eq!(instant["meeting_number"], "24680135");
    // A series in the room too.
    let series = app
        .post(
            "/api/v1/meeting_schedule/recurrence",
            Some(&admin),
            json!({"meeting_type": "recurrence", "meeting_name": "Weekly board",
                   "recurrence_type": "WEEKLY", "recurrenceStartTime": start,
                   "recurrenceEndTime": start + HOUR_MS, "recurrenceEndDay": start + 14 * DAY_MS,
                   "meeting_room_id": room_id}),
        )
        .await;
    assert_eq!(series.status, StatusCode::OK, "{}", series.body);
    assert_eq!(series.body["meeting_number"], "24680135");
    assert_eq!(series.body["meeting_password"], "4321");
    assert_eq!(series.body["meeting_room_id"], json!(room_id));
    let gid = s(&series.body, "recurrence_gid");
    let occurrences = app
        .get(
            &format!("/api/v1/meeting_schedule/recurrence/{gid}"),
            Some(&admin),
        )
        .await;
    assert_eq!(occurrences.body["total_size"], 3);
    assert!(
        occurrences.body["scheduled_meetings"]
            .as_array()
            .is_some_and(|a| a.iter().all(|o| o["meeting_number"] == "24680135"))
    );
    // A series in a room keeps the room's number.
    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/recurrence/{gid}"),
            Some(&admin),
            json!({"meeting_number": "77778888"}),
        )
        .await;
    assert_frtc_error(&reply, 400, "immutable_field");

    // A reservation moved into the room takes its number and frees its own.
    let outside = reserve(
        &app,
        &admin,
        "Moves in",
        start + 2 * DAY_MS,
        json!({"meeting_number": "33334444"}),
    )
    .await;
    let outside_path = format!("/api/v1/meeting_schedule/{}", s(&outside, "reservation_id"));
    let reply = app
        .post(
            &outside_path,
            Some(&admin),
            json!({"meeting_room_id": room_id}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let inside = app.get(&outside_path, Some(&admin)).await.body;
    assert_eq!(inside["meeting_number"], "24680135");
    assert_eq!(inside["meeting_room_id"], json!(room_id));
    reserve(
        &app,
        &admin,
        "Takes the freed number",
        start,
        json!({"meeting_number": "33334444"}),
    )
    .await;
    let reply = app
        .call(Method::DELETE, &outside_path, Some(&admin), None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);

    // The list filter by number finds everything in the room.
    let list = app
        .get("/api/v1/meeting_schedule?filter=2468", Some(&admin))
        .await;
    assert_eq!(list.body["total_size"], 6, "{}", list.body);

    // While meetings use it, the room can be neither deleted nor renumbered.
    let path = format!("/api/v1/meeting_room/{room_id}");
    assert_frtc_error(
        &app.call(Method::DELETE, &path, Some(&admin), None).await,
        409,
        "room_in_use",
    );
    assert_frtc_error(
        &app.post(&path, Some(&admin), json!({"meeting_number": "99990000"}))
            .await,
        409,
        "room_in_use",
    );
    // A rename is fine.
    let reply = app
        .post(
            &path,
            Some(&admin),
            json!({"meetingroom_name": "Board room A"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    // A meeting moved out of the room gets a number of its own.
    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/{}", s(&second, "reservation_id")),
            Some(&admin),
            json!({"meeting_room_id": null}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let moved = app
        .get(
            &format!("/api/v1/meeting_schedule/{}", s(&second, "reservation_id")),
            Some(&admin),
        )
        .await
        .body;
    assert_eq!(moved["meeting_room_id"], Value::Null);
    assert_ne!(moved["meeting_number"], "24680135");
    assert_eq!(s(&moved, "meeting_number").len(), 9);

    // Once the meetings are gone, the room can go, and its number is free.
    for id in [s(&first, "reservation_id"), s(&instant, "reservation_id")] {
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
    assert_frtc_error(
        &app.call(Method::DELETE, &path, Some(&admin), None).await,
        409,
        "room_in_use",
    );
    let reply = app
        .call(
            Method::DELETE,
            &format!("/api/v1/meeting_schedule/recurrence/{gid}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = app.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let single = reserve(
        &app,
        &admin,
        "Takes the number",
        start,
        json!({"meeting_number": "24680135"}),
    )
    .await;
    assert_eq!(single["meeting_number"], "24680135");
}

#[tokio::test]
async fn room_numbers_collide_with_every_other_number() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let start = in_days(&app, 1);
    reserve(
        &app,
        &admin,
        "Holds a number",
        start,
        json!({"meeting_number": "10203040"}),
    )
    .await;
    create_room(
        &app,
        &admin,
        json!({"meetingroom_name": "First", "meeting_number": "50607080"}),
    )
    .await;
    let second = create_room(&app, &admin, json!({"meetingroom_name": "Second"})).await;

    for number in ["10203040", "50607080"] {
        let reply = app
            .post(
                "/api/v1/meeting_room",
                Some(&admin),
                json!({"meetingroom_name": "Clash", "meeting_number": number}),
            )
            .await;
        assert_frtc_error(&reply, 409, "meeting_number_taken");
        let reply = app
            .post(
                &format!("/api/v1/meeting_room/{}", s(&second, "meeting_room_id")),
                Some(&admin),
                json!({"meeting_number": number}),
            )
            .await;
        assert_frtc_error(&reply, 409, "meeting_number_taken");
    }
    let reply = app
        .post(
            "/api/v1/meeting_schedule",
            Some(&admin),
            json!({"meeting_type": "reservation", "meeting_name": "Clash", "meeting_number": "50607080",
                   "schedule_start_time": start, "schedule_end_time": start + HOUR_MS}),
        )
        .await;
    assert_frtc_error(&reply, 409, "meeting_number_taken");
    // Numbers are unique across companies too (a number is what people dial).
    let acme = company_admin(&app, &admin, "Acme", "UTC", "acme-admin").await;
    let reply = app
        .post(
            "/api/v1/meeting_room",
            Some(&acme),
            json!({"meetingroom_name": "Clash", "meeting_number": "50607080"}),
        )
        .await;
    assert_frtc_error(&reply, 409, "meeting_number_taken");
    // Nothing half-created.
    let list = app.get("/api/v1/meeting_room", Some(&admin)).await;
    assert_eq!(list.body["total_size"], 2);
    assert_eq!(
        app.get(
            &format!("/api/v1/meeting_room/{}", s(&second, "meeting_room_id")),
            Some(&admin)
        )
        .await
        .body,
        second
    );
}

#[tokio::test]
async fn another_company_cannot_see_or_use_a_room() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let room = create_room(&app, &admin, json!({"meetingroom_name": "Board room"})).await;
    let room_id = s(&room, "meeting_room_id");
    let path = format!("/api/v1/meeting_room/{room_id}");
    let acme = company_admin(&app, &admin, "Acme", "UTC", "acme-admin").await;

    assert_frtc_error(&app.get(&path, Some(&acme)).await, 404, "room_not_found");
    assert_frtc_error(
        &app.post(&path, Some(&acme), json!({"meetingroom_name": "Ours"}))
            .await,
        404,
        "room_not_found",
    );
    assert_frtc_error(
        &app.call(Method::DELETE, &path, Some(&acme), None).await,
        404,
        "room_not_found",
    );
    let list = app.get("/api/v1/meeting_room", Some(&acme)).await;
    assert_eq!(list.body["meeting_rooms"], json!([]));
    assert_eq!(list.body["total_size"], 0);
    let start = in_days(&app, 1);
    let reply = app
        .post(
            "/api/v1/meeting_schedule",
            Some(&acme),
            json!({"meeting_type": "reservation", "meeting_name": "Borrowed",
                   "schedule_start_time": start, "schedule_end_time": start + HOUR_MS,
                   "meeting_room_id": room_id}),
        )
        .await;
    assert_frtc_error(&reply, 404, "room_not_found");
    let reply = app
        .post(
            "/api/v1/meeting_schedule/recurrence",
            Some(&acme),
            json!({"meeting_type": "recurrence", "meeting_name": "Borrowed",
                   "recurrence_type": "DAILY", "recurrenceStartTime": start,
                   "recurrenceEndTime": start + HOUR_MS, "recurrenceEndDay": start + DAY_MS,
                   "meeting_room_id": room_id}),
        )
        .await;
    assert_frtc_error(&reply, 404, "room_not_found");
    // Its own rooms are its own.
    create_room(&app, &acme, json!({"meetingroom_name": "Acme room"})).await;
    let list = app.get("/api/v1/meeting_room", Some(&acme)).await;
    assert_eq!(room_names(&list.body), ["Acme room"]);
    let list = app.get("/api/v1/meeting_room", Some(&admin)).await;
    assert_eq!(room_names(&list.body), ["Board room"]);
    assert_eq!(app.get(&path, Some(&admin)).await.body, room);
}

#[tokio::test]
async fn a_series_taken_out_of_its_room_gets_a_number_of_its_own_and_frees_the_room() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let room = app
        .post(
            "/api/v1/meeting_room",
            Some(&admin),
            json!({"meetingroom_name": "Studio", "meeting_number": "7070707"}),
        )
        .await;
    assert_eq!(room.status.as_u16(), 200, "{}", room.body);
    let room_id = s(&room.body, "meeting_room_id");
    let start = in_days(&app, 1);
    let series = app
        .post(
            "/api/v1/meeting_schedule/recurrence",
            Some(&admin),
            json!({"meeting_name": "Studio hour", "recurrence_type": "DAILY",
                   "recurrenceStartTime": start, "recurrenceEndTime": start + HOUR_MS,
                   "recurrenceEndDay": start + 3 * DAY_MS, "meeting_room_id": room_id}),
        )
        .await;
    assert_eq!(series.status.as_u16(), 200, "{}", series.body);
    assert_eq!(s(&series.body, "meeting_number"), "7070707");
    let gid = s(&series.body, "recurrence_gid");
    // While the series is in the room, the room cannot go.
    let reply = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/meeting_room/{room_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_frtc_error(&reply, 409, "room_in_use");

    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/recurrence/{gid}"),
            Some(&admin),
            json!({"meeting_room_id": null}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    let occurrences = app
        .get(
            &format!("/api/v1/meeting_schedule/recurrence/{gid}"),
            Some(&admin),
        )
        .await;
    let numbers: Vec<String> = occurrences.body["scheduled_meetings"]
        .as_array()
        .map(|a| a.iter().map(|o| s(o, "meeting_number")).collect())
        .unwrap_or_default();
    assert_eq!(numbers.len(), 4);
    assert!(
        numbers.iter().all(|n| n == &numbers[0] && n != "7070707"),
        "{numbers:?}"
    );
    let reply = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/meeting_room/{room_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
}

#[tokio::test]
async fn the_room_list_takes_a_filter() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for (name, number) in [("Board Room", "7100001"), ("Lab", "7100002")] {
        let reply = app
            .post(
                "/api/v1/meeting_room",
                Some(&admin),
                json!({"meetingroom_name": name, "meeting_number": number}),
            )
            .await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    }
    for (filter, names) in [
        ("board", vec!["Board Room"]),
        ("7100002", vec!["Lab"]),
        ("nothing", vec![]),
    ] {
        let reply = app
            .get(
                &format!("/api/v1/meeting_room?filter={filter}"),
                Some(&admin),
            )
            .await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        let listed: Vec<&str> = reply.body["meeting_rooms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["meetingroom_name"].as_str().unwrap())
            .collect();
        assert_eq!(listed, names, "{filter}");
        assert_eq!(reply.body["total_size"], names.len());
    }
}

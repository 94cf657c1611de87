//! Live meetings over the client protocol (real WebSocket clients) and FRTC Meeting Control:
//! every control call has its effect pushed to the clients and visible in the detail.

use std::time::Duration;

use plenum_testkit::TestApp;
use plenum_testkit::live::{Closed, LiveClient};
use serde_json::{Value, json};

use crate::history_fixture::{create_key, send};
use crate::{
    HOUR_MS, MINUTE_MS, assert_frtc_error, company_admin, live_app as app, now_ms, reserve, room,
    s, user,
};

/// Guests `names` joined to the room `number` (password 1234); each has seen the joins
/// of those after it.
async fn joined(app: &TestApp, number: &str, names: &[&str]) -> Vec<LiveClient> {
    let mut clients: Vec<LiveClient> = Vec::new();
    for name in names {
        let mut client = LiveClient::connect(app, None).await;
        client.join_ok(number, Some("1234"), name).await;
        for earlier in &mut clients {
            let seen = earlier.recv_type("participant_joined").await;
            assert_eq!(seen["participant"]["client_uuid"], client.id());
        }
        clients.push(client);
    }
    clients
}

async fn control(app: &TestApp, token: &str, number: &str, call: &str, body: Value) -> u16 {
    let reply = app
        .post(
            &format!("/api/v1/meeting/{number}/{call}"),
            Some(token),
            body,
        )
        .await;
    assert!(
        reply.status.as_u16() == 204 || reply.status.as_u16() >= 400,
        "{call}: {} {}",
        reply.status,
        reply.body
    );
    reply.status.as_u16()
}

async fn delete(app: &TestApp, token: &str, path: &str, body: Value) -> u16 {
    app.call(reqwest::Method::DELETE, path, Some(token), Some(body))
        .await
        .status
        .as_u16()
}

async fn detail(app: &TestApp, token: &str, number: &str) -> Value {
    let reply = app
        .get(&format!("/api/v1/meeting/{number}"), Some(token))
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    reply.body
}

/// Moves the clock `secs` forward in steps shorter than the heartbeat timeout, the clients
/// heartbeating at each step, as connected clients do.
async fn advance_with_heartbeats(app: &TestApp, clients: &mut [LiveClient], secs: u64) {
    let mut left = secs;
    while left > 0 {
        let step = left.min(20);
        app.clock.advance(Duration::from_secs(step));
        left -= step;
        for client in clients.iter_mut() {
            client.send(json!({"type": "heartbeat"})).await;
            client.recv_type("heartbeat_ack").await;
        }
    }
}

fn participant<'a>(detail: &'a Value, id: &str) -> &'a Value {
    detail["participants"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["client_uuid"] == id))
        .unwrap_or_else(|| panic!("{id} is not in {detail}"))
}

#[tokio::test]
async fn guests_join_a_room_see_each_other_and_appear_in_the_detail_and_list() {
    let app = app().await;
    let admin = app.admin_token().await;
    room(&app, &admin, "5550001").await;

    let mut ann = LiveClient::connect(&app, None).await;
    assert_eq!(ann.hello["protocol"], 1);
    assert!(ann.hello["heartbeat_interval_ms"].as_u64().unwrap() > 0);
    let joined = ann.join_ok("5550001", Some("1234"), "Ann").await;
    assert_eq!(joined["meeting"]["meeting_number"], "5550001");
    assert_eq!(joined["meeting"]["meeting_name"], "Room 5550001");
    assert!(joined["meeting"].get("meeting_password").is_none());
    assert_eq!(
        joined["meeting"]["participants"].as_array().unwrap().len(),
        1
    );
    let session = s(&joined, "session_id");

    let mut bob = LiveClient::connect(&app, None).await;
    let second = bob.join_ok("5550001", Some("1234"), "Bob").await;
    assert_eq!(second["session_id"], session.as_str());
    assert_eq!(
        second["meeting"]["participants"].as_array().unwrap().len(),
        2
    );
    let seen = ann.recv_type("participant_joined").await;
    assert_eq!(seen["participant"]["client_uuid"], bob.id());
    assert_eq!(seen["participant"]["name"], "Bob");
    assert_eq!(seen["participant"]["type"], "GUEST");
    assert!(seen["seq"].as_u64().unwrap() > joined["seq"].as_u64().unwrap());

    let d = detail(&app, &admin, "5550001").await;
    assert_eq!(d["status"], "STARTED");
    assert_eq!(d["meeting_password"], "1234");
    assert_eq!(d["locked"], false);
    assert_eq!(d["session_id"], session.as_str());
    for field in [
        "meeting_number",
        "meeting_name",
        "start_time",
        "owner_id",
        "owner_name",
        "guest_dial_in",
        "watermark",
    ] {
        assert!(d.get(field).is_some(), "{field} missing from {d}");
    }
    let b = participant(&d, bob.id());
    assert_eq!(b["name"], "Bob");
    assert_eq!(b["type"], "GUEST");
    assert_eq!(b["mute_audio"], false);
    assert_eq!(b["mute_video"], false);
    assert_eq!(b["lecture"], false);

    // The documented POST detail with an empty body is the same.
    let posted = app
        .post("/api/v1/meeting/5550001", Some(&admin), json!({}))
        .await;
    assert_eq!(posted.body["participants"].as_array().unwrap().len(), 2);

    for list in [
        app.post("/api/v1/meeting", Some(&admin), json!({})).await,
        app.get("/api/v1/meeting", Some(&admin)).await,
    ] {
        let meetings = list.body["meetings"].as_array().unwrap().clone();
        assert_eq!(meetings.len(), 1, "{}", list.body);
        assert_eq!(meetings[0]["meeting_number"], "5550001");
        assert_eq!(meetings[0]["status"], "STARTED");
        assert_eq!(meetings[0]["locked"], false);
    }

    // Capacity counts them live.
    let capacity = app
        .post("/api/v1/system/capacity", Some(&admin), json!({}))
        .await;
    assert_eq!(
        capacity.body["system"]["current_calls"], 2,
        "{}",
        capacity.body
    );

    // Leaving: the other sees it, the leaver gets `left` and the close.
    bob.send(json!({"type": "leave", "ref": "bye"})).await;
    let left = bob.recv_type("left").await;
    assert_eq!(left["ref"], "bye");
    assert_eq!(bob.closed().await, Closed::Code(4000));
    let gone = ann.recv_type("participant_left").await;
    assert_eq!(gone["client_uuid"], bob.id());
    assert_eq!(gone["reason"], "left");
    assert_eq!(
        detail(&app, &admin, "5550001").await["participants"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The last one out ends the meeting.
    ann.drop_connection();
    for _ in 0..200 {
        if app.get("/api/v1/meeting", Some(&admin)).await.body["meetings"]
            .as_array()
            .unwrap()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let list = app.get("/api/v1/meeting", Some(&admin)).await;
    assert!(
        list.body["meetings"].as_array().unwrap().is_empty(),
        "{}",
        list.body
    );
    assert_frtc_error(
        &app.get("/api/v1/meeting/5550001", Some(&admin)).await,
        404,
        "meeting_not_running",
    );
    let capacity = app
        .post("/api/v1/system/capacity", Some(&admin), json!({}))
        .await;
    assert_eq!(capacity.body["system"]["current_calls"], 0);
}

#[tokio::test]
async fn a_large_meeting_snapshot_comes_in_pieces_of_ten() {
    let app = app().await;
    let admin = app.admin_token().await;
    room(&app, &admin, "5550004").await;
    let _in = joined(
        &app,
        "5550004",
        &["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K"],
    )
    .await;
    let mut late = LiveClient::connect(&app, None).await;
    let first = late.join_ok("5550004", Some("1234"), "L").await;
    assert_eq!(first["participant_count"], 12);
    assert_eq!(
        first["meeting"]["participants"].as_array().unwrap().len(),
        10
    );
    assert_eq!(first["remaining_participants"], 2);
    assert_eq!(first["you"]["client_uuid"], late.id());
    assert_eq!(first["you"]["name"], "L");
    let rest = late.recv().await;
    assert_eq!(rest["type"], "participants", "{rest}");
    assert_eq!(rest["seq"], first["seq"]);
    assert_eq!(rest["remaining_participants"], 0);
    let mut names: Vec<String> = first["meeting"]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["participants"].as_array().unwrap())
        .map(|p| s(p, "name"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L"]
    );
}

#[tokio::test]
async fn every_refusal_has_its_reason() {
    let app = TestApp::spawn_with(|s| {
        s.policy.live.max_participants_per_meeting = 2;
        s.policy.max_calls = 3;
    })
    .await;
    let admin = app.admin_token().await;
    room(&app, &admin, "5550002").await;
    room(&app, &admin, "5550003").await;
    let mut c = LiveClient::connect(&app, None).await;

    let refused = |answer: Value, reason: &str| {
        assert_eq!(answer["type"], "refused", "{answer}");
        assert_eq!(answer["reason"], reason, "{answer}");
        assert!(!answer["message"].as_str().unwrap().is_empty());
    };
    refused(
        c.join(json!({"meeting_number": "5559999", "display_name": "X"}))
            .await,
        "unknown_meeting",
    );
    refused(
        c.join(json!({"meeting_number": "not-a-number", "display_name": "X"}))
            .await,
        "unknown_meeting",
    );
    refused(
        c.join(json!({"meeting_number": "5550002", "password": "9999", "display_name": "X"}))
            .await,
        "wrong_password",
    );
    refused(
        c.join(json!({"meeting_number": "5550002", "display_name": "X"}))
            .await,
        "wrong_password",
    );
    refused(c.join(json!({"meeting_number": "5550002", "password": "1234", "display_name": "X", "token": "nope"})).await, "unauthorized");

    // Full meeting, then full server.
    let mut first = joined(&app, "5550002", &["A", "B"]).await;
    refused(
        c.join(json!({"meeting_number": "5550002", "password": "1234", "display_name": "C"}))
            .await,
        "meeting_full",
    );
    let mut third = LiveClient::connect(&app, None).await;
    third.join_ok("5550003", Some("1234"), "D").await;
    refused(
        c.join(json!({"meeting_number": "5550003", "password": "1234", "display_name": "E"}))
            .await,
        "server_full",
    );

    // Locked.
    first.pop();
    let _ = first;
    assert_eq!(
        control(&app, &admin, "5550003", "lock", json!({})).await,
        204
    );
    third.recv_type("lock_changed").await;
    let mut other = LiveClient::connect(&app, None).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    refused(
        other
            .join(json!({"meeting_number": "5550003", "password": "1234", "display_name": "F"}))
            .await,
        "meeting_locked",
    );

    // Bad messages are errors, and the connection stays usable.
    c.send(json!({"type": "fly"})).await;
    assert_eq!(c.recv_type("error").await["code"], "invalid_message");
    c.send(json!({"type": "join", "meeting_number": "5550002", "display_name": "X", "device_type": "toaster"})).await;
    assert_eq!(c.recv_type("error").await["code"], "invalid_message");
    c.send_raw(tokio_tungstenite::tungstenite::Message::binary(vec![
        1, 2, 3,
    ]))
    .await;
    assert_eq!(c.recv_type("error").await["code"], "unsupported_frame");
    c.send(json!({"type": "set_mute", "audio": true})).await;
    assert_eq!(c.recv_type("error").await["code"], "not_joined");
    c.send(json!({"type": "heartbeat", "ref": 7})).await;
    assert_eq!(c.recv_type("heartbeat_ack").await["ref"], 7);
}

#[tokio::test]
async fn scheduled_meetings_open_in_their_window_and_apply_their_settings() {
    let app = app().await;
    let admin = app.admin_token().await;
    let start = (now_ms(&app) / MINUTE_MS) * MINUTE_MS + 2 * HOUR_MS;
    let meeting = reserve(
        &app,
        &admin,
        "Planning",
        start,
        json!({"meeting_number": "5551001", "meeting_password": "4321", "guest_dial_in": false,
               "mute_upon_entry": "ENABLE", "watermark": true, "time_to_join": 30}),
    )
    .await;
    assert_eq!(meeting["meeting_number"], "5551001");
    let (_, normal) = user(&app, &admin, "nora", "Normal").await;

    let mut c = LiveClient::connect(&app, Some(&normal)).await;
    // Without the password, a number does not tell when its meeting opens.
    let guessing = c
        .join(json!({"meeting_number": "5551001", "password": "1111"}))
        .await;
    assert_eq!(guessing["reason"], "wrong_password", "{guessing}");
    assert!(guessing.get("opens_at").is_none(), "{guessing}");
    let early = c
        .join(json!({"meeting_number": "5551001", "password": "4321"}))
        .await;
    assert_eq!(early["reason"], "not_open_yet", "{early}");
    assert_eq!(early["opens_at"], start - 30 * MINUTE_MS);

    app.clock
        .advance(Duration::from_millis((2 * HOUR_MS - 20 * MINUTE_MS) as u64));
    let mut guest = LiveClient::connect(&app, None).await;
    let refused = guest
        .join(json!({"meeting_number": "5551001", "password": "4321", "display_name": "G"}))
        .await;
    assert_eq!(refused["reason"], "guests_not_allowed", "{refused}");

    // A signed-in user of the company joins; mute_upon_entry and watermark apply.
    let joined = c
        .join(json!({"meeting_number": "5551001", "password": "4321"}))
        .await;
    assert_eq!(joined["type"], "joined", "{joined}");
    assert_eq!(joined["meeting"]["watermark"], true);
    let me = participant(&joined["meeting"], c.id());
    assert_eq!(me["mute_audio"], true);
    assert_eq!(me["name"], "NORA");
    assert_eq!(me["type"], "USER");
    assert_eq!(joined["meeting"]["end_time"], start + HOUR_MS);

    // The meeting ends by itself at its end time.
    let to_end_secs = ((start + HOUR_MS - now_ms(&app)) / 1000) as u64;
    advance_with_heartbeats(&app, std::slice::from_mut(&mut c), to_end_secs - 10).await;
    app.clock.advance(Duration::from_secs(20));
    let ended = c.recv_type("meeting_ended").await;
    assert_eq!(ended["reason"], "end_time_reached");
    // Over for good: a client that trusted `rejoin` would be refused.
    assert_eq!(ended["rejoin"], false, "{ended}");
    assert_eq!(c.closed().await, Closed::Code(4002));
    let mut late = LiveClient::connect(&app, Some(&normal)).await;
    let after = late
        .join(json!({"meeting_number": "5551001", "password": "4321"}))
        .await;
    assert_eq!(after["reason"], "meeting_ended", "{after}");
}

#[tokio::test]
async fn mute_controls_reach_every_client_and_the_detail() {
    let app = app().await;
    let admin = app.admin_token().await;
    room(&app, &admin, "5550010").await;
    let mut host = LiveClient::connect(&app, Some(&admin)).await;
    host.join_ok("5550010", Some("1234"), "Host").await;
    let mut c = joined(&app, "5550010", &["A", "B"]).await;
    host.recv_type("participant_joined").await;
    host.recv_type("participant_joined").await;
    let a = c[0].id().to_owned();

    // mute_all with an exclusion, self-unmute forbidden.
    let body = json!({"allow_self_unmute": false, "exclusions": [host.id()]});
    assert_eq!(
        control(&app, &admin, "5550010", "mute_all", body).await,
        204
    );
    // One `all_muted` reaches everyone, the host included, naming who was spared.
    let host_id = host.id().to_owned();
    for client in c.iter_mut().chain(std::iter::once(&mut host)) {
        let e = client.recv_type("all_muted").await;
        assert_eq!(e["allow_self_unmute"], false);
        assert_eq!(e["except"], json!([host_id]));
    }
    let d = detail(&app, &admin, "5550010").await;
    assert_eq!(participant(&d, &a)["mute_audio"], true);
    assert_eq!(participant(&d, host.id())["mute_audio"], false);

    // The spared host has nothing to ask for.
    host.send(json!({"type": "request_unmute", "ref": "h"}))
        .await;
    let not_muted = host.recv_type("error").await;
    assert_eq!(not_muted["code"], "not_muted", "{not_muted}");
    assert_eq!(not_muted["ref"], "h");

    // A muted participant may not unmute themselves; they ask, the host hears, allows.
    c[0].send(json!({"type": "set_mute", "audio": false, "ref": 1}))
        .await;
    let refused = c[0].recv_type("error").await;
    assert_eq!(refused["code"], "unmute_not_allowed");
    assert_eq!(refused["ref"], 1);
    c[0].send(json!({"type": "request_unmute"})).await;
    c[0].recv_type("ok").await;
    let asked = host.recv_type("unmute_requested").await;
    assert_eq!(asked["client_uuid"], a.as_str());
    assert_eq!(
        participant(&detail(&app, &admin, "5550010").await, &a)["unmute_requested"],
        true
    );
    assert_eq!(
        control(
            &app,
            &admin,
            "5550010",
            "allow_unmute",
            json!({"participants": [a]})
        )
        .await,
        204
    );
    assert_eq!(
        c[0].recv_type("unmute_allowed").await["client_uuid"],
        a.as_str()
    );
    c[0].send(json!({"type": "set_mute", "audio": false})).await;
    c[0].recv_type("ok").await;
    // B saw the permission change, then the unmute.
    let allowed = c[1].recv_type("mute_changed").await;
    assert_eq!(allowed["allow_self_unmute"], true);
    assert_eq!(allowed["mute_audio"], true);
    let unmuted = c[1].recv_type("mute_changed").await;
    assert_eq!(unmuted["client_uuid"], a.as_str());
    assert_eq!(unmuted["mute_audio"], false);

    // mute / unmute one; unmute_all.
    assert_eq!(
        control(
            &app,
            &admin,
            "5550010",
            "mute",
            json!({"participants": [a], "allow_self_unmute": true})
        )
        .await,
        204
    );
    assert_eq!(c[1].recv_type("mute_changed").await["mute_audio"], true);
    assert_eq!(
        control(
            &app,
            &admin,
            "5550010",
            "unmute",
            json!({"participants": [a]})
        )
        .await,
        204
    );
    assert_eq!(c[1].recv_type("mute_changed").await["mute_audio"], false);
    assert_eq!(
        control(&app, &admin, "5550010", "unmute_all", json!({})).await,
        204
    );
    let d = detail(&app, &admin, "5550010").await;
    assert!(
        d["participants"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["mute_audio"] == false)
    );

    // A stranger changes nobody.
    let stranger = app
        .post(
            "/api/v1/meeting/5550010/mute",
            Some(&admin),
            json!({"participants": [a, "0190a0a0-0000-7000-8000-000000000000"]}),
        )
        .await;
    assert_frtc_error(&stranger, 404, "participant_not_found");
    assert_frtc_error(
        &app.post(
            "/api/v1/meeting/5550010/mute",
            Some(&admin),
            json!({"participants": []}),
        )
        .await,
        400,
        "empty_value",
    );
    assert_eq!(
        participant(&detail(&app, &admin, "5550010").await, &a)["mute_audio"],
        false
    );
}

#[tokio::test]
async fn host_controls_change_the_meeting_for_everyone() {
    let app = app().await;
    let admin = app.admin_token().await;
    room(&app, &admin, "5550020").await;
    let mut c = joined(&app, "5550020", &["A", "B"]).await;
    let (a, b) = (c[0].id().to_owned(), c[1].id().to_owned());
    let n = "5550020";

    let body = json!({"content": "Test Overlay Text!", "repeat": 5, "position": 100, "enable_scroll": true});
    assert_eq!(control(&app, &admin, n, "overlay", body).await, 204);
    let e = c[1].recv_type("overlay_changed").await;
    assert_eq!(e["overlay"]["content"], "Test Overlay Text!");
    assert_eq!(detail(&app, &admin, n).await["overlay"]["repeat"], 5);
    assert_eq!(
        delete(
            &app,
            &admin,
            &format!("/api/v1/meeting/{n}/overlay"),
            json!({})
        )
        .await,
        204
    );
    assert!(c[1].recv_type("overlay_changed").await["overlay"].is_null());
    assert_frtc_error(
        &app.post(
            &format!("/api/v1/meeting/{n}/overlay"),
            Some(&admin),
            json!({"content": "x", "position": 101}),
        )
        .await,
        400,
        "out_of_range",
    );

    assert_eq!(
        control(&app, &admin, n, "lecturer", json!({"lecturer": b})).await,
        204
    );
    assert_eq!(
        c[0].recv_type("lecturer_changed").await["client_uuid"],
        b.as_str()
    );
    assert_eq!(
        participant(&detail(&app, &admin, n).await, &b)["lecture"],
        true
    );
    assert_eq!(
        delete(
            &app,
            &admin,
            &format!("/api/v1/meeting/{n}/lecturer"),
            json!({})
        )
        .await,
        204
    );
    assert!(c[0].recv_type("lecturer_changed").await["client_uuid"].is_null());

    assert_eq!(
        control(
            &app,
            &admin,
            n,
            "participant",
            json!({"client_id": a, "display_name": "Tom Cruise"})
        )
        .await,
        204
    );
    let renamed = c[1].recv_type("participant_renamed").await;
    assert_eq!(renamed["name"], "Tom Cruise");
    assert_eq!(
        participant(&detail(&app, &admin, n).await, &a)["name"],
        "Tom Cruise"
    );

    assert_eq!(
        control(&app, &admin, n, "recording", json!({"meeting_number": n})).await,
        204
    );
    assert_eq!(c[0].recv_type("recording_changed").await["recording"], true);
    assert_eq!(detail(&app, &admin, n).await["recording"], true);
    assert_eq!(
        delete(
            &app,
            &admin,
            &format!("/api/v1/meeting/{n}/recording"),
            json!({"meeting_number": n})
        )
        .await,
        204
    );
    assert_eq!(
        c[0].recv_type("recording_changed").await["recording"],
        false
    );

    assert_eq!(
        control(
            &app,
            &admin,
            n,
            "live",
            json!({"meeting_number": n, "live_password": "111111"})
        )
        .await,
        204
    );
    let live = c[0].recv_type("live_changed").await;
    assert_eq!(live["live"], true);
    assert_eq!(live["live_passcode"], "111111");
    let d = detail(&app, &admin, n).await;
    assert!(d["live_url"].as_str().unwrap().starts_with(&app.base_url));
    assert_eq!(
        delete(
            &app,
            &admin,
            &format!("/api/v1/meeting/{n}/live"),
            json!({"meeting_number": n})
        )
        .await,
        204
    );
    assert_eq!(c[0].recv_type("live_changed").await["live"], false);

    assert_eq!(
        control(&app, &admin, n, "pin", json!({"participants": [a]})).await,
        204
    );
    assert_eq!(
        c[1].recv_type("meeting_pin_changed").await["client_uuid"],
        a.as_str()
    );
    assert_eq!(detail(&app, &admin, n).await["pinned"], a.as_str());
    assert_eq!(
        delete(
            &app,
            &admin,
            &format!("/api/v1/meeting/{n}/pin"),
            json!({"participants": [a]})
        )
        .await,
        204
    );
    assert!(c[1].recv_type("meeting_pin_changed").await["client_uuid"].is_null());

    // Pin and layout for one participant reach that participant only.
    assert_eq!(
        control(
            &app,
            &admin,
            n,
            &format!("participant/{b}/pin"),
            json!({"participants": [a]})
        )
        .await,
        204
    );
    let pinned = c[1].recv_type("participant_pin_changed").await;
    assert_eq!(pinned["pinned"], a.as_str());
    assert_eq!(
        participant(&detail(&app, &admin, n).await, &b)["pinned"],
        a.as_str()
    );
    assert_eq!(
        control(
            &app,
            &admin,
            n,
            &format!("participant/{b}/layout_change"),
            json!({"max_views": 19, "layout": "gallery"})
        )
        .await,
        204
    );
    let layout = c[1].recv_type("layout_changed").await;
    assert_eq!(layout["max_views"], 19);
    // What a change leaves out stays as it was.
    assert_eq!(
        control(
            &app,
            &admin,
            n,
            &format!("participant/{b}/layout_change"),
            json!({"max_views": 4})
        )
        .await,
        204
    );
    let layout = c[1].recv_type("layout_changed").await;
    assert_eq!(layout["max_views"], 4);
    assert_eq!(layout["layout"], "gallery", "{layout}");
    assert_frtc_error(
        &app.post(
            &format!("/api/v1/meeting/{n}/participant/{b}/layout_change"),
            Some(&admin),
            json!({"max_views": 20}),
        )
        .await,
        400,
        "out_of_range",
    );
    assert_eq!(
        delete(
            &app,
            &admin,
            &format!("/api/v1/meeting/{n}/participant/{b}/pin"),
            json!({})
        )
        .await,
        204
    );
    assert!(c[1].recv_type("participant_pin_changed").await["pinned"].is_null());

    assert_eq!(control(&app, &admin, n, "lock", json!({})).await, 204);
    assert_eq!(c[0].recv_type("lock_changed").await["locked"], true);
    assert_eq!(detail(&app, &admin, n).await["locked"], true);
    assert_eq!(
        app.get("/api/v1/meeting", Some(&admin)).await.body["meetings"][0]["locked"],
        true
    );
    assert_eq!(
        delete(
            &app,
            &admin,
            &format!("/api/v1/meeting/{n}/lock"),
            json!({})
        )
        .await,
        204
    );
    assert_eq!(c[0].recv_type("lock_changed").await["locked"], false);

    assert_frtc_error(
        &app.post(
            &format!("/api/v1/meeting/{n}/cascading"),
            Some(&admin),
            json!({"frtc_call_params": {"meeting_number": "123456"}}),
        )
        .await,
        501,
        "not_supported",
    );
}

#[tokio::test]
async fn disconnect_stop_and_end_time_end_participation() {
    let app = app().await;
    let admin = app.admin_token().await;
    room(&app, &admin, "5550030").await;
    let mut c = joined(&app, "5550030", &["A", "B", "C"]).await;
    let a = c[0].id().to_owned();

    let reply = app
        .call(
            reqwest::Method::DELETE,
            "/api/v1/meeting/5550030/disconnect",
            Some(&admin),
            Some(json!({"participants": [a]})),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    let own = c[0].recv_type("participant_left").await;
    assert_eq!(own["reason"], "disconnected");
    assert_eq!(c[0].closed().await, Closed::Code(4001));
    assert_eq!(
        c[1].recv_type("participant_left").await["client_uuid"],
        a.as_str()
    );

    // The end time moves; the meeting really ends then.
    let end = now_ms(&app) + 10 * MINUTE_MS;
    let moved = app
        .post(
            "/api/v1/meeting/5550030",
            Some(&admin),
            json!({"end_time": end}),
        )
        .await;
    assert_eq!(moved.status.as_u16(), 204, "{}", moved.body);
    assert_eq!(c[1].recv_type("end_time_changed").await["end_time"], end);
    assert_eq!(detail(&app, &admin, "5550030").await["end_time"], end);
    let past = app
        .post(
            "/api/v1/meeting/5550030",
            Some(&admin),
            json!({"end_time": now_ms(&app) - 1000}),
        )
        .await;
    assert_frtc_error(&past, 400, "end_in_past");
    // Heartbeats keep B and C in while the clock runs to the end.
    advance_with_heartbeats(&app, &mut c[1..], 10 * 60 - 20).await;
    app.clock.advance(Duration::from_secs(40));
    for client in &mut c[1..] {
        let ended = client.recv_type("meeting_ended").await;
        assert_eq!(ended["reason"], "end_time_reached");
        // A room reopens on its next join.
        assert_eq!(ended["rejoin"], true, "{ended}");
        assert_eq!(client.closed().await, Closed::Code(4002));
    }

    // A room started again, then stopped with rejoin: everyone is told, and may come back.
    let mut c = joined(&app, "5550030", &["D", "E"]).await;
    assert_eq!(
        control(&app, &admin, "5550030", "stop", json!({"rejoin": true})).await,
        204
    );
    for client in &mut c {
        let ended = client.recv_type("meeting_ended").await;
        assert_eq!(ended["reason"], "stopped");
        assert_eq!(ended["rejoin"], true);
    }
    let mut again = joined(&app, "5550030", &["F", "G"]).await;
    let reply = app
        .call(
            reqwest::Method::DELETE,
            "/api/v1/meeting/5550030/disconnect_all",
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 204);
    for client in &mut again {
        assert_eq!(
            client.recv_type("participant_left").await["reason"],
            "disconnected"
        );
        assert_eq!(client.closed().await, Closed::Code(4001));
    }
}

/// A test server with a reservation `number` (password 1234) starting in five minutes, and
/// guest "A" joined to it.
async fn reservation_joined(number: &str) -> (TestApp, String, LiveClient) {
    let app = app().await;
    let admin = app.admin_token().await;
    let start = (now_ms(&app) / MINUTE_MS) * MINUTE_MS + 5 * MINUTE_MS;
    reserve(
        &app,
        &admin,
        "Planned",
        start,
        json!({"meeting_number": number, "meeting_password": "1234"}),
    )
    .await;
    let mut c = LiveClient::connect(&app, None).await;
    c.join_ok(number, Some("1234"), "A").await;
    (app, admin, c)
}

/// A join of `number` is refused: the meeting is over.
async fn assert_over(app: &TestApp, number: &str) {
    let mut late = LiveClient::connect(app, None).await;
    let answer = late
        .join(json!({"meeting_number": number, "password": "1234", "display_name": "B"}))
        .await;
    assert_eq!(answer["reason"], "meeting_ended", "{answer}");
}

#[tokio::test]
async fn a_reservation_stopped_without_rejoin_stays_closed() {
    let (app, admin, mut c) = reservation_joined("5552001").await;
    assert_eq!(
        control(&app, &admin, "5552001", "stop", json!({"rejoin": false})).await,
        204
    );
    let ended = c.recv_type("meeting_ended").await;
    assert_eq!(ended["reason"], "stopped_no_rejoin");
    assert_eq!(ended["rejoin"], false);
    assert_eq!(c.closed().await, Closed::Code(4002));
    assert_over(&app, "5552001").await;
}

#[tokio::test]
async fn a_silent_participant_is_dropped_after_the_heartbeat_timeout() {
    let app = app().await;
    let admin = app.admin_token().await;
    room(&app, &admin, "5550040").await;
    let mut c = joined(&app, "5550040", &["Quiet", "Chatty"]).await;
    let quiet = c[0].id().to_owned();
    app.clock.advance(Duration::from_secs(20));
    c[1].send(json!({"type": "heartbeat"})).await;
    c[1].recv_type("heartbeat_ack").await;
    app.clock.advance(Duration::from_secs(15));
    let gone = c[1].recv_type("participant_left").await;
    assert_eq!(gone["client_uuid"], quiet.as_str());
    assert_eq!(gone["reason"], "heartbeat_timeout");
    assert_eq!(c[0].closed().await, Closed::Code(4003));
    assert_eq!(
        detail(&app, &admin, "5550040").await["participants"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn only_hosts_control_and_nothing_crosses_companies() {
    let app = app().await;
    let admin = app.admin_token().await;
    room(&app, &admin, "5550050").await;
    let _c = joined(&app, "5550050", &["A"]).await;
    let (_, normal) = user(&app, &admin, "norm", "Normal").await;
    let (_, operator) = user(&app, &admin, "oper", "MeetingOperator").await;
    let other = company_admin(&app, &admin, "Other Co", "UTC", "otheradmin").await;

    assert_frtc_error(
        &app.post("/api/v1/meeting/5550050/lock", Some(&normal), json!({}))
            .await,
        403,
        "permission_denied",
    );
    assert_frtc_error(
        &app.get("/api/v1/meeting/5550050", Some(&normal)).await,
        403,
        "permission_denied",
    );
    assert!(
        app.get("/api/v1/meeting", Some(&normal)).await.body["meetings"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        control(&app, &operator, "5550050", "lock", json!({})).await,
        204
    );

    assert_frtc_error(
        &app.post("/api/v1/meeting/5550050/unlock", Some(&other), json!({}))
            .await,
        404,
        "not_found",
    );
    assert_frtc_error(
        &app.call(
            reqwest::Method::DELETE,
            "/api/v1/meeting/5550050/lock",
            Some(&other),
            None,
        )
        .await,
        404,
        "meeting_not_running",
    );
    assert_frtc_error(
        &app.get("/api/v1/meeting/5550050", Some(&other)).await,
        404,
        "meeting_not_running",
    );
    assert!(
        app.get("/api/v1/meeting", Some(&other)).await.body["meetings"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_frtc_error(
        &app.post("/api/v1/meeting/5550050/lock", None, json!({}))
            .await,
        401,
        "token_missing",
    );
    assert_frtc_error(
        &app.post("/api/v1/meeting/123/lock", Some(&admin), json!({}))
            .await,
        404,
        "meeting_not_running",
    );
}

/// Rokid's participants of a session, through the company's API key.
async fn rokid_stays(app: &TestApp, key: &str, session: &str) -> Vec<Value> {
    let reply = send(
        app,
        reqwest::Method::GET,
        &format!("/ar/corporation/openapi/rtc/meeting/record/list?id={session}"),
        &[("authorization", &format!("Bearer {key}"))],
        None,
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    reply.body.as_array().cloned().unwrap_or_default()
}

fn status_of<'a>(stays: &'a [Value], name: &str) -> &'a str {
    stays
        .iter()
        .find(|s| s["participantUserFullName"] == name)
        .and_then(|s| s["status"].as_str())
        .unwrap_or_else(|| panic!("{name} is not in {stays:?}"))
}

#[tokio::test]
async fn what_happens_live_is_in_the_history_as_it_happens() {
    let app = app().await;
    let admin = app.admin_token().await;
    let (ivy, _) = user(&app, &admin, "ivy", "Normal").await;
    let start = (now_ms(&app) / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
    reserve(
        &app,
        &admin,
        "Inspection",
        start,
        json!({"meeting_number": "5553001", "meeting_password": "1234", "invited_users": [ivy]}),
    )
    .await;
    let key = create_key(&app, &admin, "history reader", "api_key").await["api_key"]
        .as_str()
        .expect("an API key")
        .to_owned();
    let company = app.get("/api/v1/company", Some(&admin)).await.body["company_id"]
        .as_str()
        .expect("the company id")
        .to_owned();

    let mut c = joined(&app, "5553001", &["Ann", "Bob"]).await;
    let session = detail(&app, &admin, "5553001").await["session_id"]
        .as_str()
        .expect("a session")
        .to_owned();
    c[1].send(json!({"type": "leave"})).await;
    c[1].recv_type("left").await;
    c[0].recv_type("participant_left").await;

    // Running: the meeting is 进行中; Ann is in, Bob has left, the invitee never came.
    let page = send(
        &app,
        reqwest::Method::POST,
        "/ar/corporation/openapi/rtc/meeting/info/page",
        &[("authorization", &format!("Bearer {key}"))],
        Some(json!({"companyId": company})),
    )
    .await;
    let listed = page.body["list"].as_array().cloned().unwrap_or_default();
    let row = listed
        .iter()
        .find(|m| m["meetingName"] == "Inspection")
        .unwrap_or_else(|| panic!("not in the history: {}", page.body));
    assert_eq!(row["meetingStatus"], "进行中", "{row}");
    let stays = rokid_stays(&app, &key, &session).await;
    assert_eq!(status_of(&stays, "Ann"), "会议中");
    assert_eq!(status_of(&stays, "Bob"), "已退出");
    assert_eq!(status_of(&stays, "IVY"), "未进入");

    // Stopped: over, and everyone who was in has left.
    assert_eq!(
        control(&app, &admin, "5553001", "stop", json!({"rejoin": true})).await,
        204
    );
    c[0].recv_type("meeting_ended").await;
    let stays = rokid_stays(&app, &key, &session).await;
    assert_eq!(status_of(&stays, "Ann"), "已退出");
    assert_eq!(status_of(&stays, "IVY"), "未进入");
}

#[tokio::test]
async fn a_full_server_is_the_reason_only_when_the_meeting_would_admit() {
    let app = TestApp::spawn_with(|s| {
        s.policy.live.max_participants_per_meeting = 2;
        s.policy.max_calls = 3;
    })
    .await;
    let admin = app.admin_token().await;
    room(&app, &admin, "5550004").await;
    room(&app, &admin, "5550005").await;

    // Five join one meeting of two at once: two are in, the others hear the meeting is
    // full (the server, with three calls, never was).
    let attempts = (0..5).map(|i| {
        let app = &app;
        async move {
            let mut c = LiveClient::connect(app, None).await;
            let answer = c
                .join(json!({"meeting_number": "5550004", "password": "1234",
                             "display_name": format!("P{i}")}))
                .await;
            (c, answer)
        }
    });
    let answers = futures::future::join_all(attempts).await;
    let kinds = |wanted: &str| {
        answers
            .iter()
            .filter(|(_, a)| a["type"] == wanted || a["reason"] == wanted)
            .count()
    };
    assert_eq!(
        kinds("joined"),
        2,
        "{:?}",
        answers.iter().map(|(_, a)| a).collect::<Vec<_>>()
    );
    assert_eq!(kinds("meeting_full"), 3);

    // The third call of the server; now the server is full, and says so only to a join
    // the meeting itself would admit.
    let mut third = LiveClient::connect(&app, None).await;
    third.join_ok("5550005", Some("1234"), "T").await;
    let mut c = LiveClient::connect(&app, None).await;
    let answer = c
        .join(json!({"meeting_number": "5550004", "password": "1234", "display_name": "X"}))
        .await;
    assert_eq!(answer["reason"], "meeting_full", "{answer}");
    let answer = c
        .join(json!({"meeting_number": "5550005", "password": "9999", "display_name": "X"}))
        .await;
    assert_eq!(answer["reason"], "wrong_password", "{answer}");
    let answer = c
        .join(json!({"meeting_number": "5550005", "password": "1234", "display_name": "X"}))
        .await;
    assert_eq!(answer["reason"], "server_full", "{answer}");
}

#[tokio::test]
async fn a_reservation_ended_early_at_its_moved_end_time_stays_closed() {
    let (app, admin, mut c) = reservation_joined("5552002").await;
    let end = now_ms(&app) + 2 * MINUTE_MS;
    let moved = app
        .post(
            "/api/v1/meeting/5552002",
            Some(&admin),
            // As FRTC's other times, a string of digits will do.
            json!({"end_time": end.to_string()}),
        )
        .await;
    assert_eq!(moved.status.as_u16(), 204, "{}", moved.body);
    advance_with_heartbeats(&app, std::slice::from_mut(&mut c), 100).await;
    app.clock.advance(Duration::from_secs(40));
    assert_eq!(
        c.recv_type("meeting_ended").await["reason"],
        "end_time_reached"
    );
    assert_eq!(c.closed().await, Closed::Code(4002));

    // Its scheduled end is an hour away, but the meeting is over.
    assert_over(&app, "5552002").await;
}

#[tokio::test]
async fn control_calls_check_permission_before_reading_the_body() {
    let app = app().await;
    let admin = app.admin_token().await;
    room(&app, &admin, "5550060").await;
    let _c = joined(&app, "5550060", &["A"]).await;
    let (_, normal) = user(&app, &admin, "nosy", "Normal").await;

    for (call, body) in [
        ("mute", "{\"participants\":"),
        ("mute", "{}"),
        ("participant/0194/layout_change", "{\"max_views\": 20}"),
        ("cascading", "{}"),
    ] {
        let path = format!("/api/v1/meeting/5550060/{call}");
        let reply = app
            .call_raw(reqwest::Method::POST, &path, Some(&normal), body)
            .await;
        assert_frtc_error(&reply, 403, "permission_denied");
        // A number not running is not running, whatever the body.
        let path = format!("/api/v1/meeting/5559998/{call}");
        let reply = app
            .call_raw(reqwest::Method::POST, &path, Some(&admin), body)
            .await;
        assert_frtc_error(&reply, 404, "meeting_not_running");
    }
    // The body is judged once the caller may make the call.
    let reply = app
        .call_raw(
            reqwest::Method::POST,
            "/api/v1/meeting/5550060/mute",
            Some(&admin),
            "{\"participants\":",
        )
        .await;
    assert_frtc_error(&reply, 400, "malformed_json");
}

#[tokio::test]
async fn control_bodies_are_judged_field_by_field_in_plain_words() {
    let app = app().await;
    let admin = app.admin_token().await;
    room(&app, &admin, "5550080").await;
    let c = joined(&app, "5550080", &["A", "B"]).await;
    let a = c[0].id().to_owned();
    let post = |call: &'static str, body: Value| {
        let app = &app;
        let admin = &admin;
        async move {
            app.post(
                &format!("/api/v1/meeting/5550080/{call}"),
                Some(admin),
                body,
            )
            .await
        }
    };

    for body in [
        json!({"participants": [a], "allow_self_unmute": 1}),
        json!({"participants": [null]}),
        json!({"participants": [{"a": 1}]}),
    ] {
        let reply = post("mute", body).await;
        assert_frtc_error(&reply, 400, "invalid_field_type");
        let message = reply.body["error"].as_str().unwrap();
        assert!(!message.contains("untagged"), "{message}");
    }
    let reply = post("mute", json!({})).await;
    assert_frtc_error(&reply, 400, "missing_field");
    assert!(
        reply.body["error"]
            .as_str()
            .unwrap()
            .contains("participants")
    );

    let reply = post("live", json!({"live_password": "12"})).await;
    assert_frtc_error(&reply, 400, "invalid_password");
    assert!(
        reply.body["error"]
            .as_str()
            .unwrap()
            .contains("live_password")
    );

    // A participant's view pins one *other* participant.
    let reply = app
        .post(
            &format!("/api/v1/meeting/5550080/participant/{a}/pin"),
            Some(&admin),
            json!({"participants": [a]}),
        )
        .await;
    assert_frtc_error(&reply, 400, "conflicting_fields");
    let two = json!({"participants": [a, c[1].id()]});
    let reply = post("pin", two).await;
    assert_frtc_error(&reply, 400, "too_long");
    assert!(
        reply.body["error"]
            .as_str()
            .unwrap()
            .contains("participants")
    );
}

#[tokio::test]
async fn a_participant_asks_to_speak_over_rest() {
    let app = app().await;
    let admin = app.admin_token().await;
    room(&app, &admin, "5550090").await;
    let mut host = LiveClient::connect(&app, Some(&admin)).await;
    host.join_ok("5550090", Some("1234"), "Host").await;
    let (_, ria) = user(&app, &admin, "ria", "Normal").await;
    let (_, other) = user(&app, &admin, "otto", "Normal").await;
    let mut me = LiveClient::connect(&app, Some(&ria)).await;
    me.join_ok("5550090", Some("1234"), "Ria").await;
    host.recv_type("participant_joined").await;
    let mine = me.id().to_owned();
    let body = json!({"participants": [mine], "allow_self_unmute": false});
    assert_eq!(control(&app, &admin, "5550090", "mute", body).await, 204);
    me.recv_type("mute_changed").await;

    // Someone of the company who is not in the meeting may not.
    assert_frtc_error(
        &app.post(
            "/api/v1/meeting/5550090/request_unmute",
            Some(&other),
            json!({}),
        )
        .await,
        403,
        "permission_denied",
    );
    // A client_uuid that is not the caller's names nobody of theirs.
    let path = format!(
        "/api/v1/meeting/5550090/request_unmute?client_id={}",
        host.id()
    );
    assert_frtc_error(
        &app.post(&path, Some(&ria), json!({})).await,
        404,
        "participant_not_found",
    );
    // The participant (no invitee of a room) asks; the host hears.
    let path = format!("/api/v1/meeting/5550090/request_unmute?client_id={mine}");
    let reply = app.post(&path, Some(&ria), json!({})).await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    assert_eq!(
        host.recv_type("unmute_requested").await["client_uuid"],
        mine.as_str()
    );
}

#[tokio::test]
async fn oversized_input_is_refused_not_cut() {
    let app = app().await;
    let admin = app.admin_token().await;
    room(&app, &admin, "5550095").await;
    let mut c = LiveClient::connect(&app, None).await;
    let long = "1".repeat(65);
    c.send(
        json!({"type": "join", "meeting_number": "5550095", "password": "1234",
                  "display_name": "A", "call_number": long}),
    )
    .await;
    let error = c.recv_type("error").await;
    assert_eq!(error["code"], "invalid_message", "{error}");
    assert!(error["message"].as_str().unwrap().contains("call_number"));

    // A frame over 64 KiB is answered, then the connection closes with 1009.
    let big = json!({"type": "heartbeat", "pad": "x".repeat(70 * 1024)});
    c.send(big).await;
    assert_eq!(c.recv_type("error").await["code"], "frame_too_large");
    assert_eq!(c.closed().await, Closed::Code(1009));
}

#[tokio::test]
async fn a_member_without_a_display_name_joins_under_a_name_that_can_be_one() {
    let app = app().await;
    let admin = app.admin_token().await;
    room(&app, &admin, "5559001").await;
    let (id, token) = user(&app, &admin, "quinn", "Normal").await;

    // A real name that would reorder what others read is refused where it is set.
    let bidi = app
        .post(
            &format!("/api/v1/user/users/{id}"),
            Some(&admin),
            json!({"real_name": "\u{202E}nimda"}),
        )
        .await;
    assert_frtc_error(&bidi, 400, "invalid_characters");

    // A real name too long for a display name: the member joins under their username.
    let long = "Q".repeat(100);
    let set = app
        .post(
            &format!("/api/v1/user/users/{id}"),
            Some(&admin),
            json!({"real_name": long}),
        )
        .await;
    assert_eq!(set.status.as_u16(), 200, "{}", set.body);
    let mut c = LiveClient::connect(&app, Some(&token)).await;
    let joined = c
        .join(json!({"meeting_number": "5559001", "password": "1234"}))
        .await;
    assert_eq!(joined["type"], "joined", "{joined}");
    assert_eq!(participant(&joined["meeting"], c.id())["name"], "quinn");
}

#[tokio::test]
async fn wrong_passwords_from_one_address_lock_that_meeting_for_it_for_a_while() {
    let app = app().await;
    let admin = app.admin_token().await;
    room(&app, &admin, "5559101").await;
    room(&app, &admin, "5559102").await;
    let mut c = LiveClient::connect(&app, None).await;
    let guess = |password: &str| json!({"meeting_number": "5559101", "password": password, "display_name": "G"});
    // The sign-in policy's free attempts (5), then one more failure locks for 30 s.
    for wrong in ["0000", "0001", "0002", "0003", "0004", "0005"] {
        let refused = c.join(guess(wrong)).await;
        assert_eq!(refused["reason"], "wrong_password", "{refused}");
    }
    // Locked: even the right password is refused, and told when to come back.
    let locked = c.join(guess("1234")).await;
    assert_eq!(locked["reason"], "too_many_attempts", "{locked}");
    assert_eq!(locked["retry_at"], now_ms(&app) + 30_000, "{locked}");
    // Another meeting from the same address is not affected.
    let other = c
        .join(json!({"meeting_number": "5559102", "password": "1234", "display_name": "G"}))
        .await;
    assert_eq!(other["type"], "joined", "{other}");

    // After the lock, the right password gets in, and the count starts over.
    app.clock.advance(Duration::from_secs(31));
    let mut again = LiveClient::connect(&app, None).await;
    let joined = again.join(guess("1234")).await;
    assert_eq!(joined["type"], "joined", "{joined}");
    let mut third = LiveClient::connect(&app, None).await;
    let refused = third.join(guess("9999")).await;
    assert_eq!(refused["reason"], "wrong_password", "{refused}");
}

#[tokio::test]
async fn an_end_time_moved_on_a_running_meeting_stays_moved_after_it_empties() {
    let (app, admin, mut c) = reservation_joined("5552003").await;
    let end = now_ms(&app) + 2 * MINUTE_MS;
    let moved = app
        .post(
            "/api/v1/meeting/5552003",
            Some(&admin),
            json!({"end_time": end}),
        )
        .await;
    assert_eq!(moved.status.as_u16(), 204, "{}", moved.body);
    // Everyone leaves before the moved end: the meeting is over for now.
    c.send(json!({"type": "leave"})).await;
    assert_eq!(c.closed().await, Closed::Code(4000));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while app
        .get("/api/v1/meeting/5552003", Some(&admin))
        .await
        .status
        .is_success()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the meeting still runs"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // After the moved end (its first end is still an hour away) the number stays closed, and
    // the meeting's schedule says when it ended.
    app.clock.advance(Duration::from_secs(3 * 60));
    assert_over(&app, "5552003").await;
}

#[tokio::test]
async fn a_room_is_not_deleted_while_its_meeting_runs_and_its_number_is_free_after() {
    let app = app().await;
    let admin = app.admin_token().await;
    let created = app
        .post(
            "/api/v1/meeting_room",
            Some(&admin),
            json!({"meetingroom_name": "Busy", "meeting_number": "5552004",
                   "meeting_password": "1234"}),
        )
        .await;
    assert_eq!(created.status.as_u16(), 200, "{}", created.body);
    let path = format!(
        "/api/v1/meeting_room/{}",
        created.body["meeting_room_id"].as_str().expect("id")
    );
    let mut c = LiveClient::connect(&app, None).await;
    c.join_ok("5552004", Some("1234"), "A").await;
    let refused = app
        .call(reqwest::Method::DELETE, &path, Some(&admin), None)
        .await;
    assert_frtc_error(&refused, 409, "meeting_running");
    // Nor renumbered: the running meeting holds its number.
    let renumbered = app
        .post(&path, Some(&admin), json!({"meeting_number": "5552005"}))
        .await;
    assert_frtc_error(&renumbered, 409, "meeting_running");
    // Other changes are fine.
    let renamed = app
        .post(
            &path,
            Some(&admin),
            json!({"meetingroom_name": "Still busy"}),
        )
        .await;
    assert_eq!(renamed.status.as_u16(), 200, "{}", renamed.body);
    // Still there, still joinable.
    assert_eq!(app.get(&path, Some(&admin)).await.status.as_u16(), 200);
    assert_eq!(
        control(&app, &admin, "5552004", "stop", json!({"rejoin": false})).await,
        204
    );
    assert_eq!(c.closed().await, Closed::Code(4002));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let reply = app
            .call(reqwest::Method::DELETE, &path, Some(&admin), None)
            .await;
        if reply.status.as_u16() == 204 {
            break;
        }
        assert_frtc_error(&reply, 409, "meeting_running");
        assert!(
            std::time::Instant::now() < deadline,
            "the meeting still runs"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The number is free for a new room.
    room(&app, &admin, "5552004").await;
}

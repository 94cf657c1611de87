//! Rocket.Chat `login` and `video-conference.list` over HTTP: every field, paging, the exact
//! error bodies of the seed, and the 3-per-second rate limit.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::history_fixture::{PASSWORD, Recorded, ids, recorded, recorded_with, send};
use crate::{keys, sorted};

/// Logs in through Rocket.Chat's own call: (userId, authToken).
async fn login(r: &Recorded, username: &str) -> (String, String) {
    let reply = send(
        &r.app,
        Method::POST,
        "/api/v1/login",
        &[],
        Some(json!({"username": username, "password": PASSWORD})),
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(reply.body["status"], "success");
    (
        reply.body["data"]["userId"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        reply.body["data"]["authToken"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

async fn list(r: &Recorded, who: &(String, String), query: &str) -> plenum_testkit::Reply {
    send(
        &r.app,
        Method::GET,
        &format!("/api/v1/video-conference.list{query}"),
        &[("x-user-id", &who.0), ("x-auth-token", &who.1)],
        None,
    )
    .await
}

fn call_ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data in {body}"))
        .iter()
        .map(|c| c["_id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn login_answers_the_token_and_user_id() {
    let r = recorded().await;
    let reply = send(
        &r.app,
        Method::POST,
        "/api/v1/login",
        &[],
        Some(json!({"user": "bob", "password": PASSWORD})),
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["me"]["username"], "bob");
    assert_eq!(reply.body["data"]["me"]["name"], "BOB");
    for body in [
        json!({"username": "bob", "password": "wrong-password"}),
        json!({"username": "nobody", "password": PASSWORD}),
        json!({"username": "bob"}),
        json!("bob"),
    ] {
        let reply = send(&r.app, Method::POST, "/api/v1/login", &[], Some(body)).await;
        assert_eq!(reply.status.as_u16(), 401, "{}", reply.body);
        assert_eq!(
            reply.body,
            json!({"status": "error", "error": "Unauthorized", "message": "Unauthorized"})
        );
    }
}

#[tokio::test]
async fn login_takes_an_email_address_as_the_user() {
    let r = recorded().await;
    const FLO_PASSWORD: &str = "Flo-Passw0rd-456";
    for (name, email, password) in [
        ("dora", "Dora@Acme.example", PASSWORD),
        ("ed", "team@acme.example", PASSWORD),
        ("flo", "team@acme.example", FLO_PASSWORD),
        ("gus", "twin@acme.example", PASSWORD),
        ("hal", "twin@acme.example", PASSWORD),
    ] {
        let reply = r
            .app
            .post(
                "/api/v1/user/users",
                Some(&r.alice),
                json!({"username": name, "email": email, "role": "Normal", "password": password}),
            )
            .await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    }
    let login = |user: &'static str, password: &'static str| {
        let body = json!({"user": user, "password": password});
        send(&r.app, Method::POST, "/api/v1/login", &[], Some(body))
    };
    let reply = login("dora@acme.example", PASSWORD).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["me"]["username"], "dora");
    // An address two accounts share signs in the one whose password it is: someone who can
    // create a user with another's address can neither stop their login nor learn of it.
    for (password, who) in [(PASSWORD, "ed"), (FLO_PASSWORD, "flo")] {
        let reply = login("team@acme.example", password).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        assert_eq!(reply.body["data"]["me"]["username"], who);
    }
    // A wrong password, an unknown address, and a password that fits two holders: nobody.
    for (user, password) in [
        ("team@acme.example", "Wrong-Passw0rd-1"),
        ("nobody@acme.example", PASSWORD),
        ("twin@acme.example", PASSWORD),
    ] {
        assert_eq!(login(user, password).await.status.as_u16(), 401, "{user}");
    }
}

#[tokio::test]
async fn the_calls_of_a_room_newest_first_with_every_field() {
    let r = recorded().await;
    let bob = login(&r, "bob").await;
    let reply = list(&r, &bob, &format!("?roomId={}", ids::BOARD)).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(
        keys(&reply.body),
        sorted(&["data", "offset", "count", "total", "success"])
    );
    assert_eq!(reply.body["success"], true);
    assert_eq!(
        (
            reply.body["offset"].clone(),
            reply.body["count"].clone(),
            reply.body["total"].clone()
        ),
        (json!(0), json!(2), json!(2))
    );
    assert_eq!(call_ids(&reply.body), vec![ids::SYNC, ids::REVIEW]);

    let running = &reply.body["data"][0];
    assert_eq!(
        keys(running),
        sorted(&[
            "_id",
            "type",
            "users",
            "messages",
            "status",
            "anonymousUsers",
            "createdAt",
            "providerName",
            "title",
            "rid",
            "createdBy",
            "_updatedAt",
            "url"
        ])
    );
    assert_eq!(running["status"], 1, "STARTED");
    assert_eq!(running["type"], "videoconference");
    assert_eq!(running["title"], "Weekly sync");
    assert_eq!(running["rid"], ids::BOARD);
    assert_eq!(running["createdAt"], "2026-06-18T08:00:00.000Z");
    assert_eq!(running["createdBy"]["username"], "bob");
    assert!(
        running["url"]
            .as_str()
            .unwrap_or("")
            .ends_with("/j/7000001"),
        "{}",
        running["url"]
    );

    let ended = &reply.body["data"][1];
    assert_eq!(ended["status"], 3, "ENDED");
    assert_eq!(ended["endedAt"], "2026-06-17T08:45:00.000Z");
    assert_eq!(ended["_updatedAt"], "2026-06-17T08:45:00.000Z");
    assert_eq!(ended["anonymousUsers"], 1, "the phone participant");
    assert_eq!(
        ended["createdBy"],
        json!({"_id": ended["createdBy"]["_id"], "name": "ALICE", "username": "alice"})
    );
    let users: Vec<(&str, &str)> = ended["users"]
        .as_array()
        .unwrap_or_else(|| unreachable!())
        .iter()
        .map(|u| {
            (
                u["username"].as_str().unwrap_or(""),
                u["ts"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        users,
        vec![
            ("alice", "2026-06-17T08:00:12.000Z"),
            ("bob", "2026-06-17T08:05:20.000Z")
        ]
    );
    assert_eq!(
        keys(&ended["users"][0]),
        sorted(&["_id", "username", "name", "ts"])
    );
    assert_eq!(ended["users"][0]["_id"], bob_or_alice_id(&r, "alice").await);
}

async fn bob_or_alice_id(r: &Recorded, username: &str) -> String {
    login(r, username).await.0
}

#[tokio::test]
async fn offset_and_count_page_the_calls() {
    let r = recorded().await;
    let alice = login(&r, "alice").await;
    let room = ids::BOARD;
    for (query, expected, count) in [
        (format!("?roomId={room}&count=1"), vec![ids::SYNC], 1),
        (
            format!("?roomId={room}&offset=1&count=1"),
            vec![ids::REVIEW],
            1,
        ),
        (format!("?roomId={room}&offset=1"), vec![ids::REVIEW], 1),
        (format!("?roomId={room}&offset=2"), vec![], 0),
        (
            format!("?roomId={room}&count=0"),
            vec![ids::SYNC, ids::REVIEW],
            2,
        ),
        (
            format!("?roomId={room}&count=1000"),
            vec![ids::SYNC, ids::REVIEW],
            2,
        ),
        (format!("?roomId={}", ids::LAB), vec![ids::LAB_TEST], 1),
    ] {
        r.app.clock.advance(Duration::from_secs(1));
        let reply = list(&r, &alice, &query).await;
        assert_eq!(reply.status.as_u16(), 200, "{query}: {}", reply.body);
        assert_eq!(call_ids(&reply.body), expected, "{query}");
        assert_eq!(reply.body["count"], count, "{query}");
        assert_eq!(
            reply.body["total"],
            if query.contains(ids::LAB) { 1 } else { 2 },
            "{query}"
        );
    }
}

#[tokio::test]
async fn errors_have_rocket_chats_bodies() {
    let r = recorded().await;
    let alice = login(&r, "alice").await;
    // Not logged in: no headers, a wrong token, a token of someone else's user id.
    let bob = login(&r, "bob").await;
    for headers in [
        vec![],
        vec![("x-user-id", alice.0.as_str()), ("x-auth-token", "wrong")],
        vec![
            ("x-user-id", bob.0.as_str()),
            ("x-auth-token", alice.1.as_str()),
        ],
        vec![("x-auth-token", alice.1.as_str())],
    ] {
        let reply = send(
            &r.app,
            Method::GET,
            &format!("/api/v1/video-conference.list?roomId={}", ids::BOARD),
            &headers,
            None,
        )
        .await;
        assert_eq!(reply.status.as_u16(), 401, "{}", reply.body);
        assert_eq!(
            reply.body,
            json!({"status": "error", "message": "You must be logged in to do this."})
        );
    }
    r.app.clock.advance(Duration::from_secs(2));
    let missing = list(&r, &alice, "").await;
    assert_eq!(missing.status.as_u16(), 400);
    assert_eq!(
        missing.body,
        json!({"success": false, "error": "must have required property 'roomId' [invalid-params]", "errorType": "invalid-params"})
    );
    for room in [
        ids::GLOBEX_ROOM,
        "01900000-0000-7000-8000-00000000ffff",
        "674eca3e43725ce31dd9a2e8",
    ] {
        r.app.clock.advance(Duration::from_secs(1));
        let reply = list(&r, &alice, &format!("?roomId={room}")).await;
        assert_eq!(reply.status.as_u16(), 400, "{room}");
        assert_eq!(
            reply.body,
            json!({"success": false, "error": "invalid-params"}),
            "{room}"
        );
    }
    r.app.clock.advance(Duration::from_secs(2));
    for query in ["&offset=-1", "&count=x", "&offset=1.5"] {
        r.app.clock.advance(Duration::from_secs(1));
        let reply = list(&r, &alice, &format!("?roomId={}{query}", ids::BOARD)).await;
        assert_eq!(reply.status.as_u16(), 400, "{query}");
        assert_eq!(reply.body["success"], false);
        assert_eq!(reply.body["errorType"], "invalid-params");
    }
}

#[tokio::test]
async fn three_requests_per_second_per_user() {
    let r = recorded().await;
    let alice = login(&r, "alice").await;
    let bob = login(&r, "bob").await;
    let query = format!("?roomId={}", ids::BOARD);
    for _ in 0..3 {
        assert_eq!(list(&r, &alice, &query).await.status.as_u16(), 200);
    }
    let limited = list(&r, &alice, &query).await;
    assert_eq!(limited.status.as_u16(), 429, "{}", limited.body);
    assert_eq!(
        limited.body,
        json!({"success": false, "error": "Error, too many requests. Please slow down. You must wait 1 seconds before trying this endpoint again. [error-too-many-requests]"})
    );
    assert_eq!(limited.headers["x-ratelimit-limit"], "3");
    assert_eq!(limited.headers["x-ratelimit-remaining"], "0");
    // Another user has their own allowance; the next second brings a new one.
    assert_eq!(list(&r, &bob, &query).await.status.as_u16(), 200);
    r.app.clock.advance(Duration::from_millis(1000));
    assert_eq!(list(&r, &alice, &query).await.status.as_u16(), 200);
}

#[tokio::test]
async fn the_rate_limit_is_configurable() {
    let r = recorded_with(|s| s.rocketchat_rate_limit = 5).await;
    let alice = login(&r, "alice").await;
    let query = format!("?roomId={}", ids::BOARD);
    for _ in 0..5 {
        assert_eq!(list(&r, &alice, &query).await.status.as_u16(), 200);
    }
    assert_eq!(list(&r, &alice, &query).await.status.as_u16(), 429);
}

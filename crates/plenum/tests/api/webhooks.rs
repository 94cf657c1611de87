//! Webhooks through the API: a real receiver on loopback checks every signature (Standard
//! Webhooks, with its own HMAC), and the events, their order, retries, replay, the rules on
//! URLs and who may manage endpoints are checked from the outside.

use std::time::{Duration, Instant};

use plenum_testkit::TestApp;
use plenum_testkit::live::LiveClient;
use plenum_testkit::webhooks::{Mode, Received, Receiver, distinct_delivered};
use serde_json::{Value, json};

use crate::{assert_frtc_error, company_admin, room, s, user};

/// Long enough for anything the delivery task does in a test; never reached when it works.
const WAIT: Duration = Duration::from_secs(20);

/// A server whose failed deliveries are retried after 50 ms, 100 ms, 200 ms… for an hour
/// (of the manual clock, which the tests move).
pub async fn webhook_app() -> TestApp {
    TestApp::spawn_with(|s| {
        s.policy.live.tick_interval = Duration::from_millis(20);
        s.policy.webhooks.retry.first = jiff::SignedDuration::from_millis(50);
        s.policy.webhooks.retry.cap = jiff::SignedDuration::from_millis(200);
        s.policy.webhooks.retry.total = jiff::SignedDuration::from_hours(1);
        s.policy.webhooks.attempt_timeout = Duration::from_secs(2);
    })
    .await
}

/// Registers `receiver` for the company of `token` (every type unless `types`), tells the
/// receiver the secret; returns the answer.
pub async fn register(
    app: &TestApp,
    token: &str,
    receiver: &Receiver,
    types: Option<&[&str]>,
) -> Value {
    let mut body = json!({"url": receiver.url(), "description": "tests"});
    if let Some(types) = types {
        body["event_types"] = json!(types);
    }
    let reply = app.post("/api/v1/webhooks", Some(token), body).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    receiver.set_secret(&s(&reply.body, "secret"));
    reply.body
}

fn kinds(received: &[Received]) -> Vec<String> {
    received.iter().map(|r| r.kind().to_owned()).collect()
}

/// Moves the manual clock on until `done` holds of what the receiver got (retries are due
/// on the service's clock).
async fn advance_until(
    app: &TestApp,
    receiver: &Receiver,
    mut done: impl FnMut(&[Received]) -> bool,
) -> Vec<Received> {
    let started = Instant::now();
    loop {
        let now = receiver.received();
        if done(&now) {
            return now;
        }
        assert!(
            started.elapsed() < WAIT,
            "not done within {WAIT:?}; received {:?}",
            kinds(&distinct_delivered(&now))
        );
        app.clock.advance(Duration::from_millis(250));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

#[tokio::test]
async fn events_arrive_signed_in_order_with_the_ids_the_history_surfaces_show() {
    let app = webhook_app().await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    let hook = register(&app, &admin, &receiver, None).await;
    assert!(s(&hook, "secret").starts_with("whsec_"));
    assert_eq!(hook["all_event_types"], true);
    assert_eq!(hook["status"], "active");

    let (bob_id, _) = user(&app, &admin, "bob", "Normal").await;
    // Order is promised per meeting; the user's event belongs to none, so it is let arrive
    // before the meeting begins (otherwise the two deliveries race).
    receiver.wait_delivered(1, WAIT).await;
    room(&app, &admin, "5550101").await;
    let mut ann = LiveClient::connect(&app, None).await;
    let joined = ann.join_ok("5550101", Some("1234"), "Ann").await;
    let session = s(&joined, "session_id");
    let mut cid = LiveClient::connect(&app, None).await;
    cid.join_ok("5550101", Some("1234"), "Cid").await;
    let reply = app
        .post("/api/v1/meeting/5550101/lock", Some(&admin), json!({}))
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    cid.send(json!({"type": "leave"})).await;
    let reply = app
        .post("/api/v1/meeting/5550101/stop", Some(&admin), json!({}))
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);

    let got = receiver.wait_delivered(8, WAIT).await;
    assert!(
        receiver.received().iter().all(|r| r.valid),
        "every signature is valid"
    );
    assert_eq!(
        kinds(&got),
        [
            "user.created",
            "meeting.started",
            "participant.joined",
            "participant.joined",
            "meeting.locked",
            "participant.left",
            "participant.left",
            "meeting.ended",
        ]
    );
    for r in &got {
        // The headers of Standard Webhooks, and a body that names itself.
        assert_eq!(r.body["id"], r.id.as_str());
        assert!((r.timestamp - jiff::Timestamp::now().as_second()).abs() < 60);
        assert!(r.signature.starts_with("v1,"));
        assert_eq!(r.headers["content-type"], "application/json");
        assert!(
            r.body["timestamp"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );
    }
    assert_eq!(got[0].body["data"]["user_id"], bob_id.as_str());
    assert_eq!(got[0].body["data"]["username"], "bob");
    let started = &got[1].body["data"];
    assert_eq!(started["session_id"], session.as_str());
    assert_eq!(started["meeting_number"], "5550101");
    assert!(started["room_id"].is_string());
    assert_eq!(got[2].body["data"]["participant_id"], ann.id());
    assert_eq!(got[2].body["data"]["session_id"], session.as_str());
    assert_eq!(got[3].body["data"]["participant_id"], cid.id());
    assert_eq!(got[5].body["data"]["participant_id"], cid.id());
    assert_eq!(got[5].body["data"]["reason"], "left");
    assert_eq!(got[6].body["data"]["reason"], "meeting_ended");
    assert_eq!(got[7].body["data"]["reason"], "stopped");
    // The session is the one the history surfaces show under the same id (Rokid's
    // participants of a meeting, by its id): its two stays.
    let key = crate::history_fixture::create_key(&app, &admin, "rokid", "api_key").await;
    let stays = crate::history_fixture::send(
        &app,
        reqwest::Method::GET,
        &format!("/ar/corporation/openapi/rtc/meeting/record/list?id={session}"),
        &[("authorization", &format!("Bearer {}", s(&key, "api_key")))],
        None,
    )
    .await;
    assert_eq!(stays.status.as_u16(), 200, "{}", stays.body);
    assert_eq!(
        stays.body.as_array().map(Vec::len),
        Some(2),
        "{}",
        stays.body
    );

    // The delivery log shows each attempt.
    let log = delivery_log_once(&app, &admin, &s(&hook, "webhook_id"), "", |items| {
        items.len() == 8
    })
    .await;
    assert_eq!(log.status.as_u16(), 200, "{}", log.body);
    let items = log.body["deliveries"].as_array().expect("deliveries");
    assert_eq!(items.len(), 8, "{}", log.body);
    assert!(
        items
            .iter()
            .all(|d| d["status"] == "delivered" && d["response_code"] == 204)
    );
    assert_eq!(items[0]["event_type"], "meeting.ended", "newest first");
}

#[tokio::test]
async fn a_receiver_that_was_down_gets_every_event_afterwards_in_order_per_meeting() {
    let app = webhook_app().await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    receiver.set_mode(Mode::Refuse(503));
    let hook = register(&app, &admin, &receiver, None).await;
    room(&app, &admin, "5550201").await;
    room(&app, &admin, "5550202").await;
    // Two meetings, events interleaved between them.
    let mut clients = Vec::new();
    for round in 0..3 {
        for number in ["5550201", "5550202"] {
            let mut c = LiveClient::connect(&app, None).await;
            c.join_ok(number, Some("1234"), &format!("P{round}")).await;
            clients.push((number, c));
        }
    }
    for number in ["5550201", "5550202"] {
        let reply = app
            .post(
                &format!("/api/v1/meeting/{number}/lock"),
                Some(&admin),
                json!({}),
            )
            .await;
        assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    }
    // While it is down, attempts fail and are retried.
    advance_until(&app, &receiver, |all| all.len() >= 6).await;
    assert!(receiver.delivered().is_empty());
    receiver.set_mode(Mode::Accept);
    // Per meeting: started, three joins, locked.
    let all = advance_until(&app, &receiver, |all| distinct_delivered(all).len() >= 10).await;
    let delivered = distinct_delivered(&all);
    assert_eq!(
        delivered.len(),
        10,
        "nothing lost, nothing more: {:?}",
        kinds(&delivered)
    );
    for number in ["5550201", "5550202"] {
        let of_meeting: Vec<&Received> = delivered
            .iter()
            .filter(|r| r.body["data"]["meeting_number"] == number)
            .collect();
        assert_eq!(
            of_meeting.iter().map(|r| r.kind()).collect::<Vec<_>>(),
            [
                "meeting.started",
                "participant.joined",
                "participant.joined",
                "participant.joined",
                "meeting.locked"
            ],
            "meeting {number} in order"
        );
        let joined: Vec<String> = of_meeting[1..4]
            .iter()
            .map(|r| s(&r.body["data"], "participant_id"))
            .collect();
        let ours: Vec<String> = clients
            .iter()
            .filter(|(n, _)| *n == number)
            .map(|(_, c)| c.id().to_owned())
            .collect();
        assert_eq!(joined, ours, "joins in the order they happened");
    }
    assert!(all.iter().all(|r| r.valid));
    // The log shows the refusals and the deliveries.
    let log = delivery_log_once(
        &app,
        &admin,
        &s(&hook, "webhook_id"),
        "?limit=500",
        |items| items.iter().filter(|d| d["status"] == "delivered").count() == 10,
    )
    .await;
    let items = log.body["deliveries"].as_array().expect("deliveries");
    assert!(
        items
            .iter()
            .any(|d| d["status"] == "failed" && d["response_code"] == 503)
    );
    assert_eq!(
        items.iter().filter(|d| d["status"] == "delivered").count(),
        10
    );
    assert!(items.iter().any(|d| d["attempt"].as_u64() > Some(1)));
}

#[tokio::test]
async fn an_endpoint_whose_retries_run_out_is_failing_until_a_replay_gets_through() {
    let app = TestApp::spawn_with(|s| {
        s.policy.webhooks.retry.first = jiff::SignedDuration::from_millis(50);
        s.policy.webhooks.retry.cap = jiff::SignedDuration::from_millis(50);
        s.policy.webhooks.retry.total = jiff::SignedDuration::from_millis(100);
    })
    .await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    receiver.set_mode(Mode::Refuse(500));
    let hook = register(&app, &admin, &receiver, Some(&["user.created"])).await;
    let id = s(&hook, "webhook_id");
    user(&app, &admin, "dora", "Normal").await;
    // 50 + 50 ms of retries: three attempts, then the endpoint is failing.
    advance_until(&app, &receiver, |all| all.len() >= 3).await;
    let detail = wait_for(&app, &admin, &id, |d| d["status"] == "failing").await;
    assert!(detail["failing_since"].is_i64());
    receiver.set_mode(Mode::Accept);
    let event = s(&receiver.received()[0].body, "id");
    let reply = app
        .post(
            &format!("/api/v1/webhooks/{id}/replay"),
            Some(&admin),
            json!({"event_id": event}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(reply.body["replayed"], 1);
    let got = receiver.wait_delivered(1, WAIT).await;
    assert_eq!(got[0].id, event);
    wait_for(&app, &admin, &id, |d| d["status"] == "active").await;
}

/// The endpoint's detail once `done` holds of it.
async fn wait_for(app: &TestApp, token: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let reply = app
            .get(&format!("/api/v1/webhooks/{id}"), Some(token))
            .await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        if done(&reply.body) {
            return reply.body;
        }
        assert!(started.elapsed() < WAIT, "{}", reply.body);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn replay_sends_one_event_or_everything_since_an_instant_again() {
    let app = webhook_app().await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    let hook = register(
        &app,
        &admin,
        &receiver,
        Some(&["user.created", "schedule.created"]),
    )
    .await;
    let id = s(&hook, "webhook_id");
    user(&app, &admin, "u1", "Normal").await;
    app.clock.advance(Duration::from_secs(60));
    let since = crate::now_ms(&app);
    user(&app, &admin, "u2", "Normal").await;
    user(&app, &admin, "u3", "Normal").await;
    let first = receiver.wait_delivered(3, WAIT).await;
    // One event: the same id and the same body, signed again.
    let reply = app
        .post(
            &format!("/api/v1/webhooks/{id}/replay"),
            Some(&admin),
            json!({"event_id": first[0].id}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    let all = receiver.wait_until(WAIT, |all| all.len() >= 4).await;
    assert_eq!(all[3].id, first[0].id);
    assert_eq!(all[3].raw, first[0].raw);
    assert!(all[3].valid);
    // Everything since an instant: the two users created after it (events of no meeting
    // have no promised order, so they are compared as a set).
    let reply = app
        .post(
            &format!("/api/v1/webhooks/{id}/replay"),
            Some(&admin),
            json!({"since": since}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(reply.body["replayed"], 2);
    let all = receiver.wait_until(WAIT, |all| all.len() >= 6).await;
    let mut replayed: Vec<String> = all[4..]
        .iter()
        .map(|r| {
            r.body["data"]["username"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    replayed.sort();
    assert_eq!(replayed, ["u2", "u3"]);
    // Neither nothing nor both; an unknown event; a future instant.
    let path = format!("/api/v1/webhooks/{id}/replay");
    let reply = app.post(&path, Some(&admin), json!({})).await;
    assert_frtc_error(&reply, 400, "invalid_field");
    let reply = app
        .post(
            &path,
            Some(&admin),
            json!({"event_id": first[0].id, "since": since}),
        )
        .await;
    assert_frtc_error(&reply, 400, "invalid_field");
    let reply = app
        .post(
            &path,
            Some(&admin),
            json!({"event_id": "0190a0b0-0000-7000-8000-000000000000"}),
        )
        .await;
    assert_frtc_error(&reply, 404, "event_not_found");
    let reply = app
        .post(&path, Some(&admin), json!({"since": since + 86_400_000}))
        .await;
    assert_frtc_error(&reply, 400, "invalid_field");
}

#[tokio::test]
async fn a_slow_receiver_does_not_delay_joins() {
    let app = webhook_app().await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    receiver.set_mode(Mode::Slow(Duration::from_secs(10)));
    register(&app, &admin, &receiver, None).await;
    room(&app, &admin, "5550301").await;
    let started = Instant::now();
    let mut clients = Vec::new();
    for i in 0..20 {
        let mut c = LiveClient::connect(&app, None).await;
        let joined = Instant::now();
        c.join_ok("5550301", Some("1234"), &format!("P{i}")).await;
        assert!(
            joined.elapsed() < Duration::from_secs(2),
            "a join took {:?} with a receiver that answers after 10 s",
            joined.elapsed()
        );
        clients.push(c);
    }
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    // The receiver is being called meanwhile (and holds the attempt).
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn urls_that_are_malformed_not_http_or_private_are_refused_in_the_frtc_shape() {
    let app = TestApp::spawn_with(|s| s.policy.webhooks.allow_private = false).await;
    let admin = app.admin_token().await;
    for url in [
        "not a url",
        "",
        "ftp://hooks.example.com/x",
        "file:///etc/passwd",
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "https://user:secret@hooks.example.com/",
    ] {
        let reply = app
            .post("/api/v1/webhooks", Some(&admin), json!({"url": url}))
            .await;
        assert_frtc_error(&reply, 400, "invalid_field");
        assert!(
            reply.body["error"].as_str().unwrap().starts_with("url:"),
            "{url}: {}",
            reply.body
        );
    }
    let reply = app.post("/api/v1/webhooks", Some(&admin), json!({})).await;
    assert_frtc_error(&reply, 400, "missing_field");
    let reply = app
        .post(
            "/api/v1/webhooks",
            Some(&admin),
            json!({"url": "https://93.184.216.34/hook", "event_types": ["meeting.started", "meeting.exploded"]}),
        )
        .await;
    assert_frtc_error(&reply, 400, "invalid_field");
    assert!(
        reply.body["error"]
            .as_str()
            .unwrap()
            .contains("meeting.exploded")
    );
    let reply = app
        .post(
            "/api/v1/webhooks",
            Some(&admin),
            json!({"url": "https://93.184.216.34/hook", "event_types": []}),
        )
        .await;
    assert_frtc_error(&reply, 400, "invalid_field");
    assert!(
        app.get("/api/v1/webhooks", Some(&admin)).await.body["webhooks"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    // A public address is accepted (nothing listens there: it is never called in this test).
    let reply = app
        .post(
            "/api/v1/webhooks",
            Some(&admin),
            json!({"url": "https://93.184.216.34/hook", "event_types": ["meeting.started"]}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(reply.body["event_types"], json!(["meeting.started"]));
    // The same URL again is refused, naming the endpoint that has it.
    let again = app
        .post(
            "/api/v1/webhooks",
            Some(&admin),
            json!({"url": "https://93.184.216.34/hook"}),
        )
        .await;
    assert_frtc_error(&again, 409, "webhook_exists");
    assert!(
        again.body["error"]
            .as_str()
            .unwrap()
            .contains(&s(&reply.body, "webhook_id"))
    );
}

#[tokio::test]
async fn only_system_admins_manage_their_own_companys_webhooks_and_events_stay_in_it() {
    let app = webhook_app().await;
    let admin = app.admin_token().await;
    let other = company_admin(&app, &admin, "Globex", "UTC", "globex-admin").await;
    let ours = Receiver::start().await;
    let theirs = Receiver::start().await;
    let hook = register(&app, &admin, &ours, None).await;
    let id = s(&hook, "webhook_id");
    register(&app, &other, &theirs, None).await;
    // Not a SystemAdmin: refused before anything is looked at.
    let (_, normal) = user(&app, &admin, "norm", "Normal").await;
    let (_, operator) = user(&app, &admin, "oper", "MeetingOperator").await;
    for token in [&normal, &operator] {
        for reply in [
            app.get("/api/v1/webhooks", Some(token)).await,
            app.post("/api/v1/webhooks", Some(token), json!({"url": ours.url()}))
                .await,
            app.get(&format!("/api/v1/webhooks/{id}"), Some(token))
                .await,
            app.get("/api/v1/audit", Some(token)).await,
        ] {
            assert_frtc_error(&reply, 403, "permission_denied");
        }
    }
    let reply = app.get("/api/v1/webhooks", None).await;
    assert_frtc_error(&reply, 401, "token_missing");
    // Another company's admin sees, changes and replays nothing of ours.
    let listed = app.get("/api/v1/webhooks", Some(&other)).await;
    assert_eq!(listed.body["webhooks"].as_array().map(Vec::len), Some(1));
    assert_ne!(listed.body["webhooks"][0]["webhook_id"], id.as_str());
    for reply in [
        app.get(&format!("/api/v1/webhooks/{id}"), Some(&other))
            .await,
        app.get(&format!("/api/v1/webhooks/{id}/deliveries"), Some(&other))
            .await,
        app.post(
            &format!("/api/v1/webhooks/{id}/secret"),
            Some(&other),
            json!({}),
        )
        .await,
        app.post(
            &format!("/api/v1/webhooks/{id}/replay"),
            Some(&other),
            json!({"since": 0}),
        )
        .await,
        app.call(
            reqwest::Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            Some(&other),
            None,
        )
        .await,
    ] {
        assert_frtc_error(&reply, 404, "webhook_not_found");
    }
    // Each company's events reach its own endpoint only.
    user(&app, &admin, "ours-1", "Normal").await;
    user(&app, &other, "theirs-1", "Normal").await;
    let got = ours.wait_delivered(3, WAIT).await;
    let names: Vec<&str> = got
        .iter()
        .filter_map(|r| r.body["data"]["username"].as_str())
        .collect();
    assert_eq!(names, ["norm", "oper", "ours-1"]);
    let got = theirs.wait_delivered(1, WAIT).await;
    assert_eq!(got[0].body["data"]["username"], "theirs-1");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(distinct_delivered(&theirs.received()).len(), 1);
    // Removing stops delivery.
    let reply = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    user(&app, &admin, "ours-2", "Normal").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(distinct_delivered(&ours.received()).len(), 3);
    let reply = app
        .get(&format!("/api/v1/webhooks/{id}"), Some(&admin))
        .await;
    assert_frtc_error(&reply, 404, "webhook_not_found");
}

#[tokio::test]
async fn a_rotated_secret_signs_what_follows_and_secrets_are_shown_only_once() {
    let app = webhook_app().await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    let hook = register(&app, &admin, &receiver, Some(&["user.created"])).await;
    let id = s(&hook, "webhook_id");
    let first_secret = s(&hook, "secret");
    for reply in [
        app.get("/api/v1/webhooks", Some(&admin)).await,
        app.get(&format!("/api/v1/webhooks/{id}"), Some(&admin))
            .await,
    ] {
        assert!(
            !reply.body.to_string().contains(&first_secret[6..]),
            "{}",
            reply.body
        );
        assert!(
            !reply.body.to_string().contains("secret\""),
            "{}",
            reply.body
        );
    }
    let rotated = app
        .post(
            &format!("/api/v1/webhooks/{id}/secret"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(rotated.status.as_u16(), 200, "{}", rotated.body);
    let second_secret = s(&rotated.body, "secret");
    assert_ne!(first_secret, second_secret);
    // Signed with the new secret: valid for a receiver that has it, not for one with the old.
    user(&app, &admin, "after", "Normal").await;
    let got = receiver.wait_until(WAIT, |all| !all.is_empty()).await;
    assert!(!got[0].valid, "the old secret no longer verifies");
    receiver.set_secret(&second_secret);
    let got = advance_until(&app, &receiver, |all| all.iter().any(|r| r.valid)).await;
    assert!(
        got.iter()
            .any(|r| r.valid && r.body["data"]["username"] == "after")
    );
}

#[tokio::test]
async fn the_standard_webhooks_library_verifies_what_plenum_sends() {
    let app = webhook_app().await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    let hook = register(&app, &admin, &receiver, Some(&["user.created"])).await;
    user(&app, &admin, "interop", "Normal").await;
    let got = receiver.wait_delivered(1, WAIT).await;
    let r = &got[0];
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
msg = json.load(sys.stdin)
payload = Webhook(msg["secret"]).verify(msg["body"], msg["headers"])
print(json.dumps(payload))
"#;
    let input = json!({
        "secret": s(&hook, "secret"),
        "body": r.raw,
        "headers": {
            "webhook-id": r.id,
            "webhook-timestamp": r.timestamp.to_string(),
            "webhook-signature": r.signature,
        },
    });
    let out = crate::vendor_sdks::run_python(script, &input.to_string()).await;
    let verified: Value = serde_json::from_str(out.trim()).expect("the library's payload");
    assert_eq!(verified["type"], "user.created");
    assert_eq!(verified["data"]["username"], "interop");
    // And it refuses a body that was changed.
    let tampered = json!({
        "secret": s(&hook, "secret"),
        "body": r.raw.replace("interop", "intrupt"),
        "headers": input["headers"],
    });
    let refused = crate::vendor_sdks::try_python(script, &tampered.to_string()).await;
    assert!(refused.is_err(), "a changed body must not verify");
}

/// The endpoint's delivery log once `done` holds of its entries (at most 10 s), or as it is
/// then. An attempt is recorded after its answer came back, so a receiver may have an event
/// a moment before the log shows its attempt.
async fn delivery_log_once(
    app: &TestApp,
    admin: &str,
    hook: &str,
    query: &str,
    done: impl Fn(&[Value]) -> bool,
) -> plenum_testkit::Reply {
    let path = format!("/api/v1/webhooks/{hook}/deliveries{query}");
    let mut log = app.get(&path, Some(admin)).await;
    for _ in 0..100 {
        if log.body["deliveries"]
            .as_array()
            .is_some_and(|items| done(items))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        log = app.get(&path, Some(admin)).await;
    }
    log
}

//! The audit log through the API: after each kind of host and administrator action, who did
//! it, from which address, to what and when; company-scoped, filtered, paged, read-only; and
//! no credential ever in it (nor in a webhook's body).

use std::time::Duration;

use plenum_testkit::TestApp;
use plenum_testkit::live::LiveClient;
use plenum_testkit::webhooks::Receiver;
use serde_json::{Value, json};

use crate::webhooks::{register, webhook_app};
use crate::{assert_frtc_error, company_admin, s, user};

/// The company's audit entries of `action`, newest first.
async fn entries(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let reply = app
        .get(&format!("/api/v1/audit?page_size=500&{query}"), Some(token))
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    reply.body["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The newest entry of `action`, which must exist.
async fn last(app: &TestApp, token: &str, action: &str) -> Value {
    entries(app, token, &format!("action={action}"))
        .await
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no {action} in the audit log"))
}

/// Asserts who, from where, to what and about which meeting.
#[track_caller]
fn assert_entry(e: &Value, actor: &str, target: &str, meeting: Option<&str>) {
    assert_eq!(e["actor"]["user_id"], actor, "{e}");
    assert_eq!(e["address"], "127.0.0.1", "{e}");
    assert_eq!(e["target"], target, "{e}");
    assert_eq!(e["meeting_number"].as_str(), meeting, "{e}");
    assert!(
        e["time"].as_i64().is_some_and(|t| t > 1_600_000_000_000),
        "{e}"
    );
    assert!(e["seq"].as_u64().is_some(), "{e}");
}

/// The admin's user id.
async fn admin_id(app: &TestApp, token: &str) -> String {
    let info = app.post("/api/v1/user/info", Some(token), json!({})).await;
    s(&info.body, "user_id")
}

async fn control(app: &TestApp, token: &str, number: &str, call: &str, body: Value) {
    let reply = app
        .post(
            &format!("/api/v1/meeting/{number}/{call}"),
            Some(token),
            body,
        )
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{call}: {}", reply.body);
}

/// A meeting password and live passcode of 16 digits: no id or instant contains them, so a
/// search for them finds only a leak.
const MEETING_PASSWORD: &str = "8192837465564738";
const LIVE_PASSCODE: &str = "7364519283746501";
const USER_PASSWORD: &str = "Secret-Passw0rd-Xq9";

#[tokio::test]
async fn every_kind_of_action_is_logged_with_who_where_what_and_when_and_no_secret() {
    let app = webhook_app().await;
    let admin = app.admin_token().await;
    let me = admin_id(&app, &admin).await;
    let receiver = Receiver::start().await;
    let hook = register(&app, &admin, &receiver, None).await;
    let hook_id = s(&hook, "webhook_id");
    let e = last(&app, &admin, "webhook.create").await;
    assert_entry(&e, &me, &format!("webhook:{hook_id}"), None);
    assert_eq!(e["actor"]["name"], "admin");
    assert_eq!(e["details"]["url"], receiver.url());

    // Users: created, updated, password reset.
    let reply = app
        .post(
            "/api/v1/user/users",
            Some(&admin),
            json!({"username": "erin", "role": "Normal", "password": USER_PASSWORD}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    let erin = s(&reply.body, "user_id");
    assert_entry(
        &last(&app, &admin, "user.create").await,
        &me,
        &format!("user:{erin}"),
        None,
    );
    let reply = app
        .post(
            &format!("/api/v1/user/users/{erin}"),
            Some(&admin),
            json!({"real_name": "Erin E", "role": "MeetingOperator"}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    let e = last(&app, &admin, "user.update").await;
    assert_entry(&e, &me, &format!("user:{erin}"), None);
    assert_eq!(e["details"]["fields"], json!(["real_name", "role"]));
    assert_eq!(e["details"]["role"], "MeetingOperator");
    let reply = app
        .post(
            &format!("/api/v1/user/users/{erin}"),
            Some(&admin),
            json!({"password": format!("{USER_PASSWORD}-2")}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    let e = last(&app, &admin, "user.password_reset").await;
    assert_entry(&e, &me, &format!("user:{erin}"), None);
    assert_eq!(e["details"]["fields"], json!(["password"]));

    // Keys: created, revoked.
    let key = crate::history_fixture::create_key(&app, &admin, "reports", "api_key").await;
    let key_id = s(&key, "api_key_id");
    assert_entry(
        &last(&app, &admin, "api_key.create").await,
        &me,
        &format!("api_key:{key_id}"),
        None,
    );
    let reply = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/api_keys/{key_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_entry(
        &last(&app, &admin, "api_key.revoke").await,
        &me,
        &format!("api_key:{key_id}"),
        None,
    );

    // A company, by the platform operator: in the operator's log, not the new company's.
    let globex = company_admin(&app, &admin, "Globex", "UTC", "globex-admin").await;
    let e = last(&app, &admin, "company.create").await;
    assert!(s(&e, "target").starts_with("company:"));
    assert_eq!(e["details"]["name"], "Globex");
    assert!(entries(&app, &globex, "").await.is_empty());

    // Host controls on a running meeting.
    let reply = app
        .post(
            "/api/v1/meeting_room",
            Some(&admin),
            json!({"meetingroom_name": "Board", "meeting_number": "5550401", "meeting_password": MEETING_PASSWORD}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    let mut ann = LiveClient::connect(&app, None).await;
    ann.join_ok("5550401", Some(MEETING_PASSWORD), "Ann").await;
    let mut bob = LiveClient::connect(&app, None).await;
    bob.join_ok("5550401", Some(MEETING_PASSWORD), "Bob").await;
    let number = Some("5550401");
    let meeting = "meeting:5550401".to_owned();
    control(
        &app,
        &admin,
        "5550401",
        "mute",
        json!({"participants": [ann.id()]}),
    )
    .await;
    assert_entry(
        &last(&app, &admin, "meeting.mute").await,
        &me,
        &format!("participant:{}", ann.id()),
        number,
    );
    control(&app, &admin, "5550401", "mute_all", json!({})).await;
    assert_entry(
        &last(&app, &admin, "meeting.mute_all").await,
        &me,
        &meeting,
        number,
    );
    control(&app, &admin, "5550401", "lock", json!({})).await;
    assert_entry(
        &last(&app, &admin, "meeting.lock").await,
        &me,
        &meeting,
        number,
    );
    let reply = app
        .call(
            reqwest::Method::DELETE,
            "/api/v1/meeting/5550401/lock",
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    assert_entry(
        &last(&app, &admin, "meeting.unlock").await,
        &me,
        &meeting,
        number,
    );
    control(&app, &admin, "5550401", "recording", json!({})).await;
    assert_entry(
        &last(&app, &admin, "meeting.recording_start").await,
        &me,
        &meeting,
        number,
    );
    let reply = app
        .call(
            reqwest::Method::DELETE,
            "/api/v1/meeting/5550401/recording",
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    assert_entry(
        &last(&app, &admin, "meeting.recording_stop").await,
        &me,
        &meeting,
        number,
    );
    control(
        &app,
        &admin,
        "5550401",
        "live",
        json!({"live_password": LIVE_PASSCODE}),
    )
    .await;
    let e = last(&app, &admin, "meeting.live_start").await;
    assert_entry(&e, &me, &meeting, number);
    assert_eq!(e["details"]["passcode_set"], true);
    let reply = app
        .call(
            reqwest::Method::DELETE,
            "/api/v1/meeting/5550401/live",
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    assert_entry(
        &last(&app, &admin, "meeting.live_stop").await,
        &me,
        &meeting,
        number,
    );
    control(
        &app,
        &admin,
        "5550401",
        "disconnect",
        json!({"participants": [bob.id()]}),
    )
    .await;
    assert_entry(
        &last(&app, &admin, "meeting.disconnect").await,
        &me,
        &format!("participant:{}", bob.id()),
        number,
    );
    control(&app, &admin, "5550401", "stop", json!({})).await;
    let e = last(&app, &admin, "meeting.stop").await;
    assert_entry(&e, &me, &meeting, number);
    // A refused control leaves no entry.
    let before = entries(&app, &admin, "").await.len();
    let reply = app
        .post("/api/v1/meeting/5550401/lock", Some(&admin), json!({}))
        .await;
    assert_frtc_error(&reply, 404, "meeting_not_running");
    assert_eq!(entries(&app, &admin, "").await.len(), before);

    // Webhook changes: rotate, replay, delete.
    let reply = app
        .post(
            &format!("/api/v1/webhooks/{hook_id}/secret"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    let rotated_secret = s(&reply.body, "secret");
    receiver.set_secret(&rotated_secret);
    assert_entry(
        &last(&app, &admin, "webhook.rotate_secret").await,
        &me,
        &format!("webhook:{hook_id}"),
        None,
    );
    let reply = app
        .post(
            &format!("/api/v1/webhooks/{hook_id}/replay"),
            Some(&admin),
            json!({"since": 0}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_entry(
        &last(&app, &admin, "webhook.replay").await,
        &me,
        &format!("webhook:{hook_id}"),
        None,
    );

    // Every event so far delivered (a replay brings them all again): the bodies and the log
    // hold no password, passcode, token, key or signing secret.
    let events = receiver
        .wait_until(Duration::from_secs(20), |all| {
            all.iter()
                .any(|r| r.body["type"] == "meeting.ended" && r.valid)
        })
        .await;
    let log = entries(&app, &admin, "").await;
    let everything = format!(
        "{}\n{}",
        serde_json::to_string(&log).expect("json"),
        events
            .iter()
            .map(|r| r.raw.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    for secret in [
        MEETING_PASSWORD,
        LIVE_PASSCODE,
        USER_PASSWORD,
        admin.as_str(),
        globex.as_str(),
        &s(&key, "api_key"),
        &s(&hook, "secret"),
        &rotated_secret,
        plenum_testkit::ADMIN_PASSWORD,
    ] {
        assert!(
            !everything.contains(secret),
            "found a secret in the audit log or a webhook: {secret}"
        );
    }
    let reply = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/webhooks/{hook_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    assert_entry(
        &last(&app, &admin, "webhook.delete").await,
        &me,
        &format!("webhook:{hook_id}"),
        None,
    );
}

#[tokio::test]
async fn the_audit_log_is_company_scoped_filtered_paged_and_cannot_be_changed() {
    let app = webhook_app().await;
    let admin = app.admin_token().await;
    let me = admin_id(&app, &admin).await;
    let globex = company_admin(&app, &admin, "Globex", "UTC", "globex-admin").await;
    let them = admin_id(&app, &globex).await;
    for name in ["a1", "a2", "a3"] {
        user(&app, &admin, name, "Normal").await;
    }
    app.clock.advance(Duration::from_secs(3600));
    let later = crate::now_ms(&app);
    user(&app, &admin, "a4", "Normal").await;
    user(&app, &globex, "g1", "Normal").await;

    // Each company sees its own.
    let ours = entries(&app, &admin, "action=user.create").await;
    assert_eq!(ours.len(), 4);
    assert!(ours.iter().all(|e| e["actor"]["user_id"] == me.as_str()));
    let theirs = entries(&app, &globex, "").await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["actor"]["user_id"], them.as_str());
    assert!(
        entries(&app, &admin, &format!("actor={them}"))
            .await
            .is_empty()
    );
    // Newest first; the time window includes its start and excludes its end.
    let names: Vec<String> = ours.iter().map(|e| s(&e["details"], "username")).collect();
    assert_eq!(names, ["a4", "a3", "a2", "a1"]);
    assert_eq!(
        entries(&app, &admin, &format!("since={later}")).await.len(),
        1
    );
    assert_eq!(
        entries(&app, &admin, &format!("action=user.create&until={later}"))
            .await
            .len(),
        3
    );
    assert_eq!(
        entries(&app, &admin, &format!("actor={me}&action=user.create"))
            .await
            .len(),
        4
    );
    assert!(entries(&app, &admin, "actor=operator").await.is_empty());
    assert!(
        entries(&app, &admin, "meeting_number=123456")
            .await
            .is_empty()
    );
    // Paging.
    let page = app
        .get(
            "/api/v1/audit?action=user.create&page_num=2&page_size=3",
            Some(&admin),
        )
        .await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.body);
    assert_eq!(page.body["total_size"], 4);
    assert_eq!(page.body["total_page_num"], 2);
    assert_eq!(page.body["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(page.body["entries"][0]["details"]["username"], "a1");
    // Bad filters in the FRTC shape.
    for query in [
        "action=meeting.explode",
        "actor=alice",
        "since=yesterday",
        "meeting_number=12",
        &format!("since={later}&until={}", later - 1),
        "page_size=0",
    ] {
        let reply = app
            .get(&format!("/api/v1/audit?{query}"), Some(&admin))
            .await;
        assert_eq!(reply.status.as_u16(), 400, "{query}: {}", reply.body);
        assert_eq!(
            crate::keys(&reply.body),
            crate::sorted(&["error", "errorCode"])
        );
    }
    // No call changes it.
    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let reply = app
            .call(
                method.clone(),
                "/api/v1/audit",
                Some(&admin),
                Some(json!({})),
            )
            .await;
        assert_frtc_error(&reply, 405, "method_not_allowed");
    }
    assert_eq!(entries(&app, &admin, "action=user.create").await.len(), 4);
}

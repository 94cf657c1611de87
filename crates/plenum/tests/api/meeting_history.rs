//! `GET /api/v1/history/meetings` (and `/{session_id}`): past and running meetings with their
//! attendance and recordings, over HTTP. A member sees the meetings they owned or attended and
//! only the recordings they may see; MeetingOperators and SystemAdmins the company's; nobody
//! another company's.

use serde_json::Value;

use crate::assert_frtc_error;
use crate::history_fixture::{PASSWORD, ids, recorded};

fn ids_of(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|m| m[key].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn meeting<'a>(body: &'a Value, session: &str) -> &'a Value {
    body["meetings"]
        .as_array()
        .and_then(|l| l.iter().find(|m| m["session_id"] == session))
        .unwrap_or_else(|| panic!("{session} not in {body}"))
}

#[tokio::test]
async fn an_admin_sees_the_companys_meetings_with_attendance_and_recordings() {
    let r = recorded().await;
    let reply = r.app.get("/api/v1/history/meetings", Some(&r.alice)).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    let body = &reply.body;
    assert_eq!(
        ids_of(&body["meetings"], "session_id"),
        [ids::SYNC, ids::REVIEW, ids::LAB_TEST],
        "newest first"
    );
    assert_eq!(body["total_size"], 3);
    assert_eq!(body["total_page_num"], 1);

    let review = meeting(body, ids::REVIEW);
    assert_eq!(review["meeting_name"], "Device Inspection Review");
    assert_eq!(review["meeting_number"], "7000001");
    assert_eq!(review["owner"]["username"], "alice");
    assert_eq!(review["room_id"], ids::BOARD);
    assert_eq!(review["status"], "ended");
    assert_eq!(review["start_time"], 1_781_683_200_000i64);
    assert_eq!(review["end_time"], 1_781_685_900_000i64);
    let stays = &review["attendance"];
    assert_eq!(
        ids_of(stays, "client_uuid"),
        [
            ids::ALICE_IN_REVIEW,
            ids::BOB_IN_REVIEW,
            ids::PHONE_IN_REVIEW
        ],
        "in order of joining"
    );
    assert_eq!(stays[1]["username"], "bob");
    assert_eq!(stays[1]["display_name"], "Bob");
    assert_eq!(stays[1]["device_type"], "web");
    assert_eq!(stays[1]["media_type"], "video");
    assert_eq!(stays[1]["join_time"], 1_781_683_520_000i64);
    assert_eq!(stays[1]["leave_time"], 1_781_685_000_000i64);
    assert_eq!(stays[2]["user_id"], Value::Null, "a guest");
    assert_eq!(stays[2]["device_type"], "phone");
    let mut recs = ids_of(&review["recordings"], "recording_id");
    recs.sort();
    assert_eq!(recs, [ids::REC_REVIEW, ids::REC_ALICE]);
    let rec = review["recordings"]
        .as_array()
        .and_then(|l| l.iter().find(|x| x["recording_id"] == ids::REC_REVIEW))
        .cloned()
        .unwrap_or_default();
    assert_eq!(rec["download_url"], "https://files.example/review.webm");
    assert_eq!(rec["type"], "video");

    let sync = meeting(body, ids::SYNC);
    assert_eq!(sync["status"], "running");
    assert_eq!(sync["end_time"], Value::Null);
    assert_eq!(sync["attendance"][0]["leave_time"], Value::Null);

    // Filter by name, paging.
    let found = r
        .app
        .get("/api/v1/history/meetings?filter=inspection", Some(&r.alice))
        .await;
    assert_eq!(ids_of(&found.body["meetings"], "session_id"), [ids::REVIEW]);
    let second = r
        .app
        .get(
            "/api/v1/history/meetings?page_size=2&page_num=2",
            Some(&r.alice),
        )
        .await;
    assert_eq!(
        ids_of(&second.body["meetings"], "session_id"),
        [ids::LAB_TEST]
    );
    assert_eq!(second.body["total_page_num"], 2);
    let too_big = r
        .app
        .get("/api/v1/history/meetings?page_size=51", Some(&r.alice))
        .await;
    assert_frtc_error(&too_big, 400, "out_of_range");

    // A MeetingOperator reads the company's record too.
    let carol = r.app.sign_in("carol", PASSWORD).await;
    let reply = r.app.get("/api/v1/history/meetings", Some(&carol)).await;
    assert_eq!(reply.body["total_size"], 3, "{}", reply.body);
}

#[tokio::test]
async fn a_member_sees_the_meetings_they_owned_or_attended_and_their_recordings() {
    let r = recorded().await;
    let bob = r.app.sign_in("bob", PASSWORD).await;
    let reply = r.app.get("/api/v1/history/meetings", Some(&bob)).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    // Bob owns the sync and attended the review; the lab test is neither.
    assert_eq!(
        ids_of(&reply.body["meetings"], "session_id"),
        [ids::SYNC, ids::REVIEW]
    );
    assert_eq!(reply.body["total_size"], 2);
    // In the review (not his) he sees the meeting recording, not Alice's own.
    let review = meeting(&reply.body, ids::REVIEW);
    assert_eq!(
        ids_of(&review["recordings"], "recording_id"),
        [ids::REC_REVIEW]
    );
    assert_eq!(review["attendance"].as_array().map(Vec::len), Some(3));
    // In his own meeting he sees every recording.
    let sync = meeting(&reply.body, ids::SYNC);
    assert_eq!(ids_of(&sync["recordings"], "recording_id"), [ids::REC_SYNC]);

    let page = r
        .app
        .get(
            "/api/v1/history/meetings?page_size=1&page_num=2",
            Some(&bob),
        )
        .await;
    assert_eq!(ids_of(&page.body["meetings"], "session_id"), [ids::REVIEW]);
    assert_eq!(page.body["total_page_num"], 2);
    assert_eq!(page.body["total_size"], 2);

    // The detail: his meetings, not others'.
    let detail = r
        .app
        .get(
            &format!("/api/v1/history/meetings/{}", ids::REVIEW),
            Some(&bob),
        )
        .await;
    assert_eq!(detail.status.as_u16(), 200, "{}", detail.body);
    assert_eq!(detail.body["owner"]["username"], "alice");
    assert_eq!(
        ids_of(&detail.body["recordings"], "recording_id"),
        [ids::REC_REVIEW]
    );
    for hidden in [ids::LAB_TEST, ids::GLOBEX_SESSION, "not-an-id"] {
        let reply = r
            .app
            .get(&format!("/api/v1/history/meetings/{hidden}"), Some(&bob))
            .await;
        assert_frtc_error(&reply, 404, "session_not_found");
    }
    let alice_sees_lab = r
        .app
        .get(
            &format!("/api/v1/history/meetings/{}", ids::LAB_TEST),
            Some(&r.alice),
        )
        .await;
    assert_eq!(
        alice_sees_lab.status.as_u16(),
        200,
        "{}",
        alice_sees_lab.body
    );
    assert_eq!(
        ids_of(&alice_sees_lab.body["recordings"], "recording_id"),
        [ids::REC_LAB]
    );

    let anonymous = r.app.get("/api/v1/history/meetings", None).await;
    assert_eq!(anonymous.status.as_u16(), 401);
}

#[tokio::test]
async fn no_company_sees_anothers_meetings() {
    let r = recorded().await;
    let reply = r.app.get("/api/v1/history/meetings", Some(&r.gina)).await;
    assert_eq!(
        ids_of(&reply.body["meetings"], "session_id"),
        [ids::GLOBEX_SESSION]
    );
    let text = reply.body.to_string();
    for acme in [
        ids::REVIEW,
        ids::SYNC,
        ids::LAB_TEST,
        "files.example/review",
    ] {
        assert!(!text.contains(acme), "{acme} in {text}");
    }
    let alice = r.app.get("/api/v1/history/meetings", Some(&r.alice)).await;
    let text = alice.body.to_string();
    for globex in [ids::GLOBEX_SESSION, ids::GLOBEX_RECORDING, "globex.webm"] {
        assert!(!text.contains(globex), "{globex} in {text}");
    }
    for (token, other) in [(&r.gina, ids::REVIEW), (&r.alice, ids::GLOBEX_SESSION)] {
        let reply = r
            .app
            .get(&format!("/api/v1/history/meetings/{other}"), Some(token))
            .await;
        assert_frtc_error(&reply, 404, "session_not_found");
    }
}

#[tokio::test]
async fn a_members_meetings_are_found_across_many_pages_of_the_companys() {
    use plenum_testkit::TestApp;
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    app.create_user(&admin, "bob", "Normal", PASSWORD).await;
    // 1,201 sessions of the admin's (more than two of the pages the list reads at a time); Bob
    // attended three of them, far apart, and owns one more.
    let attended = [0usize, 600, 1200];
    let mut lines = String::new();
    for i in 0..1201usize {
        let id = format!("01900000-0000-7000-8000-{i:012x}");
        let start = 1_700_000_000 + i as i64 * 3600;
        let at = |t: i64| {
            jiff::Timestamp::from_second(t)
                .map(|t| t.to_string())
                .unwrap_or_default()
        };
        let owner = if i == 7 { "bob" } else { "admin" };
        lines.push_str(&format!(
            "{}\n",
            serde_json::json!({"type": "session", "id": id, "meeting_number": "7200001",
                "name": format!("Meeting {i}"), "owner": owner,
                "started_at": at(start), "ended_at": at(start + 1800)})
        ));
        if attended.contains(&i) {
            lines.push_str(&format!(
                "{}\n",
                serde_json::json!({"type": "attendance", "session": id, "user": "bob",
                    "display_name": "Bob", "device_type": "web", "media_type": "video",
                    "joined_at": at(start + 60), "left_at": at(start + 600)})
            ));
        }
    }
    let imported = crate::history_fixture::import(&app, &admin, lines).await;
    assert_eq!(imported.status.as_u16(), 200, "{}", imported.body);

    let bob = app.sign_in("bob", PASSWORD).await;
    let all = app
        .get("/api/v1/history/meetings?page_size=50", Some(&bob))
        .await;
    assert_eq!(
        ids_of(&all.body["meetings"], "meeting_name"),
        ["Meeting 1200", "Meeting 600", "Meeting 7", "Meeting 0"],
        "{}",
        all.body
    );
    assert_eq!(all.body["total_size"], 4);
    let second = app
        .get(
            "/api/v1/history/meetings?page_size=3&page_num=2",
            Some(&bob),
        )
        .await;
    assert_eq!(
        ids_of(&second.body["meetings"], "meeting_name"),
        ["Meeting 0"]
    );
    assert_eq!(second.body["total_page_num"], 2);
    let found = app
        .get("/api/v1/history/meetings?filter=meeting%2060", Some(&bob))
        .await;
    assert_eq!(
        ids_of(&found.body["meetings"], "meeting_name"),
        ["Meeting 600"]
    );
    let admin_sees = app
        .get("/api/v1/history/meetings?page_size=1", Some(&admin))
        .await;
    assert_eq!(admin_sees.body["total_size"], 1201);
}

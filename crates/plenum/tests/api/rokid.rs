//! Rokid meeting history and participants over HTTP: every field, every filter in the
//! company's time zone, paging, participant states, every error in Spring's shape.

use reqwest::Method;
use serde_json::{Value, json};

use crate::history_fixture::{Recorded, ids, recorded, send};
use crate::{keys, sorted};

const PAGE: &str = "/ar/corporation/openapi/rtc/meeting/info/page";
const PARTICIPANTS: &str = "/ar/corporation/openapi/rtc/meeting/record/list";

async fn page(r: &Recorded, body: Value) -> plenum_testkit::Reply {
    send(
        &r.app,
        Method::POST,
        PAGE,
        &[("authorization", &format!("Bearer {}", r.acme_key))],
        Some(body),
    )
    .await
}

async fn participants(r: &Recorded, id: &str) -> plenum_testkit::Reply {
    send(
        &r.app,
        Method::GET,
        &format!("{PARTICIPANTS}?id={id}"),
        &[("authorization", &format!("Bearer {}", r.acme_key))],
        None,
    )
    .await
}

fn meeting_ids(body: &Value) -> Vec<String> {
    body["list"]
        .as_array()
        .unwrap_or_else(|| panic!("no list in {body}"))
        .iter()
        .map(|m| m["meetingId"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[track_caller]
fn assert_spring_error(reply: &plenum_testkit::Reply, status: u16, path: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    assert_eq!(
        keys(&reply.body),
        sorted(&["timestamp", "status", "error", "message", "path"]),
        "{}",
        reply.body
    );
    assert_eq!(reply.body["status"], status);
    assert_eq!(reply.body["path"], path);
    assert!(!reply.body["message"].as_str().unwrap_or("").is_empty());
    let at = reply.body["timestamp"].as_str().unwrap_or("");
    assert!(at.len() == 29 && at.ends_with("+00:00"), "{at}");
}

#[tokio::test]
async fn meeting_history_has_every_documented_field_in_the_company_zone() {
    let r = recorded().await;
    let reply = page(&r, json!({"companyId": r.acme_id})).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(
        keys(&reply.body),
        sorted(&["pageNum", "pageSize", "total", "list"])
    );
    assert_eq!(
        (
            reply.body["pageNum"].clone(),
            reply.body["pageSize"].clone(),
            reply.body["total"].clone()
        ),
        (json!(1), json!(10), json!(3))
    );
    assert_eq!(
        meeting_ids(&reply.body),
        vec![ids::SYNC, ids::REVIEW, ids::LAB_TEST]
    );
    let review = &reply.body["list"][1];
    assert_eq!(
        keys(review),
        sorted(&[
            "id",
            "meetingId",
            "meetingName",
            "gmtCreated",
            "gmtModified",
            "meetingDuration",
            "egressRecordUrl",
            "meetingStatus"
        ])
    );
    assert!(review["id"].is_i64());
    assert_eq!(review["meetingName"], "Device Inspection Review");
    // 08:00Z is 10:00 in Berlin in June.
    assert_eq!(review["gmtCreated"], "2026-06-17 10:00:00");
    assert_eq!(review["gmtModified"], "2026-06-17 10:45:00");
    assert_eq!(review["meetingDuration"], "45m00s");
    assert_eq!(
        review["egressRecordUrl"],
        "https://files.example/review.webm"
    );
    assert_eq!(review["meetingStatus"], "已结束");
    let running = &reply.body["list"][0];
    assert_eq!(running["meetingStatus"], "进行中");
    assert_eq!(running["gmtModified"], "");
    assert_eq!(running["meetingDuration"], "");
    assert_eq!(
        running["egressRecordUrl"], "",
        "its only recording is still processing"
    );
    let ids_seq: Vec<i64> = reply.body["list"]
        .as_array()
        .unwrap_or_else(|| unreachable!())
        .iter()
        .map(|m| m["id"].as_i64().unwrap_or(0))
        .collect();
    assert!(ids_seq.iter().all(|&i| i > 0), "{ids_seq:?}");
}

#[tokio::test]
async fn meeting_history_filters_on_name_and_local_time_window() {
    let r = recorded().await;
    let acme = r.acme_id.clone();
    for (body, expected) in [
        (
            json!({"companyId": acme, "meetingName": "inspection"}),
            vec![ids::REVIEW],
        ),
        (
            json!({"companyId": acme, "meetingName": "Device Inspection Review"}),
            vec![ids::REVIEW],
        ),
        (
            json!({"companyId": acme, "meetingName": "nothing like it"}),
            vec![],
        ),
        (
            json!({"companyId": acme, "startTime": "2026-06-17 00:00:00", "endTime": "2026-06-17 23:59:59"}),
            vec![ids::REVIEW],
        ),
        // Berlin 10:00:00 is the review's start: inclusive at both ends.
        (
            json!({"companyId": acme, "startTime": "2026-06-17 10:00:00"}),
            vec![ids::SYNC, ids::REVIEW],
        ),
        (
            json!({"companyId": acme, "startTime": "2026-06-17 10:00:01"}),
            vec![ids::SYNC],
        ),
        (
            json!({"companyId": acme, "endTime": "2026-06-17 10:00:00"}),
            vec![ids::REVIEW, ids::LAB_TEST],
        ),
        (
            json!({"companyId": acme, "endTime": "2026-06-17 09:59:59"}),
            vec![ids::LAB_TEST],
        ),
        (
            json!({"companyId": acme, "startTime": "2026-06-01 00:00:00", "endTime": "2026-06-17 23:59:59", "meetingName": "Device Inspection Review", "pageNum": 1, "pageSize": 10}),
            vec![ids::REVIEW],
        ),
        (
            json!({"companyId": acme, "startTime": "", "endTime": ""}),
            vec![ids::SYNC, ids::REVIEW, ids::LAB_TEST],
        ),
    ] {
        let reply = page(&r, body.clone()).await;
        assert_eq!(reply.status.as_u16(), 200, "{body}: {}", reply.body);
        assert_eq!(meeting_ids(&reply.body), expected, "{body}");
        assert_eq!(reply.body["total"], expected.len(), "{body}");
    }
}

#[tokio::test]
async fn meeting_history_pages() {
    let r = recorded().await;
    for (num, size, expected) in [
        (json!(1), json!(2), vec![ids::SYNC, ids::REVIEW]),
        (json!(2), json!(2), vec![ids::LAB_TEST]),
        (json!("2"), json!("1"), vec![ids::REVIEW]),
        (json!(3), json!(2), vec![]),
    ] {
        let reply = page(
            &r,
            json!({"companyId": r.acme_id, "pageNum": num, "pageSize": size}),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        assert_eq!(meeting_ids(&reply.body), expected);
        assert_eq!(reply.body["total"], 3);
        assert_eq!(
            reply.body["pageNum"],
            num.as_i64()
                .unwrap_or_else(|| num.as_str().unwrap_or("0").parse().unwrap_or(0))
        );
    }
}

#[tokio::test]
async fn meeting_history_errors() {
    let r = recorded().await;
    for body in [
        json!({}),
        json!({"companyId": ""}),
        json!({"companyId": r.acme_id, "pageNum": 0}),
        json!({"companyId": r.acme_id, "pageSize": 0}),
        json!({"companyId": r.acme_id, "pageSize": 501}),
        json!({"companyId": r.acme_id, "pageNum": "one"}),
        json!({"companyId": r.acme_id, "startTime": "2026-06-17T10:00:00"}),
        json!({"companyId": r.acme_id, "endTime": "17.06.2026 10:00:00"}),
        json!({"companyId": r.acme_id, "meetingName": 5}),
        json!({"companyId": r.acme_id, "meetingName": "x".repeat(129)}),
        json!({"companyId": r.acme_id, "startTime": "2026-06-10 00:00:00", "endTime": "2026-06-01 00:00:00"}),
        json!([1, 2]),
    ] {
        assert_spring_error(&page(&r, body).await, 400, PAGE);
    }
    // A bound is told as it is.
    let far = page(
        &r,
        json!({"companyId": r.acme_id, "pageNum": 2_000_000_000_i64}),
    )
    .await;
    assert_spring_error(&far, 400, PAGE);
    let message = far.body["message"].as_str().unwrap();
    assert!(message.contains("1000000000"), "{message}");
    let malformed = send(
        &r.app,
        Method::POST,
        PAGE,
        &[
            ("authorization", &format!("Bearer {}", r.acme_key)),
            ("content-type", "application/json"),
        ],
        None,
    )
    .await;
    assert_eq!(
        malformed.status.as_u16(),
        400,
        "an empty body lacks companyId"
    );
    // Another company's id, even one that exists, is refused.
    for company in [r.globex_id.as_str(), "rokid-demo-company"] {
        assert_spring_error(&page(&r, json!({"companyId": company})).await, 403, PAGE);
    }
    for auth in [
        None,
        Some("Bearer nope".to_owned()),
        Some(format!("Bearer {}", r.alice)),
    ] {
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("authorization", a.as_str())).collect();
        let reply = send(
            &r.app,
            Method::POST,
            PAGE,
            &headers,
            Some(json!({"companyId": r.acme_id})),
        )
        .await;
        assert_spring_error(&reply, 401, PAGE);
    }
}

#[tokio::test]
async fn participants_show_stays_and_invitees_who_never_joined() {
    let r = recorded().await;
    let reply = participants(&r, ids::REVIEW).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    let rows = reply
        .body
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {}", reply.body))
        .clone();
    assert_eq!(rows.len(), 4, "{}", reply.body);
    for row in &rows {
        assert_eq!(
            keys(row),
            sorted(&[
                "participantUserFullName",
                "participantUserName",
                "startTime",
                "endTime",
                "meetingDuration",
                "status"
            ])
        );
    }
    assert_eq!(
        rows[0],
        json!({"participantUserFullName": "ALICE", "participantUserName": "alice", "startTime": "2026-06-17 10:00:12",
               "endTime": "2026-06-17 10:45:00", "meetingDuration": "44m48s", "status": "已退出"})
    );
    assert_eq!(rows[1]["participantUserName"], "bob");
    assert_eq!(rows[1]["meetingDuration"], "24m40s");
    assert_eq!(
        rows[2],
        json!({"participantUserFullName": "+991116005905", "participantUserName": "", "startTime": "2026-06-17 10:10:00",
               "endTime": "2026-06-17 10:20:00", "meetingDuration": "10m00s", "status": "已退出"}),
        "a guest is named by display name"
    );
    assert_eq!(
        rows[3],
        json!({"participantUserFullName": "CAROL", "participantUserName": "carol", "startTime": "", "endTime": "",
               "meetingDuration": "", "status": "未进入"}),
        "bob joined; carol was invited and never came"
    );
    let running = participants(&r, ids::SYNC).await;
    assert_eq!(
        running.body,
        json!([{"participantUserFullName": "BOB", "participantUserName": "bob", "startTime": "2026-06-18 10:01:00",
                "endTime": "", "meetingDuration": "", "status": "会议中"}])
    );
    // The numeric id that the history shows works too.
    let history = page(&r, json!({"companyId": r.acme_id, "meetingName": "Weekly"})).await;
    let seq = history.body["list"][0]["id"].as_i64().unwrap_or_default();
    assert_eq!(participants(&r, &seq.to_string()).await.body, running.body);
}

#[tokio::test]
async fn participants_errors() {
    let r = recorded().await;
    let missing = send(
        &r.app,
        Method::GET,
        PARTICIPANTS,
        &[("authorization", &format!("Bearer {}", r.acme_key))],
        None,
    )
    .await;
    assert_spring_error(&missing, 400, PARTICIPANTS);
    for id in [
        ids::GLOBEX_SESSION,
        "01900000-0000-7000-8000-00000000ffff",
        "RM_202606170001",
        "999999",
    ] {
        assert_spring_error(&participants(&r, id).await, 404, PARTICIPANTS);
    }
    let reply = send(
        &r.app,
        Method::GET,
        &format!("{PARTICIPANTS}?id={}", ids::REVIEW),
        &[],
        None,
    )
    .await;
    assert_spring_error(&reply, 401, PARTICIPANTS);
}

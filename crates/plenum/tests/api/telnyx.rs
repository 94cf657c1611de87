//! Telnyx room recordings (`/v2/room_recordings`) over HTTP: every filter, paging, retrieve,
//! bulk delete, and every error in Telnyx's shape.

use reqwest::Method;
use serde_json::Value;

use crate::history_fixture::{Recorded, acme_recordings, ids, recorded, send};
use crate::{keys, sorted};

async fn list(r: &Recorded, query: &str) -> Value {
    let reply = acme_recordings(r, query).await;
    assert_eq!(reply.status.as_u16(), 200, "{query}: {}", reply.body);
    reply.body
}

fn ids_of(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data in {body}"))
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[track_caller]
fn assert_telnyx_error(
    reply: &plenum_testkit::Reply,
    status: u16,
    code: &str,
    parameter: Option<&str>,
) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    assert_eq!(keys(&reply.body), sorted(&["errors"]), "{}", reply.body);
    let error = &reply.body["errors"][0];
    assert_eq!(error["code"], code, "{}", reply.body);
    assert!(!error["title"].as_str().unwrap_or("").is_empty());
    assert!(!error["detail"].as_str().unwrap_or("").is_empty());
    assert_eq!(
        error["source"]["parameter"].as_str(),
        parameter,
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn a_recording_has_every_documented_field() {
    let r = recorded().await;
    let body = list(
        &r,
        &format!("?filter[participant_id]={}", ids::ALICE_IN_REVIEW),
    )
    .await;
    let rec = &body["data"][0];
    assert_eq!(
        keys(rec),
        sorted(&[
            "id",
            "room_id",
            "session_id",
            "participant_id",
            "status",
            "download_url",
            "type",
            "duration_secs",
            "size_mb",
            "codec",
            "created_at",
            "updated_at",
            "started_at",
            "ended_at",
            "completed_at",
            "record_type",
        ])
    );
    assert_eq!(rec["id"], ids::REC_ALICE);
    assert_eq!(rec["room_id"], ids::BOARD);
    assert_eq!(rec["session_id"], ids::REVIEW);
    assert_eq!(rec["participant_id"], ids::ALICE_IN_REVIEW);
    assert_eq!(rec["status"], "completed");
    assert_eq!(rec["type"], "audio");
    assert_eq!(rec["codec"], "opus");
    assert_eq!(rec["duration_secs"], 600);
    assert_eq!(rec["size_mb"], 1.2);
    assert_eq!(rec["download_url"], "https://files.example/alice.ogg");
    assert_eq!(rec["started_at"], "2026-06-17T08:10:00.000000Z");
    assert_eq!(rec["ended_at"], "2026-06-17T08:20:00.000000Z");
    assert_eq!(rec["completed_at"], "2026-06-17T08:21:00.000000Z");
    assert_eq!(rec["created_at"], "2026-06-17T08:10:00.000000Z");
    assert_eq!(rec["updated_at"], "2026-06-17T08:21:00.000000Z");
    assert_eq!(rec["record_type"], "room_session");
    let meta = &body["meta"];
    assert_eq!(
        keys(meta),
        sorted(&["page_number", "page_size", "total_pages", "total_results"])
    );
    // A recording still processing has no end yet.
    let sync = list(&r, &format!("?filter[session_id]={}", ids::SYNC)).await;
    assert_eq!(sync["data"][0]["ended_at"], Value::Null);
    assert_eq!(sync["data"][0]["completed_at"], Value::Null);
    assert_eq!(sync["data"][0]["status"], "processing");
}

#[tokio::test]
async fn every_filter_narrows_the_list() {
    let r = recorded().await;
    let (review, alice, sync, lab) = (ids::REC_REVIEW, ids::REC_ALICE, ids::REC_SYNC, ids::REC_LAB);
    let cases: Vec<(String, Vec<&str>)> = vec![
        (String::new(), vec![sync, alice, review, lab]),
        (
            format!("?filter[room_id]={}", ids::BOARD),
            vec![sync, alice, review],
        ),
        (format!("?filter[room_id]={}", ids::LAB), vec![lab]),
        (
            format!("?filter[session_id]={}", ids::REVIEW),
            vec![alice, review],
        ),
        (
            format!("?filter[participant_id]={}", ids::ALICE_IN_REVIEW),
            vec![alice],
        ),
        ("?filter[status]=processing".into(), vec![sync]),
        ("?filter[status]=completed".into(), vec![alice, review, lab]),
        ("?filter[type]=audio".into(), vec![alice]),
        ("?filter[type]=video".into(), vec![sync, review, lab]),
        ("?filter[duration_secs][eq]=600".into(), vec![alice]),
        ("?filter[duration_secs][gte]=2700".into(), vec![review, lab]),
        ("?filter[duration_secs][lte]=600".into(), vec![sync, alice]),
        ("?filter[duration_secs]=2700".into(), vec![review, lab]),
        (
            "?filter[duration_secs][gte]=100&filter[duration_secs][lte]=3000".into(),
            vec![alice, review],
        ),
        (
            "?filter[date_started_at][eq]=2026-06-17".into(),
            vec![alice, review],
        ),
        (
            "?filter[date_started_at][gte]=2026-06-17".into(),
            vec![sync, alice, review],
        ),
        (
            "?filter[date_started_at][lte]=2026-06-17".into(),
            vec![alice, review, lab],
        ),
        // A date-time (what the SDK sends for a `datetime`) is the day it falls on in UTC;
        // without an offset it is read as UTC.
        (
            "?filter[date_started_at][eq]=2026-06-16T23:30:00-05:00".into(),
            vec![alice, review],
        ),
        (
            "?filter[date_started_at][eq]=2026-06-17T08:00:00".into(),
            vec![alice, review],
        ),
        ("?filter[date_ended_at][eq]=2026-06-10".into(), vec![lab]),
        (
            "?filter[date_ended_at][gte]=2026-06-11".into(),
            vec![alice, review],
        ),
        (
            "?filter[date_ended_at][lte]=2026-06-17".into(),
            vec![alice, review, lab],
        ),
        ("?filter[date_ended_at][gte]=2026-06-18".into(), vec![]),
        (
            format!(
                "?filter[room_id]={}&filter[type]=video&filter[status]=completed",
                ids::BOARD
            ),
            vec![review],
        ),
        // Percent-encoded brackets, as HTTP clients send them.
        ("?filter%5Btype%5D=audio".into(), vec![alice]),
        ("?filter%5Bduration_secs%5D%5Blte%5D=60".into(), vec![sync]),
        // Contradictions match nothing rather than failing.
        (
            "?filter[duration_secs][gte]=10&filter[duration_secs][lte]=5".into(),
            vec![],
        ),
        (
            "?filter[room_id]=01900000-0000-7000-8000-00000000ffff".into(),
            vec![],
        ),
    ];
    for (query, expected) in cases {
        let body = list(&r, &query).await;
        assert_eq!(ids_of(&body), expected, "{query}");
        assert_eq!(body["meta"]["total_results"], expected.len(), "{query}");
    }
}

#[tokio::test]
async fn paging_follows_page_size_and_number() {
    let r = recorded().await;
    let first = list(&r, "").await;
    assert_eq!(first["meta"]["page_number"], 1);
    assert_eq!(first["meta"]["page_size"], 20, "the default");
    assert_eq!(first["meta"]["total_pages"], 1);
    let second = list(&r, "?page[size]=3&page[number]=2").await;
    assert_eq!(ids_of(&second), vec![ids::REC_LAB]);
    assert_eq!(
        second["meta"],
        serde_json::json!({"page_number": 2, "page_size": 3, "total_pages": 2, "total_results": 4})
    );
    let beyond = list(&r, "?page%5Bsize%5D=3&page%5Bnumber%5D=9").await;
    assert_eq!(ids_of(&beyond), Vec::<String>::new());
    assert_eq!(beyond["meta"]["total_results"], 4);
    let max = list(&r, "?page[size]=250").await;
    assert_eq!(max["meta"]["page_size"], 250);
}

#[tokio::test]
async fn bad_parameters_are_telnyx_errors_naming_the_parameter() {
    let r = recorded().await;
    let auth = format!("Bearer {}", r.acme_key);
    for (query, parameter) in [
        ("?page[size]=0", "page[size]"),
        ("?page[size]=251", "page[size]"),
        ("?page[size]=ten", "page[size]"),
        ("?page[number]=0", "page[number]"),
        ("?filter[room_id]=not-a-uuid", "filter[room_id]"),
        ("?filter[session_id]=1", "filter[session_id]"),
        ("?filter[participant_id]=x", "filter[participant_id]"),
        ("?filter[status]=done", "filter[status]"),
        ("?filter[type]=text", "filter[type]"),
        ("?filter[duration_secs][eq]=-1", "filter[duration_secs][eq]"),
        ("?filter[duration_secs]=1.5", "filter[duration_secs]"),
        (
            "?filter[date_started_at][eq]=17.06.2026",
            "filter[date_started_at][eq]",
        ),
        (
            "?filter[date_ended_at][gte]=2026-13-01",
            "filter[date_ended_at][gte]",
        ),
        ("?filter[colour]=red", "filter[colour]"),
    ] {
        for method in [Method::GET, Method::DELETE] {
            let reply = send(
                &r.app,
                method.clone(),
                &format!("/v2/room_recordings{query}"),
                &[("authorization", &auth)],
                None,
            )
            .await;
            assert_telnyx_error(&reply, 400, "10015", Some(parameter));
        }
    }
}

#[tokio::test]
async fn authentication_is_by_bearer_api_key() {
    let r = recorded().await;
    for headers in [
        vec![],
        vec![("authorization", "Bearer not-a-key".to_owned())],
        vec![("authorization", format!("Basic {}", r.acme_key))],
        // A user's access token is not an API key.
        vec![("authorization", format!("Bearer {}", r.alice))],
    ] {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = send(&r.app, Method::GET, "/v2/room_recordings", &h, None).await;
        assert_telnyx_error(&reply, 401, "10009", None);
    }
    // A revoked key stops working at once, though it was just used (and so remembered).
    let used = acme_recordings(&r, "").await;
    assert_eq!(used.status.as_u16(), 200, "{}", used.body);
    let listed = r.app.get("/api/v1/api_keys", Some(&r.alice)).await;
    let id = listed.body["api_keys"][0]["api_key_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let revoked = r
        .app
        .call(
            Method::DELETE,
            &format!("/api/v1/api_keys/{id}"),
            Some(&r.alice),
            None,
        )
        .await;
    assert_eq!(revoked.status.as_u16(), 200, "{}", revoked.body);
    let reply = acme_recordings(&r, "").await;
    assert_telnyx_error(&reply, 401, "10009", None);
}

#[tokio::test]
async fn retrieve_returns_one_recording_of_the_company() {
    let r = recorded().await;
    let auth = format!("Bearer {}", r.acme_key);
    let reply = send(
        &r.app,
        Method::GET,
        &format!("/v2/room_recordings/{}", ids::REC_REVIEW),
        &[("authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["id"], ids::REC_REVIEW);
    assert_eq!(reply.body["data"]["participant_id"], Value::Null);
    assert_eq!(reply.body["data"]["size_mb"], 5.6);
    for missing in [
        ids::GLOBEX_RECORDING,
        "01900000-0000-7000-8000-00000000ffff",
        "nope",
    ] {
        let reply = send(
            &r.app,
            Method::GET,
            &format!("/v2/room_recordings/{missing}"),
            &[("authorization", &auth)],
            None,
        )
        .await;
        assert_telnyx_error(&reply, 404, "10005", None);
    }
}

#[tokio::test]
async fn bulk_delete_removes_the_matches_and_counts_them() {
    let r = recorded().await;
    let auth = format!("Bearer {}", r.acme_key);
    let reply = send(
        &r.app,
        Method::DELETE,
        &format!(
            "/v2/room_recordings?filter[session_id]={}&filter[type]=audio",
            ids::REVIEW
        ),
        &[("authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(
        reply.body,
        serde_json::json!({"data": {"room_recordings": 1}})
    );
    assert_eq!(
        ids_of(&list(&r, "").await),
        vec![ids::REC_SYNC, ids::REC_REVIEW, ids::REC_LAB]
    );
    // Nothing matches: nothing goes.
    let reply = send(
        &r.app,
        Method::DELETE,
        "/v2/room_recordings?filter[type]=audio",
        &[("authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(reply.body["data"]["room_recordings"], 0);
    let reply = send(
        &r.app,
        Method::DELETE,
        "/v2/room_recordings",
        &[("authorization", &format!("Bearer {}", r.globex_key))],
        None,
    )
    .await;
    assert_eq!(
        reply.body["data"]["room_recordings"], 1,
        "Globex's own only"
    );
    assert_eq!(
        list(&r, "").await["meta"]["total_results"],
        3,
        "Acme's are untouched"
    );
}

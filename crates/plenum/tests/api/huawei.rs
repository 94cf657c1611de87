//! Huawei attendee records of a historical meeting, and the account and appauth token calls,
//! over HTTP: every field, the search, paging, every error in both languages.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::history_fixture::{PASSWORD, Recorded, create_key, ids, recorded, send};
use crate::{keys, now_ms, sorted};

const RECORDS: &str = "/v1/mmc/management/conferences/history/confAttendeeRecord";

async fn account_token(r: &Recorded, user: &str, password: &str) -> plenum_testkit::Reply {
    let basic = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
    send(
        &r.app,
        Method::POST,
        "/v1/usg/acs/auth/account",
        &[("authorization", &basic)],
        Some(json!({"account": user, "clientType": 72})),
    )
    .await
}

async fn token_of(r: &Recorded, user: &str) -> String {
    let reply = account_token(r, user, PASSWORD).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    reply.body["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn records(
    r: &Recorded,
    token: &str,
    query: &str,
    lang: Option<&str>,
) -> plenum_testkit::Reply {
    let mut headers = vec![("x-access-token", token)];
    if let Some(l) = lang {
        headers.push(("accept-language", l));
    }
    send(
        &r.app,
        Method::GET,
        &format!("{RECORDS}{query}"),
        &headers,
        None,
    )
    .await
}

#[track_caller]
fn assert_huawei_error(reply: &plenum_testkit::Reply, status: u16, code: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    assert_eq!(
        keys(&reply.body),
        sorted(&["error_code", "error_msg"]),
        "{}",
        reply.body
    );
    assert_eq!(reply.body["error_code"], code, "{}", reply.body);
}

fn names(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data in {body}"))
        .iter()
        .map(|d| d["displayName"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn attendee_records_have_every_documented_field() {
    let r = recorded().await;
    let token = token_of(&r, "alice").await;
    let reply = records(&r, &token, &format!("?confUUID={}", ids::REVIEW), None).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(
        keys(&reply.body),
        sorted(&["data", "offset", "limit", "count"])
    );
    assert_eq!(
        (
            reply.body["offset"].clone(),
            reply.body["limit"].clone(),
            reply.body["count"].clone()
        ),
        (json!(0), json!(20), json!(3))
    );
    assert_eq!(
        names(&reply.body),
        vec!["Alice", "Bob", "+991116005905"],
        "in order of joining"
    );
    let alice = &reply.body["data"][0];
    assert_eq!(
        keys(alice),
        sorted(&[
            "displayName",
            "callNumber",
            "deviceType",
            "joinTime",
            "leftTime",
            "mediaType",
            "deptName"
        ])
    );
    assert_eq!(alice["deviceType"], "Soft client");
    assert_eq!(alice["mediaType"], "Video");
    assert_eq!(alice["deptName"], "Engineering");
    assert_eq!(
        alice["joinTime"], 1_781_683_212_000_i64,
        "2026-06-17T08:00:12Z in ms"
    );
    assert_eq!(alice["leftTime"], 1_781_685_900_000_i64);
    assert_eq!(reply.body["data"][1]["deviceType"], "Web client");
    let phone = &reply.body["data"][2];
    assert_eq!(phone["callNumber"], "+991116005905");
    assert_eq!(phone["deviceType"], "Phone");
    assert_eq!(phone["mediaType"], "Audio");
    // Someone still in the meeting has no leave time yet; the id is accepted without dashes.
    let sync = records(
        &r,
        &token,
        &format!("?confUUID={}", ids::SYNC.replace('-', "")),
        None,
    )
    .await;
    assert_eq!(sync.body["data"][0]["leftTime"], Value::Null);
    assert_eq!(sync.body["data"][0]["deviceType"], "Mobile client");
}

#[tokio::test]
async fn search_key_matches_name_or_number_and_paging_is_offset_limit() {
    let r = recorded().await;
    let token = token_of(&r, "carol").await; // a MeetingOperator may read records
    let conf = ids::REVIEW;
    for (query, expected, count) in [
        (format!("?confUUID={conf}&searchKey=bob"), vec!["Bob"], 1),
        (format!("?confUUID={conf}&searchKey=ALI"), vec!["Alice"], 1),
        (
            format!("?confUUID={conf}&searchKey=6005905"),
            vec!["+991116005905"],
            1,
        ),
        (
            format!("?confUUID={conf}&searchKey=%2B9911"),
            vec!["+991116005905"],
            1,
        ),
        (format!("?confUUID={conf}&searchKey=nobody"), vec![], 0),
        (format!("?confUUID={conf}&offset=1&limit=1"), vec!["Bob"], 3),
        (
            format!("?confUUID={conf}&offset=2"),
            vec!["+991116005905"],
            3,
        ),
        (format!("?confUUID={conf}&offset=5&limit=500"), vec![], 3),
    ] {
        let reply = records(&r, &token, &query, None).await;
        assert_eq!(reply.status.as_u16(), 200, "{query}: {}", reply.body);
        assert_eq!(names(&reply.body), expected, "{query}");
        assert_eq!(reply.body["count"], count, "{query}");
    }
    let paged = records(
        &r,
        &token,
        &format!("?confUUID={conf}&offset=1&limit=1"),
        None,
    )
    .await;
    assert_eq!(
        (paged.body["offset"].clone(), paged.body["limit"].clone()),
        (json!(1), json!(1))
    );
}

#[tokio::test]
async fn bad_parameters_are_400_in_the_chosen_language() {
    let r = recorded().await;
    let token = token_of(&r, "alice").await;
    for query in [
        String::new(),
        "?confUUID=".to_owned(),
        "?confUUID=not-a-uuid".to_owned(),
        format!("?confUUID={}&limit=0", ids::REVIEW),
        format!("?confUUID={}&limit=501", ids::REVIEW),
        format!("?confUUID={}&limit=ten", ids::REVIEW),
        format!("?confUUID={}&offset=-1", ids::REVIEW),
    ] {
        let zh = records(&r, &token, &query, None).await;
        assert_huawei_error(&zh, 400, "MMC.111000001");
        assert!(
            zh.body["error_msg"]
                .as_str()
                .unwrap_or("")
                .starts_with("参数错误"),
            "{}",
            zh.body
        );
        let en = records(&r, &token, &query, Some("en-US")).await;
        assert_huawei_error(&en, 400, "MMC.111000001");
        assert!(
            en.body["error_msg"]
                .as_str()
                .unwrap_or("")
                .starts_with("Invalid parameter"),
            "{}",
            en.body
        );
    }
    // A meeting the company does not have, including another company's.
    for conf in [ids::GLOBEX_SESSION, "01900000-0000-7000-8000-00000000ffff"] {
        let reply = records(&r, &token, &format!("?confUUID={conf}"), Some("en-US")).await;
        assert_huawei_error(&reply, 400, "MMC.111070005");
        assert_eq!(reply.body["error_msg"], "The conference does not exist.");
        let zh = records(&r, &token, &format!("?confUUID={conf}"), Some("zh-CN")).await;
        assert_eq!(zh.body["error_msg"], "会议不存在");
    }
}

#[tokio::test]
async fn tokens_are_required_and_checked() {
    let r = recorded().await;
    let query = format!("?confUUID={}", ids::REVIEW);
    assert_huawei_error(
        &send(&r.app, Method::GET, &format!("{RECORDS}{query}"), &[], None).await,
        401,
        "USG.000000004",
    );
    for bad in ["nonsense", r.acme_key.as_str()] {
        let reply = records(&r, bad, &query, Some("en-US")).await;
        assert_huawei_error(&reply, 401, "USG.000000004");
        assert!(
            reply.body["error_msg"]
                .as_str()
                .unwrap_or("")
                .contains("token")
        );
    }
    // A Normal user's token is valid but may not read the company's records.
    let bob = token_of(&r, "bob").await;
    let reply = records(&r, &bob, &query, None).await;
    assert_huawei_error(&reply, 403, "MMC.111070001");
    assert_eq!(reply.body["error_msg"], "权限不足");
}

#[tokio::test]
async fn account_auth_answers_a_token_or_401() {
    let r = recorded().await;
    let ok = account_token(&r, "alice", PASSWORD).await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.body);
    assert!(!ok.body["accessToken"].as_str().unwrap_or("").is_empty());
    assert_eq!(ok.body["user"]["userName"], "alice");
    assert_eq!(ok.body["tokenType"], 0);
    assert_eq!(ok.body["validPeriod"], 86_400);
    let wrong = account_token(&r, "alice", "wrong-password").await;
    assert_huawei_error(&wrong, 401, "USG.201040001");
    assert_huawei_error(
        &account_token(&r, "nobody", PASSWORD).await,
        401,
        "USG.201040001",
    );
    // The body names the account the credentials are for, or nobody.
    let basic = format!("Basic {}", STANDARD.encode(format!("alice:{PASSWORD}")));
    let other = send(
        &r.app,
        Method::POST,
        "/v1/usg/acs/auth/account",
        &[("authorization", &basic)],
        Some(json!({"account": "gina", "clientType": 72})),
    )
    .await;
    assert_huawei_error(&other, 400, "MMC.111000001");
    for header in ["Basic !!!", "Bearer x", "Basic YWxpY2U="] {
        let reply = send(
            &r.app,
            Method::POST,
            "/v1/usg/acs/auth/account",
            &[("authorization", header)],
            None,
        )
        .await;
        assert_huawei_error(&reply, 400, "MMC.111000001");
    }
}

fn sign(app_key: &str, data: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_key.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(data.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

async fn appauth(
    r: &Recorded,
    app_id: &str,
    signature: &str,
    body: Value,
) -> plenum_testkit::Reply {
    let header = format!(
        "HMAC-SHA256 signature={signature},access={}",
        STANDARD.encode(app_id)
    );
    send(
        &r.app,
        Method::POST,
        "/v2/usg/acs/auth/appauth",
        &[("authorization", &header)],
        Some(body),
    )
    .await
}

#[tokio::test]
async fn appauth_checks_the_hmac_signature_and_issues_a_company_token() {
    let r = recorded().await;
    let app = create_key(&r.app, &r.alice, "welink", "huawei_app").await;
    let app_id = app["app_id"].as_str().unwrap_or_default().to_owned();
    let app_key = app["app_key"].as_str().unwrap_or_default().to_owned();
    assert_eq!(app_id.len(), 32);
    let expire = now_ms(&r.app) / 1000 + 600;
    let nonce = "6c9f1f2e-2d0c-4d16-9bb2-1f0e3c2d1a00";
    let body = json!({"appId": app_id, "userId": "", "corpId": null, "expireTime": expire, "nonce": nonce, "clientType": 72, "deptCode": null});
    let signature = sign(&app_key, &format!("{app_id}::{expire}:{nonce}"));
    let ok = appauth(&r, &app_id, &signature, body.clone()).await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.body);
    assert_eq!(ok.body["tokenType"], 1);
    assert_eq!(ok.body["validPeriod"], 43_200);
    let token = ok.body["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let listed = records(&r, &token, &format!("?confUUID={}", ids::REVIEW), None).await;
    assert_eq!(listed.body["count"], 3, "{}", listed.body);
    // The multi-tenant form of the signature (with corpId) is accepted too, when corpId is
    // the app's company.
    for (corp, status) in [
        (r.acme_id.as_str(), 200),
        (r.globex_id.as_str(), 401),
        ("acme", 401),
    ] {
        let mut multi = body.clone();
        multi["corpId"] = json!(corp);
        let signature = sign(&app_key, &format!("{app_id}:{corp}::{expire}:{nonce}"));
        let reply = appauth(&r, &app_id, &signature, multi).await;
        assert_eq!(reply.status.as_u16(), status, "{corp}: {}", reply.body);
    }

    // Wrong key, wrong app, mismatched access, expired, too far ahead: 401.
    let bad_sig = sign("not-the-key", &format!("{app_id}::{expire}:{nonce}"));
    assert_huawei_error(
        &appauth(&r, &app_id, &bad_sig, body.clone()).await,
        401,
        "USG.201010001",
    );
    let good = sign(&app_key, &format!("{app_id}::{expire}:{nonce}"));
    let header = format!(
        "HMAC-SHA256 signature={good},access={}",
        STANDARD.encode("someone-else")
    );
    let reply = send(
        &r.app,
        Method::POST,
        "/v2/usg/acs/auth/appauth",
        &[("authorization", &header)],
        Some(body.clone()),
    )
    .await;
    assert_huawei_error(&reply, 401, "USG.201010001");
    for expire in [
        now_ms(&r.app) / 1000 - 1,
        now_ms(&r.app) / 1000 + 2 * 86_400,
    ] {
        let mut stale = body.clone();
        stale["expireTime"] = json!(expire);
        let sig = sign(&app_key, &format!("{app_id}::{expire}:{nonce}"));
        assert_huawei_error(
            &appauth(&r, &app_id, &sig, stale).await,
            401,
            "USG.201010001",
        );
    }
    // Malformed requests: 400.
    for (header, body) in [
        ("Bearer x".to_owned(), body.clone()),
        (
            format!(
                "HMAC-SHA256 signature={good},access={}",
                STANDARD.encode(&app_id)
            ),
            json!({"appId": app_id}),
        ),
        (
            format!(
                "HMAC-SHA256 signature={good},access={}",
                STANDARD.encode(&app_id)
            ),
            json!("not an object"),
        ),
    ] {
        let reply = send(
            &r.app,
            Method::POST,
            "/v2/usg/acs/auth/appauth",
            &[("authorization", &header)],
            Some(body),
        )
        .await;
        assert_huawei_error(&reply, 400, "MMC.111000001");
    }
    // Revoking the app ends its tokens and refuses new ones.
    let id = app["api_key_id"].as_str().unwrap_or_default();
    r.app
        .call(
            Method::DELETE,
            &format!("/api/v1/api_keys/{id}"),
            Some(&r.alice),
            None,
        )
        .await;
    assert_huawei_error(
        &records(&r, &token, &format!("?confUUID={}", ids::REVIEW), None).await,
        401,
        "USG.000000004",
    );
    assert_huawei_error(
        &appauth(&r, &app_id, &good, body).await,
        401,
        "USG.201010001",
    );
}

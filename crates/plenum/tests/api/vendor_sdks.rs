//! The vendors' own SDKs from PyPI (`telnyx`, `huaweicloudsdkmeeting`, `rocketchat-api`,
//! pinned by `scripts/install-test-deps.sh`) against a real server: every filter and paging
//! case each surface offers, as the SDK sends it and as the SDK reads the answer.
//!
//! `scripts/vendor_sdk_check.py` makes the calls; these tests say which and check the
//! results. The Python comes from `PLENUM_TEST_PYTHON`, else `<workspace>/.venv-test`;
//! without it these tests fail, they are not skipped. The webhook tests verify deliveries
//! with the `standardwebhooks` package through [`run_python`].

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::history_fixture::{PASSWORD, Recorded, create_key, ids, recorded_with};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> PathBuf {
    let python = std::env::var_os("PLENUM_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv-test/bin/python"));
    assert!(
        python.exists(),
        "{} not found: the SDK tests drive the vendors' Python SDKs. Run \
         scripts/install-test-deps.sh (or set PLENUM_TEST_PYTHON to a python that has telnyx, \
         huaweicloudsdkmeeting and rocketchat-api).",
        python.display()
    );
    python
}

/// Runs a Python `script` of the test virtualenv with `input` on standard input; its
/// standard output, or its standard error if it failed.
pub async fn try_python(script: &str, input: &str) -> Result<String, String> {
    let python = python();
    let (script, input) = (script.to_owned(), input.to_owned());
    let output = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(&python)
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(input.as_bytes())
                .unwrap_or_else(|e| panic!("writing to python: {e}"));
        }
        child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("waiting for python: {e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// [`try_python`], which must succeed.
pub async fn run_python(script: &str, input: &str) -> String {
    try_python(script, input)
        .await
        .unwrap_or_else(|stderr| panic!("the Python script failed:\n{stderr}"))
}

/// Runs the SDK calls of `cases` against the server; one result per case.
async fn run_sdks(r: &Recorded, cases: Vec<Value>) -> Vec<Value> {
    let expected = cases.len();
    let plan = json!({"base_url": r.app.base_url, "cases": cases}).to_string();
    let python = python();
    let output = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(&python)
            .arg(workspace().join("scripts/vendor_sdk_check.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(plan.as_bytes())
                .unwrap_or_else(|e| panic!("writing the plan: {e}"));
        }
        child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("waiting for the SDK script: {e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        output.status.success(),
        "the SDK script failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
    assert_eq!(results.len(), expected, "one result per case");
    results
}

/// A server with the fixture's record, and a Rocket.Chat limit the SDK runs stay under (the
/// 3-per-second limit itself is tested over HTTP in `rocketchat.rs`).
async fn server() -> Recorded {
    recorded_with(|s| s.rocketchat_rate_limit = 10_000).await
}

#[tokio::test]
async fn telnyx_sdk_lists_filters_pages_retrieves_and_deletes() {
    let r = server().await;
    let key = r.acme_key.clone();
    let list =
        |filter: Value| json!({"sdk": "telnyx", "api_key": key, "op": "list", "filter": filter});
    let (review, alice, sync, lab) = (ids::REC_REVIEW, ids::REC_ALICE, ids::REC_SYNC, ids::REC_LAB);
    let filters: Vec<(Value, Vec<&str>)> = vec![
        (json!({}), vec![sync, alice, review, lab]),
        (json!({"room_id": ids::BOARD}), vec![sync, alice, review]),
        (json!({"session_id": ids::REVIEW}), vec![alice, review]),
        (json!({"participant_id": ids::ALICE_IN_REVIEW}), vec![alice]),
        (json!({"status": "processing"}), vec![sync]),
        (json!({"type": "audio"}), vec![alice]),
        (json!({"duration_secs": 2700}), vec![review, lab]),
        (
            json!({"date_started_at": {"eq": "2026-06-17"}}),
            vec![alice, review],
        ),
        (
            json!({"date_started_at": {"gte": "2026-06-17"}}),
            vec![sync, alice, review],
        ),
        (json!({"date_started_at": {"lte": "2026-06-16"}}), vec![lab]),
        (json!({"date_ended_at": {"eq": "2026-06-10"}}), vec![lab]),
        (
            json!({"date_ended_at": {"gte": "2026-06-11", "lte": "2026-06-17"}}),
            vec![alice, review],
        ),
        (
            json!({"room_id": ids::BOARD, "type": "video", "status": "completed"}),
            vec![review],
        ),
    ];
    let mut cases: Vec<Value> = filters.iter().map(|(f, _)| list(f.clone())).collect();
    cases.push(
        json!({"sdk": "telnyx", "api_key": key, "op": "list", "page_size": 3, "page_number": 2}),
    );
    cases.push(json!({"sdk": "telnyx", "api_key": key, "op": "list_all", "page_size": 1}));
    cases.push(json!({"sdk": "telnyx", "api_key": key, "op": "retrieve", "id": review}));
    cases.push(
        json!({"sdk": "telnyx", "api_key": key, "op": "retrieve", "id": ids::GLOBEX_RECORDING}),
    );
    cases.push(json!({"sdk": "telnyx", "api_key": "wrong", "op": "list"}));
    cases.push(json!({"sdk": "telnyx", "api_key": key, "op": "list", "page_size": 251}));
    cases.push(json!({"sdk": "telnyx", "api_key": key, "op": "delete_bulk", "filter": {"type": "audio", "session_id": ids::REVIEW}}));
    cases.push(list(json!({})));
    let results = run_sdks(&r, cases).await;

    for ((filter, expected), result) in filters.iter().zip(&results) {
        assert_eq!(result["ids"], json!(expected), "filter {filter}: {result}");
        assert_eq!(
            result["meta"]["total_results"],
            expected.len(),
            "filter {filter}"
        );
    }
    let n = filters.len();
    let first = &results[0]["first"];
    assert_eq!(first["session_id"], ids::SYNC);
    assert_eq!(first["room_id"], ids::BOARD);
    assert_eq!(first["type"], "video");
    assert_eq!(first["status"], "processing");
    assert_eq!(first["record_type"], "room_session");
    assert_eq!(results[n]["ids"], json!([lab]));
    assert_eq!(
        results[n]["meta"],
        json!({"page_number": 2, "page_size": 3, "total_pages": 2, "total_results": 4})
    );
    assert_eq!(
        results[n + 1]["ids"],
        json!([sync, alice, review, lab]),
        "the SDK's auto-paging walks every page"
    );
    let retrieved = &results[n + 2]["data"];
    assert_eq!(retrieved["id"], review);
    assert_eq!(retrieved["duration_secs"], 2700);
    assert_eq!(retrieved["size_mb"], 5.6);
    assert_eq!(
        retrieved["download_url"],
        "https://files.example/review.webm"
    );
    assert_eq!(
        results[n + 3]["error"],
        json!({"status": 404, "code": "10005", "class": "NotFoundError"})
    );
    assert_eq!(
        results[n + 4]["error"],
        json!({"status": 401, "code": "10009", "class": "AuthenticationError"})
    );
    assert_eq!(results[n + 5]["error"]["status"], 400);
    assert_eq!(results[n + 5]["error"]["code"], "10015");
    assert_eq!(results[n + 6], json!({"deleted": 1}));
    assert_eq!(results[n + 7]["ids"], json!([sync, review, lab]));
}

#[tokio::test]
async fn rocketchat_client_logs_in_and_pages_the_calls_of_a_room() {
    let r = server().await;
    let as_alice = |params: Value| json!({"sdk": "rocketchat", "username": "alice", "password": PASSWORD, "op": "list", "params": params});
    let cases = vec![
        json!({"sdk": "rocketchat", "username": "alice", "password": PASSWORD, "op": "login"}),
        json!({"sdk": "rocketchat", "username": "alice", "password": "wrong-password", "op": "login"}),
        as_alice(json!({"roomId": ids::BOARD})),
        as_alice(json!({"roomId": ids::BOARD, "count": 1})),
        as_alice(json!({"roomId": ids::BOARD, "offset": 1, "count": 1})),
        as_alice(json!({"roomId": ids::BOARD, "offset": 2})),
        as_alice(json!({"roomId": ids::LAB})),
        as_alice(json!({})),
        as_alice(json!({"roomId": ids::GLOBEX_ROOM})),
        json!({"sdk": "rocketchat", "auth_token": "wrong", "user_id": "nobody", "op": "list", "params": {"roomId": ids::BOARD}}),
    ];
    let results = run_sdks(&r, cases).await;
    assert_eq!(results[0]["has_token"], true);
    assert!(
        results[0]["user_id"]
            .as_str()
            .is_some_and(|s| s.len() == 36)
    );
    assert_eq!(results[1]["error"], json!({"login": "refused"}));
    let ids_of = |v: &Value| -> Vec<String> {
        v["data"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| c["_id"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(ids_of(&results[2]), vec![ids::SYNC, ids::REVIEW]);
    assert_eq!(
        (
            results[2]["total"].clone(),
            results[2]["count"].clone(),
            results[2]["success"].clone()
        ),
        (json!(2), json!(2), json!(true))
    );
    assert_eq!(results[2]["data"][0]["status"], 1);
    assert_eq!(results[2]["data"][1]["status"], 3);
    assert_eq!(ids_of(&results[3]), vec![ids::SYNC]);
    assert_eq!(ids_of(&results[4]), vec![ids::REVIEW]);
    assert_eq!(
        (
            results[4]["offset"].clone(),
            results[4]["count"].clone(),
            results[4]["total"].clone()
        ),
        (json!(1), json!(1), json!(2))
    );
    assert_eq!(ids_of(&results[5]), Vec::<String>::new());
    assert_eq!(ids_of(&results[6]), vec![ids::LAB_TEST]);
    assert_eq!(
        results[7]["error"],
        json!({"status": 400, "body": {"success": false, "error": "must have required property 'roomId' [invalid-params]", "errorType": "invalid-params"}})
    );
    assert_eq!(
        results[8]["error"],
        json!({"status": 400, "body": {"success": false, "error": "invalid-params"}})
    );
    assert_eq!(
        results[9]["error"],
        json!({"status": 401, "body": {"status": "error", "message": "You must be logged in to do this."}})
    );
}

#[tokio::test]
async fn huawei_sdk_authenticates_both_ways_and_pages_and_searches_attendee_records() {
    let r = server().await;
    let app = create_key(&r.app, &r.alice, "welink", "huawei_app").await;
    let (app_id, app_key) = (app["app_id"].clone(), app["app_key"].clone());
    let account = |params: Value| json!({"sdk": "huawei", "auth": "account", "username": "alice", "password": PASSWORD, "params": params});
    let by_app = |params: Value| json!({"sdk": "huawei", "auth": "app", "app_id": app_id, "app_key": app_key, "params": params});
    let conf = ids::REVIEW;
    let cases = vec![
        account(json!({"conf_uuid": conf})),
        by_app(json!({"conf_uuid": conf})),
        account(json!({"conf_uuid": conf, "offset": 1, "limit": 1})),
        account(json!({"conf_uuid": conf, "offset": 2, "limit": 500})),
        account(json!({"conf_uuid": conf, "search_key": "bob"})),
        by_app(json!({"conf_uuid": conf, "search_key": "6005905"})),
        account(json!({"conf_uuid": ids::SYNC.replace('-', "")})),
        account(json!({"conf_uuid": conf, "limit": 501, "accept_language": "en-US"})),
        account(json!({"conf_uuid": ids::GLOBEX_SESSION, "accept_language": "zh-CN"})),
        json!({"sdk": "huawei", "auth": "account", "username": "alice", "password": "wrong-password", "params": {"conf_uuid": conf}}),
        json!({"sdk": "huawei", "auth": "account", "username": "bob", "password": PASSWORD, "params": {"conf_uuid": conf}}),
        json!({"sdk": "huawei", "auth": "app", "app_id": app_id, "app_key": "not-the-app-key", "params": {"conf_uuid": conf}}),
    ];
    let results = run_sdks(&r, cases).await;
    let names = |v: &Value| -> Vec<String> {
        v["data"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|d| d["displayName"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        names(&results[0]),
        vec!["Alice", "Bob", "+991116005905"],
        "{}",
        results[0]
    );
    assert_eq!(
        (
            results[0]["offset"].clone(),
            results[0]["limit"].clone(),
            results[0]["count"].clone()
        ),
        (json!(0), json!(20), json!(3))
    );
    assert_eq!(
        results[0]["data"][0],
        json!({"displayName": "Alice", "callNumber": "", "deviceType": "Soft client", "joinTime": 1_781_683_212_000_i64,
               "leftTime": 1_781_685_900_000_i64, "mediaType": "Video", "deptName": "Engineering"})
    );
    assert_eq!(results[1], results[0], "an app token reads the same record");
    assert_eq!(names(&results[2]), vec!["Bob"]);
    assert_eq!(results[2]["count"], 3);
    assert_eq!(names(&results[3]), vec!["+991116005905"]);
    assert_eq!(names(&results[4]), vec!["Bob"]);
    assert_eq!(results[4]["count"], 1);
    assert_eq!(names(&results[5]), vec!["+991116005905"]);
    assert_eq!(results[6]["data"][0]["leftTime"], Value::Null);
    assert_eq!(results[7]["error"]["status"], 400);
    assert_eq!(results[7]["error"]["error_code"], "MMC.111000001");
    assert!(
        results[7]["error"]["error_msg"]
            .as_str()
            .unwrap_or("")
            .starts_with("Invalid parameter")
    );
    assert_eq!(
        results[8]["error"],
        json!({"status": 400, "error_code": "MMC.111070005", "error_msg": "会议不存在"})
    );
    assert_eq!(results[9]["error"]["status"], 401);
    assert_eq!(results[9]["error"]["error_code"], "USG.201040001");
    assert_eq!(results[10]["error"]["status"], 403);
    assert_eq!(results[11]["error"]["status"], 401);
    assert_eq!(results[11]["error"]["error_code"], "USG.201010001");
}

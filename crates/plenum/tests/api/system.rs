//! FRTC System: version and capacity.

use plenum_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::json;

use crate::{assert_frtc_error, keys, sorted};

#[tokio::test]
async fn version_answers_post_and_get_without_a_token() {
    let app = TestApp::spawn().await;
    for reply in [
        app.post("/api/v1/system/version", None, json!({})).await,
        app.get("/api/v1/system/version", None).await,
    ] {
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(keys(&reply.body), sorted(&["version"]));
        assert!(!reply.body["version"].as_str().unwrap_or("").is_empty());
    }
}

#[tokio::test]
async fn capacity_reports_limits_and_usage_in_the_documented_shape() {
    let app = TestApp::spawn_with(|s| s.policy.max_calls = 77).await;
    assert_frtc_error(
        &app.post("/api/v1/system/capacity", None, json!({})).await,
        401,
        "token_missing",
    );
    let admin = app.admin_token().await;
    let reply = app
        .post("/api/v1/system/capacity", Some(&admin), json!({}))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(keys(&reply.body), sorted(&["gateway", "system"]));
    assert_eq!(
        keys(&reply.body["gateway"]),
        sorted(&["max_calls", "current_calls"])
    );
    assert_eq!(
        keys(&reply.body["system"]),
        sorted(&[
            "max_calls",
            "max_users",
            "current_calls",
            "current_users",
            "status"
        ])
    );
    assert_eq!(reply.body["system"]["max_calls"], 77);
    assert_eq!(reply.body["system"]["max_users"], 1000);
    assert_eq!(reply.body["system"]["current_users"], 1);
    assert_eq!(reply.body["system"]["current_calls"], 0);
    assert_eq!(reply.body["system"]["status"], "authorized");
    app.create_user(&admin, "u1", "Normal", "Passw0rd-123")
        .await;
    let reply = app.get("/api/v1/system/capacity", Some(&admin)).await;
    assert_eq!(reply.body["system"]["current_users"], 2);
}

#[tokio::test]
async fn healthz_and_readyz_say_serving_and_ready_then_draining_once_the_server_stops() {
    let app = TestApp::spawn().await;
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status, StatusCode::OK);
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.body, json!({"status": "ready"}));

    // Stopping begins by ending the meetings: from then on no new work is wanted here.
    app.plenum()
        .live()
        .end_all_meetings(std::time::Duration::from_secs(1))
        .await;
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.body["status"], "not_ready");
    assert_eq!(ready.body["reason"], "the server is stopping");
}

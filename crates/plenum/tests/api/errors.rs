//! Errors that are not about one endpoint.

use plenum_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::assert_frtc_error;

#[tokio::test]
async fn unknown_paths_and_methods_get_the_frtc_error_shape() {
    let app = TestApp::spawn().await;
    assert_frtc_error(
        &app.get("/api/v1/nothing-here", None).await,
        404,
        "not_found",
    );
    let reply = app
        .call(Method::DELETE, "/api/v1/user/sign_in", None, None)
        .await;
    assert_frtc_error(&reply, 405, "method_not_allowed");
}

#[tokio::test]
async fn malformed_bodies_are_told_apart() {
    let app = TestApp::spawn().await;
    let cases = [
        ("{", "malformed_json"),
        ("[]", "malformed_json"),
        ("\"admin\"", "malformed_json"),
        (
            "{\"username\": \"admin\", \"password\": \"x\"} trailing",
            "malformed_json",
        ),
        ("", "missing_field"),
        ("{}", "missing_field"),
        (
            "{\"username\": null, \"password\": \"x\"}",
            "invalid_field_type",
        ),
        (
            "{\"username\": [\"admin\"], \"password\": \"x\"}",
            "invalid_field_type",
        ),
        (
            "{\"username\": \"admin\", \"password\": 123}",
            "invalid_field_type",
        ),
    ];
    for (body, code) in cases {
        let reply = app
            .call_raw(Method::POST, "/api/v1/user/sign_in", None, body)
            .await;
        assert_frtc_error(&reply, 400, code);
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::spawn().await;
    let huge = "x".repeat(100 * 1024);
    let reply = app
        .post(
            "/api/v1/user/sign_in",
            None,
            json!({"username": "admin", "password": huge}),
        )
        .await;
    assert_frtc_error(&reply, 413, "payload_too_large");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let ok = app.get("/healthz", None).await;
    assert_eq!(ok.status, StatusCode::OK);
    let err = app.get("/api/v1/user/info", None).await;
    for reply in [ok, err] {
        let id = reply
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert_eq!(id.len(), 36, "{id:?}");
    }
}

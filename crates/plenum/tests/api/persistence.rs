//! Data survives a restart of the server on the same data directory.

use plenum_testkit::{ADMIN_PASSWORD, TestApp};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn users_companies_and_tokens_survive_a_restart() {
    let mut app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = app
        .create_user(&admin, "persist", "MeetingOperator", "Passw0rd-123")
        .await;
    let persist = app.sign_in("persist", "Passw0rd-123").await;
    app.post(
        "/api/v1/companies",
        Some(&admin),
        json!({"name": "Kept", "admin": {"username": "kept-admin", "password": "Passw0rd-123"}}),
    )
    .await;
    let before = app.get("/api/v1/user/public/users", Some(&admin)).await;

    app.restart().await;

    let after = app.get("/api/v1/user/public/users", Some(&admin)).await;
    assert_eq!(
        after.status,
        StatusCode::OK,
        "the admin token is still valid"
    );
    assert_eq!(after.body, before.body);
    let info = app
        .post("/api/v1/user/info", Some(&persist), json!({}))
        .await;
    assert_eq!(info.body["user_id"], id.as_str());
    assert_eq!(info.body["role"], json!(["MeetingOperator"]));
    app.sign_in("kept-admin", "Passw0rd-123").await;
    app.sign_in("admin", ADMIN_PASSWORD).await;
    let companies = app.get("/api/v1/companies", Some(&admin)).await;
    assert_eq!(
        companies.body["companies"].as_array().map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn a_signed_out_token_stays_dead_after_a_restart() {
    let mut app = TestApp::spawn().await;
    let token = app.admin_token().await;
    app.post("/api/v1/user/sign_out", Some(&token), json!({}))
        .await;
    app.restart().await;
    let reply = app.post("/api/v1/user/info", Some(&token), json!({})).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

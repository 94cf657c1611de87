//! User administration and the user directory.

use plenum_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::json;

use crate::{assert_frtc_error, keys, sorted};

#[tokio::test]
async fn a_system_admin_creates_users_of_every_role() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for (name, role) in [
        ("nora", "Normal"),
        ("otto", "MeetingOperator"),
        ("sara", "SystemAdmin"),
    ] {
        let reply = app
            .post(
                "/api/v1/user/users",
                Some(&admin),
                json!({
                    "username": name, "real_name": "Real Name", "email": format!("{name}@example.com"),
                    "department": "R&D", "mobile": "+49 30 1234567", "role": role, "password": "Passw0rd-123"
                }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(keys(&reply.body), sorted(&["user_id"]));
        let token = app.sign_in(name, "Passw0rd-123").await;
        let info = app.post("/api/v1/user/info", Some(&token), json!({})).await;
        assert_eq!(info.body["role"], json!([role]));
        assert_eq!(info.body["email"], format!("{name}@example.com"));
        assert_eq!(info.body["department"], "R&D");
        assert_eq!(info.body["mobile"], "+49 30 1234567");
        assert_eq!(info.body["real_name"], "Real Name");
        assert_eq!(info.body["user_id"], reply.body["user_id"]);
    }
}

#[tokio::test]
async fn only_system_admins_create_users() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    app.create_user(&admin, "nora", "Normal", "Passw0rd-123")
        .await;
    app.create_user(&admin, "otto", "MeetingOperator", "Passw0rd-123")
        .await;
    for name in ["nora", "otto"] {
        let token = app.sign_in(name, "Passw0rd-123").await;
        let reply = app
            .post(
                "/api/v1/user/users",
                Some(&token),
                json!({"username": "x1", "password": "Passw0rd-123"}),
            )
            .await;
        assert_frtc_error(&reply, 403, "permission_denied");
        // Even an invalid body gets the permission answer, not a validation one.
        let reply = app
            .post("/api/v1/user/users", Some(&token), json!({"role": 5}))
            .await;
        assert_frtc_error(&reply, 403, "permission_denied");
    }
    let reply = app
        .post(
            "/api/v1/user/users",
            None,
            json!({"username": "x2", "password": "Passw0rd-123"}),
        )
        .await;
    assert_frtc_error(&reply, 401, "token_missing");
    let directory = app
        .get("/api/v1/user/public/users?filter=x", Some(&admin))
        .await;
    assert_eq!(directory.body["total_size"], 0, "nothing was half-created");
}

#[tokio::test]
async fn usernames_are_unique_case_insensitively() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    app.create_user(&admin, "alice", "Normal", "Passw0rd-123")
        .await;
    for name in ["alice", "ALICE", "Admin"] {
        let reply = app
            .post(
                "/api/v1/user/users",
                Some(&admin),
                json!({"username": name, "password": "Passw0rd-123"}),
            )
            .await;
        assert_frtc_error(&reply, 409, "username_taken");
    }
}

#[tokio::test]
async fn bad_user_fields_are_refused_by_name() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cases = [
        (
            json!({"password": "Passw0rd-123"}),
            "missing_field",
            "username",
        ),
        (json!({"username": "u1"}), "missing_field", "secret"),
        (
            json!({"username": 42, "password": "Passw0rd-123"}),
            "invalid_field_type",
            "username",
        ),
        (
            json!({"username": "u1", "password": "Passw0rd-123", "role": "Boss"}),
            "invalid_choice",
            "role",
        ),
        (
            json!({"username": "u1", "password": "Passw0rd-123", "role": ["Normal"]}),
            "invalid_field_type",
            "role",
        ),
        (
            json!({"username": "has space", "password": "Passw0rd-123"}),
            "invalid_username",
            "username",
        ),
        (
            json!({"username": "u1", "password": "short"}),
            "password_too_short",
            "password",
        ),
        (
            json!({"username": "u1", "secret": ""}),
            "empty_value",
            "secret",
        ),
        (
            json!({"username": "u1", "password": "Passw0rd-123", "email": "nope"}),
            "invalid_email",
            "email",
        ),
        (
            json!({"username": "u1", "password": "Passw0rd-123", "mobile": "call me"}),
            "invalid_mobile",
            "mobile",
        ),
    ];
    for (body, code, field) in cases {
        let reply = app
            .post("/api/v1/user/users", Some(&admin), body.clone())
            .await;
        assert_frtc_error(&reply, 400, code);
        let message = reply.body["error"].as_str().unwrap_or("");
        assert!(message.contains(field), "{body} → {message}");
    }
    let reply = app
        .call_raw(
            reqwest::Method::POST,
            "/api/v1/user/users",
            Some(&admin),
            "{\"username\": ",
        )
        .await;
    assert_frtc_error(&reply, 400, "malformed_json");
    let listed = app.get("/api/v1/user/public/users", Some(&admin)).await;
    assert_eq!(
        listed.body["total_size"], 1,
        "only admin exists: {}",
        listed.body
    );
}

#[tokio::test]
async fn max_users_is_enforced_with_a_clear_error() {
    let app = TestApp::spawn_with(|s| s.policy.default_max_users = 3).await;
    let admin = app.admin_token().await;
    app.create_user(&admin, "u1", "Normal", "Passw0rd-123")
        .await;
    app.create_user(&admin, "u2", "Normal", "Passw0rd-123")
        .await;
    let reply = app
        .post(
            "/api/v1/user/users",
            Some(&admin),
            json!({"username": "u3", "password": "Passw0rd-123"}),
        )
        .await;
    assert_frtc_error(&reply, 409, "max_users_reached");
    assert!(reply.body["error"].as_str().unwrap_or("").contains('3'));
    let capacity = app
        .post("/api/v1/system/capacity", Some(&admin), json!({}))
        .await;
    assert_eq!(capacity.body["system"]["current_users"], 3);
    assert_eq!(capacity.body["system"]["max_users"], 3);
}

#[tokio::test]
async fn a_system_admin_updates_users_and_fields_left_out_stay() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = app
        .create_user(&admin, "carol", "Normal", "Passw0rd-123")
        .await;
    let reply = app
        .post(
            &format!("/api/v1/user/users/{id}"),
            Some(&admin),
            json!({"real_name": "Carol C.", "department": "Sales", "role": "MeetingOperator"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body, json!({"user_id": id}));
    let detail = app
        .get(&format!("/api/v1/user/users/{id}"), Some(&admin))
        .await;
    assert_eq!(detail.body["real_name"], "Carol C.");
    assert_eq!(detail.body["department"], "Sales");
    assert_eq!(detail.body["role"], json!(["MeetingOperator"]));
    assert_eq!(detail.body["username"], "carol");
    // The password was not part of the change.
    app.sign_in("carol", "Passw0rd-123").await;
}

#[tokio::test]
async fn a_role_change_takes_effect_on_existing_tokens_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = app
        .create_user(&admin, "dave", "Normal", "Passw0rd-123")
        .await;
    let dave = app.sign_in("dave", "Passw0rd-123").await;
    let try_create = || {
        app.post(
            "/api/v1/user/users",
            Some(&dave),
            json!({"username": "e1", "password": "Passw0rd-123"}),
        )
    };
    assert_frtc_error(&try_create().await, 403, "permission_denied");
    app.post(
        &format!("/api/v1/user/users/{id}"),
        Some(&admin),
        json!({"role": "SystemAdmin"}),
    )
    .await;
    assert_eq!(try_create().await.status, StatusCode::OK);
    let info = app.post("/api/v1/user/info", Some(&dave), json!({})).await;
    assert_eq!(info.body["role"], json!(["SystemAdmin"]));
}

#[tokio::test]
async fn resetting_a_users_secret_ends_their_sessions() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = app
        .create_user(&admin, "erin", "Normal", "Passw0rd-123")
        .await;
    let erin = app.sign_in("erin", "Passw0rd-123").await;
    let reply = app
        .post(
            &format!("/api/v1/user/users/{id}"),
            Some(&admin),
            json!({"password": "Fresh-Passw0rd"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_frtc_error(
        &app.post("/api/v1/user/info", Some(&erin), json!({})).await,
        401,
        "token_invalid",
    );
    app.sign_in("erin", "Fresh-Passw0rd").await;
}

#[tokio::test]
async fn updating_refuses_unknown_users_bad_fields_and_the_last_admin() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let me = app
        .post("/api/v1/user/info", Some(&admin), json!({}))
        .await
        .body["user_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let unknown = "01900000-0000-7000-8000-000000000000";
    for id in [unknown, "not-a-uuid"] {
        let reply = app
            .post(
                &format!("/api/v1/user/users/{id}"),
                Some(&admin),
                json!({"real_name": "X"}),
            )
            .await;
        assert_frtc_error(&reply, 404, "user_not_found");
    }
    let reply = app
        .post(&format!("/api/v1/user/users/{me}"), Some(&admin), json!({}))
        .await;
    assert_frtc_error(&reply, 400, "nothing_to_change");
    let reply = app
        .post(
            &format!("/api/v1/user/users/{me}"),
            Some(&admin),
            json!({"role": "Root"}),
        )
        .await;
    assert_frtc_error(&reply, 400, "invalid_choice");
    let reply = app
        .post(
            &format!("/api/v1/user/users/{me}"),
            Some(&admin),
            json!({"role": "Normal", "real_name": "Changed"}),
        )
        .await;
    assert_frtc_error(&reply, 409, "last_system_admin");
    let info = app.post("/api/v1/user/info", Some(&admin), json!({})).await;
    assert_eq!(
        info.body["real_name"], "Administrator",
        "a refused change applies nothing"
    );
    // With a second SystemAdmin, the first may step down.
    app.create_user(&admin, "second", "SystemAdmin", "Passw0rd-123")
        .await;
    let reply = app
        .post(
            &format!("/api/v1/user/users/{me}"),
            Some(&admin),
            json!({"role": "Normal"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn the_directory_pages_and_filters() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for i in 0..24 {
        app.create_user(&admin, &format!("user{i:02}"), "Normal", "Passw0rd-123")
            .await;
    }
    let page = app
        .get(
            "/api/v1/user/public/users?page_num=1&page_size=10",
            Some(&admin),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        keys(&page.body),
        sorted(&["users", "total_page_num", "total_size"])
    );
    assert_eq!(page.body["total_size"], 25);
    assert_eq!(page.body["total_page_num"], 3);
    let users = page.body["users"].as_array().cloned().unwrap_or_default();
    assert_eq!(users.len(), 10);
    assert_eq!(
        keys(&users[0]),
        sorted(&["user_id", "username", "real_name"])
    );
    assert_eq!(users[0]["username"], "admin");
    let last = app
        .post(
            "/api/v1/user/public/users?page_num=3&page_size=10",
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(last.body["users"].as_array().map(Vec::len), Some(5));
    let beyond = app
        .get(
            "/api/v1/user/public/users?page_num=9&page_size=10",
            Some(&admin),
        )
        .await;
    assert_eq!(beyond.body["users"], json!([]));
    assert_eq!(beyond.body["total_size"], 25);
    // Filter on the username, and on the real name (the kit sets it to the upper-cased name).
    let filtered = app
        .get("/api/v1/user/public/users?filter=user1", Some(&admin))
        .await;
    assert_eq!(filtered.body["total_size"], 10);
    let by_real_name = app
        .get("/api/v1/user/public/users?filter=USER2", Some(&admin))
        .await;
    assert_eq!(by_real_name.body["total_size"], 4);
    let none = app
        .get("/api/v1/user/public/users?filter=%25", Some(&admin))
        .await;
    assert_eq!(none.body["total_size"], 0, "% is a literal character");
}

#[tokio::test]
async fn the_directory_refuses_bad_paging() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for (query, code) in [
        ("page_num=0", "out_of_range"),
        ("page_num=-1", "out_of_range"),
        ("page_size=0", "out_of_range"),
        ("page_size=501", "out_of_range"),
        ("page_num=abc", "invalid_field_type"),
        ("page_size=1.5", "invalid_field_type"),
    ] {
        let reply = app
            .get(&format!("/api/v1/user/public/users?{query}"), Some(&admin))
            .await;
        assert_frtc_error(&reply, 400, code);
    }
}

#[tokio::test]
async fn the_directory_answers_without_a_token_as_documented_unless_turned_off() {
    let app = TestApp::spawn().await;
    let reply = app.post("/api/v1/user/public/users", None, json!({})).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["users"][0]["username"], "admin");
    // A stale token is reported rather than quietly treated as anonymous.
    let reply = app.get("/api/v1/user/public/users", Some("stale")).await;
    assert_frtc_error(&reply, 401, "token_invalid");

    let closed = TestApp::spawn_with(|s| s.policy.public_user_directory = false).await;
    let reply = closed.get("/api/v1/user/public/users", None).await;
    assert_frtc_error(&reply, 401, "token_missing");
}

//! Companies are a hard boundary.

use plenum_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::assert_frtc_error;

async fn create_company(app: &TestApp, operator: &str, name: &str, admin: &str) -> Value {
    let reply = app
        .post(
            "/api/v1/companies",
            Some(operator),
            json!({"name": name, "time_zone": "Europe/Berlin", "max_users": 5,
                   "admin": {"username": admin, "password": "Passw0rd-123", "real_name": "Boss"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

#[tokio::test]
async fn platform_operators_create_companies_with_their_own_admin() {
    let app = TestApp::spawn().await;
    let operator = app.admin_token().await;
    let created = create_company(&app, &operator, "Acme", "acme-admin").await;
    assert_eq!(created["name"], "Acme");
    assert_eq!(created["time_zone"], "Europe/Berlin");
    assert_eq!(created["max_users"], 5);
    assert_eq!(created["is_default"], false);
    let acme = app.sign_in("acme-admin", "Passw0rd-123").await;
    let info = app.post("/api/v1/user/info", Some(&acme), json!({})).await;
    assert_eq!(info.body["user_id"], created["admin_user_id"]);
    assert_eq!(info.body["role"], json!(["SystemAdmin"]));
    let own = app.get("/api/v1/company", Some(&acme)).await;
    assert_eq!(own.body["company_id"], created["company_id"]);

    let list = app.get("/api/v1/companies", Some(&operator)).await;
    let names: Vec<&str> = list.body["companies"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["Default", "Acme"]);
}

#[tokio::test]
async fn a_company_admin_stops_at_the_company_border() {
    let app = TestApp::spawn().await;
    let operator = app.admin_token().await;
    let default_user = app
        .create_user(&operator, "insider", "Normal", "Passw0rd-123")
        .await;
    create_company(&app, &operator, "Acme", "acme-admin").await;
    let acme = app.sign_in("acme-admin", "Passw0rd-123").await;

    // Cannot manage companies.
    assert_frtc_error(
        &app.get("/api/v1/companies", Some(&acme)).await,
        403,
        "permission_denied",
    );
    let reply = app
        .post(
            "/api/v1/companies",
            Some(&acme),
            json!({"name": "Evil", "admin": {"username": "evil", "password": "Passw0rd-123"}}),
        )
        .await;
    assert_frtc_error(&reply, 403, "permission_denied");

    // Cannot see or touch the default company's users.
    let reply = app
        .post(
            &format!("/api/v1/user/users/{default_user}"),
            Some(&acme),
            json!({"real_name": "Owned"}),
        )
        .await;
    assert_frtc_error(&reply, 404, "user_not_found");
    let reply = app
        .get(&format!("/api/v1/user/users/{default_user}"), Some(&acme))
        .await;
    assert_frtc_error(&reply, 404, "user_not_found");
    let directory = app.get("/api/v1/user/public/users", Some(&acme)).await;
    assert_eq!(directory.body["total_size"], 1);
    assert_eq!(directory.body["users"][0]["username"], "acme-admin");
    let directory = app
        .get("/api/v1/user/public/users?filter=insider", Some(&acme))
        .await;
    assert_eq!(directory.body["total_size"], 0);

    // Users it creates are its own, counted against its own licence.
    app.create_user(&acme, "acme-worker", "Normal", "Passw0rd-123")
        .await;
    let capacity = app.get("/api/v1/system/capacity", Some(&acme)).await;
    assert_eq!(capacity.body["system"]["current_users"], 2);
    assert_eq!(capacity.body["system"]["max_users"], 5);
    let theirs = app.get("/api/v1/user/public/users", Some(&operator)).await;
    assert_eq!(
        theirs.body["total_size"], 2,
        "admin and insider only: {}",
        theirs.body
    );
    // The anonymous directory is the default company's.
    let anonymous = app.get("/api/v1/user/public/users?filter=acme", None).await;
    assert_eq!(anonymous.body["total_size"], 0);
}

#[tokio::test]
async fn usernames_stay_unique_across_companies() {
    let app = TestApp::spawn().await;
    let operator = app.admin_token().await;
    app.create_user(&operator, "sam", "Normal", "Passw0rd-123")
        .await;
    let reply = app
        .post(
            "/api/v1/companies",
            Some(&operator),
            json!({"name": "Acme", "admin": {"username": "SAM", "password": "Passw0rd-123"}}),
        )
        .await;
    assert_frtc_error(&reply, 409, "username_taken");
    let list = app.get("/api/v1/companies", Some(&operator)).await;
    assert_eq!(
        list.body["companies"].as_array().map(Vec::len),
        Some(1),
        "no company without its admin"
    );
}

#[tokio::test]
async fn company_requests_are_validated() {
    let app = TestApp::spawn().await;
    let operator = app.admin_token().await;
    create_company(&app, &operator, "Acme", "acme-admin").await;
    let admin = json!({"username": "x-admin", "password": "Passw0rd-123"});
    let cases = [
        (
            json!({"name": "acme", "admin": admin}),
            409,
            "company_name_taken",
        ),
        (
            json!({"name": "Other", "time_zone": "Mars/Base", "admin": admin}),
            400,
            "invalid_time_zone",
        ),
        (
            json!({"name": "Other", "max_users": 0, "admin": admin}),
            400,
            "out_of_range",
        ),
        (json!({"name": "", "admin": admin}), 400, "empty_value"),
        (json!({"name": "Other"}), 400, "missing_field"),
        (
            json!({"name": "Other", "admin": {"username": "y-admin"}}),
            400,
            "missing_field",
        ),
        (
            json!({"name": 7, "admin": admin}),
            400,
            "invalid_field_type",
        ),
    ];
    for (body, status, code) in cases {
        let reply = app.post("/api/v1/companies", Some(&operator), body).await;
        assert_frtc_error(&reply, status, code);
    }
}

#[tokio::test]
async fn company_settings_are_changed_by_its_admins_and_the_licence_by_the_operator() {
    let app = TestApp::spawn().await;
    let operator = app.admin_token().await;
    let acme_id = create_company(&app, &operator, "Acme", "acme-admin").await["company_id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let globex_id = create_company(&app, &operator, "Globex", "globex-admin").await["company_id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let acme = app.sign_in("acme-admin", "Passw0rd-123").await;
    let path = format!("/api/v1/companies/{acme_id}");

    // Its own admin: name and time zone; what is left out stays.
    let changed = app
        .post(
            &path,
            Some(&acme),
            json!({"name": "Acme Works", "time_zone": "Asia/Tokyo"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["name"], "Acme Works");
    assert_eq!(changed.body["time_zone"], "Asia/Tokyo");
    assert_eq!(changed.body["max_users"], 5);
    let own = app.get("/api/v1/company", Some(&acme)).await;
    assert_eq!(own.body["name"], "Acme Works");
    assert_eq!(own.body["time_zone"], "Asia/Tokyo");

    // Not the licence, not another company, not as a member, not nothing, not bad values.
    assert_frtc_error(
        &app.post(&path, Some(&acme), json!({"max_users": 50})).await,
        403,
        "permission_denied",
    );
    assert_frtc_error(
        &app.post(
            &format!("/api/v1/companies/{globex_id}"),
            Some(&acme),
            json!({"name": "Mine"}),
        )
        .await,
        404,
        "company_not_found",
    );
    app.create_user(&acme, "worker", "Normal", "Passw0rd-123")
        .await;
    let worker = app.sign_in("worker", "Passw0rd-123").await;
    assert_frtc_error(
        &app.post(&path, Some(&worker), json!({"name": "Ours"}))
            .await,
        403,
        "permission_denied",
    );
    assert_eq!(app.post(&path, Some(&acme), json!({})).await.status, 400);
    assert_eq!(
        app.post(&path, Some(&acme), json!({"time_zone": "Mars/Olympus"}))
            .await
            .status,
        400
    );
    assert_frtc_error(
        &app.post(&path, Some(&acme), json!({"name": "globex"}))
            .await,
        409,
        "company_name_taken",
    );
    assert_frtc_error(
        &app.post(
            "/api/v1/companies/not-an-id",
            Some(&operator),
            json!({"name": "X"}),
        )
        .await,
        404,
        "company_not_found",
    );

    // The operator: the licence too, never below the users the company has (two).
    let licence = app
        .post(&path, Some(&operator), json!({"max_users": 40}))
        .await;
    assert_eq!(licence.status, StatusCode::OK, "{}", licence.body);
    assert_eq!(licence.body["max_users"], 40);
    assert_eq!(licence.body["name"], "Acme Works");
    let below = app
        .post(&path, Some(&operator), json!({"max_users": 1}))
        .await;
    assert_eq!(below.status, 400, "{}", below.body);
    assert!(
        below.body.to_string().contains("max_users"),
        "{}",
        below.body
    );
    let capacity = app
        .post("/api/v1/system/capacity", Some(&acme), json!({}))
        .await;
    assert_eq!(
        capacity.body["system"]["max_users"], 40,
        "{}",
        capacity.body
    );

    // Each change is in the company's own audit log, with who made it.
    let audit = app
        .get("/api/v1/audit?action=company.update", Some(&acme))
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.body);
    let entries = audit.body["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(entries.len(), 2, "{}", audit.body);
}

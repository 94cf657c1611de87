//! Sign-in, tokens and sign-out.

use std::time::Duration;

use plenum_testkit::{ADMIN_PASSWORD, TestApp};
use reqwest::StatusCode;
use serde_json::json;
use sha1::{Digest, Sha1};

use crate::{assert_frtc_error, keys, sorted};

const SIGNED_IN_FIELDS: &[&str] = &[
    "user_token",
    "user_id",
    "username",
    "email",
    "real_name",
    "department",
    "mobile",
    "password_expired_time",
    "security_level",
    "role",
];

fn frtc_secret(password: &str, salt: &str) -> String {
    let digest = Sha1::digest(format!("{password}{salt}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn sign_in_with_a_password_returns_exactly_the_documented_fields() {
    let app = TestApp::spawn().await;
    let reply = app
        .post(
            "/api/v1/user/sign_in",
            None,
            json!({"username": "admin", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(keys(&reply.body), sorted(SIGNED_IN_FIELDS));
    assert_eq!(reply.body["username"], "admin");
    assert_eq!(reply.body["role"], json!(["SystemAdmin"]));
    assert!(reply.body["password_expired_time"].as_i64().unwrap_or(-1) > 0);
    assert_eq!(reply.body["user_token"].as_str().map(str::len), Some(43));
}

#[tokio::test]
async fn sign_in_with_the_frtc_secret_works_for_the_same_account() {
    let app = TestApp::spawn().await;
    // The default salt is "plenum"; an FRTC client computes sha1(password + salt) itself.
    let secret = frtc_secret(ADMIN_PASSWORD, "plenum");
    let reply = app
        .post(
            "/api/v1/user/sign_in",
            None,
            json!({"username": "admin", "secret": secret}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // A secret computed with another salt is a wrong credential.
    let wrong = frtc_secret(ADMIN_PASSWORD, "other");
    let reply = app
        .post(
            "/api/v1/user/sign_in",
            None,
            json!({"username": "admin", "secret": wrong}),
        )
        .await;
    assert_frtc_error(&reply, 401, "invalid_credentials");
}

#[tokio::test]
async fn a_user_created_with_a_secret_signs_in_with_that_secret_and_the_matching_password() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let secret = frtc_secret("Bob-Passw0rd", "plenum");
    let reply = app
        .post(
            "/api/v1/user/users",
            Some(&admin),
            json!({"username": "bob", "secret": secret, "role": "Normal"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = app
        .post(
            "/api/v1/user/sign_in",
            None,
            json!({"username": "bob", "secret": secret}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["security_level"], "UNKNOWN");
    app.sign_in("bob", "Bob-Passw0rd").await;
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let wrong = app
        .post(
            "/api/v1/user/sign_in",
            None,
            json!({"username": "admin", "password": "nope-nope"}),
        )
        .await;
    let unknown = app
        .post(
            "/api/v1/user/sign_in",
            None,
            json!({"username": "ghost", "password": "nope-nope"}),
        )
        .await;
    assert_frtc_error(&wrong, 401, "invalid_credentials");
    assert_frtc_error(&unknown, 401, "invalid_credentials");
    assert_eq!(wrong.body, unknown.body);
}

#[tokio::test]
async fn usernames_are_matched_case_insensitively() {
    let app = TestApp::spawn().await;
    app.sign_in("ADMIN", ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn repeated_failures_lock_the_account_for_a_while() {
    let app = TestApp::spawn().await;
    let bad = json!({"username": "admin", "password": "wrong-password"});
    for _ in 0..6 {
        let reply = app.post("/api/v1/user/sign_in", None, bad.clone()).await;
        assert_frtc_error(&reply, 401, "invalid_credentials");
    }
    // Locked now: even the right password is refused, with a hint when to retry.
    let good = json!({"username": "admin", "password": ADMIN_PASSWORD});
    let reply = app.post("/api/v1/user/sign_in", None, good.clone()).await;
    assert_frtc_error(&reply, 429, "account_locked");
    let retry: u64 = reply.headers["retry-after"]
        .to_str()
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!((1..=30).contains(&retry), "retry-after {retry}");
    // Once the lock has passed, the right password works and clears the record.
    app.clock.advance(Duration::from_secs(31));
    let reply = app.post("/api/v1/user/sign_in", None, good).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = app.post("/api/v1/user/sign_in", None, bad).await;
    assert_frtc_error(&reply, 401, "invalid_credentials");
}

#[tokio::test]
async fn a_username_without_an_account_locks_alike() {
    let app = TestApp::spawn().await;
    // The same guesses at an account and at a name nobody has are answered alike, lock
    // included: the answers do not tell which usernames exist.
    for name in ["admin", "ghost-user"] {
        let bad = json!({"username": name, "password": "wrong-password"});
        let mut answers = Vec::new();
        for _ in 0..7 {
            let reply = app.post("/api/v1/user/sign_in", None, bad.clone()).await;
            answers.push((reply.status.as_u16(), reply.error_code().to_owned()));
        }
        let mut expected = vec![(401, "invalid_credentials".to_owned()); 6];
        expected.push((429, "account_locked".to_owned()));
        assert_eq!(answers, expected, "{name}");
    }
    app.clock.advance(Duration::from_secs(31));
    let reply = app
        .post(
            "/api/v1/user/sign_in",
            None,
            json!({"username": "ghost-user", "password": "wrong-password"}),
        )
        .await;
    assert_frtc_error(&reply, 401, "invalid_credentials");
}

#[tokio::test]
async fn concurrent_guesses_cannot_escape_the_lockout() {
    let app = TestApp::spawn().await;
    let bad = json!({"username": "admin", "password": "wrong-password"});
    let guesses = (0..12).map(|_| app.post("/api/v1/user/sign_in", None, bad.clone()));
    futures::future::join_all(guesses).await;
    let reply = app
        .post(
            "/api/v1/user/sign_in",
            None,
            json!({"username": "admin", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_frtc_error(&reply, 429, "account_locked");
}

#[tokio::test]
async fn the_token_works_as_bearer_header_and_as_documented_query() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let by_header = app.post("/api/v1/user/info", Some(&token), json!({})).await;
    assert_eq!(by_header.status, StatusCode::OK);
    let by_query = app
        .post(
            &format!("/api/v1/user/info?client_id=abc&token={token}"),
            None,
            json!({}),
        )
        .await;
    assert_eq!(by_query.status, StatusCode::OK);
    assert_eq!(by_query.body, by_header.body);
    assert_eq!(keys(&by_query.body), sorted(SIGNED_IN_FIELDS));
    assert_eq!(by_query.body["user_token"], token.as_str());
    // GET is accepted for this read-only call.
    assert_eq!(
        app.get("/api/v1/user/info", Some(&token)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn missing_garbage_and_expired_tokens_each_have_their_code() {
    let app = TestApp::spawn().await;
    assert_frtc_error(
        &app.post("/api/v1/user/info", None, json!({})).await,
        401,
        "token_missing",
    );
    assert_frtc_error(
        &app.post("/api/v1/user/info", Some("not-a-token"), json!({}))
            .await,
        401,
        "token_invalid",
    );
    assert_frtc_error(
        &app.post("/api/v1/user/info?token=", None, json!({})).await,
        401,
        "token_missing",
    );
    let token = app.admin_token().await;
    app.clock.advance(Duration::from_secs(24 * 3600 + 1));
    assert_frtc_error(
        &app.post("/api/v1/user/info", Some(&token), json!({})).await,
        401,
        "token_expired",
    );
}

#[tokio::test]
async fn the_token_lifetime_is_configurable() {
    let app =
        TestApp::spawn_with(|s| s.policy.token_lifetime = jiff::SignedDuration::from_secs(60))
            .await;
    let token = app.admin_token().await;
    app.clock.advance(Duration::from_secs(59));
    assert_eq!(
        app.post("/api/v1/user/info", Some(&token), json!({}))
            .await
            .status,
        StatusCode::OK
    );
    app.clock.advance(Duration::from_secs(2));
    assert_frtc_error(
        &app.post("/api/v1/user/info", Some(&token), json!({})).await,
        401,
        "token_expired",
    );
}

#[tokio::test]
async fn sign_out_ends_the_token_at_once_and_only_that_token() {
    let app = TestApp::spawn().await;
    let first = app.admin_token().await;
    let second = app.admin_token().await;
    assert_eq!(
        app.post("/api/v1/user/info", Some(&first), json!({}))
            .await
            .status,
        StatusCode::OK
    );
    let reply = app
        .post("/api/v1/user/sign_out", Some(&first), json!({}))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_frtc_error(
        &app.post("/api/v1/user/info", Some(&first), json!({})).await,
        401,
        "token_invalid",
    );
    assert_frtc_error(
        &app.post("/api/v1/user/sign_out", Some(&first), json!({}))
            .await,
        401,
        "token_invalid",
    );
    assert_eq!(
        app.post("/api/v1/user/info", Some(&second), json!({}))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_token_acts_only_as_its_own_user() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let alice_id = app
        .create_user(&admin, "alice", "Normal", "Alice-Passw0rd")
        .await;
    let bob_id = app
        .create_user(&admin, "bob", "Normal", "Bob-Passw0rd")
        .await;
    let alice = app.sign_in("alice", "Alice-Passw0rd").await;
    let info = app.post("/api/v1/user/info", Some(&alice), json!({})).await;
    assert_eq!(info.body["user_id"], alice_id.as_str());
    assert_eq!(info.body["username"], "alice");
    // Alice cannot change or read Bob, nor change Bob's password through her token.
    let reply = app
        .post(
            &format!("/api/v1/user/users/{bob_id}"),
            Some(&alice),
            json!({"real_name": "Hacked"}),
        )
        .await;
    assert_frtc_error(&reply, 403, "permission_denied");
    let reply = app
        .get(&format!("/api/v1/user/users/{bob_id}"), Some(&alice))
        .await;
    assert_frtc_error(&reply, 403, "permission_denied");
    let reply = app
        .post(
            "/api/v1/user/password",
            Some(&alice),
            json!({"password_old": "Bob-Passw0rd", "password_new": "Taken-0ver-99"}),
        )
        .await;
    assert_frtc_error(&reply, 403, "wrong_old_secret");
    app.sign_in("bob", "Bob-Passw0rd").await;
    // She can read herself.
    let me = app
        .get(&format!("/api/v1/user/users/{alice_id}"), Some(&alice))
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["username"], "alice");
}

#[tokio::test]
async fn changing_the_password_keeps_this_token_and_ends_the_others() {
    let app = TestApp::spawn().await;
    let current = app.admin_token().await;
    let other = app.admin_token().await;
    let old = frtc_secret(ADMIN_PASSWORD, "plenum");
    let new = frtc_secret("N3w-Password!", "plenum");

    let reply = app
        .post(
            "/api/v1/user/password",
            Some(&current),
            json!({"secret_old": frtc_secret("not-it", "plenum"), "secret_new": new}),
        )
        .await;
    assert_frtc_error(&reply, 403, "wrong_old_secret");

    let reply = app
        .post(
            "/api/v1/user/password",
            Some(&current),
            json!({"secret_old": old, "secret_new": new}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_eq!(
        app.post("/api/v1/user/info", Some(&current), json!({}))
            .await
            .status,
        StatusCode::OK
    );
    assert_frtc_error(
        &app.post("/api/v1/user/info", Some(&other), json!({})).await,
        401,
        "token_invalid",
    );

    let reply = app
        .post(
            "/api/v1/user/sign_in",
            None,
            json!({"username": "admin", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_frtc_error(&reply, 401, "invalid_credentials");
    app.sign_in("admin", "N3w-Password!").await;
}

#[tokio::test]
async fn password_change_validates_its_fields() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let reply = app
        .post(
            "/api/v1/user/password",
            Some(&token),
            json!({"secret_new": "abc"}),
        )
        .await;
    assert_frtc_error(&reply, 400, "missing_field");
    assert!(
        reply.body["error"]
            .as_str()
            .unwrap_or("")
            .contains("secret_old")
    );
    let reply = app
        .post(
            "/api/v1/user/password",
            Some(&token),
            json!({"secret_old": "abc"}),
        )
        .await;
    assert_frtc_error(&reply, 400, "missing_field");
    let reply = app
        .post(
            "/api/v1/user/password",
            Some(&token),
            json!({"password_old": ADMIN_PASSWORD, "password_new": "short"}),
        )
        .await;
    assert_frtc_error(&reply, 400, "password_too_short");
    let reply = app
        .post(
            "/api/v1/user/password",
            None,
            json!({"secret_old": "a", "secret_new": "b"}),
        )
        .await;
    assert_frtc_error(&reply, 401, "token_missing");
}

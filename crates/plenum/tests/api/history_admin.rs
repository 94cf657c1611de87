//! The FRTC-style extensions for the record of meetings: integration keys
//! (`/api/v1/api_keys`) and import (`/api/v1/history/import`).

use reqwest::Method;
use serde_json::json;

use crate::history_fixture::{
    PASSWORD, acme_jsonl, acme_recordings, create_key, ids, import, recorded,
};
use crate::{assert_frtc_error, keys, sorted};

async fn recording_total(r: &crate::history_fixture::Recorded) -> serde_json::Value {
    acme_recordings(r, "").await.body["meta"]["total_results"].clone()
}

#[tokio::test]
async fn keys_are_shown_once_listed_without_secrets_and_revoked() {
    let r = recorded().await;
    let created = create_key(&r.app, &r.alice, "crm", "api_key").await;
    assert_eq!(
        keys(&created),
        sorted(&[
            "api_key_id",
            "name",
            "kind",
            "prefix",
            "created_time",
            "api_key"
        ])
    );
    let secret = created["api_key"].as_str().unwrap_or_default().to_owned();
    assert!(secret.len() >= 40, "{secret}");
    assert!(secret.starts_with(created["prefix"].as_str().unwrap_or("-")));
    let app = create_key(&r.app, &r.alice, "welink", "huawei_app").await;
    assert_eq!(
        keys(&app),
        sorted(&[
            "api_key_id",
            "name",
            "kind",
            "prefix",
            "created_time",
            "app_id",
            "app_key"
        ])
    );
    // The default kind is a bearer key.
    let default = r
        .app
        .post("/api/v1/api_keys", Some(&r.alice), json!({"name": "plain"}))
        .await;
    assert_eq!(default.body["kind"], "api_key");

    let listed = r.app.get("/api/v1/api_keys", Some(&r.alice)).await;
    assert_eq!(listed.status.as_u16(), 200);
    let text = listed.body.to_string();
    assert!(
        !text.contains(&secret) && !text.contains(app["app_key"].as_str().unwrap_or("-")),
        "{text}"
    );
    let names: Vec<&str> = listed.body["api_keys"]
        .as_array()
        .unwrap_or_else(|| unreachable!())
        .iter()
        .map(|k| k["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        vec!["acme integration", "crm", "welink", "plain"],
        "oldest first, own company only"
    );

    let id = created["api_key_id"].as_str().unwrap_or_default();
    let revoked = r
        .app
        .call(
            Method::DELETE,
            &format!("/api/v1/api_keys/{id}"),
            Some(&r.alice),
            None,
        )
        .await;
    assert_eq!(revoked.status.as_u16(), 200);
    assert!(revoked.body["revoked_time"].is_i64());
    assert!(revoked.body.get("api_key").is_none());
    // Another company's SystemAdmin cannot revoke or see it; unknown ids are 404.
    for who in [&r.gina, &r.alice] {
        let path = if who == &r.gina {
            format!("/api/v1/api_keys/{id}")
        } else {
            "/api/v1/api_keys/01900000-0000-7000-8000-00000000ffff".to_owned()
        };
        assert_frtc_error(
            &r.app.call(Method::DELETE, &path, Some(who), None).await,
            404,
            "api_key_not_found",
        );
    }
    assert_frtc_error(
        &r.app
            .call(
                Method::DELETE,
                "/api/v1/api_keys/nope",
                Some(&r.alice),
                None,
            )
            .await,
        404,
        "api_key_not_found",
    );
    assert!(
        !r.app
            .get("/api/v1/api_keys", Some(&r.gina))
            .await
            .body
            .to_string()
            .contains("crm")
    );
}

#[tokio::test]
async fn keys_need_a_system_admin_and_valid_fields() {
    let r = recorded().await;
    let carol = r.app.sign_in("carol", PASSWORD).await;
    for (method, path) in [
        (Method::POST, "/api/v1/api_keys"),
        (Method::GET, "/api/v1/api_keys"),
        (Method::DELETE, "/api/v1/api_keys/x"),
    ] {
        let body = (method == Method::POST).then(|| json!({"name": "x"}));
        assert_frtc_error(
            &r.app
                .call(method.clone(), path, Some(&carol), body.clone())
                .await,
            403,
            "permission_denied",
        );
        assert_frtc_error(
            &r.app.call(method, path, None, body).await,
            401,
            "token_missing",
        );
    }
    for body in [
        json!({"name": ""}),
        json!({"name": "x".repeat(65)}),
        json!({"name": "ok", "kind": "password"}),
        json!({"name": "a\u{7}b"}),
    ] {
        assert_frtc_error(
            &r.app.post("/api/v1/api_keys", Some(&r.alice), body).await,
            400,
            "invalid_field",
        );
    }
    assert_frtc_error(
        &r.app
            .post("/api/v1/api_keys", Some(&r.alice), json!({}))
            .await,
        400,
        "missing_field",
    );
}

#[tokio::test]
async fn importing_the_same_file_again_changes_nothing() {
    let r = recorded().await;
    let again = import(&r.app, &r.alice, acme_jsonl()).await;
    assert_eq!(again.status.as_u16(), 200, "{}", again.body);
    assert_eq!(
        again.body,
        json!({"rooms": 0, "sessions": 0, "attendance": 0, "recordings": 0, "unchanged": 13})
    );
    assert_eq!(recording_total(&r).await, 4);
    // Records without ids get ids from their line: the same line imports once.
    let line = format!(
        "{}\n",
        json!({"type": "attendance", "session": ids::REVIEW, "display_name": "Late guest", "device_type": "web",
               "media_type": "audio", "joined_at": "2026-06-17T08:40:00Z", "left_at": "2026-06-17T08:44:00Z"})
    );
    let first = import(&r.app, &r.alice, line.clone()).await;
    assert_eq!(first.body["attendance"], 1, "{}", first.body);
    let second = import(&r.app, &r.alice, line).await;
    assert_eq!(
        second.body,
        json!({"rooms": 0, "sessions": 0, "attendance": 0, "recordings": 0, "unchanged": 1})
    );
}

#[tokio::test]
async fn a_bad_line_refuses_the_whole_file_naming_the_line() {
    let r = recorded().await;
    let good = json!({"type": "session", "id": "01900000-0000-7000-8000-000000000777", "meeting_number": "7000009",
                      "name": "Would be new", "owner": "alice", "started_at": "2026-07-01T08:00:00Z"});
    let good_rec = json!({"type": "recording", "session": "01900000-0000-7000-8000-000000000777", "kind": "video",
                          "status": "completed", "codec": "vp8", "size_bytes": 1, "duration_secs": 1,
                          "started_at": "2026-07-01T08:00:00Z"});
    for (bad, reason) in [
        (
            json!({"type": "attendance", "session": "01900000-0000-7000-8000-000000000999", "display_name": "x", "device_type": "web", "media_type": "video", "joined_at": "2026-07-01T08:00:00Z"}),
            "session",
        ),
        (
            json!({"type": "session", "meeting_number": "7000010", "name": "x", "owner": "nobody", "started_at": "2026-07-01T08:00:00Z"}),
            "nobody",
        ),
        (
            json!({"type": "session", "meeting_number": "7000010", "name": "x", "owner": "gina", "started_at": "2026-07-01T08:00:00Z"}),
            "gina",
        ),
        (
            json!({"type": "session", "id": ids::GLOBEX_SESSION, "meeting_number": "7000010", "name": "x", "owner": "alice", "started_at": "2026-07-01T08:00:00Z"}),
            "already in use",
        ),
        (
            json!({"type": "room", "name": "Taken", "meeting_number": "9000001", "owner": "alice"}),
            "meeting_number",
        ),
        (
            json!({"type": "recording", "session": ids::REVIEW, "kind": "smell", "status": "completed", "codec": "x", "size_bytes": 1, "duration_secs": 1, "started_at": "2026-07-01T08:00:00Z"}),
            "kind",
        ),
        (
            json!({"type": "recording", "session": ids::REVIEW, "attendance": ids::BOB_IN_SYNC, "kind": "video", "status": "completed", "codec": "x", "size_bytes": 1, "duration_secs": 1, "started_at": "2026-07-01T08:00:00Z"}),
            "attendance",
        ),
        (json!({"type": "party"}), "unknown variant"),
    ] {
        let text = format!("{good}\n\n{good_rec}\n{bad}\n");
        let reply = import(&r.app, &r.alice, text).await;
        assert_frtc_error(&reply, 400, "import_refused");
        let message = reply.body["error"].as_str().unwrap_or("");
        assert!(message.contains("line 4"), "{message}");
        assert!(message.contains(reason), "{reason}: {message}");
        assert_eq!(
            recording_total(&r).await,
            4,
            "nothing of the file was written ({reason})"
        );
    }
    let broken = import(&r.app, &r.alice, format!("{good}\n{{\"type\":")).await;
    assert_frtc_error(&broken, 400, "import_refused");
    assert!(
        broken.body["error"]
            .as_str()
            .unwrap_or("")
            .contains("line 2")
    );
    let response = r
        .app
        .client
        .post(r.app.url("/api/v1/history/import"))
        .bearer_auth(&r.alice)
        .body(vec![b'{', b'\n', 0xff, 0xfe])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    assert!(
        body["error"]
            .as_str()
            .unwrap_or("")
            .contains("line 2: the file is not UTF-8"),
        "{body}"
    );
}

#[tokio::test]
async fn import_needs_a_system_admin() {
    let r = recorded().await;
    let carol = r.app.sign_in("carol", PASSWORD).await;
    assert_frtc_error(
        &import(&r.app, &carol, acme_jsonl()).await,
        403,
        "permission_denied",
    );
    let anonymous = r
        .app
        .client
        .post(r.app.url("/api/v1/history/import"))
        .body(acme_jsonl())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(anonymous.status().as_u16(), 401);
}

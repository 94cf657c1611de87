//! The OpenAPI document describes every endpoint the server has.

use plenum_testkit::TestApp;
use reqwest::StatusCode;

#[tokio::test]
async fn the_document_lists_every_endpoint_with_its_methods() {
    let app = TestApp::spawn().await;
    let doc = app.get("/api/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.body["openapi"].as_str().unwrap_or("").starts_with("3."));
    let expected = [
        ("/api/v1/user/sign_in", &["post"][..]),
        ("/api/v1/user/sign_out", &["post"]),
        ("/api/v1/user/info", &["get", "post"]),
        ("/api/v1/user/password", &["post"]),
        ("/api/v1/user/public/users", &["get", "post"]),
        ("/api/v1/user/users", &["post"]),
        ("/api/v1/user/users/{user_id}", &["get", "post"]),
        ("/api/v1/system/capacity", &["get", "post"]),
        ("/api/v1/system/version", &["get", "post"]),
        ("/api/v1/companies", &["get", "post"]),
        ("/api/v1/company", &["get", "post"]),
        ("/healthz", &["get"]),
        ("/api/v1/meeting_schedule", &["get", "post"]),
        (
            "/api/v1/meeting_schedule/{reservation_id}",
            &["get", "post", "delete"],
        ),
        ("/api/v1/meeting_schedule/{reservation_id}/ical", &["get"]),
        ("/api/v1/meeting_schedule/recurrence", &["get", "post"]),
        (
            "/api/v1/meeting_schedule/recurrence/{recurrence_gid}",
            &["get", "post", "delete"],
        ),
        (
            "/api/v1/meeting_schedule/recurrence/{recurrence_gid}/ical",
            &["get"],
        ),
        ("/api/v1/user/calendar_feed", &["post"]),
        ("/api/v1/calendar/{feed}", &["get"]),
        ("/api/v1/meeting_room", &["get", "post"]),
        (
            "/api/v1/meeting_room/{meeting_room_id}",
            &["get", "post", "delete"],
        ),
        // Meeting Control and the client protocol.
        ("/api/v1/live", &["get"]),
        ("/api/v1/meeting", &["get", "post"]),
        ("/api/v1/meeting/{meeting_number}", &["get", "post"]),
        ("/api/v1/meeting/{meeting_number}/mute_all", &["post"]),
        ("/api/v1/meeting/{meeting_number}/unmute_all", &["post"]),
        ("/api/v1/meeting/{meeting_number}/mute", &["post"]),
        ("/api/v1/meeting/{meeting_number}/unmute", &["post"]),
        ("/api/v1/meeting/{meeting_number}/request_unmute", &["post"]),
        ("/api/v1/meeting/{meeting_number}/allow_unmute", &["post"]),
        ("/api/v1/meeting/{meeting_number}/stop", &["post"]),
        (
            "/api/v1/meeting/{meeting_number}/overlay",
            &["post", "delete"],
        ),
        (
            "/api/v1/meeting/{meeting_number}/lecturer",
            &["post", "delete"],
        ),
        (
            "/api/v1/meeting/{meeting_number}/disconnect",
            &["post", "delete"],
        ),
        (
            "/api/v1/meeting/{meeting_number}/disconnect_all",
            &["post", "delete"],
        ),
        ("/api/v1/meeting/{meeting_number}/cascading", &["post"]),
        ("/api/v1/meeting/{meeting_number}/participant", &["post"]),
        (
            "/api/v1/meeting/{meeting_number}/recording",
            &["post", "delete"],
        ),
        ("/api/v1/meeting/{meeting_number}/live", &["post", "delete"]),
        (
            "/api/v1/meeting/{meeting_number}/participant/{client_uuid}/pin",
            &["post", "delete"],
        ),
        ("/api/v1/meeting/{meeting_number}/pin", &["post", "delete"]),
        (
            "/api/v1/meeting/{meeting_number}/participant/{client_uuid}/layout_change",
            &["post"],
        ),
        ("/api/v1/meeting/{meeting_number}/lock", &["post", "delete"]),
        ("/api/v1/api_keys", &["get", "post"]),
        ("/api/v1/api_keys/{api_key_id}", &["delete"]),
        ("/api/v1/history/import", &["post"]),
        ("/api/v1/meeting/{meeting_number}/recordings", &["get"]),
        ("/api/v1/history/recordings", &["get"]),
        ("/api/v1/history/recordings/{recording_id}", &["get"]),
    ];
    let paths = doc.body["paths"].as_object().cloned().unwrap_or_default();
    for (path, methods) in expected {
        let item = paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} is not documented"));
        for m in methods {
            assert!(item.get(*m).is_some(), "{m} {path} is not documented");
        }
    }
    assert_eq!(
        paths.len(),
        expected.len(),
        "undocumented extras or missing: {:?}",
        paths.keys()
    );
    assert!(doc.body["components"]["schemas"]["SignedInUser"].is_object());
}

#[tokio::test]
async fn the_docs_page_is_served() {
    let app = TestApp::spawn().await;
    let page = app
        .client
        .get(app.url("/api/docs"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap_or_default();
    assert!(html.contains("/api/openapi.json"));
}

/// The page really renders the document in a browser: headless Chromium loads it, runs its
/// script (which fetches /api/openapi.json), and the rendered DOM lists the endpoints.
#[tokio::test]
async fn the_docs_page_renders_every_endpoint_in_a_browser() {
    let app = TestApp::spawn().await;
    let chromium = std::env::var("PLENUM_CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
    let profile = tempfile::tempdir().unwrap();
    let run = tokio::process::Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(app.url("/api/docs"))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(90), run)
        .await
        .expect("chromium did not finish within 90 s")
        .unwrap_or_else(|e| {
            panic!("cannot run {chromium} (scripts/install-test-deps.sh installs it): {e}")
        });
    let dom = String::from_utf8_lossy(&output.stdout);
    for path in [
        "/api/v1/user/sign_in",
        "/api/v1/system/capacity",
        "/api/v1/companies",
    ] {
        assert!(
            dom.contains(&format!("<span class=\"p\">{path}</span>")),
            "{path} not rendered; stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(
        dom.contains("<h2>User</h2>"),
        "tags are rendered as sections"
    );
    assert!(
        dom.contains("<div id=\"error\"></div>"),
        "the page reported an error"
    );
}

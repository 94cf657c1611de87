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

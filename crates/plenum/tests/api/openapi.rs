//! The OpenAPI document describes every endpoint the server has, and nothing else, and is
//! valid OpenAPI 3.1.
//!
//! How the routes are found: axum keeps no public list of a router's routes, but its `Debug`
//! shows them all, as the router holds them: every route id with its path template, and for
//! each the method router with the methods it has handlers for. [`served_routes`] builds the
//! router exactly as the server does (`plenum_http::router`, the one function `server.rs`
//! serves) and reads that. It cannot miss a route, however it was added (`.route` in a
//! dialect's `routes()`, utoipa-axum's `routes!`, a `merge`), and it fails instead of guessing
//! when it meets what it cannot read: a changed `Debug` format, a service mounted for every
//! method (`route_service`, `nest_service`). (A nested router axum flattens into routes.)

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;

use plenum_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

/// The methods a method router can have a handler for, as axum names its fields.
const METHODS: [&str; 9] = [
    "get", "head", "delete", "options", "patch", "post", "put", "trace", "connect",
];

/// Every `(method, path)` the server's router serves, the path as OpenAPI writes it.
async fn served_routes() -> BTreeSet<(String, String)> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store =
        plenum_store_sqlite::SqliteStore::open(dir.path(), plenum_store_sqlite::Durability::Normal)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    let plenum = plenum_service::Plenum::new(
        Arc::new(store),
        Arc::new(plenum_service::ManualClock::default()),
        plenum_service::Policy::default(),
    );
    let router = plenum_http::router(plenum_http::AppState::new(plenum));
    routes_of(&format!("{router:?}"))
}

/// The routes in a router's `Debug`:
/// `Router { path_router: PathRouter { routes: {RouteId(3): MethodRouter(MethodRouter { get:
/// Route, head: None, .., fallback: .., allow_header: .. }), ..}, node: Node { paths:
/// {RouteId(3): "/api/v1/user/info", ..} } }, fallback_router: PathRouter { .. }, .. }`.
fn routes_of(debug: &str) -> BTreeSet<(String, String)> {
    let cannot = |what: &str| unreadable(what, debug);
    let Some((main, fallback)) = debug.split_once(", fallback_router: PathRouter {") else {
        cannot("no fallback_router")
    };
    let Some(main) = main.strip_prefix("Router { path_router: PathRouter { routes: {") else {
        cannot("no path_router")
    };
    let Some((endpoints, paths)) = main.split_once("}, node: Node { paths: {") else {
        cannot("no node paths")
    };
    let paths = route_paths(paths, debug);
    // The fallback router holds only axum's own catch-all routes.
    let Some((_, fallback_paths)) = fallback.split_once("node: Node { paths: {") else {
        cannot("no fallback node")
    };
    for path in route_paths(fallback_paths, debug).values() {
        assert!(
            path == "/" || path.contains("__private__axum_fallback"),
            "a route in the fallback router: {path}"
        );
    }
    let mut routes = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for chunk in endpoints.split("RouteId(").skip(1) {
        let Some((id, endpoint)) = chunk.split_once("): ") else {
            cannot("a route id")
        };
        let Some(path) = paths.get(id) else {
            cannot("a route id without a path")
        };
        assert!(
            !path.contains("__private__axum_nest_tail_param"),
            "{path}: a nested router or service; list its routes with `.route` (or teach \
             this test to read nested routers)"
        );
        let Some(fields) = endpoint
            .strip_prefix("MethodRouter(MethodRouter { ")
            .and_then(|rest| rest.split_once(", fallback: "))
            .map(|(fields, _)| fields)
        else {
            panic!(
                "{path} is served for every method by a service, not by a method router: \
                 document it and teach this test which methods it takes ({endpoint})"
            )
        };
        let fields: BTreeMap<&str, &str> = fields
            .split(", ")
            .filter_map(|field| field.split_once(": "))
            .collect();
        if fields.keys().copied().collect::<BTreeSet<_>>() != METHODS.into_iter().collect() {
            cannot("a method router's fields")
        }
        let openapi_path = openapi_template(path);
        for (method, handler) in fields {
            if handler != "None" {
                routes.insert((method.to_owned(), openapi_path.clone()));
            }
        }
        seen.insert(id);
    }
    if seen.len() != paths.len() {
        cannot("route ids without endpoints")
    }
    if !routes.contains(&("get".to_owned(), "/healthz".to_owned())) {
        cannot("GET /healthz not found")
    }
    routes
}

/// The walk cannot read `debug`: it fails rather than guess.
fn unreadable(what: &str, debug: &str) -> ! {
    panic!(
        "cannot read the router's routes from its Debug ({what}); axum's format changed? \
         Teach `routes_of` the new one. The Debug was:\n{debug}"
    )
}

/// `RouteId(3): "/path", ...}` -> id -> path.
fn route_paths(text: &str, debug: &str) -> BTreeMap<String, String> {
    let cannot = |what: &str| unreadable(what, debug);
    let mut paths = BTreeMap::new();
    for chunk in text.split("RouteId(").skip(1) {
        let Some((id, rest)) = chunk.split_once("): \"") else {
            cannot("a path")
        };
        let mut path = String::new();
        let mut chars = rest.chars();
        loop {
            match chars.next() {
                Some('"') => break,
                Some('\\') => match chars.next() {
                    Some(c) => path.push(c),
                    None => cannot("a path's escape"),
                },
                Some(c) => path.push(c),
                None => cannot("an unterminated path"),
            }
        }
        paths.insert(id.to_owned(), path);
    }
    paths
}

/// An axum path template as OpenAPI writes it: `{id}` stays, a wildcard `{*rest}` is `{rest}`.
fn openapi_template(path: &str) -> String {
    path.replace("{*", "{")
}

/// Every `(method, path)` the document describes.
fn documented_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().cloned().unwrap_or_default() {
        for method in [
            "get", "head", "delete", "options", "patch", "post", "put", "trace",
        ] {
            if item.get(method).is_some() {
                routes.insert((method.to_owned(), path.clone()));
            }
        }
    }
    routes
}

async fn document() -> Value {
    let app = TestApp::spawn().await;
    let doc = app.get("/api/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    doc.body
}

#[tokio::test]
async fn every_route_the_router_serves_is_documented_and_nothing_else() {
    let served = served_routes().await;
    let doc = document().await;
    let documented = documented_routes(&doc);
    let undocumented: Vec<String> = served
        .difference(&documented)
        .map(|(m, p)| format!("{} {p}", m.to_uppercase()))
        .collect();
    // axum answers HEAD wherever it has a GET handler: a documented HEAD needs only the GET.
    let not_served: Vec<String> = documented
        .difference(&served)
        .filter(|(m, p)| !(m == "head" && served.contains(&("get".to_owned(), p.clone()))))
        .map(|(m, p)| format!("{} {p}", m.to_uppercase()))
        .collect();
    assert!(
        undocumented.is_empty() && not_served.is_empty(),
        "routes the router serves that /api/openapi.json lacks: {undocumented:#?}\n\
         routes the document describes that the router does not serve: {not_served:#?}"
    );
    // Sanity: the walk saw every kind of route.
    for (method, path) in [
        ("post", "/api/v1/user/sign_in"),
        ("get", "/api/v1/live"),
        ("post", "/ar/corporation/openapi/rtc/meeting/info/page"),
        ("get", "/api/v1/video-conference.list"),
        ("delete", "/v2/room_recordings/{room_recording_id}"),
        (
            "get",
            "/v1/mmc/management/conferences/history/confAttendeeRecord",
        ),
        ("get", "/join/{meeting_number}"),
        ("patch", "/live/{live_id}/whep/{viewer}"),
        ("get", "/files/recordings/{company}/{session}/{file}"),
        ("get", "/api/openapi.json"),
    ] {
        assert!(
            served.contains(&(method.to_owned(), path.to_owned())),
            "{method} {path} not found in the router"
        );
    }
    assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3.1"));
    assert!(doc["components"]["schemas"]["SignedInUser"].is_object());
}

#[test]
fn the_route_walk_reads_axums_debug_and_refuses_what_it_cannot_read() {
    use axum::handler::HandlerWithoutStateExt as _;
    use axum::routing::{get, post};

    let router: axum::Router = axum::Router::new()
        .route("/a/{id}", get(|| async {}).delete(|| async {}))
        .route("/files/{*rest}", post(|| async {}))
        .route("/healthz", get(|| async {}));
    let expected: BTreeSet<(String, String)> = [
        ("get", "/a/{id}"),
        ("delete", "/a/{id}"),
        ("post", "/files/{rest}"),
        ("get", "/healthz"),
    ]
    .into_iter()
    .map(|(m, p)| (m.to_owned(), p.to_owned()))
    .collect();
    assert_eq!(routes_of(&format!("{router:?}")), expected);
    // A service mounted for every method (`route_service`, `nest_service`) is not guessed at.
    let service = format!(
        "{:?}",
        router
            .clone()
            .route_service("/svc", (|| async {}).into_service())
    );
    assert!(std::panic::catch_unwind(|| routes_of(&service)).is_err());
    let nested = format!(
        "{:?}",
        router
            .clone()
            .nest("/n", axum::Router::new().route("/x", get(|| async {})))
    );
    // axum flattens a nested router into routes of its own: they are read as such.
    let routes = routes_of(&nested);
    assert!(
        routes.contains(&("get".to_owned(), "/n/x".to_owned())),
        "{routes:?}"
    );
    // Not a router's Debug at all.
    assert!(std::panic::catch_unwind(|| routes_of("Router {}")).is_err());
}

/// Which schemes each surface authenticates with, and the schemas of its error bodies.
struct Surface {
    name: &'static str,
    /// The tag of its operations (FRTC's have several).
    tag: Option<&'static str>,
    owns: fn(&str) -> bool,
    schemes: &'static [&'static str],
    errors: &'static [&'static str],
}

const SURFACES: &[Surface] = &[
    Surface {
        name: "Rokid",
        tag: Some("Rokid"),
        owns: |p| p.starts_with("/ar/corporation/openapi/"),
        schemes: &["api_key"],
        errors: &["RokidError"],
    },
    Surface {
        name: "Telnyx",
        tag: Some("Telnyx"),
        owns: |p| p.starts_with("/v2/room_recordings"),
        schemes: &["api_key"],
        errors: &["TelnyxErrors"],
    },
    Surface {
        name: "Huawei",
        tag: Some("Huawei"),
        owns: |p| {
            ["/v1/usg/", "/v2/usg/", "/v1/mmc/"]
                .iter()
                .any(|x| p.starts_with(x))
        },
        schemes: &["huawei_access_token", "huawei_account", "huawei_app"],
        errors: &["HuaweiError"],
    },
    Surface {
        name: "Rocket.Chat",
        tag: Some("Rocket.Chat"),
        owns: |p| p == "/api/v1/login" || p.starts_with("/api/v1/video-conference"),
        schemes: &["rocketchat_user_id", "rocketchat_auth_token"],
        errors: &["RocketChatStatusError", "RocketChatFailure"],
    },
    Surface {
        name: "FRTC",
        tag: None,
        owns: |p| p.starts_with("/api/v1/"),
        schemes: &["token", "token_query", "session_cookie", "csrf_token"],
        errors: &["ErrorBody"],
    },
];

#[tokio::test]
async fn each_surface_documents_its_own_auth_schemes_and_error_shape() {
    let doc = document().await;
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut checked = BTreeMap::<&str, usize>::new();
    for (path, item) in doc["paths"].as_object().cloned().unwrap_or_default() {
        let Some(surface) = SURFACES.iter().find(|s| (s.owns)(&path)) else {
            continue;
        };
        for (method, op) in item.as_object().cloned().unwrap_or_default() {
            let at = format!("{} {path}", method.to_uppercase());
            *checked.entry(surface.name).or_default() += 1;
            if let Some(tag) = surface.tag {
                assert_eq!(op["tags"][0], tag, "{at}: tag");
            }
            let requirements = op["security"].as_array().cloned().unwrap_or_default();
            for requirement in &requirements {
                for name in requirement.as_object().cloned().unwrap_or_default().keys() {
                    assert!(
                        surface.schemes.contains(&name.as_str()) && schemes.contains_key(name),
                        "{at}: security {name} is not one of {}'s {:?}",
                        surface.name,
                        surface.schemes
                    );
                }
            }
            if surface.name == "FRTC" && requirements.iter().any(|r| r.get("token").is_some()) {
                assert!(
                    requirements.iter().any(|r| r.get("token_query").is_some()),
                    "{at}: takes the token in the header but not as ?token="
                );
            }
            for (status, response) in op["responses"].as_object().cloned().unwrap_or_default() {
                if !(status.starts_with('4') || status.starts_with('5')) {
                    continue;
                }
                for (_, content) in response["content"].as_object().cloned().unwrap_or_default() {
                    let schema = content["schema"]["$ref"].as_str().unwrap_or("");
                    let name = schema.trim_start_matches("#/components/schemas/");
                    assert!(
                        surface.errors.contains(&name),
                        "{at} {status}: error body {schema:?} is not {}'s {:?}",
                        surface.name,
                        surface.errors
                    );
                }
            }
        }
    }
    for surface in SURFACES {
        assert!(
            checked.get(surface.name).copied().unwrap_or(0) >= 2,
            "{}: too few operations documented: {checked:?}",
            surface.name
        );
    }
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python with the test packages (`scripts/install-test-deps.sh`).
fn python() -> PathBuf {
    let python = std::env::var_os("PLENUM_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv-test/bin/python"));
    assert!(
        python.exists(),
        "{} not found: the document is validated with openapi-spec-validator. Run \
         scripts/install-test-deps.sh (or set PLENUM_TEST_PYTHON to a python that has it).",
        python.display()
    );
    python
}

/// `scripts/openapi_check.py` with `args` on `input`: its exit status and what it printed.
fn openapi_check(args: &[&str], input: &Value) -> (bool, String) {
    let mut child = Command::new(python())
        .arg(workspace().join("scripts/openapi_check.py"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run the validator: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_1() {
    let doc = document().await;
    let (valid, report) = tokio::task::spawn_blocking(move || openapi_check(&[], &doc))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        valid,
        "/api/openapi.json is not valid OpenAPI 3.1:\n{report}"
    );
    // The validator does refuse an invalid document (two operations with one id).
    let mut broken = document().await;
    broken["paths"]["/healthz"]["get"]["operationId"] = "sign_in".into();
    broken["paths"]["/api/v1/user/sign_in"]["post"]["operationId"] = "sign_in".into();
    let (valid, _) = tokio::task::spawn_blocking(move || openapi_check(&[], &broken))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !valid,
        "the validator accepted a document with a duplicate operation id"
    );
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

/// Answers of the vendor surfaces, gathered for [`openapi_check`]'s `--responses`.
#[derive(Default)]
struct Samples(Vec<Value>);

impl Samples {
    /// Sends the request and keeps its answer, which must have `status`.
    async fn take(
        &mut self,
        app: &TestApp,
        (method, template, path): (reqwest::Method, &str, &str),
        headers: &[(&str, &str)],
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let reply = crate::history_fixture::send(app, method.clone(), path, headers, body).await;
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{method} {path}: {}",
            reply.body
        );
        self.0.push(serde_json::json!({
            "method": method.as_str(),
            "path": template,
            "status": status,
            "body": reply.body,
        }));
        reply.body
    }
}

/// The vendor surfaces answer as the document says they do: success and error bodies of
/// each, from a real server with a real record, checked against the documented schemas.
#[tokio::test]
async fn the_vendor_surfaces_answer_in_the_shapes_the_document_gives() {
    use crate::history_fixture::{PASSWORD, ids, recorded_with};
    use base64::Engine as _;
    use reqwest::Method;

    let r = recorded_with(|s| s.rocketchat_rate_limit = 3).await;
    let app = &r.app;
    let key = format!("Bearer {}", r.acme_key);
    let with_key: &[(&str, &str)] = &[("authorization", &key)];
    let mut s = Samples::default();

    // Rokid.
    let page = "/ar/corporation/openapi/rtc/meeting/info/page";
    let post_page = (Method::POST, page, page);
    let acme = serde_json::json!({"companyId": r.acme_id});
    s.take(app, post_page.clone(), with_key, Some(acme.clone()), 200)
        .await;
    s.take(app, post_page.clone(), &[], Some(acme), 401).await;
    let globex = serde_json::json!({"companyId": r.globex_id});
    s.take(app, post_page.clone(), with_key, Some(globex), 403)
        .await;
    let bad = serde_json::json!({"companyId": r.acme_id, "pageSize": "many"});
    s.take(app, post_page, with_key, Some(bad), 400).await;
    let list = "/ar/corporation/openapi/rtc/meeting/record/list";
    for (id, status) in [
        (ids::REVIEW, 200),
        (ids::SYNC, 200),
        (ids::GLOBEX_SESSION, 404),
    ] {
        let path = format!("{list}?id={id}");
        s.take(app, (Method::GET, list, &path), with_key, None, status)
            .await;
    }
    s.take(app, (Method::GET, list, list), with_key, None, 400)
        .await;

    // FRTC: the meeting history (Plenum extension), which the web app reads.
    let alice = format!("Bearer {}", r.alice);
    let as_alice: &[(&str, &str)] = &[("authorization", &alice)];
    let meetings = "/api/v1/history/meetings";
    s.take(app, (Method::GET, meetings, meetings), as_alice, None, 200)
        .await;
    s.take(app, (Method::GET, meetings, meetings), &[], None, 401)
        .await;
    let path = format!("{meetings}?page_size=51");
    s.take(app, (Method::GET, meetings, &path), as_alice, None, 400)
        .await;
    let meeting = "/api/v1/history/meetings/{session_id}";
    for (id, status) in [(ids::REVIEW, 200), (ids::GLOBEX_SESSION, 404)] {
        let path = format!("{meetings}/{id}");
        s.take(app, (Method::GET, meeting, &path), as_alice, None, status)
            .await;
    }

    // Telnyx.
    let recordings = "/v2/room_recordings";
    let one = "/v2/room_recordings/{room_recording_id}";
    s.take(
        app,
        (Method::GET, recordings, recordings),
        with_key,
        None,
        200,
    )
    .await;
    s.take(app, (Method::GET, recordings, recordings), &[], None, 401)
        .await;
    let path = format!("{recordings}?filter[status]=lost");
    s.take(app, (Method::GET, recordings, &path), with_key, None, 400)
        .await;
    for (id, status) in [
        (ids::REC_REVIEW, 200),
        (ids::REC_SYNC, 200),
        (ids::GLOBEX_RECORDING, 404),
    ] {
        let path = format!("{recordings}/{id}");
        s.take(app, (Method::GET, one, &path), with_key, None, status)
            .await;
    }
    let path = format!("{recordings}?filter[session_id]={}", ids::LAB_TEST);
    s.take(
        app,
        (Method::DELETE, recordings, &path),
        with_key,
        None,
        200,
    )
    .await;
    let path = format!("{recordings}/{}", ids::REC_SYNC);
    s.take(app, (Method::DELETE, one, &path), with_key, None, 204)
        .await;

    // Rocket.Chat.
    let login = "/api/v1/login";
    let me = s
        .take(
            app,
            (Method::POST, login, login),
            &[],
            Some(serde_json::json!({"username": "alice", "password": PASSWORD})),
            200,
        )
        .await;
    let wrong = serde_json::json!({"user": "alice", "password": "Wrong-Passw0rd"});
    s.take(app, (Method::POST, login, login), &[], Some(wrong), 401)
        .await;
    let user_id = me["data"]["userId"].as_str().unwrap_or_default().to_owned();
    let token = me["data"]["authToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let logged_in: &[(&str, &str)] = &[("x-user-id", &user_id), ("x-auth-token", &token)];
    let calls = "/api/v1/video-conference.list";
    let path = format!("{calls}?roomId={}", ids::BOARD);
    s.take(app, (Method::GET, calls, &path), logged_in, None, 200)
        .await;
    s.take(app, (Method::GET, calls, &path), &[], None, 401)
        .await;
    s.take(app, (Method::GET, calls, calls), logged_in, None, 400)
        .await;
    // The limit is 3 a second and the test clock stands still: the fourth is refused.
    s.take(app, (Method::GET, calls, &path), logged_in, None, 200)
        .await;
    s.take(app, (Method::GET, calls, &path), logged_in, None, 429)
        .await;

    // Huawei.
    let account = "/v1/usg/acs/auth/account";
    let basic = |user: &str, password: &str| {
        let pair = format!("{user}:{password}");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    };
    let alice = basic("alice", PASSWORD);
    let body = serde_json::json!({"account": "alice", "clientType": 72});
    let signed = s
        .take(
            app,
            (Method::POST, account, account),
            &[("authorization", &alice)],
            Some(body),
            200,
        )
        .await;
    let wrong = basic("alice", "Wrong-Passw0rd");
    let en: (&str, &str) = ("accept-language", "en-US");
    s.take(
        app,
        (Method::POST, account, account),
        &[("authorization", &wrong), en],
        None,
        401,
    )
    .await;
    s.take(app, (Method::POST, account, account), &[], None, 400)
        .await;
    let bob = basic("bob", PASSWORD);
    let normal = s
        .take(
            app,
            (Method::POST, account, account),
            &[("authorization", &bob)],
            None,
            200,
        )
        .await;
    let appauth = "/v2/usg/acs/auth/appauth";
    s.take(
        app,
        (Method::POST, appauth, appauth),
        &[],
        Some(serde_json::json!({})),
        400,
    )
    .await;
    let records = "/v1/mmc/management/conferences/history/confAttendeeRecord";
    let token = signed["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let with_token: &[(&str, &str)] = &[("x-access-token", &token)];
    for (id, status) in [
        (ids::REVIEW, 200),
        (ids::SYNC, 200),
        (ids::GLOBEX_SESSION, 400),
    ] {
        let path = format!("{records}?confUUID={id}");
        s.take(app, (Method::GET, records, &path), with_token, None, status)
            .await;
    }
    let path = format!("{records}?confUUID={}", ids::REVIEW);
    s.take(app, (Method::GET, records, &path), &[], None, 401)
        .await;
    let bob_token = normal["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    s.take(
        app,
        (Method::GET, records, &path),
        &[("x-access-token", &bob_token)],
        None,
        403,
    )
    .await;
    s.take(app, (Method::GET, records, records), with_token, None, 400)
        .await;

    let input = serde_json::json!({"document": document().await, "samples": s.0});
    let (valid, report) =
        tokio::task::spawn_blocking(move || openapi_check(&["--responses"], &input))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(valid, "answers that do not match the document:\n{report}");
}

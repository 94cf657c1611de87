//! `GET /metrics` (docs/operations.md): the Prometheus text format as the Prometheus project's
//! own Python parser reads it (`prometheus_client`, installed by
//! scripts/install-test-deps.sh; scripts/prometheus_parse.py), counters that move with real
//! requests and joins, the bearer token, `metrics.listen`, and no secret in what it shows.
//!
//! Every server of this test process records into one recorder (the `metrics` facade has one
//! per process), so these tests check increases, never exact values, of what other tests move
//! too. The Python comes from `PLENUM_TEST_PYTHON`, else `<workspace>/.venv-test`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use plenum_metrics::Kind;
use plenum_testkit::live::LiveClient;
use plenum_testkit::{TestApp, TestBackend};
use serde_json::{Value, json};

use crate::{assert_frtc_error, s};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> PathBuf {
    let python = std::env::var_os("PLENUM_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv-test/bin/python"));
    assert!(
        python.exists(),
        "{} not found: the metrics tests read /metrics with Python's prometheus_client. Run \
         scripts/install-test-deps.sh (or set PLENUM_TEST_PYTHON to a python that has \
         prometheus-client).",
        python.display()
    );
    python
}

/// One sample as the parser read it.
#[derive(Debug, Clone)]
struct Sample {
    family: String,
    kind: String,
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A scrape: the text and its samples.
#[derive(Debug)]
struct Scrape {
    text: String,
    samples: Vec<Sample>,
}

impl Scrape {
    /// The sum of the samples named `name` whose labels include `labels` (0 if none).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).is_some_and(|l| l == v))
            })
            .map(|s| s.value)
            .sum()
    }

    /// Whether a sample named `name` has these labels.
    fn has(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.samples.iter().any(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).is_some_and(|l| l == v))
        })
    }

    /// Every value of label `label` of samples named `name`.
    fn label_values(&self, name: &str, label: &str) -> Vec<String> {
        let mut values: Vec<String> = self
            .samples
            .iter()
            .filter(|s| s.name == name)
            .filter_map(|s| s.labels.get(label).cloned())
            .collect();
        values.sort();
        values.dedup();
        values
    }
}

/// Parses a scrape with scripts/prometheus_parse.py (which fails on anything that is not the
/// text format).
fn parse(text: &str) -> Vec<Sample> {
    let python = python();
    let mut child = Command::new(&python)
        .arg(workspace().join("scripts/prometheus_parse.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .unwrap_or_else(|e| panic!("writing the scrape: {e}"));
    }
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for the parser: {e}"));
    assert!(
        output.status.success(),
        "prometheus_client cannot parse /metrics: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    let samples: Vec<Value> = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("the parser's output is not JSON: {e}"));
    samples
        .into_iter()
        .map(|v| Sample {
            family: s(&v, "family"),
            kind: s(&v, "type"),
            name: s(&v, "name"),
            labels: serde_json::from_value(v["labels"].clone())
                .unwrap_or_else(|e| panic!("labels of {v}: {e}")),
            value: v["value"].as_f64().unwrap_or(f64::NAN),
        })
        .collect()
}

/// `GET url` with an optional bearer token: status, Content-Type, body.
async fn get(app: &TestApp, url: &str, token: Option<&str>) -> (u16, String, String) {
    let mut request = app.client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response
        .text()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    (status, content_type, body)
}

/// Scrapes `url` (with `token`), asserting a 200 in the text format, and parses it.
async fn scrape_at(app: &TestApp, url: &str, token: Option<&str>) -> Scrape {
    let (status, content_type, text) = get(app, url, token).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let samples = parse(&text);
    Scrape { text, samples }
}

async fn scrape(app: &TestApp) -> Scrape {
    scrape_at(app, &app.url("/metrics"), None).await
}

const REQUESTS: &str = "plenum_http_request_duration_seconds";

#[tokio::test]
async fn metrics_are_prometheus_text_and_count_requests_by_route_template() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user_id = app
        .create_user(&admin, "ursula", "Normal", "Passw0rd-123")
        .await;
    let before = scrape(&app).await;

    for _ in 0..3 {
        assert_eq!(
            app.post("/api/v1/user/info", Some(&admin), json!({}))
                .await
                .status,
            200
        );
    }
    let detail = format!("/api/v1/user/users/{user_id}");
    assert_eq!(app.get(&detail, Some(&admin)).await.status, 200);
    assert_frtc_error(&app.get("/no/such/endpoint", None).await, 404, "not_found");
    let after = scrape(&app).await;

    // Counted by route template, method and status class, in a histogram.
    let info = [
        ("route", "/api/v1/user/info"),
        ("method", "POST"),
        ("status", "2xx"),
    ];
    let count = format!("{REQUESTS}_count");
    assert!(
        after.value(&count, &info) >= before.value(&count, &info) + 3.0,
        "{}",
        after.text
    );
    let inf = [info.as_slice(), &[("le", "+Inf")]].concat();
    let bucket = format!("{REQUESTS}_bucket");
    assert!(after.value(&bucket, &inf) >= before.value(&bucket, &inf) + 3.0);
    assert!(after.value(&format!("{REQUESTS}_sum"), &info) > 0.0);
    // A path with an id is counted under its template; one no route matched, as "unmatched".
    let template = [
        ("route", "/api/v1/user/users/{user_id}"),
        ("method", "GET"),
        ("status", "2xx"),
    ];
    assert!(after.value(&count, &template) >= before.value(&count, &template) + 1.0);
    let unmatched = [("route", "unmatched"), ("method", "GET"), ("status", "4xx")];
    assert!(after.value(&count, &unmatched) >= before.value(&count, &unmatched) + 1.0);
    assert!(!after.text.contains(&user_id));
    assert!(!after.text.contains("/no/such/endpoint"));
    for route in after.label_values(&count, "route") {
        assert!(route == "unmatched" || route.starts_with('/'), "{route}");
    }
    for class in after.label_values(&count, "status") {
        assert!(["1xx", "2xx", "3xx", "4xx", "5xx"].contains(&class.as_str()));
    }

    // Every family is one plenum-metrics defines, of its kind, with its HELP; the ones with
    // fixed labels are there before their first event.
    for sample in &after.samples {
        let metric = plenum_metrics::ALL
            .iter()
            .find(|m| m.name.trim_end_matches("_total") == sample.family)
            .unwrap_or_else(|| panic!("{} is not in plenum_metrics::ALL", sample.family));
        let kind = match metric.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        assert_eq!(sample.kind, kind, "{}", sample.name);
        assert!(
            after.text.contains(&format!("# HELP {} ", metric.name)),
            "{}",
            metric.name
        );
    }
    for present in [
        "plenum_build_info",
        "plenum_meetings_running",
        "plenum_participants",
        "plenum_media_packets_total",
        "plenum_media_packets_dropped_total",
        "plenum_recordings_in_progress",
        "plenum_webhook_attempts_total",
        "plenum_cache_lookups_total",
        "plenum_relays_total",
    ] {
        assert!(
            after.has(present, &[]),
            "{present} missing:\n{}",
            after.text
        );
    }
}

#[tokio::test]
async fn joins_move_the_meeting_gauges_the_refusals_and_the_journal() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let number = "908172635401";
    crate::room(&app, &admin, number).await;
    let before = scrape(&app).await;

    let mut refused = LiveClient::connect(&app, None).await;
    let answer = refused
        .join(json!({"meeting_number": number, "password": "9999", "display_name": "Eve"}))
        .await;
    assert_eq!(answer["reason"], "wrong_password", "{answer}");
    let mut ann = LiveClient::connect(&app, None).await;
    ann.join_ok(number, Some("1234"), "Ann").await;
    let mut bob = LiveClient::connect(&app, None).await;
    bob.join_ok(number, Some("1234"), "Bob").await;
    let during = scrape(&app).await;

    assert!(during.value("plenum_meetings_running", &[]) >= 1.0);
    assert!(during.value("plenum_participants", &[]) >= 2.0);
    let joined = [("outcome", "joined")];
    assert!(
        during.value("plenum_joins_total", &joined)
            >= before.value("plenum_joins_total", &joined) + 2.0
    );
    let wrong = [("outcome", "wrong_password")];
    assert!(
        during.value("plenum_joins_total", &wrong)
            >= before.value("plenum_joins_total", &wrong) + 1.0
    );
    // The joins were made durable by SQLite's journal; PostgreSQL has none, and its series
    // stay still (docs/operations.md).
    let commits = "plenum_journal_commit_duration_seconds_count";
    let writes = "plenum_journal_writes_total";
    let on_sqlite = TestBackend::chosen() == TestBackend::Sqlite;
    if on_sqlite {
        assert!(during.value(commits, &[]) >= before.value(commits, &[]) + 1.0);
        assert!(during.value(writes, &[]) >= before.value(writes, &[]) + 3.0);
    } else {
        assert_eq!(during.value(commits, &[]), before.value(commits, &[]));
        assert_eq!(during.value(writes, &[]), before.value(writes, &[]));
    }
    // No meeting number, no participant id in any label.
    assert!(!during.text.contains(number));
    assert!(!during.text.contains(ann.id()));

    // The history index (plenum-store-memory, on both backends): the first list builds it,
    // the second finds it.
    let hits = [("cache", "recording_index"), ("result", "hit")];
    for _ in 0..2 {
        let reply = app.get("/api/v1/history/recordings", Some(&admin)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let after = scrape(&app).await;
    let lookups = "plenum_cache_lookups_total";
    assert!(
        after.value(lookups, &hits) >= before.value(lookups, &hits) + 1.0,
        "{}",
        after.text
    );
}

#[tokio::test]
async fn a_metrics_token_is_required_when_configured() {
    let token = "metrics-Token-4c1d0e";
    let app = TestApp::spawn_with(|s| s.metrics.token = Some(token.to_owned())).await;
    let url = app.url("/metrics");
    for wrong in [None, Some("metrics-Token-4c1d0f"), Some("")] {
        let (status, _, body) = get(&app, &url, wrong).await;
        assert_eq!(status, 401, "{wrong:?}: {body}");
    }
    let response = app
        .client
        .get(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .map(|v| v.as_bytes()),
        Some(&b"Bearer realm=\"metrics\""[..])
    );
    let scrape = scrape_at(&app, &url, Some(token)).await;
    assert!(scrape.has("plenum_build_info", &[]));
    assert!(!scrape.text.contains(token));
}

#[tokio::test]
async fn metrics_listen_serves_metrics_on_a_port_of_its_own() {
    let app = TestApp::spawn_with(|s| {
        s.metrics.listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await;
    let addr = app
        .metrics_addr()
        .unwrap_or_else(|| panic!("no metrics listener"));
    assert_ne!(app.url(""), format!("http://{addr}"));
    // Not on the main listener then.
    assert_frtc_error(&app.get("/metrics", None).await, 404, "not_found");
    let healthz = [("route", "/healthz"), ("status", "2xx")];
    let url = format!("http://{addr}/metrics");
    let before = scrape_at(&app, &url, None).await;
    assert_eq!(app.get("/healthz", None).await.status, 200);
    let after = scrape_at(&app, &url, None).await;
    let count = format!("{REQUESTS}_count");
    assert!(after.value(&count, &healthz) >= before.value(&count, &healthz) + 1.0);
}

#[tokio::test]
async fn metrics_never_show_tokens_passwords_secrets_or_meeting_passwords() {
    let metrics_token = "Metrics-Secret-7f3a9c2e51";
    let app = TestApp::spawn_with(|s| s.metrics.token = Some(metrics_token.to_owned())).await;
    let admin = app.admin_token().await;
    let password = "Mallory-Passw0rd-5e8d1b";
    let mallory_id = app.create_user(&admin, "mallory", "Normal", password).await;
    let mallory = app.sign_in("mallory", password).await;
    // The FRTC token in the query string, and in a path no route matches.
    let reply = app
        .post(
            &format!("/api/v1/user/info?token={mallory}"),
            None,
            json!({}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        app.get(&format!("/no/such/{mallory}"), None).await.status,
        404
    );
    // A wrong password, then a password change.
    let wrong = app
        .post(
            "/api/v1/user/sign_in",
            None,
            json!({"username": "mallory", "password": "Wrong-Passw0rd-0a9b8c"}),
        )
        .await;
    assert_ne!(wrong.status, 200);
    let new_password = "Mallory-Newer-Passw0rd-3c7d";
    let changed = app
        .post(
            "/api/v1/user/password",
            Some(&mallory),
            json!({"password_old": password, "password_new": new_password}),
        )
        .await;
    assert!(changed.status.is_success(), "{}", changed.body);
    // An API key used, and a Huawei app's key.
    let key = app
        .post("/api/v1/api_keys", Some(&admin), json!({"name": "reports"}))
        .await;
    assert_eq!(key.status, 200, "{}", key.body);
    let api_key = s(&key.body, "api_key");
    let telnyx = app.get("/v2/room_recordings", Some(&api_key)).await;
    assert_eq!(telnyx.status, 200, "{}", telnyx.body);
    let app_key = app
        .post(
            "/api/v1/api_keys",
            Some(&admin),
            json!({"name": "welink", "kind": "huawei_app"}),
        )
        .await;
    assert_eq!(app_key.status, 200, "{}", app_key.body);
    let app_secrets: Vec<String> = app_key
        .body
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, v)| v.as_str())
        .filter(|v| v.len() >= 16)
        .map(str::to_owned)
        .collect();
    // A calendar feed, whose URL is its own credential.
    let feed = app
        .post("/api/v1/user/calendar_feed", Some(&mallory), json!({}))
        .await;
    assert_eq!(feed.status, 200, "{}", feed.body);
    let feed_url = s(&feed.body, "calendar_url");
    let feed_secret = feed_url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .trim_end_matches(".ics")
        .to_owned();
    let (status, _, _) = get(&app, &feed_url, None).await;
    assert_eq!(status, 200);
    // A meeting with a password, joined with it and refused a wrong one.
    let number = "918273645012";
    let meeting_password = "8642097531864209";
    let room = app
        .post(
            "/api/v1/meeting_room",
            Some(&admin),
            json!({"meetingroom_name": "Board", "meeting_number": number,
                   "meeting_password": meeting_password}),
        )
        .await;
    assert_eq!(room.status, 200, "{}", room.body);
    let mut guest = LiveClient::connect(&app, None).await;
    let refused = guest
        .join(json!({"meeting_number": number, "password": "1357924680", "display_name": "G"}))
        .await;
    assert_eq!(refused["reason"], "wrong_password", "{refused}");
    let mut member = LiveClient::connect(&app, Some(&mallory)).await;
    member
        .join_ok(number, Some(meeting_password), "Mallory")
        .await;

    let scrape = scrape_at(&app, &app.url("/metrics"), Some(metrics_token)).await;
    let mut secrets = vec![
        ("the metrics token", metrics_token.to_owned()),
        (
            "the admin's password",
            plenum_testkit::ADMIN_PASSWORD.to_owned(),
        ),
        ("the admin's token", admin.clone()),
        ("a user's password", password.to_owned()),
        ("a user's new password", new_password.to_owned()),
        ("a wrong password", "Wrong-Passw0rd-0a9b8c".to_owned()),
        ("a user's token", mallory.clone()),
        ("an API key", api_key.clone()),
        ("a calendar feed's secret", feed_secret.clone()),
        ("a meeting password", meeting_password.to_owned()),
        ("a wrong meeting password", "1357924680".to_owned()),
        ("a meeting number", number.to_owned()),
        ("a user id", mallory_id.clone()),
        ("a participant id", member.id().to_owned()),
    ];
    secrets.extend(
        app_secrets
            .into_iter()
            .map(|v| ("a Huawei app's key or id", v)),
    );
    assert!(!feed_secret.is_empty() && !api_key.is_empty());
    for (what, secret) in &secrets {
        assert!(
            !scrape.text.contains(secret.as_str()),
            "/metrics shows {what} ({secret}):\n{}",
            scrape.text
        );
    }
    // What was done is counted all the same.
    assert!(scrape.has(
        &format!("{REQUESTS}_count"),
        &[("route", "/api/v1/calendar/{feed}")]
    ));
    assert!(scrape.value("plenum_joins_total", &[("outcome", "joined")]) >= 1.0);
}

//! The test kit: a real Plenum server per test.
//!
//! [`TestApp::spawn`] starts the whole server in-process (store, service, HTTP) on
//! `127.0.0.1:0` with a fresh temporary data directory and a [`ManualClock`], and hands back a
//! client with typed helpers. Tests are therefore parallel-safe and talk real HTTP over
//! loopback. Set `TEST_LOG=1` to see the server's logs.
//!
//! The store is SQLite in the data directory, or with `PLENUM_TEST_BACKEND=postgres` a
//! PostgreSQL database of its own per server, made on the cluster `PLENUM_TEST_DATABASE_URL`
//! names and dropped with the [`TestApp`] ([`TestBackend`]).

pub mod live;
pub mod s3;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use plenum::config::{DatabaseUrl, Durability, LogFormat, Settings};
use plenum::server::{self, RunningServer};
use plenum_service::ManualClock;
use plenum_store_postgres::testing::{self as pg_testing, TestDatabase};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

/// The password of `admin` in every test server.
pub const ADMIN_PASSWORD: &str = "Admin-Passw0rd";

#[derive(Debug)]
pub struct TestApp {
    pub base_url: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    settings: Settings,
    server: Option<RunningServer>,
    // Declared after the server: dropped once it has been stopped.
    data_dir: TempDir,
    _database: Option<TestDatabase>,
}

/// The store test servers run on, chosen for the whole run by `PLENUM_TEST_BACKEND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    /// SQLite in the server's temporary data directory (the default).
    Sqlite,
    /// `PLENUM_TEST_BACKEND=postgres`: a fresh database per server on the cluster of
    /// `PLENUM_TEST_DATABASE_URL`.
    Postgres,
}

/// The variable choosing the backend: `sqlite` (or unset) or `postgres`.
pub const BACKEND_VARIABLE: &str = "PLENUM_TEST_BACKEND";

impl TestBackend {
    /// The backend of this run.
    ///
    /// # Panics
    /// On a value other than `sqlite` or `postgres`: a typo must not test SQLite twice.
    pub fn chosen() -> Self {
        match std::env::var(BACKEND_VARIABLE).as_deref() {
            Err(_) | Ok("" | "sqlite") => Self::Sqlite,
            Ok("postgres") => Self::Postgres,
            Ok(other) => panic!("{BACKEND_VARIABLE}={other}: expected sqlite or postgres"),
        }
    }

    /// A fresh database for one server, when the run is on PostgreSQL.
    ///
    /// # Panics
    /// When PostgreSQL is chosen and `PLENUM_TEST_DATABASE_URL` is not set: a run asked for
    /// PostgreSQL must not pass on SQLite.
    async fn database(self) -> Option<TestDatabase> {
        match self {
            Self::Sqlite => None,
            Self::Postgres => {
                let Ok(cluster) = std::env::var(pg_testing::SERVER_VARIABLE) else {
                    panic!(
                        "{BACKEND_VARIABLE}=postgres needs {} (scripts/pg-test-server.sh starts a server)",
                        pg_testing::SERVER_VARIABLE
                    )
                };
                Some(TestDatabase::create(&cluster).await)
            }
        }
    }
}

/// A response: status and JSON body (`Value::Null` when the body is empty or not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// The FRTC `errorCode`, or "" if the body has none.
    pub fn error_code(&self) -> &str {
        self.body["errorCode"].as_str().unwrap_or("")
    }
}

fn settings_for(dir: &TempDir) -> Settings {
    let listen = "127.0.0.1:0"
        .parse()
        .unwrap_or_else(|_| unreachable!("a valid address"));
    let mut settings = Settings::for_data_dir(dir.path(), listen);
    settings.admin_password = Some(ADMIN_PASSWORD.to_owned());
    // Tests do not need fsync per commit; crash-durability is tested on the real binary.
    settings.durability = Durability::Normal;
    // Webhook receivers in tests listen on loopback; the outbox is looked at often.
    settings.policy.webhooks.allow_private = true;
    settings.policy.webhooks.poll_interval = Duration::from_millis(50);
    settings
}

impl TestApp {
    /// The media (UDP) address of the server, when it carries media.
    pub fn media_addr(&self) -> Option<std::net::SocketAddr> {
        self.server.as_ref().and_then(|s| s.media)
    }

    /// The address of `/metrics`' own listener, when `metrics.listen` is set.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.server.as_ref().and_then(|s| s.metrics)
    }

    /// A server with default settings.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A server whose settings `configure` may change first.
    pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> Self {
        if std::env::var_os("TEST_LOG").is_some() {
            plenum::telemetry::init(LogFormat::Pretty);
        }
        let data_dir = tempfile::Builder::new()
            .prefix("plenum-test-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary data directory: {e}"));
        let database = TestBackend::chosen().database().await;
        let mut settings = settings_for(&data_dir);
        if let Some(database) = &database {
            settings.database_url = Some(
                DatabaseUrl::parse(&database.url())
                    .unwrap_or_else(|e| panic!("the test database's URL: {e:#}")),
            );
        }
        configure(&mut settings);
        let clock = Arc::new(ManualClock::default());
        let server = server::start(&settings, clock.clone())
            .await
            .unwrap_or_else(|e| panic!("the test server did not start: {e:#}"));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_else(|e| panic!("cannot build an HTTP client: {e}"));
        Self {
            base_url: format!("http://{}", server.addr),
            client,
            clock,
            settings,
            server: Some(server),
            data_dir,
            _database: database,
        }
    }

    /// The server's recording files and download-link signer.
    pub fn recordings(&self) -> &plenum_service::recording_files::Downloads {
        match &self.server {
            Some(server) => &server.recordings,
            None => unreachable!("the server runs between spawn and drop"),
        }
    }

    /// The running server's service: for tests that check what the store holds through its
    /// domain questions (never to change anything behind the API's back).
    pub fn plenum(&self) -> &plenum_service::Plenum {
        match &self.server {
            Some(server) => &server.plenum,
            None => unreachable!("the server runs between spawn and drop"),
        }
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// Stops the server (gracefully) and starts a new one on the same data directory, as an
    /// operator restarting the service would. The address changes; `base_url` follows.
    pub async fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            server
                .stop()
                .await
                .unwrap_or_else(|e| panic!("the test server did not stop cleanly: {e:#}"));
        }
        let server = server::start(&self.settings, self.clock.clone())
            .await
            .unwrap_or_else(|e| panic!("the test server did not restart: {e:#}"));
        self.base_url = format!("http://{}", server.addr);
        self.server = Some(server);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::reply(request.send().await).await
    }

    /// Sends a raw body with the given content type (for malformed-input tests).
    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &'static str,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Self::reply(request.send().await).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, None).await
    }

    async fn reply(sent: Result<reqwest::Response, reqwest::Error>) -> Reply {
        let response = sent.unwrap_or_else(|e| panic!("request failed: {e}"));
        let status = response.status();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("reading the response body failed: {e}"));
        Reply {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    /// Signs in with a plain password and returns the token.
    pub async fn sign_in(&self, username: &str, password: &str) -> String {
        let reply = self
            .post(
                "/api/v1/user/sign_in",
                None,
                json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "sign-in of {username} failed: {:?}",
            reply.body
        );
        reply.body["user_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no user_token in {:?}", reply.body))
            .to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.sign_in("admin", ADMIN_PASSWORD).await
    }

    /// Creates a user through the API (as `admin_token`) and returns its id.
    pub async fn create_user(
        &self,
        admin_token: &str,
        username: &str,
        role: &str,
        password: &str,
    ) -> String {
        let reply = self
            .post(
                "/api/v1/user/users",
                Some(admin_token),
                json!({"username": username, "role": role, "password": password, "real_name": username.to_uppercase()}),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "creating {username} failed: {:?}",
            reply.body
        );
        reply.body["user_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no user_id in {:?}", reply.body))
            .to_owned()
    }
}

//! A webhook receiver on 127.0.0.1 for the tests: it checks every request's Standard Webhooks
//! signature (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256
//! of "{id}.{timestamp}.{body}">` under the `whsec_` secret) independently of Plenum's code,
//! keeps what it received, and can be told to refuse (down), to answer slowly, or to stop.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use tokio::sync::Notify;

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 204 to every request with a valid signature (401 otherwise).
    Accept,
    /// This status to every request (a receiver that is down behind its proxy).
    Refuse(u16),
    /// Accepts, after this long.
    Slow(Duration),
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    /// Whether the signature matched the secret the receiver was given.
    pub valid: bool,
    /// Whether it was answered 2xx (counted as delivered).
    pub accepted: bool,
    pub raw: String,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Received {
    pub fn kind(&self) -> &str {
        self.body["type"].as_str().unwrap_or("")
    }
}

#[derive(Debug)]
struct Shared {
    secret: Mutex<Option<Vec<u8>>>,
    mode: Mutex<Mode>,
    received: Mutex<Vec<Received>>,
    arrived: Notify,
}

/// The receiver; stops when dropped.
#[derive(Debug)]
pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Standard Webhooks' signature of a message under a raw key.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
        unreachable!("HMAC takes keys of every length")
    };
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The key of a `whsec_…` secret.
pub fn key_of(whsec: &str) -> Vec<u8> {
    let b64 = whsec
        .strip_prefix("whsec_")
        .unwrap_or_else(|| panic!("not a whsec_ secret: {whsec}"));
    STANDARD
        .decode(b64)
        .unwrap_or_else(|e| panic!("the secret is not base64: {e}"))
}

impl Receiver {
    /// A receiver on a port of its own.
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// A receiver on this port of 127.0.0.1 (0: any).
    pub async fn start_on(port: u16) -> Self {
        let shared = Arc::new(Shared {
            secret: Mutex::new(None),
            mode: Mutex::new(Mode::Accept),
            received: Mutex::new(Vec::new()),
            arrived: Notify::new(),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("the receiver cannot listen on port {port}: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("the receiver's address: {e}"));
        let app = axum::Router::new()
            .fallback(axum::routing::any(receive))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, task }
    }

    /// The URL to register (its path is ignored by the receiver).
    pub fn url(&self) -> String {
        format!("http://{}/hooks/plenum", self.addr)
    }

    /// The secret signatures are checked with (`whsec_…`).
    pub fn set_secret(&self, whsec: &str) {
        *lock(&self.shared.secret) = Some(key_of(whsec));
    }

    pub fn set_mode(&self, mode: Mode) {
        *lock(&self.shared.mode) = mode;
    }

    /// Everything received so far, in the order it arrived.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.shared.received).clone()
    }

    /// What was accepted (delivered), in the order it arrived.
    pub fn delivered(&self) -> Vec<Received> {
        self.received().into_iter().filter(|r| r.accepted).collect()
    }

    /// Waits until `done` holds of what was received (at most `limit`).
    pub async fn wait_until(
        &self,
        limit: Duration,
        mut done: impl FnMut(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.shared.arrived.notified();
            let now = self.received();
            if done(&now) {
                return now;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                let now = self.received();
                if done(&now) {
                    return now;
                }
                panic!(
                    "the receiver did not get what was waited for within {limit:?}; it got: {:#?}",
                    now.iter()
                        .map(|r| (r.kind().to_owned(), r.accepted))
                        .collect::<Vec<_>>()
                );
            }
        }
    }

    /// Waits until `n` distinct events were delivered; returns them in order of arrival.
    pub async fn wait_delivered(&self, n: usize, limit: Duration) -> Vec<Received> {
        self.wait_until(limit, |all| distinct_delivered(all).len() >= n)
            .await;
        distinct_delivered(&self.received())
    }
}

/// What was delivered, each event once (the first time it was accepted).
pub fn distinct_delivered(all: &[Received]) -> Vec<Received> {
    let mut seen = std::collections::HashSet::new();
    all.iter()
        .filter(|r| r.accepted && seen.insert(r.id.clone()))
        .cloned()
        .collect()
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (id, timestamp, signature) = (
        header("webhook-id"),
        header("webhook-timestamp").parse::<i64>().unwrap_or(0),
        header("webhook-signature"),
    );
    let key = lock(&shared.secret).clone();
    let valid = key.is_some_and(|key| {
        let expected = sign(&key, &id, timestamp, &body);
        signature.split(' ').any(|s| s == expected)
    });
    let mode = *lock(&shared.mode);
    let status = match mode {
        Mode::Refuse(code) => StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
        Mode::Slow(wait) => {
            tokio::time::sleep(wait).await;
            if valid {
                StatusCode::NO_CONTENT
            } else {
                StatusCode::UNAUTHORIZED
            }
        }
        Mode::Accept if valid => StatusCode::NO_CONTENT,
        Mode::Accept => StatusCode::UNAUTHORIZED,
    };
    let raw = String::from_utf8_lossy(&body).into_owned();
    lock(&shared.received).push(Received {
        id,
        timestamp,
        signature,
        valid,
        accepted: status.is_success(),
        body: serde_json::from_str(&raw).unwrap_or(Value::Null),
        raw,
        headers,
    });
    shared.arrived.notify_waiters();
    status
}

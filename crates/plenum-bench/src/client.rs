//! A minimal HTTP/1.1 client over one keep-alive connection, built on hyper's low-level
//! `client::conn::http1` API so that every load task owns exactly one TCP connection.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long one TCP connect plus HTTP/1 handshake may take on loopback.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One open keep-alive connection to the server.
pub type Connection = SendRequest<Full<Bytes>>;

/// Opens one TCP connection with `TCP_NODELAY` and performs the HTTP/1 handshake. The
/// connection driver runs as its own task and ends when the returned sender is dropped or the
/// server closes the connection.
pub async fn connect(addr: SocketAddr) -> Result<Connection> {
    let open = async {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true).context("setting TCP_NODELAY")?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP/1 handshake")?;
        tokio::spawn(async move {
            // The connection ends when the sender is dropped or the peer closes; either is
            // normal at the end of a run, and errors surface on the sender side.
            let _ = connection.await;
        });
        Ok::<_, anyhow::Error>(sender)
    };
    tokio::time::timeout(CONNECT_TIMEOUT, open)
        .await
        .map_err(|_| anyhow!("connecting to {addr} timed out after {CONNECT_TIMEOUT:?}"))?
}

/// A request the load generator sends over and over: everything is prepared once, and
/// [`Endpoint::request`] only clones it (no fallible builder on the hot path).
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Short human label, e.g. `GET /healthz`.
    pub label: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Endpoint {
    /// A request to `path` on the server at `addr` (used for the `Host` header, which
    /// HTTP/1.1 requires and hyper's low-level client does not add).
    pub fn new(addr: SocketAddr, method: Method, path: &str) -> Result<Self> {
        let uri: Uri = path
            .parse()
            .with_context(|| format!("invalid request path {path:?}"))?;
        let mut headers = HeaderMap::new();
        headers.insert(
            HOST,
            HeaderValue::from_str(&addr.to_string()).context("Host header")?,
        );
        Ok(Self {
            label: format!("{method} {path}"),
            method,
            uri,
            headers,
            body: Bytes::new(),
        })
    }

    /// Adds (or replaces) a header.
    pub fn header(mut self, name: HeaderName, value: &str) -> Result<Self> {
        let value = HeaderValue::from_str(value)
            .with_context(|| format!("invalid value for header {name}"))?;
        self.headers.insert(name, value);
        Ok(self)
    }

    /// Sets a JSON body and its content type.
    pub fn json_body(mut self, body: &serde_json::Value) -> Result<Self> {
        self.body = Bytes::from(serde_json::to_vec(body).context("serialising JSON body")?);
        self.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(self)
    }

    /// A fresh copy of the request, ready to send.
    pub fn request(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// Sends one request over `connection` and reads the whole response body (so the connection
/// can carry the next request). Returns the status and the body.
pub async fn send(
    connection: &mut Connection,
    request: Request<Full<Bytes>>,
) -> Result<(StatusCode, Bytes)> {
    connection.ready().await.context("connection not ready")?;
    let response = connection
        .send_request(request)
        .await
        .context("sending request")?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .context("reading response body")?
        .to_bytes();
    Ok((status, body))
}

/// Sends one request over a fresh connection (setup and health checks, not the hot path),
/// bounded by `timeout`.
pub async fn send_once(
    addr: SocketAddr,
    endpoint: &Endpoint,
    timeout: Duration,
) -> Result<(StatusCode, Bytes)> {
    let exchange = async {
        let mut connection = connect(addr).await?;
        send(&mut connection, endpoint.request()).await
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| anyhow!("{} timed out after {timeout:?}", endpoint.label))?
}

/// The start of a response body as text, for error messages.
pub fn snippet(body: &[u8]) -> String {
    const MAX: usize = 300;
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(MAX).collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    out
}

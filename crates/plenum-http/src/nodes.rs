//! Calls for meetings another node runs (docs/scaling.md). When this server is one node of
//! several, a running meeting lives on the holder of its lease; a control call, a meeting's
//! detail or a join that reaches another node is relayed to the holder, so clients need to
//! know one address (the load balancer's) and every node answers every call the same way.
//!
//! - REST: [`relay_to_holder`] keeps the request (bodies up to [`MAX_RELAYED_BODY`]); when the
//!   answer says the meeting runs elsewhere ([`HeldBy`], set by the dialect's error for
//!   `ServiceError::HeldElsewhere`), it sends the same request, credentials and all, to the
//!   holder and answers with what the holder answered. A relayed request carries
//!   [`RELAYED`] and is never relayed again: a lease that moved meanwhile is answered with
//!   the dialect's error instead of a loop.
//! - The client protocol: `live.rs` opens the protocol to the holder and relays frames
//!   ([`connect_to_holder`]).
//!
//! Node addresses are plain HTTP on the installation's own network (`node_address`).

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, header};
use axum::middleware::Next;
use axum::response::Response;

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use plenum_metrics::nodes::{self as relays, Relay};

use crate::AppState;

/// Marks a request one node relayed to another; its value is the relaying node's voucher
/// for [`RELAYED_FOR`] (`Plenum::vouch_for`).
pub const RELAYED: HeaderName = HeaderName::from_static("plenum-relayed");

/// The address of the client a relayed request is from: the node running the meeting
/// counts that client's wrong passwords, not the relay's.
pub const RELAYED_FOR: HeaderName = HeaderName::from_static("plenum-relayed-for");

/// The headers that mark a call this node relays for `client`.
fn relay_marks(state: &AppState, client: Option<std::net::IpAddr>) -> HeaderMap {
    let mut marks = HeaderMap::new();
    let voucher = client.map(|c| (c, state.plenum.vouch_for(c)));
    let (for_value, voucher) = match &voucher {
        Some((client, voucher)) => (client.to_string(), voucher.as_str()),
        None => (String::new(), "-"),
    };
    if let Ok(v) = HeaderValue::from_str(voucher) {
        marks.insert(RELAYED, v);
    }
    if !for_value.is_empty()
        && let Ok(v) = HeaderValue::from_str(&for_value)
    {
        marks.insert(RELAYED_FOR, v);
    }
    marks
}

/// The client a relayed request is from, when another node of the installation vouches
/// for it; `None` for a request no node relayed (or one whose voucher is not a node's).
pub fn relayed_client(state: &AppState, headers: &HeaderMap) -> Option<std::net::IpAddr> {
    let claimed = headers.get(&RELAYED_FOR)?.to_str().ok()?;
    let voucher = headers.get(&RELAYED)?.to_str().ok()?;
    state.plenum.vouched_client(claimed, voucher)
}

/// Largest body a relayed call may have: controls and details are tiny; what is larger
/// (a history import) never concerns a running meeting and is not kept.
pub const MAX_RELAYED_BODY: usize = 64 * 1024;

/// How long the holder may take to answer a relayed call.
const RELAY_TIMEOUT: Duration = Duration::from_secs(30);

/// On an error response: what this node does not run may run on another.
#[derive(Debug, Clone)]
pub enum HeldBy {
    /// The meeting runs on the node at this address (its lease says so).
    Node(String),
    /// Not here, and which node has it is not known from the request (a live stream's
    /// address names no meeting): any other node running meetings may.
    SomeOtherNode,
}

/// The HTTP client nodes relay with (one per server: it keeps connections to the others).
pub fn relay_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(RELAY_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// Relays a call for a meeting another node runs to that node (see the module's doc).
pub async fn relay_to_holder(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let small = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .map_or(
            // Without a length only a body-less request is kept (chunked uploads stream).
            !request.headers().contains_key(header::TRANSFER_ENCODING),
            |n| n <= MAX_RELAYED_BODY,
        );
    if state.plenum.policy().node.is_none() || request.headers().contains_key(&RELAYED) || !small {
        return next.run(request).await;
    }
    let client = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_RELAYED_BODY).await else {
        // Shorter than it said, or broken: what the handler would have answered.
        return next.run(Request::from_parts(parts, Body::empty())).await;
    };
    let kept = (
        parts.method.clone(),
        parts.uri.clone(),
        parts.headers.clone(),
    );
    let answer = next
        .run(Request::from_parts(parts, Body::from(body.clone())))
        .await;
    let Some(held) = answer.extensions().get::<HeldBy>().cloned() else {
        return answer;
    };
    let (method, uri, mut headers) = kept;
    headers.extend(relay_marks(
        &state,
        relayed_client(&state, &headers).or(client),
    ));
    let holder = match held {
        HeldBy::Node(holder) => holder,
        HeldBy::SomeOtherNode => {
            // The first node whose answer is not "not found" has it.
            let nodes = state.plenum.live().other_nodes().await.unwrap_or_default();
            for node in nodes {
                let relayed = relay(
                    &state.relay,
                    &node.address,
                    method.clone(),
                    &uri,
                    &headers,
                    body.clone(),
                )
                .await;
                match relayed {
                    Ok(relayed) if relayed.status() != axum::http::StatusCode::NOT_FOUND => {
                        relays::relayed(Relay::Call);
                        return relayed;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(node = %node.address, error = %e, "a node did not answer a relayed call");
                    }
                }
            }
            return answer;
        }
    };
    match relay(&state.relay, &holder, method, &uri, &headers, body).await {
        Ok(relayed) => {
            relays::relayed(Relay::Call);
            relayed
        }
        Err(e) => {
            // The holder did not answer: the dialect's own error (meeting unreachable) says
            // so; the lease ends if that node is dead, and the meeting can start again.
            tracing::warn!(node = %holder, error = %e, "the node that runs the meeting did not answer");
            answer
        }
    }
}

async fn relay(
    client: &reqwest::Client,
    holder: &str,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, reqwest::Error> {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut relayed = client
        .request(method, format!("{}{path}", holder.trim_end_matches('/')))
        .body(body);
    for (name, value) in end_to_end(headers) {
        relayed = relayed.header(name, value);
    }
    let answer = relayed.send().await?;
    let mut response = Response::builder().status(answer.status());
    for (name, value) in end_to_end(answer.headers()) {
        response = response.header(name, value);
    }
    let bytes = answer.bytes().await?;
    Ok(response
        .body(Body::from(bytes))
        .unwrap_or_else(|_| Response::new(Body::empty())))
}

/// The headers a relay passes on: all but the connection's own (RFC 9110, 7.6.1) and the
/// length, which the relayed body sets again.
fn end_to_end(headers: &HeaderMap) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
    headers.iter().filter(|(name, _)| {
        !matches!(
            name.as_str(),
            "connection"
                | "keep-alive"
                | "proxy-connection"
                | "transfer-encoding"
                | "te"
                | "trailer"
                | "upgrade"
                | "host"
                | "content-length"
        )
    })
}

/// What the other nodes running meetings answer to this same request, relayed (so each
/// answers for its own meetings only): the bodies of their successful answers, for the
/// dialect to merge into its list. A node that does not answer is left out: its meetings
/// end with its lease. Nothing on the only server, or for a request already relayed.
pub async fn gather(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    client: Option<std::net::IpAddr>,
) -> Vec<Bytes> {
    if headers.contains_key(&RELAYED) {
        return Vec::new();
    }
    let nodes = match state.plenum.live().other_nodes().await {
        Ok(nodes) => nodes,
        Err(e) => {
            tracing::warn!(error = %e, "could not read which nodes run meetings");
            return Vec::new();
        }
    };
    let mut marked = headers.clone();
    marked.extend(relay_marks(state, client));
    let asks = nodes.iter().map(|node| {
        let marked = &marked;
        async move {
            match relay(&state.relay, &node.address, method.clone(), uri, marked, Bytes::new()).await {
                Ok(answer) if answer.status().is_success() => {
                    axum::body::to_bytes(answer.into_body(), usize::MAX).await.ok()
                }
                Ok(answer) => {
                    tracing::warn!(node = %node.address, status = %answer.status(), "a node refused a gathered call");
                    None
                }
                Err(e) => {
                    tracing::warn!(node = %node.address, error = %e, "a node did not answer a gathered call");
                    None
                }
            }
        }
    });
    futures::future::join_all(asks)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// The client protocol's address on the node at `holder` (`http://…` becomes `ws://…`).
pub fn live_url_of(holder: &str) -> String {
    let base = holder.trim_end_matches('/');
    let base = match base.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}"),
        Some((_, rest)) => format!("ws://{rest}"),
        None => format!("ws://{base}"),
    };
    format!("{base}/api/v1/live")
}

/// Opens the client protocol on the node at `holder` for `client`, with the credentials the
/// client upgraded with (its token header or cookie, its query's `token`).
pub async fn connect_to_holder(
    state: &AppState,
    holder: &str,
    client: Option<std::net::IpAddr>,
    query: Option<&str>,
    credentials: &HeaderMap,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    tokio_tungstenite::tungstenite::Error,
> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let mut url = live_url_of(holder);
    if let Some(query) = query {
        url = format!("{url}?{query}");
    }
    let mut request = url.into_client_request()?;
    for (name, value) in credentials {
        request.headers_mut().append(name, value.clone());
    }
    request.headers_mut().extend(relay_marks(state, client));
    let (socket, _) =
        tokio::time::timeout(RELAY_TIMEOUT, tokio_tungstenite::connect_async(request))
            .await
            .map_err(|_| {
                tokio_tungstenite::tungstenite::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the node that runs the meeting did not answer",
                ))
            })??;
    relays::relayed(Relay::Join);
    Ok(socket)
}

/// The client's IP address, where the server put it on the connection (`ConnectInfo`).
/// Behind a reverse proxy it is the proxy's.
#[derive(Debug)]
pub struct PeerAddress(Option<IpAddr>);

impl PeerAddress {
    /// The address, when the server put one on the connection.
    pub fn ip(&self) -> Option<IpAddr> {
        self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PeerAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_of_a_node_is_at_its_address() {
        assert_eq!(
            live_url_of("http://10.0.0.2:7480/"),
            "ws://10.0.0.2:7480/api/v1/live"
        );
        assert_eq!(
            live_url_of("https://b.internal"),
            "wss://b.internal/api/v1/live"
        );
    }

    #[test]
    fn a_relay_passes_on_end_to_end_headers_only() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        headers.insert(header::HOST, HeaderValue::from_static("a"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("3"));
        let names: Vec<_> = end_to_end(&headers).map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["authorization"]);
    }
}

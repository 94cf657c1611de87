//! The browser join page: `/join/{meeting_number}` serves a page that joins the meeting over
//! the client protocol (docs/client-protocol.md) with the browser's camera and microphone,
//! and `/j/{code}` — the meeting links the server hands out (schedules' `meeting_url`,
//! calendar invites, Rocket.Chat's calls) — sends the browser there.
//!
//! Everything the page needs is in the binary (`include_str!`): no CDN, nothing fetched from
//! the internet, no build step. The HTML is static (the script reads the meeting number from
//! the address), so no inline script is needed and the Content-Security-Policy forbids it.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use plenum_domain::schedule::MeetingNumber;

use crate::AppState;

pub(crate) mod openapi;

/// The routes of the page, mounted by the router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/join/{meeting_number}", get(page))
        .route("/join/assets/{file}", get(asset))
        .route("/j/{code}", get(link))
}

/// One embedded file and its validator (also the watch page's, `crate::watch_page`).
pub(crate) struct Asset {
    pub(crate) name: &'static str,
    pub(crate) content_type: &'static str,
    pub(crate) body: &'static str,
    /// A hash of the body, computed at compile time: the ETag changes with the content.
    pub(crate) hash: u64,
}

/// FNV-1a, 64 bits: enough to tell two versions of a file apart (not a security measure).
pub(crate) const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

const JS: &str = include_str!("join.js");
/// The host's controls, a module `join.js` imports.
const HOST_JS: &str = include_str!("host.js");
const CSS: &str = include_str!("join.css");

/// The page's HTML (the same for every meeting number).
const PAGE: &str = include_str!("page.html");
/// The page for a link or address that opens no meeting.
const NOT_FOUND_PAGE: &str = include_str!("not_found.html");

const ASSETS: &[Asset] = &[
    Asset {
        name: "join.js",
        content_type: "text/javascript; charset=utf-8",
        body: JS,
        hash: fnv1a(JS.as_bytes()),
    },
    Asset {
        name: "host.js",
        content_type: "text/javascript; charset=utf-8",
        body: HOST_JS,
        hash: fnv1a(HOST_JS.as_bytes()),
    },
    Asset {
        name: "join.css",
        content_type: "text/css; charset=utf-8",
        body: CSS,
        hash: fnv1a(CSS.as_bytes()),
    },
];

/// `GET /join/{meeting_number}`: the page, for any syntactically valid number (the join
/// itself tells whether a meeting has it).
#[utoipa::path(get, path = "/join/{meeting_number}", tag = "Join page",
    summary = "The join page",
    description = "A browser client that joins the meeting over the client protocol \
        (`/api/v1/live`) with the camera and microphone (docs/join-page.md). The query \
        prefills it; the page is the same for every number.",
    params(
        ("meeting_number" = String, Path, description = "The meeting's number"),
        ("name" = Option<String>, Query, description = "The name to join with"),
        ("password" = Option<String>, Query, description = "The meeting's password"),
        ("autojoin" = Option<String>, Query, description = "`1`: join at once (room systems)"),
    ),
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 404, description = "Not a meeting number: a page saying so", content_type = "text/html", body = String),
    ))]
async fn page(Path(meeting_number): Path<String>, headers: HeaderMap) -> Response {
    if MeetingNumber::parse(&meeting_number).is_err() || meeting_number.trim() != meeting_number {
        return not_found(&headers);
    }
    html(StatusCode::OK, PAGE, &headers)
}

/// `GET /j/{code}`: `303 See Other` to the page of the meeting the link opens, with the query
/// string (`name`, `password`, `autojoin`) kept; a link that opens nothing is a 404 page.
#[utoipa::path(get, path = "/j/{code}", tag = "Join page",
    summary = "A meeting link",
    description = "The links the server hands out (schedules' `meeting_url`, calendar invites, \
        Rocket.Chat's calls) send the browser to the join page of their meeting, with the \
        query string kept.",
    params(("code" = String, Path, description = "The link's code")),
    responses(
        (status = 303, description = "To `/join/{meeting_number}`", headers(("Location" = String))),
        (status = 404, description = "The link opens no meeting: a page saying so", content_type = "text/html", body = String),
        (status = 500, description = "The link could not be looked up: a page saying so", content_type = "text/html", body = String),
    ))]
async fn link(
    State(state): State<AppState>,
    Path(code): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let number = match state
        .plenum
        .scheduling()
        .meeting_number_of_link(&code)
        .await
    {
        Ok(Some(number)) => number,
        Ok(None) => return not_found(&headers),
        Err(e) => {
            tracing::error!(error = %e, "resolving a meeting link failed");
            let mut response = html(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><meta charset=utf-8><title>Plenum</title>\
                 <p>The server could not look this meeting link up. Try again in a moment.</p>",
                &headers,
            );
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            return response;
        }
    };
    let mut location = format!("/join/{number}");
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        location.push('?');
        location.push_str(&query);
    }
    let mut response = StatusCode::SEE_OTHER.into_response();
    match HeaderValue::from_str(&location) {
        Ok(value) => {
            response.headers_mut().insert(header::LOCATION, value);
        }
        // A query that is no header value (it came in a request line, so it cannot be): the
        // page without it.
        Err(_) => {
            let plain = HeaderValue::from_str(&format!("/join/{number}"))
                .unwrap_or_else(|_| HeaderValue::from_static("/"));
            response.headers_mut().insert(header::LOCATION, plain);
        }
    }
    // The link's code and the password in its query must not travel on in a Referer.
    response
        .headers_mut()
        .insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /join/assets/{file}`: an embedded script or style sheet, revalidated by its ETag.
#[utoipa::path(get, path = "/join/assets/{file}", tag = "Join page",
    summary = "The join page's scripts and style sheet",
    params(
        ("file" = String, Path, description = "`join.js`, `host.js` (the host's controls) or `join.css`"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag of an earlier answer"),
    ),
    responses(
        (status = 200, description = "The file, with its `ETag`", content(
            (String = "text/javascript"),
            (String = "text/css"),
        )),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 404, description = "No such file", content_type = "text/html", body = String),
    ))]
async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == file) else {
        return not_found(&headers);
    };
    asset_response(asset, &headers)
}

/// An embedded file, or `304 Not Modified` when the request's `If-None-Match` has its ETag.
pub(crate) fn asset_response(asset: &Asset, headers: &HeaderMap) -> Response {
    let etag = format!("\"{:016x}\"", asset.hash);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .map(str::trim)
                .any(|t| t == etag || t == "*")
        });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.body,
        )
            .into_response()
    };
    let h = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, etag);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(NOSNIFF.0, HeaderValue::from_static(NOSNIFF.1));
    response
}

/// The 404 page: in words, for people who followed a link.
fn not_found(headers: &HeaderMap) -> Response {
    html(StatusCode::NOT_FOUND, NOT_FOUND_PAGE, headers)
}

pub(crate) const REFERRER_POLICY: HeaderName = HeaderName::from_static("referrer-policy");
pub(crate) const NOSNIFF: (HeaderName, &str) =
    (HeaderName::from_static("x-content-type-options"), "nosniff");

/// What the join page may use: the camera, microphone and screen, on this origin.
const JOIN_PERMISSIONS: &str = "camera=(self), microphone=(self), display-capture=(self), \
     autoplay=(self), geolocation=(), payment=(), usb=()";

/// An HTML answer with the join page's security headers.
fn html(status: StatusCode, body: &'static str, request: &HeaderMap) -> Response {
    html_page(status, body, request, JOIN_PERMISSIONS)
}

/// An HTML answer with the pages' security headers: [`content_security_policy`], no
/// sniffing, no referrer, no framing, and `permissions` as the Permissions-Policy.
pub(crate) fn html_page(
    status: StatusCode,
    body: &'static str,
    request: &HeaderMap,
    permissions: &'static str,
) -> Response {
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response();
    let h = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(request)) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(NOSNIFF.0, HeaderValue::from_static(NOSNIFF.1));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static(permissions),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The page's policy: its own scripts and styles only (no inline script), WebSockets to this
/// server, media from the camera and from peers (`blob:`/`mediastream:`), no framing.
///
/// CSP Level 3 lets `'self'` cover `ws:`/`wss:` of the same host; for browsers that predate
/// it the WebSocket origins are also named, from the request's `Host` when it is a plain
/// host[:port] (anything else is left out rather than copied into the header).
fn content_security_policy(request: &HeaderMap) -> String {
    let mut connect = String::from("'self'");
    if let Some(host) = request
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| is_plain_host(h))
    {
        connect.push_str(&format!(" ws://{host} wss://{host}"));
    }
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
         media-src 'self' blob: mediastream:; connect-src {connect}; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// `host`, `host:port`, `[v6]:port`: letters, digits, `.`, `-`, `:`, `[`, `]` only.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_websockets_of_a_plain_host_only() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("meet.example:7480"));
        let csp = content_security_policy(&h);
        assert!(csp.contains("connect-src 'self' ws://meet.example:7480 wss://meet.example:7480;"));
        assert!(csp.contains("script-src 'self';"));
        h.insert(header::HOST, HeaderValue::from_static("evil; script-src *"));
        let csp = content_security_policy(&h);
        assert!(csp.contains("connect-src 'self';"), "{csp}");
        assert!(!csp.contains("evil"));
    }

    #[test]
    fn the_page_has_no_inline_script_and_loads_its_assets() {
        assert!(PAGE.contains("src=\"/join/assets/join.js\""));
        assert!(PAGE.contains("href=\"/join/assets/join.css\""));
        // Every <script> has a src (the policy forbids inline script).
        for part in PAGE.split("<script").skip(1) {
            let tag = part.split('>').next().unwrap_or("");
            assert!(tag.contains("src="), "inline script: <script{tag}>");
        }
        // No inline event handlers (` onclick=` and the like).
        for (i, _) in PAGE.match_indices(" on") {
            let name: String = PAGE[i + 3..]
                .chars()
                .take_while(char::is_ascii_lowercase)
                .collect();
            let after = PAGE[i + 3 + name.len()..].chars().next();
            assert!(
                name.is_empty() || after != Some('='),
                "inline handler on{name}"
            );
        }
        for asset in ASSETS {
            assert!(!asset.body.contains("http://") && !asset.body.contains("https://"));
            // Nodes are built with the DOM, never parsed from strings.
            for parse in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
            ] {
                assert!(!asset.body.contains(parse), "{} uses {parse}", asset.name);
            }
        }
        assert!(JS.contains("from './host.js'"));
    }
}

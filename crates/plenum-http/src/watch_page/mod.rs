//! The live stream's watch page and its WHEP endpoint (draft-ietf-wish-whep).
//!
//! A meeting's `live_url` is `{public_url}/live/{live_id}`. There the page (embedded, as the
//! join page is: no CDN, no inline script) reads the stream's status, asks for the live
//! passcode when there is one, and plays the stream over WebRTC:
//!
//! - `GET /live/{live_id}`: the page (the same for every id; the script reads it from the
//!   address);
//! - `GET /live/{live_id}/status`: `{name, live, passcode_required, viewers}`;
//! - `POST /live/{live_id}/whep`: an SDP offer (`application/sdp`), with the passcode as
//!   `Authorization: Bearer`; `201 Created` with the answer and the session's `Location`;
//! - `DELETE /live/{live_id}/whep/{viewer}`: the viewer leaves.
//!
//! The server is ICE-lite and its answer carries its candidates, so there is no trickle ICE
//! (`PATCH` is `405`). Errors are FRTC's `{"error", "errorCode"}`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use plenum_service::ServiceError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::frtc::{ErrorCode, FrtcError};
use crate::join_page::{Asset, NOSNIFF, asset_response, fnv1a, html_page};
use crate::nodes::PeerAddress;

pub(crate) mod openapi;

/// The largest SDP offer taken (a browser's is a few KiB).
const MAX_OFFER_BYTES: usize = 64 * 1024;

/// The routes of the page and of WHEP, mounted by the router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/live/{live_id}", get(page))
        .route("/live/{live_id}/status", get(status))
        .route("/live/{live_id}/whep", post(whep_offer))
        .route(
            "/live/{live_id}/whep/{viewer}",
            delete(whep_delete).patch(whep_patch),
        )
        .route("/watch/assets/{file}", get(asset))
}

const JS: &str = include_str!("watch.js");
const CSS: &str = include_str!("watch.css");
const PAGE: &str = include_str!("page.html");

const ASSETS: &[Asset] = &[
    Asset {
        name: "watch.js",
        content_type: "text/javascript; charset=utf-8",
        body: JS,
        hash: fnv1a(JS.as_bytes()),
    },
    Asset {
        name: "watch.css",
        content_type: "text/css; charset=utf-8",
        body: CSS,
        hash: fnv1a(CSS.as_bytes()),
    },
];

/// The watch page uses no camera, microphone or screen; it plays sound.
const WATCH_PERMISSIONS: &str = "camera=(), microphone=(), display-capture=(), autoplay=(self), \
     geolocation=(), payment=(), usb=()";

/// A live id as Plenum makes them (a session id, or a schedule's generated id): letters,
/// digits, `-` and `_`. Anything else names no stream.
fn plausible_live_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

fn no_stream() -> FrtcError {
    FrtcError::new(ErrorCode::NotFound, "no live stream runs at this address")
}

/// `GET /live/{live_id}`: the page.
#[utoipa::path(get, path = "/live/{live_id}", tag = "Live streams",
    summary = "The watch page",
    description = "A page that plays the stream over WHEP, asking for the passcode when it has \
        one. The same page for every id: its script reads the status.",
    params(("live_id" = String, Path, description = "The stream's id, the last part of the meeting's `live_url`")),
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 404, description = "Not a live id", content_type = "text/html", body = String),
    ))]
async fn page(Path(live_id): Path<String>, headers: HeaderMap) -> Response {
    let status = if plausible_live_id(&live_id) {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    html_page(status, PAGE, &headers, WATCH_PERMISSIONS)
}

/// `GET /watch/assets/{file}`: the page's script and style sheet.
#[utoipa::path(get, path = "/watch/assets/{file}", tag = "Live streams",
    summary = "The watch page's script and style sheet",
    params(
        ("file" = String, Path, description = "`watch.js` or `watch.css`"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag of an earlier answer"),
    ),
    responses(
        (status = 200, description = "The file, with its `ETag`", content(
            (String = "text/javascript"),
            (String = "text/css"),
        )),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 404, description = "`not_found`", body = crate::frtc::ErrorBody),
    ))]
async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(asset) => asset_response(asset, &headers),
        None => FrtcError::new(ErrorCode::NotFound, "no such file").into_response(),
    }
}

/// What the page shows of a stream.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = LiveStreamStatus)]
struct StatusBody {
    name: String,
    live: bool,
    passcode_required: bool,
    viewers: u32,
}

/// `GET /live/{live_id}/status`.
#[utoipa::path(get, path = "/live/{live_id}/status", tag = "Live streams",
    summary = "A stream's status",
    params(("live_id" = String, Path, description = "The stream's id, the last part of the meeting's `live_url`")),
    responses(
        (status = 200, body = StatusBody),
        (status = 404, description = "`not_found`: no live stream runs there", body = crate::frtc::ErrorBody),
    ))]
async fn status(State(state): State<AppState>, Path(live_id): Path<String>) -> Response {
    if !plausible_live_id(&live_id) {
        return no_stream().into_response();
    }
    let status = match state.plenum.live().watch_status(&live_id).await {
        Ok(status) => status,
        Err(e) => return watch_error(e),
    };
    let mut response = axum::Json(StatusBody {
        name: status.name,
        live: status.live,
        passcode_required: status.passcode_required,
        viewers: status.viewers,
    })
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /live/{live_id}/whep`: a viewer's offer; `201 Created` with the answer.
#[utoipa::path(post, path = "/live/{live_id}/whep", tag = "Live streams",
    summary = "Watch: a WHEP offer",
    description = "A viewer's SDP offer (draft-ietf-wish-whep); the answer carries all the \
        server's candidates (ICE-lite, no trickle). The passcode, when the stream has one, is \
        `Authorization: Bearer <passcode>`.",
    security((), ("live_passcode" = [])),
    params(("live_id" = String, Path, description = "The stream's id, the last part of the meeting's `live_url`")),
    request_body(content = String, content_type = "application/sdp", description = "The SDP offer, at most 64 KiB"),
    responses(
        (status = 201, description = "The SDP answer; `Location` is the viewer's session", content_type = "application/sdp", body = String,
            headers(("Location" = String, description = "`/live/{live_id}/whep/{viewer}`"))),
        (status = 400, description = "`invalid_field`: an offer that cannot be read or that the server refuses", body = crate::frtc::ErrorBody),
        (status = 401, description = "`invalid_credentials`: a wrong passcode (with a Bearer challenge)", body = crate::frtc::ErrorBody,
            headers(("WWW-Authenticate" = String))),
        (status = 404, description = "`not_found`: no live stream runs there", body = crate::frtc::ErrorBody),
        (status = 413, description = "`payload_too_large`", body = crate::frtc::ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not `application/sdp`", body = crate::frtc::ErrorBody),
        (status = 429, description = "`too_many_attempts`: too many wrong passcodes or new viewers from one address", body = crate::frtc::ErrorBody,
            headers(("Retry-After" = u32))),
        (status = 503, description = "`media_unavailable`: the server carries no media now", body = crate::frtc::ErrorBody),
    ))]
async fn whep_offer(
    State(state): State<AppState>,
    Path(live_id): Path<String>,
    from: PeerAddress,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match offer(&headers, body) {
        Ok(offer) => answer(&state, &live_id, from, &headers, offer).await,
        Err(e) => e.into_response(),
    }
}

/// The offer of a WHEP `POST`: SDP text of at most [`MAX_OFFER_BYTES`].
fn offer(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<String, FrtcError> {
    let is_sdp = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/sdp"));
    if !is_sdp {
        return Err(FrtcError::new(
            ErrorCode::UnsupportedMediaType,
            "a WHEP offer is an SDP offer: send it as `Content-Type: application/sdp`",
        ));
    }
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            FrtcError::new(ErrorCode::MalformedRequest, "the offer could not be read")
        }
    })?;
    if body.len() > MAX_OFFER_BYTES {
        return Err(too_large());
    }
    String::from_utf8(body.to_vec())
        .map_err(|_| FrtcError::new(ErrorCode::InvalidSdp, "the offer is not UTF-8 text"))
}

/// The viewer's answer, or why not.
async fn answer(
    state: &AppState,
    live_id: &str,
    from: PeerAddress,
    headers: &HeaderMap,
    offer: String,
) -> Response {
    if !plausible_live_id(live_id) {
        return no_stream().into_response();
    }
    let passcode = bearer(headers);
    // Without a connection address (never the case behind the server's listener), every
    // such viewer shares one limit. An offer another node relayed is its client's.
    let from = crate::nodes::relayed_client(state, headers)
        .or(from.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let watching = match state
        .plenum
        .live()
        .watch(live_id, passcode.as_deref(), offer, from)
        .await
    {
        Ok(watching) => watching,
        Err(e) => return watch_error(e),
    };
    let location = format!("/live/{live_id}/whep/{}", watching.viewer);
    let mut response = (StatusCode::CREATED, watching.answer).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/sdp"),
    );
    if let Ok(location) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, location);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(NOSNIFF.0, HeaderValue::from_static(NOSNIFF.1));
    response
}

/// `DELETE /live/{live_id}/whep/{viewer}`: the viewer leaves.
#[utoipa::path(delete, path = "/live/{live_id}/whep/{viewer}", tag = "Live streams",
    summary = "Stop watching",
    params(("live_id" = String, Path, description = "The stream's id, the last part of the meeting's `live_url`"), ("viewer" = String, Path, description = "The viewer's session, from `Location`")),
    responses(
        (status = 200, description = "The viewer left"),
        (status = 404, description = "`not_found`: no such viewer or stream", body = crate::frtc::ErrorBody),
    ))]
async fn whep_delete(
    State(state): State<AppState>,
    Path((live_id, viewer)): Path<(String, String)>,
) -> Response {
    let Ok(viewer) = viewer.parse::<u64>() else {
        return no_stream().into_response();
    };
    if !plausible_live_id(&live_id) {
        return no_stream().into_response();
    }
    match state.plenum.live().stop_watching(&live_id, viewer) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => watch_error(e),
    }
}

/// `PATCH /live/{live_id}/whep/{viewer}`: no trickle ICE here.
#[utoipa::path(patch, path = "/live/{live_id}/whep/{viewer}", tag = "Live streams",
    summary = "Trickle ICE: not supported",
    description = "The server is ICE-lite and its answer carries all its candidates.",
    params(("live_id" = String, Path, description = "The stream's id, the last part of the meeting's `live_url`"), ("viewer" = String, Path, description = "The viewer's session, from `Location`")),
    responses(
        (status = 405, description = "`method_not_allowed`", body = crate::frtc::ErrorBody, headers(("Allow" = String))),
    ))]
async fn whep_patch() -> Response {
    let mut response = FrtcError::new(
        ErrorCode::MethodNotAllowed,
        "no trickle ICE: the server is ICE-lite and its answer carries all its candidates",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("DELETE"));
    response
}

fn too_large() -> FrtcError {
    FrtcError::new(
        ErrorCode::PayloadTooLarge,
        format!("the offer exceeds {} KiB", MAX_OFFER_BYTES / 1024),
    )
}

/// The live passcode: `Authorization: Bearer <passcode>`.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// A watch call's error as WHEP clients expect it: 404 when no stream runs, 401 (with a
/// Bearer challenge) for a wrong passcode, 429 with `Retry-After`, 400 for an offer the SFU
/// refuses, 503 when the server carries no media.
fn watch_error(e: ServiceError) -> Response {
    match e {
        ServiceError::NotFound | ServiceError::MeetingNotRunning => {
            // Another node may run the stream: `nodes::relay_to_holder` asks them.
            let mut response = no_stream().into_response();
            response
                .extensions_mut()
                .insert(crate::nodes::HeldBy::SomeOtherNode);
            response
        }
        ServiceError::WrongLivePasscode => {
            let mut response = FrtcError::new(
                ErrorCode::InvalidCredentials,
                "wrong live passcode: give it as `Authorization: Bearer <passcode>`",
            )
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"live\""),
            );
            response
        }
        ServiceError::MediaUnavailable => FrtcError::new(
            ErrorCode::MediaUnavailable,
            "this server does not carry audio or video now",
        )
        .into_response(),
        other => FrtcError::from(other).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_no_inline_script_and_loads_its_assets() {
        assert!(PAGE.contains("src=\"/watch/assets/watch.js\""));
        assert!(PAGE.contains("href=\"/watch/assets/watch.css\""));
        for part in PAGE.split("<script").skip(1) {
            let tag = part.split('>').next().unwrap_or("");
            assert!(tag.contains("src="), "inline script: <script{tag}>");
        }
        assert!(!PAGE.contains(" onclick=") && !PAGE.contains(" onload="));
        for asset in ASSETS {
            assert!(!asset.body.contains("http://") && !asset.body.contains("https://"));
        }
    }

    #[test]
    fn the_passcode_is_a_bearer_token() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer 4321"),
        );
        assert_eq!(bearer(&h).as_deref(), Some("4321"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic 4321"),
        );
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer "));
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn live_ids_are_plain() {
        assert!(plausible_live_id("0195f2c4-8e1a-7c3b-9d2e-4f5a6b7c8d9e"));
        assert!(plausible_live_id("aB3_x-9"));
        assert!(!plausible_live_id(""));
        assert!(!plausible_live_id("a/b"));
        assert!(!plausible_live_id("a%20b"));
        assert!(!plausible_live_id(&"a".repeat(129)));
    }
}

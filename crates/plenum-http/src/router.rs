//! Every route of the server, in one place, with the layers that wrap them all.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::frtc::{self, ErrorCode, FrtcError};
use crate::large_json::json_answer;
use crate::live;
use crate::openapi::{ApiDoc, docs_page};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Largest JSON body any call accepts.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        // FRTC: User
        .routes(routes!(frtc::user::sign_in))
        .routes(routes!(frtc::user::sign_out))
        .routes(routes!(frtc::user::info))
        .routes(routes!(frtc::user::password))
        .routes(routes!(frtc::user::public_users))
        .routes(routes!(frtc::user::create_user))
        .routes(routes!(frtc::user::update_user, frtc::user::user_detail))
        // Plenum extension: the web app's session (cookie + CSRF)
        .routes(routes!(
            frtc::web_session::create,
            frtc::web_session::current,
            frtc::web_session::end
        ))
        // FRTC: Meeting Schedule
        .routes(routes!(frtc::schedule::create, frtc::schedule::list))
        .routes(routes!(
            frtc::schedule::update,
            frtc::schedule::delete,
            frtc::schedule::detail
        ))
        .routes(routes!(frtc::schedule::create_recurrence))
        .routes(routes!(
            frtc::schedule::update_recurrence,
            frtc::schedule::list_recurrence,
            frtc::schedule::delete_recurrence
        ))
        .routes(routes!(frtc::schedule::schedule_ical))
        .routes(routes!(frtc::schedule::series_ical))
        .routes(routes!(frtc::schedule::rotate_feed))
        .routes(routes!(frtc::schedule::feed))
        // FRTC: Meeting Room
        .routes(routes!(frtc::room::list_or_create, frtc::room::list_rooms))
        .routes(routes!(
            frtc::room::detail,
            frtc::room::update,
            frtc::room::delete
        ))
        // FRTC: Meeting Control
        .routes(routes!(frtc::meeting::list, frtc::meeting::list_get))
        .routes(routes!(
            frtc::meeting::detail,
            frtc::meeting::detail_or_update
        ))
        .routes(routes!(frtc::meeting::mute_all))
        .routes(routes!(frtc::meeting::unmute_all))
        .routes(routes!(frtc::meeting::mute))
        .routes(routes!(frtc::meeting::unmute))
        .routes(routes!(frtc::meeting::request_unmute))
        .routes(routes!(frtc::meeting::allow_unmute))
        .routes(routes!(frtc::meeting::stop))
        .routes(routes!(
            frtc::meeting::start_overlay,
            frtc::meeting::stop_overlay
        ))
        .routes(routes!(
            frtc::meeting::set_lecturer,
            frtc::meeting::unset_lecturer
        ))
        .routes(routes!(
            frtc::meeting::disconnect,
            frtc::meeting::disconnect_post
        ))
        .routes(routes!(
            frtc::meeting::disconnect_all,
            frtc::meeting::disconnect_all_post
        ))
        .routes(routes!(frtc::meeting::cascading))
        .routes(routes!(frtc::meeting::participant_info))
        .routes(routes!(
            frtc::meeting::start_recording,
            frtc::meeting::stop_recording
        ))
        .routes(routes!(frtc::meeting::start_live, frtc::meeting::stop_live))
        // Plenum extension: recordings
        .routes(routes!(frtc::recordings::of_meeting))
        .routes(routes!(frtc::recordings::list))
        .routes(routes!(frtc::recordings::detail))
        // Plenum extension: past meetings with attendance
        .routes(routes!(frtc::meeting_history::list))
        .routes(routes!(frtc::meeting_history::detail))
        .routes(routes!(
            frtc::meeting::pin_for_participant,
            frtc::meeting::unpin_for_participant
        ))
        .routes(routes!(
            frtc::meeting::pin_for_meeting,
            frtc::meeting::unpin_for_meeting
        ))
        .routes(routes!(frtc::meeting::layout_change))
        .routes(routes!(frtc::meeting::lock, frtc::meeting::unlock))
        // FRTC: System
        .routes(routes!(frtc::system::capacity))
        .routes(routes!(frtc::system::version))
        // Plenum extension: companies
        .routes(routes!(
            frtc::company::create_company,
            frtc::company::list_companies
        ))
        .routes(routes!(frtc::company::own_company))
        .routes(routes!(frtc::company::update_company))
        // Plenum extension: integration keys and history import
        .routes(routes!(frtc::history::create_key, frtc::history::list_keys))
        .routes(routes!(frtc::history::revoke_key))
        .routes(routes!(frtc::history::import))
        // Plenum extension: webhooks and the audit log
        .routes(routes!(frtc::webhooks::create, frtc::webhooks::list))
        .routes(routes!(frtc::webhooks::detail, frtc::webhooks::delete))
        .routes(routes!(frtc::webhooks::rotate_secret))
        .routes(routes!(frtc::webhooks::deliveries))
        .routes(routes!(frtc::webhooks::replay))
        .routes(routes!(frtc::webhooks::audit))
        // Operations
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .split_for_parts();
    // The client protocol (WebSocket): served outside the general stack, see `live_routes`.
    let (live, live_openapi) = OpenApiRouter::new()
        .routes(routes!(live::connect))
        .split_for_parts();
    let mut openapi = openapi;
    openapi.merge(live_openapi);
    let openapi = crate::openapi::whole(openapi);
    // The document is the same for the server's lifetime: rendered once, sent as it is.
    let openapi = Bytes::from(serde_json::to_vec(&openapi).unwrap_or_default());

    // Rocket.Chat's and Huawei's token headers carry credentials too.
    let sensitive: Arc<[HeaderName]> = Arc::from([
        header::AUTHORIZATION,
        header::COOKIE,
        HeaderName::from_static("x-auth-token"),
        HeaderName::from_static("x-access-token"),
    ]);
    api.route(
        "/api/openapi.json",
        get(move || {
            let openapi = openapi.clone();
            async move { json_answer(openapi) }
        }),
    )
    .route("/api/docs", get(docs_page))
    // The history surfaces: four vendors' APIs at their documented paths.
    .merge(crate::rokid::routes())
    .merge(crate::rocketchat::routes())
    .merge(crate::telnyx::routes())
    .merge(crate::huawei::routes())
    .merge(crate::web_app::routes())
    .merge(crate::join_page::routes())
    .merge(crate::watch_page::routes())
    .merge(crate::recording_files::routes())
    .fallback(not_found)
    .method_not_allowed_fallback(method_not_allowed)
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        rejections_in_dialect_shape,
    ))
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        crate::nodes::relay_to_holder,
    ))
    .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
    .layer(
        ServiceBuilder::new()
            .layer(SetSensitiveRequestHeadersLayer::from_shared(
                sensitive.clone(),
            ))
            .layer(SetRequestIdLayer::new(REQUEST_ID, RandomRequestId))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_span)
                    .on_response(DefaultOnResponse::new().level(Level::INFO))
                    .on_failure(log_failure),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(CatchPanicLayer::custom(panicked))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_secs(30),
            )),
    )
    .merge(live_routes(live, sensitive))
    // Outermost: every answer counted as the client got it (plenum_http_request_duration_seconds).
    .layer(crate::metrics::RequestMetrics)
    .with_state(state)
}

/// `/api/v1/live` with the same layers as the other routes but one: its answer (the `101`,
/// or a refusal) is logged at DEBUG, not INFO. A participant's connection is one request that
/// then lives as long as the participant, and in a join storm that INFO line per participant
/// (a write to stderr each) was a visible share of the server's CPU per join (BENCHMARKS.md,
/// "Join storm, third pass"). Request ids, spans (what is logged inside carries the id),
/// panics, sensitive headers and the timeout are as everywhere.
fn live_routes(live: Router<AppState>, sensitive: Arc<[HeaderName]>) -> Router<AppState> {
    live.method_not_allowed_fallback(method_not_allowed).layer(
        ServiceBuilder::new()
            .layer(SetSensitiveRequestHeadersLayer::from_shared(sensitive))
            .layer(SetRequestIdLayer::new(REQUEST_ID, RandomRequestId))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_span)
                    .on_response(DefaultOnResponse::new().level(Level::DEBUG))
                    .on_failure(log_failure),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(CatchPanicLayer::custom(panicked))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_secs(30),
            )),
    )
}

/// A server error is logged at ERROR, except `501 Not Implemented`: that is the documented
/// answer to a call Plenum does not support (FRTC `cascading`), not something gone wrong.
fn log_failure(class: ServerErrorsFailureClass, latency: Duration, _span: &tracing::Span) {
    match class {
        ServerErrorsFailureClass::StatusCode(StatusCode::NOT_IMPLEMENTED) => {
            tracing::debug!(?latency, "answered 501: not supported");
        }
        ServerErrorsFailureClass::StatusCode(status) => {
            tracing::error!(%status, ?latency, "response failed");
        }
        ServerErrorsFailureClass::Error(error) => {
            tracing::error!(%error, ?latency, "response failed");
        }
    }
}

/// Request ids: random (version 4) UUIDs from the thread's generator. tower-http's
/// `MakeRequestUuid` asks the kernel for every id (`getrandom`, a system call per request);
/// the id only has to be unique enough to find a request's lines in the log.
#[derive(Debug, Clone, Copy)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let text = id.hyphenated().encode_lower(&mut text);
        axum::http::HeaderValue::from_str(text)
            .ok()
            .map(RequestId::new)
    }
}

/// The span of one request. It records the path but never the query string, which may carry
/// an FRTC `token`.
fn request_span(req: &Request) -> tracing::Span {
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = %loggable_path(req.uri().path()),
        request_id = %request_id,
    )
}

/// Paths whose rest is a credential: a calendar feed's URL is its own secret (frtc.md).
const CREDENTIAL_PATHS: &[&str] = &["/api/v1/calendar/"];

/// The path as logged: a credential in it is replaced by `<secret>`.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match CREDENTIAL_PATHS
        .iter()
        .find(|prefix| path.len() > prefix.len() && path.starts_with(**prefix))
    {
        Some(prefix) => format!("{prefix}<secret>").into(),
        None => path.into(),
    }
}

fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    FrtcError::new(
        ErrorCode::InternalError,
        "internal error; the server log has the details under this request's x-request-id",
    )
    .into_response()
}

async fn not_found(
    state: State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    unrouted(StatusCode::NOT_FOUND, &state, &method, &uri, &headers)
}

async fn method_not_allowed(
    state: State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    unrouted(
        StatusCode::METHOD_NOT_ALLOWED,
        &state,
        &method,
        &uri,
        &headers,
    )
}

/// The APIs whose paths the server serves, each with its own error shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Frtc,
    Telnyx,
    Rokid,
    Huawei,
    RocketChat,
}

impl Dialect {
    /// The API a path is under; FRTC's for every path no vendor's API claims.
    fn of(path: &str) -> Self {
        if path.starts_with(crate::telnyx::PATH_PREFIX) {
            Dialect::Telnyx
        } else if path.starts_with(crate::rokid::PATH_PREFIX) {
            Dialect::Rokid
        } else if crate::huawei::PATH_PREFIXES
            .iter()
            .any(|p| path.starts_with(p))
        {
            Dialect::Huawei
        } else if crate::rocketchat::owns(path) {
            Dialect::RocketChat
        } else {
            Dialect::Frtc
        }
    }
}

/// What the router answers itself — no such endpoint (404), a method the endpoint does not
/// take (405) — in the error shape of the API whose paths the request is under: a Telnyx
/// client gets Telnyx's `errors`, a Rokid one Spring's body, and so on; FRTC's elsewhere.
fn unrouted(
    status: StatusCode,
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Response {
    let path = uri.path();
    match Dialect::of(path) {
        Dialect::Telnyx => crate::telnyx::unrouted(status, method),
        Dialect::Rokid => crate::rokid::unrouted(status, method, path, state.plenum.now()),
        Dialect::Huawei => crate::huawei::unrouted(status, headers),
        Dialect::RocketChat => crate::rocketchat::unrouted(status),
        Dialect::Frtc if status == StatusCode::METHOD_NOT_ALLOWED => FrtcError::new(
            ErrorCode::MethodNotAllowed,
            "this endpoint does not accept that method",
        )
        .into_response(),
        Dialect::Frtc => FrtcError::new(ErrorCode::NotFound, "no such endpoint").into_response(),
    }
}

/// axum's own refusals — a body over the limit, a path parameter or query string that cannot
/// be decoded — are plain text. Each is answered again in the error shape of the API whose
/// paths the request is under, as [`unrouted`] does for what cannot be routed.
async fn rejections_in_dialect_shape(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let dialect = Dialect::of(request.uri().path());
    let uri = request.uri().clone();
    // Only Huawei's shape depends on a header (the language); the others need none.
    let headers = match dialect {
        Dialect::Huawei => request.headers().clone(),
        _ => HeaderMap::new(),
    };
    let response = next.run(request).await;
    if !is_plain_text_refusal(&response) {
        return response;
    }
    let status = response.status();
    // axum's sentence, e.g. "Invalid URL: Cannot parse `\xFF` as UTF-8" (short: a few dozen
    // bytes; a longer one is cut).
    let text = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    rejected(dialect, status, text, state.plenum.now(), &uri, &headers)
}

/// Marks a plain-text error answer a handler of ours wrote on purpose (`/healthz`'s
/// `draining`), which is not one of axum's refusals to rewrite.
#[derive(Debug, Clone, Copy)]
struct MeantAsText;

/// A refusal axum wrote itself: an error status with a plain-text body. Plenum's handlers
/// answer errors in JSON (and pages in HTML); only axum's extractors answer in plain text.
fn is_plain_text_refusal(response: &Response) -> bool {
    (response.status().is_client_error() || response.status().is_server_error())
        && response.extensions().get::<MeantAsText>().is_none()
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/plain"))
}

/// axum's refusal `text` with `status`, in `dialect`'s error shape.
fn rejected(
    dialect: Dialect,
    status: StatusCode,
    text: String,
    now: jiff::Timestamp,
    uri: &Uri,
    headers: &HeaderMap,
) -> Response {
    match dialect {
        Dialect::Telnyx => crate::telnyx::rejected(status, text),
        Dialect::Rokid => crate::rokid::rejected(status, text, uri.path(), now),
        Dialect::Huawei => crate::huawei::rejected(status, headers),
        Dialect::RocketChat => crate::rocketchat::rejected(status, &text),
        Dialect::Frtc => {
            let error = match status {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    FrtcError::new(ErrorCode::PayloadTooLarge, "the request body is too large")
                }
                StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                    FrtcError::new(ErrorCode::UnsupportedMediaType, text)
                }
                s if s.is_server_error() => {
                    tracing::error!(%status, error = %text, "internal error");
                    FrtcError::new(
                        ErrorCode::InternalError,
                        "internal error; the server log has the details under this request's x-request-id",
                    )
                }
                _ => FrtcError::new(
                    ErrorCode::MalformedRequest,
                    format!("the request cannot be read: {text}"),
                ),
            };
            error.into_response()
        }
    }
}

/// Liveness and the node's state: `ok` while it serves, `draining` (503) once it has begun
/// to stop (its meetings are being ended). Also the static baseline of the benchmarks: it
/// reads one flag and does no other work.
#[utoipa::path(get, path = "/healthz", tag = "Operations",
    responses(
        (status = 200, description = "The server is up and serving: `ok`", body = String),
        (status = 503, description = "The server is stopping: `draining`", body = String)))]
async fn healthz(State(state): State<AppState>) -> Response {
    match state.plenum.node_state() {
        plenum_service::NodeState::Serving => (StatusCode::OK, "ok").into_response(),
        plenum_service::NodeState::Draining => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Extension(MeantAsText),
            "draining",
        )
            .into_response(),
    }
}

/// Readiness: whether this server can take work now: serving (not stopping), its database
/// answering and holding every migration of this version. For a load balancer's or an
/// orchestrator's check; the reason is for the operator.
#[utoipa::path(get, path = "/readyz", tag = "Operations",
    responses(
        (status = 200, description = "Ready: `{\"status\": \"ready\"}`", body = Object),
        (status = 503, description = "Not ready: `{\"status\": \"not_ready\", \"reason\": \"…\"}`", body = Object)))]
async fn readyz(State(state): State<AppState>) -> Response {
    match state.plenum.readiness().await {
        plenum_service::Ready::Yes => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ready"})),
        )
            .into_response(),
        plenum_service::Ready::No(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "not_ready", "reason": reason})),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// axum's refusal of a request to `path`, answered again: status and JSON body.
    async fn answered(path: &str, status: StatusCode) -> (StatusCode, serde_json::Value) {
        let uri: Uri = path.parse().unwrap();
        let response = rejected(
            Dialect::of(path),
            status,
            "Invalid URL: Invalid UTF-8 in `id`".to_owned(),
            jiff::Timestamp::UNIX_EPOCH,
            &uri,
            &HeaderMap::new(),
        );
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap_or_default())
    }

    #[tokio::test]
    async fn refusals_are_answered_in_the_shape_of_the_api_of_the_path() {
        for status in [StatusCode::BAD_REQUEST, StatusCode::PAYLOAD_TOO_LARGE] {
            let (got, body) = answered("/api/v1/meeting/x", status).await;
            assert_eq!(got, status);
            let code = if status == StatusCode::BAD_REQUEST {
                "malformed_request"
            } else {
                "payload_too_large"
            };
            assert_eq!(body["errorCode"], code, "{body}");

            let (got, body) = answered("/ar/corporation/openapi/rtc/x", status).await;
            assert_eq!(got, status);
            assert_eq!(body["status"], status.as_u16(), "{body}");
            assert_eq!(body["path"], "/ar/corporation/openapi/rtc/x", "{body}");

            let (got, body) = answered("/v2/room_recordings/x", status).await;
            assert_eq!(got, status);
            assert_eq!(body["errors"][0]["code"], "10015", "{body}");

            let (got, body) = answered("/v1/mmc/management/x", status).await;
            assert_eq!(got, status);
            let code = if status == StatusCode::BAD_REQUEST {
                "MMC.111000001"
            } else {
                "APIGW.0201"
            };
            assert_eq!(body["error_code"], code, "{body}");

            let (got, body) = answered("/api/v1/video-conference.x", status).await;
            assert_eq!(got, status);
            assert_eq!(body["success"], false, "{body}");
        }
    }
}

//! Telnyx "room recordings" (seed `002_a6f37542d584e911.txt`) at `/v2/room_recordings`.
//!
//! Wire conventions of this dialect, in one place (decisions in `docs/history.md`):
//! - Auth: `Authorization: Bearer <API key>`; the key (created with `POST /api/v1/api_keys`
//!   or `plenum key create`) names the company. Nothing of another company is visible.
//! - Errors: `{"errors": [{"code", "title", "detail", "source"}]}` with Telnyx's codes:
//!   10009 authentication failed (401), 10015 bad request (400, `source.parameter` names the
//!   query parameter), 10005 resource not found (404), 10007 unexpected error (500).
//! - Ids: `id` is the recording, `room_id` the persistent room the session was held in
//!   (`null` for a meeting outside a room), `session_id` the session, `participant_id` the
//!   attendance (the participant's stay) the recording is of, `null` for a whole-session
//!   recording.
//! - Instants: ISO 8601 UTC with microseconds (`2021-04-16T09:46:20.954000Z`).
//! - Filters arrive as bracketed keys, percent-encoded or not (`filter%5Broom_id%5D`).
//!   Date filters take a UTC calendar date (`2021-04-16`): `eq` is that day, `gte` from its
//!   start, `lte` to its end; a date-time stands for its UTC day. `filter[duration_secs]`
//!   without an operator (what the official SDK sends) means "at least", as the SDK
//!   documents it.
//! - Paging: `page[size]` 1..=250 (default 20), `page[number]` from 1 (default 1); `meta`
//!   carries `page_number`, `page_size`, `total_pages`, `total_results`. Newest start first.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use plenum_domain::history::{RecordingKind, RecordingStatus};
use plenum_domain::history_query::{RecordingFilter, RecordingView, utc_date_window};
use plenum_domain::ids::{AttendanceId, RecordingId, RoomId, SessionId};
use plenum_domain::paging::PageRequest;
use plenum_service::{CompanyScope, HistoryError, ServiceError};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::AppState;
use crate::large_json::large_json;
use crate::wire_time::Utc;

pub(crate) mod openapi;

pub const MAX_PAGE_SIZE: u32 = 250;
pub const DEFAULT_PAGE_SIZE: i64 = 20;

/// The routes of this dialect.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/v2/room_recordings", get(list).delete(delete_bulk))
        .route(
            "/v2/room_recordings/{room_recording_id}",
            get(retrieve).delete(delete_one),
        )
}

// --- errors ----------------------------------------------------------------------------------

/// A Telnyx error answer.
#[derive(Debug)]
pub struct TelnyxError {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    detail: String,
    parameter: Option<String>,
}

impl TelnyxError {
    fn bad_request(parameter: &str, detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "10015",
            title: "Bad Request",
            detail: detail.into(),
            parameter: Some(parameter.to_owned()),
        }
    }

    fn not_found(detail: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "10005",
            title: "Resource not found",
            detail: detail.to_owned(),
            parameter: None,
        }
    }
}

/// Where this dialect's paths begin: the router answers what it cannot route under it (no
/// such endpoint, a method the endpoint does not take) with [`unrouted`].
pub(crate) const PATH_PREFIX: &str = "/v2/room_recordings";

/// The router's own answer under [`PATH_PREFIX`], in Telnyx's shape: 404 is 10005 as for an
/// unknown recording; the other statuses (405) are 10015, the request not being well-formed.
pub(crate) fn unrouted(status: StatusCode, method: &Method) -> Response {
    let error = if status == StatusCode::NOT_FOUND {
        TelnyxError::not_found("The requested resource or URL could not be found.")
    } else {
        TelnyxError {
            status,
            code: "10015",
            title: "Bad Request",
            detail: format!("The endpoint does not accept {method}."),
            parameter: None,
        }
    };
    error.into_response()
}

/// axum's own refusal of a request under [`PATH_PREFIX`] (a body over the limit, a path or
/// query string that cannot be decoded), in Telnyx's shape: 10015, not well-formed.
pub(crate) fn rejected(status: StatusCode, detail: String) -> Response {
    TelnyxError {
        status,
        code: "10015",
        title: "Bad Request",
        detail,
        parameter: None,
    }
    .into_response()
}

impl From<ServiceError> for TelnyxError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::TokenMissing | ServiceError::TokenInvalid | ServiceError::TokenExpired => Self {
                status: StatusCode::UNAUTHORIZED,
                code: "10009",
                title: "Authentication failed",
                detail: "The API key is missing, unknown or revoked. Send it as `Authorization: Bearer <API key>`.".to_owned(),
                parameter: None,
            },
            ServiceError::History(HistoryError::RecordingNotFound) => {
                Self::not_found("The requested room recording does not exist.")
            }
            other => {
                tracing::error!(error = %other, "internal error");
                Self {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "10007",
                    title: "Unexpected error",
                    detail: "An unexpected error occurred; the server log has the details under this request's x-request-id.".to_owned(),
                    parameter: None,
                }
            }
        }
    }
}

impl IntoResponse for TelnyxError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "title": self.title, "detail": self.detail});
        if let Some(p) = self.parameter {
            error["source"] = json!({ "parameter": p });
        }
        (self.status, Json(json!({ "errors": [error] }))).into_response()
    }
}

// --- auth ------------------------------------------------------------------------------------

/// A request made with a valid API key: the company it speaks for.
#[derive(Debug, Clone, Copy)]
pub struct ApiKeyAuth(pub CompanyScope);

impl FromRequestParts<AppState> for ApiKeyAuth {
    type Rejection = TelnyxError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let key = bearer(parts).ok_or(ServiceError::TokenMissing)?;
        Ok(Self(
            state.plenum.accounts().authenticate_api_key(&key).await?,
        ))
    }
}

/// The `Authorization: Bearer <value>` of a request.
pub(crate) fn bearer(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

// --- query -----------------------------------------------------------------------------------

/// The decoded `key=value` pairs of a query string.
pub(crate) fn query_pairs(uri: &Uri) -> Result<Vec<(String, String)>, String> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| e.body_text())
}

/// A date filter's day: a date (`2021-04-16`), or the UTC day of a date-time (what the SDK
/// sends for a `datetime`): with an offset, converted to UTC; without one, read as UTC.
fn date(parameter: &str, raw: &str) -> Result<jiff::civil::Date, TelnyxError> {
    let raw = raw.trim();
    if let Ok(instant) = raw.parse::<jiff::Timestamp>() {
        return Ok(instant.to_zoned(jiff::tz::TimeZone::UTC).date());
    }
    raw.parse::<jiff::civil::Date>().map_err(|_| {
        TelnyxError::bad_request(
            parameter,
            format!("{parameter} must be an ISO 8601 date such as 2021-04-16"),
        )
    })
}

fn uuid_param<T: std::str::FromStr>(parameter: &str, raw: &str) -> Result<T, TelnyxError> {
    raw.trim()
        .parse()
        .map_err(|_| TelnyxError::bad_request(parameter, format!("{parameter} must be a UUID")))
}

fn whole(parameter: &str, raw: &str, min: i64, max: i64) -> Result<i64, TelnyxError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            TelnyxError::bad_request(
                parameter,
                format!("{parameter} must be a whole number between {min} and {max}"),
            )
        })
}

/// The filters and page of a list or bulk delete.
#[derive(Debug)]
struct ListQuery {
    filter: RecordingFilter,
    page_number: i64,
    page_size: i64,
}

fn parse_query(uri: &Uri) -> Result<ListQuery, TelnyxError> {
    let pairs = query_pairs(uri).map_err(|e| TelnyxError::bad_request("query", e))?;
    let mut q = ListQuery {
        filter: RecordingFilter::default(),
        page_number: 1,
        page_size: DEFAULT_PAGE_SIZE,
    };
    let f = &mut q.filter;
    for (key, value) in &pairs {
        let k = key.as_str();
        match k {
            "page[size]" => q.page_size = whole(k, value, 1, i64::from(MAX_PAGE_SIZE))?,
            "page[number]" => q.page_number = whole(k, value, 1, 1_000_000_000)?,
            "filter[date_ended_at][eq]"
            | "filter[date_ended_at][gte]"
            | "filter[date_ended_at][lte]"
            | "filter[date_started_at][eq]"
            | "filter[date_started_at][gte]"
            | "filter[date_started_at][lte]" => {
                let (start, next) = utc_date_window(date(k, value)?)
                    .ok_or_else(|| TelnyxError::bad_request(k, format!("{k} is out of range")))?;
                let range = if k.starts_with("filter[date_ended_at]") {
                    &mut f.ended
                } else {
                    &mut f.started
                };
                if k.ends_with("[eq]") {
                    range.narrow(Some(start), Some(next));
                } else if k.ends_with("[gte]") {
                    range.narrow(Some(start), None);
                } else {
                    range.narrow(None, Some(next));
                }
            }
            "filter[room_id]" => f.room = Some(uuid_param(k, value)?),
            "filter[participant_id]" => f.participant = Some(uuid_param(k, value)?),
            "filter[session_id]" => f.session = Some(uuid_param(k, value)?),
            "filter[status]" => {
                f.status = Some(RecordingStatus::parse(value.trim()).ok_or_else(|| {
                    TelnyxError::bad_request(k, "filter[status] must be completed or processing")
                })?)
            }
            "filter[type]" => {
                f.kind = Some(RecordingKind::parse(value.trim()).ok_or_else(|| {
                    TelnyxError::bad_request(k, "filter[type] must be audio or video")
                })?)
            }
            "filter[duration_secs][eq]" => {
                let n = duration(k, value)?;
                f.min_duration_secs = Some(f.min_duration_secs.map_or(n, |m| m.max(n)));
                f.max_duration_secs = Some(f.max_duration_secs.map_or(n, |m| m.min(n)));
            }
            "filter[duration_secs][gte]" | "filter[duration_secs]" => {
                let n = duration(k, value)?;
                f.min_duration_secs = Some(f.min_duration_secs.map_or(n, |m| m.max(n)));
            }
            "filter[duration_secs][lte]" => {
                let n = duration(k, value)?;
                f.max_duration_secs = Some(f.max_duration_secs.map_or(n, |m| m.min(n)));
            }
            other if other.starts_with("filter[") || other.starts_with("page[") => {
                return Err(TelnyxError::bad_request(
                    other,
                    format!("{other} is not a filter of room recordings"),
                ));
            }
            // Other parameters (e.g. a client's cache buster) are not ours to refuse.
            _ => {}
        }
    }
    Ok(q)
}

fn duration(parameter: &str, raw: &str) -> Result<u32, TelnyxError> {
    whole(parameter, raw, 0, i64::from(u32::MAX)).map(|n| n as u32)
}

// --- answers ---------------------------------------------------------------------------------

/// A recording as Telnyx shows it, borrowed from the record and written straight out.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TelnyxRoomRecording, description = "A room recording. Instants are ISO 8601 UTC \
    with microseconds (`2021-04-16T09:46:20.954000Z`).")]
struct RoomRecording<'a> {
    /// The recording.
    #[schema(value_type = String, format = Uuid)]
    id: RecordingId,
    /// The persistent room the session was held in; `null` for a meeting outside a room.
    #[schema(value_type = Option<String>, format = Uuid)]
    room_id: Option<RoomId>,
    /// The session (one holding of the meeting).
    #[schema(value_type = String, format = Uuid)]
    session_id: SessionId,
    /// The participant's stay this recording is of; `null` for a whole-session recording.
    #[schema(value_type = Option<String>, format = Uuid)]
    participant_id: Option<AttendanceId>,
    /// `completed` or `processing` (`failed` for a recording that could not be finished).
    #[schema(value_type = String, example = "completed")]
    status: &'static str,
    /// A signed download link (`/files/recordings/...`).
    #[schema(value_type = String)]
    download_url: &'a str,
    /// `audio` or `video`.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "video")]
    kind: &'static str,
    duration_secs: u32,
    /// Megabytes (10^6 bytes), to two decimals.
    size_mb: f64,
    #[schema(value_type = String, example = "vp8")]
    codec: &'a str,
    #[schema(value_type = String, format = DateTime)]
    created_at: Utc,
    #[schema(value_type = String, format = DateTime)]
    updated_at: Utc,
    #[schema(value_type = String, format = DateTime)]
    started_at: Utc,
    #[schema(value_type = Option<String>, format = DateTime)]
    ended_at: Option<Utc>,
    #[schema(value_type = Option<String>, format = DateTime)]
    completed_at: Option<Utc>,
    /// `room_session`, as the seed's sample shows it.
    #[schema(value_type = String, example = "room_session")]
    record_type: &'static str,
}

/// `2021-04-16T09:46:20.954000Z`.
fn instant(t: jiff::Timestamp) -> Utc {
    Utc::new(t, 6)
}

impl<'a> From<&'a RecordingView> for RoomRecording<'a> {
    fn from(v: &'a RecordingView) -> Self {
        let r = &v.recording;
        Self {
            id: r.id,
            room_id: v.room,
            session_id: r.session,
            participant_id: r.attendance,
            status: r.status.as_str(),
            download_url: &r.download_url,
            kind: r.kind.as_str(),
            duration_secs: r.duration_secs,
            // Megabytes of 10^6 bytes, to two decimals.
            size_mb: (r.size_bytes as f64 / 10_000.0).round() / 100.0,
            codec: &r.codec,
            created_at: instant(r.created_at),
            updated_at: instant(r.updated_at),
            started_at: instant(r.started_at),
            ended_at: r.ended_at.map(instant),
            completed_at: r.completed_at.map(instant),
            // As the seed's sample shows it.
            record_type: "room_session",
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TelnyxMeta)]
struct Meta {
    page_number: i64,
    page_size: i64,
    total_pages: u64,
    total_results: u64,
}

/// A page of recordings, newest start first.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TelnyxRoomRecordingList)]
struct ListResponse<'a> {
    data: Vec<RoomRecording<'a>>,
    meta: Meta,
}

/// `GET /v2/room_recordings`: a page of the company's recordings matching every filter given.
#[utoipa::path(get, path = "/v2/room_recordings", tag = "Telnyx",
    summary = "List room recordings",
    description = "A page of the company's recordings matching every filter given, newest start first.",
    security(("api_key" = [])),
    params(openapi::Filters, openapi::Paging),
    responses(
        (status = 200, body = ListResponse),
        (status = 400, description = "10015: a filter or page parameter is wrong (`source.parameter` names it)", body = openapi::Errors),
        (status = 401, description = "10009: no API key, or an unknown or revoked one", body = openapi::Errors),
        (status = 500, description = "10007", body = openapi::Errors),
    ))]
async fn list(
    State(state): State<AppState>,
    ApiKeyAuth(scope): ApiKeyAuth,
    uri: Uri,
) -> Result<Response, TelnyxError> {
    let q = parse_query(&uri)?;
    let page = PageRequest::by_number(q.page_number, q.page_size, MAX_PAGE_SIZE)
        .map_err(|e| TelnyxError::bad_request("page", e.to_string()))?;
    let found = state
        .plenum
        .history()
        .find_recordings(scope, &q.filter, page)
        .await?;
    // ~600 bytes a recording.
    let capacity = 256 + found.items.len() * 768;
    Ok(large_json(
        &ListResponse {
            meta: Meta {
                page_number: q.page_number,
                page_size: q.page_size,
                total_pages: found.total_pages(page.limit()),
                total_results: found.total,
            },
            data: found.items.iter().map(RoomRecording::from).collect(),
        },
        capacity,
    ))
}

/// `GET /v2/room_recordings/{room_recording_id}`.
#[utoipa::path(get, path = "/v2/room_recordings/{room_recording_id}", tag = "Telnyx",
    summary = "Retrieve a room recording",
    security(("api_key" = [])),
    params(("room_recording_id" = String, Path, format = Uuid, description = "The recording's `id`")),
    responses(
        (status = 200, body = openapi::RecordingResponse),
        (status = 404, description = "10005: no such recording in the key's company", body = openapi::Errors),
        (status = 401, description = "10009: no API key, or an unknown or revoked one", body = openapi::Errors),
        (status = 500, description = "10007", body = openapi::Errors),
    ))]
async fn retrieve(
    State(state): State<AppState>,
    ApiKeyAuth(scope): ApiKeyAuth,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<serde_json::Value>, TelnyxError> {
    // An id that is not even text (`%FF`) names no recording either.
    let id: RecordingId = id
        .ok()
        .and_then(|Path(id)| id.parse().ok())
        .ok_or_else(|| TelnyxError::not_found("The requested room recording does not exist."))?;
    let view = state.plenum.history().recording(scope, id).await?;
    Ok(Json(json!({ "data": RoomRecording::from(&view) })))
}

/// `DELETE /v2/room_recordings/{room_recording_id}`: deletes one recording and its file;
/// `204 No Content`, as Telnyx answers.
#[utoipa::path(delete, path = "/v2/room_recordings/{room_recording_id}", tag = "Telnyx",
    summary = "Delete a room recording",
    description = "Deletes the recording and its file.",
    security(("api_key" = [])),
    params(("room_recording_id" = String, Path, format = Uuid, description = "The recording's `id`")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "10005: no such recording in the key's company", body = openapi::Errors),
        (status = 401, description = "10009: no API key, or an unknown or revoked one", body = openapi::Errors),
        (status = 500, description = "10007", body = openapi::Errors),
    ))]
async fn delete_one(
    State(state): State<AppState>,
    ApiKeyAuth(scope): ApiKeyAuth,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, TelnyxError> {
    let id: RecordingId = id
        .ok()
        .and_then(|Path(id)| id.parse().ok())
        .ok_or_else(|| TelnyxError::not_found("The requested room recording does not exist."))?;
    state.plenum.history().delete_recording(scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v2/room_recordings`: deletes every recording of the company matching the filters
/// (paging parameters are accepted and checked, but the deletion is of all matches, as
/// Telnyx's bulk delete does) and answers how many.
#[utoipa::path(delete, path = "/v2/room_recordings", tag = "Telnyx",
    summary = "Delete room recordings",
    description = "Deletes every recording of the company matching the filters (with none, every \
        recording of the company), with their files. Paging parameters are checked but do not \
        limit the deletion.",
    security(("api_key" = [])),
    params(openapi::Filters, openapi::Paging),
    responses(
        (status = 200, body = openapi::DeletedResponse),
        (status = 400, description = "10015: a filter or page parameter is wrong (`source.parameter` names it)", body = openapi::Errors),
        (status = 401, description = "10009: no API key, or an unknown or revoked one", body = openapi::Errors),
        (status = 500, description = "10007", body = openapi::Errors),
    ))]
async fn delete_bulk(
    State(state): State<AppState>,
    ApiKeyAuth(scope): ApiKeyAuth,
    uri: Uri,
) -> Result<Json<serde_json::Value>, TelnyxError> {
    let q = parse_query(&uri)?;
    let n = state
        .plenum
        .history()
        .delete_recordings(scope, &q.filter)
        .await?;
    Ok(Json(json!({ "data": { "room_recordings": n } })))
}

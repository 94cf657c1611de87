//! Rocket.Chat: the video calls of a room (seed `001_3e2763ed69564615.txt`), and the login
//! that Rocket.Chat clients (such as the `rocketchat_API` Python client) make first.
//!
//! Wire conventions of this dialect, in one place (decisions in `docs/history.md`):
//! - `POST /api/v1/login` with `{"username"|"user", "password"}` answers
//!   `{"status": "success", "data": {"authToken", "userId", "me"}}`; `authToken` is a Plenum
//!   access token of that user, `userId` the user's id.
//! - Other calls carry `X-User-Id` and `X-Auth-Token`; both must belong together. Without
//!   them: 401 `{"status": "error", "message": "You must be logged in to do this."}`.
//! - `roomId`/`rid` is a persistent room (FRTC `meeting_room_id`) of the user's company; a
//!   call (`_id`) is one session held in it. A room that does not exist or is another
//!   company's is 400 `{"success": false, "error": "invalid-params"}`, as Rocket.Chat answers
//!   a room the user cannot access.
//! - `status` is Rocket.Chat's `VideoConferenceStatus`: 1 (`STARTED`) while the session runs,
//!   3 (`ENDED`) once it ended (Plenum has no ringing, expired or declined calls: 0, 2, 4).
//! - `offset` (default 0) and `count` (default 50, at most 100 — Rocket.Chat's default and
//!   upper count limit; larger counts are cut to 100, 0 means the default); newest first; the
//!   answer's `count` is the number of items returned, `total` the number of calls.
//! - Rate limit: 3 requests per 1000 ms per user, counted on every node
//!   together (`rate_limit.rs`, `--rocketchat-rate-limit`), beyond
//!   that 429 `{"success": false, "error": "Error, too many requests. Please slow down. You
//!   must wait N seconds before trying this endpoint again. [error-too-many-requests]"}`, as
//!   Rocket.Chat's API layer answers, with its `X-RateLimit-*` headers.
//! - Instants: ISO 8601 UTC with milliseconds.

pub(crate) mod openapi;
mod rate_limit;
mod rendered;

pub use rate_limit::DOCUMENTED_LIMIT;
pub use rendered::RenderedCalls;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use plenum_domain::credentials::Password;
use plenum_domain::history_query::SessionSummary;
use plenum_domain::ids::{RoomId, SessionId, UserId};
use plenum_domain::limits::Attempts;
use plenum_domain::paging::PageRequest;
use plenum_service::{CompanyScope, Credential, ServiceError};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::AppState;
use crate::large_json::json_answer;
use crate::telnyx::query_pairs;
use crate::wire_time::Utc;

/// Rocket.Chat's `API_Default_Count` and `API_Upper_Count_Limit` defaults.
pub const DEFAULT_COUNT: i64 = 50;
pub const MAX_COUNT: i64 = 100;

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/api/v1/login", post(login))
        .route("/api/v1/video-conference.list", get(list))
}

// --- errors ----------------------------------------------------------------------------------

#[derive(Debug)]
pub enum RocketError {
    /// 401 of any authenticated endpoint.
    NotLoggedIn,
    /// 401 of `login`.
    LoginFailed,
    /// 400 `{"success": false, "error": .., "errorType"?: ..}`.
    Failure {
        error: String,
        error_type: Option<&'static str>,
    },
    TooManyRequests {
        wait_secs: i64,
        limit: u32,
        reset_ms: i64,
    },
    /// The request body is larger than the server reads.
    TooLarge,
    Internal,
}

/// Where this dialect's paths are (under FRTC's `/api/v1`): the router answers what it
/// cannot route there (no such endpoint, a method the endpoint does not take) with
/// [`unrouted`].
pub(crate) fn owns(path: &str) -> bool {
    path == "/api/v1/login" || path.starts_with("/api/v1/video-conference")
}

/// The router's own answer for a path [`owns`] names, as Rocket.Chat's REST layer gives it.
pub(crate) fn unrouted(status: StatusCode) -> Response {
    (
        status,
        Json(json!({"status": "error", "message": "API endpoint does not exist"})),
    )
        .into_response()
}

/// axum's own refusal of a request for a path [`owns`] names: a body over the limit as the
/// login's; a path or query string that cannot be decoded, invalid parameters.
pub(crate) fn rejected(status: StatusCode, message: &str) -> Response {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        RocketError::TooLarge
    } else {
        RocketError::invalid_params(message)
    }
    .into_response()
}

impl RocketError {
    fn invalid_params(message: &str) -> Self {
        RocketError::Failure {
            error: format!("{message} [invalid-params]"),
            error_type: Some("invalid-params"),
        }
    }
}

impl IntoResponse for RocketError {
    fn into_response(self) -> Response {
        match self {
            RocketError::NotLoggedIn => (
                StatusCode::UNAUTHORIZED,
                Json(json!({"status": "error", "message": "You must be logged in to do this."})),
            )
                .into_response(),
            RocketError::LoginFailed => (
                StatusCode::UNAUTHORIZED,
                Json(
                    json!({"status": "error", "error": "Unauthorized", "message": "Unauthorized"}),
                ),
            )
                .into_response(),
            RocketError::Failure { error, error_type } => {
                let mut body = json!({"success": false, "error": error});
                if let Some(t) = error_type {
                    body["errorType"] = json!(t);
                }
                (StatusCode::BAD_REQUEST, Json(body)).into_response()
            }
            RocketError::TooManyRequests {
                wait_secs,
                limit,
                reset_ms,
            } => {
                let mut response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({
                        "success": false,
                        "error": format!("Error, too many requests. Please slow down. You must wait {wait_secs} seconds before trying this endpoint again. [error-too-many-requests]"),
                    })),
                )
                    .into_response();
                let headers = response.headers_mut();
                for (name, value) in [
                    ("x-ratelimit-limit", limit.to_string()),
                    ("x-ratelimit-remaining", "0".to_owned()),
                    ("x-ratelimit-reset", reset_ms.to_string()),
                ] {
                    if let Ok(v) = HeaderValue::from_str(&value) {
                        headers.insert(name, v);
                    }
                }
                response
            }
            RocketError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                Json(json!({"success": false, "error": "The request body is too large."})),
            )
                .into_response(),
            RocketError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"success": false, "error": "Internal server error"})),
            )
                .into_response(),
        }
    }
}

fn internal(e: ServiceError) -> RocketError {
    tracing::error!(error = %e, "internal error");
    RocketError::Internal
}

// --- login -----------------------------------------------------------------------------------

/// `POST /api/v1/login`.
#[utoipa::path(post, path = "/api/v1/login", tag = "Rocket.Chat",
    summary = "Login",
    description = "Signs a Plenum user in by username or e-mail address; `data.authToken` and \
        `data.userId` are then sent as `X-Auth-Token` and `X-User-Id`.",
    request_body(content = openapi::LoginRequest, content_type = "application/json"),
    responses(
        (status = 200, body = openapi::LoginResponse),
        (status = 401, description = "Wrong user or password, a locked account, or an unreadable body", body = openapi::StatusError),
        (status = 413, description = "The body is too large", body = openapi::Failure),
        (status = 500, body = openapi::Failure),
    ))]
async fn login(
    State(state): State<AppState>,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Json<Value>, RocketError> {
    let body = body.map_err(|r| match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => RocketError::TooLarge,
        _ => RocketError::LoginFailed,
    })?;
    let body: Value = serde_json::from_slice(&body).map_err(|_| RocketError::LoginFailed)?;
    let name = body["username"]
        .as_str()
        .or_else(|| body["user"].as_str())
        .ok_or(RocketError::LoginFailed)?;
    let password = body["password"].as_str().ok_or(RocketError::LoginFailed)?;
    let password = Password::parse_for_sign_in(password).map_err(|_| RocketError::LoginFailed)?;
    // `user` is a username or an e-mail address (rocketchat_API sends either there).
    let signed = state
        .plenum
        .accounts()
        .sign_in_by_login(
            name,
            Credential::Password(password),
            Some("rocketchat".to_owned()),
        )
        .await
        .map_err(|e| match e {
            ServiceError::InvalidCredentials | ServiceError::AccountLocked { .. } => {
                RocketError::LoginFailed
            }
            other => internal(other),
        })?;
    let user = &signed.user;
    Ok(Json(json!({
        "status": "success",
        "data": {
            "authToken": signed.token,
            "userId": user.id.to_string(),
            "me": {
                "_id": user.id.to_string(),
                "username": user.username.as_str(),
                "name": display_name(&user.profile.real_name, user.username.as_str()),
            },
        },
    })))
}

fn display_name<'a>(real_name: &'a str, username: &'a str) -> &'a str {
    if real_name.is_empty() {
        username
    } else {
        real_name
    }
}

// --- video-conference.list -----------------------------------------------------------------

/// The user `X-User-Id`/`X-Auth-Token` belong to, and their company.
async fn logged_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(UserId, CompanyScope), RocketError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let (Some(user_id), Some(token)) = (header("x-user-id"), header("x-auth-token")) else {
        return Err(RocketError::NotLoggedIn);
    };
    let principal = state
        .plenum
        .accounts()
        .authenticate(token)
        .await
        .map_err(|e| match e {
            ServiceError::TokenMissing
            | ServiceError::TokenInvalid
            | ServiceError::TokenExpired => RocketError::NotLoggedIn,
            other => internal(other),
        })?;
    if principal.user.id.to_string() != user_id {
        return Err(RocketError::NotLoggedIn);
    }
    Ok((
        principal.user.id,
        CompanyScope {
            company: principal.company(),
        },
    ))
}

/// `2021-04-16T09:46:20.954Z`.
fn iso(t: jiff::Timestamp) -> Utc {
    Utc::new(t, 3)
}

/// A call as `video-conference.list` shows it, borrowed from the record. Fields in byte order
/// of their names, as a JSON object map writes them (the answer was first built as
/// `serde_json::Value`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RocketChatCall, description = "A video call: one session held in the room. \
    Instants are ISO 8601 UTC with milliseconds (`2021-04-16T09:46:20.954Z`).")]
struct Call<'a> {
    /// The session (one holding of the meeting).
    #[serde(rename = "_id")]
    #[schema(value_type = String, format = Uuid)]
    id: SessionId,
    /// The end or, while the call runs, the start.
    #[serde(rename = "_updatedAt")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: Utc,
    /// Stays of guests (participants without a user).
    #[serde(rename = "anonymousUsers")]
    anonymous_users: u32,
    /// The start.
    #[serde(rename = "createdAt")]
    #[schema(value_type = String, format = DateTime)]
    created_at: Utc,
    /// The session's owner.
    #[serde(rename = "createdBy")]
    created_by: Person<'a>,
    /// The end; absent while the call runs.
    #[serde(rename = "endedAt", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, format = DateTime, required = false)]
    ended_at: Option<Utc>,
    /// Plenum posts no chat messages: `{}`.
    messages: NoMessages,
    /// `plenum`.
    #[serde(rename = "providerName")]
    #[schema(value_type = String, example = "plenum")]
    provider_name: &'static str,
    /// The room (FRTC `meeting_room_id`).
    #[schema(value_type = String, format = Uuid)]
    rid: RoomId,
    /// Rocket.Chat's `VideoConferenceStatus`: 1 (`STARTED`) while the call runs, 3 (`ENDED`).
    #[schema(minimum = 0, maximum = 4, example = 3)]
    status: u8,
    /// The meeting's name.
    #[schema(value_type = String)]
    title: &'a str,
    /// `videoconference`.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "videoconference")]
    kind: &'static str,
    /// The meeting's join link.
    #[schema(value_type = String)]
    url: &'a str,
    /// The company's users who attended, in order of first join.
    users: Vec<Attendee<'a>>,
}

/// Always empty.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RocketChatMessages)]
struct NoMessages {}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RocketChatPerson)]
struct Person<'a> {
    #[serde(rename = "_id")]
    #[schema(value_type = String, format = Uuid)]
    id: UserId,
    /// The real name, or the username when there is none.
    #[schema(value_type = String)]
    name: &'a str,
    #[schema(value_type = String)]
    username: &'a str,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RocketChatAttendee)]
struct Attendee<'a> {
    #[serde(rename = "_id")]
    #[schema(value_type = String, format = Uuid)]
    id: UserId,
    /// The real name, or the username when there is none.
    #[schema(value_type = String)]
    name: &'a str,
    /// The user's first join.
    #[schema(value_type = String, format = DateTime)]
    ts: Utc,
    #[schema(value_type = String)]
    username: &'a str,
}

/// `url` is the meeting's join link.
fn call<'a>(room: RoomId, s: &'a SessionSummary, url: &'a str) -> Call<'a> {
    let session = &s.session;
    Call {
        id: session.id,
        updated_at: iso(session.ended_at.unwrap_or(session.started_at)),
        anonymous_users: s.guest_stays,
        created_at: iso(session.started_at),
        created_by: Person {
            id: s.owner.id,
            name: display_name(&s.owner.real_name, &s.owner.username),
            username: &s.owner.username,
        },
        ended_at: session.ended_at.map(iso),
        messages: NoMessages {},
        provider_name: "plenum",
        rid: room,
        // Rocket.Chat's VideoConferenceStatus: STARTED = 1, ENDED = 3.
        status: if session.is_running() { 1 } else { 3 },
        title: &session.name,
        kind: "videoconference",
        url,
        users: s
            .participants
            .iter()
            .map(|p| Attendee {
                id: p.user.id,
                name: display_name(&p.user.real_name, &p.user.username),
                ts: iso(p.first_joined_at),
                username: &p.user.username,
            })
            .collect(),
    }
}

/// The answer of `video-conference.list`, as serde writes `{count, data, offset, success,
/// total}` (tested), each call's JSON remembered or written afresh.
fn call_list_json(
    rendered: &RenderedCalls,
    listed: &[(&SessionSummary, RoomId, String)],
    offset: i64,
    total: u64,
) -> Vec<u8> {
    // ~1.3 KB a call with its users.
    let mut body = Vec::with_capacity(256 + listed.len() * 1536);
    body.extend_from_slice(format!("{{\"count\":{},\"data\":[", listed.len()).as_bytes());
    rendered.write_all(&mut body, listed, |out, s, room, url| {
        // A `Call` of plain strings and numbers always serialises.
        let _ = serde_json::to_writer(out, &call(room, s, url));
    });
    body.extend_from_slice(
        format!("],\"offset\":{offset},\"success\":true,\"total\":{total}}}").as_bytes(),
    );
    body
}

/// `GET /api/v1/video-conference.list?roomId=..&offset=..&count=..`.
#[utoipa::path(get, path = "/api/v1/video-conference.list", tag = "Rocket.Chat",
    summary = "List the video calls of a room",
    description = "The calls (sessions) held in one persistent room, newest first. At most 3 \
        requests per 1000 ms per user.",
    security(("rocketchat_user_id" = [], "rocketchat_auth_token" = [])),
    params(
        ("roomId" = String, Query, format = Uuid, description = "A persistent room of the user's company (FRTC `meeting_room_id`)"),
        ("offset" = Option<u32>, Query, description = "Calls to skip (default 0)"),
        ("count" = Option<u32>, Query, description = "Calls to return: default 50, at most 100 (larger is cut to 100, 0 is the default)"),
    ),
    responses(
        (status = 200, body = openapi::CallList, headers(
            ("X-RateLimit-Limit" = u32, description = "Requests allowed per 1000 ms"),
            ("X-RateLimit-Remaining" = u32, description = "Requests left in this window"),
        )),
        (status = 400, description = "`invalid-params`: no `roomId`, a bad `offset`/`count`, or a room that is not the user's company's", body = openapi::Failure),
        (status = 401, description = "Not logged in: `X-User-Id`/`X-Auth-Token` missing, unknown, or not of one user", body = openapi::StatusError),
        (status = 429, description = "Over the rate limit (`error-too-many-requests`)", body = openapi::Failure, headers(
            ("X-RateLimit-Limit" = u32),
            ("X-RateLimit-Remaining" = u32),
            ("X-RateLimit-Reset" = i64, description = "Unix milliseconds when the window ends"),
        )),
        (status = 500, body = openapi::Failure),
    ))]
async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, RocketError> {
    let (user, scope) = logged_in(&state, &headers).await?;
    let window = rate_limit::window(state.rocketchat_rate_limit);
    let limit = window.limit;
    let remaining = state
        .plenum
        .integrations()
        .count_request(&Attempts::RocketChatRequests(user).key(), window)
        .await
        .map_err(internal)?
        .map_err(|reset| {
            let (reset_ms, now_ms) = (reset.as_millisecond(), state.plenum.now().as_millisecond());
            RocketError::TooManyRequests {
                wait_secs: (reset_ms - now_ms + 999).div_euclid(1000).max(1),
                limit,
                reset_ms,
            }
        })?;

    let pairs = query_pairs(&uri).map_err(|e| RocketError::invalid_params(&e))?;
    let get = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
    };
    let room = get("roomId")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| RocketError::invalid_params("must have required property 'roomId'"))?;
    let number = |name: &str, default: i64| -> Result<i64, RocketError> {
        match get(name) {
            None | Some("") => Ok(default),
            Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                RocketError::invalid_params(&format!("'{name}' must be a non-negative integer"))
            }),
        }
    };
    let offset = number("offset", 0)?;
    let count = match number("count", DEFAULT_COUNT)? {
        0 => DEFAULT_COUNT,
        n => n.min(MAX_COUNT),
    };
    let not_accessible = || RocketError::Failure {
        error: "invalid-params".to_owned(),
        error_type: None,
    };
    let room: RoomId = room.parse().map_err(|_| not_accessible())?;
    let page = PageRequest::by_offset(offset, count, MAX_COUNT as u32)
        .map_err(|e| RocketError::invalid_params(&e.to_string()))?;
    let calls = state
        .plenum
        .history()
        .room_sessions(scope, room, page)
        .await
        .map_err(|e| match e {
            ServiceError::RoomNotFound => not_accessible(),
            other => internal(other),
        })?;
    let listed: Vec<(&SessionSummary, RoomId, String)> = calls
        .items
        .iter()
        .map(|s| {
            let url = state
                .plenum
                .scheduling()
                .meeting_url(s.session.meeting_number.as_str());
            (s, room, url)
        })
        .collect();
    let body = call_list_json(&state.rendered_calls, &listed, offset, calls.total);
    let mut response = json_answer(body);
    if let Ok(v) = HeaderValue::from_str(&remaining.to_string()) {
        response.headers_mut().insert("x-ratelimit-remaining", v);
    }
    if let Ok(v) = HeaderValue::from_str(&limit.to_string()) {
        response.headers_mut().insert("x-ratelimit-limit", v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plenum_domain::history::Session;
    use plenum_domain::history_query::SessionParticipant;
    use plenum_domain::ids::{CompanyId, SessionId};
    use plenum_domain::schedule::{MeetingNumber, UserRef};

    /// The answer as it was first written, with `json!` (whose maps order keys by bytes).
    fn as_value(room: RoomId, s: &SessionSummary, url: &str) -> Value {
        let session = &s.session;
        let mut call = json!({
            "_id": session.id.to_string(),
            "type": "videoconference",
            "users": s.participants.iter().map(|p| json!({
                "_id": p.user.id.to_string(),
                "username": p.user.username,
                "name": display_name(&p.user.real_name, &p.user.username),
                "ts": iso(p.first_joined_at),
            })).collect::<Vec<_>>(),
            "messages": {},
            "status": if session.is_running() { 1 } else { 3 },
            "anonymousUsers": s.guest_stays,
            "createdAt": iso(session.started_at),
            "providerName": "plenum",
            "title": session.name,
            "rid": room.to_string(),
            "createdBy": {
                "_id": s.owner.id.to_string(),
                "name": display_name(&s.owner.real_name, &s.owner.username),
                "username": s.owner.username,
            },
            "_updatedAt": iso(session.ended_at.unwrap_or(session.started_at)),
            "url": url,
        });
        if let Some(ended) = session.ended_at {
            call["endedAt"] = json!(iso(ended));
        }
        call
    }

    #[test]
    fn calls_are_written_byte_for_byte_as_before() {
        let t = |s| jiff::Timestamp::from_second(s).unwrap_or_else(|e| panic!("{e}"));
        let owner = UserRef {
            id: UserId::new(t(0)),
            username: "alice".to_owned(),
            real_name: "Alice \"A\" Ä".to_owned(),
        };
        let guest_free = UserRef {
            id: UserId::new(t(0)),
            username: "bob".to_owned(),
            real_name: String::new(),
        };
        let room = RoomId::new(t(0));
        for ended in [None, Some(t(5000))] {
            let summary = SessionSummary {
                seq: 7,
                number: 3,
                session: Session {
                    id: SessionId::new(t(0)),
                    company: CompanyId::new(t(0)),
                    meeting_number: MeetingNumber::parse("5550001")
                        .unwrap_or_else(|e| panic!("{e}")),
                    name: "Design review".to_owned(),
                    owner: owner.id,
                    room: Some(room),
                    schedule: None,
                    started_at: t(1000),
                    ended_at: ended,
                    peak_participants: 2,
                    invitees: Vec::new(),
                },
                owner: owner.clone(),
                participants: vec![
                    SessionParticipant {
                        user: owner.clone(),
                        first_joined_at: t(1001),
                    },
                    SessionParticipant {
                        user: guest_free.clone(),
                        first_joined_at: t(1002),
                    },
                ]
                .into(),
                guest_stays: 3,
                recording_url: None,
                recording_file: None,
            };
            let url = "https://meet.example/j/5550001";
            let typed =
                serde_json::to_string(&call(room, &summary, url)).unwrap_or_else(|e| panic!("{e}"));
            let before = serde_json::to_string(&as_value(room, &summary, url))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(typed, before);
        }
    }

    #[derive(Debug, Serialize)]
    struct CallList<'a> {
        count: usize,
        data: Vec<Call<'a>>,
        offset: i64,
        success: bool,
        total: u64,
    }

    fn summary(name: &str, ended: Option<i64>) -> SessionSummary {
        let t = |s| jiff::Timestamp::from_second(s).unwrap_or_else(|e| panic!("{e}"));
        let owner = UserRef {
            id: UserId::new(t(0)),
            username: "alice".to_owned(),
            real_name: "Alice".to_owned(),
        };
        SessionSummary {
            seq: 1,
            number: 1,
            session: Session {
                id: SessionId::new(t(0)),
                company: CompanyId::new(t(0)),
                meeting_number: MeetingNumber::parse("5550001").unwrap_or_else(|e| panic!("{e}")),
                name: name.to_owned(),
                owner: owner.id,
                room: None,
                schedule: None,
                started_at: t(1000),
                ended_at: ended.map(t),
                peak_participants: 1,
                invitees: Vec::new(),
            },
            owner: owner.clone(),
            participants: vec![SessionParticipant {
                user: owner,
                first_joined_at: t(1001),
            }]
            .into(),
            guest_stays: 0,
            recording_url: None,
            recording_file: None,
        }
    }

    /// What serde writes for the same list, afresh.
    fn afresh(listed: &[(&SessionSummary, RoomId, String)], offset: i64, total: u64) -> String {
        serde_json::to_string(&CallList {
            count: listed.len(),
            data: listed
                .iter()
                .map(|(s, room, url)| call(*room, s, url))
                .collect(),
            offset,
            success: true,
            total,
        })
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn remembered_calls_answer_what_writing_them_afresh_would() {
        let t = |s| jiff::Timestamp::from_second(s).unwrap_or_else(|e| panic!("{e}"));
        let rendered = RenderedCalls::default();
        let room = RoomId::new(t(0));
        let url = "https://meet.example/j/5550001".to_owned();
        let ended = summary("Design review", Some(5000));
        let running = summary("Stand-up", None);
        let list = |calls: &[(&SessionSummary, RoomId, String)]| {
            String::from_utf8(call_list_json(&rendered, calls, 0, 9))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let calls = [(&ended, room, url.clone()), (&running, room, url.clone())];
        // Written, then remembered: the same bytes as serde writes, both times.
        assert_eq!(list(&calls), afresh(&calls, 0, 9));
        assert_eq!(list(&calls), afresh(&calls, 0, 9));
        assert_eq!(list(&[]), afresh(&[], 0, 9));
        // Whatever changed in a remembered call's inputs shows.
        let renamed = summary("Design review, renamed", Some(5000));
        let calls = [(&renamed, room, url.clone())];
        assert_eq!(list(&calls), afresh(&calls, 0, 9));
        let mut more = summary("Design review, renamed", Some(5000));
        more.guest_stays = 2;
        let calls = [(&more, room, url.clone())];
        assert_eq!(list(&calls), afresh(&calls, 0, 9));
        let moved = RoomId::new(t(1));
        let calls = [(&more, moved, "https://other.example/j/5550001".to_owned())];
        assert_eq!(list(&calls), afresh(&calls, 0, 9));
    }
}

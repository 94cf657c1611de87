//! Rokid remote collaboration: paged meeting history and the participants of one meeting
//! (seed `000_afaf5dd098488e58.txt`).
//!
//! Wire conventions of this dialect, in one place (decisions in `docs/history.md`):
//! - Auth: `Authorization: Bearer <API key>`; the key names the company. `companyId` (the
//!   company's id, as `GET /api/v1/company` shows it) is required and must be the key's
//!   company, else 403.
//! - `id` is the session's stable number, `meetingId` its UUID; `record/list?id=` takes the
//!   `meetingId` (the number is accepted too).
//! - Times are `yyyy-MM-dd HH:mm:ss` in the company's configured time zone, both in requests
//!   (`startTime`/`endTime`: meetings that started in that window, both ends inclusive) and
//!   in answers. Durations are total minutes and seconds, `45m00s`; a running meeting or a
//!   participant still in it has `""` for its end and duration.
//! - `meetingStatus` is 进行中 (running) or 已结束 (ended); a participant is 会议中 (in the
//!   meeting), 已退出 (left) or 未进入 (invited, never joined). Each stay is one row; invitees
//!   who never joined follow, with empty times.
//! - `egressRecordUrl` is the download link of the meeting's first completed recording, `""`
//!   when there is none.
//! - Errors are Spring Boot's default body, as Rokid's Java service answers:
//!   `{"timestamp", "status", "error", "message", "path"}`.

use std::borrow::Cow;

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use plenum_domain::Field;
use plenum_domain::history_query::{
    AttendanceQuery, InstantRange, PresenceState, SearchText, SessionKey, SessionQuery,
    absent_invitees,
};
use plenum_domain::ids::CompanyId;
use plenum_domain::paging::PageRequest;
use plenum_service::{CompanyScope, HistoryError, ServiceError};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::AppState;
use crate::telnyx::{bearer, query_pairs};

pub(crate) mod openapi;

pub const DEFAULT_PAGE_SIZE: i64 = 10;
pub const MAX_PAGE_SIZE: u32 = 500;
/// Most participant rows of one meeting (stays and absent invitees).
pub const MAX_PARTICIPANT_ROWS: i64 = 10_000;

const HISTORY_PATH: &str = "/ar/corporation/openapi/rtc/meeting/info/page";
const PARTICIPANTS_PATH: &str = "/ar/corporation/openapi/rtc/meeting/record/list";

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(HISTORY_PATH, post(meeting_history))
        .route(PARTICIPANTS_PATH, get(participants))
}

// --- errors ----------------------------------------------------------------------------------

#[derive(Debug)]
pub struct RokidError {
    status: StatusCode,
    message: String,
    path: Cow<'static, str>,
    /// When it happened (Spring's `timestamp`), from the service's clock.
    at: Option<jiff::Timestamp>,
}

impl RokidError {
    fn new(
        status: StatusCode,
        message: impl Into<String>,
        path: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            message: message.into(),
            path: path.into(),
            at: None,
        }
    }

    /// A body that could not be read: too large (413) or not readable, as Spring answers.
    fn body_rejected(rejection: &BytesRejection, path: &'static str) -> Self {
        Self::new(rejection.status(), rejection.body_text(), path)
    }

    fn at(mut self, now: jiff::Timestamp) -> Self {
        self.at = Some(now);
        self
    }

    fn bad_request(message: impl Into<String>, path: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message, path)
    }

    fn from_service(e: ServiceError, path: &'static str) -> Self {
        match e {
            ServiceError::TokenMissing => Self::new(
                StatusCode::UNAUTHORIZED,
                "missing API key: send Authorization: Bearer <API key>",
                path,
            ),
            ServiceError::TokenInvalid | ServiceError::TokenExpired => {
                Self::new(StatusCode::UNAUTHORIZED, "invalid or revoked API key", path)
            }
            ServiceError::History(HistoryError::SessionNotFound) => {
                Self::new(StatusCode::NOT_FOUND, "no such meeting", path)
            }
            other => {
                tracing::error!(error = %other, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; the server log has the details under this request's x-request-id",
                    path,
                )
            }
        }
    }
}

/// Where this dialect's paths begin: the router answers what it cannot route under it (no
/// such endpoint, a method the endpoint does not take) with [`unrouted`].
pub(crate) const PATH_PREFIX: &str = "/ar/corporation/openapi/";

/// The router's own answer under [`PATH_PREFIX`], in Spring's error shape.
pub(crate) fn unrouted(
    status: StatusCode,
    method: &Method,
    path: &str,
    now: jiff::Timestamp,
) -> Response {
    let message = if status == StatusCode::METHOD_NOT_ALLOWED {
        format!("Request method '{method}' is not supported")
    } else {
        "No endpoint here".to_owned()
    };
    RokidError::new(status, message, path.to_owned())
        .at(now)
        .into_response()
}

/// axum's own refusal of a request under [`PATH_PREFIX`] (a body over the limit, a path or
/// query string that cannot be decoded), as Spring answers it: its status and reason.
pub(crate) fn rejected(
    status: StatusCode,
    message: String,
    path: &str,
    now: jiff::Timestamp,
) -> Response {
    RokidError::new(status, message, path.to_owned())
        .at(now)
        .into_response()
}

impl IntoResponse for RokidError {
    fn into_response(self) -> Response {
        let body = json!({
            "timestamp": self
                .at
                .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()),
            "status": self.status.as_u16(),
            "error": self.status.canonical_reason().unwrap_or(""),
            "message": self.message,
            "path": self.path,
        });
        (self.status, Json(body)).into_response()
    }
}

// --- auth ------------------------------------------------------------------------------------

/// A request with a valid API key: its company and the company's time zone.
#[derive(Debug, Clone)]
pub struct RokidAuth {
    scope: CompanyScope,
    zone: TimeZone,
}

impl FromRequestParts<AppState> for RokidAuth {
    type Rejection = RokidError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let path = if parts.uri.path() == HISTORY_PATH {
            HISTORY_PATH
        } else {
            PARTICIPANTS_PATH
        };
        let now = state.plenum.now();
        let key = bearer(parts)
            .ok_or_else(|| RokidError::from_service(ServiceError::TokenMissing, path).at(now))?;
        let scope = state
            .plenum
            .accounts()
            .authenticate_api_key(&key)
            .await
            .map_err(|e| RokidError::from_service(e, path).at(now))?;
        let company = state
            .plenum
            .accounts()
            .company(scope.company)
            .await
            .map_err(|e| RokidError::from_service(e, path).at(now))?;
        Ok(Self {
            scope,
            zone: company.time_zone.time_zone(),
        })
    }
}

// --- rendering -------------------------------------------------------------------------------

const LOCAL_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// `LOCAL_FORMAT` in the company's zone.
fn local(t: jiff::Timestamp, zone: &TimeZone) -> String {
    crate::wire_time::local(t, zone)
}

/// `45m00s`: whole minutes (however many) and seconds.
fn duration(from: jiff::Timestamp, to: jiff::Timestamp) -> String {
    let secs = (to.as_second() - from.as_second()).max(0);
    format!("{}m{:02}s", secs / 60, secs % 60)
}

fn parse_local(raw: &str, zone: &TimeZone, field: &str) -> Result<jiff::Timestamp, String> {
    let dt = DateTime::strptime(LOCAL_FORMAT, raw.trim())
        .map_err(|_| format!("{field} must be formatted yyyy-MM-dd HH:mm:ss"))?;
    dt.to_zoned(zone.clone())
        .map(|z| z.timestamp())
        .map_err(|_| format!("{field} is not a time in the company's time zone"))
}

// --- meeting history ---------------------------------------------------------------------------

/// One meeting (one holding of a meeting number: a session). Times are
/// `yyyy-MM-dd HH:mm:ss` in the company's time zone.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = RokidMeetingRecord)]
struct MeetingRecord {
    /// The session's stable number within the company (1, 2, 3 ...).
    id: i64,
    /// The session's UUID (what `record/list?id=` takes).
    #[schema(format = Uuid)]
    meeting_id: String,
    meeting_name: String,
    /// The start, `yyyy-MM-dd HH:mm:ss`.
    #[schema(example = "2026-06-17 10:00:00")]
    gmt_created: String,
    /// The end; `""` while the meeting runs.
    #[schema(example = "2026-06-17 10:45:00")]
    gmt_modified: String,
    /// Total minutes and seconds; `""` while the meeting runs.
    #[schema(example = "45m00s")]
    meeting_duration: String,
    /// Download link of the first completed recording; `""` when there is none.
    egress_record_url: String,
    /// 进行中 (running) or 已结束 (ended).
    #[schema(value_type = String, pattern = "^(进行中|已结束)$", example = "已结束")]
    meeting_status: &'static str,
}

/// A page of meetings, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = RokidMeetingPage)]
struct MeetingPage {
    page_num: i64,
    page_size: i64,
    /// Meetings matching the query.
    total: u64,
    list: Vec<MeetingRecord>,
}

/// A whole number given as a JSON number or a numeric string.
fn int_field(body: &Value, name: &str, default: i64) -> Result<i64, String> {
    match &body[name] {
        Value::Null => Ok(default),
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("{name} must be a whole number")),
        Value::String(s) if s.trim().is_empty() => Ok(default),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("{name} must be a whole number")),
        _ => Err(format!("{name} must be a whole number")),
    }
}

fn str_field<'a>(body: &'a Value, name: &str) -> Result<Option<&'a str>, String> {
    match &body[name] {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.as_str()).filter(|s| !s.trim().is_empty())),
        _ => Err(format!("{name} must be a string")),
    }
}

/// `POST /ar/corporation/openapi/rtc/meeting/info/page`.
#[utoipa::path(post, path = "/ar/corporation/openapi/rtc/meeting/info/page", tag = "Rokid",
    summary = "List meeting history",
    description = "A page of the company's meetings, newest first: those whose name contains \
        `meetingName` (case-insensitive) and that started between `startTime` and `endTime` \
        (both inclusive, in the company's time zone).",
    security(("api_key" = [])),
    request_body(content = openapi::MeetingHistoryRequest, content_type = "application/json"),
    responses(
        (status = 200, body = MeetingPage),
        (status = 400, description = "A body or field that cannot be read", body = openapi::ErrorBody),
        (status = 401, description = "No API key, or an unknown or revoked one", body = openapi::ErrorBody),
        (status = 403, description = "`companyId` is not the API key's company", body = openapi::ErrorBody),
        (status = 413, description = "The body is too large", body = openapi::ErrorBody),
        (status = 500, body = openapi::ErrorBody),
    ))]
async fn meeting_history(
    State(state): State<AppState>,
    auth: RokidAuth,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Json<MeetingPage>, RokidError> {
    let now = state.plenum.now();
    let body = body.map_err(|r| RokidError::body_rejected(&r, HISTORY_PATH).at(now))?;
    history_page(state, auth, body).await.map_err(|e| e.at(now))
}

async fn history_page(
    state: AppState,
    auth: RokidAuth,
    body: axum::body::Bytes,
) -> Result<Json<MeetingPage>, RokidError> {
    let bad = |m: String| RokidError::bad_request(m, HISTORY_PATH);
    let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(&body)
            .map_err(|_| bad("the body must be a JSON object".to_owned()))?
    };
    if !body.is_object() {
        return Err(bad("the body must be a JSON object".to_owned()));
    }
    let company = str_field(&body, "companyId")
        .map_err(bad)?
        .ok_or_else(|| bad("companyId is required".to_owned()))?;
    if company.trim().parse::<CompanyId>().ok() != Some(auth.scope.company) {
        return Err(RokidError::new(
            StatusCode::FORBIDDEN,
            "companyId is not the company of this API key",
            HISTORY_PATH,
        ));
    }
    let page_num = int_field(&body, "pageNum", 1).map_err(bad)?;
    let page_size = int_field(&body, "pageSize", DEFAULT_PAGE_SIZE).map_err(bad)?;
    let page = PageRequest::by_number(page_num, page_size, MAX_PAGE_SIZE).map_err(|e| {
        // The rule's own words, under the names this request uses.
        bad(match e.field {
            Field::PageNum => format!("pageNum {}", e.reason),
            _ => format!("pageSize {}", e.reason),
        })
    })?;
    let name = SearchText::parse(
        str_field(&body, "meetingName").map_err(bad)?,
        Field::MeetingName,
    )
    .map_err(|e| bad(format!("meetingName {}", e.reason)))?;
    let from = str_field(&body, "startTime")
        .map_err(bad)?
        .map(|s| parse_local(s, &auth.zone, "startTime").map_err(bad))
        .transpose()?;
    let to = str_field(&body, "endTime")
        .map_err(bad)?
        .map(|e| parse_local(e, &auth.zone, "endTime").map_err(bad))
        .transpose()?;
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        return Err(bad("endTime is before startTime".to_owned()));
    }
    let mut started = InstantRange::default();
    // Inclusive to the second: `23:59:59` takes in that whole second.
    started.narrow(
        from,
        to.and_then(|end| end.checked_add(jiff::SignedDuration::from_secs(1)).ok()),
    );
    let query = SessionQuery {
        room: None,
        name,
        started,
        with_participants: false,
    };
    let found = state
        .plenum
        .history()
        .find_sessions(auth.scope, &query, page)
        .await
        .map_err(|e| RokidError::from_service(e, HISTORY_PATH))?;
    Ok(Json(MeetingPage {
        page_num,
        page_size,
        total: found.total,
        list: found
            .items
            .iter()
            .map(|s| {
                let session = &s.session;
                MeetingRecord {
                    id: s.number,
                    meeting_id: session.id.to_string(),
                    meeting_name: session.name.clone(),
                    gmt_created: local(session.started_at, &auth.zone),
                    gmt_modified: session
                        .ended_at
                        .map(|t| local(t, &auth.zone))
                        .unwrap_or_default(),
                    meeting_duration: session
                        .ended_at
                        .map(|end| duration(session.started_at, end))
                        .unwrap_or_default(),
                    egress_record_url: s.recording_url.clone().unwrap_or_default(),
                    meeting_status: if session.is_running() {
                        "进行中"
                    } else {
                        "已结束"
                    },
                }
            })
            .collect(),
    }))
}

// --- participants ----------------------------------------------------------------------------

/// One stay of a participant (join to leave), or an invitee who never joined (times empty).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = RokidParticipant)]
struct Participant {
    /// The user's real name, or a guest's display name.
    participant_user_full_name: String,
    /// The username; `""` for a guest.
    participant_user_name: String,
    /// Joined, `yyyy-MM-dd HH:mm:ss` in the company's time zone; `""` if never joined.
    start_time: String,
    /// Left; `""` while in the meeting or if never joined.
    end_time: String,
    /// Total minutes and seconds of the stay (`44m48s`); `""` while in the meeting.
    meeting_duration: String,
    /// 会议中 (in the meeting), 已退出 (left) or 未进入 (invited, never joined).
    #[schema(value_type = String, pattern = "^(会议中|已退出|未进入)$", example = "已退出")]
    status: &'static str,
}

fn presence_word(state: PresenceState) -> &'static str {
    match state {
        PresenceState::InMeeting => "会议中",
        PresenceState::Left => "已退出",
        PresenceState::NeverJoined => "未进入",
    }
}

/// `GET /ar/corporation/openapi/rtc/meeting/record/list?id=..`.
#[utoipa::path(get, path = "/ar/corporation/openapi/rtc/meeting/record/list", tag = "Rokid",
    summary = "List meeting participants",
    description = "The participants of one meeting: one row per stay in order of joining, then \
        the invitees who never joined (at most 10,000 rows).",
    security(("api_key" = [])),
    params(("id" = String, Query, description = "The meeting's `meetingId` (its `id` number is accepted too)")),
    responses(
        (status = 200, body = Vec<Participant>),
        (status = 400, description = "No `id`, or a malformed query", body = openapi::ErrorBody),
        (status = 401, description = "No API key, or an unknown or revoked one", body = openapi::ErrorBody),
        (status = 404, description = "No such meeting in the key's company", body = openapi::ErrorBody),
        (status = 500, body = openapi::ErrorBody),
    ))]
async fn participants(
    State(state): State<AppState>,
    auth: RokidAuth,
    uri: Uri,
) -> Result<Json<Vec<Participant>>, RokidError> {
    let now = state.plenum.now();
    participant_rows(state, auth, uri)
        .await
        .map_err(|e| e.at(now))
}

async fn participant_rows(
    state: AppState,
    auth: RokidAuth,
    uri: Uri,
) -> Result<Json<Vec<Participant>>, RokidError> {
    let bad = |m: &str| RokidError::bad_request(m, PARTICIPANTS_PATH);
    let pairs = query_pairs(&uri).map_err(|_| bad("the query string is malformed"))?;
    let id = pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "id")
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| bad("id is required"))?;
    let key = match (id.parse(), id.parse::<i64>()) {
        (Ok(uuid), _) => SessionKey::Id(uuid),
        (_, Ok(number)) => SessionKey::Number(number),
        // Neither kind of meeting id: no such meeting.
        _ => {
            return Err(RokidError::from_service(
                HistoryError::SessionNotFound.into(),
                PARTICIPANTS_PATH,
            ));
        }
    };
    let all = PageRequest::by_offset(0, MAX_PARTICIPANT_ROWS, MAX_PARTICIPANT_ROWS as u32)
        .map_err(|_| bad("internal page"))?;
    let found = state
        .plenum
        .history()
        .session_attendance(auth.scope, key, &AttendanceQuery::default(), all)
        .await
        .map_err(|e| RokidError::from_service(e, PARTICIPANTS_PATH))?;
    let stays = &found.attendance.items;
    let mut rows: Vec<Participant> = stays
        .iter()
        .map(|e| {
            let a = &e.attendance;
            Participant {
                participant_user_full_name: e
                    .user
                    .as_ref()
                    .map(|u| u.real_name.clone())
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| a.display_name.clone()),
                participant_user_name: e
                    .user
                    .as_ref()
                    .map(|u| u.username.clone())
                    .unwrap_or_default(),
                start_time: local(a.joined_at, &auth.zone),
                end_time: a.left_at.map(|t| local(t, &auth.zone)).unwrap_or_default(),
                meeting_duration: a
                    .left_at
                    .map(|t| duration(a.joined_at, t))
                    .unwrap_or_default(),
                status: presence_word(PresenceState::of(a)),
            }
        })
        .collect();
    // The invitees without a stay on the page, in the session's invitee order.
    let absent = absent_invitees(&found.session, stays);
    let people = found.invited.iter().filter(|p| absent.contains(&p.id));
    rows.extend(people.cloned().map(|p| Participant {
        participant_user_full_name: if p.real_name.is_empty() {
            p.username.clone()
        } else {
            p.real_name.clone()
        },
        participant_user_name: p.username,
        start_time: String::new(),
        end_time: String::new(),
        meeting_duration: String::new(),
        status: presence_word(PresenceState::NeverJoined),
    }));
    Ok(Json(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_count_whole_minutes_and_seconds() {
        let t = |s| jiff::Timestamp::from_second(s).unwrap_or_else(|_| unreachable!());
        assert_eq!(duration(t(0), t(2700)), "45m00s");
        assert_eq!(duration(t(0), t(2688)), "44m48s");
        assert_eq!(duration(t(0), t(7325)), "122m05s");
    }

    #[test]
    fn local_times_are_read_and_written_in_the_company_zone() {
        let berlin = TimeZone::get("Europe/Berlin").unwrap_or_else(|_| unreachable!());
        let t = parse_local("2026-06-17 10:00:00", &berlin, "startTime")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.to_string(), "2026-06-17T08:00:00Z");
        assert_eq!(local(t, &berlin), "2026-06-17 10:00:00");
        assert!(parse_local("2026-06-17T10:00:00", &berlin, "startTime").is_err());
    }
}

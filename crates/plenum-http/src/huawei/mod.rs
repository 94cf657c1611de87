//! Huawei Cloud Meeting: participant records of a historical meeting (seed
//! `004_aabd509447ce5e41.txt`), and the two token calls the official `huaweicloudsdkmeeting`
//! SDK makes before it (its `MeetingCredentials`).
//!
//! Wire conventions of this dialect, in one place (decisions in `docs/history.md`):
//! - `POST /v1/usg/acs/auth/account`: `Authorization: Basic base64(username:password)` of a
//!   Plenum user, body `{"account", "clientType"}`; answers `accessToken` (a Plenum access
//!   token of that user: only MeetingOperators and SystemAdmins may then read records).
//! - `POST /v2/usg/acs/auth/appauth`: `Authorization: HMAC-SHA256 signature=<HEX>,access=
//!   <base64(appId)>`, body `{"appId", "userId", "corpId", "expireTime", "nonce",
//!   "clientType", "deptCode"}`; the signature is HMAC-SHA256 with the app key over
//!   `appId:userId:expireTime:nonce` (or `appId:corpId:userId:expireTime:nonce`, the SDK's
//!   multi-tenant form). Answers a company-scoped `accessToken` valid 12 hours.
//! - Every other call carries the token as `X-Access-Token`.
//! - Errors: `{"error_code": "...", "error_msg": "..."}`; `Accept-Language: en-US` gives
//!   English messages, anything else (default `zh-CN`) simplified Chinese.
//! - `confUUID` is the session's id (a UUID, accepted with or without dashes); each attendee
//!   record is one stay (join→leave) of one participant; `joinTime`/`leftTime` are UTC
//!   milliseconds, `leftTime` is `null` while the participant is still in the meeting.

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::header::{ACCEPT_LANGUAGE, AUTHORIZATION};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use plenum_domain::Field;
use plenum_domain::credentials::Password;
use plenum_domain::history::{DeviceType, MediaType};
use plenum_domain::history_query::{AttendanceQuery, SearchText, SessionKey};
use plenum_domain::ids::SessionId;
use plenum_domain::paging::PageRequest;
use plenum_domain::user::Username;
use plenum_service::{AppAuthRequest, CompanyScope, Credential, HistoryError, ServiceError};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::AppState;
use crate::telnyx::query_pairs;

pub(crate) mod openapi;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: u32 = 500;

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/v1/usg/acs/auth/account", post(account_auth))
        .route("/v2/usg/acs/auth/appauth", post(app_auth))
        .route(
            "/v1/mmc/management/conferences/history/confAttendeeRecord",
            get(attendee_records),
        )
}

// --- language and errors ---------------------------------------------------------------------

/// The language of messages, from `Accept-Language` (default simplified Chinese).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    fn of(headers: &HeaderMap) -> Self {
        match headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) {
            Some(v) if v.trim().to_ascii_lowercase().starts_with("en") => Lang::En,
            _ => Lang::Zh,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::of(&parts.headers))
    }
}

/// What went wrong, in Huawei's codes (see `docs/history.md` for the table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A query parameter or body field is wrong (named).
    InvalidParam(String),
    /// The conference does not exist in the caller's company.
    ConferenceNotFound,
    /// Wrong account or password.
    WrongCredentials,
    /// The account is locked after failed sign-ins.
    AccountLocked,
    /// No token, or an unknown, expired or revoked one.
    TokenInvalid,
    /// appauth refused (unknown app, bad signature, expired signature).
    AppAuthFailed,
    /// The token's user may not read the company's records.
    Forbidden,
    /// No API at this path and method (the API gateway's answer).
    NoSuchApi(StatusCode),
    /// The request body is larger than the server reads.
    BodyTooLarge,
    Internal,
}

#[derive(Debug)]
pub struct HuaweiError {
    problem: Problem,
    lang: Lang,
}

impl HuaweiError {
    pub fn new(problem: Problem, lang: Lang) -> Self {
        Self { problem, lang }
    }

    fn parts(&self) -> (StatusCode, &'static str, String) {
        let en = self.lang == Lang::En;
        let pick = |zh: &str, english: &str| {
            if en {
                english.to_owned()
            } else {
                zh.to_owned()
            }
        };
        match &self.problem {
            Problem::InvalidParam(name) => (
                StatusCode::BAD_REQUEST,
                "MMC.111000001",
                if en {
                    format!("Invalid parameter: {name}")
                } else {
                    format!("参数错误：{name}")
                },
            ),
            Problem::ConferenceNotFound => (
                StatusCode::BAD_REQUEST,
                "MMC.111070005",
                pick("会议不存在", "The conference does not exist."),
            ),
            Problem::WrongCredentials => (
                StatusCode::UNAUTHORIZED,
                "USG.201040001",
                pick("账号或密码错误", "Incorrect account or password."),
            ),
            Problem::AccountLocked => (
                StatusCode::UNAUTHORIZED,
                "USG.201040002",
                pick(
                    "账号已被锁定，请稍后再试",
                    "The account is locked. Try again later.",
                ),
            ),
            Problem::TokenInvalid => (
                StatusCode::UNAUTHORIZED,
                "USG.000000004",
                pick(
                    "鉴权失败，Token无效或已过期",
                    "Authentication failed: the token is invalid or has expired.",
                ),
            ),
            Problem::AppAuthFailed => (
                StatusCode::UNAUTHORIZED,
                "USG.201010001",
                pick("App ID鉴权失败", "App ID authentication failed."),
            ),
            Problem::Forbidden => (
                StatusCode::FORBIDDEN,
                "MMC.111070001",
                pick("权限不足", "Insufficient permissions."),
            ),
            Problem::NoSuchApi(status) => (
                *status,
                "APIGW.0101",
                pick(
                    "API不存在或未发布到环境",
                    "The API does not exist or has not been published in the environment.",
                ),
            ),
            Problem::BodyTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "APIGW.0201",
                pick("请求体过大", "Request entity too large."),
            ),
            Problem::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "MMC.111000000",
                pick("服务器内部错误", "Internal server error."),
            ),
        }
    }

    /// A body that could not be read: too large, or not readable.
    fn body_rejected(rejection: &BytesRejection, lang: Lang) -> Self {
        let problem = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Problem::BodyTooLarge,
            _ => Problem::InvalidParam("body".to_owned()),
        };
        Self::new(problem, lang)
    }

    fn from_service(e: ServiceError, lang: Lang) -> Self {
        let problem = match e {
            ServiceError::InvalidCredentials => Problem::WrongCredentials,
            ServiceError::AccountLocked { .. } => Problem::AccountLocked,
            ServiceError::TokenMissing
            | ServiceError::TokenInvalid
            | ServiceError::TokenExpired => Problem::TokenInvalid,
            ServiceError::History(HistoryError::AppAuthFailed(why)) => {
                tracing::info!(reason = why, "appauth refused");
                Problem::AppAuthFailed
            }
            ServiceError::PermissionDenied(_) => Problem::Forbidden,
            ServiceError::History(HistoryError::SessionNotFound) => Problem::ConferenceNotFound,
            ServiceError::Invalid(v) => Problem::InvalidParam(v.field.to_string()),
            other => {
                tracing::error!(error = %other, "internal error");
                Problem::Internal
            }
        };
        Self::new(problem, lang)
    }
}

/// Where this dialect's paths begin: the router answers what it cannot route under them
/// (no such endpoint, a method the endpoint does not take) with [`unrouted`].
pub(crate) const PATH_PREFIXES: [&str; 3] = ["/v1/usg/", "/v2/usg/", "/v1/mmc/"];

/// The router's own answer under [`PATH_PREFIXES`], as Huawei's API gateway gives it.
pub(crate) fn unrouted(status: StatusCode, headers: &HeaderMap) -> Response {
    HuaweiError::new(Problem::NoSuchApi(status), Lang::of(headers)).into_response()
}

/// axum's own refusal of a request under [`PATH_PREFIXES`]: a body over the limit is the
/// gateway's `APIGW.0201`; a path or query string that cannot be decoded, an invalid parameter.
pub(crate) fn rejected(status: StatusCode, headers: &HeaderMap) -> Response {
    let problem = if status == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::BodyTooLarge
    } else {
        Problem::InvalidParam("request".to_owned())
    };
    HuaweiError::new(problem, Lang::of(headers)).into_response()
}

impl IntoResponse for HuaweiError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        (
            status,
            Json(json!({"error_code": code, "error_msg": message})),
        )
            .into_response()
    }
}

// --- auth ------------------------------------------------------------------------------------

/// A request with a valid `X-Access-Token`: the company it speaks for.
#[derive(Debug, Clone, Copy)]
pub struct AccessToken(pub CompanyScope);

impl FromRequestParts<AppState> for AccessToken {
    type Rejection = HuaweiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::of(&parts.headers);
        let token = parts
            .headers
            .get("x-access-token")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .unwrap_or("");
        state
            .plenum
            .accounts()
            .authenticate_management_token(token)
            .await
            .map(AccessToken)
            .map_err(|e| HuaweiError::from_service(e, lang))
    }
}

/// A token, sent as `X-Access-Token` on the other calls.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = HuaweiTokenResponse)]
struct TokenResponse {
    access_token: String,
    /// Always `""`.
    token_ip: String,
    /// Seconds the token is valid.
    valid_period: i64,
    /// Unix seconds when it expires.
    expire_time: i64,
    /// Unix milliseconds when it was made.
    create_time: i64,
    /// 0: a user's token; 1: an app's token.
    #[schema(minimum = 0, maximum = 1)]
    token_type: i32,
    /// A user's token: `userId`, `userName`, `realName`, `corpId`; an app's: `appId`, `corpId`.
    #[schema(value_type = Object)]
    user: Value,
}

/// `POST /v1/usg/acs/auth/account`: a user's token from `Basic` credentials.
#[utoipa::path(post, path = "/v1/usg/acs/auth/account", tag = "Huawei",
    summary = "Account login",
    description = "A Plenum user's access token from `Authorization: Basic base64(username:password)`; \
        only MeetingOperators' and SystemAdmins' tokens may read records.",
    security(("huawei_account" = [])),
    params(openapi::Language),
    request_body(content = Option<openapi::AccountAuthRequest>, content_type = "application/json"),
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, description = "MMC.111000001: no or malformed `Authorization`, an unreadable body, or another `account`", body = openapi::ErrorBody),
        (status = 401, description = "USG.201040001 wrong account or password; USG.201040002 account locked", body = openapi::ErrorBody),
        (status = 413, description = "APIGW.0201: the body is too large", body = openapi::ErrorBody),
        (status = 500, description = "MMC.111000000", body = openapi::ErrorBody),
    ))]
async fn account_auth(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Json<TokenResponse>, HuaweiError> {
    let invalid = |what: &str| HuaweiError::new(Problem::InvalidParam(what.to_owned()), lang);
    let body = body.map_err(|r| HuaweiError::body_rejected(&r, lang))?;
    let basic = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .ok_or_else(|| invalid("Authorization"))?;
    let decoded = STANDARD
        .decode(basic.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| invalid("Authorization"))?;
    let (account, password) = decoded
        .split_once(':')
        .ok_or_else(|| invalid("Authorization"))?;
    // A name or password that cannot even be one is a wrong credential, not a hint.
    let wrong = || HuaweiError::new(Problem::WrongCredentials, lang);
    let username = Username::parse(account).map_err(|_| wrong())?;
    let password = Password::parse_for_sign_in(password).map_err(|_| wrong())?;
    // The body's `account` (the SDK sends it) must be the one the credentials are for.
    if !body.is_empty() {
        let body: Value = serde_json::from_slice(&body).map_err(|_| invalid("body"))?;
        match &body["account"] {
            Value::Null => {}
            Value::String(named) if Username::parse(named).is_ok_and(|n| n == username) => {}
            _ => return Err(invalid("account")),
        }
    }
    let signed = state
        .plenum
        .accounts()
        .sign_in(
            &username,
            Credential::Password(password),
            Some("huawei-sdk".to_owned()),
        )
        .await
        .map_err(|e| HuaweiError::from_service(e, lang))?;
    let now = state.plenum.now();
    let lifetime = state.plenum.policy().token_lifetime.as_secs();
    Ok(Json(TokenResponse {
        access_token: signed.token,
        token_ip: String::new(),
        valid_period: lifetime,
        expire_time: now.as_second() + lifetime,
        create_time: now.as_millisecond(),
        token_type: 0,
        user: json!({
            "userId": signed.user.id.to_string(),
            "userName": signed.user.username.as_str(),
            "realName": signed.user.profile.real_name,
            "corpId": signed.user.company_id.to_string(),
        }),
    }))
}

/// The `Authorization: HMAC-SHA256 signature=..,access=..` header of appauth.
fn hmac_header(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let rest = value.strip_prefix("HMAC-SHA256 ")?;
    let (mut signature, mut access) = (None, None);
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("signature", v)) => signature = Some(v.trim().to_owned()),
            // base64 may end in '=': split at the first '=' only, the rest is the value.
            Some(("access", v)) => access = Some(v.trim().to_owned()),
            _ => {}
        }
    }
    Some((signature?, access?))
}

/// `POST /v2/usg/acs/auth/appauth`: a company token for a Huawei app.
#[utoipa::path(post, path = "/v2/usg/acs/auth/appauth", tag = "Huawei",
    summary = "App login",
    description = "A company-scoped access token, valid 12 hours, for a Huawei app (`POST \
        /api/v1/api_keys` with kind `huawei_app`), signed with its app key.",
    security(("huawei_app" = [])),
    params(openapi::Language),
    request_body(content = openapi::AppAuthRequest, content_type = "application/json"),
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, description = "MMC.111000001: a missing or malformed field or `Authorization`", body = openapi::ErrorBody),
        (status = 401, description = "USG.201010001: unknown app, wrong or expired signature", body = openapi::ErrorBody),
        (status = 413, description = "APIGW.0201: the body is too large", body = openapi::ErrorBody),
        (status = 500, description = "MMC.111000000", body = openapi::ErrorBody),
    ))]
async fn app_auth(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, BytesRejection>,
) -> Result<Json<TokenResponse>, HuaweiError> {
    let invalid = |what: &str| HuaweiError::new(Problem::InvalidParam(what.to_owned()), lang);
    let body = body.map_err(|r| HuaweiError::body_rejected(&r, lang))?;
    let (signature, access) = hmac_header(&headers).ok_or_else(|| invalid("Authorization"))?;
    let body: Value = serde_json::from_slice(&body).map_err(|_| invalid("body"))?;
    let text = |key: &str| -> Option<String> {
        match &body[key] {
            Value::String(s) => Some(s.clone()),
            _ => None,
        }
    };
    let app_id = text("appId")
        .filter(|a| !a.is_empty())
        .ok_or_else(|| invalid("appId"))?;
    let access_app = STANDARD
        .decode(&access)
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    if access_app.as_deref() != Some(app_id.as_str()) {
        return Err(HuaweiError::new(Problem::AppAuthFailed, lang));
    }
    let expire_time = body["expireTime"]
        .as_i64()
        .ok_or_else(|| invalid("expireTime"))?;
    let nonce = text("nonce")
        .filter(|n| (1..=128).contains(&n.len()))
        .ok_or_else(|| invalid("nonce"))?;
    let issued = state
        .plenum
        .accounts()
        .app_auth(&AppAuthRequest {
            app_id: app_id.clone(),
            signature,
            user_id: text("userId").unwrap_or_default(),
            corp_id: text("corpId"),
            expire_time,
            nonce,
        })
        .await
        .map_err(|e| HuaweiError::from_service(e, lang))?;
    Ok(Json(TokenResponse {
        access_token: issued.token,
        token_ip: String::new(),
        valid_period: issued.expires_at.as_second() - issued.issued_at.as_second(),
        expire_time: issued.expires_at.as_second(),
        create_time: issued.issued_at.as_millisecond(),
        token_type: 1,
        user: json!({ "appId": app_id, "corpId": issued.company.to_string() }),
    }))
}

// --- attendee records ------------------------------------------------------------------------

/// Huawei's name of a device type.
pub fn device_name(d: DeviceType) -> &'static str {
    match d {
        DeviceType::Desktop => "Soft client",
        DeviceType::Web => "Web client",
        DeviceType::Mobile => "Mobile client",
        DeviceType::RoomSystem => "Hard terminal",
        DeviceType::Phone => "Phone",
        DeviceType::Gateway => "Gateway",
        DeviceType::Bot => "Bot",
    }
}

pub fn media_name(m: MediaType) -> &'static str {
    match m {
        MediaType::Audio => "Audio",
        MediaType::Video => "Video",
    }
}

/// One stay (join to leave) of one participant.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = HuaweiAttendeeRecord)]
struct AttendeeRecord {
    display_name: String,
    call_number: String,
    /// `Soft client`, `Web client`, `Mobile client`, `Hard terminal`, `Phone`, `Gateway` or `Bot`.
    #[schema(value_type = String, example = "Soft client")]
    device_type: &'static str,
    /// UTC milliseconds.
    join_time: i64,
    /// UTC milliseconds; `null` while the participant is in the meeting.
    left_time: Option<i64>,
    /// `Audio` or `Video`.
    #[schema(value_type = String, example = "Video")]
    media_type: &'static str,
    dept_name: String,
}

/// A page of attendee records.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = HuaweiAttendeeRecords)]
struct AttendeeRecords {
    data: Vec<AttendeeRecord>,
    offset: i64,
    limit: i64,
    /// Records matching the query.
    count: u64,
}

/// `GET /v1/mmc/management/conferences/history/confAttendeeRecord`.
#[utoipa::path(get, path = "/v1/mmc/management/conferences/history/confAttendeeRecord", tag = "Huawei",
    summary = "List the attendee records of a held meeting",
    description = "One record per stay of each participant of one session, in order of joining.",
    security(("huawei_access_token" = [])),
    params(
        ("confUUID" = String, Query, description = "The session's id, a UUID with or without dashes"),
        ("offset" = Option<i64>, Query, minimum = 0, description = "Records to skip (default 0)"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 500, description = "Records to return (default 20, at most 500)"),
        ("searchKey" = Option<String>, Query, description = "Case-insensitive part of the display name or the call number"),
        openapi::Language,
    ),
    responses(
        (status = 200, body = AttendeeRecords),
        (status = 400, description = "MMC.111000001 a wrong parameter (named); MMC.111070005 no such conference in the token's company", body = openapi::ErrorBody),
        (status = 401, description = "USG.000000004: no token, or an invalid or expired one", body = openapi::ErrorBody),
        (status = 403, description = "MMC.111070001: the token's user may not read records", body = openapi::ErrorBody),
        (status = 500, description = "MMC.111000000", body = openapi::ErrorBody),
    ))]
async fn attendee_records(
    State(state): State<AppState>,
    lang: Lang,
    AccessToken(scope): AccessToken,
    uri: Uri,
) -> Result<Json<AttendeeRecords>, HuaweiError> {
    let invalid = |what: &str| HuaweiError::new(Problem::InvalidParam(what.to_owned()), lang);
    let pairs = query_pairs(&uri).map_err(|_| invalid("query"))?;
    let get = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let conf = get("confUUID")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| invalid("confUUID"))?;
    let session: SessionId = conf.parse().map_err(|_| invalid("confUUID"))?;
    let number = |name: &str, default: i64| -> Result<i64, HuaweiError> {
        match get(name).map(str::trim) {
            None | Some("") => Ok(default),
            Some(v) => v.parse().map_err(|_| invalid(name)),
        }
    };
    let offset = number("offset", 0)?;
    let limit = number("limit", DEFAULT_LIMIT)?;
    let page = PageRequest::by_offset(offset, limit, MAX_LIMIT).map_err(|e| {
        invalid(if e.field == Field::Offset {
            "offset"
        } else {
            "limit"
        })
    })?;
    let search =
        SearchText::parse(get("searchKey"), Field::Filter).map_err(|_| invalid("searchKey"))?;
    let found = state
        .plenum
        .history()
        .session_attendance(
            scope,
            SessionKey::Id(session),
            &AttendanceQuery { search },
            page,
        )
        .await
        .map_err(|e| HuaweiError::from_service(e, lang))?;
    Ok(Json(AttendeeRecords {
        data: found
            .attendance
            .items
            .iter()
            .map(|e| {
                let a = &e.attendance;
                AttendeeRecord {
                    display_name: a.display_name.clone(),
                    call_number: a.call_number.clone(),
                    device_type: device_name(a.device_type),
                    join_time: a.joined_at.as_millisecond(),
                    left_time: a.left_at.map(|t| t.as_millisecond()),
                    media_type: media_name(a.media_type),
                    dept_name: a.department.clone(),
                }
            })
            .collect(),
        offset,
        limit,
        count: found.attendance.total,
    }))
}

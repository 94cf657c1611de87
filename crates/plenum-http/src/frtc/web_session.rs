//! Plenum extension: the browser session of the web app (docs/web-app.md).
//!
//! The web app signs in through the FRTC sign-in use case, but keeps the token where page
//! script cannot read it: in an `HttpOnly`, `SameSite=Strict` cookie (`Secure` when the server
//! is reached over HTTPS), never in `localStorage`. Every FRTC call then accepts the cookie as
//! an alternative to the token ([`super::presented`]: the header, then `?token=`, then the
//! cookie), so the app uses the public API and nothing else.
//!
//! CSRF: a call authenticated by the cookie with a method that changes something (anything
//! but `GET`, `HEAD`, `OPTIONS`) must carry `X-CSRF-Token`, a value bound to the session
//! (SHA-256 of a fixed label and the token). The app learns it from this module's answers,
//! which only same-origin script can read (the server sends no CORS headers); another site can
//! neither read it nor compute it. Requests the browser marks as coming from another site
//! (`Sec-Fetch-Site: cross-site` or `same-site`) are never authenticated by the cookie.
//!
//! - `POST /api/v1/user/session`: sign in (username and password or secret, as FRTC's
//!   sign-in), set the cookie, answer the user and the CSRF token. A JSON `Content-Type` is
//!   required, so a form on another site cannot sign a browser in (login CSRF).
//! - `GET /api/v1/user/session`: the session of the cookie: the user and the CSRF token.
//! - `DELETE /api/v1/user/session`: sign out: the token ends at once and the cookie is cleared.

use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plenum_domain::Field;
use plenum_domain::user::{User, Username};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::user::{SignInRequest, credential};
use super::{ErrorCode, FrtcError, FrtcJson, SignedIn};
use crate::AppState;

/// The cookie's name.
pub const COOKIE: &str = "plenum_session";
/// The header that carries the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The cookie is sent with the API's calls only (the client protocol's WebSocket included).
const COOKIE_PATH: &str = "/api/v1";
/// The token's issuer as stored with it (FRTC `client_id`), for the operator's information.
const CLIENT_ID: &str = "plenum-web";

/// The CSRF token of the session whose access token is `token`: hex SHA-256 of a label and
/// the token. It cannot be computed without the token, and does not reveal it.
pub fn csrf_token(token: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"plenum web session csrf\0")
        .chain_update(token.as_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The session cookie's token, if the request has one and may use it: a request the browser
/// marks as coming from another site does not.
pub(super) fn cookie_token(parts: &Parts) -> Option<String> {
    if from_another_site(&parts.headers) {
        return None;
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `Sec-Fetch-Site` says the request was made by a page of another site (fetch metadata,
/// sent by current browsers; absent from other clients).
fn from_another_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches!(v.trim(), "cross-site" | "same-site"))
}

/// Whether `method` may change something (and so needs the CSRF token with the cookie).
pub(super) fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The CSRF check of a request authenticated by the cookie `token`.
pub(super) fn check_csrf(parts: &Parts, token: &str) -> Result<(), FrtcError> {
    if !changes_state(&parts.method) {
        return Ok(());
    }
    let given = parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    let expected = csrf_token(token);
    if given.is_empty() {
        return Err(FrtcError::new(
            ErrorCode::PermissionDenied,
            "this call came with the session cookie but without its X-CSRF-Token header \
             (the csrf_token of /api/v1/user/session)",
        ));
    }
    if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return Err(FrtcError::new(
            ErrorCode::PermissionDenied,
            "the X-CSRF-Token header is not the one of this session",
        ));
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Whether the server is reached over HTTPS (its own TLS, or a TLS proxy in front of it):
/// its public address says so. Then the cookie is `Secure`.
fn secure(state: &AppState) -> bool {
    state
        .plenum
        .policy()
        .public_url
        .to_ascii_lowercase()
        .starts_with("https://")
}

fn set_cookie(state: &AppState, value: &str, max_age_secs: i64) -> Option<HeaderValue> {
    let secure = if secure(state) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path={COOKIE_PATH}; Max-Age={max_age_secs}; HttpOnly; \
         SameSite=Strict{secure}"
    ))
    .ok()
}

/// The web app's session: who is signed in, and the value of `X-CSRF-Token` for the calls
/// that change something. The access token itself is only in the cookie.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebSession {
    /// Send as `X-CSRF-Token` with every call that is not `GET`, `HEAD` or `OPTIONS`.
    csrf_token: String,
    user_id: String,
    username: String,
    real_name: String,
    email: String,
    department: String,
    mobile: String,
    /// Normal, MeetingOperator or SystemAdmin.
    role: Vec<String>,
    /// A SystemAdmin of the default company: manages companies.
    platform_operator: bool,
    /// Days until the password should be changed; 0 when it is due.
    password_expired_time: i64,
    /// When the session ends (milliseconds since the Unix epoch).
    expires_at: i64,
}

impl WebSession {
    fn new(token: &str, user: &User, platform_operator: bool, days: i64, expires_at: i64) -> Self {
        Self {
            csrf_token: csrf_token(token),
            user_id: user.id.to_string(),
            username: user.username.to_string(),
            real_name: user.profile.real_name.clone(),
            email: user.profile.email.clone(),
            department: user.profile.department.clone(),
            mobile: user.profile.mobile.clone(),
            role: vec![user.role.as_str().to_owned()],
            platform_operator,
            password_expired_time: days,
            expires_at,
        }
    }
}

/// Plenum extension: sign in for the web app. The FRTC sign-in (the same body, the same
/// lockout), but the token goes into an `HttpOnly`, `SameSite=Strict` cookie instead of the
/// answer; the answer has the CSRF token the other calls need with the cookie.
#[utoipa::path(post, path = "/api/v1/user/session", tag = super::user::TAG,
    request_body(content = SignInRequest, content_type = "application/json"),
    responses(
        (status = 200, body = WebSession, headers(("Set-Cookie" = String, description = "`plenum_session=<token>; Path=/api/v1; Max-Age=<token lifetime>; HttpOnly; SameSite=Strict` (and `Secure` over HTTPS)"))),
        (status = 400, description = "malformed_json, missing_field, invalid_field", body = ErrorBody),
        (status = 401, description = "invalid_credentials", body = ErrorBody),
        (status = 403, description = "permission_denied: sent from another site", body = ErrorBody),
        (status = 415, description = "unsupported_media_type: the body must be sent as application/json", body = ErrorBody),
        (status = 429, description = "account_locked", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    FrtcJson(req): FrtcJson<SignInRequest>,
) -> Result<Response, FrtcError> {
    if from_another_site(&headers) {
        return Err(FrtcError::new(
            ErrorCode::PermissionDenied,
            "a web session cannot be opened from another site",
        ));
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(FrtcError::new(
            ErrorCode::UnsupportedMediaType,
            "send the sign-in as Content-Type: application/json",
        ));
    }
    let username = Username::parse(req.username())?;
    let credential = credential(req.secret(), req.password(), false, Field::Secret)?;
    let accounts = state.plenum.accounts();
    let signed_in = accounts
        .sign_in(&username, credential, Some(CLIENT_ID.to_owned()))
        .await?;
    let principal = accounts.authenticate(&signed_in.token).await?;
    let now = state.plenum.now();
    // Whole seconds, rounded up: the cookie may outlive the token by under a second, not the
    // other way round (then the app would see a 401 before the browser drops the cookie).
    let left_ms = principal.token.expires_at.as_millisecond() - now.as_millisecond();
    let max_age = (left_ms + 999).div_euclid(1000).max(0);
    let body = WebSession::new(
        &signed_in.token,
        &principal.user,
        principal.platform_operator,
        signed_in.password_expires_in_days,
        principal.token.expires_at.as_millisecond(),
    );
    let mut response = Json(body).into_response();
    if let Some(cookie) = set_cookie(&state, &signed_in.token, max_age) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Plenum extension: the web session of the cookie (or of the token sent), with its CSRF
/// token. `401` when there is none: the app then shows its sign-in.
#[utoipa::path(get, path = "/api/v1/user/session", tag = super::user::TAG,
    security(("token" = []), ("session_cookie" = [])),
    responses((status = 200, body = WebSession), (status = 401, body = ErrorBody)))]
pub async fn current(State(state): State<AppState>, who: SignedIn) -> Response {
    let user = &who.principal.user;
    let days = state.plenum.accounts().password_expires_in_days(user);
    let mut response = Json(WebSession::new(
        &who.token,
        user,
        who.principal.platform_operator,
        days,
        who.principal.token.expires_at.as_millisecond(),
    ))
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Plenum extension: sign out of the web app. The token ends at once (as FRTC's sign-out) and
/// the cookie is cleared.
#[utoipa::path(delete, path = "/api/v1/user/session", tag = super::user::TAG,
    security(("token" = []), ("session_cookie" = [], "csrf_token" = [])),
    responses(
        (status = 204, headers(("Set-Cookie" = String, description = "The cookie, cleared"))),
        (status = 401, body = ErrorBody),
        (status = 403, description = "permission_denied: the cookie without its X-CSRF-Token", body = ErrorBody),
    ))]
pub async fn end(State(state): State<AppState>, who: SignedIn) -> Result<Response, FrtcError> {
    state.plenum.accounts().sign_out(&who.principal).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(cookie) = set_cookie(&state, "", 0) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_token_is_bound_to_the_token_and_does_not_show_it() {
        let a = csrf_token("token-a");
        assert_eq!(a, csrf_token("token-a"));
        assert_ne!(a, csrf_token("token-b"));
        assert_eq!(a.len(), 64);
        assert!(!a.contains("token-a"));
    }

    fn parts(headers: &[(&str, &str)], method: Method) -> Parts {
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri("/api/v1/x");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn the_cookie_is_read_among_others_but_not_from_another_site() {
        let p = parts(&[("cookie", "a=1; plenum_session=tok; b=2")], Method::GET);
        assert_eq!(cookie_token(&p).as_deref(), Some("tok"));
        let p = parts(
            &[
                ("cookie", "plenum_session=tok"),
                ("sec-fetch-site", "cross-site"),
            ],
            Method::GET,
        );
        assert_eq!(cookie_token(&p), None);
        let p = parts(
            &[
                ("cookie", "plenum_session=tok"),
                ("sec-fetch-site", "same-origin"),
            ],
            Method::GET,
        );
        assert_eq!(cookie_token(&p).as_deref(), Some("tok"));
        let p = parts(&[("cookie", "plenum_session_x=tok")], Method::GET);
        assert_eq!(cookie_token(&p), None);
    }

    #[test]
    fn changes_need_the_csrf_token_reads_do_not() {
        let good = csrf_token("tok");
        assert!(check_csrf(&parts(&[], Method::GET), "tok").is_ok());
        assert!(check_csrf(&parts(&[], Method::POST), "tok").is_err());
        assert!(check_csrf(&parts(&[("x-csrf-token", "nope")], Method::DELETE), "tok").is_err());
        assert!(check_csrf(&parts(&[("x-csrf-token", &good)], Method::POST), "tok").is_ok());
    }
}

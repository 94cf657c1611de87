//! The FRTC server API (seed `003_256f6aae305b3bbc.txt`), Plenum's main API, at `/api/v1`.
//!
//! Wire conventions of this dialect, in one place:
//! - JSON bodies; errors are `{"error": "<sentence>", "errorCode": "<code>"}` with the codes of
//!   [`ErrorCode`] (listed in `docs/errors.md`).
//! - The token travels as `Authorization: Bearer <token>` or, as the FRTC document shows, as
//!   `?client_id=..&token=..`. The header is preferred: query strings end up in proxy logs and
//!   browser history. When both are present the header wins. The web app's session cookie
//!   comes last, with a CSRF check ([`web_session`]).
//! - Instants are integer milliseconds since the Unix epoch.
//! - Calls documented as `POST` that only read (info, version, capacity, user lists) accept
//!   `GET` too.

pub mod company;
pub mod history;
pub mod meeting;
pub mod meeting_history;
pub mod recordings;
pub mod room;
pub mod schedule;
pub mod system;
pub mod user;
pub mod web_session;
pub mod webhooks;

pub(crate) mod body;
mod error;

pub use body::FrtcJson;
pub use error::{ErrorBody, ErrorCode, FrtcError};

use std::sync::Arc;

use axum::extract::{FromRequestParts, Query, RawPathParams};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use plenum_service::{Actor, Principal, ServiceError};
use serde::Deserialize;

use crate::AppState;

/// The FRTC common query parameters.
#[derive(Debug, Default, Deserialize)]
struct CommonQuery {
    token: Option<String>,
    client_id: Option<String>,
}

/// The access token of a request, from the header, the query or the web app's session
/// cookie, and the FRTC client id.
#[derive(Debug)]
struct Presented {
    token: Option<String>,
    client_id: Option<String>,
    /// The token came in the session cookie: calls that change something need the CSRF token.
    from_cookie: bool,
}

fn presented(parts: &Parts) -> Presented {
    let query = Query::<CommonQuery>::try_from_uri(&parts.uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let from_header = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_owned());
    let token = from_header.or(query.token).filter(|t| !t.is_empty());
    let (token, from_cookie) = match token {
        Some(token) => (Some(token), false),
        None => match web_session::cookie_token(parts) {
            Some(token) => (Some(token), true),
            None => (None, false),
        },
    };
    Presented {
        token,
        client_id: query.client_id.filter(|c| !c.is_empty()),
        from_cookie,
    }
}

/// A request made with a valid token: authentication is a type in the handler's signature.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub principal: Arc<Principal>,
    /// The token as presented; FRTC's `user/info` echoes it back as `user_token`.
    pub token: String,
    /// It came in the web app's session cookie (and passed the CSRF check): page script must
    /// not be shown it.
    pub via_cookie: bool,
    /// The address the request came from (`ConnectInfo`; behind a reverse proxy, the
    /// proxy's), which the audit log records.
    pub from: Option<std::net::IpAddr>,
}

impl SignedIn {
    /// The principal acting from the request's address.
    pub fn actor(&self) -> Actor<'_> {
        Actor::User(&self.principal, self.from)
    }
}

/// The address of the request's connection, where the server put one (`ConnectInfo`).
pub(crate) fn peer_address(parts: &Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip())
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = FrtcError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let presented = presented(parts);
        let token = presented.token.ok_or(ServiceError::TokenMissing)?;
        // Authentication first (a stale cookie is a 401 the app answers with its sign-in),
        // then the CSRF check of a cookie.
        let principal = state.plenum.accounts().authenticate(&token).await?;
        if presented.from_cookie {
            web_session::check_csrf(parts, &token)?;
        }
        Ok(Self {
            principal,
            token,
            via_cookie: presented.from_cookie,
            from: peer_address(parts),
        })
    }
}

/// A request by a SystemAdmin (who administers the company: users, integration keys, history). Checked before the body is read, so
/// someone without the right learns nothing from how their request would have failed.
#[derive(Debug, Clone)]
pub struct UserAdmin(pub SignedIn);

impl FromRequestParts<AppState> for UserAdmin {
    type Rejection = FrtcError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let who = SignedIn::from_request_parts(parts, state).await?;
        who.principal.require_user_admin()?;
        Ok(Self(who))
    }
}

/// The path parameter `name` as the request's route names it ("" when absent), for the
/// extractors that check a right on a path's object before the body is read.
pub(crate) async fn path_param(
    parts: &mut Parts,
    state: &AppState,
    name: &str,
    not_found: ServiceError,
) -> Result<String, FrtcError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| FrtcError::from(not_found))?;
    Ok(params
        .iter()
        .find_map(|(key, value)| (key == name).then(|| value.to_owned()))
        .unwrap_or_default())
}

/// A request by a MeetingOperator or SystemAdmin (who manage meeting rooms). Checked before
/// the body is read, as [`UserAdmin`].
#[derive(Debug, Clone)]
pub struct RoomManager(pub SignedIn);

impl FromRequestParts<AppState> for RoomManager {
    type Rejection = FrtcError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let who = SignedIn::from_request_parts(parts, state).await?;
        who.principal.require_room_manager()?;
        Ok(Self(who))
    }
}

/// A request by a platform operator (a SystemAdmin of the default company).
#[derive(Debug, Clone)]
pub struct PlatformOperator(pub SignedIn);

impl FromRequestParts<AppState> for PlatformOperator {
    type Rejection = FrtcError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let who = SignedIn::from_request_parts(parts, state).await?;
        who.principal.require_platform_operator()?;
        Ok(Self(who))
    }
}

/// A request that may or may not carry a token. A token that *is* given must be valid: a
/// stale token is reported, not silently treated as anonymous. The session cookie is not
/// given by the client but kept by the browser: a stale one, or one without its CSRF token
/// on a call that changes something, counts as none.
#[derive(Debug, Clone)]
pub struct MaybeSignedIn(pub Option<SignedIn>);

impl FromRequestParts<AppState> for MaybeSignedIn {
    type Rejection = FrtcError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let presented = presented(parts);
        match presented.token {
            None => Ok(Self(None)),
            Some(token) if presented.from_cookie => {
                if web_session::check_csrf(parts, &token).is_err() {
                    return Ok(Self(None));
                }
                let from = peer_address(parts);
                Ok(Self(
                    state
                        .plenum
                        .accounts()
                        .authenticate(&token)
                        .await
                        .ok()
                        .map(|principal| SignedIn {
                            principal,
                            token,
                            via_cookie: true,
                            from,
                        }),
                ))
            }
            Some(token) => {
                let principal = state.plenum.accounts().authenticate(&token).await?;
                Ok(Self(Some(SignedIn {
                    principal,
                    token,
                    via_cookie: false,
                    from: peer_address(parts),
                })))
            }
        }
    }
}

/// The FRTC `client_id` query parameter, if any.
#[derive(Debug, Clone)]
pub struct ClientId(pub Option<String>);

impl FromRequestParts<AppState> for ClientId {
    type Rejection = FrtcError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        // Bounded: it is stored with the token for the operator's information only.
        Ok(Self(
            presented(parts)
                .client_id
                .map(|c| c.chars().take(128).collect()),
        ))
    }
}

/// FRTC paging: `page_num` (from 1), `page_size`, `filter`. Kept as strings so that a value
/// that is not a number is reported by name instead of failing the whole query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PagingQuery {
    /// Page number, from 1. Default 1.
    page_num: Option<String>,
    /// Page size, 1..=500. Default 20.
    page_size: Option<String>,
    /// Case-insensitive substring to search for.
    filter: Option<String>,
}

/// Paging parameters are an extractor of their own, so that a query string that cannot be
/// decoded is an FRTC `malformed_request` in every handler that pages.
impl<S: Send + Sync> FromRequestParts<S> for PagingQuery {
    type Rejection = FrtcError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Query::<PagingQuery>::try_from_uri(&parts.uri)
            .map(|Query(q)| q)
            .map_err(|e| {
                FrtcError::new(
                    ErrorCode::MalformedRequest,
                    format!("the request cannot be read: {}", e.body_text()),
                )
            })
    }
}

/// An id from a path. One that does not even parse names nothing: the same answer as an
/// unknown id (`not_found`).
pub(crate) fn parse_id<T: std::str::FromStr>(
    raw: &str,
    not_found: ServiceError,
) -> Result<T, FrtcError> {
    raw.parse::<T>().map_err(|_| not_found.into())
}

pub const DEFAULT_PAGE_SIZE: i64 = 20;
/// Longest search text a list accepts.
pub const MAX_FILTER_CHARS: usize = 128;
pub const MAX_PAGE_SIZE: u32 = 500;

impl PagingQuery {
    fn number(
        raw: &Option<String>,
        field: plenum_domain::Field,
        default: i64,
    ) -> Result<i64, FrtcError> {
        match raw.as_deref().map(str::trim) {
            None | Some("") => Ok(default),
            Some(s) => s.parse::<i64>().map_err(|_| {
                FrtcError::from(plenum_domain::ValidationError::breaks(
                    plenum_domain::Rule::NotANumber,
                    field,
                    "must be a whole number",
                ))
            }),
        }
    }

    pub fn page(&self) -> Result<plenum_domain::paging::PageRequest, FrtcError> {
        let num = Self::number(&self.page_num, plenum_domain::Field::PageNum, 1)?;
        let size = Self::number(
            &self.page_size,
            plenum_domain::Field::PageSize,
            DEFAULT_PAGE_SIZE,
        )?;
        Ok(plenum_domain::paging::PageRequest::by_number(
            num,
            size,
            MAX_PAGE_SIZE,
        )?)
    }

    /// The search text, if any: at most [`MAX_FILTER_CHARS`] characters, none of them
    /// control characters.
    pub fn filter(&self) -> Result<Option<&str>, FrtcError> {
        let Some(f) = self
            .filter
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
        else {
            return Ok(None);
        };
        if f.chars().count() > MAX_FILTER_CHARS {
            return Err(plenum_domain::ValidationError::breaks(
                plenum_domain::Rule::TooLong,
                plenum_domain::Field::Filter,
                format!("must be at most {MAX_FILTER_CHARS} characters"),
            )
            .into());
        }
        if f.chars().any(char::is_control) {
            return Err(plenum_domain::ValidationError::breaks(
                plenum_domain::Rule::Characters,
                plenum_domain::Field::Filter,
                "must not contain control characters",
            )
            .into());
        }
        Ok(Some(f))
    }
}

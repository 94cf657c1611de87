//! FRTC "User": sign-in, sign-out, user info, password, the user directory, and user
//! administration. Paths and fields as in the seed document, in its order.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use plenum_domain::Field;
use plenum_domain::credentials::{Password, Secret};
use plenum_domain::ids::UserId;
use plenum_domain::user::{Profile, Role, User, UserChanges, Username};
use plenum_service::{Credential, NewUserRequest, ServiceError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ErrorBody, missing};
use super::{
    ClientId, FrtcError, FrtcJson, MaybeSignedIn, PagingQuery, SignedIn, UserAdmin, parse_id,
};
use crate::AppState;

pub const TAG: &str = "User";

/// The credential of a request: FRTC's `secret` (sha1 of password + salt, computed by the
/// client) or, for clients that cannot compute it, a plain `password`. `secret` wins if both
/// are sent.
pub(super) fn credential(
    secret: Option<&str>,
    password: Option<&str>,
    setting: bool,
    field: Field,
) -> Result<Credential, FrtcError> {
    match (secret, password) {
        (Some(s), _) => Ok(Credential::Secret(Secret::parse(s)?)),
        (None, Some(p)) if setting => Ok(Credential::Password(Password::parse_new(p)?)),
        (None, Some(p)) => Ok(Credential::Password(Password::parse_for_sign_in(p)?)),
        (None, None) => Err(missing(field)),
    }
}

fn parse_user_id(raw: &str) -> Result<UserId, FrtcError> {
    parse_id(raw, ServiceError::UserNotFound)
}

// --- Sign In -------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignInRequest {
    username: String,
    /// `sha1(password + salt)` as lower-case hex.
    #[serde(default)]
    secret: Option<String>,
    /// Plenum extension: the plain password, hashed by the server the same way.
    #[serde(default)]
    password: Option<String>,
}

impl SignInRequest {
    pub(super) fn username(&self) -> &str {
        &self.username
    }

    pub(super) fn secret(&self) -> Option<&str> {
        self.secret.as_deref()
    }

    pub(super) fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }
}

/// A user as the sign-in and info calls show them.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignedInUser {
    user_token: String,
    user_id: String,
    username: String,
    email: String,
    real_name: String,
    department: String,
    mobile: String,
    /// Days until the password should be changed; 0 when it is due.
    password_expired_time: i64,
    /// Strength of the password: HIGH, MEDIUM, LOW, or UNKNOWN when it was set as a secret.
    security_level: String,
    role: Vec<String>,
}

impl SignedInUser {
    fn new(token: String, user: &User, password_expired_time: i64) -> Self {
        Self {
            user_token: token,
            user_id: user.id.to_string(),
            username: user.username.to_string(),
            email: user.profile.email.clone(),
            real_name: user.profile.real_name.clone(),
            department: user.profile.department.clone(),
            mobile: user.profile.mobile.clone(),
            password_expired_time,
            security_level: user.security_level.as_str().to_owned(),
            role: vec![user.role.as_str().to_owned()],
        }
    }
}

/// Sign in with a username and secret; returns a token for the other calls.
///
/// Repeated failures lock the account for a growing while (`account_locked`, with a
/// `Retry-After` header); see `docs/security.md`.
#[utoipa::path(post, path = "/api/v1/user/sign_in", tag = TAG,
    params(("client_id" = Option<String>, Query, description = "The calling client's id; kept with the token.")),
    request_body = SignInRequest,
    responses(
        (status = 200, body = SignedInUser),
        (status = 400, description = "malformed_json, missing_field, invalid_field_type, invalid_field", body = ErrorBody),
        (status = 401, description = "invalid_credentials", body = ErrorBody),
        (status = 429, description = "account_locked", body = ErrorBody),
    ))]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientId(client_id): ClientId,
    FrtcJson(req): FrtcJson<SignInRequest>,
) -> Result<Json<SignedInUser>, FrtcError> {
    let username = Username::parse(&req.username)?;
    let credential = credential(
        req.secret.as_deref(),
        req.password.as_deref(),
        false,
        Field::Secret,
    )?;
    let signed_in = state
        .plenum
        .accounts()
        .sign_in(&username, credential, client_id)
        .await?;
    Ok(Json(SignedInUser::new(
        signed_in.token,
        &signed_in.user,
        signed_in.password_expires_in_days,
    )))
}

// --- Sign Out ------------------------------------------------------------------------------

/// End the token used for this call. It stops working at once.
#[utoipa::path(post, path = "/api/v1/user/sign_out", tag = TAG,
    security(("token" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn sign_out(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<StatusCode, FrtcError> {
    state.plenum.accounts().sign_out(&who.principal).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- User Info -----------------------------------------------------------------------------

/// The signed-in user, with the token used (empty when it came in the web app's session
/// cookie: page script is not shown it).
#[utoipa::path(method(get, post), path = "/api/v1/user/info", tag = TAG,
    security(("token" = [])),
    responses((status = 200, body = SignedInUser), (status = 401, body = ErrorBody)))]
pub async fn info(State(state): State<AppState>, who: SignedIn) -> Json<SignedInUser> {
    let user = &who.principal.user;
    let days = state.plenum.accounts().password_expires_in_days(user);
    let token = if who.via_cookie {
        String::new()
    } else {
        who.token
    };
    Json(SignedInUser::new(token, user, days))
}

// --- Update Password -----------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordRequest {
    /// `sha1(old_password + salt)`.
    #[serde(default)]
    secret_old: Option<String>,
    /// `sha1(new_password + salt)`.
    #[serde(default)]
    secret_new: Option<String>,
    /// Plenum extension: the plain old password.
    #[serde(default)]
    password_old: Option<String>,
    /// Plenum extension: the plain new password (at least 8 characters).
    #[serde(default)]
    password_new: Option<String>,
}

/// Change one's own password. Every other token of the user stops working.
#[utoipa::path(post, path = "/api/v1/user/password", tag = TAG,
    security(("token" = [])),
    request_body = PasswordRequest,
    responses(
        (status = 204),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "wrong_old_secret", body = ErrorBody),
    ))]
pub async fn password(
    State(state): State<AppState>,
    who: SignedIn,
    FrtcJson(req): FrtcJson<PasswordRequest>,
) -> Result<StatusCode, FrtcError> {
    let old = credential(
        req.secret_old.as_deref(),
        req.password_old.as_deref(),
        false,
        Field::Secret,
    )
    .map_err(|e| rename_missing(e, "secret_old"))?;
    let new = credential(
        req.secret_new.as_deref(),
        req.password_new.as_deref(),
        true,
        Field::Secret,
    )
    .map_err(|e| rename_missing(e, "secret_new"))?;
    state
        .plenum
        .accounts()
        .change_own_credential(&who.principal, old, new)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn rename_missing(e: FrtcError, field: &str) -> FrtcError {
    if e.code == super::ErrorCode::MissingField {
        FrtcError::new(e.code, format!("missing field `{field}`"))
    } else {
        e
    }
}

// --- Find Users by Page --------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicUser {
    user_id: String,
    username: String,
    real_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    users: Vec<PublicUser>,
    /// Number of pages at this page size.
    total_page_num: u64,
    /// Number of users matching the filter.
    total_size: u64,
}

/// A page of the user directory, ordered by username; `filter` matches username or real name.
///
/// With a token: the caller's company. Without one (the document's "SignedIn False"): the
/// default company's directory, unless the operator turned that off (`public_user_directory`).
#[utoipa::path(method(get, post), path = "/api/v1/user/public/users", tag = TAG,
    params(PagingQuery),
    responses((status = 200, body = UserPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn public_users(
    State(state): State<AppState>,
    MaybeSignedIn(who): MaybeSignedIn,
    query: PagingQuery,
) -> Result<Json<UserPage>, FrtcError> {
    let page = query.page()?;
    let company = state
        .plenum
        .accounts()
        .directory_company(who.as_ref().map(|w| w.principal.as_ref()))
        .await?;
    let found = state
        .plenum
        .accounts()
        .find_users(company, query.filter()?, page)
        .await?;
    Ok(Json(UserPage {
        total_page_num: found.total_pages(page.limit()),
        total_size: found.total,
        users: found
            .items
            .iter()
            .map(|u| PublicUser {
                user_id: u.id.to_string(),
                username: u.username.to_string(),
                real_name: u.profile.real_name.clone(),
            })
            .collect(),
    }))
}

// --- Create User ---------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUserRequest {
    username: String,
    #[serde(default)]
    real_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    mobile: Option<String>,
    /// Normal (the default), MeetingOperator or SystemAdmin.
    #[serde(default)]
    role: Option<String>,
    /// `sha1(password + salt)`.
    #[serde(default)]
    secret: Option<String>,
    /// Plenum extension: the plain password (at least 8 characters).
    #[serde(default)]
    password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserIdResponse {
    user_id: String,
}

/// Create a user in the caller's company (SystemAdmin only). Usernames are unique across
/// the installation, case-insensitively.
#[utoipa::path(post, path = "/api/v1/user/users", tag = TAG,
    security(("token" = [])),
    request_body = CreateUserRequest,
    responses(
        (status = 200, body = UserIdResponse),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "permission_denied", body = ErrorBody),
        (status = 409, description = "username_taken, max_users_reached", body = ErrorBody),
    ))]
pub async fn create_user(
    State(state): State<AppState>,
    UserAdmin(who): UserAdmin,
    FrtcJson(req): FrtcJson<CreateUserRequest>,
) -> Result<Json<UserIdResponse>, FrtcError> {
    let opt = |v: &Option<String>| v.as_deref().unwrap_or("").to_owned();
    let request = NewUserRequest {
        username: Username::parse(&req.username)?,
        profile: Profile {
            real_name: Profile::parse_real_name(&opt(&req.real_name))?,
            email: Profile::parse_email(&opt(&req.email))?,
            department: Profile::parse_department(&opt(&req.department))?,
            mobile: Profile::parse_mobile(&opt(&req.mobile))?,
        },
        role: match &req.role {
            Some(r) => r.parse::<Role>()?,
            None => Role::Normal,
        },
        credential: credential(
            req.secret.as_deref(),
            req.password.as_deref(),
            true,
            Field::Secret,
        )?,
    };
    let user = state
        .plenum
        .accounts()
        .create_user(who.actor(), request)
        .await?;
    Ok(Json(UserIdResponse {
        user_id: user.id.to_string(),
    }))
}

// --- Update User ---------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateUserRequest {
    #[serde(default)]
    real_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    mobile: Option<String>,
    #[serde(default)]
    role: Option<String>,
    /// Optional: a new `sha1(password + salt)`. Setting it ends all the user's sessions.
    #[serde(default)]
    secret: Option<String>,
    /// Plenum extension: a new plain password.
    #[serde(default)]
    password: Option<String>,
}

/// Change a user of the caller's company (SystemAdmin only). Fields left out stay as they
/// are. The last SystemAdmin of a company cannot lose the role (`last_system_admin`).
#[utoipa::path(post, path = "/api/v1/user/users/{user_id}", tag = TAG,
    security(("token" = [])),
    params(("user_id" = String, Path)),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, body = UserIdResponse),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "user_not_found", body = ErrorBody),
        (status = 409, description = "last_system_admin", body = ErrorBody),
    ))]
pub async fn update_user(
    State(state): State<AppState>,
    UserAdmin(who): UserAdmin,
    Path(user_id): Path<String>,
    FrtcJson(req): FrtcJson<UpdateUserRequest>,
) -> Result<Json<UserIdResponse>, FrtcError> {
    let id = parse_user_id(&user_id)?;
    let secret = match (req.secret.as_deref(), req.password.as_deref()) {
        (None, None) => None,
        (s, p) => {
            let credential = credential(s, p, true, Field::Secret)?;
            Some(
                state
                    .plenum
                    .accounts()
                    .credential_change(&credential)
                    .await?,
            )
        }
    };
    let changes = UserChanges {
        real_name: req
            .real_name
            .as_deref()
            .map(Profile::parse_real_name)
            .transpose()?,
        email: req.email.as_deref().map(Profile::parse_email).transpose()?,
        department: req
            .department
            .as_deref()
            .map(Profile::parse_department)
            .transpose()?,
        mobile: req
            .mobile
            .as_deref()
            .map(Profile::parse_mobile)
            .transpose()?,
        role: req.role.as_deref().map(str::parse::<Role>).transpose()?,
        secret,
    };
    let user = state
        .plenum
        .accounts()
        .update_user(who.actor(), id, changes)
        .await?;
    Ok(Json(UserIdResponse {
        user_id: user.id.to_string(),
    }))
}

/// A user as administrators see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserDetail {
    user_id: String,
    username: String,
    email: String,
    real_name: String,
    department: String,
    mobile: String,
    role: Vec<String>,
    security_level: String,
    /// Milliseconds since the Unix epoch.
    created_time: i64,
}

/// Plenum extension: one user of the caller's company. SystemAdmins see anyone; others only
/// themselves.
#[utoipa::path(get, path = "/api/v1/user/users/{user_id}", tag = TAG,
    security(("token" = [])),
    params(("user_id" = String, Path)),
    responses(
        (status = 200, body = UserDetail),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn user_detail(
    State(state): State<AppState>,
    who: SignedIn,
    Path(user_id): Path<String>,
) -> Result<impl IntoResponse, FrtcError> {
    let id = parse_user_id(&user_id)?;
    let user = state.plenum.accounts().user(&who.principal, id).await?;
    Ok(Json(UserDetail {
        user_id: user.id.to_string(),
        username: user.username.to_string(),
        email: user.profile.email.clone(),
        real_name: user.profile.real_name.clone(),
        department: user.profile.department.clone(),
        mobile: user.profile.mobile.clone(),
        role: vec![user.role.as_str().to_owned()],
        security_level: user.security_level.as_str().to_owned(),
        created_time: user.created_at.as_millisecond(),
    }))
}

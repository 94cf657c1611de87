//! Plenum extension in the FRTC style: companies (tenants).
//!
//! Reserved to the platform operators, the SystemAdmins of the default company. Each new
//! company comes with its own first SystemAdmin, whose powers end at their company's border.

use axum::Json;
use axum::extract::State;
use plenum_domain::Field;
use plenum_domain::company::{Company, CompanyName, TimeZoneName, parse_max_users};
use plenum_domain::credentials::{Password, Secret};
use plenum_domain::user::{Profile, Role, User, Username};
use plenum_service::{Credential, NewCompanyRequest, NewUserRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ErrorBody, missing};
use super::{FrtcError, FrtcJson, PlatformOperator, SignedIn};
use crate::AppState;

pub const TAG: &str = "Company";

#[derive(Debug, Deserialize, ToSchema)]
pub struct CompanyAdminRequest {
    username: String,
    #[serde(default)]
    real_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    /// `sha1(password + salt)`.
    #[serde(default)]
    secret: Option<String>,
    /// The plain password (at least 8 characters).
    #[serde(default)]
    password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateCompanyRequest {
    name: String,
    /// IANA time zone, e.g. `Europe/Berlin`. Default `UTC`.
    #[serde(default)]
    time_zone: Option<String>,
    /// Licensed number of users. Default: the server's `default_max_users`.
    #[serde(default)]
    max_users: Option<i64>,
    /// The company's first SystemAdmin.
    admin: CompanyAdminRequest,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyResponse {
    company_id: String,
    name: String,
    time_zone: String,
    max_users: u32,
    is_default: bool,
    /// Milliseconds since the Unix epoch.
    created_time: i64,
    /// Only when the company was just created: the id of its first SystemAdmin.
    #[serde(skip_serializing_if = "Option::is_none")]
    admin_user_id: Option<String>,
}

impl CompanyResponse {
    fn new(c: &Company, admin: Option<&User>) -> Self {
        Self {
            company_id: c.id.to_string(),
            name: c.name.as_str().to_owned(),
            time_zone: c.time_zone.as_str().to_owned(),
            max_users: c.max_users,
            is_default: c.is_default,
            created_time: c.created_at.as_millisecond(),
            admin_user_id: admin.map(|a| a.id.to_string()),
        }
    }
}

/// Create a company with its first SystemAdmin (platform operators only).
#[utoipa::path(post, path = "/api/v1/companies", tag = TAG,
    security(("token" = [])),
    request_body = CreateCompanyRequest,
    responses(
        (status = 200, body = CompanyResponse),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "company_name_taken, username_taken", body = ErrorBody),
    ))]
pub async fn create_company(
    State(state): State<AppState>,
    PlatformOperator(who): PlatformOperator,
    FrtcJson(req): FrtcJson<CreateCompanyRequest>,
) -> Result<Json<CompanyResponse>, FrtcError> {
    let admin = &req.admin;
    let credential = match (admin.secret.as_deref(), admin.password.as_deref()) {
        (Some(s), _) => Credential::Secret(Secret::parse(s)?),
        (None, Some(p)) => Credential::Password(Password::parse_new(p)?),
        (None, None) => return Err(missing(Field::Secret)),
    };
    let request = NewCompanyRequest {
        name: CompanyName::parse(&req.name)?,
        time_zone: match &req.time_zone {
            Some(tz) => TimeZoneName::parse(tz)?,
            None => TimeZoneName::utc(),
        },
        max_users: req.max_users.map(parse_max_users).transpose()?,
        admin: NewUserRequest {
            username: Username::parse(&admin.username)?,
            profile: Profile {
                real_name: Profile::parse_real_name(admin.real_name.as_deref().unwrap_or(""))?,
                email: Profile::parse_email(admin.email.as_deref().unwrap_or(""))?,
                ..Profile::default()
            },
            role: Role::SystemAdmin,
            credential,
        },
    };
    let (company, admin) = state
        .plenum
        .accounts()
        .create_company(who.actor(), request)
        .await?;
    Ok(Json(CompanyResponse::new(&company, Some(&admin))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyList {
    companies: Vec<CompanyResponse>,
}

/// All companies, oldest first (platform operators only).
#[utoipa::path(get, path = "/api/v1/companies", tag = TAG,
    security(("token" = [])),
    responses((status = 200, body = CompanyList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_companies(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Json<CompanyList>, FrtcError> {
    let companies = state.plenum.accounts().companies(&who.principal).await?;
    Ok(Json(CompanyList {
        companies: companies
            .iter()
            .map(|c| CompanyResponse::new(c, None))
            .collect(),
    }))
}

/// The caller's own company.
#[utoipa::path(method(get, post), path = "/api/v1/company", tag = TAG,
    security(("token" = [])),
    responses((status = 200, body = CompanyResponse), (status = 401, body = ErrorBody)))]
pub async fn own_company(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Json<CompanyResponse>, FrtcError> {
    let company = state
        .plenum
        .accounts()
        .company(who.principal.company())
        .await?;
    Ok(Json(CompanyResponse::new(&company, None)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateCompanyRequest {
    #[serde(default)]
    name: Option<String>,
    /// IANA time zone, e.g. `Europe/Berlin`.
    #[serde(default)]
    time_zone: Option<String>,
    /// Licensed number of users (platform operators only); not below the users it has.
    #[serde(default)]
    max_users: Option<i64>,
}

/// Change a company's settings: its name and time zone (its SystemAdmins, or a platform
/// operator), its licence `max_users` (a platform operator only). What is left out stays.
#[utoipa::path(post, path = "/api/v1/companies/{company_id}", tag = TAG,
    security(("token" = [])),
    params(("company_id" = String, Path, description = "The company's id")),
    request_body = UpdateCompanyRequest,
    responses(
        (status = 200, body = CompanyResponse),
        (status = 400, description = "invalid values, nothing to change, max_users below the users it has", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "not an administrator, or max_users by a company's own admin", body = ErrorBody),
        (status = 404, description = "company_not_found (also another company's, for its admins)", body = ErrorBody),
        (status = 409, description = "company_name_taken", body = ErrorBody),
    ))]
pub async fn update_company(
    State(state): State<AppState>,
    who: SignedIn,
    axum::extract::Path(company_id): axum::extract::Path<String>,
    FrtcJson(req): FrtcJson<UpdateCompanyRequest>,
) -> Result<Json<CompanyResponse>, FrtcError> {
    let id = company_id
        .parse()
        .map_err(|_| FrtcError::from(plenum_service::ServiceError::CompanyNotFound))?;
    let changes = plenum_domain::company::CompanyChanges {
        name: req.name.as_deref().map(CompanyName::parse).transpose()?,
        time_zone: req
            .time_zone
            .as_deref()
            .map(TimeZoneName::parse)
            .transpose()?,
        max_users: req.max_users.map(parse_max_users).transpose()?,
    };
    let company = state
        .plenum
        .accounts()
        .update_company(who.actor(), id, changes)
        .await?;
    Ok(Json(CompanyResponse::new(&company, None)))
}

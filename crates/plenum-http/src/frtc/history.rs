//! Plenum extensions in the FRTC style for the record of meetings: the company-scoped keys
//! that integrations use (Rokid and Telnyx API keys, Huawei app id/app key pairs), and import
//! of another system's history (`docs/import.md`).
//!
//! All of them are reserved to SystemAdmins and act on the caller's own company. A key's
//! secret is in the answer of its creation only; lists never show it.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use plenum_domain::api_keys::{ApiKey, ApiKeyKind, parse_key_name};
use plenum_domain::history_import::ImportSummary;
use plenum_domain::ids::ApiKeyId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ErrorBody, ErrorCode};
use super::{FrtcError, FrtcJson, UserAdmin, parse_id};
use crate::AppState;
use plenum_service::{HistoryError, ServiceError};

pub const TAG: &str = "History";

/// Largest import file the endpoint takes (the offline `plenum import` has no such limit).
pub const MAX_IMPORT_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateKeyRequest {
    /// What the integration is (shown in lists).
    name: String,
    /// `api_key` (default: `Authorization: Bearer` for Rokid and Telnyx) or `huawei_app`
    /// (an app id and app key for Huawei's appauth).
    #[serde(default)]
    kind: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyResponse {
    api_key_id: String,
    name: String,
    /// `api_key` or `huawei_app`.
    kind: String,
    /// The first characters of the secret, to tell keys apart.
    prefix: String,
    /// Huawei apps: the app id (public).
    #[serde(skip_serializing_if = "Option::is_none")]
    app_id: Option<String>,
    /// Milliseconds since the Unix epoch.
    created_time: i64,
    /// Milliseconds since the Unix epoch; absent while the key is valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_time: Option<i64>,
    /// Only in the answer that creates an `api_key`: the key, shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key: Option<String>,
    /// Only in the answer that creates a `huawei_app`: the app key, shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    app_key: Option<String>,
}

impl KeyResponse {
    fn new(key: &ApiKey, secret: Option<String>) -> Self {
        let (api_key, app_key) = match key.kind {
            ApiKeyKind::Bearer => (secret, None),
            ApiKeyKind::HuaweiApp => (None, secret),
        };
        Self {
            api_key_id: key.id.to_string(),
            name: key.name.clone(),
            kind: key.kind.as_str().to_owned(),
            prefix: key.prefix.clone(),
            app_id: key.app_id.clone(),
            created_time: key.created_at.as_millisecond(),
            revoked_time: key.revoked_at.map(|t| t.as_millisecond()),
            api_key,
            app_key,
        }
    }
}

/// Create an API key or a Huawei app for the caller's company (SystemAdmins only). The
/// secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/api_keys", tag = TAG,
    security(("token" = [])),
    request_body = CreateKeyRequest,
    responses(
        (status = 200, body = KeyResponse),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
pub async fn create_key(
    State(state): State<AppState>,
    UserAdmin(who): UserAdmin,
    FrtcJson(req): FrtcJson<CreateKeyRequest>,
) -> Result<Json<KeyResponse>, FrtcError> {
    let name = parse_key_name(&req.name)?;
    let kind = match req.kind.as_deref() {
        None => ApiKeyKind::Bearer,
        Some(k) => ApiKeyKind::parse(k)?,
    };
    let created = state
        .plenum
        .accounts()
        .create_api_key(who.actor(), name, kind)
        .await?;
    Ok(Json(KeyResponse::new(&created.key, Some(created.secret))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    api_keys: Vec<KeyResponse>,
}

/// The company's keys, oldest first, revoked ones included; never their secrets.
#[utoipa::path(get, path = "/api/v1/api_keys", tag = TAG,
    security(("token" = [])),
    responses((status = 200, body = KeyList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_keys(
    State(state): State<AppState>,
    UserAdmin(who): UserAdmin,
) -> Result<Json<KeyList>, FrtcError> {
    let keys = state.plenum.accounts().api_keys(who.actor()).await?;
    Ok(Json(KeyList {
        api_keys: keys.iter().map(|k| KeyResponse::new(k, None)).collect(),
    }))
}

/// Revoke a key: requests with it, and tokens issued through it, stop working at once.
#[utoipa::path(delete, path = "/api/v1/api_keys/{api_key_id}", tag = TAG,
    security(("token" = [])),
    params(("api_key_id" = String, Path, description = "The key's id")),
    responses(
        (status = 200, body = KeyResponse),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "api_key_not_found", body = ErrorBody),
    ))]
pub async fn revoke_key(
    State(state): State<AppState>,
    UserAdmin(who): UserAdmin,
    Path(id): Path<String>,
) -> Result<Json<KeyResponse>, FrtcError> {
    let id: ApiKeyId = parse_id(&id, HistoryError::ApiKeyNotFound.into())?;
    let key = state
        .plenum
        .accounts()
        .revoke_api_key(who.actor(), id)
        .await?;
    Ok(Json(KeyResponse::new(&key, None)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResponse {
    /// Records written, by type.
    rooms: u64,
    sessions: u64,
    attendance: u64,
    recordings: u64,
    /// Records whose id the company already had (left as they were).
    unchanged: u64,
}

impl From<ImportSummary> for ImportResponse {
    fn from(s: ImportSummary) -> Self {
        Self {
            rooms: s.rooms,
            sessions: s.sessions,
            attendance: s.attendance,
            recordings: s.recordings,
            unchanged: s.unchanged,
        }
    }
}

/// Import the history of another system into the caller's company: the body is a JSON-lines
/// file (`docs/import.md`). All of it is written, or, if a line is wrong, none of it
/// (`import_refused`, naming the line). Importing the same file again changes nothing.
#[utoipa::path(post, path = "/api/v1/history/import", tag = TAG,
    security(("token" = [])),
    request_body(content = String, content_type = "application/x-ndjson",
        description = "One JSON object per line: rooms, sessions, attendance, recordings"),
    responses(
        (status = 200, body = ImportResponse),
        (status = 400, description = "import_refused", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody),
    ))]
pub async fn import(
    State(state): State<AppState>,
    UserAdmin(who): UserAdmin,
    body: Body,
) -> Result<Json<ImportResponse>, FrtcError> {
    let bytes = axum::body::to_bytes(body, MAX_IMPORT_BYTES)
        .await
        .map_err(|_| {
            FrtcError::new(
                ErrorCode::PayloadTooLarge,
                format!("an import file over HTTP may be at most {MAX_IMPORT_BYTES} bytes; use `plenum import` for larger ones"),
            )
        })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        FrtcError::from(ServiceError::from(HistoryError::ImportRefused(
            plenum_domain::history_import::ImportRefused::new(
                bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1,
                "the file is not UTF-8",
            ),
        )))
    })?;
    let summary = state
        .plenum
        .history()
        .import_history(who.actor(), text)
        .await?;
    Ok(Json(summary.into()))
}

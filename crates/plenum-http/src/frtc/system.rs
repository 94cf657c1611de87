//! FRTC "System": capacity and version.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::{FrtcError, SignedIn};
use crate::AppState;

pub const TAG: &str = "System";

#[derive(Debug, Serialize, ToSchema)]
pub struct GatewayCapacity {
    max_calls: u32,
    current_calls: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SystemCapacity {
    max_calls: u32,
    /// The caller's company's licensed number of users.
    max_users: u32,
    current_calls: u32,
    /// Users of the caller's company.
    current_users: u64,
    status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CapacityResponse {
    gateway: GatewayCapacity,
    system: SystemCapacity,
}

/// Configured limits and current usage. `max_users` and `current_users` are the caller's
/// company's (each company has its own licence); calls are installation-wide.
#[utoipa::path(method(get, post), path = "/api/v1/system/capacity", tag = TAG,
    security(("token" = [])),
    responses((status = 200, body = CapacityResponse), (status = 401, body = ErrorBody)))]
pub async fn capacity(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Json<CapacityResponse>, FrtcError> {
    let c = state.plenum.accounts().capacity(&who.principal).await?;
    Ok(Json(CapacityResponse {
        gateway: GatewayCapacity {
            max_calls: c.gateway_max_calls,
            current_calls: c.gateway_current_calls,
        },
        system: SystemCapacity {
            max_calls: c.max_calls,
            max_users: c.max_users,
            current_calls: c.current_calls,
            current_users: c.current_users,
            status: "authorized".to_owned(),
        },
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionResponse {
    version: String,
}

/// The server's version. Needs no token: clients check compatibility before signing in.
#[utoipa::path(method(get, post), path = "/api/v1/system/version", tag = TAG,
    responses((status = 200, body = VersionResponse)))]
pub async fn version() -> Json<VersionResponse> {
    Json(VersionResponse {
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

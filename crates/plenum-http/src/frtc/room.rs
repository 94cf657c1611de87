//! FRTC "Meeting Room": persistent rooms with a permanent number and password.
//!
//! The document has one call, `POST /api/v1/meeting_room`, that lists rooms. Plenum adds
//! create, update and delete in the same style (see docs/frtc.md): a `POST` to the same path
//! *with* a `meetingroom_name` creates a room; without one (empty body) it lists, as
//! documented. `GET` lists too. `/api/v1/meeting_room/{id}`: `GET` detail, `POST` update,
//! `DELETE` delete. Everyone in the company sees the rooms; MeetingOperators and
//! SystemAdmins manage them.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use plenum_domain::ids::{RoomId, UserId};
use plenum_domain::schedule::{MeetingNumber, MeetingPassword, Room, parse_room_name};
use plenum_service::{RoomRequest, ServiceError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::body::parse;
use super::error::ErrorBody;
use super::{FrtcError, FrtcJson, PagingQuery, RoomManager, SignedIn, parse_id};
use crate::AppState;

pub const TAG: &str = "Meeting Room";

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RoomRequestBody {
    #[serde(default)]
    meetingroom_name: Option<String>,
    /// 6 to 12 digits; generated when absent.
    #[serde(default)]
    meeting_number: Option<String>,
    /// 4 to 16 digits; empty or null for none.
    #[serde(default, deserialize_with = "super::body::nullable")]
    #[schema(value_type = Option<String>)]
    meeting_password: Option<Option<String>>,
    /// Default: the caller.
    #[serde(default)]
    owner_id: Option<String>,
}

impl RoomRequestBody {
    fn request(&self) -> Result<RoomRequest, FrtcError> {
        Ok(RoomRequest {
            name: self
                .meetingroom_name
                .as_deref()
                .map(parse_room_name)
                .transpose()?,
            meeting_number: self
                .meeting_number
                .as_deref()
                .map(MeetingNumber::parse)
                .transpose()?,
            password: self
                .meeting_password
                .as_ref()
                .map(|p| MeetingPassword::parse_optional(p.as_deref()))
                .transpose()?,
            owner: self
                .owner_id
                .as_deref()
                .map(|id| {
                    id.parse::<UserId>()
                        .map_err(|_| FrtcError::from(ServiceError::UserNotFound))
                })
                .transpose()?,
        })
    }
}

/// A room with the documented fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomDetail {
    meeting_room_id: String,
    meeting_number: String,
    meetingroom_name: String,
    meeting_password: String,
    owner_id: String,
    owner_name: String,
    creator_id: String,
    creator_name: String,
    /// Milliseconds since the Unix epoch.
    created_time: i64,
}

impl From<&Room> for RoomDetail {
    fn from(r: &Room) -> Self {
        Self {
            meeting_room_id: r.id.to_string(),
            meeting_number: r.meeting_number.to_string(),
            meetingroom_name: r.name.clone(),
            meeting_password: r
                .password
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            owner_id: r.owner.id.to_string(),
            owner_name: r.owner.display_name().to_owned(),
            creator_id: r.creator.id.to_string(),
            creator_name: r.creator.display_name().to_owned(),
            created_time: r.created_at.as_millisecond(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoomList {
    meeting_rooms: Vec<RoomDetail>,
    /// Plenum extension: pages at this page size.
    total_page_num: u64,
    /// Plenum extension: number of rooms.
    total_size: u64,
}

fn parse_room_id(raw: &str) -> Result<RoomId, FrtcError> {
    parse_id(raw, ServiceError::RoomNotFound)
}

async fn list(
    state: &AppState,
    who: &SignedIn,
    query: PagingQuery,
) -> Result<Json<RoomList>, FrtcError> {
    let page = query.page()?;
    let found = state
        .plenum
        .scheduling()
        .rooms(&who.principal, query.filter()?, page)
        .await?;
    Ok(Json(RoomList {
        total_page_num: found.total_pages(page.limit()),
        total_size: found.total,
        meeting_rooms: found.items.iter().map(RoomDetail::from).collect(),
    }))
}

/// The company's rooms, oldest first (`page_num`, `page_size` optional). With a body that
/// has a `meetingroom_name`, creates a room instead (MeetingOperator, SystemAdmin).
#[utoipa::path(post, path = "/api/v1/meeting_room", tag = TAG,
    security(("token" = [])),
    params(PagingQuery),
    request_body(content = Option<RoomRequestBody>, description = "Empty to list; with meetingroom_name to create"),
    responses(
        (status = 200, description = "The list (empty body) or the created room", body = RoomList),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "meeting_number_taken", body = ErrorBody),
    ))]
pub async fn list_or_create(
    State(state): State<AppState>,
    who: SignedIn,
    query: PagingQuery,
    body: Bytes,
) -> Result<Response, FrtcError> {
    // Permission before the body (docs/errors.md): only a room manager may create, so for
    // anyone else a body that is not a plain list request is refused unread.
    let may_create = who.principal.require_room_manager();
    let req: RoomRequestBody = match parse(&body) {
        Ok(req) => req,
        Err(e) => {
            may_create?;
            return Err(e);
        }
    };
    if req.meetingroom_name.is_none() {
        return Ok(list(&state, &who, query).await?.into_response());
    }
    may_create?;
    let room = state
        .plenum
        .scheduling()
        .create_room(&who.principal, req.request()?)
        .await?;
    Ok(Json(RoomDetail::from(&room)).into_response())
}

/// The company's rooms, oldest first.
#[utoipa::path(get, path = "/api/v1/meeting_room", tag = TAG,
    security(("token" = [])),
    params(PagingQuery),
    responses((status = 200, body = RoomList), (status = 401, body = ErrorBody)))]
pub async fn list_rooms(
    State(state): State<AppState>,
    who: SignedIn,
    query: PagingQuery,
) -> Result<Json<RoomList>, FrtcError> {
    list(&state, &who, query).await
}

/// One room.
#[utoipa::path(get, path = "/api/v1/meeting_room/{meeting_room_id}", tag = TAG,
    security(("token" = [])),
    params(("meeting_room_id" = String, Path)),
    responses((status = 200, body = RoomDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn detail(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<RoomDetail>, FrtcError> {
    let room = state
        .plenum
        .scheduling()
        .room(&who.principal, parse_room_id(&id)?)
        .await?;
    Ok(Json(RoomDetail::from(&room)))
}

/// Change a room (MeetingOperator, SystemAdmin). Fields left out stay. Its number can
/// change only while no meeting is scheduled in it (`room_in_use`).
#[utoipa::path(post, path = "/api/v1/meeting_room/{meeting_room_id}", tag = TAG,
    security(("token" = [])),
    params(("meeting_room_id" = String, Path)),
    request_body = RoomRequestBody,
    responses((status = 200, body = RoomDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    RoomManager(who): RoomManager,
    Path(id): Path<String>,
    FrtcJson(req): FrtcJson<RoomRequestBody>,
) -> Result<Json<RoomDetail>, FrtcError> {
    let id = parse_room_id(&id)?;
    let room = state
        .plenum
        .scheduling()
        .update_room(&who.principal, id, req.request()?)
        .await?;
    Ok(Json(RoomDetail::from(&room)))
}

/// Delete a room (MeetingOperator, SystemAdmin) and free its number; refused while meetings
/// are scheduled in it (`room_in_use`).
#[utoipa::path(delete, path = "/api/v1/meeting_room/{meeting_room_id}", tag = TAG,
    security(("token" = [])),
    params(("meeting_room_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, FrtcError> {
    state
        .plenum
        .scheduling()
        .delete_room(&who.principal, parse_room_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

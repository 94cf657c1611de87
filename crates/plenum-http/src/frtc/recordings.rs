//! Plenum extensions in the FRTC style for recordings (docs/frtc.md, "Recordings"): those
//! of a running meeting, and the company's history of them, each with its download link.
//!
//! Read by MeetingOperators and SystemAdmins (the company's meeting record), and, for a
//! running meeting, by whoever may control it.

use axum::Json;
use axum::extract::{Path, Query, State};
use plenum_domain::history_query::{RecordingFilter, RecordingView};
use plenum_domain::ids::{RecordingId, SessionId};
use plenum_service::{CompanyScope, HistoryError, ServiceError, require_record_reader};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::meeting::Controller;
use super::{FrtcError, PagingQuery, SignedIn, parse_id};
use crate::AppState;

pub const TAG: &str = "Recordings";

/// A recording as the FRTC extensions show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordingItem {
    recording_id: String,
    session_id: String,
    /// The participant recorded (their client_uuid); `null` for the meeting recording (the
    /// mixed audio and the speaker's video).
    client_uuid: Option<String>,
    /// `audio` or `video`.
    #[serde(rename = "type")]
    kind: &'static str,
    codec: String,
    /// `processing`, `completed` or `failed`.
    status: &'static str,
    /// Why a `failed` recording failed.
    failure: Option<String>,
    duration_secs: u32,
    size_bytes: u64,
    /// Milliseconds since the Unix epoch.
    start_time: i64,
    end_time: Option<i64>,
    completed_time: Option<i64>,
    /// A signed link (valid `recordings.link_ttl_secs`) that serves the file with ranges;
    /// empty until the recording is completed.
    download_url: String,
}

impl From<&RecordingView> for RecordingItem {
    fn from(v: &RecordingView) -> Self {
        let r = &v.recording;
        Self {
            recording_id: r.id.to_string(),
            session_id: r.session.to_string(),
            client_uuid: r.attendance.map(|a| a.to_string()),
            kind: r.kind.as_str(),
            codec: r.codec.clone(),
            status: r.status.as_str(),
            failure: r.failure.clone(),
            duration_secs: r.duration_secs,
            size_bytes: r.size_bytes,
            start_time: r.started_at.as_millisecond(),
            end_time: r.ended_at.map(|t| t.as_millisecond()),
            completed_time: r.completed_at.map(|t| t.as_millisecond()),
            download_url: r.download_url.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordingList {
    recordings: Vec<RecordingItem>,
    total_page_num: u64,
    total_size: u64,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionParam {
    /// Only the recordings of this holding of a meeting (`session_id` of meeting detail).
    session_id: Option<String>,
}

impl RecordingList {
    /// A page of the caller's company's recordings matching `filter`.
    async fn find(
        state: &AppState,
        who: &SignedIn,
        filter: &RecordingFilter,
        page: plenum_domain::paging::PageRequest,
    ) -> Result<Json<Self>, FrtcError> {
        let found = state
            .plenum
            .history()
            .find_recordings(scope(who), filter, page)
            .await?;
        Ok(Json(RecordingList {
            total_page_num: found.total_pages(page.limit()),
            total_size: found.total,
            recordings: found.items.iter().map(RecordingItem::from).collect(),
        }))
    }
}

/// The recordings of the running meeting's current holding, newest first.
#[utoipa::path(get, path = "/api/v1/meeting/{meeting_number}/recordings", tag = TAG,
    security(("token" = [])), params(("meeting_number" = String, Path)),
    responses((status = 200, body = RecordingList), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn of_meeting(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
) -> Result<Json<RecordingList>, FrtcError> {
    state
        .plenum
        .live()
        .may_control(&who.principal, &number)
        .await?;
    let meeting = state
        .plenum
        .live()
        .live_meeting(&who.principal, &number)
        .await?;
    let filter = RecordingFilter {
        session: Some(meeting.session),
        ..RecordingFilter::default()
    };
    let page = plenum_domain::paging::PageRequest::by_number(1, 500, 500)?;
    RecordingList::find(&state, &who, &filter, page).await
}

/// The company's recordings, newest first (`page_num`, `page_size`, `session_id`).
#[utoipa::path(get, path = "/api/v1/history/recordings", tag = TAG, security(("token" = [])),
    params(PagingQuery, SessionParam),
    responses((status = 200, body = RecordingList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    who: SignedIn,
    paging: PagingQuery,
    Query(params): Query<SessionParam>,
) -> Result<Json<RecordingList>, FrtcError> {
    require_record_reader(&who.principal)?;
    let page = paging.page()?;
    let session = match params.session_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(parse_id::<SessionId>(
            raw,
            HistoryError::SessionNotFound.into(),
        )?),
    };
    let filter = RecordingFilter {
        session,
        ..RecordingFilter::default()
    };
    RecordingList::find(&state, &who, &filter, page).await
}

/// One recording of the company.
#[utoipa::path(get, path = "/api/v1/history/recordings/{recording_id}", tag = TAG,
    security(("token" = [])), params(("recording_id" = String, Path)),
    responses((status = 200, body = RecordingItem), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn detail(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<RecordingItem>, FrtcError> {
    require_record_reader(&who.principal)?;
    let id: RecordingId = parse_id(&id, ServiceError::from(HistoryError::RecordingNotFound))?;
    let view = state.plenum.history().recording(scope(&who), id).await?;
    Ok(Json(RecordingItem::from(&view)))
}

fn scope(who: &SignedIn) -> CompanyScope {
    CompanyScope {
        company: who.principal.company(),
    }
}

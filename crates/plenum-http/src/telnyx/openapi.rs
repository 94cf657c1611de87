//! The Telnyx surface in the OpenAPI document: its paths (annotated above the handlers), its
//! bracketed query parameters, and the answers it writes with `json!`, described here.

use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::RoomRecording;

#[derive(OpenApi)]
#[openapi(paths(super::list, super::retrieve, super::delete_bulk, super::delete_one))]
pub(crate) struct Doc;

/// The filters of a list or bulk delete; they combine with AND. Keys may be percent-encoded
/// (`filter%5Broom_id%5D`). An unknown `filter[...]` or `page[...]` key is refused (400).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct Filters {
    /// Recordings that started on this UTC day: a date (`2021-04-16`), or a date-time standing
    /// for its UTC day.
    #[serde(rename = "filter[date_started_at][eq]")]
    #[param(example = "2021-04-16")]
    started_eq: Option<String>,
    /// ... on or after this UTC day.
    #[serde(rename = "filter[date_started_at][gte]")]
    #[param(example = "2021-04-16")]
    started_gte: Option<String>,
    /// ... on or before this UTC day.
    #[serde(rename = "filter[date_started_at][lte]")]
    #[param(example = "2021-04-16")]
    started_lte: Option<String>,
    /// Recordings that ended on this UTC day (one without an end never matches).
    #[serde(rename = "filter[date_ended_at][eq]")]
    #[param(example = "2021-04-16")]
    ended_eq: Option<String>,
    /// ... on or after this UTC day.
    #[serde(rename = "filter[date_ended_at][gte]")]
    #[param(example = "2021-04-16")]
    ended_gte: Option<String>,
    /// ... on or before this UTC day.
    #[serde(rename = "filter[date_ended_at][lte]")]
    #[param(example = "2021-04-16")]
    ended_lte: Option<String>,
    /// The persistent room (FRTC `meeting_room_id`).
    #[serde(rename = "filter[room_id]")]
    #[param(format = Uuid)]
    room_id: Option<String>,
    /// The participant's stay.
    #[serde(rename = "filter[participant_id]")]
    #[param(format = Uuid)]
    participant_id: Option<String>,
    /// The session.
    #[serde(rename = "filter[session_id]")]
    #[param(format = Uuid)]
    session_id: Option<String>,
    /// `completed`, `processing` or `failed`.
    #[serde(rename = "filter[status]")]
    status: Option<String>,
    /// `audio` or `video`.
    #[serde(rename = "filter[type]")]
    kind: Option<String>,
    /// At least this many seconds long (what the official SDK sends for `duration_secs`).
    #[serde(rename = "filter[duration_secs]")]
    duration: Option<u32>,
    /// Exactly this many seconds long.
    #[serde(rename = "filter[duration_secs][eq]")]
    duration_eq: Option<u32>,
    /// At least this many seconds long.
    #[serde(rename = "filter[duration_secs][gte]")]
    duration_gte: Option<u32>,
    /// At most this many seconds long.
    #[serde(rename = "filter[duration_secs][lte]")]
    duration_lte: Option<u32>,
}

/// The page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct Paging {
    /// 1..=250, default 20.
    #[serde(rename = "page[size]")]
    #[param(minimum = 1, maximum = 250)]
    size: Option<u32>,
    /// From 1, default 1.
    #[serde(rename = "page[number]")]
    #[param(minimum = 1)]
    number: Option<u32>,
}

/// One recording.
#[derive(Debug, ToSchema)]
#[schema(as = TelnyxRoomRecordingResponse)]
#[allow(dead_code)]
pub(crate) struct RecordingResponse {
    data: RoomRecording<'static>,
}

/// How many recordings a bulk delete deleted.
#[derive(Debug, ToSchema)]
#[schema(as = TelnyxDeletedResponse)]
#[allow(dead_code)]
pub(crate) struct DeletedResponse {
    data: Deleted,
}

#[derive(Debug, ToSchema)]
#[schema(as = TelnyxDeleted)]
#[allow(dead_code)]
pub(crate) struct Deleted {
    room_recordings: u64,
}

/// Telnyx's error body: `10015` Bad Request (400), `10009` Authentication failed (401),
/// `10005` Resource not found (404), `10007` Unexpected error (500).
#[derive(Debug, ToSchema)]
#[schema(as = TelnyxErrors)]
#[allow(dead_code)]
pub(crate) struct Errors {
    /// One error.
    errors: Vec<Error>,
}

#[derive(Debug, ToSchema)]
#[schema(as = TelnyxError)]
#[allow(dead_code)]
pub(crate) struct Error {
    #[schema(example = "10015")]
    code: String,
    #[schema(example = "Bad Request")]
    title: String,
    detail: String,
    /// For a wrong query parameter: which (absent otherwise).
    source: Option<Source>,
}

#[derive(Debug, ToSchema)]
#[schema(as = TelnyxErrorSource)]
#[allow(dead_code)]
pub(crate) struct Source {
    #[schema(example = "filter[status]")]
    parameter: String,
}

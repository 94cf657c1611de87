//! FRTC "Meeting Control": running meetings and what hosts do to them.
//!
//! Every call acts on the running meeting of `{meeting_number}` in the caller's company and
//! answers `204 No Content`; the change is durable and has been pushed to the participants'
//! clients (see `docs/client-protocol.md`) when the answer arrives. Who may call: the
//! meeting's owner, MeetingOperators and SystemAdmins; the list and detail are also open to
//! the meeting's invitees. A number that is not running in the caller's company is
//! `meeting_not_running` (404), whatever another company runs under it.
//!
//! Participants are named by their `client_uuid` (the id the server gave their client at
//! join). The document's slips are resolved as `docs/frtc.md` explains: `POST /live` starts
//! streaming and `DELETE /live` stops it; `POST /api/v1/meeting/{n}` with an `end_time`
//! updates, without one it is the detail; the list answers `GET` and `POST`; `disconnect`
//! and `disconnect_all` answer `POST` as well as the documented `DELETE`.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use plenum_domain::ids::AttendanceId;
use plenum_domain::live::{
    Command, Layout, LayoutMode, Overlay, Participant, ParticipantKind, parse_display_name,
};
use plenum_domain::schedule::parse_live_passcode;
use plenum_domain::{Field, Rule, Timestamp, ValidationError};
use plenum_service::{MeetingSnapshot, MeetingSummary, ServiceError};
use serde::de::{self, Unexpected};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::error::{ErrorBody, missing};
use super::{ErrorCode, FrtcError, FrtcJson, SignedIn, path_param};
use crate::AppState;
use crate::nodes::PeerAddress;

pub const TAG: &str = "Meeting Control";

// --- lenient field types -------------------------------------------------------------------

/// A boolean as FRTC clients send it: `true`, or the string `"true"` (the document's table
/// types `allow_self_unmute` as a string).
fn flexible_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    const EXPECTED: &str = super::body::EXPECTED_BOOL;
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::String(t)) => match t.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(Some(true)),
            "false" | "0" => Ok(Some(false)),
            _ => Err(de::Error::invalid_value(Unexpected::Str(&t), &EXPECTED)),
        },
        Some(other) => Err(de::Error::invalid_type(unexpected(&other), &EXPECTED)),
    }
}

/// A list of client ids; numbers are accepted as their decimal text (the document's table
/// types `exclusions` as `long`).
fn client_ids<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    const EXPECTED: &str = "a client_uuid";
    let Some(ids) = Option::<Vec<Value>>::deserialize(d)? else {
        return Ok(None);
    };
    ids.into_iter()
        .map(|id| match id {
            Value::String(t) => Ok(t),
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
            other => Err(de::Error::invalid_type(unexpected(&other), &EXPECTED)),
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// What serde's messages call a JSON value of the wrong kind ("invalid type: null, expected …").
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => n
            .as_f64()
            .map_or(Unexpected::Other("number"), Unexpected::Float),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// The `participants` list most calls carry.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ParticipantsBody {
    /// client_uuids.
    #[serde(default, deserialize_with = "client_ids")]
    participants: Option<Vec<String>>,
    #[serde(default, deserialize_with = "flexible_bool")]
    #[schema(value_type = Option<bool>)]
    allow_self_unmute: Option<bool>,
}

impl ParticipantsBody {
    fn required(self) -> Result<Vec<AttendanceId>, FrtcError> {
        match self.participants {
            Some(p) if !p.is_empty() => p.iter().map(|id| client_uuid(id)).collect(),
            Some(_) => Err(ValidationError::breaks(
                Rule::Empty,
                Field::Participants,
                "is empty: name at least one client_uuid",
            )
            .into()),
            None => Err(missing(Field::Participants)
                .with_message("missing field `participants`: name at least one client_uuid")),
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct MuteAllBody {
    /// Whether the muted may unmute themselves (default true).
    #[serde(default, deserialize_with = "flexible_bool")]
    #[schema(value_type = Option<bool>)]
    allow_self_unmute: Option<bool>,
    /// client_uuids left unmuted.
    #[serde(default, deserialize_with = "client_ids")]
    exclusions: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct StopBody {
    /// Whether participants may join the meeting again (default true). `false` closes a
    /// scheduled meeting for good.
    #[serde(default, deserialize_with = "flexible_bool")]
    #[schema(value_type = Option<bool>)]
    rejoin: Option<bool>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct OverlayBody {
    content: Option<String>,
    /// How many times the text runs; 0 (default) until stopped.
    #[serde(default)]
    repeat: Option<u32>,
    /// Vertical position in percent of the picture, 0 (top) to 100 (bottom); default 0.
    #[serde(default)]
    position: Option<u32>,
    #[serde(default, deserialize_with = "flexible_bool")]
    #[schema(value_type = Option<bool>)]
    enable_scroll: Option<bool>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct LecturerBody {
    /// client_uuid of the new lecturer.
    lecturer: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateMeetingBody {
    /// New end of the running meeting, ms since the Unix epoch (a number or a string of
    /// digits, as FRTC's other times); the meeting ends then.
    #[serde(default, deserialize_with = "super::schedule::millis")]
    #[schema(value_type = Option<i64>)]
    end_time: Option<i64>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ParticipantInfoBody {
    client_id: Option<String>,
    display_name: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct LiveBody {
    /// 4 to 16 digits viewers must give; default: the meeting's live passcode, if any.
    live_password: Option<String>,
    /// Plenum extension: also push the stream to this RTMP ingest (`rtmp://` or `rtmps://`),
    /// transcoded to H.264 and AAC by `ffmpeg`.
    rtmp_url: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct LayoutBody {
    /// 1 to 19 (default 9).
    max_views: Option<u32>,
    /// `auto` (default), `gallery` or `speaker`.
    layout: Option<String>,
}

// --- responses -----------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MeetingListItem {
    meeting_number: String,
    meeting_name: String,
    /// ms since the Unix epoch.
    start_time: i64,
    /// Always `STARTED`: only running meetings are listed.
    status: String,
    owner_id: String,
    owner_name: String,
    locked: bool,
    /// Plenum extension: participants now.
    participant_count: u32,
}

impl From<&MeetingSummary> for MeetingListItem {
    fn from(s: &MeetingSummary) -> Self {
        Self {
            meeting_number: s.number.to_string(),
            meeting_name: s.name.clone(),
            start_time: s.started_at.as_millisecond(),
            status: "STARTED".to_owned(),
            owner_id: s.owner.to_string(),
            owner_name: s.owner_name.clone(),
            locked: s.locked,
            participant_count: s.participants,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MeetingList {
    meetings: Vec<MeetingListItem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantItem {
    client_uuid: String,
    name: String,
    /// `USER` (signed in to this company), `GUEST`, or `GATEWAY`.
    #[serde(rename = "type")]
    kind: &'static str,
    mute_video: bool,
    mute_audio: bool,
    lecture: bool,
    // Plenum extensions:
    /// Whether the participant may unmute themselves.
    allow_self_unmute: bool,
    unmute_requested: bool,
    device_type: &'static str,
    media_type: &'static str,
    /// The client_uuid this participant's view pins, if any.
    pinned: Option<String>,
    max_views: u8,
    layout: &'static str,
    /// ms since the Unix epoch.
    join_time: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverlayItem {
    content: String,
    repeat: u32,
    position: u8,
    enable_scroll: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingDetail {
    meeting_number: String,
    meeting_name: String,
    /// ms since the Unix epoch.
    start_time: i64,
    // Always present here; left out only where participants see the meeting (the client
    // protocol's `joined`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = true)]
    meeting_password: Option<String>,
    status: &'static str,
    owner_id: String,
    owner_name: String,
    guest_dial_in: bool,
    watermark: bool,
    locked: bool,
    participants: Vec<ParticipantItem>,
    // Plenum extensions:
    /// The id of this holding of the meeting (history: session).
    session_id: String,
    /// When the meeting ends by itself (ms), `null` for a room.
    end_time: Option<i64>,
    watermark_type: &'static str,
    recording: bool,
    live: bool,
    live_url: Option<String>,
    live_passcode: Option<String>,
    /// How many watch the live stream now (viewers are not participants).
    viewers: u32,
    /// The download link of this holding's latest completed meeting recording (the mix and
    /// the speaker's video), once there is one; `GET …/recordings` lists them all.
    recording_url: Option<String>,
    overlay: Option<OverlayItem>,
    /// client_uuid pinned for everyone.
    pinned: Option<String>,
    /// Whether the caller may use this meeting's control calls (its owner, a MeetingOperator
    /// or a SystemAdmin of its company), as the server judges every control call: clients
    /// show a host's controls by it. In the answers of `GET`/`POST /api/v1/meeting/{n}`
    /// only (not in the client protocol's `joined`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = bool)]
    may_control: Option<bool>,
}

impl From<&MeetingSnapshot> for MeetingDetail {
    fn from(m: &MeetingSnapshot) -> Self {
        Self {
            meeting_number: m.number.to_string(),
            meeting_name: m.name.clone(),
            start_time: m.started_at.as_millisecond(),
            meeting_password: Some(m.password.clone().unwrap_or_default()),
            status: "STARTED",
            owner_id: m.owner.to_string(),
            owner_name: m.owner_name.clone(),
            guest_dial_in: m.guest_dial_in,
            watermark: m.watermark,
            locked: m.locked,
            participants: m
                .participants
                .iter()
                .map(|p| ParticipantItem {
                    client_uuid: p.id.to_string(),
                    name: p.display_name.clone(),
                    kind: participant_type(p),
                    mute_video: p.mute_video,
                    mute_audio: p.mute_audio,
                    lecture: m.lecturer == Some(p.id),
                    allow_self_unmute: p.may_unmute_self,
                    unmute_requested: p.unmute_requested,
                    device_type: p.device_type.as_str(),
                    media_type: p.media_type.as_str(),
                    pinned: p.pinned.map(|id| id.to_string()),
                    max_views: p.layout.max_views,
                    layout: p.layout.mode.as_str(),
                    join_time: p.joined_at.as_millisecond(),
                })
                .collect(),
            session_id: m.session.to_string(),
            end_time: m.end_time.map(|t| t.as_millisecond()),
            watermark_type: m.watermark_type,
            recording: m.recording,
            live: m.live.is_some(),
            live_url: m.live.as_ref().map(|l| l.url.clone()),
            live_passcode: m.live.as_ref().and_then(|l| l.passcode.clone()),
            viewers: m.viewers,
            recording_url: None,
            overlay: m.overlay.as_ref().map(|o| OverlayItem {
                content: o.content.clone(),
                repeat: o.repeat,
                position: o.position,
                enable_scroll: o.enable_scroll,
            }),
            pinned: m.pinned.map(|id| id.to_string()),
            may_control: None,
        }
    }
}

impl MeetingDetail {
    /// The detail as `who` asks for it: with the link of the meeting's recording when it was
    /// recorded, and whether `who` may control the meeting.
    async fn of(state: &AppState, who: &SignedIn, m: &MeetingSnapshot) -> Result<Self, FrtcError> {
        let mut detail = Self::from(m);
        detail.recording_url = state.plenum.history().meeting_recording_url(m).await?;
        detail.may_control = Some(
            state
                .plenum
                .live()
                .may_control(&who.principal, &detail.meeting_number)
                .await
                .is_ok(),
        );
        Ok(detail)
    }

    /// The detail as the meeting's participants get it (the client protocol's `joined`):
    /// without the password, listing only the first `listed` participants; the others are
    /// returned, in order.
    pub(crate) fn for_participants(
        m: &MeetingSnapshot,
        listed: usize,
    ) -> (Self, Vec<ParticipantItem>) {
        let mut detail = Self::from(m);
        detail.meeting_password = None;
        let rest = detail
            .participants
            .split_off(listed.min(detail.participants.len()));
        (detail, rest)
    }

    pub(crate) fn participants(&self) -> &[ParticipantItem] {
        &self.participants
    }
}

impl ParticipantItem {
    pub(crate) fn client_uuid(&self) -> &str {
        &self.client_uuid
    }
}

/// FRTC's participant `type`.
pub(crate) fn participant_type(p: &Participant) -> &'static str {
    match p.kind() {
        ParticipantKind::User => "USER",
        ParticipantKind::Guest => "GUEST",
        ParticipantKind::Gateway => "GATEWAY",
    }
}

// --- handlers ------------------------------------------------------------------------------

/// A participant named by its client_uuid; anything that is not one is simply not in the
/// meeting.
fn client_uuid(raw: &str) -> Result<AttendanceId, FrtcError> {
    raw.trim()
        .parse()
        .map_err(|_| ServiceError::ParticipantNotFound(raw.trim().to_owned()).into())
}

/// The caller, allowed to control the running meeting of the path's `meeting_number`.
/// Checked before the body is read (docs/errors.md: authentication, then permission, then
/// the body): someone without the right, or a number not running, learns nothing from how
/// their body would have been judged.
#[derive(Debug)]
pub struct Controller(pub(crate) SignedIn);

impl FromRequestParts<AppState> for Controller {
    type Rejection = FrtcError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let who = SignedIn::from_request_parts(parts, state).await?;
        let number = path_param(
            parts,
            state,
            "meeting_number",
            ServiceError::MeetingNotRunning,
        )
        .await?;
        state
            .plenum
            .live()
            .may_control(&who.principal, &number)
            .await?;
        Ok(Self(who))
    }
}

async fn apply(
    state: &AppState,
    who: &SignedIn,
    number: &str,
    control: Command,
) -> Result<StatusCode, FrtcError> {
    state
        .plenum
        .live()
        .control(who.actor(), number, control)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The running meetings of the caller's company that the caller may see, oldest first.
#[utoipa::path(post, path = "/api/v1/meeting", tag = TAG, security(("token" = [])),
    responses((status = 200, body = MeetingList), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    who: SignedIn,
    from: PeerAddress,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Json<MeetingList> {
    let mut meetings: Vec<MeetingListItem> = state
        .plenum
        .live()
        .live_meetings(&who.principal)
        .iter()
        .map(MeetingListItem::from)
        .collect();
    // On a node of several, the meetings the other nodes run (docs/scaling.md).
    for body in crate::nodes::gather(&state, &method, &uri, &headers, from.ip()).await {
        if let Ok(theirs) = serde_json::from_slice::<MeetingList>(&body) {
            meetings.extend(theirs.meetings);
        }
    }
    meetings
        .sort_by(|a, b| (a.start_time, &a.meeting_number).cmp(&(b.start_time, &b.meeting_number)));
    Json(MeetingList { meetings })
}

/// The running meetings (as `POST`).
#[utoipa::path(get, path = "/api/v1/meeting", tag = TAG, security(("token" = [])),
    responses((status = 200, body = MeetingList), (status = 401, body = ErrorBody)))]
pub async fn list_get(
    state: State<AppState>,
    who: SignedIn,
    from: PeerAddress,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Json<MeetingList> {
    list(state, who, from, method, uri, headers).await
}

/// A running meeting with its participants, and whether the caller may control it
/// (`may_control`, a Plenum extension).
#[utoipa::path(get, path = "/api/v1/meeting/{meeting_number}", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)),
    responses((status = 200, body = MeetingDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "meeting_not_running", body = ErrorBody)))]
pub async fn detail(
    State(state): State<AppState>,
    who: SignedIn,
    Path(number): Path<String>,
) -> Result<Json<MeetingDetail>, FrtcError> {
    let snapshot = state
        .plenum
        .live()
        .live_meeting(&who.principal, &number)
        .await?;
    Ok(Json(MeetingDetail::of(&state, &who, &snapshot).await?))
}

/// Without a body: the detail. With `end_time`: moves the running meeting's end (it really
/// ends then, everyone is disconnected) and answers 204.
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)),
    request_body(content = Option<UpdateMeetingBody>),
    responses((status = 200, body = MeetingDetail), (status = 204, description = "end_time updated"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn detail_or_update(
    State(state): State<AppState>,
    who: SignedIn,
    Path(number): Path<String>,
    FrtcJson(body): FrtcJson<UpdateMeetingBody>,
) -> Result<Response, FrtcError> {
    match body.end_time {
        None => Ok(Json(
            MeetingDetail::of(
                &state,
                &who,
                &state
                    .plenum
                    .live()
                    .live_meeting(&who.principal, &number)
                    .await?,
            )
            .await?,
        )
        .into_response()),
        Some(ms) => {
            let end = Timestamp::from_millisecond(ms).map_err(|_| {
                ValidationError::breaks(
                    Rule::TimeForm,
                    Field::EndTime,
                    "must be milliseconds since the Unix epoch",
                )
            })?;
            Ok(apply(&state, &who, &number, Command::SetEndTime(end))
                .await?
                .into_response())
        }
    }
}

/// Mutes everyone but the exclusions.
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}/mute_all", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)), request_body = MuteAllBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn mute_all(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
    FrtcJson(body): FrtcJson<MuteAllBody>,
) -> Result<StatusCode, FrtcError> {
    let control = Command::MuteAll {
        allow_self_unmute: body.allow_self_unmute.unwrap_or(true),
        // An exclusion that is no participant excludes nobody.
        exclusions: body
            .exclusions
            .unwrap_or_default()
            .iter()
            .filter_map(|e| client_uuid(e).ok())
            .collect(),
    };
    apply(&state, &who, &number, control).await
}

/// Unmutes everyone (and lets them unmute themselves again).
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}/unmute_all", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unmute_all(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
) -> Result<StatusCode, FrtcError> {
    apply(&state, &who, &number, Command::UnmuteAll).await
}

/// Mutes the named participants.
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}/mute", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)), request_body = ParticipantsBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "meeting_not_running, participant_not_found", body = ErrorBody)))]
pub async fn mute(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
    FrtcJson(body): FrtcJson<ParticipantsBody>,
) -> Result<StatusCode, FrtcError> {
    let allow_self_unmute = body.allow_self_unmute.unwrap_or(true);
    let control = Command::Mute {
        participants: body.required()?,
        allow_self_unmute,
    };
    apply(&state, &who, &number, control).await
}

/// Unmutes the named participants.
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}/unmute", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)), request_body = ParticipantsBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unmute(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
    FrtcJson(body): FrtcJson<ParticipantsBody>,
) -> Result<StatusCode, FrtcError> {
    let control = Command::Unmute {
        participants: body.required()?,
    };
    apply(&state, &who, &number, control).await
}

/// A muted participant asks the hosts to be allowed to speak. The caller's participant is the
/// one whose client_uuid is the request's `client_id` (query), or the caller's only one.
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}/request_unmute", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path), ("client_id" = Option<String>, Query, description = "The caller's client_uuid in the meeting")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn request_unmute(
    State(state): State<AppState>,
    who: SignedIn,
    client: super::ClientId,
    Path(number): Path<String>,
) -> Result<StatusCode, FrtcError> {
    state
        .plenum
        .live()
        .request_unmute(&who.principal, &number, client.0.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lets the named participants unmute themselves (the answer to a request).
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}/allow_unmute", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)), request_body = ParticipantsBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn allow_unmute(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
    FrtcJson(body): FrtcJson<ParticipantsBody>,
) -> Result<StatusCode, FrtcError> {
    let control = Command::AllowUnmute {
        participants: body.required()?,
    };
    apply(&state, &who, &number, control).await
}

/// Ends the meeting for everyone. `rejoin: false` also closes a scheduled meeting for good.
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}/stop", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)), request_body = StopBody,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn stop(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
    FrtcJson(body): FrtcJson<StopBody>,
) -> Result<StatusCode, FrtcError> {
    let control = Command::Stop {
        rejoin: body.rejoin.unwrap_or(true),
    };
    apply(&state, &who, &number, control).await
}

/// Shows a text over the meeting's video.
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}/overlay", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)), request_body = OverlayBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn start_overlay(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
    FrtcJson(body): FrtcJson<OverlayBody>,
) -> Result<StatusCode, FrtcError> {
    let content = body.content.ok_or_else(|| missing(Field::OverlayContent))?;
    let overlay = Overlay::new(
        &content,
        body.repeat.unwrap_or(0),
        body.position.unwrap_or(0),
        body.enable_scroll.unwrap_or(false),
    )?;
    apply(&state, &who, &number, Command::StartOverlay(overlay)).await
}

/// Removes the overlay text.
#[utoipa::path(delete, path = "/api/v1/meeting/{meeting_number}/overlay", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn stop_overlay(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
) -> Result<StatusCode, FrtcError> {
    apply(&state, &who, &number, Command::StopOverlay).await
}

/// Makes a participant the lecturer (everyone sees them).
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}/lecturer", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)), request_body = LecturerBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_lecturer(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
    FrtcJson(body): FrtcJson<LecturerBody>,
) -> Result<StatusCode, FrtcError> {
    let lecturer = body
        .lecturer
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| missing(Field::ClientId).with_message("missing field `lecturer`"))?;
    let lecturer = client_uuid(&lecturer)?;
    apply(&state, &who, &number, Command::SetLecturer(lecturer)).await
}

/// Removes the lecturer.
#[utoipa::path(delete, path = "/api/v1/meeting/{meeting_number}/lecturer", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unset_lecturer(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
) -> Result<StatusCode, FrtcError> {
    apply(&state, &who, &number, Command::UnsetLecturer).await
}

/// Disconnects the named participants (they may join again).
#[utoipa::path(delete, path = "/api/v1/meeting/{meeting_number}/disconnect", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)), request_body = ParticipantsBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn disconnect(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
    FrtcJson(body): FrtcJson<ParticipantsBody>,
) -> Result<StatusCode, FrtcError> {
    let control = Command::Disconnect {
        participants: body.required()?,
    };
    apply(&state, &who, &number, control).await
}

/// Disconnects the named participants (as `DELETE`).
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}/disconnect", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)), request_body = ParticipantsBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn disconnect_post(
    state: State<AppState>,
    Controller(who): Controller,
    number: Path<String>,
    body: FrtcJson<ParticipantsBody>,
) -> Result<StatusCode, FrtcError> {
    disconnect(state, Controller(who), number, body).await
}

/// Disconnects everyone; the meeting ends (its participants may start it again).
#[utoipa::path(delete, path = "/api/v1/meeting/{meeting_number}/disconnect_all", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn disconnect_all(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
) -> Result<StatusCode, FrtcError> {
    apply(&state, &who, &number, Command::DisconnectAll).await
}

/// Disconnects everyone (as `DELETE`).
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}/disconnect_all", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn disconnect_all_post(
    state: State<AppState>,
    Controller(who): Controller,
    number: Path<String>,
) -> Result<StatusCode, FrtcError> {
    disconnect_all(state, Controller(who), number).await
}

/// Cascading to H.323/SIP or another FRTC meeting needs a media gateway, which Plenum does
/// not have yet: always `not_supported` (501), after the usual checks.
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}/cascading", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)),
    responses((status = 501, description = "not_supported", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn cascading(_may: Controller) -> Result<StatusCode, FrtcError> {
    // Not running or not allowed are answered as for every other call (`Controller`).
    Err(FrtcError::new(
        ErrorCode::NotSupported,
        "cascading needs a SIP/H.323 gateway, which this server does not have",
    ))
}

/// Renames a participant.
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}/participant", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)), request_body = ParticipantInfoBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn participant_info(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
    FrtcJson(body): FrtcJson<ParticipantInfoBody>,
) -> Result<StatusCode, FrtcError> {
    let participant = client_uuid(&body.client_id.ok_or_else(|| missing(Field::ClientId))?)?;
    let display_name = parse_display_name(
        &body
            .display_name
            .ok_or_else(|| missing(Field::DisplayName))?,
    )?;
    let control = Command::Rename {
        participant,
        display_name,
    };
    apply(&state, &who, &number, control).await
}

/// Marks the meeting as recording. Media recording comes with the media server; until then
/// no recording file or entry is made.
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}/recording", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn start_recording(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
) -> Result<StatusCode, FrtcError> {
    apply(&state, &who, &number, Command::StartRecording).await
}

/// Stops recording.
#[utoipa::path(delete, path = "/api/v1/meeting/{meeting_number}/recording", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn stop_recording(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
) -> Result<StatusCode, FrtcError> {
    apply(&state, &who, &number, Command::StopRecording).await
}

/// Starts live streaming: the meeting's live URL and passcode appear in its detail; with
/// `rtmp_url`, the stream is also pushed there (`503 ffmpeg_unavailable` without ffmpeg).
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}/live", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)), request_body = LiveBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "already_live", body = ErrorBody), (status = 503, description = "ffmpeg_unavailable", body = ErrorBody)))]
pub async fn start_live(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
    FrtcJson(body): FrtcJson<LiveBody>,
) -> Result<StatusCode, FrtcError> {
    let passcode = body
        .live_password
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            // The same rule as a schedule's `live_passcode`, named as this request names it.
            parse_live_passcode(&p).map_err(|e| e.for_field(Field::LivePassword))
        })
        .transpose()?;
    let rtmp_url = body.rtmp_url.filter(|u| !u.trim().is_empty());
    state
        .plenum
        .live()
        .start_live(who.actor(), &number, passcode, rtmp_url)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stops live streaming.
#[utoipa::path(delete, path = "/api/v1/meeting/{meeting_number}/live", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn stop_live(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
) -> Result<StatusCode, FrtcError> {
    apply(&state, &who, &number, Command::StopLive).await
}

/// What one participant's view pins: `participants` names one other participant (or none,
/// which unpins).
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}/participant/{client_uuid}/pin", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path), ("client_uuid" = String, Path, description = "The viewer")), request_body = ParticipantsBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn pin_for_participant(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path((number, viewer)): Path<(String, String)>,
    FrtcJson(body): FrtcJson<ParticipantsBody>,
) -> Result<StatusCode, FrtcError> {
    let pinned = at_most_one(body.participants)?;
    let viewer = client_uuid(&viewer)?;
    if pinned == Some(viewer) {
        return Err(ValidationError::breaks(
            Rule::Conflicting,
            Field::Participants,
            "names the viewer: a participant's view pins one other participant",
        )
        .into());
    }
    let control = Command::PinForParticipant { viewer, pinned };
    apply(&state, &who, &number, control).await
}

/// Unpins what one participant's view pins.
#[utoipa::path(delete, path = "/api/v1/meeting/{meeting_number}/participant/{client_uuid}/pin", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path), ("client_uuid" = String, Path, description = "The viewer")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unpin_for_participant(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path((number, viewer)): Path<(String, String)>,
) -> Result<StatusCode, FrtcError> {
    let control = Command::PinForParticipant {
        viewer: client_uuid(&viewer)?,
        pinned: None,
    };
    apply(&state, &who, &number, control).await
}

/// Pins one participant for everyone (one at a time).
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}/pin", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)), request_body = ParticipantsBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn pin_for_meeting(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
    FrtcJson(body): FrtcJson<ParticipantsBody>,
) -> Result<StatusCode, FrtcError> {
    let pinned = at_most_one(body.participants)?;
    apply(&state, &who, &number, Command::PinForMeeting(pinned)).await
}

/// Unpins the meeting's pinned participant.
#[utoipa::path(delete, path = "/api/v1/meeting/{meeting_number}/pin", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unpin_for_meeting(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
) -> Result<StatusCode, FrtcError> {
    apply(&state, &who, &number, Command::PinForMeeting(None)).await
}

/// Sets how one participant's screen is laid out.
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}/participant/{client_uuid}/layout_change", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path), ("client_uuid" = String, Path, description = "The viewer")), request_body = LayoutBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn layout_change(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path((number, viewer)): Path<(String, String)>,
    FrtcJson(body): FrtcJson<LayoutBody>,
) -> Result<StatusCode, FrtcError> {
    // What the body leaves out stays as the viewer has it.
    let control = Command::ChangeLayout {
        viewer: client_uuid(&viewer)?,
        max_views: body.max_views.map(Layout::parse_max_views).transpose()?,
        mode: body.layout.as_deref().map(LayoutMode::parse).transpose()?,
    };
    apply(&state, &who, &number, control).await
}

/// Locks the meeting: nobody new may join.
#[utoipa::path(post, path = "/api/v1/meeting/{meeting_number}/lock", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn lock(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
) -> Result<StatusCode, FrtcError> {
    apply(&state, &who, &number, Command::Lock).await
}

/// Unlocks the meeting.
#[utoipa::path(delete, path = "/api/v1/meeting/{meeting_number}/lock", tag = TAG, security(("token" = [])),
    params(("meeting_number" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unlock(
    State(state): State<AppState>,
    Controller(who): Controller,
    Path(number): Path<String>,
) -> Result<StatusCode, FrtcError> {
    apply(&state, &who, &number, Command::Unlock).await
}

/// "Either one other participant or empty", as the document says of pins.
fn at_most_one(participants: Option<Vec<String>>) -> Result<Option<AttendanceId>, FrtcError> {
    let mut participants = participants.unwrap_or_default();
    participants.retain(|p| !p.trim().is_empty());
    match participants.len() {
        0 => Ok(None),
        1 => participants.pop().map(|p| client_uuid(&p)).transpose(),
        _ => Err(ValidationError::breaks(
            Rule::TooLong,
            Field::Participants,
            "names more than one: only one participant can be pinned at a time",
        )
        .into()),
    }
}

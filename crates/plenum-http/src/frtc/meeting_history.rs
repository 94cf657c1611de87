//! Plenum extension in the FRTC style: past (and running) meetings with their attendance and
//! recordings (docs/frtc.md, "Meeting history").
//!
//! Built on the history use cases the four vendor surfaces use (`plenum.history()`:
//! `find_sessions` with participants, `session_attendance`, `find_recordings`), so every
//! surface reads one record. MeetingOperators and SystemAdmins see the company's meetings;
//! anyone else the meetings they owned or attended, with the meeting recordings and their own
//! recordings (a meeting's owner sees all of its recordings).

use axum::Json;
use axum::extract::{Path, State};
use plenum_domain::Field;
use plenum_domain::history_query::{
    AttendanceEntry, AttendanceQuery, RecordingFilter, SearchText, SessionKey, SessionQuery,
    SessionSummary,
};
use plenum_domain::ids::{SessionId, UserId};
use plenum_domain::paging::PageRequest;
use plenum_domain::schedule::UserRef;
use plenum_service::{CompanyScope, HistoryError, ServiceError, require_record_reader};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::recordings::RecordingItem;
use super::{FrtcError, PagingQuery, SignedIn, parse_id};
use crate::AppState;

pub const TAG: &str = "Meeting history";

/// Largest page of this list: each meeting carries its attendance and recordings.
pub const MAX_MEETINGS_PAGE: u32 = 50;
/// Stays and recordings shown per meeting (a meeting has far fewer).
const MAX_ROWS: i64 = 1000;
/// Sessions read per store call while picking a member's own meetings.
const SCAN_PAGE: i64 = 500;

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonRef {
    user_id: String,
    username: String,
    real_name: String,
}

impl From<&UserRef> for PersonRef {
    fn from(u: &UserRef) -> Self {
        Self {
            user_id: u.id.to_string(),
            username: u.username.clone(),
            real_name: u.real_name.clone(),
        }
    }
}

/// One stay: a participant from when to when, with what.
#[derive(Debug, Serialize, ToSchema)]
pub struct StayItem {
    /// The stay's id (the FRTC `client_uuid`, Telnyx `participant_id`).
    client_uuid: String,
    /// The user, `null` for a guest.
    user_id: Option<String>,
    username: Option<String>,
    display_name: String,
    /// `desktop`, `web`, `mobile`, `room_system`, `phone`, `gateway` or `bot`.
    device_type: &'static str,
    /// `audio` or `video`.
    media_type: &'static str,
    /// Milliseconds since the Unix epoch.
    join_time: i64,
    /// `null` while still in the meeting.
    leave_time: Option<i64>,
}

impl From<&AttendanceEntry> for StayItem {
    fn from(e: &AttendanceEntry) -> Self {
        let a = &e.attendance;
        Self {
            client_uuid: a.id.to_string(),
            user_id: a.user.map(|u| u.to_string()),
            username: e.user.as_ref().map(|u| u.username.clone()),
            display_name: a.display_name.clone(),
            device_type: a.device_type.as_str(),
            media_type: match a.media_type {
                plenum_domain::history::MediaType::Audio => "audio",
                plenum_domain::history::MediaType::Video => "video",
            },
            join_time: a.joined_at.as_millisecond(),
            leave_time: a.left_at.map(|t| t.as_millisecond()),
        }
    }
}

/// One holding of a meeting.
#[derive(Debug, Serialize, ToSchema)]
pub struct PastMeeting {
    session_id: String,
    meeting_number: String,
    meeting_name: String,
    owner: PersonRef,
    room_id: Option<String>,
    /// Milliseconds since the Unix epoch.
    start_time: i64,
    /// `null` while the meeting runs.
    end_time: Option<i64>,
    /// `running` or `ended`.
    status: &'static str,
    peak_participants: u32,
    /// Every stay, in order of joining.
    attendance: Vec<StayItem>,
    /// The recordings the caller may see, newest first, each with its download link.
    recordings: Vec<RecordingItem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PastMeetingList {
    meetings: Vec<PastMeeting>,
    total_page_num: u64,
    total_size: u64,
}

fn scope(who: &SignedIn) -> CompanyScope {
    CompanyScope {
        company: who.principal.company(),
    }
}

fn reads_company(who: &SignedIn) -> bool {
    require_record_reader(&who.principal).is_ok()
}

/// The caller's meetings, newest first: for MeetingOperators and SystemAdmins the company's,
/// for others those they owned or attended. `filter` matches the meeting's name. Each with
/// its attendance and the recordings the caller may see.
#[utoipa::path(get, path = "/api/v1/history/meetings", tag = TAG, security(("token" = [])),
    params(PagingQuery),
    responses((status = 200, body = PastMeetingList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    who: SignedIn,
    paging: PagingQuery,
) -> Result<Json<PastMeetingList>, FrtcError> {
    let num = PagingQuery::number(&paging.page_num, Field::PageNum, 1)?;
    let size = PagingQuery::number(&paging.page_size, Field::PageSize, 10)?;
    let page = PageRequest::by_number(num, size, MAX_MEETINGS_PAGE)?;
    let company_wide = reads_company(&who);
    let query = SessionQuery {
        name: SearchText::parse(paging.filter.as_deref(), Field::Filter)?,
        // Who attended picks a member's meetings; the company's readers need no picking (each
        // meeting's stays are read below either way).
        with_participants: !company_wide,
        ..SessionQuery::default()
    };
    let history = state.plenum.history();
    let (summaries, total) = if company_wide {
        let found = history.find_sessions(scope(&who), &query, page).await?;
        (found.items, found.total)
    } else {
        // The record has no index by person: read the company's sessions in large pages and
        // keep the caller's (owner or participant).
        let me = who.principal.user.id;
        let (mut kept, mut total, mut offset) = (Vec::new(), 0u64, 0i64);
        loop {
            let batch = history
                .find_sessions(
                    scope(&who),
                    &query,
                    PageRequest::by_offset(offset, SCAN_PAGE, SCAN_PAGE as u32)?,
                )
                .await?;
            let n = batch.items.len() as i64;
            for s in batch.items {
                if is_mine(&s, me) {
                    if total >= page.offset() && kept.len() < page.limit() as usize {
                        kept.push(s);
                    }
                    total += 1;
                }
            }
            offset += n;
            if n < SCAN_PAGE || offset as u64 >= batch.total {
                break;
            }
        }
        (kept, total)
    };
    let mut meetings = Vec::with_capacity(summaries.len());
    for s in &summaries {
        let entries = attendance(&state, &who, s.session.id).await?;
        meetings.push(build(&state, &who, s.session.clone(), &s.owner, entries).await?);
    }
    Ok(Json(PastMeetingList {
        meetings,
        total_page_num: total.div_ceil(u64::from(page.limit())),
        total_size: total,
    }))
}

/// One meeting of the caller's (as the list shows it); `session_not_found` for a meeting the
/// caller may not see, as for one that does not exist.
#[utoipa::path(get, path = "/api/v1/history/meetings/{session_id}", tag = TAG,
    security(("token" = [])), params(("session_id" = String, Path)),
    responses((status = 200, body = PastMeeting), (status = 401, body = ErrorBody),
        (status = 404, description = "session_not_found", body = ErrorBody)))]
pub async fn detail(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<PastMeeting>, FrtcError> {
    let id: SessionId = parse_id(&id, HistoryError::SessionNotFound.into())?;
    let found = state
        .plenum
        .history()
        .session_attendance(
            scope(&who),
            SessionKey::Id(id),
            &AttendanceQuery::default(),
            PageRequest::by_offset(0, MAX_ROWS, MAX_ROWS as u32)?,
        )
        .await?;
    let me = who.principal.user.id;
    let mine = found.session.owner == me
        || found
            .attendance
            .items
            .iter()
            .any(|e| e.attendance.user == Some(me));
    if !mine && !reads_company(&who) {
        return Err(ServiceError::from(HistoryError::SessionNotFound).into());
    }
    let owner = state
        .plenum
        .history()
        .user_refs(who.principal.company(), &[found.session.owner])
        .await?
        .into_iter()
        .next()
        .unwrap_or_else(|| UserRef {
            id: found.session.owner,
            username: String::new(),
            real_name: String::new(),
        });
    let meeting = build(&state, &who, found.session, &owner, found.attendance.items).await?;
    Ok(Json(meeting))
}

fn is_mine(s: &SessionSummary, me: UserId) -> bool {
    s.owner.id == me || s.participants.iter().any(|p| p.user.id == me)
}

async fn attendance(
    state: &AppState,
    who: &SignedIn,
    session: SessionId,
) -> Result<Vec<AttendanceEntry>, FrtcError> {
    Ok(state
        .plenum
        .history()
        .session_attendance(
            scope(who),
            SessionKey::Id(session),
            &AttendanceQuery::default(),
            PageRequest::by_offset(0, MAX_ROWS, MAX_ROWS as u32)?,
        )
        .await?
        .attendance
        .items)
}

async fn build(
    state: &AppState,
    who: &SignedIn,
    session: plenum_domain::history::Session,
    owner: &UserRef,
    entries: Vec<AttendanceEntry>,
) -> Result<PastMeeting, FrtcError> {
    let me = who.principal.user.id;
    let filter = RecordingFilter {
        session: Some(session.id),
        ..RecordingFilter::default()
    };
    let recordings = state
        .plenum
        .history()
        .find_recordings(
            scope(who),
            &filter,
            PageRequest::by_number(1, MAX_ROWS, MAX_ROWS as u32)?,
        )
        .await?;
    // Everything for the company's readers and the owner; otherwise the meeting's own
    // recordings and the caller's.
    let sees_all = reads_company(who) || session.owner == me;
    let my_stays: Vec<_> = entries
        .iter()
        .filter(|e| e.attendance.user == Some(me))
        .map(|e| e.attendance.id)
        .collect();
    let recordings = recordings
        .items
        .iter()
        .filter(|v| {
            sees_all
                || v.recording
                    .attendance
                    .is_none_or(|stay| my_stays.contains(&stay))
        })
        .map(RecordingItem::from)
        .collect();
    Ok(PastMeeting {
        session_id: session.id.to_string(),
        meeting_number: session.meeting_number.to_string(),
        meeting_name: session.name,
        owner: PersonRef::from(owner),
        room_id: session.room.map(|r| r.to_string()),
        start_time: session.started_at.as_millisecond(),
        end_time: session.ended_at.map(|t| t.as_millisecond()),
        status: if session.ended_at.is_some() {
            "ended"
        } else {
            "running"
        },
        peak_participants: session.peak_participants,
        attendance: entries.iter().map(StayItem::from).collect(),
        recordings,
    })
}

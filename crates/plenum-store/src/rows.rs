//! Stored rows as every backend reads them, and their decoding into domain values: one piece
//! of code per idea, whatever SQL dialect fetched the columns.
//!
//! A backend reads a row's columns into one of these plain structs (its own driver, its own
//! column order) and calls `decode`: what a stored value means (a status string, a bit set of
//! event types, an address) and what counts as a corrupt row is decided here, once. So are the
//! few SQL-independent steps of answering a query (grouping a session's stays into its
//! participants) and the search keys the stores compare (folded in Rust, never by a
//! database's own `lower`, whose meaning differs between SQLite and PostgreSQL).

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;

use plenum_domain::Timestamp;
use plenum_domain::audit::{Action, Actor, AuditEntry, AuditRecord};
use plenum_domain::history::{
    Attendance, DeviceType, MediaType, Recording, RecordingFile, RecordingFileKey, RecordingKind,
    RecordingStatus, Session,
};
use plenum_domain::history_query::{AttendanceEntry, RecordingView, SessionParticipant};
use plenum_domain::ids::{
    AttendanceId, CompanyId, EventId, RecordingId, RoomId, ScheduleId, SessionId, UserId, WebhookId,
};
use plenum_domain::schedule::{MeetingNumber, UserRef};
use plenum_domain::webhooks::{Endpoint, EventType, EventTypes, SigningSeed, WebhookUrl};

use crate::{Attempt, DueDelivery, StoreError, StoreResult};

/// A stored value that no longer parses as the domain type. Reported, never papered over.
#[derive(Debug, thiserror::Error)]
#[error("corrupt row: {0}")]
pub struct Corrupt(pub String);

pub fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Internal(Box::new(Corrupt(what.into())))
}

/// Stored UTC milliseconds as an instant.
pub fn instant(ms: i64) -> StoreResult<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(|e| StoreError::Internal(Box::new(e)))
}

pub fn opt_instant(ms: Option<i64>) -> StoreResult<Option<Timestamp>> {
    ms.map(instant).transpose()
}

fn unsigned<T: TryFrom<i64>>(v: i64, what: &str) -> StoreResult<T> {
    T::try_from(v).map_err(|_| corrupt(what.to_owned()))
}

// --- search keys -------------------------------------------------------------------------------

/// The key a case-insensitive substring search compares a stored text by; defined once, in
/// the domain, and kept by the stores in a column (or an in-memory index).
pub use plenum_domain::text::search_key;

// --- sessions ------------------------------------------------------------------------------------

/// A `sessions` row (invitees are read apart).
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub seq: i64,
    pub id: Uuid,
    pub company: Uuid,
    pub meeting_number: String,
    pub name: String,
    pub owner: Uuid,
    pub room: Option<Uuid>,
    pub schedule: Option<Uuid>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub peak_participants: i64,
    /// The session's number in its company.
    pub company_seq: i64,
}

impl SessionRow {
    /// The session, with no invitees.
    pub fn decode(self) -> StoreResult<Session> {
        Ok(Session {
            id: SessionId::from_uuid(self.id),
            company: CompanyId::from_uuid(self.company),
            meeting_number: stored_meeting_number(&self.meeting_number, "sessions.meeting_number")?,
            name: self.name,
            owner: UserId::from_uuid(self.owner),
            room: self.room.map(RoomId::from_uuid),
            schedule: self.schedule.map(ScheduleId::from_uuid),
            started_at: instant(self.started_at)?,
            ended_at: opt_instant(self.ended_at)?,
            peak_participants: u32::try_from(self.peak_participants).unwrap_or(0),
            invitees: Vec::new(),
        })
    }
}

/// The file of a session's first completed recording, if Plenum holds one.
pub fn recording_file_key(
    company: CompanyId,
    session: SessionId,
    recording: Option<Uuid>,
    file_ext: Option<&str>,
) -> StoreResult<Option<RecordingFileKey>> {
    match (recording, file_ext) {
        (Some(id), Some(ext)) => Ok(Some(RecordingFileKey {
            company,
            session,
            recording: RecordingId::from_uuid(id),
            file: RecordingFile::parse(ext).ok_or_else(|| corrupt("recordings.file_ext"))?,
        })),
        _ => Ok(None),
    }
}

/// Who attended a session, as a list shows it: each user once, by first join, and how many
/// stays were of guests.
#[derive(Debug, Clone, Default)]
pub struct Attendees {
    pub participants: Arc<[SessionParticipant]>,
    pub guest_stays: u32,
}

/// Groups the stays of several sessions into their [`Attendees`]: `stays` are
/// `(session position, user or None for a guest, joined_at)` in any order; `users` names the
/// users. Users are listed by first join, ties by id.
pub fn group_attendees(
    sessions: usize,
    stays: impl IntoIterator<Item = (usize, Option<Uuid>, i64)>,
    users: &HashMap<Uuid, (String, String)>,
) -> StoreResult<Vec<Attendees>> {
    let mut guests = vec![0u32; sessions];
    let mut first: HashMap<(usize, Uuid), i64> = HashMap::new();
    for (i, user, joined) in stays {
        match user {
            None => guests[i] = guests[i].saturating_add(1),
            Some(id) => {
                first
                    .entry((i, id))
                    .and_modify(|t| *t = (*t).min(joined))
                    .or_insert(joined);
            }
        }
    }
    let mut groups: Vec<((usize, Uuid), i64)> = first.into_iter().collect();
    groups.sort_by(|((ia, ua), ta), ((ib, ub), tb)| (ia, ta, ua).cmp(&(ib, tb, ub)));
    let mut participants: Vec<Vec<SessionParticipant>> = vec![Vec::new(); sessions];
    for ((i, id), joined) in groups {
        let (username, real_name) = users
            .get(&id)
            .cloned()
            .ok_or_else(|| corrupt("attendance.user_id names no user"))?;
        participants[i].push(SessionParticipant {
            user: UserRef {
                id: UserId::from_uuid(id),
                username,
                real_name,
            },
            first_joined_at: instant(joined)?,
        });
    }
    Ok(participants
        .into_iter()
        .zip(guests)
        .map(|(p, guest_stays)| Attendees {
            participants: p.into(),
            guest_stays,
        })
        .collect())
}

/// A session with its invitees and every stay of it, in order of joining (ties: the stays'
/// numbers): what a page of its attendance is cut from (`AttendanceQuery::page_of`).
#[derive(Debug, Clone)]
pub struct SessionStays {
    pub session: Session,
    pub stays: Vec<AttendanceEntry>,
    /// `session.invitees` that are users of the session's company, with their names, in the
    /// same order. Remembered with the stays under `session_rows`, which moves when a user's
    /// names change; users are never deleted nor moved to another company, and an
    /// invitation names an existing user (foreign key), so nothing else changes them.
    pub invited: Vec<UserRef>,
}

/// An `attendance` row with its user's names (if a user of the company).
#[derive(Debug, Clone)]
pub struct AttendanceRow {
    pub id: Uuid,
    pub user: Option<Uuid>,
    pub display_name: String,
    pub call_number: String,
    pub device_type: String,
    pub media_type: String,
    pub department: String,
    pub joined_at: i64,
    pub left_at: Option<i64>,
    pub username: Option<String>,
    pub real_name: Option<String>,
}

impl AttendanceRow {
    pub fn decode(self, session: SessionId) -> StoreResult<AttendanceEntry> {
        let attendance = Attendance {
            id: AttendanceId::from_uuid(self.id),
            session,
            user: self.user.map(UserId::from_uuid),
            display_name: self.display_name,
            call_number: self.call_number,
            device_type: DeviceType::parse(&self.device_type)
                .map_err(|_| corrupt("attendance.device_type"))?,
            media_type: MediaType::parse(&self.media_type)
                .map_err(|_| corrupt("attendance.media_type"))?,
            department: self.department,
            joined_at: instant(self.joined_at)?,
            left_at: opt_instant(self.left_at)?,
        };
        let user = match (attendance.user, self.username) {
            (Some(id), Some(username)) => Some(UserRef {
                id,
                username,
                real_name: self.real_name.unwrap_or_default(),
            }),
            _ => None,
        };
        Ok(AttendanceEntry { attendance, user })
    }
}

// --- recordings ----------------------------------------------------------------------------------

/// A `recordings` row with its session's id and room and its stay's id.
#[derive(Debug, Clone)]
pub struct RecordingRow {
    pub id: Uuid,
    pub company: Uuid,
    pub session: Uuid,
    pub attendance: Option<Uuid>,
    pub kind: String,
    pub status: String,
    pub codec: String,
    pub size_bytes: i64,
    pub duration_secs: i64,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub download_url: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub room: Option<Uuid>,
    pub file_ext: Option<String>,
    pub failure: Option<String>,
}

impl RecordingRow {
    pub fn decode(self) -> StoreResult<RecordingView> {
        Ok(RecordingView {
            recording: Recording {
                id: RecordingId::from_uuid(self.id),
                company: CompanyId::from_uuid(self.company),
                session: SessionId::from_uuid(self.session),
                attendance: self.attendance.map(AttendanceId::from_uuid),
                kind: RecordingKind::parse(&self.kind).ok_or_else(|| corrupt("recordings.kind"))?,
                status: RecordingStatus::parse(&self.status)
                    .ok_or_else(|| corrupt("recordings.status"))?,
                codec: self.codec,
                size_bytes: unsigned(self.size_bytes, "recordings.size_bytes")?,
                duration_secs: unsigned(self.duration_secs, "recordings.duration_secs")?,
                started_at: instant(self.started_at)?,
                ended_at: opt_instant(self.ended_at)?,
                completed_at: opt_instant(self.completed_at)?,
                download_url: self.download_url,
                created_at: instant(self.created_at)?,
                updated_at: instant(self.updated_at)?,
                file: self
                    .file_ext
                    .map(|ext| {
                        RecordingFile::parse(&ext).ok_or_else(|| corrupt("recordings.file_ext"))
                    })
                    .transpose()?,
                failure: self.failure,
            },
            room: self.room.map(RoomId::from_uuid),
        })
    }
}

// --- webhooks and the audit log ------------------------------------------------------------------

fn event_type(name: &str) -> StoreResult<EventType> {
    EventType::parse(name).ok_or_else(|| corrupt("webhook event type"))
}

/// A `webhook_endpoints` row.
#[derive(Debug, Clone)]
pub struct EndpointRow {
    pub id: Uuid,
    pub company: Uuid,
    pub url: String,
    pub description: String,
    pub types: i64,
    pub created_at: i64,
    pub secret_rotated_at: i64,
    pub failing_since: Option<i64>,
}

impl EndpointRow {
    pub fn decode(self) -> StoreResult<Endpoint> {
        Ok(Endpoint {
            id: WebhookId::from_uuid(self.id),
            company: CompanyId::from_uuid(self.company),
            url: WebhookUrl::stored(self.url),
            description: self.description,
            types: EventTypes::from_bits(unsigned(self.types, "webhook_endpoints.types")?),
            created_at: instant(self.created_at)?,
            secret_rotated_at: instant(self.secret_rotated_at)?,
            failing_since: opt_instant(self.failing_since)?,
        })
    }
}

/// A due delivery as the delivery queue's query returns it.
#[derive(Debug, Clone)]
pub struct DueRow {
    pub endpoint: Uuid,
    pub company: Uuid,
    pub url: String,
    pub seed: Vec<u8>,
    pub event: Uuid,
    pub event_seq: i64,
    pub kind: String,
    pub body: String,
    pub attempts: i64,
}

impl DueRow {
    pub fn decode(self) -> StoreResult<DueDelivery> {
        Ok(DueDelivery {
            endpoint: WebhookId::from_uuid(self.endpoint),
            company: CompanyId::from_uuid(self.company),
            url: WebhookUrl::stored(self.url),
            seed: SigningSeed(
                self.seed
                    .try_into()
                    .map_err(|_| corrupt("webhook_endpoints.seed"))?,
            ),
            event: EventId::from_uuid(self.event),
            event_seq: unsigned(self.event_seq, "webhook_deliveries.event_seq")?,
            kind: event_type(&self.kind)?,
            body: self.body,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
        })
    }
}

/// A `webhook_attempts` row.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub event: Uuid,
    pub event_seq: i64,
    pub kind: String,
    pub number: i64,
    pub at: i64,
    pub duration_ms: i64,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub delivered: bool,
}

impl AttemptRow {
    pub fn decode(self, endpoint: WebhookId) -> StoreResult<Attempt> {
        Ok(Attempt {
            endpoint,
            event: EventId::from_uuid(self.event),
            event_seq: unsigned(self.event_seq, "webhook_attempts.event_seq")?,
            kind: event_type(&self.kind)?,
            number: unsigned(self.number, "webhook_attempts.number")?,
            at: instant(self.at)?,
            duration_ms: unsigned(self.duration_ms, "webhook_attempts.duration_ms")?,
            status: self
                .status
                .map(|s| unsigned(s, "webhook_attempts.status"))
                .transpose()?,
            error: self.error,
            delivered: self.delivered,
        })
    }
}

/// What an audit entry's `details` column holds (an empty object when it has none).
pub fn audit_details(entry: &AuditEntry) -> &str {
    if entry.details.is_empty() {
        "{}"
    } else {
        &entry.details
    }
}

/// An `audit_log` row.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub seq: i64,
    pub company: Uuid,
    pub at: i64,
    pub actor_user: Option<Uuid>,
    pub actor_name: String,
    pub address: Option<String>,
    pub action: String,
    pub target: String,
    pub meeting_number: Option<String>,
    pub details: String,
}

impl AuditRow {
    pub fn decode(self) -> StoreResult<AuditRecord> {
        Ok(AuditRecord {
            seq: unsigned(self.seq, "audit_log.seq")?,
            entry: AuditEntry {
                company: CompanyId::from_uuid(self.company),
                at: instant(self.at)?,
                actor: match self.actor_user {
                    Some(id) => Actor::User {
                        id: UserId::from_uuid(id),
                        username: self.actor_name,
                    },
                    None => Actor::Operator,
                },
                address: self
                    .address
                    .map(|a| a.parse().map_err(|_| corrupt("audit_log.address")))
                    .transpose()?,
                action: Action::parse(&self.action).map_err(|_| corrupt("audit_log.action"))?,
                target: self.target,
                meeting: self
                    .meeting_number
                    .map(|m| stored_meeting_number(&m, "audit_log.meeting_number"))
                    .transpose()?,
                details: self.details,
            },
        })
    }
}

/// A `meeting_leases` row (its meeting is the key the caller asked by).
#[derive(Debug, Clone)]
pub struct LeaseRow {
    pub node_id: Uuid,
    pub node_address: String,
    pub expires_at: i64,
}

impl LeaseRow {
    pub fn decode(self, meeting: &MeetingNumber) -> StoreResult<plenum_domain::nodes::Lease> {
        Ok(plenum_domain::nodes::Lease {
            meeting: meeting.clone(),
            holder: plenum_domain::nodes::NodeRef {
                id: plenum_domain::ids::NodeId::from_uuid(self.node_id),
                address: self.node_address,
            },
            expires_at: instant(self.expires_at)?,
        })
    }
}

/// A stored meeting number (`meeting_leases.meeting_number`, …).
pub fn stored_meeting_number(text: &str, what: &str) -> StoreResult<MeetingNumber> {
    MeetingNumber::parse(text).map_err(|_| corrupt(what.to_owned()))
}

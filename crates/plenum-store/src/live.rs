//! What the live runtime asks of the store: where a meeting number leads, and the durable
//! record of what happens in running meetings.

use async_trait::async_trait;

use plenum_domain::Timestamp;
use plenum_domain::history::{Attendance, Recording, RecordingFileKey, RecordingStatus, Session};
use plenum_domain::ids::{AttendanceId, CompanyId, RecordingId, ScheduleId, SessionId};
use plenum_domain::schedule::{MeetingNumber, Room, Schedule};
use plenum_domain::webhooks::{EventType, OutboxEvent, data as webhook_data, rfc3339_ms};

use crate::StoreResult;

/// What joining a meeting number opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinTarget {
    /// A persistent room, with no scheduled meeting of it in its window now.
    Room(Box<Room>),
    /// A scheduled meeting: a single one, or the occurrence of a series that is current or
    /// next (or, when all are over, the last). For a room number, a meeting scheduled in the
    /// room whose window is open now.
    Schedule(Box<Schedule>),
}

/// One durable fact about a running meeting. A batch is written in order, in one
/// transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveWrite {
    /// A session began (with its invitees).
    SessionStarted(Box<Session>),
    /// A participant joined (the attendance row, open).
    Joined(Box<Attendance>),
    /// A participant left.
    Left {
        attendance: AttendanceId,
        at: Timestamp,
        reason: &'static str,
    },
    /// Any other change, as the runtime describes it (`data` is JSON).
    Event {
        session: SessionId,
        seq: u64,
        at: Timestamp,
        kind: &'static str,
        data: String,
    },
    /// The session was alive at `at`: a restart after a crash ends it here.
    SessionSeen {
        session: SessionId,
        at: Timestamp,
        peak_participants: u32,
    },
    SessionEnded {
        session: SessionId,
        at: Timestamp,
        reason: &'static str,
        peak_participants: u32,
    },
    /// A host moved the end of a running scheduled meeting: its schedule ends then too, so
    /// the number does not open again after it (when the meeting emptied before). A meeting
    /// that began before its scheduled start (its join window) and is moved to end before
    /// that start is scheduled from when it began.
    ScheduleEndMoved {
        schedule: ScheduleId,
        started: Timestamp,
        end: Timestamp,
        at: Timestamp,
    },
    /// The recorder began a file (status `processing`, `file` set).
    RecordingStarted(Box<Recording>),
    /// The recorder finished (or failed) a file.
    RecordingFinished(Box<RecordingEnd>),
    /// A webhook event caused by the batch's changes (kept only if an endpoint of its
    /// company takes its type; see [`Webhooks`](crate::Webhooks)).
    Outbox(Box<plenum_domain::webhooks::OutboxEvent>),
    /// A host's action, for the audit log.
    Audit(Box<plenum_domain::audit::AuditEntry>),
}

/// How a recording Plenum made ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingEnd {
    pub recording: RecordingId,
    /// `Completed` or `Failed`.
    pub status: RecordingStatus,
    pub ended_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    pub size_bytes: u64,
    pub duration_secs: u32,
    pub failure: Option<String>,
}

/// Recordings deleted: how many rows, and the files Plenum held for them (to delete next).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeletedRecordings {
    pub count: u64,
    pub files: Vec<RecordingFileKey>,
}

/// Sessions and attendance left open by a server that stopped without closing them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Abandoned {
    pub sessions: u64,
    pub attendance: u64,
}

/// Which open sessions [`LiveRecord::close_abandoned`] closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abandon<'a> {
    /// All of them: one server runs every meeting, and it is starting.
    Everything,
    /// The open sessions of one meeting: its lease was just taken by a node that runs none
    /// of them, so whoever ran them is gone (or stalled past its lease).
    Meeting(&'a MeetingNumber),
    /// Those of meetings no node holds a live lease on at `now` (their node died); the
    /// ended leases are forgotten with them.
    Unleased(Timestamp),
}

impl Abandon<'_> {
    /// The scope as two optional SQL parameters: the meeting's number, and the instant
    /// leases are judged at (ms). `None` does not narrow.
    pub fn bounds(&self) -> (Option<&str>, Option<i64>) {
        match self {
            Abandon::Everything => (None, None),
            Abandon::Meeting(number) => (Some(number.as_str()), None),
            Abandon::Unleased(now) => (None, Some(now.as_millisecond())),
        }
    }
}

/// A stay [`LiveRecord::close_abandoned`] closed, as its webhook event tells it.
#[derive(Debug, Clone)]
pub struct AbandonedStay {
    pub id: uuid::Uuid,
    pub session_seq: i64,
    pub left_at: Timestamp,
}

/// A session [`LiveRecord::close_abandoned`] ended, as its webhook event tells it.
#[derive(Debug, Clone)]
pub struct AbandonedSession {
    pub seq: i64,
    pub id: uuid::Uuid,
    pub company: CompanyId,
    pub number: MeetingNumber,
    pub ended_at: Timestamp,
    pub peak: u32,
}

/// What a graceful end would have told the companies' webhooks of abandoned sessions: each
/// stay's `participant.left`, then its meeting's `meeting.ended` (in order per meeting). Both
/// stores write it in the transaction that closes them.
pub fn abandoned_trail(
    stays: &[AbandonedStay],
    sessions: &[AbandonedSession],
    reason: &str,
) -> crate::Trail {
    let by_seq: std::collections::HashMap<i64, &AbandonedSession> =
        sessions.iter().map(|s| (s.seq, s)).collect();
    let mut trail = crate::Trail::default();
    for stay in stays {
        let Some(session) = by_seq.get(&stay.session_seq) else {
            continue;
        };
        trail.events.push(OutboxEvent::new(
            EventType::ParticipantLeft,
            stay.left_at,
            session.company,
            Some(session.number.clone()),
            &webhook_data::ParticipantLeft {
                session_id: session.id.to_string(),
                meeting_number: session.number.as_str(),
                participant_id: stay.id.to_string(),
                reason,
                left_at: rfc3339_ms(stay.left_at),
            },
        ));
    }
    for session in sessions {
        trail.events.push(OutboxEvent::new(
            EventType::MeetingEnded,
            session.ended_at,
            session.company,
            Some(session.number.clone()),
            &webhook_data::MeetingEnded {
                session_id: session.id.to_string(),
                meeting_number: session.number.as_str(),
                reason,
                ended_at: rfc3339_ms(session.ended_at),
                peak_participants: session.peak,
            },
        ));
    }
    trail
}

#[async_trait]
pub trait LiveRecord {
    /// What the number opens at `now`; `None` if nothing holds it.
    async fn join_target(
        &self,
        number: &MeetingNumber,
        now: Timestamp,
    ) -> StoreResult<Option<JoinTarget>>;

    /// How the last session of a scheduled meeting ended (its end reason), if it was held.
    async fn last_end_reason(&self, schedule: ScheduleId) -> StoreResult<Option<String>>;

    /// Makes a batch durable: when this returns, the writes survive a crash. Concurrent
    /// callers may share one commit (group commit), so many meetings' writes cost one sync.
    async fn record_live(&self, writes: Vec<LiveWrite>) -> StoreResult<()>;

    /// Closes what a crashed server left open (of `which` sessions): open attendance at its
    /// session's last-seen time (never before the join), open sessions at their last-seen
    /// time, in one transaction with the webhook events a graceful end would have written
    /// ([`abandoned_trail`]).
    async fn close_abandoned(&self, reason: &str, which: Abandon<'_>) -> StoreResult<Abandoned>;

    /// Recordings Plenum was writing when it stopped: `processing`, with a file, of a
    /// session that has ended (closed by `close_abandoned`); any company. A recording of a
    /// running meeting is being written (on a node of several: by another node).
    async fn unfinished_recordings(&self) -> StoreResult<Vec<Recording>>;

    /// Deletes up to `limit` recordings of any company that ended before `ended_before`
    /// (retention), oldest first.
    async fn expire_recordings(
        &self,
        ended_before: Timestamp,
        limit: u32,
    ) -> StoreResult<DeletedRecordings>;
}

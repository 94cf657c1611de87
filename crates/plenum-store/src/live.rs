//! What the live runtime asks of the store: where a meeting number leads, and the durable
//! record of what happens in running meetings.

use async_trait::async_trait;

use plenum_domain::Timestamp;
use plenum_domain::history::{Attendance, Recording, RecordingFileKey, RecordingStatus, Session};
use plenum_domain::ids::{AttendanceId, RecordingId, ScheduleId, SessionId};
use plenum_domain::schedule::{MeetingNumber, Room, Schedule};

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

    /// Closes what a crashed server left open: open attendance at its session's last-seen
    /// time (never before the join), open sessions at their last-seen time.
    async fn close_abandoned(&self, reason: &str) -> StoreResult<Abandoned>;

    /// Recordings Plenum was writing when it stopped: `processing`, with a file; any company.
    async fn unfinished_recordings(&self) -> StoreResult<Vec<Recording>>;

    /// Deletes up to `limit` recordings of any company that ended before `ended_before`
    /// (retention), oldest first.
    async fn expire_recordings(
        &self,
        ended_before: Timestamp,
        limit: u32,
    ) -> StoreResult<DeletedRecordings>;
}

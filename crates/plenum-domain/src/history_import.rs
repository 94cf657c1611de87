//! Importing the record of meetings from another system: rooms, sessions, attendance and
//! recordings, as parsed from `plenum import FILE.jsonl` (format: `docs/import.md`).
//!
//! Every record has an id: the one the file gives (kept as the record's id), or one derived
//! from the line itself, so that importing the same file twice changes nothing. Records refer
//! to each other by these ids, and to people by username; the store resolves both within the
//! importing company, in one transaction.

use jiff::Timestamp;

use crate::history::{DeviceType, MediaType, RecordingKind, RecordingStatus};
use crate::ids::{AttendanceId, RecordingId, RoomId, SessionId};
use crate::schedule::MeetingNumber;
use crate::user::Username;

/// A persistent room, as it existed in the other system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRoom {
    pub id: RoomId,
    pub name: String,
    pub meeting_number: MeetingNumber,
    pub owner: Username,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSession {
    pub id: SessionId,
    /// The room the session was held in: a room of this file or of the company.
    pub room: Option<RoomId>,
    pub meeting_number: MeetingNumber,
    pub name: String,
    pub owner: Username,
    pub invitees: Vec<Username>,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportAttendance {
    pub id: AttendanceId,
    pub session: SessionId,
    /// The user who attended; `None` for a guest.
    pub user: Option<Username>,
    pub display_name: String,
    pub call_number: String,
    pub device_type: DeviceType,
    pub media_type: MediaType,
    pub department: String,
    pub joined_at: Timestamp,
    pub left_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecording {
    pub id: RecordingId,
    pub session: SessionId,
    /// The participant recorded, if the recording is of one participant.
    pub attendance: Option<AttendanceId>,
    pub kind: RecordingKind,
    pub status: RecordingStatus,
    pub codec: String,
    pub size_bytes: u64,
    pub duration_secs: u32,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub download_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportRecord {
    Room(ImportRoom),
    Session(ImportSession),
    Attendance(ImportAttendance),
    Recording(ImportRecording),
}

/// One record and the line of the file it came from (1-based), for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLine {
    pub line: usize,
    pub record: ImportRecord,
}

/// What an import did: records written, and records already present (same id) left alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub rooms: u64,
    pub sessions: u64,
    pub attendance: u64,
    pub recordings: u64,
    pub unchanged: u64,
}

/// Why an import was refused: the line and a sentence. Nothing of the file was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ImportRefused {
    pub line: usize,
    pub reason: String,
}

impl ImportRefused {
    pub fn new(line: usize, reason: impl Into<String>) -> Self {
        Self {
            line,
            reason: reason.into(),
        }
    }
}

/// The order rule of the whole record: an end is never before its start.
pub fn check_interval(
    line: usize,
    start_name: &str,
    start: Timestamp,
    end_name: &str,
    end: Option<Timestamp>,
) -> Result<(), ImportRefused> {
    match end {
        Some(end) if end < start => Err(ImportRefused::new(
            line,
            format!("{end_name} is before {start_name}"),
        )),
        _ => Ok(()),
    }
}

/// A deterministic id for a record the file gives no id: a UUID (version 8) made of the
/// SHA-256 of the company and the line's text, so the same line imports to the same record.
pub fn derived_id(company: crate::ids::CompanyId, line_text: &str) -> uuid::Uuid {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(company.as_uuid().as_bytes());
    hasher.update(line_text.trim().as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_per_company_and_line() {
        let c = crate::ids::CompanyId::from_uuid(uuid::Uuid::nil());
        let d = crate::ids::CompanyId::from_uuid(uuid::Uuid::max());
        assert_eq!(derived_id(c, "{\"a\":1}"), derived_id(c, "{\"a\":1}  "));
        assert_ne!(derived_id(c, "{\"a\":1}"), derived_id(c, "{\"a\":2}"));
        assert_ne!(derived_id(c, "{\"a\":1}"), derived_id(d, "{\"a\":1}"));
        assert_eq!(derived_id(c, "x").get_version_num(), 8);
    }

    #[test]
    fn ends_before_starts_are_refused_with_their_line() {
        let t = |s| Timestamp::from_second(s).unwrap();
        assert!(check_interval(3, "joined_at", t(10), "left_at", Some(t(10))).is_ok());
        assert!(check_interval(3, "joined_at", t(10), "left_at", None).is_ok());
        let e = check_interval(3, "joined_at", t(10), "left_at", Some(t(9))).unwrap_err();
        assert_eq!(e.to_string(), "line 3: left_at is before joined_at");
    }
}

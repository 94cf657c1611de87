//! The record of meetings held: sessions, attendance and recordings.
//!
//! A meeting number may be held many times; each holding is a [`Session`] with its own id.
//! Each join→leave of a participant is one [`Attendance`]. These are written by the live
//! runtime as things happen (and by import), and read by every history surface.

use std::fmt;

use jiff::Timestamp;

use crate::error::{Field, Rule, ValidationError};
use crate::ids::{AttendanceId, CompanyId, RecordingId, RoomId, ScheduleId, SessionId, UserId};
use crate::schedule::MeetingNumber;

/// One holding of a meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub company: CompanyId,
    pub meeting_number: MeetingNumber,
    pub name: String,
    pub owner: UserId,
    /// The persistent room held, if the meeting was a room or scheduled in one.
    pub room: Option<RoomId>,
    /// The scheduled meeting held, if it was one.
    pub schedule: Option<ScheduleId>,
    pub started_at: Timestamp,
    /// `None` while the session runs.
    pub ended_at: Option<Timestamp>,
    /// The most participants present at once.
    pub peak_participants: u32,
    /// Users invited to the meeting when it started; every store reads them in the order of
    /// their ids.
    pub invitees: Vec<UserId>,
}

impl Session {
    pub fn is_running(&self) -> bool {
        self.ended_at.is_none()
    }
}

/// One participant's stay in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendance {
    pub id: AttendanceId,
    pub session: SessionId,
    /// The signed-in user of the session's company; `None` for guests.
    pub user: Option<UserId>,
    pub display_name: String,
    /// The number the participant called from or is reachable at (SIP/phone), else empty.
    pub call_number: String,
    pub device_type: DeviceType,
    pub media_type: MediaType,
    pub department: String,
    pub joined_at: Timestamp,
    /// `None` while the participant is in the meeting.
    pub left_at: Option<Timestamp>,
}

/// What a participant joined with. The wire names are Plenum's own (lower-case); each dialect
/// renders them in its vendor's words (Huawei: "Soft client", ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceType {
    /// A desktop application.
    Desktop,
    /// A browser.
    Web,
    /// A phone or tablet application.
    Mobile,
    /// A meeting-room system (hardware terminal).
    RoomSystem,
    /// A telephone dialled in.
    Phone,
    /// A SIP/H.323 gateway or cascaded meeting.
    Gateway,
    /// A program joining as a participant (`plenum bot`, recorders, load tests).
    Bot,
}

impl DeviceType {
    pub const ALL: [DeviceType; 7] = [
        DeviceType::Desktop,
        DeviceType::Web,
        DeviceType::Mobile,
        DeviceType::RoomSystem,
        DeviceType::Phone,
        DeviceType::Gateway,
        DeviceType::Bot,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceType::Desktop => "desktop",
            DeviceType::Web => "web",
            DeviceType::Mobile => "mobile",
            DeviceType::RoomSystem => "room_system",
            DeviceType::Phone => "phone",
            DeviceType::Gateway => "gateway",
            DeviceType::Bot => "bot",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(raw.trim()))
            .ok_or_else(|| {
                ValidationError::breaks(
                    Rule::NotAChoice,
                    Field::DeviceType,
                    "must be one of desktop, web, mobile, room_system, phone, gateway, bot",
                )
            })
    }
}

impl fmt::Display for DeviceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a participant sends and receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaType {
    Audio,
    Video,
}

impl MediaType {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Audio => "audio",
            MediaType::Video => "video",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "audio" => Ok(MediaType::Audio),
            "video" => Ok(MediaType::Video),
            _ => Err(ValidationError::breaks(
                Rule::NotAChoice,
                Field::MediaType,
                "must be audio or video",
            )),
        }
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A recording of a session or of one participant in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    pub id: RecordingId,
    pub company: CompanyId,
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
    /// The link of an imported recording (kept as imported). Empty for one Plenum made,
    /// whose link is signed when it is shown (see `file`).
    pub download_url: String,
    /// Set when Plenum holds the file (it made the recording): the file's extension; its key
    /// in the recordings storage is `company/session/id.extension`.
    pub file: Option<RecordingFile>,
    /// Why a `Failed` recording failed (a full disk, an unreachable object store...).
    pub failure: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Recording {
    /// A recording Plenum begins to write at `at`: `processing`, nothing in its file yet.
    pub fn begun(
        key: RecordingFileKey,
        attendance: Option<AttendanceId>,
        kind: RecordingKind,
        codec: &str,
        at: Timestamp,
    ) -> Self {
        Recording {
            id: key.recording,
            company: key.company,
            session: key.session,
            attendance,
            kind,
            status: RecordingStatus::Processing,
            codec: codec.to_owned(),
            size_bytes: 0,
            duration_secs: 0,
            started_at: at,
            ended_at: None,
            completed_at: None,
            download_url: String::new(),
            file: Some(key.file),
            failure: None,
            created_at: at,
            updated_at: at,
        }
    }
}

/// Where a recording Plenum made is kept in the recordings storage: each company's files
/// under its own prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordingFileKey {
    pub company: CompanyId,
    pub session: SessionId,
    pub recording: RecordingId,
    pub file: RecordingFile,
}

impl RecordingFileKey {
    /// The key of the recording's file, if Plenum holds one.
    pub fn of(recording: &Recording) -> Option<Self> {
        Some(RecordingFileKey {
            company: recording.company,
            session: recording.session,
            recording: recording.id,
            file: recording.file?,
        })
    }

    /// `company/session/recording.extension`: a relative path, and an object key.
    pub fn path(&self) -> String {
        format!(
            "{}/{}/{}.{}",
            self.company,
            self.session,
            self.recording,
            self.file.extension()
        )
    }
}

/// The container of a recording file Plenum wrote: WebM (Opus, VP8) or Matroska (H.264).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordingFile {
    Webm,
    Matroska,
}

impl RecordingFile {
    pub fn extension(self) -> &'static str {
        match self {
            RecordingFile::Webm => "webm",
            RecordingFile::Matroska => "mkv",
        }
    }

    pub fn parse(extension: &str) -> Option<Self> {
        match extension {
            "webm" => Some(RecordingFile::Webm),
            "mkv" => Some(RecordingFile::Matroska),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            RecordingFile::Webm => "video/webm",
            RecordingFile::Matroska => "video/x-matroska",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordingKind {
    Audio,
    Video,
}

impl RecordingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingKind::Audio => "audio",
            RecordingKind::Video => "video",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "audio" => Some(RecordingKind::Audio),
            "video" => Some(RecordingKind::Video),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordingStatus {
    /// Media is still being written or processed.
    Processing,
    /// The file is complete and can be downloaded.
    Completed,
    /// The recording could not be written or stored (`Recording::failure` says why).
    Failed,
}

impl RecordingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingStatus::Processing => "processing",
            RecordingStatus::Completed => "completed",
            RecordingStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "processing" => Some(RecordingStatus::Processing),
            "completed" => Some(RecordingStatus::Completed),
            "failed" => Some(RecordingStatus::Failed),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_types_round_trip_through_their_names() {
        for d in DeviceType::ALL {
            assert_eq!(DeviceType::parse(d.as_str()).unwrap(), d);
        }
        assert!(DeviceType::parse("toaster").is_err());
        assert_eq!(MediaType::parse("Video").unwrap(), MediaType::Video);
        assert!(MediaType::parse("smell").is_err());
    }
}

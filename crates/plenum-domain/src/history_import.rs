//! Importing the record of meetings from another system: rooms, sessions, attendance and
//! recordings, as parsed from `plenum import FILE.jsonl` (format: `docs/import.md`).
//!
//! Every record has an id: the one the file gives (kept as the record's id), or one derived
//! from the line itself, so that importing the same file twice changes nothing. Records refer
//! to each other by these ids, and to people by username; the store resolves both within the
//! importing company, in one transaction.

use jiff::{SignedDuration, Timestamp};

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

/// How far ahead of this server's clock an imported session may start: the other system's
/// clock may run a little fast. The same allowance for clock skew that scheduling gives a
/// start in the past ([`START_GRACE`](crate::schedule::START_GRACE)).
pub const CLOCK_SKEW: SignedDuration = crate::schedule::START_GRACE;

/// Imports are history: an instant of the record is not later than `now` (give or take
/// [`CLOCK_SKEW`]). Otherwise a session of the future would be listed as running, and nothing
/// would ever end it.
pub fn check_not_future(
    line: usize,
    name: &str,
    instant: Timestamp,
    now: Timestamp,
) -> Result<(), ImportRefused> {
    if instant > now.checked_add(CLOCK_SKEW).unwrap_or(now) {
        return Err(ImportRefused::new(
            line,
            format!("{name} is in the future (this server's time is {now})"),
        ));
    }
    Ok(())
}

/// When a stay of an imported session ends. A stay gives its `left_at`; one that gives none
/// in a session that has ended was there until the end, and is closed then (at its join, if
/// it joined later): otherwise it would show as still in a meeting that is over (Rokid
/// 会议中, Huawei `leftTime: null`). In a running session it is still there. Times outside
/// the session's are kept as the source system recorded them (clocks of two systems differ).
pub fn stay_left_at(
    stay: &ImportAttendance,
    session_ended: Option<Timestamp>,
) -> Option<Timestamp> {
    stay.left_at
        .or_else(|| session_ended.map(|ended| ended.max(stay.joined_at)))
}

/// Whether `url` may be a recording's `download_url`, which integrations are handed as a link
/// (Telnyx `download_url`, Rokid `egressRecordUrl`): an absolute `http` or `https` URL with a
/// host, in the characters RFC 3986 allows (anything else percent-encoded). Not a full URL
/// parser: enough that no `javascript:`, `data:` or relative link, and no stray quote or
/// space, is served as a recording.
pub fn is_download_url(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return false;
    }
    // RFC 3986's unreserved and reserved characters, and `%` of a percent-encoding.
    const MARKS: &str = "-._~:/?#[]@!$&'()*+,;=%";
    let allowed = |c: char| c.is_ascii_alphanumeric() || MARKS.contains(c);
    if !rest.chars().all(allowed) {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.strip_prefix('[') {
        // An IPv6 literal: `[::1]` or `[::1]:8080`.
        Some(v6) => match v6.split_once(']') {
            Some((addr, "")) => (addr, None),
            Some((addr, after)) => match after.strip_prefix(':') {
                Some(port) => (addr, Some(port)),
                None => return false,
            },
            None => return false,
        },
        None if host_port.contains(['[', ']']) => return false,
        None => match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    !host.is_empty() && port.is_none_or(|p| p.chars().all(|c| c.is_ascii_digit()))
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

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn stay(joined: i64, left: Option<i64>) -> ImportAttendance {
        ImportAttendance {
            id: AttendanceId::from_uuid(uuid::Uuid::nil()),
            session: SessionId::from_uuid(uuid::Uuid::nil()),
            user: None,
            display_name: "Guest".to_owned(),
            call_number: String::new(),
            device_type: DeviceType::Web,
            media_type: MediaType::Audio,
            department: String::new(),
            joined_at: t(joined),
            left_at: left.map(t),
        }
    }

    #[test]
    fn starts_in_the_future_are_refused_beyond_clock_skew() {
        let now = t(1_000_000);
        let skew = CLOCK_SKEW.as_secs();
        assert!(check_not_future(2, "started_at", t(1), now).is_ok());
        assert!(check_not_future(2, "started_at", now, now).is_ok());
        assert!(check_not_future(2, "started_at", t(1_000_000 + skew), now).is_ok());
        let e = check_not_future(2, "started_at", t(1_000_001 + skew), now).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.starts_with("started_at is in the future"), "{e}");
    }

    #[test]
    fn a_stay_without_left_at_in_an_ended_session_left_at_its_end() {
        // Ended at 200: closed then (or at its join, if later); as given otherwise.
        assert_eq!(stay_left_at(&stay(150, None), Some(t(200))), Some(t(200)));
        assert_eq!(stay_left_at(&stay(250, None), Some(t(200))), Some(t(250)));
        assert_eq!(
            stay_left_at(&stay(150, Some(160)), Some(t(200))),
            Some(t(160))
        );
        // Running: still there.
        assert_eq!(stay_left_at(&stay(150, None), None), None);
    }

    #[test]
    fn download_urls_are_absolute_http_or_https() {
        for good in [
            "https://files.example/review.webm",
            "http://files.example",
            "HTTPS://files.example:8443/a%20b.mp4?sig=x&exp=1#t=10",
            "https://user@files.example/r.webm",
            "http://[::1]:8080/r.webm",
            "http://192.0.2.1/r",
        ] {
            assert!(is_download_url(good), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "javascript://files.example/%0aalert(1)",
            "data:text/html,<script>",
            "/relative/r.webm",
            "files.example/r.webm",
            "ftp://files.example/r.webm",
            "https://",
            "https:///r.webm",
            "https://:80/r.webm",
            "https://files.example:80x/",
            "https://files.example/a b",
            "https://files.example/\"onmouseover=",
            "https://files.example/<script>",
            "https://fïles.example/",
            "http://[::1/",
            "http://[::1]x/",
            "http://a]b/",
        ] {
            assert!(!is_download_url(bad), "{bad}");
        }
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

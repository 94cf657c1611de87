//! The import file: JSON lines of rooms, sessions, attendance and recordings
//! (`docs/import.md`). Parsed whole before anything is written; the first bad line refuses
//! the file with its line number.

use serde::Deserialize;

use plenum_domain::Timestamp;
use plenum_domain::history::{DeviceType, MediaType, RecordingKind, RecordingStatus};
use plenum_domain::history_import::{
    ImportAttendance, ImportLine, ImportRecord, ImportRecording, ImportRefused, ImportRoom,
    ImportSession, check_interval, check_not_future, derived_id, is_download_url,
};
use plenum_domain::ids::{AttendanceId, CompanyId, RecordingId, RoomId, SessionId};
use plenum_domain::schedule::{MeetingNumber, parse_meeting_name, parse_room_name};
use plenum_domain::user::Username;

/// Most records one file may hold (a larger migration is split into several files).
pub const MAX_RECORDS: usize = 1_000_000;
/// Longest free-text field (display names, departments, codecs, URLs).
const MAX_TEXT: usize = 2048;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Raw {
    Room(RawRoom),
    Session(RawSession),
    Attendance(RawAttendance),
    Recording(RawRecording),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoom {
    id: Option<String>,
    name: String,
    meeting_number: String,
    owner: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSession {
    id: Option<String>,
    room: Option<String>,
    meeting_number: String,
    name: String,
    owner: String,
    #[serde(default)]
    invitees: Vec<String>,
    started_at: String,
    ended_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttendance {
    id: Option<String>,
    session: String,
    user: Option<String>,
    display_name: String,
    #[serde(default)]
    call_number: String,
    device_type: String,
    media_type: String,
    #[serde(default)]
    department: String,
    joined_at: String,
    left_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecording {
    id: Option<String>,
    session: String,
    attendance: Option<String>,
    /// `audio` or `video` (named `kind` because `type` names the record).
    kind: String,
    status: String,
    codec: String,
    size_bytes: u64,
    duration_secs: u32,
    started_at: String,
    ended_at: Option<String>,
    completed_at: Option<String>,
    #[serde(default)]
    download_url: String,
}

/// Parses a whole file, checking each line on its own (`now` is the server's time: imports
/// are history). Blank lines are skipped; every other line is one record; a file without
/// any is refused.
pub(crate) fn parse(
    company: CompanyId,
    text: &str,
    now: Timestamp,
) -> Result<Vec<ImportLine>, ImportRefused> {
    let mut lines: Vec<ImportLine> = Vec::new();
    let mut seen: std::collections::HashMap<(&'static str, uuid::Uuid), (usize, usize)> =
        std::collections::HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        if lines.len() == MAX_RECORDS {
            return Err(ImportRefused::new(
                n,
                format!("a file may hold at most {MAX_RECORDS} records; split it"),
            ));
        }
        let record: Raw = serde_json::from_str(raw).map_err(|e| {
            // serde_json counts within the line; the line number is ours.
            let message = e.to_string();
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(m, _)| m)
                .to_owned();
            ImportRefused::new(n, message)
        })?;
        let derived = derived_id(company, raw);
        let record = convert(n, record, derived, now)?;
        // One id, one record: the same record twice is harmless (it is written once); two
        // different ones under one id would leave which one counts to the order of lines.
        match seen.entry(record_key(&record)) {
            std::collections::hash_map::Entry::Occupied(first) => {
                let (first_line, index) = *first.get();
                let earlier: &ImportLine = &lines[index];
                if earlier.record != record {
                    return Err(ImportRefused::new(
                        n,
                        format!(
                            "this {} has the id of line {first_line}, with other content: \
                             one id, one record",
                            first.key().0
                        ),
                    ));
                }
                continue;
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert((n, lines.len()));
            }
        }
        lines.push(ImportLine { line: n, record });
    }
    // An empty body is a mistake, not an import of nothing: a `curl --data-binary @file`
    // whose file is missing sends one, and "0 imported" would hide it.
    if lines.is_empty() {
        return Err(ImportRefused::new(
            1,
            "the file holds no records (it is empty or only blank lines; was the file missing?)",
        ));
    }
    Ok(lines)
}

/// What kind of record, and its id: two records of one kind may not share an id.
fn record_key(record: &ImportRecord) -> (&'static str, uuid::Uuid) {
    match record {
        ImportRecord::Room(r) => ("room", r.id.as_uuid()),
        ImportRecord::Session(s) => ("session", s.id.as_uuid()),
        ImportRecord::Attendance(a) => ("attendance", a.id.as_uuid()),
        ImportRecord::Recording(r) => ("recording", r.id.as_uuid()),
    }
}

struct Line {
    n: usize,
}

impl Line {
    fn refuse(&self, reason: impl Into<String>) -> ImportRefused {
        ImportRefused::new(self.n, reason)
    }

    fn uuid(&self, field: &str, raw: &str) -> Result<uuid::Uuid, ImportRefused> {
        uuid::Uuid::parse_str(raw.trim())
            .map_err(|_| self.refuse(format!("{field}: must be a UUID")))
    }

    fn id(&self, raw: &Option<String>, derived: uuid::Uuid) -> Result<uuid::Uuid, ImportRefused> {
        raw.as_deref().map_or(Ok(derived), |r| self.uuid("id", r))
    }

    fn instant(&self, field: &str, raw: &str) -> Result<Timestamp, ImportRefused> {
        raw.trim().parse::<Timestamp>().map_err(|_| {
            self.refuse(format!(
                "{field}: must be an RFC 3339 instant such as 2026-06-17T10:00:00Z"
            ))
        })
    }

    fn opt_instant(
        &self,
        field: &str,
        raw: &Option<String>,
    ) -> Result<Option<Timestamp>, ImportRefused> {
        raw.as_deref().map(|r| self.instant(field, r)).transpose()
    }

    fn username(&self, field: &str, raw: &str) -> Result<Username, ImportRefused> {
        Username::parse(raw).map_err(|e| self.refuse(format!("{field}: {}", e.reason)))
    }

    fn number(&self, raw: &str) -> Result<MeetingNumber, ImportRefused> {
        MeetingNumber::parse(raw).map_err(|e| self.refuse(format!("meeting_number: {}", e.reason)))
    }

    fn text(&self, field: &str, raw: String, required: bool) -> Result<String, ImportRefused> {
        let text = raw.trim().to_owned();
        if required && text.is_empty() {
            return Err(self.refuse(format!("{field}: must not be empty")));
        }
        if text.chars().count() > MAX_TEXT {
            return Err(self.refuse(format!("{field}: must be at most {MAX_TEXT} characters")));
        }
        if text.chars().any(char::is_control) {
            return Err(self.refuse(format!("{field}: must not contain control characters")));
        }
        Ok(text)
    }
}

fn convert(
    n: usize,
    raw: Raw,
    derived: uuid::Uuid,
    now: Timestamp,
) -> Result<ImportRecord, ImportRefused> {
    let l = Line { n };
    Ok(match raw {
        Raw::Room(r) => ImportRecord::Room(ImportRoom {
            id: RoomId::from_uuid(l.id(&r.id, derived)?),
            name: parse_room_name(&r.name).map_err(|e| l.refuse(format!("name: {}", e.reason)))?,
            meeting_number: l.number(&r.meeting_number)?,
            owner: l.username("owner", &r.owner)?,
        }),
        Raw::Session(s) => {
            let started_at = l.instant("started_at", &s.started_at)?;
            let ended_at = l.opt_instant("ended_at", &s.ended_at)?;
            check_interval(n, "started_at", started_at, "ended_at", ended_at)?;
            // A running session of the future would be listed as running, and nothing would
            // ever end it.
            if ended_at.is_none() {
                check_not_future(n, "started_at", started_at, now)?;
            }
            ImportRecord::Session(ImportSession {
                id: SessionId::from_uuid(l.id(&s.id, derived)?),
                room: s
                    .room
                    .as_deref()
                    .map(|r| l.uuid("room", r).map(RoomId::from_uuid))
                    .transpose()?,
                meeting_number: l.number(&s.meeting_number)?,
                name: parse_meeting_name(&s.name)
                    .map_err(|e| l.refuse(format!("name: {}", e.reason)))?,
                owner: l.username("owner", &s.owner)?,
                invitees: s
                    .invitees
                    .iter()
                    .map(|u| l.username("invitees", u))
                    .collect::<Result<_, _>>()?,
                started_at,
                ended_at,
            })
        }
        Raw::Attendance(a) => {
            let joined_at = l.instant("joined_at", &a.joined_at)?;
            let left_at = l.opt_instant("left_at", &a.left_at)?;
            check_interval(n, "joined_at", joined_at, "left_at", left_at)?;
            ImportRecord::Attendance(ImportAttendance {
                id: AttendanceId::from_uuid(l.id(&a.id, derived)?),
                session: SessionId::from_uuid(l.uuid("session", &a.session)?),
                user: a
                    .user
                    .as_deref()
                    .map(|u| l.username("user", u))
                    .transpose()?,
                display_name: l.text("display_name", a.display_name, true)?,
                call_number: l.text("call_number", a.call_number, false)?,
                device_type: DeviceType::parse(&a.device_type)
                    .map_err(|e| l.refuse(format!("device_type: {}", e.reason)))?,
                media_type: MediaType::parse(&a.media_type)
                    .map_err(|e| l.refuse(format!("media_type: {}", e.reason)))?,
                department: l.text("department", a.department, false)?,
                joined_at,
                left_at,
            })
        }
        Raw::Recording(r) => {
            let started_at = l.instant("started_at", &r.started_at)?;
            let ended_at = l.opt_instant("ended_at", &r.ended_at)?;
            let completed_at = l.opt_instant("completed_at", &r.completed_at)?;
            check_interval(n, "started_at", started_at, "ended_at", ended_at)?;
            check_interval(n, "started_at", started_at, "completed_at", completed_at)?;
            let download_url = l.text("download_url", r.download_url, false)?;
            if !download_url.is_empty() && !is_download_url(&download_url) {
                return Err(l.refuse("download_url: must be an absolute http or https URL"));
            }
            ImportRecord::Recording(ImportRecording {
                id: RecordingId::from_uuid(l.id(&r.id, derived)?),
                session: SessionId::from_uuid(l.uuid("session", &r.session)?),
                attendance: r
                    .attendance
                    .as_deref()
                    .map(|a| l.uuid("attendance", a).map(AttendanceId::from_uuid))
                    .transpose()?,
                kind: RecordingKind::parse(r.kind.trim())
                    .ok_or_else(|| l.refuse("kind: must be audio or video"))?,
                status: RecordingStatus::parse(r.status.trim())
                    .ok_or_else(|| l.refuse("status: must be completed or processing"))?,
                codec: l.text("codec", r.codec, true)?,
                size_bytes: r.size_bytes,
                duration_secs: r.duration_secs,
                started_at,
                ended_at,
                completed_at,
                download_url,
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn company() -> CompanyId {
        CompanyId::from_uuid(uuid::Uuid::nil())
    }

    fn now() -> Timestamp {
        "2026-11-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_file_of_each_record_parses() {
        let text = r#"
{"type":"room","id":"0190a8f0-0000-7000-8000-000000000001","name":"Board","meeting_number":"7000001","owner":"alice"}
{"type":"session","id":"0190a8f0-0000-7000-8000-000000000002","room":"0190a8f0-0000-7000-8000-000000000001","meeting_number":"7000001","name":"Review","owner":"alice","invitees":["bob"],"started_at":"2026-06-17T10:00:00+02:00","ended_at":"2026-06-17T08:45:00Z"}

{"type":"attendance","session":"0190a8f0-0000-7000-8000-000000000002","user":"bob","display_name":"Bob","device_type":"web","media_type":"video","joined_at":"2026-06-17T08:01:00Z","left_at":"2026-06-17T08:40:00Z"}
{"type":"recording","session":"0190a8f0-0000-7000-8000-000000000002","kind":"audio","status":"completed","codec":"opus","size_bytes":10,"duration_secs":60,"started_at":"2026-06-17T08:00:00Z"}
"#;
        let lines = parse(company(), text, now()).unwrap();
        assert_eq!(
            lines.iter().map(|l| l.line).collect::<Vec<_>>(),
            vec![2, 3, 5, 6]
        );
        match &lines[1].record {
            ImportRecord::Session(s) => {
                assert_eq!(s.started_at.to_string(), "2026-06-17T08:00:00Z");
                assert_eq!(s.invitees.len(), 1);
            }
            other => panic!("{other:?}"),
        }
        // The same line always gets the same derived id.
        let again = parse(company(), text, now()).unwrap();
        assert_eq!(lines, again);
    }

    #[test]
    fn one_id_with_two_contents_is_refused_naming_both_lines() {
        let room = |name: &str| {
            format!(
                r#"{{"type":"room","id":"0190a8f0-0000-7000-8000-000000000001","name":"{name}","meeting_number":"7000001","owner":"alice"}}"#
            )
        };
        // The same record twice is written once.
        let same = format!("{}\n{}", room("Board"), room("Board"));
        assert_eq!(parse(company(), &same, now()).unwrap().len(), 1);
        // Other content under the same id: refused at the second line, naming the first.
        let clash = format!("{}\n\n{}", room("Board"), room("Boardroom"));
        let e = parse(company(), &clash, now()).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.reason.contains("line 1"), "{e}");
        // A session may share a room's id: ids are per kind.
        let session = r#"{"type":"session","id":"0190a8f0-0000-7000-8000-000000000001","meeting_number":"7000001","name":"R","owner":"alice","started_at":"2026-06-17T08:00:00Z"}"#;
        let kinds = format!("{}\n{session}", room("Board"));
        assert_eq!(parse(company(), &kinds, now()).unwrap().len(), 2);
    }

    #[test]
    fn bad_lines_are_refused_with_their_number() {
        let refused = |text: &str| parse(company(), text, now()).unwrap_err();
        let e = refused(
            "\n\n{\"type\":\"room\",\"name\":\"B\",\"meeting_number\":\"12\",\"owner\":\"a\"}",
        );
        assert_eq!(e.line, 3);
        assert!(e.reason.contains("meeting_number"), "{e}");
        assert_eq!(refused("{not json").line, 1);
        assert!(
            refused(r#"{"type":"meeting"}"#)
                .reason
                .contains("unknown variant")
        );
        assert!(
            refused(
                r#"{"type":"room","name":"B","meeting_number":"123456","owner":"a","color":1}"#
            )
            .reason
            .contains("unknown field")
        );
        let e = refused(
            r#"{"type":"attendance","session":"0190a8f0-0000-7000-8000-000000000002","display_name":"x","device_type":"web","media_type":"video","joined_at":"2026-06-17T08:01:00Z","left_at":"2026-06-17T08:00:00Z"}"#,
        );
        assert!(e.reason.contains("left_at is before joined_at"), "{e}");
        assert!(refused(r#"{"type":"session","meeting_number":"123456","name":"n","owner":"a","started_at":"yesterday"}"#).reason.contains("RFC 3339"));
        assert!(refused(r#"{"type":"attendance","session":"x","display_name":"x","device_type":"web","media_type":"video","joined_at":"2026-06-17T08:01:00Z"}"#).reason.contains("UUID"));
        assert!(refused(r#"{"type":"attendance","session":"0190a8f0-0000-7000-8000-000000000002","display_name":"x","device_type":"toaster","media_type":"video","joined_at":"2026-06-17T08:01:00Z"}"#).reason.contains("device_type"));
        let e = refused(
            r#"{"type":"session","meeting_number":"123456","name":"n","owner":"a","started_at":"2099-01-01T00:00:00Z"}"#,
        );
        assert!(e.reason.starts_with("started_at is in the future"), "{e}");
        // A few seconds ahead of the server is clock skew, not the future.
        assert!(parse(company(), r#"{"type":"session","meeting_number":"123456","name":"n","owner":"a","started_at":"2026-11-01T00:00:30Z"}"#, now()).is_ok());
        for url in [
            "javascript:alert(1)",
            "/r.webm",
            "https://",
            "ftp://files.example/r",
        ] {
            let e = refused(&format!(
                r#"{{"type":"recording","session":"0190a8f0-0000-7000-8000-000000000002","kind":"audio","status":"completed","codec":"opus","size_bytes":10,"duration_secs":60,"started_at":"2026-06-17T08:00:00Z","download_url":"{url}"}}"#
            ));
            assert_eq!(
                e.reason, "download_url: must be an absolute http or https URL",
                "{url}"
            );
        }
    }
}

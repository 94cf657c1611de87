//! The questions the history surfaces ask of the record of meetings, in domain terms.
//!
//! Four vendor dialects (Rokid, Rocket.Chat, Telnyx, Huawei) read the same sessions,
//! attendance and recordings. Each parses its wire format into one of these queries; the store
//! answers each with one indexed query, so when two dialects ask the same question (Rokid's
//! meeting history and Rocket.Chat's calls of a room are both "sessions, newest first"), one
//! query answers both.

use jiff::Timestamp;

use crate::history::{Attendance, Recording, RecordingKind, RecordingStatus, Session};
use crate::ids::{AttendanceId, RoomId, SessionId, UserId};
use crate::paging::{Page, PageRequest};
use crate::schedule::UserRef;
use crate::{Field, Rule, ValidationError};

/// Longest search text a history query accepts (Rokid `meetingName`, Huawei `searchKey`).
pub const MAX_SEARCH_CHARS: usize = 128;

/// A search text: trimmed, non-empty, bounded, no control characters. Matching is a
/// case-insensitive substring test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    /// `None` for an absent or blank text.
    pub fn parse(raw: Option<&str>, field: Field) -> Result<Option<Self>, ValidationError> {
        let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        if text.chars().count() > MAX_SEARCH_CHARS {
            return Err(ValidationError::breaks(
                Rule::TooLong,
                field,
                format!("must be at most {MAX_SEARCH_CHARS} characters"),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(ValidationError::breaks(
                Rule::Characters,
                field,
                "must not contain control characters",
            ));
        }
        Ok(Some(Self(text.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text as a search compares it: [`search_key`] of it.
    pub fn folded(&self) -> String {
        search_key(&self.0)
    }
}

/// Name folding lives with the other rules about text (`text.rs`); the history searches and
/// the stores name it from here too.
pub use crate::text::search_key;

/// A half-open window of instants: `from` inclusive, `until` exclusive; either side open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstantRange {
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

impl InstantRange {
    /// Narrows the window to also lie within `[from, until)`.
    pub fn narrow(&mut self, from: Option<Timestamp>, until: Option<Timestamp>) {
        if let Some(f) = from {
            self.from = Some(self.from.map_or(f, |old| old.max(f)));
        }
        if let Some(u) = until {
            self.until = Some(self.until.map_or(u, |old| old.min(u)));
        }
    }

    pub fn is_open(&self) -> bool {
        self.from.is_none() && self.until.is_none()
    }

    /// True when no instant can be in the window.
    pub fn is_empty(&self) -> bool {
        matches!((self.from, self.until), (Some(f), Some(u)) if f >= u)
    }
}

/// Which sessions of a company a history list shows, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionQuery {
    /// Only the sessions held in this room (Rocket.Chat `roomId`).
    pub room: Option<RoomId>,
    /// Only those whose name contains this (Rokid `meetingName`, a fuzzy match).
    pub name: Option<SearchText>,
    /// Only those that started in this window (Rokid `startTime`/`endTime`).
    pub started: InstantRange,
    /// Whether each session's participants are wanted too (Rocket.Chat shows who attended a
    /// call; Rokid's history does not, and reading them is most of a page's cost).
    pub with_participants: bool,
}

/// A participant of a session who is a user of the company, with their first join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionParticipant {
    pub user: UserRef,
    pub first_joined_at: Timestamp,
}

/// One session as the history lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    /// The store's compact, stable, increasing key of the session, installation-wide: for the
    /// store's own bookkeeping, never shown (it would let companies count each other's).
    pub seq: i64,
    /// The session's number within its company (Rokid `id`): 1, 2, 3 … in the order the
    /// company's sessions were recorded.
    pub number: i64,
    /// The session (its `invitees` are left empty in lists).
    pub session: Session,
    pub owner: UserRef,
    /// The company's users who attended, in order of first join (empty unless the query
    /// asked `with_participants`). Shared: an ended session's list is read once and kept.
    pub participants: std::sync::Arc<[SessionParticipant]>,
    /// How many stays were by guests (no user); 0 unless the query asked `with_participants`.
    pub guest_stays: u32,
    /// The download link of the session's first completed recording, if any (a meeting
    /// recording before a participant's), as imported.
    pub recording_url: Option<String>,
    /// That recording's file, when Plenum made it (its link is signed when shown).
    pub recording_file: Option<crate::history::RecordingFileKey>,
}

/// One stay in a session, with the user it was (if a user of the company).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttendanceEntry {
    pub attendance: Attendance,
    pub user: Option<UserRef>,
}

/// A session and one page of its attendance, in order of joining.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionAttendance {
    pub seq: i64,
    pub session: Session,
    pub attendance: Page<AttendanceEntry>,
    /// The session's invitees with their names, in the order of `session.invitees` (by id; those
    /// that are users of its company: all of them, as invitations are kept).
    pub invited: Vec<UserRef>,
}

/// Where a session is identified: by its UUID (every surface) or by its number within the
/// company (Rokid shows `id` as a long and integrations may send it back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKey {
    Id(SessionId),
    Number(i64),
}

/// Which of a session's stays an attendance query returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttendanceQuery {
    /// Only stays whose display name or call number contains this (Huawei `searchKey`).
    pub search: Option<SearchText>,
}

impl AttendanceQuery {
    /// A page of `stays` (a session's, in order of joining) that this query returns, with how
    /// many it returns in all: a stay matches a search when its display name or call number,
    /// folded as every search folds ([`search_key`]), contains the folded search text.
    pub fn page_of(&self, stays: &[AttendanceEntry], page: PageRequest) -> Page<AttendanceEntry> {
        let folded = self.search.as_ref().map(SearchText::folded);
        let matching = stays.iter().filter(|stay| {
            folded.as_deref().is_none_or(|text| {
                search_key(&stay.attendance.display_name).contains(text)
                    || search_key(&stay.attendance.call_number).contains(text)
            })
        });
        let mut total = 0u64;
        let mut items = Vec::new();
        let first = page.offset();
        for stay in matching {
            if total >= first && items.len() < page.limit() as usize {
                items.push(stay.clone());
            }
            total += 1;
        }
        Page { items, total }
    }
}

/// Where a person stands in a session's attendance picture (Rokid's participant status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresenceState {
    /// Joined and not yet left.
    InMeeting,
    /// Joined and left.
    Left,
    /// Invited, never joined.
    NeverJoined,
}

impl PresenceState {
    pub fn of(attendance: &Attendance) -> Self {
        if attendance.left_at.is_some() {
            PresenceState::Left
        } else {
            PresenceState::InMeeting
        }
    }
}

/// The invitees of `session` who never joined it: invitees with no stay among `stays`, in
/// the session's invitee order.
pub fn absent_invitees(session: &Session, stays: &[AttendanceEntry]) -> Vec<UserId> {
    session
        .invitees
        .iter()
        .copied()
        .filter(|invitee| {
            !stays
                .iter()
                .any(|s| s.attendance.user.as_ref() == Some(invitee))
        })
        .collect()
}

/// Which recordings of a company a Telnyx list (or bulk delete) is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordingFilter {
    pub started: InstantRange,
    pub ended: InstantRange,
    pub room: Option<RoomId>,
    pub participant: Option<AttendanceId>,
    pub session: Option<SessionId>,
    pub status: Option<RecordingStatus>,
    pub kind: Option<RecordingKind>,
    /// Inclusive bounds on `duration_secs`.
    pub min_duration_secs: Option<u32>,
    pub max_duration_secs: Option<u32>,
}

impl RecordingFilter {
    /// True when the filter provably matches nothing (empty windows, min above max).
    pub fn matches_nothing(&self) -> bool {
        self.started.is_empty()
            || self.ended.is_empty()
            || matches!((self.min_duration_secs, self.max_duration_secs), (Some(a), Some(b)) if a > b)
    }
}

/// A recording together with the room its session was held in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingView {
    pub recording: Recording,
    pub room: Option<RoomId>,
}

/// The start of a UTC calendar date and the start of the next: the window of that date.
pub fn utc_date_window(date: jiff::civil::Date) -> Option<(Timestamp, Timestamp)> {
    let start = date.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    let next = date
        .tomorrow()
        .ok()?
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()?
        .timestamp();
    Some((start, next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{DeviceType, MediaType};
    use crate::ids::CompanyId;
    use crate::schedule::MeetingNumber;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    #[test]
    fn ranges_narrow_to_their_intersection() {
        let mut r = InstantRange::default();
        assert!(r.is_open());
        r.narrow(Some(ts(10)), Some(ts(100)));
        r.narrow(Some(ts(5)), Some(ts(50)));
        assert_eq!(
            r,
            InstantRange {
                from: Some(ts(10)),
                until: Some(ts(50))
            }
        );
        assert!(!r.is_empty());
        r.narrow(Some(ts(60)), None);
        assert!(r.is_empty());
    }

    #[test]
    fn search_text_is_bounded_and_trimmed() {
        assert_eq!(SearchText::parse(Some("  "), Field::Filter).unwrap(), None);
        assert_eq!(
            SearchText::parse(Some(" Ab "), Field::Filter)
                .unwrap()
                .unwrap()
                .folded(),
            "ab"
        );
        assert!(SearchText::parse(Some(&"x".repeat(129)), Field::Filter).is_err());
        assert!(SearchText::parse(Some("a\u{0}b"), Field::Filter).is_err());
    }

    #[test]
    fn invitees_without_a_stay_are_absent() {
        let now = ts(0);
        let (alice, bob, carol) = (UserId::new(now), UserId::new(now), UserId::new(now));
        let session = Session {
            id: SessionId::new(now),
            company: CompanyId::new(now),
            meeting_number: MeetingNumber::parse("123456").unwrap(),
            name: "n".into(),
            owner: alice,
            room: None,
            schedule: None,
            started_at: now,
            ended_at: None,
            peak_participants: 0,
            invitees: vec![bob, carol],
        };
        let stay = AttendanceEntry {
            attendance: Attendance {
                id: AttendanceId::new(now),
                session: session.id,
                user: Some(bob),
                display_name: "Bob".into(),
                call_number: String::new(),
                device_type: DeviceType::Web,
                media_type: MediaType::Video,
                department: String::new(),
                joined_at: now,
                left_at: None,
            },
            user: None,
        };
        assert_eq!(
            absent_invitees(&session, std::slice::from_ref(&stay)),
            vec![carol]
        );
        assert_eq!(
            PresenceState::of(&stay.attendance),
            PresenceState::InMeeting
        );
    }

    #[test]
    fn attendance_pages_search_names_and_call_numbers_folded_and_count_every_match() {
        let now = ts(0);
        let session = SessionId::new(now);
        let stay = |name: &str, number: &str| AttendanceEntry {
            attendance: Attendance {
                id: AttendanceId::new(now),
                session,
                user: None,
                display_name: name.into(),
                call_number: number.into(),
                device_type: DeviceType::Phone,
                media_type: MediaType::Audio,
                department: String::new(),
                joined_at: now,
                left_at: None,
            },
            user: None,
        };
        let stays = [
            stay("Ärzte Team", ""),
            stay("Bob", "+49 30 ÄRZ"),
            stay("Carol", "5550100"),
            stay("Dave", ""),
            stay("ärzin", ""),
        ];
        let names = |page: &Page<AttendanceEntry>| -> Vec<String> {
            page.items
                .iter()
                .map(|s| s.attendance.display_name.clone())
                .collect()
        };
        let search = |text: &str| AttendanceQuery {
            search: SearchText::parse(Some(text), Field::Filter).unwrap(),
        };
        let page = |offset, limit| PageRequest::by_offset(offset, limit, 100).unwrap();

        // Everything, in the order given, paged; the total counts past the page.
        let all = AttendanceQuery::default().page_of(&stays, page(1, 2));
        assert_eq!(
            (names(&all), all.total),
            (vec!["Bob".into(), "Carol".into()], 5)
        );
        // A search folds case (and non-ASCII letters) and matches names or call numbers.
        let found = search("ÄRZ").page_of(&stays, page(0, 10));
        assert_eq!(
            (names(&found), found.total),
            (vec!["Ärzte Team".into(), "Bob".into(), "ärzin".into()], 3)
        );
        let found = search("0100").page_of(&stays, page(0, 10));
        assert_eq!(names(&found), vec!["Carol".to_owned()]);
        // A page past the end is empty but keeps the total.
        let past = search("ärz").page_of(&stays, page(3, 2));
        assert_eq!((past.items.len(), past.total), (0, 3));
        assert_eq!(search("zzz").page_of(&stays, page(0, 2)).total, 0);
    }

    #[test]
    fn a_utc_date_is_one_day_long() {
        let (a, b) = utc_date_window(jiff::civil::date(2021, 4, 16)).unwrap();
        assert_eq!(a.to_string(), "2021-04-16T00:00:00Z");
        assert_eq!(b.as_second() - a.as_second(), 86_400);
    }

    #[test]
    fn contradictory_filters_match_nothing() {
        let f = RecordingFilter {
            min_duration_secs: Some(10),
            max_duration_secs: Some(5),
            ..RecordingFilter::default()
        };
        assert!(f.matches_nothing());
        assert!(!RecordingFilter::default().matches_nothing());
    }
}

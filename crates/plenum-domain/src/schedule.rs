//! Scheduled meetings, recurring series and meeting rooms: what people plan before they meet.
//!
//! A *schedule* (FRTC `reservation_id`) is one planned holding of a meeting: an instant
//! meeting, a reservation, or one occurrence of a recurring *series* (FRTC `recurrence_gid`).
//! A *room* is a persistent meeting place with a permanent number and password. Meeting
//! numbers are unique among everything that can be joined: a schedule outside a room and a
//! room each hold their own number; a schedule in a room uses the room's.

use std::fmt;

use jiff::SignedDuration;
use subtle::ConstantTimeEq as _;

use crate::ids::{CompanyId, RoomId, ScheduleId, SeriesId, UserId};
use crate::recurrence::RecurrenceRule;
use crate::user::Role;
use crate::{Field, Rule, Timestamp, ValidationError};

/// A meeting number: 6 to 12 ASCII digits. Generated numbers have 9 digits and no leading 0.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MeetingNumber(String);

impl MeetingNumber {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        if (6..=12).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::breaks(
                Rule::MeetingNumberForm,
                Field::MeetingNumber,
                "must be 6 to 12 digits",
            ))
        }
    }

    /// The generated number for a random value: 9 digits, 100000000..=999999999.
    pub fn from_random(random: u64) -> Self {
        Self((100_000_000 + random % 900_000_000).to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MeetingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A meeting password: 4 to 16 ASCII digits (what keypads and dial-in can enter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingPassword(String);

impl MeetingPassword {
    /// `None` for an empty value: the meeting has no password.
    pub fn parse_optional(raw: Option<&str>) -> Result<Option<Self>, ValidationError> {
        match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(p) if (4..=16).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(Some(Self(p.to_owned())))
            }
            Some(_) => Err(ValidationError::breaks(
                Rule::PasswordForm,
                Field::MeetingPassword,
                "must be 4 to 16 digits",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a joiner's password (surrounding spaces ignored) opens a meeting with this
    /// password, or with none. The comparison takes the same time wherever the first
    /// difference is.
    pub fn admits(password: Option<&Self>, given: Option<&str>) -> bool {
        password.is_none_or(|wanted| {
            let given = given.unwrap_or("").trim().as_bytes();
            bool::from(given.ct_eq(wanted.0.as_bytes()))
        })
    }
}

/// The kind of a scheduled meeting (FRTC `meeting_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingKind {
    /// Starts now; cannot be updated.
    Instant,
    Reservation,
    /// An occurrence of a series.
    Recurrence,
}

impl MeetingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingKind::Instant => "instant",
            MeetingKind::Reservation => "reservation",
            MeetingKind::Recurrence => "recurrence",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "instant" => Ok(MeetingKind::Instant),
            "reservation" => Ok(MeetingKind::Reservation),
            "recurrence" => Ok(MeetingKind::Recurrence),
            _ => Err(ValidationError::breaks(
                Rule::NotAChoice,
                Field::MeetingType,
                "must be instant, reservation or recurrence",
            )),
        }
    }
}

/// Bandwidth class of a meeting (FRTC `call_rate_type`), e.g. `2048K`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallRate(u32);

impl CallRate {
    pub const ALLOWED_KBPS: [u32; 10] = [128, 256, 384, 512, 768, 1024, 1536, 2048, 4096, 8192];
    pub const DEFAULT: CallRate = CallRate(2048);

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        raw.trim()
            .strip_suffix(['K', 'k'])
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| Self::ALLOWED_KBPS.contains(n))
            .map(CallRate)
            .ok_or_else(|| {
                ValidationError::breaks(
                    Rule::NotAChoice,
                    Field::CallRateType,
                    "must be one of 128K, 256K, 384K, 512K, 768K, 1024K, 1536K, 2048K, 4096K, 8192K",
                )
            })
    }

    pub fn kbps(self) -> u32 {
        self.0
    }
}

impl fmt::Display for CallRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}K", self.0)
    }
}

/// FRTC `watermark_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WatermarkType {
    #[default]
    Single,
    Multiple,
}

impl WatermarkType {
    pub fn as_str(self) -> &'static str {
        match self {
            WatermarkType::Single => "single",
            WatermarkType::Multiple => "multiple",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim() {
            "single" => Ok(WatermarkType::Single),
            "multiple" => Ok(WatermarkType::Multiple),
            _ => Err(ValidationError::breaks(
                Rule::NotAChoice,
                Field::WatermarkType,
                "must be single or multiple",
            )),
        }
    }
}

/// FRTC `mute_upon_entry`: `"ENABLE"` or `"DISABLE"`.
pub fn parse_mute_upon_entry(raw: &str) -> Result<bool, ValidationError> {
    match raw.trim() {
        "ENABLE" => Ok(true),
        "DISABLE" => Ok(false),
        _ => Err(ValidationError::breaks(
            Rule::NotAChoice,
            Field::MuteUponEntry,
            "must be ENABLE or DISABLE",
        )),
    }
}

pub fn mute_upon_entry_str(on: bool) -> &'static str {
    if on { "ENABLE" } else { "DISABLE" }
}

/// Minutes before the start during which people may already join. FRTC `time_to_join`.
pub fn parse_time_to_join(minutes: i64) -> Result<u32, ValidationError> {
    if (0..=1440).contains(&minutes) {
        Ok(minutes as u32)
    } else {
        Err(ValidationError::breaks(
            Rule::OutOfRange,
            Field::TimeToJoin,
            "must be between 0 and 1440 minutes",
        ))
    }
}

pub fn parse_meeting_name(raw: &str) -> Result<String, ValidationError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(ValidationError::breaks(
            Rule::Empty,
            Field::MeetingName,
            "must not be empty",
        ));
    }
    if name.chars().count() > 128 {
        return Err(ValidationError::breaks(
            Rule::TooLong,
            Field::MeetingName,
            "must be at most 128 characters",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ValidationError::breaks(
            Rule::Characters,
            Field::MeetingName,
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

pub fn parse_meeting_description(raw: &str) -> Result<String, ValidationError> {
    if raw.chars().count() > 2000 {
        return Err(ValidationError::breaks(
            Rule::TooLong,
            Field::MeetingDescription,
            "must be at most 2000 characters",
        ));
    }
    // Lines and tabs are text; other control characters (NUL, escape …) are not.
    if raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ValidationError::breaks(
            Rule::Characters,
            Field::MeetingDescription,
            "must not contain control characters other than line breaks and tabs",
        ));
    }
    Ok(raw.to_owned())
}

/// Live-streaming settings of a meeting (FRTC `generate_live_url`, `live_passcode`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSettings {
    /// 4 to 16 digits, like a meeting password.
    pub passcode: String,
    /// The opaque id in the live URL.
    pub live_id: String,
}

pub fn parse_live_passcode(raw: &str) -> Result<String, ValidationError> {
    // An empty passcode is of the wrong form too, here: a live stream always has one.
    MeetingPassword::parse_optional(Some(raw))
        .map_err(|e| e.for_field(Field::LivePasscode))?
        .map(|p| p.0)
        .ok_or_else(|| {
            ValidationError::breaks(
                Rule::PasswordForm,
                Field::LivePasscode,
                "must be 4 to 16 digits",
            )
        })
}

/// Everything about a meeting that is the same for every occurrence of a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingSettings {
    pub name: String,
    pub description: String,
    pub password: Option<MeetingPassword>,
    pub call_rate: CallRate,
    pub mute_upon_entry: bool,
    pub guest_dial_in: bool,
    pub watermark: bool,
    pub watermark_type: WatermarkType,
    pub time_to_join_minutes: u32,
    pub live: Option<LiveSettings>,
}

/// The longest a single meeting may be planned for.
pub const MAX_MEETING_DURATION: SignedDuration = SignedDuration::from_hours(24);
/// How far in the past a new start may lie (clock skew between client and server).
pub const START_GRACE: SignedDuration = SignedDuration::from_mins(5);
/// How long an instant meeting is planned for.
pub const INSTANT_DURATION: SignedDuration = SignedDuration::from_hours(1);

/// Whether a start being set at `now` is acceptable: not earlier than [`START_GRACE`] ago.
pub fn starts_in_time(start: Timestamp, now: Timestamp) -> bool {
    start >= now.checked_sub(START_GRACE).unwrap_or(now)
}

/// Refuses a start (of a meeting or a series, named by `field`) being set at `now` that lies
/// in the past beyond [`START_GRACE`].
pub fn check_starts_in_time(
    field: Field,
    start: Timestamp,
    now: Timestamp,
) -> Result<(), ValidationError> {
    if starts_in_time(start, now) {
        Ok(())
    } else {
        Err(ValidationError::breaks(
            Rule::StartInPast,
            field,
            "must not be in the past",
        ))
    }
}

/// When a meeting is planned: start before end, at most [`MAX_MEETING_DURATION`] long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeSlot {
    pub start: Timestamp,
    pub end: Timestamp,
}

fn instant_field(field: Field, ms: i64) -> Result<Timestamp, ValidationError> {
    // Years 1970..=9999: anything else is a unit mistake (seconds for milliseconds, say).
    const MAX_MS: i64 = 253_402_300_799_999;
    if !(0..=MAX_MS).contains(&ms) {
        return Err(ValidationError::breaks(
            Rule::TimeForm,
            field,
            "must be milliseconds since 1970-01-01T00:00:00Z",
        ));
    }
    Timestamp::from_millisecond(ms).map_err(|_| {
        ValidationError::breaks(
            Rule::TimeForm,
            field,
            "must be milliseconds since the Unix epoch",
        )
    })
}

impl TimeSlot {
    /// A slot as given by a client: checked for order, length, and (when `now` is given, for a
    /// slot being set) that it does not start in the past.
    pub fn parse(
        start_ms: i64,
        end_ms: i64,
        now: Option<Timestamp>,
    ) -> Result<Self, ValidationError> {
        let start = instant_field(Field::ScheduleStartTime, start_ms)?;
        let end = instant_field(Field::ScheduleEndTime, end_ms)?;
        if end <= start {
            return Err(ValidationError::breaks(
                Rule::EndBeforeStart,
                Field::ScheduleEndTime,
                "must be after schedule_start_time",
            ));
        }
        if end.duration_since(start) > MAX_MEETING_DURATION {
            return Err(ValidationError::breaks(
                Rule::TooLongMeeting,
                Field::ScheduleEndTime,
                "a meeting may last at most 24 hours",
            ));
        }
        let slot = Self { start, end };
        if let Some(now) = now {
            slot.check_not_past(now)?;
        }
        Ok(slot)
    }

    /// Refuses a slot being set that starts in the past (beyond [`START_GRACE`]).
    pub fn check_not_past(&self, now: Timestamp) -> Result<(), ValidationError> {
        check_starts_in_time(Field::ScheduleStartTime, self.start, now)
    }

    /// An instant meeting's slot: from now, for [`INSTANT_DURATION`].
    pub fn instant(now: Timestamp) -> Self {
        Self {
            start: now,
            end: now.checked_add(INSTANT_DURATION).unwrap_or(Timestamp::MAX),
        }
    }
}

/// The times a request gives for a meeting, as milliseconds. An update may give one end only:
/// the other stays as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlotChange {
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
}

impl SlotChange {
    /// The slot after the change (`None`: the change gives no time), each end left out taken
    /// from `current`; checked for order and length. Whether a moved start lies in the past
    /// is the caller's question ([`TimeSlot::check_not_past`]): it knows the clock.
    pub fn applied_to(self, current: TimeSlot) -> Result<Option<TimeSlot>, ValidationError> {
        if self.start_ms.is_none() && self.end_ms.is_none() {
            return Ok(None);
        }
        TimeSlot::parse(
            self.start_ms.unwrap_or(current.start.as_millisecond()),
            self.end_ms.unwrap_or(current.end.as_millisecond()),
            None,
        )
        .map(Some)
    }
}

/// A user as schedules show them: id and names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    pub id: UserId,
    pub username: String,
    pub real_name: String,
}

impl UserRef {
    /// How a person is named in meeting lists: the real name if there is one.
    pub fn display_name(&self) -> &str {
        if self.real_name.is_empty() {
            &self.username
        } else {
            &self.real_name
        }
    }
}

/// One scheduled meeting (a single meeting or one occurrence of a series).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub id: ScheduleId,
    pub company_id: CompanyId,
    pub kind: MeetingKind,
    pub series_id: Option<SeriesId>,
    /// For an occurrence: its start as the series rule placed it (iCalendar RECURRENCE-ID).
    pub original_start: Option<Timestamp>,
    /// For an occurrence: changed on its own since the series was last set.
    pub overridden: bool,
    /// For an occurrence: how its series repeats (FRTC `recurrence_type`).
    pub recurrence: Option<crate::recurrence::Frequency>,
    pub meeting_number: MeetingNumber,
    pub room_id: Option<RoomId>,
    pub owner: UserRef,
    pub slot: TimeSlot,
    pub settings: MeetingSettings,
    pub invitees: Vec<UserRef>,
    /// The opaque code of the join link `<public_url>/j/<join_code>`.
    pub join_code: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// How many times it was changed since it was created: an update names the revision it
    /// was made from, and the store refuses it (`StoreError::Conflict`) if another change came
    /// in between, so the caller merges again instead of overwriting (docs/consistency.md).
    pub revision: u64,
}

impl Schedule {
    /// The start the series' rule gave an occurrence, however it was moved since (a single
    /// meeting's own start): what identifies an occurrence in its series.
    pub fn rule_start(&self) -> Timestamp {
        self.original_start.unwrap_or(self.slot.start)
    }
}

/// What a series' occurrence stored now is, for [`carry_over_occurrences`]: its original
/// start (the start the rule gave it), its id and when it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviousOccurrence {
    pub original_start: Timestamp,
    pub id: ScheduleId,
    pub created_at: Timestamp,
}

impl From<&Schedule> for PreviousOccurrence {
    fn from(s: &Schedule) -> Self {
        Self {
            original_start: s.rule_start(),
            id: s.id,
            created_at: s.created_at,
        }
    }
}

/// An occurrence of a series is identified by its series and its original start (the start
/// the rule gave it). When a series is set again, `rebuilt` (its occurrences expanded from the
/// new rule) takes over from `previous` (the occurrences it has now) and `deleted` (original
/// starts of occurrences deleted one by one): an occurrence whose original start the series
/// still has keeps its id and creation time, one deleted stays deleted; the others are new.
/// Returns the occurrences to store and the deletions still to remember (those of starts the
/// series still has; the others no longer mean anything).
pub fn carry_over_occurrences(
    rebuilt: Vec<Schedule>,
    previous: &[PreviousOccurrence],
    deleted: &[Timestamp],
) -> (Vec<Schedule>, Vec<Timestamp>) {
    let still_deleted: Vec<Timestamp> = deleted
        .iter()
        .copied()
        .filter(|d| rebuilt.iter().any(|o| o.rule_start() == *d))
        .collect();
    let kept = rebuilt
        .into_iter()
        .filter(|o| !still_deleted.contains(&o.rule_start()))
        .map(|mut o| {
            if let Some(before) = previous.iter().find(|p| p.original_start == o.rule_start()) {
                o.id = before.id;
                o.created_at = before.created_at;
            }
            o
        })
        .collect();
    (kept, still_deleted)
}

/// A scheduled meeting as a list shows it (FRTC's `scheduled_meetings` rows): small enough
/// that a whole company's list can be kept in memory by a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSummary {
    pub id: ScheduleId,
    pub company_id: CompanyId,
    pub kind: MeetingKind,
    pub series_id: Option<SeriesId>,
    pub recurrence: Option<crate::recurrence::Frequency>,
    pub meeting_number: MeetingNumber,
    pub name: String,
    pub password: Option<MeetingPassword>,
    pub slot: TimeSlot,
    /// Shared: a company's thousands of meetings have a few dozen owners.
    pub owner: std::sync::Arc<UserRef>,
    pub join_code: String,
}

impl From<&Schedule> for ScheduleSummary {
    fn from(s: &Schedule) -> Self {
        Self {
            id: s.id,
            company_id: s.company_id,
            kind: s.kind,
            series_id: s.series_id,
            recurrence: s.recurrence,
            meeting_number: s.meeting_number.clone(),
            name: s.settings.name.clone(),
            password: s.settings.password.clone(),
            slot: s.slot,
            owner: std::sync::Arc::new(s.owner.clone()),
            join_code: s.join_code.clone(),
        }
    }
}

/// What a meeting list's filter matches (`Store::find_schedules`, `Store::series_occurrences`):
/// a meeting whose name contains the filter, compared by [`search_key`] (Unicode lower case),
/// or — for a filter of ASCII digits only — whose number starts with it. Blanks around the
/// filter are ignored. The one definition of the filter: each backend's SQL and the in-memory
/// index translate [`name_key`](Self::name_key) and [`number_prefix`](Self::number_prefix),
/// and the equivalence tests use [`matches`](Self::matches) as the oracle.
///
/// [`search_key`]: crate::text::search_key
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingFilter {
    /// The filter as given, trimmed: the number prefix compares it as is.
    text: String,
    /// Its search key: what a name key must contain.
    key: String,
}

impl MeetingFilter {
    /// `None` for an absent or blank filter, which matches every meeting.
    pub fn parse(raw: Option<&str>) -> Option<Self> {
        let text = raw.map(str::trim).filter(|t| !t.is_empty())?;
        Some(Self {
            text: text.to_owned(),
            key: crate::text::search_key(text),
        })
    }

    /// What a meeting's name key (`search_key` of its name) must contain.
    pub fn name_key(&self) -> &str {
        &self.key
    }

    /// What a meeting's number may start with instead, if the filter is all digits.
    pub fn number_prefix(&self) -> Option<&str> {
        self.text
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then_some(self.text.as_str())
    }

    /// The numbers that start with [`number_prefix`](Self::number_prefix), as the range
    /// `from <= number < to` in byte order ("123" to "124"; after '9' comes ':'): how SQL
    /// finds them through an index on the number.
    pub fn number_range(&self) -> Option<(&str, String)> {
        let prefix = self.number_prefix()?;
        let mut to = prefix.to_owned();
        let last = to.pop().unwrap_or('0');
        to.push(char::from(last as u8 + 1));
        Some((prefix, to))
    }

    /// Whether a meeting named `name` with the number `number` is listed under this filter.
    pub fn matches(&self, name: &str, number: &MeetingNumber) -> bool {
        crate::text::search_key(name).contains(&self.key)
            || self
                .number_prefix()
                .is_some_and(|prefix| number.as_str().starts_with(prefix))
    }
}

/// A recurring series: its rule and the settings its occurrences start from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub id: SeriesId,
    pub company_id: CompanyId,
    pub meeting_number: MeetingNumber,
    pub room_id: Option<RoomId>,
    pub owner: UserRef,
    pub rule: RecurrenceRule,
    pub settings: MeetingSettings,
    pub invitees: Vec<UserRef>,
    pub join_code: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// How many times it was changed since it was created: an update names the revision it
    /// was made from, and the store refuses it (`StoreError::Conflict`) if another change came
    /// in between, so the caller merges again instead of overwriting (docs/consistency.md).
    pub revision: u64,
}

/// A persistent meeting room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub id: RoomId,
    pub company_id: CompanyId,
    pub name: String,
    pub meeting_number: MeetingNumber,
    pub password: Option<MeetingPassword>,
    pub owner: UserRef,
    pub creator: UserRef,
    pub created_at: Timestamp,
    /// How many times it was changed since it was created: an update names the revision it
    /// was made from, and the store refuses it (`StoreError::Conflict`) if another change came
    /// in between, so the caller merges again instead of overwriting (docs/consistency.md).
    pub revision: u64,
}

pub fn parse_room_name(raw: &str) -> Result<String, ValidationError> {
    parse_meeting_name(raw).map_err(|e| e.for_field(Field::MeetingRoomName))
}

impl Role {
    /// MeetingOperators and SystemAdmins manage every meeting and room of their company.
    pub fn manages_all_meetings(self) -> bool {
        matches!(self, Role::MeetingOperator | Role::SystemAdmin)
    }
}

/// Who may change or delete a scheduled meeting: its owner, or a MeetingOperator/SystemAdmin.
pub fn may_manage_meeting(owner: UserId, actor: UserId, role: Role) -> bool {
    role.manages_all_meetings() || owner == actor
}

/// Who may see a scheduled meeting: those who may manage it, and its invitees.
pub fn may_see_meeting(owner: UserId, invitees: &[UserRef], actor: UserId, role: Role) -> bool {
    may_manage_meeting(owner, actor, role) || invitees.iter().any(|i| i.id == actor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_meeting_filter_matches_folded_names_and_number_prefixes_of_digit_filters() {
        let number = MeetingNumber::parse("123456789").expect("valid");
        let filter = |raw: &str| MeetingFilter::parse(Some(raw)).expect("not blank");
        assert_eq!(MeetingFilter::parse(Some("  ")), None);
        assert_eq!(MeetingFilter::parse(None), None);
        assert!(filter(" ärger ").matches("ÄRGER im Büro", &number));
        assert!(filter("İ").matches("İstanbul", &number));
        assert!(
            !filter("istanbul").matches("İstanbul", &number),
            "İ folds to i̇"
        );
        assert!(filter("1234").matches("Weekly", &number));
        assert!(
            !filter("2345").matches("Weekly", &number),
            "a prefix, not a substring"
        );
        assert!(
            filter("2345").matches("Room 23456", &number),
            "digits in the name"
        );
        assert!(!filter("123 ").matches("Weekly", &MeetingNumber::parse("999999").expect("valid")));
        assert!(
            !filter("12a").matches("Weekly", &number),
            "only all-digit filters"
        );
        assert_eq!(filter(" 12 ").number_prefix(), Some("12"));
        assert_eq!(filter("x1").number_prefix(), None);
        assert_eq!(
            filter("129").number_range(),
            Some(("129", "12:".to_owned()))
        );
        assert!(
            "1299999" < "12:" && "1300000" > "12:",
            "the range holds exactly the prefix"
        );
        assert_eq!(filter("x1").number_range(), None);
    }

    #[test]
    fn descriptions_keep_lines_and_tabs_but_no_other_control_characters() {
        assert!(parse_meeting_description("Agenda:\r\n\t1. Budget").is_ok());
        for bad in ["x\u{0}y", "bell\u{7}", "esc\u{1b}[31m"] {
            let e = parse_meeting_description(bad).unwrap_err();
            assert_eq!(e.field, Field::MeetingDescription, "{bad:?}");
        }
        assert!(parse_meeting_description(&"x".repeat(2001)).is_err());
    }

    #[test]
    fn meeting_numbers() {
        assert!(MeetingNumber::parse("123456").is_ok());
        assert!(MeetingNumber::parse("123456789012").is_ok());
        for bad in ["12345", "1234567890123", "12a456", "", "-123456"] {
            assert!(MeetingNumber::parse(bad).is_err(), "{bad}");
        }
        for r in [0, 1, u64::MAX, 899_999_999, 900_000_000] {
            let n = MeetingNumber::from_random(r);
            assert_eq!(n.as_str().len(), 9);
            assert!(!n.as_str().starts_with('0'));
            assert!(MeetingNumber::parse(n.as_str()).is_ok());
        }
    }

    #[test]
    fn passwords_and_rates() {
        assert_eq!(MeetingPassword::parse_optional(None), Ok(None));
        assert_eq!(MeetingPassword::parse_optional(Some("")), Ok(None));
        assert!(
            MeetingPassword::parse_optional(Some("1234"))
                .unwrap()
                .is_some()
        );
        for bad in ["123", "abcd", "12 34", "12345678901234567"] {
            assert!(MeetingPassword::parse_optional(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(CallRate::parse("2048K").unwrap().to_string(), "2048K");
        assert!(CallRate::parse("2048").is_err());
        assert!(CallRate::parse("999K").is_err());
    }

    #[test]
    fn slots() {
        let now = Timestamp::from_millisecond(1_700_000_000_000).unwrap();
        let ms = now.as_millisecond();
        assert!(TimeSlot::parse(ms + 1000, ms + 2000, Some(now)).is_ok());
        let e = TimeSlot::parse(ms + 2000, ms + 1000, Some(now)).unwrap_err();
        assert_eq!(e.field, Field::ScheduleEndTime);
        let e = TimeSlot::parse(ms - 86_400_000, ms - 86_000_000, Some(now)).unwrap_err();
        assert_eq!(e.field, Field::ScheduleStartTime);
        // A past slot is fine when not being set (e.g. read back).
        assert!(TimeSlot::parse(ms - 86_400_000, ms - 86_000_000, None).is_ok());
        let e = TimeSlot::parse(ms, ms + 25 * 3_600_000, Some(now)).unwrap_err();
        assert_eq!(e.field, Field::ScheduleEndTime);
        assert!(TimeSlot::parse(-1, 5, None).is_err());
        assert!(TimeSlot::parse(ms, ms + 1000, Some(now)).is_ok());
    }

    fn occurrence(start_ms: i64) -> Schedule {
        let start = Timestamp::from_millisecond(start_ms).unwrap();
        let now = Timestamp::UNIX_EPOCH;
        Schedule {
            id: ScheduleId::new(now),
            company_id: CompanyId::new(now),
            kind: MeetingKind::Recurrence,
            series_id: None,
            original_start: Some(start),
            overridden: false,
            recurrence: None,
            meeting_number: MeetingNumber::from_random(0),
            room_id: None,
            owner: UserRef {
                id: UserId::new(now),
                username: "owner".to_owned(),
                real_name: String::new(),
            },
            slot: TimeSlot {
                start,
                end: start.checked_add(SignedDuration::from_hours(1)).unwrap(),
            },
            settings: MeetingSettings::defaults("Standup".to_owned()),
            invitees: Vec::new(),
            join_code: String::new(),
            created_at: now,
            updated_at: now,
            revision: 0,
        }
    }

    fn previous_of(stored: &[Schedule]) -> Vec<PreviousOccurrence> {
        stored.iter().map(PreviousOccurrence::from).collect()
    }

    #[test]
    fn occurrences_keep_their_identity_by_original_start() {
        const DAY: i64 = 86_400_000;
        let previous: Vec<Schedule> = (0..4).map(|k| occurrence(k * DAY)).collect();
        // The third was deleted; the second was moved on its own (its original start stays).
        let deleted = [Timestamp::from_millisecond(2 * DAY).unwrap()];
        let mut moved = previous.clone();
        moved[1].slot.start = Timestamp::from_millisecond(DAY + 3_600_000).unwrap();
        moved.remove(2);

        // The same rule: same ids, the deletion stays.
        let rebuilt: Vec<Schedule> = (0..4).map(|k| occurrence(k * DAY)).collect();
        let (kept, still) = carry_over_occurrences(rebuilt, &previous_of(&moved), &deleted);
        let ids: Vec<ScheduleId> = kept.iter().map(|o| o.id).collect();
        assert_eq!(ids, vec![moved[0].id, moved[1].id, moved[2].id]);
        assert_eq!(kept[1].slot.start.as_millisecond(), DAY, "back on the rule");
        assert_eq!(still, deleted);

        // Every other day, one more day: 0 and 2 (deleted) remain, 4 and 6 are new.
        let rebuilt: Vec<Schedule> = (0..4).map(|k| occurrence(2 * k * DAY)).collect();
        let fresh: Vec<ScheduleId> = rebuilt.iter().map(|o| o.id).collect();
        let (kept, still) = carry_over_occurrences(rebuilt, &previous_of(&moved), &deleted);
        let ids: Vec<ScheduleId> = kept.iter().map(|o| o.id).collect();
        assert_eq!(ids, vec![moved[0].id, fresh[2], fresh[3]]);
        assert_eq!(still, deleted);

        // Another time of day: nothing carries over, the deletion is forgotten.
        let rebuilt: Vec<Schedule> = (0..4).map(|k| occurrence(k * DAY + 60_000)).collect();
        let fresh: Vec<ScheduleId> = rebuilt.iter().map(|o| o.id).collect();
        let (kept, still) = carry_over_occurrences(rebuilt, &previous_of(&moved), &deleted);
        assert_eq!(kept.iter().map(|o| o.id).collect::<Vec<_>>(), fresh);
        assert!(still.is_empty());
    }

    #[test]
    fn permissions() {
        let t = Timestamp::UNIX_EPOCH;
        let (owner, other) = (UserId::new(t), UserId::new(t));
        let invitee = UserRef {
            id: other,
            username: "o".into(),
            real_name: String::new(),
        };
        assert!(may_manage_meeting(owner, owner, Role::Normal));
        assert!(!may_manage_meeting(owner, other, Role::Normal));
        assert!(may_manage_meeting(owner, other, Role::MeetingOperator));
        assert!(may_see_meeting(
            owner,
            std::slice::from_ref(&invitee),
            other,
            Role::Normal
        ));
        assert!(!may_see_meeting(owner, &[], other, Role::Normal));
    }
}

impl MeetingSettings {
    /// A new meeting's settings before the request's fields are applied.
    pub fn defaults(name: String) -> Self {
        Self {
            name,
            description: String::new(),
            password: None,
            call_rate: CallRate::DEFAULT,
            mute_upon_entry: false,
            guest_dial_in: true,
            watermark: false,
            watermark_type: WatermarkType::Single,
            time_to_join_minutes: 30,
            live: None,
        }
    }
}

/// What a create or update request says about a meeting's settings; `None` leaves a setting
/// as it is (update) or at its default (create).
#[derive(Debug, Clone, Default)]
pub struct SettingsChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    /// `Some(None)` removes the password.
    pub password: Option<Option<MeetingPassword>>,
    pub call_rate: Option<CallRate>,
    pub mute_upon_entry: Option<bool>,
    pub guest_dial_in: Option<bool>,
    pub watermark: Option<bool>,
    pub watermark_type: Option<WatermarkType>,
    pub time_to_join_minutes: Option<u32>,
    /// FRTC `generate_live_url`.
    pub generate_live_url: Option<bool>,
    pub live_passcode: Option<String>,
}

impl SettingsChanges {
    /// Applies the changes. `new_live` makes live settings when live streaming is switched on
    /// (it needs randomness, which the domain does not have).
    pub fn apply(
        &self,
        settings: &mut MeetingSettings,
        new_live: impl FnOnce(Option<&str>) -> LiveSettings,
    ) {
        if let Some(v) = &self.name {
            settings.name = v.clone();
        }
        if let Some(v) = &self.description {
            settings.description = v.clone();
        }
        if let Some(v) = &self.password {
            settings.password = v.clone();
        }
        if let Some(v) = self.call_rate {
            settings.call_rate = v;
        }
        if let Some(v) = self.mute_upon_entry {
            settings.mute_upon_entry = v;
        }
        if let Some(v) = self.guest_dial_in {
            settings.guest_dial_in = v;
        }
        if let Some(v) = self.watermark {
            settings.watermark = v;
        }
        if let Some(v) = self.watermark_type {
            settings.watermark_type = v;
        }
        if let Some(v) = self.time_to_join_minutes {
            settings.time_to_join_minutes = v;
        }
        match (self.generate_live_url, settings.live.as_mut()) {
            (Some(false), _) => settings.live = None,
            (Some(true), None) => settings.live = Some(new_live(self.live_passcode.as_deref())),
            (_, Some(live)) => {
                if let Some(p) = &self.live_passcode {
                    live.passcode = p.clone();
                }
            }
            (None, None) => {}
        }
    }
}

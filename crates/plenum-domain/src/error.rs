use std::fmt;

/// The input field a validation error is about, named as the domain names it. Dialects map
/// it to their own wire name when they render the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Username,
    RealName,
    Email,
    Department,
    Mobile,
    Role,
    Secret,
    Password,
    CompanyName,
    TimeZone,
    MaxUsers,
    PageNum,
    PageSize,
    Filter,
    UserId,
    CompanyId,
    MeetingType,
    MeetingName,
    MeetingDescription,
    MeetingNumber,
    MeetingPassword,
    CallRateType,
    ScheduleStartTime,
    ScheduleEndTime,
    InvitedUsers,
    MuteUponEntry,
    WatermarkType,
    TimeToJoin,
    MeetingRoomId,
    MeetingRoomName,
    LivePasscode,
    ReservationId,
    RecurrenceGid,
    RecurrenceType,
    RecurrenceInterval,
    RecurrenceStartTime,
    RecurrenceEndTime,
    RecurrenceStartDay,
    RecurrenceEndDay,
    DeviceType,
    MediaType,
    DisplayName,
    ClientId,
    Participants,
    LivePassword,
    RtmpUrl,
    EndTime,
    OverlayContent,
    OverlayPosition,
    Layout,
    MaxViews,
    Offset,
    KeyName,
    KeyKind,
    WebhookUrl,
    EventTypes,
    WebhookDescription,
    Since,
    Until,
    AuditAction,
    AuditActor,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Username => "username",
            Field::RealName => "real_name",
            Field::Email => "email",
            Field::Department => "department",
            Field::Mobile => "mobile",
            Field::Role => "role",
            Field::Secret => "secret",
            Field::Password => "password",
            Field::CompanyName => "name",
            Field::TimeZone => "time_zone",
            Field::MaxUsers => "max_users",
            Field::PageNum => "page_num",
            Field::PageSize => "page_size",
            Field::Filter => "filter",
            Field::UserId => "user_id",
            Field::CompanyId => "company_id",
            // The FRTC API's names for the fields of a recurring meeting (its mixed casing).
            Field::RecurrenceType => "recurrence_type",
            Field::RecurrenceInterval => "recurrenceInterval",
            Field::RecurrenceStartTime => "recurrenceStartTime",
            Field::RecurrenceEndTime => "recurrenceEndTime",
            Field::RecurrenceStartDay => "recurrenceStartDay",
            Field::RecurrenceEndDay => "recurrenceEndDay",
            Field::MeetingType => "meeting_type",
            Field::MeetingName => "meeting_name",
            Field::MeetingDescription => "meeting_description",
            Field::MeetingNumber => "meeting_number",
            Field::MeetingPassword => "meeting_password",
            Field::CallRateType => "call_rate_type",
            Field::ScheduleStartTime => "schedule_start_time",
            Field::ScheduleEndTime => "schedule_end_time",
            Field::InvitedUsers => "invited_users",
            Field::MuteUponEntry => "mute_upon_entry",
            Field::WatermarkType => "watermark_type",
            Field::TimeToJoin => "time_to_join",
            Field::MeetingRoomId => "meeting_room_id",
            Field::MeetingRoomName => "meetingroom_name",
            Field::LivePasscode => "live_passcode",
            Field::ReservationId => "reservation_id",
            Field::RecurrenceGid => "recurrence_gid",
            Field::DeviceType => "device_type",
            Field::MediaType => "media_type",
            Field::DisplayName => "display_name",
            Field::ClientId => "client_id",
            Field::Participants => "participants",
            Field::LivePassword => "live_password",
            Field::RtmpUrl => "rtmp_url",
            Field::EndTime => "end_time",
            Field::OverlayContent => "content",
            Field::OverlayPosition => "position",
            Field::Layout => "layout",
            Field::MaxViews => "max_views",
            Field::Offset => "offset",
            Field::KeyName => "name",
            Field::KeyKind => "kind",
            Field::WebhookUrl => "url",
            Field::EventTypes => "event_types",
            Field::WebhookDescription => "description",
            Field::Since => "since",
            Field::Until => "until",
            Field::AuditAction => "action",
            Field::AuditActor => "actor",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which of the domain's rules a value broke: what went wrong, for a program to branch on (the
/// dialects turn it into their codes). Each is set where its rule is checked; a value that
/// breaks no more specific rule is [`Rule::Invalid`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The value is not allowed, and no more specific rule says why.
    Invalid,
    /// A value that is required here was not given.
    Missing,
    /// A value that is empty (or shows nothing: only blanks or invisible characters) where
    /// one is required.
    Empty,
    /// A text with characters its field does not allow: control characters, bidirectional
    /// formatting characters.
    Characters,
    /// A value that is not one of the allowed choices (or not one allowed here).
    NotAChoice,
    /// A number outside its range.
    OutOfRange,
    /// A value that must be a whole number and is not one.
    NotANumber,
    /// A text that is not an e-mail address.
    EmailForm,
    /// A text that is not a phone number.
    MobileForm,
    /// A username of characters, or a form, that usernames do not have.
    UsernameForm,
    /// A time that is not an instant in milliseconds since the Unix epoch (years 1970 to
    /// 9999).
    TimeForm,
    /// An address that is not a URL of the allowed kind.
    UrlForm,
    /// An end set on a running meeting that is not in the future.
    EndInPast,
    /// A field that cannot be set or changed (here): it is fixed by what the thing is or
    /// where it is.
    Immutable,
    /// Two fields, or a field and the path, that contradict each other.
    Conflicting,
    /// An end (of a meeting, of a series' occurrence, of a series) before its start.
    EndBeforeStart,
    /// A meeting or series set to start in the past (beyond the grace period).
    StartInPast,
    /// A meeting or occurrence longer than the longest allowed.
    TooLongMeeting,
    /// A recurrence type that is not one of the allowed ones (or not allowed here).
    RecurrenceType,
    /// A recurrence interval outside its range.
    IntervalOutOfRange,
    /// A meeting password or live passcode that is not of the form 4 to 16 digits.
    PasswordForm,
    /// A meeting number that is not of the form 6 to 12 digits.
    MeetingNumberForm,
    /// A user's password shorter than the shortest allowed.
    PasswordTooShort,
    /// A text longer than its field allows, or a list with more items than it allows.
    TooLong,
    /// A time zone name that is not in the IANA database.
    TimeZone,
}

/// A value that does not satisfy the domain's rules. Carries the field, the rule it broke and
/// a sentence for a human; never the offending value itself, which may be a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    pub field: Field,
    pub rule: Rule,
    pub reason: String,
}

impl ValidationError {
    /// A value the field does not allow, by no more specific rule ([`Rule::Invalid`]). Where
    /// one of the [`Rule`]s says what is wrong, [`ValidationError::breaks`] names it.
    pub fn new(field: Field, reason: impl Into<String>) -> Self {
        Self::breaks(Rule::Invalid, field, reason)
    }

    /// A value of `field` that breaks `rule`.
    pub fn breaks(rule: Rule, field: Field, reason: impl Into<String>) -> Self {
        Self {
            field,
            rule,
            reason: reason.into(),
        }
    }

    /// The same error about another field (a value checked by another field's rules).
    pub fn for_field(self, field: Field) -> Self {
        Self { field, ..self }
    }
}

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plenum_domain::{Field, Rule, ValidationError};
use plenum_media::SignalError;
use plenum_service::{HistoryError, ServiceError, WebhookError};
use serde::Serialize;

/// The stable error codes of the FRTC dialect. Clients may branch on them; they never change
/// meaning. `docs/errors.md` lists them with their statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    MalformedJson,
    MalformedRequest,
    MissingField,
    InvalidFieldType,
    InvalidField,
    EndBeforeStart,
    StartInPast,
    MeetingTooLong,
    InvalidRecurrenceType,
    IntervalOutOfRange,
    InvalidPassword,
    InvalidMeetingNumber,
    PasswordTooShort,
    TooLong,
    InvalidTimeZone,
    EmptyValue,
    InvalidCharacters,
    InvalidChoice,
    OutOfRange,
    InvalidEmail,
    InvalidMobile,
    InvalidUsername,
    InvalidTime,
    InvalidUrl,
    EndInPast,
    ImmutableField,
    ConflictingFields,
    InvalidSdp,
    NothingToChange,
    PayloadTooLarge,
    UnsupportedMediaType,
    TokenMissing,
    TokenInvalid,
    TokenExpired,
    InvalidCredentials,
    WrongOldSecret,
    AccountLocked,
    PermissionDenied,
    UserNotFound,
    CompanyNotFound,
    NotFound,
    MethodNotAllowed,
    UsernameTaken,
    CompanyNameTaken,
    MaxUsersReached,
    LastSystemAdmin,
    ScheduleNotFound,
    RecurrenceNotFound,
    RoomNotFound,
    MeetingNumberTaken,
    RoomInUse,
    InstantMeetingImmutable,
    UnknownInvitee,
    TooManyOccurrences,
    MeetingNotRunning,
    MeetingUnreachable,
    ParticipantNotFound,
    NotSupported,
    ApiKeyNotFound,
    SessionNotFound,
    RecordingNotFound,
    AlreadyRecording,
    NotRecording,
    AlreadyLive,
    NotLive,
    UnmuteNotAllowed,
    NotMuted,
    MediaRefused,
    WebsocketRequired,
    EditConflict,
    MeetingRunning,
    TooManyAttempts,
    FfmpegUnavailable,
    MediaUnavailable,
    ImportRefused,
    LinkInvalid,
    LinkExpired,
    WebhookNotFound,
    WebhookExists,
    EventNotFound,
    InternalError,
}

impl ErrorCode {
    /// Every code, in the order they are declared (`docs/errors.md` is checked against it).
    pub const ALL: [ErrorCode; 81] = [
        ErrorCode::MalformedJson,
        ErrorCode::MalformedRequest,
        ErrorCode::MissingField,
        ErrorCode::InvalidFieldType,
        ErrorCode::InvalidField,
        ErrorCode::EndBeforeStart,
        ErrorCode::StartInPast,
        ErrorCode::MeetingTooLong,
        ErrorCode::InvalidRecurrenceType,
        ErrorCode::IntervalOutOfRange,
        ErrorCode::InvalidPassword,
        ErrorCode::InvalidMeetingNumber,
        ErrorCode::PasswordTooShort,
        ErrorCode::TooLong,
        ErrorCode::InvalidTimeZone,
        ErrorCode::EmptyValue,
        ErrorCode::InvalidCharacters,
        ErrorCode::InvalidChoice,
        ErrorCode::OutOfRange,
        ErrorCode::InvalidEmail,
        ErrorCode::InvalidMobile,
        ErrorCode::InvalidUsername,
        ErrorCode::InvalidTime,
        ErrorCode::InvalidUrl,
        ErrorCode::EndInPast,
        ErrorCode::ImmutableField,
        ErrorCode::ConflictingFields,
        ErrorCode::InvalidSdp,
        ErrorCode::NothingToChange,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::TokenMissing,
        ErrorCode::TokenInvalid,
        ErrorCode::TokenExpired,
        ErrorCode::InvalidCredentials,
        ErrorCode::WrongOldSecret,
        ErrorCode::AccountLocked,
        ErrorCode::PermissionDenied,
        ErrorCode::UserNotFound,
        ErrorCode::CompanyNotFound,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::UsernameTaken,
        ErrorCode::CompanyNameTaken,
        ErrorCode::MaxUsersReached,
        ErrorCode::LastSystemAdmin,
        ErrorCode::ScheduleNotFound,
        ErrorCode::RecurrenceNotFound,
        ErrorCode::RoomNotFound,
        ErrorCode::MeetingNumberTaken,
        ErrorCode::RoomInUse,
        ErrorCode::InstantMeetingImmutable,
        ErrorCode::UnknownInvitee,
        ErrorCode::TooManyOccurrences,
        ErrorCode::MeetingNotRunning,
        ErrorCode::MeetingUnreachable,
        ErrorCode::ParticipantNotFound,
        ErrorCode::NotSupported,
        ErrorCode::ApiKeyNotFound,
        ErrorCode::SessionNotFound,
        ErrorCode::RecordingNotFound,
        ErrorCode::AlreadyRecording,
        ErrorCode::NotRecording,
        ErrorCode::AlreadyLive,
        ErrorCode::NotLive,
        ErrorCode::UnmuteNotAllowed,
        ErrorCode::NotMuted,
        ErrorCode::MediaRefused,
        ErrorCode::WebsocketRequired,
        ErrorCode::EditConflict,
        ErrorCode::MeetingRunning,
        ErrorCode::TooManyAttempts,
        ErrorCode::FfmpegUnavailable,
        ErrorCode::MediaUnavailable,
        ErrorCode::ImportRefused,
        ErrorCode::LinkInvalid,
        ErrorCode::LinkExpired,
        ErrorCode::WebhookNotFound,
        ErrorCode::WebhookExists,
        ErrorCode::EventNotFound,
        ErrorCode::InternalError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::MalformedRequest => "malformed_request",
            ErrorCode::MissingField => "missing_field",
            ErrorCode::InvalidFieldType => "invalid_field_type",
            ErrorCode::InvalidField => "invalid_field",
            ErrorCode::EndBeforeStart => "end_before_start",
            ErrorCode::StartInPast => "start_in_past",
            ErrorCode::MeetingTooLong => "meeting_too_long",
            ErrorCode::InvalidRecurrenceType => "invalid_recurrence_type",
            ErrorCode::IntervalOutOfRange => "interval_out_of_range",
            ErrorCode::InvalidPassword => "invalid_password",
            ErrorCode::InvalidMeetingNumber => "invalid_meeting_number",
            ErrorCode::PasswordTooShort => "password_too_short",
            ErrorCode::TooLong => "too_long",
            ErrorCode::InvalidTimeZone => "invalid_time_zone",
            ErrorCode::EmptyValue => "empty_value",
            ErrorCode::InvalidCharacters => "invalid_characters",
            ErrorCode::InvalidChoice => "invalid_choice",
            ErrorCode::OutOfRange => "out_of_range",
            ErrorCode::InvalidEmail => "invalid_email",
            ErrorCode::InvalidMobile => "invalid_mobile",
            ErrorCode::InvalidUsername => "invalid_username",
            ErrorCode::InvalidTime => "invalid_time",
            ErrorCode::InvalidUrl => "invalid_url",
            ErrorCode::EndInPast => "end_in_past",
            ErrorCode::ImmutableField => "immutable_field",
            ErrorCode::ConflictingFields => "conflicting_fields",
            ErrorCode::InvalidSdp => "invalid_sdp",
            ErrorCode::NothingToChange => "nothing_to_change",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::TokenMissing => "token_missing",
            ErrorCode::TokenInvalid => "token_invalid",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::WrongOldSecret => "wrong_old_secret",
            ErrorCode::AccountLocked => "account_locked",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::UserNotFound => "user_not_found",
            ErrorCode::CompanyNotFound => "company_not_found",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::UsernameTaken => "username_taken",
            ErrorCode::CompanyNameTaken => "company_name_taken",
            ErrorCode::MaxUsersReached => "max_users_reached",
            ErrorCode::LastSystemAdmin => "last_system_admin",
            ErrorCode::ScheduleNotFound => "schedule_not_found",
            ErrorCode::RecurrenceNotFound => "recurrence_not_found",
            ErrorCode::RoomNotFound => "room_not_found",
            ErrorCode::MeetingNumberTaken => "meeting_number_taken",
            ErrorCode::RoomInUse => "room_in_use",
            ErrorCode::InstantMeetingImmutable => "instant_meeting_immutable",
            ErrorCode::UnknownInvitee => "unknown_invitee",
            ErrorCode::TooManyOccurrences => "too_many_occurrences",
            ErrorCode::MeetingNotRunning => "meeting_not_running",
            ErrorCode::MeetingUnreachable => "meeting_unreachable",
            ErrorCode::ParticipantNotFound => "participant_not_found",
            ErrorCode::NotSupported => "not_supported",
            ErrorCode::ApiKeyNotFound => "api_key_not_found",
            ErrorCode::SessionNotFound => "session_not_found",
            ErrorCode::RecordingNotFound => "recording_not_found",
            ErrorCode::AlreadyRecording => "already_recording",
            ErrorCode::NotRecording => "not_recording",
            ErrorCode::AlreadyLive => "already_live",
            ErrorCode::NotLive => "not_live",
            ErrorCode::UnmuteNotAllowed => "unmute_not_allowed",
            ErrorCode::NotMuted => "not_muted",
            ErrorCode::MediaRefused => "media_refused",
            ErrorCode::WebsocketRequired => "websocket_required",
            ErrorCode::EditConflict => "edit_conflict",
            ErrorCode::MeetingRunning => "meeting_running",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::FfmpegUnavailable => "ffmpeg_unavailable",
            ErrorCode::MediaUnavailable => "media_unavailable",
            ErrorCode::ImportRefused => "import_refused",
            ErrorCode::LinkInvalid => "link_invalid",
            ErrorCode::LinkExpired => "link_expired",
            ErrorCode::WebhookNotFound => "webhook_not_found",
            ErrorCode::WebhookExists => "webhook_exists",
            ErrorCode::EventNotFound => "event_not_found",
            ErrorCode::InternalError => "internal_error",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::MalformedJson
            | ErrorCode::MalformedRequest
            | ErrorCode::MissingField
            | ErrorCode::InvalidFieldType
            | ErrorCode::InvalidField
            | ErrorCode::EndBeforeStart
            | ErrorCode::StartInPast
            | ErrorCode::MeetingTooLong
            | ErrorCode::InvalidRecurrenceType
            | ErrorCode::IntervalOutOfRange
            | ErrorCode::InvalidPassword
            | ErrorCode::InvalidMeetingNumber
            | ErrorCode::PasswordTooShort
            | ErrorCode::TooLong
            | ErrorCode::InvalidTimeZone
            | ErrorCode::EmptyValue
            | ErrorCode::InvalidCharacters
            | ErrorCode::InvalidChoice
            | ErrorCode::OutOfRange
            | ErrorCode::InvalidEmail
            | ErrorCode::InvalidMobile
            | ErrorCode::InvalidUsername
            | ErrorCode::InvalidTime
            | ErrorCode::InvalidUrl
            | ErrorCode::EndInPast
            | ErrorCode::ImmutableField
            | ErrorCode::ConflictingFields
            | ErrorCode::InvalidSdp
            | ErrorCode::NothingToChange
            | ErrorCode::UnknownInvitee
            | ErrorCode::TooManyOccurrences
            | ErrorCode::ImportRefused => StatusCode::BAD_REQUEST,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::WebsocketRequired => StatusCode::UPGRADE_REQUIRED,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::TokenMissing
            | ErrorCode::TokenInvalid
            | ErrorCode::TokenExpired
            | ErrorCode::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ErrorCode::WrongOldSecret
            | ErrorCode::PermissionDenied
            | ErrorCode::LinkInvalid
            | ErrorCode::LinkExpired => StatusCode::FORBIDDEN,
            ErrorCode::AccountLocked | ErrorCode::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::FfmpegUnavailable
            | ErrorCode::MediaUnavailable
            | ErrorCode::MeetingUnreachable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::UserNotFound
            | ErrorCode::CompanyNotFound
            | ErrorCode::NotFound
            | ErrorCode::ScheduleNotFound
            | ErrorCode::RecurrenceNotFound
            | ErrorCode::RoomNotFound
            | ErrorCode::MeetingNotRunning
            | ErrorCode::ParticipantNotFound
            | ErrorCode::ApiKeyNotFound
            | ErrorCode::SessionNotFound
            | ErrorCode::RecordingNotFound
            | ErrorCode::WebhookNotFound
            | ErrorCode::EventNotFound => StatusCode::NOT_FOUND,
            ErrorCode::NotSupported => StatusCode::NOT_IMPLEMENTED,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::UsernameTaken
            | ErrorCode::CompanyNameTaken
            | ErrorCode::MaxUsersReached
            | ErrorCode::LastSystemAdmin
            | ErrorCode::AlreadyRecording
            | ErrorCode::NotRecording
            | ErrorCode::AlreadyLive
            | ErrorCode::NotLive
            | ErrorCode::UnmuteNotAllowed
            | ErrorCode::NotMuted
            | ErrorCode::MediaRefused
            | ErrorCode::EditConflict
            | ErrorCode::MeetingRunning
            | ErrorCode::MeetingNumberTaken
            | ErrorCode::RoomInUse
            | ErrorCode::WebhookExists
            | ErrorCode::InstantMeetingImmutable => StatusCode::CONFLICT,
            ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

// `ALL` lists every code at the index of its discriminant, that is in declaration order: a
// code declared between two others does not compile until `ALL` lists it in its place (one
// declared last is caught by the test `all_lists_every_code`).
const _: () = {
    let mut i = 0;
    while i < ErrorCode::ALL.len() {
        assert!(
            ErrorCode::ALL[i] as usize == i,
            "ErrorCode::ALL must list every code, in declaration order"
        );
        i += 1;
    }
};

/// An FRTC error response: `{"error": "...", "errorCode": "..."}`.
#[derive(Debug)]
pub struct FrtcError {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds after which a locked account may try again.
    retry_after: Option<u64>,
    /// The node that runs the meeting, when another one does: the call is relayed to it
    /// (`crate::nodes`), and this error stands only if that node does not answer.
    holder: Option<String>,
}

/// The documented body of every FRTC error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A sentence for a human.
    pub error: String,
    /// A stable code for a program (see `docs/errors.md`).
    #[serde(rename = "errorCode")]
    pub error_code: String,
}

impl FrtcError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
            holder: None,
        }
    }
}

impl FrtcError {
    /// The same error with another sentence.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
}

impl From<Rule> for ErrorCode {
    /// The code of a broken rule; `invalid_field` for a value no more specific rule refuses.
    fn from(rule: Rule) -> Self {
        match rule {
            Rule::Invalid => ErrorCode::InvalidField,
            Rule::Missing => ErrorCode::MissingField,
            Rule::Empty => ErrorCode::EmptyValue,
            Rule::Characters => ErrorCode::InvalidCharacters,
            Rule::NotAChoice => ErrorCode::InvalidChoice,
            Rule::OutOfRange => ErrorCode::OutOfRange,
            // A query parameter that is not a number has the wrong type, as a body's field
            // of the wrong JSON type has.
            Rule::NotANumber => ErrorCode::InvalidFieldType,
            Rule::EmailForm => ErrorCode::InvalidEmail,
            Rule::MobileForm => ErrorCode::InvalidMobile,
            Rule::UsernameForm => ErrorCode::InvalidUsername,
            Rule::TimeForm => ErrorCode::InvalidTime,
            Rule::UrlForm => ErrorCode::InvalidUrl,
            Rule::EndInPast => ErrorCode::EndInPast,
            Rule::Immutable => ErrorCode::ImmutableField,
            Rule::Conflicting => ErrorCode::ConflictingFields,
            Rule::EndBeforeStart => ErrorCode::EndBeforeStart,
            Rule::StartInPast => ErrorCode::StartInPast,
            Rule::TooLongMeeting => ErrorCode::MeetingTooLong,
            Rule::RecurrenceType => ErrorCode::InvalidRecurrenceType,
            Rule::IntervalOutOfRange => ErrorCode::IntervalOutOfRange,
            Rule::PasswordForm => ErrorCode::InvalidPassword,
            Rule::MeetingNumberForm => ErrorCode::InvalidMeetingNumber,
            Rule::PasswordTooShort => ErrorCode::PasswordTooShort,
            Rule::TooLong => ErrorCode::TooLong,
            Rule::TimeZone => ErrorCode::InvalidTimeZone,
        }
    }
}

impl From<ValidationError> for FrtcError {
    fn from(e: ValidationError) -> Self {
        Self::new(e.rule.into(), e.to_string())
    }
}

impl From<ServiceError> for FrtcError {
    fn from(e: ServiceError) -> Self {
        use ErrorCode as C;
        let code = match &e {
            ServiceError::Invalid(v) => return v.clone().into(),
            ServiceError::AccountLocked { retry_after_secs } => {
                return Self {
                    code: C::AccountLocked,
                    message: e.to_string(),
                    retry_after: Some(*retry_after_secs),
                    holder: None,
                };
            }
            ServiceError::TooManyAttempts { retry_after_secs } => {
                return Self {
                    code: C::TooManyAttempts,
                    message: e.to_string(),
                    retry_after: Some(*retry_after_secs),
                    holder: None,
                };
            }
            ServiceError::InvalidCredentials => C::InvalidCredentials,
            ServiceError::WrongOldCredential => C::WrongOldSecret,
            ServiceError::TokenMissing => C::TokenMissing,
            ServiceError::TokenInvalid => C::TokenInvalid,
            ServiceError::TokenExpired => C::TokenExpired,
            ServiceError::PermissionDenied(_) => C::PermissionDenied,
            ServiceError::UserNotFound => C::UserNotFound,
            ServiceError::CompanyNotFound => C::CompanyNotFound,
            ServiceError::UsernameTaken => C::UsernameTaken,
            ServiceError::CompanyNameTaken => C::CompanyNameTaken,
            ServiceError::UserLimitReached { .. } => C::MaxUsersReached,
            ServiceError::LastSystemAdmin => C::LastSystemAdmin,
            ServiceError::NothingToChange => C::NothingToChange,
            ServiceError::ScheduleNotFound => C::ScheduleNotFound,
            ServiceError::SeriesNotFound => C::RecurrenceNotFound,
            ServiceError::RoomNotFound => C::RoomNotFound,
            ServiceError::MeetingNumberTaken => C::MeetingNumberTaken,
            ServiceError::RoomInUse => C::RoomInUse,
            ServiceError::InstantMeetingImmutable => C::InstantMeetingImmutable,
            ServiceError::UnknownInvitee(_) => C::UnknownInvitee,
            ServiceError::TooManyOccurrences { .. } => C::TooManyOccurrences,
            ServiceError::UnmuteNotAllowed => C::UnmuteNotAllowed,
            ServiceError::NotMuted => C::NotMuted,
            // An offer the SFU cannot use (a WHEP viewer's, say); the rest is about the state
            // of a participant's media session.
            ServiceError::Media(SignalError::InvalidSdp(_) | SignalError::TooManyTracks) => {
                C::InvalidSdp
            }
            ServiceError::Media(
                SignalError::RoomFull
                | SignalError::UnknownParticipant
                | SignalError::StaleAnswer
                | SignalError::NoOfferPending,
            ) => C::MediaRefused,
            ServiceError::MediaUnavailable => C::MediaUnavailable,
            ServiceError::MeetingNotRunning => C::MeetingNotRunning,
            ServiceError::HeldElsewhere(node) => {
                return Self {
                    code: C::MeetingUnreachable,
                    message: "the meeting runs on another node of this installation, which did \
                        not answer"
                        .to_owned(),
                    retry_after: None,
                    holder: Some(node.address.clone()),
                };
            }
            ServiceError::AlreadyRecording => C::AlreadyRecording,
            ServiceError::NotRecording => C::NotRecording,
            ServiceError::AlreadyLive => C::AlreadyLive,
            ServiceError::NotLive => C::NotLive,
            ServiceError::EditConflict => C::EditConflict,
            ServiceError::MeetingRunning => C::MeetingRunning,
            ServiceError::NotFound => C::NotFound,
            ServiceError::WrongLivePasscode => C::InvalidCredentials,
            ServiceError::FfmpegMissing => C::FfmpegUnavailable,
            ServiceError::ParticipantNotFound(_) => C::ParticipantNotFound,
            ServiceError::Webhook(w) => match w {
                WebhookError::NotFound => C::WebhookNotFound,
                WebhookError::UrlTaken { .. } => C::WebhookExists,
                WebhookError::EventNotFound => C::EventNotFound,
            },
            ServiceError::History(h) => match h {
                HistoryError::SessionNotFound => C::SessionNotFound,
                HistoryError::RecordingNotFound => C::RecordingNotFound,
                HistoryError::ApiKeyNotFound => C::ApiKeyNotFound,
                HistoryError::ImportRefused(_) => C::ImportRefused,
                HistoryError::AppAuthFailed(_) => C::InvalidCredentials,
            },
            ServiceError::Internal(source) => {
                // Logged inside the request's span, so the log line carries its request id;
                // the client learns only that it was our fault.
                tracing::error!(error = %source, "internal error");
                return Self::new(
                    C::InternalError,
                    "internal error; the server log has the details under this request's x-request-id",
                );
            }
        };
        let message = match &e {
            ServiceError::TokenMissing => {
                "sign in first: pass the token as `Authorization: Bearer <token>` or `?token=`"
                    .to_owned()
            }
            other => other.to_string(),
        };
        Self::new(code, message)
    }
}

impl IntoResponse for FrtcError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.message,
            error_code: self.code.as_str().to_owned(),
        };
        let mut response = (self.code.status(), axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if let Some(holder) = self.holder {
            response
                .extensions_mut()
                .insert(crate::nodes::HeldBy::Node(holder));
        }
        response
    }
}

/// A required field that was absent.
pub fn missing(field: Field) -> FrtcError {
    FrtcError::new(ErrorCode::MissingField, format!("missing field `{field}`"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const ERRORS_MD: &str = include_str!("../../../../docs/errors.md");

    /// The rows of the table in docs/errors.md: the codes of the first cell, the status.
    fn documented() -> Vec<(Vec<&'static str>, &'static str)> {
        ERRORS_MD
            .lines()
            .filter(|line| line.starts_with("| `"))
            .map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let codes = cells[1].split('`').skip(1).step_by(2).collect();
                (codes, cells[2])
            })
            .collect()
    }

    #[test]
    fn all_lists_every_code() {
        // `as_str` is an exhaustive match: every code has an arm there, and so its string
        // here. Any of them missing from `ALL` is a code the tests below would not check.
        let source = include_str!("error.rs");
        let as_str = source
            .split("pub fn as_str(self)")
            .nth(1)
            .and_then(|rest| rest.split("pub fn status(self)").next())
            .unwrap_or_default();
        let declared: BTreeSet<&str> = as_str
            .lines()
            .filter_map(|line| line.split("=> \"").nth(1))
            .filter_map(|rest| rest.split('"').next())
            .collect();
        let listed: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert!(!declared.is_empty());
        let unlisted: Vec<_> = declared.difference(&listed).collect();
        assert!(unlisted.is_empty(), "ErrorCode::ALL lacks {unlisted:?}");
        assert_eq!(declared, listed);
        assert_eq!(listed.len(), ErrorCode::ALL.len(), "a code's string twice");
    }

    #[test]
    fn docs_list_every_code_with_its_status() {
        let rows = documented();
        for code in ErrorCode::ALL {
            let status = code.status().as_u16().to_string();
            let row = rows
                .iter()
                .find(|(codes, _)| codes.contains(&code.as_str()));
            match row {
                Some((_, documented)) => assert_eq!(
                    *documented,
                    status,
                    "docs/errors.md gives `{}` another status",
                    code.as_str()
                ),
                None => panic!(
                    "docs/errors.md has no row for `{}` ({status})",
                    code.as_str()
                ),
            }
        }
    }

    #[test]
    fn docs_list_no_code_that_is_not_one() {
        let codes: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        for (documented, _) in documented() {
            for code in documented {
                assert!(
                    codes.contains(code),
                    "docs/errors.md lists `{code}`, not a code"
                );
            }
        }
    }

    #[test]
    fn participant_and_media_refusals_have_their_own_codes() {
        // Not reachable by an FRTC call today (a participant's own mute and signalling go
        // over the client protocol, which has its own codes), but mapped all the same.
        for (error, code) in [
            (ServiceError::UnmuteNotAllowed, "unmute_not_allowed"),
            (ServiceError::NotMuted, "not_muted"),
            (
                ServiceError::Media(SignalError::InvalidSdp("x".to_owned())),
                "invalid_sdp",
            ),
            (
                ServiceError::Media(SignalError::TooManyTracks),
                "invalid_sdp",
            ),
            (ServiceError::Media(SignalError::RoomFull), "media_refused"),
            (
                ServiceError::Media(SignalError::StaleAnswer),
                "media_refused",
            ),
            (
                ServiceError::Media(SignalError::NoOfferPending),
                "media_refused",
            ),
            (
                ServiceError::Media(SignalError::UnknownParticipant),
                "media_refused",
            ),
        ] {
            assert_eq!(FrtcError::from(error).code.as_str(), code);
        }
    }

    #[test]
    fn only_the_rule_of_no_more_specific_kind_is_invalid_field() {
        let rules = [
            Rule::Invalid,
            Rule::Missing,
            Rule::Empty,
            Rule::Characters,
            Rule::NotAChoice,
            Rule::OutOfRange,
            Rule::NotANumber,
            Rule::EmailForm,
            Rule::MobileForm,
            Rule::UsernameForm,
            Rule::TimeForm,
            Rule::UrlForm,
            Rule::EndInPast,
            Rule::Immutable,
            Rule::Conflicting,
            Rule::EndBeforeStart,
            Rule::StartInPast,
            Rule::TooLongMeeting,
            Rule::RecurrenceType,
            Rule::IntervalOutOfRange,
            Rule::PasswordForm,
            Rule::MeetingNumberForm,
            Rule::PasswordTooShort,
            Rule::TooLong,
            Rule::TimeZone,
        ];
        for rule in rules {
            let code = ErrorCode::from(rule);
            assert_eq!(
                code == ErrorCode::InvalidField,
                rule == Rule::Invalid,
                "{rule:?}"
            );
            assert_eq!(code.status(), StatusCode::BAD_REQUEST, "{rule:?}");
        }
        let codes: BTreeSet<&str> = rules.iter().map(|r| ErrorCode::from(*r).as_str()).collect();
        assert_eq!(codes.len(), rules.len(), "two rules share a code");
    }
}

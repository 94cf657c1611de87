use plenum_domain::ValidationError;
use plenum_store::StoreError;

/// Everything a use case can answer besides success. Each variant is a distinct thing the
/// client did or hit; dialects map each to their own error shape and status.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("wrong username or credential")]
    InvalidCredentials,
    #[error("the current credential given does not match")]
    WrongOldCredential,
    #[error("too many failed sign-ins; try again in {retry_after_secs} s")]
    AccountLocked { retry_after_secs: u64 },
    #[error("no access token was given")]
    TokenMissing,
    #[error("the access token is not valid")]
    TokenInvalid,
    #[error("the access token has expired")]
    TokenExpired,
    #[error("{0}")]
    PermissionDenied(&'static str),
    #[error("no such user")]
    UserNotFound,
    #[error("no such company")]
    CompanyNotFound,
    #[error("username already taken")]
    UsernameTaken,
    #[error("company name already taken")]
    CompanyNameTaken,
    #[error("the company has reached its max_users limit of {limit}")]
    UserLimitReached { limit: u32 },
    #[error("the company's last SystemAdmin cannot lose the role")]
    LastSystemAdmin,
    #[error("nothing to change")]
    NothingToChange,
    #[error("no such scheduled meeting")]
    ScheduleNotFound,
    #[error("no such recurring meeting")]
    SeriesNotFound,
    #[error("no such meeting room")]
    RoomNotFound,
    #[error("the meeting number is already in use")]
    MeetingNumberTaken,
    #[error("the room still has scheduled meetings; delete or move them first")]
    RoomInUse,
    /// A meeting runs in the room (under its number): stop it first.
    #[error("a meeting is running in this room; stop it first")]
    MeetingRunning,
    #[error("an instant meeting cannot be updated")]
    InstantMeetingImmutable,
    #[error("invited user {0} is not a user of this company")]
    UnknownInvitee(String),
    #[error("the series would have more than {max} occurrences; shorten it or raise the interval")]
    TooManyOccurrences { max: usize },
    /// A participant tried to unmute themselves while the hosts keep them muted.
    #[error("the hosts keep this participant muted; request unmute first")]
    UnmuteNotAllowed,
    /// An unmute was requested for a participant who is not muted.
    #[error("the participant is not muted")]
    NotMuted,
    #[error("the meeting is already being recorded")]
    AlreadyRecording,
    #[error("the meeting is not being recorded")]
    NotRecording,
    #[error("the meeting is already streamed live with this passcode")]
    AlreadyLive,
    #[error("the meeting is not streamed live")]
    NotLive,
    #[error("the meeting is not running")]
    MeetingNotRunning,
    /// The meeting runs on another node of the installation (its lease holder): the call
    /// is for that node (docs/scaling.md).
    #[error("the meeting runs on another node of this installation ({})", .0.address)]
    HeldElsewhere(plenum_domain::nodes::NodeRef),
    /// Other writers kept changing the same reservation, series or room while this change
    /// was merged into it (docs/consistency.md).
    #[error("others kept changing the same thing at the same time; try again")]
    EditConflict,
    /// A live stream (or another public page's object) that is not there.
    #[error("not found")]
    NotFound,
    #[error("wrong live passcode")]
    WrongLivePasscode,
    /// Too many wrong guesses or new viewers from one address.
    #[error("too many attempts; try again in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    /// The RTMP push needs `ffmpeg`, which this server cannot run.
    #[error("ffmpeg is not installed on the server; the RTMP push needs it")]
    FfmpegMissing,
    #[error("no participant {0} is in the meeting")]
    ParticipantNotFound(String),
    /// This server carries no audio or video (`media.enabled = false`).
    #[error("this server does not carry audio or video")]
    MediaUnavailable,
    /// Signalling the SFU refused.
    #[error(transparent)]
    Media(#[from] plenum_media::SignalError),
    /// The record of meetings, imports and integration keys (see `history.rs`).
    #[error(transparent)]
    History(#[from] crate::HistoryError),
    /// Webhooks and their events (see `webhooks/`).
    #[error(transparent)]
    Webhook(#[from] crate::WebhookError),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ServiceError {
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(e))
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            // NotFound from the store is about the thing the call was about; callers that
            // mean something else map it themselves before it gets here.
            StoreError::NotFound => ServiceError::UserNotFound,
            StoreError::UsernameTaken => ServiceError::UsernameTaken,
            StoreError::CompanyNameTaken => ServiceError::CompanyNameTaken,
            StoreError::UserLimitReached { limit } => ServiceError::UserLimitReached { limit },
            StoreError::LastSystemAdmin => ServiceError::LastSystemAdmin,
            StoreError::MeetingNumberTaken => ServiceError::MeetingNumberTaken,
            StoreError::RoomInUse => ServiceError::RoomInUse,
            StoreError::RoomNotFound => ServiceError::RoomNotFound,
            // Callers that merge an update retry on it (`meetings::merged`); the client hears
            // it only when every attempt lost to another writer.
            StoreError::Conflict => ServiceError::EditConflict,
            StoreError::Internal(e) => ServiceError::Internal(e),
        }
    }
}

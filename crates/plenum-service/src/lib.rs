//! Plenum's use cases over any [`Store`](plenum_store::Store).
//!
//! Dialect modules parse their wire format into the calls of [`Plenum`] and render what comes
//! back; the CLI calls the same methods. Business rules that need I/O (hashing with fresh
//! randomness, the clock, the store) are composed here from the pure rules of the domain.

mod clock;
mod error;
mod failures;
mod history;
mod import;
mod live;
mod meetings;
mod metrics;
mod passwords;
pub mod recording_files;
mod recordings;
mod service;
mod tokens;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::ServiceError;
pub use history::{
    APP_TOKEN_LIFETIME, AppAuthRequest, CompanyScope, CreatedKey, HistoryError, IssuedToken,
    require_record_reader,
};
pub use live::{
    Delivery, IceServer, JoinError, Joined, LiveJoin, LivePolicy, MediaOffer, MediaPush,
    MediaService, MediaSettings, MeetingSnapshot, MeetingSummary, Outbox, ParticipantLink, Pushed,
    VIEWERS_PER_ADDRESS, WatchStatus, Watching,
};
pub use meetings::{RoomRequest, ScheduleRequest, SeriesRequest};
pub use passwords::PasswordHasher;
pub use recordings::{RecordingSettings, RecoveredRecordings};
pub use service::{
    BOOTSTRAP_ADMIN, BootstrapOutcome, Capacity, Credential, NewCompanyRequest, NewUserRequest,
    Plenum, Policy, Principal, SignedIn, generate_password,
};

//! Plenum's use cases over any [`Store`](plenum_store::Store).
//!
//! Dialect modules parse their wire format into the calls of [`Plenum`]'s use-case groups
//! (`accounts()`, `scheduling()`, `history()`, `live()`, see `context.rs`) and render what
//! comes back; the CLI calls the same methods as the local operator ([`Actor::Operator`]).
//! Business rules that need I/O (hashing with fresh randomness, the clock, the store) are
//! composed here from the pure rules of the domain.

mod accounts;
mod actor;
mod clock;
mod context;
mod error;
mod history;
mod import;
mod limits;
mod live;
mod metrics;
mod nodes;
mod notices;
mod passwords;
mod policy;
pub mod recording_files;
mod recordings;
mod scheduling;
mod tokens;
mod webhooks;

pub use accounts::{
    APP_TOKEN_LIFETIME, AppAuthRequest, BOOTSTRAP_ADMIN, BootstrapOutcome, Capacity, CompanyScope,
    CreatedKey, Credential, Initialised, IssuedToken, NewCompanyRequest, NewUserRequest, SignedIn,
    generate_password,
};
pub use actor::{Actor, Principal};
pub use clock::{Clock, ManualClock, SystemClock};
pub use context::{Accounts, History, Integrations, Live, NodeState, Plenum, Ready, Scheduling};
pub use error::ServiceError;
pub use history::{HistoryError, require_record_reader};
pub use live::{
    Delivery, IceServer, JoinError, Joined, LiveJoin, LivePolicy, MediaOffer, MediaPush,
    MediaService, MediaSettings, MeetingSnapshot, MeetingSummary, Outbox, ParticipantLink, Pushed,
    VIEWERS_PER_ADDRESS, WatchStatus, Watching,
};
pub use passwords::PasswordHasher;
pub use plenum_store::Attempt as WebhookAttempt;
pub use policy::Policy;
pub use recordings::{RecordingSettings, RecoveredRecordings};
pub use scheduling::{RoomRequest, ScheduleRequest, SeriesRequest};
pub use webhooks::{
    DeliveryThread, MAX_DELIVERIES_LISTED, WebhookCounts, WebhookError, WebhookPolicy,
    WebhookRequest, WebhookStats, WebhookWithSecret,
};

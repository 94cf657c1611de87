//! The `Store` trait: every question Plenum asks of its database, in domain terms.
//!
//! It is not a generic repository. Each method is one domain operation that a backend answers
//! with indexed queries inside one transaction, so callers never see a half-written change.
//! SQLite (`plenum-store-sqlite`) is the embedded default; a PostgreSQL backend implements the
//! same trait and passes the same [`contract`] suite without any caller changing.
//! All instants are stored as integer UTC milliseconds.

use async_trait::async_trait;

use plenum_domain::Timestamp;
use plenum_domain::company::{Company, NewCompany};
use plenum_domain::credentials::{SecurityLevel, TokenHash};
use plenum_domain::ids::{CompanyId, RoomId, ScheduleId, SeriesId, UserId};
use plenum_domain::paging::{Page, PageRequest};
use plenum_domain::schedule::{MeetingNumber, Room, Schedule, ScheduleSummary, Series, UserRef};
use plenum_domain::sign_in::{AccessTokenRecord, LockoutPolicy, SignInThrottle};
use plenum_domain::user::{NewUser, User, UserChanges, Username};

#[cfg(feature = "contract-tests")]
pub mod contract;
mod live;
pub mod rows;

pub use live::{
    Abandon, Abandoned, AbandonedSession, AbandonedStay, DeletedRecordings, JoinTarget, LiveRecord,
    LiveWrite, RecordingEnd, abandoned_trail,
};
#[cfg(feature = "contract-tests")]
pub mod contract_history;
mod history;

pub use history::{AppToken, History, HuaweiApp, ImportError};
#[cfg(feature = "contract-tests")]
pub mod contract_webhooks;
mod webhooks;

mod notices;
pub use notices::{Notice, Notices};

#[cfg(feature = "contract-tests")]
pub mod contract_leases;
mod leases;
pub use leases::Leases;

#[cfg(feature = "contract-tests")]
pub mod contract_limits;
mod limits;
pub use limits::{Limits, MemoryLimits};

pub use webhooks::{
    Attempt, AttemptResult, AuditLog, ClaimsInMemory, DELIVERY_CLAIM, DueDelivery, Registration,
    Trail, Webhooks,
};

/// Why a store operation did not happen. Every variant but `Internal` is a domain answer the
/// caller turns into a precise error for the client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("username already taken")]
    UsernameTaken,
    #[error("company name already taken")]
    CompanyNameTaken,
    #[error("the company has reached its max_users limit of {limit}")]
    UserLimitReached { limit: u32 },
    #[error("the company's last SystemAdmin cannot lose the role")]
    LastSystemAdmin,
    #[error("the meeting number is already in use")]
    MeetingNumberTaken,
    #[error("the room still has scheduled meetings")]
    RoomInUse,
    /// A meeting was to be held in a room the company no longer has (deleted meanwhile).
    #[error("no such meeting room")]
    RoomNotFound,
    /// An update was merged from a revision that is no longer the stored one: another change
    /// was committed since the caller read. Nothing was written; read, merge and try again.
    #[error("changed meanwhile by another writer")]
    Conflict,
    #[error("storage failure: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Whether the database can serve this binary (`/readyz`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Reachable, with every migration this binary knows applied.
    Ready,
    /// Reachable, but these migrations of this binary are not applied (or were applied
    /// with other contents): run `plenum migrate`, or start a node of this version.
    MigrationsPending { versions: Vec<i64> },
}

impl Readiness {
    /// Compares the migrations a binary knows (`version`, `checksum`) with those a database
    /// records as applied: every known one must be there with the same checksum.
    pub fn of<'a>(
        known: impl IntoIterator<Item = (i64, &'a [u8])>,
        applied: &[(i64, Vec<u8>)],
    ) -> Self {
        let versions: Vec<i64> = known
            .into_iter()
            .filter(|(version, checksum)| {
                !applied
                    .iter()
                    .any(|(v, sum)| v == version && sum[..] == checksum[..])
            })
            .map(|(version, _)| version)
            .collect();
        if versions.is_empty() {
            Readiness::Ready
        } else {
            Readiness::MigrationsPending { versions }
        }
    }
}

/// A schema migration, as `plenum migrate` reports the ones it applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub version: i64,
    pub description: String,
}

impl Migration {
    /// The migrations a binary knows (`version`, `description`, in order) that were not
    /// among those applied before (`applied_before`): what a migration run applied.
    pub fn applied_now<'a>(
        known: impl IntoIterator<Item = (i64, &'a str)>,
        applied_before: &[i64],
    ) -> Vec<Self> {
        known
            .into_iter()
            .filter(|(version, _)| !applied_before.contains(version))
            .map(|(version, description)| Self {
                version,
                description: description.to_owned(),
            })
            .collect()
    }
}

/// What sign-in needs to know about an account: the user, the hash to verify, the throttle.
#[derive(Debug, Clone)]
pub struct SignInRecord {
    pub user: User,
    pub secret_hash: String,
    pub throttle: SignInThrottle,
}

/// A token together with the user it belongs to: what authenticating a request needs.
#[derive(Debug, Clone)]
pub struct AuthenticatedToken {
    pub token: AccessTokenRecord,
    pub user: User,
}

#[async_trait]
pub trait Store:
    LiveRecord
    + History
    + Webhooks
    + AuditLog
    + Notices
    + Leases
    + Limits
    + Send
    + Sync
    + std::fmt::Debug
    + 'static
{
    /// Whether the database answers and has this binary's migrations. An error: it does not
    /// answer.
    async fn readiness(&self) -> StoreResult<Readiness>;

    // --- companies -------------------------------------------------------------------------

    /// Creates a company and its first SystemAdmin together: a company never exists without
    /// someone who can administer it.
    async fn create_company(
        &self,
        company: &NewCompany,
        first_admin: &NewUser,
    ) -> StoreResult<Company> {
        self.create_company_with_trail(company, first_admin, &Trail::default())
            .await
    }

    /// [`Store::create_company`], with what it leaves in the outbox and the audit log written
    /// in its transaction (as every `…_with_trail` method: the trail is written if and only
    /// if the change is).
    async fn create_company_with_trail(
        &self,
        company: &NewCompany,
        first_admin: &NewUser,
        trail: &Trail,
    ) -> StoreResult<Company>;

    /// Changes what `changes` holds of a company's settings, with its trail; the company as
    /// it is now. `NotFound`, or `CompanyNameTaken` (names are unique case-insensitively).
    async fn update_company_with_trail(
        &self,
        id: CompanyId,
        changes: &plenum_domain::company::CompanyChanges,
        trail: &Trail,
    ) -> StoreResult<Company>;

    async fn default_company(&self) -> StoreResult<Option<Company>>;

    async fn company(&self, id: CompanyId) -> StoreResult<Option<Company>>;

    /// All companies, oldest first.
    async fn companies(&self) -> StoreResult<Vec<Company>>;

    // --- users ----------------------------------------------------------------------------

    /// Creates a user, refusing with `UserLimitReached` when the company is full and
    /// `UsernameTaken` when the name (case-insensitively) exists anywhere.
    async fn create_user(&self, user: &NewUser) -> StoreResult<User> {
        self.create_user_with_trail(user, &Trail::default()).await
    }

    async fn create_user_with_trail(&self, user: &NewUser, trail: &Trail) -> StoreResult<User>;

    /// A user of the given company; users of other companies are `None`.
    async fn user(&self, company: CompanyId, id: UserId) -> StoreResult<Option<User>>;

    /// The account behind a username, across all companies (usernames are global).
    async fn sign_in_record(&self, username: &Username) -> StoreResult<Option<SignInRecord>>;

    /// The usernames of the users whose e-mail address is `email` (compared without regard to
    /// ASCII case), across companies, at most `limit` of them. Addresses are not unique: two
    /// companies do not see each other's users, and may both have an account for one person.
    async fn usernames_by_email(&self, email: &str, limit: u32) -> StoreResult<Vec<Username>>;

    /// The current credential hash of a user, for checks such as "old secret matches".
    async fn secret_hash(&self, user: UserId) -> StoreResult<Option<String>>;

    /// Applies changes; refuses `LastSystemAdmin` if it would leave the company without one.
    /// Changing the secret also clears the sign-in throttle.
    async fn update_user(
        &self,
        company: CompanyId,
        id: UserId,
        changes: &UserChanges,
        now: Timestamp,
    ) -> StoreResult<User> {
        self.update_user_with_trail(company, id, changes, now, &Trail::default())
            .await
    }

    async fn update_user_with_trail(
        &self,
        company: CompanyId,
        id: UserId,
        changes: &UserChanges,
        now: Timestamp,
        trail: &Trail,
    ) -> StoreResult<User>;

    /// Replaces the user's credential hash with `secret`, but only while the stored hash is
    /// still `expected` (the one the old credential was verified against): the check and the
    /// write are one statement, so of two changes made from the same old credential one
    /// succeeds and the other, like one racing a reset by an administrator, finds it gone
    /// (`Ok(false)`, nothing written). Like [`Store::update_user`]'s secret change it sets
    /// the security level and change time and clears the sign-in throttle. `NotFound` if the
    /// company has no such user.
    async fn change_secret(
        &self,
        company: CompanyId,
        id: UserId,
        expected: &str,
        secret: &(String, SecurityLevel),
        now: Timestamp,
    ) -> StoreResult<bool>;

    /// Counts one more failed sign-in atomically (concurrent guesses cannot under-count) and
    /// locks the account as `policy` says; returns the new record.
    async fn record_sign_in_failure(
        &self,
        user: UserId,
        policy: &LockoutPolicy,
        now: Timestamp,
    ) -> StoreResult<SignInThrottle>;

    /// Forgets failed sign-ins after a successful one.
    async fn clear_sign_in_failures(&self, user: UserId) -> StoreResult<()>;

    /// A page of a company's users ordered by username, optionally only those whose username
    /// or real name contains `filter` (case-insensitive), with the total count of matches.
    async fn find_users(
        &self,
        company: CompanyId,
        filter: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<User>>;

    async fn count_users(&self, company: CompanyId) -> StoreResult<u64>;

    // --- access tokens ---------------------------------------------------------------------

    async fn insert_token(&self, token: &AccessTokenRecord) -> StoreResult<()>;

    /// The token with this hash and its user, expired or not (the caller decides).
    async fn token(&self, hash: &TokenHash) -> StoreResult<Option<AuthenticatedToken>>;

    /// Returns whether a token was deleted.
    async fn delete_token(&self, hash: &TokenHash) -> StoreResult<bool>;

    /// Deletes every token of a user except `keep`; returns how many went.
    async fn delete_user_tokens(&self, user: UserId, keep: Option<&TokenHash>) -> StoreResult<u64>;

    async fn delete_expired_tokens(&self, now: Timestamp) -> StoreResult<u64>;

    // --- people as meetings show them --------------------------------------------------------

    /// The users of `company` among `ids` (others are left out), in no particular order.
    async fn user_refs(&self, company: CompanyId, ids: &[UserId]) -> StoreResult<Vec<UserRef>>;

    // --- rooms -------------------------------------------------------------------------------

    /// Creates a room, reserving its number (`MeetingNumberTaken` if anything holds it).
    async fn create_room(&self, room: &Room) -> StoreResult<Room>;

    async fn room(&self, company: CompanyId, id: RoomId) -> StoreResult<Option<Room>>;

    /// A page of a company's rooms, oldest first; with `filter`, those whose name (any case)
    /// or number contains it, taken literally.
    async fn rooms(
        &self,
        company: CompanyId,
        filter: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<Room>>;

    /// Replaces a room's name, number, password and owner (re-reserving a changed number), if
    /// `room.revision` is still the stored one (`Conflict` otherwise); the revision grows by 1.
    async fn update_room(&self, room: &Room) -> StoreResult<Room>;

    /// Deletes a room and frees its number; `RoomInUse` while meetings are scheduled in it.
    async fn delete_room(&self, company: CompanyId, id: RoomId) -> StoreResult<()>;

    // --- scheduled meetings ----------------------------------------------------------------

    /// Creates a single scheduled meeting. Outside a room it reserves its own number
    /// (`MeetingNumberTaken` if anything holds it); in a room it uses the room's.
    async fn create_schedule(&self, schedule: &Schedule) -> StoreResult<Schedule> {
        self.create_schedule_with_trail(schedule, &Trail::default())
            .await
    }

    async fn create_schedule_with_trail(
        &self,
        schedule: &Schedule,
        trail: &Trail,
    ) -> StoreResult<Schedule>;

    /// Creates many single scheduled meetings at once, all or none (generators, imports).
    async fn create_schedules(&self, schedules: &[Schedule]) -> StoreResult<()>;

    async fn schedule(&self, company: CompanyId, id: ScheduleId) -> StoreResult<Option<Schedule>>;

    /// Replaces a scheduled meeting's slot, settings, room, number and invitees, if
    /// `schedule.revision` is still the stored one (`Conflict` otherwise); the revision grows
    /// by 1. An occurrence so changed is remembered as overridden.
    async fn update_schedule(&self, schedule: &Schedule) -> StoreResult<Schedule> {
        self.update_schedule_with_trail(schedule, &Trail::default())
            .await
    }

    async fn update_schedule_with_trail(
        &self,
        schedule: &Schedule,
        trail: &Trail,
    ) -> StoreResult<Schedule>;

    /// Deletes a scheduled meeting and frees its number. Deleting one occurrence of a series
    /// leaves the others and records the gap (an iCalendar EXDATE).
    async fn delete_schedule(&self, company: CompanyId, id: ScheduleId) -> StoreResult<()> {
        self.delete_schedule_with_trail(company, id, &Trail::default())
            .await
    }

    async fn delete_schedule_with_trail(
        &self,
        company: CompanyId,
        id: ScheduleId,
        trail: &Trail,
    ) -> StoreResult<()>;

    /// A page of the company's scheduled meetings (occurrences included), by start time.
    /// `scope` narrows to one user's (owned or invited); `filter` matches the name
    /// (substring, case-insensitive) or the number (prefix). A list shows summaries; the
    /// whole meeting is [`Store::schedule`].
    async fn find_schedules(
        &self,
        company: CompanyId,
        scope: MeetingScope,
        filter: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<ScheduleSummary>>;

    /// Waits, at most `within`, until the lists of `company` that the store answers from
    /// memory once a background rebuild is done (the company-wide meeting list) answer from
    /// memory; `false` if they still do not. Lists answer the same either way: this is for
    /// whoever compares both paths (the contract suite). A store that keeps no such index
    /// has nothing to wait for.
    async fn settle_lists(
        &self,
        company: CompanyId,
        within: std::time::Duration,
    ) -> StoreResult<bool> {
        let _ = (company, within);
        Ok(true)
    }

    /// The meeting number a meeting link (`/j/{code}`) opens: that of the scheduled meeting
    /// (or occurrence of a series) whose join code `code` is, or else `code` itself when it is
    /// a number that a room, scheduled meeting or series holds (rooms' links and Rocket.Chat's
    /// calls name the number). `None` for anything else.
    async fn meeting_number_of_link(&self, code: &str) -> StoreResult<Option<MeetingNumber>>;

    // --- recurring series ------------------------------------------------------------------

    /// Creates a series and its occurrences together, reserving the series' number unless
    /// it is in a room.
    async fn create_series(
        &self,
        series: &Series,
        occurrences: &[Schedule],
    ) -> StoreResult<Series> {
        self.create_series_with_trail(series, occurrences, &Trail::default())
            .await
    }

    async fn create_series_with_trail(
        &self,
        series: &Series,
        occurrences: &[Schedule],
        trail: &Trail,
    ) -> StoreResult<Series>;

    async fn series(&self, company: CompanyId, id: SeriesId) -> StoreResult<Option<Series>>;

    /// Replaces a series and its occurrences with `rebuilt` (expanded from its new rule), if
    /// `series.revision` is still the stored one (`Conflict` otherwise; the series' revision
    /// grows by 1, and every occurrence's moves past any it had),
    /// in one transaction with what it carries over from the occurrences and deletions it
    /// has at that moment: an occurrence of the same original start keeps its id and creation
    /// time, one deleted stays deleted (`carry_over_occurrences` of the domain decides).
    async fn replace_series(&self, series: &Series, rebuilt: &[Schedule]) -> StoreResult<Series> {
        self.replace_series_with_trail(series, rebuilt, &Trail::default())
            .await
    }

    async fn replace_series_with_trail(
        &self,
        series: &Series,
        rebuilt: &[Schedule],
        trail: &Trail,
    ) -> StoreResult<Series>;

    /// Deletes a series with all its occurrences and frees its number.
    async fn delete_series(&self, company: CompanyId, id: SeriesId) -> StoreResult<()> {
        self.delete_series_with_trail(company, id, &Trail::default())
            .await
    }

    async fn delete_series_with_trail(
        &self,
        company: CompanyId,
        id: SeriesId,
        trail: &Trail,
    ) -> StoreResult<()>;

    /// A page of one series' occurrences by start time, with the same filter as
    /// [`Store::find_schedules`].
    async fn series_occurrences(
        &self,
        company: CompanyId,
        id: SeriesId,
        filter: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<Schedule>>;

    /// Original starts of the occurrences deleted one by one.
    async fn series_exdates(&self, id: SeriesId) -> StoreResult<Vec<Timestamp>>;

    // --- calendars -------------------------------------------------------------------------

    /// Sets (replacing any earlier) the hash of a user's calendar feed secret.
    async fn set_calendar_feed(&self, user: UserId, hash: &TokenHash) -> StoreResult<()>;

    /// The user whose calendar feed secret has this hash.
    async fn calendar_feed_user(&self, hash: &TokenHash) -> StoreResult<Option<User>>;

    /// What belongs in a user's calendar: the single meetings they own or are invited to
    /// (not occurrences), and the series they own or are invited to.
    async fn calendar_of(
        &self,
        company: CompanyId,
        user: UserId,
    ) -> StoreResult<(Vec<Schedule>, Vec<Series>)>;
}

/// Whose scheduled meetings a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingScope {
    /// All of the company's (MeetingOperators, SystemAdmins).
    Company,
    /// Those the user owns or is invited to.
    Participant(UserId),
}

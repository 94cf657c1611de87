//! Use cases of scheduling: single meetings, recurring series, rooms, calendars.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

mod calendars;
mod meetings;
mod rooms;
mod series;

use plenum_domain::calendar::{self, CalendarEvent, EventRecurrence, OccurrenceOverride};
use plenum_domain::credentials::TokenHash;
use plenum_domain::ids::{RoomId, ScheduleId, SeriesId, UserId};
use plenum_domain::paging::{Page, PageRequest};
use plenum_domain::recurrence::{Frequency, RecurrenceRule};
use plenum_domain::schedule::{
    LiveSettings, MeetingKind, MeetingNumber, MeetingPassword, MeetingSettings, Room, Schedule,
    ScheduleSummary, Series, SettingsChanges, SlotChange, TimeSlot, UserRef, may_manage_meeting,
    may_see_meeting,
};
use plenum_domain::user::User;
use plenum_domain::webhooks::EventType;
use plenum_domain::{Field, Rule, ValidationError};
use plenum_store::{MeetingScope, StoreError, Trail};

use crate::webhooks::events;
use crate::{Principal, Scheduling, ServiceError};

/// How many times a generated meeting number is retried when it happens to be taken.
const NUMBER_ATTEMPTS: usize = 20;

/// How many times an update is read and merged again when another writer changed the same
/// reservation, series or room between its read and its write (the store's revision check,
/// see docs/consistency.md). Every attempt that fails so means another update was committed,
/// so this many writers racing on one thing all get through; more may see `409
/// edit_conflict`.
const MERGE_ATTEMPTS: usize = 16;

/// Runs `attempt` (read, merge, write) again while the store finds the thing changed between
/// its read and its write, at most [`MERGE_ATTEMPTS`] times.
/// The trail of an update of a reservation or occurrence: `schedule.updated`, at its
/// `updated_at`.
fn updated_trail(s: &Schedule) -> Trail {
    Trail::default().with_event(events::schedule(
        EventType::ScheduleUpdated,
        s,
        s.updated_at,
    ))
}

/// The trail of an update of a series: `schedule.updated` of the series.
fn series_updated_trail(s: &Series, occurrences: usize) -> Trail {
    Trail::default().with_event(events::series(
        EventType::ScheduleUpdated,
        s,
        occurrences,
        s.updated_at,
    ))
}

async fn merged<T, F, Fut>(mut attempt: F) -> Result<T, ServiceError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ServiceError>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(e) if tries < MERGE_ATTEMPTS && changed_meanwhile(&e) => tries += 1,
            other => return other,
        }
    }
}

/// Whether the store refused a write because another one came first (`StoreError::Conflict`).
fn changed_meanwhile(e: &ServiceError) -> bool {
    matches!(e, ServiceError::EditConflict)
}

/// A request to create or change a single scheduled meeting; `None` leaves a field as it is
/// (update) or at its default (create).
#[derive(Debug, Clone, Default)]
pub struct ScheduleRequest {
    /// A reservation is created with both ends; an update may move one.
    pub slot: SlotChange,
    /// On an update: the kind the client says the meeting is; it cannot change.
    pub kind: Option<MeetingKind>,
    /// On an update: how the client says the meeting repeats (`Some(None)`: it does not; an
    /// occurrence repeats as its series); it cannot change either.
    pub recurrence: Option<Option<Frequency>>,
    pub meeting_number: Option<MeetingNumber>,
    /// `Some(None)`: not in a room.
    pub room: Option<Option<RoomId>>,
    pub invitees: Option<Vec<UserId>>,
    pub settings: SettingsChanges,
}

/// A request to create or change a recurring series.
#[derive(Debug, Clone)]
pub struct SeriesRequest {
    /// The rule, whole (a recurrence is one value); on an update `None` leaves it as it is.
    /// A client that sends the rule unchanged should send `None`: an update is merged again
    /// with what it finds stored when another writer came first, and a rule given keeps
    /// replacing the stored one.
    pub rule: Option<RecurrenceRule>,
    pub meeting_number: Option<MeetingNumber>,
    /// `Some(None)`: not in a room.
    pub room: Option<Option<RoomId>>,
    pub invitees: Option<Vec<UserId>>,
    pub settings: SettingsChanges,
}

/// A request to create or change a room; `None` leaves a field as it is (or generated).
#[derive(Debug, Clone, Default)]
pub struct RoomRequest {
    pub name: Option<String>,
    pub meeting_number: Option<MeetingNumber>,
    pub password: Option<Option<MeetingPassword>>,
    pub owner: Option<UserId>,
}

/// The longest code a meeting link is looked up with.
const MAX_LINK_CODE_BYTES: usize = 64;

fn random_code() -> String {
    // 72 random bits: unguessable enough for a join link that still needs the password.
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 9]>())
}

fn new_live(passcode: Option<&str>) -> LiveSettings {
    LiveSettings {
        passcode: passcode
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{:06}", rand::random::<u32>() % 1_000_000)),
        live_id: uuid_like(),
    }
}

fn uuid_like() -> String {
    let b = rand::random::<[u8; 16]>();
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
        u16::from_be_bytes([b[6], b[7]]),
        u16::from_be_bytes([b[8], b[9]]),
        u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]]),
    )
}

fn not_found(e: StoreError, instead: ServiceError) -> ServiceError {
    match e {
        StoreError::NotFound => instead,
        other => other.into(),
    }
}

/// A meeting someone may not see does not exist for them: `not_found`, not "permission
/// denied", because whether someone else's meeting exists is not the caller's business.
fn ensure_visible(
    actor: &Principal,
    owner: &UserRef,
    invitees: &[UserRef],
    not_found: ServiceError,
) -> Result<(), ServiceError> {
    if may_see_meeting(owner.id, invitees, actor.user.id, actor.user.role) {
        Ok(())
    } else {
        Err(not_found)
    }
}

fn ensure_manageable(actor: &Principal, owner: &UserRef) -> Result<(), ServiceError> {
    if may_manage_meeting(owner.id, actor.user.id, actor.user.role) {
        Ok(())
    } else {
        Err(ServiceError::PermissionDenied(
            "only the meeting's owner, a MeetingOperator or a SystemAdmin may change it",
        ))
    }
}

/// A series' first start, when set, may lie at most the grace period in the past.
fn ensure_series_starts_in_time(
    rule: &RecurrenceRule,
    now: jiff::Timestamp,
) -> Result<(), ServiceError> {
    Ok(plenum_domain::schedule::check_starts_in_time(
        Field::RecurrenceStartTime,
        rule.first_start(),
        now,
    )?)
}

/// A meeting or series created in a room uses the room's number: another one given with it
/// is refused, as an update refuses it.
fn ensure_room_number(
    room: Option<&Room>,
    given: Option<&MeetingNumber>,
) -> Result<(), ServiceError> {
    match (room, given) {
        (Some(room), Some(number)) if *number != room.meeting_number => {
            Err(ValidationError::breaks(
                Rule::Immutable,
                Field::MeetingNumber,
                "a meeting in a room uses the room's number",
            )
            .into())
        }
        _ => Ok(()),
    }
}

fn user_ref(user: &User) -> UserRef {
    UserRef {
        id: user.id,
        username: user.username.to_string(),
        real_name: user.profile.real_name.clone(),
    }
}

impl Scheduling<'_> {
    pub fn meeting_url(&self, join_code: &str) -> String {
        format!("{}/j/{join_code}", self.inner.policy.public_url)
    }

    /// The meeting number a meeting link (`meeting_url`, `/j/{code}`) opens: a scheduled
    /// meeting's join code, or a number a room or meeting holds. `None` for anything else; no
    /// sign-in needed (the link is given to guests; joining still needs the password).
    pub async fn meeting_number_of_link(
        &self,
        code: &str,
    ) -> Result<Option<MeetingNumber>, ServiceError> {
        // Join codes are 12 characters and numbers at most 12 digits: anything much longer is
        // no link of ours, and is not worth a query.
        if code.is_empty() || code.len() > MAX_LINK_CODE_BYTES {
            return Ok(None);
        }
        Ok(self.inner.store.meeting_number_of_link(code).await?)
    }

    pub fn live_url(&self, live: &LiveSettings) -> String {
        format!("{}/live/{}", self.inner.policy.public_url, live.live_id)
    }

    /// The invitees as users of the actor's company; any other id is refused by name.
    async fn resolve_invitees(
        &self,
        actor: &Principal,
        ids: &[UserId],
    ) -> Result<Vec<UserRef>, ServiceError> {
        let mut unique = ids.to_vec();
        unique.sort();
        unique.dedup();
        let found = self.inner.store.user_refs(actor.company(), &unique).await?;
        if let Some(missing) = unique.iter().find(|id| !found.iter().any(|f| f.id == **id)) {
            return Err(ServiceError::UnknownInvitee(missing.to_string()));
        }
        Ok(found)
    }

    async fn room_of(&self, actor: &Principal, id: RoomId) -> Result<Room, ServiceError> {
        self.inner
            .store
            .room(actor.company(), id)
            .await?
            .ok_or(ServiceError::RoomNotFound)
    }

    /// Runs `create` with the given number, or with generated numbers until one is free.
    async fn with_number<T, F, Fut>(
        &self,
        given: Option<MeetingNumber>,
        mut create: F,
    ) -> Result<T, StoreError>
    where
        F: FnMut(MeetingNumber) -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        if let Some(number) = given {
            return create(number).await;
        }
        for _ in 0..NUMBER_ATTEMPTS {
            match create(MeetingNumber::from_random(rand::random())).await {
                Err(StoreError::MeetingNumberTaken) => continue,
                other => return other,
            }
        }
        Err(StoreError::MeetingNumberTaken)
    }
}

//! Use cases of scheduling: single meetings, recurring series, rooms, calendars.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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
        plenum_domain::Field::RecurrenceStartTime,
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
            Err(plenum_domain::ValidationError::new(
                plenum_domain::Field::MeetingNumber,
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

    // --- single meetings -----------------------------------------------------------------

    /// Creates an instant meeting (from now, `slot` ignored) or a reservation.
    pub async fn create_schedule(
        &self,
        actor: &Principal,
        kind: MeetingKind,
        request: ScheduleRequest,
    ) -> Result<Schedule, ServiceError> {
        let now = self.inner.now();
        let ScheduleRequest {
            slot,
            kind: _,
            recurrence: _,
            meeting_number,
            room,
            invitees,
            settings: changes,
        } = request;
        let room = room.flatten();
        let invitees = invitees.unwrap_or_default();
        let slot = match (kind, slot) {
            (MeetingKind::Instant, _) => TimeSlot::instant(now),
            (
                MeetingKind::Reservation,
                SlotChange {
                    start_ms: Some(start),
                    end_ms: Some(end),
                },
            ) => TimeSlot::parse(start, end, Some(now))?,
            (MeetingKind::Reservation, _) => {
                return Err(ServiceError::InvalidChange(
                    "a reservation needs schedule_start_time and schedule_end_time",
                ));
            }
            (MeetingKind::Recurrence, _) => {
                return Err(ServiceError::InvalidChange(
                    "recurring meetings are created at /api/v1/meeting_schedule/recurrence",
                ));
            }
        };
        let invitees = self.resolve_invitees(actor, &invitees).await?;
        let room = match room {
            Some(id) => Some(self.room_of(actor, id).await?),
            None => None,
        };
        ensure_room_number(room.as_ref(), meeting_number.as_ref())?;
        let mut settings = MeetingSettings::defaults(String::new());
        if let Some(room) = &room {
            settings.password = room.password.clone();
        }
        changes.apply(&mut settings, new_live);
        let template = Schedule {
            id: ScheduleId::new(now),
            company_id: actor.company(),
            kind,
            series_id: None,
            original_start: None,
            overridden: false,
            recurrence: None,
            meeting_number: MeetingNumber::from_random(0),
            room_id: room.as_ref().map(|r| r.id),
            owner: user_ref(&actor.user),
            slot,
            settings,
            invitees,
            join_code: random_code(),
            created_at: now,
            updated_at: now,
            revision: 0,
        };
        let given = match &room {
            Some(room) => Some(room.meeting_number.clone()),
            None => meeting_number,
        };
        let store = &self.inner.store;
        let created = self
            .with_number(given, |number| {
                let mut s = template.clone();
                s.meeting_number = number;
                let trail = Trail::default().with_event(events::schedule(
                    EventType::ScheduleCreated,
                    &s,
                    now,
                ));
                async move { store.create_schedule_with_trail(&s, &trail).await }
            })
            .await?;
        tracing::info!(reservation_id = %created.id, by = %actor.user.id, "meeting scheduled");
        Ok(created)
    }

    /// A scheduled meeting the actor may see.
    pub async fn schedule(
        &self,
        actor: &Principal,
        id: ScheduleId,
    ) -> Result<Schedule, ServiceError> {
        let found = self
            .inner
            .store
            .schedule(actor.company(), id)
            .await?
            .ok_or(ServiceError::ScheduleNotFound)?;
        ensure_visible(
            actor,
            &found.owner,
            &found.invitees,
            ServiceError::ScheduleNotFound,
        )?;
        Ok(found)
    }

    /// A scheduled meeting the actor may change: `schedule_not_found` if they may not see it,
    /// `permission_denied` if they may only see it.
    pub async fn managed_schedule(
        &self,
        actor: &Principal,
        id: ScheduleId,
    ) -> Result<Schedule, ServiceError> {
        let found = self.schedule(actor, id).await?;
        ensure_manageable(actor, &found.owner)?;
        Ok(found)
    }

    /// Updates a reservation or one occurrence of a series (the others stay as they are).
    /// The fields given are merged into the meeting as stored when the write happens: a
    /// concurrent update of other fields is kept (see [`merged`]).
    pub async fn update_schedule(
        &self,
        actor: &Principal,
        id: ScheduleId,
        request: ScheduleRequest,
    ) -> Result<Schedule, ServiceError> {
        merged(|| self.merge_schedule_update(actor, id, request.clone())).await
    }

    /// One attempt of [`Scheduling::update_schedule`](crate::Scheduling::update_schedule): read, merge, and write if nothing changed
    /// meanwhile.
    async fn merge_schedule_update(
        &self,
        actor: &Principal,
        id: ScheduleId,
        request: ScheduleRequest,
    ) -> Result<Schedule, ServiceError> {
        let ScheduleRequest {
            slot,
            kind,
            recurrence,
            meeting_number,
            room,
            invitees,
            settings: changes,
        } = request;
        let mut schedule = self.managed_schedule(actor, id).await?;
        if schedule.kind == MeetingKind::Instant {
            return Err(ServiceError::InstantMeetingImmutable);
        }
        if let Some(kind) = kind
            && kind != schedule.kind
        {
            return Err(plenum_domain::ValidationError::new(
                plenum_domain::Field::MeetingType,
                "cannot change: the meeting stays the kind it was created as",
            )
            .into());
        }
        if let Some(recurrence) = recurrence
            && recurrence != schedule.recurrence
        {
            return Err(plenum_domain::ValidationError::breaks(
                plenum_domain::Rule::RecurrenceType,
                plenum_domain::Field::RecurrenceType,
                "cannot change: a single meeting does not repeat and an occurrence repeats as \
                 its series (change the series at /api/v1/meeting_schedule/recurrence)",
            )
            .into());
        }
        // An end left out stays as it is; the slot is checked whole.
        if let Some(slot) = slot.applied_to(schedule.slot)? {
            // A new start must not be in the past; an unchanged one may (a meeting under way
            // is extended by sending it back, or only its end, with a later end).
            if slot.start != schedule.slot.start {
                slot.check_not_past(self.inner.now())?;
            }
            schedule.slot = slot;
        }
        if let Some(ids) = &invitees {
            schedule.invitees = self.resolve_invitees(actor, ids).await?;
        }
        if let Some(number) = meeting_number
            && number != schedule.meeting_number
        {
            if schedule.room_id.is_some() || schedule.series_id.is_some() {
                return Err(ServiceError::InvalidChange(
                    "a meeting in a room or a series uses the room's or series' number",
                ));
            }
            schedule.meeting_number = number;
        }
        let mut fresh_number = false;
        if let Some(room) = room
            && room != schedule.room_id
        {
            if schedule.series_id.is_some() {
                return Err(ServiceError::InvalidChange(
                    "an occurrence stays in its series' room; update the series to move it",
                ));
            }
            match room {
                Some(room_id) => {
                    let room = self.room_of(actor, room_id).await?;
                    schedule.meeting_number = room.meeting_number.clone();
                    schedule.room_id = Some(room.id);
                }
                None => {
                    schedule.room_id = None;
                    fresh_number = true;
                }
            }
        }
        changes.apply(&mut schedule.settings, new_live);
        schedule.updated_at = self.inner.now();
        let store = &self.inner.store;
        let updated = if fresh_number {
            let template = schedule;
            self.with_number(None, |number| {
                let mut s = template.clone();
                s.meeting_number = number;
                let trail = updated_trail(&s);
                async move { store.update_schedule_with_trail(&s, &trail).await }
            })
            .await
            .map_err(|e| not_found(e, ServiceError::ScheduleNotFound))?
        } else {
            store
                .update_schedule_with_trail(&schedule, &updated_trail(&schedule))
                .await
                .map_err(|e| not_found(e, ServiceError::ScheduleNotFound))?
        };
        tracing::info!(reservation_id = %updated.id, by = %actor.user.id, "meeting updated");
        Ok(updated)
    }

    pub async fn delete_schedule(
        &self,
        actor: &Principal,
        id: ScheduleId,
    ) -> Result<(), ServiceError> {
        let gone = self.managed_schedule(actor, id).await?;
        let trail = Trail::default().with_event(events::schedule_deleted(
            gone.company_id,
            &gone.meeting_number,
            Some(gone.id),
            gone.series_id,
            self.inner.now(),
        ));
        self.inner
            .store
            .delete_schedule_with_trail(actor.company(), id, &trail)
            .await
            .map_err(|e| not_found(e, ServiceError::ScheduleNotFound))?;
        tracing::info!(reservation_id = %id, by = %actor.user.id, "meeting deleted");
        Ok(())
    }

    /// The meetings the actor may see, by start time.
    pub async fn find_schedules(
        &self,
        actor: &Principal,
        filter: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<ScheduleSummary>, ServiceError> {
        let scope = if actor.user.role.manages_all_meetings() {
            MeetingScope::Company
        } else {
            MeetingScope::Participant(actor.user.id)
        };
        Ok(self
            .inner
            .store
            .find_schedules(actor.company(), scope, filter, page)
            .await?)
    }

    // --- recurring series ----------------------------------------------------------------

    fn occurrences_of(&self, series: &Series) -> Result<Vec<Schedule>, ServiceError> {
        let max = self.inner.policy.max_occurrences;
        let expanded = series
            .rule
            .occurrences(max)
            .map_err(|_| ServiceError::TooManyOccurrences { max })?;
        let now = self.inner.now();
        Ok(expanded
            .into_iter()
            .map(|o| Schedule {
                id: ScheduleId::new(now),
                company_id: series.company_id,
                kind: MeetingKind::Recurrence,
                series_id: Some(series.id),
                original_start: Some(o.start),
                overridden: false,
                recurrence: Some(series.rule.frequency()),
                meeting_number: series.meeting_number.clone(),
                room_id: series.room_id,
                owner: series.owner.clone(),
                slot: TimeSlot {
                    start: o.start,
                    end: o.end,
                },
                settings: series.settings.clone(),
                invitees: series.invitees.clone(),
                join_code: series.join_code.clone(),
                created_at: now,
                updated_at: now,
                revision: 0,
            })
            .collect())
    }

    /// Creates a series; returns it with its first occurrence.
    pub async fn create_series(
        &self,
        actor: &Principal,
        request: SeriesRequest,
    ) -> Result<(Series, Schedule), ServiceError> {
        let now = self.inner.now();
        let rule = request.rule.ok_or(ServiceError::InvalidChange(
            "a recurring meeting needs its recurrence rule",
        ))?;
        ensure_series_starts_in_time(&rule, now)?;
        let invitees = self
            .resolve_invitees(actor, request.invitees.as_deref().unwrap_or(&[]))
            .await?;
        let room = match request.room.flatten() {
            Some(id) => Some(self.room_of(actor, id).await?),
            None => None,
        };
        ensure_room_number(room.as_ref(), request.meeting_number.as_ref())?;
        let mut settings = MeetingSettings::defaults(String::new());
        if let Some(room) = &room {
            settings.password = room.password.clone();
        }
        request.settings.apply(&mut settings, new_live);
        let template = Series {
            id: SeriesId::new(now),
            company_id: actor.company(),
            meeting_number: MeetingNumber::from_random(0),
            room_id: room.as_ref().map(|r| r.id),
            owner: user_ref(&actor.user),
            rule,
            settings,
            invitees,
            join_code: random_code(),
            created_at: now,
            updated_at: now,
            revision: 0,
        };
        // Expanded once, before anything is written: a too-long series is refused whole.
        let occurrences = self.occurrences_of(&template)?;
        let given = match &room {
            Some(room) => Some(room.meeting_number.clone()),
            None => request.meeting_number,
        };
        let store = &self.inner.store;
        let created = self
            .with_number(given, |number| {
                let mut series = template.clone();
                series.meeting_number = number.clone();
                let occurrences: Vec<Schedule> = occurrences
                    .iter()
                    .cloned()
                    .map(|mut o| {
                        o.meeting_number = number.clone();
                        o
                    })
                    .collect();
                let trail = Trail::default().with_event(events::series(
                    EventType::ScheduleCreated,
                    &series,
                    occurrences.len(),
                    now,
                ));
                async move {
                    store
                        .create_series_with_trail(&series, &occurrences, &trail)
                        .await
                }
            })
            .await?;
        let first = self
            .inner
            .store
            .series_occurrences(
                actor.company(),
                created.id,
                None,
                PageRequest::by_number(1, 1, 1)?,
            )
            .await?
            .items
            .into_iter()
            .next()
            .ok_or(ServiceError::SeriesNotFound)?;
        tracing::info!(recurrence_gid = %created.id, by = %actor.user.id, "recurring meeting scheduled");
        Ok((created, first))
    }

    pub async fn series(&self, actor: &Principal, id: SeriesId) -> Result<Series, ServiceError> {
        let found = self
            .inner
            .store
            .series(actor.company(), id)
            .await?
            .ok_or(ServiceError::SeriesNotFound)?;
        ensure_visible(
            actor,
            &found.owner,
            &found.invitees,
            ServiceError::SeriesNotFound,
        )?;
        Ok(found)
    }

    /// A series the actor may change: `recurrence_not_found` if they may not see it,
    /// `permission_denied` if they may only see it.
    pub async fn managed_series(
        &self,
        actor: &Principal,
        id: SeriesId,
    ) -> Result<Series, ServiceError> {
        let found = self.series(actor, id).await?;
        ensure_manageable(actor, &found.owner)?;
        Ok(found)
    }

    /// Sets the whole series again: its rule, settings and every occurrence (which keep their
    /// ids and deletions by original start, see
    /// [`plenum_domain::schedule::carry_over_occurrences`]).
    pub async fn update_series(
        &self,
        actor: &Principal,
        id: SeriesId,
        request: SeriesRequest,
    ) -> Result<Series, ServiceError> {
        merged(|| self.merge_series_update(actor, id, request.clone())).await
    }

    /// One attempt of [`Scheduling::update_series`](crate::Scheduling::update_series): read, merge, and write if nothing changed
    /// meanwhile.
    async fn merge_series_update(
        &self,
        actor: &Principal,
        id: SeriesId,
        request: SeriesRequest,
    ) -> Result<Series, ServiceError> {
        let mut series = self.managed_series(actor, id).await?;
        if let Some(rule) = request.rule {
            // As for a single meeting: a moved first start must not be in the past; an
            // unchanged one may (a series that has begun can still be renamed).
            if rule.first_start() != series.rule.first_start() {
                ensure_series_starts_in_time(&rule, self.inner.now())?;
            }
            series.rule = rule;
        }
        let mut fresh_number = false;
        if let Some(ids) = &request.invitees {
            series.invitees = self.resolve_invitees(actor, ids).await?;
        }
        if let Some(room) = request.room
            && room != series.room_id
        {
            match room {
                Some(room_id) => {
                    let room = self.room_of(actor, room_id).await?;
                    series.meeting_number = room.meeting_number.clone();
                    series.room_id = Some(room.id);
                }
                None => {
                    // Out of the room it needs a number of its own, drawn below.
                    series.room_id = None;
                    fresh_number = true;
                }
            }
        }
        // A number given for the series (as for a single meeting): not while in a room.
        let mut given = None;
        if let Some(number) = request.meeting_number
            && (fresh_number || number != series.meeting_number)
        {
            if series.room_id.is_some() {
                return Err(ServiceError::InvalidChange(
                    "a series in a room uses the room's number",
                ));
            }
            given = Some(number);
        }
        request.settings.apply(&mut series.settings, new_live);
        series.updated_at = self.inner.now();
        // An occurrence is its series and original start: one the new rule still has keeps
        // its reservation_id, and stays deleted if it was deleted (the store carries them
        // over in its transaction, see `carry_over_occurrences`).
        let store = &self.inner.store;
        let occurrences = self.occurrences_of(&series)?;
        let replaced = if fresh_number || given.is_some() {
            let template = series;
            self.with_number(given, |number| {
                let mut series = template.clone();
                series.meeting_number = number.clone();
                let occurrences: Vec<Schedule> = occurrences
                    .iter()
                    .cloned()
                    .map(|mut o| {
                        o.meeting_number = number.clone();
                        o
                    })
                    .collect();
                let trail = series_updated_trail(&series, occurrences.len());
                async move {
                    store
                        .replace_series_with_trail(&series, &occurrences, &trail)
                        .await
                }
            })
            .await
            .map_err(|e| not_found(e, ServiceError::SeriesNotFound))?
        } else {
            store
                .replace_series_with_trail(
                    &series,
                    &occurrences,
                    &series_updated_trail(&series, occurrences.len()),
                )
                .await
                .map_err(|e| not_found(e, ServiceError::SeriesNotFound))?
        };
        tracing::info!(recurrence_gid = %id, by = %actor.user.id, "recurring meeting updated");
        Ok(replaced)
    }

    pub async fn delete_series(&self, actor: &Principal, id: SeriesId) -> Result<(), ServiceError> {
        let gone = self.managed_series(actor, id).await?;
        let trail = Trail::default().with_event(events::schedule_deleted(
            gone.company_id,
            &gone.meeting_number,
            None,
            Some(gone.id),
            self.inner.now(),
        ));
        self.inner
            .store
            .delete_series_with_trail(actor.company(), id, &trail)
            .await
            .map_err(|e| not_found(e, ServiceError::SeriesNotFound))?;
        tracing::info!(recurrence_gid = %id, by = %actor.user.id, "recurring meeting deleted");
        Ok(())
    }

    pub async fn series_occurrences(
        &self,
        actor: &Principal,
        id: SeriesId,
        filter: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<Schedule>, ServiceError> {
        self.series(actor, id).await?;
        Ok(self
            .inner
            .store
            .series_occurrences(actor.company(), id, filter, page)
            .await?)
    }

    // --- rooms ---------------------------------------------------------------------------

    pub async fn create_room(
        &self,
        actor: &Principal,
        request: RoomRequest,
    ) -> Result<Room, ServiceError> {
        actor.require_room_manager()?;
        let name = request.name.ok_or(ServiceError::InvalidChange(
            "a room needs a meetingroom_name",
        ))?;
        let owner = match request.owner {
            Some(id) => self
                .resolve_invitees(actor, &[id])
                .await
                .map_err(|_| ServiceError::UserNotFound)?
                .remove(0),
            None => user_ref(&actor.user),
        };
        let now = self.inner.now();
        let template = Room {
            id: RoomId::new(now),
            company_id: actor.company(),
            name,
            meeting_number: MeetingNumber::from_random(0),
            password: request.password.flatten(),
            owner,
            creator: user_ref(&actor.user),
            created_at: now,
            revision: 0,
        };
        let store = &self.inner.store;
        let room = self
            .with_number(request.meeting_number, |number| {
                let mut r = template.clone();
                r.meeting_number = number;
                async move { store.create_room(&r).await }
            })
            .await?;
        tracing::info!(meeting_room_id = %room.id, by = %actor.user.id, "room created");
        Ok(room)
    }

    /// Rooms are the company's shared places: everyone in it may list and see them.
    pub async fn rooms(
        &self,
        actor: &Principal,
        filter: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<Room>, ServiceError> {
        Ok(self
            .inner
            .store
            .rooms(actor.company(), filter, page)
            .await?)
    }

    pub async fn room(&self, actor: &Principal, id: RoomId) -> Result<Room, ServiceError> {
        self.room_of(actor, id).await
    }

    /// Changes the fields given, merged into the room as stored when the write happens (a
    /// concurrent change of other fields is kept, see [`merged`]).
    pub async fn update_room(
        &self,
        actor: &Principal,
        id: RoomId,
        request: RoomRequest,
    ) -> Result<Room, ServiceError> {
        actor.require_room_manager()?;
        merged(|| self.merge_room_update(actor, id, request.clone())).await
    }

    /// One attempt of [`Scheduling::update_room`](crate::Scheduling::update_room).
    async fn merge_room_update(
        &self,
        actor: &Principal,
        id: RoomId,
        request: RoomRequest,
    ) -> Result<Room, ServiceError> {
        let mut room = self.room_of(actor, id).await?;
        let old_number = room.meeting_number.clone();
        if let Some(name) = request.name {
            room.name = name;
        }
        if let Some(password) = request.password {
            room.password = password;
        }
        if let Some(number) = request.meeting_number {
            room.meeting_number = number;
        }
        if let Some(owner) = request.owner {
            room.owner = self
                .resolve_invitees(actor, &[owner])
                .await
                .map_err(|_| ServiceError::UserNotFound)?
                .remove(0);
        }
        let write = async {
            self.inner
                .store
                .update_room(&room)
                .await
                .map_err(|e| not_found(e, ServiceError::RoomNotFound))
        };
        // A new number while a meeting runs under the old one would free a number still in
        // use: refused, under the old number's start gate, as a delete is.
        let updated = if room.meeting_number == old_number {
            write.await?
        } else {
            self.plenum
                .live()
                .unless_running(&old_number, write)
                .await?
        };
        tracing::info!(meeting_room_id = %id, by = %actor.user.id, "room updated");
        Ok(updated)
    }

    /// Deletes a room. Refused while a meeting runs under its number (`MeetingRunning`):
    /// the number's start gate is held meanwhile, so no meeting starts in the room while it
    /// goes, and a new room may take the number only once it is gone (docs/consistency.md).
    pub async fn delete_room(&self, actor: &Principal, id: RoomId) -> Result<(), ServiceError> {
        actor.require_room_manager()?;
        let room = self
            .inner
            .store
            .room(actor.company(), id)
            .await?
            .ok_or(ServiceError::RoomNotFound)?;
        self.plenum
            .live()
            .unless_running(&room.meeting_number, async {
                self.inner
                    .store
                    .delete_room(actor.company(), id)
                    .await
                    .map_err(|e| not_found(e, ServiceError::RoomNotFound))
            })
            .await?;
        tracing::info!(meeting_room_id = %id, by = %actor.user.id, "room deleted");
        Ok(())
    }

    // --- calendars -----------------------------------------------------------------------

    fn single_event(
        &self,
        s: &Schedule,
        time_zone: &plenum_domain::company::TimeZoneName,
    ) -> CalendarEvent {
        CalendarEvent {
            uid: format!("{}@plenum", s.id),
            summary: s.settings.name.clone(),
            description: event_description(
                &s.settings.description,
                &s.meeting_number,
                &self.meeting_url(&s.join_code),
            ),
            url: Some(self.meeting_url(&s.join_code)),
            organizer: Some(s.owner.display_name().to_owned()),
            start: s.slot.start,
            end: s.slot.end,
            time_zone: time_zone.clone(),
            recurrence: None,
            created: s.created_at,
            last_modified: s.updated_at,
            sequence: 0,
        }
    }

    async fn series_event(&self, s: &Series) -> Result<CalendarEvent, ServiceError> {
        let exdates = self.inner.store.series_exdates(s.id).await?;
        let occurrences = self
            .inner
            .store
            .series_occurrences(
                s.company_id,
                s.id,
                None,
                PageRequest::by_number(
                    1,
                    self.inner.policy.max_occurrences as i64,
                    self.inner.policy.max_occurrences as u32,
                )?,
            )
            .await?;
        let overrides = occurrences
            .items
            .iter()
            .filter(|o| o.overridden)
            .map(|o| OccurrenceOverride {
                recurrence_id: o.rule_start(),
                start: o.slot.start,
                end: o.slot.end,
                summary: o.settings.name.clone(),
                description: o.settings.description.clone(),
            })
            .collect();
        let url = self.meeting_url(&s.join_code);

        Ok(CalendarEvent {
            uid: format!("{}@plenum", s.id),
            summary: s.settings.name.clone(),
            description: event_description(&s.settings.description, &s.meeting_number, &url),
            url: Some(url),
            organizer: Some(s.owner.display_name().to_owned()),
            start: s.rule.first_start(),
            end: s.rule.first_end(),
            time_zone: s.rule.time_zone().clone(),
            recurrence: Some(EventRecurrence {
                rule: s.rule.clone(),
                exdates,
                overrides,
            }),
            created: s.created_at,
            last_modified: s.updated_at,
            sequence: 0,
        })
    }

    async fn company_zone(
        &self,
        actor: &Principal,
    ) -> Result<plenum_domain::company::TimeZoneName, ServiceError> {
        Ok(self
            .plenum
            .accounts()
            .company(actor.company())
            .await?
            .time_zone)
    }

    /// One scheduled meeting as iCalendar. An occurrence is shown as its whole series.
    pub async fn schedule_ics(
        &self,
        actor: &Principal,
        id: ScheduleId,
    ) -> Result<String, ServiceError> {
        let s = self.schedule(actor, id).await?;
        if let Some(series_id) = s.series_id {
            return self.series_ics(actor, series_id).await;
        }
        let zone = self.company_zone(actor).await?;
        let event = self.single_event(&s, &zone);
        Ok(calendar::render(
            &s.settings.name,
            &[event],
            self.inner.now(),
        ))
    }

    pub async fn series_ics(
        &self,
        actor: &Principal,
        id: SeriesId,
    ) -> Result<String, ServiceError> {
        let s = self.series(actor, id).await?;
        let event = self.series_event(&s).await?;
        Ok(calendar::render(
            &s.settings.name,
            &[event],
            self.inner.now(),
        ))
    }

    /// Makes a new secret calendar feed URL for the actor (the previous one stops working).
    /// Only the hash is kept, so the URL is shown this once.
    pub async fn rotate_calendar_feed(&self, actor: &Principal) -> Result<String, ServiceError> {
        let secret = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        self.inner
            .store
            .set_calendar_feed(actor.user.id, &TokenHash::of(&secret))
            .await?;
        Ok(format!(
            "{}/api/v1/calendar/{secret}.ics",
            self.inner.policy.public_url
        ))
    }

    /// The calendar of the user whose feed secret this is: their meetings and series.
    pub async fn calendar_feed(&self, secret: &str) -> Result<String, ServiceError> {
        let user = self
            .inner
            .store
            .calendar_feed_user(&TokenHash::of(secret))
            .await?
            .ok_or(ServiceError::ScheduleNotFound)?;
        let zone = self
            .plenum
            .accounts()
            .company(user.company_id)
            .await?
            .time_zone;
        let (singles, series) = self
            .inner
            .store
            .calendar_of(user.company_id, user.id)
            .await?;
        let mut events: Vec<CalendarEvent> = singles
            .iter()
            .map(|s| self.single_event(s, &zone))
            .collect();
        for s in &series {
            events.push(self.series_event(s).await?);
        }
        Ok(calendar::render(
            &format!("Plenum: {}", user.username),
            &events,
            self.inner.now(),
        ))
    }
}

fn event_description(description: &str, number: &MeetingNumber, url: &str) -> String {
    let mut text = String::new();
    if !description.is_empty() {
        text.push_str(description);
        text.push_str("\n\n");
    }
    text.push_str(&format!("Meeting number: {number}\nJoin: {url}"));
    text
}

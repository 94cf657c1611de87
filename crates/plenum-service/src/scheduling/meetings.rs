//! Single meetings: instant meetings and reservations (occurrences of series included).

use super::*;

impl Scheduling<'_> {
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
            (MeetingKind::Reservation, SlotChange { start_ms, .. }) => {
                let field = if start_ms.is_none() {
                    Field::ScheduleStartTime
                } else {
                    Field::ScheduleEndTime
                };
                return Err(ValidationError::breaks(
                    Rule::Missing,
                    field,
                    "a reservation needs schedule_start_time and schedule_end_time",
                )
                .into());
            }
            (MeetingKind::Recurrence, _) => {
                return Err(ValidationError::breaks(
                    Rule::NotAChoice,
                    Field::MeetingType,
                    "recurring meetings are created at /api/v1/meeting_schedule/recurrence",
                )
                .into());
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
            return Err(ValidationError::breaks(
                Rule::Immutable,
                Field::MeetingType,
                "cannot change: the meeting stays the kind it was created as",
            )
            .into());
        }
        if let Some(recurrence) = recurrence
            && recurrence != schedule.recurrence
        {
            return Err(ValidationError::breaks(
                Rule::RecurrenceType,
                Field::RecurrenceType,
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
                return Err(ValidationError::breaks(
                    Rule::Immutable,
                    Field::MeetingNumber,
                    "a meeting in a room or a series uses the room's or series' number",
                )
                .into());
            }
            schedule.meeting_number = number;
        }
        let mut fresh_number = false;
        if let Some(room) = room
            && room != schedule.room_id
        {
            if schedule.series_id.is_some() {
                return Err(ValidationError::breaks(
                    Rule::Immutable,
                    Field::MeetingRoomId,
                    "an occurrence stays in its series' room; update the series to move it",
                )
                .into());
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
}

//! Recurring series and their occurrences.

use super::*;

impl Scheduling<'_> {
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
        let rule = request.rule.ok_or_else(|| {
            ValidationError::breaks(
                Rule::Missing,
                Field::RecurrenceType,
                "a recurring meeting needs its recurrence rule",
            )
        })?;
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
                return Err(ValidationError::breaks(
                    Rule::Immutable,
                    Field::MeetingNumber,
                    "a series in a room uses the room's number",
                )
                .into());
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
}

//! Calendars: one meeting's or series' iCalendar file, and a user's calendar feed.

use super::*;

impl Scheduling<'_> {
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

//! FRTC "Meeting Schedule": single meetings (instant and reservation) and recurring series,
//! plus their iCalendar views and each user's calendar feed.
//!
//! Verb/path decisions (see docs/frtc.md): recurrence is created by `POST` (and the documented
//! `GET` with a body) on `/meeting_schedule/recurrence`; on `/meeting_schedule/recurrence/{id}`
//! `POST` updates the group, `GET` lists its occurrences and `DELETE` removes it. A
//! `reservation_id` of an occurrence updates or deletes only that occurrence.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use plenum_domain::company::TimeZoneName;
use plenum_domain::ids::{RoomId, ScheduleId, SeriesId, UserId};
use plenum_domain::recurrence::{Frequency, RecurrenceRule};
use plenum_domain::schedule::{
    self as sched, CallRate, MeetingKind, MeetingNumber, MeetingPassword, Schedule,
    ScheduleSummary, Series, SettingsChanges, SlotChange, WatermarkType,
};
use plenum_domain::{Field, Rule, ValidationError};
use plenum_service::{ScheduleRequest as MeetingRequest, SeriesRequest, ServiceError};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::body::parse;
use super::error::{ErrorBody, missing};
use super::{FrtcError, FrtcJson, PagingQuery, SignedIn, parse_id, path_param};
use crate::AppState;

pub const TAG: &str = "Meeting Schedule";

// --- wire helpers ----------------------------------------------------------------------------

/// Milliseconds as FRTC clients send them: a number, or (as the detail example shows) a
/// string of digits. `null` or an empty string is "not given".
pub(super) fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct Millis;

    impl<'de> serde::de::Visitor<'de> for Millis {
        type Value = Option<i64>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(super::body::EXPECTED_MILLIS)
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
        }

        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            // `1.7e12` is a whole number of milliseconds; `1e30` or `1.5` is not.
            if v.fract() == 0.0 && v.abs() < 9.0e15 {
                Ok(Some(v as i64))
            } else {
                Err(E::invalid_value(serde::de::Unexpected::Float(v), &self))
            }
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let v = v.trim();
            if v.is_empty() {
                return Ok(None);
            }
            v.parse()
                .map(Some)
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(v), &self))
        }
    }

    d.deserialize_option(Millis)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InvitedUser {
    user_id: String,
}

/// The fields a schedule request may carry (create, update, recurrence). Fields of the
/// documented responses that a client echoes back (owner_name, meeting_url, …) are ignored.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ScheduleRequest {
    /// `instant` or `reservation` (`recurrence` at the recurrence endpoint).
    #[serde(default)]
    meeting_type: Option<String>,
    #[serde(default)]
    meeting_name: Option<String>,
    #[serde(default)]
    meeting_description: Option<String>,
    /// 6 to 12 digits; generated when absent.
    #[serde(default)]
    meeting_number: Option<String>,
    /// e.g. `2048K`.
    #[serde(default)]
    call_rate_type: Option<String>,
    #[serde(default, deserialize_with = "millis")]
    #[schema(value_type = Option<i64>)]
    schedule_start_time: Option<i64>,
    #[serde(default, deserialize_with = "millis")]
    #[schema(value_type = Option<i64>)]
    schedule_end_time: Option<i64>,
    /// 4 to 16 digits; empty for none.
    #[serde(default, deserialize_with = "super::body::nullable")]
    #[schema(value_type = Option<String>)]
    meeting_password: Option<Option<String>>,
    /// User ids to invite.
    #[serde(default)]
    invited_users: Option<Vec<String>>,
    /// The same, as the create example sends them.
    #[serde(default)]
    invited_users_detail: Option<Vec<InvitedUser>>,
    /// A room to hold the meeting in (its number is used); `null` for none.
    #[serde(default, deserialize_with = "super::body::nullable")]
    #[schema(value_type = Option<String>)]
    meeting_room_id: Option<Option<String>>,
    /// `ENABLE` or `DISABLE`.
    #[serde(default)]
    mute_upon_entry: Option<String>,
    #[serde(default)]
    guest_dial_in: Option<bool>,
    #[serde(default)]
    watermark: Option<bool>,
    /// `single` or `multiple`.
    #[serde(default)]
    watermark_type: Option<String>,
    /// Minutes before the start from which people may join (0..=1440, default 30).
    #[serde(default)]
    time_to_join: Option<i64>,
    #[serde(default)]
    generate_live_url: Option<bool>,
    #[serde(default)]
    live_passcode: Option<String>,
    // Recurrence (recurrence endpoints only).
    /// `DAILY`, `WEEKLY` or `MONTHLY`.
    #[serde(default)]
    recurrence_type: Option<String>,
    #[serde(default, rename = "recurrenceInterval")]
    recurrence_interval: Option<i64>,
    #[serde(default, rename = "recurrenceStartTime", deserialize_with = "millis")]
    #[schema(value_type = Option<i64>)]
    recurrence_start_time: Option<i64>,
    #[serde(default, rename = "recurrenceEndTime", deserialize_with = "millis")]
    #[schema(value_type = Option<i64>)]
    recurrence_end_time: Option<i64>,
    #[serde(default, rename = "recurrenceStartDay", deserialize_with = "millis")]
    #[schema(value_type = Option<i64>)]
    recurrence_start_day: Option<i64>,
    #[serde(default, rename = "recurrenceEndDay", deserialize_with = "millis")]
    #[schema(value_type = Option<i64>)]
    recurrence_end_day: Option<i64>,
    /// Plenum extension: IANA zone the series repeats in (default: the company's).
    #[serde(default)]
    time_zone: Option<String>,
}

impl ScheduleRequest {
    /// `recurrence_type` as a single meeting's request gives it: `NONE` (or empty) is "does
    /// not repeat".
    fn recurrence(&self) -> Result<Option<Option<Frequency>>, FrtcError> {
        let Some(raw) = self.recurrence_type.as_deref().map(str::trim) else {
            return Ok(None);
        };
        if raw.is_empty() || raw.eq_ignore_ascii_case("NONE") {
            return Ok(Some(None));
        }
        Ok(Some(Some(Frequency::parse(&raw.to_ascii_uppercase())?)))
    }

    fn settings(&self) -> Result<SettingsChanges, FrtcError> {
        Ok(SettingsChanges {
            name: self
                .meeting_name
                .as_deref()
                .map(sched::parse_meeting_name)
                .transpose()?,
            description: self
                .meeting_description
                .as_deref()
                .map(sched::parse_meeting_description)
                .transpose()?,
            password: self
                .meeting_password
                .as_ref()
                .map(|p| MeetingPassword::parse_optional(p.as_deref()))
                .transpose()?,
            call_rate: self
                .call_rate_type
                .as_deref()
                .map(CallRate::parse)
                .transpose()?,
            mute_upon_entry: self
                .mute_upon_entry
                .as_deref()
                .map(sched::parse_mute_upon_entry)
                .transpose()?,
            guest_dial_in: self.guest_dial_in,
            watermark: self.watermark,
            watermark_type: self
                .watermark_type
                .as_deref()
                .map(WatermarkType::parse)
                .transpose()?,
            time_to_join_minutes: self
                .time_to_join
                .map(sched::parse_time_to_join)
                .transpose()?,
            generate_live_url: self.generate_live_url,
            // Empty, as our answers show it without live streaming: not given.
            live_passcode: self
                .live_passcode
                .as_deref()
                .filter(|p| !p.trim().is_empty())
                .map(sched::parse_live_passcode)
                .transpose()?,
        })
    }

    fn invitees(&self) -> Result<Option<Vec<UserId>>, FrtcError> {
        if let (Some(ids), Some(detail)) = (&self.invited_users, &self.invited_users_detail) {
            // The same list twice (as an echoed detail sends it) is fine; two lists are not.
            if id_set(ids.iter().map(String::as_str))
                != id_set(detail.iter().map(|u| u.user_id.as_str()))
            {
                return Err(ValidationError::breaks(
                    Rule::Conflicting,
                    Field::InvitedUsers,
                    "differs from invited_users_detail: give one list, or both the same",
                )
                .into());
            }
        }
        let ids: Option<Vec<&str>> = match (&self.invited_users, &self.invited_users_detail) {
            (Some(ids), _) => Some(ids.iter().map(String::as_str).collect()),
            (None, Some(detail)) => Some(detail.iter().map(|u| u.user_id.as_str()).collect()),
            (None, None) => None,
        };
        ids.map(|ids| {
            ids.into_iter()
                .map(|id| {
                    id.parse::<UserId>()
                        .map_err(|_| ServiceError::UnknownInvitee(id.to_owned()).into())
                })
                .collect::<Result<Vec<_>, FrtcError>>()
        })
        .transpose()
    }

    fn room(&self) -> Result<Option<Option<RoomId>>, FrtcError> {
        match &self.meeting_room_id {
            None => Ok(None),
            Some(None) => Ok(Some(None)),
            Some(Some(id)) if id.trim().is_empty() => Ok(Some(None)),
            Some(Some(id)) => Ok(Some(Some(parse_id(id, ServiceError::RoomNotFound)?))),
        }
    }

    fn number(&self) -> Result<Option<MeetingNumber>, FrtcError> {
        Ok(self
            .meeting_number
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .map(MeetingNumber::parse)
            .transpose()?)
    }

    /// The times given. Whether they make a slot (an update takes a left-out end from the
    /// meeting) and whether it may start when it does is the service's question.
    fn slot(&self) -> SlotChange {
        SlotChange {
            start_ms: self.schedule_start_time,
            end_ms: self.schedule_end_time,
        }
    }

    /// The recurrence rule, each field falling back to `base` (the series being updated).
    fn rule(
        &self,
        base: Option<&RecurrenceRule>,
        zone: TimeZoneName,
    ) -> Result<RecurrenceRule, FrtcError> {
        let frequency = match (&self.recurrence_type, base) {
            (Some(t), _) => Frequency::parse(t)?,
            (None, Some(b)) => b.frequency(),
            (None, None) => return Err(missing(Field::RecurrenceType)),
        };
        let interval = match (self.recurrence_interval, base) {
            (Some(i), _) => i,
            (None, Some(b)) => i64::from(b.interval()),
            (None, None) => 1,
        };
        // The first occurrence: recurrenceStartTime/EndTime, else schedule_start/end_time.
        let start = self
            .recurrence_start_time
            .or(self.schedule_start_time)
            .or(base.map(|b| b.first_start().as_millisecond()))
            .ok_or_else(|| missing(Field::RecurrenceStartTime))?;
        let end = self
            .recurrence_end_time
            .or(self.schedule_end_time)
            .or(base.map(|b| b.first_end().as_millisecond()))
            .ok_or_else(|| missing(Field::RecurrenceEndTime))?;
        let until = self
            .recurrence_end_day
            .or(base.map(|b| b.until().as_millisecond()))
            .ok_or_else(|| missing(Field::RecurrenceEndDay))?;
        let zone = match (&self.time_zone, base) {
            (Some(z), _) => TimeZoneName::parse(z)?,
            (None, Some(b)) => b.time_zone().clone(),
            (None, None) => zone,
        };
        Ok(RecurrenceRule::new(
            frequency,
            interval,
            start,
            end,
            self.recurrence_start_day,
            until,
            zone,
        )?)
    }
}

/// Ids as a set, to compare two lists of them.
fn id_set<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut ids: Vec<&str> = ids.map(str::trim).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitedUserDetail {
    user_id: String,
    username: String,
    real_name: String,
}

/// The fields of a meeting's settings, the same in every answer that shows a meeting.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsFields {
    meeting_name: String,
    meeting_description: String,
    call_rate_type: String,
    meeting_password: String,
    mute_upon_entry: String,
    guest_dial_in: bool,
    watermark: bool,
    watermark_type: String,
    time_to_join: u32,
    generate_live_url: bool,
    live_passcode: String,
    live_meeting_url: String,
}

impl SettingsFields {
    fn new(state: &AppState, st: &sched::MeetingSettings) -> Self {
        Self {
            meeting_name: st.name.clone(),
            meeting_description: st.description.clone(),
            call_rate_type: st.call_rate.to_string(),
            meeting_password: st
                .password
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            mute_upon_entry: sched::mute_upon_entry_str(st.mute_upon_entry).to_owned(),
            guest_dial_in: st.guest_dial_in,
            watermark: st.watermark,
            watermark_type: st.watermark_type.as_str().to_owned(),
            time_to_join: st.time_to_join_minutes,
            generate_live_url: st.live.is_some(),
            live_passcode: st
                .live
                .as_ref()
                .map(|l| l.passcode.clone())
                .unwrap_or_default(),
            live_meeting_url: st
                .live
                .as_ref()
                .map(|l| state.plenum.scheduling().live_url(l))
                .unwrap_or_default(),
        }
    }
}

/// A scheduled meeting with every documented field.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleDetail {
    reservation_id: String,
    meeting_type: String,
    meeting_number: String,
    schedule_start_time: i64,
    schedule_end_time: i64,
    invited_users_detail: Vec<InvitedUserDetail>,
    owner_id: String,
    owner_name: String,
    recurrence_gid: String,
    /// NONE, or DAILY/WEEKLY/MONTHLY for an occurrence of a series.
    recurrence_type: String,
    meeting_room_id: Option<String>,
    meeting_url: String,
    #[serde(flatten)]
    settings: SettingsFields,
}

fn recurrence_type(s: &Schedule) -> String {
    s.recurrence.map_or("NONE", Frequency::as_str).to_owned()
}

fn invited_detail(s: &[sched::UserRef]) -> Vec<InvitedUserDetail> {
    s.iter()
        .map(|u| InvitedUserDetail {
            user_id: u.id.to_string(),
            username: u.username.clone(),
            real_name: u.real_name.clone(),
        })
        .collect()
}

impl ScheduleDetail {
    fn new(state: &AppState, s: &Schedule) -> Self {
        let st = &s.settings;
        Self {
            settings: SettingsFields::new(state, st),
            reservation_id: s.id.to_string(),
            meeting_type: s.kind.as_str().to_owned(),
            meeting_number: s.meeting_number.to_string(),
            schedule_start_time: s.slot.start.as_millisecond(),
            schedule_end_time: s.slot.end.as_millisecond(),
            invited_users_detail: invited_detail(&s.invitees),
            owner_id: s.owner.id.to_string(),
            owner_name: s.owner.display_name().to_owned(),
            recurrence_gid: s.series_id.map(|g| g.to_string()).unwrap_or_default(),
            recurrence_type: recurrence_type(s),
            meeting_room_id: s.room_id.map(|r| r.to_string()),
            meeting_url: state.plenum.scheduling().meeting_url(&s.join_code),
        }
    }
}

// Borrowed from the summary it shows: a page of 20 rows is written without building 200
// strings first.
/// A row of the meeting lists, with the documented fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleRow<'a> {
    meeting_number: &'a str,
    meeting_name: &'a str,
    meeting_type: &'a str,
    meeting_password: &'a str,
    #[serde(serialize_with = "as_text")]
    #[schema(value_type = String)]
    reservation_id: ScheduleId,
    #[serde(serialize_with = "as_text_or_empty")]
    #[schema(value_type = String)]
    recurrence_gid: Option<SeriesId>,
    schedule_start_time: i64,
    schedule_end_time: i64,
    recurrence_type: &'a str,
    #[serde(serialize_with = "as_text")]
    #[schema(value_type = String)]
    owner_id: UserId,
    owner_name: &'a str,
    meeting_url: String,
}

/// An id as its text, written straight into the answer.
fn as_text<T: std::fmt::Display, S: serde::Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// An optional id as its text, or `""` without one (FRTC's empty `recurrence_gid`).
fn as_text_or_empty<T: std::fmt::Display, S: serde::Serializer>(
    value: &Option<T>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => serializer.collect_str(value),
        None => serializer.serialize_str(""),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleList<'a> {
    scheduled_meetings: Vec<ScheduleRow<'a>>,
    /// Plenum extension: pages at this page size.
    total_page_num: u64,
    /// Plenum extension: meetings matching.
    total_size: u64,
}

fn schedule_list<'a>(
    state: &AppState,
    page: &'a plenum_domain::paging::Page<ScheduleSummary>,
    size: u32,
) -> ScheduleList<'a> {
    ScheduleList {
        total_page_num: page.total_pages(size),
        total_size: page.total,
        scheduled_meetings: page
            .items
            .iter()
            .map(|s| ScheduleRow {
                meeting_number: s.meeting_number.as_str(),
                meeting_name: &s.name,
                meeting_type: s.kind.as_str(),
                meeting_password: s.password.as_ref().map_or("", |p| p.as_str()),
                reservation_id: s.id,
                recurrence_gid: s.series_id,
                schedule_start_time: s.slot.start.as_millisecond(),
                schedule_end_time: s.slot.end.as_millisecond(),
                recurrence_type: s.recurrence.map_or("NONE", Frequency::as_str),
                owner_id: s.owner.id,
                owner_name: s.owner.display_name(),
                meeting_url: state.plenum.scheduling().meeting_url(&s.join_code),
            })
            .collect(),
    }
}

// --- Create Non-recurrence Meeting --------------------------------------------------------

/// Schedule an instant meeting (starts now, one hour) or a reservation.
#[utoipa::path(post, path = "/api/v1/meeting_schedule", tag = TAG,
    security(("token" = [])),
    request_body = ScheduleRequest,
    responses(
        (status = 200, body = ScheduleDetail),
        (status = 400, description = "missing_field, invalid_field, unknown_invitee …", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "room_not_found", body = ErrorBody),
        (status = 409, description = "meeting_number_taken", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    who: SignedIn,
    FrtcJson(req): FrtcJson<ScheduleRequest>,
) -> Result<Json<ScheduleDetail>, FrtcError> {
    let kind = MeetingKind::parse(
        req.meeting_type
            .as_deref()
            .ok_or_else(|| missing(Field::MeetingType))?,
    )?;
    if req.meeting_name.is_none() {
        return Err(missing(Field::MeetingName));
    }
    // A single meeting does not repeat; series are created at .../recurrence.
    if let Some(Some(_)) = req.recurrence()? {
        return Err(ValidationError::breaks(
            Rule::RecurrenceType,
            Field::RecurrenceType,
            "must be NONE for a single meeting; create a series at /api/v1/meeting_schedule/recurrence",
        )
        .into());
    }
    let slot = match kind {
        MeetingKind::Reservation => {
            let slot = req.slot();
            if slot.start_ms.is_none() {
                return Err(missing(Field::ScheduleStartTime));
            }
            if slot.end_ms.is_none() {
                return Err(missing(Field::ScheduleEndTime));
            }
            slot
        }
        _ => SlotChange::default(),
    };
    let request = MeetingRequest {
        slot,
        kind: None,
        recurrence: None,
        meeting_number: req.number()?,
        room: req.room()?,
        invitees: req.invitees()?,
        settings: req.settings()?,
    };
    let created = state
        .plenum
        .scheduling()
        .create_schedule(&who.principal, kind, request)
        .await?;
    Ok(Json(ScheduleDetail::new(&state, &created)))
}

// --- Permission before the body -------------------------------------------------------------

/// The caller with the scheduled meeting of the path's `reservation_id`, which they may
/// change. Checked before the body is read (docs/errors.md: authentication, then permission,
/// then the body): someone who may not see it gets `schedule_not_found`, an invitee
/// `permission_denied`, whatever the body holds.
#[derive(Debug)]
pub struct ScheduleManager(SignedIn, ScheduleId);

impl FromRequestParts<AppState> for ScheduleManager {
    type Rejection = FrtcError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let who = SignedIn::from_request_parts(parts, state).await?;
        let raw = path_param(
            parts,
            state,
            "reservation_id",
            ServiceError::ScheduleNotFound,
        )
        .await?;
        let id: ScheduleId = parse_id(&raw, ServiceError::ScheduleNotFound)?;
        state
            .plenum
            .scheduling()
            .managed_schedule(&who.principal, id)
            .await?;
        Ok(Self(who, id))
    }
}

/// The caller with the series of the path's `recurrence_gid`, which they may change; as
/// [`ScheduleManager`], checked before the body is read. The series as it is now is kept for
/// the fields the body leaves out.
#[derive(Debug)]
pub struct SeriesManager(SignedIn, Series);

impl FromRequestParts<AppState> for SeriesManager {
    type Rejection = FrtcError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let who = SignedIn::from_request_parts(parts, state).await?;
        let raw = path_param(parts, state, "recurrence_gid", ServiceError::SeriesNotFound).await?;
        let id: SeriesId = parse_id(&raw, ServiceError::SeriesNotFound)?;
        let series = state
            .plenum
            .scheduling()
            .managed_series(&who.principal, id)
            .await?;
        Ok(Self(who, series))
    }
}

// --- Update Non-recurrence Meeting --------------------------------------------------------

/// Update a reservation, or one occurrence of a series (the others stay). Fields left out
/// stay as they are. Instant meetings cannot be updated (`instant_meeting_immutable`).
#[utoipa::path(post, path = "/api/v1/meeting_schedule/{reservation_id}", tag = TAG,
    security(("token" = [])),
    params(("reservation_id" = String, Path)),
    request_body = ScheduleRequest,
    responses(
        (status = 204),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "schedule_not_found, room_not_found", body = ErrorBody),
        (status = 409, description = "instant_meeting_immutable", body = ErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    ScheduleManager(who, id): ScheduleManager,
    FrtcJson(req): FrtcJson<ScheduleRequest>,
) -> Result<StatusCode, FrtcError> {
    let request = MeetingRequest {
        slot: req.slot(),
        kind: req
            .meeting_type
            .as_deref()
            .map(MeetingKind::parse)
            .transpose()?,
        recurrence: req.recurrence()?,
        meeting_number: req.number()?,
        room: req.room()?,
        invitees: req.invitees()?,
        settings: req.settings()?,
    };
    state
        .plenum
        .scheduling()
        .update_schedule(&who.principal, id, request)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- Delete Scheduled Meeting ---------------------------------------------------------------

/// Delete a scheduled meeting; for an occurrence, only that occurrence.
#[utoipa::path(delete, path = "/api/v1/meeting_schedule/{reservation_id}", tag = TAG,
    security(("token" = [])),
    params(("reservation_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, FrtcError> {
    let id: ScheduleId = parse_id(&id, ServiceError::ScheduleNotFound)?;
    state
        .plenum
        .scheduling()
        .delete_schedule(&who.principal, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- Get Scheduled Meeting Detail -----------------------------------------------------------

/// A scheduled meeting, with every documented field.
#[utoipa::path(get, path = "/api/v1/meeting_schedule/{reservation_id}", tag = TAG,
    security(("token" = [])),
    params(("reservation_id" = String, Path)),
    responses((status = 200, body = ScheduleDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn detail(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<ScheduleDetail>, FrtcError> {
    let id: ScheduleId = parse_id(&id, ServiceError::ScheduleNotFound)?;
    let s = state
        .plenum
        .scheduling()
        .schedule(&who.principal, id)
        .await?;
    Ok(Json(ScheduleDetail::new(&state, &s)))
}

// --- Get Scheduled Meetings -----------------------------------------------------------------

/// The scheduled meetings the caller may see (own and invited; all of the company's for
/// MeetingOperators and SystemAdmins), occurrences included, by start time. `filter`
/// matches the name (substring) or the number (prefix).
#[utoipa::path(get, path = "/api/v1/meeting_schedule", tag = TAG,
    security(("token" = [])),
    params(PagingQuery),
    responses((status = 200, body = ScheduleList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    who: SignedIn,
    query: PagingQuery,
) -> Result<Response, FrtcError> {
    let page = query.page()?;
    let found = state
        .plenum
        .scheduling()
        .find_schedules(&who.principal, query.filter()?, page)
        .await?;
    Ok(Json(schedule_list(&state, &found, page.limit())).into_response())
}

// --- Recurrence -----------------------------------------------------------------------------

/// A recurring series as FRTC shows it after creation, with its rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesDetail {
    meeting_type: String,
    meeting_number: String,
    /// The first occurrence.
    schedule_start_time: i64,
    schedule_end_time: i64,
    invited_users_detail: Vec<InvitedUserDetail>,
    owner_id: String,
    owner_name: String,
    /// The first occurrence's reservation id.
    reservation_id: String,
    recurrence_gid: String,
    recurrence_type: String,
    #[serde(rename = "recurrenceInterval")]
    recurrence_interval: u32,
    #[serde(rename = "recurrenceStartTime")]
    recurrence_start_time: i64,
    #[serde(rename = "recurrenceEndTime")]
    recurrence_end_time: i64,
    #[serde(rename = "recurrenceEndDay")]
    recurrence_end_day: i64,
    time_zone: String,
    meeting_room_id: Option<String>,
    meeting_url: String,
    #[serde(flatten)]
    settings: SettingsFields,
}

impl SeriesDetail {
    fn new(state: &AppState, s: &Series, first: &Schedule) -> Self {
        let st = &s.settings;
        Self {
            settings: SettingsFields::new(state, st),
            meeting_type: MeetingKind::Recurrence.as_str().to_owned(),
            meeting_number: s.meeting_number.to_string(),
            schedule_start_time: first.slot.start.as_millisecond(),
            schedule_end_time: first.slot.end.as_millisecond(),
            invited_users_detail: invited_detail(&s.invitees),
            owner_id: s.owner.id.to_string(),
            owner_name: s.owner.display_name().to_owned(),
            reservation_id: first.id.to_string(),
            recurrence_gid: s.id.to_string(),
            recurrence_type: s.rule.frequency().as_str().to_owned(),
            recurrence_interval: s.rule.interval(),
            recurrence_start_time: s.rule.first_start().as_millisecond(),
            recurrence_end_time: s.rule.first_end().as_millisecond(),
            recurrence_end_day: s.rule.until().as_millisecond(),
            time_zone: s.rule.time_zone().as_str().to_owned(),
            meeting_room_id: s.room_id.map(|r| r.to_string()),
            meeting_url: state.plenum.scheduling().meeting_url(&s.join_code),
        }
    }
}

fn series_request(
    req: &ScheduleRequest,
    rule: Option<RecurrenceRule>,
) -> Result<SeriesRequest, FrtcError> {
    Ok(SeriesRequest {
        rule,
        meeting_number: req.number()?,
        room: req.room()?,
        invitees: req.invitees()?,
        settings: req.settings()?,
    })
}

/// Create a recurring series: one reservation per occurrence, all in one group
/// (`recurrence_gid`). Documented as `GET` with a body; `POST` is the usual form.
#[utoipa::path(method(post, get), path = "/api/v1/meeting_schedule/recurrence", tag = TAG,
    security(("token" = [])),
    request_body = ScheduleRequest,
    responses(
        (status = 200, body = SeriesDetail),
        (status = 400, description = "missing_field, invalid_field, too_many_occurrences …", body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
pub async fn create_recurrence(
    State(state): State<AppState>,
    who: SignedIn,
    body: Bytes,
) -> Result<Json<SeriesDetail>, FrtcError> {
    let req: ScheduleRequest = parse(&body)?;
    if let Some(t) = &req.meeting_type
        && MeetingKind::parse(t)? != MeetingKind::Recurrence
    {
        return Err(ValidationError::breaks(
            Rule::NotAChoice,
            Field::MeetingType,
            "must be recurrence here",
        )
        .into());
    }
    if req.meeting_name.is_none() {
        return Err(missing(Field::MeetingName));
    }
    let zone = state
        .plenum
        .accounts()
        .company(who.principal.company())
        .await?
        .time_zone;
    let rule = req.rule(None, zone)?;
    let (series, first) = state
        .plenum
        .scheduling()
        .create_series(&who.principal, series_request(&req, Some(rule))?)
        .await?;
    Ok(Json(SeriesDetail::new(&state, &series, &first)))
}

/// Update the whole series: its rule and settings apply to every occurrence again
/// (individual changes are replaced; occurrences keep their ids and deletions while the rule
/// keeps their original start). Fields left out stay as they are.
#[utoipa::path(post, path = "/api/v1/meeting_schedule/recurrence/{recurrence_gid}", tag = TAG,
    security(("token" = [])),
    params(("recurrence_gid" = String, Path)),
    request_body = ScheduleRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_recurrence(
    State(state): State<AppState>,
    SeriesManager(who, current): SeriesManager,
    FrtcJson(req): FrtcJson<ScheduleRequest>,
) -> Result<StatusCode, FrtcError> {
    if let Some(t) = &req.meeting_type
        && MeetingKind::parse(t)? != MeetingKind::Recurrence
    {
        return Err(ValidationError::breaks(
            Rule::Immutable,
            Field::MeetingType,
            "cannot change: a series stays recurrence",
        )
        .into());
    }
    let zone = current.rule.time_zone().clone();
    let rule = req.rule(Some(&current.rule), zone)?;
    // A rule as it was read is no change: the service merges the update into the series as
    // stored when it writes, and must not put back a rule another writer changed meanwhile.
    let rule = (rule != current.rule).then_some(rule);
    state
        .plenum
        .scheduling()
        .update_series(&who.principal, current.id, series_request(&req, rule)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The occurrences of a series, by start time, paged and filtered like the meeting list.
#[utoipa::path(get, path = "/api/v1/meeting_schedule/recurrence/{recurrence_gid}", tag = TAG,
    security(("token" = [])),
    params(("recurrence_gid" = String, Path), PagingQuery),
    responses((status = 200, body = ScheduleList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_recurrence(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    query: PagingQuery,
) -> Result<Response, FrtcError> {
    let id: SeriesId = parse_id(&id, ServiceError::SeriesNotFound)?;
    let page = query.page()?;
    let found = state
        .plenum
        .scheduling()
        .series_occurrences(&who.principal, id, query.filter()?, page)
        .await?
        .map(|o| ScheduleSummary::from(&o));
    Ok(Json(schedule_list(&state, &found, page.limit())).into_response())
}

/// Delete the whole series with all its occurrences.
#[utoipa::path(delete, path = "/api/v1/meeting_schedule/recurrence/{recurrence_gid}", tag = TAG,
    security(("token" = [])),
    params(("recurrence_gid" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_recurrence(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, FrtcError> {
    let id: SeriesId = parse_id(&id, ServiceError::SeriesNotFound)?;
    state
        .plenum
        .scheduling()
        .delete_series(&who.principal, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- Calendars (Plenum extension) -----------------------------------------------------------

fn ics(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// One scheduled meeting as iCalendar (RFC 5545); an occurrence comes as its whole series.
#[utoipa::path(get, path = "/api/v1/meeting_schedule/{reservation_id}/ical", tag = TAG,
    security(("token" = [])),
    params(("reservation_id" = String, Path)),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 404, body = ErrorBody)))]
pub async fn schedule_ical(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, FrtcError> {
    let id: ScheduleId = parse_id(&id, ServiceError::ScheduleNotFound)?;
    Ok(ics(state
        .plenum
        .scheduling()
        .schedule_ics(&who.principal, id)
        .await?))
}

/// A series as one iCalendar VEVENT with RRULE, EXDATEs and overridden occurrences.
#[utoipa::path(get, path = "/api/v1/meeting_schedule/recurrence/{recurrence_gid}/ical", tag = TAG,
    security(("token" = [])),
    params(("recurrence_gid" = String, Path)),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 404, body = ErrorBody)))]
pub async fn series_ical(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, FrtcError> {
    let id: SeriesId = parse_id(&id, ServiceError::SeriesNotFound)?;
    Ok(ics(state
        .plenum
        .scheduling()
        .series_ics(&who.principal, id)
        .await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarFeed {
    /// Subscribe to this URL in a calendar app. Shown once; asking again makes a new one.
    calendar_url: String,
}

/// Make a new secret URL of the caller's calendar (their meetings and series) for calendar
/// apps to subscribe to. The previous URL stops working.
#[utoipa::path(post, path = "/api/v1/user/calendar_feed", tag = TAG,
    security(("token" = [])),
    responses((status = 200, body = CalendarFeed), (status = 401, body = ErrorBody)))]
pub async fn rotate_feed(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Json<CalendarFeed>, FrtcError> {
    Ok(Json(CalendarFeed {
        calendar_url: state
            .plenum
            .scheduling()
            .rotate_calendar_feed(&who.principal)
            .await?,
    }))
}

/// A user's calendar feed. The secret in the URL is the credential (calendar apps cannot
/// send headers).
#[utoipa::path(get, path = "/api/v1/calendar/{feed}", tag = TAG,
    params(("feed" = String, Path, description = "`<secret>.ics`")),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 404, body = ErrorBody)))]
pub async fn feed(
    State(state): State<AppState>,
    Path(feed): Path<String>,
) -> Result<Response, FrtcError> {
    let secret = feed.strip_suffix(".ics").unwrap_or(&feed);
    let body = state
        .plenum
        .scheduling()
        .calendar_feed(secret)
        .await
        .map_err(|e| match e {
            ServiceError::ScheduleNotFound => {
                FrtcError::new(super::ErrorCode::NotFound, "no such calendar")
            }
            other => other.into(),
        })?;
    Ok(ics(body))
}

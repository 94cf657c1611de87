//! Recurring meetings: the rule of a series and its expansion into occurrences.
//!
//! An FRTC recurring meeting is described by `recurrence_type` (`DAILY`, `WEEKLY` or
//! `MONTHLY`), `recurrenceInterval` (an integer ≥ 1), `recurrenceStartTime` and
//! `recurrenceEndTime` (milliseconds since 1970: the start and end instants of the *first*
//! occurrence) and `recurrenceStartDay`/`recurrenceEndDay` (milliseconds: the date range of
//! the series). [`RecurrenceRule::new`] checks them and [`RecurrenceRule::occurrences`]
//! expands the series.
//!
//! # Semantics
//!
//! * **Local wall-clock time.** A series is expanded in an IANA time zone and keeps the
//!   *local* time of day of its first occurrence across daylight-saving changes: a daily
//!   09:00 `Europe/Berlin` meeting is at 09:00 local on both sides of a change (08:00Z in
//!   winter, 07:00Z in summer).
//! * **Candidates.** Let `d0` be the local date and `t` the local time of day of the first
//!   start. The k-th candidate (k = 0, 1, 2, …) is on local date
//!   - `d0 + k·interval` days (`DAILY`),
//!   - `d0 + 7·k·interval` days (`WEEKLY`, so always on the weekday of `d0`),
//!   - `d0 + k·interval` months (`MONTHLY`, on the day of the month of `d0`). A month that
//!     does not have that day (the 31st in a 30-day month, the 29th/30th/31st in February)
//!     is **skipped**, as RFC 5545's RRULE does, so calendar apps that read our RRULE agree
//!     with this expansion. Months are counted from `d0`, not from the last occurrence:
//!     January 31 monthly gives Jan 31, Mar 31, May 31, Jul 31, Aug 31, Oct 31, Dec 31.
//! * **From local time to an instant** with jiff's *compatible* disambiguation, which is
//!   also RFC 5545's rule: a local time that does not exist (it falls in the gap of a
//!   spring-forward change) is moved forward by the length of the gap (02:30 on
//!   2024-03-31 in Berlin becomes 03:30 CEST, 01:30Z); a local time that exists twice (the
//!   fold of a fall-back change) takes the earlier instant (02:30 on 2024-10-27 in Berlin is
//!   02:30 CEST, 00:30Z). Apart from the gap case, every occurrence has the local time of
//!   day of the first one.
//! * **The first occurrence is exactly `recurrenceStartTime`** (candidate 0 is not
//!   recomputed from its local time). The two differ only when the first start is the
//!   *later* of the two instants of a fold; an iCalendar reader resolves such a DTSTART to
//!   the earlier instant, which is RFC 5545's only reading of a local time with a TZID.
//! * **Duration.** Every occurrence lasts as long as the first: `end = start + duration`,
//!   so an occurrence that spans a change keeps its length, not its local end time.
//! * **End.** Expansion stops at the first candidate whose start is after `until`
//!   (`recurrenceEndDay`): an occurrence may start at `until` but not later. RRULE's
//!   `UNTIL` is inclusive in the same way.
//! * **Duplicates.** Where a zone skipped a whole day (Pacific/Apia on 2011-12-30) the
//!   candidate of the missing day resolves to the same instant as the next day's; a
//!   candidate whose start is not after the previous occurrence's is dropped, so starts are
//!   strictly increasing.
//! * **No silent truncation.** [`RecurrenceRule::occurrences`] takes the most occurrences
//!   the caller accepts and fails with [`TooManyOccurrences`] if the series has more.
//!   [`MAX_OCCURRENCES`] is the default limit for callers.
//! * **Precision.** Instants keep their milliseconds here; iCalendar has whole seconds, and
//!   the calendar writer drops the fraction.
//!
//! # Validation
//!
//! Every instant must lie in [`EARLIEST`]..=[`LATEST`] (1970 to late 9999: the latest instant
//! at which an occurrence and its duration still fit jiff's range). The interval is
//! 1..=[`MAX_INTERVAL`]; the first occurrence ends after it starts and lasts at most
//! [`MAX_DURATION`]; `recurrenceEndDay` is not before the first start; `recurrenceStartDay`,
//! when given, is at most one day after the first start (it is usually the first start, or
//! midnight of its day in some zone). It is not kept: the first start is where the series
//! begins. Each error names the FRTC field it is about.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use jiff::{SignedDuration, Span};

use crate::company::TimeZoneName;
use crate::{Field, Rule, Timestamp, ValidationError};

/// The default for the most occurrences a caller expands (the limit passed to
/// [`RecurrenceRule::occurrences`]).
pub const MAX_OCCURRENCES: usize = 500;

/// The largest `recurrenceInterval`.
pub const MAX_INTERVAL: u32 = 99;

/// The longest an occurrence may last.
pub const MAX_DURATION: SignedDuration = SignedDuration::from_hours(24);

/// The earliest instant a rule accepts: 1970-01-01T00:00:00Z.
pub const EARLIEST: Timestamp = Timestamp::UNIX_EPOCH;

/// The latest instant a rule accepts: 9999-12-29T00:00:00Z. An occurrence starting then and
/// lasting [`MAX_DURATION`] still ends inside jiff's range (which ends on 9999-12-30).
pub const LATEST: Timestamp = Timestamp::constant(253_402_041_600, 0);

/// An upper bound on the candidates of an expansion. Every candidate is at least one local
/// day after the previous one and no local date is after 9999-12-31, fewer than 3,000,000
/// days after 1969-12-31: expansion stops on its own long before this bound.
const CANDIDATE_LIMIT: i64 = 3_000_000;

/// How often a series repeats (FRTC `recurrence_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
}

impl Frequency {
    pub const ALL: [Frequency; 3] = [Frequency::Daily, Frequency::Weekly, Frequency::Monthly];

    /// The FRTC and RFC 5545 spelling: `DAILY`, `WEEKLY`, `MONTHLY`.
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Daily => "DAILY",
            Frequency::Weekly => "WEEKLY",
            Frequency::Monthly => "MONTHLY",
        }
    }

    /// Parses the exact upper-case spelling of [`Frequency::as_str`]; anything else
    /// (lower case, surrounding spaces, `YEARLY`) is refused.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Frequency::ALL
            .into_iter()
            .find(|f| f.as_str() == raw)
            .ok_or_else(|| {
                ValidationError::breaks(
                    Rule::RecurrenceType,
                    Field::RecurrenceType,
                    "must be DAILY, WEEKLY or MONTHLY",
                )
            })
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Frequency {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Frequency::parse(s)
    }
}

/// One occurrence of a series: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Occurrence {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// A series has more occurrences than the caller accepts. Nothing is truncated: the caller
/// refuses the series or asks for a shorter one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the series has more than {max} occurrences")]
pub struct TooManyOccurrences {
    pub max: usize,
}

/// A checked recurrence rule. Built only by [`RecurrenceRule::new`] (from FRTC's fields) or
/// [`RecurrenceRule::from_parts`] (from stored values), which enforce the rules of the
/// module documentation; the fields are read through accessors so the invariants hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecurrenceRule {
    frequency: Frequency,
    interval: u32,
    first_start: Timestamp,
    duration: SignedDuration,
    until: Timestamp,
    time_zone: TimeZoneName,
}

impl RecurrenceRule {
    /// Checks FRTC's fields of a recurring meeting: `interval` is `recurrenceInterval`,
    /// `start_time_ms`/`end_time_ms` are `recurrenceStartTime`/`recurrenceEndTime` (the
    /// first occurrence), `start_day_ms`/`end_day_ms` are
    /// `recurrenceStartDay`/`recurrenceEndDay`. The time zone is the one the series is
    /// expanded in (usually the company's).
    pub fn new(
        frequency: Frequency,
        interval: i64,
        start_time_ms: i64,
        end_time_ms: i64,
        start_day_ms: Option<i64>,
        end_day_ms: i64,
        time_zone: TimeZoneName,
    ) -> Result<Self, ValidationError> {
        let interval = parse_interval(interval)?;
        let first_start = instant_from_ms(start_time_ms, Field::RecurrenceStartTime)?;
        let first_end = instant_from_ms(end_time_ms, Field::RecurrenceEndTime)?;
        let until = instant_from_ms(end_day_ms, Field::RecurrenceEndDay)?;
        if let Some(start_day_ms) = start_day_ms {
            let start_day = instant_from_ms(start_day_ms, Field::RecurrenceStartDay)?;
            if start_day.duration_since(first_start) > SignedDuration::from_hours(24) {
                return Err(ValidationError::breaks(
                    Rule::Conflicting,
                    Field::RecurrenceStartDay,
                    "must not be after the day of recurrenceStartTime",
                ));
            }
        }
        let duration = first_end.duration_since(first_start);
        Self::from_parts(frequency, interval, first_start, duration, until, time_zone)
    }

    /// Checks a rule given as instants (as a store keeps it): the same rules as
    /// [`RecurrenceRule::new`], with the same fields named in errors.
    pub fn from_parts(
        frequency: Frequency,
        interval: u32,
        first_start: Timestamp,
        duration: SignedDuration,
        until: Timestamp,
        time_zone: TimeZoneName,
    ) -> Result<Self, ValidationError> {
        let interval = parse_interval(i64::from(interval))?;
        check_range(first_start, Field::RecurrenceStartTime)?;
        if duration <= SignedDuration::ZERO {
            return Err(ValidationError::breaks(
                Rule::EndBeforeStart,
                Field::RecurrenceEndTime,
                "must be after recurrenceStartTime",
            ));
        }
        if duration > MAX_DURATION {
            return Err(ValidationError::breaks(
                Rule::TooLongMeeting,
                Field::RecurrenceEndTime,
                "must be at most 24 hours after recurrenceStartTime",
            ));
        }
        // In range, so adding at most 24 hours cannot overflow jiff's range (see LATEST).
        match first_start.checked_add(duration) {
            Ok(end) if end <= LATEST => {}
            _ => return Err(not_an_instant(Field::RecurrenceEndTime)),
        }
        check_range(until, Field::RecurrenceEndDay)?;
        if until < first_start {
            return Err(ValidationError::breaks(
                Rule::EndBeforeStart,
                Field::RecurrenceEndDay,
                "must not be before recurrenceStartTime",
            ));
        }
        Ok(Self {
            frequency,
            interval,
            first_start,
            duration,
            until,
            time_zone,
        })
    }

    pub fn frequency(&self) -> Frequency {
        self.frequency
    }

    /// 1..=[`MAX_INTERVAL`].
    pub fn interval(&self) -> u32 {
        self.interval
    }

    /// The start of the first occurrence.
    pub fn first_start(&self) -> Timestamp {
        self.first_start
    }

    /// The end of the first occurrence.
    pub fn first_end(&self) -> Timestamp {
        self.end_of(self.first_start)
    }

    /// How long every occurrence lasts: more than zero, at most [`MAX_DURATION`].
    pub fn duration(&self) -> SignedDuration {
        self.duration
    }

    /// No occurrence starts after this instant.
    pub fn until(&self) -> Timestamp {
        self.until
    }

    /// The zone the series is expanded in.
    pub fn time_zone(&self) -> &TimeZoneName {
        &self.time_zone
    }

    /// The occurrences of the series, in order, as the module documentation defines them.
    /// Fails if there are more than `max` of them.
    pub fn occurrences(&self, max: usize) -> Result<Vec<Occurrence>, TooManyOccurrences> {
        let tz = self.time_zone.time_zone();
        let first_local = tz.to_datetime(self.first_start);
        let (first_date, time) = (first_local.date(), first_local.time());
        let mut out: Vec<Occurrence> = Vec::new();
        for k in 0..CANDIDATE_LIMIT {
            let start = if k == 0 {
                self.first_start
            } else {
                let date = match self.candidate_date(first_date, k) {
                    Candidate::On(date) => date,
                    Candidate::Skip => continue,
                    Candidate::End => break,
                };
                match tz
                    .to_ambiguous_timestamp(date.to_datetime(time))
                    .compatible()
                {
                    Ok(start) => start,
                    // Only a local date-time past the end of jiff's range fails, and that is
                    // after `until` (at most LATEST).
                    Err(_) => break,
                }
            };
            if start > self.until {
                // Starts never decrease (consecutive candidates are at least a local day
                // apart and no zone's offset ever jumped by more than a day), so no later
                // candidate can be within the series either.
                break;
            }
            if out.last().is_some_and(|previous| start <= previous.start) {
                continue;
            }
            if out.len() >= max {
                return Err(TooManyOccurrences { max });
            }
            out.push(Occurrence {
                start,
                end: self.end_of(start),
            });
        }
        Ok(out)
    }

    fn end_of(&self, start: Timestamp) -> Timestamp {
        // Cannot fail: every start is at most LATEST (validated for the first, `until` for
        // the others) and LATEST plus MAX_DURATION is inside jiff's range.
        start.checked_add(self.duration).unwrap_or(Timestamp::MAX)
    }

    /// The local date of candidate `k` (k ≥ 1).
    fn candidate_date(&self, first_date: Date, k: i64) -> Candidate {
        let interval = i64::from(self.interval);
        let days = match self.frequency {
            Frequency::Daily => k * interval,
            Frequency::Weekly => k * interval * 7,
            Frequency::Monthly => return monthly_candidate(first_date, k * interval),
        };
        // Both fail only past the end of the civil calendar (9999-12-31): the series is over.
        match Span::new()
            .try_days(days)
            .and_then(|span| first_date.checked_add(span))
        {
            Ok(date) => Candidate::On(date),
            Err(_) => Candidate::End,
        }
    }
}

enum Candidate {
    On(Date),
    /// The month has no such day: no occurrence, the series goes on.
    Skip,
    /// Past the end of the civil calendar.
    End,
}

fn monthly_candidate(first_date: Date, months: i64) -> Candidate {
    let index = i64::from(first_date.year()) * 12 + i64::from(first_date.month()) - 1 + months;
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) + 1);
    let (Ok(year), Ok(month)) = (i16::try_from(year), i8::try_from(month)) else {
        return Candidate::End;
    };
    let Ok(first_of_month) = Date::new(year, month, 1) else {
        return Candidate::End;
    };
    let day = first_date.day();
    if day > first_of_month.days_in_month() {
        return Candidate::Skip;
    }
    match Date::new(year, month, day) {
        Ok(date) => Candidate::On(date),
        // Not reached: the day was just checked against the month's length.
        Err(_) => Candidate::Skip,
    }
}

fn parse_interval(interval: i64) -> Result<u32, ValidationError> {
    match u32::try_from(interval) {
        Ok(interval) if (1..=MAX_INTERVAL).contains(&interval) => Ok(interval),
        _ => Err(ValidationError::breaks(
            Rule::IntervalOutOfRange,
            Field::RecurrenceInterval,
            format!("must be between 1 and {MAX_INTERVAL}"),
        )),
    }
}

fn not_an_instant(field: Field) -> ValidationError {
    ValidationError::breaks(
        Rule::TimeForm,
        field,
        "must be an instant between 1970 and 9999, in milliseconds since 1970-01-01T00:00:00Z",
    )
}

fn check_range(instant: Timestamp, field: Field) -> Result<(), ValidationError> {
    if (EARLIEST..=LATEST).contains(&instant) {
        Ok(())
    } else {
        Err(not_an_instant(field))
    }
}

fn instant_from_ms(ms: i64, field: Field) -> Result<Timestamp, ValidationError> {
    let instant = Timestamp::from_millisecond(ms).map_err(|_| not_an_instant(field))?;
    check_range(instant, field)?;
    Ok(instant)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use jiff::civil::{DateTime, Time, date};
    use jiff::tz::TimeZone;
    use proptest::prelude::*;

    fn zone(name: &str) -> TimeZoneName {
        TimeZoneName::parse(name).unwrap()
    }

    /// The instant of a local date-time in a zone (compatible disambiguation).
    fn at(zone_name: &str, dt: DateTime) -> Timestamp {
        zone(zone_name)
            .time_zone()
            .to_ambiguous_timestamp(dt)
            .compatible()
            .unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// A rule from its parts, for tests here and in `calendar.rs`.
    pub(crate) fn rule(
        frequency: Frequency,
        interval: i64,
        first_start: Timestamp,
        duration_minutes: i64,
        until: Timestamp,
        zone_name: &str,
    ) -> RecurrenceRule {
        let start = first_start.as_millisecond();
        RecurrenceRule::new(
            frequency,
            interval,
            start,
            start + duration_minutes * 60_000,
            Some(start),
            until.as_millisecond(),
            zone(zone_name),
        )
        .unwrap()
    }

    fn starts(rule: &RecurrenceRule) -> Vec<String> {
        rule.occurrences(MAX_OCCURRENCES)
            .unwrap()
            .iter()
            .map(|o| o.start.to_string())
            .collect()
    }

    fn local_starts(rule: &RecurrenceRule) -> Vec<String> {
        let tz = rule.time_zone().time_zone();
        rule.occurrences(MAX_OCCURRENCES)
            .unwrap()
            .iter()
            .map(|o| tz.to_datetime(o.start).to_string())
            .collect()
    }

    #[test]
    fn frequency_is_parsed_exactly() {
        for f in Frequency::ALL {
            assert_eq!(Frequency::parse(f.as_str()), Ok(f));
            assert_eq!(f.as_str().parse::<Frequency>(), Ok(f));
        }
        for bad in ["daily", "Daily", " DAILY", "YEARLY", "", "HOURLY"] {
            let err = Frequency::parse(bad).unwrap_err();
            assert_eq!(err.field, Field::RecurrenceType, "{bad}");
            assert_eq!(err.field.as_str(), "recurrence_type");
        }
    }

    #[test]
    fn invalid_rules_name_their_field() {
        let utc = TimeZoneName::utc;
        let s = ts("2024-01-01T09:00:00Z").as_millisecond();
        let e = s + 3_600_000;
        let day = 86_400_000;
        let new = |interval, start, end, start_day, end_day| {
            RecurrenceRule::new(
                Frequency::Daily,
                interval,
                start,
                end,
                start_day,
                end_day,
                utc(),
            )
            .map(|_| ())
            .map_err(|e| e.field)
        };
        assert_eq!(new(1, s, e, Some(s), s + 10 * day), Ok(()));
        assert_eq!(new(1, s, e, None, s), Ok(()));
        assert_eq!(new(99, s, s + day, Some(s + day), s), Ok(()));
        for interval in [0, -1, 100, i64::MIN, i64::MAX] {
            assert_eq!(
                new(interval, s, e, None, s + day),
                Err(Field::RecurrenceInterval)
            );
        }
        assert_eq!(new(1, s, s, None, s + day), Err(Field::RecurrenceEndTime));
        assert_eq!(
            new(1, s, s - 1, None, s + day),
            Err(Field::RecurrenceEndTime)
        );
        assert_eq!(
            new(1, s, s + day + 1, None, s + day),
            Err(Field::RecurrenceEndTime)
        );
        assert_eq!(new(1, s, e, None, s - 1), Err(Field::RecurrenceEndDay));
        assert_eq!(
            new(1, s, e, Some(s + day + 1), s + day),
            Err(Field::RecurrenceStartDay)
        );
        assert_eq!(
            new(1, -1, e, None, s + day),
            Err(Field::RecurrenceStartTime)
        );
        assert_eq!(
            new(1, i64::MIN, e, None, s + day),
            Err(Field::RecurrenceStartTime)
        );
        assert_eq!(new(1, s, i64::MAX, None, s), Err(Field::RecurrenceEndTime));
        assert_eq!(new(1, s, e, None, i64::MAX), Err(Field::RecurrenceEndDay));
        assert_eq!(new(1, s, e, Some(-5), s), Err(Field::RecurrenceStartDay));
        let latest = LATEST.as_millisecond();
        assert_eq!(new(1, latest - 1000, latest, None, latest), Ok(()));
        assert_eq!(
            new(1, latest, latest + 1000, None, latest),
            Err(Field::RecurrenceEndTime)
        );
        assert_eq!(
            new(1, latest + 1, latest + 1000, None, latest),
            Err(Field::RecurrenceStartTime)
        );
        let err = RecurrenceRule::new(Frequency::Daily, 0, s, e, None, s, utc()).unwrap_err();
        assert_eq!(err.field.as_str(), "recurrenceInterval");
    }

    #[test]
    fn from_parts_checks_the_same_rules() {
        let s = ts("2024-01-01T09:00:00Z");
        let hour = SignedDuration::from_hours(1);
        let parts = |interval, duration, until| {
            RecurrenceRule::from_parts(Frequency::Weekly, interval, s, duration, until, zone("UTC"))
                .map_err(|e| e.field)
        };
        assert!(parts(1, hour, s).is_ok());
        assert_eq!(parts(0, hour, s).unwrap_err(), Field::RecurrenceInterval);
        assert_eq!(
            parts(1, SignedDuration::ZERO, s).unwrap_err(),
            Field::RecurrenceEndTime
        );
        assert_eq!(
            parts(1, SignedDuration::from_hours(25), s).unwrap_err(),
            Field::RecurrenceEndTime
        );
        assert_eq!(
            parts(1, hour, ts("2023-12-31T00:00:00Z")).unwrap_err(),
            Field::RecurrenceEndDay
        );
    }

    #[test]
    fn daily_in_berlin_keeps_nine_o_clock_across_both_changes() {
        let r = rule(
            Frequency::Daily,
            1,
            at("Europe/Berlin", date(2024, 3, 29).at(9, 0, 0, 0)),
            60,
            at("Europe/Berlin", date(2024, 4, 2).at(9, 0, 0, 0)),
            "Europe/Berlin",
        );
        assert_eq!(
            starts(&r),
            [
                "2024-03-29T08:00:00Z",
                "2024-03-30T08:00:00Z",
                "2024-03-31T07:00:00Z",
                "2024-04-01T07:00:00Z",
                "2024-04-02T07:00:00Z",
            ]
        );
        let r = rule(
            Frequency::Daily,
            1,
            at("Europe/Berlin", date(2024, 10, 25).at(9, 0, 0, 0)),
            60,
            at("Europe/Berlin", date(2024, 10, 29).at(9, 0, 0, 0)),
            "Europe/Berlin",
        );
        assert_eq!(
            starts(&r),
            [
                "2024-10-25T07:00:00Z",
                "2024-10-26T07:00:00Z",
                "2024-10-27T08:00:00Z",
                "2024-10-28T08:00:00Z",
                "2024-10-29T08:00:00Z",
            ]
        );
        for o in r.occurrences(10).unwrap() {
            assert_eq!(o.end.duration_since(o.start), SignedDuration::from_hours(1));
        }
    }

    #[test]
    fn daily_in_new_york_keeps_nine_o_clock_across_both_changes() {
        let r = rule(
            Frequency::Daily,
            1,
            at("America/New_York", date(2024, 3, 9).at(9, 0, 0, 0)),
            30,
            at("America/New_York", date(2024, 11, 4).at(9, 0, 0, 0)),
            "America/New_York",
        );
        let occ = r.occurrences(MAX_OCCURRENCES).unwrap();
        assert_eq!(occ.len(), 241);
        let tz = r.time_zone().time_zone();
        for o in &occ {
            assert_eq!(tz.to_datetime(o.start).time(), Time::constant(9, 0, 0, 0));
        }
        assert_eq!(occ[0].start, ts("2024-03-09T14:00:00Z"));
        assert_eq!(occ[1].start, ts("2024-03-10T13:00:00Z"));
        assert_eq!(occ[239].start, ts("2024-11-03T14:00:00Z"));
        assert_eq!(occ[240].start, ts("2024-11-04T14:00:00Z"));
        assert_eq!(occ[238].start, ts("2024-11-02T13:00:00Z"));
    }

    #[test]
    fn nonexistent_local_time_moves_forward_and_ambiguous_takes_the_earlier() {
        let r = rule(
            Frequency::Daily,
            1,
            at("Europe/Berlin", date(2024, 3, 30).at(2, 30, 0, 0)),
            60,
            at("Europe/Berlin", date(2024, 4, 1).at(2, 30, 0, 0)),
            "Europe/Berlin",
        );
        assert_eq!(
            starts(&r),
            [
                "2024-03-30T01:30:00Z",
                // 02:30 does not exist on 2024-03-31: 03:30 CEST.
                "2024-03-31T01:30:00Z",
                "2024-04-01T00:30:00Z",
            ]
        );
        assert_eq!(
            local_starts(&r),
            [
                "2024-03-30T02:30:00",
                "2024-03-31T03:30:00",
                "2024-04-01T02:30:00"
            ]
        );
        let r = rule(
            Frequency::Daily,
            1,
            at("Europe/Berlin", date(2024, 10, 26).at(2, 30, 0, 0)),
            60,
            at("Europe/Berlin", date(2024, 10, 28).at(2, 30, 0, 0)),
            "Europe/Berlin",
        );
        assert_eq!(
            starts(&r),
            [
                "2024-10-26T00:30:00Z",
                // 02:30 happens twice on 2024-10-27: the first, in CEST.
                "2024-10-27T00:30:00Z",
                "2024-10-28T01:30:00Z",
            ]
        );
    }

    #[test]
    fn a_first_start_in_the_later_half_of_a_fold_is_kept() {
        // 02:30 CET on 2024-10-27, the second 02:30 of that night.
        let first = ts("2024-10-27T01:30:00Z");
        let r = rule(
            Frequency::Daily,
            1,
            first,
            60,
            ts("2024-10-28T12:00:00Z"),
            "Europe/Berlin",
        );
        assert_eq!(starts(&r), ["2024-10-27T01:30:00Z", "2024-10-28T01:30:00Z"]);
    }

    #[test]
    fn a_skipped_day_gives_no_duplicate() {
        // Samoa skipped 2011-12-30 by moving from UTC-10 to UTC+14.
        let r = rule(
            Frequency::Daily,
            1,
            at("Pacific/Apia", date(2011, 12, 28).at(9, 0, 0, 0)),
            60,
            at("Pacific/Apia", date(2012, 1, 1).at(9, 0, 0, 0)),
            "Pacific/Apia",
        );
        assert_eq!(
            local_starts(&r),
            [
                "2011-12-28T09:00:00",
                "2011-12-29T09:00:00",
                "2011-12-31T09:00:00",
                "2012-01-01T09:00:00"
            ]
        );
    }

    #[test]
    fn monthly_on_the_31st_skips_short_months() {
        let r = rule(
            Frequency::Monthly,
            1,
            at("Europe/Berlin", date(2024, 1, 31).at(10, 0, 0, 0)),
            60,
            at("Europe/Berlin", date(2024, 12, 31).at(23, 59, 59, 0)),
            "Europe/Berlin",
        );
        assert_eq!(
            local_starts(&r),
            [
                "2024-01-31T10:00:00",
                "2024-03-31T10:00:00",
                "2024-05-31T10:00:00",
                "2024-07-31T10:00:00",
                "2024-08-31T10:00:00",
                "2024-10-31T10:00:00",
                "2024-12-31T10:00:00",
            ]
        );
        // Every second month from January 31: Jan, Mar, May, Jul, (Sep: no 31st), (Nov), Jan.
        let r = rule(
            Frequency::Monthly,
            2,
            ts("2024-01-31T10:00:00Z"),
            60,
            ts("2025-03-31T10:00:00Z"),
            "UTC",
        );
        assert_eq!(
            starts(&r),
            [
                "2024-01-31T10:00:00Z",
                "2024-03-31T10:00:00Z",
                "2024-05-31T10:00:00Z",
                "2024-07-31T10:00:00Z",
                "2025-01-31T10:00:00Z",
                "2025-03-31T10:00:00Z",
            ]
        );
    }

    #[test]
    fn monthly_on_february_29th() {
        let r = rule(
            Frequency::Monthly,
            1,
            ts("2024-02-29T10:00:00Z"),
            60,
            ts("2025-03-29T10:00:00Z"),
            "UTC",
        );
        let got = starts(&r);
        assert_eq!(got.len(), 13);
        assert_eq!(got[1], "2024-03-29T10:00:00Z");
        assert_eq!(got[11], "2025-01-29T10:00:00Z");
        // No 2025-02-29.
        assert_eq!(got[12], "2025-03-29T10:00:00Z");
        // Every 12 months ("yearly"): only leap years, and 2100 is not one.
        let r = rule(
            Frequency::Monthly,
            12,
            ts("2092-02-29T10:00:00Z"),
            60,
            ts("2108-12-31T00:00:00Z"),
            "UTC",
        );
        assert_eq!(
            starts(&r),
            [
                "2092-02-29T10:00:00Z",
                "2096-02-29T10:00:00Z",
                "2104-02-29T10:00:00Z",
                "2108-02-29T10:00:00Z",
            ]
        );
    }

    #[test]
    fn weekly_keeps_the_weekday_and_local_time() {
        let r = rule(
            Frequency::Weekly,
            2,
            at("Europe/Berlin", date(2024, 3, 19).at(14, 15, 0, 0)),
            45,
            at("Europe/Berlin", date(2024, 5, 1).at(0, 0, 0, 0)),
            "Europe/Berlin",
        );
        assert_eq!(
            local_starts(&r),
            [
                "2024-03-19T14:15:00",
                "2024-04-02T14:15:00",
                "2024-04-16T14:15:00",
                "2024-04-30T14:15:00",
            ]
        );
    }

    #[test]
    fn until_is_inclusive() {
        let first = ts("2024-01-01T09:00:00Z");
        let r = rule(
            Frequency::Daily,
            3,
            first,
            60,
            ts("2024-01-07T09:00:00Z"),
            "UTC",
        );
        assert_eq!(r.occurrences(10).unwrap().len(), 3);
        let r = rule(
            Frequency::Daily,
            3,
            first,
            60,
            ts("2024-01-07T08:59:59Z"),
            "UTC",
        );
        assert_eq!(r.occurrences(10).unwrap().len(), 2);
        let r = rule(Frequency::Daily, 3, first, 60, first, "UTC");
        assert_eq!(
            r.occurrences(10).unwrap(),
            [Occurrence {
                start: first,
                end: ts("2024-01-01T10:00:00Z")
            }]
        );
    }

    #[test]
    fn more_than_max_is_an_error() {
        let r = rule(
            Frequency::Daily,
            1,
            ts("2024-01-01T09:00:00Z"),
            60,
            ts("2024-01-10T09:00:00Z"),
            "UTC",
        );
        assert_eq!(r.occurrences(10).unwrap().len(), 10);
        assert_eq!(r.occurrences(9), Err(TooManyOccurrences { max: 9 }));
        assert_eq!(r.occurrences(0), Err(TooManyOccurrences { max: 0 }));
        // A series until the end of the range is refused with the default, quickly.
        let r = rule(
            Frequency::Daily,
            1,
            ts("2024-01-01T09:00:00Z"),
            60,
            LATEST,
            "UTC",
        );
        assert_eq!(
            r.occurrences(MAX_OCCURRENCES),
            Err(TooManyOccurrences {
                max: MAX_OCCURRENCES
            })
        );
    }

    #[test]
    fn expansion_ends_at_the_end_of_the_range() {
        let r = rule(
            Frequency::Monthly,
            99,
            ts("1970-01-31T00:00:00Z"),
            24 * 60,
            LATEST,
            "Pacific/Kiritimati",
        );
        let occ = r.occurrences(usize::MAX).unwrap();
        assert!(occ.len() > 300);
        assert!(occ.iter().all(|o| o.start <= LATEST));
        let r = rule(
            Frequency::Weekly,
            1,
            ts("9999-12-01T00:00:00Z"),
            60,
            LATEST,
            "UTC",
        );
        assert_eq!(r.occurrences(10).unwrap().len(), 5);
    }

    // ---- properties ----

    /// Zones with changes of several kinds: one-hour, half-hour (Lord Howe), at midnight
    /// (São Paulo until 2019, Santiago), southern hemisphere, none (Kolkata, UTC). None of
    /// them skipped a whole day, so a gap never moves an occurrence to another date.
    const ZONES: &[&str] = &[
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "America/Sao_Paulo",
        "America/Santiago",
        "Asia/Kolkata",
        "Europe/London",
    ];

    fn step_months(first: Date, months: i64) -> Option<Date> {
        // An independent month step: jiff clamps the day, so a changed day means "no such
        // day in that month".
        let d = first.checked_add(Span::new().months(months)).ok()?;
        (d.day() == first.day()).then_some(d)
    }

    fn arb_rule() -> impl Strategy<Value = RecurrenceRule> {
        (
            prop::sample::select(Frequency::ALL.to_vec()),
            prop_oneof![1i64..=3, 1i64..=99],
            // A local date between 2000 and 2040 …
            0i64..(40 * 365),
            // … at any minute, or often at a time that some changes skip or repeat.
            prop_oneof![
                0i64..(24 * 60),
                prop::sample::select(vec![
                    0,
                    30,
                    60 + 30,
                    2 * 60,
                    2 * 60 + 15,
                    2 * 60 + 30,
                    23 * 60 + 30
                ]),
            ],
            1i64..=(24 * 60),
            0i64..=1_100,
            prop::sample::select(ZONES.to_vec()),
            0i64..86_400,
        )
            .prop_map(
                |(frequency, interval, day, minute, duration_min, steps, zone_name, extra_s)| {
                    let local_start = date(2000, 1, 1)
                        .checked_add(Span::new().days(day))
                        .unwrap()
                        .to_datetime(
                            Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0).unwrap(),
                        );
                    let start = at(zone_name, local_start).as_second();
                    let step_days = match frequency {
                        Frequency::Daily => interval,
                        Frequency::Weekly => 7 * interval,
                        Frequency::Monthly => 31 * interval,
                    };
                    let until = start + (steps * step_days * 86_400 / 2) + extra_s;
                    RecurrenceRule::new(
                        frequency,
                        interval,
                        start * 1000,
                        (start + duration_min * 60) * 1000,
                        Some(start * 1000),
                        until * 1000,
                        zone(zone_name),
                    )
                    .unwrap()
                },
            )
    }

    fn nominal_date(r: &RecurrenceRule, k: i64) -> Option<Date> {
        let tz = r.time_zone().time_zone();
        let d0 = tz.to_datetime(r.first_start()).date();
        let i = i64::from(r.interval());
        match r.frequency() {
            Frequency::Daily => d0.checked_add(Span::new().days(k * i)).ok(),
            Frequency::Weekly => d0.checked_add(Span::new().days(7 * k * i)).ok(),
            Frequency::Monthly => step_months(d0, k * i),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn expansion_follows_the_definition(r in arb_rule()) {
            let tz: TimeZone = r.time_zone().time_zone();
            let occ = match r.occurrences(MAX_OCCURRENCES) {
                Ok(occ) => occ,
                Err(TooManyOccurrences { max }) => {
                    prop_assert_eq!(max, MAX_OCCURRENCES);
                    // Really more than max: the 501st candidate is within the series.
                    let all = r.occurrences(usize::MAX).unwrap();
                    prop_assert!(all.len() > MAX_OCCURRENCES);
                    return Ok(());
                }
            };
            prop_assert!(!occ.is_empty());
            prop_assert_eq!(occ[0].start, r.first_start());
            let first_local = tz.to_datetime(r.first_start());
            let (d0, t) = (first_local.date(), first_local.time());
            let mut previous: Option<(Occurrence, Date)> = None;
            for o in &occ {
                // Within the series, constant duration.
                prop_assert!(r.first_start() <= o.start && o.start <= r.until());
                prop_assert_eq!(o.end.duration_since(o.start), r.duration());
                // Local time of the first, except where that time does not exist.
                let local = tz.to_datetime(o.start);
                let date = local.date();
                if local.time() != t {
                    let nominal = tz.to_ambiguous_timestamp(date.to_datetime(t));
                    prop_assert!(
                        matches!(nominal.offset(), jiff::tz::AmbiguousOffset::Gap { .. }),
                        "{} is not at {} local and that time exists", o.start, t
                    );
                    prop_assert_eq!(nominal.compatible().unwrap(), o.start);
                }
                // Weekday and day of the month.
                match r.frequency() {
                    Frequency::Daily => {}
                    Frequency::Weekly => prop_assert_eq!(date.weekday(), d0.weekday()),
                    Frequency::Monthly => prop_assert_eq!(date.day(), d0.day()),
                }
                if let Some((p, pdate)) = previous {
                    // Resolved as documented: a gap moves forward, a fold takes the earlier.
                    let nominal = tz.to_ambiguous_timestamp(date.to_datetime(t));
                    prop_assert_eq!(nominal.compatible().unwrap(), o.start);
                    prop_assert!(p.start < o.start);
                    // Spacing: exactly one interval, or for MONTHLY a multiple whose
                    // intermediate months lack the day.
                    let i = i64::from(r.interval());
                    match r.frequency() {
                        Frequency::Daily => prop_assert_eq!(
                            pdate.checked_add(Span::new().days(i)).unwrap(), date),
                        Frequency::Weekly => prop_assert_eq!(
                            pdate.checked_add(Span::new().days(7 * i)).unwrap(), date),
                        Frequency::Monthly => {
                            let months = (i64::from(date.year()) - i64::from(pdate.year())) * 12
                                + i64::from(date.month()) - i64::from(pdate.month());
                            prop_assert!(months > 0 && months % i == 0);
                            let first = pdate.first_of_month();
                            for j in 1..months / i {
                                let m = first.checked_add(Span::new().months(j * i)).unwrap();
                                prop_assert!(m.days_in_month() < d0.day());
                            }
                        }
                    }
                }
                previous = Some((*o, date));
            }
            // Complete: the next candidate after the last one starts after `until`.
            let last_date = previous.map(|(_, date)| date);
            let k_last = (0..=100_000).find(|k| nominal_date(&r, *k) == last_date);
            prop_assert!(k_last.is_some());
            let k_last = k_last.unwrap();
            // At most 7 candidates in a row lack the day (February 29 every 12 months
            // around 2100); 100 is plenty.
            let next = (k_last + 1..k_last + 100).find_map(|k| nominal_date(&r, k));
            prop_assert!(next.is_some());
            let next = next.unwrap();
            let next_start = tz.to_ambiguous_timestamp(next.to_datetime(t)).compatible().unwrap();
            prop_assert!(next_start > r.until());
            // In UTC the count has a closed form.
            if r.time_zone().as_str() == "UTC" {
                let days = r.until().duration_since(r.first_start()).as_secs() / 86_400;
                let i = i64::from(r.interval());
                let expected = match r.frequency() {
                    Frequency::Daily => Some(days / i + 1),
                    Frequency::Weekly => Some(days / (7 * i) + 1),
                    Frequency::Monthly => None,
                };
                if let Some(expected) = expected {
                    prop_assert_eq!(occ.len() as i64, expected);
                } else {
                    let expected = (0..2_000)
                        .filter_map(|k| step_months(d0, k * i))
                        // Steps of up to 99 months reach the end of jiff's range (9999-12-31),
                        // where a date has no timestamp: those lie past any `until`.
                        .filter_map(|d| d.to_datetime(t).to_zoned(TimeZone::UTC).ok())
                        .map(|z| z.timestamp())
                        .filter(|s| *s <= r.until())
                        .count();
                    prop_assert_eq!(occ.len(), expected);
                }
            }
        }

        #[test]
        fn the_limit_is_exact(r in arb_rule()) {
            if let Ok(occ) = r.occurrences(MAX_OCCURRENCES) {
                let n = occ.len();
                prop_assert_eq!(r.occurrences(n), Ok(occ));
                prop_assert_eq!(r.occurrences(n - 1), Err(TooManyOccurrences { max: n - 1 }));
            }
        }
    }
}

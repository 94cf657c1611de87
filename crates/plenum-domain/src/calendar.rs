//! An RFC 5545 iCalendar writer: meetings as a calendar that calendar apps subscribe to.
//!
//! [`render`] turns [`CalendarEvent`]s into a `VCALENDAR`:
//!
//! * one `VEVENT` per event with `UID`, `DTSTAMP`, `DTSTART`/`DTEND`, `SUMMARY`,
//!   `DESCRIPTION` (left out when empty), `URL`, `ORGANIZER`, `CREATED`, `LAST-MODIFIED`
//!   and `SEQUENCE`;
//! * for a series, `RRULE` ([`RecurrenceRule::rrule`]) and `EXDATE` for its deleted
//!   occurrences, plus one `VEVENT` per changed occurrence with the series' `UID` and a
//!   `RECURRENCE-ID` naming the occurrence's original start;
//! * one `VTIMEZONE` per zone used (other than UTC), sorted by name, before the events.
//!
//! Date-times are written in the event's zone as `DTSTART;TZID=Europe/Berlin:20240331T090000`
//! so that readers expand a series in local time, as [`RecurrenceRule::occurrences`] does.
//! Events in UTC use the UTC form (`DTSTART:20240331T070000Z`) and need no `VTIMEZONE`.
//! `EXDATE` and `RECURRENCE-ID` carry the local time of the occurrence's actual instant; it
//! resolves back to that instant (an occurrence is never in a gap, and in a fold it is the
//! earlier instant, which is how a local time with a TZID is read).
//!
//! A `VTIMEZONE` lists the zone's transitions explicitly (no RRULE inside): the observance
//! in effect a year before the earliest instant written in that zone, and every transition
//! from then until a year after the latest (a series' latest is its `until` plus its
//! duration), at most [`MAX_TRANSITIONS`]. Each observance is `DAYLIGHT` or `STANDARD` by
//! the tz database's DST flag, with the transition's local time (in the offset before it)
//! as `DTSTART`. A zone without transitions gets one `STANDARD` observance with its fixed
//! offset.
//!
//! Text values are escaped (`\`, `;`, `,`, newlines as `\n`; other control characters
//! except tab are dropped), lines end with CRLF and are folded at 75 octets without ever
//! splitting a UTF-8 character. iCalendar has whole seconds: sub-second parts are dropped.

use std::collections::BTreeMap;

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone, TimeZoneTransition};
use jiff::{SignedDuration, Timestamp};

use crate::company::TimeZoneName;
use crate::recurrence::RecurrenceRule;

/// The most transitions a `VTIMEZONE` lists (about two thousand years of twice-yearly
/// changes); a series longer than that gets the first ones only.
pub const MAX_TRANSITIONS: usize = 4_096;

/// The `PRODID` of our calendars.
pub const PRODID: &str = "-//Plenum//Plenum//EN";

/// One meeting, single or recurring, as a calendar shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEvent {
    /// Stable across renders (a series keeps one UID for all its occurrences).
    pub uid: String,
    pub summary: String,
    /// Left out of the output when empty.
    pub description: String,
    /// Where to join.
    pub url: Option<String>,
    /// The organizer's display name (written as `ORGANIZER;CN="…":invalid:nomail`, the
    /// customary value for an organizer without an address: we publish none).
    pub organizer: Option<String>,
    /// A single event's start and end. For a series these should be its first occurrence;
    /// the rule is authoritative and `render` writes the rule's start, end and zone.
    pub start: Timestamp,
    pub end: Timestamp,
    /// The zone a single event is written in. For a series, the rule's zone is used.
    pub time_zone: TimeZoneName,
    pub recurrence: Option<EventRecurrence>,
    pub created: Timestamp,
    pub last_modified: Timestamp,
    /// Incremented on every change a calendar app should notice.
    pub sequence: u32,
}

/// What makes an event a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecurrence {
    pub rule: RecurrenceRule,
    /// Original starts of deleted occurrences.
    pub exdates: Vec<Timestamp>,
    /// Occurrences changed on their own.
    pub overrides: Vec<OccurrenceOverride>,
}

/// One occurrence of a series that was changed on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OccurrenceOverride {
    /// The occurrence's original start, as the rule gives it.
    pub recurrence_id: Timestamp,
    pub start: Timestamp,
    pub end: Timestamp,
    pub summary: String,
    /// Left out of the output when empty.
    pub description: String,
}

/// The calendar of `events` named `calendar_name`, stamped (`DTSTAMP`) with `now`.
pub fn render(calendar_name: &str, events: &[CalendarEvent], now: Timestamp) -> String {
    let mut w = Writer::default();
    w.line("BEGIN:VCALENDAR");
    w.line("VERSION:2.0");
    w.line(&format!("PRODID:{PRODID}"));
    w.line("CALSCALE:GREGORIAN");
    w.line(&format!("X-WR-CALNAME:{}", escape_text(calendar_name)));
    for (name, span) in zones_used(events) {
        write_vtimezone(&mut w, &name, span);
    }
    for event in events {
        write_event(&mut w, event, now);
    }
    w.line("END:VCALENDAR");
    w.out
}

/// The RFC 5545 RRULE value of a rule, e.g.
/// `FREQ=MONTHLY;INTERVAL=1;UNTIL=20241231T235959Z`. It expands to the same occurrences
/// as [`RecurrenceRule::occurrences`] when paired with a DTSTART of the first start's
/// local time and a TZID of the rule's zone (which the calendar writer emits): the
/// weekday (WEEKLY) and the day of the month (MONTHLY) are implied by DTSTART, invalid
/// dates are skipped, nonexistent and ambiguous local times are resolved as here, and
/// UNTIL (in UTC, whole seconds, rounded down) is inclusive.
pub fn rrule(rule: &RecurrenceRule) -> String {
    format!(
        "FREQ={};INTERVAL={};UNTIL={}",
        rule.frequency().as_str(),
        rule.interval(),
        format_utc(rule.until())
    )
}

/// An instant in the UTC form of RFC 5545, `YYYYMMDDTHHMMSSZ` (seconds rounded down).
fn format_utc(ts: Timestamp) -> String {
    format!("{}Z", format_local(Offset::UTC.to_datetime(ts)))
}

/// A local date-time in RFC 5545's form, `YYYYMMDDTHHMMSS` (seconds rounded down).
fn format_local(dt: DateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

/// `+HHMM`, or `+HHMMSS` when the offset has seconds (local mean time).
fn format_offset(offset: Offset) -> String {
    let total = offset.seconds();
    let sign = if total < 0 { '-' } else { '+' };
    let abs = total.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    if s == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{s:02}")
    }
}

/// Escapes a TEXT value (RFC 5545 3.3.11).
pub fn escape_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                // CRLF and a lone CR are one line break each.
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value, always quoted: DQUOTE and control characters cannot be in one, so
/// they are dropped.
fn quote_param(raw: &str) -> String {
    let inner: String = raw
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    format!("\"{inner}\"")
}

/// A URI value: not escaped, but without the control characters that would break the line.
fn uri_value(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_control()).collect()
}

/// Folds one content line at 75 octets (RFC 5545 3.1) and ends it with CRLF. A fold is
/// CRLF followed by one space, which counts towards the next line's 75 octets; a fold
/// never splits a UTF-8 character.
pub fn fold_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut rest = line;
    let mut limit = 75;
    while rest.len() > limit {
        let mut cut = limit;
        // A UTF-8 character has at most 4 bytes, so this stops at limit - 3 or later.
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        limit = 74;
    }
    out.push_str(rest);
    out.push_str("\r\n");
    out
}

#[derive(Default)]
struct Writer {
    out: String,
}

impl Writer {
    fn line(&mut self, line: &str) {
        self.out.push_str(&fold_line(line));
    }
}

/// How date-times of one zone are written.
struct Zone {
    name: String,
    tz: TimeZone,
    utc: bool,
}

impl Zone {
    fn new(name: &TimeZoneName) -> Self {
        let tz = name.time_zone();
        let utc = is_utc(&tz);
        Self {
            name: name.as_str().to_owned(),
            tz,
            utc,
        }
    }

    /// `NAME;TZID=Zone:YYYYMMDDTHHMMSS`, or `NAME:YYYYMMDDTHHMMSSZ` in UTC.
    fn property(&self, property: &str, ts: Timestamp) -> String {
        if self.utc {
            format!("{property}:{}", format_utc(ts))
        } else {
            format!(
                "{property};TZID={}:{}",
                self.name,
                format_local(self.tz.to_datetime(ts))
            )
        }
    }

    fn property_list(&self, property: &str, list: &[Timestamp]) -> String {
        let values: Vec<String> = list
            .iter()
            .map(|ts| {
                if self.utc {
                    format_utc(*ts)
                } else {
                    format_local(self.tz.to_datetime(*ts))
                }
            })
            .collect();
        if self.utc {
            format!("{property}:{}", values.join(","))
        } else {
            format!("{property};TZID={}:{}", self.name, values.join(","))
        }
    }
}

/// A zone that is UTC at all times (UTC, Etc/UTC, Etc/GMT, …): no transitions, offset 0.
fn is_utc(tz: &TimeZone) -> bool {
    tz.to_offset(Timestamp::UNIX_EPOCH) == Offset::UTC
        && tz.preceding(Timestamp::MAX).next().is_none()
}

/// The earliest and latest instant written in a zone.
#[derive(Debug, Clone, Copy)]
struct Span {
    first: Timestamp,
    last: Timestamp,
}

fn event_zone(event: &CalendarEvent) -> &TimeZoneName {
    match &event.recurrence {
        Some(recurrence) => recurrence.rule.time_zone(),
        None => &event.time_zone,
    }
}

/// The instants an event writes in its zone.
fn event_instants(event: &CalendarEvent) -> Vec<Timestamp> {
    match &event.recurrence {
        None => vec![event.start, event.end],
        Some(recurrence) => {
            let rule = &recurrence.rule;
            let last_end = rule
                .until()
                .checked_add(rule.duration())
                .unwrap_or(Timestamp::MAX);
            let mut instants = vec![rule.first_start(), rule.first_end(), last_end];
            instants.extend(&recurrence.exdates);
            for o in &recurrence.overrides {
                instants.extend([o.recurrence_id, o.start, o.end]);
            }
            instants
        }
    }
}

fn zones_used(events: &[CalendarEvent]) -> BTreeMap<String, Span> {
    let mut zones: BTreeMap<String, Span> = BTreeMap::new();
    for event in events {
        let name = event_zone(event);
        if is_utc(&name.time_zone()) {
            continue;
        }
        for ts in event_instants(event) {
            zones
                .entry(name.as_str().to_owned())
                .and_modify(|span| {
                    span.first = span.first.min(ts);
                    span.last = span.last.max(ts);
                })
                .or_insert(Span {
                    first: ts,
                    last: ts,
                });
        }
    }
    zones
}

fn write_vtimezone(w: &mut Writer, name: &str, span: Span) {
    let Ok(tz) = jiff::tz::db().get(name) else {
        // Not reached: the names come from TimeZoneNames, checked against this database.
        return;
    };
    let year = SignedDuration::from_hours(24 * 366);
    let from = span.first.checked_sub(year).unwrap_or(Timestamp::MIN);
    let to = span.last.checked_add(year).unwrap_or(Timestamp::MAX);
    w.line("BEGIN:VTIMEZONE");
    w.line(&format!("TZID:{name}"));
    match tz.preceding(from).next() {
        Some(transition) => write_observance(w, &tz, &transition),
        None => {
            let info = tz.to_offset_info(from);
            let kind = if info.dst().is_dst() {
                "DAYLIGHT"
            } else {
                "STANDARD"
            };
            let offset = format_offset(info.offset());
            w.line(&format!("BEGIN:{kind}"));
            w.line("DTSTART:16010101T000000");
            w.line(&format!("TZOFFSETFROM:{offset}"));
            w.line(&format!("TZOFFSETTO:{offset}"));
            w.line(&format!("TZNAME:{}", escape_text(info.abbreviation())));
            w.line(&format!("END:{kind}"));
        }
    }
    // `following` yields transitions strictly after its argument: start just before `from`
    // so a transition exactly at `from` (not yielded by `preceding(from)`) is included.
    let after = from
        .checked_sub(SignedDuration::from_nanos(1))
        .unwrap_or(from);
    for transition in tz.following(after).take(MAX_TRANSITIONS) {
        if transition.timestamp() > to {
            break;
        }
        write_observance(w, &tz, &transition);
    }
    w.line("END:VTIMEZONE");
}

fn write_observance(w: &mut Writer, tz: &TimeZone, transition: &TimeZoneTransition<'_>) {
    let at = transition.timestamp();
    let before = match at.checked_sub(SignedDuration::from_nanos(1)) {
        Ok(just_before) => tz.to_offset(just_before),
        Err(_) => transition.offset(),
    };
    let kind = if transition.dst().is_dst() {
        "DAYLIGHT"
    } else {
        "STANDARD"
    };
    w.line(&format!("BEGIN:{kind}"));
    // The onset in local time as it was before the transition (RFC 5545 3.6.5).
    w.line(&format!("DTSTART:{}", format_local(before.to_datetime(at))));
    w.line(&format!("TZOFFSETFROM:{}", format_offset(before)));
    w.line(&format!(
        "TZOFFSETTO:{}",
        format_offset(transition.offset())
    ));
    w.line(&format!(
        "TZNAME:{}",
        escape_text(transition.abbreviation())
    ));
    w.line(&format!("END:{kind}"));
}

/// The lines an event and its overrides share.
fn write_common(w: &mut Writer, event: &CalendarEvent) {
    if let Some(url) = &event.url {
        w.line(&format!("URL:{}", uri_value(url)));
    }
    if let Some(organizer) = &event.organizer {
        w.line(&format!(
            "ORGANIZER;CN={}:invalid:nomail",
            quote_param(organizer)
        ));
    }
    w.line(&format!("CREATED:{}", format_utc(event.created)));
    w.line(&format!(
        "LAST-MODIFIED:{}",
        format_utc(event.last_modified)
    ));
    w.line(&format!("SEQUENCE:{}", event.sequence));
}

fn write_text(w: &mut Writer, property: &str, value: &str, skip_empty: bool) {
    if !(skip_empty && value.is_empty()) {
        w.line(&format!("{property}:{}", escape_text(value)));
    }
}

fn write_event(w: &mut Writer, event: &CalendarEvent, now: Timestamp) {
    let zone = Zone::new(event_zone(event));
    let uid = format!("UID:{}", escape_text(&event.uid));
    let dtstamp = format!("DTSTAMP:{}", format_utc(now));
    let (start, end) = match &event.recurrence {
        Some(recurrence) => (recurrence.rule.first_start(), recurrence.rule.first_end()),
        None => (event.start, event.end),
    };
    w.line("BEGIN:VEVENT");
    w.line(&uid);
    w.line(&dtstamp);
    w.line(&zone.property("DTSTART", start));
    w.line(&zone.property("DTEND", end));
    if let Some(recurrence) = &event.recurrence {
        w.line(&format!("RRULE:{}", rrule(&recurrence.rule)));
        let mut exdates = recurrence.exdates.clone();
        exdates.sort();
        exdates.dedup();
        if !exdates.is_empty() {
            w.line(&zone.property_list("EXDATE", &exdates));
        }
    }
    write_text(w, "SUMMARY", &event.summary, false);
    write_text(w, "DESCRIPTION", &event.description, true);
    write_common(w, event);
    w.line("END:VEVENT");
    let Some(recurrence) = &event.recurrence else {
        return;
    };
    for o in &recurrence.overrides {
        w.line("BEGIN:VEVENT");
        w.line(&uid);
        w.line(&dtstamp);
        w.line(&zone.property("RECURRENCE-ID", o.recurrence_id));
        w.line(&zone.property("DTSTART", o.start));
        w.line(&zone.property("DTEND", o.end));
        write_text(w, "SUMMARY", &o.summary, false);
        write_text(w, "DESCRIPTION", &o.description, true);
        write_common(w, event);
        w.line("END:VEVENT");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recurrence::Frequency;
    use crate::recurrence::tests::rule as recurrence_rule;

    #[test]
    fn rrule_values() {
        let r = recurrence_rule(
            Frequency::Monthly,
            1,
            ts("2024-01-31T09:00:00Z"),
            60,
            ts("2024-12-31T23:59:59.999Z"),
            "Europe/Berlin",
        );
        assert_eq!(rrule(&r), "FREQ=MONTHLY;INTERVAL=1;UNTIL=20241231T235959Z");
        let r = recurrence_rule(
            Frequency::Weekly,
            2,
            ts("2024-01-31T09:00:00Z"),
            60,
            ts("2024-03-01T00:00:00Z"),
            "UTC",
        );
        assert_eq!(rrule(&r), "FREQ=WEEKLY;INTERVAL=2;UNTIL=20240301T000000Z");
        let r = recurrence_rule(
            Frequency::Daily,
            7,
            ts("2024-01-31T09:00:00Z"),
            60,
            ts("2024-02-01T00:00:00Z"),
            "UTC",
        );
        assert_eq!(rrule(&r), "FREQ=DAILY;INTERVAL=7;UNTIL=20240201T000000Z");
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn zone(name: &str) -> TimeZoneName {
        TimeZoneName::parse(name).unwrap()
    }

    /// The content lines of a calendar, unfolded; checks the line structure on the way.
    fn lines(ics: &str) -> Vec<String> {
        assert!(ics.ends_with("\r\n"));
        let mut out: Vec<String> = Vec::new();
        for physical in ics[..ics.len() - 2].split("\r\n") {
            assert!(!physical.contains('\n') && !physical.contains('\r'));
            assert!(physical.len() <= 75, "too long: {physical:?}");
            match physical.strip_prefix(' ') {
                Some(continuation) => out.last_mut().unwrap().push_str(continuation),
                None => out.push(physical.to_owned()),
            }
        }
        out
    }

    fn event(uid: &str, start: &str, end: &str, zone_name: &str) -> CalendarEvent {
        CalendarEvent {
            uid: uid.to_owned(),
            summary: "Weekly sync".to_owned(),
            description: "Agenda: a, b; c\nSecond line".to_owned(),
            url: Some("https://meet.example/j/123456789".to_owned()),
            organizer: Some("Ann \"The\" Organizer, PhD".to_owned()),
            start: ts(start),
            end: ts(end),
            time_zone: zone(zone_name),
            recurrence: None,
            created: ts("2024-01-02T03:04:05.678Z"),
            last_modified: ts("2024-01-03T03:04:05Z"),
            sequence: 2,
        }
    }

    fn block<'a>(lines: &'a [String], begin: &str, nth: usize) -> &'a [String] {
        let start = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| *l == &format!("BEGIN:{begin}"))
            .nth(nth)
            .unwrap()
            .0;
        let len = lines[start..]
            .iter()
            .position(|l| *l == format!("END:{begin}"))
            .unwrap();
        &lines[start..=start + len]
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape_text("plain"), "plain");
        assert_eq!(
            escape_text("a\\b;c,d\ne\r\nf\rg"),
            "a\\\\b\\;c\\,d\\ne\\nf\\ng"
        );
        assert_eq!(escape_text("tab\there\u{0}\u{7f}"), "tab\there");
        assert_eq!(escape_text("Grüße, 会議"), "Grüße\\, 会議");
        assert_eq!(quote_param("Ann \"A\"; B:C"), "\"Ann A; B:C\"");
        assert_eq!(uri_value("https://x/\r\ny"), "https://x/y");
    }

    #[test]
    fn long_lines_are_folded_at_75_octets() {
        let exactly = "x".repeat(75);
        assert_eq!(fold_line(&exactly), format!("{exactly}\r\n"));
        let longer = "y".repeat(76);
        assert_eq!(fold_line(&longer), format!("{}\r\n y\r\n", "y".repeat(75)));
        let long = "z".repeat(200);
        let folded = fold_line(&long);
        let physical: Vec<&str> = folded.trim_end_matches("\r\n").split("\r\n").collect();
        assert_eq!(
            physical.iter().map(|l| l.len()).collect::<Vec<_>>(),
            [75, 75, 52]
        );
        assert_eq!(folded.replace("\r\n ", ""), format!("{long}\r\n"));
    }

    #[test]
    fn folding_never_splits_a_character() {
        for text in [
            "é".repeat(100),
            "会".repeat(100),
            "🎉".repeat(100),
            format!("a{}", "é🎉会x".repeat(40)),
        ] {
            for prefix in ["", "S", "SU", "SUM"] {
                let line = format!("{prefix}{text}");
                let folded = fold_line(&line);
                // A String cannot hold a split character; check the sizes and the round trip.
                let physical: Vec<&str> = folded.trim_end_matches("\r\n").split("\r\n").collect();
                let (last, full) = physical.split_last().unwrap();
                assert!(!last.is_empty() && last.len() <= 75);
                for line in full {
                    assert!(line.len() <= 75);
                    assert!(
                        line.len() >= 72,
                        "folds as late as possible: {}",
                        line.len()
                    );
                }
                assert_eq!(folded.replace("\r\n ", ""), format!("{line}\r\n"));
            }
        }
        // The last physical line may be short.
        assert_eq!(fold_line("é"), "é\r\n");
    }

    #[test]
    fn a_single_event_in_berlin() {
        let e = event(
            "single-1@plenum",
            "2024-07-01T07:00:00Z",
            "2024-07-01T08:30:00Z",
            "Europe/Berlin",
        );
        let ics = render("Ann's meetings", &[e], ts("2024-06-01T12:00:00.9Z"));
        let lines = lines(&ics);
        assert_eq!(
            &lines[..5],
            [
                "BEGIN:VCALENDAR",
                "VERSION:2.0",
                "PRODID:-//Plenum//Plenum//EN",
                "CALSCALE:GREGORIAN",
                "X-WR-CALNAME:Ann's meetings",
            ]
        );
        assert_eq!(lines.last().unwrap(), "END:VCALENDAR");
        let vevent = block(&lines, "VEVENT", 0);
        assert_eq!(
            vevent,
            [
                "BEGIN:VEVENT",
                "UID:single-1@plenum",
                "DTSTAMP:20240601T120000Z",
                "DTSTART;TZID=Europe/Berlin:20240701T090000",
                "DTEND;TZID=Europe/Berlin:20240701T103000",
                "SUMMARY:Weekly sync",
                "DESCRIPTION:Agenda: a\\, b\\; c\\nSecond line",
                "URL:https://meet.example/j/123456789",
                "ORGANIZER;CN=\"Ann The Organizer, PhD\":invalid:nomail",
                "CREATED:20240102T030405Z",
                "LAST-MODIFIED:20240103T030405Z",
                "SEQUENCE:2",
                "END:VEVENT",
            ]
        );
        // The zone: the observance in effect a year before (CEST since 2023-03-26), then
        // every transition until a year after.
        let vtz = block(&lines, "VTIMEZONE", 0);
        assert_eq!(vtz[1], "TZID:Europe/Berlin");
        assert_eq!(
            &vtz[2..8],
            [
                "BEGIN:DAYLIGHT",
                "DTSTART:20230326T020000",
                "TZOFFSETFROM:+0100",
                "TZOFFSETTO:+0200",
                "TZNAME:CEST",
                "END:DAYLIGHT",
            ]
        );
        assert_eq!(
            &vtz[8..14],
            [
                "BEGIN:STANDARD",
                "DTSTART:20231029T030000",
                "TZOFFSETFROM:+0200",
                "TZOFFSETTO:+0100",
                "TZNAME:CET",
                "END:STANDARD",
            ]
        );
        let starts: Vec<&str> = vtz
            .iter()
            .filter_map(|l| l.strip_prefix("DTSTART:"))
            .collect();
        assert_eq!(
            starts,
            [
                "20230326T020000",
                "20231029T030000",
                "20240331T020000",
                "20241027T030000",
                "20250330T020000",
            ]
        );
        assert_eq!(lines.iter().filter(|l| *l == "BEGIN:VTIMEZONE").count(), 1);
    }

    #[test]
    fn a_series_with_an_exdate_and_an_override() {
        let rule = RecurrenceRule::new(
            Frequency::Daily,
            1,
            ts("2024-03-29T08:00:00Z").as_millisecond(),
            ts("2024-03-29T09:00:00Z").as_millisecond(),
            None,
            ts("2024-04-05T23:59:59Z").as_millisecond(),
            zone("Europe/Berlin"),
        )
        .unwrap();
        let mut e = event(
            "series-1@plenum",
            "2024-03-29T08:00:00Z",
            "2024-03-29T09:00:00Z",
            "Europe/Berlin",
        );
        e.organizer = None;
        e.url = None;
        e.description = String::new();
        e.recurrence = Some(EventRecurrence {
            rule,
            exdates: vec![ts("2024-04-02T07:00:00Z"), ts("2024-03-30T08:00:00Z")],
            overrides: vec![OccurrenceOverride {
                recurrence_id: ts("2024-03-31T07:00:00Z"),
                start: ts("2024-03-31T09:00:00Z"),
                end: ts("2024-03-31T09:45:00Z"),
                summary: "Weekly sync (moved)".to_owned(),
                description: "Later, on Easter".to_owned(),
            }],
        });
        let ics = render("Series", &[e], ts("2024-03-01T00:00:00Z"));
        let lines = lines(&ics);
        assert_eq!(
            block(&lines, "VEVENT", 0),
            [
                "BEGIN:VEVENT",
                "UID:series-1@plenum",
                "DTSTAMP:20240301T000000Z",
                "DTSTART;TZID=Europe/Berlin:20240329T090000",
                "DTEND;TZID=Europe/Berlin:20240329T100000",
                "RRULE:FREQ=DAILY;INTERVAL=1;UNTIL=20240405T235959Z",
                "EXDATE;TZID=Europe/Berlin:20240330T090000,20240402T090000",
                "SUMMARY:Weekly sync",
                "CREATED:20240102T030405Z",
                "LAST-MODIFIED:20240103T030405Z",
                "SEQUENCE:2",
                "END:VEVENT",
            ]
        );
        assert_eq!(
            block(&lines, "VEVENT", 1),
            [
                "BEGIN:VEVENT",
                "UID:series-1@plenum",
                "DTSTAMP:20240301T000000Z",
                "RECURRENCE-ID;TZID=Europe/Berlin:20240331T090000",
                "DTSTART;TZID=Europe/Berlin:20240331T110000",
                "DTEND;TZID=Europe/Berlin:20240331T114500",
                "SUMMARY:Weekly sync (moved)",
                "DESCRIPTION:Later\\, on Easter",
                "CREATED:20240102T030405Z",
                "LAST-MODIFIED:20240103T030405Z",
                "SEQUENCE:2",
                "END:VEVENT",
            ]
        );
        assert_eq!(lines.iter().filter(|l| *l == "BEGIN:VEVENT").count(), 2);
        assert_eq!(lines.iter().filter(|l| *l == "BEGIN:VTIMEZONE").count(), 1);
    }

    #[test]
    fn a_utc_event_uses_the_utc_form_and_no_vtimezone() {
        for name in ["UTC", "Etc/UTC"] {
            let mut e = event(
                "utc-1@plenum",
                "2024-05-01T10:00:00Z",
                "2024-05-01T11:00:00Z",
                name,
            );
            e.summary = "x".repeat(100);
            let ics = render("UTC", &[e], ts("2024-04-01T00:00:00Z"));
            let lines = lines(&ics);
            assert!(lines.contains(&"DTSTART:20240501T100000Z".to_owned()));
            assert!(lines.contains(&"DTEND:20240501T110000Z".to_owned()));
            assert!(lines.contains(&format!("SUMMARY:{}", "x".repeat(100))));
            assert!(!ics.contains("VTIMEZONE") && !ics.contains("TZID"), "{ics}");
        }
    }

    #[test]
    fn zones_without_transitions_get_one_fixed_observance() {
        let e = event(
            "fixed@plenum",
            "2024-05-01T10:00:00Z",
            "2024-05-01T11:00:00Z",
            "Etc/GMT-3",
        );
        let lines = lines(&render("x", &[e], ts("2024-04-01T00:00:00Z")));
        assert_eq!(
            block(&lines, "VTIMEZONE", 0),
            [
                "BEGIN:VTIMEZONE",
                "TZID:Etc/GMT-3",
                "BEGIN:STANDARD",
                "DTSTART:16010101T000000",
                "TZOFFSETFROM:+0300",
                "TZOFFSETTO:+0300",
                "TZNAME:+03",
                "END:STANDARD",
                "END:VTIMEZONE",
            ]
        );
        assert!(lines.contains(&"DTSTART;TZID=Etc/GMT-3:20240501T130000".to_owned()));
    }

    #[test]
    fn zones_are_listed_once_and_cover_every_event() {
        let events = [
            event(
                "a",
                "2024-05-01T10:00:00Z",
                "2024-05-01T11:00:00Z",
                "America/New_York",
            ),
            event(
                "b",
                "2030-05-01T10:00:00Z",
                "2030-05-01T11:00:00Z",
                "America/New_York",
            ),
            event(
                "c",
                "2024-05-01T10:00:00Z",
                "2024-05-01T11:00:00Z",
                "Asia/Kolkata",
            ),
        ];
        let lines = lines(&render("x", &events, ts("2024-04-01T00:00:00Z")));
        let tzids: Vec<&String> = lines.iter().filter(|l| l.starts_with("TZID:")).collect();
        assert_eq!(tzids, ["TZID:America/New_York", "TZID:Asia/Kolkata"]);
        let ny = block(&lines, "VTIMEZONE", 0);
        let starts: Vec<&str> = ny
            .iter()
            .filter_map(|l| l.strip_prefix("DTSTART:"))
            .collect();
        assert_eq!(starts.first(), Some(&"20230312T020000"));
        assert_eq!(starts.last(), Some(&"20310309T020000"));
        assert_eq!(starts.len(), 1 + 2 * 8);
        // Kolkata: its last change was in 1945; that observance is the only one.
        let kolkata = block(&lines, "VTIMEZONE", 1);
        assert_eq!(
            &kolkata[2..8],
            [
                "BEGIN:STANDARD",
                "DTSTART:19451015T000000",
                "TZOFFSETFROM:+0630",
                "TZOFFSETTO:+0530",
                "TZNAME:IST",
                "END:STANDARD",
            ]
        );
        assert_eq!(kolkata.len(), 9);
    }

    #[test]
    fn offsets_are_formatted() {
        assert_eq!(format_offset(Offset::UTC), "+0000");
        assert_eq!(format_offset(Offset::constant(-5)), "-0500");
        assert_eq!(
            format_offset(Offset::from_seconds(5 * 3600 + 1800).unwrap()),
            "+0530"
        );
        assert_eq!(
            format_offset(Offset::from_seconds(-(3600 + 28)).unwrap()),
            "-010028"
        );
        assert_eq!(
            format_utc(ts("1999-12-31T23:59:59.999Z")),
            "19991231T235959Z"
        );
    }
}

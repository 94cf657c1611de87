//! An independent check of the calendar writer and the recurrence expansion: Python's
//! `icalendar` and `recurring_ical_events` (through `scripts/ical_check.py`) read what
//! `calendar::render` wrote and must find exactly the occurrences `RecurrenceRule` gives,
//! minus the deleted ones, with the changed ones changed.
//!
//! The Python comes from `PLENUM_TEST_PYTHON`, else `<workspace>/.venv-test/bin/python`,
//! which `scripts/install-test-deps.sh` creates. Without it these tests fail: they are not
//! skipped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use plenum_domain::Timestamp;
use plenum_domain::calendar::{CalendarEvent, EventRecurrence, OccurrenceOverride, render};
use plenum_domain::company::TimeZoneName;
use plenum_domain::recurrence::{Frequency, MAX_OCCURRENCES, RecurrenceRule};

const FROM: &str = "2023-01-01T00:00:00Z";
const TO: &str = "2027-01-01T00:00:00Z";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> PathBuf {
    let python = match std::env::var_os("PLENUM_TEST_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => workspace_root().join(".venv-test/bin/python"),
    };
    assert!(
        python.exists(),
        "{} does not exist: run scripts/install-test-deps.sh (it creates .venv-test with \
         the pip packages icalendar and recurring-ical-events), or point PLENUM_TEST_PYTHON \
         at a python that has them",
        python.display()
    );
    python
}

fn run_check(ics: &str) -> Output {
    let python = python();
    let mut file = tempfile::Builder::new()
        .suffix(".ics")
        .tempfile()
        .expect("temporary file");
    file.write_all(ics.as_bytes()).expect("write the calendar");
    file.flush().expect("flush the calendar");
    Command::new(&python)
        .arg(workspace_root().join("scripts/ical_check.py"))
        .arg(file.path())
        .arg(FROM)
        .arg(TO)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()))
}

fn ts(s: &str) -> Timestamp {
    s.parse().expect("a timestamp")
}

fn zone(name: &str) -> TimeZoneName {
    TimeZoneName::parse(name).expect("a time zone")
}

/// The instant of a local date-time in a zone.
fn local(zone_name: &str, dt: &str) -> Timestamp {
    let dt: jiff::civil::DateTime = dt.parse().expect("a local date-time");
    dt.to_zoned(zone(zone_name).time_zone())
        .expect("an instant")
        .timestamp()
}

fn series(
    uid: &str,
    summary: &str,
    rule: RecurrenceRule,
    exdates: Vec<Timestamp>,
    overrides: Vec<OccurrenceOverride>,
) -> CalendarEvent {
    CalendarEvent {
        uid: uid.to_owned(),
        summary: summary.to_owned(),
        description: "Join, discuss; decide.\nSee you there".to_owned(),
        url: Some("https://plenum.example/j/123456789".to_owned()),
        organizer: Some("Ann Organizer".to_owned()),
        start: rule.first_start(),
        end: rule.first_end(),
        time_zone: rule.time_zone().clone(),
        recurrence: Some(EventRecurrence {
            rule,
            exdates,
            overrides,
        }),
        created: ts("2024-01-01T00:00:00Z"),
        last_modified: ts("2024-01-02T00:00:00Z"),
        sequence: 1,
    }
}

type Row = (String, String, String, String);

/// What the Python side must find: every occurrence of every event, minus exdates, with
/// overrides applied; sorted as the script sorts.
fn expected(events: &[CalendarEvent]) -> Vec<Row> {
    let mut rows = Vec::new();
    for e in events {
        match &e.recurrence {
            None => rows.push((
                e.uid.clone(),
                e.summary.clone(),
                e.start.to_string(),
                e.end.to_string(),
            )),
            Some(rec) => {
                for o in rec
                    .rule
                    .occurrences(MAX_OCCURRENCES)
                    .expect("few occurrences")
                {
                    if rec.exdates.contains(&o.start) {
                        continue;
                    }
                    match rec.overrides.iter().find(|v| v.recurrence_id == o.start) {
                        Some(v) => rows.push((
                            e.uid.clone(),
                            v.summary.clone(),
                            v.start.to_string(),
                            v.end.to_string(),
                        )),
                        None => rows.push((
                            e.uid.clone(),
                            e.summary.clone(),
                            o.start.to_string(),
                            o.end.to_string(),
                        )),
                    }
                }
            }
        }
    }
    rows.sort_by(|a, b| (&a.2, &a.3, &a.0, &a.1).cmp(&(&b.2, &b.3, &b.0, &b.1)));
    rows
}

fn parse_rows(stdout: &[u8]) -> Vec<Row> {
    let value: serde_json::Value = serde_json::from_slice(stdout).expect("JSON from the script");
    let field = |o: &serde_json::Value, k: &str| o[k].as_str().expect(k).to_owned();
    value
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|o| {
            (
                field(o, "uid"),
                field(o, "summary"),
                field(o, "start"),
                field(o, "end"),
            )
        })
        .collect()
}

#[test]
fn python_icalendar_expands_our_calendar_as_we_do() {
    // Daily at 09:00 in Berlin across both 2024 changes (2024-03-31, 2024-10-27).
    let berlin = RecurrenceRule::new(
        Frequency::Daily,
        1,
        local("Europe/Berlin", "2024-03-25T09:00").as_millisecond(),
        local("Europe/Berlin", "2024-03-25T10:00").as_millisecond(),
        Some(local("Europe/Berlin", "2024-03-25T00:00").as_millisecond()),
        local("Europe/Berlin", "2024-11-05T23:59:59").as_millisecond(),
        zone("Europe/Berlin"),
    )
    .unwrap();
    let berlin = series(
        "daily-berlin@plenum.test",
        "Stand-up, daily",
        berlin,
        // The first summer-time day is deleted.
        vec![local("Europe/Berlin", "2024-03-31T09:00")],
        // The day of the change back is moved to the afternoon and shortened.
        vec![OccurrenceOverride {
            recurrence_id: local("Europe/Berlin", "2024-10-27T09:00"),
            start: local("Europe/Berlin", "2024-10-27T14:00"),
            end: local("Europe/Berlin", "2024-10-27T14:30"),
            summary: "Stand-up (moved; Sunday)".to_owned(),
            description: "Moved to the afternoon".to_owned(),
        }],
    );
    // Monthly on the 31st at 17:30 in New York: short months are skipped.
    let monthly = RecurrenceRule::new(
        Frequency::Monthly,
        1,
        local("America/New_York", "2024-01-31T17:30").as_millisecond(),
        local("America/New_York", "2024-01-31T19:00").as_millisecond(),
        None,
        local("America/New_York", "2025-01-31T23:59").as_millisecond(),
        zone("America/New_York"),
    )
    .unwrap();
    let monthly = series(
        "monthly-31@plenum.test",
        "Month-end close",
        monthly,
        vec![],
        vec![],
    );
    let single_utc = CalendarEvent {
        uid: "single-utc@plenum.test".to_owned(),
        summary: "Release review — ünïcödé, long enough to be folded more than once in the \
                  calendar file: 会議 🎉"
            .to_owned(),
        description: String::new(),
        url: None,
        organizer: None,
        start: ts("2024-06-15T12:00:00Z"),
        end: ts("2024-06-15T13:15:00Z"),
        time_zone: TimeZoneName::utc(),
        recurrence: None,
        created: ts("2024-01-01T00:00:00Z"),
        last_modified: ts("2024-01-01T00:00:00Z"),
        sequence: 0,
    };
    // Single events in zones with one observance: Kolkata (last change 1945) and a fixed
    // offset (no transitions at all).
    let single_in = |uid: &str, zone_name: &str| CalendarEvent {
        uid: uid.to_owned(),
        start: local(zone_name, "2024-07-01T10:00"),
        end: local(zone_name, "2024-07-01T11:00"),
        time_zone: zone(zone_name),
        ..single_utc.clone()
    };
    let kolkata = single_in("single-kolkata@plenum.test", "Asia/Kolkata");
    let fixed = single_in("single-fixed@plenum.test", "Etc/GMT-3");
    let events = [berlin, monthly, single_utc, kolkata, fixed];
    let ics = render("Plenum test", &events, ts("2024-06-01T00:00:00Z"));

    let output = run_check(&ics);
    assert!(
        output.status.success(),
        "ical_check.py failed ({}):\n{}\n--- calendar ---\n{ics}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let got = parse_rows(&output.stdout);
    let want = expected(&events);

    // Sanity of the expectation itself, so the comparison is not vacuous.
    let monthly_starts: Vec<&str> = want
        .iter()
        .filter(|r| r.0 == "monthly-31@plenum.test")
        .map(|r| r.2.as_str())
        .collect();
    assert_eq!(
        monthly_starts,
        [
            "2024-01-31T22:30:00Z",
            "2024-03-31T21:30:00Z",
            "2024-05-31T21:30:00Z",
            "2024-07-31T21:30:00Z",
            "2024-08-31T21:30:00Z",
            "2024-10-31T21:30:00Z",
            "2024-12-31T22:30:00Z",
            "2025-01-31T22:30:00Z",
        ]
    );
    assert_eq!(
        want.iter()
            .filter(|r| r.0 == "daily-berlin@plenum.test")
            .count(),
        226 - 1
    );
    if got != want {
        let missing: Vec<&Row> = want.iter().filter(|r| !got.contains(r)).collect();
        let extra: Vec<&Row> = got.iter().filter(|r| !want.contains(r)).collect();
        panic!(
            "Python's reading differs from ours.\nmissing in Python: {missing:#?}\n\
             only in Python: {extra:#?}\n--- calendar ---\n{ics}"
        );
    }
}

/// Where an occurrence starts in a gap or spans a change, RFC 5545 gives it the exact
/// duration of the first (DTEND case of 3.8.5.3), and so does `RecurrenceRule`. Python's
/// `recurring_ical_events` adds the duration to an aware `datetime`, which is wall-clock
/// arithmetic, so its end can differ there. Starts must agree exactly; an end may be ours
/// or Python's wall-clock one.
#[test]
fn python_agrees_on_starts_where_occurrences_meet_a_change() {
    // Weekly at 02:15 in Lord Howe: that time does not exist on 2024-10-06 (02:00 -> 02:30).
    let lord_howe = RecurrenceRule::new(
        Frequency::Weekly,
        1,
        local("Australia/Lord_Howe", "2024-09-15T02:15").as_millisecond(),
        local("Australia/Lord_Howe", "2024-09-15T03:00").as_millisecond(),
        None,
        local("Australia/Lord_Howe", "2024-10-27T23:00").as_millisecond(),
        zone("Australia/Lord_Howe"),
    )
    .unwrap();
    // Daily 01:30-03:30 in Berlin: on 2024-10-27 the occurrence spans the change back.
    let berlin_night = RecurrenceRule::new(
        Frequency::Daily,
        1,
        local("Europe/Berlin", "2024-10-25T01:30").as_millisecond(),
        local("Europe/Berlin", "2024-10-25T03:30").as_millisecond(),
        None,
        local("Europe/Berlin", "2024-10-29T01:30").as_millisecond(),
        zone("Europe/Berlin"),
    )
    .unwrap();
    let events = [
        series(
            "lord-howe@plenum.test",
            "Hand-over",
            lord_howe,
            vec![],
            vec![],
        ),
        series(
            "berlin-night@plenum.test",
            "Night run",
            berlin_night,
            vec![],
            vec![],
        ),
    ];
    let ics = render("Plenum test", &events, ts("2024-06-01T00:00:00Z"));
    let output = run_check(&ics);
    assert!(
        output.status.success(),
        "ical_check.py failed ({}):\n{}\n--- calendar ---\n{ics}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let got = parse_rows(&output.stdout);
    let want = expected(&events);
    assert_eq!(got.len(), want.len(), "{got:#?}\n{want:#?}");
    // The gap case is really in the data: 02:15 became 02:45 (+11:00).
    assert!(want.iter().any(|r| r.2 == "2024-10-05T15:45:00Z"));
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(
            (&g.0, &g.1, &g.2),
            (&w.0, &w.1, &w.2),
            "{got:#?}\n{want:#?}"
        );
        if g.3 != w.3 {
            // Python's end: the nominal local start plus the duration, read as local time.
            let event = events.iter().find(|e| e.uid == w.0).unwrap();
            let rule = &event.recurrence.as_ref().unwrap().rule;
            let tz = rule.time_zone().time_zone();
            let first_local = tz.to_datetime(rule.first_start());
            let start_local = tz.to_datetime(ts(&w.2));
            let nominal_start = start_local.date().to_datetime(first_local.time());
            let wall_end = tz
                .to_ambiguous_timestamp(nominal_start.checked_add(rule.duration()).unwrap())
                .compatible()
                .unwrap();
            assert_eq!(g.3, wall_end.to_string(), "{g:?} vs {w:?}");
        }
    }
}

#[test]
fn the_python_check_fails_loudly_on_a_broken_calendar() {
    for broken in [
        // Not iCalendar at all.
        "this is not a calendar\r\n",
        // A component that is never closed.
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\n",
        // A property value icalendar cannot read (it records an error and goes on).
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:2024BAD\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n",
        // LF line endings.
        "BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n",
    ] {
        let output = run_check(broken);
        assert!(
            !output.status.success(),
            "ical_check.py accepted {broken:?}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

//! Calendars (Plenum extension): iCalendar views of meetings and series, and each user's
//! secret calendar feed URL.

use std::path::PathBuf;
use std::process::Command;

use jiff::Timestamp;
use jiff::ToSpan;
use jiff::civil::{Weekday, date};
use plenum_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::recurrence::{create_series, occurrences};
use crate::{
    DAY_MS, HOUR_MS, assert_frtc_error, in_days, keys, now_ms, reserve, s, sorted, text, user,
};

/// RFC 5545 unfolding: a CRLF followed by a space continues the line.
fn unfold(ics: &str) -> String {
    ics.replace("\r\n ", "")
}

fn utc_basic(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_else(|e| panic!("{ms}: {e}"))
}

fn utc_iso(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|e| panic!("{ms}: {e}"))
}

/// Asserts a successful iCalendar answer and returns its unfolded text.
#[track_caller]
fn calendar(answer: (u16, String, String)) -> String {
    let (status, content_type, body) = answer;
    assert_eq!(status, 200, "{body}");
    assert!(
        content_type.starts_with("text/calendar"),
        "Content-Type: {content_type}"
    );
    assert!(body.starts_with("BEGIN:VCALENDAR\r\n"), "{body}");
    assert!(body.ends_with("END:VCALENDAR\r\n"), "{body}");
    assert!(
        body.split("\r\n").all(|line| !line.contains('\n')),
        "every line ends with CRLF"
    );
    unfold(&body)
}

fn series_body(name: &str, frequency: &str, interval: i64, start: i64, until: i64) -> Value {
    json!({
        "meeting_type": "recurrence",
        "meeting_name": name,
        "recurrence_type": frequency,
        "recurrenceInterval": interval,
        "recurrenceStartTime": start,
        "recurrenceEndTime": start + HOUR_MS,
        "recurrenceEndDay": until,
    })
}

#[tokio::test]
async fn a_single_meeting_is_one_event_in_icalendar() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (_, carol) = user(&app, &admin, "carol", "Normal").await;
    let start = in_days(&app, 1);
    let meeting = reserve(
        &app,
        &admin,
        "Design review",
        start,
        json!({"meeting_description": "Agenda: colours, fonts; logo"}),
    )
    .await;
    let id = s(&meeting, "reservation_id");
    let path = format!("/api/v1/meeting_schedule/{id}/ical");
    let ics = calendar(text(&app, &path, Some(&admin)).await);
    assert!(ics.contains("\r\nBEGIN:VEVENT\r\n"), "{ics}");
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 1);
    assert!(ics.contains("\r\nVERSION:2.0\r\n"), "{ics}");
    assert!(ics.contains(&format!("\r\nUID:{id}@plenum\r\n")), "{ics}");
    assert!(ics.contains("\r\nSUMMARY:Design review\r\n"), "{ics}");
    assert!(
        ics.contains("DESCRIPTION:Agenda: colours\\, fonts\\; logo\\n"),
        "{ics}"
    );
    // The default company's zone is UTC.
    assert!(
        ics.contains(&format!("\r\nDTSTART:{}\r\n", utc_basic(start))),
        "{ics}"
    );
    assert!(
        ics.contains(&format!("\r\nDTEND:{}\r\n", utc_basic(start + HOUR_MS))),
        "{ics}"
    );
    assert!(
        ics.contains(&format!("\r\nURL:{}\r\n", s(&meeting, "meeting_url"))),
        "{ics}"
    );
    assert!(!ics.contains("RRULE"), "{ics}");

    // Only who may see the meeting gets its calendar.
    let reply = app.get(&path, Some(&carol)).await;
    assert_frtc_error(&reply, 404, "schedule_not_found");
    assert_frtc_error(&app.get(&path, None).await, 401, "token_missing");
    assert_frtc_error(
        &app.get(
            "/api/v1/meeting_schedule/0190a6e5-6f7c-7cc1-8a3b-5d2f9e1a4b6c/ical",
            Some(&admin),
        )
        .await,
        404,
        "schedule_not_found",
    );
}

#[tokio::test]
async fn a_series_is_one_event_with_rrule_exdates_and_overrides() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let start = in_days(&app, 1);
    let until = start + 8 * DAY_MS;
    let created = create_series(
        &app,
        &admin,
        series_body("Standup", "DAILY", 2, start, until),
    )
    .await;
    let gid = s(&created, "recurrence_gid");
    let path = format!("/api/v1/meeting_schedule/recurrence/{gid}/ical");
    let ics = calendar(text(&app, &path, Some(&admin)).await);
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 1, "{ics}");
    assert!(ics.contains(&format!("\r\nUID:{gid}@plenum\r\n")), "{ics}");
    assert!(ics.contains("\r\nSUMMARY:Standup\r\n"), "{ics}");
    assert!(
        ics.contains(&format!(
            "\r\nRRULE:FREQ=DAILY;INTERVAL=2;UNTIL={}\r\n",
            utc_basic(until)
        )),
        "{ics}"
    );
    assert!(
        ics.contains(&format!("\r\nDTSTART:{}\r\n", utc_basic(start))),
        "{ics}"
    );
    assert!(!ics.contains("EXDATE"), "{ics}");
    assert!(!ics.contains("RECURRENCE-ID"), "{ics}");

    // An occurrence's calendar is its series'.
    let all = occurrences(&app, &admin, &gid).await;
    assert_eq!(all.len(), 5);
    let occurrence_ics = calendar(
        text(
            &app,
            &format!(
                "/api/v1/meeting_schedule/{}/ical",
                s(&all[1], "reservation_id")
            ),
            Some(&admin),
        )
        .await,
    );
    assert_eq!(occurrence_ics, ics);

    // A deleted occurrence becomes an EXDATE.
    let deleted = all[2]["schedule_start_time"].as_i64().unwrap_or_default();
    let reply = app
        .call(
            Method::DELETE,
            &format!("/api/v1/meeting_schedule/{}", s(&all[2], "reservation_id")),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let ics = calendar(text(&app, &path, Some(&admin)).await);
    assert!(
        ics.contains(&format!("\r\nEXDATE:{}\r\n", utc_basic(deleted))),
        "{ics}"
    );

    // A changed occurrence becomes an override with RECURRENCE-ID.
    let original = all[3]["schedule_start_time"].as_i64().unwrap_or_default();
    let moved = original + 3 * HOUR_MS;
    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/{}", s(&all[3], "reservation_id")),
            Some(&admin),
            json!({"meeting_name": "Late standup", "schedule_start_time": moved,
                   "schedule_end_time": moved + HOUR_MS}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let ics = calendar(text(&app, &path, Some(&admin)).await);
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 2, "{ics}");
    assert_eq!(
        ics.matches(&format!("UID:{gid}@plenum")).count(),
        2,
        "{ics}"
    );
    assert!(
        ics.contains(&format!("\r\nRECURRENCE-ID:{}\r\n", utc_basic(original))),
        "{ics}"
    );
    assert!(ics.contains("\r\nSUMMARY:Late standup\r\n"), "{ics}");
    assert!(
        ics.contains(&format!("\r\nDTSTART:{}\r\n", utc_basic(moved))),
        "{ics}"
    );

    // A series in a zone with daylight saving is written in local time with a VTIMEZONE.
    let created = create_series(&app, &admin, {
        let mut b = series_body("Berlin", "WEEKLY", 1, start, start + 21 * DAY_MS);
        b["time_zone"] = json!("Europe/Berlin");
        b
    })
    .await;
    let ics = calendar(
        text(
            &app,
            &format!(
                "/api/v1/meeting_schedule/recurrence/{}/ical",
                s(&created, "recurrence_gid")
            ),
            Some(&admin),
        )
        .await,
    );
    assert!(
        ics.contains("\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"),
        "{ics}"
    );
    assert!(ics.contains("DTSTART;TZID=Europe/Berlin:"), "{ics}");
    assert!(ics.contains("RRULE:FREQ=WEEKLY;INTERVAL=1;UNTIL="), "{ics}");

    // Unknown or invisible series.
    let (_, nora) = user(&app, &admin, "nora", "Normal").await;
    assert_frtc_error(
        &app.get(&path, Some(&nora)).await,
        404,
        "recurrence_not_found",
    );
    assert_frtc_error(
        &app.get(
            "/api/v1/meeting_schedule/recurrence/garbage/ical",
            Some(&admin),
        )
        .await,
        404,
        "recurrence_not_found",
    );
}

/// The feed URL as a path on the test server.
fn feed_path(app: &TestApp, reply: &plenum_testkit::Reply) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(keys(&reply.body), sorted(&["calendar_url"]));
    let url = s(&reply.body, "calendar_url");
    let path = url
        .strip_prefix(&app.base_url)
        .unwrap_or_else(|| panic!("{url} is not on {}", app.base_url))
        .to_owned();
    assert!(path.starts_with("/api/v1/calendar/"), "{url}");
    assert!(path.ends_with(".ics"), "{url}");
    path
}

#[tokio::test]
async fn the_calendar_feed_has_the_users_meetings_without_a_token_until_rotated() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (alice_id, alice) = user(&app, &admin, "alice", "Normal").await;
    let (_, bob) = user(&app, &admin, "bob", "Normal").await;
    let (_, carol) = user(&app, &admin, "carol", "Normal").await;
    let start = in_days(&app, 1);
    reserve(&app, &alice, "Alice own", start, json!({})).await;
    create_series(
        &app,
        &alice,
        series_body("Alice series", "DAILY", 1, start, start + 3 * DAY_MS),
    )
    .await;
    reserve(
        &app,
        &bob,
        "Bob invites Alice",
        start + HOUR_MS,
        json!({"invited_users": [alice_id]}),
    )
    .await;
    create_series(&app, &bob, {
        let mut b = series_body(
            "Bob series with Alice",
            "WEEKLY",
            1,
            start,
            start + 14 * DAY_MS,
        );
        b["invited_users"] = json!([alice_id]);
        b
    })
    .await;
    reserve(&app, &bob, "Bob alone", start, json!({})).await;
    reserve(&app, &carol, "Carol private", start, json!({})).await;

    assert_frtc_error(
        &app.post("/api/v1/user/calendar_feed", None, json!({}))
            .await,
        401,
        "token_missing",
    );
    let feed = feed_path(
        &app,
        &app.post("/api/v1/user/calendar_feed", Some(&alice), json!({}))
            .await,
    );
    // No token: the secret in the URL is the credential.
    let ics = calendar(text(&app, &feed, None).await);
    assert!(ics.contains("\r\nX-WR-CALNAME:Plenum: alice\r\n"), "{ics}");
    for name in [
        "Alice own",
        "Alice series",
        "Bob invites Alice",
        "Bob series with Alice",
    ] {
        assert!(
            ics.contains(&format!("\r\nSUMMARY:{name}\r\n")),
            "{name} missing: {ics}"
        );
    }
    for name in ["Bob alone", "Carol private"] {
        assert!(!ics.contains(name), "{name} is not alice's: {ics}");
    }
    // A series is one event, not one per occurrence.
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 4, "{ics}");
    assert_eq!(ics.matches("RRULE:").count(), 2, "{ics}");

    // The feed follows changes.
    reserve(&app, &alice, "Added later", start + DAY_MS, json!({})).await;
    let ics = calendar(text(&app, &feed, None).await);
    assert!(ics.contains("\r\nSUMMARY:Added later\r\n"), "{ics}");

    // Rotating: a new URL works, the old one is gone.
    let rotated = feed_path(
        &app,
        &app.post("/api/v1/user/calendar_feed", Some(&alice), json!({}))
            .await,
    );
    assert_ne!(rotated, feed);
    assert_frtc_error(&app.get(&feed, None).await, 404, "not_found");
    let ics = calendar(text(&app, &rotated, None).await);
    assert!(ics.contains("\r\nSUMMARY:Alice own\r\n"), "{ics}");

    // Each user has their own feed.
    let bobs = feed_path(
        &app,
        &app.post("/api/v1/user/calendar_feed", Some(&bob), json!({}))
            .await,
    );
    let ics = calendar(text(&app, &bobs, None).await);
    assert!(ics.contains("\r\nSUMMARY:Bob alone\r\n"), "{ics}");
    assert!(!ics.contains("Alice own"), "{ics}");
    assert!(
        calendar(text(&app, &rotated, None).await).contains("Alice own"),
        "alice's feed still works"
    );

    // Guessing does not work.
    for garbage in [
        "/api/v1/calendar/garbage.ics",
        "/api/v1/calendar/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics",
        "/api/v1/calendar/.ics",
    ] {
        assert_frtc_error(&app.get(garbage, None).await, 404, "not_found");
    }
}

/// The Python interpreter with `icalendar` and `recurring-ical-events`.
fn python() -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = std::env::var_os("PLENUM_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join(".venv-test/bin/python"));
    assert!(
        python.exists(),
        "{} not found: the calendar tests read our iCalendar with Python's icalendar. \
         Run scripts/install-test-deps.sh (or set PLENUM_TEST_PYTHON to a python that has \
         icalendar and recurring-ical-events).",
        python.display()
    );
    python
}

/// Expands an iCalendar file with Python's `icalendar` + `recurring-ical-events`
/// (scripts/ical_check.py): the occurrences in `[from, to)`.
fn expand_with_python(ics: &str, from: i64, to: i64) -> Value {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
    let file = dir.path().join("feed.ics");
    std::fs::write(&file, ics).unwrap_or_else(|e| panic!("writing {}: {e}", file.display()));
    let python = python();
    let output = Command::new(&python)
        .arg(workspace.join("scripts/ical_check.py"))
        .arg(&file)
        .arg(utc_iso(from))
        .arg(utc_iso(to))
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
    assert!(
        output.status.success(),
        "ical_check.py refused our calendar: {}\n{ics}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "ical_check.py printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn occurrence(uid: &str, summary: &str, start: i64, end: i64) -> Value {
    json!({"uid": uid, "summary": summary, "start": utc_iso(start), "end": utc_iso(end)})
}

#[tokio::test]
async fn an_independent_icalendar_reader_sees_the_occurrences_the_api_lists() {
    let python = python();
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (alice_id, alice) = user(&app, &admin, "alice", "Normal").await;
    let year = crate::recurrence::next_year(&app);

    // Daily 09:00 Berlin across the spring change (last Sunday of March).
    let change = date(year, 3, 1)
        .nth_weekday_of_month(-1, Weekday::Sunday)
        .unwrap_or_else(|e| panic!("{e}"));
    let first = change
        .checked_sub(4.days())
        .unwrap_or_else(|e| panic!("{e}"));
    let last = change
        .checked_add(4.days())
        .unwrap_or_else(|e| panic!("{e}"));
    let berlin = create_series(&app, &alice, {
        let mut b = series_body(
            "Berlin standup",
            "DAILY",
            1,
            crate::recurrence::local_ms(first, 9, "Europe/Berlin"),
            crate::recurrence::local_ms(last, 9, "Europe/Berlin"),
        );
        b["time_zone"] = json!("Europe/Berlin");
        b
    })
    .await;
    let berlin_gid = s(&berlin, "recurrence_gid");
    let all = occurrences(&app, &alice, &berlin_gid).await;
    assert_eq!(all.len(), 9);
    // Delete one occurrence, move and rename another.
    let reply = app
        .call(
            Method::DELETE,
            &format!("/api/v1/meeting_schedule/{}", s(&all[2], "reservation_id")),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let moved = all[5]["schedule_start_time"].as_i64().unwrap_or_default() + 2 * HOUR_MS;
    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/{}", s(&all[5], "reservation_id")),
            Some(&alice),
            json!({"meeting_name": "Moved standup", "schedule_start_time": moved,
                   "schedule_end_time": moved + 45 * 60_000}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    // An occurrence changed and then deleted is just deleted.
    let path = format!("/api/v1/meeting_schedule/{}", s(&all[7], "reservation_id"));
    let later = all[7]["schedule_start_time"].as_i64().unwrap_or_default() + HOUR_MS;
    let reply = app
        .post(
            &path,
            Some(&alice),
            json!({"meeting_name": "Short-lived", "schedule_start_time": later,
                   "schedule_end_time": later + HOUR_MS}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let reply = app.call(Method::DELETE, &path, Some(&alice), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);

    // Weekly 17:30 New York across the US change, by the admin, inviting alice.
    let us_change = date(year, 3, 1)
        .nth_weekday_of_month(2, Weekday::Sunday)
        .unwrap_or_else(|e| panic!("{e}"));
    let ny_first = us_change
        .checked_sub(9.days())
        .unwrap_or_else(|e| panic!("{e}"));
    let ny_start = ny_first
        .at(17, 30, 0, 0)
        .in_tz("America/New_York")
        .unwrap_or_else(|e| panic!("{e}"))
        .timestamp()
        .as_millisecond();
    let ny = create_series(&app, &admin, {
        let mut b = series_body(
            "NY sync, weekly; \"quoted\"",
            "WEEKLY",
            1,
            ny_start,
            ny_start + 21 * DAY_MS,
        );
        b["time_zone"] = json!("America/New_York");
        b["invited_users"] = json!([alice_id]);
        b
    })
    .await;
    let ny_gid = s(&ny, "recurrence_gid");

    // And a single meeting (UTC, the company's zone).
    let single_start = in_days(&app, 3) + 7 * 1000;
    let single = reserve(&app, &alice, "One-off", single_start, json!({})).await;

    // What the API lists.
    let mut expected = Vec::new();
    for (gid, token) in [(&berlin_gid, &alice), (&ny_gid, &admin)] {
        for o in occurrences(&app, token, gid).await {
            expected.push(occurrence(
                &format!("{gid}@plenum"),
                &s(&o, "meeting_name"),
                o["schedule_start_time"].as_i64().unwrap_or_default(),
                o["schedule_end_time"].as_i64().unwrap_or_default(),
            ));
        }
    }
    expected.push(occurrence(
        &format!("{}@plenum", s(&single, "reservation_id")),
        "One-off",
        single_start,
        single_start + HOUR_MS,
    ));
    let key = |o: &Value| (s(o, "start"), s(o, "end"), s(o, "uid"), s(o, "summary"));
    expected.sort_by_key(key);
    assert_eq!(expected.len(), 7 + 4 + 1);
    assert!(expected.iter().any(|o| o["summary"] == "Moved standup"));

    let from = now_ms(&app) - DAY_MS;
    let to = now_ms(&app) + 500 * DAY_MS;
    let feed = feed_path(
        &app,
        &app.post("/api/v1/user/calendar_feed", Some(&alice), json!({}))
            .await,
    );
    let (status, _, ics) = text(&app, &feed, None).await;
    assert_eq!(status, 200);
    let seen = expand_with_python(&ics, from, to);
    assert_eq!(
        seen,
        Value::Array(expected.clone()),
        "python ({}) read the feed differently:\n{ics}",
        python.display()
    );

    // The series' own calendar agrees too.
    let (status, _, ics) = text(
        &app,
        &format!("/api/v1/meeting_schedule/recurrence/{berlin_gid}/ical"),
        Some(&alice),
    )
    .await;
    assert_eq!(status, 200);
    let berlin_only: Vec<Value> = expected
        .iter()
        .filter(|o| o["uid"] == json!(format!("{berlin_gid}@plenum")))
        .cloned()
        .collect();
    assert_eq!(
        expand_with_python(&ics, from, to),
        Value::Array(berlin_only)
    );
}

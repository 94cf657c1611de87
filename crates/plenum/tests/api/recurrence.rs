//! Recurring meetings (FRTC "Create/Update/Get Recurrence Meeting"): series, their
//! occurrences, local-time expansion across daylight-saving changes, and changes to one
//! occurrence or the whole group.

use jiff::ToSpan;
use jiff::civil::{Date, Weekday, date};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use plenum_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::schedules::ROW_FIELDS;
use crate::{
    DAY_MS, HOUR_MS, assert_frtc_error, company_admin, in_days, keys, now_ms, reserve, s, sorted,
    user,
};

/// The fields of the answer to creating a series.
const SERIES_FIELDS: &[&str] = &[
    "meeting_type",
    "meeting_name",
    "meeting_description",
    "meeting_number",
    "call_rate_type",
    "schedule_start_time",
    "schedule_end_time",
    "meeting_password",
    "invited_users_detail",
    "owner_id",
    "owner_name",
    "reservation_id",
    "recurrence_gid",
    "recurrence_type",
    "recurrenceInterval",
    "recurrenceStartTime",
    "recurrenceEndTime",
    "recurrenceEndDay",
    "time_zone",
    "meeting_room_id",
    "mute_upon_entry",
    "guest_dial_in",
    "watermark",
    "watermark_type",
    "time_to_join",
    "generate_live_url",
    "live_passcode",
    "live_meeting_url",
    "meeting_url",
];

/// A series body: `recurrence_type` every `interval` from `start` (one hour long) until
/// `until`, with extra fields.
fn series_body(frequency: &str, interval: i64, start: i64, until: i64, extra: Value) -> Value {
    let mut body = json!({
        "meeting_type": "recurrence",
        "meeting_name": "Standup",
        "recurrence_type": frequency,
        "recurrenceInterval": interval,
        "recurrenceStartTime": start,
        "recurrenceEndTime": start + HOUR_MS,
        "recurrenceStartDay": start,
        "recurrenceEndDay": until,
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    body
}

/// Creates a series with `POST`, asserting success.
pub async fn create_series(app: &TestApp, token: &str, body: Value) -> Value {
    let reply = app
        .post(
            "/api/v1/meeting_schedule/recurrence",
            Some(token),
            body.clone(),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "creating the series {body} failed: {}",
        reply.body
    );
    reply.body
}

/// All occurrences of a series (one big page), in the order listed.
pub async fn occurrences(app: &TestApp, token: &str, gid: &str) -> Vec<Value> {
    let reply = app
        .get(
            &format!("/api/v1/meeting_schedule/recurrence/{gid}?page_size=500"),
            Some(token),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.body["total_size"],
        json!(
            reply.body["scheduled_meetings"]
                .as_array()
                .map_or(0, Vec::len)
        )
    );
    reply.body["scheduled_meetings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn starts(list: &[Value]) -> Vec<i64> {
    list.iter()
        .map(|o| {
            o["schedule_start_time"]
                .as_i64()
                .unwrap_or_else(|| panic!("no start in {o}"))
        })
        .collect()
}

fn zoned(ms: i64, zone: &str) -> Zoned {
    Timestamp::from_millisecond(ms)
        .and_then(|t| Ok(t.to_zoned(TimeZone::get(zone)?)))
        .unwrap_or_else(|e| panic!("{ms} in {zone}: {e}"))
}

/// Milliseconds of a local date-time in a zone.
pub fn local_ms(d: Date, hour: i8, zone: &str) -> i64 {
    d.at(hour, 0, 0, 0)
        .in_tz(zone)
        .unwrap_or_else(|e| panic!("{d} {hour}:00 in {zone}: {e}"))
        .timestamp()
        .as_millisecond()
}

/// The year after the server's current year (dates in it are always in the future).
pub fn next_year(app: &TestApp) -> i16 {
    zoned(now_ms(app), "UTC").year() + 1
}

#[tokio::test]
async fn a_daily_series_every_other_day_has_its_occurrences_paged() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (bob, bob_token) = user(&app, &admin, "bob", "Normal").await;
    let start = in_days(&app, 1);
    let created = create_series(
        &app,
        &admin,
        series_body(
            "DAILY",
            2,
            start,
            start + 10 * DAY_MS,
            json!({"meeting_description": "Every other day", "meeting_password": "111111",
                   "invited_users": [bob], "call_rate_type": "1024K", "time_zone": "UTC"}),
        ),
    )
    .await;
    assert_eq!(keys(&created), sorted(SERIES_FIELDS), "{created}");
    let gid = s(&created, "recurrence_gid");
    assert!(!gid.is_empty());
    assert_eq!(created["meeting_type"], "recurrence");
    assert_eq!(created["recurrence_type"], "DAILY");
    assert_eq!(created["recurrenceInterval"], 2);
    assert_eq!(created["recurrenceStartTime"], json!(start));
    assert_eq!(created["recurrenceEndTime"], json!(start + HOUR_MS));
    assert_eq!(created["recurrenceEndDay"], json!(start + 10 * DAY_MS));
    assert_eq!(created["schedule_start_time"], json!(start));
    assert_eq!(created["schedule_end_time"], json!(start + HOUR_MS));
    assert_eq!(created["time_zone"], "UTC");
    assert_eq!(created["meeting_password"], "111111");
    assert_eq!(created["call_rate_type"], "1024K");
    assert_eq!(created["owner_name"], "Administrator");
    assert_eq!(
        created["invited_users_detail"],
        json!([{"user_id": bob, "username": "bob", "real_name": "BOB"}])
    );
    let number = s(&created, "meeting_number");
    assert_eq!(number.len(), 9, "{number}");
    assert!(s(&created, "meeting_url").starts_with(&format!("{}/j/", app.base_url)));

    // Days 0, 2, 4, 6, 8 and 10 (the end day is inclusive).
    let all = occurrences(&app, &admin, &gid).await;
    let expected: Vec<i64> = (0..6).map(|k| start + 2 * k * DAY_MS).collect();
    assert_eq!(starts(&all), expected);
    assert_eq!(all[0]["reservation_id"], created["reservation_id"]);
    for o in &all {
        assert_eq!(keys(o), sorted(ROW_FIELDS));
        assert_eq!(o["recurrence_gid"], json!(gid));
        assert_eq!(o["recurrence_type"], "DAILY");
        assert_eq!(o["meeting_type"], "recurrence");
        assert_eq!(o["meeting_name"], "Standup");
        assert_eq!(o["meeting_number"], json!(number));
        assert_eq!(o["meeting_password"], "111111");
        assert_eq!(o["meeting_url"], created["meeting_url"]);
        assert_eq!(
            o["schedule_end_time"].as_i64(),
            o["schedule_start_time"].as_i64().map(|t| t + HOUR_MS)
        );
    }
    let mut ids: Vec<String> = all.iter().map(|o| s(o, "reservation_id")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6, "every occurrence has its own reservation_id");

    // Paged.
    let path = format!("/api/v1/meeting_schedule/recurrence/{gid}");
    let page = app
        .get(&format!("{path}?page_num=1&page_size=4"), Some(&admin))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        keys(&page.body),
        sorted(&["scheduled_meetings", "total_page_num", "total_size"])
    );
    assert_eq!(page.body["total_size"], 6);
    assert_eq!(page.body["total_page_num"], 2);
    let first_page = page.body["scheduled_meetings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(starts(&first_page), expected[..4]);
    let page = app
        .get(&format!("{path}?page_num=2&page_size=4"), Some(&admin))
        .await;
    let second_page = page.body["scheduled_meetings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(starts(&second_page), expected[4..]);
    assert_frtc_error(
        &app.get(&format!("{path}?page_size=0"), Some(&admin)).await,
        400,
        "out_of_range",
    );

    // An occurrence's detail names its series.
    let detail = app
        .get(
            &format!("/api/v1/meeting_schedule/{}", s(&all[2], "reservation_id")),
            Some(&admin),
        )
        .await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_eq!(detail.body["recurrence_gid"], json!(gid));
    assert_eq!(detail.body["recurrence_type"], "DAILY");
    assert_eq!(detail.body["meeting_type"], "recurrence");
    assert_eq!(detail.body["meeting_description"], "Every other day");
    assert_eq!(detail.body["schedule_start_time"], json!(expected[2]));

    // The occurrences are in the meeting lists, the invitee's too.
    for token in [&admin, &bob_token] {
        let list = app.get("/api/v1/meeting_schedule", Some(token)).await;
        assert_eq!(list.body["total_size"], 6, "{}", list.body);
    }
    assert_eq!(occurrences(&app, &bob_token, &gid).await.len(), 6);

    // Unknown groups.
    for bad in ["0190a6e5-6f7c-7cc1-8a3b-5d2f9e1a4b6c", "garbage"] {
        assert_frtc_error(
            &app.get(
                &format!("/api/v1/meeting_schedule/recurrence/{bad}"),
                Some(&admin),
            )
            .await,
            404,
            "recurrence_not_found",
        );
    }
}

#[tokio::test]
async fn the_documented_get_with_a_body_creates_a_series_too() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (bob, _) = user(&app, &admin, "bob", "Normal").await;
    let start = in_days(&app, 2);
    // The documented request, with its (past) schedule_start_time: the recurrence fields
    // describe the first occurrence.
    let body = json!({
        "recurrence_type": "DAILY",
        "meeting_name": "Someone's meeting",
        "meeting_description": "XXXXXX",
        "schedule_start_time": 1641525383726_i64,
        "schedule_end_time": 1641532583788_i64,
        "meeting_room_id": null,
        "call_rate_type": "2048K",
        "meeting_password": "111111",
        "invited_users": [bob],
        "mute_upon_entry": "DISABLE",
        "guest_dial_in": true,
        "watermark": false,
        "watermark_type": "single",
        "meeting_type": "recurrence",
        "recurrenceInterval": 2,
        "recurrenceStartTime": start,
        "recurrenceEndTime": start + HOUR_MS,
        "recurrenceStartDay": start,
        "recurrenceEndDay": start + 4 * DAY_MS,
    });
    let reply = app
        .call(
            Method::GET,
            "/api/v1/meeting_schedule/recurrence",
            Some(&admin),
            Some(body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(keys(&reply.body), sorted(SERIES_FIELDS));
    assert_eq!(reply.body["schedule_start_time"], json!(start));
    assert_eq!(reply.body["meeting_room_id"], Value::Null);
    let gid = s(&reply.body, "recurrence_gid");
    let all = occurrences(&app, &admin, &gid).await;
    assert_eq!(
        starts(&all),
        [start, start + 2 * DAY_MS, start + 4 * DAY_MS]
    );
    assert!(all.iter().all(|o| o["meeting_name"] == "Someone's meeting"));

    // Without recurrence fields, schedule_start/end_time describe the first occurrence.
    let reply = app
        .post(
            "/api/v1/meeting_schedule/recurrence",
            Some(&admin),
            json!({"meeting_type": "recurrence", "meeting_name": "Plain", "recurrence_type": "DAILY",
                   "schedule_start_time": start.to_string(),
                   "schedule_end_time": (start + HOUR_MS).to_string(),
                   "recurrenceEndDay": (start + DAY_MS).to_string()}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.body["recurrenceInterval"], 1,
        "interval defaults to 1"
    );
    let all = occurrences(&app, &admin, &s(&reply.body, "recurrence_gid")).await;
    assert_eq!(starts(&all), [start, start + DAY_MS]);
}

#[tokio::test]
async fn a_weekly_series_keeps_its_weekday_and_a_monthly_one_its_day() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let year = next_year(&app);

    // Weekly from a Thursday, 14:00 Berlin, for 8 weeks: across the spring change.
    let first = date(year, 3, 1)
        .nth_weekday_of_month(2, Weekday::Thursday)
        .unwrap();
    let start = local_ms(first, 14, "Europe/Berlin");
    let until = local_ms(first.checked_add(7.weeks()).unwrap(), 14, "Europe/Berlin");
    let created = create_series(
        &app,
        &admin,
        series_body(
            "WEEKLY",
            1,
            start,
            until,
            json!({"time_zone": "Europe/Berlin"}),
        ),
    )
    .await;
    assert_eq!(created["recurrence_type"], "WEEKLY");
    assert_eq!(created["time_zone"], "Europe/Berlin");
    let all = occurrences(&app, &admin, &s(&created, "recurrence_gid")).await;
    assert_eq!(all.len(), 8);
    let locals: Vec<Zoned> = starts(&all)
        .into_iter()
        .map(|ms| zoned(ms, "Europe/Berlin"))
        .collect();
    for (k, z) in locals.iter().enumerate() {
        assert_eq!(z.weekday(), Weekday::Thursday, "{z}");
        assert_eq!((z.hour(), z.minute()), (14, 0), "{z}");
        assert_eq!(z.date(), first.checked_add((k as i64).weeks()).unwrap());
    }
    assert!(all.iter().all(|o| o["recurrence_type"] == "WEEKLY"));

    // Weekly every 2 weeks.
    let created = create_series(
        &app,
        &admin,
        series_body(
            "WEEKLY",
            2,
            start,
            until,
            json!({"time_zone": "Europe/Berlin"}),
        ),
    )
    .await;
    let all = occurrences(&app, &admin, &s(&created, "recurrence_gid")).await;
    let dates: Vec<Date> = starts(&all)
        .into_iter()
        .map(|ms| zoned(ms, "Europe/Berlin").date())
        .collect();
    let expected: Vec<Date> = (0..4)
        .map(|k| first.checked_add((2 * k).weeks()).unwrap())
        .collect();
    assert_eq!(dates, expected);

    // Monthly on the 15th, 10:00 UTC, for 4 months.
    let start = local_ms(date(year, 2, 15), 10, "UTC");
    let until = local_ms(date(year, 6, 15), 10, "UTC");
    let created = create_series(
        &app,
        &admin,
        series_body("MONTHLY", 1, start, until, json!({})),
    )
    .await;
    assert_eq!(created["recurrence_type"], "MONTHLY");
    let all = occurrences(&app, &admin, &s(&created, "recurrence_gid")).await;
    let expected: Vec<i64> = (2..=6)
        .map(|m| local_ms(date(year, m, 15), 10, "UTC"))
        .collect();
    assert_eq!(starts(&all), expected);
    assert!(all.iter().all(|o| o["recurrence_type"] == "MONTHLY"));

    // Monthly on the 31st skips the months without one (as RFC 5545 does).
    let start = local_ms(date(year, 1, 31), 10, "UTC");
    let until = local_ms(date(year, 12, 31), 23, "UTC");
    let created = create_series(
        &app,
        &admin,
        series_body("MONTHLY", 1, start, until, json!({})),
    )
    .await;
    let all = occurrences(&app, &admin, &s(&created, "recurrence_gid")).await;
    let expected: Vec<i64> = [1, 3, 5, 7, 8, 10, 12]
        .into_iter()
        .map(|m| local_ms(date(year, m, 31), 10, "UTC"))
        .collect();
    assert_eq!(starts(&all), expected);
}

#[tokio::test]
async fn a_daily_series_keeps_its_local_time_across_daylight_saving_changes() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let year = next_year(&app);
    let zone = "Europe/Berlin";

    // Spring: the last Sunday of March. From the Wednesday before to the Wednesday after.
    let change = date(year, 3, 1)
        .nth_weekday_of_month(-1, Weekday::Sunday)
        .unwrap();
    // Autumn: the last Sunday of October. From the Thursday before to the Wednesday after.
    let autumn = date(year, 10, 1)
        .nth_weekday_of_month(-1, Weekday::Sunday)
        .unwrap();
    for (first, last, count, utc_hours) in [
        (
            change.checked_sub(4.days()).unwrap(),
            change.checked_add(3.days()).unwrap(),
            8,
            (8, 7),
        ),
        (
            autumn.checked_sub(3.days()).unwrap(),
            autumn.checked_add(3.days()).unwrap(),
            7,
            (7, 8),
        ),
    ] {
        let start = local_ms(first, 9, zone);
        let until = local_ms(last, 9, zone);
        let created = create_series(
            &app,
            &admin,
            series_body("DAILY", 1, start, until, json!({"time_zone": zone})),
        )
        .await;
        let all = occurrences(&app, &admin, &s(&created, "recurrence_gid")).await;
        assert_eq!(all.len(), count, "{first}..{last}");
        let mut utc = Vec::new();
        for (k, o) in all.iter().enumerate() {
            let start = o["schedule_start_time"].as_i64().unwrap_or_default();
            let local = zoned(start, zone);
            assert_eq!((local.hour(), local.minute()), (9, 0), "{local}");
            assert_eq!(local.date(), first.checked_add((k as i64).days()).unwrap());
            // Each lasts its hour, whatever the offset.
            assert_eq!(
                o["schedule_end_time"].as_i64(),
                Some(start + HOUR_MS),
                "{o}"
            );
            utc.push(zoned(start, "UTC").hour());
        }
        // The UTC hour moves with the change: the series really crosses it.
        assert_eq!(utc.first(), Some(&utc_hours.0), "{utc:?}");
        assert_eq!(utc.last(), Some(&utc_hours.1), "{utc:?}");
    }
}

#[tokio::test]
async fn a_series_repeats_in_the_companys_time_zone_by_default() {
    let app = TestApp::spawn().await;
    let operator = app.admin_token().await;
    let ny = company_admin(&app, &operator, "NY Corp", "America/New_York", "ny-admin").await;
    let year = next_year(&app);
    // The US change: the second Sunday of March. Friday to Tuesday, 09:00 New York.
    let change = date(year, 3, 1)
        .nth_weekday_of_month(2, Weekday::Sunday)
        .unwrap();
    let first = change.checked_sub(2.days()).unwrap();
    let start = local_ms(first, 9, "America/New_York");
    let until = local_ms(change.checked_add(2.days()).unwrap(), 9, "America/New_York");

    let created = create_series(&app, &ny, series_body("DAILY", 1, start, until, json!({}))).await;
    assert_eq!(created["time_zone"], "America/New_York");
    let all = occurrences(&app, &ny, &s(&created, "recurrence_gid")).await;
    assert_eq!(all.len(), 5);
    for (k, ms) in starts(&all).into_iter().enumerate() {
        let local = zoned(ms, "America/New_York");
        assert_eq!((local.hour(), local.minute()), (9, 0), "{local}");
        assert_eq!(local.date(), first.checked_add((k as i64).days()).unwrap());
    }

    // The same series in the default company (UTC) keeps the UTC time of day instead, so
    // its last day's 14:00Z is after the end (09:00 New York summer time, 13:00Z).
    let created = create_series(
        &app,
        &operator,
        series_body("DAILY", 1, start, until, json!({})),
    )
    .await;
    assert_eq!(created["time_zone"], "UTC");
    let all = occurrences(&app, &operator, &s(&created, "recurrence_gid")).await;
    let expected: Vec<i64> = (0..4).map(|k| start + k * DAY_MS).collect();
    assert_eq!(starts(&all), expected);
}

#[tokio::test]
async fn too_many_occurrences_are_refused_and_nothing_is_created() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let start = in_days(&app, 1);
    let reply = app
        .post(
            "/api/v1/meeting_schedule/recurrence",
            Some(&admin),
            series_body(
                "DAILY",
                1,
                start,
                start + 3 * 365 * DAY_MS,
                json!({"meeting_number": "99887766"}),
            ),
        )
        .await;
    assert_frtc_error(&reply, 400, "too_many_occurrences");
    assert!(s(&reply.body, "error").contains("500"), "{}", reply.body);
    let list = app.get("/api/v1/meeting_schedule", Some(&admin)).await;
    assert_eq!(list.body["total_size"], 0, "{}", list.body);
    assert_eq!(list.body["scheduled_meetings"], json!([]));
    // Its number was not taken either.
    let single = reserve(
        &app,
        &admin,
        "Takes the number",
        start,
        json!({"meeting_number": "99887766"}),
    )
    .await;
    assert_eq!(single["meeting_number"], "99887766");

    // The limit itself: 500 occurrences are fine, 501 are not.
    let reply = app
        .post(
            "/api/v1/meeting_schedule/recurrence",
            Some(&admin),
            series_body("DAILY", 1, start, start + 500 * DAY_MS, json!({})),
        )
        .await;
    assert_frtc_error(&reply, 400, "too_many_occurrences");
    let created = create_series(
        &app,
        &admin,
        series_body("DAILY", 1, start, start + 499 * DAY_MS, json!({})),
    )
    .await;
    let gid = s(&created, "recurrence_gid");
    let page = app
        .get(
            &format!("/api/v1/meeting_schedule/recurrence/{gid}?page_size=1"),
            Some(&admin),
        )
        .await;
    assert_eq!(page.body["total_size"], 500);
    let list = app.get("/api/v1/meeting_schedule", Some(&admin)).await;
    assert_eq!(list.body["total_size"], 501);

    // An update that would make too many is refused and changes nothing.
    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/recurrence/{gid}"),
            Some(&admin),
            json!({"recurrenceEndDay": start + 600 * DAY_MS, "meeting_name": "Longer"}),
        )
        .await;
    assert_frtc_error(&reply, 400, "too_many_occurrences");
    let page = app
        .get(
            &format!("/api/v1/meeting_schedule/recurrence/{gid}?page_size=1"),
            Some(&admin),
        )
        .await;
    assert_eq!(page.body["total_size"], 500);
    assert_eq!(
        page.body["scheduled_meetings"][0]["meeting_name"],
        "Standup"
    );
}

#[tokio::test]
async fn bad_series_are_refused_by_field_and_nothing_is_created() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let start = in_days(&app, 1);
    let until = start + 5 * DAY_MS;
    let with = |extra: Value| series_body("DAILY", 1, start, until, extra);
    let without = |field: &str| {
        let mut body = series_body("DAILY", 1, start, until, json!({}));
        if let Some(b) = body.as_object_mut() {
            b.remove(field);
        }
        body
    };
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            without("recurrence_type"),
            400,
            "missing_field",
            "recurrence_type",
        ),
        (
            with(json!({"recurrence_type": "YEARLY"})),
            400,
            "invalid_recurrence_type",
            "recurrence_type",
        ),
        (
            with(json!({"recurrence_type": "daily"})),
            400,
            "invalid_recurrence_type",
            "recurrence_type",
        ),
        (
            with(json!({"recurrenceInterval": 0})),
            400,
            "interval_out_of_range",
            "recurrenceInterval",
        ),
        (
            with(json!({"recurrenceInterval": -2})),
            400,
            "interval_out_of_range",
            "recurrenceInterval",
        ),
        (
            with(json!({"recurrenceInterval": 100})),
            400,
            "interval_out_of_range",
            "recurrenceInterval",
        ),
        (
            with(json!({"recurrenceInterval": "two"})),
            400,
            "invalid_field_type",
            "recurrenceInterval",
        ),
        (
            without("recurrenceEndDay"),
            400,
            "missing_field",
            "recurrenceEndDay",
        ),
        (
            with(json!({"recurrenceEndDay": start - DAY_MS})),
            400,
            "end_before_start",
            "recurrenceEndDay",
        ),
        (
            with(json!({"recurrenceEndTime": start - HOUR_MS})),
            400,
            "end_before_start",
            "recurrenceEndTime",
        ),
        (
            with(json!({"recurrenceEndTime": start + 25 * HOUR_MS})),
            400,
            "meeting_too_long",
            "recurrenceEndTime",
        ),
        (
            with(json!({"recurrenceStartTime": "abc"})),
            400,
            "invalid_time",
            "recurrenceStartTime",
        ),
        (
            {
                let mut body = without("recurrenceStartTime");
                if let Some(b) = body.as_object_mut() {
                    b.remove("recurrenceStartDay");
                }
                body
            },
            400,
            "missing_field",
            "recurrenceStartTime",
        ),
        (
            {
                let past = now_ms(&app) - DAY_MS;
                series_body("DAILY", 1, past, until, json!({}))
            },
            400,
            "start_in_past",
            "recurrenceStartTime",
        ),
        (
            with(json!({"meeting_type": "reservation"})),
            400,
            "invalid_choice",
            "meeting_type",
        ),
        (
            without("meeting_name"),
            400,
            "missing_field",
            "meeting_name",
        ),
        (
            with(json!({"time_zone": "Mars/Olympus_Mons"})),
            400,
            "invalid_time_zone",
            "time_zone",
        ),
        (
            with(json!({"call_rate_type": "fast"})),
            400,
            "invalid_choice",
            "call_rate_type",
        ),
        (
            with(json!({"meeting_password": "abc"})),
            400,
            "invalid_password",
            "meeting_password",
        ),
        (
            with(json!({"invited_users": ["0190a6e5-6f7c-7cc1-8a3b-5d2f9e1a4b6c"]})),
            400,
            "unknown_invitee",
            "0190a6e5-6f7c-7cc1-8a3b-5d2f9e1a4b6c",
        ),
        (
            with(json!({"meeting_room_id": "0190a6e5-6f7c-7cc1-8a3b-5d2f9e1a4b6c"})),
            404,
            "room_not_found",
            "",
        ),
    ];
    for (body, status, code, field) in &cases {
        let reply = app
            .post(
                "/api/v1/meeting_schedule/recurrence",
                Some(&admin),
                body.clone(),
            )
            .await;
        assert_eq!(reply.status.as_u16(), *status, "{body}: {}", reply.body);
        assert_frtc_error(&reply, *status, code);
        assert!(
            s(&reply.body, "error").contains(field),
            "{body}: the message should name {field}: {}",
            reply.body
        );
    }
    let list = app.get("/api/v1/meeting_schedule", Some(&admin)).await;
    assert_eq!(list.body["total_size"], 0, "{}", list.body);
}

#[tokio::test]
async fn one_occurrence_changes_alone_and_a_group_update_resets_them_all() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let start = in_days(&app, 1);
    let created = create_series(
        &app,
        &admin,
        series_body(
            "DAILY",
            1,
            start,
            start + 4 * DAY_MS,
            json!({"meeting_password": "2222", "time_zone": "UTC"}),
        ),
    )
    .await;
    let gid = s(&created, "recurrence_gid");
    let number = s(&created, "meeting_number");
    let before = occurrences(&app, &admin, &gid).await;
    assert_eq!(before.len(), 5);

    // An occurrence's detail sent back as it is (it repeats as its series) is taken; it may
    // not claim another recurrence.
    let first = format!(
        "/api/v1/meeting_schedule/{}",
        s(&before[0], "reservation_id")
    );
    let detail = app.get(&first, Some(&admin)).await.body;
    assert_eq!(detail["recurrence_type"], "DAILY", "{detail}");
    let reply = app.post(&first, Some(&admin), detail).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let reply = app
        .post(&first, Some(&admin), json!({"recurrence_type": "WEEKLY"}))
        .await;
    assert_frtc_error(&reply, 400, "invalid_recurrence_type");

    // Update one occurrence: new name and time; the others stay.
    let moved = start + DAY_MS + 2 * HOUR_MS;
    let second = s(&before[1], "reservation_id");
    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/{second}"),
            Some(&admin),
            json!({"meeting_name": "Special edition", "schedule_start_time": moved,
                   "schedule_end_time": moved + 30 * 60_000, "meeting_password": "9999"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let after = occurrences(&app, &admin, &gid).await;
    assert_eq!(after.len(), 5);
    for (k, (b, a)) in before.iter().zip(&after).enumerate() {
        if k == 1 {
            assert_eq!(a["reservation_id"], json!(second));
            assert_eq!(a["meeting_name"], "Special edition");
            assert_eq!(a["schedule_start_time"], json!(moved));
            assert_eq!(a["schedule_end_time"], json!(moved + 30 * 60_000));
            assert_eq!(a["meeting_password"], "9999");
            assert_eq!(a["recurrence_gid"], json!(gid));
            assert_eq!(a["recurrence_type"], "DAILY");
            assert_eq!(a["meeting_number"], json!(number));
        } else {
            assert_eq!(a, b, "occurrence {k} changed");
        }
    }
    let detail = app
        .get(&format!("/api/v1/meeting_schedule/{second}"), Some(&admin))
        .await;
    assert_eq!(detail.body["recurrence_gid"], json!(gid));
    assert_eq!(detail.body["meeting_type"], "recurrence");
    assert_eq!(detail.body["meeting_name"], "Special edition");

    // An occurrence keeps its series' number and room.
    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/{second}"),
            Some(&admin),
            json!({"meeting_number": "55554444"}),
        )
        .await;
    assert_frtc_error(&reply, 400, "immutable_field");

    // Delete one occurrence: only it goes.
    let fourth = s(&before[3], "reservation_id");
    let reply = app
        .call(
            Method::DELETE,
            &format!("/api/v1/meeting_schedule/{fourth}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_frtc_error(
        &app.get(&format!("/api/v1/meeting_schedule/{fourth}"), Some(&admin))
            .await,
        404,
        "schedule_not_found",
    );
    let after = occurrences(&app, &admin, &gid).await;
    let ids: Vec<String> = after.iter().map(|o| s(o, "reservation_id")).collect();
    let expected: Vec<String> = before
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != 3)
        .map(|(_, o)| s(o, "reservation_id"))
        .collect();
    assert_eq!(ids, expected);
    assert_eq!(
        app.get("/api/v1/meeting_schedule", Some(&admin)).await.body["total_size"],
        4
    );
    // The series still holds its number.
    let reply = app
        .post(
            "/api/v1/meeting_schedule",
            Some(&admin),
            json!({"meeting_type": "instant", "meeting_name": "Clash", "meeting_number": number}),
        )
        .await;
    assert_frtc_error(&reply, 409, "meeting_number_taken");

    // Update the group: every occurrence is renamed and back on the rule; the deleted one
    // stays deleted (the rule still has its start).
    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/recurrence/{gid}"),
            Some(&admin),
            json!({"meeting_name": "Renamed series"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let after = occurrences(&app, &admin, &gid).await;
    let expected: Vec<i64> = [0, 1, 2, 4].iter().map(|k| start + k * DAY_MS).collect();
    assert_eq!(starts(&after), expected);
    for o in &after {
        assert_eq!(o["meeting_name"], "Renamed series");
        assert_eq!(o["meeting_password"], "2222", "left out: stays");
        assert_eq!(o["meeting_number"], json!(number));
        assert_eq!(o["recurrence_gid"], json!(gid));
        assert_eq!(
            o["schedule_end_time"].as_i64(),
            o["schedule_start_time"].as_i64().map(|t| t + HOUR_MS)
        );
    }

    // Sending the series' detail back as it is keeps the rule and settings.
    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/recurrence/{gid}"),
            Some(&admin),
            created.clone(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let echoed = occurrences(&app, &admin, &gid).await;
    assert_eq!(starts(&echoed), expected);
    assert!(echoed.iter().all(|o| o["meeting_name"] == "Standup"));
    assert!(echoed.iter().all(|o| o["meeting_password"] == "2222"));
    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/recurrence/{gid}"),
            Some(&admin),
            json!({"meeting_name": "Renamed series"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);

    // A group update may change the rule itself.
    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/recurrence/{gid}"),
            Some(&admin),
            json!({"recurrence_type": "DAILY", "recurrenceInterval": 2,
                   "recurrenceEndDay": start + 8 * DAY_MS, "meeting_password": "3333"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let after = occurrences(&app, &admin, &gid).await;
    let expected: Vec<i64> = (0..5).map(|k| start + 2 * k * DAY_MS).collect();
    assert_eq!(starts(&after), expected);
    assert!(after.iter().all(|o| o["meeting_name"] == "Renamed series"));
    assert!(after.iter().all(|o| o["meeting_password"] == "3333"));
    let reply = app
        .post(
            &format!("/api/v1/meeting_schedule/recurrence/{gid}"),
            Some(&admin),
            json!({"recurrenceInterval": 0}),
        )
        .await;
    assert_frtc_error(&reply, 400, "interval_out_of_range");
    assert!(s(&reply.body, "error").contains("recurrenceInterval"));
}

#[tokio::test]
async fn deleting_the_group_removes_every_occurrence_and_frees_its_number() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let start = in_days(&app, 1);
    let created = create_series(
        &app,
        &admin,
        series_body(
            "DAILY",
            1,
            start,
            start + 3 * DAY_MS,
            json!({"meeting_number": "31415926"}),
        ),
    )
    .await;
    let gid = s(&created, "recurrence_gid");
    let ids: Vec<String> = occurrences(&app, &admin, &gid)
        .await
        .iter()
        .map(|o| s(o, "reservation_id"))
        .collect();
    assert_eq!(ids.len(), 4);
    let other = reserve(&app, &admin, "Unrelated", start, json!({})).await;

    let path = format!("/api/v1/meeting_schedule/recurrence/{gid}");
    let reply = app.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_frtc_error(
        &app.get(&path, Some(&admin)).await,
        404,
        "recurrence_not_found",
    );
    for id in &ids {
        assert_frtc_error(
            &app.get(&format!("/api/v1/meeting_schedule/{id}"), Some(&admin))
                .await,
            404,
            "schedule_not_found",
        );
    }
    let list = app.get("/api/v1/meeting_schedule", Some(&admin)).await;
    assert_eq!(list.body["total_size"], 1, "{}", list.body);
    assert_eq!(
        list.body["scheduled_meetings"][0]["reservation_id"],
        other["reservation_id"]
    );
    assert_frtc_error(
        &app.call(Method::DELETE, &path, Some(&admin), None).await,
        404,
        "recurrence_not_found",
    );
    assert_frtc_error(
        &app.post(&path, Some(&admin), json!({"meeting_name": "Ghost"}))
            .await,
        404,
        "recurrence_not_found",
    );
    assert_frtc_error(
        &app.get(&format!("{path}/ical"), Some(&admin)).await,
        404,
        "recurrence_not_found",
    );
    // Its number is free again.
    let again = reserve(
        &app,
        &admin,
        "Takes the number",
        start,
        json!({"meeting_number": "31415926"}),
    )
    .await;
    assert_eq!(again["meeting_number"], "31415926");
}

/// Alice's daily series of three (from tomorrow) with Bob invited; Carol, of the same
/// company, is not.
struct InvitedSeries {
    app: TestApp,
    admin: String,
    alice: String,
    bob: String,
    carol: String,
    /// The first occurrence's start.
    start: i64,
    gid: String,
    /// The series' path.
    path: String,
}

async fn invited_series() -> InvitedSeries {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (_, alice) = user(&app, &admin, "alice", "Normal").await;
    let (bob_id, bob) = user(&app, &admin, "bob", "Normal").await;
    let (_, carol) = user(&app, &admin, "carol", "Normal").await;
    let start = in_days(&app, 1);
    let created = create_series(
        &app,
        &alice,
        series_body(
            "DAILY",
            1,
            start,
            start + 2 * DAY_MS,
            json!({"invited_users": [bob_id]}),
        ),
    )
    .await;
    let gid = s(&created, "recurrence_gid");
    let path = format!("/api/v1/meeting_schedule/recurrence/{gid}");
    InvitedSeries {
        app,
        admin,
        alice,
        bob,
        carol,
        start,
        gid,
        path,
    }
}

#[tokio::test]
async fn invitees_see_a_series_owners_and_operators_change_it() {
    let InvitedSeries {
        app,
        admin,
        alice,
        bob,
        carol,
        start,
        gid,
        path,
    } = invited_series().await;
    let (_, olga) = user(&app, &admin, "olga", "MeetingOperator").await;

    // The invitee sees the series and its occurrences but changes nothing.
    let seen = occurrences(&app, &bob, &gid).await;
    assert_eq!(seen.len(), 3);
    let first = format!("/api/v1/meeting_schedule/{}", s(&seen[0], "reservation_id"));
    assert_eq!(app.get(&first, Some(&bob)).await.status, StatusCode::OK);
    for reply in [
        app.post(&path, Some(&bob), json!({"meeting_name": "Bob's"}))
            .await,
        app.call(Method::DELETE, &path, Some(&bob), None).await,
        app.post(&first, Some(&bob), json!({"meeting_name": "Bob's"}))
            .await,
        app.call(Method::DELETE, &first, Some(&bob), None).await,
    ] {
        assert_frtc_error(&reply, 403, "permission_denied");
    }
    // Someone not invited does not see it.
    assert_frtc_error(
        &app.get(&path, Some(&carol)).await,
        404,
        "recurrence_not_found",
    );
    assert_frtc_error(
        &app.post(&path, Some(&carol), json!({"meeting_name": "Carol's"}))
            .await,
        404,
        "recurrence_not_found",
    );
    assert_frtc_error(
        &app.call(Method::DELETE, &path, Some(&carol), None).await,
        404,
        "recurrence_not_found",
    );
    assert_frtc_error(
        &app.get(&first, Some(&carol)).await,
        404,
        "schedule_not_found",
    );
    let list = app.get("/api/v1/meeting_schedule", Some(&carol)).await;
    assert_eq!(list.body["total_size"], 0);

    // A MeetingOperator changes and deletes anyone's series.
    let reply = app
        .post(&path, Some(&olga), json!({"meeting_name": "Moderated"}))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let all = occurrences(&app, &alice, &gid).await;
    assert!(all.iter().all(|o| o["meeting_name"] == "Moderated"));
    assert!(all.iter().all(|o| o["owner_name"] == "ALICE"));
    let reply = app.call(Method::DELETE, &path, Some(&olga), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_frtc_error(
        &app.get(&path, Some(&alice)).await,
        404,
        "recurrence_not_found",
    );

    // Another company never sees it.
    let acme = company_admin(&app, &admin, "Acme", "UTC", "acme-admin").await;
    let created = create_series(
        &app,
        &alice,
        series_body("DAILY", 1, start, start + DAY_MS, json!({})),
    )
    .await;
    let path = format!(
        "/api/v1/meeting_schedule/recurrence/{}",
        s(&created, "recurrence_gid")
    );
    assert_frtc_error(
        &app.get(&path, Some(&acme)).await,
        404,
        "recurrence_not_found",
    );
    assert_frtc_error(
        &app.call(Method::DELETE, &path, Some(&acme), None).await,
        404,
        "recurrence_not_found",
    );
}

#[tokio::test]
async fn a_group_update_may_change_the_series_number() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let start = in_days(&app, 1);
    let created = create_series(
        &app,
        &admin,
        series_body(
            "DAILY",
            1,
            start,
            start + 2 * DAY_MS,
            json!({"meeting_number": "42424242"}),
        ),
    )
    .await;
    assert_eq!(created["meeting_number"], "42424242");
    let gid = s(&created, "recurrence_gid");
    let path = format!("/api/v1/meeting_schedule/recurrence/{gid}");
    reserve(
        &app,
        &admin,
        "Holds a number",
        start,
        json!({"meeting_number": "51515151"}),
    )
    .await;

    // A number that is taken is refused, and nothing changes.
    let reply = app
        .post(&path, Some(&admin), json!({"meeting_number": "51515151"}))
        .await;
    assert_frtc_error(&reply, 409, "meeting_number_taken");
    assert!(
        occurrences(&app, &admin, &gid)
            .await
            .iter()
            .all(|o| o["meeting_number"] == "42424242")
    );

    // A free number is taken by every occurrence; the old one is free again.
    let reply = app
        .post(&path, Some(&admin), json!({"meeting_number": "60606060"}))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let all = occurrences(&app, &admin, &gid).await;
    assert_eq!(all.len(), 3);
    assert!(
        all.iter().all(|o| o["meeting_number"] == "60606060"),
        "{all:?}"
    );
    let reply = app
        .post(
            "/api/v1/meeting_schedule",
            Some(&admin),
            json!({"meeting_type": "instant", "meeting_name": "Clash", "meeting_number": "60606060"}),
        )
        .await;
    assert_frtc_error(&reply, 409, "meeting_number_taken");
    let single = reserve(
        &app,
        &admin,
        "Old number",
        start,
        json!({"meeting_number": "42424242"}),
    )
    .await;
    assert_eq!(single["meeting_number"], "42424242");
    let bad = app
        .post(&path, Some(&admin), json!({"meeting_number": "12"}))
        .await;
    assert_frtc_error(&bad, 400, "invalid_meeting_number");
}

#[tokio::test]
async fn a_group_update_may_not_move_the_series_into_the_past() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let start = in_days(&app, 1);
    let created = create_series(
        &app,
        &admin,
        series_body("DAILY", 1, start, start + 3 * DAY_MS, json!({})),
    )
    .await;
    let gid = s(&created, "recurrence_gid");
    let path = format!("/api/v1/meeting_schedule/recurrence/{gid}");
    let before = occurrences(&app, &admin, &gid).await;

    // As on create: a first start more than 5 minutes ago is refused, nothing changes.
    let past = now_ms(&app) - 5 * DAY_MS;
    for body in [
        json!({"recurrenceStartTime": past, "recurrenceEndTime": past + HOUR_MS}),
        json!({"schedule_start_time": past, "schedule_end_time": past + HOUR_MS}),
    ] {
        let reply = app.post(&path, Some(&admin), body).await;
        assert_frtc_error(&reply, 400, "start_in_past");
        assert!(
            s(&reply.body, "error").contains("recurrenceStartTime"),
            "{}",
            reply.body
        );
        assert_eq!(occurrences(&app, &admin, &gid).await, before);
    }
    // Within the grace period it is taken.
    let recent = now_ms(&app) - 4 * 60_000;
    let reply = app
        .post(
            &path,
            Some(&admin),
            json!({"recurrenceStartTime": recent, "recurrenceEndTime": recent + HOUR_MS}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let reply = app
        .post(
            &path,
            Some(&admin),
            json!({"recurrenceStartTime": start, "recurrenceEndTime": start + HOUR_MS}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);

    // A series that has begun keeps its start: renaming it (or sending it back) still works.
    app.clock
        .advance(std::time::Duration::from_millis((2 * DAY_MS) as u64));
    let admin = app.admin_token().await;
    let reply = app
        .post(&path, Some(&admin), json!({"meeting_name": "Renamed"}))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let reply = app.post(&path, Some(&admin), created.clone()).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_eq!(
        starts(&occurrences(&app, &admin, &gid).await),
        starts(&before)
    );
}

/// `(reservation_id, start)` of each occurrence, in the order listed.
fn ids_and_starts(list: &[Value]) -> Vec<(String, i64)> {
    list.iter()
        .map(|o| {
            (
                s(o, "reservation_id"),
                o["schedule_start_time"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

#[tokio::test]
async fn occurrences_keep_their_reservation_id_across_group_updates() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let start = in_days(&app, 1);
    let created = create_series(
        &app,
        &admin,
        series_body(
            "DAILY",
            1,
            start,
            start + 4 * DAY_MS,
            json!({"time_zone": "UTC"}),
        ),
    )
    .await;
    let gid = s(&created, "recurrence_gid");
    let path = format!("/api/v1/meeting_schedule/recurrence/{gid}");
    let before = ids_and_starts(&occurrences(&app, &admin, &gid).await);
    assert_eq!(before.len(), 5);
    assert_eq!(s(&created, "reservation_id"), before[0].0);

    // The second occurrence is deleted, the third moved on its own.
    let second = format!("/api/v1/meeting_schedule/{}", before[1].0);
    let reply = app.call(Method::DELETE, &second, Some(&admin), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let third = format!("/api/v1/meeting_schedule/{}", before[2].0);
    let moved = before[2].1 + HOUR_MS;
    let reply = app
        .post(
            &third,
            Some(&admin),
            json!({"schedule_start_time": moved, "schedule_end_time": moved + HOUR_MS}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let mut remaining = before.clone();
    remaining.remove(1);

    // A rename, an empty update, the detail sent back: the same ids, the deleted one stays
    // deleted, the moved one is back on the rule.
    for body in [
        json!({"meeting_name": "Renamed"}),
        json!({}),
        created.clone(),
    ] {
        let reply = app.post(&path, Some(&admin), body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::NO_CONTENT,
            "{body}: {}",
            reply.body
        );
        assert_eq!(
            ids_and_starts(&occurrences(&app, &admin, &gid).await),
            remaining,
            "after {body}"
        );
        assert_frtc_error(
            &app.get(&second, Some(&admin)).await,
            404,
            "schedule_not_found",
        );
        let detail = app.get(&third, Some(&admin)).await;
        assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
    }

    // A changed rule: every other day, for longer. Occurrences whose start the rule still has
    // keep their ids; the deleted one's start is gone; the new ones get new ids.
    let reply = app
        .post(
            &path,
            Some(&admin),
            json!({"recurrenceInterval": 2, "recurrenceEndDay": start + 8 * DAY_MS}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let after = ids_and_starts(&occurrences(&app, &admin, &gid).await);
    let expected_starts: Vec<i64> = (0..5).map(|k| start + 2 * k * DAY_MS).collect();
    assert_eq!(
        after.iter().map(|a| a.1).collect::<Vec<_>>(),
        expected_starts
    );
    assert_eq!(after[0].0, before[0].0, "day 0 is still there");
    assert_eq!(after[1].0, before[2].0, "day 2 is still there");
    assert_eq!(after[2].0, before[4].0, "day 4 is still there");
    let old: Vec<&String> = before.iter().map(|b| &b.0).collect();
    assert!(
        !old.contains(&&after[3].0) && !old.contains(&&after[4].0),
        "days 6 and 8 are new"
    );
    assert_ne!(after[3].0, after[4].0);
    for gone in [&before[1].0, &before[3].0] {
        assert_frtc_error(
            &app.get(&format!("/api/v1/meeting_schedule/{gone}"), Some(&admin))
                .await,
            404,
            "schedule_not_found",
        );
    }

    // A deletion is remembered while the rule keeps its start, even across a rule change.
    let sixth = format!("/api/v1/meeting_schedule/{}", after[3].0);
    let reply = app.call(Method::DELETE, &sixth, Some(&admin), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let reply = app
        .post(
            &path,
            Some(&admin),
            json!({"recurrenceEndDay": start + 10 * DAY_MS}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let extended = ids_and_starts(&occurrences(&app, &admin, &gid).await);
    assert_eq!(
        extended.iter().map(|a| a.1).collect::<Vec<_>>(),
        [0, 2, 4, 8, 10].map(|k| start + k * DAY_MS)
    );
    assert_eq!(extended[..4], [&after[..3], &after[4..]].concat()[..]);

    // Another time of day: no occurrence keeps its start, so all are new.
    let later = start + HOUR_MS;
    let reply = app
        .post(
            &path,
            Some(&admin),
            json!({"recurrenceStartTime": later, "recurrenceEndTime": later + HOUR_MS}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let shifted = ids_and_starts(&occurrences(&app, &admin, &gid).await);
    assert_eq!(shifted.len(), 5);
    for (id, _) in &shifted {
        assert!(!extended.iter().any(|e| &e.0 == id), "{id} was kept");
    }
}

#[tokio::test]
async fn group_updates_check_permission_before_reading_the_body() {
    let InvitedSeries {
        app,
        admin,
        alice,
        bob,
        carol,
        gid,
        path,
        ..
    } = invited_series().await;
    let unknown = "/api/v1/meeting_schedule/recurrence/0194b3a2-0000-7000-8000-000000000000";
    let before = occurrences(&app, &alice, &gid).await;

    for body in [
        "{bad",
        "{\"recurrenceInterval\": 0}",
        "{\"recurrence_type\": \"HOURLY\"}",
        "{\"meeting_password\": \"x\"}",
    ] {
        let reply = app.call_raw(Method::POST, &path, Some(&bob), body).await;
        assert_frtc_error(&reply, 403, "permission_denied");
        let reply = app.call_raw(Method::POST, &path, Some(&carol), body).await;
        assert_frtc_error(&reply, 404, "recurrence_not_found");
        let reply = app
            .call_raw(Method::POST, unknown, Some(&alice), body)
            .await;
        assert_frtc_error(&reply, 404, "recurrence_not_found");
    }
    let reply = app
        .call_raw(Method::POST, &path, Some(&alice), "{bad")
        .await;
    assert_frtc_error(&reply, 400, "malformed_json");
    let reply = app
        .call_raw(
            Method::POST,
            &path,
            Some(&admin),
            "{\"recurrenceInterval\": 0}",
        )
        .await;
    assert_frtc_error(&reply, 400, "interval_out_of_range");
    assert_eq!(occurrences(&app, &alice, &gid).await, before);
}

#[tokio::test]
async fn a_series_stays_a_series_and_keeps_its_rooms_number() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let start = in_days(&app, 1);
    let room = app
        .post(
            "/api/v1/meeting_room",
            Some(&admin),
            json!({"meetingroom_name": "Green", "meeting_number": "4450001"}),
        )
        .await;
    assert_eq!(room.status, StatusCode::OK, "{}", room.body);
    let room_id = s(&room.body, "meeting_room_id");
    let reply = app
        .post(
            "/api/v1/meeting_schedule/recurrence",
            Some(&admin),
            series_body(
                "DAILY",
                1,
                start,
                start + DAY_MS,
                json!({"meeting_room_id": room_id, "meeting_number": "4450002"}),
            ),
        )
        .await;
    assert_frtc_error(&reply, 400, "immutable_field");
    assert!(
        s(&reply.body, "error").contains("meeting_number"),
        "{}",
        reply.body
    );

    let created = create_series(
        &app,
        &admin,
        series_body("DAILY", 1, start, start + DAY_MS, json!({})),
    )
    .await;
    let gid = s(&created, "recurrence_gid");
    let path = format!("/api/v1/meeting_schedule/recurrence/{gid}");
    let before = occurrences(&app, &admin, &gid).await;
    for (kind, code) in [
        ("reservation", "immutable_field"),
        ("instant", "immutable_field"),
        ("junk", "invalid_choice"),
    ] {
        let reply = app
            .post(&path, Some(&admin), json!({"meeting_type": kind}))
            .await;
        assert_frtc_error(&reply, 400, code);
        assert!(
            s(&reply.body, "error").contains("meeting_type"),
            "{}",
            reply.body
        );
    }
    assert_eq!(occurrences(&app, &admin, &gid).await, before);
    let reply = app
        .post(&path, Some(&admin), json!({"meeting_type": "recurrence"}))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
}

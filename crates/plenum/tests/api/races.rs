//! Concurrent writers lose nothing (issue 17, "No lost update"; docs/consistency.md): real
//! parallel clients on loopback change one thing at once, a bounded number of rounds, and
//! every acknowledged change must be there afterwards.
//!
//! A lost update needs the second writer to read before the first one commits: a round does
//! not always hit that window, so each case is repeated. Before the fixes these tests failed
//! within a few rounds; after them no round may lose anything, so they cannot flake by
//! passing on luck either way.

use std::time::Duration;

use plenum_testkit::{Reply, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::recurrence::{create_series, occurrences};
use crate::{DAY_MS, HOUR_MS, assert_frtc_error, in_days, reserve, s, user};

/// Rounds per case: enough that the old read-merge-write lost an update in every run seen.
const ROUNDS: usize = 30;

/// No case may take longer than this, whatever the machine.
const CASE_TIMEOUT: Duration = Duration::from_secs(120);

/// Two POSTs sent at once (both futures polled together: two connections, the server runs
/// them on its worker threads in parallel).
async fn both(app: &TestApp, a: (&str, &str, Value), b: (&str, &str, Value)) -> (Reply, Reply) {
    tokio::join!(app.post(a.0, Some(a.1), a.2), app.post(b.0, Some(b.1), b.2))
}

#[track_caller]
fn assert_ok(reply: &Reply) {
    assert!(
        reply.status.is_success(),
        "status {}: {}",
        reply.status,
        reply.body
    );
}

/// Races two updates of different fields of the meeting at `path`, then checks both fields.
async fn race_two_fields(app: &TestApp, token: &str, path: &str, read: &str) {
    for round in 0..ROUNDS {
        let name = format!("Name {round}");
        let description = format!("Description {round}");
        let (a, b) = both(
            app,
            (path, token, json!({"meeting_name": name})),
            (path, token, json!({"meeting_description": description})),
        )
        .await;
        assert_ok(&a);
        assert_ok(&b);
        let now = app.get(read, Some(token)).await;
        assert_eq!(now.status, StatusCode::OK, "{}", now.body);
        assert_eq!(
            (&now.body["meeting_name"], &now.body["meeting_description"]),
            (&json!(name), &json!(description)),
            "round {round}: both acknowledged changes are kept"
        );
    }
}

#[tokio::test]
async fn parallel_updates_of_a_reservation_both_take_effect() {
    tokio::time::timeout(CASE_TIMEOUT, async {
        let app = TestApp::spawn().await;
        let admin = app.admin_token().await;
        let start = in_days(&app, 1);
        let meeting = reserve(&app, &admin, "Planning", start, json!({})).await;
        let path = format!("/api/v1/meeting_schedule/{}", s(&meeting, "reservation_id"));
        race_two_fields(&app, &admin, &path, &path).await;
    })
    .await
    .expect("the case ends in time");
}

#[tokio::test]
async fn parallel_updates_of_an_occurrence_both_take_effect() {
    tokio::time::timeout(CASE_TIMEOUT, async {
        let app = TestApp::spawn().await;
        let admin = app.admin_token().await;
        let start = in_days(&app, 1);
        let series = create_series(
            &app,
            &admin,
            json!({"meeting_type": "recurrence", "meeting_name": "Standup",
                   "recurrence_type": "DAILY", "recurrenceInterval": 1,
                   "recurrenceStartTime": start, "recurrenceEndTime": start + HOUR_MS,
                   "recurrenceStartDay": start, "recurrenceEndDay": start + 3 * DAY_MS}),
        )
        .await;
        let all = occurrences(&app, &admin, &s(&series, "recurrence_gid")).await;
        let path = format!("/api/v1/meeting_schedule/{}", s(&all[1], "reservation_id"));
        race_two_fields(&app, &admin, &path, &path).await;
    })
    .await
    .expect("the case ends in time");
}

#[tokio::test]
async fn parallel_updates_of_a_series_both_take_effect() {
    tokio::time::timeout(CASE_TIMEOUT, async {
        let app = TestApp::spawn().await;
        let admin = app.admin_token().await;
        let start = in_days(&app, 1);
        let series = create_series(
            &app,
            &admin,
            json!({"meeting_type": "recurrence", "meeting_name": "Standup",
                   "recurrence_type": "DAILY", "recurrenceInterval": 1,
                   "recurrenceStartTime": start, "recurrenceEndTime": start + HOUR_MS,
                   "recurrenceStartDay": start, "recurrenceEndDay": start + 3 * DAY_MS}),
        )
        .await;
        let gid = s(&series, "recurrence_gid");
        let daily = occurrences(&app, &admin, &gid).await.len();
        let path = format!("/api/v1/meeting_schedule/recurrence/{gid}");
        for round in 0..ROUNDS {
            let name = format!("Name {round}");
            let description = format!("Description {round}");
            // A rule change and a settings change at once: both are kept too.
            let interval = 1 + (round % 2);
            let (a, b) = both(
                &app,
                (
                    &path,
                    &admin,
                    json!({"meeting_name": name, "recurrenceInterval": interval}),
                ),
                (&path, &admin, json!({"meeting_description": description})),
            )
            .await;
            assert_ok(&a);
            assert_ok(&b);
            let all = occurrences(&app, &admin, &gid).await;
            let expected = if interval == 1 {
                daily
            } else {
                daily.div_ceil(2)
            };
            assert_eq!(
                all.len(),
                expected,
                "round {round}: the rule change is kept"
            );
            // The list shows no description: each occurrence's detail does.
            for o in &all {
                let detail = app
                    .get(
                        &format!("/api/v1/meeting_schedule/{}", s(o, "reservation_id")),
                        Some(&admin),
                    )
                    .await;
                assert_eq!(
                    (
                        &detail.body["meeting_name"],
                        &detail.body["meeting_description"]
                    ),
                    (&json!(name), &json!(description)),
                    "round {round}: both acknowledged changes are kept"
                );
            }
        }
    })
    .await
    .expect("the case ends in time");
}

#[tokio::test]
async fn parallel_updates_of_a_room_both_take_effect() {
    tokio::time::timeout(CASE_TIMEOUT, async {
        let app = TestApp::spawn().await;
        let admin = app.admin_token().await;
        let reply = app
            .post(
                "/api/v1/meeting_room",
                Some(&admin),
                json!({"meetingroom_name": "Board room", "meeting_password": "4321"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let path = format!("/api/v1/meeting_room/{}", s(&reply.body, "meeting_room_id"));
        for round in 0..ROUNDS {
            let name = format!("Room {round}");
            let password = format!("{:04}", 1000 + round);
            let (a, b) = both(
                &app,
                (&path, &admin, json!({"meetingroom_name": name})),
                (&path, &admin, json!({"meeting_password": password})),
            )
            .await;
            assert_ok(&a);
            assert_ok(&b);
            let now = app.get(&path, Some(&admin)).await;
            assert_eq!(
                (&now.body["meetingroom_name"], &now.body["meeting_password"]),
                (&json!(name), &json!(password)),
                "round {round}: both acknowledged changes are kept"
            );
        }
    })
    .await
    .expect("the case ends in time");
}

/// Signs in, asserting only whether it worked.
async fn signs_in(app: &TestApp, username: &str, password: &str) -> bool {
    app.post(
        "/api/v1/user/sign_in",
        None,
        json!({"username": username, "password": password}),
    )
    .await
    .status
        == StatusCode::OK
}

#[tokio::test]
async fn two_password_changes_with_the_same_old_password_one_wins() {
    tokio::time::timeout(CASE_TIMEOUT, async {
        let app = TestApp::spawn().await;
        let admin = app.admin_token().await;
        // Fewer rounds: each hashes with real Argon2id parameters.
        for round in 0..8 {
            let username = format!("pat{round}");
            user(&app, &admin, &username, "Normal").await;
            let one = app.sign_in(&username, "Passw0rd-123").await;
            let two = app.sign_in(&username, "Passw0rd-123").await;
            let (a, b) = both(
                &app,
                (
                    "/api/v1/user/password",
                    &one,
                    json!({"password_old": "Passw0rd-123", "password_new": "First-Passw0rd"}),
                ),
                (
                    "/api/v1/user/password",
                    &two,
                    json!({"password_old": "Passw0rd-123", "password_new": "Second-Passw0rd"}),
                ),
            )
            .await;
            let (winner, loser, won_with, lost_with) = match (a.status, b.status) {
                (StatusCode::NO_CONTENT, _) => (a, b, "First-Passw0rd", "Second-Passw0rd"),
                (_, StatusCode::NO_CONTENT) => (b, a, "Second-Passw0rd", "First-Passw0rd"),
                _ => panic!("round {round}: neither change succeeded: {a:?} {b:?}"),
            };
            assert_eq!(winner.status, StatusCode::NO_CONTENT);
            // The other change was checked against a password that is no longer the user's.
            // (Had it come after the winner was done, its token would be gone already.)
            if loser.status == StatusCode::UNAUTHORIZED {
                assert_frtc_error(&loser, 401, "token_invalid");
            } else {
                assert_frtc_error(&loser, 403, "wrong_old_secret");
            }
            assert!(
                signs_in(&app, &username, won_with).await,
                "round {round}: the acknowledged password works"
            );
            assert!(
                !signs_in(&app, &username, lost_with).await,
                "round {round}: the refused password does not"
            );
        }
    })
    .await
    .expect("the case ends in time");
}

#[tokio::test]
async fn a_self_change_racing_an_admin_reset_cannot_undo_the_reset() {
    tokio::time::timeout(CASE_TIMEOUT, async {
        let app = TestApp::spawn().await;
        let admin = app.admin_token().await;
        for round in 0..8 {
            let username = format!("rex{round}");
            let (id, own) = user(&app, &admin, &username, "Normal").await;
            let (change, reset) = both(
                &app,
                (
                    "/api/v1/user/password",
                    &own,
                    json!({"password_old": "Passw0rd-123", "password_new": "Own-Passw0rd"}),
                ),
                (
                    &format!("/api/v1/user/users/{id}"),
                    &admin,
                    json!({"password": "Reset-Passw0rd"}),
                ),
            )
            .await;
            assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
            // The self change either came first (and the reset replaced it) or was refused:
            // the old password it named is no longer the user's, or its token was ended.
            match change.status {
                StatusCode::NO_CONTENT => {}
                StatusCode::FORBIDDEN => assert_frtc_error(&change, 403, "wrong_old_secret"),
                _ => assert_frtc_error(&change, 401, "token_invalid"),
            }
            assert!(
                signs_in(&app, &username, "Reset-Passw0rd").await,
                "round {round}: the admin's reset stands"
            );
            assert!(
                !signs_in(&app, &username, "Own-Passw0rd").await,
                "round {round}: the raced self change did not undo it"
            );
        }
    })
    .await
    .expect("the case ends in time");
}

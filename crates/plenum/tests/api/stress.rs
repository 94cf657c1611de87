//! The concurrency stress suite (issue 17; docs/consistency.md). Parallel clients on loopback
//! drive the write endpoints at once: users, passwords and keys; rooms renamed, given new
//! passwords and renumbered; reservations and series created (with colliding numbers),
//! edited field by field and deleted; joins and leaves of running meetings while a host
//! locks, mutes, disconnects and ends them. Each client does a bounded number of operations
//! within a bounded time, from a seeded random sequence. Then the invariants are checked
//! against what the store holds:
//! - every acknowledged change is there: each field has one writer, so the value it
//!   acknowledged last is the one that must be stored, whatever the others did meanwhile;
//! - no meeting number is held twice, and a meeting in a room has the room's number;
//! - one participant's stays in a session never overlap, and every stay has ended;
//! - the counts match: users, reservations, stays.
//!
//! `PLENUM_STRESS_SEED`, `PLENUM_STRESS_OPS` (per client) and `PLENUM_STRESS_SECS` turn it into
//! the soak run of `scripts/soak.sh`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use plenum_domain::ids::CompanyId;
use plenum_domain::paging::PageRequest;
use plenum_testkit::live::LiveClient;
use plenum_testkit::{Reply, TestApp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{DAY_MS, HOUR_MS, in_days, reserve, s, user};

/// Operations per client in CI; the soak run sets more.
const DEFAULT_OPS: usize = 120;
/// Longest the clients run in CI; they stop at this even with operations left.
const DEFAULT_SECS: u64 = 25;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What bounds every client: a count and a deadline.
#[derive(Clone, Copy)]
struct Budget {
    ops: usize,
    until: Instant,
}

impl Budget {
    fn left(&self, done: usize) -> bool {
        done < self.ops && Instant::now() < self.until
    }
}

#[track_caller]
fn ok(reply: &Reply, what: &str) {
    assert!(
        reply.status.is_success(),
        "{what}: {} {}",
        reply.status,
        reply.body
    );
}

/// A refusal the race allows (the number was taken meanwhile), or success.
#[track_caller]
fn ok_or_taken(reply: &Reply, what: &str) -> bool {
    if reply.status.is_success() {
        return true;
    }
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::CONFLICT, "meeting_number_taken"),
        "{what}: {}",
        reply.body
    );
    false
}

async fn delete(app: &TestApp, path: &str, token: &str) -> Reply {
    app.call(Method::DELETE, path, Some(token), None).await
}

/// The fixed cast of a run: who acts, and what exists before the clients start.
struct Cast {
    admin: String,
    operator: String,
    company: CompanyId,
    /// Rooms people join (never renumbered, so joins find them): (id, number).
    meeting_rooms: Vec<(String, String)>,
    /// Rooms the number juggler renumbers: ids.
    juggled_rooms: Vec<String>,
    /// Reservations two writers edit field by field: ids.
    shared_reservations: Vec<String>,
    /// The numbers reservations and renumbered rooms compete for.
    number_pool: Vec<String>,
}

async fn room(app: &TestApp, token: &str, name: &str) -> (String, String) {
    let reply = app
        .post(
            "/api/v1/meeting_room",
            Some(token),
            json!({"meetingroom_name": name, "meeting_password": "1234"}),
        )
        .await;
    ok(&reply, "creating a room");
    (
        s(&reply.body, "meeting_room_id"),
        s(&reply.body, "meeting_number"),
    )
}

async fn cast(app: &TestApp, seed: u64) -> Cast {
    let admin = app.admin_token().await;
    let (_, operator) = user(app, &admin, "stress-operator", "MeetingOperator").await;
    let company = app
        .plenum()
        .store()
        .default_company()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no default company"))
        .id;
    let mut meeting_rooms = Vec::new();
    for i in 0..3 {
        meeting_rooms.push(room(app, &admin, &format!("Meeting room {i}")).await);
    }
    let mut juggled_rooms = Vec::new();
    for i in 0..2 {
        juggled_rooms.push(room(app, &operator, &format!("Juggled room {i}")).await.0);
    }
    let mut shared_reservations = Vec::new();
    for i in 0..3 {
        let start = in_days(app, 1 + i);
        let meeting = reserve(app, &admin, &format!("Shared {i}"), start, json!({})).await;
        shared_reservations.push(s(&meeting, "reservation_id"));
    }
    // Nine-digit numbers of this seed: unlikely to be generated for anything else.
    let base = 700_000_000 + (seed % 1000) * 100;
    let number_pool = (0..6).map(|i| (base + i).to_string()).collect();
    Cast {
        admin,
        operator,
        company,
        meeting_rooms,
        juggled_rooms,
        shared_reservations,
        number_pool,
    }
}

/// Renames shared reservations and meeting rooms (the only writer of those names).
async fn namer(app: &TestApp, cast: &Cast, mut rng: StdRng, budget: Budget) -> NamerSaw {
    let mut saw = NamerSaw::default();
    let mut done = 0;
    while budget.left(done) {
        let name = format!("Named {done}");
        if rng.random_bool(0.5) {
            let id = &cast.shared_reservations[rng.random_range(0..cast.shared_reservations.len())];
            let path = format!("/api/v1/meeting_schedule/{id}");
            let reply = app
                .post(&path, Some(&cast.admin), json!({"meeting_name": name}))
                .await;
            ok(&reply, "renaming a reservation");
            saw.reservation_names.insert(id.clone(), name);
        } else {
            let (id, _) = &cast.meeting_rooms[rng.random_range(0..cast.meeting_rooms.len())];
            let path = format!("/api/v1/meeting_room/{id}");
            let reply = app
                .post(&path, Some(&cast.admin), json!({"meetingroom_name": name}))
                .await;
            ok(&reply, "renaming a room");
            saw.room_names.insert(id.clone(), name);
        }
        done += 1;
    }
    saw
}

#[derive(Default)]
struct NamerSaw {
    reservation_names: HashMap<String, String>,
    room_names: HashMap<String, String>,
}

/// Describes shared reservations and sets the juggled rooms' passwords (their only writer).
async fn describer(app: &TestApp, cast: &Cast, mut rng: StdRng, budget: Budget) -> DescriberSaw {
    let mut saw = DescriberSaw::default();
    let mut done = 0;
    while budget.left(done) {
        if rng.random_bool(0.5) {
            let id = &cast.shared_reservations[rng.random_range(0..cast.shared_reservations.len())];
            let text = format!("Described {done}");
            let path = format!("/api/v1/meeting_schedule/{id}");
            let reply = app
                .post(
                    &path,
                    Some(&cast.operator),
                    json!({"meeting_description": text}),
                )
                .await;
            ok(&reply, "describing a reservation");
            saw.descriptions.insert(id.clone(), text);
        } else {
            let id = &cast.juggled_rooms[rng.random_range(0..cast.juggled_rooms.len())];
            let password = format!("{}", 100_000 + done);
            let path = format!("/api/v1/meeting_room/{id}");
            let reply = app
                .post(
                    &path,
                    Some(&cast.operator),
                    json!({"meeting_password": password}),
                )
                .await;
            ok(&reply, "setting a room's password");
            saw.room_passwords.insert(id.clone(), password);
        }
        done += 1;
    }
    saw
}

#[derive(Default)]
struct DescriberSaw {
    descriptions: HashMap<String, String>,
    room_passwords: HashMap<String, String>,
}

/// Creates reservations with numbers from a small pool, or in the juggled rooms, deletes
/// them, and renumbers the juggled rooms into the same pool: every number is fought over.
async fn juggler(app: &TestApp, cast: &Cast, mut rng: StdRng, budget: Budget) -> JugglerSaw {
    let mut saw = JugglerSaw::default();
    let mut done = 0;
    let base = in_days(app, 10);
    while budget.left(done) {
        let start = base + (done as i64) * 2 * HOUR_MS;
        let number = cast.number_pool[rng.random_range(0..cast.number_pool.len())].clone();
        match rng.random_range(0..5) {
            0 | 1 => {
                let reply = app
                    .post(
                        "/api/v1/meeting_schedule",
                        Some(&cast.operator),
                        json!({"meeting_type": "reservation", "meeting_name": format!("Juggled {done}"),
                               "schedule_start_time": start, "schedule_end_time": start + HOUR_MS,
                               "meeting_number": number}),
                    )
                    .await;
                if ok_or_taken(&reply, "reserving a number") {
                    saw.reservations
                        .insert(s(&reply.body, "reservation_id"), Holder::Number(number));
                }
            }
            2 => {
                let room =
                    cast.juggled_rooms[rng.random_range(0..cast.juggled_rooms.len())].clone();
                let reply = app
                    .post(
                        "/api/v1/meeting_schedule",
                        Some(&cast.operator),
                        json!({"meeting_type": "reservation", "meeting_name": format!("In room {done}"),
                               "schedule_start_time": start, "schedule_end_time": start + HOUR_MS,
                               "meeting_room_id": room}),
                    )
                    .await;
                ok(&reply, "reserving in a room");
                saw.reservations
                    .insert(s(&reply.body, "reservation_id"), Holder::Room(room));
            }
            3 => {
                let room = &cast.juggled_rooms[rng.random_range(0..cast.juggled_rooms.len())];
                let reply = app
                    .post(
                        &format!("/api/v1/meeting_room/{room}"),
                        Some(&cast.operator),
                        json!({"meeting_number": number}),
                    )
                    .await;
                // A room with meetings scheduled in it keeps its number (`room_in_use`).
                if reply.error_code() != "room_in_use" && ok_or_taken(&reply, "renumbering a room")
                {
                    saw.room_numbers.insert(room.clone(), number);
                }
            }
            _ => {
                let mine: Vec<String> = saw.reservations.keys().cloned().collect();
                if mine.is_empty() {
                    done += 1;
                    continue;
                }
                let id = &mine[rng.random_range(0..mine.len())];
                let reply = delete(
                    app,
                    &format!("/api/v1/meeting_schedule/{id}"),
                    &cast.operator,
                )
                .await;
                ok(&reply, "deleting a reservation");
                saw.reservations.remove(id);
                saw.deleted.push(id.clone());
            }
        }
        done += 1;
    }
    saw
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Holder {
    Number(String),
    Room(String),
}

#[derive(Default)]
struct JugglerSaw {
    /// Reservations acknowledged and not deleted, with the number they must hold.
    reservations: BTreeMap<String, Holder>,
    deleted: Vec<String>,
    room_numbers: HashMap<String, String>,
}

/// Creates, renames and deletes series.
async fn series_writer(app: &TestApp, cast: &Cast, mut rng: StdRng, budget: Budget) -> SeriesSaw {
    let mut saw = SeriesSaw::default();
    let mut done = 0;
    while budget.left(done) {
        let ids: Vec<String> = saw.names.keys().cloned().collect();
        match (rng.random_range(0..3), ids.is_empty()) {
            (0, _) | (_, true) => {
                let start = in_days(app, 30 + done as i64);
                let reply = app
                    .post(
                        "/api/v1/meeting_schedule/recurrence",
                        Some(&cast.admin),
                        json!({"meeting_type": "recurrence", "meeting_name": format!("Series {done}"),
                               "recurrence_type": "DAILY", "recurrenceInterval": 1,
                               "recurrenceStartTime": start, "recurrenceEndTime": start + HOUR_MS,
                               "recurrenceStartDay": start, "recurrenceEndDay": start + 3 * DAY_MS}),
                    )
                    .await;
                ok(&reply, "creating a series");
                saw.names
                    .insert(s(&reply.body, "recurrence_gid"), format!("Series {done}"));
            }
            (1, false) => {
                let id = &ids[rng.random_range(0..ids.len())];
                let name = format!("Renamed series {done}");
                let reply = app
                    .post(
                        &format!("/api/v1/meeting_schedule/recurrence/{id}"),
                        Some(&cast.admin),
                        json!({"meeting_name": name}),
                    )
                    .await;
                ok(&reply, "renaming a series");
                saw.names.insert(id.clone(), name);
            }
            _ => {
                let id = &ids[rng.random_range(0..ids.len())];
                let reply = delete(
                    app,
                    &format!("/api/v1/meeting_schedule/recurrence/{id}"),
                    &cast.admin,
                )
                .await;
                ok(&reply, "deleting a series");
                saw.names.remove(id);
                saw.deleted.push(id.clone());
            }
        }
        done += 1;
    }
    saw
}

#[derive(Default)]
struct SeriesSaw {
    names: BTreeMap<String, String>,
    deleted: Vec<String>,
}

/// Creates users and renames them; creates and revokes integration keys.
async fn accounts_writer(
    app: &TestApp,
    cast: &Cast,
    mut rng: StdRng,
    budget: Budget,
    seed: u64,
) -> AccountsSaw {
    let mut saw = AccountsSaw::default();
    let mut done = 0;
    while budget.left(done) {
        let users: Vec<String> = saw.real_names.keys().cloned().collect();
        let live_keys: Vec<String> = saw
            .keys
            .iter()
            .filter(|(_, r)| !**r)
            .map(|(k, _)| k.clone())
            .collect();
        match rng.random_range(0..4) {
            0 => {
                let reply = app
                    .post(
                        "/api/v1/user/users",
                        Some(&cast.admin),
                        json!({"username": format!("stress-{seed}-{done}"), "role": "Normal",
                               "password": "Passw0rd-123", "real_name": format!("Created {done}")}),
                    )
                    .await;
                ok(&reply, "creating a user");
                saw.real_names
                    .insert(s(&reply.body, "user_id"), format!("Created {done}"));
            }
            1 if !users.is_empty() => {
                let id = &users[rng.random_range(0..users.len())];
                let name = format!("Renamed {done}");
                let reply = app
                    .post(
                        &format!("/api/v1/user/users/{id}"),
                        Some(&cast.admin),
                        json!({"real_name": name}),
                    )
                    .await;
                ok(&reply, "renaming a user");
                saw.real_names.insert(id.clone(), name);
            }
            2 => {
                let reply = app
                    .post(
                        "/api/v1/api_keys",
                        Some(&cast.admin),
                        json!({"name": format!("key {done}")}),
                    )
                    .await;
                ok(&reply, "creating a key");
                saw.keys.insert(s(&reply.body, "api_key_id"), false);
            }
            _ if !live_keys.is_empty() => {
                let id = &live_keys[rng.random_range(0..live_keys.len())];
                let reply = delete(app, &format!("/api/v1/api_keys/{id}"), &cast.admin).await;
                ok(&reply, "revoking a key");
                saw.keys.insert(id.clone(), true);
            }
            _ => {}
        }
        done += 1;
    }
    saw
}

#[derive(Default)]
struct AccountsSaw {
    real_names: BTreeMap<String, String>,
    /// Keys by id: revoked or not.
    keys: BTreeMap<String, bool>,
}

/// Changes one user's own password again and again (each change costs an Argon2 hash, so
/// fewer of them).
async fn password_changer(app: &TestApp, cast: &Cast, budget: Budget) -> (String, String) {
    let (_, token) = user(app, &cast.admin, "stress-passwords", "Normal").await;
    let mut current = "Passw0rd-123".to_owned();
    let mut done = 0;
    while budget.left(done * 4) {
        let new = format!("Changed-Passw0rd-{done}");
        let reply = app
            .post(
                "/api/v1/user/password",
                Some(&token),
                json!({"password_old": current, "password_new": new}),
            )
            .await;
        ok(&reply, "changing one's password");
        current = new;
        done += 1;
    }
    ("stress-passwords".to_owned(), current)
}

/// Joins meetings of the meeting rooms and leaves them, as a signed-in user: each join the
/// server acknowledged must be one stay in the record.
async fn attendee(
    app: &TestApp,
    cast: &Cast,
    name: &str,
    mut rng: StdRng,
    budget: Budget,
) -> (String, usize) {
    let (id, token) = user(app, &cast.admin, name, "Normal").await;
    let mut joined = 0;
    let mut done = 0;
    while budget.left(done) {
        done += 1;
        let (_, number) = &cast.meeting_rooms[rng.random_range(0..cast.meeting_rooms.len())];
        let mut client = LiveClient::connect(app, Some(&token)).await;
        let answer = client
            .join(json!({"meeting_number": number, "password": "1234", "device_type": "bot"}))
            .await;
        if answer["type"] != "joined" {
            // A host locked the meeting, or ended it as it started: allowed refusals.
            continue;
        }
        joined += 1;
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..30))).await;
        client.send(json!({"type": "leave"})).await;
        // `left` then close, or closed already (a host disconnected us or ended the meeting).
        client.closed().await;
    }
    (id, joined)
}

/// Acts on running meetings as a host: lock, unlock, mute all, disconnect all, end.
async fn host(app: &TestApp, cast: &Cast, mut rng: StdRng, budget: Budget, stop: &AtomicBool) {
    let mut done = 0;
    while budget.left(done) && !stop.load(Ordering::Relaxed) {
        done += 1;
        let (_, number) = &cast.meeting_rooms[rng.random_range(0..cast.meeting_rooms.len())];
        let (method, call, body) = match rng.random_range(0..10) {
            0..=2 => (Method::POST, "lock", Some(json!({}))),
            3..=5 => (Method::DELETE, "lock", None),
            6 => (
                Method::POST,
                "mute_all",
                Some(json!({"allow_self_unmute": true})),
            ),
            7 => (Method::POST, "unmute_all", Some(json!({}))),
            8 => (Method::POST, "disconnect_all", Some(json!({}))),
            _ => (Method::POST, "stop", Some(json!({"rejoin": true}))),
        };
        let reply = app
            .call(
                method,
                &format!("/api/v1/meeting/{number}/{call}"),
                Some(&cast.admin),
                body,
            )
            .await;
        assert!(
            reply.status == StatusCode::NO_CONTENT || reply.error_code() == "meeting_not_running",
            "{call}: {} {}",
            reply.status,
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(rng.random_range(5..40))).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_clients_on_every_write_path_lose_nothing_and_break_no_invariant() {
    let seed: u64 = env_or("PLENUM_STRESS_SEED", 17);
    let ops: usize = env_or("PLENUM_STRESS_OPS", DEFAULT_OPS);
    let secs: u64 = env_or("PLENUM_STRESS_SECS", DEFAULT_SECS);
    let whole = Duration::from_secs(secs + 90);
    tokio::time::timeout(whole, run(seed, ops, secs))
        .await
        .unwrap_or_else(|_| panic!("the stress run (seed {seed}) did not end within {whole:?}"));
}

async fn run(seed: u64, ops: usize, secs: u64) {
    let app = TestApp::spawn().await;
    // The server's clock moves with real time, so stays have distinct instants.
    let ticking = Arc::new(AtomicBool::new(true));
    let ticker = {
        let (clock, ticking) = (app.clock.clone(), ticking.clone());
        tokio::spawn(async move {
            while ticking.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(5)).await;
                clock.advance(Duration::from_millis(5));
            }
        })
    };
    let cast = cast(&app, seed).await;
    let users_before = count_users(&app, cast.company).await;
    let budget = Budget {
        ops,
        until: Instant::now() + Duration::from_secs(secs),
    };
    let rng = |n: u64| StdRng::seed_from_u64(seed.wrapping_mul(1000).wrapping_add(n));
    let host_stop = AtomicBool::new(false);
    let (app, cast) = (&app, &cast);
    let attendees = async {
        let (a, b, c) = tokio::join!(
            attendee(app, cast, "stress-ann", rng(7), budget),
            attendee(app, cast, "stress-bob", rng(8), budget),
            attendee(app, cast, "stress-cat", rng(9), budget),
        );
        host_stop.store(true, Ordering::Relaxed);
        vec![a, b, c]
    };
    let (named, described, juggled, series, accounts, password, attended, ()) = tokio::join!(
        namer(app, cast, rng(1), budget),
        describer(app, cast, rng(2), budget),
        juggler(app, cast, rng(3), budget),
        series_writer(app, cast, rng(4), budget),
        accounts_writer(app, cast, rng(5), budget, seed),
        password_changer(app, cast, budget),
        attendees,
        host(app, cast, rng(6), budget, &host_stop),
    );
    // Every meeting ends, so every stay must have.
    for (_, number) in &cast.meeting_rooms {
        let reply = app
            .post(
                &format!("/api/v1/meeting/{number}/stop"),
                Some(&cast.admin),
                json!({"rejoin": true}),
            )
            .await;
        assert!(
            reply.status == StatusCode::NO_CONTENT || reply.error_code() == "meeting_not_running",
            "stop: {}",
            reply.body
        );
    }
    ticking.store(false, Ordering::Relaxed);
    let _ = ticker.await;

    // --- every acknowledged change is there ---------------------------------------------------
    let get = |path: String| async move {
        let reply = app.get(&path, Some(&cast.admin)).await;
        ok(&reply, &path);
        reply.body
    };
    for id in &cast.shared_reservations {
        let now = get(format!("/api/v1/meeting_schedule/{id}")).await;
        if let Some(name) = named.reservation_names.get(id) {
            assert_eq!(now["meeting_name"], json!(name), "reservation {id}'s name");
        }
        if let Some(text) = described.descriptions.get(id) {
            assert_eq!(
                now["meeting_description"],
                json!(text),
                "reservation {id}'s description"
            );
        }
    }
    for (id, _) in &cast.meeting_rooms {
        if let Some(name) = named.room_names.get(id) {
            let now = get(format!("/api/v1/meeting_room/{id}")).await;
            assert_eq!(now["meetingroom_name"], json!(name), "room {id}'s name");
        }
    }
    let mut room_numbers = HashMap::new();
    for id in &cast.juggled_rooms {
        let now = get(format!("/api/v1/meeting_room/{id}")).await;
        if let Some(password) = described.room_passwords.get(id) {
            assert_eq!(
                now["meeting_password"],
                json!(password),
                "room {id}'s password"
            );
        }
        if let Some(number) = juggled.room_numbers.get(id) {
            assert_eq!(now["meeting_number"], json!(number), "room {id}'s number");
        }
        room_numbers.insert(id.clone(), s(&now, "meeting_number"));
    }
    for (id, holder) in &juggled.reservations {
        let now = get(format!("/api/v1/meeting_schedule/{id}")).await;
        let expected = match holder {
            Holder::Number(n) => n,
            Holder::Room(room) => &room_numbers[room],
        };
        assert_eq!(
            now["meeting_number"],
            json!(expected),
            "reservation {id}'s number"
        );
    }
    for id in &juggled.deleted {
        let reply = app
            .get(&format!("/api/v1/meeting_schedule/{id}"), Some(&cast.admin))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "deleted reservation {id}"
        );
    }
    for (id, name) in &series.names {
        // A series is read as its occurrences, which carry its name.
        let now = get(format!("/api/v1/meeting_schedule/recurrence/{id}")).await;
        let occurrences = now["scheduled_meetings"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(!occurrences.is_empty(), "series {id} has occurrences");
        for o in &occurrences {
            assert_eq!(o["meeting_name"], json!(name), "series {id}'s name");
        }
    }
    for id in &series.deleted {
        let reply = app
            .get(
                &format!("/api/v1/meeting_schedule/recurrence/{id}"),
                Some(&cast.admin),
            )
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "deleted series {id}");
    }
    for (id, name) in &accounts.real_names {
        let now = get(format!("/api/v1/user/users/{id}")).await;
        assert_eq!(now["real_name"], json!(name), "user {id}'s real name");
    }
    let keys = app
        .plenum()
        .store()
        .api_keys(cast.company)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for (id, revoked) in &accounts.keys {
        let key = keys
            .iter()
            .find(|k| k.id.to_string() == *id)
            .unwrap_or_else(|| panic!("key {id} is gone"));
        assert_eq!(key.revoked_at.is_some(), *revoked, "key {id} revoked");
    }
    let (username, password) = &password;
    let signed_in = app
        .post(
            "/api/v1/user/sign_in",
            None,
            json!({"username": username, "password": password}),
        )
        .await;
    ok(&signed_in, "signing in with the last password");

    // --- counts match ---------------------------------------------------------------------------
    // Besides the users created, the password changer and 3 attendees signed up.
    assert_eq!(
        count_users(app, cast.company).await,
        users_before + 4 + accounts.real_names.len() as u64,
        "users"
    );

    // --- no number is held twice; a meeting in a room has the room's number -----------------
    numbers_held_once(app, cast.company).await;

    // --- stays never overlap, every stay ended, one stay per acknowledged join ---------------
    let stays = stays_by_user(app, cast.company).await;
    for (user, joins) in &attended {
        let mine = stays.get(user).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(
            mine.len(),
            *joins,
            "stays of {user}: one per acknowledged join"
        );
    }
    for (user, list) in &stays {
        let mut list = list.clone();
        list.sort();
        for pair in list.windows(2) {
            assert!(
                pair[0].1 <= pair[1].0,
                "stays of {user} overlap: {:?} and {:?}",
                pair[0],
                pair[1]
            );
        }
    }
    eprintln!(
        "stress seed {seed}: {} reservations kept, {} deleted; {} series; {} users; {} keys; {} stays",
        juggled.reservations.len(),
        juggled.deleted.len(),
        series.names.len(),
        accounts.real_names.len(),
        accounts.keys.len(),
        attended.iter().map(|(_, n)| n).sum::<usize>()
    );
}

async fn count_users(app: &TestApp, company: CompanyId) -> u64 {
    app.plenum()
        .store()
        .count_users(company)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn all(page: u32) -> PageRequest {
    PageRequest::by_number(i64::from(page), 500, 500).unwrap_or_else(|e| panic!("{e}"))
}

/// Every number has one holder: a room, a series, or a single meeting outside rooms; the
/// meetings in a room have its number.
async fn numbers_held_once(app: &TestApp, company: CompanyId) {
    let store = app.plenum().store();
    let mut holders: HashMap<String, HashSet<String>> = HashMap::new();
    let mut room_number = HashMap::new();
    for page in 1.. {
        let rooms = store
            .rooms(company, None, all(page))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for room in &rooms.items {
            holders
                .entry(room.meeting_number.to_string())
                .or_default()
                .insert(format!("room {}", room.id));
            room_number.insert(room.id, room.meeting_number.to_string());
        }
        if rooms.items.len() < 500 {
            break;
        }
    }
    for page in 1.. {
        let meetings = store
            .find_schedules(
                company,
                plenum_store::MeetingScope::Company,
                None,
                all(page),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for summary in &meetings.items {
            let number = summary.meeting_number.to_string();
            let meeting = store
                .schedule(company, summary.id)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|| panic!("listed meeting {} is gone", summary.id));
            let holder = match (meeting.room_id, summary.series_id) {
                (Some(room), _) => {
                    assert_eq!(
                        room_number.get(&room),
                        Some(&number),
                        "meeting {} in room {room} has the room's number",
                        summary.id
                    );
                    format!("room {room}")
                }
                (None, Some(series)) => format!("series {series}"),
                (None, None) => format!("meeting {}", summary.id),
            };
            holders.entry(number).or_default().insert(holder);
        }
        if meetings.items.len() < 500 {
            break;
        }
    }
    for (number, by) in &holders {
        assert_eq!(by.len(), 1, "number {number} is held by {by:?}");
    }
}

/// Every user's stays, (joined, left) in milliseconds, across the company's sessions; each
/// must have ended.
async fn stays_by_user(app: &TestApp, company: CompanyId) -> HashMap<String, Vec<(i64, i64)>> {
    use plenum_domain::history_query::{AttendanceQuery, SessionKey, SessionQuery};
    let store = app.plenum().store();
    let mut stays: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
    for page in 1.. {
        let sessions = store
            .find_sessions(company, &SessionQuery::default(), all(page))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for summary in &sessions.items {
            let session = &summary.session;
            assert!(session.ended_at.is_some(), "session {} ended", session.id);
            for stay_page in 1.. {
                let attendance = store
                    .session_attendance(
                        company,
                        SessionKey::Id(session.id),
                        &AttendanceQuery::default(),
                        all(stay_page),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                    .unwrap_or_else(|| panic!("session {} is gone", session.id));
                for entry in &attendance.attendance.items {
                    let stay = &entry.attendance;
                    let left = stay
                        .left_at
                        .unwrap_or_else(|| panic!("stay {} of an ended session ended", stay.id));
                    assert!(
                        stay.joined_at <= left,
                        "stay {} ends after it starts",
                        stay.id
                    );
                    if let Some(user) = stay.user {
                        stays
                            .entry(user.to_string())
                            .or_default()
                            .push((stay.joined_at.as_millisecond(), left.as_millisecond()));
                    }
                }
                if attendance.attendance.items.len() < 500 {
                    break;
                }
            }
        }
        if sessions.items.len() < 500 {
            break;
        }
    }
    stays
}

//! The history lists' in-memory indexes (`history_index.rs`): the same answers as a plain
//! filter of the rows, changes seen whoever makes them, and live meetings' churn not
//! rebuilding them.

use plenum_domain::Timestamp;
use plenum_domain::history::{
    Attendance, DeviceType, MediaType, Recording, RecordingKind, RecordingStatus, Session,
};
use plenum_domain::history_query::{InstantRange, RecordingFilter, SearchText, SessionQuery};
use plenum_domain::ids::{AttendanceId, CompanyId, RecordingId, RoomId, SessionId, UserId};
use plenum_domain::paging::PageRequest;
use plenum_domain::schedule::MeetingNumber;
use plenum_domain::user::Role;
use plenum_store::contract::{at, new_company, new_room, new_user};
use plenum_store::{History, LiveRecord, LiveWrite, Store, StoreError};
use plenum_store_sqlite::{DATABASE_FILE, Durability, SqliteStore};
use tempfile::TempDir;

async fn fresh_store() -> (TempDir, SqliteStore) {
    let dir = TempDir::new().expect("temporary directory");
    let store = SqliteStore::open(dir.path(), Durability::Normal)
        .await
        .expect("open store");
    (dir, store)
}

/// A company with one user, who owns every session of the tests.
async fn company(store: &SqliteStore, name: &str) -> (CompanyId, UserId) {
    let company = new_company(name);
    let admin = new_user(
        company.id,
        &format!("{}-admin", name.to_lowercase()),
        Role::SystemAdmin,
    );
    let created = store
        .create_company(&company, &admin)
        .await
        .expect("create company");
    (created.id, admin.id)
}

/// A small deterministic generator (no test needs more than a reproducible spread).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

/// Names with what case folding must get right: ASCII, umlauts, the Kelvin sign (whose lower
/// case is the ASCII `k`), the dotted capital I (whose lower case is two characters) and a
/// final sigma.
const NAMES: [&str; 7] = [
    "Orion-0420 review",
    "Weekly sync",
    "ÄRGER im Büro",
    "\u{212A}elvin sync",
    "İstanbul planning",
    "ΟΔΥΣΣΕΥΣ",
    "orion-0421",
];

fn session(
    company: CompanyId,
    owner: UserId,
    name: &str,
    start: i64,
    room: Option<RoomId>,
) -> Session {
    Session {
        id: SessionId::new(at(start)),
        company,
        meeting_number: MeetingNumber::parse("5550001").expect("valid number"),
        name: name.to_owned(),
        owner,
        room,
        schedule: None,
        started_at: at(start),
        ended_at: Some(at(start + 600)),
        peak_participants: 0,
        invitees: Vec::new(),
    }
}

fn recording(
    session: &Session,
    start: i64,
    duration: u32,
    ended: bool,
    status: RecordingStatus,
    kind: RecordingKind,
) -> Recording {
    Recording {
        id: RecordingId::new(at(start)),
        company: session.company,
        session: session.id,
        attendance: None,
        kind,
        status,
        codec: "vp8".to_owned(),
        size_bytes: 1000,
        duration_secs: duration,
        started_at: at(start),
        ended_at: ended.then(|| at(start + i64::from(duration))),
        completed_at: None,
        download_url: String::new(),
        file: None,
        failure: None,
        created_at: at(start),
        updated_at: at(start),
    }
}

fn page(offset: i64, limit: i64) -> PageRequest {
    PageRequest::by_offset(offset, limit, 1000).expect("valid page")
}

fn window(from: Option<i64>, until: Option<i64>) -> InstantRange {
    InstantRange {
        from: from.map(at),
        until: until.map(at),
    }
}

/// `rows` (in the order they were written, so in increasing number) in list order.
fn newest_first<T>(rows: &[T], start: impl Fn(&T) -> Timestamp) -> Vec<&T> {
    let mut ordered: Vec<(usize, &T)> = rows.iter().enumerate().collect();
    ordered.sort_by(|(ia, a), (ib, b)| (start(b), ib).cmp(&(start(a), ia)));
    ordered.into_iter().map(|(_, r)| r).collect()
}

fn within(t: Timestamp, range: &InstantRange) -> bool {
    range.from.is_none_or(|f| t >= f) && range.until.is_none_or(|u| t < u)
}

#[tokio::test]
async fn history_indexes_answer_as_a_plain_filter_of_the_rows() {
    let (_dir, store) = fresh_store().await;
    let (acme, alice) = company(&store, "Acme").await;
    let (globex, gina) = company(&store, "Globex").await;
    let rooms: Vec<RoomId> = (0..4).map(|_| RoomId::new(at(0))).collect();
    // Sessions name rooms by id only; a room's list needs the room to be the company's.
    let owner = store
        .user(acme, alice)
        .await
        .expect("read alice")
        .expect("alice exists");
    let mut board = new_room(&owner, "Board", "7100001");
    board.id = rooms[1];
    store.create_room(&board).await.expect("create the room");
    let mut rng = Lcg(7);
    let mut sessions = Vec::new();
    let mut recordings = Vec::new();
    // Starts on a coarse grid, so many sessions share one (ties are ordered by number).
    for i in 0..400 {
        let (company, owner) = if i % 4 == 3 {
            (globex, gina)
        } else {
            (acme, alice)
        };
        let room = match rng.next(5) {
            4 => None,
            r => Some(rooms[r as usize]),
        };
        let name = NAMES[rng.next(NAMES.len() as u64) as usize];
        let s = session(company, owner, name, rng.next(60) as i64 * 600, room);
        for _ in 0..rng.next(3) {
            let status = if rng.next(3) == 0 {
                RecordingStatus::Processing
            } else {
                RecordingStatus::Completed
            };
            let kind = if rng.next(2) == 0 {
                RecordingKind::Audio
            } else {
                RecordingKind::Video
            };
            let start = s.started_at.as_second() - at(0).as_second() + rng.next(3) as i64 * 300;
            let ended = rng.next(5) != 0;
            recordings.push(recording(
                &s,
                start,
                rng.next(4000) as u32,
                ended,
                status,
                kind,
            ));
        }
        sessions.push(s);
    }
    // Recordings are written after all sessions, so their numbers follow `recordings`' order.
    store
        .insert_history_batch(&sessions, &[], &[])
        .await
        .expect("insert sessions");
    store
        .insert_history_batch(&[], &[], &recordings)
        .await
        .expect("insert recordings");

    let windows = [
        window(None, None),
        window(Some(6000), None),
        window(None, Some(18_000)),
        window(Some(6000), Some(6001)),
        window(Some(12_000), Some(24_600)),
        window(Some(99_000), None),
    ];
    let searches = [
        "",
        "sync",
        "ärger",
        "k",
        "i̇",
        "οδυσσευσ",
        "ς",
        "orion-042",
        "nothing",
    ];
    let room_choices = [None, Some(rooms[1]), Some(RoomId::new(at(0)))];
    let pages = [page(0, 10), page(7, 13), page(100, 50), page(0, 1000)];
    for company in [acme, globex] {
        for started in &windows {
            for search in searches {
                for room in room_choices {
                    let name = SearchText::parse(Some(search), plenum_domain::Field::Filter)
                        .expect("valid search");
                    let query = SessionQuery {
                        room,
                        name: name.clone(),
                        started: *started,
                        with_participants: false,
                    };
                    let expected: Vec<SessionId> = newest_first(&sessions, |s| s.started_at)
                        .into_iter()
                        .filter(|s| s.company == company)
                        .filter(|s| room.is_none_or(|r| s.room == Some(r)))
                        .filter(|s| within(s.started_at, started))
                        .filter(|s| {
                            name.as_ref()
                                .is_none_or(|n| s.name.to_lowercase().contains(&n.folded()))
                        })
                        .map(|s| s.id)
                        .collect();
                    if room.is_some_and(|r| company != acme || r != board.id) {
                        assert!(
                            matches!(
                                store.find_sessions(company, &query, page(0, 10)).await,
                                Err(StoreError::NotFound)
                            ),
                            "{query:?}: not a room of the company"
                        );
                        continue;
                    }
                    for p in pages {
                        let got = store
                            .find_sessions(company, &query, p)
                            .await
                            .expect("find sessions");
                        let want: Vec<SessionId> = expected
                            .iter()
                            .skip(p.offset() as usize)
                            .take(p.limit() as usize)
                            .copied()
                            .collect();
                        let ids: Vec<SessionId> = got.items.iter().map(|s| s.session.id).collect();
                        assert_eq!(ids, want, "{query:?} {p:?}");
                        assert_eq!(got.total, expected.len() as u64, "{query:?}");
                    }
                }
            }
        }
    }

    let durations = [
        (None, None),
        (Some(3600), None),
        (None, Some(600)),
        (Some(900), Some(1800)),
    ];
    let statuses = [
        None,
        Some(RecordingStatus::Processing),
        Some(RecordingStatus::Completed),
    ];
    let kinds = [None, Some(RecordingKind::Audio)];
    let one_session = sessions[10].id;
    for company in [acme, globex] {
        for started in &windows {
            for ended in [
                window(None, None),
                window(Some(12_000), None),
                window(None, Some(9000)),
            ] {
                for (min, max) in durations {
                    for status in statuses {
                        for kind in kinds {
                            for (room, session) in [
                                (None, None),
                                (Some(rooms[2]), None),
                                (None, Some(one_session)),
                            ] {
                                let filter = RecordingFilter {
                                    started: *started,
                                    ended,
                                    room,
                                    participant: None,
                                    session,
                                    status,
                                    kind,
                                    min_duration_secs: min,
                                    max_duration_secs: max,
                                };
                                let expected: Vec<RecordingId> =
                                    newest_first(&recordings, |r| r.started_at)
                                        .into_iter()
                                        .filter(|r| r.company == company)
                                        .filter(|r| within(r.started_at, started))
                                        .filter(|r| {
                                            ended.is_open()
                                                || r.ended_at.is_some_and(|t| within(t, &ended))
                                        })
                                        .filter(|r| {
                                            room.is_none_or(|room| {
                                                sessions.iter().any(|s| {
                                                    s.id == r.session && s.room == Some(room)
                                                })
                                            })
                                        })
                                        .filter(|r| session.is_none_or(|s| r.session == s))
                                        .filter(|r| status.is_none_or(|s| r.status == s))
                                        .filter(|r| kind.is_none_or(|k| r.kind == k))
                                        .filter(|r| min.is_none_or(|m| r.duration_secs >= m))
                                        .filter(|r| max.is_none_or(|m| r.duration_secs <= m))
                                        .map(|r| r.id)
                                        .collect();
                                for p in [page(0, 20), page(13, 7)] {
                                    let got = store
                                        .find_recordings(company, &filter, p)
                                        .await
                                        .expect("find recordings");
                                    let want: Vec<RecordingId> = expected
                                        .iter()
                                        .skip(p.offset() as usize)
                                        .take(p.limit() as usize)
                                        .copied()
                                        .collect();
                                    let ids: Vec<RecordingId> =
                                        got.items.iter().map(|r| r.recording.id).collect();
                                    assert_eq!(ids, want, "{filter:?} {p:?}");
                                    assert_eq!(got.total, expected.len() as u64, "{filter:?}");
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The generation of a company's subject, as the triggers keep it.
fn generation(dir: &TempDir, company: CompanyId, subject: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).expect("open");
    conn.query_row(
        "SELECT COALESCE((SELECT generation FROM change_generations \
         WHERE company_id = ?1 AND subject = ?2), 0)",
        rusqlite::params![company.as_uuid(), subject],
        |r| r.get(0),
    )
    .expect("read generation")
}

#[tokio::test]
async fn history_indexes_see_changes_made_after_they_were_built_by_anyone() {
    let (dir, store) = fresh_store().await;
    let (acme, alice) = company(&store, "Acme").await;
    let first = session(acme, alice, "Planning", 0, None);
    let rec = recording(
        &first,
        10,
        60,
        true,
        RecordingStatus::Completed,
        RecordingKind::Video,
    );
    store
        .insert_history_batch(
            std::slice::from_ref(&first),
            &[],
            std::slice::from_ref(&rec),
        )
        .await
        .expect("insert");
    let everything = SessionQuery::default();
    let listed = store
        .find_sessions(acme, &everything, page(0, 10))
        .await
        .expect("list");
    assert_eq!(listed.total, 1);
    let processing = RecordingFilter {
        status: Some(RecordingStatus::Processing),
        ..RecordingFilter::default()
    };
    let found = store
        .find_recordings(acme, &processing, page(0, 10))
        .await
        .expect("list recordings");
    assert_eq!(found.total, 0);

    // Through the store.
    let second = session(acme, alice, "Retro", 100, None);
    store
        .insert_history_batch(std::slice::from_ref(&second), &[], &[])
        .await
        .expect("insert");
    let listed = store
        .find_sessions(acme, &everything, page(0, 10))
        .await
        .expect("list");
    assert_eq!(
        listed
            .items
            .iter()
            .map(|s| s.session.id)
            .collect::<Vec<_>>(),
        vec![second.id, first.id]
    );
    assert_eq!(listed.total, 2);

    // From another connection, as `plenum import` or a restore in another process would.
    let other = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).expect("open");
    other
        .execute(
            "UPDATE sessions SET name = 'Renamed' WHERE id = ?1",
            [first.id.as_uuid()],
        )
        .expect("rename");
    other
        .execute(
            "UPDATE recordings SET status = 'processing' WHERE id = ?1",
            [rec.id.as_uuid()],
        )
        .expect("reprocess");
    let renamed = SessionQuery {
        name: SearchText::parse(Some("RENAMED"), plenum_domain::Field::Filter).expect("valid"),
        ..SessionQuery::default()
    };
    let listed = store
        .find_sessions(acme, &renamed, page(0, 10))
        .await
        .expect("list");
    assert_eq!(listed.total, 1);
    assert_eq!(listed.items[0].session.name, "Renamed");
    let found = store
        .find_recordings(acme, &processing, page(0, 10))
        .await
        .expect("list recordings");
    assert_eq!(found.total, 1);
    assert_eq!(found.items[0].recording.status, RecordingStatus::Processing);

    // Deleted recordings leave the index too.
    assert_eq!(
        store
            .delete_recordings(acme, &RecordingFilter::default())
            .await
            .expect("delete")
            .count,
        1
    );
    let found = store
        .find_recordings(acme, &RecordingFilter::default(), page(0, 10))
        .await
        .expect("list recordings");
    assert_eq!((found.total, found.items.len()), (0, 0));
}

#[tokio::test]
async fn live_meetings_do_not_move_the_history_generations() {
    let (dir, store) = fresh_store().await;
    let (acme, alice) = company(&store, "Acme").await;
    let mut running = session(acme, alice, "Stand-up", 0, None);
    running.ended_at = None;
    store
        .record_live(vec![LiveWrite::SessionStarted(Box::new(running.clone()))])
        .await
        .expect("start");
    let sessions_before = generation(&dir, acme, "sessions");
    let recordings_before = generation(&dir, acme, "recordings");
    assert!(sessions_before > 0, "a session that starts is a change");
    let stay = Attendance {
        id: AttendanceId::new(at(5)),
        session: running.id,
        user: Some(alice),
        display_name: "Alice".to_owned(),
        call_number: String::new(),
        device_type: DeviceType::Web,
        media_type: MediaType::Video,
        department: String::new(),
        joined_at: at(5),
        left_at: None,
    };
    store
        .record_live(vec![
            LiveWrite::Joined(Box::new(stay.clone())),
            LiveWrite::SessionSeen {
                session: running.id,
                at: at(10),
                peak_participants: 1,
            },
            LiveWrite::Left {
                attendance: stay.id,
                at: at(20),
                reason: "left",
            },
            LiveWrite::SessionEnded {
                session: running.id,
                at: at(30),
                reason: "ended",
                peak_participants: 1,
            },
        ])
        .await
        .expect("live writes");
    assert_eq!(generation(&dir, acme, "sessions"), sessions_before);
    assert_eq!(generation(&dir, acme, "recordings"), recordings_before);
    // What the index does not hold is read with the page: the end is there at once.
    let with_participants = SessionQuery {
        with_participants: true,
        ..SessionQuery::default()
    };
    let listed = store
        .find_sessions(acme, &with_participants, page(0, 10))
        .await
        .expect("list");
    assert_eq!(listed.items[0].session.ended_at, Some(at(30)));
    assert_eq!(listed.items[0].participants.len(), 1);
}

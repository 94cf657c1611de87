//! The contract of [`History`](crate::History): the record of meetings as the history surfaces
//! read it, import, and integration keys. Run by [`contract_tests!`](crate::contract_tests)
//! together with the rest of the suite; its checks are listed in
//! [`history_contract_tests!`](crate::history_contract_tests).
//!
//! Sessions, attendance and recordings are written here through `import_history`, the write
//! path this trait owns; the live runtime writes the same tables through its own trait.

use plenum_domain::Timestamp;
use plenum_domain::api_keys::{ApiKey, ApiKeyKind, NewApiKey};
use plenum_domain::company::Company;
use plenum_domain::credentials::TokenHash;
use plenum_domain::history::{
    Attendance, DeviceType, MediaType, Recording, RecordingKind, RecordingStatus, Session,
};
use plenum_domain::history_import::{
    ImportAttendance, ImportLine, ImportRecord, ImportRecording, ImportRoom, ImportSession,
    ImportSummary,
};
use plenum_domain::history_query::{
    AttendanceQuery, InstantRange, RecordingFilter, SearchText, SessionKey, SessionQuery,
    search_key,
};
use plenum_domain::ids::{
    ApiKeyId, AttendanceId, CompanyId, RecordingId, RoomId, SessionId, UserId,
};
use plenum_domain::paging::PageRequest;
use plenum_domain::schedule::MeetingNumber;
use plenum_domain::user::{Role, User, UserChanges, Username};

use crate::LiveWrite;
use crate::contract::{Lcg, at, attendance_of, new_company, new_room, new_user, session_of};
use crate::{AppToken, ImportError, Store, StoreError};

/// Expands to one `#[tokio::test]` per history check; `contract_tests!` invokes it.
#[macro_export]
macro_rules! history_contract_tests {
    ($make:expr) => {
        $crate::history_contract_tests!($make, $crate::contract::run_every_check);
    };
    ($make:expr, $expect:expr) => {
        $crate::contract_tests!(@tests_of contract_history; $make; $expect;
            // history-contract-list-start (every `pub async fn` check of this file, in order)
            sessions_are_listed_newest_first_with_owner_participants_and_recording,
            session_lists_filter_on_room_name_and_start_window,
            session_window_totals_are_exact_at_the_edges_of_the_history,
            session_lists_never_show_other_companies,
            session_attendance_pages_and_searches_a_sessions_stays,
            session_attendance_finds_sessions_by_id_or_number_only_in_their_company,
            recordings_filter_on_every_field,
            recordings_page_newest_first_with_totals,
            recordings_are_scoped_to_their_company,
            delete_recordings_deletes_only_matches_of_the_company,
            import_is_idempotent,
            import_is_all_or_nothing_and_names_the_line,
            import_closes_open_stays_of_ended_sessions,
            import_refuses_ids_and_references_of_other_companies,
            api_keys_round_trip_and_revoke_within_their_company,
            app_tokens_end_with_their_key_and_expire,
            insert_history_batch_writes_what_the_queries_read_all_or_nothing,
            listed_rows_follow_every_change_of_what_they_show,
            a_rooms_sessions_are_listed_only_for_a_room_of_the_company,
            history_lists_answer_as_a_plain_filter_of_the_rows,
            // history-contract-list-end
        );
    };
}

struct Fixture {
    acme: Company,
    alice: User,
    bob: User,
    globex: Company,
}

async fn fixture(store: &dyn Store) -> Fixture {
    let mut acme = new_company("Acme");
    acme.max_users = 10;
    let alice = new_user(acme.id, "alice", Role::SystemAdmin);
    let acme = store
        .create_company(&acme, &alice)
        .await
        .expect("create Acme");
    let mut bob = new_user(acme.id, "bob", Role::Normal);
    bob.profile.real_name = "Bob Builder".to_owned();
    let bob = store.create_user(&bob).await.expect("create bob");
    let alice = store
        .user(acme.id, alice.id)
        .await
        .expect("read alice")
        .expect("alice exists");
    let globex = new_company("Globex");
    let globex = store
        .create_company(&globex, &new_user(globex.id, "gadmin", Role::SystemAdmin))
        .await
        .expect("create Globex");
    Fixture {
        acme,
        alice,
        bob,
        globex,
    }
}

fn uname(raw: &str) -> Username {
    Username::parse(raw).expect("test usernames are valid")
}

fn line(n: usize, record: ImportRecord) -> ImportLine {
    ImportLine { line: n, record }
}

fn room(name: &str, number: &str, owner: &str) -> ImportRoom {
    ImportRoom {
        id: RoomId::new(at(0)),
        name: name.to_owned(),
        meeting_number: MeetingNumber::parse(number).expect("valid number"),
        owner: uname(owner),
    }
}

fn session(name: &str, start: i64, end: Option<i64>, room: Option<RoomId>) -> ImportSession {
    ImportSession {
        id: SessionId::new(at(start)),
        room,
        meeting_number: MeetingNumber::parse("5550001").expect("valid number"),
        name: name.to_owned(),
        owner: uname("alice"),
        invitees: Vec::new(),
        started_at: at(start),
        ended_at: end.map(at),
    }
}

fn stay(
    session: &ImportSession,
    who: Option<&str>,
    name: &str,
    join: i64,
    left: Option<i64>,
) -> ImportAttendance {
    ImportAttendance {
        id: AttendanceId::new(at(join)),
        session: session.id,
        user: who.map(uname),
        display_name: name.to_owned(),
        call_number: String::new(),
        device_type: DeviceType::Desktop,
        media_type: MediaType::Video,
        department: String::new(),
        joined_at: at(join),
        left_at: left.map(at),
    }
}

fn recording(session: &ImportSession, start: i64, duration: u32) -> ImportRecording {
    ImportRecording {
        id: RecordingId::new(at(start)),
        session: session.id,
        attendance: None,
        kind: RecordingKind::Video,
        status: RecordingStatus::Completed,
        codec: "vp8".to_owned(),
        size_bytes: 1_000_000,
        duration_secs: duration,
        started_at: at(start),
        ended_at: Some(at(start + i64::from(duration))),
        completed_at: Some(at(start + i64::from(duration) + 60)),
        download_url: format!("https://files.example/{start}.webm"),
    }
}

async fn import(
    store: &dyn Store,
    company: CompanyId,
    records: Vec<ImportRecord>,
) -> ImportSummary {
    let lines: Vec<ImportLine> = records
        .into_iter()
        .enumerate()
        .map(|(i, r)| line(i + 1, r))
        .collect();
    store
        .import_history(company, &lines, at(0))
        .await
        .expect("import")
}

fn all() -> PageRequest {
    PageRequest::by_number(1, 500, 500).expect("valid page")
}

fn page(num: i64, size: i64) -> PageRequest {
    PageRequest::by_number(num, size, 500).expect("valid page")
}

fn search(text: &str) -> Option<SearchText> {
    SearchText::parse(Some(text), plenum_domain::Field::Filter).expect("valid search")
}

pub async fn sessions_are_listed_newest_first_with_owner_participants_and_recording(
    store: &dyn Store,
) {
    let f = fixture(store).await;
    let old = session("Old", 100, Some(200), None);
    let new = session("New", 1000, None, None);
    let mut rec = recording(&old, 110, 30);
    rec.download_url = "https://files.example/old.webm".to_owned();
    let mut processing = recording(&old, 105, 10);
    processing.status = RecordingStatus::Processing;
    import(
        store,
        f.acme.id,
        vec![
            ImportRecord::Session(old.clone()),
            ImportRecord::Session(new.clone()),
            ImportRecord::Attendance(stay(&old, Some("bob"), "Bob", 120, Some(150))),
            ImportRecord::Attendance(stay(&old, Some("alice"), "Alice", 101, Some(190))),
            ImportRecord::Attendance(stay(&old, Some("bob"), "Bob again", 160, Some(170))),
            ImportRecord::Attendance(stay(&old, None, "Guest", 130, Some(140))),
            ImportRecord::Recording(processing),
            ImportRecord::Recording(rec),
        ],
    )
    .await;

    let with_participants = SessionQuery {
        with_participants: true,
        ..SessionQuery::default()
    };
    let listed = store
        .find_sessions(f.acme.id, &with_participants, all())
        .await
        .expect("list");
    assert_eq!(listed.total, 2);
    let ids: Vec<SessionId> = listed.items.iter().map(|s| s.session.id).collect();
    assert_eq!(ids, vec![new.id, old.id]);
    assert!(
        listed.items[0].seq > listed.items[1].seq,
        "seq grows with insertion"
    );
    let first = &listed.items[1];
    assert_eq!(first.session.name, "Old");
    assert_eq!(first.session.ended_at, Some(at(200)));
    assert_eq!(first.owner.username, "alice");
    let who: Vec<(&str, Timestamp)> = first
        .participants
        .iter()
        .map(|p| (p.user.username.as_str(), p.first_joined_at))
        .collect();
    assert_eq!(who, vec![("alice", at(101)), ("bob", at(120))]);
    assert_eq!(first.participants[1].user.real_name, "Bob Builder");
    assert_eq!(first.guest_stays, 1);
    assert_eq!(
        first.recording_url.as_deref(),
        Some("https://files.example/old.webm"),
        "the first completed recording, not the processing one"
    );
    assert_eq!(listed.items[0].recording_url, None);
    assert!(listed.items[0].participants.is_empty());
    assert!(listed.items[0].session.is_running());

    // Without participants: the same sessions, owners and recordings, nobody read.
    let plain = store
        .find_sessions(f.acme.id, &SessionQuery::default(), all())
        .await
        .expect("list");
    assert_eq!(plain.total, 2);
    for (bare, full) in plain.items.iter().zip(&listed.items) {
        assert_eq!(
            (bare.seq, &bare.session, &bare.owner),
            (full.seq, &full.session, &full.owner)
        );
        assert_eq!(bare.recording_url, full.recording_url);
        assert!(bare.participants.is_empty());
        assert_eq!(bare.guest_stays, 0);
    }
    let _ = f.alice;
}

pub async fn session_lists_filter_on_room_name_and_start_window(store: &dyn Store) {
    let f = fixture(store).await;
    let board = room("Board", "7000001", "alice");
    let a = session("Ärger Review", 100, Some(200), Some(board.id));
    let b = session("Weekly sync", 300, Some(400), Some(board.id));
    let c = session("Weekly review", 500, Some(600), None);
    import(
        store,
        f.acme.id,
        vec![
            ImportRecord::Room(board.clone()),
            ImportRecord::Session(a.clone()),
            ImportRecord::Session(b.clone()),
            ImportRecord::Session(c.clone()),
        ],
    )
    .await;
    let ids = |q: SessionQuery| async move {
        let p = store
            .find_sessions(f.acme.id, &q, all())
            .await
            .expect("list");
        assert_eq!(p.total as usize, p.items.len());
        p.items.iter().map(|s| s.session.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(SessionQuery {
            room: Some(board.id),
            ..SessionQuery::default()
        })
        .await,
        vec![b.id, a.id]
    );
    assert_eq!(
        ids(SessionQuery {
            name: search("REVIEW"),
            ..SessionQuery::default()
        })
        .await,
        vec![c.id, a.id]
    );
    assert_eq!(
        ids(SessionQuery {
            name: search("ärger"),
            ..SessionQuery::default()
        })
        .await,
        vec![a.id],
        "case folding beyond ASCII"
    );
    assert_eq!(
        ids(SessionQuery {
            name: search("%"),
            ..SessionQuery::default()
        })
        .await,
        Vec::<SessionId>::new(),
        "wildcards are literal"
    );
    assert_eq!(
        ids(SessionQuery {
            started: InstantRange {
                from: Some(at(300)),
                until: Some(at(500))
            },
            ..SessionQuery::default()
        })
        .await,
        vec![b.id],
        "from inclusive, until exclusive"
    );
    assert_eq!(
        ids(SessionQuery {
            started: InstantRange {
                from: Some(at(500)),
                until: Some(at(300))
            },
            ..SessionQuery::default()
        })
        .await,
        Vec::<SessionId>::new()
    );
    // An unknown room: see `a_rooms_sessions_are_listed_only_for_a_room_of_the_company`.
    // Paging: totals stay, pages cut.
    let p = store
        .find_sessions(f.acme.id, &SessionQuery::default(), page(2, 2))
        .await
        .expect("page 2");
    assert_eq!(p.total, 3);
    assert_eq!(
        p.items.iter().map(|s| s.session.id).collect::<Vec<_>>(),
        vec![a.id]
    );
    let past = store
        .find_sessions(f.acme.id, &SessionQuery::default(), page(9, 2))
        .await
        .expect("past the end");
    assert_eq!((past.total, past.items.len()), (3, 0));
}

/// A start window's total and page are exact whether the window holds all of the company's
/// sessions, all but the earliest or the latest, or none; other companies' sessions (before
/// and after the company's) never count; sessions starting at the same instant page newest
/// first; a session written later is counted at once.
pub async fn session_window_totals_are_exact_at_the_edges_of_the_history(store: &dyn Store) {
    let f = fixture(store).await;
    let first = session("First", 100, Some(150), None);
    let tie_a = session("Tie A", 300, Some(350), None);
    let tie_b = session("Tie B", 300, Some(360), None);
    let last = session("Last", 500, Some(550), None);
    import(
        store,
        f.acme.id,
        vec![
            ImportRecord::Session(first.clone()),
            ImportRecord::Session(tie_a.clone()),
            ImportRecord::Session(tie_b.clone()),
            ImportRecord::Session(last.clone()),
        ],
    )
    .await;
    let mut before = session("Globex early", 10, Some(20), None);
    before.owner = uname("gadmin");
    let mut after = session("Globex late", 900, Some(950), None);
    after.owner = uname("gadmin");
    import(
        store,
        f.globex.id,
        vec![ImportRecord::Session(before), ImportRecord::Session(after)],
    )
    .await;
    let window = |from: Option<i64>, until: Option<i64>, p: PageRequest| async move {
        let found = store
            .find_sessions(
                f.acme.id,
                &SessionQuery {
                    started: InstantRange {
                        from: from.map(at),
                        until: until.map(at),
                    },
                    ..SessionQuery::default()
                },
                p,
            )
            .await
            .expect("list");
        (
            found.total,
            found.items.iter().map(|s| s.session.id).collect::<Vec<_>>(),
        )
    };
    let everything = vec![last.id, tie_b.id, tie_a.id, first.id];
    assert_eq!(
        window(Some(0), Some(10_000), all()).await,
        (4, everything.clone())
    );
    assert_eq!(
        window(Some(100), Some(501), all()).await,
        (4, everything.clone())
    );
    assert_eq!(
        window(None, Some(501), all()).await,
        (4, everything.clone())
    );
    assert_eq!(window(Some(100), None, all()).await, (4, everything));
    assert_eq!(
        window(Some(101), Some(10_000), all()).await,
        (3, vec![last.id, tie_b.id, tie_a.id]),
        "the earliest start is outside"
    );
    assert_eq!(
        window(Some(0), Some(500), all()).await,
        (3, vec![tie_b.id, tie_a.id, first.id]),
        "the latest start is outside (until is exclusive)"
    );
    assert_eq!(window(Some(600), Some(10_000), all()).await, (0, vec![]));
    assert_eq!(
        window(Some(0), Some(10_000), page(2, 2)).await,
        (4, vec![tie_a.id, first.id]),
        "a deep page of a tie keeps the newest session first"
    );
    let later = session("Later", 700, None, None);
    import(store, f.acme.id, vec![ImportRecord::Session(later.clone())]).await;
    assert_eq!(
        window(Some(0), Some(10_000), page(1, 1)).await,
        (5, vec![later.id])
    );
    assert_eq!(
        window(Some(0), Some(600), page(1, 1)).await,
        (4, vec![last.id])
    );
}

pub async fn session_lists_never_show_other_companies(store: &dyn Store) {
    let f = fixture(store).await;
    let board = room("Board", "7000001", "alice");
    let s = session("Secret", 100, Some(200), Some(board.id));
    import(
        store,
        f.acme.id,
        vec![ImportRecord::Room(board.clone()), ImportRecord::Session(s)],
    )
    .await;
    // Another company's room is no room of this one.
    let of_board = SessionQuery {
        room: Some(board.id),
        ..SessionQuery::default()
    };
    assert!(matches!(
        store.find_sessions(f.globex.id, &of_board, all()).await,
        Err(StoreError::NotFound)
    ));
    for q in [
        SessionQuery::default(),
        SessionQuery {
            name: search("Secret"),
            ..SessionQuery::default()
        },
    ] {
        let p = store
            .find_sessions(f.globex.id, &q, all())
            .await
            .expect("list");
        assert_eq!((p.total, p.items.len()), (0, 0), "{q:?}");
    }
}

pub async fn session_attendance_pages_and_searches_a_sessions_stays(store: &dyn Store) {
    let f = fixture(store).await;
    // Running: the visitor is still in it.
    let mut s = session("Review", 100, None, None);
    s.invitees = vec![uname("bob"), uname("alice")];
    let mut phone = stay(&s, None, "+49 30 1234", 150, Some(160));
    phone.call_number = "+49301234".to_owned();
    phone.device_type = DeviceType::Phone;
    phone.media_type = MediaType::Audio;
    phone.department = "Sales".to_owned();
    let alice = stay(&s, Some("alice"), "Alice Ärger", 110, Some(400));
    let guest = stay(&s, None, "Visitor", 200, None);
    import(
        store,
        f.acme.id,
        vec![
            ImportRecord::Session(s.clone()),
            ImportRecord::Attendance(phone.clone()),
            ImportRecord::Attendance(alice.clone()),
            ImportRecord::Attendance(guest.clone()),
        ],
    )
    .await;
    let got = store
        .session_attendance(
            f.acme.id,
            SessionKey::Id(s.id),
            &AttendanceQuery::default(),
            all(),
        )
        .await
        .expect("attendance")
        .expect("the session exists");
    assert_eq!(got.session.id, s.id);
    // In the order of their ids, on every store (the order a surface lists them in).
    let mut expected = vec![f.alice.id, f.bob.id];
    expected.sort();
    assert_eq!(got.session.invitees, expected);
    // The invitees with their names, in the session's invitee order.
    let invited: Vec<(UserId, &str)> = got
        .invited
        .iter()
        .map(|u| (u.id, u.real_name.as_str()))
        .collect();
    let names = |id: UserId| {
        if id == f.bob.id {
            "Bob Builder"
        } else {
            f.alice.profile.real_name.as_str()
        }
    };
    let in_order: Vec<(UserId, &str)> = got
        .session
        .invitees
        .iter()
        .map(|&id| (id, names(id)))
        .collect();
    assert_eq!(invited, in_order);
    let ids: Vec<AttendanceId> = got
        .attendance
        .items
        .iter()
        .map(|e| e.attendance.id)
        .collect();
    assert_eq!(
        ids,
        vec![alice.id, phone.id, guest.id],
        "in order of joining"
    );
    assert_eq!(got.attendance.total, 3);
    let first = &got.attendance.items[0];
    assert_eq!(
        first.user.as_ref().map(|u| u.username.as_str()),
        Some("alice")
    );
    assert_eq!(first.attendance.user, Some(f.alice.id));
    let second = &got.attendance.items[1];
    assert_eq!(second.user, None);
    assert_eq!(second.attendance.call_number, "+49301234");
    assert_eq!(second.attendance.device_type, DeviceType::Phone);
    assert_eq!(second.attendance.media_type, MediaType::Audio);
    assert_eq!(second.attendance.department, "Sales");
    assert_eq!(second.attendance.left_at, Some(at(160)));
    assert_eq!(got.attendance.items[2].attendance.left_at, None);

    let searched = |text: &'static str, p: PageRequest| {
        let s_id = s.id;
        async move {
            store
                .session_attendance(
                    f.acme.id,
                    SessionKey::Id(s_id),
                    &AttendanceQuery {
                        search: search(text),
                    },
                    p,
                )
                .await
                .expect("search")
                .expect("session")
                .attendance
        }
    };
    let by_number = searched("301234", all()).await;
    assert_eq!(
        (by_number.total, by_number.items[0].attendance.id),
        (1, phone.id)
    );
    let by_name = searched("ärger", all()).await;
    assert_eq!(
        (by_name.total, by_name.items[0].attendance.id),
        (1, alice.id)
    );
    let paged = store
        .session_attendance(
            f.acme.id,
            SessionKey::Id(s.id),
            &AttendanceQuery::default(),
            PageRequest::by_offset(1, 1, 500).expect("offset page"),
        )
        .await
        .expect("page")
        .expect("session");
    assert_eq!(paged.attendance.total, 3);
    assert_eq!(
        paged
            .attendance
            .items
            .iter()
            .map(|e| e.attendance.id)
            .collect::<Vec<_>>(),
        vec![phone.id]
    );
    // The total is the same on the last, partial page and past the end.
    for (offset, shown) in [(2, 1), (3, 0), (9, 0)] {
        let page = store
            .session_attendance(
                f.acme.id,
                SessionKey::Id(s.id),
                &AttendanceQuery::default(),
                PageRequest::by_offset(offset, 2, 500).expect("offset page"),
            )
            .await
            .expect("page")
            .expect("session");
        assert_eq!(
            (page.attendance.total, page.attendance.items.len()),
            (3, shown),
            "offset {offset}"
        );
    }
}

pub async fn session_attendance_finds_sessions_by_id_or_number_only_in_their_company(
    store: &dyn Store,
) {
    let f = fixture(store).await;
    // Globex records first: Acme's numbers do not show it.
    let g = ImportSession {
        owner: uname("gadmin"),
        ..session("Board", 50, Some(60), None)
    };
    import(store, f.globex.id, vec![ImportRecord::Session(g.clone())]).await;
    let first = session("Review", 100, Some(500), None);
    let second = session("Retro", 600, Some(700), None);
    for s in [&first, &second] {
        import(store, f.acme.id, vec![ImportRecord::Session(s.clone())]).await;
    }
    let listed = store
        .find_sessions(f.acme.id, &SessionQuery::default(), all())
        .await
        .expect("list")
        .items;
    let number_of = |id: SessionId| {
        listed
            .iter()
            .find(|s| s.session.id == id)
            .expect("listed")
            .number
    };
    assert_eq!((number_of(first.id), number_of(second.id)), (1, 2));
    let globex_listed = store
        .find_sessions(f.globex.id, &SessionQuery::default(), all())
        .await
        .expect("list")
        .items;
    assert_eq!(globex_listed[0].number, 1);

    let get = |company: CompanyId, key: SessionKey| async move {
        store
            .session_attendance(company, key, &AttendanceQuery::default(), all())
            .await
            .expect("attendance")
            .map(|a| a.session.id)
    };
    assert_eq!(
        get(f.acme.id, SessionKey::Id(first.id)).await,
        Some(first.id)
    );
    assert_eq!(get(f.acme.id, SessionKey::Number(1)).await, Some(first.id));
    assert_eq!(get(f.acme.id, SessionKey::Number(2)).await, Some(second.id));
    assert_eq!(get(f.globex.id, SessionKey::Id(first.id)).await, None);
    assert_eq!(get(f.globex.id, SessionKey::Number(1)).await, Some(g.id));
    assert_eq!(get(f.globex.id, SessionKey::Number(2)).await, None);
    assert_eq!(
        get(f.acme.id, SessionKey::Id(SessionId::new(at(0)))).await,
        None
    );
}

/// Acme: a room session with two recordings (one of a participant), an ad-hoc session with
/// one audio recording still processing.
struct Recorded {
    f: Fixture,
    board: ImportRoom,
    in_room: ImportSession,
    adhoc: ImportSession,
    bob: ImportAttendance,
    long_video: ImportRecording,
    bobs_video: ImportRecording,
    audio: ImportRecording,
}

async fn recorded(store: &dyn Store) -> Recorded {
    let f = fixture(store).await;
    let day = 86_400;
    let board = room("Board", "7000001", "alice");
    let in_room = session("Board meeting", 0, Some(2 * day), Some(board.id));
    let adhoc = session("Ad hoc", 3 * day, None, None);
    let bob = stay(&in_room, Some("bob"), "Bob", 10, Some(day));
    let long_video = recording(&in_room, 100, 3600);
    let mut bobs_video = recording(&in_room, day - 100, 60);
    bobs_video.attendance = Some(bob.id);
    bobs_video.ended_at = Some(at(day + 500));
    let mut audio = recording(&adhoc, 3 * day + 10, 600);
    audio.kind = RecordingKind::Audio;
    audio.status = RecordingStatus::Processing;
    audio.ended_at = None;
    audio.completed_at = None;
    import(
        store,
        f.acme.id,
        vec![
            ImportRecord::Room(board.clone()),
            ImportRecord::Session(in_room.clone()),
            ImportRecord::Session(adhoc.clone()),
            ImportRecord::Attendance(bob.clone()),
            ImportRecord::Recording(long_video.clone()),
            ImportRecord::Recording(bobs_video.clone()),
            ImportRecord::Recording(audio.clone()),
        ],
    )
    .await;
    Recorded {
        f,
        board,
        in_room,
        adhoc,
        bob,
        long_video,
        bobs_video,
        audio,
    }
}

pub async fn recordings_filter_on_every_field(store: &dyn Store) {
    let r = recorded(store).await;
    let day = 86_400;
    let ids = |filter: RecordingFilter| async move {
        let p = store
            .find_recordings(r.f.acme.id, &filter, all())
            .await
            .expect("list");
        assert_eq!(p.total as usize, p.items.len(), "{filter:?}");
        p.items.iter().map(|v| v.recording.id).collect::<Vec<_>>()
    };
    let (long, bobs, audio) = (r.long_video.id, r.bobs_video.id, r.audio.id);
    let none = RecordingFilter::default;
    assert_eq!(ids(none()).await, vec![audio, bobs, long]);
    assert_eq!(
        ids(RecordingFilter {
            room: Some(r.board.id),
            ..none()
        })
        .await,
        vec![bobs, long]
    );
    assert_eq!(
        ids(RecordingFilter {
            session: Some(r.adhoc.id),
            ..none()
        })
        .await,
        vec![audio]
    );
    assert_eq!(
        ids(RecordingFilter {
            participant: Some(r.bob.id),
            ..none()
        })
        .await,
        vec![bobs]
    );
    assert_eq!(
        ids(RecordingFilter {
            status: Some(RecordingStatus::Completed),
            ..none()
        })
        .await,
        vec![bobs, long]
    );
    assert_eq!(
        ids(RecordingFilter {
            kind: Some(RecordingKind::Audio),
            ..none()
        })
        .await,
        vec![audio]
    );
    assert_eq!(
        ids(RecordingFilter {
            min_duration_secs: Some(600),
            ..none()
        })
        .await,
        vec![audio, long]
    );
    assert_eq!(
        ids(RecordingFilter {
            max_duration_secs: Some(600),
            ..none()
        })
        .await,
        vec![audio, bobs]
    );
    assert_eq!(
        ids(RecordingFilter {
            min_duration_secs: Some(600),
            max_duration_secs: Some(600),
            ..none()
        })
        .await,
        vec![audio]
    );
    assert_eq!(
        ids(RecordingFilter {
            started: InstantRange {
                from: Some(at(0)),
                until: Some(at(day))
            },
            ..none()
        })
        .await,
        vec![bobs, long]
    );
    assert_eq!(
        ids(RecordingFilter {
            ended: InstantRange {
                from: Some(at(day)),
                until: None
            },
            ..none()
        })
        .await,
        vec![bobs],
        "a recording without an end never matches an end window"
    );
    assert_eq!(
        ids(RecordingFilter {
            room: Some(r.board.id),
            kind: Some(RecordingKind::Video),
            max_duration_secs: Some(100),
            ..none()
        })
        .await,
        vec![bobs],
        "filters combine"
    );
    assert_eq!(
        ids(RecordingFilter {
            min_duration_secs: Some(10),
            max_duration_secs: Some(5),
            ..none()
        })
        .await,
        Vec::<RecordingId>::new()
    );

    let view = store
        .recording(r.f.acme.id, bobs)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(view.room, Some(r.board.id));
    assert_eq!(view.recording.session, r.in_room.id);
    assert_eq!(view.recording.attendance, Some(r.bob.id));
    assert_eq!(view.recording.codec, "vp8");
    assert_eq!(view.recording.size_bytes, 1_000_000);
    assert_eq!(view.recording.created_at, r.bobs_video.started_at);
    assert_eq!(
        view.recording.updated_at,
        r.bobs_video.completed_at.expect("completed")
    );
    let audio_view = store
        .recording(r.f.acme.id, audio)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(audio_view.room, None);
    assert_eq!(audio_view.recording.ended_at, None);
}

pub async fn recordings_page_newest_first_with_totals(store: &dyn Store) {
    let r = recorded(store).await;
    let p = store
        .find_recordings(r.f.acme.id, &RecordingFilter::default(), page(2, 2))
        .await
        .expect("page 2");
    assert_eq!(p.total, 3);
    assert_eq!(
        p.items.iter().map(|v| v.recording.id).collect::<Vec<_>>(),
        vec![r.long_video.id]
    );
    let past = store
        .find_recordings(r.f.acme.id, &RecordingFilter::default(), page(3, 2))
        .await
        .expect("page 3");
    assert_eq!((past.total, past.items.len()), (3, 0));
}

pub async fn recordings_are_scoped_to_their_company(store: &dyn Store) {
    let r = recorded(store).await;
    let g = r.f.globex.id;
    for filter in [
        RecordingFilter::default(),
        RecordingFilter {
            room: Some(r.board.id),
            ..RecordingFilter::default()
        },
        RecordingFilter {
            session: Some(r.in_room.id),
            ..RecordingFilter::default()
        },
        RecordingFilter {
            participant: Some(r.bob.id),
            ..RecordingFilter::default()
        },
    ] {
        let p = store
            .find_recordings(g, &filter, all())
            .await
            .expect("list");
        assert_eq!((p.total, p.items.len()), (0, 0), "{filter:?}");
        assert_eq!(
            store
                .delete_recordings(g, &filter)
                .await
                .expect("delete")
                .count,
            0
        );
    }
    assert_eq!(
        store.recording(g, r.long_video.id).await.expect("read"),
        None
    );
    assert_eq!(
        store
            .find_recordings(r.f.acme.id, &RecordingFilter::default(), all())
            .await
            .expect("list")
            .total,
        3,
        "nothing of Acme went"
    );
}

pub async fn delete_recordings_deletes_only_matches_of_the_company(store: &dyn Store) {
    let r = recorded(store).await;
    let acme = r.f.acme.id;
    let deleted = store
        .delete_recordings(
            acme,
            &RecordingFilter {
                room: Some(r.board.id),
                max_duration_secs: Some(100),
                ..RecordingFilter::default()
            },
        )
        .await
        .expect("delete");
    assert_eq!(deleted.count, 1);
    assert!(
        deleted.files.is_empty(),
        "imported recordings have no file here"
    );
    assert_eq!(
        store.recording(acme, r.bobs_video.id).await.expect("read"),
        None
    );
    let left = store
        .find_recordings(acme, &RecordingFilter::default(), all())
        .await
        .expect("list");
    assert_eq!(
        left.items
            .iter()
            .map(|v| v.recording.id)
            .collect::<Vec<_>>(),
        vec![r.audio.id, r.long_video.id]
    );
    assert_eq!(
        store
            .delete_recordings(acme, &RecordingFilter::default())
            .await
            .expect("delete all")
            .count,
        2
    );
    assert_eq!(
        store
            .find_recordings(acme, &RecordingFilter::default(), all())
            .await
            .expect("list")
            .total,
        0
    );
}

pub async fn import_is_idempotent(store: &dyn Store) {
    let f = fixture(store).await;
    let board = room("Board", "7000001", "alice");
    let s = session("Review", 100, Some(200), Some(board.id));
    let a = stay(&s, Some("bob"), "Bob", 110, Some(150));
    let rec = recording(&s, 120, 20);
    let records = vec![
        ImportRecord::Room(board.clone()),
        ImportRecord::Session(s.clone()),
        ImportRecord::Attendance(a),
        ImportRecord::Recording(rec),
    ];
    let first = import(store, f.acme.id, records.clone()).await;
    assert_eq!(
        first,
        ImportSummary {
            rooms: 1,
            sessions: 1,
            attendance: 1,
            recordings: 1,
            unchanged: 0
        }
    );
    let before = store
        .find_sessions(f.acme.id, &SessionQuery::default(), all())
        .await
        .expect("list");
    let second = import(store, f.acme.id, records).await;
    assert_eq!(
        second,
        ImportSummary {
            unchanged: 4,
            ..ImportSummary::default()
        }
    );
    let after = store
        .find_sessions(f.acme.id, &SessionQuery::default(), all())
        .await
        .expect("list");
    assert_eq!(before, after);
    assert!(
        store
            .room(f.acme.id, board.id)
            .await
            .expect("room")
            .is_some()
    );
}

pub async fn import_is_all_or_nothing_and_names_the_line(store: &dyn Store) {
    let f = fixture(store).await;
    let s = session("Review", 100, Some(200), None);
    let mut orphan = stay(&s, Some("bob"), "Bob", 110, None);
    orphan.session = SessionId::new(at(1));
    let lines = vec![
        line(1, ImportRecord::Room(room("Board", "7000001", "alice"))),
        line(2, ImportRecord::Session(s.clone())),
        line(7, ImportRecord::Attendance(orphan)),
    ];
    match store.import_history(f.acme.id, &lines, at(0)).await {
        Err(ImportError::Refused(e)) => {
            assert_eq!(e.line, 7);
            assert!(e.reason.contains("session"), "{e}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        store
            .find_sessions(f.acme.id, &SessionQuery::default(), all())
            .await
            .expect("list")
            .total,
        0,
        "the session of line 2 was not kept"
    );
    assert_eq!(
        store
            .rooms(f.acme.id, None, all())
            .await
            .expect("rooms")
            .total,
        0
    );

    // Unknown usernames, taken numbers and bad participants are refused the same way.
    let mut unknown_owner = session("X", 1, None, None);
    unknown_owner.owner = uname("nobody");
    let refused = |lines: Vec<ImportLine>| async move {
        match store.import_history(f.acme.id, &lines, at(0)).await {
            Err(ImportError::Refused(e)) => e,
            other => panic!("expected a refusal, got {other:?}"),
        }
    };
    assert_eq!(
        refused(vec![line(3, ImportRecord::Session(unknown_owner))])
            .await
            .line,
        3
    );
    let e = refused(vec![
        line(1, ImportRecord::Room(room("A", "7000001", "alice"))),
        line(2, ImportRecord::Room(room("B", "7000001", "alice"))),
    ])
    .await;
    assert_eq!(e.line, 2);
    assert!(e.reason.contains("meeting_number"), "{e}");
    let other = session("Other", 1, None, None);
    let mut rec = recording(&s, 120, 5);
    rec.attendance = Some(AttendanceId::new(at(0)));
    let e = refused(vec![
        line(1, ImportRecord::Session(s)),
        line(2, ImportRecord::Session(other)),
        line(4, ImportRecord::Recording(rec)),
    ])
    .await;
    assert_eq!(e.line, 4);
}

pub async fn import_closes_open_stays_of_ended_sessions(store: &dyn Store) {
    let f = fixture(store).await;
    // Held 100..200 and one running since 300, imported earlier; a later import's stays.
    let held = session("Held", 100, Some(200), None);
    let running = session("Running", 300, None, None);
    import(
        store,
        f.acme.id,
        vec![
            ImportRecord::Session(held.clone()),
            ImportRecord::Session(running.clone()),
        ],
    )
    .await;
    let fresh = session("Fresh", 1000, Some(2000), None);
    import(
        store,
        f.acme.id,
        vec![
            ImportRecord::Session(fresh.clone()),
            ImportRecord::Attendance(stay(&held, None, "Forever", 150, None)),
            ImportRecord::Attendance(stay(&held, None, "Latecomer", 250, None)),
            ImportRecord::Attendance(stay(&held, None, "Early", 90, Some(120))),
            ImportRecord::Attendance(stay(&fresh, None, "Stayed", 1500, None)),
            ImportRecord::Attendance(stay(&running, None, "Here", 350, None)),
        ],
    )
    .await;
    let left = |s: SessionId| async move {
        store
            .session_attendance(
                f.acme.id,
                SessionKey::Id(s),
                &AttendanceQuery::default(),
                all(),
            )
            .await
            .expect("attendance")
            .expect("the session exists")
            .attendance
            .items
            .into_iter()
            .map(|e| (e.attendance.display_name, e.attendance.left_at))
            .collect::<Vec<_>>()
    };
    // In an ended session a stay without left_at left at the end (or at its join, if later);
    // what a stay gives is kept as given; in a running one it is still there.
    assert_eq!(
        left(held.id).await,
        vec![
            ("Early".to_owned(), Some(at(120))),
            ("Forever".to_owned(), Some(at(200))),
            ("Latecomer".to_owned(), Some(at(250))),
        ]
    );
    assert_eq!(
        left(fresh.id).await,
        vec![("Stayed".to_owned(), Some(at(2000)))]
    );
    assert_eq!(left(running.id).await, vec![("Here".to_owned(), None)]);
}

pub async fn import_refuses_ids_and_references_of_other_companies(store: &dyn Store) {
    let f = fixture(store).await;
    let s = session("Acme's", 100, Some(200), None);
    import(store, f.acme.id, vec![ImportRecord::Session(s.clone())]).await;
    // Globex may neither take Acme's id nor attach to Acme's session.
    let mut clash = s.clone();
    clash.owner = uname("gadmin");
    let err = store
        .import_history(f.globex.id, &[line(1, ImportRecord::Session(clash))], at(0))
        .await;
    assert!(
        matches!(err, Err(ImportError::Refused(ref e)) if e.line == 1),
        "{err:?}"
    );
    let mut intruder = stay(&s, None, "Spy", 150, None);
    intruder.user = None;
    let err = store
        .import_history(
            f.globex.id,
            &[line(5, ImportRecord::Attendance(intruder))],
            at(0),
        )
        .await;
    assert!(
        matches!(err, Err(ImportError::Refused(ref e)) if e.line == 5),
        "{err:?}"
    );
    let mut borrowed = session("Borrowed", 100, None, None);
    borrowed.owner = uname("alice");
    let err = store
        .import_history(
            f.globex.id,
            &[line(2, ImportRecord::Session(borrowed))],
            at(0),
        )
        .await;
    assert!(
        matches!(err, Err(ImportError::Refused(ref e)) if e.line == 2 && e.reason.contains("alice")),
        "users of another company are unknown: {err:?}"
    );
    let unknown = store
        .import_history(CompanyId::new(at(0)), &[], at(0))
        .await;
    assert!(
        matches!(unknown, Err(ImportError::Store(StoreError::NotFound))),
        "{unknown:?}"
    );
}

fn new_key(
    company: CompanyId,
    name: &str,
    kind: ApiKeyKind,
    secret: &str,
    created: i64,
) -> NewApiKey {
    NewApiKey {
        key: ApiKey {
            id: ApiKeyId::new(at(created)),
            company,
            name: name.to_owned(),
            kind,
            prefix: secret.chars().take(6).collect(),
            app_id: (kind == ApiKeyKind::HuaweiApp).then(|| format!("app-{name}")),
            created_at: at(created),
            revoked_at: None,
        },
        secret_hash: TokenHash::of(secret),
        seed: (kind == ApiKeyKind::HuaweiApp).then_some([9; 32]),
    }
}

pub async fn api_keys_round_trip_and_revoke_within_their_company(store: &dyn Store) {
    let f = fixture(store).await;
    let crm = new_key(f.acme.id, "crm", ApiKeyKind::Bearer, "secret-crm", 1);
    let app = new_key(
        f.acme.id,
        "welink",
        ApiKeyKind::HuaweiApp,
        "derived-app-key",
        2,
    );
    let theirs = new_key(
        f.globex.id,
        "theirs",
        ApiKeyKind::Bearer,
        "secret-globex",
        3,
    );
    for k in [&crm, &app, &theirs] {
        store.insert_api_key(k).await.expect("insert key");
    }
    assert_eq!(
        store.api_keys(f.acme.id).await.expect("list"),
        vec![crm.key.clone(), app.key.clone()]
    );
    assert_eq!(
        store
            .api_key_by_hash(&TokenHash::of("secret-crm"))
            .await
            .expect("lookup"),
        Some(crm.key.clone())
    );
    assert_eq!(
        store
            .api_key_by_hash(&TokenHash::of("nope"))
            .await
            .expect("lookup"),
        None
    );
    let found = store
        .huawei_app("app-welink")
        .await
        .expect("app")
        .expect("exists");
    assert_eq!(found.key, app.key);
    assert_eq!(found.seed, [9; 32]);
    assert_eq!(found.secret_hash, TokenHash::of("derived-app-key"));
    assert!(store.huawei_app("app-crm").await.expect("app").is_none());

    // Another company cannot revoke it.
    assert!(matches!(
        store.revoke_api_key(f.globex.id, crm.key.id, at(10)).await,
        Err(StoreError::NotFound)
    ));
    let revoked = store
        .revoke_api_key(f.acme.id, crm.key.id, at(10))
        .await
        .expect("revoke");
    assert_eq!(revoked.revoked_at, Some(at(10)));
    let again = store
        .revoke_api_key(f.acme.id, crm.key.id, at(20))
        .await
        .expect("revoke again");
    assert_eq!(
        again.revoked_at,
        Some(at(10)),
        "the first revocation counts"
    );
    assert_eq!(
        store
            .api_key_by_hash(&TokenHash::of("secret-crm"))
            .await
            .expect("lookup")
            .and_then(|k| k.revoked_at),
        Some(at(10))
    );
    assert!(matches!(
        store
            .revoke_api_key(f.acme.id, ApiKeyId::new(at(0)), at(10))
            .await,
        Err(StoreError::NotFound)
    ));
}

pub async fn app_tokens_end_with_their_key_and_expire(store: &dyn Store) {
    let f = fixture(store).await;
    let app = new_key(f.acme.id, "welink", ApiKeyKind::HuaweiApp, "k", 1);
    store.insert_api_key(&app).await.expect("insert key");
    let token = |name: &str, expires: i64| AppToken {
        hash: TokenHash::of(name),
        company: f.acme.id,
        key: app.key.id,
        issued_at: at(0),
        expires_at: at(expires),
    };
    let short = token("short", 10);
    let long = token("long", 1000);
    store.insert_app_token(&short).await.expect("insert");
    store.insert_app_token(&long).await.expect("insert");
    assert_eq!(
        store.app_token(&short.hash).await.expect("read"),
        Some(short.clone())
    );
    assert_eq!(
        store
            .delete_expired_app_tokens(at(10))
            .await
            .expect("purge"),
        1
    );
    assert_eq!(store.app_token(&short.hash).await.expect("read"), None);
    assert_eq!(
        store.app_token(&long.hash).await.expect("read"),
        Some(long.clone())
    );
    store
        .revoke_api_key(f.acme.id, app.key.id, at(20))
        .await
        .expect("revoke");
    assert_eq!(store.app_token(&long.hash).await.expect("read"), None);
}

pub async fn insert_history_batch_writes_what_the_queries_read_all_or_nothing(store: &dyn Store) {
    let f = fixture(store).await;
    let session = Session {
        id: SessionId::new(at(100)),
        company: f.acme.id,
        meeting_number: MeetingNumber::parse("5550001").expect("valid number"),
        name: "Generated".to_owned(),
        owner: f.alice.id,
        room: None,
        schedule: None,
        started_at: at(100),
        ended_at: Some(at(400)),
        peak_participants: 2,
        invitees: vec![f.bob.id],
    };
    let stay = Attendance {
        id: AttendanceId::new(at(110)),
        session: session.id,
        user: Some(f.bob.id),
        display_name: "Bob".to_owned(),
        call_number: "+1".to_owned(),
        device_type: DeviceType::Mobile,
        media_type: MediaType::Audio,
        department: "Ops".to_owned(),
        joined_at: at(110),
        left_at: Some(at(200)),
    };
    let recording = Recording {
        id: RecordingId::new(at(120)),
        company: f.acme.id,
        session: session.id,
        attendance: Some(stay.id),
        kind: RecordingKind::Audio,
        status: RecordingStatus::Completed,
        codec: "opus".to_owned(),
        size_bytes: 42,
        duration_secs: 80,
        started_at: at(120),
        ended_at: Some(at(200)),
        completed_at: Some(at(210)),
        download_url: "https://files.example/g.ogg".to_owned(),
        file: None,
        failure: None,
        created_at: at(120),
        updated_at: at(210),
    };
    store
        .insert_history_batch(
            std::slice::from_ref(&session),
            std::slice::from_ref(&stay),
            std::slice::from_ref(&recording),
        )
        .await
        .expect("insert batch");
    let got = store
        .session_attendance(
            f.acme.id,
            SessionKey::Id(session.id),
            &AttendanceQuery::default(),
            all(),
        )
        .await
        .expect("read")
        .expect("the session exists");
    assert_eq!(got.session, session);
    assert_eq!(got.attendance.items.len(), 1);
    assert_eq!(got.attendance.items[0].attendance, stay);
    let view = store
        .recording(f.acme.id, recording.id)
        .await
        .expect("read")
        .expect("the recording exists");
    assert_eq!(view.recording, recording);
    assert_eq!(view.room, None);

    // A stay of a session that exists nowhere fails the whole batch.
    let other = Session {
        id: SessionId::new(at(500)),
        ..session.clone()
    };
    let orphan = Attendance {
        id: AttendanceId::new(at(510)),
        session: SessionId::new(at(0)),
        ..stay.clone()
    };
    assert!(
        store
            .insert_history_batch(std::slice::from_ref(&other), &[orphan], &[])
            .await
            .is_err()
    );
    assert_eq!(
        store
            .session_attendance(
                f.acme.id,
                SessionKey::Id(other.id),
                &AttendanceQuery::default(),
                all()
            )
            .await
            .expect("read"),
        None,
        "nothing of the failed batch was kept"
    );
}

/// A listed session or recording shows what the record holds now, however often the same page
/// was listed before: a store that remembers rows must notice every change they show.
pub async fn listed_rows_follow_every_change_of_what_they_show(store: &dyn Store) {
    let f = fixture(store).await;
    let mut old = session("Old", 100, Some(200), None);
    old.invitees = vec![uname("alice")];
    let mut rec = recording(&old, 110, 30);
    rec.download_url = "https://files.example/first.webm".to_owned();
    let mut later = recording(&old, 150, 30);
    later.download_url = "https://files.example/later.webm".to_owned();
    import(
        store,
        f.acme.id,
        vec![
            ImportRecord::Session(old.clone()),
            ImportRecord::Attendance(stay(&old, Some("bob"), "Bob", 120, Some(150))),
            ImportRecord::Recording(rec.clone()),
            ImportRecord::Recording(later.clone()),
        ],
    )
    .await;
    let running = session_of(&f.alice, "5550002", 1000);
    store
        .record_live(vec![LiveWrite::SessionStarted(Box::new(running.clone()))])
        .await
        .expect("start");
    let query = SessionQuery {
        with_participants: true,
        ..SessionQuery::default()
    };
    let list = || async {
        let sessions = store
            .find_sessions(f.acme.id, &query, all())
            .await
            .expect("list sessions");
        let recordings = store
            .find_recordings(f.acme.id, &RecordingFilter::default(), all())
            .await
            .expect("list recordings");
        (sessions, recordings)
    };
    let (sessions, recordings) = list().await;
    assert_eq!(sessions.total, 2);
    assert_eq!(recordings.total, 2);
    assert_eq!(sessions.items[1].owner.real_name, f.alice.profile.real_name);
    // Who was invited to the ended session (alice, who never came), with her names.
    let invited = || async {
        store
            .session_attendance(
                f.acme.id,
                SessionKey::Id(old.id),
                &AttendanceQuery::default(),
                all(),
            )
            .await
            .expect("attendance")
            .expect("the session exists")
            .invited
            .into_iter()
            .map(|u| (u.id, u.real_name))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        invited().await,
        vec![(f.alice.id, f.alice.profile.real_name.clone())]
    );

    // The owner's name.
    store
        .update_user(
            f.acme.id,
            f.alice.id,
            &UserChanges {
                real_name: Some("Alice Renamed".to_owned()),
                ..UserChanges::default()
            },
            at(300),
        )
        .await
        .expect("rename");
    let (sessions, _) = list().await;
    assert!(
        sessions
            .items
            .iter()
            .all(|s| s.owner.real_name == "Alice Renamed")
    );
    assert_eq!(
        invited().await,
        vec![(f.alice.id, "Alice Renamed".to_owned())]
    );

    // Who attended an ended session: a stay added later (as an import adds it).
    import(
        store,
        f.acme.id,
        vec![ImportRecord::Attendance(stay(
            &old,
            None,
            "Guest",
            130,
            Some(140),
        ))],
    )
    .await;
    let (sessions, _) = list().await;
    assert_eq!(sessions.items[1].guest_stays, 1);
    assert_eq!(sessions.items[1].participants.len(), 1);

    // A running meeting: who joins it, and its end.
    store
        .record_live(vec![LiveWrite::Joined(Box::new(attendance_of(
            &running,
            Some(f.bob.id),
            "Bob",
            1001,
        )))])
        .await
        .expect("join");
    let (sessions, _) = list().await;
    assert_eq!(sessions.items[0].session.id, running.id);
    assert_eq!(sessions.items[0].session.ended_at, None);
    let who: Vec<&str> = sessions.items[0]
        .participants
        .iter()
        .map(|p| p.user.username.as_str())
        .collect();
    assert_eq!(who, vec!["bob"]);
    store
        .record_live(vec![
            LiveWrite::SessionSeen {
                session: running.id,
                at: at(1002),
                peak_participants: 1,
            },
            LiveWrite::SessionEnded {
                session: running.id,
                at: at(1003),
                reason: "ended",
                peak_participants: 1,
            },
        ])
        .await
        .expect("end");
    let (sessions, _) = list().await;
    assert_eq!(sessions.items[0].session.ended_at, Some(at(1003)));
    assert_eq!(sessions.items[0].session.peak_participants, 1);
    assert_eq!(sessions.items[0].participants.len(), 1);

    // A session's first completed recording, and the recordings themselves.
    let first_only = RecordingFilter {
        started: InstantRange {
            from: Some(at(110)),
            until: Some(at(111)),
        },
        ..RecordingFilter::default()
    };
    assert_eq!(
        store
            .delete_recordings(f.acme.id, &first_only)
            .await
            .expect("delete")
            .count,
        1
    );
    let (sessions, recordings) = list().await;
    assert_eq!(
        sessions.items[1].recording_url.as_deref(),
        Some("https://files.example/later.webm")
    );
    let ids: Vec<RecordingId> = recordings.items.iter().map(|r| r.recording.id).collect();
    assert_eq!(ids, vec![later.id]);
    let _ = f.globex;
}

/// Listing a room's sessions names a room of the company: an unknown room, or another
/// company's, is `NotFound`; a room of the company without sessions has an empty list.
pub async fn a_rooms_sessions_are_listed_only_for_a_room_of_the_company(store: &dyn Store) {
    let f = fixture(store).await;
    let busy = room("Busy", "7770001", "alice");
    let quiet = room("Quiet", "7770002", "alice");
    let held = session("Held", 100, Some(200), Some(busy.id));
    import(
        store,
        f.acme.id,
        vec![
            ImportRecord::Room(busy.clone()),
            ImportRecord::Room(quiet.clone()),
            ImportRecord::Session(held.clone()),
        ],
    )
    .await;
    let of_room = |room: RoomId| SessionQuery {
        room: Some(room),
        with_participants: true,
        ..SessionQuery::default()
    };
    let listed = store
        .find_sessions(f.acme.id, &of_room(busy.id), all())
        .await
        .expect("the busy room's sessions");
    assert_eq!(listed.total, 1);
    assert_eq!(listed.items[0].session.id, held.id);
    let empty = store
        .find_sessions(f.acme.id, &of_room(quiet.id), all())
        .await
        .expect("the quiet room's sessions");
    assert_eq!((empty.total, empty.items.len()), (0, 0));
    for (company, room) in [(f.acme.id, RoomId::new(at(9))), (f.globex.id, busy.id)] {
        assert!(
            matches!(
                store.find_sessions(company, &of_room(room), all()).await,
                Err(StoreError::NotFound)
            ),
            "a room the company does not have"
        );
    }
}

// --- lists against a plain filter of the rows ---------------------------------------------

async fn plain_company(store: &dyn Store, name: &str) -> (CompanyId, UserId) {
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

pub fn plain_session(
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

pub fn plain_recording(
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

pub fn offset_page(offset: i64, limit: i64) -> PageRequest {
    PageRequest::by_offset(offset, limit, 1000).expect("valid page")
}

fn plain_window(from: Option<i64>, until: Option<i64>) -> InstantRange {
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

/// Every session and recording list (each filter, window, page) answers as a plain filter of
/// the rows written, by the domain's meaning of each filter: whatever a backend keeps in memory
/// to answer faster must give the same answer.
pub async fn history_lists_answer_as_a_plain_filter_of_the_rows(store: &dyn Store) {
    let (acme, alice) = plain_company(store, "Acme").await;
    let (globex, gina) = plain_company(store, "Globex").await;
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
        let s = plain_session(company, owner, name, rng.next(60) as i64 * 600, room);
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
            recordings.push(plain_recording(
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
    // Every other recording of a session that has several is its participant's own.
    let owned = sessions
        .iter()
        .find(|s| recordings.iter().filter(|r| r.session == s.id).count() >= 2)
        .expect("a session with recordings");
    let stay = Attendance {
        id: AttendanceId::new(at(0)),
        session: owned.id,
        user: None,
        display_name: "Alice".to_owned(),
        call_number: String::new(),
        device_type: DeviceType::Web,
        media_type: MediaType::Video,
        department: String::new(),
        joined_at: owned.started_at,
        left_at: None,
    };
    for r in recordings
        .iter_mut()
        .filter(|r| r.session == owned.id)
        .step_by(2)
    {
        r.attendance = Some(stay.id);
    }
    // Recordings are written after all sessions, so their numbers follow `recordings`' order.
    store
        .insert_history_batch(&sessions, std::slice::from_ref(&stay), &[])
        .await
        .expect("insert sessions");
    store
        .insert_history_batch(&[], &[], &recordings)
        .await
        .expect("insert recordings");

    let windows = [
        plain_window(None, None),
        plain_window(Some(6000), None),
        plain_window(None, Some(18_000)),
        plain_window(Some(6000), Some(6001)),
        plain_window(Some(12_000), Some(24_600)),
        plain_window(Some(99_000), None),
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
    let pages = [
        offset_page(0, 10),
        offset_page(7, 13),
        offset_page(100, 50),
        offset_page(0, 1000),
    ];
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
                                .is_none_or(|n| search_key(&s.name).contains(&n.folded()))
                        })
                        .map(|s| s.id)
                        .collect();
                    if room.is_some_and(|r| company != acme || r != board.id) {
                        assert!(
                            matches!(
                                store
                                    .find_sessions(company, &query, offset_page(0, 10))
                                    .await,
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
                plain_window(None, None),
                plain_window(Some(12_000), None),
                plain_window(None, Some(9000)),
            ] {
                for (min, max) in durations {
                    for status in statuses {
                        for kind in kinds {
                            for (room, session, participant) in [
                                (None, None, None),
                                (Some(rooms[2]), None, None),
                                (None, Some(one_session), None),
                                (None, None, Some(stay.id)),
                                (None, Some(owned.id), Some(stay.id)),
                            ] {
                                let filter = RecordingFilter {
                                    started: *started,
                                    ended,
                                    room,
                                    participant,
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
                                        .filter(|r| {
                                            participant.is_none_or(|p| r.attendance == Some(p))
                                        })
                                        .filter(|r| status.is_none_or(|s| r.status == s))
                                        .filter(|r| kind.is_none_or(|k| r.kind == k))
                                        .filter(|r| min.is_none_or(|m| r.duration_secs >= m))
                                        .filter(|r| max.is_none_or(|m| r.duration_secs <= m))
                                        .map(|r| r.id)
                                        .collect();
                                for p in [offset_page(0, 20), offset_page(13, 7)] {
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

/// The history lists' memory against a second store opened afresh on the same database. Not a
/// check of the macro's list: it needs what only a backend's own tests have, a second store on
/// the same database and edits made past the store (another connection: another node, the
/// CLI). Both backends' `history_index` tests run it.
pub mod against_a_fresh_store {
    use std::future::Future;

    use plenum_domain::history::{
        Attendance, DeviceType, MediaType, RecordingKind, RecordingStatus,
    };
    use plenum_domain::history_query::{
        AttendanceQuery, InstantRange, RecordingFilter, SearchText, SessionKey, SessionQuery,
    };
    use plenum_domain::ids::{AttendanceId, CompanyId, RecordingId, SessionId, UserId};

    use super::{offset_page, plain_recording, plain_session};
    use crate::contract::at;
    use crate::{LiveWrite, Store};

    /// A change made past the store, in the backend's own SQL.
    #[derive(Debug, Clone, Copy)]
    pub enum Edit {
        /// `status` completed, `ended_at` 40 s after the start, a download link.
        CompleteRecording(RecordingId),
        /// Renamed 'Planning again', started and ended 5,500 s later.
        RenameAndMoveSession(SessionId),
        /// `duration_secs` 5.
        ShortenRecording(RecordingId),
        /// `real_name` 'Alice Renamed'.
        RenameUser(UserId),
        DeleteStay(AttendanceId),
        /// `display_name` 'Alicia', `left_at` a second later: what a stay shows.
        RenameStay(AttendanceId),
        /// `company_seq` 1,000 higher: the session's number within its company.
        RenumberSession(SessionId),
        /// The session's owner invited (a row of `session_invitees`).
        InviteOwner(SessionId),
    }

    /// What the history lists answer for a handful of queries and pages, for `owners`'
    /// filters (a session's or a participant's recordings), and the attendance pages of the
    /// sessions `attended` names.
    async fn answers(
        store: &dyn Store,
        company: CompanyId,
        owners: &[RecordingFilter],
        attended: &[SessionKey],
    ) -> Vec<(String, String)> {
        let named = |text: &str| SessionQuery {
            name: SearchText::parse(Some(text), plenum_domain::Field::Filter).expect("valid"),
            ..SessionQuery::default()
        };
        let sessions = [
            SessionQuery::default(),
            SessionQuery {
                with_participants: true,
                ..SessionQuery::default()
            },
            named("plan"),
        ];
        let recordings = [
            RecordingFilter::default(),
            RecordingFilter {
                status: Some(RecordingStatus::Completed),
                ..RecordingFilter::default()
            },
            RecordingFilter {
                kind: Some(RecordingKind::Audio),
                min_duration_secs: Some(100),
                ..RecordingFilter::default()
            },
        ];
        let mut out = Vec::new();
        for offset in [0, 4, 9] {
            for query in &sessions {
                let page = store
                    .find_sessions(company, query, offset_page(offset, 5))
                    .await
                    .expect("list sessions");
                out.push((format!("{query:?} at {offset}"), format!("{page:?}")));
            }
            for filter in recordings.iter().chain(owners) {
                let page = store
                    .find_recordings(company, filter, offset_page(offset, 5))
                    .await
                    .expect("list recordings");
                out.push((format!("{filter:?} at {offset}"), format!("{page:?}")));
            }
        }
        let searched = AttendanceQuery {
            search: SearchText::parse(Some("ali"), plenum_domain::Field::Filter).expect("valid"),
        };
        for key in attended {
            for query in [&AttendanceQuery::default(), &searched] {
                for (offset, size) in [(0, 5), (1, 1)] {
                    let page = store
                        .session_attendance(company, *key, query, offset_page(offset, size))
                        .await
                        .expect("attendance");
                    out.push((
                        format!("{key:?} {query:?} at {offset}"),
                        format!("{page:?}"),
                    ));
                }
            }
        }
        out
    }

    /// A store that has listed everything (its indexes built, its rows remembered) answers
    /// after each kind of change exactly as a store opened afresh on the same database, which
    /// builds and reads everything anew: the rows and index entries a change touched are
    /// dropped or patched, the others kept (the backend's record of which rows each move of a
    /// generation was for). `store` is new and empty; `reopen` opens another store on its
    /// database; `edit` makes a change past both.
    pub async fn remembered_lists_equal_a_fresh_store<R, F, E, D>(
        store: &dyn Store,
        reopen: R,
        edit: E,
    ) where
        R: Fn() -> F,
        F: Future<Output = Box<dyn Store>>,
        E: Fn(Edit) -> D,
        D: Future<Output = ()>,
    {
        let (acme, alice) = super::plain_company(store, "Acme").await;
        let mut sessions = Vec::new();
        let mut recordings = Vec::new();
        let mut stays = Vec::new();
        for i in 0..14 {
            let name = if i % 3 == 0 { "Planning" } else { "Review" };
            let session = plain_session(acme, alice, name, i * 1000, None);
            let stay = Attendance {
                id: AttendanceId::new(at(i * 1000 + 5)),
                session: session.id,
                user: Some(alice),
                display_name: "Alice".to_owned(),
                call_number: String::new(),
                device_type: DeviceType::Web,
                media_type: MediaType::Video,
                department: String::new(),
                joined_at: at(i * 1000 + 5),
                left_at: Some(at(i * 1000 + 50)),
            };
            for r in 0..2 {
                let mut recording = plain_recording(
                    &session,
                    i * 1000 + 10 + r,
                    60 + 50 * u32::try_from(i + r).expect("small"),
                    true,
                    if (i + r) % 4 == 0 {
                        RecordingStatus::Processing
                    } else {
                        RecordingStatus::Completed
                    },
                    if r == 0 {
                        RecordingKind::Video
                    } else {
                        RecordingKind::Audio
                    },
                );
                // The second of each session is its participant's own.
                if r == 1 {
                    recording.attendance = Some(stay.id);
                }
                recordings.push(recording);
            }
            stays.push(stay);
            sessions.push(session);
        }
        let mut running = plain_session(acme, alice, "Planning live", 20_000, None);
        running.ended_at = None;
        // A session's and a participant's recordings, of rows the changes below touch: a
        // recording deleted (session 2), made and completed (the running one), shortened
        // (stay 3's); one session moved (1); and a session that is nobody's.
        let owners = [
            RecordingFilter {
                session: Some(sessions[2].id),
                ..RecordingFilter::default()
            },
            RecordingFilter {
                session: Some(running.id),
                ..RecordingFilter::default()
            },
            RecordingFilter {
                participant: Some(stays[3].id),
                ..RecordingFilter::default()
            },
            RecordingFilter {
                participant: Some(stays[3].id),
                min_duration_secs: Some(100),
                ..RecordingFilter::default()
            },
            RecordingFilter {
                session: Some(sessions[1].id),
                status: Some(RecordingStatus::Completed),
                ..RecordingFilter::default()
            },
            RecordingFilter {
                session: Some(SessionId::new(at(99_999))),
                ..RecordingFilter::default()
            },
        ];
        // Attendance pages, by id and by number (sessions[i] is number i + 1, the running one
        // 15), of sessions the changes below touch: a stay added and deleted (sessions[3]), a
        // stay renamed (sessions[5]), an invitee added (number 7), a number changed (5, to
        // 1,005); and numbers and an id that are nobody's.
        let attended = [
            SessionKey::Id(sessions[3].id),
            SessionKey::Id(sessions[5].id),
            SessionKey::Id(running.id),
            SessionKey::Number(7),
            SessionKey::Number(5),
            SessionKey::Number(1_005),
            SessionKey::Number(15),
            SessionKey::Number(99),
            SessionKey::Id(SessionId::new(at(99_999))),
        ];
        store
            .insert_history_batch(&sessions, &stays, &recordings)
            .await
            .expect("insert");
        let same_as_fresh = |step: &'static str| {
            let reopen = &reopen;
            let owners = &owners;
            let attended = &attended;
            async move {
                // Twice: the first listing after a change carries the memory over, the second
                // reads what it kept.
                for _ in 0..2 {
                    let kept = answers(store, acme, owners, attended).await;
                    let fresh = reopen().await;
                    let anew = answers(fresh.as_ref(), acme, owners, attended).await;
                    for (k, a) in kept.iter().zip(&anew) {
                        assert_eq!(k, a, "after {step}");
                    }
                }
            }
        };
        same_as_fresh("listing everything once").await;

        // A meeting starts, is joined and ends (as the live journal writes it).
        store
            .record_live(vec![LiveWrite::SessionStarted(Box::new(running.clone()))])
            .await
            .expect("start");
        same_as_fresh("a session started").await;
        let stay = Attendance {
            id: AttendanceId::new(at(20_005)),
            session: running.id,
            user: Some(alice),
            display_name: "Alice".to_owned(),
            call_number: String::new(),
            device_type: DeviceType::Web,
            media_type: MediaType::Video,
            department: String::new(),
            joined_at: at(20_005),
            left_at: None,
        };
        store
            .record_live(vec![LiveWrite::Joined(Box::new(stay.clone()))])
            .await
            .expect("join");
        same_as_fresh("a stay in a running session").await;
        store
            .record_live(vec![
                LiveWrite::Left {
                    attendance: stay.id,
                    at: at(20_050),
                    reason: "left",
                },
                LiveWrite::SessionEnded {
                    session: running.id,
                    at: at(20_060),
                    reason: "ended",
                    peak_participants: 1,
                },
            ])
            .await
            .expect("end");
        same_as_fresh("a session ended").await;

        // A recording of it, then completed; a stay added to an ended session (an import).
        let mut made = plain_recording(
            &running,
            20_010,
            40,
            false,
            RecordingStatus::Processing,
            RecordingKind::Audio,
        );
        made.ended_at = None;
        store
            .insert_history_batch(&[], &[], std::slice::from_ref(&made))
            .await
            .expect("a recording");
        same_as_fresh("a recording added").await;
        edit(Edit::CompleteRecording(made.id)).await;
        same_as_fresh("a recording completed").await;
        let late = Attendance {
            id: AttendanceId::new(at(3_006)),
            session: sessions[3].id,
            user: None,
            display_name: "Guest".to_owned(),
            joined_at: at(3_006),
            left_at: Some(at(3_007)),
            ..stay.clone()
        };
        store
            .insert_history_batch(&[], std::slice::from_ref(&late), &[])
            .await
            .expect("a late stay");
        same_as_fresh("a stay added to an ended session").await;

        // Edits from elsewhere: a session renamed and moved in time, a recording's duration.
        edit(Edit::RenameAndMoveSession(sessions[1].id)).await;
        same_as_fresh("a session renamed and moved").await;
        edit(Edit::ShortenRecording(recordings[7].id)).await;
        same_as_fresh("a recording's duration").await;

        // An owner's rename (every row of the company) and deletions.
        edit(Edit::RenameUser(alice)).await;
        same_as_fresh("the owner renamed").await;
        let first_recording = RecordingFilter {
            started: InstantRange {
                from: Some(at(2_010)),
                until: Some(at(2_011)),
            },
            ..RecordingFilter::default()
        };
        store
            .delete_recordings(acme, &first_recording)
            .await
            .expect("delete");
        same_as_fresh("a recording deleted").await;
        edit(Edit::DeleteStay(late.id)).await;
        same_as_fresh("a stay deleted").await;

        // What an ended session's attendance shows, changed from elsewhere.
        edit(Edit::RenameStay(stays[5].id)).await;
        same_as_fresh("a stay renamed").await;
        edit(Edit::InviteOwner(sessions[6].id)).await;
        same_as_fresh("an invitee added").await;
        edit(Edit::RenumberSession(sessions[4].id)).await;
        same_as_fresh("a session renumbered").await;
    }
}

#[cfg(test)]
mod tests {
    /// Every check must be listed in [`history_contract_tests!`], or backends silently skip it.
    #[test]
    fn every_check_is_in_the_macro() {
        crate::contract::assert_every_check_is_listed(
            include_str!("contract_history.rs"),
            "// history-contract-list-start",
            "// history-contract-list-end",
        );
    }
}

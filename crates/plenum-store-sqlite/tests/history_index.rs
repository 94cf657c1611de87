//! The history lists' in-memory indexes on SQLite (`plenum-store-memory`, over this backend's
//! triggers): changes seen whoever makes them, and live meetings' churn not rebuilding them.
//! That they answer as a plain filter of the rows is a contract check
//! (`history_lists_answer_as_a_plain_filter_of_the_rows`), run on every backend.

use plenum_domain::history::{Attendance, DeviceType, MediaType, RecordingKind, RecordingStatus};
use plenum_domain::history_query::{RecordingFilter, SearchText, SessionQuery};
use plenum_domain::ids::{AttendanceId, CompanyId, SessionId, UserId};
use plenum_domain::user::Role;
use plenum_store::contract::{at, new_company, new_user};
use plenum_store::contract_history::{offset_page, plain_recording, plain_session};
use plenum_store::{History, LiveRecord, LiveWrite, Store};
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
    let first = plain_session(acme, alice, "Planning", 0, None);
    let rec = plain_recording(
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
        .find_sessions(acme, &everything, offset_page(0, 10))
        .await
        .expect("list");
    assert_eq!(listed.total, 1);
    let processing = RecordingFilter {
        status: Some(RecordingStatus::Processing),
        ..RecordingFilter::default()
    };
    let found = store
        .find_recordings(acme, &processing, offset_page(0, 10))
        .await
        .expect("list recordings");
    assert_eq!(found.total, 0);

    // Through the store.
    let second = plain_session(acme, alice, "Retro", 100, None);
    store
        .insert_history_batch(std::slice::from_ref(&second), &[], &[])
        .await
        .expect("insert");
    let listed = store
        .find_sessions(acme, &everything, offset_page(0, 10))
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
        .find_sessions(acme, &renamed, offset_page(0, 10))
        .await
        .expect("list");
    assert_eq!(listed.total, 1);
    assert_eq!(listed.items[0].session.name, "Renamed");
    let found = store
        .find_recordings(acme, &processing, offset_page(0, 10))
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
        .find_recordings(acme, &RecordingFilter::default(), offset_page(0, 10))
        .await
        .expect("list recordings");
    assert_eq!((found.total, found.items.len()), (0, 0));
}

#[tokio::test]
async fn live_meetings_do_not_move_the_history_generations() {
    let (dir, store) = fresh_store().await;
    let (acme, alice) = company(&store, "Acme").await;
    let mut running = plain_session(acme, alice, "Stand-up", 0, None);
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
        .find_sessions(acme, &with_participants, offset_page(0, 10))
        .await
        .expect("list");
    assert_eq!(listed.items[0].session.ended_at, Some(at(30)));
    assert_eq!(listed.items[0].participants.len(), 1);
}

/// What the history lists answer for a handful of queries and pages, and for `owners`'
/// filters (a session's or a participant's recordings).
async fn answers(
    store: &SqliteStore,
    company: CompanyId,
    owners: &[RecordingFilter],
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
    out
}

/// A store that has listed everything (its indexes built, its rows remembered) answers after
/// each kind of change exactly as a store opened afresh on the same file, which builds and
/// reads everything anew: the rows and index entries a change touched are dropped or patched,
/// the others kept (migration 0021's record of which rows each move was for).
#[tokio::test]
async fn after_every_kind_of_change_remembered_lists_equal_a_fresh_store() {
    let (dir, store) = fresh_store().await;
    let (acme, alice) = company(&store, "Acme").await;
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
    // recording deleted (session 2), made and completed (the running one), shortened (stay
    // 3's); one session moved (1); and a session that is nobody's.
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
    store
        .insert_history_batch(&sessions, &stays, &recordings)
        .await
        .expect("insert");
    let other = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).expect("open");
    let same_as_fresh = |step: &'static str| {
        let dir = &dir;
        let store = &store;
        let owners = &owners;
        async move {
            // Twice: the first listing after a change carries the memory over, the second
            // reads what it kept.
            for _ in 0..2 {
                let kept = answers(store, acme, owners).await;
                let fresh = SqliteStore::open(dir.path(), Durability::Normal)
                    .await
                    .expect("open a second store");
                let anew = answers(&fresh, acme, owners).await;
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
    other
        .execute(
            "UPDATE recordings SET status = 'completed', ended_at = started_at + 40000, \
             download_url = 'https://files.example/made.webm' WHERE id = ?1",
            [made.id.as_uuid()],
        )
        .expect("complete");
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
    other
        .execute(
            "UPDATE sessions SET name = 'Planning again', started_at = started_at + 5500000, \
             ended_at = ended_at + 5500000 \
             WHERE id = ?1",
            [sessions[1].id.as_uuid()],
        )
        .expect("rename");
    same_as_fresh("a session renamed and moved").await;
    other
        .execute(
            "UPDATE recordings SET duration_secs = 5 WHERE id = ?1",
            [recordings[7].id.as_uuid()],
        )
        .expect("shorten");
    same_as_fresh("a recording's duration").await;

    // An owner's rename (every row of the company) and deletions.
    other
        .execute(
            "UPDATE users SET real_name = 'Alice Renamed' WHERE id = ?1",
            [alice.as_uuid()],
        )
        .expect("rename the owner");
    same_as_fresh("the owner renamed").await;
    let first_recording = RecordingFilter {
        started: plenum_domain::history_query::InstantRange {
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
    other
        .execute("DELETE FROM attendance WHERE id = ?1", [late.id.as_uuid()])
        .expect("delete a stay");
    same_as_fresh("a stay deleted").await;
}

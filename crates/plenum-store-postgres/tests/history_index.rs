//! The history lists' in-memory indexes on PostgreSQL (`plenum-store-memory`, over migration
//! 0030's triggers): changes seen whoever makes them (another connection stands for another
//! node or `plenum import`), and live meetings' churn not rebuilding them.
//! That they answer as a plain filter of the rows is a contract check
//! (`history_lists_answer_as_a_plain_filter_of_the_rows`), run on every backend.

use plenum_domain::history::{Attendance, DeviceType, MediaType, RecordingKind, RecordingStatus};
use plenum_domain::history_query::{RecordingFilter, SearchText, SessionQuery};
use plenum_domain::ids::{AttendanceId, CompanyId, UserId};
use plenum_domain::user::Role;
use plenum_store::contract::edited_elsewhere::a_remembered_meeting_detail_sees_its_invitees_removed;
use plenum_store::contract::{at, new_company, new_user};
use plenum_store::contract_history::against_a_fresh_store::{
    Edit, remembered_lists_equal_a_fresh_store,
};
use plenum_store::contract_history::{offset_page, plain_recording, plain_session};
use plenum_store::{History, LiveRecord, LiveWrite, Store};
use plenum_store_postgres::PgStore;
use plenum_store_postgres::testing::{self, TestDatabase};
use sqlx::PgPool;

/// A new store in a database of its own, and a second connection to that database; `None`
/// (the test is skipped) without a test server.
async fn fresh_store(test: &str) -> Option<(TestDatabase, PgStore, PgPool)> {
    let server = testing::server(test)?;
    let database = TestDatabase::create(&server).await;
    let store = PgStore::open_with(&database.url(), 4)
        .await
        .expect("open the store");
    let other = PgPool::connect(&database.url()).await.expect("connect");
    Some((database, store, other))
}

/// A company with one user, who owns every session of the tests.
async fn company(store: &PgStore, name: &str) -> (CompanyId, UserId) {
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
async fn generation(other: &PgPool, company: CompanyId, subject: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COALESCE((SELECT generation FROM change_generations \
         WHERE company_id = $1 AND subject = $2), 0)",
    )
    .bind(company.as_uuid())
    .bind(subject)
    .fetch_one(other)
    .await
    .expect("read generation")
}

#[tokio::test]
async fn history_indexes_see_changes_made_after_they_were_built_by_anyone() {
    let Some((_database, store, other)) =
        fresh_store("history_indexes_see_changes_made_after_they_were_built_by_anyone").await
    else {
        return;
    };
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

    // From another connection, as another node or `plenum import` would.
    sqlx::query("UPDATE sessions SET name = 'Renamed' WHERE id = $1")
        .bind(first.id.as_uuid())
        .execute(&other)
        .await
        .expect("rename");
    sqlx::query("UPDATE recordings SET status = 'processing' WHERE id = $1")
        .bind(rec.id.as_uuid())
        .execute(&other)
        .await
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
    let Some((_database, store, other)) =
        fresh_store("live_meetings_do_not_move_the_history_generations").await
    else {
        return;
    };
    let (acme, alice) = company(&store, "Acme").await;
    let mut running = plain_session(acme, alice, "Stand-up", 0, None);
    running.ended_at = None;
    store
        .record_live(vec![LiveWrite::SessionStarted(Box::new(running.clone()))])
        .await
        .expect("start");
    let sessions_before = generation(&other, acme, "sessions").await;
    let recordings_before = generation(&other, acme, "recordings").await;
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
    assert_eq!(generation(&other, acme, "sessions").await, sessions_before);
    assert_eq!(
        generation(&other, acme, "recordings").await,
        recordings_before
    );
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

/// A store that has listed everything answers after each kind of change exactly as a store
/// opened afresh on the same database (the shared scenario; migration 0032's record of which
/// rows each move was for keeps the rest). The edits come from another connection, as from
/// another node.
#[tokio::test]
async fn after_every_kind_of_change_remembered_lists_equal_a_fresh_store() {
    let Some((database, store, other)) =
        fresh_store("after_every_kind_of_change_remembered_lists_equal_a_fresh_store").await
    else {
        return;
    };
    let reopen = || async {
        Box::new(
            PgStore::open_with(&database.url(), 2)
                .await
                .expect("open a second store"),
        ) as Box<dyn Store>
    };
    let edit = |edit: Edit| {
        let other = other.clone();
        async move {
            let (sql, id) = match edit {
                Edit::CompleteRecording(id) => (
                    "UPDATE recordings SET status = 'completed', ended_at = started_at + 40000, \
                     download_url = 'https://files.example/made.webm' WHERE id = $1",
                    id.as_uuid(),
                ),
                Edit::RenameAndMoveSession(id) => (
                    "UPDATE sessions SET name = 'Planning again', \
                     started_at = started_at + 5500000, ended_at = ended_at + 5500000 \
                     WHERE id = $1",
                    id.as_uuid(),
                ),
                Edit::ShortenRecording(id) => (
                    "UPDATE recordings SET duration_secs = 5 WHERE id = $1",
                    id.as_uuid(),
                ),
                Edit::RenameUser(id) => (
                    "UPDATE users SET real_name = 'Alice Renamed' WHERE id = $1",
                    id.as_uuid(),
                ),
                Edit::DeleteStay(id) => ("DELETE FROM attendance WHERE id = $1", id.as_uuid()),
                Edit::RenameStay(id) => (
                    "UPDATE attendance SET display_name = 'Alicia', left_at = left_at + 1000 \
                     WHERE id = $1",
                    id.as_uuid(),
                ),
                Edit::RenumberSession(id) => (
                    "UPDATE sessions SET company_seq = company_seq + 1000 WHERE id = $1",
                    id.as_uuid(),
                ),
                Edit::InviteOwner(id) => (
                    "INSERT INTO session_invitees (session_seq, user_id) \
                     SELECT seq, owner_id FROM sessions WHERE id = $1",
                    id.as_uuid(),
                ),
            };
            let done = sqlx::query(sql)
                .bind(id)
                .execute(&other)
                .await
                .expect("edit");
            assert_eq!(done.rows_affected(), 1, "{edit:?}");
        }
    };
    remembered_lists_equal_a_fresh_store(&store, reopen, edit).await;
}

/// A meeting's detail is remembered; its invitees changed from another connection (another
/// node, or by hand) move the company's generation, so the next read shows them.
#[tokio::test]
async fn a_remembered_meeting_detail_sees_its_invitees_changed_from_elsewhere() {
    let Some((_db, store, other)) =
        fresh_store("a_remembered_meeting_detail_sees_its_invitees_changed_from_elsewhere").await
    else {
        return;
    };
    a_remembered_meeting_detail_sees_its_invitees_removed(&store, |meeting| async move {
        sqlx::query("DELETE FROM schedule_invitees WHERE schedule_id = $1")
            .bind(meeting.as_uuid())
            .execute(&other)
            .await
            .expect("edit");
    })
    .await;
}

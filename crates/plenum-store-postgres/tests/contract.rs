//! The store contract suite against PostgreSQL: the very list SQLite runs
//! (`plenum_store::contract_tests!`), each check on a database of its own.
//!
//! The server is named by `PLENUM_TEST_DATABASE_URL` (a database the user may create
//! databases from, such as `postgres://plenum@localhost/postgres?host=/tmp/…/socket`).
//! `scripts/test.sh` starts a throwaway cluster and sets it (`scripts/pg-test-server.sh`).
//! Without it the checks are skipped with a notice when run by hand (`cargo test`), and fail
//! when the environment says it is CI (`CI` set): CI must never pass by running nothing.

use plenum_store::contract::Expect;
use plenum_store_postgres::PgStore;
use plenum_store_postgres::testing::{self, TestDatabase};

/// The checks this backend does not pass yet (issue 15 is building it). Each still runs and
/// must fail; one that passes fails its test until it is taken off this list.
const PENDING: &[&str] = &[
    // Reads the ended session back through `find_sessions` (history, below).
    "live_record_after_a_crash_closes_sessions_and_attendance_at_last_seen",
    // History (`History` trait): not implemented on PostgreSQL yet.
    "sessions_are_listed_newest_first_with_owner_participants_and_recording",
    "session_lists_filter_on_room_name_and_start_window",
    "session_window_totals_are_exact_at_the_edges_of_the_history",
    "session_lists_never_show_other_companies",
    "session_attendance_pages_and_searches_a_sessions_stays",
    "session_attendance_finds_sessions_by_id_or_number_only_in_their_company",
    "recordings_filter_on_every_field",
    "recordings_page_newest_first_with_totals",
    "recordings_are_scoped_to_their_company",
    "delete_recordings_deletes_only_matches_of_the_company",
    "import_is_idempotent",
    "import_is_all_or_nothing_and_names_the_line",
    "import_closes_open_stays_of_ended_sessions",
    "import_refuses_ids_and_references_of_other_companies",
    "insert_history_batch_writes_what_the_queries_read_all_or_nothing",
    "listed_rows_follow_every_change_of_what_they_show",
    "a_rooms_sessions_are_listed_only_for_a_room_of_the_company",
    // Webhooks and the audit log (`Webhooks`, `AuditLog`, the `…_with_trail` writes): not
    // implemented on PostgreSQL yet; a change with a trail is refused there.
    "endpoints_round_trip_within_their_company",
    "an_endpoint_is_given_only_events_written_after_its_registration",
    "events_after_an_expiry_of_everything_are_delivered",
    "a_url_is_registered_once_per_company",
    "events_are_kept_only_where_an_endpoint_takes_them",
    "events_and_audit_entries_share_the_fate_of_their_live_batch",
    "deliveries_wait_for_the_earlier_events_of_their_meeting",
    "attempts_are_logged_and_mark_an_endpoint_failing_until_one_succeeds",
    "replay_sends_one_event_or_everything_since_an_instant_again",
    "deleting_an_endpoint_removes_its_deliveries_and_attempts",
    "expiry_forgets_old_events_but_not_undelivered_ones",
    "rotating_a_secret_replaces_the_seed_of_that_endpoint_only",
    "the_audit_log_filters_and_pages_newest_first_within_its_company",
    "audit_expiry_removes_only_old_entries",
    "a_changes_trail_is_written_if_and_only_if_the_change_is",
];

fn expect(check: &str) -> Expect {
    if testing::server(check).is_none() {
        return Expect::Skip;
    }
    if PENDING.contains(&check) {
        Expect::Pending
    } else {
        Expect::Pass
    }
}

/// A new, empty store in a database of its own (dropped with the returned guard).
async fn fresh_store() -> (TestDatabase, PgStore) {
    let server = std::env::var(testing::SERVER_VARIABLE).expect("checked by `expect`");
    let database = TestDatabase::create(&server).await;
    let store = PgStore::open_with(&database.url(), 8)
        .await
        .expect("open the store");
    (database, store)
}

plenum_store::contract_tests!(fresh_store, expect);

/// Two servers on one database: a notice one announces is heard by the other (`NOTIFY`),
/// so a sign-out on one ends the token on both at once.
#[tokio::test]
async fn a_notice_announced_by_one_server_is_heard_by_another_on_the_same_database() {
    if expect("notices_between_servers") == plenum_store::contract::Expect::Skip {
        return;
    }
    use plenum_store::{Notice, Notices as _};
    let (database, first) = fresh_store().await;
    let second = PgStore::open_with(&database.url(), 2)
        .await
        .expect("a second server's store");
    let mut heard_by_second = second.notices();
    let notice = Notice::Token(plenum_domain::credentials::TokenHash::of("signed out"));
    first.announce(&notice).await.expect("announce");
    let heard = tokio::time::timeout(std::time::Duration::from_secs(10), heard_by_second.recv())
        .await
        .expect("heard within 10 s")
        .expect("a notice");
    assert_eq!(heard, notice);
    first.close().await;
    second.close().await;
}

#[tokio::test]
async fn migrations_run_twice_are_harmless() {
    if expect("migrations_run_twice_are_harmless") == Expect::Skip {
        return;
    }
    let (database, store) = fresh_store().await;
    store.close().await;
    let again = PgStore::open_with(&database.url(), 2)
        .await
        .expect("reopen");
    again.close().await;
}

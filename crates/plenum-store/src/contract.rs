//! The contract every [`Store`] backend must pass.
//!
//! Each check is a `pub async fn` taking a fresh, empty store. It tests behaviour a caller can
//! observe through the trait, never how a backend stores it, so the SQLite backend and a future
//! PostgreSQL backend run the very same checks.
//!
//! A backend runs the suite with [`contract_tests!`](crate::contract_tests), which expands to
//! one `#[tokio::test]` per check so each is a named test of the backend's test binary:
//!
//! ```ignore
//! // crates/plenum-store-<backend>/tests/contract.rs
//! async fn fresh_store() -> (TempDir, MyStore) { /* a new, empty store */ }
//!
//! plenum_store::contract_tests!(fresh_store);
//! ```
//!
//! Both backends run this one list: a check added here runs on each. A backend still being
//! built passes a second argument, a function from a check's name to [`Expect`], to mark the
//! checks it does not pass yet (and to skip all when its server is missing):
//! `contract_tests!(fresh_store, expect)`.
//!
//! The backend's crate needs `plenum-store` with the `contract-tests` feature and `tokio` with
//! the `macros` and `rt-multi-thread` features among its dev-dependencies.

use futures::future::{BoxFuture, FutureExt, TryFutureExt, join_all};

use plenum_domain::Timestamp;
use plenum_domain::company::{Company, CompanyName, NewCompany, TimeZoneName};
use plenum_domain::credentials::{SecurityLevel, TokenHash};
use plenum_domain::history::{Attendance, DeviceType, MediaType, Session};
use plenum_domain::ids::{
    AttendanceId, CompanyId, RoomId, ScheduleId, SeriesId, SessionId, UserId,
};
use plenum_domain::paging::{Page, PageRequest};
use plenum_domain::recurrence::{Frequency, MAX_OCCURRENCES, RecurrenceRule};
use plenum_domain::schedule::{
    CallRate, LiveSettings, MeetingFilter, MeetingKind, MeetingNumber, MeetingPassword,
    MeetingSettings, Room, Schedule, ScheduleSummary, Series, TimeSlot, UserRef, WatermarkType,
};
use plenum_domain::sign_in::{AccessTokenRecord, LockoutPolicy, SignInThrottle};
use plenum_domain::user::{NewUser, Profile, Role, User, UserChanges, Username};

use crate::{
    Abandon, Abandoned, JoinTarget, LiveWrite, MeetingScope, Store, StoreError, StoreResult,
};

/// Expands to one `#[tokio::test]` per contract check, each running the check against a fresh
/// store made by `$make`: an async function (or closure returning a future) whose output is a
/// [`Fixture`], such as the store itself or `(guard, store)` where the guard (a temporary
/// directory, a throwaway database) must outlive the test.
///
/// Needs `tokio` with the `macros` and `rt-multi-thread` features in the calling crate.
#[macro_export]
macro_rules! contract_tests {
    ($make:expr) => {
        $crate::contract_tests!($make, $crate::contract::run_every_check);
    };
    ($make:expr, $expect:expr) => {
        $crate::contract_tests!(@tests $make; $expect;
            // contract-list-start (every `pub async fn` check of `contract.rs`, in order)
            an_opened_store_is_ready,
            a_notice_is_heard_by_every_subscriber,
            empty_store_has_no_companies,
            create_company_creates_company_and_first_admin,
            companies_are_listed_oldest_first,
            duplicate_company_name_is_refused_case_insensitively_and_leaves_no_admin,
            taken_admin_username_leaves_no_company,
            only_one_default_company,
            a_company_changes_only_what_is_given_and_names_stay_unique,
            create_user_returns_the_stored_user,
            usernames_are_unique_case_insensitively_across_companies,
            concurrent_creations_of_one_username_yield_one_user,
            create_user_in_unknown_company_is_not_found,
            user_limit_is_enforced_per_company,
            concurrent_creations_do_not_exceed_the_user_limit,
            user_is_scoped_to_its_company,
            sign_in_record_finds_usernames_case_insensitively,
            an_email_address_names_the_users_who_have_it,
            change_secret_needs_the_hash_it_was_checked_against,
            secret_hash_is_the_stored_hash,
            update_user_applies_changes,
            update_user_changes_the_secret,
            update_user_is_scoped_to_its_company,
            last_system_admin_cannot_be_demoted,
            another_system_admin_allows_demotion,
            concurrent_demotions_leave_one_system_admin,
            sign_in_failures_lock_as_the_policy_says,
            concurrent_sign_in_failures_are_all_counted,
            sign_in_failure_of_unknown_user_is_not_found,
            clear_sign_in_failures_resets_only_that_user,
            changing_the_secret_clears_sign_in_failures,
            find_users_pages_in_case_insensitive_username_order,
            find_users_filters_on_username_and_real_name,
            find_users_filter_is_case_insensitive_beyond_ascii,
            find_users_filter_treats_wildcards_literally,
            find_users_never_shows_other_companies,
            count_users_counts_per_company,
            tokens_round_trip_with_their_user,
            token_carries_the_current_user,
            delete_token_deletes_only_that_token,
            delete_user_tokens_deletes_all_of_that_user,
            delete_user_tokens_keeps_the_given_token,
            delete_expired_tokens_deletes_only_expired_ones,
            user_refs_returns_only_users_of_the_company,
            room_round_trips_and_is_scoped_to_its_company,
            rooms_are_listed_oldest_first,
            room_filters_fold_every_letters_case,
            update_room_replaces_its_fields_and_re_reserves_its_number,
            a_room_in_use_keeps_its_number_and_cannot_be_deleted,
            meeting_numbers_are_unique_across_rooms_schedules_and_series,
            concurrent_reservations_of_one_number_yield_one_holder,
            deleting_a_meeting_or_room_frees_its_number,
            an_update_from_a_stale_revision_is_refused_and_writes_nothing,
            a_series_change_moves_its_occurrences_revisions_on,
            a_meeting_for_a_room_deleted_meanwhile_is_refused,
            a_meeting_into_a_room_renumbered_meanwhile_gets_its_current_number,
            a_schedule_in_a_room_uses_the_rooms_number,
            a_series_in_a_room_uses_the_rooms_number,
            a_meeting_link_opens_its_meeting_number,
            create_schedules_is_all_or_nothing,
            schedule_round_trips_every_field,
            schedule_is_scoped_to_its_company,
            update_schedule_replaces_fields_and_invitees,
            a_meetings_detail_follows_every_change_of_what_it_shows,
            update_schedule_re_reserves_a_changed_number,
            update_schedule_marks_an_occurrence_overridden,
            delete_schedule_of_an_occurrence_records_an_exdate,
            find_schedules_pages_by_start_then_id,
            find_schedules_for_a_participant_shows_owned_and_invited,
            find_schedules_filters_on_name_and_number_prefix,
            find_schedules_filter_treats_special_characters_literally,
            find_schedules_past_the_last_page_reports_the_total,
            find_schedules_never_shows_other_companies,
            the_company_list_answers_as_the_filter_of_its_meetings_after_every_change,
            series_round_trips_with_its_occurrences,
            replace_series_replaces_its_occurrences_and_exdates,
            create_and_replace_series_are_all_or_nothing,
            delete_series_removes_it_with_its_occurrences,
            calendar_feed_is_found_by_its_hash,
            calendar_of_lists_a_users_single_meetings_and_series,
            live_record_of_a_closed_session_leaves_nothing_open,
            live_record_after_a_crash_closes_sessions_and_attendance_at_last_seen,
            live_record_batches_are_all_or_nothing,
            live_record_takes_concurrent_batches,
            join_target_finds_rooms_schedules_and_the_current_occurrence,
            last_end_reason_is_that_of_the_latest_session,
            // contract-list-end
        );
        $crate::history_contract_tests!($make, $expect);
        $crate::webhooks_contract_tests!($make, $expect);
        $crate::leases_contract_tests!($make, $expect);
        $crate::limits_contract_tests!($make, $expect);
    };
    (@tests_of $module:ident; $make:expr; $expect:expr; $($name:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let expect: $crate::contract::Expect = ($expect)(stringify!($name));
                if expect == $crate::contract::Expect::Skip {
                    return;
                }
                let fixture = ($make)().await;
                $crate::contract::run_check(
                    expect,
                    stringify!($name),
                    $crate::$module::$name($crate::contract::Fixture::store(&fixture)),
                )
                .await;
            }
        )*
    };
    (@tests $make:expr; $expect:expr; $($name:ident),* $(,)?) => {
        $crate::contract_tests!(@tests_of contract; $make; $expect; $($name),*);
    };
}

/// How a backend's test binary runs one check of the suite: the optional second argument of
/// [`contract_tests!`](crate::contract_tests) is a function from the check's name to this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The check runs and must pass.
    Pass,
    /// The backend does not pass the check yet (it is being built): the check runs and must
    /// fail; if it passes, the test fails so that the backend's list of pending checks is
    /// kept true.
    Pending,
    /// Not run at all (the backend's server is not available where the tests run by hand);
    /// the backend prints why.
    Skip,
}

/// Every check runs and must pass: what `contract_tests!(make)` means.
pub fn run_every_check(_check: &str) -> Expect {
    Expect::Pass
}

/// Runs one check as `expect` says (see [`Expect`]).
#[doc(hidden)]
pub async fn run_check(expect: Expect, name: &str, check: impl std::future::Future<Output = ()>) {
    match expect {
        Expect::Pass => check.await,
        Expect::Skip => {}
        Expect::Pending => match std::panic::AssertUnwindSafe(check).catch_unwind().await {
            Ok(()) => panic!(
                "{name} passes now on this backend: take it off the backend's pending checks"
            ),
            Err(_) => eprintln!("{name}: pending on this backend (it fails, as expected)"),
        },
    }
}

/// What a backend's factory hands the suite: a fresh, empty store, possibly together with
/// something that must live as long as the store does.
pub trait Fixture {
    fn store(&self) -> &dyn Store;
}

impl<S: Store> Fixture for S {
    fn store(&self) -> &dyn Store {
        self
    }
}

/// A store and a guard that must outlive it, such as the `TempDir` holding its files.
impl<G, S: Store> Fixture for (G, S) {
    fn store(&self) -> &dyn Store {
        &self.1
    }
}

// --- helpers --------------------------------------------------------------------------------

/// A fixed instant well after the epoch; tests count seconds from it.
pub const T0_SECONDS: i64 = 1_700_000_000;

/// A small deterministic generator (no test needs more than a reproducible spread).
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    pub(crate) fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

/// `T0_SECONDS + offset` seconds (whole seconds, so every backend stores it exactly).
pub fn at(offset: i64) -> Timestamp {
    Timestamp::from_second(T0_SECONDS + offset).expect("test instants are in range")
}

/// A non-default company in UTC with room for 100 users, created at `at(0)`.
pub fn new_company(name: &str) -> NewCompany {
    NewCompany {
        id: CompanyId::new(at(0)),
        name: CompanyName::parse(name).expect("test company names are valid"),
        time_zone: TimeZoneName::utc(),
        max_users: 100,
        is_default: false,
        created_at: at(0),
    }
}

/// A user of `company` with the given role, an empty profile, the hash `hash-<username>`
/// (the store never interprets it) and created at `at(0)`.
pub fn new_user(company: CompanyId, username: &str, role: Role) -> NewUser {
    NewUser {
        id: UserId::new(at(0)),
        company_id: company,
        username: Username::parse(username).expect("test usernames are valid"),
        profile: Profile::default(),
        role,
        secret_hash: format!("hash-{username}"),
        security_level: SecurityLevel::Medium,
        created_at: at(0),
    }
}

/// The user a store must report right after creating `new`.
pub fn created(new: &NewUser) -> User {
    User {
        id: new.id,
        company_id: new.company_id,
        username: new.username.clone(),
        profile: new.profile.clone(),
        role: new.role,
        security_level: new.security_level,
        secret_changed_at: new.created_at,
        created_at: new.created_at,
    }
}

fn username(raw: &str) -> Username {
    Username::parse(raw).expect("test usernames are valid")
}

fn page(page_num: i64, page_size: i64) -> PageRequest {
    PageRequest::by_number(page_num, page_size, 1000).expect("test pages are valid")
}

pub(crate) fn all() -> PageRequest {
    page(1, 1000)
}

fn names(page: &Page<User>) -> Vec<&str> {
    page.items.iter().map(|u| u.username.as_str()).collect()
}

fn with_real_name(mut user: NewUser, real_name: &str) -> NewUser {
    user.profile.real_name = real_name.to_owned();
    user
}

/// Creates a company with the given limit and its SystemAdmin `admin`.
pub(crate) async fn company_with_admin(
    store: &dyn Store,
    name: &str,
    admin: &str,
    max_users: u32,
) -> (Company, User) {
    let mut company = new_company(name);
    company.max_users = max_users;
    let first_admin = new_user(company.id, admin, Role::SystemAdmin);
    let company = store
        .create_company(&company, &first_admin)
        .await
        .expect("create company");
    let admin = store
        .user(company.id, first_admin.id)
        .await
        .expect("read admin")
        .expect("the first admin exists");
    (company, admin)
}

async fn add_user(store: &dyn Store, company: CompanyId, username: &str, role: Role) -> User {
    store
        .create_user(&new_user(company, username, role))
        .await
        .expect("create user")
}

async fn throttle(store: &dyn Store, name: &str) -> SignInThrottle {
    store
        .sign_in_record(&username(name))
        .await
        .expect("read sign-in record")
        .expect("the user exists")
        .throttle
}

async fn reload(store: &dyn Store, user: &User) -> User {
    store
        .user(user.company_id, user.id)
        .await
        .expect("read user")
        .expect("the user exists")
}

async fn system_admins(store: &dyn Store, company: CompanyId) -> usize {
    let users = store
        .find_users(company, None, all())
        .await
        .expect("find users");
    users
        .items
        .iter()
        .filter(|u| u.role == Role::SystemAdmin)
        .count()
}

fn token_for(
    user: &User,
    token: &str,
    client_id: Option<&str>,
    expires_at: Timestamp,
) -> AccessTokenRecord {
    AccessTokenRecord {
        hash: TokenHash::of(token),
        user_id: user.id,
        company_id: user.company_id,
        client_id: client_id.map(str::to_owned),
        issued_at: at(0),
        expires_at,
    }
}

async fn insert_token(store: &dyn Store, record: &AccessTokenRecord) {
    store.insert_token(record).await.expect("insert token");
}

async fn has_token(store: &dyn Store, token: &str) -> bool {
    store
        .token(&TokenHash::of(token))
        .await
        .expect("read token")
        .is_some()
}

fn expect_err<T: std::fmt::Debug>(result: StoreResult<T>, what: &str) -> StoreError {
    match result {
        Ok(value) => panic!("{what}: expected an error, got {value:?}"),
        Err(e) => e,
    }
}

// --- companies ------------------------------------------------------------------------------

pub async fn an_opened_store_is_ready(store: &dyn Store) {
    assert_eq!(
        store.readiness().await.expect("readiness"),
        crate::Readiness::Ready
    );
}

pub async fn a_notice_is_heard_by_every_subscriber(store: &dyn Store) {
    let mut first = store.notices();
    let mut second = store.notices();
    let notices = [
        crate::Notice::User(UserId::new(at(1))),
        crate::Notice::Token(plenum_domain::credentials::TokenHash::of("a token")),
    ];
    for notice in &notices {
        store.announce(notice).await.expect("announce");
    }
    for subscriber in [&mut first, &mut second] {
        for notice in &notices {
            let heard = tokio::time::timeout(std::time::Duration::from_secs(10), subscriber.recv())
                .await
                .expect("heard within 10 s")
                .expect("a notice");
            assert_eq!(&heard, notice);
        }
    }
}

pub async fn empty_store_has_no_companies(store: &dyn Store) {
    assert!(store.companies().await.expect("companies").is_empty());
    assert_eq!(
        store.default_company().await.expect("default company"),
        None
    );
    assert_eq!(
        store.company(CompanyId::new(at(0))).await.expect("company"),
        None
    );
    assert_eq!(
        store
            .sign_in_record(&username("root"))
            .await
            .expect("sign-in record")
            .map(|r| r.user),
        None
    );
}

pub async fn create_company_creates_company_and_first_admin(store: &dyn Store) {
    let mut new = new_company("Platform");
    new.is_default = true;
    new.max_users = 7;
    new.time_zone = TimeZoneName::parse("Europe/Berlin").expect("valid zone");
    let mut admin = new_user(new.id, "Root", Role::SystemAdmin);
    admin.profile.real_name = "Administrator".to_owned();
    admin.profile.email = "root@example.com".to_owned();

    let company = store
        .create_company(&new, &admin)
        .await
        .expect("create company");
    let expected = Company {
        id: new.id,
        name: new.name.clone(),
        time_zone: new.time_zone.clone(),
        max_users: 7,
        is_default: true,
        created_at: new.created_at,
    };
    assert_eq!(company, expected);
    assert_eq!(
        store.company(new.id).await.expect("company"),
        Some(expected.clone())
    );
    assert_eq!(
        store.default_company().await.expect("default company"),
        Some(expected.clone())
    );
    assert_eq!(store.companies().await.expect("companies"), vec![expected]);

    assert_eq!(
        store.user(new.id, admin.id).await.expect("user"),
        Some(created(&admin))
    );
    assert_eq!(store.count_users(new.id).await.expect("count"), 1);
    let record = store
        .sign_in_record(&username("root"))
        .await
        .expect("sign-in record")
        .expect("the admin can sign in");
    assert_eq!(record.user, created(&admin));
    assert_eq!(record.secret_hash, "hash-Root");
    assert_eq!(record.throttle, SignInThrottle::default());
}

pub async fn companies_are_listed_oldest_first(store: &dyn Store) {
    for (name, admin, created_at) in [
        ("Beta", "b-admin", 20),
        ("Alpha", "a-admin", 10),
        ("Gamma", "g-admin", 30),
    ] {
        let mut company = new_company(name);
        company.created_at = at(created_at);
        store
            .create_company(&company, &new_user(company.id, admin, Role::SystemAdmin))
            .await
            .expect("create company");
    }
    let listed = store.companies().await.expect("companies");
    let names: Vec<&str> = listed.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Alpha", "Beta", "Gamma"]);
    assert_eq!(listed[0].created_at, at(10));
    assert_eq!(
        store.default_company().await.expect("default company"),
        None
    );
}

pub async fn duplicate_company_name_is_refused_case_insensitively_and_leaves_no_admin(
    store: &dyn Store,
) {
    let (acme, _) = company_with_admin(store, "Acme", "acme-admin", 10).await;

    let twin = new_company("ACME");
    let twin_admin = new_user(twin.id, "twin-admin", Role::SystemAdmin);
    let err = expect_err(
        store.create_company(&twin, &twin_admin).await,
        "a second company named ACME",
    );
    assert!(matches!(err, StoreError::CompanyNameTaken), "{err:?}");

    assert_eq!(store.company(twin.id).await.expect("company"), None);
    assert_eq!(store.companies().await.expect("companies"), vec![acme]);
    assert!(
        store
            .sign_in_record(&username("twin-admin"))
            .await
            .expect("sign-in record")
            .is_none(),
        "the refused company's admin must not exist"
    );
    assert_eq!(
        store.user(twin.id, twin_admin.id).await.expect("user"),
        None
    );
    assert_eq!(
        store.secret_hash(twin_admin.id).await.expect("secret hash"),
        None
    );
    assert_eq!(store.count_users(twin.id).await.expect("count"), 0);

    // The admin's name is free: a company with another name can use it.
    let other = new_company("Acme Two");
    store
        .create_company(&other, &new_user(other.id, "twin-admin", Role::SystemAdmin))
        .await
        .expect("the username was never taken");
}

pub async fn taken_admin_username_leaves_no_company(store: &dyn Store) {
    let (acme, _) = company_with_admin(store, "Acme", "boss", 10).await;

    let globex = new_company("Globex");
    let err = expect_err(
        store
            .create_company(&globex, &new_user(globex.id, "BOSS", Role::SystemAdmin))
            .await,
        "a company whose admin name is taken",
    );
    assert!(matches!(err, StoreError::UsernameTaken), "{err:?}");
    assert_eq!(store.company(globex.id).await.expect("company"), None);
    assert_eq!(store.companies().await.expect("companies"), vec![acme]);

    // The company name is free: it can be created with another admin.
    let retry = new_company("Globex");
    store
        .create_company(
            &retry,
            &new_user(retry.id, "globex-boss", Role::SystemAdmin),
        )
        .await
        .expect("the company name was never taken");
}

pub async fn only_one_default_company(store: &dyn Store) {
    let mut first = new_company("Platform");
    first.is_default = true;
    let first = store
        .create_company(&first, &new_user(first.id, "root", Role::SystemAdmin))
        .await
        .expect("create the default company");

    let mut second = new_company("Another Platform");
    second.is_default = true;
    let second_admin = new_user(second.id, "root2", Role::SystemAdmin);
    expect_err(
        store.create_company(&second, &second_admin).await,
        "a second default company",
    );
    assert_eq!(
        store.default_company().await.expect("default company"),
        Some(first.clone())
    );
    assert_eq!(store.company(second.id).await.expect("company"), None);
    assert!(
        store
            .sign_in_record(&username("root2"))
            .await
            .expect("sign-in record")
            .is_none(),
        "the refused company's admin must not exist"
    );

    // Non-default companies are unaffected.
    let tenant = new_company("Tenant");
    store
        .create_company(&tenant, &new_user(tenant.id, "root2", Role::SystemAdmin))
        .await
        .expect("create a non-default company");
    assert_eq!(store.companies().await.expect("companies").len(), 2);
    assert_eq!(
        store.default_company().await.expect("default company"),
        Some(first)
    );
}

// --- users ----------------------------------------------------------------------------------

pub async fn a_company_changes_only_what_is_given_and_names_stay_unique(store: &dyn Store) {
    use plenum_domain::company::CompanyChanges;
    let (acme, _) = company_with_admin(store, "Acme", "acme-admin", 10).await;
    let (globex, _) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    let renamed = store
        .update_company_with_trail(
            acme.id,
            &CompanyChanges {
                name: Some(CompanyName::parse("Acme Works").expect("a name")),
                ..CompanyChanges::default()
            },
            &crate::Trail::default(),
        )
        .await
        .expect("rename");
    assert_eq!(renamed.name.as_str(), "Acme Works");
    assert_eq!(renamed.max_users, 10);
    assert_eq!(renamed.time_zone, acme.time_zone);
    let relicensed = store
        .update_company_with_trail(
            acme.id,
            &CompanyChanges {
                time_zone: Some(TimeZoneName::parse("Europe/Berlin").expect("a zone")),
                max_users: Some(25),
                ..CompanyChanges::default()
            },
            &crate::Trail::default(),
        )
        .await
        .expect("relicense");
    assert_eq!(relicensed.name.as_str(), "Acme Works");
    assert_eq!(relicensed.time_zone.as_str(), "Europe/Berlin");
    assert_eq!(relicensed.max_users, 25);
    assert_eq!(
        store.company(acme.id).await.expect("read"),
        Some(relicensed)
    );
    // Another's name, in any case, is taken; nothing changed.
    let taken = store
        .update_company_with_trail(
            acme.id,
            &CompanyChanges {
                name: Some(CompanyName::parse("GLOBEX").expect("a name")),
                max_users: Some(99),
                ..CompanyChanges::default()
            },
            &crate::Trail::default(),
        )
        .await;
    assert!(
        matches!(taken, Err(StoreError::CompanyNameTaken)),
        "{taken:?}"
    );
    assert_eq!(
        store
            .company(acme.id)
            .await
            .expect("read")
            .map(|c| c.max_users),
        Some(25)
    );
    assert_eq!(
        store
            .company(globex.id)
            .await
            .expect("read")
            .map(|c| c.name),
        Some(globex.name)
    );
    let unknown = store
        .update_company_with_trail(
            CompanyId::new(at(9)),
            &CompanyChanges {
                max_users: Some(5),
                ..CompanyChanges::default()
            },
            &crate::Trail::default(),
        )
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
}

pub async fn create_user_returns_the_stored_user(store: &dyn Store) {
    let (acme, _) = company_with_admin(store, "Acme", "admin", 10).await;
    let mut new = new_user(acme.id, "Alice", Role::MeetingOperator);
    new.profile = Profile {
        real_name: "Alice Liddell".to_owned(),
        email: "alice@example.com".to_owned(),
        department: "Wonderland".to_owned(),
        mobile: "+44 20 0000 0000".to_owned(),
    };
    new.security_level = SecurityLevel::Unknown;
    new.created_at = at(42);

    let user = store.create_user(&new).await.expect("create user");
    assert_eq!(user, created(&new));
    assert_eq!(
        user.username.as_str(),
        "Alice",
        "usernames are kept as given"
    );
    assert_eq!(store.user(acme.id, new.id).await.expect("user"), Some(user));
    assert_eq!(
        store
            .secret_hash(new.id)
            .await
            .expect("secret hash")
            .as_deref(),
        Some("hash-Alice")
    );
    assert_eq!(store.count_users(acme.id).await.expect("count"), 2);
}

pub async fn usernames_are_unique_case_insensitively_across_companies(store: &dyn Store) {
    let (acme, _) = company_with_admin(store, "Acme", "root", 10).await;
    let (globex, _) = company_with_admin(store, "Globex", "boss", 10).await;
    add_user(store, acme.id, "Alice", Role::Normal).await;

    for (company, name) in [
        (acme.id, "alice"),
        (acme.id, "ALICE"),
        (globex.id, "aLiCe"),
        (globex.id, "ROOT"),
    ] {
        let err = expect_err(
            store
                .create_user(&new_user(company, name, Role::Normal))
                .await,
            name,
        );
        assert!(matches!(err, StoreError::UsernameTaken), "{name}: {err:?}");
    }
    assert_eq!(store.count_users(acme.id).await.expect("count"), 2);
    assert_eq!(store.count_users(globex.id).await.expect("count"), 1);
    let record = store
        .sign_in_record(&username("alice"))
        .await
        .expect("sign-in record")
        .expect("alice exists");
    assert_eq!(
        record.user.company_id, acme.id,
        "the original account is untouched"
    );
}

pub async fn concurrent_creations_of_one_username_yield_one_user(store: &dyn Store) {
    let (acme, _) = company_with_admin(store, "Acme", "admin", 100).await;
    let (globex, _) = company_with_admin(store, "Globex", "boss", 100).await;
    let attempts: Vec<NewUser> = (0..10)
        .map(|i| {
            let company = if i % 2 == 0 { acme.id } else { globex.id };
            let name = if i % 3 == 0 { "Racer" } else { "racer" };
            new_user(company, name, Role::Normal)
        })
        .collect();
    let results = join_all(attempts.iter().map(|u| store.create_user(u))).await;
    let created = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(created, 1, "{results:?}");
    for result in &results {
        if let Err(e) = result {
            assert!(matches!(e, StoreError::UsernameTaken), "{e:?}");
        }
    }
    let total = store.count_users(acme.id).await.expect("count")
        + store.count_users(globex.id).await.expect("count");
    assert_eq!(total, 3);
}

pub async fn create_user_in_unknown_company_is_not_found(store: &dyn Store) {
    company_with_admin(store, "Acme", "admin", 10).await;
    let nowhere = CompanyId::new(at(0));
    let err = expect_err(
        store
            .create_user(&new_user(nowhere, "ghost", Role::Normal))
            .await,
        "a user of an unknown company",
    );
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert!(
        store
            .sign_in_record(&username("ghost"))
            .await
            .expect("sign-in record")
            .is_none()
    );
}

pub async fn user_limit_is_enforced_per_company(store: &dyn Store) {
    let (small, _) = company_with_admin(store, "Small", "small-admin", 3).await;
    let (big, _) = company_with_admin(store, "Big", "big-admin", 100).await;
    add_user(store, small.id, "s1", Role::Normal).await;
    add_user(store, small.id, "s2", Role::Normal).await;

    let err = expect_err(
        store
            .create_user(&new_user(small.id, "s3", Role::Normal))
            .await,
        "a user beyond max_users",
    );
    assert!(
        matches!(err, StoreError::UserLimitReached { limit: 3 }),
        "{err:?}"
    );
    assert_eq!(store.count_users(small.id).await.expect("count"), 3);
    assert!(
        store
            .sign_in_record(&username("s3"))
            .await
            .expect("sign-in record")
            .is_none()
    );

    // A full company does not stop another one, nor the refused name from being used there.
    add_user(store, big.id, "s3", Role::Normal).await;
    assert_eq!(store.count_users(big.id).await.expect("count"), 2);
}

pub async fn concurrent_creations_do_not_exceed_the_user_limit(store: &dyn Store) {
    let (acme, _) = company_with_admin(store, "Acme", "admin", 5).await;
    let attempts: Vec<NewUser> = (0..12)
        .map(|i| new_user(acme.id, &format!("user{i}"), Role::Normal))
        .collect();
    let results = join_all(attempts.iter().map(|u| store.create_user(u))).await;

    let created = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        created, 4,
        "the admin plus 4 fill the limit of 5: {results:?}"
    );
    for result in &results {
        if let Err(e) = result {
            assert!(
                matches!(e, StoreError::UserLimitReached { limit: 5 }),
                "{e:?}"
            );
        }
    }
    assert_eq!(store.count_users(acme.id).await.expect("count"), 5);
    let listed = store
        .find_users(acme.id, None, all())
        .await
        .expect("find users");
    assert_eq!(listed.total, 5);
    assert_eq!(listed.items.len(), 5);
}

pub async fn user_is_scoped_to_its_company(store: &dyn Store) {
    let (acme, acme_admin) = company_with_admin(store, "Acme", "acme-admin", 10).await;
    let (globex, globex_admin) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;

    assert_eq!(
        store.user(acme.id, bob.id).await.expect("user"),
        Some(bob.clone())
    );
    assert_eq!(store.user(globex.id, bob.id).await.expect("user"), None);
    assert_eq!(
        store.user(globex.id, acme_admin.id).await.expect("user"),
        None
    );
    assert_eq!(
        store.user(acme.id, globex_admin.id).await.expect("user"),
        None
    );
    assert_eq!(
        store.user(acme.id, UserId::new(at(0))).await.expect("user"),
        None
    );
    assert_eq!(
        store
            .user(CompanyId::new(at(0)), bob.id)
            .await
            .expect("user"),
        None
    );
}

pub async fn sign_in_record_finds_usernames_case_insensitively(store: &dyn Store) {
    company_with_admin(store, "Acme", "acme-admin", 10).await;
    let (globex, _) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    let alice = add_user(store, globex.id, "Alice.Smith", Role::Normal).await;

    for spelling in ["Alice.Smith", "alice.smith", "ALICE.SMITH"] {
        let record = store
            .sign_in_record(&username(spelling))
            .await
            .expect("sign-in record")
            .unwrap_or_else(|| panic!("{spelling} finds the account"));
        assert_eq!(record.user, alice, "{spelling}");
        assert_eq!(record.secret_hash, "hash-Alice.Smith");
        assert_eq!(record.throttle, SignInThrottle::default());
    }
    assert!(
        store
            .sign_in_record(&username("alice.smit"))
            .await
            .expect("sign-in record")
            .is_none(),
        "no prefix matching"
    );
    assert!(
        store
            .sign_in_record(&username("alice_smith"))
            .await
            .expect("sign-in record")
            .is_none(),
        "no wildcard matching"
    );
}

pub async fn an_email_address_names_the_users_who_have_it(store: &dyn Store) {
    let (acme, _) = company_with_admin(store, "Acme", "acme-admin", 10).await;
    let (globex, _) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    let with_email = |company, name: &str, email: &str| {
        let mut user = new_user(company, name, Role::Normal);
        user.profile.email = email.to_owned();
        user
    };
    for user in [
        with_email(acme.id, "ann", "Ann@Acme.example"),
        with_email(acme.id, "bob", "shared@example.com"),
        with_email(globex.id, "bea", "shared@example.com"),
    ] {
        store.create_user(&user).await.expect("create user");
    }
    let named = |email: &'static str, limit: u32| async move {
        store
            .usernames_by_email(email, limit)
            .await
            .expect("look up an address")
            .iter()
            .map(|u| u.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(named("ann@acme.example", 5).await, ["ann"]);
    assert_eq!(named(" ANN@ACME.EXAMPLE ", 5).await, ["ann"]);
    assert_eq!(
        named("shared@example.com", 5).await,
        ["bea", "bob"],
        "across companies"
    );
    assert_eq!(
        named("shared@example.com", 1).await,
        ["bea"],
        "at most the limit"
    );
    assert!(named("nobody@example.com", 5).await.is_empty());
    assert!(named("", 5).await.is_empty(), "users without an address");
    assert!(named("%@%", 5).await.is_empty(), "no wildcard matching");
}

/// Two changes of one's own credential checked against the same old hash: the first wins,
/// the second finds the hash gone and writes nothing; a reset by someone else is not undone.
pub async fn change_secret_needs_the_hash_it_was_checked_against(store: &dyn Store) {
    let (acme, _admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;
    let first = ("hash-first".to_owned(), SecurityLevel::High);
    let second = ("hash-second".to_owned(), SecurityLevel::Medium);
    assert!(
        store
            .change_secret(acme.id, bob.id, "hash-bob", &first, at(5))
            .await
            .expect("first change")
    );
    assert!(
        !store
            .change_secret(acme.id, bob.id, "hash-bob", &second, at(6))
            .await
            .expect("second change"),
        "the old hash is gone"
    );
    assert_eq!(
        store.secret_hash(bob.id).await.expect("hash").as_deref(),
        Some("hash-first")
    );
    let changed = reload(store, &bob).await;
    assert_eq!(changed.security_level, SecurityLevel::High);
    assert_eq!(changed.secret_changed_at, at(5));

    // An administrator's reset in between: the change checked against the hash before it
    // does not undo it.
    store
        .update_user(
            acme.id,
            bob.id,
            &UserChanges {
                secret: Some(("hash-reset".to_owned(), SecurityLevel::High)),
                ..UserChanges::default()
            },
            at(7),
        )
        .await
        .expect("reset");
    assert!(
        !store
            .change_secret(acme.id, bob.id, "hash-first", &second, at(8))
            .await
            .expect("change after the reset")
    );
    assert_eq!(
        store.secret_hash(bob.id).await.expect("hash").as_deref(),
        Some("hash-reset")
    );

    // Another company's user, or nobody, is not found.
    let (other, _) = company_with_admin(store, "Other", "other-admin", 10).await;
    assert_not_found(
        expect_err(
            store
                .change_secret(other.id, bob.id, "hash-reset", &second, at(9))
                .await,
            "another company's user",
        ),
        "change_secret across companies",
    );
    assert_eq!(
        store.secret_hash(bob.id).await.expect("hash").as_deref(),
        Some("hash-reset")
    );
}

pub async fn secret_hash_is_the_stored_hash(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;
    assert_eq!(
        store
            .secret_hash(admin.id)
            .await
            .expect("secret hash")
            .as_deref(),
        Some("hash-admin")
    );
    assert_eq!(
        store
            .secret_hash(bob.id)
            .await
            .expect("secret hash")
            .as_deref(),
        Some("hash-bob")
    );
    assert_eq!(
        store
            .secret_hash(UserId::new(at(0)))
            .await
            .expect("secret hash"),
        None
    );
}

pub async fn update_user_applies_changes(store: &dyn Store) {
    let (acme, _) = company_with_admin(store, "Acme", "admin", 10).await;
    let mut new = new_user(acme.id, "bob", Role::Normal);
    new.profile.real_name = "Bob".to_owned();
    new.profile.department = "Sales".to_owned();
    let bob = store.create_user(&new).await.expect("create user");

    // No change is a no-op that still answers with the user.
    let same = store
        .update_user(acme.id, bob.id, &UserChanges::default(), at(5))
        .await
        .expect("empty update");
    assert_eq!(same, bob);

    let changes = UserChanges {
        real_name: Some("Robert Smith".to_owned()),
        email: Some("bob@example.com".to_owned()),
        mobile: Some("+1 555 0100".to_owned()),
        role: Some(Role::MeetingOperator),
        ..UserChanges::default()
    };
    let updated = store
        .update_user(acme.id, bob.id, &changes, at(10))
        .await
        .expect("update user");
    let expected = User {
        profile: Profile {
            real_name: "Robert Smith".to_owned(),
            email: "bob@example.com".to_owned(),
            department: "Sales".to_owned(),
            mobile: "+1 555 0100".to_owned(),
        },
        role: Role::MeetingOperator,
        ..bob.clone()
    };
    assert_eq!(updated, expected);
    assert_eq!(reload(store, &bob).await, expected);
    assert_eq!(
        store
            .secret_hash(bob.id)
            .await
            .expect("secret hash")
            .as_deref(),
        Some("hash-bob"),
        "the secret is unchanged when not part of the change"
    );

    // Fields can be emptied.
    let cleared = store
        .update_user(
            acme.id,
            bob.id,
            &UserChanges {
                email: Some(String::new()),
                ..UserChanges::default()
            },
            at(11),
        )
        .await
        .expect("clear email");
    assert_eq!(cleared.profile.email, "");
    assert_eq!(reload(store, &bob).await, cleared);
}

pub async fn update_user_changes_the_secret(store: &dyn Store) {
    let (acme, _) = company_with_admin(store, "Acme", "admin", 10).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;
    let changes = UserChanges {
        secret: Some(("new-hash".to_owned(), SecurityLevel::High)),
        ..UserChanges::default()
    };
    let updated = store
        .update_user(acme.id, bob.id, &changes, at(100))
        .await
        .expect("change secret");
    let expected = User {
        security_level: SecurityLevel::High,
        secret_changed_at: at(100),
        ..bob.clone()
    };
    assert_eq!(updated, expected);
    assert_eq!(reload(store, &bob).await, expected);
    assert_eq!(
        store
            .secret_hash(bob.id)
            .await
            .expect("secret hash")
            .as_deref(),
        Some("new-hash")
    );
    let record = store
        .sign_in_record(&username("bob"))
        .await
        .expect("sign-in record")
        .expect("bob exists");
    assert_eq!(record.secret_hash, "new-hash");
    assert_eq!(record.user, expected);
}

pub async fn update_user_is_scoped_to_its_company(store: &dyn Store) {
    let (acme, _) = company_with_admin(store, "Acme", "acme-admin", 10).await;
    let (globex, _) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;
    let changes = UserChanges {
        real_name: Some("Hijacked".to_owned()),
        secret: Some(("evil".to_owned(), SecurityLevel::Low)),
        ..UserChanges::default()
    };

    let err = expect_err(
        store.update_user(globex.id, bob.id, &changes, at(1)).await,
        "updating another company's user",
    );
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let err = expect_err(
        store
            .update_user(acme.id, UserId::new(at(0)), &changes, at(1))
            .await,
        "updating an unknown user",
    );
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    assert_eq!(reload(store, &bob).await, bob);
    assert_eq!(
        store
            .secret_hash(bob.id)
            .await
            .expect("secret hash")
            .as_deref(),
        Some("hash-bob")
    );
}

pub async fn last_system_admin_cannot_be_demoted(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    // Another company's SystemAdmin does not count for this one.
    company_with_admin(store, "Globex", "globex-admin", 10).await;
    add_user(store, acme.id, "operator", Role::MeetingOperator).await;

    for role in [Role::Normal, Role::MeetingOperator] {
        let changes = UserChanges {
            real_name: Some("Renamed".to_owned()),
            role: Some(role),
            ..UserChanges::default()
        };
        let err = expect_err(
            store.update_user(acme.id, admin.id, &changes, at(1)).await,
            "demoting the last SystemAdmin",
        );
        assert!(
            matches!(err, StoreError::LastSystemAdmin),
            "{role}: {err:?}"
        );
    }
    assert_eq!(
        reload(store, &admin).await,
        admin,
        "a refused change applies none of its fields"
    );

    // Keeping the role, or changing other fields, is fine.
    let kept = store
        .update_user(
            acme.id,
            admin.id,
            &UserChanges {
                real_name: Some("Still Admin".to_owned()),
                role: Some(Role::SystemAdmin),
                ..UserChanges::default()
            },
            at(2),
        )
        .await
        .expect("an update that keeps the role");
    assert_eq!(kept.role, Role::SystemAdmin);
    assert_eq!(kept.profile.real_name, "Still Admin");
}

pub async fn another_system_admin_allows_demotion(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;

    let promoted = store
        .update_user(
            acme.id,
            bob.id,
            &UserChanges {
                role: Some(Role::SystemAdmin),
                ..UserChanges::default()
            },
            at(1),
        )
        .await
        .expect("promote bob");
    assert_eq!(promoted.role, Role::SystemAdmin);

    let demote = UserChanges {
        role: Some(Role::Normal),
        ..UserChanges::default()
    };
    let demoted = store
        .update_user(acme.id, admin.id, &demote, at(2))
        .await
        .expect("demote the first admin while bob is one");
    assert_eq!(demoted.role, Role::Normal);
    assert_eq!(reload(store, &admin).await.role, Role::Normal);

    // Now bob is the last one.
    let err = expect_err(
        store.update_user(acme.id, bob.id, &demote, at(3)).await,
        "demoting the new last SystemAdmin",
    );
    assert!(matches!(err, StoreError::LastSystemAdmin), "{err:?}");
    assert_eq!(system_admins(store, acme.id).await, 1);
}

pub async fn concurrent_demotions_leave_one_system_admin(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let mut admins = vec![admin];
    for i in 0..3 {
        admins.push(add_user(store, acme.id, &format!("admin{i}"), Role::SystemAdmin).await);
    }
    let demote = UserChanges {
        role: Some(Role::Normal),
        ..UserChanges::default()
    };
    let results = join_all(
        admins
            .iter()
            .map(|a| store.update_user(acme.id, a.id, &demote, at(1))),
    )
    .await;

    let demoted = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        demoted, 3,
        "all but one SystemAdmin can be demoted: {results:?}"
    );
    for result in &results {
        if let Err(e) = result {
            assert!(matches!(e, StoreError::LastSystemAdmin), "{e:?}");
        }
    }
    assert_eq!(system_admins(store, acme.id).await, 1);
}

// --- sign-in throttle -----------------------------------------------------------------------

pub async fn sign_in_failures_lock_as_the_policy_says(store: &dyn Store) {
    let (acme, _) = company_with_admin(store, "Acme", "admin", 10).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;

    // Default policy: 5 free attempts, then 30 s doubling per failure, capped at 15 min.
    let policy = LockoutPolicy::default();
    let expected_lock = [
        None,
        None,
        None,
        None,
        None,
        Some(30),
        Some(60),
        Some(120),
        Some(240),
        Some(480),
        Some(900),
        Some(900),
    ];
    for (i, lock) in expected_lock.into_iter().enumerate() {
        let failures = u32::try_from(i + 1).expect("small");
        // Each failure happens a little later; the lock runs from the failure's own instant.
        let now = at(1000 * i64::from(failures));
        let returned = store
            .record_sign_in_failure(bob.id, &policy, now)
            .await
            .expect("record failure");
        let expected = SignInThrottle {
            consecutive_failures: failures,
            locked_until: lock.map(|secs| at(1000 * i64::from(failures) + secs)),
        };
        assert_eq!(returned, expected, "after {failures} failures");
        assert_eq!(
            throttle(store, "bob").await,
            expected,
            "stored after {failures} failures"
        );
    }

    // The policy passed in is the one applied.
    let strict = LockoutPolicy {
        free_attempts: 1,
        ..LockoutPolicy::default()
    };
    let carol = add_user(store, acme.id, "carol", Role::Normal).await;
    let first = store
        .record_sign_in_failure(carol.id, &strict, at(0))
        .await
        .expect("record failure");
    assert_eq!(first.locked_until, None);
    let second = store
        .record_sign_in_failure(carol.id, &strict, at(0))
        .await
        .expect("record failure");
    assert_eq!(second.consecutive_failures, 2);
    assert_eq!(second.locked_until, Some(at(30)));

    // Other accounts are untouched.
    assert_eq!(throttle(store, "admin").await, SignInThrottle::default());
}

pub async fn concurrent_sign_in_failures_are_all_counted(store: &dyn Store) {
    let (acme, _) = company_with_admin(store, "Acme", "admin", 10).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;
    let policy = LockoutPolicy::default();

    let results =
        join_all((0..20).map(|_| store.record_sign_in_failure(bob.id, &policy, at(0)))).await;
    let mut counts: Vec<u32> = results
        .into_iter()
        .map(|r| r.expect("record failure").consecutive_failures)
        .collect();
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=20).collect::<Vec<u32>>(),
        "every failure sees its own count"
    );
    assert_eq!(
        throttle(store, "bob").await,
        SignInThrottle {
            consecutive_failures: 20,
            locked_until: Some(at(900)),
        }
    );
}

pub async fn sign_in_failure_of_unknown_user_is_not_found(store: &dyn Store) {
    company_with_admin(store, "Acme", "admin", 10).await;
    let err = expect_err(
        store
            .record_sign_in_failure(UserId::new(at(0)), &LockoutPolicy::default(), at(0))
            .await,
        "a failure of an unknown user",
    );
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(throttle(store, "admin").await, SignInThrottle::default());
}

pub async fn clear_sign_in_failures_resets_only_that_user(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;
    let policy = LockoutPolicy::default();
    for _ in 0..7 {
        store
            .record_sign_in_failure(bob.id, &policy, at(0))
            .await
            .expect("record failure");
        store
            .record_sign_in_failure(admin.id, &policy, at(0))
            .await
            .expect("record failure");
    }
    assert!(throttle(store, "bob").await.locked_until.is_some());

    store.clear_sign_in_failures(bob.id).await.expect("clear");
    assert_eq!(throttle(store, "bob").await, SignInThrottle::default());
    assert_eq!(throttle(store, "admin").await.consecutive_failures, 7);

    // Clearing a clean record is harmless; counting starts again from one.
    store
        .clear_sign_in_failures(bob.id)
        .await
        .expect("clear again");
    let next = store
        .record_sign_in_failure(bob.id, &policy, at(0))
        .await
        .expect("record failure");
    assert_eq!(
        next,
        SignInThrottle {
            consecutive_failures: 1,
            locked_until: None,
        }
    );
}

pub async fn changing_the_secret_clears_sign_in_failures(store: &dyn Store) {
    let (acme, _) = company_with_admin(store, "Acme", "admin", 10).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;
    let policy = LockoutPolicy::default();
    for _ in 0..6 {
        store
            .record_sign_in_failure(bob.id, &policy, at(0))
            .await
            .expect("record failure");
    }

    // A profile change leaves the throttle alone.
    store
        .update_user(
            acme.id,
            bob.id,
            &UserChanges {
                real_name: Some("Bob".to_owned()),
                ..UserChanges::default()
            },
            at(1),
        )
        .await
        .expect("update profile");
    assert_eq!(
        throttle(store, "bob").await,
        SignInThrottle {
            consecutive_failures: 6,
            locked_until: Some(at(30)),
        }
    );

    store
        .update_user(
            acme.id,
            bob.id,
            &UserChanges {
                secret: Some(("reset-hash".to_owned(), SecurityLevel::Medium)),
                ..UserChanges::default()
            },
            at(2),
        )
        .await
        .expect("change secret");
    assert_eq!(throttle(store, "bob").await, SignInThrottle::default());
}

// --- finding users --------------------------------------------------------------------------

/// Acme's users, in the order `find_users` must list them: `admin`, `Alice`, `bob`, `carol`,
/// `Dave`, `eve`, `zhang`.
async fn acme_directory(store: &dyn Store) -> Company {
    let mut company = new_company("Acme");
    company.max_users = 50;
    let admin = with_real_name(
        new_user(company.id, "admin", Role::SystemAdmin),
        "Ada Admin",
    );
    let acme = store
        .create_company(&company, &admin)
        .await
        .expect("create company");
    for (name, real_name) in [
        ("eve", "Eve"),
        ("bob", "Robert Smith"),
        ("Dave", ""),
        ("Alice", "Alice Liddell"),
        ("zhang", "张伟"),
        ("carol", "Carol SMITHERS"),
    ] {
        store
            .create_user(&with_real_name(
                new_user(acme.id, name, Role::Normal),
                real_name,
            ))
            .await
            .expect("create user");
    }
    acme
}

pub async fn find_users_pages_in_case_insensitive_username_order(store: &dyn Store) {
    let acme = acme_directory(store).await;
    let everyone = ["admin", "Alice", "bob", "carol", "Dave", "eve", "zhang"];

    let whole = store
        .find_users(acme.id, None, all())
        .await
        .expect("find users");
    assert_eq!(names(&whole), everyone);
    assert_eq!(whole.total, 7);

    let mut paged = Vec::new();
    for page_num in 1..=4 {
        let p = store
            .find_users(acme.id, None, page(page_num, 2))
            .await
            .expect("find users");
        assert_eq!(p.total, 7, "page {page_num}");
        assert!(p.items.len() <= 2);
        paged.extend(p.items.into_iter().map(|u| u.username.as_str().to_owned()));
    }
    assert_eq!(paged, everyone, "pages neither skip nor repeat users");

    let page2 = store
        .find_users(acme.id, None, page(2, 3))
        .await
        .expect("find users");
    assert_eq!(names(&page2), ["carol", "Dave", "eve"]);

    let beyond = store
        .find_users(acme.id, None, page(5, 2))
        .await
        .expect("find users");
    assert!(beyond.items.is_empty());
    assert_eq!(
        beyond.total, 7,
        "the total is known even past the last page"
    );

    // Users come back whole.
    let alice = &whole.items[1];
    assert_eq!(alice.profile.real_name, "Alice Liddell");
    assert_eq!(alice.company_id, acme.id);
    assert_eq!(reload(store, alice).await, *alice);
}

pub async fn find_users_filters_on_username_and_real_name(store: &dyn Store) {
    let acme = acme_directory(store).await;
    let find = |filter: &'static str, page_req: PageRequest| async move {
        store
            .find_users(acme.id, Some(filter), page_req)
            .await
            .expect("find users")
    };

    // Username only ("Dave" has no real name), either case.
    assert_eq!(names(&find("dave", all()).await), ["Dave"]);
    assert_eq!(names(&find("DAV", all()).await), ["Dave"]);
    // Real name only, either case.
    assert_eq!(names(&find("liddell", all()).await), ["Alice"]);
    assert_eq!(names(&find("ROBERT", all()).await), ["bob"]);
    assert_eq!(names(&find("smith", all()).await), ["bob", "carol"]);
    // Substrings anywhere, in either field.
    assert_eq!(names(&find("dm", all()).await), ["admin"]);
    assert_eq!(names(&find("伟", all()).await), ["zhang"]);
    assert_eq!(
        find("nobody", all()).await,
        Page {
            items: vec![],
            total: 0
        }
    );

    // A filtered page counts only the matches.
    let e_users = ["Alice", "bob", "carol", "Dave", "eve"];
    assert_eq!(names(&find("E", all()).await), e_users);
    let second = find("e", page(2, 2)).await;
    assert_eq!(names(&second), ["carol", "Dave"]);
    assert_eq!(second.total, 5);

    // An empty filter matches everyone.
    let empty = find("", all()).await;
    assert_eq!(empty.total, 7);
    assert_eq!(empty.items.len(), 7);
}

pub async fn find_users_filter_is_case_insensitive_beyond_ascii(store: &dyn Store) {
    let company = new_company("Lettres");
    let admin = with_real_name(
        new_user(company.id, "emile", Role::SystemAdmin),
        "Émile Zola",
    );
    let company = store
        .create_company(&company, &admin)
        .await
        .expect("create company");
    for filter in ["émile", "ÉMILE", "Émile", "zola"] {
        let found = store
            .find_users(company.id, Some(filter), all())
            .await
            .expect("find users");
        assert_eq!(names(&found), ["emile"], "filter {filter:?}");
    }
    // A rename keeps the search in step.
    let changes = UserChanges {
        real_name: Some("Ödön Horváth".to_owned()),
        ..UserChanges::default()
    };
    store
        .update_user(company.id, admin.id, &changes, at(1))
        .await
        .expect("update");
    let found = store
        .find_users(company.id, Some("öDÖN"), all())
        .await
        .expect("find users");
    assert_eq!(names(&found), ["emile"]);
}

pub async fn find_users_filter_treats_wildcards_literally(store: &dyn Store) {
    let (lab, _) = company_with_admin(store, "Lab", "wadmin", 50).await;
    for (name, real_name) in [
        ("a_b", "plain"),
        ("axb", "50% off"),
        ("ayb", "5050"),
        ("back", "C:\\dir"),
        ("cbd", "[abc] range"),
    ] {
        store
            .create_user(&with_real_name(
                new_user(lab.id, name, Role::Normal),
                real_name,
            ))
            .await
            .expect("create user");
    }
    let find = |filter: &'static str| async move {
        store
            .find_users(lab.id, Some(filter), all())
            .await
            .expect("find users")
    };

    assert_eq!(
        names(&find("_").await),
        ["a_b"],
        "_ is not a one-character wildcard"
    );
    assert_eq!(names(&find("a_b").await), ["a_b"]);
    assert_eq!(names(&find("%").await), ["axb"], "% is not a wildcard");
    assert_eq!(names(&find("0%").await), ["axb"]);
    assert_eq!(names(&find("%%").await).len(), 0);
    assert_eq!(
        names(&find("\\").await),
        ["back"],
        "backslash is an ordinary character"
    );
    assert_eq!(names(&find("\\d").await), ["back"]);
    assert_eq!(
        names(&find("[abc]").await),
        ["cbd"],
        "brackets are ordinary characters"
    );
    assert_eq!(names(&find("*").await).len(), 0);
}

pub async fn find_users_never_shows_other_companies(store: &dyn Store) {
    let acme = acme_directory(store).await;
    let (globex, _) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    for (name, real_name) in [("alice2", "Alice Other"), ("bobby", "Robert Smith")] {
        store
            .create_user(&with_real_name(
                new_user(globex.id, name, Role::Normal),
                real_name,
            ))
            .await
            .expect("create user");
    }

    let acme_all = store
        .find_users(acme.id, None, all())
        .await
        .expect("find users");
    assert_eq!(acme_all.total, 7);
    assert!(acme_all.items.iter().all(|u| u.company_id == acme.id));

    let smiths = store
        .find_users(acme.id, Some("smith"), all())
        .await
        .expect("find users");
    assert_eq!(names(&smiths), ["bob", "carol"]);
    assert_eq!(smiths.total, 2);

    let globex_alices = store
        .find_users(globex.id, Some("alice"), all())
        .await
        .expect("find users");
    assert_eq!(names(&globex_alices), ["alice2"]);
    assert_eq!(globex_alices.total, 1);

    let globex_all = store
        .find_users(globex.id, None, all())
        .await
        .expect("find users");
    assert_eq!(names(&globex_all), ["alice2", "bobby", "globex-admin"]);

    let nowhere = store
        .find_users(CompanyId::new(at(0)), None, all())
        .await
        .expect("find users");
    assert_eq!(
        nowhere,
        Page {
            items: vec![],
            total: 0
        }
    );
}

pub async fn count_users_counts_per_company(store: &dyn Store) {
    assert_eq!(
        store
            .count_users(CompanyId::new(at(0)))
            .await
            .expect("count"),
        0
    );
    let (acme, _) = company_with_admin(store, "Acme", "acme-admin", 10).await;
    let (globex, _) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    assert_eq!(store.count_users(acme.id).await.expect("count"), 1);
    for name in ["a1", "a2", "a3"] {
        add_user(store, acme.id, name, Role::Normal).await;
    }
    add_user(store, globex.id, "g1", Role::Normal).await;
    assert_eq!(store.count_users(acme.id).await.expect("count"), 4);
    assert_eq!(store.count_users(globex.id).await.expect("count"), 2);
    assert_eq!(
        store
            .count_users(CompanyId::new(at(0)))
            .await
            .expect("count"),
        0
    );
}

// --- access tokens --------------------------------------------------------------------------

pub async fn tokens_round_trip_with_their_user(store: &dyn Store) {
    let (acme, _) = company_with_admin(store, "Acme", "admin", 10).await;
    let bob = add_user(store, acme.id, "bob", Role::MeetingOperator).await;
    let with_client = token_for(&bob, "token-1", Some("frtc-desktop"), at(3600));
    let without_client = token_for(&bob, "token-2", None, at(7200));
    insert_token(store, &with_client).await;
    insert_token(store, &without_client).await;

    for record in [&with_client, &without_client] {
        let found = store
            .token(&record.hash)
            .await
            .expect("read token")
            .expect("the token exists");
        assert_eq!(found.token, *record);
        assert_eq!(found.user, bob);
    }
    assert!(!has_token(store, "token-3").await);
}

pub async fn token_carries_the_current_user(store: &dyn Store) {
    let (acme, _) = company_with_admin(store, "Acme", "admin", 10).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;
    insert_token(store, &token_for(&bob, "bob-token", None, at(3600))).await;
    let updated = store
        .update_user(
            acme.id,
            bob.id,
            &UserChanges {
                role: Some(Role::MeetingOperator),
                real_name: Some("Bob".to_owned()),
                ..UserChanges::default()
            },
            at(1),
        )
        .await
        .expect("update user");
    let found = store
        .token(&TokenHash::of("bob-token"))
        .await
        .expect("read token")
        .expect("the token exists");
    assert_eq!(found.user, updated);
    assert_eq!(found.user.role, Role::MeetingOperator);
}

pub async fn delete_token_deletes_only_that_token(store: &dyn Store) {
    let (acme, _) = company_with_admin(store, "Acme", "admin", 10).await;
    let (globex, _) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;
    let carl = add_user(store, globex.id, "carl", Role::Normal).await;
    insert_token(store, &token_for(&bob, "bob-1", None, at(3600))).await;
    insert_token(store, &token_for(&bob, "bob-2", None, at(3600))).await;
    insert_token(store, &token_for(&carl, "carl-1", None, at(3600))).await;

    assert!(
        store
            .delete_token(&TokenHash::of("bob-1"))
            .await
            .expect("delete")
    );
    assert!(!has_token(store, "bob-1").await);
    assert!(has_token(store, "bob-2").await);
    assert!(has_token(store, "carl-1").await);

    assert!(
        !store
            .delete_token(&TokenHash::of("bob-1"))
            .await
            .expect("delete again"),
        "a deleted token is not deleted twice"
    );
    assert!(
        !store
            .delete_token(&TokenHash::of("never-issued"))
            .await
            .expect("delete unknown")
    );
    assert!(has_token(store, "bob-2").await);
    assert!(has_token(store, "carl-1").await);
}

pub async fn delete_user_tokens_deletes_all_of_that_user(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;
    for token in ["bob-1", "bob-2", "bob-3"] {
        insert_token(store, &token_for(&bob, token, None, at(3600))).await;
    }
    insert_token(store, &token_for(&admin, "admin-1", None, at(3600))).await;

    assert_eq!(
        store
            .delete_user_tokens(bob.id, None)
            .await
            .expect("delete"),
        3
    );
    for token in ["bob-1", "bob-2", "bob-3"] {
        assert!(!has_token(store, token).await, "{token}");
    }
    assert!(
        has_token(store, "admin-1").await,
        "another user's token is kept"
    );
    assert_eq!(
        store
            .delete_user_tokens(bob.id, None)
            .await
            .expect("delete again"),
        0
    );
    assert_eq!(
        store
            .delete_user_tokens(UserId::new(at(0)), None)
            .await
            .expect("delete for unknown user"),
        0
    );
}

pub async fn delete_user_tokens_keeps_the_given_token(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;
    for token in ["bob-1", "bob-2", "bob-3"] {
        insert_token(store, &token_for(&bob, token, None, at(3600))).await;
    }
    insert_token(store, &token_for(&admin, "admin-1", None, at(3600))).await;

    let keep = TokenHash::of("bob-2");
    assert_eq!(
        store
            .delete_user_tokens(bob.id, Some(&keep))
            .await
            .expect("delete"),
        2
    );
    assert!(!has_token(store, "bob-1").await);
    assert!(has_token(store, "bob-2").await);
    assert!(!has_token(store, "bob-3").await);
    assert!(has_token(store, "admin-1").await);

    // Keeping a token that is not the user's keeps nothing of theirs and touches nobody else.
    insert_token(store, &token_for(&bob, "bob-4", None, at(3600))).await;
    let foreign = TokenHash::of("admin-1");
    assert_eq!(
        store
            .delete_user_tokens(bob.id, Some(&foreign))
            .await
            .expect("delete"),
        2
    );
    assert!(!has_token(store, "bob-2").await);
    assert!(!has_token(store, "bob-4").await);
    assert!(has_token(store, "admin-1").await);
}

pub async fn delete_expired_tokens_deletes_only_expired_ones(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;
    insert_token(store, &token_for(&bob, "expires-10", None, at(10))).await;
    insert_token(store, &token_for(&admin, "expires-20", None, at(20))).await;
    insert_token(store, &token_for(&bob, "expires-30", Some("web"), at(30))).await;

    // The store returns expired tokens as they are; the caller decides.
    let expired = store
        .token(&TokenHash::of("expires-10"))
        .await
        .expect("read token")
        .expect("an expired token is still found before the sweep");
    assert!(expired.token.is_expired(at(25)));

    // A token expiring exactly now is expired (as `AccessTokenRecord::is_expired` says).
    assert_eq!(store.delete_expired_tokens(at(20)).await.expect("sweep"), 2);
    assert!(!has_token(store, "expires-10").await);
    assert!(!has_token(store, "expires-20").await);
    assert!(has_token(store, "expires-30").await);
    assert_eq!(
        store
            .delete_expired_tokens(at(20))
            .await
            .expect("sweep again"),
        0
    );
    assert_eq!(
        store
            .delete_expired_tokens(at(29))
            .await
            .expect("sweep early"),
        0
    );
    assert!(has_token(store, "expires-30").await);
}

// --- scheduling helpers ---------------------------------------------------------------------

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// How `user` appears on meetings and rooms.
pub fn user_ref(user: &User) -> UserRef {
    UserRef {
        id: user.id,
        username: user.username.as_str().to_owned(),
        real_name: user.profile.real_name.clone(),
    }
}

pub(crate) fn meeting_number(raw: &str) -> MeetingNumber {
    MeetingNumber::parse(raw).expect("test meeting numbers are valid")
}

fn meeting_password(raw: &str) -> MeetingPassword {
    MeetingPassword::parse_optional(Some(raw))
        .expect("test passwords are valid")
        .expect("test passwords are not empty")
}

/// A reservation of `owner` holding `number`, from `at(start)` for an hour, with default
/// settings named `name` and no invitees.
pub fn new_schedule(owner: &User, name: &str, number: &str, start: i64) -> Schedule {
    let id = ScheduleId::new(at(start));
    Schedule {
        id,
        company_id: owner.company_id,
        kind: MeetingKind::Reservation,
        series_id: None,
        original_start: None,
        overridden: false,
        recurrence: None,
        meeting_number: meeting_number(number),
        room_id: None,
        owner: user_ref(owner),
        slot: TimeSlot {
            start: at(start),
            end: at(start + HOUR),
        },
        settings: MeetingSettings::defaults(name.to_owned()),
        invitees: Vec::new(),
        join_code: format!("join-{id}"),
        created_at: at(0),
        updated_at: at(0),
        revision: 0,
    }
}

/// A reservation in `room`, which uses the room's number.
fn schedule_in_room(owner: &User, name: &str, room: &Room, start: i64) -> Schedule {
    let mut schedule = new_schedule(owner, name, room.meeting_number.as_str(), start);
    schedule.room_id = Some(room.id);
    schedule
}

/// A room of `owner` (also its creator) holding `number`, without password, created at
/// `at(0)`.
pub fn new_room(owner: &User, name: &str, number: &str) -> Room {
    Room {
        id: RoomId::new(at(0)),
        company_id: owner.company_id,
        name: name.to_owned(),
        meeting_number: meeting_number(number),
        password: None,
        owner: user_ref(owner),
        creator: user_ref(owner),
        created_at: at(0),
        revision: 0,
    }
}

/// A UTC series of `owner` holding `number`, repeating `frequency` (interval 1) from
/// `at(first_start)`, an hour each, while starts are not after `at(until)`; default settings
/// named `name` and no invitees.
pub fn new_series(
    owner: &User,
    name: &str,
    number: &str,
    frequency: Frequency,
    first_start: i64,
    until: i64,
) -> Series {
    let rule = RecurrenceRule::new(
        frequency,
        1,
        at(first_start).as_millisecond(),
        at(first_start + HOUR).as_millisecond(),
        None,
        at(until).as_millisecond(),
        TimeZoneName::utc(),
    )
    .expect("test rules are valid");
    let id = SeriesId::new(at(first_start));
    Series {
        id,
        company_id: owner.company_id,
        meeting_number: meeting_number(number),
        room_id: None,
        owner: user_ref(owner),
        rule,
        settings: MeetingSettings::defaults(name.to_owned()),
        invitees: Vec::new(),
        join_code: format!("join-{id}"),
        created_at: at(0),
        updated_at: at(0),
        revision: 0,
    }
}

/// The occurrences of `series` as the service builds them: one per start of its rule, with
/// the series' number, room, owner, settings, invitees and join code. `recurrence` is left
/// empty: the store reports the series' frequency on read.
pub fn occurrences_of(series: &Series) -> Vec<Schedule> {
    series
        .rule
        .occurrences(MAX_OCCURRENCES)
        .expect("test series are short")
        .into_iter()
        .map(|o| Schedule {
            id: ScheduleId::new(o.start),
            company_id: series.company_id,
            kind: MeetingKind::Recurrence,
            series_id: Some(series.id),
            original_start: Some(o.start),
            overridden: false,
            recurrence: None,
            meeting_number: series.meeting_number.clone(),
            room_id: series.room_id,
            owner: series.owner.clone(),
            slot: TimeSlot {
                start: o.start,
                end: o.end,
            },
            settings: series.settings.clone(),
            invitees: series.invitees.clone(),
            join_code: series.join_code.clone(),
            created_at: at(0),
            updated_at: at(0),
            revision: 0,
        })
        .collect()
}

/// What is stored after an update was accepted: what was sent, one revision on.
trait Revised {
    fn revision_mut(&mut self) -> &mut u64;
}

impl Revised for Schedule {
    fn revision_mut(&mut self) -> &mut u64 {
        &mut self.revision
    }
}

impl Revised for Room {
    fn revision_mut(&mut self) -> &mut u64 {
        &mut self.revision
    }
}

impl Revised for Series {
    fn revision_mut(&mut self) -> &mut u64 {
        &mut self.revision
    }
}

/// Occurrences without their revisions: a series change moves them on by an amount of the
/// backend's choosing (see [`a_series_change_moves_its_occurrences_revisions_on`]).
fn unrevised(mut occurrences: Vec<Schedule>) -> Vec<Schedule> {
    for o in &mut occurrences {
        o.revision = 0;
    }
    occurrences
}

/// Asserts that an accepted update answered `sent` one revision on; returns that.
#[track_caller]
fn updated<T: Revised + PartialEq + std::fmt::Debug>(got: T, mut sent: T) -> T {
    *sent.revision_mut() += 1;
    assert_eq!(got, sent);
    sent
}

/// Occurrences as the store reports them: with their series' frequency and invitees sorted
/// by username.
fn as_stored(occurrences: &[Schedule], frequency: Frequency) -> Vec<Schedule> {
    occurrences
        .iter()
        .cloned()
        .map(|mut o| {
            o.recurrence = Some(frequency);
            o.invitees = sorted(o.invitees);
            o
        })
        .collect()
}

/// Invitees in the order a store reports them: by username, case-insensitively (as
/// `find_users` orders users).
fn sorted(mut invitees: Vec<UserRef>) -> Vec<UserRef> {
    invitees.sort_by_key(|u| u.username.to_ascii_lowercase());
    invitees
}

async fn create_schedule(store: &dyn Store, schedule: &Schedule) -> Schedule {
    store
        .create_schedule(schedule)
        .await
        .expect("create schedule")
}

async fn create_room(store: &dyn Store, room: &Room) -> Room {
    store.create_room(room).await.expect("create room")
}

/// Creates `series` with its occurrences; returns the occurrences as the store reports them.
async fn create_series(store: &dyn Store, series: &Series) -> Vec<Schedule> {
    let occurrences = occurrences_of(series);
    store
        .create_series(series, &occurrences)
        .await
        .expect("create series");
    as_stored(&occurrences, series.rule.frequency())
}

async fn find(
    store: &dyn Store,
    company: CompanyId,
    scope: MeetingScope,
    filter: Option<&str>,
    page_req: PageRequest,
) -> Page<ScheduleSummary> {
    store
        .find_schedules(company, scope, filter, page_req)
        .await
        .expect("find schedules")
}

/// What a list shows of these meetings.
fn summaries(schedules: &[Schedule]) -> Vec<ScheduleSummary> {
    schedules.iter().map(ScheduleSummary::from).collect()
}

async fn occurrences(
    store: &dyn Store,
    company: CompanyId,
    series: SeriesId,
    page_req: PageRequest,
) -> Page<Schedule> {
    store
        .series_occurrences(company, series, None, page_req)
        .await
        .expect("series occurrences")
}

async fn read_schedule(store: &dyn Store, company: CompanyId, id: ScheduleId) -> Option<Schedule> {
    store.schedule(company, id).await.expect("read schedule")
}

/// A meeting as found in a list: a whole one (a series' occurrences) or a summary.
trait Listed {
    fn id(&self) -> ScheduleId;
    fn title(&self) -> &str;
}

impl Listed for Schedule {
    fn id(&self) -> ScheduleId {
        self.id
    }
    fn title(&self) -> &str {
        &self.settings.name
    }
}

impl Listed for ScheduleSummary {
    fn id(&self) -> ScheduleId {
        self.id
    }
    fn title(&self) -> &str {
        &self.name
    }
}

fn titles<T: Listed>(page: &Page<T>) -> Vec<&str> {
    page.items.iter().map(Listed::title).collect()
}

fn schedule_ids<T: Listed>(schedules: &[T]) -> Vec<ScheduleId> {
    schedules.iter().map(Listed::id).collect()
}

/// Whether something holds `number`: tries to create a room of `owner` with it (and deletes
/// the room again if that worked).
async fn number_is_taken(store: &dyn Store, owner: &User, number: &str) -> bool {
    let probe = new_room(owner, "Probe", number);
    match store.create_room(&probe).await {
        Ok(_) => {
            store
                .delete_room(probe.company_id, probe.id)
                .await
                .expect("delete probe room");
            false
        }
        Err(StoreError::MeetingNumberTaken) => true,
        Err(e) => panic!("probing number {number}: {e:?}"),
    }
}

fn assert_number_taken(err: StoreError, what: &str) {
    assert!(
        matches!(err, StoreError::MeetingNumberTaken),
        "{what}: {err:?}"
    );
}

fn assert_not_found(err: StoreError, what: &str) {
    assert!(matches!(err, StoreError::NotFound), "{what}: {err:?}");
}

fn assert_room_in_use(err: StoreError, what: &str) {
    assert!(matches!(err, StoreError::RoomInUse), "{what}: {err:?}");
}

// --- people as meetings show them -------------------------------------------------------------

pub async fn user_refs_returns_only_users_of_the_company(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let (globex, globex_admin) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    let bob = store
        .create_user(&with_real_name(
            new_user(acme.id, "bob", Role::Normal),
            "Bob Builder",
        ))
        .await
        .expect("create user");

    let mut found = store
        .user_refs(
            acme.id,
            &[bob.id, globex_admin.id, admin.id, UserId::new(at(0))],
        )
        .await
        .expect("user refs");
    found.sort_by_key(|u| u.id);
    let mut expected = vec![user_ref(&admin), user_ref(&bob)];
    expected.sort_by_key(|u| u.id);
    assert_eq!(found, expected);
    assert!(found.iter().any(|u| u.real_name == "Bob Builder"));

    assert_eq!(
        store
            .user_refs(globex.id, &[bob.id, admin.id, globex_admin.id])
            .await
            .expect("user refs"),
        vec![user_ref(&globex_admin)]
    );
    assert!(
        store
            .user_refs(globex.id, &[bob.id])
            .await
            .expect("user refs")
            .is_empty()
    );
    assert!(
        store
            .user_refs(acme.id, &[])
            .await
            .expect("user refs")
            .is_empty()
    );

    // However many ids are asked about.
    let mut many: Vec<UserId> = (0..2_000).map(|i| UserId::new(at(i))).collect();
    many.insert(1_234, bob.id);
    assert_eq!(
        store.user_refs(acme.id, &many).await.expect("user refs"),
        vec![user_ref(&bob)]
    );
}

// --- rooms ------------------------------------------------------------------------------------

pub async fn room_round_trips_and_is_scoped_to_its_company(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let (globex, _) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    let bob = store
        .create_user(&with_real_name(
            new_user(acme.id, "bob", Role::MeetingOperator),
            "Bob Builder",
        ))
        .await
        .expect("create user");
    let mut room = new_room(&bob, "Board Room", "7000001");
    room.password = Some(meeting_password("123456"));
    room.creator = user_ref(&admin);
    room.created_at = at(5);

    assert_eq!(create_room(store, &room).await, room);
    assert_eq!(
        store.room(acme.id, room.id).await.expect("room"),
        Some(room.clone())
    );
    assert_eq!(store.room(globex.id, room.id).await.expect("room"), None);
    assert_eq!(
        store.room(acme.id, RoomId::new(at(0))).await.expect("room"),
        None
    );

    // Another company can neither change nor delete it.
    let mut foreign = room.clone();
    foreign.company_id = globex.id;
    foreign.name = "Hijacked".to_owned();
    assert_not_found(
        expect_err(
            store.update_room(&foreign).await,
            "update from another company",
        ),
        "update from another company",
    );
    assert_not_found(
        expect_err(
            store.delete_room(globex.id, room.id).await,
            "delete from another company",
        ),
        "delete from another company",
    );
    assert_not_found(
        expect_err(
            store.delete_room(acme.id, RoomId::new(at(0))).await,
            "delete unknown room",
        ),
        "delete unknown room",
    );
    assert_eq!(
        store.room(acme.id, room.id).await.expect("room"),
        Some(room.clone())
    );
    assert_eq!(
        store.rooms(globex.id, None, all()).await.expect("rooms"),
        Page {
            items: vec![],
            total: 0
        }
    );
}

pub async fn rooms_are_listed_oldest_first(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let (globex, globex_admin) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    for (name, number, created_at) in [
        ("Gamma", "7000003", 30),
        ("Alpha", "7000001", 10),
        ("Beta", "7000002", 20),
    ] {
        let mut room = new_room(&admin, name, number);
        room.created_at = at(created_at);
        create_room(store, &room).await;
    }
    create_room(store, &new_room(&globex_admin, "Elsewhere", "7000004")).await;
    let room_names =
        |page: &Page<Room>| -> Vec<String> { page.items.iter().map(|r| r.name.clone()).collect() };

    let whole = store.rooms(acme.id, None, all()).await.expect("rooms");
    assert_eq!(room_names(&whole), ["Alpha", "Beta", "Gamma"]);
    assert_eq!(whole.total, 3);
    assert_eq!(whole.items[0].created_at, at(10));

    let second = store.rooms(acme.id, None, page(2, 2)).await.expect("rooms");
    assert_eq!(room_names(&second), ["Gamma"]);
    assert_eq!(second.total, 3);

    let beyond = store.rooms(acme.id, None, page(3, 2)).await.expect("rooms");
    assert!(beyond.items.is_empty());
    assert_eq!(
        beyond.total, 3,
        "the total is known even past the last page"
    );

    let other = store.rooms(globex.id, None, all()).await.expect("rooms");
    assert_eq!(room_names(&other), ["Elsewhere"]);
    assert_eq!(other.total, 1);

    // Filtered: by name in any case, or by number; literally, and only in the company.
    for (filter, names) in [
        ("ALPH", vec!["Alpha"]),
        ("7000002", vec!["Beta"]),
        ("a", vec!["Alpha", "Beta", "Gamma"]),
        ("%", vec![]),
        ("Elsewhere", vec![]),
    ] {
        let found = store
            .rooms(acme.id, Some(filter), all())
            .await
            .expect("rooms");
        assert_eq!(room_names(&found), names, "{filter}");
        assert_eq!(found.total, names.len() as u64, "{filter}");
    }
}

/// A room filter folds case as the store's search key does (Unicode, not only ASCII), the
/// same on every backend, and follows a rename.
pub async fn room_filters_fold_every_letters_case(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let surgery = create_room(store, &new_room(&admin, "ÄRZTEKAMMER", "7000001")).await;
    create_room(store, &new_room(&admin, "Öffentlich", "7000002")).await;
    let names =
        |page: Page<Room>| -> Vec<String> { page.items.into_iter().map(|r| r.name).collect() };
    let found = |filter: &'static str| async move {
        names(
            store
                .rooms(acme.id, Some(filter), all())
                .await
                .expect("rooms"),
        )
    };
    assert_eq!(found("ärzte").await, ["ÄRZTEKAMMER"]);
    assert_eq!(found("ÖFF").await, ["Öffentlich"]);
    let mut renamed = surgery.clone();
    renamed.name = "Büro".to_owned();
    store.update_room(&renamed).await.expect("rename");
    assert!(found("ärzte").await.is_empty());
    assert_eq!(found("BÜ").await, ["Büro"]);
}

pub async fn update_room_replaces_its_fields_and_re_reserves_its_number(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let bob = add_user(store, acme.id, "bob", Role::MeetingOperator).await;
    let room = create_room(store, &new_room(&admin, "Board Room", "7000001")).await;

    let mut changed = room.clone();
    changed.name = "Boardroom".to_owned();
    changed.meeting_number = meeting_number("7000002");
    changed.password = Some(meeting_password("4321"));
    changed.owner = user_ref(&bob);
    let changed = updated(
        store.update_room(&changed).await.expect("update room"),
        changed,
    );
    assert_eq!(
        store.room(acme.id, room.id).await.expect("room"),
        Some(changed.clone())
    );
    assert!(
        !number_is_taken(store, &admin, "7000001").await,
        "the old number is free"
    );
    assert!(number_is_taken(store, &admin, "7000002").await);

    // Only name, number, password and owner change.
    let mut recreated = changed.clone();
    recreated.creator = user_ref(&bob);
    recreated.created_at = at(99);
    let changed = updated(
        store.update_room(&recreated).await.expect("update room"),
        changed,
    );

    // A taken number is refused and the room keeps its own.
    create_schedule(store, &new_schedule(&admin, "Elsewhere", "7000001", 0)).await;
    let mut clash = changed.clone();
    clash.name = "Clash".to_owned();
    clash.meeting_number = meeting_number("7000001");
    assert_number_taken(
        expect_err(store.update_room(&clash).await, "a taken number"),
        "update room to a taken number",
    );
    assert_eq!(
        store.room(acme.id, room.id).await.expect("room"),
        Some(changed)
    );
    assert!(number_is_taken(store, &admin, "7000002").await);
}

pub async fn a_room_in_use_keeps_its_number_and_cannot_be_deleted(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let room = create_room(store, &new_room(&admin, "Board Room", "7000001")).await;
    let meeting = create_schedule(store, &schedule_in_room(&admin, "Weekly", &room, 0)).await;

    // Renaming is fine; renumbering is not.
    let mut renamed = room.clone();
    renamed.name = "Boardroom".to_owned();
    let renamed = updated(
        store.update_room(&renamed).await.expect("rename room"),
        renamed,
    );
    let mut renumbered = renamed.clone();
    renumbered.meeting_number = meeting_number("7000002");
    assert_room_in_use(
        expect_err(store.update_room(&renumbered).await, "renumber a used room"),
        "renumber a used room",
    );
    assert_eq!(
        store.room(acme.id, room.id).await.expect("room"),
        Some(renamed.clone())
    );
    assert!(!number_is_taken(store, &admin, "7000002").await);
    assert_room_in_use(
        expect_err(
            store.delete_room(acme.id, room.id).await,
            "delete a used room",
        ),
        "delete a used room",
    );
    assert_eq!(
        store.room(acme.id, room.id).await.expect("room"),
        Some(renamed)
    );
    assert!(number_is_taken(store, &admin, "7000001").await);

    // Once the meeting is gone the room can go, and its number with it.
    store
        .delete_schedule(acme.id, meeting.id)
        .await
        .expect("delete schedule");
    store
        .delete_room(acme.id, room.id)
        .await
        .expect("delete unused room");
    assert_eq!(store.room(acme.id, room.id).await.expect("room"), None);
    assert!(!number_is_taken(store, &admin, "7000001").await);

    // A series in a room uses it too.
    let room = create_room(store, &new_room(&admin, "Huddle", "7000003")).await;
    let mut series = new_series(&admin, "Daily", "7000003", Frequency::Daily, 0, 2 * DAY);
    series.room_id = Some(room.id);
    create_series(store, &series).await;
    let mut renumbered = room.clone();
    renumbered.meeting_number = meeting_number("7000004");
    assert_room_in_use(
        expect_err(store.update_room(&renumbered).await, "renumber a used room"),
        "renumber a room with a series",
    );
    assert_room_in_use(
        expect_err(
            store.delete_room(acme.id, room.id).await,
            "delete a used room",
        ),
        "delete a room with a series",
    );
    store
        .delete_series(acme.id, series.id)
        .await
        .expect("delete series");
    updated(
        store.update_room(&renumbered).await.expect("renumber room"),
        renumbered,
    );
    store
        .delete_room(acme.id, room.id)
        .await
        .expect("delete unused room");
    assert!(!number_is_taken(store, &admin, "7000004").await);
}

// --- meeting numbers --------------------------------------------------------------------------

pub async fn meeting_numbers_are_unique_across_rooms_schedules_and_series(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let (globex, globex_admin) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    create_room(store, &new_room(&admin, "Room", "100000001")).await;
    create_schedule(store, &new_schedule(&admin, "Single", "100000002", 0)).await;
    let series = new_series(
        &admin,
        "Weekly",
        "100000003",
        Frequency::Weekly,
        DAY,
        DAY + 14 * DAY,
    );
    create_series(store, &series).await;

    for number in ["100000001", "100000002", "100000003"] {
        for owner in [&admin, &globex_admin] {
            let what = format!("number {number} in {:?}", owner.company_id);
            let room = new_room(owner, "Second room", number);
            assert_number_taken(expect_err(store.create_room(&room).await, &what), &what);
            assert_eq!(
                store.room(owner.company_id, room.id).await.expect("room"),
                None
            );

            let schedule = new_schedule(owner, "Second single", number, 5 * HOUR);
            assert_number_taken(
                expect_err(store.create_schedule(&schedule).await, &what),
                &what,
            );
            assert_eq!(
                read_schedule(store, owner.company_id, schedule.id).await,
                None
            );

            let twin = new_series(owner, "Second series", number, Frequency::Daily, 0, 3 * DAY);
            let twin_occurrences = occurrences_of(&twin);
            assert_number_taken(
                expect_err(store.create_series(&twin, &twin_occurrences).await, &what),
                &what,
            );
            assert_eq!(
                store
                    .series(owner.company_id, twin.id)
                    .await
                    .expect("series"),
                None
            );
            for o in &twin_occurrences {
                assert_eq!(read_schedule(store, owner.company_id, o.id).await, None);
            }
        }
    }

    // Nothing of the refused meetings was written.
    assert_eq!(
        store
            .rooms(acme.id, None, all())
            .await
            .expect("rooms")
            .total,
        1
    );
    assert_eq!(
        store
            .rooms(globex.id, None, all())
            .await
            .expect("rooms")
            .total,
        0
    );
    assert_eq!(
        find(store, acme.id, MeetingScope::Company, None, all())
            .await
            .total,
        1 + 3,
        "the single meeting and the series' three occurrences"
    );
    assert_eq!(
        find(store, globex.id, MeetingScope::Company, None, all())
            .await
            .total,
        0
    );
    assert_eq!(
        find(store, acme.id, MeetingScope::Company, Some("second"), all())
            .await
            .total,
        0
    );
}

pub async fn concurrent_reservations_of_one_number_yield_one_holder(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let (globex, globex_admin) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    let number = "555000555";
    let owners = [&admin, &globex_admin];
    let rooms: Vec<Room> = (0..6)
        .map(|i| new_room(owners[i % 2], "Racing room", number))
        .collect();
    let schedules: Vec<Schedule> = (0..6)
        .map(|i| new_schedule(owners[i % 2], "Racing meeting", number, 0))
        .collect();
    let series: Vec<(Series, Vec<Schedule>)> = (0..6)
        .map(|i| {
            let s = new_series(
                owners[i % 2],
                "Racing series",
                number,
                Frequency::Daily,
                0,
                DAY,
            );
            let o = occurrences_of(&s);
            (s, o)
        })
        .collect();

    let mut attempts: Vec<BoxFuture<'_, StoreResult<()>>> = Vec::new();
    for i in 0..6 {
        attempts.push(store.create_room(&rooms[i]).map_ok(drop).boxed());
        attempts.push(store.create_schedule(&schedules[i]).map_ok(drop).boxed());
        let (s, o) = &series[i];
        attempts.push(store.create_series(s, o).map_ok(drop).boxed());
    }
    let results = join_all(attempts).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for result in &results {
        if let Err(e) = result {
            assert!(matches!(e, StoreError::MeetingNumberTaken), "{e:?}");
        }
    }

    // Exactly the winner exists, whole.
    let mut holders = 0;
    let mut meetings = 0;
    for room in &rooms {
        if store
            .room(room.company_id, room.id)
            .await
            .expect("room")
            .is_some()
        {
            holders += 1;
        }
    }
    for schedule in &schedules {
        if read_schedule(store, schedule.company_id, schedule.id)
            .await
            .is_some()
        {
            holders += 1;
            meetings += 1;
        }
    }
    for (s, o) in &series {
        if store
            .series(s.company_id, s.id)
            .await
            .expect("series")
            .is_some()
        {
            holders += 1;
            meetings += o.len() as u64;
        }
    }
    assert_eq!(holders, 1);
    let mut listed = 0;
    for company in [acme.id, globex.id] {
        listed += find(store, company, MeetingScope::Company, None, all())
            .await
            .total;
    }
    assert_eq!(listed, meetings);
}

pub async fn deleting_a_meeting_or_room_frees_its_number(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let (_, globex_admin) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    let room = create_room(store, &new_room(&admin, "Room", "100000001")).await;
    let single = create_schedule(store, &new_schedule(&admin, "Single", "100000002", 0)).await;
    let series = new_series(&admin, "Daily", "100000003", Frequency::Daily, 0, 2 * DAY);
    create_series(store, &series).await;

    store
        .delete_schedule(acme.id, single.id)
        .await
        .expect("delete schedule");
    // Numbers are global: another company may now use it.
    create_room(store, &new_room(&globex_admin, "Reuse", "100000002")).await;

    store
        .delete_room(acme.id, room.id)
        .await
        .expect("delete room");
    create_schedule(store, &new_schedule(&admin, "Reuse", "100000001", 0)).await;

    store
        .delete_series(acme.id, series.id)
        .await
        .expect("delete series");
    let reuse = new_series(
        &globex_admin,
        "Reuse",
        "100000003",
        Frequency::Daily,
        0,
        DAY,
    );
    create_series(store, &reuse).await;
}

/// An update names the revision it was merged from: one made from a revision another update
/// replaced meanwhile is refused (`Conflict`) and writes nothing, so the caller merges again
/// instead of putting the other change's fields back. Each accepted update moves it on by 1.
pub async fn an_update_from_a_stale_revision_is_refused_and_writes_nothing(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;

    let meeting = create_schedule(store, &new_schedule(&admin, "Plan", "7000201", 0)).await;
    assert_eq!(meeting.revision, 0);
    let mut named = meeting.clone();
    named.settings.name = "Renamed".to_owned();
    let named = store.update_schedule(&named).await.expect("first update");
    assert_eq!(named.revision, 1);
    let mut stale = meeting.clone();
    stale.settings.description = "Described".to_owned();
    let refused = store.update_schedule(&stale).await;
    assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
    assert_eq!(
        read_schedule(store, acme.id, meeting.id).await,
        Some(named.clone())
    );
    let mut merged = named.clone();
    merged.settings.description = "Described".to_owned();
    let merged = store.update_schedule(&merged).await.expect("merged update");
    assert_eq!(
        (
            merged.settings.name.as_str(),
            merged.settings.description.as_str(),
            merged.revision
        ),
        ("Renamed", "Described", 2)
    );
    // A stale move to another number holds neither number.
    let mut renumbered = meeting.clone();
    renumbered.meeting_number = meeting_number("7000202");
    assert!(matches!(
        store.update_schedule(&renumbered).await,
        Err(StoreError::Conflict)
    ));
    assert!(!number_is_taken(store, &admin, "7000202").await);

    let room = create_room(store, &new_room(&admin, "Room", "7000203")).await;
    assert_eq!(room.revision, 0);
    let mut named = room.clone();
    named.name = "Board".to_owned();
    let named = store.update_room(&named).await.expect("room update");
    assert_eq!(named.revision, 1);
    let mut stale = room.clone();
    stale.password = Some(meeting_password("4321"));
    stale.meeting_number = meeting_number("7000204");
    let refused = store.update_room(&stale).await;
    assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
    assert_eq!(
        store.room(acme.id, room.id).await.expect("room"),
        Some(named.clone())
    );
    assert!(!number_is_taken(store, &admin, "7000204").await);
    assert!(number_is_taken(store, &admin, "7000203").await);

    let series = new_series(&admin, "Daily", "7000205", Frequency::Daily, 0, 3 * DAY);
    create_series(store, &series).await;
    let read = store
        .series(acme.id, series.id)
        .await
        .expect("series")
        .expect("there");
    assert_eq!(read.revision, 0);
    let mut named = read.clone();
    named.settings.name = "Standup".to_owned();
    let named = store
        .replace_series(&named, &occurrences_of(&named))
        .await
        .expect("series update");
    assert_eq!(named.revision, 1);
    let mut stale = read.clone();
    stale.settings.description = "Every day".to_owned();
    let refused = store.replace_series(&stale, &occurrences_of(&stale)).await;
    assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
    assert_eq!(
        store.series(acme.id, series.id).await.expect("series"),
        Some(named)
    );
    for o in occurrences(store, acme.id, series.id, all()).await.items {
        assert_eq!(o.settings.name, "Standup");
        assert_eq!(o.settings.description, "");
    }

    // Not found stays not found, whatever the revision.
    let mut gone = meeting.clone();
    gone.id = ScheduleId::new(at(1));
    assert_not_found(
        expect_err(store.update_schedule(&gone).await, "unknown meeting"),
        "update of an unknown meeting",
    );
}

/// A series change replaces its occurrences, keeping their ids: an occurrence update merged
/// from before it must be refused, not write the occurrence back as it was.
pub async fn a_series_change_moves_its_occurrences_revisions_on(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let series = new_series(&admin, "Daily", "7000301", Frequency::Daily, 0, 3 * DAY);
    create_series(store, &series).await;
    let first = occurrences(store, acme.id, series.id, all()).await.items[1].clone();
    let read = store
        .series(acme.id, series.id)
        .await
        .expect("series")
        .expect("there");
    let mut renamed = read.clone();
    renamed.settings.name = "Standup".to_owned();
    store
        .replace_series(&renamed, &occurrences_of(&renamed))
        .await
        .expect("series update");
    let carried = read_schedule(store, acme.id, first.id)
        .await
        .expect("the occurrence keeps its id");
    assert!(carried.revision > first.revision);
    let mut stale = first.clone();
    stale.settings.description = "Moved".to_owned();
    let refused = store.update_schedule(&stale).await;
    assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
    assert_eq!(
        read_schedule(store, acme.id, first.id)
            .await
            .map(|o| o.settings.name),
        Some("Standup".to_owned())
    );
}

/// The service looks a room up before scheduling into it; a delete may come in between.
pub async fn a_meeting_for_a_room_deleted_meanwhile_is_refused(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let room = create_room(store, &new_room(&admin, "Room", "7000101")).await;
    let elsewhere = create_schedule(store, &new_schedule(&admin, "Elsewhere", "7000102", 0)).await;
    store
        .delete_room(acme.id, room.id)
        .await
        .expect("delete room");

    let created = store
        .create_schedule(&schedule_in_room(&admin, "Into", &room, 0))
        .await;
    assert!(
        matches!(created, Err(StoreError::RoomNotFound)),
        "{created:?}"
    );
    let mut moved = elsewhere.clone();
    moved.room_id = Some(room.id);
    moved.meeting_number = room.meeting_number.clone();
    let updated = store.update_schedule(&moved).await;
    assert!(
        matches!(updated, Err(StoreError::RoomNotFound)),
        "{updated:?}"
    );
    // Nothing was written: the meeting keeps its own number and place.
    let kept = store
        .schedule(acme.id, elsewhere.id)
        .await
        .expect("read")
        .expect("still there");
    assert_eq!(kept, elsewhere);
}

/// The service reads a room's number before scheduling into it; a renumbering (allowed while
/// nothing is scheduled there) may come in between. The meeting gets the room's current
/// number, and the old one stays free: no two holders of one number.
pub async fn a_meeting_into_a_room_renumbered_meanwhile_gets_its_current_number(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let room = create_room(store, &new_room(&admin, "Room", "7000401")).await;
    let single = schedule_in_room(&admin, "Into", &room, 0);
    let mut series = new_series(&admin, "Daily", "7000401", Frequency::Daily, 0, 2 * DAY);
    series.room_id = Some(room.id);
    let elsewhere = create_schedule(store, &new_schedule(&admin, "Moved", "7000403", 0)).await;
    let mut moved = elsewhere.clone();
    moved.room_id = Some(room.id);
    moved.meeting_number = room.meeting_number.clone();

    let mut renumbered = room.clone();
    renumbered.meeting_number = meeting_number("7000402");
    store.update_room(&renumbered).await.expect("renumber");

    let created = create_schedule(store, &single).await;
    assert_eq!(created.meeting_number.as_str(), "7000402");
    let moved = store.update_schedule(&moved).await.expect("move into room");
    assert_eq!(moved.meeting_number.as_str(), "7000402");
    store
        .create_series(&series, &occurrences_of(&series))
        .await
        .expect("series into room");
    let stored = store
        .series(acme.id, series.id)
        .await
        .expect("series")
        .expect("there");
    assert_eq!(stored.meeting_number.as_str(), "7000402");
    for o in occurrences(store, acme.id, series.id, all()).await.items {
        assert_eq!(o.meeting_number.as_str(), "7000402");
    }
    // The old number holds nothing and can be taken; the meetings keep the room's.
    assert!(!number_is_taken(store, &admin, "7000401").await);
    assert!(!number_is_taken(store, &admin, "7000403").await);
    create_room(store, &new_room(&admin, "Old number", "7000401")).await;
    assert_eq!(
        read_schedule(store, acme.id, created.id)
            .await
            .map(|s| s.meeting_number),
        Some(meeting_number("7000402"))
    );
}

pub async fn a_schedule_in_a_room_uses_the_rooms_number(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let room = create_room(store, &new_room(&admin, "Room", "7000001")).await;
    let first = create_schedule(store, &schedule_in_room(&admin, "First", &room, 0)).await;
    let second = create_schedule(store, &schedule_in_room(&admin, "Second", &room, HOUR)).await;
    assert_eq!(second.meeting_number, room.meeting_number);
    let mut series = new_series(&admin, "Daily", "7000001", Frequency::Daily, 0, DAY);
    series.room_id = Some(room.id);
    create_series(store, &series).await;

    // Outside the room the number is the room's.
    assert_number_taken(
        expect_err(
            store
                .create_schedule(&new_schedule(&admin, "Outside", "7000001", 0))
                .await,
            "the room's number outside the room",
        ),
        "the room's number outside the room",
    );
    // Deleting a meeting in the room leaves the room's number with the room.
    store
        .delete_schedule(acme.id, first.id)
        .await
        .expect("delete schedule");
    assert!(number_is_taken(store, &admin, "7000001").await);

    // Leaving the room, a meeting reserves a number of its own...
    let mut out = second.clone();
    out.room_id = None;
    out.meeting_number = meeting_number("7000002");
    let out = updated(store.update_schedule(&out).await.expect("leave room"), out);
    assert!(number_is_taken(store, &admin, "7000002").await);
    assert!(number_is_taken(store, &admin, "7000001").await);
    // ...and entering one, it gives its own back.
    let mut back = out.clone();
    back.room_id = Some(room.id);
    back.meeting_number = room.meeting_number.clone();
    updated(
        store.update_schedule(&back).await.expect("enter room"),
        back,
    );
    assert!(!number_is_taken(store, &admin, "7000002").await);
    assert!(number_is_taken(store, &admin, "7000001").await);
}

pub async fn a_series_in_a_room_uses_the_rooms_number(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let room = create_room(store, &new_room(&admin, "Room", "7000001")).await;
    let mut series = new_series(&admin, "Daily", "7000001", Frequency::Daily, 0, DAY);
    series.room_id = Some(room.id);
    let mut twin = new_series(&admin, "Weekly", "7000001", Frequency::Weekly, 0, 7 * DAY);
    twin.room_id = Some(room.id);
    create_series(store, &series).await;
    create_series(store, &twin).await;
    let stored = occurrences(store, acme.id, series.id, all()).await;
    assert!(
        stored
            .items
            .iter()
            .all(|o| o.room_id == Some(room.id) && o.meeting_number == room.meeting_number)
    );

    // Out of the room the series holds a number of its own...
    let mut out = series.clone();
    out.room_id = None;
    out.meeting_number = meeting_number("7000002");
    store
        .replace_series(&out, &occurrences_of(&out))
        .await
        .expect("leave room");
    assert!(number_is_taken(store, &admin, "7000002").await);
    assert!(number_is_taken(store, &admin, "7000001").await);
    // ...and back in, gives it back.
    let mut back = series.clone();
    back.revision = 1;
    store
        .replace_series(&back, &occurrences_of(&back))
        .await
        .expect("enter room");
    assert!(!number_is_taken(store, &admin, "7000002").await);
    assert!(number_is_taken(store, &admin, "7000001").await);

    // Deleting a series in the room leaves the room its number.
    store
        .delete_series(acme.id, series.id)
        .await
        .expect("delete series");
    assert!(number_is_taken(store, &admin, "7000001").await);
    assert_eq!(
        store.room(acme.id, room.id).await.expect("room"),
        Some(room)
    );
}

pub async fn a_meeting_link_opens_its_meeting_number(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let meeting = create_schedule(store, &new_schedule(&admin, "Review", "123456789", 0)).await;
    let series = new_series(&admin, "Daily", "234567890", Frequency::Daily, 0, DAY);
    create_series(store, &series).await;
    let room = create_room(store, &new_room(&admin, "Room", "7000001")).await;
    let in_room = create_schedule(store, &schedule_in_room(&admin, "In room", &room, 0)).await;
    let link = |code: String| async move {
        store
            .meeting_number_of_link(&code)
            .await
            .expect("meeting number of a link")
    };

    // A join code: a single meeting's, a series' (its occurrences carry it), one in a room.
    assert_eq!(
        link(meeting.join_code.clone()).await,
        Some(meeting.meeting_number.clone())
    );
    assert_eq!(
        link(series.join_code.clone()).await,
        Some(series.meeting_number.clone())
    );
    assert_eq!(
        link(in_room.join_code.clone()).await,
        Some(room.meeting_number.clone())
    );
    // A number something holds: a room's, a meeting's.
    assert_eq!(
        link("7000001".to_owned()).await,
        Some(room.meeting_number.clone())
    );
    assert_eq!(
        link("123456789".to_owned()).await,
        Some(meeting.meeting_number.clone())
    );
    // Nothing else.
    assert_eq!(link("555555555".to_owned()).await, None);
    assert_eq!(link("no-such-code".to_owned()).await, None);
    assert_eq!(link(String::new()).await, None);

    // A deleted meeting's link opens nothing any more.
    store
        .delete_schedule(acme.id, meeting.id)
        .await
        .expect("delete schedule");
    assert_eq!(link(meeting.join_code.clone()).await, None);
    assert_eq!(link("123456789".to_owned()).await, None);
}

pub async fn create_schedules_is_all_or_nothing(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    create_schedule(store, &new_schedule(&admin, "Existing", "100000009", 0)).await;

    // One number taken by an existing meeting: none of the batch is created.
    let batch = [
        new_schedule(&admin, "One", "100000001", HOUR),
        new_schedule(&admin, "Two", "100000002", 2 * HOUR),
        new_schedule(&admin, "Three", "100000009", 3 * HOUR),
    ];
    assert_number_taken(
        expect_err(store.create_schedules(&batch).await, "a taken number"),
        "a batch with a taken number",
    );
    for s in &batch {
        assert_eq!(read_schedule(store, acme.id, s.id).await, None);
    }
    // One number twice within the batch: the same.
    let twins = [
        new_schedule(&admin, "Twin A", "100000003", HOUR),
        new_schedule(&admin, "Twin B", "100000003", 2 * HOUR),
    ];
    assert_number_taken(
        expect_err(store.create_schedules(&twins).await, "a number twice"),
        "a batch with a number twice",
    );
    for s in &twins {
        assert_eq!(read_schedule(store, acme.id, s.id).await, None);
    }
    assert_eq!(
        find(store, acme.id, MeetingScope::Company, None, all())
            .await
            .total,
        1
    );
    for number in ["100000001", "100000002", "100000003"] {
        assert!(
            !number_is_taken(store, &admin, number).await,
            "{number} was never taken"
        );
    }

    // A valid batch is created whole, meetings in rooms included.
    let room = create_room(store, &new_room(&admin, "Room", "100000005")).await;
    let batch = [
        new_schedule(&admin, "One", "100000001", HOUR),
        new_schedule(&admin, "Two", "100000002", 2 * HOUR),
        schedule_in_room(&admin, "Roomy", &room, 3 * HOUR),
        schedule_in_room(&admin, "Roomier", &room, 4 * HOUR),
    ];
    store
        .create_schedules(&batch)
        .await
        .expect("create schedules");
    for s in &batch {
        assert_eq!(read_schedule(store, acme.id, s.id).await, Some(s.clone()));
    }
    assert!(number_is_taken(store, &admin, "100000001").await);
    assert!(number_is_taken(store, &admin, "100000002").await);
    assert_eq!(
        find(store, acme.id, MeetingScope::Company, None, all())
            .await
            .total,
        5
    );
    store.create_schedules(&[]).await.expect("an empty batch");
}

// --- scheduled meetings -----------------------------------------------------------------------

pub async fn schedule_round_trips_every_field(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let mut users = Vec::new();
    for (name, real_name) in [
        ("bob", "Bob Builder"),
        ("carol", "Carol Smith"),
        ("alice", ""),
        ("Dave", "Dave"),
    ] {
        users.push(
            store
                .create_user(&with_real_name(
                    new_user(acme.id, name, Role::Normal),
                    real_name,
                ))
                .await
                .expect("create user"),
        );
    }
    let [bob, carol, alice, dave] = [&users[0], &users[1], &users[2], &users[3]];

    let mut meeting = new_schedule(bob, "Quarterly review", "123456789", 3 * HOUR);
    meeting.slot.end = at(3 * HOUR + 90 * 60);
    meeting.settings = MeetingSettings {
        name: "Quarterly review".to_owned(),
        description: "Numbers — and what they mean".to_owned(),
        password: Some(meeting_password("654321")),
        call_rate: CallRate::parse("4096K").expect("valid rate"),
        mute_upon_entry: true,
        guest_dial_in: false,
        watermark: true,
        watermark_type: WatermarkType::Multiple,
        time_to_join_minutes: 15,
        live: Some(LiveSettings {
            passcode: "2468".to_owned(),
            live_id: "live-abc123".to_owned(),
        }),
    };
    meeting.invitees = vec![user_ref(carol), user_ref(alice), user_ref(dave)];
    meeting.join_code = "jc-quarterly".to_owned();
    meeting.created_at = at(1);
    meeting.updated_at = at(2);
    let mut expected = meeting.clone();
    expected.invitees = vec![user_ref(alice), user_ref(carol), user_ref(dave)];

    assert_eq!(create_schedule(store, &meeting).await, expected);
    assert_eq!(
        read_schedule(store, acme.id, meeting.id).await,
        Some(expected.clone())
    );

    let mut instant = new_schedule(&admin, "Ad hoc", "987654321", 0);
    instant.kind = MeetingKind::Instant;
    assert_eq!(create_schedule(store, &instant).await, instant);
    assert_eq!(
        read_schedule(store, acme.id, instant.id).await,
        Some(instant.clone())
    );

    let listed = find(store, acme.id, MeetingScope::Company, None, all()).await;
    assert_eq!(listed.items, summaries(&[instant, expected]));
    assert_eq!(listed.total, 2);
}

pub async fn schedule_is_scoped_to_its_company(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let (globex, _) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    let meeting = create_schedule(store, &new_schedule(&admin, "Private", "123456789", 0)).await;

    assert_eq!(read_schedule(store, globex.id, meeting.id).await, None);
    let mut foreign = meeting.clone();
    foreign.company_id = globex.id;
    foreign.settings.name = "Hijacked".to_owned();
    assert_not_found(
        expect_err(
            store.update_schedule(&foreign).await,
            "update from another company",
        ),
        "update from another company",
    );
    assert_not_found(
        expect_err(
            store.delete_schedule(globex.id, meeting.id).await,
            "delete from another company",
        ),
        "delete from another company",
    );
    assert_eq!(
        read_schedule(store, acme.id, meeting.id).await,
        Some(meeting.clone())
    );

    let unknown = new_schedule(&admin, "Unknown", "123456780", 0);
    assert_eq!(read_schedule(store, acme.id, unknown.id).await, None);
    assert_not_found(
        expect_err(store.update_schedule(&unknown).await, "update unknown"),
        "update unknown",
    );
    assert_not_found(
        expect_err(
            store.delete_schedule(acme.id, unknown.id).await,
            "delete unknown",
        ),
        "delete unknown",
    );
    assert!(
        !number_is_taken(store, &admin, "123456780").await,
        "a refused update reserves nothing"
    );

    store
        .delete_schedule(acme.id, meeting.id)
        .await
        .expect("delete schedule");
    assert_eq!(read_schedule(store, acme.id, meeting.id).await, None);
    assert_not_found(
        expect_err(
            store.delete_schedule(acme.id, meeting.id).await,
            "delete twice",
        ),
        "delete twice",
    );
}

pub async fn update_schedule_replaces_fields_and_invitees(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let alice = add_user(store, acme.id, "alice", Role::Normal).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;
    let carol = add_user(store, acme.id, "carol", Role::Normal).await;
    let mut meeting = new_schedule(&admin, "Planning", "123456789", 0);
    meeting.invitees = vec![user_ref(&alice), user_ref(&bob)];
    let meeting = create_schedule(store, &meeting).await;

    let mut changed = meeting.clone();
    changed.slot = TimeSlot {
        start: at(2 * HOUR),
        end: at(4 * HOUR),
    };
    changed.settings = MeetingSettings {
        name: "Retrospective".to_owned(),
        description: "What went well".to_owned(),
        password: Some(meeting_password("1234")),
        call_rate: CallRate::parse("1024K").expect("valid rate"),
        mute_upon_entry: true,
        guest_dial_in: false,
        watermark: true,
        watermark_type: WatermarkType::Multiple,
        time_to_join_minutes: 5,
        live: Some(LiveSettings {
            passcode: "9876".to_owned(),
            live_id: "live-xyz".to_owned(),
        }),
    };
    changed.invitees = vec![user_ref(&carol)];
    changed.updated_at = at(50);
    let changed = updated(
        store.update_schedule(&changed).await.expect("update"),
        changed,
    );
    assert_eq!(
        read_schedule(store, acme.id, meeting.id).await,
        Some(changed.clone())
    );
    assert!(!changed.overridden, "a single meeting is never overridden");

    // Invitees are replaced, not added to.
    for (user, sees) in [(&alice, false), (&bob, false), (&carol, true)] {
        let page = find(
            store,
            acme.id,
            MeetingScope::Participant(user.id),
            None,
            all(),
        )
        .await;
        assert_eq!(page.total, u64::from(sees), "{}", user.username.as_str());
    }
    // The name is searched as it is now.
    for (filter, hits) in [("planning", 0), ("retro", 1), ("re", 1), ("plan", 0)] {
        let page = find(store, acme.id, MeetingScope::Company, Some(filter), all()).await;
        assert_eq!(page.total, hits, "filter {filter:?}");
    }

    // Settings back to defaults, invitees removed.
    let mut plain = changed.clone();
    plain.settings = MeetingSettings::defaults("Retrospective".to_owned());
    plain.invitees = Vec::new();
    let plain = updated(store.update_schedule(&plain).await.expect("update"), plain);
    assert_eq!(read_schedule(store, acme.id, meeting.id).await, Some(plain));
}

/// A meeting's detail, read again after each change of what it shows (the stores remember
/// details), is the meeting as it is now: its invitees' and owner's names, its own fields, and
/// nothing once it is deleted.
pub async fn a_meetings_detail_follows_every_change_of_what_it_shows(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;
    let mut meeting = new_schedule(&admin, "Planning", "123456789", 0);
    meeting.invitees = vec![user_ref(&bob)];
    let meeting = create_schedule(store, &meeting).await;
    let detail = || async {
        // Twice: the second read is the remembered one.
        let first = read_schedule(store, acme.id, meeting.id).await;
        let again = read_schedule(store, acme.id, meeting.id).await;
        assert_eq!(first, again);
        first
    };
    assert_eq!(detail().await, Some(meeting.clone()));

    let rename = |user: UserId, name: &'static str| async move {
        store
            .update_user(
                acme.id,
                user,
                &UserChanges {
                    real_name: Some(name.to_owned()),
                    ..UserChanges::default()
                },
                at(10),
            )
            .await
            .expect("rename");
    };
    rename(bob.id, "Robert").await;
    let shown = detail().await.expect("the meeting");
    assert_eq!(shown.invitees[0].real_name, "Robert");
    rename(admin.id, "The Admin").await;
    let shown = detail().await.expect("the meeting");
    assert_eq!(shown.owner.real_name, "The Admin");

    let mut changed = shown.clone();
    changed.settings.name = "Retrospective".to_owned();
    changed.invitees = Vec::new();
    changed.updated_at = at(20);
    let changed = updated(
        store.update_schedule(&changed).await.expect("update"),
        changed,
    );
    assert_eq!(detail().await, Some(changed));

    store
        .delete_schedule(acme.id, meeting.id)
        .await
        .expect("delete");
    assert_eq!(detail().await, None);
}

/// Checks of what a backend remembers against changes made past it, in its own SQL (another
/// node, a hand edit): each backend's tests pass the edit.
pub mod edited_elsewhere {
    use std::future::Future;

    use plenum_domain::ids::ScheduleId;

    use super::{company_with_admin, new_schedule, user_ref};
    use crate::Store;

    /// A meeting's detail, remembered once read, shows its invitees removed by
    /// `remove_invitees` (which deletes the meeting's `schedule_invitees` rows).
    pub async fn a_remembered_meeting_detail_sees_its_invitees_removed<E, D>(
        store: &dyn Store,
        remove_invitees: E,
    ) where
        E: FnOnce(ScheduleId) -> D,
        D: Future<Output = ()>,
    {
        let (company, owner) = company_with_admin(store, "Acme", "acme-admin", 100).await;
        let mut meeting = new_schedule(&owner, "Planning", "123456789", 0);
        meeting.invitees = vec![user_ref(&owner)];
        let meeting = store.create_schedule(&meeting).await.expect("create");
        for _ in 0..2 {
            let shown = store.schedule(company.id, meeting.id).await.expect("read");
            assert_eq!(shown.expect("the meeting").invitees.len(), 1);
        }
        remove_invitees(meeting.id).await;
        let shown = store.schedule(company.id, meeting.id).await.expect("read");
        assert!(shown.expect("the meeting").invitees.is_empty());
    }
}

pub async fn update_schedule_re_reserves_a_changed_number(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let meeting = create_schedule(store, &new_schedule(&admin, "Mine", "100000001", 0)).await;
    create_schedule(store, &new_schedule(&admin, "Theirs", "100000002", 0)).await;

    let mut moved = meeting.clone();
    moved.meeting_number = meeting_number("100000003");
    let moved = updated(
        store.update_schedule(&moved).await.expect("new number"),
        moved,
    );
    assert!(
        !number_is_taken(store, &admin, "100000001").await,
        "the old number is free"
    );
    assert!(number_is_taken(store, &admin, "100000003").await);

    // A taken number is refused and nothing changes.
    let mut clash = moved.clone();
    clash.meeting_number = meeting_number("100000002");
    clash.settings.name = "Clash".to_owned();
    assert_number_taken(
        expect_err(store.update_schedule(&clash).await, "a taken number"),
        "update to a taken number",
    );
    assert_eq!(
        read_schedule(store, acme.id, meeting.id).await,
        Some(moved.clone())
    );
    assert!(number_is_taken(store, &admin, "100000003").await);

    // Keeping one's own number is no clash.
    let mut renamed = moved.clone();
    renamed.settings.name = "Renamed".to_owned();
    updated(
        store.update_schedule(&renamed).await.expect("same number"),
        renamed,
    );
    assert!(number_is_taken(store, &admin, "100000003").await);
}

pub async fn update_schedule_marks_an_occurrence_overridden(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let series = new_series(&admin, "Standup", "300000001", Frequency::Daily, 0, 2 * DAY);
    let stored = create_series(store, &series).await;
    assert_eq!(stored.len(), 3);

    // Moved past the next occurrence.
    let mut moved = stored[1].clone();
    moved.slot = TimeSlot {
        start: at(2 * DAY + HOUR),
        end: at(2 * DAY + 2 * HOUR),
    };
    moved.settings.name = "Standup (moved)".to_owned();
    moved.updated_at = at(10);
    let mut expected = moved.clone();
    expected.overridden = true;
    let expected = updated(
        store
            .update_schedule(&moved)
            .await
            .expect("update occurrence"),
        expected,
    );
    assert_eq!(
        read_schedule(store, acme.id, moved.id).await,
        Some(expected.clone())
    );
    assert_eq!(
        expected.original_start,
        Some(at(DAY)),
        "an occurrence keeps its original start"
    );

    // The others and the series are as they were; the series keeps its number. Occurrences
    // are listed by their current start.
    let listed = occurrences(store, acme.id, series.id, all()).await;
    assert_eq!(
        listed.items,
        [stored[0].clone(), stored[2].clone(), expected.clone()]
    );
    let listed = find(store, acme.id, MeetingScope::Company, None, all()).await;
    assert_eq!(
        listed.items,
        summaries(&[stored[0].clone(), stored[2].clone(), expected])
    );
    assert_eq!(
        store.series(acme.id, series.id).await.expect("series"),
        Some(series)
    );
    assert!(number_is_taken(store, &admin, "300000001").await);
}

pub async fn delete_schedule_of_an_occurrence_records_an_exdate(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let series = new_series(&admin, "Standup", "300000001", Frequency::Daily, 0, 3 * DAY);
    let stored = create_series(store, &series).await;
    assert_eq!(stored.len(), 4);
    assert!(
        store
            .series_exdates(series.id)
            .await
            .expect("exdates")
            .is_empty()
    );

    // A moved occurrence is recorded by its original start.
    let mut moved = stored[2].clone();
    moved.slot = TimeSlot {
        start: at(2 * DAY + 5 * HOUR),
        end: at(2 * DAY + 6 * HOUR),
    };
    store
        .update_schedule(&moved)
        .await
        .expect("move occurrence");
    store
        .delete_schedule(acme.id, moved.id)
        .await
        .expect("delete occurrence");
    assert_eq!(
        store.series_exdates(series.id).await.expect("exdates"),
        [at(2 * DAY)]
    );
    store
        .delete_schedule(acme.id, stored[0].id)
        .await
        .expect("delete occurrence");
    let mut exdates = store.series_exdates(series.id).await.expect("exdates");
    exdates.sort();
    assert_eq!(exdates, [at(0), at(2 * DAY)]);

    let left = occurrences(store, acme.id, series.id, all()).await;
    assert_eq!(left.items, [stored[1].clone(), stored[3].clone()]);
    assert_eq!(left.total, 2);
    assert_eq!(read_schedule(store, acme.id, stored[0].id).await, None);
    assert_eq!(
        store.series(acme.id, series.id).await.expect("series"),
        Some(series)
    );
    assert!(
        number_is_taken(store, &admin, "300000001").await,
        "the series keeps its number"
    );
    assert_not_found(
        expect_err(
            store.delete_schedule(acme.id, stored[0].id).await,
            "delete twice",
        ),
        "delete an occurrence twice",
    );
}

// --- finding scheduled meetings ---------------------------------------------------------------

pub async fn find_schedules_pages_by_start_then_id(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    // Three meetings at one start, created in the reverse of their ids' order.
    let mut created = Vec::new();
    for (name, number, start, id_at) in [
        ("Late sync", "100000001", 3 * HOUR, 1),
        ("Tie C sync", "100000002", HOUR, 30),
        ("Tie B sync", "100000003", HOUR, 20),
        ("Tie A sync", "100000004", HOUR, 10),
        ("Early sync", "100000005", 0, 2),
    ] {
        let mut s = new_schedule(&admin, name, number, start);
        s.id = ScheduleId::new(at(id_at));
        created.push(create_schedule(store, &s).await);
    }
    // Occurrences are listed among them.
    let series = new_series(
        &admin,
        "Daily sync",
        "100000006",
        Frequency::Daily,
        2 * HOUR,
        2 * HOUR + DAY,
    );
    created.extend(create_series(store, &series).await);
    let mut expected = created.clone();
    expected.sort_by_key(|s| (s.slot.start, s.id));

    let whole = find(store, acme.id, MeetingScope::Company, None, all()).await;
    assert_eq!(whole.items, summaries(&expected));
    assert_eq!(whole.total, 7);
    assert_eq!(
        titles(&whole),
        [
            "Early sync",
            "Tie A sync",
            "Tie B sync",
            "Tie C sync",
            "Daily sync",
            "Late sync",
            "Daily sync"
        ]
    );

    // Every way of listing pages in the same order, ties included.
    for (scope, filter) in [
        (MeetingScope::Company, None),
        (MeetingScope::Company, Some("sync")),
        (MeetingScope::Company, Some("yn")),
        (MeetingScope::Company, Some("100")),
        (MeetingScope::Participant(admin.id), None),
        (MeetingScope::Participant(admin.id), Some("sync")),
        (MeetingScope::Participant(admin.id), Some("s")),
    ] {
        let mut paged = Vec::new();
        for n in 1..=4 {
            let page_n = find(store, acme.id, scope, filter, page(n, 2)).await;
            assert_eq!(page_n.total, 7, "{scope:?} {filter:?} page {n}");
            paged.extend(page_n.items);
        }
        assert_eq!(
            schedule_ids(&paged),
            schedule_ids(&expected),
            "{scope:?} {filter:?}"
        );
    }
}

pub async fn find_schedules_for_a_participant_shows_owned_and_invited(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let (globex, globex_admin) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    let alice = add_user(store, acme.id, "alice", Role::Normal).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;
    let carol = add_user(store, acme.id, "carol", Role::Normal).await;

    let owned = create_schedule(store, &new_schedule(&alice, "Owned", "100000001", 0)).await;
    let mut invited = new_schedule(&bob, "Invited", "100000002", HOUR);
    invited.invitees = vec![user_ref(&alice), user_ref(&carol)];
    let invited = create_schedule(store, &invited).await;
    let mut both = new_schedule(&alice, "Both", "100000003", 2 * HOUR);
    both.invitees = vec![user_ref(&alice), user_ref(&bob)];
    let both = create_schedule(store, &both).await;
    let mut others = new_schedule(&bob, "Others", "100000004", 3 * HOUR);
    others.invitees = vec![user_ref(&carol)];
    let others = create_schedule(store, &others).await;
    let mut series = new_series(
        &carol,
        "Series",
        "100000005",
        Frequency::Daily,
        4 * HOUR,
        4 * HOUR + DAY,
    );
    series.invitees = vec![user_ref(&alice)];
    let series_occurrences = create_series(store, &series).await;
    let mut foreign = new_schedule(&globex_admin, "Foreign", "100000006", 0);
    foreign.invitees = vec![user_ref(&globex_admin)];
    create_schedule(store, &foreign).await;

    let participant = |user: &User| MeetingScope::Participant(user.id);
    let of_alice = find(store, acme.id, participant(&alice), None, all()).await;
    let mut expected = vec![owned.clone(), invited.clone(), both.clone()];
    expected.extend(series_occurrences.iter().cloned());
    assert_eq!(
        of_alice.items,
        summaries(&expected),
        "owned and invited, each once"
    );
    assert_eq!(of_alice.total, 5);

    let second = find(store, acme.id, participant(&alice), None, page(2, 2)).await;
    assert_eq!(schedule_ids(&second.items), schedule_ids(&expected[2..4]));
    assert_eq!(second.total, 5);

    let of_bob = find(store, acme.id, participant(&bob), None, all()).await;
    assert_eq!(
        schedule_ids(&of_bob.items),
        [invited.id, both.id, others.id]
    );
    assert_eq!(of_bob.total, 3);
    let of_carol = find(store, acme.id, participant(&carol), None, all()).await;
    assert_eq!(titles(&of_carol), ["Invited", "Others", "Series", "Series"]);

    let none = find(store, acme.id, participant(&admin), None, all()).await;
    assert_eq!(
        none,
        Page {
            items: vec![],
            total: 0
        }
    );
    let filtered = find(store, acme.id, participant(&alice), Some("in"), all()).await;
    assert_eq!(titles(&filtered), ["Invited"]);
    assert_eq!(filtered.total, 1);
    let filtered = find(store, acme.id, participant(&alice), Some("ser"), all()).await;
    assert_eq!(titles(&filtered), ["Series", "Series"]);
    assert_eq!(filtered.total, 2);

    // Another company's user sees nothing of this company, and the other way round.
    let crossed = find(store, acme.id, participant(&globex_admin), None, all()).await;
    assert_eq!(crossed.total, 0);
    let crossed = find(store, globex.id, participant(&alice), None, all()).await;
    assert_eq!(crossed.total, 0);
    let company = find(store, acme.id, MeetingScope::Company, None, all()).await;
    assert_eq!(company.total, 6);
}

pub async fn find_schedules_filters_on_name_and_number_prefix(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    for (name, number, start) in [
        ("Weekly Review", "123450001", 0),
        ("Budget review", "123450002", HOUR),
        ("Réunion Générale", "555000111", 2 * HOUR),
        ("Plan 2024", "987654321", 3 * HOUR),
        ("Standup", "202400000", 4 * HOUR),
        ("AB test", "111222333", 5 * HOUR),
    ] {
        create_schedule(store, &new_schedule(&admin, name, number, start)).await;
    }
    let find_titles = |filter: &'static str| async move {
        let found = find(store, acme.id, MeetingScope::Company, Some(filter), all()).await;
        assert_eq!(found.total, found.items.len() as u64, "total of {filter:?}");
        titles(&found)
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };

    let reviews = ["Weekly Review", "Budget review"];
    // Three characters and more, any case, anywhere in the name.
    assert_eq!(find_titles("review").await, reviews);
    assert_eq!(find_titles("REVIEW").await, reviews);
    assert_eq!(find_titles("eVie").await, reviews);
    assert_eq!(find_titles("RÉUNION").await, ["Réunion Générale"]);
    assert_eq!(find_titles("générale").await, ["Réunion Générale"]);
    assert_eq!(find_titles("nothing").await, Vec::<String>::new());
    // One or two characters, the same.
    assert_eq!(find_titles("w").await, reviews);
    assert_eq!(find_titles("ab").await, ["AB test"]);
    assert_eq!(find_titles("Ab").await, ["AB test"]);
    assert_eq!(find_titles("ÉN").await, ["Réunion Générale"]);
    assert_eq!(find_titles("q").await, Vec::<String>::new());

    // Digits also match the start of the number, never its middle.
    assert_eq!(find_titles("12345").await, reviews);
    assert_eq!(find_titles("123450002").await, ["Budget review"]);
    assert_eq!(find_titles("12").await, reviews);
    assert_eq!(find_titles("9").await, ["Plan 2024"]);
    assert_eq!(find_titles("2024").await, ["Plan 2024", "Standup"]);
    assert_eq!(find_titles("4321").await, Vec::<String>::new());
    assert_eq!(find_titles("23").await, Vec::<String>::new());
    assert_eq!(find_titles("555").await, ["Réunion Générale"]);

    // A filtered page counts only the matches.
    let second = find(
        store,
        acme.id,
        MeetingScope::Company,
        Some("review"),
        page(2, 1),
    )
    .await;
    assert_eq!(titles(&second), ["Budget review"]);
    assert_eq!(second.total, 2);
}

pub async fn find_schedules_filter_treats_special_characters_literally(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    for (i, name) in [
        "50% off",
        "5050 plan",
        "a_b sync",
        "axb sync",
        "Say \"hi\"",
        "Star * talk",
        "Stars talk",
        "O'Brien 1:1",
        "Obrien",
        "C:\\dir",
        "[abc] range",
        "Review (draft) - AND NOT",
    ]
    .into_iter()
    .enumerate()
    {
        let offset = i64::try_from(i).expect("small");
        create_schedule(
            store,
            &new_schedule(&admin, name, &format!("10000000{i}"), offset * HOUR),
        )
        .await;
    }
    let find_titles = |filter: &'static str| async move {
        let found = find(store, acme.id, MeetingScope::Company, Some(filter), all()).await;
        assert_eq!(found.total, found.items.len() as u64, "total of {filter:?}");
        titles(&found)
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let none = Vec::<String>::new();

    assert_eq!(find_titles("%").await, ["50% off"], "% is not a wildcard");
    assert_eq!(find_titles("0%").await, ["50% off"]);
    assert_eq!(find_titles("50%").await, ["50% off"]);
    assert_eq!(find_titles("% off").await, ["50% off"]);
    assert_eq!(find_titles("%%").await, none);
    assert_eq!(find_titles("%%%").await, none);
    assert_eq!(find_titles("_").await, ["a_b sync"], "_ is not a wildcard");
    assert_eq!(find_titles("a_").await, ["a_b sync"]);
    assert_eq!(find_titles("a_b").await, ["a_b sync"]);
    assert_eq!(find_titles("a_b sync").await, ["a_b sync"]);
    assert_eq!(find_titles("\"").await, ["Say \"hi\""]);
    assert_eq!(find_titles("\"hi\"").await, ["Say \"hi\""]);
    assert_eq!(find_titles("y \"h").await, ["Say \"hi\""]);
    assert_eq!(find_titles("\"\"").await, none);
    assert_eq!(find_titles("\"\"\"").await, none);
    assert_eq!(
        find_titles("*").await,
        ["Star * talk"],
        "* is not a wildcard"
    );
    assert_eq!(find_titles("r *").await, ["Star * talk"]);
    assert_eq!(find_titles("* t").await, ["Star * talk"]);
    assert_eq!(find_titles("sta*").await, none);
    assert_eq!(find_titles("**").await, none);
    assert_eq!(find_titles("'").await, ["O'Brien 1:1"]);
    assert_eq!(find_titles("o'b").await, ["O'Brien 1:1"]);
    assert_eq!(find_titles("'b").await, ["O'Brien 1:1"]);
    assert_eq!(find_titles("''").await, none);
    assert_eq!(find_titles("' OR '1'='1").await, none);
    assert_eq!(
        find_titles("\\").await,
        ["C:\\dir"],
        "backslash is ordinary"
    );
    assert_eq!(find_titles("\\d").await, ["C:\\dir"]);
    assert_eq!(find_titles(":\\d").await, ["C:\\dir"]);
    assert_eq!(find_titles("1:1").await, ["O'Brien 1:1"]);
    assert_eq!(find_titles("[abc]").await, ["[abc] range"]);
    assert_eq!(find_titles("[a").await, ["[abc] range"]);
    assert_eq!(
        find_titles("[ab]").await,
        none,
        "brackets are no character class"
    );
    assert_eq!(find_titles("(draft)").await, ["Review (draft) - AND NOT"]);
    assert_eq!(find_titles("- and").await, ["Review (draft) - AND NOT"]);
    assert_eq!(find_titles("and not").await, ["Review (draft) - AND NOT"]);
    assert_eq!(
        find_titles("sync OR talk").await,
        none,
        "OR is a word, not an operator"
    );
    assert_eq!(find_titles("sync AND").await, none);
    assert_eq!(find_titles("NEAR(a b)").await, none);
}

pub async fn find_schedules_past_the_last_page_reports_the_total(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let (globex, _) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    let alice = add_user(store, acme.id, "alice", Role::Normal).await;
    create_schedule(store, &new_schedule(&alice, "Meeting one", "100000001", 0)).await;
    create_schedule(
        store,
        &new_schedule(&alice, "Meeting two", "100000002", HOUR),
    )
    .await;
    create_schedule(store, &new_schedule(&admin, "Other", "100000003", 2 * HOUR)).await;
    let series = new_series(&admin, "Daily", "100000004", Frequency::Daily, 0, 2 * DAY);
    create_series(store, &series).await;

    for (scope, filter, page_req, total) in [
        (MeetingScope::Company, None, page(3, 3), 6),
        (MeetingScope::Company, None, page(100, 10), 6),
        (MeetingScope::Company, Some("meeting"), page(2, 2), 2),
        (MeetingScope::Company, Some("ee"), page(3, 1), 2),
        (MeetingScope::Company, Some("100"), page(7, 1), 6),
        (MeetingScope::Company, Some("nothing"), page(2, 1), 0),
        (MeetingScope::Participant(alice.id), None, page(2, 2), 2),
        (
            MeetingScope::Participant(alice.id),
            Some("two"),
            page(2, 1),
            1,
        ),
    ] {
        let found = find(store, acme.id, scope, filter, page_req).await;
        assert!(found.items.is_empty(), "{scope:?} {filter:?}");
        assert_eq!(found.total, total, "{scope:?} {filter:?}");
    }
    let beyond = occurrences(store, acme.id, series.id, page(2, 3)).await;
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, 3);

    for page_req in [page(1, 10), page(2, 10)] {
        assert_eq!(
            find(store, globex.id, MeetingScope::Company, None, page_req).await,
            Page {
                items: vec![],
                total: 0
            }
        );
    }
}

pub async fn find_schedules_never_shows_other_companies(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let (globex, globex_admin) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    create_schedule(store, &new_schedule(&admin, "Acme sync", "100000001", 0)).await;
    create_schedule(store, &new_schedule(&admin, "Acme plan", "100000002", HOUR)).await;
    create_schedule(
        store,
        &new_schedule(&globex_admin, "Globex sync", "200000001", 0),
    )
    .await;
    let series = new_series(
        &globex_admin,
        "Globex daily",
        "200000002",
        Frequency::Daily,
        HOUR,
        HOUR + DAY,
    );
    create_series(store, &series).await;

    let acme_all = find(store, acme.id, MeetingScope::Company, None, all()).await;
    assert_eq!(titles(&acme_all), ["Acme sync", "Acme plan"]);
    assert_eq!(acme_all.total, 2);
    assert!(acme_all.items.iter().all(|s| s.company_id == acme.id));
    for (filter, hits) in [
        ("sync", 1),
        ("sy", 1),
        ("globex", 0),
        ("gl", 0),
        ("2000", 0),
        ("2", 0),
        ("1000", 2),
    ] {
        let found = find(store, acme.id, MeetingScope::Company, Some(filter), all()).await;
        assert_eq!(found.total, hits, "filter {filter:?}");
        assert_eq!(found.items.len() as u64, hits, "filter {filter:?}");
    }

    let globex_all = find(store, globex.id, MeetingScope::Company, None, all()).await;
    assert_eq!(
        titles(&globex_all),
        ["Globex sync", "Globex daily", "Globex daily"]
    );
    assert_eq!(globex_all.total, 3);
    assert_eq!(
        occurrences(store, acme.id, series.id, all()).await,
        Page {
            items: vec![],
            total: 0
        },
        "another company's series has no occurrences here"
    );
    assert_eq!(
        find(
            store,
            CompanyId::new(at(0)),
            MeetingScope::Company,
            None,
            all()
        )
        .await,
        Page {
            items: vec![],
            total: 0
        }
    );
}

/// A company's whole list (the scope a store may answer from memory) answers as the same
/// list through SQL and as the domain's filter ([`MeetingFilter::matches`]) of its meetings,
/// for random names, filters and pages: while the store rebuilds what it keeps in memory and
/// once that is current (`Store::settle_lists`), and again after every kind of change a list
/// shows — create, update, delete, a series created, replaced and deleted, an owner renamed.
pub async fn the_company_list_answers_as_the_filter_of_its_meetings_after_every_change(
    store: &dyn Store,
) {
    /// A name from a small alphabet (so filters match often), with case and non-ASCII letters
    /// whose lower case differs in length (İ) or that fold to ASCII (the Kelvin sign).
    fn name(rng: &mut Lcg) -> String {
        const PARTS: [&str; 11] = [
            "a", "B", "ab", " ", "Ä", "ß", "İ", "7", "-", "Orion", "\u{212A}",
        ];
        (0..1 + rng.next(7))
            .map(|_| PARTS[rng.next(PARTS.len() as u64) as usize])
            .collect()
    }
    let mut rng = Lcg(15);
    let (_, other_admin) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    for round in 0..8u64 {
        let (company, admin) = company_with_admin(
            store,
            &format!("Acme {round}"),
            &format!("admin{round}"),
            10,
        )
        .await;
        let bob = add_user(store, company.id, &format!("bob{round}"), Role::Normal).await;
        let owners = [admin.clone(), bob.clone()];
        // Starts repeat (ties are ordered by id); numbers share prefixes.
        let count = rng.next(30);
        let meetings: Vec<Schedule> = (0..count)
            .map(|i| {
                let number = format!("{}{round:04}{i:03}", 1 + i % 3);
                let owner = &owners[rng.next(2) as usize];
                new_schedule(owner, &name(&mut rng), &number, HOUR * rng.next(6) as i64)
            })
            .collect();
        store.create_schedules(&meetings).await.expect("schedules");
        // The same names in another company, which the list must never show.
        let theirs: Vec<Schedule> = meetings
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let number = format!("9{round:04}{i:03}");
                new_schedule(&other_admin, &m.settings.name, &number, 0)
            })
            .collect();
        store
            .create_schedules(&theirs)
            .await
            .expect("their schedules");
        let mut filters: Vec<Option<String>> = vec![None];
        for _ in 0..5 {
            filters.push(Some(match rng.next(3) {
                0 => name(&mut rng),
                // A prefix of a number of this round (or of the other company's, 9…).
                1 => {
                    let first = [1, 2, 3, 7, 8, 9][rng.next(6) as usize];
                    let number = format!("{first}{round:04}{:03}", rng.next(40));
                    number[..1 + rng.next(8) as usize].to_owned()
                }
                _ => (0..1 + rng.next(3))
                    .map(|_| [" ", "a", "B", "Ä"][rng.next(4) as usize])
                    .collect(),
            }));
        }
        let compare = |label: &'static str| {
            let filters = filters.clone();
            let owners = owners.clone();
            async move {
                // Every meeting of the company, through SQL: its two owners' lists.
                let mut every = Vec::new();
                for owner in &owners {
                    let scope = MeetingScope::Participant(owner.id);
                    every.extend(find(store, company.id, scope, None, all()).await.items);
                }
                every.sort_by_key(|s| (s.slot.start, s.id));
                for settled in [false, true] {
                    if settled {
                        assert!(
                            store
                                .settle_lists(company.id, std::time::Duration::from_secs(10))
                                .await
                                .expect("settle"),
                            "{label}: the list answers from memory within 10 s"
                        );
                    }
                    for filter in &filters {
                        let parsed = MeetingFilter::parse(filter.as_deref());
                        let matching: Vec<&ScheduleSummary> = every
                            .iter()
                            .filter(|s| {
                                parsed
                                    .as_ref()
                                    .is_none_or(|f| f.matches(&s.name, &s.meeting_number))
                            })
                            .collect();
                        for (offset, limit) in [(0, 3), (2, 5), (0, 100), (25, 10), (50, 10)] {
                            let page = PageRequest::by_offset(offset, limit, 100).expect("page");
                            let expected = Page {
                                items: matching
                                    .iter()
                                    .skip(offset as usize)
                                    .take(limit as usize)
                                    .map(|s| (*s).clone())
                                    .collect::<Vec<_>>(),
                                total: matching.len() as u64,
                            };
                            let listed = find(
                                store,
                                company.id,
                                MeetingScope::Company,
                                filter.as_deref(),
                                page,
                            )
                            .await;
                            assert_eq!(
                                listed, expected,
                                "{label} (settled: {settled}): filter {filter:?}, offset \
                                 {offset}, limit {limit}"
                            );
                        }
                    }
                }
            }
        };
        compare("as created").await;

        if let Some(first) = meetings.first() {
            let mut changed = read_schedule(store, company.id, first.id)
                .await
                .expect("the first meeting");
            changed.settings.name = name(&mut rng);
            changed.slot = TimeSlot {
                start: at(HOUR * rng.next(6) as i64 + 1800),
                end: at(HOUR * 7),
            };
            store.update_schedule(&changed).await.expect("update");
            compare("after an update").await;
        }
        if let Some(last) = meetings.last() {
            store
                .delete_schedule(company.id, last.id)
                .await
                .expect("delete");
            compare("after a delete").await;
        }
        let added = new_schedule(&bob, &name(&mut rng), &format!("8{round:04}999"), HOUR);
        create_schedule(store, &added).await;
        compare("after a create").await;

        store
            .update_user(
                company.id,
                bob.id,
                &UserChanges {
                    real_name: Some(format!("{} the owner", name(&mut rng))),
                    ..UserChanges::default()
                },
                at(10),
            )
            .await
            .expect("rename an owner");
        compare("after an owner's rename").await;

        let series = new_series(
            &admin,
            &name(&mut rng),
            &format!("7{round:04}000"),
            Frequency::Daily,
            HOUR * rng.next(3) as i64,
            3 * DAY,
        );
        let occurrences = create_series(store, &series).await;
        compare("after a series was created").await;
        let mut occurrence = read_schedule(store, company.id, occurrences[1].id)
            .await
            .expect("an occurrence");
        occurrence.settings.name = name(&mut rng);
        store
            .update_schedule(&occurrence)
            .await
            .expect("update an occurrence");
        compare("after an occurrence was changed").await;
        let mut replacement = store
            .series(company.id, series.id)
            .await
            .expect("read the series")
            .expect("the series");
        replacement.settings.name = name(&mut rng);
        replacement.rule = new_series(
            &admin,
            "",
            &format!("7{round:04}000"),
            Frequency::Weekly,
            0,
            15 * DAY,
        )
        .rule;
        store
            .replace_series(&replacement, &occurrences_of(&replacement))
            .await
            .expect("replace the series");
        compare("after the series was replaced").await;
        store
            .delete_series(company.id, series.id)
            .await
            .expect("delete the series");
        compare("after the series was deleted").await;
    }
}

// --- recurring series -------------------------------------------------------------------------

pub async fn series_round_trips_with_its_occurrences(store: &dyn Store) {
    let (acme, _) = company_with_admin(store, "Acme", "admin", 10).await;
    let (globex, _) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    let bob = store
        .create_user(&with_real_name(
            new_user(acme.id, "bob", Role::Normal),
            "Bob Builder",
        ))
        .await
        .expect("create user");
    let alice = add_user(store, acme.id, "alice", Role::Normal).await;
    let carol = add_user(store, acme.id, "Carol", Role::Normal).await;
    let dave = add_user(store, acme.id, "dave", Role::Normal).await;

    // Every other week in Berlin, 90 minutes, five times.
    let first_start = at(DAY);
    let rule = RecurrenceRule::new(
        Frequency::Weekly,
        2,
        first_start.as_millisecond(),
        first_start.as_millisecond() + 90 * 60 * 1000,
        None,
        at(DAY + 8 * 7 * DAY).as_millisecond(),
        TimeZoneName::parse("Europe/Berlin").expect("valid zone"),
    )
    .expect("valid rule");
    let mut series = new_series(&bob, "Sync", "300000001", Frequency::Daily, DAY, DAY);
    series.rule = rule;
    series.settings = MeetingSettings {
        name: "Fortnightly sync".to_owned(),
        description: "Every other week".to_owned(),
        password: Some(meeting_password("13579")),
        call_rate: CallRate::parse("512K").expect("valid rate"),
        mute_upon_entry: true,
        guest_dial_in: false,
        watermark: true,
        watermark_type: WatermarkType::Multiple,
        time_to_join_minutes: 0,
        live: Some(LiveSettings {
            passcode: "1111".to_owned(),
            live_id: "live-series".to_owned(),
        }),
    };
    series.invitees = vec![user_ref(&dave), user_ref(&carol), user_ref(&alice)];
    series.join_code = "jc-series".to_owned();
    series.created_at = at(3);
    series.updated_at = at(4);
    let mut expected = series.clone();
    expected.invitees = vec![user_ref(&alice), user_ref(&carol), user_ref(&dave)];

    let occurrences_in = occurrences_of(&series);
    assert_eq!(occurrences_in.len(), 5);
    assert_eq!(
        store
            .create_series(&series, &occurrences_in)
            .await
            .expect("create series"),
        expected
    );
    assert_eq!(
        store.series(acme.id, series.id).await.expect("series"),
        Some(expected)
    );
    assert_eq!(
        store.series(globex.id, series.id).await.expect("series"),
        None
    );
    assert_eq!(
        store
            .series(acme.id, SeriesId::new(at(0)))
            .await
            .expect("series"),
        None
    );

    let stored = as_stored(&occurrences_in, Frequency::Weekly);
    let listed = occurrences(store, acme.id, series.id, all()).await;
    assert_eq!(listed.items, stored);
    assert_eq!(listed.total, 5);
    for o in &listed.items {
        assert_eq!(o.kind, MeetingKind::Recurrence);
        assert_eq!(o.series_id, Some(series.id));
        assert_eq!(o.original_start, Some(o.slot.start));
        assert_eq!(o.recurrence, Some(Frequency::Weekly));
        assert!(!o.overridden);
        assert_eq!(read_schedule(store, acme.id, o.id).await, Some(o.clone()));
    }
    let second = occurrences(store, acme.id, series.id, page(2, 2)).await;
    assert_eq!(second.items, stored[2..4]);
    assert_eq!(second.total, 5);

    // The occurrence filter works as in find_schedules.
    let filtered = store
        .series_occurrences(acme.id, series.id, Some("FORTNIGHT"), page(1, 2))
        .await
        .expect("series occurrences");
    assert_eq!(filtered.items, stored[..2]);
    assert_eq!(filtered.total, 5);
    let filtered = store
        .series_occurrences(acme.id, series.id, Some("weekly"), all())
        .await
        .expect("series occurrences");
    assert_eq!(filtered.total, 0);

    let listed = find(store, acme.id, MeetingScope::Company, None, all()).await;
    assert_eq!(
        listed.items,
        summaries(&stored),
        "occurrences are scheduled meetings"
    );
}

pub async fn replace_series_replaces_its_occurrences_and_exdates(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let (globex, _) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    let alice = add_user(store, acme.id, "alice", Role::Normal).await;
    let series = new_series(&admin, "Daily", "300000001", Frequency::Daily, 0, 3 * DAY);
    let old = create_series(store, &series).await;
    store
        .delete_schedule(acme.id, old[1].id)
        .await
        .expect("delete occurrence");
    let mut changed = old[2].clone();
    changed.settings.name = "Changed".to_owned();
    store
        .update_schedule(&changed)
        .await
        .expect("update occurrence");

    let mut replacement = new_series(
        &admin,
        "Weekly",
        "300000002",
        Frequency::Weekly,
        10 * DAY,
        24 * DAY,
    );
    replacement.id = series.id;
    replacement.invitees = vec![user_ref(&alice)];
    replacement.created_at = series.created_at;
    replacement.updated_at = at(20);
    let new_occurrences = occurrences_of(&replacement);
    let replacement = updated(
        store
            .replace_series(&replacement, &new_occurrences)
            .await
            .expect("replace series"),
        replacement,
    );
    assert_eq!(
        store.series(acme.id, series.id).await.expect("series"),
        Some(replacement.clone())
    );
    // No start in common with the old rule: nothing carries over, and the old deletion no
    // longer means anything.
    let stored = as_stored(&new_occurrences, Frequency::Weekly);
    let listed = occurrences(store, acme.id, series.id, all()).await;
    assert_eq!(unrevised(listed.items), unrevised(stored.clone()));
    assert_eq!(listed.total, 3);
    for o in &old {
        assert_eq!(read_schedule(store, acme.id, o.id).await, None);
    }
    assert!(
        store
            .series_exdates(series.id)
            .await
            .expect("exdates")
            .is_empty()
    );
    let of_alice = find(
        store,
        acme.id,
        MeetingScope::Participant(alice.id),
        None,
        all(),
    )
    .await;
    assert_eq!(of_alice.total, 3);
    let whole = find(store, acme.id, MeetingScope::Company, None, all()).await;
    assert_eq!(whole.items, summaries(&stored));
    assert_eq!(whole.total, 3);

    // The same rule again, expanded afresh (new ids): the stored occurrences keep their ids,
    // and one deleted meanwhile stays deleted.
    store
        .delete_schedule(acme.id, stored[1].id)
        .await
        .expect("delete occurrence");
    let again = occurrences_of(&replacement);
    assert!(again.iter().zip(&stored).all(|(a, s)| a.id != s.id));
    let replacement = updated(
        store
            .replace_series(&replacement, &again)
            .await
            .expect("replace series again"),
        replacement,
    );
    let stored = vec![stored[0].clone(), stored[2].clone()];
    assert_eq!(
        unrevised(occurrences(store, acme.id, series.id, all()).await.items),
        unrevised(stored.clone())
    );
    assert_eq!(
        store.series_exdates(series.id).await.expect("exdates"),
        [new_occurrences[1].slot.start]
    );
    assert!(!number_is_taken(store, &admin, "300000001").await);
    assert!(number_is_taken(store, &admin, "300000002").await);

    // A taken number is refused and nothing changes.
    create_schedule(store, &new_schedule(&admin, "Single", "300000003", 0)).await;
    let mut clash = new_series(&admin, "Clash", "300000003", Frequency::Daily, 0, DAY);
    clash.id = series.id;
    clash.revision = replacement.revision;
    let clash_occurrences = occurrences_of(&clash);
    assert_number_taken(
        expect_err(
            store.replace_series(&clash, &clash_occurrences).await,
            "a taken number",
        ),
        "replace with a taken number",
    );
    assert_eq!(
        store.series(acme.id, series.id).await.expect("series"),
        Some(replacement.clone())
    );
    assert_eq!(
        unrevised(occurrences(store, acme.id, series.id, all()).await.items),
        unrevised(stored.clone())
    );
    assert!(number_is_taken(store, &admin, "300000002").await);

    // Only a series of the company can be replaced.
    let mut foreign = replacement.clone();
    foreign.company_id = globex.id;
    assert_not_found(
        expect_err(
            store.replace_series(&foreign, &[]).await,
            "replace from another company",
        ),
        "replace from another company",
    );
    let unknown = new_series(&admin, "Unknown", "300000009", Frequency::Daily, 0, DAY);
    assert_not_found(
        expect_err(
            store
                .replace_series(&unknown, &occurrences_of(&unknown))
                .await,
            "replace unknown",
        ),
        "replace unknown",
    );
    assert_eq!(
        store.series(acme.id, unknown.id).await.expect("series"),
        None
    );
    assert!(!number_is_taken(store, &admin, "300000009").await);
    assert_eq!(
        store.series(acme.id, series.id).await.expect("series"),
        Some(replacement)
    );
}

pub async fn create_and_replace_series_are_all_or_nothing(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let existing = create_schedule(store, &new_schedule(&admin, "Existing", "100000001", 0)).await;

    // The last occurrence cannot be written (its id is taken): nothing of the series is.
    let series = new_series(&admin, "Daily", "300000001", Frequency::Daily, 0, 3 * DAY);
    let mut broken = occurrences_of(&series);
    broken[3].id = existing.id;
    assert!(
        store.create_series(&series, &broken).await.is_err(),
        "an occurrence with a taken id"
    );
    assert_eq!(
        store.series(acme.id, series.id).await.expect("series"),
        None
    );
    for o in &broken[..3] {
        assert_eq!(read_schedule(store, acme.id, o.id).await, None);
    }
    assert_eq!(
        read_schedule(store, acme.id, existing.id).await,
        Some(existing.clone())
    );
    assert!(!number_is_taken(store, &admin, "300000001").await);
    assert_eq!(
        find(store, acme.id, MeetingScope::Company, None, all())
            .await
            .total,
        1
    );

    // The same for a replacement: the series stays as it was, deletions included.
    let stored = create_series(store, &series).await;
    store
        .delete_schedule(acme.id, stored[1].id)
        .await
        .expect("delete occurrence");
    let mut replacement = new_series(
        &admin,
        "Weekly",
        "300000002",
        Frequency::Weekly,
        0,
        14 * DAY,
    );
    replacement.id = series.id;
    let mut broken = occurrences_of(&replacement);
    broken[2].id = existing.id;
    assert!(
        store.replace_series(&replacement, &broken).await.is_err(),
        "an occurrence with a taken id"
    );
    assert_eq!(
        store.series(acme.id, series.id).await.expect("series"),
        Some(series.clone())
    );
    let left = occurrences(store, acme.id, series.id, all()).await;
    assert_eq!(
        left.items,
        [stored[0].clone(), stored[2].clone(), stored[3].clone()]
    );
    assert_eq!(
        store.series_exdates(series.id).await.expect("exdates"),
        [at(DAY)]
    );
    assert!(number_is_taken(store, &admin, "300000001").await);
    assert!(!number_is_taken(store, &admin, "300000002").await);
    assert_eq!(
        read_schedule(store, acme.id, existing.id).await,
        Some(existing)
    );
    assert_eq!(
        find(store, acme.id, MeetingScope::Company, None, all())
            .await
            .total,
        4
    );
}

pub async fn delete_series_removes_it_with_its_occurrences(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let (globex, _) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    let alice = add_user(store, acme.id, "alice", Role::Normal).await;
    let mut doomed = new_series(&admin, "Doomed", "300000001", Frequency::Daily, 0, 2 * DAY);
    doomed.invitees = vec![user_ref(&alice)];
    let doomed_occurrences = create_series(store, &doomed).await;
    let kept = new_series(&admin, "Kept", "300000002", Frequency::Weekly, 0, 7 * DAY);
    let kept_occurrences = create_series(store, &kept).await;
    let single = create_schedule(store, &new_schedule(&admin, "Single", "300000003", HOUR)).await;
    store
        .delete_schedule(acme.id, doomed_occurrences[0].id)
        .await
        .expect("delete occurrence");

    assert_not_found(
        expect_err(
            store.delete_series(globex.id, doomed.id).await,
            "delete from another company",
        ),
        "delete from another company",
    );
    assert_eq!(occurrences(store, acme.id, doomed.id, all()).await.total, 2);

    store
        .delete_series(acme.id, doomed.id)
        .await
        .expect("delete series");
    assert_eq!(
        store.series(acme.id, doomed.id).await.expect("series"),
        None
    );
    for o in &doomed_occurrences {
        assert_eq!(read_schedule(store, acme.id, o.id).await, None);
    }
    assert_eq!(
        occurrences(store, acme.id, doomed.id, all()).await,
        Page {
            items: vec![],
            total: 0
        }
    );
    let mut left = kept_occurrences.clone();
    left.push(single);
    left.sort_by_key(|s| (s.slot.start, s.id));
    let listed = find(store, acme.id, MeetingScope::Company, None, all()).await;
    assert_eq!(listed.items, summaries(&left));
    assert_eq!(listed.total, 3);
    assert_eq!(
        find(store, acme.id, MeetingScope::Company, Some("doomed"), all())
            .await
            .total,
        0
    );
    assert_eq!(
        find(
            store,
            acme.id,
            MeetingScope::Participant(alice.id),
            None,
            all()
        )
        .await
        .total,
        0
    );
    assert!(!number_is_taken(store, &admin, "300000001").await);
    assert_eq!(
        store.series(acme.id, kept.id).await.expect("series"),
        Some(kept)
    );
    assert_not_found(
        expect_err(
            store.delete_series(acme.id, doomed.id).await,
            "delete twice",
        ),
        "delete a series twice",
    );
}

// --- calendars --------------------------------------------------------------------------------

pub async fn calendar_feed_is_found_by_its_hash(store: &dyn Store) {
    let (acme, _) = company_with_admin(store, "Acme", "admin", 10).await;
    let (globex, _) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;
    let carl = add_user(store, globex.id, "carl", Role::Normal).await;
    let feed_user = |secret: &'static str| async move {
        store
            .calendar_feed_user(&TokenHash::of(secret))
            .await
            .expect("calendar feed user")
    };
    assert_eq!(feed_user("bob-1").await, None);

    store
        .set_calendar_feed(bob.id, &TokenHash::of("bob-1"))
        .await
        .expect("set feed");
    store
        .set_calendar_feed(carl.id, &TokenHash::of("carl-1"))
        .await
        .expect("set feed");
    assert_eq!(feed_user("bob-1").await, Some(bob.clone()));
    assert_eq!(feed_user("carl-1").await, Some(carl.clone()));

    // A new secret replaces the old one.
    store
        .set_calendar_feed(bob.id, &TokenHash::of("bob-2"))
        .await
        .expect("set feed");
    assert_eq!(feed_user("bob-1").await, None);
    assert_eq!(feed_user("bob-2").await, Some(bob));
    assert_eq!(feed_user("carl-1").await, Some(carl));
}

pub async fn calendar_of_lists_a_users_single_meetings_and_series(store: &dyn Store) {
    let (acme, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let (globex, _) = company_with_admin(store, "Globex", "globex-admin", 10).await;
    let alice = add_user(store, acme.id, "alice", Role::Normal).await;
    let bob = add_user(store, acme.id, "bob", Role::Normal).await;
    let room = create_room(store, &new_room(&admin, "Room", "7000001")).await;

    // Owned and invited too: listed once.
    let mut owned = new_schedule(&alice, "Owned", "100000001", 0);
    owned.invitees = vec![user_ref(&alice)];
    let owned = create_schedule(store, &owned).await;
    let mut invited = new_schedule(&bob, "Invited", "100000002", HOUR);
    invited.invitees = vec![user_ref(&alice)];
    let invited = create_schedule(store, &invited).await;
    let bobs = create_schedule(store, &new_schedule(&bob, "Bob's", "100000003", 2 * HOUR)).await;
    let in_room =
        create_schedule(store, &schedule_in_room(&alice, "In room", &room, 3 * HOUR)).await;

    let mut alices_series =
        new_series(&alice, "Alice daily", "200000001", Frequency::Daily, 0, DAY);
    alices_series.invitees = vec![user_ref(&alice)];
    let alices_occurrences = create_series(store, &alices_series).await;
    let mut shared = new_series(&bob, "Shared", "200000002", Frequency::Weekly, 0, 7 * DAY);
    shared.invitees = vec![user_ref(&bob), user_ref(&alice)];
    let shared_occurrences = create_series(store, &shared).await;
    let mut shared_read = shared.clone();
    shared_read.invitees = sorted(shared.invitees.clone());
    let bobs_series = new_series(
        &bob,
        "Bob monthly",
        "200000003",
        Frequency::Monthly,
        0,
        40 * DAY,
    );
    create_series(store, &bobs_series).await;
    // An overridden occurrence is still an occurrence.
    let mut moved = alices_occurrences[1].clone();
    moved.slot = TimeSlot {
        start: at(DAY + HOUR),
        end: at(DAY + 2 * HOUR),
    };
    store
        .update_schedule(&moved)
        .await
        .expect("move occurrence");
    // An invitation to an occurrence alone does not put it in the calendar either.
    let mut invited_once = shared_occurrences[0].clone();
    invited_once.invitees = vec![user_ref(&admin)];
    store
        .update_schedule(&invited_once)
        .await
        .expect("invite to an occurrence");

    let calendar = |user: UserId| async move {
        let (mut singles, mut series) = store.calendar_of(acme.id, user).await.expect("calendar");
        singles.sort_by_key(|s| s.id);
        series.sort_by_key(|s| s.id);
        (singles, series)
    };
    let by_id = |mut schedules: Vec<Schedule>| {
        schedules.sort_by_key(|s| s.id);
        schedules
    };
    let series_by_id = |mut series: Vec<Series>| {
        series.sort_by_key(|s| s.id);
        series
    };

    let (singles, series) = calendar(alice.id).await;
    assert_eq!(singles, by_id(vec![owned, invited.clone(), in_room]));
    assert_eq!(
        series,
        series_by_id(vec![alices_series, shared_read.clone()])
    );

    let (singles, series) = calendar(bob.id).await;
    assert_eq!(singles, by_id(vec![invited, bobs]));
    assert_eq!(series, series_by_id(vec![shared_read, bobs_series]));

    let (singles, series) = calendar(admin.id).await;
    assert!(singles.is_empty(), "{singles:?}");
    assert!(series.is_empty(), "{series:?}");

    let (singles, series) = store
        .calendar_of(globex.id, alice.id)
        .await
        .expect("calendar");
    assert!(singles.is_empty() && series.is_empty());
}

// --- the live record ------------------------------------------------------------------------

pub(crate) fn session_of(owner: &User, number: &str, started: i64) -> Session {
    Session {
        id: SessionId::new(at(started)),
        company: owner.company_id,
        meeting_number: meeting_number(number),
        name: "Stand-up".to_owned(),
        owner: owner.id,
        room: None,
        schedule: None,
        started_at: at(started),
        ended_at: None,
        peak_participants: 0,
        invitees: vec![owner.id],
    }
}

pub(crate) fn attendance_of(
    session: &Session,
    user: Option<UserId>,
    name: &str,
    joined: i64,
) -> Attendance {
    Attendance {
        id: AttendanceId::new(at(joined)),
        session: session.id,
        user,
        display_name: name.to_owned(),
        call_number: String::new(),
        device_type: DeviceType::Bot,
        media_type: MediaType::Video,
        department: String::new(),
        joined_at: at(joined),
        left_at: None,
    }
}

pub async fn live_record_of_a_closed_session_leaves_nothing_open(store: &dyn Store) {
    let (_, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let session = session_of(&admin, "8000001", 0);
    let ann = attendance_of(&session, Some(admin.id), "Ann", 1);
    let guest = attendance_of(&session, None, "Guest", 2);
    store
        .record_live(vec![
            LiveWrite::SessionStarted(Box::new(session.clone())),
            LiveWrite::Joined(Box::new(ann.clone())),
            LiveWrite::Joined(Box::new(guest.clone())),
        ])
        .await
        .expect("start and join");
    store
        .record_live(vec![
            LiveWrite::Event {
                session: session.id,
                seq: 1,
                at: at(3),
                kind: "lock_changed",
                data: r#"{"locked":true}"#.to_owned(),
            },
            LiveWrite::Left {
                attendance: ann.id,
                at: at(10),
                reason: "left",
            },
            LiveWrite::Left {
                attendance: guest.id,
                at: at(11),
                reason: "left",
            },
            LiveWrite::SessionEnded {
                session: session.id,
                at: at(11),
                reason: "empty",
                peak_participants: 2,
            },
        ])
        .await
        .expect("leave and end");
    assert_eq!(
        store
            .close_abandoned("crash", Abandon::Everything)
            .await
            .expect("close"),
        Abandoned::default()
    );
    // A participant leaves once: a second leave of the same stay is refused.
    assert!(
        store
            .record_live(vec![LiveWrite::Left {
                attendance: ann.id,
                at: at(12),
                reason: "left",
            }])
            .await
            .is_err()
    );
}

pub async fn live_record_after_a_crash_closes_sessions_and_attendance_at_last_seen(
    store: &dyn Store,
) {
    let (_, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let session = session_of(&admin, "8000002", 0);
    let early = attendance_of(&session, Some(admin.id), "Early", 1);
    let late = attendance_of(&session, None, "Late", 50);
    store
        .record_live(vec![
            LiveWrite::SessionStarted(Box::new(session.clone())),
            LiveWrite::Joined(Box::new(early)),
            LiveWrite::SessionSeen {
                session: session.id,
                at: at(30),
                peak_participants: 1,
            },
            LiveWrite::Joined(Box::new(late)),
        ])
        .await
        .expect("record");
    // Two open stays, one open session; closing again finds nothing.
    let closed = store
        .close_abandoned("server_shutdown", Abandon::Everything)
        .await
        .expect("close");
    assert_eq!(
        closed,
        Abandoned {
            sessions: 1,
            attendance: 2
        }
    );
    // The session ends at its last sign of life (30), or at the last join acknowledged
    // after it (50): never before a stay it holds.
    let listed = store
        .find_sessions(
            admin.company_id,
            &plenum_domain::history_query::SessionQuery::default(),
            all(),
        )
        .await
        .expect("list");
    let held = listed
        .items
        .iter()
        .find(|s| s.session.id == session.id)
        .expect("the session");
    assert_eq!(held.session.ended_at, Some(at(50)));
    assert_eq!(
        store
            .close_abandoned("server_shutdown", Abandon::Everything)
            .await
            .expect("again"),
        Abandoned::default()
    );
}

pub async fn live_record_batches_are_all_or_nothing(store: &dyn Store) {
    let (_, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let session = session_of(&admin, "8000003", 0);
    let stranger = session_of(&admin, "8000004", 0);
    // The second write refers to a session that was never started: nothing of the batch
    // is kept, so the session is unknown afterwards too.
    assert!(
        store
            .record_live(vec![
                LiveWrite::SessionStarted(Box::new(session.clone())),
                LiveWrite::Joined(Box::new(attendance_of(&stranger, None, "X", 1))),
            ])
            .await
            .is_err()
    );
    assert!(
        store
            .record_live(vec![LiveWrite::Joined(Box::new(attendance_of(
                &session, None, "Y", 2
            )))])
            .await
            .is_err()
    );
}

pub async fn live_record_takes_concurrent_batches(store: &dyn Store) {
    let (_, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let sessions: Vec<Session> = (0..20)
        .map(|i| session_of(&admin, &format!("{}", 8_100_000 + i), i))
        .collect();
    let writes = sessions.iter().map(|s| {
        let joined = attendance_of(s, None, "Guest", 100);
        store.record_live(vec![
            LiveWrite::SessionStarted(Box::new(s.clone())),
            LiveWrite::Joined(Box::new(joined)),
        ])
    });
    for result in join_all(writes).await {
        result.expect("every batch is written");
    }
    assert_eq!(
        store
            .close_abandoned("server_shutdown", Abandon::Everything)
            .await
            .expect("close"),
        Abandoned {
            sessions: 20,
            attendance: 20
        }
    );
}

pub async fn join_target_finds_rooms_schedules_and_the_current_occurrence(store: &dyn Store) {
    let (_, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    assert_eq!(
        store
            .join_target(&meeting_number("8200000"), at(0))
            .await
            .expect("unknown"),
        None
    );

    let room = create_room(store, &new_room(&admin, "Room", "8200001")).await;
    let in_room =
        create_schedule(store, &schedule_in_room(&admin, "Review", &room, 2 * HOUR)).await;
    let target = |number: &'static str, t: i64| async move {
        store
            .join_target(&meeting_number(number), at(t))
            .await
            .expect("join target")
    };
    // Outside the scheduled meeting's window the number opens the room; inside, the meeting
    // (default time_to_join opens it early).
    assert_eq!(
        target("8200001", 0).await,
        Some(JoinTarget::Room(Box::new(room.clone())))
    );
    let opens = in_room.slot.start.as_second()
        - i64::from(in_room.settings.time_to_join_minutes) * 60
        - T0_SECONDS;
    assert_eq!(
        target("8200001", opens - 1).await,
        Some(JoinTarget::Room(Box::new(room.clone())))
    );
    assert_eq!(
        target("8200001", opens).await,
        Some(JoinTarget::Schedule(Box::new(in_room.clone())))
    );
    assert_eq!(
        target("8200001", 3 * HOUR).await,
        Some(JoinTarget::Room(Box::new(room)))
    );

    let single = create_schedule(store, &new_schedule(&admin, "Single", "8200002", HOUR)).await;
    assert_eq!(
        target("8200002", 0).await,
        Some(JoinTarget::Schedule(Box::new(single)))
    );

    let series = new_series(&admin, "Daily", "8200003", Frequency::Daily, 0, 2 * DAY);
    let occurrences = create_series(store, &series).await;
    let at_day = |d: usize| Some(JoinTarget::Schedule(Box::new(occurrences[d].clone())));
    assert_eq!(target("8200003", 0).await, at_day(0));
    // Between occurrences: the next one; after the last: the last.
    assert_eq!(target("8200003", 2 * HOUR).await, at_day(1));
    assert_eq!(target("8200003", 3 * DAY).await, at_day(2));
}

pub async fn last_end_reason_is_that_of_the_latest_session(store: &dyn Store) {
    let (_, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let schedule = create_schedule(store, &new_schedule(&admin, "Single", "8300001", HOUR)).await;
    assert_eq!(
        store.last_end_reason(schedule.id).await.expect("none"),
        None
    );
    for (start, reason) in [(HOUR, "empty"), (HOUR + 60, "stopped_no_rejoin")] {
        let mut session = session_of(&admin, "8300001", start);
        session.schedule = Some(schedule.id);
        store
            .record_live(vec![
                LiveWrite::SessionStarted(Box::new(session.clone())),
                LiveWrite::SessionEnded {
                    session: session.id,
                    at: at(start + 30),
                    reason,
                    peak_participants: 0,
                },
            ])
            .await
            .expect("record");
    }
    assert_eq!(
        store
            .last_end_reason(schedule.id)
            .await
            .expect("latest")
            .as_deref(),
        Some("stopped_no_rejoin")
    );
}

/// The check behind every contract file's test that its macro lists all its checks, in order:
/// the `pub async fn` names of `source` against the names between the two markers.
#[cfg(test)]
pub(crate) fn assert_every_check_is_listed(source: &str, start: &str, end: &str) {
    let (_, rest) = source.split_once(start).expect("list start marker");
    let (list, _) = rest.split_once(end).expect("list end marker");
    let listed: Vec<&str> = list
        .lines()
        .skip(1)
        .map(|l| l.trim().trim_end_matches(','))
        .filter(|l| !l.is_empty())
        .collect();
    let defined: Vec<&str> = source
        .lines()
        .filter_map(|l| l.strip_prefix("pub async fn "))
        .filter_map(|l| l.split_once('(').map(|(name, _)| name))
        // The runner of the checks, not a check.
        .filter(|name| *name != "run_check")
        .collect();
    assert_eq!(listed, defined);
}

#[cfg(test)]
mod tests {
    /// Every contract check must be listed in [`contract_tests!`], or backends silently skip it.
    #[test]
    fn every_check_is_in_the_macro() {
        super::assert_every_check_is_listed(
            include_str!("contract.rs"),
            "// contract-list-start",
            "// contract-list-end",
        );
    }
}

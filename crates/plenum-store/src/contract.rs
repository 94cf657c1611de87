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
//! The backend's crate needs `plenum-store` with the `contract-tests` feature and `tokio` with
//! the `macros` and `rt-multi-thread` features among its dev-dependencies.

use futures::future::join_all;

use plenum_domain::Timestamp;
use plenum_domain::company::{Company, CompanyName, NewCompany, TimeZoneName};
use plenum_domain::credentials::{SecurityLevel, TokenHash};
use plenum_domain::ids::{CompanyId, UserId};
use plenum_domain::paging::{Page, PageRequest};
use plenum_domain::sign_in::{AccessTokenRecord, LockoutPolicy, SignInThrottle};
use plenum_domain::user::{NewUser, Profile, Role, User, UserChanges, Username};

use crate::{Store, StoreError, StoreResult};

/// Expands to one `#[tokio::test]` per contract check, each running the check against a fresh
/// store made by `$make`: an async function (or closure returning a future) whose output is a
/// [`Fixture`], such as the store itself or `(guard, store)` where the guard (a temporary
/// directory, a throwaway database) must outlive the test.
///
/// Needs `tokio` with the `macros` and `rt-multi-thread` features in the calling crate.
#[macro_export]
macro_rules! contract_tests {
    ($make:expr) => {
        $crate::contract_tests!(@tests $make;
            // contract-list-start (every `pub async fn` check of `contract.rs`, in order)
            empty_store_has_no_companies,
            create_company_creates_company_and_first_admin,
            companies_are_listed_oldest_first,
            duplicate_company_name_is_refused_case_insensitively_and_leaves_no_admin,
            taken_admin_username_leaves_no_company,
            only_one_default_company,
            create_user_returns_the_stored_user,
            usernames_are_unique_case_insensitively_across_companies,
            concurrent_creations_of_one_username_yield_one_user,
            create_user_in_unknown_company_is_not_found,
            user_limit_is_enforced_per_company,
            concurrent_creations_do_not_exceed_the_user_limit,
            user_is_scoped_to_its_company,
            sign_in_record_finds_usernames_case_insensitively,
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
            // contract-list-end
        );
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let fixture = ($make)().await;
                $crate::contract::$name($crate::contract::Fixture::store(&fixture)).await;
            }
        )*
    };
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

fn all() -> PageRequest {
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
async fn company_with_admin(
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

#[cfg(test)]
mod tests {
    /// Every contract check must be listed in [`contract_tests!`], or backends silently skip it.
    #[test]
    fn every_check_is_in_the_macro() {
        let source = include_str!("contract.rs");
        let (_, rest) = source
            .split_once("// contract-list-start")
            .expect("list start marker");
        let (list, _) = rest
            .split_once("// contract-list-end")
            .expect("list end marker");
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
            .collect();
        assert_eq!(listed, defined);
    }
}

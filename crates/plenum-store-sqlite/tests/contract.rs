//! The store contract suite against SQLite, plus what only a file-backed store promises.

use plenum_domain::credentials::{SecurityLevel, TokenHash};
use plenum_domain::paging::PageRequest;
use plenum_domain::sign_in::{AccessTokenRecord, LockoutPolicy, SignInThrottle};
use plenum_domain::user::{Role, UserChanges, Username};
use plenum_store::Store;
use plenum_store::contract::{at, created, new_company, new_user};
use plenum_store_sqlite::{Durability, SqliteStore};
use tempfile::TempDir;

/// A new, empty store in its own temporary directory, which lives as long as the test holds
/// the pair.
async fn fresh_store() -> (TempDir, SqliteStore) {
    let dir = TempDir::new().expect("temporary directory");
    let store = SqliteStore::open(dir.path(), Durability::Normal)
        .await
        .expect("open store");
    (dir, store)
}

plenum_store::contract_tests!(fresh_store);

#[tokio::test]
async fn data_survives_closing_and_reopening() {
    let dir = TempDir::new().expect("temporary directory");

    let mut company = new_company("Platform");
    company.is_default = true;
    let admin = new_user(company.id, "root", Role::SystemAdmin);
    let bob = new_user(company.id, "Bob", Role::Normal);
    let token = AccessTokenRecord {
        hash: TokenHash::of("bob-token"),
        user_id: bob.id,
        company_id: company.id,
        client_id: Some("frtc-desktop".to_owned()),
        issued_at: at(0),
        expires_at: at(3600),
    };
    let policy = LockoutPolicy::default();

    let (company, bob_after) = {
        let store = SqliteStore::open(dir.path(), Durability::Full)
            .await
            .expect("open store");
        let company = store
            .create_company(&company, &admin)
            .await
            .expect("create company");
        store.create_user(&bob).await.expect("create user");
        let bob_after = store
            .update_user(
                company.id,
                bob.id,
                &UserChanges {
                    real_name: Some("Bob Builder".to_owned()),
                    secret: Some(("bob-hash-2".to_owned(), SecurityLevel::High)),
                    ..UserChanges::default()
                },
                at(10),
            )
            .await
            .expect("update user");
        for _ in 0..6 {
            store
                .record_sign_in_failure(bob.id, &policy, at(20))
                .await
                .expect("record failure");
        }
        store.insert_token(&token).await.expect("insert token");
        store.close().await;
        (company, bob_after)
    };

    // Reopening runs the (already applied) migrations again: that must be harmless, twice.
    for _ in 0..2 {
        let store = SqliteStore::open(dir.path(), Durability::Normal)
            .await
            .expect("reopen store");
        assert_eq!(
            store.default_company().await.expect("default company"),
            Some(company.clone())
        );
        assert_eq!(
            store.companies().await.expect("companies"),
            vec![company.clone()]
        );
        assert_eq!(
            store.user(company.id, admin.id).await.expect("user"),
            Some(created(&admin))
        );
        let record = store
            .sign_in_record(&Username::parse("bob").expect("valid"))
            .await
            .expect("sign-in record")
            .expect("bob survived");
        assert_eq!(record.user, bob_after);
        assert_eq!(record.secret_hash, "bob-hash-2");
        assert_eq!(
            record.throttle,
            SignInThrottle {
                consecutive_failures: 6,
                locked_until: Some(at(50)),
            }
        );
        let found = store
            .token(&token.hash)
            .await
            .expect("read token")
            .expect("the token survived");
        assert_eq!(found.token, token);
        assert_eq!(found.user, bob_after);
        let page = PageRequest::by_number(1, 10, 10).expect("valid page");
        let users = store
            .find_users(company.id, None, page)
            .await
            .expect("find users");
        assert_eq!(users.total, 2);
        assert_eq!(store.count_users(company.id).await.expect("count"), 2);
        store.close().await;
    }
}

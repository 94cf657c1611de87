//! Two servers on one PostgreSQL database, in one process: what one changes in accounts,
//! the other stops serving at once (`notices.rs`), not after its revalidation interval. The
//! clock stands still, so only a notice can end what the second server remembers.

use std::sync::Arc;
use std::time::Duration;

use plenum_domain::credentials::Password;
use plenum_domain::user::Username;
use plenum_service::{Credential, ManualClock, Plenum, Policy, ServiceError};
use plenum_store_postgres::PgStore;
use plenum_store_postgres::testing::{self, TestDatabase};

const PASSWORD: &str = "Nodes-test-123";

async fn node(database: &TestDatabase, clock: &Arc<ManualClock>) -> Plenum {
    let store = PgStore::open_with(&database.url(), 4)
        .await
        .expect("a node's store");
    let plenum = Plenum::new(Arc::new(store), clock.clone(), Policy::default());
    // Runs until the test's runtime ends.
    drop(plenum.start_notices());
    plenum
}

/// Waits (at most 10 s) until `node` refuses `token`.
async fn refused_soon(node: &Plenum, token: &str) -> ServiceError {
    for _ in 0..100 {
        match node.accounts().authenticate(token).await {
            Err(e) => return e,
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("the token is still taken after 10 s");
}

#[tokio::test]
async fn a_sign_out_or_a_password_change_on_one_node_ends_the_tokens_on_another_at_once() {
    let Some(server) = testing::server("nodes") else {
        return;
    };
    let database = TestDatabase::create(&server).await;
    let clock = Arc::new(ManualClock::default());
    let a = node(&database, &clock).await;
    let b = node(&database, &clock).await;
    a.accounts()
        .bootstrap(Some(Password::parse_new(PASSWORD).expect("a password")))
        .await
        .expect("first start");
    let admin = Username::parse("admin").expect("a username");
    let sign_in = || async {
        a.accounts()
            .sign_in(
                &admin,
                Credential::Password(Password::parse_for_sign_in(PASSWORD).expect("password")),
                None,
            )
            .await
            .expect("sign in on A")
            .token
    };

    // Signed in on A, and remembered by B once B has checked it.
    let first = sign_in().await;
    b.accounts()
        .authenticate(&first)
        .await
        .expect("A's token works on B");
    let on_a = a.accounts().authenticate(&first).await.expect("on A");
    a.accounts().sign_out(&on_a).await.expect("sign out on A");
    assert!(matches!(
        refused_soon(&b, &first).await,
        ServiceError::TokenInvalid
    ));

    // A password changed on A ends the user's other tokens on B.
    let kept = sign_in().await;
    let other = sign_in().await;
    b.accounts().authenticate(&other).await.expect("on B");
    let principal = a.accounts().authenticate(&kept).await.expect("on A");
    a.accounts()
        .change_own_credential(
            &principal,
            Credential::Password(Password::parse_for_sign_in(PASSWORD).expect("old")),
            Credential::Password(Password::parse_new("Nodes-test-456").expect("new")),
        )
        .await
        .expect("change the password on A");
    refused_soon(&b, &other).await;
    b.accounts()
        .authenticate(&kept)
        .await
        .expect("the token that changed it stays valid");
}

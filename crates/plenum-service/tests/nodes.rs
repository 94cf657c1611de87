//! Two servers on one PostgreSQL database, in one process: what one changes in accounts,
//! the other stops serving at once (`notices.rs`), not after its revalidation interval. The
//! clock stands still, so only a notice can end what the second server remembers. And the
//! limits of the installation (`limits.rs`) count the attempts made on both together.

use std::sync::Arc;
use std::time::Duration;

use plenum_domain::credentials::Password;
use plenum_domain::history::{DeviceType, MediaType};
use plenum_domain::limits::{Attempts, RateWindow};
use plenum_domain::live::JoinRefusal;
use plenum_domain::schedule::{MeetingNumber, MeetingPassword};
use plenum_domain::user::Username;
use plenum_domain::{SignedDuration, Timestamp};
use plenum_service::{
    Clock, Credential, JoinError, LiveJoin, ManualClock, Plenum, Policy, Principal, RoomRequest,
    ServiceError,
};
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

/// Two nodes on a fresh database, the first started, and its admin signed in on the first.
async fn two_nodes(database: &TestDatabase) -> (Arc<ManualClock>, Plenum, Plenum, Arc<Principal>) {
    let clock = Arc::new(ManualClock::default());
    let a = node(database, &clock).await;
    let b = node(database, &clock).await;
    a.accounts()
        .bootstrap(Some(Password::parse_new(PASSWORD).expect("a password")))
        .await
        .expect("first start");
    let token = a
        .accounts()
        .sign_in(
            &Username::parse("admin").expect("a username"),
            Credential::Password(Password::parse_for_sign_in(PASSWORD).expect("password")),
            None,
        )
        .await
        .expect("sign in on A")
        .token;
    let admin = a.accounts().authenticate(&token).await.expect("on A");
    (clock, a, b, admin)
}

/// `t` as the store keeps instants: whole milliseconds.
fn whole_ms(t: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(t.as_millisecond()).expect("an instant")
}

/// A join of meeting `number` with `password`, from `from`: why it was refused, if it was.
async fn join(node: &Plenum, number: &str, password: &str, from: &str) -> Option<JoinRefusal> {
    let (outbox, _pushed) = tokio::sync::mpsc::channel(64);
    let joined = node
        .live()
        .join(
            LiveJoin {
                meeting_number: number.to_owned(),
                password: Some(password.to_owned()),
                display_name: Some("Guesser".to_owned()),
                device_type: DeviceType::Web,
                media_type: MediaType::Video,
                call_number: String::new(),
                principal: None,
                from: Some(from.parse().expect("an address")),
            },
            outbox,
        )
        .await;
    match joined {
        Ok(_) => None,
        Err(JoinError::Refused(refusal)) => Some(refusal),
        Err(other) => panic!("the join failed: {other}"),
    }
}

#[tokio::test]
async fn wrong_meeting_passwords_on_both_nodes_lock_the_address_on_both() {
    let Some(server) = testing::server("nodes_passwords") else {
        return;
    };
    let database = TestDatabase::create(&server).await;
    let (clock, a, b, admin) = two_nodes(&database).await;
    a.scheduling()
        .create_room(
            &admin,
            RoomRequest {
                name: Some("Guarded".to_owned()),
                meeting_number: Some(MeetingNumber::parse("5559101").expect("a number")),
                password: Some(MeetingPassword::parse_optional(Some("1234")).expect("a password")),
                owner: None,
            },
        )
        .await
        .expect("a room with a password");
    let guesser = "192.0.2.7";
    // The policy's free attempts (5) and one more, spread over both nodes: each node alone
    // saw three, and would not lock.
    for (n, wrong) in ["0000", "0001", "0002", "0003", "0004", "0005"]
        .iter()
        .enumerate()
    {
        let node = if n % 2 == 0 { &a } else { &b };
        assert_eq!(
            join(node, "5559101", wrong, guesser).await,
            Some(JoinRefusal::WrongPassword)
        );
    }
    let retry_at = whole_ms(clock.now())
        .checked_add(SignedDuration::from_secs(30))
        .ok();
    for node in [&a, &b] {
        let refusal = join(node, "5559101", "1234", guesser).await;
        assert!(
            matches!(refusal, Some(JoinRefusal::TooManyAttempts { retry_at: at }) if Some(at) == retry_at),
            "locked on both nodes, the right password too: {refusal:?}"
        );
    }
    assert_eq!(
        join(&b, "5559101", "0006", "192.0.2.8").await,
        Some(JoinRefusal::WrongPassword),
        "another address is not locked"
    );
    clock.advance(Duration::from_secs(31));
    assert_eq!(
        join(&b, "5559101", "0007", guesser).await,
        Some(JoinRefusal::WrongPassword),
        "the lock ends as the policy says"
    );
}

#[tokio::test]
async fn failed_sign_ins_on_both_nodes_lock_the_name_on_both_with_or_without_an_account() {
    let Some(server) = testing::server("nodes_sign_ins") else {
        return;
    };
    let database = TestDatabase::create(&server).await;
    let (_clock, a, b, _admin) = two_nodes(&database).await;
    let sign_in = |node: &Plenum, name: &str, password: &str| {
        let node = node.clone();
        let name = Username::parse(name).expect("a username");
        let password = Password::parse_for_sign_in(password).expect("a password");
        async move {
            node.accounts()
                .sign_in(&name, Credential::Password(password), None)
                .await
                .map(|_| ())
        }
    };
    // The admin's account keeps its failures in its row; "ghost" has no account, and its
    // failures are attempt counts. Six wrong guesses each, spread over both nodes.
    for name in ["admin", "ghost"] {
        for n in 0..6 {
            let node = if n % 2 == 0 { &a } else { &b };
            assert!(matches!(
                sign_in(node, name, "Wrong-guess-1").await,
                Err(ServiceError::InvalidCredentials)
            ));
        }
        for node in [&a, &b] {
            assert!(
                matches!(
                    sign_in(node, name, PASSWORD).await,
                    Err(ServiceError::AccountLocked {
                        retry_after_secs: 29..=30
                    })
                ),
                "{name} is locked on both nodes, the right password too"
            );
        }
    }
}

#[tokio::test]
async fn the_rocketchat_limit_counts_the_requests_of_both_nodes_together() {
    let Some(server) = testing::server("nodes_rate") else {
        return;
    };
    let database = TestDatabase::create(&server).await;
    let (clock, a, b, admin) = two_nodes(&database).await;
    let window = RateWindow {
        limit: 3,
        length: SignedDuration::from_millis(1000),
    };
    let requests = Attempts::RocketChatRequests(admin.user.id).key();
    let end = whole_ms(clock.now())
        .checked_add(window.length)
        .expect("an instant");
    let mut verdicts = Vec::new();
    for node in [&a, &b, &a, &b, &b] {
        let verdict = node
            .integrations()
            .count_request(&requests, window)
            .await
            .expect("counted");
        verdicts.push(verdict);
    }
    assert_eq!(
        verdicts,
        [Ok(2), Ok(1), Ok(0), Err(end), Err(end)],
        "three per second for the installation, not per node"
    );
    clock.advance(Duration::from_millis(1000));
    assert_eq!(
        b.integrations()
            .count_request(&requests, window)
            .await
            .expect("counted"),
        Ok(2),
        "a new window"
    );
}

//! The contract of meeting leases ([`Leases`](crate::Leases)), for every backend. Run by
//! [`contract_tests!`](crate::contract_tests) with the rest of the suite; its checks are
//! listed in [`leases_contract_tests!`](crate::leases_contract_tests).

use plenum_domain::Timestamp;
use plenum_domain::ids::NodeId;
use plenum_domain::nodes::{LeaseTerms, NodeRef};
use plenum_domain::schedule::MeetingNumber;

use crate::Store;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).expect("an instant")
}

fn node(n: i64, address: &str) -> NodeRef {
    NodeRef {
        id: NodeId::new(at(n)),
        address: address.to_owned(),
    }
}

fn number(n: &str) -> MeetingNumber {
    MeetingNumber::parse(n).expect("a meeting number")
}

/// Leases of 15 s (the default terms).
const TERMS: LeaseTerms = LeaseTerms::DEFAULT;

/// Expands to one `#[tokio::test]` per lease check; `contract_tests!` invokes it.
#[macro_export]
macro_rules! leases_contract_tests {
    ($make:expr, $expect:expr) => {
        $crate::contract_tests!(@tests_of contract_leases; $make; $expect;
            // leases-contract-list-start (every `pub async fn` check of this file, in order)
            a_meeting_is_held_by_its_first_claimant_until_the_lease_ends,
            the_heartbeat_renews_only_live_leases_of_its_node,
            a_meeting_is_released_only_by_its_holder,
            concurrent_claims_of_one_meeting_leave_one_holder,
            abandoned_sessions_are_closed_by_meeting_or_for_want_of_a_live_lease,
            the_first_fingerprint_offered_for_a_secret_is_the_one_agreed,
            only_recordings_of_ended_meetings_are_left_to_recover,
            // leases-contract-list-end
        );
    };
}

pub async fn a_meeting_is_held_by_its_first_claimant_until_the_lease_ends(store: &dyn Store) {
    let (a, b) = (node(1, "http://a:7480"), node(2, "http://b:7480"));
    let meeting = number("5550100");
    assert_eq!(store.meeting_lease(&meeting).await.expect("lease"), None);
    let taken = store
        .claim_meeting(&meeting, &a, at(0), TERMS)
        .await
        .expect("claim");
    assert_eq!(taken.holder, a);
    assert_eq!(taken.expires_at, at(15));
    // B is told who holds it, with A's address, while the lease lives.
    let told = store
        .claim_meeting(&meeting, &b, at(10), TERMS)
        .await
        .expect("claim");
    assert_eq!(told.holder, a);
    assert_eq!(told.expires_at, at(15));
    // A's own claim renews it.
    let renewed = store
        .claim_meeting(&meeting, &a, at(12), TERMS)
        .await
        .expect("claim");
    assert_eq!((renewed.holder.id, renewed.expires_at), (a.id, at(27)));
    // Not renewed again: once it has ended, B takes the meeting.
    let taken_over = store
        .claim_meeting(&meeting, &b, at(27), TERMS)
        .await
        .expect("claim");
    assert_eq!((&taken_over.holder, taken_over.expires_at), (&b, at(42)));
    assert_eq!(
        store.meeting_lease(&meeting).await.expect("lease"),
        Some(taken_over)
    );
}

pub async fn the_heartbeat_renews_only_live_leases_of_its_node(store: &dyn Store) {
    let (a, b) = (node(1, "http://a:7480"), node(2, "http://b:7480"));
    let (m1, m2, m3) = (number("5550101"), number("5550102"), number("5550103"));
    for m in [&m1, &m2] {
        store
            .claim_meeting(m, &a, at(0), TERMS)
            .await
            .expect("claim");
    }
    store
        .claim_meeting(&m3, &b, at(0), TERMS)
        .await
        .expect("claim");
    let mut held = store
        .renew_leases(a.id, at(10), TERMS)
        .await
        .expect("renew");
    held.sort();
    assert_eq!(held, vec![m1.clone(), m2.clone()]);
    assert_eq!(
        store
            .meeting_lease(&m1)
            .await
            .expect("lease")
            .map(|l| l.expires_at),
        Some(at(25))
    );
    // B's lease is not A's to renew.
    assert_eq!(
        store
            .meeting_lease(&m3)
            .await
            .expect("lease")
            .map(|l| l.expires_at),
        Some(at(15))
    );
    // A stalls past its leases; B takes one; A's next heartbeat learns it lost it, and does
    // not bring back the one that merely ended.
    store
        .claim_meeting(&m1, &b, at(26), TERMS)
        .await
        .expect("claim");
    assert_eq!(
        store
            .renew_leases(a.id, at(27), TERMS)
            .await
            .expect("renew"),
        Vec::<MeetingNumber>::new()
    );
    assert_eq!(
        store
            .meeting_lease(&m2)
            .await
            .expect("lease")
            .map(|l| l.expires_at),
        Some(at(25))
    );
}

pub async fn a_meeting_is_released_only_by_its_holder(store: &dyn Store) {
    let (a, b) = (node(1, "http://a:7480"), node(2, "http://b:7480"));
    let meeting = number("5550104");
    store
        .claim_meeting(&meeting, &a, at(0), TERMS)
        .await
        .expect("claim");
    store
        .release_meeting(&meeting, b.id)
        .await
        .expect("release");
    assert!(
        store
            .meeting_lease(&meeting)
            .await
            .expect("lease")
            .is_some()
    );
    store
        .release_meeting(&meeting, a.id)
        .await
        .expect("release");
    assert_eq!(store.meeting_lease(&meeting).await.expect("lease"), None);
    // Free again: the next claimant takes it at once.
    let taken = store
        .claim_meeting(&meeting, &b, at(1), TERMS)
        .await
        .expect("claim");
    assert_eq!(taken.holder, b);
}

pub async fn concurrent_claims_of_one_meeting_leave_one_holder(store: &dyn Store) {
    let meeting = number("5550105");
    let nodes: Vec<NodeRef> = (1..=8)
        .map(|n| node(n, &format!("http://n{n}:7480")))
        .collect();
    let claims = nodes
        .iter()
        .map(|n| store.claim_meeting(&meeting, n, at(0), TERMS));
    let answers = futures::future::join_all(claims).await;
    let holders: std::collections::HashSet<NodeId> = answers
        .into_iter()
        .map(|a| a.expect("claim").holder.id)
        .collect();
    assert_eq!(holders.len(), 1, "every claimant is told the same holder");
    let lease = store
        .meeting_lease(&meeting)
        .await
        .expect("lease")
        .expect("held");
    assert!(holders.contains(&lease.holder.id));
}

/// What a dead node left open is closed without touching what live nodes run: by meeting
/// (after its lease was taken over) or for every meeting whose lease ended.
pub async fn abandoned_sessions_are_closed_by_meeting_or_for_want_of_a_live_lease(
    store: &dyn Store,
) {
    use crate::contract::{all, attendance_of, company_with_admin, session_of};
    use crate::{Abandon, Abandoned, LiveWrite};

    let (_, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let (a, b) = (node(1, "http://a:7480"), node(2, "http://b:7480"));
    // Leases taken at 0 (they end at 15): A renews at 10, B does not.
    let held = session_of(&admin, "5550201", 0);
    let dead = session_of(&admin, "5550202", 0);
    let unleased = session_of(&admin, "5550203", 0);
    let mut writes = Vec::new();
    for session in [&held, &dead, &unleased] {
        writes.push(LiveWrite::SessionStarted(Box::new(session.clone())));
        writes.push(LiveWrite::Joined(Box::new(attendance_of(
            session,
            Some(admin.id),
            "Ann",
            1,
        ))));
    }
    store.record_live(writes).await.expect("record");
    store
        .claim_meeting(&held.meeting_number, &a, at(0), TERMS)
        .await
        .expect("claim");
    store
        .claim_meeting(&dead.meeting_number, &b, at(0), TERMS)
        .await
        .expect("claim");
    store
        .renew_leases(a.id, at(10), TERMS)
        .await
        .expect("renew");

    // At 20, B's lease has ended and nobody ever held 5550203: those two are closed.
    let swept = store
        .close_abandoned("server_shutdown", Abandon::Unleased(at(20)))
        .await
        .expect("sweep");
    assert_eq!(
        swept,
        Abandoned {
            sessions: 2,
            attendance: 2
        }
    );
    let open =
        |list: &plenum_domain::paging::Page<plenum_domain::history_query::SessionSummary>| {
            let mut open: Vec<String> = list
                .items
                .iter()
                .filter(|s| s.session.ended_at.is_none())
                .map(|s| s.session.meeting_number.to_string())
                .collect();
            open.sort();
            open
        };
    let query = plenum_domain::history_query::SessionQuery::default();
    let listed = store
        .find_sessions(admin.company_id, &query, all())
        .await
        .expect("list");
    assert_eq!(open(&listed), ["5550201"]);
    // The ended lease is forgotten with its meeting; the live one stays.
    assert_eq!(
        store
            .meeting_lease(&dead.meeting_number)
            .await
            .expect("lease"),
        None
    );
    assert!(
        store
            .meeting_lease(&held.meeting_number)
            .await
            .expect("lease")
            .is_some()
    );

    // Closing one meeting closes only it, live lease or not.
    let other = session_of(&admin, "5550204", 30);
    store
        .record_live(vec![LiveWrite::SessionStarted(Box::new(other))])
        .await
        .expect("record");
    let one = store
        .close_abandoned("server_shutdown", Abandon::Meeting(&held.meeting_number))
        .await
        .expect("close one");
    assert_eq!(
        one,
        Abandoned {
            sessions: 1,
            attendance: 1
        }
    );
    let listed = store
        .find_sessions(admin.company_id, &query, all())
        .await
        .expect("list");
    assert_eq!(open(&listed), ["5550204"]);
}

pub async fn the_first_fingerprint_offered_for_a_secret_is_the_one_agreed(store: &dyn Store) {
    let first = store
        .secret_fingerprint("app-key", "aaaa")
        .await
        .expect("offer");
    assert_eq!(first, "aaaa");
    // Later offers are told the agreed one; each name is its own.
    assert_eq!(
        store
            .secret_fingerprint("app-key", "bbbb")
            .await
            .expect("offer"),
        "aaaa"
    );
    assert_eq!(
        store
            .secret_fingerprint("recording-links", "cccc")
            .await
            .expect("offer"),
        "cccc"
    );
}

/// A recording still `processing` is being written while its meeting runs (on a node of
/// several, by another node): only those of ended sessions are left to recover.
pub async fn only_recordings_of_ended_meetings_are_left_to_recover(store: &dyn Store) {
    use crate::contract::{company_with_admin, session_of};
    use crate::{Abandon, LiveWrite};
    use plenum_domain::history::{Recording, RecordingFile, RecordingKind, RecordingStatus};
    use plenum_domain::ids::RecordingId;

    let (_, admin) = company_with_admin(store, "Acme", "admin", 10).await;
    let recording_of = |session: &plenum_domain::history::Session, n: i64| Recording {
        id: RecordingId::new(at(n)),
        company: admin.company_id,
        session: session.id,
        attendance: None,
        kind: RecordingKind::Video,
        status: RecordingStatus::Processing,
        codec: "vp8".to_owned(),
        size_bytes: 0,
        duration_secs: 0,
        started_at: session.started_at,
        ended_at: None,
        completed_at: None,
        download_url: String::new(),
        file: Some(RecordingFile::Webm),
        failure: None,
        created_at: session.started_at,
        updated_at: session.started_at,
    };
    let running = session_of(&admin, "5550301", 0);
    let dead = session_of(&admin, "5550302", 0);
    let (kept, left) = (recording_of(&running, 1), recording_of(&dead, 2));
    store
        .record_live(vec![
            LiveWrite::SessionStarted(Box::new(running.clone())),
            LiveWrite::SessionStarted(Box::new(dead.clone())),
            LiveWrite::RecordingStarted(Box::new(kept.clone())),
            LiveWrite::RecordingStarted(Box::new(left.clone())),
        ])
        .await
        .expect("record");
    assert!(
        store
            .unfinished_recordings()
            .await
            .expect("unfinished")
            .is_empty()
    );
    store
        .close_abandoned("server_shutdown", Abandon::Meeting(&dead.meeting_number))
        .await
        .expect("close");
    let unfinished: Vec<_> = store
        .unfinished_recordings()
        .await
        .expect("unfinished")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(unfinished, [left.id]);
}

#[cfg(test)]
mod tests {
    /// Every check must be listed in [`leases_contract_tests!`], or backends skip it.
    #[test]
    fn every_check_is_in_the_macro() {
        crate::contract::assert_every_check_is_listed(
            include_str!("contract_leases.rs"),
            "// leases-contract-list-start",
            "// leases-contract-list-end",
        );
    }
}

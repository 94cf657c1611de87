//! The contract of [`Webhooks`](crate::Webhooks) and [`AuditLog`](crate::AuditLog): endpoints,
//! the outbox and its deliveries in order per meeting, attempts, replay, retention, and the
//! audit log. Run by [`contract_tests!`](crate::contract_tests) with the rest of the suite;
//! its checks are listed in [`webhooks_contract_tests!`](crate::webhooks_contract_tests).

use plenum_domain::Timestamp;
use plenum_domain::audit::{Action, Actor, ActorFilter, AuditEntry, AuditFilter};
use plenum_domain::company::Company;
use plenum_domain::ids::{CompanyId, EventId, WebhookId};
use plenum_domain::paging::PageRequest;
use plenum_domain::user::User;
use plenum_domain::webhooks::{
    Endpoint, EventType, EventTypes, NewEndpoint, OutboxEvent, SigningSeed, WebhookUrl,
};

use crate::contract::{at, attendance_of, company_with_admin, meeting_number, session_of};
use crate::{
    Attempt, AttemptResult, DueDelivery, LiveWrite, Registration, Store, StoreError, Trail,
};

/// Expands to one `#[tokio::test]` per webhook and audit check; `contract_tests!` invokes it.
#[macro_export]
macro_rules! webhooks_contract_tests {
    ($make:expr) => {
        $crate::webhooks_contract_tests!($make, $crate::contract::run_every_check);
    };
    ($make:expr, $expect:expr) => {
        $crate::contract_tests!(@tests_of contract_webhooks; $make; $expect;
            // webhooks-contract-list-start (every `pub async fn` check of this file, in order)
            endpoints_round_trip_within_their_company,
            a_url_is_registered_once_per_company,
            events_are_kept_only_where_an_endpoint_takes_them,
            an_endpoint_is_given_only_events_written_after_its_registration,
            events_after_an_expiry_of_everything_are_delivered,
            events_and_audit_entries_share_the_fate_of_their_live_batch,
            deliveries_wait_for_the_earlier_events_of_their_meeting,
            attempts_are_logged_and_mark_an_endpoint_failing_until_one_succeeds,
            replay_sends_one_event_or_everything_since_an_instant_again,
            deleting_an_endpoint_removes_its_deliveries_and_attempts,
            expiry_forgets_old_events_but_not_undelivered_ones,
            rotating_a_secret_replaces_the_seed_of_that_endpoint_only,
            the_audit_log_filters_and_pages_newest_first_within_its_company,
            audit_expiry_removes_only_old_entries,
            a_changes_trail_is_written_if_and_only_if_the_change_is,
            a_claimed_delivery_is_offered_to_no_other_claim,
            // webhooks-contract-list-end
        );
    };
}

// --- helpers --------------------------------------------------------------------------------

fn audit(company: CompanyId, action: Action, offset: i64) -> AuditEntry {
    AuditEntry {
        company,
        actor: Actor::Operator,
        address: None,
        action,
        target: "test".to_owned(),
        meeting: None,
        details: "{}".to_owned(),
        at: at(offset),
    }
}

fn endpoint(company: &Company, url: &str, types: EventTypes, offset: i64) -> NewEndpoint {
    NewEndpoint {
        endpoint: Endpoint {
            id: WebhookId::new(at(offset)),
            company: company.id,
            url: WebhookUrl::parse(url, true).expect("test URLs are valid"),
            description: format!("hook {url}"),
            types,
            created_at: at(offset),
            secret_rotated_at: at(offset),
            failing_since: None,
        },
        seed: SigningSeed([offset as u8; 32]),
    }
}

/// Registers an endpoint created after every one registered before (so lists, oldest first,
/// are in registration order), with the seed `[1; 32]`.
async fn register(store: &dyn Store, company: &Company, url: &str, types: EventTypes) -> Endpoint {
    static CREATED: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);
    let offset = CREATED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut new = endpoint(company, url, types, offset);
    new.seed = SigningSeed([1; 32]);
    match store
        .create_webhook(&new, &audit(company.id, Action::WebhookCreate, 1))
        .await
        .expect("register an endpoint")
    {
        Registration::Created(e) => e,
        other => panic!("not registered: {other:?}"),
    }
}

fn types(list: &[EventType]) -> EventTypes {
    EventTypes::parse(Some(
        &list
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect::<Vec<_>>(),
    ))
    .expect("known types")
}

fn event(company: CompanyId, kind: EventType, meeting: Option<&str>, offset: i64) -> OutboxEvent {
    OutboxEvent::new(
        kind,
        at(offset),
        company,
        meeting.map(meeting_number),
        &format!("{kind} at {offset}"),
    )
}

async fn emit(store: &dyn Store, events: &[OutboxEvent]) {
    store
        .append_trail(&Trail {
            events: events.to_vec(),
            audit: Vec::new(),
        })
        .await
        .expect("append events");
}

async fn due(store: &dyn Store, now: i64) -> Vec<DueDelivery> {
    store
        .due_deliveries(at(now), 100)
        .await
        .expect("due deliveries")
}

fn ids(due: &[DueDelivery]) -> Vec<EventId> {
    due.iter().map(|d| d.event).collect()
}

fn attempt_of(d: &DueDelivery, offset: i64, status: Option<u16>) -> Attempt {
    Attempt {
        endpoint: d.endpoint,
        event: d.event,
        event_seq: d.event_seq,
        kind: d.kind,
        number: d.attempts + 1,
        at: at(offset),
        duration_ms: 3,
        status,
        error: status.is_none().then(|| "connection refused".to_owned()),
        delivered: status.is_some_and(|s| (200..300).contains(&s)),
    }
}

async fn settle(store: &dyn Store, d: &DueDelivery, offset: i64, result: AttemptResult) {
    let status = match result {
        AttemptResult::Delivered => Some(204),
        _ => Some(503),
    };
    store
        .record_attempts(vec![(attempt_of(d, offset, status), result)])
        .await
        .expect("record an attempt");
}

async fn two_companies(store: &dyn Store) -> ((Company, User), (Company, User)) {
    (
        company_with_admin(store, "Acme", "admin", 10).await,
        company_with_admin(store, "Globex", "globex-admin", 10).await,
    )
}

// --- checks --------------------------------------------------------------------------------

pub async fn endpoints_round_trip_within_their_company(store: &dyn Store) {
    let ((acme, _), (globex, _)) = two_companies(store).await;
    let a = register(store, &acme, "https://a.example/hook", EventTypes::ALL).await;
    let b = register(
        store,
        &acme,
        "https://b.example/hook",
        types(&[EventType::MeetingStarted]),
    )
    .await;
    assert_eq!(
        store.webhooks(acme.id).await.expect("list"),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(
        store.webhook(acme.id, b.id).await.expect("get"),
        Some(b.clone())
    );
    // Another company sees, deletes and rotates nothing of them.
    assert!(store.webhooks(globex.id).await.expect("list").is_empty());
    assert_eq!(store.webhook(globex.id, a.id).await.expect("get"), None);
    let other = audit(globex.id, Action::WebhookDelete, 2);
    assert!(matches!(
        store.delete_webhook(globex.id, a.id, &other).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .rotate_webhook_secret(globex.id, a.id, &SigningSeed([9; 32]), at(2), &other)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.webhook_attempts(globex.id, a.id, 10).await,
        Err(StoreError::NotFound)
    ));
    store
        .delete_webhook(acme.id, a.id, &audit(acme.id, Action::WebhookDelete, 3))
        .await
        .expect("delete");
    assert_eq!(store.webhooks(acme.id).await.expect("list"), vec![b]);
    // Each change is in the audit log of the company that made it, nothing in the other's.
    let log = store
        .audit_log(acme.id, &AuditFilter::default(), page(1, 10))
        .await
        .expect("audit");
    let actions: Vec<Action> = log.items.iter().map(|r| r.entry.action).collect();
    assert_eq!(
        actions,
        vec![
            Action::WebhookDelete,
            Action::WebhookCreate,
            Action::WebhookCreate
        ]
    );
    let theirs = store
        .audit_log(globex.id, &AuditFilter::default(), page(1, 10))
        .await
        .expect("audit");
    assert_eq!(theirs.total, 0, "refused changes leave no entry");
}

pub async fn a_url_is_registered_once_per_company(store: &dyn Store) {
    let ((acme, _), (globex, _)) = two_companies(store).await;
    let first = register(store, &acme, "https://hooks.example/x", EventTypes::ALL).await;
    let again = endpoint(&acme, "https://hooks.example/x", EventTypes::ALL, 5);
    assert_eq!(
        store
            .create_webhook(&again, &audit(acme.id, Action::WebhookCreate, 5))
            .await
            .expect("answered"),
        Registration::UrlTaken { existing: first.id }
    );
    assert_eq!(store.webhooks(acme.id).await.expect("list").len(), 1);
    // Another company may register the same URL.
    register(store, &globex, "https://hooks.example/x", EventTypes::ALL).await;
    let log = store
        .audit_log(acme.id, &AuditFilter::default(), page(1, 10))
        .await
        .expect("audit");
    assert_eq!(log.total, 1, "the refused registration left no entry");
}

pub async fn events_are_kept_only_where_an_endpoint_takes_them(store: &dyn Store) {
    let ((acme, _), (globex, _)) = two_companies(store).await;
    // Nobody listens yet: nothing is kept.
    emit(store, &[event(acme.id, EventType::UserCreated, None, 1)]).await;
    assert_eq!(store.pending_deliveries().await.expect("depth"), 0);
    let started = register(
        store,
        &acme,
        "https://a.example/",
        types(&[EventType::MeetingStarted]),
    )
    .await;
    let all = register(store, &acme, "https://b.example/", EventTypes::ALL).await;
    let user = event(acme.id, EventType::UserCreated, None, 2);
    let meeting = event(acme.id, EventType::MeetingStarted, Some("5550001"), 3);
    let elsewhere = event(globex.id, EventType::MeetingStarted, Some("5550002"), 4);
    emit(store, &[user.clone(), meeting.clone(), elsewhere]).await;
    // user.created to the endpoint that takes all; meeting.started to both; Globex's to none.
    assert_eq!(store.pending_deliveries().await.expect("depth"), 3);
    let due = due(store, 10).await;
    let mut got: Vec<(WebhookId, EventId)> = due.iter().map(|d| (d.endpoint, d.event)).collect();
    got.sort();
    let mut want = vec![
        (all.id, user.id),
        (all.id, meeting.id),
        (started.id, meeting.id),
    ];
    want.sort();
    assert_eq!(got, want);
    let d = due.iter().find(|d| d.event == meeting.id).expect("due");
    assert_eq!(d.body, meeting.body);
    assert_eq!(d.kind, EventType::MeetingStarted);
    assert_eq!(d.company, acme.id);
    assert_eq!(d.attempts, 0);
    // Not before they happened.
    assert!(
        store
            .due_deliveries(at(1), 100)
            .await
            .expect("due")
            .is_empty()
    );
    assert_eq!(
        store.next_delivery_due(at(1)).await.expect("next"),
        Some(at(2))
    );
    assert_eq!(store.next_delivery_due(at(3)).await.expect("next"), None);
}

pub async fn an_endpoint_is_given_only_events_written_after_its_registration(store: &dyn Store) {
    let ((acme, _), _) = two_companies(store).await;
    let first = register(store, &acme, "https://a.example/", EventTypes::ALL).await;
    let before = event(acme.id, EventType::UserCreated, None, 1);
    emit(store, std::slice::from_ref(&before)).await;
    // Registered after the event was written, before anything read the queue.
    let second = register(store, &acme, "https://b.example/", EventTypes::ALL).await;
    let after = event(acme.id, EventType::UserCreated, None, 2);
    emit(store, std::slice::from_ref(&after)).await;
    let mut got: Vec<(WebhookId, EventId)> = due(store, 10)
        .await
        .iter()
        .map(|d| (d.endpoint, d.event))
        .collect();
    got.sort();
    let mut want = vec![
        (first.id, before.id),
        (first.id, after.id),
        (second.id, after.id),
    ];
    want.sort();
    assert_eq!(got, want);
}

pub async fn events_after_an_expiry_of_everything_are_delivered(store: &dyn Store) {
    let ((acme, _), _) = two_companies(store).await;
    register(store, &acme, "https://a.example/", EventTypes::ALL).await;
    let old = [
        event(acme.id, EventType::UserCreated, None, 1),
        event(acme.id, EventType::UserCreated, None, 2),
    ];
    emit(store, &old).await;
    for d in due(store, 10).await {
        settle(store, &d, 11, AttemptResult::Delivered).await;
    }
    store.expire_webhook_events(at(40)).await.expect("expire");
    // Whatever expiry kept, a new event is due, once.
    let new = event(acme.id, EventType::UserCreated, None, 50);
    emit(store, std::slice::from_ref(&new)).await;
    assert_eq!(ids(&due(store, 60).await), vec![new.id]);
    assert_eq!(store.pending_deliveries().await.expect("depth"), 1);
}

pub async fn events_and_audit_entries_share_the_fate_of_their_live_batch(store: &dyn Store) {
    let ((acme, admin), _) = two_companies(store).await;
    register(store, &acme, "https://a.example/", EventTypes::ALL).await;
    let session = session_of(&admin, "5550003", 0);
    let stranger = session_of(&admin, "5550004", 0);
    let joined = event(acme.id, EventType::ParticipantJoined, Some("5550003"), 1);
    let mut host_action = audit(acme.id, Action::MeetingLock, 1);
    host_action.meeting = Some(meeting_number("5550003"));
    // A batch that fails (its join names a session never started) keeps neither.
    assert!(
        store
            .record_live(vec![
                LiveWrite::Outbox(Box::new(joined.clone())),
                LiveWrite::Audit(Box::new(host_action.clone())),
                LiveWrite::Joined(Box::new(attendance_of(&stranger, None, "Ghost", 1))),
            ])
            .await
            .is_err()
    );
    assert_eq!(store.pending_deliveries().await.expect("depth"), 0);
    let empty = store
        .audit_log(acme.id, &AuditFilter::default(), page(1, 10))
        .await
        .expect("audit");
    assert_eq!(empty.total, 1, "only the registration's entry");
    // The same writes with the session started are kept together.
    store
        .record_live(vec![
            LiveWrite::SessionStarted(Box::new(session.clone())),
            LiveWrite::Joined(Box::new(attendance_of(&session, None, "Guest", 1))),
            LiveWrite::Outbox(Box::new(joined.clone())),
            LiveWrite::Audit(Box::new(host_action.clone())),
        ])
        .await
        .expect("a good batch");
    assert_eq!(ids(&due(store, 5).await), vec![joined.id]);
    let log = store
        .audit_log(
            acme.id,
            &AuditFilter {
                meeting: Some(meeting_number("5550003")),
                ..AuditFilter::default()
            },
            page(1, 10),
        )
        .await
        .expect("audit");
    assert_eq!(log.items.len(), 1);
    assert_eq!(log.items[0].entry, host_action);
}

pub async fn deliveries_wait_for_the_earlier_events_of_their_meeting(store: &dyn Store) {
    let ((acme, _), _) = two_companies(store).await;
    let hook = register(store, &acme, "https://a.example/", EventTypes::ALL).await;
    let m1a = event(acme.id, EventType::MeetingStarted, Some("5550010"), 1);
    let m2a = event(acme.id, EventType::MeetingStarted, Some("5550020"), 2);
    let m1b = event(acme.id, EventType::ParticipantJoined, Some("5550010"), 3);
    let loose = event(acme.id, EventType::UserCreated, None, 4);
    let m1c = event(acme.id, EventType::MeetingEnded, Some("5550010"), 5);
    emit(
        store,
        &[
            m1a.clone(),
            m2a.clone(),
            m1b.clone(),
            loose.clone(),
            m1c.clone(),
        ],
    )
    .await;
    // Only the first of each meeting, and the event of no meeting.
    let first = due(store, 10).await;
    assert_eq!(ids(&first), vec![m1a.id, m2a.id, loose.id]);
    // The first of meeting 1 fails: nothing more of meeting 1 until it is through.
    let head = first[0].clone();
    settle(store, &head, 11, AttemptResult::RetryAt(at(30))).await;
    assert_eq!(ids(&due(store, 12).await), vec![m2a.id, loose.id]);
    let retried = due(store, 30).await;
    assert_eq!(ids(&retried), vec![m2a.id, loose.id, m1a.id]);
    assert_eq!(retried[2].attempts, 1);
    settle(store, &retried[2], 31, AttemptResult::Delivered).await;
    assert_eq!(ids(&due(store, 32).await), vec![m2a.id, m1b.id, loose.id]);
    // An exhausted event no longer holds the meeting's later ones back.
    let next = due(store, 32).await;
    let m1b_due = next.iter().find(|d| d.event == m1b.id).expect("due");
    settle(store, m1b_due, 33, AttemptResult::Exhausted).await;
    assert_eq!(ids(&due(store, 34).await), vec![m2a.id, loose.id, m1c.id]);
    assert_eq!(store.pending_deliveries().await.expect("depth"), 3);
    let _ = hook;
}

pub async fn attempts_are_logged_and_mark_an_endpoint_failing_until_one_succeeds(
    store: &dyn Store,
) {
    let ((acme, _), _) = two_companies(store).await;
    let hook = register(store, &acme, "https://a.example/", EventTypes::ALL).await;
    let e1 = event(acme.id, EventType::UserCreated, None, 1);
    let e2 = event(acme.id, EventType::UserCreated, None, 2);
    emit(store, &[e1.clone(), e2.clone()]).await;
    let due1 = due(store, 10).await;
    // A failure without an answer, then the schedule's end.
    store
        .record_attempts(vec![
            (
                attempt_of(&due1[0], 11, None),
                AttemptResult::RetryAt(at(12)),
            ),
            (
                attempt_of(&due1[1], 11, Some(500)),
                AttemptResult::Exhausted,
            ),
        ])
        .await
        .expect("record");
    let failing = store
        .webhook(acme.id, hook.id)
        .await
        .expect("get")
        .expect("endpoint");
    assert_eq!(failing.failing_since, Some(at(11)));
    let again = due(store, 12).await;
    assert_eq!(ids(&again), vec![e1.id]);
    settle(store, &again[0], 13, AttemptResult::Delivered).await;
    let healthy = store
        .webhook(acme.id, hook.id)
        .await
        .expect("get")
        .expect("endpoint");
    assert_eq!(healthy.failing_since, None);
    let log = store
        .webhook_attempts(acme.id, hook.id, 10)
        .await
        .expect("attempts");
    let seen: Vec<(EventId, u32, Option<u16>, bool)> = log
        .iter()
        .map(|a| (a.event, a.number, a.status, a.delivered))
        .collect();
    assert_eq!(
        seen,
        vec![
            (e1.id, 2, Some(204), true),
            (e2.id, 1, Some(500), false),
            (e1.id, 1, None, false),
        ]
    );
    assert_eq!(log[2].error.as_deref(), Some("connection refused"));
    assert_eq!(log[0].at, at(13));
    assert_eq!(
        store
            .webhook_attempts(acme.id, hook.id, 1)
            .await
            .expect("attempts")
            .len(),
        1
    );
    assert_eq!(store.pending_deliveries().await.expect("depth"), 0);
}

pub async fn replay_sends_one_event_or_everything_since_an_instant_again(store: &dyn Store) {
    let ((acme, _), (globex, _)) = two_companies(store).await;
    let hook = register(
        store,
        &acme,
        "https://a.example/",
        types(&[EventType::MeetingStarted, EventType::MeetingEnded]),
    )
    .await;
    let other = register(store, &globex, "https://g.example/", EventTypes::ALL).await;
    let started = event(acme.id, EventType::MeetingStarted, Some("5550030"), 1);
    let ended = event(acme.id, EventType::MeetingEnded, Some("5550030"), 5);
    let later = event(acme.id, EventType::MeetingStarted, Some("5550031"), 9);
    let theirs = event(globex.id, EventType::MeetingStarted, Some("5550032"), 2);
    emit(
        store,
        &[
            started.clone(),
            ended.clone(),
            later.clone(),
            theirs.clone(),
        ],
    )
    .await;
    for d in due(store, 10).await {
        settle(store, &d, 11, AttemptResult::Delivered).await;
    }
    for d in due(store, 12).await {
        settle(store, &d, 12, AttemptResult::Delivered).await;
    }
    assert_eq!(store.pending_deliveries().await.expect("depth"), 0);
    // One event, from its first attempt.
    store
        .replay_event(
            acme.id,
            hook.id,
            ended.id,
            at(20),
            &audit(acme.id, Action::WebhookReplay, 20),
        )
        .await
        .expect("replay one");
    let replayed = due(store, 20).await;
    assert_eq!(ids(&replayed), vec![ended.id]);
    assert_eq!(replayed[0].attempts, 0);
    assert!(due(store, 19).await.is_empty(), "due from the replay on");
    // Not another company's event, nor to another company's endpoint.
    let refused = audit(acme.id, Action::WebhookReplay, 21);
    assert!(matches!(
        store
            .replay_event(acme.id, hook.id, theirs.id, at(21), &refused)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .replay_event(acme.id, other.id, started.id, at(21), &refused)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .replay_since(acme.id, other.id, at(0), at(21), &refused)
            .await,
        Err(StoreError::NotFound)
    ));
    settle(store, &replayed[0], 21, AttemptResult::Delivered).await;
    // Everything since an instant: the two from then on, in order per meeting.
    let n = store
        .replay_since(
            acme.id,
            hook.id,
            at(5),
            at(30),
            &audit(acme.id, Action::WebhookReplay, 30),
        )
        .await
        .expect("replay since");
    assert_eq!(n, 2);
    assert_eq!(ids(&due(store, 30).await), vec![ended.id, later.id]);
    let log = store
        .audit_log(
            acme.id,
            &AuditFilter {
                action: Some(Action::WebhookReplay),
                ..AuditFilter::default()
            },
            page(1, 10),
        )
        .await
        .expect("audit");
    assert_eq!(log.total, 2, "the refused replays left no entry");
}

pub async fn deleting_an_endpoint_removes_its_deliveries_and_attempts(store: &dyn Store) {
    let ((acme, _), _) = two_companies(store).await;
    let a = register(store, &acme, "https://a.example/", EventTypes::ALL).await;
    let b = register(store, &acme, "https://b.example/", EventTypes::ALL).await;
    let e = event(acme.id, EventType::UserCreated, None, 1);
    emit(store, std::slice::from_ref(&e)).await;
    let due_a = due(store, 2)
        .await
        .into_iter()
        .find(|d| d.endpoint == a.id)
        .expect("due to a");
    store
        .delete_webhook(acme.id, a.id, &audit(acme.id, Action::WebhookDelete, 3))
        .await
        .expect("delete");
    // An attempt that was under way when it went leaves nothing behind.
    settle(store, &due_a, 4, AttemptResult::Delivered).await;
    let left = due(store, 5).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].endpoint, b.id);
    assert_eq!(store.pending_deliveries().await.expect("depth"), 1);
}

pub async fn expiry_forgets_old_events_but_not_undelivered_ones(store: &dyn Store) {
    let ((acme, _), _) = two_companies(store).await;
    let hook = register(store, &acme, "https://a.example/", EventTypes::ALL).await;
    let old = event(acme.id, EventType::UserCreated, None, 1);
    let stuck = event(acme.id, EventType::UserCreated, None, 2);
    let young = event(acme.id, EventType::UserCreated, None, 50);
    emit(store, &[old.clone(), stuck.clone(), young.clone()]).await;
    let now = due(store, 60).await;
    let of = |id: EventId| now.iter().find(|d| d.event == id).expect("due").clone();
    settle(store, &of(old.id), 3, AttemptResult::Delivered).await;
    settle(store, &of(young.id), 51, AttemptResult::Delivered).await;
    assert_eq!(
        store.expire_webhook_events(at(40)).await.expect("expire"),
        1
    );
    // The expired event cannot be replayed; the others can.
    let replay = audit(acme.id, Action::WebhookReplay, 61);
    assert!(matches!(
        store
            .replay_event(acme.id, hook.id, old.id, at(61), &replay)
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .replay_event(acme.id, hook.id, young.id, at(61), &replay)
        .await
        .expect("a kept event");
    assert_eq!(ids(&due(store, 61).await), vec![stuck.id, young.id]);
    // Attempts before the instant are forgotten too.
    let log = store
        .webhook_attempts(acme.id, hook.id, 10)
        .await
        .expect("attempts");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].event, young.id);
}

pub async fn rotating_a_secret_replaces_the_seed_of_that_endpoint_only(store: &dyn Store) {
    let ((acme, _), _) = two_companies(store).await;
    let a = register(store, &acme, "https://a.example/", EventTypes::ALL).await;
    let b = register(store, &acme, "https://b.example/", EventTypes::ALL).await;
    let rotated = store
        .rotate_webhook_secret(
            acme.id,
            a.id,
            &SigningSeed([42; 32]),
            at(7),
            &audit(acme.id, Action::WebhookRotateSecret, 7),
        )
        .await
        .expect("rotate");
    assert_eq!(rotated.secret_rotated_at, at(7));
    assert_eq!(rotated.url, a.url);
    emit(store, &[event(acme.id, EventType::UserCreated, None, 8)]).await;
    for d in due(store, 9).await {
        let want = if d.endpoint == a.id {
            SigningSeed([42; 32])
        } else {
            assert_eq!(d.endpoint, b.id);
            SigningSeed([1; 32])
        };
        assert_eq!(d.seed, want);
    }
}

fn page(num: i64, size: i64) -> PageRequest {
    PageRequest::by_number(num, size, 500).expect("a valid page")
}

pub async fn the_audit_log_filters_and_pages_newest_first_within_its_company(store: &dyn Store) {
    let ((acme, admin), (globex, globex_admin)) = two_companies(store).await;
    let by_admin = Actor::User {
        id: admin.id,
        username: admin.username.as_str().to_owned(),
    };
    let mut entries = Vec::new();
    for (i, (action, meeting, actor)) in [
        (Action::MeetingMute, Some("5550040"), by_admin.clone()),
        (Action::MeetingLock, Some("5550040"), by_admin.clone()),
        (Action::UserCreate, None, Actor::Operator),
        (Action::MeetingMute, Some("5550041"), by_admin.clone()),
        (Action::ApiKeyCreate, None, by_admin.clone()),
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = audit(acme.id, action, 10 + i as i64);
        e.actor = actor;
        e.meeting = meeting.map(meeting_number);
        e.address = Some("192.0.2.7".parse().expect("ip"));
        e.target = format!("target-{i}");
        e.details = format!(r#"{{"n":{i}}}"#);
        entries.push(e);
    }
    let mut theirs = audit(globex.id, Action::MeetingMute, 12);
    theirs.actor = Actor::User {
        id: globex_admin.id,
        username: "globex-admin".to_owned(),
    };
    let mut trail = Trail {
        audit: entries.clone(),
        ..Trail::default()
    };
    trail.audit.push(theirs);
    store.append_trail(&trail).await.expect("append");

    let list = |filter: AuditFilter, p: PageRequest| async move {
        store.audit_log(acme.id, &filter, p).await.expect("audit")
    };
    let all = list(AuditFilter::default(), page(1, 10)).await;
    assert_eq!(all.total, 5);
    let newest_first: Vec<AuditEntry> = entries.iter().rev().cloned().collect();
    assert_eq!(
        all.items
            .iter()
            .map(|r| r.entry.clone())
            .collect::<Vec<_>>(),
        newest_first
    );
    assert!(all.items.windows(2).all(|w| w[0].seq > w[1].seq));
    let second = list(AuditFilter::default(), page(2, 2)).await;
    assert_eq!(second.total, 5);
    assert_eq!(second.items[0].entry, entries[2]);
    assert_eq!(second.items[1].entry, entries[1]);
    let count = |f: AuditFilter| async move { list(f, page(1, 10)).await.total };
    assert_eq!(
        count(AuditFilter {
            action: Some(Action::MeetingMute),
            ..AuditFilter::default()
        })
        .await,
        2
    );
    assert_eq!(
        count(AuditFilter {
            meeting: Some(meeting_number("5550040")),
            ..AuditFilter::default()
        })
        .await,
        2
    );
    assert_eq!(
        count(AuditFilter {
            actor: Some(ActorFilter::Operator),
            ..AuditFilter::default()
        })
        .await,
        1
    );
    assert_eq!(
        count(AuditFilter {
            actor: Some(ActorFilter::User(admin.id)),
            action: Some(Action::MeetingMute),
            meeting: Some(meeting_number("5550041")),
            ..AuditFilter::default()
        })
        .await,
        1
    );
    // The window includes its start and excludes its end.
    let window = list(
        AuditFilter {
            since: Some(at(11)),
            until: Some(at(13)),
            ..AuditFilter::default()
        },
        page(1, 10),
    )
    .await;
    assert_eq!(
        window.items.iter().map(|r| r.entry.at).collect::<Vec<_>>(),
        vec![at(12), at(11)]
    );
    // Another company's actor never shows here.
    assert_eq!(
        count(AuditFilter {
            actor: Some(ActorFilter::User(globex_admin.id)),
            ..AuditFilter::default()
        })
        .await,
        0
    );
}

pub async fn audit_expiry_removes_only_old_entries(store: &dyn Store) {
    let ((acme, _), (globex, _)) = two_companies(store).await;
    let mut trail = Trail::default();
    for (company, offset) in [(acme.id, 1), (globex.id, 2), (acme.id, 30)] {
        trail
            .audit
            .push(audit(company, Action::CompanyCreate, offset));
    }
    store.append_trail(&trail).await.expect("append");
    assert_eq!(store.expire_audit(at(10)).await.expect("expire"), 2);
    let left = store
        .audit_log(acme.id, &AuditFilter::default(), page(1, 10))
        .await
        .expect("audit");
    assert_eq!(left.items.len(), 1);
    assert_eq!(left.items[0].entry.at, at(30));
    let _: Timestamp = left.items[0].entry.at;
}

pub async fn a_changes_trail_is_written_if_and_only_if_the_change_is(store: &dyn Store) {
    use crate::contract::{new_schedule, new_user};
    use plenum_domain::user::{Role, UserChanges};
    let ((acme, admin), _) = two_companies(store).await;
    register(store, &acme, "https://a.example/", EventTypes::ALL).await;
    let trail = |action: Action, kind: EventType, offset: i64| {
        Trail::audit(audit(acme.id, action, offset)).with_event(event(acme.id, kind, None, offset))
    };
    let entries = || async {
        store
            .audit_log(acme.id, &AuditFilter::default(), page(1, 50))
            .await
            .expect("audit")
            .total
    };
    let before = (
        entries().await,
        store.pending_deliveries().await.expect("depth"),
    );
    // Refused changes leave nothing.
    let taken = new_user(acme.id, "admin", Role::Normal);
    assert!(matches!(
        store
            .create_user_with_trail(
                &taken,
                &trail(Action::UserCreate, EventType::UserCreated, 2)
            )
            .await,
        Err(StoreError::UsernameTaken)
    ));
    let demote = UserChanges {
        role: Some(Role::Normal),
        ..UserChanges::default()
    };
    assert!(matches!(
        store
            .update_user_with_trail(
                acme.id,
                admin.id,
                &demote,
                at(3),
                &Trail::audit(audit(acme.id, Action::UserUpdate, 3)),
            )
            .await,
        Err(StoreError::LastSystemAdmin)
    ));
    let mut stale = new_schedule(&admin, "Stale", "5550050", 100);
    let created = store
        .create_schedule_with_trail(
            &stale,
            &Trail::default().with_event(event(acme.id, EventType::ScheduleCreated, None, 4)),
        )
        .await
        .expect("create a schedule");
    stale.revision = created.revision + 7;
    assert!(matches!(
        store
            .update_schedule_with_trail(
                &stale,
                &Trail::default().with_event(event(acme.id, EventType::ScheduleUpdated, None, 5)),
            )
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(entries().await, before.0);
    assert_eq!(
        store.pending_deliveries().await.expect("depth"),
        before.1 + 1
    );
    // A change that is made has its trail.
    let bob = new_user(acme.id, "bob", Role::Normal);
    store
        .create_user_with_trail(&bob, &trail(Action::UserCreate, EventType::UserCreated, 6))
        .await
        .expect("create a user");
    store
        .delete_schedule_with_trail(
            acme.id,
            created.id,
            &trail(Action::UserUpdate, EventType::ScheduleDeleted, 7),
        )
        .await
        .expect("delete the schedule");
    assert_eq!(entries().await, before.0 + 2);
    assert_eq!(
        store.pending_deliveries().await.expect("depth"),
        before.1 + 3
    );
}

/// Several servers' delivery tasks claim from one queue: each delivery goes to one of them,
/// until its attempt is recorded or its claim ends.
pub async fn a_claimed_delivery_is_offered_to_no_other_claim(store: &dyn Store) {
    let ((acme, _), _) = two_companies(store).await;
    register(store, &acme, "https://a.example/", EventTypes::ALL).await;
    let started = event(acme.id, EventType::MeetingStarted, Some("5550010"), 1);
    let created = event(acme.id, EventType::UserCreated, None, 2);
    emit(store, &[started.clone(), created.clone()]).await;
    let claim = |now: Timestamp| async move {
        store
            .claim_deliveries(now, 100)
            .await
            .expect("claim deliveries")
    };
    // Two tasks claim at once: each delivery goes to exactly one.
    let (one, other) = futures::join!(claim(at(10)), claim(at(10)));
    let mut claimed = ids(&one);
    claimed.extend(ids(&other));
    claimed.sort();
    let mut both = vec![started.id, created.id];
    both.sort();
    assert_eq!(claimed, both);
    assert!(claim(at(11)).await.is_empty());
    // The meeting's event failed (retry at 30): due again then, as scheduled.
    let meeting = one
        .iter()
        .chain(&other)
        .find(|d| d.event == started.id)
        .expect("the meeting's delivery")
        .clone();
    settle(store, &meeting, 12, AttemptResult::RetryAt(at(30))).await;
    assert_eq!(ids(&claim(at(30)).await), vec![started.id]);
    // The other was never recorded (its task died): offered again once its claim ends.
    let taken_over = at(10)
        .checked_add(crate::DELIVERY_CLAIM)
        .expect("an instant");
    assert_eq!(ids(&claim(taken_over).await), vec![created.id]);
}

#[cfg(test)]
mod tests {
    /// Every check must be listed in [`webhooks_contract_tests!`], or backends skip it.
    #[test]
    fn every_check_is_in_the_macro() {
        crate::contract::assert_every_check_is_listed(
            include_str!("contract_webhooks.rs"),
            "// webhooks-contract-list-start",
            "// webhooks-contract-list-end",
        );
    }
}

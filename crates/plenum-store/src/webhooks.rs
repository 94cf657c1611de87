//! What webhooks and the audit log ask of the store: the endpoints, the outbox of events with
//! one delivery per endpoint, the log of attempts, and the append-only audit log.
//!
//! Events and audit entries are never written on their own: they travel with the change that
//! caused them (a [`Trail`] given to the change's method, or [`LiveWrite::Outbox`] /
//! [`LiveWrite::Audit`](crate::LiveWrite) in a running meeting's batch) and are committed in
//! its transaction. An event is kept only if an endpoint of its company takes its type at
//! that moment: the check is made in the same transaction, so an endpoint registered before
//! the change committed receives it, and a company without endpoints writes nothing.

use async_trait::async_trait;

use plenum_domain::Timestamp;
use plenum_domain::audit::{AuditEntry, AuditFilter, AuditRecord};
use plenum_domain::ids::{CompanyId, EventId, WebhookId};
use plenum_domain::paging::{Page, PageRequest};
use plenum_domain::webhooks::{
    Endpoint, EventType, NewEndpoint, OutboxEvent, SigningSeed, WebhookUrl,
};

use crate::StoreResult;

/// What a change leaves besides itself: events for the outbox and entries for the audit log,
/// written in the change's own transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trail {
    pub events: Vec<OutboxEvent>,
    pub audit: Vec<AuditEntry>,
}

impl Trail {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.audit.is_empty()
    }

    pub fn audit(entry: AuditEntry) -> Self {
        Self {
            events: Vec::new(),
            audit: vec![entry],
        }
    }

    pub fn with_event(mut self, event: OutboxEvent) -> Self {
        self.events.push(event);
        self
    }
}

/// How registering an endpoint went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    Created(Endpoint),
    /// The company has an endpoint with this URL already: nothing was written.
    UrlTaken {
        existing: WebhookId,
    },
}

/// A delivery the delivery task may attempt now: the oldest undelivered event of its meeting
/// for its endpoint (or an event of no meeting), due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDelivery {
    pub endpoint: WebhookId,
    pub company: CompanyId,
    pub url: WebhookUrl,
    pub seed: SigningSeed,
    pub event: EventId,
    /// The event's place in the outbox (deliveries are keyed by endpoint and this).
    pub event_seq: u64,
    pub kind: EventType,
    pub body: String,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// One attempt, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub endpoint: WebhookId,
    pub event: EventId,
    pub event_seq: u64,
    pub kind: EventType,
    /// 1 for the first attempt of the event to this endpoint (a replay starts over at 1).
    pub number: u32,
    pub at: Timestamp,
    pub duration_ms: u32,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why it failed without an answer (timeout, connection refused, a refused address…).
    pub error: Option<String>,
    /// Whether the receiver acknowledged it (a 2xx status).
    pub delivered: bool,
}

/// What an attempt leaves the delivery in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult {
    Delivered,
    /// Failed; tried again at this instant.
    RetryAt(Timestamp),
    /// Failed, and the retry schedule is over: the endpoint is marked failing; the event
    /// stays in the outbox for replay.
    Exhausted,
}

/// How long a delivery claimed by one delivery task is its own (see
/// [`Webhooks::claim_deliveries`]): far longer than a batch of attempts takes.
pub const DELIVERY_CLAIM: jiff::SignedDuration = jiff::SignedDuration::from_secs(300);

#[async_trait]
pub trait Webhooks {
    /// Registers an endpoint, unless the company has one with the same URL (registering a
    /// URL twice is refused, not merged: two registrations would be two secrets and two
    /// deliveries of every event).
    async fn create_webhook(
        &self,
        new: &NewEndpoint,
        audit: &AuditEntry,
    ) -> StoreResult<Registration>;

    /// The company's endpoints, oldest first.
    async fn webhooks(&self, company: CompanyId) -> StoreResult<Vec<Endpoint>>;

    async fn webhook(&self, company: CompanyId, id: WebhookId) -> StoreResult<Option<Endpoint>>;

    /// Deletes an endpoint with its deliveries and attempts (`NotFound` if the company has
    /// none such). Events stay for the company's other endpoints until they expire.
    async fn delete_webhook(
        &self,
        company: CompanyId,
        id: WebhookId,
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    /// Gives the endpoint a new signing seed (`NotFound` if the company has none such).
    async fn rotate_webhook_secret(
        &self,
        company: CompanyId,
        id: WebhookId,
        seed: &SigningSeed,
        at: Timestamp,
        audit: &AuditEntry,
    ) -> StoreResult<Endpoint>;

    /// Writes a trail on its own, in one transaction (for actions whose only write is their
    /// trail, and for tests).
    async fn append_trail(&self, trail: &Trail) -> StoreResult<()>;

    /// Up to `limit` deliveries due at `now`, earliest due first, each the oldest undelivered
    /// event of its meeting for its endpoint: an event is never offered while an earlier
    /// event of the same meeting to the same endpoint is undelivered (and not exhausted).
    async fn due_deliveries(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<DueDelivery>>;

    /// What [`Webhooks::due_deliveries`] offers, claimed by the caller (a delivery task): a
    /// claimed delivery is offered to no other claim for [`DELIVERY_CLAIM`], unless its
    /// attempt is recorded first. Several servers' delivery tasks on one database then never
    /// send the same event; one that died mid-attempt is taken over once its claim ends.
    async fn claim_deliveries(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<DueDelivery>>;

    /// When the next undelivered delivery due after `after` is due (`None`: none waits).
    /// Deliveries due earlier but held back by their meeting's order do not count: they
    /// become due when the delivery before them is through.
    async fn next_delivery_due(&self, after: Timestamp) -> StoreResult<Option<Timestamp>>;

    /// Records attempts and what each leaves its delivery in, in one transaction: a delivery
    /// is acknowledged, rescheduled or exhausted; exhausted marks the endpoint failing,
    /// delivered clears that. Nothing happens for an endpoint deleted meanwhile. The delivery
    /// task hands over many at once: they may share one commit with other writes.
    async fn record_attempts(&self, attempts: Vec<(Attempt, AttemptResult)>) -> StoreResult<()>;

    /// The endpoint's most recent attempts, newest first (`NotFound` if the company has no
    /// such endpoint).
    async fn webhook_attempts(
        &self,
        company: CompanyId,
        endpoint: WebhookId,
        limit: u32,
    ) -> StoreResult<Vec<Attempt>>;

    /// Sends one event of the company to the endpoint again, from its first attempt, due at
    /// `now` (`NotFound` if either is not the company's, or the event has expired).
    async fn replay_event(
        &self,
        company: CompanyId,
        endpoint: WebhookId,
        event: EventId,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    /// Sends again every kept event of the company since `since` (inclusive) whose type the
    /// endpoint takes; returns how many.
    async fn replay_since(
        &self,
        company: CompanyId,
        endpoint: WebhookId,
        since: Timestamp,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> StoreResult<u64>;

    /// Deliveries not yet acknowledged nor exhausted, of every company (the queue's depth).
    async fn pending_deliveries(&self) -> StoreResult<u64>;

    /// Forgets events that happened before `before` (with their deliveries), unless one of
    /// their deliveries is still pending, and attempts made before it; returns how many
    /// events went.
    async fn expire_webhook_events(&self, before: Timestamp) -> StoreResult<u64>;
}

#[async_trait]
pub trait AuditLog {
    /// A page of the company's audit log, newest first.
    async fn audit_log(
        &self,
        company: CompanyId,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> StoreResult<Page<AuditRecord>>;

    /// Removes entries of every company made before `before` (retention); returns how many.
    async fn expire_audit(&self, before: Timestamp) -> StoreResult<u64>;
}

/// Claims kept in memory, for a store only one server uses (SQLite): its one delivery task
/// is the only claimant, so a claim needs no database write.
#[derive(Debug, Default)]
pub struct ClaimsInMemory(std::sync::Mutex<std::collections::HashMap<(WebhookId, u64), Timestamp>>);

impl ClaimsInMemory {
    /// Claims up to `limit` of `due` (at most `limit` plus the claims held, in order) that
    /// no live claim holds.
    pub fn claim(&self, due: Vec<DueDelivery>, now: Timestamp, limit: usize) -> Vec<DueDelivery> {
        let mut claims = self.0.lock().unwrap_or_else(|p| p.into_inner());
        claims.retain(|_, until| *until > now);
        let until = now.checked_add(DELIVERY_CLAIM).unwrap_or(now);
        let claimed: Vec<DueDelivery> = due
            .into_iter()
            .filter(|d| !claims.contains_key(&(d.endpoint, d.event_seq)))
            .take(limit)
            .collect();
        for d in &claimed {
            claims.insert((d.endpoint, d.event_seq), until);
        }
        claimed
    }

    /// How many claims are held (what a read for `claim` must look past).
    pub fn held(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The deliveries (endpoint, event) whose attempts were recorded: their claims end.
    pub fn release(&self, recorded: impl IntoIterator<Item = (WebhookId, u64)>) {
        let mut claims = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for key in recorded {
            claims.remove(&key);
        }
    }
}

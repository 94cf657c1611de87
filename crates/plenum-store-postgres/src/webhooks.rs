//! Webhooks and the audit log in PostgreSQL (migration 0002).
//!
//! - Events and audit entries travel with the change that caused them: [`write_trail`] runs
//!   in the change's transaction (the `…_with_trail` writes, and a live batch's
//!   `LiveWrite::Outbox` / `LiveWrite::Audit`).
//! - An event is kept only if an endpoint of its company takes its type, and its deliveries
//!   (one per such endpoint) are written by the same statement, so they see the same
//!   endpoints: one registered after the event's transaction committed has no delivery of it.
//!   (SQLite fans deliveries out later in bulk, to spare its one writer; here concurrent
//!   writers do not queue on one lock.)
//! - Order per meeting: a pending delivery is offered only when no earlier pending delivery of
//!   its meeting to its endpoint exists (`webhook_deliveries_in_order`), as in SQLite. Event
//!   seqs of one meeting grow in commit order because a meeting's batches are written one
//!   after another by its task.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use plenum_domain::Timestamp;
use plenum_domain::audit::{ActorFilter, AuditEntry, AuditFilter, AuditRecord};
use plenum_domain::ids::{CompanyId, EventId, WebhookId};
use plenum_domain::paging::{Page, PageRequest};
use plenum_domain::schedule::MeetingNumber;
use plenum_domain::webhooks::{Endpoint, NewEndpoint, OutboxEvent, SigningSeed};
use plenum_store::rows::{AttemptRow, AuditRow, DueRow, EndpointRow, audit_details};
use plenum_store::{
    Attempt, AttemptResult, AuditLog, DueDelivery, Registration, StoreError, StoreResult, Trail,
    Webhooks,
};

use crate::{PgStore, Tx, col, count, db_err, instant, limit, ms, offset};

/// At most this many rows go in one retention transaction, so retention never holds many
/// row locks at once.
const EXPIRY_BATCH: i64 = 5000;

/// Keeps the event if an endpoint of its company takes its type now, with one pending
/// delivery per such endpoint.
const INSERT_EVENT: &str = "WITH ev AS ( \
       INSERT INTO webhook_events \
         (id, company_id, type, type_bit, meeting_number, occurred_at, body) \
       SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS \
         (SELECT 1 FROM webhook_endpoints WHERE company_id = $2 AND (types & $4) <> 0) \
       RETURNING seq, company_id, type_bit, meeting_number, occurred_at) \
     INSERT INTO webhook_deliveries (endpoint_id, event_seq, order_key, state, attempts, due_at) \
     SELECT ep.id, ev.seq, ev.meeting_number, 0, 0, ev.occurred_at \
     FROM ev JOIN webhook_endpoints ep \
       ON ep.company_id = ev.company_id AND (ep.types & ev.type_bit) <> 0";

const INSERT_AUDIT: &str = "INSERT INTO audit_log (company_id, at, actor_user, actor_name, \
     address, action, target, meeting_number, details) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

pub(crate) async fn insert_event(tx: &mut Tx, e: &OutboxEvent) -> StoreResult<()> {
    sqlx::query(INSERT_EVENT)
        .bind(e.id.as_uuid())
        .bind(e.company.as_uuid())
        .bind(e.kind.as_str())
        .bind(i64::from(e.kind.bit()))
        .bind(e.meeting.as_ref().map(MeetingNumber::as_str))
        .bind(ms(e.at))
        .bind(&e.body)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn insert_audit(tx: &mut Tx, a: &AuditEntry) -> StoreResult<()> {
    sqlx::query(INSERT_AUDIT)
        .bind(a.company.as_uuid())
        .bind(ms(a.at))
        .bind(a.actor.user().map(|u| u.as_uuid()))
        .bind(a.actor.name())
        .bind(a.address.map(|ip| ip.to_string()))
        .bind(a.action.as_str())
        .bind(&a.target)
        .bind(a.meeting.as_ref().map(MeetingNumber::as_str))
        .bind(audit_details(a))
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Writes a trail in the change's own transaction.
pub(crate) async fn write_trail(tx: &mut Tx, trail: &Trail) -> StoreResult<()> {
    for e in &trail.events {
        insert_event(tx, e).await?;
    }
    for a in &trail.audit {
        insert_audit(tx, a).await?;
    }
    Ok(())
}

const ENDPOINT_COLUMNS: &str =
    "id, company_id, url, description, types, created_at, secret_rotated_at, failing_since";

fn endpoint_from_row(row: &PgRow) -> StoreResult<Endpoint> {
    EndpointRow {
        id: col(row, "id")?,
        company: col(row, "company_id")?,
        url: col(row, "url")?,
        description: col(row, "description")?,
        types: col(row, "types")?,
        created_at: col(row, "created_at")?,
        secret_rotated_at: col(row, "secret_rotated_at")?,
        failing_since: col(row, "failing_since")?,
    }
    .decode()
}

async fn endpoint_in<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    company: CompanyId,
    id: WebhookId,
) -> StoreResult<Option<Endpoint>> {
    sqlx::query(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND company_id = $2"
    ))
    .bind(id.as_uuid())
    .bind(company.as_uuid())
    .fetch_optional(executor)
    .await
    .map_err(db_err)?
    .as_ref()
    .map(endpoint_from_row)
    .transpose()
}

/// Deletes what `sql` ($1 the instant, $2 the batch) selects, in batches of [`EXPIRY_BATCH`]
/// rows, one transaction each; returns how many.
async fn delete_in_batches(store: &PgStore, sql: &str, before: Timestamp) -> StoreResult<u64> {
    let mut total = 0;
    loop {
        let deleted = sqlx::query(sql)
            .bind(ms(before))
            .bind(EXPIRY_BATCH)
            .execute(&store.pool)
            .await
            .map_err(db_err)?
            .rows_affected();
        total += deleted;
        if deleted < EXPIRY_BATCH as u64 {
            return Ok(total);
        }
    }
}

/// Makes deliveries of the matching events to the endpoint pending again, due at `now`.
const REPLAY: &str = "INSERT INTO webhook_deliveries \
     (endpoint_id, event_seq, order_key, state, attempts, due_at) \
     SELECT ep.id, ev.seq, ev.meeting_number, 0, 0, $3 \
     FROM webhook_endpoints ep JOIN webhook_events ev ON ev.company_id = ep.company_id \
     WHERE ep.id = $1 AND ep.company_id = $2 AND ";

const REPLAY_CONFLICT: &str = " ON CONFLICT (endpoint_id, event_seq) DO UPDATE \
     SET state = 0, attempts = 0, due_at = excluded.due_at";

#[async_trait]
impl Webhooks for PgStore {
    async fn create_webhook(
        &self,
        new: &NewEndpoint,
        audit: &AuditEntry,
    ) -> StoreResult<Registration> {
        let e = &new.endpoint;
        let mut tx = self.begin().await?;
        // The unique (company, url) constraint decides a race of two registrations; the one
        // that loses finds the winner's id.
        let inserted = sqlx::query(
            "INSERT INTO webhook_endpoints (id, company_id, url, description, types, seed, \
             created_at, secret_rotated_at, failing_since) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (company_id, url) DO NOTHING",
        )
        .bind(e.id.as_uuid())
        .bind(e.company.as_uuid())
        .bind(e.url.as_str())
        .bind(&e.description)
        .bind(i64::from(e.types.bits()))
        .bind(&new.seed.0[..])
        .bind(ms(e.created_at))
        .bind(ms(e.secret_rotated_at))
        .bind(e.failing_since.map(ms))
        .execute(&mut *tx)
        .await
        .map_err(|err| match &err {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
            _ => db_err(err),
        })?
        .rows_affected();
        if inserted == 0 {
            let existing: Uuid = sqlx::query_scalar(
                "SELECT id FROM webhook_endpoints WHERE company_id = $1 AND url = $2",
            )
            .bind(e.company.as_uuid())
            .bind(e.url.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            return Ok(Registration::UrlTaken {
                existing: WebhookId::from_uuid(existing),
            });
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Registration::Created(e.clone()))
    }

    async fn webhooks(&self, company: CompanyId) -> StoreResult<Vec<Endpoint>> {
        sqlx::query(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE company_id = $1 \
             ORDER BY created_at, id"
        ))
        .bind(company.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(endpoint_from_row)
        .collect()
    }

    async fn webhook(&self, company: CompanyId, id: WebhookId) -> StoreResult<Option<Endpoint>> {
        endpoint_in(&self.pool, company, id).await
    }

    async fn delete_webhook(
        &self,
        company: CompanyId,
        id: WebhookId,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let deleted =
            sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND company_id = $2")
                .bind(id.as_uuid())
                .bind(company.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn rotate_webhook_secret(
        &self,
        company: CompanyId,
        id: WebhookId,
        seed: &SigningSeed,
        at: Timestamp,
        audit: &AuditEntry,
    ) -> StoreResult<Endpoint> {
        let mut tx = self.begin().await?;
        let endpoint = sqlx::query(&format!(
            "UPDATE webhook_endpoints SET seed = $3, secret_rotated_at = $4 \
             WHERE id = $1 AND company_id = $2 RETURNING {ENDPOINT_COLUMNS}"
        ))
        .bind(id.as_uuid())
        .bind(company.as_uuid())
        .bind(&seed.0[..])
        .bind(ms(at))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(endpoint_from_row)
        .transpose()?
        .ok_or(StoreError::NotFound)?;
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(endpoint)
    }

    async fn append_trail(&self, trail: &Trail) -> StoreResult<()> {
        if trail.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        write_trail(&mut tx, trail).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn due_deliveries(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<DueDelivery>> {
        sqlx::query(&format!(
            "SELECT d.endpoint_id, ep.company_id, ep.url, ep.seed, ev.id AS event_id, \
               d.event_seq, ev.type, ev.body, d.attempts \
             FROM webhook_deliveries d \
             JOIN webhook_events ev ON ev.seq = d.event_seq \
             JOIN webhook_endpoints ep ON ep.id = d.endpoint_id {DUE}"
        ))
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(due_row)
        .collect()
    }

    async fn claim_deliveries(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<DueDelivery>> {
        // Each server runs a delivery task on this database: what one is offered it claims
        // (due again only after DELIVERY_CLAIM, unless its attempt is recorded first), and
        // rows another is claiming right now are skipped. One being attempted still holds
        // back later events of its meeting: it is still undelivered.
        sqlx::query(&format!(
            "WITH due AS ( \
               SELECT d.endpoint_id, d.event_seq FROM webhook_deliveries d {DUE} \
               FOR UPDATE OF d SKIP LOCKED), \
             claimed AS ( \
               UPDATE webhook_deliveries w SET due_at = $3 FROM due \
               WHERE w.endpoint_id = due.endpoint_id AND w.event_seq = due.event_seq \
               RETURNING w.endpoint_id, w.event_seq, w.attempts) \
             SELECT c.endpoint_id, ep.company_id, ep.url, ep.seed, ev.id AS event_id, \
               c.event_seq, ev.type, ev.body, c.attempts \
             FROM claimed c \
             JOIN webhook_events ev ON ev.seq = c.event_seq \
             JOIN webhook_endpoints ep ON ep.id = c.endpoint_id \
             ORDER BY c.event_seq"
        ))
        .bind(ms(now))
        .bind(i64::from(limit))
        .bind(ms(now
            .checked_add(plenum_store::DELIVERY_CLAIM)
            .unwrap_or(now)))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(due_row)
        .collect()
    }

    async fn next_delivery_due(&self, after: Timestamp) -> StoreResult<Option<Timestamp>> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT min(due_at) FROM webhook_deliveries WHERE state = 0 AND due_at > $1",
        )
        .bind(ms(after))
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        next.map(instant).transpose()
    }

    async fn record_attempts(&self, attempts: Vec<(Attempt, AttemptResult)>) -> StoreResult<()> {
        if attempts.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for (a, result) in &attempts {
            let endpoint = a.endpoint.as_uuid();
            let seq = i64::try_from(a.event_seq).unwrap_or(i64::MAX);
            sqlx::query(
                "INSERT INTO webhook_attempts (endpoint_id, event_seq, event_id, type, number, \
                 at, duration_ms, status, error, delivered) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 \
                 WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = $1)",
            )
            .bind(endpoint)
            .bind(seq)
            .bind(a.event.as_uuid())
            .bind(a.kind.as_str())
            .bind(i64::from(a.number))
            .bind(ms(a.at))
            .bind(i64::from(a.duration_ms))
            .bind(a.status.map(i64::from))
            .bind(a.error.as_deref())
            .bind(a.delivered)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            let (state, due): (i16, Option<i64>) = match result {
                AttemptResult::Delivered => (1, None),
                AttemptResult::RetryAt(t) => (0, Some(ms(*t))),
                AttemptResult::Exhausted => (2, None),
            };
            sqlx::query(
                "UPDATE webhook_deliveries SET state = $3, attempts = attempts + 1, \
                 due_at = coalesce($4, due_at) \
                 WHERE endpoint_id = $1 AND event_seq = $2 AND state = 0",
            )
            .bind(endpoint)
            .bind(seq)
            .bind(state)
            .bind(due)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            match result {
                AttemptResult::Delivered => {
                    sqlx::query(
                        "UPDATE webhook_endpoints SET failing_since = NULL \
                         WHERE id = $1 AND failing_since IS NOT NULL",
                    )
                    .bind(endpoint)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                }
                AttemptResult::Exhausted => {
                    sqlx::query(
                        "UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, $2) \
                         WHERE id = $1",
                    )
                    .bind(endpoint)
                    .bind(ms(a.at))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                }
                AttemptResult::RetryAt(_) => {}
            }
        }
        tx.commit().await.map_err(db_err)
    }

    async fn webhook_attempts(
        &self,
        company: CompanyId,
        endpoint: WebhookId,
        limit: u32,
    ) -> StoreResult<Vec<Attempt>> {
        let mut tx = self.read_snapshot().await?;
        if endpoint_in(&mut *tx, company, endpoint).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        let rows = sqlx::query(
            "SELECT event_id, event_seq, type, number, at, duration_ms, status, error, \
             delivered FROM webhook_attempts WHERE endpoint_id = $1 \
             ORDER BY seq DESC LIMIT $2",
        )
        .bind(endpoint.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        rows.iter()
            .map(|row| {
                AttemptRow {
                    event: col(row, "event_id")?,
                    event_seq: col(row, "event_seq")?,
                    kind: col(row, "type")?,
                    number: col(row, "number")?,
                    at: col(row, "at")?,
                    duration_ms: col(row, "duration_ms")?,
                    status: col(row, "status")?,
                    error: col(row, "error")?,
                    delivered: col(row, "delivered")?,
                }
                .decode(endpoint)
            })
            .collect()
    }

    async fn replay_event(
        &self,
        company: CompanyId,
        endpoint: WebhookId,
        event: EventId,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let replayed = sqlx::query(&format!("{REPLAY}ev.id = $4{REPLAY_CONFLICT}"))
            .bind(endpoint.as_uuid())
            .bind(company.as_uuid())
            .bind(ms(now))
            .bind(event.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        if replayed == 0 {
            return Err(StoreError::NotFound);
        }
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn replay_since(
        &self,
        company: CompanyId,
        endpoint: WebhookId,
        since: Timestamp,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        if endpoint_in(&mut *tx, company, endpoint).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        let replayed = sqlx::query(&format!(
            "{REPLAY}ev.occurred_at >= $4 AND (ep.types & ev.type_bit) <> 0{REPLAY_CONFLICT}"
        ))
        .bind(endpoint.as_uuid())
        .bind(company.as_uuid())
        .bind(ms(now))
        .bind(ms(since))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        insert_audit(&mut tx, audit).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(replayed)
    }

    async fn pending_deliveries(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE state = 0")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(count(n))
    }

    async fn expire_webhook_events(&self, before: Timestamp) -> StoreResult<u64> {
        // Identity values are never given out twice, so (unlike SQLite's rowids) the newest
        // event may go too.
        let events = delete_in_batches(
            self,
            "DELETE FROM webhook_events WHERE seq IN (SELECT seq FROM webhook_events e \
             WHERE e.occurred_at < $1 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
               WHERE d.event_seq = e.seq AND d.state = 0) \
             ORDER BY e.occurred_at LIMIT $2)",
            before,
        )
        .await?;
        delete_in_batches(
            self,
            "DELETE FROM webhook_attempts WHERE seq IN \
             (SELECT seq FROM webhook_attempts WHERE at < $1 ORDER BY at LIMIT $2)",
            before,
        )
        .await?;
        Ok(events)
    }
}

/// The conditions of an audit filter, each an index's prefix (`audit_by_*`).
fn audit_conditions(
    q: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>,
    company: CompanyId,
    filter: &AuditFilter,
) {
    q.push("company_id = ").push_bind(company.as_uuid());
    match &filter.actor {
        Some(ActorFilter::User(id)) => {
            q.push(" AND actor_user = ").push_bind(id.as_uuid());
        }
        Some(ActorFilter::Operator) => {
            q.push(" AND actor_user IS NULL");
        }
        None => {}
    }
    if let Some(action) = filter.action {
        q.push(" AND action = ").push_bind(action.as_str());
    }
    if let Some(meeting) = &filter.meeting {
        q.push(" AND meeting_number = ")
            .push_bind(meeting.as_str().to_owned());
    }
    if let Some(since) = filter.since {
        q.push(" AND at >= ").push_bind(ms(since));
    }
    if let Some(until) = filter.until {
        q.push(" AND at < ").push_bind(ms(until));
    }
}

#[async_trait]
impl AuditLog for PgStore {
    async fn audit_log(
        &self,
        company: CompanyId,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> StoreResult<Page<AuditRecord>> {
        let mut tx = self.read_snapshot().await?;
        let mut counted = sqlx::QueryBuilder::new("SELECT count(*) FROM audit_log WHERE ");
        audit_conditions(&mut counted, company, filter);
        let total: i64 = counted
            .build_query_scalar()
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let mut paged = sqlx::QueryBuilder::new(
            "SELECT seq, company_id, at, actor_user, actor_name, address, action, target, \
             meeting_number, details FROM audit_log WHERE ",
        );
        audit_conditions(&mut paged, company, filter);
        paged
            .push(" ORDER BY at DESC, seq DESC LIMIT ")
            .push_bind(limit(page))
            .push(" OFFSET ")
            .push_bind(offset(page));
        let rows = paged.build().fetch_all(&mut *tx).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        let items = rows
            .iter()
            .map(|row| {
                AuditRow {
                    seq: col(row, "seq")?,
                    company: col(row, "company_id")?,
                    at: col(row, "at")?,
                    actor_user: col(row, "actor_user")?,
                    actor_name: col(row, "actor_name")?,
                    address: col(row, "address")?,
                    action: col(row, "action")?,
                    target: col(row, "target")?,
                    meeting_number: col(row, "meeting_number")?,
                    details: col(row, "details")?,
                }
                .decode()
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page {
            items,
            total: count(total),
        })
    }

    async fn expire_audit(&self, before: Timestamp) -> StoreResult<u64> {
        delete_in_batches(
            self,
            "DELETE FROM audit_log WHERE seq IN \
             (SELECT seq FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2)",
            before,
        )
        .await
    }
}

/// The deliveries due at $1 (at most $2, earliest first), each the oldest undelivered event
/// of its meeting for its endpoint: what `due_deliveries` offers and `claim_deliveries` claims.
const DUE: &str = "WHERE d.state = 0 AND d.due_at <= $1 \
    AND (d.order_key IS NULL OR NOT EXISTS ( \
      SELECT 1 FROM webhook_deliveries p \
      WHERE p.state = 0 AND p.order_key IS NOT NULL \
        AND p.endpoint_id = d.endpoint_id AND p.order_key = d.order_key \
        AND p.event_seq < d.event_seq)) \
    ORDER BY d.due_at, d.event_seq LIMIT $2";

/// A delivery as `due_deliveries` and `claim_deliveries` read it.
fn due_row(row: &sqlx::postgres::PgRow) -> StoreResult<DueDelivery> {
    DueRow {
        endpoint: col(row, "endpoint_id")?,
        company: col(row, "company_id")?,
        url: col(row, "url")?,
        seed: col(row, "seed")?,
        event: col(row, "event_id")?,
        event_seq: col(row, "event_seq")?,
        kind: col(row, "type")?,
        body: col(row, "body")?,
        attempts: col(row, "attempts")?,
    }
    .decode()
}

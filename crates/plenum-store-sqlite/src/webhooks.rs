//! Webhooks and the audit log over SQLite (migration 0016).
//!
//! - Endpoint changes go through the sqlx writer, each with its audit entry in its
//!   transaction.
//! - Events and audit entries of other changes are written in those changes' transactions:
//!   [`write_trail`] inside an sqlx transaction, [`insert_event`] / [`insert_audit`] inside
//!   the journal's (`live.rs`), so both writers share one definition of what a row is.
//! - Attempts are recorded through the journal too ([`record_attempts`]): many deliveries'
//!   results share one commit, and the delivery task never holds the sqlx writer that
//!   administrative changes queue on.
//! - Events are written alone; their deliveries are made in bulk by the fan-out (migration
//!   0017, `SqliteStore::fan_out` through the journal), which the delivery task's reads run
//!   first.
//! - Reads (lists, due deliveries, the audit log) use the read pool.

use rusqlite::{Connection, OptionalExtension as _, params, params_from_iter};
use sqlx::{Row as _, Sqlite, Transaction};
use uuid::Uuid;

use plenum_domain::Timestamp;
use plenum_domain::audit::{ActorFilter, AuditEntry, AuditFilter, AuditRecord};
use plenum_domain::ids::{CompanyId, EventId, WebhookId};
use plenum_domain::paging::{Page, PageRequest};
use plenum_domain::schedule::MeetingNumber;
use plenum_domain::webhooks::{
    Endpoint, EventTypes, NewEndpoint, OutboxEvent, SigningSeed, WebhookUrl,
};
use plenum_store::rows::{AttemptRow, AuditRow, DueRow, EndpointRow, audit_details};
use plenum_store::{
    Attempt, AttemptResult, DueDelivery, Registration, StoreError, StoreResult, Trail,
};

use crate::{SqliteStore, corrupt, db_err, instant, internal, ms, write_tx};

/// At most this many rows go in one retention transaction, so retention never holds the
/// write lock (which joins wait on) for long.
const EXPIRY_BATCH: i64 = 5000;

// --- writing events and audit entries ------------------------------------------------------

/// Keeps the event if an endpoint of its company takes its type now.
const INSERT_EVENT: &str = "INSERT INTO webhook_events \
     (id, company_id, type, type_bit, meeting_number, occurred_at, body) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS \
       (SELECT 1 FROM webhook_endpoints WHERE company_id = ?2 AND (types & ?4) != 0)";

const INSERT_AUDIT: &str = "INSERT INTO audit_log (company_id, at, actor_user, actor_name, \
     address, action, target, meeting_number, details) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/// Writes an event in the journal's transaction (its deliveries are made by the fan-out).
pub(crate) fn insert_event(conn: &Connection, e: &OutboxEvent) -> StoreResult<()> {
    conn.prepare_cached(INSERT_EVENT)
        .and_then(|mut st| {
            st.execute(params![
                e.id.as_uuid(),
                e.company.as_uuid(),
                e.kind.as_str(),
                i64::from(e.kind.bit()),
                e.meeting.as_ref().map(MeetingNumber::as_str),
                ms(e.at),
                e.body,
            ])
        })
        .map_err(internal)?;
    Ok(())
}

/// Appends an audit entry in the journal's transaction.
pub(crate) fn insert_audit(conn: &Connection, a: &AuditEntry) -> StoreResult<()> {
    conn.prepare_cached(INSERT_AUDIT)
        .and_then(|mut st| {
            st.execute(params![
                a.company.as_uuid(),
                ms(a.at),
                a.actor.user().map(|u| u.as_uuid()),
                a.actor.name(),
                a.address.map(|ip| ip.to_string()),
                a.action.as_str(),
                a.target,
                a.meeting.as_ref().map(MeetingNumber::as_str),
                audit_details(a),
            ])
        })
        .map_err(internal)?;
    Ok(())
}

/// Writes a trail inside an sqlx transaction (the change's own).
pub(crate) async fn write_trail(
    tx: &mut Transaction<'_, Sqlite>,
    trail: &Trail,
) -> StoreResult<()> {
    for e in &trail.events {
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
    }
    for a in &trail.audit {
        audit_in(tx, a).await?;
    }
    Ok(())
}

async fn audit_in(tx: &mut Transaction<'_, Sqlite>, a: &AuditEntry) -> StoreResult<()> {
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

// --- endpoints ---------------------------------------------------------------------------

const ENDPOINT_COLUMNS: &str =
    "id, company_id, url, description, types, created_at, secret_rotated_at, failing_since";

fn endpoint_from_row(row: &rusqlite::Row<'_>) -> StoreResult<Endpoint> {
    let get = |e: rusqlite::Error| internal(e);
    EndpointRow {
        id: row.get(0).map_err(get)?,
        company: row.get(1).map_err(get)?,
        url: row.get(2).map_err(get)?,
        description: row.get(3).map_err(get)?,
        types: row.get(4).map_err(get)?,
        created_at: row.get(5).map_err(get)?,
        secret_rotated_at: row.get(6).map_err(get)?,
        failing_since: row.get(7).map_err(get)?,
    }
    .decode()
}

fn read_endpoint(
    conn: &Connection,
    company: CompanyId,
    id: WebhookId,
) -> StoreResult<Option<Endpoint>> {
    conn.prepare_cached(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?1 AND company_id = ?2"
    ))
    .and_then(|mut st| {
        st.query_row(params![id.as_uuid(), company.as_uuid()], |row| {
            Ok(endpoint_from_row(row))
        })
        .optional()
    })
    .map_err(internal)?
    .transpose()
}

pub(crate) async fn create_webhook(
    store: &SqliteStore,
    new: &NewEndpoint,
    audit: &AuditEntry,
) -> StoreResult<Registration> {
    let e = &new.endpoint;
    let mut tx = write_tx(&store.writer).await?;
    let existing: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM webhook_endpoints WHERE company_id = ?1 AND url = ?2")
            .bind(e.company.as_uuid())
            .bind(e.url.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
    if let Some(existing) = existing {
        return Ok(Registration::UrlTaken {
            existing: WebhookId::from_uuid(existing),
        });
    }
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, company_id, url, description, types, seed, \
         created_at, secret_rotated_at, failing_since, listening_from) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
           (SELECT coalesce(max(seq), 0) FROM webhook_events))",
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
    })?;
    audit_in(&mut tx, audit).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(Registration::Created(e.clone()))
}

pub(crate) fn webhooks(store: &SqliteStore, company: CompanyId) -> StoreResult<Vec<Endpoint>> {
    store.reads.read(|conn| {
        let mut st = conn
            .prepare_cached(&format!(
                "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE company_id = ?1 \
                 ORDER BY created_at, id"
            ))
            .map_err(internal)?;
        let rows = st
            .query_map([company.as_uuid()], |row| Ok(endpoint_from_row(row)))
            .map_err(internal)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row.map_err(internal)??);
        }
        Ok(out)
    })
}

pub(crate) fn webhook(
    store: &SqliteStore,
    company: CompanyId,
    id: WebhookId,
) -> StoreResult<Option<Endpoint>> {
    store.reads.read(|conn| read_endpoint(conn, company, id))
}

pub(crate) async fn delete_webhook(
    store: &SqliteStore,
    company: CompanyId,
    id: WebhookId,
    audit: &AuditEntry,
) -> StoreResult<()> {
    let mut tx = write_tx(&store.writer).await?;
    let deleted = sqlx::query("DELETE FROM webhook_endpoints WHERE id = ?1 AND company_id = ?2")
        .bind(id.as_uuid())
        .bind(company.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    audit_in(&mut tx, audit).await?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn rotate_webhook_secret(
    store: &SqliteStore,
    company: CompanyId,
    id: WebhookId,
    seed: &SigningSeed,
    at: Timestamp,
    audit: &AuditEntry,
) -> StoreResult<Endpoint> {
    let mut tx = write_tx(&store.writer).await?;
    let row = sqlx::query(
        "UPDATE webhook_endpoints SET seed = ?3, secret_rotated_at = ?4 \
         WHERE id = ?1 AND company_id = ?2 \
         RETURNING id, company_id, url, description, types, created_at, secret_rotated_at, \
         failing_since",
    )
    .bind(id.as_uuid())
    .bind(company.as_uuid())
    .bind(&seed.0[..])
    .bind(ms(at))
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?
    .ok_or(StoreError::NotFound)?;
    let types: i64 = row.try_get("types").map_err(db_err)?;
    let endpoint = Endpoint {
        id,
        company,
        url: WebhookUrl::stored(row.try_get("url").map_err(db_err)?),
        description: row.try_get("description").map_err(db_err)?,
        types: EventTypes::from_bits(
            u32::try_from(types).map_err(|_| corrupt("webhook_endpoints.types"))?,
        ),
        created_at: instant(row.try_get("created_at").map_err(db_err)?)?,
        secret_rotated_at: at,
        failing_since: row
            .try_get::<Option<i64>, _>("failing_since")
            .map_err(db_err)?
            .map(instant)
            .transpose()?,
    };
    audit_in(&mut tx, audit).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(endpoint)
}

pub(crate) async fn append_trail(store: &SqliteStore, trail: &Trail) -> StoreResult<()> {
    if trail.is_empty() {
        return Ok(());
    }
    let mut tx = write_tx(&store.writer).await?;
    write_trail(&mut tx, trail).await?;
    tx.commit().await.map_err(db_err)
}

// --- deliveries --------------------------------------------------------------------------

fn seq_of(value: i64, what: &str) -> StoreResult<u64> {
    u64::try_from(value).map_err(|_| corrupt(what.to_owned()))
}

/// At most this many events are turned into deliveries in one transaction of the journal,
/// so a backlog (the events of a long join storm) never holds the joins' commits for long.
const FAN_OUT_BATCH: i64 = 2000;

/// Whether events wait for their fan-out (`SqliteStore::fan_out`): a read.
pub(crate) fn fan_out_due(store: &SqliteStore) -> StoreResult<bool> {
    store.reads.read(|conn| {
        conn.prepare_cached(
            "SELECT coalesce((SELECT max(seq) FROM webhook_events), 0) \
             > (SELECT through_seq FROM webhook_fanout)",
        )
        .and_then(|mut st| st.query_row([], |row| row.get::<_, bool>(0)))
        .map_err(internal)
    })
}

/// One step of the fan-out (`SqliteStore::fan_out`), in the journal's transaction: the
/// deliveries of the next [`FAN_OUT_BATCH`] events.
pub(crate) fn fan_out_step(conn: &Connection) -> StoreResult<()> {
    let (from, to): (i64, i64) = conn
        .prepare_cached(
            "SELECT f.through_seq, min(coalesce((SELECT max(seq) FROM webhook_events), 0), \
               f.through_seq + ?1) FROM webhook_fanout f",
        )
        .and_then(|mut st| st.query_row([FAN_OUT_BATCH], |row| Ok((row.get(0)?, row.get(1)?))))
        .map_err(internal)?;
    if to <= from {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT OR IGNORE INTO webhook_deliveries \
         (endpoint_id, event_seq, order_key, state, attempts, due_at) \
         SELECT ep.id, ev.seq, ev.meeting_number, 0, 0, ev.occurred_at \
         FROM webhook_events ev JOIN webhook_endpoints ep ON ep.company_id = ev.company_id \
         WHERE ev.seq > ?1 AND ev.seq <= ?2 AND (ep.types & ev.type_bit) != 0 \
           AND ep.listening_from < ev.seq",
    )
    .and_then(|mut st| st.execute(params![from, to]))
    .map_err(internal)?;
    conn.prepare_cached("UPDATE webhook_fanout SET through_seq = ?1")
        .and_then(|mut st| st.execute([to]))
        .map_err(internal)?;
    Ok(())
}

/// The due deliveries that are first of their meeting to their endpoint (the delivery task's
/// poll). Public for the backend's own test of its query plan.
#[doc(hidden)]
pub const DUE_DELIVERIES: &str = "SELECT d.endpoint_id, ep.company_id, ep.url, ep.seed, \
       ev.id, d.event_seq, ev.type, ev.body, d.attempts \
     FROM webhook_deliveries d \
     JOIN webhook_events ev ON ev.seq = d.event_seq \
     JOIN webhook_endpoints ep ON ep.id = d.endpoint_id \
     WHERE d.state = 0 AND d.due_at <= ?1 \
       AND (d.order_key IS NULL OR NOT EXISTS ( \
         SELECT 1 FROM webhook_deliveries p INDEXED BY webhook_deliveries_in_order \
         WHERE p.state = 0 AND p.order_key IS NOT NULL AND p.endpoint_id = d.endpoint_id \
           AND p.order_key = d.order_key AND p.event_seq < d.event_seq)) \
     ORDER BY d.due_at, d.event_seq LIMIT ?2";

pub(crate) fn due_deliveries(
    store: &SqliteStore,
    now: Timestamp,
    limit: u32,
) -> StoreResult<Vec<DueDelivery>> {
    store.reads.read(|conn| {
        let mut st = conn.prepare_cached(DUE_DELIVERIES).map_err(internal)?;
        let mut rows = st
            .query(params![ms(now), i64::from(limit)])
            .map_err(internal)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(internal)? {
            out.push(
                DueRow {
                    endpoint: row.get(0).map_err(internal)?,
                    company: row.get(1).map_err(internal)?,
                    url: row.get(2).map_err(internal)?,
                    seed: row.get(3).map_err(internal)?,
                    event: row.get(4).map_err(internal)?,
                    event_seq: row.get(5).map_err(internal)?,
                    kind: row.get(6).map_err(internal)?,
                    body: row.get(7).map_err(internal)?,
                    attempts: row.get(8).map_err(internal)?,
                }
                .decode()?,
            );
        }
        Ok(out)
    })
}

pub(crate) fn next_delivery_due(
    store: &SqliteStore,
    after: Timestamp,
) -> StoreResult<Option<Timestamp>> {
    store.reads.read(|conn| {
        conn.prepare_cached(
            "SELECT min(due_at) FROM webhook_deliveries WHERE state = 0 AND due_at > ?1",
        )
        .and_then(|mut st| st.query_row([ms(after)], |row| row.get::<_, Option<i64>>(0)))
        .map_err(internal)?
        .map(instant)
        .transpose()
    })
}

/// Records attempts and their results in the journal's transaction.
pub(crate) fn record_attempts(
    conn: &Connection,
    attempts: &[(Attempt, AttemptResult)],
) -> StoreResult<()> {
    for (a, result) in attempts {
        let endpoint = a.endpoint.as_uuid();
        let seq = i64::try_from(a.event_seq).unwrap_or(i64::MAX);
        conn.prepare_cached(
            "INSERT INTO webhook_attempts (endpoint_id, event_seq, event_id, type, number, at, \
             duration_ms, status, error, delivered) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 \
             WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = ?1)",
        )
        .and_then(|mut st| {
            st.execute(params![
                endpoint,
                seq,
                a.event.as_uuid(),
                a.kind.as_str(),
                a.number,
                ms(a.at),
                a.duration_ms,
                a.status,
                a.error,
                a.delivered,
            ])
        })
        .map_err(internal)?;
        let (state, due) = match result {
            AttemptResult::Delivered => (1, None),
            AttemptResult::RetryAt(t) => (0, Some(ms(*t))),
            AttemptResult::Exhausted => (2, None),
        };
        conn.prepare_cached(
            "UPDATE webhook_deliveries SET state = ?3, attempts = attempts + 1, \
             due_at = coalesce(?4, due_at) \
             WHERE endpoint_id = ?1 AND event_seq = ?2 AND state = 0",
        )
        .and_then(|mut st| st.execute(params![endpoint, seq, state, due]))
        .map_err(internal)?;
        match result {
            AttemptResult::Delivered => conn.prepare_cached(
                "UPDATE webhook_endpoints SET failing_since = NULL \
                 WHERE id = ?1 AND failing_since IS NOT NULL",
            ),
            AttemptResult::Exhausted => conn.prepare_cached(
                "UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, ?2) \
                 WHERE id = ?1",
            ),
            AttemptResult::RetryAt(_) => continue,
        }
        .and_then(|mut st| match result {
            AttemptResult::Exhausted => st.execute(params![endpoint, ms(a.at)]),
            _ => st.execute(params![endpoint]),
        })
        .map_err(internal)?;
    }
    Ok(())
}

pub(crate) fn webhook_attempts(
    store: &SqliteStore,
    company: CompanyId,
    endpoint: WebhookId,
    limit: u32,
) -> StoreResult<Vec<Attempt>> {
    store.reads.read(|conn| {
        if read_endpoint(conn, company, endpoint)?.is_none() {
            return Err(StoreError::NotFound);
        }
        let mut st = conn
            .prepare_cached(
                "SELECT event_id, event_seq, type, number, at, duration_ms, status, error, \
                 delivered FROM webhook_attempts WHERE endpoint_id = ?1 \
                 ORDER BY seq DESC LIMIT ?2",
            )
            .map_err(internal)?;
        let mut rows = st
            .query(params![endpoint.as_uuid(), i64::from(limit)])
            .map_err(internal)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(internal)? {
            out.push(
                AttemptRow {
                    event: row.get(0).map_err(internal)?,
                    event_seq: row.get(1).map_err(internal)?,
                    kind: row.get(2).map_err(internal)?,
                    number: row.get(3).map_err(internal)?,
                    at: row.get(4).map_err(internal)?,
                    duration_ms: row.get(5).map_err(internal)?,
                    status: row.get(6).map_err(internal)?,
                    error: row.get(7).map_err(internal)?,
                    delivered: row.get(8).map_err(internal)?,
                }
                .decode(endpoint)?,
            );
        }
        Ok(out)
    })
}

/// Makes deliveries of the matching events to the endpoint pending again, due at `now`.
const REPLAY: &str = "INSERT INTO webhook_deliveries \
     (endpoint_id, event_seq, order_key, state, attempts, due_at) \
     SELECT ep.id, ev.seq, ev.meeting_number, 0, 0, ?3 \
     FROM webhook_endpoints ep JOIN webhook_events ev ON ev.company_id = ep.company_id \
     WHERE ep.id = ?1 AND ep.company_id = ?2 AND ";

const REPLAY_CONFLICT: &str = " ON CONFLICT (endpoint_id, event_seq) DO UPDATE \
     SET state = 0, attempts = 0, due_at = excluded.due_at";

pub(crate) async fn replay_event(
    store: &SqliteStore,
    company: CompanyId,
    endpoint: WebhookId,
    event: EventId,
    now: Timestamp,
    audit: &AuditEntry,
) -> StoreResult<()> {
    let mut tx = write_tx(&store.writer).await?;
    let replayed = sqlx::query(&format!("{REPLAY}ev.id = ?4{REPLAY_CONFLICT}"))
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
    audit_in(&mut tx, audit).await?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn replay_since(
    store: &SqliteStore,
    company: CompanyId,
    endpoint: WebhookId,
    since: Timestamp,
    now: Timestamp,
    audit: &AuditEntry,
) -> StoreResult<u64> {
    let mut tx = write_tx(&store.writer).await?;
    let known: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM webhook_endpoints WHERE id = ?1 AND company_id = ?2")
            .bind(endpoint.as_uuid())
            .bind(company.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
    if known.is_none() {
        return Err(StoreError::NotFound);
    }
    let replayed = sqlx::query(&format!(
        "{REPLAY}ev.occurred_at >= ?4 AND (ep.types & ev.type_bit) != 0{REPLAY_CONFLICT}"
    ))
    .bind(endpoint.as_uuid())
    .bind(company.as_uuid())
    .bind(ms(now))
    .bind(ms(since))
    .execute(&mut *tx)
    .await
    .map_err(db_err)?
    .rows_affected();
    audit_in(&mut tx, audit).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(replayed)
}

pub(crate) fn pending_deliveries(store: &SqliteStore) -> StoreResult<u64> {
    store.reads.read(|conn| {
        conn.prepare_cached("SELECT count(*) FROM webhook_deliveries WHERE state = 0")
            .and_then(|mut st| st.query_row([], |row| row.get::<_, i64>(0)))
            .map_err(internal)
            .and_then(|n| seq_of(n, "count"))
    })
}

/// Deletes in batches of [`EXPIRY_BATCH`] rows, one transaction each; returns how many.
async fn delete_in_batches(store: &SqliteStore, sql: &str, before: Timestamp) -> StoreResult<u64> {
    let mut total = 0;
    loop {
        let mut tx = write_tx(&store.writer).await?;
        let deleted = sqlx::query(sql)
            .bind(ms(before))
            .bind(EXPIRY_BATCH)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        tx.commit().await.map_err(db_err)?;
        total += deleted;
        if deleted < EXPIRY_BATCH as u64 {
            return Ok(total);
        }
    }
}

pub(crate) async fn expire_webhook_events(
    store: &SqliteStore,
    before: Timestamp,
) -> StoreResult<u64> {
    let events = delete_in_batches(
        store,
        "DELETE FROM webhook_events WHERE seq IN (SELECT seq FROM webhook_events e \
         WHERE e.occurred_at < ?1 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
           WHERE d.event_seq = e.seq AND d.state = 0) \
           AND e.seq <= (SELECT through_seq FROM webhook_fanout) \
           AND e.seq < (SELECT max(seq) FROM webhook_events) \
         ORDER BY e.occurred_at LIMIT ?2)",
        before,
    )
    .await?;
    delete_in_batches(
        store,
        "DELETE FROM webhook_attempts WHERE seq IN \
         (SELECT seq FROM webhook_attempts WHERE at < ?1 ORDER BY at LIMIT ?2)",
        before,
    )
    .await?;
    Ok(events)
}

// --- the audit log -----------------------------------------------------------------------

pub(crate) fn audit_log(
    store: &SqliteStore,
    company: CompanyId,
    filter: &AuditFilter,
    page: PageRequest,
) -> StoreResult<Page<AuditRecord>> {
    use rusqlite::types::Value;
    let mut clause = String::from("company_id = ?1");
    let mut values: Vec<Value> = vec![Value::Blob(company.as_uuid().as_bytes().to_vec())];
    fn and(clause: &mut String, values: &mut Vec<Value>, column: &str, op: &str, value: Value) {
        values.push(value);
        clause.push_str(&format!(" AND {column} {op} ?{}", values.len()));
    }
    match &filter.actor {
        Some(ActorFilter::User(id)) => and(
            &mut clause,
            &mut values,
            "actor_user",
            "=",
            Value::Blob(id.as_uuid().as_bytes().to_vec()),
        ),
        Some(ActorFilter::Operator) => clause.push_str(" AND actor_user IS NULL"),
        None => {}
    }
    if let Some(action) = filter.action {
        let value = Value::Text(action.as_str().to_owned());
        and(&mut clause, &mut values, "action", "=", value);
    }
    if let Some(meeting) = &filter.meeting {
        let value = Value::Text(meeting.as_str().to_owned());
        and(&mut clause, &mut values, "meeting_number", "=", value);
    }
    if let Some(since) = filter.since {
        and(
            &mut clause,
            &mut values,
            "at",
            ">=",
            Value::Integer(ms(since)),
        );
    }
    if let Some(until) = filter.until {
        and(
            &mut clause,
            &mut values,
            "at",
            "<",
            Value::Integer(ms(until)),
        );
    }
    let count_sql = format!("SELECT count(*) FROM audit_log WHERE {clause}");
    let mut page_values = values.clone();
    page_values.push(Value::Integer(i64::from(page.limit())));
    page_values.push(Value::Integer(
        i64::try_from(page.offset()).unwrap_or(i64::MAX),
    ));
    let page_sql = format!(
        "SELECT seq, company_id, at, actor_user, actor_name, address, action, target, \
         meeting_number, details FROM audit_log WHERE {clause} \
         ORDER BY at DESC, seq DESC LIMIT ?{} OFFSET ?{}",
        values.len() + 1,
        values.len() + 2
    );
    store.reads.read(|conn| {
        // One snapshot: the total and the page agree.
        let snapshot = conn.unchecked_transaction().map_err(internal)?;
        let total: i64 = snapshot
            .prepare_cached(&count_sql)
            .and_then(|mut st| st.query_row(params_from_iter(values.iter()), |row| row.get(0)))
            .map_err(internal)?;
        let mut st = snapshot.prepare_cached(&page_sql).map_err(internal)?;
        let mut rows = st
            .query(params_from_iter(page_values.iter()))
            .map_err(internal)?;
        let mut items = Vec::new();
        while let Some(row) = rows.next().map_err(internal)? {
            items.push(audit_from_row(row)?);
        }
        drop(rows);
        drop(st);
        drop(snapshot);
        Ok(Page {
            items,
            total: seq_of(total, "count")?,
        })
    })
}

fn audit_from_row(row: &rusqlite::Row<'_>) -> StoreResult<AuditRecord> {
    let get = |e: rusqlite::Error| internal(e);
    AuditRow {
        seq: row.get(0).map_err(get)?,
        company: row.get(1).map_err(get)?,
        at: row.get(2).map_err(get)?,
        actor_user: row.get(3).map_err(get)?,
        actor_name: row.get(4).map_err(get)?,
        address: row.get(5).map_err(get)?,
        action: row.get(6).map_err(get)?,
        target: row.get(7).map_err(get)?,
        meeting_number: row.get(8).map_err(get)?,
        details: row.get(9).map_err(get)?,
    }
    .decode()
}

pub(crate) async fn expire_audit(store: &SqliteStore, before: Timestamp) -> StoreResult<u64> {
    delete_in_batches(
        store,
        "DELETE FROM audit_log WHERE seq IN \
         (SELECT seq FROM audit_log WHERE at < ?1 ORDER BY at LIMIT ?2)",
        before,
    )
    .await
}

//! The embedded store: [`Store`] over one SQLite file.
//!
//! - WAL journal, so readers never wait for the writer.
//! - `synchronous = FULL` by default: a change is acknowledged only after it reached the disk,
//!   so neither a crash nor a power cut loses it ([`Durability`] documents the trade-off).
//! - Two pools: one writer connection (SQLite allows one writer at a time; queueing in the pool
//!   is cheaper than `SQLITE_BUSY` retries) and several read-only readers.
//! - Migrations are embedded in the binary and applied at open.

// By concept: which module answers which part of `Store`. Companies, users and tokens are
// answered here, in `lib.rs`.
/// The file itself: migrations, backups, the read pool, change generations.
mod database;
/// `History`: sessions, attendance, recordings, import, keys; `history/index.rs` holds the
/// lists in memory.
mod history;
/// `Limits`: attempt counts, in the process (one node).
mod limits;
/// `LiveRecord`: the journal that writes running meetings; `live/leases.rs` the meeting leases.
mod live;
/// Rooms, schedules, series, calendars; `meetings/company_list.rs` answers the company-wide
/// list from `plenum-store-memory`'s index, or by SQL while it is rebuilt.
mod meetings;
/// Webhook endpoints, the outbox and the audit log.
mod webhooks;

use database::reads;
use plenum_store::rows::search_key;

#[doc(hidden)]
pub use webhooks::DUE_DELIVERIES;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;

use plenum_domain::Timestamp;
use plenum_domain::company::{Company, CompanyName, NewCompany, TimeZoneName};
use plenum_domain::credentials::{SecurityLevel, TokenHash};
use plenum_domain::history::Recording;
use plenum_domain::ids::{CompanyId, UserId};
use plenum_domain::ids::{RoomId, ScheduleId, SeriesId};
use plenum_domain::paging::{Page, PageRequest};
use plenum_domain::schedule::{MeetingNumber, Room, Schedule, ScheduleSummary, Series, UserRef};
use plenum_domain::sign_in::{AccessTokenRecord, LockoutPolicy, SignInThrottle};
use plenum_domain::user::{NewUser, Profile, Role, User, UserChanges, Username};
use plenum_store::{
    Abandoned, AuthenticatedToken, DeletedRecordings, JoinTarget, LiveRecord, LiveWrite,
    MeetingScope, SignInRecord, Store, StoreError, StoreResult, Trail,
};

/// The database file inside a data directory.
pub use database::backup::{DataDirLock, Restored, backup, restore};
pub use database::migrate::migrate;

pub const DATABASE_FILE: &str = "plenum.db";

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync on every commit: survives process kills and power loss. The default.
    #[default]
    Full,
    /// fsync at WAL checkpoints only: survives process kills (the OS still holds the data),
    /// may lose the last commits on power loss. For benchmarks and throwaway installs.
    Normal,
}

#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// The hot reads (meeting lists and details), see `reads.rs`.
    reads: std::sync::Arc<reads::ReadPool>,
    trigrams: std::sync::Arc<reads::TrigramStats>,
    /// Each company's meetings in list order, for the company-wide list
    /// (`meetings/company_list.rs`).
    schedules: std::sync::Arc<plenum_store_memory::schedules::ScheduleMemory>,
    /// The group-committing writer of running meetings' record, see `live.rs`.
    journal: std::sync::Arc<live::Journal>,
    /// The history lists' in-memory indexes and remembered rows, see `history.rs`.
    history: std::sync::Arc<plenum_store_memory::history::HistoryMemory>,
    /// Notices to this process's subscribers: one server per data directory, so nobody else
    /// is to be told (`plenum_store::Notices`).
    notices: tokio::sync::broadcast::Sender<plenum_store::Notice>,
    /// What the delivery task has claimed (`Webhooks::claim_deliveries`): one server, so
    /// in memory.
    delivery_claims: std::sync::Arc<plenum_store::ClaimsInMemory>,
    /// Attempt counts (`limits.rs`): in the process, as this is the only node.
    limits: std::sync::Arc<plenum_store::MemoryLimits>,
}

/// Notices a slow subscriber may fall behind by before it is told to forget everything.
const NOTICES_QUEUED: usize = 1024;

impl SqliteStore {
    /// Makes the deliveries of the events written since the last fan-out: one per endpoint
    /// of the event's company that takes its type and was registered before the event was
    /// written (migration 0017). Run by the reads of the delivery queue, through the
    /// journal, a bounded number of events per transaction; nothing when nothing is new.
    async fn fan_out(&self) -> StoreResult<()> {
        while webhooks::fan_out_due(self)? {
            self.journal.write(live::Work::FanOut).await?;
        }
        Ok(())
    }
}

/// The schema's migrations, embedded in the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

fn internal(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Internal(Box::new(e))
}

fn db_err(e: sqlx::Error) -> StoreError {
    internal(e)
}

/// A stored meeting password, checked as it is read.
pub(crate) fn password(
    raw: Option<String>,
    what: &str,
) -> StoreResult<Option<plenum_domain::schedule::MeetingPassword>> {
    plenum_domain::schedule::MeetingPassword::parse_optional(raw.as_deref())
        .map_err(|_| corrupt(what))
}

/// A stored meeting number, checked as it is read.
pub(crate) fn number(raw: &str, what: &str) -> StoreResult<plenum_domain::schedule::MeetingNumber> {
    plenum_domain::schedule::MeetingNumber::parse(raw).map_err(|_| corrupt(what))
}

/// A write transaction on the writer pool, holding SQLite's write lock from its first
/// statement (`BEGIN IMMEDIATE`). The live journal writes through its own connection: a
/// deferred transaction that read before the journal committed could not then write
/// (`SQLITE_BUSY_SNAPSHOT`, which no busy timeout waits out), and the change would be
/// refused with an internal error. Taken at the start, the lock is waited for instead.
pub(crate) async fn write_tx(
    pool: &SqlitePool,
) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
    pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)
}

/// Which UNIQUE constraint a failed insert hit, from SQLite's message ("UNIQUE constraint
/// failed: users.username_key").
fn unique_violation(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Some(db.message().to_owned()),
        _ => None,
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir`, and brings its schema up to date.
    pub async fn open(data_dir: &Path, durability: Durability) -> StoreResult<Self> {
        std::fs::create_dir_all(data_dir).map_err(internal)?;
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join(DATABASE_FILE))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            })
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            // SQLite's default page cache is 2 MiB per connection; reads of a large store
            // (indexes, the trigram index) would go to the OS on every query. 64 MiB of cache
            // and memory-mapped reads keep the hot pages in the process.
            .pragma("cache_size", "-65536")
            .pragma("mmap_size", "268435456");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(db_err)?;
        MIGRATOR.run(&writer).await.map_err(internal)?;
        meetings::key_rooms(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await
            .map_err(db_err)?;
        let reads = std::sync::Arc::new(reads::ReadPool::open(&data_dir.join(DATABASE_FILE), 4)?);
        let journal = std::sync::Arc::new(live::Journal::open(
            &data_dir.join(DATABASE_FILE),
            durability,
        )?);
        Ok(Self {
            writer,
            reader,
            reads,
            trigrams: std::sync::Arc::default(),
            schedules: std::sync::Arc::default(),
            journal,
            history: std::sync::Arc::default(),
            notices: tokio::sync::broadcast::channel(NOTICES_QUEUED).0,
            delivery_claims: std::sync::Arc::default(),
            limits: std::sync::Arc::default(),
        })
    }

    /// Closes both pools, checkpointing the WAL.
    pub async fn close(&self) {
        // What the write-ahead log holds goes into the database file, so that after a clean
        // stop `plenum.db` alone is a whole copy (docs/operations.md).
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.writer)
            .await
        {
            tracing::warn!(error = %e, "the write-ahead log was not folded into the database");
        }
        self.reader.close().await;
        self.writer.close().await;
    }
}

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn instant(ms: i64) -> StoreResult<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(internal)
}

/// A stored value that no longer parses as the domain type: the file was edited by hand or
/// written by a newer version. Reported, never papered over.
#[derive(Debug, thiserror::Error)]
#[error("corrupt row: {0}")]
struct Corrupt(String);

fn corrupt(what: impl Into<String>) -> StoreError {
    internal(Corrupt(what.into()))
}

const COMPANY_COLUMNS: &str = "id, name, time_zone, max_users, is_default, created_at";

fn company_from_row(row: &SqliteRow) -> StoreResult<Company> {
    let name: String = row.try_get("name").map_err(db_err)?;
    let tz: String = row.try_get("time_zone").map_err(db_err)?;
    let max_users: i64 = row.try_get("max_users").map_err(db_err)?;
    Ok(Company {
        id: CompanyId::from_uuid(row.try_get::<Uuid, _>("id").map_err(db_err)?),
        name: CompanyName::parse(&name).map_err(|_| corrupt("companies.name"))?,
        time_zone: TimeZoneName::parse(&tz).map_err(|_| corrupt("companies.time_zone"))?,
        max_users: u32::try_from(max_users).map_err(|_| corrupt("companies.max_users"))?,
        is_default: row.try_get::<i64, _>("is_default").map_err(db_err)? == 1,
        created_at: instant(row.try_get("created_at").map_err(db_err)?)?,
    })
}

/// Columns of `users` that make a domain `User`, prefixed for joins.
const USER_COLUMNS: &str = "u.id, u.company_id, u.username, u.real_name, u.email, u.department, \
     u.mobile, u.role, u.security_level, u.secret_changed_at, u.created_at";

fn user_from_row(row: &SqliteRow) -> StoreResult<User> {
    let username: String = row.try_get("username").map_err(db_err)?;
    let role: String = row.try_get("role").map_err(db_err)?;
    let level: String = row.try_get("security_level").map_err(db_err)?;
    Ok(User {
        id: UserId::from_uuid(row.try_get::<Uuid, _>("id").map_err(db_err)?),
        company_id: CompanyId::from_uuid(row.try_get::<Uuid, _>("company_id").map_err(db_err)?),
        username: Username::parse(&username).map_err(|_| corrupt("users.username"))?,
        profile: Profile {
            real_name: row.try_get("real_name").map_err(db_err)?,
            email: row.try_get("email").map_err(db_err)?,
            department: row.try_get("department").map_err(db_err)?,
            mobile: row.try_get("mobile").map_err(db_err)?,
        },
        role: Role::from_str(&role).map_err(|_| corrupt("users.role"))?,
        security_level: SecurityLevel::parse(&level)
            .ok_or_else(|| corrupt("users.security_level"))?,
        secret_changed_at: instant(row.try_get("secret_changed_at").map_err(db_err)?)?,
        created_at: instant(row.try_get("created_at").map_err(db_err)?)?,
    })
}

fn throttle_from_row(row: &SqliteRow) -> StoreResult<SignInThrottle> {
    let failures: i64 = row.try_get("failed_sign_ins").map_err(db_err)?;
    let locked: Option<i64> = row.try_get("locked_until").map_err(db_err)?;
    Ok(SignInThrottle {
        consecutive_failures: u32::try_from(failures).unwrap_or(u32::MAX),
        locked_until: locked.map(instant).transpose()?,
    })
}

/// Escapes `%`, `_` and the escape character itself for a `LIKE .. ESCAPE '\\'` pattern.
pub(crate) fn like_contains(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

async fn insert_user(tx: &mut Transaction<'_, Sqlite>, user: &NewUser) -> StoreResult<()> {
    // The company's limit is checked in the same statement as the insert, so two concurrent
    // creations cannot both slip under it.
    let inserted = sqlx::query(
        "INSERT INTO users (id, company_id, username, username_key, real_name, real_name_key, email, \
         department, mobile, role, secret_hash, security_level, secret_changed_at, created_at) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?13, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12 \
         WHERE (SELECT COUNT(*) FROM users WHERE company_id = ?2) \
             < (SELECT max_users FROM companies WHERE id = ?2)",
    )
    .bind(user.id.as_uuid())
    .bind(user.company_id.as_uuid())
    .bind(user.username.as_str())
    .bind(user.username.canonical())
    .bind(&user.profile.real_name)
    .bind(&user.profile.email)
    .bind(&user.profile.department)
    .bind(&user.profile.mobile)
    .bind(user.role.as_str())
    .bind(&user.secret_hash)
    .bind(user.security_level.as_str())
    .bind(ms(user.created_at))
    .bind(search_key(&user.profile.real_name))
    .execute(&mut **tx)
    .await;
    match inserted {
        Ok(done) if done.rows_affected() == 1 => Ok(()),
        Ok(_) => {
            let limit: Option<i64> =
                sqlx::query_scalar("SELECT max_users FROM companies WHERE id = ?1")
                    .bind(user.company_id.as_uuid())
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(db_err)?;
            match limit {
                Some(limit) => Err(StoreError::UserLimitReached {
                    limit: u32::try_from(limit).unwrap_or(u32::MAX),
                }),
                None => Err(StoreError::NotFound),
            }
        }
        Err(e) if unique_violation(&e).is_some_and(|m| m.contains("username_key")) => {
            Err(StoreError::UsernameTaken)
        }
        Err(e) => Err(db_err(e)),
    }
}

async fn user_in(
    executor: impl sqlx::SqliteExecutor<'_>,
    company: CompanyId,
    id: UserId,
) -> StoreResult<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1 AND u.company_id = ?2");
    sqlx::query(&sql)
        .bind(id.as_uuid())
        .bind(company.as_uuid())
        .fetch_optional(executor)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(user_from_row)
        .transpose()
}

#[async_trait]
impl LiveRecord for SqliteStore {
    async fn join_target(
        &self,
        number: &plenum_domain::schedule::MeetingNumber,
        now: Timestamp,
    ) -> StoreResult<Option<JoinTarget>> {
        live::join_target(self, number, now).await
    }

    async fn last_end_reason(&self, schedule: ScheduleId) -> StoreResult<Option<String>> {
        live::last_end_reason(self, schedule).await
    }

    async fn record_live(&self, writes: Vec<LiveWrite>) -> StoreResult<()> {
        self.journal.record(writes).await
    }

    async fn close_abandoned(
        &self,
        reason: &str,
        which: plenum_store::Abandon<'_>,
    ) -> StoreResult<Abandoned> {
        live::close_abandoned(self, reason, which).await
    }

    async fn unfinished_recordings(&self) -> StoreResult<Vec<Recording>> {
        history::unfinished_recordings(self).await
    }

    async fn expire_recordings(
        &self,
        ended_before: Timestamp,
        limit: u32,
    ) -> StoreResult<DeletedRecordings> {
        history::delete_recordings_where(
            self,
            "r.ended_at IS NOT NULL AND r.ended_at < ?1",
            &[rusqlite::types::Value::Integer(ms(ended_before))],
            Some(limit),
        )
        .await
    }
}

#[async_trait]
impl plenum_store::Webhooks for SqliteStore {
    async fn create_webhook(
        &self,
        new: &plenum_domain::webhooks::NewEndpoint,
        audit: &plenum_domain::audit::AuditEntry,
    ) -> StoreResult<plenum_store::Registration> {
        webhooks::create_webhook(self, new, audit).await
    }

    async fn webhooks(
        &self,
        company: CompanyId,
    ) -> StoreResult<Vec<plenum_domain::webhooks::Endpoint>> {
        webhooks::webhooks(self, company)
    }

    async fn webhook(
        &self,
        company: CompanyId,
        id: plenum_domain::ids::WebhookId,
    ) -> StoreResult<Option<plenum_domain::webhooks::Endpoint>> {
        webhooks::webhook(self, company, id)
    }

    async fn delete_webhook(
        &self,
        company: CompanyId,
        id: plenum_domain::ids::WebhookId,
        audit: &plenum_domain::audit::AuditEntry,
    ) -> StoreResult<()> {
        webhooks::delete_webhook(self, company, id, audit).await
    }

    async fn rotate_webhook_secret(
        &self,
        company: CompanyId,
        id: plenum_domain::ids::WebhookId,
        seed: &plenum_domain::webhooks::SigningSeed,
        at: Timestamp,
        audit: &plenum_domain::audit::AuditEntry,
    ) -> StoreResult<plenum_domain::webhooks::Endpoint> {
        webhooks::rotate_webhook_secret(self, company, id, seed, at, audit).await
    }

    async fn append_trail(&self, trail: &plenum_store::Trail) -> StoreResult<()> {
        webhooks::append_trail(self, trail).await
    }

    async fn due_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<plenum_store::DueDelivery>> {
        self.fan_out().await?;
        webhooks::due_deliveries(self, now, limit)
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<plenum_store::DueDelivery>> {
        self.fan_out().await?;
        let claims = &self.delivery_claims;
        let wanted = limit.saturating_add(u32::try_from(claims.held()).unwrap_or(u32::MAX));
        let due = webhooks::due_deliveries(self, now, wanted)?;
        Ok(claims.claim(due, now, limit as usize))
    }

    async fn next_delivery_due(&self, after: Timestamp) -> StoreResult<Option<Timestamp>> {
        self.fan_out().await?;
        webhooks::next_delivery_due(self, after)
    }

    async fn record_attempts(
        &self,
        attempts: Vec<(plenum_store::Attempt, plenum_store::AttemptResult)>,
    ) -> StoreResult<()> {
        let recorded: Vec<_> = attempts
            .iter()
            .map(|(a, _)| (a.endpoint, a.event_seq))
            .collect();
        self.journal.write(live::Work::Attempts(attempts)).await?;
        self.delivery_claims.release(recorded);
        Ok(())
    }

    async fn webhook_attempts(
        &self,
        company: CompanyId,
        endpoint: plenum_domain::ids::WebhookId,
        limit: u32,
    ) -> StoreResult<Vec<plenum_store::Attempt>> {
        webhooks::webhook_attempts(self, company, endpoint, limit)
    }

    async fn replay_event(
        &self,
        company: CompanyId,
        endpoint: plenum_domain::ids::WebhookId,
        event: plenum_domain::ids::EventId,
        now: Timestamp,
        audit: &plenum_domain::audit::AuditEntry,
    ) -> StoreResult<()> {
        webhooks::replay_event(self, company, endpoint, event, now, audit).await
    }

    async fn replay_since(
        &self,
        company: CompanyId,
        endpoint: plenum_domain::ids::WebhookId,
        since: Timestamp,
        now: Timestamp,
        audit: &plenum_domain::audit::AuditEntry,
    ) -> StoreResult<u64> {
        self.fan_out().await?;
        webhooks::replay_since(self, company, endpoint, since, now, audit).await
    }

    async fn pending_deliveries(&self) -> StoreResult<u64> {
        self.fan_out().await?;
        webhooks::pending_deliveries(self)
    }

    async fn expire_webhook_events(&self, before: Timestamp) -> StoreResult<u64> {
        self.fan_out().await?;
        webhooks::expire_webhook_events(self, before).await
    }
}

#[async_trait]
impl plenum_store::AuditLog for SqliteStore {
    async fn audit_log(
        &self,
        company: CompanyId,
        filter: &plenum_domain::audit::AuditFilter,
        page: PageRequest,
    ) -> StoreResult<Page<plenum_domain::audit::AuditRecord>> {
        webhooks::audit_log(self, company, filter, page)
    }

    async fn expire_audit(&self, before: Timestamp) -> StoreResult<u64> {
        webhooks::expire_audit(self, before).await
    }
}

#[async_trait]
impl plenum_store::Notices for SqliteStore {
    async fn announce(&self, notice: &plenum_store::Notice) -> StoreResult<()> {
        // No subscriber: nothing to forget.
        let _ = self.notices.send(notice.clone());
        Ok(())
    }

    fn notices(&self) -> tokio::sync::broadcast::Receiver<plenum_store::Notice> {
        self.notices.subscribe()
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn readiness(&self) -> StoreResult<plenum_store::Readiness> {
        let applied: Vec<(i64, Vec<u8>)> = self.reads.read(|conn| {
            let mut st = conn
                .prepare_cached("SELECT version, checksum FROM _sqlx_migrations WHERE success")
                .map_err(internal)?;
            let rows = st
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .map_err(internal)?;
            rows.collect::<Result<_, _>>().map_err(internal)
        })?;
        Ok(plenum_store::Readiness::of(
            MIGRATOR
                .iter()
                .filter(|m| !m.migration_type.is_down_migration())
                .map(|m| (m.version, &m.checksum[..])),
            &applied,
        ))
    }

    async fn create_company_with_trail(
        &self,
        company: &NewCompany,
        first_admin: &NewUser,
        trail: &Trail,
    ) -> StoreResult<Company> {
        let mut tx = write_tx(&self.writer).await?;
        let inserted = sqlx::query(
            "INSERT INTO companies (id, name, name_key, time_zone, max_users, is_default, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(company.id.as_uuid())
        .bind(company.name.as_str())
        .bind(search_key(company.name.as_str()))
        .bind(company.time_zone.as_str())
        .bind(i64::from(company.max_users))
        .bind(i64::from(company.is_default))
        .bind(ms(company.created_at))
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if unique_violation(&e).is_some() => return Err(StoreError::CompanyNameTaken),
            Err(e) => return Err(db_err(e)),
        }
        insert_user(&mut tx, first_admin).await?;
        webhooks::write_trail(&mut tx, trail).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Company {
            id: company.id,
            name: company.name.clone(),
            time_zone: company.time_zone.clone(),
            max_users: company.max_users,
            is_default: company.is_default,
            created_at: company.created_at,
        })
    }

    async fn update_company_with_trail(
        &self,
        id: CompanyId,
        changes: &plenum_domain::company::CompanyChanges,
        trail: &Trail,
    ) -> StoreResult<Company> {
        let mut tx = write_tx(&self.writer).await?;
        let updated = sqlx::query(&format!(
            "UPDATE companies SET name = coalesce(?2, name), name_key = coalesce(?3, name_key), \
             time_zone = coalesce(?4, time_zone), max_users = coalesce(?5, max_users) \
             WHERE id = ?1 RETURNING {COMPANY_COLUMNS}"
        ))
        .bind(id.as_uuid())
        .bind(changes.name.as_ref().map(|n| n.as_str()))
        .bind(changes.name.as_ref().map(|n| search_key(n.as_str())))
        .bind(changes.time_zone.as_ref().map(|z| z.as_str()))
        .bind(changes.max_users.map(i64::from))
        .fetch_optional(&mut *tx)
        .await;
        let row = match updated {
            Ok(Some(row)) => row,
            Ok(None) => return Err(StoreError::NotFound),
            Err(e) if unique_violation(&e).is_some() => return Err(StoreError::CompanyNameTaken),
            Err(e) => return Err(db_err(e)),
        };
        let company = company_from_row(&row)?;
        webhooks::write_trail(&mut tx, trail).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(company)
    }

    async fn default_company(&self) -> StoreResult<Option<Company>> {
        let sql = format!("SELECT {COMPANY_COLUMNS} FROM companies WHERE is_default = 1");
        sqlx::query(&sql)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(company_from_row)
            .transpose()
    }

    async fn company(&self, id: CompanyId) -> StoreResult<Option<Company>> {
        // On the rusqlite read pool (`reads.rs`): every Rokid request reads its company's time
        // zone, and a primary-key read there costs ~8 µs instead of ~110 µs through sqlx.
        self.reads.read(|conn| {
            let sql = format!("SELECT {COMPANY_COLUMNS} FROM companies WHERE id = ?1");
            let mut stmt = conn.prepare_cached(&sql).map_err(internal)?;
            let mut rows = stmt.query([id.as_uuid()]).map_err(internal)?;
            let Some(row) = rows.next().map_err(internal)? else {
                return Ok(None);
            };
            let get = |e: rusqlite::Error| internal(e);
            let name: String = row.get(1).map_err(get)?;
            let tz: String = row.get(2).map_err(get)?;
            let max_users: i64 = row.get(3).map_err(get)?;
            Ok(Some(Company {
                id: CompanyId::from_uuid(row.get(0).map_err(get)?),
                name: CompanyName::parse(&name).map_err(|_| corrupt("companies.name"))?,
                time_zone: TimeZoneName::parse(&tz).map_err(|_| corrupt("companies.time_zone"))?,
                max_users: u32::try_from(max_users).map_err(|_| corrupt("companies.max_users"))?,
                is_default: row.get::<_, i64>(4).map_err(get)? == 1,
                created_at: instant(row.get(5).map_err(get)?)?,
            }))
        })
    }

    async fn companies(&self) -> StoreResult<Vec<Company>> {
        let sql = format!("SELECT {COMPANY_COLUMNS} FROM companies ORDER BY created_at, rowid");
        sqlx::query(&sql)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(company_from_row)
            .collect()
    }

    async fn create_user_with_trail(&self, user: &NewUser, trail: &Trail) -> StoreResult<User> {
        let mut tx = write_tx(&self.writer).await?;
        insert_user(&mut tx, user).await?;
        let created = user_in(&mut *tx, user.company_id, user.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        webhooks::write_trail(&mut tx, trail).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    async fn user(&self, company: CompanyId, id: UserId) -> StoreResult<Option<User>> {
        user_in(&self.reader, company, id).await
    }

    async fn sign_in_record(&self, username: &Username) -> StoreResult<Option<SignInRecord>> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, u.secret_hash, u.failed_sign_ins, u.locked_until \
             FROM users u WHERE u.username_key = ?1"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(username.canonical())
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        Ok(Some(SignInRecord {
            user: user_from_row(&row)?,
            secret_hash: row.try_get("secret_hash").map_err(db_err)?,
            throttle: throttle_from_row(&row)?,
        }))
    }

    async fn usernames_by_email(&self, email: &str, limit: u32) -> StoreResult<Vec<Username>> {
        let email = email.trim();
        if email.is_empty() {
            return Ok(Vec::new());
        }
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT username FROM users WHERE email = ?1 COLLATE NOCASE \
             ORDER BY username COLLATE NOCASE LIMIT ?2",
        )
        .bind(email)
        .bind(limit)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        found
            .iter()
            .map(|name| Username::parse(name).map_err(|e| corrupt(e.to_string())))
            .collect()
    }

    async fn secret_hash(&self, user: UserId) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT secret_hash FROM users WHERE id = ?1")
            .bind(user.as_uuid())
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)
    }

    async fn update_user_with_trail(
        &self,
        company: CompanyId,
        id: UserId,
        changes: &UserChanges,
        now: Timestamp,
        trail: &Trail,
    ) -> StoreResult<User> {
        let mut tx = write_tx(&self.writer).await?;
        let mut user = user_in(&mut *tx, company, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if changes.demotes_system_admin(&user) {
            let admins: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE company_id = ?1 AND role = 'SystemAdmin'",
            )
            .bind(company.as_uuid())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            if admins <= 1 {
                return Err(StoreError::LastSystemAdmin);
            }
        }
        changes.apply_to(&mut user, now);
        sqlx::query(
            "UPDATE users SET real_name = ?2, email = ?3, department = ?4, mobile = ?5, role = ?6, \
             security_level = ?7, secret_changed_at = ?8, real_name_key = ?9 WHERE id = ?1",
        )
        .bind(id.as_uuid())
        .bind(&user.profile.real_name)
        .bind(&user.profile.email)
        .bind(&user.profile.department)
        .bind(&user.profile.mobile)
        .bind(user.role.as_str())
        .bind(user.security_level.as_str())
        .bind(ms(user.secret_changed_at))
        .bind(search_key(&user.profile.real_name))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if let Some((hash, _)) = &changes.secret {
            sqlx::query(
                "UPDATE users SET secret_hash = ?2, failed_sign_ins = 0, locked_until = NULL \
                 WHERE id = ?1",
            )
            .bind(id.as_uuid())
            .bind(hash)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        webhooks::write_trail(&mut tx, trail).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(user)
    }

    async fn change_secret(
        &self,
        company: CompanyId,
        id: UserId,
        expected: &str,
        secret: &(String, SecurityLevel),
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = write_tx(&self.writer).await?;
        // The compare and the write are this one UPDATE: no other writer comes in between.
        let changed = sqlx::query(
            "UPDATE users SET secret_hash = ?4, security_level = ?5, secret_changed_at = ?6, \
             failed_sign_ins = 0, locked_until = NULL \
             WHERE id = ?1 AND company_id = ?2 AND secret_hash = ?3",
        )
        .bind(id.as_uuid())
        .bind(company.as_uuid())
        .bind(expected)
        .bind(&secret.0)
        .bind(secret.1.as_str())
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected()
            == 1;
        if !changed {
            user_in(&mut *tx, company, id)
                .await?
                .ok_or(StoreError::NotFound)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(changed)
    }

    async fn record_sign_in_failure(
        &self,
        user: UserId,
        policy: &LockoutPolicy,
        now: Timestamp,
    ) -> StoreResult<SignInThrottle> {
        let mut tx = write_tx(&self.writer).await?;
        let failures: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET failed_sign_ins = failed_sign_ins + 1 WHERE id = ?1 \
             RETURNING failed_sign_ins",
        )
        .bind(user.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let failures = u32::try_from(failures.ok_or(StoreError::NotFound)?).unwrap_or(u32::MAX);
        let locked_until = policy.lock_after(failures, now);
        if let Some(until) = locked_until {
            sqlx::query("UPDATE users SET locked_until = ?2 WHERE id = ?1")
                .bind(user.as_uuid())
                .bind(ms(until))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(SignInThrottle {
            consecutive_failures: failures,
            locked_until,
        })
    }

    async fn clear_sign_in_failures(&self, user: UserId) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET failed_sign_ins = 0, locked_until = NULL \
             WHERE id = ?1 AND (failed_sign_ins != 0 OR locked_until IS NOT NULL)",
        )
        .bind(user.as_uuid())
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn find_users(
        &self,
        company: CompanyId,
        filter: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<User>> {
        // Substring search cannot use an index, but it only ever scans one company's users
        // (bounded by its max_users) through `users_by_company`.
        let pattern = filter
            .filter(|f| !f.is_empty())
            .map(|f| like_contains(&search_key(f)));
        let condition = "u.company_id = ?1 AND (?2 IS NULL \
             OR u.username_key LIKE ?2 ESCAPE '\\' OR u.real_name_key LIKE ?2 ESCAPE '\\')";
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM users u WHERE {condition}"))
                .bind(company.as_uuid())
                .bind(pattern.as_deref())
                .fetch_one(&self.reader)
                .await
                .map_err(db_err)?;
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE {condition} \
             ORDER BY u.username_key LIMIT ?3 OFFSET ?4"
        );
        let items = sqlx::query(&sql)
            .bind(company.as_uuid())
            .bind(pattern.as_deref())
            .bind(i64::from(page.limit()))
            .bind(i64::try_from(page.offset()).unwrap_or(i64::MAX))
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(user_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page {
            items,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    async fn count_users(&self, company: CompanyId) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE company_id = ?1")
            .bind(company.as_uuid())
            .fetch_one(&self.reader)
            .await
            .map_err(db_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn insert_token(&self, token: &AccessTokenRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO access_tokens (token_hash, user_id, company_id, client_id, issued_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(&token.hash.0[..])
        .bind(token.user_id.as_uuid())
        .bind(token.company_id.as_uuid())
        .bind(token.client_id.as_deref())
        .bind(ms(token.issued_at))
        .bind(ms(token.expires_at))
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn token(&self, hash: &TokenHash) -> StoreResult<Option<AuthenticatedToken>> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, t.client_id, t.issued_at, t.expires_at \
             FROM access_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(&hash.0[..])
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        let user = user_from_row(&row)?;
        Ok(Some(AuthenticatedToken {
            token: AccessTokenRecord {
                hash: *hash,
                user_id: user.id,
                company_id: user.company_id,
                client_id: row.try_get("client_id").map_err(db_err)?,
                issued_at: instant(row.try_get("issued_at").map_err(db_err)?)?,
                expires_at: instant(row.try_get("expires_at").map_err(db_err)?)?,
            },
            user,
        }))
    }

    async fn delete_token(&self, hash: &TokenHash) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM access_tokens WHERE token_hash = ?1")
            .bind(&hash.0[..])
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_user_tokens(&self, user: UserId, keep: Option<&TokenHash>) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM access_tokens WHERE user_id = ?1 AND (?2 IS NULL OR token_hash != ?2)",
        )
        .bind(user.as_uuid())
        .bind(keep.map(|h| h.0.to_vec()))
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn delete_expired_tokens(&self, now: Timestamp) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM access_tokens WHERE expires_at <= ?1")
            .bind(ms(now))
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn user_refs(&self, company: CompanyId, ids: &[UserId]) -> StoreResult<Vec<UserRef>> {
        meetings::user_refs(self, company, ids).await
    }

    async fn create_room(&self, room: &Room) -> StoreResult<Room> {
        meetings::create_room(self, room).await
    }

    async fn room(&self, company: CompanyId, id: RoomId) -> StoreResult<Option<Room>> {
        meetings::room(self, company, id).await
    }

    async fn rooms(
        &self,
        company: CompanyId,
        filter: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<Room>> {
        meetings::rooms(self, company, filter, page).await
    }

    async fn update_room(&self, room: &Room) -> StoreResult<Room> {
        meetings::update_room(self, room).await
    }

    async fn delete_room(&self, company: CompanyId, id: RoomId) -> StoreResult<()> {
        meetings::delete_room(self, company, id).await
    }

    async fn create_schedule_with_trail(
        &self,
        schedule: &Schedule,
        trail: &Trail,
    ) -> StoreResult<Schedule> {
        meetings::create_schedule(self, schedule, trail).await
    }

    async fn create_schedules(&self, schedules: &[Schedule]) -> StoreResult<()> {
        meetings::create_schedules(self, schedules).await
    }

    async fn schedule(&self, company: CompanyId, id: ScheduleId) -> StoreResult<Option<Schedule>> {
        meetings::schedule(self, company, id).await
    }

    async fn update_schedule_with_trail(
        &self,
        schedule: &Schedule,
        trail: &Trail,
    ) -> StoreResult<Schedule> {
        meetings::update_schedule(self, schedule, trail).await
    }

    async fn delete_schedule_with_trail(
        &self,
        company: CompanyId,
        id: ScheduleId,
        trail: &Trail,
    ) -> StoreResult<()> {
        meetings::delete_schedule(self, company, id, trail).await
    }

    async fn find_schedules(
        &self,
        company: CompanyId,
        scope: MeetingScope,
        filter: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<ScheduleSummary>> {
        meetings::find_schedules(self, company, scope, filter, page).await
    }

    async fn settle_lists(
        &self,
        company: CompanyId,
        within: std::time::Duration,
    ) -> StoreResult<bool> {
        meetings::settle_lists(self, company, within).await
    }

    async fn create_series_with_trail(
        &self,
        series: &Series,
        occurrences: &[Schedule],
        trail: &Trail,
    ) -> StoreResult<Series> {
        meetings::create_series(self, series, occurrences, trail).await
    }

    async fn series(&self, company: CompanyId, id: SeriesId) -> StoreResult<Option<Series>> {
        meetings::series(self, company, id).await
    }

    async fn replace_series_with_trail(
        &self,
        series: &Series,
        rebuilt: &[Schedule],
        trail: &Trail,
    ) -> StoreResult<Series> {
        meetings::replace_series(self, series, rebuilt, trail).await
    }

    async fn delete_series_with_trail(
        &self,
        company: CompanyId,
        id: SeriesId,
        trail: &Trail,
    ) -> StoreResult<()> {
        meetings::delete_series(self, company, id, trail).await
    }

    async fn series_occurrences(
        &self,
        company: CompanyId,
        id: SeriesId,
        filter: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<Schedule>> {
        meetings::series_occurrences(self, company, id, filter, page).await
    }

    async fn meeting_number_of_link(&self, code: &str) -> StoreResult<Option<MeetingNumber>> {
        meetings::meeting_number_of_link(self, code)
    }

    async fn series_exdates(&self, id: SeriesId) -> StoreResult<Vec<Timestamp>> {
        meetings::series_exdates(self, id).await
    }

    async fn set_calendar_feed(&self, user: UserId, hash: &TokenHash) -> StoreResult<()> {
        let done = sqlx::query("UPDATE users SET calendar_feed_hash = ?2 WHERE id = ?1")
            .bind(user.as_uuid())
            .bind(&hash.0[..])
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn calendar_feed_user(&self, hash: &TokenHash) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.calendar_feed_hash = ?1");
        sqlx::query(&sql)
            .bind(&hash.0[..])
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn calendar_of(
        &self,
        company: CompanyId,
        user: UserId,
    ) -> StoreResult<(Vec<Schedule>, Vec<Series>)> {
        meetings::calendar_of(self, company, user).await
    }
}

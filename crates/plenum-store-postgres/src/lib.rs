//! The shared store: [`Store`] over PostgreSQL, for installations of several nodes (issue 15).
//!
//! - One connection pool; every method is one transaction (or one statement), as in the
//!   SQLite store. SQLite has one writer, so its store may read, check and write in a
//!   transaction without locks; here transactions run at once, so what a check relies on is
//!   locked first (`SELECT … FOR UPDATE` of the row compared or counted), and compare-and-set
//!   changes are single statements (`UPDATE … WHERE secret_hash = $expected`). Unique
//!   constraints (usernames, company names, the `meeting_numbers` registry) decide races of
//!   creations, as they do in SQLite.
//! - Every query is answered from the tables; none of the SQLite store's in-memory indexes
//!   and remembered rows exist here yet, nor the "generations" that keep them fresh.
//! - Migrations (`migrations/`) are embedded and applied at [`PgStore::open`].
//! - Instants are `bigint` UTC milliseconds, as in SQLite.

mod batch;
mod generations;
mod history;
mod import;
mod leases;
mod limits;
mod live;
mod meetings;
mod notices;
pub mod testing;
mod webhooks;

use plenum_store::rows::search_key;
use std::str::FromStr;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};

use plenum_domain::Timestamp;
use plenum_domain::company::{Company, CompanyName, NewCompany, TimeZoneName};
use plenum_domain::credentials::{SecurityLevel, TokenHash};
use plenum_domain::history::Recording;
use plenum_domain::ids::{CompanyId, RoomId, ScheduleId, SeriesId, UserId};
use plenum_domain::paging::{Page, PageRequest};
use plenum_domain::schedule::{MeetingNumber, Room, Schedule, ScheduleSummary, Series, UserRef};
use plenum_domain::sign_in::{AccessTokenRecord, LockoutPolicy, SignInThrottle};
use plenum_domain::user::{NewUser, Profile, Role, User, UserChanges, Username};
use plenum_store::{
    Abandoned, AuthenticatedToken, DeletedRecordings, JoinTarget, LiveRecord, LiveWrite,
    MeetingScope, SignInRecord, Store, StoreError, StoreResult, Trail,
};

/// How long a connection may have been idle in the pool and still be taken untested.
const IDLE_BEFORE_TEST: std::time::Duration = std::time::Duration::from_secs(1);

/// The schema's migrations, embedded in the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies the migrations the database lacks. A migration applied that this build does not
/// know is a newer node's (docs/scaling.md, upgrading nodes one by one: migrations only add),
/// so it is let be: a node of the older version must still start while the others upgrade.
async fn apply_migrations(pool: &PgPool) -> StoreResult<()> {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator.run(pool).await.map_err(internal)
}

/// The store over one PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Notices to and from the other servers on this database (`notices.rs`).
    notices: notices::Channel,
    /// The history lists' indexes and remembered rows (`plenum-store-memory`), trusted while
    /// the generations migration 0030's triggers keep hold.
    history: std::sync::Arc<plenum_store_memory::history::HistoryMemory>,
    /// Each company's meetings in list order, for the company-wide list (`meetings.rs`),
    /// trusted on the same terms.
    schedules: std::sync::Arc<plenum_store_memory::schedules::ScheduleMemory>,
    /// The generations those answers are checked against, read once for all that wait
    /// (`generations.rs`).
    generations: generations::GenerationReads,
    /// Rocket.Chat's request counts, counted together (`limits.rs`).
    counts: limits::RequestCounts,
}

type Tx = Transaction<'static, Postgres>;

fn internal(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Internal(Box::new(e))
}

fn db_err(e: sqlx::Error) -> StoreError {
    internal(e)
}

/// A stored value that no longer parses as the domain type. Reported, never papered over.
#[derive(Debug, thiserror::Error)]
#[error("corrupt row: {0}")]
struct Corrupt(String);

fn corrupt(what: impl Into<String>) -> StoreError {
    internal(Corrupt(what.into()))
}

/// The constraint a failed write violated, if it was a unique one.
fn unique_violation(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Some(db.constraint().unwrap_or_default().to_owned())
        }
        _ => None,
    }
}

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn instant(ms: i64) -> StoreResult<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(internal)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn offset(page: PageRequest) -> i64 {
    i64::try_from(page.offset()).unwrap_or(i64::MAX)
}

fn limit(page: PageRequest) -> i64 {
    i64::from(page.limit())
}

/// A column of a row, decoded.
fn col<'r, T>(row: &'r PgRow, name: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(name).map_err(db_err)
}

/// A stored meeting password, checked as it is read.
fn password(
    raw: Option<String>,
    what: &str,
) -> StoreResult<Option<plenum_domain::schedule::MeetingPassword>> {
    plenum_domain::schedule::MeetingPassword::parse_optional(raw.as_deref())
        .map_err(|_| corrupt(what))
}

/// A stored meeting number, checked as it is read.
fn number(raw: &str, what: &str) -> StoreResult<MeetingNumber> {
    MeetingNumber::parse(raw).map_err(|_| corrupt(what))
}

/// Escapes `%`, `_` and the escape character itself for a `LIKE … ESCAPE '\'` pattern that
/// matches anything containing `needle`.
fn like_contains(needle: &str) -> String {
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

impl PgStore {
    /// Connects to the database at `url` (`postgres://…`) and brings its schema up to date.
    pub async fn open(url: &str) -> StoreResult<Self> {
        Self::open_with(url, 16).await
    }

    /// As [`PgStore::open`], with at most `connections` connections.
    pub async fn open_with(url: &str, connections: u32) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(connections)
            // sqlx tests a connection with a round trip (a `Sync`) both when it goes back to
            // the pool and, by default, again when it is taken: two round trips around each
            // statement, ~8 % of a busy node's CPU (BENCHMARKS.md, session 15). A connection
            // that went back less than a second ago passed the first test then; only one idle
            // for longer (the database may have restarted meanwhile) is tested again.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_BEFORE_TEST {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect(url)
            .await
            .map_err(db_err)?;
        // Several nodes may start at once: the migrator takes an advisory lock, so one applies
        // the migrations and the others find them applied.
        apply_migrations(&pool).await?;
        let notices = notices::Channel::open(&pool).await?;
        let generations = generations::GenerationReads::start(pool.clone());
        let counts = limits::RequestCounts::start(pool.clone());
        Ok(Self {
            pool,
            notices,
            history: std::sync::Arc::default(),
            schedules: std::sync::Arc::default(),
            generations,
            counts,
        })
    }

    /// Applies the migrations the database lacks (as [`PgStore::open`] does) and returns
    /// them, for `plenum migrate`.
    pub async fn migrate(url: &str) -> StoreResult<Vec<plenum_store::Migration>> {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .map_err(db_err)?;
        let before: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&pool)
                .await
                .or_else(|e| match &e {
                    // No table yet: nothing was applied.
                    sqlx::Error::Database(db) if db.code().as_deref() == Some("42P01") => {
                        Ok(Vec::new())
                    }
                    _ => Err(db_err(e)),
                })?;
        let ran = apply_migrations(&pool).await;
        pool.close().await;
        ran?;
        Ok(plenum_store::Migration::applied_now(
            MIGRATOR
                .iter()
                .filter(|m| !m.migration_type.is_down_migration())
                .map(|m| (m.version, &*m.description)),
            &before,
        ))
    }

    /// Stops listening for notices and closes the pool.
    pub async fn close(&self) {
        self.notices.stop();
        self.pool.close().await;
    }

    async fn begin(&self) -> StoreResult<Tx> {
        self.pool.begin().await.map_err(db_err)
    }
}

const COMPANY_COLUMNS: &str = "id, name, time_zone, max_users, is_default, created_at";

fn company_from_row(row: &PgRow) -> StoreResult<Company> {
    let name: String = col(row, "name")?;
    let tz: String = col(row, "time_zone")?;
    let max_users: i64 = col(row, "max_users")?;
    Ok(Company {
        id: CompanyId::from_uuid(col(row, "id")?),
        name: CompanyName::parse(&name).map_err(|_| corrupt("companies.name"))?,
        time_zone: TimeZoneName::parse(&tz).map_err(|_| corrupt("companies.time_zone"))?,
        max_users: u32::try_from(max_users).map_err(|_| corrupt("companies.max_users"))?,
        is_default: col(row, "is_default")?,
        created_at: instant(col(row, "created_at")?)?,
    })
}

/// Columns of `users` that make a domain `User`, prefixed for joins.
const USER_COLUMNS: &str = "u.id, u.company_id, u.username, u.real_name, u.email, u.department, \
     u.mobile, u.role, u.security_level, u.secret_changed_at, u.created_at";

fn user_from_row(row: &PgRow) -> StoreResult<User> {
    let username: String = col(row, "username")?;
    let role: String = col(row, "role")?;
    let level: String = col(row, "security_level")?;
    Ok(User {
        id: UserId::from_uuid(col(row, "id")?),
        company_id: CompanyId::from_uuid(col(row, "company_id")?),
        username: Username::parse(&username).map_err(|_| corrupt("users.username"))?,
        profile: Profile {
            real_name: col(row, "real_name")?,
            email: col(row, "email")?,
            department: col(row, "department")?,
            mobile: col(row, "mobile")?,
        },
        role: Role::from_str(&role).map_err(|_| corrupt("users.role"))?,
        security_level: SecurityLevel::parse(&level)
            .ok_or_else(|| corrupt("users.security_level"))?,
        secret_changed_at: instant(col(row, "secret_changed_at")?)?,
        created_at: instant(col(row, "created_at")?)?,
    })
}

fn throttle_from_row(row: &PgRow) -> StoreResult<SignInThrottle> {
    let failures: i64 = col(row, "failed_sign_ins")?;
    let locked: Option<i64> = col(row, "locked_until")?;
    Ok(SignInThrottle {
        consecutive_failures: u32::try_from(failures).unwrap_or(u32::MAX),
        locked_until: locked.map(instant).transpose()?,
    })
}

/// Inserts a user if its company has room. The company's row is locked first, so concurrent
/// creations in one company count one after another and cannot both slip under the limit.
async fn insert_user(tx: &mut Tx, user: &NewUser) -> StoreResult<()> {
    let limit: Option<i64> =
        sqlx::query_scalar("SELECT max_users FROM companies WHERE id = $1 FOR NO KEY UPDATE")
            .bind(user.company_id.as_uuid())
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_err)?;
    let limit = limit.ok_or(StoreError::NotFound)?;
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE company_id = $1")
        .bind(user.company_id.as_uuid())
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)?;
    if users >= limit {
        return Err(StoreError::UserLimitReached {
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
        });
    }
    let inserted = sqlx::query(
        "INSERT INTO users (id, company_id, username, username_key, real_name, real_name_key, \
         email, department, mobile, role, secret_hash, security_level, secret_changed_at, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
    )
    .bind(user.id.as_uuid())
    .bind(user.company_id.as_uuid())
    .bind(user.username.as_str())
    .bind(user.username.canonical())
    .bind(&user.profile.real_name)
    .bind(search_key(&user.profile.real_name))
    .bind(&user.profile.email)
    .bind(&user.profile.department)
    .bind(&user.profile.mobile)
    .bind(user.role.as_str())
    .bind(&user.secret_hash)
    .bind(user.security_level.as_str())
    .bind(ms(user.created_at))
    .execute(&mut **tx)
    .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if unique_violation(&e).is_some_and(|c| c.contains("username_key")) => {
            Err(StoreError::UsernameTaken)
        }
        Err(e) => Err(db_err(e)),
    }
}

async fn user_in<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    company: CompanyId,
    id: UserId,
    lock: bool,
) -> StoreResult<Option<User>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1 AND u.company_id = $2{}",
        if lock { " FOR UPDATE" } else { "" }
    );
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
impl LiveRecord for PgStore {
    async fn join_target(
        &self,
        number: &MeetingNumber,
        now: Timestamp,
    ) -> StoreResult<Option<JoinTarget>> {
        live::join_target(self, number, now).await
    }

    async fn last_end_reason(&self, schedule: ScheduleId) -> StoreResult<Option<String>> {
        live::last_end_reason(self, schedule).await
    }

    async fn record_live(&self, writes: Vec<LiveWrite>) -> StoreResult<()> {
        live::record_live(self, writes).await
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
        history::expire_recordings(self, ended_before, limit).await
    }
}

#[async_trait]
impl plenum_store::Notices for PgStore {
    async fn announce(&self, notice: &plenum_store::Notice) -> StoreResult<()> {
        notices::Channel::announce(&self.pool, notice).await
    }

    fn notices(&self) -> tokio::sync::broadcast::Receiver<plenum_store::Notice> {
        self.notices.subscribers.subscribe()
    }
}

#[async_trait]
impl Store for PgStore {
    async fn readiness(&self) -> StoreResult<plenum_store::Readiness> {
        let applied: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
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
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO companies (id, name, name_key, time_zone, max_users, is_default, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(company.id.as_uuid())
        .bind(company.name.as_str())
        .bind(search_key(company.name.as_str()))
        .bind(company.time_zone.as_str())
        .bind(i64::from(company.max_users))
        .bind(company.is_default)
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
        let mut tx = self.begin().await?;
        let updated = sqlx::query(&format!(
            "UPDATE companies SET name = coalesce($2, name), name_key = coalesce($3, name_key), \
             time_zone = coalesce($4, time_zone), max_users = coalesce($5, max_users) \
             WHERE id = $1 RETURNING {COMPANY_COLUMNS}"
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
        let sql = format!("SELECT {COMPANY_COLUMNS} FROM companies WHERE is_default");
        sqlx::query(&sql)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(company_from_row)
            .transpose()
    }

    async fn company(&self, id: CompanyId) -> StoreResult<Option<Company>> {
        let sql = format!("SELECT {COMPANY_COLUMNS} FROM companies WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(company_from_row)
            .transpose()
    }

    async fn companies(&self) -> StoreResult<Vec<Company>> {
        let sql = format!("SELECT {COMPANY_COLUMNS} FROM companies ORDER BY created_at, seq");
        sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(company_from_row)
            .collect()
    }

    async fn create_user_with_trail(&self, user: &NewUser, trail: &Trail) -> StoreResult<User> {
        let mut tx = self.begin().await?;
        insert_user(&mut tx, user).await?;
        let created = user_in(&mut *tx, user.company_id, user.id, false)
            .await?
            .ok_or(StoreError::NotFound)?;
        webhooks::write_trail(&mut tx, trail).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    async fn user(&self, company: CompanyId, id: UserId) -> StoreResult<Option<User>> {
        user_in(&self.pool, company, id, false).await
    }

    async fn sign_in_record(&self, username: &Username) -> StoreResult<Option<SignInRecord>> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, u.secret_hash, u.failed_sign_ins, u.locked_until \
             FROM users u WHERE u.username_key = $1"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(username.canonical())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        Ok(Some(SignInRecord {
            user: user_from_row(&row)?,
            secret_hash: col(&row, "secret_hash")?,
            throttle: throttle_from_row(&row)?,
        }))
    }

    async fn usernames_by_email(&self, email: &str, limit: u32) -> StoreResult<Vec<Username>> {
        let email = email.trim();
        if email.is_empty() {
            return Ok(Vec::new());
        }
        // `COLLATE "C"`: lower-cases ASCII only, as SQLite's NOCASE compares.
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT username FROM users \
             WHERE lower(email COLLATE \"C\") = lower($1 COLLATE \"C\") AND email <> '' \
             ORDER BY username_key LIMIT $2",
        )
        .bind(email)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        found
            .iter()
            .map(|name| Username::parse(name).map_err(|e| corrupt(e.to_string())))
            .collect()
    }

    async fn secret_hash(&self, user: UserId) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT secret_hash FROM users WHERE id = $1")
            .bind(user.as_uuid())
            .fetch_optional(&self.pool)
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
        let mut tx = self.begin().await?;
        // The row is locked: the changes are applied to it as it is, not as another
        // concurrent update is about to leave it.
        let mut user = user_in(&mut *tx, company, id, true)
            .await?
            .ok_or(StoreError::NotFound)?;
        if changes.demotes_system_admin(&user) {
            // Demotions in one company queue on its row: two cannot each see the other admin.
            sqlx::query("SELECT 1 FROM companies WHERE id = $1 FOR NO KEY UPDATE")
                .bind(company.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            let admins: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE company_id = $1 AND role = 'SystemAdmin'",
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
            "UPDATE users SET real_name = $2, email = $3, department = $4, mobile = $5, \
             role = $6, security_level = $7, secret_changed_at = $8, real_name_key = $9 \
             WHERE id = $1",
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
                "UPDATE users SET secret_hash = $2, failed_sign_ins = 0, locked_until = NULL \
                 WHERE id = $1",
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
        let mut tx = self.begin().await?;
        // The compare and the write are this one UPDATE: a concurrent change of the row is
        // waited for and the condition evaluated again on the row it left.
        let changed = sqlx::query(
            "UPDATE users SET secret_hash = $4, security_level = $5, secret_changed_at = $6, \
             failed_sign_ins = 0, locked_until = NULL \
             WHERE id = $1 AND company_id = $2 AND secret_hash = $3",
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
            user_in(&mut *tx, company, id, false)
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
        let mut tx = self.begin().await?;
        let failures: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET failed_sign_ins = failed_sign_ins + 1 WHERE id = $1 \
             RETURNING failed_sign_ins",
        )
        .bind(user.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let failures = u32::try_from(failures.ok_or(StoreError::NotFound)?).unwrap_or(u32::MAX);
        let locked_until = policy.lock_after(failures, now);
        if let Some(until) = locked_until {
            sqlx::query("UPDATE users SET locked_until = $2 WHERE id = $1")
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
             WHERE id = $1 AND (failed_sign_ins <> 0 OR locked_until IS NOT NULL)",
        )
        .bind(user.as_uuid())
        .execute(&self.pool)
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
        // Both keys are lower-cased by the store (Rust's Unicode lower case), as the filter
        // is: the same meaning as in SQLite.
        let pattern = filter
            .filter(|f| !f.is_empty())
            .map(|f| like_contains(&search_key(f)));
        let condition = "u.company_id = $1 AND ($2::text IS NULL \
             OR u.username_key LIKE $2 ESCAPE '\\' OR u.real_name_key LIKE $2 ESCAPE '\\')";
        let mut tx = self.read_snapshot().await?;
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM users u WHERE {condition}"))
                .bind(company.as_uuid())
                .bind(pattern.as_deref())
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE {condition} \
             ORDER BY u.username_key LIMIT $3 OFFSET $4"
        );
        let items = sqlx::query(&sql)
            .bind(company.as_uuid())
            .bind(pattern.as_deref())
            .bind(limit(page))
            .bind(offset(page))
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?
            .iter()
            .map(user_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        tx.commit().await.map_err(db_err)?;
        Ok(Page {
            items,
            total: count(total),
        })
    }

    async fn count_users(&self, company: CompanyId) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE company_id = $1")
            .bind(company.as_uuid())
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(count(n))
    }

    async fn insert_token(&self, token: &AccessTokenRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO access_tokens (token_hash, user_id, company_id, client_id, issued_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&token.hash.0[..])
        .bind(token.user_id.as_uuid())
        .bind(token.company_id.as_uuid())
        .bind(token.client_id.as_deref())
        .bind(ms(token.issued_at))
        .bind(ms(token.expires_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn token(&self, hash: &TokenHash) -> StoreResult<Option<AuthenticatedToken>> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, t.client_id, t.issued_at, t.expires_at \
             FROM access_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(&hash.0[..])
            .fetch_optional(&self.pool)
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
                client_id: col(&row, "client_id")?,
                issued_at: instant(col(&row, "issued_at")?)?,
                expires_at: instant(col(&row, "expires_at")?)?,
            },
            user,
        }))
    }

    async fn delete_token(&self, hash: &TokenHash) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM access_tokens WHERE token_hash = $1")
            .bind(&hash.0[..])
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_user_tokens(&self, user: UserId, keep: Option<&TokenHash>) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM access_tokens WHERE user_id = $1 \
             AND ($2::bytea IS NULL OR token_hash <> $2)",
        )
        .bind(user.as_uuid())
        .bind(keep.map(|h| h.0.to_vec()))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn delete_expired_tokens(&self, now: Timestamp) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM access_tokens WHERE expires_at <= $1")
            .bind(ms(now))
            .execute(&self.pool)
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
        meetings::room_in(&self.pool, company, id).await
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

    async fn meeting_number_of_link(&self, code: &str) -> StoreResult<Option<MeetingNumber>> {
        meetings::meeting_number_of_link(self, code).await
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
        let mut tx = self.read_snapshot().await?;
        let found = meetings::series_in(&mut tx, company, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(found)
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

    async fn series_exdates(&self, id: SeriesId) -> StoreResult<Vec<Timestamp>> {
        meetings::exdates_in(&self.pool, id).await
    }

    async fn set_calendar_feed(&self, user: UserId, hash: &TokenHash) -> StoreResult<()> {
        let done = sqlx::query("UPDATE users SET calendar_feed_hash = $2 WHERE id = $1")
            .bind(user.as_uuid())
            .bind(&hash.0[..])
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn calendar_feed_user(&self, hash: &TokenHash) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.calendar_feed_hash = $1");
        sqlx::query(&sql)
            .bind(&hash.0[..])
            .fetch_optional(&self.pool)
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

impl PgStore {
    /// A read-only transaction that sees one snapshot (a page and its total agree).
    async fn read_snapshot(&self) -> StoreResult<Tx> {
        self.pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(db_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, TestDatabase};

    #[tokio::test]
    async fn a_node_of_the_older_version_starts_on_a_database_a_newer_node_migrated() {
        let Some(server) = testing::server(
            "a_node_of_the_older_version_starts_on_a_database_a_newer_node_migrated",
        ) else {
            return;
        };
        let database = TestDatabase::create(&server).await;
        let store = PgStore::open_with(&database.url(), 2).await.expect("open");
        // A newer node applied a migration this build does not know.
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (99990101, 'from a newer version', true, '\\x00', 1)",
        )
        .execute(&store.pool)
        .await
        .expect("newer migration");
        store.close().await;

        let store = PgStore::open_with(&database.url(), 2)
            .await
            .expect("an older node starts");
        assert_eq!(
            store.readiness().await.expect("readiness"),
            plenum_store::Readiness::Ready
        );
        assert!(
            PgStore::migrate(&database.url())
                .await
                .expect("plenum migrate")
                .is_empty()
        );
        store.close().await;
    }
}

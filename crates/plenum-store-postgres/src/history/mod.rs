//! The record of meetings as the history surfaces read it, import, and integration keys.
//!
//! - `memory.rs`: how the session and recording lists read for the speed layer.

mod memory;

use async_trait::async_trait;

use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use plenum_domain::Timestamp;
use plenum_domain::api_keys::{ApiKey, ApiKeyKind, NewApiKey};
use plenum_domain::credentials::TokenHash;
use plenum_domain::history::{Attendance, Recording, Session};
use plenum_domain::history_import::{ImportLine, ImportSummary};
use plenum_domain::history_query::{
    AttendanceQuery, InstantRange, RecordingFilter, RecordingView, SessionAttendance, SessionKey,
    SessionQuery, SessionSummary,
};
use plenum_domain::ids::{ApiKeyId, CompanyId, RecordingId, SessionId};
use plenum_domain::paging::{Page, PageRequest};
use plenum_store::rows::{RecordingRow, SessionRow, recording_file_key, search_key};
use plenum_store::{
    AppToken, DeletedRecordings, History, HuaweiApp, ImportError, StoreError, StoreResult, Trail,
};

use memory::Reads;

use crate::{PgStore, Tx, col, corrupt, db_err, instant, ms};

const KEY_COLUMNS: &str =
    "id, company_id, name, kind, prefix, app_id, created_at, revoked_at, seed, secret_hash";

fn key_from_row(row: &PgRow) -> StoreResult<ApiKey> {
    let kind: String = col(row, "kind")?;
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(col(row, "id")?),
        company: CompanyId::from_uuid(col(row, "company_id")?),
        name: col(row, "name")?,
        kind: ApiKeyKind::parse(&kind).map_err(|_| corrupt("api_keys.kind"))?,
        prefix: col(row, "prefix")?,
        app_id: col(row, "app_id")?,
        created_at: instant(col(row, "created_at")?)?,
        revoked_at: col::<Option<i64>>(row, "revoked_at")?
            .map(instant)
            .transpose()?,
    })
}

fn hash_from(bytes: Vec<u8>) -> StoreResult<TokenHash> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| corrupt("a stored hash is not 32 bytes"))?;
    Ok(TokenHash(arr))
}

// --- sessions -------------------------------------------------------------------------------

type Builder<'a> = QueryBuilder<'a, Postgres>;

const SESSION_COLUMNS: &str = "s.seq, s.id, s.company_id, s.meeting_number, s.name, s.owner_id, \
     s.room_id, s.schedule_id, s.started_at, s.ended_at, s.peak_participants, s.company_seq";

fn session_row(row: &PgRow) -> StoreResult<SessionRow> {
    Ok(SessionRow {
        seq: col(row, "seq")?,
        id: col(row, "id")?,
        company: col(row, "company_id")?,
        meeting_number: col(row, "meeting_number")?,
        name: col(row, "name")?,
        owner: col(row, "owner_id")?,
        room: col(row, "room_id")?,
        schedule: col(row, "schedule_id")?,
        started_at: col(row, "started_at")?,
        ended_at: col(row, "ended_at")?,
        peak_participants: col(row, "peak_participants")?,
        company_seq: col(row, "company_seq")?,
    })
}

/// `AND column >= from AND column < until` for the closed sides of a window.
fn push_range(q: &mut Builder<'_>, column: &str, range: &InstantRange) {
    if let Some(from) = range.from {
        q.push(format!(" AND {column} >= ")).push_bind(ms(from));
    }
    if let Some(until) = range.until {
        q.push(format!(" AND {column} < ")).push_bind(ms(until));
    }
}

// --- recordings ------------------------------------------------------------------------------

const RECORDING_COLUMNS: &str = "r.id, r.company_id, s.id AS session_id, a.id AS attendance_id, \
     r.kind, r.status, r.codec, r.size_bytes, r.duration_secs, r.started_at, r.ended_at, \
     r.completed_at, r.download_url, r.created_at, r.updated_at, s.room_id, r.file_ext, r.failure";

const RECORDING_FROM: &str = "recordings r JOIN sessions s ON s.seq = r.session_seq \
     LEFT JOIN attendance a ON a.seq = r.attendance_seq";

fn recording_from_row(row: &PgRow) -> StoreResult<RecordingView> {
    RecordingRow {
        id: col(row, "id")?,
        company: col(row, "company_id")?,
        session: col(row, "session_id")?,
        attendance: col(row, "attendance_id")?,
        kind: col(row, "kind")?,
        status: col(row, "status")?,
        codec: col(row, "codec")?,
        size_bytes: col(row, "size_bytes")?,
        duration_secs: col(row, "duration_secs")?,
        started_at: col(row, "started_at")?,
        ended_at: col(row, "ended_at")?,
        completed_at: col(row, "completed_at")?,
        download_url: col(row, "download_url")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        room: col(row, "room_id")?,
        file_ext: col(row, "file_ext")?,
        failure: col(row, "failure")?,
    }
    .decode()
}

/// The conditions of a recording filter on `recordings r`, as SQLite's store has them: a
/// session's, a participant's or a room's recordings through their own indexes, the rest a
/// range of the company's.
fn recording_conditions(q: &mut Builder<'_>, company: CompanyId, filter: &RecordingFilter) {
    q.push("r.company_id = ").push_bind(company.as_uuid());
    push_range(q, "r.started_at", &filter.started);
    push_range(q, "r.ended_at", &filter.ended);
    if let Some(room) = filter.room {
        q.push(" AND r.session_seq IN (SELECT seq FROM sessions WHERE room_id = ")
            .push_bind(room.as_uuid())
            .push(" AND company_id = ")
            .push_bind(company.as_uuid())
            .push(")");
    }
    if let Some(session) = filter.session {
        q.push(" AND r.session_seq = (SELECT seq FROM sessions WHERE id = ")
            .push_bind(session.as_uuid())
            .push(" AND company_id = ")
            .push_bind(company.as_uuid())
            .push(")");
    }
    if let Some(participant) = filter.participant {
        q.push(" AND r.attendance_seq = (SELECT seq FROM attendance WHERE id = ")
            .push_bind(participant.as_uuid())
            .push(" AND company_id = ")
            .push_bind(company.as_uuid())
            .push(")");
    }
    if let Some(status) = filter.status {
        q.push(" AND r.status = ").push_bind(status.as_str());
    }
    if let Some(kind) = filter.kind {
        q.push(" AND r.kind = ").push_bind(kind.as_str());
    }
    if let Some(min) = filter.min_duration_secs {
        q.push(" AND r.duration_secs >= ").push_bind(i64::from(min));
    }
    if let Some(max) = filter.max_duration_secs {
        q.push(" AND r.duration_secs <= ").push_bind(i64::from(max));
    }
}

/// Deletes the recordings `select` (a query of `seq`s) names, returning the files Plenum held
/// for them.
async fn delete_recordings_where(
    store: &PgStore,
    select: Builder<'_>,
) -> StoreResult<DeletedRecordings> {
    let mut q = select;
    q.push(
        ") RETURNING company_id, (SELECT id FROM sessions WHERE seq = recordings.session_seq) \
           AS session_id, id, file_ext",
    );
    let rows = q.build().fetch_all(&store.pool).await.map_err(db_err)?;
    let mut files = Vec::new();
    for row in &rows {
        let company = CompanyId::from_uuid(col(row, "company_id")?);
        let session = SessionId::from_uuid(col(row, "session_id")?);
        if let Some(file) = recording_file_key(
            company,
            session,
            Some(col(row, "id")?),
            col::<Option<String>>(row, "file_ext")?.as_deref(),
        )? {
            files.push(file);
        }
    }
    Ok(DeletedRecordings {
        count: rows.len() as u64,
        files,
    })
}

const DELETE_RECORDINGS: &str = "DELETE FROM recordings WHERE seq IN (";

pub(crate) async fn unfinished_recordings(store: &PgStore) -> StoreResult<Vec<Recording>> {
    sqlx::query(&format!(
        "SELECT {RECORDING_COLUMNS} FROM {RECORDING_FROM} \
         WHERE r.status = 'processing' AND r.file_ext IS NOT NULL AND s.ended_at IS NOT NULL \
         ORDER BY r.seq"
    ))
    .fetch_all(&store.pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| recording_from_row(row).map(|v| v.recording))
    .collect()
}

pub(crate) async fn expire_recordings(
    store: &PgStore,
    ended_before: Timestamp,
    limit: u32,
) -> StoreResult<DeletedRecordings> {
    let mut q = Builder::new(DELETE_RECORDINGS);
    q.push("SELECT seq FROM recordings WHERE ended_at IS NOT NULL AND ended_at < ")
        .push_bind(ms(ended_before))
        .push(" ORDER BY ended_at, seq LIMIT ")
        .push_bind(i64::from(limit));
    delete_recordings_where(store, q).await
}

// --- writing the record in bulk --------------------------------------------------------------

/// Rows per multi-row INSERT (PostgreSQL allows 65,535 parameters per statement).
const CHUNK: usize = 400;

async fn insert_sessions(tx: &mut Tx, sessions: &[Session]) -> StoreResult<()> {
    for chunk in sessions.chunks(CHUNK) {
        let mut q = Builder::new(
            "INSERT INTO sessions (id, company_id, meeting_number, name, name_key, owner_id, \
             room_id, schedule_id, started_at, ended_at, last_seen_at, peak_participants) ",
        );
        q.push_values(chunk, |mut b, s| {
            b.push_bind(s.id.as_uuid())
                .push_bind(s.company.as_uuid())
                .push_bind(s.meeting_number.as_str().to_owned())
                .push_bind(s.name.clone())
                .push_bind(search_key(&s.name))
                .push_bind(s.owner.as_uuid())
                .push_bind(s.room.map(|r| r.as_uuid()))
                .push_bind(s.schedule.map(|r| r.as_uuid()))
                .push_bind(ms(s.started_at))
                .push_bind(s.ended_at.map(ms))
                .push_bind(ms(s.ended_at.unwrap_or(s.started_at)))
                .push_bind(i64::from(s.peak_participants));
        });
        q.build().execute(&mut **tx).await.map_err(db_err)?;
    }
    let invitees: Vec<(Uuid, Uuid)> = sessions
        .iter()
        .flat_map(|s| {
            s.invitees
                .iter()
                .map(move |u| (s.id.as_uuid(), u.as_uuid()))
        })
        .collect();
    for chunk in invitees.chunks(CHUNK) {
        let mut q = Builder::new("INSERT INTO session_invitees (session_seq, user_id) ");
        q.push_values(chunk, |mut b, (session, user)| {
            b.push("(SELECT seq FROM sessions WHERE id = ")
                .push_bind_unseparated(*session)
                .push_unseparated(")")
                .push_bind(*user);
        });
        q.build().execute(&mut **tx).await.map_err(db_err)?;
    }
    Ok(())
}

async fn insert_attendance(tx: &mut Tx, attendance: &[Attendance]) -> StoreResult<()> {
    for chunk in attendance.chunks(CHUNK) {
        let mut q = Builder::new(
            "INSERT INTO attendance (id, session_seq, company_id, user_id, display_name, \
             display_name_key, call_number, call_number_key, device_type, media_type, \
             department, joined_at, left_at) ",
        );
        q.push_values(chunk, |mut b, a| {
            b.push_bind(a.id.as_uuid())
                .push("(SELECT seq FROM sessions WHERE id = ")
                .push_bind_unseparated(a.session.as_uuid())
                .push_unseparated(")")
                .push("(SELECT company_id FROM sessions WHERE id = ")
                .push_bind_unseparated(a.session.as_uuid())
                .push_unseparated(")")
                .push_bind(a.user.map(|u| u.as_uuid()))
                .push_bind(a.display_name.clone())
                .push_bind(search_key(&a.display_name))
                .push_bind(a.call_number.clone())
                .push_bind(search_key(&a.call_number))
                .push_bind(a.device_type.as_str())
                .push_bind(a.media_type.as_str())
                .push_bind(a.department.clone())
                .push_bind(ms(a.joined_at))
                .push_bind(a.left_at.map(ms));
        });
        q.build().execute(&mut **tx).await.map_err(db_err)?;
    }
    Ok(())
}

async fn insert_recordings(tx: &mut Tx, recordings: &[Recording]) -> StoreResult<()> {
    for r in recordings {
        i64::try_from(r.size_bytes).map_err(|_| corrupt("size_bytes beyond i64"))?;
    }
    for chunk in recordings.chunks(CHUNK) {
        let mut q = Builder::new(
            "INSERT INTO recordings (id, company_id, session_seq, attendance_seq, kind, status, \
             codec, size_bytes, duration_secs, started_at, ended_at, completed_at, \
             download_url, created_at, updated_at, file_ext, failure) ",
        );
        q.push_values(chunk, |mut b, r| {
            b.push_bind(r.id.as_uuid())
                .push_bind(r.company.as_uuid())
                .push("(SELECT seq FROM sessions WHERE id = ")
                .push_bind_unseparated(r.session.as_uuid())
                .push_unseparated(")")
                .push("(SELECT seq FROM attendance WHERE id = ")
                .push_bind_unseparated(r.attendance.map(|a| a.as_uuid()))
                .push_unseparated(")")
                .push_bind(r.kind.as_str())
                .push_bind(r.status.as_str())
                .push_bind(r.codec.clone())
                .push_bind(i64::try_from(r.size_bytes).unwrap_or(i64::MAX))
                .push_bind(i64::from(r.duration_secs))
                .push_bind(ms(r.started_at))
                .push_bind(r.ended_at.map(ms))
                .push_bind(r.completed_at.map(ms))
                .push_bind(r.download_url.clone())
                .push_bind(ms(r.created_at))
                .push_bind(ms(r.updated_at))
                .push_bind(r.file.map(|f| f.extension()))
                .push_bind(r.failure.clone());
        });
        q.build().execute(&mut **tx).await.map_err(db_err)?;
    }
    Ok(())
}

/// A history list answered through `plenum-store-memory` by `$answer`, a future of the
/// `HistorySnapshot` named `$reads`: with single checked statements first, then in one
/// `REPEATABLE READ` transaction if the data moved between them or an index had to be built
/// (`memory.rs`). A macro, not a function taking an async closure: `History`'s futures must
/// be `Send`, which an async closure borrowing its arguments cannot yet promise.
macro_rules! through_memory {
    ($store:expr, $company:expr, |$reads:ident| $answer:expr) => {{
        let mut statements = Reads::statements(&$store.pool, &$store.generations, $company);
        let first = {
            let $reads = &mut statements;
            $answer.await
        };
        match first {
            Err(_) if statements.moved() => {
                plenum_metrics::history::read(false);
                let mut tx = $store.read_snapshot().await?;
                let found = {
                    let $reads = &mut Reads::snapshot(&mut tx);
                    $answer.await?
                };
                tx.commit().await.map_err(db_err)?;
                Ok(found)
            }
            found => {
                plenum_metrics::history::read(true);
                found
            }
        }
    }};
}

#[async_trait]
impl History for PgStore {
    async fn find_sessions(
        &self,
        company: CompanyId,
        query: &SessionQuery,
        page: PageRequest,
    ) -> StoreResult<Page<SessionSummary>> {
        through_memory!(self, company, |reads| self
            .history
            .find_sessions(reads, company, query, page))
    }

    async fn session_attendance(
        &self,
        company: CompanyId,
        session: SessionKey,
        query: &AttendanceQuery,
        page: PageRequest,
    ) -> StoreResult<Option<SessionAttendance>> {
        through_memory!(self, company, |reads| self
            .history
            .session_attendance(reads, company, session, query, page))
    }

    async fn find_recordings(
        &self,
        company: CompanyId,
        filter: &RecordingFilter,
        page: PageRequest,
    ) -> StoreResult<Page<RecordingView>> {
        // Every filter, a session's or a participant's too, is answered by the company's
        // index, read as the sessions are.
        through_memory!(self, company, |reads| self
            .history
            .find_recordings(reads, company, filter, page))
    }

    async fn recording(
        &self,
        company: CompanyId,
        id: RecordingId,
    ) -> StoreResult<Option<RecordingView>> {
        sqlx::query(&format!(
            "SELECT {RECORDING_COLUMNS} FROM {RECORDING_FROM} WHERE r.id = $1 AND r.company_id = $2"
        ))
        .bind(id.as_uuid())
        .bind(company.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(recording_from_row)
        .transpose()
    }

    async fn delete_recordings(
        &self,
        company: CompanyId,
        filter: &RecordingFilter,
    ) -> StoreResult<DeletedRecordings> {
        if filter.matches_nothing() {
            return Ok(DeletedRecordings::default());
        }
        let mut q = Builder::new(DELETE_RECORDINGS);
        q.push("SELECT r.seq FROM recordings r WHERE ");
        recording_conditions(&mut q, company, filter);
        delete_recordings_where(self, q).await
    }

    async fn delete_recording(
        &self,
        company: CompanyId,
        id: RecordingId,
    ) -> StoreResult<DeletedRecordings> {
        let mut q = Builder::new(DELETE_RECORDINGS);
        q.push("SELECT seq FROM recordings WHERE company_id = ")
            .push_bind(company.as_uuid())
            .push(" AND id = ")
            .push_bind(id.as_uuid());
        delete_recordings_where(self, q).await
    }

    async fn import_history(
        &self,
        company: CompanyId,
        lines: &[ImportLine],
        now: Timestamp,
    ) -> Result<ImportSummary, ImportError> {
        crate::import::run(self, company, lines, now).await
    }

    async fn insert_history_batch(
        &self,
        sessions: &[Session],
        attendance: &[Attendance],
        recordings: &[Recording],
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        insert_sessions(&mut tx, sessions).await?;
        insert_attendance(&mut tx, attendance).await?;
        insert_recordings(&mut tx, recordings).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn insert_api_key_with_trail(&self, new: &NewApiKey, trail: &Trail) -> StoreResult<()> {
        let key = &new.key;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO api_keys (id, company_id, name, kind, prefix, secret_hash, app_id, seed, \
             created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(key.id.as_uuid())
        .bind(key.company.as_uuid())
        .bind(&key.name)
        .bind(key.kind.as_str())
        .bind(&key.prefix)
        .bind(&new.secret_hash.0[..])
        .bind(key.app_id.as_deref())
        .bind(new.seed.as_ref().map(|s| &s[..]))
        .bind(ms(key.created_at))
        .bind(key.revoked_at.map(ms))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        crate::webhooks::write_trail(&mut tx, trail).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn api_keys(&self, company: CompanyId) -> StoreResult<Vec<ApiKey>> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE company_id = $1 ORDER BY created_at, seq"
        );
        sqlx::query(&sql)
            .bind(company.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(key_from_row)
            .collect()
    }

    async fn revoke_api_key_with_trail(
        &self,
        company: CompanyId,
        id: ApiKeyId,
        now: Timestamp,
        trail: &Trail,
    ) -> StoreResult<ApiKey> {
        let mut tx = self.begin().await?;
        let sql = format!(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3) \
             WHERE id = $1 AND company_id = $2 RETURNING {KEY_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id.as_uuid())
            .bind(company.as_uuid())
            .bind(ms(now))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound)?;
        sqlx::query("DELETE FROM app_tokens WHERE api_key_id = $1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        crate::webhooks::write_trail(&mut tx, trail).await?;
        tx.commit().await.map_err(db_err)?;
        key_from_row(&row)
    }

    async fn api_key_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<ApiKey>> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE secret_hash = $1");
        sqlx::query(&sql)
            .bind(&hash.0[..])
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(key_from_row)
            .transpose()
    }

    async fn huawei_app(&self, app_id: &str) -> StoreResult<Option<HuaweiApp>> {
        let sql =
            format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE app_id = $1 AND kind = 'huawei_app'");
        let Some(row) = sqlx::query(&sql)
            .bind(app_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        let seed: Vec<u8> = col(&row, "seed")?;
        Ok(Some(HuaweiApp {
            key: key_from_row(&row)?,
            seed: seed
                .try_into()
                .map_err(|_| corrupt("api_keys.seed is not 32 bytes"))?,
            secret_hash: hash_from(col(&row, "secret_hash")?)?,
        }))
    }

    async fn insert_app_token(&self, token: &AppToken) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO app_tokens (token_hash, company_id, api_key_id, issued_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&token.hash.0[..])
        .bind(token.company.as_uuid())
        .bind(token.key.as_uuid())
        .bind(ms(token.issued_at))
        .bind(ms(token.expires_at))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn app_token(&self, hash: &TokenHash) -> StoreResult<Option<AppToken>> {
        let Some(row) = sqlx::query(
            "SELECT t.company_id, t.api_key_id, t.issued_at, t.expires_at \
             FROM app_tokens t JOIN api_keys k ON k.id = t.api_key_id \
             WHERE t.token_hash = $1 AND k.revoked_at IS NULL",
        )
        .bind(&hash.0[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        else {
            return Ok(None);
        };
        Ok(Some(AppToken {
            hash: *hash,
            company: CompanyId::from_uuid(col(&row, "company_id")?),
            key: ApiKeyId::from_uuid(col(&row, "api_key_id")?),
            issued_at: instant(col(&row, "issued_at")?)?,
            expires_at: instant(col(&row, "expires_at")?)?,
        }))
    }

    async fn delete_expired_app_tokens(&self, now: Timestamp) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM app_tokens WHERE expires_at <= $1")
            .bind(ms(now))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}

//! The record of meetings as the history surfaces read it, import, and integration keys.

use async_trait::async_trait;

use plenum_domain::Timestamp;
use plenum_domain::api_keys::{ApiKey, ApiKeyKind, NewApiKey};
use plenum_domain::credentials::TokenHash;
use plenum_domain::history::{Attendance, Recording, Session};
use plenum_domain::history_import::{ImportLine, ImportSummary};
use plenum_domain::history_query::{
    AttendanceQuery, RecordingFilter, RecordingView, SessionAttendance, SessionKey, SessionQuery,
    SessionSummary,
};
use plenum_domain::ids::{ApiKeyId, CompanyId, RecordingId};
use plenum_domain::paging::{Page, PageRequest};
use plenum_store::{
    AppToken, DeletedRecordings, History, HuaweiApp, ImportError, StoreError, StoreResult, Trail,
};
use sqlx::postgres::PgRow;

use crate::{PgStore, col, corrupt, db_err, instant, ms, not_yet};

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

pub(crate) async fn unfinished_recordings(_store: &PgStore) -> StoreResult<Vec<Recording>> {
    Err(not_yet("unfinished_recordings"))
}

pub(crate) async fn expire_recordings(
    _store: &PgStore,
    _ended_before: Timestamp,
    _limit: u32,
) -> StoreResult<DeletedRecordings> {
    Err(not_yet("expire_recordings"))
}

#[async_trait]
impl History for PgStore {
    async fn find_sessions(
        &self,
        _company: CompanyId,
        _query: &SessionQuery,
        _page: PageRequest,
    ) -> StoreResult<Page<SessionSummary>> {
        Err(not_yet("find_sessions"))
    }

    async fn session_attendance(
        &self,
        _company: CompanyId,
        _session: SessionKey,
        _query: &AttendanceQuery,
        _page: PageRequest,
    ) -> StoreResult<Option<SessionAttendance>> {
        Err(not_yet("session_attendance"))
    }

    async fn find_recordings(
        &self,
        _company: CompanyId,
        _filter: &RecordingFilter,
        _page: PageRequest,
    ) -> StoreResult<Page<RecordingView>> {
        Err(not_yet("find_recordings"))
    }

    async fn recording(
        &self,
        _company: CompanyId,
        _id: RecordingId,
    ) -> StoreResult<Option<RecordingView>> {
        Err(not_yet("recording"))
    }

    async fn delete_recordings(
        &self,
        _company: CompanyId,
        _filter: &RecordingFilter,
    ) -> StoreResult<DeletedRecordings> {
        Err(not_yet("delete_recordings"))
    }

    async fn delete_recording(
        &self,
        _company: CompanyId,
        _id: RecordingId,
    ) -> StoreResult<DeletedRecordings> {
        Err(not_yet("delete_recording"))
    }

    async fn import_history(
        &self,
        _company: CompanyId,
        _lines: &[ImportLine],
        _now: Timestamp,
    ) -> Result<ImportSummary, ImportError> {
        Err(ImportError::Store(not_yet("import_history")))
    }

    async fn insert_history_batch(
        &self,
        _sessions: &[Session],
        _attendance: &[Attendance],
        _recordings: &[Recording],
    ) -> StoreResult<()> {
        Err(not_yet("insert_history_batch"))
    }

    async fn insert_api_key_with_trail(&self, new: &NewApiKey, trail: &Trail) -> StoreResult<()> {
        crate::unsupported(trail)?;
        let key = &new.key;
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
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
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
        crate::unsupported(trail)?;
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

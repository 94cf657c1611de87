//! The record of meetings as the history surfaces read it, import, and integration keys.

use async_trait::async_trait;

use plenum_domain::Timestamp;
use plenum_domain::api_keys::{ApiKey, NewApiKey};
use plenum_domain::credentials::TokenHash;
use plenum_domain::history::{Attendance, Recording, Session};
use plenum_domain::history_import::{ImportLine, ImportSummary};
use plenum_domain::history_query::{
    AttendanceQuery, RecordingFilter, RecordingView, SessionAttendance, SessionKey, SessionQuery,
    SessionSummary,
};
use plenum_domain::ids::{ApiKeyId, CompanyId, RecordingId};
use plenum_domain::paging::{Page, PageRequest};
use plenum_store::{AppToken, DeletedRecordings, History, HuaweiApp, ImportError, StoreResult};

use crate::{PgStore, not_yet};

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

    async fn insert_api_key(&self, _key: &NewApiKey) -> StoreResult<()> {
        Err(not_yet("insert_api_key"))
    }

    async fn api_keys(&self, _company: CompanyId) -> StoreResult<Vec<ApiKey>> {
        Err(not_yet("api_keys"))
    }

    async fn revoke_api_key(
        &self,
        _company: CompanyId,
        _id: ApiKeyId,
        _now: Timestamp,
    ) -> StoreResult<ApiKey> {
        Err(not_yet("revoke_api_key"))
    }

    async fn api_key_by_hash(&self, _hash: &TokenHash) -> StoreResult<Option<ApiKey>> {
        Err(not_yet("api_key_by_hash"))
    }

    async fn huawei_app(&self, _app_id: &str) -> StoreResult<Option<HuaweiApp>> {
        Err(not_yet("huawei_app"))
    }

    async fn insert_app_token(&self, _token: &AppToken) -> StoreResult<()> {
        Err(not_yet("insert_app_token"))
    }

    async fn app_token(&self, _hash: &TokenHash) -> StoreResult<Option<AppToken>> {
        Err(not_yet("app_token"))
    }

    async fn delete_expired_app_tokens(&self, _now: Timestamp) -> StoreResult<u64> {
        Err(not_yet("delete_expired_app_tokens"))
    }
}

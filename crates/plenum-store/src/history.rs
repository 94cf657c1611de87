//! The `History` trait: what the history surfaces (Rokid, Rocket.Chat, Telnyx, Huawei), import
//! and integration keys ask of the store.
//!
//! One method per domain question, each answered with indexed queries: a session list is one
//! method whether Rokid or Rocket.Chat asks it, a session's attendance is one method whether
//! Rokid (all of it) or Huawei (a searched page) asks it. Every method is scoped to one
//! company: nothing of another company is ever returned, changed or even confirmed to exist.
//!
//! The live runtime writes sessions, attendance and recordings through its own trait into the
//! same tables; these queries read whatever it wrote.

use async_trait::async_trait;

use plenum_domain::Timestamp;
use plenum_domain::api_keys::{ApiKey, NewApiKey};
use plenum_domain::credentials::TokenHash;
use plenum_domain::history::{Attendance, Recording, Session};
use plenum_domain::history_import::{ImportLine, ImportRefused, ImportSummary};
use plenum_domain::history_query::{
    AttendanceQuery, RecordingFilter, RecordingView, SessionAttendance, SessionKey, SessionQuery,
    SessionSummary,
};
use plenum_domain::ids::{ApiKeyId, CompanyId, RecordingId};
use plenum_domain::paging::{Page, PageRequest};

use crate::Trail;
use crate::{StoreError, StoreResult};

/// Why an import was not written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A record refers to something that does not exist in the company, or collides with a
    /// record of another company. Nothing was written.
    #[error("{0}")]
    Refused(#[from] ImportRefused),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A Huawei app as appauth needs it: the key's record and the seed its app key derives from.
#[derive(Debug, Clone)]
pub struct HuaweiApp {
    pub key: ApiKey,
    pub seed: [u8; 32],
    pub secret_hash: TokenHash,
}

/// A short-lived token issued to an integration (Huawei appauth's `accessToken`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppToken {
    pub hash: TokenHash,
    pub company: CompanyId,
    pub key: ApiKeyId,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

#[async_trait]
pub trait History: Send + Sync + std::fmt::Debug + 'static {
    // --- the record of meetings ------------------------------------------------------------

    /// A page of the company's sessions matching `query`, newest start first (ties: newest
    /// session first), with the total count of matches; their participants only if the query
    /// asks for them. A query of a room is of a room of the company: `NotFound` if the company
    /// has no room by that id (not even a deleted one's sessions are listed then).
    async fn find_sessions(
        &self,
        company: CompanyId,
        query: &SessionQuery,
        page: PageRequest,
    ) -> StoreResult<Page<SessionSummary>>;

    /// A session of the company with one page of its stays matching `query`, in order of
    /// joining; `None` if the company has no such session.
    async fn session_attendance(
        &self,
        company: CompanyId,
        session: SessionKey,
        query: &AttendanceQuery,
        page: PageRequest,
    ) -> StoreResult<Option<SessionAttendance>>;

    /// A page of the company's recordings matching `filter`, newest start first, with the
    /// total count of matches.
    async fn find_recordings(
        &self,
        company: CompanyId,
        filter: &RecordingFilter,
        page: PageRequest,
    ) -> StoreResult<Page<RecordingView>>;

    async fn recording(
        &self,
        company: CompanyId,
        id: RecordingId,
    ) -> StoreResult<Option<RecordingView>>;

    /// Deletes the company's recordings matching `filter`: how many went, and the files
    /// Plenum held for them (the caller deletes those next).
    async fn delete_recordings(
        &self,
        company: CompanyId,
        filter: &RecordingFilter,
    ) -> StoreResult<crate::DeletedRecordings>;

    /// Deletes one recording of the company (none: `count` 0), with its file to delete.
    async fn delete_recording(
        &self,
        company: CompanyId,
        id: RecordingId,
    ) -> StoreResult<crate::DeletedRecordings>;

    /// Writes an import into `company`, all or nothing. Records whose id the company already
    /// has are left as they are (so importing a file twice changes nothing).
    async fn import_history(
        &self,
        company: CompanyId,
        lines: &[ImportLine],
        now: Timestamp,
    ) -> Result<ImportSummary, ImportError>;

    /// Writes sessions (with their invitees), attendance and recordings exactly as given, all
    /// or nothing, with no per-record checks beyond the schema's: for generators filling a
    /// data directory with millions of records. Attendance refers to sessions and
    /// recordings to sessions and attendance of the same batch or already stored.
    async fn insert_history_batch(
        &self,
        sessions: &[Session],
        attendance: &[Attendance],
        recordings: &[Recording],
    ) -> StoreResult<()>;

    // --- integration keys -----------------------------------------------------------------

    async fn insert_api_key(&self, key: &NewApiKey) -> StoreResult<()> {
        self.insert_api_key_with_trail(key, &Trail::default()).await
    }

    /// [`History::insert_api_key`], with what it leaves in the outbox and the audit log
    /// written in its transaction.
    async fn insert_api_key_with_trail(&self, key: &NewApiKey, trail: &Trail) -> StoreResult<()>;

    /// The company's keys, oldest first, revoked ones included.
    async fn api_keys(&self, company: CompanyId) -> StoreResult<Vec<ApiKey>>;

    /// Marks a key of the company revoked (`NotFound` if it has no such key); revoking twice
    /// keeps the first instant. Tokens issued through the key end with it.
    async fn revoke_api_key(
        &self,
        company: CompanyId,
        id: ApiKeyId,
        now: Timestamp,
    ) -> StoreResult<ApiKey> {
        self.revoke_api_key_with_trail(company, id, now, &Trail::default())
            .await
    }

    /// [`History::revoke_api_key`] with its trail (written only if the key is revoked).
    async fn revoke_api_key_with_trail(
        &self,
        company: CompanyId,
        id: ApiKeyId,
        now: Timestamp,
        trail: &Trail,
    ) -> StoreResult<ApiKey>;

    /// The key whose secret has this hash, revoked or not (the caller decides).
    async fn api_key_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<ApiKey>>;

    /// The Huawei app with this app id, revoked or not.
    async fn huawei_app(&self, app_id: &str) -> StoreResult<Option<HuaweiApp>>;

    async fn insert_app_token(&self, token: &AppToken) -> StoreResult<()>;

    /// The token with this hash, if its key is not revoked (expired or not: the caller
    /// decides).
    async fn app_token(&self, hash: &TokenHash) -> StoreResult<Option<AppToken>>;

    async fn delete_expired_app_tokens(&self, now: Timestamp) -> StoreResult<u64>;
}

//! Use cases of the record of meetings: what the history surfaces read, and its import.
//!
//! Every read takes the company it is about; the dialect gets it from the caller's credential
//! (an API key, an app token, a user token), never from the request body, so no surface can
//! read another company's record.

use plenum_domain::history_import::{ImportRefused, ImportSummary};
use plenum_domain::history_query::{
    AttendanceQuery, RecordingFilter, RecordingView, SessionAttendance, SessionKey, SessionQuery,
    SessionSummary,
};
use plenum_domain::ids::{CompanyId, RecordingId, RoomId};
use plenum_domain::paging::{Page, PageRequest};
use plenum_domain::user::Role;
use plenum_store::{ImportError, StoreError};

use crate::{Actor, CompanyScope, History, Principal, ServiceError};

/// Errors of the history use cases, wrapped in [`ServiceError::History`].
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("no such meeting session")]
    SessionNotFound,
    #[error("no such recording")]
    RecordingNotFound,
    #[error("no such API key")]
    ApiKeyNotFound,
    #[error("the import was refused, nothing was written: {0}")]
    ImportRefused(ImportRefused),
    #[error("app authentication failed: {0}")]
    AppAuthFailed(&'static str),
}

impl History<'_> {
    // --- the record of meetings ------------------------------------------------------------

    pub async fn find_sessions(
        &self,
        scope: CompanyScope,
        query: &SessionQuery,
        page: PageRequest,
    ) -> Result<Page<SessionSummary>, ServiceError> {
        let sessions = self
            .inner
            .store
            .find_sessions(scope.company, query, page)
            .await?;
        Ok(self.with_session_links(sessions))
    }

    /// The sessions held in a room of the caller's company, with their participants; an
    /// unknown room (or one of another company) is `RoomNotFound`.
    pub async fn room_sessions(
        &self,
        scope: CompanyScope,
        room: RoomId,
        page: PageRequest,
    ) -> Result<Page<SessionSummary>, ServiceError> {
        let query = SessionQuery {
            room: Some(room),
            with_participants: true,
            ..SessionQuery::default()
        };
        // The store checks the room in the same snapshot as the list (one lookup, not a read
        // of the whole room before the list).
        self.inner
            .store
            .find_sessions(scope.company, &query, page)
            .await
            .map(|sessions| self.with_session_links(sessions))
            .map_err(|e| match e {
                StoreError::NotFound => ServiceError::RoomNotFound,
                other => other.into(),
            })
    }

    /// Sessions with the links of their first recordings (a file Plenum made has a link
    /// signed now).
    fn with_session_links(&self, mut sessions: Page<SessionSummary>) -> Page<SessionSummary> {
        for s in &mut sessions.items {
            if let Some(key) = s.recording_file {
                s.recording_url = Some(self.file_link(key)).filter(|l| !l.is_empty());
            }
        }
        sessions
    }

    pub async fn session_attendance(
        &self,
        scope: CompanyScope,
        session: SessionKey,
        query: &AttendanceQuery,
        page: PageRequest,
    ) -> Result<SessionAttendance, ServiceError> {
        self.inner
            .store
            .session_attendance(scope.company, session, query, page)
            .await?
            .ok_or_else(|| HistoryError::SessionNotFound.into())
    }

    pub async fn find_recordings(
        &self,
        scope: CompanyScope,
        filter: &RecordingFilter,
        page: PageRequest,
    ) -> Result<Page<RecordingView>, ServiceError> {
        let mut found = self
            .inner
            .store
            .find_recordings(scope.company, filter, page)
            .await?;
        for view in &mut found.items {
            view.recording.download_url = self.recording_link(&view.recording);
        }
        Ok(found)
    }

    pub async fn recording(
        &self,
        scope: CompanyScope,
        id: RecordingId,
    ) -> Result<RecordingView, ServiceError> {
        let mut view = self
            .inner
            .store
            .recording(scope.company, id)
            .await?
            .ok_or(HistoryError::RecordingNotFound)?;
        view.recording.download_url = self.recording_link(&view.recording);
        Ok(view)
    }

    pub async fn delete_recordings(
        &self,
        scope: CompanyScope,
        filter: &RecordingFilter,
    ) -> Result<u64, ServiceError> {
        let n = self
            .inner
            .store
            .delete_recordings(scope.company, filter)
            .await?;
        tracing::info!(company_id = %scope.company, deleted = n.count, "recordings deleted");
        self.delete_recording_files(&n.files).await;
        Ok(n.count)
    }

    /// Deletes one recording of the caller's company, and its file.
    pub async fn delete_recording(
        &self,
        scope: CompanyScope,
        id: RecordingId,
    ) -> Result<(), ServiceError> {
        let deleted = self.inner.store.delete_recording(scope.company, id).await?;
        if deleted.count == 0 {
            return Err(HistoryError::RecordingNotFound.into());
        }
        tracing::info!(company_id = %scope.company, recording = %id, "recording deleted");
        self.delete_recording_files(&deleted.files).await;
        Ok(())
    }

    /// The users of the company among `ids` (others are left out), as meetings show people.
    pub async fn user_refs(
        &self,
        company: CompanyId,
        ids: &[plenum_domain::ids::UserId],
    ) -> Result<Vec<plenum_domain::schedule::UserRef>, ServiceError> {
        Ok(self.inner.store.user_refs(company, ids).await?)
    }

    // --- import ---------------------------------------------------------------------------

    /// Imports a JSON-lines file into the actor's company (SystemAdmins, or the operator):
    /// all of it or, on the first bad line, nothing.
    pub async fn import_history(
        &self,
        actor: Actor<'_>,
        text: &str,
    ) -> Result<ImportSummary, ServiceError> {
        actor.require_user_admin()?;
        let company = actor.company();
        let now = self.inner.now();
        let lines =
            crate::import::parse(company, text, now).map_err(HistoryError::ImportRefused)?;
        match self.inner.store.import_history(company, &lines, now).await {
            Ok(summary) => {
                tracing::info!(company_id = %company, ?summary, by = %actor, "history imported");
                Ok(summary)
            }
            Err(ImportError::Refused(e)) => Err(HistoryError::ImportRefused(e).into()),
            Err(ImportError::Store(StoreError::NotFound)) => Err(ServiceError::CompanyNotFound),
            Err(ImportError::Store(e)) => Err(e.into()),
        }
    }
}

/// Who may read the whole company's meeting record with their own token.
pub fn require_record_reader(principal: &Principal) -> Result<(), ServiceError> {
    match principal.user.role {
        Role::SystemAdmin | Role::MeetingOperator => Ok(()),
        Role::Normal => Err(ServiceError::PermissionDenied(
            "only a MeetingOperator or SystemAdmin may read the company's meeting records",
        )),
    }
}

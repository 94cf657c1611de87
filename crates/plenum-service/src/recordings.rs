//! Recordings Plenum makes (docs/recording.md): the storage they go to, the links they are
//! downloaded from, what a crash left half-written, and retention. The recorder itself is
//! each meeting's egress (`live/egress.rs`).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use jiff::SignedDuration;
use plenum_domain::Timestamp;
use plenum_domain::history::{Recording, RecordingFileKey, RecordingStatus};
use plenum_store::{LiveWrite, RecordingEnd};

use crate::live::egress::EgressContext;
use crate::recording_files::{Downloads, FileKey};
use crate::{History, ServiceError};

/// How the server records (`recordings.*`, `live.ffmpeg`).
#[derive(Debug, Clone)]
pub struct RecordingSettings {
    pub downloads: Downloads,
    /// Recordings that ended longer ago than this many days are deleted, files and all;
    /// 0 keeps them.
    pub retention_days: u32,
    /// The `ffmpeg` the RTMP push of a live stream runs.
    pub ffmpeg: PathBuf,
}

#[derive(Debug)]
pub(crate) struct Recorder {
    pub(crate) downloads: Downloads,
    pub(crate) retention_days: u32,
    pub(crate) ffmpeg: PathBuf,
    /// Egress threads still finishing files (the server waits for them when it stops).
    pub(crate) finishing: Arc<AtomicUsize>,
}

/// What the start after a crash found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecoveredRecordings {
    /// Made playable and completed with the duration they hold.
    pub completed: u64,
    /// Nothing usable was written (or it could not be stored): marked failed.
    pub failed: u64,
}

/// Most recordings one retention sweep deletes in one transaction.
const EXPIRE_BATCH: u32 = 500;

impl History<'_> {
    /// Makes the server record: meetings' recordings go to `settings`' storage, and lists
    /// show their links.
    pub fn start_recordings(&self, settings: RecordingSettings) -> Result<(), ServiceError> {
        self.inner
            .recordings
            .set(Recorder {
                downloads: settings.downloads,
                retention_days: settings.retention_days,
                ffmpeg: settings.ffmpeg,
                finishing: Arc::new(AtomicUsize::new(0)),
            })
            .map_err(|_| {
                ServiceError::internal(std::io::Error::other("recordings already started"))
            })
    }

    /// What each meeting's egress needs, when the server records.
    pub(crate) fn egress_context(&self) -> Option<EgressContext> {
        let recorder = self.inner.recordings.get()?;
        Some(EgressContext {
            store: self.inner.store.clone(),
            files: recorder.downloads.files.clone(),
            clock: self.inner.clock.clone(),
            runtime: tokio::runtime::Handle::try_current().ok()?,
            ffmpeg: recorder.ffmpeg.clone(),
            finishing: recorder.finishing.clone(),
            webhooks: self.inner.deliveries.wake.clone(),
        })
    }

    /// Waits (at most `limit`) for the recorders of ended meetings to finish their files.
    pub async fn recordings_finished(&self, limit: Duration) {
        let Some(recorder) = self.inner.recordings.get() else {
            return;
        };
        let deadline = tokio::time::Instant::now() + limit;
        while recorder.finishing.load(Ordering::Acquire) > 0
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The link a recording is downloaded from: a signed link (valid `link_ttl`) to the
    /// file Plenum holds once it is completed, the imported link as imported, or `""`.
    pub fn recording_link(&self, recording: &Recording) -> String {
        match RecordingFileKey::of(recording) {
            None => recording.download_url.clone(),
            Some(key) if recording.status == RecordingStatus::Completed => self.file_link(key),
            Some(_) => String::new(),
        }
    }

    /// A signed link to a file Plenum holds, valid `recordings.link_ttl` from now; `""` when
    /// the server does not serve recordings.
    pub(crate) fn file_link(&self, key: RecordingFileKey) -> String {
        match self.inner.recordings.get() {
            Some(recorder) => format!(
                "{}{}",
                self.inner.policy.public_url,
                recorder
                    .downloads
                    .link(&FileKey::from(key), self.inner.now())
            ),
            None => String::new(),
        }
    }

    /// The link of a running meeting's latest completed meeting recording (FRTC's meeting
    /// detail), if it was recorded.
    pub async fn meeting_recording_url(
        &self,
        meeting: &crate::MeetingSnapshot,
    ) -> Result<Option<String>, ServiceError> {
        if !meeting.recorded {
            return Ok(None);
        }
        let filter = plenum_domain::history_query::RecordingFilter {
            session: Some(meeting.session),
            status: Some(RecordingStatus::Completed),
            ..Default::default()
        };
        let page = plenum_domain::paging::PageRequest::by_number(1, 100, 100)?;
        let found = self
            .inner
            .store
            .find_recordings(meeting.company, &filter, page)
            .await?;
        Ok(found
            .items
            .iter()
            .find(|v| v.recording.attendance.is_none())
            .map(|v| self.recording_link(&v.recording)))
    }

    /// Deletes the files of deleted recordings. A file that cannot be deleted now is logged
    /// (its row is gone: nothing links to it any more).
    pub(crate) async fn delete_recording_files(&self, files: &[RecordingFileKey]) {
        let Some(recorder) = self.inner.recordings.get() else {
            return;
        };
        for key in files {
            if let Err(e) = recorder.downloads.files.delete(&FileKey::from(*key)).await {
                tracing::error!(file = %key.path(), error = %e, "a deleted recording's file was not removed");
            }
        }
    }

    /// At start: recordings a stopped server was writing are made playable (`repair`) and
    /// completed with the duration they hold, or marked failed when nothing usable was
    /// written.
    pub async fn recover_recordings(&self) -> Result<RecoveredRecordings, ServiceError> {
        let Some(recorder) = self.inner.recordings.get() else {
            return Ok(RecoveredRecordings::default());
        };
        let mut recovered = RecoveredRecordings::default();
        for recording in self.inner.store.unfinished_recordings().await? {
            let Some(key) = RecordingFileKey::of(&recording) else {
                continue;
            };
            let key = FileKey::from(key);
            let path = recorder.downloads.files.writing_path(&key);
            let repaired = tokio::task::spawn_blocking(move || plenum_record::repair(&path)).await;
            let now = self.inner.now();
            let end = match repaired {
                Ok(Ok(summary)) => match recorder.downloads.files.store(&key).await {
                    Ok(size) => {
                        recovered.completed += 1;
                        let duration = SignedDuration::try_from(summary.duration)
                            .unwrap_or(SignedDuration::ZERO);
                        RecordingEnd {
                            recording: recording.id,
                            status: RecordingStatus::Completed,
                            ended_at: recording
                                .started_at
                                .checked_add(duration)
                                .unwrap_or(recording.started_at)
                                .min(now),
                            completed_at: Some(now),
                            size_bytes: size,
                            duration_secs: summary.duration.as_secs_f64().round() as u32,
                            failure: None,
                        }
                    }
                    Err(e) => {
                        recovered.failed += 1;
                        failed(
                            &recording,
                            format!("storing the recording after a restart: {e}"),
                            now,
                        )
                    }
                },
                Ok(Err(e)) => {
                    recovered.failed += 1;
                    let _ = recorder.downloads.files.delete(&key).await;
                    failed(
                        &recording,
                        format!(
                            "the server stopped while recording, and nothing playable was written: {e}"
                        ),
                        now,
                    )
                }
                Err(e) => return Err(ServiceError::internal(e)),
            };
            self.inner
                .store
                .record_live(vec![LiveWrite::RecordingFinished(Box::new(end))])
                .await?;
        }
        Ok(recovered)
    }

    /// One retention sweep: deletes the recordings (and files) that ended more than
    /// `recordings.retention_days` ago. Returns how many went.
    pub async fn expire_recordings(&self) -> Result<u64, ServiceError> {
        let Some(recorder) = self.inner.recordings.get() else {
            return Ok(0);
        };
        if recorder.retention_days == 0 {
            return Ok(0);
        }
        let cutoff = self
            .inner
            .now()
            .checked_sub(SignedDuration::from_hours(
                24 * i64::from(recorder.retention_days),
            ))
            .unwrap_or(Timestamp::MIN);
        let mut total = 0;
        loop {
            let deleted = self
                .inner
                .store
                .expire_recordings(cutoff, EXPIRE_BATCH)
                .await?;
            self.delete_recording_files(&deleted.files).await;
            total += deleted.count;
            if deleted.count < u64::from(EXPIRE_BATCH) {
                break;
            }
        }
        if total > 0 {
            tracing::info!(
                deleted = total,
                "expired recordings deleted (recordings.retention_days)"
            );
        }
        Ok(total)
    }
}

fn failed(recording: &Recording, reason: String, now: Timestamp) -> RecordingEnd {
    tracing::error!(recording = %recording.id, reason = %reason, "recording failed");
    RecordingEnd {
        recording: recording.id,
        status: RecordingStatus::Failed,
        ended_at: now,
        completed_at: None,
        size_bytes: 0,
        duration_secs: 0,
        failure: Some(reason),
    }
}

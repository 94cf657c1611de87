//! Live streams: starting one (with an optional RTMP push) and watching one.
//!
//! A stream is watched at the meeting's `live_url` (`/live/{live id}`), over WebRTC with WHEP
//! (draft-ietf-wish-whep): the page posts an SDP offer and gets the answer. Viewers are
//! subscribers without a seat: they are not participants, do not count against
//! `max_participants`, and are counted apart (`MeetingSummary::viewers`).
//!
//! The live passcode, when there is one, is the WHEP bearer token. Wrong passcodes are
//! throttled per address as wrong meeting passwords are; new viewers are also limited per
//! address ([`VIEWERS_PER_ADDRESS`] a minute), so one address cannot fill a server's UDP.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use plenum_domain::Timestamp;
use plenum_domain::limits::Attempts;
use plenum_domain::live::Command;
use plenum_media::ViewerId;

use super::*;
use crate::{Actor, Live, ServiceError};

/// New viewers one address may open per minute.
pub const VIEWERS_PER_ADDRESS: u32 = 30;

/// What the watch page shows of a live id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchStatus {
    pub name: String,
    /// The stream runs now (false: it stopped, or the meeting is not running).
    pub live: bool,
    pub passcode_required: bool,
    pub viewers: u32,
}

/// A viewer's WHEP session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watching {
    pub viewer: u64,
    pub answer: String,
}

/// New viewers per address in the current minute.
#[derive(Debug, Default)]
pub(crate) struct ViewerRate {
    minute: Mutex<(i64, HashMap<IpAddr, u32>)>,
}

impl ViewerRate {
    fn admit(&self, from: IpAddr, now: Timestamp) -> bool {
        let minute = now.as_second() / 60;
        let mut guard = self
            .minute
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if guard.0 != minute {
            *guard = (minute, HashMap::new());
        }
        let n = guard.1.entry(from).or_default();
        *n += 1;
        *n <= VIEWERS_PER_ADDRESS
    }

    /// A new viewer's id. It names the WHEP session's `Location`, which `DELETE` ends:
    /// random, so one viewer cannot end another's by counting (52 bits, exact in JavaScript).
    fn next(&self) -> ViewerId {
        ViewerId((rand::random::<u64>() >> 12).max(1))
    }
}

impl<'a> Live<'a> {
    /// The running meeting watched at `/live/{live_id}`, and how it is now.
    async fn streamed(
        &self,
        live_id: &str,
    ) -> Result<(MeetingHandle, MeetingSnapshot), ServiceError> {
        let handle = self
            .inner
            .live
            .by_live_id(live_id)
            .ok_or(ServiceError::NotFound)?;
        let snapshot = self.snapshot_of(&handle).await?;
        Ok((handle, snapshot))
    }

    /// Starts the meeting's live stream; with `rtmp_url`, also pushes it there through
    /// `ffmpeg` (refused at once when there is no ffmpeg to run).
    pub async fn start_live(
        &self,
        actor: Actor<'_>,
        number: &str,
        passcode: Option<String>,
        rtmp_url: Option<String>,
    ) -> Result<(), ServiceError> {
        let principal = actor.principal().ok_or(ServiceError::PermissionDenied(
            "a running meeting is controlled by a signed-in user",
        ))?;
        let handle = self.managed_meeting(principal, number).await?;
        if handle.media.is_none() {
            return Err(ServiceError::MediaUnavailable);
        }
        if let Some(url) = &rtmp_url {
            if !super::rtmp::valid_rtmp_url(url) {
                return Err(plenum_domain::ValidationError::breaks(
                    plenum_domain::Rule::UrlForm,
                    plenum_domain::Field::RtmpUrl,
                    "must be an rtmp:// or rtmps:// address with a host",
                )
                .into());
            }
            let ffmpeg = self
                .inner
                .recordings
                .get()
                .map(|r| r.ffmpeg.clone())
                .ok_or(ServiceError::MediaUnavailable)?;
            let found = tokio::task::spawn_blocking(move || super::rtmp::ffmpeg_available(&ffmpeg))
                .await
                .unwrap_or(false);
            if !found {
                return Err(ServiceError::FfmpegMissing);
            }
        }
        handle.send(Message::Rtmp(rtmp_url)).await;
        handle
            .control(actor, Command::StartLive { passcode }, self.inner.now())
            .await
    }

    /// What the watch page of `live_id` shows.
    pub async fn watch_status(&self, live_id: &str) -> Result<WatchStatus, ServiceError> {
        let (handle, snapshot) = self.streamed(live_id).await?;
        let viewers = handle.summary().viewers;
        Ok(WatchStatus {
            name: snapshot.name,
            live: snapshot.live.is_some(),
            passcode_required: snapshot.live.as_ref().is_some_and(|l| l.passcode.is_some()),
            viewers,
        })
    }

    /// A viewer's WHEP offer: the answer, or why not (`NotFound`: no such stream running;
    /// `WrongLivePasscode`; `TooManyAttempts`).
    pub async fn watch(
        &self,
        live_id: &str,
        passcode: Option<&str>,
        offer: String,
        from: IpAddr,
    ) -> Result<Watching, ServiceError> {
        let now = self.inner.now();
        let guesser = Attempts::LivePasscode(from).key();
        let failed = self
            .inner
            .failed_attempts(&guesser, now)
            .await?
            .map_err(|until| ServiceError::TooManyAttempts {
                retry_after_secs: until.duration_since(now).as_secs().max(1).unsigned_abs(),
            })?;
        let (handle, snapshot) = self.streamed(live_id).await?;
        let Some(live) = snapshot.live else {
            return Err(ServiceError::NotFound);
        };
        if let Some(expected) = &live.passcode {
            let given = passcode.unwrap_or_default();
            if !bool::from(subtle::ConstantTimeEq::ct_eq(
                given.as_bytes(),
                expected.as_bytes(),
            )) {
                self.inner.count_failed_attempt(&guesser).await;
                return Err(ServiceError::WrongLivePasscode);
            }
            self.inner.forget_failed_attempts(&guesser, failed).await;
        }
        if !self.inner.viewer_rate.admit(from, now) {
            return Err(ServiceError::TooManyAttempts {
                retry_after_secs: 60 - now.as_second().rem_euclid(60).unsigned_abs(),
            });
        }
        let media = handle
            .media
            .as_ref()
            .ok_or(ServiceError::MediaUnavailable)?;
        let viewer = self.inner.viewer_rate.next();
        let answer = media
            .ask(|reply| MediaControl::AddViewer {
                viewer,
                offer,
                reply,
            })
            .await?;
        Ok(Watching {
            viewer: viewer.0,
            answer,
        })
    }

    /// WHEP `DELETE`: the viewer leaves.
    pub fn stop_watching(&self, live_id: &str, viewer: u64) -> Result<(), ServiceError> {
        let handle = self
            .inner
            .live
            .by_live_id(live_id)
            .ok_or(ServiceError::NotFound)?;
        if let Some(media) = &handle.media {
            media.send(MediaControl::RemoveViewer(ViewerId(viewer)));
        }
        Ok(())
    }
}

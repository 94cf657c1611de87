//! What hosts and the REST API do to running meetings: controls, snapshots, lists.

use std::time::Duration;

use tokio::sync::oneshot;

use plenum_domain::ids::AttendanceId;
use plenum_domain::live::{Command, EndReason};
use plenum_domain::schedule::{MeetingNumber, may_manage_meeting};

use super::*;
use crate::{Actor, Live, Principal, ServiceError};
impl<'a> Live<'a> {
    /// Starts the media server (binds `settings.listen`); returns the address it is bound to.
    /// Without it, meetings carry no audio or video and signalling is answered
    /// `media_unavailable`.
    pub async fn start_media(
        &self,
        settings: &MediaSettings,
    ) -> std::io::Result<std::net::SocketAddr> {
        let service = MediaService::start(settings).await?;
        let local = service.local_addr();
        self.inner
            .media
            .set(service)
            .map_err(|_| std::io::Error::other("the media server is already started"))?;
        Ok(local)
    }

    /// Runs `change` while no meeting of `number` runs or can start (its start gate held,
    /// as a join that starts a meeting holds it); `MeetingRunning` when one runs.
    pub(crate) async fn unless_running<T>(
        &self,
        number: &MeetingNumber,
        change: impl std::future::Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, ServiceError> {
        let gate = self.inner.live.start_gate(number);
        let result = {
            let _held = gate.lock().await;
            match self.inner.live.running(number) {
                Some(_) => Err(ServiceError::MeetingRunning),
                None if self.held_elsewhere(number).await?.is_some() => {
                    Err(ServiceError::MeetingRunning)
                }
                None => change.await,
            }
        };
        self.inner.live.release_start_gate(number, gate);
        result
    }

    /// What clients are told about media in `joined`, when the server carries it.
    pub fn media_offer(&self) -> Option<&MediaOffer> {
        self.inner.media.get().map(MediaService::offer)
    }

    /// Applies a host's control call to a running meeting (recorded in the audit log with
    /// the change).
    pub async fn control(
        &self,
        actor: Actor<'_>,
        number: &str,
        command: Command,
    ) -> Result<(), ServiceError> {
        let principal = actor.principal().ok_or(ServiceError::PermissionDenied(
            "a running meeting is controlled by a signed-in user",
        ))?;
        if !command.is_host_control() {
            // A participant's own action (their own mute, a request to be unmuted, leaving)
            // is theirs: no host may take it for them.
            return Err(ServiceError::PermissionDenied(
                "that is a participant's own action, not a host's control",
            ));
        }
        let handle = self.managed_meeting(principal, number).await?;
        // Recording needs the meeting's media and the server's recorder: without them a
        // start would promise files that never come.
        if command == Command::StartRecording
            && (handle.media.is_none() || self.inner.recordings.get().is_none())
        {
            return Err(ServiceError::MediaUnavailable);
        }
        handle.control(actor, command, self.inner.now()).await
    }

    /// Whether the actor may control the running meeting of `number` (its owner, a
    /// MeetingOperator or a SystemAdmin of its company). A number not running in the actor's
    /// company is `MeetingNotRunning`.
    pub async fn may_control(&self, actor: &Principal, number: &str) -> Result<(), ServiceError> {
        self.managed_meeting(actor, number).await.map(drop)
    }

    /// A participant asks the hosts to let them speak. The participant is the caller's: the
    /// one whose client_uuid the request's `client_id` is, or the caller's only one there (FRTC
    /// sends its app's `client_id` on every request, which need not be a client_uuid). Being
    /// in the meeting is what entitles the caller, not seeing it (a room has no invitees).
    pub async fn request_unmute(
        &self,
        actor: &Principal,
        number: &str,
        client_id: Option<&str>,
    ) -> Result<(), ServiceError> {
        let handle = self.running_meeting(actor, number).await?;
        let snapshot = self.snapshot_of(&handle).await?;
        let mine: Vec<_> = snapshot
            .participants
            .iter()
            .filter(|p| p.identity.user() == Some(actor.user.id))
            .collect();
        if mine.is_empty() && !may_see(actor, &handle) {
            return Err(ServiceError::PermissionDenied(
                "only the meeting's participants may ask to speak in it",
            ));
        }
        let named = client_id.and_then(|c| c.trim().parse::<AttendanceId>().ok());
        let chosen = match named {
            Some(id) => mine.iter().find(|p| p.id == id),
            None if mine.len() == 1 => mine.first(),
            None => None,
        }
        .ok_or_else(|| {
            ServiceError::ParticipantNotFound(match named {
                Some(id) => id.to_string(),
                None => "the caller's participant (give its client_uuid as client_id)".into(),
            })
        })?;
        handle
            .apply(Command::RequestUnmute {
                participant: chosen.id,
            })
            .await
    }

    /// A running meeting with its participants.
    pub async fn live_meeting(
        &self,
        actor: &Principal,
        number: &str,
    ) -> Result<MeetingSnapshot, ServiceError> {
        let handle = self.visible_meeting(actor, number).await?;
        self.snapshot_of(&handle).await
    }

    /// The running meetings the actor may see, oldest first.
    pub fn live_meetings(&self, actor: &Principal) -> Vec<MeetingSummary> {
        let mut meetings: Vec<_> = self
            .inner
            .live
            .all()
            .into_iter()
            .filter(|h| h.company == actor.company() && !h.mailbox.is_closed() && may_see(actor, h))
            .map(|h| h.summary())
            .filter(|s| s.participants > 0)
            .collect();
        meetings.sort_by(|a, b| (a.started_at, &a.number).cmp(&(b.started_at, &b.number)));
        meetings
    }

    /// Ends every running meeting (server shutdown) and waits, up to `grace`, until their
    /// record is written.
    pub async fn end_all_meetings(&self, grace: Duration) {
        self.inner
            .draining
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let handles = self.inner.live.all();
        let ends = handles.iter().map(|h| async move {
            let (reply, answer) = oneshot::channel();
            if h.send(Message::Apply {
                command: Command::Shutdown,
                reply: Some(reply),
            })
            .await
            {
                let _ = answer.await;
            }
        });
        let _ = tokio::time::timeout(grace, futures::future::join_all(ends)).await;
    }

    pub(super) async fn snapshot_of(
        &self,
        handle: &MeetingHandle,
    ) -> Result<MeetingSnapshot, ServiceError> {
        let (reply, answer) = oneshot::channel();
        if !handle.send(Message::Snapshot { reply }).await {
            return Err(ServiceError::MeetingNotRunning);
        }
        answer.await.map_err(|_| ServiceError::MeetingNotRunning)
    }

    /// The running meeting of this number in the actor's company. Other companies' meetings
    /// are "not running" for the actor: they learn nothing about them. A meeting another
    /// node runs is `HeldElsewhere`, whatever its company: that node answers the call (and
    /// refuses a stranger the same way).
    pub(super) async fn running_meeting(
        &self,
        actor: &Principal,
        number: &str,
    ) -> Result<MeetingHandle, ServiceError> {
        let number = MeetingNumber::parse(number).map_err(|_| ServiceError::MeetingNotRunning)?;
        match self.inner.live.running(&number) {
            Some(h) if h.company == actor.company() => Ok(h),
            Some(_) => Err(ServiceError::MeetingNotRunning),
            None => match self.held_elsewhere(&number).await? {
                Some(node) => Err(ServiceError::HeldElsewhere(node)),
                None => Err(ServiceError::MeetingNotRunning),
            },
        }
    }

    pub(super) async fn visible_meeting(
        &self,
        actor: &Principal,
        number: &str,
    ) -> Result<MeetingHandle, ServiceError> {
        let handle = self.running_meeting(actor, number).await?;
        if may_see(actor, &handle) {
            Ok(handle)
        } else {
            Err(ServiceError::PermissionDenied(
                "only the meeting's owner, its invitees, MeetingOperators and SystemAdmins may see it",
            ))
        }
    }

    pub(super) async fn managed_meeting(
        &self,
        actor: &Principal,
        number: &str,
    ) -> Result<MeetingHandle, ServiceError> {
        let handle = self.running_meeting(actor, number).await?;
        if may_manage_meeting(handle.owner, actor.user.id, actor.user.role) {
            Ok(handle)
        } else {
            Err(ServiceError::PermissionDenied(
                "only the meeting's owner, MeetingOperators and SystemAdmins may control it",
            ))
        }
    }

    /// Closes what a crashed or killed server left open. Called at start, before serving.
    /// The only server closes every open session; a node of several only those of meetings
    /// no node holds a live lease on (the others run on live nodes).
    pub async fn recover_live_record(&self) -> Result<plenum_store::Abandoned, ServiceError> {
        let which = match self.inner.policy.node {
            Some(_) => plenum_store::Abandon::Unleased(self.inner.now()),
            None => plenum_store::Abandon::Everything,
        };
        Ok(self
            .inner
            .store
            .close_abandoned(EndReason::ServerShutdown.as_str(), which)
            .await?)
    }
}

pub(super) fn may_see(actor: &Principal, handle: &MeetingHandle) -> bool {
    may_manage_meeting(handle.owner, actor.user.id, actor.user.role)
        || handle.invitees.contains(&actor.user.id)
}

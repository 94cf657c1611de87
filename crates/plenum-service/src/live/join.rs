//! Joining: finding or starting the running meeting of a number, and asking it to admit.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use plenum_domain::ids::{AttendanceId, SessionId};
use plenum_domain::limits::Attempts;
use plenum_domain::live::{
    EndReason, Identity, JoinRefusal, JoinRequest, LiveMeeting, MeetingSetup,
};
use plenum_domain::schedule::{MeetingNumber, may_manage_meeting};
use plenum_store::JoinTarget;

use super::*;
use crate::{Live, ServiceError};
pub(super) const JOIN_ATTEMPTS: usize = 3;

impl<'a> Live<'a> {
    /// Joins a meeting by number, starting it if it is not running. Returns once the join
    /// is durable.
    ///
    /// Wrong passwords are counted by the joiner's address and the meeting, under the
    /// sign-in lockout policy: after its free attempts the address is refused
    /// `too_many_attempts` for that meeting, right password or not, for a lock that doubles
    /// with each further failure. A join that gets in starts the count over.
    pub async fn join(&self, join: LiveJoin, outbox: Outbox) -> Result<Joined, JoinError> {
        let joined = self.join_throttled(join, outbox).await;
        crate::metrics::count_join(&joined);
        joined
    }

    /// [`Live::join`], but for counting its outcome.
    async fn join_throttled(&self, join: LiveJoin, outbox: Outbox) -> Result<Joined, JoinError> {
        let number = MeetingNumber::parse(&join.meeting_number)
            .map_err(|_| JoinError::Refused(JoinRefusal::UnknownMeeting))?;
        let from = join.from.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let guesser = Attempts::MeetingPassword(from, &number).key();
        let failed = self
            .inner
            .failed_attempts(&guesser, self.inner.now())
            .await?
            .map_err(|retry_at| JoinError::Refused(JoinRefusal::TooManyAttempts { retry_at }))?;
        let joined = self.join_meeting(&number, &join, outbox).await;
        match &joined {
            Ok(_) => self.inner.forget_failed_attempts(&guesser, failed).await,
            Err(JoinError::Refused(JoinRefusal::WrongPassword)) => {
                self.inner.count_failed_attempt(&guesser).await;
            }
            Err(_) => {}
        }
        joined
    }

    pub(super) async fn join_meeting(
        &self,
        number: &MeetingNumber,
        join: &LiveJoin,
        outbox: Outbox,
    ) -> Result<Joined, JoinError> {
        for _ in 0..JOIN_ATTEMPTS {
            let handle = match self.inner.live.running(number) {
                Some(h) => h,
                None => {
                    self.running_or_started(number, join.password.as_deref())
                        .await?
                }
            };
            let request = self.join_request(&handle, join)?;
            let id = request.id;
            let (reply, answer) = oneshot::channel();
            let sent = handle
                .send(Message::Join {
                    request: Box::new(request),
                    outbox: outbox.clone(),
                    reply,
                })
                .await;
            if !sent {
                self.inner.live.remove(number, handle.session);
                continue;
            }
            match answer.await {
                Ok(JoinReply::Joined(snapshot)) => {
                    return Ok(Joined {
                        link: ParticipantLink {
                            id,
                            meeting: handle.clone(),
                        },
                        session: handle.session,
                        snapshot: *snapshot,
                    });
                }
                Ok(JoinReply::Refused(r)) => return Err(JoinError::Refused(r)),
                Ok(JoinReply::Failed(e)) => return Err(JoinError::Service(e)),
                Ok(JoinReply::Ended) | Err(_) => {
                    self.inner.live.remove(number, handle.session);
                }
            }
        }
        Err(JoinError::Service(ServiceError::MeetingNotRunning))
    }

    pub(super) fn join_request(
        &self,
        handle: &MeetingHandle,
        join: &LiveJoin,
    ) -> Result<JoinRequest, JoinError> {
        // A user of another company joins as a guest: their account means nothing here.
        let member = join
            .principal
            .as_ref()
            .filter(|p| p.company() == handle.company);
        let identity = match member {
            Some(p) => Identity::User {
                id: p.user.id,
                host: may_manage_meeting(handle.owner, p.user.id, p.user.role),
            },
            None => Identity::Guest,
        };
        let display_name = match (&join.display_name, member) {
            (Some(name), _) => plenum_domain::live::parse_display_name(name)
                .map_err(|e| JoinError::Service(e.into()))?,
            // A member who gives no name joins under their real name, or their username when
            // that is empty or cannot be a display name (longer than one, say).
            (None, Some(p)) => plenum_domain::live::parse_display_name(&p.user.profile.real_name)
                .unwrap_or_else(|_| p.user.username.as_str().to_owned()),
            (None, None) => plenum_domain::live::parse_display_name("")
                .map_err(|e| JoinError::Service(e.into()))?,
        };
        Ok(JoinRequest {
            id: AttendanceId::new(self.inner.now()),
            identity,
            password: join.password.clone(),
            display_name,
            device_type: join.device_type,
            media_type: join.media_type,
            call_number: join.call_number.clone(),
            department: member
                .map(|p| p.user.profile.department.clone())
                .unwrap_or_default(),
            server_full: None,
        })
    }

    /// The running meeting of a number, started by this call if no one else is starting it:
    /// the first joins of a meeting arrive together, and one of them looks it up.
    pub(super) async fn running_or_started(
        &self,
        number: &MeetingNumber,
        password: Option<&str>,
    ) -> Result<MeetingHandle, JoinError> {
        let gate = self.inner.live.start_gate(number);
        let started = {
            let _starting = gate.lock().await;
            match self.inner.live.running(number) {
                Some(h) => Ok(h),
                None => self.start_meeting(number, password).await,
            }
        };
        self.inner.live.release_start_gate(number, gate);
        started
    }

    /// Starts the meeting a number opens now, or refuses. A scheduled meeting's password is
    /// checked before its window and its end, as the running meeting checks it before
    /// anything else: without it, a number does not tell when its meeting opens or that it
    /// is over.
    pub(super) async fn start_meeting(
        &self,
        number: &MeetingNumber,
        password: Option<&str>,
    ) -> Result<MeetingHandle, JoinError> {
        self.claim(number).await?;
        let now = self.inner.now();
        let store = &self.inner.store;
        let target = store
            .join_target(number, now)
            .await
            .map_err(ServiceError::from)?
            .ok_or(JoinError::Refused(JoinRefusal::UnknownMeeting))?;
        let policy = &self.inner.policy;
        let session = SessionId::new(now);
        let live_url_of_session = format!("{}/live/{}", policy.public_url, session);
        let setup = match target {
            JoinTarget::Room(room) => MeetingSetup {
                session,
                company: room.company_id,
                number: room.meeting_number.clone(),
                name: room.name.clone(),
                owner: room.owner.id,
                owner_name: room.owner.display_name().to_owned(),
                room: Some(room.id),
                schedule: None,
                password: room.password.clone(),
                guest_dial_in: true,
                watermark: false,
                watermark_type: Default::default(),
                mute_upon_entry: false,
                end_time: None,
                max_participants: policy.live.max_participants_per_meeting,
                heartbeat_timeout: policy.live.heartbeat_timeout,
                live_url: live_url_of_session,
                live_passcode: None,
                invitees: Vec::new(),
            },
            JoinTarget::Schedule(s) => {
                let last = store
                    .last_end_reason(s.id)
                    .await
                    .map_err(ServiceError::from)?;
                plenum_domain::live::schedule_admits(
                    &s,
                    password,
                    last.as_deref().and_then(EndReason::parse),
                    now,
                )
                .map_err(JoinError::Refused)?;
                MeetingSetup {
                    session,
                    company: s.company_id,
                    number: s.meeting_number.clone(),
                    name: s.settings.name.clone(),
                    owner: s.owner.id,
                    owner_name: s.owner.display_name().to_owned(),
                    room: s.room_id,
                    schedule: Some(s.id),
                    password: s.settings.password.clone(),
                    guest_dial_in: s.settings.guest_dial_in,
                    watermark: s.settings.watermark,
                    watermark_type: s.settings.watermark_type,
                    mute_upon_entry: s.settings.mute_upon_entry,
                    end_time: Some(s.slot.end),
                    max_participants: policy.live.max_participants_per_meeting,
                    heartbeat_timeout: policy.live.heartbeat_timeout,
                    live_url: s
                        .settings
                        .live
                        .as_ref()
                        .map(|l| self.plenum.scheduling().live_url(l))
                        .unwrap_or(live_url_of_session),
                    live_passcode: s.settings.live.as_ref().map(|l| l.passcode.clone()),
                    invitees: s.invitees.iter().map(|i| i.id).collect(),
                }
            }
        };
        let (mailbox, inbox) = mpsc::channel(1024);
        let weak_mailbox = mailbox.downgrade();
        let summary = Arc::new(Mutex::new(MeetingSummary {
            number: setup.number.clone(),
            name: setup.name.clone(),
            started_at: now,
            owner: setup.owner,
            owner_name: setup.owner_name.clone(),
            locked: false,
            participants: 0,
            viewers: 0,
        }));
        let handle = MeetingHandle {
            number: setup.number.clone(),
            session,
            company: setup.company,
            owner: setup.owner,
            invitees: setup.invitees.clone().into(),
            live_id: setup.live_url.rsplit('/').next().unwrap_or_default().into(),
            mailbox,
            summary: summary.clone(),
            // A start that loses the race drops this handle, which ends its media task.
            media: self.inner.media.get().map(|m| {
                m.open_room(
                    self.inner.clock.clone(),
                    setup.number.to_string(),
                    self.plenum.history().egress_context(),
                    weak_mailbox,
                    summary.clone(),
                )
            }),
        };
        let registered = self.inner.live.insert_or_existing(handle.clone());
        if registered.session == session {
            let actor = Actor {
                plenum: self.plenum.clone(),
                meeting: LiveMeeting::new(setup, now),
                outboxes: HashMap::new(),
                hosts: Vec::new(),
                seq: 0,
                session_recorded: false,
                last_seen_recorded: now,
                summary,
                media: registered.media.clone(),
                media_seen: HashMap::new(),
                recording: Default::default(),
                live: Default::default(),
                rtmp_next: None,
                recorded: false,
            };
            tokio::spawn(actor.run(inbox));
        }
        Ok(registered)
    }
}

//! The live runtime: one task per running meeting.
//!
//! Each running meeting is owned by a [`tokio`] task that holds its [`LiveMeeting`] state
//! machine. Joins, leaves and heartbeats from clients and control calls from REST all arrive
//! in the task's mailbox. The task applies a batch of them, makes the resulting record
//! durable (the store's journal group-commits across meetings), and only then answers the
//! callers and pushes the events to the clients. So a join is acknowledged, and a change is
//! seen, only once it survives a crash.
//!
//! The task ends when its meeting ends (stopped, end time, last participant gone); the next
//! join of the number starts a new session.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::{mpsc, oneshot};

use plenum_domain::history::{Attendance, DeviceType, MediaType, Session};
use plenum_domain::ids::{AttendanceId, CompanyId, SessionId, UserId};
use plenum_domain::live::{
    Audience, Command, ControlError, EndReason, Event, Identity, JoinRefusal, JoinRequest,
    JoinWindow, LeaveReason, LiveMeeting, LiveStream, MeetingSetup, Outcome, Overlay, Participant,
};
use plenum_domain::schedule::{MeetingKind, MeetingNumber, MeetingPassword, may_manage_meeting};
use plenum_store::{JoinTarget, LiveWrite};

use crate::{Plenum, Principal, ServiceError};

/// How the live runtime behaves.
#[derive(Debug, Clone)]
pub struct LivePolicy {
    /// How often clients are asked to send a heartbeat.
    pub heartbeat_interval: Duration,
    /// How long a participant may be silent before counting as gone (left at the time last
    /// heard from).
    pub heartbeat_timeout: SignedDuration,
    /// How often each running meeting looks at the clock (end time, silent participants).
    pub tick_interval: Duration,
    /// How often a running meeting records that it is alive: after a crash, open sessions
    /// and attendance are closed at the last such record, so at most this much is lost of
    /// their duration (never a join or a leave).
    pub seen_interval: SignedDuration,
    /// Most participants in one meeting.
    pub max_participants_per_meeting: u32,
    /// Events a client may fall behind by before it is dropped as too slow.
    pub client_queue: usize,
}

impl Default for LivePolicy {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_secs(10),
            heartbeat_timeout: SignedDuration::from_secs(30),
            tick_interval: Duration::from_secs(1),
            seen_interval: SignedDuration::from_secs(5),
            max_participants_per_meeting: 1000,
            client_queue: 1024,
        }
    }
}

/// What a client's connection receives after it joined.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// A change of the meeting; the same one goes to every client it concerns.
    Event(Arc<Pushed>),
}

/// A change of a meeting as it is pushed: numbered in the order of the session.
#[derive(Debug)]
pub struct Pushed {
    pub seq: u64,
    pub at: Timestamp,
    pub event: Event,
    /// The event in the client protocol, rendered by the first connection that sends it and
    /// reused by all others (a change in a meeting of n goes to n clients).
    wire: std::sync::OnceLock<String>,
}

impl Pushed {
    fn new(seq: u64, at: Timestamp, event: Event) -> Self {
        Self {
            seq,
            at,
            event,
            wire: std::sync::OnceLock::new(),
        }
    }

    /// The wire form, rendered once by `render`.
    pub fn wire(&self, render: impl FnOnce(&Pushed) -> String) -> &str {
        self.wire.get_or_init(|| render(self))
    }
}

/// The sending half a connection hands in at join; the runtime pushes to it.
pub type Outbox = mpsc::Sender<Delivery>;

/// A join as a client asks for it.
#[derive(Debug, Clone)]
pub struct LiveJoin {
    pub meeting_number: String,
    pub password: Option<String>,
    /// `None`: the user's real name (or username); guests must give one.
    pub display_name: Option<String>,
    pub device_type: DeviceType,
    pub media_type: MediaType,
    pub call_number: String,
    pub principal: Option<Principal>,
    /// The joiner's network address, which wrong passwords are counted by.
    pub from: Option<IpAddr>,
}

/// Why a join did not happen.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error(transparent)]
    Refused(JoinRefusal),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// A running meeting as it is at one moment.
#[derive(Debug, Clone)]
pub struct MeetingSnapshot {
    pub session: SessionId,
    pub company: CompanyId,
    pub number: MeetingNumber,
    pub name: String,
    pub owner: UserId,
    pub owner_name: String,
    pub started_at: Timestamp,
    pub end_time: Option<Timestamp>,
    pub password: Option<String>,
    pub guest_dial_in: bool,
    pub watermark: bool,
    pub watermark_type: &'static str,
    pub locked: bool,
    pub recording: bool,
    pub live: Option<LiveStream>,
    pub overlay: Option<Overlay>,
    pub lecturer: Option<AttendanceId>,
    pub pinned: Option<AttendanceId>,
    pub participants: Vec<Participant>,
    /// The sequence number of the last event before this snapshot.
    pub seq: u64,
}

impl MeetingSnapshot {
    fn of(meeting: &LiveMeeting, seq: u64) -> Self {
        let setup = meeting.setup();
        Self {
            session: setup.session,
            company: setup.company,
            number: setup.number.clone(),
            name: setup.name.clone(),
            owner: setup.owner,
            owner_name: setup.owner_name.clone(),
            started_at: meeting.started_at(),
            end_time: meeting.end_time(),
            password: setup.password.as_ref().map(|p| p.as_str().to_owned()),
            guest_dial_in: setup.guest_dial_in,
            watermark: setup.watermark,
            watermark_type: setup.watermark_type.as_str(),
            locked: meeting.locked(),
            recording: meeting.recording(),
            live: meeting.live().cloned(),
            overlay: meeting.overlay().cloned(),
            lecturer: meeting.lecturer(),
            pinned: meeting.pinned(),
            participants: meeting.participants().cloned().collect(),
            seq,
        }
    }
}

/// A running meeting in a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingSummary {
    pub number: MeetingNumber,
    pub name: String,
    pub started_at: Timestamp,
    pub owner: UserId,
    pub owner_name: String,
    pub locked: bool,
    pub participants: u32,
}

/// A joined participant's line to its meeting.
#[derive(Debug, Clone)]
pub struct ParticipantLink {
    pub id: AttendanceId,
    meeting: MeetingHandle,
}

impl ParticipantLink {
    /// The client was heard from.
    pub async fn heartbeat(&self) {
        self.meeting
            .send(Message::Apply {
                command: Command::Heartbeat {
                    participant: self.id,
                },
                reply: None,
            })
            .await;
    }

    /// Leaves the meeting; returns once the leave is durable.
    pub async fn leave(&self, reason: LeaveReason) {
        let _ = self
            .meeting
            .apply(Command::Leave {
                participant: self.id,
                reason,
            })
            .await;
    }

    pub async fn set_own_mute(
        &self,
        audio: Option<bool>,
        video: Option<bool>,
    ) -> Result<(), ServiceError> {
        self.meeting
            .apply(Command::SetOwnMute {
                participant: self.id,
                audio,
                video,
            })
            .await
    }

    pub async fn request_unmute(&self) -> Result<(), ServiceError> {
        self.meeting
            .apply(Command::RequestUnmute {
                participant: self.id,
            })
            .await
    }
}

/// A successful join.
#[derive(Debug)]
pub struct Joined {
    pub link: ParticipantLink,
    pub session: SessionId,
    pub snapshot: MeetingSnapshot,
}

// --- the registry of running meetings ------------------------------------------------------

#[derive(Debug, Default)]
pub(crate) struct Registry {
    meetings: Mutex<HashMap<MeetingNumber, MeetingHandle>>,
    /// Meetings being started, so that one join starts each.
    starting: Mutex<HashMap<MeetingNumber, Arc<tokio::sync::Mutex<()>>>>,
    /// Participants in all meetings: the installation's current calls.
    calls: AtomicU32,
}

impl Registry {
    /// The meeting of this number if it is running and takes messages.
    fn running(&self, number: &MeetingNumber) -> Option<MeetingHandle> {
        self.lock()
            .get(number)
            .filter(|h| !h.mailbox.is_closed())
            .cloned()
    }

    fn start_gate(&self, number: &MeetingNumber) -> Arc<tokio::sync::Mutex<()>> {
        self.starting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(number.clone())
            .or_default()
            .clone()
    }

    /// Forgets the gate once nobody else holds it.
    fn release_start_gate(&self, number: &MeetingNumber, gate: Arc<tokio::sync::Mutex<()>>) {
        let mut starting = self
            .starting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Ours and the map's: nobody is waiting.
        if Arc::strong_count(&gate) <= 2 {
            starting.remove(number);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<MeetingNumber, MeetingHandle>> {
        self.meetings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a started meeting unless another start won the race; returns the handle
    /// to use.
    fn insert_or_existing(&self, handle: MeetingHandle) -> MeetingHandle {
        let mut meetings = self.lock();
        match meetings.get(&handle.number) {
            Some(existing) if !existing.mailbox.is_closed() => existing.clone(),
            _ => {
                meetings.insert(handle.number.clone(), handle.clone());
                handle
            }
        }
    }

    fn remove(&self, number: &MeetingNumber, session: SessionId) {
        let mut meetings = self.lock();
        if meetings.get(number).is_some_and(|h| h.session == session) {
            meetings.remove(number);
        }
    }

    fn all(&self) -> Vec<MeetingHandle> {
        self.lock().values().cloned().collect()
    }

    pub(crate) fn current_calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Takes a call slot if fewer than `max` are in use.
    fn take_call(&self, max: u32) -> bool {
        self.calls
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }

    fn release_call(&self) {
        self.calls.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Debug, Clone)]
struct MeetingHandle {
    number: MeetingNumber,
    session: SessionId,
    company: CompanyId,
    owner: UserId,
    invitees: Arc<[UserId]>,
    mailbox: mpsc::Sender<Message>,
    summary: Arc<Mutex<MeetingSummary>>,
}

impl MeetingHandle {
    async fn send(&self, message: Message) -> bool {
        self.mailbox.send(message).await.is_ok()
    }

    async fn apply(&self, command: Command) -> Result<(), ServiceError> {
        let (reply, answer) = oneshot::channel();
        if !self
            .send(Message::Apply {
                command,
                reply: Some(reply),
            })
            .await
        {
            return Err(ServiceError::MeetingNotRunning);
        }
        answer.await.unwrap_or(Err(ServiceError::MeetingNotRunning))
    }

    fn summary(&self) -> MeetingSummary {
        self.summary
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// One of the installation's `max_calls`, held from a join until the participant is out
/// (or the join failed). Dropping it gives it back, whatever path the join took.
#[derive(Debug)]
struct CallSlot(Plenum);

impl CallSlot {
    fn take(plenum: &Plenum) -> Option<Self> {
        plenum
            .inner
            .live
            .take_call(plenum.inner.policy.max_calls)
            .then(|| Self(plenum.clone()))
    }
}

impl Drop for CallSlot {
    fn drop(&mut self) {
        self.0.inner.live.release_call();
    }
}

enum Message {
    Join {
        request: Box<JoinRequest>,
        outbox: Outbox,
        reply: oneshot::Sender<JoinReply>,
    },
    Apply {
        command: Command,
        reply: Option<oneshot::Sender<Result<(), ServiceError>>>,
    },
    Snapshot {
        reply: oneshot::Sender<MeetingSnapshot>,
    },
}

enum JoinReply {
    Joined(Box<MeetingSnapshot>),
    Refused(JoinRefusal),
    /// The meeting ended while the join was on its way: start it again.
    Ended,
    Failed(ServiceError),
}

fn control_error(e: ControlError) -> ServiceError {
    match e {
        ControlError::UnknownParticipant(id) => ServiceError::ParticipantNotFound(id.to_string()),
        ControlError::Ended => ServiceError::MeetingNotRunning,
        ControlError::UnmuteNotAllowed => ServiceError::UnmuteNotAllowed,
        ControlError::NotMuted => ServiceError::NotMuted,
        ControlError::Invalid(v) => ServiceError::Invalid(v),
    }
}

const JOIN_ATTEMPTS: usize = 3;

impl Plenum {
    /// Joins a meeting by number, starting it if it is not running. Returns once the join
    /// is durable.
    ///
    /// Wrong passwords are counted by the joiner's address and the meeting, under the
    /// sign-in lockout policy: after its free attempts the address is refused
    /// `too_many_attempts` for that meeting, right password or not, for a lock that doubles
    /// with each further failure. A join that gets in starts the count over.
    pub async fn join(&self, join: LiveJoin, outbox: Outbox) -> Result<Joined, JoinError> {
        let number = MeetingNumber::parse(&join.meeting_number)
            .map_err(|_| JoinError::Refused(JoinRefusal::UnknownMeeting))?;
        let guesser = (
            join.from.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            number,
        );
        let guesses = &self.inner.join_guesses;
        guesses
            .check(&guesser, self.now())
            .map_err(|retry_at| JoinError::Refused(JoinRefusal::TooManyAttempts { retry_at }))?;
        let joined = self.join_meeting(&guesser.1, &join, outbox).await;
        match &joined {
            Ok(_) => guesses.forget(&guesser),
            Err(JoinError::Refused(JoinRefusal::WrongPassword)) => {
                guesses.record_failure(guesser, &self.inner.policy.lockout, self.now());
            }
            Err(_) => {}
        }
        joined
    }

    async fn join_meeting(
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

    fn join_request(
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
            id: AttendanceId::new(self.now()),
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
    async fn running_or_started(
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
    async fn start_meeting(
        &self,
        number: &MeetingNumber,
        password: Option<&str>,
    ) -> Result<MeetingHandle, JoinError> {
        let now = self.now();
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
                if !MeetingPassword::admits(s.settings.password.as_ref(), password) {
                    return Err(JoinError::Refused(JoinRefusal::WrongPassword));
                }
                // Instant meetings are open from their creation; the others from
                // `time_to_join` minutes before their start.
                let window = match s.kind {
                    MeetingKind::Instant => JoinWindow {
                        opens_at: s.created_at.min(s.slot.start),
                        closes_at: s.slot.end,
                    },
                    _ => JoinWindow::for_schedule(
                        s.slot.start,
                        s.slot.end,
                        s.settings.time_to_join_minutes,
                    ),
                };
                window.check(now).map_err(JoinError::Refused)?;
                let last = store
                    .last_end_reason(s.id)
                    .await
                    .map_err(ServiceError::from)?;
                // Over for good: the window alone does not say it, since a host may have
                // moved the end earlier than the schedule's (the meeting really ends then).
                if last
                    .as_deref()
                    .and_then(EndReason::parse)
                    .is_some_and(EndReason::closes_schedule)
                {
                    return Err(JoinError::Refused(JoinRefusal::Ended));
                }
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
                        .map(|l| self.live_url(l))
                        .unwrap_or(live_url_of_session),
                    live_passcode: s.settings.live.as_ref().map(|l| l.passcode.clone()),
                    invitees: s.invitees.iter().map(|i| i.id).collect(),
                }
            }
        };
        let (mailbox, inbox) = mpsc::channel(1024);
        let summary = Arc::new(Mutex::new(MeetingSummary {
            number: setup.number.clone(),
            name: setup.name.clone(),
            started_at: now,
            owner: setup.owner,
            owner_name: setup.owner_name.clone(),
            locked: false,
            participants: 0,
        }));
        let handle = MeetingHandle {
            number: setup.number.clone(),
            session,
            company: setup.company,
            owner: setup.owner,
            invitees: setup.invitees.clone().into(),
            mailbox,
            summary: summary.clone(),
        };
        let registered = self.inner.live.insert_or_existing(handle.clone());
        if registered.session == session {
            let actor = Actor {
                plenum: self.clone(),
                meeting: LiveMeeting::new(setup, now),
                outboxes: HashMap::new(),
                hosts: Vec::new(),
                seq: 0,
                session_recorded: false,
                last_seen_recorded: now,
                summary,
            };
            tokio::spawn(actor.run(inbox));
        }
        Ok(registered)
    }

    /// Applies a host's control call to a running meeting.
    pub async fn control(
        &self,
        actor: &Principal,
        number: &str,
        command: Command,
    ) -> Result<(), ServiceError> {
        if !command.is_host_control() {
            return Err(ServiceError::InvalidChange(
                "that is a participant's own action, not a host's control",
            ));
        }
        let handle = self.managed_meeting(actor, number)?;
        handle.apply(command).await
    }

    /// Whether the actor may control the running meeting of `number` (its owner, a
    /// MeetingOperator or a SystemAdmin of its company). A number not running in the actor's
    /// company is `MeetingNotRunning`.
    pub fn may_control(&self, actor: &Principal, number: &str) -> Result<(), ServiceError> {
        self.managed_meeting(actor, number).map(drop)
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
        let handle = self.running_meeting(actor, number)?;
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
        let handle = self.visible_meeting(actor, number)?;
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

    async fn snapshot_of(&self, handle: &MeetingHandle) -> Result<MeetingSnapshot, ServiceError> {
        let (reply, answer) = oneshot::channel();
        if !handle.send(Message::Snapshot { reply }).await {
            return Err(ServiceError::MeetingNotRunning);
        }
        answer.await.map_err(|_| ServiceError::MeetingNotRunning)
    }

    /// The running meeting of this number in the actor's company. Other companies' meetings
    /// are "not running" for the actor: they learn nothing about them.
    fn running_meeting(
        &self,
        actor: &Principal,
        number: &str,
    ) -> Result<MeetingHandle, ServiceError> {
        let number = MeetingNumber::parse(number).map_err(|_| ServiceError::MeetingNotRunning)?;
        self.inner
            .live
            .running(&number)
            .filter(|h| h.company == actor.company())
            .ok_or(ServiceError::MeetingNotRunning)
    }

    fn visible_meeting(
        &self,
        actor: &Principal,
        number: &str,
    ) -> Result<MeetingHandle, ServiceError> {
        let handle = self.running_meeting(actor, number)?;
        if may_see(actor, &handle) {
            Ok(handle)
        } else {
            Err(ServiceError::PermissionDenied(
                "only the meeting's owner, its invitees, MeetingOperators and SystemAdmins may see it",
            ))
        }
    }

    fn managed_meeting(
        &self,
        actor: &Principal,
        number: &str,
    ) -> Result<MeetingHandle, ServiceError> {
        let handle = self.running_meeting(actor, number)?;
        if may_manage_meeting(handle.owner, actor.user.id, actor.user.role) {
            Ok(handle)
        } else {
            Err(ServiceError::PermissionDenied(
                "only the meeting's owner, MeetingOperators and SystemAdmins may control it",
            ))
        }
    }

    /// Closes what a crashed or killed server left open. Called at start, before serving.
    pub async fn recover_live_record(&self) -> Result<plenum_store::Abandoned, ServiceError> {
        Ok(self
            .inner
            .store
            .close_abandoned(EndReason::ServerShutdown.as_str())
            .await?)
    }
}

fn may_see(actor: &Principal, handle: &MeetingHandle) -> bool {
    may_manage_meeting(handle.owner, actor.user.id, actor.user.role)
        || handle.invitees.contains(&actor.user.id)
}

// --- the task of one running meeting -------------------------------------------------------

/// The most messages applied before their record is written in one go.
const MAX_BATCH: usize = 512;

struct Actor {
    plenum: Plenum,
    meeting: LiveMeeting,
    /// The clients of the joined participants, each with the call it holds.
    outboxes: HashMap<AttendanceId, (Outbox, CallSlot)>,
    /// Participants who are hosts (they hear unmute requests).
    hosts: Vec<AttendanceId>,
    seq: u64,
    /// Whether the session row exists: it is written with the first successful join, so a
    /// meeting nobody got into leaves no trace.
    session_recorded: bool,
    last_seen_recorded: Timestamp,
    summary: Arc<Mutex<MeetingSummary>>,
}

/// What to do, after the batch is durable, for one message of it.
enum After {
    Joined {
        id: AttendanceId,
        host: bool,
        outbox: Outbox,
        slot: CallSlot,
        snapshot: Box<MeetingSnapshot>,
        reply: oneshot::Sender<JoinReply>,
    },
    JoinReply(oneshot::Sender<JoinReply>, JoinReply),
    Applied(
        Option<oneshot::Sender<Result<(), ServiceError>>>,
        Result<(), ServiceError>,
    ),
    Snapshot(oneshot::Sender<MeetingSnapshot>, Box<MeetingSnapshot>),
    Push(Arc<Pushed>),
}

impl Actor {
    async fn run(mut self, mut inbox: mpsc::Receiver<Message>) {
        let period = self.plenum.inner.policy.live.tick_interval;
        let mut next_tick = tokio::time::Instant::now() + period;
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut follow_ups: Vec<Command> = Vec::new();
        loop {
            batch.clear();
            if follow_ups.is_empty() {
                // Messages first: a heartbeat already sent is applied before the tick that
                // would otherwise count its sender as silent.
                tokio::select! {
                    biased;
                    received = inbox.recv_many(&mut batch, MAX_BATCH) => {
                        if received == 0 {
                            // Every handle is gone: nobody can reach the meeting any more.
                            batch.push(Message::Apply { command: Command::Shutdown, reply: None });
                        }
                    }
                    () = tokio::time::sleep_until(next_tick) => {}
                }
            }
            batch.extend(follow_ups.drain(..).map(|command| Message::Apply {
                command,
                reply: None,
            }));
            // The tick comes after the batch's messages, and is never starved by a busy
            // mailbox.
            if tokio::time::Instant::now() >= next_tick {
                next_tick = tokio::time::Instant::now() + period;
                batch.push(Message::Apply {
                    command: Command::Tick,
                    reply: None,
                });
            }
            let now = self.plenum.now();
            let mut writes = Vec::new();
            let mut after = Vec::new();
            for message in batch.drain(..) {
                self.handle(message, now, &mut writes, &mut after);
            }
            if now.duration_since(self.last_seen_recorded)
                >= self.plenum.inner.policy.live.seen_interval
                && self.session_recorded
                && self.meeting.ended().is_none()
            {
                self.last_seen_recorded = now;
                writes.push(LiveWrite::SessionSeen {
                    session: self.meeting.setup().session,
                    at: now,
                    peak_participants: self.meeting.peak_participants(),
                });
            }
            let durable = self.plenum.inner.store.record_live(writes).await;
            if let Err(e) = &durable {
                tracing::error!(error = %e, meeting = %self.meeting.setup().number, "live record not written; ending the meeting");
            }
            self.deliver(after, durable.is_ok(), &mut follow_ups);
            self.update_summary();
            // A record that could not be written ends the meeting, as its end does.
            if durable.is_err() || self.meeting.ended().is_some() {
                self.finish(&mut inbox);
                break;
            }
        }
    }

    fn handle(
        &mut self,
        message: Message,
        now: Timestamp,
        writes: &mut Vec<LiveWrite>,
        after: &mut Vec<After>,
    ) {
        match message {
            Message::Snapshot { reply } => after.push(After::Snapshot(
                reply,
                Box::new(MeetingSnapshot::of(&self.meeting, self.seq)),
            )),
            Message::Join {
                mut request,
                outbox,
                reply,
            } => {
                if self.meeting.ended().is_some() {
                    after.push(After::JoinReply(reply, JoinReply::Ended));
                    return;
                }
                let id = request.id;
                let host = request.identity.is_host();
                // The call is taken here, where the meeting decides: its own refusals come
                // before the server's `max_calls` (the meeting's state machine orders them).
                let slot = CallSlot::take(&self.plenum);
                if slot.is_none() {
                    request.server_full = Some(self.plenum.inner.policy.max_calls);
                }
                match (self.meeting.apply(Command::Join(request), now), slot) {
                    (Outcome::Applied(events), Some(slot)) => {
                        self.record(events, now, writes, after);
                        after.push(After::Joined {
                            id,
                            host,
                            outbox,
                            slot,
                            snapshot: Box::new(MeetingSnapshot::of(&self.meeting, self.seq)),
                            reply,
                        });
                    }
                    (Outcome::Applied(events), None) => {
                        // The state machine refuses a join marked `server_full`; should it
                        // ever admit one, the participant is taken out again at once.
                        self.record(events, now, writes, after);
                        after.push(After::JoinReply(
                            reply,
                            JoinReply::Refused(JoinRefusal::ServerFull {
                                max: self.plenum.inner.policy.max_calls,
                            }),
                        ));
                        let leave = Command::Leave {
                            participant: id,
                            reason: LeaveReason::ConnectionClosed,
                        };
                        if let Outcome::Applied(events) = self.meeting.apply(leave, now) {
                            self.record(events, now, writes, after);
                        }
                    }
                    (Outcome::JoinRefused(r), _) => {
                        after.push(After::JoinReply(reply, JoinReply::Refused(r)))
                    }
                    (Outcome::Refused(e), _) => {
                        after.push(After::JoinReply(reply, JoinReply::Failed(control_error(e))))
                    }
                }
            }
            Message::Apply { command, reply } => {
                let result = match self.meeting.apply(command, now) {
                    Outcome::Applied(events) => {
                        self.record(events, now, writes, after);
                        Ok(())
                    }
                    Outcome::Refused(e) => Err(control_error(e)),
                    Outcome::JoinRefused(_) => Err(ServiceError::MeetingNotRunning),
                };
                after.push(After::Applied(reply, result));
            }
        }
    }

    /// Turns events into record writes and pushes to make once they are durable.
    fn record(
        &mut self,
        events: Vec<Event>,
        now: Timestamp,
        writes: &mut Vec<LiveWrite>,
        after: &mut Vec<After>,
    ) {
        let setup = self.meeting.setup();
        for event in events {
            self.seq += 1;
            match &event {
                Event::ParticipantJoined { participant } => {
                    if !self.session_recorded {
                        self.session_recorded = true;
                        writes.push(LiveWrite::SessionStarted(Box::new(Session {
                            id: setup.session,
                            company: setup.company,
                            meeting_number: setup.number.clone(),
                            name: setup.name.clone(),
                            owner: setup.owner,
                            room: setup.room,
                            schedule: setup.schedule,
                            started_at: self.meeting.started_at(),
                            ended_at: None,
                            peak_participants: 0,
                            invitees: setup.invitees.clone(),
                        })));
                    }
                    writes.push(LiveWrite::Joined(Box::new(Attendance {
                        id: participant.id,
                        session: setup.session,
                        user: participant.identity.user(),
                        display_name: participant.display_name.clone(),
                        call_number: participant.call_number.clone(),
                        device_type: participant.device_type,
                        media_type: participant.media_type,
                        department: participant.department.clone(),
                        joined_at: participant.joined_at,
                        left_at: None,
                    })));
                }
                Event::ParticipantLeft {
                    client_uuid,
                    reason,
                    left_at,
                } => writes.push(LiveWrite::Left {
                    attendance: *client_uuid,
                    at: *left_at,
                    reason: reason.as_str(),
                }),
                Event::MeetingEnded { reason, .. } => {
                    if self.session_recorded {
                        writes.push(LiveWrite::SessionEnded {
                            session: setup.session,
                            at: match reason {
                                EndReason::EndTimeReached => setup_end(&self.meeting, now),
                                _ => now,
                            },
                            reason: reason.as_str(),
                            peak_participants: self.meeting.peak_participants(),
                        })
                    }
                }
                other => {
                    if self.session_recorded {
                        writes.push(LiveWrite::Event {
                            session: setup.session,
                            seq: self.seq,
                            at: now,
                            kind: other.kind(),
                            data: serde_json::to_string(other).unwrap_or_default(),
                        })
                    }
                }
            }
            after.push(After::Push(Arc::new(Pushed::new(self.seq, now, event))));
        }
    }

    /// After the batch's record is durable (or failed): answers and pushes, in order.
    fn deliver(&mut self, after: Vec<After>, durable: bool, follow_ups: &mut Vec<Command>) {
        for step in after {
            match step {
                After::Joined {
                    id,
                    host,
                    outbox,
                    slot,
                    snapshot,
                    reply,
                } => {
                    if !durable {
                        let _ = reply.send(JoinReply::Failed(ServiceError::internal(
                            std::io::Error::other("the join could not be recorded"),
                        )));
                        continue;
                    }
                    if reply.send(JoinReply::Joined(snapshot)).is_ok() {
                        self.outboxes.insert(id, (outbox, slot));
                        if host {
                            self.hosts.push(id);
                        }
                    } else {
                        // The joiner is gone before hearing back: they leave again.
                        follow_ups.push(Command::Leave {
                            participant: id,
                            reason: LeaveReason::ConnectionClosed,
                        });
                    }
                }
                After::JoinReply(reply, answer) => {
                    let _ = reply.send(answer);
                }
                After::Applied(reply, result) => {
                    if let Some(reply) = reply {
                        let result = if durable {
                            result
                        } else {
                            Err(ServiceError::internal(std::io::Error::other(
                                "the change could not be recorded",
                            )))
                        };
                        let _ = reply.send(result);
                    }
                }
                After::Snapshot(reply, snapshot) => {
                    let _ = reply.send(*snapshot);
                }
                After::Push(pushed) if durable => self.push(pushed, follow_ups),
                After::Push(..) => {}
            }
        }
    }

    fn push(&mut self, pushed: Arc<Pushed>, follow_ups: &mut Vec<Command>) {
        let delivery = Delivery::Event(pushed.clone());
        let event = &pushed.event;
        let mut send = |id: AttendanceId, outbox: &Outbox| {
            if outbox.try_send(delivery.clone()).is_err() {
                // Full (too slow) or closed (gone): either way the participant is out.
                let reason = if outbox.is_closed() {
                    LeaveReason::ConnectionClosed
                } else {
                    LeaveReason::TooSlow
                };
                follow_ups.push(Command::Leave {
                    participant: id,
                    reason,
                });
            }
        };
        match event.audience() {
            Audience::Everyone => {
                for (id, (outbox, _)) in &self.outboxes {
                    send(*id, outbox);
                }
            }
            Audience::Only(id) => {
                if let Some((outbox, _)) = self.outboxes.get(&id) {
                    send(id, outbox);
                }
            }
            Audience::Hosts { about } => {
                let about_is_host = self.hosts.contains(&about);
                let others = (!about_is_host).then_some(about);
                for id in self.hosts.iter().copied().chain(others) {
                    if let Some((outbox, _)) = self.outboxes.get(&id) {
                        send(id, outbox);
                    }
                }
            }
        }
        if let Event::ParticipantLeft {
            client_uuid,
            reason,
            ..
        } = event
            && !matches!(
                reason,
                LeaveReason::MeetingEnded | LeaveReason::ServerShutdown
            )
        {
            // They heard about their own leave (its reason); nothing more goes to them, and
            // their call is given back. (When the meeting ends, they hear that too first.)
            self.outboxes.remove(client_uuid);
            self.hosts.retain(|h| h != client_uuid);
        }
    }

    fn update_summary(&self) {
        let mut summary = self
            .summary
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        summary.locked = self.meeting.locked();
        summary.participants = self.outboxes.len() as u32;
    }

    /// The meeting ended: later messages get "ended" (joins start the meeting again).
    fn finish(&mut self, inbox: &mut mpsc::Receiver<Message>) {
        let setup = self.meeting.setup();
        self.plenum.inner.live.remove(&setup.number, setup.session);
        inbox.close();
        while let Ok(message) = inbox.try_recv() {
            match message {
                Message::Join { reply, .. } => {
                    let _ = reply.send(JoinReply::Ended);
                }
                Message::Apply { reply, .. } => {
                    if let Some(reply) = reply {
                        let _ = reply.send(Err(ServiceError::MeetingNotRunning));
                    }
                }
                Message::Snapshot { .. } => {}
            }
        }
        // Anyone still registered (their leave was not durable) no longer holds a call.
        self.outboxes.clear();
    }
}

/// When a meeting that ran into its end time ended: the end time itself.
fn setup_end(meeting: &LiveMeeting, now: Timestamp) -> Timestamp {
    meeting.end_time().map_or(now, |end| end.min(now))
}

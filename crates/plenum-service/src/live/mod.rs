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

mod control;
pub(crate) mod egress;
mod join;
mod leases;
mod media;
mod rtmp;
mod watch;
pub(crate) use watch::ViewerRate;
pub use watch::{VIEWERS_PER_ADDRESS, WatchStatus, Watching};

mod registry;
mod task;

pub(crate) use registry::Registry;
use registry::{CallSlot, MeetingHandle};
use task::{Actor, JoinReply, Message};

pub use media::{IceServer, MediaOffer, MediaPush, MediaService, MediaSettings};
use media::{MediaControl, MediaHandle};

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;

use plenum_domain::history::{DeviceType, MediaType};
use plenum_domain::ids::{AttendanceId, CompanyId, SessionId, UserId};
use plenum_domain::live::{
    Command, Event, JoinRefusal, LeaveReason, LiveMeeting, LiveStream, Overlay, Participant,
};
use plenum_domain::schedule::MeetingNumber;

use crate::{Principal, ServiceError};

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
    /// Media signalling for this participant (it waits for no disk).
    Media(Arc<MediaPush>),
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
    /// The meeting runs on another node, the holder of its lease: the join is for it.
    #[error("the meeting runs on another node of this installation ({})", .0.address)]
    Elsewhere(plenum_domain::nodes::NodeRef),
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
    /// Viewers of its live stream now (they are not participants).
    pub viewers: u32,
    /// Whether this holding was recorded (its recordings are worth looking up).
    pub recorded: bool,
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
            // The media task counts viewers; the meeting task fills them in.
            viewers: 0,
            recorded: false,
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
    /// Viewers of its live stream (they are not participants).
    pub viewers: u32,
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

    /// The client's offer for its publish connection; returns the server's answer.
    pub async fn publish(&self, offer: String) -> Result<String, ServiceError> {
        let participant = self.id;
        self.media()?
            .ask(|reply| MediaControl::Publish {
                participant,
                offer,
                reply,
            })
            .await
    }

    /// The client's answer to the subscribe offer of `version`.
    pub async fn subscribe_answer(&self, version: u64, answer: String) -> Result<(), ServiceError> {
        let participant = self.id;
        self.media()?
            .ask(|reply| MediaControl::SubscribeAnswer {
                participant,
                version,
                answer,
                reply,
            })
            .await
    }

    /// A candidate the client trickles (optional: ICE-lite learns them from its checks).
    pub async fn ice_candidate(
        &self,
        connection: plenum_media::Connection,
        candidate: String,
    ) -> Result<(), ServiceError> {
        let participant = self.id;
        self.media()?
            .ask(|reply| MediaControl::Candidate {
                participant,
                connection,
                candidate,
                reply,
            })
            .await
    }

    fn media(&self) -> Result<&MediaHandle, ServiceError> {
        self.meeting
            .media
            .as_ref()
            .ok_or(ServiceError::MediaUnavailable)
    }
}

/// A successful join.
#[derive(Debug)]
pub struct Joined {
    pub link: ParticipantLink,
    pub session: SessionId,
    pub snapshot: MeetingSnapshot,
}

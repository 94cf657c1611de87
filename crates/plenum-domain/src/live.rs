//! A running meeting: the state machine that every join, leave and host action goes through.
//!
//! [`LiveMeeting::apply`] takes a [`Command`] and the current instant and returns the
//! [`Event`]s it caused, or why it was refused. It performs no I/O: the live runtime owns one
//! `LiveMeeting` per running meeting, makes the events durable, then pushes them to clients
//! (the sans-IO style of str0m). Every rule about who may enter and what a host action does
//! lives here, so it is tested without a server.
//!
//! Which meeting a number opens, and whether its schedule's window is open, is decided before
//! a meeting runs: see [`JoinWindow`].

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::error::{Field, Rule, ValidationError};
use crate::history::{DeviceType, MediaType};
use crate::ids::{AttendanceId, CompanyId, RoomId, ScheduleId, SessionId, UserId};
use crate::schedule::{MeetingNumber, MeetingPassword, WatermarkType};
use crate::text;

/// The largest number of video tiles a layout may show (FRTC `max_views`).
pub const MAX_VIEWS: u8 = 19;
/// The longest overlay text.
pub const MAX_OVERLAY_CHARS: usize = 256;
/// The longest display name.
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;

/// What a meeting is while it runs: fixed when its session starts (except the end time,
/// which hosts may move).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingSetup {
    pub session: SessionId,
    pub company: CompanyId,
    pub number: MeetingNumber,
    pub name: String,
    pub owner: UserId,
    pub owner_name: String,
    pub room: Option<RoomId>,
    pub schedule: Option<ScheduleId>,
    pub password: Option<MeetingPassword>,
    pub guest_dial_in: bool,
    pub watermark: bool,
    pub watermark_type: WatermarkType,
    pub mute_upon_entry: bool,
    /// When the meeting ends by itself; `None` for a room, which runs until its last
    /// participant leaves or a host stops it.
    pub end_time: Option<Timestamp>,
    /// The most participants at once.
    pub max_participants: u32,
    /// How long a participant may stay silent (no heartbeat) before counting as gone.
    pub heartbeat_timeout: SignedDuration,
    /// The URL viewers of a live stream open, and its default passcode.
    pub live_url: String,
    pub live_passcode: Option<String>,
    /// Users invited to the meeting.
    pub invitees: Vec<UserId>,
}

/// Whether a scheduled meeting may be entered at an instant: from `time_to_join` minutes
/// before its start until its end. Rooms are always open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinWindow {
    pub opens_at: Timestamp,
    pub closes_at: Timestamp,
}

impl JoinWindow {
    pub fn for_schedule(start: Timestamp, end: Timestamp, time_to_join_minutes: u32) -> Self {
        let early = SignedDuration::from_mins(i64::from(time_to_join_minutes));
        Self {
            opens_at: start.checked_sub(early).unwrap_or(start),
            closes_at: end,
        }
    }

    pub fn check(&self, now: Timestamp) -> Result<(), JoinRefusal> {
        if now < self.opens_at {
            Err(JoinRefusal::NotOpenYet {
                opens_at: self.opens_at,
            })
        } else if now >= self.closes_at {
            Err(JoinRefusal::Ended)
        } else {
            Ok(())
        }
    }
}

/// What decides whose video one viewer is shown: the pins, the lecturer and the viewer's
/// layout (FRTC `pin`, `lecturer`, `layout_change`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewRule {
    pub own_pin: Option<AttendanceId>,
    pub meeting_pin: Option<AttendanceId>,
    pub lecturer: Option<AttendanceId>,
    pub max_views: u8,
}

impl ViewRule {
    /// Whose video the viewer is shown, in the order to show it, among `senders` (those who
    /// send video, in the order they joined): the viewer's own pin, the meeting's pin, the
    /// lecturer, then the other senders in join order; never the viewer itself, at most
    /// `max_views`. The SFU sends the viewer these participants' video only, so bandwidth
    /// follows the layout. Only senders count: a layout of 9 in a lecture shows the lecturer,
    /// not the first 9 viewers to arrive.
    pub fn shown(
        &self,
        viewer: AttendanceId,
        senders: &std::collections::BTreeSet<AttendanceId>,
    ) -> Vec<AttendanceId> {
        let max = usize::from(self.max_views);
        let first = [self.own_pin, self.meeting_pin, self.lecturer]
            .into_iter()
            .flatten()
            .filter(|id| senders.contains(id));
        let mut shown = Vec::with_capacity(max.min(senders.len()));
        for id in first.chain(senders.iter().copied()) {
            if shown.len() >= max {
                break;
            }
            if id != viewer && !shown.contains(&id) {
                shown.push(id);
            }
        }
        shown
    }
}

/// Whether a join at `now` may start a scheduled meeting (the running meeting's own rules
/// then decide the join itself). In this order, so that a join without the password learns
/// nothing more than `wrong_password`: not when the meeting opens, nor that it is over.
/// - the password;
/// - the window: an instant meeting is open from its creation until its end; the others from
///   `time_to_join` minutes before their start until their end;
/// - how its last session ended: a host may have ended it for good before its end time
///   (`last_end`, if it was held before).
pub fn schedule_admits(
    schedule: &crate::schedule::Schedule,
    password: Option<&str>,
    last_end: Option<EndReason>,
    now: Timestamp,
) -> Result<(), JoinRefusal> {
    if !MeetingPassword::admits(schedule.settings.password.as_ref(), password) {
        return Err(JoinRefusal::WrongPassword);
    }
    let window = match schedule.kind {
        crate::schedule::MeetingKind::Instant => JoinWindow {
            opens_at: schedule.created_at.min(schedule.slot.start),
            closes_at: schedule.slot.end,
        },
        _ => JoinWindow::for_schedule(
            schedule.slot.start,
            schedule.slot.end,
            schedule.settings.time_to_join_minutes,
        ),
    };
    window.check(now)?;
    if last_end.is_some_and(EndReason::closes_schedule) {
        return Err(JoinRefusal::Ended);
    }
    Ok(())
}

/// Who is joining, as the server established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A signed-in user of the meeting's company. `host` is true for the meeting's owner and
    /// the company's MeetingOperators and SystemAdmins.
    User { id: UserId, host: bool },
    /// Anyone else: no account, or an account of another company.
    Guest,
}

impl Identity {
    pub fn user(&self) -> Option<UserId> {
        match self {
            Identity::User { id, .. } => Some(*id),
            Identity::Guest => None,
        }
    }

    pub fn is_host(&self) -> bool {
        matches!(self, Identity::User { host: true, .. })
    }
}

/// A request to enter the meeting. The id is chosen by the runtime (a fresh UUIDv7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRequest {
    pub id: AttendanceId,
    pub identity: Identity,
    pub password: Option<String>,
    pub display_name: String,
    pub device_type: DeviceType,
    pub media_type: MediaType,
    pub call_number: String,
    pub department: String,
    /// `Some(max_calls)` when the server has no call free for this join. The meeting's own
    /// refusals (guests, password, lock, its size) come first: a join the meeting would
    /// refuse anyway is told why, not that the server is full.
    pub server_full: Option<u32>,
}

/// Why a join was refused. Each has its own code on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoinRefusal {
    #[error("no meeting has this number")]
    UnknownMeeting,
    #[error("the password is wrong")]
    WrongPassword,
    #[error("the meeting is locked")]
    Locked,
    #[error("the meeting is not open yet")]
    NotOpenYet { opens_at: Timestamp },
    #[error("the meeting has ended")]
    Ended,
    #[error("the meeting is full")]
    MeetingFull { max: u32 },
    #[error("the server has reached its maximum number of calls")]
    ServerFull { max: u32 },
    #[error("guests may not join this meeting")]
    GuestsNotAllowed,
    /// Too many wrong passwords for this meeting from the joiner's address.
    #[error("too many wrong passwords; try again later")]
    TooManyAttempts { retry_at: Timestamp },
}

impl JoinRefusal {
    /// The reason code of the client protocol.
    pub fn code(&self) -> &'static str {
        match self {
            JoinRefusal::UnknownMeeting => "unknown_meeting",
            JoinRefusal::WrongPassword => "wrong_password",
            JoinRefusal::Locked => "meeting_locked",
            JoinRefusal::NotOpenYet { .. } => "not_open_yet",
            JoinRefusal::Ended => "meeting_ended",
            JoinRefusal::MeetingFull { .. } => "meeting_full",
            JoinRefusal::ServerFull { .. } => "server_full",
            JoinRefusal::GuestsNotAllowed => "guests_not_allowed",
            JoinRefusal::TooManyAttempts { .. } => "too_many_attempts",
        }
    }
}

/// A text shown over the meeting's video (FRTC overlay).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overlay {
    pub content: String,
    /// How many times the text runs; 0 means until it is stopped.
    pub repeat: u32,
    /// Vertical position in percent of the picture height, 0 (top) to 100 (bottom).
    pub position: u8,
    pub enable_scroll: bool,
}

impl Overlay {
    pub fn new(
        content: &str,
        repeat: u32,
        position: u32,
        enable_scroll: bool,
    ) -> Result<Self, ValidationError> {
        let content = content.trim();
        if content.is_empty() {
            return Err(ValidationError::breaks(
                Rule::Empty,
                Field::OverlayContent,
                "must not be empty",
            ));
        }
        if content.chars().count() > MAX_OVERLAY_CHARS {
            return Err(ValidationError::breaks(
                Rule::TooLong,
                Field::OverlayContent,
                format!("must be at most {MAX_OVERLAY_CHARS} characters"),
            ));
        }
        if content.chars().any(char::is_control) {
            return Err(ValidationError::breaks(
                Rule::Characters,
                Field::OverlayContent,
                "must not contain control characters",
            ));
        }
        let position = u8::try_from(position)
            .ok()
            .filter(|p| *p <= 100)
            .ok_or_else(|| {
                ValidationError::breaks(
                    Rule::OutOfRange,
                    Field::OverlayPosition,
                    "must be 0 to 100",
                )
            })?;
        Ok(Self {
            content: content.to_owned(),
            repeat,
            position,
            enable_scroll,
        })
    }
}

/// How a participant's screen arranges the video of others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LayoutMode {
    /// The server chooses (speaker when one talks, gallery otherwise).
    Auto,
    /// Equal tiles.
    Gallery,
    /// The active speaker large, others small.
    Speaker,
}

impl LayoutMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LayoutMode::Auto => "auto",
            LayoutMode::Gallery => "gallery",
            LayoutMode::Speaker => "speaker",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(LayoutMode::Auto),
            "gallery" => Ok(LayoutMode::Gallery),
            "speaker" => Ok(LayoutMode::Speaker),
            _ => Err(ValidationError::breaks(
                Rule::NotAChoice,
                Field::Layout,
                "must be auto, gallery or speaker",
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Layout {
    pub max_views: u8,
    pub mode: LayoutMode,
}

impl Layout {
    pub const DEFAULT: Layout = Layout {
        max_views: 9,
        mode: LayoutMode::Auto,
    };

    pub fn new(max_views: u32, mode: LayoutMode) -> Result<Self, ValidationError> {
        Ok(Self {
            max_views: Self::parse_max_views(max_views)?,
            mode,
        })
    }

    /// How many participants a view shows at most: 1 to 19.
    pub fn parse_max_views(max_views: u32) -> Result<u8, ValidationError> {
        u8::try_from(max_views)
            .ok()
            .filter(|v| (1..=MAX_VIEWS).contains(v))
            .ok_or_else(|| {
                ValidationError::breaks(Rule::OutOfRange, Field::MaxViews, "must be 1 to 19")
            })
    }
}

/// A display name as participants give it or hosts set it.
pub fn parse_display_name(raw: &str) -> Result<String, ValidationError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(ValidationError::breaks(
            Rule::Empty,
            Field::DisplayName,
            "must not be empty",
        ));
    }
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(ValidationError::breaks(
            Rule::TooLong,
            Field::DisplayName,
            format!("must be at most {MAX_DISPLAY_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ValidationError::breaks(
            Rule::Characters,
            Field::DisplayName,
            "must not contain control characters",
        ));
    }
    // Others read this name in their participant list: it may not reorder how the text
    // around it is shown, nor be nothing but invisible characters.
    if name.chars().any(text::is_bidi_control) {
        return Err(ValidationError::breaks(
            Rule::Characters,
            Field::DisplayName,
            "must not contain bidirectional formatting characters",
        ));
    }
    if name
        .chars()
        .all(|c| c.is_whitespace() || text::is_invisible(c))
    {
        return Err(ValidationError::breaks(
            Rule::Empty,
            Field::DisplayName,
            "must have a visible character",
        ));
    }
    Ok(name.to_owned())
}

/// One person (or device) in the meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Participant {
    pub id: AttendanceId,
    #[serde(skip)]
    pub identity: Identity,
    pub display_name: String,
    pub device_type: DeviceType,
    pub media_type: MediaType,
    #[serde(skip)]
    pub call_number: String,
    #[serde(skip)]
    pub department: String,
    pub mute_audio: bool,
    pub mute_video: bool,
    /// Whether the participant may unmute their own audio.
    pub may_unmute_self: bool,
    /// Asked the hosts to be allowed to speak, not yet answered.
    pub unmute_requested: bool,
    /// Whose video this participant's view pins (FRTC "pin for participant").
    pub pinned: Option<AttendanceId>,
    pub layout: Layout,
    pub joined_at: Timestamp,
    /// The last time the participant's client was heard from.
    #[serde(skip)]
    pub last_seen: Timestamp,
}

/// What kind of participant someone is, as meeting details show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParticipantKind {
    /// Signed in to the meeting's company.
    User,
    Guest,
    /// A SIP/H.323 gateway or cascaded meeting.
    Gateway,
}

impl Participant {
    pub fn is_guest(&self) -> bool {
        matches!(self.identity, Identity::Guest)
    }

    pub fn kind(&self) -> ParticipantKind {
        match (&self.identity, self.device_type) {
            (_, DeviceType::Gateway) => ParticipantKind::Gateway,
            (Identity::Guest, _) => ParticipantKind::Guest,
            (Identity::User { .. }, _) => ParticipantKind::User,
        }
    }
}

/// Live streaming while it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveStream {
    pub url: String,
    pub passcode: Option<String>,
}

/// Why someone is no longer in the meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// The participant left.
    Left,
    /// The connection closed without a leave.
    ConnectionClosed,
    /// Nothing was heard from the participant for longer than the heartbeat timeout.
    HeartbeatTimeout,
    /// A host disconnected the participant.
    Disconnected,
    /// The meeting ended.
    MeetingEnded,
    /// The server could not deliver to the participant fast enough.
    TooSlow,
    /// The server shut down.
    ServerShutdown,
}

impl LeaveReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LeaveReason::Left => "left",
            LeaveReason::ConnectionClosed => "connection_closed",
            LeaveReason::HeartbeatTimeout => "heartbeat_timeout",
            LeaveReason::Disconnected => "disconnected",
            LeaveReason::MeetingEnded => "meeting_ended",
            LeaveReason::TooSlow => "too_slow",
            LeaveReason::ServerShutdown => "server_shutdown",
        }
    }
}

/// Why a meeting ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// A host stopped it (FRTC stop); `rejoin` says whether it may be joined again.
    Stopped { rejoin: bool },
    /// Its end time came.
    EndTimeReached,
    /// The last participant left.
    Empty,
    /// The server shut down (or, found on the next start, crashed).
    ServerShutdown,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Stopped { rejoin: true } => "stopped",
            EndReason::Stopped { rejoin: false } => "stopped_no_rejoin",
            EndReason::EndTimeReached => "end_time_reached",
            EndReason::Empty => "empty",
            EndReason::ServerShutdown => "server_shutdown",
        }
    }

    /// Every reason, for reading one back from the record.
    const ALL: [EndReason; 5] = [
        EndReason::Stopped { rejoin: true },
        EndReason::Stopped { rejoin: false },
        EndReason::EndTimeReached,
        EndReason::Empty,
        EndReason::ServerShutdown,
    ];

    /// The reason an `as_str` names.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.as_str() == name)
    }

    /// Whether a scheduled meeting that ended so is over for good: stopped without rejoin,
    /// or at its end time (which a host may have moved earlier than the schedule's).
    pub fn closes_schedule(self) -> bool {
        matches!(
            self,
            EndReason::Stopped { rejoin: false } | EndReason::EndTimeReached
        )
    }

    /// Whether clients may join the same meeting number again right away. A room reopens
    /// at its end time (it has none of its own); a host's "no rejoin" holds for both.
    pub fn rejoin(self, scheduled: bool) -> bool {
        match self {
            EndReason::Stopped { rejoin } => rejoin,
            _ => !(scheduled && self.closes_schedule()),
        }
    }
}

/// Everything that can be asked of a running meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Join(Box<JoinRequest>),
    Leave {
        participant: AttendanceId,
        reason: LeaveReason,
    },
    /// The participant's client was heard from.
    Heartbeat {
        participant: AttendanceId,
    },
    /// A participant changes their own mute state. Unmuting audio needs permission while
    /// the hosts keep the participant muted.
    SetOwnMute {
        participant: AttendanceId,
        audio: Option<bool>,
        video: Option<bool>,
    },
    /// A muted participant asks to speak.
    RequestUnmute {
        participant: AttendanceId,
    },
    MuteAll {
        allow_self_unmute: bool,
        exclusions: Vec<AttendanceId>,
    },
    UnmuteAll,
    Mute {
        participants: Vec<AttendanceId>,
        allow_self_unmute: bool,
    },
    Unmute {
        participants: Vec<AttendanceId>,
    },
    AllowUnmute {
        participants: Vec<AttendanceId>,
    },
    Stop {
        rejoin: bool,
    },
    StartOverlay(Overlay),
    StopOverlay,
    SetLecturer(AttendanceId),
    UnsetLecturer,
    Disconnect {
        participants: Vec<AttendanceId>,
    },
    DisconnectAll,
    SetEndTime(Timestamp),
    Rename {
        participant: AttendanceId,
        display_name: String,
    },
    StartRecording,
    StopRecording,
    /// The recorder could not go on (a full disk, an unreachable object store): recording
    /// stops, and everyone learns why.
    RecordingFailed {
        reason: String,
    },
    StartLive {
        passcode: Option<String>,
    },
    StopLive,
    /// What `viewer` sees pinned; `None` unpins.
    PinForParticipant {
        viewer: AttendanceId,
        pinned: Option<AttendanceId>,
    },
    /// The participant everyone sees pinned; `None` unpins.
    PinForMeeting(Option<AttendanceId>),
    /// What `viewer` sees laid out; a part left out (`None`) stays as it is.
    ChangeLayout {
        viewer: AttendanceId,
        max_views: Option<u8>,
        mode: Option<LayoutMode>,
    },
    Lock,
    Unlock,
    /// Time passes: ends the meeting at its end time, drops the silent.
    Tick,
    /// The server is shutting down.
    Shutdown,
}

impl Command {
    /// Whether this is something hosts do to a meeting (FRTC Meeting Control), as opposed to
    /// what participants do for themselves and what the runtime does.
    pub fn is_host_control(&self) -> bool {
        !matches!(
            self,
            Command::Join(_)
                | Command::Leave { .. }
                | Command::Heartbeat { .. }
                | Command::SetOwnMute { .. }
                | Command::RequestUnmute { .. }
                | Command::Tick
                | Command::Shutdown
        )
    }
}

/// Who an event concerns: every client of the meeting, or one participant's client only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    Only(AttendanceId),
    /// The hosts present (and the participant it is about).
    Hosts {
        about: AttendanceId,
    },
}

/// What happened. Every change of a running meeting is one of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    ParticipantJoined {
        participant: Box<Participant>,
    },
    ParticipantLeft {
        client_uuid: AttendanceId,
        reason: LeaveReason,
        /// When the participant counts as gone (for a heartbeat timeout: last heard from).
        #[serde(skip)]
        left_at: Timestamp,
    },
    MuteChanged {
        client_uuid: AttendanceId,
        mute_audio: bool,
        mute_video: bool,
        may_unmute_self: bool,
    },
    /// Everyone but `except` is muted (audio), with this permission to unmute themselves.
    AllMuted {
        may_unmute_self: bool,
        except: Vec<AttendanceId>,
    },
    /// Everyone is unmuted (audio) and may unmute themselves again.
    AllUnmuted,
    UnmuteRequested {
        client_uuid: AttendanceId,
    },
    UnmuteAllowed {
        client_uuid: AttendanceId,
    },
    OverlayChanged {
        overlay: Option<Overlay>,
    },
    LecturerChanged {
        client_uuid: Option<AttendanceId>,
    },
    EndTimeChanged {
        end_time: Option<Timestamp>,
    },
    ParticipantRenamed {
        client_uuid: AttendanceId,
        display_name: String,
    },
    RecordingChanged {
        recording: bool,
        /// Why recording stopped on its own, when it failed.
        failure: Option<String>,
    },
    LiveChanged {
        live: Option<LiveStream>,
    },
    MeetingPinChanged {
        client_uuid: Option<AttendanceId>,
    },
    ParticipantPinChanged {
        viewer: AttendanceId,
        pinned: Option<AttendanceId>,
    },
    LayoutChanged {
        viewer: AttendanceId,
        layout: Layout,
    },
    LockChanged {
        locked: bool,
    },
    MeetingEnded {
        reason: EndReason,
        /// Whether the meeting's number may be joined again right away.
        rejoin: bool,
    },
}

impl Event {
    pub fn kind(&self) -> &'static str {
        match self {
            Event::ParticipantJoined { .. } => "participant_joined",
            Event::ParticipantLeft { .. } => "participant_left",
            Event::MuteChanged { .. } => "mute_changed",
            Event::AllMuted { .. } => "all_muted",
            Event::AllUnmuted => "all_unmuted",
            Event::UnmuteRequested { .. } => "unmute_requested",
            Event::UnmuteAllowed { .. } => "unmute_allowed",
            Event::OverlayChanged { .. } => "overlay_changed",
            Event::LecturerChanged { .. } => "lecturer_changed",
            Event::EndTimeChanged { .. } => "end_time_changed",
            Event::ParticipantRenamed { .. } => "participant_renamed",
            Event::RecordingChanged { .. } => "recording_changed",
            Event::LiveChanged { .. } => "live_changed",
            Event::MeetingPinChanged { .. } => "meeting_pin_changed",
            Event::ParticipantPinChanged { .. } => "participant_pin_changed",
            Event::LayoutChanged { .. } => "layout_changed",
            Event::LockChanged { .. } => "lock_changed",
            Event::MeetingEnded { .. } => "meeting_ended",
        }
    }

    pub fn audience(&self) -> Audience {
        match self {
            Event::ParticipantPinChanged { viewer, .. } | Event::LayoutChanged { viewer, .. } => {
                Audience::Only(*viewer)
            }
            Event::UnmuteRequested { client_uuid } => Audience::Hosts {
                about: *client_uuid,
            },
            _ => Audience::Everyone,
        }
    }
}

/// Why a command other than a join was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("no participant {0} is in the meeting")]
    UnknownParticipant(AttendanceId),
    #[error("the meeting has ended")]
    Ended,
    #[error("the hosts keep this participant muted; ask to be unmuted first")]
    UnmuteNotAllowed,
    #[error("the participant is not muted")]
    NotMuted,
    #[error("the meeting is already being recorded")]
    AlreadyRecording,
    #[error("the meeting is not being recorded")]
    NotRecording,
    #[error("the meeting is already streamed live with this passcode")]
    AlreadyLive,
    #[error("the meeting is not streamed live")]
    NotLive,
    #[error("{0}")]
    Invalid(ValidationError),
}

/// The result of a command: the events it caused, or why it did nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied(Vec<Event>),
    JoinRefused(JoinRefusal),
    Refused(ControlError),
}

/// A running meeting.
#[derive(Debug, Clone)]
pub struct LiveMeeting {
    setup: MeetingSetup,
    started_at: Timestamp,
    end_time: Option<Timestamp>,
    locked: bool,
    recording: bool,
    live: Option<LiveStream>,
    overlay: Option<Overlay>,
    lecturer: Option<AttendanceId>,
    pinned: Option<AttendanceId>,
    /// By id; ids are UUIDv7, so this is join order.
    participants: BTreeMap<AttendanceId, Participant>,
    peak: u32,
    ended: Option<EndReason>,
}

impl LiveMeeting {
    pub fn new(setup: MeetingSetup, now: Timestamp) -> Self {
        Self {
            end_time: setup.end_time,
            setup,
            started_at: now,
            locked: false,
            recording: false,
            live: None,
            overlay: None,
            lecturer: None,
            pinned: None,
            participants: BTreeMap::new(),
            peak: 0,
            ended: None,
        }
    }

    pub fn setup(&self) -> &MeetingSetup {
        &self.setup
    }
    pub fn started_at(&self) -> Timestamp {
        self.started_at
    }
    pub fn end_time(&self) -> Option<Timestamp> {
        self.end_time
    }
    pub fn locked(&self) -> bool {
        self.locked
    }
    pub fn recording(&self) -> bool {
        self.recording
    }
    pub fn live(&self) -> Option<&LiveStream> {
        self.live.as_ref()
    }
    pub fn overlay(&self) -> Option<&Overlay> {
        self.overlay.as_ref()
    }
    pub fn lecturer(&self) -> Option<AttendanceId> {
        self.lecturer
    }
    pub fn pinned(&self) -> Option<AttendanceId> {
        self.pinned
    }
    pub fn peak_participants(&self) -> u32 {
        self.peak
    }
    pub fn ended(&self) -> Option<EndReason> {
        self.ended
    }
    pub fn participants(&self) -> impl ExactSizeIterator<Item = &Participant> {
        self.participants.values()
    }
    pub fn participant(&self, id: AttendanceId) -> Option<&Participant> {
        self.participants.get(&id)
    }

    /// What decides whose video `viewer` is shown ([`ViewRule::shown`]); `None` for someone
    /// not in the meeting.
    pub fn view_rule(&self, viewer: AttendanceId) -> Option<ViewRule> {
        let v = self.participants.get(&viewer)?;
        Some(ViewRule {
            own_pin: v.pinned,
            meeting_pin: self.pinned,
            lecturer: self.lecturer,
            max_views: v.layout.max_views,
        })
    }

    /// Applies one command at `now`.
    pub fn apply(&mut self, command: Command, now: Timestamp) -> Outcome {
        if self.ended.is_some() {
            return match command {
                Command::Join(_) => Outcome::JoinRefused(JoinRefusal::Ended),
                Command::Tick | Command::Shutdown | Command::Heartbeat { .. } => {
                    Outcome::Applied(Vec::new())
                }
                _ => Outcome::Refused(ControlError::Ended),
            };
        }
        match self.apply_running(command, now) {
            Ok(events) => Outcome::Applied(events),
            Err(Refusal::Join(r)) => Outcome::JoinRefused(r),
            Err(Refusal::Control(e)) => Outcome::Refused(e),
        }
    }

    fn apply_running(&mut self, command: Command, now: Timestamp) -> Result<Vec<Event>, Refusal> {
        let mut events = Vec::new();
        match command {
            Command::Join(request) => self.join(*request, now, &mut events)?,
            Command::Leave {
                participant,
                reason,
            } => {
                self.known(participant)?;
                self.remove(participant, reason, now, &mut events);
                self.end_if_empty(&mut events);
            }
            Command::Heartbeat { participant } => {
                let p = self.known_mut(participant)?;
                p.last_seen = p.last_seen.max(now);
            }
            Command::SetOwnMute {
                participant,
                audio,
                video,
            } => {
                let p = self.known_mut(participant)?;
                if audio == Some(false) && p.mute_audio && !p.may_unmute_self {
                    return Err(ControlError::UnmuteNotAllowed.into());
                }
                let (a, v) = (audio.unwrap_or(p.mute_audio), video.unwrap_or(p.mute_video));
                Self::set_mute_of(p, a, v, p.may_unmute_self, &mut events);
            }
            Command::RequestUnmute { participant } => {
                let p = self.known_mut(participant)?;
                if !p.mute_audio {
                    return Err(ControlError::NotMuted.into());
                }
                p.unmute_requested = true;
                events.push(Event::UnmuteRequested {
                    client_uuid: participant,
                });
            }
            // One event for the whole meeting, not one per participant: in a meeting of n,
            // n events to n clients would be n² messages.
            Command::MuteAll {
                allow_self_unmute,
                exclusions,
            } => {
                let exclusions: BTreeSet<AttendanceId> = exclusions
                    .into_iter()
                    .filter(|id| self.participants.contains_key(id))
                    .collect();
                let mut changed = false;
                for p in self.participants.values_mut() {
                    if !exclusions.contains(&p.id) {
                        changed |= Self::set_mute(p, true, p.mute_video, allow_self_unmute);
                    }
                }
                if changed {
                    events.push(Event::AllMuted {
                        may_unmute_self: allow_self_unmute,
                        except: exclusions.into_iter().collect(),
                    });
                }
            }
            Command::UnmuteAll => {
                let mut changed = false;
                for p in self.participants.values_mut() {
                    changed |= Self::set_mute(p, false, p.mute_video, true);
                }
                if changed {
                    events.push(Event::AllUnmuted);
                }
            }
            Command::Mute {
                participants,
                allow_self_unmute,
            } => {
                self.all_known(&participants)?;
                for id in participants {
                    let p = self.known_mut(id)?;
                    Self::set_mute_of(p, true, p.mute_video, allow_self_unmute, &mut events);
                }
            }
            Command::Unmute { participants } => {
                self.all_known(&participants)?;
                for id in participants {
                    let p = self.known_mut(id)?;
                    Self::set_mute_of(p, false, p.mute_video, true, &mut events);
                }
            }
            Command::AllowUnmute { participants } => {
                self.all_known(&participants)?;
                for id in participants {
                    let p = self.known_mut(id)?;
                    let had_permission = p.may_unmute_self;
                    Self::set_mute_of(p, p.mute_audio, p.mute_video, true, &mut events);
                    if !had_permission || p.unmute_requested {
                        p.unmute_requested = false;
                        events.push(Event::UnmuteAllowed { client_uuid: id });
                    }
                }
            }
            Command::Stop { rejoin } => self.end(EndReason::Stopped { rejoin }, now, &mut events),
            Command::StartOverlay(overlay) => {
                self.overlay = Some(overlay.clone());
                events.push(Event::OverlayChanged {
                    overlay: Some(overlay),
                });
            }
            Command::StopOverlay => {
                if self.overlay.take().is_some() {
                    events.push(Event::OverlayChanged { overlay: None });
                }
            }
            Command::SetLecturer(id) => {
                self.known(id)?;
                if self.lecturer != Some(id) {
                    self.lecturer = Some(id);
                    events.push(Event::LecturerChanged {
                        client_uuid: Some(id),
                    });
                }
            }
            Command::UnsetLecturer => {
                if self.lecturer.take().is_some() {
                    events.push(Event::LecturerChanged { client_uuid: None });
                }
            }
            Command::Disconnect { participants } => {
                self.all_known(&participants)?;
                for id in participants {
                    self.remove(id, LeaveReason::Disconnected, now, &mut events);
                }
                self.end_if_empty(&mut events);
            }
            Command::DisconnectAll => {
                let all: Vec<_> = self.participants.keys().copied().collect();
                for id in all {
                    self.remove(id, LeaveReason::Disconnected, now, &mut events);
                }
                self.end_if_empty(&mut events);
            }
            Command::SetEndTime(end) => {
                if end <= now {
                    return Err(ControlError::Invalid(ValidationError::breaks(
                        Rule::EndInPast,
                        Field::EndTime,
                        "must be in the future",
                    ))
                    .into());
                }
                self.end_time = Some(end);
                events.push(Event::EndTimeChanged {
                    end_time: Some(end),
                });
            }
            Command::Rename {
                participant,
                display_name,
            } => {
                let p = self.known_mut(participant)?;
                if p.display_name != display_name {
                    p.display_name.clone_from(&display_name);
                    events.push(Event::ParticipantRenamed {
                        client_uuid: participant,
                        display_name,
                    });
                }
            }
            Command::StartRecording => {
                if self.recording {
                    return Err(ControlError::AlreadyRecording.into());
                }
                self.recording = true;
                events.push(Event::RecordingChanged {
                    recording: true,
                    failure: None,
                });
            }
            Command::StopRecording => {
                if !self.recording {
                    return Err(ControlError::NotRecording.into());
                }
                self.recording = false;
                events.push(Event::RecordingChanged {
                    recording: false,
                    failure: None,
                });
            }
            Command::RecordingFailed { reason } => {
                // Running or just stopped (its files failed to store): everyone learns it.
                self.recording = false;
                events.push(Event::RecordingChanged {
                    recording: false,
                    failure: Some(reason),
                });
            }
            Command::StartLive { passcode } => {
                let live = LiveStream {
                    url: self.setup.live_url.clone(),
                    passcode: passcode.or_else(|| self.setup.live_passcode.clone()),
                };
                if self.live.as_ref() == Some(&live) {
                    return Err(ControlError::AlreadyLive.into());
                }
                // Started again with another passcode: the passcode changes.
                self.live = Some(live.clone());
                events.push(Event::LiveChanged { live: Some(live) });
            }
            Command::StopLive => {
                if self.live.take().is_none() {
                    return Err(ControlError::NotLive.into());
                }
                events.push(Event::LiveChanged { live: None });
            }
            Command::PinForParticipant { viewer, pinned } => {
                if let Some(pinned) = pinned {
                    self.known(pinned)?;
                }
                let p = self.known_mut(viewer)?;
                if p.pinned != pinned {
                    p.pinned = pinned;
                    events.push(Event::ParticipantPinChanged { viewer, pinned });
                }
            }
            Command::PinForMeeting(pinned) => {
                if let Some(pinned) = pinned {
                    self.known(pinned)?;
                }
                if self.pinned != pinned {
                    self.pinned = pinned;
                    events.push(Event::MeetingPinChanged {
                        client_uuid: pinned,
                    });
                }
            }
            Command::ChangeLayout {
                viewer,
                max_views,
                mode,
            } => {
                let p = self.known_mut(viewer)?;
                let layout = Layout {
                    max_views: max_views.unwrap_or(p.layout.max_views),
                    mode: mode.unwrap_or(p.layout.mode),
                };
                if p.layout != layout {
                    p.layout = layout;
                    events.push(Event::LayoutChanged { viewer, layout });
                }
            }
            Command::Lock | Command::Unlock => {
                let locked = command == Command::Lock;
                if self.locked != locked {
                    self.locked = locked;
                    events.push(Event::LockChanged { locked });
                }
            }
            Command::Tick => {
                let timeout = self.setup.heartbeat_timeout;
                // Whoever went silent before the end time left by timeout; the others were
                // still in when the meeting ended.
                let until = self.end_time.map_or(now, |end| end.min(now));
                let silent: Vec<_> = self
                    .participants
                    .values()
                    .filter(|p| until.duration_since(p.last_seen) > timeout)
                    .map(|p| (p.id, p.last_seen))
                    .collect();
                for (id, last_seen) in silent {
                    self.remove(id, LeaveReason::HeartbeatTimeout, last_seen, &mut events);
                }
                match self.end_time {
                    Some(end) if now >= end => {
                        self.end(EndReason::EndTimeReached, end, &mut events)
                    }
                    _ => self.end_if_empty(&mut events),
                }
            }
            Command::Shutdown => self.end(EndReason::ServerShutdown, now, &mut events),
        }
        Ok(events)
    }

    fn join(
        &mut self,
        request: JoinRequest,
        now: Timestamp,
        events: &mut Vec<Event>,
    ) -> Result<(), Refusal> {
        // The password first: without it, a number tells nothing more about its meeting.
        if !MeetingPassword::admits(self.setup.password.as_ref(), request.password.as_deref()) {
            return Err(JoinRefusal::WrongPassword.into());
        }
        if matches!(request.identity, Identity::Guest) && !self.setup.guest_dial_in {
            return Err(JoinRefusal::GuestsNotAllowed.into());
        }
        if self.locked {
            return Err(JoinRefusal::Locked.into());
        }
        if self.participants.len() >= self.setup.max_participants as usize {
            return Err(JoinRefusal::MeetingFull {
                max: self.setup.max_participants,
            }
            .into());
        }
        if let Some(max) = request.server_full {
            return Err(JoinRefusal::ServerFull { max }.into());
        }
        if self.participants.contains_key(&request.id) {
            // Ids are fresh UUIDs; a repeat is a runtime bug, refused rather than merged.
            return Err(ControlError::Invalid(ValidationError::new(
                Field::ClientId,
                "is already in the meeting",
            ))
            .into());
        }
        let muted = self.setup.mute_upon_entry;
        let participant = Participant {
            id: request.id,
            identity: request.identity,
            display_name: request.display_name,
            device_type: request.device_type,
            media_type: request.media_type,
            call_number: request.call_number,
            department: request.department,
            mute_audio: muted,
            mute_video: false,
            may_unmute_self: true,
            unmute_requested: false,
            pinned: None,
            layout: Layout::DEFAULT,
            joined_at: now,
            last_seen: now,
        };
        self.participants
            .insert(participant.id, participant.clone());
        self.peak = self.peak.max(self.participants.len() as u32);
        events.push(Event::ParticipantJoined {
            participant: Box::new(participant),
        });
        Ok(())
    }

    /// Sets a participant's mute state; returns whether anything changed.
    fn set_mute(p: &mut Participant, audio: bool, video: bool, may_unmute_self: bool) -> bool {
        if !audio {
            p.unmute_requested = false;
        }
        let changed =
            (p.mute_audio, p.mute_video, p.may_unmute_self) != (audio, video, may_unmute_self);
        p.mute_audio = audio;
        p.mute_video = video;
        p.may_unmute_self = may_unmute_self;
        changed
    }

    /// [`Self::set_mute`] for one participant, told as a `MuteChanged` event.
    fn set_mute_of(
        p: &mut Participant,
        audio: bool,
        video: bool,
        may_unmute_self: bool,
        events: &mut Vec<Event>,
    ) {
        if Self::set_mute(p, audio, video, may_unmute_self) {
            events.push(Event::MuteChanged {
                client_uuid: p.id,
                mute_audio: audio,
                mute_video: video,
                may_unmute_self,
            });
        }
    }

    fn remove(
        &mut self,
        id: AttendanceId,
        reason: LeaveReason,
        at: Timestamp,
        events: &mut Vec<Event>,
    ) {
        if self.participants.remove(&id).is_none() {
            return;
        }
        if self.lecturer == Some(id) {
            self.lecturer = None;
            events.push(Event::LecturerChanged { client_uuid: None });
        }
        if self.pinned == Some(id) {
            self.pinned = None;
            events.push(Event::MeetingPinChanged { client_uuid: None });
        }
        events.push(Event::ParticipantLeft {
            client_uuid: id,
            reason,
            left_at: at,
        });
        for viewer in self.participants.values_mut() {
            if viewer.pinned == Some(id) {
                viewer.pinned = None;
                events.push(Event::ParticipantPinChanged {
                    viewer: viewer.id,
                    pinned: None,
                });
            }
        }
    }

    fn end_if_empty(&mut self, events: &mut Vec<Event>) {
        if self.participants.is_empty() {
            self.ended = Some(EndReason::Empty);
            events.push(self.ended_event(EndReason::Empty));
        }
    }

    fn end(&mut self, reason: EndReason, at: Timestamp, events: &mut Vec<Event>) {
        let leave = match reason {
            EndReason::ServerShutdown => LeaveReason::ServerShutdown,
            _ => LeaveReason::MeetingEnded,
        };
        let everyone: Vec<_> = self.participants.keys().copied().collect();
        for id in everyone {
            self.remove(id, leave, at, events);
        }
        self.ended = Some(reason);
        events.push(self.ended_event(reason));
    }

    fn ended_event(&self, reason: EndReason) -> Event {
        Event::MeetingEnded {
            reason,
            rejoin: reason.rejoin(self.setup.schedule.is_some()),
        }
    }

    fn known(&self, id: AttendanceId) -> Result<&Participant, Refusal> {
        self.participants
            .get(&id)
            .ok_or(Refusal::Control(ControlError::UnknownParticipant(id)))
    }

    fn known_mut(&mut self, id: AttendanceId) -> Result<&mut Participant, Refusal> {
        self.participants
            .get_mut(&id)
            .ok_or(Refusal::Control(ControlError::UnknownParticipant(id)))
    }

    /// Checks a whole list first, so a command naming one stranger changes nobody.
    fn all_known(&self, ids: &[AttendanceId]) -> Result<(), Refusal> {
        ids.iter().try_for_each(|id| self.known(*id).map(|_| ()))
    }
}

enum Refusal {
    Join(JoinRefusal),
    Control(ControlError),
}

impl From<JoinRefusal> for Refusal {
    fn from(r: JoinRefusal) -> Self {
        Refusal::Join(r)
    }
}

impl From<ControlError> for Refusal {
    fn from(e: ControlError) -> Self {
        Refusal::Control(e)
    }
}

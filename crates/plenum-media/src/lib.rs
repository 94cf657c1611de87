//! Plenum's SFU core, sans-IO: one [`Room`] per running meeting holds a str0m `Rtc` for each
//! of its participants' peer connections and forwards what each publishes to the others.
//!
//! The room never touches a socket or reads a clock: datagrams and time come in as
//! arguments, and everything it wants done comes out of [`Room::poll_output`] (datagrams to
//! send, signalling for a participant, routes for the I/O layer, the next timeout).
//!
//! THE API BELOW IS THE CONTRACT WITH plenum-service.
//!
//! # Design
//!
//! - **Two connections per participant**, each its own ICE-lite `Rtc` with its own ICE
//!   credentials: *publish* (the client offers at most one audio and one video track) and
//!   *subscribe* (the server offers one `sendonly` m-line per track of the others). Only one
//!   subscribe offer is outstanding at a time; changes made meanwhile are offered after the
//!   answer (`room.rs`).
//! - **Forwarding at frame level**: a publish `Rtc`'s `MediaData` is written to each
//!   subscriber's `Rtc`, which packetizes it again with its own sequence numbers, NACK/RTX
//!   and pacing. Each published track keeps the list of its sinks (subscriber, mid), so a
//!   frame costs one map lookup per sink, never a scan of the room (`forward.rs`).
//! - **Routing by maps** (`routing.rs`): datagrams from an address that completed ICE go to
//!   that connection; STUN from an unknown address goes by the ufrag in its USERNAME.
//!   Anything else is dropped. An address counts as having completed ICE once str0m answers
//!   it, which it does only for checks with valid credentials.
//! - **Host controls are enforced here**: a participant's audio or video that is not to be
//!   forwarded is dropped at the SFU, whatever its client sends; a viewer's layout decides
//!   whose video it is sent.
//! - **One bug ends one connection** (`peer.rs`): every call into str0m runs under
//!   `catch_unwind`; a panic or a fatal error closes that connection only.
//! - **Keyframes**: a subscriber's video starts at a keyframe (deltas before it are dropped
//!   for that subscriber) and the publisher is asked for one as soon as the subscriber can
//!   receive; subscribers' PLI/FIR go to the publisher; all requests to one track are
//!   throttled to one per `keyframe_throttle`.
//! - **The recording tap** (`Room::set_tap`): while on, every frame the room would forward
//!   (after the host controls and the bitrate cap, so what is muted is not recorded) also
//!   comes out as [`Output::Frame`], in the order received, the payload shared (`Arc`), not
//!   copied. Like a subscriber, each video track's tapped frames start at a keyframe (when
//!   the tap turns on, after a mute, after frames dropped over the cap) and the publisher is
//!   asked for one; Opus, VP8 and H.264 only. `Room::request_keyframe_of` asks a publisher
//!   for one on the recorder's or the composer's behalf, through the same throttle.
//! - **Live-stream viewers (WHEP)**: seatless subscribers, not participants (no
//!   `max_peers`), each its own ICE-lite `Rtc` (Opus and VP8 only) on the room's port,
//!   routed by the same maps (the routing key names a participant's connection or a
//!   viewer). They are sent the composed stream written with `Room::write_to_viewers`,
//!   video from a keyframe on; a viewer that needs a keyframe (connected, PLI/FIR, a delta
//!   it could not take) raises [`Output::ViewerKeyframeWanted`], throttled room-wide to
//!   one per `keyframe_throttle`, for the composer to ask its source.
//! - **Active speaker** (`speaker.rs`): the RFC 6464 audio level of forwarded audio, smoothed
//!   over about a second, re-evaluated every 250 ms.
//!
//! # Choices worth knowing
//!
//! - A layout change (`set_view`) does not renegotiate: every track keeps its m-line and
//!   the video of those not shown is simply not sent; shown again, it restarts at a keyframe.
//! - A participant's m-lines are offered only once it has published; a participant with
//!   nothing to receive has no subscribe connection.
//! - Past `max_peers`, a participant added has no media at all (its `publish` is
//!   `RoomFull`); it is not promoted when someone with media leaves.
//! - A connection closed for `Timeout` is not reopened by the room until the tracks the
//!   participant receives change; one closed for `Failed` (subscribe) gets a fresh offer at
//!   once.

pub mod route_key;
pub use route_key::stun_ufrag;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

mod forward;
mod peer;
mod room;
mod routing;
mod sdp;
mod speaker;

pub use room::Room;

use std::sync::Arc;

/// A live-stream viewer (a WHEP session), named by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ViewerId(pub u64);

/// One frame of the composed live stream, for [`Room::write_to_viewers`]: Opus audio or VP8
/// video, timed on the composition's own clock.
#[derive(Debug, Clone)]
pub struct ViewerSample {
    pub kind: Kind,
    pub data: Arc<[u8]>,
    /// In the codec clock: 48 kHz for audio, 90 kHz for video.
    pub rtp_time: u64,
    pub keyframe: bool,
}

/// How the SFU behaves; one per server, copied into each room.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// The address the UDP socket is bound to: the `destination` of every datagram that
    /// arrives and the `source` of every datagram sent.
    pub local: SocketAddr,
    /// The addresses given to clients as host candidates (`media.advertise`; by default
    /// `local`).
    pub advertise: Vec<SocketAddr>,
    /// Most participants with media in one room.
    pub max_peers: usize,
    /// A track sending above this many bits per second has the excess dropped.
    pub max_video_bitrate: u64,
    pub max_audio_bitrate: u64,
    /// Keyframe requests to one publisher's track are sent at most this often.
    pub keyframe_throttle: Duration,
}

/// One of a participant's two peer connections (docs/client-protocol.md, "Media").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Connection {
    /// What the participant sends: the client offers, the server answers.
    Publish,
    /// What the participant receives: the server offers, the client answers.
    Subscribe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Audio,
    Video,
}

/// One m-line of a subscribe offer that carries a track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackInfo<P> {
    pub mid: String,
    pub participant: P,
    pub kind: Kind,
}

/// Signalling for one participant, to send over its WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal<P> {
    /// A new offer for the subscribe connection (the first, or a renegotiation).
    Subscribe {
        version: u64,
        sdp: String,
        tracks: Vec<TrackInfo<P>>,
    },
    /// The server ended one of the participant's connections.
    MediaClosed {
        connection: Connection,
        reason: CloseReason,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The connection's media panicked or failed inside str0m; the rest of the room goes on.
    Failed,
    /// No connectivity for too long.
    Timeout,
}

/// What the I/O layer must route to this room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// STUN whose username starts with this ufrag (`<ours>:<theirs>`) belongs to this room.
    AddUfrag(String),
    RemoveUfrag(String),
    /// Every datagram from this address belongs to this room (it completed ICE here).
    AddAddress(SocketAddr),
    RemoveAddress(SocketAddr),
}

#[derive(Debug)]
pub enum Output<P> {
    Transmit {
        source: SocketAddr,
        destination: SocketAddr,
        contents: Vec<u8>,
    },
    Signal(P, Signal<P>),
    Route(Route),
    /// The loudest participant changed (from the audio level header extension).
    ActiveSpeaker(Option<P>),
    /// A frame the room forwards, while the recording tap is on ([`Room::set_tap`]).
    Frame {
        participant: P,
        kind: Kind,
        frame: plenum_record::Frame,
    },
    /// The room closed a viewer's connection (no connectivity for too long, or it failed);
    /// not said for [`Room::remove_viewer`] and [`Room::remove_all_viewers`].
    ViewerClosed(ViewerId),
    /// A viewer needs a keyframe of the composed stream's video: ask its current source
    /// ([`Room::request_keyframe_of`]).
    ViewerKeyframeWanted,
    /// Nothing more until this instant or the next input.
    Timeout(Instant),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignalError {
    #[error("not an SDP offer or answer that can be used: {0}")]
    InvalidSdp(String),
    #[error("more than one audio or one video track sent")]
    TooManyTracks,
    #[error("the room has its most participants with media")]
    RoomFull,
    #[error("the participant has no media here")]
    UnknownParticipant,
    #[error("the answer is to an older offer")]
    StaleAnswer,
    #[error("no subscribe offer is waiting for an answer")]
    NoOfferPending,
}

/// Counters of a room, for stats and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoomStats {
    pub datagrams_in: u64,
    pub datagrams_dropped: u64,
    pub frames_forwarded: u64,
    pub bytes_forwarded: u64,
    pub keyframe_requests: u64,
    /// Frames that came out of the recording tap.
    pub frames_tapped: u64,
    /// Frames of the composed stream written to viewers (one per viewer).
    pub viewer_frames: u64,
    pub viewer_bytes: u64,
}

//! Plenum's SFU core, sans-IO: one [`Room`] per running meeting holds a str0m `Rtc` for each
//! of its participants' peer connections and forwards what each publishes to the others.
//!
//! The room never touches a socket or reads a clock: datagrams and time come in as
//! arguments, and everything it wants done comes out of [`Room::poll_output`] (datagrams to
//! send, signalling for a participant, routes for the I/O layer, the next timeout).
//!
//! THE API BELOW IS THE CONTRACT WITH plenum-service; bodies are being written.
#![allow(unused_variables, dead_code, clippy::todo)] // skeleton: removed when implemented

pub mod route_key;
pub use route_key::stun_ufrag;

use std::fmt::Debug;
use std::hash::Hash;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

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
}

/// One meeting's SFU. `P` is the participant's id (the meeting's attendance id).
#[derive(Debug)]
pub struct Room<P> {
    config: MediaConfig,
    _p: std::marker::PhantomData<P>,
}

impl<P: Copy + Eq + Hash + Ord + Debug + Send + 'static> Room<P> {
    pub fn new(config: MediaConfig) -> Self {
        todo!()
    }
    /// A participant joined: it may publish and will be offered the others' tracks
    /// (`receive_video: false` for `media_type: audio`: audio only, both ways).
    pub fn add_participant(&mut self, participant: P, receive_video: bool, now: Instant) {
        todo!()
    }
    /// The participant left: its connections close and its tracks go from everyone's
    /// subscribe connection (a renegotiation each).
    pub fn remove_participant(&mut self, participant: P, now: Instant) {
        todo!()
    }
    /// The client's offer for its publish connection; returns the answer.
    pub fn publish(
        &mut self,
        participant: P,
        offer: &str,
        now: Instant,
    ) -> Result<String, SignalError> {
        todo!()
    }
    /// The client's answer to the subscribe offer of `version`.
    pub fn subscribe_answer(
        &mut self,
        participant: P,
        version: u64,
        answer: &str,
        now: Instant,
    ) -> Result<(), SignalError> {
        todo!()
    }
    /// A trickled remote candidate (optional for clients); `""` ends them.
    pub fn add_candidate(
        &mut self,
        participant: P,
        connection: Connection,
        candidate: &str,
        now: Instant,
    ) -> Result<(), SignalError> {
        todo!()
    }
    /// Whether the participant's audio and video are forwarded (host and self mutes).
    pub fn set_forwarding(&mut self, participant: P, audio: bool, video: bool, now: Instant) {
        todo!()
    }
    /// Whose video `viewer` is sent, in order; `None`: everyone's (the default).
    pub fn set_view(&mut self, viewer: P, shown: Option<Vec<P>>, now: Instant) {
        todo!()
    }
    /// A datagram the I/O layer routed here. Returns false when no peer took it.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) -> bool {
        todo!()
    }
    pub fn handle_timeout(&mut self, now: Instant) {
        todo!()
    }
    /// The next thing to do; call until it returns [`Output::Timeout`].
    pub fn poll_output(&mut self) -> Output<P> {
        todo!()
    }
    /// Every route this room holds (for the I/O layer to drop when the room closes).
    pub fn routes(&self) -> Vec<Route> {
        todo!()
    }
    pub fn stats(&self) -> RoomStats {
        todo!()
    }
}

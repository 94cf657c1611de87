//! [`MediaClient`]: the media of one participant, sans IO. Two str0m [`Rtc`]s, one per
//! direction (docs/client-protocol.md, "Media"): the **publish** connection, which this client
//! offers (sendonly Opus and, unless audio-only, sendonly VP8) and feeds from the fixtures; the
//! **subscribe** connection, which the server offers and renegotiates (`subscribe`), and whose
//! frames are counted per participant from the offer's `tracks`.
//!
//! Inputs: datagrams ([`MediaClient::handle_datagram`]), the server's signalling
//! ([`MediaClient::handle_signal`]), time ([`MediaClient::handle_timeout`]). Outputs: datagrams
//! to send ([`MediaClient::poll_transmit`]), frames to send on the WebSocket
//! ([`MediaClient::poll_signalling`]), the next deadline ([`MediaClient::poll_timeout`]), and
//! [`MediaClient::stats`]. No clock is read in here, so it runs in simulated time as well.
//!
//! Every mutation of an `Rtc` is followed by draining its `poll_output` to `Timeout` (str0m's
//! run-loop rule).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig};

use super::source::{Fixtures, Player};
use super::stats::MediaStats;
use crate::protocol::{Fields, TrackInfo};

/// Which of a participant's two peer connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Connection {
    Publish,
    Subscribe,
}

impl Connection {
    pub fn name(self) -> &'static str {
        match self {
            Self::Publish => "publish",
            Self::Subscribe => "subscribe",
        }
    }
}

/// The server's media signalling, as the client acts on it.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// `answer` to a `publish` (its `ref`).
    Answer {
        reference: Option<Value>,
        sdp: String,
    },
    /// `subscribe`: a (re)offer of the subscribe connection.
    Subscribe {
        version: u64,
        sdp: String,
        tracks: Vec<TrackInfo>,
    },
    /// `media_closed`.
    Closed { connection: String, reason: String },
    /// `error` answering one of the media requests (a `ref` of ours).
    Error {
        reference: Option<Value>,
        code: String,
        message: String,
    },
}

/// The `ref`s of the media requests start with this.
const PUBLISH_REF: &str = "publish";
const SUBSCRIBE_REF: &str = "subscribe";

impl Signal {
    /// The signal a server frame carries, if it is media signalling for this client.
    pub fn from_fields(fields: &Fields<'_>) -> Option<Self> {
        let text = |v: &Option<std::borrow::Cow<'_, str>>| v.as_deref().unwrap_or("").to_owned();
        match &*fields.kind {
            "answer" => Some(Self::Answer {
                reference: fields.reference.clone(),
                sdp: text(&fields.sdp),
            }),
            "subscribe" => Some(Self::Subscribe {
                version: fields.version.unwrap_or(0),
                sdp: text(&fields.sdp),
                tracks: fields.tracks.clone().unwrap_or_default(),
            }),
            "media_closed" => Some(Self::Closed {
                connection: text(&fields.connection),
                reason: text(&fields.reason),
            }),
            "error"
                if fields
                    .reference
                    .as_ref()
                    .and_then(Value::as_str)
                    .is_some_and(|r| {
                        r.starts_with(PUBLISH_REF) || r.starts_with(SUBSCRIBE_REF)
                    }) =>
            {
                Some(Self::Error {
                    reference: fields.reference.clone(),
                    code: text(&fields.code),
                    message: text(&fields.message),
                })
            }
            _ => None,
        }
    }
}

/// A datagram to send.
#[derive(Debug)]
pub struct Transmit {
    pub connection: Connection,
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub contents: Vec<u8>,
}

/// What the client sends and where it is.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// Publish video too (`media_type: video`); audio is always published.
    pub video: bool,
    /// The local addresses of the publish and subscribe connections (their host candidates).
    pub publish_addr: SocketAddr,
    pub subscribe_addr: SocketAddr,
}

/// How loud the fixture's sine is, for the audio-level header extension (RFC 6464: -dBov,
/// 0 the loudest): a voice at a normal level, so the server sees a speaker.
const AUDIO_LEVEL: i8 = -30;

/// One peer connection.
struct Peer {
    rtc: Rtc,
    local: SocketAddr,
    timeout: Instant,
    connected: bool,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("local", &self.local)
            .field("timeout", &self.timeout)
            .field("connected", &self.connected)
            .finish_non_exhaustive()
    }
}

impl Peer {
    fn new(local: SocketAddr, now: Instant) -> anyhow::Result<Self> {
        // A full ICE agent (the server is ICE-lite); Opus and VP8 only, as the server takes.
        let mut rtc = RtcConfig::new()
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .build(now);
        let candidate = Candidate::host(local, "udp")
            .map_err(|e| anyhow::anyhow!("host candidate {local}: {e}"))?;
        rtc.add_local_candidate(candidate);
        Ok(Self {
            rtc,
            local,
            timeout: now,
            connected: false,
        })
    }
}

/// The publish connection's negotiation.
#[derive(Debug)]
enum Publish {
    /// Not offered yet.
    Idle,
    /// Offered with this `ref`; waiting for the answer.
    Offered {
        reference: String,
        pending: Box<SdpPendingOffer>,
    },
    /// Answered: connecting or connected.
    Negotiated,
    /// Given up (an error answer, or the connection failed); see the stats' `closed`.
    Failed,
}

/// The players of what is published, once the publish connection is connected.
#[derive(Debug)]
struct Sending {
    audio: Option<(Mid, Player)>,
    video: Option<(Mid, Player)>,
}

/// The media of one participant, sans IO (see the module's documentation).
#[derive(Debug)]
pub struct MediaClient {
    config: MediaConfig,
    fixtures: Arc<Fixtures>,
    publish: Option<Peer>,
    publish_state: Publish,
    publishes: u64,
    audio_mid: Option<Mid>,
    video_mid: Option<Mid>,
    sending: Option<Sending>,
    subscribe: Option<Peer>,
    /// The subscribe connection's m-lines: who each one carries, and its last sequence number.
    tracks: BTreeMap<Mid, Track>,
    stats: MediaStats,
    signalling: VecDeque<String>,
    transmits: VecDeque<Transmit>,
}

#[derive(Debug)]
struct Track {
    client_uuid: String,
    video: bool,
    last_seq: Option<u64>,
}

impl MediaClient {
    pub fn new(config: MediaConfig, fixtures: Arc<Fixtures>) -> Self {
        Self {
            config,
            fixtures,
            publish: None,
            publish_state: Publish::Idle,
            publishes: 0,
            audio_mid: None,
            video_mid: None,
            sending: None,
            subscribe: None,
            tracks: BTreeMap::new(),
            stats: MediaStats::default(),
            signalling: VecDeque::new(),
            transmits: VecDeque::new(),
        }
    }

    /// Creates the publish connection and queues its `publish` offer. Call once joined.
    pub fn start(&mut self, now: Instant) {
        if let Err(e) = self.offer_publish(now) {
            self.fail(Connection::Publish, &format!("{e:#}"));
        }
    }

    fn offer_publish(&mut self, now: Instant) -> anyhow::Result<()> {
        let mut peer = Peer::new(self.config.publish_addr, now)?;
        let mut change = peer.rtc.sdp_api();
        let audio = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let video = self
            .config
            .video
            .then(|| change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None));
        let (offer, pending) = change
            .apply()
            .ok_or_else(|| anyhow::anyhow!("no offer from a change with m-lines"))?;
        self.publishes += 1;
        let reference = format!("{PUBLISH_REF}-{}", self.publishes);
        self.signalling.push_back(
            json!({"type": "publish", "ref": reference, "sdp": offer.to_sdp_string()}).to_string(),
        );
        self.audio_mid = Some(audio);
        self.video_mid = video;
        self.sending = None;
        self.publish_state = Publish::Offered {
            reference,
            pending: Box::new(pending),
        };
        self.publish = Some(peer);
        self.drain(Connection::Publish, now);
        Ok(())
    }

    /// Acts on the server's media signalling.
    pub fn handle_signal(&mut self, signal: Signal, now: Instant) {
        match signal {
            Signal::Answer { reference, sdp } => self.on_answer(reference.as_ref(), &sdp, now),
            Signal::Subscribe {
                version,
                sdp,
                tracks,
            } => {
                if let Err(e) = self.on_subscribe(version, &sdp, tracks, now) {
                    tracing::warn!("subscribe offer {version}: {e:#}");
                    self.fail(Connection::Subscribe, &format!("{e:#}"));
                }
            }
            Signal::Closed { connection, reason } => {
                tracing::info!("the server closed the {connection} connection: {reason}");
                self.stats.closed.push(format!("{connection}: {reason}"));
                match connection.as_str() {
                    "publish" => {
                        self.publish = None;
                        self.sending = None;
                        // The server's "failed" and "timeout" invite publishing again.
                        self.publish_state = Publish::Idle;
                        self.start(now);
                    }
                    "subscribe" => {
                        self.subscribe = None;
                        self.tracks.clear();
                    }
                    _ => {}
                }
            }
            Signal::Error {
                reference,
                code,
                message,
            } => {
                let reference = reference
                    .as_ref()
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                tracing::warn!("media request {reference} refused: {code} ({message})");
                if reference.starts_with(PUBLISH_REF) {
                    self.publish = None;
                    self.sending = None;
                    self.publish_state = Publish::Failed;
                }
                self.stats
                    .closed
                    .push(format!("{reference}: {code} ({message})"));
            }
        }
    }

    fn on_answer(&mut self, reference: Option<&Value>, sdp: &str, now: Instant) {
        let Publish::Offered {
            reference: ours, ..
        } = &self.publish_state
        else {
            tracing::warn!("an answer while no publish offer is pending");
            return;
        };
        if reference.and_then(Value::as_str) != Some(ours.as_str()) {
            tracing::warn!("an answer to another offer ({reference:?}, ours {ours})");
            return;
        }
        let Publish::Offered { pending, .. } =
            std::mem::replace(&mut self.publish_state, Publish::Negotiated)
        else {
            return;
        };
        let Some(peer) = self.publish.as_mut() else {
            return;
        };
        let accepted = SdpAnswer::from_sdp_string(sdp)
            .map_err(|e| anyhow::anyhow!("the answer is not SDP: {e}"))
            .and_then(|answer| {
                peer.rtc
                    .sdp_api()
                    .accept_answer(*pending, answer)
                    .map_err(|e| anyhow::anyhow!("the answer was not accepted: {e}"))
            });
        self.drain(Connection::Publish, now);
        if let Err(e) = accepted {
            self.fail(Connection::Publish, &format!("{e:#}"));
        }
    }

    fn on_subscribe(
        &mut self,
        version: u64,
        sdp: &str,
        tracks: Vec<TrackInfo>,
        now: Instant,
    ) -> anyhow::Result<()> {
        let offer = SdpOffer::from_sdp_string(sdp)
            .map_err(|e| anyhow::anyhow!("the offer is not SDP: {e}"))?;
        if self.subscribe.is_none() {
            self.subscribe = Some(Peer::new(self.config.subscribe_addr, now)?);
        }
        let Some(peer) = self.subscribe.as_mut() else {
            return Ok(());
        };
        let answer = peer.rtc.sdp_api().accept_offer(offer);
        self.drain(Connection::Subscribe, now);
        let answer = answer.map_err(|e| anyhow::anyhow!("the offer was not accepted: {e}"))?;
        // Who each m-line carries from now on; a line that changes hands starts its count of
        // sequence numbers afresh.
        let mut next = BTreeMap::new();
        for t in tracks {
            let mid = Mid::from(t.mid.as_str());
            let video = t.kind == "video";
            let last_seq = self
                .tracks
                .remove(&mid)
                .filter(|old| old.client_uuid == t.client_uuid && old.video == video)
                .and_then(|old| old.last_seq);
            self.stats.from.entry(t.client_uuid.clone()).or_default();
            next.insert(
                mid,
                Track {
                    client_uuid: t.client_uuid,
                    video,
                    last_seq,
                },
            );
        }
        self.tracks = next;
        self.stats.subscribe_offers += 1;
        self.signalling.push_back(
            json!({"type": "subscribe_answer", "ref": format!("{SUBSCRIBE_REF}-{version}"),
                   "version": version, "sdp": answer.to_sdp_string()})
            .to_string(),
        );
        Ok(())
    }

    /// A datagram that arrived on a connection's socket.
    pub fn handle_datagram(
        &mut self,
        connection: Connection,
        source: SocketAddr,
        contents: &[u8],
        now: Instant,
    ) {
        let Some(peer) = self.peer(connection) else {
            return;
        };
        let Ok(receive) = Receive::new(Protocol::Udp, source, peer.local, contents) else {
            // Not STUN, DTLS or RTP: nothing of ours.
            return;
        };
        let handled = peer.rtc.handle_input(Input::Receive(now, receive));
        self.drain(connection, now);
        if let Err(e) = handled {
            self.fail(connection, &format!("{e}"));
        }
    }

    /// Time passes: timeouts of both connections, and the frames now due are sent.
    pub fn handle_timeout(&mut self, now: Instant) {
        for connection in [Connection::Publish, Connection::Subscribe] {
            let Some(peer) = self.peer(connection) else {
                continue;
            };
            if peer.timeout > now {
                continue;
            }
            let handled = peer.rtc.handle_input(Input::Timeout(now));
            self.drain(connection, now);
            if let Err(e) = handled {
                self.fail(connection, &format!("{e}"));
            }
        }
        self.send_due(now);
    }

    /// Writes every frame due at `now` (one write, then a drain, per frame).
    fn send_due(&mut self, now: Instant) {
        loop {
            let Some(sending) = self.sending.as_mut() else {
                return;
            };
            let mut next = None;
            for (video, slot) in [(false, &mut sending.audio), (true, &mut sending.video)] {
                if let Some((mid, player)) = slot
                    && let Some(due) = player.poll(now)
                {
                    next = Some((video, *mid, due));
                    break;
                }
            }
            let Some((video, mid, due)) = next else {
                return;
            };
            let Some(peer) = self.publish.as_mut() else {
                return;
            };
            let Some(writer) = peer.rtc.writer(mid) else {
                continue;
            };
            let Some(pt) = writer.payload_params().next().map(|p| p.pt()) else {
                // The server rejected this m-line (audio-only): nothing to send on it.
                if let Some(s) = self.sending.as_mut() {
                    if video {
                        s.video = None;
                    } else {
                        s.audio = None;
                    }
                }
                continue;
            };
            let (frequency, writer) = if video {
                (Frequency::NINETY_KHZ, writer)
            } else {
                (
                    Frequency::FORTY_EIGHT_KHZ,
                    writer.audio_level(AUDIO_LEVEL, true),
                )
            };
            let written = writer.write(
                pt,
                due.at,
                MediaTime::new(due.rtp_time, frequency),
                due.data,
            );
            self.drain(Connection::Publish, now);
            match written {
                Ok(()) if video => self.stats.sent_video_frames += 1,
                Ok(()) => self.stats.sent_audio_frames += 1,
                Err(e) => tracing::debug!("writing a frame: {e}"),
            }
        }
    }

    fn peer(&mut self, connection: Connection) -> Option<&mut Peer> {
        match connection {
            Connection::Publish => self.publish.as_mut(),
            Connection::Subscribe => self.subscribe.as_mut(),
        }
    }

    /// Drains a connection's output to its next timeout.
    fn drain(&mut self, connection: Connection, now: Instant) {
        loop {
            let Some(peer) = self.peer(connection) else {
                return;
            };
            let output = match peer.rtc.poll_output() {
                Ok(o) => o,
                Err(e) => {
                    self.fail(connection, &format!("{e}"));
                    return;
                }
            };
            match output {
                Output::Timeout(t) => {
                    peer.timeout = t;
                    return;
                }
                Output::Transmit(t) => self.transmits.push_back(Transmit {
                    connection,
                    source: t.source,
                    destination: t.destination,
                    contents: t.contents.into(),
                }),
                Output::Event(e) => self.event(connection, e, now),
            }
        }
    }

    fn event(&mut self, connection: Connection, event: Event, now: Instant) {
        match event {
            Event::Connected => {
                tracing::debug!("the {} connection is connected", connection.name());
                if let Some(peer) = self.peer(connection) {
                    peer.connected = true;
                }
                match connection {
                    Connection::Publish => {
                        self.stats.publish_connected = Some(now);
                        if self.sending.is_none() {
                            let player = |video| Player::new(self.fixtures.clone(), video, now, 0);
                            self.sending = Some(Sending {
                                audio: self.audio_mid.map(|m| (m, player(false))),
                                video: self.video_mid.map(|m| (m, player(true))),
                            });
                        }
                    }
                    Connection::Subscribe => self.stats.subscribe_connected = Some(now),
                }
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                tracing::debug!("the {} connection is disconnected", connection.name());
                if let Some(peer) = self.peer(connection) {
                    peer.connected = false;
                }
            }
            Event::KeyframeRequest(request) if connection == Connection::Publish => {
                // Answered at once with the fixture's next keyframe (the caller sends what
                // is due after this datagram).
                if let Some(sending) = self.sending.as_mut()
                    && let Some((mid, player)) = sending.video.as_mut()
                    && *mid == request.mid
                {
                    player.skip_to_keyframe(now);
                    self.stats.keyframe_requests += 1;
                }
            }
            Event::MediaData(data) if connection == Connection::Subscribe => {
                let Some(track) = self.tracks.get_mut(&data.mid) else {
                    self.stats.unattributed_frames += 1;
                    return;
                };
                let first: u64 = **data.seq_range.start();
                let last: u64 = **data.seq_range.end();
                let from = self
                    .stats
                    .from
                    .entry(track.client_uuid.clone())
                    .or_default();
                if let Some(previous) = track.last_seq
                    && first > previous + 1
                {
                    from.lost += first - previous - 1;
                }
                track.last_seq = Some(track.last_seq.map_or(last, |p| p.max(last)));
                let packets = last.saturating_sub(first) + 1;
                from.bytes += data.data.len() as u64;
                if track.video {
                    from.video_packets += packets;
                    from.video_frames += 1;
                    from.first_video_frame.get_or_insert(now);
                    from.last_video_frame = Some(now);
                    if data.is_keyframe() {
                        from.keyframes += 1;
                        from.first_keyframe.get_or_insert(now);
                    }
                } else {
                    from.audio_packets += packets;
                    from.audio_frames += 1;
                    from.first_audio_frame.get_or_insert(now);
                    from.last_audio_frame = Some(now);
                }
            }
            _ => {}
        }
    }

    /// A connection failed here: it is dropped (and its failure recorded).
    fn fail(&mut self, connection: Connection, why: &str) {
        tracing::warn!("the {} connection failed: {why}", connection.name());
        self.stats
            .closed
            .push(format!("{}: failed here: {why}", connection.name()));
        match connection {
            Connection::Publish => {
                self.publish = None;
                self.sending = None;
                self.publish_state = Publish::Failed;
            }
            Connection::Subscribe => {
                self.subscribe = None;
                self.tracks.clear();
            }
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next frame to send on the WebSocket (`publish`, `subscribe_answer`).
    pub fn poll_signalling(&mut self) -> Option<String> {
        self.signalling.pop_front()
    }

    /// Whether frames for the WebSocket are waiting.
    pub fn has_signalling(&self) -> bool {
        !self.signalling.is_empty()
    }

    /// When [`MediaClient::handle_timeout`] is due next (`None`: nothing to do until a
    /// datagram or a signal comes).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let rtcs = [self.publish.as_ref(), self.subscribe.as_ref()]
            .into_iter()
            .flatten()
            .map(|p| p.timeout);
        let players = self.sending.iter().flat_map(|s| {
            [s.audio.as_ref(), s.video.as_ref()]
                .into_iter()
                .flatten()
                .map(|(_, p)| p.next_due())
        });
        rtcs.chain(players).min()
    }

    pub fn stats(&self) -> &MediaStats {
        &self.stats
    }

    /// Whether the publish / subscribe connection is connected now.
    pub fn is_connected(&self, connection: Connection) -> bool {
        match connection {
            Connection::Publish => self.publish.as_ref(),
            Connection::Subscribe => self.subscribe.as_ref(),
        }
        .is_some_and(|p| p.connected)
    }
}

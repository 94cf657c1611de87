//! One meeting's SFU: its participants, their connections, their tracks and who receives
//! which. Every public call records `now`, makes its change, then pumps: closes connections
//! that failed, announces routes learned, and handles the str0m events the change caused,
//! until none is left. Outputs wait in a queue for [`Room::poll_output`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Debug;
use std::hash::Hash;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::SdpPendingOffer;
use str0m::format::Codec as RtcCodec;
use str0m::media::{
    Direction, Frequency, KeyframeRequestKind, MediaData, MediaKind, MediaTime, Mid, Pt,
};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input};

use crate::forward::{Sink, Track};
use crate::peer::{CONNECTIVITY_TIMEOUT, Outbox, Peer};
use crate::routing::{ConnKey, Router};
use crate::speaker::Speakers;
use crate::{
    CloseReason, Connection, Kind, MediaConfig, Output, RoomStats, Route, Signal, SignalError,
    TrackInfo, ViewerId, ViewerSample,
};

/// One meeting's SFU. `P` is the participant's id (the meeting's attendance id).
#[derive(Debug)]
pub struct Room<P> {
    config: MediaConfig,
    participants: HashMap<P, Participant<P>>,
    peers: HashMap<ConnKey<P>, Peer>,
    /// Every published track, by publisher and kind (at most one of each).
    tracks: HashMap<(P, Kind), Track<P>>,
    router: Router<P>,
    outbox: Outbox<P>,
    speakers: Speakers<P>,
    stats: RoomStats,
    /// Moves whenever a published track opens or closes ([`Room::tracks_changed`]).
    track_changes: u64,
    /// Live-stream viewers (their connections are in `peers`).
    viewers: BTreeMap<ViewerId, Viewer>,
    /// The recording tap is on ([`Room::set_tap`]).
    tap: bool,
    /// The last [`Output::ViewerKeyframeWanted`] (throttling).
    viewer_keyframe_wanted_at: Option<Instant>,
    /// The latest `now` given to the room.
    /// The latest instant given to the room (it has no clock of its own).
    now: Instant,
}

/// A live-stream viewer's negotiated m-lines (mid, and the payload type written there).
#[derive(Debug)]
struct Viewer {
    audio: (Mid, Pt),
    video: (Mid, Pt),
    /// Its video waits for a keyframe so its decoder starts clean.
    needs_keyframe: bool,
}

#[derive(Debug)]
struct Participant<P> {
    receive_video: bool,
    /// Among the first `max_peers` participants: may publish and subscribe.
    has_media: bool,
    forward_audio: bool,
    forward_video: bool,
    /// Whose video this participant is sent; `None`: everyone's.
    view: Option<HashSet<P>>,
    /// The publish connection's m-lines that carry a track.
    published: HashMap<Mid, Kind>,
    subscription: Subscription<P>,
}

impl<P: Eq + Hash> Participant<P> {
    fn shows(&self, publisher: &P) -> bool {
        self.view.as_ref().is_none_or(|v| v.contains(publisher))
    }
}

/// The subscribe connection's negotiation state.
#[derive(Debug)]
struct Subscription<P> {
    /// The version of the last offer sent.
    version: u64,
    pending: Option<PendingOffer<P>>,
    /// Negotiated m-lines that carry a track.
    lines: Vec<Line<P>>,
    /// The tracks changed while an offer was pending: offer again after the answer.
    dirty: bool,
}

#[derive(Debug)]
struct PendingOffer<P> {
    version: u64,
    offer: SdpPendingOffer,
    /// Lines the offer adds; they carry media once answered.
    added: Vec<Line<P>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Line<P> {
    mid: Mid,
    source: P,
    kind: Kind,
}

fn media_kind(kind: Kind) -> MediaKind {
    match kind {
        Kind::Audio => MediaKind::Audio,
        Kind::Video => MediaKind::Video,
    }
}

fn kind_of(kind: MediaKind) -> Kind {
    match kind {
        MediaKind::Audio => Kind::Audio,
        MediaKind::Video => Kind::Video,
    }
}

impl<P: Copy + Eq + Hash + Ord + Debug + Send + 'static> Room<P> {
    /// A room at `now` (the room never reads a clock: every instant is given to it).
    pub fn new(config: MediaConfig, now: Instant) -> Self {
        Room {
            config,
            participants: HashMap::new(),
            peers: HashMap::new(),
            tracks: HashMap::new(),
            router: Router::new(),
            outbox: Outbox::new(),
            speakers: Speakers::new(),
            stats: RoomStats::default(),
            now,
            track_changes: 0,
            viewers: BTreeMap::new(),
            tap: false,
            viewer_keyframe_wanted_at: None,
        }
    }

    /// A participant joined: it may publish and will be offered the others' tracks
    /// (`receive_video: false` for `media_type: audio`: audio only, both ways).
    ///
    /// Past `max_peers` participants with media, it has none: its `publish` is refused
    /// with [`SignalError::RoomFull`] and it is offered nothing.
    pub fn add_participant(&mut self, participant: P, receive_video: bool, now: Instant) {
        self.now = now;
        if self.participants.contains_key(&participant) {
            return;
        }
        let with_media = self.participants.values().filter(|p| p.has_media).count();
        self.participants.insert(
            participant,
            Participant {
                receive_video,
                has_media: with_media < self.config.max_peers,
                forward_audio: true,
                forward_video: true,
                view: None,
                published: HashMap::new(),
                subscription: Subscription {
                    version: 0,
                    pending: None,
                    lines: Vec::new(),
                    dirty: false,
                },
            },
        );
        self.replan(participant, now);
        self.pump(now);
    }

    /// The participant left: its connections close and its tracks go from everyone's
    /// subscribe connection (a renegotiation each).
    pub fn remove_participant(&mut self, participant: P, now: Instant) {
        self.now = now;
        if !self.participants.contains_key(&participant) {
            return;
        }
        self.close_peer(
            ConnKey::Member {
                participant,
                connection: Connection::Publish,
            },
            None,
            now,
        );
        self.close_peer(
            ConnKey::Member {
                participant,
                connection: Connection::Subscribe,
            },
            None,
            now,
        );
        // Tracks published without a connection left (none normally) and sinks of lines
        // still being offered.
        self.unpublish(participant, now);
        for track in self.tracks.values_mut() {
            track.sinks.retain(|s| s.subscriber != participant);
        }
        self.participants.remove(&participant);
        self.speakers.remove(participant);
        self.pump(now);
    }

    /// The client's offer for its publish connection; returns the answer.
    pub fn publish(
        &mut self,
        participant: P,
        offer: &str,
        now: Instant,
    ) -> Result<String, SignalError> {
        self.now = now;
        let part = self
            .participants
            .get(&participant)
            .ok_or(SignalError::UnknownParticipant)?;
        if !part.has_media {
            return Err(SignalError::RoomFull);
        }
        let receive_video = part.receive_video;
        let offer = crate::sdp::publish_offer(offer)?;
        let key = ConnKey::Member {
            participant,
            connection: Connection::Publish,
        };
        let created = !self.peers.contains_key(&key);
        if created {
            self.open_peer(key, receive_video, now);
        }
        let local = self.config.local;
        let result = self.peers.get_mut(&key).and_then(|peer| {
            peer.call(key, local, &mut self.outbox, |rtc| {
                rtc.sdp_api().accept_offer(offer)
            })
        });
        let answer = match result {
            Some(Ok(answer)) => Ok(answer.to_sdp_string()),
            Some(Err(e)) => {
                if created {
                    self.close_peer(key, None, now);
                }
                Err(SignalError::InvalidSdp(e.to_string()))
            }
            None => Err(SignalError::InvalidSdp(
                "the connection failed on this offer".into(),
            )),
        };
        self.pump(now);
        answer
    }

    /// The client's answer to the subscribe offer of `version`.
    pub fn subscribe_answer(
        &mut self,
        participant: P,
        version: u64,
        answer: &str,
        now: Instant,
    ) -> Result<(), SignalError> {
        self.now = now;
        let part = self
            .participants
            .get_mut(&participant)
            .ok_or(SignalError::UnknownParticipant)?;
        let Some(pending) = &part.subscription.pending else {
            return Err(SignalError::NoOfferPending);
        };
        if pending.version != version {
            return Err(SignalError::StaleAnswer);
        }
        let answer = crate::sdp::subscribe_answer(answer)?;
        let key = ConnKey::Member {
            participant,
            connection: Connection::Subscribe,
        };
        let (Some(pending), Some(peer)) =
            (part.subscription.pending.take(), self.peers.get_mut(&key))
        else {
            return Err(SignalError::NoOfferPending);
        };
        let local = self.config.local;
        let result = peer.call(key, local, &mut self.outbox, |rtc| {
            rtc.sdp_api().accept_answer(pending.offer, answer)
        });
        let outcome = match result {
            Some(Ok(())) => {
                let connected = peer.connected;
                let mut keyframes = Vec::new();
                part.subscription
                    .lines
                    .extend(pending.added.iter().copied());
                for line in pending.added {
                    let Some(track) = self.tracks.get_mut(&(line.source, line.kind)) else {
                        continue; // unpublished meanwhile: the next offer stops the line
                    };
                    let video = line.kind == Kind::Video;
                    let shown = !video || part.shows(&line.source);
                    track
                        .sinks
                        .push(Sink::new(participant, line.mid, video, shown));
                    if video && shown && connected {
                        keyframes.push(line.source);
                    }
                }
                let dirty = part.subscription.dirty;
                for publisher in keyframes {
                    self.request_keyframe(publisher, Kind::Video, KeyframeRequestKind::Pli, now);
                }
                if dirty {
                    self.replan(participant, now);
                }
                Ok(())
            }
            Some(Err(e)) => {
                // str0m has applied part of the offer; start the connection afresh.
                self.close_peer(key, Some(CloseReason::Failed), now);
                Err(SignalError::InvalidSdp(e.to_string()))
            }
            None => Err(SignalError::InvalidSdp(
                "the connection failed on this answer".into(),
            )),
        };
        self.pump(now);
        outcome
    }

    /// A trickled remote candidate (optional for clients); `""` ends them.
    pub fn add_candidate(
        &mut self,
        participant: P,
        connection: Connection,
        candidate: &str,
        now: Instant,
    ) -> Result<(), SignalError> {
        self.now = now;
        if !self.participants.contains_key(&participant) {
            return Err(SignalError::UnknownParticipant);
        }
        let candidate = candidate.trim();
        let candidate = candidate.strip_prefix("a=").unwrap_or(candidate);
        if candidate.is_empty() {
            return Ok(());
        }
        let candidate = Candidate::from_sdp_string(candidate)
            .map_err(|e| SignalError::InvalidSdp(e.to_string()))?;
        let key = ConnKey::Member {
            participant,
            connection,
        };
        let local = self.config.local;
        let peer = self
            .peers
            .get_mut(&key)
            .ok_or(SignalError::UnknownParticipant)?;
        peer.call(key, local, &mut self.outbox, |rtc| {
            rtc.add_remote_candidate(candidate)
        });
        self.pump(now);
        Ok(())
    }

    /// Whether the participant's audio and video are forwarded (host and self mutes).
    pub fn set_forwarding(&mut self, participant: P, audio: bool, video: bool, now: Instant) {
        self.now = now;
        let Some(part) = self.participants.get_mut(&participant) else {
            return;
        };
        let video_resumes = video && !part.forward_video;
        part.forward_audio = audio;
        part.forward_video = video;
        if !audio {
            self.speakers.remove(participant);
        }
        if video_resumes {
            // Subscribers' decoders missed frames: restart them at a keyframe.
            if let Some(track) = self.tracks.get_mut(&(participant, Kind::Video)) {
                track.sinks.iter_mut().for_each(|s| s.needs_keyframe = true);
                track.tap_needs_keyframe = true;
                self.request_keyframe(participant, Kind::Video, KeyframeRequestKind::Pli, now);
            }
        }
        self.pump(now);
    }

    /// Whose video `viewer` is sent, in order; `None`: everyone's (the default).
    pub fn set_view(&mut self, viewer: P, shown: Option<Vec<P>>, now: Instant) {
        self.now = now;
        let Some(part) = self.participants.get_mut(&viewer) else {
            return;
        };
        part.view = shown.map(|v| v.into_iter().collect());
        let mut newly_shown = Vec::new();
        for line in part
            .subscription
            .lines
            .iter()
            .filter(|l| l.kind == Kind::Video)
        {
            let show = part.view.as_ref().is_none_or(|v| v.contains(&line.source));
            let Some(sink) = self
                .tracks
                .get_mut(&(line.source, Kind::Video))
                .and_then(|t| t.sink_mut(viewer))
            else {
                continue;
            };
            if show && !sink.shown {
                sink.needs_keyframe = true;
                newly_shown.push(line.source);
            }
            sink.shown = show;
        }
        for publisher in newly_shown {
            self.request_keyframe(publisher, Kind::Video, KeyframeRequestKind::Pli, now);
        }
        self.pump(now);
    }

    /// A datagram the I/O layer routed here. Returns false when no peer took it.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) -> bool {
        self.now = now;
        self.stats.datagrams_in += 1;
        let Some(key) = self.router.lookup(source, contents) else {
            self.stats.datagrams_dropped += 1;
            return false;
        };
        let Ok(datagram) = contents.try_into() else {
            self.stats.datagrams_dropped += 1;
            return false;
        };
        let receive = Receive {
            proto: Protocol::Udp,
            source,
            destination: self.candidate_address(destination),
            contents: datagram,
        };
        let local = self.config.local;
        let Some(peer) = self.peers.get_mut(&key) else {
            self.stats.datagrams_dropped += 1;
            return false;
        };
        match peer.call(key, local, &mut self.outbox, |rtc| {
            rtc.handle_input(Input::Receive(now, receive))
        }) {
            Some(Ok(())) => {}
            Some(Err(e)) => tracing::debug!(error = %e, "datagram refused by str0m"),
            None => {}
        }
        if peer.addresses.contains(&source) {
            peer.last_heard = now;
        }
        self.pump(now);
        true
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        let local = self.config.local;
        let due: Vec<ConnKey<P>> = self
            .peers
            .iter()
            .filter(|(_, p)| p.next_timeout <= now)
            .map(|(k, _)| *k)
            .collect();
        for key in due {
            if let Some(peer) = self.peers.get_mut(&key)
                && let Some(Err(e)) = peer.call(key, local, &mut self.outbox, |rtc| {
                    rtc.handle_input(Input::Timeout(now))
                })
            {
                tracing::debug!(error = %e, "timeout refused by str0m");
            }
        }
        let silent: Vec<ConnKey<P>> = self
            .peers
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.last_heard) >= CONNECTIVITY_TIMEOUT)
            .map(|(k, _)| *k)
            .collect();
        for key in silent {
            self.close_peer(key, Some(CloseReason::Timeout), now);
        }
        if let Some(speaker) = self.speakers.evaluate(now) {
            self.outbox.out.push_back(Output::ActiveSpeaker(speaker));
        }
        self.pump(now);
    }

    /// The next thing to do; call until it returns [`Output::Timeout`].
    pub fn poll_output(&mut self) -> Output<P> {
        if let Some(output) = self.outbox.out.pop_front() {
            return output;
        }
        Output::Timeout(self.deadline())
    }

    /// Every route this room holds (for the I/O layer to drop when the room closes).
    pub fn routes(&self) -> Vec<Route> {
        self.router
            .ufrags()
            .map(|u| Route::AddUfrag(u.clone()))
            .chain(self.router.addresses().map(|a| Route::AddAddress(*a)))
            .collect()
    }

    /// A number that moves whenever a published track opens or closes: who sends what
    /// changed since the caller last saw it.
    pub fn tracks_changed(&self) -> u64 {
        self.track_changes
    }

    /// Whether the participant publishes a track of this kind.
    pub fn publishes(&self, participant: P, kind: Kind) -> bool {
        self.tracks.contains_key(&(participant, kind))
    }

    pub fn stats(&self) -> RoomStats {
        self.stats
    }

    // ---- recording ----

    /// Turns the recording tap on or off. While on, every frame the room forwards also
    /// comes out as [`Output::Frame`] (each video track from a keyframe on); turning it on
    /// asks every video publisher for a keyframe.
    pub fn set_tap(&mut self, on: bool, now: Instant) {
        self.now = now;
        if on == self.tap {
            return;
        }
        self.tap = on;
        if on {
            let mut publishers: Vec<P> = self
                .tracks
                .iter_mut()
                .filter(|((_, kind), _)| *kind == Kind::Video)
                .map(|((publisher, _), track)| {
                    track.tap_needs_keyframe = true;
                    *publisher
                })
                .collect();
            publishers.sort();
            for publisher in publishers {
                self.request_keyframe(publisher, Kind::Video, KeyframeRequestKind::Pli, now);
            }
        }
        self.pump(now);
    }

    /// Asks the participant's video publisher for a keyframe (a PLI), at most once per
    /// `keyframe_throttle` like every request to that track. Nothing when it sends no video.
    pub fn request_keyframe_of(&mut self, participant: P, now: Instant) {
        self.now = now;
        self.request_keyframe(participant, Kind::Video, KeyframeRequestKind::Pli, now);
        self.pump(now);
    }

    // ---- live-stream viewers (WHEP) ----

    /// A viewer's WHEP offer (receiving audio and video); returns the answer, which sends
    /// Opus and VP8. An offer that cannot take both is refused with
    /// [`SignalError::InvalidSdp`]. A viewer id already present is replaced.
    pub fn add_viewer(
        &mut self,
        viewer: ViewerId,
        offer_sdp: &str,
        now: Instant,
    ) -> Result<String, SignalError> {
        self.now = now;
        let (offer, audio_mid, video_mid) = crate::sdp::viewer_offer(offer_sdp)?;
        let (audio_mid, video_mid) = (Mid::from(audio_mid.as_str()), Mid::from(video_mid.as_str()));
        let key = ConnKey::Viewer(viewer);
        self.close_peer(key, None, now);
        self.insert_peer(key, Peer::viewer(&self.config.advertise, now));
        let local = self.config.local;
        let result = self.peers.get_mut(&key).and_then(|peer| {
            peer.call(key, local, &mut self.outbox, |rtc| {
                let answer = rtc.sdp_api().accept_offer(offer)?;
                let mut pt = |mid: Mid, codec: RtcCodec| {
                    if !rtc.media(mid)?.direction().is_sending() {
                        return None;
                    }
                    rtc.writer(mid)?
                        .payload_params()
                        .find(|p| p.spec().codec == codec)
                        .map(|p| p.pt())
                };
                let audio = pt(audio_mid, RtcCodec::Opus);
                let video = pt(video_mid, RtcCodec::Vp8);
                Ok::<_, str0m::RtcError>((answer.to_sdp_string(), audio, video))
            })
        });
        let outcome = match result {
            Some(Ok((answer, Some(audio), Some(video)))) => {
                self.viewers.insert(
                    viewer,
                    Viewer {
                        audio: (audio_mid, audio),
                        video: (video_mid, video),
                        needs_keyframe: true,
                    },
                );
                Ok(answer)
            }
            Some(Ok(_)) => Err(SignalError::InvalidSdp(
                "a viewer's offer must receive Opus audio and VP8 video".into(),
            )),
            Some(Err(e)) => Err(SignalError::InvalidSdp(e.to_string())),
            None => Err(SignalError::InvalidSdp(
                "the connection failed on this offer".into(),
            )),
        };
        if outcome.is_err() {
            self.close_peer(key, None, now);
        }
        self.pump(now);
        outcome
    }

    /// The viewer left (WHEP DELETE): its connection closes, with no
    /// [`Output::ViewerClosed`].
    pub fn remove_viewer(&mut self, viewer: ViewerId, now: Instant) {
        self.now = now;
        self.close_peer(ConnKey::Viewer(viewer), None, now);
        self.pump(now);
    }

    /// The stream stopped: every viewer's connection closes (with no
    /// [`Output::ViewerClosed`]).
    pub fn remove_all_viewers(&mut self, now: Instant) {
        self.now = now;
        let viewers: Vec<ViewerId> = self.viewers.keys().copied().collect();
        for viewer in viewers {
            self.close_peer(ConnKey::Viewer(viewer), None, now);
        }
        self.pump(now);
    }

    /// Viewers connected or connecting.
    pub fn viewer_count(&self) -> usize {
        self.viewers.len()
    }

    /// One frame of the composed stream, to every connected viewer; a viewer's video starts
    /// at a keyframe (deltas before it are dropped for that viewer, and a keyframe is
    /// wanted).
    pub fn write_to_viewers(&mut self, sample: &ViewerSample, now: Instant) {
        self.now = now;
        let video = sample.kind == Kind::Video;
        let keyframe = video && sample.keyframe;
        let clock = if video {
            Frequency::NINETY_KHZ
        } else {
            Frequency::FORTY_EIGHT_KHZ
        };
        let local = self.config.local;
        let mut want_keyframe = false;
        for (id, viewer) in &mut self.viewers {
            let key = ConnKey::Viewer(*id);
            let Some(peer) = self.peers.get_mut(&key) else {
                continue;
            };
            if !peer.connected {
                continue;
            }
            if video && viewer.needs_keyframe {
                if !keyframe {
                    want_keyframe = true;
                    continue;
                }
                viewer.needs_keyframe = false;
            }
            let (mid, pt) = if video { viewer.video } else { viewer.audio };
            let written = peer.call(key, local, &mut self.outbox, |rtc| {
                let writer = rtc.writer(mid)?;
                let time = MediaTime::new(sample.rtp_time, clock);
                writer.write(pt, now, time, sample.data.clone()).ok()
            });
            if written == Some(Some(())) {
                self.stats.viewer_frames += 1;
                self.stats.viewer_bytes += sample.data.len() as u64;
            }
        }
        if want_keyframe {
            self.viewer_keyframe_wanted(now);
        }
        self.pump(now);
    }

    // ---- internals ----

    /// The earliest of every connection's str0m timeout and connectivity deadline, and the
    /// next active-speaker evaluation.
    fn deadline(&self) -> Instant {
        let peers = self
            .peers
            .values()
            .map(|p| p.next_timeout.min(p.last_heard + CONNECTIVITY_TIMEOUT));
        let earliest = peers.chain(self.speakers.next_evaluation()).min();
        earliest.unwrap_or(self.now + Duration::from_secs(3600))
    }

    /// str0m matches a datagram's destination against its candidates: behind NAT the
    /// socket's address is not the advertised one, so give it the advertised one.
    fn candidate_address(&self, destination: SocketAddr) -> SocketAddr {
        let advertise = &self.config.advertise;
        if advertise.is_empty() || advertise.contains(&destination) {
            return destination;
        }
        advertise
            .iter()
            .find(|a| a.is_ipv4() == destination.is_ipv4())
            .copied()
            .unwrap_or(destination)
    }

    fn open_peer(&mut self, key: ConnKey<P>, video: bool, now: Instant) {
        let peer = Peer::new(&self.config.advertise, video, now);
        self.insert_peer(key, peer);
    }

    fn insert_peer(&mut self, key: ConnKey<P>, peer: Peer) {
        self.router.add_ufrag(peer.ufrag.clone(), key);
        self.outbox
            .out
            .push_back(Output::Route(Route::AddUfrag(peer.ufrag.clone())));
        self.peers.insert(key, peer);
    }

    /// Ends a connection: its routes go, the participant is told why (when there is a
    /// reason), and what flowed over it stops at once.
    fn close_peer(&mut self, key: ConnKey<P>, reason: Option<CloseReason>, now: Instant) {
        let Some(peer) = self.peers.remove(&key) else {
            return;
        };
        self.router.remove_ufrag(&peer.ufrag);
        self.outbox
            .out
            .push_back(Output::Route(Route::RemoveUfrag(peer.ufrag)));
        for address in peer.addresses {
            if self.router.remove_address(address, key) {
                self.outbox
                    .out
                    .push_back(Output::Route(Route::RemoveAddress(address)));
            }
        }
        let (participant, connection) = match key {
            ConnKey::Member {
                participant,
                connection,
            } => (participant, connection),
            ConnKey::Viewer(viewer) => {
                self.viewers.remove(&viewer);
                if reason.is_some() {
                    self.outbox.out.push_back(Output::ViewerClosed(viewer));
                }
                return;
            }
        };
        if let Some(reason) = reason {
            self.outbox.out.push_back(Output::Signal(
                participant,
                Signal::MediaClosed { connection, reason },
            ));
        }
        match connection {
            Connection::Publish => self.unpublish(participant, now),
            Connection::Subscribe => {
                let Some(part) = self.participants.get_mut(&participant) else {
                    return;
                };
                let sub = &mut part.subscription;
                sub.pending = None;
                sub.dirty = false;
                for line in std::mem::take(&mut sub.lines) {
                    if let Some(track) = self.tracks.get_mut(&(line.source, line.kind)) {
                        track.sinks.retain(|s| s.subscriber != participant);
                    }
                }
                if reason == Some(CloseReason::Failed) {
                    // A bug, not the client: offer a fresh connection at once.
                    self.replan(participant, now);
                }
            }
        }
    }

    /// The participant's tracks end; everyone else's subscription is renegotiated.
    fn unpublish(&mut self, participant: P, now: Instant) {
        let had = [Kind::Audio, Kind::Video]
            .into_iter()
            .filter(|k| self.tracks.remove(&(participant, *k)).is_some())
            .count();
        if had > 0 {
            self.track_changes += 1;
        }
        if let Some(part) = self.participants.get_mut(&participant) {
            part.published.clear();
        }
        self.speakers.remove(participant);
        if had > 0 {
            self.replan_others(participant, now);
        }
    }

    fn replan_others(&mut self, participant: P, now: Instant) {
        let others: Vec<P> = self
            .participants
            .keys()
            .filter(|p| **p != participant)
            .copied()
            .collect();
        for other in others {
            self.replan(other, now);
        }
    }

    /// Brings `subscriber`'s subscribe connection in line with the tracks it may receive:
    /// a new offer when they differ, or, while one is pending, a note to offer again.
    fn replan(&mut self, subscriber: P, now: Instant) {
        let Some(part) = self.participants.get_mut(&subscriber) else {
            return;
        };
        if !part.has_media {
            return;
        }
        if part.subscription.pending.is_some() {
            part.subscription.dirty = true;
            return;
        }
        part.subscription.dirty = false;
        let receive_video = part.receive_video;
        let mut desired: Vec<(P, Kind)> = self
            .tracks
            .keys()
            .filter(|(p, k)| *p != subscriber && (receive_video || *k == Kind::Audio))
            .copied()
            .collect();
        desired.sort_by_key(|(p, k)| (*p, *k == Kind::Video));
        let lines = &mut part.subscription.lines;
        let to_stop: Vec<Line<P>> = lines
            .iter()
            .filter(|l| !desired.contains(&(l.source, l.kind)))
            .copied()
            .collect();
        let to_add: Vec<(P, Kind)> = desired
            .into_iter()
            .filter(|d| !lines.iter().any(|l| (l.source, l.kind) == *d))
            .collect();
        if to_stop.is_empty() && to_add.is_empty() {
            return;
        }
        // What stops, stops now; the offer only tells the client.
        lines.retain(|l| !to_stop.contains(l));
        for line in &to_stop {
            if let Some(track) = self.tracks.get_mut(&(line.source, line.kind)) {
                track.sinks.retain(|s| s.subscriber != subscriber);
            }
        }
        let key = ConnKey::Member {
            participant: subscriber,
            connection: Connection::Subscribe,
        };
        if !self.peers.contains_key(&key) {
            if to_add.is_empty() {
                return;
            }
            self.open_peer(key, receive_video, now);
        }
        let local = self.config.local;
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        let offered = peer.call(key, local, &mut self.outbox, |rtc| {
            let mut change = rtc.sdp_api();
            for line in &to_stop {
                change.stop_media(line.mid);
            }
            let mids: Vec<Mid> = to_add
                .iter()
                .map(|(p, k)| {
                    // One stream id per publisher, so its audio and video play in sync.
                    let stream = format!("{p:?}");
                    change.add_media(
                        media_kind(*k),
                        Direction::SendOnly,
                        Some(stream),
                        None,
                        None,
                    )
                })
                .collect();
            change
                .apply()
                .map(|(offer, pending)| (offer.to_sdp_string(), pending, mids))
        });
        let Some(Some((sdp, offer, mids))) = offered else {
            return;
        };
        let Some(part) = self.participants.get_mut(&subscriber) else {
            return;
        };
        let added: Vec<Line<P>> = to_add
            .into_iter()
            .zip(mids)
            .map(|((source, kind), mid)| Line { mid, source, kind })
            .collect();
        let sub = &mut part.subscription;
        sub.version += 1;
        let tracks = sub
            .lines
            .iter()
            .chain(&added)
            .map(|l| TrackInfo {
                mid: l.mid.to_string(),
                participant: l.source,
                kind: l.kind,
            })
            .collect();
        sub.pending = Some(PendingOffer {
            version: sub.version,
            offer,
            added,
        });
        self.outbox.out.push_back(Output::Signal(
            subscriber,
            Signal::Subscribe {
                version: sub.version,
                sdp,
                tracks,
            },
        ));
    }

    /// Asks `publisher` for a keyframe of its track, at most once per `keyframe_throttle`.
    fn request_keyframe(
        &mut self,
        publisher: P,
        kind: Kind,
        request: KeyframeRequestKind,
        now: Instant,
    ) {
        let throttle = self.config.keyframe_throttle;
        let Some(track) = self.tracks.get_mut(&(publisher, kind)) else {
            return;
        };
        if !track.keyframe_request_due(now, throttle) {
            return;
        }
        let mid = track.mid;
        let key = ConnKey::Member {
            participant: publisher,
            connection: Connection::Publish,
        };
        let local = self.config.local;
        if let Some(peer) = self.peers.get_mut(&key) {
            let sent = peer.call(key, local, &mut self.outbox, |rtc| {
                rtc.writer(mid)
                    .map(|mut w| w.request_keyframe(None, request).is_ok())
            });
            if sent == Some(Some(true)) {
                self.stats.keyframe_requests += 1;
            }
        }
    }

    /// Closes failed connections, announces learned addresses and handles queued events
    /// until nothing is left.
    fn pump(&mut self, now: Instant) {
        loop {
            if let Some(key) = self.outbox.failed.pop() {
                self.close_peer(key, Some(CloseReason::Failed), now);
            } else if let Some((key, address)) = self.outbox.learned.pop() {
                if self.peers.contains_key(&key) && self.router.add_address(address, key) {
                    self.outbox
                        .out
                        .push_back(Output::Route(Route::AddAddress(address)));
                }
            } else if let Some((key, event)) = self.outbox.events.pop_front() {
                if self.peers.contains_key(&key) {
                    self.handle_event(key, event, now);
                }
            } else {
                break;
            }
        }
    }

    fn handle_event(&mut self, key: ConnKey<P>, event: Event, now: Instant) {
        let (participant, connection) = match key {
            ConnKey::Member {
                participant,
                connection,
            } => (participant, connection),
            ConnKey::Viewer(viewer) => return self.handle_viewer_event(viewer, event, now),
        };
        match (connection, event) {
            (Connection::Publish, Event::MediaData(data)) => self.forward(participant, data, now),
            (Connection::Publish, Event::MediaAdded(added)) if added.direction.is_receiving() => {
                self.track_opened(participant, added.mid, kind_of(added.kind), now);
            }
            (Connection::Publish, Event::MediaChanged(changed)) => {
                let published = self
                    .participants
                    .get(&participant)
                    .and_then(|p| p.published.get(&changed.mid).copied());
                match (published, changed.direction.is_receiving()) {
                    (Some(kind), false) => self.track_closed(participant, kind, now),
                    (None, true) => {
                        let local = self.config.local;
                        let kind = self.peers.get_mut(&key).and_then(|peer| {
                            peer.call(key, local, &mut self.outbox, |rtc| {
                                rtc.media(changed.mid).map(|m| m.kind())
                            })
                        });
                        if let Some(Some(kind)) = kind {
                            self.track_opened(participant, changed.mid, kind_of(kind), now);
                        }
                    }
                    _ => {}
                }
            }
            (Connection::Subscribe, Event::KeyframeRequest(request)) => {
                let source = self.participants.get(&participant).and_then(|p| {
                    p.subscription
                        .lines
                        .iter()
                        .find(|l| l.mid == request.mid)
                        .map(|l| (l.source, l.kind))
                });
                if let Some((publisher, kind)) = source {
                    self.request_keyframe(publisher, kind, request.kind, now);
                }
            }
            (Connection::Subscribe, Event::Connected) => {
                // Writes now reach the subscriber: its video starts at the next keyframe.
                let sources: Vec<P> = self
                    .participants
                    .get(&participant)
                    .map(|p| {
                        p.subscription
                            .lines
                            .iter()
                            .filter(|l| l.kind == Kind::Video && p.shows(&l.source))
                            .map(|l| l.source)
                            .collect()
                    })
                    .unwrap_or_default();
                for publisher in sources {
                    self.request_keyframe(publisher, Kind::Video, KeyframeRequestKind::Pli, now);
                }
            }
            _ => {}
        }
    }

    fn handle_viewer_event(&mut self, viewer: ViewerId, event: Event, now: Instant) {
        match event {
            Event::Connected => {
                if let Some(v) = self.viewers.get_mut(&viewer) {
                    v.needs_keyframe = true;
                    self.viewer_keyframe_wanted(now);
                }
            }
            Event::KeyframeRequest(_) => self.viewer_keyframe_wanted(now),
            _ => {}
        }
    }

    /// [`Output::ViewerKeyframeWanted`], at most once per `keyframe_throttle`.
    fn viewer_keyframe_wanted(&mut self, now: Instant) {
        let throttle = self.config.keyframe_throttle;
        let due = self
            .viewer_keyframe_wanted_at
            .is_none_or(|at| now.saturating_duration_since(at) >= throttle);
        if due {
            self.viewer_keyframe_wanted_at = Some(now);
            self.outbox.out.push_back(Output::ViewerKeyframeWanted);
        }
    }

    fn track_opened(&mut self, participant: P, mid: Mid, kind: Kind, now: Instant) {
        let Some(part) = self.participants.get_mut(&participant) else {
            return;
        };
        // An audio-only participant's video is not taken; a second track of a kind
        // (the offer check allows one) is ignored.
        if (kind == Kind::Video && !part.receive_video)
            || self.tracks.contains_key(&(participant, kind))
        {
            return;
        }
        part.published.insert(mid, kind);
        self.tracks.insert((participant, kind), Track::new(mid));
        self.track_changes += 1;
        self.replan_others(participant, now);
    }

    fn track_closed(&mut self, participant: P, kind: Kind, now: Instant) {
        if let Some(part) = self.participants.get_mut(&participant) {
            part.published.retain(|_, k| *k != kind);
        }
        if self.tracks.remove(&(participant, kind)).is_some() {
            self.track_changes += 1;
            self.replan_others(participant, now);
        }
    }

    /// A frame from `publisher`'s publish connection, to each of its track's sinks.
    fn forward(&mut self, publisher: P, data: MediaData, now: Instant) {
        let Some(part) = self.participants.get(&publisher) else {
            return;
        };
        let Some(&kind) = part.published.get(&data.mid) else {
            return;
        };
        let (allowed, cap) = match kind {
            Kind::Audio => (part.forward_audio, self.config.max_audio_bitrate),
            Kind::Video => (part.forward_video, self.config.max_video_bitrate),
        };
        let Some(track) = self.tracks.get_mut(&(publisher, kind)) else {
            return;
        };
        let video = kind == Kind::Video;
        // A gap in the publisher's video breaks every subscriber's decoder until a keyframe.
        let mut want_keyframe = video && !data.contiguous;
        if !allowed {
            return;
        }
        if !track.rate.admit(now, data.data.len(), cap) {
            if video {
                track.sinks.iter_mut().for_each(|s| s.needs_keyframe = true);
                track.tap_needs_keyframe = true;
            }
            return;
        }
        if let (Kind::Audio, Some(level)) = (kind, data.ext_vals.audio_level) {
            self.speakers.observe(publisher, level, now);
        }
        let keyframe = video && data.is_keyframe();
        if self.tap {
            if video && track.tap_needs_keyframe && !keyframe {
                want_keyframe = true;
            } else if let Some(frame) = tapped(&data) {
                if video {
                    track.tap_needs_keyframe = false;
                }
                self.stats.frames_tapped += 1;
                self.outbox.out.push_back(Output::Frame {
                    participant: publisher,
                    kind,
                    frame,
                });
            }
        }
        let local = self.config.local;
        for sink in &mut track.sinks {
            if !sink.shown {
                continue;
            }
            let key = ConnKey::Member {
                participant: sink.subscriber,
                connection: Connection::Subscribe,
            };
            let Some(peer) = self.peers.get_mut(&key) else {
                continue;
            };
            if !peer.connected {
                continue;
            }
            if sink.needs_keyframe {
                if !keyframe {
                    want_keyframe = true;
                    continue;
                }
                sink.needs_keyframe = false;
            }
            let (mid, cached) = (sink.mid, sink.pt);
            let written = peer.call(key, local, &mut self.outbox, |rtc| {
                let writer = rtc.writer(mid)?;
                let pt = match cached {
                    Some((from, to)) if from == data.pt => to,
                    _ => writer.match_params(data.params)?,
                };
                let writer = match data.ext_vals.audio_level {
                    Some(level) => {
                        writer.audio_level(level, data.ext_vals.voice_activity.unwrap_or(false))
                    }
                    None => writer,
                };
                writer
                    .write(pt, data.network_time, data.time, data.data.clone())
                    .ok()?;
                Some(pt)
            });
            if let Some(Some(pt)) = written {
                sink.pt = Some((data.pt, pt));
                self.stats.frames_forwarded += 1;
                self.stats.bytes_forwarded += data.data.len() as u64;
            }
        }
        if want_keyframe {
            self.request_keyframe(publisher, kind, KeyframeRequestKind::Pli, now);
        }
    }
}

/// The recording tap's copy of a frame (the payload shared, not copied); `None` for a codec
/// Plenum does not record. str0m's RTP times (the frame's and the sender report's) are
/// already unrolled to 64 bits per stream, in the codec's clock.
fn tapped(data: &MediaData) -> Option<plenum_record::Frame> {
    use plenum_record::Codec;
    let codec = match data.params.spec().codec {
        RtcCodec::Opus => Codec::Opus,
        RtcCodec::Vp8 => Codec::Vp8,
        RtcCodec::H264 => Codec::H264,
        _ => return None,
    };
    Some(plenum_record::Frame {
        codec,
        data: data.data.clone(),
        rtp_time: data.time.numer(),
        arrival: data.network_time,
        sender_report: data
            .last_sender_info
            .map(|info| plenum_record::SenderReport {
                ntp: info.ntp_time,
                rtp_time: info.rtp_time.numer(),
            }),
        keyframe: codec.is_video() && data.is_keyframe(),
        contiguous: data.contiguous,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use str0m::Rtc;

    fn config() -> MediaConfig {
        let server = SocketAddr::new(Ipv4Addr::new(9, 9, 9, 9).into(), 5000);
        MediaConfig {
            local: server,
            advertise: vec![server],
            max_peers: 4,
            max_video_bitrate: 0,
            max_audio_bitrate: 0,
            keyframe_throttle: Duration::from_millis(500),
        }
    }

    fn drain(room: &mut Room<u32>) -> Vec<Output<u32>> {
        let mut out = Vec::new();
        loop {
            match room.poll_output() {
                Output::Timeout(_) => return out,
                o => out.push(o),
            }
        }
    }

    #[test]
    fn a_panic_in_str0m_ends_that_connection_only() {
        let now = Instant::now();
        let mut room = Room::new(config(), now);
        let mut offers = Vec::new();
        for id in 1..=2 {
            room.add_participant(id, true, now);
            let mut rtc = Rtc::new(now);
            let mut change = rtc.sdp_api();
            change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
            let (offer, _) = change.apply().expect("offer");
            room.publish(id, &offer.to_sdp_string(), now)
                .expect("answer");
            offers.push(rtc);
        }
        drain(&mut room);
        let key = ConnKey::Member {
            participant: 1,
            connection: Connection::Publish,
        };
        let local = room.config.local;
        let peer = room.peers.get_mut(&key).expect("publish connection");
        let ufrag = peer.ufrag.clone();
        let r: Option<()> = peer.call(key, local, &mut room.outbox, |_| panic!("a bug in str0m"));
        assert!(r.is_none());
        room.pump(now);
        let out = drain(&mut room);
        assert!(out.iter().any(|o| matches!(
            o,
            Output::Signal(
                1,
                Signal::MediaClosed {
                    connection: Connection::Publish,
                    reason: CloseReason::Failed
                }
            )
        )));
        assert!(
            out.iter()
                .any(|o| matches!(o, Output::Route(Route::RemoveUfrag(u)) if *u == ufrag))
        );
        // 2's publish connection lives on, and so does the room.
        assert!(!room.peers.contains_key(&key));
        assert!(room.peers.contains_key(&ConnKey::Member {
            participant: 2,
            connection: Connection::Publish
        }));
        room.handle_timeout(now + Duration::from_millis(10));
        drain(&mut room);
        // Publishing again brings a new connection.
        let mut rtc = Rtc::new(now);
        let mut change = rtc.sdp_api();
        change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let (offer, _) = change.apply().expect("offer");
        assert!(room.publish(1, &offer.to_sdp_string(), now).is_ok());
        assert!(room.peers.contains_key(&key));
    }

    #[test]
    fn a_panic_in_a_viewer_s_str0m_closes_that_viewer_only() {
        let now = Instant::now();
        let mut room = Room::new(config(), now);
        for id in 1..=2 {
            let mut rtc = Rtc::new(now);
            let mut change = rtc.sdp_api();
            change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
            change.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
            let (offer, _) = change.apply().expect("offer");
            room.add_viewer(ViewerId(id), &offer.to_sdp_string(), now)
                .expect("answer");
        }
        drain(&mut room);
        let key = ConnKey::Viewer(ViewerId(1));
        let local = room.config.local;
        let peer = room.peers.get_mut(&key).expect("viewer connection");
        let ufrag = peer.ufrag.clone();
        let r: Option<()> = peer.call(key, local, &mut room.outbox, |_| panic!("a bug in str0m"));
        assert!(r.is_none());
        room.pump(now);
        let out = drain(&mut room);
        assert!(
            out.iter()
                .any(|o| matches!(o, Output::ViewerClosed(ViewerId(1))))
        );
        assert!(
            out.iter()
                .any(|o| matches!(o, Output::Route(Route::RemoveUfrag(u)) if *u == ufrag))
        );
        assert_eq!(room.viewer_count(), 1);
        assert!(room.peers.contains_key(&ConnKey::Viewer(ViewerId(2))));
        // No participant was made for either.
        assert!(room.participants.is_empty());
    }
}

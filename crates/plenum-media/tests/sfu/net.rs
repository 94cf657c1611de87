//! A simulated network for a [`Room`] and in-memory str0m clients: datagrams travel with a
//! fixed latency (and optional loss), time is a fake clock advanced to the next thing due.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use plenum_media::{
    Kind, MediaConfig, Output, Room, Route, Signal, SignalError, TrackInfo, ViewerId, ViewerSample,
};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, KeyframeRequestKind, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RawPacket;
use str0m::{Candidate, Event, Input, Output as RtcOutput, Rtc};

pub const SERVER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::new(9, 9, 9, 9)), 5000);

pub fn config() -> MediaConfig {
    MediaConfig {
        local: SERVER,
        advertise: vec![SERVER],
        max_peers: 16,
        max_video_bitrate: 2_500_000,
        max_audio_bitrate: 128_000,
        keyframe_throttle: Duration::from_millis(500),
    }
}

/// What a client received from one remote participant's track.
#[derive(Debug, Default, Clone)]
pub struct Rx {
    pub frames: u64,
    pub keyframes: u64,
    pub first: Option<Instant>,
    pub last: Option<Instant>,
    /// Whether the first video frame received was a keyframe.
    pub first_was_keyframe: Option<bool>,
    pub last_audio_level: Option<i8>,
    /// Whether the first video RTP packet that arrived started a keyframe (seen below
    /// str0m's depacketizer, which itself holds frames back until a keyframe).
    pub first_packet_was_keyframe: Option<bool>,
}

#[derive(Debug)]
pub struct Client {
    publish: Option<Rtc>,
    subscribe: Option<Rtc>,
    pub publish_addr: SocketAddr,
    pub subscribe_addr: SocketAddr,
    audio_mid: Option<Mid>,
    video_mid: Option<Mid>,
    /// dBov put in each audio frame's level extension.
    pub level: i8,
    pub keyframe_interval: Duration,
    pub video_codec: Codec,
    /// Answer keyframe requests with a keyframe (else only every `keyframe_interval`).
    pub honour_keyframe_requests: bool,
    next_audio: Option<Instant>,
    next_video: Option<Instant>,
    last_keyframe: Option<Instant>,
    audio_ticks: u64,
    video_ticks: u64,
    force_keyframe: bool,
    pub audio_sent: u64,
    pub video_sent: u64,
    /// The current subscribe offer's mapping of mids to tracks.
    pub tracks: HashMap<String, TrackInfo<u32>>,
    pub received: HashMap<(u32, Kind), Rx>,
    pub keyframe_requests: u64,
    pub offers: Vec<(u64, Vec<TrackInfo<u32>>)>,
    pub answered_at: Option<Instant>,
    /// Answer subscribe offers at once (otherwise they wait in `held`).
    pub auto_answer: bool,
    pub held: VecDeque<(u64, String, Vec<TrackInfo<u32>>)>,
    pub closed: Vec<Signal<u32>>,
}

impl Client {
    pub fn rx(&self, from: u32, kind: Kind) -> Rx {
        self.received
            .get(&(from, kind))
            .cloned()
            .unwrap_or_default()
    }

    fn counts(&mut self, from: u32, kind: Kind) -> &mut Rx {
        self.received.entry((from, kind)).or_default()
    }
}

/// A live-stream viewer: a browser-like str0m client that offers recvonly audio and video.
#[derive(Debug)]
pub struct ViewerClient {
    rtc: Rtc,
    pub addr: SocketAddr,
    audio_mid: Mid,
    video_mid: Mid,
    /// RTP time and size of each audio frame received.
    pub audio: Vec<(u64, usize)>,
    /// RTP time and keyframe flag of each video frame received.
    pub video: Vec<(u64, bool)>,
    /// Whether the first VP8 RTP packet that arrived started a keyframe (below str0m's
    /// depacketizer).
    pub first_packet_was_keyframe: Option<bool>,
}

/// A frame the room's recording tap gave out.
#[derive(Debug, Clone)]
pub struct Tapped {
    pub participant: u32,
    pub kind: Kind,
    pub frame: plenum_record::Frame,
}

#[derive(Debug, Clone)]
struct Packet {
    at: Instant,
    source: SocketAddr,
    destination: SocketAddr,
    contents: Vec<u8>,
}

pub struct Net {
    pub room: Room<u32>,
    pub now: Instant,
    pub clients: BTreeMap<u32, Client>,
    in_flight: VecDeque<Packet>,
    pub latency: Duration,
    /// Fraction of datagrams lost, each way.
    pub loss: f64,
    rng: u64,
    room_deadline: Instant,
    pub ufrags: HashSet<String>,
    pub addresses: HashSet<SocketAddr>,
    pub speakers: Vec<(Instant, Option<u32>)>,
    /// Every `media_closed` the room signalled, also to clients gone.
    pub closed: Vec<(u32, Signal<u32>)>,
    /// Wall-clock time spent inside the room's calls.
    pub room_cpu: Duration,
    pub viewers: BTreeMap<ViewerId, ViewerClient>,
    /// Every `Output::Frame`, in the order the room gave them.
    pub tapped: Vec<Tapped>,
    pub viewers_closed: Vec<ViewerId>,
    /// How many `Output::ViewerKeyframeWanted`, and when the last came.
    pub viewer_keyframes_wanted: Vec<Instant>,
}

impl Net {
    pub fn new() -> Net {
        Net::with_config(config())
    }

    pub fn with_config(config: MediaConfig) -> Net {
        let start = Instant::now();
        Net {
            room: Room::new(config, start),
            now: start,
            clients: BTreeMap::new(),
            in_flight: VecDeque::new(),
            latency: Duration::from_millis(5),
            loss: 0.0,
            rng: 0x2545_f491_4f6c_dd1d,
            room_deadline: start,
            ufrags: HashSet::new(),
            addresses: HashSet::new(),
            speakers: Vec::new(),
            closed: Vec::new(),
            room_cpu: Duration::ZERO,
            viewers: BTreeMap::new(),
            tapped: Vec::new(),
            viewers_closed: Vec::new(),
            viewer_keyframes_wanted: Vec::new(),
        }
    }

    /// A participant joins the room (no connection yet).
    pub fn join(&mut self, id: u32, receive_video: bool) {
        self.join_with(id, receive_video, true);
    }

    /// A participant joins; `auto_answer: false` holds its subscribe offers.
    pub fn join_with(&mut self, id: u32, receive_video: bool, auto_answer: bool) {
        let ip = Ipv4Addr::new(1, 1, 1, id as u8);
        self.clients.insert(
            id,
            Client {
                publish: None,
                subscribe: None,
                publish_addr: SocketAddr::new(ip.into(), 1000),
                subscribe_addr: SocketAddr::new(ip.into(), 2000),
                audio_mid: None,
                video_mid: None,
                level: -127,
                keyframe_interval: Duration::from_secs(1),
                video_codec: Codec::Vp8,
                honour_keyframe_requests: true,
                next_audio: None,
                next_video: None,
                last_keyframe: None,
                audio_ticks: 0,
                video_ticks: 0,
                force_keyframe: false,
                audio_sent: 0,
                video_sent: 0,
                tracks: HashMap::new(),
                received: HashMap::new(),
                keyframe_requests: 0,
                offers: Vec::new(),
                answered_at: None,
                auto_answer,
                held: VecDeque::new(),
                closed: Vec::new(),
            },
        );
        let now = self.now;
        self.timed(|room| room.add_participant(id, receive_video, now));
        self.drain_room();
    }

    /// The participant's client offers its publish connection (audio and/or video).
    pub fn publish(&mut self, id: u32, audio: bool, video: bool) -> Result<(), SignalError> {
        self.publish_codec(id, audio, video.then_some(Codec::Vp8))
    }

    /// Publishes with video in `codec` (VP8 or H.264) when given.
    pub fn publish_codec(
        &mut self,
        id: u32,
        audio: bool,
        codec: Option<Codec>,
    ) -> Result<(), SignalError> {
        let video = codec.is_some();
        let now = self.now;
        let client = self.clients.get_mut(&id).expect("client");
        client.video_codec = codec.unwrap_or(Codec::Vp8);
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(codec != Some(Codec::H264))
            .enable_h264(codec == Some(Codec::H264))
            .build(now);
        rtc.add_local_candidate(Candidate::host(client.publish_addr, "udp").expect("candidate"));
        let mut change = rtc.sdp_api();
        let audio_mid = audio
            .then(|| change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None));
        let video_mid = video
            .then(|| change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None));
        let (offer, pending) = change.apply().expect("an offer");
        let answer = self.timed(|room| room.publish(id, &offer.to_sdp_string(), now))?;
        let answer = SdpAnswer::from_sdp_string(&answer).expect("the room's answer parses");
        rtc.sdp_api()
            .accept_answer(pending, answer)
            .expect("answer accepted");
        let client = self.clients.get_mut(&id).expect("client");
        client.publish = Some(rtc);
        client.audio_mid = audio_mid;
        client.video_mid = video_mid;
        client.next_audio = audio.then_some(now);
        client.next_video = video.then_some(now);
        self.drain_clients();
        self.drain_room();
        Ok(())
    }

    /// The client renegotiates its publish connection to add a video track.
    pub fn add_video(&mut self, id: u32) -> Result<(), SignalError> {
        let now = self.now;
        let client = self.clients.get_mut(&id).expect("client");
        let rtc = client.publish.as_mut().expect("publish connection");
        let mut change = rtc.sdp_api();
        let mid = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        let (offer, pending) = change.apply().expect("an offer");
        let sdp = offer.to_sdp_string();
        let answer = self.timed(|room| room.publish(id, &sdp, now))?;
        let answer = SdpAnswer::from_sdp_string(&answer).expect("the room's answer parses");
        let client = self.clients.get_mut(&id).expect("client");
        let rtc = client.publish.as_mut().expect("publish connection");
        rtc.sdp_api()
            .accept_answer(pending, answer)
            .expect("answer accepted");
        client.video_mid = Some(mid);
        client.next_video = Some(now);
        self.drain_clients();
        self.drain_room();
        Ok(())
    }

    /// A viewer's client offers (WHEP) recvonly audio and video, with VP8 among its video
    /// codecs when `vp8` (else H.264 only).
    pub fn add_viewer(&mut self, id: u64, vp8: bool) -> Result<(), SignalError> {
        let now = self.now;
        let addr = SocketAddr::new(Ipv4Addr::new(2, 2, (id >> 8) as u8, id as u8).into(), 3000);
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(vp8)
            .enable_h264(true)
            .enable_raw_packets(true)
            .build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").expect("candidate"));
        let mut change = rtc.sdp_api();
        let audio_mid = change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        let video_mid = change.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        let (offer, pending) = change.apply().expect("an offer");
        let sdp = offer.to_sdp_string();
        let answer = self.timed(|room| room.add_viewer(ViewerId(id), &sdp, now));
        self.drain_room();
        let answer = answer?;
        assert!(answer.contains("a=sendonly"), "{answer}");
        let answer = SdpAnswer::from_sdp_string(&answer).expect("the room's answer parses");
        rtc.sdp_api()
            .accept_answer(pending, answer)
            .expect("answer accepted");
        self.viewers.insert(
            ViewerId(id),
            ViewerClient {
                rtc,
                addr,
                audio_mid,
                video_mid,
                audio: Vec::new(),
                video: Vec::new(),
                first_packet_was_keyframe: None,
            },
        );
        self.drain_clients();
        self.drain_room();
        Ok(())
    }

    /// The viewer's client asks (through RTCP) for a keyframe.
    pub fn viewer_requests_keyframe(&mut self, id: u64) {
        let viewer = self.viewers.get_mut(&ViewerId(id)).expect("viewer");
        let mid = viewer.video_mid;
        viewer
            .rtc
            .writer(mid)
            .expect("video writer")
            .request_keyframe(None, KeyframeRequestKind::Pli)
            .expect("request");
        self.drain_clients();
    }

    /// Writes one sample of the composed stream to the room's viewers now.
    pub fn write_to_viewers(&mut self, sample: &ViewerSample) {
        let now = self.now;
        self.timed(|room| room.write_to_viewers(sample, now));
        self.drain_room();
    }

    /// The participant's client vanishes (no more datagrams), the room is not told.
    pub fn vanish(&mut self, id: u32) {
        self.clients.remove(&id);
    }

    pub fn leave(&mut self, id: u32) {
        let now = self.now;
        self.timed(|room| room.remove_participant(id, now));
        self.clients.remove(&id);
        self.drain_room();
    }

    /// The subscriber asks (through RTCP) for a keyframe of `from`'s video.
    pub fn request_keyframe(&mut self, id: u32, from: u32) {
        let client = self.clients.get_mut(&id).expect("client");
        let Some(info) = client
            .tracks
            .values()
            .find(|t| t.participant == from && t.kind == Kind::Video)
        else {
            return;
        };
        let mid: Mid = info.mid.as_str().into();
        let rtc = client.subscribe.as_mut().expect("subscribe connection");
        if let Some(mut writer) = rtc.writer(mid) {
            writer
                .request_keyframe(None, KeyframeRequestKind::Pli)
                .expect("request");
        }
        self.drain_clients();
    }

    /// Answers the oldest held subscribe offer.
    pub fn answer_held(&mut self, id: u32) -> Result<(), SignalError> {
        let client = self.clients.get_mut(&id).expect("client");
        let (version, sdp, tracks) = client.held.pop_front().expect("a held offer");
        self.answer(id, version, &sdp, tracks)
    }

    fn answer(
        &mut self,
        id: u32,
        version: u64,
        sdp: &str,
        tracks: Vec<TrackInfo<u32>>,
    ) -> Result<(), SignalError> {
        let now = self.now;
        let client = self.clients.get_mut(&id).expect("client");
        client.tracks = tracks.into_iter().map(|t| (t.mid.clone(), t)).collect();
        let address = client.subscribe_addr;
        let rtc = client.subscribe.get_or_insert_with(|| {
            let mut rtc = Rtc::builder()
                .clear_codecs()
                .enable_opus(true, false)
                .enable_vp8(true)
                .enable_h264(true)
                .enable_raw_packets(true)
                .build(now);
            rtc.add_local_candidate(Candidate::host(address, "udp").expect("candidate"));
            rtc
        });
        let offer = SdpOffer::from_sdp_string(sdp).expect("the room's offer parses");
        let answer = rtc.sdp_api().accept_offer(offer).expect("offer accepted");
        client.answered_at = Some(now);
        let answer = answer.to_sdp_string();
        self.timed(|room| room.subscribe_answer(id, version, &answer, now))?;
        self.drain_clients();
        self.drain_room();
        Ok(())
    }

    fn timed<R>(&mut self, f: impl FnOnce(&mut Room<u32>) -> R) -> R {
        let started = Instant::now();
        let r = f(&mut self.room);
        self.room_cpu += started.elapsed();
        r
    }

    fn lost(&mut self) -> bool {
        if self.loss <= 0.0 {
            return false;
        }
        // xorshift64
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % 10_000) as f64 / 10_000.0 < self.loss
    }

    fn send(&mut self, source: SocketAddr, destination: SocketAddr, contents: Vec<u8>) {
        if self.lost() {
            return;
        }
        let at = self.now + self.latency;
        self.in_flight.push_back(Packet {
            at,
            source,
            destination,
            contents,
        });
    }

    fn drain_room(&mut self) {
        let mut signals = Vec::new();
        loop {
            let started = Instant::now();
            let output = self.room.poll_output();
            self.room_cpu += started.elapsed();
            match output {
                Output::Timeout(at) => {
                    self.room_deadline = at;
                    break;
                }
                Output::Transmit {
                    source,
                    destination,
                    contents,
                } => {
                    assert_eq!(source, SERVER);
                    self.send(source, destination, contents);
                }
                Output::Signal(p, signal) => signals.push((p, signal)),
                Output::Route(route) => match route {
                    Route::AddUfrag(u) => assert!(self.ufrags.insert(u), "ufrag added twice"),
                    Route::RemoveUfrag(u) => {
                        assert!(self.ufrags.remove(&u), "unknown ufrag removed")
                    }
                    Route::AddAddress(a) => {
                        assert!(self.addresses.insert(a), "address added twice")
                    }
                    Route::RemoveAddress(a) => {
                        assert!(self.addresses.remove(&a), "unknown address removed")
                    }
                },
                Output::ActiveSpeaker(p) => self.speakers.push((self.now, p)),
                Output::Frame {
                    participant,
                    kind,
                    frame,
                } => self.tapped.push(Tapped {
                    participant,
                    kind,
                    frame,
                }),
                Output::ViewerClosed(v) => self.viewers_closed.push(v),
                Output::ViewerKeyframeWanted => self.viewer_keyframes_wanted.push(self.now),
            }
        }
        for (p, signal) in signals {
            if matches!(signal, Signal::MediaClosed { .. }) {
                self.closed.push((p, signal.clone()));
            }
            let Some(client) = self.clients.get_mut(&p) else {
                continue;
            };
            match signal {
                Signal::Subscribe {
                    version,
                    sdp,
                    tracks,
                } => {
                    client.offers.push((version, tracks.clone()));
                    if client.auto_answer {
                        self.answer(p, version, &sdp, tracks)
                            .expect("subscribe answer accepted");
                    } else {
                        client.held.push_back((version, sdp, tracks));
                    }
                }
                closed @ Signal::MediaClosed { .. } => client.closed.push(closed),
            }
        }
    }

    /// Sends the clients' due frames and drains every client `Rtc`.
    fn drain_clients(&mut self) {
        let now = self.now;
        let mut out = Vec::new();
        for client in self.clients.values_mut() {
            send_frames(client, now);
            let Client {
                publish, subscribe, ..
            } = client;
            let mut events = Vec::new();
            let vp8_pt = subscribe.as_ref().and_then(|rtc| {
                rtc.codec_config()
                    .find(|p| p.spec().codec == Codec::Vp8)
                    .map(|p| p.pt())
            });
            let vp8_pt = vp8_pt.unwrap_or_else(|| 0.into());
            for rtc in [publish.as_mut(), subscribe.as_mut()].into_iter().flatten() {
                if rtc.is_alive() {
                    rtc.handle_input(Input::Timeout(now))
                        .expect("client timeout");
                }
                loop {
                    match rtc.poll_output().expect("client poll") {
                        RtcOutput::Timeout(_) => break,
                        RtcOutput::Transmit(t) => {
                            out.push((t.source, t.destination, t.contents.into()))
                        }
                        RtcOutput::Event(e) => events.push(e),
                    }
                }
            }
            for event in events {
                match event {
                    Event::MediaData(data) => {
                        let Some(info) = client.tracks.get(&data.mid.to_string()).cloned() else {
                            continue;
                        };
                        let keyframe = data.is_keyframe();
                        let rx = client.counts(info.participant, info.kind);
                        rx.frames += 1;
                        rx.first.get_or_insert(now);
                        rx.last = Some(now);
                        if info.kind == Kind::Video {
                            rx.keyframes += u64::from(keyframe);
                            rx.first_was_keyframe.get_or_insert(keyframe);
                        } else {
                            rx.last_audio_level = data.ext_vals.audio_level;
                        }
                    }
                    Event::KeyframeRequest(_) => {
                        client.keyframe_requests += 1;
                        client.force_keyframe = client.honour_keyframe_requests;
                    }
                    Event::RawPacket(raw) => {
                        let RawPacket::RtpRx(header, payload) = *raw else {
                            continue;
                        };
                        let Some(info) = header
                            .ext_vals
                            .mid
                            .and_then(|m| client.tracks.get(&m.to_string()))
                        else {
                            continue;
                        };
                        // Only VP8 media packets (not RTX or padding) tell where video starts.
                        if info.kind != Kind::Video
                            || payload.is_empty()
                            || header.payload_type != vp8_pt
                        {
                            continue;
                        }
                        let keyframe = vp8_starts_keyframe(&payload);
                        let rx = client.counts(info.participant, Kind::Video);
                        rx.first_packet_was_keyframe.get_or_insert(keyframe);
                    }
                    _ => {}
                }
            }
        }
        for viewer in self.viewers.values_mut() {
            drain_viewer(viewer, now, &mut out);
        }
        for (s, d, c) in out {
            self.send(s, d, c);
        }
    }

    fn client_deadline(&mut self) -> Instant {
        // Clients are polled every millisecond at most; their frames are due on the dot.
        let mut next = self.now + Duration::from_millis(1);
        for c in self.clients.values() {
            for at in [c.next_audio, c.next_video].into_iter().flatten() {
                next = next.min(at.max(self.now));
            }
        }
        next
    }

    /// Delivers a datagram to the room now, as if from `source`.
    pub fn inject(&mut self, source: SocketAddr, contents: &[u8]) -> bool {
        let now = self.now;
        let taken = self.timed(|room| room.handle_datagram(now, source, SERVER, contents));
        self.drain_room();
        taken
    }

    /// Runs the network for `duration` of simulated time.
    pub fn run(&mut self, duration: Duration) {
        let end = self.now + duration;
        while self.now < end {
            // Deliver what arrived.
            while self.in_flight.front().is_some_and(|p| p.at <= self.now) {
                let Some(p) = self.in_flight.pop_front() else {
                    break;
                };
                let now = self.now;
                if p.destination == SERVER {
                    self.timed(|room| {
                        room.handle_datagram(now, p.source, p.destination, &p.contents)
                    });
                    continue;
                }
                if let Some(viewer) = self.viewers.values_mut().find(|v| v.addr == p.destination) {
                    let receive = Receive {
                        proto: Protocol::Udp,
                        source: p.source,
                        destination: p.destination,
                        contents: p.contents.as_slice().try_into().expect("datagram"),
                    };
                    viewer
                        .rtc
                        .handle_input(Input::Receive(now, receive))
                        .expect("viewer receive");
                    continue;
                }
                let Some(client) = self
                    .clients
                    .values_mut()
                    .find(|c| c.publish_addr == p.destination || c.subscribe_addr == p.destination)
                else {
                    continue;
                };
                let rtc = if client.publish_addr == p.destination {
                    client.publish.as_mut()
                } else {
                    client.subscribe.as_mut()
                };
                let Some(rtc) = rtc else { continue };
                let receive = Receive {
                    proto: Protocol::Udp,
                    source: p.source,
                    destination: p.destination,
                    contents: p.contents.as_slice().try_into().expect("datagram"),
                };
                rtc.handle_input(Input::Receive(now, receive))
                    .expect("client receive");
            }
            if self.room_deadline <= self.now {
                let now = self.now;
                self.timed(|room| room.handle_timeout(now));
            }
            self.drain_room();
            self.drain_clients();
            self.drain_room();
            let mut next = self.client_deadline().min(self.room_deadline);
            if let Some(p) = self.in_flight.front() {
                next = next.min(p.at);
            }
            self.now = next
                .max(self.now + Duration::from_micros(100))
                .min(end.max(self.now));
            if self.now >= end {
                break;
            }
        }
    }
}

/// Drains a viewer's client: what it sends goes to `out`, what it receives is counted.
fn drain_viewer(
    viewer: &mut ViewerClient,
    now: Instant,
    out: &mut Vec<(SocketAddr, SocketAddr, Vec<u8>)>,
) {
    let rtc = &mut viewer.rtc;
    if !rtc.is_alive() {
        return;
    }
    rtc.handle_input(Input::Timeout(now))
        .expect("viewer timeout");
    let vp8_pt = rtc
        .codec_config()
        .find(|p| p.spec().codec == Codec::Vp8)
        .map(|p| p.pt());
    loop {
        match rtc.poll_output().expect("viewer poll") {
            RtcOutput::Timeout(_) => break,
            RtcOutput::Transmit(t) => out.push((t.source, t.destination, t.contents.into())),
            RtcOutput::Event(Event::MediaData(data)) => {
                if data.mid == viewer.audio_mid {
                    viewer.audio.push((data.time.numer(), data.data.len()));
                } else if data.mid == viewer.video_mid {
                    viewer.video.push((data.time.numer(), data.is_keyframe()));
                }
            }
            RtcOutput::Event(Event::RawPacket(raw)) => {
                let RawPacket::RtpRx(header, payload) = *raw else {
                    continue;
                };
                if Some(header.payload_type) == vp8_pt && !payload.is_empty() {
                    viewer
                        .first_packet_was_keyframe
                        .get_or_insert(vp8_starts_keyframe(&payload));
                }
            }
            RtcOutput::Event(_) => {}
        }
    }
}

/// A VP8-like frame (what the harness's clients send), for the composed stream.
pub fn vp8_frame(keyframe: bool) -> Vec<u8> {
    if keyframe {
        padded(&VP8_KEYFRAME, 2500)
    } else {
        padded(&[0x11, 0x00, 0x00], 400)
    }
}

/// Whether a VP8 RTP payload (RFC 7741 descriptor, then the VP8 header) starts a keyframe.
fn vp8_starts_keyframe(p: &[u8]) -> bool {
    let start = p[0] & 0x10 != 0 && p[0] & 0x07 == 0;
    let mut i = 1;
    if p[0] & 0x80 != 0 {
        let ext = p.get(1).copied().unwrap_or(0);
        i = 2;
        if ext & 0x80 != 0 {
            i += if p.get(i).is_some_and(|b| b & 0x80 != 0) {
                2
            } else {
                1
            };
        }
        if ext & 0x40 != 0 {
            i += 1;
        }
        if ext & 0x30 != 0 {
            i += 1;
        }
    }
    start && p.get(i).is_some_and(|b| b & 0x01 == 0)
}

/// SPS, PPS and the start of an IDR slice, in Annex B.
const H264_KEYFRAME: [u8; 24] = [
    0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0x8c, 0x8d, 0x40, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0,
    0, 1, 0x65,
];

fn padded(start: &[u8], len: usize) -> Vec<u8> {
    let mut f = start.to_vec();
    f.resize(len, 0x55);
    f
}

const VP8_KEYFRAME: [u8; 10] = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];

/// Writes the client's due audio (20 ms Opus-like frames) and video (20 fps VP8-like).
fn send_frames(client: &mut Client, now: Instant) {
    let Some(rtc) = client.publish.as_mut() else {
        return;
    };
    if !rtc.is_connected() {
        return;
    }
    if let (Some(mid), Some(at)) = (client.audio_mid, client.next_audio)
        && at <= now
    {
        if let Some(writer) = rtc.writer(mid) {
            let pt = writer
                .payload_params()
                .find(|p| p.spec().codec == Codec::Opus)
                .map(|p| p.pt());
            if let Some(pt) = pt {
                let time = MediaTime::new(client.audio_ticks, Frequency::FORTY_EIGHT_KHZ);
                let frame = vec![0xfc; 60];
                writer
                    .audio_level(client.level, client.level > -60)
                    .write(pt, now, time, frame)
                    .expect("audio write");
                client.audio_sent += 1;
            }
        }
        client.audio_ticks += 960;
        client.next_audio = Some(at + Duration::from_millis(20));
    }
    if let (Some(mid), Some(at)) = (client.video_mid, client.next_video)
        && at <= now
    {
        if let Some(writer) = rtc.writer(mid) {
            let pt = writer
                .payload_params()
                .find(|p| p.spec().codec == client.video_codec)
                .map(|p| p.pt());
            if let Some(pt) = pt {
                let keyframe = client.force_keyframe
                    || client
                        .last_keyframe
                        .is_none_or(|k| now - k >= client.keyframe_interval);
                if keyframe {
                    client.last_keyframe = Some(now);
                    client.force_keyframe = false;
                }
                let frame = match (client.video_codec, keyframe) {
                    (Codec::H264, true) => padded(&H264_KEYFRAME, 2500),
                    (Codec::H264, false) => padded(&[0, 0, 0, 1, 0x41, 0x9a], 400),
                    (_, true) => padded(&VP8_KEYFRAME, 2500),
                    (_, false) => padded(&[0x11, 0x00, 0x00], 400),
                };
                let time = MediaTime::new(client.video_ticks, Frequency::NINETY_KHZ);
                writer.write(pt, now, time, frame).expect("video write");
                client.video_sent += 1;
            }
        }
        client.video_ticks += 4500;
        client.next_video = Some(at + Duration::from_millis(50));
    }
}

//! The media client against an in-process stand-in for the server, in simulated time: two
//! ICE-lite str0m `Rtc`s (publish and subscribe, as docs/client-protocol.md, "Media", has the
//! server), which forward what the client publishes back to it as another participant's
//! tracks. Datagrams are handed over in memory (addresses on 127.0.0.1, nothing is bound).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use plenum_client::TrackInfo;
use plenum_client::media::{Connection, Fixtures, MediaClient, MediaConfig, Signal};
use serde_json::Value;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};

const CLIENT_PUBLISH: &str = "127.0.0.1:40001";
const CLIENT_SUBSCRIBE: &str = "127.0.0.1:40002";
const SERVER_PUBLISH: &str = "127.0.0.1:50001";
const SERVER_SUBSCRIBE: &str = "127.0.0.1:50002";
/// Simulated time advances in steps of this.
const STEP: Duration = Duration::from_millis(1);

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A datagram in flight.
#[derive(Debug)]
struct Datagram {
    source: SocketAddr,
    destination: SocketAddr,
    contents: Vec<u8>,
}

/// One of the stand-in server's ICE-lite connections.
struct ServerPeer {
    rtc: Rtc,
    addr: SocketAddr,
    timeout: Instant,
}

impl ServerPeer {
    fn new(addr: SocketAddr, now: Instant) -> Self {
        let mut rtc = RtcConfig::new()
            .set_ice_lite(true)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .build(now);
        rtc.add_local_candidate(
            Candidate::host(addr, "udp").unwrap_or_else(|e| panic!("candidate: {e}")),
        );
        Self {
            rtc,
            addr,
            timeout: now,
        }
    }

    /// Drains to the timeout: datagrams go to `out`, events are returned.
    fn drain(&mut self, out: &mut VecDeque<Datagram>) -> Vec<Event> {
        let mut events = Vec::new();
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.timeout = t;
                    return events;
                }
                Ok(Output::Transmit(t)) => out.push_back(Datagram {
                    source: t.source,
                    destination: t.destination,
                    contents: t.contents.into(),
                }),
                Ok(Output::Event(e)) => events.push(e),
                Err(e) => panic!("server rtc: {e}"),
            }
        }
    }
}

/// The stand-in server: a publish connection that takes the client's offer, a subscribe
/// connection that offers the client the published tracks back (as `peer`), and forwarding.
struct Server {
    publish: ServerPeer,
    subscribe: ServerPeer,
    /// Subscribe m-lines: (audio, video).
    sub_mids: Option<(Mid, Mid)>,
    pending: Option<SdpPendingOffer>,
    forwarded: u64,
}

fn signal_of(frame: &str) -> Value {
    serde_json::from_str(frame).unwrap_or_else(|e| panic!("{e}: {frame}"))
}

struct Sim {
    now: Instant,
    /// The video m-line of the client's publish offer.
    publish_video: Option<Mid>,
    client: MediaClient,
    server: Server,
    wire: VecDeque<Datagram>,
}

impl Sim {
    /// The client joined: it offers its publish connection; the server answers it and offers
    /// the subscribe connection with the client's own tracks as `peer`'s.
    fn start(video: bool, peer: &str) -> Self {
        let now = Instant::now();
        let fixtures = Fixtures::embedded().unwrap_or_else(|e| panic!("{e:#}"));
        let mut client = MediaClient::new(
            MediaConfig {
                video,
                publish_addr: addr(CLIENT_PUBLISH),
                subscribe_addr: addr(CLIENT_SUBSCRIBE),
            },
            fixtures,
        );
        client.start(now);
        let publish = signal_of(&client.poll_signalling().expect("a publish frame"));
        assert_eq!(publish["type"], "publish");
        assert!(client.poll_signalling().is_none());
        let offer_sdp = publish["sdp"].as_str().expect("sdp");
        assert!(offer_sdp.contains("a=sendonly"), "{offer_sdp}");
        assert!(offer_sdp.contains("opus"), "{offer_sdp}");
        assert_eq!(offer_sdp.contains("VP8"), video, "{offer_sdp}");
        assert!(offer_sdp.contains("a=candidate"), "{offer_sdp}");

        let mut wire = VecDeque::new();
        let mut server = Server {
            publish: ServerPeer::new(addr(SERVER_PUBLISH), now),
            subscribe: ServerPeer::new(addr(SERVER_SUBSCRIBE), now),
            sub_mids: None,
            pending: None,
            forwarded: 0,
        };
        // The m-line after `m=video` names the video's mid.
        let publish_video = offer_sdp
            .split("m=")
            .find(|m| m.starts_with("video"))
            .and_then(|m| m.lines().find_map(|l| l.strip_prefix("a=mid:")))
            .map(|mid| Mid::from(mid.trim()));
        let offer = SdpOffer::from_sdp_string(offer_sdp).unwrap_or_else(|e| panic!("{e}"));
        let answer = server
            .publish
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .unwrap_or_else(|e| panic!("{e}"));
        server.publish.drain(&mut wire);
        client.handle_signal(
            Signal::Answer {
                reference: Some(publish["ref"].clone()),
                sdp: answer.to_sdp_string(),
            },
            now,
        );

        // The subscribe offer: the client's own tracks, as another participant's.
        let mut change = server.subscribe.rtc.sdp_api();
        let audio = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let video_mid = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        let (offer, pending) = change.apply().expect("an offer");
        server.subscribe.drain(&mut wire);
        server.sub_mids = Some((audio, video_mid));
        server.pending = Some(pending);
        client.handle_signal(
            Signal::Subscribe {
                version: 1,
                sdp: offer.to_sdp_string(),
                tracks: vec![
                    TrackInfo {
                        mid: audio.to_string(),
                        client_uuid: peer.to_owned(),
                        kind: "audio".to_owned(),
                    },
                    TrackInfo {
                        mid: video_mid.to_string(),
                        client_uuid: peer.to_owned(),
                        kind: "video".to_owned(),
                    },
                ],
            },
            now,
        );
        let answer = signal_of(&client.poll_signalling().expect("a subscribe_answer"));
        assert_eq!(answer["type"], "subscribe_answer");
        assert_eq!(answer["version"], 1);
        let answer = SdpAnswer::from_sdp_string(answer["sdp"].as_str().expect("sdp"))
            .unwrap_or_else(|e| panic!("{e}"));
        let pending = server.pending.take().expect("pending");
        server
            .subscribe
            .rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .unwrap_or_else(|e| panic!("{e}"));
        server.subscribe.drain(&mut wire);
        Self {
            now,
            publish_video,
            client,
            server,
            wire,
        }
    }

    /// Moves every datagram to its destination (zero latency), and forwards what the server's
    /// publish connection receives to its subscribe connection.
    fn deliver(&mut self) {
        let mut rounds = 0;
        while let Some(d) = self.wire.pop_front() {
            rounds += 1;
            assert!(rounds < 100_000, "a datagram storm");
            let now = self.now;
            let to_server = |peer: &mut ServerPeer, wire: &mut VecDeque<Datagram>| {
                let receive = Receive::new(Protocol::Udp, d.source, d.destination, &d.contents)
                    .unwrap_or_else(|e| panic!("{e}"));
                peer.rtc
                    .handle_input(Input::Receive(now, receive))
                    .unwrap_or_else(|e| panic!("{e}"));
                peer.drain(wire)
            };
            if d.destination == self.server.publish.addr {
                let events = to_server(&mut self.server.publish, &mut self.wire);
                self.forward(events);
            } else if d.destination == self.server.subscribe.addr {
                to_server(&mut self.server.subscribe, &mut self.wire);
            } else {
                let connection = if d.destination == addr(CLIENT_PUBLISH) {
                    Connection::Publish
                } else {
                    assert_eq!(d.destination, addr(CLIENT_SUBSCRIBE));
                    Connection::Subscribe
                };
                self.client
                    .handle_datagram(connection, d.source, &d.contents, now);
                while let Some(t) = self.client.poll_transmit() {
                    assert_eq!(
                        t.source,
                        addr(match t.connection {
                            Connection::Publish => CLIENT_PUBLISH,
                            Connection::Subscribe => CLIENT_SUBSCRIBE,
                        })
                    );
                    self.wire.push_back(Datagram {
                        source: t.source,
                        destination: t.destination,
                        contents: t.contents,
                    });
                }
            }
        }
    }

    fn forward(&mut self, events: Vec<Event>) {
        let Some((audio, video)) = self.server.sub_mids else {
            return;
        };
        for e in events {
            let Event::MediaData(data) = e else { continue };
            let kind = self.server.publish.rtc.media(data.mid).map(|m| m.kind());
            let mid = match kind {
                Some(MediaKind::Audio) => audio,
                Some(MediaKind::Video) => video,
                None => continue,
            };
            let Some(writer) = self.server.subscribe.rtc.writer(mid) else {
                continue;
            };
            let Some(pt) = writer.match_params(data.params) else {
                continue;
            };
            if writer
                .write(pt, data.network_time, data.time, data.data.clone())
                .is_ok()
            {
                self.server.forwarded += 1;
            }
            self.server.subscribe.drain(&mut self.wire);
        }
    }

    /// Runs simulated time for `span`.
    fn run(&mut self, span: Duration) {
        let end = self.now + span;
        while self.now < end {
            self.now += STEP;
            let now = self.now;
            self.client.handle_timeout(now);
            while let Some(t) = self.client.poll_transmit() {
                self.wire.push_back(Datagram {
                    source: t.source,
                    destination: t.destination,
                    contents: t.contents,
                });
            }
            for peer in [&mut self.server.publish, &mut self.server.subscribe] {
                if peer.timeout <= now {
                    peer.rtc
                        .handle_input(Input::Timeout(now))
                        .unwrap_or_else(|e| panic!("{e}"));
                    let events = peer.drain(&mut self.wire);
                    assert!(
                        !events.iter().any(|e| matches!(e, Event::MediaData(_))),
                        "media data on a timeout"
                    );
                }
            }
            self.deliver();
        }
    }
}

#[test]
fn the_client_publishes_and_counts_what_it_receives_per_participant() {
    let mut sim = Sim::start(true, "peer-a");
    let t0 = sim.now;
    sim.run(Duration::from_secs(3));
    let stats = sim.client.stats().clone();
    assert!(stats.publish_connected.is_some(), "{stats:?}");
    assert!(stats.subscribe_connected.is_some(), "{stats:?}");
    assert!(sim.client.poll_timeout().is_some());
    // 20 ms audio, 15 fps video, for a little less than 3 s (after the connection came up).
    assert!((120..=151).contains(&stats.sent_audio_frames), "{stats:?}");
    assert!((35..=46).contains(&stats.sent_video_frames), "{stats:?}");
    assert!(sim.server.forwarded > 150, "{}", sim.server.forwarded);

    let from = stats.from.get("peer-a").expect("stats of peer-a");
    assert!(from.audio_frames >= 100, "{from:?}");
    assert_eq!(
        from.audio_packets, from.audio_frames,
        "one packet per Opus frame"
    );
    assert!(from.video_frames >= 30, "{from:?}");
    assert!(from.video_packets >= from.video_frames, "{from:?}");
    assert!(from.keyframes >= 2, "a keyframe a second: {from:?}");
    assert_eq!(from.lost, 0, "{from:?}");
    assert!(from.bytes > 20_000, "{from:?}");
    let first = from.first_video_frame.expect("a first video frame");
    assert!(
        first - t0 < Duration::from_secs(1),
        "first frame after {:?}",
        first - t0
    );
    assert_eq!(
        from.first_keyframe,
        Some(first),
        "video starts at a keyframe"
    );
    assert_eq!(stats.unattributed_frames, 0);
    assert!(stats.closed.is_empty(), "{:?}", stats.closed);

    // The JSON the bot prints.
    let json = stats.from_json();
    assert_eq!(json["peer-a"]["video_frames"], from.video_frames);
    assert!(json["peer-a"].get("first_video_frame").is_none());
}

#[test]
fn a_keyframe_request_is_answered_with_the_next_keyframe_at_once() {
    let mut sim = Sim::start(true, "peer-c");
    sim.run(Duration::from_millis(1_300));
    let before = sim.client.stats().from["peer-c"].keyframes;
    // The stand-in server asks the publisher for a keyframe (as the SFU does for a new viewer).
    let video = sim
        .publish_video
        .expect("the publish connection's video m-line");
    sim.server
        .publish
        .rtc
        .writer(video)
        .expect("a writer")
        .request_keyframe(None, KeyframeRequestKind::Pli)
        .unwrap_or_else(|e| panic!("{e}"));
    sim.server.publish.drain(&mut sim.wire);
    sim.deliver();
    // Well before the file's next keyframe (a second apart).
    sim.run(Duration::from_millis(150));
    let stats = sim.client.stats();
    assert_eq!(stats.keyframe_requests, 1, "{stats:?}");
    assert_eq!(stats.from["peer-c"].keyframes, before + 1, "{stats:?}");
    assert_eq!(stats.from["peer-c"].lost, 0, "skipping frames is not loss");
}

#[test]
fn an_audio_only_client_offers_no_video() {
    let mut sim = Sim::start(false, "peer-b");
    sim.run(Duration::from_secs(1));
    let stats = sim.client.stats();
    assert_eq!(stats.sent_video_frames, 0);
    assert!(stats.sent_audio_frames > 30, "{stats:?}");
    let from = stats.from.get("peer-b").expect("stats of peer-b");
    assert_eq!(from.video_frames, 0);
    assert!(from.audio_frames > 30, "{from:?}");
}

#[test]
fn media_signalling_is_read_from_server_frames() {
    let frame = r#"{"type":"subscribe","version":3,"sdp":"v=0\r\n","tracks":[{"mid":"0","client_uuid":"u1","kind":"audio"}]}"#;
    let fields: plenum_client::Fields<'_> =
        serde_json::from_str(frame).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        Signal::from_fields(&fields),
        Some(Signal::Subscribe {
            version: 3,
            sdp: "v=0\r\n".to_owned(),
            tracks: vec![TrackInfo {
                mid: "0".to_owned(),
                client_uuid: "u1".to_owned(),
                kind: "audio".to_owned()
            }]
        })
    );
    let frame = r#"{"type":"error","ref":"publish-1","code":"media_unavailable","message":"no"}"#;
    let fields: plenum_client::Fields<'_> =
        serde_json::from_str(frame).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        Signal::from_fields(&fields),
        Some(Signal::Error { code, .. }) if code == "media_unavailable"
    ));
    // Another request's error is not media signalling.
    let frame = r#"{"type":"error","ref":"talk","code":"not_muted"}"#;
    let fields: plenum_client::Fields<'_> =
        serde_json::from_str(frame).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(Signal::from_fields(&fields), None);
}

#[test]
fn a_closed_publish_connection_is_offered_again_and_a_refused_one_is_not() {
    let mut sim = Sim::start(true, "peer-d");
    sim.run(Duration::from_millis(1_500));
    let now = sim.now;
    sim.client.handle_signal(
        Signal::Closed {
            connection: "publish".to_owned(),
            reason: "failed".to_owned(),
        },
        now,
    );
    let again = signal_of(&sim.client.poll_signalling().expect("a new publish"));
    assert_eq!(again["type"], "publish");
    assert_eq!(again["ref"], "publish-2");
    assert!(!sim.client.is_connected(Connection::Publish));
    // The subscribe connection is untouched.
    assert!(sim.client.is_connected(Connection::Subscribe));

    // Closed again at once: offered once more; a third time in a row within a second: given
    // up (no loop of offers against a server that fails them).
    sim.client.handle_signal(
        Signal::Closed {
            connection: "publish".to_owned(),
            reason: "failed".to_owned(),
        },
        now,
    );
    let third = signal_of(&sim.client.poll_signalling().expect("one more publish"));
    assert_eq!(third["ref"], "publish-3");
    sim.client.handle_signal(
        Signal::Closed {
            connection: "publish".to_owned(),
            reason: "failed".to_owned(),
        },
        now,
    );
    assert!(sim.client.poll_signalling().is_none(), "given up");
    let again = third;
    sim.client.handle_signal(
        Signal::Error {
            reference: Some(again["ref"].clone()),
            code: "media_unavailable".to_owned(),
            message: "no media here".to_owned(),
        },
        now,
    );
    assert!(sim.client.poll_signalling().is_none(), "no third offer");
    let closed = &sim.client.stats().closed;
    assert_eq!(closed.len(), 4, "{closed:?}");
    assert!(closed[3].contains("media_unavailable"), "{closed:?}");
    // An answer that comes late for the refused offer is ignored.
    sim.client.handle_signal(
        Signal::Answer {
            reference: Some(again["ref"].clone()),
            sdp: "v=0\r\n".to_owned(),
        },
        now,
    );
    assert!(sim.client.poll_signalling().is_none());
}

#[test]
fn a_publish_refused_as_not_joined_yet_is_offered_again_a_little_later() {
    // A server that answers the first publish before it has taken in the join.
    let now = Instant::now();
    let fixtures = Fixtures::embedded().unwrap_or_else(|e| panic!("{e:#}"));
    let mut client = MediaClient::new(
        MediaConfig {
            video: true,
            publish_addr: addr(CLIENT_PUBLISH),
            subscribe_addr: addr(CLIENT_SUBSCRIBE),
        },
        fixtures,
    );
    client.start(now);
    let mut offered = vec![signal_of(&client.poll_signalling().expect("a publish"))];
    for attempt in 1..=4 {
        let last = &offered[offered.len() - 1];
        client.handle_signal(
            Signal::Error {
                reference: Some(last["ref"].clone()),
                code: "not_joined".to_owned(),
                message: "not in the meeting".to_owned(),
            },
            now,
        );
        assert!(client.poll_signalling().is_none(), "not at once");
        // Each retry waits longer: 250 ms, 500 ms, 750 ms; after three, no more.
        let due = client.poll_timeout();
        if attempt == 4 {
            assert!(due.is_none(), "given up after three retries");
            break;
        }
        let due = due.expect("a retry is due");
        assert_eq!(due - now, Duration::from_millis(250) * attempt);
        client.handle_timeout(due);
        let again = signal_of(&client.poll_signalling().expect("publish again"));
        assert_eq!(again["type"], "publish");
        assert_eq!(again["ref"], format!("publish-{}", attempt + 1));
        offered.push(again);
    }
    assert_eq!(offered.len(), 4);
    assert_eq!(
        client.stats().closed.len(),
        4,
        "{:?}",
        client.stats().closed
    );
}

use std::net::SocketAddr;

use plenum_media::Kind;

use crate::net::Net;
use crate::secs;

fn stranger() -> SocketAddr {
    "6.6.6.6:6666".parse().expect("address")
}

/// A STUN binding request header announcing 16 bytes of attributes that are not there.
fn truncated_stun() -> Vec<u8> {
    let mut m = vec![0x00, 0x01, 0x00, 0x10, 0x21, 0x12, 0xa4, 0x42];
    m.extend_from_slice(&[7; 12]);
    m
}

/// A STUN binding request with USERNAME `nobody:x` (a ufrag no connection has).
fn stun_for_nobody() -> Vec<u8> {
    let username = b"nobody:x";
    let mut m = vec![0x00, 0x01, 0x00, 12, 0x21, 0x12, 0xa4, 0x42];
    m.extend_from_slice(&[7; 12]);
    m.extend_from_slice(&[0x00, 0x06, 0x00, username.len() as u8]);
    m.extend_from_slice(username);
    m
}

/// The start of a DTLS 1.2 ClientHello record.
fn dtls_hello() -> Vec<u8> {
    let mut m = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40, 1, 0, 0, 34];
    m.resize(53, 0);
    m
}

#[test]
fn strangers_datagrams_are_dropped_and_counted() {
    let mut net = Net::new();
    for id in 1..=2 {
        net.join(id, true);
        net.publish(id, true, true).expect("publish");
    }
    net.run(secs(1.0));
    let before = net.room.stats();
    assert!(!net.inject(stranger(), b"random bytes, not a protocol"));
    assert!(!net.inject(stranger(), &[]));
    assert!(!net.inject(stranger(), &truncated_stun()));
    assert!(!net.inject(stranger(), &stun_for_nobody()));
    assert!(!net.inject(stranger(), &dtls_hello()));
    assert!(!net.inject(stranger(), &[0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]));
    let after = net.room.stats();
    assert_eq!(after.datagrams_dropped - before.datagrams_dropped, 6);
    // Strangers got no answer routes.
    assert!(!net.addresses.contains(&stranger()));

    // Garbage from a peer's own address reaches only that peer and breaks nothing.
    let known = net.clients[&1].publish_addr;
    net.inject(known, &[0xff; 40]);
    net.inject(known, &[0x80; 40]);
    net.inject(known, &dtls_hello());
    net.inject(known, &truncated_stun());
    let audio = net.clients[&2].rx(1, Kind::Audio).frames;
    net.run(secs(1.0));
    assert!(
        net.clients[&2].rx(1, Kind::Audio).frames >= audio + 40,
        "media still flows"
    );
    assert!(net.closed.is_empty(), "{:?}", net.closed);
}

#[test]
fn media_survives_five_percent_loss() {
    let mut net = Net::new();
    net.loss = 0.05;
    for id in 1..=2 {
        net.join(id, true);
        net.publish(id, true, true).expect("publish");
    }
    net.run(secs(2.0));
    let (a0, v0) = (
        net.clients[&2].rx(1, Kind::Audio).frames,
        net.clients[&2].rx(1, Kind::Video).frames,
    );
    let (sa0, sv0) = (net.clients[&1].audio_sent, net.clients[&1].video_sent);
    net.run(secs(5.0));
    let audio = net.clients[&2].rx(1, Kind::Audio).frames - a0;
    let video = net.clients[&2].rx(1, Kind::Video).frames - v0;
    let sent_audio = net.clients[&1].audio_sent - sa0;
    let sent_video = net.clients[&1].video_sent - sv0;
    eprintln!("5 % loss each way: audio {audio}/{sent_audio}, video {video}/{sent_video} frames");
    // Audio has no retransmission: about 90 % crosses two lossy hops. Video is repaired
    // by NACK/RTX on both legs.
    assert!(audio * 100 >= sent_audio * 80, "audio {audio}/{sent_audio}");
    assert!(video * 100 >= sent_video * 85, "video {video}/{sent_video}");
}

#[test]
fn keyframe_requests_reach_the_publisher_throttled() {
    let mut net = Net::new();
    for id in 1..=2 {
        net.join(id, true);
        net.publish(id, true, true).expect("publish");
        net.clients.get_mut(&id).expect("client").keyframe_interval = secs(60.0);
    }
    net.run(secs(2.0));
    let before = net.clients[&1].keyframe_requests;
    let keyframes = net.clients[&2].rx(1, Kind::Video).keyframes;
    // The subscriber asks every 20 ms for two seconds.
    for _ in 0..100 {
        net.request_keyframe(2, 1);
        net.run(secs(0.02));
    }
    net.run(secs(0.2));
    let reached = net.clients[&1].keyframe_requests - before;
    // Throttle 500 ms: at most one per half second (plus one at the edge).
    assert!(
        (1..=5).contains(&reached),
        "{reached} requests reached the publisher"
    );
    assert!(
        net.clients[&2].rx(1, Kind::Video).keyframes > keyframes,
        "and keyframes came back"
    );
}

#[test]
fn the_loudest_forwarded_participant_is_the_active_speaker() {
    let mut net = Net::new();
    for id in 1..=3 {
        net.join(id, true);
        net.publish(id, true, false).expect("publish");
    }
    net.clients.get_mut(&2).expect("client").level = -20;
    net.run(secs(2.0));
    assert_eq!(net.speakers.last().map(|s| s.1), Some(Some(2)));
    net.clients.get_mut(&2).expect("client").level = -127;
    net.clients.get_mut(&3).expect("client").level = -10;
    net.run(secs(3.0));
    assert_eq!(net.speakers.last().map(|s| s.1), Some(Some(3)));
    // A muted participant is not forwarded, so not the speaker.
    let now = net.now;
    net.room.set_forwarding(3, false, true, now);
    net.run(secs(2.0));
    assert_eq!(net.speakers.last().map(|s| s.1), Some(None));
}

#[test]
fn a_track_above_its_cap_is_cut_to_it() {
    // The clients' audio is 60 bytes every 20 ms: 24 kbit/s of frames, capped at 12.
    let mut net = Net::with_config(plenum_media::MediaConfig {
        max_audio_bitrate: 12_000,
        ..crate::net::config()
    });
    for id in 1..=2 {
        net.join(id, true);
        net.publish(id, true, false).expect("publish");
    }
    net.run(secs(1.0));
    let (received, sent) = (
        net.clients[&2].rx(1, Kind::Audio).frames,
        net.clients[&1].audio_sent,
    );
    net.run(secs(3.0));
    let received = net.clients[&2].rx(1, Kind::Audio).frames - received;
    let sent = net.clients[&1].audio_sent - sent;
    assert!(
        received * 100 >= sent * 40 && received * 100 <= sent * 55,
        "{received} of {sent}"
    );
}

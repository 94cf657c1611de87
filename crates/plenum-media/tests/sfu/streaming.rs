//! Live-stream viewers (WHEP): seatless subscribers sent the composed stream.

use std::sync::Arc;

use plenum_media::{Kind, MediaConfig, SignalError, ViewerId, ViewerSample};

use crate::net::{Net, config, vp8_frame};
use crate::secs;

fn audio(i: u64) -> ViewerSample {
    ViewerSample {
        kind: Kind::Audio,
        data: Arc::from(vec![0xfc; 80]),
        rtp_time: 1_000 + i * 960,
        keyframe: false,
    }
}

fn video(i: u64, keyframe: bool) -> ViewerSample {
    ViewerSample {
        kind: Kind::Video,
        data: Arc::from(vp8_frame(keyframe)),
        rtp_time: 5_000 + i * 4500,
        keyframe,
    }
}

/// Writes `n` audio samples (20 ms apart) and a video sample every other one (a keyframe
/// where `keyframe(i)`), running the network in between.
fn stream(net: &mut Net, from: u64, n: u64, keyframe: impl Fn(u64) -> bool) {
    for i in from..from + n {
        net.write_to_viewers(&audio(i));
        if i % 2 == 0 {
            net.write_to_viewers(&video(i / 2, keyframe(i)));
        }
        net.run(secs(0.02));
    }
}

#[test]
fn a_viewer_connects_and_gets_audio_and_video_from_a_keyframe_without_a_seat() {
    let mut net = Net::with_config(MediaConfig {
        max_peers: 2,
        ..config()
    });
    for id in 1..=2 {
        net.join(id, true);
        net.publish(id, true, true).expect("publish");
    }
    net.add_viewer(7, true).expect("the viewer is answered");
    assert_eq!(net.room.viewer_count(), 1);
    net.run(secs(0.5));
    assert!(
        !net.viewer_keyframes_wanted.is_empty(),
        "a keyframe is wanted once the viewer connected"
    );
    // A delta before any keyframe is not delivered; audio is.
    net.write_to_viewers(&video(0, false));
    stream(&mut net, 1, 10, |_| false);
    let viewer = &net.viewers[&ViewerId(7)];
    assert!(viewer.audio.len() >= 9, "{:?}", viewer.audio);
    assert!(viewer.video.is_empty());
    assert_eq!(
        viewer.first_packet_was_keyframe, None,
        "no video packet yet"
    );
    // From the keyframe on, video too.
    stream(&mut net, 11, 40, |i| i == 12);
    net.run(secs(0.1));
    let viewer = &net.viewers[&ViewerId(7)];
    assert_eq!(viewer.first_packet_was_keyframe, Some(true));
    assert_eq!(viewer.video.first().map(|v| v.1), Some(true));
    assert_eq!(
        viewer.video.len(),
        20,
        "every video sample from the keyframe"
    );
    assert_eq!(viewer.audio.len(), 50, "every audio sample");
    assert!(viewer.audio.iter().all(|(_, len)| *len == 80));
    for pair in viewer.video.windows(2) {
        assert_eq!(
            pair[1].0 - pair[0].0,
            4500,
            "the composition's timing is kept"
        );
    }
    for pair in viewer.audio.windows(2) {
        assert_eq!(pair[1].0 - pair[0].0, 960);
    }
    assert_eq!(net.room.stats().viewer_frames, 70);

    // Not a participant: its seatless connection left both seats to participants, and the
    // room is full to a third.
    assert!(net.clients[&1].rx(2, Kind::Video).frames > 10);
    net.join(3, true);
    assert_eq!(net.publish(3, true, false), Err(SignalError::RoomFull));
    assert!(net.viewers_closed.is_empty());
}

#[test]
fn a_viewer_connects_when_the_room_is_full_of_participants() {
    let mut net = Net::with_config(MediaConfig {
        max_peers: 1,
        ..config()
    });
    net.join(1, true);
    net.publish(1, true, true).expect("publish");
    net.join(2, true);
    assert_eq!(net.publish(2, true, false), Err(SignalError::RoomFull));
    net.add_viewer(1, true).expect("the viewer is answered");
    net.run(secs(0.3));
    stream(&mut net, 0, 10, |i| i == 0);
    net.run(secs(0.1));
    let viewer = &net.viewers[&ViewerId(1)];
    assert_eq!(viewer.audio.len(), 10);
    assert_eq!(viewer.video.len(), 5);
}

#[test]
fn removed_viewers_get_nothing_more() {
    let mut net = Net::new();
    net.add_viewer(1, true).expect("viewer 1");
    net.add_viewer(2, true).expect("viewer 2");
    net.add_viewer(3, true).expect("viewer 3");
    assert_eq!(net.ufrags.len(), 3, "one ufrag route each");
    net.run(secs(0.5));
    stream(&mut net, 0, 10, |i| i == 0);
    net.run(secs(0.1));
    let now = net.now;
    net.room.remove_viewer(ViewerId(1), now);
    net.run(secs(0.05));
    assert_eq!(net.room.viewer_count(), 2);
    assert_eq!(net.ufrags.len(), 2);
    assert!(!net.addresses.contains(&net.viewers[&ViewerId(1)].addr));
    stream(&mut net, 10, 10, |_| false);
    net.run(secs(0.1));
    assert_eq!(
        net.viewers[&ViewerId(1)].audio.len(),
        10,
        "nothing after removal"
    );
    assert_eq!(net.viewers[&ViewerId(2)].audio.len(), 20);

    let now = net.now;
    net.room.remove_all_viewers(now);
    net.run(secs(0.05));
    assert_eq!(net.room.viewer_count(), 0);
    assert!(net.ufrags.is_empty() && net.addresses.is_empty());
    stream(&mut net, 20, 10, |_| false);
    net.run(secs(0.1));
    assert_eq!(net.viewers[&ViewerId(2)].audio.len(), 20);
    assert_eq!(net.viewers[&ViewerId(3)].audio.len(), 20);
    assert!(net.viewers_closed.is_empty(), "removals are not closes");
}

#[test]
fn an_idle_viewer_times_out_with_viewer_closed() {
    let mut net = Net::new();
    net.add_viewer(4, true).expect("viewer");
    net.add_viewer(5, true).expect("viewer");
    net.run(secs(1.0));
    net.viewers.remove(&ViewerId(4));
    net.run(secs(25.0));
    assert!(net.viewers_closed.is_empty(), "not before 30 s");
    net.run(secs(6.0));
    assert_eq!(net.viewers_closed, vec![ViewerId(4)]);
    assert_eq!(net.room.viewer_count(), 1);
    assert_eq!(net.ufrags.len(), 1, "its routes are withdrawn");
}

#[test]
fn an_offer_without_vp8_is_refused() {
    let mut net = Net::new();
    let refused = net.add_viewer(1, false);
    assert!(
        matches!(&refused, Err(SignalError::InvalidSdp(why)) if why.contains("VP8")),
        "{refused:?}"
    );
    assert_eq!(net.room.viewer_count(), 0);
    assert!(net.ufrags.is_empty(), "no route is left behind");
    assert!(matches!(
        net.room.add_viewer(ViewerId(2), "not sdp", net.now),
        Err(SignalError::InvalidSdp(_))
    ));
}

#[test]
fn a_viewer_s_pli_makes_a_keyframe_wanted_throttled() {
    let mut net = Net::new();
    net.add_viewer(1, true).expect("viewer");
    net.run(secs(1.0));
    stream(&mut net, 0, 10, |i| i == 0);
    let wanted = net.viewer_keyframes_wanted.len();
    net.viewer_requests_keyframe(1);
    net.run(secs(0.05));
    assert_eq!(net.viewer_keyframes_wanted.len(), wanted + 1);
    // A second within the throttle is not passed on; after it, it is.
    net.viewer_requests_keyframe(1);
    net.run(secs(0.05));
    assert_eq!(net.viewer_keyframes_wanted.len(), wanted + 1);
    net.run(secs(0.5));
    net.viewer_requests_keyframe(1);
    net.run(secs(0.05));
    assert_eq!(net.viewer_keyframes_wanted.len(), wanted + 2);
}

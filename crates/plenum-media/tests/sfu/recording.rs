//! The recording tap: what the room forwards, handed to the recorder as whole frames.

use plenum_media::Kind;
use plenum_record::Codec;

use crate::net::{Net, Tapped};
use crate::secs;

/// 1 publishes audio and video, keyframes only when asked (after its first); 2 publishes
/// both too. Each receives the other.
fn two_publishers() -> Net {
    let mut net = Net::new();
    for id in 1..=2 {
        net.join(id, true);
        net.publish(id, true, true).expect("publish");
        net.clients.get_mut(&id).expect("client").keyframe_interval = secs(60.0);
    }
    net.run(secs(2.0));
    net
}

fn of(net: &Net, participant: u32, kind: Kind) -> Vec<Tapped> {
    net.tapped
        .iter()
        .filter(|t| t.participant == participant && t.kind == kind)
        .cloned()
        .collect()
}

fn assert_increasing(frames: &[Tapped]) {
    for pair in frames.windows(2) {
        assert!(
            pair[1].frame.rtp_time > pair[0].frame.rtp_time,
            "rtp time goes back: {} then {}",
            pair[0].frame.rtp_time,
            pair[1].frame.rtp_time
        );
        assert!(pair[1].frame.arrival >= pair[0].frame.arrival);
    }
}

#[test]
fn with_the_tap_off_no_frame_comes_out() {
    let mut net = two_publishers();
    net.run(secs(1.0));
    assert!(
        net.clients[&2].rx(1, Kind::Video).frames > 10,
        "media flows"
    );
    assert!(net.tapped.is_empty());
    assert_eq!(net.room.stats().frames_tapped, 0);
}

#[test]
fn the_tap_gives_out_what_is_forwarded_in_order_video_from_a_keyframe() {
    let mut net = two_publishers();
    // 2 is muted by the host: nothing of it is forwarded, nothing is recorded.
    let now = net.now;
    net.room.set_forwarding(2, false, false, now);
    net.run(secs(1.0));
    let requests = net.clients[&1].keyframe_requests;
    let audio_before = net.clients[&1].audio_sent;
    let now = net.now;
    net.room.set_tap(true, now);
    net.run(secs(2.0));

    assert!(
        net.clients[&1].keyframe_requests > requests,
        "turning the tap on asks the video publisher for a keyframe"
    );
    let audio = of(&net, 1, Kind::Audio);
    let video = of(&net, 1, Kind::Video);
    let sent_audio = net.clients[&1].audio_sent - audio_before;
    assert!(
        audio.len() as u64 >= sent_audio - 2 && audio.len() >= 90,
        "{} audio frames tapped of {sent_audio} sent",
        audio.len()
    );
    assert!(video.len() >= 35, "{} video frames tapped", video.len());
    assert!(audio.iter().all(|t| t.frame.codec == Codec::Opus
        && t.frame.data.len() == 60
        && !t.frame.keyframe
        && t.frame.contiguous));
    assert!(video.iter().all(|t| t.frame.codec == Codec::Vp8));
    assert!(
        video[0].frame.keyframe,
        "the tapped video starts at a keyframe"
    );
    assert_eq!(video[0].frame.data.len(), 2500);
    assert!(video[1..].iter().any(|t| !t.frame.keyframe));
    assert_increasing(&audio);
    assert_increasing(&video);
    // Audio at 48 kHz (960 per 20 ms frame), video at 90 kHz (4500 per 50 ms frame).
    assert_eq!(audio[1].frame.rtp_time - audio[0].frame.rtp_time, 960);
    assert_eq!(video[2].frame.rtp_time - video[1].frame.rtp_time, 4500);
    // In the order received, across tracks.
    for pair in net.tapped.windows(2) {
        assert!(pair[1].frame.arrival >= pair[0].frame.arrival);
    }
    // Sender reports (str0m sends video's every second) come with the frames after them,
    // their RTP time on the frames' clock.
    let last = video.last().expect("video");
    let report = last.frame.sender_report.expect("a sender report by now");
    assert!(
        report.rtp_time <= last.frame.rtp_time
            && last.frame.rtp_time - report.rtp_time < 2 * 90_000,
        "report at {}, frame at {}",
        report.rtp_time,
        last.frame.rtp_time
    );

    assert!(
        of(&net, 2, Kind::Audio).is_empty() && of(&net, 2, Kind::Video).is_empty(),
        "a muted participant is not recorded"
    );
    assert_eq!(net.room.stats().frames_tapped, net.tapped.len() as u64);

    // Unmuted: 2 is recorded from then on, its video from a keyframe.
    let now = net.now;
    net.room.set_forwarding(2, true, true, now);
    net.run(secs(1.0));
    assert!(of(&net, 2, Kind::Audio).len() >= 40);
    let video2 = of(&net, 2, Kind::Video);
    assert!(video2.len() >= 10 && video2[0].frame.keyframe);

    // Off: nothing more.
    let now = net.now;
    net.room.set_tap(false, now);
    let tapped = net.tapped.len();
    net.run(secs(1.0));
    assert_eq!(net.tapped.len(), tapped);
    assert!(
        net.clients[&2].rx(1, Kind::Audio).frames > 100,
        "forwarding goes on"
    );
}

#[test]
fn the_tap_records_a_publisher_alone_in_the_room() {
    let mut net = Net::new();
    net.join(1, true);
    net.publish(1, true, true).expect("publish");
    let now = net.now;
    net.room.set_tap(true, now);
    net.run(secs(1.0));
    assert!(of(&net, 1, Kind::Audio).len() >= 40);
    let video = of(&net, 1, Kind::Video);
    assert!(video.len() >= 15 && video[0].frame.keyframe);
}

#[test]
fn request_keyframe_of_reaches_the_publisher_as_a_pli_throttled() {
    let mut net = two_publishers();
    net.run(secs(1.0));
    let requests = net.clients[&1].keyframe_requests;
    let others = net.clients[&2].keyframe_requests;
    let now = net.now;
    net.room.request_keyframe_of(1, now);
    net.room.request_keyframe_of(1, now + secs(0.1));
    net.run(secs(0.2));
    assert_eq!(
        net.clients[&1].keyframe_requests,
        requests + 1,
        "one PLI within the throttle"
    );
    assert_eq!(
        net.clients[&2].keyframe_requests, others,
        "only 1 was asked"
    );
    net.run(secs(0.5));
    let now = net.now;
    net.room.request_keyframe_of(1, now);
    net.run(secs(0.2));
    assert_eq!(net.clients[&1].keyframe_requests, requests + 2);
    // Someone with no video, or not in the room: nothing happens.
    net.join(3, true);
    net.publish(3, true, false).expect("publish");
    let now = net.now;
    net.room.request_keyframe_of(3, now);
    net.room.request_keyframe_of(99, now);
    net.run(secs(0.2));
    assert_eq!(net.clients[&3].keyframe_requests, 0);
}

#[test]
fn the_tap_passes_h264_access_units_from_a_keyframe() {
    let mut net = Net::new();
    net.join(1, true);
    net.publish_codec(1, true, Some(str0m::format::Codec::H264))
        .expect("H.264");
    net.clients.get_mut(&1).expect("client").keyframe_interval = secs(60.0);
    net.run(secs(1.0));
    let now = net.now;
    net.room.set_tap(true, now);
    net.run(secs(1.0));
    let video = of(&net, 1, Kind::Video);
    assert!(video.len() >= 15, "{} video frames tapped", video.len());
    assert!(video.iter().all(|t| t.frame.codec == Codec::H264));
    assert!(video[0].frame.keyframe, "from the keyframe asked for");
    assert!(
        video[0].frame.data.starts_with(&[0, 0, 0, 1, 0x67]),
        "Annex B, SPS first"
    );
    assert_increasing(&video);
}

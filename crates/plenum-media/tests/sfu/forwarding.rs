use plenum_media::Kind;

use crate::net::Net;
use crate::secs;

/// Everyone publishes audio and video; each receives both from everyone else.
fn mesh(n: u32, seconds: f64) -> Net {
    let mut net = Net::new();
    for id in 1..=n {
        net.join(id, true);
        net.publish(id, true, true).expect("publish");
    }
    net.run(secs(seconds));
    net
}

fn assert_receives_everyone(net: &Net, n: u32) {
    for id in 1..=n {
        let client = &net.clients[&id];
        for from in (1..=n).filter(|f| *f != id) {
            let audio = client.rx(from, Kind::Audio);
            let video = client.rx(from, Kind::Video);
            assert!(
                audio.frames >= 50,
                "{id} got {} audio frames from {from}",
                audio.frames
            );
            assert!(
                video.frames >= 20,
                "{id} got {} video frames from {from}",
                video.frames
            );
            assert_eq!(
                video.first_was_keyframe,
                Some(true),
                "{id}'s video from {from} starts at a keyframe"
            );
            assert_eq!(
                audio.last_audio_level,
                Some(-127),
                "the audio level extension is forwarded"
            );
        }
        assert!(
            client.rx(id, Kind::Audio).frames == 0,
            "no one receives themselves"
        );
    }
}

#[test]
fn two_peers_exchange_audio_and_video() {
    let net = mesh(2, 3.0);
    assert_receives_everyone(&net, 2);
}

#[test]
fn three_peers_each_receive_the_other_two() {
    let net = mesh(3, 3.0);
    assert_receives_everyone(&net, 3);
}

#[test]
fn eight_peers_each_receive_the_other_seven() {
    let mut net = mesh(8, 1.0);
    // Steady state, after the handshakes: room time per forwarded frame.
    let (cpu, frames) = (net.room_cpu, net.room.stats().frames_forwarded);
    net.run(secs(2.0));
    assert_receives_everyone(&net, 8);
    let forwarded = net.room.stats().frames_forwarded - frames;
    // 8 publishers x 7 subscribers x (50 audio + 20 video frames) per second.
    assert!(
        forwarded > 8 * 7 * 70 * 2 * 9 / 10,
        "{forwarded} frames in 2 s"
    );
    eprintln!(
        "8 peers, steady state: {forwarded} frames forwarded in 2 s, {:.1} µs of room time per \
         forwarded frame ({} build)",
        (net.room_cpu - cpu).as_secs_f64() * 1e6 / forwarded as f64,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    );
}

#[test]
fn a_late_joiner_sees_video_within_a_second_of_its_answer() {
    let mut net = Net::new();
    for id in 1..=2 {
        net.join(id, true);
        net.publish(id, true, true).expect("publish");
        // Keyframes only on request: what the late joiner gets is what it asked for.
        net.clients.get_mut(&id).expect("client").keyframe_interval = secs(60.0);
    }
    net.run(secs(3.0));
    net.join(3, true);
    net.publish(3, true, false).expect("publish");
    net.run(secs(1.5));
    let joiner = &net.clients[&3];
    let answered = joiner.answered_at.expect("the joiner answered an offer");
    for from in 1..=2 {
        let video = joiner.rx(from, Kind::Video);
        let first = video.first.expect("video arrived");
        eprintln!(
            "late joiner: video from {from} {:?} after its answer",
            first - answered
        );
        assert!(
            first - answered < secs(1.0),
            "video from {from} after {:?}",
            first - answered
        );
        assert_eq!(video.first_was_keyframe, Some(true));
        assert!(video.frames >= 10, "{video:?}");
    }
    // The others kept their video flowing and now get the joiner's audio.
    assert!(net.clients[&1].rx(3, Kind::Audio).frames > 20);
    assert_eq!(net.clients[&1].rx(3, Kind::Video).frames, 0);
}

#[test]
fn a_new_subscriber_s_video_starts_at_a_keyframe() {
    let mut net = Net::new();
    net.join(1, true);
    net.publish(1, true, true).expect("publish");
    // Keyframes once a second whatever is asked: the joiner arrives mid-GOP.
    net.clients
        .get_mut(&1)
        .expect("client")
        .honour_keyframe_requests = false;
    net.run(secs(2.5));
    net.join(2, true);
    net.run(secs(1.5));
    let video = net.clients[&2].rx(1, Kind::Video);
    assert!(video.frames > 5, "{video:?}");
    assert_eq!(
        video.first_packet_was_keyframe,
        Some(true),
        "deltas before the first keyframe are dropped"
    );
}

#[test]
fn a_leaver_s_tracks_are_renegotiated_away_and_stop() {
    let mut net = mesh(3, 2.0);
    let before = net.clients[&1].rx(3, Kind::Video).frames;
    assert!(before > 0);
    // The room drops 3; its client goes on sending, as a misbehaving one would.
    let now = net.now;
    net.room.remove_participant(3, now);
    // Whatever was in flight lands within the latency.
    net.run(secs(0.1));
    let received = |net: &Net, id: u32| {
        let client = &net.clients[&id];
        (
            client.rx(3, Kind::Audio).frames,
            client.rx(3, Kind::Video).frames,
        )
    };
    let landed = [received(&net, 1), received(&net, 2)];
    let dropped = net.room.stats().datagrams_dropped;
    net.run(secs(1.0));
    assert!(
        net.room.stats().datagrams_dropped > dropped + 50,
        "3's datagrams are dropped"
    );
    for id in 1..=2 {
        assert_eq!(
            received(&net, id),
            landed[id as usize - 1],
            "nothing from 3 reaches {id}"
        );
        let client = &net.clients[&id];
        let (_, tracks) = client.offers.last().expect("offers");
        assert!(
            tracks.iter().all(|t| t.participant != 3),
            "{id}'s last offer still lists 3: {tracks:?}"
        );
        assert_eq!(tracks.len(), 2, "{id} keeps the other's two tracks");
    }
    // The remaining two still exchange media.
    let a = net.clients[&1].rx(2, Kind::Audio).frames;
    net.run(secs(0.5));
    assert!(net.clients[&1].rx(2, Kind::Audio).frames > a + 15);
}

#[test]
fn mute_stops_audio_at_the_others_while_video_goes_on() {
    let mut net = mesh(2, 2.0);
    let now = net.now;
    net.room.set_forwarding(1, false, true, now);
    net.run(secs(0.1));
    let audio = net.clients[&2].rx(1, Kind::Audio).frames;
    let video = net.clients[&2].rx(1, Kind::Video).frames;
    net.run(secs(1.0));
    assert_eq!(
        net.clients[&2].rx(1, Kind::Audio).frames,
        audio,
        "muted audio is not forwarded"
    );
    assert!(
        net.clients[&2].rx(1, Kind::Video).frames >= video + 15,
        "video goes on"
    );
    assert!(net.clients[&1].rx(2, Kind::Audio).frames > 0);
    let now = net.now;
    net.room.set_forwarding(1, true, true, now);
    net.run(secs(0.5));
    assert!(
        net.clients[&2].rx(1, Kind::Audio).frames >= audio + 20,
        "unmuted audio resumes"
    );

    // Video muted: stops; unmuted: resumes at a keyframe within a second.
    let now = net.now;
    net.room.set_forwarding(1, true, false, now);
    net.run(secs(0.1));
    let video = net.clients[&2].rx(1, Kind::Video).frames;
    net.run(secs(1.0));
    assert_eq!(net.clients[&2].rx(1, Kind::Video).frames, video);
    let now = net.now;
    net.room.set_forwarding(1, true, true, now);
    net.run(secs(1.0));
    assert!(net.clients[&2].rx(1, Kind::Video).frames >= video + 10);
}

#[test]
fn a_view_of_one_sends_that_one_s_video_only() {
    let mut net = mesh(3, 2.0);
    let now = net.now;
    net.room.set_view(3, Some(vec![1]), now);
    net.run(secs(0.1));
    let from1 = net.clients[&3].rx(1, Kind::Video).frames;
    let from2 = net.clients[&3].rx(2, Kind::Video).frames;
    let audio2 = net.clients[&3].rx(2, Kind::Audio).frames;
    net.run(secs(1.0));
    let viewer = &net.clients[&3];
    assert!(
        viewer.rx(1, Kind::Video).frames >= from1 + 15,
        "the shown one's video flows"
    );
    assert_eq!(
        viewer.rx(2, Kind::Video).frames,
        from2,
        "the other's video stops"
    );
    assert!(
        viewer.rx(2, Kind::Audio).frames >= audio2 + 40,
        "audio is unaffected"
    );
    // Others' views are untouched.
    assert!(net.clients[&1].rx(2, Kind::Video).frames > from2);

    let now = net.now;
    net.room.set_view(3, None, now);
    net.run(secs(1.0));
    assert!(
        net.clients[&3].rx(2, Kind::Video).frames >= from2 + 10,
        "back to everyone"
    );
}

#[test]
fn an_audio_only_participant_gets_no_video_and_sends_none() {
    let mut net = Net::new();
    net.join(1, true);
    net.publish(1, true, true).expect("publish");
    net.join(2, false);
    // Its client offers video anyway: it is refused.
    net.publish(2, true, true).expect("publish");
    net.run(secs(3.0));
    let listener = &net.clients[&2];
    assert!(listener.rx(1, Kind::Audio).frames >= 50);
    assert_eq!(listener.rx(1, Kind::Video).frames, 0);
    for (_, tracks) in &listener.offers {
        assert!(tracks.iter().all(|t| t.kind == Kind::Audio), "{tracks:?}");
    }
    let other = &net.clients[&1];
    assert!(other.rx(2, Kind::Audio).frames >= 50);
    assert_eq!(other.rx(2, Kind::Video).frames, 0);
    assert!(
        other
            .offers
            .iter()
            .all(|(_, t)| t.iter().all(|t| t.kind == Kind::Audio))
    );
}

#[test]
fn h264_is_forwarded_like_vp8() {
    let mut net = Net::new();
    net.join(1, true);
    net.publish_codec(1, true, Some(str0m::format::Codec::H264))
        .expect("H.264");
    net.join(2, true);
    net.publish(2, true, true).expect("VP8");
    net.run(secs(3.0));
    assert_receives_everyone(&net, 2);
}

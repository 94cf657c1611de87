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

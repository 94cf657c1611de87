//! What one mixed 20 ms packet costs with four talkers: four Opus decodes, the mix, one
//! encode. Prints the figure (`cargo test -p plenum-record --test compose_cost --
//! --nocapture`); asserts only that the work was done, never a time (machines differ).

use std::time::{Duration, Instant};

use plenum_client::media::source::{AUDIO_OGG, read_ogg_opus};
use plenum_record::mix::{AudioMixer, PACKET, Pushed};
use plenum_record::timeline::SenderClock;
use plenum_record::{Codec, Frame};

#[test]
fn cost_of_a_mixed_20ms_packet_with_four_sources() {
    let audio = read_ogg_opus(AUDIO_OGG).expect("the Opus fixture");
    const SOURCES: u32 = 4;
    const PACKETS: u32 = 1_500; // 30 s of simulated time
    let start = Instant::now();
    let mut mixer = AudioMixer::<u32>::new(start).expect("a mixer");
    let mut senders: Vec<SenderClock> = (0..SOURCES).map(|_| SenderClock::default()).collect();
    let mut out = 0u32;
    let mut bytes = 0usize;
    let mut push_time = Duration::ZERO;
    let mut release_time = Duration::ZERO;
    for k in 0..PACKETS {
        // Each source's frame k arrives 40 ms after its time; the mix is polled then.
        let now = start + PACKET * k + Duration::from_millis(40);
        let began = Instant::now();
        for (p, sender) in senders.iter_mut().enumerate() {
            let packet = &audio.samples[(k as usize + p * 37) % audio.samples.len()];
            let frame = Frame {
                codec: Codec::Opus,
                data: packet.data.clone(),
                rtp_time: 1_000 * p as u64 + 960 * u64::from(k),
                arrival: now,
                sender_report: None,
                keyframe: true,
                contiguous: true,
            };
            assert_eq!(mixer.push(p as u32, sender, &frame, now), Pushed::Mixed);
        }
        let pushed = Instant::now();
        while let Some(sample) = mixer.poll(now) {
            out += 1;
            bytes += sample.data.len();
        }
        release_time += pushed.elapsed();
        push_time += pushed - began;
    }
    assert_eq!(mixer.stats().frames_mixed, u64::from(SOURCES * PACKETS));
    assert!(out > PACKETS - 10, "{out} packets released");
    let per = |d: Duration| d / PACKETS;
    println!(
        "{SOURCES} sources, {PACKETS} packets of 20 ms ({} profile): per packet {:?} \
         ({:?} decoding and mixing {SOURCES} frames, {:?} encoding), {:.1} % of one core; \
         {} bytes a packet on average",
        if cfg!(debug_assertions) {
            "dev"
        } else {
            "release"
        },
        per(push_time + release_time),
        per(push_time),
        per(release_time),
        (push_time + release_time).as_secs_f64() / (f64::from(PACKETS) * 0.020) * 100.0,
        bytes / out as usize,
    );
}

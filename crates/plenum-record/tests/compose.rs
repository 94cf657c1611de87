//! The composition (mixed audio, the speaker's video) in simulated time, with the project's
//! real Opus and VP8 fixtures, checked by decoding the mix with libopus.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use plenum_client::media::source::{AUDIO_OGG, Track, VIDEO_IVF, read_ivf, read_ogg_opus};
use plenum_record::compose::{Composer, ComposerOutput, KEYFRAME_RETRY};
use plenum_record::mix::{AudioMixer, PACKET, Pushed, SAMPLE_RATE};
use plenum_record::timeline::SenderClock;
use plenum_record::{Codec, Frame, Sample, SenderReport};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn audio_fixture() -> &'static Track {
    static AUDIO: OnceLock<Track> = OnceLock::new();
    AUDIO.get_or_init(|| read_ogg_opus(AUDIO_OGG).expect("the Opus fixture"))
}

fn video_fixture() -> &'static Track {
    static VIDEO: OnceLock<Track> = OnceLock::new();
    VIDEO.get_or_init(|| read_ivf(VIDEO_IVF).expect("the VP8 fixture"))
}

/// How a participant's track is sent: captured from `from` to `to` (composition time),
/// arriving `latency(k)` after capture; RTP times from `rtp_base`; with a sender report
/// naming `wall` the sender's clock at `rtp_base`, when set.
#[derive(Clone)]
struct Send {
    from: Duration,
    to: Duration,
    rtp_base: u64,
    latency: fn(usize) -> Duration,
    wall: Option<SystemTime>,
}

impl Send {
    fn new(from: Duration, to: Duration) -> Self {
        Send {
            from,
            to,
            rtp_base: 12_345,
            latency: |_| ms(30),
            wall: None,
        }
    }
}

#[derive(Debug)]
enum Ev {
    Push(u32, Frame),
    Speaker(Option<u32>),
    Lecturer(Option<u32>),
    Remove(u32),
    KeyframeWanted,
}

/// A simulated meeting: events at composition times, the composer polled in between as its
/// timeouts ask.
struct Sim {
    start: Instant,
    events: Vec<(Duration, Ev)>,
    /// Which participant and frame index a VP8 frame's bytes are (by address).
    video_of: HashMap<usize, (u32, usize)>,
}

struct Run {
    samples: Vec<Sample>,
    requests: Vec<(Duration, u32)>,
    composer: Composer<u32>,
}

impl Sim {
    fn new() -> Self {
        Sim {
            start: Instant::now(),
            events: Vec::new(),
            video_of: HashMap::new(),
        }
    }

    fn at(&mut self, t: Duration, ev: Ev) {
        self.events.push((t, ev));
    }

    fn audio(&mut self, p: u32, send: Send) {
        self.audio_packets(p, send, |k| {
            let packets = &audio_fixture().samples;
            packets[k % packets.len()].data.clone()
        });
    }

    /// Audio of packets made by `packet(k)` (20 ms each).
    fn audio_packets(&mut self, p: u32, send: Send, packet: impl Fn(usize) -> Arc<[u8]>) {
        let mut k = 0;
        while send.from + PACKET * k as u32 <= send.to {
            let capture = send.from + PACKET * k as u32;
            let rtp = send.rtp_base + 960 * k as u64;
            let frame = Frame {
                codec: Codec::Opus,
                data: packet(k),
                rtp_time: rtp,
                arrival: self.start + capture + (send.latency)(k),
                sender_report: send.wall.map(|ntp| SenderReport {
                    ntp,
                    rtp_time: send.rtp_base,
                }),
                keyframe: true,
                contiguous: true,
            };
            self.at(capture + (send.latency)(k), Ev::Push(p, frame));
            k += 1;
        }
    }

    /// The VP8 fixture in a loop (15 fps, a keyframe every 7 frames), each frame's bytes
    /// copied so that the output tells whose frame it is.
    fn video(&mut self, p: u32, send: Send) {
        let track = video_fixture();
        let mut k = 0;
        loop {
            let sample = &track.samples[k % track.samples.len()];
            let rtp_offset =
                (k / track.samples.len()) as u64 * track.rtp_duration + sample.rtp_offset;
            let capture = send.from + Duration::from_micros(rtp_offset * 1_000_000 / 90_000);
            if capture > send.to {
                break;
            }
            let data: Arc<[u8]> = Arc::from(&*sample.data);
            self.video_of.insert(data.as_ptr() as usize, (p, k));
            let frame = Frame {
                codec: Codec::Vp8,
                data,
                rtp_time: send.rtp_base + rtp_offset,
                arrival: self.start + capture + (send.latency)(k),
                sender_report: send.wall.map(|ntp| SenderReport {
                    ntp,
                    rtp_time: send.rtp_base,
                }),
                keyframe: sample.keyframe,
                contiguous: true,
            };
            self.at(capture + (send.latency)(k), Ev::Push(p, frame));
            k += 1;
        }
    }

    /// Whose frame (participant, index) a composed VP8 sample is.
    fn whose(&self, sample: &Sample) -> (u32, usize) {
        self.video_of[&(sample.data.as_ptr() as usize)]
    }

    /// Runs the events, then the composition until `end`, and finishes it there.
    fn run(&mut self, end: Duration) -> Run {
        self.events.sort_by_key(|(t, _)| *t);
        let mut composer = Composer::new(self.start);
        let mut now = self.start;
        let mut samples = Vec::new();
        let mut requests = Vec::new();
        let start = self.start;
        let mut advance = |composer: &mut Composer<u32>, now: &mut Instant, until: Instant| {
            loop {
                match composer.poll(*now) {
                    ComposerOutput::Sample(s) => samples.push(s),
                    ComposerOutput::RequestKeyframe(p) => requests.push((*now - start, p)),
                    ComposerOutput::Timeout(t) => {
                        assert!(t > *now, "a timeout in the past: {t:?} at {now:?}");
                        if t > until {
                            *now = until;
                            return;
                        }
                        *now = t;
                    }
                }
            }
        };
        for (t, ev) in self.events.drain(..) {
            advance(&mut composer, &mut now, start + t);
            match ev {
                Ev::Push(p, frame) => composer.push(p, &frame, now),
                Ev::Speaker(p) => composer.set_speaker(p, now),
                Ev::Lecturer(p) => composer.set_lecturer(p, now),
                Ev::Remove(p) => composer.remove(p, now),
                Ev::KeyframeWanted => composer.keyframe_wanted(now),
            }
        }
        advance(&mut composer, &mut now, start + end);
        samples.extend(composer.finish(start + end));
        assert_in_time_order(&samples);
        Run {
            samples,
            requests,
            composer,
        }
    }
}

fn assert_in_time_order(samples: &[Sample]) {
    for pair in samples.windows(2) {
        assert!(
            pair[0].time <= pair[1].time,
            "out of order: {:?} {:?} then {:?} {:?}",
            pair[0].codec,
            pair[0].time,
            pair[1].codec,
            pair[1].time
        );
    }
}

fn audio(samples: &[Sample]) -> Vec<&Sample> {
    samples.iter().filter(|s| s.codec == Codec::Opus).collect()
}

fn video(samples: &[Sample]) -> Vec<&Sample> {
    samples.iter().filter(|s| s.codec == Codec::Vp8).collect()
}

/// The audio is one packet every 20 ms from t = 0, no gap, no duplicate, lasting `span`
/// to within 20 ms.
fn assert_continuous_audio(samples: &[Sample], span: Duration) {
    let audio = audio(samples);
    for (k, s) in audio.iter().enumerate() {
        assert_eq!(s.time, PACKET * k as u32, "packet {k}");
    }
    let duration = PACKET * audio.len() as u32;
    assert!(
        duration >= span && duration < span + PACKET,
        "{duration:?} of audio for {span:?}"
    );
}

/// The mix decoded with libopus, shifted back by its pre-skip: sample `n` is composition
/// time n / 48 kHz.
fn decode_mix(run: &Run) -> Vec<i16> {
    let mut decoder =
        opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono).expect("a libopus decoder");
    let mut pcm = Vec::new();
    let mut buf = vec![0i16; 5760];
    for s in audio(&run.samples) {
        let n = decoder
            .decode(&s.data, &mut buf, false)
            .expect("the mix decodes");
        pcm.extend_from_slice(&buf[..n]);
    }
    let pre_skip = usize::from(run.composer.opus_head().pre_skip);
    pcm.split_off(pre_skip)
}

fn at(t: Duration) -> usize {
    (t.as_micros() * u128::from(SAMPLE_RATE) / 1_000_000) as usize
}

fn rms(pcm: &[i16], from: Duration, to: Duration) -> f64 {
    let window = &pcm[at(from)..at(to)];
    let sum: f64 = window.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / window.len() as f64).sqrt()
}

#[test]
fn two_talkers_make_a_continuous_stream_of_20ms_packets_as_long_as_the_recording() {
    let mut sim = Sim::new();
    sim.audio(1, Send::new(ms(0), ms(4980)));
    sim.audio(
        2,
        Send {
            rtp_base: 900_000,
            latency: |k| ms(20 + (k as u64 * 7) % 15),
            ..Send::new(ms(1000), ms(3990))
        },
    );
    let run = sim.run(ms(5000));
    assert_continuous_audio(&run.samples, ms(5000));
    let stats = run.composer.stats();
    assert_eq!(stats.mix.frames_mixed, 250 + 150);
    assert_eq!(stats.mix.late_dropped + stats.mix.late_truncated, 0);
    assert_eq!(stats.mix.packets_out, 250);
    // An odd end: the last packet ends less than 20 ms after it.
    let mut sim = Sim::new();
    sim.audio(1, Send::new(ms(0), ms(2000)));
    let run = sim.run(ms(2345));
    assert_continuous_audio(&run.samples, ms(2345));
}

#[test]
fn the_mix_has_sound_where_someone_spoke_and_silence_where_nobody_did() {
    let mut sim = Sim::new();
    sim.audio(1, Send::new(ms(500), ms(1980)));
    sim.audio(
        2,
        Send {
            rtp_base: 4_000_000_000,
            latency: |k| ms(40 + (k as u64 * 13) % 19),
            ..Send::new(ms(1500), ms(2980))
        },
    );
    let run = sim.run(ms(5000));
    assert_continuous_audio(&run.samples, ms(5000));
    let pcm = decode_mix(&run);
    // The fixture is a 440 Hz sine at an eighth of full scale: RMS ≈ 2900.
    let silent = [(0, 450), (3200, 4950)];
    let loud = [(600, 1000), (1000, 1500), (1500, 2000), (2100, 3000)];
    for (from, to) in silent {
        let level = rms(&pcm, ms(from), ms(to));
        assert!(level < 30.0, "{from}..{to} ms: RMS {level}");
    }
    for (from, to) in loud {
        let level = rms(&pcm, ms(from), ms(to));
        // (Where both sines sound, their phases are 144° apart: RMS ≈ 1800.)
        assert!(level > 800.0, "{from}..{to} ms: RMS {level}");
    }
}

/// 20 ms Opus packets of a sine, of `amplitude` in silence from packet `on` to `off`.
fn tone(frequency: f64, amplitude: f64, packets: usize, on: usize, off: usize) -> Vec<Arc<[u8]>> {
    let mut encoder =
        opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Audio)
            .expect("a libopus encoder");
    encoder
        .set_bitrate(opus::Bitrate::Bits(128_000))
        .expect("a bitrate");
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1500];
    for k in 0..packets {
        let pcm: Vec<i16> = (0..960)
            .map(|i| {
                if (on..off).contains(&k) {
                    let t = (k * 960 + i) as f64 / f64::from(SAMPLE_RATE);
                    (amplitude * (2.0 * std::f64::consts::PI * frequency * t).sin()) as i16
                } else {
                    0
                }
            })
            .collect();
        let n = encoder.encode(&pcm, &mut buf).expect("encodes");
        out.push(Arc::from(&buf[..n]));
    }
    out
}

#[test]
fn two_loud_sources_saturate_and_never_wrap_around() {
    let packets = tone(100.0, 30_000.0, 50, 0, 50);
    let mut sim = Sim::new();
    for p in [1, 2] {
        let packets = packets.clone();
        sim.audio_packets(p, Send::new(ms(100), ms(1080)), move |k| packets[k].clone());
    }
    let run = sim.run(ms(1500));
    let mix = decode_mix(&run);
    // What one source decodes to; the mix is twice that, clipped.
    let mut decoder = opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono).expect("a decoder");
    let mut one = Vec::new();
    let mut buf = vec![0i16; 5760];
    for p in &packets {
        let n = decoder.decode(p, &mut buf, false).expect("decodes");
        one.extend_from_slice(&buf[..n]);
    }
    // Both placed at their first frame's arrival, 130 ms.
    let offset = at(ms(130));
    // Wherever one source is near its peak, the mix (twice that) is at full scale with the
    // same sign; a wrapping sum would have flipped it (2 × 30000 wraps to -5536).
    let (mut peaks, mut full) = (0, 0);
    for (i, &x) in one.iter().enumerate().skip(2_000) {
        let m = i32::from(mix[offset + i]);
        if i32::from(x).abs() > 20_000 {
            peaks += 1;
            assert_eq!(
                m.signum(),
                i32::from(x).signum(),
                "sample {i}: source {x}, mix {m}"
            );
            assert!(m.abs() > 20_000, "sample {i}: source {x}, mix {m}");
            if m.abs() > 28_000 {
                full += 1;
            }
        }
    }
    assert!(peaks > 10_000, "{peaks} peaks");
    assert!(
        full * 10 > peaks * 9,
        "{full} of {peaks} peaks at full scale"
    );
}

fn opus_frame(k: usize, arrival: Instant) -> Frame {
    let packets = &audio_fixture().samples;
    Frame {
        codec: Codec::Opus,
        data: packets[k % packets.len()].data.clone(),
        rtp_time: 960 * k as u64,
        arrival,
        sender_report: None,
        keyframe: true,
        contiguous: true,
    }
}

#[test]
fn a_frame_later_than_the_allowance_is_dropped_and_counted() {
    let start = Instant::now();
    let mut mixer = AudioMixer::<u32>::new(start).expect("a mixer");
    let mut sender = SenderClock::default();
    let mut released = Vec::new();
    let mut now = start;
    for k in 0..50 {
        let captured = start + PACKET * k as u32;
        // Two network stalls: frames 20.. arrive at 500 ms (100 ms late, within the
        // allowance), frames 30.. at 810 ms (210 ms late, beyond it).
        now = now.max(captured);
        if k == 20 {
            now = start + ms(500);
        }
        if k == 30 {
            now = start + ms(810);
        }
        while let Some(s) = mixer.poll(now) {
            released.push(s);
        }
        let pushed = mixer.push(7, &mut sender, &opus_frame(k, now), now);
        // At 810 ms, packets up to 660 ms are due (their end plus 150 ms): frames 30..=32
        // are too late.
        let expected = match k {
            30..=32 => Pushed::LateDropped,
            _ => Pushed::Mixed,
        };
        assert_eq!(pushed, expected, "frame {k}");
    }
    let stats = mixer.stats();
    assert_eq!((stats.frames_mixed, stats.late_dropped), (47, 3));
    while let Some(s) = mixer.flush(start + ms(1000)) {
        released.push(s);
    }
    assert_eq!(
        released.len(),
        50,
        "the stream has no hole where the frame was lost"
    );
    // A duplicate is refused without disturbing the source.
    assert_eq!(
        mixer.push(7, &mut sender, &opus_frame(49, start + ms(980)), now),
        Pushed::OutOfOrder
    );
    // Video is not the mixer's.
    let mut vp8 = opus_frame(50, start + ms(1000));
    vp8.codec = Codec::Vp8;
    assert_eq!(mixer.push(7, &mut sender, &vp8, now), Pushed::NotAudio);
}

#[test]
fn a_lost_packet_is_concealed_not_left_silent() {
    let mut sim = Sim::new();
    let mut k = 0;
    while k < 50 {
        if k != 25 {
            let mut frame = opus_frame(k, sim.start + ms(100) + PACKET * k as u32);
            frame.contiguous = k != 26;
            sim.at(ms(100) + PACKET * k as u32, Ev::Push(1, frame));
        }
        k += 1;
    }
    let run = sim.run(ms(1200));
    assert_eq!(run.composer.stats().mix.concealed, 1);
    let pcm = decode_mix(&run);
    // Packet 25 would have been at 600..620 ms.
    let level = rms(&pcm, ms(600), ms(620));
    assert!(level > 1000.0, "the lost packet's 20 ms: RMS {level}");
}

#[test]
fn sender_reports_place_each_participants_audio_at_its_capture_time() {
    // Participant 1: video anchors its clock (10 ms path); its audio's path is 130 ms, so by
    // arrival the audio would be 120 ms late. Participant 2: audio only, its clock in another
    // year and other RTP bases. Each sends a tone burst in silence.
    let wall1 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let wall2 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
    let burst1 = tone(1000.0, 12_000.0, 100, 40, 45);
    let burst2 = tone(1000.0, 12_000.0, 100, 70, 75);
    let mut sim = Sim::new();
    sim.video(
        1,
        Send {
            rtp_base: 3_000_000,
            latency: |_| ms(10),
            wall: Some(wall1),
            ..Send::new(ms(0), ms(2000))
        },
    );
    sim.audio_packets(
        1,
        Send {
            rtp_base: 77_777,
            latency: |_| ms(130),
            wall: Some(wall1),
            ..Send::new(ms(0), ms(1980))
        },
        move |k| burst1[k].clone(),
    );
    sim.audio_packets(
        2,
        Send {
            rtp_base: 4_294_000_000,
            latency: |k| ms(50 + (k as u64 * 11) % 20),
            wall: Some(wall2),
            ..Send::new(ms(0), ms(1980))
        },
        move |k| burst2[k].clone(),
    );
    let run = sim.run(ms(2500));
    let pcm = decode_mix(&run);
    let onset = |from: Duration| {
        let first = pcm[at(from)..]
            .iter()
            .position(|&s| s.abs() > 4_000)
            .expect("a burst");
        Duration::from_micros((at(from) + first) as u64 * 1_000_000 / 48_000)
    };
    // Participant 1's burst was captured at 800 ms: placed at capture + 10 ms (its clock is
    // anchored by the video's first frame), not at its audio's arrival (+130 ms).
    let first = onset(ms(500));
    // Participant 2's at 1400 ms, placed at capture + its first frame's 50 ms.
    let second = onset(ms(1100));
    // The tone encoder's own delay (6.5 ms lookahead) is in the decoded source.
    let delay = Duration::from_micros(6_500);
    for (got, want) in [(first, ms(810) + delay), (second, ms(1450) + delay)] {
        assert!(
            got.abs_diff(want) <= ms(3),
            "burst at {got:?}, expected {want:?}"
        );
    }
}

#[test]
fn a_speaker_change_switches_the_video_at_the_new_speakers_keyframe() {
    let mut sim = Sim::new();
    for p in [1, 2] {
        sim.audio(p, Send::new(ms(0), ms(3980)));
        sim.video(
            p,
            Send {
                latency: |k| ms(20 + (k as u64 * 3) % 10),
                ..Send::new(ms(0), ms(4000))
            },
        );
    }
    sim.at(ms(0), Ev::Speaker(Some(1)));
    sim.at(ms(1000), Ev::Speaker(Some(2)));
    sim.at(ms(500), Ev::Push(9, h264_frame(sim.start + ms(500))));
    let run = sim.run(ms(4000));
    assert_continuous_audio(&run.samples, ms(4000));
    let frames: Vec<_> = video(&run.samples)
        .into_iter()
        .map(|s| (s.time, sim.whose(s), s.keyframe))
        .collect();
    assert!(frames[0].2, "the first video sample is a keyframe");
    assert_eq!(frames[0].1, (1, 0));
    // Participant 2's keyframes come every 7 frames (467 ms): the one at 1400 ms is the first
    // after the change; until then, participant 1's frames, all of them.
    let first_of_2 = frames.iter().position(|f| f.1.0 == 2).expect("a switch");
    assert!(frames[..first_of_2].iter().all(|f| f.1.0 == 1));
    assert!(frames[first_of_2..].iter().all(|f| f.1.0 == 2));
    assert_eq!(frames[first_of_2].1, (2, 21));
    assert!(frames[first_of_2].2);
    assert_eq!(
        frames[..first_of_2]
            .iter()
            .map(|f| f.1.1)
            .collect::<Vec<_>>(),
        (0..first_of_2).collect::<Vec<_>>(),
        "participant 1's frames up to the switch, none missing"
    );
    // Continuous: no gap longer than a frame period (plus jitter) across the switch; times
    // increase.
    for pair in frames.windows(2) {
        assert!(pair[1].0 > pair[0].0);
        assert!(pair[1].0 - pair[0].0 < ms(80), "{pair:?}");
    }
    // Participant 1's first frame (20 ms) made it the one wanted.
    assert_eq!(run.requests.first(), Some(&(ms(20), 1)));
    assert!(
        run.requests.contains(&(ms(1000), 2)),
        "a keyframe of the new speaker asked for at the change: {:?}",
        run.requests
    );
    let stats = run.composer.stats();
    assert_eq!(stats.video_switches, 2);
    assert_eq!(stats.h264_ignored, 1);
    assert_eq!(run.composer.video_source(), Some(2));
}

#[test]
fn a_switch_keeps_a_frame_interval_between_the_two_sources() {
    let mut sim = Sim::new();
    for p in [1, 2] {
        sim.audio(p, Send::new(ms(0), ms(3980)));
    }
    // Participant 2's camera runs 5 ms after participant 1's: switched without care, its
    // keyframe would follow participant 1's last frame by 5 ms, two frames in one step of
    // a 15 fps grid.
    sim.video(1, Send::new(ms(0), ms(4000)));
    sim.video(2, Send::new(ms(5), ms(4000)));
    sim.at(ms(0), Ev::Speaker(Some(1)));
    sim.at(ms(1000), Ev::Speaker(Some(2)));
    let run = sim.run(ms(4000));
    let frames: Vec<_> = video(&run.samples)
        .into_iter()
        .map(|s| (s.time, sim.whose(s).0))
        .collect();
    let first_of_2 = frames.iter().position(|f| f.1 == 2).expect("a switch");
    let step = frames[first_of_2].0 - frames[first_of_2 - 1].0;
    assert!(
        step >= ms(60),
        "the new source's first frame {step:?} after the old one's last"
    );
    // And the whole stream stays on one grid: participant 2's frames are put on
    // participant 1's.
    assert_on_one_grid(&frames.iter().map(|f| f.0).collect::<Vec<_>>());
}

#[test]
fn a_switch_right_at_the_start_keeps_the_first_sources_grid() {
    let mut sim = Sim::new();
    for p in [1, 2] {
        sim.audio(p, Send::new(ms(0), ms(2000)));
    }
    // Participant 2 speaks but its camera starts half an interval after participant 1's:
    // participant 1's first frame is shown, and participant 2's first frame, a keyframe,
    // comes before either interval is known.
    sim.video(1, Send::new(ms(0), ms(2000)));
    sim.video(2, Send::new(ms(33), ms(2000)));
    sim.at(ms(0), Ev::Speaker(Some(2)));
    let run = sim.run(ms(2000));
    let frames: Vec<_> = video(&run.samples).into_iter().collect();
    assert_eq!(
        sim.whose(frames[0]).0,
        1,
        "participant 1's video came first"
    );
    assert_eq!(
        sim.whose(frames.last().expect("frames")).0,
        2,
        "then the speaker's"
    );
    assert_on_one_grid(&frames.iter().map(|s| s.time).collect::<Vec<_>>());
}

/// When frame `k` of [`Sim::video`] is captured (in the fixture's first pass, 15 fps).
fn capture(k: usize) -> Duration {
    Duration::from_micros(k as u64 * 6_000 * 1_000_000 / 90_000)
}

/// Participant 1 speaks and shows video (30 ms path) for 2.5 s, except that the frames
/// captured before `stall_end` − 30 ms from frame 12 on arrive together at `stall_end`.
/// Returns the composed frames as (time, frame index, keyframe) and the run.
fn stalled_video(latency: fn(usize) -> Duration) -> (Vec<(Duration, usize, bool)>, Run) {
    let mut sim = Sim::new();
    sim.audio(1, Send::new(ms(0), ms(2500)));
    sim.video(
        1,
        Send {
            latency,
            ..Send::new(ms(0), ms(2500))
        },
    );
    sim.at(ms(0), Ev::Speaker(Some(1)));
    let run = sim.run(ms(2500));
    let frames = video(&run.samples)
        .into_iter()
        .map(|s| (s.time, sim.whose(s).1, s.keyframe))
        .collect();
    (frames, run)
}

/// What every composed video stream must be, however late its frames came: decodable (a
/// frame after a gap in the source's frames is a keyframe) and never two frames closer than
/// the source's 66.7 ms, on one grid of that interval (ffmpeg guesses a stream's frame rate
/// from its first frames and puts frames on that grid).
fn assert_decodable_and_spaced(frames: &[(Duration, usize, bool)]) {
    assert!(frames[0].2, "the first frame is a keyframe: {frames:?}");
    for pair in frames.windows(2) {
        let ((_, k0, _), (_, k1, key)) = (pair[0], pair[1]);
        assert!(k1 == k0 + 1 || key, "frame {k1} after {k0} is no keyframe");
    }
    assert_on_one_grid(&frames.iter().map(|f| f.0).collect::<Vec<_>>());
}

/// Each of `times` a whole number (≥ 1) of 15 fps intervals after the one before.
fn assert_on_one_grid(times: &[Duration]) {
    let interval = capture(1).as_secs_f64();
    for pair in times.windows(2) {
        let steps = (pair[1] - pair[0]).as_secs_f64() / interval;
        assert!(
            steps > 0.99 && (steps - steps.round()).abs() < 0.001,
            "frames at {:?} and {:?}: {steps} intervals apart",
            pair[0],
            pair[1]
        );
    }
}

#[test]
fn video_that_arrives_late_trails_its_voice_on_its_frame_grid() {
    // Frames 12..=14 (800–933 ms, placed 30 ms later) arrive together at 1020 ms, when the
    // audio up to 860 ms is out: frame 12 goes to the next point of its grid after that,
    // an interval late, and the frames after it follow on the grid, as late.
    let (frames, run) = stalled_video(|k| match k {
        12..=14 => ms(1020) - capture(k),
        _ => ms(30),
    });
    assert_decodable_and_spaced(&frames);
    assert_eq!(run.composer.stats().video_frames_skipped, 0, "{frames:?}");
    for &(time, k, _) in &frames {
        let lag = time - (capture(k) + ms(30));
        let expected = if k >= 12 { capture(1) } else { Duration::ZERO };
        assert!(
            lag.abs_diff(expected) < ms(1),
            "frame {k} trails by {lag:?}"
        );
    }
}

#[test]
fn video_later_than_the_lag_allowed_freezes_until_a_keyframe_back_in_sync() {
    // Frames 12..=19 (800–1267 ms) arrive together at 1300 ms, when the audio up to 1140 ms
    // is out: 290 ms late, more than a viewer forgives.
    let (frames, run) = stalled_video(|k| match k {
        12..=19 => ms(1300) - capture(k),
        _ => ms(30),
    });
    assert_decodable_and_spaced(&frames);
    assert!(
        run.requests.iter().any(|&(at, p)| p == 1 && at == ms(1300)),
        "a keyframe asked for when the stall ended: {:?}",
        run.requests
    );
    // Shown late are at most keyframes (never an interframe that far behind its voice);
    // from the first keyframe after the stall on (frame 21), every frame is in sync.
    for &(time, k, key) in &frames {
        let lag = time - (capture(k) + ms(30));
        assert!(lag <= ms(120) || key, "frame {k} trails by {lag:?}");
        if k >= 21 {
            assert!(lag < ms(1), "frame {k} trails by {lag:?}");
        }
    }
    assert!(frames.iter().any(|f| f.1 >= 21), "{frames:?}");
}

fn h264_frame(arrival: Instant) -> Frame {
    Frame {
        codec: Codec::H264,
        data: Arc::from(&[0u8, 0, 0, 1, 0x65][..]),
        rtp_time: 0,
        arrival,
        sender_report: None,
        keyframe: true,
        contiguous: true,
    }
}

/// Which participant the composed video shows at each of its frames.
fn shown(sim: &Sim, run: &Run) -> Vec<(Duration, u32)> {
    video(&run.samples)
        .into_iter()
        .map(|s| (s.time, sim.whose(s).0))
        .collect()
}

/// The participant shown at `t`.
fn shown_at(frames: &[(Duration, u32)], t: Duration) -> u32 {
    frames
        .iter()
        .take_while(|f| f.0 <= t)
        .last()
        .map(|f| f.1)
        .expect("video by then")
}

#[test]
fn the_lecturer_wins_over_the_speaker_while_set() {
    let mut sim = Sim::new();
    for p in [1, 2, 3] {
        sim.video(p, Send::new(ms(0), ms(5000)));
    }
    sim.at(ms(0), Ev::Speaker(Some(1)));
    sim.at(ms(1000), Ev::Lecturer(Some(3)));
    sim.at(ms(2000), Ev::Speaker(Some(2)));
    sim.at(ms(3000), Ev::Lecturer(None));
    let run = sim.run(ms(5000));
    let frames = shown(&sim, &run);
    assert_eq!(shown_at(&frames, ms(900)), 1);
    for t in [1600, 2500, 3200] {
        assert_eq!(shown_at(&frames, ms(t)), 3, "at {t} ms");
    }
    assert_eq!(shown_at(&frames, ms(4000)), 2);
    // No keyframe of the speaker was asked for while the lecturer was set.
    assert!(
        !run.requests.iter().any(|&(t, p)| p == 2 && t < ms(3000)),
        "{:?}",
        run.requests
    );
    assert!(run.requests.contains(&(ms(3000), 2)));
}

#[test]
fn when_the_source_leaves_the_video_falls_back_to_the_last_speaker_with_video() {
    let mut sim = Sim::new();
    // (2's frames end before it leaves: a frame after `remove` would be a new participant.)
    for p in [1, 2, 3] {
        sim.audio(p, Send::new(ms(0), ms(2380)));
    }
    sim.video(1, Send::new(ms(0), ms(5000)));
    sim.video(2, Send::new(ms(0), ms(2400)));
    sim.video(3, Send::new(ms(0), ms(5000)));
    sim.at(ms(0), Ev::Speaker(Some(3)));
    sim.at(ms(500), Ev::Speaker(Some(1)));
    sim.at(ms(1000), Ev::Speaker(Some(2)));
    sim.at(ms(1500), Ev::Speaker(None));
    sim.at(ms(2500), Ev::Remove(2));
    let run = sim.run(ms(5000));
    let frames = shown(&sim, &run);
    assert_eq!(shown_at(&frames, ms(2400)), 2);
    // 2 left: the last speaker before it with video was 1, at 1's next keyframe.
    assert!(run.requests.contains(&(ms(2500), 1)), "{:?}", run.requests);
    assert_eq!(shown_at(&frames, ms(3500)), 1);
    assert_eq!(run.composer.video_source(), Some(1));
    assert_continuous_audio(&run.samples, ms(5000));

    // With nobody else publishing video, the source leaving leaves no source.
    let mut sim = Sim::new();
    sim.video(1, Send::new(ms(0), ms(1000)));
    sim.at(ms(1100), Ev::Remove(1));
    let run = sim.run(ms(2000));
    assert_eq!(run.composer.video_source(), None);
    assert_eq!(run.composer.wanted(sim.start + ms(2000)), None);
}

#[test]
fn keyframes_are_asked_for_again_while_waiting_and_throttled_for_new_viewers() {
    let mut sim = Sim::new();
    sim.video(1, Send::new(ms(0), ms(8000)));
    // Participant 2's stream has no keyframe.
    let track = video_fixture();
    for k in 0..120 {
        let sample = &track.samples[k % track.samples.len()];
        let t = ms(66) * k as u32 + ms(200);
        sim.at(
            t,
            Ev::Push(
                2,
                Frame {
                    codec: Codec::Vp8,
                    data: sample.data.clone(),
                    rtp_time: 6000 * k as u64,
                    arrival: sim.start + t,
                    sender_report: None,
                    keyframe: false,
                    contiguous: true,
                },
            ),
        );
    }
    sim.at(ms(100), Ev::Speaker(Some(1)));
    sim.at(ms(3000), Ev::Speaker(Some(2)));
    // New viewers: the first is served, the second (0.3 s later) is throttled.
    sim.at(ms(1500), Ev::KeyframeWanted);
    sim.at(ms(1800), Ev::KeyframeWanted);
    let run = sim.run(ms(8000));
    let of = |p| {
        run.requests
            .iter()
            .filter(|r| r.1 == p)
            .map(|r| r.0)
            .collect::<Vec<_>>()
    };
    // Participant 1: when first wanted (its first frame), and for the first new viewer.
    assert_eq!(of(1), vec![ms(30), ms(1500)]);
    // Participant 2: at the change, then every 2 s while no keyframe comes.
    let asked = of(2);
    assert_eq!(asked[0], ms(3000));
    for pair in asked.windows(2) {
        assert!(
            pair[1] - pair[0] >= KEYFRAME_RETRY && pair[1] - pair[0] <= KEYFRAME_RETRY + ms(20)
        );
    }
    assert!(asked.len() >= 3, "{asked:?}");
    // Still participant 1 meanwhile.
    assert_eq!(run.composer.video_source(), Some(1));
    assert_eq!(run.composer.switching_to(), Some(2));
}

#[test]
fn samples_come_out_in_time_order_across_audio_and_video() {
    // Four participants with jittery paths; participant 3's video stalls for 400 ms
    // (beyond the audio's allowance) and then bursts; speakers change every 700 ms.
    let mut sim = Sim::new();
    for p in 1..=4u32 {
        sim.audio(
            p,
            Send {
                rtp_base: u64::from(p) * 1_000_003,
                latency: |k| ms(25 + (k as u64 * 17) % 19),
                ..Send::new(ms(u64::from(p) * 90), ms(5980))
            },
        );
        let latency: fn(usize) -> Duration = if p == 3 {
            // Its frames 30..=36 (2.0–2.4 s after it starts) arrive together.
            |k| match k {
                30..=36 => ms(2450) - Duration::from_micros(k as u64 * 1_000_000 / 15),
                _ => ms(15 + (k as u64 * 7) % 13),
            }
        } else {
            |k| ms(15 + (k as u64 * 7) % 13)
        };
        sim.video(
            p,
            Send {
                rtp_base: u64::from(p) * 7_000_001,
                latency,
                ..Send::new(ms(u64::from(p) * 50), ms(6000))
            },
        );
    }
    for (i, t) in (0..6000).step_by(700).enumerate() {
        sim.at(ms(t), Ev::Speaker(Some(3 - (i as u32 % 3))));
    }
    let run = sim.run(ms(6000));
    // (`run` checked the order of all samples.)
    assert_continuous_audio(&run.samples, ms(6000));
    let video = video(&run.samples);
    assert!(video[0].keyframe);
    for pair in video.windows(2) {
        assert!(pair[1].time > pair[0].time);
    }
    let stats = run.composer.stats();
    assert!(stats.video_switches >= 5, "{stats:?}");
    assert_eq!(stats.mix.late_dropped, 0);
    assert_eq!(stats.video_frames as usize, video.len());
}

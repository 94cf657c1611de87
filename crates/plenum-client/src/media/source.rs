//! What a media client sends: the fixture files (`fixtures/video.ivf`, VP8 in IVF;
//! `fixtures/audio.ogg`, Opus in Ogg; made by `scripts/make-media-fixtures.sh`), read into
//! frames once, and played in a loop at their own pace.
//!
//! The readers are small and strict: they read what the script makes (and any well-formed
//! IVF of VP8, Ogg of one Opus stream), and refuse anything else with an error.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};

/// The video fixture: VP8, 320x240, 15 fps, 5 s, a keyframe every second.
pub const VIDEO_IVF: &[u8] = include_bytes!("../../fixtures/video.ivf");
/// The audio fixture: Opus, 48 kHz mono, 20 ms frames, 5 s.
pub const AUDIO_OGG: &[u8] = include_bytes!("../../fixtures/audio.ogg");

/// RTP clock rate of video (VP8) and audio (Opus) in WebRTC.
pub const VIDEO_CLOCK_RATE: u64 = 90_000;
pub const AUDIO_CLOCK_RATE: u64 = 48_000;

/// One frame of a track: when it is due from the start of the loop, its RTP time from the
/// start of the loop (in the track's clock rate), its bytes.
#[derive(Debug, Clone)]
pub struct Sample {
    pub offset: Duration,
    pub rtp_offset: u64,
    pub data: Arc<[u8]>,
    /// VP8: the frame is a keyframe (first byte's bit 0 is 0). Always true for audio.
    pub keyframe: bool,
}

/// A whole file's frames, and how long one pass lasts (in time and in RTP units).
#[derive(Debug)]
pub struct Track {
    pub samples: Vec<Sample>,
    pub duration: Duration,
    pub rtp_duration: u64,
    pub clock_rate: u64,
}

/// Whether a VP8 frame is a keyframe (RFC 6386, 9.1: the frame tag's bit 0, 0 = key frame).
pub fn vp8_is_keyframe(frame: &[u8]) -> bool {
    frame.first().is_some_and(|b| b & 1 == 0)
}

fn u16_le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_le(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes([
        b[at],
        b[at + 1],
        b[at + 2],
        b[at + 3],
        b[at + 4],
        b[at + 5],
        b[at + 6],
        b[at + 7],
    ])
}

/// Reads an IVF file of VP8: a 32-byte header (`DKIF`, version 0, header size 32, fourcc
/// `VP80`, width, height, timebase denominator and numerator, frame count), then per frame a
/// 12-byte header (size, 64-bit timestamp in the timebase) and the frame.
pub fn read_ivf(file: &[u8]) -> anyhow::Result<Track> {
    ensure!(
        file.len() >= 32 && &file[0..4] == b"DKIF",
        "not an IVF file"
    );
    let header_len = usize::from(u16_le(file, 6));
    ensure!(
        header_len >= 32 && header_len <= file.len(),
        "bad IVF header size"
    );
    ensure!(&file[8..12] == b"VP80", "the IVF file is not VP8");
    // The timebase is numerator/denominator seconds per tick; the header stores the
    // denominator (the "rate") first.
    let rate = u64::from(u32_le(file, 16));
    let scale = u64::from(u32_le(file, 20));
    ensure!(rate > 0 && scale > 0, "bad IVF timebase");
    let ticks_to_rtp = |ts: u64| ts * scale * VIDEO_CLOCK_RATE / rate;
    let mut at = header_len;
    let mut raw = Vec::new();
    while at < file.len() {
        ensure!(at + 12 <= file.len(), "truncated IVF frame header at {at}");
        let size = u32_le(file, at) as usize;
        let pts = u64_le(file, at + 4);
        let start = at + 12;
        ensure!(
            size > 0 && start + size <= file.len(),
            "truncated IVF frame at {at}"
        );
        raw.push((pts, &file[start..start + size]));
        at = start + size;
    }
    ensure!(!raw.is_empty(), "the IVF file has no frames");
    ensure!(
        vp8_is_keyframe(raw[0].1),
        "the IVF file does not start with a keyframe"
    );
    let first = raw[0].0;
    let mut samples = Vec::with_capacity(raw.len());
    for (pts, data) in &raw {
        ensure!(*pts >= first, "IVF timestamps go backwards");
        let rtp_offset = ticks_to_rtp(pts - first);
        samples.push(Sample {
            offset: Duration::from_micros(rtp_offset * 1_000_000 / VIDEO_CLOCK_RATE),
            rtp_offset,
            data: Arc::from(*data),
            keyframe: vp8_is_keyframe(data),
        });
    }
    // One pass lasts until the frame after the last: the last frame lasts as long as the
    // one before it (or one tick with a single frame).
    let last = samples[samples.len() - 1].rtp_offset;
    let step = if samples.len() > 1 {
        last - samples[samples.len() - 2].rtp_offset
    } else {
        ticks_to_rtp(1)
    };
    let rtp_duration = (last + step).max(1);
    Ok(Track {
        samples,
        duration: Duration::from_micros(rtp_duration * 1_000_000 / VIDEO_CLOCK_RATE),
        rtp_duration,
        clock_rate: VIDEO_CLOCK_RATE,
    })
}

/// The packets of an Ogg stream (RFC 3533): pages `OggS`, version 0, each with a segment
/// table; a packet is the concatenation of segments up to one shorter than 255 bytes, and may
/// continue on the next page (then it is copied out of the pages). Only one logical stream
/// (the first serial number) is read; the CRC is not checked (the file is the project's own).
pub fn ogg_packets(file: &[u8]) -> anyhow::Result<Vec<Cow<'_, [u8]>>> {
    let mut packets = Vec::new();
    // The segments (start, length) of the packet being read.
    let mut current: Vec<(usize, usize)> = Vec::new();
    let mut serial = None;
    let mut at = 0;
    while at < file.len() {
        ensure!(
            at + 27 <= file.len() && &file[at..at + 4] == b"OggS",
            "not an Ogg page at {at}"
        );
        ensure!(file[at + 4] == 0, "unknown Ogg version at {at}");
        let page_serial = u32_le(file, at + 14);
        let segments = usize::from(file[at + 26]);
        let table = at + 27;
        ensure!(table + segments <= file.len(), "truncated Ogg page at {at}");
        let mut data = table + segments;
        let ours = *serial.get_or_insert(page_serial) == page_serial;
        for &len in &file[table..table + segments] {
            let len = usize::from(len);
            ensure!(data + len <= file.len(), "truncated Ogg page at {at}");
            if ours {
                current.push((data, len));
                if len < 255 {
                    let (first, _) = current[0];
                    let total: usize = current.iter().map(|&(_, l)| l).sum();
                    let contiguous = current.windows(2).all(|w| w[0].0 + w[0].1 == w[1].0);
                    packets.push(if contiguous {
                        Cow::Borrowed(&file[first..first + total])
                    } else {
                        Cow::Owned(
                            current
                                .iter()
                                .flat_map(|&(s, l)| &file[s..s + l])
                                .copied()
                                .collect(),
                        )
                    });
                    current.clear();
                }
            }
            data += len;
        }
        at = data;
    }
    ensure!(current.is_empty(), "the Ogg stream ends inside a packet");
    Ok(packets)
}

/// Samples (at 48 kHz) in an Opus packet, from its TOC byte (RFC 6716, 3.1).
pub fn opus_packet_samples(packet: &[u8]) -> anyhow::Result<u64> {
    let Some(&toc) = packet.first() else {
        bail!("an empty Opus packet");
    };
    let config = toc >> 3;
    // Frame length in 1/400 s units (2.5 ms = 120 samples at 48 kHz).
    let per_frame: u64 = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => {
            let count = packet
                .get(1)
                .context("an Opus packet of code 3 without a frame count")?;
            u64::from(count & 0x3f)
        }
    };
    ensure!(frames > 0, "an Opus packet of no frames");
    Ok(per_frame * frames)
}

/// Reads an Ogg Opus file: the audio packets (after `OpusHead` and `OpusTags`), each with its
/// RTP time at 48 kHz from the durations of the packets before it.
pub fn read_ogg_opus(file: &[u8]) -> anyhow::Result<Track> {
    let packets = ogg_packets(file)?;
    ensure!(
        packets.first().is_some_and(|p| p.starts_with(b"OpusHead")),
        "not an Ogg Opus file"
    );
    let mut samples = Vec::new();
    let mut rtp = 0;
    for packet in packets.into_iter().skip(1) {
        if packet.starts_with(b"OpusTags") {
            continue;
        }
        let duration = opus_packet_samples(&packet)?;
        samples.push(Sample {
            offset: Duration::from_micros(rtp * 1_000_000 / AUDIO_CLOCK_RATE),
            rtp_offset: rtp,
            data: Arc::from(&*packet),
            keyframe: true,
        });
        rtp += duration;
    }
    ensure!(!samples.is_empty(), "the Ogg Opus file has no audio");
    Ok(Track {
        samples,
        duration: Duration::from_micros(rtp * 1_000_000 / AUDIO_CLOCK_RATE),
        rtp_duration: rtp,
        clock_rate: AUDIO_CLOCK_RATE,
    })
}

/// The embedded fixtures, read once per process and shared by every client.
#[derive(Debug)]
pub struct Fixtures {
    pub video: Track,
    pub audio: Track,
}

impl Fixtures {
    /// The embedded fixtures (read on first use; they are checked by the tests, so reading
    /// them cannot fail in a built binary).
    pub fn embedded() -> anyhow::Result<Arc<Self>> {
        static FIXTURES: OnceLock<Result<Arc<Fixtures>, String>> = OnceLock::new();
        FIXTURES
            .get_or_init(|| {
                let video = read_ivf(VIDEO_IVF).map_err(|e| format!("video.ivf: {e:#}"))?;
                let audio = read_ogg_opus(AUDIO_OGG).map_err(|e| format!("audio.ogg: {e:#}"))?;
                Ok(Arc::new(Fixtures { video, audio }))
            })
            .clone()
            .map_err(anyhow::Error::msg)
    }
}

/// A frame due now: its bytes and RTP time (continuing across loops), and the instant it was
/// due (its wallclock).
#[derive(Debug, Clone)]
pub struct Due {
    pub data: Arc<[u8]>,
    pub rtp_time: u64,
    pub at: Instant,
    pub keyframe: bool,
}

/// Plays a track in a loop at its own pace: [`Player::poll`] returns each frame once its time
/// has come. A player that falls more than [`Player::MAX_LAG`] behind (a stalled process)
/// skips ahead rather than sending a burst: it goes on with the next frame due now.
#[derive(Debug)]
pub struct Player {
    track: Arc<Fixtures>,
    video: bool,
    /// When the current pass started.
    pass_start: Instant,
    /// RTP time at the start of the current pass.
    pass_rtp: u64,
    next: usize,
}

impl Player {
    pub const MAX_LAG: Duration = Duration::from_secs(1);

    /// Plays the fixtures' video (`video`) or audio from `start`, with RTP time starting at
    /// `rtp_start`.
    pub fn new(fixtures: Arc<Fixtures>, video: bool, start: Instant, rtp_start: u64) -> Self {
        Self {
            track: fixtures,
            video,
            pass_start: start,
            pass_rtp: rtp_start,
            next: 0,
        }
    }

    fn track(&self) -> &Track {
        if self.video {
            &self.track.video
        } else {
            &self.track.audio
        }
    }

    /// When the next frame is due.
    pub fn next_due(&self) -> Instant {
        self.pass_start + self.track().samples[self.next].offset
    }

    /// The next frame if it is due at `now`.
    /// A keyframe was asked for (PLI or FIR): the next sample becomes the fixture's next
    /// keyframe, due now, as an encoder answers a keyframe request at once. The samples before
    /// it are skipped: the RTP clock jumps forward over them, the wall clock does not. (Sample 0
    /// is a keyframe, so past the last keyframe of a pass it is the next pass's first.)
    pub fn skip_to_keyframe(&mut self, now: Instant) {
        let track = self.track();
        let found = (self.next..track.samples.len()).find(|&i| track.samples[i].keyframe);
        let (index, rtp_duration, duration) = (found, track.rtp_duration, track.duration);
        let index = match index {
            Some(i) => i,
            None => {
                self.pass_rtp += rtp_duration;
                self.pass_start += duration;
                0
            }
        };
        let offset = self.track().samples[index].offset;
        self.next = index;
        self.pass_start = now.checked_sub(offset).unwrap_or(now);
    }

    pub fn poll(&mut self, now: Instant) -> Option<Due> {
        let mut due_at = self.next_due();
        if due_at > now {
            return None;
        }
        if now - due_at > Self::MAX_LAG {
            // Stalled: move the pass so that the next frame is due now (the RTP time goes on
            // from where it was, as after a pause).
            let offset = self.track().samples[self.next].offset;
            self.pass_start = now.checked_sub(offset).unwrap_or(now);
            due_at = now;
        }
        let track = self.track();
        let sample = &track.samples[self.next];
        let due = Due {
            data: sample.data.clone(),
            rtp_time: self.pass_rtp + sample.rtp_offset,
            at: due_at,
            keyframe: sample.keyframe,
        };
        let (len, duration, rtp_duration) =
            (track.samples.len(), track.duration, track.rtp_duration);
        self.next += 1;
        if self.next == len {
            self.next = 0;
            self.pass_start += duration;
            self.pass_rtp += rtp_duration;
        }
        Some(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> Arc<Fixtures> {
        Fixtures::embedded().unwrap_or_else(|e| panic!("{e:#}"))
    }

    #[test]
    fn the_video_fixture_is_vp8_with_a_keyframe_at_least_every_second() {
        let f = fixtures();
        let video = &f.video;
        assert!(video.samples.len() >= 60, "{}", video.samples.len());
        assert!(
            (4..=6).contains(&video.duration.as_secs()),
            "{:?}",
            video.duration
        );
        assert!(video.samples[0].keyframe);
        let keyframes: Vec<u64> = video
            .samples
            .iter()
            .filter(|s| s.keyframe)
            .map(|s| s.rtp_offset)
            .chain([video.rtp_duration])
            .collect();
        for pair in keyframes.windows(2) {
            assert!(
                pair[1] - pair[0] <= VIDEO_CLOCK_RATE,
                "keyframes {pair:?} more than a second apart"
            );
        }
        // 15 fps: 6000 ticks at 90 kHz between frames.
        assert_eq!(video.samples[1].rtp_offset, 6_000);
        assert_eq!(video.samples[1].offset, Duration::from_micros(66_666));
    }

    #[test]
    fn a_keyframe_request_sends_the_next_keyframe_now() {
        let f = fixtures();
        let start = Instant::now();
        let mut player = Player::new(f.clone(), true, start, 0);
        let first = player
            .poll(start)
            .unwrap_or_else(|| panic!("sample 0 is due at the start"));
        assert!(first.keyframe);
        // Just after the start the next sample is a delta; asked for a keyframe, the next
        // keyframe is due at once, with a later RTP time.
        let now = start + Duration::from_millis(10);
        player.skip_to_keyframe(now);
        let due = player
            .poll(now)
            .unwrap_or_else(|| panic!("the keyframe is due now"));
        assert!(due.keyframe);
        assert!(due.rtp_time > first.rtp_time);
        // Past the last keyframe of a pass, the next pass's first sample.
        let last_key = f
            .video
            .samples
            .iter()
            .rposition(|s| s.keyframe)
            .unwrap_or(0);
        let mut late = Player::new(f.clone(), true, start, 0);
        let mut at = start;
        for _ in 0..=last_key {
            at = late.next_due();
            let _ = late.poll(at);
        }
        late.skip_to_keyframe(at);
        let due = late
            .poll(at)
            .unwrap_or_else(|| panic!("the next keyframe is due"));
        assert!(due.keyframe);
        let expected = if last_key + 1 < f.video.samples.len() {
            f.video.rtp_duration
        } else {
            0
        };
        assert!(due.rtp_time >= expected);
    }

    #[test]
    fn the_audio_fixture_is_opus_in_20_ms_packets() {
        let f = fixtures();
        let audio = &f.audio;
        assert!(audio.samples.len() >= 200, "{}", audio.samples.len());
        for pair in audio.samples.windows(2) {
            assert_eq!(pair[1].rtp_offset - pair[0].rtp_offset, 960);
        }
        assert!((4..=6).contains(&audio.duration.as_secs()));
        assert!(!audio.samples[0].data.starts_with(b"Opus"));
    }

    #[test]
    fn readers_refuse_what_they_cannot_read() {
        assert!(read_ivf(b"not an ivf file at all, really, no, not at all").is_err());
        assert!(read_ivf(&VIDEO_IVF[..40]).is_err(), "truncated frame");
        assert!(read_ogg_opus(b"OggS").is_err());
        assert!(read_ogg_opus(&AUDIO_OGG[..AUDIO_OGG.len() - 10]).is_err());
        assert!(opus_packet_samples(&[]).is_err());
        // TOC: CELT fullband 20 ms (config 31), one frame.
        assert_eq!(opus_packet_samples(&[31 << 3]).ok(), Some(960));
        // SILK 60 ms, code 3 with 2 frames.
        assert_eq!(opus_packet_samples(&[(3 << 3) | 3, 2]).ok(), Some(5760));
        assert!(vp8_is_keyframe(&[0x50]));
        assert!(!vp8_is_keyframe(&[0x51]));
    }

    #[test]
    fn the_player_paces_frames_and_continues_rtp_time_across_loops() {
        let f = fixtures();
        let t0 = Instant::now();
        let mut video = Player::new(f.clone(), true, t0, 1_000);
        let first = video.poll(t0).unwrap_or_else(|| panic!("a frame at t0"));
        assert_eq!(first.rtp_time, 1_000);
        assert!(first.keyframe);
        assert!(video.poll(t0).is_none(), "the next frame is not due yet");
        assert_eq!(video.next_due(), t0 + Duration::from_micros(66_666));
        // Play two passes and a bit, frame by frame at their due times.
        let frames = f.video.samples.len();
        let mut last = first;
        for _ in 0..(2 * frames + 3) {
            let at = video.next_due();
            let due = video.poll(at).unwrap_or_else(|| panic!("due at {at:?}"));
            assert_eq!(
                due.rtp_time - last.rtp_time,
                6_000,
                "15 fps, across loops too"
            );
            assert!(due.at > last.at);
            last = due;
        }
        // After two whole passes the keyframe of the file's start comes again, on time.
        let elapsed = last.at - t0;
        assert!(elapsed > 2 * f.video.duration, "{elapsed:?}");

        let mut audio = Player::new(f.clone(), false, t0, 0);
        let mut count = 0;
        let one_second = t0 + Duration::from_secs(1);
        while audio.poll(one_second).is_some() {
            count += 1;
        }
        assert_eq!(count, 51, "frames at 0, 20, .., 1000 ms");
    }

    #[test]
    fn a_stalled_player_skips_ahead_instead_of_bursting() {
        let f = fixtures();
        let t0 = Instant::now();
        let mut audio = Player::new(f, false, t0, 0);
        let late = t0 + Duration::from_secs(3);
        let mut burst = 0;
        while audio.poll(late).is_some() {
            burst += 1;
        }
        assert_eq!(burst, 1, "one frame now, the next on their pace");
        assert_eq!(audio.next_due(), late + Duration::from_millis(20));
    }
}

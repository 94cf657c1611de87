//! The meeting recording's audio: every participant's Opus decoded, mixed on the
//! composition's clock and encoded again, as one continuous stream of 20 ms Opus packets.
//!
//! - **Placement.** Each source's frames are placed by its [`TrackClock`] (sender reports,
//!   arrival as fallback; the participant's [`SenderClock`] is the caller's, shared with its
//!   video). A frame that follows the source's previous one (by RTP time) within [`SNAP`] of
//!   where its clock puts it is laid exactly after it: a source's audio stays sample-contiguous
//!   even though placements jitter by a sample or two.
//! - **Output.** Packet `k` covers `[k·20 ms, (k+1)·20 ms)` of the composition and is released
//!   once `now` is past its end plus [`JITTER_ALLOWANCE`]. Packets start at t = 0 and never
//!   skip: silence is encoded when nobody talks, so the audio lasts as long as the recording.
//! - **Late frames.** A frame is mixed into packets not yet due only: one that lies wholly in
//!   due packets is dropped ([`MixStats::late_dropped`]); one that straddles the boundary has
//!   its head cut ([`MixStats::late_truncated`]). Either is still decoded, so the source's
//!   decoder state follows its stream.
//! - **Reordering.** A frame whose RTP time is before the end of its source's previous one
//!   (a duplicate, or a packet overtaken by the next) is dropped and counted
//!   ([`MixStats::out_of_order`]): str0m's depacketizer already delivers frames in order, and
//!   decoding one out of order would disturb the decoder's state.
//! - **Loss.** A frame flagged not contiguous (packets were lost before it) after a gap of at
//!   most [`MAX_CONCEAL`] of RTP time has the gap concealed by libopus: in-band FEC of the lost
//!   packet from this one (the decoder falls back to packet-loss concealment when the packet
//!   carries none), PLC for anything before that. A longer gap, or a gap without loss (the
//!   sender's DTX: it stopped sending in silence), stays silent.
//! - **Mono.** Decoders and the encoder are mono: WebRTC's voice is mono (browsers send
//!   `stereo=0`; the fixtures are mono), a mix of voices has no stereo image to keep, and
//!   mono halves decoding, mixing and the bitrate. A stereo packet is downmixed by libopus.
//! - **Mixing.** Sources are summed in 32 bits and saturated to 16 bits when a packet is
//!   encoded (hard clipping, never wrap-around). In the steady state nothing is allocated but
//!   the output packet's `Arc<[u8]>` (the [`Sample`] contract): the buffers are sized once.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::timeline::{SenderClock, TrackClock};
use crate::{Codec, Frame, Sample};

/// The sample rate of everything here (Opus' native rate, and its RTP clock rate).
pub const SAMPLE_RATE: u32 = 48_000;
/// The mix's channel count (see the module's doc: mono).
pub const CHANNELS: u8 = 1;
/// Duration of one output packet.
pub const PACKET: Duration = Duration::from_millis(20);
/// Samples in one output packet.
pub const PACKET_SAMPLES: usize = 960;
/// How long after a packet's end the mixer waits for late frames before releasing it: what
/// the recording lags behind real time. 150 ms covers the jitter of a sound network path
/// (and str0m's reordering); audio later than that is not worth delaying everyone's for.
pub const JITTER_ALLOWANCE: Duration = Duration::from_millis(150);
/// The longest gap after packet loss that is concealed (three 20 ms packets); libopus' PLC
/// fades to silence beyond that anyway.
pub const MAX_CONCEAL: Duration = Duration::from_millis(60);
/// The mix's bitrate: plenty for mono speech (and tolerable music) at 48 kHz.
pub const BITRATE: i32 = 48_000;
// The encoder's application is `Audio`, not `Voip`: the recording should sound as the
// meeting did (the senders' encoders already tuned themselves for voice), and `Voip`'s
// high-pass filter audibly thins voices and music below ~100 Hz once more.
/// How far (in samples, 10 ms) a frame's placement may be from the end of its source's
/// previous frame and still be laid exactly there.
pub const SNAP: u64 = 480;

/// The longest Opus packet: 120 ms.
const MAX_FRAME: usize = 5_760;
/// The largest encoded packet we accept from libopus (its own maximum is 1275 bytes a frame).
const MAX_PACKET_BYTES: usize = 1_500;
/// How far past the release point (in samples, 3 s) a frame may be placed. [`TrackClock`]
/// keeps placements within [`crate::timeline::RESYNC`] (1 s) of arrival, so only a frame
/// whose `arrival` is far in the future of `now` gets there; it is dropped.
const WINDOW: usize = 3 * SAMPLE_RATE as usize;
/// A 20 ms Opus packet of no frame data (TOC only: CELT, fullband, 20 ms, one frame of 0
/// bytes); decoders treat it as lost. Released if libopus ever fails to encode, so the
/// stream never has a hole.
const EMPTY_PACKET: [u8; 1] = [31 << 3];

/// What the writer needs for the mix's `OpusHead` (RFC 7845, 5.1) and Matroska's
/// `CodecDelay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusHead {
    pub channels: u8,
    /// Samples (at 48 kHz) the player discards at the start: the encoder's lookahead.
    pub pre_skip: u16,
    pub input_sample_rate: u32,
}

impl OpusHead {
    /// The 19-byte `OpusHead` packet (WebM's `CodecPrivate` of an Opus track): version 1,
    /// output gain 0, channel mapping family 0.
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::mkv::opus_head(self.channels, self.pre_skip, self.input_sample_rate)
    }

    /// The pre-skip as a duration (Matroska's `CodecDelay`).
    pub fn codec_delay(&self) -> Duration {
        Duration::from_nanos(u64::from(self.pre_skip) * 1_000_000_000 / u64::from(SAMPLE_RATE))
    }
}

/// libopus refused to create an encoder or decoder.
#[derive(Debug, thiserror::Error)]
#[error("libopus: {0}")]
pub struct MixError(#[from] opus::Error);

/// What became of a pushed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Mixed whole.
    Mixed,
    /// Its head fell in packets already due: only its tail was mixed.
    LateTruncated,
    /// It fell wholly in packets already due: dropped (still decoded).
    LateDropped,
    /// Its RTP time is before the end of the source's previous frame (a duplicate or a
    /// reordered packet): dropped, not decoded.
    OutOfOrder,
    /// Not a valid Opus packet, or libopus could not decode it.
    Undecodable,
    /// Placed more than 3 s past the release point (its arrival is far after `now`).
    TooEarly,
    /// Not Opus: the mixer only takes audio.
    NotAudio,
}

/// The mixer's counters since it began.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MixStats {
    /// Frames mixed, whole or truncated.
    pub frames_mixed: u64,
    /// Frames dropped because they were wholly later than [`JITTER_ALLOWANCE`].
    pub late_dropped: u64,
    /// Frames of which a head was later than [`JITTER_ALLOWANCE`] and cut.
    pub late_truncated: u64,
    pub out_of_order: u64,
    pub undecodable: u64,
    pub too_early: u64,
    /// Gaps after packet loss concealed by FEC or PLC.
    pub concealed: u64,
    /// 20 ms packets released.
    pub packets_out: u64,
    /// Packets libopus failed to encode (an empty packet was released instead).
    pub encode_errors: u64,
}

/// One source's decoder and clock.
#[derive(Debug)]
struct Source {
    decoder: opus::Decoder,
    clock: TrackClock,
    /// The end of its last frame: RTP time and sample position on the composition.
    end: Option<(u64, u64)>,
}

/// Decodes, mixes and encodes the meeting's audio. `P` names a source (a participant).
pub struct AudioMixer<P> {
    start: Instant,
    encoder: opus::Encoder,
    head: OpusHead,
    sources: HashMap<P, Source>,
    /// The mix from `released` on: `acc[0]` is sample `released`.
    acc: VecDeque<i32>,
    /// Samples released (always a multiple of [`PACKET_SAMPLES`]).
    released: u64,
    /// Scratch: decoded PCM, one packet's PCM to encode, one encoded packet.
    decoded: Vec<i16>,
    pcm: Vec<i16>,
    packet: Vec<u8>,
    stats: MixStats,
}

impl<P: fmt::Debug> fmt::Debug for AudioMixer<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AudioMixer")
            .field("start", &self.start)
            .field("head", &self.head)
            .field("sources", &self.sources.keys().collect::<Vec<_>>())
            .field("buffered", &self.acc.len())
            .field("released", &self.released)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<P: Copy + Eq + Hash> AudioMixer<P> {
    /// A mix whose t = 0 is `start`.
    pub fn new(start: Instant) -> Result<Self, MixError> {
        let mut encoder =
            opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Audio)?;
        encoder.set_bitrate(opus::Bitrate::Bits(BITRATE))?;
        let lookahead = encoder.get_lookahead()?;
        Ok(AudioMixer {
            start,
            encoder,
            head: OpusHead {
                channels: CHANNELS,
                pre_skip: u16::try_from(lookahead).unwrap_or(0),
                input_sample_rate: SAMPLE_RATE,
            },
            sources: HashMap::new(),
            acc: VecDeque::with_capacity(WINDOW + MAX_FRAME),
            released: 0,
            decoded: vec![0; MAX_FRAME],
            pcm: vec![0; PACKET_SAMPLES],
            packet: vec![0; MAX_PACKET_BYTES],
            stats: MixStats::default(),
        })
    }

    /// The parameters of the output stream.
    pub fn opus_head(&self) -> OpusHead {
        self.head
    }

    pub fn stats(&self) -> MixStats {
        self.stats
    }

    /// Decodes `frame` of source `from` and mixes it in where its clock places it. `sender`
    /// is the participant's clock (shared with its video track); `now` decides which packets
    /// are already due (and so closed to late frames), whether or not they were polled yet.
    pub fn push(
        &mut self,
        from: P,
        sender: &mut SenderClock,
        frame: &Frame,
        now: Instant,
    ) -> Pushed {
        if frame.codec != Codec::Opus {
            return Pushed::NotAudio;
        }
        let samples = match opus::packet::get_nb_samples(&frame.data, SAMPLE_RATE) {
            Ok(n) if n > 0 && n <= MAX_FRAME => n,
            _ => {
                self.stats.undecodable += 1;
                return Pushed::Undecodable;
            }
        };
        let source = match self.sources.entry(from) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let Ok(decoder) = opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono) else {
                    self.stats.undecodable += 1;
                    return Pushed::Undecodable;
                };
                e.insert(Source {
                    decoder,
                    clock: TrackClock::new(self.start),
                    end: None,
                })
            }
        };
        if let Some((rtp_end, _)) = source.end
            && frame.rtp_time < rtp_end
        {
            self.stats.out_of_order += 1;
            return Pushed::OutOfOrder;
        }
        let placed = source.clock.place(sender, frame);
        let mut pos = samples_in(placed);
        let gap = source.end.map(|(rtp_end, _)| frame.rtp_time - rtp_end);
        if let (Some((_, pos_end)), Some(gap)) = (source.end, gap) {
            let expected = pos_end.saturating_add(gap);
            if pos.abs_diff(expected) <= SNAP {
                pos = expected;
            }
        }
        if pos + samples as u64 > self.released + WINDOW as u64 {
            self.stats.too_early += 1;
            return Pushed::TooEarly;
        }
        // Samples before `boundary` are in packets already due: closed.
        let boundary = self
            .released
            .max(due_packets(self.start, now) * PACKET_SAMPLES as u64);

        let conceal = gap.filter(|&g| {
            !frame.contiguous && g > 0 && g <= samples_in(MAX_CONCEAL) && g % 120 == 0
        });
        if let Some(gap) = conceal {
            // Both fit in `decoded`: gap ≤ 60 ms.
            let gap = gap as usize;
            let fec = gap.min(samples);
            let plc = gap - fec;
            let at = pos.saturating_sub(gap as u64);
            if plc > 0
                && let Ok(n) = source.decoder.decode(&[], &mut self.decoded[..plc], false)
            {
                mix_into(
                    &mut self.acc,
                    self.released,
                    boundary,
                    at,
                    &self.decoded[..n],
                );
            }
            if let Ok(n) = source
                .decoder
                .decode(&frame.data, &mut self.decoded[..fec], true)
            {
                let at = at + plc as u64;
                mix_into(
                    &mut self.acc,
                    self.released,
                    boundary,
                    at,
                    &self.decoded[..n],
                );
            }
            self.stats.concealed += 1;
        }

        let decoded = match source.decoder.decode(&frame.data, &mut self.decoded, false) {
            Ok(n) => n,
            Err(_) => {
                self.stats.undecodable += 1;
                // Keep its place: the next frame is not out of order, only after a gap.
                source.end = Some((frame.rtp_time + samples as u64, pos + samples as u64));
                return Pushed::Undecodable;
            }
        };
        source.end = Some((frame.rtp_time + decoded as u64, pos + decoded as u64));
        let end = pos + decoded as u64;
        if end <= boundary {
            self.stats.late_dropped += 1;
            return Pushed::LateDropped;
        }
        mix_into(
            &mut self.acc,
            self.released,
            boundary,
            pos,
            &self.decoded[..decoded],
        );
        self.stats.frames_mixed += 1;
        if pos < boundary {
            self.stats.late_truncated += 1;
            Pushed::LateTruncated
        } else {
            Pushed::Mixed
        }
    }

    /// Source `from` is gone: its decoder and clock are dropped (what it said stays mixed).
    pub fn remove(&mut self, from: P) {
        self.sources.remove(&from);
    }

    /// The composition time of the next packet to be released.
    pub fn next_time(&self) -> Duration {
        duration_of(self.released)
    }

    /// When the next packet is due: its end plus [`JITTER_ALLOWANCE`].
    pub fn next_due(&self) -> Instant {
        self.start + self.next_time() + PACKET + JITTER_ALLOWANCE
    }

    /// The next packet, if it is due at `now` (call until `None`).
    pub fn poll(&mut self, now: Instant) -> Option<Sample> {
        (now >= self.next_due()).then(|| self.release())
    }

    /// The next packet that starts before `now`, due or not: the recording ends at `now`
    /// (call until `None`). The last packet ends less than 20 ms after `now`.
    pub fn flush(&mut self, now: Instant) -> Option<Sample> {
        (self.start + self.next_time() < now).then(|| self.release())
    }

    /// Encodes the next packet's mix and moves on.
    fn release(&mut self) -> Sample {
        let take = PACKET_SAMPLES.min(self.acc.len());
        let mixed = self.acc.drain(..take).chain(std::iter::repeat(0));
        for (out, sum) in self.pcm.iter_mut().zip(mixed) {
            *out = sum.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
        }
        let data: Arc<[u8]> = match self.encoder.encode(&self.pcm, &mut self.packet) {
            Ok(len) => Arc::from(&self.packet[..len]),
            Err(_) => {
                self.stats.encode_errors += 1;
                Arc::from(&EMPTY_PACKET[..])
            }
        };
        let time = duration_of(self.released);
        self.released += PACKET_SAMPLES as u64;
        self.stats.packets_out += 1;
        Sample {
            codec: Codec::Opus,
            data,
            time,
            keyframe: true,
        }
    }
}

/// How many packets of a mix that began at `start` are due at `now`.
fn due_packets(start: Instant, now: Instant) -> u64 {
    let elapsed = now
        .saturating_duration_since(start)
        .saturating_sub(JITTER_ALLOWANCE);
    (elapsed.as_nanos() / PACKET.as_nanos()) as u64
}

/// Adds `pcm`, which starts at sample `at`, to the mix; samples before `boundary` are left
/// out. `acc[0]` is sample `released`.
fn mix_into(acc: &mut VecDeque<i32>, released: u64, boundary: u64, at: u64, pcm: &[i16]) {
    let skip = boundary.saturating_sub(at).min(pcm.len() as u64) as usize;
    let pcm = &pcm[skip..];
    if pcm.is_empty() {
        return;
    }
    let from = (at + skip as u64 - released) as usize;
    let to = from + pcm.len();
    if acc.len() < to {
        acc.resize(to, 0);
    }
    for (sum, &s) in acc.range_mut(from..to).zip(pcm) {
        *sum = sum.saturating_add(i32::from(s));
    }
}

/// Whole samples (48 kHz) in `d`, rounded to the nearest.
fn samples_in(d: Duration) -> u64 {
    ((d.as_nanos() * u128::from(SAMPLE_RATE) + 500_000_000) / 1_000_000_000) as u64
}

fn duration_of(samples: u64) -> Duration {
    Duration::from_nanos(samples * 1_000_000_000 / u64::from(SAMPLE_RATE))
}

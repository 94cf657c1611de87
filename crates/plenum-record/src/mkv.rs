//! A streaming Matroska/WebM writer, and the repair of a file a crash left behind.
//!
//! # Layout of a file
//!
//! ```text
//! EBML header (DocType "webm" or "matroska", DocTypeVersion 4)
//! Segment, size "unknown" in an 8-byte field (patched by `finish` and `repair`)
//!   a 96-byte Void that `finish` turns into a SeekHead (Info, Tracks, Cues) + Void
//!   Info: TimestampScale 10 µs, MuxingApp, WritingApp,
//!         an 11-byte Void at a known offset that `finish`/`repair` turn into Duration
//!   Tracks: one TrackEntry per `TrackSpec` (track numbers 1, 2, … in order)
//!   Cluster, Cluster, …: each written whole, with its size, when it closes
//!   Cues (by `finish`): a CuePoint per cluster that starts with a keyframe of the first
//!         video track (every cluster of an audio-only file)
//! ```
//!
//! A repaired file has no Cues (players seek in it by scanning the clusters); if a kill
//! cut the Cues of a finished file, `repair` makes its SeekHead a Void again.
//!
//! # Why whole clusters of a known size
//!
//! A cluster is buffered in memory until it closes (at a video keyframe, or when it spans
//! [`CLUSTER_SPAN`], or holds [`CLUSTER_BYTES`]), then written in one `write_all` and
//! flushed. So every byte on disk but the last cluster being written is a complete
//! element of a known size: the growing file is readable as it is, and after a kill the
//! file is a valid prefix that [`repair`] only has to cut and close. Unknown-size clusters
//! would lose less on a kill (one block, not ≤ 0.5 s) but leave the file's structure to be
//! guessed from block IDs by every reader; the cost of ours is one cluster in memory
//! (≤ 0.5 s, a few hundred KB of video).
//!
//! **What a kill loses**: the open cluster (≤ [`CLUSTER_SPAN`]) plus, with several tracks,
//! what waits in the interleaving buffer (≤ [`INTERLEAVE_WINDOW`]) — at most about 0.8 s
//! of the end. The caller's own buffers (a `BufWriter`) are flushed at each cluster.
//!
//! # Time
//!
//! Block timestamps are ticks of [`TICK`] (10 µs) on the caller's clock ([`Sample::time`]),
//! not shifted to start at zero: a track that starts late starts late in its file. Blocks are written in
//! time order across tracks: samples wait in an interleaving buffer until every track has
//! reached their time, or until they are [`INTERLEAVE_WINDOW`] older than the newest
//! sample (a track that stops does not hold the others). A sample that comes later still is
//! written at the last written time (never a backwards block). Within one track, block
//! timestamps strictly increase (a sample at or before the previous one's time is moved
//! 1 ms past it).
//!
//! Why 10 µs and not WebM's usual 1 ms: a 15 or 30 fps stream's frames are 66.67 or
//! 33.33 ms apart, and rounded to milliseconds they are 66 or 67 apart. A player or
//! ffmpeg that puts a constant-rate stream on a grid of its frame rate then sees two
//! frames in one grid step when the stream's phase is near a half step (ffmpeg's
//! `-f null` check fails with "non monotonically increasing dts"). At 10 µs the rounding
//! is 0.015 % of a frame. The cost: a cluster's relative timestamps (i16) span at most
//! 327 ms, so clusters close every [`CLUSTER_SPAN`].
//!
//! The Duration is the end of the last block: its timestamp plus the gap between that
//! track's last two blocks (the frame duration, 20 ms for Opus), the same rule in
//! [`MkvWriter::finish`] and [`repair`].
//!
//! # Why hand-written EBML
//!
//! `webm` (libwebm) needs `finalize()` and cannot repair; `webm-iterable` and `mkv-element`
//! write whole elements and parse strictly; none gives the byte offsets the Duration patch
//! and the repair need. The EBML needed is ~100 lines here.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use crate::{Codec, Sample};

/// A cluster closes when its next block would be this far from its start.
pub const CLUSTER_SPAN: Duration = Duration::from_millis(300);
/// A cluster closes when it holds this many bytes.
pub const CLUSTER_BYTES: usize = 2 * 1024 * 1024;
/// How long a sample waits for the other tracks before it is written anyway.
pub const INTERLEAVE_WINDOW: Duration = Duration::from_millis(300);
/// The longest frame duration counted at the end of a file (a video track's last gap may
/// be a freeze).
const MAX_LAST_FRAME: Duration = Duration::from_secs(1);

/// The unit of every timestamp in a file (its TimestampScale).
pub const TICK: Duration = Duration::from_micros(10);

/// The least a track's blocks are apart (1 ms).
const MIN_STEP_TICKS: u64 = 100;

fn to_ticks(d: Duration) -> u64 {
    u64::try_from(d.as_nanos() / TICK.as_nanos()).unwrap_or(u64::MAX)
}

fn from_ticks(ticks: u64) -> Duration {
    Duration::from_nanos(ticks.saturating_mul(TICK.as_nanos() as u64))
}

const EBML: u32 = 0x1A45_DFA3;
const EBML_VERSION: u32 = 0x4286;
const EBML_READ_VERSION: u32 = 0x42F7;
const EBML_MAX_ID_LENGTH: u32 = 0x42F2;
const EBML_MAX_SIZE_LENGTH: u32 = 0x42F3;
const DOC_TYPE: u32 = 0x4282;
const DOC_TYPE_VERSION: u32 = 0x4287;
const DOC_TYPE_READ_VERSION: u32 = 0x4285;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
const MUXING_APP: u32 = 0x4D80;
const WRITING_APP: u32 = 0x5741;
const DURATION: u32 = 0x4489;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_NUMBER: u32 = 0xD7;
const TRACK_UID: u32 = 0x73C5;
const TRACK_TYPE: u32 = 0x83;
const FLAG_LACING: u32 = 0x9C;
const CODEC_ID: u32 = 0x86;
const CODEC_PRIVATE: u32 = 0x63A2;
const CODEC_DELAY: u32 = 0x56AA;
const SEEK_PRE_ROLL: u32 = 0x56BB;
const VIDEO: u32 = 0xE0;
const PIXEL_WIDTH: u32 = 0xB0;
const PIXEL_HEIGHT: u32 = 0xBA;
const AUDIO: u32 = 0xE1;
const SAMPLING_FREQUENCY: u32 = 0xB5;
const CHANNELS: u32 = 0x9F;
const CLUSTER: u32 = 0x1F43_B675;
const TIMESTAMP: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;
const VOID: u32 = 0xEC;
const CUES: u32 = 0x1C53_BB6B;
const TAGS: u32 = 0x1254_C367;
const SEEK_HEAD: u32 = 0x114D_9B74;
const SEEK: u32 = 0x4DBB;
const SEEK_ID: u32 = 0x53AB;
const SEEK_POSITION: u32 = 0x53AC;
const CUE_POINT: u32 = 0xBB;
const CUE_TIME: u32 = 0xB3;
const CUE_TRACK_POSITIONS: u32 = 0xB7;
const CUE_TRACK: u32 = 0xF7;
const CUE_CLUSTER_POSITION: u32 = 0xF1;
/// The room reserved (a Void) first in the Segment for the SeekHead `finish` writes.
const SEEK_HEAD_SLOT: usize = 96;

/// The size field of the Segment: 8 bytes, all value bits set = "unknown".
const UNKNOWN_SIZE_8: [u8; 8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
/// The Duration slot: a Void now (ID, size 9, 9 bytes), a Duration later (ID 2 bytes, size
/// 8, an f64): 11 bytes either way.
const DURATION_SLOT: usize = 11;

/// WebM (Opus, VP8) or Matroska (H.264).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocType {
    WebM,
    Matroska,
}

impl DocType {
    /// The container a codec's file is written in (see [`Codec::extension`]).
    pub fn for_codec(codec: Codec) -> Self {
        match codec {
            Codec::Opus | Codec::Vp8 => DocType::WebM,
            Codec::H264 => DocType::Matroska,
        }
    }

    fn name(self) -> &'static str {
        match self {
            DocType::WebM => "webm",
            DocType::Matroska => "matroska",
        }
    }
}

/// One track of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackSpec {
    pub codec: Codec,
    /// Video only (PixelWidth, PixelHeight); ignored for audio.
    pub width: u32,
    pub height: u32,
    /// Opus: the `OpusHead` ([`opus_head`]); H.264: the avcC record
    /// ([`crate::h264::avcc_from_annexb_keyframe`]); VP8: empty.
    pub codec_private: Vec<u8>,
}

impl TrackSpec {
    /// An Opus track with the `OpusHead` of `channels` channels and no pre-skip.
    pub fn opus(channels: u8) -> Self {
        TrackSpec {
            codec: Codec::Opus,
            width: 0,
            height: 0,
            codec_private: opus_head(channels, 0, 48_000),
        }
    }

    /// A VP8 track.
    pub fn vp8(width: u32, height: u32) -> Self {
        TrackSpec {
            codec: Codec::Vp8,
            width,
            height,
            codec_private: Vec::new(),
        }
    }
}

/// The identification header of an Opus stream (RFC 7845, 5.1), the CodecPrivate of an
/// Opus track: mapping family 0 (mono or stereo).
pub fn opus_head(channels: u8, pre_skip: u16, input_rate: u32) -> Vec<u8> {
    let mut head = Vec::with_capacity(19);
    head.extend_from_slice(b"OpusHead");
    head.push(1); // version
    head.push(channels);
    head.extend_from_slice(&pre_skip.to_le_bytes());
    head.extend_from_slice(&input_rate.to_le_bytes());
    head.extend_from_slice(&0i16.to_le_bytes()); // output gain
    head.push(0); // channel mapping family
    head
}

/// What a finished (or repaired) file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// The end of the last block on the file's clock (see the module docs).
    pub duration: Duration,
    /// The file's size.
    pub bytes: u64,
}

// ---------------------------------------------------------------------------------------
// EBML writing

fn put_id(buf: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    buf.extend_from_slice(&bytes[skip..]);
}

/// A size as the shortest vint (the all-ones value of each length is reserved).
fn put_size(buf: &mut Vec<u8>, size: u64) {
    let mut len = 1;
    while len < 8 && size >= (1u64 << (7 * len)) - 1 {
        len += 1;
    }
    put_size_len(buf, size, len);
}

fn put_size_len(buf: &mut Vec<u8>, size: u64, len: usize) {
    let marked = size | (1u64 << (7 * len));
    buf.extend_from_slice(&marked.to_be_bytes()[8 - len..]);
}

fn put_uint(buf: &mut Vec<u8>, id: u32, value: u64) {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
    put_id(buf, id);
    put_size(buf, (8 - skip) as u64);
    buf.extend_from_slice(&bytes[skip..]);
}

fn put_float(buf: &mut Vec<u8>, id: u32, value: f64) {
    put_id(buf, id);
    put_size(buf, 8);
    buf.extend_from_slice(&value.to_be_bytes());
}

fn put_bytes(buf: &mut Vec<u8>, id: u32, value: &[u8]) {
    put_id(buf, id);
    put_size(buf, value.len() as u64);
    buf.extend_from_slice(value);
}

fn put_master(buf: &mut Vec<u8>, id: u32, content: &[u8]) {
    put_bytes(buf, id, content);
}

fn duration_element(ticks: u64) -> [u8; DURATION_SLOT] {
    let mut buf = Vec::with_capacity(DURATION_SLOT);
    put_float(&mut buf, DURATION, ticks as f64);
    let mut out = [0; DURATION_SLOT];
    out.copy_from_slice(&buf);
    out
}

fn segment_size_field(size: u64) -> [u8; 8] {
    let mut buf = Vec::with_capacity(8);
    put_size_len(&mut buf, size, 8);
    let mut out = [0; 8];
    out.copy_from_slice(&buf);
    out
}

/// The header up to the first cluster, and the offsets of the Segment's size field, the
/// Segment's data and the Duration slot.
fn header(doc_type: DocType, tracks: &[TrackSpec]) -> (Vec<u8>, Offsets) {
    let mut ebml = Vec::new();
    put_uint(&mut ebml, EBML_VERSION, 1);
    put_uint(&mut ebml, EBML_READ_VERSION, 1);
    put_uint(&mut ebml, EBML_MAX_ID_LENGTH, 4);
    put_uint(&mut ebml, EBML_MAX_SIZE_LENGTH, 8);
    put_bytes(&mut ebml, DOC_TYPE, doc_type.name().as_bytes());
    put_uint(&mut ebml, DOC_TYPE_VERSION, 4);
    put_uint(&mut ebml, DOC_TYPE_READ_VERSION, 2);
    let mut out = Vec::new();
    put_master(&mut out, EBML, &ebml);
    put_id(&mut out, SEGMENT);
    let segment_size = out.len() as u64;
    out.extend_from_slice(&UNKNOWN_SIZE_8);
    let segment_data = out.len() as u64;
    put_void(&mut out, SEEK_HEAD_SLOT);

    let mut info = Vec::new();
    put_uint(&mut info, TIMESTAMP_SCALE, TICK.as_nanos() as u64);
    let app = concat!("plenum-record ", env!("CARGO_PKG_VERSION"));
    put_bytes(&mut info, MUXING_APP, app.as_bytes());
    put_bytes(&mut info, WRITING_APP, app.as_bytes());
    let slot_in_info = info.len();
    put_bytes(&mut info, VOID, &[0; DURATION_SLOT - 2]);
    let info_start = out.len();
    put_master(&mut out, INFO, &info);
    let info_header = out.len() - info_start - info.len();
    let duration_slot = (info_start + info_header + slot_in_info) as u64;

    let mut entries = Vec::new();
    for (i, spec) in tracks.iter().enumerate() {
        let number = i as u64 + 1;
        let mut entry = Vec::new();
        put_uint(&mut entry, TRACK_NUMBER, number);
        put_uint(&mut entry, TRACK_UID, number);
        put_uint(&mut entry, FLAG_LACING, 0);
        match spec.codec {
            Codec::Opus => {
                put_uint(&mut entry, TRACK_TYPE, 2);
                put_bytes(&mut entry, CODEC_ID, b"A_OPUS");
                // As ffmpeg writes Opus: CodecDelay is the OpusHead's pre-skip in ns,
                // SeekPreRoll 80 ms (RFC 7845's recommended decoder pre-roll).
                let pre_skip = spec
                    .codec_private
                    .get(10..12)
                    .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
                put_uint(
                    &mut entry,
                    CODEC_DELAY,
                    u64::from(pre_skip) * 1_000_000_000 / 48_000,
                );
                put_uint(&mut entry, SEEK_PRE_ROLL, 80_000_000);
                let channels = spec.codec_private.get(9).copied().unwrap_or(2);
                let mut audio = Vec::new();
                put_float(&mut audio, SAMPLING_FREQUENCY, 48_000.0);
                put_uint(&mut audio, CHANNELS, u64::from(channels.max(1)));
                put_master(&mut entry, AUDIO, &audio);
            }
            Codec::Vp8 | Codec::H264 => {
                put_uint(&mut entry, TRACK_TYPE, 1);
                let id: &[u8] = if spec.codec == Codec::Vp8 {
                    b"V_VP8"
                } else {
                    b"V_MPEG4/ISO/AVC"
                };
                put_bytes(&mut entry, CODEC_ID, id);
                let mut video = Vec::new();
                put_uint(&mut video, PIXEL_WIDTH, u64::from(spec.width.max(1)));
                put_uint(&mut video, PIXEL_HEIGHT, u64::from(spec.height.max(1)));
                put_master(&mut entry, VIDEO, &video);
            }
        }
        if !spec.codec_private.is_empty() {
            put_bytes(&mut entry, CODEC_PRIVATE, &spec.codec_private);
        }
        put_master(&mut entries, TRACK_ENTRY, &entry);
    }
    let tracks_at = out.len() as u64;
    put_master(&mut out, TRACKS, &entries);
    (
        out,
        Offsets {
            segment_size,
            segment_data,
            duration_slot,
            info: info_start as u64 - segment_data,
            tracks: tracks_at - segment_data,
        },
    )
}

#[derive(Debug, Clone, Copy)]
struct Offsets {
    segment_size: u64,
    segment_data: u64,
    duration_slot: u64,
    /// Info's and Tracks' positions in the Segment's data (for the SeekHead).
    info: u64,
    tracks: u64,
}

/// A Void of `len` bytes in all (len ≥ 2, < 129).
fn put_void(buf: &mut Vec<u8>, len: usize) {
    put_id(buf, VOID);
    put_size(buf, len as u64 - 2);
    buf.resize(buf.len() + len - 2, 0);
}

/// The SeekHead (Info, Tracks, Cues; positions in 8 bytes: always 68 bytes) and a Void
/// after it: [`SEEK_HEAD_SLOT`] bytes that replace the Void the header reserved.
fn seek_head(offsets: &Offsets, cues: u64) -> Vec<u8> {
    let mut seeks = Vec::new();
    for (id, position) in [(INFO, offsets.info), (TRACKS, offsets.tracks), (CUES, cues)] {
        let mut seek = Vec::new();
        put_bytes(&mut seek, SEEK_ID, &id.to_be_bytes());
        put_id(&mut seek, SEEK_POSITION);
        put_size(&mut seek, 8);
        seek.extend_from_slice(&position.to_be_bytes());
        put_master(&mut seeks, SEEK, &seek);
    }
    let mut out = Vec::with_capacity(SEEK_HEAD_SLOT);
    put_master(&mut out, SEEK_HEAD, &seeks);
    let rest = SEEK_HEAD_SLOT - out.len();
    put_void(&mut out, rest);
    out
}

/// Cues: one CuePoint per cluster that a player may start at.
fn cues(points: &[(u64, u64, u64)]) -> Vec<u8> {
    let mut content = Vec::new();
    for &(time, track, position) in points {
        let mut positions = Vec::new();
        put_uint(&mut positions, CUE_TRACK, track);
        put_uint(&mut positions, CUE_CLUSTER_POSITION, position);
        let mut point = Vec::new();
        put_uint(&mut point, CUE_TIME, time);
        put_master(&mut point, CUE_TRACK_POSITIONS, &positions);
        put_master(&mut content, CUE_POINT, &point);
    }
    let mut out = Vec::new();
    put_master(&mut out, CUES, &content);
    out
}

// ---------------------------------------------------------------------------------------
// The writer

/// Writes a Matroska/WebM file as samples come (see the module docs).
#[derive(Debug)]
pub struct MkvWriter<W: Write> {
    out: W,
    offsets: Offsets,
    tracks: Vec<TrackState>,
    /// Samples waiting for the other tracks, by (time, arrival order).
    pending: BTreeMap<(Duration, u64), (usize, Sample)>,
    seq: u64,
    newest: Duration,
    /// The timestamp of the last block written, in ms (blocks never go back).
    last_written: Option<u64>,
    cluster: Cluster,
    bytes: u64,
    /// The track (1-based) the Cues point at: the first video track, else track 1.
    cue_track: u64,
    /// (time, track, position in the Segment's data) of the clusters a player may start at.
    cue_points: Vec<(u64, u64, u64)>,
}

#[derive(Debug, Default)]
struct TrackState {
    video: bool,
    /// The latest sample time given for this track.
    pushed: Option<Duration>,
    /// The last two block timestamps written, in ms.
    last: Option<u64>,
    gap: u64,
}

#[derive(Debug, Default)]
struct Cluster {
    start: Option<u64>,
    blocks: Vec<u8>,
    /// It begins with a keyframe of the cue track.
    cue: bool,
}

impl<W: Write> MkvWriter<W> {
    /// Writes the header (EBML header, Segment start, Info, Tracks) to `out`.
    pub fn new(mut out: W, doc_type: DocType, tracks: Vec<TrackSpec>) -> io::Result<Self> {
        if tracks.is_empty() || tracks.len() > 126 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a Matroska file needs 1 to 126 tracks",
            ));
        }
        let (head, offsets) = header(doc_type, &tracks);
        out.write_all(&head)?;
        out.flush()?;
        Ok(MkvWriter {
            out,
            offsets,
            tracks: tracks
                .iter()
                .map(|t| TrackState {
                    video: t.codec.is_video(),
                    ..TrackState::default()
                })
                .collect(),
            pending: BTreeMap::new(),
            seq: 0,
            newest: Duration::ZERO,
            last_written: None,
            cluster: Cluster::default(),
            bytes: head.len() as u64,
            cue_track: tracks.iter().position(|t| t.codec.is_video()).unwrap_or(0) as u64 + 1,
            cue_points: Vec::new(),
        })
    }

    /// Adds a sample of track `track` (0-based, the order of the `TrackSpec`s). It is
    /// written once the interleaving allows (see the module docs).
    pub fn write(&mut self, track: usize, sample: &Sample) -> io::Result<()> {
        let Some(state) = self.tracks.get_mut(track) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no track {track}"),
            ));
        };
        state.pushed = Some(state.pushed.map_or(sample.time, |p| p.max(sample.time)));
        self.newest = self.newest.max(sample.time);
        self.pending
            .insert((sample.time, self.seq), (track, sample.clone()));
        self.seq += 1;
        // Released: what every track has reached, and what is a window older than the
        // newest sample.
        let all_reached = self
            .tracks
            .iter()
            .map(|t| t.pushed)
            .min()
            .flatten()
            .unwrap_or(Duration::ZERO);
        let watermark = all_reached.max(self.newest.saturating_sub(INTERLEAVE_WINDOW));
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().0 > watermark {
                break;
            }
            let (track, sample) = entry.remove();
            self.write_block(track, &sample)?;
        }
        Ok(())
    }

    /// The duration written so far (blocks in the interleaving buffer not counted).
    pub fn duration(&self) -> Duration {
        from_ticks(end_ticks(self.tracks.iter().map(|t| (t.last, t.gap))))
    }

    fn write_block(&mut self, track: usize, sample: &Sample) -> io::Result<()> {
        let state = &mut self.tracks[track];
        let video = state.video;
        let mut ms = to_ticks(sample.time);
        ms = ms.max(self.last_written.unwrap_or(0));
        if let Some(last) = state.last {
            // A block at or before the track's last moves just past it: 1 ms, so that
            // readers rescaling to a sample or frame grid still see them apart.
            ms = ms.max(last + MIN_STEP_TICKS);
            state.gap = ms - last;
        }
        state.last = Some(ms);
        self.last_written = Some(ms);
        // A new cluster at each video keyframe (seeking lands on one), and when the open
        // one spans CLUSTER_SPAN or holds CLUSTER_BYTES.
        let cut = self.cluster.start.is_some_and(|start| {
            video && sample.keyframe
                || ms - start >= to_ticks(CLUSTER_SPAN)
                || self.cluster.blocks.len() >= CLUSTER_BYTES
        });
        if cut {
            self.flush_cluster()?;
        }
        if self.cluster.start.is_none() {
            self.cluster.cue = track as u64 + 1 == self.cue_track && (sample.keyframe || !video);
        }
        let start = *self.cluster.start.get_or_insert(ms);
        // The relative timestamp is < CLUSTER_SPAN, well within i16.
        let relative = i16::try_from(ms - start).unwrap_or(i16::MAX);
        let blocks = &mut self.cluster.blocks;
        put_id(blocks, SIMPLE_BLOCK);
        put_size(blocks, sample.data.len() as u64 + 4);
        put_size(blocks, track as u64 + 1);
        blocks.extend_from_slice(&relative.to_be_bytes());
        // Keyframe flag: video keyframes, and every audio frame (each decodes alone).
        blocks.push(if sample.keyframe || !video {
            0x80
        } else {
            0x00
        });
        blocks.extend_from_slice(&sample.data);
        Ok(())
    }

    /// Writes the open cluster whole, and flushes `out`.
    fn flush_cluster(&mut self) -> io::Result<()> {
        let Some(start) = self.cluster.start.take() else {
            return Ok(());
        };
        let mut content = Vec::with_capacity(self.cluster.blocks.len() + 12);
        put_uint(&mut content, TIMESTAMP, start);
        content.append(&mut self.cluster.blocks);
        let mut head = Vec::with_capacity(12);
        put_id(&mut head, CLUSTER);
        put_size_len(&mut head, content.len() as u64, 8);
        self.out.write_all(&head)?;
        self.out.write_all(&content)?;
        self.out.flush()?;
        if self.cluster.cue {
            let position = self.bytes - self.offsets.segment_data;
            self.cue_points.push((start, self.cue_track, position));
        }
        self.bytes += (head.len() + content.len()) as u64;
        Ok(())
    }

    fn drain(&mut self) -> io::Result<()> {
        while let Some((_, (track, sample))) = self.pending.pop_first() {
            self.write_block(track, &sample)?;
        }
        self.flush_cluster()
    }

    /// Writes what is buffered and flushes, without seeking: for a pipe (a live WebM to
    /// an ffmpeg's stdin). The Segment keeps its unknown size and the file no Duration.
    pub fn close(mut self) -> io::Result<(W, Summary)> {
        self.drain()?;
        let summary = Summary {
            duration: self.duration(),
            bytes: self.bytes,
        };
        Ok((self.out, summary))
    }
}

impl<W: Write + Seek> MkvWriter<W> {
    /// Writes what is buffered, patches the Duration and the Segment's size, flushes.
    /// The position of `out` is left at the end of the file.
    pub fn finish(mut self) -> io::Result<Summary> {
        self.drain()?;
        let duration = self.duration();
        if !self.cue_points.is_empty() {
            let cues_at = self.bytes - self.offsets.segment_data;
            let cues = cues(&self.cue_points);
            self.out.write_all(&cues)?;
            self.bytes += cues.len() as u64;
            self.out.seek(SeekFrom::Start(self.offsets.segment_data))?;
            self.out.write_all(&seek_head(&self.offsets, cues_at))?;
        }
        let end = self.bytes;
        self.out.seek(SeekFrom::Start(self.offsets.duration_slot))?;
        self.out.write_all(&duration_element(to_ticks(duration)))?;
        self.out.seek(SeekFrom::Start(self.offsets.segment_size))?;
        self.out
            .write_all(&segment_size_field(end - self.offsets.segment_data))?;
        self.out.seek(SeekFrom::Start(end))?;
        self.out.flush()?;
        Ok(Summary {
            duration,
            bytes: self.bytes,
        })
    }
}

/// The end of a file's last block, in ticks: the latest track's last timestamp plus its
/// last gap.
fn end_ticks(tracks: impl Iterator<Item = (Option<u64>, u64)>) -> u64 {
    tracks
        .filter_map(|(last, gap)| last.map(|l| l + gap.min(to_ticks(MAX_LAST_FRAME))))
        .max()
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// Repair

/// Makes a file a killed writer left behind playable: keeps the complete blocks, cuts the
/// rest (a partly written cluster keeps its complete blocks), sets the Duration (the same
/// rule as [`MkvWriter::finish`]) and the Segment's size. A finished file is left as it
/// is (its Duration written again). Anything that is not what [`MkvWriter`] writes ends
/// the walk there.
///
/// Errors: a file without a complete header or without one complete block (`InvalidData`,
/// "no complete block"): the recording failed; the file is left untouched.
pub fn repair(path: &Path) -> io::Result<Summary> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let len = file.metadata()?.len();
    let plan = {
        let mut reader = Reader {
            file: &mut file,
            len,
        };
        plan_repair(&mut reader)?
    };
    if let Some(at) = plan.stale_seek_head {
        let mut void = Vec::new();
        put_id(&mut void, VOID);
        put_size(&mut void, SEEK_HEAD_SLOT as u64 - 2);
        file.seek(SeekFrom::Start(at))?;
        file.write_all(&void)?;
    }
    if let Some((offset, size)) = plan.cluster_size_patch {
        file.seek(SeekFrom::Start(offset))?;
        let mut field = Vec::with_capacity(8);
        put_size_len(&mut field, size, 8);
        file.write_all(&field)?;
    }
    file.set_len(plan.end)?;
    file.seek(SeekFrom::Start(plan.duration_slot))?;
    file.write_all(&duration_element(plan.duration_ms))?;
    file.seek(SeekFrom::Start(plan.segment_size))?;
    file.write_all(&segment_size_field(plan.end - plan.segment_data))?;
    file.sync_all()?;
    Ok(Summary {
        duration: from_ticks(plan.duration_ms),
        bytes: plan.end,
    })
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

#[derive(Debug)]
struct Plan {
    end: u64,
    segment_size: u64,
    segment_data: u64,
    duration_slot: u64,
    duration_ms: u64,
    /// A cluster cut short: the offset of its 8-byte size field and its new size.
    cluster_size_patch: Option<(u64, u64)>,
    /// Our SeekHead, whose Cues are cut off: to be made a Void again.
    stale_seek_head: Option<u64>,
}

struct Reader<'a, R> {
    file: &'a mut R,
    len: u64,
}

/// An element's header: its ID, the offset and length of its size field, its data's
/// offset and size (`None`: unknown).
#[derive(Debug, Clone, Copy)]
struct Header {
    id: u32,
    size_at: u64,
    size_len: usize,
    data: u64,
    size: Option<u64>,
}

impl Header {
    fn end(&self) -> Option<u64> {
        self.size.and_then(|s| self.data.checked_add(s))
    }
}

impl<R: Read + Seek> Reader<'_, R> {
    fn bytes(&mut self, at: u64, buf: &mut [u8]) -> io::Result<bool> {
        if at
            .checked_add(buf.len() as u64)
            .is_none_or(|end| end > self.len)
        {
            return Ok(false);
        }
        self.file.seek(SeekFrom::Start(at))?;
        self.file.read_exact(buf)?;
        Ok(true)
    }

    /// A vint at `at`: (its length, its value with the marker removed, all-ones?).
    fn vint(&mut self, at: u64, max_len: usize) -> io::Result<Option<(usize, u64, bool)>> {
        let mut first = [0u8];
        if !self.bytes(at, &mut first)? {
            return Ok(None);
        }
        let len = first[0].leading_zeros() as usize + 1;
        if len > max_len {
            return Ok(None);
        }
        let mut buf = [0u8; 8];
        if !self.bytes(at, &mut buf[..len])? {
            return Ok(None);
        }
        let mut value = 0u64;
        for b in &buf[..len] {
            value = value << 8 | u64::from(*b);
        }
        let data_bits = 7 * len as u32;
        let mask = (1u64 << data_bits) - 1;
        Ok(Some((len, value & mask, value & mask == mask)))
    }

    /// The element header at `at`, or `None` if it is cut or malformed.
    fn header(&mut self, at: u64) -> io::Result<Option<Header>> {
        let Some((id_len, _, _)) = self.vint(at, 4)? else {
            return Ok(None);
        };
        let mut id_bytes = [0u8; 4];
        if !self.bytes(at, &mut id_bytes[..id_len])? {
            return Ok(None);
        }
        let id = id_bytes[..id_len]
            .iter()
            .fold(0u32, |acc, b| acc << 8 | u32::from(*b));
        let size_at = at + id_len as u64;
        let Some((size_len, size, unknown)) = self.vint(size_at, 8)? else {
            return Ok(None);
        };
        Ok(Some(Header {
            id,
            size_at,
            size_len,
            data: size_at + size_len as u64,
            size: (!unknown).then_some(size),
        }))
    }

    /// A complete element of known size at `at`, within `limit`.
    fn complete(&mut self, at: u64, limit: u64) -> io::Result<Option<Header>> {
        Ok(self
            .header(at)?
            .filter(|h| h.end().is_some_and(|end| end <= limit)))
    }

    fn uint(&mut self, h: &Header) -> io::Result<Option<u64>> {
        let size = h.size.unwrap_or(9);
        if size > 8 {
            return Ok(None);
        }
        let mut buf = [0u8; 8];
        if !self.bytes(h.data, &mut buf[..size as usize])? {
            return Ok(None);
        }
        Ok(Some(
            buf[..size as usize]
                .iter()
                .fold(0u64, |acc, b| acc << 8 | u64::from(*b)),
        ))
    }
}

fn plan_repair<R: Read + Seek>(r: &mut Reader<'_, R>) -> io::Result<Plan> {
    let no_header = || invalid("no complete Matroska header (EBML, Segment, Info, Tracks)");
    let ebml = r
        .complete(0, r.len)?
        .filter(|h| h.id == EBML)
        .ok_or_else(no_header)?;
    let segment = r
        .header(ebml.end().ok_or_else(no_header)?)?
        .filter(|h| h.id == SEGMENT && h.size_len == 8)
        .ok_or_else(no_header)?;
    let segment_end = segment.end().map_or(r.len, |end| end.min(r.len));
    let mut at = segment.data;
    let mut duration_slot = None;
    let mut tracks_seen = false;
    let mut end = None;
    let mut cluster_size_patch = None;
    let mut seek_head_at = None;
    let mut cues_kept = false;
    // Per track number: the last block timestamp and the gap before it.
    let mut last: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    while at < segment_end {
        let Some(h) = r.header(at)? else { break };
        match h.id {
            INFO if duration_slot.is_none() => {
                let Some(info_end) = h.end().filter(|&e| e <= segment_end) else {
                    break;
                };
                let mut child = h.data;
                while child < info_end {
                    let Some(c) = r.complete(child, info_end)? else {
                        break;
                    };
                    let slot = c.end().map(|e| e - child) == Some(DURATION_SLOT as u64);
                    if slot && (c.id == VOID || c.id == DURATION) {
                        duration_slot = Some(child);
                    }
                    child = c.end().unwrap_or(info_end);
                }
                at = info_end;
            }
            TRACKS | VOID | SEEK_HEAD | CUES | TAGS => {
                let Some(e) = h.end().filter(|&e| e <= segment_end) else {
                    break;
                };
                tracks_seen |= h.id == TRACKS;
                if end.is_some() {
                    end = Some(e);
                    cues_kept |= h.id == CUES;
                }
                // Ours: first in the Segment, 68 bytes, and a Void to fill the slot.
                let slot_end = segment.data + SEEK_HEAD_SLOT as u64;
                if h.id == SEEK_HEAD
                    && at == segment.data
                    && r.complete(e, slot_end)?
                        .is_some_and(|v| v.id == VOID && v.end() == Some(slot_end))
                {
                    seek_head_at = Some(at);
                }
                at = e;
            }
            CLUSTER if duration_slot.is_some() && tracks_seen => {
                let declared = h.end().unwrap_or(u64::MAX);
                let cluster_end = declared.min(segment_end);
                let mut child = h.data;
                let mut timestamp = None;
                let mut kept = None;
                while child < cluster_end {
                    let Some(c) = r.complete(child, cluster_end)? else {
                        break;
                    };
                    let c_end = c.end().unwrap_or(cluster_end);
                    match c.id {
                        TIMESTAMP if timestamp.is_none() => match r.uint(&c)? {
                            Some(t) => timestamp = Some(t),
                            None => break,
                        },
                        SIMPLE_BLOCK => {
                            let Some(base) = timestamp else { break };
                            let Some((n_len, track, _)) = r.vint(c.data, 8)? else {
                                break;
                            };
                            let mut rel = [0u8; 2];
                            let size = c.size.unwrap_or(0);
                            if size < n_len as u64 + 3
                                || !r.bytes(c.data + n_len as u64, &mut rel)?
                            {
                                break;
                            }
                            let rel = i64::from(i16::from_be_bytes(rel));
                            let ms = (base as i64 + rel).max(0) as u64;
                            let entry = last.entry(track).or_insert((ms, 0));
                            if ms > entry.0 {
                                *entry = (ms, ms - entry.0);
                            }
                            kept = Some(c_end);
                        }
                        VOID => {}
                        _ => break,
                    }
                    child = c_end;
                }
                let Some(kept) = kept else { break };
                end = Some(kept);
                if kept != declared {
                    if h.size_len != 8 {
                        break;
                    }
                    cluster_size_patch = Some((h.size_at, kept - h.data));
                    break;
                }
                at = kept;
            }
            _ => break,
        }
    }
    let duration_slot = duration_slot.ok_or_else(no_header)?;
    if !tracks_seen {
        return Err(no_header());
    }
    let end = end.ok_or_else(|| invalid("no complete block in the file"))?;
    let duration_ms = end_ticks(last.values().map(|&(ms, gap)| (Some(ms), gap)));
    Ok(Plan {
        end,
        segment_size: segment.size_at,
        segment_data: segment.data,
        duration_slot,
        duration_ms,
        cluster_size_patch,
        stale_seek_head: seek_head_at.filter(|_| !cues_kept),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use std::sync::Arc;

    fn sample(ms: u64, keyframe: bool) -> Sample {
        Sample {
            codec: Codec::Opus,
            data: Arc::from(&[0xF8u8, 1, 2, 3][..]),
            time: Duration::from_millis(ms),
            keyframe,
        }
    }

    #[test]
    fn sizes_are_the_shortest_vint_and_never_all_ones() {
        let enc = |n| {
            let mut b = Vec::new();
            put_size(&mut b, n);
            b
        };
        assert_eq!(enc(0), [0x80]);
        assert_eq!(enc(126), [0xFE]);
        assert_eq!(enc(127), [0x40, 0x7F], "0xFF would mean unknown");
        assert_eq!(enc(300), [0x41, 0x2C]);
    }

    #[test]
    fn the_duration_slot_is_a_void_until_finish_makes_it_a_duration() {
        let mut out = Cursor::new(Vec::new());
        let mut w =
            MkvWriter::new(&mut out, DocType::WebM, vec![TrackSpec::opus(2)]).expect("header");
        let slot = w.offsets.duration_slot as usize;
        for i in 0..10 {
            w.write(0, &sample(i * 20, true)).expect("write");
        }
        let summary = w.finish().expect("finish");
        assert_eq!(summary.duration, Duration::from_millis(200));
        let bytes = out.into_inner();
        assert_eq!(summary.bytes, bytes.len() as u64);
        assert_eq!(&bytes[slot..slot + 3], &[0x44, 0x89, 0x88]);
        let value = f64::from_be_bytes(bytes[slot + 3..slot + 11].try_into().expect("8"));
        assert_eq!(value, 20_000.0, "200 ms in 10 µs ticks");
    }

    #[test]
    fn a_late_sample_of_another_track_waits_and_is_written_in_order() {
        let mut out = Cursor::new(Vec::new());
        let specs = vec![TrackSpec::opus(2), TrackSpec::vp8(320, 240)];
        let mut w = MkvWriter::new(&mut out, DocType::WebM, specs).expect("header");
        w.write(1, &sample(0, true)).expect("video");
        w.write(1, &sample(66, false)).expect("video");
        // Audio at 40 ms comes after video at 66 ms: held until both tracks pass it.
        w.write(0, &sample(40, true)).expect("audio");
        w.write(0, &sample(100, true)).expect("audio");
        w.write(1, &sample(133, false)).expect("video");
        let order: Vec<_> = w.pending.keys().map(|(t, _)| t.as_millis()).collect();
        assert_eq!(order, [133], "everything up to 100 ms is written");
        assert_eq!(w.tracks[0].last, Some(10_000), "ticks of 10 µs");
        assert_eq!(w.tracks[1].last, Some(6_600));
        assert_eq!(w.last_written, Some(10_000));
    }
}

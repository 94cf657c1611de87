//! Plenum's recorder, in the same sans-IO style as plenum-media: frames and time come in as
//! arguments; bytes go out through a `std::io::Write` the caller owns (a file, a pipe).
//!
//! THE TYPES IN THIS FILE ARE THE CONTRACT WITH plenum-media AND plenum-service.
//!
//! - [`mkv`]: a streaming Matroska/WebM writer (the file is playable while it grows; the
//!   duration is patched in at the end) and [`mkv::repair`] for a file a crash left open.
//! - [`timeline`]: where a frame sits on the recording's clock (RTCP sender reports, arrival
//!   time as fallback).
//! - [`track`]: one participant's track into one file: starts at a keyframe, small reorder
//!   buffer, asks for a keyframe when there is none for a while.
//! - [`mix`] and [`compose`]: the meeting recording and the live stream: audio of everyone
//!   mixed (Opus decoded, mixed, encoded again) and the video of the speaker or the lecturer,
//!   switched at keyframes, never transcoded.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

pub mod compose;
pub mod composed;
pub mod h264;
pub mod mix;
pub mod mkv;
pub mod timeline;
pub mod track;
pub mod vp8;

/// The codecs Plenum records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    Opus,
    Vp8,
    H264,
}

impl Codec {
    /// The RTP clock rate: 48 kHz for Opus, 90 kHz for video.
    pub fn clock_rate(self) -> u32 {
        match self {
            Codec::Opus => 48_000,
            Codec::Vp8 | Codec::H264 => 90_000,
        }
    }

    pub fn is_video(self) -> bool {
        !matches!(self, Codec::Opus)
    }

    /// The name the history surfaces show (`codec` of a Telnyx recording).
    pub fn as_str(self) -> &'static str {
        match self {
            Codec::Opus => "opus",
            Codec::Vp8 => "vp8",
            Codec::H264 => "h264",
        }
    }

    /// The file extension: WebM holds Opus and VP8; H.264 goes in Matroska.
    pub fn extension(self) -> &'static str {
        match self {
            Codec::Opus | Codec::Vp8 => "webm",
            Codec::H264 => "mkv",
        }
    }
}

/// The last RTCP sender report of the track a frame came on: the sender's wall clock
/// (`ntp`) at RTP time `rtp_time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderReport {
    pub ntp: SystemTime,
    /// In the codec's clock, unrolled like [`Frame::rtp_time`].
    pub rtp_time: u64,
}

/// One whole frame as the SFU received it (str0m's `MediaData`, depacketized).
#[derive(Debug, Clone)]
pub struct Frame {
    pub codec: Codec,
    /// An Opus packet; a VP8 frame; an H.264 access unit in Annex B form (start codes).
    pub data: Arc<[u8]>,
    /// The RTP timestamp, unrolled to 64 bits, in [`Codec::clock_rate`] units.
    pub rtp_time: u64,
    /// When the frame's packets arrived.
    pub arrival: Instant,
    pub sender_report: Option<SenderReport>,
    pub keyframe: bool,
    /// False when packets were lost before this frame (video must wait for a keyframe).
    pub contiguous: bool,
}

/// A frame placed on a recording's clock: what a file (or the live stream) is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub codec: Codec,
    pub data: Arc<[u8]>,
    /// Since the recording (or composition) began; never decreases within one track.
    pub time: std::time::Duration,
    pub keyframe: bool,
}

pub use composed::ComposedWriter;
pub use mkv::{DocType, MkvWriter, Summary, TrackSpec, repair};
pub use timeline::{SenderClock, TrackClock};
pub use track::{TrackAction, TrackRecorder};

//! One participant's one track into one file, sans-IO.
//!
//! A [`TrackRecorder`] takes the frames of one track as the SFU receives them
//! ([`Frame`]) and writes them, without transcoding, into a WebM (Opus, VP8) or Matroska
//! (H.264) file through an [`MkvWriter`]:
//!
//! 1. **Keyframes.** A video file starts at a keyframe; the file's header is written only
//!    then, since the keyframe gives the picture size (and, for H.264, the SPS/PPS of the
//!    avcC). Frames before it are dropped. After a frame that follows lost packets
//!    (`contiguous == false`), frames are dropped until the next keyframe. While a video
//!    track waits for a keyframe, [`TrackAction::RequestKeyframe`] is returned at once and
//!    then every [`KEYFRAME_REQUEST_INTERVAL`] (the caller sends a PLI/FIR upstream).
//!    Audio has no such wait: every Opus packet decodes alone.
//! 2. **Reordering.** Frames wait in a small buffer ordered by RTP time and leave it, oldest
//!    first, when it holds more than [`REORDER_AUDIO`] / [`REORDER_VIDEO`] frames or spans
//!    more than [`REORDER_SPAN`] (in RTP time or since the oldest's arrival). A frame older
//!    than the last released one is too late and dropped; one more than
//!    [`RESTART_DISTANCE`] older is a restarted stream and starts the order again.
//! 3. **Time.** A frame leaving the buffer is placed on the recording's clock by a
//!    [`TrackClock`] (sender reports through the participant's [`SenderClock`], RTP time
//!    from the first arrival otherwise): the block timestamps of a participant's audio and
//!    video files, given the same `start`, are on one clock. The caller should give as
//!    `start` the instant the participant's recording began, so its files start near zero.
//!
//! Counters: [`TrackRecorder::frames_written`] and [`TrackRecorder::frames_dropped`] (every
//! frame given to `push` ends up in one of them once the recorder is finished).
//!
//! The end: [`TrackRecorder::finish`] writes what is buffered and closes the file (see
//! [`MkvWriter::finish`]). A recorder dropped without `finish` (a crash) leaves a file that
//! [`crate::mkv::repair`] completes; it lacks at most the end that was still in memory:
//! the reorder buffer (≤ [`REORDER_SPAN`]) and the writer's open cluster
//! (≤ [`crate::mkv::CLUSTER_SPAN`]), about 0.7 s.

use std::collections::BTreeMap;
use std::io::{self, Seek, Write};
use std::time::{Duration, Instant};

use crate::mkv::{DocType, MkvWriter, Summary, TrackSpec};
use crate::timeline::{SenderClock, TrackClock};
use crate::{Codec, Frame, Sample, h264, vp8};

/// How often a video track waiting for a keyframe asks again.
pub const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_secs(4);
/// The most audio frames the reorder buffer holds (Galène's figure).
pub const REORDER_AUDIO: usize = 32;
/// The most video frames the reorder buffer holds (Galène's figure).
pub const REORDER_VIDEO: usize = 256;
/// The longest the reorder buffer spans, in RTP time and in arrival time.
pub const REORDER_SPAN: Duration = Duration::from_millis(200);
/// A frame this much older than the last written one is a restarted stream, not a late frame.
pub const RESTART_DISTANCE: Duration = Duration::from_secs(5);

/// What the caller should do for a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackAction {
    /// Ask the publisher for a keyframe (RTCP PLI or FIR).
    RequestKeyframe,
}

/// Records one track into one file (see the module docs).
#[derive(Debug)]
pub struct TrackRecorder<W: Write> {
    codec: Codec,
    clock: TrackClock,
    /// The output before the first usable frame; the writer after it.
    out: Option<W>,
    writer: Option<MkvWriter<W>>,
    /// Frames by RTP time.
    reorder: BTreeMap<u64, Frame>,
    /// The RTP time of the last frame that left the buffer.
    released: Option<u64>,
    /// Video: waiting for a keyframe (at the start, after a gap).
    waiting: bool,
    /// Video: the keyframe that ended the last wait; frames before it are dropped.
    resume: Option<u64>,
    last_request: Option<Instant>,
    /// The participant's clock as of the last `push`, to place what `finish` releases.
    sender: SenderClock,
    written: u64,
    dropped: u64,
}

impl<W: Write> TrackRecorder<W> {
    /// A recorder of a `codec` track for a recording that began at `start`, into `out`
    /// (nothing is written before the first usable frame).
    pub fn new(codec: Codec, start: Instant, out: W) -> Self {
        TrackRecorder {
            codec,
            clock: TrackClock::new(start),
            out: Some(out),
            writer: None,
            reorder: BTreeMap::new(),
            released: None,
            waiting: codec.is_video(),
            resume: None,
            last_request: None,
            sender: SenderClock::default(),
            written: 0,
            dropped: 0,
        }
    }

    /// Frames written to the file (or waiting in the reorder buffer to be).
    pub fn frames_written(&self) -> u64 {
        self.written + self.reorder.len() as u64
    }

    /// Frames not written: before the first keyframe, in a gap, too late, duplicates, of
    /// another codec.
    pub fn frames_dropped(&self) -> u64 {
        self.dropped
    }

    /// Whether the file has begun (its header is written).
    pub fn started(&self) -> bool {
        self.writer.is_some()
    }

    /// Takes one frame of the track, `now` being the current time. Returns what the caller
    /// should do (ask for a keyframe); errors are the output's.
    pub fn push(
        &mut self,
        sender: &mut SenderClock,
        frame: &Frame,
        now: Instant,
    ) -> io::Result<Vec<TrackAction>> {
        let mut actions = Vec::new();
        if frame.codec != self.codec || frame.data.is_empty() {
            self.dropped += 1;
            return Ok(actions);
        }
        if self.codec.is_video() && !self.admit_video(frame) {
            self.dropped += 1;
            if self.waiting
                && self
                    .last_request
                    .is_none_or(|at| now.saturating_duration_since(at) >= KEYFRAME_REQUEST_INTERVAL)
            {
                self.last_request = Some(now);
                actions.push(TrackAction::RequestKeyframe);
            }
            return Ok(actions);
        }
        if let Some(released) = self.released
            && frame.rtp_time <= released
        {
            let restart = u64::from(self.codec.clock_rate()) * RESTART_DISTANCE.as_secs();
            if released - frame.rtp_time < restart {
                self.dropped += 1;
                return Ok(actions);
            }
            // A restarted stream: what is buffered belongs before it.
            self.release_all(sender)?;
            self.released = None;
        }
        if self.reorder.contains_key(&frame.rtp_time) {
            self.dropped += 1;
            return Ok(actions);
        }
        self.reorder.insert(frame.rtp_time, frame.clone());
        let cap = if self.codec.is_video() {
            REORDER_VIDEO
        } else {
            REORDER_AUDIO
        };
        let span = u64::from(self.codec.clock_rate()) * REORDER_SPAN.as_millis() as u64 / 1000;
        while let (Some((&oldest, first)), Some((&newest, _))) = (
            self.reorder.first_key_value(),
            self.reorder.last_key_value(),
        ) {
            let old = now.saturating_duration_since(first.arrival) > REORDER_SPAN;
            if self.reorder.len() <= cap && newest - oldest <= span && !old {
                break;
            }
            if let Some(frame) = self.reorder.remove(&oldest) {
                self.release(sender, frame)?;
            }
        }
        self.sender = sender.clone();
        Ok(actions)
    }

    /// The keyframe and gap rules of a video frame: whether it may go on.
    fn admit_video(&mut self, frame: &Frame) -> bool {
        if !frame.contiguous && !frame.keyframe && !self.waiting {
            self.waiting = true;
            // Buffered frames after the loss may depend on what was lost.
            let after: Vec<u64> = self
                .reorder
                .range(frame.rtp_time..)
                .filter(|(_, f)| !f.keyframe)
                .map(|(&t, _)| t)
                .collect();
            for t in after {
                self.reorder.remove(&t);
                self.dropped += 1;
            }
        }
        if frame.keyframe && (self.writer.is_some() || self.spec(frame).is_some()) {
            if self.waiting {
                self.waiting = false;
                self.resume = Some(frame.rtp_time);
                self.last_request = None;
            }
            return true;
        }
        !self.waiting && self.resume.is_none_or(|resume| frame.rtp_time > resume)
    }

    /// The track of the file, from its first usable frame.
    fn spec(&self, frame: &Frame) -> Option<TrackSpec> {
        match self.codec {
            // WebRTC's Opus is negotiated as 2 channels (`opus/48000/2`); a decoder
            // upmixes mono packets.
            Codec::Opus => Some(TrackSpec::opus(2)),
            Codec::Vp8 => {
                let (width, height) = vp8::keyframe_size(&frame.data)?;
                Some(TrackSpec::vp8(width, height))
            }
            Codec::H264 => {
                let (avcc, sps) = h264::avcc_from_annexb_keyframe(&frame.data)?;
                Some(TrackSpec {
                    codec: Codec::H264,
                    width: sps.width,
                    height: sps.height,
                    codec_private: avcc,
                })
            }
        }
    }

    fn release(&mut self, sender: &mut SenderClock, frame: Frame) -> io::Result<()> {
        self.released = Some(frame.rtp_time);
        if self.writer.is_none() {
            let (Some(spec), Some(out)) = (self.spec(&frame), self.out.take()) else {
                self.dropped += 1;
                return Ok(());
            };
            self.writer = Some(MkvWriter::new(
                out,
                DocType::for_codec(self.codec),
                vec![spec],
            )?);
        }
        let time = self.clock.place(sender, &frame);
        let data = match self.codec {
            Codec::H264 => h264::annexb_to_avcc(&frame.data).into(),
            Codec::Opus | Codec::Vp8 => frame.data.clone(),
        };
        let sample = Sample {
            codec: self.codec,
            data,
            time,
            keyframe: frame.keyframe || !self.codec.is_video(),
        };
        if let Some(writer) = self.writer.as_mut() {
            writer.write(0, &sample)?;
            self.written += 1;
        }
        Ok(())
    }

    fn release_all(&mut self, sender: &mut SenderClock) -> io::Result<()> {
        while let Some((_, frame)) = self.reorder.pop_first() {
            self.release(sender, frame)?;
        }
        Ok(())
    }
}

impl<W: Write + Seek> TrackRecorder<W> {
    /// Writes what is buffered and finishes the file (Duration, sizes). An error of kind
    /// `InvalidData` when no usable frame came (video: no keyframe): the caller marks the
    /// recording failed and removes the file, which then holds nothing.
    pub fn finish(mut self) -> io::Result<Summary> {
        let mut sender = self.sender.clone();
        self.release_all(&mut sender)?;
        match self.writer {
            Some(writer) => writer.finish(),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                match self.codec.is_video() {
                    true => "the track sent no keyframe: nothing was recorded",
                    false => "the track sent no frame: nothing was recorded",
                },
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use std::sync::Arc;

    fn opus(rtp_ms: u64, arrival: Instant) -> Frame {
        Frame {
            codec: Codec::Opus,
            // TOC of a 20 ms CELT frame, and some bytes.
            data: Arc::from(&[0xfcu8, 0xff, 0xfe][..]),
            rtp_time: rtp_ms * 48,
            arrival,
            sender_report: None,
            keyframe: true,
            contiguous: true,
        }
    }

    #[test]
    fn duplicates_and_frames_too_late_are_dropped_and_a_restarted_stream_goes_on() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut sender = SenderClock::default();
        let mut recorder = TrackRecorder::new(Codec::Opus, start, Cursor::new(Vec::new()));
        let mut push = |r: &mut TrackRecorder<_>, rtp_ms, at_ms| {
            let actions = r.push(&mut sender, &opus(rtp_ms, at(at_ms)), at(at_ms));
            assert_eq!(actions.expect("push"), []);
        };
        for i in 0..20 {
            push(&mut recorder, 10_000 + i * 20, i * 20);
        }
        assert!(
            recorder.started(),
            "what is older than 200 ms left the buffer"
        );
        push(&mut recorder, 10_000 + 19 * 20, 400); // a duplicate
        push(&mut recorder, 10_000, 410); // 400 ms late: already written past it
        assert_eq!(
            (recorder.frames_written(), recorder.frames_dropped()),
            (20, 2)
        );
        // The sender restarted: its RTP time is a minute back. Not late: a new order.
        for i in 0..5 {
            push(&mut recorder, i * 20, 420 + i * 20);
        }
        assert_eq!(
            (recorder.frames_written(), recorder.frames_dropped()),
            (25, 2)
        );
        let summary = recorder.finish().expect("finish");
        // Placed at arrival after the restart (the TrackClock re-anchors): ends ≈ 520 ms.
        assert_eq!(summary.duration, Duration::from_millis(520));
    }
}

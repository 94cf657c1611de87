//! The composition ([`crate::compose::Composer`]'s samples) into one WebM: the meeting
//! recording, and the live WebM an RTMP push feeds to ffmpeg.
//!
//! A WebM declares its tracks up front, and a VP8 track wants the picture size, which only a
//! keyframe tells. So the header waits for the composition's first video keyframe, keeping
//! the audio until then; a meeting that shows no video for [`HEADER_WAIT`] gets an
//! audio-only file, and video that starts later is left out of it (counted).

use std::io::{self, Seek, Write};
use std::time::Duration;

use crate::mkv::{DocType, MkvWriter, Summary, TrackSpec};
use crate::{Codec, Sample, vp8};

/// How long the header waits for a first video keyframe.
pub const HEADER_WAIT: Duration = Duration::from_secs(3);

/// Writes a composition into a WebM (see the module docs).
#[derive(Debug)]
pub struct ComposedWriter<W: Write> {
    out: Option<W>,
    writer: Option<MkvWriter<W>>,
    /// The mix's `OpusHead`.
    opus_head: Vec<u8>,
    /// Audio waiting for the header.
    waiting: Vec<Sample>,
    has_video: bool,
    /// Video left out: before the header, or after an audio-only header.
    video_skipped: u64,
}

impl<W: Write> ComposedWriter<W> {
    /// A composition whose audio has this `OpusHead` (`Composer::opus_head().to_bytes()`).
    pub fn new(out: W, opus_head: Vec<u8>) -> Self {
        Self {
            out: Some(out),
            writer: None,
            opus_head,
            waiting: Vec::new(),
            has_video: false,
            video_skipped: 0,
        }
    }

    pub fn write(&mut self, sample: &Sample) -> io::Result<()> {
        if self.writer.is_none() {
            match sample.codec {
                Codec::Vp8 => match vp8::keyframe_size(&sample.data) {
                    Some((width, height)) if sample.keyframe => {
                        self.begin(Some((width, height)))?;
                    }
                    _ => {
                        self.video_skipped += 1;
                        return Ok(());
                    }
                },
                Codec::Opus => {
                    self.waiting.push(sample.clone());
                    let first = self.waiting.first().map_or(sample.time, |s| s.time);
                    if sample.time.saturating_sub(first) >= HEADER_WAIT {
                        self.begin(None)?;
                    }
                    return Ok(());
                }
                Codec::H264 => {
                    self.video_skipped += 1;
                    return Ok(());
                }
            }
        }
        let Some(writer) = &mut self.writer else {
            return Ok(());
        };
        match sample.codec {
            Codec::Opus => writer.write(0, sample),
            Codec::Vp8 if self.has_video => writer.write(1, sample),
            Codec::Vp8 | Codec::H264 => {
                self.video_skipped += 1;
                Ok(())
            }
        }
    }

    /// Video samples left out of the file.
    pub fn video_skipped(&self) -> u64 {
        self.video_skipped
    }

    /// Writes the header (with a video track of this size, or audio only) and the audio
    /// that waited for it.
    fn begin(&mut self, video: Option<(u32, u32)>) -> io::Result<()> {
        let Some(out) = self.out.take() else {
            return Ok(());
        };
        let mut tracks = vec![TrackSpec {
            codec: Codec::Opus,
            width: 0,
            height: 0,
            codec_private: self.opus_head.clone(),
        }];
        if let Some((width, height)) = video {
            tracks.push(TrackSpec::vp8(width, height));
        }
        self.has_video = video.is_some();
        let mut writer = MkvWriter::new(out, DocType::WebM, tracks)?;
        for sample in self.waiting.drain(..) {
            writer.write(0, &sample)?;
        }
        self.writer = Some(writer);
        Ok(())
    }

    /// The end of a stream to a pipe: what waited is written, and the output given back.
    pub fn close(mut self) -> io::Result<Option<(W, Summary)>> {
        if self.writer.is_none() && !self.waiting.is_empty() {
            self.begin(None)?;
        }
        self.writer.map(MkvWriter::close).transpose()
    }
}

impl<W: Write + Seek> ComposedWriter<W> {
    /// The end of a file: its duration and cues written. A composition that never had a
    /// sample is an error (there is no file to keep).
    pub fn finish(mut self) -> io::Result<Summary> {
        if self.writer.is_none() && !self.waiting.is_empty() {
            self.begin(None)?;
        }
        match self.writer {
            Some(writer) => writer.finish(),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "nothing was recorded",
            )),
        }
    }
}

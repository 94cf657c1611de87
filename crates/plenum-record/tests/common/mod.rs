//! What the recorder's tests share: the project's media fixtures as `Frame`s on simulated
//! time, ffmpeg/ffprobe checks, and reading a file back with matroska-demuxer.

#![allow(dead_code)]

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use matroska_demuxer::MatroskaFile;
use plenum_client::media::source::{AUDIO_OGG, VIDEO_IVF, read_ivf, read_ogg_opus};
use plenum_record::{Codec, Frame, SenderReport};

/// The sender's wall clock at the first frame of every stream the tests make.
pub fn wall0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// How a test stream is sent.
#[derive(Debug, Clone, Copy)]
pub struct Stream {
    /// The RTP time of the first frame.
    pub rtp0: u64,
    /// Network delay of every frame: arrival = start + capture offset + delay + jitter.
    pub delay: Duration,
    /// Attach a sender report saying "wall0 at rtp0" (same capture instant for all
    /// streams of the test).
    pub reports: bool,
    /// How long to send (the fixture loops).
    pub length: Duration,
}

impl Stream {
    pub fn new(rtp0: u64, length_ms: u64) -> Self {
        Stream {
            rtp0,
            delay: Duration::from_millis(50),
            reports: false,
            length: Duration::from_millis(length_ms),
        }
    }
}

fn frames(codec: Codec, start: Instant, stream: Stream) -> Vec<Frame> {
    let track = match codec {
        Codec::Vp8 => read_ivf(VIDEO_IVF).expect("the video fixture"),
        Codec::Opus => read_ogg_opus(AUDIO_OGG).expect("the audio fixture"),
        Codec::H264 => panic!("no H.264 fixture: see h264_access_units"),
    };
    let mut out = Vec::new();
    let mut pass = 0u64;
    'outer: loop {
        for sample in &track.samples {
            let offset = track.duration * pass as u32 + sample.offset;
            if offset >= stream.length {
                break 'outer;
            }
            let rtp = stream.rtp0 + pass * track.rtp_duration + sample.rtp_offset;
            // Deterministic jitter of 0–10 ms.
            let jitter = Duration::from_millis((out.len() as u64 * 7) % 11);
            out.push(Frame {
                codec,
                data: sample.data.clone(),
                rtp_time: rtp,
                arrival: start + offset + stream.delay + jitter,
                sender_report: stream.reports.then_some(SenderReport {
                    ntp: wall0(),
                    rtp_time: stream.rtp0,
                }),
                keyframe: sample.keyframe,
                contiguous: true,
            });
        }
        pass += 1;
    }
    out
}

/// The VP8 fixture (320x240, 15 fps, a keyframe every 7 frames) as received frames.
pub fn vp8_frames(start: Instant, stream: Stream) -> Vec<Frame> {
    frames(Codec::Vp8, start, stream)
}

/// The Opus fixture (mono, 20 ms frames) as received frames.
pub fn opus_frames(start: Instant, stream: Stream) -> Vec<Frame> {
    frames(Codec::Opus, start, stream)
}

pub fn have_ffmpeg() -> bool {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: ffmpeg is not installed (apt-get install ffmpeg)");
    }
    ok
}

/// `ffmpeg -v error -xerror -i FILE -f null -` must succeed and print nothing.
pub fn assert_decodes(path: &Path) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-xerror", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty() && out.stdout.is_empty(),
        "ffmpeg failed to decode {}: {}{stderr}",
        path.display(),
        out.status
    );
}

/// The duration ffprobe reads from the file's header.
pub fn probe_duration(path: &Path) -> Duration {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "default=nw=1:nk=1",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let seconds: f64 = text
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("ffprobe gave no duration for {}: {text}", path.display()));
    Duration::from_secs_f64(seconds)
}

pub fn assert_close(actual: Duration, expected: Duration, tolerance: Duration, what: &str) {
    let diff = actual.abs_diff(expected);
    assert!(
        diff <= tolerance,
        "{what}: {actual:?}, expected {expected:?} ± {tolerance:?}"
    );
}

/// A file read back: its demuxer (for the header) and all its frames.
pub fn demux(path: &Path) -> (MatroskaFile<File>, Vec<matroska_demuxer::Frame>) {
    let file = File::open(path).expect("open");
    let mut mkv = MatroskaFile::open(file).expect("matroska-demuxer opens the file");
    let mut frames = Vec::new();
    loop {
        let mut frame = matroska_demuxer::Frame::default();
        if !mkv.next_frame(&mut frame).expect("a frame reads") {
            break;
        }
        frames.push(frame);
    }
    (mkv, frames)
}

/// Splits an Annex B H.264 stream into access units (one slice per picture, as x264
/// makes at this size): a new one begins at a non-VCL NAL unit (SEI, SPS, PPS, AUD) or a
/// slice whose first_mb_in_slice is 0, once the current one has a slice.
pub fn h264_access_units(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i..i + 3] == [0, 0, 1] {
            let begin = if i > 0 && stream[i - 1] == 0 {
                i - 1
            } else {
                i
            };
            starts.push((begin, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut units: Vec<Vec<u8>> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut has_slice = false;
    for (n, &(begin, data)) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map_or(stream.len(), |&(b, _)| b);
        let kind = stream[data] & 0x1f;
        let slice = kind == 1 || kind == 5;
        let first_mb_zero = slice && stream.get(data + 1).is_some_and(|b| b & 0x80 != 0);
        let starts_au = has_slice && (!slice || first_mb_zero);
        if starts_au {
            units.push(std::mem::take(&mut current));
            has_slice = false;
        }
        current.extend_from_slice(&stream[begin..end]);
        has_slice |= slice;
    }
    if !current.is_empty() {
        units.push(current);
    }
    units
}

/// 3 s of 320x240 H.264 at 30 fps (keyframe every 30 frames, no B-frames, as WebRTC
/// senders do), made by ffmpeg in `dir`; `None` (with a message) without ffmpeg.
pub fn make_h264(dir: &Path) -> Option<Vec<Vec<u8>>> {
    if !have_ffmpeg() {
        return None;
    }
    let path = dir.join("source.h264");
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=320x240:rate=30")
        .args(["-t", "3", "-c:v", "libx264", "-g", "30", "-bf", "0"])
        .args(["-bsf:v", "h264_mp4toannexb", "-f", "h264"])
        .arg(&path)
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg made no H.264: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stream = std::fs::read(&path).expect("the H.264 stream");
    Some(h264_access_units(&stream))
}

pub fn arc(data: &[u8]) -> Arc<[u8]> {
    Arc::from(data)
}

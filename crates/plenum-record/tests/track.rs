//! TrackRecorder with real media (the project's VP8 and Opus fixtures, H.264 made by
//! ffmpeg) on simulated time: the files decode with ffmpeg, last as long as recorded, read
//! back with matroska-demuxer as written.

mod common;

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use plenum_record::mkv::Summary;
use plenum_record::timeline::SenderClock;
use plenum_record::track::{TrackAction, TrackRecorder};
use plenum_record::{Codec, Frame};

struct Recorded {
    summary: Summary,
    written: u64,
    dropped: u64,
    /// The simulated instants at which a keyframe was requested, since `start`.
    requests: Vec<Duration>,
}

/// Pushes `frames` in order, each at its arrival, into a file at `path`, and finishes.
fn record(
    codec: Codec,
    start: Instant,
    sender: &mut SenderClock,
    frames: &[Frame],
    path: &Path,
) -> Recorded {
    let out = BufWriter::new(File::create(path).expect("create"));
    let mut recorder = TrackRecorder::new(codec, start, out);
    let mut requests = Vec::new();
    for frame in frames {
        let actions = recorder
            .push(sender, frame, frame.arrival)
            .expect("push writes");
        if actions.contains(&TrackAction::RequestKeyframe) {
            requests.push(frame.arrival - start);
        }
    }
    let (written, dropped) = (recorder.frames_written(), recorder.frames_dropped());
    let summary = recorder.finish().expect("finish");
    Recorded {
        summary,
        written,
        dropped,
        requests,
    }
}

fn strictly_increasing(frames: &[matroska_demuxer::Frame]) -> bool {
    frames.windows(2).all(|w| w[0].timestamp < w[1].timestamp)
}

#[test]
fn five_seconds_of_vp8_and_opus_decode_last_five_seconds_and_read_back_as_sent() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let start = Instant::now();
    let mut sender = SenderClock::default();

    let video = vp8_frames(start, Stream::new(90_000, 5_000));
    let video_path = dir.path().join("video.webm");
    let v = record(Codec::Vp8, start, &mut sender, &video, &video_path);
    assert_eq!(
        (v.written, v.dropped),
        (video.len() as u64, 0),
        "no lost frames"
    );
    assert!(v.requests.is_empty(), "it starts at a keyframe: no request");

    let audio = opus_frames(start, Stream::new(48_000, 5_000));
    let audio_path = dir.path().join("audio.webm");
    let a = record(Codec::Opus, start, &mut sender, &audio, &audio_path);
    assert_eq!(
        (a.written, a.dropped),
        (audio.len() as u64, 0),
        "no lost frames"
    );

    for (path, summary) in [(&video_path, v.summary), (&audio_path, a.summary)] {
        assert_decodes(path);
        let probed = probe_duration(path);
        // The fixtures start 50 ms after `start` (network delay) and last 5 s.
        assert_close(
            probed,
            Duration::from_millis(5_050),
            Duration::from_secs(1),
            "ffprobe",
        );
        assert_close(
            summary.duration,
            probed,
            Duration::from_millis(1),
            "Summary",
        );
        assert_eq!(summary.bytes, std::fs::metadata(path).expect("meta").len());
    }

    let (mkv, frames) = demux(&video_path);
    assert_eq!(mkv.ebml_header().doc_type(), "webm");
    assert_eq!(mkv.info().timestamp_scale().get(), 10_000, "10 µs ticks");
    let track = &mkv.tracks()[0];
    assert_eq!(track.codec_id(), "V_VP8");
    let size = track.video().expect("video");
    assert_eq!(
        (size.pixel_width().get(), size.pixel_height().get()),
        (320, 240)
    );
    assert_eq!(frames.len(), video.len());
    assert_eq!(frames[0].is_keyframe, Some(true), "starts at a keyframe");
    assert!(strictly_increasing(&frames));
    for (read, sent) in frames.iter().zip(&video) {
        assert_eq!(read.data, &*sent.data);
        assert_eq!(read.is_keyframe, Some(sent.keyframe));
    }

    let (mkv, frames) = demux(&audio_path);
    let track = &mkv.tracks()[0];
    assert_eq!(track.codec_id(), "A_OPUS");
    let head = track.codec_private().expect("OpusHead");
    assert!(head.starts_with(b"OpusHead"), "{head:?}");
    assert_eq!(track.audio().expect("audio").sampling_frequency(), 48_000.0);
    assert_eq!(track.seek_pre_roll(), Some(80_000_000));
    assert_eq!(frames.len(), audio.len());
    assert!(strictly_increasing(&frames));
    // Opus frames are 20 ms apart on the RTP clock, and so in the file.
    assert!(
        frames
            .windows(2)
            .all(|w| w[1].timestamp - w[0].timestamp == 2_000)
    );
}

#[test]
fn neighbours_swapped_on_the_way_come_out_in_order() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let start = Instant::now();
    for codec in [Codec::Vp8, Codec::Opus] {
        let sent = match codec {
            Codec::Vp8 => vp8_frames(start, Stream::new(0, 3_000)),
            _ => opus_frames(start, Stream::new(0, 3_000)),
        };
        // Swap every other pair (the keyframe at 0 stays first), the later one arriving
        // first.
        let mut swapped = sent.clone();
        for i in (1..swapped.len() - 1).step_by(4) {
            swapped.swap(i, i + 1);
            let (a, b) = (swapped[i].arrival, swapped[i + 1].arrival);
            swapped[i].arrival = a.min(b);
            swapped[i + 1].arrival = a.max(b);
        }
        let path = dir.path().join(format!("{}.webm", codec.as_str()));
        let r = record(codec, start, &mut SenderClock::default(), &swapped, &path);
        assert_eq!((r.written, r.dropped), (sent.len() as u64, 0));
        assert_decodes(&path);
        let (_, frames) = demux(&path);
        assert!(strictly_increasing(&frames));
        let data: Vec<&[u8]> = frames.iter().map(|f| &f.data[..]).collect();
        let in_order: Vec<&[u8]> = sent.iter().map(|f| &*f.data).collect();
        assert_eq!(data, in_order, "{codec:?}: the order the sender sent");
    }
}

#[test]
fn a_gap_drops_until_the_next_keyframe_and_asks_for_one_then_every_four_seconds() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let start = Instant::now();
    let mut frames = vp8_frames(start, Stream::new(0, 10_000));
    // Packets are lost before the frame at 1 s; the sender's next keyframes are lost too
    // until 6 s (marked as interframes here, and left out of the file).
    let gap = frames
        .iter()
        .position(|f| f.arrival - start >= Duration::from_secs(1) && !f.keyframe)
        .expect("an interframe after 1 s");
    frames[gap].contiguous = false;
    let resume = frames
        .iter()
        .position(|f| f.arrival - start >= Duration::from_secs(6) && f.keyframe)
        .expect("a keyframe after 6 s");
    for frame in &mut frames[gap..resume] {
        frame.keyframe = false;
    }
    let path = dir.path().join("gap.webm");
    let r = record(
        Codec::Vp8,
        start,
        &mut SenderClock::default(),
        &frames,
        &path,
    );
    assert_eq!(
        r.dropped,
        (resume - gap) as u64,
        "from the gap to the keyframe"
    );
    assert_eq!(r.written, (frames.len() - (resume - gap)) as u64);
    // Asked at once (the first dropped frame), again 4 s later, not more.
    let at_gap = frames[gap].arrival - start;
    assert_eq!(r.requests.len(), 2, "{:?}", r.requests);
    assert_eq!(r.requests[0], at_gap);
    assert!(
        r.requests[1] >= at_gap + Duration::from_secs(4)
            && r.requests[1] < at_gap + Duration::from_millis(4_100),
        "{:?}",
        r.requests
    );
    assert_decodes(&path);
    let (_, read) = demux(&path);
    let after_gap = read
        .iter()
        .find(|f| f.timestamp > ticks(frames[gap - 1].arrival - start) + 3_000)
        .expect("frames after the gap");
    assert_eq!(after_gap.is_keyframe, Some(true), "resumes at a keyframe");
    assert_eq!(after_gap.data, &*frames[resume].data);
    assert_close(
        probe_duration(&path),
        Duration::from_secs(10),
        Duration::from_secs(1),
        "the gap is in the timeline",
    );
}

#[test]
fn video_before_the_first_keyframe_is_dropped_and_a_keyframe_asked_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    let start = Instant::now();
    let frames = vp8_frames(start, Stream::new(0, 2_000));
    let first_key = 1 + frames[1..]
        .iter()
        .position(|f| f.keyframe)
        .expect("a second keyframe");
    // Joined after the stream's first keyframe.
    let path = dir.path().join("late.webm");
    let r = record(
        Codec::Vp8,
        start,
        &mut SenderClock::default(),
        &frames[1..],
        &path,
    );
    assert_eq!(r.dropped, (first_key - 1) as u64);
    assert_eq!(r.requests, [frames[1].arrival - start]);
    let (_, read) = demux(&path);
    assert_eq!(read[0].data, &*frames[first_key].data);
    assert_eq!(read[0].timestamp, ticks(frames[first_key].arrival - start));
    if have_ffmpeg() {
        assert_decodes(&path);
    }

    // A track that never sends a keyframe has nothing to finish: an error, an empty file.
    let path = dir.path().join("none.webm");
    let mut recorder = TrackRecorder::new(Codec::Vp8, start, File::create(&path).expect("f"));
    let mut sender = SenderClock::default();
    for frame in frames.iter().filter(|f| !f.keyframe).take(5) {
        recorder
            .push(&mut sender, frame, frame.arrival)
            .expect("push");
    }
    assert!(!recorder.started());
    let err = recorder.finish().expect_err("no keyframe");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert_eq!(std::fs::metadata(&path).expect("meta").len(), 0);
}

#[test]
fn with_sender_reports_a_participants_audio_and_video_files_share_one_clock() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let start = Instant::now();
    // Both captured from wall0 on, with unrelated RTP times; video arrives 80 ms later
    // than audio (a longer network path, a slower encoder).
    let mut audio = Stream::new(123_456, 3_000);
    audio.reports = true;
    audio.delay = Duration::from_millis(40);
    let mut video = Stream::new(9_876_543, 3_000);
    video.reports = true;
    video.delay = Duration::from_millis(120);
    let audio = opus_frames(start, audio);
    let video = vp8_frames(start, video);

    // One participant, one SenderClock: video is pushed first here (as it comes).
    let mut sender = SenderClock::default();
    let (a_path, v_path) = (dir.path().join("a.webm"), dir.path().join("v.webm"));
    record(Codec::Vp8, start, &mut sender, &video, &v_path);
    record(Codec::Opus, start, &mut sender, &audio, &a_path);
    let (_, a) = demux(&a_path);
    let (_, v) = demux(&v_path);
    // Captured at the same instant: the same timestamp, though they arrived 80 ms apart.
    assert!(
        a[0].timestamp.abs_diff(v[0].timestamp) <= 100,
        "audio {} video {}",
        a[0].timestamp,
        v[0].timestamp
    );
    // Without reports, each is placed at its own arrival: 80 ms apart.
    let mut sender = SenderClock::default();
    let strip = |frames: &[Frame]| -> Vec<Frame> {
        frames
            .iter()
            .cloned()
            .map(|mut f| {
                f.sender_report = None;
                f
            })
            .collect()
    };
    record(Codec::Vp8, start, &mut sender, &strip(&video), &v_path);
    record(Codec::Opus, start, &mut sender, &strip(&audio), &a_path);
    let (_, a) = demux(&a_path);
    let (_, v) = demux(&v_path);
    assert_eq!(v[0].timestamp - a[0].timestamp, 8_000);
    assert_decodes(&a_path);
    assert_decodes(&v_path);
}

#[test]
fn h264_goes_into_matroska_with_its_avcc_and_decodes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(units) = make_h264(dir.path()) else {
        return;
    };
    assert_eq!(units.len(), 90, "3 s at 30 fps");
    let start = Instant::now();
    let frames: Vec<Frame> = units
        .iter()
        .enumerate()
        .map(|(i, unit)| Frame {
            codec: Codec::H264,
            data: arc(unit),
            rtp_time: 1_000 + i as u64 * 3_000,
            arrival: start + Duration::from_micros(i as u64 * 33_333),
            sender_report: None,
            keyframe: plenum_record::h264::is_keyframe(unit),
            contiguous: true,
        })
        .collect();
    assert_eq!(frames.iter().filter(|f| f.keyframe).count(), 3);
    let path = dir.path().join("h264.mkv");
    let r = record(
        Codec::H264,
        start,
        &mut SenderClock::default(),
        &frames,
        &path,
    );
    assert_eq!((r.written, r.dropped), (90, 0));
    assert_decodes(&path);
    assert_close(
        probe_duration(&path),
        Duration::from_secs(3),
        Duration::from_secs(1),
        "ffprobe",
    );
    let (mkv, read) = demux(&path);
    assert_eq!(mkv.ebml_header().doc_type(), "matroska");
    let track = &mkv.tracks()[0];
    assert_eq!(track.codec_id(), "V_MPEG4/ISO/AVC");
    let video = track.video().expect("video");
    assert_eq!(
        (video.pixel_width().get(), video.pixel_height().get()),
        (320, 240)
    );
    let avcc = track.codec_private().expect("avcC");
    assert_eq!((avcc[0], avcc[4]), (1, 0xff), "version 1, 4-byte lengths");
    assert_eq!(read.len(), 90);
    assert_eq!(read[0].is_keyframe, Some(true));
    // Blocks are length-prefixed NAL units, not Annex B.
    let first_len = u32::from_be_bytes(read[1].data[..4].try_into().expect("4")) as usize;
    assert!(first_len + 4 <= read[1].data.len());
    assert_ne!(&read[1].data[..3], &[0, 0, 1]);
}

/// A duration in the files' 10 µs ticks.
fn ticks(d: Duration) -> u64 {
    (d.as_micros() / 10) as u64
}

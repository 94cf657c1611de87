//! MkvWriter and repair with real media: several tracks interleaved in time order, a live
//! WebM through a pipe, a file a kill cut short made playable, and repair against every
//! truncation of a file and against garbage.

mod common;

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use plenum_client::media::source::{AUDIO_OGG, VIDEO_IVF, read_ivf, read_ogg_opus};
use plenum_record::mkv::{self, DocType, MkvWriter, TrackSpec};
use plenum_record::timeline::SenderClock;
use plenum_record::track::TrackRecorder;
use plenum_record::{Codec, Sample};

/// The fixtures as samples of `length`: (track, sample), audio track 0, video track 1, in
/// time order.
fn av_samples(length: Duration) -> Vec<(usize, Sample)> {
    let video = read_ivf(VIDEO_IVF).expect("video fixture");
    let audio = read_ogg_opus(AUDIO_OGG).expect("audio fixture");
    let mut out = Vec::new();
    for (track, codec, samples) in [
        (0, Codec::Opus, &audio.samples),
        (1, Codec::Vp8, &video.samples),
    ] {
        for s in samples.iter().filter(|s| s.offset < length) {
            out.push((
                track,
                Sample {
                    codec,
                    data: s.data.clone(),
                    time: s.offset,
                    keyframe: s.keyframe,
                },
            ));
        }
    }
    out.sort_by_key(|(_, s)| s.time);
    out
}

fn av_specs() -> Vec<TrackSpec> {
    vec![TrackSpec::opus(1), TrackSpec::vp8(320, 240)]
}

fn file_order_is_time_order(frames: &[matroska_demuxer::Frame]) -> bool {
    frames.windows(2).all(|w| w[0].timestamp <= w[1].timestamp)
}

#[test]
fn audio_coming_late_is_still_written_in_time_order_across_tracks() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for lag_ms in [150u64, 1_000] {
        // Audio is given lag_ms after the video of the same time (a mixer running behind).
        let samples = av_samples(Duration::from_secs(3));
        let mut order: Vec<(Duration, usize, Sample)> = samples
            .into_iter()
            .map(|(track, s)| {
                let due = s.time + Duration::from_millis(if track == 0 { lag_ms } else { 0 });
                (due, track, s)
            })
            .collect();
        order.sort_by_key(|(due, track, _)| (*due, *track));
        let path = dir.path().join(format!("lag{lag_ms}.webm"));
        let mut writer = MkvWriter::new(
            BufWriter::new(File::create(&path).expect("create")),
            DocType::WebM,
            av_specs(),
        )
        .expect("header");
        for (_, track, sample) in &order {
            writer.write(*track, sample).expect("write");
        }
        let summary = writer.finish().expect("finish");
        assert_decodes(&path);
        assert_close(
            summary.duration,
            Duration::from_secs(3),
            Duration::from_millis(100),
            "Summary",
        );
        let (mkv, frames) = demux(&path);
        assert_eq!(mkv.tracks().len(), 2);
        assert_eq!(frames.len(), order.len(), "every sample written");
        assert!(file_order_is_time_order(&frames), "lag {lag_ms} ms");
        let audio: Vec<u64> = frames
            .iter()
            .filter(|f| f.track == 1)
            .map(|f| f.timestamp)
            .collect();
        if lag_ms < 300 {
            // Within the interleaving window: audio keeps its own times (20 ms in 10 µs ticks).
            assert!(audio.windows(2).all(|w| w[1] - w[0] == 2_000), "{audio:?}");
        }
        assert!(audio.windows(2).all(|w| w[1] > w[0]));
    }
}

#[test]
fn a_live_webm_through_a_pipe_decodes() {
    if !have_ffmpeg() {
        return;
    }
    let mut writer = MkvWriter::new(Vec::new(), DocType::WebM, av_specs()).expect("header");
    for (track, sample) in av_samples(Duration::from_secs(2)) {
        writer.write(track, &sample).expect("write");
    }
    let (bytes, summary) = writer.close().expect("close");
    assert_eq!(summary.bytes, bytes.len() as u64);
    let mut ffmpeg = Command::new("ffmpeg")
        .args([
            "-nostdin", "-v", "error", "-xerror", "-f", "webm", "-i", "pipe:0",
        ])
        .args(["-f", "null", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ffmpeg runs");
    ffmpeg
        .stdin
        .take()
        .expect("stdin")
        .write_all(&bytes)
        .expect("pipe");
    let out = ffmpeg.wait_with_output().expect("ffmpeg ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "{stderr}");
}

/// Records `length` of a fixture with a TrackRecorder into `path`, then "kills" the
/// process: the recorder is forgotten, not finished (what it wrote is in the file).
fn record_then_kill(codec: Codec, length_ms: u64, path: &Path) {
    let start = Instant::now();
    let frames = match codec {
        Codec::Vp8 => vp8_frames(start, Stream::new(0, length_ms)),
        _ => opus_frames(start, Stream::new(0, length_ms)),
    };
    let out = BufWriter::new(File::create(path).expect("create"));
    let mut recorder = TrackRecorder::new(codec, start, out);
    let mut sender = SenderClock::default();
    for frame in &frames {
        recorder
            .push(&mut sender, frame, frame.arrival)
            .expect("push");
    }
    std::mem::forget(recorder);
}

#[test]
fn repair_makes_a_killed_recording_playable_with_the_duration_it_holds() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for codec in [Codec::Vp8, Codec::Opus] {
        let path = dir.path().join(format!("killed.{}", codec.extension()));
        record_then_kill(codec, 3_000, &path);
        let summary = mkv::repair(&path).expect("repair");
        assert_decodes(&path);
        // 3 s sent (50 ms late); a kill loses the open cluster (≤ 0.5 s) and the reorder
        // buffer (≤ 0.2 s).
        let written = Duration::from_millis(3_050);
        assert!(summary.duration <= written, "{codec:?}: {summary:?}");
        assert_close(
            summary.duration,
            written,
            Duration::from_millis(800),
            "repaired",
        );
        assert_close(
            probe_duration(&path),
            summary.duration,
            Duration::from_millis(1),
            "ffprobe",
        );
        assert_eq!(summary.bytes, std::fs::metadata(&path).expect("meta").len());
        let (_, frames) = demux(&path);
        assert_eq!(frames[0].is_keyframe, Some(true));

        // Repairing again changes nothing.
        let before = std::fs::read(&path).expect("read");
        assert_eq!(mkv::repair(&path).expect("again"), summary);
        assert_eq!(std::fs::read(&path).expect("read"), before);
    }

    // Killed before the first cluster was written: nothing to save.
    let path = dir.path().join("early.webm");
    record_then_kill(Codec::Vp8, 300, &path);
    assert!(
        std::fs::metadata(&path).expect("meta").len() > 0,
        "the header is there"
    );
    let err = mkv::repair(&path).expect_err("no block");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("no complete block"), "{err}");
}

#[test]
fn a_finished_file_repairs_to_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("done.webm");
    let mut writer = MkvWriter::new(
        File::create(&path).expect("create"),
        DocType::WebM,
        av_specs(),
    )
    .expect("header");
    for (track, sample) in av_samples(Duration::from_secs(2)) {
        writer.write(track, &sample).expect("write");
    }
    let summary = writer.finish().expect("finish");
    let before = std::fs::read(&path).expect("read");
    assert_eq!(mkv::repair(&path).expect("repair"), summary);
    assert_eq!(std::fs::read(&path).expect("read"), before);
}

/// A small LCG, for deterministic "random" bytes.
fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *seed >> 33
}

#[test]
fn repair_of_every_37th_truncation_errors_cleanly_or_gives_a_file_ffmpeg_decodes() {
    let ffmpeg = have_ffmpeg();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut writer = MkvWriter::new(Vec::new(), DocType::WebM, av_specs()).expect("header");
    for (track, sample) in av_samples(Duration::from_millis(1_500)) {
        writer.write(track, &sample).expect("write");
    }
    let (full, _) = writer.close().expect("close");
    let path = dir.path().join("cut.webm");
    let mut distinct = HashSet::new();
    let (mut repaired, mut refused) = (0, 0);
    for len in (0..full.len()).step_by(37) {
        std::fs::write(&path, &full[..len]).expect("write");
        match mkv::repair(&path) {
            Ok(summary) => {
                repaired += 1;
                let bytes = std::fs::read(&path).expect("read");
                assert_eq!(summary.bytes, bytes.len() as u64);
                assert!(bytes.len() <= len, "repair only cuts");
                let (_, frames) = demux(&path);
                assert!(!frames.is_empty());
                // Many cuts repair to the same file: decode each distinct one once.
                if ffmpeg && distinct.insert(bytes) {
                    assert_decodes(&path);
                }
            }
            Err(err) => {
                refused += 1;
                assert_eq!(
                    err.kind(),
                    std::io::ErrorKind::InvalidData,
                    "at {len}: {err}"
                );
            }
        }
    }
    assert!(
        repaired > 100 && refused > 0,
        "{repaired} repaired, {refused} refused"
    );
    assert!(
        distinct.len() > 20 || !ffmpeg,
        "{} distinct",
        distinct.len()
    );
}

#[test]
fn repair_survives_garbage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut writer = MkvWriter::new(Vec::new(), DocType::WebM, av_specs()).expect("header");
    for (track, sample) in av_samples(Duration::from_millis(1_000)) {
        writer.write(track, &sample).expect("write");
    }
    let (full, _) = writer.close().expect("close");
    let path = dir.path().join("garbage.webm");
    let mut seed = 7;
    for round in 0..300 {
        let bytes: Vec<u8> = match round % 3 {
            // Pure noise.
            0 => (0..(lcg(&mut seed) % 4096))
                .map(|_| lcg(&mut seed) as u8)
                .collect(),
            // The valid file with a few bytes overwritten.
            1 => {
                let mut b = full.clone();
                for _ in 0..4 {
                    let at = lcg(&mut seed) as usize % b.len();
                    b[at] = lcg(&mut seed) as u8;
                }
                b
            }
            // The valid header, then noise.
            _ => {
                let mut b = full[..600].to_vec();
                b.extend((0..2048).map(|_| lcg(&mut seed) as u8));
                b
            }
        };
        std::fs::write(&path, &bytes).expect("write");
        // Never a panic; a repaired file is never longer than what was there.
        if let Ok(summary) = mkv::repair(&path) {
            assert!(summary.bytes <= bytes.len() as u64);
        }
    }
}

#[test]
fn a_finished_file_has_cues_to_seek_by_and_cut_inside_them_it_repairs_without() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cues.webm");
    let mut writer = MkvWriter::new(
        File::create(&path).expect("create"),
        DocType::WebM,
        av_specs(),
    )
    .expect("header");
    for (track, sample) in av_samples(Duration::from_secs(4)) {
        writer.write(track, &sample).expect("write");
    }
    writer.finish().expect("finish");
    // matroska-demuxer seeks by the Cues (found through the SeekHead) to a video keyframe.
    let (mut mkv, _) = demux(&path);
    mkv.seek(250_000).expect("seek to 2.5 s (10 µs ticks)");
    let mut frame = matroska_demuxer::Frame::default();
    loop {
        assert!(
            mkv.next_frame(&mut frame).expect("frame"),
            "frames after 2.5 s"
        );
        if frame.track == 2 {
            break;
        }
    }
    assert!(frame.timestamp >= 250_000, "{}", frame.timestamp);
    if have_ffmpeg() {
        let out = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-xerror", "-ss", "2.5", "-i"])
            .arg(&path)
            .args(["-f", "null", "-"])
            .output()
            .expect("ffmpeg runs");
        // ffmpeg 5.1 with -ss logs "non monotonically increasing dts to muxer" for the
        // null muxer's frame-rate rounding of millisecond timestamps (its own WebM remux
        // of the VP8 fixture does the same); anything else would be a decoding error.
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        for line in stderr.lines() {
            assert!(
                line.contains("non monotonically increasing dts to muxer"),
                "{line}"
            );
        }
    }
    // A kill while the Cues were written: the SeekHead points at nothing, and goes.
    let full = std::fs::read(&path).expect("read");
    let cues_at = full
        .windows(4)
        .rposition(|w| w == [0x1C, 0x53, 0xBB, 0x6B])
        .expect("Cues");
    std::fs::write(&path, &full[..cues_at + 10]).expect("write");
    let summary = mkv::repair(&path).expect("repair");
    assert_eq!(summary.bytes, cues_at as u64);
    let repaired = std::fs::read(&path).expect("read");
    let segment = repaired
        .windows(4)
        .position(|w| w == [0x18, 0x53, 0x80, 0x67])
        .expect("Segment");
    assert_eq!(
        full[segment + 12],
        0x11,
        "a SeekHead first in the finished file"
    );
    assert_eq!(
        repaired[segment + 12],
        0xEC,
        "the SeekHead's slot is a Void again"
    );
    demux(&path);
    if have_ffmpeg() {
        assert_decodes(&path);
    }
}

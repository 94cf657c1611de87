//! A meeting's egress: what leaves its SFU other than to its participants — the recordings
//! (files) and the live stream (the composition, to WHEP viewers and an RTMP push).
//!
//! It runs on a thread of its own per meeting, started with the first recording or stream:
//! writing files, mixing audio (Opus decoded and encoded again) and talking to the store
//! must never hold the media task, which forwards packets. The media task hands it the
//! room's tap (every frame the room forwards) and what the composition follows (the active
//! speaker, the lecturer, who left); the egress answers with keyframe requests and the
//! composed samples for viewers. A queue between the two is bounded: if the egress falls
//! behind, frames are dropped and counted, never the media task held.
//!
//! Recordings (docs/recording.md):
//! - A *set* per start→stop: one meeting recording (the composition: the mix and the
//!   speaker's video, WebM) and, for each participant who publishes while it runs, one file
//!   per track (Opus or VP8 in WebM, H.264 in Matroska), opened at its first frame.
//! - Each file's row is written (`processing`) before its first byte, so a crash leaves a
//!   row that names the file; the next start repairs it (`History::recover_recordings`).
//! - At the stop (or the meeting's end, or the participant's leave for its files) a file is
//!   finished, handed to the storage (`RecordingFiles::store`: an upload for S3) and its row
//!   completed. A write that fails (a full disk) fails the whole set: its rows are marked
//!   `failed` with the reason, and the meeting learns it (`Command::RecordingFailed`).

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use plenum_domain::Timestamp;
use plenum_domain::history::{
    Recording, RecordingFile, RecordingFileKey, RecordingKind, RecordingStatus,
};
use plenum_domain::ids::{AttendanceId, CompanyId, RecordingId, SessionId};
use plenum_media::{Kind, ViewerSample};
use plenum_metrics::media::InProgress;
use plenum_record::compose::{Composer, ComposerOutput};
use plenum_record::{
    Codec, ComposedWriter, Frame, Sample, SenderClock, TrackAction, TrackRecorder,
};
use plenum_store::{LiveWrite, RecordingEnd, Store};

use crate::Clock;
use crate::recording_files::{FileKey, RecordingFiles};
use crate::webhooks::events;
use plenum_domain::schedule::MeetingNumber;

/// Frames (and controls) the egress may have waiting before the tap's frames are dropped:
/// a few seconds of a large meeting's media.
const QUEUE: usize = 8192;
/// How often the egress looks at the time when nothing arrives.
const IDLE_WAKE: Duration = Duration::from_millis(100);

/// What the egress needs of the server, shared by every meeting's egress.
#[derive(Debug, Clone)]
pub(crate) struct EgressContext {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) files: RecordingFiles,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) runtime: tokio::runtime::Handle,
    /// The `ffmpeg` the RTMP push runs.
    pub(crate) ffmpeg: std::path::PathBuf,
    /// Egress threads running (the server waits for them to finish their files).
    pub(crate) finishing: Arc<std::sync::atomic::AtomicUsize>,
    /// Wakes the webhook delivery task when recordings' events were written.
    pub(crate) webhooks: Arc<tokio::sync::Notify>,
}

impl EgressContext {
    /// Makes record writes durable: the egress thread waits (the media task never does).
    fn record(&self, writes: Vec<LiveWrite>) -> Result<(), String> {
        if writes.is_empty() {
            return Ok(());
        }
        let told = writes.iter().any(|w| matches!(w, LiveWrite::Outbox(_)));
        let store = self.store.clone();
        self.runtime
            .block_on(async move { store.record_live(writes).await })
            .map_err(|e| format!("recording rows not written: {e}"))?;
        if told {
            self.webhooks.notify_one();
        }
        Ok(())
    }
}

/// The record writes of finished (or failed) recordings of a set, each with its event.
fn finished(ends: Vec<RecordingEnd>, plan: &RecordingPlan) -> Vec<LiveWrite> {
    let of = plan.of();
    ends.into_iter()
        .flat_map(|e| {
            [
                LiveWrite::Outbox(Box::new(events::recording_ended(&e, &of))),
                LiveWrite::RecordingFinished(Box::new(e)),
            ]
        })
        .collect()
}

/// What a recording set is of, from the meeting task (which wrote the meeting recording's
/// row before telling the media task).
#[derive(Debug, Clone)]
pub(crate) struct RecordingPlan {
    pub(crate) company: CompanyId,
    pub(crate) session: SessionId,
    /// The meeting's number (its recordings' webhook events name it).
    pub(crate) number: MeetingNumber,
    /// The meeting recording's id (its row is written, `processing`).
    pub(crate) meeting_recording: RecordingId,
    pub(crate) started_at: Timestamp,
}

impl RecordingPlan {
    /// What the set's recordings' events say they are of.
    pub(crate) fn of(&self) -> events::RecordingOf {
        events::RecordingOf {
            company: self.company,
            session: self.session,
            number: self.number.clone(),
        }
    }

    /// Where the meeting recording's file goes.
    pub(crate) fn meeting_key(&self) -> RecordingFileKey {
        RecordingFileKey {
            company: self.company,
            session: self.session,
            recording: self.meeting_recording,
            file: RecordingFile::Webm,
        }
    }

    /// The row of the meeting recording, as written when the set starts.
    pub(crate) fn meeting_row(&self) -> Recording {
        Recording::begun(
            self.meeting_key(),
            None,
            RecordingKind::Video,
            Codec::Vp8.as_str(),
            self.started_at,
        )
    }
}

#[derive(Debug)]
pub(crate) enum EgressInput {
    Frame {
        participant: AttendanceId,
        kind: Kind,
        frame: Frame,
    },
    Speaker(Option<AttendanceId>),
    Lecturer(Option<AttendanceId>),
    Left(AttendanceId),
    Record(Option<RecordingPlan>),
    /// The live stream starts (with an RTMP ingest to push to, if given) or stops.
    Live(Option<LivePlan>),
    /// A viewer needs a keyframe of the composition.
    ViewerKeyframeWanted,
}

/// What the egress tells the rest of the meeting (the media task turns it into its own
/// controls and the meeting task's commands): the egress knows neither.
#[derive(Debug)]
pub(crate) enum EgressNews {
    /// A file or the composition needs a keyframe of this participant's video.
    KeyframeFor(AttendanceId),
    /// A sample of the composition for the live stream's viewers.
    ToViewers(ViewerSample),
    /// A recording failed: the meeting learns why.
    RecordingFailed(String),
}

/// How the egress tells it.
pub(crate) type Tell = Box<dyn Fn(EgressNews) + Send>;

#[derive(Debug, Clone)]
pub(crate) struct LivePlan {
    pub(crate) rtmp: Option<String>,
}

/// The media task's line to its meeting's egress thread.
#[derive(Debug)]
pub(crate) struct EgressHandle {
    input: std_mpsc::SyncSender<EgressInput>,
    /// Frames dropped because the egress was behind (shared with the egress thread, which
    /// logs it when a recording set ends).
    dropped: Arc<AtomicU64>,
}

impl EgressHandle {
    /// Starts the egress thread of meeting `label`.
    pub(super) fn start(
        context: EgressContext,
        label: String,
        tell: Tell,
    ) -> std::io::Result<Self> {
        let (input, inputs) = std_mpsc::sync_channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let egress = Egress {
            tap_dropped: dropped.clone(),
            context,
            label: label.clone(),
            tell,
            speaker: None,
            lecturer: None,
            recording: None,
            live: None,
        };
        let running = egress.context.finishing.clone();
        let done = running.clone();
        running.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let started = std::thread::Builder::new()
            .name(format!("egress-{label}"))
            .spawn(move || {
                egress.run(inputs);
                done.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
            });
        if let Err(e) = started {
            running.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
            return Err(e);
        }
        Ok(Self { input, dropped })
    }

    /// A frame of the tap: dropped (and counted) if the egress is behind.
    pub(crate) fn frame(&mut self, input: EgressInput) {
        if self.input.try_send(input).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            plenum_metrics::media::recording_frame_dropped();
        }
    }

    /// A control: waits for room in the queue (they are rare and must not be lost).
    pub(crate) fn control(&self, input: EgressInput) {
        let _ = self.input.send(input);
    }
}

struct Egress {
    context: EgressContext,
    label: String,
    tell: Tell,
    /// [`EgressHandle::dropped`].
    tap_dropped: Arc<AtomicU64>,
    speaker: Option<AttendanceId>,
    lecturer: Option<AttendanceId>,
    recording: Option<RecordingSet>,
    live: Option<LiveOut>,
}

impl Egress {
    fn run(mut self, inputs: std_mpsc::Receiver<EgressInput>) {
        loop {
            let now = self.context.clock.instant();
            let wake = self.poll(now);
            let wait = wake.saturating_duration_since(now).min(IDLE_WAKE);
            match inputs.recv_timeout(wait) {
                Ok(input) => {
                    self.input(input);
                    // Whatever else is waiting, before looking at the time again.
                    while let Ok(input) = inputs.try_recv() {
                        self.input(input);
                    }
                }
                Err(std_mpsc::RecvTimeoutError::Timeout) => {}
                // The media task is gone: the meeting ended.
                Err(std_mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let now = self.context.clock.instant();
        if let Some(set) = self.recording.take() {
            self.finish_set(set, now);
        }
        if let Some(live) = self.live.take() {
            live.stop();
        }
    }

    fn input(&mut self, input: EgressInput) {
        let now = self.context.clock.instant();
        match input {
            EgressInput::Frame {
                participant,
                kind,
                frame,
            } => {
                if let Some(live) = &mut self.live {
                    live.composer.push(participant, &frame, now);
                }
                let outcome = match &mut self.recording {
                    Some(set) => set.frame(&self.context, participant, kind, &frame, now),
                    None => Ok(false),
                };
                match outcome {
                    Ok(true) => self.keyframe_for(participant),
                    Ok(false) => {}
                    Err(reason) => self.fail_set(reason),
                }
            }
            EgressInput::Speaker(speaker) => {
                self.speaker = speaker;
                self.each_composer(|c| c.set_speaker(speaker, now));
            }
            EgressInput::Lecturer(lecturer) => {
                self.lecturer = lecturer;
                self.each_composer(|c| c.set_lecturer(lecturer, now));
            }
            EgressInput::Left(participant) => {
                self.each_composer(|c| c.remove(participant, now));
                let failed = match &mut self.recording {
                    Some(set) => set.left(&self.context, participant).err(),
                    None => None,
                };
                if let Some(reason) = failed {
                    self.fail_set(reason);
                }
            }
            EgressInput::Record(Some(plan)) => {
                if let Some(set) = self.recording.take() {
                    self.finish_set(set, now);
                }
                match RecordingSet::start(&self.context, plan.clone(), now) {
                    Ok(mut set) => {
                        set.tap_dropped_at_start = self.tap_dropped.load(Ordering::Relaxed);
                        set.composer.set_speaker(self.speaker, now);
                        set.composer.set_lecturer(self.lecturer, now);
                        self.recording = Some(set);
                    }
                    Err(reason) => {
                        let end = failed_end(plan.meeting_recording, &reason, &self.context);
                        self.write(finished(vec![end], &plan));
                        self.tell_meeting(reason);
                    }
                }
            }
            EgressInput::Record(None) => {
                if let Some(set) = self.recording.take() {
                    self.finish_set(set, now);
                }
            }
            EgressInput::Live(Some(plan)) => {
                if let Some(live) = self.live.take() {
                    live.stop();
                }
                let mut live = LiveOut::start(&self.context, &self.label, plan, now);
                live.composer.set_speaker(self.speaker, now);
                live.composer.set_lecturer(self.lecturer, now);
                self.live = Some(live);
            }
            EgressInput::Live(None) => {
                if let Some(live) = self.live.take() {
                    live.stop();
                }
            }
            EgressInput::ViewerKeyframeWanted => {
                if let Some(live) = &mut self.live {
                    live.composer.keyframe_wanted(now);
                }
            }
        }
    }

    fn each_composer(&mut self, mut f: impl FnMut(&mut Composer<AttendanceId>)) {
        if let Some(set) = &mut self.recording {
            f(&mut set.composer);
        }
        if let Some(live) = &mut self.live {
            f(&mut live.composer);
        }
    }

    /// Runs the composers and the recorders' timers; returns when to look again.
    fn poll(&mut self, now: Instant) -> Instant {
        let mut wake = now + IDLE_WAKE;
        let mut keyframes = Vec::new();
        let mut failed = None;
        if let Some(set) = &mut self.recording {
            loop {
                match set.composer.poll(now) {
                    ComposerOutput::Sample(sample) => {
                        if let Err(e) = set.meeting.write(&sample) {
                            failed = Some(format!("writing the meeting recording: {e}"));
                            break;
                        }
                    }
                    ComposerOutput::RequestKeyframe(p) => keyframes.push(p),
                    ComposerOutput::Timeout(at) => {
                        wake = wake.min(at);
                        break;
                    }
                }
            }
        }
        if let Some(live) = &mut self.live {
            loop {
                match live.composer.poll(now) {
                    ComposerOutput::Sample(sample) => live.sample(&sample, &self.tell),
                    ComposerOutput::RequestKeyframe(p) => keyframes.push(p),
                    ComposerOutput::Timeout(at) => {
                        wake = wake.min(at);
                        break;
                    }
                }
            }
        }
        for p in keyframes {
            self.keyframe_for(p);
        }
        if let Some(reason) = failed {
            self.fail_set(reason);
        }
        wake
    }

    fn keyframe_for(&self, participant: AttendanceId) {
        (self.tell)(EgressNews::KeyframeFor(participant));
    }

    /// Stops the set, completing each of its files.
    fn finish_set(&mut self, set: RecordingSet, now: Instant) {
        let (recording, path) = (set.meeting.id, set.meeting.path.clone());
        let tap_dropped = self.tap_dropped.load(Ordering::Relaxed) - set.tap_dropped_at_start;
        let composed_video_skipped = set.meeting.writer.video_skipped();
        let plan = set.plan.clone();
        let ends = set.finish(&self.context, now);
        // What the benchmark checks for lost frames (with each file's line, `TrackFile`),
        // once every file of the set is finished.
        tracing::info!(
            meeting = %self.label,
            recording = %recording,
            path = %path.display(),
            tap_dropped,
            composed_video_skipped,
            "recording set finished"
        );
        self.write(finished(ends, &plan));
    }

    /// A write failed: every file of the set fails with `reason`, and the meeting hears it.
    fn fail_set(&mut self, reason: String) {
        let Some(set) = self.recording.take() else {
            return;
        };
        tracing::error!(meeting = %self.label, reason = %reason, "recording failed");
        let plan = set.plan.clone();
        let ends = set.fail(&self.context, &reason);
        self.write(finished(ends, &plan));
        self.tell_meeting(reason);
    }

    fn tell_meeting(&self, reason: String) {
        plenum_metrics::media::recording_failed();
        (self.tell)(EgressNews::RecordingFailed(reason));
    }

    /// Makes record writes durable; a failure is logged (the files are done either way).
    fn write(&self, writes: Vec<LiveWrite>) {
        if let Err(e) = self.context.record(writes) {
            tracing::error!(meeting = %self.label, error = %e);
        }
    }
}

fn failed_end(recording: RecordingId, reason: &str, context: &EgressContext) -> RecordingEnd {
    RecordingEnd {
        recording,
        status: RecordingStatus::Failed,
        ended_at: context.clock.now(),
        completed_at: None,
        size_bytes: 0,
        duration_secs: 0,
        failure: Some(reason.to_owned()),
    }
}

type FileWriter = BufWriter<File>;

/// One start→stop of recording.
struct RecordingSet {
    plan: RecordingPlan,
    composer: Composer<AttendanceId>,
    meeting: MeetingFile,
    /// Each participant's tracks, opened at their first frame.
    tracks: HashMap<(AttendanceId, Kind), TrackFile>,
    /// What each participant's tracks share to stay in sync.
    senders: HashMap<AttendanceId, SenderClock>,
    start: Instant,
    /// [`Egress::tap_dropped`] when the set started.
    tap_dropped_at_start: u64,
    /// Counts the set in `plenum_recordings_in_progress` while it lives.
    _in_progress: InProgress,
}

/// The meeting recording (its header waits for the composition's first video keyframe).
struct MeetingFile {
    id: RecordingId,
    key: RecordingFileKey,
    writer: ComposedWriter<FileWriter>,
    path: std::path::PathBuf,
}

struct TrackFile {
    id: RecordingId,
    key: RecordingFileKey,
    recorder: TrackRecorder<FileWriter>,
    started_at: Timestamp,
    participant: AttendanceId,
    path: std::path::PathBuf,
    /// The recorder's dropped frames when its first frame was taken (before it: waiting
    /// for the first keyframe).
    dropped_at_start: Option<u64>,
}

impl RecordingSet {
    fn start(context: &EgressContext, plan: RecordingPlan, now: Instant) -> Result<Self, String> {
        let key = plan.meeting_key();
        let path = prepare(context, &key)?;
        let out = File::create(&path)
            .map(BufWriter::new)
            .map_err(|e| format!("creating the meeting recording: {e}"))?;
        let composer = Composer::new(now);
        let writer = ComposedWriter::new(out, composer.opus_head().to_bytes());
        Ok(Self {
            meeting: MeetingFile {
                id: plan.meeting_recording,
                key,
                writer,
                path,
            },
            composer,
            tracks: HashMap::new(),
            senders: HashMap::new(),
            plan,
            start: now,
            tap_dropped_at_start: 0,
            _in_progress: InProgress::recording(),
        })
    }

    fn frame(
        &mut self,
        context: &EgressContext,
        participant: AttendanceId,
        kind: Kind,
        frame: &Frame,
        now: Instant,
    ) -> Result<bool, String> {
        self.composer.push(participant, frame, now);
        let track = match self.tracks.entry((participant, kind)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let file =
                    TrackFile::open(context, &self.plan, participant, frame.codec, self.start)?;
                e.insert(file)
            }
        };
        let sender = self.senders.entry(participant).or_default();
        let actions = track
            .recorder
            .push(sender, frame, now)
            .map_err(|e| format!("writing a participant's recording: {e}"))?;
        if track.dropped_at_start.is_none() && track.recorder.frames_written() > 0 {
            track.dropped_at_start = Some(track.recorder.frames_dropped());
        }
        Ok(actions.contains(&TrackAction::RequestKeyframe))
    }

    /// The participant left: its files are done.
    fn left(&mut self, context: &EgressContext, participant: AttendanceId) -> Result<(), String> {
        let keys: Vec<(AttendanceId, Kind)> = self
            .tracks
            .keys()
            .filter(|(p, _)| *p == participant)
            .copied()
            .collect();
        let mut ends = Vec::new();
        for key in keys {
            if let Some(track) = self.tracks.remove(&key) {
                ends.push(track.finish(context));
            }
        }
        self.senders.remove(&participant);
        context.record(finished(ends, &self.plan))
    }

    fn finish(mut self, context: &EgressContext, now: Instant) -> Vec<RecordingEnd> {
        let mut ends: Vec<RecordingEnd> = self
            .tracks
            .drain()
            .map(|(_, track)| track.finish(context))
            .collect();
        let tail = self.composer.finish(now);
        ends.push(self.meeting.finish(context, self.plan.started_at, tail));
        ends
    }

    fn fail(self, context: &EgressContext, reason: &str) -> Vec<RecordingEnd> {
        let mut ends: Vec<RecordingEnd> = self
            .tracks
            .into_values()
            .map(|t| {
                let _ = std::fs::remove_file(context.files.writing_path(&FileKey::from(t.key)));
                failed_end(t.id, reason, context)
            })
            .collect();
        let _ = std::fs::remove_file(&self.meeting.path);
        ends.push(failed_end(self.meeting.id, reason, context));
        ends
    }
}

impl TrackFile {
    fn open(
        context: &EgressContext,
        plan: &RecordingPlan,
        participant: AttendanceId,
        codec: Codec,
        start: Instant,
    ) -> Result<Self, String> {
        let now = context.clock.now();
        let id = RecordingId::new(now);
        let file = match codec {
            Codec::H264 => RecordingFile::Matroska,
            Codec::Opus | Codec::Vp8 => RecordingFile::Webm,
        };
        let key = RecordingFileKey {
            company: plan.company,
            session: plan.session,
            recording: id,
            file,
        };
        let kind = if codec.is_video() {
            RecordingKind::Video
        } else {
            RecordingKind::Audio
        };
        let row = Recording::begun(key, Some(participant), kind, codec.as_str(), now);
        // The row first: a crash after this leaves a row that names the file.
        let started = events::recording_started(&row, &plan.number);
        context.record(vec![
            LiveWrite::Outbox(Box::new(started)),
            LiveWrite::RecordingStarted(Box::new(row)),
        ])?;
        let path = prepare(context, &key)?;
        let out = File::create(&path)
            .map(BufWriter::new)
            .map_err(|e| format!("creating a participant's recording: {e}"))?;
        Ok(Self {
            id,
            key,
            recorder: TrackRecorder::new(codec, start, out),
            started_at: now,
            participant,
            path,
            dropped_at_start: None,
        })
    }

    fn finish(self, context: &EgressContext) -> RecordingEnd {
        let ended_at = context.clock.now();
        let dropped = self.recorder.frames_dropped();
        let before_start = self.dropped_at_start.unwrap_or(dropped);
        // What the benchmark checks for lost frames: none dropped after the first.
        tracing::info!(
            recording = %self.id,
            participant = %self.participant,
            path = %self.path.display(),
            frames_written = self.recorder.frames_written(),
            frames_dropped_before_start = before_start,
            frames_dropped_after_start = dropped - before_start,
            "recording file finished"
        );
        match self.recorder.finish() {
            Ok(summary) => complete(
                context,
                self.id,
                &self.key,
                self.started_at,
                ended_at,
                summary.duration,
            ),
            Err(e) => failed_end(
                self.id,
                &format!("finishing a participant's recording: {e}"),
                context,
            ),
        }
    }
}

impl MeetingFile {
    fn write(&mut self, sample: &Sample) -> std::io::Result<()> {
        self.writer.write(sample)
    }

    fn finish(
        mut self,
        context: &EgressContext,
        started_at: Timestamp,
        tail: Vec<Sample>,
    ) -> RecordingEnd {
        let ended_at = context.clock.now();
        let result = tail
            .iter()
            .try_for_each(|sample| self.writer.write(sample))
            .and_then(|()| self.writer.finish());
        match result {
            Ok(summary) => complete(
                context,
                self.id,
                &self.key,
                started_at,
                ended_at,
                summary.duration,
            ),
            Err(e) => failed_end(
                self.id,
                &format!("finishing the meeting recording: {e}"),
                context,
            ),
        }
    }
}

/// The local file a recording is written to, its directories made.
fn prepare(context: &EgressContext, key: &RecordingFileKey) -> Result<std::path::PathBuf, String> {
    let files = context.files.clone();
    let key = FileKey::from(*key);
    context
        .runtime
        .block_on(async move { files.prepare(&key).await })
        .map_err(|e| format!("preparing the recording's file: {e}"))
}

/// A finished file into the storage, and the row that says so.
fn complete(
    context: &EgressContext,
    id: RecordingId,
    key: &RecordingFileKey,
    started_at: Timestamp,
    ended_at: Timestamp,
    duration: Duration,
) -> RecordingEnd {
    let files = context.files.clone();
    let stored_key = FileKey::from(*key);
    match context
        .runtime
        .block_on(async move { files.store(&stored_key).await })
    {
        Ok(size) => RecordingEnd {
            recording: id,
            status: RecordingStatus::Completed,
            ended_at: ended_at.max(started_at),
            completed_at: Some(context.clock.now()),
            size_bytes: size,
            duration_secs: u32::try_from(duration.as_secs_f64().round() as u64).unwrap_or(u32::MAX),
            failure: None,
        },
        Err(e) => failed_end(id, &format!("storing the recording: {e}"), context),
    }
}

/// The live stream: its composition, to the room's viewers and an RTMP push.
struct LiveOut {
    composer: Composer<AttendanceId>,
    rtmp: Option<super::rtmp::RtmpPush>,
    /// Counts the stream in `plenum_live_streams_in_progress` while it lives.
    _in_progress: InProgress,
}

impl LiveOut {
    fn start(context: &EgressContext, label: &str, plan: LivePlan, now: Instant) -> Self {
        let composer = Composer::new(now);
        let opus_head = composer.opus_head().to_bytes();
        let rtmp = plan.rtmp.and_then(|url| {
            match super::rtmp::RtmpPush::start(&context.ffmpeg, &url, opus_head) {
                Ok(push) => Some(push),
                Err(e) => {
                    tracing::error!(meeting = %label, error = %e, "the RTMP push could not start");
                    None
                }
            }
        });
        Self {
            composer,
            rtmp,
            _in_progress: InProgress::live_stream(),
        }
    }

    fn sample(&mut self, sample: &Sample, tell: &Tell) {
        if let Some(rtmp) = &mut self.rtmp {
            rtmp.sample(sample);
        }
        let (kind, rate) = if sample.codec.is_video() {
            (Kind::Video, 90_000u128)
        } else {
            (Kind::Audio, 48_000u128)
        };
        let viewer = ViewerSample {
            kind,
            data: sample.data.clone(),
            rtp_time: (sample.time.as_nanos() * rate / 1_000_000_000) as u64,
            keyframe: sample.keyframe,
        };
        tell(EgressNews::ToViewers(viewer));
    }

    /// Ends the stream. ffmpeg may take seconds to flush and leave: that waits on a thread of
    /// its own, not on the egress (which may be recording too).
    fn stop(self) {
        if let Some(rtmp) = self.rtmp {
            let stopped = std::thread::Builder::new()
                .name("rtmp-stop".into())
                .spawn(move || rtmp.stop());
            if let Err(e) = stopped {
                tracing::error!(error = %e, "the RTMP push could not be stopped in the background");
            }
        }
    }
}

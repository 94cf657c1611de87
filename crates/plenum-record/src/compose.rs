//! The meeting recording and the live stream: one composition of the meeting, sans-IO.
//!
//! Audio: everyone's Opus, mixed by [`AudioMixer`] into a continuous stream of 20 ms packets
//! from t = 0. Video: the VP8 of one participant at a time, never transcoded, chosen as
//! [`Composer::wanted`] tells: the lecturer while one is set, else the active speaker, else
//! the last speaker with video, else the source already shown, else whoever publishes video
//! (the least `P`, so the choice is deterministic). Only a participant that sent VP8 within
//! [`VIDEO_STALE`] counts as publishing video.
//!
//! - **Switching.** When the wanted source changes, the composer asks for a keyframe of it
//!   ([`ComposerOutput::RequestKeyframe`], again every [`KEYFRAME_RETRY`] while waiting) and
//!   keeps sending the old source's frames until the new source's next keyframe, which is the
//!   first frame of the new source. A source whose stream broke (a frame after lost packets,
//!   not a keyframe) is held at its last good frame until its next keyframe, requested the
//!   same way. So the composed VP8 stream always decodes: **the first video sample is always
//!   a keyframe**, and there is no video sample at all before some participant's keyframe
//!   arrives (the writer must cope with a video track whose first block comes late, or
//!   never).
//! - **Timestamps.** Each participant's tracks are placed by their [`TrackClock`]s sharing
//!   the participant's [`SenderClock`] (sender reports; arrival as fallback), so a
//!   participant's lips match its voice.
//! - **One frame grid.** Composed frames keep to a grid: each comes a whole number of the
//!   source's frame intervals (its RTP spacing) after the last, and the first frame after a
//!   switch a whole number of the old source's intervals (at most [`MAX_FRAME_INTERVAL`]).
//!   A frame that came late, or a switch to a source whose frames fall between the old
//!   one's, goes to the next point of the grid: its source's video then trails its voice by
//!   that lag, frame after frame. Why: ffmpeg (and players) lay a constant frame rate over
//!   a stream, guessed from its first frames' spacing; two frames closer than that fall in
//!   one step of it (ffmpeg's `-f null -` check fails with "non monotonically increasing
//!   dts"), and an irregular gap early makes the guess wrong (14.83 instead of 15 fps), so
//!   frames a true interval apart collide later. On one grid, sources of the same frame rate
//!   give the guess nothing to get wrong.
//! - **Order and lateness.** [`Composer::poll`] releases audio when it is due (its end plus
//!   [`crate::mix::JITTER_ALLOWANCE`]) and a video frame once the audio before it is out, so
//!   samples come out in non-decreasing time across both tracks. A video frame whose audio is
//!   already out is composed after it, late. But video trailing its voice by more than
//!   [`MAX_VIDEO_LAG`] is not shown: the source freezes at its last frame until its next
//!   keyframe (asked for), which is composed back in sync (at its own time, or the next point
//!   of the grid, less than an interval after). An interframe cannot just be dropped:
//!   every VP8 interframe depends on the frame before it.
//! - **H.264** frames are ignored (counted): the composition is a WebM, which holds VP8, and
//!   we never transcode. A participant publishing H.264 only is heard, not seen.

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::hash::Hash;
use std::time::{Duration, Instant};

use crate::mix::{AudioMixer, MixStats, OpusHead};
use crate::timeline::{SenderClock, TrackClock};
use crate::{Codec, Frame, Sample};

/// While waiting for a keyframe, how often it is asked for again.
pub const KEYFRAME_RETRY: Duration = Duration::from_secs(2);
/// At most one keyframe request per source in this time (a viewer joining or a speaker
/// change right after another).
pub const KEYFRAME_THROTTLE: Duration = Duration::from_secs(1);
/// A participant that sent no VP8 for this long no longer counts as publishing video (its
/// camera is off): the composition moves on to someone else.
pub const VIDEO_STALE: Duration = Duration::from_secs(3);
/// The least step between two composed video frames' times (Matroska's usual resolution).
pub const VIDEO_MIN_STEP: Duration = Duration::from_millis(1);
/// The longest source frame interval kept between composed frames (10 fps): a source's
/// pause is no interval, and a slower source only loses the guarantee.
pub const MAX_FRAME_INTERVAL: Duration = Duration::from_millis(100);
/// How far the composed video may trail its source's voice before the source freezes until
/// its next keyframe: just under the 125 ms at which viewers notice video late (ITU-R
/// BT.1359).
pub const MAX_VIDEO_LAG: Duration = Duration::from_millis(120);
/// How many past speakers are remembered as fallbacks for the video.
const RECENT_SPEAKERS: usize = 8;

/// What [`Composer::poll`] asks of its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposerOutput<P> {
    /// The next sample of the composition: an Opus packet of the mix (20 ms) or a VP8 frame.
    Sample(Sample),
    /// Ask the SFU for a keyframe of this participant's video.
    RequestKeyframe(P),
    /// Nothing more until then (or until the next push): call `poll` again at that time.
    Timeout(Instant),
}

/// The composer's counters since it began.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ComposerStats {
    /// The mixer's counters: frames mixed, late frames dropped, …
    pub mix: MixStats,
    /// Times the composed video began showing another source (the first source counts).
    pub video_switches: u64,
    /// VP8 frames in the composition.
    pub video_frames: u64,
    /// VP8 frames not composed: of a source not shown, or of one waiting for a keyframe.
    pub video_frames_skipped: u64,
    /// H.264 frames ignored.
    pub h264_ignored: u64,
    /// Keyframe requests made.
    pub keyframe_requests: u64,
}

#[derive(Debug)]
struct Participant {
    sender: SenderClock,
    video: Option<Video>,
}

#[derive(Debug)]
struct Video {
    clock: TrackClock,
    /// When its last VP8 frame was pushed (`now`).
    last_frame: Instant,
    /// Where its last VP8 frame was placed, composed or not.
    placed: Option<Duration>,
}

/// Composes the meeting: see the module's documentation.
#[derive(Debug)]
pub struct Composer<P> {
    start: Instant,
    mixer: AudioMixer<P>,
    participants: HashMap<P, Participant>,
    speaker: Option<P>,
    lecturer: Option<P>,
    /// Past speakers, the most recent last.
    recent_speakers: Vec<P>,
    /// The source being composed.
    source: Option<P>,
    /// The source broke (packets lost): held until its next keyframe.
    source_broken: bool,
    /// The source wanted instead, until its next keyframe.
    pending: Option<P>,
    /// The last keyframe request per participant.
    requested: HashMap<P, Instant>,
    requests: VecDeque<P>,
    /// Video samples waiting for the audio before them to be released.
    video: VecDeque<Sample>,
    last_video: Option<Duration>,
    /// The source's frame interval (its RTP spacing, at most [`MAX_FRAME_INTERVAL`]; zero
    /// while unknown): the grid's step across a switch.
    video_step: Duration,
    /// How far the source's composed frames trail their placement (≤ [`MAX_VIDEO_LAG`]).
    video_lag: Duration,
    /// The time of the last sample released.
    last_out: Duration,
    stats: ComposerStats,
}

impl<P: Copy + Eq + Hash + Ord + Debug> Composer<P> {
    /// A composition whose t = 0 is `start`.
    ///
    /// # Panics
    ///
    /// If libopus cannot create a 48 kHz mono encoder: only when out of memory.
    pub fn new(start: Instant) -> Self {
        Composer {
            start,
            mixer: AudioMixer::new(start).expect("libopus creates a 48 kHz mono encoder"),
            participants: HashMap::new(),
            speaker: None,
            lecturer: None,
            recent_speakers: Vec::new(),
            source: None,
            source_broken: false,
            pending: None,
            requested: HashMap::new(),
            requests: VecDeque::new(),
            video: VecDeque::new(),
            last_video: None,
            video_step: Duration::ZERO,
            video_lag: Duration::ZERO,
            last_out: Duration::ZERO,
            stats: ComposerStats::default(),
        }
    }

    /// The composed audio's parameters (for the writer's `OpusHead` and `CodecDelay`).
    pub fn opus_head(&self) -> OpusHead {
        self.mixer.opus_head()
    }

    /// The source whose video is being composed.
    pub fn video_source(&self) -> Option<P> {
        self.source
    }

    /// The source the composition will switch to at its next keyframe.
    pub fn switching_to(&self) -> Option<P> {
        self.pending
    }

    pub fn stats(&self) -> ComposerStats {
        ComposerStats {
            mix: self.mixer.stats(),
            ..self.stats
        }
    }

    /// A frame participant `from` published, pushed at `now`.
    pub fn push(&mut self, from: P, frame: &Frame, now: Instant) {
        match frame.codec {
            Codec::Opus => {
                let participant = self
                    .participants
                    .entry(from)
                    .or_insert_with(Participant::new);
                self.mixer.push(from, &mut participant.sender, frame, now);
            }
            Codec::Vp8 => self.push_video(from, frame, now),
            Codec::H264 => self.stats.h264_ignored += 1,
        }
    }

    /// The active speaker changed (`None`: nobody speaks).
    pub fn set_speaker(&mut self, speaker: Option<P>, now: Instant) {
        self.speaker = speaker;
        if let Some(p) = speaker {
            self.recent_speakers.retain(|&q| q != p);
            self.recent_speakers.push(p);
            if self.recent_speakers.len() > RECENT_SPEAKERS {
                self.recent_speakers.remove(0);
            }
        }
        self.reselect(now);
    }

    /// The lecturer, whose video wins over the speaker's while set.
    pub fn set_lecturer(&mut self, lecturer: Option<P>, now: Instant) {
        self.lecturer = lecturer;
        self.reselect(now);
    }

    /// Participant `p` left: its clocks and decoder go. If it was the video source, the
    /// composition falls back to the next candidate (at that one's keyframe). The speaker
    /// and lecturer settings are the caller's and stay (without video, `p` is no candidate).
    pub fn remove(&mut self, p: P, now: Instant) {
        self.participants.remove(&p);
        self.mixer.remove(p);
        self.requested.remove(&p);
        self.recent_speakers.retain(|&q| q != p);
        self.requests.retain(|&q| q != p);
        if self.source == Some(p) {
            self.source = None;
            self.source_broken = false;
        }
        if self.pending == Some(p) {
            self.pending = None;
        }
        self.reselect(now);
    }

    /// A new viewer of the live stream needs a keyframe: ask for one of the source it will
    /// see (the one switched to, if a switch is waiting), throttled by [`KEYFRAME_THROTTLE`].
    pub fn keyframe_wanted(&mut self, now: Instant) {
        if let Some(p) = self.pending.or(self.source) {
            self.request(p, now);
        }
    }

    /// The participant whose video the composition wants at `now` (see the module's doc).
    pub fn wanted(&self, now: Instant) -> Option<P> {
        let publishes = |p: &P| {
            self.participants
                .get(p)
                .and_then(|x| x.video.as_ref())
                .is_some_and(|v| now.saturating_duration_since(v.last_frame) < VIDEO_STALE)
        };
        self.lecturer
            .filter(publishes)
            .or(self.speaker.filter(publishes))
            .or_else(|| self.recent_speakers.iter().rev().copied().find(publishes))
            .or(self.source.filter(publishes))
            .or_else(|| self.participants.keys().copied().filter(publishes).min())
    }

    /// What to do next: call until it answers [`ComposerOutput::Timeout`].
    pub fn poll(&mut self, now: Instant) -> ComposerOutput<P> {
        self.reselect(now);
        if let Some(waiting) = self.waiting_for_keyframe()
            && self
                .requested
                .get(&waiting)
                .is_none_or(|&at| now >= at + KEYFRAME_RETRY)
        {
            self.request(waiting, now);
        }
        if let Some(p) = self.requests.pop_front() {
            return ComposerOutput::RequestKeyframe(p);
        }
        if let Some(sample) = self.next_video() {
            return ComposerOutput::Sample(sample);
        }
        if let Some(sample) = self.mixer.poll(now) {
            self.last_out = sample.time;
            return ComposerOutput::Sample(sample);
        }
        let mut next = self.mixer.next_due();
        if let Some(at) = self
            .waiting_for_keyframe()
            .and_then(|p| self.requested.get(&p))
        {
            next = next.min(*at + KEYFRAME_RETRY);
        }
        ComposerOutput::Timeout(next)
    }

    /// The recording stops at `now`: the rest of the composition, in time order — the mix up
    /// to `now` (its last packet ends less than 20 ms after) and the video frames queued.
    pub fn finish(&mut self, now: Instant) -> Vec<Sample> {
        let mut out = Vec::new();
        loop {
            if let Some(sample) = self.next_video() {
                out.push(sample);
            } else if let Some(sample) = self.mixer.flush(now) {
                self.last_out = sample.time;
                out.push(sample);
            } else {
                break;
            }
        }
        out.extend(self.video.drain(..));
        if let Some(last) = out.last() {
            self.last_out = last.time;
        }
        self.requests.clear();
        out
    }

    fn push_video(&mut self, from: P, frame: &Frame, now: Instant) {
        let start = self.start;
        let participant = self
            .participants
            .entry(from)
            .or_insert_with(Participant::new);
        // A new publisher (or one back after its camera was off) may be the one wanted: its
        // first keyframe may be the switch.
        let was_publishing = participant
            .video
            .as_ref()
            .is_some_and(|v| now.saturating_duration_since(v.last_frame) < VIDEO_STALE);
        let video = participant.video.get_or_insert_with(|| Video {
            clock: TrackClock::new(start),
            last_frame: now,
            placed: None,
        });
        video.last_frame = video.last_frame.max(now);
        let placed = video.clock.place(&mut participant.sender, frame);
        // The participant's frame interval (its RTP spacing), known from its second frame.
        let interval = video
            .placed
            .replace(placed)
            .map(|p| placed.saturating_sub(p));
        if !was_publishing {
            self.reselect(now);
        }

        // A switch needs an interval to keep: right at the start, before either source has
        // sent two frames, it waits for the new source's next keyframe.
        let grid_known =
            self.last_video.is_none() || interval.is_some() || self.video_step > Duration::ZERO;
        let switching = self.pending == Some(from) && frame.keyframe && grid_known;
        if !switching && self.source != Some(from) {
            self.stats.video_frames_skipped += 1;
            return;
        }
        // The interval the frame keeps after the last composed one: the new source's first
        // frame goes on the old one's grid (on its own interval while the old one's is unknown).
        let step = match (switching, self.video_step) {
            (true, Duration::ZERO) => interval.unwrap_or_default(),
            (true, old) => old,
            (false, _) => interval.unwrap_or(self.video_step),
        };
        if let Some(interval) = interval {
            self.video_step = interval.min(MAX_FRAME_INTERVAL);
        }
        if switching {
            self.source = Some(from);
            self.pending = None;
            self.source_broken = false;
            self.stats.video_switches += 1;
            self.video_lag = Duration::ZERO;
        } else {
            if self.source_broken && !frame.keyframe {
                self.stats.video_frames_skipped += 1;
                return;
            }
            if !frame.contiguous && !frame.keyframe {
                self.freeze(from, now);
                return;
            }
            if self.source_broken {
                // The keyframe that ends a freeze is composed back in sync: at its own time,
                // or the next point of the grid after it.
                self.video_lag = Duration::ZERO;
                self.source_broken = false;
            }
        }

        let wanted = (placed + self.video_lag).max(self.last_out);
        let time = match self.last_video {
            Some(last) => on_grid(last, step.max(VIDEO_MIN_STEP), wanted).max(self.last_out),
            None => wanted,
        };
        let lag = time.saturating_sub(placed);
        if lag > MAX_VIDEO_LAG && !frame.keyframe {
            self.freeze(from, now);
            return;
        }
        self.video_lag = lag;
        self.last_video = Some(time);
        self.stats.video_frames += 1;
        self.video.push_back(Sample {
            codec: Codec::Vp8,
            data: frame.data.clone(),
            time,
            keyframe: frame.keyframe,
        });
    }

    /// The source's frame is not composed: the source holds its last good frame until its
    /// next keyframe, asked for now.
    fn freeze(&mut self, source: P, now: Instant) {
        self.source_broken = true;
        self.request(source, now);
        self.stats.video_frames_skipped += 1;
    }

    /// The next queued video frame, if the audio before it is out.
    fn next_video(&mut self) -> Option<Sample> {
        let ready = self
            .video
            .front()
            .is_some_and(|s| s.time < self.mixer.next_time());
        let sample = ready.then(|| self.video.pop_front()).flatten()?;
        self.last_out = sample.time;
        Some(sample)
    }

    /// Re-decides which source is wanted; a change asks for its keyframe.
    fn reselect(&mut self, now: Instant) {
        match self.wanted(now) {
            Some(w) if self.source != Some(w) => {
                if self.pending != Some(w) {
                    self.pending = Some(w);
                    self.request(w, now);
                }
            }
            // The source shown is the one wanted, or nobody publishes: stay.
            _ => self.pending = None,
        }
    }

    /// The source whose keyframe the composition waits for.
    fn waiting_for_keyframe(&self) -> Option<P> {
        self.pending.or(self.source.filter(|_| self.source_broken))
    }

    /// Queues a keyframe request for `p`, unless one was made within [`KEYFRAME_THROTTLE`].
    fn request(&mut self, p: P, now: Instant) {
        if self
            .requested
            .get(&p)
            .is_some_and(|&at| now < at + KEYFRAME_THROTTLE)
        {
            return;
        }
        self.requested.insert(p, now);
        if !self.requests.contains(&p) {
            self.requests.push_back(p);
        }
        self.stats.keyframe_requests += 1;
    }
}

/// The first point at or after `wanted` of the grid `last` + n × `step` (n ≥ 1). A point
/// less than a Matroska tick before `wanted` counts as at it: placements computed from RTP
/// times are exact only to the nanosecond.
fn on_grid(last: Duration, step: Duration, wanted: Duration) -> Duration {
    let gap = wanted.saturating_sub(last).saturating_sub(crate::mkv::TICK);
    let steps = gap.as_nanos().div_ceil(step.as_nanos()).max(1);
    let nanos = u64::try_from(steps * step.as_nanos()).unwrap_or(u64::MAX);
    last.saturating_add(Duration::from_nanos(nanos))
}

impl Participant {
    fn new() -> Self {
        Participant {
            sender: SenderClock::default(),
            video: None,
        }
    }
}

//! Where a frame belongs on a recording's clock.
//!
//! A participant's audio and video are separate RTP streams with unrelated RTP clocks; what
//! ties them together is the sender's wall clock in their RTCP sender reports. So a frame
//! with a sender report is placed by its sender's wall-clock time, shifted once per
//! participant ([`SenderClock`]) onto our own clock: the participant's tracks stay in sync
//! with each other. Without a report yet, a track is placed by its RTP time from the
//! arrival of its first frame (smoother than each frame's arrival, which jitters).
//!
//! Both are checked against arrival: a placement more than [`RESYNC`] away from when the
//! frame arrived (a sender's clock jumped, a stream restarted) is anchored again. Times
//! never go backwards within one track.

use std::time::{Duration, Instant, SystemTime};

use crate::Frame;

/// How far a placed frame may be from its arrival before the track is anchored again.
pub const RESYNC: Duration = Duration::from_secs(1);

/// What one participant's tracks share: the offset from its wall clock to ours.
#[derive(Debug, Clone, Default)]
pub struct SenderClock {
    /// Our time since the recording began, minus the sender's wall clock, in nanoseconds.
    offset_ns: Option<i128>,
}

/// One track's placement state.
#[derive(Debug, Clone)]
pub struct TrackClock {
    start: Instant,
    /// RTP time and placement of the first frame (reports missing).
    anchor: Option<(u64, i128)>,
    last: Duration,
}

impl TrackClock {
    /// A track of a recording that began at `start`.
    pub fn new(start: Instant) -> Self {
        TrackClock {
            start,
            anchor: None,
            last: Duration::ZERO,
        }
    }

    /// The frame's time since the recording began.
    pub fn place(&mut self, sender: &mut SenderClock, frame: &Frame) -> Duration {
        let rate = i128::from(frame.codec.clock_rate());
        let arrived = nanos_since(self.start, frame.arrival);
        let placed = match frame.sender_report {
            Some(report) => {
                let rtp_delta = i128::from(frame.rtp_time) - i128::from(report.rtp_time);
                let wall = wall_ns(report.ntp) + rtp_delta * 1_000_000_000 / rate;
                let offset = *sender.offset_ns.get_or_insert(arrived - wall);
                let placed = wall + offset;
                if (placed - arrived).abs() > RESYNC.as_nanos() as i128 {
                    sender.offset_ns = Some(arrived - wall);
                    arrived
                } else {
                    placed
                }
            }
            None => {
                let (rtp0, at0) = *self.anchor.get_or_insert((frame.rtp_time, arrived));
                let rtp_delta = i128::from(frame.rtp_time) - i128::from(rtp0);
                let placed = at0 + rtp_delta * 1_000_000_000 / rate;
                if (placed - arrived).abs() > RESYNC.as_nanos() as i128 {
                    self.anchor = Some((frame.rtp_time, arrived));
                    arrived
                } else {
                    placed
                }
            }
        };
        let placed = Duration::from_nanos(placed.clamp(0, i128::from(u64::MAX)) as u64);
        self.last = self.last.max(placed);
        self.last
    }
}

fn nanos_since(start: Instant, at: Instant) -> i128 {
    match at.checked_duration_since(start) {
        Some(d) => d.as_nanos() as i128,
        None => -(start.duration_since(at).as_nanos() as i128),
    }
}

fn wall_ns(at: SystemTime) -> i128 {
    match at.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Codec, SenderReport};
    use std::sync::Arc;

    fn frame(codec: Codec, rtp: u64, arrival: Instant, report: Option<SenderReport>) -> Frame {
        Frame {
            codec,
            data: Arc::from(&[1u8][..]),
            rtp_time: rtp,
            arrival,
            sender_report: report,
            keyframe: true,
            contiguous: true,
        }
    }

    #[test]
    fn without_reports_a_track_follows_its_rtp_clock_from_its_first_arrival() {
        let start = Instant::now();
        let mut clock = TrackClock::new(start);
        let mut sender = SenderClock::default();
        let t0 = start + Duration::from_millis(100);
        assert_eq!(
            clock.place(&mut sender, &frame(Codec::Opus, 1000, t0, None)),
            Duration::from_millis(100)
        );
        // 20 ms of RTP time later, arriving with 15 ms of jitter: placed by RTP time.
        let later = frame(
            Codec::Opus,
            1000 + 960,
            t0 + Duration::from_millis(35),
            None,
        );
        assert_eq!(clock.place(&mut sender, &later), Duration::from_millis(120));
    }

    #[test]
    fn reports_keep_a_participants_audio_and_video_in_sync() {
        let start = Instant::now();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut sender = SenderClock::default();
        let (mut audio, mut video) = (TrackClock::new(start), TrackClock::new(start));
        // Both tracks' reports name the same wall instant with unrelated RTP times.
        let audio_sr = SenderReport {
            ntp: wall,
            rtp_time: 5_000,
        };
        let video_sr = SenderReport {
            ntp: wall,
            rtp_time: 777_000,
        };
        let at = start + Duration::from_millis(50);
        let a = audio.place(&mut sender, &frame(Codec::Opus, 5_000, at, Some(audio_sr)));
        // The video frame captured at the same wall instant arrives 30 ms later.
        let v = video.place(
            &mut sender,
            &frame(
                Codec::Vp8,
                777_000,
                at + Duration::from_millis(30),
                Some(video_sr),
            ),
        );
        assert_eq!(a, v, "same capture instant, same place");
    }

    #[test]
    fn a_jump_of_the_senders_clock_is_anchored_again_and_time_never_goes_back() {
        let start = Instant::now();
        let mut clock = TrackClock::new(start);
        let mut sender = SenderClock::default();
        let first = clock.place(&mut sender, &frame(Codec::Opus, 0, start, None));
        assert_eq!(first, Duration::ZERO);
        // The RTP time jumps an hour ahead (a restarted stream): placed at arrival.
        let jumped = frame(
            Codec::Opus,
            48_000 * 3600,
            start + Duration::from_millis(40),
            None,
        );
        assert_eq!(clock.place(&mut sender, &jumped), Duration::from_millis(40));
        // An RTP time from before the jump, arriving later: never earlier than the last.
        let back = frame(
            Codec::Opus,
            48_000 * 3600 - 48_000,
            start + Duration::from_millis(60),
            None,
        );
        assert!(clock.place(&mut sender, &back) >= Duration::from_millis(40));
    }
}

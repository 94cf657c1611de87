//! Where a frame belongs on a recording's clock.
//!
//! A participant's audio and video are separate RTP streams with unrelated RTP clocks; what
//! ties them together is the sender's wall clock in their RTCP sender reports. A track is
//! placed by its RTP time from an anchor set by its first frame: where the sender's wall
//! clock puts that frame when it carries a report, shifted once per participant
//! ([`SenderClock`]) onto our own clock, so the participant's tracks line up; else where it
//! arrived (a track whose first frame had no report yet stays so: str0m reports audio every
//! 5 s, video every second).
//!
//! Later reports do not move a track: senders' reports jitter by tens of milliseconds
//! (their wall clock is read when the report is sent), and following each would step the
//! track back and forth, piling frames onto one instant. Over a meeting the RTP clock and
//! the sender's wall clock do not drift apart by anything audible.
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
    /// RTP time and placement of the first frame.
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
        let (rtp0, at0) = match self.anchor {
            Some(anchor) => anchor,
            None => {
                // The first frame: by the sender's wall clock when it has a report (the
                // participant's tracks line up), else by its arrival.
                let at = match frame.sender_report {
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
                    None => arrived,
                };
                *self.anchor.insert((frame.rtp_time, at))
            }
        };
        let rtp_delta = i128::from(frame.rtp_time) - i128::from(rtp0);
        let mut placed = at0 + rtp_delta * 1_000_000_000 / rate;
        if (placed - arrived).abs() > RESYNC.as_nanos() as i128 {
            // A jump of the RTP clock (a restarted stream): anchored again at arrival.
            self.anchor = Some((frame.rtp_time, arrived));
            placed = arrived;
        }
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
    fn a_track_that_began_without_reports_stays_on_its_rtp_clock_when_they_come() {
        let start = Instant::now();
        let mut clock = TrackClock::new(start);
        let mut sender = SenderClock::default();
        let first = clock.place(&mut sender, &frame(Codec::Vp8, 90_000, start, None));
        assert_eq!(first, Duration::ZERO);
        // A second later the first report comes, naming a wall clock that would place this
        // frame 30 ms earlier than its RTP time does: the track keeps its RTP clock.
        let report = SenderReport {
            ntp: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            rtp_time: 180_000,
        };
        let late = frame(
            Codec::Vp8,
            180_000 + 2_700,
            start + Duration::from_millis(1_000),
            Some(report),
        );
        assert_eq!(
            clock.place(&mut sender, &late),
            Duration::from_millis(1_030)
        );
    }

    #[test]
    fn later_reports_that_jitter_do_not_move_the_track() {
        let start = Instant::now();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut clock = TrackClock::new(start);
        let mut sender = SenderClock::default();
        let first = SenderReport {
            ntp: wall,
            rtp_time: 0,
        };
        let t0 = clock.place(&mut sender, &frame(Codec::Vp8, 0, start, Some(first)));
        // A second later, a report 30 ms off the first's mapping (its wall clock was read
        // late): the next frame stays a frame interval after the last.
        let jittered = SenderReport {
            ntp: wall + Duration::from_millis(1_030),
            rtp_time: 90_000,
        };
        let next = frame(
            Codec::Vp8,
            90_000 + 6_000,
            start + Duration::from_millis(1_066),
            Some(jittered),
        );
        assert_eq!(
            clock.place(&mut sender, &next) - t0,
            Duration::from_nanos(1_066_666_666)
        );
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

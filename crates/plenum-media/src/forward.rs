//! A published track and where its frames go. Each track holds its sinks (subscriber and
//! the mid of the m-line that carries it there), so forwarding a frame is a walk over that
//! list, with no lookup of who subscribes.

use std::time::{Duration, Instant};

use str0m::media::{Mid, Pt};

/// One track a participant publishes.
#[derive(Debug)]
pub(crate) struct Track<P> {
    /// Its m-line on the publisher's publish connection.
    pub mid: Mid,
    pub sinks: Vec<Sink<P>>,
    pub rate: RateWindow,
    /// The last keyframe request sent to the publisher for it (throttling).
    pub last_keyframe_request: Option<Instant>,
    /// The recording tap waits for a keyframe before it passes this (video) track's frames.
    pub tap_needs_keyframe: bool,
}

impl<P: PartialEq> Track<P> {
    pub fn new(mid: Mid) -> Self {
        Track {
            mid,
            sinks: Vec::new(),
            rate: RateWindow::default(),
            last_keyframe_request: None,
            tap_needs_keyframe: true,
        }
    }

    pub fn sink_mut(&mut self, subscriber: P) -> Option<&mut Sink<P>> {
        self.sinks.iter_mut().find(|s| s.subscriber == subscriber)
    }

    /// Whether a keyframe request may go to the publisher now; records it when so.
    pub fn keyframe_request_due(&mut self, now: Instant, throttle: Duration) -> bool {
        let due = self
            .last_keyframe_request
            .is_none_or(|at| now.saturating_duration_since(at) >= throttle);
        if due {
            self.last_keyframe_request = Some(now);
        }
        due
    }
}

/// One subscriber of a track.
#[derive(Debug)]
pub(crate) struct Sink<P> {
    pub subscriber: P,
    /// The m-line on the subscriber's subscribe connection.
    pub mid: Mid,
    /// The viewer's layout includes the publisher (always true for audio).
    pub shown: bool,
    /// Video waits for a keyframe so the subscriber's decoder starts clean.
    pub needs_keyframe: bool,
    /// The last payload type mapping (publisher's pt, subscriber's pt): `match_params` once
    /// per codec change instead of once per frame.
    pub pt: Option<(Pt, Pt)>,
}

impl<P> Sink<P> {
    pub fn new(subscriber: P, mid: Mid, video: bool, shown: bool) -> Self {
        Sink {
            subscriber,
            mid,
            shown,
            needs_keyframe: video,
            pt: None,
        }
    }
}

/// Bits sent in the current one-second window, to drop what exceeds a track's cap.
#[derive(Debug, Default)]
pub(crate) struct RateWindow {
    start: Option<Instant>,
    bits: u64,
}

const RATE_WINDOW: Duration = Duration::from_secs(1);

impl RateWindow {
    /// Whether a frame of `bytes` fits under `cap` bits per second (0: no cap); counts it if so.
    pub fn admit(&mut self, now: Instant, bytes: usize, cap: u64) -> bool {
        if cap == 0 {
            return true;
        }
        match self.start {
            Some(start) if now.saturating_duration_since(start) < RATE_WINDOW => {}
            _ => {
                self.start = Some(now);
                self.bits = 0;
            }
        }
        let bits = self.bits + bytes as u64 * 8;
        if bits > cap {
            return false;
        }
        self.bits = bits;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_window_drops_the_excess_and_reopens() {
        let t0 = Instant::now();
        let mut w = RateWindow::default();
        assert!(w.admit(t0, 100, 1600));
        assert!(w.admit(t0, 100, 1600));
        assert!(!w.admit(t0 + Duration::from_millis(500), 1, 1600));
        assert!(w.admit(t0 + Duration::from_millis(1000), 100, 1600));
    }
}

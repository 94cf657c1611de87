use std::sync::Mutex;

use plenum_domain::Timestamp;

/// Where the service gets "now". The domain never reads a clock; the service reads this one,
/// so tests can move time forward instead of sleeping.
///
/// It gives both kinds of time the system runs on: the wall clock the domain and the record
/// use (`now`), and the monotonic instants of the media engine's timers (`instant`), which
/// str0m takes as an argument just as the domain takes `now`.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    fn now(&self) -> Timestamp;
    /// A monotonic instant for timers (media). A manual clock keeps real instants: media
    /// timers follow the network, which tests cannot pause.
    fn instant(&self) -> std::time::Instant {
        std::time::Instant::now()
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that starts at the real time and then moves only when told to.
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl Default for ManualClock {
    fn default() -> Self {
        Self(Mutex::new(Timestamp::now()))
    }
}

impl ManualClock {
    pub fn advance(&self, by: std::time::Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now = now
            .checked_add(jiff::SignedDuration::try_from(by).unwrap_or(jiff::SignedDuration::MAX))
            .unwrap_or(Timestamp::MAX);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

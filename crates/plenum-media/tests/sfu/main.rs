//! The SFU in simulated time: in-memory str0m clients publish synthetic audio and video
//! through a [`plenum_media::Room`], and the tests count what each receives from whom.

mod net;

mod forwarding;
mod recording;
mod robustness;
mod signalling;
mod streaming;

use std::time::Duration;

pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

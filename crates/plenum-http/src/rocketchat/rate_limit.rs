//! Rocket.Chat's per-user rate limit: a fixed window that opens with a user's first request
//! and lasts 1000 ms (`plenum_domain::limits::RateWindow`). The service counts the requests
//! in the store, so the limit holds for the installation, whichever node a request reaches;
//! time comes from the service's clock, so tests move it instead of sleeping.

use plenum_domain::SignedDuration;
use plenum_domain::limits::RateWindow;

/// Requests per window Rocket.Chat documents for `video-conference.list` (3 per 1000 ms).
pub const DOCUMENTED_LIMIT: u32 = 3;

/// The window of `limit` requests (`--rocketchat-rate-limit`) per user.
pub(super) fn window(limit: u32) -> RateWindow {
    RateWindow {
        limit: limit.max(1),
        length: SignedDuration::from_millis(1000),
    }
}

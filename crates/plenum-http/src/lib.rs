//! Plenum's HTTP edge.
//!
//! One module per API dialect, each reading like its seed document: its paths, field names,
//! error shape and auth style, translating to and from the calls of
//! [`Plenum`](plenum_service::Plenum). No business rules and no SQL live here.
//!
//! - [`frtc`]: the FRTC server API (`/api/v1/...`), Plenum's own main API.
//!
//! [`router`] lists every route in one place.

pub mod frtc;
pub mod live;
mod openapi;
mod router;

pub use router::router;

use plenum_service::Plenum;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub plenum: Plenum,
}

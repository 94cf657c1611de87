//! Plenum's HTTP edge.
//!
//! One module per API dialect, each reading like its seed document: its paths, field names,
//! error shape and auth style, translating to and from the calls of
//! [`Plenum`](plenum_service::Plenum). No business rules and no SQL live here.
//!
//! - [`frtc`]: the FRTC server API (`/api/v1/...`), Plenum's own main API.
//! - [`rokid`], [`rocketchat`], [`telnyx`], [`huawei`]: the history surfaces, four vendors'
//!   APIs over the same sessions, attendance and recordings (`docs/history.md`).
//!
//! The web app (`web_app`, served at `/`) is a browser client of the FRTC API and the client
//! protocol, like the join page.
//!
//! [`router`] lists every route in one place.

pub mod frtc;
pub mod huawei;
mod join_page;
mod large_json;
pub mod live;
mod metrics;
pub mod nodes;
mod openapi;
pub mod recording_files;
pub mod rocketchat;
pub mod rokid;
mod router;
pub mod telnyx;
mod watch_page;
mod web_app;
mod wire_time;

pub use router::router;

use plenum_service::Plenum;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub plenum: Plenum,
    /// Requests one Rocket.Chat user may make per second (counted by the service).
    pub rocketchat_rate_limit: u32,
    /// Rocket.Chat's ended calls as JSON, with what they were written from.
    pub rendered_calls: std::sync::Arc<rocketchat::RenderedCalls>,
    /// Recording files and their download links; `None` when the server keeps none (then
    /// every `/files/recordings/...` is `404`). Set with [`AppState::with_recordings`].
    pub recordings: Option<std::sync::Arc<plenum_service::recording_files::Downloads>>,
    /// How this node relays calls for meetings other nodes run (`nodes.rs`).
    pub relay: reqwest::Client,
}

impl AppState {
    pub fn new(plenum: Plenum) -> Self {
        Self {
            plenum,
            rocketchat_rate_limit: rocketchat::DOCUMENTED_LIMIT,
            rendered_calls: std::sync::Arc::default(),
            recordings: None,
            relay: nodes::relay_client(),
        }
    }

    /// The same state, with Rocket.Chat's `video-conference.list` allowing `limit` requests
    /// per second and user (Rocket.Chat documents 3).
    pub fn with_rocketchat_rate_limit(mut self, limit: u32) -> Self {
        self.rocketchat_rate_limit = limit;
        self
    }

    /// The same state, serving recording files with `downloads`.
    pub fn with_recordings(
        mut self,
        downloads: plenum_service::recording_files::Downloads,
    ) -> Self {
        self.recordings = Some(std::sync::Arc::new(downloads));
        self
    }
}

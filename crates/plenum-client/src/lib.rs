//! A client of Plenum: the client protocol ([`protocol`]: connect, join, heartbeats, mute,
//! leave) and the media client ([`media`]: publish the embedded fixtures, receive everyone
//! else's media and count it). `plenum bot`, the benchmark harness and the tests all use it.

pub mod media;
pub mod protocol;

pub use media::{MediaSession, MediaStats};
pub use protocol::{
    Behaviour, CONNECT_TIMEOUT, Ending, Fields, Frame, Ignore, JOIN_TIMEOUT, JoinFailure,
    JoinRequest, Joined, LEAVE_TIMEOUT, Observer, Participant, TrackInfo, You, live_url,
};

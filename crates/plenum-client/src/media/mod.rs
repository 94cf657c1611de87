//! The media client: publishes the embedded fixtures (Opus audio, VP8 video) and receives
//! everyone else's media, over WebRTC (str0m) with the signalling of the client protocol
//! (docs/client-protocol.md, "Media").
//!
//! - [`source`]: the fixtures' readers (IVF, Ogg Opus) and the looped, paced [`Player`];
//! - [`client`]: [`MediaClient`], sans IO (datagrams, signalling and time in; datagrams,
//!   signalling, deadlines and [`MediaStats`] out);
//! - [`session`]: [`MediaSession`], its tokio driver over two UDP sockets.

pub mod client;
pub mod session;
pub mod source;
pub mod stats;

pub use client::{Connection, MediaClient, MediaConfig, Signal, Transmit};
pub use session::MediaSession;
pub use source::{Fixtures, Player};
pub use stats::{FromParticipant, MediaStats};

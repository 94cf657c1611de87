//! What a media client received from each other participant, and sent.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

/// What was received from one other participant, since the start (counters never go down:
/// the rate over an interval is the difference of two readings).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FromParticipant {
    /// RTP packets of the participant's audio / video (the packets of the frames received,
    /// from their sequence numbers).
    pub audio_packets: u64,
    pub video_packets: u64,
    /// Payload bytes of the frames received (audio and video; without RTP headers).
    pub bytes: u64,
    /// Audio frames (Opus packets) and whole video frames (every packet of the frame there,
    /// depacketized) received.
    pub audio_frames: u64,
    pub video_frames: u64,
    /// Video keyframes received.
    pub keyframes: u64,
    /// Packets lost: gaps in the RTP sequence numbers between the frames received (a frame
    /// missing a packet that no retransmission brought is lost whole, with its packets).
    pub lost: u64,
    /// When the first whole video frame / keyframe / audio frame arrived.
    #[serde(skip)]
    pub first_video_frame: Option<Instant>,
    #[serde(skip)]
    pub first_keyframe: Option<Instant>,
    #[serde(skip)]
    pub first_audio_frame: Option<Instant>,
    /// When the last video / audio frame arrived.
    #[serde(skip)]
    pub last_video_frame: Option<Instant>,
    #[serde(skip)]
    pub last_audio_frame: Option<Instant>,
}

/// A media client's statistics.
#[derive(Debug, Clone, Default)]
pub struct MediaStats {
    /// Per other participant (`client_uuid`), what was received from them.
    pub from: BTreeMap<String, FromParticipant>,
    /// Frames received on an m-line the last `subscribe` did not attribute to anyone.
    pub unattributed_frames: u64,
    /// Audio / video frames sent on the publish connection.
    pub sent_audio_frames: u64,
    pub sent_video_frames: u64,
    /// When the publish / subscribe connection got connected (ICE and DTLS), the last time.
    pub publish_connected: Option<Instant>,
    pub subscribe_connected: Option<Instant>,
    /// Keyframe requests (PLI, FIR) for the published video, each answered with a keyframe.
    pub keyframe_requests: u64,
    /// `subscribe` offers answered.
    pub subscribe_offers: u64,
    /// Connections the server closed (`media_closed`) or that failed here, with why.
    pub closed: Vec<String>,
}

impl MediaStats {
    /// The `from` object of the bot's JSON line: per participant, the counters.
    pub fn from_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.from).unwrap_or_default()
    }
}

//! Webhooks: the events a company's endpoints are told of, the endpoints and their rules, the
//! Standard Webhooks signature and the retry schedule.
//!
//! An event is written to the store's outbox in the same transaction as the change that
//! caused it; a delivery task of the service sends it to every endpoint of the company that
//! takes its type (`docs/webhooks.md`). Everything here is pure: the URL's host is judged as
//! written (an address, or a name like `localhost`), never resolved; the service resolves
//! names when it connects and judges the addresses with [`is_public`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::api_keys::AppKeySecret;
use crate::error::{Field, ValidationError};
use crate::history::{Attendance, Recording, Session};
use crate::ids::{CompanyId, EventId, WebhookId};
use crate::schedule::{MeetingNumber, Schedule, Series};
use crate::user::User;

// --- event types --------------------------------------------------------------------------

macro_rules! event_types {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// What happened. The names are stable: receivers branch on them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventType {
            $($(#[$doc])* $variant,)*
        }

        impl EventType {
            /// Every type, in the order of their bits (never reordered: the store keeps
            /// filters as bit sets).
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)*
                }
            }
        }
    };
}

event_types! {
    /// A meeting's first participant got in (a session began).
    MeetingStarted = "meeting.started",
    /// A meeting ended (its reason: stopped by a host, its end time, the last one left, …).
    MeetingEnded = "meeting.ended",
    ParticipantJoined = "participant.joined",
    /// A participant left, or was disconnected by a host (the reason says which).
    ParticipantLeft = "participant.left",
    MeetingLocked = "meeting.locked",
    MeetingUnlocked = "meeting.unlocked",
    /// A host muted everyone (but the exclusions).
    MeetingMutedAll = "meeting.muted_all",
    MeetingUnmutedAll = "meeting.unmuted_all",
    /// A participant's audio or video mute changed (by a host or by themselves).
    ParticipantMuteChanged = "participant.mute_changed",
    /// A host allowed a participant to unmute themselves.
    ParticipantUnmuteAllowed = "participant.unmute_allowed",
    ParticipantRenamed = "participant.renamed",
    MeetingLecturerChanged = "meeting.lecturer_changed",
    MeetingPinChanged = "meeting.pin_changed",
    MeetingOverlayChanged = "meeting.overlay_changed",
    MeetingEndTimeChanged = "meeting.end_time_changed",
    /// A recording began (one event per recording: the meeting's and each participant's).
    RecordingStarted = "recording.started",
    RecordingCompleted = "recording.completed",
    RecordingFailed = "recording.failed",
    LiveStarted = "live.started",
    LiveStopped = "live.stopped",
    UserCreated = "user.created",
    ScheduleCreated = "schedule.created",
    ScheduleUpdated = "schedule.updated",
    ScheduleDeleted = "schedule.deleted",
}

impl EventType {
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        Self::ALL.iter().copied().find(|t| t.as_str() == raw)
    }

    /// This type's bit in an [`EventTypes`] set.
    pub fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The event types an endpoint takes: a set, kept by the store as its bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventTypes(u32);

impl EventTypes {
    /// Every type, those added to Plenum later included.
    pub const ALL: EventTypes = EventTypes(u32::MAX);

    /// The set as a list of names (`None` for every type), refusing names it does not know
    /// and an empty list (an endpoint that takes nothing is a mistake; leave the list out to
    /// take everything).
    pub fn parse(names: Option<&[String]>) -> Result<Self, ValidationError> {
        let Some(names) = names else {
            return Ok(Self::ALL);
        };
        if names.is_empty() {
            return Err(ValidationError::new(
                Field::EventTypes,
                "must name at least one event type; leave it out to receive every type",
            ));
        }
        let mut bits = 0;
        for name in names {
            let Some(t) = EventType::parse(name) else {
                return Err(ValidationError::new(
                    Field::EventTypes,
                    format!(
                        "unknown event type `{}`; the types are: {}",
                        name.chars().take(64).collect::<String>(),
                        EventType::ALL
                            .iter()
                            .map(|t| t.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            };
            bits |= t.bit();
        }
        Ok(Self(bits))
    }

    pub fn from_bits(bits: u32) -> Self {
        Self(bits)
    }

    pub fn bits(self) -> u32 {
        self.0
    }

    pub fn is_all(self) -> bool {
        self.0 == u32::MAX
    }

    pub fn contains(self, t: EventType) -> bool {
        self.0 & t.bit() != 0
    }

    /// The names of the set's types (every known one for [`EventTypes::ALL`]).
    pub fn names(self) -> Vec<&'static str> {
        EventType::ALL
            .iter()
            .filter(|t| self.contains(**t))
            .map(|t| t.as_str())
            .collect()
    }
}

// --- events -------------------------------------------------------------------------------

/// One event as the outbox keeps it: the body is rendered once, when the event is made, so
/// every attempt and replay sends (and signs) the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    pub id: EventId,
    pub kind: EventType,
    pub at: Timestamp,
    pub company: CompanyId,
    /// The meeting it is about, if any: events naming the same meeting number reach each
    /// endpoint in the order they happened.
    pub meeting: Option<MeetingNumber>,
    /// The JSON body sent: `{"id", "type", "timestamp", "company_id", "data"}`.
    pub body: String,
}

#[derive(Serialize)]
struct Body<'a, D: Serialize> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: String,
    company_id: String,
    data: &'a D,
}

impl OutboxEvent {
    /// An event of `kind` at `at` with `data` (a JSON object of the domain's ids).
    pub fn new(
        kind: EventType,
        at: Timestamp,
        company: CompanyId,
        meeting: Option<MeetingNumber>,
        data: &impl Serialize,
    ) -> Self {
        let id = EventId::new(at);
        let body = serde_json::to_string(&Body {
            id: id.to_string(),
            kind: kind.as_str(),
            timestamp: rfc3339_ms(at),
            company_id: company.to_string(),
            data,
        })
        // The data are the domain's own plain structs (no maps with non-string keys): they
        // always serialize.
        .unwrap_or_default();
        Self {
            id,
            kind,
            at,
            company,
            meeting,
            body,
        }
    }
}

/// An instant as RFC 3339 in UTC with milliseconds (what the `timestamp` of a body holds).
pub fn rfc3339_ms(t: Timestamp) -> String {
    let ms = t.as_millisecond();
    Timestamp::from_millisecond(ms)
        .unwrap_or(t)
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// The payloads of the events, by type. Every id is the one the history surfaces show:
/// `session_id` (Telnyx `session_id`, Huawei `confUUID`, Rokid `id`), `participant_id` (the
/// FRTC `client_uuid`, Telnyx `participant_id`), `recording_id` (Telnyx), `room_id`,
/// `reservation_id`, `recurrence_gid`, `user_id`. Never a password, passcode or token.
pub mod data {
    use super::*;

    /// `meeting.started`.
    #[derive(Debug, Serialize)]
    pub struct MeetingStarted<'a> {
        pub session_id: String,
        pub meeting_number: &'a str,
        pub meeting_name: &'a str,
        pub owner_id: String,
        pub room_id: Option<String>,
        pub reservation_id: Option<String>,
        pub started_at: String,
    }

    impl<'a> MeetingStarted<'a> {
        pub fn of(s: &'a Session) -> Self {
            Self {
                session_id: s.id.to_string(),
                meeting_number: s.meeting_number.as_str(),
                meeting_name: &s.name,
                owner_id: s.owner.to_string(),
                room_id: s.room.map(|r| r.to_string()),
                reservation_id: s.schedule.map(|r| r.to_string()),
                started_at: rfc3339_ms(s.started_at),
            }
        }
    }

    /// `meeting.ended`.
    #[derive(Debug, Serialize)]
    pub struct MeetingEnded<'a> {
        pub session_id: String,
        pub meeting_number: &'a str,
        /// `stopped`, `stopped_no_rejoin`, `end_time_reached`, `empty`, `server_shutdown`.
        pub reason: &'a str,
        pub ended_at: String,
        pub peak_participants: u32,
    }

    /// `participant.joined`.
    #[derive(Debug, Serialize)]
    pub struct ParticipantJoined<'a> {
        pub session_id: String,
        pub meeting_number: &'a str,
        pub participant_id: String,
        /// `None` for guests.
        pub user_id: Option<String>,
        pub display_name: &'a str,
        pub device_type: &'static str,
        pub media_type: &'static str,
        pub joined_at: String,
    }

    impl<'a> ParticipantJoined<'a> {
        pub fn of(a: &'a Attendance, number: &'a MeetingNumber) -> Self {
            Self {
                session_id: a.session.to_string(),
                meeting_number: number.as_str(),
                participant_id: a.id.to_string(),
                user_id: a.user.map(|u| u.to_string()),
                display_name: &a.display_name,
                device_type: a.device_type.as_str(),
                media_type: a.media_type.as_str(),
                joined_at: rfc3339_ms(a.joined_at),
            }
        }
    }

    /// `participant.left`.
    #[derive(Debug, Serialize)]
    pub struct ParticipantLeft<'a> {
        pub session_id: String,
        pub meeting_number: &'a str,
        pub participant_id: String,
        /// `left`, `connection_closed`, `heartbeat_timeout`, `disconnected` (by a host),
        /// `meeting_ended`, `too_slow`, `server_shutdown`.
        pub reason: &'a str,
        pub left_at: String,
    }

    /// The host actions and other changes of a running meeting: the session, and what
    /// changed as the client protocol's event shows it (`change`; never a passcode).
    #[derive(Debug, Serialize)]
    pub struct MeetingChange<'a, C: Serialize> {
        pub session_id: String,
        pub meeting_number: &'a str,
        pub change: C,
    }

    /// `recording.started`, `recording.completed`, `recording.failed`.
    #[derive(Debug, Serialize)]
    pub struct RecordingData<'a> {
        pub recording_id: String,
        pub session_id: String,
        pub meeting_number: &'a str,
        /// `audio` or `video`, as the Telnyx surface shows it.
        pub kind: &'static str,
        /// `processing`, `completed`, `failed`.
        pub status: &'static str,
        /// The participant of a participant's recording.
        pub participant_id: Option<String>,
        pub started_at: String,
        pub ended_at: Option<String>,
        pub duration_secs: u32,
        pub size_bytes: u64,
        pub failure: Option<&'a str>,
    }

    impl<'a> RecordingData<'a> {
        pub fn of(r: &'a Recording, number: &'a MeetingNumber) -> Self {
            Self {
                recording_id: r.id.to_string(),
                session_id: r.session.to_string(),
                meeting_number: number.as_str(),
                kind: r.kind.as_str(),
                status: r.status.as_str(),
                participant_id: r.attendance.map(|a| a.to_string()),
                started_at: rfc3339_ms(r.started_at),
                ended_at: r.ended_at.map(rfc3339_ms),
                duration_secs: r.duration_secs,
                size_bytes: r.size_bytes,
                failure: r.failure.as_deref(),
            }
        }
    }

    /// `user.created`: who, never their credential.
    #[derive(Debug, Serialize)]
    pub struct UserCreated<'a> {
        pub user_id: String,
        pub username: &'a str,
        pub real_name: &'a str,
        pub role: &'static str,
        pub created_at: String,
    }

    impl<'a> UserCreated<'a> {
        pub fn of(u: &'a User) -> Self {
            Self {
                user_id: u.id.to_string(),
                username: u.username.as_str(),
                real_name: &u.profile.real_name,
                role: u.role.as_str(),
                created_at: rfc3339_ms(u.created_at),
            }
        }
    }

    /// `schedule.created`, `schedule.updated`: a reservation (or one occurrence), without
    /// its password.
    #[derive(Debug, Serialize)]
    pub struct ScheduleData<'a> {
        pub reservation_id: String,
        pub recurrence_gid: Option<String>,
        pub meeting_number: &'a str,
        pub meeting_name: &'a str,
        pub meeting_type: &'static str,
        pub owner_id: String,
        pub room_id: Option<String>,
        pub start_time: String,
        pub end_time: String,
    }

    impl<'a> ScheduleData<'a> {
        pub fn of(s: &'a Schedule) -> Self {
            Self {
                reservation_id: s.id.to_string(),
                recurrence_gid: s.series_id.map(|g| g.to_string()),
                meeting_number: s.meeting_number.as_str(),
                meeting_name: &s.settings.name,
                meeting_type: s.kind.as_str(),
                owner_id: s.owner.id.to_string(),
                room_id: s.room_id.map(|r| r.to_string()),
                start_time: rfc3339_ms(s.slot.start),
                end_time: rfc3339_ms(s.slot.end),
            }
        }
    }

    /// `schedule.created`, `schedule.updated` of a whole recurring series.
    #[derive(Debug, Serialize)]
    pub struct SeriesData<'a> {
        pub recurrence_gid: String,
        pub meeting_number: &'a str,
        pub meeting_name: &'a str,
        pub meeting_type: &'static str,
        pub owner_id: String,
        pub room_id: Option<String>,
        pub occurrences: usize,
    }

    impl<'a> SeriesData<'a> {
        pub fn of(s: &'a Series, occurrences: usize) -> Self {
            Self {
                recurrence_gid: s.id.to_string(),
                meeting_number: s.meeting_number.as_str(),
                meeting_name: &s.settings.name,
                meeting_type: "recurrence",
                owner_id: s.owner.id.to_string(),
                room_id: s.room_id.map(|r| r.to_string()),
                occurrences,
            }
        }
    }

    /// `schedule.deleted`: which meeting (a reservation or a whole series) is gone.
    #[derive(Debug, Serialize)]
    pub struct ScheduleDeleted<'a> {
        pub reservation_id: Option<String>,
        pub recurrence_gid: Option<String>,
        pub meeting_number: &'a str,
    }
}

// --- endpoints ----------------------------------------------------------------------------

/// The longest webhook URL accepted.
pub const MAX_URL_CHARS: usize = 2048;
/// The longest description of an endpoint.
pub const MAX_DESCRIPTION_CHARS: usize = 256;

/// Where an endpoint's events are posted: an `http` or `https` URL whose host, as written,
/// is not private, loopback or link-local (unless the installation allows it). A name is
/// judged again, by its addresses, every time the delivery task connects.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(raw: &str, allow_private: bool) -> Result<Self, ValidationError> {
        let invalid = |reason: &str| ValidationError::new(Field::WebhookUrl, reason.to_owned());
        let raw = raw.trim();
        if raw.is_empty() || raw.chars().count() > MAX_URL_CHARS {
            return Err(invalid(
                "must be an http or https URL of at most 2048 characters",
            ));
        }
        let url = url::Url::parse(raw).map_err(|_| invalid("is not a valid URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("must be an http or https URL"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "must not carry a user name or password; the signature authenticates Plenum",
            ));
        }
        if url.fragment().is_some() {
            return Err(invalid("must not have a fragment (#…)"));
        }
        let private = match url.host() {
            None => return Err(invalid("must name a host")),
            Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) => is_local_name(name),
        };
        if private && !allow_private {
            return Err(invalid(
                "must not be a private, loopback or link-local address (the server's configuration `webhooks.allow_private` allows them)",
            ));
        }
        Ok(Self(url.into()))
    }

    /// A URL as the store kept it (checked when it was registered).
    pub fn stored(url: String) -> Self {
        Self(url)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Names that mean this machine whatever DNS says (RFC 6761).
fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Whether an address is reachable on the public internet: not private, loopback,
/// link-local, unspecified, shared (CGNAT), multicast, broadcast, reserved, documentation
/// or benchmarking. An IPv6 address that carries an IPv4 one (mapped, NAT64, 6to4) is
/// judged by that IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                   // "this network"
        || a == 10                             // private
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || a == 127                            // loopback
        || (a == 169 && b == 254)              // link-local
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0)      // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)      // documentation
        || (a == 192 && b == 88 && c == 99)    // 6to4 relay anycast
        || (a == 192 && b == 168)              // private
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100)   // documentation
        || (a == 203 && b == 0 && c == 113)    // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    if s[0] == 0x64 && s[1] == 0xff9b {
        // NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48): the IPv4 address it reaches.
        return s[2] == 0
            && is_public_v4(Ipv4Addr::new(
                (s[6] >> 8) as u8,
                s[6] as u8,
                (s[7] >> 8) as u8,
                s[7] as u8,
            ));
    }
    if s[0] == 0x2002 {
        // 6to4: the IPv4 address of the relay's other side.
        return is_public_v4(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || s[0..6] == [0, 0, 0, 0, 0, 0]   // IPv4-compatible (deprecated) and the like
        || (s[0] & 0xfe00) == 0xfc00       // unique local
        || (s[0] & 0xffc0) == 0xfe80       // link-local
        || (s[0] & 0xffc0) == 0xfec0       // site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00       // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments (Teredo, ORCHID, …)
        || s[0] == 0x0100) // discard-only
}

/// The longest description accepted, checked like the other names.
pub fn parse_description(raw: &str) -> Result<String, ValidationError> {
    let text = raw.trim();
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ValidationError::new(
            Field::WebhookDescription,
            "must be at most 256 characters",
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(ValidationError::new(
            Field::WebhookDescription,
            "must not contain control characters",
        ));
    }
    Ok(text.to_owned())
}

/// A registered endpoint as it is listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: WebhookId,
    pub company: CompanyId,
    pub url: WebhookUrl,
    pub description: String,
    pub types: EventTypes,
    pub created_at: Timestamp,
    /// When the secret was last rotated (its creation, at first).
    pub secret_rotated_at: Timestamp,
    /// Since when its retries have been running out: set when an event's retry schedule is
    /// exhausted, cleared by the next successful delivery.
    pub failing_since: Option<Timestamp>,
}

/// What the store keeps of a new endpoint: the endpoint and the seed its secret is derived
/// from (see [`SigningSeed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEndpoint {
    pub endpoint: Endpoint,
    pub seed: SigningSeed,
}

/// The random seed an endpoint's signing secret is derived from. The store keeps this, not
/// the secret: the secret is `HMAC-SHA256(installation secret, label ‖ seed)`, and the
/// installation secret is a file of the data directory (as for Huawei app keys), so a copy of
/// the database alone signs nothing. Rotating the secret is a new seed.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSeed(pub [u8; 32]);

impl fmt::Debug for SigningSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSeed(<redacted>)")
    }
}

/// An endpoint's signing secret. `Debug` never shows it; [`WebhookSecret::whsec`] is what the
/// company is shown, once, at creation and rotation.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret([u8; 32]);

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// Keeps webhook secrets apart from app keys derived from the same installation secret.
const SECRET_LABEL: &[u8] = b"plenum webhook signing secret v1\0";

impl WebhookSecret {
    pub fn derive(installation: &AppKeySecret, seed: &SigningSeed) -> Self {
        let mut message = Vec::with_capacity(SECRET_LABEL.len() + 32);
        message.extend_from_slice(SECRET_LABEL);
        message.extend_from_slice(&seed.0);
        Self(hmac_sha256(&installation.0, &message))
    }

    /// A secret given as `whsec_<base64>` (tests and receivers).
    pub fn from_whsec(text: &str) -> Option<Vec<u8>> {
        STANDARD.decode(text.strip_prefix("whsec_")?).ok()
    }

    /// The Standard Webhooks form: `whsec_` and the key in base64.
    pub fn whsec(&self) -> String {
        format!("whsec_{}", STANDARD.encode(self.0))
    }

    /// The `webhook-signature` header's value for a message: `v1,<base64 HMAC-SHA256 of
    /// "{id}.{timestamp}.{body}">`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        sign(&self.0, id, timestamp, body)
    }
}

/// Standard Webhooks' signature with a raw key.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut message = Vec::with_capacity(id.len() + 24 + body.len());
    message.extend_from_slice(id.as_bytes());
    message.push(b'.');
    message.extend_from_slice(timestamp.to_string().as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    format!("v1,{}", STANDARD.encode(hmac_sha256(key, &message)))
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
        unreachable!("HMAC takes keys of every length")
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

// --- retries ------------------------------------------------------------------------------

/// When a failed event is tried again: after `first`, doubling each time up to `cap`, until
/// the waits add up to at least `total`; then the schedule is exhausted, the endpoint is
/// marked failing and the event stays for replay. A pure function of how many attempts
/// failed, so a restarted server picks up where the last one was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    pub first: SignedDuration,
    pub cap: SignedDuration,
    pub total: SignedDuration,
}

impl Default for RetrySchedule {
    /// 5 s, 10 s, 20 s, … 4 h, 4 h, … for at least 24 hours (18 attempts over ~26 h).
    fn default() -> Self {
        Self {
            first: SignedDuration::from_secs(5),
            cap: SignedDuration::from_hours(4),
            total: SignedDuration::from_hours(24),
        }
    }
}

impl RetrySchedule {
    /// How long to wait after the `failed`-th failed attempt (1 for the first) before the
    /// next; `None` once the schedule is exhausted.
    pub fn delay_after(&self, failed: u32) -> Option<SignedDuration> {
        if failed == 0 {
            return Some(SignedDuration::ZERO);
        }
        let first = self.first.max(SignedDuration::from_millis(1));
        let cap = self.cap.max(first);
        let mut waited = SignedDuration::ZERO;
        let mut delay = first;
        for _ in 1..failed {
            waited = waited.saturating_add(delay);
            if waited >= self.total {
                return None;
            }
            delay = delay.saturating_mul(2).min(cap);
        }
        Some(delay)
    }

    /// How many attempts the schedule makes in all (the first and every retry).
    pub fn attempts(&self) -> u32 {
        let mut n = 1;
        while self.delay_after(n).is_some() {
            n += 1;
        }
        n
    }

    /// The waits of a whole schedule added up.
    pub fn span(&self) -> SignedDuration {
        (1..self.attempts())
            .filter_map(|n| self.delay_after(n))
            .fold(SignedDuration::ZERO, SignedDuration::saturating_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_names_round_trip_and_bits_are_distinct() {
        let mut bits = 0u32;
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
            assert_eq!(bits & t.bit(), 0, "{t} shares a bit");
            bits |= t.bit();
        }
        assert!(EventType::ALL.len() <= 32);
        assert_eq!(EventType::parse("meeting.exploded"), None);
    }

    #[test]
    fn event_type_lists_refuse_unknown_names_and_nothing() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let set = EventTypes::parse(Some(&names(&["meeting.started", "user.created"])))
            .expect("known types");
        assert!(set.contains(EventType::MeetingStarted));
        assert!(!set.contains(EventType::MeetingEnded));
        assert_eq!(set.names(), vec!["meeting.started", "user.created"]);
        assert_eq!(EventTypes::parse(None), Ok(EventTypes::ALL));
        let e = EventTypes::parse(Some(&names(&["meeting.started", "meeting.exploded"])))
            .expect_err("unknown type");
        assert_eq!(e.field, Field::EventTypes);
        assert!(e.reason.contains("meeting.exploded"));
        assert!(EventTypes::parse(Some(&[])).is_err());
    }

    #[test]
    fn urls_must_be_http_and_public_unless_allowed() {
        for ok in [
            "https://hooks.example.com/plenum",
            "http://93.184.216.34:8080/x?y=1",
            "https://[2606:4700::1111]/",
        ] {
            assert!(WebhookUrl::parse(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "not a url",
            "ftp://example.com/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://user:pw@example.com/",
            "https://example.com/#frag",
        ] {
            assert!(WebhookUrl::parse(bad, true).is_err(), "{bad}");
        }
        for private in [
            "http://127.0.0.1:9000/",
            "http://localhost/",
            "http://api.localhost./",
            "http://10.1.2.3/",
            "http://172.20.0.1/",
            "http://192.168.1.10/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[64:ff9b::a00:1]/",
            "http://2130706433/",
            "http://0x7f.1/",
        ] {
            let e = WebhookUrl::parse(private, false).expect_err(private);
            assert_eq!(e.field, Field::WebhookUrl);
            assert!(
                WebhookUrl::parse(private, true).is_ok(),
                "{private} allowed"
            );
        }
        assert!(WebhookUrl::parse(&format!("https://e.com/{}", "a".repeat(3000)), true).is_err());
    }

    #[test]
    fn public_addresses_are_told_from_the_rest() {
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "2a00:1450::1"] {
            assert!(is_public(public.parse().expect("ip")), "{public}");
        }
        for private in [
            "10.0.0.1",
            "127.0.0.53",
            "169.254.1.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "2002:0a00:0001::1",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().expect("ip")), "{private}");
        }
    }

    #[test]
    fn signatures_match_the_standard_webhooks_test_vector() {
        // From the Standard Webhooks specification and its libraries' tests.
        let key = WebhookSecret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .expect("a whsec secret");
        assert_eq!(
            sign(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_derived_per_seed_and_never_shown_by_debug() {
        let installation = AppKeySecret([7; 32]);
        let a = WebhookSecret::derive(&installation, &SigningSeed([1; 32]));
        let b = WebhookSecret::derive(&installation, &SigningSeed([2; 32]));
        assert_ne!(a, b);
        assert_eq!(
            a,
            WebhookSecret::derive(&installation, &SigningSeed([1; 32]))
        );
        let whsec = a.whsec();
        assert!(whsec.starts_with("whsec_"));
        assert_eq!(WebhookSecret::from_whsec(&whsec).as_deref(), Some(&a.0[..]));
        assert_eq!(
            a.sign("id", 1, b"{}"),
            sign(
                &WebhookSecret::from_whsec(&whsec).expect("key"),
                "id",
                1,
                b"{}"
            )
        );
        assert!(!format!("{a:?}").contains(&whsec[6..12]));
        assert_eq!(
            format!("{:?}", SigningSeed([1; 32])),
            "SigningSeed(<redacted>)"
        );
    }

    #[test]
    fn the_default_schedule_retries_for_more_than_a_day_with_growing_waits() {
        let s = RetrySchedule::default();
        assert_eq!(s.delay_after(1), Some(SignedDuration::from_secs(5)));
        assert_eq!(s.delay_after(2), Some(SignedDuration::from_secs(10)));
        assert_eq!(s.delay_after(3), Some(SignedDuration::from_secs(20)));
        let mut last = SignedDuration::ZERO;
        for n in 1..s.attempts() {
            let d = s.delay_after(n).expect("within the schedule");
            assert!(d >= last && d <= s.cap);
            last = d;
        }
        assert_eq!(s.delay_after(s.attempts()), None);
        assert!(s.span() >= SignedDuration::from_hours(24), "{:?}", s.span());
        assert!(s.span() < SignedDuration::from_hours(30), "{:?}", s.span());
        assert_eq!(s.attempts(), 18);
    }

    #[test]
    fn a_short_schedule_for_tests_is_exhausted_quickly() {
        let s = RetrySchedule {
            first: SignedDuration::from_millis(50),
            cap: SignedDuration::from_millis(200),
            total: SignedDuration::from_millis(500),
        };
        // 50, 100, 200, 200 → 550 ms ≥ 500 ms: four retries, five attempts.
        assert_eq!(s.attempts(), 5);
        assert_eq!(s.delay_after(4), Some(SignedDuration::from_millis(200)));
        assert_eq!(s.delay_after(5), None);
    }

    #[test]
    fn bodies_carry_id_type_time_company_and_data() {
        let at = Timestamp::from_millisecond(1_700_000_000_123).expect("instant");
        let company = CompanyId::new(at);
        let e = OutboxEvent::new(
            EventType::UserCreated,
            at,
            company,
            None,
            &serde_json::json!({"user_id": "u"}),
        );
        let body: serde_json::Value = serde_json::from_str(&e.body).expect("json");
        assert_eq!(body["id"], e.id.to_string());
        assert_eq!(body["type"], "user.created");
        assert_eq!(body["timestamp"], "2023-11-14T22:13:20.123Z");
        assert_eq!(body["company_id"], company.to_string());
        assert_eq!(body["data"]["user_id"], "u");
    }
}

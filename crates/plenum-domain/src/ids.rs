//! Identifiers. UUIDv7 so that ids sort by creation time and index well.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new id whose leading bits are the given instant, so ids sort by creation.
            pub fn new(now: jiff::Timestamp) -> Self {
                let ms = u64::try_from(now.as_millisecond()).unwrap_or(0);
                // The random bits come from the thread's CSPRNG: `Uuid::new_v7` asks the
                // kernel (`getrandom`) for each id, a system call on every join.
                Self(uuid::Builder::from_unix_timestamp_millis(ms, &rand::random()).into_uuid())
            }

            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A company (tenant). Every user and everything users create belongs to exactly one.
    CompanyId
);
uuid_id!(
    /// A user account.
    UserId
);
uuid_id!(
    /// A server process of the installation (docs/scaling.md), new at every start.
    NodeId
);
uuid_id!(
    /// One scheduled meeting (FRTC `reservation_id`): a single meeting or one occurrence of a
    /// series.
    ScheduleId
);
uuid_id!(
    /// A recurring series (FRTC `recurrence_gid`).
    SeriesId
);
uuid_id!(
    /// A persistent meeting room (FRTC `meeting_room_id`).
    RoomId
);
uuid_id!(
    /// One holding of a meeting, from its first join to its end (FRTC live meeting, Rokid
    /// `meetingId`, Rocket.Chat `_id`, Telnyx `session_id`, Huawei `confUUID`).
    SessionId
);
uuid_id!(
    /// One participant's stay in a session, join to leave: the FRTC `client_uuid` the server
    /// assigns at join, Telnyx `participant_id`, one Huawei attendee record.
    AttendanceId
);
uuid_id!(
    /// A recording of a session (Telnyx room recording).
    RecordingId
);
uuid_id!(
    /// A company-scoped API key or Huawei app id/app key pair (history surfaces).
    ApiKeyId
);
uuid_id!(
    /// A webhook endpoint a company registered.
    WebhookId
);
uuid_id!(
    /// One webhook event (the Standard Webhooks `webhook-id`): the same id on every attempt
    /// and replay, so receivers can drop what they already processed.
    EventId
);

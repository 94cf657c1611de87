//! The audit log: every host and administrator action, with who did it, from which address,
//! to what, and when.
//!
//! An entry is written in the same transaction as the action (a host control with the running
//! meeting's durable batch, an administrative change with its store write), so the log has
//! every action that took effect and none that did not. No API changes or deletes an entry;
//! only retention removes the oldest (`docs/operations.md`, "Audit log").

use std::fmt;
use std::net::IpAddr;

use jiff::Timestamp;

use crate::error::{Field, ValidationError};
use crate::ids::{CompanyId, UserId};
use crate::schedule::MeetingNumber;

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in user (the username as it was then).
    User { id: UserId, username: String },
    /// The operator of the installation, through the offline command line (`plenum …`).
    Operator,
}

impl Actor {
    /// The name shown for the actor: the username, or `operator`.
    pub fn name(&self) -> &str {
        match self {
            Actor::User { username, .. } => username,
            Actor::Operator => OPERATOR,
        }
    }

    pub fn user(&self) -> Option<UserId> {
        match self {
            Actor::User { id, .. } => Some(*id),
            Actor::Operator => None,
        }
    }
}

/// The name of the [`Actor::Operator`].
pub const OPERATOR: &str = "operator";

macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// What was done. The names are stable (filters name them).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            $($(#[$doc])* $variant,)*
        }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }
        }
    };
}

actions! {
    MeetingMute = "meeting.mute",
    MeetingUnmute = "meeting.unmute",
    MeetingMuteAll = "meeting.mute_all",
    MeetingUnmuteAll = "meeting.unmute_all",
    MeetingAllowUnmute = "meeting.allow_unmute",
    MeetingDisconnect = "meeting.disconnect",
    MeetingDisconnectAll = "meeting.disconnect_all",
    MeetingLock = "meeting.lock",
    MeetingUnlock = "meeting.unlock",
    MeetingStop = "meeting.stop",
    MeetingRecordingStart = "meeting.recording_start",
    MeetingRecordingStop = "meeting.recording_stop",
    MeetingLiveStart = "meeting.live_start",
    MeetingLiveStop = "meeting.live_stop",
    MeetingOverlay = "meeting.overlay",
    MeetingLecturer = "meeting.lecturer",
    MeetingPin = "meeting.pin",
    MeetingLayout = "meeting.layout",
    MeetingRename = "meeting.rename",
    MeetingEndTime = "meeting.end_time",
    UserCreate = "user.create",
    UserUpdate = "user.update",
    /// An administrator set a user's password.
    UserPasswordReset = "user.password_reset",
    ApiKeyCreate = "api_key.create",
    ApiKeyRevoke = "api_key.revoke",
    CompanyCreate = "company.create",
    CompanyUpdate = "company.update",
    WebhookCreate = "webhook.create",
    WebhookDelete = "webhook.delete",
    WebhookRotateSecret = "webhook.rotate_secret",
    WebhookReplay = "webhook.replay",
}

impl Action {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == raw)
            .ok_or_else(|| {
                ValidationError::new(
                    Field::AuditAction,
                    format!(
                        "must be one of: {}",
                        Self::ALL
                            .iter()
                            .map(|a| a.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One action, as it is appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub company: CompanyId,
    pub actor: Actor,
    /// The address the request came from (behind a reverse proxy: the proxy's); `None` for
    /// the command line.
    pub address: Option<IpAddr>,
    pub action: Action,
    /// What it was done to: an id (`user:…`, `participant:…`, `webhook:…`, `api_key:…`,
    /// `company:…`) or `meeting:<number>`.
    pub target: String,
    /// The meeting it concerns, if any.
    pub meeting: Option<MeetingNumber>,
    /// What else describes it, as a JSON object (which participants, which fields changed);
    /// never a password, passcode, token or secret.
    pub details: String,
    pub at: Timestamp,
}

/// An entry as it is listed: with its place in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Increases with every entry of the installation.
    pub seq: u64,
    pub entry: AuditEntry,
}

/// Whose actions a list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorFilter {
    User(UserId),
    Operator,
}

impl ActorFilter {
    /// A user id, or `operator`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case(OPERATOR) {
            return Ok(Self::Operator);
        }
        raw.parse::<UserId>()
            .map(Self::User)
            .map_err(|_| ValidationError::new(Field::AuditActor, "must be a user id or `operator`"))
    }
}

/// What an audit list is narrowed to; every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<ActorFilter>,
    pub action: Option<Action>,
    pub meeting: Option<MeetingNumber>,
    /// From this instant on (inclusive).
    pub since: Option<Timestamp>,
    /// Before this instant (exclusive).
    pub until: Option<Timestamp>,
}

impl AuditFilter {
    /// Refuses a window that ends before it starts.
    pub fn check(&self) -> Result<(), ValidationError> {
        match (self.since, self.until) {
            (Some(since), Some(until)) if until < since => Err(ValidationError::breaks(
                crate::Rule::EndBeforeStart,
                Field::Until,
                "must not be before `since`",
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Ok(*a));
            assert!(seen.insert(a.as_str()));
        }
        assert_eq!(
            Action::parse("meeting.explode").map_err(|e| e.field),
            Err(Field::AuditAction)
        );
    }

    #[test]
    fn actors_are_users_or_the_operator() {
        let id = UserId::new(Timestamp::UNIX_EPOCH);
        assert_eq!(
            ActorFilter::parse(&id.to_string()),
            Ok(ActorFilter::User(id))
        );
        assert_eq!(ActorFilter::parse("Operator"), Ok(ActorFilter::Operator));
        assert!(ActorFilter::parse("alice").is_err());
        assert_eq!(Actor::Operator.name(), "operator");
    }

    #[test]
    fn a_window_may_not_end_before_it_starts() {
        let t = Timestamp::UNIX_EPOCH;
        let f = AuditFilter {
            since: Some(t + jiff::SignedDuration::from_secs(1)),
            until: Some(t),
            ..AuditFilter::default()
        };
        assert!(f.check().is_err());
        assert!(AuditFilter::default().check().is_ok());
    }
}

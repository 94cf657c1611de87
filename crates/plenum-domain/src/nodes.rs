//! Nodes and meeting leases: when several servers share one database (docs/scaling.md),
//! each running meeting lives on exactly one of them, the holder of its lease.
//!
//! A lease names the node and the address other nodes reach it at, and ends at an instant.
//! Its holder renews it (a heartbeat) well before then; a node that dies stops renewing, and
//! once the lease has ended another node may take the meeting. Time is an argument: the
//! rules below are pure.

use jiff::{SignedDuration, Timestamp};

use crate::ids::NodeId;
use crate::schedule::MeetingNumber;

/// A server of the installation, as the others reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRef {
    pub id: NodeId,
    /// Where the other nodes reach its HTTP listener (`http://10.0.0.2:7480`).
    pub address: String,
}

/// Who runs a meeting, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub meeting: MeetingNumber,
    pub holder: NodeRef,
    pub expires_at: Timestamp,
}

impl Lease {
    /// Whether the lease still holds at `now` (its holder may be presumed alive).
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }

    /// Whether `node` holds it at `now`.
    pub fn is_held_by(&self, node: NodeId, now: Timestamp) -> bool {
        self.holder.id == node && self.is_live(now)
    }
}

/// How long a lease lasts and how often it is renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTerms {
    /// A lease not renewed for this long ends: how long a dead node's meetings stay
    /// unreachable.
    pub ttl: SignedDuration,
}

impl LeaseTerms {
    /// Leases of 15 s, renewed every 5 s.
    pub const DEFAULT: LeaseTerms = LeaseTerms {
        ttl: SignedDuration::from_secs(15),
    };

    /// Renewed three times per term, so two missed heartbeats in a row still keep it.
    pub fn heartbeat(&self) -> SignedDuration {
        self.ttl / 3
    }

    /// When a lease taken or renewed at `now` ends.
    pub fn expiry(&self, now: Timestamp) -> Timestamp {
        now.checked_add(self.ttl).unwrap_or(Timestamp::MAX)
    }
}

impl Default for LeaseTerms {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).expect("an instant")
    }

    #[test]
    fn a_lease_holds_until_its_expiry_and_only_for_its_holder() {
        let terms = LeaseTerms::default();
        let a = NodeRef {
            id: NodeId::new(at(0)),
            address: "http://a".into(),
        };
        let lease = Lease {
            meeting: MeetingNumber::parse("5550001").expect("a number"),
            holder: a.clone(),
            expires_at: terms.expiry(at(0)),
        };
        assert!(lease.is_held_by(a.id, at(14)));
        assert!(!lease.is_live(at(15)));
        assert!(!lease.is_held_by(NodeId::new(at(1)), at(1)));
        assert_eq!(terms.heartbeat(), SignedDuration::from_secs(5));
    }
}

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

/// The fingerprint of a node's secret `name` (its app-key or link-signing key), which the
/// nodes compare through the database without the secret leaving their data directories.
pub fn secret_fingerprint(name: &str, secret: &[u8]) -> String {
    use crate::api_keys::{hex, hmac};
    hex(&hmac(
        secret,
        format!("plenum-secret-fingerprint-v1\n{name}").as_bytes(),
    ))
}

/// What a node relaying a join sends with the client's address, so that the node running
/// the meeting counts the client's wrong passwords, not the relay's: a MAC under the
/// installation's secret, which only its nodes hold.
pub fn vouch_for_client(secret: &[u8], client: &str) -> String {
    use crate::api_keys::{hex, hmac};
    hex(&hmac(
        secret,
        format!("plenum-relayed-for-v1\n{client}").as_bytes(),
    ))
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

    #[test]
    fn fingerprints_and_vouchers_depend_on_the_secret_and_what_they_name() {
        let (one, two) = ([1u8; 32], [2u8; 32]);
        assert_eq!(
            secret_fingerprint("app-key", &one),
            secret_fingerprint("app-key", &one)
        );
        assert_ne!(
            secret_fingerprint("app-key", &one),
            secret_fingerprint("app-key", &two)
        );
        assert_ne!(
            secret_fingerprint("app-key", &one),
            secret_fingerprint("links", &one)
        );
        assert_ne!(
            vouch_for_client(&one, "10.0.0.1"),
            vouch_for_client(&one, "10.0.0.2")
        );
        assert_ne!(
            vouch_for_client(&one, "10.0.0.1"),
            vouch_for_client(&two, "10.0.0.1")
        );
    }
}

//! Meeting leases (`plenum_domain::nodes`): which node runs which meeting, when several share
//! one database (docs/scaling.md). Every change is one statement or transaction, so two nodes
//! claiming one meeting at once leave exactly one holder.

use plenum_domain::Timestamp;
use plenum_domain::ids::NodeId;
use plenum_domain::nodes::{Lease, LeaseTerms, NodeRef};
use plenum_domain::schedule::MeetingNumber;

use crate::StoreResult;

#[async_trait::async_trait]
pub trait Leases {
    /// Takes the meeting for `node` if no live lease on it is another node's (a lease of
    /// `node`'s own is renewed); answers the meeting's lease after the claim, whoever holds
    /// it.
    async fn claim_meeting(
        &self,
        meeting: &MeetingNumber,
        node: &NodeRef,
        now: Timestamp,
        terms: LeaseTerms,
    ) -> StoreResult<Lease>;

    /// The heartbeat: extends every live lease `node` holds; answers the meetings it still
    /// holds. A meeting missing from the answer was lost (the lease ended and another node
    /// took it).
    async fn renew_leases(
        &self,
        node: NodeId,
        now: Timestamp,
        terms: LeaseTerms,
    ) -> StoreResult<Vec<MeetingNumber>>;

    /// Gives the meeting up (it ended on `node`); nothing if another node holds it.
    async fn release_meeting(&self, meeting: &MeetingNumber, node: NodeId) -> StoreResult<()>;

    /// The meeting's lease, live or not, if one was ever taken and not released.
    async fn meeting_lease(&self, meeting: &MeetingNumber) -> StoreResult<Option<Lease>>;

    /// The nodes holding a live lease at `now` (each once): where meetings run.
    async fn nodes_running_meetings(&self, now: Timestamp) -> StoreResult<Vec<NodeRef>>;

    /// What the nodes agree a secret of theirs is: the fingerprint of the secret `name`
    /// first offered (stored then), whatever is offered later. The secrets themselves stay
    /// in each node's data directory, out of the database; a node whose fingerprint differs
    /// holds another secret than the installation's.
    async fn secret_fingerprint(&self, name: &str, offered: &str) -> StoreResult<String>;
}

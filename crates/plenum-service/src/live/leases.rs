//! Running meetings on several nodes (docs/scaling.md): when this server is one node of
//! several on one database (`Policy::node`), each running meeting is leased to the node that
//! runs it. A node starts a meeting only once it holds the lease; while another node holds
//! a live one, joins and calls for the meeting are that node's (the HTTP layer relays them).
//!
//! The lease task renews this node's leases, gives up those of meetings no longer running
//! here, ends meetings whose lease was lost, and closes what dead nodes left open.

use tokio::task::JoinHandle;

use plenum_domain::live::{Command, EndReason};
use plenum_domain::nodes::NodeRef;
use plenum_domain::schedule::MeetingNumber;
use plenum_store::Abandon;

use super::*;
use crate::{Live, Plenum, ServiceError};

impl<'a> Live<'a> {
    /// The node that runs the meeting of `number`, when it is another one: a live lease
    /// not this node's. `None` on a server that is not one of several.
    pub(super) async fn held_elsewhere(
        &self,
        number: &MeetingNumber,
    ) -> Result<Option<NodeRef>, ServiceError> {
        let Some(me) = &self.inner.policy.node else {
            return Ok(None);
        };
        let lease = self.inner.store.meeting_lease(number).await?;
        Ok(lease
            .filter(|l| l.is_live(self.inner.now()) && l.holder.id != me.id)
            .map(|l| l.holder))
    }

    /// The other nodes running meetings now, on a node of several: where the rest of the
    /// installation's running meetings are. Empty on the only server.
    pub async fn other_nodes(&self) -> Result<Vec<NodeRef>, ServiceError> {
        let Some(me) = &self.inner.policy.node else {
            return Ok(Vec::new());
        };
        let mut nodes = self
            .inner
            .store
            .nodes_running_meetings(self.inner.now())
            .await?;
        nodes.retain(|n| n.id != me.id);
        Ok(nodes)
    }

    /// Takes the meeting's lease before this node starts it (its start gate held). When
    /// another node holds it, the join is that node's. What an earlier holder left open of
    /// the meeting is closed first: holding the lease, this node is the only one that can
    /// run it, so those sessions belong to a node that died or stalled past its lease.
    pub(super) async fn claim(&self, number: &MeetingNumber) -> Result<(), JoinError> {
        let Some(me) = &self.inner.policy.node else {
            return Ok(());
        };
        // Read first: a claim another node's live lease refuses still locks the lease's row,
        // so its commit waits for a WAL flush, once for every join relayed to the holder.
        if let Some(holder) = self.held_elsewhere(number).await? {
            return Err(JoinError::Elsewhere(holder));
        }
        let store = &self.inner.store;
        let lease = store
            .claim_meeting(number, me, self.inner.now(), self.inner.policy.lease_terms)
            .await
            .map_err(ServiceError::from)?;
        if lease.holder.id != me.id {
            return Err(JoinError::Elsewhere(lease.holder));
        }
        let closed = store
            .close_abandoned(EndReason::ServerShutdown.as_str(), Abandon::Meeting(number))
            .await
            .map_err(ServiceError::from)?;
        if closed.sessions > 0 {
            tracing::warn!(meeting = %number, sessions = closed.sessions,
                "closed what another node left open of this meeting");
        }
        Ok(())
    }

    /// Gives the meeting's lease up unless it runs here again (or is starting): taken
    /// under its start gate, so a start that claims it meanwhile keeps it.
    pub(super) async fn release_if_idle(&self, number: &MeetingNumber) {
        let Some(me) = &self.inner.policy.node else {
            return;
        };
        let gate = self.inner.live.start_gate(number);
        {
            let _held = gate.lock().await;
            if self.inner.live.running(number).is_none()
                && let Err(e) = self.inner.store.release_meeting(number, me.id).await
            {
                // It ends by itself once unrenewed.
                tracing::warn!(meeting = %number, error = %e, "could not give up a lease");
            }
        }
        self.inner.live.release_start_gate(number, gate);
    }
}

impl Plenum {
    /// Starts the lease task of a node (`Policy::node`); `None` on the only server. It
    /// runs until aborted, once per heartbeat (a third of the lease's term):
    /// - renews this node's leases; a meeting running here whose lease is gone (this node
    ///   stalled past it, and another may have taken it) is ended here;
    /// - gives up the leases of meetings that no longer run here;
    /// - closes the sessions of meetings no node holds a live lease on (their node died).
    pub fn start_leases(&self) -> Option<JoinHandle<()>> {
        let me = self.inner.policy.node.clone()?;
        let plenum = self.clone();
        let every = self
            .inner
            .policy
            .lease_terms
            .heartbeat()
            .unsigned_abs()
            .max(std::time::Duration::from_millis(100));
        Some(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                plenum.renew_leases(&me).await;
            }
        }))
    }

    async fn renew_leases(&self, me: &NodeRef) {
        let inner = &self.inner;
        let store = &inner.store;
        let now = inner.now();
        let held = match store
            .renew_leases(me.id, now, inner.policy.lease_terms)
            .await
        {
            Ok(held) => held,
            Err(e) => {
                // Nothing is known: the next beat tries again, well inside the term.
                tracing::warn!(error = %e, "could not renew this node's meeting leases");
                return;
            }
        };
        let live = self.live();
        for handle in inner.live.all() {
            if !held.contains(&handle.number) && !handle.mailbox.is_closed() {
                tracing::warn!(meeting = %handle.number,
                    "this node lost the meeting's lease; ending it here");
                let _ = handle.apply(Command::Shutdown).await;
            }
        }
        for number in &held {
            if inner.live.running(number).is_none() {
                live.release_if_idle(number).await;
            }
        }
        match store
            .close_abandoned(EndReason::ServerShutdown.as_str(), Abandon::Unleased(now))
            .await
        {
            Ok(closed) if closed.sessions + closed.attendance > 0 => {
                tracing::warn!(
                    sessions = closed.sessions,
                    attendance = closed.attendance,
                    "closed the meetings of a node that stopped renewing its leases"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not close what dead nodes left open"),
        }
    }
}

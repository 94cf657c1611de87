//! What the service reports to the metrics (`plenum-metrics` names them): the running
//! meetings, read from the live registry when they are scraped, and how joins end.

use plenum_metrics::live;

use crate::Live;
use crate::live::{JoinError, Joined};

impl Live<'_> {
    /// Sets the gauges of running meetings and their participants from the live registry:
    /// called when the metrics are scraped, so that joins and leaves pay nothing for them.
    pub fn report_gauges(&self) {
        let registry = &self.inner.live;
        live::running(registry.running_meetings(), registry.current_calls());
    }
}

/// Counts a join by its outcome: joined, the refusal's reason code, or error.
pub(crate) fn count_join(joined: &Result<Joined, JoinError>) {
    live::join(match joined {
        Ok(_) => live::JOINED,
        Err(JoinError::Refused(refusal)) => refusal.code(),
        Err(JoinError::Service(_)) => live::JOIN_FAILED,
        // Relayed to the node that runs the meeting, which counts it.
        Err(JoinError::Elsewhere(_)) => return,
    });
}

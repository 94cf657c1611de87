//! The registry of running meetings: which task holds which number, and the installation's
//! calls.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use plenum_domain::ids::{CompanyId, SessionId, UserId};
use plenum_domain::live::Command;
use plenum_domain::schedule::MeetingNumber;

use super::*;
use crate::{Plenum, ServiceError};

#[derive(Debug, Default)]
pub(crate) struct Registry {
    meetings: Mutex<HashMap<MeetingNumber, MeetingHandle>>,
    /// Meetings being started, so that one join starts each.
    starting: Mutex<HashMap<MeetingNumber, Arc<tokio::sync::Mutex<()>>>>,
    /// Participants in all meetings: the installation's current calls.
    calls: AtomicU32,
}

impl Registry {
    /// The meeting of this number if it is running and takes messages.
    pub(super) fn running(&self, number: &MeetingNumber) -> Option<MeetingHandle> {
        self.lock()
            .get(number)
            .filter(|h| !h.mailbox.is_closed())
            .cloned()
    }

    pub(super) fn start_gate(&self, number: &MeetingNumber) -> Arc<tokio::sync::Mutex<()>> {
        self.starting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(number.clone())
            .or_default()
            .clone()
    }

    /// Forgets the gate once nobody else holds it.
    pub(super) fn release_start_gate(
        &self,
        number: &MeetingNumber,
        gate: Arc<tokio::sync::Mutex<()>>,
    ) {
        let mut starting = self
            .starting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Ours and the map's: nobody is waiting.
        if Arc::strong_count(&gate) <= 2 {
            starting.remove(number);
        }
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<MeetingNumber, MeetingHandle>> {
        self.meetings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a started meeting unless another start won the race; returns the handle
    /// to use.
    pub(super) fn insert_or_existing(&self, handle: MeetingHandle) -> MeetingHandle {
        let mut meetings = self.lock();
        match meetings.get(&handle.number) {
            Some(existing) if !existing.mailbox.is_closed() => existing.clone(),
            _ => {
                meetings.insert(handle.number.clone(), handle.clone());
                handle
            }
        }
    }

    pub(super) fn remove(&self, number: &MeetingNumber, session: SessionId) {
        let mut meetings = self.lock();
        if meetings.get(number).is_some_and(|h| h.session == session) {
            meetings.remove(number);
        }
    }

    /// The running meeting whose live stream is watched at `/live/{live_id}`.
    pub(super) fn by_live_id(&self, live_id: &str) -> Option<MeetingHandle> {
        self.lock()
            .values()
            .find(|h| &*h.live_id == live_id)
            .cloned()
    }

    pub(super) fn all(&self) -> Vec<MeetingHandle> {
        self.lock().values().cloned().collect()
    }

    /// Meetings running now (taking messages).
    pub(crate) fn running_meetings(&self) -> usize {
        self.lock()
            .values()
            .filter(|h| !h.mailbox.is_closed())
            .count()
    }

    pub(crate) fn current_calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Takes a call slot if fewer than `max` are in use.
    pub(super) fn take_call(&self, max: u32) -> bool {
        self.calls
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }

    pub(super) fn release_call(&self) {
        self.calls.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Debug, Clone)]
pub(super) struct MeetingHandle {
    pub(super) number: MeetingNumber,
    pub(super) session: SessionId,
    pub(super) company: CompanyId,
    pub(super) owner: UserId,
    pub(super) invitees: Arc<[UserId]>,
    pub(super) mailbox: mpsc::Sender<Message>,
    pub(super) summary: Arc<Mutex<MeetingSummary>>,
    /// The meeting's media task, when the server carries media.
    pub(super) media: Option<MediaHandle>,
    /// The last segment of its `live_url`: the watch page's address.
    pub(super) live_id: Arc<str>,
}

impl MeetingHandle {
    pub(super) async fn send(&self, message: Message) -> bool {
        self.mailbox.send(message).await.is_ok()
    }

    /// A host's control by `actor`: its audit entry is written with the change, and only if
    /// the change is made.
    pub(super) async fn control(
        &self,
        actor: crate::Actor<'_>,
        command: Command,
        now: jiff::Timestamp,
    ) -> Result<(), ServiceError> {
        let Some((action, target, details)) =
            crate::webhooks::events::control_audit(&command, &self.number)
        else {
            return self.apply(command).await;
        };
        let audit = actor.audit(action, target, Some(self.number.clone()), details, now);
        let (reply, answer) = oneshot::channel();
        if !self
            .send(Message::Control {
                command,
                audit: Box::new(audit),
                reply,
            })
            .await
        {
            return Err(ServiceError::MeetingNotRunning);
        }
        answer.await.unwrap_or(Err(ServiceError::MeetingNotRunning))
    }

    pub(super) async fn apply(&self, command: Command) -> Result<(), ServiceError> {
        let (reply, answer) = oneshot::channel();
        if !self
            .send(Message::Apply {
                command,
                reply: Some(reply),
            })
            .await
        {
            return Err(ServiceError::MeetingNotRunning);
        }
        answer.await.unwrap_or(Err(ServiceError::MeetingNotRunning))
    }

    pub(super) fn summary(&self) -> MeetingSummary {
        self.summary
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// One of the installation's `max_calls`, held from a join until the participant is out
/// (or the join failed). Dropping it gives it back, whatever path the join took.
#[derive(Debug)]
pub(super) struct CallSlot(Plenum);

impl CallSlot {
    pub(super) fn take(plenum: &Plenum) -> Option<Self> {
        plenum
            .inner
            .live
            .take_call(plenum.inner.policy.max_calls)
            .then(|| Self(plenum.clone()))
    }
}

impl Drop for CallSlot {
    fn drop(&mut self) {
        self.0.inner.live.release_call();
    }
}

//! The task of one running meeting.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot};

use plenum_domain::history::{Attendance, MediaType, Session};
use plenum_domain::ids::{AttendanceId, RecordingId};
use plenum_domain::live::{
    Audience, Command, ControlError, EndReason, Event, JoinRefusal, JoinRequest, LeaveReason,
    LiveMeeting, Outcome, ViewRule,
};
use plenum_store::LiveWrite;

use super::egress::{LivePlan, RecordingPlan};
use super::*;
use crate::webhooks::events;
use crate::{Plenum, ServiceError};
pub(super) enum Message {
    Join {
        request: Box<JoinRequest>,
        outbox: Outbox,
        reply: oneshot::Sender<JoinReply>,
    },
    Apply {
        command: Command,
        reply: Option<oneshot::Sender<Result<(), ServiceError>>>,
    },
    /// A host's control, with its audit entry (written with the change, if it is made).
    Control {
        command: Command,
        audit: Box<plenum_domain::audit::AuditEntry>,
        reply: oneshot::Sender<Result<(), ServiceError>>,
    },
    Snapshot {
        reply: oneshot::Sender<MeetingSnapshot>,
    },
    /// The RTMP ingest the live stream started next pushes to (sent just before its
    /// `StartLive`; kept out of the domain and the record: its URL holds a stream key).
    Rtmp(Option<String>),
}

pub(super) enum JoinReply {
    Joined(Box<MeetingSnapshot>),
    Refused(JoinRefusal),
    /// The meeting ended while the join was on its way: start it again.
    Ended,
    Failed(ServiceError),
}

pub(super) fn control_error(e: ControlError) -> ServiceError {
    match e {
        ControlError::UnknownParticipant(id) => ServiceError::ParticipantNotFound(id.to_string()),
        ControlError::Ended => ServiceError::MeetingNotRunning,
        ControlError::UnmuteNotAllowed => ServiceError::UnmuteNotAllowed,
        ControlError::NotMuted => ServiceError::NotMuted,
        ControlError::AlreadyRecording => ServiceError::AlreadyRecording,
        ControlError::NotRecording => ServiceError::NotRecording,
        ControlError::AlreadyLive => ServiceError::AlreadyLive,
        ControlError::NotLive => ServiceError::NotLive,
        ControlError::Invalid(v) => ServiceError::Invalid(v),
    }
}

// --- the task of one running meeting -------------------------------------------------------

/// The most messages applied before their record is written in one go.
pub(super) const MAX_BATCH: usize = 512;

pub(super) struct Actor {
    pub(super) plenum: Plenum,
    pub(super) meeting: LiveMeeting,
    /// The clients of the joined participants, each with the call it holds.
    pub(super) outboxes: HashMap<AttendanceId, (Outbox, CallSlot)>,
    /// Participants who are hosts (they hear unmute requests).
    pub(super) hosts: Vec<AttendanceId>,
    pub(super) seq: u64,
    /// Whether the session row exists: it is written with the first successful join, so a
    /// meeting nobody got into leaves no trace.
    pub(super) session_recorded: bool,
    pub(super) last_seen_recorded: Timestamp,
    pub(super) summary: Arc<Mutex<MeetingSummary>>,
    /// The meeting's media task, when the server carries media.
    pub(super) media: Option<MediaHandle>,
    /// What the media task was last told of each admitted participant.
    pub(super) media_seen: HashMap<AttendanceId, MediaSeen>,
    /// The recording set started by the last `RecordingChanged`, until the media task is
    /// told; then what it was told (`Some` while recording).
    pub(super) recording: Egressing<RecordingPlan>,
    /// The live stream, likewise (with the RTMP ingest of its start).
    pub(super) live: Egressing<LivePlan>,
    /// The RTMP ingest for the next live start.
    pub(super) rtmp_next: Option<String>,
    /// Whether this holding was recorded.
    pub(super) recorded: bool,
}

/// What the media task should be told of a recording or stream, and whether it was.
#[derive(Debug)]
pub(super) struct Egressing<T> {
    pub(super) wanted: Option<T>,
    pub(super) told: bool,
}

impl<T> Default for Egressing<T> {
    fn default() -> Self {
        Self {
            wanted: None,
            told: true,
        }
    }
}

impl<T: Clone> Egressing<T> {
    fn set(&mut self, wanted: Option<T>) {
        self.wanted = wanted;
        self.told = false;
    }

    /// What to tell the media task, once.
    fn take_news(&mut self) -> Option<Option<T>> {
        if self.told {
            return None;
        }
        self.told = true;
        Some(self.wanted.clone())
    }
}

/// What the media task knows of one participant: sent again only when it changes.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct MediaSeen {
    forwarding: (bool, bool),
    /// `None` until the first rule is sent.
    view: Option<ViewRule>,
}

/// What to do, after the batch is durable, for one message of it.
pub(super) enum After {
    Joined {
        id: AttendanceId,
        host: bool,
        outbox: Outbox,
        slot: CallSlot,
        snapshot: Box<MeetingSnapshot>,
        reply: oneshot::Sender<JoinReply>,
    },
    JoinReply(oneshot::Sender<JoinReply>, JoinReply),
    Applied(
        Option<oneshot::Sender<Result<(), ServiceError>>>,
        Result<(), ServiceError>,
    ),
    Snapshot(oneshot::Sender<MeetingSnapshot>, Box<MeetingSnapshot>),
    Push(Arc<Pushed>),
}

impl Actor {
    pub(super) async fn run(mut self, mut inbox: mpsc::Receiver<Message>) {
        let period = self.plenum.inner.policy.live.tick_interval;
        let mut next_tick = tokio::time::Instant::now() + period;
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut follow_ups: Vec<Command> = Vec::new();
        loop {
            batch.clear();
            if follow_ups.is_empty() {
                // Messages first: a heartbeat already sent is applied before the tick that
                // would otherwise count its sender as silent.
                tokio::select! {
                    biased;
                    received = inbox.recv_many(&mut batch, MAX_BATCH) => {
                        if received == 0 {
                            // Every handle is gone: nobody can reach the meeting any more.
                            batch.push(Message::Apply { command: Command::Shutdown, reply: None });
                        }
                    }
                    () = tokio::time::sleep_until(next_tick) => {}
                }
            }
            batch.extend(follow_ups.drain(..).map(|command| Message::Apply {
                command,
                reply: None,
            }));
            // The tick comes after the batch's messages, and is never starved by a busy
            // mailbox.
            if tokio::time::Instant::now() >= next_tick {
                next_tick = tokio::time::Instant::now() + period;
                batch.push(Message::Apply {
                    command: Command::Tick,
                    reply: None,
                });
            }
            let now = self.plenum.now();
            let mut writes = Vec::new();
            let mut after = Vec::new();
            for message in batch.drain(..) {
                self.handle(message, now, &mut writes, &mut after);
            }
            if now.duration_since(self.last_seen_recorded)
                >= self.plenum.inner.policy.live.seen_interval
                && self.session_recorded
                && self.meeting.ended().is_none()
            {
                self.last_seen_recorded = now;
                writes.push(LiveWrite::SessionSeen {
                    session: self.meeting.setup().session,
                    at: now,
                    peak_participants: self.meeting.peak_participants(),
                });
            }
            let told = writes.iter().any(|w| matches!(w, LiveWrite::Outbox(_)));
            let durable = self.plenum.inner.store.record_live(writes).await;
            if told && durable.is_ok() {
                self.plenum.inner.deliveries.wake();
            }
            if let Err(e) = &durable {
                tracing::error!(error = %e, meeting = %self.meeting.setup().number, "live record not written; ending the meeting");
            }
            self.deliver(after, durable.is_ok(), &mut follow_ups);
            self.sync_media();
            self.update_summary();
            // A record that could not be written ends the meeting, as its end does.
            if durable.is_err() || self.meeting.ended().is_some() {
                self.finish(&mut inbox);
                break;
            }
        }
    }

    pub(super) fn handle(
        &mut self,
        message: Message,
        now: Timestamp,
        writes: &mut Vec<LiveWrite>,
        after: &mut Vec<After>,
    ) {
        match message {
            Message::Snapshot { reply } => {
                after.push(After::Snapshot(reply, Box::new(self.snapshot())))
            }
            Message::Rtmp(url) => self.rtmp_next = url,
            Message::Join {
                mut request,
                outbox,
                reply,
            } => {
                if self.meeting.ended().is_some() {
                    after.push(After::JoinReply(reply, JoinReply::Ended));
                    return;
                }
                let id = request.id;
                let host = request.identity.is_host();
                // The call is taken here, where the meeting decides: its own refusals come
                // before the server's `max_calls` (the meeting's state machine orders them).
                let slot = CallSlot::take(&self.plenum);
                if slot.is_none() {
                    request.server_full = Some(self.plenum.inner.policy.max_calls);
                }
                match (self.meeting.apply(Command::Join(request), now), slot) {
                    (Outcome::Applied(events), Some(slot)) => {
                        self.record(events, now, writes, after);
                        after.push(After::Joined {
                            id,
                            host,
                            outbox,
                            slot,
                            snapshot: Box::new(self.snapshot()),
                            reply,
                        });
                    }
                    (Outcome::Applied(events), None) => {
                        // The state machine refuses a join marked `server_full`; should it
                        // ever admit one, the participant is taken out again at once.
                        self.record(events, now, writes, after);
                        after.push(After::JoinReply(
                            reply,
                            JoinReply::Refused(JoinRefusal::ServerFull {
                                max: self.plenum.inner.policy.max_calls,
                            }),
                        ));
                        let leave = Command::Leave {
                            participant: id,
                            reason: LeaveReason::ConnectionClosed,
                        };
                        if let Outcome::Applied(events) = self.meeting.apply(leave, now) {
                            self.record(events, now, writes, after);
                        }
                    }
                    (Outcome::JoinRefused(r), _) => {
                        after.push(After::JoinReply(reply, JoinReply::Refused(r)))
                    }
                    (Outcome::Refused(e), _) => {
                        after.push(After::JoinReply(reply, JoinReply::Failed(control_error(e))))
                    }
                }
            }
            Message::Apply { command, reply } => {
                let result = match self.meeting.apply(command, now) {
                    Outcome::Applied(events) => {
                        self.record(events, now, writes, after);
                        Ok(())
                    }
                    Outcome::Refused(e) => Err(control_error(e)),
                    Outcome::JoinRefused(_) => Err(ServiceError::MeetingNotRunning),
                };
                after.push(After::Applied(reply, result));
            }
            Message::Control {
                command,
                audit,
                reply,
            } => {
                let result = match self.meeting.apply(command, now) {
                    Outcome::Applied(events) => {
                        writes.push(LiveWrite::Audit(audit));
                        self.record(events, now, writes, after);
                        Ok(())
                    }
                    Outcome::Refused(e) => Err(control_error(e)),
                    Outcome::JoinRefused(_) => Err(ServiceError::MeetingNotRunning),
                };
                after.push(After::Applied(Some(reply), result));
            }
        }
    }

    /// Turns events into record writes and pushes to make once they are durable.
    pub(super) fn record(
        &mut self,
        events: Vec<Event>,
        now: Timestamp,
        writes: &mut Vec<LiveWrite>,
        after: &mut Vec<After>,
    ) {
        let setup = self.meeting.setup();
        for event in events {
            self.seq += 1;
            // What the media task is to be told of recording and streaming (once the batch
            // is durable); nothing while nobody got in (there is no session to record).
            if self.session_recorded {
                match &event {
                    Event::RecordingChanged { recording, .. } => {
                        let plan = recording.then(|| RecordingPlan {
                            company: setup.company,
                            session: setup.session,
                            number: setup.number.clone(),
                            meeting_recording: RecordingId::new(now),
                            started_at: now,
                        });
                        if let Some(plan) = &plan {
                            self.recorded = true;
                            // The set's meeting recording is in the record when the start
                            // is acknowledged.
                            let row = plan.meeting_row();
                            writes.push(LiveWrite::Outbox(Box::new(events::recording_started(
                                &row,
                                &setup.number,
                            ))));
                            writes.push(LiveWrite::RecordingStarted(Box::new(row)));
                        }
                        self.recording.set(plan);
                    }
                    Event::LiveChanged { live } => {
                        let plan = live.as_ref().map(|_| LivePlan {
                            rtmp: self.rtmp_next.take(),
                        });
                        self.live.set(plan);
                    }
                    _ => {}
                }
            }
            if let (
                Event::EndTimeChanged {
                    end_time: Some(end),
                },
                Some(schedule),
            ) = (&event, setup.schedule)
            {
                writes.push(LiveWrite::ScheduleEndMoved {
                    schedule,
                    started: self.meeting.started_at(),
                    end: *end,
                    at: now,
                });
            }
            match &event {
                Event::ParticipantJoined { participant } => {
                    if !self.session_recorded {
                        self.session_recorded = true;
                        let session = Session {
                            id: setup.session,
                            company: setup.company,
                            meeting_number: setup.number.clone(),
                            name: setup.name.clone(),
                            owner: setup.owner,
                            room: setup.room,
                            schedule: setup.schedule,
                            started_at: self.meeting.started_at(),
                            ended_at: None,
                            peak_participants: 0,
                            invitees: setup.invitees.clone(),
                        };
                        writes.push(LiveWrite::Outbox(Box::new(events::meeting_started(
                            &session,
                        ))));
                        writes.push(LiveWrite::SessionStarted(Box::new(session)));
                    }
                    let attendance = Attendance {
                        id: participant.id,
                        session: setup.session,
                        user: participant.identity.user(),
                        display_name: participant.display_name.clone(),
                        call_number: participant.call_number.clone(),
                        device_type: participant.device_type,
                        media_type: participant.media_type,
                        department: participant.department.clone(),
                        joined_at: participant.joined_at,
                        left_at: None,
                    };
                    writes.push(LiveWrite::Outbox(Box::new(events::participant_joined(
                        &attendance,
                        setup,
                        now,
                    ))));
                    writes.push(LiveWrite::Joined(Box::new(attendance)));
                }
                Event::ParticipantLeft {
                    client_uuid,
                    reason,
                    left_at,
                } => {
                    writes.push(LiveWrite::Left {
                        attendance: *client_uuid,
                        at: *left_at,
                        reason: reason.as_str(),
                    });
                    writes.extend(
                        events::meeting_change(&event, setup, now)
                            .map(|e| LiveWrite::Outbox(Box::new(e))),
                    );
                }
                Event::MeetingEnded { reason, .. } => {
                    if self.session_recorded {
                        let ended_at = match reason {
                            EndReason::EndTimeReached => setup_end(&self.meeting, now),
                            _ => now,
                        };
                        let peak = self.meeting.peak_participants();
                        writes.push(LiveWrite::SessionEnded {
                            session: setup.session,
                            at: ended_at,
                            reason: reason.as_str(),
                            peak_participants: peak,
                        });
                        writes.push(LiveWrite::Outbox(Box::new(events::meeting_ended(
                            setup,
                            reason.as_str(),
                            ended_at,
                            peak,
                            now,
                        ))));
                    }
                }
                other => {
                    if self.session_recorded {
                        writes.push(LiveWrite::Event {
                            session: setup.session,
                            seq: self.seq,
                            at: now,
                            kind: other.kind(),
                            data: serde_json::to_string(other).unwrap_or_default(),
                        });
                        writes.extend(
                            events::meeting_change(other, setup, now)
                                .map(|e| LiveWrite::Outbox(Box::new(e))),
                        );
                    }
                }
            }
            after.push(After::Push(Arc::new(Pushed::new(self.seq, now, event))));
        }
    }

    /// After the batch's record is durable (or failed): answers and pushes, in order.
    pub(super) fn deliver(
        &mut self,
        after: Vec<After>,
        durable: bool,
        follow_ups: &mut Vec<Command>,
    ) {
        for step in after {
            match step {
                After::Joined {
                    id,
                    host,
                    outbox,
                    slot,
                    snapshot,
                    reply,
                } => {
                    if !durable {
                        let _ = reply.send(JoinReply::Failed(ServiceError::internal(
                            std::io::Error::other("the join could not be recorded"),
                        )));
                        continue;
                    }
                    // Into the media task before the joiner hears `joined`: its `publish` may
                    // follow at once, and must find it there.
                    self.admit_to_media(id, &outbox);
                    if reply.send(JoinReply::Joined(snapshot)).is_ok() {
                        self.outboxes.insert(id, (outbox, slot));
                        if host {
                            self.hosts.push(id);
                        }
                    } else {
                        // The joiner is gone before hearing back: they leave again.
                        follow_ups.push(Command::Leave {
                            participant: id,
                            reason: LeaveReason::ConnectionClosed,
                        });
                    }
                }
                After::JoinReply(reply, answer) => {
                    let _ = reply.send(answer);
                }
                After::Applied(reply, result) => {
                    if let Some(reply) = reply {
                        let result = if durable {
                            result
                        } else {
                            Err(ServiceError::internal(std::io::Error::other(
                                "the change could not be recorded",
                            )))
                        };
                        let _ = reply.send(result);
                    }
                }
                After::Snapshot(reply, snapshot) => {
                    let _ = reply.send(*snapshot);
                }
                After::Push(pushed) if durable => self.push(pushed, follow_ups),
                After::Push(..) => {}
            }
        }
    }

    pub(super) fn push(&mut self, pushed: Arc<Pushed>, follow_ups: &mut Vec<Command>) {
        let delivery = Delivery::Event(pushed.clone());
        let event = &pushed.event;
        let mut send = |id: AttendanceId, outbox: &Outbox| {
            if outbox.try_send(delivery.clone()).is_err() {
                // Full (too slow) or closed (gone): either way the participant is out.
                let reason = if outbox.is_closed() {
                    LeaveReason::ConnectionClosed
                } else {
                    LeaveReason::TooSlow
                };
                follow_ups.push(Command::Leave {
                    participant: id,
                    reason,
                });
            }
        };
        match event.audience() {
            Audience::Everyone => {
                for (id, (outbox, _)) in &self.outboxes {
                    send(*id, outbox);
                }
            }
            Audience::Only(id) => {
                if let Some((outbox, _)) = self.outboxes.get(&id) {
                    send(id, outbox);
                }
            }
            Audience::Hosts { about } => {
                let about_is_host = self.hosts.contains(&about);
                let others = (!about_is_host).then_some(about);
                for id in self.hosts.iter().copied().chain(others) {
                    if let Some((outbox, _)) = self.outboxes.get(&id) {
                        send(id, outbox);
                    }
                }
            }
        }
        if let Event::ParticipantLeft {
            client_uuid,
            reason,
            ..
        } = event
            && !matches!(
                reason,
                LeaveReason::MeetingEnded | LeaveReason::ServerShutdown
            )
        {
            // They heard about their own leave (its reason); nothing more goes to them, and
            // their call is given back. (When the meeting ends, they hear that too first.)
            self.outboxes.remove(client_uuid);
            self.hosts.retain(|h| h != client_uuid);
        }
    }

    /// Tells the media task what changed: who is out, whose audio and video may be forwarded,
    /// and what decides whose video each viewer is sent (the media task, which knows who
    /// sends video, decides it and tells the viewer).
    pub(super) fn sync_media(&mut self) {
        let Some(media) = &self.media else {
            return;
        };
        if let Some(plan) = self.recording.take_news() {
            media.send(MediaControl::Record(plan));
        }
        if let Some(plan) = self.live.take_news() {
            media.send(MediaControl::Live(plan));
        }
        let outboxes = &self.outboxes;
        self.media_seen.retain(|id, _| {
            let stays = outboxes.contains_key(id);
            if !stays {
                media.send(MediaControl::Depart(*id));
            }
            stays
        });
        for id in outboxes.keys() {
            let (Some(p), Some(seen)) =
                (self.meeting.participant(*id), self.media_seen.get_mut(id))
            else {
                continue;
            };
            let forwarding = media_forwarding(p);
            if seen.forwarding != forwarding {
                seen.forwarding = forwarding;
                media.send(MediaControl::Forwarding {
                    participant: *id,
                    audio: forwarding.0,
                    video: forwarding.1,
                });
            }
            let rule = self.meeting.view_rule(*id);
            if let Some(rule) = rule
                && seen.view != Some(rule)
            {
                seen.view = Some(rule);
                media.send(MediaControl::View { viewer: *id, rule });
            }
        }
    }

    /// Admits a participant whose join is durable to the media task, with what it may
    /// forward from the start (a participant muted upon entry is never heard).
    fn admit_to_media(&mut self, id: AttendanceId, outbox: &Outbox) {
        let (Some(media), Some(p)) = (&self.media, self.meeting.participant(id)) else {
            return;
        };
        let forwarding = media_forwarding(p);
        media.send(MediaControl::Admit {
            participant: id,
            receive_video: p.media_type != MediaType::Audio,
            audio: forwarding.0,
            video: forwarding.1,
            outbox: outbox.clone(),
        });
        self.media_seen.insert(
            id,
            MediaSeen {
                forwarding,
                view: None,
            },
        );
    }

    /// The meeting as it is now, with its viewer count (which the media task keeps in the
    /// summary).
    fn snapshot(&self) -> MeetingSnapshot {
        let mut snapshot = MeetingSnapshot::of(&self.meeting, self.seq);
        snapshot.viewers = self
            .summary
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .viewers;
        snapshot.recorded = self.recorded;
        snapshot
    }

    pub(super) fn update_summary(&self) {
        let mut summary = self
            .summary
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        summary.locked = self.meeting.locked();
        summary.participants = self.outboxes.len() as u32;
    }

    /// The meeting ended: later messages get "ended" (joins start the meeting again).
    pub(super) fn finish(&mut self, inbox: &mut mpsc::Receiver<Message>) {
        let setup = self.meeting.setup();
        self.plenum.inner.live.remove(&setup.number, setup.session);
        if self.plenum.inner.policy.node.is_some() {
            let (plenum, number) = (self.plenum.clone(), setup.number.clone());
            tokio::spawn(async move { plenum.live().release_if_idle(&number).await });
        }
        if let Some(media) = &self.media {
            media.send(MediaControl::Close);
        }
        inbox.close();
        while let Ok(message) = inbox.try_recv() {
            match message {
                Message::Join { reply, .. } => {
                    let _ = reply.send(JoinReply::Ended);
                }
                Message::Apply { reply, .. } => {
                    if let Some(reply) = reply {
                        let _ = reply.send(Err(ServiceError::MeetingNotRunning));
                    }
                }
                Message::Control { reply, .. } => {
                    let _ = reply.send(Err(ServiceError::MeetingNotRunning));
                }
                Message::Snapshot { .. } | Message::Rtmp(_) => {}
            }
        }
        // Anyone still registered (their leave was not durable) no longer holds a call.
        self.outboxes.clear();
    }
}

/// Whether a participant's audio and video may be forwarded: not what they or a host muted,
/// and no video from one who joined for audio only.
fn media_forwarding(p: &plenum_domain::live::Participant) -> (bool, bool) {
    (
        !p.mute_audio,
        p.media_type != MediaType::Audio && !p.mute_video,
    )
}

/// When a meeting that ran into its end time ended: the end time itself.
pub(super) fn setup_end(meeting: &LiveMeeting, now: Timestamp) -> Timestamp {
    meeting.end_time().map_or(now, |end| end.min(now))
}

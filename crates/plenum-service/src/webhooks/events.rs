//! The webhook events of the service's changes, and the audit entries of host controls:
//! built where the change is made, written with it (docs/webhooks.md lists the payloads).

use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;

use plenum_domain::audit::Action;
use plenum_domain::history::{Attendance, Recording, Session};
use plenum_domain::ids::{AttendanceId, CompanyId, SeriesId};
use plenum_domain::live::{Command, Event, MeetingSetup};
use plenum_domain::schedule::{MeetingNumber, Schedule, Series};
use plenum_domain::user::User;
use plenum_domain::webhooks::{EventType, OutboxEvent, data, rfc3339_ms};
use plenum_store::RecordingEnd;

/// `meeting.started`, when a session's first participant got in.
pub(crate) fn meeting_started(session: &Session) -> OutboxEvent {
    OutboxEvent::new(
        EventType::MeetingStarted,
        session.started_at,
        session.company,
        Some(session.meeting_number.clone()),
        &data::MeetingStarted::of(session),
    )
}

/// `participant.joined`.
pub(crate) fn participant_joined(
    attendance: &Attendance,
    setup: &MeetingSetup,
    at: Timestamp,
) -> OutboxEvent {
    OutboxEvent::new(
        EventType::ParticipantJoined,
        at,
        setup.company,
        Some(setup.number.clone()),
        &data::ParticipantJoined::of(attendance, &setup.number),
    )
}

/// `meeting.ended`.
pub(crate) fn meeting_ended(
    setup: &MeetingSetup,
    reason: &str,
    ended_at: Timestamp,
    peak: u32,
    at: Timestamp,
) -> OutboxEvent {
    OutboxEvent::new(
        EventType::MeetingEnded,
        at,
        setup.company,
        Some(setup.number.clone()),
        &data::MeetingEnded {
            session_id: setup.session.to_string(),
            meeting_number: setup.number.as_str(),
            reason,
            ended_at: rfc3339_ms(ended_at),
            peak_participants: peak,
        },
    )
}

/// The event of any other change of a running meeting (`None` for those no webhook tells:
/// a participant's own view, an unmute request, recording on or off, which the recordings'
/// own events tell).
pub(crate) fn meeting_change(
    event: &Event,
    setup: &MeetingSetup,
    at: Timestamp,
) -> Option<OutboxEvent> {
    let change = |kind: EventType, change: &dyn erased::Change| {
        Some(OutboxEvent::new(
            kind,
            at,
            setup.company,
            Some(setup.number.clone()),
            &data::MeetingChange {
                session_id: setup.session.to_string(),
                meeting_number: setup.number.as_str(),
                change: erased::Json(change),
            },
        ))
    };
    match event {
        Event::ParticipantLeft {
            client_uuid,
            reason,
            left_at,
        } => Some(OutboxEvent::new(
            EventType::ParticipantLeft,
            at,
            setup.company,
            Some(setup.number.clone()),
            &data::ParticipantLeft {
                session_id: setup.session.to_string(),
                meeting_number: setup.number.as_str(),
                participant_id: client_uuid.to_string(),
                reason: reason.as_str(),
                left_at: rfc3339_ms(*left_at),
            },
        )),
        Event::LockChanged { locked: true } => change(EventType::MeetingLocked, event),
        Event::LockChanged { locked: false } => change(EventType::MeetingUnlocked, event),
        Event::AllMuted { .. } => change(EventType::MeetingMutedAll, event),
        Event::AllUnmuted => change(EventType::MeetingUnmutedAll, event),
        Event::MuteChanged { .. } => change(EventType::ParticipantMuteChanged, event),
        Event::UnmuteAllowed { .. } => change(EventType::ParticipantUnmuteAllowed, event),
        Event::ParticipantRenamed { .. } => change(EventType::ParticipantRenamed, event),
        Event::LecturerChanged { .. } => change(EventType::MeetingLecturerChanged, event),
        Event::MeetingPinChanged { .. } => change(EventType::MeetingPinChanged, event),
        Event::OverlayChanged { .. } => change(EventType::MeetingOverlayChanged, event),
        Event::EndTimeChanged { .. } => change(EventType::MeetingEndTimeChanged, event),
        // The stream's URL, never its passcode.
        Event::LiveChanged { live: Some(live) } => change(
            EventType::LiveStarted,
            &json!({"type": "live_changed", "live": true, "live_url": live.url}),
        ),
        Event::LiveChanged { live: None } => change(
            EventType::LiveStopped,
            &json!({"type": "live_changed", "live": false}),
        ),
        Event::ParticipantJoined { .. }
        | Event::MeetingEnded { .. }
        | Event::RecordingChanged { .. }
        | Event::UnmuteRequested { .. }
        | Event::ParticipantPinChanged { .. }
        | Event::LayoutChanged { .. } => None,
    }
}

/// `recording.started`: a recording's row was written (`processing`).
pub(crate) fn recording_started(recording: &Recording, number: &MeetingNumber) -> OutboxEvent {
    OutboxEvent::new(
        EventType::RecordingStarted,
        recording.started_at,
        recording.company,
        Some(number.clone()),
        &data::RecordingData::of(recording, number),
    )
}

/// What a recording's end event says of the recording besides its end.
#[derive(Debug, Clone)]
pub(crate) struct RecordingOf {
    pub(crate) company: CompanyId,
    pub(crate) session: plenum_domain::ids::SessionId,
    pub(crate) number: MeetingNumber,
}

/// `recording.completed` or `recording.failed`.
pub(crate) fn recording_ended(end: &RecordingEnd, of: &RecordingOf) -> OutboxEvent {
    #[derive(Serialize)]
    struct Ended<'a> {
        recording_id: String,
        session_id: String,
        meeting_number: &'a str,
        status: &'static str,
        ended_at: String,
        duration_secs: u32,
        size_bytes: u64,
        failure: Option<&'a str>,
    }
    let kind = match end.status {
        plenum_domain::history::RecordingStatus::Completed => EventType::RecordingCompleted,
        _ => EventType::RecordingFailed,
    };
    OutboxEvent::new(
        kind,
        end.completed_at.unwrap_or(end.ended_at),
        of.company,
        Some(of.number.clone()),
        &Ended {
            recording_id: end.recording.to_string(),
            session_id: of.session.to_string(),
            meeting_number: of.number.as_str(),
            status: end.status.as_str(),
            ended_at: rfc3339_ms(end.ended_at),
            duration_secs: end.duration_secs,
            size_bytes: end.size_bytes,
            failure: end.failure.as_deref(),
        },
    )
}

/// `user.created`.
pub(crate) fn user_created(user: &User) -> OutboxEvent {
    OutboxEvent::new(
        EventType::UserCreated,
        user.created_at,
        user.company_id,
        None,
        &data::UserCreated::of(user),
    )
}

/// `schedule.created` or `schedule.updated` of a reservation or an occurrence.
pub(crate) fn schedule(kind: EventType, s: &Schedule, at: Timestamp) -> OutboxEvent {
    OutboxEvent::new(
        kind,
        at,
        s.company_id,
        Some(s.meeting_number.clone()),
        &data::ScheduleData::of(s),
    )
}

/// `schedule.created` or `schedule.updated` of a whole series.
pub(crate) fn series(
    kind: EventType,
    s: &Series,
    occurrences: usize,
    at: Timestamp,
) -> OutboxEvent {
    OutboxEvent::new(
        kind,
        at,
        s.company_id,
        Some(s.meeting_number.clone()),
        &data::SeriesData::of(s, occurrences),
    )
}

/// `schedule.deleted`.
pub(crate) fn schedule_deleted(
    company: CompanyId,
    number: &MeetingNumber,
    reservation: Option<plenum_domain::ids::ScheduleId>,
    series: Option<SeriesId>,
    at: Timestamp,
) -> OutboxEvent {
    OutboxEvent::new(
        EventType::ScheduleDeleted,
        at,
        company,
        Some(number.clone()),
        &data::ScheduleDeleted {
            reservation_id: reservation.map(|r| r.to_string()),
            recurrence_gid: series.map(|g| g.to_string()),
            meeting_number: number.as_str(),
        },
    )
}

/// What a host's control is in the audit log: its action, what it was done to, and its
/// details (never a passcode). `None` for what is not a host's control.
pub(crate) fn control_audit(
    command: &Command,
    number: &MeetingNumber,
) -> Option<(Action, String, serde_json::Value)> {
    let meeting = format!("meeting:{number}");
    let of = |ids: &[AttendanceId]| {
        let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
        format!("participant:{}", list.join(","))
    };
    Some(match command {
        Command::MuteAll {
            allow_self_unmute,
            exclusions,
        } => (
            Action::MeetingMuteAll,
            meeting,
            json!({"allow_self_unmute": allow_self_unmute, "exclusions": exclusions}),
        ),
        Command::UnmuteAll => (Action::MeetingUnmuteAll, meeting, json!({})),
        Command::Mute {
            participants,
            allow_self_unmute,
        } => (
            Action::MeetingMute,
            of(participants),
            json!({"allow_self_unmute": allow_self_unmute}),
        ),
        Command::Unmute { participants } => (Action::MeetingUnmute, of(participants), json!({})),
        Command::AllowUnmute { participants } => {
            (Action::MeetingAllowUnmute, of(participants), json!({}))
        }
        Command::Stop { rejoin } => (Action::MeetingStop, meeting, json!({"rejoin": rejoin})),
        Command::StartOverlay(o) => (
            Action::MeetingOverlay,
            meeting,
            json!({"overlay": true, "repeat": o.repeat, "position": o.position}),
        ),
        Command::StopOverlay => (Action::MeetingOverlay, meeting, json!({"overlay": false})),
        Command::SetLecturer(id) => (Action::MeetingLecturer, of(&[*id]), json!({})),
        Command::UnsetLecturer => (Action::MeetingLecturer, meeting, json!({"lecturer": null})),
        Command::Disconnect { participants } => {
            (Action::MeetingDisconnect, of(participants), json!({}))
        }
        Command::DisconnectAll => (Action::MeetingDisconnectAll, meeting, json!({})),
        Command::SetEndTime(end) => (
            Action::MeetingEndTime,
            meeting,
            json!({"end_time": rfc3339_ms(*end)}),
        ),
        Command::Rename { participant, .. } => {
            (Action::MeetingRename, of(&[*participant]), json!({}))
        }
        Command::StartRecording => (Action::MeetingRecordingStart, meeting, json!({})),
        Command::StopRecording => (Action::MeetingRecordingStop, meeting, json!({})),
        Command::StartLive { passcode } => (
            Action::MeetingLiveStart,
            meeting,
            json!({"passcode_set": passcode.is_some()}),
        ),
        Command::StopLive => (Action::MeetingLiveStop, meeting, json!({})),
        Command::PinForParticipant { viewer, pinned } => (
            Action::MeetingPin,
            of(&[*viewer]),
            json!({"pinned": pinned}),
        ),
        Command::PinForMeeting(pinned) => (Action::MeetingPin, meeting, json!({"pinned": pinned})),
        Command::ChangeLayout {
            viewer,
            max_views,
            mode,
        } => (
            Action::MeetingLayout,
            of(&[*viewer]),
            json!({"max_views": max_views, "mode": mode.map(|m| m.as_str())}),
        ),
        Command::Lock => (Action::MeetingLock, meeting, json!({})),
        Command::Unlock => (Action::MeetingUnlock, meeting, json!({})),
        Command::Join(_)
        | Command::Leave { .. }
        | Command::Heartbeat { .. }
        | Command::SetOwnMute { .. }
        | Command::RequestUnmute { .. }
        | Command::RecordingFailed { .. }
        | Command::Tick
        | Command::Shutdown => return None,
    })
}

/// A change of a running meeting as JSON, whatever its type.
mod erased {
    use serde::Serialize;

    pub(super) trait Change {
        fn value(&self) -> serde_json::Value;
    }

    impl<T: Serialize> Change for T {
        fn value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or_default()
        }
    }

    pub(super) struct Json<'a>(pub(super) &'a dyn Change);

    impl Serialize for Json<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            self.0.value().serialize(s)
        }
    }
}

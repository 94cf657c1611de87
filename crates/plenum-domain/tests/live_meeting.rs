//! The live meeting state machine, driven in simulated time: every command, every refusal,
//! and random command sequences checked against a simple model.

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use plenum_domain::history::{DeviceType, MediaType};
use plenum_domain::ids::{AttendanceId, CompanyId, RoomId, ScheduleId, SessionId, UserId};
use plenum_domain::live::{
    Audience, Command, ControlError, EndReason, Event, Identity, JoinRefusal, JoinRequest,
    JoinWindow, Layout, LayoutMode, LeaveReason, LiveMeeting, MeetingSetup, Outcome, Overlay,
};
use plenum_domain::schedule::{MeetingNumber, MeetingPassword, WatermarkType};

fn t0() -> Timestamp {
    "2026-11-22T09:00:00Z".parse().expect("an instant")
}

fn at(secs: i64) -> Timestamp {
    t0() + SignedDuration::from_secs(secs)
}

fn setup() -> MeetingSetup {
    MeetingSetup {
        session: SessionId::new(t0()),
        company: CompanyId::new(t0()),
        number: MeetingNumber::parse("123456789").expect("a number"),
        name: "Weekly".into(),
        owner: UserId::new(t0()),
        owner_name: "Owner".into(),
        room: None,
        schedule: None,
        password: MeetingPassword::parse_optional(Some("1234")).expect("a password"),
        guest_dial_in: true,
        watermark: false,
        watermark_type: WatermarkType::Single,
        mute_upon_entry: false,
        end_time: Some(at(3600)),
        max_participants: 3,
        heartbeat_timeout: SignedDuration::from_secs(30),
        live_url: "https://meet.example/live/abc".into(),
        live_passcode: None,
        invitees: vec![],
    }
}

/// Fixed ids, ordered like the runtime's UUIDv7 (join order).
fn id(n: i64) -> AttendanceId {
    AttendanceId::from_uuid(uuid::Uuid::from_u128(n as u128))
}

fn request(id: AttendanceId, password: &str) -> Command {
    Command::Join(Box::new(JoinRequest {
        id,
        identity: Identity::Guest,
        password: Some(password.into()),
        display_name: format!("p{id}"),
        device_type: DeviceType::Bot,
        media_type: MediaType::Video,
        call_number: String::new(),
        department: String::new(),
        server_full: None,
    }))
}

fn applied(outcome: Outcome) -> Vec<Event> {
    match outcome {
        Outcome::Applied(events) => events,
        other => panic!("expected events, got {other:?}"),
    }
}

/// A meeting with `n` participants joined at seconds 1..=n.
fn meeting_with(n: i64) -> LiveMeeting {
    let mut m = LiveMeeting::new(setup(), t0());
    for i in 1..=n {
        applied(m.apply(request(id(i), "1234"), at(i)));
    }
    m
}

fn refused(outcome: Outcome) -> JoinRefusal {
    match outcome {
        Outcome::JoinRefused(r) => r,
        other => panic!("expected a join refusal, got {other:?}"),
    }
}

fn control_error(outcome: Outcome) -> ControlError {
    match outcome {
        Outcome::Refused(e) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_join_with_the_password_adds_a_participant() {
    let mut m = LiveMeeting::new(setup(), t0());
    let events = applied(m.apply(request(id(1), "1234"), at(1)));
    assert!(
        matches!(&events[..], [Event::ParticipantJoined { participant }] if participant.id == id(1))
    );
    assert_eq!(m.participants().len(), 1);
    assert_eq!(m.peak_participants(), 1);
}

/// The join `request` makes, arriving when the server has no call free.
fn request_on_a_full_server(id: AttendanceId, password: &str) -> Command {
    match request(id, password) {
        Command::Join(mut join) => {
            join.server_full = Some(500);
            Command::Join(join)
        }
        _ => unreachable!("request makes a join"),
    }
}

#[test]
fn a_full_server_is_the_reason_only_when_the_meeting_would_admit() {
    let mut m = meeting_with(2);
    assert_eq!(
        refused(m.apply(request_on_a_full_server(id(9), "1234"), at(5))),
        JoinRefusal::ServerFull { max: 500 }
    );
    assert_eq!(
        refused(m.apply(request_on_a_full_server(id(9), "9999"), at(5))),
        JoinRefusal::WrongPassword
    );
    applied(m.apply(request(id(3), "1234"), at(6)));
    assert_eq!(
        refused(m.apply(request_on_a_full_server(id(9), "1234"), at(7))),
        JoinRefusal::MeetingFull { max: 3 }
    );
    assert_eq!(m.participants().len(), 3);
}

#[test]
fn every_join_refusal_has_its_reason() {
    let mut m = meeting_with(1);
    assert_eq!(
        refused(m.apply(request(id(9), "9999"), at(5))),
        JoinRefusal::WrongPassword
    );
    assert_eq!(
        refused(m.apply(request(id(9), ""), at(5))),
        JoinRefusal::WrongPassword
    );

    applied(m.apply(Command::Lock, at(5)));
    assert_eq!(
        refused(m.apply(request(id(9), "1234"), at(6))),
        JoinRefusal::Locked
    );
    applied(m.apply(Command::Unlock, at(6)));

    applied(m.apply(request(id(2), "1234"), at(7)));
    applied(m.apply(request(id(3), "1234"), at(8)));
    assert_eq!(
        refused(m.apply(request(id(9), "1234"), at(9))),
        JoinRefusal::MeetingFull { max: 3 }
    );

    let mut no_guests = LiveMeeting::new(
        MeetingSetup {
            guest_dial_in: false,
            ..setup()
        },
        t0(),
    );
    assert_eq!(
        refused(no_guests.apply(request(id(1), "1234"), at(1))),
        JoinRefusal::GuestsNotAllowed
    );
    // Without the password, the meeting's guest policy is not given away.
    assert_eq!(
        refused(no_guests.apply(request(id(1), "9999"), at(1))),
        JoinRefusal::WrongPassword
    );
    let user = Command::Join(Box::new(JoinRequest {
        id: id(1),
        identity: Identity::User {
            id: UserId::new(t0()),
            host: false,
        },
        password: Some("1234".into()),
        display_name: "Ann".into(),
        device_type: DeviceType::Web,
        media_type: MediaType::Audio,
        call_number: String::new(),
        department: "Sales".into(),
        server_full: None,
    }));
    applied(no_guests.apply(user, at(1)));

    applied(m.apply(Command::Stop { rejoin: true }, at(10)));
    assert_eq!(
        refused(m.apply(request(id(9), "1234"), at(11))),
        JoinRefusal::Ended
    );
}

#[test]
fn the_join_window_opens_time_to_join_minutes_early_and_closes_at_the_end() {
    let window = JoinWindow::for_schedule(at(3600), at(7200), 10);
    assert!(
        matches!(window.check(at(2999)), Err(JoinRefusal::NotOpenYet { opens_at }) if opens_at == at(3000))
    );
    assert_eq!(window.check(at(3000)), Ok(()));
    assert_eq!(window.check(at(7199)), Ok(()));
    assert_eq!(window.check(at(7200)), Err(JoinRefusal::Ended));
}

#[test]
fn mute_upon_entry_mutes_joiners() {
    let mut m = LiveMeeting::new(
        MeetingSetup {
            mute_upon_entry: true,
            ..setup()
        },
        t0(),
    );
    applied(m.apply(request(id(1), "1234"), at(1)));
    let p = m.participant(id(1)).unwrap();
    assert!(p.mute_audio);
    assert!(p.may_unmute_self);
}

#[test]
fn mute_all_spares_the_exclusions_and_controls_self_unmute() {
    let mut m = meeting_with(3);
    let events = applied(m.apply(
        Command::MuteAll {
            allow_self_unmute: false,
            exclusions: vec![id(2)],
        },
        at(10),
    ));
    // One event for the meeting, naming who was spared.
    assert_eq!(
        events,
        vec![Event::AllMuted {
            may_unmute_self: false,
            except: vec![id(2)]
        }]
    );
    assert!(m.participant(id(1)).unwrap().mute_audio);
    assert!(!m.participant(id(2)).unwrap().mute_audio);
    assert!(m.participant(id(3)).unwrap().mute_audio);

    // Not allowed to unmute themselves: refused, and nothing changes.
    let own = Command::SetOwnMute {
        participant: id(1),
        audio: Some(false),
        video: None,
    };
    assert_eq!(
        control_error(m.apply(own.clone(), at(11))),
        ControlError::UnmuteNotAllowed
    );
    assert!(m.participant(id(1)).unwrap().mute_audio);

    // They ask, a host allows, then they may.
    let events = applied(m.apply(Command::RequestUnmute { participant: id(1) }, at(12)));
    assert!(
        matches!(&events[..], [Event::UnmuteRequested { client_uuid }] if *client_uuid == id(1))
    );
    assert_eq!(events[0].audience(), Audience::Hosts { about: id(1) });
    let events = applied(m.apply(
        Command::AllowUnmute {
            participants: vec![id(1)],
        },
        at(13),
    ));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::UnmuteAllowed { client_uuid } if *client_uuid == id(1)))
    );
    applied(m.apply(own, at(14)));
    assert!(!m.participant(id(1)).unwrap().mute_audio);

    assert_eq!(
        applied(m.apply(Command::UnmuteAll, at(15))),
        vec![Event::AllUnmuted]
    );
    assert!(m.participants().all(|p| !p.mute_audio && p.may_unmute_self));
    // Nothing left to unmute: nothing to tell.
    assert!(applied(m.apply(Command::UnmuteAll, at(16))).is_empty());
}

#[test]
fn mute_and_unmute_name_participants_and_a_stranger_changes_nobody() {
    let mut m = meeting_with(2);
    let stranger = id(99);
    let err = control_error(m.apply(
        Command::Mute {
            participants: vec![id(1), stranger],
            allow_self_unmute: true,
        },
        at(10),
    ));
    assert_eq!(err, ControlError::UnknownParticipant(stranger));
    assert!(!m.participant(id(1)).unwrap().mute_audio);

    applied(m.apply(
        Command::Mute {
            participants: vec![id(1)],
            allow_self_unmute: true,
        },
        at(11),
    ));
    assert!(m.participant(id(1)).unwrap().mute_audio);
    // Allowed to unmute themselves this time.
    applied(m.apply(
        Command::SetOwnMute {
            participant: id(1),
            audio: Some(false),
            video: Some(true),
        },
        at(12),
    ));
    let p = m.participant(id(1)).unwrap();
    assert!(!p.mute_audio && p.mute_video);

    applied(m.apply(
        Command::Mute {
            participants: vec![id(2)],
            allow_self_unmute: false,
        },
        at(13),
    ));
    applied(m.apply(
        Command::Unmute {
            participants: vec![id(2)],
        },
        at(14),
    ));
    assert!(!m.participant(id(2)).unwrap().mute_audio);
    assert_eq!(
        control_error(m.apply(Command::RequestUnmute { participant: id(2) }, at(15))),
        ControlError::NotMuted
    );
}

#[test]
fn stop_ends_the_meeting_for_everyone_and_says_whether_to_rejoin() {
    let mut m = meeting_with(2);
    let events = applied(m.apply(Command::Stop { rejoin: false }, at(10)));
    let left = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::ParticipantLeft {
                    reason: LeaveReason::MeetingEnded,
                    ..
                }
            )
        })
        .count();
    assert_eq!(left, 2);
    assert_eq!(
        events.last(),
        Some(&Event::MeetingEnded {
            reason: EndReason::Stopped { rejoin: false },
            rejoin: false,
        })
    );
    assert_eq!(m.ended(), Some(EndReason::Stopped { rejoin: false }));
    assert_eq!(
        control_error(m.apply(Command::Lock, at(11))),
        ControlError::Ended
    );
}

#[test]
fn overlay_lecturer_recording_live_and_lock_change_the_meeting() {
    let mut m = meeting_with(2);
    let overlay = Overlay::new("Test Overlay Text!", 5, 100, true).unwrap();
    applied(m.apply(Command::StartOverlay(overlay.clone()), at(10)));
    assert_eq!(m.overlay(), Some(&overlay));
    applied(m.apply(Command::StopOverlay, at(11)));
    assert_eq!(m.overlay(), None);
    let rule = |r: Result<Overlay, plenum_domain::ValidationError>| r.err().map(|e| e.rule);
    use plenum_domain::Rule;
    assert_eq!(rule(Overlay::new(" ", 1, 0, false)), Some(Rule::Empty));
    assert_eq!(
        rule(Overlay::new(&"x".repeat(257), 1, 0, false)),
        Some(Rule::TooLong)
    );
    assert_eq!(
        rule(Overlay::new("a\u{7}b", 1, 0, false)),
        Some(Rule::Characters)
    );
    assert_eq!(
        rule(Overlay::new("x", 1, 101, false)),
        Some(Rule::OutOfRange)
    );

    applied(m.apply(Command::SetLecturer(id(2)), at(12)));
    assert_eq!(m.lecturer(), Some(id(2)));
    assert_eq!(
        control_error(m.apply(Command::SetLecturer(id(50)), at(12))),
        ControlError::UnknownParticipant(id(50))
    );
    applied(m.apply(Command::UnsetLecturer, at(13)));
    assert_eq!(m.lecturer(), None);

    applied(m.apply(Command::StartRecording, at(14)));
    assert!(m.recording());
    // Starting what runs, or stopping what does not, is refused and changes nothing.
    assert_eq!(
        control_error(m.apply(Command::StartRecording, at(14))),
        ControlError::AlreadyRecording
    );
    applied(m.apply(Command::StopRecording, at(15)));
    assert!(!m.recording());
    assert_eq!(
        control_error(m.apply(Command::StopRecording, at(15))),
        ControlError::NotRecording
    );
    // A recorder's failure stops recording and says why, even just after a stop.
    applied(m.apply(Command::StartRecording, at(15)));
    let events = applied(m.apply(
        Command::RecordingFailed {
            reason: "disk full".into(),
        },
        at(15),
    ));
    assert!(!m.recording());
    assert!(matches!(
        &events[..],
        [Event::RecordingChanged { recording: false, failure: Some(r) }] if r == "disk full"
    ));

    applied(m.apply(
        Command::StartLive {
            passcode: Some("111111".into()),
        },
        at(16),
    ));
    let live = m.live().unwrap();
    assert_eq!(live.url, "https://meet.example/live/abc");
    assert_eq!(live.passcode.as_deref(), Some("111111"));
    // The same passcode again is refused; another one changes it.
    assert_eq!(
        control_error(m.apply(
            Command::StartLive {
                passcode: Some("111111".into()),
            },
            at(16),
        )),
        ControlError::AlreadyLive
    );
    applied(m.apply(Command::StopLive, at(17)));
    assert!(m.live().is_none());
    assert_eq!(
        control_error(m.apply(Command::StopLive, at(17))),
        ControlError::NotLive
    );

    applied(m.apply(Command::Lock, at(18)));
    assert!(m.locked());
    applied(m.apply(Command::Unlock, at(19)));
    assert!(!m.locked());
}

#[test]
fn a_lecturer_or_pinned_participant_who_leaves_is_unset() {
    let mut m = meeting_with(3);
    applied(m.apply(Command::SetLecturer(id(1)), at(10)));
    applied(m.apply(Command::PinForMeeting(Some(id(1))), at(10)));
    let events = applied(m.apply(
        Command::PinForParticipant {
            viewer: id(2),
            pinned: Some(id(1)),
        },
        at(10),
    ));
    assert_eq!(events[0].audience(), Audience::Only(id(2)));
    applied(m.apply(
        Command::Leave {
            participant: id(1),
            reason: LeaveReason::Left,
        },
        at(11),
    ));
    assert_eq!(m.lecturer(), None);
    assert_eq!(m.pinned(), None);
    assert_eq!(m.participant(id(2)).unwrap().pinned, None);
}

#[test]
fn disconnect_removes_the_named_and_disconnect_all_everyone() {
    let mut m = meeting_with(3);
    let events = applied(m.apply(
        Command::Disconnect {
            participants: vec![id(1)],
        },
        at(10),
    ));
    assert!(
        matches!(&events[..], [Event::ParticipantLeft { client_uuid, reason: LeaveReason::Disconnected, .. }] if *client_uuid == id(1))
    );
    applied(m.apply(Command::DisconnectAll, at(11)));
    assert_eq!(m.participants().len(), 0);
    // An empty meeting is over.
    assert_eq!(m.ended(), Some(EndReason::Empty));
}

#[test]
fn the_meeting_ends_at_its_end_time_and_hosts_can_move_it() {
    let scheduled = MeetingSetup {
        schedule: Some(ScheduleId::new(t0())),
        ..setup()
    };
    let mut m = LiveMeeting::new(scheduled, t0());
    applied(m.apply(request(id(1), "1234"), at(1)));
    assert!(control_error(m.apply(Command::SetEndTime(at(5)), at(10))) != ControlError::Ended);
    applied(m.apply(Command::SetEndTime(at(120)), at(10)));
    assert_eq!(m.end_time(), Some(at(120)));
    // Keep the participant heard from so only the end time matters.
    applied(m.apply(Command::Heartbeat { participant: id(1) }, at(100)));
    assert!(applied(m.apply(Command::Tick, at(119))).is_empty());
    let events = applied(m.apply(Command::Tick, at(121)));
    assert_eq!(
        events.last(),
        Some(&Event::MeetingEnded {
            reason: EndReason::EndTimeReached,
            // A scheduled meeting is over for good at its end time.
            rejoin: false,
        })
    );
    // The participant left at the end time, not at the tick.
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ParticipantLeft { left_at, .. } if *left_at == at(120)))
    );
}

#[test]
fn a_silent_participant_leaves_at_the_time_last_heard_from() {
    let mut m = meeting_with(2);
    applied(m.apply(Command::Heartbeat { participant: id(2) }, at(40)));
    let events = applied(m.apply(Command::Tick, at(45)));
    assert!(
        matches!(&events[..], [Event::ParticipantLeft { client_uuid, reason: LeaveReason::HeartbeatTimeout, left_at }] if *client_uuid == id(1) && *left_at == at(1))
    );
    assert!(m.participant(id(2)).is_some());
}

#[test]
fn rename_and_layout_change_one_participant() {
    let mut m = meeting_with(2);
    applied(m.apply(
        Command::Rename {
            participant: id(1),
            display_name: "Tom Cruise".into(),
        },
        at(10),
    ));
    assert_eq!(m.participant(id(1)).unwrap().display_name, "Tom Cruise");
    let layout = Layout::new(19, LayoutMode::Gallery).unwrap();
    assert!(Layout::new(20, LayoutMode::Auto).is_err());
    assert!(Layout::new(0, LayoutMode::Auto).is_err());
    let events = applied(m.apply(
        Command::ChangeLayout {
            viewer: id(2),
            max_views: Some(layout.max_views),
            mode: Some(layout.mode),
        },
        at(11),
    ));
    assert_eq!(events[0].audience(), Audience::Only(id(2)));
    assert_eq!(m.participant(id(2)).unwrap().layout, layout);

    // A part left out stays as it is.
    applied(m.apply(
        Command::ChangeLayout {
            viewer: id(2),
            max_views: Some(4),
            mode: None,
        },
        at(12),
    ));
    assert_eq!(
        m.participant(id(2)).unwrap().layout,
        Layout::new(4, LayoutMode::Gallery).unwrap()
    );
    let unchanged = applied(m.apply(
        Command::ChangeLayout {
            viewer: id(2),
            max_views: None,
            mode: None,
        },
        at(13),
    ));
    assert!(unchanged.is_empty());
}

// --- random command sequences ------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Join(u8),
    Leave(u8),
    MuteAll(bool, Option<u8>),
    UnmuteAll,
    Mute(u8, bool),
    Unmute(u8),
    OwnMute(u8, bool),
    Disconnect(u8),
    Heartbeat(u8),
    Tick(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..8).prop_map(Op::Join),
        1 => (0u8..8).prop_map(Op::Leave),
        1 => (any::<bool>(), proptest::option::of(0u8..8)).prop_map(|(a, e)| Op::MuteAll(a, e)),
        1 => Just(Op::UnmuteAll),
        1 => (0u8..8, any::<bool>()).prop_map(|(p, a)| Op::Mute(p, a)),
        1 => (0u8..8).prop_map(Op::Unmute),
        1 => (0u8..8, any::<bool>()).prop_map(|(p, m)| Op::OwnMute(p, m)),
        1 => (0u8..8).prop_map(Op::Disconnect),
        1 => (0u8..8).prop_map(Op::Heartbeat),
        1 => (0u16..40).prop_map(Op::Tick),
    ]
}

/// The model: who is in, and what the last mute command said about their audio.
#[derive(Default)]
struct Model {
    present: std::collections::BTreeMap<u8, (bool, bool)>, // slot -> (muted, may_unmute_self)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_sequences_keep_participants_and_mute_flags_consistent(ops in proptest::collection::vec(op(), 1..80)) {
        let mut m = LiveMeeting::new(MeetingSetup { max_participants: 6, end_time: None, ..setup() }, t0());
        let mut model = Model::default();
        let mut now = t0();
        // Slot n's current attendance id (a new one each join).
        let mut ids: std::collections::BTreeMap<u8, AttendanceId> = Default::default();
        let mut joins = 0i64;
        for op in ops {
            now += SignedDuration::from_secs(1);
            if m.ended().is_some() {
                break;
            }
            let slot_id = |s: u8| ids.get(&s).copied().unwrap_or_else(|| id(500 + i64::from(s)));
            let outcome = match op.clone() {
                Op::Join(s) => {
                    if model.present.contains_key(&s) { continue; }
                    joins += 1;
                    let fresh = id(1000 + joins);
                    let out = m.apply(request(fresh, "1234"), now);
                    if matches!(out, Outcome::Applied(_)) {
                        ids.insert(s, fresh);
                        model.present.insert(s, (false, true));
                    } else {
                        prop_assert_eq!(&out, &Outcome::JoinRefused(JoinRefusal::MeetingFull { max: 6 }));
                        prop_assert_eq!(model.present.len(), 6);
                    }
                    out
                }
                Op::Leave(s) => {
                    let out = m.apply(Command::Leave { participant: slot_id(s), reason: LeaveReason::Left }, now);
                    model.present.remove(&s);
                    out
                }
                Op::MuteAll(allow, excl) => {
                    for (slot, state) in model.present.iter_mut() {
                        if Some(*slot) != excl { *state = (true, allow); }
                    }
                    let exclusions = excl.map(slot_id).into_iter().collect();
                    m.apply(Command::MuteAll { allow_self_unmute: allow, exclusions }, now)
                }
                Op::UnmuteAll => {
                    for state in model.present.values_mut() { *state = (false, true); }
                    m.apply(Command::UnmuteAll, now)
                }
                Op::Mute(s, allow) => {
                    if let Some(state) = model.present.get_mut(&s) { *state = (true, allow); }
                    m.apply(Command::Mute { participants: vec![slot_id(s)], allow_self_unmute: allow }, now)
                }
                Op::Unmute(s) => {
                    if let Some(state) = model.present.get_mut(&s) { *state = (false, true); }
                    m.apply(Command::Unmute { participants: vec![slot_id(s)] }, now)
                }
                Op::OwnMute(s, mute) => {
                    if let Some(state) = model.present.get_mut(&s) && (mute || state.1) {
                        state.0 = mute;
                    }
                    m.apply(Command::SetOwnMute { participant: slot_id(s), audio: Some(mute), video: None }, now)
                }
                Op::Disconnect(s) => {
                    model.present.remove(&s);
                    m.apply(Command::Disconnect { participants: vec![slot_id(s)] }, now)
                }
                Op::Heartbeat(s) => m.apply(Command::Heartbeat { participant: slot_id(s) }, now),
                Op::Tick(secs) => {
                    now += SignedDuration::from_secs(i64::from(secs));
                    let out = m.apply(Command::Tick, now);
                    if let Outcome::Applied(events) = &out {
                        for e in events {
                            if let Event::ParticipantLeft { client_uuid, .. } = e {
                                model.present.retain(|s, _| ids.get(s) != Some(client_uuid));
                            }
                        }
                    }
                    out
                }
            };
            // Everyone the model has in is in the meeting exactly once, with the flags the
            // last command gave them; nobody else is.
            if m.ended().is_none() {
                prop_assert_eq!(m.participants().len(), model.present.len());
                for (slot, (muted, may)) in &model.present {
                    let p = m.participant(ids[slot]).expect("present participant");
                    prop_assert_eq!(p.mute_audio, *muted, "slot {} after {:?}", slot, op);
                    prop_assert_eq!(p.may_unmute_self, *may);
                }
            } else {
                prop_assert_eq!(m.participants().len(), 0);
            }
            prop_assert!(m.peak_participants() as usize >= m.participants().len());
            let _ = outcome;
        }
    }
}

#[test]
fn a_room_given_an_end_time_may_be_rejoined_after_it_a_scheduled_meeting_may_not() {
    let room = MeetingSetup {
        room: Some(RoomId::new(t0())),
        end_time: None,
        ..setup()
    };
    let mut m = LiveMeeting::new(room, t0());
    applied(m.apply(request(id(1), "1234"), at(1)));
    applied(m.apply(Command::SetEndTime(at(60)), at(10)));
    applied(m.apply(Command::Heartbeat { participant: id(1) }, at(50)));
    let events = applied(m.apply(Command::Tick, at(61)));
    assert_eq!(
        events.last(),
        Some(&Event::MeetingEnded {
            reason: EndReason::EndTimeReached,
            rejoin: true,
        })
    );

    assert!(EndReason::EndTimeReached.closes_schedule());
    assert!(EndReason::Stopped { rejoin: false }.closes_schedule());
    assert!(!EndReason::Stopped { rejoin: false }.rejoin(false));
    assert!(EndReason::Stopped { rejoin: true }.rejoin(true));
    assert!(EndReason::ServerShutdown.rejoin(true));
    assert!(EndReason::Empty.rejoin(true));
    for reason in [
        "stopped",
        "stopped_no_rejoin",
        "end_time_reached",
        "empty",
        "server_shutdown",
    ] {
        assert_eq!(
            EndReason::parse(reason).map(EndReason::as_str),
            Some(reason)
        );
    }
    assert_eq!(EndReason::parse("over"), None);
}

#[test]
fn display_names_are_trimmed_and_must_read_as_what_they_are() {
    use plenum_domain::live::parse_display_name;
    assert_eq!(parse_display_name("  Ann ").as_deref(), Ok("Ann"));
    assert_eq!(
        parse_display_name("José Núñez 李").as_deref(),
        Ok("José Núñez 李")
    );
    // A joiner may be an emoji made with zero-width joiners.
    assert!(parse_display_name("👩\u{200D}💻 Dev").is_ok());
    use plenum_domain::Rule;
    for (refused, rule) in [
        ("", Rule::Empty),
        ("   ", Rule::Empty),
        ("\u{200B}", Rule::Empty),
        ("\u{200B} \u{FEFF}", Rule::Empty),
        ("a\nb", Rule::Characters),
        ("a\u{0}b", Rule::Characters),
        ("\u{202E}evil", Rule::Characters),
        ("admin\u{2066}", Rule::Characters),
        (&"n".repeat(65), Rule::TooLong),
    ] {
        assert_eq!(
            parse_display_name(refused).err().map(|e| e.rule),
            Some(rule),
            "{refused:?}"
        );
    }
}

#[test]
fn right_to_left_names_keep_their_marks() {
    let name = "\u{05D3}\u{05E0}\u{05D4} \u{200F}(QA)";
    assert_eq!(
        plenum_domain::live::parse_display_name(name).as_deref(),
        Ok(name)
    );
}

/// Whose video `viewer` is shown when everyone in the meeting sends video but `silent`.
fn shown(m: &LiveMeeting, viewer: AttendanceId, silent: &[AttendanceId]) -> Vec<AttendanceId> {
    let senders = m
        .participants()
        .map(|p| p.id)
        .filter(|id| !silent.contains(id))
        .collect();
    m.view_rule(viewer)
        .map(|rule| rule.shown(viewer, &senders))
        .unwrap_or_default()
}

#[test]
fn a_viewer_is_shown_pins_and_the_lecturer_first_then_join_order_up_to_max_views() {
    let mut m = meeting_with(3);
    // Everyone but the viewer, in join order.
    assert_eq!(shown(&m, id(1), &[]), vec![id(2), id(3)]);
    assert_eq!(shown(&m, id(3), &[]), vec![id(1), id(2)]);
    // The lecturer comes first.
    applied(m.apply(Command::SetLecturer(id(3)), at(10)));
    assert_eq!(shown(&m, id(1), &[]), vec![id(3), id(2)]);
    // A meeting pin before the lecturer; the viewer's own pin before both.
    applied(m.apply(Command::PinForMeeting(Some(id(2))), at(11)));
    assert_eq!(shown(&m, id(1), &[]), vec![id(2), id(3)]);
    applied(m.apply(
        Command::PinForParticipant {
            viewer: id(1),
            pinned: Some(id(3)),
        },
        at(12),
    ));
    assert_eq!(shown(&m, id(1), &[]), vec![id(3), id(2)]);
    // max_views 1: only the first.
    applied(m.apply(
        Command::ChangeLayout {
            viewer: id(1),
            max_views: Some(1),
            mode: None,
        },
        at(13),
    ));
    assert_eq!(shown(&m, id(1), &[]), vec![id(3)]);
    // Nobody sees themselves, whatever is pinned.
    assert_eq!(shown(&m, id(2), &[]), vec![id(3), id(1)]);
    // An unknown viewer sees nothing.
    assert!(shown(&m, id(99), &[]).is_empty());
}

#[test]
fn only_those_who_send_video_are_shown() {
    // A lecture: four viewers arrived first, then the lecturer; a layout of 2 shows the
    // lecturer, not the first two viewers.
    let mut m = meeting_with(3);
    applied(m.apply(
        Command::ChangeLayout {
            viewer: id(1),
            max_views: Some(2),
            mode: None,
        },
        at(10),
    ));
    assert_eq!(shown(&m, id(1), &[id(2)]), vec![id(3)]);
    // A pin on someone who sends nothing shows nothing of them.
    applied(m.apply(Command::PinForMeeting(Some(id(2))), at(11)));
    assert_eq!(shown(&m, id(1), &[id(2)]), vec![id(3)]);
    assert_eq!(shown(&m, id(1), &[]), vec![id(2), id(3)]);
}

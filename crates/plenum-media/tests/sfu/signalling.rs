use std::collections::HashSet;
use std::time::Instant;

use plenum_media::{Connection, Kind, Route, SignalError};
use str0m::Rtc;
use str0m::media::{Direction, MediaKind};

use crate::net::{Net, config};
use crate::secs;

fn offer(kinds: &[MediaKind]) -> String {
    let mut rtc = Rtc::builder().build(Instant::now());
    let mut change = rtc.sdp_api();
    for kind in kinds {
        change.add_media(*kind, Direction::SendOnly, None, None, None);
    }
    let (offer, _) = change.apply().expect("offer");
    offer.to_sdp_string()
}

#[test]
fn publish_refuses_what_the_protocol_does_not_allow() {
    let mut net = Net::new();
    net.join(1, true);
    let now = net.now;
    let room = &mut net.room;
    assert!(matches!(
        room.publish(1, "garbage", now),
        Err(SignalError::InvalidSdp(_))
    ));
    assert!(matches!(
        room.publish(1, "v=0\r\nm=audio", now),
        Err(SignalError::InvalidSdp(_))
    ));
    assert_eq!(
        room.publish(1, &offer(&[MediaKind::Audio, MediaKind::Audio]), now),
        Err(SignalError::TooManyTracks)
    );
    assert_eq!(
        room.publish(
            1,
            &offer(&[MediaKind::Video, MediaKind::Audio, MediaKind::Video]),
            now
        ),
        Err(SignalError::TooManyTracks)
    );
    assert_eq!(
        room.publish(99, &offer(&[MediaKind::Audio]), now),
        Err(SignalError::UnknownParticipant)
    );
    // Refusals leave nothing behind: a good offer still works.
    assert!(
        room.publish(1, &offer(&[MediaKind::Audio, MediaKind::Video]), now)
            .is_ok()
    );
}

#[test]
fn an_audio_only_participant_s_video_line_is_rejected() {
    let mut net = Net::new();
    net.join(1, false);
    let now = net.now;
    let answer = net
        .room
        .publish(1, &offer(&[MediaKind::Audio, MediaKind::Video]), now)
        .expect("answer");
    assert!(answer.contains("m=video 0 "), "{answer}");
    assert!(answer.contains("m=audio 9 "), "{answer}");
}

#[test]
fn the_room_is_full_past_max_peers() {
    let mut net = Net::with_config(plenum_media::MediaConfig {
        max_peers: 2,
        ..config()
    });
    for id in 1..=3 {
        net.join(id, true);
    }
    net.publish(1, true, true).expect("first");
    net.publish(2, true, true).expect("second");
    assert_eq!(net.publish(3, true, true), Err(SignalError::RoomFull));
}

#[test]
fn one_subscribe_offer_at_a_time_and_answers_by_version() {
    let mut net = Net::new();
    net.join(1, true);
    net.publish(1, true, true).expect("publish");
    net.join_with(2, true, false);
    net.run(secs(0.2));
    assert_eq!(net.clients[&2].offers.len(), 1);
    // Someone publishes while 2's offer is pending: no second offer yet.
    net.join(3, true);
    net.publish(3, true, true).expect("publish");
    net.run(secs(0.2));
    assert_eq!(
        net.clients[&2].offers.len(),
        1,
        "never two offers in flight"
    );

    let now = net.now;
    assert_eq!(
        net.room.subscribe_answer(2, 7, "v=0", now),
        Err(SignalError::StaleAnswer)
    );
    assert!(matches!(
        net.room.subscribe_answer(2, 1, "not sdp", now),
        Err(SignalError::InvalidSdp(_))
    ));
    assert_eq!(
        net.room.subscribe_answer(99, 1, "v=0", now),
        Err(SignalError::UnknownParticipant)
    );
    // The offer is still pending after those refusals.
    net.answer_held(2).expect("answer to version 1");
    assert_eq!(
        net.room.subscribe_answer(2, 1, "v=0", net.now),
        Err(SignalError::StaleAnswer)
    );
    net.run(secs(0.2));
    let offers = &net.clients[&2].offers;
    assert_eq!(
        offers.len(),
        2,
        "the change made meanwhile is offered after the answer"
    );
    assert_eq!(offers[1].0, 2);
    let sources: HashSet<u32> = offers[1].1.iter().map(|t| t.participant).collect();
    assert_eq!(sources, HashSet::from([1, 3]));
    net.answer_held(2).expect("answer to version 2");
    assert_eq!(
        net.room.subscribe_answer(2, 2, "v=0", net.now),
        Err(SignalError::NoOfferPending)
    );
    net.run(secs(2.0));
    for from in [1, 3] {
        assert!(net.clients[&2].rx(from, Kind::Audio).frames >= 50);
        assert!(net.clients[&2].rx(from, Kind::Video).frames >= 20);
    }
}

#[test]
fn routes_are_announced_and_withdrawn() {
    let mut net = Net::new();
    for id in 1..=2 {
        net.join(id, true);
        net.publish(id, true, true).expect("publish");
    }
    net.run(secs(1.0));
    // Two connections each: a ufrag for each, and each client's two addresses.
    assert_eq!(net.ufrags.len(), 4);
    let expected: HashSet<_> = net
        .clients
        .values()
        .flat_map(|c| [c.publish_addr, c.subscribe_addr])
        .collect();
    assert_eq!(net.addresses, expected);
    let held: HashSet<String> = net.room.routes().iter().map(|r| format!("{r:?}")).collect();
    let announced: HashSet<String> = net
        .ufrags
        .iter()
        .map(|u| format!("{:?}", Route::AddUfrag(u.clone())))
        .chain(
            net.addresses
                .iter()
                .map(|a| format!("{:?}", Route::AddAddress(*a))),
        )
        .collect();
    assert_eq!(held, announced);

    let gone = [net.clients[&2].publish_addr, net.clients[&2].subscribe_addr];
    net.leave(2);
    assert_eq!(net.ufrags.len(), 2);
    assert!(gone.iter().all(|a| !net.addresses.contains(a)));
    assert_eq!(net.room.routes().len(), 4);
}

#[test]
fn a_silent_connection_times_out_after_30_seconds() {
    let mut net = Net::new();
    for id in 1..=2 {
        net.join(id, true);
        net.publish(id, true, false).expect("publish");
    }
    net.run(secs(1.0));
    net.vanish(2);
    net.run(secs(25.0));
    assert!(net.closed.iter().all(|(p, _)| *p != 2), "not before 30 s");
    net.run(secs(6.0));
    let closed: Vec<_> = net.closed.iter().filter(|(p, _)| *p == 2).collect();
    assert_eq!(closed.len(), 2, "both of its connections: {closed:?}");
    assert!(closed.iter().all(|(_, s)| matches!(
        s,
        plenum_media::Signal::MediaClosed {
            reason: plenum_media::CloseReason::Timeout,
            ..
        }
    )));
    assert_eq!(net.ufrags.len(), 2, "its routes are withdrawn");
    // The one still there keeps its connections.
    assert!(net.closed.iter().all(|(p, _)| *p != 1));
}

#[test]
fn a_later_publish_renegotiates_the_same_connection() {
    let mut net = Net::new();
    net.join(1, true);
    net.publish(1, true, false).expect("audio first");
    net.join(2, true);
    net.run(secs(1.0));
    assert!(net.clients[&2].rx(1, Kind::Audio).frames > 20);
    let offers = net.clients[&2].offers.len();
    net.add_video(1).expect("then video");
    net.run(secs(1.5));
    let subscriber = &net.clients[&2];
    assert_eq!(
        subscriber.offers.len(),
        offers + 1,
        "one more offer, for the video"
    );
    assert!(subscriber.rx(1, Kind::Video).frames >= 15);
    assert!(
        subscriber.rx(1, Kind::Audio).frames > 70,
        "audio went on through the renegotiation"
    );
}

#[test]
fn trickled_candidates_are_taken_or_refused() {
    let mut net = Net::new();
    net.join(1, true);
    net.publish(1, true, false).expect("publish");
    let now = net.now;
    let room = &mut net.room;
    let candidate = "candidate:1 1 udp 2113929471 1.1.1.1 1000 typ host";
    assert_eq!(
        room.add_candidate(1, Connection::Publish, candidate, now),
        Ok(())
    );
    assert_eq!(
        room.add_candidate(1, Connection::Publish, &format!("a={candidate}"), now),
        Ok(())
    );
    assert_eq!(room.add_candidate(1, Connection::Publish, "", now), Ok(()));
    assert!(matches!(
        room.add_candidate(1, Connection::Publish, "candidate:garbage", now),
        Err(SignalError::InvalidSdp(_))
    ));
    assert_eq!(
        room.add_candidate(2, Connection::Publish, candidate, now),
        Err(SignalError::UnknownParticipant)
    );
    net.run(secs(1.0));
    assert!(net.closed.is_empty());
}

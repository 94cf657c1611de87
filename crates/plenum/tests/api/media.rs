//! Media through a real server over loopback UDP: participants driven by `plenum-client` (the
//! bots' client) publish the embedded fixtures and count what they receive from each other.
//! Hostile signalling and datagrams are refused or dropped and break nothing.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plenum_client::media::FromParticipant;
use plenum_client::{
    Behaviour, Frame, JoinRequest, MediaSession, MediaStats, Observer, Participant,
};
use plenum_testkit::TestApp;
use plenum_testkit::live::LiveClient;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::{room, s};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The latest receiving statistics of one media participant.
#[derive(Clone, Default)]
struct Tap(Arc<Mutex<MediaStats>>);

impl Observer for Tap {
    async fn frame(&mut self, _frame: &Frame) {}
    async fn media_stats(&mut self, stats: &MediaStats) {
        *self.0.lock().expect("tap lock") = stats.clone();
    }
}

impl Tap {
    fn from(&self) -> BTreeMap<String, FromParticipant> {
        self.0.lock().expect("tap lock").from.clone()
    }
}

/// A participant with media in meeting `number`, running until dropped (or `leave`).
pub(crate) struct MediaBot {
    client_uuid: String,
    tap: Tap,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl MediaBot {
    pub(crate) async fn join(app: &TestApp, number: &str, name: &str, video: bool) -> Self {
        let url = plenum_client::live_url(&app.base_url).expect("live url");
        let mut participant = Participant::connect(&url, None).await.expect("connect");
        let mut tap = Tap::default();
        let joined = participant
            .join(
                &JoinRequest {
                    meeting_number: number.into(),
                    password: Some("1234".into()),
                    display_name: name.into(),
                    device_type: "bot".into(),
                    media_type: if video { "video" } else { "audio" }.into(),
                },
                &mut tap,
            )
            .await
            .unwrap_or_else(|e| panic!("{name} could not join: {e:?}"));
        let mut media = MediaSession::bind(LOOPBACK, video)
            .await
            .expect("media sockets");
        let (stop, stopped) = oneshot::channel::<()>();
        let mut observer = tap.clone();
        let task = tokio::spawn(async move {
            let stop = async {
                let _ = stopped.await;
            };
            let behaviour = Behaviour {
                talk: false,
                // Bounded: a test that forgets a bot still ends it.
                duration: Some(Duration::from_secs(60)),
            };
            participant
                .run_with_media(behaviour, stop, &mut observer, &mut media)
                .await;
        });
        Self {
            client_uuid: joined.client_uuid,
            tap,
            stop: Some(stop),
            task,
        }
    }

    /// What this bot received from `other` so far (stats arrive once a second).
    pub(crate) fn received_from(&self, other: &MediaBot) -> FromParticipant {
        self.received_from_id(&other.client_uuid)
    }

    fn received_from_id(&self, client_uuid: &str) -> FromParticipant {
        self.tap
            .from()
            .get(client_uuid)
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) async fn leave(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
    }
}

impl Drop for MediaBot {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits (at most `limit`) until `check` holds, polling every 100 ms.
pub(crate) async fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn media_app() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    assert!(app.media_addr().is_some(), "the test server carries media");
    let token = app.admin_token().await;
    (app, token)
}

#[tokio::test]
async fn two_participants_receive_each_others_audio_and_video() {
    let (app, token) = media_app().await;
    room(&app, &token, "7100001").await;
    let ann = MediaBot::join(&app, "7100001", "Ann", true).await;
    let bob = MediaBot::join(&app, "7100001", "Bob", true).await;
    eventually(
        Duration::from_secs(10),
        "both receive video and audio",
        || {
            let (a, b) = (ann.received_from(&bob), bob.received_from(&ann));
            a.video_frames > 10 && a.audio_frames > 50 && b.video_frames > 10 && b.audio_frames > 50
        },
    )
    .await;
    ann.leave().await;
    bob.leave().await;
}

#[tokio::test]
async fn muted_audio_stops_at_the_others_while_video_goes_on() {
    let (app, token) = media_app().await;
    room(&app, &token, "7100002").await;
    let ann = MediaBot::join(&app, "7100002", "Ann", true).await;
    let bob = MediaBot::join(&app, "7100002", "Bob", true).await;
    eventually(Duration::from_secs(10), "Bob hears and sees Ann", || {
        let a = bob.received_from(&ann);
        a.audio_frames > 20 && a.video_frames > 5
    })
    .await;
    let reply = app
        .post(
            "/api/v1/meeting/7100002/mute",
            Some(&token),
            json!({"participants": [ann.client_uuid]}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    // Within 2 s (stats come once a second), Ann's audio stops arriving; her video goes on.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let muted = bob.received_from(&ann);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = bob.received_from(&ann);
    assert_eq!(
        later.audio_frames, muted.audio_frames,
        "a muted participant's audio is not forwarded"
    );
    assert!(
        later.video_frames > muted.video_frames + 5,
        "video goes on while muted: {} then {}",
        muted.video_frames,
        later.video_frames
    );
    // Ann is still heard by nobody, and the detail says so.
    let detail = app.get("/api/v1/meeting/7100002", Some(&token)).await.body;
    let entry = detail["participants"]
        .as_array()
        .and_then(|ps| {
            ps.iter()
                .find(|p| p["client_uuid"] == ann.client_uuid.as_str())
        })
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(entry["mute_audio"], true, "{detail}");
    // Unmuted, she is heard again.
    let reply = app
        .post(
            "/api/v1/meeting/7100002/unmute",
            Some(&token),
            json!({"participants": [ann.client_uuid]}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    eventually(Duration::from_secs(5), "Ann is heard again", || {
        bob.received_from(&ann).audio_frames > later.audio_frames + 20
    })
    .await;
    ann.leave().await;
    bob.leave().await;
}

#[tokio::test]
async fn a_late_joiner_gets_video_within_a_second_and_a_leaver_stops() {
    let (app, token) = media_app().await;
    room(&app, &token, "7100003").await;
    let ann = MediaBot::join(&app, "7100003", "Ann", true).await;
    let bob = MediaBot::join(&app, "7100003", "Bob", true).await;
    eventually(Duration::from_secs(10), "Bob sees Ann", || {
        bob.received_from(&ann).video_frames > 5
    })
    .await;
    // Carl joins a running meeting: video from both within a second of his media being up.
    let carl = MediaBot::join(&app, "7100003", "Carl", true).await;
    eventually(Duration::from_secs(10), "Carl sees Ann and Bob", || {
        carl.received_from(&ann).video_frames > 0 && carl.received_from(&bob).video_frames > 0
    })
    .await;
    {
        let stats = carl.tap.0.lock().expect("tap lock").clone();
        let connected = stats
            .subscribe_connected
            .expect("Carl's subscribe connection");
        for (who, from) in &stats.from {
            let first = from.first_video_frame.expect("a first video frame");
            let delay = first.saturating_duration_since(connected);
            assert!(
                delay < Duration::from_secs(1),
                "first video frame from {who} {delay:?} after the subscribe connection"
            );
        }
    }
    // Bob leaves: his media stops at the others.
    let before = carl.received_from(&bob);
    let bob_id = bob.client_uuid.clone();
    bob.leave().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stopped = carl.received_from_id(&bob_id);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = carl.received_from_id(&bob_id);
    assert!(stopped.video_frames >= before.video_frames);
    assert_eq!(
        (later.video_frames, later.audio_frames),
        (stopped.video_frames, stopped.audio_frames),
        "nothing of a participant who left arrives a second after"
    );
    ann.leave().await;
    carl.leave().await;
}

#[tokio::test]
async fn a_layout_of_one_view_forwards_one_video() {
    let (app, token) = media_app().await;
    room(&app, &token, "7100004").await;
    let ann = MediaBot::join(&app, "7100004", "Ann", true).await;
    let bob = MediaBot::join(&app, "7100004", "Bob", true).await;
    let carl = MediaBot::join(&app, "7100004", "Carl", true).await;
    eventually(Duration::from_secs(10), "Carl sees both", || {
        carl.received_from(&ann).video_frames > 5 && carl.received_from(&bob).video_frames > 5
    })
    .await;
    // Carl's layout shows one: the first of the others in the meeting's order (join order:
    // ids are time-ordered, but this server's clock stands still, so read the order).
    let detail = app.get("/api/v1/meeting/7100004", Some(&token)).await.body;
    let order: Vec<String> = detail["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .map(|p| s(p, "client_uuid"))
        .filter(|id| *id != carl.client_uuid)
        .collect();
    let (shown, hidden) = if order[0] == ann.client_uuid {
        (&ann, &bob)
    } else {
        (&bob, &ann)
    };
    let reply = app
        .post(
            &format!(
                "/api/v1/meeting/7100004/participant/{}/layout_change",
                carl.client_uuid
            ),
            Some(&token),
            json!({"max_views": 1}),
        )
        .await;
    assert!(reply.status.is_success(), "{} {}", reply.status, reply.body);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (a1, b1) = (carl.received_from(shown), carl.received_from(hidden));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (a2, b2) = (carl.received_from(shown), carl.received_from(hidden));
    assert!(
        a2.video_frames > a1.video_frames + 5,
        "the one shown: video goes on"
    );
    assert_eq!(
        b2.video_frames, b1.video_frames,
        "the other's video is not sent"
    );
    assert!(
        b2.audio_frames > b1.audio_frames + 20,
        "the other is still heard"
    );
    // Bob, with the default layout, still sees both.
    assert!(bob.received_from(&carl).video_frames > 0);
    for bot in [ann, bob, carl] {
        bot.leave().await;
    }
}

#[tokio::test]
async fn a_disconnected_participants_media_stops() {
    let (app, token) = media_app().await;
    room(&app, &token, "7100005").await;
    let ann = MediaBot::join(&app, "7100005", "Ann", true).await;
    let bob = MediaBot::join(&app, "7100005", "Bob", true).await;
    eventually(Duration::from_secs(10), "Bob sees Ann", || {
        bob.received_from(&ann).video_frames > 5
    })
    .await;
    let reply = app
        .post(
            "/api/v1/meeting/7100005/disconnect",
            Some(&token),
            json!({"participants": [ann.client_uuid]}),
        )
        .await;
    assert!(reply.status.is_success(), "{} {}", reply.status, reply.body);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stopped = bob.received_from(&ann);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = bob.received_from(&ann);
    assert_eq!(
        (later.video_frames, later.audio_frames),
        (stopped.video_frames, stopped.audio_frames),
        "a disconnected participant's media is closed"
    );
    ann.leave().await;
    bob.leave().await;
}

/// Error frames answer hostile signalling in words; the connection and meeting go on.
#[tokio::test]
async fn malformed_signalling_is_refused_with_a_protocol_error() {
    let (app, token) = media_app().await;
    room(&app, &token, "7100006").await;
    let mut client = LiveClient::connect(&app, None).await;
    client
        .send(json!({"type": "publish", "ref": 1, "sdp": "v=0"}))
        .await;
    let before_join = client.recv().await;
    assert_eq!(
        (before_join["type"].as_str(), before_join["code"].as_str()),
        (Some("error"), Some("not_joined")),
        "{before_join}"
    );
    client.join_ok("7100006", Some("1234"), "Eve").await;
    for (message, code) in [
        (
            json!({"type": "publish", "ref": 2, "sdp": "not an sdp"}),
            "invalid_sdp",
        ),
        (
            json!({"type": "publish", "ref": 3, "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"}),
            "invalid_sdp",
        ),
        (
            json!({"type": "subscribe_answer", "ref": 4, "version": 9, "sdp": "v=0"}),
            "stale_answer",
        ),
        (
            json!({"type": "ice_candidate", "ref": 5, "connection": "sideways", "candidate": ""}),
            "invalid_message",
        ),
        (json!({"type": "publish", "ref": 6}), "invalid_message"),
        (
            json!({"type": "publish", "ref": 7, "sdp": "x".repeat(60_000)}),
            "invalid_sdp",
        ),
    ] {
        client.send(message.clone()).await;
        let answer = client.recv().await;
        assert_eq!(answer["type"], "error", "{message} -> {answer}");
        assert_eq!(answer["code"], code, "{message} -> {answer}");
        assert_eq!(answer["ref"], message["ref"], "{answer}");
    }
    client.send(json!({"type": "heartbeat", "ref": 8})).await;
    assert_eq!(client.recv().await["type"], "heartbeat_ack");
    // Still in the meeting.
    let detail = app.get("/api/v1/meeting/7100006", Some(&token)).await;
    assert_eq!(s(&detail.body["participants"][0], "name"), "Eve");
}

/// Random datagrams, truncated STUN, a DTLS hello and RTP from strangers reach the media
/// port while a meeting's media flows: they are dropped and the media goes on.
#[tokio::test]
async fn strangers_datagrams_are_dropped_and_media_goes_on() {
    let (app, token) = media_app().await;
    room(&app, &token, "7100007").await;
    let ann = MediaBot::join(&app, "7100007", "Ann", true).await;
    let bob = MediaBot::join(&app, "7100007", "Bob", true).await;
    eventually(Duration::from_secs(10), "Bob sees Ann", || {
        bob.received_from(&ann).video_frames > 5
    })
    .await;
    let media = app.media_addr().expect("media address");
    let stranger = tokio::net::UdpSocket::bind((LOOPBACK, 0))
        .await
        .expect("a stranger's socket");
    let mut stun = vec![0x00, 0x01, 0x00, 0x20, 0x21, 0x12, 0xa4, 0x42];
    stun.extend_from_slice(&[7u8; 12]);
    let hostile: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![0xff; 1200],
        (0..=255u8).collect(),
        // A binding request whose attributes are cut off.
        stun.clone(),
        stun[..10].to_vec(),
        // A DTLS ClientHello's record header and a bit.
        vec![22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 1, 0, 0, 88],
        // An RTP packet of nobody's.
        vec![
            0x80, 111, 0, 1, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4,
        ],
    ];
    for _ in 0..50 {
        for datagram in &hostile {
            let _ = stranger.send_to(datagram, media).await;
        }
    }
    let before = bob.received_from(&ann);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = bob.received_from(&ann);
    assert!(
        after.video_frames > before.video_frames + 5
            && after.audio_frames > before.audio_frames + 20,
        "media goes on: {before:?} then {after:?}"
    );
    // And the server still admits new participants with media.
    let carl = MediaBot::join(&app, "7100007", "Carl", true).await;
    eventually(Duration::from_secs(10), "Carl sees Ann", || {
        carl.received_from(&ann).video_frames > 0
    })
    .await;
    for bot in [ann, bob, carl] {
        bot.leave().await;
    }
}

/// A server without media (`media.enabled = false`) says so: no `media` in `joined`, and
/// signalling is answered `media_unavailable`.
#[tokio::test]
async fn a_server_without_media_answers_media_unavailable() {
    let app = TestApp::spawn_with(|s| s.media.enabled = false).await;
    assert!(app.media_addr().is_none());
    let token = app.admin_token().await;
    room(&app, &token, "7100008").await;
    let mut client = LiveClient::connect(&app, None).await;
    let joined = client.join_ok("7100008", Some("1234"), "Eve").await;
    assert!(joined.get("media").is_none(), "{joined}");
    client
        .send(json!({"type": "publish", "ref": 1, "sdp": "v=0"}))
        .await;
    let answer = client.recv().await;
    assert_eq!(answer["code"], "media_unavailable", "{answer}");
}

/// `joined` tells a client the ICE servers and limits it needs for its peer connections.
#[tokio::test]
async fn joined_carries_the_ice_servers_and_limits() {
    let app = TestApp::spawn_with(|s| {
        s.media.ice_servers = vec![plenum_service::IceServer {
            urls: vec!["stun:stun.example.org:3478".into()],
            username: None,
            credential: None,
        }];
    })
    .await;
    let token = app.admin_token().await;
    room(&app, &token, "7100009").await;
    let mut client = LiveClient::connect(&app, None).await;
    let joined = client.join_ok("7100009", Some("1234"), "Eve").await;
    assert_eq!(
        joined["media"]["ice_servers"],
        json!([{"urls": ["stun:stun.example.org:3478"]}]),
        "{joined}"
    );
    assert_eq!(joined["media"]["max_video_bitrate"], 2_500_000);
    assert_eq!(joined["media"]["max_audio_bitrate"], 128_000);
}

/// A lecture: a viewer without a camera arrived first, then the lecturer. A layout of one
/// shows the lecturer's video, not the first to arrive (who sends none).
#[tokio::test]
async fn a_layout_shows_those_who_send_video_not_the_first_to_arrive() {
    let (app, token) = media_app().await;
    room(&app, &token, "7100010").await;
    // Ids are time-ordered: move the test clock so that they are in join order.
    let mut early = LiveClient::connect(&app, None).await;
    early
        .join_ok("7100010", Some("1234"), "Early, no camera")
        .await;
    app.clock.advance(Duration::from_millis(10));
    let lecturer = MediaBot::join(&app, "7100010", "Lecturer", true).await;
    app.clock.advance(Duration::from_millis(10));
    let viewer = MediaBot::join(&app, "7100010", "Viewer", true).await;
    let reply = app
        .post(
            &format!(
                "/api/v1/meeting/7100010/participant/{}/layout_change",
                viewer.client_uuid
            ),
            Some(&token),
            json!({"max_views": 1}),
        )
        .await;
    assert!(reply.status.is_success(), "{} {}", reply.status, reply.body);
    eventually(
        Duration::from_secs(10),
        "the viewer sees the lecturer",
        || viewer.received_from(&lecturer).video_frames > 10,
    )
    .await;
    lecturer.leave().await;
    viewer.leave().await;
}

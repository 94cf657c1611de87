//! Media through a real `plenum serve` (its SFU on 127.0.0.1, a free UDP port): participants
//! of `plenum_client` (the client `plenum bot --media` runs) publish the embedded fixtures and
//! count what they receive from each other, and `plenum bot --media` itself.
//!
//! Every wait is bounded ([`FLOW_WAIT`] for media to start flowing, fixed spans otherwise).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use plenum_client::media::FromParticipant;
use plenum_client::{
    Behaviour, Ending, Frame, Ignore, JoinRequest, MediaSession, MediaStats, Observer, Participant,
    live_url,
};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::Server;
use crate::bot::{Bot, ROOM_PASSWORD, control, server_with_room_and};

/// The media server's arguments: the SFU on a free port of 127.0.0.1 (as every test server's,
/// `PLENUM_MEDIA_LISTEN` in `plenum()`; said here too, since these tests need it).
const MEDIA_ARGS: &[&str] = &["--media-listen", "127.0.0.1:0"];
/// How long media may take to start flowing where the test does not measure it.
const FLOW_WAIT: Duration = Duration::from_secs(10);
/// The bound for a late joiner's first video frame.
const LATE_JOINER_LIMIT: Duration = Duration::from_secs(1);
/// How often the participants' statistics are read.
const REPORT_EVERY: Duration = Duration::from_millis(100);
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Hands the statistics on as they come (once a second, and at the end).
struct Tap {
    stats: watch::Sender<MediaStats>,
    frames: tokio::sync::mpsc::UnboundedSender<Value>,
    signalling: Arc<Mutex<Vec<String>>>,
}

/// A line for the record of media signalling, if the frame is some.
fn signalling_line(v: &Value) -> Option<String> {
    let kind = v["type"].as_str().unwrap_or_default();
    let reference = v["ref"].as_str().unwrap_or_default();
    match kind {
        "subscribe" => Some(format!(
            "subscribe v{} tracks {:?}",
            v["version"],
            v["tracks"].as_array().map(|t| t
                .iter()
                .map(|t| format!("{}:{}", t["client_uuid"], t["kind"]))
                .collect::<Vec<_>>())
        )),
        "answer" | "media_closed" | "view" => Some(v.to_string().chars().take(200).collect()),
        "ok" | "error"
            if reference.starts_with("publish") || reference.starts_with("subscribe") =>
        {
            Some(v.to_string())
        }
        "participant_joined" | "participant_left" => Some(format!(
            "{kind} {}",
            v["participant"]["client_uuid"]
                .as_str()
                .or(v["client_uuid"].as_str())
                .unwrap_or_default()
        )),
        _ => None,
    }
}

impl Observer for Tap {
    async fn frame(&mut self, frame: &Frame) {
        if let Ok(v) = frame.value() {
            if let Some(line) = signalling_line(&v) {
                self.signalling
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(line);
            }
            let _ = self.frames.send(v);
        }
    }

    async fn media_stats(&mut self, stats: &MediaStats) {
        let _ = self.stats.send(stats.clone());
    }
}

/// A participant with media, running in its own task.
pub(crate) struct MediaBot {
    pub(crate) client_uuid: String,
    joined_at: Instant,
    stats: watch::Receiver<MediaStats>,
    frames: tokio::sync::mpsc::UnboundedReceiver<Value>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<(Ending, String)>,
    /// The media signalling it received (for failure messages).
    signalling: Arc<Mutex<Vec<String>>>,
}

impl MediaBot {
    pub(crate) async fn join(server: &Server, number: &str, name: &str, media_type: &str) -> Self {
        let url = live_url(&server.url("")).expect("the live URL");
        let mut p = Participant::connect(&url, None)
            .await
            .unwrap_or_else(|e| panic!("connecting {name}: {e:#}"));
        let request = JoinRequest {
            meeting_number: number.to_owned(),
            password: Some(ROOM_PASSWORD.to_owned()),
            display_name: name.to_owned(),
            device_type: "bot".to_owned(),
            media_type: media_type.to_owned(),
        };
        let joined = p
            .join(&request, &mut Ignore)
            .await
            .unwrap_or_else(|e| panic!("joining {name}: {e:?}"));
        let joined_at = Instant::now();
        let mut media = MediaSession::bind(LOOPBACK, media_type != "audio")
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let (stats_tx, stats) = watch::channel(MediaStats::default());
        let (frames_tx, frames) = tokio::sync::mpsc::unbounded_channel();
        let (stop, mut stopped) = watch::channel(false);
        let signalling = Arc::new(Mutex::new(Vec::new()));
        let record = signalling.clone();
        // Statistics ten times a second: the tests compare readings over spans of seconds.
        media.set_report_every(REPORT_EVERY);
        let behaviour = Behaviour::default();
        let task = tokio::spawn(async move {
            let mut tap = Tap {
                stats: stats_tx,
                frames: frames_tx,
                signalling: record,
            };
            let stop = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            let ended = p
                .run_with_media(behaviour, stop, &mut tap, &mut media)
                .await;
            let _ = tap.stats.send(media.stats().clone());
            ended
        });
        Self {
            client_uuid: joined.client_uuid,
            joined_at,
            stats,
            frames,
            stop,
            task,
            signalling,
        }
    }

    /// What it received from `other` so far (as of the last report, [`REPORT_EVERY`] old at most).
    fn from(&self, other: &MediaBot) -> FromParticipant {
        self.stats
            .borrow()
            .from
            .get(&other.client_uuid)
            .cloned()
            .unwrap_or_default()
    }

    /// Waits (at most `limit`) until `check` holds for its statistics.
    async fn wait_until(
        &mut self,
        what: &str,
        limit: Duration,
        check: impl Fn(&MediaStats) -> bool,
    ) {
        let waited = tokio::time::timeout(limit, self.stats.wait_for(|s| check(s)))
            .await
            .is_ok_and(|r| r.is_ok());
        assert!(
            waited,
            "{what}: not within {limit:?}: {:#?}\nsignalling received by {}: {:#?}",
            *self.stats.borrow(),
            self.client_uuid,
            self.signalling
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        );
    }

    /// Waits until it has had video and audio from each of `others`.
    pub(crate) async fn wait_for_media_from(&mut self, others: &[&str]) {
        let others: Vec<String> = others.iter().map(|s| (*s).to_owned()).collect();
        self.wait_until("media from the others", FLOW_WAIT, |s| {
            others.iter().all(|o| {
                s.from
                    .get(o)
                    .is_some_and(|f| f.video_frames > 0 && f.audio_frames > 0)
            })
        })
        .await;
    }

    /// The next server frame of `kind` (bounded).
    async fn frame_of(&mut self, kind: &str) -> Value {
        let deadline = tokio::time::Instant::now() + FLOW_WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.frames.recv())
                .await
                .unwrap_or_else(|_| panic!("no {kind} within {FLOW_WAIT:?}"))
                .unwrap_or_else(|| panic!("the connection ended before a {kind}"));
            if next["type"] == kind {
                return next;
            }
        }
    }

    /// Leaves and returns how it ended.
    pub(crate) async fn leave(self) -> (Ending, String) {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the participant ends in time")
            .expect("the participant task")
    }
}

/// Per other participant, the received counters at one moment.
fn snapshot(bot: &MediaBot) -> BTreeMap<String, FromParticipant> {
    bot.stats.borrow().from.clone()
}

#[tokio::test]
async fn a_late_joiner_gets_everyones_video_within_a_second() {
    let (_sandbox, server, _admin) = server_with_room_and("7720001", MEDIA_ARGS).await;
    let mut a = MediaBot::join(&server, "7720001", "A", "video").await;
    let mut b = MediaBot::join(&server, "7720001", "B", "video").await;
    a.wait_for_media_from(&[&b.client_uuid]).await;
    b.wait_for_media_from(&[&a.client_uuid]).await;

    let mut c = MediaBot::join(&server, "7720001", "C", "video").await;
    let others = [a.client_uuid.clone(), b.client_uuid.clone()];
    c.wait_until("video from A and B", FLOW_WAIT, |s| {
        others
            .iter()
            .all(|o| s.from.get(o).is_some_and(|f| f.first_video_frame.is_some()))
    })
    .await;
    for other in [&a, &b] {
        let from = c.from(other);
        let first = from.first_video_frame.expect("a first video frame");
        let after = first - c.joined_at;
        eprintln!(
            "C's first video frame from {} after {after:?}",
            other.client_uuid
        );
        assert!(
            after <= LATE_JOINER_LIMIT,
            "C's first video frame from {} came {after:?} after its join: {from:?}",
            other.client_uuid
        );
        assert_eq!(
            from.first_keyframe,
            Some(first),
            "video starts at a keyframe"
        );
    }
    // And the others get C.
    c.wait_until("C's publish connection", FLOW_WAIT, |s| {
        s.publish_connected.is_some()
    })
    .await;
    a.wait_for_media_from(&[&c.client_uuid]).await;
    b.wait_for_media_from(&[&c.client_uuid]).await;
    for bot in [a, b, c] {
        assert_eq!(bot.leave().await.0, Ending::Left);
    }
}

#[tokio::test]
async fn muted_audio_stops_at_the_others_while_video_goes_on() {
    let (_sandbox, server, admin) = server_with_room_and("7720002", MEDIA_ARGS).await;
    let mut a = MediaBot::join(&server, "7720002", "A", "video").await;
    let mut b = MediaBot::join(&server, "7720002", "B", "video").await;
    b.wait_for_media_from(&[&a.client_uuid]).await;
    a.wait_for_media_from(&[&b.client_uuid]).await;

    control(
        &server,
        &admin,
        "7720002",
        "mute",
        json!({"participants": [a.client_uuid], "allow_self_unmute": true}),
    )
    .await;
    let muted_at = Instant::now();
    // What was in flight has arrived after a second; then two seconds of nothing but video.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let before = b.from(&a);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = b.from(&a);
    assert_eq!(
        after.audio_frames, before.audio_frames,
        "A's audio still reaches B: {before:?} -> {after:?}"
    );
    assert!(
        after
            .last_audio_frame
            .is_some_and(|t| t < muted_at + Duration::from_millis(500)),
        "{after:?}"
    );
    assert!(
        after.video_frames >= before.video_frames + 20,
        "A's video stopped too: {before:?} -> {after:?}"
    );
    // B's audio still reaches A.
    let b_before = a.from(&b).audio_frames;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert!(a.from(&b).audio_frames > b_before + 20);

    // Unmuted, A is heard again.
    control(
        &server,
        &admin,
        "7720002",
        "unmute",
        json!({"participants": [a.client_uuid]}),
    )
    .await;
    let heard = after.audio_frames;
    b.wait_until("A's audio again", FLOW_WAIT, |s| {
        s.from.values().any(|f| f.audio_frames > heard + 10)
    })
    .await;
    for bot in [a, b] {
        assert_eq!(bot.leave().await.0, Ending::Left);
    }
}

#[tokio::test]
async fn a_disconnect_closes_the_participants_media() {
    let (_sandbox, server, admin) = server_with_room_and("7720003", MEDIA_ARGS).await;
    let mut a = MediaBot::join(&server, "7720003", "A", "video").await;
    let mut b = MediaBot::join(&server, "7720003", "B", "video").await;
    b.wait_for_media_from(&[&a.client_uuid]).await;
    a.wait_for_media_from(&[&b.client_uuid]).await;
    let a_id = a.client_uuid.clone();

    control(
        &server,
        &admin,
        "7720003",
        "disconnect",
        json!({"participants": [a_id]}),
    )
    .await;
    let disconnected_at = Instant::now();
    let (ending, why) = tokio::time::timeout(Duration::from_secs(10), a.task)
        .await
        .expect("A ends in time")
        .expect("A's task");
    assert_eq!(ending, Ending::Disconnected, "{why}");
    // Nothing of A reaches B any more (what was in flight aside).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = snapshot(&b).remove(&a_id).unwrap_or_default();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = snapshot(&b).remove(&a_id).unwrap_or_default();
    assert_eq!(
        (after.audio_frames, after.video_frames),
        (before.audio_frames, before.video_frames),
        "A's media goes on after the disconnect"
    );
    assert!(
        after
            .last_video_frame
            .is_some_and(|t| t < disconnected_at + Duration::from_millis(500))
    );
    // B is offered its subscribe connection again, without A's tracks (the frames since B
    // joined are queued: the first offers named A).
    let mut offers = 0;
    loop {
        let offer = b.frame_of("subscribe").await;
        offers += 1;
        assert!(offers < 20, "no offer without A's tracks");
        let tracks = offer["tracks"].as_array().cloned().unwrap_or_default();
        if tracks.iter().all(|t| t["client_uuid"] != a_id.as_str()) {
            break;
        }
    }
    assert_eq!(b.leave().await.0, Ending::Left);
}

#[tokio::test]
async fn a_viewer_with_max_views_1_is_sent_one_video_and_everyones_audio() {
    let (_sandbox, server, admin) = server_with_room_and("7720004", MEDIA_ARGS).await;
    let mut a = MediaBot::join(&server, "7720004", "A", "video").await;
    let b = MediaBot::join(&server, "7720004", "B", "video").await;
    let mut c = MediaBot::join(&server, "7720004", "C", "video").await;
    a.wait_for_media_from(&[&b.client_uuid, &c.client_uuid])
        .await;
    control(
        &server,
        &admin,
        "7720004",
        &format!("participant/{}/layout_change", a.client_uuid),
        json!({"max_views": 1}),
    )
    .await;
    let view = loop {
        let view = a.frame_of("view").await;
        if view["max_views"] == 1 {
            break view;
        }
    };
    let shown = view["shown"].as_array().cloned().unwrap_or_default();
    assert_eq!(shown.len(), 1, "{view}");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let before = snapshot(&a);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = snapshot(&a);
    let grew = |id: &str, f: fn(&FromParticipant) -> u64| {
        let of = |m: &BTreeMap<String, FromParticipant>| m.get(id).map_or(0, f);
        of(&after) - of(&before)
    };
    let videos: Vec<&String> = [&b.client_uuid, &c.client_uuid]
        .into_iter()
        .filter(|id| grew(id, |f| f.video_frames) > 0)
        .collect();
    assert_eq!(videos.len(), 1, "one video: {before:#?} -> {after:#?}");
    assert_eq!(Some(videos[0].as_str()), shown[0].as_str(), "the one shown");
    for id in [&b.client_uuid, &c.client_uuid] {
        assert!(grew(id, |f| f.audio_frames) > 50, "audio of {id}");
    }
    // The others still see everyone.
    c.wait_for_media_from(&[&a.client_uuid, &b.client_uuid])
        .await;
    for bot in [a, b, c] {
        assert_eq!(bot.leave().await.0, Ending::Left);
    }
}

#[tokio::test]
async fn plenum_bot_media_count_3_prints_what_each_receives_from_the_others() {
    let (_sandbox, server, _admin) = server_with_room_and("7720005", MEDIA_ARGS).await;
    let mut bot = Bot::start(
        &server,
        "7720005",
        &[
            "--meeting-password",
            ROOM_PASSWORD,
            "--media",
            "--count",
            "3",
            "--quiet",
            "--duration",
            "5",
        ],
    );
    // --quiet: only media_stats lines, one per bot per second.
    let first = bot
        .expect("a media_stats line", |v| v["type"] == "media_stats")
        .await;
    assert!(first["t"].as_u64().is_some(), "{first}");
    assert!(first["client_uuid"].as_str().is_some(), "{first}");
    let (status, lines, stderr) = bot.finish().await;
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        lines.iter().all(|l| l["type"] == "media_stats"),
        "{lines:#?}"
    );
    let mut last: BTreeMap<u64, &Value> = BTreeMap::new();
    for line in &lines {
        last.insert(line["bot"].as_u64().expect("bot"), line);
    }
    assert_eq!(last.len(), 3, "{lines:#?}");
    for (index, line) in &last {
        let from = line["from"].as_object().expect("from");
        assert_eq!(from.len(), 2, "bot {index} hears the two others: {line}");
        assert!(!from.contains_key(line["client_uuid"].as_str().unwrap_or_default()));
        for (id, counts) in from {
            for field in [
                "audio_packets",
                "video_packets",
                "bytes",
                "audio_frames",
                "video_frames",
            ] {
                assert!(
                    counts[field].as_u64().is_some_and(|n| n > 0),
                    "bot {index} from {id}: {field} in {line}"
                );
            }
            assert_eq!(counts["lost"], 0, "{line}");
        }
    }
}

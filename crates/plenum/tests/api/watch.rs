//! Live streaming (issue 13): `POST|DELETE /api/v1/meeting/{n}/live`, the watch page at the
//! meeting's `live_url`, WHEP viewers (seatless: not participants, counted as `viewers`), the
//! live passcode, the per-address limit, a browser playing the stream, and the RTMP push
//! through ffmpeg to a loopback ingest.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use plenum_testkit::TestApp;
use plenum_testkit::live::LiveClient;
use reqwest::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use str0m::media::{Direction, MediaKind};
use str0m::{Candidate, Rtc};

use crate::browser::Browser;
use crate::media::{MediaBot, eventually};
use crate::{assert_frtc_error, room, s};

/// A WHEP viewer's offer as a WebRTC client makes it: receive-only Opus and VP8.
fn viewer_offer() -> String {
    let mut rtc = Rtc::builder()
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .build(Instant::now());
    let local: SocketAddr = "127.0.0.1:9".parse().expect("an address");
    rtc.add_local_candidate(Candidate::host(local, "udp").expect("a candidate"));
    let mut change = rtc.sdp_api();
    change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    change.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    let (offer, _pending) = change.apply().expect("an offer");
    offer.to_sdp_string()
}

async fn start_live(
    app: &TestApp,
    token: &str,
    number: &str,
    body: Value,
) -> plenum_testkit::Reply {
    app.post(&format!("/api/v1/meeting/{number}/live"), Some(token), body)
        .await
}

async fn detail(app: &TestApp, token: &str, number: &str) -> Value {
    let reply = app
        .get(&format!("/api/v1/meeting/{number}"), Some(token))
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    reply.body
}

/// The live id of a meeting streaming now: the last part of its `live_url`.
async fn live_id(app: &TestApp, token: &str, number: &str) -> String {
    let d = detail(app, token, number).await;
    let url = s(&d, "live_url");
    let (prefix, id) = url.rsplit_once('/').expect("a live url with a path");
    assert!(prefix.ends_with("/live"), "{url}");
    id.to_owned()
}

/// `POST /live/{id}/whep` with `content_type` and, when given, the passcode as bearer.
async fn whep(
    app: &TestApp,
    id: &str,
    passcode: Option<&str>,
    content_type: &str,
    offer: String,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(&format!("/live/{id}/whep")))
        .header(CONTENT_TYPE, content_type)
        .body(offer);
    if let Some(passcode) = passcode {
        request = request.bearer_auth(passcode);
    }
    request.send().await.expect("the WHEP request")
}

async fn json_of(response: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Value) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

#[track_caller]
fn assert_error(status: u16, body: &Value, want_status: u16, code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["errorCode"], code, "{body}");
    assert!(!body["error"].as_str().unwrap_or("").is_empty(), "{body}");
}

async fn status_of(app: &TestApp, id: &str) -> (u16, Value) {
    let response = app
        .client
        .get(app.url(&format!("/live/{id}/status")))
        .send()
        .await
        .expect("the status request");
    let code = response.status().as_u16();
    (code, response.json().await.unwrap_or(Value::Null))
}

/// A running meeting (with one participant without media) on a server with media.
async fn running_meeting(number: &str) -> (TestApp, String, LiveClient) {
    let app = TestApp::spawn().await;
    assert!(app.media_addr().is_some(), "the test server carries media");
    let token = app.admin_token().await;
    room(&app, &token, number).await;
    let mut host = LiveClient::connect(&app, None).await;
    host.join_ok(number, Some("1234"), "Host").await;
    (app, token, host)
}

#[tokio::test]
async fn a_viewer_watches_over_whep_without_a_seat() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    room(&app, &token, "7300001").await;
    let ann = MediaBot::join(&app, "7300001", "Ann", true).await;
    let bob = MediaBot::join(&app, "7300001", "Bob", true).await;

    let reply = start_live(&app, &token, "7300001", json!({"live_password": "4321"})).await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    let d = detail(&app, &token, "7300001").await;
    assert_eq!(d["live"], true, "{d}");
    assert_eq!(d["live_passcode"], "4321", "{d}");
    assert_eq!(d["viewers"], 0, "{d}");
    let id = live_id(&app, &token, "7300001").await;

    // The page, and what it shows of the stream.
    let page = app
        .client
        .get(app.url(&format!("/live/{id}")))
        .send()
        .await
        .expect("the page");
    assert_eq!(page.status().as_u16(), 200);
    let csp = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(
        page.text()
            .await
            .unwrap_or_default()
            .contains("/watch/assets/watch.js")
    );
    let (code, status) = status_of(&app, &id).await;
    assert_eq!(code, 200, "{status}");
    assert_eq!(
        status,
        json!({"name": "Room 7300001", "live": true, "passcode_required": true, "viewers": 0})
    );

    // Refusals: a wrong passcode, no passcode, not SDP, too large, a stream that is not.
    let (code, headers, body) =
        json_of(whep(&app, &id, Some("1111"), "application/sdp", viewer_offer()).await).await;
    assert_error(code, &body, 401, "invalid_credentials");
    let challenge = headers
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(challenge.starts_with("Bearer"), "{challenge:?}");
    let (code, _, body) =
        json_of(whep(&app, &id, None, "application/sdp", viewer_offer()).await).await;
    assert_error(code, &body, 401, "invalid_credentials");
    let (code, _, body) =
        json_of(whep(&app, &id, Some("4321"), "application/json", viewer_offer()).await).await;
    assert_error(code, &body, 415, "unsupported_media_type");
    let (code, _, body) = json_of(
        whep(
            &app,
            &id,
            Some("4321"),
            "application/sdp",
            "v".repeat(70_000),
        )
        .await,
    )
    .await;
    assert_error(code, &body, 413, "payload_too_large");
    let (code, _, body) =
        json_of(whep(&app, &id, Some("4321"), "application/sdp", "not sdp".into()).await).await;
    assert_eq!(code, 400, "{body}");
    let (code, _, body) = json_of(
        whep(
            &app,
            "nosuchstream",
            Some("4321"),
            "application/sdp",
            viewer_offer(),
        )
        .await,
    )
    .await;
    assert_error(code, &body, 404, "not_found");
    let (code, body) = status_of(&app, "nosuchstream").await;
    assert_error(code, &body, 404, "not_found");

    // The viewer: 201, its session's Location, the answer.
    let response = whep(&app, &id, Some("4321"), "application/sdp", viewer_offer()).await;
    assert_eq!(response.status().as_u16(), 201);
    let headers = response.headers().clone();
    assert_eq!(
        headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()),
        Some("application/sdp")
    );
    let location = headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("a Location")
        .to_owned();
    assert!(
        location.starts_with(&format!("/live/{id}/whep/")),
        "{location}"
    );
    let answer = response.text().await.expect("the answer");
    assert!(answer.starts_with("v=0"), "{answer}");
    assert!(
        answer.contains("a=candidate"),
        "the answer has the server's candidate: {answer}"
    );
    assert!(
        answer.contains("VP8") && answer.contains("opus"),
        "{answer}"
    );

    // A viewer is counted, and is no participant.
    let d = detail(&app, &token, "7300001").await;
    assert!(d["viewers"].as_u64() >= Some(1), "{d}");
    let mut participants: Vec<&str> = d["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .map(|p| p["name"].as_str().unwrap_or(""))
        .collect();
    participants.sort_unstable();
    assert_eq!(participants, vec!["Ann", "Bob"], "{d}");
    let (_, status) = status_of(&app, &id).await;
    assert!(status["viewers"].as_u64() >= Some(1), "{status}");
    let list = app.get("/api/v1/meeting", Some(&token)).await.body;
    assert_eq!(list["meetings"][0]["participant_count"], 2, "{list}");

    // No trickle ICE; DELETE ends the session.
    let patch = app
        .client
        .patch(app.url(&location))
        .header(CONTENT_TYPE, "application/trickle-ice-sdpfrag")
        .body("a=end-of-candidates\r\n")
        .send()
        .await
        .expect("PATCH");
    let (code, _, body) = json_of(patch).await;
    assert_error(code, &body, 405, "method_not_allowed");
    let delete = app
        .client
        .delete(app.url(&location))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(delete.status().as_u16(), 200);
    let started = Instant::now();
    loop {
        let d = detail(&app, &token, "7300001").await;
        if d["viewers"] == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the viewer is still counted: {d}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Live once at a time (starting again with another passcode changes the passcode).
    let reply = start_live(&app, &token, "7300001", json!({"live_password": "4321"})).await;
    assert_frtc_error(&reply, 409, "already_live");

    // Stopped: the status says so and WHEP finds no stream.
    let reply = app
        .call(
            reqwest::Method::DELETE,
            "/api/v1/meeting/7300001/live",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    let (code, status) = status_of(&app, &id).await;
    assert_eq!(code, 200);
    assert_eq!(status["live"], false, "{status}");
    let (code, _, body) =
        json_of(whep(&app, &id, Some("4321"), "application/sdp", viewer_offer()).await).await;
    assert_error(code, &body, 404, "not_found");
    ann.leave().await;
    bob.leave().await;
}

#[tokio::test]
async fn a_live_start_refuses_what_it_cannot_push_to() {
    let (app, token, _host) = running_meeting("7300002").await;
    let reply = start_live(&app, &token, "7300002", json!({"rtmp_url": "http://x"})).await;
    assert_frtc_error(&reply, 400, "invalid_url");
    assert!(
        reply.body["error"].as_str().unwrap_or("").contains("rtmp"),
        "{}",
        reply.body
    );
    let reply = start_live(&app, &token, "7300002", json!({"live_password": "12"})).await;
    assert_frtc_error(&reply, 400, "invalid_password");
    // Nothing started.
    assert_eq!(detail(&app, &token, "7300002").await["live"], false);

    // A server whose ffmpeg cannot run says so.
    let app = TestApp::spawn_with(|s| {
        s.recordings.ffmpeg = "/nonexistent/ffmpeg".into();
    })
    .await;
    let token = app.admin_token().await;
    room(&app, &token, "7300003").await;
    let mut host = LiveClient::connect(&app, None).await;
    host.join_ok("7300003", Some("1234"), "Host").await;
    let reply = start_live(
        &app,
        &token,
        "7300003",
        json!({"rtmp_url": "rtmp://127.0.0.1:1935/live/key"}),
    )
    .await;
    assert_frtc_error(&reply, 503, "ffmpeg_unavailable");
    assert_eq!(detail(&app, &token, "7300003").await["live"], false);
    // Without a push, the same server streams.
    let reply = start_live(&app, &token, "7300003", json!({})).await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
}

#[tokio::test]
async fn new_viewers_are_limited_per_address() {
    let (app, token, _host) = running_meeting("7300004").await;
    let reply = start_live(&app, &token, "7300004", json!({})).await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    let id = live_id(&app, &token, "7300004").await;
    let (_, status) = status_of(&app, &id).await;
    assert_eq!(status["passcode_required"], false, "{status}");
    for i in 0..plenum_service::VIEWERS_PER_ADDRESS {
        let response = whep(&app, &id, None, "application/sdp", viewer_offer()).await;
        assert_eq!(response.status().as_u16(), 201, "viewer {i}");
    }
    let (code, headers, body) =
        json_of(whep(&app, &id, None, "application/sdp", viewer_offer()).await).await;
    assert_error(code, &body, 429, "too_many_attempts");
    let wait: u64 = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After");
    assert!((1..=60).contains(&wait), "{wait}");
}

/// Inbound video frames decoded and audio packets received, from the page's connection.
const STATS: &str = "(async () => { const pc = window.plenumWatch.peer(); if (!pc) return null; \
    const r = await pc.getStats(); let v = 0, a = 0; \
    r.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') v = s.framesDecoded || 0; \
    if (s.type === 'inbound-rtp' && s.kind === 'audio') a = s.packetsReceived || 0; }); \
    return [v, a]; })()";

fn submit_passcode(passcode: &str) -> String {
    format!(
        "(() => {{ const i = document.getElementById('passcode'); i.value = '{passcode}'; \
         document.getElementById('passcode-form').requestSubmit(); return true; }})()"
    )
}

#[tokio::test]
async fn the_watch_page_plays_the_stream_with_the_passcode_and_shows_its_end() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    room(&app, &token, "7300010").await;
    let ann = MediaBot::join(&app, "7300010", "Ann", true).await;
    let bob = MediaBot::join(&app, "7300010", "Bob", true).await;
    let reply = start_live(&app, &token, "7300010", json!({"live_password": "2468"})).await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    let id = live_id(&app, &token, "7300010").await;

    let browser = Browser::launch().await;
    let mut page = browser.open(&app.url(&format!("/live/{id}"))).await;
    page.wait_for("!document.getElementById('passcode-form').hidden")
        .await;
    page.wait_for("document.getElementById('title').textContent.includes('Room 7300010')")
        .await;

    // A wrong passcode: the page says so and asks again.
    page.eval(&submit_passcode("1357")).await;
    page.wait_for(
        "document.getElementById('alert').textContent.includes('Wrong passcode') \
         && !document.getElementById('passcode-form').hidden",
    )
    .await;

    // The right one: video frames are decoded and audio packets arrive, and keep coming.
    page.eval(&submit_passcode("2468")).await;
    page.wait_for_within(
        &format!("{STATS}.then((s) => !!s && s[0] > 0 && s[1] > 0)"),
        Duration::from_secs(30),
    )
    .await;
    let first = page.eval(STATS).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let later = page.eval(STATS).await;
    assert!(
        later[0].as_u64() > first[0].as_u64() && later[1].as_u64() > first[1].as_u64(),
        "frames decoded and audio packets grow: {first} then {later}"
    );
    page.wait_for("document.getElementById('status').textContent.includes('Watching')")
        .await;
    assert!(
        page.eval("document.getElementById('passcode-form').hidden")
            .await
            == true
    );
    let d = detail(&app, &token, "7300010").await;
    assert!(d["viewers"].as_u64() >= Some(1), "{d}");
    assert_eq!(d["participants"].as_array().map(Vec::len), Some(2), "{d}");
    page.wait_for("Number(document.getElementById('viewers').textContent) >= 1")
        .await;
    page.screenshot("watch-playing").await;

    // Stopped: the page says the stream has ended and lets its connection go.
    let reply = app
        .call(
            reqwest::Method::DELETE,
            "/api/v1/meeting/7300010/live",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    page.wait_for_within(
        "!document.getElementById('ended').hidden \
         && document.getElementById('status').textContent.includes('The live stream has ended') \
         && window.plenumWatch.peer() === null",
        Duration::from_secs(10),
    )
    .await;
    page.screenshot("watch-ended").await;
    ann.leave().await;
    bob.leave().await;
}

/// Whether a socket listens on TCP `port` of 127.0.0.1 (Linux: `/proc/net/tcp`).
fn listens(port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let local = format!("0100007F:{port:04X}");
    table.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.get(1) == Some(&local.as_str()) && fields.get(3) == Some(&"0A")
    })
}

/// Whether `program -version` runs.
fn runs(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("-version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test]
async fn the_stream_is_pushed_to_an_rtmp_ingest_as_h264_and_aac() {
    if !runs("ffmpeg") || !runs("ffprobe") {
        eprintln!("SKIPPED: ffmpeg and ffprobe are not installed (scripts/install-test-deps.sh)");
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().join("ingest.flv");
    let port = plenum_testkit::s3::free_port();
    let ingest_url = format!("rtmp://127.0.0.1:{port}/live/test");
    // The ingest: takes one RTMP connection and keeps 4 s of it, as it came.
    let mut ingest = tokio::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(["-listen", "1", "-i", &ingest_url])
        .args(["-t", "4", "-c", "copy"])
        .arg(&out)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the ingest ffmpeg");
    // Wait until the ingest listens. Look, don't touch: a connection would use up its one
    // accept, and binding the port to see whether it is taken could make ffmpeg's bind fail.
    let listening = Instant::now();
    while !listens(port) {
        assert!(
            listening.elapsed() < Duration::from_secs(10),
            "the ingest does not listen"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    room(&app, &token, "7300020").await;
    let ann = MediaBot::join(&app, "7300020", "Ann", true).await;
    let bob = MediaBot::join(&app, "7300020", "Bob", true).await;
    eventually(Duration::from_secs(10), "the bots see each other", || {
        ann.received_from(&bob).video_frames > 5
    })
    .await;
    let reply = start_live(&app, &token, "7300020", json!({"rtmp_url": ingest_url})).await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);

    let finished = tokio::time::timeout(Duration::from_secs(40), ingest.wait()).await;
    let stderr = match ingest.stderr.take() {
        Some(mut e) => {
            let mut text = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut e, &mut text).await;
            text
        }
        None => String::new(),
    };
    let status = finished
        .unwrap_or_else(|_| panic!("the ingest did not get 4 s of stream within 40 s: {stderr}"))
        .expect("the ingest ran");
    assert!(status.success(), "the ingest failed: {stderr}");
    let reply = app
        .call(
            reqwest::Method::DELETE,
            "/api/v1/meeting/7300020/live",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);

    // What the ingest got: H.264 video and AAC audio that decode without errors.
    let probe = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,codec_type",
        ])
        .args(["-of", "csv=p=0"])
        .arg(&out)
        .output()
        .expect("ffprobe");
    let streams = String::from_utf8_lossy(&probe.stdout).to_string();
    assert!(streams.contains("h264,video"), "{streams}");
    assert!(streams.contains("aac,audio"), "{streams}");
    let decode = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&out)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg decoding");
    assert!(
        decode.status.success() && decode.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&decode.stderr)
    );
    let frames = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(&out)
        .output()
        .expect("ffprobe frames");
    let frames: u64 = String::from_utf8_lossy(&frames.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    assert!(frames >= 30, "{frames} video frames in 4 s");
    ann.leave().await;
    bob.leave().await;
}

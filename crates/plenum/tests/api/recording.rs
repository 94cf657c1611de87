//! Recordings the server makes: media bots publish over loopback UDP while a host records;
//! the files are checked with ffmpeg and with a Rust demuxer, listed by Telnyx and Rokid,
//! downloaded with ranges through their links, and deleted with their rows.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use plenum_testkit::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

use crate::history_fixture::{create_key, send};
use crate::media::{MediaBot, eventually};
use crate::{assert_frtc_error, room};

/// Whether ffmpeg is here (the test scripts install it; a bare machine skips the checks that
/// need it, saying so).
fn ffmpeg() -> bool {
    Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `ffmpeg -v error -xerror -i FILE -f null -` prints nothing and succeeds.
fn assert_decodes(file: &Path) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-xerror", "-i"])
        .arg(file)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "{} does not decode cleanly: {stderr}",
        file.display()
    );
}

/// The container's duration as ffprobe reads it, in seconds.
fn probed_duration(file: &Path) -> f64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration", "-of"])
        .arg("default=noprint_wrappers=1:nokey=1")
        .arg(file)
        .output()
        .expect("ffprobe runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("no duration for {}", file.display()))
}

/// The codecs and the first video frame's keyframe flag, read with a Rust demuxer.
fn demuxed(file: &Path) -> (Vec<String>, Option<bool>) {
    let mut mkv = matroska_demuxer::MatroskaFile::open(std::fs::File::open(file).expect("open"))
        .expect("a Matroska file");
    let tracks: Vec<(u64, String, bool)> = mkv
        .tracks()
        .iter()
        .map(|t| {
            (
                t.track_number().get(),
                t.codec_id().to_owned(),
                t.track_type() == matroska_demuxer::TrackType::Video,
            )
        })
        .collect();
    if let Some(opus) = mkv.tracks().iter().find(|t| t.codec_id() == "A_OPUS") {
        let private = opus.codec_private().expect("Opus carries its OpusHead");
        assert!(
            private.starts_with(b"OpusHead"),
            "CodecPrivate is an OpusHead"
        );
    }
    let video = tracks.iter().find(|t| t.2).map(|t| t.0);
    let mut first_video_key = None;
    let mut frame = matroska_demuxer::Frame::default();
    while first_video_key.is_none() && mkv.next_frame(&mut frame).expect("frames read") {
        if Some(frame.track) == video {
            first_video_key = Some(frame.is_keyframe.unwrap_or(false));
        }
    }
    (tracks.into_iter().map(|t| t.1).collect(), first_video_key)
}

async fn recordings(app: &TestApp, key: &str, query: &str) -> Value {
    let reply = send(
        app,
        Method::GET,
        &format!("/v2/room_recordings{query}"),
        &[("authorization", &format!("Bearer {key}"))],
        None,
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    reply.body
}

/// Waits until `n` recordings are listed and none is processing; returns them.
async fn completed(app: &TestApp, key: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = recordings(app, key, "?page[size]=50").await;
        let list = body["data"].as_array().cloned().unwrap_or_default();
        if list.len() >= n && list.iter().all(|r| r["status"] != "processing") {
            return list;
        }
        assert!(
            Instant::now() < deadline,
            "recordings not completed in time: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn download(app: &TestApp, url: &str, dir: &Path, name: &str) -> std::path::PathBuf {
    let response = app.client.get(url).send().await.expect("download");
    assert_eq!(response.status().as_u16(), 200, "{url}");
    let bytes = response.bytes().await.expect("body");
    let path = dir.join(name);
    std::fs::write(&path, &bytes).expect("write");
    path
}

#[tokio::test]
async fn recording_makes_playable_files_that_the_surfaces_list_serve_and_delete() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let key = create_key(&app, &token, "recordings", "api_key").await["api_key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    room(&app, &token, "7300001").await;
    let ann = MediaBot::join(&app, "7300001", "Ann", true).await;
    let bob = MediaBot::join(&app, "7300001", "Bob", true).await;
    eventually(Duration::from_secs(15), "media flows both ways", || {
        ann.received_from(&bob).video_frames > 10 && bob.received_from(&ann).video_frames > 10
    })
    .await;

    let start = app
        .post("/api/v1/meeting/7300001/recording", Some(&token), json!({}))
        .await;
    assert!(start.status.is_success(), "{}", start.body);
    let recording_started = Instant::now();
    let again = app
        .post("/api/v1/meeting/7300001/recording", Some(&token), json!({}))
        .await;
    assert_frtc_error(&again, 409, "already_recording");
    // While it runs, the meeting recording is listed, processing.
    let running = recordings(&app, &key, "?filter[status]=processing").await;
    assert!(
        !running["data"].as_array().expect("data").is_empty(),
        "{running}"
    );

    tokio::time::sleep(Duration::from_secs(4)).await;
    let stop = app
        .call(
            Method::DELETE,
            "/api/v1/meeting/7300001/recording",
            Some(&token),
            None,
        )
        .await;
    assert!(stop.status.is_success(), "{}", stop.body);
    let recorded = recording_started.elapsed().as_secs_f64();
    let stop_again = app
        .call(
            Method::DELETE,
            "/api/v1/meeting/7300001/recording",
            Some(&token),
            None,
        )
        .await;
    assert_frtc_error(&stop_again, 409, "not_recording");

    // One meeting recording and, for each of the two, one audio and one video recording.
    let list = completed(&app, &key, 5).await;
    assert_eq!(list.len(), 5, "{list:?}");
    assert!(list.iter().all(|r| r["status"] == "completed"), "{list:?}");
    let meeting: Vec<&Value> = list
        .iter()
        .filter(|r| r["participant_id"].is_null())
        .collect();
    assert_eq!(meeting.len(), 1, "one meeting recording: {list:?}");
    let mut per_participant: Vec<(String, String)> = list
        .iter()
        .filter(|r| !r["participant_id"].is_null())
        .map(|r| {
            (
                r["type"].as_str().unwrap_or_default().to_owned(),
                r["codec"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    per_participant.sort();
    assert_eq!(
        per_participant,
        vec![
            ("audio".to_owned(), "opus".to_owned()),
            ("audio".to_owned(), "opus".to_owned()),
            ("video".to_owned(), "vp8".to_owned()),
            ("video".to_owned(), "vp8".to_owned()),
        ]
    );
    for r in &list {
        assert!(r["size_mb"].as_f64().unwrap_or(0.0) > 0.0, "{r}");
        assert!(!r["completed_at"].is_null(), "{r}");
        let secs = r["duration_secs"].as_u64().unwrap_or(0) as f64;
        assert!(
            (secs - recorded).abs() <= 1.5,
            "duration_secs {secs} for {recorded:.1} s recorded: {r}"
        );
    }

    let dir = tempfile::tempdir().expect("temp dir");
    for (i, r) in list.iter().enumerate() {
        let url = r["download_url"].as_str().expect("download_url");
        assert!(url.starts_with(&app.base_url), "{url}");
        let file = download(&app, url, dir.path(), &format!("{i}.webm")).await;
        let (codecs, first_video_key) = demuxed(&file);
        match (r["participant_id"].is_null(), r["type"].as_str()) {
            (true, _) => {
                assert_eq!(codecs, vec!["A_OPUS", "V_VP8"], "the meeting recording");
                assert_eq!(first_video_key, Some(true), "starts at a keyframe");
            }
            (false, Some("audio")) => assert_eq!(codecs, vec!["A_OPUS"]),
            _ => {
                assert_eq!(codecs, vec!["V_VP8"]);
                assert_eq!(first_video_key, Some(true), "starts at a keyframe");
            }
        }
        if ffmpeg() {
            assert_decodes(&file);
            let probed = probed_duration(&file);
            assert!(
                (probed - recorded).abs() <= 1.0,
                "{} holds {probed:.2} s of {recorded:.2} s recorded",
                file.display()
            );
        } else {
            eprintln!("SKIPPED ffmpeg checks: ffmpeg is not installed");
        }
    }

    // Ranges: the first 100 bytes of the meeting recording.
    let url = meeting[0]["download_url"].as_str().expect("url");
    let whole = app
        .client
        .get(url)
        .send()
        .await
        .expect("get")
        .bytes()
        .await
        .expect("body");
    let part = app
        .client
        .get(url)
        .header("range", "bytes=0-99")
        .send()
        .await
        .expect("range");
    assert_eq!(part.status().as_u16(), 206);
    assert_eq!(&part.bytes().await.expect("body")[..], &whole[..100]);

    // FRTC's meeting detail links it while the meeting runs, and its recordings call lists
    // all five.
    let detail = app.get("/api/v1/meeting/7300001", Some(&token)).await;
    let frtc_url = detail.body["recording_url"].as_str().unwrap_or_default();
    assert!(frtc_url.starts_with(&app.base_url), "{}", detail.body);
    let served = app.client.get(frtc_url).send().await.expect("get");
    assert_eq!(served.bytes().await.expect("body"), whole);
    let of_meeting = app
        .get("/api/v1/meeting/7300001/recordings", Some(&token))
        .await;
    assert_eq!(of_meeting.body["total_size"], 5, "{}", of_meeting.body);

    // Rokid's meeting list links the meeting recording.
    let company = app.get("/api/v1/company", Some(&token)).await.body["company_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let rokid = send(
        &app,
        Method::POST,
        "/ar/corporation/openapi/rtc/meeting/info/page",
        &[("authorization", &format!("Bearer {key}"))],
        Some(json!({"companyId": company})),
    )
    .await;
    assert_eq!(rokid.status.as_u16(), 200, "{}", rokid.body);
    let egress = rokid.body["list"][0]["egressRecordUrl"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(egress.starts_with(&app.base_url), "{}", rokid.body);
    let served = app.client.get(&egress).send().await.expect("egress");
    assert_eq!(served.bytes().await.expect("body"), whole);

    // Telnyx's delete removes the row and the file; bulk delete the rest.
    let one = list[0]["id"].as_str().expect("id");
    let one_url = list[0]["download_url"].as_str().expect("url").to_owned();
    let deleted = send(
        &app,
        Method::DELETE,
        &format!("/v2/room_recordings/{one}"),
        &[("authorization", &format!("Bearer {key}"))],
        None,
    )
    .await;
    assert_eq!(deleted.status.as_u16(), 204, "{}", deleted.body);
    assert_eq!(
        app.client
            .get(&one_url)
            .send()
            .await
            .expect("get")
            .status()
            .as_u16(),
        404,
        "the file went with the row"
    );
    let bulk = send(
        &app,
        Method::DELETE,
        "/v2/room_recordings",
        &[("authorization", &format!("Bearer {key}"))],
        None,
    )
    .await;
    assert_eq!(bulk.body["data"]["room_recordings"], 4, "{}", bulk.body);
    let left: Vec<_> = walk(&app.data_dir().join("recordings"));
    assert!(left.is_empty(), "files left after the deletes: {left:?}");

    ann.leave().await;
    bob.leave().await;
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Two media bots in `number` while the host records for `secs` seconds.
async fn record_for(app: &TestApp, token: &str, number: &str, secs: u64) {
    room(app, token, number).await;
    let ann = MediaBot::join(app, number, "Ann", true).await;
    let bob = MediaBot::join(app, number, "Bob", true).await;
    eventually(Duration::from_secs(15), "media flows both ways", || {
        ann.received_from(&bob).video_frames > 5 && bob.received_from(&ann).video_frames > 5
    })
    .await;
    let path = format!("/api/v1/meeting/{number}/recording");
    let start = app.post(&path, Some(token), json!({})).await;
    assert!(start.status.is_success(), "{}", start.body);
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let stop = app.call(Method::DELETE, &path, Some(token), None).await;
    assert!(stop.status.is_success(), "{}", stop.body);
    // The meeting goes on whatever became of its files.
    let detail = app
        .get(&format!("/api/v1/meeting/{number}"), Some(token))
        .await;
    assert_eq!(detail.status.as_u16(), 200, "{}", detail.body);
    ann.leave().await;
    bob.leave().await;
}

async fn key_of(app: &TestApp, token: &str) -> String {
    create_key(app, token, "recordings", "api_key").await["api_key"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn recordings_go_to_s3_compatible_storage_and_are_served_from_it() {
    let moto = plenum_testkit::s3::MotoS3::start("meetings").await;
    let config = crate::recording_files::s3_config(&moto.endpoint, &moto.bucket);
    let app = TestApp::spawn_with(|s| s.recordings.s3 = Some(config)).await;
    let token = app.admin_token().await;
    let key = key_of(&app, &token).await;
    record_for(&app, &token, "7300002", 3).await;
    let list = completed(&app, &key, 5).await;
    assert!(list.iter().all(|r| r["status"] == "completed"), "{list:?}");
    let dir = tempfile::tempdir().expect("temp dir");
    for (i, r) in list.iter().enumerate() {
        let url = r["download_url"].as_str().expect("url");
        let file = download(&app, url, dir.path(), &format!("{i}.webm")).await;
        if ffmpeg() {
            assert_decodes(&file);
        }
    }
    // The files are in the bucket, under the company's prefix, and not left on local disk.
    let company = app.get("/api/v1/company", Some(&token)).await.body["company_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let store = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(&moto.endpoint)
        .with_bucket_name(&moto.bucket)
        .with_region(plenum_testkit::s3::REGION)
        .with_access_key_id(plenum_testkit::s3::ACCESS_KEY_ID)
        .with_secret_access_key(plenum_testkit::s3::SECRET_ACCESS_KEY)
        .with_allow_http(true)
        .build()
        .expect("an S3 client");
    use futures::TryStreamExt as _;
    let objects: Vec<_> = object_store::ObjectStore::list(&store, None)
        .try_collect()
        .await
        .expect("list the bucket");
    assert_eq!(objects.len(), 5, "{objects:?}");
    assert!(
        objects
            .iter()
            .all(|o| o.location.as_ref().starts_with(&company)),
        "{objects:?}"
    );
    let spooled = walk(&app.data_dir().join("recordings"));
    assert!(
        spooled
            .iter()
            .all(|p| !p.to_string_lossy().ends_with(".webm")),
        "{spooled:?}"
    );
}

#[tokio::test]
async fn an_unreachable_object_store_fails_the_recording_visibly_and_the_meeting_goes_on() {
    // Nobody listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let config = crate::recording_files::s3_config(&endpoint, "nowhere");
    let app = TestApp::spawn_with(|s| s.recordings.s3 = Some(config)).await;
    let token = app.admin_token().await;
    let key = key_of(&app, &token).await;
    record_for(&app, &token, "7300003", 2).await;
    let list = completed(&app, &key, 5).await;
    assert!(list.iter().all(|r| r["status"] == "failed"), "{list:?}");
    // The reason is told (FRTC's recordings) and names the store.
    let frtc = app.get("/api/v1/history/recordings", Some(&token)).await;
    assert_eq!(frtc.status.as_u16(), 200, "{}", frtc.body);
    let recordings = frtc.body["recordings"].as_array().expect("recordings");
    assert_eq!(recordings.len(), 5, "{}", frtc.body);
    for r in recordings {
        assert_eq!(r["status"], "failed", "{r}");
        let failure = r["failure"].as_str().unwrap_or_default();
        assert!(failure.contains(&endpoint), "{r}");
        assert_eq!(r["download_url"], "", "{r}");
    }
}

#[tokio::test]
async fn retention_deletes_expired_recordings_and_their_files() {
    let mut app = TestApp::spawn_with(|s| s.recordings.retention_days = 1).await;
    let token = app.admin_token().await;
    let key = key_of(&app, &token).await;
    record_for(&app, &token, "7300004", 2).await;
    assert_eq!(completed(&app, &key, 5).await.len(), 5);
    assert!(!walk(&app.data_dir().join("recordings")).is_empty());
    // A day later nothing has expired yet; two days later everything has.
    app.clock.advance(Duration::from_secs(20 * 3600));
    app.restart().await;
    assert_eq!(completed(&app, &key, 5).await.len(), 5, "kept for a day");
    app.clock.advance(Duration::from_secs(28 * 3600));
    app.restart().await;
    // The rows go first, in one transaction; their files are removed right after it, so
    // both are waited for.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = recordings(&app, &key, "").await;
        let left: Vec<_> = walk(&app.data_dir().join("recordings"))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "webm"))
            .collect();
        if body["data"].as_array().is_some_and(Vec::is_empty) && left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not expired: {body}; files left: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

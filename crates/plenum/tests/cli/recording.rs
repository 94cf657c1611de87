//! Recording and the real binary: a `plenum serve` killed (-9) while it records leaves files
//! that the next start makes playable, and completes their recordings with the duration
//! they hold.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::bot::{Bot, ROOM_PASSWORD, control, server_with_room_and};
use crate::{ADMIN_PASSWORD, Server};

/// `plenum bot --media --count 2` in `number`, once each receives the other's video.
async fn two_media_bots(server: &Server, number: &str) -> Bot {
    let mut bots = Bot::start(
        server,
        number,
        &[
            "--meeting-password",
            ROOM_PASSWORD,
            "--media",
            "--count",
            "2",
            "--quiet",
            "--duration",
            "30",
        ],
    );
    bots.expect("media from the other bot", |v| {
        v["type"] == "media_stats"
            && v["from"]
                .as_object()
                .is_some_and(|f| f.values().any(|c| c["video_frames"].as_u64() > Some(5)))
    })
    .await;
    bots
}

async fn recordings(server: &Server, key: &str) -> Value {
    reqwest::Client::new()
        .get(server.url("/v2/room_recordings?page[size]=50"))
        .bearer_auth(key)
        .send()
        .await
        .expect("list recordings")
        .json()
        .await
        .expect("a JSON list")
}

#[tokio::test]
async fn a_recording_cut_by_a_kill_9_is_playable_and_completed_after_the_restart() {
    let (sandbox, server, admin) =
        server_with_room_and("7400001", &["--media-listen", "127.0.0.1:0"]).await;
    let key = server
        .post(
            "/api/v1/api_keys",
            Some(&admin),
            Some(json!({"name": "ops", "kind": "api_key"})),
        )
        .await;
    let key = key.body["api_key"].as_str().expect("an API key").to_owned();
    // Media flows: each bot reports frames from the other.
    let bots = two_media_bots(&server, "7400001").await;
    control(&server, &admin, "7400001", "recording", json!({})).await;
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    // The rows are there (processing) before the kill: acknowledged.
    let before = recordings(&server, &key).await;
    let listed = before["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), 5, "meeting + 2 × (audio, video): {before}");
    assert!(
        listed.iter().all(|r| r["status"] == "processing"),
        "{before}"
    );
    let recorded = started.elapsed().as_secs_f64();
    server.crash().await;
    drop(bots);

    let server = sandbox
        .serve(&["--admin-password", ADMIN_PASSWORD], &[])
        .await;
    let log = server.stderr();
    assert!(
        log.contains("finished the recordings a previous run left open"),
        "{log}"
    );
    let after = recordings(&server, &key).await;
    let list = after["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 5, "{after}");
    let dir = tempfile::tempdir().expect("temp dir");
    for (i, r) in list.iter().enumerate() {
        assert_eq!(r["status"], "completed", "{r}");
        let secs = r["duration_secs"].as_u64().expect("duration_secs") as f64;
        // What was written before the kill, less what was still in memory (under 1 s).
        assert!(
            secs >= recorded - 2.0 && secs <= recorded + 1.0,
            "{secs} s of {recorded:.1} s recorded: {r}"
        );
        let url = r["download_url"].as_str().expect("download_url");
        let bytes = reqwest::get(url)
            .await
            .expect("download")
            .bytes()
            .await
            .expect("bytes");
        let file = dir.path().join(format!("{i}.webm"));
        std::fs::write(&file, &bytes).expect("write");
        if Command::new("ffmpeg").arg("-version").output().is_ok() {
            let out = Command::new("ffmpeg")
                .args(["-v", "error", "-xerror", "-i"])
                .arg(&file)
                .args(["-f", "null", "-"])
                .output()
                .expect("ffmpeg");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && stderr.trim().is_empty(),
                "{r}: {stderr}"
            );
        } else {
            eprintln!("SKIPPED the ffmpeg check: ffmpeg is not installed");
        }
    }
}

/// `plenum serve` in a mount namespace of its own whose recordings directory is a tmpfs of
/// `size` (the database stays on the real disk); `None` where that cannot be made (not
/// root, no `unshare`).
async fn serve_with_small_recordings_disk(sandbox: &crate::Sandbox, size: &str) -> Option<Server> {
    let recordings = sandbox.data_dir().join("recordings");
    std::fs::create_dir_all(&recordings).expect("recordings dir");
    let probe = Command::new("unshare")
        .args(["-m", "sh", "-c"])
        .arg(format!(
            "mount -t tmpfs -o size={size} tmpfs '{}'",
            recordings.display()
        ))
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        return None;
    }
    let addr = crate::loopback(crate::free_port());
    let (stdout, stderr) = sandbox.output_files();
    let script = format!(
        "mount -t tmpfs -o size={size} tmpfs '{}' && exec \"$0\" \"$@\"",
        recordings.display()
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "sh", "-c", &script, crate::BIN])
        .args(["--data-dir"])
        .arg(sandbox.data_dir())
        .args(["serve", "--listen", &addr.to_string()])
        .args(["--admin-password", ADMIN_PASSWORD])
        .env("PLENUM_MEDIA_LISTEN", "127.0.0.1:0")
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("stdout"))
        .stderr(std::fs::File::create(&stderr).expect("stderr"));
    let mut server = Server {
        child: cmd.spawn().expect("unshare"),
        addr,
        stdout,
        stderr,
        client: crate::http_client(),
    };
    server.wait_ready().await.expect("the server starts");
    Some(server)
}

#[tokio::test]
async fn a_full_disk_fails_the_recording_visibly_and_the_meeting_goes_on() {
    let sandbox = crate::Sandbox::new();
    let Some(server) = serve_with_small_recordings_disk(&sandbox, "160k").await else {
        eprintln!("SKIPPED: a tmpfs in a private mount namespace needs root and unshare");
        return;
    };
    let admin = server.sign_in("admin", ADMIN_PASSWORD).await;
    let room = server
        .post(
            "/api/v1/meeting_room",
            Some(&admin),
            Some(
                json!({"meetingroom_name": "Full", "meeting_number": "7400002",
                        "meeting_password": ROOM_PASSWORD}),
            ),
        )
        .await;
    assert_eq!(room.status.as_u16(), 200, "{room:?}");
    let mut bots = two_media_bots(&server, "7400002").await;
    control(&server, &admin, "7400002", "recording", json!({})).await;
    // 160 kB fill within seconds: every file of the set fails, with the reason.
    let deadline = Instant::now() + Duration::from_secs(20);
    let recordings = loop {
        let reply = reqwest::Client::new()
            .get(server.url("/api/v1/history/recordings"))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("list")
            .json::<Value>()
            .await
            .expect("JSON");
        let list = reply["recordings"].as_array().cloned().unwrap_or_default();
        if !list.is_empty() && list.iter().all(|r| r["status"] == "failed") {
            break list;
        }
        assert!(Instant::now() < deadline, "not failed in time: {reply}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for r in &recordings {
        let failure = r["failure"].as_str().unwrap_or_default();
        assert!(failure.contains("No space left on device"), "{r}");
    }
    assert!(server.stderr().contains("recording failed"), "logged");
    // The meeting goes on: it runs, no longer recording, and media still flows.
    let detail = reqwest::Client::new()
        .get(server.url("/api/v1/meeting/7400002"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("detail");
    assert_eq!(detail.status().as_u16(), 200);
    let detail: Value = detail.json().await.expect("JSON");
    assert_eq!(detail["recording"], false, "{detail}");
    assert_eq!(detail["participants"].as_array().map(Vec::len), Some(2));
    bots.expect("media still flows after the failure", |v| {
        v["type"] == "media_stats"
            && v["from"]
                .as_object()
                .is_some_and(|f| f.values().any(|c| c["video_frames"].as_u64() > Some(60)))
    })
    .await;
}

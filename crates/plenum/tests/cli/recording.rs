//! Recording and the real binary: a `plenum serve` killed (-9) while it records leaves files
//! that the next start makes playable, and completes their recordings with the duration
//! they hold.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::bot::{Bot, ROOM_PASSWORD, control, server_with_room_and};
use crate::{ADMIN_PASSWORD, Server};

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
    let mut bots = Bot::start(
        &server,
        "7400001",
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
    // Media flows: each bot reports frames from the other.
    bots.expect("media from the other bot", |v| {
        v["type"] == "media_stats"
            && v["from"]
                .as_object()
                .is_some_and(|f| f.values().any(|c| c["video_frames"].as_u64() > Some(5)))
    })
    .await;
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

//! `plenum key …` and `plenum import FILE` on the data directory, followed by the server that
//! serves what they wrote.

use crate::Sandbox;

const SESSION: &str = "01900000-0000-7000-8000-000000000051";

fn jsonl() -> String {
    [
        r#"{"type":"session","id":"01900000-0000-7000-8000-000000000051","meeting_number":"7000001","name":"Review","owner":"admin","started_at":"2026-06-17T08:00:00Z","ended_at":"2026-06-17T08:45:00Z"}"#,
        r#"{"type":"attendance","session":"01900000-0000-7000-8000-000000000051","user":"admin","display_name":"Admin","device_type":"desktop","media_type":"video","joined_at":"2026-06-17T08:00:12Z","left_at":"2026-06-17T08:45:00Z"}"#,
        r#"{"type":"recording","session":"01900000-0000-7000-8000-000000000051","kind":"video","status":"completed","codec":"vp8","size_bytes":1000000,"duration_secs":2700,"started_at":"2026-06-17T08:00:30Z","ended_at":"2026-06-17T08:45:00Z","completed_at":"2026-06-17T08:46:00Z","download_url":"https://files.example/r.webm"}"#,
    ]
    .join("\n")
}

/// The single value printed after `prefix` on a line of `stdout`.
#[track_caller]
fn printed(stdout: &str, prefix: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` in:\n{stdout}"))
        .trim()
        .to_owned()
}

#[tokio::test]
async fn import_is_all_or_nothing_and_idempotent_and_keys_read_it() {
    let sandbox = Sandbox::new();
    // A bad third line: refused with its number, nothing written.
    let bad = sandbox.write(
        "bad.jsonl",
        &format!(
            "{}\n\n{{\"type\":\"attendance\",\"session\":\"{SESSION}\"}}\n",
            jsonl().lines().next().unwrap_or("")
        ),
    );
    let refused = sandbox.run(&["import", bad.to_str().unwrap_or("")]).await;
    refused.assert_failed();
    assert!(refused.stderr.contains("line 3"), "{refused:?}");

    let file = sandbox.write("history.jsonl", &jsonl());
    let path = file.to_str().unwrap_or("");
    let first = sandbox.run(&["import", path]).await;
    first.assert_ok();
    assert!(
        first
            .stdout
            .contains("0 rooms, 1 sessions, 1 attendance, 1 recordings; 0 already present"),
        "{first:?}"
    );
    let again = sandbox.run(&["import", path]).await;
    again.assert_ok();
    assert!(
        again
            .stdout
            .contains("0 rooms, 0 sessions, 0 attendance, 0 recordings; 3 already present"),
        "{again:?}"
    );

    let created = sandbox.run(&["key", "create", "--name", "crm"]).await;
    created.assert_ok();
    let key = printed(&created.stdout, "API key (shown only now):");
    let app = sandbox
        .run(&["key", "create", "--name", "welink", "--kind", "huawei_app"])
        .await;
    app.assert_ok();
    let app_key = printed(&app.stdout, "app key (shown only now):");
    assert_eq!(app_key.len(), 64);
    let listed = sandbox.run(&["key", "list"]).await;
    listed.assert_ok();
    assert!(
        listed.stdout.contains("crm") && listed.stdout.contains("welink"),
        "{listed:?}"
    );
    assert!(
        !listed.stdout.contains(&key) && !listed.stdout.contains(&app_key),
        "secrets are shown once"
    );
    assert!(
        sandbox
            .run(&["key", "create", "--name", "x", "--kind", "telepathy"])
            .await
            .assert_failed()
            .stderr
            .contains("kind")
    );

    // The server serves the imported record to the key.
    let server = sandbox.serve(&[], &[]).await;
    let client = reqwest::Client::new();
    let answer: serde_json::Value = client
        .get(server.url("/v2/room_recordings"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer["meta"]["total_results"], 1, "{answer}");
    assert_eq!(answer["data"][0]["session_id"], SESSION);
    server.stop().await;

    // Revoked offline, refused by the next server.
    let id = listed
        .stdout
        .lines()
        .find(|l| l.contains("crm"))
        .and_then(|l| l.split('\t').next())
        .unwrap_or("")
        .to_owned();
    sandbox.run(&["key", "revoke", &id]).await.assert_ok();
    assert!(
        sandbox
            .run(&["key", "revoke", "not-an-id"])
            .await
            .assert_failed()
            .stderr
            .contains("not a key id")
    );
    let server = sandbox.serve(&[], &[]).await;
    let status = client
        .get(server.url("/v2/room_recordings"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .status();
    assert_eq!(status.as_u16(), 401);
    server.stop().await;

    // Neither key is anywhere in the data directory in clear.
    for entry in std::fs::read_dir(sandbox.data_dir()).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let bytes = std::fs::read(&path).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(&key) && !text.contains(&app_key),
            "{} holds a key",
            path.display()
        );
    }
}

#[tokio::test]
async fn generate_history_fills_every_company_evenly() {
    let sandbox = Sandbox::new();
    let generated = sandbox
        .run(&[
            "dev",
            "generate-history",
            "--companies",
            "2",
            "--users-per-company",
            "3",
            "--rooms",
            "4",
            "--sessions",
            "50",
            "--attendance",
            "500",
            "--recordings",
            "50",
        ])
        .await;
    generated.assert_ok();
    assert!(
        generated
            .stdout
            .contains("generated 2 companies, 4 rooms, 50 sessions, 500 stays and 50 recordings"),
        "{generated:?}"
    );
    let key = printed(
        &sandbox
            .run(&["key", "create", "--name", "bench"])
            .await
            .assert_ok()
            .stdout,
        "API key (shown only now):",
    );
    let server = sandbox.serve(&[], &[]).await;
    let client = reqwest::Client::new();
    let recordings: serde_json::Value = client
        .get(server.url("/v2/room_recordings?page[size]=250"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        recordings["meta"]["total_results"], 25,
        "half of them: {recordings}"
    );
    let session = recordings["data"][0]["session_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let stays: serde_json::Value = client
        .get(server.url(&format!(
            "/ar/corporation/openapi/rtc/meeting/record/list?id={session}"
        )))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let rows = stays.as_array().map(Vec::len).unwrap_or(0);
    assert!(
        rows >= 10,
        "ten stays on average, plus absent invitees: {stays}"
    );
    server.stop().await;
}

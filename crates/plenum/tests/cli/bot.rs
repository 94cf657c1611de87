//! `plenum bot` against a real `plenum serve`: what it prints, how it obeys mute, and its exit
//! statuses. Every wait is bounded ([`WAIT`] per expected line, [`EXIT_WAIT`] per exit).

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

use crate::{ADMIN_PASSWORD, Sandbox, Server, plenum};

/// How long a bot may take to print a line the test expects.
const WAIT: Duration = Duration::from_secs(15);
/// How long a bot may take to exit once it has reason to.
const EXIT_WAIT: Duration = Duration::from_secs(15);
/// Upper bound on lines read while looking for one.
const MAX_LINES: usize = 1_000;
pub(crate) const ROOM_PASSWORD: &str = "1234";

/// A server with one room, and the admin's token for host controls.
async fn server_with_room(number: &str) -> (Sandbox, Server, String) {
    server_with_room_and(number, &[]).await
}

/// [`server_with_room`], with more arguments for `plenum serve`.
pub(crate) async fn server_with_room_and(
    number: &str,
    serve_args: &[&str],
) -> (Sandbox, Server, String) {
    let sandbox = Sandbox::new();
    let mut args = vec!["--admin-password", ADMIN_PASSWORD];
    args.extend_from_slice(serve_args);
    let server = sandbox.serve(&args, &[]).await;
    let token = server.sign_in("admin", ADMIN_PASSWORD).await;
    let reply = server
        .post(
            "/api/v1/meeting_room",
            Some(&token),
            Some(json!({"meetingroom_name": format!("Room {number}"),
                        "meeting_number": number, "meeting_password": ROOM_PASSWORD})),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
    (sandbox, server, token)
}

/// A running `plenum bot`; dropping it kills the process.
pub(crate) struct Bot {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    /// Every line read so far.
    seen: Vec<Value>,
}

impl Bot {
    pub(crate) fn start(server: &Server, number: &str, args: &[&str]) -> Self {
        let mut cmd = tokio::process::Command::from(plenum());
        cmd.arg("bot")
            .arg("--server")
            .arg(server.url(""))
            .arg("--meeting")
            .arg(number)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("starting plenum bot");
        let stdout = child.stdout.take().expect("the bot's stdout");
        Self {
            child,
            lines: BufReader::new(stdout).lines(),
            seen: Vec::new(),
        }
    }

    /// The next stdout line, which must be one JSON object; `None` at the end of the output.
    pub(crate) async fn next(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no line from the bot within {WAIT:?}; so far {:#?}",
                    self.seen
                )
            })
            .expect("reading the bot's stdout")?;
        let value: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}"));
        assert!(value.is_object(), "not an object: {line}");
        self.seen.push(value.clone());
        Some(value)
    }

    /// Reads lines until one matches; fails at the end of the output.
    pub(crate) async fn expect(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..MAX_LINES {
            match self.next().await {
                Some(v) if matches(&v) => return v,
                Some(_) => {}
                None => panic!("the bot's output ended before {what}: {:#?}", self.seen),
            }
        }
        panic!("no {what} in {MAX_LINES} lines");
    }

    async fn expect_type(&mut self, kind: &str) -> Value {
        self.expect(kind, |v| v["type"] == kind).await
    }

    /// Reads the rest of the output, then waits for the exit (both bounded).
    pub(crate) async fn finish(mut self) -> (ExitStatus, Vec<Value>, String) {
        for _ in 0..MAX_LINES {
            if self.next().await.is_none() {
                break;
            }
        }
        let output = tokio::time::timeout(EXIT_WAIT, self.child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("the bot did not exit within {EXIT_WAIT:?}"))
            .expect("waiting for the bot");
        (
            output.status,
            self.seen,
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    async fn signal(&self, name: &str) {
        let pid = self.child.id().expect("the bot runs");
        let mut kill = std::process::Command::new("kill");
        kill.arg(format!("-{name}")).arg(pid.to_string());
        let sent = crate::run(kill, None).await;
        assert!(sent.status.success(), "kill -{name}: {sent:?}");
    }
}

pub(crate) async fn control(server: &Server, token: &str, number: &str, call: &str, body: Value) {
    let reply = server
        .post(
            &format!("/api/v1/meeting/{number}/{call}"),
            Some(token),
            Some(body),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{call}: {reply:?}");
}

async fn detail(server: &Server, token: &str, number: &str) -> Value {
    let response = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client")
        .get(server.url(&format!("/api/v1/meeting/{number}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET meeting detail");
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.expect("a JSON detail")
}

#[tokio::test]
async fn a_bot_joins_prints_hello_and_joined_and_leaves_after_its_duration() {
    let (_sandbox, server, _) = server_with_room("7710001").await;
    let mut bot = Bot::start(
        &server,
        "7710001",
        &[
            "--meeting-password",
            ROOM_PASSWORD,
            "--name",
            "Robo",
            "--duration",
            "1",
            "--stats",
        ],
    );
    let hello = bot.next().await.expect("a first line");
    assert_eq!(hello["type"], "hello", "{hello}");
    assert!(
        hello["heartbeat_interval_ms"]
            .as_u64()
            .is_some_and(|ms| ms > 0)
    );
    let joined = bot.expect_type("joined").await;
    let me = joined["client_uuid"]
        .as_str()
        .expect("a client_uuid")
        .to_owned();
    let participants = joined["meeting"]["participants"]
        .as_array()
        .expect("participants");
    let mine = participants
        .iter()
        .find(|p| p["client_uuid"] == me.as_str())
        .expect("itself");
    assert_eq!(mine["name"], "Robo");
    assert_eq!(mine["device_type"], "bot");
    assert!(
        joined.get("bot").is_none(),
        "one bot has no index: {joined}"
    );
    let (status, lines, stderr) = bot.finish().await;
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(lines.iter().any(|l| l["type"] == "left"), "{lines:#?}");
    let stats = lines.last().expect("the stats line");
    assert_eq!(stats["type"], "stats", "{lines:#?}");
    assert_eq!(stats["joins_attempted"], 1);
    assert_eq!(stats["joins_succeeded"], 1);
    assert_eq!(stats["joins_refused"], 0);
    assert!(
        stats["join_latency_ms"]["p99"]
            .as_f64()
            .is_some_and(|ms| ms > 0.0)
    );
}

#[tokio::test]
async fn a_talking_bot_obeys_mute_asks_once_and_unmutes_when_allowed() {
    let (_sandbox, server, admin) = server_with_room("7710002").await;
    let mut bot = Bot::start(
        &server,
        "7710002",
        &["--meeting-password", ROOM_PASSWORD, "--talk"],
    );
    let joined = bot.expect_type("joined").await;
    let me = joined["client_uuid"]
        .as_str()
        .expect("a client_uuid")
        .to_owned();

    control(
        &server,
        &admin,
        "7710002",
        "mute_all",
        json!({"allow_self_unmute": false}),
    )
    .await;
    let muted = bot
        .expect("the all_muted", |v| v["type"] == "all_muted")
        .await;
    assert_eq!(muted["allow_self_unmute"], false, "{muted}");
    assert_eq!(muted["except"], json!([]));
    // It asks once (the server tells the requester and answers `ok`), and does not try to
    // unmute itself meanwhile (that would be answered with an `error`).
    let (mut asked, mut answered) = (false, false);
    for _ in 0..MAX_LINES {
        if asked && answered {
            break;
        }
        let v = bot
            .expect("its request", |v| {
                v["client_uuid"] == me.as_str() || v["ref"] == "talk"
            })
            .await;
        match v["type"].as_str() {
            Some("unmute_requested") => asked = true,
            Some("ok") => answered = true,
            _ => panic!("unexpected while muted without permission: {v}"),
        }
    }
    assert!(asked && answered, "{:#?}", bot.seen);
    let d = detail(&server, &admin, "7710002").await;
    let p = d["participants"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["client_uuid"] == me.as_str()))
        .cloned()
        .expect("the bot in the detail");
    assert_eq!(p["unmute_requested"], true, "{p}");
    assert_eq!(p["mute_audio"], true, "{p}");

    // Allowed: it unmutes itself, and the next event about it is that (no second request).
    control(
        &server,
        &admin,
        "7710002",
        "allow_unmute",
        json!({"participants": [me]}),
    )
    .await;
    let mut unmuted = None;
    for _ in 0..MAX_LINES {
        let v = bot
            .expect("events about it", |v| {
                v["client_uuid"] == me.as_str() || v["ref"] == "talk"
            })
            .await;
        assert_ne!(
            v["type"], "unmute_requested",
            "asked twice: {:#?}",
            bot.seen
        );
        assert_ne!(v["type"], "error", "{:#?}", bot.seen);
        if v["type"] == "mute_changed" && v["mute_audio"] == false {
            unmuted = Some(v);
            break;
        }
    }
    assert!(unmuted.is_some(), "{:#?}", bot.seen);
    assert_eq!(
        detail(&server, &admin, "7710002").await["participants"][0]["mute_audio"],
        false
    );

    // Ctrl-C: it leaves and exits 0.
    bot.signal("INT").await;
    let (status, lines, stderr) = bot.finish().await;
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(lines.iter().any(|l| l["type"] == "left"), "{lines:#?}");
}

#[tokio::test]
async fn a_disconnected_bot_exits_3() {
    let (_sandbox, server, admin) = server_with_room("7710003").await;
    let mut bot = Bot::start(&server, "7710003", &["--meeting-password", ROOM_PASSWORD]);
    let me = bot.expect_type("joined").await["client_uuid"]
        .as_str()
        .expect("a client_uuid")
        .to_owned();
    control(
        &server,
        &admin,
        "7710003",
        "disconnect",
        json!({"participants": [me]}),
    )
    .await;
    let (status, lines, stderr) = bot.finish().await;
    assert_eq!(status.code(), Some(3), "{stderr}\n{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "participant_left" && l["reason"] == "disconnected"),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn a_bot_whose_meeting_is_stopped_exits_4() {
    let (_sandbox, server, admin) = server_with_room("7710004").await;
    let mut bot = Bot::start(&server, "7710004", &["--meeting-password", ROOM_PASSWORD]);
    bot.expect_type("joined").await;
    control(&server, &admin, "7710004", "stop", json!({})).await;
    let (status, lines, stderr) = bot.finish().await;
    assert_eq!(status.code(), Some(4), "{stderr}\n{lines:#?}");
    let ended = lines
        .iter()
        .find(|l| l["type"] == "meeting_ended")
        .expect("meeting_ended");
    assert_eq!(ended["reason"], "stopped", "{ended}");
}

#[tokio::test]
async fn a_refused_bot_exits_2() {
    let (_sandbox, server, _) = server_with_room("7710005").await;
    let bot = Bot::start(&server, "7710005", &["--meeting-password", "9999"]);
    let (status, lines, stderr) = bot.finish().await;
    assert_eq!(status.code(), Some(2), "{stderr}\n{lines:#?}");
    let refused = lines
        .iter()
        .find(|l| l["type"] == "refused")
        .expect("refused");
    assert_eq!(refused["reason"], "wrong_password", "{refused}");
    assert!(!lines.iter().any(|l| l["type"] == "joined"));
}

#[tokio::test]
async fn bots_from_one_process_are_numbered_and_named() {
    let (_sandbox, server, admin) = server_with_room("7710006").await;
    let mut bot = Bot::start(
        &server,
        "7710006",
        &[
            "--meeting-password",
            ROOM_PASSWORD,
            "--count",
            "3",
            "--name",
            "Load",
            "--duration",
            "5",
        ],
    );
    let mut joined = std::collections::BTreeSet::new();
    for _ in 0..3 {
        let j = bot.expect_type("joined").await;
        joined.insert(j["bot"].as_u64().expect("a bot index"));
    }
    assert_eq!(joined, [0, 1, 2].into());
    // All three are in while they stay.
    let d = detail(&server, &admin, "7710006").await;
    let mut names: Vec<String> = d["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["Load 1", "Load 2", "Load 3"]);
    let (status, lines, stderr) = bot.finish().await;
    assert_eq!(status.code(), Some(0), "{stderr}");
    for line in &lines {
        assert!(
            line["bot"].as_u64().is_some_and(|b| b < 3),
            "every line says which bot: {line}"
        );
    }
}

#[tokio::test]
async fn a_signed_in_bot_joins_as_its_user_and_a_bad_password_exits_1() {
    let (_sandbox, server, admin) = server_with_room("7710007").await;
    let mut bot = Bot::start(
        &server,
        "7710007",
        &[
            "--meeting-password",
            ROOM_PASSWORD,
            "--username",
            "admin",
            "--user-password",
            ADMIN_PASSWORD,
            "--duration",
            "1",
        ],
    );
    let joined = bot.expect_type("joined").await;
    let me = joined["client_uuid"]
        .as_str()
        .expect("a client_uuid")
        .to_owned();
    let d = detail(&server, &admin, "7710007").await;
    let p = d["participants"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["client_uuid"] == me.as_str()))
        .cloned()
        .expect("the bot in the detail");
    assert_eq!(p["type"], "USER", "{p}");
    let (status, _, stderr) = bot.finish().await;
    assert_eq!(status.code(), Some(0), "{stderr}");

    let bad = Bot::start(
        &server,
        "7710007",
        &["--username", "admin", "--user-password", "not-the-password"],
    );
    let (status, lines, stderr) = bad.finish().await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(lines.is_empty(), "nothing on stdout: {lines:#?}");
    assert!(stderr.contains("sign-in"), "{stderr}");
}

#[tokio::test]
async fn a_bot_whose_server_dies_exits_5() {
    let (_sandbox, server, _) = server_with_room("7710008").await;
    let mut bot = Bot::start(&server, "7710008", &["--meeting-password", ROOM_PASSWORD]);
    bot.expect_type("joined").await;
    server.crash().await;
    let (status, _, stderr) = bot.finish().await;
    assert_eq!(status.code(), Some(5), "{stderr}");
}

#[tokio::test]
async fn bad_options_and_a_join_the_server_cannot_take_exit_1_not_2() {
    let sandbox = Sandbox::new();
    for args in [
        &["bot", "--server", "http://127.0.0.1:9"][..],
        &["bot", "--meeting", "7710009", "--count", "0"],
        &["bot", "--meeting", "7710009", "--duration", "abc"],
        &["bot", "--meeting", "7710009", "--bogus"],
    ] {
        let run = sandbox.run(args).await;
        assert_eq!(run.status.code(), Some(1), "{args:?}: {}", run.stderr);
    }
    // Help is an answer, not a failure.
    sandbox.run(&["bot", "--help"]).await.assert_ok();

    // The server answers `error` (not `refused`) to a join it cannot take as sent.
    let (_sandbox, server, _) = server_with_room("7710009").await;
    let bot = Bot::start(
        &server,
        "7710009",
        &[
            "--meeting-password",
            ROOM_PASSWORD,
            "--device-type",
            "toaster",
        ],
    );
    let (status, lines, stderr) = bot.finish().await;
    assert_eq!(status.code(), Some(1), "{stderr}\n{lines:#?}");
    let error = lines
        .iter()
        .find(|l| l["type"] == "error")
        .expect("the server's error");
    assert_eq!(error["code"], "invalid_message", "{error}");
}

#[tokio::test]
async fn the_help_documents_the_exit_statuses_and_their_order() {
    let sandbox = Sandbox::new();
    let help = sandbox.run(&["bot", "--help"]).await;
    help.assert_ok();
    // clap wraps the text to the terminal width: compare with the lines joined.
    let text = help.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "Exit status",
        "2 the join was refused",
        "3 a host disconnected",
        "4 the meeting ended",
        "5 the connection was lost",
        "1, 5, 2, 3, 4, 0",
        "--talk",
        "--count",
    ] {
        assert!(
            text.contains(needle),
            "{needle:?} missing:\n{}",
            help.stdout
        );
    }
}

#[tokio::test]
async fn the_help_lists_only_what_a_network_client_uses() {
    let mut cmd = plenum();
    cmd.args(["bot", "--help"]);
    let help = crate::run(cmd, None).await;
    help.assert_ok();
    assert!(help.stdout.contains("Usage: plenum bot"), "{}", help.stdout);
    for needle in ["--server", "--meeting", "--media", "--media-ip", "--count"] {
        assert!(
            help.stdout.contains(needle),
            "{needle} missing:\n{}",
            help.stdout
        );
    }
    // The server's options (`plenum --data-dir ... serve`) are not the bot's.
    for server_side in [
        "--data-dir",
        "--config",
        "--secret-salt",
        "--durability",
        "PLENUM_",
    ] {
        assert!(
            !help.stdout.contains(server_side),
            "{server_side} listed:\n{}",
            help.stdout
        );
    }
    // And not taken either.
    let mut cmd = plenum();
    cmd.args(["bot", "--meeting", "1", "--data-dir", "x"]);
    let run = crate::run(cmd, None).await;
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    assert!(run.stderr.contains("--data-dir"), "{run:?}");
}

#[tokio::test]
async fn a_media_bot_prints_a_media_stats_line_a_second_and_leaves_after_its_duration() {
    // Whether or not the server carries media, the bot reports every second and leaves on
    // time (without media it has nothing to count: an empty `from`).
    let (_sandbox, server, _admin) = server_with_room("7710009").await;
    let bot = Bot::start(
        &server,
        "7710009",
        &[
            "--meeting-password",
            ROOM_PASSWORD,
            "--media",
            "--quiet",
            "--duration",
            "2.5",
        ],
    );
    let (status, lines, stderr) = bot.finish().await;
    assert_eq!(status.code(), Some(0), "{stderr}\n{lines:#?}");
    assert!(
        (1..=3).contains(&lines.len()),
        "one line a second: {lines:#?}"
    );
    for line in &lines {
        assert_eq!(line["type"], "media_stats", "{line}");
        assert_eq!(line["bot"], 0, "{line}");
        assert!(
            line["t"].as_u64().is_some_and(|t| t > 1_600_000_000_000),
            "{line}"
        );
        assert!(line["client_uuid"].as_str().is_some(), "{line}");
        assert!(line["from"].is_object(), "{line}");
        assert!(line["sent"]["audio_frames"].is_u64(), "{line}");
    }
}

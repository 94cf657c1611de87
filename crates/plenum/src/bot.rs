//! `plenum bot`: participants that join a meeting over the client protocol
//! (`docs/client-protocol.md`), print every frame they receive as one JSON line, keep their
//! heartbeats, obey mute, with `--media` publish audio and video and count what they receive,
//! and end with an exit status that says how they ended.
//!
//! The client is `plenum_client::Participant` (and `plenum_client::MediaSession`); the command
//! line ([`run`]), the benchmarks (`crates/plenum-bench`) and the tests all drive it, so a load
//! test exercises exactly the code an operator runs. Every wait in here is bounded in time;
//! `--count` participants are started with a bounded number of connects and joins in flight
//! ([`BotArgs::connect_concurrency`]).

use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use plenum_client::{
    Behaviour, Ending, Frame, JoinFailure, JoinRequest, MediaSession, MediaStats, Observer,
    Participant, live_url,
};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc, watch};

/// How long a sign-in over REST may take.
const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(30);
/// Most participants one process runs.
pub const MAX_COUNT: u32 = 100_000;
/// Lines waiting for standard output before participants wait for it.
const OUTPUT_BUFFER: usize = 8_192;

/// Join a meeting as a participant over the client protocol and print every frame received
/// as one JSON line on stdout (logs go to stderr). With --media, publish audio and video and
/// print what was received from each other participant once a second.
///
/// Exit status: 0 left normally (--duration elapsed, Ctrl-C/SIGTERM); 2 the join was refused;
/// 3 a host disconnected the participant (close 4001); 4 the meeting ended or was stopped
/// (close 4002); 5 the connection was lost (closed without a reason, heartbeat timeout 4003,
/// too slow 4004, or no frame for heartbeat_timeout_ms); 1 any other error (bad options, no
/// server, sign-in failed). With --count N the status is the most severe among the
/// participants, in this order from most to least severe: 1, 5, 2, 3, 4, 0.
#[derive(Debug, Clone, clap::Args)]
pub struct BotArgs {
    /// The server's base URL; the WebSocket URL is derived from it (http -> ws, https -> wss).
    #[arg(long, default_value = "http://127.0.0.1:7480")]
    pub server: String,
    /// Number of the meeting (room, scheduled or instant meeting) to join.
    #[arg(long)]
    pub meeting: String,
    /// The meeting's password.
    #[arg(long)]
    pub meeting_password: Option<String>,
    /// Display name ("<name> 1" .. "<name> N" with --count N).
    #[arg(long, default_value = "Plenum Bot")]
    pub name: String,
    /// desktop, web, mobile, room_system, phone, gateway or bot.
    #[arg(long, default_value = "bot")]
    pub device_type: String,
    /// video or audio.
    #[arg(long, default_value = "video")]
    pub media_type: String,
    /// Join as a guest (the default when no credentials are given).
    #[arg(long, conflicts_with_all = ["username", "token"])]
    pub guest: bool,
    /// Sign in over REST as this user and present the token on the upgrade.
    #[arg(long, conflicts_with = "token")]
    pub username: Option<String>,
    /// The user's password (visible in the process list: prefer --user-password-stdin).
    #[arg(long, requires = "username", conflicts_with = "user_password_stdin")]
    pub user_password: Option<String>,
    /// Read the user's password from the first line of standard input.
    #[arg(long, requires = "username")]
    pub user_password_stdin: bool,
    /// An FRTC access token (user_token) to present on the upgrade.
    #[arg(long)]
    pub token: Option<String>,
    /// Participants to run from this process, named "<name> 1" .. "<name> N".
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_COUNT)))]
    pub count: u32,
    /// Connects and joins in flight at once with --count.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connect_concurrency: u32,
    /// Leave after this many seconds (default: stay until the meeting ends, Ctrl-C or a
    /// disconnect).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Want to speak: unmute whenever muted and allowed to; when muted without that
    /// permission, send `request_unmute` once and wait.
    #[arg(long)]
    pub talk: bool,
    /// Publish audio and video (built-in test files, looped) and receive everyone else's;
    /// print one `media_stats` line per second per participant with what it received from
    /// each other participant.
    #[arg(long)]
    pub media: bool,
    /// With --media: the local IP address the media sockets bind to (a free UDP port each).
    #[arg(long, default_value = "127.0.0.1", requires = "media")]
    pub media_ip: IpAddr,
    /// Print no per-frame lines (the `media_stats` lines of --media are still printed).
    #[arg(long)]
    pub quiet: bool,
    /// At the end, print one JSON line with join statistics.
    #[arg(long)]
    pub stats: bool,
}

/// What one participant of a run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Whether it got as far as sending a join (a stop before that does not count).
    pub attempted: bool,
    /// The join's latency when it succeeded.
    pub joined: Option<Duration>,
    /// When the join's answer came (for the join rate).
    pub answered: Option<Instant>,
    pub refused: bool,
    pub ending: Ending,
}

/// Where the frames of a run go: one JSON line each on stdout.
#[derive(Debug, Clone)]
struct Printer {
    lines: Option<mpsc::Sender<String>>,
    /// Print the frames received (not with --quiet).
    frames: bool,
    /// `Some(index)` with --count > 1.
    bot: Option<u32>,
    /// The participant's index, for the `media_stats` lines.
    index: u32,
    /// Set once joined.
    client_uuid: Option<String>,
}

impl Observer for Printer {
    async fn frame(&mut self, frame: &Frame) {
        let Some(lines) = self.lines.as_ref().filter(|_| self.frames) else {
            return;
        };
        let Ok(mut value) = frame.value() else {
            // The participant stops at a frame that is not JSON; print it as it came.
            let _ = lines.send(frame.text().to_owned()).await;
            return;
        };
        if let (Some(index), Some(object)) = (self.bot, value.as_object_mut()) {
            object.insert("bot".to_owned(), json!(index));
        }
        // Serialised compactly: one line, whatever the frame holds.
        let _ = lines.send(value.to_string()).await;
    }

    async fn media_stats(&mut self, stats: &MediaStats) {
        let Some(lines) = &self.lines else {
            return;
        };
        let line = media_line(self.index, self.client_uuid.as_deref(), stats, now_ms());
        let _ = lines.send(line.to_string()).await;
    }
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The `media_stats` line of participant `bot` (docs/bot.md, "Output").
fn media_line(bot: u32, client_uuid: Option<&str>, stats: &MediaStats, t: u64) -> Value {
    json!({
        "type": "media_stats",
        "t": t,
        "bot": bot,
        "client_uuid": client_uuid,
        "from": stats.from_json(),
        "sent": {"audio_frames": stats.sent_audio_frames, "video_frames": stats.sent_video_frames},
        "publish_connected": stats.publish_connected.is_some(),
        "subscribe_connected": stats.subscribe_connected.is_some(),
    })
}

/// Writes lines to stdout on its own thread; flushes whenever no more are waiting.
fn stdout_writer(mut lines: mpsc::Receiver<String>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        while let Some(line) = lines.blocking_recv() {
            if writeln!(out, "{line}").is_err() {
                return;
            }
            if lines.is_empty() && out.flush().is_err() {
                return;
            }
        }
        let _ = out.flush();
    })
}

/// Everything a participant of a run needs, shared.
#[derive(Debug)]
struct Plan {
    url: String,
    token: Option<String>,
    request: JoinRequest,
    behaviour: Behaviour,
    count: u32,
    gate: Semaphore,
    /// --media: the IP address the media sockets bind to.
    media: Option<IpAddr>,
}

/// One participant of a run, start to end.
async fn participant(
    plan: Arc<Plan>,
    index: u32,
    mut printer: Printer,
    mut stop: watch::Receiver<bool>,
) -> Outcome {
    let mut outcome = Outcome {
        attempted: false,
        joined: None,
        answered: None,
        refused: false,
        ending: Ending::Left,
    };
    let stopped = |stop: &mut watch::Receiver<bool>| {
        let mut stop = stop.clone();
        async move {
            // An error means the sender is gone: treat that as a stop too.
            let _ = stop.wait_for(|s| *s).await;
        }
    };
    let mut request = plan.request.clone();
    if plan.count > 1 {
        request.display_name = format!("{} {}", request.display_name, index + 1);
    }
    let mut joined = {
        let permit = tokio::select! {
            permit = plan.gate.acquire() => permit,
            () = stopped(&mut stop) => return outcome,
        };
        let Ok(_permit) = permit else {
            return outcome;
        };
        outcome.attempted = true;
        let mut p = match Participant::connect(&plan.url, plan.token.as_deref()).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(bot = index, "{e:#}");
                outcome.ending = Ending::Error;
                return outcome;
            }
        };
        // The hello was read by `connect`; it is printed like every other frame.
        printer.frame(&p.hello.clone()).await;
        match p.join(&request, &mut printer).await {
            Ok(joined) => {
                outcome.joined = Some(joined.latency);
                outcome.answered = Some(Instant::now());
                tracing::info!(bot = index, client_uuid = %joined.client_uuid, "joined");
                p
            }
            Err(JoinFailure::Refused { reason, message }) => {
                tracing::warn!(bot = index, reason, "join refused: {message}");
                outcome.refused = true;
                outcome.answered = Some(Instant::now());
                outcome.ending = Ending::Refused;
                p.close().await;
                return outcome;
            }
            Err(JoinFailure::Ended(ending, why)) => {
                tracing::error!(bot = index, "join failed: {why}");
                outcome.ending = ending;
                return outcome;
            }
        }
    };
    printer.client_uuid = joined.client_uuid.clone();
    let (ending, why) = match plan.media {
        None => {
            joined
                .run(plan.behaviour, stopped(&mut stop), &mut printer)
                .await
        }
        Some(ip) => {
            let video = plan.request.media_type != "audio";
            match MediaSession::bind(ip, video).await {
                Ok(mut media) => {
                    joined
                        .run_with_media(
                            plan.behaviour,
                            stopped(&mut stop),
                            &mut printer,
                            &mut media,
                        )
                        .await
                }
                Err(e) => {
                    tracing::error!(bot = index, "media: {e:#}");
                    joined.close().await;
                    outcome.ending = Ending::Error;
                    return outcome;
                }
            }
        }
    };
    match ending {
        Ending::Left => tracing::info!(bot = index, "{why}"),
        _ => tracing::warn!(bot = index, "{why}"),
    }
    outcome.ending = ending;
    outcome
}

/// Join statistics of a run (`--stats`).
#[derive(Debug, Clone)]
pub struct Stats {
    pub attempted: u64,
    pub succeeded: u64,
    pub refused: u64,
    pub failed: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub joins_per_s: f64,
}

impl Stats {
    /// Statistics of `outcomes`, for a run whose first connect started at `started`.
    pub fn of(outcomes: &[Outcome], started: Instant) -> anyhow::Result<Self> {
        let mut histogram = hdrhistogram::Histogram::<u64>::new(3)?;
        let mut last = started;
        for o in outcomes {
            if let Some(latency) = o.joined {
                histogram.record(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX))?;
            }
            if let Some(at) = o.answered {
                last = last.max(at);
            }
        }
        let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count() as u64;
        let succeeded = histogram.len();
        let ms = |micros: u64| micros as f64 / 1_000.0;
        let span = last.duration_since(started).as_secs_f64();
        Ok(Self {
            attempted: count(|o| o.attempted),
            succeeded,
            refused: count(|o| o.refused),
            failed: count(|o| o.attempted && o.joined.is_none() && !o.refused),
            p50_ms: ms(histogram.value_at_quantile(0.5)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            max_ms: ms(histogram.max()),
            joins_per_s: if span > 0.0 {
                succeeded as f64 / span
            } else {
                0.0
            },
        })
    }

    pub fn json(&self) -> Value {
        json!({
            "type": "stats",
            "joins_attempted": self.attempted,
            "joins_succeeded": self.succeeded,
            "joins_refused": self.refused,
            "joins_failed": self.failed,
            "join_latency_ms": {"p50": self.p50_ms, "p99": self.p99_ms, "max": self.max_ms},
            "joins_per_s": self.joins_per_s,
        })
    }
}

/// Raises the soft open-files limit to the hard limit if `needed` descriptors would not fit.
pub fn raise_open_files_limit(needed: u64) {
    match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok((soft, hard)) if soft < needed => {
            if let Err(e) = rlimit::setrlimit(rlimit::Resource::NOFILE, hard, hard) {
                tracing::warn!("cannot raise the open-files limit from {soft} to {hard}: {e}");
            } else if hard < needed {
                tracing::warn!(
                    "the open-files limit is {hard}; {needed} descriptors may be needed"
                );
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot read the open-files limit: {e}"),
    }
}

/// Signs in over REST and returns the `user_token`.
pub async fn sign_in(server: &str, username: &str, password: &str) -> anyhow::Result<String> {
    let url = format!("{}/api/v1/user/sign_in", server.trim_end_matches('/'));
    let response = reqwest::Client::builder()
        .timeout(SIGN_IN_TIMEOUT)
        .build()?
        .post(&url)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .with_context(|| format!("signing in at {url}"))?;
    let status = response.status();
    let body: Value = response.json().await.context("the sign-in answer")?;
    match body["user_token"].as_str() {
        Some(token) if status.is_success() && !token.is_empty() => Ok(token.to_owned()),
        _ => bail!("sign-in as {username:?} failed ({status}): {body}"),
    }
}

async fn credentials(args: &BotArgs) -> anyhow::Result<Option<String>> {
    if let Some(token) = &args.token {
        return Ok(Some(token.clone()));
    }
    let Some(username) = &args.username else {
        return Ok(None);
    };
    let password = if let Some(p) = &args.user_password {
        p.clone()
    } else if args.user_password_stdin {
        crate::secret_input::password_from_stdin()?
    } else {
        bail!("--username needs --user-password or --user-password-stdin");
    };
    sign_in(&args.server, username, &password).await.map(Some)
}

/// Logs to stderr: `PLENUM_LOG` (or `RUST_LOG`) if set, else `info` for one participant and
/// `warn` for many (a line per join of 10,000 participants helps nobody).
pub fn init_logging(count: u32) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PLENUM_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(if count > 1 { "warn" } else { "info" })
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Resolves when the process gets Ctrl-C (SIGINT) or SIGTERM.
async fn interrupted() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

/// `plenum bot`: runs the participants and returns the exit status.
pub async fn run(args: BotArgs) -> ExitCode {
    match run_inner(args).await {
        Ok(ending) => ExitCode::from(ending.code()),
        Err(e) => {
            eprintln!("plenum bot: {e:#}");
            ExitCode::from(Ending::Error.code())
        }
    }
}

async fn run_inner(args: BotArgs) -> anyhow::Result<Ending> {
    let url = live_url(&args.server)?;
    let duration = args
        .duration
        .map(|secs| {
            Duration::try_from_secs_f64(secs).map_err(|e| anyhow::anyhow!("--duration: {e}"))
        })
        .transpose()?;
    // Each participant holds one socket (three with media: two UDP sockets); leave room for
    // the runtime's own descriptors.
    let per_participant = if args.media { 3 } else { 1 };
    raise_open_files_limit(u64::from(args.count) * per_participant + 64);
    let token = credentials(&args).await?;
    let plan = Arc::new(Plan {
        url,
        token,
        request: JoinRequest {
            meeting_number: args.meeting.clone(),
            password: args.meeting_password.clone(),
            display_name: args.name.clone(),
            device_type: args.device_type.clone(),
            media_type: args.media_type.clone(),
        },
        behaviour: Behaviour {
            talk: args.talk,
            duration,
        },
        count: args.count,
        gate: Semaphore::new(args.connect_concurrency as usize),
        media: args.media.then_some(args.media_ip),
    });
    let (lines, writer) = if args.quiet && !args.media {
        (None, None)
    } else {
        let (tx, rx) = mpsc::channel(OUTPUT_BUFFER);
        (Some(tx), Some(stdout_writer(rx)))
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let signals = tokio::spawn(async move {
        interrupted().await;
        tracing::info!("interrupted: leaving");
        let _ = stop_tx.send(true);
    });
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..args.count {
        let printer = Printer {
            lines: lines.clone(),
            frames: !args.quiet,
            index,
            client_uuid: None,
            bot: (args.count > 1).then_some(index),
        };
        tasks.spawn(participant(plan.clone(), index, printer, stop_rx.clone()));
    }
    drop(lines);
    let mut outcomes = Vec::with_capacity(args.count as usize);
    while let Some(done) = tasks.join_next().await {
        outcomes.push(done.unwrap_or_else(|e| {
            tracing::error!("a participant task failed: {e}");
            Outcome {
                attempted: true,
                joined: None,
                answered: None,
                refused: false,
                ending: Ending::Error,
            }
        }));
    }
    signals.abort();
    // Every sender is gone once the tasks are: the writer drains what is left and ends.
    if let Some(writer) = writer
        && writer.join().is_err()
    {
        bail!("the output thread failed");
    }
    if args.stats {
        let stats = Stats::of(&outcomes, started)?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", stats.json())?;
        out.flush()?;
    }
    Ok(Ending::worst(outcomes.iter().map(|o| o.ending)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_count_refusals_and_latencies() {
        let t0 = Instant::now();
        let joined = |ms: u64| Outcome {
            attempted: true,
            joined: Some(Duration::from_millis(ms)),
            answered: Some(t0 + Duration::from_millis(500)),
            refused: false,
            ending: Ending::Left,
        };
        let refused = Outcome {
            attempted: true,
            joined: None,
            answered: Some(t0 + Duration::from_millis(100)),
            refused: true,
            ending: Ending::Refused,
        };
        let outcomes = vec![joined(10), joined(20), refused];
        let stats = Stats::of(&outcomes, t0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (
                stats.attempted,
                stats.succeeded,
                stats.refused,
                stats.failed
            ),
            (3, 2, 1, 0)
        );
        assert!((stats.max_ms - 20.0).abs() < 0.1, "{stats:?}");
        assert!((stats.joins_per_s - 4.0).abs() < 0.01, "{stats:?}");
    }

    #[test]
    fn a_media_line_names_the_bot_and_counts_per_participant() {
        let mut stats = MediaStats::default();
        let from = stats.from.entry("p2".to_owned()).or_default();
        from.audio_packets = 50;
        from.video_frames = 15;
        stats.sent_audio_frames = 50;
        let line = media_line(3, Some("p1"), &stats, 1_700_000_000_000);
        assert_eq!(line["type"], "media_stats");
        assert_eq!(line["bot"], 3);
        assert_eq!(line["client_uuid"], "p1");
        assert_eq!(line["t"], 1_700_000_000_000_u64);
        assert_eq!(line["from"]["p2"]["audio_packets"], 50);
        assert_eq!(line["from"]["p2"]["video_frames"], 15);
        assert_eq!(line["from"]["p2"]["lost"], 0);
        assert_eq!(line["sent"]["audio_frames"], 50);
        assert!(!line.to_string().contains('\n'), "one line");
    }
}

//! `plenum-bench media --shape record` (issue "Recording", speed): how many meetings one
//! server records at once, and `--shape live`: how many WHEP viewers one live stream holds
//! (`whep.rs`). Plenum only, with the media bench's bots (plenum-client's `MediaSession`).
//!
//! Record, per size M of `--n` (a fresh server per step, pinned like the media bench's):
//!
//! 1. M meetings, each with 4 bots publishing audio + video and receiving the 3 others;
//!    the step waits (bounded) until every bot decodes every other bot of its meeting;
//! 2. after 2 s, a 5 s **baseline** window without recording (server CPU);
//! 3. recording starts in all M meetings (`POST /api/v1/meeting/{n}/recording`); after 2 s,
//!    the measured `--window`: the server's CPU (all threads, and the egress threads alone,
//!    from /proc/<pid>/task/*/stat), the bots' loss; then recording stops (`DELETE`);
//! 4. **no lost frames**, checked three ways once every set has finished (the server logs a
//!    line per file and per set, in JSON): the recorder's counters (no frame dropped after a
//!    file's first frame; no tap frame dropped by the egress queue), the files themselves
//!    (ffprobe: packets = frames the recorder wrote; no gap in the timestamps longer than
//!    2.5 frame intervals) and the bots (packets in a participant's file vs. frames its bot
//!    sent between the start and the stop, within the start/stop edges).
//!
//! A size **holds** at ≤ 70 % of one core, no lost frame, < 1 % loss between the bots and no
//! dead stream. The steps stop at the first size that does not hold.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use hyper::Method;
use hyper::header::AUTHORIZATION;
use serde_json::{Value, json};

use crate::client::{self, Endpoint};
use crate::media::{
    self, Bot, MediaCli, cpu_seconds, pin, progress, read, rss_kb, start_all, stop_bots,
    wait_publishing, wait_ready,
};
use crate::report::Machine;
use crate::server::{Server, ServerConfig};

/// Media bots per recorded meeting (the figure).
pub(crate) const BOTS_PER_MEETING: u32 = 4;
/// The window without recording, before it starts.
const BASELINE: Duration = Duration::from_secs(5);
/// How often the publishers' stats slots are refreshed (their sent counts at the start and
/// the stop of the recording are this stale at most).
const REPORT_EVERY: Duration = Duration::from_millis(100);
/// How long the recordings may take to finish after the stop.
const FINISH_LIMIT: Duration = Duration::from_secs(60);
/// One HTTP call of the harness.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// One ffprobe run.
const PROBE_LIMIT: Duration = Duration::from_secs(30);
/// The bots' frame intervals (the fixtures: Opus 20 ms, VP8 15 fps).
const AUDIO_INTERVAL: f64 = 0.020;
const VIDEO_INTERVAL: f64 = 1.0 / 15.0;
/// A gap in a file's timestamps longer than this many frame intervals is a lost frame.
const GAP_FACTOR: f64 = 2.5;
/// At the start and the stop, a file may miss this much of what its bot sent: the start
/// reaches the egress through the meeting and media tasks (and video waits for a keyframe,
/// which the bots send at once when asked), the stop likewise; the bots' counts are up to
/// [`REPORT_EVERY`] old.
const EDGE_AUDIO: f64 = 0.5;
const EDGE_VIDEO: f64 = 1.2;

/// `plenum-bench media --shape record`.
pub fn main(cli: &MediaCli) -> std::process::ExitCode {
    exit(crate::media::block_on_bots(cli, async {
        let logs = logs_dir(cli)?;
        run_record(cli, &logs).await
    }))
}

/// The exit status of a run of steps: whether every step could be measured.
pub(crate) fn exit(result: Result<bool>) -> std::process::ExitCode {
    match result {
        Ok(ok) if ok => std::process::ExitCode::SUCCESS,
        Ok(_) => {
            eprintln!("plenum-bench media: FAILED: a step could not be measured");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("plenum-bench media: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Where the servers' logs go (`--log-dir`, else a kept temporary directory).
pub(crate) fn logs_dir(cli: &MediaCli) -> Result<std::path::PathBuf> {
    let logs = match &cli.log_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => tempfile::Builder::new()
            .prefix("plenum-bench-record-")
            .tempdir()?
            .keep(),
    };
    progress(&format!("server logs in {}", logs.display()));
    if cli.sfu.iter().any(|s| *s != media::Sfu::Plenum) {
        progress("record and live measure Plenum only (--sfu janus is ignored)");
    }
    Ok(logs)
}

async fn run_record(cli: &MediaCli, logs: &Path) -> Result<bool> {
    let mut steps = Vec::new();
    for &m in &cli.n {
        progress(&format!("record: {m} meetings of {BOTS_PER_MEETING} bots"));
        let log = logs.join(format!("plenum-record-{m}.log"));
        let step = match step_record(cli, m, log).await {
            Ok(step) => step,
            Err(e) => {
                progress(&format!("record m={m} failed: {e:#}"));
                RecordStep {
                    meetings: m,
                    problems: vec![format!("{e:#}")],
                    ..RecordStep::default()
                }
            }
        };
        progress(&step.line());
        let holds = step.holds();
        steps.push(step);
        if !holds {
            progress("this size does not hold: no larger size is tried");
            break;
        }
    }
    print!("{}", record_markdown(cli, &steps));
    if cli.json {
        for s in &steps {
            println!("{}", s.json());
        }
    }
    Ok(steps.iter().all(|s| s.window_s > 0.0))
}

/// One recorded file, as the server logged it and as ffprobe reads it.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileCheck {
    pub(crate) meeting: String,
    /// The participant (`client_uuid`); empty for the meeting recording.
    pub(crate) participant: String,
    /// `audio`, `video`, or `meeting` (the composition).
    pub(crate) kind: String,
    pub(crate) path: PathBuf,
    pub(crate) frames_written: u64,
    pub(crate) dropped_before_start: u64,
    pub(crate) dropped_after_start: u64,
    /// Packets in the file (the meeting recording: audio, video).
    pub(crate) packets: Option<(u64, u64)>,
    /// Timestamp gaps longer than [`GAP_FACTOR`] intervals, and the longest gap (ms).
    pub(crate) gaps: u64,
    pub(crate) longest_gap_ms: f64,
    /// File span (first to last timestamp), s.
    pub(crate) span_s: f64,
    /// Frames of this kind the participant's bot sent between the start and the stop.
    pub(crate) sent: Option<u64>,
    pub(crate) problems: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct RecordStep {
    meetings: u32,
    bots: u32,
    streams: u64,
    baseline_cpu_s: f64,
    baseline_s: f64,
    window_s: f64,
    server_cpu_s: f64,
    egress_cpu_s: f64,
    egress_threads: usize,
    bots_cpu_s: f64,
    packets: u64,
    lost: u64,
    dead_streams: u64,
    rss_before_kb: u64,
    rss_after_kb: u64,
    /// From the first start request to the last stop answer.
    recorded_s: f64,
    files: Vec<FileCheck>,
    /// Tap frames the egress queues dropped (sum over the meetings' sets).
    tap_dropped: u64,
    /// Samples of the composition left out of the meeting files (before its first keyframe).
    composed_video_skipped: u64,
    /// Datagrams the kernel dropped at the server's full UDP receive buffer, from the start
    /// of the recording to its stop.
    udp_drops: u64,
    cpus: usize,
    problems: Vec<String>,
}

impl RecordStep {
    fn cpu_percent(&self) -> f64 {
        self.server_cpu_s * 100.0 / self.window_s.max(1e-9)
    }
    fn baseline_percent(&self) -> f64 {
        self.baseline_cpu_s * 100.0 / self.baseline_s.max(1e-9)
    }
    fn egress_percent(&self) -> f64 {
        self.egress_cpu_s * 100.0 / self.window_s.max(1e-9)
    }
    fn machine_percent(&self) -> f64 {
        self.cpu_percent() / self.cpus.max(1) as f64
    }
    fn loss_percent(&self) -> f64 {
        self.lost as f64 * 100.0 / (self.packets + self.lost).max(1) as f64
    }
    /// Files expected: per bot an audio and a video file, per meeting its recording.
    fn files_expected(&self) -> usize {
        (self.meetings * (BOTS_PER_MEETING * 2 + 1)) as usize
    }
    fn files_with_problems(&self) -> usize {
        self.files.iter().filter(|f| !f.problems.is_empty()).count()
    }
    fn frames_lost(&self) -> bool {
        self.tap_dropped > 0
            || self.files.len() != self.files_expected()
            || self.files_with_problems() > 0
    }
    fn holds(&self) -> bool {
        self.window_s > 0.0
            && self.cpu_percent() <= 70.0
            && !self.frames_lost()
            && self.loss_percent() < 1.0
            && self.dead_streams == 0
    }
    fn written(&self) -> u64 {
        self.files.iter().map(|f| f.frames_written).sum()
    }
    fn dropped_after(&self) -> u64 {
        self.files.iter().map(|f| f.dropped_after_start).sum()
    }
    fn line(&self) -> String {
        if self.window_s == 0.0 {
            return format!(
                "record m={}: not measured: {}",
                self.meetings,
                self.problems.join("; ")
            );
        }
        format!(
            "record m={}: server {:.1} % of one core ({:.1} % of the machine; {:.1} % before recording; egress threads {:.1} %), {} files of {}, {} frames written, {} dropped after a file's start, {} tap frames dropped, {} datagrams dropped at the server's UDP receive buffer, {} files with problems, bots' loss {:.2} %, {} dead; holds: {}",
            self.meetings,
            self.cpu_percent(),
            self.machine_percent(),
            self.baseline_percent(),
            self.egress_percent(),
            self.files.len(),
            self.files_expected(),
            self.written(),
            self.dropped_after(),
            self.tap_dropped,
            self.udp_drops,
            self.files_with_problems(),
            self.loss_percent(),
            self.dead_streams,
            if self.holds() { "yes" } else { "no" }
        )
    }
    fn json(&self) -> Value {
        json!({
            "shape": "record", "meetings": self.meetings, "bots": self.bots,
            "streams": self.streams, "window_s": self.window_s,
            "recorded_s": self.recorded_s,
            "cpu_percent": self.cpu_percent(), "machine_percent": self.machine_percent(),
            "baseline_cpu_percent": self.baseline_percent(),
            "egress_cpu_percent": self.egress_percent(), "egress_threads": self.egress_threads,
            "bots_cpu_percent": self.bots_cpu_s * 100.0 / self.window_s.max(1e-9),
            "packets": self.packets, "lost": self.lost, "loss_percent": self.loss_percent(),
            "dead_streams": self.dead_streams,
            "rss_before_kb": self.rss_before_kb, "rss_after_kb": self.rss_after_kb,
            "files": self.files.len(), "files_expected": self.files_expected(),
            "frames_written": self.written(), "frames_dropped_after_start": self.dropped_after(),
            "frames_dropped_before_start":
                self.files.iter().map(|f| f.dropped_before_start).sum::<u64>(),
            "tap_dropped": self.tap_dropped, "server_udp_drops": self.udp_drops,
            "composed_video_skipped": self.composed_video_skipped,
            "files_with_problems": self.files_with_problems(),
            "file_problems": self.files.iter().flat_map(|f| f.problems.iter().map(move |p|
                format!("{} {} {}: {p}", f.meeting, f.kind, f.path.display()))).collect::<Vec<_>>(),
            "holds": self.holds(), "problems": self.problems,
        })
    }
}

/// Sends one JSON call with the admin token; its status and body.
pub(crate) async fn call(
    addr: SocketAddr,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<(hyper::StatusCode, Value)> {
    let mut endpoint =
        Endpoint::new(addr, method, path)?.header(AUTHORIZATION, &format!("Bearer {token}"))?;
    if let Some(body) = body {
        endpoint = endpoint.json_body(&body)?;
    }
    let (status, bytes) = client::send_once(addr, &endpoint, CALL_TIMEOUT).await?;
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if !status.is_success() {
        bail!(
            "{} {path}: {status}: {}",
            endpoint.label,
            client::snippet(&bytes)
        );
    }
    Ok((status, value))
}

/// CPU seconds of the threads of `pid` whose name starts with `prefix`, and how many.
pub(crate) fn threads_cpu_seconds(pid: u32, prefix: &str) -> (f64, usize) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return (0.0, 0);
    };
    let mut total = 0.0;
    let mut count = 0;
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let name = head.split_once('(').map_or("", |(_, n)| n);
        if !name.starts_with(prefix) {
            continue;
        }
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        total += (ticks(11) + ticks(12)) / 100.0;
        count += 1;
    }
    (total, count)
}

/// Datagrams the kernel dropped because the receive buffers of `pid`'s UDP sockets were full
/// (the `drops` column of /proc/net/udp, for the sockets among the process's descriptors).
pub(crate) fn udp_drops(pid: u32) -> u64 {
    let inodes: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| {
            fds.flatten()
                .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                .filter_map(|link| {
                    link.to_str()?
                        .strip_prefix("socket:[")?
                        .strip_suffix(']')
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    ["/proc/net/udp", "/proc/net/udp6"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .flat_map(|t| {
            t.lines()
                .skip(1)
                .map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        })
        .filter(|f| f.get(9).is_some_and(|i| inodes.contains(i)))
        .filter_map(|f| f.last()?.parse::<u64>().ok())
        .sum()
}

/// The publishers' sent (audio, video) frames, by bot id.
fn sent(bots: &[Bot]) -> HashMap<String, (u64, u64)> {
    bots.iter()
        .map(|b| {
            let s = read(&b.stats);
            (b.id.clone(), (s.sent_audio_frames, s.sent_video_frames))
        })
        .collect()
}

/// The bots' packets, losses and dead streams between two counter snapshots.
fn window_counts(
    c0: &[(u64, u64, u64)],
    c1: &[(u64, u64, u64)],
    step_packets: &mut u64,
    step_lost: &mut u64,
    dead: &mut u64,
) {
    for (a, b) in c0.iter().zip(c1) {
        let (audio, video) = (b.0.saturating_sub(a.0), b.1.saturating_sub(a.1));
        *step_packets += audio + video;
        *step_lost += b.2.saturating_sub(a.2);
        if audio == 0 || video == 0 {
            *dead += 1;
        }
    }
}

/// Starts a server for media: `peers` per meeting at most, JSON logs to `log`.
pub(crate) async fn media_server(
    cli: &MediaCli,
    peers: u32,
    calls: u32,
    log: PathBuf,
) -> Result<Server> {
    let server = Server::start(&ServerConfig {
        binary: cli.server.clone(),
        log_path: Some(log),
        seed: None,
        existing: None,
        database_url: None,
        node: None,
        extra_args: vec![
            "--media-listen".into(),
            "127.0.0.1:0".into(),
            "--media-max-peers-per-meeting".into(),
            peers.to_string(),
            "--max-calls".into(),
            calls.to_string(),
            "--log-format".into(),
            "json".into(),
        ],
    })
    .await?;
    pin(server.pid(), cli.pin_server)?;
    Ok(server)
}

/// Starts `per_room` publishing bots in each room (bot `i` in room `i / per_room`).
pub(crate) async fn start_publishers(
    addr: SocketAddr,
    rooms: &[String],
    per_room: u32,
) -> Result<Vec<Bot>> {
    let url = plenum_client::live_url(&format!("http://{addr}"))?;
    let rooms = rooms.to_vec();
    start_all(rooms.len() as u32 * per_room, move |i| {
        let room = rooms[(i / per_room) as usize].clone();
        let url = url.clone();
        async move {
            tokio::time::timeout(
                media::JOIN_LIMIT,
                media::plenum_bot_reporting(
                    url,
                    room,
                    format!("Bench {i}"),
                    true,
                    Some(REPORT_EVERY),
                ),
            )
            .await
            .map_err(|_| anyhow!("bot {i}: no join within {:?}", media::JOIN_LIMIT))?
            .with_context(|| format!("bot {i}"))
        }
    })
    .await
}

/// Per bot, the other bots of its room.
pub(crate) fn room_wants(bots: &[Bot], per_room: u32) -> Vec<(usize, Vec<String>)> {
    let per_room = per_room as usize;
    (0..bots.len())
        .map(|i| {
            let room = i / per_room;
            let others = (room * per_room..(room + 1) * per_room)
                .filter(|&k| k != i && k < bots.len())
                .map(|k| bots[k].id.clone())
                .collect();
            (i, others)
        })
        .collect()
}

async fn step_record(cli: &MediaCli, m: u32, log: PathBuf) -> Result<RecordStep> {
    let bots_total = m * BOTS_PER_MEETING;
    let mut server =
        media_server(cli, BOTS_PER_MEETING + 4, bots_total * 2 + 20, log.clone()).await?;
    let addr = server.addr();
    let pid = server.pid();
    let token = crate::scenario::sign_in(
        addr,
        crate::scenario::ADMIN_USERNAME,
        server.admin_password(),
    )
    .await?;
    let rooms = crate::live::create_rooms(addr, &token, m).await?;
    let mut step = RecordStep {
        meetings: m,
        bots: bots_total,
        rss_before_kb: rss_kb(pid)?,
        cpus: media::cpu_count(),
        ..RecordStep::default()
    };
    let started = Instant::now();
    let bots = start_publishers(addr, &rooms, BOTS_PER_MEETING).await?;
    wait_publishing(&bots).await;
    let want = room_wants(&bots, BOTS_PER_MEETING);
    step.streams = want.iter().map(|(_, p)| p.len() as u64).sum();
    let missing = wait_ready(
        &bots,
        &want,
        media::READY_BASE + Duration::from_millis(100) * step.streams as u32,
    )
    .await;
    progress(&format!(
        "record: {} bots in, {} of {} streams receiving video after {:.1} s",
        bots.len(),
        step.streams - missing,
        step.streams,
        started.elapsed().as_secs_f64()
    ));
    if missing > 0 {
        step.problems
            .push(format!("{missing} streams never received a keyframe"));
    }
    let result = record_and_check(cli, &mut step, &server, &token, &rooms, &bots, &want).await;
    stop_bots(bots).await;
    server.ensure_running()?;
    server.stop()?;
    result?;
    Ok(step)
}

async fn record_and_check(
    cli: &MediaCli,
    step: &mut RecordStep,
    server: &Server,
    token: &str,
    rooms: &[String],
    bots: &[Bot],
    want: &[(usize, Vec<String>)],
) -> Result<()> {
    let (addr, pid) = (server.addr(), server.pid());
    // Before recording.
    tokio::time::sleep(media::SETTLE).await;
    let (b0, t0) = (cpu_seconds(pid)?, Instant::now());
    tokio::time::sleep(BASELINE).await;
    step.baseline_cpu_s = cpu_seconds(pid)? - b0;
    step.baseline_s = t0.elapsed().as_secs_f64();
    // Recording.
    let sent_before = sent(bots);
    let drops_before = udp_drops(pid);
    let record_start = Instant::now();
    for room in rooms {
        call(
            addr,
            token,
            Method::POST,
            &format!("/api/v1/meeting/{room}/recording"),
            Some(json!({})),
        )
        .await?;
    }
    tokio::time::sleep(media::SETTLE).await;
    let me = std::process::id();
    let (cpu0, eg0, t0, c0, bots0) = (
        cpu_seconds(pid)?,
        threads_cpu_seconds(pid, "egress").0,
        Instant::now(),
        media::counters(bots, want),
        cpu_seconds(me)?,
    );
    tokio::time::sleep(cli.window).await;
    let (cpu1, (eg1, threads), t1, c1) = (
        cpu_seconds(pid)?,
        threads_cpu_seconds(pid, "egress"),
        Instant::now(),
        media::counters(bots, want),
    );
    step.window_s = (t1 - t0).as_secs_f64();
    step.server_cpu_s = cpu1 - cpu0;
    step.egress_cpu_s = eg1 - eg0;
    step.egress_threads = threads;
    step.bots_cpu_s = cpu_seconds(me)? - bots0;
    window_counts(
        &c0,
        &c1,
        &mut step.packets,
        &mut step.lost,
        &mut step.dead_streams,
    );
    step.rss_after_kb = rss_kb(pid)?;
    for room in rooms {
        call(
            addr,
            token,
            Method::DELETE,
            &format!("/api/v1/meeting/{room}/recording"),
            None,
        )
        .await?;
    }
    step.recorded_s = record_start.elapsed().as_secs_f64();
    step.udp_drops = udp_drops(pid).saturating_sub(drops_before);
    let sent_after = sent(bots);
    // The sets finish on the egress threads: wait for their lines.
    let deadline = Instant::now() + FINISH_LIMIT;
    let lines = loop {
        let lines = log_lines(server.log_path());
        let sets = lines
            .iter()
            .filter(|l| l["message"] == "recording set finished")
            .count();
        if sets >= rooms.len() || Instant::now() > deadline {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let span_sent: HashMap<String, (u64, u64)> = sent_after
        .iter()
        .map(|(id, (a, v))| {
            let (a0, v0) = sent_before.get(id).copied().unwrap_or_default();
            (id.clone(), (a.saturating_sub(a0), v.saturating_sub(v0)))
        })
        .collect();
    let bot_meeting: HashMap<String, String> = bots
        .iter()
        .enumerate()
        .map(|(i, b)| {
            (
                b.id.clone(),
                rooms
                    .get(i / BOTS_PER_MEETING as usize)
                    .cloned()
                    .unwrap_or_default(),
            )
        })
        .collect();
    check_files(step, &lines, &span_sent, &bot_meeting).await;
    Ok(())
}

/// The server's JSON log lines.
pub(crate) fn log_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect()
}

fn number(v: &Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

/// The files of the sets' log lines, probed and compared.
async fn check_files(
    step: &mut RecordStep,
    lines: &[Value],
    span_sent: &HashMap<String, (u64, u64)>,
    bot_meeting: &HashMap<String, String>,
) {
    let recorded = step.recorded_s;
    for l in lines {
        match l["message"].as_str() {
            Some("recording set finished") => {
                step.tap_dropped += number(&l["tap_dropped"]);
                step.composed_video_skipped += number(&l["composed_video_skipped"]);
                let path = PathBuf::from(l["path"].as_str().unwrap_or_default());
                let mut file = FileCheck {
                    meeting: l["meeting"].as_str().unwrap_or_default().to_owned(),
                    kind: "meeting".to_owned(),
                    path,
                    ..FileCheck::default()
                };
                probe(&mut file).await;
                if let Some((audio, video)) = file.packets {
                    file.frames_written = audio + video;
                    // The mix is written every 20 ms from the start to the stop.
                    let expected = recorded / AUDIO_INTERVAL;
                    if (audio as f64) < expected - EDGE_AUDIO * 2.0 / AUDIO_INTERVAL {
                        file.problems.push(format!(
                            "{audio} mix packets for {recorded:.1} s recorded (≈ {expected:.0})"
                        ));
                    }
                    if video == 0 {
                        file.problems.push("no video".to_owned());
                    }
                }
                step.files.push(file);
            }
            Some("recording file finished") => {
                let participant = l["participant"].as_str().unwrap_or_default().to_owned();
                let path = PathBuf::from(l["path"].as_str().unwrap_or_default());
                let mut file = FileCheck {
                    meeting: bot_meeting.get(&participant).cloned().unwrap_or_default(),
                    participant,
                    path,
                    frames_written: number(&l["frames_written"]),
                    dropped_before_start: number(&l["frames_dropped_before_start"]),
                    dropped_after_start: number(&l["frames_dropped_after_start"]),
                    ..FileCheck::default()
                };
                probe(&mut file).await;
                if file.dropped_after_start > 0 {
                    file.problems.push(format!(
                        "{} frames dropped after the file's start",
                        file.dropped_after_start
                    ));
                }
                if let Some((audio, video)) = file.packets {
                    let (packets, interval, edge) = if video > 0 {
                        file.kind = "video".to_owned();
                        (video, VIDEO_INTERVAL, EDGE_VIDEO)
                    } else {
                        file.kind = "audio".to_owned();
                        (audio, AUDIO_INTERVAL, EDGE_AUDIO)
                    };
                    if packets != file.frames_written {
                        file.problems.push(format!(
                            "{packets} packets in the file, {} frames written",
                            file.frames_written
                        ));
                    }
                    if let Some((a, v)) = span_sent.get(&file.participant) {
                        let sent = if video > 0 { *v } else { *a };
                        file.sent = Some(sent);
                        let missing = sent as f64 - packets as f64;
                        // Each edge may lose `edge`; the bot's counts are REPORT_EVERY old at
                        // each end (either way).
                        let slack = (2.0 * edge + 2.0 * REPORT_EVERY.as_secs_f64()) / interval;
                        let extra = 2.0 * REPORT_EVERY.as_secs_f64() / interval + 1.0;
                        if missing > slack || -missing > extra {
                            file.problems.push(format!(
                                "{packets} packets in the file, the bot sent {sent} while it recorded"
                            ));
                        }
                    } else {
                        file.problems
                            .push("the participant is not one of the bots".to_owned());
                    }
                }
                step.files.push(file);
            }
            _ => {}
        }
    }
}

/// Reads a file's packets with ffprobe: counts per stream, gaps, span.
async fn probe(file: &mut FileCheck) {
    let run = tokio::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "packet=stream_index,pts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(&file.path)
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(PROBE_LIMIT, run).await {
        Ok(Ok(o)) if o.status.success() => o,
        Ok(Ok(o)) => {
            file.problems.push(format!(
                "ffprobe: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
            return;
        }
        Ok(Err(e)) => {
            file.problems.push(format!("ffprobe: {e}"));
            return;
        }
        Err(_) => {
            file.problems.push("ffprobe took too long".to_owned());
            return;
        }
    };
    // Per stream: timestamps. The meeting file: stream 0 Opus, 1 VP8; a track file has one
    // stream (its kind from the caller's view: audio has 20 ms steps).
    let mut times: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let mut parts = line.split(',');
        let (Some(index), Some(pts)) = (parts.next(), parts.next()) else {
            continue;
        };
        if let (Ok(i), Ok(t)) = (index.trim().parse::<u32>(), pts.trim().parse::<f64>()) {
            times.entry(i).or_default().push(t);
        }
    }
    let mut counts = (0, 0);
    let mut first = f64::MAX;
    let mut last = f64::MIN;
    for (&index, list) in &mut times {
        list.sort_by(f64::total_cmp);
        // A single-stream file: audio or video, from its steps.
        let median = {
            let mut d: Vec<f64> = list.windows(2).map(|w| w[1] - w[0]).collect();
            d.sort_by(f64::total_cmp);
            d.get(d.len() / 2).copied().unwrap_or(AUDIO_INTERVAL)
        };
        let video = if file.kind == "meeting" {
            index == 1
        } else {
            median > (AUDIO_INTERVAL + VIDEO_INTERVAL) / 2.0
        };
        let interval = if video {
            VIDEO_INTERVAL
        } else {
            AUDIO_INTERVAL
        };
        for w in list.windows(2) {
            let gap = w[1] - w[0];
            file.longest_gap_ms = file.longest_gap_ms.max(gap * 1e3);
            if gap > GAP_FACTOR * interval {
                file.gaps += 1;
            }
        }
        if let (Some(a), Some(b)) = (list.first(), list.last()) {
            first = first.min(*a);
            last = last.max(*b);
        }
        if video {
            counts.1 += list.len() as u64;
        } else {
            counts.0 += list.len() as u64;
        }
    }
    file.span_s = (last - first).max(0.0);
    file.packets = Some(counts);
    if file.gaps > 0 {
        file.problems.push(format!(
            "{} gaps in the timestamps (longest {:.0} ms)",
            file.gaps, file.longest_gap_ms
        ));
    }
}

fn record_markdown(cli: &MediaCli, steps: &[RecordStep]) -> String {
    let machine = Machine::detect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## plenum-bench media: record (M meetings of {BOTS_PER_MEETING} bots publishing audio + video, all recorded)\n"
    );
    let _ = writeln!(
        out,
        "Machine: {} CPUs ({}; this process may use {}), {}; window {:?} (baseline {:?} before recording); server pinned to CPU {}; bots on {} thread(s).\n",
        media::cpu_count(),
        machine.cpu_model,
        machine.nproc,
        crate::live::memory_total(),
        cli.window,
        BASELINE,
        cli.pin_server
            .map_or_else(|| "none".to_owned(), |c| c.to_string()),
        cli.client_threads
    );
    let _ = writeln!(
        out,
        "| meetings | bots | server CPU % of one core (before recording) | % of the machine | egress threads CPU % | bots CPU % | files (expected) | frames written | dropped after a file's start | tap dropped | server UDP receive drops | files with problems | longest gap ms | bots' loss % | dead | RSS kB (before→after) | holds |"
    );
    let _ = writeln!(
        out,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for s in steps {
        if s.window_s == 0.0 {
            let _ = writeln!(
                out,
                "| {} | – | not measured: {} |",
                s.meetings,
                s.problems.join("; ")
            );
            continue;
        }
        let longest = s.files.iter().map(|f| f.longest_gap_ms).fold(0.0, f64::max);
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} ({:.1}) | {:.1} | {:.1} | {:.0} | {} ({}) | {} | {} | {} | {} | {} | {:.0} | {:.2} | {} | {}→{} | {} |",
            s.meetings,
            s.bots,
            s.cpu_percent(),
            s.baseline_percent(),
            s.machine_percent(),
            s.egress_percent(),
            s.bots_cpu_s * 100.0 / s.window_s,
            s.files.len(),
            s.files_expected(),
            s.written(),
            s.dropped_after(),
            s.tap_dropped,
            s.udp_drops,
            s.files_with_problems(),
            longest,
            s.loss_percent(),
            s.dead_streams,
            s.rss_before_kb,
            s.rss_after_kb,
            if s.holds() { "yes" } else { "no" },
        );
    }
    let _ = writeln!(out);
    let held = steps.iter().filter(|s| s.holds()).map(|s| s.meetings).max();
    let _ = writeln!(
        out,
        "- most meetings recorded at once (≤ 70 % of one core, no lost frame, < 1 % loss): {}",
        held.map_or_else(|| "none of the sizes".to_owned(), |m| m.to_string())
    );
    for s in steps {
        // The sent-vs-file comparison, summed per kind: what the edges cost.
        for kind in ["audio", "video"] {
            let files: Vec<&FileCheck> = s.files.iter().filter(|f| f.kind == kind).collect();
            let sent: u64 = files.iter().filter_map(|f| f.sent).sum();
            let packets: u64 = files
                .iter()
                .filter_map(|f| f.packets)
                .map(|p| p.0 + p.1)
                .sum();
            let _ = writeln!(
                out,
                "- m={}: {kind} files: {} packets in {} files, the bots sent {} frames from the start request to the stop answer ({:.1} s): {:.2} % not in the files (start/stop edges)",
                s.meetings,
                packets,
                files.len(),
                sent,
                s.recorded_s,
                (sent as f64 - packets as f64) * 100.0 / (sent.max(1)) as f64
            );
        }
        let meeting: Vec<&FileCheck> = s.files.iter().filter(|f| f.kind == "meeting").collect();
        let (a, v) = meeting
            .iter()
            .filter_map(|f| f.packets)
            .fold((0, 0), |acc, p| (acc.0 + p.0, acc.1 + p.1));
        let _ = writeln!(
            out,
            "- m={}: meeting files: {} ({a} mix packets, {v} video packets; {} composed video samples skipped before a file's first keyframe)",
            s.meetings,
            meeting.len(),
            s.composed_video_skipped
        );
        for f in s.files.iter().filter(|f| !f.problems.is_empty()).take(10) {
            let _ = writeln!(
                out,
                "- m={}: problem in {} {} {}: {}",
                s.meetings,
                f.meeting,
                f.kind,
                f.path.display(),
                f.problems.join("; ")
            );
        }
        if !s.problems.is_empty() {
            let _ = writeln!(
                out,
                "- m={}: problems: {}",
                s.meetings,
                s.problems.join("; ")
            );
        }
    }
    out
}

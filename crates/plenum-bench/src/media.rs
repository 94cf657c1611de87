//! `plenum-bench media`: the SFU benchmarks (issue "media"), Plenum and its anchor Janus
//! VideoRoom side by side in one run, driven by the same bots: plenum-client's
//! [`MediaSession`] (str0m), publishing the same embedded fixtures (Opus 20 ms, VP8 15 fps).
//!
//! Shapes: `lecture` (1 publisher of audio and video, N receive-only subscribers) and `meeting`
//! (N participants, each publishing and receiving everyone else). For each N of `--n`, and for
//! each SFU of `--sfu` in turn (a fresh server per step), it joins everyone, waits until every
//! subscriber decodes every publisher's video, then measures over `--window`:
//!
//! - the server's CPU (utime + stime of /proc/<pid>/stat, all threads) per RTP packet
//!   forwarded (= packets the subscribers received, from their sequence numbers), and as % of
//!   one core;
//! - the subscribers' loss (sequence-number gaps / (received + gaps)), and streams that got
//!   nothing in the window;
//! - the server's VmRSS at N minus before the joins, per media participant.
//!
//! Then `--late-joins` receive-only subscribers join one at a time: the time from the start of
//! their signalling (WebSocket connect, or Janus session creation) to the first whole video
//! frame and the first keyframe of publisher 0.
//!
//! Everything is on 127.0.0.1; every wait is bounded.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Parser, ValueEnum};
use plenum_client::media::Signal;
use plenum_client::protocol::TrackInfo;
use plenum_client::{
    Behaviour, Frame, JoinRequest, MediaSession, MediaStats, Observer, Participant,
};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::janus::{JanusApi, JanusServer};
use crate::report::Machine;
use crate::server::{Server, ServerConfig};

pub(crate) const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Bots connecting and negotiating at once.
const JOIN_CONCURRENCY: usize = 16;
/// How long one bot may take to join (and, for a publisher, to be answered).
pub(crate) const JOIN_LIMIT: Duration = Duration::from_secs(30);
/// How long everyone may take to receive video, beyond the joins: this plus 100 ms per stream.
pub(crate) const READY_BASE: Duration = Duration::from_secs(20);
/// Unmeasured time after everyone receives, before the window.
pub(crate) const SETTLE: Duration = Duration::from_secs(2);
/// How long a late joiner may take to receive its first keyframe.
const LATE_JOIN_LIMIT: Duration = Duration::from_secs(10);
/// Between two late joins.
const LATE_JOIN_GAP: Duration = Duration::from_millis(500);
/// How long the bots may take to end after the stop.
pub(crate) const STOP_LIMIT: Duration = Duration::from_secs(10);
const JANUS_ROOM: u64 = 4242;
/// The stats slots are refreshed this often by the Janus bots (the Plenum bots' observer is
/// called once a second by `run_with_media`).
const STATS_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shape {
    /// 1 publisher of audio and video, N receive-only subscribers.
    Lecture,
    /// N participants, each publishing audio and video and receiving all the others.
    Meeting,
    /// N meetings of 4 media bots each, all recorded at once (Plenum only; `record.rs`).
    Record,
    /// One meeting of 2 media bots streamed live to N WHEP viewers (Plenum only; `record.rs`).
    Live,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Sfu {
    Plenum,
    Janus,
}

impl Sfu {
    fn name(self) -> &'static str {
        match self {
            Self::Plenum => "plenum",
            Self::Janus => "janus",
        }
    }
}

/// `plenum-bench media`: Plenum's SFU and Janus VideoRoom, side by side.
#[derive(Debug, Parser)]
#[command(name = "plenum-bench media", version, about, long_about = None)]
pub struct MediaCli {
    /// lecture (1 publisher to N subscribers) or meeting (N × N).
    #[arg(long, value_enum)]
    pub(crate) shape: Shape,
    /// Sizes to step through (comma-separated): subscribers (lecture), participants
    /// (meeting), meetings recorded at once (record), WHEP viewers (live).
    #[arg(long, alias = "meetings", value_delimiter = ',', required = true,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) n: Vec<u32>,
    /// SFUs to measure at each size, in this order (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "plenum,janus"
    )]
    pub(crate) sfu: Vec<Sfu>,
    /// Measured window per step.
    #[arg(long, value_name = "TIME", default_value = "10s", value_parser = crate::parse_duration)]
    pub(crate) window: Duration,
    /// Late joiners per step, one at a time, after the window.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=200))]
    pub(crate) late_joins: u32,
    /// The Plenum server binary.
    #[arg(long, value_name = "PATH", default_value = "target/release/plenum")]
    pub(crate) server: PathBuf,
    /// The Janus binary.
    #[arg(long, value_name = "PATH", default_value = "/usr/bin/janus")]
    pub(crate) janus: PathBuf,
    /// Pin the server (all its threads) to this CPU with `taskset`.
    #[arg(long, value_name = "CPU")]
    pub(crate) pin_server: Option<u32>,
    /// Tokio worker threads of the bots (1: a current-thread runtime).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) client_threads: u16,
    /// Print one JSON object per step on stdout too.
    #[arg(long)]
    pub(crate) json: bool,
    /// Directory for the servers' logs (default: a temporary directory, kept on failure).
    #[arg(long, value_name = "DIR")]
    pub(crate) log_dir: Option<PathBuf>,
}

/// What one step (one SFU at one size) measured.
#[derive(Debug, Clone, Default)]
pub struct Step {
    pub sfu: &'static str,
    pub shape: &'static str,
    pub n: u32,
    pub publishers: u32,
    pub subscribers: u32,
    /// Publisher→subscriber pairs (each audio + video).
    pub streams: u64,
    pub window_s: f64,
    pub server_cpu_s: f64,
    /// CPU of this process (all the bots) over the window: near 100 % of its one core, the
    /// bots, not the server, are the limit.
    pub bots_cpu_s: f64,
    pub packets: u64,
    pub lost: u64,
    /// Streams that received nothing in the window (or never got video).
    pub dead_streams: u64,
    pub rss_before_kb: u64,
    pub rss_after_kb: u64,
    /// Late joins: first whole video frame / first keyframe, ms from the start of signalling.
    pub late_first_frame_ms: Vec<f64>,
    pub late_first_keyframe_ms: Vec<f64>,
    pub late_failed: u32,
    /// What publisher 0 sent (frames, keyframe requests answered), at the window's end.
    pub publisher: String,
    pub problems: Vec<String>,
}

impl Step {
    fn ns_per_packet(&self) -> f64 {
        self.server_cpu_s * 1e9 / self.packets.max(1) as f64
    }
    fn cpu_percent(&self) -> f64 {
        self.server_cpu_s * 100.0 / self.window_s.max(1e-9)
    }
    fn loss_percent(&self) -> f64 {
        self.lost as f64 * 100.0 / (self.packets + self.lost).max(1) as f64
    }
    fn rss_per_participant_kb(&self) -> f64 {
        self.rss_after_kb.saturating_sub(self.rss_before_kb) as f64
            / f64::from((self.publishers + self.subscribers).max(1))
    }
    /// ≤ 70 % of one core, < 1 % loss, no dead stream.
    fn holds(&self) -> bool {
        self.cpu_percent() <= 70.0 && self.loss_percent() < 1.0 && self.dead_streams == 0
    }

    fn json(&self) -> Value {
        json!({
            "sfu": self.sfu, "shape": self.shape, "n": self.n,
            "publishers": self.publishers, "subscribers": self.subscribers,
            "streams": self.streams, "window_s": self.window_s,
            "server_cpu_s": self.server_cpu_s, "cpu_percent": self.cpu_percent(),
            "bots_cpu_percent": self.bots_cpu_s * 100.0 / self.window_s.max(1e-9),
            "packets": self.packets, "ns_per_packet": self.ns_per_packet(),
            "lost": self.lost, "loss_percent": self.loss_percent(),
            "dead_streams": self.dead_streams,
            "rss_before_kb": self.rss_before_kb, "rss_after_kb": self.rss_after_kb,
            "rss_per_participant_kb": self.rss_per_participant_kb(),
            "late_first_frame_ms": self.late_first_frame_ms,
            "late_first_keyframe_ms": self.late_first_keyframe_ms,
            "late_failed": self.late_failed, "holds": self.holds(),
            "publisher": self.publisher,
            "problems": self.problems,
        })
    }
}

/// Runs `work` on the bots' runtime (`--client-threads`), or stops it at Ctrl-C.
pub(crate) fn block_on_bots<T>(
    cli: &MediaCli,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let runtime = match cli.client_threads {
        1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(usize::from(n));
            b
        }
    }
    .enable_all()
    .build()
    .context("starting the tokio runtime")?;
    runtime.block_on(async {
        tokio::select! {
            r = work => r,
            _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
        }
    })
}

/// The machine's CPUs, as /proc/cpuinfo lists them.
pub(crate) fn cpu_count() -> usize {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|t| t.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(0)
}

/// `plenum-bench media --shape lecture|meeting` (main.rs sends `record` and `live` to
/// record.rs and whep.rs).
pub fn main(cli: MediaCli) -> std::process::ExitCode {
    let result = block_on_bots(&cli, run(&cli));
    match result {
        Ok(steps) => {
            print!("{}", markdown(&cli, &steps));
            if cli.json {
                for s in &steps {
                    println!("{}", s.json());
                }
            }
            // A step that could not be measured fails the run; missed targets do not (they
            // are in the table).
            if steps.iter().any(|s| s.window_s == 0.0) {
                eprintln!("plenum-bench media: FAILED: a step could not be measured");
                std::process::ExitCode::FAILURE
            } else {
                std::process::ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("plenum-bench media: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

pub(crate) fn progress(message: &str) {
    eprintln!("plenum-bench media: {message}");
}

async fn run(cli: &MediaCli) -> Result<Vec<Step>> {
    let logs = match &cli.log_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => tempfile::Builder::new()
            .prefix("plenum-bench-media-")
            .tempdir()?
            .keep(),
    };
    progress(&format!("server logs in {}", logs.display()));
    let mut steps = Vec::new();
    for &n in &cli.n {
        for &sfu in &cli.sfu {
            progress(&format!("{} {:?} n={n}", sfu.name(), cli.shape));
            let log = logs.join(format!("{}-{:?}-{n}.log", sfu.name(), cli.shape).to_lowercase());
            let step = match sfu {
                Sfu::Plenum => step_plenum(cli, n, log).await,
                Sfu::Janus => step_janus(cli, n, log).await,
            };
            match step {
                Ok(step) => {
                    progress(&format!(
                        "{} n={n}: {:.0} ns/packet, {:.1} % CPU, {:.2} % loss, {} dead, {:.0} kB RSS/participant",
                        step.sfu,
                        step.ns_per_packet(),
                        step.cpu_percent(),
                        step.loss_percent(),
                        step.dead_streams,
                        step.rss_per_participant_kb()
                    ));
                    steps.push(step);
                }
                Err(e) => {
                    progress(&format!("{} n={n} failed: {e:#}", sfu.name()));
                    steps.push(Step {
                        sfu: sfu.name(),
                        shape: shape_name(cli.shape),
                        n,
                        problems: vec![format!("{e:#}")],
                        ..Step::default()
                    });
                }
            }
        }
    }
    Ok(steps)
}

fn shape_name(shape: Shape) -> &'static str {
    match shape {
        Shape::Lecture => "lecture",
        Shape::Meeting => "meeting",
        Shape::Record => "record",
        Shape::Live => "live",
    }
}

/// The stats slot a bot refreshes (the last [`MediaStats`] it reported).
pub(crate) type Slot = Arc<Mutex<MediaStats>>;

pub(crate) fn read(slot: &Slot) -> MediaStats {
    slot.lock().map(|s| s.clone()).unwrap_or_default()
}

/// One running bot.
pub(crate) struct Bot {
    /// Its id as the others see it: Plenum `client_uuid`, Janus feed id.
    pub(crate) id: String,
    pub(crate) stats: Slot,
    pub(crate) task: JoinHandle<()>,
    /// Plenum: ends this bot alone (late joiners); the shared stop ends the others.
    pub(crate) stop: Option<watch::Sender<bool>>,
}

/// Pins `pid`'s threads to `cpu` (taskset -a -p).
pub(crate) fn pin(pid: u32, cpu: Option<u32>) -> Result<()> {
    let Some(cpu) = cpu else { return Ok(()) };
    let status = std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", &cpu.to_string(), &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .context("running taskset")?;
    if !status.success() {
        bail!("taskset -a -p -c {cpu} {pid}: {status}");
    }
    Ok(())
}

pub(crate) fn cpu_seconds(pid: u32) -> Result<f64> {
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| -> Result<f64> {
        Ok(fields
            .get(i)
            .context("/proc/<pid>/stat is short")?
            .parse::<f64>()?)
    };
    Ok((ticks(14 - 3)? + ticks(15 - 3)?) / TICKS_PER_SECOND)
}

pub(crate) fn rss_kb(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .context("no VmRSS")
}

/// Who publishes and who receives in a shape of size `n`.
fn roles(shape: Shape, n: u32) -> (u32, u32) {
    match shape {
        // (publishers, receive-only subscribers)
        Shape::Lecture => (1, n),
        Shape::Meeting | Shape::Record | Shape::Live => (n, 0),
    }
}

/// Per receiver, the publisher ids it must receive.
pub(crate) fn expected(bots: &[Bot], publishers: usize) -> Vec<(usize, Vec<String>)> {
    let pubs: Vec<String> = bots[..publishers].iter().map(|b| b.id.clone()).collect();
    bots.iter()
        .enumerate()
        .filter_map(|(i, _)| {
            let want: Vec<String> = pubs
                .iter()
                .enumerate()
                .filter(|(p, _)| *p != i)
                .map(|(_, id)| id.clone())
                .collect();
            (!want.is_empty()).then_some((i, want))
        })
        .collect()
}

/// Waits until every receiver decoded a keyframe of every publisher it expects; the number of
/// streams still without one at the limit.
pub(crate) async fn wait_ready(
    bots: &[Bot],
    want: &[(usize, Vec<String>)],
    limit: Duration,
) -> u64 {
    let deadline = Instant::now() + limit;
    loop {
        let missing: u64 = want
            .iter()
            .map(|(i, pubs)| {
                let stats = read(&bots[*i].stats);
                pubs.iter()
                    .filter(|p| {
                        stats
                            .from
                            .get(*p)
                            .is_none_or(|f| f.first_keyframe.is_none())
                    })
                    .count() as u64
            })
            .sum();
        if missing == 0 || Instant::now() > deadline {
            return missing;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits (bounded) until every publisher's publish connection is connected, then a little.
pub(crate) async fn wait_publishing(bots: &[Bot]) {
    wait_publishing_slots(bots.iter().map(|b| &b.stats)).await;
}

async fn wait_publishing_slots<'a>(slots: impl Iterator<Item = &'a Slot> + Clone) {
    let deadline = Instant::now() + JOIN_LIMIT;
    while Instant::now() < deadline && !slots.clone().all(|s| read(s).publish_connected.is_some()) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// Per (receiver, publisher): audio packets, video packets and packets lost so far.
pub(crate) fn counters(bots: &[Bot], want: &[(usize, Vec<String>)]) -> Vec<(u64, u64, u64)> {
    let mut out = Vec::new();
    for (i, pubs) in want {
        let stats = read(&bots[*i].stats);
        for p in pubs {
            let f = stats.from.get(p);
            out.push(f.map_or((0, 0, 0), |f| (f.audio_packets, f.video_packets, f.lost)));
        }
    }
    out
}

/// The measured window: CPU of `pid`, packets and losses of the streams.
async fn measure(
    step: &mut Step,
    pid: u32,
    bots: &[Bot],
    want: &[(usize, Vec<String>)],
    window: Duration,
) -> Result<()> {
    tokio::time::sleep(SETTLE).await;
    let me = std::process::id();
    let (cpu0, t0, c0) = (cpu_seconds(pid)?, Instant::now(), counters(bots, want));
    let bots0 = cpu_seconds(me)?;
    tokio::time::sleep(window).await;
    let (cpu1, t1, c1) = (cpu_seconds(pid)?, Instant::now(), counters(bots, want));
    step.window_s = (t1 - t0).as_secs_f64();
    step.server_cpu_s = cpu1 - cpu0;
    step.bots_cpu_s = cpu_seconds(me)? - bots0;
    for (a, b) in c0.iter().zip(&c1) {
        let (audio, video) = (b.0.saturating_sub(a.0), b.1.saturating_sub(a.1));
        step.packets += audio + video;
        step.lost += b.2.saturating_sub(a.2);
        // Every publisher sends both: a stream missing either is dead.
        if audio == 0 || video == 0 {
            step.dead_streams += 1;
        }
    }
    step.rss_after_kb = rss_kb(pid)?;
    let publisher = read(&bots[0].stats);
    step.publisher = format!(
        "publisher 0 sent {} audio and {} video frames, answered {} keyframe requests; closed: {:?}",
        publisher.sent_audio_frames,
        publisher.sent_video_frames,
        publisher.keyframe_requests,
        publisher.closed
    );
    Ok(())
}

/// Late joins, one at a time; `join` starts one receive-only bot.
async fn late_joins<F, Fut>(step: &mut Step, count: u32, publisher: &str, mut join: F)
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Result<Bot>>,
{
    for k in 0..count {
        let started = Instant::now();
        let bot = match tokio::time::timeout(LATE_JOIN_LIMIT, join(k)).await {
            Ok(Ok(bot)) => bot,
            Ok(Err(e)) => {
                step.late_failed += 1;
                step.problems.push(format!("late join {k}: {e:#}"));
                continue;
            }
            Err(_) => {
                step.late_failed += 1;
                step.problems
                    .push(format!("late join {k}: no join within {LATE_JOIN_LIMIT:?}"));
                continue;
            }
        };
        let mut got = None;
        while started.elapsed() < LATE_JOIN_LIMIT {
            let stats = read(&bot.stats);
            if let Some(f) = stats.from.get(publisher)
                && let (Some(frame), Some(key)) = (f.first_video_frame, f.first_keyframe)
            {
                got = Some((frame, key));
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        match got {
            Some((frame, key)) => {
                step.late_first_frame_ms
                    .push(frame.saturating_duration_since(started).as_secs_f64() * 1e3);
                step.late_first_keyframe_ms
                    .push(key.saturating_duration_since(started).as_secs_f64() * 1e3);
            }
            None => {
                step.late_failed += 1;
                step.problems.push(format!(
                    "late join {k}: no keyframe within {LATE_JOIN_LIMIT:?}"
                ));
            }
        }
        stop_bots(vec![bot]).await;
        tokio::time::sleep(LATE_JOIN_GAP).await;
    }
}

pub(crate) async fn stop_bots(bots: Vec<Bot>) {
    for b in &bots {
        if let Some(stop) = &b.stop {
            let _ = stop.send(true);
        }
    }
    for b in bots {
        let abort = b.task.abort_handle();
        if tokio::time::timeout(STOP_LIMIT, b.task).await.is_err() {
            abort.abort();
        }
    }
}

/// Starts `count` bots, at most [`JOIN_CONCURRENCY`] at once; each `start(i)` resolves once
/// the bot is in (and, for a publisher, answered). In index order.
pub(crate) async fn start_all<T, F, Fut>(count: u32, start: F) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(u32) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
{
    let gate = Arc::new(tokio::sync::Semaphore::new(JOIN_CONCURRENCY));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..count {
        let bot = start(i);
        let gate = gate.clone();
        set.spawn(async move {
            let _permit = gate.acquire_owned().await?;
            anyhow::Ok((i, bot.await?))
        });
    }
    let mut out = Vec::with_capacity(count as usize);
    while let Some(done) = set.join_next().await {
        out.push(done.map_err(|e| anyhow!("a bot task failed: {e}"))??);
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, t)| t).collect())
}

// ---------------------------------------------------------------------------------------
// Plenum

/// Stores each second's stats in the slot.
struct SlotObserver(Slot);

impl Observer for SlotObserver {
    async fn frame(&mut self, _frame: &Frame) {}
    async fn media_stats(&mut self, stats: &MediaStats) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = stats.clone();
        }
    }
}

pub(crate) async fn plenum_bot(
    url: String,
    room: String,
    name: String,
    publish: bool,
) -> Result<Bot> {
    plenum_bot_reporting(url, room, name, publish, None).await
}

/// [`plenum_bot`], its stats slot refreshed every `report_every` (default: once a second).
pub(crate) async fn plenum_bot_reporting(
    url: String,
    room: String,
    name: String,
    publish: bool,
    report_every: Option<Duration>,
) -> Result<Bot> {
    let mut p = Participant::connect(&url, None).await?;
    let request = JoinRequest {
        meeting_number: room,
        password: Some(crate::scenario::ROOM_PASSWORD.to_owned()),
        display_name: name,
        device_type: "bot".to_owned(),
        media_type: "video".to_owned(),
    };
    let joined = p
        .join(&request, &mut plenum_client::Ignore)
        .await
        .map_err(|e| anyhow!("join: {e:?}"))?;
    let mut media = MediaSession::bind(LOOPBACK, true).await?;
    media.set_receive_only(!publish);
    if let Some(every) = report_every {
        media.set_report_every(every);
    }
    let stats: Slot = Arc::default();
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let slot = stats.clone();
    let task = tokio::spawn(async move {
        let stopped = async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        };
        // A publisher talks (unmutes), so its audio is forwarded.
        let behaviour = Behaviour {
            talk: publish,
            duration: None,
        };
        let (ending, why) = p
            .run_with_media(behaviour, stopped, &mut SlotObserver(slot), &mut media)
            .await;
        verbose(&format!("bot ended: {ending:?} {why}"));
    });
    Ok(Bot {
        id: joined.client_uuid,
        stats,
        task,
        stop: Some(stop_tx),
    })
}

/// A diagnostic line on stderr when PLENUM_BENCH_VERBOSE is set.
pub(crate) fn verbose(message: &str) {
    if std::env::var_os("PLENUM_BENCH_VERBOSE").is_some() {
        progress(message);
    }
}

async fn step_plenum(cli: &MediaCli, n: u32, log: PathBuf) -> Result<Step> {
    let (publishers, subscribers) = roles(cli.shape, n);
    let total = publishers + subscribers + cli.late_joins + 10;
    let mut server = Server::start(&ServerConfig {
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
            total.to_string(),
            "--max-calls".into(),
            (total * 2).to_string(),
        ],
    })
    .await?;
    pin(server.pid(), cli.pin_server)?;
    let addr = server.addr();
    let token = crate::scenario::sign_in(
        addr,
        crate::scenario::ADMIN_USERNAME,
        server.admin_password(),
    )
    .await?;
    let rooms = crate::live::create_rooms(addr, &token, 1).await?;
    let room = rooms.first().cloned().context("no room")?;
    let url = plenum_client::live_url(&format!("http://{addr}"))?;
    let pid = server.pid();
    let mut step = Step::new("plenum", cli, n, publishers, subscribers, pid)?;
    let started = Instant::now();
    // Publishers first, publishing before anyone else joins, as in Janus's run: both SFUs
    // then start from the same state (Plenum shows a viewer only those who send video).
    let start = |first: u32, count: u32| {
        let (url, room) = (url.clone(), room.clone());
        start_all(count, move |k| {
            let i = first + k;
            let (url, room) = (url.clone(), room.clone());
            async move {
                tokio::time::timeout(
                    JOIN_LIMIT,
                    plenum_bot(url, room, format!("Bench {i}"), i < publishers),
                )
                .await
                .map_err(|_| anyhow!("bot {i}: no join within {JOIN_LIMIT:?}"))?
                .with_context(|| format!("bot {i}"))
            }
        })
    };
    let mut bots = start(0, publishers).await?;
    wait_publishing(&bots).await;
    bots.extend(start(publishers, subscribers).await?);
    settle(
        &mut step, "plenum", &bots, publishers, started, pid, cli.window,
    )
    .await?;
    let publisher = bots[0].id.clone();
    late_joins(&mut step, cli.late_joins, &publisher, |k| {
        plenum_bot(url.clone(), room.clone(), format!("Late {k}"), false)
    })
    .await;
    stop_bots(bots).await;
    server.ensure_running()?;
    server.stop()?;
    Ok(step)
}

// ---------------------------------------------------------------------------------------
// Janus

/// What a Janus bot is told after it started.
enum Command {
    /// Subscribe to these feeds (one subscriber handle, all their streams).
    Subscribe(Vec<u64>),
}

/// A Janus bot: its session, the publisher handle's feed id (publishers), commands, stats.
struct JanusBot {
    bot: Bot,
    commands: mpsc::UnboundedSender<Command>,
}

/// The `sdp` and `ref` of a signalling frame the media client queued (Plenum's format).
fn sdp_of(text: &str) -> Result<(String, Option<Value>, String)> {
    let v: Value = serde_json::from_str(text)?;
    let kind = v["type"].as_str().unwrap_or_default().to_owned();
    let sdp = v["sdp"].as_str().context("no sdp")?.to_owned();
    Ok((kind, v.get("ref").cloned(), sdp))
}

/// Waits for an event of `handle` that `accept` takes (other events are kept for later).
async fn wait_event(
    events: &mut mpsc::UnboundedReceiver<Value>,
    kept: &mut Vec<Value>,
    handle: u64,
    what: &str,
    accept: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let deadline = tokio::time::Instant::now() + JOIN_LIMIT;
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .map_err(|_| anyhow!("no {what} from Janus within {JOIN_LIMIT:?}"))?
            .context("the event poller ended")?;
        if event["sender"].as_u64() == Some(handle) && accept(&event) {
            return Ok(event);
        }
        if event["janus"] == "event" && !event["plugindata"]["data"]["error"].is_null() {
            bail!("Janus: {}", event["plugindata"]["data"]);
        }
        kept.push(event);
    }
}

async fn janus_bot(
    api: JanusApi,
    ip: IpAddr,
    room: u64,
    publish: bool,
    stop: watch::Receiver<bool>,
) -> Result<JanusBot> {
    let session = api.create_session().await?;
    let (events_tx, mut events) = mpsc::unbounded_channel();
    // The long poll, until the bot ends (its sender closes) or the session is gone.
    let poller = {
        let events_tx = events_tx.clone();
        tokio::spawn(async move {
            let mut failures = 0;
            while !events_tx.is_closed() && failures < 3 {
                match api.poll(session).await {
                    Ok(list) => {
                        failures = 0;
                        for e in list {
                            if events_tx.send(e).is_err() {
                                return;
                            }
                        }
                    }
                    Err(_) => failures += 1,
                }
            }
        })
    };
    drop(events_tx);
    let mut media = MediaSession::bind(ip, true).await?;
    media.set_receive_only(!publish);
    let mut kept = Vec::new();
    let mut id = format!("session-{session}");
    if publish {
        let handle = api.attach(session).await?;
        api.message(
            session,
            handle,
            json!({"request": "join", "ptype": "publisher", "room": room, "display": "bench"}),
            None,
        )
        .await?;
        let joined = wait_event(&mut events, &mut kept, handle, "joined", |e| {
            e["plugindata"]["data"]["videoroom"] == "joined"
        })
        .await?;
        let feed = joined["plugindata"]["data"]["id"]
            .as_u64()
            .context("no feed id")?;
        id = feed.to_string();
        media.start();
        let text = media.next_signalling().context("no publish offer")?;
        let (_, reference, sdp) = sdp_of(&text)?;
        api.message(
            session,
            handle,
            json!({"request": "publish"}),
            Some(json!({"type": "offer", "sdp": sdp})),
        )
        .await?;
        let answered = wait_event(&mut events, &mut kept, handle, "publish answer", |e| {
            e["jsep"]["type"] == "answer"
        })
        .await?;
        let sdp = answered["jsep"]["sdp"]
            .as_str()
            .context("no answer sdp")?
            .to_owned();
        verbose(&format!("janus publish offer:\n{text}\nanswer:\n{sdp}"));
        media.handle_signal(Signal::Answer { reference, sdp });
        // Our candidates were in the offer: no more are coming.
        api.trickle_completed(session, handle).await?;
    }
    let stats: Slot = Arc::default();
    let (commands_tx, mut commands) = mpsc::unbounded_channel::<Command>();
    let slot = stats.clone();
    let mut stop = stop;
    let task = tokio::spawn(async move {
        let mut subscriber: Option<u64> = None;
        let mut version = 0_u64;
        let mut tick = tokio::time::interval(STATS_EVERY);
        let mut commands_open = true;
        for e in std::mem::take(&mut kept) {
            verbose(&format!("janus event before the loop: {e}"));
        }
        loop {
            tokio::select! {
                _ = async { stop.wait_for(|s| *s).await.is_ok() } => break,
                signalled = media.drive() => {
                    if signalled {
                        while let Some(text) = media.next_signalling() {
                            let Ok((kind, _, sdp)) = sdp_of(&text) else { continue };
                            if kind == "subscribe_answer" && let Some(h) = subscriber
                                && let Err(e) = api.message(session, h, json!({"request": "start"}),
                                    Some(json!({"type": "answer", "sdp": sdp}))).await {
                                progress(&format!("janus start: {e:#}"));
                            }
                        }
                    }
                }
                event = events.recv() => {
                    let Some(event) = event else { break };
                    if Some(event["sender"].as_u64().unwrap_or(0)) == subscriber
                        && event["jsep"]["type"] == "offer"
                    {
                        let sdp = event["jsep"]["sdp"].as_str().unwrap_or_default().to_owned();
                        let tracks = event["plugindata"]["data"]["streams"]
                            .as_array()
                            .map(|streams| streams.iter().filter_map(|s| {
                                Some(TrackInfo {
                                    mid: s["mid"].as_str()?.to_owned(),
                                    client_uuid: s["feed_id"].as_u64()?.to_string(),
                                    kind: s["type"].as_str()?.to_owned(),
                                })
                            }).collect())
                            .unwrap_or_default();
                        version += 1;
                        media.handle_signal(Signal::Subscribe { version, sdp, tracks });
                        while let Some(text) = media.next_signalling() {
                            let Ok((kind, _, sdp)) = sdp_of(&text) else { continue };
                            if kind == "subscribe_answer" && let Some(h) = subscriber
                                && let Err(e) = api.message(session, h, json!({"request": "start"}),
                                    Some(json!({"type": "answer", "sdp": sdp}))).await {
                                progress(&format!("janus start: {e:#}"));
                            }
                        }
                    } else if event["janus"] == "hangup" || !event["plugindata"]["data"]["error"].is_null() {
                        verbose(&format!("janus: {event}"));
                    }
                }
                command = commands.recv(), if commands_open => {
                    match command {
                        Some(Command::Subscribe(feeds)) => {
                            let attached = async {
                                let h = api.attach(session).await?;
                                let streams: Vec<Value> = feeds.iter().map(|f| json!({"feed": f})).collect();
                                api.message(session, h, json!({"request": "join", "ptype": "subscriber",
                                    "room": room, "streams": streams}), None).await?;
                                anyhow::Ok(h)
                            }.await;
                            match attached {
                                Ok(h) => {
                                    subscriber = Some(h);
                                    if let Err(e) = api.trickle_completed(session, h).await {
                                        progress(&format!("janus trickle: {e:#}"));
                                    }
                                }
                                Err(e) => progress(&format!("janus subscribe: {e:#}")),
                            }
                        }
                        None => commands_open = false,
                    }
                }
                _ = tick.tick() => {
                    if let Ok(mut s) = slot.lock() { *s = media.stats().clone(); }
                }
            }
        }
        let _ = api.destroy(session).await;
        poller.abort();
    });
    Ok(JanusBot {
        bot: Bot {
            id,
            stats,
            task,
            stop: None,
        },
        commands: commands_tx,
    })
}

async fn step_janus(cli: &MediaCli, n: u32, log: PathBuf) -> Result<Step> {
    let (publishers, subscribers) = roles(cli.shape, n);
    let mut server = JanusServer::start(&cli.janus, cli.pin_server, &log).await?;
    let api = JanusApi {
        addr: server.addr(),
    };
    // Janus skips loopback interfaces when it gathers, so its only IPv4 candidate is the
    // host's own address; the bots bind to that address (a local address: the kernel delivers
    // through the loopback device, nothing leaves the machine).
    let ip = api.local_ip().await?;
    api.create_room(JANUS_ROOM, publishers + 10).await?;
    let pid = server.pid();
    let mut step = Step::new("janus", cli, n, publishers, subscribers, pid)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let started = Instant::now();
    // Publishers first (their feed ids are what subscribers ask for).
    let pubs = start_all(publishers, |i| {
        let stop = stop_rx.clone();
        async move {
            tokio::time::timeout(JOIN_LIMIT, janus_bot(api, ip, JANUS_ROOM, true, stop))
                .await
                .map_err(|_| anyhow!("publisher {i}: no join within {JOIN_LIMIT:?}"))?
                .with_context(|| format!("publisher {i}"))
        }
    })
    .await;
    let pubs: Vec<JanusBot> = pubs?;
    // A feed can be subscribed to once its publisher is connected.
    wait_publishing_slots(pubs.iter().map(|b| &b.bot.stats)).await;
    let feeds: Vec<u64> = pubs.iter().filter_map(|b| b.bot.id.parse().ok()).collect();
    let subs: Vec<JanusBot> = start_all(subscribers, |i| {
        let stop = stop_rx.clone();
        async move {
            tokio::time::timeout(JOIN_LIMIT, janus_bot(api, ip, JANUS_ROOM, false, stop))
                .await
                .map_err(|_| anyhow!("subscriber {i}: no join within {JOIN_LIMIT:?}"))?
                .with_context(|| format!("subscriber {i}"))
        }
    })
    .await?;
    let mut all: Vec<JanusBot> = pubs.into_iter().chain(subs).collect();
    for (i, b) in all.iter().enumerate() {
        let others: Vec<u64> = feeds
            .iter()
            .enumerate()
            .filter(|(p, _)| *p != i)
            .map(|(_, f)| *f)
            .collect();
        if !others.is_empty() {
            let _ = b.commands.send(Command::Subscribe(others));
        }
    }
    let bots: Vec<Bot> = all.drain(..).map(|b| b.bot).collect();
    settle(
        &mut step, "janus", &bots, publishers, started, pid, cli.window,
    )
    .await?;
    let publisher = bots[0].id.clone();
    let feed0 = feeds.first().copied().unwrap_or(0);
    late_joins(&mut step, cli.late_joins, &publisher, |_| {
        let (late_stop_tx, late_stop_rx) = watch::channel(false);
        async move {
            let b = janus_bot(api, ip, JANUS_ROOM, false, late_stop_rx).await?;
            let _ = b.commands.send(Command::Subscribe(vec![feed0]));
            let mut bot = b.bot;
            bot.stop = Some(late_stop_tx);
            Ok(bot)
        }
    })
    .await;
    let _ = stop_tx.send(true);
    stop_bots(bots).await;
    server.ensure_running()?;
    server.stop();
    Ok(step)
}

// ---------------------------------------------------------------------------------------
// Report

pub(crate) fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v.get(rank.saturating_sub(1).min(v.len() - 1)).copied()
}

pub(crate) fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.0}"))
}

fn markdown(cli: &MediaCli, steps: &[Step]) -> String {
    let machine = Machine::detect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## plenum-bench media: {} ({})\n",
        shape_name(cli.shape),
        match cli.shape {
            Shape::Lecture => "1 publisher of audio + video to N receive-only subscribers",
            Shape::Meeting | Shape::Record | Shape::Live =>
                "N participants, each publishing audio + video and receiving the others",
        }
    );
    let cpus = cpu_count();
    let _ = writeln!(
        out,
        "Machine: {cpus} CPUs ({}; this process may use {}), {}; window {:?}; server pinned to CPU {}; bots on {} thread(s).\n",
        machine.cpu_model,
        machine.nproc,
        crate::live::memory_total(),
        cli.window,
        cli.pin_server
            .map_or_else(|| "none".to_owned(), |c| c.to_string()),
        cli.client_threads
    );
    let _ = writeln!(
        out,
        "| SFU | N | streams | server CPU % | bots CPU % | ns/packet | packets/s | loss % | dead | RSS kB (before→after) | late: first frame p50/p99 ms | late: first keyframe p50/p99 ms | holds |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for s in steps {
        if s.window_s == 0.0 {
            let _ = writeln!(
                out,
                "| {} | {} | failed: {} |",
                s.sfu,
                s.n,
                s.problems.join("; ")
            );
            continue;
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} | {:.0} | {:.0} | {:.0} | {:.2} | {} | {}→{} | {} / {} | {} / {} | {} |",
            s.sfu,
            s.n,
            s.streams,
            s.cpu_percent(),
            s.bots_cpu_s * 100.0 / s.window_s,
            s.ns_per_packet(),
            s.packets as f64 / s.window_s,
            s.loss_percent(),
            s.dead_streams,
            s.rss_before_kb,
            s.rss_after_kb,
            ms(percentile(&s.late_first_frame_ms, 50.0)),
            ms(percentile(&s.late_first_frame_ms, 99.0)),
            ms(percentile(&s.late_first_keyframe_ms, 50.0)),
            ms(percentile(&s.late_first_keyframe_ms, 99.0)),
            if s.holds() { "yes" } else { "no" },
        );
    }
    let _ = writeln!(out);
    let mut by_sfu: BTreeMap<&str, Vec<&Step>> = BTreeMap::new();
    for s in steps {
        by_sfu.entry(s.sfu).or_default().push(s);
    }
    for (sfu, list) in by_sfu {
        let held = list
            .iter()
            .filter(|s| s.window_s > 0.0 && s.holds())
            .map(|s| s.streams)
            .max();
        // RSS per participant, marginal: the slope between the smallest and the largest step
        // (each step is a fresh server, so fixed costs such as the sign-in's password hash,
        // whose memory the allocator keeps, cancel out).
        let measured: Vec<&&Step> = list.iter().filter(|s| s.window_s > 0.0).collect();
        let slope = match (measured.first(), measured.last()) {
            (Some(a), Some(b)) if b.publishers + b.subscribers > a.publishers + a.subscribers => {
                let people =
                    f64::from((b.publishers + b.subscribers) - (a.publishers + a.subscribers));
                Some((b.rss_after_kb as f64 - a.rss_after_kb as f64) / people)
            }
            _ => None,
        };
        let _ = writeln!(
            out,
            "- {sfu}: server RSS per media participant, marginal between N={} and N={}: {}",
            measured.first().map_or(0, |s| s.n),
            measured.last().map_or(0, |s| s.n),
            slope.map_or_else(|| "–".to_owned(), |kb| format!("{kb:.0} kB")),
        );
        let frames: Vec<f64> = list
            .iter()
            .flat_map(|s| s.late_first_frame_ms.clone())
            .collect();
        let keys: Vec<f64> = list
            .iter()
            .flat_map(|s| s.late_first_keyframe_ms.clone())
            .collect();
        let _ = writeln!(
            out,
            "- {sfu}: most subscriber streams held (≤ 70 % of one core, < 1 % loss): {}; late joins ({}): first frame p50 {} ms, p99 {} ms; first keyframe p50 {} ms, p99 {} ms",
            held.map_or_else(|| "none of the sizes".to_owned(), |h| h.to_string()),
            frames.len(),
            ms(percentile(&frames, 50.0)),
            ms(percentile(&frames, 99.0)),
            ms(percentile(&keys, 50.0)),
            ms(percentile(&keys, 99.0)),
        );
    }
    for s in steps.iter().filter(|s| !s.problems.is_empty()) {
        let _ = writeln!(
            out,
            "- problems of {} n={}: {}",
            s.sfu,
            s.n,
            s.problems.join("; ")
        );
    }
    out
}

impl Step {
    /// A step of `sfu` at size `n`, with the server's memory before anyone joins.
    fn new(
        sfu: &'static str,
        cli: &MediaCli,
        n: u32,
        publishers: u32,
        subscribers: u32,
        pid: u32,
    ) -> anyhow::Result<Self> {
        Ok(Step {
            sfu,
            shape: shape_name(cli.shape),
            n,
            publishers,
            subscribers,
            rss_before_kb: rss_kb(pid)?,
            ..Step::default()
        })
    }
}

/// Waits until every stream receives video (or the time is up, noted as a problem), then
/// measures the steady state: the same for either SFU.
async fn settle(
    step: &mut Step,
    sfu: &str,
    bots: &[Bot],
    publishers: u32,
    started: Instant,
    pid: u32,
    window: Duration,
) -> anyhow::Result<()> {
    let want = expected(bots, publishers as usize);
    step.streams = want.iter().map(|(_, p)| p.len() as u64).sum();
    let missing = wait_ready(
        bots,
        &want,
        READY_BASE + Duration::from_millis(100) * step.streams as u32,
    )
    .await;
    progress(&format!(
        "{sfu}: {} bots in, {} of {} streams receiving video after {:.1} s",
        bots.len(),
        step.streams - missing,
        step.streams,
        started.elapsed().as_secs_f64()
    ));
    if missing > 0 {
        step.problems
            .push(format!("{missing} streams never received a keyframe"));
    }
    measure(step, pid, bots, &want, window).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn cli_parses() {
        let cli = MediaCli::try_parse_from([
            "media",
            "--shape",
            "lecture",
            "--n",
            "25,50",
            "--sfu",
            "plenum,janus",
        ]);
        assert!(cli.is_ok());
    }
}

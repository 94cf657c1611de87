//! The live-meeting scenarios (issue 4, "Speed"). Unlike the HTTP scenarios they have no
//! baseline: each reports its own numbers and the machine. The participants are
//! [`plenum_client::Participant`]s, the client `plenum bot` runs, connected over loopback to a
//! release server at its default durability (every join is on disk before it is answered).
//!
//! - `live-join-storm`: rooms are created over REST, then participants connect and join
//!   (bounded concurrency), spread evenly over the rooms; joins/s and join latency. With
//!   several nodes (`--nodes`), the participants are spread over the nodes too
//!   ([`node_of`]), so a room's joins reach both the node that runs it and the others, which
//!   relay them; each node's relayed and held joins are read from its `/metrics`.
//! - `live-idle`: participants join and stay, heartbeating; the server's resident memory
//!   (VmRSS of /proc/<pid>/status) once they are all in and have been idle for a while.
//! - `live-mute-all`: participants in one room; per round, `mute_all` is sent over REST and
//!   every client's `all_muted` (which mutes it) is timed from the moment before the call was sent.
//!
//! Every loop is bounded in count (participants, rounds) and time (timeouts on every wait),
//! and all traffic goes to the loopback server the harness started.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use hdrhistogram::Histogram;
use hyper::Method;
use hyper::header::AUTHORIZATION;
use plenum_client::{Behaviour, Frame, Ignore, JoinRequest, Observer, Participant};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use crate::client::{self, Endpoint};
use crate::report::Machine;
use crate::scenario::{ADMIN_USERNAME, ROOM_PASSWORD, sign_in};

/// How long one REST call of the setup or the measurement may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long all participants together may take to join.
const JOIN_PHASE_LIMIT: Duration = Duration::from_secs(600);
/// The longest a participant of the join storm leaves its events unread: less than the
/// server's heartbeat interval (10 s), since it sends no heartbeat until it reads.
const READING_DEFERRED_AT_MOST: Duration = Duration::from_secs(5);
/// How long the participants may take to read the events of the join phase.
const EVENTS_LIMIT: Duration = Duration::from_secs(60);
/// How long a round of `mute_all` may take to reach every client.
const ROUND_LIMIT: Duration = Duration::from_secs(30);
/// Rooms created at once during setup.
const ROOM_CREATION_CONCURRENCY: usize = 16;
/// The first room's number; rooms are numbered consecutively from it.
const FIRST_ROOM: u64 = 880_000_000;

/// What a live scenario does, with its sizes.
#[derive(Debug, Clone, Copy)]
pub enum LiveScenario {
    JoinStorm {
        participants: u32,
        rooms: u32,
    },
    Idle {
        participants: u32,
        rooms: u32,
        settle: Duration,
    },
    MuteAll {
        participants: u32,
        rounds: u32,
    },
}

impl LiveScenario {
    /// Arguments the server needs beyond the defaults (capacity for the load).
    pub fn serve_args(self) -> Vec<String> {
        let participants = match self {
            Self::JoinStorm { participants, .. }
            | Self::Idle { participants, .. }
            | Self::MuteAll { participants, .. } => participants,
        };
        // max_calls defaults to far fewer calls than these scenarios hold.
        vec![
            "--max-calls".to_owned(),
            (u64::from(participants) * 2).to_string(),
        ]
    }

    fn rooms(self) -> u32 {
        match self {
            Self::JoinStorm { rooms, .. } | Self::Idle { rooms, .. } => rooms,
            Self::MuteAll { .. } => 1,
        }
    }

    fn participants(self) -> u32 {
        match self {
            Self::JoinStorm { participants, .. }
            | Self::Idle { participants, .. }
            | Self::MuteAll { participants, .. } => participants,
        }
    }
}

/// What a live run found.
#[derive(Debug)]
pub struct LiveReport {
    pub name: &'static str,
    pub description: String,
    pub machine: Machine,
    pub memory_total: String,
    pub server: String,
    /// The store the server ran on.
    pub store: String,
    pub client_threads: usize,
    pub concurrency: usize,
    pub joins: JoinFigures,
    /// `live-idle`: VmRSS and VmHWM of the server (kB), before the joins and after.
    pub memory: Option<MemoryFigures>,
    /// `live-mute-all`: latency from sending the call to each client's `all_muted`.
    pub mute: Option<LatencyFigures>,
    /// `live-join-storm`: `participant_joined` events the participants read after the joins,
    /// and how many the joins should have produced.
    pub joined_events: Option<(u64, u64)>,
    /// `live-join-storm --webhooks N`: the deliveries of the joins' events.
    pub webhooks: Option<WebhookFigures>,
    /// Problems found (failed joins, missing events): a run with any fails.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct JoinFigures {
    pub attempted: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub wall: Duration,
    /// `join` sent to `joined` received.
    pub join: LatencyFigures,
    /// CPU time (user + system) the server and this harness used from the first connect to
    /// the last `joined`: unlike the rate, it hardly depends on what else the machine runs.
    pub cpu: Option<CpuFigures>,
    /// TCP connect + upgrade + hello + join + joined.
    pub connect_and_join: LatencyFigures,
    /// The server's slow commits while the participants joined: a join waits for its commit,
    /// so a disk that stalls a sync stalls every join behind it.
    pub slow_commits: Option<SlowCommits>,
    /// Each node's joins, held and relayed, once all had joined.
    pub nodes: Vec<NodeFigures>,
}

/// The journal's warnings of slow commits (`commit_ms=`) in a stretch of the server's log.
#[derive(Debug, Clone, Copy, Default)]
pub struct SlowCommits {
    pub count: u64,
    pub slowest_ms: u64,
    pub total_ms: u64,
}

impl SlowCommits {
    /// Reads the log from `from` (a byte offset) to its current end.
    fn in_log(log: &Path, from: u64) -> Result<Self> {
        let text = std::fs::read(log).with_context(|| format!("reading {}", log.display()))?;
        let start = usize::try_from(from).unwrap_or(usize::MAX).min(text.len());
        let mut found = Self::default();
        for line in String::from_utf8_lossy(&text[start..]).lines() {
            // The text log writes `commit_ms=123`, the JSON log `"commit_ms":123`.
            let Some((_, rest)) = line.split_once("commit_ms") else {
                continue;
            };
            let digits: String = rest
                .trim_start_matches(['=', '"', ':'])
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(ms) = digits.parse::<u64>() {
                found.count += 1;
                found.slowest_ms = found.slowest_ms.max(ms);
                found.total_ms += ms;
            }
        }
        Ok(found)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct LatencyFigures {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone)]
pub struct CpuFigures {
    /// Of every node together.
    pub server: Duration,
    /// Of each node, in the order of [`Target::nodes`].
    pub nodes: Vec<Duration>,
    pub harness: Duration,
    /// PostgreSQL's processes (a throwaway cluster's server and its children), when known.
    pub database: Option<Duration>,
}

#[derive(Debug, Clone, Copy)]
pub struct MemoryFigures {
    pub participants: u64,
    pub rss_before_kb: u64,
    pub rss_after_kb: u64,
    pub hwm_after_kb: u64,
    pub settle: Duration,
}

impl LatencyFigures {
    fn of(h: &Histogram<u64>) -> Self {
        let ms = |micros: u64| micros as f64 / 1_000.0;
        Self {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.5)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }

    fn json(self) -> Value {
        json!({"count": self.count, "p50_ms": self.p50_ms, "p99_ms": self.p99_ms, "max_ms": self.max_ms})
    }

    fn line(self) -> String {
        format!(
            "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (n = {})",
            self.p50_ms, self.p99_ms, self.max_ms, self.count
        )
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn histogram() -> Result<Histogram<u64>> {
    Histogram::new(3).context("creating a histogram")
}

/// A server of the run: where it listens, and its process.
#[derive(Debug, Clone, Copy)]
pub struct NodeProcess {
    pub addr: SocketAddr,
    pub pid: u32,
}

/// Where the run happens: the server and its admin.
#[derive(Debug)]
pub struct Target<'a> {
    /// The nodes of one installation (at least one): the participants are spread over them
    /// ([`node_of`]); rooms, webhooks and calls go to the first, whose memory `live-idle`
    /// reads.
    pub nodes: Vec<NodeProcess>,
    /// The store the nodes run on, for the report.
    pub store: String,
    /// A throwaway PostgreSQL cluster's server process, whose CPU counts with the server's.
    pub database_pid: Option<u32>,
    /// Whether the server logs its slow commits (SQLite's journal does; on PostgreSQL each
    /// join commits on its own, and nothing is logged).
    pub logs_slow_commits: bool,
    pub admin_password: &'a str,
    pub server_binary: String,
    /// The server's stderr: slow commits of its live record are read from it.
    pub server_log: &'a Path,
    pub client_threads: usize,
    pub concurrency: usize,
    /// `live-join-storm`: webhook endpoints registered at the harness's sink before the joins.
    pub webhooks: u32,
}

impl Target<'_> {
    /// The node that takes the setup and the calls.
    fn first(&self) -> SocketAddr {
        self.nodes[0].addr
    }

    fn first_pid(&self) -> u32 {
        self.nodes[0].pid
    }
}

/// The node (an index into [`Target::nodes`]) participant `i` of a storm over `rooms` rooms
/// connects to. Participant `i` joins room `i % rooms` in round `i / rooms`; room plus round
/// picks the node, so a room's participants alternate between the nodes whatever the counts
/// (`i % nodes` alone would keep each room on one node when the rooms are a multiple of the
/// nodes) and the rooms' first participants, who start them, alternate too. As behind a load
/// balancer that knows nothing of rooms, each node runs its share of the meetings and relays
/// the joins of the others'.
pub fn node_of(i: u32, rooms: u32, nodes: usize) -> usize {
    let rooms = rooms.max(1);
    let turn = u64::from(i % rooms) + u64::from(i / rooms);
    usize::try_from(turn % nodes.max(1) as u64).unwrap_or(0)
}

/// What one node did during the joins, from its `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct NodeFigures {
    pub addr: SocketAddr,
    /// Joins it ran (`plenum_joins_total{outcome="joined"}`): of meetings it holds.
    pub held: u64,
    /// Joins it relayed to the node that runs their meeting (`plenum_relays_total{kind="join"}`).
    pub relayed: u64,
}

/// The value of one series (name and labels as the exporter writes them) in a Prometheus
/// text exposition.
fn series_value(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// Reads the joins a node held and relayed from its `/metrics`.
async fn node_figures(addr: SocketAddr) -> Result<NodeFigures> {
    let request = Endpoint::new(addr, Method::GET, "/metrics")?;
    let (status, body) = client::send_once(addr, &request, CALL_TIMEOUT).await?;
    if !status.is_success() {
        bail!(
            "GET /metrics at {addr}: {status}: {}",
            client::snippet(&body)
        );
    }
    let text = String::from_utf8_lossy(&body);
    // A counter is a whole number; one that never moved may be absent.
    let count = |series: &str| series_value(&text, series).unwrap_or(0.0) as u64;
    Ok(NodeFigures {
        addr,
        held: count("plenum_joins_total{outcome=\"joined\"}"),
        relayed: count("plenum_relays_total{kind=\"join\"}"),
    })
}

/// `live-join-storm --webhooks N`: the deliveries of the joins' events to a fast receiver.
#[derive(Debug, Clone, Copy)]
pub struct WebhookFigures {
    pub endpoints: u32,
    /// Deliveries the joins' events make: (participant.joined + meeting.started) × endpoints.
    pub expected: u64,
    pub delivered: u64,
    /// From the first join to the last delivery received.
    pub until_last: Duration,
    /// From the first delivery received to the last.
    pub span: Duration,
}

impl WebhookFigures {
    pub fn per_s(&self) -> f64 {
        self.delivered as f64 / self.span.as_secs_f64().max(1e-9)
    }
}

/// How long the deliveries of a storm's events may take before the run fails.
const DELIVERY_LIMIT: Duration = Duration::from_secs(300);

/// Registers `n` endpoints (every event type) at the sink.
async fn register_webhooks(
    addr: SocketAddr,
    token: &str,
    sink: &crate::webhook_sink::Sink,
    n: u32,
) -> Result<()> {
    for i in 0..n {
        let request = Endpoint::new(addr, Method::POST, "/api/v1/webhooks")?
            .header(AUTHORIZATION, &format!("Bearer {token}"))?
            .json_body(&json!({"url": sink.url(i), "description": "plenum-bench"}))?;
        let (status, body) = client::send_once(addr, &request, CALL_TIMEOUT).await?;
        if !status.is_success() {
            bail!(
                "registering a webhook: {status}: {}",
                client::snippet(&body)
            );
        }
    }
    Ok(())
}

/// A participant that is in, and the task that keeps it in (heartbeats) until `stop`.
struct Member {
    /// Ends with the participant's ending once it is stopped or thrown out.
    task: tokio::task::JoinHandle<plenum_client::Ending>,
}

/// What the participants do with the events pushed to them once they have joined.
#[derive(Debug, Clone)]
enum Events {
    /// Read and drop them (`live-idle`).
    Ignore,
    /// Read them; report each `all_muted` / `all_unmuted` ([`MuteWatch`], `live-mute-all`).
    Mutes(mpsc::UnboundedSender<Instant>),
    /// Read them only once every participant has joined, and count `participant_joined`
    /// (`live-join-storm`). The harness shares the machine's CPUs with the server it
    /// measures; reading ~4.5 events per join while the joins run was a quarter of its CPU
    /// per join, work that real participants do on their own devices. The events wait in
    /// the kernel's socket buffers (a few hundred bytes each, at most nine per participant),
    /// so the server's work is the same; the count checks afterwards that every one arrived.
    CountJoinsAfterwards(Arc<AtomicU64>),
}

/// Counts `participant_joined` events.
struct JoinCount(Arc<AtomicU64>);

impl Observer for JoinCount {
    async fn frame(&mut self, frame: &Frame) {
        if frame
            .fields()
            .is_ok_and(|fields| fields.kind == "participant_joined")
        {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Sends the instant the client learnt it was muted or unmuted (the meeting-wide `all_muted`,
/// `all_unmuted`) to the controller.
struct MuteWatch {
    me: String,
    seen: mpsc::UnboundedSender<Instant>,
}

impl Observer for MuteWatch {
    async fn frame(&mut self, frame: &Frame) {
        let Ok(fields) = frame.fields() else {
            return;
        };
        let spared = fields
            .except
            .is_some_and(|ids| ids.iter().any(|id| id == self.me.as_str()));
        let kind = &*fields.kind;
        if (kind == "all_muted" && !spared) || kind == "all_unmuted" {
            let _ = self.seen.send(frame.received);
        }
    }
}

/// Runs a live scenario against the server at `target`.
pub async fn run(
    name: &'static str,
    description: String,
    scenario: LiveScenario,
    target: &Target<'_>,
) -> Result<LiveReport> {
    plenum::bot::raise_open_files_limit(u64::from(scenario.participants()) + 256);
    let token = sign_in(target.first(), ADMIN_USERNAME, target.admin_password).await?;
    let rooms = create_rooms(target.first(), &token, scenario.rooms()).await?;
    progress(&format!("{} room(s) created", rooms.len()));
    let sink = match (scenario, target.webhooks) {
        (LiveScenario::JoinStorm { .. }, n) if n > 0 => {
            let sink = crate::webhook_sink::Sink::start().await?;
            register_webhooks(target.first(), &token, &sink, n).await?;
            progress(&format!("{n} webhook endpoint(s) registered"));
            Some(sink)
        }
        _ => None,
    };
    let storm_started = Instant::now();
    let rss_before = vm_kb(target.first_pid(), "VmRSS")?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let (mute_tx, mut mute_rx) = mpsc::unbounded_channel();
    let joins_seen = Arc::new(AtomicU64::new(0));
    let events = match scenario {
        LiveScenario::JoinStorm { .. } => Events::CountJoinsAfterwards(joins_seen.clone()),
        LiveScenario::Idle { .. } => Events::Ignore,
        LiveScenario::MuteAll { .. } => Events::Mutes(mute_tx),
    };
    let (joins, members, mut problems) =
        join_all(target, &rooms, scenario.participants(), &stop_rx, events).await?;
    progress(&format!(
        "{} of {} joined in {:.2} s",
        joins.succeeded,
        joins.attempted,
        joins.wall.as_secs_f64()
    ));

    let mut memory = None;
    let mut mute = None;
    let mut joined_events = None;
    let mut webhooks = None;
    match scenario {
        LiveScenario::JoinStorm {
            participants,
            rooms,
        } => {
            if joins.failed == 0 {
                // Each participant hears of everyone who joined its room after it: n(n-1)/2
                // events in a room of n.
                let expected: u64 = (0..rooms)
                    .map(|room| {
                        let n = u64::from(participants / rooms)
                            + u64::from(room < participants % rooms);
                        n * n.saturating_sub(1) / 2
                    })
                    .sum();
                let deadline = tokio::time::Instant::now() + EVENTS_LIMIT;
                while joins_seen.load(Ordering::Relaxed) < expected
                    && tokio::time::Instant::now() < deadline
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let seen = joins_seen.load(Ordering::Relaxed);
                joined_events = Some((seen, expected));
                if seen != expected {
                    problems.push(format!(
                        "participants read {seen} participant_joined events, {expected} expected"
                    ));
                }
            }
            if let Some(sink) = &sink {
                let expected = u64::from(target.webhooks)
                    * (joins.succeeded + u64::from(rooms.min(participants)));
                let deadline = tokio::time::Instant::now() + DELIVERY_LIMIT;
                while sink.count() < expected && tokio::time::Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let received = &sink.received;
                let first = received.first.lock().ok().and_then(|f| *f);
                let last = received.last.lock().ok().and_then(|l| *l);
                let delivered = sink.count();
                if delivered < expected {
                    problems.push(format!(
                        "the webhook sink received {delivered} deliveries, {expected} expected"
                    ));
                }
                if let (Some(first), Some(last)) = (first, last) {
                    webhooks = Some(WebhookFigures {
                        endpoints: target.webhooks,
                        expected,
                        delivered,
                        until_last: last.saturating_duration_since(storm_started),
                        span: last.saturating_duration_since(first),
                    });
                    progress(&format!(
                        "{delivered} webhook deliveries, the last {:.2} s after the storm began",
                        last.saturating_duration_since(storm_started).as_secs_f64()
                    ));
                }
            }
        }
        LiveScenario::Idle { settle, .. } => {
            progress(&format!("idle for {:.0} s", settle.as_secs_f64()));
            tokio::time::sleep(settle).await;
            let still_in = members.iter().filter(|m| !m.task.is_finished()).count();
            if still_in != members.len() {
                problems.push(format!(
                    "{} participant(s) were thrown out while idle",
                    members.len() - still_in
                ));
            }
            memory = Some(MemoryFigures {
                participants: still_in as u64,
                rss_before_kb: rss_before,
                rss_after_kb: vm_kb(target.first_pid(), "VmRSS")?,
                hwm_after_kb: vm_kb(target.first_pid(), "VmHWM")?,
                settle,
            });
        }
        LiveScenario::MuteAll { rounds, .. } => {
            // Let the join events drain before measuring.
            tokio::time::sleep(Duration::from_secs(2)).await;
            while mute_rx.try_recv().is_ok() {}
            let expected = members.len();
            let mut h = histogram()?;
            for round in 0..rounds {
                for (call, measured) in [("mute_all", true), ("unmute_all", false)] {
                    let path = format!("/api/v1/meeting/{}/{call}", rooms[0]);
                    let request = Endpoint::new(target.first(), Method::POST, &path)?
                        .header(AUTHORIZATION, &format!("Bearer {token}"))?
                        .json_body(&json!({"allow_self_unmute": true}))?;
                    let sent = Instant::now();
                    let (status, body) = client::send_once(target.first(), &request, CALL_TIMEOUT)
                        .await
                        .context(call)?;
                    if !status.is_success() {
                        bail!("{call} answered {status}: {}", client::snippet(&body));
                    }
                    let mut got = 0;
                    let deadline = tokio::time::Instant::now() + ROUND_LIMIT;
                    while got < expected {
                        match tokio::time::timeout_at(deadline, mute_rx.recv()).await {
                            Ok(Some(at)) => {
                                got += 1;
                                if measured {
                                    h.record(micros(at.saturating_duration_since(sent)))?;
                                }
                            }
                            Ok(None) | Err(_) => break,
                        }
                    }
                    if got < expected {
                        problems.push(format!(
                            "round {round}: {call} reached {got} of {expected} clients within {ROUND_LIMIT:?}"
                        ));
                    }
                    // Nothing else is in flight before the next call.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
            mute = Some(LatencyFigures::of(&h));
        }
    }

    let _ = stop_tx.send(true);
    // Participants leave (bounded by the bot's leave timeout); their endings are not needed.
    let leaving = async {
        for m in members {
            let _ = m.task.await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(120), leaving)
        .await
        .is_err()
    {
        progress("participants did not all leave within 120 s");
    }
    Ok(LiveReport {
        name,
        description,
        machine: Machine::detect(),
        memory_total: memory_total(),
        server: target.server_binary.clone(),
        store: target.store.clone(),
        client_threads: target.client_threads,
        concurrency: target.concurrency,
        joins,
        memory,
        mute,
        joined_events,
        webhooks,
        problems,
    })
}

pub(crate) async fn create_rooms(addr: SocketAddr, token: &str, count: u32) -> Result<Vec<String>> {
    let gate = Arc::new(Semaphore::new(ROOM_CREATION_CONCURRENCY));
    let mut tasks = JoinSet::new();
    for i in 0..count {
        let number = (FIRST_ROOM + u64::from(i)).to_string();
        let request = Endpoint::new(addr, Method::POST, "/api/v1/meeting_room")?
            .header(AUTHORIZATION, &format!("Bearer {token}"))?
            .json_body(&json!({"meetingroom_name": format!("Bench room {i}"),
                               "meeting_number": number, "meeting_password": ROOM_PASSWORD}))?;
        let gate = gate.clone();
        tasks.spawn(async move {
            let _permit = gate.acquire().await?;
            let (status, body) = client::send_once(addr, &request, CALL_TIMEOUT).await?;
            if !status.is_success() {
                bail!(
                    "creating room {number}: {status}: {}",
                    client::snippet(&body)
                );
            }
            Ok(number)
        });
    }
    let mut rooms = Vec::with_capacity(count as usize);
    while let Some(done) = tasks.join_next().await {
        rooms.push(done.map_err(|e| anyhow!("a room task failed: {e}"))??);
    }
    rooms.sort();
    Ok(rooms)
}

/// Joins `count` participants spread over `rooms`, at most `target.concurrency` connecting
/// or joining at once; each joined participant stays in (heartbeating) until `stop`.
async fn join_all(
    target: &Target<'_>,
    rooms: &[String],
    count: u32,
    stop: &watch::Receiver<bool>,
    events: Events,
) -> Result<(JoinFigures, Vec<Member>, Vec<String>)> {
    let urls = target
        .nodes
        .iter()
        .map(|node| plenum_client::live_url(&format!("http://{}", node.addr)))
        .collect::<Result<Vec<_>, _>>()?;
    let rooms_count = u32::try_from(rooms.len()).unwrap_or(u32::MAX);
    let gate = Arc::new(Semaphore::new(target.concurrency));
    let (joined_tx, mut joined_rx) = mpsc::unbounded_channel();
    let (joins_done, joins_over) = watch::channel(false);
    let mut members = Vec::with_capacity(count as usize);
    let cpu_before = (nodes_cpu_time(target), cpu_time(std::process::id()));
    let database_before = target.database_pid.map(cpu_time_with_children);
    let log_before = std::fs::metadata(target.server_log).map(|m| m.len());
    let started = Instant::now();
    for i in 0..count {
        let room = rooms[i as usize % rooms.len()].clone();
        let (url, gate, joined_tx, mut stop, events, mut joins_over) = (
            urls[node_of(i, rooms_count, urls.len())].clone(),
            gate.clone(),
            joined_tx.clone(),
            stop.clone(),
            events.clone(),
            joins_over.clone(),
        );
        let task = tokio::spawn(async move {
            let outcome = async {
                let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
                let begun = Instant::now();
                let mut p = Participant::connect(&url, None)
                    .await
                    .map_err(|e| format!("{e:#}"))?;
                let request = JoinRequest {
                    meeting_number: room,
                    password: Some(ROOM_PASSWORD.to_owned()),
                    display_name: format!("Bench {i}"),
                    device_type: "bot".to_owned(),
                    media_type: "video".to_owned(),
                };
                let joined = p
                    .join(&request, &mut Ignore)
                    .await
                    .map_err(|e| format!("{e:?}"))?;
                Ok::<_, String>((p, joined, begun.elapsed()))
            }
            .await;
            let mut p = match outcome {
                Ok((p, joined, total)) => {
                    let _ = joined_tx.send(Ok((joined.latency, total, Instant::now())));
                    p
                }
                Err(e) => {
                    let _ = joined_tx.send(Err(e));
                    return plenum_client::Ending::Error;
                }
            };
            drop(joined_tx);
            let stopped = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            let behaviour = Behaviour::default();
            match events {
                Events::Mutes(seen) => {
                    let me = p.client_uuid.clone().unwrap_or_default();
                    p.run(behaviour, stopped, &mut MuteWatch { me, seen })
                        .await
                        .0
                }
                Events::Ignore => p.run(behaviour, stopped, &mut Ignore).await.0,
                Events::CountJoinsAfterwards(count) => {
                    // Bounded: a participant that waited longer would miss its heartbeat.
                    let _ = tokio::time::timeout(
                        READING_DEFERRED_AT_MOST,
                        joins_over.wait_for(|over| *over),
                    )
                    .await;
                    p.run(behaviour, stopped, &mut JoinCount(count)).await.0
                }
            }
        });
        members.push(Member { task });
    }
    drop(joined_tx);
    let mut join_h = histogram()?;
    let mut total_h = histogram()?;
    let mut problems = Vec::new();
    let mut last = started;
    let deadline = tokio::time::Instant::now() + JOIN_PHASE_LIMIT;
    for _ in 0..count {
        match tokio::time::timeout_at(deadline, joined_rx.recv()).await {
            Ok(Some(Ok((join, total, at)))) => {
                join_h.record(micros(join))?;
                total_h.record(micros(total))?;
                last = last.max(at);
            }
            Ok(Some(Err(e))) => {
                if problems.len() < 10 {
                    problems.push(format!("a join failed: {e}"));
                }
            }
            Ok(None) => break,
            Err(_) => {
                problems.push(format!("not all joined within {JOIN_PHASE_LIMIT:?}"));
                break;
            }
        }
    }
    let cpu_after = (nodes_cpu_time(target), cpu_time(std::process::id()));
    let database_after = target.database_pid.map(cpu_time_with_children);
    let _ = joins_done.send(true);
    let slow_commits = match log_before {
        Ok(offset) if target.logs_slow_commits => {
            Some(SlowCommits::in_log(target.server_log, offset)?)
        }
        _ => None,
    };
    let cpu = match (cpu_before, cpu_after) {
        ((Ok(s0), Ok(h0)), (Ok(s1), Ok(h1))) => Some(CpuFigures {
            nodes: s1
                .iter()
                .zip(&s0)
                .map(|(a, b)| a.saturating_sub(*b))
                .collect(),
            server: s1.iter().sum::<Duration>().saturating_sub(s0.iter().sum()),
            harness: h1.saturating_sub(h0),
            database: match (database_before, database_after) {
                (Some(Ok(d0)), Some(Ok(d1))) => Some(d1.saturating_sub(d0)),
                _ => None,
            },
        }),
        _ => None,
    };
    let mut nodes = Vec::with_capacity(target.nodes.len());
    for node in &target.nodes {
        nodes.push(node_figures(node.addr).await?);
    }
    let succeeded = join_h.len();
    let figures = JoinFigures {
        attempted: u64::from(count),
        succeeded,
        failed: u64::from(count) - succeeded,
        wall: last.duration_since(started),
        join: LatencyFigures::of(&join_h),
        cpu,
        connect_and_join: LatencyFigures::of(&total_h),
        slow_commits,
        nodes,
    };
    if figures.failed > 0 {
        problems.push(format!("{} of {count} joins failed", figures.failed));
    }
    Ok((figures, members, problems))
}

/// CPU time of each node so far.
fn nodes_cpu_time(target: &Target<'_>) -> Result<Vec<Duration>> {
    target.nodes.iter().map(|node| cpu_time(node.pid)).collect()
}

/// A `Vm*` line of /proc/<pid>/status, in kB.
fn vm_kb(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

/// User + system CPU time of a process so far (/proc/<pid>/stat; its clock ticks are
/// USER_HZ, 100 per second on Linux).
/// CPU time of `pid` and of its children that are running now (PostgreSQL's backends are
/// children of its server; one that ended between two readings is missed, so this is a
/// lower bound).
fn cpu_time_with_children(pid: u32) -> Result<Duration> {
    let mut total = cpu_time(pid)?;
    for entry in std::fs::read_dir("/proc").context("reading /proc")? {
        let Ok(entry) = entry else { continue };
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let parent = std::fs::read_to_string(format!("/proc/{child}/stat"))
            .ok()
            .and_then(|stat| {
                // Field 4, the parent, is the second after the command name.
                let (_, rest) = stat.rsplit_once(')')?;
                rest.split_whitespace().nth(1)?.parse::<u32>().ok()
            });
        if parent == Some(pid) {
            total += cpu_time(child).unwrap_or_default();
        }
    }
    Ok(total)
}

fn cpu_time(pid: u32) -> Result<Duration> {
    const TICKS_PER_SECOND: u64 = 100;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15; `fields` starts at field 3.
    let ticks = |i: usize| -> Result<u64> {
        let field = fields.get(i).context("/proc/<pid>/stat is short")?;
        Ok(field.parse()?)
    };
    let ticks = ticks(14 - 3)? + ticks(15 - 3)?;
    Ok(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
}

pub(crate) fn memory_total() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or_else(
            || "unknown".to_owned(),
            |kb| format!("{:.1} GiB", kb as f64 / 1_048_576.0),
        )
}

fn progress(message: &str) {
    eprintln!("plenum-bench: {message}");
}

impl LiveReport {
    pub fn joins_per_s(&self) -> f64 {
        let secs = self.joins.wall.as_secs_f64();
        if secs > 0.0 {
            self.joins.succeeded as f64 / secs
        } else {
            0.0
        }
    }

    /// CPU time per successful join, in µs.
    fn per_join_us(&self, cpu: Duration) -> f64 {
        cpu.as_secs_f64() * 1e6 / self.joins.succeeded.max(1) as f64
    }

    pub fn json(&self) -> Value {
        json!({
            "scenario": self.name,
            "description": self.description,
            "machine": {"nproc": self.machine.nproc, "cpu_model": self.machine.cpu_model,
                        "memory": self.memory_total},
            "server": self.server,
            "store": self.store,
            "client_threads": self.client_threads,
            "join_concurrency": self.concurrency,
            "joins": {
                "attempted": self.joins.attempted,
                "succeeded": self.joins.succeeded,
                "failed": self.joins.failed,
                "wall_s": self.joins.wall.as_secs_f64(),
                "per_s": self.joins_per_s(),
                "join_latency": self.joins.join.json(),
                "cpu_per_join_us": self.joins.cpu.as_ref().map(|c| json!({
                    "server": self.per_join_us(c.server),
                    "nodes": c.nodes.iter().map(|&n| self.per_join_us(n)).collect::<Vec<_>>(),
                    "harness": self.per_join_us(c.harness),
                    "database": c.database.map(|d| self.per_join_us(d)),
                })),
                "connect_and_join_latency": self.joins.connect_and_join.json(),
                "slow_commits": self.joins.slow_commits.map(|c| json!({
                    "count": c.count, "slowest_ms": c.slowest_ms, "total_ms": c.total_ms,
                })),
                "nodes": self.joins.nodes.iter().map(|n| json!({
                    "addr": n.addr.to_string(), "held": n.held, "relayed": n.relayed,
                })).collect::<Vec<_>>(),
            },
            "memory": self.memory.map(|m| json!({
                "participants": m.participants,
                "rss_before_kb": m.rss_before_kb,
                "rss_after_kb": m.rss_after_kb,
                "hwm_after_kb": m.hwm_after_kb,
                "settle_s": m.settle.as_secs_f64(),
            })),
            "mute_all_latency": self.mute.map(LatencyFigures::json),
            "participant_joined_events": self.joined_events.map(|(read, expected)| json!({
                "read": read, "expected": expected,
            })),
            "webhooks": self.webhooks.map(|w| json!({
                "endpoints": w.endpoints, "expected": w.expected, "delivered": w.delivered,
                "until_last_s": w.until_last.as_secs_f64(), "span_s": w.span.as_secs_f64(),
                "per_s": w.per_s(),
            })),
            "problems": self.problems,
        })
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = writeln!(out, "## plenum-bench: scenario `{}`\n", self.name);
        let _ = writeln!(
            out,
            "- machine: {} CPUs (nproc), {}, {} memory",
            self.machine.nproc, self.machine.cpu_model, self.memory_total
        );
        let _ = writeln!(
            out,
            "- server `{}` at its default durability (every join on disk before it is answered: \
             see the store), over loopback; the \
             participants (plenum_client::Participant) run in the harness on {} thread(s), at \
             most {} connecting or joining at once",
            self.server, self.client_threads, self.concurrency
        );
        let _ = writeln!(out, "- store: {}", self.store);
        let _ = writeln!(out, "- what: {}", self.description);
        let j = &self.joins;
        let _ = writeln!(
            out,
            "- joins: {} of {} succeeded in {:.2} s: **{:.0} joins/s**",
            j.succeeded,
            j.attempted,
            j.wall.as_secs_f64(),
            self.joins_per_s()
        );
        let _ = writeln!(
            out,
            "- join latency (`join` sent → `joined`): {}",
            j.join.line()
        );
        let _ = writeln!(
            out,
            "- connect + hello + join latency: {}",
            j.connect_and_join.line()
        );
        if let Some(c) = &j.cpu {
            let _ = writeln!(
                out,
                "- CPU during the joins: server {:.2} s (**{:.0} µs per join**), harness {:.2} s \
                 ({:.0} µs per join)",
                c.server.as_secs_f64(),
                self.per_join_us(c.server),
                c.harness.as_secs_f64(),
                self.per_join_us(c.harness)
            );
            if c.nodes.len() > 1 {
                let each: Vec<String> = c
                    .nodes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        format!(
                            "node {} {:.2} s ({:.0} µs per join)",
                            i + 1,
                            n.as_secs_f64(),
                            self.per_join_us(*n)
                        )
                    })
                    .collect();
                let _ = writeln!(out, "- server CPU by node: {}", each.join(", "));
            }
            if let Some(database) = c.database {
                let _ = writeln!(
                    out,
                    "- CPU of PostgreSQL's processes during the joins: {:.2} s (**{:.0} µs per \
                     join**, at least: backends that ended meanwhile are not counted)",
                    database.as_secs_f64(),
                    self.per_join_us(database)
                );
            }
        }
        if j.nodes.len() > 1 {
            let relayed: u64 = j.nodes.iter().map(|n| n.relayed).sum();
            let each: Vec<String> = j
                .nodes
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    format!(
                        "node {} ({}) ran {} and relayed {}",
                        i + 1,
                        n.addr,
                        n.held,
                        n.relayed
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "- nodes: {}; **{relayed} of {} joins relayed** to the node running their \
                 meeting (`plenum_joins_total`, `plenum_relays_total`)",
                each.join("; "),
                j.succeeded
            );
        }
        if let Some(c) = j.slow_commits {
            let _ = writeln!(
                out,
                "- server commits slower than 50 ms during the joins (its log): {}{}",
                c.count,
                if c.count > 0 {
                    format!(", slowest {} ms, {} ms in all", c.slowest_ms, c.total_ms)
                } else {
                    String::new()
                }
            );
        }
        if let Some((read, expected)) = self.joined_events {
            let _ = writeln!(
                out,
                "- `participant_joined` events the participants read once all had joined: \
                 {read} of {expected}"
            );
        }
        if let Some(w) = self.webhooks {
            let _ = writeln!(
                out,
                "- webhooks: {} endpoint(s); {} of {} deliveries (meeting.started, \
                 participant.joined) received, the last {:.2} s after the first join; \
                 **{:.0} deliveries/s** from the first to the last",
                w.endpoints,
                w.delivered,
                w.expected,
                w.until_last.as_secs_f64(),
                w.per_s()
            );
        }
        if let Some(m) = self.memory {
            let _ = writeln!(
                out,
                "- server memory with {} participants connected and idle for {:.0} s: \
                 **VmRSS {:.1} MB** (before the joins: {:.1} MB; peak VmHWM {:.1} MB)",
                m.participants,
                m.settle.as_secs_f64(),
                m.rss_after_kb as f64 / 1024.0,
                m.rss_before_kb as f64 / 1024.0,
                m.hwm_after_kb as f64 / 1024.0
            );
        }
        if let Some(m) = self.mute {
            let _ = writeln!(
                out,
                "- `mute_all` sent → each client's `all_muted`: {}",
                m.line()
            );
        }
        for p in &self.problems {
            let _ = writeln!(out, "- PROBLEM: {p}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rooms_participants_alternate_between_the_nodes_and_so_do_its_starters() {
        // 4 rooms, 2 nodes: an even count, where `i % nodes` alone would keep each room on
        // one node.
        let spread = |i| node_of(i, 4, 2);
        for room in 0..4 {
            let of_room: Vec<usize> = (0..6).map(|round| spread(room + 4 * round)).collect();
            assert_eq!(
                of_room.iter().filter(|&&n| n == 0).count(),
                3,
                "{of_room:?}"
            );
        }
        let starters: Vec<usize> = (0..4).map(spread).collect();
        assert_eq!(starters, [0, 1, 0, 1]);
        // One node takes everyone; an odd number of rooms alternates too.
        assert!((0..100).all(|i| node_of(i, 4, 1) == 0));
        let room_of_3: Vec<usize> = (0..4).map(|round| node_of(1 + 3 * round, 3, 2)).collect();
        assert_eq!(room_of_3, [1, 0, 1, 0]);
    }

    #[test]
    fn a_series_is_read_from_the_exposition_by_its_labels() {
        let text = "# HELP plenum_relays_total Joins and REST calls relayed\n\
                    # TYPE plenum_relays_total counter\n\
                    plenum_relays_total{kind=\"call\"} 3\n\
                    plenum_relays_total{kind=\"join\"} 2497\n\
                    plenum_joins_total{outcome=\"joined\"} 2503\n";
        assert_eq!(
            series_value(text, "plenum_relays_total{kind=\"join\"}"),
            Some(2497.0)
        );
        assert_eq!(
            series_value(text, "plenum_joins_total{outcome=\"joined\"}"),
            Some(2503.0)
        );
        assert_eq!(
            series_value(text, "plenum_joins_total{outcome=\"error\"}"),
            None
        );
        // A name that is a prefix of another's is not that other.
        assert_eq!(series_value(text, "plenum_relays_total"), None);
    }

    #[test]
    fn slow_commits_are_read_from_the_stretch_of_the_log_after_the_offset() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("server.log");
        let before = "2026-11-23T09:00:00Z  WARN plenum_store_sqlite::live: slow commit commit_ms=900 changes=3\n";
        let during = concat!(
            "2026-11-23T09:00:01Z  INFO plenum: listening\n",
            "2026-11-23T09:00:02Z  WARN plenum_store_sqlite::live: slow commit commit_ms=54 changes=12\n",
            "{\"level\":\"WARN\",\"commit_ms\":210,\"changes\":40,\"message\":\"slow commit\"}\n",
        );
        std::fs::write(&log, format!("{before}{during}"))?;

        let found = SlowCommits::in_log(&log, before.len() as u64)?;
        assert_eq!(
            (found.count, found.slowest_ms, found.total_ms),
            (2, 210, 264)
        );
        let none = SlowCommits::in_log(&log, (before.len() + during.len()) as u64)?;
        assert_eq!(none.count, 0);
        Ok(())
    }
}

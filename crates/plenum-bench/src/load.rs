//! The load generator: N tasks, each owning one keep-alive HTTP/1.1 connection, send
//! requests back to back (closed loop: the next request leaves when the previous answer has
//! been read) until the phase's deadline, recording every latency into its own histogram.
//!
//! The same tasks and connections serve every phase of a run; the coordinator hands each task
//! one phase at a time and waits for all of them, so two phases never overlap and a phase's
//! wall time runs from its start until its last in-flight request has been answered.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow};
use hdrhistogram::Histogram;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::client::{self, CONNECT_TIMEOUT, Connection, Endpoint};
use crate::mixed::{self, Mix, MixStream, SURFACES};

/// How long one request may take before it counts as an error (and its connection is replaced).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Safety bound on requests (and reconnect attempts) per task and phase; the deadline ends a
/// phase long before this on any real machine.
const MAX_ATTEMPTS_PER_PHASE: u64 = 100_000_000;
/// Pause after a failed reconnect, so a dead server does not turn into a busy loop.
const RECONNECT_PAUSE: Duration = Duration::from_millis(50);
/// Latencies are recorded in nanoseconds, from 1 ns up to this, with 3 significant digits.
const HISTOGRAM_MAX_NANOS: u64 = 60_000_000_000;

/// What one phase produced: successes with their latencies, and every kind of failure.
#[derive(Debug, Clone)]
pub struct PhaseStats {
    /// Latencies of 2xx responses, in nanoseconds.
    pub latencies: Histogram<u64>,
    /// Responses with a 2xx status.
    pub ok: u64,
    /// Responses with any other status, by status code.
    pub error_statuses: BTreeMap<u16, u64>,
    /// Requests that failed below HTTP (connection reset, refused reconnect, ...).
    pub transport_errors: u64,
    /// Requests without an answer within [`REQUEST_TIMEOUT`].
    pub timeouts: u64,
    /// Connections that had to be reopened (server closed one, or after an error).
    pub reconnects: u64,
    /// The first failure seen, to show why a run had errors.
    pub first_error: Option<String>,
    /// 2xx answers whose body was checked (`history-mixed`: a sample), and those that were
    /// not well-formed (counted as errors).
    pub checked: u64,
    pub malformed: u64,
    /// `history-mixed`: the same figures per surface ([`mixed::SURFACES`] order); empty
    /// otherwise.
    pub surfaces: Vec<SurfaceStats>,
}

/// One surface's share of a mixed phase.
#[derive(Debug, Clone)]
pub struct SurfaceStats {
    /// Latencies of 2xx responses, in nanoseconds.
    pub latencies: Histogram<u64>,
    pub ok: u64,
    pub errors: u64,
}

impl SurfaceStats {
    fn new() -> Result<Self> {
        Ok(Self {
            latencies: Histogram::new_with_bounds(1, HISTOGRAM_MAX_NANOS, 3)
                .context("creating the latency histogram")?,
            ok: 0,
            errors: 0,
        })
    }

    /// Latency at `quantile` in milliseconds.
    pub fn quantile_ms(&self, quantile: f64) -> Option<f64> {
        (!self.latencies.is_empty())
            .then(|| self.latencies.value_at_quantile(quantile) as f64 / 1_000_000.0)
    }
}

impl PhaseStats {
    /// Empty statistics.
    pub fn new() -> Result<Self> {
        let latencies = Histogram::new_with_bounds(1, HISTOGRAM_MAX_NANOS, 3)
            .context("creating the latency histogram")?;
        Ok(Self {
            latencies,
            ok: 0,
            error_statuses: BTreeMap::new(),
            transport_errors: 0,
            timeouts: 0,
            reconnects: 0,
            first_error: None,
            checked: 0,
            malformed: 0,
            surfaces: Vec::new(),
        })
    }

    /// All failed requests.
    pub fn errors(&self) -> u64 {
        self.error_statuses.values().sum::<u64>()
            + self.transport_errors
            + self.timeouts
            + self.malformed
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        self.latencies
            .add(&other.latencies)
            .context("merging latency histograms")?;
        self.ok += other.ok;
        for (status, count) in &other.error_statuses {
            *self.error_statuses.entry(*status).or_default() += count;
        }
        self.transport_errors += other.transport_errors;
        self.timeouts += other.timeouts;
        self.reconnects += other.reconnects;
        self.checked += other.checked;
        self.malformed += other.malformed;
        if self.surfaces.is_empty() && !other.surfaces.is_empty() {
            for _ in &other.surfaces {
                self.surfaces.push(SurfaceStats::new()?);
            }
        }
        for (mine, theirs) in self.surfaces.iter_mut().zip(&other.surfaces) {
            mine.latencies
                .add(&theirs.latencies)
                .context("merging latency histograms")?;
            mine.ok += theirs.ok;
            mine.errors += theirs.errors;
        }
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        Ok(())
    }

    /// Latency at `quantile` (0..=1) in milliseconds; `None` without any success.
    pub fn quantile_ms(&self, quantile: f64) -> Option<f64> {
        if self.latencies.is_empty() {
            return None;
        }
        // Nanoseconds to milliseconds; precision loss of the u64 -> f64 cast is far below
        // the histogram's own 3 significant digits.
        let nanos = self.latencies.value_at_quantile(quantile) as f64;
        Some(nanos / 1_000_000.0)
    }

    /// One-line summary of the failures, empty without failures.
    pub fn error_summary(&self) -> String {
        let mut parts: Vec<String> = self
            .error_statuses
            .iter()
            .map(|(status, count)| format!("HTTP {status}: {count}"))
            .collect();
        if self.transport_errors > 0 {
            parts.push(format!("transport: {}", self.transport_errors));
        }
        if self.timeouts > 0 {
            parts.push(format!("timeout ({REQUEST_TIMEOUT:?}): {}", self.timeouts));
        }
        if self.malformed > 0 {
            parts.push(format!("malformed answers: {}", self.malformed));
        }
        let mut summary = parts.join(", ");
        if let Some(first) = &self.first_error {
            summary.push_str(&format!("; first: {first}"));
        }
        summary
    }

    fn record_ok(&mut self, latency: Duration) {
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.latencies.saturating_record(nanos.max(1));
        self.ok += 1;
    }

    fn record_status(&mut self, status: hyper::StatusCode, body: &[u8]) {
        *self.error_statuses.entry(status.as_u16()).or_default() += 1;
        if self.first_error.is_none() {
            self.first_error = Some(format!("HTTP {status}: {}", client::snippet(body)));
        }
    }

    fn record_transport(&mut self, error: &anyhow::Error) {
        self.transport_errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(format!("{error:#}"));
        }
    }

    fn record_malformed(&mut self, why: String) {
        self.malformed += 1;
        if self.first_error.is_none() {
            self.first_error = Some(why);
        }
    }

    fn record_timeout(&mut self) {
        self.timeouts += 1;
        if self.first_error.is_none() {
            self.first_error = Some(format!("no answer within {REQUEST_TIMEOUT:?}"));
        }
    }
}

/// One phase's merged statistics and its wall time.
#[derive(Debug, Clone)]
pub struct PhaseResult {
    /// Statistics merged over all connections.
    pub stats: PhaseStats,
    /// From the phase's start until the last task reported back.
    pub elapsed: Duration,
}

/// One phase for one task.
/// What a phase sends: one request over and over, or the seeded mix (`history-mixed`).
#[derive(Debug, Clone)]
pub enum Work {
    Fixed(Arc<Endpoint>),
    Mixed(Arc<Mix>),
}

impl Work {
    /// Short label for progress lines and reports.
    pub fn label(&self) -> String {
        match self {
            Self::Fixed(endpoint) => endpoint.label.clone(),
            Self::Mixed(mix) => format!("history mix (seed {})", mix.seed),
        }
    }
}

#[derive(Debug)]
struct Assignment {
    work: Work,
    deadline: Instant,
    stats: PhaseStats,
    reply: oneshot::Sender<PhaseStats>,
}

/// The pool of connection-owning tasks.
#[derive(Debug)]
pub struct LoadGenerator {
    workers: Vec<mpsc::Sender<Assignment>>,
    handles: Vec<JoinHandle<()>>,
}

impl LoadGenerator {
    /// Opens `connections` keep-alive connections to `addr`, one task each.
    pub async fn open(addr: SocketAddr, connections: usize) -> Result<Self> {
        let mut workers = Vec::with_capacity(connections);
        let mut handles = Vec::with_capacity(connections);
        for index in 0..connections {
            let connection = client::connect(addr)
                .await
                .with_context(|| format!("opening connection {} of {connections}", index + 1))?;
            let (sender, receiver) = mpsc::channel(1);
            handles.push(tokio::spawn(worker(index, addr, connection, receiver)));
            workers.push(sender);
        }
        Ok(Self { workers, handles })
    }

    /// Runs one phase: every connection sends `endpoint` back to back for `duration`.
    pub async fn run_phase(&self, work: &Work, duration: Duration) -> Result<PhaseResult> {
        // Histograms are allocated before the clock starts.
        let mut fresh = Vec::with_capacity(self.workers.len());
        for _ in &self.workers {
            let mut stats = PhaseStats::new()?;
            if matches!(work, Work::Mixed(_)) {
                for _ in SURFACES {
                    stats.surfaces.push(SurfaceStats::new()?);
                }
            }
            fresh.push(stats);
        }
        let mut merged = PhaseStats::new()?;

        let started = Instant::now();
        let deadline = started + duration;
        let mut replies = Vec::with_capacity(self.workers.len());
        for (worker, stats) in self.workers.iter().zip(fresh) {
            let (reply, answer) = oneshot::channel();
            worker
                .send(Assignment {
                    work: work.clone(),
                    deadline,
                    stats,
                    reply,
                })
                .await
                .map_err(|_| anyhow!("a load task ended early"))?;
            replies.push(answer);
        }
        // Every task stops starting requests at the deadline; the last one it started may
        // take up to the request timeout, a reconnect up to the connect timeout.
        let wait_limit = duration + REQUEST_TIMEOUT + CONNECT_TIMEOUT + Duration::from_secs(5);
        for answer in replies {
            let stats = tokio::time::timeout_at((started + wait_limit).into(), answer)
                .await
                .map_err(|_| anyhow!("a load task did not finish within {wait_limit:?}"))?
                .map_err(|_| anyhow!("a load task ended without reporting"))?;
            merged.merge(&stats)?;
        }
        Ok(PhaseResult {
            stats: merged,
            elapsed: started.elapsed(),
        })
    }

    /// Closes every connection and waits (bounded) for the tasks to end.
    pub async fn close(self) {
        drop(self.workers);
        for handle in self.handles {
            // A task that does not end in time is dropped with the runtime; nothing to report.
            let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
        }
    }
}

/// One connection's task: runs the phases it is handed until the coordinator hangs up.
async fn worker(
    index: usize,
    addr: SocketAddr,
    connection: Connection,
    mut assignments: mpsc::Receiver<Assignment>,
) {
    let mut connection = Some(connection);
    // This connection's own seeded sequence of the mix, continued from phase to phase.
    let mut stream: Option<MixStream> = None;
    while let Some(assignment) = assignments.recv().await {
        let Assignment {
            work,
            deadline,
            mut stats,
            reply,
        } = assignment;
        if let Work::Mixed(mix) = &work {
            let stream = stream.get_or_insert_with(|| {
                MixStream::new(
                    mix.seed
                        .wrapping_mul(0x2545_F491_4F6C_DD1D)
                        .wrapping_add(index as u64),
                )
            });
            run_until(
                addr,
                &mut connection,
                &mut Source::Mixed(mix, stream),
                deadline,
                &mut stats,
            )
            .await;
        } else if let Work::Fixed(endpoint) = &work {
            run_until(
                addr,
                &mut connection,
                &mut Source::Fixed(endpoint),
                deadline,
                &mut stats,
            )
            .await;
        }
        // The coordinator only drops the receiver when it gave up on the run.
        let _ = reply.send(stats);
    }
}

/// Where a task's requests come from.
enum Source<'a> {
    Fixed(&'a Endpoint),
    Mixed(&'a Mix, &'a mut MixStream),
}

/// Sends requests from `source` over the connection back to back until `deadline`,
/// reopening the connection when the server closed it or after a failed request. A mixed
/// source's answers must be 200, and one in [`mixed::CHECK_EVERY`] is parsed and checked.
async fn run_until(
    addr: SocketAddr,
    connection: &mut Option<Connection>,
    source: &mut Source<'_>,
    deadline: Instant,
    stats: &mut PhaseStats,
) {
    let mut sent: u64 = 0;
    for _ in 0..MAX_ATTEMPTS_PER_PHASE {
        if Instant::now() >= deadline {
            break;
        }
        if connection.as_ref().is_none_or(Connection::is_closed) {
            *connection = None;
            match client::connect(addr).await {
                Ok(fresh) => {
                    *connection = Some(fresh);
                    stats.reconnects += 1;
                }
                Err(error) => {
                    stats.record_transport(&error);
                    let pause =
                        RECONNECT_PAUSE.min(deadline.saturating_duration_since(Instant::now()));
                    tokio::time::sleep(pause).await;
                    continue;
                }
            }
        }
        let Some(open) = connection.as_mut() else {
            // Just set above; nothing to do if it somehow is not.
            continue;
        };
        let (request, surface) = match source {
            Source::Fixed(endpoint) => (endpoint.request(), None),
            Source::Mixed(mix, stream) => {
                let next = stream.next(&mix.pool);
                match mix.endpoint(&next) {
                    Ok(endpoint) => (endpoint.request(), Some(next.surface)),
                    Err(error) => {
                        stats.record_transport(&error);
                        continue;
                    }
                }
            }
        };
        sent += 1;
        let started = Instant::now();
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, client::send(open, request)).await;
        let latency = started.elapsed();
        let ok = matches!(&outcome, Ok(Ok((status, _))) if match surface {
            Some(_) => *status == hyper::StatusCode::OK,
            None => status.is_success(),
        });
        if let Some(surface) = surface
            && let Some(figures) = stats.surfaces.get_mut(surface.index())
        {
            if ok {
                let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
                figures.latencies.saturating_record(nanos.max(1));
                figures.ok += 1;
            } else {
                figures.errors += 1;
            }
        }
        match outcome {
            Ok(Ok((_, body))) if ok => {
                stats.record_ok(latency);
                if let Some(surface) = surface
                    && sent.is_multiple_of(mixed::CHECK_EVERY)
                {
                    stats.checked += 1;
                    if let Err(why) = mixed::check(surface, &body) {
                        stats.record_malformed(why);
                        if let Some(figures) = stats.surfaces.get_mut(surface.index()) {
                            figures.errors += 1;
                        }
                    }
                }
            }
            Ok(Ok((status, body))) => stats.record_status(status, &body),
            Ok(Err(error)) => {
                stats.record_transport(&error);
                *connection = None;
            }
            Err(_) => {
                stats.record_timeout();
                *connection = None;
            }
        }
    }
}

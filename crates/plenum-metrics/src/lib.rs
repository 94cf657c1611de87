//! Plenum's metrics, defined once.
//!
//! Every metric Plenum reports is named, described and given its buckets here ([`ALL`]), and
//! recorded through the functions of this crate, which the other crates call where the thing
//! happens: the HTTP layer, the live runtime, the journal, the media edge, the history caches,
//! the webhook delivery. They go through the [`metrics`] facade: without an installed recorder
//! (offline commands, unit tests) every call does nothing. The `plenum` binary installs the
//! Prometheus exporter, calls [`describe`], gives each histogram its [`Metric::buckets`] and
//! serves `GET /metrics` (docs/operations.md lists every metric).
//!
//! Label values are bounded: route templates, methods, status classes, reasons and names from
//! fixed lists. Never a meeting number, a user or company id, a token, or any other value a
//! client chooses; a function here takes a label only as one of this crate's types or a
//! `&'static str` from a fixed list of its caller.

use std::time::Duration;

pub use metrics::{Counter, Gauge, Histogram, Unit};

/// What kind of metric a [`Metric`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One metric: its name, kind, unit, help text, label names and (histograms) buckets.
#[derive(Debug)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    pub unit: Option<Unit>,
    pub help: &'static str,
    pub labels: &'static [&'static str],
    /// Upper bounds of a histogram's buckets (empty for counters and gauges).
    pub buckets: &'static [f64],
}

/// Latencies of requests and commits: Plenum answers most requests in 50 µs to a few ms; the
/// top buckets catch a stalled disk or a slow history query.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0, 30.0,
];

/// Webhook attempts: a receiver across a network answers in milliseconds to seconds.
pub const WEBHOOK_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

const fn counter(
    name: &'static str,
    unit: Option<Unit>,
    labels: &'static [&'static str],
    help: &'static str,
) -> Metric {
    Metric {
        name,
        kind: Kind::Counter,
        unit,
        help,
        labels,
        buckets: &[],
    }
}

const fn gauge(name: &'static str, labels: &'static [&'static str], help: &'static str) -> Metric {
    Metric {
        name,
        kind: Kind::Gauge,
        unit: Some(Unit::Count),
        help,
        labels,
        buckets: &[],
    }
}

const fn seconds(
    name: &'static str,
    labels: &'static [&'static str],
    buckets: &'static [f64],
    help: &'static str,
) -> Metric {
    Metric {
        name,
        kind: Kind::Histogram,
        unit: Some(Unit::Seconds),
        help,
        labels,
        buckets,
    }
}

pub const HTTP_REQUEST_DURATION: Metric = seconds(
    "plenum_http_request_duration_seconds",
    &["route", "method", "status"],
    LATENCY_BUCKETS,
    "HTTP requests by route template, method and status class, and the time to their answer's head; _count counts requests",
);
pub const MEETINGS_RUNNING: Metric = gauge("plenum_meetings_running", &[], "Meetings running now");
pub const PARTICIPANTS: Metric = gauge(
    "plenum_participants",
    &[],
    "Participants in running meetings now (the installation's calls, as max_calls counts them)",
);
pub const JOINS: Metric = counter(
    "plenum_joins_total",
    None,
    &["outcome"],
    "Joins of meetings: joined, the refusal's reason code (docs/client-protocol.md), or error",
);
pub const JOURNAL_COMMIT_DURATION: Metric = seconds(
    "plenum_journal_commit_duration_seconds",
    &[],
    LATENCY_BUCKETS,
    "Commits of the live record (joins, leaves, host changes; one sync for many meetings)",
);
pub const JOURNAL_WRITES: Metric = counter(
    "plenum_journal_writes_total",
    None,
    &[],
    "Changes written by the live record's commits",
);
pub const MEDIA_PACKETS: Metric = counter(
    "plenum_media_packets_total",
    None,
    &["direction"],
    "UDP datagrams of the media port, in (received) and out (sent)",
);
pub const MEDIA_BYTES: Metric = counter(
    "plenum_media_bytes_total",
    Some(Unit::Bytes),
    &["direction"],
    "Bytes of the media port's datagrams, in and out",
);
pub const MEDIA_PACKETS_DROPPED: Metric = counter(
    "plenum_media_packets_dropped_total",
    None,
    &["reason"],
    "Media datagrams the server dropped: unrouted (no meeting's peer), queue_full (a meeting's media task behind), not_accepted (no connection took it), send_failed (the socket's send buffer full)",
);
pub const RECORDINGS_IN_PROGRESS: Metric = gauge(
    "plenum_recordings_in_progress",
    &[],
    "Meetings being recorded now",
);
pub const RECORDINGS_FAILED: Metric = counter(
    "plenum_recordings_failed_total",
    None,
    &[],
    "Recordings that failed (a file could not be written or stored)",
);
pub const RECORDING_FRAMES_DROPPED: Metric = counter(
    "plenum_recording_frames_dropped_total",
    None,
    &[],
    "Frames the recorder or live stream missed because it was behind",
);
pub const LIVE_STREAMS_IN_PROGRESS: Metric = gauge(
    "plenum_live_streams_in_progress",
    &[],
    "Meetings streamed live now",
);
pub const WEBHOOK_QUEUE_DEPTH: Metric = gauge(
    "plenum_webhook_queue_depth",
    &[],
    "Webhook deliveries waiting in the outbox (events times endpoints not yet acknowledged)",
);
pub const WEBHOOK_ATTEMPTS: Metric = counter(
    "plenum_webhook_attempts_total",
    None,
    &[],
    "Webhook delivery attempts",
);
pub const WEBHOOK_FAILURES: Metric = counter(
    "plenum_webhook_failures_total",
    None,
    &["reason"],
    "Webhook delivery attempts that failed: timeout, connection, http_status (not 2xx), other",
);
pub const WEBHOOK_ATTEMPT_DURATION: Metric = seconds(
    "plenum_webhook_attempt_duration_seconds",
    &[],
    WEBHOOK_BUCKETS,
    "Webhook delivery attempts, from the request to the receiver's answer or the failure",
);
pub const CACHE_LOOKUPS: Metric = counter(
    "plenum_cache_lookups_total",
    None,
    &["cache", "result"],
    "Lookups of the in-memory history indexes and remembered rows: hit or miss (for rows, one per row)",
);
pub const HISTORY_READS: Metric = counter(
    "plenum_history_reads_total",
    None,
    &["way"],
    "History list answers on PostgreSQL by how they were read: statements (single statements checked against the change generations) or snapshot (one transaction, after the data moved or an index had to be built)",
);
pub const RELAYS: Metric = counter(
    "plenum_relays_total",
    None,
    &["kind"],
    "Joins and REST calls this node relayed to the node that runs their meeting (one of several nodes): join, call",
);
pub const BUILD_INFO: Metric = gauge(
    "plenum_build_info",
    &["version"],
    "Always 1; the version of the running server",
);

/// Every metric, in the order docs/operations.md lists them.
pub const ALL: &[&Metric] = &[
    &HTTP_REQUEST_DURATION,
    &MEETINGS_RUNNING,
    &PARTICIPANTS,
    &JOINS,
    &JOURNAL_COMMIT_DURATION,
    &JOURNAL_WRITES,
    &MEDIA_PACKETS,
    &MEDIA_BYTES,
    &MEDIA_PACKETS_DROPPED,
    &RECORDINGS_IN_PROGRESS,
    &RECORDINGS_FAILED,
    &RECORDING_FRAMES_DROPPED,
    &LIVE_STREAMS_IN_PROGRESS,
    &WEBHOOK_QUEUE_DEPTH,
    &WEBHOOK_ATTEMPTS,
    &WEBHOOK_FAILURES,
    &WEBHOOK_ATTEMPT_DURATION,
    &CACHE_LOOKUPS,
    &HISTORY_READS,
    &RELAYS,
    &BUILD_INFO,
];

/// Describes every metric to the installed recorder (HELP and unit), sets
/// `plenum_build_info`, and registers the series whose labels come from a fixed list here at
/// zero, so that they are scraped (and rates work) before their first event.
pub fn describe() {
    for m in ALL {
        let (name, help) = (m.name, m.help);
        match (m.kind, m.unit) {
            (Kind::Counter, Some(unit)) => metrics::describe_counter!(name, unit, help),
            (Kind::Counter, None) => metrics::describe_counter!(name, help),
            (Kind::Gauge, Some(unit)) => metrics::describe_gauge!(name, unit, help),
            (Kind::Gauge, None) => metrics::describe_gauge!(name, help),
            (Kind::Histogram, Some(unit)) => metrics::describe_histogram!(name, unit, help),
            (Kind::Histogram, None) => metrics::describe_histogram!(name, help),
        }
    }
    metrics::gauge!(BUILD_INFO.name, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    let _ = media::Traffic::new();
    for cache in cache::Cache::ALL {
        let _ = cache.counters();
    }
    for way in [history::STATEMENTS, history::SNAPSHOT] {
        let _ = metrics::counter!(HISTORY_READS.name, "way" => way);
    }
    for failure in webhooks::Failure::ALL {
        let _ = metrics::counter!(WEBHOOK_FAILURES.name, "reason" => failure.as_str());
    }
    let _ = metrics::counter!(WEBHOOK_ATTEMPTS.name);
    let _ = metrics::gauge!(RECORDINGS_IN_PROGRESS.name);
    let _ = metrics::gauge!(LIVE_STREAMS_IN_PROGRESS.name);
    let _ = metrics::counter!(RECORDINGS_FAILED.name);
    let _ = metrics::counter!(RECORDING_FRAMES_DROPPED.name);
    let _ = metrics::counter!(JOURNAL_WRITES.name);
    for outcome in [live::JOINED, live::JOIN_FAILED] {
        let _ = metrics::counter!(JOINS.name, "outcome" => outcome);
    }
    for relay in nodes::Relay::ALL {
        let _ = metrics::counter!(RELAYS.name, "kind" => relay.as_str());
    }
}

/// HTTP requests (`plenum-http`'s request layer).
pub mod http {
    use super::*;

    /// The route of a request no route matched (404s, and requests refused before routing).
    pub const UNMATCHED_ROUTE: &str = "unmatched";

    /// Status classes, by the status's first digit less one.
    pub const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

    /// The index in [`STATUS_CLASSES`] of a status code (anything above 599 counts as 5xx).
    pub fn status_class(status: u16) -> usize {
        usize::from(status / 100).clamp(1, 5) - 1
    }

    /// The request histogram of one route template, method and status class. Take it once
    /// and keep it: looking a series up costs more than recording into it.
    pub fn requests(route: String, method: &'static str, status_class: usize) -> Histogram {
        let class = STATUS_CLASSES[status_class.min(STATUS_CLASSES.len() - 1)];
        metrics::histogram!(HTTP_REQUEST_DURATION.name,
            "route" => route, "method" => method, "status" => class)
    }
}

/// Running meetings and joins (`plenum-service`'s live runtime).
pub mod live {
    use super::*;

    /// The outcome of a join that got in.
    pub const JOINED: &str = "joined";
    /// The outcome of a join that failed for another reason than a refusal (the store).
    pub const JOIN_FAILED: &str = "error";

    /// The running meetings and their participants, now.
    pub fn running(meetings: usize, participants: u32) {
        metrics::gauge!(MEETINGS_RUNNING.name).set(meetings as f64);
        metrics::gauge!(PARTICIPANTS.name).set(participants);
    }

    /// A join's outcome: [`JOINED`], [`JOIN_FAILED`], or the refusal's reason code (a fixed
    /// list: the client protocol's).
    pub fn join(outcome: &'static str) {
        metrics::counter!(JOINS.name, "outcome" => outcome).increment(1);
    }
}

/// Relays between the nodes of one installation (`plenum-http`'s nodes.rs).
pub mod nodes {
    /// What a node relayed to the node that runs the meeting.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Relay {
        /// A participant's client protocol, opened at the holder.
        Join,
        /// A REST call the holder answered.
        Call,
    }

    impl Relay {
        pub const ALL: [Relay; 2] = [Relay::Join, Relay::Call];

        pub fn as_str(self) -> &'static str {
            match self {
                Relay::Join => "join",
                Relay::Call => "call",
            }
        }
    }

    /// One relay the holder took (the connection opened, or the call answered).
    pub fn relayed(what: Relay) {
        metrics::counter!(super::RELAYS.name, "kind" => what.as_str()).increment(1);
    }
}

/// The live record's journal (`plenum-store-sqlite`).
pub mod journal {
    use super::*;

    /// One commit of `writes` changes that took `took`.
    pub fn committed(took: Duration, writes: usize) {
        metrics::histogram!(JOURNAL_COMMIT_DURATION.name).record(took);
        metrics::counter!(JOURNAL_WRITES.name).increment(writes as u64);
    }
}

/// The media port, recordings and live streams (`plenum-service`'s media edge and egress).
pub mod media {
    use super::*;

    /// Why the server dropped a media datagram.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Dropped {
        /// No meeting's peer has its address or names its ICE credentials.
        Unrouted,
        /// The meeting's media task is behind: its queue is full.
        QueueFull,
        /// It reached its meeting, but no connection took it.
        NotAccepted,
        /// The socket would not take it (its send buffer full).
        SendFailed,
    }

    impl Dropped {
        const ALL: [Dropped; 4] = [
            Dropped::Unrouted,
            Dropped::QueueFull,
            Dropped::NotAccepted,
            Dropped::SendFailed,
        ];

        fn as_str(self) -> &'static str {
            match self {
                Dropped::Unrouted => "unrouted",
                Dropped::QueueFull => "queue_full",
                Dropped::NotAccepted => "not_accepted",
                Dropped::SendFailed => "send_failed",
            }
        }
    }

    /// The media port's counters, looked up once: each datagram then costs two atomic adds.
    #[derive(Debug, Clone)]
    pub struct Traffic {
        packets_in: Counter,
        bytes_in: Counter,
        packets_out: Counter,
        bytes_out: Counter,
        dropped: [Counter; 4],
    }

    impl Default for Traffic {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Traffic {
        pub fn new() -> Self {
            Self {
                packets_in: metrics::counter!(MEDIA_PACKETS.name, "direction" => "in"),
                bytes_in: metrics::counter!(MEDIA_BYTES.name, "direction" => "in"),
                packets_out: metrics::counter!(MEDIA_PACKETS.name, "direction" => "out"),
                bytes_out: metrics::counter!(MEDIA_BYTES.name, "direction" => "out"),
                dropped: Dropped::ALL.map(|reason| {
                    metrics::counter!(MEDIA_PACKETS_DROPPED.name, "reason" => reason.as_str())
                }),
            }
        }

        /// A datagram of `bytes` received.
        pub fn received(&self, bytes: usize) {
            self.packets_in.increment(1);
            self.bytes_in.increment(bytes as u64);
        }

        /// A datagram of `bytes` sent.
        pub fn sent(&self, bytes: usize) {
            self.packets_out.increment(1);
            self.bytes_out.increment(bytes as u64);
        }

        pub fn dropped(&self, why: Dropped) {
            self.dropped[why as usize].increment(1);
        }
    }

    /// Counts one thing in progress (a recording, a live stream) while it lives.
    #[derive(Debug)]
    pub struct InProgress(Gauge);

    impl InProgress {
        /// A meeting's recording, from its start to its end or failure.
        pub fn recording() -> Self {
            Self::of(&RECORDINGS_IN_PROGRESS)
        }

        /// A meeting's live stream, from its start to its stop.
        pub fn live_stream() -> Self {
            Self::of(&LIVE_STREAMS_IN_PROGRESS)
        }

        fn of(metric: &Metric) -> Self {
            let gauge = metrics::gauge!(metric.name);
            gauge.increment(1.0);
            Self(gauge)
        }
    }

    impl Drop for InProgress {
        fn drop(&mut self) {
            self.0.decrement(1.0);
        }
    }

    /// A recording failed.
    pub fn recording_failed() {
        metrics::counter!(RECORDINGS_FAILED.name).increment(1);
    }

    /// A frame the recorder or live stream missed (it was behind).
    pub fn recording_frame_dropped() {
        metrics::counter!(RECORDING_FRAMES_DROPPED.name).increment(1);
    }
}

/// Webhook delivery. For the delivery worker: [`queue_depth`] whenever the outbox's size is
/// known, [`attempt`] after every attempt.
pub mod webhooks {
    use super::*;

    /// Why a delivery attempt failed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Failure {
        /// No answer within the attempt's timeout.
        Timeout,
        /// No connection (refused, unreachable, name or TLS failure).
        Connection,
        /// The receiver answered with a status other than 2xx (redirects are not followed).
        HttpStatus,
        /// Anything else (a body cap, a refused target).
        Other,
    }

    impl Failure {
        pub const ALL: [Failure; 4] = [
            Failure::Timeout,
            Failure::Connection,
            Failure::HttpStatus,
            Failure::Other,
        ];

        pub fn as_str(self) -> &'static str {
            match self {
                Failure::Timeout => "timeout",
                Failure::Connection => "connection",
                Failure::HttpStatus => "http_status",
                Failure::Other => "other",
            }
        }
    }

    /// Deliveries waiting in the outbox.
    pub fn queue_depth(waiting: u64) {
        metrics::gauge!(WEBHOOK_QUEUE_DEPTH.name).set(waiting as f64);
    }

    /// One delivery attempt that took `took` and succeeded or failed.
    pub fn attempt(took: Duration, outcome: Result<(), Failure>) {
        metrics::counter!(WEBHOOK_ATTEMPTS.name).increment(1);
        metrics::histogram!(WEBHOOK_ATTEMPT_DURATION.name).record(took);
        if let Err(failure) = outcome {
            metrics::counter!(WEBHOOK_FAILURES.name, "reason" => failure.as_str()).increment(1);
        }
    }
}

/// The history indexes and remembered rows (`plenum-store-sqlite`'s generations.rs; the
/// caches #5–#7 of ARCHITECTURE.md).
pub mod cache {
    use super::*;

    /// Which cache.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Cache {
        /// A company's scheduled meetings, for its meeting lists.
        ScheduleIndex,
        /// A company's sessions, for the history lists.
        SessionIndex,
        /// A company's recordings, for the recording lists.
        RecordingIndex,
        /// Remembered session rows of history pages.
        SessionRows,
        /// Remembered attendee lists of ended sessions.
        Attendees,
        /// Remembered recording rows.
        RecordingRows,
        /// Remembered stays of ended sessions, for their attendance pages.
        Stays,
        /// Remembered numbers of sessions and stays by id or session number.
        Numbers,
        /// Remembered meeting details.
        ScheduleRows,
    }

    impl Cache {
        pub const ALL: [Cache; 9] = [
            Cache::ScheduleIndex,
            Cache::SessionIndex,
            Cache::RecordingIndex,
            Cache::SessionRows,
            Cache::Attendees,
            Cache::RecordingRows,
            Cache::Stays,
            Cache::Numbers,
            Cache::ScheduleRows,
        ];

        pub fn as_str(self) -> &'static str {
            match self {
                Cache::ScheduleIndex => "schedule_index",
                Cache::SessionIndex => "session_index",
                Cache::RecordingIndex => "recording_index",
                Cache::SessionRows => "session_rows",
                Cache::Attendees => "attendees",
                Cache::RecordingRows => "recording_rows",
                Cache::Stays => "stays",
                Cache::Numbers => "numbers",
                Cache::ScheduleRows => "schedule_rows",
            }
        }

        /// Its (hit, miss) counters.
        pub(crate) fn counters(self) -> (Counter, Counter) {
            let name = CACHE_LOOKUPS.name;
            (
                metrics::counter!(name, "cache" => self.as_str(), "result" => "hit"),
                metrics::counter!(name, "cache" => self.as_str(), "result" => "miss"),
            )
        }

        /// `hits` lookups found what they wanted in memory, `misses` went to the database.
        pub fn looked_up(self, hits: usize, misses: usize) {
            let (hit, miss) = self.counters();
            if hits > 0 {
                hit.increment(hits as u64);
            }
            if misses > 0 {
                miss.increment(misses as u64);
            }
        }

        /// One lookup: a hit or a miss.
        pub fn lookup(self, hit: bool) {
            self.looked_up(usize::from(hit), usize::from(!hit));
        }
    }
}

/// How PostgreSQL's history lists read (`plenum-store-postgres`'s `history/memory.rs`).
pub mod history {
    use super::*;

    pub const STATEMENTS: &str = "statements";
    pub const SNAPSHOT: &str = "snapshot";

    /// One list answered: through single checked statements, or else in a transaction.
    pub fn read(through_statements: bool) {
        let way = if through_statements {
            STATEMENTS
        } else {
            SNAPSHOT
        };
        metrics::counter!(HISTORY_READS.name, "way" => way).increment(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_valid_prometheus_names() {
        let mut seen = std::collections::HashSet::new();
        for m in ALL {
            assert!(seen.insert(m.name), "{} twice", m.name);
            assert!(m.name.starts_with("plenum_"), "{}", m.name);
            assert!(
                m.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                m.name
            );
            assert_eq!(
                m.kind == Kind::Counter,
                m.name.ends_with("_total"),
                "{}",
                m.name
            );
            assert_eq!(
                m.kind == Kind::Histogram,
                !m.buckets.is_empty(),
                "{}",
                m.name
            );
            assert!(m.buckets.windows(2).all(|w| w[0] < w[1]), "{}", m.name);
        }
    }

    #[test]
    fn status_classes() {
        assert_eq!(http::STATUS_CLASSES[http::status_class(101)], "1xx");
        assert_eq!(http::STATUS_CLASSES[http::status_class(204)], "2xx");
        assert_eq!(http::STATUS_CLASSES[http::status_class(404)], "4xx");
        assert_eq!(http::STATUS_CLASSES[http::status_class(599)], "5xx");
        assert_eq!(http::STATUS_CLASSES[http::status_class(999)], "5xx");
    }

    /// The sample Grafana dashboard is JSON and asks only for metrics defined here.
    #[test]
    fn the_dashboard_uses_only_metrics_defined_here() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/grafana-dashboard.json"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let dashboard: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            dashboard["panels"]
                .as_array()
                .is_some_and(|p| !p.is_empty())
        );
        let mut used = 0;
        for (at, _) in text.match_indices("plenum_") {
            let name: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            let base = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .filter(|base| {
                    ALL.iter()
                        .any(|m| m.kind == Kind::Histogram && m.name == *base)
                })
                .unwrap_or(&name);
            assert!(
                ALL.iter().any(|m| m.name == base),
                "the dashboard asks for {name}, which plenum-metrics does not define"
            );
            used += 1;
        }
        assert!(used > 0);
    }

    /// docs/operations.md lists every metric.
    #[test]
    fn every_metric_is_documented() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/operations.md");
        let doc = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        for m in ALL {
            assert!(
                doc.contains(&format!("`{}`", m.name)),
                "docs/operations.md does not list `{}`",
                m.name
            );
        }
    }
}

//! Webhook delivery: the task that reads the outbox and posts each event to the endpoints
//! that take it, signed as Standard Webhooks says (`docs/webhooks.md`).
//!
//! - **Out of the meetings' way.** Events are written to the outbox in the store, in the
//!   transaction of the change that caused them; this task reads them from there. Nothing a
//!   meeting does waits for a receiver: a slow or dead receiver holds only this task's
//!   attempts to it, each bounded by the attempt timeout.
//! - **At least once.** A delivery is done when the receiver answered 2xx *and* that answer
//!   is recorded. A server killed in between sends the event again after its restart (the
//!   delivery is still pending in the store); receivers drop duplicates by `webhook-id`.
//! - **In order per meeting.** The store offers only the oldest undelivered event of each
//!   meeting per endpoint; the next one is offered once that one is recorded delivered (or
//!   its retries are exhausted). Events of different meetings, and to different endpoints,
//!   go in parallel, up to `concurrency` attempts at once.
//! - **Retries.** A failed attempt (no 2xx answer in time) is tried again after the delay
//!   [`RetrySchedule`] gives for its count; when the schedule is over, the delivery is
//!   exhausted, the endpoint marked failing, and the event kept for replay.

mod client;
pub(crate) mod events;
mod use_cases;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::SignedDuration;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use plenum_domain::Timestamp;
use plenum_domain::api_keys::AppKeySecret;
use plenum_domain::ids::WebhookId;
use plenum_domain::webhooks::{RetrySchedule, WebhookSecret};
use plenum_store::{Attempt, AttemptResult, DueDelivery, Store};

use crate::Clock;
use plenum_metrics::webhooks::Failure;

pub(crate) use client::refused_address;
pub use use_cases::{MAX_DELIVERIES_LISTED, WebhookError, WebhookRequest, WebhookWithSecret};

/// How webhooks are delivered (configuration `[webhooks]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// Whether endpoints may be (and resolve to) private, loopback or link-local addresses.
    pub allow_private: bool,
    /// How long one attempt may take, connecting included, before it counts as failed.
    pub attempt_timeout: Duration,
    /// How much of a receiver's answer is read (the rest is dropped unread).
    pub max_response_bytes: usize,
    /// When failed attempts are tried again, and for how long.
    pub retry: RetrySchedule,
    /// Attempts under way at once, across endpoints and meetings.
    pub concurrency: usize,
    /// How often the outbox is looked at when nothing woke the task (events written by
    /// another process, such as the command line).
    pub poll_interval: Duration,
    /// How long events are kept for replay after they happened (undelivered ones are kept
    /// until their retries are over), and attempts for the delivery log.
    pub retention: SignedDuration,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        Self {
            allow_private: false,
            attempt_timeout: Duration::from_secs(10),
            max_response_bytes: 64 * 1024,
            retry: RetrySchedule::default(),
            concurrency: 32,
            poll_interval: Duration::from_secs(1),
            retention: SignedDuration::from_hours(24 * 30),
        }
    }
}

/// What the delivery task has done since the server started (queue depth, attempts,
/// failures), for the service's callers; the same go to the metrics (`plenum-metrics`'s
/// `webhooks`), from [`WebhookStats::observe`] and each attempt.
#[derive(Debug, Default)]
pub struct WebhookStats {
    attempts: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
    exhausted: AtomicU64,
    queue_depth: AtomicU64,
}

/// One thing the delivery task observed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Observed {
    Attempt(AttemptResult),
    QueueDepth(u64),
}

/// A copy of the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WebhookCounts {
    /// Attempts made (each try of each event to each endpoint).
    pub attempts: u64,
    /// Attempts the receiver acknowledged.
    pub delivered: u64,
    /// Attempts that failed (no answer in time, or not 2xx).
    pub failed: u64,
    /// Deliveries whose retries ran out.
    pub exhausted: u64,
    /// Deliveries waiting, as last counted.
    pub queue_depth: u64,
}

impl WebhookStats {
    /// Counts what the delivery task observed (the metrics' counters belong here).
    pub(crate) fn observe(&self, what: Observed) {
        match what {
            Observed::Attempt(result) => {
                self.attempts.fetch_add(1, Ordering::Relaxed);
                match result {
                    AttemptResult::Delivered => &self.delivered,
                    AttemptResult::RetryAt(_) => &self.failed,
                    AttemptResult::Exhausted => {
                        self.failed.fetch_add(1, Ordering::Relaxed);
                        &self.exhausted
                    }
                }
                .fetch_add(1, Ordering::Relaxed);
            }
            Observed::QueueDepth(depth) => {
                self.queue_depth.store(depth, Ordering::Relaxed);
                plenum_metrics::webhooks::queue_depth(depth);
            }
        }
    }

    pub fn counts(&self) -> WebhookCounts {
        WebhookCounts {
            attempts: self.attempts.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            exhausted: self.exhausted.load(Ordering::Relaxed),
            queue_depth: self.queue_depth.load(Ordering::Relaxed),
        }
    }
}

/// The delivery task's handle in the service: wakes it when events were written, and
/// holds its counters.
#[derive(Debug, Default)]
pub(crate) struct Deliveries {
    pub(crate) wake: Arc<Notify>,
    pub(crate) stats: Arc<WebhookStats>,
}

impl Deliveries {
    /// Events may be in the outbox: look now rather than at the next poll.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }
}

/// The nice value of the delivery thread: under a full CPU, the meetings (the runtime's
/// workers and the journal, at the process's own priority) get about ten times its share.
/// With spare CPU it delivers at full speed; nice only weighs who waits when both want it.
const DELIVERY_NICE: i32 = 10;

/// The delivery task's own thread, with a single-threaded runtime, at a lower priority than
/// the meetings. Deliveries are bulk work (an HTTP request, a signature and a recorded attempt
/// per event and endpoint): on the meetings' runtime they took CPU a join storm needed (the
/// storm with two endpoints fell to 77–84 % of the one without). [`settle`] keeps them out of
/// a burst's way for up to a second; the thread's priority keeps them out of the way of
/// longer ones too, without delaying them when the CPU is free.
///
/// [`settle`]: DeliveryTask::settle
#[derive(Debug)]
pub struct DeliveryThread {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DeliveryThread {
    fn start(task: DeliveryTask) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("plenum-webhooks".into())
            .spawn(move || {
                let tid = rustix::thread::gettid();
                if let Err(e) = rustix::process::setpriority_process(Some(tid), DELIVERY_NICE) {
                    // Delivered all the same, at the meetings' priority.
                    tracing::warn!(error = %e, "webhooks: the delivery thread's priority");
                }
                runtime.block_on(async move {
                    tokio::select! {
                        () = task.run() => {}
                        _ = stopped => {}
                    }
                });
                // Attempts under way are dropped unrecorded: they go again after a restart.
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        Ok(DeliveryThread {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops the task and waits for its thread (at most about a second). An attempt under
    /// way is not recorded: the next start sends it again.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("webhooks: the delivery thread panicked");
        }
    }
}

impl Drop for DeliveryThread {
    fn drop(&mut self) {
        self.halt();
    }
}

/// How long the meetings must be quiet (no new events) after a wake before deliveries go.
const QUIET: Duration = Duration::from_millis(50);
/// The longest deliveries wait for the meetings to be quiet.
const SETTLE_MAX: Duration = Duration::from_millis(1000);

/// How often the queue's depth is counted (a count of the pending deliveries).
const DEPTH_EVERY: Duration = Duration::from_secs(5);

/// The delivery task: one per server.
pub(crate) struct DeliveryTask {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) policy: WebhookPolicy,
    pub(crate) installation: AppKeySecret,
    pub(crate) wake: Arc<Notify>,
    pub(crate) stats: Arc<WebhookStats>,
}

/// One attempt's outcome, to record.
type Done = (Attempt, AttemptResult);

impl DeliveryTask {
    /// Runs until the task is aborted (server shutdown). An attempt under way then is not
    /// recorded: its event is sent again after the restart.
    pub(crate) async fn run(self) {
        let client = match client::client(self.policy.allow_private, self.policy.attempt_timeout) {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "webhooks: no HTTP client; nothing will be delivered");
                return;
            }
        };
        let this = Arc::new(self);
        let mut in_flight: HashSet<(WebhookId, u64)> = HashSet::new();
        let mut running: JoinSet<Done> = JoinSet::new();
        let mut depth_counted: Option<Instant> = None;
        loop {
            if depth_counted.is_none_or(|at| at.elapsed() >= DEPTH_EVERY) {
                depth_counted = Some(Instant::now());
                match this.store.pending_deliveries().await {
                    Ok(depth) => this.stats.observe(Observed::QueueDepth(depth)),
                    Err(e) => tracing::warn!(error = %e, "webhooks: the queue's depth"),
                }
            }
            let now = this.clock.now();
            let free = this.policy.concurrency.max(1).saturating_sub(running.len());
            if free > 0 {
                let want = u32::try_from(free + in_flight.len()).unwrap_or(u32::MAX);
                match this.store.claim_deliveries(now, want).await {
                    Ok(due) => {
                        let fresh: Vec<DueDelivery> = due
                            .into_iter()
                            .filter(|d| !in_flight.contains(&(d.endpoint, d.event_seq)))
                            .take(free)
                            .collect();
                        for delivery in fresh {
                            in_flight.insert((delivery.endpoint, delivery.event_seq));
                            let (task, client) = (this.clone(), client.clone());
                            running.spawn(async move { task.attempt(&client, delivery).await });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "webhooks: reading the outbox"),
                }
            }
            let sleep = this.sleep_for(now).await;
            tokio::select! {
                Some(finished) = running.join_next() => {
                    let mut done = Vec::new();
                    let mut keep = |joined: Result<Done, tokio::task::JoinError>| match joined {
                        Ok(outcome) => done.push(outcome),
                        Err(e) => tracing::error!(error = %e, "webhooks: an attempt panicked"),
                    };
                    keep(finished);
                    while let Some(more) = running.try_join_next() {
                        keep(more);
                    }
                    this.record(&mut in_flight, done).await;
                }
                () = this.wake.notified() => this.settle().await,
                () = tokio::time::sleep(sleep) => {}
            }
        }
    }

    /// After a wake: waits until the meetings have been quiet for [`QUIET`] (no further
    /// wake), at most [`SETTLE_MAX`]. Meetings come first: in a burst of joins (every batch a
    /// wake) the deliveries wait for the burst to pass, up to that bound, instead of taking
    /// the CPU the joins need; then they go out together.
    async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + SETTLE_MAX;
        loop {
            let quiet = tokio::time::sleep(QUIET);
            tokio::select! {
                () = self.wake.notified() => {
                    if tokio::time::Instant::now() >= deadline {
                        return;
                    }
                }
                () = quiet => return,
                () = tokio::time::sleep_until(deadline) => return,
            }
        }
    }

    /// Until the next retry is due, at most the poll interval.
    async fn sleep_for(&self, now: Timestamp) -> Duration {
        let poll = self.policy.poll_interval;
        match self.store.next_delivery_due(now).await {
            Ok(Some(due)) => {
                let wait = now.duration_until(due).unsigned_abs();
                wait.min(poll)
            }
            _ => poll,
        }
    }

    /// Records finished attempts (one commit for all); only then may their meetings' next
    /// events go.
    async fn record(&self, in_flight: &mut HashSet<(WebhookId, u64)>, done: Vec<Done>) {
        if done.is_empty() {
            return;
        }
        let keys: Vec<(WebhookId, u64)> = done
            .iter()
            .map(|(a, _)| (a.endpoint, a.event_seq))
            .collect();
        for (_, result) in &done {
            self.stats.observe(Observed::Attempt(*result));
        }
        if let Err(e) = self.store.record_attempts(done).await {
            // Not recorded: the deliveries are still pending and go again (at least once).
            tracing::error!(error = %e, "webhooks: attempts not recorded; they will be repeated");
            tokio::time::sleep(self.policy.poll_interval).await;
        }
        for key in keys {
            in_flight.remove(&key);
        }
    }

    /// Posts one event to one endpoint, once.
    async fn attempt(&self, client: &reqwest_rustls::Client, d: DueDelivery) -> Done {
        let started = Instant::now();
        let at = self.clock.now();
        let (status, error, failure) = self.post(client, &d, at).await;
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        plenum_metrics::webhooks::attempt(
            started.elapsed(),
            if delivered {
                Ok(())
            } else {
                Err(failure.unwrap_or(Failure::HttpStatus))
            },
        );
        let number = d.attempts.saturating_add(1);
        let result = if delivered {
            AttemptResult::Delivered
        } else {
            match self.policy.retry.delay_after(number) {
                Some(delay) => {
                    let now = self.clock.now();
                    AttemptResult::RetryAt(now.checked_add(delay).unwrap_or(now))
                }
                None => AttemptResult::Exhausted,
            }
        };
        match (&result, &error) {
            (AttemptResult::Delivered, _) => {}
            (_, Some(error)) => tracing::info!(
                endpoint = %d.endpoint, event = %d.event, attempt = number, error = %error,
                "webhook attempt failed"
            ),
            (_, None) => tracing::info!(
                endpoint = %d.endpoint, event = %d.event, attempt = number, status = status,
                "webhook attempt refused by the receiver"
            ),
        }
        if result == AttemptResult::Exhausted {
            tracing::warn!(
                endpoint = %d.endpoint, event = %d.event,
                "webhook retries exhausted: the endpoint is marked failing; the event stays for replay"
            );
        }
        let attempt = Attempt {
            endpoint: d.endpoint,
            event: d.event,
            event_seq: d.event_seq,
            kind: d.kind,
            number,
            at,
            duration_ms: u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX),
            status,
            error,
            delivered,
        };
        (attempt, result)
    }

    /// The receiver's status, or why there is none.
    async fn post(
        &self,
        client: &reqwest_rustls::Client,
        d: &DueDelivery,
        at: Timestamp,
    ) -> (Option<u16>, Option<String>, Option<Failure>) {
        if let Some(refused) = refused_address(d.url.as_str(), self.policy.allow_private) {
            return (None, Some(refused), Some(Failure::Other));
        }
        let secret = WebhookSecret::derive(&self.installation, &d.seed);
        let id = d.event.to_string();
        // The signature's time is the wall clock's, whatever clock the service runs on:
        // receivers compare it with theirs to refuse replayed messages.
        let _ = at;
        let timestamp = Timestamp::now().as_second();
        let signature = secret.sign(&id, timestamp, d.body.as_bytes());
        let request = client
            .post(d.url.as_str())
            .header(reqwest_rustls::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(d.body.clone());
        let answered = tokio::time::timeout(self.policy.attempt_timeout, async {
            let mut response = request.send().await?;
            let status = response.status().as_u16();
            // Read a little of the answer (some servers want their body read before they
            // count a request done), never more than the cap.
            let mut read = 0usize;
            while read < self.policy.max_response_bytes {
                match response.chunk().await? {
                    Some(chunk) => read += chunk.len(),
                    None => break,
                }
            }
            Ok::<u16, reqwest_rustls::Error>(status)
        })
        .await;
        match answered {
            Ok(Ok(status)) => (Some(status), None, Some(Failure::HttpStatus)),
            Ok(Err(e)) => {
                let failure = if e.is_timeout() {
                    Failure::Timeout
                } else if e.is_connect() {
                    Failure::Connection
                } else {
                    Failure::Other
                };
                (None, Some(describe(&e)), Some(failure))
            }
            Err(_) => (
                None,
                Some(format!(
                    "no answer within {} ms",
                    self.policy.attempt_timeout.as_millis()
                )),
                Some(Failure::Timeout),
            ),
        }
    }
}

/// A failed request in a few words, with its cause (never a header or the body).
fn describe(e: &reqwest_rustls::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_redirect() {
        "redirect not followed"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {cause}")
    }
}

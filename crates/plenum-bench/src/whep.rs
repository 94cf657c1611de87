//! `plenum-bench media --shape live`: how many WHEP viewers one live stream holds.
//!
//! One server, one meeting of 2 bots publishing audio + video (and receiving each other), its
//! live stream started (`POST /api/v1/meeting/{n}/live`; the live id is the end of the
//! meeting's `live_url`). Viewers are added in steps up to each N of `--n`; each is a str0m
//! `Rtc` with a receive-only audio and video m-line whose offer is posted to
//! `POST /live/{live id}/whep` (`application/sdp`, answered 201 with a `Location`). After
//! every viewer of a step has its first video keyframe (bounded) and 2 s more, a `--window`:
//! the server's CPU (all threads, and the egress thread that composes the stream) and, per
//! viewer, RTP packets received and lost (sequence-number gaps, as the media bench counts
//! them). A step **holds** at < 1 % loss with no dead viewer (nothing of audio or video in
//! the window); loss counts the sequence gaps and also how far each viewer's packet rate falls
//! below the first step's (the server packetizes per viewer, so frames it never sends leave no
//! gap). Its CPU is reported as measured. The steps stop at the first that does not hold.
//!
//! The server limits new viewers per address ([`VIEWERS_PER_ADDRESS`] a minute), so the
//! viewers' HTTP connections come from several loopback addresses (127.0.0.2, 127.0.0.3, …:
//! all of 127.0.0.0/8 is this machine's loopback); their media uses 127.0.0.1.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HOST, LOCATION};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};
use tokio::net::{TcpSocket, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::media::{self, MediaCli, cpu_seconds, progress, rss_kb, stop_bots, wait_publishing};
use crate::record::{
    call, log_lines, media_server, room_wants, start_publishers, threads_cpu_seconds,
};
use crate::report::Machine;

/// New viewers the server admits per address and minute (`plenum_service`'s
/// `VIEWERS_PER_ADDRESS`); the harness opens at most this many from one address.
const VIEWERS_PER_ADDRESS: u32 = 25;
/// Publishing bots in the streamed meeting.
const PUBLISHERS: u32 = 2;
/// Viewers negotiating at once.
const VIEWER_CONCURRENCY: usize = 16;
/// How long one viewer's offer may take to be answered.
const OFFER_LIMIT: Duration = Duration::from_secs(20);
/// How long every viewer of a step may take to get its first keyframe: this plus 50 ms each.
const READY_BASE: Duration = Duration::from_secs(20);
const DATAGRAM_BYTES: usize = 2048;
/// When nothing is due, a viewer still wakes this often.
const IDLE_WAKE: Duration = Duration::from_millis(500);

/// What one viewer counted so far.
#[derive(Debug, Default)]
struct Counters {
    audio_packets: AtomicU64,
    video_packets: AtomicU64,
    lost: AtomicU64,
    keyframe: AtomicBool,
    failed: AtomicBool,
}

struct Viewer {
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

#[derive(Debug, Clone, Default)]
struct LiveStep {
    viewers: u32,
    window_s: f64,
    server_cpu_s: f64,
    egress_cpu_s: f64,
    bots_cpu_s: f64,
    packets: u64,
    lost: u64,
    dead: u64,
    rss_after_kb: u64,
    /// Datagrams dropped at the server's full UDP receive buffer in the window.
    udp_drops: u64,
    join_s: f64,
    cpus: usize,
    problems: Vec<String>,
}

impl LiveStep {
    fn cpu_percent(&self) -> f64 {
        self.server_cpu_s * 100.0 / self.window_s.max(1e-9)
    }
    fn loss_percent(&self) -> f64 {
        self.lost as f64 * 100.0 / (self.packets + self.lost).max(1) as f64
    }
    /// Packets per viewer and second.
    fn per_viewer_rate(&self) -> f64 {
        self.packets as f64 / (self.window_s.max(1e-9) * f64::from(self.viewers.max(1)))
    }
    /// How far each viewer's packet rate falls below `reference`'s (the smallest step): a
    /// server that cannot keep up drops frames before packetizing them, which leaves no gap
    /// in a viewer's sequence numbers.
    fn shortfall_percent(&self, reference: f64) -> f64 {
        (100.0 * (1.0 - self.per_viewer_rate() / reference.max(1e-9))).max(0.0)
    }
    /// < 1 % loss: sequence gaps and the rate's shortfall; no dead viewer.
    fn holds(&self, reference: f64) -> bool {
        self.window_s > 0.0
            && self.loss_percent() < 1.0
            && self.shortfall_percent(reference) < 1.0
            && self.dead == 0
    }
    fn json(&self, reference: f64) -> Value {
        json!({
            "per_viewer_packets_per_s": self.per_viewer_rate(),
            "shortfall_percent": self.shortfall_percent(reference),
            "shape": "live", "viewers": self.viewers, "window_s": self.window_s,
            "cpu_percent": self.cpu_percent(),
            "machine_percent": self.cpu_percent() / self.cpus.max(1) as f64,
            "egress_cpu_percent": self.egress_cpu_s * 100.0 / self.window_s.max(1e-9),
            "bots_cpu_percent": self.bots_cpu_s * 100.0 / self.window_s.max(1e-9),
            "packets": self.packets, "packets_per_s": self.packets as f64 / self.window_s.max(1e-9),
            "lost": self.lost, "loss_percent": self.loss_percent(), "dead_viewers": self.dead,
            "rss_after_kb": self.rss_after_kb, "join_s": self.join_s,
            "server_udp_drops": self.udp_drops,
            "holds": self.holds(reference), "problems": self.problems,
        })
    }
}

/// `plenum-bench media --shape live`.
pub fn main(cli: &MediaCli) -> std::process::ExitCode {
    crate::record::exit(crate::media::block_on_bots(cli, async {
        let logs = crate::record::logs_dir(cli)?;
        run(cli, &logs).await
    }))
}

async fn run(cli: &MediaCli, logs: &Path) -> Result<bool> {
    let mut sizes = cli.n.clone();
    sizes.sort_unstable();
    let log = logs.join("plenum-live.log");
    let mut server = media_server(cli, PUBLISHERS + 4, 64, log).await?;
    let (addr, pid) = (server.addr(), server.pid());
    let token = crate::scenario::sign_in(
        addr,
        crate::scenario::ADMIN_USERNAME,
        server.admin_password(),
    )
    .await?;
    let rooms = crate::live::create_rooms(addr, &token, 1).await?;
    let room = rooms.first().cloned().context("no room")?;
    let rss_before = rss_kb(pid)?;
    let bots = start_publishers(addr, &rooms, PUBLISHERS).await?;
    wait_publishing(&bots).await;
    let want = room_wants(&bots, PUBLISHERS);
    let missing = media::wait_ready(&bots, &want, media::READY_BASE).await;
    if missing > 0 {
        bail!("{missing} of the publishers' streams never received a keyframe");
    }
    call(
        addr,
        &token,
        Method::POST,
        &format!("/api/v1/meeting/{room}/live"),
        Some(json!({})),
    )
    .await?;
    let (_, detail) = call(
        addr,
        &token,
        Method::GET,
        &format!("/api/v1/meeting/{room}"),
        None,
    )
    .await?;
    let live_url = find_live_url(&detail).context("the meeting shows no live_url")?;
    let live_id = live_url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    progress(&format!("live: {live_url} (live id {live_id})"));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut viewers: Vec<Viewer> = Vec::new();
    let mut steps = Vec::new();
    // The first step's packets per viewer and second: what every viewer should get.
    let mut reference: Option<f64> = None;
    for &n in &sizes {
        let started = Instant::now();
        let mut step = LiveStep {
            viewers: n,
            cpus: crate::media::cpu_count(),
            ..LiveStep::default()
        };
        match add_viewers(addr, &live_id, &mut viewers, n, &stop_rx).await {
            Ok(()) => {}
            Err(e) => {
                step.problems.push(format!("{e:#}"));
                progress(&format!("live n={n}: {e:#}"));
                steps.push(step);
                break;
            }
        }
        // Every viewer decodes the stream (bounded).
        let deadline = Instant::now() + READY_BASE + Duration::from_millis(50) * n;
        while Instant::now() < deadline
            && !viewers
                .iter()
                .all(|v| v.counters.keyframe.load(Ordering::Relaxed))
        {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        step.join_s = started.elapsed().as_secs_f64();
        let without = viewers
            .iter()
            .filter(|v| !v.counters.keyframe.load(Ordering::Relaxed))
            .count();
        if without > 0 {
            step.problems
                .push(format!("{without} viewers got no keyframe"));
        }
        progress(&format!(
            "live: {n} viewers in after {:.1} s ({without} without a keyframe)",
            step.join_s
        ));
        tokio::time::sleep(media::SETTLE).await;
        let me = std::process::id();
        let snapshot = |viewers: &[Viewer]| -> Vec<(u64, u64, u64)> {
            viewers
                .iter()
                .map(|v| {
                    (
                        v.counters.audio_packets.load(Ordering::Relaxed),
                        v.counters.video_packets.load(Ordering::Relaxed),
                        v.counters.lost.load(Ordering::Relaxed),
                    )
                })
                .collect()
        };
        let drops0 = crate::record::udp_drops(pid);
        let (cpu0, eg0, b0, t0, c0) = (
            cpu_seconds(pid)?,
            threads_cpu_seconds(pid, "egress").0,
            cpu_seconds(me)?,
            Instant::now(),
            snapshot(&viewers),
        );
        tokio::time::sleep(cli.window).await;
        let (cpu1, eg1, b1, t1, c1) = (
            cpu_seconds(pid)?,
            threads_cpu_seconds(pid, "egress").0,
            cpu_seconds(me)?,
            Instant::now(),
            snapshot(&viewers),
        );
        step.window_s = (t1 - t0).as_secs_f64();
        step.server_cpu_s = cpu1 - cpu0;
        step.egress_cpu_s = eg1 - eg0;
        step.bots_cpu_s = b1 - b0;
        for (a, b) in c0.iter().zip(&c1) {
            let (audio, video) = (b.0 - a.0, b.1 - a.1);
            step.packets += audio + video;
            step.lost += b.2 - a.2;
            if audio == 0 || video == 0 {
                step.dead += 1;
            }
        }
        step.rss_after_kb = rss_kb(pid)?;
        step.udp_drops = crate::record::udp_drops(pid).saturating_sub(drops0);
        let failed = viewers
            .iter()
            .filter(|v| v.counters.failed.load(Ordering::Relaxed))
            .count();
        if failed > 0 {
            step.problems
                .push(format!("{failed} viewers' connections failed"));
        }
        let reference = *reference.get_or_insert(step.per_viewer_rate());
        progress(&format!(
            "live n={n}: server {:.1} % of one core (egress {:.1} %), {:.0} packets/s ({:.1} per viewer, {:.2} % short), {:.2} % loss, {} dead; holds: {}",
            step.cpu_percent(),
            step.egress_cpu_s * 100.0 / step.window_s,
            step.packets as f64 / step.window_s,
            step.per_viewer_rate(),
            step.shortfall_percent(reference),
            step.loss_percent(),
            step.dead,
            step.holds(reference)
        ));
        let holds = step.holds(reference);
        steps.push(step);
        if !holds {
            progress("this size does not hold: no larger size is tried");
            break;
        }
    }
    let _ = stop_tx.send(true);
    for v in viewers {
        let abort = v.task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), v.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
    stop_bots(bots).await;
    server.ensure_running()?;
    let warnings: Vec<Value> = log_lines(server.log_path())
        .into_iter()
        .filter(|l| l["level"] == "ERROR" || l["level"] == "WARN")
        .collect();
    server.stop()?;
    let reference = reference.unwrap_or(0.0);
    print!(
        "{}",
        markdown(cli, &steps, rss_before, &warnings, reference)
    );
    if cli.json {
        for s in &steps {
            println!("{}", s.json(reference));
        }
    }
    Ok(steps.iter().all(|s| s.window_s > 0.0))
}

/// The meeting's `live_url`, wherever the detail puts it.
fn find_live_url(v: &Value) -> Option<String> {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(url)) = map.get("live_url")
                && !url.is_empty()
            {
                return Some(url.clone());
            }
            map.values().find_map(find_live_url)
        }
        Value::Array(list) => list.iter().find_map(find_live_url),
        _ => None,
    }
}

/// Adds viewers until there are `n`, at most [`VIEWER_CONCURRENCY`] negotiating at once.
async fn add_viewers(
    addr: SocketAddr,
    live_id: &str,
    viewers: &mut Vec<Viewer>,
    n: u32,
    stop: &watch::Receiver<bool>,
) -> Result<()> {
    let first = viewers.len() as u32;
    let gate = Arc::new(tokio::sync::Semaphore::new(VIEWER_CONCURRENCY));
    let mut set = tokio::task::JoinSet::new();
    for i in first..n {
        let (gate, live_id, stop) = (gate.clone(), live_id.to_owned(), stop.clone());
        set.spawn(async move {
            let _permit = gate.acquire_owned().await?;
            let from = IpAddr::V4(Ipv4Addr::new(
                127,
                0,
                0,
                2 + (i / VIEWERS_PER_ADDRESS) as u8,
            ));
            tokio::time::timeout(OFFER_LIMIT, viewer(addr, from, &live_id, stop))
                .await
                .map_err(|_| anyhow!("viewer {i}: no answer within {OFFER_LIMIT:?}"))?
                .with_context(|| format!("viewer {i}"))
        });
    }
    while let Some(done) = set.join_next().await {
        viewers.push(done.map_err(|e| anyhow!("a viewer task failed: {e}"))??);
    }
    Ok(())
}

/// One WHEP viewer: offers, posts, and receives until `stop`.
async fn viewer(
    addr: SocketAddr,
    from: IpAddr,
    live_id: &str,
    mut stop: watch::Receiver<bool>,
) -> Result<Viewer> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let local = socket.local_addr()?;
    let now = Instant::now();
    let mut rtc: Rtc = RtcConfig::new()
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .build(now);
    rtc.add_local_candidate(
        Candidate::host(local, "udp").map_err(|e| anyhow!("host candidate {local}: {e}"))?,
    );
    let mut change = rtc.sdp_api();
    let audio_mid = change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    let video_mid = change.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    let (offer, pending) = change.apply().context("no offer")?;
    let answer = whep_post(addr, from, live_id, offer.to_sdp_string()).await?;
    let answer = SdpAnswer::from_sdp_string(&answer).context("the answer does not parse")?;
    rtc.sdp_api()
        .accept_answer(pending, answer)
        .context("the answer is refused")?;
    let counters = Arc::new(Counters::default());
    let c = counters.clone();
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; DATAGRAM_BYTES];
        let mut last_seq: [Option<u64>; 2] = [None, None];
        loop {
            // Drain to the next timeout.
            let timeout = loop {
                match rtc.poll_output() {
                    Ok(Output::Timeout(t)) => break t,
                    Ok(Output::Transmit(t)) => {
                        let _ = socket.try_send_to(&t.contents, t.destination);
                    }
                    Ok(Output::Event(Event::MediaData(data))) => {
                        let slot = usize::from(data.mid == video_mid);
                        if data.mid != audio_mid && data.mid != video_mid {
                            continue;
                        }
                        let first: u64 = **data.seq_range.start();
                        let last: u64 = **data.seq_range.end();
                        if let Some(previous) = last_seq[slot]
                            && first > previous + 1
                        {
                            c.lost.fetch_add(first - previous - 1, Ordering::Relaxed);
                        }
                        last_seq[slot] = Some(last_seq[slot].map_or(last, |p| p.max(last)));
                        let packets = last.saturating_sub(first) + 1;
                        if slot == 1 {
                            c.video_packets.fetch_add(packets, Ordering::Relaxed);
                            if data.is_keyframe() {
                                c.keyframe.store(true, Ordering::Relaxed);
                            }
                        } else {
                            c.audio_packets.fetch_add(packets, Ordering::Relaxed);
                        }
                    }
                    Ok(Output::Event(_)) => {}
                    Err(e) => {
                        media::verbose(&format!("viewer: {e}"));
                        c.failed.store(true, Ordering::Relaxed);
                        return;
                    }
                }
            };
            let wake = timeout.min(Instant::now() + IDLE_WAKE);
            let input = tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                r = socket.recv_from(&mut buf) => r.ok(),
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => None,
            };
            let now = Instant::now();
            let handled = match input {
                Some((len, source)) => {
                    match Receive::new(Protocol::Udp, source, local, &buf[..len]) {
                        Ok(receive) => rtc.handle_input(Input::Receive(now, receive)),
                        Err(_) => Ok(()),
                    }
                }
                None => rtc.handle_input(Input::Timeout(now)),
            };
            if let Err(e) = handled {
                media::verbose(&format!("viewer: {e}"));
                c.failed.store(true, Ordering::Relaxed);
                return;
            }
        }
    });
    Ok(Viewer { counters, task })
}

/// `POST /live/{live_id}/whep` with the offer, over a connection from `from`; the answer.
async fn whep_post(addr: SocketAddr, from: IpAddr, live_id: &str, offer: String) -> Result<String> {
    let socket = TcpSocket::new_v4()?;
    socket
        .bind(SocketAddr::new(from, 0))
        .with_context(|| format!("binding {from}"))?;
    let stream = socket
        .connect(addr)
        .await
        .with_context(|| format!("connecting to {addr} from {from}"))?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP/1 handshake")?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/live/{live_id}/whep"))
        .header(HOST, addr.to_string())
        .header(CONTENT_TYPE, "application/sdp")
        .body(Full::new(Bytes::from(offer)))?;
    let response = sender.send_request(request).await.context("WHEP POST")?;
    let status = response.status();
    let location = response.headers().get(LOCATION).cloned();
    let body = response.into_body().collect().await?.to_bytes();
    let text = String::from_utf8_lossy(&body).into_owned();
    if status.as_u16() != 201 || location.is_none() {
        bail!(
            "WHEP POST: {status} (Location: {location:?}): {}",
            crate::client::snippet(&body)
        );
    }
    Ok(text)
}

fn markdown(
    cli: &MediaCli,
    steps: &[LiveStep],
    rss_before: u64,
    warnings: &[Value],
    reference: f64,
) -> String {
    let machine = Machine::detect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## plenum-bench media: live (one meeting of {PUBLISHERS} bots publishing audio + video, its live stream to N WHEP viewers)\n"
    );
    let _ = writeln!(
        out,
        "Machine: {} CPUs ({}; this process may use {}), {}; window {:?}; server pinned to CPU {}; bots and viewers on {} thread(s); server VmRSS before the bots: {rss_before} kB.\n",
        crate::media::cpu_count(),
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
        "| viewers | server CPU % of one core | % of the machine | egress thread CPU % | bots + viewers CPU % | packets/s to viewers (per viewer) | short of the first step's rate % | loss % | dead viewers | server UDP receive drops | RSS kB | holds |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|");
    for s in steps {
        if s.window_s == 0.0 {
            let _ = writeln!(
                out,
                "| {} | not measured: {} |",
                s.viewers,
                s.problems.join("; ")
            );
            continue;
        }
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.1} | {:.1} | {:.0} | {:.0} ({:.1}) | {:.2} | {:.2} | {} | {} | {} | {} |",
            s.viewers,
            s.cpu_percent(),
            s.cpu_percent() / s.cpus.max(1) as f64,
            s.egress_cpu_s * 100.0 / s.window_s,
            s.bots_cpu_s * 100.0 / s.window_s,
            s.packets as f64 / s.window_s,
            s.per_viewer_rate(),
            s.shortfall_percent(reference),
            s.loss_percent(),
            s.dead,
            s.udp_drops,
            s.rss_after_kb,
            if s.holds(reference) { "yes" } else { "no" }
        );
    }
    let _ = writeln!(out);
    let held = steps
        .iter()
        .filter(|s| s.holds(reference))
        .max_by_key(|s| s.viewers);
    let _ = writeln!(
        out,
        "- most WHEP viewers held (< 1 % loss: sequence gaps, and each viewer's packet rate within 1 % of the first step's; none dead): {}",
        held.map_or_else(
            || "none of the sizes".to_owned(),
            |s| format!(
                "{} (server {:.1} % of one core)",
                s.viewers,
                s.cpu_percent()
            )
        )
    );
    for s in steps.iter().filter(|s| !s.problems.is_empty()) {
        let _ = writeln!(
            out,
            "- n={}: problems: {}",
            s.viewers,
            s.problems.join("; ")
        );
    }
    for w in warnings.iter().take(5) {
        let _ = writeln!(
            out,
            "- server {}: {}",
            w["level"].as_str().unwrap_or_default(),
            w["message"].as_str().unwrap_or_default()
        );
    }
    out
}

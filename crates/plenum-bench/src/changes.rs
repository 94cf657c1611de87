//! `history-mixed --changing-rate N`: while the mix runs, the data of the measured company
//! changes at a steady rate through the real server, as in a busy company. Each *cycle* holds
//! one short meeting in a room of the admin's: two [`plenum_client::Participant`]s connect and
//! join (the session starts, their stays are written), the admin starts and stops a recording
//! (`POST`/`DELETE /api/v1/meeting/{n}/recording`: a recording row is made, then completed),
//! and both leave (two stays end, the meeting ends). That is four changes a history list can
//! see — two stays written, a meeting ended, a recording completed — so cycles start every
//! `4 / N` seconds. Cycles run in their own rooms, at most [`MAX_IN_FLIGHT`] at once; every
//! wait is bounded.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use hyper::Method;
use hyper::header::AUTHORIZATION;
use plenum_client::{Ignore, JoinRequest, Participant};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinSet;

use crate::client::{self, Endpoint};
use crate::scenario::ROOM_PASSWORD;

/// Changes one cycle makes (two stays written, a meeting ended, a recording completed).
pub const CHANGES_PER_CYCLE: f64 = 4.0;
/// Cycles at once (and rooms made for them).
const MAX_IN_FLIGHT: usize = 16;
/// How long one call of a cycle may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the recording runs before it is stopped.
const RECORDING_HELD: Duration = Duration::from_millis(300);
/// Upper bound on cycles in one run (the deadline ends it long before).
const MAX_CYCLES: u64 = 1_000_000;

/// What the changes achieved.
#[derive(Debug, Clone, Default)]
pub struct ChangeFigures {
    /// Changes asked for, per second.
    pub rate: f64,
    pub cycles: u64,
    pub stays_written: u64,
    pub meetings_ended: u64,
    pub recordings_completed: u64,
    pub failed_cycles: u64,
    pub first_failure: Option<String>,
    /// Cycles not started because all rooms were busy.
    pub skipped: u64,
    pub elapsed: Duration,
}

impl ChangeFigures {
    pub fn changes(&self) -> u64 {
        self.stays_written + self.meetings_ended + self.recordings_completed
    }

    pub fn achieved_per_s(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.changes() as f64 / secs
        } else {
            0.0
        }
    }

    pub fn summary(&self) -> String {
        let mut text = format!(
            "{:.1} changes/s achieved of {:.1} asked ({} in {:.1} s: {} stays written, {} meetings ended, {} recordings completed; {} cycles, {} failed, {} not started for lack of a free room)",
            self.achieved_per_s(),
            self.rate,
            self.changes(),
            self.elapsed.as_secs_f64(),
            self.stays_written,
            self.meetings_ended,
            self.recordings_completed,
            self.cycles,
            self.failed_cycles,
            self.skipped,
        );
        if let Some(first) = &self.first_failure {
            text.push_str(&format!("; first failure: {first}"));
        }
        text
    }
}

/// Meeting number of the first room the changes run in.
const FIRST_ROOM: u64 = 881_000_000;

/// Makes the rooms the changes run in (before the load; not measured). A data directory
/// served before keeps the rooms an earlier run made (`meeting_number_taken`): they are used
/// again.
pub async fn rooms(addr: SocketAddr, token: &str) -> Result<Vec<String>> {
    let mut rooms = Vec::with_capacity(MAX_IN_FLIGHT);
    for i in 0..MAX_IN_FLIGHT as u64 {
        let number = (FIRST_ROOM + i).to_string();
        let request = Endpoint::new(addr, Method::POST, "/api/v1/meeting_room")?
            .header(AUTHORIZATION, &format!("Bearer {token}"))?
            .json_body(
                &serde_json::json!({"meetingroom_name": format!("Changing room {i}"),
                "meeting_number": number, "meeting_password": ROOM_PASSWORD}),
            )?;
        let (status, body) = client::send_once(addr, &request, CALL_TIMEOUT).await?;
        let taken = String::from_utf8_lossy(&body).contains("meeting_number_taken");
        if !status.is_success() && !taken {
            return Err(anyhow!(
                "creating room {number}: {status}: {}",
                client::snippet(&body)
            ));
        }
        rooms.push(number);
    }
    Ok(rooms)
}

/// What one cycle did.
#[derive(Debug, Default)]
struct Cycle {
    stays: u64,
    ended: u64,
    recordings: u64,
}

async fn api(addr: SocketAddr, method: Method, path: &str, token: &str) -> Result<()> {
    let endpoint =
        Endpoint::new(addr, method, path)?.header(AUTHORIZATION, &format!("Bearer {token}"))?;
    let (status, body) = client::send_once(addr, &endpoint, CALL_TIMEOUT).await?;
    if !status.is_success() {
        return Err(anyhow!(
            "{} answered {status}: {}",
            endpoint.label,
            client::snippet(&body)
        ));
    }
    Ok(())
}

async fn cycle(addr: SocketAddr, token: &str, room: &str, n: u64) -> Result<Cycle> {
    let url = plenum_client::live_url(&format!("http://{addr}"))?;
    let mut people = Vec::with_capacity(2);
    for i in 0..2 {
        let mut p = Participant::connect(&url, None).await?;
        let request = JoinRequest {
            meeting_number: room.to_owned(),
            password: Some(ROOM_PASSWORD.to_owned()),
            display_name: format!("Changer {n}-{i}"),
            device_type: "bot".to_owned(),
            media_type: "audio".to_owned(),
        };
        p.join(&request, &mut Ignore)
            .await
            .map_err(|e| anyhow!("join: {e:?}"))?;
        people.push(p);
    }
    let mut done = Cycle::default();
    let path = format!("/api/v1/meeting/{room}/recording");
    let recorded = async {
        api(addr, Method::POST, &path, token).await?;
        tokio::time::sleep(RECORDING_HELD).await;
        api(addr, Method::DELETE, &path, token).await
    }
    .await;
    if recorded.is_ok() {
        done.recordings = 1;
    }
    for mut p in people {
        let (_ending, _why) = p.leave(&mut Ignore).await;
        done.stays += 1;
    }
    done.ended = 1;
    recorded.map(|()| done)
}

/// Runs cycles at `rate` changes per second until `stop` turns true (or `limit` passes).
pub async fn run(
    addr: SocketAddr,
    token: String,
    rooms: Vec<String>,
    rate: f64,
    mut stop: watch::Receiver<bool>,
    limit: Duration,
) -> ChangeFigures {
    let figures = Arc::new(Mutex::new(ChangeFigures {
        rate,
        ..ChangeFigures::default()
    }));
    let free = Arc::new(Mutex::new(rooms));
    let token: Arc<str> = token.into();
    let mut tasks = JoinSet::new();
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(CHANGES_PER_CYCLE / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for n in 0..MAX_CYCLES {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        if started.elapsed() > limit {
            break;
        }
        while tasks.try_join_next().is_some() {}
        let Some(room) = free.lock().await.pop() else {
            figures.lock().await.skipped += 1;
            continue;
        };
        let (free, figures, token) = (free.clone(), figures.clone(), token.clone());
        tasks.spawn(async move {
            let outcome =
                tokio::time::timeout(CALL_TIMEOUT * 4, cycle(addr, &token, &room, n)).await;
            let mut f = figures.lock().await;
            f.cycles += 1;
            match outcome {
                Ok(Ok(done)) => {
                    f.stays_written += done.stays;
                    f.meetings_ended += done.ended;
                    f.recordings_completed += done.recordings;
                }
                Ok(Err(e)) => {
                    f.failed_cycles += 1;
                    f.first_failure.get_or_insert_with(|| format!("{e:#}"));
                }
                Err(_) => {
                    f.failed_cycles += 1;
                    f.first_failure
                        .get_or_insert_with(|| "a cycle did not finish in time".to_owned());
                }
            }
            drop(f);
            free.lock().await.push(room);
        });
    }
    let _ = tokio::time::timeout(CALL_TIMEOUT * 5, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    let mut f = figures.lock().await.clone();
    f.elapsed = started.elapsed();
    f
}

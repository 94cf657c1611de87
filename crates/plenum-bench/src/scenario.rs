//! The scenarios the harness can run. Each one names a target endpoint and prepares the
//! request for it against a freshly started server (signing in, seeding data, ...). The static
//! baseline, `GET /healthz`, is the same for every scenario.
//!
//! Adding a scenario: add a variant to [`Scenario`] (its kebab-case name becomes the
//! `--scenario` value), describe it in [`Scenario::description`], and build its request in
//! [`Scenario::prepare`]. Seeding that takes long belongs in `prepare` too: it runs before the
//! warm-up and is not measured.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::ValueEnum;
use hyper::Method;
use hyper::header::AUTHORIZATION;
use serde_json::json;

use crate::client::{self, Endpoint};

/// How long one setup request (sign-in, seeding call) may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The user the server creates on first start.
pub const ADMIN_USERNAME: &str = "admin";

/// The password of the rooms the live scenarios create and join.
pub(crate) const ROOM_PASSWORD: &str = "4242";

/// A benchmark scenario: which endpoint is measured against the static baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// `POST /api/v1/user/info` with the admin's bearer token: token check plus one user read.
    UserInfo,
    /// `GET /api/openapi.json`: a document of ~80 KB rendered once at start. What sending a
    /// large answer costs with no work to build it: the bound for the large history answers.
    ApiDocument,
    /// 100,000 scheduled meetings; `GET /api/v1/meeting_schedule` filtered on one meeting
    /// codename (~50 matches), first page of 20, as a SystemAdmin (the whole company).
    ScheduleList,
    /// The same list filtered on a topic word that ~4 % of meetings have (~4,000 matches).
    ScheduleListBroad,
    /// The same list unfiltered, page 2,000 of 20 (offset 40,000).
    ScheduleListDeep,
    /// 100,000 scheduled meetings; `GET /api/v1/meeting_schedule/{reservation_id}`.
    ScheduleDetail,
    /// Live: a join storm of --participants (default 5,000) over --rooms (default 500) rooms;
    /// joins/s and join latency. No baseline.
    LiveJoinStorm,
    /// Live: --participants (default 10,000) connected and idle; the server's VmRSS.
    LiveIdle,
    /// Live: `mute_all` in one room of --participants (default 500); latency to every client.
    LiveMuteAll,
    // The history surfaces, over a `dev generate-history` directory (`--data-dir`).
    /// Rokid meeting history, first page of 10.
    RokidHistory,
    /// Rokid meeting history, page 400 of 20 (offset 7,980).
    RokidHistoryDeep,
    /// Rokid meeting history filtered on a meeting codename (~0.05 %).
    RokidHistoryName,
    /// Rokid meeting history in a one-day window.
    RokidHistoryWindow,
    /// Rokid meeting history in a window holding every meeting (the largest total).
    RokidHistoryBroad,
    /// Rokid participants of one meeting (stays and absent invitees).
    RokidParticipants,
    /// Rocket.Chat calls of one room, first 50.
    RocketchatList,
    /// Rocket.Chat calls of one room, offset 50.
    RocketchatListDeep,
    /// Telnyx recordings, first page of 20.
    TelnyxList,
    /// Telnyx recordings, page 400 of 20.
    TelnyxListDeep,
    /// Telnyx recordings started on one UTC day.
    TelnyxDateStarted,
    /// Telnyx recordings ended on or after one UTC day.
    TelnyxDateEnded,
    /// Telnyx recordings of one room.
    TelnyxRoom,
    /// Telnyx recordings of one participant.
    TelnyxParticipant,
    /// Telnyx recordings of one session.
    TelnyxSession,
    /// Telnyx recordings still processing.
    TelnyxStatus,
    /// Telnyx audio recordings.
    TelnyxType,
    /// Telnyx recordings of at least an hour.
    TelnyxDuration,
    /// Telnyx completed recordings (the largest total of any filter).
    TelnyxBroad,
    /// Huawei attendee records of one meeting.
    HuaweiRecords,
    /// Huawei attendee records of one meeting, searched by name.
    HuaweiSearch,
    /// Issue 18: a seeded random mix of the four surfaces' list calls, every request
    /// different (`--seed`; `--changing-rate` changes the data meanwhile). See `mixed.rs`.
    HistoryMixed,
}

/// Meetings generated for the scheduling scenarios.
const GENERATED_SCHEDULES: &str = "100000";

/// What a scenario gets to prepare its target request.
#[derive(Debug)]
pub struct SetupContext<'a> {
    /// Where the server listens.
    pub addr: SocketAddr,
    /// Password of the `admin` user the server created on first start.
    pub admin_password: &'a str,
    /// The server's (fresh, temporary) data directory.
    #[expect(
        dead_code,
        reason = "seeding happens offline before start (`Scenario::seed`); kept for scenarios that inspect files"
    )]
    pub data_dir: &'a Path,
}

impl Scenario {
    /// Whether this is a live-meeting scenario (no baseline; see `live.rs`).
    pub fn is_live(self) -> bool {
        matches!(
            self,
            Self::LiveJoinStorm | Self::LiveIdle | Self::LiveMuteAll
        )
    }

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::UserInfo => "user-info",
            Self::ApiDocument => "api-document",
            Self::ScheduleList => "schedule-list",
            Self::ScheduleListBroad => "schedule-list-broad",
            Self::ScheduleListDeep => "schedule-list-deep",
            Self::ScheduleDetail => "schedule-detail",
            Self::LiveJoinStorm => "live-join-storm",
            Self::LiveIdle => "live-idle",
            Self::LiveMuteAll => "live-mute-all",
            other => other.history_name(),
        }
    }

    fn history_name(self) -> &'static str {
        match self {
            Self::RokidHistory => "rokid-history",
            Self::RokidHistoryDeep => "rokid-history-deep",
            Self::RokidHistoryName => "rokid-history-name",
            Self::RokidHistoryWindow => "rokid-history-window",
            Self::RokidHistoryBroad => "rokid-history-broad",
            Self::RokidParticipants => "rokid-participants",
            Self::RocketchatList => "rocketchat-list",
            Self::RocketchatListDeep => "rocketchat-list-deep",
            Self::TelnyxList => "telnyx-list",
            Self::TelnyxListDeep => "telnyx-list-deep",
            Self::TelnyxDateStarted => "telnyx-date-started",
            Self::TelnyxDateEnded => "telnyx-date-ended",
            Self::TelnyxRoom => "telnyx-room",
            Self::TelnyxParticipant => "telnyx-participant",
            Self::TelnyxSession => "telnyx-session",
            Self::TelnyxStatus => "telnyx-status",
            Self::TelnyxType => "telnyx-type",
            Self::TelnyxDuration => "telnyx-duration",
            Self::TelnyxBroad => "telnyx-broad",
            Self::HuaweiRecords => "huawei-records",
            Self::HuaweiSearch => "huawei-search",
            Self::HistoryMixed => "history-mixed",
            _ => "",
        }
    }

    /// Whether the scenario reads the history data set (run with `--data-dir`).
    pub fn is_history(self) -> bool {
        !self.history_name().is_empty()
    }

    /// Extra `plenum serve` arguments the scenario needs.
    pub fn server_args(self) -> Vec<String> {
        match self {
            // 32 connections of one user would be over Rocket.Chat's 3 per second at once.
            Self::RocketchatList | Self::RocketchatListDeep | Self::HistoryMixed => {
                vec![
                    "--rocketchat-rate-limit".to_owned(),
                    "1000000000".to_owned(),
                ]
            }
            _ => Vec::new(),
        }
    }

    /// The offline command that seeds the data directory before the server starts.
    pub fn seed(self) -> Option<Vec<String>> {
        match self {
            Self::UserInfo
            | Self::ApiDocument
            | Self::LiveJoinStorm
            | Self::LiveIdle
            | Self::LiveMuteAll => None,
            Self::ScheduleList
            | Self::ScheduleListBroad
            | Self::ScheduleListDeep
            | Self::ScheduleDetail => Some(
                [
                    "dev",
                    "generate",
                    "--schedules",
                    GENERATED_SCHEDULES,
                    "--users",
                    "50",
                    "--seed",
                    "1",
                ]
                .map(str::to_owned)
                .to_vec(),
            ),
            // The history data set is too large to make per run: prepared once, see
            // `--data-dir`.
            _ => None,
        }
    }

    /// One line saying what is measured.
    pub fn description(self) -> &'static str {
        match self {
            Self::UserInfo => {
                "POST /api/v1/user/info with `Authorization: Bearer <admin user_token>`"
            }
            Self::ScheduleList => {
                "GET /api/v1/meeting_schedule?page_num=1&page_size=20&filter=Orion-0420 over 100,000 meetings (SystemAdmin)"
            }
            Self::ScheduleListBroad => {
                "GET /api/v1/meeting_schedule?page_num=1&page_size=20&filter=budget over 100,000 meetings (SystemAdmin)"
            }
            Self::ScheduleListDeep => {
                "GET /api/v1/meeting_schedule?page_num=2000&page_size=20 over 100,000 meetings (SystemAdmin)"
            }
            Self::ScheduleDetail => {
                "GET /api/v1/meeting_schedule/{reservation_id} over 100,000 meetings (SystemAdmin)"
            }
            Self::ApiDocument => "GET /api/openapi.json (~80 KB, rendered once at start)",
            Self::LiveJoinStorm => "participants connect and join rooms over /api/v1/live",
            Self::LiveIdle => "participants connected, joined and idle (heartbeats only)",
            Self::LiveMuteAll => "POST /api/v1/meeting/{n}/mute_all in one room",
            Self::RokidHistory => "POST rokid meeting/info/page, page 1 of 10",
            Self::RokidHistoryDeep => "POST rokid meeting/info/page, page 400 of 20",
            Self::RokidHistoryName => "POST rokid meeting/info/page, meetingName=Orion-0420",
            Self::RokidHistoryWindow => {
                "POST rokid meeting/info/page, a one-day startTime/endTime window"
            }
            Self::RokidHistoryBroad => {
                "POST rokid meeting/info/page, a window holding every meeting"
            }
            Self::RokidParticipants => "GET rokid meeting/record/list?id=<meetingId>",
            Self::RocketchatList => "GET /api/v1/video-conference.list?roomId=<room>",
            Self::RocketchatListDeep => {
                "GET /api/v1/video-conference.list?roomId=<room>&offset=50&count=50"
            }
            Self::TelnyxList => "GET /v2/room_recordings",
            Self::TelnyxListDeep => "GET /v2/room_recordings?page[size]=20&page[number]=400",
            Self::TelnyxDateStarted => "GET /v2/room_recordings?filter[date_started_at][eq]=<day>",
            Self::TelnyxDateEnded => "GET /v2/room_recordings?filter[date_ended_at][gte]=<day>",
            Self::TelnyxRoom => "GET /v2/room_recordings?filter[room_id]=<room>",
            Self::TelnyxParticipant => "GET /v2/room_recordings?filter[participant_id]=<stay>",
            Self::TelnyxSession => "GET /v2/room_recordings?filter[session_id]=<session>",
            Self::TelnyxStatus => "GET /v2/room_recordings?filter[status]=processing",
            Self::TelnyxType => "GET /v2/room_recordings?filter[type]=audio",
            Self::TelnyxDuration => "GET /v2/room_recordings?filter[duration_secs][gte]=3600",
            Self::TelnyxBroad => "GET /v2/room_recordings?filter[status]=completed",
            Self::HuaweiRecords => "GET confAttendeeRecord?confUUID=<session>",
            Self::HuaweiSearch => "GET confAttendeeRecord?confUUID=<session>&searchKey=person",
            Self::HistoryMixed => {
                "a seeded mix, every request different: Rokid history (pages, day windows, names) 25 % and participants 10 %, Telnyx recordings (pages, every filter kind and combinations) 35 %, Huawei attendee records (offsets, search keys) 15 %, Rocket.Chat calls (offsets) 15 %"
            }
        }
    }

    /// Prepares the target request against a running server. Not measured. History
    /// scenarios are prepared by `history::prepare` (main.rs chooses).
    pub async fn prepare(self, ctx: &SetupContext<'_>) -> Result<Endpoint> {
        match self {
            Self::LiveJoinStorm | Self::LiveIdle | Self::LiveMuteAll => {
                bail!(
                    "{} is a live scenario: it has no endpoint to load",
                    self.name()
                )
            }
            Self::ApiDocument => Endpoint::new(ctx.addr, Method::GET, "/api/openapi.json"),
            Self::UserInfo => {
                let token = sign_in(ctx.addr, ADMIN_USERNAME, ctx.admin_password).await?;
                Endpoint::new(ctx.addr, Method::POST, "/api/v1/user/info")?
                    .header(AUTHORIZATION, &format!("Bearer {token}"))
            }
            Self::ScheduleList | Self::ScheduleListBroad | Self::ScheduleListDeep => {
                let token = sign_in(ctx.addr, ADMIN_USERNAME, ctx.admin_password).await?;
                let path = match self {
                    Self::ScheduleList => {
                        "/api/v1/meeting_schedule?page_num=1&page_size=20&filter=Orion-0420"
                    }
                    Self::ScheduleListBroad => {
                        "/api/v1/meeting_schedule?page_num=1&page_size=20&filter=budget"
                    }
                    _ => "/api/v1/meeting_schedule?page_num=2000&page_size=20",
                };
                Endpoint::new(ctx.addr, Method::GET, path)?
                    .header(AUTHORIZATION, &format!("Bearer {token}"))
            }
            Self::ScheduleDetail => {
                let token = sign_in(ctx.addr, ADMIN_USERNAME, ctx.admin_password).await?;
                let auth = format!("Bearer {token}");
                // A meeting from the middle of the generated year.
                let list = Endpoint::new(
                    ctx.addr,
                    Method::GET,
                    "/api/v1/meeting_schedule?page_num=2500&page_size=20",
                )?
                .header(AUTHORIZATION, &auth)?;
                let (status, body) = client::send_once(ctx.addr, &list, SETUP_TIMEOUT)
                    .await
                    .context("listing meetings")?;
                if !status.is_success() {
                    bail!(
                        "listing meetings answered {status}: {}",
                        client::snippet(&body)
                    );
                }
                let value: serde_json::Value =
                    serde_json::from_slice(&body).context("list is not JSON")?;
                let id = value["scheduled_meetings"][0]["reservation_id"]
                    .as_str()
                    .context("the list has no reservation_id")?
                    .to_owned();
                Endpoint::new(
                    ctx.addr,
                    Method::GET,
                    &format!("/api/v1/meeting_schedule/{id}"),
                )?
                .header(AUTHORIZATION, &auth)
            }
            history => bail!("{} is prepared by the history module", history.name()),
        }
    }
}

/// The static baseline endpoint: the cheapest route the same binary serves.
pub fn baseline(addr: SocketAddr) -> Result<Endpoint> {
    Endpoint::new(addr, Method::GET, "/healthz")
}

/// Signs in and returns the `user_token`.
pub async fn sign_in(addr: SocketAddr, username: &str, password: &str) -> Result<String> {
    let request = Endpoint::new(addr, Method::POST, "/api/v1/user/sign_in")?
        .json_body(&json!({ "username": username, "password": password }))?;
    let (status, body) = client::send_once(addr, &request, SETUP_TIMEOUT)
        .await
        .context("signing in")?;
    if !status.is_success() {
        bail!(
            "sign-in as {username:?} answered {status}: {}",
            client::snippet(&body)
        );
    }
    let value: serde_json::Value = serde_json::from_slice(&body)
        .with_context(|| format!("sign-in answer is not JSON: {}", client::snippet(&body)))?;
    match value.get("user_token").and_then(serde_json::Value::as_str) {
        Some(token) if !token.is_empty() => Ok(token.to_owned()),
        _ => bail!(
            "sign-in answer has no string \"user_token\": {}",
            client::snippet(&body)
        ),
    }
}

//! `history-mixed` (issue 18): a seeded random mix of the four vendor surfaces' list calls,
//! every request different — Rokid history (pages, day windows, names) and participants,
//! Telnyx recordings (pages, every filter kind and combinations of them), Huawei attendee
//! records (offsets, search keys) and Rocket.Chat calls (offsets). Pages are spread over the
//! whole range of each list and filters over the whole year of data; ids and names are drawn
//! from the data set itself, read once before the load (`discover`, not measured).
//!
//! The generator ([`MixStream`]) is pure: the same seed gives the same sequence of requests
//! (each load connection has its own stream, seeded from `--seed` and its index). A sample of
//! the answers is parsed and checked for its surface's shape ([`check`]).

use std::net::SocketAddr;

use anyhow::{Context as _, Result, bail};
use hyper::Method;
use hyper::header::{AUTHORIZATION, HeaderName};
use serde_json::{Value, json};

use crate::client::{self, Endpoint};
use crate::history::{Admin, admin_with_key, call};
use crate::scenario::SetupContext;

/// Pages of the whole recording list read to collect ids (spread over the list).
const DISCOVER_TELNYX_PAGES: u64 = 40;
/// Pages of the whole meeting list read to collect names.
const DISCOVER_ROKID_PAGES: u64 = 20;
/// Sessions whose attendee count is read (Huawei offsets), rooms whose call count is read.
const DISCOVER_SESSIONS: usize = 200;
const DISCOVER_ROOMS: usize = 60;
/// One answer in this many is parsed and checked.
pub const CHECK_EVERY: u64 = 8;

/// The kinds of request in the mix, each reported on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    RokidHistory,
    RokidParticipants,
    Telnyx,
    Huawei,
    RocketChat,
}

/// Every surface, in report order (the index is [`Surface::index`]).
pub const SURFACES: [Surface; 5] = [
    Surface::RokidHistory,
    Surface::RokidParticipants,
    Surface::Telnyx,
    Surface::Huawei,
    Surface::RocketChat,
];

impl Surface {
    pub fn name(self) -> &'static str {
        match self {
            Self::RokidHistory => "rokid history",
            Self::RokidParticipants => "rokid participants",
            Self::Telnyx => "telnyx recordings",
            Self::Huawei => "huawei attendee records",
            Self::RocketChat => "rocket.chat calls",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// Share of the mix, in percent (the weights sum to 100).
    fn weight(self) -> u64 {
        match self {
            Self::RokidHistory => 25,
            Self::RokidParticipants => 10,
            Self::Telnyx => 35,
            Self::Huawei => 15,
            Self::RocketChat => 15,
        }
    }
}

/// SplitMix64: small, seedable, good enough to spread requests.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Multiply-shift: unbiased enough for load shaping.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// What the mix draws from: the data set's ids, names, sizes and days.
#[derive(Debug, Clone)]
pub struct Pool {
    pub company: String,
    /// Sessions with their attendee (stay) count.
    pub sessions: Vec<(String, u64)>,
    /// Rooms with their call (session) count.
    pub rooms: Vec<(String, u64)>,
    /// Participant (stay) ids of per-participant recordings.
    pub participants: Vec<String>,
    /// Meeting names as listed.
    pub names: Vec<String>,
    /// Attendees' display names.
    pub attendees: Vec<String>,
    /// First and last day of data, days since 1970-01-01 (UTC).
    pub first_day: i64,
    pub last_day: i64,
    /// Meetings of the company (Rokid's unfiltered total).
    pub meetings: u64,
    /// Recordings of the company (Telnyx's unfiltered total).
    pub recordings: u64,
}

/// One request of the mix, before it is given credentials.
#[derive(Debug, Clone, PartialEq)]
pub struct MixRequest {
    pub surface: Surface,
    /// Path and query.
    pub path: String,
    /// Rokid history's JSON body.
    pub body: Option<Value>,
}

/// One connection's seeded sequence of requests.
#[derive(Debug, Clone)]
pub struct MixStream {
    rng: SplitMix,
}

const ROKID_PAGE: &str = "/ar/corporation/openapi/rtc/meeting/info/page";
const ROKID_PARTICIPANTS: &str = "/ar/corporation/openapi/rtc/meeting/record/list";
const HUAWEI_RECORDS: &str = "/v1/mmc/management/conferences/history/confAttendeeRecord";
const ROCKET_LIST: &str = "/api/v1/video-conference.list";
/// Generated recordings last 15 to 120 minutes (`dev generate-history`).
const DURATION_RANGE_SECS: (u64, u64) = (900, 7_200);

fn pages(total: u64, size: u64) -> u64 {
    total.div_ceil(size).max(1)
}

impl MixStream {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: SplitMix::new(seed),
        }
    }

    /// The next request of the sequence.
    pub fn next(&mut self, pool: &Pool) -> MixRequest {
        let mut roll = self.rng.below(100);
        let mut surface = Surface::RokidHistory;
        for s in SURFACES {
            if roll < s.weight() {
                surface = s;
                break;
            }
            roll -= s.weight();
        }
        match surface {
            Surface::RokidHistory => self.rokid_history(pool),
            Surface::RokidParticipants => {
                let (id, _) = self.rng.pick(&pool.sessions);
                MixRequest {
                    surface,
                    path: format!("{ROKID_PARTICIPANTS}?id={id}"),
                    body: None,
                }
            }
            Surface::Telnyx => self.telnyx(pool),
            Surface::Huawei => {
                let (id, count) = self.rng.pick(&pool.sessions);
                let limit = *self.rng.pick(&[20_u64, 20, 50]);
                let mut path = format!("{HUAWEI_RECORDS}?confUUID={id}&limit={limit}");
                if self.rng.percent(30) {
                    let name = self.rng.pick(&pool.attendees).clone();
                    path.push_str(&format!("&searchKey={}", encode(&self.fragment(&name))));
                } else {
                    let offset = self.rng.below(*count);
                    path.push_str(&format!("&offset={offset}"));
                }
                MixRequest {
                    surface,
                    path,
                    body: None,
                }
            }
            Surface::RocketChat => {
                let (room, total) = self.rng.pick(&pool.rooms);
                let count = *self.rng.pick(&[0_u64, 20, 50]);
                let offset = self.rng.below(*total);
                let mut path = format!("{ROCKET_LIST}?roomId={room}&offset={offset}");
                if count > 0 {
                    path.push_str(&format!("&count={count}"));
                }
                MixRequest {
                    surface,
                    path,
                    body: None,
                }
            }
        }
    }

    /// A part of a name to search for: the whole of it, or one of its words.
    fn fragment(&mut self, name: &str) -> String {
        let words: Vec<&str> = name.split_whitespace().collect();
        if words.is_empty() || self.rng.percent(40) {
            name.to_owned()
        } else {
            (*self.rng.pick(&words)).to_owned()
        }
    }

    fn day(&mut self, pool: &Pool) -> i64 {
        let span = u64::try_from(pool.last_day - pool.first_day).unwrap_or(0);
        pool.first_day + i64::try_from(self.rng.below(span + 1)).unwrap_or(0)
    }

    fn rokid_history(&mut self, pool: &Pool) -> MixRequest {
        let size = *self.rng.pick(&[10_u64, 10, 20, 50]);
        let mut body = json!({"companyId": pool.company, "pageSize": size});
        let mode = self.rng.below(4);
        let mut expected = pool.meetings;
        if mode == 1 || mode == 3 {
            let length = *self.rng.pick(&[1_i64, 1, 7, 30]);
            let start = self.day(pool);
            body["startTime"] = json!(format!("{} 00:00:00", civil(start)));
            body["endTime"] = json!(format!("{} 23:59:59", civil(start + length - 1)));
            let days = u64::try_from(pool.last_day - pool.first_day + 1).unwrap_or(1);
            expected = expected * u64::try_from(length).unwrap_or(1) / days.max(1);
        }
        if mode >= 2 {
            let name = self.rng.pick(&pool.names).clone();
            let fragment = self.fragment(&name);
            // A whole name or a codename is rare; a team or topic word is broad.
            expected = if fragment.contains('-') || fragment == name {
                1
            } else {
                expected / 10
            };
            body["meetingName"] = json!(fragment);
        }
        let page = self.rng.between(1, pages(expected, size));
        body["pageNum"] = json!(page);
        MixRequest {
            surface: Surface::RokidHistory,
            path: ROKID_PAGE.to_owned(),
            body: Some(body),
        }
    }

    fn telnyx(&mut self, pool: &Pool) -> MixRequest {
        let size = *self.rng.pick(&[20_u64, 20, 50, 100]);
        // 0 filters (a page anywhere in the whole list) to 3 of different kinds.
        let filters = *self.rng.pick(&[0_u64, 1, 1, 1, 2, 2, 3]);
        let mut kinds: Vec<u64> = Vec::new();
        while (kinds.len() as u64) < filters {
            let kind = self.rng.below(8);
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        let days = u64::try_from(pool.last_day - pool.first_day + 1)
            .unwrap_or(1)
            .max(1);
        // Expected matches, to spread the page over the filtered list's range.
        let mut expected = pool.recordings as f64;
        let mut query = Vec::new();
        for kind in kinds {
            match kind {
                0 | 1 => {
                    let field = if kind == 0 {
                        "date_started_at"
                    } else {
                        "date_ended_at"
                    };
                    let day = self.day(pool);
                    let before = (day - pool.first_day) as f64 / days as f64;
                    let (op, share) = match self.rng.below(3) {
                        0 => ("eq", 1.0 / days as f64),
                        1 => ("gte", 1.0 - before),
                        _ => ("lte", before),
                    };
                    expected *= share;
                    query.push(format!("filter[{field}][{op}]={}", civil(day)));
                }
                2 => {
                    let (room, _) = self.rng.pick(&pool.rooms);
                    expected /= pool.rooms.len().max(1) as f64;
                    query.push(format!("filter[room_id]={room}"));
                }
                3 => {
                    let id = self.rng.pick(&pool.participants);
                    expected = expected.min(1.0);
                    query.push(format!("filter[participant_id]={id}"));
                }
                4 => {
                    let (id, _) = self.rng.pick(&pool.sessions);
                    expected = expected.min(2.0);
                    query.push(format!("filter[session_id]={id}"));
                }
                5 => {
                    let status = *self.rng.pick(&["completed", "completed", "processing"]);
                    if status == "processing" {
                        expected = expected.min(10.0);
                    }
                    query.push(format!("filter[status]={status}"));
                }
                6 => {
                    let kind = *self.rng.pick(&["audio", "video"]);
                    expected /= 2.0;
                    query.push(format!("filter[type]={kind}"));
                }
                _ => {
                    let (lo, hi) = DURATION_RANGE_SECS;
                    let secs = self.rng.between(lo, hi);
                    let share = (hi - secs) as f64 / (hi - lo) as f64;
                    let (op, share) = match self.rng.below(4) {
                        0 => ("[eq]", 1.0 / (hi - lo) as f64),
                        1 => ("[gte]", share),
                        2 => ("", share),
                        _ => ("[lte]", 1.0 - share),
                    };
                    expected *= share;
                    query.push(format!("filter[duration_secs]{op}={secs}"));
                }
            }
        }
        let expected = expected.max(0.0).round() as u64;
        let page = self.rng.between(1, pages(expected, size));
        query.push(format!("page[size]={size}"));
        query.push(format!("page[number]={page}"));
        MixRequest {
            surface: Surface::Telnyx,
            path: format!("/v2/room_recordings?{}", query.join("&")),
            body: None,
        }
    }
}

/// Percent-encodes a query value (names hold spaces and `-`).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `YYYY-MM-DD` of `days` since 1970-01-01 (proleptic Gregorian; H. Hinnant's algorithm).
pub fn civil(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 of the `YYYY-MM-DD` that `text` starts with.
pub fn days_of(text: &str) -> Option<i64> {
    let y: i64 = text.get(0..4)?.parse().ok()?;
    let m: i64 = text.get(5..7)?.parse().ok()?;
    let d: i64 = text.get(8..10)?.parse().ok()?;
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// How each surface is called: the credentials `discover` obtained.
#[derive(Debug, Clone)]
pub struct Mix {
    pub pool: Pool,
    addr: SocketAddr,
    bearer_key: String,
    user_id: String,
    token: String,
    pub seed: u64,
}

impl Mix {
    /// The request, with the surface's credentials.
    pub fn endpoint(&self, request: &MixRequest) -> Result<Endpoint> {
        let method = if request.body.is_some() {
            Method::POST
        } else {
            Method::GET
        };
        let endpoint = Endpoint::new(self.addr, method, &request.path)?;
        let endpoint = match request.surface {
            Surface::RokidHistory | Surface::RokidParticipants | Surface::Telnyx => {
                endpoint.header(AUTHORIZATION, &self.bearer_key)?
            }
            Surface::Huawei => {
                endpoint.header(HeaderName::from_static("x-access-token"), &self.token)?
            }
            Surface::RocketChat => endpoint
                .header(HeaderName::from_static("x-user-id"), &self.user_id)?
                .header(HeaderName::from_static("x-auth-token"), &self.token)?,
        };
        match &request.body {
            Some(body) => endpoint.json_body(body),
            None => Ok(endpoint),
        }
    }

    /// The admin's access token (the changing data's room owner and host).
    pub fn token(&self) -> &str {
        &self.token
    }
}

/// Whether `body` is a well-formed answer of `surface`; `Err` says why not.
pub fn check(surface: Surface, body: &[u8]) -> Result<(), String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("{}: not JSON: {e}", surface.name()))?;
    let ok = match surface {
        Surface::RokidHistory => value["list"].is_array() && value["total"].is_u64(),
        Surface::RokidParticipants => value.is_array(),
        Surface::Telnyx => value["data"].is_array() && value["meta"]["total_results"].is_u64(),
        Surface::Huawei => value["data"].is_array() && value["count"].is_u64(),
        Surface::RocketChat => {
            value["success"] == json!(true) && value["data"].is_array() && value["total"].is_u64()
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{}: not the expected shape: {}",
            surface.name(),
            client::snippet(body)
        ))
    }
}

/// Signs in, makes an API key, and reads the ids, names, sizes and days the mix draws from.
pub async fn discover(ctx: &SetupContext<'_>, seed: u64) -> Result<Mix> {
    let addr = ctx.addr;
    let Admin {
        token,
        bearer,
        key,
        company,
    } = admin_with_key(ctx, "bench-mixed").await?;
    let user_id = call(
        addr,
        &Endpoint::new(addr, Method::POST, "/api/v1/user/info")?.header(AUTHORIZATION, &bearer)?,
        "reading the admin",
    )
    .await?["user_id"]
        .as_str()
        .context("no user_id")?
        .to_owned();
    let mut mix = Mix {
        pool: Pool {
            company,
            sessions: Vec::new(),
            rooms: Vec::new(),
            participants: Vec::new(),
            names: Vec::new(),
            attendees: Vec::new(),
            first_day: i64::MAX,
            last_day: i64::MIN,
            meetings: 0,
            recordings: 0,
        },
        addr,
        bearer_key: format!("Bearer {key}"),
        user_id,
        token,
        seed,
    };
    let get = |path: String, surface: Surface| MixRequest {
        surface,
        path,
        body: None,
    };

    // Recordings: ids of sessions, rooms, participants, and the days, from pages spread
    // over the whole list.
    let first = call(
        addr,
        &mix.endpoint(&get(
            "/v2/room_recordings?page[size]=250".to_owned(),
            Surface::Telnyx,
        ))?,
        "listing recordings",
    )
    .await?;
    mix.pool.recordings = first["meta"]["total_results"].as_u64().unwrap_or(0);
    let total_pages = first["meta"]["total_pages"].as_u64().unwrap_or(1).max(1);
    let mut sessions = std::collections::BTreeSet::new();
    let mut rooms = std::collections::BTreeSet::new();
    for i in 0..DISCOVER_TELNYX_PAGES {
        let page = 1 + i * total_pages / DISCOVER_TELNYX_PAGES;
        let list = call(
            addr,
            &mix.endpoint(&get(
                format!("/v2/room_recordings?page[size]=250&page[number]={page}"),
                Surface::Telnyx,
            ))?,
            "listing recordings",
        )
        .await?;
        for r in list["data"].as_array().into_iter().flatten() {
            if let Some(s) = r["session_id"].as_str() {
                sessions.insert(s.to_owned());
            }
            if let Some(s) = r["room_id"].as_str() {
                rooms.insert(s.to_owned());
            }
            if let Some(s) = r["participant_id"].as_str() {
                mix.pool.participants.push(s.to_owned());
            }
            for field in ["started_at", "ended_at"] {
                if let Some(day) = r[field].as_str().and_then(days_of) {
                    mix.pool.first_day = mix.pool.first_day.min(day);
                    mix.pool.last_day = mix.pool.last_day.max(day);
                }
            }
        }
    }
    if sessions.is_empty() || rooms.is_empty() || mix.pool.participants.is_empty() {
        bail!(
            "the data set has no recordings of participants in rooms; is this a `dev generate-history` directory?"
        );
    }

    // Meetings: the total and names, from pages spread over the whole list.
    let rokid = |page: u64| MixRequest {
        surface: Surface::RokidHistory,
        path: ROKID_PAGE.to_owned(),
        body: Some(json!({"companyId": mix.pool.company, "pageNum": page, "pageSize": 500})),
    };
    let first = call(addr, &mix.endpoint(&rokid(1))?, "listing meetings").await?;
    mix.pool.meetings = first["total"].as_u64().unwrap_or(0);
    let meeting_pages = pages(mix.pool.meetings, 500);
    let mut names = std::collections::BTreeSet::new();
    for i in 0..DISCOVER_ROKID_PAGES.min(meeting_pages) {
        let page = 1 + i * meeting_pages / DISCOVER_ROKID_PAGES.min(meeting_pages);
        let list = call(addr, &mix.endpoint(&rokid(page))?, "listing meetings").await?;
        for m in list["list"].as_array().into_iter().flatten() {
            if let Some(name) = m["meetingName"].as_str() {
                names.insert(name.to_owned());
            }
        }
    }
    mix.pool.names = names.into_iter().collect();

    // Sessions' attendee counts and names (Huawei), spread over the collected sessions.
    let sessions: Vec<String> = sessions.into_iter().collect();
    let step = (sessions.len() / DISCOVER_SESSIONS).max(1);
    let mut attendees = std::collections::BTreeSet::new();
    for id in sessions.iter().step_by(step).take(DISCOVER_SESSIONS) {
        let records = call(
            addr,
            &mix.endpoint(&get(
                format!("{HUAWEI_RECORDS}?confUUID={id}&limit=500"),
                Surface::Huawei,
            ))?,
            "reading attendee records",
        )
        .await?;
        let count = records["count"].as_u64().unwrap_or(0);
        for r in records["data"].as_array().into_iter().flatten() {
            if let Some(name) = r["displayName"].as_str() {
                attendees.insert(name.to_owned());
            }
        }
        mix.pool.sessions.push((id.clone(), count));
    }
    mix.pool.attendees = attendees.into_iter().collect();

    // Rooms' call counts (Rocket.Chat).
    let rooms: Vec<String> = rooms.into_iter().collect();
    let step = (rooms.len() / DISCOVER_ROOMS).max(1);
    for id in rooms.iter().step_by(step).take(DISCOVER_ROOMS) {
        let calls = call(
            addr,
            &mix.endpoint(&get(
                format!("{ROCKET_LIST}?roomId={id}&count=1"),
                Surface::RocketChat,
            ))?,
            "listing a room's calls",
        )
        .await?;
        mix.pool
            .rooms
            .push((id.clone(), calls["total"].as_u64().unwrap_or(0)));
    }
    if mix.pool.names.is_empty() || mix.pool.attendees.is_empty() {
        bail!("no meeting or attendee names found in the data set");
    }
    Ok(mix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> Pool {
        Pool {
            company: "c".to_owned(),
            sessions: (0..50).map(|i| (format!("s{i}"), 10)).collect(),
            rooms: (0..10).map(|i| (format!("r{i}"), 70)).collect(),
            participants: (0..50).map(|i| format!("p{i}")).collect(),
            names: vec!["Sales budget review Orion-0420".to_owned()],
            attendees: vec!["Person 1".to_owned(), "Guest 7".to_owned()],
            first_day: days_of("2025-12-06").unwrap_or(0),
            last_day: days_of("2026-12-06").unwrap_or(0),
            meetings: 10_000,
            recordings: 10_000,
        }
    }

    fn query_number(path: &str, key: &str) -> Option<u64> {
        path.split(['?', '&'])
            .find_map(|part| part.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
    }

    #[test]
    fn same_seed_same_sequence() {
        let pool = pool();
        let run = |seed| {
            let mut s = MixStream::new(seed);
            (0..500).map(|_| s.next(&pool)).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        // Requests differ from each other.
        let distinct: std::collections::BTreeSet<String> = run(7)
            .iter()
            .map(|r| format!("{}{:?}", r.path, r.body))
            .collect();
        assert!(distinct.len() > 450, "{} distinct of 500", distinct.len());
    }

    #[test]
    fn every_surface_is_in_the_mix() {
        let pool = pool();
        let mut s = MixStream::new(1);
        let mut seen = [0_u32; 5];
        for _ in 0..10_000 {
            seen[s.next(&pool).surface.index()] += 1;
        }
        for (surface, count) in SURFACES.iter().zip(seen) {
            let share = u64::from(count) / 100;
            assert!(
                share + 3 >= surface.weight() && share <= surface.weight() + 3,
                "{}: {count}",
                surface.name()
            );
        }
    }

    #[test]
    fn pages_and_offsets_cover_their_ranges() {
        let pool = pool();
        let mut s = MixStream::new(3);
        let (mut telnyx_max, mut rokid_max, mut rocket_max, mut huawei_max) = (0, 0, 0, 0);
        let (mut telnyx_min, mut rokid_min) = (u64::MAX, u64::MAX);
        for _ in 0..20_000 {
            let r = s.next(&pool);
            match r.surface {
                Surface::Telnyx if !r.path.contains("filter") => {
                    let size = query_number(&r.path, "page[size]").unwrap_or(0);
                    let page = query_number(&r.path, "page[number]").unwrap_or(0);
                    assert!(page >= 1 && page <= pages(pool.recordings, size));
                    if size == 20 {
                        telnyx_max = telnyx_max.max(page);
                        telnyx_min = telnyx_min.min(page);
                    }
                }
                Surface::RokidHistory => {
                    let body = r.body.unwrap_or_default();
                    if body.get("startTime").is_none() && body.get("meetingName").is_none() {
                        let page = body["pageNum"].as_u64().unwrap_or(0);
                        let size = body["pageSize"].as_u64().unwrap_or(0);
                        assert!(page >= 1 && page <= pages(pool.meetings, size));
                        if size == 10 {
                            rokid_max = rokid_max.max(page);
                            rokid_min = rokid_min.min(page);
                        }
                    }
                }
                Surface::RocketChat => {
                    let offset = query_number(&r.path, "offset").unwrap_or(u64::MAX);
                    assert!(offset < 70);
                    rocket_max = rocket_max.max(offset);
                }
                Surface::Huawei => {
                    if let Some(offset) = query_number(&r.path, "offset") {
                        assert!(offset < 10);
                        huawei_max = huawei_max.max(offset);
                    }
                }
                _ => {}
            }
        }
        // 10,000 recordings in pages of 20: 500 pages; 10,000 meetings in pages of 10: 1,000.
        assert_eq!(telnyx_min, 1);
        assert!(telnyx_max >= 490, "{telnyx_max}");
        assert_eq!(rokid_min, 1);
        assert!(rokid_max >= 980, "{rokid_max}");
        assert!(rocket_max >= 65, "{rocket_max}");
        assert_eq!(huawei_max, 9);
    }

    #[test]
    fn filters_cover_every_kind_and_the_year() {
        let pool = pool();
        let mut s = MixStream::new(5);
        let mut kinds = std::collections::BTreeSet::new();
        let mut combined = 0;
        let (mut first, mut last) = (String::from("9999"), String::new());
        let mut windows = 0;
        for _ in 0..20_000 {
            let r = s.next(&pool);
            if r.surface == Surface::Telnyx {
                let filters: Vec<&str> = r
                    .path
                    .split(['?', '&'])
                    .filter(|p| p.starts_with("filter["))
                    .collect();
                if filters.len() >= 2 {
                    combined += 1;
                }
                for f in filters {
                    let key = f.split('=').next().unwrap_or_default();
                    kinds.insert(key.to_owned());
                    if f.starts_with("filter[date_") {
                        let day = f.split('=').nth(1).unwrap_or_default().to_owned();
                        first = first.min(day.clone());
                        last = last.max(day);
                    }
                }
            }
            if let Some(start) = r.body.as_ref().and_then(|b| b["startTime"].as_str()) {
                windows += 1;
                assert!(("2025-12-06"..="2026-12-07").contains(&start), "{start}");
            }
        }
        for key in [
            "filter[date_started_at][eq]",
            "filter[date_started_at][gte]",
            "filter[date_started_at][lte]",
            "filter[date_ended_at][eq]",
            "filter[date_ended_at][gte]",
            "filter[date_ended_at][lte]",
            "filter[room_id]",
            "filter[participant_id]",
            "filter[session_id]",
            "filter[status]",
            "filter[type]",
            "filter[duration_secs]",
            "filter[duration_secs][eq]",
            "filter[duration_secs][gte]",
            "filter[duration_secs][lte]",
        ] {
            assert!(kinds.contains(key), "{key} never drawn");
        }
        assert!(combined > 500, "{combined}");
        assert!(windows > 500, "{windows}");
        assert!(first.as_str() <= "2025-12-10", "{first}");
        assert!(last.as_str() >= "2026-12-02", "{last}");
    }

    #[test]
    fn days_round_trip() {
        assert_eq!(days_of("1970-01-01"), Some(0));
        assert_eq!(civil(0), "1970-01-01");
        for day in [-1, 59, 60, 365, 11_016, 20_000, 20_428] {
            assert_eq!(days_of(&civil(day)), Some(day));
        }
        assert_eq!(civil(days_of("2024-02-29").unwrap_or(0) + 1), "2024-03-01");
    }

    #[test]
    fn answers_are_checked() {
        assert!(
            check(
                Surface::Telnyx,
                br#"{"data":[],"meta":{"total_results":0}}"#
            )
            .is_ok()
        );
        assert!(check(Surface::Telnyx, br#"{"errors":[]}"#).is_err());
        assert!(check(Surface::RokidParticipants, b"[]").is_ok());
        assert!(check(Surface::RokidHistory, b"not json").is_err());
        assert!(
            check(
                Surface::RocketChat,
                br#"{"success":true,"data":[],"total":3}"#
            )
            .is_ok()
        );
    }
}

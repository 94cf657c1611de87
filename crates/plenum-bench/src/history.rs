//! The history-surface scenarios: every query of Rokid, Rocket.Chat, Telnyx and Huawei over
//! the data set of `plenum dev generate-history` (1,000,000 sessions, 10,000,000 stays,
//! 1,000,000 recordings, 100 companies, 10,000 rooms). The default company, whose admin the
//! harness signs in as, is one of the 100, so every query reads ~1 % of the data set through
//! its company's indexes. Generating the data set takes minutes, so these scenarios run
//! against a directory prepared once (`--data-dir`, see BENCHMARKS.md).

use std::net::SocketAddr;

use anyhow::{Context as _, Result, bail};
use hyper::Method;
use hyper::header::{AUTHORIZATION, HeaderName};
use serde_json::{Value, json};

use crate::client::{self, Endpoint};
use crate::scenario::{ADMIN_USERNAME, Scenario, SetupContext, sign_in};

const SETUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// One setup request: its JSON answer, or why not.
pub(crate) async fn call(addr: SocketAddr, endpoint: &Endpoint, what: &str) -> Result<Value> {
    let (status, body) = client::send_once(addr, endpoint, SETUP_TIMEOUT)
        .await
        .with_context(|| what.to_owned())?;
    if !status.is_success() {
        bail!("{what} answered {status}: {}", client::snippet(&body));
    }
    serde_json::from_slice(&body).with_context(|| format!("{what}: not JSON"))
}

/// What the history scenarios need from the server: an API key, the company, the admin's
/// token, and ids from the middle of the data.
struct Known {
    token: String,
    key: String,
    company: String,
    session: String,
    room: String,
    participant: String,
    day: String,
}

/// The admin signed in, with a new API key named `key_name`, and their company.
pub(crate) struct Admin {
    pub(crate) token: String,
    /// `Bearer <token>`.
    pub(crate) bearer: String,
    pub(crate) key: String,
    pub(crate) company: String,
}

/// Signs the admin in, makes an API key and reads the company: what every history
/// scenario's setup starts from.
pub(crate) async fn admin_with_key(ctx: &SetupContext<'_>, key_name: &str) -> Result<Admin> {
    let addr = ctx.addr;
    let token = sign_in(addr, ADMIN_USERNAME, ctx.admin_password).await?;
    let bearer = format!("Bearer {token}");
    let key = call(
        addr,
        &Endpoint::new(addr, Method::POST, "/api/v1/api_keys")?
            .header(AUTHORIZATION, &bearer)?
            .json_body(&json!({"name": key_name}))?,
        "creating an API key",
    )
    .await?["api_key"]
        .as_str()
        .context("no api_key")?
        .to_owned();
    let company = call(
        addr,
        &Endpoint::new(addr, Method::GET, "/api/v1/company")?.header(AUTHORIZATION, &bearer)?,
        "reading the company",
    )
    .await?["company_id"]
        .as_str()
        .context("no company_id")?
        .to_owned();
    Ok(Admin {
        token,
        bearer,
        key,
        company,
    })
}

async fn discover(ctx: &SetupContext<'_>) -> Result<Known> {
    let addr = ctx.addr;
    let Admin {
        token,
        key,
        company,
        ..
    } = admin_with_key(ctx, "bench").await?;
    // A recording of a participant from the middle of the year: its session, room, stay, day.
    let auth = format!("Bearer {key}");
    let recordings = |page: u64| -> Result<Endpoint> {
        Endpoint::new(
            addr,
            Method::GET,
            &format!("/v2/room_recordings?page[size]=20&page[number]={page}"),
        )?
        .header(AUTHORIZATION, &auth)
    };
    // From the middle of the company's recordings (page 250 of 500 in the full data set), so
    // that a smaller set (`generate-history --sessions ...`) is read from its middle too.
    let pages = call(addr, &recordings(1)?, "listing recordings").await?["meta"]["total_pages"]
        .as_u64()
        .context("no meta.total_pages")?;
    let middle = (pages / 2).max(1);
    let mut found = None;
    for page in middle.saturating_sub(50).max(1)..middle + 10 {
        let list = call(addr, &recordings(page)?, "listing recordings").await?;
        found = list["data"].as_array().and_then(|d| {
            d.iter()
                .find(|r| r["participant_id"].is_string() && r["room_id"].is_string())
                .cloned()
        });
        if found.is_some() {
            break;
        }
    }
    let r = found.context(
        "no recording of a participant in a room found; is this a generate-history directory?",
    )?;
    let text = |k: &str| {
        r[k].as_str()
            .map(str::to_owned)
            .with_context(|| format!("no {k}"))
    };
    Ok(Known {
        token,
        key,
        company,
        session: text("session_id")?,
        room: text("room_id")?,
        participant: text("participant_id")?,
        day: text("started_at")?.chars().take(10).collect(),
    })
}

/// The time window of Rokid's broad and window queries, in the company's local time.
fn rokid_body(k: &Known, extra: Value) -> Value {
    let mut body = json!({"companyId": k.company, "pageNum": 1, "pageSize": 10});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    body
}

pub async fn prepare(scenario: Scenario, ctx: &SetupContext<'_>) -> Result<Endpoint> {
    let addr = ctx.addr;
    let k = discover(ctx).await?;
    let key = format!("Bearer {}", k.key);
    let rokid = |extra: Value| -> Result<Endpoint> {
        Endpoint::new(
            addr,
            Method::POST,
            "/ar/corporation/openapi/rtc/meeting/info/page",
        )?
        .header(AUTHORIZATION, &key)?
        .json_body(&rokid_body(&k, extra))
    };
    let telnyx = |query: &str| -> Result<Endpoint> {
        Endpoint::new(addr, Method::GET, &format!("/v2/room_recordings{query}"))?
            .header(AUTHORIZATION, &key)
    };
    let user_id = call(
        addr,
        &Endpoint::new(addr, Method::POST, "/api/v1/user/info")?
            .header(AUTHORIZATION, &format!("Bearer {}", k.token))?,
        "reading the admin",
    )
    .await?["user_id"]
        .as_str()
        .context("no user_id")?
        .to_owned();
    let rocket = |query: &str| -> Result<Endpoint> {
        Endpoint::new(
            addr,
            Method::GET,
            &format!("/api/v1/video-conference.list{query}"),
        )?
        .header(HeaderName::from_static("x-user-id"), &user_id)?
        .header(HeaderName::from_static("x-auth-token"), &k.token)
    };
    let huawei = |query: &str| -> Result<Endpoint> {
        Endpoint::new(
            addr,
            Method::GET,
            &format!("/v1/mmc/management/conferences/history/confAttendeeRecord{query}"),
        )?
        .header(HeaderName::from_static("x-access-token"), &k.token)
    };
    let whole_year = json!({"startTime": "2000-01-01 00:00:00", "endTime": "2100-01-01 00:00:00"});
    match scenario {
        Scenario::RokidHistory => rokid(json!({})),
        Scenario::RokidHistoryDeep => rokid(json!({"pageNum": 400, "pageSize": 20})),
        Scenario::RokidHistoryName => rokid(json!({"meetingName": "Orion-0420"})),
        Scenario::RokidHistoryWindow => rokid(
            json!({"startTime": format!("{} 00:00:00", k.day), "endTime": format!("{} 23:59:59", k.day)}),
        ),
        Scenario::RokidHistoryBroad => rokid(whole_year),
        Scenario::RokidParticipants => Endpoint::new(
            addr,
            Method::GET,
            &format!(
                "/ar/corporation/openapi/rtc/meeting/record/list?id={}",
                k.session
            ),
        )?
        .header(AUTHORIZATION, &key),
        Scenario::RocketchatList => rocket(&format!("?roomId={}", k.room)),
        Scenario::RocketchatListDeep => rocket(&format!("?roomId={}&offset=50&count=50", k.room)),
        Scenario::TelnyxList => telnyx(""),
        Scenario::TelnyxListDeep => telnyx("?page[size]=20&page[number]=400"),
        Scenario::TelnyxDateStarted => telnyx(&format!("?filter[date_started_at][eq]={}", k.day)),
        Scenario::TelnyxDateEnded => telnyx(&format!("?filter[date_ended_at][gte]={}", k.day)),
        Scenario::TelnyxRoom => telnyx(&format!("?filter[room_id]={}", k.room)),
        Scenario::TelnyxParticipant => {
            telnyx(&format!("?filter[participant_id]={}", k.participant))
        }
        Scenario::TelnyxSession => telnyx(&format!("?filter[session_id]={}", k.session)),
        Scenario::TelnyxStatus => telnyx("?filter[status]=processing"),
        Scenario::TelnyxType => telnyx("?filter[type]=audio"),
        Scenario::TelnyxDuration => telnyx("?filter[duration_secs][gte]=3600"),
        Scenario::TelnyxBroad => telnyx("?filter[status]=completed"),
        Scenario::HuaweiRecords => huawei(&format!("?confUUID={}", k.session)),
        Scenario::HuaweiSearch => huawei(&format!("?confUUID={}&searchKey=person", k.session)),
        other => bail!("{} is not a history scenario", other.name()),
    }
}

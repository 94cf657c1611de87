//! `plenum dev generate`: fills a data directory with realistic scheduled meetings, for
//! benchmarks and for trying Plenum out. Deterministic for a given `--seed`.
//!
//! Meetings are spread over the year from now, 30 to 120 minutes long, owned by a pool of
//! generated users with 0–3 invitees each. Names are "<team> <topic> <kind> <codename>":
//! 8 teams × 25 topics × 8 kinds, and one of 2,000 codenames (`Orion-0421`), so a search for
//! a topic word matches about 4 % of meetings and a search for a codename about 0.05 %.

use std::sync::Arc;

use anyhow::Context;
use plenum_domain::ids::{ScheduleId, UserId};
use plenum_domain::schedule::{
    MeetingKind, MeetingNumber, MeetingSettings, Schedule, TimeSlot, UserRef,
};
use plenum_domain::user::{Profile, Role, Username};
use plenum_service::{Actor, Credential, NewUserRequest, Plenum};
use plenum_store::Store;

const TEAMS: [&str; 8] = [
    "Sales", "Platform", "Design", "Finance", "Support", "Legal", "Research", "Ops",
];
const TOPICS: [&str; 25] = [
    "budget",
    "roadmap",
    "hiring",
    "retro",
    "planning",
    "review",
    "kickoff",
    "launch",
    "onboarding",
    "security",
    "pricing",
    "migration",
    "incident",
    "training",
    "forecast",
    "audit",
    "strategy",
    "backlog",
    "demo",
    "partner",
    "compliance",
    "quality",
    "metrics",
    "offsite",
    "townhall",
];
const KINDS: [&str; 8] = [
    "sync", "standup", "workshop", "call", "briefing", "session", "meeting", "check-in",
];
const CODENAMES: [&str; 20] = [
    "Orion", "Vega", "Lyra", "Draco", "Hydra", "Pavo", "Cetus", "Aquila", "Carina", "Fornax",
    "Lepus", "Mensa", "Norma", "Pyxis", "Volans", "Tucana", "Indus", "Grus", "Musca", "Octans",
];

/// A small, fast, deterministic generator (SplitMix64): reproducible data for a seed.
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A meeting name: "<team> <topic> <kind> <codename>".
pub(crate) fn meeting_name(rng: &mut SplitMix) -> String {
    format!(
        "{} {} {} {}",
        TEAMS[rng.below(8) as usize],
        TOPICS[rng.below(25) as usize],
        KINDS[rng.below(8) as usize],
        codename(rng.below(2000)),
    )
}

/// The codename of meeting-name family `i` (0..2000), e.g. `Orion-0421`.
pub fn codename(i: u64) -> String {
    format!("{}-{:04}", CODENAMES[(i % 20) as usize], i)
}

pub async fn generate(
    plenum: &Plenum,
    store: &Arc<dyn Store>,
    schedules: u64,
    users: u64,
    seed: u64,
) -> anyhow::Result<()> {
    let company = store
        .default_company()
        .await?
        .context("the data directory has no default company")?;
    let mut rng = SplitMix(seed);
    let mut pool: Vec<UserRef> = Vec::new();
    for i in 0..users {
        let username = format!("gen-user-{seed}-{i:05}");
        let password = plenum_service::generate_password();
        let user = plenum
            .accounts()
            .create_user(
                Actor::Operator(company.id),
                NewUserRequest {
                    username: Username::parse(&username)?,
                    profile: Profile {
                        real_name: format!("Generated User {i}"),
                        ..Profile::default()
                    },
                    role: Role::Normal,
                    credential: Credential::Password(
                        plenum_domain::credentials::Password::parse_new(&password)?,
                    ),
                },
            )
            .await?;
        pool.push(UserRef {
            id: user.id,
            username,
            real_name: user.profile.real_name,
        });
    }
    if pool.is_empty() {
        let admin = store
            .find_users(
                company.id,
                None,
                plenum_domain::paging::PageRequest::by_number(1, 1, 1)?,
            )
            .await?
            .items
            .into_iter()
            .next()
            .context("the company has no users")?;
        pool.push(UserRef {
            id: admin.id,
            username: admin.username.to_string(),
            real_name: admin.profile.real_name,
        });
    }
    let now = plenum.now();
    let base_number = 200_000_000 + (seed % 100) * 1_000_000;
    let mut batch = Vec::with_capacity(5000);
    for i in 0..schedules {
        let start_ms =
            now.as_millisecond() + 3_600_000 + (rng.below(365 * 24 * 4) as i64) * 900_000;
        let length_ms = (30 + rng.below(4) as i64 * 30) * 60_000;
        let slot = TimeSlot::parse(start_ms, start_ms + length_ms, None)?;
        let name = meeting_name(&mut rng);
        let owner = pool[rng.below(pool.len() as u64) as usize].clone();
        let invitees: Vec<UserRef> = (0..rng.below(4))
            .map(|_| pool[rng.below(pool.len() as u64) as usize].clone())
            .filter(|u| u.id != owner.id)
            .map(|u| (u.id, u))
            .collect::<std::collections::BTreeMap<UserId, UserRef>>()
            .into_values()
            .collect();
        let mut settings = MeetingSettings::defaults(name);
        settings.time_to_join_minutes = 15;
        batch.push(Schedule {
            id: ScheduleId::new(now),
            company_id: company.id,
            kind: MeetingKind::Reservation,
            series_id: None,
            original_start: None,
            overridden: false,
            recurrence: None,
            meeting_number: MeetingNumber::parse(&(base_number + i).to_string())?,
            room_id: None,
            owner,
            slot,
            settings,
            invitees,
            join_code: format!("gen{seed}x{i}"),
            created_at: now,
            updated_at: now,
            revision: 0,
        });
        if batch.len() == 5000 {
            store.create_schedules(&batch).await?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        store.create_schedules(&batch).await?;
    }
    Ok(())
}

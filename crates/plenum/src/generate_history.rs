//! `plenum dev generate-history`: fills a data directory with a realistic record of meetings
//! held — companies, users, rooms, sessions, attendance and recordings — for the benchmarks of
//! the history surfaces. Deterministic for a given `--seed` (ids are UUIDv7 and so differ per
//! run; what they describe does not).
//!
//! The default company is company 0; the others are `Generated 001`, ... Sessions are spread
//! evenly over the companies and over the past year, 15 to 120 minutes long; two thirds are
//! held in one of their company's rooms. Each has `attendance / sessions` stays on average
//! (70 % of users of the company, 30 % guests dialling in) and `recordings / sessions`
//! recordings (a fifth of them of one participant). Sessions that started in the last two
//! hours are still running.

use std::sync::Arc;

use anyhow::Context;
use jiff::Timestamp;
use plenum_domain::company::{CompanyName, TimeZoneName};
use plenum_domain::credentials::Password;
use plenum_domain::history::{
    Attendance, DeviceType, MediaType, Recording, RecordingKind, RecordingStatus, Session,
};
use plenum_domain::ids::{AttendanceId, CompanyId, RecordingId, RoomId, SessionId, UserId};
use plenum_domain::schedule::{MeetingNumber, Room, UserRef};
use plenum_domain::user::{NewUser, Profile, Role, Username};
use plenum_service::{Actor, Credential, NewCompanyRequest, NewUserRequest, Plenum};
use plenum_store::Store;

use crate::generate::{SplitMix, meeting_name};

/// How much to generate.
#[derive(Debug, Clone, Copy)]
pub struct HistorySize {
    pub companies: u64,
    pub users_per_company: u64,
    pub rooms: u64,
    pub sessions: u64,
    pub attendance: u64,
    pub recordings: u64,
    pub seed: u64,
}

/// Sessions written per transaction (with their stays and recordings).
const BATCH_SESSIONS: u64 = 2_000;

struct GenCompany {
    id: CompanyId,
    users: Vec<UserRef>,
    rooms: Vec<(RoomId, MeetingNumber)>,
}

fn ms(t: i64) -> anyhow::Result<Timestamp> {
    Ok(Timestamp::from_millisecond(t)?)
}

pub async fn generate(
    plenum: &Plenum,
    store: &Arc<dyn Store>,
    size: HistorySize,
) -> anyhow::Result<()> {
    anyhow::ensure!(size.companies >= 1, "--companies must be at least 1");
    anyhow::ensure!(
        size.users_per_company >= 1,
        "--users-per-company must be at least 1"
    );
    let mut rng = SplitMix(size.seed);
    let now = plenum.now();
    let default = store
        .default_company()
        .await?
        .context("the data directory has no default company")?;
    // One Argon2 hash for every generated user: they are never signed in as.
    let (hash, level) = plenum
        .accounts()
        .credential_change(&Credential::Password(Password::parse_new(
            &plenum_service::generate_password(),
        )?))
        .await?;

    let mut companies = Vec::with_capacity(size.companies as usize);
    for c in 0..size.companies {
        let id = if c == 0 {
            default.id
        } else {
            let (company, _) = plenum
                .accounts()
                .create_company(
                    Actor::Operator(default.id),
                    NewCompanyRequest {
                        name: CompanyName::parse(&format!("Generated {c:03} s{}", size.seed))?,
                        time_zone: TimeZoneName::parse(
                            ["Europe/Berlin", "Asia/Shanghai", "America/New_York", "UTC"]
                                [(c % 4) as usize],
                        )?,
                        max_users: Some(
                            u32::try_from(size.users_per_company + 10).unwrap_or(u32::MAX),
                        ),
                        admin: NewUserRequest {
                            username: Username::parse(&format!("gen-admin-{}-{c:03}", size.seed))?,
                            profile: Profile::default(),
                            role: Role::SystemAdmin,
                            credential: Credential::Password(Password::parse_new(
                                &plenum_service::generate_password(),
                            )?),
                        },
                    },
                )
                .await?;
            company.id
        };
        let mut users = Vec::new();
        for u in 0..size.users_per_company {
            let username = format!("gen-{}-{c:03}-{u:03}", size.seed);
            let user = store
                .create_user(&NewUser {
                    id: UserId::new(now),
                    company_id: id,
                    username: Username::parse(&username)?,
                    profile: Profile {
                        real_name: format!("Person {c}.{u}"),
                        department: format!("Dept {}", u % 7),
                        ..Profile::default()
                    },
                    role: Role::Normal,
                    secret_hash: hash.clone(),
                    security_level: level,
                    created_at: now,
                })
                .await?;
            users.push(UserRef {
                id: user.id,
                username,
                real_name: user.profile.real_name,
            });
        }
        companies.push(GenCompany {
            id,
            users,
            rooms: Vec::new(),
        });
    }

    let room_base = 300_000_000 + (size.seed % 50) * 1_000_000;
    for r in 0..size.rooms {
        let company = &mut companies[(r % size.companies) as usize];
        let owner = company.users[(r % size.users_per_company) as usize].clone();
        let number = MeetingNumber::parse(&(room_base + r).to_string())?;
        let room = Room {
            id: RoomId::new(now),
            company_id: company.id,
            name: format!("Room {r}"),
            meeting_number: number.clone(),
            password: None,
            owner: owner.clone(),
            creator: owner,
            created_at: now,
            revision: 0,
        };
        store.create_room(&room).await?;
        company.rooms.push((room.id, number));
    }

    let year_ms: i64 = 365 * 24 * 3_600_000;
    let now_ms = now.as_millisecond();
    let number_base = 500_000_000 + (size.seed % 50) * 1_000_000;
    let mut sessions = Vec::new();
    let mut stays = Vec::new();
    let mut recordings = Vec::new();
    let mut stays_left = size.attendance;
    let mut recordings_left = size.recordings;
    for i in 0..size.sessions {
        let company = &companies[(i % size.companies) as usize];
        let start = now_ms - 60_000 - (rng.below(year_ms as u64 / 60_000) as i64) * 60_000;
        let length = (15 + rng.below(106) as i64) * 60_000;
        let end = start + length;
        let running = end > now_ms || now_ms - start < 2 * 3_600_000;
        let room = (rng.below(3) != 0 && !company.rooms.is_empty())
            .then(|| &company.rooms[rng.below(company.rooms.len() as u64) as usize]);
        let owner = company.users[rng.below(company.users.len() as u64) as usize].id;
        let mut invitees: Vec<UserId> = (0..rng.below(4))
            .map(|_| company.users[rng.below(company.users.len() as u64) as usize].id)
            .filter(|u| *u != owner)
            .collect();
        invitees.sort();
        invitees.dedup();
        let session = Session {
            id: SessionId::new(ms(start)?),
            company: company.id,
            meeting_number: match room {
                Some((_, n)) => n.clone(),
                None => MeetingNumber::parse(&(number_base + i % 100_000_000).to_string())?,
            },
            name: meeting_name(&mut rng),
            owner,
            room: room.map(|(id, _)| *id),
            schedule: None,
            started_at: ms(start)?,
            ended_at: (!running).then(|| ms(end)).transpose()?,
            peak_participants: 0,
            invitees,
        };
        // Spread what is left evenly over the sessions left.
        let sessions_left = size.sessions - i;
        let n_stays = stays_left / sessions_left
            + u64::from(rng.below(sessions_left) < stays_left % sessions_left);
        stays_left -= n_stays;
        let first_stay = stays.len();
        for s in 0..n_stays {
            let joined = start + rng.below((length / 2) as u64 / 1000) as i64 * 1000;
            let left =
                joined + (1 + rng.below(((end - joined) / 1000).max(1) as u64) as i64) * 1000;
            let user = (rng.below(10) < 7)
                .then(|| &company.users[rng.below(company.users.len() as u64) as usize]);
            let phone = user.is_none() && rng.below(2) == 0;
            stays.push(Attendance {
                id: AttendanceId::new(ms(joined)?),
                session: session.id,
                user: user.map(|u| u.id),
                display_name: match user {
                    Some(u) => u.real_name.clone(),
                    None => format!("Guest {i}-{s}"),
                },
                call_number: if phone {
                    format!("+99111{:07}", rng.below(10_000_000))
                } else {
                    String::new()
                },
                device_type: if phone {
                    DeviceType::Phone
                } else {
                    DeviceType::ALL[rng.below(4) as usize]
                },
                media_type: if phone || rng.below(5) == 0 {
                    MediaType::Audio
                } else {
                    MediaType::Video
                },
                department: format!("Dept {}", rng.below(7)),
                joined_at: ms(joined)?,
                left_at: (!running || rng.below(2) == 0)
                    .then(|| ms(left.min(end)))
                    .transpose()?,
            });
        }
        let n_recordings = recordings_left / sessions_left
            + u64::from(rng.below(sessions_left) < recordings_left % sessions_left);
        recordings_left -= n_recordings;
        for _ in 0..n_recordings {
            let rec_start = start + rng.below((length / 4) as u64 / 1000) as i64 * 1000;
            let duration = ((end - rec_start) / 1000).max(1);
            let processing = running || rng.below(20) == 0;
            let participant = (n_stays > 0 && rng.below(5) == 0)
                .then(|| stays[first_stay + rng.below(n_stays) as usize].id);
            let kind = if rng.below(5) == 0 {
                RecordingKind::Audio
            } else {
                RecordingKind::Video
            };
            recordings.push(Recording {
                id: RecordingId::new(ms(rec_start)?),
                company: company.id,
                session: session.id,
                attendance: participant,
                kind,
                status: if processing {
                    RecordingStatus::Processing
                } else {
                    RecordingStatus::Completed
                },
                codec: if kind == RecordingKind::Audio {
                    "opus"
                } else {
                    "vp8"
                }
                .to_owned(),
                size_bytes: duration as u64
                    * if kind == RecordingKind::Audio {
                        8_000
                    } else {
                        150_000
                    },
                duration_secs: u32::try_from(duration).unwrap_or(u32::MAX),
                started_at: ms(rec_start)?,
                ended_at: (!running).then(|| ms(end)).transpose()?,
                completed_at: (!processing).then(|| ms(end + 60_000)).transpose()?,
                download_url: if processing {
                    String::new()
                } else {
                    format!("https://files.example/{}.webm", i)
                },
                file: None,
                failure: None,
                created_at: ms(rec_start)?,
                updated_at: ms(if processing { rec_start } else { end + 60_000 })?,
            });
        }
        sessions.push(session);
        if sessions.len() as u64 == BATCH_SESSIONS {
            store
                .insert_history_batch(&sessions, &stays, &recordings)
                .await?;
            sessions.clear();
            stays.clear();
            recordings.clear();
        }
    }
    if !sessions.is_empty() {
        store
            .insert_history_batch(&sessions, &stays, &recordings)
            .await?;
    }
    Ok(())
}

//! Rooms, scheduled meetings, series and calendars in PostgreSQL.
//!
//! The SQLite store's `meetings.rs`, statement for statement, with the locks its single
//! writer made unnecessary: a row whose revision an update compares is read `FOR UPDATE`; a
//! room a meeting is written into is read `FOR SHARE` (so that it is neither deleted nor
//! renumbered before the meeting's transaction ends), and a room that is renumbered or deleted
//! is locked `FOR UPDATE` before its meetings are counted.

use std::time::{Duration, Instant};

use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Postgres};
use uuid::Uuid;

use plenum_domain::Timestamp;
use plenum_domain::company::TimeZoneName;
use plenum_domain::ids::{CompanyId, RoomId, ScheduleId, SeriesId, UserId};
use plenum_domain::paging::{Page, PageRequest};
use plenum_domain::recurrence::{Frequency, RecurrenceRule};
use plenum_domain::schedule::{
    CallRate, LiveSettings, MeetingFilter, MeetingKind, MeetingNumber, MeetingPassword,
    MeetingSettings, PreviousOccurrence, Room, Schedule, ScheduleSummary, Series, TimeSlot,
    UserRef, WatermarkType, carry_over_occurrences,
};
use plenum_store::rows::search_key;
use plenum_store::{MeetingScope, StoreError, StoreResult, Trail};
use plenum_store_memory::Subject;
use plenum_store_memory::schedules::{Listed, ScheduleEntry, ScheduleMemory, ScheduleSnapshot};

use crate::{
    PgStore, Tx, col, corrupt, count, db_err, instant, internal, like_contains, limit, ms, number,
    offset, password, unique_violation,
};

fn user_ref(row: &PgRow, prefix: &str) -> StoreResult<UserRef> {
    Ok(UserRef {
        id: UserId::from_uuid(col(row, &format!("{prefix}_id"))?),
        username: col(row, &format!("{prefix}_username"))?,
        real_name: col(row, &format!("{prefix}_real_name"))?,
    })
}

/// A stored revision (never negative: it starts at 0 and only grows).
fn revision(raw: i64) -> StoreResult<u64> {
    u64::try_from(raw).map_err(|_| corrupt("revision"))
}

/// The revision an update was merged from is still the stored one (read `FOR UPDATE` in the
/// write transaction, before anything is written).
fn unchanged_since(stored: u64, read: u64) -> StoreResult<()> {
    if stored == read {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

/// The stored revision of a row of `table`, locked until the transaction ends.
async fn locked_revision(
    tx: &mut Tx,
    table: &str,
    company: CompanyId,
    id: Uuid,
) -> StoreResult<u64> {
    let stored: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT revision FROM {table} WHERE id = $1 AND company_id = $2 FOR UPDATE"
    ))
    .bind(id)
    .bind(company.as_uuid())
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_err)?;
    revision(stored.ok_or(StoreError::NotFound)?)
}

// --- meeting numbers -------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Holder {
    Room(RoomId),
    Schedule(ScheduleId),
    Series(SeriesId),
}

async fn reserve_number(
    tx: &mut Tx,
    company: CompanyId,
    number: &MeetingNumber,
    holder: Holder,
) -> StoreResult<()> {
    let (room, schedule, series) = match holder {
        Holder::Room(id) => (Some(id.as_uuid()), None, None),
        Holder::Schedule(id) => (None, Some(id.as_uuid()), None),
        Holder::Series(id) => (None, None, Some(id.as_uuid())),
    };
    // `DO NOTHING`: a number another transaction is reserving is waited for; taken, it is
    // an answer, not an error (PostgreSQL aborts a transaction at its first error).
    let inserted = sqlx::query(
        "INSERT INTO meeting_numbers (number, company_id, room_id, schedule_id, series_id) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (number) DO NOTHING",
    )
    .bind(number.as_str())
    .bind(company.as_uuid())
    .bind(room)
    .bind(schedule)
    .bind(series)
    .execute(&mut **tx)
    .await;
    match inserted {
        Ok(done) if done.rows_affected() == 1 => Ok(()),
        Ok(_) => Err(StoreError::MeetingNumberTaken),
        Err(e) if unique_violation(&e).is_some() => Err(StoreError::MeetingNumberTaken),
        Err(e) => Err(db_err(e)),
    }
}

async fn release_numbers(tx: &mut Tx, holder: Holder) -> StoreResult<()> {
    let (column, id) = match holder {
        Holder::Room(id) => ("room_id", id.as_uuid()),
        Holder::Schedule(id) => ("schedule_id", id.as_uuid()),
        Holder::Series(id) => ("series_id", id.as_uuid()),
    };
    sqlx::query(&format!("DELETE FROM meeting_numbers WHERE {column} = $1"))
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

// --- people ----------------------------------------------------------------------------------

pub(crate) async fn user_refs(
    store: &PgStore,
    company: CompanyId,
    ids: &[UserId],
) -> StoreResult<Vec<UserRef>> {
    let ids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
    sqlx::query(
        "SELECT id AS u_id, username AS u_username, real_name AS u_real_name FROM users \
         WHERE company_id = $1 AND id = ANY($2)",
    )
    .bind(company.as_uuid())
    .bind(&ids)
    .fetch_all(&store.pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| user_ref(row, "u"))
    .collect()
}

// --- rooms -----------------------------------------------------------------------------------

const ROOM_SELECT: &str = "SELECT r.id, r.company_id, r.name, r.meeting_number, r.password, \
     r.created_at, r.revision, \
     o.id AS o_id, o.username AS o_username, o.real_name AS o_real_name, \
     c.id AS c_id, c.username AS c_username, c.real_name AS c_real_name \
     FROM rooms r JOIN users o ON o.id = r.owner_id JOIN users c ON c.id = r.creator_id";

fn room_from_row(row: &PgRow) -> StoreResult<Room> {
    Ok(Room {
        id: RoomId::from_uuid(col(row, "id")?),
        company_id: CompanyId::from_uuid(col(row, "company_id")?),
        name: col(row, "name")?,
        meeting_number: number(
            &col::<String>(row, "meeting_number")?,
            "rooms.meeting_number",
        )?,
        password: password(col(row, "password")?, "rooms.password")?,
        owner: user_ref(row, "o")?,
        creator: user_ref(row, "c")?,
        created_at: instant(col(row, "created_at")?)?,
        revision: revision(col(row, "revision")?)?,
    })
}

pub(crate) async fn room_in<'e>(
    executor: impl PgExecutor<'e>,
    company: CompanyId,
    id: RoomId,
) -> StoreResult<Option<Room>> {
    let sql = format!("{ROOM_SELECT} WHERE r.id = $1 AND r.company_id = $2");
    sqlx::query(&sql)
        .bind(id.as_uuid())
        .bind(company.as_uuid())
        .fetch_optional(executor)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(room_from_row)
        .transpose()
}

pub(crate) async fn create_room(store: &PgStore, room: &Room) -> StoreResult<Room> {
    let mut tx = store.begin().await?;
    reserve_number(
        &mut tx,
        room.company_id,
        &room.meeting_number,
        Holder::Room(room.id),
    )
    .await?;
    sqlx::query(
        "INSERT INTO rooms (id, company_id, name, meeting_number, password, owner_id, \
         creator_id, created_at, name_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(room.id.as_uuid())
    .bind(room.company_id.as_uuid())
    .bind(&room.name)
    .bind(room.meeting_number.as_str())
    .bind(room.password.as_ref().map(MeetingPassword::as_str))
    .bind(room.owner.id.as_uuid())
    .bind(room.creator.id.as_uuid())
    .bind(ms(room.created_at))
    .bind(search_key(&room.name))
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    let created = room_in(&mut *tx, room.company_id, room.id)
        .await?
        .ok_or(StoreError::NotFound)?;
    tx.commit().await.map_err(db_err)?;
    Ok(created)
}

pub(crate) async fn rooms(
    store: &PgStore,
    company: CompanyId,
    filter: Option<&str>,
    page: PageRequest,
) -> StoreResult<Page<Room>> {
    // Names are compared by the store's key (Rust's lower case), as in SQLite, which the
    // filter is folded to as well.
    let pattern = filter
        .filter(|f| !f.is_empty())
        .map(|f| like_contains(&search_key(f)));
    let condition = "r.company_id = $1 AND ($2::text IS NULL \
         OR r.name_key LIKE $2 ESCAPE '\\' OR r.meeting_number LIKE $2 ESCAPE '\\')";
    let mut tx = store.read_snapshot().await?;
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM rooms r WHERE {condition}"))
        .bind(company.as_uuid())
        .bind(pattern.as_deref())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
    let sql =
        format!("{ROOM_SELECT} WHERE {condition} ORDER BY r.created_at, r.seq LIMIT $3 OFFSET $4");
    let items = sqlx::query(&sql)
        .bind(company.as_uuid())
        .bind(pattern.as_deref())
        .bind(limit(page))
        .bind(offset(page))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?
        .iter()
        .map(room_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    tx.commit().await.map_err(db_err)?;
    Ok(Page {
        items,
        total: count(total),
    })
}

/// How many meetings and series are scheduled in a room (which the caller has locked).
async fn room_use(tx: &mut Tx, room: RoomId) -> StoreResult<i64> {
    sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM schedules WHERE room_id = $1) + \
                (SELECT COUNT(*) FROM series WHERE room_id = $1)",
    )
    .bind(room.as_uuid())
    .fetch_one(&mut **tx)
    .await
    .map_err(db_err)
}

pub(crate) async fn update_room(store: &PgStore, room: &Room) -> StoreResult<Room> {
    let mut tx = store.begin().await?;
    let stored = locked_revision(&mut tx, "rooms", room.company_id, room.id.as_uuid()).await?;
    unchanged_since(stored, room.revision)?;
    let before = room_in(&mut *tx, room.company_id, room.id)
        .await?
        .ok_or(StoreError::NotFound)?;
    if before.meeting_number != room.meeting_number {
        if room_use(&mut tx, room.id).await? > 0 {
            // Invitations already carry the old number; it stays until they are gone.
            return Err(StoreError::RoomInUse);
        }
        release_numbers(&mut tx, Holder::Room(room.id)).await?;
        reserve_number(
            &mut tx,
            room.company_id,
            &room.meeting_number,
            Holder::Room(room.id),
        )
        .await?;
    }
    sqlx::query(
        "UPDATE rooms SET name = $2, meeting_number = $3, password = $4, owner_id = $5, \
         name_key = $6, revision = revision + 1 WHERE id = $1",
    )
    .bind(room.id.as_uuid())
    .bind(&room.name)
    .bind(room.meeting_number.as_str())
    .bind(room.password.as_ref().map(MeetingPassword::as_str))
    .bind(room.owner.id.as_uuid())
    .bind(search_key(&room.name))
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    let updated = room_in(&mut *tx, room.company_id, room.id)
        .await?
        .ok_or(StoreError::NotFound)?;
    tx.commit().await.map_err(db_err)?;
    Ok(updated)
}

pub(crate) async fn delete_room(
    store: &PgStore,
    company: CompanyId,
    id: RoomId,
) -> StoreResult<()> {
    let mut tx = store.begin().await?;
    locked_revision(&mut tx, "rooms", company, id.as_uuid()).await?;
    if room_use(&mut tx, id).await? > 0 {
        return Err(StoreError::RoomInUse);
    }
    release_numbers(&mut tx, Holder::Room(id)).await?;
    sqlx::query("DELETE FROM rooms WHERE id = $1")
        .bind(id.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(())
}

// --- schedules -------------------------------------------------------------------------------

/// The columns [`schedule_from_row`] reads; the invitees come as one JSON array of
/// `[id, username, real_name]`, so that a meeting is read in a single query.
const SCHEDULE_COLUMNS: &str = "s.id, s.company_id, s.kind, s.series_id, s.original_start, \
     s.overridden, s.meeting_number, \
     s.room_id, s.start_at, s.end_at, s.name, s.description, s.password, s.call_rate_kbps, \
     s.mute_upon_entry, s.guest_dial_in, s.watermark, s.watermark_type, s.time_to_join, \
     s.live_passcode, s.live_id, s.join_code, s.created_at, s.updated_at, s.revision, \
     o.id AS o_id, o.username AS o_username, o.real_name AS o_real_name, \
     sr.frequency AS series_frequency, \
     (SELECT COALESCE(json_agg(json_build_array(iu.id, iu.username, iu.real_name)), '[]')::text \
        FROM schedule_invitees i JOIN users iu ON iu.id = i.user_id WHERE i.schedule_id = s.id) \
        AS invitees_json";

const SCHEDULE_FROM: &str = "FROM schedules s JOIN users o ON o.id = s.owner_id \
     LEFT JOIN series sr ON sr.id = s.series_id";

fn invitees_from_json(raw: &str) -> StoreResult<Vec<UserRef>> {
    let triples: Vec<(String, String, String)> =
        serde_json::from_str(raw).map_err(|_| corrupt("schedule invitees"))?;
    let mut invitees = triples
        .into_iter()
        .map(|(id, username, real_name)| {
            Ok(UserRef {
                id: UserId::from_uuid(
                    Uuid::parse_str(&id).map_err(|_| corrupt("schedule invitee id"))?,
                ),
                username,
                real_name,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    invitees.sort_by_cached_key(|u| u.username.to_ascii_lowercase());
    Ok(invitees)
}

fn settings_from_row(row: &PgRow, table: &str) -> StoreResult<MeetingSettings> {
    let kbps: i64 = col(row, "call_rate_kbps")?;
    let watermark_type: String = col(row, "watermark_type")?;
    let time_to_join: i64 = col(row, "time_to_join")?;
    let live_passcode: Option<String> = col(row, "live_passcode")?;
    let live_id: Option<String> = col(row, "live_id")?;
    Ok(MeetingSettings {
        name: col(row, "name")?,
        description: col(row, "description")?,
        password: password(col(row, "password")?, table)?,
        call_rate: CallRate::parse(&format!("{kbps}K"))
            .map_err(|_| corrupt(format!("{table}.call_rate_kbps")))?,
        mute_upon_entry: col(row, "mute_upon_entry")?,
        guest_dial_in: col(row, "guest_dial_in")?,
        watermark: col(row, "watermark")?,
        watermark_type: WatermarkType::parse(&watermark_type)
            .map_err(|_| corrupt(format!("{table}.watermark_type")))?,
        time_to_join_minutes: u32::try_from(time_to_join)
            .map_err(|_| corrupt(format!("{table}.time_to_join")))?,
        live: match (live_passcode, live_id) {
            (Some(passcode), Some(live_id)) => Some(LiveSettings { passcode, live_id }),
            _ => None,
        },
    })
}

fn schedule_from_row(row: &PgRow) -> StoreResult<Schedule> {
    let kind: String = col(row, "kind")?;
    Ok(Schedule {
        id: ScheduleId::from_uuid(col(row, "id")?),
        company_id: CompanyId::from_uuid(col(row, "company_id")?),
        kind: MeetingKind::parse(&kind).map_err(|_| corrupt("schedules.kind"))?,
        series_id: col::<Option<Uuid>>(row, "series_id")?.map(SeriesId::from_uuid),
        original_start: col::<Option<i64>>(row, "original_start")?
            .map(instant)
            .transpose()?,
        overridden: col(row, "overridden")?,
        recurrence: col::<Option<String>>(row, "series_frequency")?
            .map(|f| Frequency::parse(&f).map_err(|_| corrupt("series.frequency")))
            .transpose()?,
        meeting_number: number(
            &col::<String>(row, "meeting_number")?,
            "schedules.meeting_number",
        )?,
        room_id: col::<Option<Uuid>>(row, "room_id")?.map(RoomId::from_uuid),
        owner: user_ref(row, "o")?,
        slot: TimeSlot {
            start: instant(col(row, "start_at")?)?,
            end: instant(col(row, "end_at")?)?,
        },
        settings: settings_from_row(row, "schedules")?,
        invitees: invitees_from_json(&col::<String>(row, "invitees_json")?)?,
        join_code: col(row, "join_code")?,
        created_at: instant(col(row, "created_at")?)?,
        updated_at: instant(col(row, "updated_at")?)?,
        revision: revision(col(row, "revision")?)?,
    })
}

pub(crate) async fn schedule_in<'e>(
    executor: impl PgExecutor<'e>,
    company: CompanyId,
    id: ScheduleId,
) -> StoreResult<Option<Schedule>> {
    let sql =
        format!("SELECT {SCHEDULE_COLUMNS} {SCHEDULE_FROM} WHERE s.id = $1 AND s.company_id = $2");
    sqlx::query(&sql)
        .bind(id.as_uuid())
        .bind(company.as_uuid())
        .fetch_optional(executor)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(schedule_from_row)
        .transpose()
}

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

/// Binds a meeting's settings, in the order of [`SETTINGS_COLUMNS`].
fn bind_settings<'q>(query: PgQuery<'q>, st: &'q MeetingSettings) -> PgQuery<'q> {
    query
        .bind(&st.name)
        .bind(&st.description)
        .bind(st.password.as_ref().map(MeetingPassword::as_str))
        .bind(i64::from(st.call_rate.kbps()))
        .bind(st.mute_upon_entry)
        .bind(st.guest_dial_in)
        .bind(st.watermark)
        .bind(st.watermark_type.as_str())
        .bind(i64::from(st.time_to_join_minutes))
        .bind(st.live.as_ref().map(|l| l.passcode.as_str()))
        .bind(st.live.as_ref().map(|l| l.live_id.as_str()))
}

/// The settings columns, in the order [`bind_settings`] binds them.
const SETTINGS_COLUMNS: &str = "name, description, password, call_rate_kbps, mute_upon_entry, \
     guest_dial_in, watermark, watermark_type, time_to_join, live_passcode, live_id";

async fn insert_schedule_row(
    tx: &mut Tx,
    s: &Schedule,
    original_start: Option<Timestamp>,
) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO schedules (id, company_id, kind, series_id, original_start, meeting_number, \
         room_id, owner_id, start_at, end_at, name_key, join_code, created_at, updated_at, \
         {SETTINGS_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                 $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)"
    );
    let query = sqlx::query(&sql)
        .bind(s.id.as_uuid())
        .bind(s.company_id.as_uuid())
        .bind(s.kind.as_str())
        .bind(s.series_id.map(|i| i.as_uuid()))
        .bind(original_start.map(ms))
        .bind(s.meeting_number.as_str())
        .bind(s.room_id.map(|i| i.as_uuid()))
        .bind(s.owner.id.as_uuid())
        .bind(ms(s.slot.start))
        .bind(ms(s.slot.end))
        .bind(search_key(&s.settings.name))
        .bind(&s.join_code)
        .bind(ms(s.created_at))
        .bind(ms(s.updated_at));
    bind_settings(query, &s.settings)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    insert_invitees(
        tx,
        "schedule_invitees",
        "schedule_id",
        s.id.as_uuid(),
        &s.invitees,
    )
    .await
}

async fn insert_invitees(
    tx: &mut Tx,
    table: &str,
    key: &str,
    id: Uuid,
    invitees: &[UserRef],
) -> StoreResult<()> {
    sqlx::query(&format!("DELETE FROM {table} WHERE {key} = $1"))
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    if invitees.is_empty() {
        return Ok(());
    }
    let users: Vec<Uuid> = invitees.iter().map(|u| u.id.as_uuid()).collect();
    sqlx::query(&format!(
        "INSERT INTO {table} ({key}, user_id) SELECT $1, u FROM unnest($2::uuid[]) AS u \
         ON CONFLICT DO NOTHING"
    ))
    .bind(id)
    .bind(&users)
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// The room a meeting is to be held in is still the company's, checked and locked (shared)
/// in the write transaction: it can be neither deleted nor renumbered until the meeting is
/// written with its number.
async fn room_still_there(
    tx: &mut Tx,
    company: CompanyId,
    room: Option<RoomId>,
) -> StoreResult<()> {
    let Some(room) = room else {
        return Ok(());
    };
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM rooms WHERE id = $1 AND company_id = $2 FOR SHARE")
            .bind(room.as_uuid())
            .bind(company.as_uuid())
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_err)?;
    found.map(|_| ()).ok_or(StoreError::RoomNotFound)
}

/// A meeting in a room holds the room's number as it is in this transaction, whatever number
/// the caller read with the room.
async fn adopt_room_number(tx: &mut Tx, holder: Holder) -> StoreResult<()> {
    let (sql, id) = match holder {
        Holder::Schedule(id) => (
            "UPDATE schedules SET meeting_number = r.meeting_number FROM rooms r \
             WHERE schedules.id = $1 AND r.id = schedules.room_id \
             AND schedules.meeting_number <> r.meeting_number",
            id.as_uuid(),
        ),
        Holder::Series(id) => (
            "UPDATE series SET meeting_number = r.meeting_number FROM rooms r \
             WHERE series.id = $1 AND r.id = series.room_id \
             AND series.meeting_number <> r.meeting_number",
            id.as_uuid(),
        ),
        Holder::Room(_) => return Ok(()),
    };
    sqlx::query(sql)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    if let Holder::Series(id) = holder {
        sqlx::query(
            "UPDATE schedules SET meeting_number = r.meeting_number FROM rooms r \
             WHERE schedules.series_id = $1 AND r.id = schedules.room_id \
             AND schedules.meeting_number <> r.meeting_number",
        )
        .bind(id.as_uuid())
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

pub(crate) async fn create_schedule(
    store: &PgStore,
    s: &Schedule,
    trail: &Trail,
) -> StoreResult<Schedule> {
    let mut tx = store.begin().await?;
    room_still_there(&mut tx, s.company_id, s.room_id).await?;
    if s.room_id.is_none() {
        reserve_number(
            &mut tx,
            s.company_id,
            &s.meeting_number,
            Holder::Schedule(s.id),
        )
        .await?;
    }
    insert_schedule_row(&mut tx, s, None).await?;
    adopt_room_number(&mut tx, Holder::Schedule(s.id)).await?;
    let created = schedule_in(&mut *tx, s.company_id, s.id)
        .await?
        .ok_or(StoreError::NotFound)?;
    crate::webhooks::write_trail(&mut tx, trail).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(created)
}

pub(crate) async fn create_schedules(store: &PgStore, schedules: &[Schedule]) -> StoreResult<()> {
    let mut tx = store.begin().await?;
    for s in schedules {
        room_still_there(&mut tx, s.company_id, s.room_id).await?;
        if s.room_id.is_none() && s.series_id.is_none() {
            reserve_number(
                &mut tx,
                s.company_id,
                &s.meeting_number,
                Holder::Schedule(s.id),
            )
            .await?;
        }
        insert_schedule_row(&mut tx, s, None).await?;
        adopt_room_number(&mut tx, Holder::Schedule(s.id)).await?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(())
}

pub(crate) async fn update_schedule(
    store: &PgStore,
    s: &Schedule,
    trail: &Trail,
) -> StoreResult<Schedule> {
    let mut tx = store.begin().await?;
    let stored = locked_revision(&mut tx, "schedules", s.company_id, s.id.as_uuid()).await?;
    unchanged_since(stored, s.revision)?;
    let series_id: Option<Uuid> =
        sqlx::query_scalar("SELECT series_id FROM schedules WHERE id = $1")
            .bind(s.id.as_uuid())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
    room_still_there(&mut tx, s.company_id, s.room_id).await?;
    if series_id.is_none() {
        // A single meeting holds its own number unless it is in a room.
        release_numbers(&mut tx, Holder::Schedule(s.id)).await?;
        if s.room_id.is_none() {
            reserve_number(
                &mut tx,
                s.company_id,
                &s.meeting_number,
                Holder::Schedule(s.id),
            )
            .await?;
        }
    }
    let st = &s.settings;
    let query = sqlx::query(
        "UPDATE schedules SET meeting_number = $2, room_id = $3, start_at = $4, end_at = $5, \
         name_key = $6, updated_at = $7, overridden = (series_id IS NOT NULL), \
         name = $8, description = $9, password = $10, call_rate_kbps = $11, \
         mute_upon_entry = $12, guest_dial_in = $13, watermark = $14, watermark_type = $15, \
         time_to_join = $16, live_passcode = $17, live_id = $18, revision = revision + 1 \
         WHERE id = $1",
    )
    .bind(s.id.as_uuid())
    .bind(s.meeting_number.as_str())
    .bind(s.room_id.map(|i| i.as_uuid()))
    .bind(ms(s.slot.start))
    .bind(ms(s.slot.end))
    .bind(search_key(&st.name))
    .bind(ms(s.updated_at));
    bind_settings(query, st)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    insert_invitees(
        &mut tx,
        "schedule_invitees",
        "schedule_id",
        s.id.as_uuid(),
        &s.invitees,
    )
    .await?;
    adopt_room_number(&mut tx, Holder::Schedule(s.id)).await?;
    let updated = schedule_in(&mut *tx, s.company_id, s.id)
        .await?
        .ok_or(StoreError::NotFound)?;
    crate::webhooks::write_trail(&mut tx, trail).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(updated)
}

pub(crate) async fn delete_schedule(
    store: &PgStore,
    company: CompanyId,
    id: ScheduleId,
    trail: &Trail,
) -> StoreResult<()> {
    let mut tx = store.begin().await?;
    let row = sqlx::query(
        "SELECT series_id, COALESCE(original_start, start_at) AS original FROM schedules \
         WHERE id = $1 AND company_id = $2 FOR UPDATE",
    )
    .bind(id.as_uuid())
    .bind(company.as_uuid())
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?
    .ok_or(StoreError::NotFound)?;
    let series: Option<Uuid> = col(&row, "series_id")?;
    if let Some(series) = series {
        let original: i64 = col(&row, "original")?;
        remember_exdate(&mut *tx, series, original).await?;
    } else {
        release_numbers(&mut tx, Holder::Schedule(id)).await?;
    }
    sqlx::query("DELETE FROM schedules WHERE id = $1")
        .bind(id.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    crate::webhooks::write_trail(&mut tx, trail).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(())
}

/// A bound value of a statement assembled at run time.
#[derive(Debug, Clone)]
enum Arg {
    Id(Uuid),
    Text(String),
    Int(i64),
}

/// A statement assembled at run time: its text and its arguments, numbered in order.
#[derive(Debug, Clone, Default)]
struct Statement {
    args: Vec<Arg>,
}

impl Statement {
    /// Adds an argument; returns its placeholder (`$n`).
    fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    fn bind<'q>(&self, sql: &'q str) -> PgQuery<'q> {
        let mut query = sqlx::query(sql);
        for arg in &self.args {
            query = match arg {
                Arg::Id(id) => query.bind(*id),
                Arg::Text(t) => query.bind(t.clone()),
                Arg::Int(n) => query.bind(*n),
            };
        }
        query
    }
}

/// PostgreSQL's translation of [`MeetingFilter`] (the filter's one definition, in the
/// domain; SQLite's SQL and the in-memory index translate it too): the name key contains its
/// name key (both lower-cased by Rust), or the number starts with its number prefix.
fn filter_condition(st: &mut Statement, filter: Option<&MeetingFilter>) -> Option<String> {
    let f = filter?;
    let name = st.arg(Arg::Text(like_contains(f.name_key())));
    let mut sql = format!("(s.name_key LIKE {name} ESCAPE '\\'");
    // The column compares by code point (`COLLATE "C"`), as the range wants.
    if let Some((from, to)) = f.number_range() {
        let from = st.arg(Arg::Text(from.to_owned()));
        let to = st.arg(Arg::Text(to));
        sql.push_str(&format!(
            " OR (s.meeting_number >= {from} AND s.meeting_number < {to})"
        ));
    }
    sql.push(')');
    Some(sql)
}

/// A page of the meetings matching `scope` (a condition on `s`, with its arguments already in
/// `st`) and the filter, by start then id, with the total of matches: one statement, so the
/// page and the total are one snapshot.
async fn page_of_schedules(
    store: &PgStore,
    mut st: Statement,
    scope: String,
    filter: Option<&MeetingFilter>,
    page: PageRequest,
) -> StoreResult<Page<Schedule>> {
    let condition = match filter_condition(&mut st, filter) {
        Some(f) => format!("{scope} AND {f}"),
        None => scope,
    };
    let limit_arg = st.arg(Arg::Int(limit(page)));
    let offset_arg = st.arg(Arg::Int(offset(page)));
    let sql = format!(
        "WITH m AS MATERIALIZED (SELECT s.id, s.start_at FROM schedules s WHERE {condition}) \
         SELECT {SCHEDULE_COLUMNS}, (SELECT COUNT(*) FROM m) AS total {SCHEDULE_FROM} \
         WHERE s.id IN (SELECT id FROM m ORDER BY start_at, id LIMIT {limit_arg} OFFSET {offset_arg}) \
         ORDER BY s.start_at, s.id"
    );
    let mut tx = store.read_snapshot().await?;
    let rows = st.bind(&sql).fetch_all(&mut *tx).await.map_err(db_err)?;
    let mut total: Option<i64> = None;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        if total.is_none() {
            total = Some(col(row, "total")?);
        }
        items.push(schedule_from_row(row)?);
    }
    let total = match total {
        Some(total) => total,
        // A page past the end has no row to carry the total: count on its own.
        None if page.offset() > 0 => {
            st.args.truncate(st.args.len() - 2);
            let sql = format!("SELECT COUNT(*) FROM schedules s WHERE {condition}");
            let row = st.bind(&sql).fetch_one(&mut *tx).await.map_err(db_err)?;
            sqlx::Row::try_get::<i64, _>(&row, 0).map_err(db_err)?
        }
        None => 0,
    };
    tx.commit().await.map_err(db_err)?;
    Ok(Page {
        items,
        total: count(total),
    })
}

pub(crate) async fn find_schedules(
    store: &PgStore,
    company: CompanyId,
    scope: MeetingScope,
    filter: Option<&str>,
    page: PageRequest,
) -> StoreResult<Page<ScheduleSummary>> {
    let filter = MeetingFilter::parse(filter);
    let filter = filter.as_ref();
    let mut st = Statement::default();
    let company_arg = st.arg(Arg::Id(company.as_uuid()));
    let scope = match scope {
        MeetingScope::Company => {
            if let Listed::Page(found) =
                company_list_from_memory(store, company, filter, page).await?
            {
                return Ok(found);
            }
            format!("s.company_id = {company_arg}")
        }
        MeetingScope::Participant(user) => {
            let user = st.arg(Arg::Id(user.as_uuid()));
            format!(
                "s.company_id = {company_arg} AND (s.owner_id = {user} OR s.id IN \
                 (SELECT i.schedule_id FROM schedule_invitees i WHERE i.user_id = {user}))"
            )
        }
    };
    Ok(page_of_schedules(store, st, scope, filter, page)
        .await?
        .map(|s| ScheduleSummary::from(&s)))
}

// --- the company-wide list from memory --------------------------------------------------------

/// A meeting of the company as its detail shows it: remembered at the company's generation,
/// read with the other answers waiting (`crate::generations`), or read with the generation
/// in one statement.
pub(crate) async fn schedule(
    store: &PgStore,
    company: CompanyId,
    id: ScheduleId,
) -> StoreResult<Option<Schedule>> {
    store
        .schedules
        .schedule(&mut ScheduleReads::Shared(store), company, id)
        .await
}

/// This backend's side of the meeting list's speed layer (`plenum_store_memory::schedules`).
enum ScheduleReads<'c> {
    /// A rebuild: a `REPEATABLE READ` transaction's connection, so the generation and the rows
    /// it indexes are one snapshot.
    Snapshot(&'c mut sqlx::PgConnection),
    /// A list, which only reads the generation: with the other answers waiting
    /// (`crate::generations`), or on its own if that read failed.
    Shared(&'c PgStore),
}

impl ScheduleSnapshot for ScheduleReads<'_> {
    async fn schedule(
        &mut self,
        company: CompanyId,
        id: ScheduleId,
    ) -> StoreResult<Option<(i64, Schedule)>> {
        // The generation in the row's statement: its snapshot's, in a transaction or not.
        let sql = format!(
            "SELECT COALESCE((SELECT generation FROM change_generations \
                 WHERE company_id = $2 AND subject = 'schedules'), 0) AS read_generation, \
             {SCHEDULE_COLUMNS} {SCHEDULE_FROM} WHERE s.id = $1 AND s.company_id = $2"
        );
        let query = sqlx::query(&sql).bind(id.as_uuid()).bind(company.as_uuid());
        let row = match self {
            ScheduleReads::Snapshot(conn) => query.fetch_optional(&mut **conn).await,
            ScheduleReads::Shared(store) => query.fetch_optional(&store.pool).await,
        }
        .map_err(db_err)?;
        row.map(|row| Ok((col(&row, "read_generation")?, schedule_from_row(&row)?)))
            .transpose()
    }

    async fn generation(&mut self, company: CompanyId) -> StoreResult<i64> {
        let conn = match self {
            ScheduleReads::Snapshot(conn) => &mut **conn,
            ScheduleReads::Shared(store) => {
                if let Some(read) = store.generations.read(company, None).await {
                    return Ok(read.of(Subject::Schedules));
                }
                &mut *store.pool.acquire().await.map_err(db_err)?
            }
        };
        let generation: Option<i64> = sqlx::query_scalar(
            "SELECT generation FROM change_generations WHERE company_id = $1 AND subject = $2",
        )
        .bind(company.as_uuid())
        .bind(Subject::Schedules.as_str())
        .fetch_optional(conn)
        .await
        .map_err(db_err)?;
        Ok(generation.unwrap_or(0))
    }

    async fn scan_schedules(
        &mut self,
        company: CompanyId,
        each: &mut (dyn FnMut(ScheduleEntry<'_>) -> StoreResult<()> + Send),
    ) -> StoreResult<()> {
        // The list order of `page_of_schedules`.
        let ScheduleReads::Snapshot(conn) = self else {
            return Err(internal(std::io::Error::other(
                "a meeting list reads no rows from memory's side",
            )));
        };
        let rows = sqlx::query(
            "SELECT s.id, s.kind, s.series_id, sr.frequency AS series_frequency, \
             s.meeting_number, s.name, s.name_key, s.password, s.start_at, s.end_at, s.join_code, \
             o.id AS o_id, o.username AS o_username, o.real_name AS o_real_name \
             FROM schedules s JOIN users o ON o.id = s.owner_id \
             LEFT JOIN series sr ON sr.id = s.series_id \
             WHERE s.company_id = $1 ORDER BY s.start_at, s.id",
        )
        .bind(company.as_uuid())
        .fetch_all(&mut **conn)
        .await
        .map_err(db_err)?;
        for row in &rows {
            let kind: &str = col(row, "kind")?;
            let summary = ScheduleSummary {
                id: ScheduleId::from_uuid(col(row, "id")?),
                company_id: company,
                kind: MeetingKind::parse(kind).map_err(|_| corrupt("schedules.kind"))?,
                series_id: col::<Option<Uuid>>(row, "series_id")?.map(SeriesId::from_uuid),
                recurrence: col::<Option<String>>(row, "series_frequency")?
                    .map(|f| Frequency::parse(&f).map_err(|_| corrupt("series.frequency")))
                    .transpose()?,
                meeting_number: number(
                    &col::<String>(row, "meeting_number")?,
                    "schedules.meeting_number",
                )?,
                name: col(row, "name")?,
                password: password(col(row, "password")?, "schedules")?,
                slot: TimeSlot {
                    start: instant(col(row, "start_at")?)?,
                    end: instant(col(row, "end_at")?)?,
                },
                owner: std::sync::Arc::new(user_ref(row, "o")?),
                join_code: col(row, "join_code")?,
            };
            each(ScheduleEntry {
                summary,
                name_key: col(row, "name_key")?,
            })?;
        }
        Ok(())
    }
}

/// A page of the company's meetings from its index if it is current (one read of the
/// generation); else `Stale`, having started the background rebuild if the memory asked
/// for it. As on SQLite: a 100,000-meeting company takes too long to index in a request.
async fn company_list_from_memory(
    store: &PgStore,
    company: CompanyId,
    filter: Option<&MeetingFilter>,
    page: PageRequest,
) -> StoreResult<Listed> {
    let listed = store
        .schedules
        .page(&mut ScheduleReads::Shared(store), company, filter, page)
        .await?;
    if let Listed::Stale { rebuild: true } = listed {
        let began = Instant::now();
        let store = store.clone();
        tokio::spawn(async move {
            let result = async {
                let mut tx = store.read_snapshot().await?;
                let built =
                    ScheduleMemory::build(&mut ScheduleReads::Snapshot(&mut tx), company).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(built)
            }
            .await;
            store.schedules.rebuilt(company, began, result);
        });
    }
    Ok(listed)
}

/// Waits (polling every millisecond, at most `within`) until the company's index is current.
pub(crate) async fn settle_lists(
    store: &PgStore,
    company: CompanyId,
    within: Duration,
) -> StoreResult<bool> {
    let deadline = Instant::now() + within;
    let first = PageRequest::by_offset(0, 1, 1).map_err(internal)?;
    loop {
        if let Listed::Page(_) = company_list_from_memory(store, company, None, first).await? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

// --- series ----------------------------------------------------------------------------------

const SERIES_SELECT: &str = "SELECT s.id, s.company_id, s.meeting_number, s.room_id, \
     s.frequency, s.\"interval\", s.first_start, s.duration_ms, s.until, s.time_zone, s.name, \
     s.description, s.password, s.call_rate_kbps, s.mute_upon_entry, s.guest_dial_in, \
     s.watermark, s.watermark_type, s.time_to_join, s.live_passcode, s.live_id, s.join_code, \
     s.created_at, s.updated_at, s.revision, \
     o.id AS o_id, o.username AS o_username, o.real_name AS o_real_name \
     FROM series s JOIN users o ON o.id = s.owner_id";

fn series_from_row(row: &PgRow) -> StoreResult<Series> {
    let frequency: String = col(row, "frequency")?;
    let interval: i64 = col(row, "interval")?;
    let first_start: i64 = col(row, "first_start")?;
    let duration: i64 = col(row, "duration_ms")?;
    let until: i64 = col(row, "until")?;
    let tz: String = col(row, "time_zone")?;
    let rule = RecurrenceRule::new(
        Frequency::parse(&frequency).map_err(|_| corrupt("series.frequency"))?,
        interval,
        first_start,
        first_start.saturating_add(duration),
        None,
        until,
        TimeZoneName::parse(&tz).map_err(|_| corrupt("series.time_zone"))?,
    )
    .map_err(|e| corrupt(format!("series rule: {e}")))?;
    Ok(Series {
        id: SeriesId::from_uuid(col(row, "id")?),
        company_id: CompanyId::from_uuid(col(row, "company_id")?),
        meeting_number: number(
            &col::<String>(row, "meeting_number")?,
            "series.meeting_number",
        )?,
        room_id: col::<Option<Uuid>>(row, "room_id")?.map(RoomId::from_uuid),
        owner: user_ref(row, "o")?,
        rule,
        settings: settings_from_row(row, "series")?,
        invitees: Vec::new(),
        join_code: col(row, "join_code")?,
        created_at: instant(col(row, "created_at")?)?,
        updated_at: instant(col(row, "updated_at")?)?,
        revision: revision(col(row, "revision")?)?,
    })
}

async fn series_invitees(tx: &mut Tx, id: SeriesId) -> StoreResult<Vec<UserRef>> {
    sqlx::query(
        "SELECT u.id AS u_id, u.username AS u_username, u.real_name AS u_real_name \
         FROM series_invitees i JOIN users u ON u.id = i.user_id WHERE i.series_id = $1 \
         ORDER BY u.username_key",
    )
    .bind(id.as_uuid())
    .fetch_all(&mut **tx)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| user_ref(row, "u"))
    .collect()
}

pub(crate) async fn series_in(
    tx: &mut Tx,
    company: CompanyId,
    id: SeriesId,
) -> StoreResult<Option<Series>> {
    let sql = format!("{SERIES_SELECT} WHERE s.id = $1 AND s.company_id = $2");
    let Some(row) = sqlx::query(&sql)
        .bind(id.as_uuid())
        .bind(company.as_uuid())
        .fetch_optional(&mut **tx)
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let mut series = series_from_row(&row)?;
    series.invitees = series_invitees(tx, id).await?;
    Ok(Some(series))
}

async fn write_series_row(tx: &mut Tx, s: &Series, insert: bool) -> StoreResult<()> {
    let sql = if insert {
        format!(
            "INSERT INTO series (id, company_id, meeting_number, room_id, owner_id, frequency, \
             \"interval\", first_start, duration_ms, until, time_zone, join_code, created_at, \
             updated_at, {SETTINGS_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                     $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)"
        )
    } else {
        "UPDATE series SET company_id = $2, meeting_number = $3, room_id = $4, owner_id = $5, \
         frequency = $6, \"interval\" = $7, first_start = $8, duration_ms = $9, until = $10, \
         time_zone = $11, join_code = $12, created_at = $13, updated_at = $14, name = $15, \
         description = $16, password = $17, call_rate_kbps = $18, mute_upon_entry = $19, \
         guest_dial_in = $20, watermark = $21, watermark_type = $22, time_to_join = $23, \
         live_passcode = $24, live_id = $25, revision = revision + 1 WHERE id = $1"
            .to_owned()
    };
    let r = &s.rule;
    let query = sqlx::query(&sql)
        .bind(s.id.as_uuid())
        .bind(s.company_id.as_uuid())
        .bind(s.meeting_number.as_str())
        .bind(s.room_id.map(|i| i.as_uuid()))
        .bind(s.owner.id.as_uuid())
        .bind(r.frequency().as_str())
        .bind(i64::from(r.interval()))
        .bind(ms(r.first_start()))
        .bind(i64::try_from(r.duration().as_millis()).unwrap_or(i64::MAX))
        .bind(ms(r.until()))
        .bind(r.time_zone().as_str())
        .bind(&s.join_code)
        .bind(ms(s.created_at))
        .bind(ms(s.updated_at));
    bind_settings(query, &s.settings)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    insert_invitees(
        tx,
        "series_invitees",
        "series_id",
        s.id.as_uuid(),
        &s.invitees,
    )
    .await
}

async fn insert_occurrences(tx: &mut Tx, occurrences: &[Schedule]) -> StoreResult<()> {
    for o in occurrences {
        insert_schedule_row(tx, o, Some(o.rule_start())).await?;
    }
    Ok(())
}

pub(crate) async fn create_series(
    store: &PgStore,
    s: &Series,
    occurrences: &[Schedule],
    trail: &Trail,
) -> StoreResult<Series> {
    let mut tx = store.begin().await?;
    room_still_there(&mut tx, s.company_id, s.room_id).await?;
    if s.room_id.is_none() {
        reserve_number(
            &mut tx,
            s.company_id,
            &s.meeting_number,
            Holder::Series(s.id),
        )
        .await?;
    }
    write_series_row(&mut tx, s, true).await?;
    insert_occurrences(&mut tx, occurrences).await?;
    adopt_room_number(&mut tx, Holder::Series(s.id)).await?;
    let created = series_in(&mut tx, s.company_id, s.id)
        .await?
        .ok_or(StoreError::NotFound)?;
    crate::webhooks::write_trail(&mut tx, trail).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(created)
}

pub(crate) async fn replace_series(
    store: &PgStore,
    s: &Series,
    rebuilt: &[Schedule],
    trail: &Trail,
) -> StoreResult<Series> {
    let mut tx = store.begin().await?;
    let stored = locked_revision(&mut tx, "series", s.company_id, s.id.as_uuid()).await?;
    unchanged_since(stored, s.revision)?;
    room_still_there(&mut tx, s.company_id, s.room_id).await?;
    // What carries over is read in this transaction, its occurrences locked: a deletion of
    // one (which locks it) is either seen here or waits for this change.
    let previous = sqlx::query(
        "SELECT id, COALESCE(original_start, start_at) AS original, created_at, revision \
         FROM schedules WHERE series_id = $1 FOR UPDATE",
    )
    .bind(s.id.as_uuid())
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    // An occurrence carried over keeps its id: it must not keep its revision too, or an
    // update merged from the occurrence as it was before would not see the series' change.
    let mut occurrence_revision: i64 = 1;
    let previous = previous
        .iter()
        .map(|row| {
            occurrence_revision = occurrence_revision.max(col::<i64>(row, "revision")? + 1);
            Ok(PreviousOccurrence {
                id: ScheduleId::from_uuid(col(row, "id")?),
                original_start: instant(col(row, "original")?)?,
                created_at: instant(col(row, "created_at")?)?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let deleted = exdates_in(&mut *tx, s.id).await?;
    let (occurrences, exdates) = carry_over_occurrences(rebuilt.to_vec(), &previous, &deleted);
    release_numbers(&mut tx, Holder::Series(s.id)).await?;
    if s.room_id.is_none() {
        reserve_number(
            &mut tx,
            s.company_id,
            &s.meeting_number,
            Holder::Series(s.id),
        )
        .await?;
    }
    write_series_row(&mut tx, s, false).await?;
    for sql in [
        "DELETE FROM schedules WHERE series_id = $1",
        "DELETE FROM series_exdates WHERE series_id = $1",
    ] {
        sqlx::query(sql)
            .bind(s.id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    insert_occurrences(&mut tx, &occurrences).await?;
    sqlx::query("UPDATE schedules SET revision = $2 WHERE series_id = $1")
        .bind(s.id.as_uuid())
        .bind(occurrence_revision)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    for exdate in exdates {
        remember_exdate(&mut *tx, s.id.as_uuid(), ms(exdate)).await?;
    }
    adopt_room_number(&mut tx, Holder::Series(s.id)).await?;
    let replaced = series_in(&mut tx, s.company_id, s.id)
        .await?
        .ok_or(StoreError::NotFound)?;
    crate::webhooks::write_trail(&mut tx, trail).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(replaced)
}

pub(crate) async fn delete_series(
    store: &PgStore,
    company: CompanyId,
    id: SeriesId,
    trail: &Trail,
) -> StoreResult<()> {
    let mut tx = store.begin().await?;
    let done = sqlx::query("DELETE FROM series WHERE id = $1 AND company_id = $2")
        .bind(id.as_uuid())
        .bind(company.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    release_numbers(&mut tx, Holder::Series(id)).await?;
    crate::webhooks::write_trail(&mut tx, trail).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(())
}

pub(crate) async fn series_occurrences(
    store: &PgStore,
    company: CompanyId,
    id: SeriesId,
    filter: Option<&str>,
    page: PageRequest,
) -> StoreResult<Page<Schedule>> {
    let mut st = Statement::default();
    let company = st.arg(Arg::Id(company.as_uuid()));
    let series = st.arg(Arg::Id(id.as_uuid()));
    let scope = format!("s.company_id = {company} AND s.series_id = {series}");
    page_of_schedules(
        store,
        st,
        scope,
        MeetingFilter::parse(filter).as_ref(),
        page,
    )
    .await
}

/// The number a meeting link opens: a schedule's join code, else the code itself when the
/// registry of numbers holds it. One statement.
pub(crate) async fn meeting_number_of_link(
    store: &PgStore,
    code: &str,
) -> StoreResult<Option<MeetingNumber>> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT number FROM ( \
           SELECT meeting_number AS number, 0 AS rank FROM schedules WHERE join_code = $1 \
           UNION ALL \
           SELECT number, 1 AS rank FROM meeting_numbers WHERE number = $1 \
         ) AS found ORDER BY rank LIMIT 1",
    )
    .bind(code)
    .fetch_optional(&store.pool)
    .await
    .map_err(db_err)?;
    found.map(|n| number(&n, "meeting link number")).transpose()
}

/// The original starts of a series' occurrences deleted one by one, in order.
pub(crate) async fn exdates_in<'e>(
    db: impl PgExecutor<'e>,
    id: SeriesId,
) -> StoreResult<Vec<Timestamp>> {
    let rows: Vec<i64> = sqlx::query_scalar(
        "SELECT original_start FROM series_exdates WHERE series_id = $1 ORDER BY original_start",
    )
    .bind(id.as_uuid())
    .fetch_all(db)
    .await
    .map_err(db_err)?;
    rows.into_iter().map(instant).collect()
}

/// Remembers that the occurrence of `series` at `original_start` (ms) was deleted.
async fn remember_exdate<'e>(
    db: impl PgExecutor<'e>,
    series: Uuid,
    original_start: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO series_exdates (series_id, original_start) VALUES ($1, $2) \
         ON CONFLICT DO NOTHING",
    )
    .bind(series)
    .bind(original_start)
    .execute(db)
    .await
    .map_err(db_err)?;
    Ok(())
}

// --- calendars -------------------------------------------------------------------------------

pub(crate) async fn calendar_of(
    store: &PgStore,
    company: CompanyId,
    user: UserId,
) -> StoreResult<(Vec<Schedule>, Vec<Series>)> {
    let mut tx = store.read_snapshot().await?;
    let sql = format!(
        "SELECT {SCHEDULE_COLUMNS} {SCHEDULE_FROM} \
         WHERE s.company_id = $1 AND s.series_id IS NULL AND (s.owner_id = $2 OR s.id IN \
         (SELECT i.schedule_id FROM schedule_invitees i WHERE i.user_id = $2)) \
         ORDER BY s.start_at, s.id"
    );
    let singles = sqlx::query(&sql)
        .bind(company.as_uuid())
        .bind(user.as_uuid())
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?
        .iter()
        .map(schedule_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    let sql = format!(
        "{SERIES_SELECT} WHERE s.company_id = $1 AND (s.owner_id = $2 OR s.id IN \
         (SELECT series_id FROM series_invitees WHERE user_id = $2)) ORDER BY s.first_start, s.id"
    );
    let rows = sqlx::query(&sql)
        .bind(company.as_uuid())
        .bind(user.as_uuid())
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
    let mut all_series = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut s = series_from_row(row)?;
        s.invitees = series_invitees(&mut tx, s.id).await?;
        all_series.push(s);
    }
    tx.commit().await.map_err(db_err)?;
    Ok((singles, all_series))
}

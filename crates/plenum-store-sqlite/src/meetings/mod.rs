//! Rooms, scheduled meetings, series and calendar feeds in SQLite.

mod company_list;

pub(crate) use company_list::settle as settle_lists;

use std::collections::HashMap;

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqliteExecutor, Transaction};
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

use crate::{
    SqliteStore, corrupt, db_err, instant, ms, number, password, unique_violation, write_tx,
};

/// A result row of either driver (sqlx for writes and their read-backs, rusqlite for the hot
/// reads, see `reads.rs`): the row mappers are written once, against this.
pub(crate) trait Columns {
    fn col<T: Column>(&self, name: &str) -> StoreResult<T>;
}

/// A column type both drivers decode.
pub(crate) trait Column: Sized {
    fn from_sqlx(row: &SqliteRow, name: &str) -> StoreResult<Self>;
    fn from_rusqlite(row: &rusqlite::Row<'_>, index: usize) -> StoreResult<Self>;
}

macro_rules! column {
    ($($t:ty),*) => {$(
        impl Column for $t {
            fn from_sqlx(row: &SqliteRow, name: &str) -> StoreResult<Self> {
                row.try_get::<$t, _>(name).map_err(db_err)
            }
            fn from_rusqlite(row: &rusqlite::Row<'_>, index: usize) -> StoreResult<Self> {
                row.get::<_, $t>(index).map_err(crate::internal)
            }
        }
    )*};
}
column!(i64, Option<i64>, String, Option<String>, Uuid, Option<Uuid>);

impl Columns for SqliteRow {
    fn col<T: Column>(&self, name: &str) -> StoreResult<T> {
        T::from_sqlx(self, name)
    }
}

/// A rusqlite row with its statement's column positions, looked up once per statement:
/// rusqlite's lookup by name scans every column name of the row on every call, which was a
/// tenth of a list request's time.
pub(crate) struct IndexedRow<'a, 'r> {
    pub(crate) row: &'a rusqlite::Row<'r>,
    pub(crate) columns: &'a HashMap<String, usize>,
}

/// The positions of a prepared statement's columns by name.
pub(crate) fn column_positions(statement: &rusqlite::Statement<'_>) -> HashMap<String, usize> {
    statement
        .column_names()
        .into_iter()
        .enumerate()
        .map(|(i, name)| (name.to_owned(), i))
        .collect()
}

impl Columns for IndexedRow<'_, '_> {
    fn col<T: Column>(&self, name: &str) -> StoreResult<T> {
        let index = *self
            .columns
            .get(name)
            .ok_or_else(|| corrupt(format!("no column {name} in the result")))?;
        T::from_rusqlite(self.row, index)
    }
}

fn user_ref<R: Columns>(row: &R, prefix: &str) -> StoreResult<UserRef> {
    Ok(UserRef {
        id: UserId::from_uuid(row.col(&format!("{prefix}_id"))?),
        username: row.col(&format!("{prefix}_username"))?,
        real_name: row.col(&format!("{prefix}_real_name"))?,
    })
}

/// A stored revision (never negative: it starts at 0 and only grows).
fn revision(raw: i64) -> StoreResult<u64> {
    u64::try_from(raw).map_err(|_| corrupt("revision"))
}

/// The revision an update was merged from is still the stored one: checked in the write
/// transaction, before anything is written. Otherwise another change was committed since
/// the caller read, and writing would lose it.
fn unchanged_since(stored: u64, read: u64) -> StoreResult<()> {
    if stored == read {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

// --- meeting numbers -------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Holder {
    Room(RoomId),
    Schedule(ScheduleId),
    Series(SeriesId),
}

async fn reserve_number(
    tx: &mut Transaction<'_, Sqlite>,
    company: CompanyId,
    number: &MeetingNumber,
    holder: Holder,
) -> StoreResult<()> {
    let (room, schedule, series) = match holder {
        Holder::Room(id) => (Some(id.as_uuid()), None, None),
        Holder::Schedule(id) => (None, Some(id.as_uuid()), None),
        Holder::Series(id) => (None, None, Some(id.as_uuid())),
    };
    let inserted = sqlx::query(
        "INSERT INTO meeting_numbers (number, company_id, room_id, schedule_id, series_id) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .bind(number.as_str())
    .bind(company.as_uuid())
    .bind(room)
    .bind(schedule)
    .bind(series)
    .execute(&mut **tx)
    .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if unique_violation(&e).is_some() => Err(StoreError::MeetingNumberTaken),
        Err(e) => Err(db_err(e)),
    }
}

async fn release_numbers(tx: &mut Transaction<'_, Sqlite>, holder: Holder) -> StoreResult<()> {
    let (sql, id) = match holder {
        Holder::Room(id) => (
            "DELETE FROM meeting_numbers WHERE room_id = ?1",
            id.as_uuid(),
        ),
        Holder::Schedule(id) => (
            "DELETE FROM meeting_numbers WHERE schedule_id = ?1",
            id.as_uuid(),
        ),
        Holder::Series(id) => (
            "DELETE FROM meeting_numbers WHERE series_id = ?1",
            id.as_uuid(),
        ),
    };
    sqlx::query(sql)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

// --- people ----------------------------------------------------------------------------------

pub(crate) async fn user_refs(
    store: &SqliteStore,
    company: CompanyId,
    ids: &[UserId],
) -> StoreResult<Vec<UserRef>> {
    let mut found = Vec::with_capacity(ids.len());
    // Chunks keep the statement under SQLite's variable limit for any input size.
    for chunk in ids.chunks(500) {
        let placeholders = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT id AS u_id, username AS u_username, real_name AS u_real_name FROM users \
             WHERE company_id = ? AND id IN ({placeholders})"
        );
        let mut query = sqlx::query(&sql).bind(company.as_uuid());
        for id in chunk {
            query = query.bind(id.as_uuid());
        }
        for row in query.fetch_all(&store.reader).await.map_err(db_err)? {
            found.push(user_ref(&row, "u")?);
        }
    }
    Ok(found)
}

// --- rooms -----------------------------------------------------------------------------------

const ROOM_SELECT: &str = "SELECT r.id, r.company_id, r.name, r.meeting_number, r.password, r.created_at, r.revision, \
     o.id AS o_id, o.username AS o_username, o.real_name AS o_real_name, \
     c.id AS c_id, c.username AS c_username, c.real_name AS c_real_name \
     FROM rooms r JOIN users o ON o.id = r.owner_id JOIN users c ON c.id = r.creator_id";

fn room_from_row<R: Columns>(row: &R) -> StoreResult<Room> {
    Ok(Room {
        id: RoomId::from_uuid(row.col("id")?),
        company_id: CompanyId::from_uuid(row.col("company_id")?),
        name: row.col("name")?,
        meeting_number: number(
            &row.col::<String>("meeting_number")?,
            "rooms.meeting_number",
        )?,
        password: password(row.col("password")?, "rooms.password")?,
        owner: user_ref(row, "o")?,
        creator: user_ref(row, "c")?,
        created_at: instant(row.col("created_at")?)?,
        revision: revision(row.col("revision")?)?,
    })
}

async fn room_in(
    executor: impl SqliteExecutor<'_>,
    company: CompanyId,
    id: RoomId,
) -> StoreResult<Option<Room>> {
    let sql = format!("{ROOM_SELECT} WHERE r.id = ?1 AND r.company_id = ?2");
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

pub(crate) async fn create_room(store: &SqliteStore, room: &Room) -> StoreResult<Room> {
    let mut tx = write_tx(&store.writer).await?;
    reserve_number(
        &mut tx,
        room.company_id,
        &room.meeting_number,
        Holder::Room(room.id),
    )
    .await?;
    sqlx::query(
        "INSERT INTO rooms (id, company_id, name, meeting_number, password, owner_id, creator_id, created_at, name_key) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
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

pub(crate) async fn room(
    store: &SqliteStore,
    company: CompanyId,
    id: RoomId,
) -> StoreResult<Option<Room>> {
    // A hot read (Rocket.Chat checks the room before every list): the rusqlite pool, not a
    // round trip through sqlx's worker thread.
    store.reads.read(|conn| read_room(conn, company, id))
}

/// A room of the company, read on a connection of the read pool.
pub(crate) fn read_room(
    conn: &rusqlite::Connection,
    company: CompanyId,
    id: RoomId,
) -> StoreResult<Option<Room>> {
    row_of_company(
        conn,
        &format!("{ROOM_SELECT} WHERE r.id = ?1 AND r.company_id = ?2"),
        id.as_uuid(),
        company,
        |row| room_from_row(row),
    )
}

/// The row `sql` finds by id (`?1`) in the company (`?2`), mapped, if there is one.
fn row_of_company<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    id: Uuid,
    company: CompanyId,
    map: impl Fn(&IndexedRow<'_, '_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(crate::internal)?;
    let columns = column_positions(&statement);
    let mut rows = statement
        .query(rusqlite::params![id, company.as_uuid()])
        .map_err(crate::internal)?;
    match rows.next().map_err(crate::internal)? {
        Some(row) => map(&IndexedRow {
            row,
            columns: &columns,
        })
        .map(Some),
        None => Ok(None),
    }
}

pub(crate) async fn rooms(
    store: &SqliteStore,
    company: CompanyId,
    filter: Option<&str>,
    page: PageRequest,
) -> StoreResult<Page<Room>> {
    // A substring search scans one company's rooms (a few hundred at most), as the user list
    // scans its users. Names are compared by the store's key (Rust's lower case, as on
    // PostgreSQL), which the filter is folded to as well.
    let pattern = filter
        .filter(|f| !f.is_empty())
        .map(|f| crate::like_contains(&search_key(f)));
    let condition = "r.company_id = ?1 AND (?2 IS NULL \
         OR r.name_key LIKE ?2 ESCAPE '\\' OR r.meeting_number LIKE ?2 ESCAPE '\\')";
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM rooms r WHERE {condition}"))
        .bind(company.as_uuid())
        .bind(pattern.as_deref())
        .fetch_one(&store.reader)
        .await
        .map_err(db_err)?;
    let sql = format!(
        "{ROOM_SELECT} WHERE {condition} ORDER BY r.created_at, r.rowid LIMIT ?3 OFFSET ?4"
    );
    let items = sqlx::query(&sql)
        .bind(company.as_uuid())
        .bind(pattern.as_deref())
        .bind(i64::from(page.limit()))
        .bind(i64::try_from(page.offset()).unwrap_or(i64::MAX))
        .fetch_all(&store.reader)
        .await
        .map_err(db_err)?
        .iter()
        .map(room_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page {
        items,
        total: u64::try_from(total).unwrap_or(0),
    })
}

pub(crate) async fn update_room(store: &SqliteStore, room: &Room) -> StoreResult<Room> {
    let mut tx = write_tx(&store.writer).await?;
    let before = room_in(&mut *tx, room.company_id, room.id)
        .await?
        .ok_or(StoreError::NotFound)?;
    unchanged_since(before.revision, room.revision)?;
    if before.meeting_number != room.meeting_number {
        let in_use: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM schedules WHERE room_id = ?1) + \
                    (SELECT COUNT(*) FROM series WHERE room_id = ?1)",
        )
        .bind(room.id.as_uuid())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        if in_use > 0 {
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
        "UPDATE rooms SET name = ?2, meeting_number = ?3, password = ?4, owner_id = ?5, \
         name_key = ?6, revision = revision + 1 WHERE id = ?1",
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
    store: &SqliteStore,
    company: CompanyId,
    id: RoomId,
) -> StoreResult<()> {
    let mut tx = write_tx(&store.writer).await?;
    room_in(&mut *tx, company, id)
        .await?
        .ok_or(StoreError::NotFound)?;
    let in_use: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM schedules WHERE room_id = ?1) + \
                (SELECT COUNT(*) FROM series WHERE room_id = ?1)",
    )
    .bind(id.as_uuid())
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    if in_use > 0 {
        return Err(StoreError::RoomInUse);
    }
    release_numbers(&mut tx, Holder::Room(id)).await?;
    sqlx::query("DELETE FROM rooms WHERE id = ?1")
        .bind(id.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(())
}

// --- schedules -------------------------------------------------------------------------------

const SCHEDULE_SELECT: &str = concat!("SELECT ", schedule_columns!(), " ", schedule_from!());

/// The columns [`schedule_from_row`] reads (a macro so that statements can add to them).
macro_rules! schedule_columns {
    () => {
        "s.id, s.company_id, s.kind, s.series_id, s.original_start, \
     s.overridden, s.meeting_number, \
     s.room_id, s.start_at, s.end_at, s.name, s.description, s.password, s.call_rate_kbps, \
     s.mute_upon_entry, s.guest_dial_in, s.watermark, s.watermark_type, s.time_to_join, \
     s.live_passcode, s.live_id, s.join_code, s.created_at, s.updated_at, s.revision, \
     o.id AS o_id, o.username AS o_username, o.real_name AS o_real_name, \
     sr.frequency AS series_frequency, \
     (SELECT json_group_array(json_array(lower(hex(iu.id)), iu.username, iu.real_name)) \
        FROM schedule_invitees i JOIN users iu ON iu.id = i.user_id WHERE i.schedule_id = s.id) \
        AS invitees_json"
    };
}
use schedule_columns;

macro_rules! schedule_from {
    () => {
        "FROM schedules s JOIN users o ON o.id = s.owner_id LEFT JOIN series sr ON sr.id = s.series_id"
    };
}
use schedule_from;

/// The invitees of a row of [`SCHEDULE_SELECT`], which come as one JSON array of
/// `[id-hex, username, real_name]` so that a meeting is read in a single query.
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

fn settings_from_row<R: Columns>(row: &R, table: &str) -> StoreResult<MeetingSettings> {
    let kbps: i64 = row.col("call_rate_kbps")?;
    let watermark_type: String = row.col("watermark_type")?;
    let time_to_join: i64 = row.col("time_to_join")?;
    let live_passcode: Option<String> = row.col("live_passcode")?;
    let live_id: Option<String> = row.col("live_id")?;
    Ok(MeetingSettings {
        name: row.col("name")?,
        description: row.col("description")?,
        password: password(row.col("password")?, table)?,
        call_rate: CallRate::parse(&format!("{kbps}K"))
            .map_err(|_| corrupt(format!("{table}.call_rate_kbps")))?,
        mute_upon_entry: row.col::<i64>("mute_upon_entry")? != 0,
        guest_dial_in: row.col::<i64>("guest_dial_in")? != 0,
        watermark: row.col::<i64>("watermark")? != 0,
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

fn schedule_from_row<R: Columns>(row: &R) -> StoreResult<Schedule> {
    let kind: String = row.col("kind")?;
    Ok(Schedule {
        id: ScheduleId::from_uuid(row.col::<Uuid>("id")?),
        company_id: CompanyId::from_uuid(row.col::<Uuid>("company_id")?),
        kind: MeetingKind::parse(&kind).map_err(|_| corrupt("schedules.kind"))?,
        series_id: row
            .col::<Option<Uuid>>("series_id")?
            .map(SeriesId::from_uuid),
        original_start: row
            .col::<Option<i64>>("original_start")?
            .map(instant)
            .transpose()?,
        overridden: row.col::<i64>("overridden")? != 0,
        recurrence: row
            .col::<Option<String>>("series_frequency")?
            .map(|f| Frequency::parse(&f).map_err(|_| corrupt("series.frequency")))
            .transpose()?,
        meeting_number: number(
            &row.col::<String>("meeting_number")?,
            "schedules.meeting_number",
        )?,
        room_id: row.col::<Option<Uuid>>("room_id")?.map(RoomId::from_uuid),
        owner: user_ref(row, "o")?,
        slot: TimeSlot {
            start: instant(row.col("start_at")?)?,
            end: instant(row.col("end_at")?)?,
        },
        settings: settings_from_row(row, "schedules")?,
        invitees: invitees_from_json(&row.col::<String>("invitees_json")?)?,
        join_code: row.col("join_code")?,
        created_at: instant(row.col("created_at")?)?,
        updated_at: instant(row.col("updated_at")?)?,
        revision: revision(row.col("revision")?)?,
    })
}

async fn schedule_in(
    tx: &mut Transaction<'_, Sqlite>,
    company: CompanyId,
    id: ScheduleId,
) -> StoreResult<Option<Schedule>> {
    let sql = format!("{SCHEDULE_SELECT} WHERE s.id = ?1 AND s.company_id = ?2");
    let Some(row) = sqlx::query(&sql)
        .bind(id.as_uuid())
        .bind(company.as_uuid())
        .fetch_optional(&mut **tx)
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    schedule_from_row(&row).map(Some)
}

/// Binds a meeting's settings, in the order of [`SETTINGS_COLUMNS`]: one place for the
/// schedule insert, the schedule update and the series write.
trait BindSettings<'q> {
    fn bind_settings(self, settings: &'q MeetingSettings) -> Self;
}

impl<'q> BindSettings<'q> for ScopedQuery<'q> {
    fn bind_settings(self, st: &'q MeetingSettings) -> Self {
        self.bind(&st.name)
            .bind(&st.description)
            .bind(st.password.as_ref().map(MeetingPassword::as_str))
            .bind(i64::from(st.call_rate.kbps()))
            .bind(i64::from(st.mute_upon_entry))
            .bind(i64::from(st.guest_dial_in))
            .bind(i64::from(st.watermark))
            .bind(st.watermark_type.as_str())
            .bind(i64::from(st.time_to_join_minutes))
            .bind(st.live.as_ref().map(|l| l.passcode.as_str()))
            .bind(st.live.as_ref().map(|l| l.live_id.as_str()))
    }
}

/// The settings columns, in the order [`BindSettings::bind_settings`] binds them.
const SETTINGS_COLUMNS: &str = "name, description, password, call_rate_kbps, mute_upon_entry, \
     guest_dial_in, watermark, watermark_type, time_to_join, live_passcode, live_id";

async fn insert_schedule_row(
    tx: &mut Transaction<'_, Sqlite>,
    s: &Schedule,
    original_start: Option<Timestamp>,
) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO schedules (id, company_id, kind, series_id, original_start, meeting_number, \
         room_id, owner_id, start_at, end_at, name_key, join_code, created_at, updated_at, {SETTINGS_COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, \
                 ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)"
    );
    let st = &s.settings;
    sqlx::query(&sql)
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
        .bind(search_key(&st.name))
        .bind(&s.join_code)
        .bind(ms(s.created_at))
        .bind(ms(s.updated_at))
        .bind_settings(st)
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
    tx: &mut Transaction<'_, Sqlite>,
    table: &str,
    key: &str,
    id: Uuid,
    invitees: &[UserRef],
) -> StoreResult<()> {
    sqlx::query(&format!("DELETE FROM {table} WHERE {key} = ?1"))
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    for invitee in invitees {
        sqlx::query(&format!(
            "INSERT OR IGNORE INTO {table} ({key}, user_id) VALUES (?1, ?2)"
        ))
        .bind(id)
        .bind(invitee.id.as_uuid())
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

pub(crate) async fn create_schedule(
    store: &SqliteStore,
    s: &Schedule,
    trail: &Trail,
) -> StoreResult<Schedule> {
    let mut tx = write_tx(&store.writer).await?;
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
    let created = schedule_in(&mut tx, s.company_id, s.id)
        .await?
        .ok_or(StoreError::NotFound)?;
    crate::webhooks::write_trail(&mut tx, trail).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(created)
}

/// A meeting in a room holds the room's number as it is in this transaction, whatever number
/// the caller read with the room: a renumbering committed in between must not leave the
/// meeting with the old number, which no longer belongs to anything and could be taken.
async fn adopt_room_number(tx: &mut Transaction<'_, Sqlite>, holder: Holder) -> StoreResult<()> {
    let (sql, id) = match holder {
        Holder::Schedule(id) => (
            "UPDATE schedules SET meeting_number = \
             (SELECT r.meeting_number FROM rooms r WHERE r.id = schedules.room_id) \
             WHERE id = ?1 AND room_id IS NOT NULL",
            id.as_uuid(),
        ),
        Holder::Series(id) => (
            "UPDATE series SET meeting_number = \
             (SELECT r.meeting_number FROM rooms r WHERE r.id = series.room_id) \
             WHERE id = ?1 AND room_id IS NOT NULL",
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
            "UPDATE schedules SET meeting_number = \
             (SELECT r.meeting_number FROM rooms r WHERE r.id = schedules.room_id) \
             WHERE series_id = ?1 AND room_id IS NOT NULL",
        )
        .bind(id.as_uuid())
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

/// The room a meeting is to be held in is still the company's, checked in the write
/// transaction: the service looked it up before, and a delete may have come in between.
async fn room_still_there(
    tx: &mut Transaction<'_, Sqlite>,
    company: CompanyId,
    room: Option<RoomId>,
) -> StoreResult<()> {
    let Some(room) = room else {
        return Ok(());
    };
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM rooms WHERE id = ?1 AND company_id = ?2")
            .bind(room.as_uuid())
            .bind(company.as_uuid())
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_err)?;
    found.map(|_| ()).ok_or(StoreError::RoomNotFound)
}

pub(crate) async fn create_schedules(
    store: &SqliteStore,
    schedules: &[Schedule],
) -> StoreResult<()> {
    let mut tx = write_tx(&store.writer).await?;
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

pub(crate) async fn schedule(
    store: &SqliteStore,
    company: CompanyId,
    id: ScheduleId,
) -> StoreResult<Option<Schedule>> {
    company_list::schedule(store, company, id)
}

/// A scheduled meeting of the company, read on a connection of the read pool.
pub(crate) fn read_schedule(
    conn: &rusqlite::Connection,
    company: CompanyId,
    id: ScheduleId,
) -> StoreResult<Option<Schedule>> {
    // One statement, so one snapshot: the row and its invitees (aggregated in the row).
    row_of_company(
        conn,
        concat!(
            "SELECT ",
            schedule_columns!(),
            " ",
            schedule_from!(),
            " WHERE s.id = ?1 AND s.company_id = ?2"
        ),
        id.as_uuid(),
        company,
        |row| schedule_from_row(row),
    )
}

pub(crate) async fn update_schedule(
    store: &SqliteStore,
    s: &Schedule,
    trail: &Trail,
) -> StoreResult<Schedule> {
    let mut tx = write_tx(&store.writer).await?;
    let before = schedule_in(&mut tx, s.company_id, s.id)
        .await?
        .ok_or(StoreError::NotFound)?;
    unchanged_since(before.revision, s.revision)?;
    room_still_there(&mut tx, s.company_id, s.room_id).await?;
    if before.series_id.is_none() {
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
    let sql = "UPDATE schedules SET meeting_number = ?2, room_id = ?3, start_at = ?4, end_at = ?5, \
         name_key = ?6, updated_at = ?7, overridden = (series_id IS NOT NULL), \
         name = ?8, description = ?9, password = ?10, call_rate_kbps = ?11, mute_upon_entry = ?12, \
         guest_dial_in = ?13, watermark = ?14, watermark_type = ?15, time_to_join = ?16, \
         live_passcode = ?17, live_id = ?18, revision = revision + 1 WHERE id = ?1";
    sqlx::query(sql)
        .bind(s.id.as_uuid())
        .bind(s.meeting_number.as_str())
        .bind(s.room_id.map(|i| i.as_uuid()))
        .bind(ms(s.slot.start))
        .bind(ms(s.slot.end))
        .bind(search_key(&st.name))
        .bind(ms(s.updated_at))
        .bind_settings(st)
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
    let updated = schedule_in(&mut tx, s.company_id, s.id)
        .await?
        .ok_or(StoreError::NotFound)?;
    crate::webhooks::write_trail(&mut tx, trail).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(updated)
}

pub(crate) async fn delete_schedule(
    store: &SqliteStore,
    company: CompanyId,
    id: ScheduleId,
    trail: &Trail,
) -> StoreResult<()> {
    let mut tx = write_tx(&store.writer).await?;
    let row = sqlx::query(
        "SELECT series_id, COALESCE(original_start, start_at) AS original FROM schedules \
         WHERE id = ?1 AND company_id = ?2",
    )
    .bind(id.as_uuid())
    .bind(company.as_uuid())
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?
    .ok_or(StoreError::NotFound)?;
    let series: Option<Uuid> = row.try_get("series_id").map_err(db_err)?;
    if let Some(series) = series {
        let original: i64 = row.try_get("original").map_err(db_err)?;
        remember_exdate(&mut *tx, series, original).await?;
    } else {
        release_numbers(&mut tx, Holder::Schedule(id)).await?;
    }
    sqlx::query("DELETE FROM schedules WHERE id = ?1")
        .bind(id.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    crate::webhooks::write_trail(&mut tx, trail).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(())
}

/// A bound value of a dynamically assembled statement.
#[derive(Debug, Clone)]
enum Arg {
    Id(Uuid),
    Text(String),
    Int(i64),
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Id(id) => id.to_sql(),
            Arg::Text(t) => t.to_sql(),
            Arg::Int(n) => n.to_sql(),
        }
    }
}

/// A WHERE condition with its arguments, in the order of its `?` placeholders.
#[derive(Debug, Clone)]
struct Condition {
    sql: String,
    args: Vec<Arg>,
}

impl Condition {
    fn and(mut self, other: Condition) -> Condition {
        self.sql = format!("{} AND {}", self.sql, other.sql);
        self.args.extend(other.args);
        self
    }
}

/// Whether the filter is searched in the trigram index (three characters or more), so that
/// its matches, not the scope's index, should drive a query.
fn searches_trigrams(filter: Option<&MeetingFilter>) -> bool {
    filter.is_some_and(|f| f.name_key().chars().count() >= 3)
}

/// SQLite's translation of [`MeetingFilter`] (the filter's one definition, in the domain;
/// the in-memory index translates it too): the name key contains its name key, or the
/// number starts with its number prefix. With three characters or more the name is searched
/// in the trigram index and the condition is a small set of rowids; shorter filters cannot
/// use the trigram index and scan the scope. `rarest` are the trigrams to look up (see
/// `reads::TrigramStats`); the `instr` beside them checks the whole text.
fn filter_condition(filter: Option<&MeetingFilter>, rarest: &[String]) -> Option<Condition> {
    let f = filter?;
    let number_range = f.number_range().map(|(from, to)| (from.to_owned(), to));
    // `instr`, not `LIKE`: SQLite re-prepares a statement whenever the bound right-hand side
    // of a LIKE changes (it might enable the LIKE index optimisation), which cost a quarter
    // of a search request's time. Both sides are lower-cased, so `instr` is the substring test.
    let contains = Arg::Text(f.name_key().to_owned());
    if searches_trigrams(filter) {
        // FTS5 strings: double quotes inside are doubled.
        let query = rarest
            .iter()
            .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" AND ");
        let mut args = vec![Arg::Text(query), contains];
        let mut sql = "s.rowid IN (SELECT f.rowid FROM schedules_name_fts f \
             JOIN schedules x ON x.rowid = f.rowid \
             WHERE schedules_name_fts MATCH ? AND instr(x.name_key, ?) > 0"
            .to_owned();
        if let Some((from, to)) = number_range {
            sql.push_str(" UNION SELECT rowid FROM schedules WHERE meeting_number >= ? AND meeting_number < ?");
            args.push(Arg::Text(from));
            args.push(Arg::Text(to));
        }
        sql.push(')');
        Some(Condition { sql, args })
    } else {
        let mut args = vec![contains];
        let mut sql = "(instr(s.name_key, ?) > 0".to_owned();
        if let Some((from, to)) = number_range {
            sql.push_str(" OR (s.meeting_number >= ? AND s.meeting_number < ?)");
            args.push(Arg::Text(from));
            args.push(Arg::Text(to));
        }
        sql.push(')');
        Some(Condition { sql, args })
    }
}

type ScopedQuery<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// A page of the meetings in `scope` (a user's own and invited meetings, a series'
/// occurrences) through SQL: the trigram index drives a search, the scope's index the rest.
async fn page_of_schedules(
    store: &SqliteStore,
    scope: Condition,
    filter: Option<&MeetingFilter>,
    page: PageRequest,
) -> StoreResult<Page<Schedule>> {
    let (items, total) = store.reads.read(|conn| {
        // The rarest trigrams of the search text steer the trigram index (see TrigramStats).
        let rarest = match filter {
            Some(f) if searches_trigrams(filter) => store.trigrams.rarest(conn, f.name_key())?,
            _ => Vec::new(),
        };
        let condition = match filter_condition(filter, &rarest) {
            Some(f) => scope.and(f),
            None => scope,
        };
        // One statement answers both the page and the total, so they are one snapshot and the
        // matching set (a trigram search, say) is computed once: `m` holds the matches' rowids
        // and sort keys; the page picks 20 of them and only those rows are read in full.
        let sql = format!(
            "WITH m AS MATERIALIZED (SELECT s.rowid AS r, s.start_at AS t, s.id AS i \
             FROM schedules s WHERE {cond}) \
             SELECT {cols}, (SELECT COUNT(*) FROM m) AS total {from} \
             WHERE s.rowid IN (SELECT r FROM m ORDER BY t, i LIMIT ? OFFSET ?) \
             ORDER BY s.start_at, s.id",
            cols = schedule_columns!(),
            from = schedule_from!(),
            cond = condition.sql,
        );
        let mut args = condition.args.clone();
        args.push(Arg::Int(i64::from(page.limit())));
        args.push(Arg::Int(i64::try_from(page.offset()).unwrap_or(i64::MAX)));

        let mut statement = conn.prepare_cached(&sql).map_err(crate::internal)?;
        let columns = column_positions(&statement);
        let mut rows = statement
            .query(rusqlite::params_from_iter(args.iter()))
            .map_err(crate::internal)?;
        let mut items = Vec::with_capacity(page.limit() as usize);
        let mut total: Option<i64> = None;
        while let Some(row) = rows.next().map_err(crate::internal)? {
            let row = IndexedRow {
                row,
                columns: &columns,
            };
            if total.is_none() {
                total = row.col::<Option<i64>>("total")?;
            }
            items.push(schedule_from_row(&row)?);
        }
        let total = match total {
            Some(total) => total,
            // A page past the end has no row to carry the total: count on its own.
            None if page.offset() > 0 => conn
                .prepare_cached(&format!(
                    "SELECT COUNT(*) FROM schedules s WHERE {}",
                    condition.sql
                ))
                .map_err(crate::internal)?
                .query_row(rusqlite::params_from_iter(condition.args.iter()), |row| {
                    row.get(0)
                })
                .map_err(crate::internal)?,
            None => 0,
        };
        Ok((items, total))
    })?;
    Ok(Page {
        items,
        total: u64::try_from(total).unwrap_or(0),
    })
}

pub(crate) async fn find_schedules(
    store: &SqliteStore,
    company: CompanyId,
    scope: MeetingScope,
    filter: Option<&str>,
    page: PageRequest,
) -> StoreResult<Page<ScheduleSummary>> {
    let filter = MeetingFilter::parse(filter);
    let filter = filter.as_ref();
    match scope {
        MeetingScope::Company => company_list::page_of_company(store, company, filter, page).await,
        MeetingScope::Participant(user) => {
            let scope = Condition {
                sql: "s.company_id = ? AND s.rowid IN (SELECT rowid FROM schedules WHERE owner_id = ? \
                      UNION SELECT x.rowid FROM schedule_invitees i JOIN schedules x ON x.id = i.schedule_id \
                      WHERE i.user_id = ?)"
                    .to_owned(),
                args: vec![
                    Arg::Id(company.as_uuid()),
                    Arg::Id(user.as_uuid()),
                    Arg::Id(user.as_uuid()),
                ],
            };
            Ok(page_of_schedules(store, scope, filter, page)
                .await?
                .map(|s| ScheduleSummary::from(&s)))
        }
    }
}

// --- series ----------------------------------------------------------------------------------

const SERIES_SELECT: &str = "SELECT s.id, s.company_id, s.meeting_number, s.room_id, s.frequency, \
     s.interval, s.first_start, s.duration_ms, s.until, s.time_zone, s.name, s.description, \
     s.password, s.call_rate_kbps, s.mute_upon_entry, s.guest_dial_in, s.watermark, \
     s.watermark_type, s.time_to_join, s.live_passcode, s.live_id, s.join_code, s.created_at, \
     s.updated_at, s.revision, o.id AS o_id, o.username AS o_username, o.real_name AS o_real_name \
     FROM series s JOIN users o ON o.id = s.owner_id";

fn series_from_row(row: &SqliteRow) -> StoreResult<Series> {
    let frequency: String = row.try_get("frequency").map_err(db_err)?;
    let interval: i64 = row.try_get("interval").map_err(db_err)?;
    let first_start: i64 = row.try_get("first_start").map_err(db_err)?;
    let duration: i64 = row.try_get("duration_ms").map_err(db_err)?;
    let until: i64 = row.try_get("until").map_err(db_err)?;
    let tz: String = row.try_get("time_zone").map_err(db_err)?;
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
        id: SeriesId::from_uuid(row.try_get::<Uuid, _>("id").map_err(db_err)?),
        company_id: CompanyId::from_uuid(row.try_get::<Uuid, _>("company_id").map_err(db_err)?),
        meeting_number: number(
            &row.try_get::<String, _>("meeting_number").map_err(db_err)?,
            "series.meeting_number",
        )?,
        room_id: row
            .try_get::<Option<Uuid>, _>("room_id")
            .map_err(db_err)?
            .map(RoomId::from_uuid),
        owner: user_ref(row, "o")?,
        rule,
        settings: settings_from_row(row, "series")?,
        invitees: Vec::new(),
        join_code: row.try_get("join_code").map_err(db_err)?,
        created_at: instant(row.try_get("created_at").map_err(db_err)?)?,
        updated_at: instant(row.try_get("updated_at").map_err(db_err)?)?,
        revision: revision(row.try_get("revision").map_err(db_err)?)?,
    })
}

async fn series_invitees(
    executor: impl SqliteExecutor<'_>,
    id: SeriesId,
) -> StoreResult<Vec<UserRef>> {
    sqlx::query(
        "SELECT u.id AS u_id, u.username AS u_username, u.real_name AS u_real_name \
         FROM series_invitees i JOIN users u ON u.id = i.user_id WHERE i.series_id = ?1 \
         ORDER BY u.username_key",
    )
    .bind(id.as_uuid())
    .fetch_all(executor)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| user_ref(row, "u"))
    .collect()
}

async fn series_in(
    tx: &mut Transaction<'_, Sqlite>,
    company: CompanyId,
    id: SeriesId,
) -> StoreResult<Option<Series>> {
    let sql = format!("{SERIES_SELECT} WHERE s.id = ?1 AND s.company_id = ?2");
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
    series.invitees = series_invitees(&mut **tx, id).await?;
    Ok(Some(series))
}

async fn write_series_row(
    tx: &mut Transaction<'_, Sqlite>,
    s: &Series,
    insert: bool,
) -> StoreResult<()> {
    let sql = if insert {
        format!(
            "INSERT INTO series (id, company_id, meeting_number, room_id, owner_id, frequency, interval, \
             first_start, duration_ms, until, time_zone, join_code, created_at, updated_at, {SETTINGS_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, \
                     ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)"
        )
    } else {
        "UPDATE series SET company_id = ?2, meeting_number = ?3, room_id = ?4, owner_id = ?5, \
         frequency = ?6, interval = ?7, first_start = ?8, duration_ms = ?9, until = ?10, \
         time_zone = ?11, join_code = ?12, created_at = ?13, updated_at = ?14, name = ?15, \
         description = ?16, password = ?17, call_rate_kbps = ?18, mute_upon_entry = ?19, \
         guest_dial_in = ?20, watermark = ?21, watermark_type = ?22, time_to_join = ?23, \
         live_passcode = ?24, live_id = ?25, revision = revision + 1 WHERE id = ?1"
            .to_owned()
    };
    let st = &s.settings;
    let r = &s.rule;
    sqlx::query(&sql)
        .bind(s.id.as_uuid())
        .bind(s.company_id.as_uuid())
        .bind(s.meeting_number.as_str())
        .bind(s.room_id.map(|i| i.as_uuid()))
        .bind(s.owner.id.as_uuid())
        .bind(r.frequency().as_str())
        .bind(i64::from(r.interval()))
        .bind(ms(r.first_start()))
        .bind(r.duration().as_millis() as i64)
        .bind(ms(r.until()))
        .bind(r.time_zone().as_str())
        .bind(&s.join_code)
        .bind(ms(s.created_at))
        .bind(ms(s.updated_at))
        .bind_settings(st)
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

async fn insert_occurrences(
    tx: &mut Transaction<'_, Sqlite>,
    occurrences: &[Schedule],
) -> StoreResult<()> {
    for o in occurrences {
        insert_schedule_row(tx, o, Some(o.rule_start())).await?;
    }
    Ok(())
}

pub(crate) async fn create_series(
    store: &SqliteStore,
    s: &Series,
    occurrences: &[Schedule],
    trail: &Trail,
) -> StoreResult<Series> {
    let mut tx = write_tx(&store.writer).await?;
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

pub(crate) async fn series(
    store: &SqliteStore,
    company: CompanyId,
    id: SeriesId,
) -> StoreResult<Option<Series>> {
    let mut tx = store.reader.begin().await.map_err(db_err)?;
    let found = series_in(&mut tx, company, id).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(found)
}

pub(crate) async fn replace_series(
    store: &SqliteStore,
    s: &Series,
    rebuilt: &[Schedule],
    trail: &Trail,
) -> StoreResult<Series> {
    let mut tx = write_tx(&store.writer).await?;
    let before = series_in(&mut tx, s.company_id, s.id)
        .await?
        .ok_or(StoreError::NotFound)?;
    unchanged_since(before.revision, s.revision)?;
    room_still_there(&mut tx, s.company_id, s.room_id).await?;
    // What carries over is read in this transaction: a deletion made meanwhile is seen.
    let previous = sqlx::query(
        "SELECT id, COALESCE(original_start, start_at) AS original, created_at \
         FROM schedules WHERE series_id = ?1",
    )
    .bind(s.id.as_uuid())
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| {
        Ok(PreviousOccurrence {
            id: ScheduleId::from_uuid(row.try_get::<Uuid, _>("id").map_err(db_err)?),
            original_start: instant(row.try_get("original").map_err(db_err)?)?,
            created_at: instant(row.try_get("created_at").map_err(db_err)?)?,
        })
    })
    .collect::<StoreResult<Vec<_>>>()?;
    let deleted = exdates_in(&mut *tx, s.id).await?;
    // An occurrence carried over keeps its id: it must not keep its revision too, or an
    // update merged from the occurrence as it was before would not see the series' change.
    let occurrence_revision: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(revision), 0) + 1 FROM schedules WHERE series_id = ?1",
    )
    .bind(s.id.as_uuid())
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
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
        "DELETE FROM schedules WHERE series_id = ?1",
        "DELETE FROM series_exdates WHERE series_id = ?1",
    ] {
        sqlx::query(sql)
            .bind(s.id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    insert_occurrences(&mut tx, &occurrences).await?;
    sqlx::query("UPDATE schedules SET revision = ?2 WHERE series_id = ?1")
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
    store: &SqliteStore,
    company: CompanyId,
    id: SeriesId,
    trail: &Trail,
) -> StoreResult<()> {
    let mut tx = write_tx(&store.writer).await?;
    let done = sqlx::query("DELETE FROM series WHERE id = ?1 AND company_id = ?2")
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
    store: &SqliteStore,
    company: CompanyId,
    id: SeriesId,
    filter: Option<&str>,
    page: PageRequest,
) -> StoreResult<Page<Schedule>> {
    let scope = Condition {
        sql: "s.company_id = ? AND s.series_id = ?".to_owned(),
        args: vec![Arg::Id(company.as_uuid()), Arg::Id(id.as_uuid())],
    };
    page_of_schedules(store, scope, MeetingFilter::parse(filter).as_ref(), page).await
}

/// The number a meeting link opens: a schedule's join code (`schedules_by_join_code`), else
/// the code itself when the registry of numbers holds it (its primary key). One snapshot.
pub(crate) fn meeting_number_of_link(
    store: &SqliteStore,
    code: &str,
) -> StoreResult<Option<MeetingNumber>> {
    store.reads.read(|conn| {
        let found: Option<String> = conn
            .prepare_cached(
                "SELECT number FROM ( \
                   SELECT meeting_number AS number, 0 AS rank FROM schedules WHERE join_code = ?1 \
                   UNION ALL \
                   SELECT number, 1 AS rank FROM meeting_numbers WHERE number = ?1 \
                 ) ORDER BY rank LIMIT 1",
            )
            .and_then(|mut st| {
                use rusqlite::OptionalExtension as _;
                st.query_row([code], |row| row.get(0)).optional()
            })
            .map_err(crate::internal)?;
        found.map(|n| number(&n, "meeting link number")).transpose()
    })
}

pub(crate) async fn series_exdates(
    store: &SqliteStore,
    id: SeriesId,
) -> StoreResult<Vec<Timestamp>> {
    exdates_in(&store.reader, id).await
}

/// The original starts of a series' occurrences deleted one by one, in order.
async fn exdates_in(db: impl SqliteExecutor<'_>, id: SeriesId) -> StoreResult<Vec<Timestamp>> {
    let rows: Vec<i64> = sqlx::query_scalar(
        "SELECT original_start FROM series_exdates WHERE series_id = ?1 ORDER BY original_start",
    )
    .bind(id.as_uuid())
    .fetch_all(db)
    .await
    .map_err(db_err)?;
    rows.into_iter().map(instant).collect()
}

/// Remembers that the occurrence of `series` at `original_start` (ms) was deleted.
async fn remember_exdate(
    db: impl SqliteExecutor<'_>,
    series: Uuid,
    original_start: i64,
) -> StoreResult<()> {
    sqlx::query("INSERT OR IGNORE INTO series_exdates (series_id, original_start) VALUES (?1, ?2)")
        .bind(series)
        .bind(original_start)
        .execute(db)
        .await
        .map_err(db_err)?;
    Ok(())
}

// --- calendars -------------------------------------------------------------------------------

pub(crate) async fn calendar_of(
    store: &SqliteStore,
    company: CompanyId,
    user: UserId,
) -> StoreResult<(Vec<Schedule>, Vec<Series>)> {
    let mut tx = store.reader.begin().await.map_err(db_err)?;
    let sql = format!(
        "{SCHEDULE_SELECT} WHERE s.company_id = ?1 AND s.series_id IS NULL AND s.rowid IN \
         (SELECT rowid FROM schedules WHERE owner_id = ?2 \
          UNION SELECT x.rowid FROM schedule_invitees i JOIN schedules x ON x.id = i.schedule_id WHERE i.user_id = ?2) \
         ORDER BY s.start_at, s.id"
    );
    let rows = sqlx::query(&sql)
        .bind(company.as_uuid())
        .bind(user.as_uuid())
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
    let singles = rows
        .iter()
        .map(schedule_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    let sql = format!(
        "{SERIES_SELECT} WHERE s.company_id = ?1 AND (s.owner_id = ?2 OR s.id IN \
         (SELECT series_id FROM series_invitees WHERE user_id = ?2)) ORDER BY s.first_start, s.id"
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
        s.invitees = series_invitees(&mut *tx, s.id).await?;
        all_series.push(s);
    }
    tx.commit().await.map_err(db_err)?;
    Ok((singles, all_series))
}

/// Keys the rooms migration 0019 could not key in SQL (names that are not ASCII): at most a
/// company's rooms, once, at the first open after the upgrade.
pub(crate) async fn key_rooms(writer: &sqlx::SqlitePool) -> StoreResult<()> {
    let unkeyed: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT id, name FROM rooms WHERE name_key IS NULL")
            .fetch_all(writer)
            .await
            .map_err(db_err)?;
    if unkeyed.is_empty() {
        return Ok(());
    }
    let mut tx = write_tx(writer).await?;
    for (id, name) in &unkeyed {
        sqlx::query("UPDATE rooms SET name_key = ?2 WHERE id = ?1 AND name_key IS NULL")
            .bind(id)
            .bind(search_key(name))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)
}

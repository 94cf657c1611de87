//! [`History`] over SQLite: the record of meetings as the history surfaces read it, import,
//! and integration keys.
//!
//! Reads run on the rusqlite read pool (`reads.rs`). The session and recording lists are
//! answered by the speed layer (`plenum_store_memory::history`) through [`Reads`], this
//! backend's side of its port: one read transaction in which the layer reads generations,
//! builds the company's index and reads the page's rows. A session's attendance page is cut
//! by the layer from all of the session's stays (one range of `attendance_by_session`),
//! remembered once the session has ended. Writes (import, keys, bulk delete) run on the sqlx writer, one
//! transaction each.

pub(crate) mod import;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row};
use sqlx::Sqlite;
use uuid::Uuid;

use plenum_domain::Timestamp;
use plenum_domain::api_keys::{ApiKey, ApiKeyKind, NewApiKey};
use plenum_domain::credentials::TokenHash;
use plenum_domain::history::{Attendance, Recording, RecordingFile, RecordingFileKey, Session};
use plenum_domain::history_import::{ImportLine, ImportSummary};
use plenum_domain::history_query::{
    AttendanceQuery, InstantRange, RecordingFilter, RecordingView, SessionAttendance, SessionKey,
    SessionQuery, SessionSummary,
};
use plenum_domain::ids::{ApiKeyId, AttendanceId, CompanyId, RecordingId, SessionId, UserId};
use plenum_domain::paging::{Page, PageRequest};
use plenum_domain::schedule::UserRef;
use plenum_store::rows::{
    AttendanceRow, Attendees, RecordingRow, SessionRow as StoredSession, SessionStays,
    group_attendees, recording_file_key,
};
use plenum_store::{
    AppToken, DeletedRecordings, History, HuaweiApp, ImportError, StoreError, StoreResult, Trail,
};

use plenum_domain::history::{RecordingKind, RecordingStatus};
use plenum_domain::ids::RoomId;
use plenum_store_memory::Subject;
use plenum_store_memory::history::{HistorySnapshot, RecordingEntry, SessionEntry};

use crate::database::generations::{self, on_this_thread};
use crate::{SqliteStore, corrupt, db_err, instant, internal, ms, write_tx};

fn blob(id: Uuid) -> Value {
    Value::Blob(id.as_bytes().to_vec())
}

fn opt_instant(v: Option<i64>) -> StoreResult<Option<Timestamp>> {
    v.map(instant).transpose()
}

/// The placeholders of `IN (…)` for the numbers `seqs` (not empty), and the numbers to bind:
/// padded with the last one to a power of two (at least 8), so that a few statement texts
/// serve every page. Each text stays prepared in the connection's statement cache; one text
/// per count (a page's rows less the remembered ones: any count) kept evicting the others and
/// preparing anew.
fn in_list(seqs: &[i64]) -> (String, Vec<i64>) {
    let n = seqs.len().max(8).next_power_of_two();
    let mut padded = seqs.to_vec();
    padded.resize(n, seqs.last().copied().unwrap_or_default());
    (vec!["?"; n].join(", "), padded)
}

/// `AND column >= ? AND column < ?` for the closed sides of a window.
fn push_range(sql: &mut String, params: &mut Vec<Value>, column: &str, range: &InstantRange) {
    if let Some(from) = range.from {
        params.push(Value::Integer(ms(from)));
        sql.push_str(&format!(" AND {column} >= ?{}", params.len()));
    }
    if let Some(until) = range.until {
        params.push(Value::Integer(ms(until)));
        sql.push_str(&format!(" AND {column} < ?{}", params.len()));
    }
}

// --- sessions -------------------------------------------------------------------------------

const SESSION_COLUMNS: &str = "s.seq, s.id, s.company_id, s.meeting_number, s.name, s.owner_id, \
     s.room_id, s.schedule_id, s.started_at, s.ended_at, s.peak_participants, s.company_seq";
/// How many columns [`SESSION_COLUMNS`] has: a query's own columns follow.
const SESSION_COLUMN_COUNT: usize = 12;

/// A session row: the store's key, the session's number in its company, the session.
struct SessionRow {
    seq: i64,
    number: i64,
    session: Session,
}

/// A session from the first columns of a row ([`SESSION_COLUMNS`]); invitees empty.
fn session_from_row(row: &Row<'_>) -> StoreResult<SessionRow> {
    let get = |e: rusqlite::Error| internal(e);
    let stored = StoredSession {
        seq: row.get(0).map_err(get)?,
        id: row.get(1).map_err(get)?,
        company: row.get(2).map_err(get)?,
        meeting_number: row.get(3).map_err(get)?,
        name: row.get(4).map_err(get)?,
        owner: row.get(5).map_err(get)?,
        room: row.get(6).map_err(get)?,
        schedule: row.get(7).map_err(get)?,
        started_at: row.get(8).map_err(get)?,
        ended_at: row.get(9).map_err(get)?,
        peak_participants: row.get(10).map_err(get)?,
        company_seq: row.get(11).map_err(get)?,
    };
    Ok(SessionRow {
        seq: stored.seq,
        number: stored.company_seq,
        session: stored.decode()?,
    })
}

/// The sessions numbered `seqs` with their owners and first completed recordings, in any
/// order; participants left empty.
fn sessions_by_seq(conn: &Connection, seqs: &[i64]) -> StoreResult<Vec<(i64, SessionSummary)>> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let (placeholders, padded) = in_list(seqs);
    let sql = format!(
        "SELECT {SESSION_COLUMNS}, u.username, u.real_name, \
             fr.download_url, fr.id, fr.file_ext \
         FROM sessions s JOIN users u ON u.id = s.owner_id \
         LEFT JOIN recordings fr ON fr.seq = \
             (SELECT r.seq FROM recordings r WHERE r.session_seq = s.seq \
              AND r.status = 'completed' \
              ORDER BY r.attendance_seq IS NOT NULL, r.started_at, r.seq LIMIT 1) \
         WHERE s.seq IN ({placeholders})"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(internal)?;
    let mut rows = stmt
        .query(rusqlite::params_from_iter(padded.iter()))
        .map_err(internal)?;
    let mut items = Vec::with_capacity(seqs.len());
    while let Some(row) = rows.next().map_err(internal)? {
        let SessionRow {
            seq,
            number,
            session,
        } = session_from_row(row)?;
        let (company, session_id) = (session.company, session.id);
        items.push((
            seq,
            SessionSummary {
                seq,
                number,
                owner: UserRef {
                    id: session.owner,
                    username: row.get(SESSION_COLUMN_COUNT).map_err(internal)?,
                    real_name: row.get(SESSION_COLUMN_COUNT + 1).map_err(internal)?,
                },
                session,
                participants: Arc::default(),
                guest_stays: 0,
                recording_url: row.get(SESSION_COLUMN_COUNT + 2).map_err(internal)?,
                recording_file: recording_file_key(
                    company,
                    session_id,
                    row.get(SESSION_COLUMN_COUNT + 3).map_err(internal)?,
                    row.get::<_, Option<String>>(SESSION_COLUMN_COUNT + 4)
                        .map_err(internal)?
                        .as_deref(),
                )?,
            },
        ));
    }
    Ok(items)
}

/// Who attended each of the sessions numbered `seqs`: their stays read in one pass of
/// `attendance_by_session`, grouped here, and the (few) users among them read once each.
///
/// Grouping in SQL (`GROUP BY session_seq, user_id` with `MIN(joined_at)`, joined with
/// `users` per group) pushed every stay through a temporary B-tree and looked a user up once
/// per (session, user): ~2 ms for Rocket.Chat's 50 calls (~500 stays, ~350 groups) on the
/// 1,000,000-session set. Reading the stays is ~0.15 ms (a session's stays are written
/// together, so they share table pages); grouping them in a map costs less than the sorter.
/// The result is the same: per session, each user with their first join, ordered by first
/// join and then user id (byte order, as SQLite orders the BLOBs), and the guests' stays
/// counted.
fn attendees_of(conn: &Connection, seqs: &[i64]) -> StoreResult<Vec<(i64, Attendees)>> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let by_seq: HashMap<i64, usize> = seqs.iter().enumerate().map(|(i, s)| (*s, i)).collect();
    let (placeholders, padded) = in_list(seqs);
    let sql = format!(
        "SELECT a.session_seq, a.user_id, a.joined_at FROM attendance a \
         WHERE a.session_seq IN ({placeholders})"
    );
    // (session's position in `seqs`, user or guest, joined)
    let mut stays: Vec<(usize, Option<Uuid>, i64)> = Vec::new();
    {
        let mut stmt = conn.prepare_cached(&sql).map_err(internal)?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(padded.iter()))
            .map_err(internal)?;
        while let Some(row) = rows.next().map_err(internal)? {
            let seq: i64 = row.get(0).map_err(internal)?;
            let Some(&i) = by_seq.get(&seq) else { continue };
            stays.push((
                i,
                row.get(1).map_err(internal)?,
                row.get(2).map_err(internal)?,
            ));
        }
    }
    let mut users: HashMap<Uuid, (String, String)> = HashMap::new();
    {
        let mut stmt = conn
            .prepare_cached("SELECT username, real_name FROM users WHERE id = ?1")
            .map_err(internal)?;
        for (_, user, _) in &stays {
            let Some(id) = user else { continue };
            if users.contains_key(id) {
                continue;
            }
            let user = stmt
                .query_row([blob(*id)], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(internal)?
                .ok_or_else(|| corrupt("attendance.user_id names no user"))?;
            users.insert(*id, user);
        }
    }
    Ok(seqs
        .iter()
        .copied()
        .zip(group_attendees(seqs.len(), stays, &users)?)
        .collect())
}

/// Sessions as the index holds them, from rows of `seq, started_at, room_id, name`.
fn each_session_entry(
    mut rows: rusqlite::Rows<'_>,
    each: &mut (dyn FnMut(SessionEntry<'_>) + Send),
) -> StoreResult<()> {
    while let Some(row) = rows.next().map_err(internal)? {
        each(SessionEntry {
            seq: row.get(0).map_err(internal)?,
            started_at: row.get(1).map_err(internal)?,
            room: row.get(2).map_err(internal)?,
            name: row
                .get_ref(3)
                .map_err(internal)?
                .as_str()
                .map_err(internal)?,
        });
    }
    Ok(())
}

/// The columns of a recording as the index holds it (`recording_entry`), all the
/// recording's own: the room comes from its session.
const RECORDING_ENTRY_COLUMNS: &str = "r.seq, r.started_at, r.ended_at, r.duration_secs, \
     r.status, r.kind, r.session_seq, r.attendance_seq";

/// A recording as the index holds it, from a row of [`RECORDING_ENTRY_COLUMNS`] and its room.
fn recording_entry(row: &Row<'_>, room: Option<Uuid>) -> StoreResult<RecordingEntry> {
    let text = |i: usize| -> StoreResult<&str> {
        row.get_ref(i).map_err(internal)?.as_str().map_err(internal)
    };
    let duration: i64 = row.get(3).map_err(internal)?;
    Ok(RecordingEntry {
        seq: row.get(0).map_err(internal)?,
        started_at: row.get(1).map_err(internal)?,
        ended_at: row.get(2).map_err(internal)?,
        duration_secs: u32::try_from(duration).map_err(|_| corrupt("recordings.duration_secs"))?,
        status: RecordingStatus::parse(text(4)?).ok_or_else(|| corrupt("recordings.status"))?,
        kind: RecordingKind::parse(text(5)?).ok_or_else(|| corrupt("recordings.kind"))?,
        room,
        session: row.get(6).map_err(internal)?,
        stay: row.get(7).map_err(internal)?,
    })
}

/// This backend's side of the history lists' speed layer: reads on one read-pool connection,
/// inside the [`generations::snapshot`] the caller opened.
struct Reads<'c> {
    conn: &'c Connection,
}

impl HistorySnapshot for Reads<'_> {
    async fn generation(&mut self, company: CompanyId, subject: Subject) -> StoreResult<i64> {
        generations::current(self.conn, company, subject)
    }

    async fn has_room(&mut self, company: CompanyId, room: RoomId) -> StoreResult<bool> {
        self.conn
            .prepare_cached("SELECT 1 FROM rooms WHERE id = ?1 AND company_id = ?2")
            .and_then(|mut st| st.exists(rusqlite::params![room.as_uuid(), company.as_uuid()]))
            .map_err(internal)
    }

    async fn scan_sessions(
        &mut self,
        company: CompanyId,
        each: &mut (dyn FnMut(SessionEntry<'_>) + Send),
    ) -> StoreResult<()> {
        // One range of `sessions_by_company_start_seq_name_room` (0009): the index entries
        // hold every column read here.
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, started_at, room_id, name FROM sessions WHERE company_id = ?1 \
                 ORDER BY started_at DESC, seq DESC",
            )
            .map_err(internal)?;
        let rows = stmt.query([company.as_uuid()]).map_err(internal)?;
        each_session_entry(rows, each)
    }

    async fn scan_recordings(
        &mut self,
        company: CompanyId,
        each: &mut (dyn FnMut(RecordingEntry) + Send),
    ) -> StoreResult<()> {
        // Rooms by session first: one range of the sessions index, not a row per recording.
        // A recording's room is its session's, if the session is the company's (which import
        // never breaks).
        let mut rooms: HashMap<i64, Option<Uuid>> = HashMap::new();
        {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT seq, room_id FROM sessions WHERE company_id = ?1")
                .map_err(internal)?;
            let mut rows = stmt.query([company.as_uuid()]).map_err(internal)?;
            while let Some(row) = rows.next().map_err(internal)? {
                rooms.insert(row.get(0).map_err(internal)?, row.get(1).map_err(internal)?);
            }
        }
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {RECORDING_ENTRY_COLUMNS} FROM recordings r WHERE r.company_id = ?1 \
                 ORDER BY r.started_at DESC, r.seq DESC"
            ))
            .map_err(internal)?;
        let mut rows = stmt.query([company.as_uuid()]).map_err(internal)?;
        while let Some(row) = rows.next().map_err(internal)? {
            let session: i64 = row.get(6).map_err(internal)?;
            each(recording_entry(
                row,
                rooms.get(&session).copied().flatten(),
            )?);
        }
        Ok(())
    }

    async fn changes_since(
        &mut self,
        company: CompanyId,
        subject: Subject,
        since: i64,
    ) -> StoreResult<Option<Vec<i64>>> {
        generations::changes_since(self.conn, company, subject, since)
    }

    async fn session_entries(
        &mut self,
        company: CompanyId,
        seqs: &[i64],
        each: &mut (dyn FnMut(SessionEntry<'_>) + Send),
    ) -> StoreResult<()> {
        let (placeholders, padded) = in_list(seqs);
        let sql = format!(
            "SELECT seq, started_at, room_id, name FROM sessions \
             WHERE company_id = ? AND seq IN ({placeholders})"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(internal)?;
        let params = std::iter::once(blob(company.as_uuid()))
            .chain(padded.iter().map(|seq| Value::Integer(*seq)));
        let rows = stmt
            .query(rusqlite::params_from_iter(params))
            .map_err(internal)?;
        each_session_entry(rows, each)
    }

    async fn recording_entries(
        &mut self,
        company: CompanyId,
        seqs: &[i64],
        each: &mut (dyn FnMut(RecordingEntry) + Send),
    ) -> StoreResult<()> {
        // The room as `scan_recordings` finds it: its session's, if the session is the
        // company's.
        let (placeholders, padded) = in_list(seqs);
        let sql = format!(
            "SELECT {RECORDING_ENTRY_COLUMNS}, s.room_id \
             FROM recordings r LEFT JOIN sessions s \
                 ON s.seq = r.session_seq AND s.company_id = r.company_id \
             WHERE r.company_id = ? AND r.seq IN ({placeholders})"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(internal)?;
        let params = std::iter::once(blob(company.as_uuid()))
            .chain(padded.iter().map(|seq| Value::Integer(*seq)));
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params))
            .map_err(internal)?;
        while let Some(row) = rows.next().map_err(internal)? {
            each(recording_entry(row, row.get(8).map_err(internal)?)?);
        }
        Ok(())
    }

    async fn session_number(
        &mut self,
        company: CompanyId,
        session: SessionKey,
    ) -> StoreResult<Option<i64>> {
        match session {
            SessionKey::Id(id) => number_of(self.conn, "id", blob(id.as_uuid()), company),
            SessionKey::Number(number) => {
                number_of(self.conn, "company_seq", Value::Integer(number), company)
            }
        }
    }

    async fn session_stays(
        &mut self,
        company: CompanyId,
        seqs: &[i64],
    ) -> StoreResult<Vec<(i64, Arc<SessionStays>)>> {
        session_stays(self.conn, company, seqs)
    }

    async fn stay_number(
        &mut self,
        company: CompanyId,
        stay: AttendanceId,
    ) -> StoreResult<Option<i64>> {
        stay_number(self.conn, stay, company)
    }

    async fn sessions_by_seq(&mut self, seqs: &[i64]) -> StoreResult<Vec<(i64, SessionSummary)>> {
        sessions_by_seq(self.conn, seqs)
    }

    async fn attendees_of(&mut self, seqs: &[i64]) -> StoreResult<Vec<(i64, Attendees)>> {
        attendees_of(self.conn, seqs)
    }

    async fn recordings_by_seq(&mut self, seqs: &[i64]) -> StoreResult<Vec<(i64, RecordingView)>> {
        recordings_by_seq(self.conn, seqs)
    }
}

/// The number (`seq`) of the company's session whose `column` (`id` or `company_seq`) is
/// `value`.
fn number_of(
    conn: &Connection,
    column: &str,
    value: Value,
    company: CompanyId,
) -> StoreResult<Option<i64>> {
    conn.prepare_cached(&format!(
        "SELECT seq FROM sessions WHERE {column} = ?1 AND company_id = ?2"
    ))
    .map_err(internal)?
    .query_row(rusqlite::params![value, blob(company.as_uuid())], |row| {
        row.get(0)
    })
    .optional()
    .map_err(internal)
}

/// The number (`seq`) of the company's stay `stay`.
fn stay_number(
    conn: &Connection,
    stay: AttendanceId,
    company: CompanyId,
) -> StoreResult<Option<i64>> {
    conn.prepare_cached("SELECT seq FROM attendance WHERE id = ?1 AND company_id = ?2")
        .map_err(internal)?
        .query_row(
            rusqlite::params![blob(stay.as_uuid()), blob(company.as_uuid())],
            |row| row.get(0),
        )
        .optional()
        .map_err(internal)
}

/// The company's sessions numbered `seqs`, each with its invitees and every stay of it in
/// order of joining (the port's `session_stays`).
fn session_stays(
    conn: &Connection,
    company: CompanyId,
    seqs: &[i64],
) -> StoreResult<Vec<(i64, Arc<SessionStays>)>> {
    let mut found = Vec::with_capacity(seqs.len());
    for &seq in seqs {
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.seq = ?1 AND s.company_id = ?2"
            ))
            .map_err(internal)?;
        let Some(SessionRow { mut session, .. }) = stmt
            .query(rusqlite::params![seq, blob(company.as_uuid())])
            .map_err(internal)?
            .next()
            .map_err(internal)?
            .map(session_from_row)
            .transpose()?
        else {
            continue;
        };
        let mut stmt = conn
            .prepare_cached(
                "SELECT i.user_id, u.username, u.real_name FROM session_invitees i \
                 LEFT JOIN users u ON u.id = i.user_id AND u.company_id = ?2 \
                 WHERE i.session_seq = ?1 ORDER BY i.user_id",
            )
            .map_err(internal)?;
        let mut invited = Vec::new();
        let mut rows = stmt
            .query(rusqlite::params![seq, blob(company.as_uuid())])
            .map_err(internal)?;
        while let Some(row) = rows.next().map_err(internal)? {
            let id = UserId::from_uuid(row.get::<_, Uuid>(0).map_err(internal)?);
            session.invitees.push(id);
            if let Some(username) = row.get::<_, Option<String>>(1).map_err(internal)? {
                invited.push(UserRef {
                    id,
                    username,
                    real_name: row.get(2).map_err(internal)?,
                });
            }
        }
        let mut stmt = conn
            .prepare_cached(
                "SELECT a.id, a.user_id, a.display_name, a.call_number, a.device_type, \
                     a.media_type, a.department, a.joined_at, a.left_at, u.username, u.real_name \
                 FROM attendance a LEFT JOIN users u ON u.id = a.user_id \
                 WHERE a.session_seq = ?1 ORDER BY a.joined_at, a.seq",
            )
            .map_err(internal)?;
        let mut rows = stmt.query([seq]).map_err(internal)?;
        let mut stays = Vec::new();
        while let Some(row) = rows.next().map_err(internal)? {
            stays.push(
                AttendanceRow {
                    id: row.get(0).map_err(internal)?,
                    user: row.get(1).map_err(internal)?,
                    display_name: row.get(2).map_err(internal)?,
                    call_number: row.get(3).map_err(internal)?,
                    device_type: row.get(4).map_err(internal)?,
                    media_type: row.get(5).map_err(internal)?,
                    department: row.get(6).map_err(internal)?,
                    joined_at: row.get(7).map_err(internal)?,
                    left_at: row.get(8).map_err(internal)?,
                    username: row.get(9).map_err(internal)?,
                    real_name: row.get(10).map_err(internal)?,
                }
                .decode(session.id)?,
            );
        }
        found.push((
            seq,
            Arc::new(SessionStays {
                session,
                stays,
                invited,
            }),
        ));
    }
    Ok(found)
}

// --- recordings ------------------------------------------------------------------------------

/// The conditions of a recording filter on `recordings r` (?1 is the company): which
/// recordings `delete_recordings` deletes (the lists select from memory).
fn recording_conditions(company: CompanyId, filter: &RecordingFilter) -> (String, Vec<Value>) {
    // A session's, a participant's or a room's recordings are found through the recordings'
    // session and attendance indexes: few rows, whatever the company's size; the `+` keeps
    // the planner from walking the company's range instead.
    let narrow = filter.session.is_some() || filter.participant.is_some() || filter.room.is_some();
    let mut sql = String::from(if narrow {
        "+r.company_id = ?1"
    } else {
        "r.company_id = ?1"
    });
    let mut params = vec![blob(company.as_uuid())];
    push_range(&mut sql, &mut params, "r.started_at", &filter.started);
    push_range(&mut sql, &mut params, "r.ended_at", &filter.ended);
    if let Some(room) = filter.room {
        params.push(blob(room.as_uuid()));
        sql.push_str(&format!(
            " AND r.session_seq IN (SELECT seq FROM sessions WHERE room_id = ?{} AND company_id = ?1)",
            params.len()
        ));
    }
    if let Some(session) = filter.session {
        params.push(blob(session.as_uuid()));
        sql.push_str(&format!(
            " AND r.session_seq = (SELECT seq FROM sessions WHERE id = ?{} AND company_id = ?1)",
            params.len()
        ));
    }
    if let Some(participant) = filter.participant {
        params.push(blob(participant.as_uuid()));
        sql.push_str(&format!(
            " AND r.attendance_seq = (SELECT seq FROM attendance WHERE id = ?{} AND company_id = ?1)",
            params.len()
        ));
    }
    if let Some(status) = filter.status {
        params.push(Value::Text(status.as_str().to_owned()));
        sql.push_str(&format!(" AND r.status = ?{}", params.len()));
    }
    if let Some(kind) = filter.kind {
        params.push(Value::Text(kind.as_str().to_owned()));
        sql.push_str(&format!(" AND r.kind = ?{}", params.len()));
    }
    if let Some(min) = filter.min_duration_secs {
        params.push(Value::Integer(i64::from(min)));
        sql.push_str(&format!(" AND r.duration_secs >= ?{}", params.len()));
    }
    if let Some(max) = filter.max_duration_secs {
        params.push(Value::Integer(i64::from(max)));
        sql.push_str(&format!(" AND r.duration_secs <= ?{}", params.len()));
    }
    (sql, params)
}

pub(crate) const RECORDING_COLUMNS: &str = "r.id, r.company_id, s.id, a.id, r.kind, r.status, r.codec, \
     r.size_bytes, r.duration_secs, r.started_at, r.ended_at, r.completed_at, r.download_url, \
     r.created_at, r.updated_at, s.room_id, r.file_ext, r.failure";

/// How many columns `RECORDING_COLUMNS` names (a query's own columns come after them).
const RECORDING_COLUMN_COUNT: usize = 18;

pub(crate) const RECORDING_FROM: &str = "recordings r JOIN sessions s ON s.seq = r.session_seq \
     LEFT JOIN attendance a ON a.seq = r.attendance_seq";

pub(crate) fn recording_from_row(row: &Row<'_>) -> StoreResult<RecordingView> {
    let get = |e: rusqlite::Error| internal(e);
    RecordingRow {
        id: row.get(0).map_err(get)?,
        company: row.get(1).map_err(get)?,
        session: row.get(2).map_err(get)?,
        attendance: row.get(3).map_err(get)?,
        kind: row.get(4).map_err(get)?,
        status: row.get(5).map_err(get)?,
        codec: row.get(6).map_err(get)?,
        size_bytes: row.get(7).map_err(get)?,
        duration_secs: row.get(8).map_err(get)?,
        started_at: row.get(9).map_err(get)?,
        ended_at: row.get(10).map_err(get)?,
        completed_at: row.get(11).map_err(get)?,
        download_url: row.get(12).map_err(get)?,
        created_at: row.get(13).map_err(get)?,
        updated_at: row.get(14).map_err(get)?,
        room: row.get(15).map_err(get)?,
        file_ext: row.get(16).map_err(get)?,
        failure: row.get(17).map_err(get)?,
    }
    .decode()
}

/// The recordings numbered `seqs`, in any order.
fn recordings_by_seq(conn: &Connection, seqs: &[i64]) -> StoreResult<Vec<(i64, RecordingView)>> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let (placeholders, padded) = in_list(seqs);
    let sql = format!(
        "SELECT {RECORDING_COLUMNS}, r.seq FROM {RECORDING_FROM} WHERE r.seq IN ({placeholders})"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(internal)?;
    let mut rows = stmt
        .query(rusqlite::params_from_iter(padded.iter()))
        .map_err(internal)?;
    let mut items = Vec::with_capacity(seqs.len());
    while let Some(row) = rows.next().map_err(internal)? {
        let seq: i64 = row.get(RECORDING_COLUMN_COUNT).map_err(internal)?;
        items.push((seq, recording_from_row(row)?));
    }
    Ok(items)
}

fn recording(
    conn: &Connection,
    company: CompanyId,
    id: RecordingId,
) -> StoreResult<Option<RecordingView>> {
    let sql = format!(
        "SELECT {RECORDING_COLUMNS} FROM {RECORDING_FROM} WHERE r.id = ?1 AND r.company_id = ?2"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(internal)?;
    let mut rows = stmt
        .query(rusqlite::params![
            blob(id.as_uuid()),
            blob(company.as_uuid())
        ])
        .map_err(internal)?;
    match rows.next().map_err(internal)? {
        Some(row) => recording_from_row(row).map(Some),
        None => Ok(None),
    }
}

/// Binds rusqlite values to an sqlx query (the writer runs the same conditions as the reads).
pub(crate) fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    params: &'q [Value],
) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    for p in params {
        query = match p {
            Value::Null => query.bind(None::<i64>),
            Value::Integer(i) => query.bind(*i),
            Value::Real(f) => query.bind(*f),
            Value::Text(t) => query.bind(t.as_str()),
            Value::Blob(b) => query.bind(b.as_slice()),
        };
    }
    query
}

// --- keys ------------------------------------------------------------------------------------

const KEY_COLUMNS: &str =
    "id, company_id, name, kind, prefix, app_id, created_at, revoked_at, seed, secret_hash";

fn key_from_row(row: &Row<'_>) -> StoreResult<ApiKey> {
    let kind: String = row.get(3).map_err(internal)?;
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(row.get(0).map_err(internal)?),
        company: CompanyId::from_uuid(row.get(1).map_err(internal)?),
        name: row.get(2).map_err(internal)?,
        kind: ApiKeyKind::parse(&kind).map_err(|_| corrupt("api_keys.kind"))?,
        prefix: row.get(4).map_err(internal)?,
        app_id: row.get(5).map_err(internal)?,
        created_at: instant(row.get(6).map_err(internal)?)?,
        revoked_at: opt_instant(row.get(7).map_err(internal)?)?,
    })
}

fn hash_from(bytes: Vec<u8>) -> StoreResult<TokenHash> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| corrupt("a stored hash is not 32 bytes"))?;
    Ok(TokenHash(arr))
}

fn keys_where(conn: &Connection, condition: &str, value: Value) -> StoreResult<Vec<ApiKey>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE {condition}");
    let mut stmt = conn.prepare_cached(&sql).map_err(internal)?;
    let mut rows = stmt.query([value]).map_err(internal)?;
    let mut keys = Vec::new();
    while let Some(row) = rows.next().map_err(internal)? {
        keys.push(key_from_row(row)?);
    }
    Ok(keys)
}

#[async_trait]
impl History for SqliteStore {
    async fn find_sessions(
        &self,
        company: CompanyId,
        query: &SessionQuery,
        page: PageRequest,
    ) -> StoreResult<Page<SessionSummary>> {
        self.reads.read(|conn| {
            generations::snapshot(conn, |conn| {
                on_this_thread(self.history.find_sessions(
                    &mut Reads { conn },
                    company,
                    query,
                    page,
                ))
            })
        })
    }

    async fn session_attendance(
        &self,
        company: CompanyId,
        session: SessionKey,
        query: &AttendanceQuery,
        page: PageRequest,
    ) -> StoreResult<Option<SessionAttendance>> {
        // From memory for an ended session; one read transaction either way.
        self.reads.read(|conn| {
            generations::snapshot(conn, |conn| {
                on_this_thread(self.history.session_attendance(
                    &mut Reads { conn },
                    company,
                    session,
                    query,
                    page,
                ))
            })
        })
    }

    async fn find_recordings(
        &self,
        company: CompanyId,
        filter: &RecordingFilter,
        page: PageRequest,
    ) -> StoreResult<Page<RecordingView>> {
        // Every filter, a session's and a participant's too: this backend gives their numbers.
        self.reads.read(|conn| {
            generations::snapshot(conn, |conn| {
                on_this_thread(self.history.find_recordings(
                    &mut Reads { conn },
                    company,
                    filter,
                    page,
                ))
            })
        })
    }

    async fn recording(
        &self,
        company: CompanyId,
        id: RecordingId,
    ) -> StoreResult<Option<RecordingView>> {
        self.reads.read(|conn| recording(conn, company, id))
    }

    async fn delete_recordings(
        &self,
        company: CompanyId,
        filter: &RecordingFilter,
    ) -> StoreResult<DeletedRecordings> {
        if filter.matches_nothing() {
            return Ok(DeletedRecordings::default());
        }
        let (conditions, params) = recording_conditions(company, filter);
        delete_recordings_where(self, &conditions, &params, None).await
    }

    async fn delete_recording(
        &self,
        company: CompanyId,
        id: RecordingId,
    ) -> StoreResult<DeletedRecordings> {
        delete_recordings_where(
            self,
            "r.company_id = ?1 AND r.id = ?2",
            &[blob(company.as_uuid()), blob(id.as_uuid())],
            None,
        )
        .await
    }

    async fn import_history(
        &self,
        company: CompanyId,
        lines: &[ImportLine],
        now: Timestamp,
    ) -> Result<ImportSummary, ImportError> {
        self.journal
            .import(crate::history::import::ImportJob {
                company,
                lines: lines.to_vec(),
                now,
            })
            .await
    }

    async fn insert_history_batch(
        &self,
        sessions: &[Session],
        attendance: &[Attendance],
        recordings: &[Recording],
    ) -> StoreResult<()> {
        // Multi-row INSERTs of a few hundred rows each: one statement per chunk instead of
        // one per row (SQLite allows 32,766 parameters per statement).
        const CHUNK: usize = 400;
        let mut tx = write_tx(&self.writer).await?;
        for chunk in sessions.chunks(CHUNK) {
            let mut q = sqlx::QueryBuilder::<Sqlite>::new(
                "INSERT INTO sessions (id, company_id, meeting_number, name, owner_id, room_id, \
                 schedule_id, started_at, ended_at, last_seen_at, peak_participants) ",
            );
            q.push_values(chunk, |mut b, s| {
                b.push_bind(s.id.as_uuid())
                    .push_bind(s.company.as_uuid())
                    .push_bind(s.meeting_number.as_str().to_owned())
                    .push_bind(s.name.clone())
                    .push_bind(s.owner.as_uuid())
                    .push_bind(s.room.map(|r| r.as_uuid()))
                    .push_bind(s.schedule.map(|r| r.as_uuid()))
                    .push_bind(ms(s.started_at))
                    .push_bind(s.ended_at.map(ms))
                    .push_bind(ms(s.ended_at.unwrap_or(s.started_at)))
                    .push_bind(i64::from(s.peak_participants));
            });
            q.build().execute(&mut *tx).await.map_err(db_err)?;
        }
        let invitees: Vec<(Uuid, Uuid)> = sessions
            .iter()
            .flat_map(|s| {
                s.invitees
                    .iter()
                    .map(move |u| (s.id.as_uuid(), u.as_uuid()))
            })
            .collect();
        for chunk in invitees.chunks(CHUNK) {
            let mut q = sqlx::QueryBuilder::<Sqlite>::new(
                "INSERT INTO session_invitees (session_seq, user_id) ",
            );
            q.push_values(chunk, |mut b, (session, user)| {
                b.push("(SELECT seq FROM sessions WHERE id = ")
                    .push_bind_unseparated(*session)
                    .push_unseparated(")")
                    .push_bind(*user);
            });
            q.build().execute(&mut *tx).await.map_err(db_err)?;
        }
        for chunk in attendance.chunks(CHUNK) {
            let mut q = sqlx::QueryBuilder::<Sqlite>::new(
                "INSERT INTO attendance (id, session_seq, company_id, user_id, display_name, \
                 call_number, device_type, media_type, department, joined_at, left_at) ",
            );
            q.push_values(chunk, |mut b, a| {
                b.push_bind(a.id.as_uuid())
                    .push("(SELECT seq FROM sessions WHERE id = ")
                    .push_bind_unseparated(a.session.as_uuid())
                    .push_unseparated(")")
                    .push("(SELECT company_id FROM sessions WHERE id = ")
                    .push_bind_unseparated(a.session.as_uuid())
                    .push_unseparated(")")
                    .push_bind(a.user.map(|u| u.as_uuid()))
                    .push_bind(a.display_name.clone())
                    .push_bind(a.call_number.clone())
                    .push_bind(a.device_type.as_str())
                    .push_bind(a.media_type.as_str())
                    .push_bind(a.department.clone())
                    .push_bind(ms(a.joined_at))
                    .push_bind(a.left_at.map(ms));
            });
            q.build().execute(&mut *tx).await.map_err(db_err)?;
        }
        for chunk in recordings.chunks(CHUNK) {
            let mut q = sqlx::QueryBuilder::<Sqlite>::new(
                "INSERT INTO recordings (id, company_id, session_seq, attendance_seq, kind, status, \
                 codec, size_bytes, duration_secs, started_at, ended_at, completed_at, \
                 download_url, created_at, updated_at, file_ext, failure) ",
            );
            for r in chunk {
                i64::try_from(r.size_bytes).map_err(|_| corrupt("size_bytes beyond i64"))?;
            }
            q.push_values(chunk, |mut b, r| {
                b.push_bind(r.id.as_uuid())
                    .push_bind(r.company.as_uuid())
                    .push("(SELECT seq FROM sessions WHERE id = ")
                    .push_bind_unseparated(r.session.as_uuid())
                    .push_unseparated(")")
                    .push("(SELECT seq FROM attendance WHERE id = ")
                    .push_bind_unseparated(r.attendance.map(|a| a.as_uuid()))
                    .push_unseparated(")")
                    .push_bind(r.kind.as_str())
                    .push_bind(r.status.as_str())
                    .push_bind(r.codec.clone())
                    .push_bind(i64::try_from(r.size_bytes).unwrap_or(i64::MAX))
                    .push_bind(i64::from(r.duration_secs))
                    .push_bind(ms(r.started_at))
                    .push_bind(r.ended_at.map(ms))
                    .push_bind(r.completed_at.map(ms))
                    .push_bind(r.download_url.clone())
                    .push_bind(ms(r.created_at))
                    .push_bind(ms(r.updated_at))
                    .push_bind(r.file.map(|f| f.extension()))
                    .push_bind(r.failure.clone());
            });
            q.build().execute(&mut *tx).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn insert_api_key_with_trail(&self, new: &NewApiKey, trail: &Trail) -> StoreResult<()> {
        let key = &new.key;
        let mut tx = write_tx(&self.writer).await?;
        sqlx::query(
            "INSERT INTO api_keys (id, company_id, name, kind, prefix, secret_hash, app_id, seed, \
                 created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .bind(key.id.as_uuid())
        .bind(key.company.as_uuid())
        .bind(&key.name)
        .bind(key.kind.as_str())
        .bind(&key.prefix)
        .bind(&new.secret_hash.0[..])
        .bind(key.app_id.as_deref())
        .bind(new.seed.as_ref().map(|s| &s[..]))
        .bind(ms(key.created_at))
        .bind(key.revoked_at.map(ms))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        crate::webhooks::write_trail(&mut tx, trail).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn api_keys(&self, company: CompanyId) -> StoreResult<Vec<ApiKey>> {
        self.reads.read(|conn| {
            keys_where(
                conn,
                "company_id = ?1 ORDER BY created_at, rowid",
                blob(company.as_uuid()),
            )
        })
    }

    async fn revoke_api_key_with_trail(
        &self,
        company: CompanyId,
        id: ApiKeyId,
        now: Timestamp,
        trail: &Trail,
    ) -> StoreResult<ApiKey> {
        let mut tx = write_tx(&self.writer).await?;
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?3) \
             WHERE id = ?1 AND company_id = ?2",
        )
        .bind(id.as_uuid())
        .bind(company.as_uuid())
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM app_tokens WHERE api_key_id = ?1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        crate::webhooks::write_trail(&mut tx, trail).await?;
        tx.commit().await.map_err(db_err)?;
        self.reads
            .read(|conn| keys_where(conn, "id = ?1", blob(id.as_uuid())))?
            .pop()
            .ok_or(StoreError::NotFound)
    }

    async fn api_key_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<ApiKey>> {
        self.reads.read(|conn| {
            Ok(keys_where(conn, "secret_hash = ?1", Value::Blob(hash.0.to_vec()))?.pop())
        })
    }

    async fn huawei_app(&self, app_id: &str) -> StoreResult<Option<HuaweiApp>> {
        self.reads.read(|conn| {
            let sql = format!(
                "SELECT {KEY_COLUMNS} FROM api_keys WHERE app_id = ?1 AND kind = 'huawei_app'"
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(internal)?;
            let mut rows = stmt.query([app_id]).map_err(internal)?;
            let Some(row) = rows.next().map_err(internal)? else {
                return Ok(None);
            };
            let seed: Vec<u8> = row.get(8).map_err(internal)?;
            Ok(Some(HuaweiApp {
                key: key_from_row(row)?,
                seed: seed
                    .try_into()
                    .map_err(|_| corrupt("api_keys.seed is not 32 bytes"))?,
                secret_hash: hash_from(row.get(9).map_err(internal)?)?,
            }))
        })
    }

    async fn insert_app_token(&self, token: &AppToken) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO app_tokens (token_hash, company_id, api_key_id, issued_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(&token.hash.0[..])
        .bind(token.company.as_uuid())
        .bind(token.key.as_uuid())
        .bind(ms(token.issued_at))
        .bind(ms(token.expires_at))
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn app_token(&self, hash: &TokenHash) -> StoreResult<Option<AppToken>> {
        self.reads.read(|conn| {
            conn.prepare_cached(
                "SELECT t.company_id, t.api_key_id, t.issued_at, t.expires_at \
                 FROM app_tokens t JOIN api_keys k ON k.id = t.api_key_id \
                 WHERE t.token_hash = ?1 AND k.revoked_at IS NULL",
            )
            .map_err(internal)?
            .query_row([&hash.0[..]], |row| {
                Ok((
                    row.get::<_, Uuid>(0)?,
                    row.get::<_, Uuid>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            })
            .optional()
            .map_err(internal)?
            .map(|(company, key, issued, expires)| {
                Ok(AppToken {
                    hash: *hash,
                    company: CompanyId::from_uuid(company),
                    key: ApiKeyId::from_uuid(key),
                    issued_at: instant(issued)?,
                    expires_at: instant(expires)?,
                })
            })
            .transpose()
        })
    }

    async fn delete_expired_app_tokens(&self, now: Timestamp) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM app_tokens WHERE expires_at <= ?1")
            .bind(ms(now))
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}

// --- the recorder's own questions -------------------------------------------------------

pub(crate) async fn unfinished_recordings(store: &SqliteStore) -> StoreResult<Vec<Recording>> {
    let sql = format!(
        "SELECT {RECORDING_COLUMNS} FROM {RECORDING_FROM} \
         WHERE r.status = 'processing' AND r.file_ext IS NOT NULL AND s.ended_at IS NOT NULL \
         ORDER BY r.seq"
    );
    store.reads.read(|conn| {
        let mut stmt = conn.prepare_cached(&sql).map_err(internal)?;
        let mut rows = stmt.query([]).map_err(internal)?;
        let mut found = Vec::new();
        while let Some(row) = rows.next().map_err(internal)? {
            found.push(recording_from_row(row)?.recording);
        }
        Ok(found)
    })
}

/// The recordings of `conditions` (over `recordings AS r`) that have a file, then deleted,
/// in one transaction.
pub(crate) async fn delete_recordings_where(
    store: &SqliteStore,
    conditions: &str,
    params: &[rusqlite::types::Value],
    limit: Option<u32>,
) -> StoreResult<DeletedRecordings> {
    let limit = limit
        .map(|n| format!(" ORDER BY r.ended_at, r.seq LIMIT {n}"))
        .unwrap_or_default();
    let mut tx = write_tx(&store.writer).await?;
    let select = format!(
        "SELECT r.seq, r.company_id, s.id, r.id, r.file_ext FROM recordings r \
         JOIN sessions s ON s.seq = r.session_seq WHERE {conditions}{limit}"
    );
    let rows = bind_all(sqlx::query(&select), params)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
    let mut seqs = Vec::with_capacity(rows.len());
    let mut files = Vec::new();
    for row in &rows {
        use sqlx::Row as _;
        seqs.push(row.try_get::<i64, _>(0).map_err(db_err)?);
        if let Some(ext) = row.try_get::<Option<String>, _>(4).map_err(db_err)? {
            files.push(RecordingFileKey {
                company: CompanyId::from_uuid(row.try_get(1).map_err(db_err)?),
                session: SessionId::from_uuid(row.try_get(2).map_err(db_err)?),
                recording: RecordingId::from_uuid(row.try_get(3).map_err(db_err)?),
                file: RecordingFile::parse(&ext)
                    .ok_or_else(|| crate::corrupt("recordings.file_ext"))?,
            });
        }
    }
    for chunk in seqs.chunks(500) {
        let mut q =
            sqlx::QueryBuilder::<sqlx::Sqlite>::new("DELETE FROM recordings WHERE seq IN (");
        let mut list = q.separated(", ");
        for seq in chunk {
            list.push_bind(*seq);
        }
        q.push(")");
        q.build().execute(&mut *tx).await.map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(DeletedRecordings {
        count: seqs.len() as u64,
        files,
    })
}

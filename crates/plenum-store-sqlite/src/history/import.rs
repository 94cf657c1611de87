//! History import (docs/import.md): one transaction on the journal's thread.
//!
//! An import is all or nothing, so it is one transaction however long the file; and a
//! transaction holds SQLite's write lock for its whole length. Written through the sqlx
//! writer (one round trip to its worker thread per statement, ~70 µs a line), 100,000 lines
//! held the lock for 7 s, longer than the journal's busy timeout: the running meetings'
//! commits failed and their meetings ended. Now the import is a job of the journal itself
//! (`live.rs`, `Job::Import`): the live record's batches queue behind it instead of failing,
//! and it is written with rusqlite's cached statements on that thread, so the queue moves
//! again soon (BENCHMARKS.md, "Import during live joins").

use rusqlite::{Connection, OptionalExtension as _, params};
use uuid::Uuid;

use plenum_domain::Timestamp;
use plenum_domain::history_import::{
    ImportAttendance, ImportLine, ImportRecord, ImportRecording, ImportRefused, ImportRoom,
    ImportSession, ImportSummary, stay_left_at,
};
use plenum_domain::ids::{CompanyId, SessionId};
use plenum_domain::user::Username;
use plenum_store::{ImportError, StoreError};

use crate::{instant, internal, ms};

/// An import as the journal receives it.
#[derive(Debug)]
pub(crate) struct ImportJob {
    pub(crate) company: CompanyId,
    pub(crate) lines: Vec<ImportLine>,
    pub(crate) now: Timestamp,
}

type Imported = Result<ImportSummary, ImportError>;

/// Writes the import in one `BEGIN IMMEDIATE` transaction of `conn`, or nothing.
pub(crate) fn run(conn: &mut Connection, job: &ImportJob) -> Imported {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(internal)?;
    let known = tx
        .prepare_cached("SELECT 1 FROM companies WHERE id = ?1")
        .and_then(|mut st| st.query_row([job.company.as_uuid()], |_| Ok(())).optional())
        .map_err(internal)?;
    if known.is_none() {
        return Err(StoreError::NotFound.into());
    }
    let mut summary = ImportSummary::default();
    for ImportLine { line, record } in &job.lines {
        let (written, counter) = match record {
            ImportRecord::Room(r) => (
                room(&tx, job.company, *line, r, job.now)?,
                &mut summary.rooms,
            ),
            ImportRecord::Session(s) => {
                (session(&tx, job.company, *line, s)?, &mut summary.sessions)
            }
            ImportRecord::Attendance(a) => (
                attendance(&tx, job.company, *line, a)?,
                &mut summary.attendance,
            ),
            ImportRecord::Recording(r) => (
                recording(&tx, job.company, *line, r)?,
                &mut summary.recordings,
            ),
        };
        if written {
            *counter += 1;
        } else {
            summary.unchanged += 1;
        }
    }
    tx.commit().map_err(internal)?;
    Ok(summary)
}

/// Whether a record with this id is already imported (`true`), new (`false`), or taken by
/// another company (refused, without saying which).
fn already_there(
    conn: &Connection,
    table: &str,
    id: Uuid,
    company: CompanyId,
    line: usize,
) -> Result<bool, ImportError> {
    let owner: Option<Uuid> = conn
        .prepare_cached(&format!("SELECT company_id FROM {table} WHERE id = ?1"))
        .and_then(|mut st| st.query_row([id], |row| row.get(0)).optional())
        .map_err(internal)?;
    match owner {
        None => Ok(false),
        Some(owner) if owner == company.as_uuid() => Ok(true),
        Some(_) => Err(ImportRefused::new(line, format!("the id {id} is already in use")).into()),
    }
}

/// The id of the company's user an import line names in `field`, or the line's refusal.
fn user_id(
    conn: &Connection,
    company: CompanyId,
    username: &Username,
    line: usize,
    field: &str,
) -> Result<Uuid, ImportError> {
    conn.prepare_cached("SELECT id FROM users WHERE username_key = ?1 AND company_id = ?2")
        .and_then(|mut st| {
            st.query_row(params![username.canonical(), company.as_uuid()], |row| {
                row.get(0)
            })
            .optional()
        })
        .map_err(internal)?
        .ok_or_else(|| {
            ImportRefused::new(
                line,
                format!("{field}: the company has no user \"{username}\""),
            )
            .into()
        })
}

/// The company's session an import line refers to — its row number and end (as stored: of
/// an earlier line of this file or of an earlier import) — or the line's refusal.
fn session_held(
    conn: &Connection,
    company: CompanyId,
    session: SessionId,
    line: usize,
) -> Result<(i64, Option<Timestamp>), ImportError> {
    let found: Option<(i64, Option<i64>)> = conn
        .prepare_cached("SELECT seq, ended_at FROM sessions WHERE id = ?1 AND company_id = ?2")
        .and_then(|mut st| {
            st.query_row(params![session.as_uuid(), company.as_uuid()], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
        })
        .map_err(internal)?;
    let (seq, ended) = found.ok_or_else(|| {
        ImportRefused::new(
            line,
            format!("session: the company has no session {session}"),
        )
    })?;
    Ok((seq, ended.map(instant).transpose()?))
}

fn room(
    conn: &Connection,
    company: CompanyId,
    line: usize,
    room: &ImportRoom,
    now: Timestamp,
) -> Result<bool, ImportError> {
    let id = room.id.as_uuid();
    if already_there(conn, "rooms", id, company, line)? {
        return Ok(false);
    }
    let owner = user_id(conn, company, &room.owner, line, "owner")?;
    let reserved = conn
        .prepare_cached(
            "INSERT INTO meeting_numbers (number, company_id, room_id) VALUES (?1, ?2, ?3) \
             ON CONFLICT (number) DO NOTHING",
        )
        .and_then(|mut st| st.execute(params![room.meeting_number.as_str(), company.as_uuid(), id]))
        .map_err(internal)?;
    if reserved == 0 {
        return Err(ImportRefused::new(
            line,
            format!(
                "meeting_number {} is already in use",
                room.meeting_number.as_str()
            ),
        )
        .into());
    }
    conn.prepare_cached(
        "INSERT INTO rooms (id, company_id, name, meeting_number, password, owner_id, \
         creator_id, created_at, name_key) VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?5, ?6, ?7)",
    )
    .and_then(|mut st| {
        st.execute(params![
            id,
            company.as_uuid(),
            room.name,
            room.meeting_number.as_str(),
            owner,
            ms(now),
            plenum_store::rows::search_key(&room.name),
        ])
    })
    .map_err(internal)?;
    Ok(true)
}

fn session(
    conn: &Connection,
    company: CompanyId,
    line: usize,
    session: &ImportSession,
) -> Result<bool, ImportError> {
    let id = session.id.as_uuid();
    if already_there(conn, "sessions", id, company, line)? {
        return Ok(false);
    }
    let owner = user_id(conn, company, &session.owner, line, "owner")?;
    if let Some(room) = session.room {
        let exists = conn
            .prepare_cached("SELECT 1 FROM rooms WHERE id = ?1 AND company_id = ?2")
            .and_then(|mut st| {
                st.query_row(params![room.as_uuid(), company.as_uuid()], |_| Ok(()))
                    .optional()
            })
            .map_err(internal)?;
        if exists.is_none() {
            return Err(
                ImportRefused::new(line, format!("room: the company has no room {room}")).into(),
            );
        }
    }
    let mut invitees = Vec::with_capacity(session.invitees.len());
    for invitee in &session.invitees {
        invitees.push(user_id(conn, company, invitee, line, "invitees")?);
    }
    invitees.sort();
    invitees.dedup();
    let last_seen = session.ended_at.unwrap_or(session.started_at);
    let seq: i64 = conn
        .prepare_cached(
            "INSERT INTO sessions (id, company_id, meeting_number, name, owner_id, room_id, \
                 schedule_id, started_at, ended_at, last_seen_at, peak_participants, end_reason) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8, ?9, 0, ?10) RETURNING seq",
        )
        .and_then(|mut st| {
            st.query_row(
                params![
                    id,
                    company.as_uuid(),
                    session.meeting_number.as_str(),
                    session.name,
                    owner,
                    session.room.map(|r| r.as_uuid()),
                    ms(session.started_at),
                    session.ended_at.map(ms),
                    ms(last_seen),
                    session.ended_at.map(|_| "imported"),
                ],
                |row| row.get(0),
            )
        })
        .map_err(internal)?;
    for invitee in invitees {
        conn.prepare_cached("INSERT INTO session_invitees (session_seq, user_id) VALUES (?1, ?2)")
            .and_then(|mut st| st.execute(params![seq, invitee]))
            .map_err(internal)?;
    }
    Ok(true)
}

fn attendance(
    conn: &Connection,
    company: CompanyId,
    line: usize,
    stay: &ImportAttendance,
) -> Result<bool, ImportError> {
    let id = stay.id.as_uuid();
    if already_there(conn, "attendance", id, company, line)? {
        return Ok(false);
    }
    let (session_seq, ended) = session_held(conn, company, stay.session, line)?;
    let left_at = stay_left_at(stay, ended);
    let user = match &stay.user {
        Some(name) => Some(user_id(conn, company, name, line, "user")?),
        None => None,
    };
    conn.prepare_cached(
        "INSERT INTO attendance (id, session_seq, company_id, user_id, display_name, \
             call_number, device_type, media_type, department, joined_at, left_at, leave_reason) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL)",
    )
    .and_then(|mut st| {
        st.execute(params![
            id,
            session_seq,
            company.as_uuid(),
            user,
            stay.display_name,
            stay.call_number,
            stay.device_type.as_str(),
            stay.media_type.as_str(),
            stay.department,
            ms(stay.joined_at),
            left_at.map(ms),
        ])
    })
    .map_err(internal)?;
    Ok(true)
}

fn recording(
    conn: &Connection,
    company: CompanyId,
    line: usize,
    rec: &ImportRecording,
) -> Result<bool, ImportError> {
    let id = rec.id.as_uuid();
    if already_there(conn, "recordings", id, company, line)? {
        return Ok(false);
    }
    let (session_seq, _) = session_held(conn, company, rec.session, line)?;
    let attendance_seq = match rec.attendance {
        None => None,
        Some(a) => {
            let seq: Option<i64> = conn
                .prepare_cached(
                    "SELECT seq FROM attendance \
                     WHERE id = ?1 AND company_id = ?2 AND session_seq = ?3",
                )
                .and_then(|mut st| {
                    st.query_row(
                        params![a.as_uuid(), company.as_uuid(), session_seq],
                        |row| row.get(0),
                    )
                    .optional()
                })
                .map_err(internal)?;
            Some(seq.ok_or_else(|| {
                ImportRefused::new(
                    line,
                    format!("attendance: the session has no attendance {a}"),
                )
            })?)
        }
    };
    let size = i64::try_from(rec.size_bytes)
        .map_err(|_| ImportRefused::new(line, "size_bytes is too large"))?;
    let updated = rec.completed_at.or(rec.ended_at).unwrap_or(rec.started_at);
    conn.prepare_cached(
        "INSERT INTO recordings (id, company_id, session_seq, attendance_seq, kind, status, \
             codec, size_bytes, duration_secs, started_at, ended_at, completed_at, download_url, \
             created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?10, ?14)",
    )
    .and_then(|mut st| {
        st.execute(params![
            id,
            company.as_uuid(),
            session_seq,
            attendance_seq,
            rec.kind.as_str(),
            rec.status.as_str(),
            rec.codec,
            size,
            i64::from(rec.duration_secs),
            ms(rec.started_at),
            rec.ended_at.map(ms),
            rec.completed_at.map(ms),
            rec.download_url,
            ms(updated),
        ])
    })
    .map_err(internal)?;
    Ok(true)
}

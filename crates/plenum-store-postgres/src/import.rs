//! History import (docs/import.md) in PostgreSQL: one transaction, all or nothing, each line
//! checked as SQLite's store checks it (`plenum-store-sqlite/src/import.rs`).
//!
//! Unlike SQLite, a long import holds no installation-wide write lock here: live meetings'
//! batches commit beside it. Two imports of the same records at once are decided by the
//! unique ids: the second fails (nothing of it is written) and can be run again, when it
//! finds them imported.

use uuid::Uuid;

use plenum_domain::Timestamp;
use plenum_domain::history_import::{
    ImportAttendance, ImportLine, ImportRecord, ImportRecording, ImportRefused, ImportRoom,
    ImportSession, ImportSummary, stay_left_at,
};
use plenum_domain::ids::{CompanyId, SessionId};
use plenum_domain::user::Username;
use plenum_store::rows::search_key;
use plenum_store::{ImportError, StoreError};

use crate::{PgStore, Tx, db_err, instant, ms};

type Imported<T> = Result<T, ImportError>;

pub(crate) async fn run(
    store: &PgStore,
    company: CompanyId,
    lines: &[ImportLine],
    now: Timestamp,
) -> Imported<ImportSummary> {
    let mut tx = store.begin().await?;
    // The company's row is held (shared) so that it cannot go while its history is written.
    let known: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM companies WHERE id = $1 FOR KEY SHARE")
            .bind(company.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
    if known.is_none() {
        return Err(StoreError::NotFound.into());
    }
    let mut summary = ImportSummary::default();
    for ImportLine { line, record } in lines {
        let line = *line;
        let (written, counter) = match record {
            ImportRecord::Room(r) => (
                room(&mut tx, company, line, r, now).await?,
                &mut summary.rooms,
            ),
            ImportRecord::Session(s) => (
                session(&mut tx, company, line, s).await?,
                &mut summary.sessions,
            ),
            ImportRecord::Attendance(a) => (
                attendance(&mut tx, company, line, a).await?,
                &mut summary.attendance,
            ),
            ImportRecord::Recording(r) => (
                recording(&mut tx, company, line, r).await?,
                &mut summary.recordings,
            ),
        };
        if written {
            *counter += 1;
        } else {
            summary.unchanged += 1;
        }
    }
    tx.commit().await.map_err(db_err)?;
    Ok(summary)
}

/// Whether a record with this id is already imported (`true`), new (`false`), or taken by
/// another company (refused, without saying which).
async fn already_there(
    tx: &mut Tx,
    table: &str,
    id: Uuid,
    company: CompanyId,
    line: usize,
) -> Imported<bool> {
    let owner: Option<Uuid> =
        sqlx::query_scalar(&format!("SELECT company_id FROM {table} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_err)?;
    match owner {
        None => Ok(false),
        Some(owner) if owner == company.as_uuid() => Ok(true),
        Some(_) => Err(ImportRefused::new(line, format!("the id {id} is already in use")).into()),
    }
}

/// The id of the company's user an import line names in `field`, or the line's refusal.
async fn user_id(
    tx: &mut Tx,
    company: CompanyId,
    username: &Username,
    line: usize,
    field: &str,
) -> Imported<Uuid> {
    let found: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM users WHERE username_key = $1 AND company_id = $2")
            .bind(username.canonical())
            .bind(company.as_uuid())
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_err)?;
    found.ok_or_else(|| {
        ImportRefused::new(
            line,
            format!("{field}: the company has no user \"{username}\""),
        )
        .into()
    })
}

/// The company's session an import line refers to — its row number and end (as stored: of
/// an earlier line of this file or of an earlier import) — or the line's refusal.
async fn session_held(
    tx: &mut Tx,
    company: CompanyId,
    session: SessionId,
    line: usize,
) -> Imported<(i64, Option<Timestamp>)> {
    let found: Option<(i64, Option<i64>)> =
        sqlx::query_as("SELECT seq, ended_at FROM sessions WHERE id = $1 AND company_id = $2")
            .bind(session.as_uuid())
            .bind(company.as_uuid())
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_err)?;
    let (seq, ended) = found.ok_or_else(|| {
        ImportRefused::new(
            line,
            format!("session: the company has no session {session}"),
        )
    })?;
    Ok((seq, ended.map(instant).transpose()?))
}

async fn room(
    tx: &mut Tx,
    company: CompanyId,
    line: usize,
    room: &ImportRoom,
    now: Timestamp,
) -> Imported<bool> {
    let id = room.id.as_uuid();
    if already_there(tx, "rooms", id, company, line).await? {
        return Ok(false);
    }
    let owner = user_id(tx, company, &room.owner, line, "owner").await?;
    let reserved = sqlx::query(
        "INSERT INTO meeting_numbers (number, company_id, room_id) VALUES ($1, $2, $3) \
         ON CONFLICT (number) DO NOTHING",
    )
    .bind(room.meeting_number.as_str())
    .bind(company.as_uuid())
    .bind(id)
    .execute(&mut **tx)
    .await
    .map_err(db_err)?
    .rows_affected();
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
    sqlx::query(
        "INSERT INTO rooms (id, company_id, name, meeting_number, password, owner_id, \
         creator_id, created_at, name_key) VALUES ($1, $2, $3, $4, NULL, $5, $5, $6, $7)",
    )
    .bind(id)
    .bind(company.as_uuid())
    .bind(&room.name)
    .bind(room.meeting_number.as_str())
    .bind(owner)
    .bind(ms(now))
    .bind(search_key(&room.name))
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(true)
}

async fn session(
    tx: &mut Tx,
    company: CompanyId,
    line: usize,
    session: &ImportSession,
) -> Imported<bool> {
    let id = session.id.as_uuid();
    if already_there(tx, "sessions", id, company, line).await? {
        return Ok(false);
    }
    let owner = user_id(tx, company, &session.owner, line, "owner").await?;
    if let Some(room) = session.room {
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM rooms WHERE id = $1 AND company_id = $2")
                .bind(room.as_uuid())
                .bind(company.as_uuid())
                .fetch_optional(&mut **tx)
                .await
                .map_err(db_err)?;
        if exists.is_none() {
            return Err(
                ImportRefused::new(line, format!("room: the company has no room {room}")).into(),
            );
        }
    }
    let mut invitees = Vec::with_capacity(session.invitees.len());
    for invitee in &session.invitees {
        invitees.push(user_id(tx, company, invitee, line, "invitees").await?);
    }
    invitees.sort();
    invitees.dedup();
    let last_seen = session.ended_at.unwrap_or(session.started_at);
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO sessions (id, company_id, meeting_number, name, name_key, owner_id, \
             room_id, schedule_id, started_at, ended_at, last_seen_at, peak_participants, \
             end_reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10, 0, $11) RETURNING seq",
    )
    .bind(id)
    .bind(company.as_uuid())
    .bind(session.meeting_number.as_str())
    .bind(&session.name)
    .bind(search_key(&session.name))
    .bind(owner)
    .bind(session.room.map(|r| r.as_uuid()))
    .bind(ms(session.started_at))
    .bind(session.ended_at.map(ms))
    .bind(ms(last_seen))
    .bind(session.ended_at.map(|_| "imported"))
    .fetch_one(&mut **tx)
    .await
    .map_err(db_err)?;
    if !invitees.is_empty() {
        sqlx::query(
            "INSERT INTO session_invitees (session_seq, user_id) \
             SELECT $1, u FROM unnest($2::uuid[]) AS u",
        )
        .bind(seq)
        .bind(&invitees)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    }
    Ok(true)
}

async fn attendance(
    tx: &mut Tx,
    company: CompanyId,
    line: usize,
    stay: &ImportAttendance,
) -> Imported<bool> {
    let id = stay.id.as_uuid();
    if already_there(tx, "attendance", id, company, line).await? {
        return Ok(false);
    }
    let (session_seq, ended) = session_held(tx, company, stay.session, line).await?;
    let left_at = stay_left_at(stay, ended);
    let user = match &stay.user {
        Some(name) => Some(user_id(tx, company, name, line, "user").await?),
        None => None,
    };
    sqlx::query(
        "INSERT INTO attendance (id, session_seq, company_id, user_id, display_name, \
             display_name_key, call_number, call_number_key, device_type, media_type, \
             department, joined_at, left_at, leave_reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL)",
    )
    .bind(id)
    .bind(session_seq)
    .bind(company.as_uuid())
    .bind(user)
    .bind(&stay.display_name)
    .bind(search_key(&stay.display_name))
    .bind(&stay.call_number)
    .bind(search_key(&stay.call_number))
    .bind(stay.device_type.as_str())
    .bind(stay.media_type.as_str())
    .bind(&stay.department)
    .bind(ms(stay.joined_at))
    .bind(left_at.map(ms))
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(true)
}

async fn recording(
    tx: &mut Tx,
    company: CompanyId,
    line: usize,
    rec: &ImportRecording,
) -> Imported<bool> {
    let id = rec.id.as_uuid();
    if already_there(tx, "recordings", id, company, line).await? {
        return Ok(false);
    }
    let (session_seq, _) = session_held(tx, company, rec.session, line).await?;
    let attendance_seq = match rec.attendance {
        None => None,
        Some(a) => {
            let seq: Option<i64> = sqlx::query_scalar(
                "SELECT seq FROM attendance WHERE id = $1 AND company_id = $2 AND session_seq = $3",
            )
            .bind(a.as_uuid())
            .bind(company.as_uuid())
            .bind(session_seq)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_err)?;
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
    sqlx::query(
        "INSERT INTO recordings (id, company_id, session_seq, attendance_seq, kind, status, \
             codec, size_bytes, duration_secs, started_at, ended_at, completed_at, download_url, \
             created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $10, $14)",
    )
    .bind(id)
    .bind(company.as_uuid())
    .bind(session_seq)
    .bind(attendance_seq)
    .bind(rec.kind.as_str())
    .bind(rec.status.as_str())
    .bind(&rec.codec)
    .bind(size)
    .bind(i64::from(rec.duration_secs))
    .bind(ms(rec.started_at))
    .bind(rec.ended_at.map(ms))
    .bind(rec.completed_at.map(ms))
    .bind(&rec.download_url)
    .bind(ms(updated))
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(true)
}

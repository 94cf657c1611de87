//! The live record in PostgreSQL: where a number leads, and running meetings' writes.
//!
//! SQLite's store group-commits the batches of all meetings on one journal thread, because
//! each of its commits is an fsync of the one file. Here each batch is one transaction on the
//! pool; PostgreSQL groups concurrent commits' WAL flushes itself (`commit_delay` can widen
//! the group). A batch is written in order and all or nothing.

use sqlx::Row as _;
use uuid::Uuid;

use plenum_domain::Timestamp;
use plenum_domain::ids::{CompanyId, RoomId, ScheduleId};
use plenum_domain::schedule::MeetingNumber;
use plenum_store::rows::search_key;
use plenum_store::rows::stored_meeting_number;
use plenum_store::{
    Abandon, Abandoned, AbandonedSession, AbandonedStay, JoinTarget, LiveWrite, StoreResult,
    abandoned_trail,
};

use crate::{PgStore, Tx, col, db_err, instant, internal, meetings, ms};

#[derive(Debug, thiserror::Error)]
#[error("live record: {0} not found")]
struct Missing(&'static str);

fn expect_one(changed: u64, what: &'static str) -> StoreResult<()> {
    if changed == 1 {
        Ok(())
    } else {
        Err(internal(Missing(what)))
    }
}

fn int(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

pub(crate) async fn record_live(store: &PgStore, writes: Vec<LiveWrite>) -> StoreResult<()> {
    if writes.is_empty() {
        return Ok(());
    }
    let mut tx = store.begin().await?;
    for write in &writes {
        apply(&mut tx, write).await?;
    }
    tx.commit().await.map_err(db_err)
}

async fn apply(tx: &mut Tx, write: &LiveWrite) -> StoreResult<()> {
    match write {
        LiveWrite::Outbox(event) => crate::webhooks::insert_event(tx, event).await,
        LiveWrite::Audit(entry) => crate::webhooks::insert_audit(tx, entry).await,
        LiveWrite::SessionStarted(s) => {
            let seq: i64 = sqlx::query_scalar(
                "INSERT INTO sessions (id, company_id, meeting_number, name, owner_id, room_id, \
                 schedule_id, started_at, ended_at, last_seen_at, peak_participants, name_key) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8, $10, $11) RETURNING seq",
            )
            .bind(s.id.as_uuid())
            .bind(s.company.as_uuid())
            .bind(s.meeting_number.as_str())
            .bind(&s.name)
            .bind(s.owner.as_uuid())
            .bind(s.room.map(|r| r.as_uuid()))
            .bind(s.schedule.map(|r| r.as_uuid()))
            .bind(ms(s.started_at))
            .bind(s.ended_at.map(ms))
            .bind(int(s.peak_participants))
            .bind(search_key(&s.name))
            .fetch_one(&mut **tx)
            .await
            .map_err(db_err)?;
            if !s.invitees.is_empty() {
                let users: Vec<Uuid> = s.invitees.iter().map(|u| u.as_uuid()).collect();
                sqlx::query(
                    "INSERT INTO session_invitees (session_seq, user_id) \
                     SELECT $1, u FROM unnest($2::uuid[]) AS u ON CONFLICT DO NOTHING",
                )
                .bind(seq)
                .bind(&users)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
            }
            Ok(())
        }
        LiveWrite::Joined(a) => {
            let changed = sqlx::query(
                "INSERT INTO attendance (id, session_seq, company_id, user_id, display_name, \
                 call_number, device_type, media_type, department, joined_at, left_at, \
                 display_name_key, call_number_key) \
                 SELECT $1, seq, company_id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 \
                 FROM sessions WHERE id = $2",
            )
            .bind(a.id.as_uuid())
            .bind(a.session.as_uuid())
            .bind(a.user.map(|u| u.as_uuid()))
            .bind(&a.display_name)
            .bind(&a.call_number)
            .bind(a.device_type.as_str())
            .bind(a.media_type.as_str())
            .bind(&a.department)
            .bind(ms(a.joined_at))
            .bind(a.left_at.map(ms))
            .bind(search_key(&a.display_name))
            .bind(search_key(&a.call_number))
            .execute(&mut **tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            expect_one(changed, "session of a join")
        }
        LiveWrite::Left {
            attendance,
            at,
            reason,
        } => {
            let changed = sqlx::query(
                "UPDATE attendance SET left_at = greatest(joined_at, $2), leave_reason = $3 \
                 WHERE id = $1 AND left_at IS NULL",
            )
            .bind(attendance.as_uuid())
            .bind(ms(*at))
            .bind(*reason)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            expect_one(changed, "open attendance of a leave")
        }
        LiveWrite::Event {
            session,
            seq,
            at,
            kind,
            data,
        } => {
            let changed = sqlx::query(
                "INSERT INTO session_events (session_seq, event_seq, at, kind, data) \
                 SELECT seq, $2, $3, $4, $5 FROM sessions WHERE id = $1",
            )
            .bind(session.as_uuid())
            .bind(int(*seq))
            .bind(ms(*at))
            .bind(*kind)
            .bind(data)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            expect_one(changed, "session of an event")
        }
        LiveWrite::SessionSeen {
            session,
            at,
            peak_participants,
        } => {
            sqlx::query(
                "UPDATE sessions SET last_seen_at = greatest(last_seen_at, $2), \
                 peak_participants = greatest(peak_participants, $3) WHERE id = $1",
            )
            .bind(session.as_uuid())
            .bind(ms(*at))
            .bind(int(*peak_participants))
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
            Ok(())
        }
        LiveWrite::SessionEnded {
            session,
            at,
            reason,
            peak_participants,
        } => {
            let changed = sqlx::query(
                "UPDATE sessions SET ended_at = greatest(started_at, $2), \
                 last_seen_at = greatest(last_seen_at, $2), end_reason = $3, \
                 peak_participants = greatest(peak_participants, $4) \
                 WHERE id = $1 AND ended_at IS NULL",
            )
            .bind(session.as_uuid())
            .bind(ms(*at))
            .bind(*reason)
            .bind(int(*peak_participants))
            .execute(&mut **tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            expect_one(changed, "running session to end")
        }
        LiveWrite::ScheduleEndMoved {
            schedule,
            started,
            end,
            at,
        } => {
            sqlx::query(
                "UPDATE schedules SET start_at = least(start_at, $4), end_at = $2, \
                 updated_at = greatest(updated_at, $3), revision = revision + 1 \
                 WHERE id = $1 AND least(start_at, $4) < $2",
            )
            .bind(schedule.as_uuid())
            .bind(ms(*end))
            .bind(ms(*at))
            .bind(ms(*started))
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
            Ok(())
        }
        LiveWrite::RecordingStarted(r) => {
            let changed = sqlx::query(
                "INSERT INTO recordings (id, company_id, session_seq, attendance_seq, kind, \
                 status, codec, size_bytes, duration_secs, started_at, ended_at, \
                 completed_at, download_url, created_at, updated_at, file_ext, failure) \
                 SELECT $1, s.company_id, s.seq, \
                   (SELECT a.seq FROM attendance a WHERE a.id = $3), $4, $5, $6, $7, $8, \
                   $9, $10, $11, '', $12, $13, $14, $15 \
                 FROM sessions s WHERE s.id = $2 AND s.company_id = $16",
            )
            .bind(r.id.as_uuid())
            .bind(r.session.as_uuid())
            .bind(r.attendance.map(|a| a.as_uuid()))
            .bind(r.kind.as_str())
            .bind(r.status.as_str())
            .bind(&r.codec)
            .bind(int(r.size_bytes))
            .bind(int(r.duration_secs))
            .bind(ms(r.started_at))
            .bind(r.ended_at.map(ms))
            .bind(r.completed_at.map(ms))
            .bind(ms(r.created_at))
            .bind(ms(r.updated_at))
            .bind(r.file.map(|f| f.extension()))
            .bind(r.failure.as_deref())
            .bind(r.company.as_uuid())
            .execute(&mut **tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            expect_one(changed, "session of a recording")
        }
        LiveWrite::RecordingFinished(end) => {
            // A recording deleted while it was written has nothing to finish.
            sqlx::query(
                "UPDATE recordings SET status = $2, ended_at = greatest(started_at, $3), \
                 completed_at = $4, size_bytes = $5, duration_secs = $6, failure = $7, \
                 updated_at = greatest(updated_at, $3, coalesce($4, 0)) \
                 WHERE id = $1 AND status = 'processing'",
            )
            .bind(end.recording.as_uuid())
            .bind(end.status.as_str())
            .bind(ms(end.ended_at))
            .bind(end.completed_at.map(ms))
            .bind(int(end.size_bytes))
            .bind(int(end.duration_secs))
            .bind(end.failure.as_deref())
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
            Ok(())
        }
    }
}

/// What a number opens at `now`, read in one snapshot.
pub(crate) async fn join_target(
    store: &PgStore,
    number: &MeetingNumber,
    now: Timestamp,
) -> StoreResult<Option<JoinTarget>> {
    let mut tx = store.read_snapshot().await?;
    let target = join_target_in(&mut tx, number, ms(now)).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(target)
}

async fn first_id(tx: &mut Tx, sql: &str, id: Uuid, now: Option<i64>) -> StoreResult<Option<Uuid>> {
    let mut query = sqlx::query_scalar(sql).bind(id);
    if let Some(now) = now {
        query = query.bind(now);
    }
    query.fetch_optional(&mut **tx).await.map_err(db_err)
}

async fn join_target_in(
    tx: &mut Tx,
    number: &MeetingNumber,
    now: i64,
) -> StoreResult<Option<JoinTarget>> {
    let Some(holder) = sqlx::query(
        "SELECT company_id, room_id, schedule_id, series_id FROM meeting_numbers \
         WHERE number = $1",
    )
    .bind(number.as_str())
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_err)?
    else {
        return Ok(None);
    };
    let company = CompanyId::from_uuid(col(&holder, "company_id")?);
    let room: Option<Uuid> = col(&holder, "room_id")?;
    let schedule: Option<Uuid> = col(&holder, "schedule_id")?;
    let series: Option<Uuid> = col(&holder, "series_id")?;
    let scheduled = if let Some(room) = room {
        // A meeting scheduled in the room whose window is open now is what the room holds.
        let open = first_id(
            tx,
            "SELECT id FROM schedules WHERE room_id = $1 \
             AND start_at - time_to_join * 60000 <= $2 AND end_at > $2 \
             ORDER BY start_at LIMIT 1",
            room,
            Some(now),
        )
        .await?;
        if open.is_none() {
            return Ok(
                meetings::room_in(&mut **tx, company, RoomId::from_uuid(room))
                    .await?
                    .map(|r| JoinTarget::Room(Box::new(r))),
            );
        }
        open
    } else if let Some(series) = series {
        // The current or next occurrence; after the last one has ended, the last one.
        match first_id(
            tx,
            "SELECT id FROM schedules WHERE series_id = $1 AND end_at > $2 \
             ORDER BY start_at LIMIT 1",
            series,
            Some(now),
        )
        .await?
        {
            Some(id) => Some(id),
            None => {
                first_id(
                    tx,
                    "SELECT id FROM schedules WHERE series_id = $1 \
                     ORDER BY start_at DESC LIMIT 1",
                    series,
                    None,
                )
                .await?
            }
        }
    } else {
        schedule
    };
    let Some(id) = scheduled else {
        return Ok(None);
    };
    Ok(
        meetings::schedule_in(&mut **tx, company, ScheduleId::from_uuid(id))
            .await?
            .map(|s| JoinTarget::Schedule(Box::new(s))),
    )
}

pub(crate) async fn last_end_reason(
    store: &PgStore,
    schedule: ScheduleId,
) -> StoreResult<Option<String>> {
    let found: Option<Option<String>> = sqlx::query_scalar(
        "SELECT end_reason FROM sessions WHERE schedule_id = $1 \
         ORDER BY started_at DESC LIMIT 1",
    )
    .bind(schedule.as_uuid())
    .fetch_optional(&store.pool)
    .await
    .map_err(db_err)?;
    Ok(found.flatten())
}

pub(crate) async fn close_abandoned(
    store: &PgStore,
    reason: &str,
    which: Abandon<'_>,
) -> StoreResult<Abandoned> {
    let (number, now) = which.bounds();
    let mut tx = store.begin().await?;
    // Which open sessions: those of meeting $2 if given, those with no lease live at $3 if
    // given.
    let open = "s.ended_at IS NULL AND ($2::text IS NULL OR s.meeting_number = $2) \
        AND ($3::bigint IS NULL OR NOT EXISTS (SELECT 1 FROM meeting_leases l \
             WHERE l.meeting_number = s.meeting_number AND l.expires_at > $3))";
    let stays = sqlx::query(&format!(
        "UPDATE attendance a SET left_at = greatest(a.joined_at, s.last_seen_at), \
           leave_reason = $1 \
         FROM sessions s WHERE s.seq = a.session_seq AND a.left_at IS NULL AND {open} \
         RETURNING a.id, a.session_seq, a.left_at"
    ))
    .bind(reason)
    .bind(number)
    .bind(now)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    let sessions = sqlx::query(&format!(
        // At its last sign of life, but never before anything durable in it: a join or a
        // host's change acknowledged after the last periodic `last_seen_at` (the stays were
        // closed just above).
        "UPDATE sessions s SET ended_at = greatest(s.started_at, s.last_seen_at, \
           coalesce((SELECT max(left_at) FROM attendance a WHERE a.session_seq = s.seq), 0), \
           coalesce((SELECT max(at) FROM session_events e WHERE e.session_seq = s.seq), 0)), \
           end_reason = $1 \
         WHERE {open} \
         RETURNING s.seq, s.id, s.company_id, s.meeting_number, s.ended_at, s.peak_participants"
    ))
    .bind(reason)
    .bind(number)
    .bind(now)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    if let Some(now) = now {
        sqlx::query("DELETE FROM meeting_leases WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    let sessions = sessions
        .iter()
        .map(|row| {
            Ok(AbandonedSession {
                seq: row.try_get("seq").map_err(db_err)?,
                id: row.try_get("id").map_err(db_err)?,
                company: CompanyId::from_uuid(row.try_get("company_id").map_err(db_err)?),
                number: stored_meeting_number(
                    &row.try_get::<String, _>("meeting_number").map_err(db_err)?,
                    "sessions.meeting_number",
                )?,
                ended_at: instant(row.try_get("ended_at").map_err(db_err)?)?,
                peak: u32::try_from(row.try_get::<i64, _>("peak_participants").map_err(db_err)?)
                    .unwrap_or(0),
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let stays = stays
        .iter()
        .map(|row| {
            Ok(AbandonedStay {
                id: row.try_get("id").map_err(db_err)?,
                session_seq: row.try_get("session_seq").map_err(db_err)?,
                left_at: instant(row.try_get("left_at").map_err(db_err)?)?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    crate::webhooks::write_trail(&mut tx, &abandoned_trail(&stays, &sessions, reason)).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(Abandoned {
        sessions: sessions.len() as u64,
        attendance: stays.len() as u64,
    })
}

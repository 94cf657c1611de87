//! The live record: where a meeting number leads, and the journal of running meetings.
//!
//! Joins, leaves and host changes arrive from every running meeting at once, and each must be
//! on disk before it is acknowledged. One commit per change would cost one fsync each; the
//! journal instead runs on its own thread with its own write connection and commits whatever
//! has queued up while the previous commit synced (group commit). Under load a commit carries
//! hundreds of changes for one sync; when idle, a change is committed alone at once.
//!
//! rusqlite rather than sqlx: a batch is many small statements, and each sqlx statement
//! crosses to its worker thread and back (see `reads.rs`). The journal's connection and the
//! sqlx writer are both writers; SQLite serialises them (busy timeout), and the sqlx writer
//! is only busy with administrative changes.

mod leases;

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension as _, params};
use tokio::sync::oneshot;
use uuid::Uuid;

use plenum_domain::Timestamp;
use plenum_domain::ids::{CompanyId, RoomId, ScheduleId};
use plenum_domain::schedule::MeetingNumber;
use plenum_store::{
    Abandon, Abandoned, AbandonedSession, AbandonedStay, Attempt, AttemptResult, JoinTarget,
    LiveWrite, StoreError, StoreResult, abandoned_trail,
};

use crate::{Durability, SqliteStore, db_err, internal, meetings, ms, write_tx};

/// The most writes one commit carries; more wait for the next commit.
const MAX_WRITES_PER_COMMIT: usize = 4096;

/// A commit slower than this is logged: every join and leave of every meeting waited for it,
/// and on a healthy disk a commit takes well under a millisecond. What makes one slow is
/// nearly always the disk's sync (a shared or failing disk), which the operator should know.
const SLOW_COMMIT: Duration = Duration::from_millis(50);

/// What the journal writes: a running meeting's batch, or the delivery task's attempts.
#[derive(Debug)]
pub(crate) enum Work {
    Live(Vec<LiveWrite>),
    Attempts(Vec<(Attempt, AttemptResult)>),
    /// Deliveries of the outbox's new events (`webhooks::fan_out`).
    FanOut,
}

impl Work {
    fn len(&self) -> usize {
        match self {
            Work::Live(writes) => writes.len(),
            Work::Attempts(attempts) => attempts.len(),
            Work::FanOut => 1,
        }
    }
}

type Batch = (Work, oneshot::Sender<StoreResult<()>>);

/// What the journal's thread is given: batches, which share commits, or an import, which is a
/// transaction of its own (all or nothing) with its own answer.
enum Job {
    Write(Batch),
    Import(
        Box<crate::history::import::ImportJob>,
        oneshot::Sender<
            Result<plenum_domain::history_import::ImportSummary, plenum_store::ImportError>,
        >,
    ),
}

/// How long a commit waits in all for another process's write lock (an offline command's
/// import, a restore's check) before it fails, in rounds of the connection's busy timeout.
/// A failed live commit ends its meeting, so the journal waits far longer than any admin
/// write should take; a warning is logged every round.
const LOCK_PATIENCE: Duration = Duration::from_secs(120);

/// The handle to the journal thread. Dropping the last one ends the thread after it has
/// committed what it was given.
#[derive(Debug)]
pub(crate) struct Journal {
    jobs: mpsc::Sender<Job>,
}

impl Journal {
    pub(crate) fn open(file: &Path, durability: Durability) -> StoreResult<Self> {
        let conn = Connection::open(file).map_err(internal)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(internal)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(internal)?;
        conn.pragma_update(
            None,
            "synchronous",
            match durability {
                Durability::Full => "FULL",
                Durability::Normal => "NORMAL",
            },
        )
        .map_err(internal)?;
        // The live writes, the webhooks' and an import's statements: all stay prepared.
        conn.set_prepared_statement_cache_capacity(64);
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("plenum-journal".into())
            .spawn(move || run(conn, queue))
            .map_err(internal)?;
        Ok(Self { jobs })
    }

    pub(crate) async fn record(&self, writes: Vec<LiveWrite>) -> StoreResult<()> {
        self.write(Work::Live(writes)).await
    }

    pub(crate) async fn write(&self, work: Work) -> StoreResult<()> {
        if work.len() == 0 {
            return Ok(());
        }
        let (done, committed) = oneshot::channel();
        self.jobs
            .send(Job::Write((work, done)))
            .map_err(|_| StoreError::Internal("the journal has stopped".into()))?;
        committed
            .await
            .map_err(|_| StoreError::Internal("the journal has stopped".into()))?
    }

    /// Writes an import in a transaction of its own between the live record's commits
    /// (`import.rs`).
    pub(crate) async fn import(
        &self,
        job: crate::history::import::ImportJob,
    ) -> Result<plenum_domain::history_import::ImportSummary, plenum_store::ImportError> {
        let stopped = || StoreError::Internal("the journal has stopped".into());
        let (done, imported) = oneshot::channel();
        self.jobs
            .send(Job::Import(Box::new(job), done))
            .map_err(|_| stopped())?;
        imported.await.map_err(|_| stopped())?
    }
}

fn run(mut conn: Connection, queue: mpsc::Receiver<Job>) {
    // An import met while gathering a group: it goes next, alone.
    let mut next: Option<Job> = None;
    loop {
        let first = match next.take() {
            Some(job) => job,
            None => match queue.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        let first = match first {
            Job::Import(job, done) => {
                let started = Instant::now();
                let result =
                    patiently(import_busy, || crate::history::import::run(&mut conn, &job));
                tracing::info!(
                    lines = job.lines.len(),
                    took_ms = started.elapsed().as_millis() as u64,
                    written = result.is_ok(),
                    "import written by the journal"
                );
                let _ = done.send(result);
                continue;
            }
            Job::Write(batch) => batch,
        };
        let mut group = vec![first];
        let mut writes = group[0].0.len();
        while writes < MAX_WRITES_PER_COMMIT {
            match queue.try_recv() {
                Ok(Job::Write(batch)) => {
                    writes += batch.0.len();
                    group.push(batch);
                }
                Ok(import) => {
                    next = Some(import);
                    break;
                }
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let committed = patiently(is_busy, || commit(&mut conn, group.iter().map(|(w, _)| w)));
        let took = started.elapsed();
        plenum_metrics::journal::committed(took, writes);
        if took >= SLOW_COMMIT {
            tracing::warn!(
                commit_ms = took.as_millis() as u64,
                changes = writes,
                "slow commit of the live record (usually the disk's sync): joins and leaves waited"
            );
        }
        match committed {
            Ok(()) => {
                for (_, done) in group {
                    let _ = done.send(Ok(()));
                }
            }
            // One bad batch must not fail the others that shared its commit: retry alone.
            Err(_) => {
                for (batch, done) in group {
                    let result = patiently(is_busy, || commit(&mut conn, std::iter::once(&batch)));
                    if let Err(e) = &result {
                        tracing::error!(error = %e, "a live record batch could not be written");
                    }
                    let _ = done.send(result);
                }
            }
        }
    }
}

/// Runs a transaction again while another process holds the write lock (each try waits the
/// connection's busy timeout at its `BEGIN IMMEDIATE`), up to [`LOCK_PATIENCE`] in all.
fn patiently<T, E>(
    busy: impl Fn(&E) -> bool,
    mut transaction: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let started = Instant::now();
    loop {
        match transaction() {
            Err(e) if busy(&e) && started.elapsed() < LOCK_PATIENCE => {
                tracing::warn!(
                    waited_s = started.elapsed().as_secs(),
                    "the live record waits for another process's write to the database"
                );
            }
            other => return other,
        }
    }
}

/// Whether the error is SQLite's "database is locked" (another connection writes).
fn is_busy(e: &StoreError) -> bool {
    match e {
        StoreError::Internal(source) => {
            source
                .downcast_ref::<rusqlite::Error>()
                .and_then(rusqlite::Error::sqlite_error_code)
                == Some(rusqlite::ErrorCode::DatabaseBusy)
        }
        _ => false,
    }
}

fn import_busy(e: &plenum_store::ImportError) -> bool {
    matches!(e, plenum_store::ImportError::Store(e) if is_busy(e))
}

fn commit<'a>(conn: &mut Connection, batches: impl Iterator<Item = &'a Work>) -> StoreResult<()> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(internal)?;
    for batch in batches {
        match batch {
            Work::Live(writes) => {
                for write in writes {
                    apply(&tx, write)?;
                }
            }
            Work::Attempts(attempts) => crate::webhooks::record_attempts(&tx, attempts)?,
            Work::FanOut => crate::webhooks::fan_out_step(&tx)?,
        }
    }
    tx.commit().map_err(internal)
}

/// A write that found nothing to change: the runtime referred to a session or attendance
/// the store does not have.
#[derive(Debug, thiserror::Error)]
#[error("live record: {0} not found")]
struct Missing(&'static str);

fn expect_one(changed: usize, what: &'static str) -> StoreResult<()> {
    if changed == 1 {
        Ok(())
    } else {
        Err(internal(Missing(what)))
    }
}

fn apply(conn: &Connection, write: &LiveWrite) -> StoreResult<()> {
    match write {
        LiveWrite::SessionStarted(s) => {
            conn.prepare_cached(
                "INSERT INTO sessions (id, company_id, meeting_number, name, owner_id, room_id, \
                 schedule_id, started_at, ended_at, last_seen_at, peak_participants) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?8, ?10)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    s.id.as_uuid(),
                    s.company.as_uuid(),
                    s.meeting_number.as_str(),
                    s.name,
                    s.owner.as_uuid(),
                    s.room.map(|r| r.as_uuid()),
                    s.schedule.map(|r| r.as_uuid()),
                    ms(s.started_at),
                    s.ended_at.map(ms),
                    s.peak_participants,
                ])
            })
            .map_err(internal)?;
            let mut invite = conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO session_invitees (session_seq, user_id) \
                     SELECT seq, ?2 FROM sessions WHERE id = ?1",
                )
                .map_err(internal)?;
            for user in &s.invitees {
                invite
                    .execute(params![s.id.as_uuid(), user.as_uuid()])
                    .map_err(internal)?;
            }
            Ok(())
        }
        LiveWrite::Joined(a) => {
            let changed = conn
                .prepare_cached(
                    "INSERT INTO attendance (id, session_seq, company_id, user_id, display_name, \
                     call_number, device_type, media_type, department, joined_at, left_at) \
                     SELECT ?1, seq, company_id, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 \
                     FROM sessions WHERE id = ?2",
                )
                .and_then(|mut st| {
                    st.execute(params![
                        a.id.as_uuid(),
                        a.session.as_uuid(),
                        a.user.map(|u| u.as_uuid()),
                        a.display_name,
                        a.call_number,
                        a.device_type.as_str(),
                        a.media_type.as_str(),
                        a.department,
                        ms(a.joined_at),
                        a.left_at.map(ms),
                    ])
                })
                .map_err(internal)?;
            expect_one(changed, "session of a join")
        }
        LiveWrite::Left {
            attendance,
            at,
            reason,
        } => {
            let changed = conn
                .prepare_cached(
                    "UPDATE attendance SET left_at = max(joined_at, ?2), leave_reason = ?3 \
                     WHERE id = ?1 AND left_at IS NULL",
                )
                .and_then(|mut st| st.execute(params![attendance.as_uuid(), ms(*at), reason]))
                .map_err(internal)?;
            expect_one(changed, "open attendance of a leave")
        }
        LiveWrite::Event {
            session,
            seq,
            at,
            kind,
            data,
        } => {
            let changed = conn
                .prepare_cached(
                    "INSERT INTO session_events (session_seq, event_seq, at, kind, data) \
                     SELECT seq, ?2, ?3, ?4, ?5 FROM sessions WHERE id = ?1",
                )
                .and_then(|mut st| {
                    st.execute(params![
                        session.as_uuid(),
                        i64::try_from(*seq).unwrap_or(i64::MAX),
                        ms(*at),
                        kind,
                        data
                    ])
                })
                .map_err(internal)?;
            expect_one(changed, "session of an event")
        }
        LiveWrite::SessionSeen {
            session,
            at,
            peak_participants,
        } => {
            conn.prepare_cached(
                "UPDATE sessions SET last_seen_at = max(last_seen_at, ?2), \
                 peak_participants = max(peak_participants, ?3) WHERE id = ?1",
            )
            .and_then(|mut st| st.execute(params![session.as_uuid(), ms(*at), peak_participants]))
            .map_err(internal)?;
            Ok(())
        }
        LiveWrite::SessionEnded {
            session,
            at,
            reason,
            peak_participants,
        } => {
            let changed = conn
                .prepare_cached(
                    "UPDATE sessions SET ended_at = max(started_at, ?2), \
                     last_seen_at = max(last_seen_at, ?2), end_reason = ?3, \
                     peak_participants = max(peak_participants, ?4) \
                     WHERE id = ?1 AND ended_at IS NULL",
                )
                .and_then(|mut st| {
                    st.execute(params![
                        session.as_uuid(),
                        ms(*at),
                        reason,
                        peak_participants
                    ])
                })
                .map_err(internal)?;
            expect_one(changed, "running session to end")
        }
        LiveWrite::ScheduleEndMoved {
            schedule,
            started,
            end,
            at,
        } => {
            // The revision moves on, so an update merged from before this is merged again.
            conn.prepare_cached(
                "UPDATE schedules SET start_at = min(start_at, ?4), end_at = ?2, \
                 updated_at = max(updated_at, ?3), revision = revision + 1 \
                 WHERE id = ?1 AND min(start_at, ?4) < ?2",
            )
            .and_then(|mut st| {
                st.execute(params![schedule.as_uuid(), ms(*end), ms(*at), ms(*started)])
            })
            .map_err(internal)?;
            Ok(())
        }
        LiveWrite::RecordingStarted(r) => {
            let changed = conn
                .prepare_cached(
                    "INSERT INTO recordings (id, company_id, session_seq, attendance_seq, kind, \
                     status, codec, size_bytes, duration_secs, started_at, ended_at, \
                     completed_at, download_url, created_at, updated_at, file_ext, failure) \
                     SELECT ?1, s.company_id, s.seq, \
                       (SELECT a.seq FROM attendance a WHERE a.id = ?3), ?4, ?5, ?6, ?7, ?8, \
                       ?9, ?10, ?11, '', ?12, ?13, ?14, ?15 \
                     FROM sessions s WHERE s.id = ?2 AND s.company_id = ?16",
                )
                .and_then(|mut st| {
                    st.execute(params![
                        r.id.as_uuid(),
                        r.session.as_uuid(),
                        r.attendance.map(|a| a.as_uuid()),
                        r.kind.as_str(),
                        r.status.as_str(),
                        r.codec,
                        i64::try_from(r.size_bytes).unwrap_or(i64::MAX),
                        r.duration_secs,
                        ms(r.started_at),
                        r.ended_at.map(ms),
                        r.completed_at.map(ms),
                        ms(r.created_at),
                        ms(r.updated_at),
                        r.file.map(|f| f.extension()),
                        r.failure,
                        r.company.as_uuid(),
                    ])
                })
                .map_err(internal)?;
            expect_one(changed, "session of a recording")
        }
        LiveWrite::RecordingFinished(end) => {
            let changed = conn
                .prepare_cached(
                    "UPDATE recordings SET status = ?2, ended_at = max(started_at, ?3), \
                     completed_at = ?4, size_bytes = ?5, duration_secs = ?6, failure = ?7, \
                     updated_at = max(updated_at, ?3, coalesce(?4, 0)) \
                     WHERE id = ?1 AND status = 'processing'",
                )
                .and_then(|mut st| {
                    st.execute(params![
                        end.recording.as_uuid(),
                        end.status.as_str(),
                        ms(end.ended_at),
                        end.completed_at.map(ms),
                        i64::try_from(end.size_bytes).unwrap_or(i64::MAX),
                        end.duration_secs,
                        end.failure,
                    ])
                })
                .map_err(internal)?;
            // None: the recording was deleted while it was being written (nothing to
            // finish), or a retry after a crash finished it already.
            let _ = changed;
            Ok(())
        }
        LiveWrite::Outbox(event) => crate::webhooks::insert_event(conn, event),
        LiveWrite::Audit(entry) => crate::webhooks::insert_audit(conn, entry),
    }
}

/// Where a meeting number leads now. A join's first look-up when its meeting is not running:
/// the read pool (no round trip through sqlx's worker thread), in one read transaction so the
/// number, the room and the meeting are one snapshot.
pub(crate) async fn join_target(
    store: &SqliteStore,
    number: &MeetingNumber,
    now: Timestamp,
) -> StoreResult<Option<JoinTarget>> {
    store.reads.read(|conn| {
        let snapshot = conn.unchecked_transaction().map_err(internal)?;
        let target = join_target_in(&snapshot, number, ms(now));
        drop(snapshot);
        target
    })
}

fn join_target_in(
    conn: &Connection,
    number: &MeetingNumber,
    now: i64,
) -> StoreResult<Option<JoinTarget>> {
    let holder = conn
        .prepare_cached(
            "SELECT company_id, room_id, schedule_id, series_id FROM meeting_numbers \
             WHERE number = ?1",
        )
        .and_then(|mut st| {
            st.query_row([number.as_str()], |row| {
                Ok((
                    row.get::<_, Uuid>(0)?,
                    row.get::<_, Option<Uuid>>(1)?,
                    row.get::<_, Option<Uuid>>(2)?,
                    row.get::<_, Option<Uuid>>(3)?,
                ))
            })
            .optional()
        })
        .map_err(internal)?;
    let Some((company, room, schedule, series)) = holder else {
        return Ok(None);
    };
    let company = CompanyId::from_uuid(company);
    let first_id = |sql: &str, params: &[&dyn rusqlite::ToSql]| -> StoreResult<Option<Uuid>> {
        conn.prepare_cached(sql)
            .and_then(|mut st| st.query_row(params, |row| row.get(0)).optional())
            .map_err(internal)
    };
    let scheduled = if let Some(room) = room {
        // A meeting scheduled in the room whose window is open now is what the room holds.
        let open = first_id(
            "SELECT id FROM schedules WHERE room_id = ?1 \
             AND start_at - time_to_join * 60000 <= ?2 AND end_at > ?2 \
             ORDER BY start_at LIMIT 1",
            params![room, now],
        )?;
        if open.is_none() {
            return Ok(meetings::read_room(conn, company, RoomId::from_uuid(room))?
                .map(|r| JoinTarget::Room(Box::new(r))));
        }
        open
    } else if let Some(series) = series {
        // The current or next occurrence; after the last one has ended, the last one.
        match first_id(
            "SELECT id FROM schedules WHERE series_id = ?1 AND end_at > ?2 \
             ORDER BY start_at LIMIT 1",
            params![series, now],
        )? {
            Some(id) => Some(id),
            None => first_id(
                "SELECT id FROM schedules WHERE series_id = ?1 ORDER BY start_at DESC LIMIT 1",
                params![series],
            )?,
        }
    } else {
        schedule
    };
    let Some(id) = scheduled else {
        return Ok(None);
    };
    Ok(
        meetings::read_schedule(conn, company, ScheduleId::from_uuid(id))?
            .map(|s| JoinTarget::Schedule(Box::new(s))),
    )
}

pub(crate) async fn last_end_reason(
    store: &SqliteStore,
    schedule: ScheduleId,
) -> StoreResult<Option<String>> {
    store.reads.read(|conn| {
        conn.prepare_cached(
            "SELECT end_reason FROM sessions WHERE schedule_id = ?1 \
             ORDER BY started_at DESC LIMIT 1",
        )
        .and_then(|mut st| {
            st.query_row([schedule.as_uuid()], |row| row.get::<_, Option<String>>(0))
                .optional()
        })
        .map(Option::flatten)
        .map_err(internal)
    })
}

pub(crate) async fn close_abandoned(
    store: &SqliteStore,
    reason: &str,
    which: Abandon<'_>,
) -> StoreResult<Abandoned> {
    use sqlx::Row as _;
    let (number, now) = which.bounds();
    let mut tx = write_tx(&store.writer).await?;
    // Which open sessions: those of meeting ?2 if given, those with no lease live at ?3
    // if given.
    let stays = sqlx::query(
        "UPDATE attendance SET \
           left_at = max(joined_at, (SELECT last_seen_at FROM sessions s \
                                     WHERE s.seq = attendance.session_seq)), \
           leave_reason = ?1 \
         WHERE left_at IS NULL AND session_seq IN (SELECT seq FROM sessions WHERE ended_at IS NULL \
           AND (?2 IS NULL OR meeting_number = ?2) \
           AND (?3 IS NULL OR NOT EXISTS (SELECT 1 FROM meeting_leases l \
                WHERE l.meeting_number = sessions.meeting_number AND l.expires_at > ?3))) \
         RETURNING id, session_seq, left_at",
    )
    .bind(reason)
    .bind(number)
    .bind(now)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    let sessions = sqlx::query(
        // At its last sign of life, but never before anything durable in it: a join or a
        // host's change acknowledged after the last periodic `last_seen_at` (the stays were
        // closed just above).
        "UPDATE sessions SET ended_at = max(started_at, last_seen_at, \
           coalesce((SELECT max(left_at) FROM attendance a WHERE a.session_seq = sessions.seq), 0), \
           coalesce((SELECT max(at) FROM session_events e WHERE e.session_seq = sessions.seq), 0)), \
           end_reason = ?1 \
         WHERE ended_at IS NULL AND (?2 IS NULL OR meeting_number = ?2) \
           AND (?3 IS NULL OR NOT EXISTS (SELECT 1 FROM meeting_leases l \
                WHERE l.meeting_number = sessions.meeting_number AND l.expires_at > ?3)) \
         RETURNING seq, id, company_id, meeting_number, ended_at, peak_participants",
    )
    .bind(reason)
    .bind(number)
    .bind(now)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    if let Some(now) = now {
        sqlx::query("DELETE FROM meeting_leases WHERE expires_at <= ?1")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    let sessions = sessions
        .iter()
        .map(|row| {
            Ok(AbandonedSession {
                seq: row.try_get(0).map_err(db_err)?,
                id: row.try_get(1).map_err(db_err)?,
                company: CompanyId::from_uuid(row.try_get(2).map_err(db_err)?),
                number: crate::number(
                    &row.try_get::<String, _>(3).map_err(db_err)?,
                    "sessions.meeting_number",
                )?,
                ended_at: crate::instant(row.try_get(4).map_err(db_err)?)?,
                peak: u32::try_from(row.try_get::<i64, _>(5).map_err(db_err)?).unwrap_or(0),
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let stays = stays
        .iter()
        .map(|row| {
            Ok(AbandonedStay {
                id: row.try_get(0).map_err(db_err)?,
                session_seq: row.try_get(1).map_err(db_err)?,
                left_at: crate::instant(row.try_get(2).map_err(db_err)?)?,
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

//! This backend's side of the history lists' speed layer (`plenum_store_memory::history`).
//!
//! The layer's port asks that everything one answer reads describes one state of the
//! database. One `REPEATABLE READ` transaction per answer does that ([`Reads::snapshot`]), at
//! five round trips (BEGIN, the room, two generations, COMMIT) even when memory holds the
//! whole answer; on PostgreSQL those round trips were most of a list's cost (BENCHMARKS.md,
//! "PostgreSQL side by side with SQLite").
//!
//! So an answer is first tried with single statements ([`Reads::statements`]), which read
//! one state another way:
//! - The first read takes all the company's generations, and whether the asked room is the
//!   company's, from one statement shared with the other answers waiting at the same moment
//!   (`crate::generations`), which begins after the answer was asked. When memory holds the
//!   index and the rows at those generations, the answer reads nothing else: on a busy node
//!   many answers share one round trip.
//! - A statement that then reads rows also reads, in the same statement, the generation of
//!   the rows' subject. Generations only grow, and every change the rows show moves theirs in
//!   the change's own transaction, so the same generation means the same rows as at the first
//!   statement.
//! - A statement whose generation moved, or a read that cannot be checked that way (an index
//!   scan, an answer with no row to carry the generation), stops the attempt
//!   ([`Reads::moved`]) and the caller answers again in one transaction. Nothing a stopped
//!   attempt read reached memory: the check runs before the rows are returned.
//!
//! An index is therefore always built or patched in a transaction (the layer holds the
//! company's index meanwhile, and a statement would wait there for a pool connection). A
//! page's missing rows usually are not, nor is which rows the moves since the remembered rows'
//! generation were for (`history_changes`, migration 0032): one statement, checked as any.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::PgPool;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use uuid::Uuid;

use plenum_domain::history::{RecordingKind, RecordingStatus};
use plenum_domain::history_query::{RecordingView, SessionKey, SessionSummary};
use plenum_domain::ids::{AttendanceId, CompanyId, RoomId, UserId};
use plenum_domain::schedule::UserRef;
use plenum_store::rows::{
    AttendanceRow, Attendees, SessionStays, group_attendees, recording_file_key,
};
use plenum_store::{StoreError, StoreResult};
use plenum_store_memory::Subject;
use plenum_store_memory::history::{HistorySnapshot, RecordingEntry, SessionEntry};
use sqlx::Postgres;

use super::{RECORDING_COLUMNS, RECORDING_FROM, SESSION_COLUMNS, recording_from_row, session_row};
use crate::generations::{GenerationReads, Generations};
use crate::{Tx, col, corrupt, db_err};

type Statement<'q> = Query<'q, Postgres, PgArguments>;

/// How one answer of the history lists reads (see the module's documentation).
pub(super) struct Reads<'t> {
    way: Way<'t>,
}

enum Way<'t> {
    Snapshot(&'t mut Tx),
    Statements {
        pool: &'t PgPool,
        generations: &'t GenerationReads,
        company: CompanyId,
        /// What the first read found; `None` before it.
        first: Option<Generations>,
        moved: bool,
    },
}

/// What a stopped attempt reports; its caller answers again in a transaction.
fn moved() -> StoreError {
    StoreError::Conflict
}

impl<'t> Reads<'t> {
    /// Reads in the transaction `tx` (which the caller opened `REPEATABLE READ`).
    pub(super) fn snapshot(tx: &'t mut Tx) -> Self {
        Self {
            way: Way::Snapshot(tx),
        }
    }

    /// Reads `company`'s lists with single checked statements.
    pub(super) fn statements(
        pool: &'t PgPool,
        generations: &'t GenerationReads,
        company: CompanyId,
    ) -> Self {
        Self {
            way: Way::Statements {
                pool,
                generations,
                company,
                first: None,
                moved: false,
            },
        }
    }

    /// Whether the attempt stopped because the data moved or a read could not be checked:
    /// the caller answers again through [`Reads::snapshot`].
    pub(super) fn moved(&self) -> bool {
        matches!(self.way, Way::Statements { moved: true, .. })
    }

    fn stop(&mut self) -> StoreError {
        if let Way::Statements { moved, .. } = &mut self.way {
            *moved = true;
        }
        moved()
    }

    /// The first read of an attempt: the company's generations and, if `room` is given,
    /// whether it is the company's, shared with the other answers waiting
    /// (`crate::generations`). Any later question about a room is the snapshot's.
    async fn first_read(&mut self, company: CompanyId, room: Option<RoomId>) -> StoreResult<()> {
        let generations = match &self.way {
            Way::Statements {
                generations,
                company: own,
                first: None,
                ..
            } if *own == company => *generations,
            _ => return Err(self.stop()),
        };
        let Some(read) = generations.read(company, room).await else {
            return Err(self.stop());
        };
        if let Way::Statements { first, .. } = &mut self.way {
            *first = Some(read);
        }
        Ok(())
    }

    /// The rows of `select` (a `SELECT …` whose parameters `bind` binds, `$1..$params`): in
    /// the snapshot, or as one statement that also reads the generation of `subject`, which
    /// must be the first read's.
    async fn rows(
        &mut self,
        select: &str,
        params: usize,
        subject: Subject,
        bind: impl for<'s> FnOnce(Statement<'s>) -> Statement<'s>,
    ) -> StoreResult<Vec<PgRow>> {
        let (pool, company, expected) = match &mut self.way {
            Way::Snapshot(tx) => {
                return bind(sqlx::query(select))
                    .fetch_all(&mut ***tx)
                    .await
                    .map_err(db_err);
            }
            Way::Statements {
                pool,
                company,
                first: Some(first),
                ..
            } => (*pool, *company, first.of(subject)),
            // Rows before any generation was read: nothing to check them against.
            Way::Statements { first: None, .. } => return Err(self.stop()),
        };
        let columns = select
            .strip_prefix("SELECT ")
            .ok_or_else(|| StoreError::Internal("a history read is not a SELECT".into()))?;
        let checked = format!(
            "SELECT COALESCE((SELECT generation FROM change_generations \
                 WHERE company_id = ${} AND subject = ${}), 0) AS read_generation, {columns}",
            params + 1,
            params + 2
        );
        let rows = bind(sqlx::query(&checked))
            .bind(company.as_uuid())
            .bind(subject.as_str())
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
        match rows.first() {
            Some(row) if col::<i64>(row, "read_generation")? == expected => Ok(rows),
            _ => Err(self.stop()),
        }
    }
}

impl Reads<'_> {
    /// The number of the company's row of `table` (a session or a stay) whose `column` (its
    /// id, or a session's number within the company) is `value`. A row's number
    /// and company never change, so in the statements way this needs no generation: read at
    /// any moment after the answer was asked, it is the number as of every later read (and a
    /// row not found then is a filter that matches nothing, as of that moment).
    async fn number_of<V>(
        &mut self,
        table: &'static str,
        column: &'static str,
        value: V,
        company: CompanyId,
    ) -> StoreResult<Option<i64>>
    where
        V: for<'q> sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres> + Send + 'static,
    {
        let select = format!("SELECT seq FROM {table} WHERE {column} = $1 AND company_id = $2");
        let number = sqlx::query_scalar::<_, i64>(&select)
            .bind(value)
            .bind(company.as_uuid());
        match &mut self.way {
            Way::Snapshot(tx) => number.fetch_optional(&mut ***tx).await,
            Way::Statements { pool, .. } => number.fetch_optional(*pool).await,
        }
        .map_err(db_err)
    }
}

impl HistorySnapshot for Reads<'_> {
    async fn generation(&mut self, company: CompanyId, subject: Subject) -> StoreResult<i64> {
        if let Way::Snapshot(tx) = &mut self.way {
            let generation: Option<i64> = sqlx::query_scalar(
                "SELECT generation FROM change_generations WHERE company_id = $1 AND subject = $2",
            )
            .bind(company.as_uuid())
            .bind(subject.as_str())
            .fetch_optional(&mut ***tx)
            .await
            .map_err(db_err)?;
            return Ok(generation.unwrap_or(0));
        }
        if matches!(self.way, Way::Statements { first: None, .. }) {
            self.first_read(company, None).await?;
        }
        match &self.way {
            Way::Statements {
                company: own,
                first: Some(first),
                ..
            } if *own == company => Ok(first.of(subject)),
            _ => Err(self.stop()),
        }
    }

    async fn session_number(
        &mut self,
        company: CompanyId,
        session: SessionKey,
    ) -> StoreResult<Option<i64>> {
        match session {
            SessionKey::Id(id) => {
                self.number_of("sessions", "id", id.as_uuid(), company)
                    .await
            }
            SessionKey::Number(number) => {
                self.number_of("sessions", "company_seq", number, company)
                    .await
            }
        }
    }

    async fn session_stays(
        &mut self,
        company: CompanyId,
        seqs: &[i64],
    ) -> StoreResult<Vec<(i64, Arc<SessionStays>)>> {
        // One row per stay (one for a session without any), the invitees read once per
        // session; users joined by key (`LIMIT 1`: see `sessions_by_seq`'s note in mod.rs).
        let select = format!(
            "SELECT {SESSION_COLUMNS}, inv.*, st.* \
             FROM sessions s \
             CROSS JOIN LATERAL (SELECT array_agg(i.user_id ORDER BY i.user_id) AS invitees, \
                     array_agg(u.id ORDER BY i.user_id) FILTER (WHERE u.id IS NOT NULL) \
                         AS invited, \
                     array_agg(u.username ORDER BY i.user_id) FILTER (WHERE u.id IS NOT NULL) \
                         AS invited_usernames, \
                     array_agg(u.real_name ORDER BY i.user_id) FILTER (WHERE u.id IS NOT NULL) \
                         AS invited_real_names \
                 FROM session_invitees i LEFT JOIN users u \
                     ON u.id = i.user_id AND u.company_id = s.company_id \
                 WHERE i.session_seq = s.seq) inv \
             LEFT JOIN LATERAL (SELECT a.seq AS a_seq, a.id AS a_id, a.user_id AS a_user_id, \
                     a.display_name, a.call_number, a.device_type, a.media_type, a.department, \
                     a.joined_at, a.left_at, u.username, u.real_name \
                 FROM attendance a LEFT JOIN LATERAL (SELECT username, real_name FROM users \
                     WHERE id = a.user_id LIMIT 1) u ON true \
                 WHERE a.session_seq = s.seq) st ON true \
             WHERE s.seq = ANY($1) AND s.company_id = $2 \
             ORDER BY s.seq, st.joined_at, st.a_seq"
        );
        let rows = self
            .rows(&select, 2, Subject::SessionRows, move |q| {
                q.bind(seqs.to_vec()).bind(company.as_uuid())
            })
            .await?;
        let mut found: Vec<(i64, SessionStays)> = Vec::new();
        for row in &rows {
            let seq: i64 = col(row, "seq")?;
            if found.last().is_none_or(|(last, _)| *last != seq) {
                let mut session = session_row(row)?.decode()?;
                // array_agg over no rows is NULL.
                session.invitees = col::<Option<Vec<Uuid>>>(row, "invitees")?
                    .unwrap_or_default()
                    .into_iter()
                    .map(UserId::from_uuid)
                    .collect();
                let ids = col::<Option<Vec<Uuid>>>(row, "invited")?.unwrap_or_default();
                let usernames =
                    col::<Option<Vec<String>>>(row, "invited_usernames")?.unwrap_or_default();
                let real_names =
                    col::<Option<Vec<String>>>(row, "invited_real_names")?.unwrap_or_default();
                let invited = ids
                    .into_iter()
                    .zip(usernames)
                    .zip(real_names)
                    .map(|((id, username), real_name)| UserRef {
                        id: UserId::from_uuid(id),
                        username,
                        real_name,
                    })
                    .collect();
                found.push((
                    seq,
                    SessionStays {
                        session,
                        stays: Vec::new(),
                        invited,
                    },
                ));
            }
            let Some((_, current)) = found.last_mut() else {
                continue;
            };
            if col::<Option<Uuid>>(row, "a_id")?.is_none() {
                continue;
            }
            current.stays.push(
                AttendanceRow {
                    id: col(row, "a_id")?,
                    user: col(row, "a_user_id")?,
                    display_name: col(row, "display_name")?,
                    call_number: col(row, "call_number")?,
                    device_type: col(row, "device_type")?,
                    media_type: col(row, "media_type")?,
                    department: col(row, "department")?,
                    joined_at: col(row, "joined_at")?,
                    left_at: col(row, "left_at")?,
                    username: col(row, "username")?,
                    real_name: col(row, "real_name")?,
                }
                .decode(current.session.id)?,
            );
        }
        Ok(found
            .into_iter()
            .map(|(seq, stays)| (seq, Arc::new(stays)))
            .collect())
    }

    async fn stay_number(
        &mut self,
        company: CompanyId,
        stay: AttendanceId,
    ) -> StoreResult<Option<i64>> {
        self.number_of("attendance", "id", stay.as_uuid(), company)
            .await
    }

    async fn has_room(&mut self, company: CompanyId, room: RoomId) -> StoreResult<bool> {
        match &mut self.way {
            Way::Snapshot(tx) => {
                let known: Option<i32> =
                    sqlx::query_scalar("SELECT 1 FROM rooms WHERE id = $1 AND company_id = $2")
                        .bind(room.as_uuid())
                        .bind(company.as_uuid())
                        .fetch_optional(&mut ***tx)
                        .await
                        .map_err(db_err)?;
                Ok(known.is_some())
            }
            Way::Statements { .. } => {
                self.first_read(company, Some(room)).await?;
                match &self.way {
                    Way::Statements {
                        first:
                            Some(Generations {
                                room: Some((asked, known)),
                                ..
                            }),
                        ..
                    } if *asked == room => Ok(*known),
                    _ => Err(self.stop()),
                }
            }
        }
    }

    async fn scan_sessions(
        &mut self,
        company: CompanyId,
        each: &mut (dyn FnMut(SessionEntry<'_>) + Send),
    ) -> StoreResult<()> {
        let Way::Snapshot(tx) = &mut self.way else {
            return Err(self.stop());
        };
        let rows = sqlx::query(&format!(
            "{SESSION_ENTRIES} ORDER BY started_at DESC, seq DESC"
        ))
        .bind(company.as_uuid())
        .fetch_all(&mut ***tx)
        .await
        .map_err(db_err)?;
        each_session_entry(&rows, each)
    }

    async fn scan_recordings(
        &mut self,
        company: CompanyId,
        each: &mut (dyn FnMut(RecordingEntry) + Send),
    ) -> StoreResult<()> {
        let Way::Snapshot(tx) = &mut self.way else {
            return Err(self.stop());
        };
        let rows = sqlx::query(&format!(
            "{RECORDING_ENTRIES} ORDER BY r.started_at DESC, r.seq DESC"
        ))
        .bind(company.as_uuid())
        .fetch_all(&mut ***tx)
        .await
        .map_err(db_err)?;
        each_recording_entry(&rows, each)
    }

    /// The sessions numbered `seqs` with their owners and first completed recordings (a
    /// participant's own recordings come after the meeting's); participants left empty.
    async fn sessions_by_seq(&mut self, seqs: &[i64]) -> StoreResult<Vec<(i64, SessionSummary)>> {
        let select = format!(
            "SELECT {SESSION_COLUMNS}, u.username, u.real_name, \
                 fr.download_url AS recording_url, fr.id AS recording_id, fr.file_ext \
             FROM sessions s JOIN users u ON u.id = s.owner_id \
             LEFT JOIN LATERAL (SELECT r.download_url, r.id, r.file_ext FROM recordings r \
                 WHERE r.session_seq = s.seq AND r.status = 'completed' \
                 ORDER BY r.attendance_seq IS NOT NULL, r.started_at, r.seq LIMIT 1) fr ON true \
             WHERE s.seq = ANY($1)"
        );
        let rows = self
            .rows(&select, 1, Subject::SessionRows, move |q| {
                q.bind(seqs.to_vec())
            })
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let stored = session_row(row)?;
            let (seq, number) = (stored.seq, stored.company_seq);
            let session = stored.decode()?;
            let recording_file = recording_file_key(
                session.company,
                session.id,
                col(row, "recording_id")?,
                col::<Option<String>>(row, "file_ext")?.as_deref(),
            )?;
            items.push((
                seq,
                SessionSummary {
                    seq,
                    number,
                    owner: UserRef {
                        id: session.owner,
                        username: col(row, "username")?,
                        real_name: col(row, "real_name")?,
                    },
                    session,
                    participants: Default::default(),
                    guest_stays: 0,
                    recording_url: col(row, "recording_url")?,
                    recording_file,
                },
            ));
        }
        Ok(items)
    }

    /// Who attended each of the sessions numbered `seqs`: their stays in one pass of
    /// `attendance_by_session`, grouped as every store groups them.
    async fn attendees_of(&mut self, seqs: &[i64]) -> StoreResult<Vec<(i64, Attendees)>> {
        let position: HashMap<i64, usize> = seqs.iter().enumerate().map(|(i, s)| (*s, i)).collect();
        let stays = self
            .rows(
                "SELECT session_seq, user_id, joined_at FROM attendance \
                 WHERE session_seq = ANY($1)",
                1,
                Subject::SessionRows,
                move |q| q.bind(seqs.to_vec()),
            )
            .await?;
        let mut grouped = Vec::with_capacity(stays.len());
        let mut user_ids: Vec<Uuid> = Vec::new();
        for row in &stays {
            let seq: i64 = col(row, "session_seq")?;
            let user: Option<Uuid> = col(row, "user_id")?;
            if let Some(id) = user {
                user_ids.push(id);
            }
            if let Some(&i) = position.get(&seq) {
                grouped.push((i, user, col::<i64>(row, "joined_at")?));
            }
        }
        user_ids.sort_unstable();
        user_ids.dedup();
        let mut users = HashMap::with_capacity(user_ids.len());
        if !user_ids.is_empty() {
            let rows = self
                .rows(
                    "SELECT id, username, real_name FROM users WHERE id = ANY($1)",
                    1,
                    Subject::SessionRows,
                    move |q| q.bind(user_ids),
                )
                .await?;
            for row in &rows {
                users.insert(
                    col::<Uuid>(row, "id")?,
                    (col(row, "username")?, col(row, "real_name")?),
                );
            }
        }
        Ok(seqs
            .iter()
            .copied()
            .zip(group_attendees(seqs.len(), grouped, &users)?)
            .collect())
    }

    async fn recordings_by_seq(&mut self, seqs: &[i64]) -> StoreResult<Vec<(i64, RecordingView)>> {
        let select = format!(
            "SELECT {RECORDING_COLUMNS}, r.seq AS recording_seq FROM {RECORDING_FROM} \
             WHERE r.seq = ANY($1)"
        );
        let rows = self
            .rows(&select, 1, Subject::RecordingRows, move |q| {
                q.bind(seqs.to_vec())
            })
            .await?;
        rows.iter()
            .map(|row| Ok((col(row, "recording_seq")?, recording_from_row(row)?)))
            .collect()
    }

    // What the moves since a generation were for: in the snapshot, or as a statement checked
    // against the first statement's generations. The changed rows' index entries: in the
    // snapshot only (`for_an_index`).

    async fn changes_since(
        &mut self,
        company: CompanyId,
        subject: Subject,
        since: i64,
    ) -> StoreResult<Option<Vec<i64>>> {
        if matches!(subject, Subject::Sessions | Subject::Recordings) {
            self.for_an_index()?;
        }
        let current = self.generation(company, subject).await?;
        if current - since > CHANGES_KEPT {
            return Ok(None);
        }
        let rows = self
            .rows(
                "SELECT seq FROM history_changes \
                 WHERE company_id = $1 AND subject = $2 AND generation > $3",
                3,
                subject,
                move |q| q.bind(company.as_uuid()).bind(subject.as_str()).bind(since),
            )
            .await?;
        // One record per move, unless the moves predate the records (migration 0032).
        if i64::try_from(rows.len()).ok() != Some(current - since) {
            return Ok(None);
        }
        // A NULL is a move for any row.
        rows.iter()
            .map(|row| col::<Option<i64>>(row, "seq"))
            .collect::<StoreResult<Option<Vec<i64>>>>()
    }

    async fn session_entries(
        &mut self,
        company: CompanyId,
        seqs: &[i64],
        each: &mut (dyn FnMut(SessionEntry<'_>) + Send),
    ) -> StoreResult<()> {
        self.for_an_index()?;
        let rows = self
            .rows(
                &format!("{SESSION_ENTRIES} AND seq = ANY($2)"),
                2,
                Subject::Sessions,
                move |q| q.bind(company.as_uuid()).bind(seqs.to_vec()),
            )
            .await?;
        each_session_entry(&rows, each)
    }

    async fn recording_entries(
        &mut self,
        company: CompanyId,
        seqs: &[i64],
        each: &mut (dyn FnMut(RecordingEntry) + Send),
    ) -> StoreResult<()> {
        self.for_an_index()?;
        let rows = self
            .rows(
                &format!("{RECORDING_ENTRIES} AND r.seq = ANY($2)"),
                2,
                Subject::Recordings,
                move |q| q.bind(company.as_uuid()).bind(seqs.to_vec()),
            )
            .await?;
        each_recording_entry(&rows, each)
    }
}

impl Reads<'_> {
    /// What an index is built or patched from is read in the snapshot only: the layer reads
    /// it holding the company's index (`GenerationCache::get`), and a statement would wait
    /// there for a pool connection while the requests queued behind it hold theirs in their
    /// snapshots. (Tried: every list of the company stalled until clients gave up, 10 s.)
    fn for_an_index(&mut self) -> StoreResult<()> {
        match self.way {
            Way::Snapshot(_) => Ok(()),
            Way::Statements { .. } => Err(self.stop()),
        }
    }
}

/// How many moves of a subject's generation `history_changes` keeps per company (migration
/// 0032 deletes older ones): a reader that far behind or less finds every move since.
const CHANGES_KEPT: i64 = 1024;

/// A company's sessions as its index holds them (`$1` the company).
const SESSION_ENTRIES: &str =
    "SELECT seq, started_at, room_id, name FROM sessions WHERE company_id = $1";

/// A company's recordings as its index holds them (`$1` the company): a recording's room is
/// its session's, if the session is the company's.
const RECORDING_ENTRIES: &str = "SELECT r.seq, r.started_at, r.ended_at, r.duration_secs, \
         r.status, r.kind, r.session_seq, r.attendance_seq, s.room_id \
     FROM recordings r \
     LEFT JOIN sessions s ON s.seq = r.session_seq AND s.company_id = r.company_id \
     WHERE r.company_id = $1";

fn each_session_entry(
    rows: &[PgRow],
    each: &mut (dyn FnMut(SessionEntry<'_>) + Send),
) -> StoreResult<()> {
    for row in rows {
        let name: &str = col(row, "name")?;
        each(SessionEntry {
            seq: col(row, "seq")?,
            started_at: col(row, "started_at")?,
            room: col(row, "room_id")?,
            name,
        });
    }
    Ok(())
}

fn each_recording_entry(
    rows: &[PgRow],
    each: &mut (dyn FnMut(RecordingEntry) + Send),
) -> StoreResult<()> {
    for row in rows {
        let status: &str = col(row, "status")?;
        let kind: &str = col(row, "kind")?;
        let duration: i64 = col(row, "duration_secs")?;
        each(RecordingEntry {
            seq: col(row, "seq")?,
            started_at: col(row, "started_at")?,
            ended_at: col(row, "ended_at")?,
            duration_secs: u32::try_from(duration)
                .map_err(|_| corrupt("recordings.duration_secs"))?,
            status: RecordingStatus::parse(status).ok_or_else(|| corrupt("recordings.status"))?,
            kind: RecordingKind::parse(kind).ok_or_else(|| corrupt("recordings.kind"))?,
            room: col(row, "room_id")?,
            session: col(row, "session_seq")?,
            stay: col(row, "attendance_seq")?,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use plenum_store::History;
    use plenum_store::contract_history::{plain_recording, plain_session};

    use super::*;
    use crate::PgStore;
    use crate::testing::{self, TestDatabase};

    /// A store with one company holding one session; `None` (skipped) without a test server.
    async fn one_session(test: &str) -> Option<(TestDatabase, PgStore, CompanyId, i64)> {
        let (database, store, company, admin) = testing::store_with_a_company(test).await?;
        let session = plain_session(company, admin.id, "Planning", 0, None);
        store
            .insert_history_batch(std::slice::from_ref(&session), &[], &[])
            .await
            .expect("insert");
        let seq = sqlx::query_scalar("SELECT seq FROM sessions WHERE id = $1")
            .bind(session.id.as_uuid())
            .fetch_one(&store.pool)
            .await
            .expect("seq");
        Some((database, store, company, seq))
    }

    /// Statements of `company` whose first read has taken the generations.
    async fn after_first_read(store: &PgStore, company: CompanyId) -> Reads<'_> {
        let mut reads = Reads::statements(&store.pool, &store.generations, company);
        reads
            .generation(company, Subject::SessionRows)
            .await
            .expect("generations");
        reads
    }

    #[tokio::test]
    async fn rows_read_after_a_change_since_the_first_statement_stop_the_attempt() {
        let Some((_db, store, company, seq)) =
            one_session("rows_read_after_a_change_since_the_first_statement_stop_the_attempt")
                .await
        else {
            return;
        };
        let mut reads = after_first_read(&store, company).await;
        // Another writer renames the session between the two statements.
        sqlx::query("UPDATE sessions SET name = 'Renamed' WHERE seq = $1")
            .bind(seq)
            .execute(&store.pool)
            .await
            .expect("rename");
        assert!(reads.sessions_by_seq(&[seq]).await.is_err());
        assert!(reads.moved(), "the attempt must stop, not answer");

        // A new attempt reads the renamed row, checked against the new generation.
        let mut reads = after_first_read(&store, company).await;
        let rows = reads.sessions_by_seq(&[seq]).await.expect("rows");
        assert!(!reads.moved());
        assert_eq!(rows[0].1.session.name, "Renamed");
    }

    #[tokio::test]
    async fn reads_that_cannot_be_checked_stop_the_attempt() {
        let Some((_db, store, company, seq)) =
            one_session("reads_that_cannot_be_checked_stop_the_attempt").await
        else {
            return;
        };
        // Rows before any generation was read.
        let mut reads = Reads::statements(&store.pool, &store.generations, company);
        assert!(reads.sessions_by_seq(&[seq]).await.is_err());
        assert!(reads.moved());
        // An index scan.
        let mut reads = after_first_read(&store, company).await;
        assert!(reads.scan_sessions(company, &mut |_| {}).await.is_err());
        assert!(reads.moved());
        // A room asked about after the generations were read.
        let mut reads = after_first_read(&store, company).await;
        assert!(
            reads
                .has_room(company, RoomId::new(plenum_store::contract::at(0)))
                .await
                .is_err()
        );
        assert!(reads.moved());
        // Rows that are gone carry no generation.
        let mut reads = after_first_read(&store, company).await;
        assert!(reads.sessions_by_seq(&[seq + 1000]).await.is_err());
        assert!(reads.moved());
        // Another company's generations.
        let mut reads = Reads::statements(&store.pool, &store.generations, company);
        assert!(
            reads
                .generation(
                    CompanyId::new(plenum_store::contract::at(0)),
                    Subject::Sessions
                )
                .await
                .is_err()
        );
        assert!(reads.moved());
    }

    #[tokio::test]
    async fn an_unmoved_attempt_answers_in_statements_as_the_snapshot_does() {
        let Some((_db, store, company, seq)) =
            one_session("an_unmoved_attempt_answers_in_statements_as_the_snapshot_does").await
        else {
            return;
        };
        let mut reads = Reads::statements(&store.pool, &store.generations, company);
        let generation = reads
            .generation(company, Subject::SessionRows)
            .await
            .expect("generations");
        let rows = reads.sessions_by_seq(&[seq]).await.expect("rows");
        assert!(!reads.moved());

        let mut tx = store.read_snapshot().await.expect("begin");
        let mut snapshot = Reads::snapshot(&mut tx);
        assert_eq!(
            snapshot
                .generation(company, Subject::SessionRows)
                .await
                .expect("generation"),
            generation
        );
        let in_snapshot = snapshot.sessions_by_seq(&[seq]).await.expect("rows");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].1.session, in_snapshot[0].1.session);
        assert_eq!(rows[0].1.owner, in_snapshot[0].1.owner);
    }

    // What the moves since a generation were for, and the changed rows' entries.

    /// A store with one company holding one session and its recording: the company, the
    /// session's number and the recording's; `None` (skipped) without a test server.
    async fn recorded_session(test: &str) -> Option<(TestDatabase, PgStore, CompanyId, i64, i64)> {
        let (database, store, company, admin) = testing::store_with_a_company(test).await?;
        let session = plain_session(company, admin.id, "Planning", 0, None);
        let recording = plain_recording(
            &session,
            10,
            60,
            true,
            RecordingStatus::Completed,
            RecordingKind::Video,
        );
        store
            .insert_history_batch(
                std::slice::from_ref(&session),
                &[],
                std::slice::from_ref(&recording),
            )
            .await
            .expect("insert");
        let seq = |table: &'static str, id: Uuid| {
            let pool = store.pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(&format!("SELECT seq FROM {table} WHERE id = $1"))
                    .bind(id)
                    .fetch_one(&pool)
                    .await
                    .expect("seq")
            }
        };
        let session_seq = seq("sessions", session.id.as_uuid()).await;
        let recording_seq = seq("recordings", recording.id.as_uuid()).await;
        Some((database, store, company, session_seq, recording_seq))
    }

    /// Renames the session and lengthens the recording, from another connection.
    async fn change_both(store: &PgStore, session: i64, recording: i64) {
        sqlx::query("UPDATE sessions SET name = name || '!' WHERE seq = $1")
            .bind(session)
            .execute(&store.pool)
            .await
            .expect("rename");
        sqlx::query("UPDATE recordings SET duration_secs = duration_secs + 1 WHERE seq = $1")
            .bind(recording)
            .execute(&store.pool)
            .await
            .expect("lengthen");
    }

    #[tokio::test]
    async fn changes_read_after_a_change_since_the_first_statement_stop_the_attempt() {
        let Some((_db, store, company, session, recording)) = recorded_session(
            "changes_read_after_a_change_since_the_first_statement_stop_the_attempt",
        )
        .await
        else {
            return;
        };
        for subject in [Subject::SessionRows, Subject::RecordingRows] {
            let mut reads = after_first_read(&store, company).await;
            let since = reads
                .generation(company, subject)
                .await
                .expect("generation")
                - 1;
            change_both(&store, session, recording).await;
            assert!(reads.changes_since(company, subject, since).await.is_err());
            assert!(reads.moved(), "the attempt must stop, not answer");
        }
        // No change, but no move since either: no row carries the generation.
        let mut reads = after_first_read(&store, company).await;
        let current = reads
            .generation(company, Subject::SessionRows)
            .await
            .expect("generation");
        assert!(
            reads
                .changes_since(company, Subject::SessionRows, current)
                .await
                .is_err()
        );
        assert!(reads.moved());
    }

    #[tokio::test]
    async fn an_index_is_patched_only_in_a_transaction() {
        let Some((_db, store, company, session, recording)) =
            recorded_session("an_index_is_patched_only_in_a_transaction").await
        else {
            return;
        };
        for subject in [Subject::Sessions, Subject::Recordings] {
            let mut reads = after_first_read(&store, company).await;
            assert!(reads.changes_since(company, subject, 0).await.is_err());
            assert!(reads.moved());
        }
        let mut reads = after_first_read(&store, company).await;
        assert!(
            reads
                .session_entries(company, &[session], &mut |_| {})
                .await
                .is_err()
        );
        assert!(reads.moved());
        let mut reads = after_first_read(&store, company).await;
        let mut read = Vec::new();
        assert!(
            reads
                .recording_entries(company, &[recording], &mut |e| read.push(e.seq))
                .await
                .is_err()
        );
        assert!(reads.moved());
        assert!(read.is_empty());
    }

    /// What `reads` says changed since `since` ('session_rows', 'recording_rows').
    async fn row_changes(
        reads: &mut Reads<'_>,
        company: CompanyId,
        since: [i64; 2],
    ) -> Vec<Option<Vec<i64>>> {
        let mut changed = Vec::new();
        for (subject, since) in [Subject::SessionRows, Subject::RecordingRows]
            .into_iter()
            .zip(since)
        {
            changed.push(
                reads
                    .changes_since(company, subject, since)
                    .await
                    .expect("changes"),
            );
        }
        changed
    }

    #[tokio::test]
    async fn changes_in_statements_answer_as_the_snapshot_does() {
        let Some((_db, store, company, session, recording)) =
            recorded_session("changes_in_statements_answer_as_the_snapshot_does").await
        else {
            return;
        };
        let mut before = after_first_read(&store, company).await;
        let mut since = [0; 4];
        for (at, subject) in since.iter_mut().zip([
            Subject::SessionRows,
            Subject::RecordingRows,
            Subject::Sessions,
            Subject::Recordings,
        ]) {
            *at = before
                .generation(company, subject)
                .await
                .expect("generation");
        }
        change_both(&store, session, recording).await;

        let mut reads = after_first_read(&store, company).await;
        let in_statements = row_changes(&mut reads, company, [since[0], since[1]]).await;
        assert!(!reads.moved());
        // The rename moved 'session_rows' for the session; the lengthening moved it for the
        // recording's session and 'recording_rows' for the recording.
        assert_eq!(in_statements[0], Some(vec![session, session]));
        assert_eq!(in_statements[1], Some(vec![recording]));

        let mut tx = store.read_snapshot().await.expect("begin");
        let mut snapshot = Reads::snapshot(&mut tx);
        assert_eq!(
            row_changes(&mut snapshot, company, [since[0], since[1]]).await,
            in_statements
        );
        // The index subjects and entries, in the snapshot: the rename moved 'sessions' for the
        // session and 'recordings' for any recording (an entry holds its session's room).
        assert_eq!(
            snapshot
                .changes_since(company, Subject::Sessions, since[2])
                .await
                .expect("sessions"),
            Some(vec![session])
        );
        assert_eq!(
            snapshot
                .changes_since(company, Subject::Recordings, since[3])
                .await
                .expect("recordings"),
            None
        );
        let mut names = Vec::new();
        snapshot
            .session_entries(company, &[session], &mut |e| names.push(e.name.to_owned()))
            .await
            .expect("session entries");
        assert_eq!(names, vec!["Planning!".to_owned()]);
        let mut durations = Vec::new();
        snapshot
            .recording_entries(company, &[recording], &mut |e| {
                durations.push(e.duration_secs)
            })
            .await
            .expect("recording entries");
        assert_eq!(durations, vec![61]);
    }
}

//! The history lists from memory, over any backend: a company's sessions and recordings in
//! list order (`index.rs`) pick a page and its exact total; the page's rows are remembered
//! ([`RowCache`]) or read by number. Everything one answer reads — generations, the rows an
//! index is built from, the page's rows — comes from one [`HistorySnapshot`], which the
//! backend opens as one consistent read (SQLite: a read transaction; PostgreSQL: single
//! statements checked against the change generations, else a `REPEATABLE READ` transaction),
//! so page and total describe the same state of the database.
//!
//! A session's attendance page is cut from every stay of the session, remembered once the
//! session has ended; the numbers of the rows that requests name by id are remembered too.
//!
//! What the lists do not index does not move the generations: a running meeting's end,
//! last-seen instant and peak, and every join and leave, so live meetings never force a
//! rebuild.

mod index;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use uuid::Uuid;

use plenum_domain::history::{RecordingKind, RecordingStatus};
use plenum_domain::history_query::{
    AttendanceQuery, RecordingFilter, RecordingView, SearchText, SessionAttendance, SessionKey,
    SessionQuery, SessionSummary,
};
use plenum_domain::ids::{AttendanceId, CompanyId, RoomId, SessionId};
use plenum_domain::paging::{Page, PageRequest};
use plenum_metrics::cache::Cache;
use plenum_store::rows::{Attendees, SessionStays};
use plenum_store::{StoreError, StoreResult};

pub use index::{Owners, RecordingIndex, Selection, SessionIndex};

use index::OwnedSession;

use crate::generations::{GenerationCache, NumberCache, RowCache, Subject};

/// A session as the index holds it (from the backend's ordered scan).
#[derive(Debug, Clone, Copy)]
pub struct SessionEntry<'a> {
    pub seq: i64,
    /// Start instant, ms.
    pub started_at: i64,
    pub room: Option<Uuid>,
    /// The name as stored (the index folds it).
    pub name: &'a str,
}

/// A recording as the index holds it (from the backend's ordered scan).
#[derive(Debug, Clone, Copy)]
pub struct RecordingEntry {
    pub seq: i64,
    /// Start and end instants, ms.
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub duration_secs: u32,
    pub status: RecordingStatus,
    pub kind: RecordingKind,
    /// Its session's room, if the session is the company's.
    pub room: Option<Uuid>,
    /// Its session's number.
    pub session: i64,
    /// The number of the stay it records, for a participant's own recording.
    pub stay: Option<i64>,
}

/// The port a backend implements for the history lists: one consistent read of its database.
/// Every method answers as of the same state of the database — one snapshot, or (PostgreSQL's
/// single statements) reads each checked against the generations the first one found — or
/// fails, and then nothing it read is remembered.
// Backends call the layer with their concrete snapshot, so the futures' `Send` follows from
// the implementation (PostgreSQL's are `Send`; SQLite's run to completion on the calling
// thread); no bound is wanted here.
#[allow(async_fn_in_trait)]
pub trait HistorySnapshot {
    /// The company's generation of `subject` (0 before its first change).
    async fn generation(&mut self, company: CompanyId, subject: Subject) -> StoreResult<i64>;

    /// Whether `room` is one of the company's rooms.
    async fn has_room(&mut self, company: CompanyId, room: RoomId) -> StoreResult<bool>;

    /// The company's sessions in list order: newest start first, ties newest number first.
    async fn scan_sessions(
        &mut self,
        company: CompanyId,
        each: &mut (dyn FnMut(SessionEntry<'_>) + Send),
    ) -> StoreResult<()>;

    /// The company's recordings in list order: newest start first, ties newest number first.
    async fn scan_recordings(
        &mut self,
        company: CompanyId,
        each: &mut (dyn FnMut(RecordingEntry) + Send),
    ) -> StoreResult<()>;

    /// The sessions numbered `seqs` with their owners and first completed recordings, in any
    /// order; participants left empty.
    async fn sessions_by_seq(&mut self, seqs: &[i64]) -> StoreResult<Vec<(i64, SessionSummary)>>;

    /// Who attended each of the sessions numbered `seqs`.
    async fn attendees_of(&mut self, seqs: &[i64]) -> StoreResult<Vec<(i64, Attendees)>>;

    /// The recordings numbered `seqs`, in any order.
    async fn recordings_by_seq(&mut self, seqs: &[i64]) -> StoreResult<Vec<(i64, RecordingView)>>;

    /// The rows that the moves of the company's `subject` generation after `since` were for,
    /// up to this snapshot's generation: `Some` if every such move is known and names its row,
    /// else `None` (the caller drops what it remembered, as without this). A backend that
    /// keeps no record of its moves answers `None`, and is then never asked for entries.
    async fn changes_since(
        &mut self,
        _company: CompanyId,
        _subject: Subject,
        _since: i64,
    ) -> StoreResult<Option<Vec<i64>>> {
        Ok(None)
    }

    /// The company's sessions numbered `seqs` as [`scan_sessions`](Self::scan_sessions) gives
    /// them, in any order; those that are gone or not the company's left out.
    async fn session_entries(
        &mut self,
        _company: CompanyId,
        _seqs: &[i64],
        _each: &mut (dyn FnMut(SessionEntry<'_>) + Send),
    ) -> StoreResult<()> {
        Err(no_changes())
    }

    /// The company's recordings numbered `seqs` as [`scan_recordings`](Self::scan_recordings)
    /// gives them, in any order; those that are gone or not the company's left out.
    async fn recording_entries(
        &mut self,
        _company: CompanyId,
        _seqs: &[i64],
        _each: &mut (dyn FnMut(RecordingEntry) + Send),
    ) -> StoreResult<()> {
        Err(no_changes())
    }

    /// The number of the company's session `session` (by its id or its number within the
    /// company), if it is the company's: a recording filter of a session, whose recordings the
    /// index finds by that number, or a session's attendance page.
    async fn session_number(
        &mut self,
        company: CompanyId,
        session: SessionKey,
    ) -> StoreResult<Option<i64>>;

    /// The company's sessions numbered `seqs`, each with its invitees and every stay of it in
    /// order of joining (ties: the stays' numbers), in any order; those not the company's left
    /// out.
    async fn session_stays(
        &mut self,
        company: CompanyId,
        seqs: &[i64],
    ) -> StoreResult<Vec<(i64, Arc<SessionStays>)>>;

    /// The number of the company's stay `stay`, if it is the company's (a recording filter of
    /// a participant, as [`session_number`](Self::session_number)).
    async fn stay_number(
        &mut self,
        company: CompanyId,
        stay: AttendanceId,
    ) -> StoreResult<Option<i64>>;
}

fn no_changes() -> StoreError {
    StoreError::Internal("entries asked of a backend that records no changes".into())
}

/// The history lists' memory: each company's list indexes and the rows its pages showed.
#[derive(Debug)]
pub struct HistoryMemory {
    sessions: GenerationCache<SessionIndex>,
    recordings: GenerationCache<RecordingIndex>,
    session_rows: RowCache<SessionSummary>,
    /// Who attended an ended session (a running one's are always read); the same subject as
    /// `session_rows`, whose generation reading it shares.
    attendees: RowCache<Attendees>,
    recording_rows: RowCache<RecordingView>,
    /// An ended session with every stay (a running one's are always read): its attendance
    /// pages. The subject `session_rows`, whose generation reading it shares.
    stays: RowCache<Arc<SessionStays>>,
    /// The numbers of the sessions and stays filters and attendance pages name; under
    /// `recording_rows`, which every change of a session's or a stay's id, number or company
    /// moves for any row (migrations: SQLite 0022, PostgreSQL 0033).
    numbers: NumberCache<Numbered>,
}

/// Ended sessions whose stays are remembered per company at most: ~5 MB a company at ten
/// stays a session (~250 bytes a stay); attendance pages are asked of a few sessions at a
/// time (a report, an integration following recent meetings), not paged through.
const STAYS_PER_COMPANY: usize = 2_048;

/// What a request names a session or a stay by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Numbered {
    Session(SessionId),
    SessionNumber(i64),
    Stay(AttendanceId),
}

impl Default for HistoryMemory {
    fn default() -> Self {
        Self {
            sessions: GenerationCache::new(Subject::Sessions),
            recordings: GenerationCache::new(Subject::Recordings),
            session_rows: RowCache::new(Subject::SessionRows),
            attendees: RowCache::new(Subject::SessionRows).counted_as(Cache::Attendees),
            recording_rows: RowCache::new(Subject::RecordingRows),
            stays: RowCache::new(Subject::SessionRows)
                .counted_as(Cache::Stays)
                .at_most(STAYS_PER_COMPANY),
            numbers: NumberCache::new(Subject::RecordingRows),
        }
    }
}

impl HistoryMemory {
    /// The company's sessions matching `query`, paged, read through `snapshot`.
    pub async fn find_sessions<S: HistorySnapshot>(
        &self,
        snapshot: &mut S,
        company: CompanyId,
        query: &SessionQuery,
        page: PageRequest,
    ) -> StoreResult<Page<SessionSummary>> {
        if query.started.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                total: 0,
            });
        }
        if let Some(room) = query.room
            && !snapshot.has_room(company, room).await?
        {
            return Err(StoreError::NotFound);
        }
        let name = query.name.as_ref().map(SearchText::folded);
        // Which sessions the page holds, and how many match, from the company's index; then
        // the page's rows, remembered or read in the same snapshot.
        let generation = snapshot.generation(company, Subject::Sessions).await?;
        let held = self.sessions.built(company)?;
        let snap = &mut *snapshot;
        let index = self
            .sessions
            .get(company, generation, move || async move {
                let began = Instant::now();
                if let Some((since, held)) = held.filter(|(built, _)| *built < generation)
                    && let Some(changed) = snap
                        .changes_since(company, Subject::Sessions, since)
                        .await?
                {
                    let mut fresh = Vec::new();
                    snap.session_entries(company, &changed, &mut |entry| {
                        fresh.push(OwnedSession::from(entry))
                    })
                    .await?;
                    let index = held.patched(&changed, fresh);
                    index::built("sessions (patched)", company, changed.len(), began);
                    return Ok(index);
                }
                let mut index = SessionIndex::default();
                snap.scan_sessions(company, &mut |entry| index.push(entry))
                    .await?;
                index::built("sessions", company, index.len(), began);
                Ok(index)
            })
            .await?;
        let selection = index.select(query, name.as_deref(), page);
        // One reading for both caches of the subject `session_rows`.
        let rows_generation = snapshot.generation(company, Subject::SessionRows).await?;
        carry_over(
            snapshot,
            company,
            rows_generation,
            &[&self.session_rows, &self.attendees],
        )
        .await?;
        let snap = &mut *snapshot;
        let rows = self
            .session_rows
            .rows(
                company,
                rows_generation,
                &selection.seqs,
                |_, _| true,
                move |missing| async move { snap.sessions_by_seq(&missing).await },
            )
            .await?;
        let mut items: Vec<SessionSummary> = in_order_of(&selection.seqs, rows);
        if query.with_participants {
            let ended: Vec<i64> = items
                .iter()
                .filter(|s| s.session.ended_at.is_some())
                .map(|s| s.seq)
                .collect();
            let snap = &mut *snapshot;
            let attendees = self
                .attendees
                .rows(
                    company,
                    rows_generation,
                    &selection.seqs,
                    |seq, _| ended.contains(&seq),
                    move |missing| async move { snap.attendees_of(&missing).await },
                )
                .await?;
            let mut attendees: HashMap<i64, Attendees> = attendees.into_iter().collect();
            for item in &mut items {
                if let Some(a) = attendees.remove(&item.seq) {
                    item.participants = a.participants;
                    item.guest_stays = a.guest_stays;
                }
            }
        }
        Ok(Page {
            items,
            total: selection.total,
        })
    }

    /// The company's recordings matching `filter`, paged, read through `snapshot`.
    pub async fn find_recordings<S: HistorySnapshot>(
        &self,
        snapshot: &mut S,
        company: CompanyId,
        filter: &RecordingFilter,
        page: PageRequest,
    ) -> StoreResult<Page<RecordingView>> {
        if filter.matches_nothing() {
            return Ok(Page {
                items: Vec::new(),
                total: 0,
            });
        }
        // One reading of `recording_rows` for the page's rows and the numbers.
        let rows_generation = snapshot.generation(company, Subject::RecordingRows).await?;
        carry_over(
            snapshot,
            company,
            rows_generation,
            &[&self.recording_rows, &self.numbers],
        )
        .await?;
        // A session's or a stay's recordings by their numbers, as the index holds them; one
        // that is not the company's has none.
        let empty = Page {
            items: Vec::new(),
            total: 0,
        };
        let owners = Owners {
            session: match filter.session {
                None => None,
                Some(id) => {
                    let key = SessionKey::Id(id);
                    match self.number(snapshot, company, rows_generation, key).await? {
                        Some(seq) => Some(seq),
                        None => return Ok(empty),
                    }
                }
            },
            stay: match filter.participant {
                None => None,
                Some(id) => {
                    let snap = &mut *snapshot;
                    let number = self
                        .numbers
                        .number(
                            company,
                            rows_generation,
                            Numbered::Stay(id),
                            move || async move { snap.stay_number(company, id).await },
                        )
                        .await?;
                    match number {
                        Some(seq) => Some(seq),
                        None => return Ok(empty),
                    }
                }
            },
        };
        // The page and the total from the company's index; the page's rows from the same
        // snapshot.
        let generation = snapshot.generation(company, Subject::Recordings).await?;
        let held = self.recordings.built(company)?;
        let snap = &mut *snapshot;
        let index = self
            .recordings
            .get(company, generation, move || async move {
                let began = Instant::now();
                if let Some((since, held)) = held.filter(|(built, _)| *built < generation)
                    && let Some(changed) = snap
                        .changes_since(company, Subject::Recordings, since)
                        .await?
                {
                    let mut fresh = Vec::new();
                    snap.recording_entries(company, &changed, &mut |entry| fresh.push(entry))
                        .await?;
                    let index = held.patched(&changed, fresh);
                    index::built("recordings (patched)", company, changed.len(), began);
                    return Ok(index);
                }
                let mut index = RecordingIndex::default();
                snap.scan_recordings(company, &mut |entry| index.push(entry))
                    .await?;
                index::built("recordings", company, index.len(), began);
                Ok(index)
            })
            .await?;
        let selection = index.select(filter, owners, page);
        let snap = &mut *snapshot;
        let rows = self
            .recording_rows
            .rows(
                company,
                rows_generation,
                &selection.seqs,
                |_, _| true,
                move |missing| async move { snap.recordings_by_seq(&missing).await },
            )
            .await?;
        Ok(Page {
            items: in_order_of(&selection.seqs, rows),
            total: selection.total,
        })
    }
}

impl HistoryMemory {
    /// The company's session `key` with the page of its stays `query` returns, read through
    /// `snapshot`; `None` if the company has no such session.
    pub async fn session_attendance<S: HistorySnapshot>(
        &self,
        snapshot: &mut S,
        company: CompanyId,
        key: SessionKey,
        query: &AttendanceQuery,
        page: PageRequest,
    ) -> StoreResult<Option<SessionAttendance>> {
        let numbers_generation = snapshot.generation(company, Subject::RecordingRows).await?;
        carry_over(snapshot, company, numbers_generation, &[&self.numbers]).await?;
        let Some(seq) = self
            .number(snapshot, company, numbers_generation, key)
            .await?
        else {
            return Ok(None);
        };
        let rows_generation = snapshot.generation(company, Subject::SessionRows).await?;
        carry_over(
            snapshot,
            company,
            rows_generation,
            &[&self.session_rows, &self.attendees, &self.stays],
        )
        .await?;
        let snap = &mut *snapshot;
        let found = self
            .stays
            .rows(
                company,
                rows_generation,
                &[seq],
                |_, stays| stays.session.ended_at.is_some(),
                move |missing| async move { snap.session_stays(company, &missing).await },
            )
            .await?;
        Ok(found
            .into_iter()
            .next()
            .map(|(seq, stays)| SessionAttendance {
                seq,
                session: stays.session.clone(),
                attendance: query.page_of(&stays.stays, page),
                invited: stays.invited.clone(),
            }))
    }

    /// The number of the company's session `key`, remembered at `generation` of
    /// `recording_rows` or read through `snapshot`.
    async fn number<S: HistorySnapshot>(
        &self,
        snapshot: &mut S,
        company: CompanyId,
        generation: i64,
        key: SessionKey,
    ) -> StoreResult<Option<i64>> {
        let numbered = match key {
            SessionKey::Id(id) => Numbered::Session(id),
            SessionKey::Number(number) => Numbered::SessionNumber(number),
        };
        self.numbers
            .number(company, generation, numbered, move || async move {
                snapshot.session_number(company, key).await
            })
            .await
    }
}

/// Brings the company's remembered rows of `caches` (one subject) up to `generation` (read in
/// `snapshot`) by forgetting only the rows the moves since were for, if the backend knows them;
/// otherwise [`RowCache::rows`] drops them all.
async fn carry_over<S: HistorySnapshot>(
    snapshot: &mut S,
    company: CompanyId,
    generation: i64,
    caches: &[&dyn Forget],
) -> StoreResult<()> {
    // The caches of one subject may hold at different generations: ask once per generation.
    let mut asked: Vec<(i64, Option<Vec<i64>>)> = Vec::new();
    for cache in caches {
        let Some(since) = cache.remembered_at(company)?.filter(|g| *g < generation) else {
            continue;
        };
        if !asked.iter().any(|(g, _)| *g == since) {
            let changed = snapshot
                .changes_since(company, cache.subject(), since)
                .await?;
            asked.push((since, changed));
        }
        if let Some((_, Some(changed))) = asked.iter().find(|(g, _)| *g == since) {
            cache.forget(company, since, generation, changed)?;
        }
    }
    Ok(())
}

/// A [`RowCache`] of any row type, as [`carry_over`] uses it.
trait Forget: Sync {
    fn subject(&self) -> Subject;
    fn remembered_at(&self, company: CompanyId) -> StoreResult<Option<i64>>;
    fn forget(&self, company: CompanyId, from: i64, to: i64, changed: &[i64]) -> StoreResult<()>;
}

impl<R: Clone + Send> Forget for RowCache<R> {
    fn subject(&self) -> Subject {
        RowCache::subject(self)
    }
    fn remembered_at(&self, company: CompanyId) -> StoreResult<Option<i64>> {
        RowCache::remembered_at(self, company)
    }
    fn forget(&self, company: CompanyId, from: i64, to: i64, changed: &[i64]) -> StoreResult<()> {
        RowCache::forget(self, company, from, to, changed)
    }
}

impl<K: Copy + Eq + std::hash::Hash + Sync + Send> Forget for NumberCache<K> {
    fn subject(&self) -> Subject {
        NumberCache::subject(self)
    }
    fn remembered_at(&self, company: CompanyId) -> StoreResult<Option<i64>> {
        NumberCache::remembered_at(self, company)
    }
    fn forget(&self, company: CompanyId, from: i64, to: i64, _changed: &[i64]) -> StoreResult<()> {
        NumberCache::forget(self, company, from, to)
    }
}

/// `rows` (read by number, in any order) in the order of `seqs`, the page's list order:
/// cheaper than a sort in the database for the few rows of a page.
pub fn in_order_of<T>(seqs: &[i64], rows: Vec<(i64, T)>) -> Vec<T> {
    let position: HashMap<i64, usize> = seqs.iter().enumerate().map(|(i, s)| (*s, i)).collect();
    let mut rows = rows;
    rows.sort_by_key(|(seq, _)| position.get(seq).copied().unwrap_or(usize::MAX));
    rows.into_iter().map(|(_, row)| row).collect()
}

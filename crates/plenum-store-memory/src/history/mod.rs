//! The history lists from memory, over any backend: a company's sessions and recordings in
//! list order (`index.rs`) pick a page and its exact total; the page's rows are remembered
//! ([`RowCache`]) or read by number. Everything one answer reads — generations, the rows an
//! index is built from, the page's rows — comes from one [`HistorySnapshot`], which the
//! backend opens as one consistent read (SQLite: a read transaction; PostgreSQL: single
//! statements checked against the change generations, else a `REPEATABLE READ` transaction),
//! so page and total describe the same state of the database.
//!
//! What the lists do not index does not move the generations: a running meeting's end,
//! last-seen instant and peak, and every join and leave, so live meetings never force a
//! rebuild.

mod index;

use std::collections::HashMap;
use std::time::Instant;

use uuid::Uuid;

use plenum_domain::history::{RecordingKind, RecordingStatus};
use plenum_domain::history_query::{
    RecordingFilter, RecordingView, SearchText, SessionQuery, SessionSummary,
};
use plenum_domain::ids::{CompanyId, RoomId};
use plenum_domain::paging::{Page, PageRequest};
use plenum_metrics::cache::Cache;
use plenum_store::rows::Attendees;
use plenum_store::{StoreError, StoreResult};

pub use index::{RecordingIndex, Selection, SessionIndex};

use crate::generations::{GenerationCache, RowCache, Subject};

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
}

impl Default for HistoryMemory {
    fn default() -> Self {
        Self {
            sessions: GenerationCache::new(Subject::Sessions),
            recordings: GenerationCache::new(Subject::Recordings),
            session_rows: RowCache::new(Subject::SessionRows),
            attendees: RowCache::new(Subject::SessionRows).counted_as(Cache::Attendees),
            recording_rows: RowCache::new(Subject::RecordingRows),
        }
    }
}

impl HistoryMemory {
    /// Whether [`find_recordings`](Self::find_recordings) answers `filter`: every filter but a
    /// session's or a participant's (those are a few rows the backend finds through its own
    /// indexes).
    pub fn answers(filter: &RecordingFilter) -> bool {
        RecordingIndex::answers(filter)
    }

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
        let snap = &mut *snapshot;
        let index = self
            .sessions
            .get(company, generation, move || async move {
                let began = Instant::now();
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

    /// The company's recordings matching `filter` (one this memory [`answers`](Self::answers)),
    /// paged, read through `snapshot`.
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
        // The page and the total from the company's index; the page's rows from the same
        // snapshot.
        let generation = snapshot.generation(company, Subject::Recordings).await?;
        let snap = &mut *snapshot;
        let index = self
            .recordings
            .get(company, generation, move || async move {
                let began = Instant::now();
                let mut index = RecordingIndex::default();
                snap.scan_recordings(company, &mut |entry| index.push(entry))
                    .await?;
                index::built("recordings", company, index.len(), began);
                Ok(index)
            })
            .await?;
        let selection = index.select(filter, page);
        let rows_generation = snapshot.generation(company, Subject::RecordingRows).await?;
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

/// `rows` (read by number, in any order) in the order of `seqs`, the page's list order:
/// cheaper than a sort in the database for the few rows of a page.
pub fn in_order_of<T>(seqs: &[i64], rows: Vec<(i64, T)>) -> Vec<T> {
    let position: HashMap<i64, usize> = seqs.iter().enumerate().map(|(i, s)| (*s, i)).collect();
    let mut rows = rows;
    rows.sort_by_key(|(seq, _)| position.get(seq).copied().unwrap_or(usize::MAX));
    rows.into_iter().map(|(_, row)| row).collect()
}

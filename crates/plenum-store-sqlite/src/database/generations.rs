//! In-memory indexes built from the database and trusted only while nothing they cover changed.
//!
//! Some list queries cannot be answered fast enough by SQLite over a large company: a
//! substring search has to check hundreds of candidate rows, a deep page walks every skipped
//! index entry. Such a query is answered from an index kept in memory per company (positions
//! in list order, search keys), and only the rows of the page are read from the database.
//!
//! Staleness is decided by the database itself: triggers bump a counter per company and
//! subject in `change_generations` on every change an index depends on (migration 0008), so a
//! change made by anyone — this server, `plenum import`, a restored file — is seen. A query
//! reads the counter (one indexed read) and uses the index if it was built at that
//! generation. When the counter moved, the index is rebuilt inside one read transaction that
//! also re-reads the counter, so it is tagged with exactly the generation of the rows it was
//! built from. Two ways to wait for that: [`GenerationCache::get`] builds in the query (others
//! of the company wait for that one build), for indexes that take milliseconds (a company's
//! history); [`GenerationCache::fresh`] lets the query answer from the database while one
//! background thread rebuilds, for indexes that take a good part of a second (a company's
//! 100,000 scheduled meetings). A query that reads more rows beside the index and needs them
//! consistent with it runs inside [`snapshot`].
//!
//! The rows a page then reads are remembered the same way ([`RowCache`], migration 0011), under
//! subjects whose generations move when anything a row shows changes.
//!
//! Memory: one index per company and subject, proportional to that company's rows; at most
//! [`RowCache::PER_COMPANY`] remembered rows per company and kind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use plenum_domain::ids::CompanyId;
use plenum_metrics::cache::Cache;
use plenum_store::{StoreError, StoreResult};
use rusqlite::Connection;

use crate::internal;
use crate::database::reads::ReadPool;

/// What an index covers, as named in `change_generations.subject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subject {
    Schedules,
    /// A company's sessions as the history lists order and filter them (0009).
    Sessions,
    /// A company's recordings as Telnyx's list filters them (0009).
    Recordings,
    /// What a session's list row shows, and who attended it once it ended (0011).
    SessionRows,
    /// What a recording's list row shows (0011).
    RecordingRows,
}

impl Subject {
    fn as_str(self) -> &'static str {
        match self {
            Subject::Schedules => "schedules",
            Subject::Sessions => "sessions",
            Subject::Recordings => "recordings",
            Subject::SessionRows => "session_rows",
            Subject::RecordingRows => "recording_rows",
        }
    }

    /// The cache of this subject, as the metrics name it (`plenum_cache_lookups_total`).
    fn cache(self) -> Cache {
        match self {
            Subject::Schedules => Cache::ScheduleIndex,
            Subject::Sessions => Cache::SessionIndex,
            Subject::Recordings => Cache::RecordingIndex,
            Subject::SessionRows => Cache::SessionRows,
            Subject::RecordingRows => Cache::RecordingRows,
        }
    }
}

/// Runs `read` inside one read transaction: every statement in it sees the same snapshot.
/// A savepoint, so it nests (a rebuild inside a caller's snapshot joins that snapshot).
pub(crate) fn snapshot<T>(
    conn: &Connection,
    read: impl FnOnce(&Connection) -> StoreResult<T>,
) -> StoreResult<T> {
    // Cached statements: `execute_batch` would parse and prepare them on every request.
    conn.prepare_cached("SAVEPOINT snapshot")
        .and_then(|mut begin| begin.execute([]))
        .map_err(internal)?;
    let result = read(conn);
    // A read has nothing to keep: releasing the savepoint ends the snapshot either way.
    let end = conn
        .prepare_cached("RELEASE snapshot")
        .and_then(|mut release| release.execute([]));
    let value = result?;
    end.map_err(internal)?;
    Ok(value)
}

/// The company's current generation of `subject` (0 before its first change).
pub(crate) fn current(conn: &Connection, company: CompanyId, subject: Subject) -> StoreResult<i64> {
    let mut statement = conn
        .prepare_cached(
            "SELECT generation FROM change_generations WHERE company_id = ?1 AND subject = ?2",
        )
        .map_err(internal)?;
    let mut rows = statement
        .query(rusqlite::params![company.as_uuid(), subject.as_str()])
        .map_err(internal)?;
    match rows.next().map_err(internal)? {
        Some(row) => row.get(0).map_err(internal),
        None => Ok(0),
    }
}

/// One built index per company, with the generation it was built at.
#[derive(Debug)]
pub(crate) struct GenerationCache<V> {
    subject: Subject,
    /// Its hits and misses are counted under this name.
    metric: Cache,
    companies: Mutex<HashMap<CompanyId, Arc<Mutex<Slot<V>>>>>,
}

/// A company's index, and whether it is being rebuilt.
#[derive(Debug)]
struct Slot<V> {
    built: Option<(i64, Arc<V>)>,
    /// A background rebuild is running.
    rebuilding: bool,
    /// No background rebuild starts before this (see [`GenerationCache::fresh`]).
    quiet_until: Option<Instant>,
}

impl<V> Default for Slot<V> {
    fn default() -> Self {
        Self {
            built: None,
            rebuilding: false,
            quiet_until: None,
        }
    }
}

/// After a background rebuild that took `t`, the next one waits `REBUILD_PAUSE × t`: under a
/// stream of changes, rebuilding takes at most a fifth of a core and the database answers in
/// between.
const REBUILD_PAUSE: u32 = 4;

impl<V> GenerationCache<V> {
    pub(crate) fn new(subject: Subject) -> Self {
        Self {
            subject,
            metric: subject.cache(),
            companies: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, company: CompanyId) -> StoreResult<Arc<Mutex<Slot<V>>>> {
        let mut companies = self.companies.lock().map_err(|_| poisoned())?;
        Ok(Arc::clone(companies.entry(company).or_default()))
    }

    /// The company's index as of now (or as of the caller's [`snapshot`]): the cached one if
    /// its generation is current, else one built by `build` in this query (others of the
    /// company wait for that one build) — for indexes cheap enough to build in a request.
    pub(crate) fn get(
        &self,
        conn: &Connection,
        company: CompanyId,
        build: impl FnOnce(&Connection) -> StoreResult<V>,
    ) -> StoreResult<Arc<V>> {
        let generation = current(conn, company, self.subject)?;
        let slot = self.slot(company)?;
        let mut slot = slot.lock().map_err(|_| poisoned())?;
        self.metric
            .lookup(matches!(&slot.built, Some((built, _)) if *built == generation));
        match slot.built.as_ref() {
            Some((built, index)) if *built == generation => return Ok(Arc::clone(index)),
            // An older snapshot than the cached index (a caller's transaction that began
            // before a change): build for it alone, leaving the newer index in place.
            Some((built, _)) if *built > generation => {
                drop(slot);
                return snapshot(conn, build).map(Arc::new);
            }
            _ => {}
        }
        let (generation, index) = snapshot(conn, |conn| {
            Ok((
                current(conn, company, self.subject)?,
                Arc::new(build(conn)?),
            ))
        })?;
        slot.built = Some((generation, Arc::clone(&index)));
        Ok(index)
    }

    /// The company's index if it is current, else `None` — the caller answers from the
    /// database — while one background thread rebuilds it on a connection of `reads`.
    pub(crate) fn fresh(
        &self,
        conn: &Connection,
        reads: &Arc<ReadPool>,
        company: CompanyId,
        build: impl FnOnce(&Connection) -> StoreResult<V> + Send + 'static,
    ) -> StoreResult<Option<Arc<V>>>
    where
        V: Send + Sync + 'static,
    {
        let generation = current(conn, company, self.subject)?;
        let slot = self.slot(company)?;
        let mut guard = slot.lock().map_err(|_| poisoned())?;
        self.metric
            .lookup(matches!(&guard.built, Some((built, _)) if *built == generation));
        if let Some((built, index)) = guard.built.as_ref()
            && *built == generation
        {
            return Ok(Some(Arc::clone(index)));
        }
        let now = Instant::now();
        if guard.rebuilding || guard.quiet_until.is_some_and(|until| now < until) {
            return Ok(None);
        }
        guard.rebuilding = true;
        drop(guard);
        let (reads, subject) = (Arc::clone(reads), self.subject);
        let background = Arc::clone(&slot);
        let spawned = std::thread::Builder::new()
            .name("plenum-index".into())
            .spawn(move || {
                let result = reads.read(|conn| {
                    snapshot(conn, |conn| {
                        Ok((current(conn, company, subject)?, build(conn)?))
                    })
                });
                let Ok(mut slot) = background.lock() else {
                    return;
                };
                slot.rebuilding = false;
                slot.quiet_until = Some(Instant::now() + now.elapsed() * REBUILD_PAUSE);
                match result {
                    Ok((generation, index)) => {
                        tracing::debug!(
                            subject = subject.as_str(), %company, generation,
                            took_ms = now.elapsed().as_millis(), "in-memory index rebuilt"
                        );
                        if slot
                            .built
                            .as_ref()
                            .is_none_or(|(built, _)| *built <= generation)
                        {
                            slot.built = Some((generation, Arc::new(index)));
                        }
                    }
                    Err(error) => tracing::warn!(
                        %error, subject = subject.as_str(),
                        "rebuilding an in-memory index failed; lists are answered by the database"
                    ),
                }
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "could not start a thread to rebuild an in-memory index");
            slot.lock().map_err(|_| poisoned())?.rebuilding = false;
        }
        Ok(None)
    }
}

/// Rows that pages showed, remembered per company while their subject's generation holds.
///
/// An index decides which rows a page shows and how many match; reading those rows is then a
/// handful of lookups by number, each a few B-tree descents (~3–4 µs a row on a 1,000,000-row
/// table, the largest part of a history page once the index answers the rest). Pages that are
/// asked again (an integration polling its first page, a report paging through a month) find
/// their rows here. Any change to what a row shows moves the generation (migration 0011) and
/// the company's remembered rows are dropped at the next read; rows are only ever added from
/// the snapshot whose generation they are tagged with, so a row served is the row the
/// database holds.
///
/// Memory: at most [`RowCache::PER_COMPANY`] rows per company; past that, the company's rows
/// are dropped and remembering starts over.
#[derive(Debug)]
pub(crate) struct RowCache<R> {
    subject: Subject,
    /// Its hits and misses (one per row) are counted under this name.
    metric: Cache,
    companies: Mutex<HashMap<CompanyId, Arc<Mutex<Remembered<R>>>>>,
}

#[derive(Debug)]
struct Remembered<R> {
    generation: i64,
    rows: HashMap<i64, R>,
}

impl<R> Default for Remembered<R> {
    fn default() -> Self {
        Self {
            generation: -1,
            rows: HashMap::new(),
        }
    }
}

impl<R: Clone> RowCache<R> {
    /// Rows remembered per company at most: ~100 pages of Telnyx's default size, ~1 MB.
    pub(crate) const PER_COMPANY: usize = 2048;

    pub(crate) fn new(subject: Subject) -> Self {
        Self {
            subject,
            metric: subject.cache(),
            companies: Mutex::new(HashMap::new()),
        }
    }

    /// Counts its hits and misses as `cache` (two caches of one subject).
    pub(crate) fn counted_as(self, cache: Cache) -> Self {
        Self {
            metric: cache,
            ..self
        }
    }

    /// The company's current generation of this cache's subject (call inside [`snapshot`]),
    /// for [`rows`](Self::rows). Caches of one subject can share one reading.
    pub(crate) fn generation(&self, conn: &Connection, company: CompanyId) -> StoreResult<i64> {
        current(conn, company, self.subject)
    }

    /// The rows numbered `seqs` of the company at `generation` (read by
    /// [`generation`](Self::generation) in the same snapshot): the remembered ones and, for
    /// the others, those `read` returns, which are then remembered if `keep` says so of their
    /// number and row. In the order `read` and memory give them (callers order them).
    pub(crate) fn rows(
        &self,
        conn: &Connection,
        company: CompanyId,
        generation: i64,
        seqs: &[i64],
        keep: impl Fn(i64, &R) -> bool,
        read: impl FnOnce(&Connection, &[i64]) -> StoreResult<Vec<(i64, R)>>,
    ) -> StoreResult<Vec<(i64, R)>> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        let remembered = {
            let mut companies = self.companies.lock().map_err(|_| poisoned())?;
            Arc::clone(companies.entry(company).or_default())
        };
        let mut found = Vec::with_capacity(seqs.len());
        let mut missing = Vec::new();
        {
            let mut memory = remembered.lock().map_err(|_| poisoned())?;
            if memory.generation < generation {
                memory.rows.clear();
                memory.generation = generation;
            }
            if memory.generation == generation {
                for &seq in seqs {
                    match memory.rows.get(&seq) {
                        Some(row) => found.push((seq, row.clone())),
                        None => missing.push(seq),
                    }
                }
            } else {
                // A snapshot older than what is remembered: read it all, remember nothing.
                missing.extend_from_slice(seqs);
            }
        }
        self.metric.looked_up(found.len(), missing.len());
        if missing.is_empty() {
            return Ok(found);
        }
        let read = read(conn, &missing)?;
        let mut memory = remembered.lock().map_err(|_| poisoned())?;
        if memory.generation == generation {
            if memory.rows.len() + read.len() > Self::PER_COMPANY {
                memory.rows.clear();
            }
            for (seq, row) in &read {
                if keep(*seq, row) {
                    memory.rows.insert(*seq, row.clone());
                }
            }
        }
        found.extend(read);
        Ok(found)
    }
}

fn poisoned() -> StoreError {
    StoreError::Internal("an in-memory index lock was poisoned".into())
}

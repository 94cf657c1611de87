//! In-memory indexes and rows, trusted only while nothing they cover changed.
//!
//! Some list queries cannot be answered fast enough by a database over a large company: a
//! substring search has to check hundreds of candidate rows, a deep page walks every skipped
//! index entry. Such a query is answered from an index kept in memory per company (positions
//! in list order, search keys), and only the rows of the page are read from the database.
//!
//! Staleness is decided by the database itself: each backend bumps a counter per company and
//! subject in `change_generations` in the same transaction as every change an index depends on
//! (SQLite: triggers, migrations 0008/0009/0011; PostgreSQL: triggers, migration 0030), so a
//! change made by anyone — this server, another node, `plenum import`, a restored file — is
//! seen. A query reads the counter in its snapshot (one indexed read) and uses the index if it
//! was built at that generation; when the counter moved, the index is rebuilt from that same
//! snapshot, so it is tagged with exactly the generation of the rows it was built from. Two
//! ways to wait for that: [`GenerationCache::get`] builds in the query (others of the company
//! wait for that one build), for indexes that take milliseconds (a company's history);
//! [`GenerationCache::fresh`] lets the query answer from the database while the backend
//! rebuilds in the background, for indexes that take a good part of a second (a company's
//! 100,000 scheduled meetings).
//!
//! The rows a page then reads are remembered the same way ([`RowCache`]), under subjects whose
//! generations move when anything a row shows changes.
//!
//! Memory: one index per company and subject, proportional to that company's rows; at most
//! [`RowCache::PER_COMPANY`] remembered rows per company and kind.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plenum_domain::ids::CompanyId;
use plenum_metrics::cache::Cache;
use plenum_store::{StoreError, StoreResult};

/// What an index covers, as named in `change_generations.subject` on every backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Schedules,
    /// A company's sessions as the history lists order and filter them.
    Sessions,
    /// A company's recordings as Telnyx's list filters them.
    Recordings,
    /// What a session's list row shows, and who attended it once it ended.
    SessionRows,
    /// What a recording's list row shows.
    RecordingRows,
}

impl Subject {
    /// Every subject, in the order of [`Subject::index`].
    pub const ALL: [Subject; 5] = [
        Subject::Schedules,
        Subject::Sessions,
        Subject::Recordings,
        Subject::SessionRows,
        Subject::RecordingRows,
    ];

    /// Its place in [`Subject::ALL`], for a table of values per subject.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The subject named `name` (as [`Subject::as_str`] names it).
    pub fn parse(name: &str) -> Option<Subject> {
        Subject::ALL.into_iter().find(|s| s.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
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

/// One built index per company, with the generation it was built at.
#[derive(Debug)]
pub struct GenerationCache<V> {
    subject: Subject,
    /// Its hits and misses are counted under this name.
    metric: Cache,
    companies: Mutex<HashMap<CompanyId, Arc<Slot<V>>>>,
}

/// A company's index. `state` is only ever held for a few instructions; `building` is held
/// through a build so that the company's other requests wait for it instead of building too.
#[derive(Debug)]
struct Slot<V> {
    state: Mutex<State<V>>,
    building: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct State<V> {
    built: Option<(i64, Arc<V>)>,
    /// A background rebuild is running.
    rebuilding: bool,
    /// No background rebuild starts before this (see [`GenerationCache::fresh`]).
    quiet_until: Option<Instant>,
}

impl<V> Default for Slot<V> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                built: None,
                rebuilding: false,
                quiet_until: None,
            }),
            building: tokio::sync::Mutex::new(()),
        }
    }
}

/// What [`GenerationCache::fresh`] found.
#[derive(Debug)]
pub enum Fresh<V> {
    /// The index, built at the caller's generation.
    Current(Arc<V>),
    /// No current index: the caller answers from the database. If `rebuild`, the caller starts
    /// the one background rebuild and reports it through [`GenerationCache::rebuilt`].
    Stale { rebuild: bool },
}

/// After a background rebuild that took `t`, the next one waits `REBUILD_PAUSE × t`: under a
/// stream of changes, rebuilding takes at most a fifth of a core and the database answers in
/// between.
const REBUILD_PAUSE: u32 = 4;

impl<V> GenerationCache<V> {
    pub fn new(subject: Subject) -> Self {
        Self {
            subject,
            metric: subject.cache(),
            companies: Mutex::new(HashMap::new()),
        }
    }

    pub fn subject(&self) -> Subject {
        self.subject
    }

    fn slot(&self, company: CompanyId) -> StoreResult<Arc<Slot<V>>> {
        let mut companies = self.companies.lock().map_err(|_| poisoned())?;
        Ok(Arc::clone(companies.entry(company).or_default()))
    }

    /// The company's index with the generation it was built at, if one is held: what a
    /// backend that knows the rows a generation moved for can bring up to date
    /// (`history::HistoryMemory`) instead of building anew.
    pub fn built(&self, company: CompanyId) -> StoreResult<Option<(i64, Arc<V>)>> {
        let slot = self.slot(company)?;
        let state = slot.state.lock().map_err(|_| poisoned())?;
        Ok(state
            .built
            .as_ref()
            .map(|(generation, index)| (*generation, Arc::clone(index))))
    }

    /// The index built at `generation` (the company's generation of this cache's subject, read
    /// in the caller's snapshot), if it is the one held.
    fn held(&self, slot: &Slot<V>, generation: i64) -> StoreResult<Held<V>> {
        let state = slot.state.lock().map_err(|_| poisoned())?;
        Ok(match &state.built {
            Some((built, index)) if *built == generation => Held::Current(Arc::clone(index)),
            Some((built, _)) if *built > generation => Held::Newer,
            _ => Held::Older,
        })
    }

    /// The company's index as of the caller's snapshot, whose generation of this cache's
    /// subject is `generation`: the cached one if it was built at that generation, else one
    /// built by `build` (reading in the caller's snapshot) in this query; the company's other
    /// queries wait for that one build. For indexes cheap enough to build in a request.
    pub async fn get<F, Fut>(
        &self,
        company: CompanyId,
        generation: i64,
        build: F,
    ) -> StoreResult<Arc<V>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = StoreResult<V>>,
    {
        let slot = self.slot(company)?;
        match self.held(&slot, generation)? {
            Held::Current(index) => {
                self.metric.lookup(true);
                return Ok(index);
            }
            // An older snapshot than the cached index (a transaction that began before a
            // change): build for it alone, leaving the newer index in place.
            Held::Newer => {
                self.metric.lookup(false);
                return build().await.map(Arc::new);
            }
            Held::Older => {}
        }
        let _building = slot.building.lock().await;
        // Another request of the company may have built it while this one waited.
        if let Held::Current(index) = self.held(&slot, generation)? {
            self.metric.lookup(true);
            return Ok(index);
        }
        self.metric.lookup(false);
        let index = Arc::new(build().await?);
        let mut state = slot.state.lock().map_err(|_| poisoned())?;
        if state
            .built
            .as_ref()
            .is_none_or(|(built, _)| *built <= generation)
        {
            state.built = Some((generation, Arc::clone(&index)));
        }
        Ok(index)
    }

    /// The company's index if it was built at `generation` (read in the caller's snapshot);
    /// else the caller answers from the database and, if told to, starts the one background
    /// rebuild (in a snapshot of its own) and reports its end through [`rebuilt`](Self::rebuilt).
    /// For indexes that take too long to build in a request.
    pub fn fresh(&self, company: CompanyId, generation: i64) -> StoreResult<Fresh<V>> {
        let slot = self.slot(company)?;
        let mut state = slot.state.lock().map_err(|_| poisoned())?;
        if let Some((built, index)) = &state.built
            && *built == generation
        {
            self.metric.lookup(true);
            return Ok(Fresh::Current(Arc::clone(index)));
        }
        self.metric.lookup(false);
        if state.rebuilding
            || state
                .quiet_until
                .is_some_and(|until| Instant::now() < until)
        {
            return Ok(Fresh::Stale { rebuild: false });
        }
        state.rebuilding = true;
        Ok(Fresh::Stale { rebuild: true })
    }

    /// Ends a background rebuild that [`fresh`](Self::fresh) asked for, begun at `began`: its
    /// index and the generation it was built at (read in the snapshot it was built from), or
    /// the reason it failed (the database keeps answering).
    pub fn rebuilt(&self, company: CompanyId, began: Instant, result: StoreResult<(i64, V)>) {
        let Ok(slot) = self.slot(company) else {
            return;
        };
        let Ok(mut state) = slot.state.lock() else {
            return;
        };
        let took = began.elapsed();
        state.rebuilding = false;
        state.quiet_until = Some(Instant::now() + took * REBUILD_PAUSE);
        match result {
            Ok((generation, index)) => {
                tracing::debug!(
                    subject = self.subject.as_str(), %company, generation,
                    took_ms = took.as_millis(), "in-memory index rebuilt"
                );
                if state
                    .built
                    .as_ref()
                    .is_none_or(|(built, _)| *built <= generation)
                {
                    state.built = Some((generation, Arc::new(index)));
                }
            }
            Err(error) => tracing::warn!(
                %error, subject = self.subject.as_str(),
                "rebuilding an in-memory index failed; lists are answered by the database"
            ),
        }
    }

    /// How long the next background rebuild of `company` waits, if it must (for tests).
    pub fn quiet_for(&self, company: CompanyId) -> Option<Duration> {
        let slot = self.slot(company).ok()?;
        let state = slot.state.lock().ok()?;
        state
            .quiet_until
            .and_then(|until| until.checked_duration_since(Instant::now()))
    }
}

enum Held<V> {
    Current(Arc<V>),
    /// The cache holds an index newer than the caller's snapshot.
    Newer,
    /// The cache holds an older index or none.
    Older,
}

/// Rows that pages showed, remembered per company while their subject's generation holds,
/// by their numbers (`seq`) or another key of theirs (a meeting's id).
///
/// An index decides which rows a page shows and how many match; reading those rows is then a
/// handful of lookups by number, each a few B-tree descents (~3–4 µs a row on a 1,000,000-row
/// SQLite table, the largest part of a history page once the index answers the rest; a round
/// trip on PostgreSQL). Pages that are asked again (an integration polling its first page, a
/// report paging through a month) find their rows here. Any change to what a row shows moves
/// the generation and the company's remembered rows are dropped at the next read; rows are
/// only ever added from the snapshot whose generation they are tagged with, so a row served is
/// the row the database holds.
///
/// A backend that knows which rows a generation's moves were for lets the others survive
/// ([`RowCache::forget`]): a meeting that ends drops its own row, not the company's.
///
/// Memory: at most [`RowCache::PER_COMPANY`] rows per company (or what
/// [`at_most`](RowCache::at_most) says); past that, an eighth of the company's rows (any) make
/// room.
#[derive(Debug)]
pub struct RowCache<R, K = i64> {
    subject: Subject,
    /// Its hits and misses (one per row) are counted under this name.
    metric: Cache,
    /// Rows remembered per company at most.
    capacity: usize,
    companies: Mutex<HashMap<CompanyId, Locked<Remembered<K, R>>>>,
}

/// A company's share of a cache, locked on its own.
type Locked<T> = Arc<Mutex<T>>;

#[derive(Debug)]
struct Remembered<K, R> {
    generation: i64,
    rows: HashMap<K, R>,
}

impl<K, R> Default for Remembered<K, R> {
    fn default() -> Self {
        Self {
            generation: -1,
            rows: HashMap::new(),
        }
    }
}

impl<R: Clone, K: Copy + Eq + std::hash::Hash> RowCache<R, K> {
    /// Rows remembered per company at most: a company of 10,000 sessions and recordings whole
    /// (~0.5 KB a row, ~8 MB per kind; who attended a session ~1 KB).
    pub const PER_COMPANY: usize = 16_384;

    pub fn new(subject: Subject) -> Self {
        Self {
            subject,
            metric: subject.cache(),
            capacity: Self::PER_COMPANY,
            companies: Mutex::new(HashMap::new()),
        }
    }

    /// Remembers at most `rows` rows per company (rows larger than a list's).
    pub fn at_most(self, rows: usize) -> Self {
        Self {
            capacity: rows,
            ..self
        }
    }

    /// Counts its hits and misses as `cache` (two caches of one subject).
    pub fn counted_as(self, cache: Cache) -> Self {
        Self {
            metric: cache,
            ..self
        }
    }

    pub fn subject(&self) -> Subject {
        self.subject
    }

    fn remembered(&self, company: CompanyId) -> StoreResult<Locked<Remembered<K, R>>> {
        let mut companies = self.companies.lock().map_err(|_| poisoned())?;
        Ok(Arc::clone(companies.entry(company).or_default()))
    }

    /// The generation the company's remembered rows hold at, if any are remembered.
    pub fn remembered_at(&self, company: CompanyId) -> StoreResult<Option<i64>> {
        let remembered = self.remembered(company)?;
        let memory = remembered.lock().map_err(|_| poisoned())?;
        Ok((!memory.rows.is_empty()).then_some(memory.generation))
    }

    /// Carries the company's rows remembered at generation `from` over to `to`, forgetting
    /// `changed`: the rows the moves in between were for (read in a snapshot at `to`). Rows
    /// remembered at any other generation are left to [`rows`](Self::rows).
    pub fn forget(&self, company: CompanyId, from: i64, to: i64, changed: &[K]) -> StoreResult<()> {
        let remembered = self.remembered(company)?;
        let mut memory = remembered.lock().map_err(|_| poisoned())?;
        if memory.generation == from && from < to {
            for seq in changed {
                memory.rows.remove(seq);
            }
            memory.generation = to;
        }
        Ok(())
    }

    /// The rows numbered `seqs` of the company at `generation` (of this cache's subject, read
    /// in the caller's snapshot): the remembered ones and, for the others, those `read`
    /// returns (from the same snapshot), which are then remembered if `keep` says so of their
    /// number and row. In the order `read` and memory give them (callers order them).
    pub async fn rows<F, Fut>(
        &self,
        company: CompanyId,
        generation: i64,
        seqs: &[K],
        keep: impl Fn(K, &R) -> bool,
        read: F,
    ) -> StoreResult<Vec<(K, R)>>
    where
        F: FnOnce(Vec<K>) -> Fut,
        Fut: Future<Output = StoreResult<Vec<(K, R)>>>,
    {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        let remembered = self.remembered(company)?;
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
        let read = read(missing).await?;
        {
            let mut memory = remembered.lock().map_err(|_| poisoned())?;
            if memory.generation == generation {
                if memory.rows.len() + read.len() > self.capacity {
                    // Dropping all would empty a company that pages through everything.
                    let room = (self.capacity / 8).max(read.len());
                    let gone: Vec<K> = memory.rows.keys().take(room).copied().collect();
                    for seq in gone {
                        memory.rows.remove(&seq);
                    }
                }
                for (seq, row) in &read {
                    if keep(*seq, row) {
                        memory.rows.insert(*seq, row.clone());
                    }
                }
            }
        }
        found.extend(read);
        Ok(found)
    }
}

/// Numbers (`seq`) of rows found by another key of theirs (a session's id or number within
/// its company, a stay's id), per company, at a generation of one subject.
///
/// A filter or an attendance page names a row by id; the lists find it by number. A row's id,
/// number and company never change through Plenum, and every change that could change them
/// (a deletion, a hand edit) moves the subject for any row (`NULL` in `history_changes`), so
/// numbers are kept through moves that name their rows ([`forget`](Self::forget) keeps them
/// all) and forgotten by any other. Only numbers found are remembered: a key not found now may
/// be found later.
///
/// Memory: at most [`NumberCache::PER_COMPANY`] numbers per company (~40 bytes each).
#[derive(Debug)]
pub struct NumberCache<K> {
    subject: Subject,
    companies: Mutex<HashMap<CompanyId, Numbered<K>>>,
}

#[derive(Debug)]
struct Numbered<K> {
    generation: i64,
    numbers: HashMap<K, i64>,
}

impl<K: Copy + Eq + std::hash::Hash> NumberCache<K> {
    pub const PER_COMPANY: usize = 65_536;

    pub fn new(subject: Subject) -> Self {
        Self {
            subject,
            companies: Mutex::new(HashMap::new()),
        }
    }

    pub fn subject(&self) -> Subject {
        self.subject
    }

    /// The generation the company's numbers hold at, if any are remembered.
    pub fn remembered_at(&self, company: CompanyId) -> StoreResult<Option<i64>> {
        let companies = self.companies.lock().map_err(|_| poisoned())?;
        Ok(companies
            .get(&company)
            .filter(|n| !n.numbers.is_empty())
            .map(|n| n.generation))
    }

    /// Carries the company's numbers remembered at `from` over to `to`: the moves in between
    /// each named their row, and no such move changes a number.
    pub fn forget(&self, company: CompanyId, from: i64, to: i64) -> StoreResult<()> {
        let mut companies = self.companies.lock().map_err(|_| poisoned())?;
        if let Some(numbered) = companies.get_mut(&company)
            && numbered.generation == from
            && from < to
        {
            numbered.generation = to;
        }
        Ok(())
    }

    /// The number of the company's row `key` at `generation` (of this cache's subject, read
    /// in the caller's snapshot): remembered, or what `read` finds in the same snapshot.
    pub async fn number<F, Fut>(
        &self,
        company: CompanyId,
        generation: i64,
        key: K,
        read: F,
    ) -> StoreResult<Option<i64>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = StoreResult<Option<i64>>>,
    {
        {
            let mut companies = self.companies.lock().map_err(|_| poisoned())?;
            let numbered = companies.entry(company).or_insert_with(|| Numbered {
                generation,
                numbers: HashMap::new(),
            });
            if numbered.generation < generation {
                numbered.numbers.clear();
                numbered.generation = generation;
            }
            if numbered.generation == generation
                && let Some(&number) = numbered.numbers.get(&key)
            {
                Cache::Numbers.lookup(true);
                return Ok(Some(number));
            }
        }
        Cache::Numbers.lookup(false);
        let found = read().await?;
        if let Some(number) = found {
            let mut companies = self.companies.lock().map_err(|_| poisoned())?;
            if let Some(numbered) = companies.get_mut(&company)
                && numbered.generation == generation
            {
                if numbered.numbers.len() >= Self::PER_COMPANY {
                    let gone: Vec<K> = numbered
                        .numbers
                        .keys()
                        .take(Self::PER_COMPANY / 8)
                        .copied()
                        .collect();
                    for key in gone {
                        numbered.numbers.remove(&key);
                    }
                }
                numbered.numbers.insert(key, number);
            }
        }
        Ok(found)
    }
}

fn poisoned() -> StoreError {
    StoreError::Internal("an in-memory index lock was poisoned".into())
}

#[cfg(test)]
mod tests {
    use super::Subject;

    #[tokio::test]
    async fn numbers_are_kept_through_moves_that_name_rows_and_only_through_those() {
        use super::NumberCache;
        use plenum_domain::ids::CompanyId;
        let cache = NumberCache::<u32>::new(Subject::RecordingRows);
        let company = CompanyId::new(plenum_domain::Timestamp::UNIX_EPOCH);
        let read = |n: Option<i64>| move || async move { Ok(n) };
        // Not found: nothing remembered, so a later answer is read again.
        assert_eq!(cache.number(company, 1, 7, read(None)).await.unwrap(), None);
        assert_eq!(cache.remembered_at(company).unwrap(), None);
        assert_eq!(
            cache.number(company, 1, 7, read(Some(70))).await.unwrap(),
            Some(70)
        );
        // Remembered at generation 1: not read again.
        assert_eq!(
            cache.number(company, 1, 7, read(Some(0))).await.unwrap(),
            Some(70)
        );
        // Carried over moves that named their rows.
        cache.forget(company, 1, 3).unwrap();
        assert_eq!(cache.remembered_at(company).unwrap(), Some(3));
        assert_eq!(
            cache.number(company, 3, 7, read(Some(0))).await.unwrap(),
            Some(70)
        );
        // An older snapshot reads for itself and changes nothing.
        assert_eq!(
            cache.number(company, 2, 7, read(Some(20))).await.unwrap(),
            Some(20)
        );
        assert_eq!(
            cache.number(company, 3, 7, read(Some(0))).await.unwrap(),
            Some(70)
        );
        // A move not carried over (one for any row): forgotten.
        assert_eq!(
            cache.number(company, 4, 7, read(Some(71))).await.unwrap(),
            Some(71)
        );
    }

    #[test]
    fn every_subject_has_its_own_place_and_is_found_by_its_name() {
        for (place, subject) in Subject::ALL.into_iter().enumerate() {
            assert_eq!(subject.index(), place);
            assert_eq!(Subject::parse(subject.as_str()), Some(subject));
        }
        assert_eq!(Subject::parse("meetings"), None);
    }
}

//! The company-wide meeting list from memory, over any backend: a company's scheduled meetings
//! as summaries in list order (`index.rs`) answer a page, its total and any filter without
//! reading a row.
//!
//! Building the index of a 100,000-meeting company takes a good part of a second, too long for
//! a request: while the index is not current at the generation the list reads, the backend
//! answers from its SQL (its translation of [`MeetingFilter`]) and rebuilds the index in the
//! background, in a snapshot of its own ([`GenerationCache::fresh`]). What makes the index
//! stale is anything a summary shows or the list orders by: a meeting created, changed or
//! deleted (series included), its owner renamed — each bumps the company's 'schedules'
//! generation in the same transaction (SQLite: triggers of migrations 0008/0011; PostgreSQL:
//! migration 0030).
//!
//! A meeting's detail is remembered under the same generation ([`ScheduleMemory::schedule`]):
//! everything it shows (its settings, invitees and their names, owner, series) moves it.

mod index;

use std::time::Instant;

use std::sync::atomic::{AtomicBool, Ordering};

use plenum_domain::ids::{CompanyId, ScheduleId};
use plenum_domain::paging::{Page, PageRequest};
use plenum_domain::schedule::{MeetingFilter, Schedule, ScheduleSummary};
use plenum_store::StoreResult;

pub use index::ScheduleIndex;

use crate::generations::{Fresh, GenerationCache, RowCache, Subject};

/// A meeting as the index holds it (from the backend's ordered scan).
#[derive(Debug, Clone)]
pub struct ScheduleEntry<'a> {
    pub summary: ScheduleSummary,
    /// The name's search key as stored (`search_key` of the name).
    pub name_key: &'a str,
}

/// The port a backend implements for the meeting list: one consistent read of its database.
/// Every method reads in the same snapshot.
// As `HistorySnapshot`: the futures' `Send` follows from the implementation.
#[allow(async_fn_in_trait)]
pub trait ScheduleSnapshot {
    /// The company's generation of [`Subject::Schedules`] (0 before its first change).
    async fn generation(&mut self, company: CompanyId) -> StoreResult<i64>;

    /// The company's meetings in list order: by start, ties by id (as the SQL path orders).
    async fn scan_schedules(
        &mut self,
        company: CompanyId,
        each: &mut (dyn FnMut(ScheduleEntry<'_>) -> StoreResult<()> + Send),
    ) -> StoreResult<()>;

    /// The company's meeting `id` as its detail shows it (`Store::schedule`), with the
    /// company's generation of [`Subject::Schedules`] as of the same read (a backend that
    /// reads past the snapshot reads it with the row); `None` if the company has no such
    /// meeting.
    async fn schedule(
        &mut self,
        company: CompanyId,
        id: ScheduleId,
    ) -> StoreResult<Option<(i64, Schedule)>>;
}

/// What [`ScheduleMemory::page`] found.
#[derive(Debug)]
pub enum Listed {
    /// The page, from the index current at the snapshot's generation.
    Page(Page<ScheduleSummary>),
    /// No current index: the backend answers through SQL and, if `rebuild`, starts the one
    /// background rebuild ([`ScheduleMemory::build`], then [`ScheduleMemory::rebuilt`]).
    Stale { rebuild: bool },
}

/// The meeting lists' memory: each company's index.
#[derive(Debug)]
pub struct ScheduleMemory {
    index: GenerationCache<ScheduleIndex>,
    /// Meetings' details, by id.
    details: RowCache<Schedule, ScheduleId>,
}

impl Default for ScheduleMemory {
    fn default() -> Self {
        Self {
            index: GenerationCache::new(Subject::Schedules),
            // ~1 KB a meeting with its invitees: at most ~4 MB a company.
            details: RowCache::new(Subject::Schedules)
                .counted_as(plenum_metrics::cache::Cache::ScheduleRows)
                .at_most(4_096),
        }
    }
}

impl ScheduleMemory {
    /// The company's meeting `id`, remembered at the generation `snapshot` reads, or read
    /// through it (and remembered if read at that generation).
    pub async fn schedule<S: ScheduleSnapshot>(
        &self,
        snapshot: &mut S,
        company: CompanyId,
        id: ScheduleId,
    ) -> StoreResult<Option<Schedule>> {
        let generation = snapshot.generation(company).await?;
        // A row read at another generation than the one asked (a change between the two
        // reads) is answered, not remembered.
        let same_generation = AtomicBool::new(false);
        let found = self
            .details
            .rows(
                company,
                generation,
                &[id],
                |_, _| same_generation.load(Ordering::Relaxed),
                |_| async {
                    let read = snapshot.schedule(company, id).await?;
                    Ok(read
                        .map(|(read_at, schedule)| {
                            same_generation.store(read_at == generation, Ordering::Relaxed);
                            (id, schedule)
                        })
                        .into_iter()
                        .collect())
                },
            )
            .await?;
        Ok(found.into_iter().next().map(|(_, schedule)| schedule))
    }

    /// A page of the company's meetings matching `filter`, if its index is current at the
    /// generation `snapshot` reads.
    pub async fn page<S: ScheduleSnapshot>(
        &self,
        snapshot: &mut S,
        company: CompanyId,
        filter: Option<&MeetingFilter>,
        page: PageRequest,
    ) -> StoreResult<Listed> {
        let generation = snapshot.generation(company).await?;
        Ok(match self.index.fresh(company, generation)? {
            Fresh::Current(index) => {
                let (items, total) = index.page(filter, page.offset(), page.limit());
                Listed::Page(Page { items, total })
            }
            Fresh::Stale { rebuild } => Listed::Stale { rebuild },
        })
    }

    /// Builds the company's index from `snapshot` (the background rebuild's own), with the
    /// generation it read there.
    pub async fn build<S: ScheduleSnapshot>(
        snapshot: &mut S,
        company: CompanyId,
    ) -> StoreResult<(i64, ScheduleIndex)> {
        let generation = snapshot.generation(company).await?;
        let mut index = ScheduleIndex::default();
        snapshot
            .scan_schedules(company, &mut |entry| index.push(entry))
            .await?;
        Ok((generation, index.finish()))
    }

    /// Ends the background rebuild that [`page`](Self::page) asked for, begun at `began`.
    pub fn rebuilt(
        &self,
        company: CompanyId,
        began: Instant,
        result: StoreResult<(i64, ScheduleIndex)>,
    ) {
        self.index.rebuilt(company, began, result);
    }
}

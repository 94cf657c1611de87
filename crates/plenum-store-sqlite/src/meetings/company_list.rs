//! The company-wide meeting list (what MeetingOperators and SystemAdmins see): answered by the
//! company's in-memory index (`plenum_store_memory::schedules`) when it is current, else
//! through SQL (`page_of_schedules`) while one thread rebuilds the index. Building it for
//! 100,000 meetings takes ~0.5 s, too long to make a request wait.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use uuid::Uuid;

use plenum_domain::ids::{CompanyId, ScheduleId, SeriesId, UserId};
use plenum_domain::paging::{Page, PageRequest};
use plenum_domain::recurrence::Frequency;
use plenum_domain::schedule::{
    MeetingFilter, MeetingKind, Schedule, ScheduleSummary, TimeSlot, UserRef,
};
use plenum_store::StoreResult;
use plenum_store_memory::Subject;
use plenum_store_memory::schedules::{Listed, ScheduleEntry, ScheduleMemory, ScheduleSnapshot};

use super::{Arg, Condition, page_of_schedules, searches_trigrams};
use crate::database::generations::{self, on_this_thread};
use crate::{SqliteStore, corrupt, instant, internal, number, password};

/// SQLite's side of the meeting list's speed layer: reads on one connection, inside the
/// [`generations::snapshot`] the rebuild opened.
struct Reads<'c> {
    conn: &'c Connection,
}

impl ScheduleSnapshot for Reads<'_> {
    async fn generation(&mut self, company: CompanyId) -> StoreResult<i64> {
        generations::current(self.conn, company, Subject::Schedules)
    }

    async fn schedule(
        &mut self,
        company: CompanyId,
        id: ScheduleId,
    ) -> StoreResult<Option<(i64, Schedule)>> {
        // In the caller's snapshot: the generation is the snapshot's.
        let Some(found) = super::read_schedule(self.conn, company, id)? else {
            return Ok(None);
        };
        let generation = generations::current(self.conn, company, Subject::Schedules)?;
        Ok(Some((generation, found)))
    }

    async fn scan_schedules(
        &mut self,
        company: CompanyId,
        each: &mut (dyn FnMut(ScheduleEntry<'_>) -> StoreResult<()> + Send),
    ) -> StoreResult<()> {
        // The `schedules_by_company_start` index gives the list order.
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT s.id, s.kind, s.series_id, sr.frequency, s.meeting_number, s.name, \
                 s.name_key, s.password, s.start_at, s.end_at, s.join_code, \
                 o.id, o.username, o.real_name \
                 FROM schedules s JOIN users o ON o.id = s.owner_id \
                 LEFT JOIN series sr ON sr.id = s.series_id \
                 WHERE s.company_id = ?1 ORDER BY s.start_at, s.id",
            )
            .map_err(internal)?;
        let mut rows = statement.query([company.as_uuid()]).map_err(internal)?;
        while let Some(row) = rows.next().map_err(internal)? {
            let text = |i: usize| -> StoreResult<String> { row.get(i).map_err(internal) };
            let summary = ScheduleSummary {
                id: ScheduleId::from_uuid(row.get(0).map_err(internal)?),
                company_id: company,
                kind: MeetingKind::parse(&text(1)?).map_err(|_| corrupt("schedules.kind"))?,
                series_id: row
                    .get::<_, Option<Uuid>>(2)
                    .map_err(internal)?
                    .map(SeriesId::from_uuid),
                recurrence: row
                    .get::<_, Option<String>>(3)
                    .map_err(internal)?
                    .map(|f| Frequency::parse(&f).map_err(|_| corrupt("series.frequency")))
                    .transpose()?,
                meeting_number: number(&text(4)?, "schedules.meeting_number")?,
                name: text(5)?,
                password: password(row.get(7).map_err(internal)?, "schedules")?,
                slot: TimeSlot {
                    start: instant(row.get(8).map_err(internal)?)?,
                    end: instant(row.get(9).map_err(internal)?)?,
                },
                owner: Arc::new(UserRef {
                    id: UserId::from_uuid(row.get(11).map_err(internal)?),
                    username: text(12)?,
                    real_name: text(13)?,
                }),
                join_code: text(10)?,
            };
            let name_key = row
                .get_ref(6)
                .map_err(internal)?
                .as_str()
                .map_err(internal)?;
            each(ScheduleEntry { summary, name_key })?;
        }
        Ok(())
    }
}

/// The page from the company's index if it is current; else `Stale`, having started the
/// background rebuild if the memory asked for it.
fn from_memory(
    store: &SqliteStore,
    company: CompanyId,
    filter: Option<&MeetingFilter>,
    page: PageRequest,
) -> StoreResult<Listed> {
    let listed = store.reads.read(|conn| {
        on_this_thread(
            store
                .schedules
                .page(&mut Reads { conn }, company, filter, page),
        )
    })?;
    if let Listed::Stale { rebuild: true } = listed {
        rebuild_in_background(store, company);
    }
    Ok(listed)
}

/// Rebuilds the company's index on a thread of its own, in one snapshot on a connection of
/// the read pool, and hands it to the memory.
fn rebuild_in_background(store: &SqliteStore, company: CompanyId) {
    let began = Instant::now();
    let (reads, memory) = (Arc::clone(&store.reads), Arc::clone(&store.schedules));
    let spawned = std::thread::Builder::new()
        .name("plenum-index".into())
        .spawn(move || {
            let result = reads.read(|conn| {
                generations::snapshot(conn, |conn| {
                    on_this_thread(ScheduleMemory::build(&mut Reads { conn }, company))
                })
            });
            memory.rebuilt(company, began, result);
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "could not start a thread to rebuild an in-memory index");
        store
            .schedules
            .rebuilt(company, began, Err(internal(error)));
    }
}

/// A meeting of the company as its detail shows it: remembered, or read in one snapshot with
/// the generation it is remembered at.
pub(crate) fn schedule(
    store: &SqliteStore,
    company: CompanyId,
    id: ScheduleId,
) -> StoreResult<Option<Schedule>> {
    store.reads.read(|conn| {
        generations::snapshot(conn, |conn| {
            on_this_thread(store.schedules.schedule(&mut Reads { conn }, company, id))
        })
    })
}

/// A page of a whole company's meetings: from memory when the index is current, else
/// through SQL.
pub(crate) async fn page_of_company(
    store: &SqliteStore,
    company: CompanyId,
    filter: Option<&MeetingFilter>,
    page: PageRequest,
) -> StoreResult<Page<ScheduleSummary>> {
    if let Listed::Page(found) = from_memory(store, company, filter, page)? {
        return Ok(found);
    }
    // `+` keeps SQLite from walking the company's index when the trigram search should drive.
    let scope = Condition {
        sql: if searches_trigrams(filter) {
            "+s.company_id = ?"
        } else {
            "s.company_id = ?"
        }
        .to_owned(),
        args: vec![Arg::Id(company.as_uuid())],
    };
    Ok(page_of_schedules(store, scope, filter, page)
        .await?
        .map(|s| ScheduleSummary::from(&s)))
}

/// Waits (polling every millisecond, at most `within`) until the company's index is current.
pub(crate) async fn settle(
    store: &SqliteStore,
    company: CompanyId,
    within: Duration,
) -> StoreResult<bool> {
    let deadline = Instant::now() + within;
    let first = PageRequest::by_offset(0, 1, 1).map_err(internal)?;
    loop {
        if let Listed::Page(_) = from_memory(store, company, None, first)? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

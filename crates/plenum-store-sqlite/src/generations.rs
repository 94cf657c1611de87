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
//! generation. When the counter moved, the first query to notice rebuilds the index inside
//! one read transaction that also re-reads the counter, so the index is tagged with exactly
//! the generation of the rows it was built from; others of the same company wait for that
//! build instead of repeating it. A query that reads more rows beside the index and needs
//! them consistent with it runs inside [`snapshot`].
//!
//! Memory: one index per company and subject, proportional to that company's rows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use plenum_domain::ids::CompanyId;
use plenum_store::{StoreError, StoreResult};
use rusqlite::Connection;

use crate::internal;

/// What an index covers, as named in `change_generations.subject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subject {
    Schedules,
    /// A company's sessions as the history lists order and filter them (0009).
    Sessions,
    /// A company's recordings as Telnyx's list filters them (0009).
    Recordings,
}

impl Subject {
    fn as_str(self) -> &'static str {
        match self {
            Subject::Schedules => "schedules",
            Subject::Sessions => "sessions",
            Subject::Recordings => "recordings",
        }
    }
}

/// Runs `read` inside one read transaction: every statement in it sees the same snapshot.
/// A savepoint, so it nests (a rebuild inside a caller's snapshot joins that snapshot).
pub(crate) fn snapshot<T>(
    conn: &Connection,
    read: impl FnOnce(&Connection) -> StoreResult<T>,
) -> StoreResult<T> {
    conn.execute_batch("SAVEPOINT snapshot").map_err(internal)?;
    let result = read(conn);
    // A read has nothing to keep: releasing the savepoint ends the snapshot either way.
    let end = conn.execute_batch("RELEASE snapshot");
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
    companies: Mutex<HashMap<CompanyId, Arc<Slot<V>>>>,
}

/// A company's index; its lock is held while it is (re)built, so one query builds it.
type Slot<V> = Mutex<Option<(i64, Arc<V>)>>;

impl<V> GenerationCache<V> {
    pub(crate) fn new(subject: Subject) -> Self {
        Self {
            subject,
            companies: Mutex::new(HashMap::new()),
        }
    }

    /// The company's index as of now (or as of the caller's [`snapshot`]): the cached one if
    /// its generation is current, else one built by `build` and cached.
    pub(crate) fn get(
        &self,
        conn: &Connection,
        company: CompanyId,
        build: impl FnOnce(&Connection) -> StoreResult<V>,
    ) -> StoreResult<Arc<V>> {
        let generation = current(conn, company, self.subject)?;
        let slot = {
            let mut companies = self.companies.lock().map_err(|_| poisoned())?;
            Arc::clone(companies.entry(company).or_default())
        };
        let mut slot = slot.lock().map_err(|_| poisoned())?;
        match slot.as_ref() {
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
        *slot = Some((generation, Arc::clone(&index)));
        Ok(index)
    }
}

fn poisoned() -> StoreError {
    StoreError::Internal("an in-memory index lock was poisoned".into())
}

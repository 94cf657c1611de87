//! SQLite's side of the speed layer (`plenum-store-memory`): the change generations its
//! triggers keep (migrations 0008, 0009, 0011), the read transaction an answer reads in, and
//! the background rebuild of indexes too slow to build in a request.
//!
//! The triggers bump `change_generations` in the transaction of the change itself, so a change
//! made by anyone — this server, `plenum import`, the CLI — is seen.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use plenum_domain::ids::CompanyId;
use plenum_store::StoreResult;
use plenum_store_memory::{Fresh, GenerationCache, Subject};
use rusqlite::Connection;

use crate::internal;
use crate::reads::ReadPool;

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

/// Runs one of the speed layer's answers on this thread. SQLite's reads are synchronous, so
/// its futures only wait when another request of the company is building the same index (a
/// lock that the builder, on another thread, releases).
pub(crate) fn on_this_thread<T>(answer: impl Future<Output = T>) -> T {
    futures::executor::block_on(answer)
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

/// How many moves of a subject's generation `history_changes` keeps per company (migration
/// 0021 deletes older ones).
const CHANGES_KEPT: i64 = 1024;

/// The rows the moves of the company's `subject` generation after `since` were for (migration
/// 0021), if all are known and each names its row: the moves up to `since + CHANGES_KEPT`
/// are all kept, so a reader that far behind or less finds every one.
pub(crate) fn changes_since(
    conn: &Connection,
    company: CompanyId,
    subject: Subject,
    since: i64,
) -> StoreResult<Option<Vec<i64>>> {
    if current(conn, company, subject)? - since > CHANGES_KEPT {
        return Ok(None);
    }
    let mut statement = conn
        .prepare_cached(
            "SELECT seq FROM history_changes \
             WHERE company_id = ?1 AND subject = ?2 AND generation > ?3",
        )
        .map_err(internal)?;
    let mut rows = statement
        .query(rusqlite::params![
            company.as_uuid(),
            subject.as_str(),
            since
        ])
        .map_err(internal)?;
    let mut changed = Vec::new();
    while let Some(row) = rows.next().map_err(internal)? {
        match row.get::<_, Option<i64>>(0).map_err(internal)? {
            Some(seq) => changed.push(seq),
            // A move for any row.
            None => return Ok(None),
        }
    }
    Ok(Some(changed))
}

/// The company's index if it is current, else `None` — the caller answers from the
/// database — while one background thread rebuilds it on a connection of `reads`.
pub(crate) fn fresh<V>(
    cache: &Arc<GenerationCache<V>>,
    conn: &Connection,
    reads: &Arc<ReadPool>,
    company: CompanyId,
    build: impl FnOnce(&Connection) -> StoreResult<V> + Send + 'static,
) -> StoreResult<Option<Arc<V>>>
where
    V: Send + Sync + 'static,
{
    let generation = current(conn, company, cache.subject())?;
    let rebuild = match cache.fresh(company, generation)? {
        Fresh::Current(index) => return Ok(Some(index)),
        Fresh::Stale { rebuild } => rebuild,
    };
    if rebuild {
        let began = Instant::now();
        let (reads, background) = (Arc::clone(reads), Arc::clone(cache));
        let spawned = std::thread::Builder::new()
            .name("plenum-index".into())
            .spawn(move || {
                let result = reads.read(|conn| {
                    snapshot(conn, |conn| {
                        Ok((current(conn, company, background.subject())?, build(conn)?))
                    })
                });
                background.rebuilt(company, began, result);
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "could not start a thread to rebuild an in-memory index");
            cache.rebuilt(company, began, Err(internal(error)));
        }
    }
    Ok(None)
}

//! SQLite's side of the speed layer (`plenum-store-memory`): the change generations its
//! triggers keep (migrations 0008, 0009, 0011) and the read transaction an answer reads in.
//! (The background rebuild of the meeting list's index is in `meetings/company_list.rs`.)
//!
//! The triggers bump `change_generations` in the transaction of the change itself, so a change
//! made by anyone — this server, `plenum import`, the CLI — is seen.

use std::future::Future;

use plenum_domain::ids::CompanyId;
use plenum_store::StoreResult;
use plenum_store_memory::Subject;
use rusqlite::Connection;

use crate::internal;

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

//! The hot read path: a small pool of read-only rusqlite connections, used inline.
//!
//! Why not sqlx here: each sqlx statement crosses to the connection's worker thread and back.
//! Measured on a primary-key read of the same 100,000-meeting file: ~110 µs per statement
//! through sqlx, ~8 µs through rusqlite with a cached prepared statement. The reads that
//! serve lists and details run here; writes stay on the sqlx writer (transactions, one
//! writer). WAL mode lets these connections read while the writer writes.
//!
//! Statements run on the calling task's thread. They are indexed and bounded (one meeting,
//! one page), so they hold the thread for microseconds to a few milliseconds; a dedicated
//! blocking thread would cost more than most of them take.

use plenum_store::rows::search_key;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use std::time::Instant;

use plenum_store::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};

use crate::internal;

#[derive(Debug)]
pub(crate) struct ReadPool {
    connections: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl ReadPool {
    pub(crate) fn open(file: &Path, size: usize) -> StoreResult<Self> {
        let connections = (0..size.max(1))
            .map(|_| {
                let conn = Connection::open_with_flags(
                    file,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(internal)?;
                conn.busy_timeout(Duration::from_secs(5))
                    .map_err(internal)?;
                // The same cache settings as the sqlx connections (see `SqliteStore::open`).
                conn.pragma_update(None, "cache_size", -65536)
                    .map_err(internal)?;
                conn.pragma_update(None, "mmap_size", 268_435_456)
                    .map_err(internal)?;
                conn.set_prepared_statement_cache_capacity(64);
                register_functions(&conn)?;
                Ok(Mutex::new(conn))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Self {
            connections,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `read` on a free connection (or waits for the next one in turn).
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let n = self.connections.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            if let Ok(conn) = self.connections[(start + i) % n].try_lock() {
                return read(&conn);
            }
        }
        let conn = self.connections[start % n]
            .lock()
            .map_err(|_| StoreError::Internal("a read connection was poisoned".into()))?;
        read(&conn)
    }
}

/// How many meetings each trigram occurs in, as the trigram index last said, cached.
///
/// A substring search through the trigram index intersects the posting lists of its
/// trigrams, and common trigrams ("ion", "sal", …) have long lists: a phrase of every trigram
/// of `Orion-0420` reads ~40,000 entries to find 57 meetings. Intersecting only the two
/// rarest trigrams and checking the whole text with `LIKE` finds the same meetings reading a
/// few hundred. Counts come from `schedules_name_vocab` one term at a time (reading that
/// term's list once) and are reused for [`STATS_TTL`]: they steer the plan, they are never
/// the answer, so a stale count costs speed at worst, never correctness.
#[derive(Debug, Default)]
pub(crate) struct TrigramStats {
    counts: Mutex<HashMap<String, (i64, Instant)>>,
}

/// How long a trigram's count is trusted.
const STATS_TTL: Duration = Duration::from_secs(60);
/// Bound on cached trigrams (names are short; real vocabularies stay far below this).
const STATS_MAX: usize = 100_000;

impl TrigramStats {
    /// The (at most two) rarest trigrams of `text`.
    pub(crate) fn rarest(&self, conn: &Connection, text: &str) -> StoreResult<Vec<String>> {
        let chars: Vec<char> = text.chars().collect();
        let mut trigrams: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
        trigrams.sort();
        trigrams.dedup();
        if trigrams.len() <= 2 {
            return Ok(trigrams);
        }
        let now = Instant::now();
        let mut counted = Vec::with_capacity(trigrams.len());
        for trigram in trigrams {
            let cached = self
                .counts
                .lock()
                .map_err(|_| StoreError::Internal("trigram statistics poisoned".into()))?
                .get(&trigram)
                .filter(|(_, at)| now.duration_since(*at) < STATS_TTL)
                .map(|(n, _)| *n);
            let n = match cached {
                Some(n) => n,
                None => {
                    let n: i64 = conn
                        .prepare_cached("SELECT doc FROM schedules_name_vocab WHERE term = ?1")
                        .map_err(internal)?
                        .query_row([&trigram], |row| row.get(0))
                        .or_else(|e| match e {
                            rusqlite::Error::QueryReturnedNoRows => Ok(0),
                            other => Err(other),
                        })
                        .map_err(internal)?;
                    let mut counts = self
                        .counts
                        .lock()
                        .map_err(|_| StoreError::Internal("trigram statistics poisoned".into()))?;
                    if counts.len() >= STATS_MAX {
                        counts.clear();
                    }
                    counts.insert(trigram.clone(), (n, now));
                    n
                }
            };
            counted.push((n, trigram));
        }
        counted.sort();
        Ok(counted.into_iter().take(2).map(|(_, t)| t).collect())
    }
}

/// Registers the SQL functions the history reads use on a read connection:
/// `plenum_fold(text)`, Unicode lower-casing (SQLite's `lower` folds ASCII only), so that a
/// search for "ärger" finds "Ärger".
fn register_functions(conn: &Connection) -> StoreResult<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "plenum_fold",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let text: Option<String> = ctx.get(0)?;
            Ok(text.map(|t| search_key(&t)))
        },
    )
    .map_err(internal)
}

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

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

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

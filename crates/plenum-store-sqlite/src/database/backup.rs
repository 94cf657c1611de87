//! Backups of a data directory's database, and bringing one back (docs/operations.md).
//!
//! A copy of `plenum.db` taken while the server runs is not a backup: what was committed
//! lately is still in `plenum.db-wal`, and a file copied mid-write is torn. `backup` asks
//! SQLite for the copy instead (`VACUUM INTO`), from a read transaction: one consistent
//! snapshot, with everything committed before it began and nothing after, while the server
//! goes on writing. `restore` puts a copy back while no server uses the directory (the
//! directory's lock, [`DataDirLock`]).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use plenum_store::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};

use crate::{DATABASE_FILE, internal};

/// The file whose lock says a server uses the data directory.
const LOCK_FILE: &str = "plenum.lock";

fn refused(message: String) -> StoreError {
    internal(std::io::Error::other(message))
}

/// Held by a running server for as long as it serves a data directory: a second server, or
/// a restore, is refused while it is held. An advisory lock of the operating system, so it
/// ends with the process however the process ends.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the data directory's lock, or says that another process holds it.
    pub fn acquire(data_dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(data_dir).map_err(internal)?;
        let path = data_dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(internal)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(refused(format!(
                "{} is in use by a running plenum server (its lock {} is held); stop it first",
                data_dir.display(),
                path.display()
            ))),
            Err(TryLockError::Error(e)) => Err(internal(e)),
        }
    }
}

/// Writes a consistent copy of the data directory's database to `target`, which must not
/// exist yet; safe while a server runs. The copy is written beside `target` and renamed
/// into place once complete, so a `target` that exists is whole.
pub fn backup(data_dir: &Path, target: &Path) -> StoreResult<()> {
    let source = data_dir.join(DATABASE_FILE);
    if !source.exists() {
        return Err(refused(format!("{} has no database", data_dir.display())));
    }
    if target.exists() {
        return Err(refused(format!(
            "{} exists; a backup never overwrites a file",
            target.display()
        )));
    }
    let partial = sibling(target, ".partial");
    let _ = std::fs::remove_file(&partial);
    let conn = Connection::open_with_flags(&source, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(internal)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(internal)?;
    let written = conn
        .execute("VACUUM INTO ?1", [partial.to_string_lossy().as_ref()])
        .map_err(internal);
    drop(conn);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(internal)?;
    std::fs::rename(&partial, target).map_err(internal)?;
    sync_dir(target);
    Ok(())
}

/// What `restore` did with the database it replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// Where the database that was there before now is, if there was one.
    pub previous: Option<PathBuf>,
}

/// Makes `source` (a file `backup` wrote) the data directory's database. Refused while a
/// server uses the directory, and for a file that is not a whole Plenum database. The
/// database it replaces is kept beside it (`plenum.db.before-restore-<unix seconds>`), with
/// its write-ahead log folded in. The next start brings the copy's schema up to date.
pub fn restore(data_dir: &Path, source: &Path, now_unix: i64) -> StoreResult<Restored> {
    let _lock = DataDirLock::acquire(data_dir)?;
    check_backup(source)?;
    let database = data_dir.join(DATABASE_FILE);
    let incoming = sibling(&database, ".restoring");
    std::fs::copy(source, &incoming).map_err(internal)?;
    File::open(&incoming)
        .and_then(|f| f.sync_all())
        .map_err(internal)?;
    let previous = if database.exists() {
        // Its WAL into it first, so the file kept is whole on its own.
        let conn = Connection::open(&database).map_err(internal)?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(internal)?;
        drop(conn);
        let kept = sibling(&database, &format!(".before-restore-{now_unix}"));
        std::fs::rename(&database, &kept).map_err(internal)?;
        Some(kept)
    } else {
        None
    };
    for leftover in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(sibling(&database, leftover));
    }
    std::fs::rename(&incoming, &database).map_err(internal)?;
    sync_dir(&database);
    Ok(Restored { previous })
}

/// Refuses a file that is not a whole SQLite database holding Plenum's schema.
fn check_backup(source: &Path) -> StoreResult<()> {
    let conn = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| refused(format!("{} cannot be opened: {e}", source.display())))?;
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| refused(format!("{} is not a database: {e}", source.display())))?;
    if integrity != "ok" {
        return Err(refused(format!(
            "{} is damaged: {integrity}",
            source.display()
        )));
    }
    let migrations: i64 = conn
        .query_row(
            "SELECT count(*) FROM _sqlx_migrations WHERE success",
            [],
            |r| r.get(0),
        )
        .map_err(|_| {
            refused(format!(
                "{} is a database, but not a Plenum one",
                source.display()
            ))
        })?;
    if migrations == 0 {
        return Err(refused(format!(
            "{} holds no Plenum schema",
            source.display()
        )));
    }
    Ok(())
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Makes a rename in `file`'s directory durable (best effort: not every file system can).
fn sync_dir(file: &Path) {
    if let Some(dir) = file.parent()
        && let Ok(dir) = File::open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })
    {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_of_one_directory_is_refused_until_the_first_ends() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let first = DataDirLock::acquire(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert!(DataDirLock::acquire(dir.path()).is_err());
        drop(first);
        assert!(DataDirLock::acquire(dir.path()).is_ok());
    }

    #[test]
    fn a_file_that_is_not_a_plenum_database_is_not_restored() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, b"not a database at all, just some bytes").unwrap_or_default();
        let data = dir.path().join("data");
        assert!(restore(&data, &junk, 0).is_err());
        let other = dir.path().join("other.db");
        let conn = Connection::open(&other).unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch("CREATE TABLE t (x)")
            .unwrap_or_else(|e| panic!("{e}"));
        drop(conn);
        assert!(restore(&data, &other, 0).is_err());
        assert!(
            !data.join(DATABASE_FILE).exists(),
            "nothing was put in place"
        );
    }
}

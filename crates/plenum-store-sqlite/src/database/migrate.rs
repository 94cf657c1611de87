//! `plenum migrate` on SQLite: the data directory's schema brought up to date on its own,
//! reporting which migrations that took.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use plenum_store::{Migration, StoreResult};

use crate::{DATABASE_FILE, MIGRATOR, db_err, internal};

/// Applies the migrations the data directory's database lacks (creating it if needed), as
/// [`SqliteStore::open`](crate::SqliteStore::open) does, and returns them.
pub async fn migrate(data_dir: &Path) -> StoreResult<Vec<Migration>> {
    std::fs::create_dir_all(data_dir).map_err(internal)?;
    let options = SqliteConnectOptions::new()
        .filename(data_dir.join(DATABASE_FILE))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(db_err)?;
    let table: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(&pool)
    .await
    .map_err(db_err)?;
    let before: Vec<i64> = if table.is_some() {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&pool)
            .await
            .map_err(db_err)?
    } else {
        Vec::new()
    };
    let ran = match MIGRATOR.run(&pool).await.map_err(internal) {
        Ok(()) => crate::meetings::key_rooms(&pool).await,
        Err(e) => Err(e),
    };
    pool.close().await;
    ran?;
    Ok(Migration::applied_now(
        MIGRATOR
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| (m.version, &*m.description)),
        &before,
    ))
}

//! Attempt counts over PostgreSQL (migration 0021), shared by every node. Each count is one
//! `INSERT … ON CONFLICT DO UPDATE … RETURNING`: the row is locked for the update, so
//! attempts made at once on any nodes are each counted once. The `CASE`s are the domain's
//! rules written for the row (`Failures::after_failure`, `RateWindow::after_request`); the
//! contract suite holds both backends to them.

use sqlx::Row as _;

use plenum_domain::Timestamp;
use plenum_domain::limits::{AttemptKey, Failures, RateWindow, WindowCount};
use plenum_store::{Limits, StoreResult};

use crate::{PgStore, db_err, instant, ms};

fn as_u32(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[async_trait::async_trait]
impl Limits for PgStore {
    async fn failures(&self, key: &AttemptKey, now: Timestamp) -> StoreResult<Option<Failures>> {
        let row = sqlx::query(
            "SELECT count, last_at FROM attempt_counts WHERE key = $1 AND expires_at > $2",
        )
        .bind(key.as_str())
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|row| {
            Ok(Failures {
                count: as_u32(row.try_get("count").map_err(db_err)?),
                last_at: instant(row.try_get("last_at").map_err(db_err)?)?,
            })
        })
        .transpose()
    }

    async fn record_failure(&self, key: &AttemptKey, now: Timestamp) -> StoreResult<Failures> {
        let first = Failures::after_failure(None, now);
        let counted: i64 = sqlx::query_scalar(
            "INSERT INTO attempt_counts (key, count, last_at, expires_at) \
             VALUES ($1, 1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET \
               count = CASE WHEN attempt_counts.expires_at <= $2 THEN 1 \
                            ELSE attempt_counts.count + 1 END, \
               last_at = $2, expires_at = $3 \
             RETURNING count",
        )
        .bind(key.as_str())
        .bind(ms(now))
        .bind(ms(first.forgotten_at()))
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(Failures {
            count: as_u32(counted),
            last_at: now,
        })
    }

    async fn forget_failures(&self, key: &AttemptKey) -> StoreResult<()> {
        sqlx::query("DELETE FROM attempt_counts WHERE key = $1")
            .bind(key.as_str())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn count_request(
        &self,
        key: &AttemptKey,
        window: RateWindow,
        now: Timestamp,
    ) -> StoreResult<WindowCount> {
        // A window is over when it has ended or ends after one opened now would (the clock
        // went back): `RateWindow::is_over`.
        let opened = window.opened(now);
        let row = sqlx::query(
            "INSERT INTO attempt_counts AS c (key, count, last_at, expires_at) \
             VALUES ($1, 1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET \
               count = CASE WHEN c.expires_at <= $2 OR c.expires_at > $3 THEN 1 \
                            ELSE c.count + 1 END, \
               expires_at = CASE WHEN c.expires_at <= $2 OR c.expires_at > $3 THEN $3 \
                                 ELSE c.expires_at END, \
               last_at = $2 \
             RETURNING count, expires_at",
        )
        .bind(key.as_str())
        .bind(ms(now))
        .bind(ms(opened.ends_at))
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(WindowCount {
            count: as_u32(row.try_get("count").map_err(db_err)?),
            ends_at: instant(row.try_get("expires_at").map_err(db_err)?)?,
        })
    }

    async fn expire_attempts(&self, now: Timestamp) -> StoreResult<u64> {
        let deleted = sqlx::query("DELETE FROM attempt_counts WHERE expires_at <= $1")
            .bind(ms(now))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(deleted.rows_affected())
    }
}

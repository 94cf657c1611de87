//! Attempt counts over PostgreSQL (migration 0021), shared by every node. Each count is one
//! `INSERT … ON CONFLICT DO UPDATE … RETURNING`: the row is locked for the update, so
//! attempts made at once on any nodes are each counted once. The `CASE`s are the domain's
//! rules written for the row (`Failures::after_failure`, `RateWindow::after_request`); the
//! contract suite holds both backends to them.
//!
//! A window's requests are counted for every request a client sends (Rocket.Chat), so one key
//! is hot: its row lock made a client's concurrent requests wait for each other. The requests
//! waiting at once are counted together ([`RequestCounts`]): one statement adds a key's k
//! requests at once, and they take the k counts up to the new total, in the order they were
//! asked — what k statements in that order would have given.

use std::collections::HashMap;

use sqlx::PgPool;
use sqlx::Row as _;

use plenum_domain::Timestamp;
use plenum_domain::limits::{AttemptKey, Failures, RateWindow, WindowCount};
use plenum_store::{Limits, StoreResult};

use crate::batch::Batched;
use crate::{PgStore, col, db_err, instant, ms};

/// A request to count in its key's window, at its time.
type CountAsk = (AttemptKey, RateWindow, Timestamp);

/// The requests counted together (see the module's documentation).
#[derive(Debug, Clone)]
pub(crate) struct RequestCounts(Batched<CountAsk, WindowCount>);

impl RequestCounts {
    pub(crate) fn start(pool: PgPool) -> Self {
        Self(Batched::start("request counts", pool, |conn, asks| {
            Box::pin(async move { count_all(conn, &asks).await })
        }))
    }
}

/// Counts `asks` in one statement. A key's requests are added at once at the latest of their
/// times, in the window that time opens if the key's is over (ended, or ending after one
/// opened now would because the clock went back: `RateWindow::is_over`); keys are locked in
/// their order, so two nodes' statements never wait for each other in a circle.
async fn count_all<'c>(
    db: impl sqlx::PgExecutor<'c>,
    asks: &[CountAsk],
) -> StoreResult<Vec<WindowCount>> {
    // Each key: its requests and the latest time among them, in key order.
    let mut keys: Vec<(&str, i64, Timestamp, RateWindow)> = Vec::new();
    let mut place: HashMap<&str, usize> = HashMap::new();
    for (key, window, now) in asks {
        match place.get(key.as_str()) {
            Some(&i) => {
                keys[i].1 += 1;
                if *now > keys[i].2 {
                    (keys[i].2, keys[i].3) = (*now, *window);
                }
            }
            None => {
                place.insert(key.as_str(), keys.len());
                keys.push((key.as_str(), 1, *now, *window));
            }
        }
    }
    keys.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let rows = sqlx::query(
        "INSERT INTO attempt_counts AS c (key, count, last_at, expires_at) \
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) \
         ON CONFLICT (key) DO UPDATE SET \
           count = CASE WHEN c.expires_at <= EXCLUDED.last_at \
                          OR c.expires_at > EXCLUDED.expires_at THEN EXCLUDED.count \
                        ELSE c.count + EXCLUDED.count END, \
           expires_at = CASE WHEN c.expires_at <= EXCLUDED.last_at \
                               OR c.expires_at > EXCLUDED.expires_at THEN EXCLUDED.expires_at \
                             ELSE c.expires_at END, \
           last_at = EXCLUDED.last_at \
         RETURNING key, count, expires_at",
    )
    .bind(keys.iter().map(|k| k.0).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.1).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| ms(k.2)).collect::<Vec<_>>())
    .bind(
        keys.iter()
            .map(|k| ms(k.3.opened(k.2).ends_at))
            .collect::<Vec<_>>(),
    )
    .fetch_all(db)
    .await
    .map_err(db_err)?;
    // Each key's total, and how many of its requests are still to take their count.
    let asked: HashMap<&str, i64> = keys.iter().map(|k| (k.0, k.1)).collect();
    let mut totals: HashMap<String, (i64, Timestamp, i64)> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let key: String = col(row, "key")?;
        let left = asked.get(key.as_str()).copied().unwrap_or(0);
        totals.insert(
            key,
            (col(row, "count")?, instant(col(row, "expires_at")?)?, left),
        );
    }
    asks.iter()
        .map(|(key, _, _)| {
            let (total, ends_at, left) = totals
                .get_mut(key.as_str())
                .ok_or_else(|| crate::corrupt("attempt_counts: a counted key not returned"))?;
            // The first asked takes the lowest of the key's counts.
            let count = *total - (*left - 1);
            *left -= 1;
            Ok(WindowCount {
                count: as_u32(count),
                ends_at: *ends_at,
            })
        })
        .collect()
}

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
        let ask = (key.clone(), window, now);
        if let Some(counted) = self.counts.0.ask(ask.clone()).await {
            return Ok(counted);
        }
        // The shared statement failed: counted alone, which reports the database's error.
        let mut counted = count_all(&self.pool, std::slice::from_ref(&ask)).await?;
        counted
            .pop()
            .ok_or_else(|| crate::corrupt("attempt_counts: a counted key not returned"))
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

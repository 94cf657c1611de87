//! Meeting leases over SQLite (migration 0018), through the sqlx writer: one node per data
//! directory, so these are the same rules as PostgreSQL's with no contention.

use sqlx::Row as _;

use plenum_domain::Timestamp;
use plenum_domain::ids::NodeId;
use plenum_domain::nodes::{Lease, LeaseTerms, NodeRef};
use plenum_domain::schedule::MeetingNumber;
use plenum_store::StoreResult;
use plenum_store::rows::{LeaseRow, stored_meeting_number};

use crate::{SqliteStore, corrupt, db_err, ms, write_tx};

fn lease_of(meeting: &MeetingNumber, row: &sqlx::sqlite::SqliteRow) -> StoreResult<Lease> {
    LeaseRow {
        node_id: row.try_get("node_id").map_err(db_err)?,
        node_address: row.try_get("node_address").map_err(db_err)?,
        expires_at: row.try_get("expires_at").map_err(db_err)?,
    }
    .decode(meeting)
}

#[async_trait::async_trait]
impl plenum_store::Leases for SqliteStore {
    async fn claim_meeting(
        &self,
        meeting: &MeetingNumber,
        node: &NodeRef,
        now: Timestamp,
        terms: LeaseTerms,
    ) -> StoreResult<Lease> {
        let mut tx = write_tx(&self.writer).await?;
        sqlx::query(
            "INSERT INTO meeting_leases (meeting_number, node_id, node_address, expires_at) \
             VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (meeting_number) DO UPDATE SET node_id = excluded.node_id, \
               node_address = excluded.node_address, expires_at = excluded.expires_at \
             WHERE meeting_leases.expires_at <= ?5 OR meeting_leases.node_id = excluded.node_id",
        )
        .bind(meeting.as_str())
        .bind(node.id.as_uuid())
        .bind(&node.address)
        .bind(ms(terms.expiry(now)))
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let row = sqlx::query(
            "SELECT node_id, node_address, expires_at FROM meeting_leases \
             WHERE meeting_number = ?1",
        )
        .bind(meeting.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .ok_or_else(|| corrupt("meeting_leases: the claimed lease"))?;
        let lease = lease_of(meeting, &row)?;
        tx.commit().await.map_err(db_err)?;
        Ok(lease)
    }

    async fn renew_leases(
        &self,
        node: NodeId,
        now: Timestamp,
        terms: LeaseTerms,
    ) -> StoreResult<Vec<MeetingNumber>> {
        let mut tx = write_tx(&self.writer).await?;
        let numbers: Vec<String> = sqlx::query_scalar(
            "UPDATE meeting_leases SET expires_at = ?3 \
             WHERE node_id = ?1 AND expires_at > ?2 RETURNING meeting_number",
        )
        .bind(node.as_uuid())
        .bind(ms(now))
        .bind(ms(terms.expiry(now)))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        numbers
            .iter()
            .map(|n| stored_meeting_number(n, "meeting_leases.meeting_number"))
            .collect()
    }

    async fn release_meeting(&self, meeting: &MeetingNumber, node: NodeId) -> StoreResult<()> {
        let mut tx = write_tx(&self.writer).await?;
        sqlx::query("DELETE FROM meeting_leases WHERE meeting_number = ?1 AND node_id = ?2")
            .bind(meeting.as_str())
            .bind(node.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn meeting_lease(&self, meeting: &MeetingNumber) -> StoreResult<Option<Lease>> {
        let row = sqlx::query(
            "SELECT node_id, node_address, expires_at FROM meeting_leases \
             WHERE meeting_number = ?1",
        )
        .bind(meeting.as_str())
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?;
        row.map(|row| lease_of(meeting, &row)).transpose()
    }

    async fn nodes_running_meetings(&self, now: Timestamp) -> StoreResult<Vec<NodeRef>> {
        let rows = sqlx::query(
            "SELECT DISTINCT node_id, node_address FROM meeting_leases \
             WHERE expires_at > ?1 ORDER BY node_address",
        )
        .bind(ms(now))
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                Ok(NodeRef {
                    id: NodeId::from_uuid(row.try_get("node_id").map_err(db_err)?),
                    address: row.try_get("node_address").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn secret_fingerprint(&self, name: &str, offered: &str) -> StoreResult<String> {
        let mut tx = write_tx(&self.writer).await?;
        sqlx::query(
            "INSERT INTO secret_fingerprints (name, fingerprint) VALUES (?1, ?2) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(offered)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let agreed: String =
            sqlx::query_scalar("SELECT fingerprint FROM secret_fingerprints WHERE name = ?1")
                .bind(name)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(agreed)
    }
}

//! Notices between the servers on one database (`plenum_store::Notices`): `NOTIFY` on one
//! channel, and one listening connection per server that hands what it hears to the
//! server's subscribers.
//!
//! `NOTIFY` reaches the sessions listening when it is sent. A server whose listening
//! connection broke may have missed some: when the connection is back its subscribers are
//! told `Notice::Everything` (forget all they hold).

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use plenum_store::{Notice, StoreResult};

use crate::db_err;

/// The channel every server listens on.
const CHANNEL: &str = "plenum_notices";

/// Notices a slow subscriber may fall behind by before it is told to forget everything.
const QUEUED: usize = 1024;

/// The server's end of the channel: its subscribers, and the task listening for them. The
/// task ends with the last clone of the store.
#[derive(Debug, Clone)]
pub(crate) struct Channel {
    pub(crate) subscribers: broadcast::Sender<Notice>,
    listening: Arc<Listening>,
}

#[derive(Debug)]
struct Listening(JoinHandle<()>);

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Channel {
    /// Starts listening on a connection of its own (made as `pool`'s are).
    pub(crate) async fn open(pool: &PgPool) -> StoreResult<Self> {
        let mut listener = PgListener::connect_with(pool).await.map_err(db_err)?;
        listener.listen(CHANNEL).await.map_err(db_err)?;
        let subscribers = broadcast::channel(QUEUED).0;
        let heard = subscribers.clone();
        let task = tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(notification)) => {
                        let _ = heard.send(Notice::from_wire(notification.payload()));
                    }
                    // The connection broke; the next call reconnects and listens again.
                    // What was sent meanwhile is lost.
                    Ok(None) => {
                        tracing::warn!("notices: the listening connection broke; reconnecting");
                        let _ = heard.send(Notice::Everything);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "notices: cannot listen; trying again in 1 s");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(Self {
            subscribers,
            listening: Arc::new(Listening(task)),
        })
    }

    /// Stops listening. The listener holds a connection of the pool, and closing the pool
    /// waits for every connection: once the pool is closed, the listener would keep retrying
    /// (and holding it) for ever.
    pub(crate) fn stop(&self) {
        self.listening.0.abort();
    }

    /// Sends the notice to every server listening, this one included.
    pub(crate) async fn announce(pool: &PgPool, notice: &Notice) -> StoreResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(notice.to_wire())
            .execute(pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

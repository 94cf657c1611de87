//! Asks answered together. Some questions are asked by nearly every request of a busy node
//! (a company's change generations, a Rocket.Chat client's request count): one statement each
//! made their round trip, and on a hot row its lock, most of the request's cost. A [`Batched`]
//! queue has one task that takes every ask waiting, answers them all with one statement, and
//! hands each ask its answer.
//!
//! Why the answers stay exact: the task takes an ask from the queue before it sends the
//! statement that answers it, so that statement begins after the ask was made and sees every
//! change committed before it, on this node or any other, as a statement of the ask's own
//! would. Asks made while a statement runs wait for the next one: at most two round trips.
//!
//! A failed statement answers `None` to all its asks; each asker then asks on its own, so the
//! database's error is reported where it belongs.
//!
//! The task keeps a connection of its own for its statements instead of taking one from the
//! pool for each: sqlx 0.8 sends a round trip (a `Sync`, its "ping") every time a connection
//! goes back to the pool, so a statement through the pool cost two round trips for one answer.
//! The connection is opened through the pool and detached from it, so the pool keeps its full
//! size for everything else (a node holds its `max_connections` plus one per queue). It is
//! dropped after a failed statement (it may be broken; the next batch opens another) and
//! closed when the pool closes or the queue's last clone is gone.

use std::future::Future;
use std::pin::Pin;

use sqlx::pool::PoolConnection;
use sqlx::{Connection as _, PgConnection, PgPool};
use tokio::sync::{mpsc, oneshot};

use plenum_store::StoreResult;

use crate::db_err;

/// The answers to one batch, computed on the connection lent for `'c`.
pub(crate) type Answering<'c, R> = Pin<Box<dyn Future<Output = StoreResult<Vec<R>>> + Send + 'c>>;

/// Asks one statement answers at most; more wait for the next.
const AT_ONCE: usize = 256;

type Queued<A, R> = (A, oneshot::Sender<Option<R>>);

/// The queue of asks of one kind. Its task ends with the queue's last clone.
#[derive(Debug)]
pub(crate) struct Batched<A, R> {
    asks: mpsc::UnboundedSender<Queued<A, R>>,
}

impl<A, R> Clone for Batched<A, R> {
    fn clone(&self) -> Self {
        Self {
            asks: self.asks.clone(),
        }
    }
}

impl<A: Send + 'static, R: Send + 'static> Batched<A, R> {
    /// Starts the task: `answer` answers the asks it is given, one answer each, in order, on
    /// the connection it is lent. `what` names the asks in the log.
    pub(crate) fn start<F>(what: &'static str, pool: PgPool, answer: F) -> Self
    where
        F: for<'c> Fn(&'c mut PgConnection, Vec<A>) -> Answering<'c, R> + Send + 'static,
    {
        let (asks, mut queue) = mpsc::unbounded_channel::<Queued<A, R>>();
        tokio::spawn(async move {
            let closed = pool.close_event();
            tokio::pin!(closed);
            let mut held: Option<PgConnection> = None;
            let mut taken = Vec::with_capacity(AT_ONCE);
            loop {
                let taking = tokio::select! {
                    biased;
                    () = &mut closed => break,
                    taking = queue.recv_many(&mut taken, AT_ONCE) => taking,
                };
                if taking == 0 {
                    break;
                }
                let (asked, waiting): (Vec<A>, Vec<_>) = taken.drain(..).unzip();
                let count = asked.len();
                let conn = match held.take() {
                    Some(conn) => Ok(conn),
                    None => pool
                        .acquire()
                        .await
                        .map(PoolConnection::detach)
                        .map_err(db_err),
                };
                let answered = match conn {
                    Ok(mut conn) => {
                        let answered = answer(&mut conn, asked).await;
                        // One whose statement failed may be broken: the next batch opens another.
                        if answered.is_ok() {
                            held = Some(conn);
                        }
                        answered
                    }
                    Err(e) => Err(e),
                };
                let answers: Vec<R> = match answered {
                    Ok(answers) if answers.len() == count => answers,
                    Ok(answers) => {
                        tracing::error!(
                            what,
                            asks = count,
                            answers = answers.len(),
                            "a shared read answered the wrong number of asks"
                        );
                        Vec::new()
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, what, "a shared read failed; its askers ask on their own");
                        Vec::new()
                    }
                };
                // Without answers, each waiter is told `None` and asks on its own.
                let mut answers = answers.into_iter();
                for waiter in waiting {
                    let _ = waiter.send(answers.next());
                }
            }
            if let Some(conn) = held {
                // A goodbye to the server, so it logs no lost connection.
                let _ = conn.close().await;
            }
        });
        Self { asks }
    }

    /// The answer to `ask`, from a statement sent after this call began; `None` if that
    /// statement failed (the caller then asks on its own).
    pub(crate) async fn ask(&self, ask: A) -> Option<R> {
        let (waiter, answered) = oneshot::channel();
        self.asks.send((ask, waiter)).ok()?;
        answered.await.ok().flatten()
    }
}

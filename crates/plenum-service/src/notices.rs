//! What this server holds in memory about accounts and keys, kept true across the servers
//! of one installation (`plenum_store::Notices`, docs/scaling.md).
//!
//! A change that ends tokens or keys (sign-out, a credential changed, a user updated, a key
//! revoked) evicts them from this server's caches at once, and then announces a notice so
//! that every other server on the database evicts them too, instead of serving them until
//! its revalidation interval has passed. The notice task applies what is heard, this
//! server's own notices included (a second eviction costs nothing).

use plenum_store::Notice;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use crate::Plenum;
use crate::context::Context;

impl Context {
    /// Tells the other servers; the change is committed, so a failure only means they
    /// find out at their next revalidation, which the log says.
    pub(crate) async fn announce(&self, notice: Notice) {
        if let Err(e) = self.store.announce(&notice).await {
            tracing::warn!(error = %e, ?notice,
                "the other servers were not told; they see the change at their next revalidation");
        }
    }

    /// Forgets what the notice names.
    pub(crate) fn forget(&self, notice: &Notice) {
        match notice {
            Notice::Token(hash) => self.tokens.remove(hash),
            Notice::User(user) => self.tokens.remove_where(|p| p.user.id == *user),
            Notice::Company(company) => self.companies.remove(company),
            Notice::ApiKey(key) => {
                self.api_keys.remove_where(|k| k.id == *key);
                self.app_tokens.remove_where(|t| t.key == *key);
            }
            Notice::Everything => {
                self.tokens.remove_where(|_| true);
                self.api_keys.remove_where(|_| true);
                self.app_tokens.remove_where(|_| true);
                self.companies.remove_where(|_| true);
            }
        }
    }
}

impl Plenum {
    /// Starts the task that applies the notices of every server on the database (once per
    /// server). It runs until aborted.
    pub fn start_notices(&self) -> JoinHandle<()> {
        let mut heard = self.inner.store.notices();
        let inner = self.inner.clone();
        tokio::spawn(async move {
            loop {
                match heard.recv().await {
                    Ok(notice) => inner.forget(&notice),
                    // Fell behind: some were missed.
                    Err(RecvError::Lagged(_)) => inner.forget(&Notice::Everything),
                    Err(RecvError::Closed) => return,
                }
            }
        })
    }
}

//! The service's shared context, and the use-case groups that act over it.
//!
//! [`Plenum`] is one handle to the context (the store, the clock, the policy, the caches and
//! the running meetings). Its use cases are grouped by what a caller does:
//! [`Plenum::accounts`] (sign-in, users, companies, integration keys),
//! [`Plenum::scheduling`] (reservations, series, rooms, calendars), [`Plenum::history`]
//! (the record of meetings, recordings, import) and [`Plenum::live`] (running meetings,
//! media, recording and streaming). A group is a borrowed view: it costs nothing to take.

use std::sync::Arc;

use plenum_domain::Timestamp;
use plenum_domain::company::Company;
use plenum_domain::ids::CompanyId;
use plenum_store::Store;

use crate::tokens::{Expiring, TokenCache};
use crate::{Clock, PasswordHasher, Policy, Principal};

/// The application service: one per running server (or CLI invocation).
#[derive(Debug, Clone)]
pub struct Plenum {
    pub(crate) inner: Arc<Context>,
}

#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) policy: Policy,
    pub(crate) hasher: PasswordHasher,
    pub(crate) tokens: TokenCache<Principal>,
    /// Bearer API keys found valid, by hash (Rokid, Telnyx), see `tokens.rs`.
    pub(crate) api_keys: TokenCache<plenum_domain::api_keys::ApiKey>,
    /// Huawei app tokens found valid, by hash.
    pub(crate) app_tokens: TokenCache<plenum_store::AppToken>,
    /// Companies as read (no path changes one; re-read after `token_revalidate_after`).
    pub(crate) companies: TokenCache<Company, CompanyId>,
    /// The running meetings.
    pub(crate) live: crate::live::Registry,
    /// The media server, once started (`Live::start_media`).
    pub(crate) media: std::sync::OnceLock<crate::live::MediaService>,
    /// Recording and live streaming, once started (`History::start_recordings`).
    pub(crate) recordings: std::sync::OnceLock<crate::recordings::Recorder>,
    /// New live-stream viewers per address.
    pub(crate) viewer_rate: crate::live::ViewerRate,
    /// The webhook delivery task's wake-up and counters (`webhooks/`).
    pub(crate) deliveries: crate::webhooks::Deliveries,
    /// Set when the server begins to stop (`Live::end_all_meetings`): `/healthz` and
    /// `/readyz` then say so, and a load balancer sends no new work.
    pub(crate) draining: std::sync::atomic::AtomicBool,
}

/// What this server process is doing (`/healthz`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    Serving,
    /// Stopping: ending its meetings, finishing recordings.
    Draining,
}

/// Whether this server can take work (`/readyz`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    Yes,
    /// Why not, in words for an operator.
    No(String),
}

impl Plenum {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, policy: Policy) -> Self {
        let (revalidate, entries) = (policy.token_revalidate_after, policy.token_cache_entries);
        let tokens = TokenCache::new(revalidate, entries);
        let api_keys = TokenCache::new(revalidate, entries);
        let app_tokens = TokenCache::new(revalidate, entries);
        let companies = TokenCache::new(revalidate, entries);
        Self {
            inner: Arc::new(Context {
                store,
                clock,
                policy,
                hasher: PasswordHasher::default(),
                tokens,
                api_keys,
                app_tokens,
                companies,
                live: Default::default(),
                media: Default::default(),
                recordings: std::sync::OnceLock::new(),
                viewer_rate: Default::default(),
                deliveries: Default::default(),
                draining: Default::default(),
            }),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn node_state(&self) -> NodeState {
        if self
            .inner
            .draining
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            NodeState::Draining
        } else {
            NodeState::Serving
        }
    }

    /// Ready when serving, with the database answering and holding this binary's migrations.
    pub async fn readiness(&self) -> Ready {
        if self.node_state() == NodeState::Draining {
            return Ready::No("the server is stopping".into());
        }
        match self.inner.store.readiness().await {
            Ok(plenum_store::Readiness::Ready) => Ready::Yes,
            Ok(plenum_store::Readiness::MigrationsPending { versions }) => Ready::No(format!(
                "the database lacks migrations {versions:?} of this version (plenum migrate)"
            )),
            Err(e) => {
                tracing::warn!(error = %e, "readiness: the database does not answer");
                Ready::No("the database does not answer".into())
            }
        }
    }
}

impl Context {
    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// A company ends only by a change in the store (none exists yet: companies are never
/// updated or deleted), which revalidation picks up.
impl Expiring for Company {
    fn is_expired(&self, _now: Timestamp) -> bool {
        false
    }
}

/// Declares a use-case group: a view of the service's context, taken with `Plenum::$accessor`.
macro_rules! use_case_group {
    ($(#[$doc:meta])* $name:ident, $accessor:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name<'a> {
            /// The whole service, for a use case that needs another group's (not every
            /// group does).
            #[allow(dead_code)]
            pub(crate) plenum: &'a Plenum,
            pub(crate) inner: &'a Context,
        }

        impl Plenum {
            $(#[$doc])*
            pub fn $accessor(&self) -> $name<'_> {
                $name {
                    plenum: self,
                    inner: &self.inner,
                }
            }
        }
    };
}

use_case_group!(
    /// Sign-in and tokens, users, companies, the installation's capacity, and the keys and
    /// apps integrations authenticate with.
    Accounts,
    accounts
);
use_case_group!(
    /// Reservations, recurring series, meeting rooms, join links and calendars.
    Scheduling,
    scheduling
);
use_case_group!(
    /// The record of meetings: sessions, attendance, recordings, and its import.
    History,
    history
);
use_case_group!(
    /// Running meetings: joining, host controls, media, recording and live streaming.
    Live,
    live
);
use_case_group!(
    /// Webhook endpoints, their deliveries and replay, the delivery task, and the audit log.
    Integrations,
    integrations
);

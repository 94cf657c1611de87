//! What a company does with its webhooks (register, list, remove, rotate the secret, look
//! at the delivery log, replay) and its audit log, and the tasks the server runs for them
//! (delivery, retention). SystemAdmins of the company, or the local operator.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::json;

use plenum_domain::audit::{Action, AuditFilter, AuditRecord};
use plenum_domain::ids::{EventId, WebhookId};
use plenum_domain::paging::{Page, PageRequest};
use plenum_domain::webhooks::{
    Endpoint, EventTypes, NewEndpoint, SigningSeed, WebhookSecret, WebhookUrl, is_public,
    parse_description,
};
use plenum_domain::{Field, Timestamp, ValidationError};
use plenum_store::{Attempt, Registration, StoreError};

use super::{DeliveryTask, DeliveryThread, WebhookCounts};
use crate::{Actor, Integrations, ServiceError};

/// Why a webhook call did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("no such webhook")]
    NotFound,
    /// The company has an endpoint with this URL (registering twice is refused, not merged).
    #[error("this URL is registered already, as webhook {existing}")]
    UrlTaken { existing: WebhookId },
    #[error("no such event (it may have expired)")]
    EventNotFound,
}

/// A request to register an endpoint.
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    pub url: String,
    /// `None`: every type.
    pub event_types: Option<Vec<String>>,
    pub description: Option<String>,
}

/// An endpoint with its signing secret, in the answer of its creation or rotation only.
#[derive(Debug, Clone)]
pub struct WebhookWithSecret {
    pub endpoint: Endpoint,
    /// `whsec_…`: shown this once.
    pub secret: String,
}

/// The most attempts a delivery log shows.
pub const MAX_DELIVERIES_LISTED: u32 = 500;

/// How long a name's resolution may take at registration before it is left to the delivery
/// task (which judges the addresses when it connects).
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

impl Integrations<'_> {
    fn require(&self, actor: Actor<'_>) -> Result<(), ServiceError> {
        actor.require_user_admin().map_err(|_| {
            ServiceError::PermissionDenied(
                "only a SystemAdmin may manage the company's webhooks and read its audit log",
            )
        })
    }

    /// Registers an endpoint; the answer holds its secret, which is shown nowhere else.
    pub async fn create_webhook(
        &self,
        actor: Actor<'_>,
        request: WebhookRequest,
    ) -> Result<WebhookWithSecret, ServiceError> {
        self.require(actor)?;
        let allow_private = self.inner.policy.webhooks.allow_private;
        let url = WebhookUrl::parse(&request.url, allow_private)?;
        if !allow_private {
            refuse_private_names(&url).await?;
        }
        let types = EventTypes::parse(request.event_types.as_deref())?;
        let description = parse_description(request.description.as_deref().unwrap_or(""))?;
        let now = self.inner.now();
        let seed = SigningSeed(rand::random());
        let endpoint = Endpoint {
            id: WebhookId::new(now),
            company: actor.company(),
            url,
            description,
            types,
            created_at: now,
            secret_rotated_at: now,
            failing_since: None,
        };
        let audit = actor.audit(
            Action::WebhookCreate,
            format!("webhook:{}", endpoint.id),
            None,
            json!({"url": endpoint.url.as_str(), "event_types": types.names()}),
            now,
        );
        let new = NewEndpoint { endpoint, seed };
        match self.inner.store.create_webhook(&new, &audit).await {
            Ok(Registration::Created(endpoint)) => {
                tracing::info!(webhook_id = %endpoint.id, company_id = %endpoint.company, by = %actor, "webhook registered");
                Ok(WebhookWithSecret {
                    secret: self.secret_of(&new.seed).whsec(),
                    endpoint,
                })
            }
            Ok(Registration::UrlTaken { existing }) => {
                Err(WebhookError::UrlTaken { existing }.into())
            }
            Err(StoreError::NotFound) => Err(ServiceError::CompanyNotFound),
            Err(e) => Err(e.into()),
        }
    }

    fn secret_of(&self, seed: &SigningSeed) -> WebhookSecret {
        WebhookSecret::derive(&self.inner.policy.app_key_secret, seed)
    }

    /// The company's endpoints, oldest first (never their secrets).
    pub async fn webhooks(&self, actor: Actor<'_>) -> Result<Vec<Endpoint>, ServiceError> {
        self.require(actor)?;
        Ok(self.inner.store.webhooks(actor.company()).await?)
    }

    pub async fn webhook(&self, actor: Actor<'_>, id: WebhookId) -> Result<Endpoint, ServiceError> {
        self.require(actor)?;
        self.inner
            .store
            .webhook(actor.company(), id)
            .await?
            .ok_or_else(|| WebhookError::NotFound.into())
    }

    /// Removes an endpoint: nothing more is delivered to it, its delivery log goes with it.
    pub async fn delete_webhook(
        &self,
        actor: Actor<'_>,
        id: WebhookId,
    ) -> Result<(), ServiceError> {
        self.require(actor)?;
        let audit = actor.audit(
            Action::WebhookDelete,
            format!("webhook:{id}"),
            None,
            json!({}),
            self.inner.now(),
        );
        self.inner
            .store
            .delete_webhook(actor.company(), id, &audit)
            .await
            .map_err(not_found)?;
        tracing::info!(webhook_id = %id, by = %actor, "webhook removed");
        Ok(())
    }

    /// Gives the endpoint a new secret, shown in the answer only. Events are signed with it
    /// from the next attempt on, those retried included.
    pub async fn rotate_webhook_secret(
        &self,
        actor: Actor<'_>,
        id: WebhookId,
    ) -> Result<WebhookWithSecret, ServiceError> {
        self.require(actor)?;
        let now = self.inner.now();
        let seed = SigningSeed(rand::random());
        let audit = actor.audit(
            Action::WebhookRotateSecret,
            format!("webhook:{id}"),
            None,
            json!({}),
            now,
        );
        let endpoint = self
            .inner
            .store
            .rotate_webhook_secret(actor.company(), id, &seed, now, &audit)
            .await
            .map_err(not_found)?;
        tracing::info!(webhook_id = %id, by = %actor, "webhook secret rotated");
        Ok(WebhookWithSecret {
            secret: self.secret_of(&seed).whsec(),
            endpoint,
        })
    }

    /// The endpoint's most recent attempts, newest first.
    pub async fn webhook_deliveries(
        &self,
        actor: Actor<'_>,
        id: WebhookId,
        limit: u32,
    ) -> Result<Vec<Attempt>, ServiceError> {
        self.require(actor)?;
        self.inner
            .store
            .webhook_attempts(actor.company(), id, limit.clamp(1, MAX_DELIVERIES_LISTED))
            .await
            .map_err(not_found)
    }

    /// Sends one event to the endpoint again, from its first attempt.
    pub async fn replay_event(
        &self,
        actor: Actor<'_>,
        id: WebhookId,
        event: EventId,
    ) -> Result<(), ServiceError> {
        self.require(actor)?;
        self.webhook(actor, id).await?;
        let now = self.inner.now();
        let audit = actor.audit(
            Action::WebhookReplay,
            format!("webhook:{id}"),
            None,
            json!({"event_id": event.to_string()}),
            now,
        );
        self.inner
            .store
            .replay_event(actor.company(), id, event, now, &audit)
            .await
            .map_err(|e| -> ServiceError {
                match e {
                    StoreError::NotFound => WebhookError::EventNotFound.into(),
                    other => other.into(),
                }
            })?;
        self.inner.deliveries.wake();
        Ok(())
    }

    /// Sends again every kept event since `since` whose type the endpoint takes; returns how
    /// many.
    pub async fn replay_since(
        &self,
        actor: Actor<'_>,
        id: WebhookId,
        since: Timestamp,
    ) -> Result<u64, ServiceError> {
        self.require(actor)?;
        let now = self.inner.now();
        if since > now {
            return Err(ValidationError::new(Field::Since, "must not be in the future").into());
        }
        let audit = actor.audit(
            Action::WebhookReplay,
            format!("webhook:{id}"),
            None,
            json!({"since": plenum_domain::webhooks::rfc3339_ms(since)}),
            now,
        );
        let n = self
            .inner
            .store
            .replay_since(actor.company(), id, since, now, &audit)
            .await
            .map_err(not_found)?;
        self.inner.deliveries.wake();
        Ok(n)
    }

    /// A page of the company's audit log, newest first.
    pub async fn audit_log(
        &self,
        actor: Actor<'_>,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditRecord>, ServiceError> {
        self.require(actor)?;
        filter.check()?;
        Ok(self
            .inner
            .store
            .audit_log(actor.company(), filter, page)
            .await?)
    }

    /// Starts the delivery task (once per server) on its own low-priority thread
    /// ([`DeliveryThread`]). It runs until stopped; what it had not recorded then is
    /// delivered again by the next start.
    pub fn start_delivery(&self) -> std::io::Result<DeliveryThread> {
        let task = DeliveryTask {
            store: self.inner.store.clone(),
            clock: self.inner.clock.clone(),
            policy: self.inner.policy.webhooks.clone(),
            installation: self.inner.policy.app_key_secret.clone(),
            wake: self.inner.deliveries.wake.clone(),
            stats: self.inner.deliveries.stats.clone(),
        };
        DeliveryThread::start(task)
    }

    /// The delivery task's counters since the server started (for the metrics).
    pub fn webhook_counts(&self) -> WebhookCounts {
        self.inner.deliveries.stats.counts()
    }

    /// Retention: forgets webhook events (and attempts) older than the webhooks' retention,
    /// and audit entries older than the audit's. Returns how many of each went.
    pub async fn expire(&self) -> Result<(u64, u64), ServiceError> {
        let now = self.inner.now();
        let events = match now.checked_sub(self.inner.policy.webhooks.retention) {
            Ok(before) => self.inner.store.expire_webhook_events(before).await?,
            Err(_) => 0,
        };
        let audit = match self
            .inner
            .policy
            .audit_retention
            .and_then(|keep| now.checked_sub(keep).ok())
        {
            Some(before) => self.inner.store.expire_audit(before).await?,
            None => 0,
        };
        Ok((events, audit))
    }
}

fn not_found(e: StoreError) -> ServiceError {
    match e {
        StoreError::NotFound => WebhookError::NotFound.into(),
        other => other.into(),
    }
}

/// Refuses a host name that resolves to a private, loopback or link-local address now. A
/// name that does not resolve (yet) is accepted: the delivery task judges its addresses
/// every time it connects.
async fn refuse_private_names(url: &WebhookUrl) -> Result<(), ServiceError> {
    let Ok(parsed) = url::Url::parse(url.as_str()) else {
        return Ok(());
    };
    let Some(url::Host::Domain(name)) = parsed.host() else {
        return Ok(());
    };
    let lookup = tokio::net::lookup_host((name, 0));
    let Ok(Ok(addrs)) = tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await else {
        return Ok(());
    };
    let addrs: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
    if addrs.iter().any(|ip| !is_public(*ip)) {
        return Err(ValidationError::new(
            Field::WebhookUrl,
            "resolves to a private, loopback or link-local address (the server's configuration `webhooks.allow_private` allows them)",
        )
        .into());
    }
    Ok(())
}

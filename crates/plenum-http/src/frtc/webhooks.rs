//! Plenum extensions in the FRTC style: a company's webhook endpoints, their delivery log
//! and replay (`docs/webhooks.md`), and its audit log (`docs/operations.md`).
//!
//! All of them are reserved to SystemAdmins and act on the caller's own company. An
//! endpoint's secret is in the answers of its creation and rotation only. The audit log is
//! read here and nowhere changed.

use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use plenum_domain::audit::{Action, Actor, ActorFilter, AuditFilter, AuditRecord};
use plenum_domain::ids::{EventId, WebhookId};
use plenum_domain::schedule::MeetingNumber;
use plenum_domain::webhooks::Endpoint;
use plenum_domain::{Field, Timestamp, ValidationError};
use plenum_service::{ServiceError, WebhookAttempt as Attempt, WebhookError, WebhookRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ErrorBody, ErrorCode};
use super::{FrtcError, FrtcJson, PagingQuery, UserAdmin, parse_id};
use crate::AppState;

pub const TAG: &str = "Webhooks";
pub const AUDIT_TAG: &str = "Audit";

/// Attempts a delivery log shows unless `limit` says otherwise.
const DEFAULT_DELIVERIES: u32 = 50;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateWebhookRequest {
    /// Where events are posted: an `http` or `https` URL, not a private, loopback or
    /// link-local address (unless the server allows them). A URL is registered once per
    /// company (`409 webhook_exists`).
    url: String,
    /// The event types to receive (`docs/webhooks.md`); left out, every type.
    #[serde(default)]
    event_types: Option<Vec<String>>,
    /// What the endpoint is (shown in lists).
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookResponse {
    webhook_id: String,
    url: String,
    description: String,
    /// The types received; every type when `all_event_types` is true.
    event_types: Vec<&'static str>,
    all_event_types: bool,
    /// `active`, or `failing` once an event's retries ran out (until a delivery succeeds).
    status: &'static str,
    /// Milliseconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    failing_since: Option<i64>,
    created_time: i64,
    secret_rotated_time: i64,
    /// Only in the answers of creation and rotation: the signing secret (`whsec_…`), shown
    /// this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl WebhookResponse {
    fn new(e: &Endpoint, secret: Option<String>) -> Self {
        Self {
            webhook_id: e.id.to_string(),
            url: e.url.to_string(),
            description: e.description.clone(),
            event_types: e.types.names(),
            all_event_types: e.types.is_all(),
            status: if e.failing_since.is_some() {
                "failing"
            } else {
                "active"
            },
            failing_since: e.failing_since.map(|t| t.as_millisecond()),
            created_time: e.created_at.as_millisecond(),
            secret_rotated_time: e.secret_rotated_at.as_millisecond(),
            secret,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    webhooks: Vec<WebhookResponse>,
}

fn webhook_id(raw: &str) -> Result<WebhookId, FrtcError> {
    parse_id(raw, WebhookError::NotFound.into())
}

/// Register a webhook endpoint for the caller's company (SystemAdmins only). The signing
/// secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = TAG,
    security(("token" = [])),
    request_body = CreateWebhookRequest,
    responses(
        (status = 200, body = WebhookResponse),
        (status = 400, description = "invalid_field (url, event_types, description)", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "webhook_exists", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    UserAdmin(who): UserAdmin,
    FrtcJson(req): FrtcJson<CreateWebhookRequest>,
) -> Result<Json<WebhookResponse>, FrtcError> {
    let created = state
        .plenum
        .integrations()
        .create_webhook(
            who.actor(),
            WebhookRequest {
                url: req.url,
                event_types: req.event_types,
                description: req.description,
            },
        )
        .await
        .map_err(url_taken)?;
    Ok(Json(WebhookResponse::new(
        &created.endpoint,
        Some(created.secret),
    )))
}

/// `webhook_exists`, naming the endpoint that has the URL.
fn url_taken(e: ServiceError) -> FrtcError {
    match &e {
        ServiceError::Webhook(WebhookError::UrlTaken { existing }) => FrtcError::new(
            ErrorCode::WebhookExists,
            format!(
                "this URL is registered already, as webhook {existing}; registering it twice is refused (delete it first, or rotate its secret)"
            ),
        ),
        _ => e.into(),
    }
}

/// The company's webhook endpoints, oldest first; never their secrets.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = TAG,
    security(("token" = [])),
    responses((status = 200, body = WebhookList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    UserAdmin(who): UserAdmin,
) -> Result<Json<WebhookList>, FrtcError> {
    let found = state.plenum.integrations().webhooks(who.actor()).await?;
    Ok(Json(WebhookList {
        webhooks: found
            .iter()
            .map(|e| WebhookResponse::new(e, None))
            .collect(),
    }))
}

/// One webhook endpoint.
#[utoipa::path(get, path = "/api/v1/webhooks/{webhook_id}", tag = TAG,
    security(("token" = [])),
    params(("webhook_id" = String, Path)),
    responses((status = 200, body = WebhookResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "webhook_not_found", body = ErrorBody)))]
pub async fn detail(
    State(state): State<AppState>,
    UserAdmin(who): UserAdmin,
    Path(id): Path<String>,
) -> Result<Json<WebhookResponse>, FrtcError> {
    let found = state
        .plenum
        .integrations()
        .webhook(who.actor(), webhook_id(&id)?)
        .await?;
    Ok(Json(WebhookResponse::new(&found, None)))
}

/// Remove a webhook endpoint: nothing more is delivered to it; its delivery log goes with it.
#[utoipa::path(delete, path = "/api/v1/webhooks/{webhook_id}", tag = TAG,
    security(("token" = [])),
    params(("webhook_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "webhook_not_found", body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    UserAdmin(who): UserAdmin,
    Path(id): Path<String>,
) -> Result<StatusCode, FrtcError> {
    state
        .plenum
        .integrations()
        .delete_webhook(who.actor(), webhook_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give the endpoint a new signing secret (in this answer only). Every attempt from now on,
/// retries included, is signed with it.
#[utoipa::path(post, path = "/api/v1/webhooks/{webhook_id}/secret", tag = TAG,
    security(("token" = [])),
    params(("webhook_id" = String, Path)),
    responses((status = 200, body = WebhookResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "webhook_not_found", body = ErrorBody)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    UserAdmin(who): UserAdmin,
    Path(id): Path<String>,
) -> Result<Json<WebhookResponse>, FrtcError> {
    let rotated = state
        .plenum
        .integrations()
        .rotate_webhook_secret(who.actor(), webhook_id(&id)?)
        .await?;
    Ok(Json(WebhookResponse::new(
        &rotated.endpoint,
        Some(rotated.secret),
    )))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// How many of the most recent attempts, 1 to 500. Default 50.
    limit: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryItem {
    event_id: String,
    event_type: &'static str,
    /// 1 for an event's first attempt to this endpoint (a replay starts again at 1).
    attempt: u32,
    /// Milliseconds since the Unix epoch.
    time: i64,
    /// `delivered` (a 2xx answer) or `failed`.
    status: &'static str,
    /// The receiver's HTTP status, when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    response_code: Option<u16>,
    /// Why there was no answer (timeout, connection refused, a refused address…).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    duration_ms: u32,
}

impl From<&Attempt> for DeliveryItem {
    fn from(a: &Attempt) -> Self {
        Self {
            event_id: a.event.to_string(),
            event_type: a.kind.as_str(),
            attempt: a.number,
            time: a.at.as_millisecond(),
            status: if a.delivered { "delivered" } else { "failed" },
            response_code: a.status,
            error: a.error.clone(),
            duration_ms: a.duration_ms,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    deliveries: Vec<DeliveryItem>,
}

/// The endpoint's most recent delivery attempts, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{webhook_id}/deliveries", tag = TAG,
    security(("token" = [])),
    params(("webhook_id" = String, Path), DeliveriesQuery),
    responses((status = 200, body = DeliveryList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, description = "webhook_not_found", body = ErrorBody)))]
pub async fn deliveries(
    State(state): State<AppState>,
    UserAdmin(who): UserAdmin,
    Path(id): Path<String>,
    Query(query): Query<DeliveriesQuery>,
) -> Result<Json<DeliveryList>, FrtcError> {
    let limit = match query.limit.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_DELIVERIES,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=plenum_service::MAX_DELIVERIES_LISTED).contains(n))
            .ok_or_else(|| {
                FrtcError::from(ValidationError::new(
                    Field::PageSize,
                    "limit must be a whole number from 1 to 500",
                ))
            })?,
    };
    let attempts = state
        .plenum
        .integrations()
        .webhook_deliveries(who.actor(), webhook_id(&id)?, limit)
        .await?;
    Ok(Json(DeliveryList {
        deliveries: attempts.iter().map(DeliveryItem::from).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReplayRequest {
    /// One event to send again (its `webhook-id`).
    #[serde(default)]
    event_id: Option<String>,
    /// Or: every kept event since this instant (milliseconds since the Unix epoch) whose type
    /// the endpoint takes.
    #[serde(default)]
    since: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayResponse {
    /// How many events go again.
    replayed: u64,
}

/// Send one event again (`event_id`), or every event since an instant (`since`), from its
/// first attempt; in order per meeting.
#[utoipa::path(post, path = "/api/v1/webhooks/{webhook_id}/replay", tag = TAG,
    security(("token" = [])),
    params(("webhook_id" = String, Path)),
    request_body = ReplayRequest,
    responses((status = 200, body = ReplayResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, description = "webhook_not_found, event_not_found", body = ErrorBody)))]
pub async fn replay(
    State(state): State<AppState>,
    UserAdmin(who): UserAdmin,
    Path(id): Path<String>,
    FrtcJson(req): FrtcJson<ReplayRequest>,
) -> Result<Json<ReplayResponse>, FrtcError> {
    let id = webhook_id(&id)?;
    let integrations = state.plenum.integrations();
    let replayed = match (req.event_id, req.since) {
        (Some(event), None) => {
            let event: EventId = parse_id(&event, WebhookError::EventNotFound.into())?;
            integrations.replay_event(who.actor(), id, event).await?;
            1
        }
        (None, Some(since)) => {
            let since = Timestamp::from_millisecond(since).map_err(|_| {
                FrtcError::from(ValidationError::new(
                    Field::Since,
                    "must be milliseconds since the Unix epoch",
                ))
            })?;
            integrations.replay_since(who.actor(), id, since).await?
        }
        _ => {
            return Err(ValidationError::new(
                Field::Since,
                "give either `event_id` (one event) or `since` (every event since then)",
            )
            .into());
        }
    };
    Ok(Json(ReplayResponse { replayed }))
}

// --- the audit log -------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this actor's actions: a user id, or `operator` (the command line).
    actor: Option<String>,
    /// Only this action (`meeting.mute`, `user.create`, … see docs/operations.md).
    action: Option<String>,
    /// Only actions on this meeting.
    meeting_number: Option<String>,
    /// From this instant on (milliseconds since the Unix epoch, inclusive).
    since: Option<String>,
    /// Before this instant (exclusive).
    until: Option<String>,
}

/// The audit query is an extractor of its own, so a malformed query string is an FRTC
/// `invalid_field` like the rest of the dialect's.
impl<S: Send + Sync> FromRequestParts<S> for AuditQuery {
    type Rejection = FrtcError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Query::<AuditQuery>::try_from_uri(&parts.uri)
            .map(|Query(q)| q)
            .map_err(|e| FrtcError::new(ErrorCode::InvalidField, e.body_text()))
    }
}

fn given(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn instant(raw: &Option<String>, field: Field) -> Result<Option<Timestamp>, FrtcError> {
    given(raw)
        .map(|s| {
            s.parse::<i64>()
                .ok()
                .and_then(|ms| Timestamp::from_millisecond(ms).ok())
                .ok_or_else(|| {
                    FrtcError::from(ValidationError::new(
                        field,
                        "must be milliseconds since the Unix epoch",
                    ))
                })
        })
        .transpose()
}

impl AuditQuery {
    fn filter(&self) -> Result<AuditFilter, FrtcError> {
        Ok(AuditFilter {
            actor: given(&self.actor).map(ActorFilter::parse).transpose()?,
            action: given(&self.action).map(Action::parse).transpose()?,
            meeting: given(&self.meeting_number)
                .map(MeetingNumber::parse)
                .transpose()?,
            since: instant(&self.since, Field::Since)?,
            until: instant(&self.until, Field::Until)?,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditActor {
    /// Absent for the operator.
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    /// The username then, or `operator`.
    name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditItem {
    /// The entry's place in the log (grows with every entry).
    seq: u64,
    /// Milliseconds since the Unix epoch.
    time: i64,
    actor: AuditActor,
    /// The address the request came from (a reverse proxy's, behind one); absent for the
    /// command line.
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    action: &'static str,
    /// What it was done to: `user:<id>`, `participant:<id>[,<id>…]`, `meeting:<number>`,
    /// `webhook:<id>`, `api_key:<id>`, `company:<id>`.
    target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    meeting_number: Option<String>,
    /// What else describes it (never a password, passcode, token or secret).
    #[schema(value_type = Object)]
    details: serde_json::Value,
}

impl From<&AuditRecord> for AuditItem {
    fn from(r: &AuditRecord) -> Self {
        let e = &r.entry;
        Self {
            seq: r.seq,
            time: e.at.as_millisecond(),
            actor: AuditActor {
                user_id: e.actor.user().map(|u| u.to_string()),
                name: match &e.actor {
                    Actor::User { username, .. } => username.clone(),
                    Actor::Operator => e.actor.name().to_owned(),
                },
            },
            address: e.address.map(|a| a.to_string()),
            action: e.action.as_str(),
            target: e.target.clone(),
            meeting_number: e.meeting.as_ref().map(|m| m.to_string()),
            details: serde_json::from_str(&e.details).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    entries: Vec<AuditItem>,
    /// Number of pages at this page size.
    total_page_num: u64,
    /// Number of entries matching the filters.
    total_size: u64,
}

/// The company's audit log, newest first (SystemAdmins only): every host and administrator
/// action, who did it, from which address, to what and when. Nothing changes it.
#[utoipa::path(get, path = "/api/v1/audit", tag = AUDIT_TAG,
    security(("token" = [])),
    params(AuditQuery, PagingQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn audit(
    State(state): State<AppState>,
    UserAdmin(who): UserAdmin,
    query: AuditQuery,
    paging: PagingQuery,
) -> Result<Json<AuditPage>, FrtcError> {
    let page = paging.page()?;
    let filter = query.filter()?;
    let found = state
        .plenum
        .integrations()
        .audit_log(who.actor(), &filter, page)
        .await?;
    Ok(Json(AuditPage {
        total_page_num: found.total_pages(page.limit()),
        total_size: found.total,
        entries: found.items.iter().map(AuditItem::from).collect(),
    }))
}

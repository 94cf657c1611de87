//! The keys and apps integrations authenticate with: bearer API keys (Rokid, Telnyx),
//! Huawei apps and their appauth tokens, and Rocket.Chat's management tokens.

use plenum_domain::audit::Action;
use plenum_store::{Notice, Trail};
use serde_json::json;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::SignedDuration;
use subtle::ConstantTimeEq;

use plenum_domain::Timestamp;
use plenum_domain::api_keys::{ApiKey, ApiKeyKind, AppKeySecret, NewApiKey, appauth_signatures};
use plenum_domain::credentials::TokenHash;
use plenum_domain::ids::{ApiKeyId, CompanyId};
use plenum_store::{AppToken, StoreError};

use crate::tokens::Expiring;
use crate::{Accounts, Actor, HistoryError, Principal, ServiceError, require_record_reader};

/// How long an appauth token lives (Huawei's own tokens live 12 hours, and the official SDK
/// asks for a new one after 12 hours).
pub const APP_TOKEN_LIFETIME: SignedDuration = SignedDuration::from_hours(12);

/// Longest `expireTime` ahead of now an appauth request may carry (the SDK signs for 10
/// minutes; a day leaves room for clock skew without letting a signature live for ever).
const MAX_SIGNATURE_LIFETIME_SECS: i64 = 24 * 3600;

/// Who an integration request speaks for: a company, through one of its keys or a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompanyScope {
    pub company: CompanyId,
}

/// A key just created: its record and the secret, shown this once.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub key: ApiKey,
    /// The bearer key, or the Huawei app key.
    pub secret: String,
}

/// A Huawei appauth request as the official SDK sends it.
#[derive(Debug, Clone)]
pub struct AppAuthRequest {
    pub app_id: String,
    /// The `signature=` of the `Authorization: HMAC-SHA256 ...` header (upper-case hex).
    pub signature: String,
    pub user_id: String,
    pub corp_id: Option<String>,
    /// Unix seconds after which the signature is void.
    pub expire_time: i64,
    pub nonce: String,
}

/// A token issued to an integration.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub company: CompanyId,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A key ends only by being revoked (which evicts it, see `tokens.rs`).
impl Expiring for ApiKey {
    fn is_expired(&self, _now: Timestamp) -> bool {
        false
    }
}

impl Expiring for AppToken {
    fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at <= now
    }
}

fn random_secret() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

fn not_found_as(e: StoreError, mapped: HistoryError) -> ServiceError {
    match e {
        StoreError::NotFound => mapped.into(),
        other => other.into(),
    }
}

impl Accounts<'_> {
    fn app_key_secret(&self) -> &AppKeySecret {
        &self.inner.policy.app_key_secret
    }

    /// Creates an API key or a Huawei app in the actor's company (SystemAdmins, or the
    /// operator). The secret is in the answer and nowhere else.
    pub async fn create_api_key(
        &self,
        actor: Actor<'_>,
        name: String,
        kind: ApiKeyKind,
    ) -> Result<CreatedKey, ServiceError> {
        actor.require_user_admin()?;
        let company = actor.company();
        let now = self.inner.now();
        let id = ApiKeyId::new(now);
        let (secret, seed, app_id) = match kind {
            ApiKeyKind::Bearer => (format!("plk_{}", random_secret()), None, None),
            ApiKeyKind::HuaweiApp => {
                let seed = rand::random::<[u8; 32]>();
                // The app id is public: the key's id without dashes (32 hex digits, the shape
                // of Huawei's own app ids).
                let app_id = id.as_uuid().simple().to_string();
                (
                    self.app_key_secret().app_key(&seed),
                    Some(seed),
                    Some(app_id),
                )
            }
        };
        let key = ApiKey {
            id,
            company,
            name,
            kind,
            prefix: secret.chars().take(8).collect(),
            app_id,
            created_at: now,
            revoked_at: None,
        };
        let trail = Trail::audit(actor.audit(
            Action::ApiKeyCreate,
            format!("api_key:{id}"),
            None,
            json!({"name": key.name, "kind": kind.as_str()}),
            now,
        ));
        self.inner
            .store
            .insert_api_key_with_trail(
                &NewApiKey {
                    key: key.clone(),
                    secret_hash: TokenHash::of(&secret),
                    seed,
                },
                &trail,
            )
            .await?;
        tracing::info!(key_id = %key.id, company_id = %company, kind = %kind, by = %actor, "API key created");
        Ok(CreatedKey { key, secret })
    }

    /// The keys of the actor's company, revoked ones included.
    pub async fn api_keys(&self, actor: Actor<'_>) -> Result<Vec<ApiKey>, ServiceError> {
        actor.require_user_admin()?;
        Ok(self.inner.store.api_keys(actor.company()).await?)
    }

    pub async fn revoke_api_key(
        &self,
        actor: Actor<'_>,
        id: ApiKeyId,
    ) -> Result<ApiKey, ServiceError> {
        actor.require_user_admin()?;
        let company = actor.company();
        let now = self.inner.now();
        let trail = Trail::audit(actor.audit(
            Action::ApiKeyRevoke,
            format!("api_key:{id}"),
            None,
            json!({}),
            now,
        ));
        let key = self
            .inner
            .store
            .revoke_api_key_with_trail(company, id, now, &trail)
            .await
            .map_err(|e| not_found_as(e, HistoryError::ApiKeyNotFound))?;
        // The key and every token issued through it end at once.
        self.inner.forget(&Notice::ApiKey(id));
        self.inner.announce(Notice::ApiKey(id)).await;
        tracing::info!(key_id = %id, company_id = %company, by = %actor, "API key revoked");
        Ok(key)
    }

    pub async fn authenticate_api_key(&self, raw: &str) -> Result<CompanyScope, ServiceError> {
        if raw.is_empty() {
            return Err(ServiceError::TokenMissing);
        }
        let hash = TokenHash::of(raw);
        let now = self.inner.now();
        if let Some(key) = self.inner.api_keys.get(&hash, now) {
            return Ok(CompanyScope {
                company: key.company,
            });
        }
        match self.inner.store.api_key_by_hash(&hash).await? {
            Some(key) if key.kind == ApiKeyKind::Bearer && !key.is_revoked() => {
                let scope = CompanyScope {
                    company: key.company,
                };
                self.inner.api_keys.put(hash, Arc::new(key), now);
                Ok(scope)
            }
            _ => {
                self.inner.api_keys.remove(&hash);
                Err(ServiceError::TokenInvalid)
            }
        }
    }

    /// Huawei appauth: checks the HMAC-SHA256 signature the official SDK computes with the app
    /// key and issues a company-scoped access token.
    pub async fn app_auth(&self, request: &AppAuthRequest) -> Result<IssuedToken, ServiceError> {
        let refused = |why| ServiceError::from(HistoryError::AppAuthFailed(why));
        let app = self
            .inner
            .store
            .huawei_app(&request.app_id)
            .await?
            .filter(|app| !app.key.is_revoked())
            .ok_or_else(|| refused("unknown or revoked app id"))?;
        let now = self.inner.now();
        let now_secs = now.as_second();
        if request.expire_time <= now_secs {
            return Err(refused("the signature has expired (expireTime is past)"));
        }
        if request.expire_time > now_secs + MAX_SIGNATURE_LIFETIME_SECS {
            return Err(refused("expireTime is too far in the future"));
        }
        let app_key = self.app_key_secret().app_key(&app.seed);
        if TokenHash::of(&app_key) != app.secret_hash {
            // The installation secret changed since the app was created: its key is void.
            return Err(refused("the app key is no longer valid; create a new app"));
        }
        // The multi-tenant form names the company (`corpId`, as account tokens' `user.corpId`
        // shows it): it must be the app's own.
        if let Some(corp) = request.corp_id.as_deref().filter(|c| !c.trim().is_empty()) {
            let same = corp
                .trim()
                .parse::<CompanyId>()
                .is_ok_and(|c| c == app.key.company);
            if !same {
                return Err(refused("corpId is not the app's company"));
            }
        }
        let given = request.signature.to_ascii_uppercase();
        let valid = appauth_signatures(
            &app_key,
            &request.app_id,
            request.corp_id.as_deref(),
            &request.user_id,
            request.expire_time,
            &request.nonce,
        )
        .iter()
        .any(|expected| bool::from(expected.as_bytes().ct_eq(given.as_bytes())));
        if !valid {
            return Err(refused("the signature does not match"));
        }
        let token = random_secret();
        let expires_at = now
            .checked_add(APP_TOKEN_LIFETIME)
            .unwrap_or(Timestamp::MAX);
        self.inner
            .store
            .insert_app_token(&AppToken {
                hash: TokenHash::of(&token),
                company: app.key.company,
                key: app.key.id,
                issued_at: now,
                expires_at,
            })
            .await?;
        tracing::info!(key_id = %app.key.id, "app token issued");
        Ok(IssuedToken {
            token,
            company: app.key.company,
            issued_at: now,
            expires_at,
        })
    }

    /// The company an `X-Access-Token` speaks for: an appauth token, or the access token of a
    /// user who may see the company's meeting records (a MeetingOperator or SystemAdmin;
    /// others are refused with `PermissionDenied`).
    pub async fn authenticate_management_token(
        &self,
        raw: &str,
    ) -> Result<CompanyScope, ServiceError> {
        if raw.is_empty() {
            return Err(ServiceError::TokenMissing);
        }
        let hash = TokenHash::of(raw);
        let now = self.inner.now();
        if let Some(token) = self.inner.app_tokens.get(&hash, now) {
            return Ok(CompanyScope {
                company: token.company,
            });
        }
        if let Some(principal) = self.cached_principal(&hash, now) {
            // A user's token (app and user tokens are distinct random secrets).
            require_record_reader(&principal)?;
            return Ok(CompanyScope {
                company: principal.company(),
            });
        }
        if let Some(token) = self.inner.store.app_token(&hash).await? {
            if token.expires_at <= now {
                self.inner.app_tokens.remove(&hash);
                return Err(ServiceError::TokenExpired);
            }
            let scope = CompanyScope {
                company: token.company,
            };
            self.inner.app_tokens.put(hash, Arc::new(token), now);
            return Ok(scope);
        }
        self.inner.app_tokens.remove(&hash);
        let principal: Arc<Principal> = self.authenticate(raw).await?;
        require_record_reader(&principal)?;
        Ok(CompanyScope {
            company: principal.company(),
        })
    }

    pub async fn purge_expired_app_tokens(&self) -> Result<u64, ServiceError> {
        Ok(self
            .inner
            .store
            .delete_expired_app_tokens(self.inner.now())
            .await?)
    }
}

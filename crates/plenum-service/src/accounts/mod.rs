//! Accounts: the installation's first start, sign-in and tokens, users, companies and
//! capacity. The keys and apps integrations authenticate with are in `keys.rs`.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use plenum_domain::Timestamp;
use plenum_domain::audit::Action;
use plenum_domain::company::{Company, CompanyChanges, CompanyName, NewCompany, TimeZoneName};
use plenum_domain::credentials::{Password, Secret, SecurityLevel, TokenHash};
use plenum_domain::ids::{CompanyId, UserId};
use plenum_domain::limits::Attempts;
use plenum_domain::paging::{Page, PageRequest};
use plenum_domain::sign_in::AccessTokenRecord;
use plenum_domain::user::{NewUser, Profile, Role, User, UserChanges, Username};
use plenum_domain::{Field, Rule, ValidationError};
use plenum_store::{Notice, SignInRecord, StoreError, Trail};
use serde_json::json;

use crate::webhooks::events;
use crate::{Accounts, Actor, Principal, ServiceError};

mod keys;

pub use keys::{APP_TOKEN_LIFETIME, AppAuthRequest, CompanyScope, CreatedKey, IssuedToken};

#[derive(Debug, Clone)]
pub enum Credential {
    Secret(Secret),
    Password(Password),
}

#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: String,
    pub user: User,
    pub password_expires_in_days: i64,
}

#[derive(Debug, Clone)]
pub struct NewUserRequest {
    pub username: Username,
    pub profile: Profile,
    pub role: Role,
    pub credential: Credential,
}

#[derive(Debug, Clone)]
pub struct NewCompanyRequest {
    pub name: CompanyName,
    pub time_zone: TimeZoneName,
    pub max_users: Option<u32>,
    pub admin: NewUserRequest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub max_calls: u32,
    pub current_calls: u32,
    pub gateway_max_calls: u32,
    pub gateway_current_calls: u32,
    pub max_users: u32,
    pub current_users: u64,
}

#[derive(Debug, Clone)]
pub enum BootstrapOutcome {
    /// The installation already existed; nothing was changed.
    AlreadyInitialised,
    /// The default company and its `admin` were created. `generated_password` is set when no
    /// password was configured: it must be shown to the operator once, and is kept nowhere.
    Initialised(Box<Initialised>),
}

#[derive(Debug, Clone)]
pub struct Initialised {
    pub company: Company,
    pub admin: User,
    pub generated_password: Option<String>,
}

/// An account locked until `until`, as answered at `now`.
fn account_locked(until: Timestamp, now: Timestamp) -> ServiceError {
    ServiceError::AccountLocked {
        retry_after_secs: until.duration_since(now).as_secs().max(1).unsigned_abs(),
    }
}

/// The most holders of one e-mail address a sign-in by that address tries (each costs an
/// Argon2 verification).
const MAX_ADDRESS_HOLDERS: u32 = 4;

/// Name of the first SystemAdmin of the default company.
pub const BOOTSTRAP_ADMIN: &str = "admin";
const DEFAULT_COMPANY_NAME: &str = "Default";

fn new_access_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// A strong password for an account whose owner did not choose one.
pub fn generate_password() -> String {
    // 18 random bytes → 24 characters of base64url: 144 bits, far beyond guessing.
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 18]>())
}

impl Accounts<'_> {
    fn secret_of(&self, credential: &Credential) -> Secret {
        match credential {
            Credential::Secret(s) => s.clone(),
            Credential::Password(p) => Secret::from_password(p, &self.inner.policy.secret_salt),
        }
    }

    /// The Argon2id hash to store for a credential being set, and the strength we can tell.
    async fn hash_credential(
        &self,
        credential: &Credential,
    ) -> Result<(String, SecurityLevel), ServiceError> {
        let level = match credential {
            Credential::Secret(_) => SecurityLevel::Unknown,
            Credential::Password(p) => p.security_level(),
        };
        let hash = self.inner.hasher.hash(self.secret_of(credential)).await?;
        Ok((hash, level))
    }

    async fn new_user(
        &self,
        company: CompanyId,
        request: &NewUserRequest,
    ) -> Result<NewUser, ServiceError> {
        let (secret_hash, security_level) = self.hash_credential(&request.credential).await?;
        let now = self.inner.now();
        Ok(NewUser {
            id: UserId::new(now),
            company_id: company,
            username: request.username.clone(),
            profile: request.profile.clone(),
            role: request.role,
            secret_hash,
            security_level,
            created_at: now,
        })
    }

    async fn default_company_id(&self) -> Result<Option<CompanyId>, ServiceError> {
        Ok(self.inner.store.default_company().await?.map(|c| c.id))
    }

    // --- installation --------------------------------------------------------------------

    /// Creates the default company and its `admin` on first start. `admin_password` is used
    /// only then; on later starts it is ignored (use `plenum user reset-password`).
    pub async fn bootstrap(
        &self,
        admin_password: Option<Password>,
    ) -> Result<BootstrapOutcome, ServiceError> {
        if self.inner.store.default_company().await?.is_some() {
            return Ok(BootstrapOutcome::AlreadyInitialised);
        }
        let (password, generated) = match admin_password {
            Some(p) => (p, None),
            None => {
                let raw = generate_password();
                (Password::parse_new(&raw)?, Some(raw))
            }
        };
        let now = self.inner.now();
        let company = NewCompany {
            id: CompanyId::new(now),
            name: CompanyName::parse(DEFAULT_COMPANY_NAME)?,
            time_zone: TimeZoneName::utc(),
            max_users: self.inner.policy.default_max_users,
            is_default: true,
            created_at: now,
        };
        let admin = self
            .new_user(
                company.id,
                &NewUserRequest {
                    username: Username::parse(BOOTSTRAP_ADMIN)?,
                    profile: Profile {
                        real_name: "Administrator".to_owned(),
                        ..Profile::default()
                    },
                    role: Role::SystemAdmin,
                    credential: Credential::Password(password),
                },
            )
            .await?;
        match self.inner.store.create_company(&company, &admin).await {
            Ok(company) => {
                let admin = self
                    .inner
                    .store
                    .user(company.id, admin.id)
                    .await?
                    .ok_or(ServiceError::UserNotFound)?;
                Ok(BootstrapOutcome::Initialised(Box::new(Initialised {
                    company,
                    admin,
                    generated_password: generated,
                })))
            }
            // Another process initialised the same data directory in the meantime.
            Err(StoreError::CompanyNameTaken) | Err(StoreError::UsernameTaken) => {
                Ok(BootstrapOutcome::AlreadyInitialised)
            }
            Err(e) => Err(e.into()),
        }
    }

    // --- sign-in and tokens --------------------------------------------------------------

    /// Signs in with a login that is a username or, as Rocket.Chat's login allows, an e-mail
    /// address. A login that names nobody costs a decoy verification, as an unknown username
    /// does.
    pub async fn sign_in_by_login(
        &self,
        login: &str,
        credential: Credential,
        client_id: Option<String>,
    ) -> Result<SignedIn, ServiceError> {
        // An address first: usernames may contain '@' too, and then name themselves.
        if login.contains('@') {
            let holders = self
                .inner
                .store
                .usernames_by_email(login, MAX_ADDRESS_HOLDERS)
                .await?;
            match holders.as_slice() {
                [] => {}
                [one] => return self.sign_in(one, credential, client_id).await,
                several => return self.sign_in_one_of(several, credential, client_id).await,
            }
        }
        match Username::parse(login).ok() {
            Some(username) => self.sign_in(&username, credential, client_id).await,
            None => {
                self.inner
                    .hasher
                    .verify_decoy(self.secret_of(&credential))
                    .await?;
                Err(ServiceError::InvalidCredentials)
            }
        }
    }

    /// Signs in the one holder of a shared e-mail address whose credential it is. Addresses
    /// are not unique (companies do not see each other's users), so an address naming
    /// nobody when shared would let anyone who can create a user with someone's address
    /// stop that person's e-mail login, and learn from it that the address exists. Locked
    /// accounts are not tried; a wrong credential counts as a failure for each holder tried,
    /// as it would for one; a credential that fits two holders signs in neither.
    async fn sign_in_one_of(
        &self,
        holders: &[Username],
        credential: Credential,
        client_id: Option<String>,
    ) -> Result<SignedIn, ServiceError> {
        let secret = self.secret_of(&credential);
        let now = self.inner.now();
        let mut fitting = Vec::new();
        let mut wrong = Vec::new();
        let mut locked_until = None::<Timestamp>;
        for name in holders {
            let Some(record) = self.inner.store.sign_in_record(name).await? else {
                continue;
            };
            if let Err(until) = record.throttle.check(now) {
                locked_until = Some(locked_until.map_or(until, |u| u.min(until)));
                continue;
            }
            if self
                .inner
                .hasher
                .verify(secret.clone(), record.secret_hash.clone())
                .await?
            {
                fitting.push(record);
            } else {
                wrong.push(record.user.id);
            }
        }
        if fitting.len() == 1
            && let Some(record) = fitting.pop()
        {
            return self.signed_in(record, client_id).await;
        }
        for user in wrong {
            self.inner
                .store
                .record_sign_in_failure(user, &self.inner.policy.lockout, self.inner.now())
                .await?;
        }
        match (fitting.is_empty(), locked_until) {
            (true, Some(until)) => Err(account_locked(until, now)),
            _ => Err(ServiceError::InvalidCredentials),
        }
    }

    pub async fn sign_in(
        &self,
        username: &Username,
        credential: Credential,
        client_id: Option<String>,
    ) -> Result<SignedIn, ServiceError> {
        let secret = self.secret_of(&credential);
        let Some(record) = self.inner.store.sign_in_record(username).await? else {
            // Answered as an account's would be, lock included, on every node
            // (`Attempts::UnknownUsername`).
            let key = Attempts::UnknownUsername(username).key();
            let now = self.inner.now();
            self.inner
                .failed_attempts(&key, now)
                .await?
                .map_err(|until| account_locked(until, now))?;
            self.inner.hasher.verify_decoy(secret).await?;
            self.inner.count_failed_attempt(&key).await;
            return Err(ServiceError::InvalidCredentials);
        };
        let now = self.inner.now();
        record
            .throttle
            .check(now)
            .map_err(|until| account_locked(until, now))?;
        if !self
            .inner
            .hasher
            .verify(secret, record.secret_hash.clone())
            .await?
        {
            self.inner
                .store
                .record_sign_in_failure(
                    record.user.id,
                    &self.inner.policy.lockout,
                    self.inner.now(),
                )
                .await?;
            tracing::info!(user_id = %record.user.id, "sign-in refused: wrong credential");
            return Err(ServiceError::InvalidCredentials);
        }
        self.signed_in(record, client_id).await
    }

    /// The end of a sign-in whose credential was right: failures cleared, a token issued.
    async fn signed_in(
        &self,
        record: SignInRecord,
        client_id: Option<String>,
    ) -> Result<SignedIn, ServiceError> {
        if record.throttle.consecutive_failures > 0 {
            self.inner
                .store
                .clear_sign_in_failures(record.user.id)
                .await?;
        }
        let now = self.inner.now();
        let token = new_access_token();
        let expires_at = now
            .checked_add(self.inner.policy.token_lifetime)
            .unwrap_or(Timestamp::MAX);
        self.inner
            .store
            .insert_token(&AccessTokenRecord {
                hash: TokenHash::of(&token),
                user_id: record.user.id,
                company_id: record.user.company_id,
                client_id,
                issued_at: now,
                expires_at,
            })
            .await?;
        tracing::info!(user_id = %record.user.id, "signed in");
        Ok(SignedIn {
            token,
            password_expires_in_days: self.password_expires_in_days(&record.user),
            user: record.user,
        })
    }

    pub fn password_expires_in_days(&self, user: &User) -> i64 {
        plenum_domain::credentials::days_until_password_expiry(
            user.secret_changed_at,
            self.inner.policy.password_lifetime_days,
            self.inner.now(),
        )
    }

    /// Who holds the token with this hash, if it was checked recently (no store read).
    pub(crate) fn cached_principal(
        &self,
        hash: &TokenHash,
        now: Timestamp,
    ) -> Option<Arc<Principal>> {
        self.inner.tokens.get(hash, now)
    }

    /// Who holds this token. Answered from memory when the token was checked recently.
    pub async fn authenticate(&self, token: &str) -> Result<Arc<Principal>, ServiceError> {
        if token.is_empty() {
            return Err(ServiceError::TokenMissing);
        }
        let hash = TokenHash::of(token);
        let now = self.inner.now();
        if let Some(principal) = self.cached_principal(&hash, now) {
            return Ok(principal);
        }
        let Some(found) = self.inner.store.token(&hash).await? else {
            self.inner.tokens.remove(&hash);
            return Err(ServiceError::TokenInvalid);
        };
        if found.token.is_expired(now) {
            self.inner.tokens.remove(&hash);
            return Err(ServiceError::TokenExpired);
        }
        let platform_operator = found.user.role == Role::SystemAdmin
            && self.default_company_id().await? == Some(found.user.company_id);
        let principal = Arc::new(Principal {
            user: found.user,
            token: found.token,
            platform_operator,
        });
        self.inner
            .tokens
            .put(principal.token.hash, principal.clone(), now);
        Ok(principal)
    }

    /// Ends the token at once: the next request with it is refused.
    pub async fn sign_out(&self, principal: &Principal) -> Result<(), ServiceError> {
        let notice = Notice::Token(principal.token.hash);
        self.inner.forget(&notice);
        self.inner.store.delete_token(&principal.token.hash).await?;
        self.inner.announce(notice).await;
        tracing::info!(user_id = %principal.user.id, "signed out");
        Ok(())
    }

    /// Changes one's own credential. Every other token of the user stops working; the one
    /// used for this request stays valid.
    pub async fn change_own_credential(
        &self,
        principal: &Principal,
        old: Credential,
        new: Credential,
    ) -> Result<(), ServiceError> {
        let user = principal.user.id;
        let current = self
            .inner
            .store
            .secret_hash(user)
            .await?
            .ok_or(ServiceError::UserNotFound)?;
        if !self
            .inner
            .hasher
            .verify(self.secret_of(&old), current.clone())
            .await?
        {
            // A stolen token must not become an oracle for guessing the password.
            self.inner
                .store
                .record_sign_in_failure(user, &self.inner.policy.lockout, self.inner.now())
                .await?;
            return Err(ServiceError::WrongOldCredential);
        }
        let secret = self.hash_credential(&new).await?;
        // Written only if the hash the old credential was just verified against is still the
        // user's: another change (this user's own, or an administrator's reset) committed
        // meanwhile makes the old credential a wrong one, and must not be overwritten.
        if !self
            .inner
            .store
            .change_secret(
                principal.company(),
                user,
                &current,
                &secret,
                self.inner.now(),
            )
            .await?
        {
            return Err(ServiceError::WrongOldCredential);
        }
        self.inner
            .store
            .delete_user_tokens(user, Some(&principal.token.hash))
            .await?;
        self.inner.forget(&Notice::User(user));
        self.inner.announce(Notice::User(user)).await;
        tracing::info!(user_id = %user, "credential changed");
        Ok(())
    }

    // --- users ---------------------------------------------------------------------------

    /// Creates a user in the actor's company (SystemAdmins, or the operator).
    pub async fn create_user(
        &self,
        actor: Actor<'_>,
        request: NewUserRequest,
    ) -> Result<User, ServiceError> {
        actor.require_user_admin()?;
        let user = self.new_user(actor.company(), &request).await?;
        let now = self.inner.now();
        let trail = Trail::audit(actor.audit(
            Action::UserCreate,
            format!("user:{}", user.id),
            None,
            json!({"username": user.username.as_str(), "role": user.role.as_str()}),
            now,
        ))
        .with_event(events::user_created(&as_created(&user)));
        let created = self
            .inner
            .store
            .create_user_with_trail(&user, &trail)
            .await?;
        tracing::info!(user_id = %created.id, by = %actor, role = %created.role, "user created");
        Ok(created)
    }

    /// Changes a user of the actor's company (SystemAdmins, or the operator). A new
    /// credential ends every session of the user.
    pub async fn update_user(
        &self,
        actor: Actor<'_>,
        id: UserId,
        changes: UserChanges,
    ) -> Result<User, ServiceError> {
        actor.require_user_admin()?;
        if changes.is_empty() {
            return Err(ServiceError::NothingToChange);
        }
        self.apply_user_changes(actor, id, changes).await
    }

    async fn apply_user_changes(
        &self,
        actor: Actor<'_>,
        id: UserId,
        changes: UserChanges,
    ) -> Result<User, ServiceError> {
        let resets_secret = changes.secret.is_some();
        let now = self.inner.now();
        // Which fields changed, never their values (a password reset says only that).
        let fields: Vec<&str> = [
            ("real_name", changes.real_name.is_some()),
            ("email", changes.email.is_some()),
            ("department", changes.department.is_some()),
            ("mobile", changes.mobile.is_some()),
            ("role", changes.role.is_some()),
            ("password", resets_secret),
        ]
        .into_iter()
        .filter_map(|(name, changed)| changed.then_some(name))
        .collect();
        let mut details = json!({ "fields": fields });
        if let Some(role) = changes.role {
            details["role"] = json!(role.as_str());
        }
        let action = if resets_secret {
            Action::UserPasswordReset
        } else {
            Action::UserUpdate
        };
        let trail = Trail::audit(actor.audit(action, format!("user:{id}"), None, details, now));
        let updated = self
            .inner
            .store
            .update_user_with_trail(actor.company(), id, &changes, now, &trail)
            .await?;
        if resets_secret {
            // A credential set by someone else ends every session of the user.
            self.inner.store.delete_user_tokens(id, None).await?;
        }
        self.inner.forget(&Notice::User(id));
        self.inner.announce(Notice::User(id)).await;
        tracing::info!(user_id = %id, "user updated");
        Ok(updated)
    }

    /// Turns a credential being set into the stored form, for callers that build
    /// [`UserChanges`] (the FRTC update call, the CLI's reset-password).
    pub async fn credential_change(
        &self,
        credential: &Credential,
    ) -> Result<(String, SecurityLevel), ServiceError> {
        self.hash_credential(credential).await
    }

    /// The company whose users `user/public/users` lists: the caller's, or the default company
    /// for an anonymous caller when the public directory is enabled.
    pub async fn directory_company(
        &self,
        caller: Option<&Principal>,
    ) -> Result<CompanyId, ServiceError> {
        match caller {
            Some(p) => Ok(p.company()),
            None if self.inner.policy.public_user_directory => self
                .default_company_id()
                .await?
                .ok_or(ServiceError::CompanyNotFound),
            None => Err(ServiceError::TokenMissing),
        }
    }

    pub async fn find_users(
        &self,
        company: CompanyId,
        filter: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<User>, ServiceError> {
        Ok(self.inner.store.find_users(company, filter, page).await?)
    }

    /// A user of the actor's company: SystemAdmins may look at anyone, others at themselves.
    pub async fn user(&self, actor: &Principal, id: UserId) -> Result<User, ServiceError> {
        if id != actor.user.id {
            actor.require_user_admin()?;
        }
        self.inner
            .store
            .user(actor.company(), id)
            .await?
            .ok_or(ServiceError::UserNotFound)
    }

    // --- companies -----------------------------------------------------------------------

    /// Creates a company and its first SystemAdmin (platform operators, or the operator).
    pub async fn create_company(
        &self,
        actor: Actor<'_>,
        request: NewCompanyRequest,
    ) -> Result<(Company, User), ServiceError> {
        actor.require_platform_operator()?;
        let now = self.inner.now();
        let company = NewCompany {
            id: CompanyId::new(now),
            name: request.name,
            time_zone: request.time_zone,
            max_users: request
                .max_users
                .unwrap_or(self.inner.policy.default_max_users),
            is_default: false,
            created_at: now,
        };
        let mut admin_request = request.admin;
        admin_request.role = Role::SystemAdmin;
        let admin = self.new_user(company.id, &admin_request).await?;
        let trail = Trail::audit(actor.audit(
            Action::CompanyCreate,
            format!("company:{}", company.id),
            None,
            json!({"name": company.name.as_str(), "admin": admin.username.as_str()}),
            now,
        ));
        let company = self
            .inner
            .store
            .create_company_with_trail(&company, &admin, &trail)
            .await?;
        let admin = self
            .inner
            .store
            .user(company.id, admin.id)
            .await?
            .ok_or(ServiceError::UserNotFound)?;
        tracing::info!(company_id = %company.id, admin_id = %admin.id, by = %actor, "company created");
        Ok((company, admin))
    }

    /// Changes a company's settings. Its name and time zone: its SystemAdmins or a platform
    /// operator. Its licence (`max_users`): a platform operator only, and never below the
    /// users the company has. The entry in the audit log is the company's own.
    pub async fn update_company(
        &self,
        actor: Actor<'_>,
        id: CompanyId,
        changes: CompanyChanges,
    ) -> Result<Company, ServiceError> {
        let operator = actor.require_platform_operator().is_ok();
        if !operator {
            actor.require_user_admin()?;
            if actor.company() != id {
                // Another company's settings are none of its admins' business: not found,
                // as for every id of another company.
                return Err(ServiceError::CompanyNotFound);
            }
            if changes.max_users.is_some() {
                return Err(ServiceError::PermissionDenied(
                    "only a platform operator changes a company's licence (max_users)",
                ));
            }
        }
        if changes.is_empty() {
            return Err(ValidationError::breaks(
                Rule::Missing,
                Field::CompanyName,
                "nothing to change: give name, time_zone or max_users",
            )
            .into());
        }
        if let Some(max_users) = changes.max_users {
            let users = self.inner.store.count_users(id).await?;
            if u64::from(max_users) < users {
                return Err(ValidationError::breaks(
                    Rule::OutOfRange,
                    Field::MaxUsers,
                    format!("the company has {users} users; max_users cannot be fewer"),
                )
                .into());
            }
        }
        let now = self.inner.now();
        let mut fields = Vec::new();
        if changes.name.is_some() {
            fields.push("name");
        }
        if changes.time_zone.is_some() {
            fields.push("time_zone");
        }
        if changes.max_users.is_some() {
            fields.push("max_users");
        }
        let mut entry = actor.audit(
            Action::CompanyUpdate,
            format!("company:{id}"),
            None,
            json!({"fields": fields}),
            now,
        );
        entry.company = id;
        let company = self
            .inner
            .store
            .update_company_with_trail(id, &changes, &Trail::audit(entry))
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ServiceError::CompanyNotFound,
                other => other.into(),
            })?;
        let notice = Notice::Company(id);
        self.inner.forget(&notice);
        self.inner.announce(notice).await;
        tracing::info!(company_id = %id, ?fields, by = %actor, "company updated");
        Ok(company)
    }

    pub async fn companies(&self, actor: &Principal) -> Result<Vec<Company>, ServiceError> {
        actor.require_platform_operator()?;
        Ok(self.inner.store.companies().await?)
    }

    pub async fn company(&self, id: CompanyId) -> Result<Company, ServiceError> {
        let now = self.inner.now();
        if let Some(company) = self.inner.companies.get(&id, now) {
            return Ok(Company::clone(&company));
        }
        let company = self
            .inner
            .store
            .company(id)
            .await?
            .ok_or(ServiceError::CompanyNotFound)?;
        self.inner.companies.put(id, Arc::new(company.clone()), now);
        Ok(company)
    }

    // --- system --------------------------------------------------------------------------

    /// Limits and usage as the caller's company sees them. Calls are installation-wide (they
    /// share the machine); users are counted per company (each has its own licence).
    pub async fn capacity(&self, actor: &Principal) -> Result<Capacity, ServiceError> {
        let company = self.company(actor.company()).await?;
        let current_users = self.inner.store.count_users(company.id).await?;
        let policy = &self.inner.policy;
        Ok(Capacity {
            max_calls: policy.max_calls,
            // Participants in running meetings, across the installation (max_calls is too).
            current_calls: self.inner.live.current_calls(),
            gateway_max_calls: policy.gateway_max_calls,
            gateway_current_calls: 0,
            max_users: company.max_users,
            current_users,
        })
    }

    /// A user by username, in any company for the operator, in their own for a user: the
    /// CLI's way to name a user (`user reset-password NAME`). Usernames are unique across the
    /// installation.
    pub async fn user_by_username(
        &self,
        actor: Actor<'_>,
        username: &Username,
    ) -> Result<User, ServiceError> {
        actor.require_user_admin()?;
        let record = self
            .inner
            .store
            .sign_in_record(username)
            .await?
            .filter(|r| matches!(actor, Actor::Operator(_)) || r.user.company_id == actor.company())
            .ok_or(ServiceError::UserNotFound)?;
        Ok(record.user)
    }

    /// Removes expired tokens from the store; the server calls this periodically.
    pub async fn purge_expired_tokens(&self) -> Result<u64, ServiceError> {
        Ok(self
            .inner
            .store
            .delete_expired_tokens(self.inner.now())
            .await?)
    }
}

/// The user the store reports right after creating `new` (for the `user.created` event,
/// written with it).
fn as_created(new: &NewUser) -> User {
    User {
        id: new.id,
        company_id: new.company_id,
        username: new.username.clone(),
        profile: new.profile.clone(),
        role: new.role,
        security_level: new.security_level,
        secret_changed_at: new.created_at,
        created_at: new.created_at,
    }
}

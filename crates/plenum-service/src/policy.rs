//! The installation's rules that come from configuration.

use jiff::SignedDuration;

use plenum_domain::sign_in::LockoutPolicy;

/// The installation's rules that come from configuration.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The salt of FRTC's `secret = sha1(password + salt)`, for clients that send a plain
    /// password. Must stay the same for the life of an installation.
    pub secret_salt: String,
    pub token_lifetime: SignedDuration,
    /// How long a cached token check is trusted before the store is asked again.
    pub token_revalidate_after: SignedDuration,
    pub token_cache_entries: usize,
    pub lockout: LockoutPolicy,
    /// Days a credential is valid before FRTC's `password_expired_time` reaches 0.
    pub password_lifetime_days: u32,
    /// `max_users` given to companies created without one.
    pub default_max_users: u32,
    /// Concurrent call legs the installation allows (FRTC `capacity.system.max_calls`).
    pub max_calls: u32,
    /// Concurrent call legs through SIP/H.323 gateways; Plenum has no gateway yet.
    pub gateway_max_calls: u32,
    /// Whether `user/public/users` answers without a token (the default company's directory,
    /// as the FRTC document's "SignedIn False" says), or requires sign-in.
    pub public_user_directory: bool,
    /// Base of the links the server hands out (join and live URLs), without a trailing `/`.
    pub public_url: String,
    /// Most occurrences one recurring series may have.
    pub max_occurrences: usize,
    /// How running meetings behave (heartbeats, ticks, sizes).
    pub live: crate::LivePolicy,
    /// What Huawei app keys are derived from (see `plenum_domain::api_keys`). The server loads
    /// it from the data directory; the default is random, so keys made under it die with the
    /// process.
    pub app_key_secret: plenum_domain::api_keys::AppKeySecret,
    /// How webhooks are delivered, and how long their events are kept.
    pub webhooks: crate::WebhookPolicy,
    /// How long audit entries are kept; `None` keeps them for ever.
    pub audit_retention: Option<SignedDuration>,
    /// This server as a node of several sharing one database (config `node_address`): its
    /// running meetings are leased (docs/scaling.md). `None`: the only server.
    pub node: Option<plenum_domain::nodes::NodeRef>,
    /// How long a meeting's lease lasts unrenewed (config `node_lease_secs`).
    pub lease_terms: plenum_domain::nodes::LeaseTerms,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            secret_salt: "plenum".to_owned(),
            token_lifetime: SignedDuration::from_hours(24),
            token_revalidate_after: SignedDuration::from_secs(10),
            token_cache_entries: 100_000,
            lockout: LockoutPolicy::default(),
            password_lifetime_days: 90,
            default_max_users: 1000,
            max_calls: 1000,
            gateway_max_calls: 0,
            public_user_directory: true,
            public_url: "http://127.0.0.1:7480".to_owned(),
            max_occurrences: plenum_domain::recurrence::MAX_OCCURRENCES,
            live: crate::LivePolicy::default(),
            app_key_secret: plenum_domain::api_keys::AppKeySecret(rand::random()),
            webhooks: crate::WebhookPolicy::default(),
            audit_retention: Some(SignedDuration::from_hours(24 * 365)),
            node: None,
            lease_terms: plenum_domain::nodes::LeaseTerms::DEFAULT,
        }
    }
}

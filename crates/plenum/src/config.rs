//! Configuration: built-in defaults, then a TOML file, then `PLENUM_*` environment variables,
//! then command-line flags. Each later source overrides the earlier ones, field by field.
//!
//! clap resolves flag-over-environment for each option (`#[arg(env = ...)]`); this module
//! layers the result over the file and the defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use jiff::SignedDuration;
use plenum_domain::sign_in::LockoutPolicy;
use plenum_service::{LivePolicy, Policy};
pub use plenum_store_sqlite::Durability;
use serde::Deserialize;

pub const DEFAULT_DATA_DIR: &str = "./plenum-data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7480";

/// The TOML file. Every key is optional; see `docs/configuration.md`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub public_url: Option<String>,
    pub log_format: Option<LogFormat>,
    pub durability: Option<DurabilitySetting>,
    pub secret_salt: Option<String>,
    pub token_lifetime_secs: Option<u64>,
    pub token_revalidate_secs: Option<u64>,
    pub password_lifetime_days: Option<u32>,
    pub default_max_users: Option<u32>,
    pub max_calls: Option<u32>,
    pub public_user_directory: Option<bool>,
    pub lockout_free_attempts: Option<u32>,
    pub lockout_base_secs: Option<u64>,
    pub lockout_max_secs: Option<u64>,
    pub heartbeat_interval_secs: Option<u64>,
    pub heartbeat_timeout_secs: Option<u64>,
    pub max_participants_per_meeting: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DurabilitySetting {
    /// fsync every commit (survives power loss).
    #[default]
    Full,
    /// fsync at checkpoints (survives process crashes only).
    Normal,
}

impl FileConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("invalid configuration file {}", path.display()))
    }
}

/// Everything the flags and environment can set; `None` means "not given here".
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Overrides {
    /// Data directory holding the SQLite database. [default: ./plenum-data]
    #[arg(long, env = "PLENUM_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Salt of the FRTC secret, sha1(password + salt). Keep it fixed for an installation.
    #[arg(
        long,
        env = "PLENUM_SECRET_SALT",
        global = true,
        hide_env_values = true
    )]
    pub secret_salt: Option<String>,
    /// Durability of commits. [default: full]
    #[arg(long, env = "PLENUM_DURABILITY", global = true, value_enum)]
    pub durability: Option<DurabilitySetting>,
}

/// Options only `plenum serve` has.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ServeOverrides {
    /// Address to listen on. [default: 127.0.0.1:7480]
    #[arg(long, env = "PLENUM_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Public base URL of this server, used in links it hands out. [default: http://<listen>]
    #[arg(long, env = "PLENUM_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Log format. [default: pretty]
    #[arg(long, env = "PLENUM_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Password of the `admin` user created on first start. Used only on the first start;
    /// without it a strong password is generated and printed once.
    #[arg(long, env = "PLENUM_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Lifetime of access tokens, in seconds. [default: 86400]
    #[arg(long, env = "PLENUM_TOKEN_LIFETIME_SECS")]
    pub token_lifetime_secs: Option<u64>,
    /// Concurrent calls the installation allows. [default: 1000]
    #[arg(long, env = "PLENUM_MAX_CALLS")]
    pub max_calls: Option<u32>,
    /// max_users given to companies created without one. [default: 1000]
    #[arg(long, env = "PLENUM_DEFAULT_MAX_USERS")]
    pub default_max_users: Option<u32>,
    /// Requests per second one user may make to Rocket.Chat's video-conference.list (Rocket.Chat
    /// documents 3; raise it only for load tests). [default: 3]
    #[arg(long, env = "PLENUM_ROCKETCHAT_RATE_LIMIT", value_parser = clap::value_parser!(u32).range(1..))]
    pub rocketchat_rate_limit: Option<u32>,
}

/// The resolved settings the server runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Explicitly configured public URL; when `None` the server uses `http://<bound address>`.
    pub public_url: Option<String>,
    pub log_format: LogFormat,
    pub durability: Durability,
    pub admin_password: Option<String>,
    pub policy: Policy,
}

impl Settings {
    pub fn resolve(
        file: FileConfig,
        common: &Overrides,
        serve: &ServeOverrides,
    ) -> anyhow::Result<Self> {
        let defaults = Policy::default();
        let listen = match serve.listen.or(file.listen) {
            Some(l) => l,
            None => DEFAULT_LISTEN.parse().context("built-in listen address")?,
        };
        let secs = |v: Option<u64>,
                    default: SignedDuration,
                    what: &str|
         -> anyhow::Result<SignedDuration> {
            match v {
                None => Ok(default),
                Some(0) => bail!("{what} must be at least 1 second"),
                Some(s) => Ok(SignedDuration::from_secs(
                    i64::try_from(s).context(what.to_owned())?,
                )),
            }
        };
        let lockout_defaults = LockoutPolicy::default();
        let policy = Policy {
            secret_salt: common
                .secret_salt
                .clone()
                .or(file.secret_salt)
                .unwrap_or(defaults.secret_salt),
            token_lifetime: secs(
                serve.token_lifetime_secs.or(file.token_lifetime_secs),
                defaults.token_lifetime,
                "token_lifetime_secs",
            )?,
            token_revalidate_after: secs(
                file.token_revalidate_secs,
                defaults.token_revalidate_after,
                "token_revalidate_secs",
            )?,
            token_cache_entries: defaults.token_cache_entries,
            lockout: LockoutPolicy {
                free_attempts: file
                    .lockout_free_attempts
                    .unwrap_or(lockout_defaults.free_attempts),
                base_lock: secs(
                    file.lockout_base_secs,
                    lockout_defaults.base_lock,
                    "lockout_base_secs",
                )?,
                max_lock: secs(
                    file.lockout_max_secs,
                    lockout_defaults.max_lock,
                    "lockout_max_secs",
                )?,
            },
            password_lifetime_days: file
                .password_lifetime_days
                .unwrap_or(defaults.password_lifetime_days),
            default_max_users: match serve.default_max_users.or(file.default_max_users) {
                Some(n) => plenum_domain::company::parse_max_users(i64::from(n))?,
                None => defaults.default_max_users,
            },
            max_calls: serve
                .max_calls
                .or(file.max_calls)
                .unwrap_or(defaults.max_calls),
            gateway_max_calls: defaults.gateway_max_calls,
            // Replaced by the data directory's secret when the store is opened.
            app_key_secret: defaults.app_key_secret,
            rocketchat_rate_limit: serve
                .rocketchat_rate_limit
                .unwrap_or(defaults.rocketchat_rate_limit),
            public_user_directory: file
                .public_user_directory
                .unwrap_or(defaults.public_user_directory),
            // Set at start, once the listening address is known (see `Settings::public_url`).
            public_url: defaults.public_url,
            max_occurrences: defaults.max_occurrences,
            live: {
                let live = defaults.live;
                let interval = secs(
                    file.heartbeat_interval_secs,
                    SignedDuration::try_from(live.heartbeat_interval)?,
                    "heartbeat_interval_secs",
                )?;
                let timeout = secs(
                    file.heartbeat_timeout_secs,
                    live.heartbeat_timeout,
                    "heartbeat_timeout_secs",
                )?;
                if timeout <= interval {
                    bail!("heartbeat_timeout_secs must be longer than heartbeat_interval_secs");
                }
                LivePolicy {
                    heartbeat_interval: interval.unsigned_abs(),
                    heartbeat_timeout: timeout,
                    max_participants_per_meeting: match file.max_participants_per_meeting {
                        Some(0) => bail!("max_participants_per_meeting must be at least 1"),
                        Some(n) => n,
                        None => live.max_participants_per_meeting,
                    },
                    ..live
                }
            },
        };
        Ok(Self {
            data_dir: common
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            public_url: serve
                .public_url
                .clone()
                .or(file.public_url)
                .map(|u| u.trim_end_matches('/').to_owned()),
            listen,
            log_format: serve.log_format.or(file.log_format).unwrap_or_default(),
            durability: match common.durability.or(file.durability).unwrap_or_default() {
                DurabilitySetting::Full => Durability::Full,
                DurabilitySetting::Normal => Durability::Normal,
            },
            admin_password: serve.admin_password.clone(),
            policy,
        })
    }

    /// Defaults for everything, with the data directory and listen address given: what tests
    /// and embedders start from.
    pub fn for_data_dir(data_dir: &Path, listen: SocketAddr) -> Self {
        let mut settings = Self::resolve(
            FileConfig::default(),
            &Overrides::default(),
            &ServeOverrides::default(),
        )
        .unwrap_or_else(|_| unreachable!("the built-in defaults are valid"));
        settings.data_dir = data_dir.to_owned();
        settings.listen = listen;
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_override_defaults() {
        let file: FileConfig =
            toml::from_str("listen = \"127.0.0.1:9000\"\nmax_calls = 5\nsecret_salt = \"file\"\n")
                .unwrap_or_else(|e| panic!("{e}"));
        let common = Overrides {
            secret_salt: Some("flag".into()),
            ..Overrides::default()
        };
        let s = Settings::resolve(file, &common, &ServeOverrides::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.policy.max_calls, 5);
        assert_eq!(s.policy.secret_salt, "flag");
        assert_eq!(s.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(s.public_url, None);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<FileConfig>("lisen = \"x\"").is_err());
        let zero: FileConfig = toml::from_str("token_lifetime_secs = 0").unwrap_or_default();
        assert!(
            Settings::resolve(zero, &Overrides::default(), &ServeOverrides::default()).is_err()
        );
    }
}

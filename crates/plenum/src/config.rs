//! Configuration: built-in defaults, then a TOML file, then `PLENUM_*` environment variables,
//! then command-line flags. Each later source overrides the earlier ones, field by field.
//!
//! clap resolves flag-over-environment for each option (`#[arg(env = ...)]`); this module
//! layers the result over the file and the defaults.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use jiff::SignedDuration;
use plenum_domain::sign_in::LockoutPolicy;
use plenum_service::{LivePolicy, Policy};
pub use plenum_store_sqlite::Durability;
use serde::Deserialize;

pub const DEFAULT_DATA_DIR: &str = "./plenum-data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7480";
/// The UDP address of the SFU: one port for every peer connection of every meeting.
pub const DEFAULT_MEDIA_LISTEN: &str = "127.0.0.1:7481";
pub const DEFAULT_MAX_PEERS_PER_MEETING: u32 = 100;
pub const DEFAULT_MAX_VIDEO_BITRATE: u64 = 2_500_000;
pub const DEFAULT_MAX_AUDIO_BITRATE: u64 = 128_000;
/// The lowest `media.max_audio_bitrate`: Opus's lowest rate. Below it every packet would be
/// dropped, which is a unit mistake (kbit/s for bit/s) rather than a wish.
pub const MIN_AUDIO_BITRATE: u64 = 6_000;
/// The lowest `media.max_video_bitrate`, for the same reason.
pub const MIN_VIDEO_BITRATE: u64 = 100_000;

/// The TOML file. Every key is optional; see `docs/configuration.md`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub node_address: Option<String>,
    pub node_lease_secs: Option<u64>,
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
    /// `[tls]`: HTTPS.
    pub tls: Option<TlsFileConfig>,
    /// `[metrics]`: `GET /metrics`.
    pub metrics: Option<MetricsFileConfig>,
    /// `[media]`: the SFU.
    pub media: Option<MediaFileConfig>,
    /// `[recordings]`: where recording files are kept and how they are downloaded.
    pub recordings: Option<RecordingsFileConfig>,
    /// `[webhooks]`: how events are delivered to companies' endpoints.
    pub webhooks: Option<WebhooksFileConfig>,
    /// `[audit]`: how long the audit log keeps entries.
    pub audit: Option<AuditFileConfig>,
}

/// The `[webhooks]` table (docs/webhooks.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksFileConfig {
    /// Whether endpoints may be private, loopback or link-local addresses.
    pub allow_private: Option<bool>,
    pub attempt_timeout_ms: Option<u64>,
    pub max_response_bytes: Option<usize>,
    /// The first retry's delay; each next one doubles, up to `retry_max_delay_ms`.
    pub retry_first_delay_ms: Option<u64>,
    pub retry_max_delay_ms: Option<u64>,
    /// How long an event is retried in all before the endpoint is marked failing.
    pub retry_for_secs: Option<u64>,
    pub concurrency: Option<usize>,
    pub poll_interval_ms: Option<u64>,
    /// Days events are kept for replay (and attempts for the delivery log).
    pub retention_days: Option<u32>,
}

/// The `[audit]` table (docs/operations.md, "Audit log").
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditFileConfig {
    /// Days entries are kept; 0 keeps them for ever.
    pub retention_days: Option<u32>,
}

/// `[webhooks]` over the defaults, checked.
fn webhook_policy(
    file: WebhooksFileConfig,
    defaults: plenum_service::WebhookPolicy,
) -> anyhow::Result<plenum_service::WebhookPolicy> {
    use std::time::Duration;
    let ms = |v: Option<u64>, default: Duration, what: &str| -> anyhow::Result<Duration> {
        match v {
            None => Ok(default),
            Some(0) => bail!("webhooks.{what} must be at least 1"),
            Some(n) => Ok(Duration::from_millis(n)),
        }
    };
    let signed = |d: Duration, what: &str| -> anyhow::Result<SignedDuration> {
        SignedDuration::try_from(d).with_context(|| format!("webhooks.{what} is too large"))
    };
    let retry = plenum_domain::webhooks::RetrySchedule {
        first: signed(
            ms(
                file.retry_first_delay_ms,
                defaults.retry.first.unsigned_abs(),
                "retry_first_delay_ms",
            )?,
            "retry_first_delay_ms",
        )?,
        cap: signed(
            ms(
                file.retry_max_delay_ms,
                defaults.retry.cap.unsigned_abs(),
                "retry_max_delay_ms",
            )?,
            "retry_max_delay_ms",
        )?,
        total: match file.retry_for_secs {
            None => defaults.retry.total,
            Some(0) => bail!("webhooks.retry_for_secs must be at least 1"),
            Some(n) => SignedDuration::from_secs(
                i64::try_from(n).context("webhooks.retry_for_secs is too large")?,
            ),
        },
    };
    if retry.cap < retry.first {
        bail!("webhooks.retry_max_delay_ms must not be shorter than webhooks.retry_first_delay_ms");
    }
    Ok(plenum_service::WebhookPolicy {
        allow_private: file.allow_private.unwrap_or(defaults.allow_private),
        attempt_timeout: ms(
            file.attempt_timeout_ms,
            defaults.attempt_timeout,
            "attempt_timeout_ms",
        )?,
        max_response_bytes: file
            .max_response_bytes
            .unwrap_or(defaults.max_response_bytes),
        retry,
        concurrency: match file.concurrency {
            Some(0) => bail!("webhooks.concurrency must be at least 1"),
            Some(n) => n,
            None => defaults.concurrency,
        },
        poll_interval: ms(
            file.poll_interval_ms,
            defaults.poll_interval,
            "poll_interval_ms",
        )?,
        retention: match file.retention_days {
            Some(0) => {
                bail!("webhooks.retention_days must be at least 1 (events are kept for replay)")
            }
            Some(days) => SignedDuration::from_hours(i64::from(days) * 24),
            None => defaults.retention,
        },
    })
}

/// The `[recordings]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordingsFileConfig {
    pub dir: Option<PathBuf>,
    pub storage: Option<StorageKind>,
    pub link_ttl_secs: Option<u64>,
    pub retention_days: Option<u32>,
    /// The `ffmpeg` a live stream's RTMP push runs (default: `ffmpeg` on the PATH).
    pub ffmpeg: Option<PathBuf>,
    /// `[recordings.s3]`.
    pub s3: Option<S3FileConfig>,
}

/// The `[recordings.s3]` table. Its `Debug` never shows the secret key.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3FileConfig {
    pub endpoint: Option<String>,
    pub bucket: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub allow_http: Option<bool>,
}

impl std::fmt::Debug for S3FileConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3FileConfig")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// `recordings.storage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StorageKind {
    /// Files in `recordings.dir`.
    #[default]
    Local,
    /// An S3-compatible bucket (`recordings.s3.*`).
    S3,
}

/// The `[tls]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFileConfig {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

/// The `[metrics]` table. Its `Debug` never shows the token.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsFileConfig {
    pub enabled: Option<bool>,
    pub listen: Option<SocketAddr>,
    pub token: Option<String>,
}

impl std::fmt::Debug for MetricsFileConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsFileConfig")
            .field("enabled", &self.enabled)
            .field("listen", &self.listen)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The `[media]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaFileConfig {
    pub enabled: Option<bool>,
    pub listen: Option<String>,
    pub advertise: Option<Vec<String>>,
    pub ice_servers: Option<Vec<IceServer>>,
    pub max_peers_per_meeting: Option<u32>,
    pub max_video_bitrate: Option<u64>,
    pub max_audio_bitrate: Option<u64>,
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
    /// PostgreSQL database to use instead of SQLite in the data directory
    /// (postgres://user:password@host:port/database). [default: none, SQLite]
    #[arg(
        long,
        env = "PLENUM_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,
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
    /// Where the other nodes reach this server (http://10.0.0.2:7480): makes it one node of
    /// several sharing the PostgreSQL database (docs/scaling.md). [default: none, the only
    /// server]
    #[arg(long, env = "PLENUM_NODE_ADDRESS")]
    pub node_address: Option<String>,
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
    /// Certificate chain (PEM) to serve HTTPS with, with --tls-key-file. [default: none, plain
    /// HTTP]
    #[arg(long, env = "PLENUM_TLS_CERT_FILE", value_name = "FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1) of --tls-cert-file.
    #[arg(long, env = "PLENUM_TLS_KEY_FILE", value_name = "FILE")]
    pub tls_key_file: Option<PathBuf>,
    /// Whether the server serves its metrics (GET /metrics, Prometheus). [default: true]
    #[arg(long, env = "PLENUM_METRICS_ENABLED", value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
    pub metrics_enabled: Option<bool>,
    /// Address of a listener of its own for GET /metrics (plain HTTP). [default: none, /metrics
    /// is served on --listen]
    #[arg(long, env = "PLENUM_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Bearer token GET /metrics requires (prefer the environment variable: a flag shows in
    /// `ps`). [default: none, /metrics is open]
    #[arg(long, env = "PLENUM_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Whether meetings carry audio and video (the SFU). [default: true]
    #[arg(long, env = "PLENUM_MEDIA_ENABLED", value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
    pub media_enabled: Option<bool>,
    /// UDP address of the SFU, one port for all meetings. [default: 127.0.0.1:7481]
    #[arg(long, env = "PLENUM_MEDIA_LISTEN", value_name = "ADDR")]
    pub media_listen: Option<String>,
    /// Addresses (IP or IP:port, comma-separated) clients are given as the SFU's candidates,
    /// e.g. the public IP behind NAT. [default: the media listen address]
    #[arg(
        long,
        env = "PLENUM_MEDIA_ADVERTISE",
        value_name = "ADDRS",
        value_delimiter = ','
    )]
    pub media_advertise: Option<Vec<String>>,
    /// STUN/TURN servers clients use (RTCConfiguration.iceServers), as JSON:
    /// [{"urls": ["turn:turn.example.com:3478"], "username": "u", "credential": "c"}].
    /// [default: none]
    #[arg(
        long,
        env = "PLENUM_MEDIA_ICE_SERVERS",
        value_name = "JSON",
        hide_env_values = true
    )]
    pub media_ice_servers: Option<String>,
    /// Peers (participants with media) in one meeting. [default: 100]
    #[arg(long, env = "PLENUM_MEDIA_MAX_PEERS_PER_MEETING", value_name = "N")]
    pub media_max_peers_per_meeting: Option<u32>,
    /// Bits per second above which a participant's video is dropped. [default: 2500000]
    #[arg(long, env = "PLENUM_MEDIA_MAX_VIDEO_BITRATE", value_name = "BPS")]
    pub media_max_video_bitrate: Option<u64>,
    /// Bits per second above which a participant's audio is dropped. [default: 128000]
    #[arg(long, env = "PLENUM_MEDIA_MAX_AUDIO_BITRATE", value_name = "BPS")]
    pub media_max_audio_bitrate: Option<u64>,
    /// Directory of recordings (local storage), or of recordings being made (S3 storage).
    /// [default: <data dir>/recordings]
    #[arg(long, env = "PLENUM_RECORDINGS_DIR", value_name = "DIR")]
    pub recordings_dir: Option<PathBuf>,
    /// Where complete recordings are kept. [default: local]
    #[arg(long, env = "PLENUM_RECORDINGS_STORAGE", value_enum)]
    pub recordings_storage: Option<StorageKind>,
    /// S3 endpoint URL, e.g. https://s3.eu-central-1.amazonaws.com.
    #[arg(long, env = "PLENUM_RECORDINGS_S3_ENDPOINT", value_name = "URL")]
    pub recordings_s3_endpoint: Option<String>,
    /// S3 bucket of the recordings.
    #[arg(long, env = "PLENUM_RECORDINGS_S3_BUCKET")]
    pub recordings_s3_bucket: Option<String>,
    /// S3 region. [default: us-east-1]
    #[arg(long, env = "PLENUM_RECORDINGS_S3_REGION")]
    pub recordings_s3_region: Option<String>,
    /// S3 access key id.
    #[arg(long, env = "PLENUM_RECORDINGS_S3_ACCESS_KEY_ID")]
    pub recordings_s3_access_key_id: Option<String>,
    /// S3 secret access key (prefer the environment variable: a flag shows in `ps`).
    #[arg(
        long,
        env = "PLENUM_RECORDINGS_S3_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    pub recordings_s3_secret_access_key: Option<String>,
    /// Whether the S3 endpoint may be plain http://. [default: false]
    #[arg(long, env = "PLENUM_RECORDINGS_S3_ALLOW_HTTP", value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
    pub recordings_s3_allow_http: Option<bool>,
    /// Seconds a recording's download link is valid. [default: 86400]
    #[arg(long, env = "PLENUM_RECORDINGS_LINK_TTL_SECS", value_name = "SECS")]
    pub recordings_link_ttl_secs: Option<u64>,
    /// Days after which recordings and their files are deleted; 0 keeps them. [default: 0]
    #[arg(long, env = "PLENUM_RECORDINGS_RETENTION_DAYS", value_name = "DAYS")]
    pub recordings_retention_days: Option<u32>,
    /// The ffmpeg a live stream's RTMP push runs. [default: ffmpeg, from the PATH]
    #[arg(long, env = "PLENUM_RECORDINGS_FFMPEG", value_name = "PATH")]
    pub recordings_ffmpeg: Option<PathBuf>,
}

/// HTTPS: the files the server's certificate and key are read from at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The certificate chain, PEM, the server's own certificate first.
    pub cert_file: PathBuf,
    /// Its private key, PEM.
    pub key_file: PathBuf,
}

/// `GET /metrics` (`metrics.*`), checked. Its `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsSettings {
    /// Whether `/metrics` is served at all (and metrics recorded).
    pub enabled: bool,
    /// `None`: on the main listener; else on a plain-HTTP listener of its own at this address.
    pub listen: Option<SocketAddr>,
    /// The bearer token `/metrics` requires; `None`: none.
    pub token: Option<String>,
}

impl std::fmt::Debug for MetricsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsSettings")
            .field("enabled", &self.enabled)
            .field("listen", &self.listen)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl MetricsSettings {
    fn resolve(file: MetricsFileConfig, serve: &ServeOverrides) -> anyhow::Result<Self> {
        let token = serve.metrics_token.clone().or(file.token);
        if let Some(token) = &token
            && (token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()))
        {
            bail!(
                "metrics.token (PLENUM_METRICS_TOKEN) must be printable ASCII without spaces, and not empty"
            );
        }
        Ok(Self {
            enabled: serve.metrics_enabled.or(file.enabled).unwrap_or(true),
            listen: serve.metrics_listen.or(file.listen),
            token,
        })
    }
}

pub use plenum_service::IceServer;

/// Checks the entry at `index` of `media.ice_servers`.
fn validate_ice_server(server: &IceServer, index: usize) -> anyhow::Result<()> {
    let at = format!("media.ice_servers[{index}]");
    if server.urls.is_empty() {
        bail!("{at}: urls is empty; give at least one stun:, turn: or turns: URL");
    }
    for url in &server.urls {
        let (scheme, rest) = url.split_once(':').unwrap_or(("", ""));
        let scheme = scheme.to_ascii_lowercase();
        if !matches!(scheme.as_str(), "stun" | "turn" | "turns") {
            bail!(
                "{at}: {url:?} is not a stun:, turn: or turns: URL (such as turn:turn.example.com:3478?transport=udp)"
            );
        }
        if rest.is_empty() || rest.starts_with("//") || rest.contains(char::is_whitespace) {
            bail!(
                "{at}: {url:?} is not a {scheme}: URL: write {scheme}:HOST[:PORT] (no //, no spaces)"
            );
        }
        let blank = |v: &Option<String>| v.as_deref().is_none_or(str::is_empty);
        if scheme != "stun" && (blank(&server.username) || blank(&server.credential)) {
            bail!(
                "{at}: {url:?} is a TURN server; browsers refuse one without username and credential"
            );
        }
    }
    Ok(())
}

/// An address clients are given as the SFU's ICE candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdvertisedAddr {
    pub ip: IpAddr,
    /// `None`: the port the SFU is bound to (`media.listen`'s, or the one the system chose for
    /// port 0).
    pub port: Option<u16>,
}

impl AdvertisedAddr {
    /// The candidate's address, given the port the SFU's socket is bound to.
    pub fn with_bound_port(self, bound_port: u16) -> SocketAddr {
        SocketAddr::new(self.ip, self.port.unwrap_or(bound_port))
    }

    fn parse(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        let parsed = match text.parse::<SocketAddr>() {
            Ok(addr) => Self {
                ip: addr.ip(),
                port: Some(addr.port()),
            },
            Err(_) => match text.parse::<IpAddr>() {
                Ok(ip) => Self { ip, port: None },
                Err(_) => bail!(
                    "media.advertise: {text:?} is not an IP address or IP:port (host names are not resolved)"
                ),
            },
        };
        if parsed.ip.is_unspecified() || parsed.ip.is_multicast() {
            bail!(
                "media.advertise: {text:?} is not an address a client can send to; give the server's own IP"
            );
        }
        if parsed.port == Some(0) {
            bail!("media.advertise: {text:?} has port 0");
        }
        Ok(parsed)
    }
}

/// The SFU's settings (`media.*`), checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSettings {
    /// Whether meetings carry audio and video; without, signalling is answered
    /// `media_unavailable`.
    pub enabled: bool,
    /// The UDP address of the SFU, one port for every meeting. Port 0: the system chooses.
    pub listen: SocketAddr,
    /// What clients are given as the SFU's candidates, in order; never empty. By default
    /// `media.listen`'s IP with the bound port.
    pub advertise: Vec<AdvertisedAddr>,
    /// Given to clients as `RTCConfiguration.iceServers`; empty by default.
    pub ice_servers: Vec<IceServer>,
    pub max_peers_per_meeting: u32,
    /// Bits per second.
    pub max_video_bitrate: u64,
    /// Bits per second.
    pub max_audio_bitrate: u64,
}

impl MediaSettings {
    /// The candidates to advertise once the SFU's socket is bound to `bound_port`.
    pub fn candidates(&self, bound_port: u16) -> Vec<SocketAddr> {
        self.advertise
            .iter()
            .map(|a| a.with_bound_port(bound_port))
            .collect()
    }

    fn resolve(file: MediaFileConfig, serve: &ServeOverrides) -> anyhow::Result<Self> {
        let enabled = serve.media_enabled.or(file.enabled).unwrap_or(true);
        let listen_text = serve
            .media_listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_MEDIA_LISTEN.to_owned());
        let listen: SocketAddr = listen_text.trim().parse().map_err(|_| {
            anyhow!(
                "media.listen: {listen_text:?} is not an IP:port address (such as 0.0.0.0:7481)"
            )
        })?;
        let advertise = serve
            .media_advertise
            .clone()
            .or(file.advertise)
            .unwrap_or_default()
            .iter()
            .filter(|a| !a.trim().is_empty())
            .map(|a| AdvertisedAddr::parse(a))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let advertise = if !advertise.is_empty() {
            advertise
        } else if listen.ip().is_unspecified() && enabled {
            bail!(
                "media.listen {listen} listens on every interface, so which address clients should send media to is unknown: set media.advertise to the server's address as clients reach it (its public IP behind NAT)"
            );
        } else {
            vec![AdvertisedAddr {
                ip: listen.ip(),
                port: None,
            }]
        };
        let ice_servers = match &serve.media_ice_servers {
            Some(json) => serde_json::from_str::<Vec<IceServer>>(json).map_err(|e| {
                anyhow!(
                    "media.ice_servers (--media-ice-servers / PLENUM_MEDIA_ICE_SERVERS) is not a JSON list of {{\"urls\": [...], \"username\": ..., \"credential\": ...}}: {e}"
                )
            })?,
            None => file.ice_servers.unwrap_or_default(),
        };
        for (i, server) in ice_servers.iter().enumerate() {
            validate_ice_server(server, i)?;
        }
        let max_peers_per_meeting = match serve
            .media_max_peers_per_meeting
            .or(file.max_peers_per_meeting)
        {
            Some(0) => bail!("media.max_peers_per_meeting must be at least 1"),
            Some(n) => n,
            None => DEFAULT_MAX_PEERS_PER_MEETING,
        };
        let bitrate = |v: Option<u64>, default: u64, min: u64, key: &str| match v {
            Some(b) if b < min => Err(anyhow!(
                "{key} is in bits per second and must be at least {min} (not {b})"
            )),
            Some(b) => Ok(b),
            None => Ok(default),
        };
        Ok(Self {
            enabled,
            listen,
            advertise,
            ice_servers,
            max_peers_per_meeting,
            max_video_bitrate: bitrate(
                serve.media_max_video_bitrate.or(file.max_video_bitrate),
                DEFAULT_MAX_VIDEO_BITRATE,
                MIN_VIDEO_BITRATE,
                "media.max_video_bitrate",
            )?,
            max_audio_bitrate: bitrate(
                serve.media_max_audio_bitrate.or(file.max_audio_bitrate),
                DEFAULT_MAX_AUDIO_BITRATE,
                MIN_AUDIO_BITRATE,
                "media.max_audio_bitrate",
            )?,
        })
    }
}

/// Default `recordings.link_ttl_secs`: a day.
pub const DEFAULT_LINK_TTL_SECS: u64 = 86_400;
/// Default `recordings.s3.region`.
pub const DEFAULT_S3_REGION: &str = "us-east-1";

/// Where recordings are kept and how long links to them last (`recordings.*`), checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingsSettings {
    /// `None`: `<data_dir>/recordings` (see [`Self::dir`]).
    pub dir: Option<PathBuf>,
    /// `None`: local storage. The secret key is redacted from `Debug`.
    pub s3: Option<StorageConfig>,
    pub link_ttl: SignedDuration,
    /// 0: recordings are kept until deleted.
    pub retention_days: u32,
    /// The ffmpeg of the RTMP push.
    pub ffmpeg: PathBuf,
}

pub use plenum_service::recording_files::StorageConfig;

impl RecordingsSettings {
    /// The directory of recordings (local storage) or of the ones being made (S3).
    pub fn dir(&self, data_dir: &Path) -> PathBuf {
        self.dir
            .clone()
            .unwrap_or_else(|| data_dir.join("recordings"))
    }

    /// The storage of complete recordings.
    pub fn storage(&self, data_dir: &Path) -> StorageConfig {
        match &self.s3 {
            Some(s3) => s3.clone(),
            None => StorageConfig::Local {
                dir: self.dir(data_dir),
            },
        }
    }

    fn resolve(file: RecordingsFileConfig, serve: &ServeOverrides) -> anyhow::Result<Self> {
        let s3_file = file.s3.unwrap_or_default();
        let storage = serve
            .recordings_storage
            .or(file.storage)
            .unwrap_or_default();
        let s3 = match storage {
            StorageKind::Local => None,
            StorageKind::S3 => {
                let required = |flag: &Option<String>, file: Option<String>, key: &str| {
                    flag.clone()
                        .or(file)
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| {
                            anyhow!(
                                "recordings.storage is \"s3\" but recordings.s3.{key} is not set"
                            )
                        })
                };
                let endpoint =
                    required(&serve.recordings_s3_endpoint, s3_file.endpoint, "endpoint")?;
                let allow_http = serve
                    .recordings_s3_allow_http
                    .or(s3_file.allow_http)
                    .unwrap_or(false);
                if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
                    bail!("recordings.s3.endpoint: {endpoint:?} is not an http:// or https:// URL");
                }
                if endpoint.starts_with("http://") && !allow_http {
                    bail!(
                        "recordings.s3.endpoint {endpoint:?} is plain HTTP: the credentials and recordings would travel unencrypted; set recordings.s3.allow_http = true to accept that (a store on the same host)"
                    );
                }
                Some(StorageConfig::S3 {
                    endpoint,
                    bucket: required(&serve.recordings_s3_bucket, s3_file.bucket, "bucket")?,
                    region: serve
                        .recordings_s3_region
                        .clone()
                        .or(s3_file.region)
                        .unwrap_or_else(|| DEFAULT_S3_REGION.to_owned()),
                    access_key_id: required(
                        &serve.recordings_s3_access_key_id,
                        s3_file.access_key_id,
                        "access_key_id",
                    )?,
                    secret_access_key: required(
                        &serve.recordings_s3_secret_access_key,
                        s3_file.secret_access_key,
                        "secret_access_key (or PLENUM_RECORDINGS_S3_SECRET_ACCESS_KEY)",
                    )?,
                    allow_http,
                })
            }
        };
        let link_ttl = match serve.recordings_link_ttl_secs.or(file.link_ttl_secs) {
            None => DEFAULT_LINK_TTL_SECS,
            Some(0) => bail!("recordings.link_ttl_secs must be at least 1 second"),
            Some(s) => s,
        };
        Ok(Self {
            dir: serve.recordings_dir.clone().or(file.dir),
            s3,
            link_ttl: SignedDuration::from_secs(
                i64::try_from(link_ttl).context("recordings.link_ttl_secs is too large")?,
            ),
            retention_days: serve
                .recordings_retention_days
                .or(file.retention_days)
                .unwrap_or(0),
            ffmpeg: serve
                .recordings_ffmpeg
                .clone()
                .or(file.ffmpeg)
                .unwrap_or_else(|| PathBuf::from("ffmpeg")),
        })
    }
}

/// A database URL as given, if it names PostgreSQL: the only database besides the data
/// directory's SQLite that Plenum runs on. An empty one means "not given" (the caller skips it).
/// This server as a node of several: a new identity each start (a restarted node is a new
/// node; its old leases end unrenewed), reached at `address`.
fn node_of(address: &str) -> anyhow::Result<plenum_domain::nodes::NodeRef> {
    let Some((scheme, rest)) = address.split_once("://") else {
        bail!("node_address must be an http:// URL the other nodes reach this server at");
    };
    if !matches!(scheme, "http" | "https") || rest.is_empty() {
        bail!("node_address must be an http:// URL the other nodes reach this server at");
    }
    Ok(plenum_domain::nodes::NodeRef {
        id: plenum_domain::ids::NodeId::new(jiff::Timestamp::now()),
        address: address.trim_end_matches('/').to_owned(),
    })
}

/// A PostgreSQL URL. It may hold a password: shown (`Debug`, `Display`) without it.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// A `postgres://` URL (what `database_url` accepts).
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self(url.to_owned()))
        } else {
            anyhow::bail!(
                "database_url must be a PostgreSQL URL (postgres://user:password@host/database); \
                 leave it out to use SQLite in the data directory"
            )
        }
    }

    /// The whole URL, password included: only for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", redacted(&self.0))
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redacted(&self.0))
    }
}

/// A database URL as it may be shown (logs, messages): without its password.
pub fn redacted(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => format!(
                "{}{}:***{}",
                &url[..scheme_end],
                &rest[..colon],
                &rest[at..]
            ),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// The resolved settings the server runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    /// The PostgreSQL database (`postgres://…`); `None`: SQLite in the data directory.
    pub database_url: Option<DatabaseUrl>,
    pub listen: SocketAddr,
    /// Explicitly configured public URL; when `None` the server uses `http://<bound address>`.
    pub public_url: Option<String>,
    pub log_format: LogFormat,
    pub durability: Durability,
    pub admin_password: Option<String>,
    pub policy: Policy,
    /// HTTPS when set; plain HTTP otherwise.
    pub tls: Option<TlsSettings>,
    pub metrics: MetricsSettings,
    pub media: MediaSettings,
    pub recordings: RecordingsSettings,
    /// Requests per second one user may make to Rocket.Chat's `video-conference.list`.
    pub rocketchat_rate_limit: u32,
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
        let tls_file = file.tls.unwrap_or_default();
        let tls = match (
            serve.tls_cert_file.clone().or(tls_file.cert_file),
            serve.tls_key_file.clone().or(tls_file.key_file),
        ) {
            (Some(cert_file), Some(key_file)) => Some(TlsSettings {
                cert_file,
                key_file,
            }),
            (None, None) => None,
            (Some(_), None) => bail!(
                "tls.cert_file is set but tls.key_file is not: HTTPS needs both (or neither, for plain HTTP)"
            ),
            (None, Some(_)) => bail!(
                "tls.key_file is set but tls.cert_file is not: HTTPS needs both (or neither, for plain HTTP)"
            ),
        };
        let metrics = MetricsSettings::resolve(file.metrics.unwrap_or_default(), serve)?;
        let media = MediaSettings::resolve(file.media.unwrap_or_default(), serve)?;
        let recordings = RecordingsSettings::resolve(file.recordings.unwrap_or_default(), serve)?;
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
            webhooks: webhook_policy(file.webhooks.unwrap_or_default(), defaults.webhooks)?,
            audit_retention: match file.audit.unwrap_or_default().retention_days {
                Some(0) => None,
                Some(days) => Some(SignedDuration::from_hours(i64::from(days) * 24)),
                None => defaults.audit_retention,
            },
            public_user_directory: file
                .public_user_directory
                .unwrap_or(defaults.public_user_directory),
            // Set at start, once the listening address is known (see `Settings::public_url`).
            public_url: defaults.public_url,
            max_occurrences: defaults.max_occurrences,
            node: serve
                .node_address
                .clone()
                .or(file.node_address)
                .filter(|a| !a.trim().is_empty())
                .map(|a| node_of(a.trim()))
                .transpose()?,
            lease_terms: plenum_domain::nodes::LeaseTerms {
                ttl: match file.node_lease_secs {
                    None => defaults.lease_terms.ttl,
                    Some(s @ 3..=3600) => SignedDuration::from_secs(s as i64),
                    Some(_) => bail!("node_lease_secs must be between 3 and 3600"),
                },
            },
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
        let database_url = common
            .database_url
            .clone()
            .or(file.database_url)
            .filter(|u| !u.trim().is_empty())
            .map(|u| DatabaseUrl::parse(u.trim()))
            .transpose()?;
        if policy.node.is_some() && database_url.is_none() {
            bail!(
                "node_address makes this server one node of several, which share a PostgreSQL \
                 database: set database_url too (SQLite serves one server)"
            );
        }
        Ok(Self {
            data_dir: common
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            database_url,
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
            tls,
            metrics,
            media,
            recordings,
            rocketchat_rate_limit: serve
                .rocketchat_rate_limit
                .unwrap_or(plenum_http::rocketchat::DOCUMENTED_LIMIT),
        })
    }

    /// Defaults for everything, with the data directory and listen address given: what tests
    /// and embedders start from. The SFU listens on 127.0.0.1 on a port the system chooses, so
    /// that servers side by side do not collide.
    pub fn for_data_dir(data_dir: &Path, listen: SocketAddr) -> Self {
        let mut settings = Self::resolve(
            FileConfig::default(),
            &Overrides::default(),
            &ServeOverrides::default(),
        )
        .unwrap_or_else(|_| unreachable!("the built-in defaults are valid"));
        settings.data_dir = data_dir.to_owned();
        settings.listen = listen;
        settings.media.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_are_postgres_and_shown_without_their_password() {
        assert!(DatabaseUrl::parse("sqlite://x.db").is_err());
        let url = DatabaseUrl::parse("postgres://plenum:s3cret@db.example:5432/plenum")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            url.to_string(),
            "postgres://plenum:***@db.example:5432/plenum"
        );
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(
            url.expose(),
            "postgres://plenum:s3cret@db.example:5432/plenum"
        );
        assert_eq!(
            redacted("postgres://plenum@localhost/postgres?host=/tmp/s"),
            "postgres://plenum@localhost/postgres?host=/tmp/s"
        );
    }

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

    fn resolve(toml: &str, serve: &ServeOverrides) -> anyhow::Result<Settings> {
        let file: FileConfig = toml::from_str(toml)?;
        Settings::resolve(file, &Overrides::default(), serve)
    }

    #[track_caller]
    fn refused(toml: &str, serve: &ServeOverrides, needles: &[&str]) {
        match resolve(toml, serve) {
            Ok(s) => panic!("accepted: {s:?}"),
            Err(e) => {
                let message = format!("{e:#}");
                for needle in needles {
                    assert!(message.contains(needle), "{needle:?} not in: {message}");
                }
            }
        }
    }

    #[test]
    fn tls_needs_both_files_or_neither() {
        let none = ServeOverrides::default();
        let s = resolve("", &none).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.tls, None);
        let s = resolve(
            "[tls]\ncert_file = \"/etc/plenum/cert.pem\"\nkey_file = \"/etc/plenum/key.pem\"\n",
            &none,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.tls,
            Some(TlsSettings {
                cert_file: "/etc/plenum/cert.pem".into(),
                key_file: "/etc/plenum/key.pem".into(),
            })
        );
        refused(
            "[tls]\ncert_file = \"c.pem\"\n",
            &none,
            &["tls.key_file", "both"],
        );
        // The key from the environment or a flag completes the file's certificate.
        let key = ServeOverrides {
            tls_key_file: Some("k.pem".into()),
            ..ServeOverrides::default()
        };
        refused("", &key, &["tls.cert_file", "both"]);
        let s = resolve("[tls]\ncert_file = \"c.pem\"\n", &key).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.tls.map(|t| t.key_file), Some(PathBuf::from("k.pem")));
        assert!(toml::from_str::<FileConfig>("[tls]\ncert = \"c.pem\"\n").is_err());
    }

    #[test]
    fn media_defaults() {
        let s = resolve("", &ServeOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
        let m = s.media;
        assert!(m.enabled);
        assert_eq!(m.listen, SocketAddr::from(([127, 0, 0, 1], 7481)));
        assert_eq!(
            m.candidates(7481),
            vec![SocketAddr::from(([127, 0, 0, 1], 7481))]
        );
        assert!(m.ice_servers.is_empty());
        assert_eq!(m.max_peers_per_meeting, 100);
        assert_eq!(m.max_video_bitrate, 2_500_000);
        assert_eq!(m.max_audio_bitrate, 128_000);
        // Tests' servers: a port the system chooses, advertised as bound.
        let t = Settings::for_data_dir(Path::new("d"), SocketAddr::from(([127, 0, 0, 1], 0)));
        assert_eq!(t.media.listen, SocketAddr::from(([127, 0, 0, 1], 0)));
        assert_eq!(
            t.media.candidates(40000),
            vec![SocketAddr::from(([127, 0, 0, 1], 40000))]
        );
    }

    #[test]
    fn media_from_the_file_and_overrides() {
        let file = r#"
[media]
enabled = true
listen = "0.0.0.0:7481"
advertise = ["203.0.113.7", "198.51.100.2:40000", "[2001:db8::1]:7481"]
max_peers_per_meeting = 12
max_video_bitrate = 1000000
max_audio_bitrate = 64000

[[media.ice_servers]]
urls = ["stun:stun.example.com:3478"]

[[media.ice_servers]]
urls = ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:443?transport=tcp"]
username = "plenum"
credential = "s3cret"
"#;
        let s = resolve(file, &ServeOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
        let m = &s.media;
        assert_eq!(m.listen, SocketAddr::from(([0, 0, 0, 0], 7481)));
        assert_eq!(
            m.candidates(7481)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [
                "203.0.113.7:7481",
                "198.51.100.2:40000",
                "[2001:db8::1]:7481"
            ]
        );
        assert_eq!(m.max_peers_per_meeting, 12);
        assert_eq!(m.max_video_bitrate, 1_000_000);
        assert_eq!(m.max_audio_bitrate, 64_000);
        assert_eq!(m.ice_servers.len(), 2);
        // Clients get RTCIceServer objects; logs never get the credential.
        assert_eq!(
            serde_json::to_value(&m.ice_servers).unwrap_or_default(),
            serde_json::json!([
                {"urls": ["stun:stun.example.com:3478"]},
                {"urls": ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:443?transport=tcp"],
                 "username": "plenum", "credential": "s3cret"}
            ])
        );
        assert!(!format!("{s:?}").contains("s3cret"));

        // The environment and flags override the file, key by key.
        let serve = ServeOverrides {
            media_enabled: Some(false),
            media_listen: Some("127.0.0.1:0".into()),
            media_advertise: Some(vec!["192.0.2.1".into()]),
            media_ice_servers: Some(r#"[{"urls": ["stun:127.0.0.1:3478"]}]"#.into()),
            media_max_audio_bitrate: Some(32_000),
            ..ServeOverrides::default()
        };
        let m = resolve(file, &serve)
            .unwrap_or_else(|e| panic!("{e}"))
            .media;
        assert!(!m.enabled);
        assert_eq!(m.listen, SocketAddr::from(([127, 0, 0, 1], 0)));
        assert_eq!(
            m.candidates(5000),
            vec![SocketAddr::from(([192, 0, 2, 1], 5000))]
        );
        assert_eq!(m.ice_servers[0].urls, ["stun:127.0.0.1:3478"]);
        assert_eq!(m.max_audio_bitrate, 32_000);
        assert_eq!(m.max_video_bitrate, 1_000_000);
    }

    #[test]
    fn bad_media_settings_are_refused_with_the_key_named() {
        let none = ServeOverrides::default();
        refused(
            "[media]\nlisten = \"0.0.0.0:7481\"\n",
            &none,
            &["media.advertise", "0.0.0.0:7481"],
        );
        refused(
            "[media]\nlisten = \"[::]:7481\"\n",
            &none,
            &["media.advertise"],
        );
        // Without media, where it would listen does not matter.
        assert!(
            resolve(
                "[media]\nenabled = false\nlisten = \"0.0.0.0:7481\"\n",
                &none
            )
            .is_ok()
        );
        refused(
            "[media]\nlisten = \"localhost:7481\"\n",
            &none,
            &["media.listen", "localhost:7481"],
        );
        refused(
            "[media]\nlisten = \"127.0.0.1\"\n",
            &none,
            &["media.listen"],
        );
        for bad in ["meet.example.com", "0.0.0.0", "203.0.113.7:0", "224.0.0.1"] {
            refused(
                &format!("[media]\nadvertise = [\"{bad}\"]\n"),
                &none,
                &["media.advertise", bad],
            );
        }
        refused(
            "[[media.ice_servers]]\nurls = []\n",
            &none,
            &["media.ice_servers[0]", "urls is empty"],
        );
        for bad in [
            "http://stun.example.com",
            "stun.example.com:3478",
            "stun:",
            "stun://stun.example.com",
        ] {
            refused(
                &format!("[[media.ice_servers]]\nurls = [\"{bad}\"]\n"),
                &none,
                &["media.ice_servers[0]", bad],
            );
        }
        refused(
            "[[media.ice_servers]]\nurls = [\"stun:a.example\"]\n[[media.ice_servers]]\nurls = [\"turn:t.example:3478\"]\n",
            &none,
            &["media.ice_servers[1]", "username and credential"],
        );
        refused(
            "[media]\nmax_video_bitrate = 2500\n",
            &none,
            &["media.max_video_bitrate", "bits per second"],
        );
        refused(
            "[media]\nmax_audio_bitrate = 0\n",
            &none,
            &["media.max_audio_bitrate"],
        );
        refused(
            "[media]\nmax_peers_per_meeting = 0\n",
            &none,
            &["media.max_peers_per_meeting"],
        );
        let json = ServeOverrides {
            media_ice_servers: Some("stun:x".into()),
            ..ServeOverrides::default()
        };
        refused("", &json, &["PLENUM_MEDIA_ICE_SERVERS", "JSON"]);
        assert!(toml::from_str::<FileConfig>("[media]\nlisen = \"x\"\n").is_err());
        assert!(
            toml::from_str::<FileConfig>(
                "[[media.ice_servers]]\nurls = [\"stun:a\"]\npassword = \"x\"\n"
            )
            .is_err()
        );
    }

    #[test]
    fn recordings_defaults() {
        let s = resolve("", &ServeOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
        let r = &s.recordings;
        assert_eq!(
            r.dir(Path::new("/srv/plenum")),
            Path::new("/srv/plenum/recordings")
        );
        assert_eq!(
            r.storage(Path::new("/srv/plenum")),
            StorageConfig::Local {
                dir: "/srv/plenum/recordings".into()
            }
        );
        assert_eq!(r.link_ttl, SignedDuration::from_secs(86_400));
        assert_eq!(r.retention_days, 0);
        // Tests' servers keep their recordings in their own data directory.
        let t = Settings::for_data_dir(Path::new("/tmp/t"), SocketAddr::from(([127, 0, 0, 1], 0)));
        assert_eq!(
            t.recordings.dir(&t.data_dir),
            Path::new("/tmp/t/recordings")
        );
    }

    #[test]
    fn recordings_from_the_file_and_overrides() {
        let file = r#"
[recordings]
dir = "/var/spool/plenum"
storage = "s3"
link_ttl_secs = 600
retention_days = 90

[recordings.s3]
endpoint = "https://s3.eu-central-1.amazonaws.com"
bucket = "meetings"
region = "eu-central-1"
access_key_id = "AKIDEXAMPLE"
secret_access_key = "file-secret-key"
"#;
        let s = resolve(file, &ServeOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
        let r = &s.recordings;
        assert_eq!(r.dir(Path::new("/d")), Path::new("/var/spool/plenum"));
        assert_eq!(r.link_ttl, SignedDuration::from_secs(600));
        assert_eq!(r.retention_days, 90);
        assert_eq!(
            r.storage(Path::new("/d")),
            StorageConfig::S3 {
                endpoint: "https://s3.eu-central-1.amazonaws.com".into(),
                bucket: "meetings".into(),
                region: "eu-central-1".into(),
                access_key_id: "AKIDEXAMPLE".into(),
                secret_access_key: "file-secret-key".into(),
                allow_http: false,
            }
        );
        // The secret never shows in what may be logged.
        assert!(!format!("{s:?}").contains("file-secret-key"));
        let parsed: FileConfig = toml::from_str(file).unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{parsed:?}").contains("file-secret-key"));

        // The environment (or flags) override the file key by key; the secret comes from
        // PLENUM_RECORDINGS_S3_SECRET_ACCESS_KEY.
        let serve = ServeOverrides {
            recordings_s3_endpoint: Some("http://127.0.0.1:9000".into()),
            recordings_s3_allow_http: Some(true),
            recordings_s3_secret_access_key: Some("env-secret-key".into()),
            recordings_link_ttl_secs: Some(60),
            ..ServeOverrides::default()
        };
        let r = resolve(file, &serve)
            .unwrap_or_else(|e| panic!("{e}"))
            .recordings;
        assert_eq!(r.link_ttl, SignedDuration::from_secs(60));
        match r.storage(Path::new("/d")) {
            StorageConfig::S3 {
                endpoint,
                bucket,
                secret_access_key,
                allow_http,
                ..
            } => {
                assert_eq!(endpoint, "http://127.0.0.1:9000");
                assert_eq!(bucket, "meetings");
                assert_eq!(secret_access_key, "env-secret-key");
                assert!(allow_http);
            }
            other => panic!("{other:?}"),
        }
        // Storage back to local from the environment: the S3 keys are kept for later but
        // not used.
        let local = ServeOverrides {
            recordings_storage: Some(StorageKind::Local),
            ..ServeOverrides::default()
        };
        assert_eq!(
            resolve(file, &local)
                .unwrap_or_else(|e| panic!("{e}"))
                .recordings
                .s3,
            None
        );
    }

    #[test]
    fn bad_recordings_settings_are_refused_with_the_key_named() {
        let none = ServeOverrides::default();
        let s3 = "[recordings]\nstorage = \"s3\"\n[recordings.s3]\nendpoint = \"https://s3.example\"\nbucket = \"b\"\naccess_key_id = \"a\"\n";
        refused(
            s3,
            &none,
            &[
                "recordings.s3.secret_access_key",
                "PLENUM_RECORDINGS_S3_SECRET_ACCESS_KEY",
            ],
        );
        refused(
            "[recordings]\nstorage = \"s3\"\n",
            &none,
            &["recordings.s3.endpoint"],
        );
        let with_secret = ServeOverrides {
            recordings_s3_secret_access_key: Some("k".into()),
            ..ServeOverrides::default()
        };
        assert!(resolve(s3, &with_secret).is_ok());
        let plain = ServeOverrides {
            recordings_s3_endpoint: Some("http://s3.example".into()),
            ..with_secret.clone()
        };
        refused(s3, &plain, &["recordings.s3.allow_http"]);
        let not_url = ServeOverrides {
            recordings_s3_endpoint: Some("s3.example:9000".into()),
            ..with_secret
        };
        refused(s3, &not_url, &["recordings.s3.endpoint", "s3.example:9000"]);
        refused(
            "[recordings]\nlink_ttl_secs = 0\n",
            &none,
            &["recordings.link_ttl_secs"],
        );
        assert!(toml::from_str::<FileConfig>("[recordings]\nstorage = \"ftp\"\n").is_err());
        assert!(toml::from_str::<FileConfig>("[recordings.s3]\nsecret = \"x\"\n").is_err());
    }

    #[test]
    fn metrics_settings_come_from_the_file_and_the_environment_and_hide_the_token() {
        let none = ServeOverrides::default();
        let defaults = resolve("", &none).unwrap_or_else(|e| panic!("{e}")).metrics;
        assert_eq!(
            defaults,
            MetricsSettings {
                enabled: true,
                listen: None,
                token: None
            }
        );
        let file = "[metrics]\nlisten = \"127.0.0.1:9480\"\ntoken = \"file-Metrics-Token\"\n";
        let s = resolve(file, &none).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.metrics.listen,
            Some(SocketAddr::from(([127, 0, 0, 1], 9480)))
        );
        assert_eq!(s.metrics.token.as_deref(), Some("file-Metrics-Token"));
        assert!(!format!("{s:?}").contains("file-Metrics-Token"));
        let parsed: FileConfig = toml::from_str(file).unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{parsed:?}").contains("file-Metrics-Token"));
        let env = ServeOverrides {
            metrics_enabled: Some(false),
            metrics_token: Some("env-Metrics-Token".into()),
            ..ServeOverrides::default()
        };
        let m = resolve(file, &env)
            .unwrap_or_else(|e| panic!("{e}"))
            .metrics;
        assert!(!m.enabled);
        assert_eq!(m.token.as_deref(), Some("env-Metrics-Token"));
        for bad in ["", "two words", "tab\there", "caf\u{e9}"] {
            let serve = ServeOverrides {
                metrics_token: Some(bad.into()),
                ..ServeOverrides::default()
            };
            refused("", &serve, &["metrics.token", "PLENUM_METRICS_TOKEN"]);
        }
        refused("[metrics]\nport = 1\n", &none, &["port"]);
    }
}

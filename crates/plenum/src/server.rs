//! Starting and stopping the server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::serve::ListenerExt as _;
use plenum_domain::api_keys::AppKeySecret;
use plenum_domain::credentials::Password;
use plenum_http::AppState;
use plenum_service::recording_files::{self, Downloads, LinkSigner, RecordingFiles};
use plenum_service::{BootstrapOutcome, Clock, Plenum};
use plenum_store::Store;
use plenum_store_postgres::PgStore;
use plenum_store_sqlite::SqliteStore;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Settings;

/// The database a process runs on: SQLite in the data directory (the default), or the
/// PostgreSQL database of `database_url`. Everything above the store sees only the `Store`
/// trait; this is where the two differ for the binary (opening, closing, backups).
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Backend {
    /// Opens the configured database and brings its schema up to date.
    pub async fn open(settings: &Settings) -> anyhow::Result<Self> {
        match &settings.database_url {
            None => SqliteStore::open(&settings.data_dir, settings.durability)
                .await
                .map(Self::Sqlite)
                .with_context(|| {
                    format!(
                        "cannot open the data directory {}",
                        settings.data_dir.display()
                    )
                }),
            Some(url) => PgStore::open(url.expose())
                .await
                .map(Self::Postgres)
                .with_context(|| format!("cannot open the PostgreSQL database {url}")),
        }
    }

    /// Applies the migrations the configured database lacks; returns them.
    pub async fn migrate(settings: &Settings) -> anyhow::Result<Vec<plenum_store::Migration>> {
        match &settings.database_url {
            None => plenum_store_sqlite::migrate(&settings.data_dir)
                .await
                .with_context(|| {
                    format!(
                        "cannot migrate the database of {}",
                        settings.data_dir.display()
                    )
                }),
            Some(url) => PgStore::migrate(url.expose())
                .await
                .with_context(|| format!("cannot migrate the PostgreSQL database {url}")),
        }
    }

    /// What the configured database is, for messages.
    pub fn describe(settings: &Settings) -> String {
        match &settings.database_url {
            None => format!("the SQLite database in {}", settings.data_dir.display()),
            Some(url) => format!("the PostgreSQL database {url}"),
        }
    }

    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(s) => Arc::new(s.clone()),
            Self::Postgres(s) => Arc::new(s.clone()),
        }
    }

    /// Closes the connections (SQLite also folds its write-ahead log into the file).
    pub async fn close(&self) {
        match self {
            Self::Sqlite(s) => s.close().await,
            Self::Postgres(s) => s.close().await,
        }
    }
}

/// Opens the configured store and builds the service over it.
pub async fn open(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<(Plenum, Backend)> {
    let store = Backend::open(settings).await?;
    // On PostgreSQL the data directory holds only files (secrets, local recordings): nothing
    // else has made it yet.
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            settings.data_dir.display()
        )
    })?;
    let mut policy = settings.policy.clone();
    policy.app_key_secret = load_app_key_secret(&settings.data_dir)?;
    let plenum = Plenum::new(store.store(), clock, policy);
    Ok((plenum, store))
}

/// A node of several must hold the installation's secrets (its data directory's
/// `app-key.secret` and `recording-links.secret`), or the app tokens and download links of
/// the other nodes would fail on it: it refuses to start with others.
async fn agree_on_secrets(plenum: &Plenum, settings: &Settings) -> anyhow::Result<()> {
    let link_key = recording_files::load_or_create_key(&settings.data_dir)
        .context("the recording links' key")?;
    let differ = plenum
        .secrets_not_shared(&[("recording-links", &link_key)])
        .await?;
    if !differ.is_empty() {
        anyhow::bail!(
            "this node's secrets ({}) are not the installation's: every node needs the same \
             {APP_KEY_SECRET_FILE} and {} in its data directory; copy them from another node's \
             (docs/scaling.md)",
            differ.join(", "),
            recording_files::links::LINK_KEY_FILE
        );
    }
    Ok(())
}

/// The file in the data directory holding the secret Huawei app keys are derived from.
pub const APP_KEY_SECRET_FILE: &str = "app-key.secret";

/// Reads the installation's app-key secret, creating it (32 random bytes, owner-only) on first
/// use. It lives beside the database, not in it: a copy of the database alone reveals no app
/// key. Losing it voids every Huawei app key (create new apps).
fn load_app_key_secret(data_dir: &std::path::Path) -> anyhow::Result<AppKeySecret> {
    use std::io::Write as _;
    let path = data_dir.join(APP_KEY_SECRET_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let secret: [u8; 32] = bytes.try_into().map_err(|_| {
                anyhow::anyhow!("{} is not 32 bytes long; restore it or remove it (which voids every Huawei app key)", path.display())
            })?;
            Ok(AppKeySecret(secret))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret: [u8; 32] = rand::random();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(&path) {
                Ok(mut file) => {
                    file.write_all(&secret)
                        .and_then(|()| file.sync_all())
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    Ok(AppKeySecret(secret))
                }
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    load_app_key_secret(data_dir)
                }
                Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
            }
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The recording storage of `recordings.*` and the signer of download links, whose key is
/// `recording-links.secret` in the data directory (created on first start). The recordings
/// directory is created here, so a directory that cannot be made stops the start.
pub fn recording_downloads(settings: &Settings) -> anyhow::Result<Downloads> {
    let recordings = &settings.recordings;
    let dir = recordings.dir(&settings.data_dir);
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the recordings directory {}", dir.display()))?;
    let storage = recordings.storage(&settings.data_dir);
    tracing::debug!(?storage, "recording storage");
    let files = RecordingFiles::new(storage, dir).context("recording storage (recordings.*)")?;
    let key = recording_files::load_or_create_key(&settings.data_dir).with_context(|| {
        format!(
            "cannot read or create {}",
            settings
                .data_dir
                .join(recording_files::links::LINK_KEY_FILE)
                .display()
        )
    })?;
    Ok(Downloads {
        files,
        links: LinkSigner::new(key),
        link_ttl: recordings.link_ttl,
    })
}

/// Creates the default company and `admin` on first start.
pub async fn bootstrap(
    plenum: &Plenum,
    admin_password: Option<&str>,
) -> anyhow::Result<BootstrapOutcome> {
    let password = admin_password
        .map(Password::parse_new)
        .transpose()
        .context("the admin password (PLENUM_ADMIN_PASSWORD / --admin-password)")?;
    Ok(plenum.accounts().bootstrap(password).await?)
}

/// Tells an operator, once, what first start created. The generated password goes to stdout
/// only (not to the log): it is shown this one time and kept nowhere in clear.
pub fn announce(outcome: &BootstrapOutcome) {
    if let BootstrapOutcome::Initialised(first) = outcome {
        let (company, admin) = (&first.company, &first.admin);
        tracing::info!(company_id = %company.id, admin_id = %admin.id, "first start: created the default company and its admin");
        if let Some(password) = &first.generated_password {
            println!(
                "\nPlenum created the administrator account.\n\n    username: {}\n    password: {password}\n\nThis password is shown only now. Change it after signing in (POST /api/v1/user/password).\n",
                admin.username
            );
        }
    }
}

/// A server running in this process.
#[derive(Debug)]
pub struct RunningServer {
    pub addr: SocketAddr,
    /// Whether it serves HTTPS (`tls.*`) rather than plain HTTP.
    pub tls: bool,
    /// The media (UDP) address, when the server carries media.
    pub media: Option<SocketAddr>,
    /// The address of `/metrics`' own listener, when `metrics.listen` is set.
    pub metrics: Option<SocketAddr>,
    pub plenum: Plenum,
    pub bootstrap: BootstrapOutcome,
    /// Recording files and their download links (`recordings.*`): what the recorder stores
    /// into and what `/files/recordings/...` serves from.
    pub recordings: Downloads,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
    store: Backend,
    /// Held until the server has stopped (a restore or a second server waits for it).
    _lock: plenum_store_sqlite::DataDirLock,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish, closes the store.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let result = (&mut self.task).await.context("server task")?;
        self.store.close().await;
        result
    }

    /// `https://<addr>` or `http://<addr>`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Resolves when the server has stopped on its own (it never should).
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        (&mut self.task).await.context("server task")?
    }
}

/// Opens the store, bootstraps, binds `settings.listen` and serves (HTTPS with `settings.tls`)
/// until `stop`.
pub async fn start(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<RunningServer> {
    // First, so that a missing or wrong certificate or key stops the start before anything
    // is bound or written.
    let tls = settings
        .tls
        .as_ref()
        .map(crate::tls::server_config)
        .transpose()?;
    let (tls, certificate) = tls.unzip();
    // Before anything records a metric (the store's journal, the media port, the router).
    if settings.metrics.enabled {
        crate::metrics::exporter();
    }
    let tls_on = tls.is_some();
    let scheme = if tls_on { "https" } else { "http" };
    let listener =
        listen(settings.listen).with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let mut settings = settings.clone();
    settings.policy.public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{addr}"));
    // One server per data directory: two would both run its meetings and its recorder.
    let lock = plenum_store_sqlite::DataDirLock::acquire(&settings.data_dir)?;
    let (plenum, store) = open(&settings, clock).await?;
    let bootstrap = bootstrap(&plenum, settings.admin_password.as_deref()).await?;
    agree_on_secrets(&plenum, &settings).await?;
    // Meetings that were running when the last process died (crash, kill -9) end where it
    // last vouched for them, before anyone can join again.
    let abandoned = plenum.live().recover_live_record().await?;
    if abandoned.sessions + abandoned.attendance > 0 {
        tracing::warn!(
            sessions = abandoned.sessions,
            attendance = abandoned.attendance,
            "closed the meetings a previous run left open"
        );
    }
    let media = if settings.media.enabled {
        let media = &settings.media;
        let bound = plenum
            .live()
            .start_media(&plenum_service::MediaSettings {
                listen: media.listen,
                // Port 0 in an advertised address: the port the socket is bound to.
                advertise: media.candidates(0),
                ice_servers: media.ice_servers.clone(),
                max_peers_per_meeting: media.max_peers_per_meeting as usize,
                max_video_bitrate: media.max_video_bitrate,
                max_audio_bitrate: media.max_audio_bitrate,
            })
            .await
            .with_context(|| format!("cannot bind the media port {}", media.listen))?;
        tracing::info!(media = %bound, "media (UDP) listening");
        Some(bound)
    } else {
        None
    };
    let recordings = recording_downloads(&settings)?;
    plenum
        .history()
        .start_recordings(plenum_service::RecordingSettings {
            downloads: recordings.clone(),
            retention_days: settings.recordings.retention_days,
            ffmpeg: settings.recordings.ffmpeg.clone(),
        })?;
    // Recordings a killed server was writing: made playable and completed before anyone
    // lists them.
    let recovered = plenum.history().recover_recordings().await?;
    if recovered.completed + recovered.failed > 0 {
        tracing::warn!(
            completed = recovered.completed,
            failed = recovered.failed,
            "finished the recordings a previous run left open"
        );
    }
    let retention = spawn_recording_retention(plenum.clone());
    // Webhooks: the outbox is read from the store, so what a killed server had not delivered
    // goes out now.
    // What other servers on the database change in accounts and keys, forgotten here too.
    let notices = plenum.start_notices();
    // A node of several: its meetings' leases, and what dead nodes left open.
    let leases = plenum.start_leases();
    let deliveries = plenum
        .integrations()
        .start_delivery()
        .context("starting the webhook delivery thread")?;
    let app = plenum_http::router(
        AppState::new(plenum.clone())
            .with_rocketchat_rate_limit(settings.rocketchat_rate_limit)
            .with_recordings(recordings.clone()),
    );
    let (app, metrics) = crate::metrics::mount(app, &settings.metrics, &plenum).await?;
    let metrics_addr = metrics.as_ref().map(|m| m.addr);
    let listener = match tls {
        None => Listening::Plain(listener),
        Some(config) => {
            Listening::Tls(crate::tls::TlsListener::new(listener, config).context("TLS listener")?)
        }
    };
    let (tx, rx) = oneshot::channel::<()>();
    let janitor = spawn_token_janitor(plenum.clone());
    let reloader = spawn_hangup_handler(certificate);
    let live = plenum.clone();
    let shutdown = async move {
        let _ = rx.await;
        // Participants' connections are long-lived: end their meetings (recorded,
        // and every client told) so the HTTP server can drain.
        live.live().end_all_meetings(Duration::from_secs(10)).await;
        // Their recorders finish and store their files.
        live.history()
            .recordings_finished(Duration::from_secs(30))
            .await;
    };
    // `into_make_service`: each connection shares the router. Served as a plain `Router`,
    // axum deep-clones every route (with its layers) per connection and drops them when it
    // closes; a participant's WebSocket is a connection of one request, so that was most
    // of the HTTP cost of a join.
    // With the client's address on each connection (`ConnectInfo`): wrong meeting
    // passwords are counted by it.
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        let served = match listener {
            Listening::Plain(listener) => {
                // Small frames (a participant's `hello` right after the upgrade's answer,
                // events) go out at once instead of waiting for the previous segment's ACK
                // (Nagle).
                let listener = listener.tap_io(|tcp| {
                    if let Err(e) = tcp.set_nodelay(true) {
                        tracing::debug!(error = %e, "could not set TCP_NODELAY");
                    }
                });
                axum::serve(listener, service)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
            Listening::Tls(listener) => {
                // The same app and shutdown over TLS. The TLS listener sets TCP_NODELAY
                // itself, before the handshake; the empty `tap_io` is how axum gives a
                // listener of ours `ConnectInfo<SocketAddr>`.
                let listener = listener.tap_io(|_| {});
                axum::serve(listener, service)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
        };
        janitor.abort();
        retention.abort();
        notices.abort();
        if let Some(leases) = leases {
            leases.abort();
        }
        // An attempt under way is not recorded: the next start sends it again.
        let _ = tokio::task::spawn_blocking(move || deliveries.stop()).await;
        if let Some(metrics) = metrics {
            metrics.task.abort();
        }
        reloader.abort();
        served.context("HTTP server")
    });
    tracing::info!(%addr, tls = tls_on, "listening");
    Ok(RunningServer {
        addr,
        tls: tls_on,
        media,
        metrics: metrics_addr,
        plenum,
        bootstrap,
        recordings,
        shutdown: Some(tx),
        task,
        store,
        _lock: lock,
    })
}

/// What the server accepts connections with.
enum Listening {
    Plain(TcpListener),
    Tls(crate::tls::TlsListener),
}

/// Connections that may wait to be accepted (the kernel caps it at `net.core.somaxconn`).
/// Participants arrive in bursts (everyone joins at the meeting's start); with the 128 that
/// `TcpListener::bind` asks for, a burst of a few hundred overflowed the queue while the
/// server was busy, and each dropped handshake cost its client a 1 s SYN retransmit.
const LISTEN_BACKLOG: u32 = 4096;

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restarted server can bind again at once.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Removes expired tokens (and webhook events, app tokens, attempt counts) hourly, so the
/// tables do not grow without bound.
fn spawn_token_janitor(plenum: Plenum) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            match plenum.accounts().purge_expired_tokens().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "expired tokens removed"),
                Err(e) => tracing::warn!(error = %e, "could not remove expired tokens"),
            }
            match plenum.integrations().expire().await {
                Ok((0, 0)) => {}
                Ok((events, audit)) => {
                    tracing::info!(
                        events,
                        audit,
                        "expired webhook events and audit entries removed"
                    )
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not remove expired webhook events and audit entries")
                }
            }
            match plenum.accounts().purge_expired_app_tokens().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "expired app tokens removed"),
                Err(e) => tracing::warn!(error = %e, "could not remove expired app tokens"),
            }
            match plenum.accounts().purge_expired_attempts().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "expired attempt counts removed"),
                Err(e) => tracing::warn!(error = %e, "could not remove expired attempt counts"),
            }
        }
    })
}

/// Deletes expired recordings (`recordings.retention_days`) at start and every hour.
fn spawn_recording_retention(plenum: Plenum) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            if let Err(e) = plenum.history().expire_recordings().await {
                tracing::warn!(error = %e, "could not delete expired recordings");
            }
        }
    })
}

/// Answers SIGHUP (`systemctl reload`): re-reads the TLS certificate and key, so that a
/// renewed certificate needs no restart; without TLS there is nothing to reload, and the
/// signal is only logged (its default action would end the server). A file that cannot be
/// used is logged and the certificate served stays as it was. The handler is in place when
/// this returns.
#[cfg(unix)]
fn spawn_hangup_handler(certificate: Option<Arc<crate::tls::Certificate>>) -> JoinHandle<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(hangups) => hangups,
        Err(e) => {
            tracing::warn!(error = %e, "no SIGHUP handler: the TLS certificate is read at start only");
            return tokio::spawn(async {});
        }
    };
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            let Some(certificate) = &certificate else {
                tracing::info!("SIGHUP: nothing to reload (no TLS)");
                continue;
            };
            match certificate.reload() {
                Ok(()) => tracing::info!("SIGHUP: TLS certificate and key reloaded"),
                Err(e) => tracing::error!(
                    error = format!("{e:#}"),
                    "SIGHUP: TLS certificate not reloaded; still serving the previous one"
                ),
            }
        }
    })
}

#[cfg(not(unix))]
fn spawn_hangup_handler(_: Option<Arc<crate::tls::Certificate>>) -> JoinHandle<()> {
    tokio::spawn(async {})
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

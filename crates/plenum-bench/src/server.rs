//! Starting and stopping the server under test. The [`Server`] guard stops the process
//! (SIGTERM, bounded wait, then SIGKILL) and removes its temporary data directory when it is
//! dropped, on success and on every error path alike. Several servers on one PostgreSQL
//! database are the nodes of one installation ([`Node`], docs/scaling.md).

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};
use hyper::Method;
use tempfile::TempDir;

use crate::client::{self, Endpoint};

/// How long the server may take to answer its first `GET /readyz` with 200.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between two health probes while waiting for the server.
const STARTUP_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Upper bound on health probes (the time bound above normally ends the loop first).
const STARTUP_MAX_PROBES: u32 = 1_000;
/// How long one health probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the server gets to shut down after SIGTERM before it is killed.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// How many lines of the server log to show when something goes wrong.
const LOG_TAIL_LINES: usize = 40;

/// Where and how to start the server.
#[derive(Debug)]
pub struct ServerConfig {
    /// Path to the `plenum` binary.
    pub binary: PathBuf,
    /// Where the server's stderr goes; `None` means a file in the run's temporary directory.
    pub log_path: Option<PathBuf>,
    /// Arguments of an offline `plenum` command that seeds the data directory before the
    /// server starts (e.g. `dev generate --schedules 100000`); not measured.
    pub seed: Option<Vec<String>>,
    /// An existing data directory and its admin password: served as it is, not deleted.
    pub existing: Option<(PathBuf, String)>,
    /// More `plenum serve` arguments.
    pub extra_args: Vec<String>,
    /// PostgreSQL instead of SQLite: the seeding command and the server use this database
    /// (the data directory then holds only the installation's secrets).
    pub database_url: Option<String>,
    /// One node of several on `database_url`; `None` for the only server.
    pub node: Option<Node>,
}

/// A server as one node of several (docs/scaling.md): its node address is its own listener,
/// and every node after the first holds the first's secrets, as an operator copies them.
#[derive(Debug, Clone, Default)]
pub struct Node {
    /// The first node's data directory, whose secrets this node copies, and the admin
    /// password it was started with; `None` for the first.
    pub first: Option<(PathBuf, String)>,
}

/// The secrets every node of an installation holds in its data directory (docs/scaling.md).
const NODE_SECRETS: [&str; 2] = ["app-key.secret", "recording-links.secret"];

/// The server's setting for a PostgreSQL database (`plenum --database-url`).
const DATABASE_URL_ENV: &str = "PLENUM_DATABASE_URL";

/// The server's setting for its node address (`plenum serve --node-address`).
const NODE_ADDRESS_ENV: &str = "PLENUM_NODE_ADDRESS";

/// How long seeding the data directory may take.
const SEED_TIMEOUT: Duration = Duration::from_secs(900);

/// A running server. Dropping it stops the server and deletes its data directory.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    addr: SocketAddr,
    admin_password: String,
    data_dir: PathBuf,
    log_path: PathBuf,
    // Declared last so it is removed after the process has been stopped in `Drop::drop`
    // (which runs before any field is dropped).
    _temp: TempDir,
}

impl Server {
    /// Starts the server on a free loopback port with a fresh data directory and waits until
    /// `GET /readyz` answers 200 (serving, its database answering, migrations applied).
    pub async fn start(config: &ServerConfig) -> Result<Self> {
        if !config.binary.is_file() {
            bail!(
                "server binary {} not found; build it with `cargo build --release -p plenum` \
                 (scripts/bench.sh does that) or pass --server PATH",
                config.binary.display()
            );
        }
        let temp = tempfile::Builder::new()
            .prefix("plenum-bench-")
            .tempdir()
            .context("creating temporary directory")?;
        let data_dir = match &config.existing {
            Some((dir, _)) => dir.clone(),
            None => {
                let dir = temp.path().join("data");
                std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
                dir
            }
        };
        let log_path = config
            .log_path
            .clone()
            .unwrap_or_else(|| temp.path().join("server.log"));
        let log = File::create(&log_path)
            .with_context(|| format!("creating server log {}", log_path.display()))?;

        let first_node = config.node.as_ref().and_then(|node| node.first.as_ref());
        if let Some((first, _)) = first_node {
            for secret in NODE_SECRETS {
                std::fs::copy(first.join(secret), data_dir.join(secret)).with_context(|| {
                    format!("copying {secret} from the first node's {}", first.display())
                })?;
            }
        }
        let addr = free_loopback_port()?;
        let admin_password = match (&config.existing, first_node) {
            (Some((_, password)), _) | (None, Some((_, password))) => password.clone(),
            (None, None) => throwaway_password(),
        };
        // Through the environment: a URL's password stays out of the process list. An
        // SQLite run clears it, so a URL in the harness's environment cannot turn it into a
        // PostgreSQL run.
        let use_database = |command: &mut Command| {
            match &config.database_url {
                Some(url) => command.env(DATABASE_URL_ENV, url),
                None => command.env_remove(DATABASE_URL_ENV),
            };
        };
        if let (Some(seed), None) = (&config.seed, &config.existing) {
            // The seeding command initialises the directory with the same admin password.
            let mut seeding = Command::new(&config.binary);
            use_database(&mut seeding);
            let run = tokio::process::Command::from(seeding)
                .arg("--data-dir")
                .arg(&data_dir)
                .arg("--durability")
                .arg("normal")
                .args(seed)
                .env("PLENUM_ADMIN_PASSWORD", &admin_password)
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output();
            let output = tokio::time::timeout(SEED_TIMEOUT, run)
                .await
                .context("seeding the data directory took too long")?
                .context("running the seeding command")?;
            if !output.status.success() {
                bail!(
                    "seeding failed ({}): {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr)
                );
            }
        }
        let mut serve = Command::new(&config.binary);
        use_database(&mut serve);
        if config.node.is_some() {
            // Where the other nodes relay to: this node's own listener.
            serve.env(NODE_ADDRESS_ENV, format!("http://{addr}"));
        } else {
            serve.env_remove(NODE_ADDRESS_ENV);
        }
        let child = serve
            .arg("serve")
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--admin-password")
            .arg(&admin_password)
            .args(&config.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("starting {}", config.binary.display()))?;

        let mut server = Self {
            child: Some(child),
            addr,
            admin_password,
            data_dir,
            log_path,
            _temp: temp,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's process id (0 once stopped).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The password the `admin` user was created with.
    pub fn admin_password(&self) -> &str {
        &self.admin_password
    }

    /// The server's data directory (for scenarios that seed data).
    /// Where the server's stderr goes.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Fails if the server process has exited, with the tail of its log.
    pub fn ensure_running(&mut self) -> Result<()> {
        let Some(child) = self.child.as_mut() else {
            bail!("server was already stopped");
        };
        if let Some(status) = child.try_wait().context("checking the server process")? {
            bail!(
                "server exited unexpectedly ({status}); last lines of its log {}:\n{}",
                self.log_path.display(),
                log_tail(&self.log_path)
            );
        }
        Ok(())
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let health = Endpoint::new(self.addr, Method::GET, "/readyz")?;
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut last_problem = String::from("no probe made");
        for _ in 0..STARTUP_MAX_PROBES {
            self.ensure_running()?;
            match client::send_once(self.addr, &health, PROBE_TIMEOUT).await {
                Ok((status, _)) if status.is_success() => return Ok(()),
                Ok((status, body)) => {
                    last_problem = format!("answered {status}: {}", client::snippet(&body));
                }
                Err(error) => last_problem = format!("{error:#}"),
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(STARTUP_POLL_INTERVAL).await;
        }
        bail!(
            "server at {} not ready within {STARTUP_TIMEOUT:?} (GET /readyz {last_problem}); \
             last lines of its log {}:\n{}",
            self.addr,
            self.log_path.display(),
            log_tail(&self.log_path)
        )
    }

    /// Stops the server: SIGTERM, wait up to [`SHUTDOWN_TIMEOUT`], then SIGKILL. Returns how
    /// it ended, for the caller to report.
    pub fn stop(&mut self) -> Result<String> {
        let Some(mut child) = self.child.take() else {
            return Ok("already stopped".to_owned());
        };
        if let Some(status) = child.try_wait().context("checking the server process")? {
            return Ok(format!("had already exited ({status})"));
        }
        // The workspace forbids `unsafe`, so the signal goes through kill(1) instead of
        // libc::kill. If that fails, fall through to SIGKILL below.
        let term_sent = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if term_sent {
            let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
            while Instant::now() < deadline {
                if let Some(status) = child.try_wait().context("waiting for the server")? {
                    return Ok(format!("stopped by SIGTERM ({status})"));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        child.kill().context("killing the server")?;
        let status = child.wait().context("waiting for the killed server")?;
        Ok(format!(
            "did not stop on SIGTERM within {SHUTDOWN_TIMEOUT:?}; killed ({status})"
        ))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Err(error) = self.stop() {
            eprintln!("plenum-bench: stopping the server failed: {error:#}");
        }
    }
}

/// A loopback address with a port that was free a moment ago: bind port 0, read the port the
/// kernel chose, release it for the server.
fn free_loopback_port() -> Result<SocketAddr> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free loopback port")?;
    let addr = listener.local_addr().context("reading the free port")?;
    drop(listener);
    Ok(addr)
}

/// A password for the throwaway admin of a throwaway data directory that lives for one run on
/// loopback: unique per run, long, mixed characters, so any reasonable password rule accepts it.
fn throwaway_password() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    format!("Bench-{nanos:x}-{:x}-pw", std::process::id())
}

fn log_tail(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(LOG_TAIL_LINES);
            if lines.is_empty() {
                "(log is empty)".to_owned()
            } else {
                lines[start..].join("\n")
            }
        }
        Err(error) => format!("(could not read the log: {error})"),
    }
}

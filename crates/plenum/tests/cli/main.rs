//! Tests of the real `plenum` binary, used as an operator would: its command line and help,
//! what it prints, its logs, signals, crashes, the offline commands and the configuration.
//!
//! Every test has its own temporary directory (data directory and captured output) and its own
//! port on 127.0.0.1. Children get an environment without the caller's `PLENUM_*`/`RUST_LOG`,
//! every wait is bounded in count and time, and a server that is still running when its test
//! ends (or fails) is killed and reaped by [`Server`]'s `Drop`.
#![cfg(unix)]

mod backup;
mod bot;
mod config;
mod first_start;
mod help;
mod history;
mod live;
mod logs;
mod media;
mod nodes;
mod offline;
mod packaging;
mod postgres;
mod recording;
mod signals;
mod tls;
mod webhooks;

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;

pub const BIN: &str = env!("CARGO_BIN_EXE_plenum");
/// The admin password tests that do not exercise the generated one start with.
pub const ADMIN_PASSWORD: &str = "Admin-Passw0rd-1";
/// How long a server may take to answer /healthz after it was started.
pub const STARTUP_LIMIT: Duration = Duration::from_secs(20);
/// How long a server may take to exit after a signal.
pub const EXIT_LIMIT: Duration = Duration::from_secs(10);
/// How long an offline command may take: a bound against a hung command, not a speed check
/// (a 100,000-line import beside live joins took over 20 s on a loaded 2-CPU machine).
pub const COMMAND_LIMIT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(25);
/// Upper bound on polling rounds, whatever the clock says.
const MAX_POLLS: u32 = 2_000;
/// The line `plenum serve` prints once it is ready, followed by `http://<addr>`.
const LISTENING: &str = "Plenum is listening on http://";

/// `plenum`, with an environment free of the caller's `PLENUM_*` and `RUST_LOG` settings.
pub fn plenum() -> std::process::Command {
    let mut cmd = std::process::Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("PLENUM_") || name == "RUST_LOG" {
            cmd.env_remove(&key);
        }
    }
    // Every test's server binds its own media port: the default 7481 would be shared.
    cmd.env("PLENUM_MEDIA_LISTEN", "127.0.0.1:0");
    cmd.stdin(Stdio::null());
    cmd
}

/// A port on 127.0.0.1 that was free a moment ago, never handed out twice by this process.
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    for _ in 0..100 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("binding 127.0.0.1:0")
            .port();
        if HANDED_OUT
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(port)
        {
            return port;
        }
    }
    panic!("no free port found on 127.0.0.1");
}

pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("building an HTTP client")
}

/// Whether something answers `GET /healthz` with `ok` at `addr`.
pub async fn healthy(client: &reqwest::Client, addr: SocketAddr) -> bool {
    let sent = client
        .get(format!("http://{addr}/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    match sent {
        Ok(response) if response.status() == StatusCode::OK => {
            response.text().await.is_ok_and(|body| body == "ok")
        }
        _ => false,
    }
}

/// What a finished command left behind.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert!(self.status.success(), "expected success: {self:#?}");
        self
    }

    #[track_caller]
    pub fn assert_failed(&self) -> &Self {
        assert!(
            !self.status.success() && self.status.code().is_some(),
            "expected a failure exit code: {self:#?}"
        );
        self
    }
}

/// Runs a command to completion (at most [`COMMAND_LIMIT`]), optionally writing `stdin` to it.
pub async fn run(cmd: std::process::Command, stdin: Option<&str>) -> Run {
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .kill_on_drop(true);
    let mut child = cmd.spawn().expect("starting plenum");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("the child's stdin");
        pipe.write_all(input.as_bytes())
            .await
            .expect("writing to the child's stdin");
        drop(pipe);
    }
    // On timeout the future, and with it the child, is dropped: `kill_on_drop` ends it.
    let output = tokio::time::timeout(COMMAND_LIMIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("plenum did not finish within {COMMAND_LIMIT:?}"))
        .expect("waiting for plenum");
    Run {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A test's own directory: the data directory, configuration files and captured output.
#[derive(Debug)]
pub struct Sandbox {
    dir: TempDir,
    outputs: AtomicUsize,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("plenum-cli-")
            .tempdir()
            .expect("creating a temporary directory");
        Self {
            dir,
            outputs: AtomicUsize::new(0),
        }
    }

    /// The data directory; it does not exist until plenum creates it.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Writes a file in the sandbox (outside the data directory) and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("writing a file in the sandbox");
        path
    }

    /// `plenum --data-dir <data> <args>`, run to completion.
    pub async fn run(&self, args: &[&str]) -> Run {
        run(self.command(args), None).await
    }

    /// Like [`Sandbox::run`], with `input` on standard input.
    pub async fn run_with_stdin(&self, args: &[&str], input: &str) -> Run {
        run(self.command(args), Some(input)).await
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = plenum();
        cmd.arg("--data-dir").arg(self.data_dir()).args(args);
        cmd
    }

    /// Starts `plenum serve --listen 127.0.0.1:<free port> <args>` on the data directory and
    /// waits until it is ready. Should the port have been taken in the meantime, it tries
    /// another; the captured output covers every attempt.
    pub async fn serve(&self, args: &[&str], env: &[(&str, &str)]) -> Server {
        let output = self.output_files();
        let mut failures = Vec::new();
        for _ in 0..3 {
            let addr = loopback(free_port());
            let listen = addr.to_string();
            let mut all: Vec<&str> = vec!["--listen", &listen];
            all.extend_from_slice(args);
            match self.start(addr, &all, env, output.clone()).await {
                Ok(server) => return server,
                Err(e) if e.contains(&format!("cannot listen on {addr}")) => failures.push(e),
                Err(e) => panic!("{e}"),
            }
        }
        panic!("plenum serve found no free port: {failures:#?}");
    }

    /// Starts `plenum serve <args>` (which must make it listen on `addr`) and waits until it is
    /// ready; the error has the exit status and the output if it stopped or listens elsewhere.
    pub async fn serve_at(
        &self,
        addr: SocketAddr,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Server, String> {
        let output = self.output_files();
        self.start(addr, args, env, output).await
    }

    pub fn output_files(&self) -> (PathBuf, PathBuf) {
        let n = self.outputs.fetch_add(1, Ordering::Relaxed);
        let base = self.dir.path();
        (
            base.join(format!("serve-{n}.stdout")),
            base.join(format!("serve-{n}.stderr")),
        )
    }

    async fn start(
        &self,
        addr: SocketAddr,
        args: &[&str],
        env: &[(&str, &str)],
        output: (PathBuf, PathBuf),
    ) -> Result<Server, String> {
        let mut server = self.spawn_serve(addr, args, env, output);
        // On failure `server` is dropped here, which kills the child if it still runs.
        server.wait_ready().await?;
        Ok(server)
    }

    /// Spawns `plenum serve --data-dir <this sandbox's> <args>`, which must listen on `addr`,
    /// without waiting for it; its output goes to the given files.
    pub fn spawn_serve(
        &self,
        addr: SocketAddr,
        args: &[&str],
        env: &[(&str, &str)],
        (stdout, stderr): (PathBuf, PathBuf),
    ) -> Server {
        let mut cmd = plenum();
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(args)
            .envs(env.iter().copied())
            .stdout(append_to(&stdout))
            .stderr(append_to(&stderr));
        let child = cmd.spawn().expect("starting plenum serve");
        Server {
            child,
            addr,
            stdout,
            stderr,
            client: http_client(),
        }
    }
}

fn append_to(path: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("opening an output file")
}

fn read(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    }
}

/// An HTTP reply: status, JSON body (`Null` if none) and the `x-request-id` header.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub request_id: Option<String>,
}

impl Reply {
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        assert_eq!(self.body["errorCode"], code, "{self:?}");
        assert!(self.body["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
}

/// The output of a server that has exited.
#[derive(Debug)]
pub struct Stopped {
    pub stdout: String,
    pub stderr: String,
}

/// A running `plenum serve`. Dropping it kills the process and reaps it.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    stdout: PathBuf,
    stderr: PathBuf,
    client: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Both are no-ops once the child has been waited for.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Waits until the process has printed its listening line and answers /healthz.
    async fn wait_ready(&mut self) -> Result<(), String> {
        let announced = format!("{LISTENING}{}\n", self.addr);
        let deadline = Instant::now() + STARTUP_LIMIT;
        for _ in 0..MAX_POLLS {
            if let Some(status) = self.child.try_wait().expect("polling plenum serve") {
                return Err(format!(
                    "plenum serve exited with {status} before it was ready\n{}",
                    self.output()
                ));
            }
            let stdout = self.stdout();
            if stdout.contains(LISTENING) && !stdout.contains(&announced) {
                return Err(format!(
                    "plenum serve listens elsewhere than {}\n{}",
                    self.addr,
                    self.output()
                ));
            }
            // The listening line comes after the first-start announcement, so once it is
            // there the whole start-up output is.
            if stdout.contains(&announced) && healthy(&self.client, self.addr).await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        Err(format!(
            "plenum serve was not ready on {} within {STARTUP_LIMIT:?}\n{}",
            self.addr,
            self.output()
        ))
    }

    fn output(&self) -> String {
        format!(
            "--- stdout:\n{}\n--- stderr:\n{}",
            self.stdout(),
            self.stderr()
        )
    }

    /// Everything the server printed on stdout so far.
    pub fn stdout(&self) -> String {
        read(&self.stdout)
    }

    /// Everything the server logged on stderr so far.
    pub fn stderr(&self) -> String {
        read(&self.stderr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `GET path`, with an optional bearer token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(self.client.get(self.url(path)), path, token, None)
            .await
    }

    /// `POST path`, with an optional bearer token and JSON body.
    pub async fn post(&self, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        self.send(self.client.post(self.url(path)), path, token, body)
            .await
    }

    async fn send(
        &self,
        mut request: reqwest::RequestBuilder,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}\n{}", self.output()));
        let status = response.status();
        let request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.expect("reading a response body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
        };
        Reply {
            status,
            body,
            request_id,
        }
    }

    pub async fn try_sign_in(&self, username: &str, password: &str) -> Reply {
        self.post(
            "/api/v1/user/sign_in",
            None,
            Some(serde_json::json!({"username": username, "password": password})),
        )
        .await
    }

    /// Signs in and returns the token; fails the test unless the server says 200.
    pub async fn sign_in(&self, username: &str, password: &str) -> String {
        let reply = self.try_sign_in(username, password).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "sign-in of {username}: {reply:?}"
        );
        reply.body["user_token"]
            .as_str()
            .expect("a user_token")
            .to_owned()
    }

    /// Sends a signal with `kill -<name> <pid>` (the crate may not use `unsafe`).
    pub async fn signal(&self, name: &str) {
        let mut kill = std::process::Command::new("kill");
        kill.arg(format!("-{name}")).arg(self.pid().to_string());
        let sent = run(kill, None).await;
        assert!(sent.status.success(), "kill -{name}: {sent:?}");
    }

    /// Waits for the process to exit, at most `limit`.
    pub async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        for _ in 0..MAX_POLLS {
            if let Some(status) = self.child.try_wait().expect("polling plenum serve") {
                return status;
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        panic!(
            "plenum serve did not exit within {limit:?}\n{}",
            self.output()
        );
    }

    /// Stops the server with SIGTERM, as a service manager would, and checks it exited 0.
    pub async fn stop(mut self) -> Stopped {
        self.signal("TERM").await;
        let status = self.wait_exit(EXIT_LIMIT).await;
        assert!(status.success(), "exit status {status}\n{}", self.output());
        Stopped {
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }

    /// Kills the server with SIGKILL: a crash, with no chance to clean up.
    pub async fn crash(mut self) {
        use std::os::unix::process::ExitStatusExt;
        self.signal("KILL").await;
        let status = self.wait_exit(EXIT_LIMIT).await;
        assert_eq!(status.signal(), Some(9), "exit status {status}");
    }
}

/// The passwords printed by the first-start announcement (`    password: …` lines).
pub fn announced_passwords(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("    password: "))
        .map(str::to_owned)
        .collect()
}

/// The one password printed by the first-start announcement.
#[track_caller]
pub fn announced_password(stdout: &str) -> String {
    let found = announced_passwords(stdout);
    assert_eq!(found.len(), 1, "one announced password expected:\n{stdout}");
    found[0].clone()
}

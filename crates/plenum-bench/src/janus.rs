//! The same-machine anchor of the media benchmarks: a Janus (Debian package `janus`, 1.1.x)
//! with only its HTTP transport and its VideoRoom plugin, on 127.0.0.1, ICE-lite, gathering on
//! `lo` only. [`JanusServer`] starts and stops it; [`JanusApi`] speaks its HTTP API (sessions,
//! handles, plugin messages, long-polled events).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use hyper::Method;
use serde_json::{Value, json};

use crate::client::{self, Endpoint};

/// How long Janus may take to answer `GET /janus/info` after it starts.
const START_LIMIT: Duration = Duration::from_secs(30);
/// How long one API request may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// Janus answers a long poll after at most 30 s (with a keepalive).
const POLL_TIMEOUT: Duration = Duration::from_secs(45);

const PLUGINS_FOLDER: &str = "/usr/lib/x86_64-linux-gnu/janus/plugins";
const TRANSPORTS_FOLDER: &str = "/usr/lib/x86_64-linux-gnu/janus/transports";
const EVENTS_FOLDER: &str = "/usr/lib/x86_64-linux-gnu/janus/events";
const LOGGERS_FOLDER: &str = "/usr/lib/x86_64-linux-gnu/janus/loggers";

/// A running Janus, killed when dropped.
#[derive(Debug)]
pub struct JanusServer {
    child: Child,
    addr: SocketAddr,
    _config: tempfile::TempDir,
    log: PathBuf,
}

impl JanusServer {
    /// Writes a configuration (HTTP transport on a free loopback port, VideoRoom only,
    /// ICE-lite on `lo`) and starts `binary`, pinned to `cpu` with `taskset` when given.
    pub async fn start(binary: &Path, cpu: Option<u32>, log: &Path) -> Result<Self> {
        let config = tempfile::Builder::new()
            .prefix("plenum-bench-janus-")
            .tempdir()
            .context("creating Janus's configuration directory")?;
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            listener.local_addr()?.port()
        };
        let dir = config.path();
        write_config(dir, port)?;
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("creating the Janus log {}", log.display()))?;
        let mut command = match cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpu.to_string()).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        command
            .arg("-F")
            .arg(dir)
            .arg("-C")
            .arg(dir.join("janus.jcfg"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        let child = command.spawn().with_context(|| {
            format!(
                "starting {} (scripts/install-bench-deps.sh)",
                binary.display()
            )
        })?;
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            _config: config,
            log: log.to_owned(),
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let started = Instant::now();
        let info = Endpoint::new(self.addr, Method::GET, "/janus/info")?;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "Janus exited at start ({status}); see {}",
                    self.log.display()
                );
            }
            if let Ok((status, _)) =
                client::send_once(self.addr, &info, Duration::from_secs(2)).await
                && status.is_success()
            {
                return Ok(());
            }
            if started.elapsed() > START_LIMIT {
                bail!(
                    "Janus did not answer within {START_LIMIT:?}; see {}",
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it is still running.
    pub fn ensure_running(&mut self) -> Result<()> {
        match self.child.try_wait()? {
            Some(status) => bail!("Janus exited ({status}); see {}", self.log.display()),
            None => Ok(()),
        }
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for JanusServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn write_config(dir: &Path, port: u16) -> Result<()> {
    let disabled_plugins = [
        "audiobridge",
        "echotest",
        "recordplay",
        "sip",
        "nosip",
        "streaming",
        "textroom",
        "videocall",
        "voicemail",
        "duktape",
        "lua",
    ]
    .map(|p| format!("libjanus_{p}.so"))
    .join(",");
    let disabled_transports = ["websockets", "pfunix", "mqtt", "nanomsg", "rabbitmq"]
        .map(|p| format!("libjanus_{p}.so"))
        .join(",");
    let main = format!(
        r#"general: {{
	configs_folder = "{dir}"
	plugins_folder = "{PLUGINS_FOLDER}"
	transports_folder = "{TRANSPORTS_FOLDER}"
	events_folder = "{EVENTS_FOLDER}"
	loggers_folder = "{LOGGERS_FOLDER}"
	debug_level = 3
	session_timeout = 60
}}
certificates: {{
}}
media: {{
}}
nat: {{
	ice_lite = true
	full_trickle = false
}}
plugins: {{
	disable = "{disabled_plugins}"
}}
transports: {{
	disable = "{disabled_transports}"
}}
events: {{
	broadcast = false
}}
loggers: {{
	disable = "libjanus_jsonlog.so"
}}
"#,
        dir = dir.display()
    );
    let http = format!(
        r#"general: {{
	json = "compact"
	base_path = "/janus"
	http = true
	port = {port}
	ip = "127.0.0.1"
	https = false
}}
admin: {{
	admin_http = false
	admin_https = false
}}
cors: {{
}}
"#
    );
    std::fs::write(dir.join("janus.jcfg"), main)?;
    std::fs::write(dir.join("janus.transport.http.jcfg"), http)?;
    std::fs::write(dir.join("janus.plugin.videoroom.jcfg"), "general: {\n}\n")?;
    Ok(())
}

/// Janus's HTTP API at one address.
#[derive(Debug, Clone, Copy)]
pub struct JanusApi {
    pub addr: SocketAddr,
}

fn transaction() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("t{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

impl JanusApi {
    /// POSTs `body` (with a fresh transaction) to `path`; the answer, which must not be an
    /// `error`.
    pub async fn post(&self, path: &str, mut body: Value) -> Result<Value> {
        body["transaction"] = json!(transaction());
        let request = Endpoint::new(self.addr, Method::POST, path)?.json_body(&body)?;
        let (status, bytes) = client::send_once(self.addr, &request, CALL_TIMEOUT).await?;
        if !status.is_success() {
            bail!("Janus {path}: {status}: {}", client::snippet(&bytes));
        }
        let answer: Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("Janus {path}: not JSON: {}", client::snippet(&bytes)))?;
        if answer["janus"] == "error" {
            bail!("Janus {path}: {}", answer["error"]);
        }
        Ok(answer)
    }

    /// The host address Janus gathers its candidates on (`local-ip` of `GET /janus/info`).
    pub async fn local_ip(&self) -> Result<std::net::IpAddr> {
        let request = Endpoint::new(self.addr, Method::GET, "/janus/info")?;
        let (_, bytes) = client::send_once(self.addr, &request, CALL_TIMEOUT).await?;
        let info: Value = serde_json::from_slice(&bytes)?;
        info["local-ip"]
            .as_str()
            .and_then(|ip| ip.parse().ok())
            .ok_or_else(|| anyhow!("no local-ip in Janus's info"))
    }

    /// A new session's id.
    pub async fn create_session(&self) -> Result<u64> {
        let answer = self.post("/janus", json!({"janus": "create"})).await?;
        answer["data"]["id"]
            .as_u64()
            .ok_or_else(|| anyhow!("no session id in {answer}"))
    }

    /// A new handle of the VideoRoom plugin in `session`.
    pub async fn attach(&self, session: u64) -> Result<u64> {
        let answer = self
            .post(
                &format!("/janus/{session}"),
                json!({"janus": "attach", "plugin": "janus.plugin.videoroom"}),
            )
            .await?;
        answer["data"]["id"]
            .as_u64()
            .ok_or_else(|| anyhow!("no handle id in {answer}"))
    }

    /// A plugin message (with a JSEP when given); the synchronous answer (`success` with
    /// `plugindata`, or `ack` when the result comes as an event).
    pub async fn message(
        &self,
        session: u64,
        handle: u64,
        body: Value,
        jsep: Option<Value>,
    ) -> Result<Value> {
        let mut message = json!({"janus": "message", "body": body});
        if let Some(jsep) = jsep {
            message["jsep"] = jsep;
        }
        self.post(&format!("/janus/{session}/{handle}"), message)
            .await
    }

    /// The events of `session` (a long poll of at most 30 s; none on a keepalive).
    pub async fn poll(&self, session: u64) -> Result<Vec<Value>> {
        let path = format!("/janus/{session}?maxev=20");
        let request = Endpoint::new(self.addr, Method::GET, &path)?;
        let (status, bytes) = client::send_once(self.addr, &request, POLL_TIMEOUT).await?;
        if !status.is_success() {
            bail!("Janus {path}: {status}: {}", client::snippet(&bytes));
        }
        let answer: Value = serde_json::from_slice(&bytes)?;
        Ok(match answer {
            Value::Array(events) => events,
            single if single["janus"] == "keepalive" => Vec::new(),
            single => vec![single],
        })
    }

    /// Tells Janus that `handle` has no more candidates (they were all in its SDP).
    pub async fn trickle_completed(&self, session: u64, handle: u64) -> Result<()> {
        self.post(
            &format!("/janus/{session}/{handle}"),
            json!({"janus": "trickle", "candidate": {"completed": true}}),
        )
        .await
        .map(|_| ())
    }

    /// Ends `session` (its handles hang up).
    pub async fn destroy(&self, session: u64) -> Result<()> {
        self.post(&format!("/janus/{session}"), json!({"janus": "destroy"}))
            .await
            .map(|_| ())
    }

    /// Creates VideoRoom `room` for up to `publishers` publishers, Opus and VP8.
    pub async fn create_room(&self, room: u64, publishers: u32) -> Result<()> {
        let session = self.create_session().await?;
        let handle = self.attach(session).await?;
        let answer = self
            .message(
                session,
                handle,
                json!({"request": "create", "room": room, "publishers": publishers,
                       "audiocodec": "opus", "videocodec": "vp8", "bitrate": 0,
                       "notify_joining": false, "permanent": false}),
                None,
            )
            .await?;
        let data = &answer["plugindata"]["data"];
        if data["videoroom"] != "created" {
            bail!("creating room {room}: {answer}");
        }
        self.destroy(session).await
    }
}

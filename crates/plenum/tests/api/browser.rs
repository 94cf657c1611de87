//! Headless Chromium driven over the Chrome DevTools Protocol (CDP), with the WebSocket client
//! the tests already have: enough to open pages, run script in them and wait for what they
//! show. Not a general CDP client.
//!
//! Chromium is `PLENUM_CHROMIUM` or `chromium` (scripts/install-test-deps.sh installs Debian's).
//! It runs with fake camera and microphone, accepts their use without asking, and its
//! DevTools endpoint listens on 127.0.0.1 only. Nothing leaves loopback: background networking,
//! component updates and sync are off, and the host resolver knows no name but `localhost`.
//!
//! It is not put in a network namespace of its own (`unshare -n`): the server under test runs
//! inside the test process, in this process's namespace, and Chromium must reach it. To fence
//! the whole run in, run the test binary itself in one (checked: the join page tests pass so):
//! `unshare -n sh -c 'ip link set lo up && cargo test --offline -p plenum --test api join_page'`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a page may take to show what a test waits for.
pub const WAIT: Duration = Duration::from_secs(20);

/// A running Chromium. Killed when dropped.
pub struct Browser {
    _child: Child,
    /// `ws://127.0.0.1:PORT/devtools/browser/ID`
    browser_url: String,
    /// `127.0.0.1:PORT`
    devtools: String,
    _profile: TempDir,
}

/// One tab, with its own DevTools connection.
pub struct Page {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// What the page's console and exceptions said (for failure messages).
    pub console: Vec<String>,
}

impl Browser {
    pub async fn launch() -> Self {
        let chromium = std::env::var("PLENUM_CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
        let profile = tempfile::Builder::new()
            .prefix("plenum-chromium-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a profile directory: {e}"));
        let mut child = Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                "--allow-loopback-in-peer-connection",
                "--disable-features=WebRtcHideLocalIpsWithMdns",
                "--autoplay-policy=no-user-gesture-required",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-timer-throttling",
                "--disable-renderer-backgrounding",
                "--disable-backgrounding-occluded-windows",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1280,800",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {chromium} (scripts/install-test-deps.sh installs it): {e}")
            });
        let stderr = child
            .stderr
            .take()
            .unwrap_or_else(|| unreachable!("stderr is piped"));
        let mut lines = BufReader::new(stderr).lines();
        let browser_url = tokio::time::timeout(Duration::from_secs(30), async {
            let mut seen = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    return url.trim().to_owned();
                }
                seen.push(line);
            }
            panic!(
                "chromium exited before its DevTools endpoint: {}",
                seen.join("\n")
            )
        })
        .await
        .unwrap_or_else(|_| panic!("chromium did not open its DevTools endpoint within 30 s"));
        // Keep draining stderr, or Chromium blocks once the pipe is full.
        let log = std::env::var_os("TEST_LOG").is_some();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if log {
                    eprintln!("chromium: {line}");
                }
            }
        });
        let devtools = browser_url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        Self {
            _child: child,
            browser_url,
            devtools,
            _profile: profile,
        }
    }

    /// A new tab at `url` (its load is not awaited: wait for what it shows).
    pub async fn open(&self, url: &str) -> Page {
        self.open_with(url, None).await
    }

    /// A new tab at `url` that runs `script` before any of the page's own (DevTools-injected
    /// script is not subject to the page's Content-Security-Policy).
    pub async fn open_with(&self, url: &str, script: Option<&str>) -> Page {
        let (mut browser, _) = tokio_tungstenite::connect_async(self.browser_url.as_str())
            .await
            .unwrap_or_else(|e| panic!("cannot reach chromium's DevTools: {e}"));
        let created = command(
            &mut browser,
            1,
            "Target.createTarget",
            json!({"url": "about:blank"}),
            |_| {},
        )
        .await;
        let target = created["targetId"]
            .as_str()
            .unwrap_or_else(|| panic!("no targetId in {created}"))
            .to_owned();
        let _ = browser.close(None).await;
        let page_url = format!("ws://{}/devtools/page/{target}", self.devtools);
        let (socket, _) = tokio_tungstenite::connect_async(page_url.as_str())
            .await
            .unwrap_or_else(|e| panic!("cannot attach to the page: {e}"));
        let mut page = Page {
            socket,
            next_id: 1,
            console: Vec::new(),
        };
        page.call("Runtime.enable", json!({})).await;
        page.call("Page.enable", json!({})).await;
        if let Some(source) = script {
            page.call(
                "Page.addScriptToEvaluateOnNewDocument",
                json!({"source": source}),
            )
            .await;
        }
        page.navigate(url).await;
        page
    }
}

/// Sends one CDP command and returns its `result` (panics on an error); every other message
/// that arrives meanwhile (events) goes to `on_event`.
async fn command(
    socket: &mut WebSocketStream<MaybeTlsStream<TcpStream>>,
    id: u64,
    method: &str,
    params: Value,
    mut on_event: impl FnMut(&Value),
) -> Value {
    let message = json!({"id": id, "method": method, "params": params});
    socket
        .send(Message::text(message.to_string()))
        .await
        .unwrap_or_else(|e| panic!("cannot send {method}: {e}"));
    loop {
        let frame = tokio::time::timeout(WAIT, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no answer to {method} within {WAIT:?}"));
        match frame {
            Some(Ok(Message::Text(text))) => {
                let v: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                if v["id"] == id {
                    if !v["error"].is_null() {
                        panic!("{method} failed: {}", v["error"]);
                    }
                    return v["result"].clone();
                }
                on_event(&v);
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("DevTools connection failed during {method}: {e}"),
            None => panic!("DevTools connection closed during {method}"),
        }
    }
}

impl Page {
    /// Sends one CDP command and returns its `result`; console messages and exceptions
    /// that arrive meanwhile are kept in `console`.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let console = &mut self.console;
        command(&mut self.socket, id, method, params, |event| {
            keep_console(console, event)
        })
        .await
    }

    pub async fn navigate(&mut self, url: &str) {
        let result = self.call("Page.navigate", json!({"url": url})).await;
        assert!(
            result["errorText"].is_null(),
            "navigating to {url} failed: {result}"
        );
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its value as JSON.
    /// Panics if it throws.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let result = self.try_eval(expression).await;
        result.unwrap_or_else(|e| panic!("`{expression}` threw: {e}; console: {:?}", self.console))
    }

    /// Evaluates `expression`: its value, or what it threw.
    pub async fn try_eval(&mut self, expression: &str) -> Result<Value, String> {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "awaitPromise": true, "returnByValue": true,
                       "userGesture": true}),
            )
            .await;
        if !result["exceptionDetails"].is_null() {
            let d = &result["exceptionDetails"];
            return Err(format!(
                "{} {}",
                d["text"].as_str().unwrap_or(""),
                d["exception"]["description"].as_str().unwrap_or("")
            ));
        }
        Ok(result["result"]["value"].clone())
    }

    /// Waits until `expression` is true in the page (evaluated every 100 ms; an expression
    /// that throws counts as false, such as one reading what is not there yet).
    pub async fn wait_for(&mut self, expression: &str) {
        self.wait_for_within(expression, WAIT).await;
    }

    pub async fn wait_for_within(&mut self, expression: &str, within: Duration) {
        let start = Instant::now();
        loop {
            if let Ok(Value::Bool(true)) = self.try_eval(expression).await {
                return;
            }
            if start.elapsed() > within {
                let text = self
                    .try_eval("document.body ? document.body.innerText : ''")
                    .await
                    .unwrap_or_default();
                panic!(
                    "`{expression}` did not become true within {within:?}.\npage text: {text}\nconsole: {:#?}",
                    self.console
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG of the page as `name`.png in `PLENUM_SCREENSHOTS` (a directory), when that
    /// is set: to look at what a test saw.
    pub async fn screenshot(&mut self, name: &str) {
        let Some(dir) = std::env::var_os("PLENUM_SCREENSHOTS") else {
            return;
        };
        // A tab in the background is not painted: its capture would wait forever.
        self.call("Page.bringToFront", json!({})).await;
        let shot = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        use base64::Engine as _;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap_or_default())
            .unwrap_or_default();
        let path = std::path::Path::new(&dir).join(format!("{name}.png"));
        std::fs::write(&path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// Sets the window's size (CSS pixels), as a phone or a desktop would have it.
    pub async fn resize(&mut self, width: u32, height: u32) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}),
        )
        .await;
    }

    /// Presses a key (`Tab`, `Enter`, ` `) as a keyboard would, on what has the focus.
    pub async fn press(&mut self, key: &str) {
        let (code, key_code, text) = match key {
            "Tab" => ("Tab", 9, ""),
            "Enter" => ("Enter", 13, "\r"),
            " " => ("Space", 32, " "),
            other => panic!("no key {other} in this helper"),
        };
        for kind in ["keyDown", "keyUp"] {
            let mut params = json!({"type": kind, "key": key, "code": code,
                                    "windowsVirtualKeyCode": key_code});
            if kind == "keyDown" && !text.is_empty() {
                params["text"] = json!(text);
            }
            self.call("Input.dispatchKeyEvent", params).await;
        }
    }

    /// The ids (or tag names) of what Tab reaches, in order, over `presses` presses.
    pub async fn tab_order(&mut self, presses: usize) -> Vec<String> {
        let mut order = Vec::new();
        for _ in 0..presses {
            self.press("Tab").await;
            let focused = self
                .eval("document.activeElement ? (document.activeElement.id || document.activeElement.tagName.toLowerCase()) : ''")
                .await;
            order.push(focused.as_str().unwrap_or_default().to_owned());
        }
        order
    }

    /// `window.plenum.state()`, the page's read-only state.
    pub async fn state(&mut self) -> Value {
        self.eval("window.plenum.state()").await
    }
}

/// Keeps a page's console messages and exceptions, for failure messages.
fn keep_console(console: &mut Vec<String>, event: &Value) {
    match event["method"].as_str() {
        Some("Runtime.consoleAPICalled") => {
            let args: Vec<String> = event["params"]["args"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| {
                            x["value"]
                                .as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| x["description"].to_string())
                        })
                        .collect()
                })
                .unwrap_or_default();
            console.push(format!(
                "console.{}: {}",
                event["params"]["type"].as_str().unwrap_or("log"),
                args.join(" ")
            ));
        }
        Some("Runtime.exceptionThrown") => {
            let details = &event["params"]["exceptionDetails"];
            console.push(format!(
                "exception: {} {}",
                details["text"].as_str().unwrap_or(""),
                details["exception"]["description"].as_str().unwrap_or("")
            ));
        }
        _ => {}
    }
}

//! The client protocol (docs/client-protocol.md): a [`Participant`] connects over the
//! WebSocket, reads the server's `hello`, joins, keeps its heartbeats, obeys mute (`--talk`),
//! hands every frame to an [`Observer`], and ends with an [`Ending`] that says how it ended.
//! With a [`crate::media::MediaSession`] it also carries the media signalling
//! ([`Participant::run_with_media`]).
//!
//! Every wait in here is bounded in time.

use std::borrow::Cow;
use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures::{SinkExt as _, StreamExt as _};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::media::{MediaSession, MediaStats};

/// How long the TCP connect, the WebSocket upgrade and the server's `hello` may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the answer to a `join` may take (it waits for the join to be on disk).
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the server may take to answer a `leave` and close.
pub const LEAVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The `ref` of the client's own requests, so their answers can be recognised.
pub const JOIN_REF: &str = "join";
pub const LEAVE_REF: &str = "leave";

/// How a participant ended; the process exit status is [`Ending::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Left on purpose: the duration elapsed, or Ctrl-C/SIGTERM.
    Left,
    /// The join was refused.
    Refused,
    /// A host disconnected the participant (close 4001).
    Disconnected,
    /// The meeting ended or was stopped (close 4002).
    MeetingEnded,
    /// The connection was lost: closed without a known reason, heartbeat timeout, too slow.
    ConnectionLost,
    /// Anything else: no server, a protocol violation, a failed sign-in.
    Error,
}

impl Ending {
    /// The exit status.
    pub fn code(self) -> u8 {
        match self {
            Self::Left => 0,
            Self::Error => 1,
            Self::Refused => 2,
            Self::Disconnected => 3,
            Self::MeetingEnded => 4,
            Self::ConnectionLost => 5,
        }
    }

    /// Larger is more severe: with --count the process exits with the most severe ending.
    pub fn severity(self) -> u8 {
        match self {
            Self::Left => 0,
            Self::MeetingEnded => 1,
            Self::Disconnected => 2,
            Self::Refused => 3,
            Self::ConnectionLost => 4,
            Self::Error => 5,
        }
    }

    /// What a close code from the server means.
    pub fn from_close(code: u16) -> Self {
        match code {
            4001 => Self::Disconnected,
            4002 => Self::MeetingEnded,
            _ => Self::ConnectionLost,
        }
    }

    /// The most severe of a set of endings (`Left` for none).
    pub fn worst(endings: impl IntoIterator<Item = Self>) -> Self {
        endings
            .into_iter()
            .max_by_key(|e| e.severity())
            .unwrap_or(Self::Left)
    }
}

/// One frame received from the server, with the instant it arrived. It is kept as text:
/// the bot reads only the [`Fields`] it acts on, and an observer that wants the whole frame
/// parses it ([`Frame::value`]). (Parsing every frame into a `Value` was most of a load
/// generator's work per join.)
#[derive(Debug, Clone)]
pub struct Frame {
    text: Utf8Bytes,
    pub received: Instant,
}

impl Frame {
    /// The frame as the server sent it (one JSON object).
    pub fn text(&self) -> &str {
        self.text.as_str()
    }

    /// The whole frame.
    pub fn value(&self) -> serde_json::Result<Value> {
        serde_json::from_str(self.text())
    }

    /// The fields a participant acts on; the others are skipped unread.
    pub fn fields(&self) -> serde_json::Result<Fields<'_>> {
        serde_json::from_str(self.text())
    }
}

/// The fields of a server frame that a participant acts on (docs/client-protocol.md), each
/// `None` when the frame has none. Strings borrow from the frame where they can.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Fields<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    /// The `ref` of the request answered.
    #[serde(rename = "ref")]
    pub reference: Option<Value>,
    #[serde(borrow)]
    pub client_uuid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub session_id: Option<Cow<'a, str>>,
    /// `refused` and `participant_left`.
    #[serde(borrow)]
    pub reason: Option<Cow<'a, str>>,
    /// `error`.
    #[serde(borrow)]
    pub code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub message: Option<Cow<'a, str>>,
    pub mute_audio: Option<bool>,
    pub allow_self_unmute: Option<bool>,
    /// `all_muted`: who was spared.
    #[serde(borrow)]
    pub except: Option<Vec<Cow<'a, str>>>,
    /// `joined`: the participant's own entry.
    pub you: Option<You>,
    /// `hello`.
    pub heartbeat_interval_ms: Option<u64>,
    pub heartbeat_timeout_ms: Option<u64>,
    /// `answer` and `subscribe`: the SDP (JSON-escaped line ends make it an owned string).
    #[serde(borrow)]
    pub sdp: Option<Cow<'a, str>>,
    /// `subscribe`: the offer's version.
    pub version: Option<u64>,
    /// `subscribe`: which participant's track each m-line carries.
    pub tracks: Option<Vec<TrackInfo>>,
    /// `media_closed`: `publish` or `subscribe`.
    #[serde(borrow)]
    pub connection: Option<Cow<'a, str>>,
}

/// One entry of a `subscribe`'s `tracks`: the m-line `mid` carries `client_uuid`'s `kind`
/// (`audio` or `video`) track.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TrackInfo {
    pub mid: String,
    pub client_uuid: String,
    pub kind: String,
}

impl Fields<'_> {
    /// Whether this is the answer to the request with this `ref`.
    pub fn answers(&self, reference: &str) -> bool {
        self.reference.as_ref().and_then(Value::as_str) == Some(reference)
    }

    /// Whether the frame names this participant (`client_uuid`).
    pub fn is_about(&self, me: &str) -> bool {
        self.client_uuid.as_deref() == Some(me)
    }
}

/// The participant's own state in `joined`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct You {
    pub mute_audio: bool,
    #[serde(default = "yes")]
    pub allow_self_unmute: bool,
    pub unmute_requested: bool,
}

fn yes() -> bool {
    true
}

/// Sees every frame a participant receives (printing, measuring).
pub trait Observer: Send {
    fn frame(&mut self, frame: &Frame) -> impl Future<Output = ()> + Send;

    /// With media: the receiving statistics, once a second
    /// ([`Participant::run_with_media`]).
    fn media_stats(&mut self, stats: &MediaStats) -> impl Future<Output = ()> + Send {
        let _ = stats;
        async {}
    }
}

/// An observer that ignores every frame.
#[derive(Debug, Default, Clone, Copy)]
pub struct Ignore;

impl Observer for Ignore {
    async fn frame(&mut self, _frame: &Frame) {}
}

/// What to send in the `join`.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub meeting_number: String,
    pub password: Option<String>,
    pub display_name: String,
    pub device_type: String,
    pub media_type: String,
}

/// The result of a successful join.
#[derive(Debug, Clone)]
pub struct Joined {
    pub client_uuid: String,
    pub session_id: String,
    /// From sending `join` to receiving `joined` (the join is durable by then).
    pub latency: Duration,
}

/// Why a join did not succeed.
#[derive(Debug)]
pub enum JoinFailure {
    /// The server refused it (`refused`).
    Refused { reason: String, message: String },
    /// The connection failed or ended.
    Ended(Ending, String),
}

/// Options for the time after the join.
#[derive(Debug, Clone, Copy, Default)]
pub struct Behaviour {
    /// Unmute when allowed; ask once when not.
    pub talk: bool,
    /// Leave after this long.
    pub duration: Option<Duration>,
}

/// The participant's own mute state, as the server last told it.
#[derive(Debug, Clone, Copy, Default)]
struct MuteState {
    muted: bool,
    may_unmute: bool,
    /// A `request_unmute` was sent during the current muting.
    requested: bool,
    /// A `set_mute` unmute was sent and its `mute_changed` has not come yet.
    unmuting: bool,
}

/// What a participant that wants to speak asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Talk {
    /// `set_mute` with `audio: false`.
    Unmute,
    /// `request_unmute`.
    RequestUnmute,
}

impl MuteState {
    /// Updates the state from a frame; only frames about `me` matter.
    fn note(&mut self, frame: &Fields<'_>, me: &str) {
        // The meeting-wide mute events name no one (`all_muted` names who was spared).
        match &*frame.kind {
            "all_muted" => {
                let spared = frame
                    .except
                    .as_ref()
                    .is_some_and(|ids| ids.iter().any(|id| id == me));
                if !spared {
                    if !self.muted {
                        self.requested = false;
                    }
                    self.muted = true;
                    self.may_unmute = frame.allow_self_unmute.unwrap_or(true);
                    self.unmuting = false;
                }
                return;
            }
            "all_unmuted" => {
                self.muted = false;
                self.may_unmute = true;
                self.requested = false;
                self.unmuting = false;
                return;
            }
            _ => {}
        }
        if !frame.is_about(me) {
            return;
        }
        match &*frame.kind {
            "mute_changed" => {
                let muted = frame.mute_audio.unwrap_or(false);
                if !muted || !self.muted {
                    // Unmuted, or newly muted: a later muting may need a new request.
                    self.requested = false;
                }
                self.muted = muted;
                self.may_unmute = frame.allow_self_unmute.unwrap_or(true);
                self.unmuting = false;
            }
            "unmute_allowed" => {
                self.may_unmute = true;
                self.requested = false;
            }
            _ => {}
        }
    }

    /// What to ask for now: unmute when allowed, else ask once per muting; never unmute
    /// without permission.
    fn decide(&mut self) -> Option<Talk> {
        if !self.muted || self.unmuting {
            None
        } else if self.may_unmute {
            self.unmuting = true;
            Some(Talk::Unmute)
        } else if !self.requested {
            self.requested = true;
            Some(Talk::RequestUnmute)
        } else {
            None
        }
    }
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A participant: one WebSocket connection speaking the client protocol.
#[derive(Debug)]
pub struct Participant {
    socket: Socket,
    /// The server's `hello`.
    pub hello: Frame,
    heartbeat_interval: Duration,
    heartbeat_timeout: Duration,
    /// Set once joined.
    pub client_uuid: Option<String>,
    mute: MuteState,
    last_heard: Instant,
}

/// Bytes read from the socket at once. tungstenite zero-fills this much on every read, the
/// reads that find nothing included: its default (128 KiB) cost a 128 KiB memset per read and
/// 128 KiB of resident memory per connection, 1.3 GB with `--count 10000`. The server's
/// frames are small (events of a few hundred bytes; it splits long participant lists into
/// frames of a few KiB), so most fit one read; a larger frame is still read whole, over
/// several reads. 8 KiB still made memset 4 % of a join storm's client CPU.
const READ_BUFFER_BYTES: usize = 4 * 1024;

fn socket_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
}

/// The WebSocket URL of the client protocol for a server base URL.
pub fn live_url(server: &str) -> anyhow::Result<String> {
    let base = server.trim_end_matches('/');
    let ws = if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if base.starts_with("ws://") || base.starts_with("wss://") {
        base.to_owned()
    } else {
        bail!("--server must be an http:// or https:// URL, not {server:?}");
    };
    Ok(format!("{ws}/api/v1/live"))
}

fn millis(hello: &Frame, field: &str, ms: Option<u64>) -> anyhow::Result<Duration> {
    ms.filter(|&ms| ms > 0)
        .map(Duration::from_millis)
        .with_context(|| {
            format!(
                "the server's hello has no positive {field}: {}",
                hello.text()
            )
        })
}

/// `join` (docs/client-protocol.md).
#[derive(Serialize)]
struct JoinMessage<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "ref")]
    reference: &'static str,
    meeting_number: &'a str,
    password: Option<&'a str>,
    display_name: &'a str,
    device_type: &'a str,
    media_type: &'a str,
}

/// Why a frame the bot cannot read ends it.
fn non_json(frame: &Frame, e: &serde_json::Error) -> String {
    format!("the server sent non-JSON ({e}): {}", frame.text())
}

impl Participant {
    /// Connects to `url` (from [`live_url`]), presenting `token` on the upgrade if given, and
    /// reads the server's `hello`.
    pub async fn connect(url: &str, token: Option<&str>) -> anyhow::Result<Self> {
        let mut request = url
            .into_client_request()
            .with_context(|| format!("bad WebSocket URL {url:?}"))?;
        if let Some(token) = token {
            request.headers_mut().insert(
                "authorization",
                format!("Bearer {token}")
                    .parse()
                    .context("the token cannot be sent in a header")?,
            );
        }
        let open = async {
            let (mut socket, _) =
                tokio_tungstenite::connect_async_with_config(request, Some(socket_config()), true)
                    .await
                    .with_context(|| format!("connecting to {url}"))?;
            loop {
                match socket.next().await {
                    Some(Ok(Message::Text(text))) => {
                        let hello = Frame {
                            text,
                            received: Instant::now(),
                        };
                        let fields = hello.fields().with_context(|| {
                            format!("the first frame is not JSON: {}", hello.text())
                        })?;
                        if fields.kind != "hello" {
                            bail!("the first frame is not a hello: {}", hello.text());
                        }
                        let interval = millis(
                            &hello,
                            "heartbeat_interval_ms",
                            fields.heartbeat_interval_ms,
                        )?;
                        let timeout =
                            millis(&hello, "heartbeat_timeout_ms", fields.heartbeat_timeout_ms)?;
                        return Ok((socket, hello, interval, timeout));
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(other)) => bail!("unexpected frame before hello: {other:?}"),
                    Some(Err(e)) => return Err(e).context("reading the hello"),
                    None => bail!("the server closed before its hello"),
                }
            }
        };
        let (socket, hello, heartbeat_interval, heartbeat_timeout) =
            tokio::time::timeout(CONNECT_TIMEOUT, open)
                .await
                .map_err(|_| anyhow::anyhow!("no hello from {url} within {CONNECT_TIMEOUT:?}"))??;
        Ok(Self {
            heartbeat_interval,
            heartbeat_timeout,
            socket,
            hello,
            client_uuid: None,
            mute: MuteState::default(),
            last_heard: Instant::now(),
        })
    }

    async fn send(&mut self, message: &impl Serialize) -> Result<(), JoinFailure> {
        let text = serde_json::to_string(message).map_err(|e| {
            JoinFailure::Ended(Ending::Error, format!("cannot write a message: {e}"))
        })?;
        self.socket
            .send(Message::text(text))
            .await
            .map_err(|e| JoinFailure::Ended(Ending::ConnectionLost, format!("sending: {e}")))
    }

    /// The next frame, or how the connection ended. Pings and pongs are skipped (tungstenite
    /// answers pings itself).
    async fn next_frame(&mut self) -> Result<Frame, (Ending, String)> {
        loop {
            match self.socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let received = Instant::now();
                    self.last_heard = received;
                    return Ok(Frame { text, received });
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {
                    self.last_heard = Instant::now();
                }
                Some(Ok(Message::Binary(_))) => {
                    return Err((Ending::Error, "the server sent a binary frame".to_owned()));
                }
                Some(Ok(Message::Close(Some(close)))) => {
                    let code = u16::from(close.code);
                    return Err((
                        Ending::from_close(code),
                        format!("closed by the server: {code} {}", close.reason),
                    ));
                }
                Some(Ok(Message::Close(None))) | None => {
                    return Err((
                        Ending::ConnectionLost,
                        "the connection closed without a reason".to_owned(),
                    ));
                }
                Some(Err(e)) => {
                    return Err((
                        Ending::ConnectionLost,
                        format!("the connection failed: {e}"),
                    ));
                }
            }
        }
    }

    /// Sends `join` and waits (at most [`JOIN_TIMEOUT`]) for its answer; frames received
    /// meanwhile go to `observer` too.
    pub async fn join(
        &mut self,
        request: &JoinRequest,
        observer: &mut impl Observer,
    ) -> Result<Joined, JoinFailure> {
        let sent = Instant::now();
        self.send(&JoinMessage {
            kind: "join",
            reference: JOIN_REF,
            meeting_number: &request.meeting_number,
            password: request.password.as_deref(),
            display_name: &request.display_name,
            device_type: &request.device_type,
            media_type: &request.media_type,
        })
        .await?;
        let answer = async {
            loop {
                let frame = self
                    .next_frame()
                    .await
                    .map_err(|(ending, why)| JoinFailure::Ended(ending, why))?;
                observer.frame(&frame).await;
                let fields = frame
                    .fields()
                    .map_err(|e| JoinFailure::Ended(Ending::Error, non_json(&frame, &e)))?;
                if !fields.answers(JOIN_REF) {
                    continue;
                }
                let text = |field: Option<Cow<'_, str>>| field.unwrap_or_default().into_owned();
                return match &*fields.kind {
                    "joined" => {
                        let client_uuid =
                            fields.client_uuid.map(Cow::into_owned).ok_or_else(|| {
                                JoinFailure::Ended(
                                    Ending::Error,
                                    format!("joined without client_uuid: {}", frame.text()),
                                )
                            })?;
                        // `you`: the participant's own state (the meeting's list may come in
                        // later frames).
                        if let Some(me) = fields.you {
                            self.mute.muted = me.mute_audio;
                            self.mute.may_unmute = me.allow_self_unmute;
                            self.mute.requested = me.unmute_requested;
                        }
                        Ok(Joined {
                            client_uuid,
                            session_id: text(fields.session_id),
                            latency: frame.received.duration_since(sent),
                        })
                    }
                    "refused" => Err(JoinFailure::Refused {
                        reason: text(fields.reason),
                        message: text(fields.message),
                    }),
                    // An `error` is not a refusal: the server could not take the join as
                    // sent (a bad field), which is the caller's mistake, status 1.
                    _ => Err(JoinFailure::Ended(
                        Ending::Error,
                        format!(
                            "the server did not take the join: {} ({})",
                            text(fields.code),
                            text(fields.message)
                        ),
                    )),
                };
            }
        };
        let joined = tokio::time::timeout(JOIN_TIMEOUT, answer)
            .await
            .map_err(|_| {
                JoinFailure::Ended(
                    Ending::ConnectionLost,
                    format!("no answer to the join within {JOIN_TIMEOUT:?}"),
                )
            })??;
        self.client_uuid = Some(joined.client_uuid.clone());
        Ok(joined)
    }

    /// What a participant that wants to speak sends now, if anything.
    fn talk_request(&mut self) -> Option<Value> {
        match self.mute.decide()? {
            Talk::Unmute => Some(json!({"type": "set_mute", "audio": false, "ref": "talk"})),
            Talk::RequestUnmute => Some(json!({"type": "request_unmute", "ref": "talk"})),
        }
    }

    /// After a successful join: heartbeats, mute handling, until `stop` resolves (then it
    /// leaves), the duration elapses (then it leaves), or the server ends the connection.
    pub async fn run(
        &mut self,
        behaviour: Behaviour,
        stop: impl Future<Output = ()>,
        observer: &mut impl Observer,
    ) -> (Ending, String) {
        self.run_inner(behaviour, stop, observer, None).await
    }

    /// [`Participant::run`] with media: publishes and receives through `media` (created for
    /// this participant after its join), answers the server's media signalling, and hands
    /// `observer` the receiving statistics once a second. Media that fails ends the media,
    /// not the participant (it is logged).
    pub async fn run_with_media(
        &mut self,
        behaviour: Behaviour,
        stop: impl Future<Output = ()>,
        observer: &mut impl Observer,
        media: &mut MediaSession,
    ) -> (Ending, String) {
        self.run_inner(behaviour, stop, observer, Some(media)).await
    }

    /// Sends the signalling frames the media client has ready.
    async fn send_signalling(&mut self, media: &mut MediaSession) -> Result<(), (Ending, String)> {
        while let Some(text) = media.next_signalling() {
            if let Err(e) = self.socket.send(Message::text(text)).await {
                return Err((Ending::ConnectionLost, format!("sending: {e}")));
            }
        }
        Ok(())
    }

    async fn run_inner(
        &mut self,
        behaviour: Behaviour,
        stop: impl Future<Output = ()>,
        observer: &mut impl Observer,
        mut media: Option<&mut MediaSession>,
    ) -> (Ending, String) {
        if let Some(media) = media.as_deref_mut() {
            media.start();
            if let Err(ended) = self.send_signalling(media).await {
                return ended;
            }
        }
        // Media statistics once a second (no timer at all without media: the join storm's
        // participants stay as cheap as they were).
        let mut report = media.is_some().then(|| {
            let every = media
                .as_deref()
                .map_or(Duration::from_secs(1), MediaSession::report_every);
            let mut r = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            r.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            r
        });
        if behaviour.talk
            && let Some(request) = self.talk_request()
            && let Err(JoinFailure::Ended(ending, why)) = self.send(&request).await
        {
            return (ending, why);
        }
        let start = tokio::time::Instant::now();
        let mut heartbeat =
            tokio::time::interval_at(start + self.heartbeat_interval, self.heartbeat_interval);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Without a duration, the deadline is never reached in practice (about 30 years).
        let deadline = start
            + behaviour
                .duration
                .unwrap_or(Duration::from_secs(1_000_000_000));
        let leave_at = tokio::time::sleep_until(deadline);
        tokio::pin!(stop, leave_at);
        let mut meeting_ended = false;
        let mut disconnected = false;
        loop {
            tokio::select! {
                () = &mut stop => return self.leave_because("stopped", observer).await,
                // Cancel-safe: it only awaits the sockets' reads and the media's timer.
                signalled = async {
                    match media.as_deref_mut() {
                        Some(m) => m.drive().await,
                        None => std::future::pending().await,
                    }
                } => {
                    if signalled
                        && let Some(m) = media.as_deref_mut()
                        && let Err(ended) = self.send_signalling(m).await
                    {
                        return ended;
                    }
                }
                _ = async {
                    match report.as_mut() {
                        Some(r) => r.tick().await,
                        None => std::future::pending().await,
                    }
                }, if report.is_some() => {
                    if let Some(m) = media.as_deref_mut() {
                        observer.media_stats(m.stats()).await;
                    }
                }
                () = &mut leave_at => return self.leave_because("the duration elapsed", observer).await,
                _ = heartbeat.tick() => {
                    if self.last_heard.elapsed() > self.heartbeat_timeout {
                        return (
                            Ending::ConnectionLost,
                            format!("nothing heard from the server for {:?}", self.heartbeat_timeout),
                        );
                    }
                    if let Err(JoinFailure::Ended(ending, why)) =
                        self.send(&json!({"type": "heartbeat"})).await
                    {
                        return (ending, why);
                    }
                }
                frame = self.next_frame() => match frame {
                    Ok(frame) => {
                        observer.frame(&frame).await;
                        let fields = match frame.fields() {
                            Ok(fields) => fields,
                            Err(e) => return (Ending::Error, non_json(&frame, &e)),
                        };
                        let me = self.client_uuid.as_deref().unwrap_or_default();
                        match &*fields.kind {
                            "meeting_ended" => meeting_ended = true,
                            "participant_left"
                                if fields.is_about(me)
                                    && fields.reason.as_deref() == Some("disconnected") => disconnected = true,
                            _ => {}
                        }
                        if let Some(me) = self.client_uuid.as_deref() {
                            self.mute.note(&fields, me);
                        }
                        if let Some(m) = media.as_deref_mut() {
                            m.handle_frame(&fields);
                            if let Err(ended) = self.send_signalling(m).await {
                                return ended;
                            }
                        }
                        if behaviour.talk
                            && let Some(request) = self.talk_request()
                            && let Err(JoinFailure::Ended(ending, why)) = self.send(&request).await
                        {
                            return (ending, why);
                        }
                    }
                    // A connection that drops right after the reason came still ends for it.
                    Err((Ending::ConnectionLost, why)) if meeting_ended => {
                        return (Ending::MeetingEnded, why);
                    }
                    Err((Ending::ConnectionLost, why)) if disconnected => {
                        return (Ending::Disconnected, why);
                    }
                    Err(ended) => return ended,
                },
            }
        }
    }

    /// Sends `leave` and reads until the server closes (at most [`LEAVE_TIMEOUT`]).
    /// Leaves now: sends `leave` and reads (handing the frames to `observer`, `left` among
    /// them) until the server closes, at most [`LEAVE_TIMEOUT`].
    pub async fn leave(&mut self, observer: &mut impl Observer) -> (Ending, String) {
        self.leave_because("asked to", observer).await
    }

    async fn leave_because(&mut self, why: &str, observer: &mut impl Observer) -> (Ending, String) {
        let done = async {
            if self
                .send(&json!({"type": "leave", "ref": LEAVE_REF}))
                .await
                .is_err()
            {
                return;
            }
            while let Ok(frame) = self.next_frame().await {
                observer.frame(&frame).await;
            }
        };
        if tokio::time::timeout(LEAVE_TIMEOUT, done).await.is_err() {
            tracing::warn!("the server did not close within {LEAVE_TIMEOUT:?} after leave");
        }
        (Ending::Left, format!("left: {why}"))
    }

    /// Closes the connection without leaving first (the server counts that as left).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(LEAVE_TIMEOUT, self.socket.close(None)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_url_is_derived_from_the_server_url() {
        assert_eq!(
            live_url("http://127.0.0.1:7480").ok().as_deref(),
            Some("ws://127.0.0.1:7480/api/v1/live")
        );
        assert_eq!(
            live_url("https://meet.example/").ok().as_deref(),
            Some("wss://meet.example/api/v1/live")
        );
        assert!(live_url("127.0.0.1:7480").is_err());
    }

    #[test]
    fn endings_have_distinct_codes_and_an_order() {
        let all = [
            Ending::Left,
            Ending::Error,
            Ending::Refused,
            Ending::Disconnected,
            Ending::MeetingEnded,
            Ending::ConnectionLost,
        ];
        let codes: std::collections::BTreeSet<u8> = all.iter().map(|e| e.code()).collect();
        assert_eq!(codes.len(), all.len());
        assert_eq!(
            Ending::worst([Ending::Left, Ending::MeetingEnded, Ending::Disconnected]),
            Ending::Disconnected
        );
        assert_eq!(
            Ending::worst([Ending::Refused, Ending::ConnectionLost]),
            Ending::ConnectionLost
        );
        assert_eq!(Ending::worst([Ending::Error, Ending::Left]), Ending::Error);
        assert_eq!(Ending::worst([]), Ending::Left);
        assert_eq!(Ending::from_close(4001), Ending::Disconnected);
        assert_eq!(Ending::from_close(4002), Ending::MeetingEnded);
        assert_eq!(Ending::from_close(4003), Ending::ConnectionLost);
    }

    /// Notes a frame as the participant reads it off the wire.
    fn note(m: &mut MuteState, frame: &Value, me: &str) {
        let text = frame.to_string();
        let fields: Fields<'_> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        m.note(&fields, me);
    }

    #[test]
    fn a_talking_participant_unmutes_only_when_allowed_and_asks_once() {
        let me = "p1";
        let mut m = MuteState::default();
        assert_eq!(m.decide(), None, "not muted: nothing to do");
        let muted = |allow: bool| {
            json!({"type": "mute_changed", "client_uuid": me, "mute_audio": true,
                   "mute_video": false, "allow_self_unmute": allow})
        };
        // Muted by the hosts without permission: ask once, then wait.
        note(&mut m, &muted(false), me);
        assert_eq!(m.decide(), Some(Talk::RequestUnmute));
        assert_eq!(m.decide(), None);
        // Someone else's events change nothing.
        note(
            &mut m,
            &json!({"type": "unmute_allowed", "client_uuid": "p2"}),
            me,
        );
        assert_eq!(m.decide(), None);
        // Allowed: unmute, once, until the server confirms.
        note(
            &mut m,
            &json!({"type": "unmute_allowed", "client_uuid": me}),
            me,
        );
        assert_eq!(m.decide(), Some(Talk::Unmute));
        assert_eq!(m.decide(), None);
        note(
            &mut m,
            &json!({"type": "mute_changed", "client_uuid": me, "mute_audio": false,
                    "mute_video": false, "allow_self_unmute": true}),
            me,
        );
        assert_eq!(m.decide(), None);
        // Muted again with self-unmute allowed: unmute at once.
        note(&mut m, &muted(true), me);
        assert_eq!(m.decide(), Some(Talk::Unmute));
        // Muted again without permission: a new request.
        note(&mut m, &muted(false), me);
        assert_eq!(m.decide(), Some(Talk::RequestUnmute));

        // The meeting-wide events: unmuted for everyone, then muted for all but the spared.
        note(&mut m, &json!({"type": "all_unmuted"}), me);
        assert_eq!(m.decide(), None);
        note(
            &mut m,
            &json!({"type": "all_muted", "allow_self_unmute": false, "except": [me]}),
            me,
        );
        assert_eq!(m.decide(), None, "spared: still unmuted");
        note(
            &mut m,
            &json!({"type": "all_muted", "allow_self_unmute": false, "except": ["p2"]}),
            me,
        );
        assert_eq!(m.decide(), Some(Talk::RequestUnmute));
        assert_eq!(m.decide(), None);
    }
}

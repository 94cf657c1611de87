//! The client protocol: participants join meetings over a WebSocket at `/api/v1/live`.
//!
//! `docs/client-protocol.md` is the reference for client authors; this module is its
//! translation to and from the live runtime. Every frame is a JSON text frame with a `type`.
//! A client may send an optional `ref` with any request; the answer to it carries the same
//! `ref`.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::SinkExt;
use plenum_domain::history::{DeviceType, MediaType};
use plenum_domain::live::{Event, JoinRefusal, LeaveReason};
use plenum_media::{CloseReason, Kind, Signal, SignalError};
use plenum_service::{
    Delivery, JoinError, Joined, LiveJoin, MediaOffer, MediaPush, Principal, ServiceError,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::net::IpAddr;
use std::sync::Arc;
use tokio::sync::mpsc;

use crate::AppState;
use crate::frtc::meeting::{MeetingDetail, ParticipantItem, participant_type};
use crate::frtc::{FrtcError, MaybeSignedIn};
use crate::nodes::PeerAddress;

/// The version of the protocol this server speaks (in `hello`).
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest frame a client may send; joins and signalling are far smaller.
const MAX_FRAME_BYTES: usize = 64 * 1024;
/// What the WebSocket layer reads at most. Frames between this and [`MAX_FRAME_BYTES`] are
/// read so the client can be told (`frame_too_large`, close 1009); a larger one drops the
/// connection unread.
const WIRE_LIMIT_BYTES: usize = 1024 * 1024;
/// RFC 6455's "message too big".
const CLOSE_TOO_BIG: u16 = 1009;
/// The longest `call_number` a join may give (docs/client-protocol.md).
const MAX_CALL_NUMBER_CHARS: usize = 64;

/// A client that cannot take a write within this long is treated as gone.
const SEND_LIMIT: Duration = Duration::from_secs(10);

/// Most queued events written to a client at once before flushing.
const MAX_FRAMES_PER_WRITE: usize = 256;

/// Participants per frame of a join's snapshot (see `joined_frames`): a frame of them stays
/// under the write buffer.
const PARTICIPANTS_PER_FRAME: usize = 10;

/// Write buffer of each connection.
const BUFFER_BYTES: usize = 4 * 1024;
/// Read buffer of each connection: what clients send is small (a join, heartbeats, a few
/// hundred bytes); a larger frame is still read whole, over several reads.
const READ_BUFFER_BYTES: usize = 1024;

/// Close codes (4000-4999 are the application's): the reason is also in the last message.
const CLOSE_LEFT: u16 = 4000;
const CLOSE_DISCONNECTED: u16 = 4001;
const CLOSE_MEETING_ENDED: u16 = 4002;
const CLOSE_TIMEOUT: u16 = 4003;
const CLOSE_TOO_SLOW: u16 = 4004;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Join {
        meeting_number: String,
        #[serde(default)]
        password: Option<String>,
        #[serde(default)]
        display_name: Option<String>,
        #[serde(default)]
        device_type: Option<String>,
        #[serde(default)]
        media_type: Option<String>,
        #[serde(default)]
        call_number: Option<String>,
        /// An access token, for clients that cannot set a header on the upgrade.
        #[serde(default)]
        token: Option<String>,
    },
    Heartbeat,
    Leave,
    SetMute {
        #[serde(default)]
        audio: Option<bool>,
        #[serde(default)]
        video: Option<bool>,
    },
    RequestUnmute,
    /// The client's offer for its publish connection (docs/client-protocol.md, "Media").
    Publish {
        sdp: String,
    },
    /// The client's answer to the server's `subscribe` offer of `version`.
    SubscribeAnswer {
        version: u64,
        sdp: String,
    },
    /// A trickled candidate of one of the client's connections (optional).
    IceCandidate {
        connection: MediaConnection,
        #[serde(default)]
        candidate: String,
    },
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum MediaConnection {
    Publish,
    Subscribe,
}

impl From<MediaConnection> for plenum_media::Connection {
    fn from(c: MediaConnection) -> Self {
        match c {
            MediaConnection::Publish => Self::Publish,
            MediaConnection::Subscribe => Self::Subscribe,
        }
    }
}

fn connection_name(c: plenum_media::Connection) -> &'static str {
    match c {
        plenum_media::Connection::Publish => "publish",
        plenum_media::Connection::Subscribe => "subscribe",
    }
}

/// The `ref` of a request, echoed in its answer.
#[derive(Debug, Default, Deserialize)]
struct Ref {
    #[serde(default, rename = "ref")]
    reference: Option<Value>,
}

/// Opens a participant connection. A token may come with the upgrade (`Authorization:
/// Bearer`, or `?token=`); an invalid one is refused here with FRTC's 401.
#[utoipa::path(get, path = "/api/v1/live", tag = "Live",
    summary = "Join meetings: the client protocol's WebSocket",
    description = "The entry point of the client protocol (docs/client-protocol.md): a \
        WebSocket upgrade (RFC 6455) of this `GET`. Over it a participant joins a meeting by \
        number and password, receives the meeting's events, sends its requests and \
        negotiates media; frames are JSON text messages. A token is optional (a guest joins \
        without one); a member sends it with the upgrade.",
    security((), ("token" = [])),
    params(
        ("Upgrade" = String, Header, description = "`websocket`"),
        ("Connection" = String, Header, description = "`Upgrade`"),
        ("Sec-WebSocket-Version" = String, Header, description = "`13`"),
        ("Sec-WebSocket-Key" = String, Header, description = "The client's nonce (RFC 6455)"),
    ),
    responses(
        (status = 101, description = "Switching to the client protocol (docs/client-protocol.md)"),
        (status = 400, description = "`invalid_field`: not a WebSocket upgrade", body = crate::frtc::ErrorBody),
        (status = 401, description = "The token given is not valid", body = crate::frtc::ErrorBody),
    ))]
pub async fn connect(
    State(state): State<AppState>,
    who: MaybeSignedIn,
    from: PeerAddress,
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
    upgrade: WsUpgrade,
) -> Response {
    let principal = who.0.map(|s| s.principal);
    // A join another node relayed: the client is who that node vouches for.
    let from = crate::nodes::relayed_client(&state, &headers).or(from.ip());
    // What a join relayed to another node presents there (docs/scaling.md).
    let upgraded_with = UpgradedWith {
        credentials: [header::AUTHORIZATION, header::COOKIE]
            .iter()
            .filter_map(|name| Some((name.clone(), headers.get(name)?.clone())))
            .collect(),
        query: uri.query().map(str::to_owned),
    };
    upgrade
        .0
        // Frames are small JSON; tungstenite's 128 KiB default buffers would cost every idle
        // participant far more memory than their meeting state does.
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(BUFFER_BYTES)
        .max_write_buffer_size(MAX_FRAME_BYTES * 4)
        .max_message_size(WIRE_LIMIT_BYTES)
        .max_frame_size(WIRE_LIMIT_BYTES)
        .on_upgrade(move |socket| {
            Connection::new(state, socket, principal, from, upgraded_with).run()
        })
}

/// The credentials a client upgraded with, for a join relayed to another node.
struct UpgradedWith {
    credentials: axum::http::HeaderMap,
    query: Option<String>,
}

/// The upgrade, refused in the FRTC error shape when the request is not a WebSocket one.
#[derive(Debug)]
pub struct WsUpgrade(WebSocketUpgrade);

impl<S: Send + Sync> FromRequestParts<S> for WsUpgrade {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        WebSocketUpgrade::from_request_parts(parts, state)
            .await
            .map(Self)
            .map_err(|_| {
                // 426 names the protocol to upgrade to (RFC 9110, 15.5.22).
                let mut response = FrtcError::new(
                    crate::frtc::ErrorCode::WebsocketRequired,
                    "this endpoint speaks the client protocol over a WebSocket (docs/client-protocol.md)",
                )
                .into_response();
                response
                    .headers_mut()
                    .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
                response
            })
    }
}

struct Connection {
    state: AppState,
    socket: WebSocket,
    principal: Option<Arc<Principal>>,
    from: Option<IpAddr>,
    upgraded_with: UpgradedWith,
    joined: Option<(Joined, mpsc::Receiver<Delivery>)>,
}

/// How a connection ends.
enum End {
    /// The client went away (closed, or the socket failed).
    Gone,
    /// The server closes with this code after its last message.
    Close(u16, &'static str),
}

impl Connection {
    fn new(
        state: AppState,
        socket: WebSocket,
        principal: Option<Arc<Principal>>,
        from: Option<IpAddr>,
        upgraded_with: UpgradedWith,
    ) -> Self {
        Self {
            state,
            socket,
            principal,
            from,
            upgraded_with,
            joined: None,
        }
    }

    async fn run(mut self) {
        let live = &self.state.plenum.policy().live;
        let hello = Hello {
            kind: "hello",
            protocol: PROTOCOL_VERSION,
            heartbeat_interval_ms: live.heartbeat_interval.as_millis() as u64,
            heartbeat_timeout_ms: live.heartbeat_timeout.as_millis() as u64,
        };
        let end = match self.send(&hello).await {
            Ok(()) => self.serve().await,
            Err(()) => End::Gone,
        };
        if let End::Close(code, reason) = end {
            let _ = self
                .socket
                .send(Message::Close(Some(CloseFrame {
                    code,
                    reason: Utf8Bytes::from_static(reason),
                })))
                .await;
        }
        // A participant whose connection ended without a leave is out now (if the runtime
        // has not already taken them out).
        if let Some((joined, _)) = self.joined.take() {
            joined.link.leave(LeaveReason::ConnectionClosed).await;
        }
    }

    async fn serve(&mut self) -> End {
        loop {
            let next = match &mut self.joined {
                Some((_, deliveries)) => tokio::select! {
                    frame = self.socket.recv() => Step::Frame(frame),
                    delivery = deliveries.recv() => Step::Delivery(delivery),
                },
                None => Step::Frame(self.socket.recv().await),
            };
            let outcome = match next {
                // Boxed: a join's future is large and needed once, while the connection's
                // task lives as long as the participant; inline, every idle participant would
                // keep room for it.
                Step::Frame(Some(Ok(Message::Text(text)))) if text.len() > MAX_FRAME_BYTES => {
                    let message = format!("frames are at most {MAX_FRAME_BYTES} bytes");
                    match self.error(None, "frame_too_large", &message).await {
                        Ok(_) => return End::Close(CLOSE_TOO_BIG, "frame too large"),
                        Err(()) => return End::Gone,
                    }
                }
                Step::Frame(Some(Ok(Message::Text(text)))) => {
                    Box::pin(self.on_text(text.as_str())).await
                }
                Step::Frame(Some(Ok(Message::Binary(_)))) => {
                    self.error(None, "unsupported_frame", "frames are JSON text")
                        .await
                }
                Step::Frame(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => Ok(None),
                Step::Frame(Some(Ok(Message::Close(_))) | None | Some(Err(_))) => return End::Gone,
                Step::Delivery(Some(delivery)) => self.on_deliveries(delivery).await,
                // The runtime dropped us (the meeting is gone): nothing more will come.
                Step::Delivery(None) => {
                    self.joined = None;
                    Ok(Some(End::Close(CLOSE_MEETING_ENDED, "meeting ended")))
                }
            };
            match outcome {
                Ok(None) => {}
                Ok(Some(end)) => return end,
                Err(()) => return End::Gone,
            }
        }
    }

    async fn on_text(&mut self, text: &str) -> Result<Option<End>, ()> {
        let reference = serde_json::from_str::<Ref>(text)
            .ok()
            .and_then(|r| r.reference);
        let message = match serde_json::from_str::<ClientMessage>(text) {
            Ok(m) => m,
            Err(e) => {
                let message = format!("not a client message: {e}");
                return self.error(reference, "invalid_message", &message).await;
            }
        };
        // Every message is a sign of life.
        if let Some((joined, _)) = &self.joined
            && !matches!(message, ClientMessage::Leave)
        {
            joined.link.heartbeat().await;
        }
        match message {
            ClientMessage::Join {
                meeting_number,
                password,
                display_name,
                device_type,
                media_type,
                call_number,
                token,
            } => {
                if self.joined.is_some() {
                    return self
                        .error(
                            reference,
                            "already_joined",
                            "this connection is already in a meeting (one per connection)",
                        )
                        .await;
                }
                let device_type = match device_type.as_deref().map(DeviceType::parse).transpose() {
                    Ok(d) => d.unwrap_or(DeviceType::Web),
                    Err(e) => {
                        return self
                            .error(reference, "invalid_message", &e.to_string())
                            .await;
                    }
                };
                let media_type = match media_type.as_deref().map(MediaType::parse).transpose() {
                    Ok(m) => m.unwrap_or(MediaType::Video),
                    Err(e) => {
                        return self
                            .error(reference, "invalid_message", &e.to_string())
                            .await;
                    }
                };
                let principal = match (token, &self.principal) {
                    (Some(token), _) => {
                        match self.state.plenum.accounts().authenticate(&token).await {
                            Ok(p) => Some(p),
                            Err(e) => {
                                return self
                                    .refuse(reference, "unauthorized", &e.to_string())
                                    .await;
                            }
                        }
                    }
                    (None, p) => p.clone(),
                };
                let call_number = call_number.unwrap_or_default();
                if call_number.chars().count() > MAX_CALL_NUMBER_CHARS {
                    let message =
                        format!("call_number: at most {MAX_CALL_NUMBER_CHARS} characters");
                    return self.error(reference, "invalid_message", &message).await;
                }
                let join = LiveJoin {
                    meeting_number,
                    password,
                    display_name,
                    device_type,
                    media_type,
                    call_number,
                    principal: principal.map(|p| (*p).clone()),
                    from: self.from,
                };
                let (outbox, deliveries) =
                    mpsc::channel(self.state.plenum.policy().live.client_queue);
                match self.state.plenum.live().join(join, outbox).await {
                    Ok(joined) => {
                        let frames = joined_frames(
                            &joined,
                            reference,
                            self.state.plenum.live().media_offer(),
                        );
                        self.joined = Some((joined, deliveries));
                        // Each flushed alone: written together, they would grow the
                        // connection's write buffer past one frame for good.
                        for frame in frames? {
                            self.send_text(frame).await?;
                        }
                        Ok(None)
                    }
                    Err(JoinError::Refused(refusal)) => {
                        let mut message = json!({
                            "type": "refused",
                            "ref": reference,
                            "reason": refusal.code(),
                            "message": refusal.to_string(),
                        });
                        match refusal {
                            JoinRefusal::NotOpenYet { opens_at } => {
                                message["opens_at"] = json!(opens_at.as_millisecond());
                            }
                            JoinRefusal::TooManyAttempts { retry_at } => {
                                message["retry_at"] = json!(retry_at.as_millisecond());
                            }
                            _ => {}
                        }
                        self.send(&message).await.map(|()| None)
                    }
                    // Another node runs the meeting: from here on this connection relays.
                    Err(JoinError::Elsewhere(holder)) => {
                        Ok(Some(Box::pin(self.relay(&holder.address, text)).await))
                    }
                    Err(JoinError::Service(e)) => {
                        let code = match &e {
                            ServiceError::Invalid(_) => "invalid_message",
                            _ => "internal_error",
                        };
                        self.error(reference, code, &e.to_string()).await
                    }
                }
            }
            ClientMessage::Heartbeat => {
                let ack = json!({
                    "type": "heartbeat_ack",
                    "ref": reference,
                    "server_time": self.state.plenum.now().as_millisecond(),
                });
                self.send(&ack).await.map(|()| None)
            }
            ClientMessage::Leave => match self.joined.take() {
                Some((joined, _)) => {
                    joined.link.leave(LeaveReason::Left).await;
                    let left = json!({"type": "left", "ref": reference, "reason": "left"});
                    self.send(&left).await?;
                    Ok(Some(End::Close(CLOSE_LEFT, "left")))
                }
                None => {
                    self.error(reference, "not_joined", "join a meeting first")
                        .await
                }
            },
            ClientMessage::SetMute { audio, video } => {
                let result = match &self.joined {
                    Some((joined, _)) => joined.link.set_own_mute(audio, video).await,
                    None => {
                        return self
                            .error(reference, "not_joined", "join a meeting first")
                            .await;
                    }
                };
                self.answer(reference, result).await
            }
            ClientMessage::RequestUnmute => {
                let result = match &self.joined {
                    Some((joined, _)) => joined.link.request_unmute().await,
                    None => {
                        return self
                            .error(reference, "not_joined", "join a meeting first")
                            .await;
                    }
                };
                self.answer(reference, result).await
            }
            ClientMessage::Publish { sdp } => {
                let answer = match &self.joined {
                    Some((joined, _)) => joined.link.publish(sdp).await,
                    None => {
                        return self
                            .error(reference, "not_joined", "join a meeting first")
                            .await;
                    }
                };
                match answer {
                    Ok(sdp) => self
                        .send(&json!({"type": "answer", "ref": reference, "sdp": sdp}))
                        .await
                        .map(|()| None),
                    Err(e) => self.answer(reference, Err(e)).await,
                }
            }
            ClientMessage::SubscribeAnswer { version, sdp } => {
                let result = match &self.joined {
                    Some((joined, _)) => joined.link.subscribe_answer(version, sdp).await,
                    None => {
                        return self
                            .error(reference, "not_joined", "join a meeting first")
                            .await;
                    }
                };
                self.answer(reference, result).await
            }
            ClientMessage::IceCandidate {
                connection,
                candidate,
            } => {
                let result = match &self.joined {
                    Some((joined, _)) => {
                        joined
                            .link
                            .ice_candidate(connection.into(), candidate)
                            .await
                    }
                    None => {
                        return self
                            .error(reference, "not_joined", "join a meeting first")
                            .await;
                    }
                };
                self.answer(reference, result).await
            }
        }
    }

    /// Relays the rest of the connection to the node that runs the meeting: opens the
    /// protocol there with the client's credentials, sends it the client's `join` (its
    /// `hello` is not passed on: the client had ours), then passes frames both ways until
    /// either side closes. Only signalling passes here; media goes to that node's own
    /// address, which its answers carry.
    async fn relay(&mut self, holder: &str, join: &str) -> End {
        use futures::StreamExt as _;
        use tokio_tungstenite::tungstenite::Message as Upstream;
        let upstream = crate::nodes::connect_to_holder(
            &self.state,
            holder,
            self.from,
            self.upgraded_with.query.as_deref(),
            &self.upgraded_with.credentials,
        )
        .await;
        let Ok(upstream) = upstream else {
            tracing::warn!(node = %holder, "the node that runs the meeting did not answer a join");
            let refused = self
                .error(
                    None,
                    "meeting_unreachable",
                    "the meeting runs on another node of this installation, which did not answer",
                )
                .await;
            return match refused {
                Ok(_) => End::Close(CLOSE_DISCONNECTED, "meeting unreachable"),
                Err(()) => End::Gone,
            };
        };
        let (mut to_holder, mut from_holder) = upstream.split();
        // The holder's hello first, then the client's join.
        let _hello = from_holder.next().await;
        if to_holder.send(Upstream::text(join)).await.is_err() {
            return End::Close(CLOSE_DISCONNECTED, "meeting unreachable");
        }
        loop {
            tokio::select! {
                frame = self.socket.recv() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        if to_holder.send(Upstream::text(text.as_str())).await.is_err() {
                            return End::Close(CLOSE_DISCONNECTED, "meeting unreachable");
                        }
                    }
                    Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        let _ = to_holder.send(Upstream::Close(None)).await;
                        return End::Gone;
                    }
                },
                frame = from_holder.next() => match frame {
                    Some(Ok(Upstream::Text(text))) => {
                        if self.send_text(text.as_str().to_owned()).await.is_err() {
                            let _ = to_holder.send(Upstream::Close(None)).await;
                            return End::Gone;
                        }
                    }
                    Some(Ok(Upstream::Close(close))) => {
                        let _ = self
                            .socket
                            .send(Message::Close(close.map(|c| CloseFrame {
                                code: c.code.into(),
                                reason: Utf8Bytes::from(c.reason.as_str()),
                            })))
                            .await;
                        return End::Gone;
                    }
                    Some(Ok(_)) => {}
                    None | Some(Err(_)) => {
                        return End::Close(CLOSE_DISCONNECTED, "meeting unreachable");
                    }
                },
            }
        }
    }

    /// The answer to a participant's own request: `ok`, or an error naming why.
    async fn answer(
        &mut self,
        reference: Option<Value>,
        result: Result<(), ServiceError>,
    ) -> Result<Option<End>, ()> {
        match result {
            Ok(()) => self
                .send(&json!({"type": "ok", "ref": reference}))
                .await
                .map(|()| None),
            Err(e @ ServiceError::NotMuted) => {
                self.error(reference, "not_muted", &e.to_string()).await
            }
            Err(e @ ServiceError::UnmuteNotAllowed) => {
                self.error(reference, "unmute_not_allowed", &e.to_string())
                    .await
            }
            Err(e @ ServiceError::MediaUnavailable) => {
                self.error(reference, "media_unavailable", &e.to_string())
                    .await
            }
            Err(ServiceError::Media(e)) => {
                let code = match e {
                    SignalError::InvalidSdp(_) => "invalid_sdp",
                    SignalError::TooManyTracks => "too_many_tracks",
                    SignalError::RoomFull => "media_full",
                    SignalError::UnknownParticipant => "not_joined",
                    SignalError::StaleAnswer | SignalError::NoOfferPending => "stale_answer",
                };
                self.error(reference, code, &e.to_string()).await
            }
            Err(e @ ServiceError::Invalid(_)) => {
                self.error(reference, "invalid_message", &e.to_string())
                    .await
            }
            Err(e) => {
                self.error(reference, "internal_error", &e.to_string())
                    .await
            }
        }
    }

    /// Sends a delivery and whatever else is already queued behind it, flushing once: after a
    /// burst of changes a client gets one write, not one per event.
    async fn on_deliveries(&mut self, first: Delivery) -> Result<Option<End>, ()> {
        let mut texts = Vec::new();
        let mut end = self.prepare(first, &mut texts);
        while end.is_none() && texts.len() < MAX_FRAMES_PER_WRITE {
            let Some((_, deliveries)) = &mut self.joined else {
                break;
            };
            match deliveries.try_recv() {
                Ok(delivery) => end = self.prepare(delivery, &mut texts),
                Err(_) => break,
            }
        }
        self.write(texts).await.map(|()| end)
    }

    /// Writes frames with one flush (one write to the socket when they fit its buffer).
    async fn write(&mut self, texts: Vec<String>) -> Result<(), ()> {
        let socket = &mut self.socket;
        let write = async move {
            for text in texts {
                socket.feed(Message::text(text)).await?;
            }
            socket.flush().await
        };
        match tokio::time::timeout(SEND_LIMIT, write).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(()),
        }
    }

    /// The frame of one delivery, and whether the connection ends after it.
    fn prepare(&mut self, delivery: Delivery, texts: &mut Vec<String>) -> Option<End> {
        let pushed = match delivery {
            Delivery::Event(pushed) => pushed,
            Delivery::Media(media) => {
                texts.push(render_media(&media).to_string());
                return None;
            }
        };
        let me = self.joined.as_ref().map(|(j, _)| j.link.id);
        let text = pushed.wire(|p| render(p.seq, p.at.as_millisecond(), &p.event).to_string());
        texts.push(text.to_owned());
        let end = match &pushed.event {
            Event::ParticipantLeft {
                client_uuid,
                reason,
                ..
            } if Some(*client_uuid) == me => match reason {
                LeaveReason::Disconnected => {
                    Some(End::Close(CLOSE_DISCONNECTED, "disconnected by a host"))
                }
                LeaveReason::HeartbeatTimeout => {
                    Some(End::Close(CLOSE_TIMEOUT, "heartbeat timeout"))
                }
                LeaveReason::TooSlow => Some(End::Close(CLOSE_TOO_SLOW, "too slow")),
                // The `meeting_ended` event follows; close after it.
                LeaveReason::MeetingEnded | LeaveReason::ServerShutdown => None,
                LeaveReason::Left | LeaveReason::ConnectionClosed => {
                    Some(End::Close(CLOSE_LEFT, "left"))
                }
            },
            Event::MeetingEnded { .. } => Some(End::Close(CLOSE_MEETING_ENDED, "meeting ended")),
            _ => None,
        };
        if end.is_some() {
            // The runtime has taken the participant out already.
            self.joined = None;
        }
        end
    }

    async fn refuse(
        &mut self,
        reference: Option<Value>,
        reason: &str,
        message: &str,
    ) -> Result<Option<End>, ()> {
        let refused =
            json!({"type": "refused", "ref": reference, "reason": reason, "message": message});
        self.send(&refused).await.map(|()| None)
    }

    async fn error(
        &mut self,
        reference: Option<Value>,
        code: &str,
        message: &str,
    ) -> Result<Option<End>, ()> {
        let error = json!({"type": "error", "ref": reference, "code": code, "message": message});
        self.send(&error).await.map(|()| None)
    }

    async fn send(&mut self, message: &impl Serialize) -> Result<(), ()> {
        let text = serde_json::to_string(message).map_err(|_| ())?;
        self.send_text(text).await
    }

    async fn send_text(&mut self, text: String) -> Result<(), ()> {
        // A client that cannot take a frame within this long is treated as gone.
        match tokio::time::timeout(SEND_LIMIT, self.socket.send(Message::text(text))).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(()),
        }
    }
}

/// The answer to a successful join: `joined` with the meeting and the joiner's own state,
/// then the participants in `participants` frames of [`PARTICIPANTS_PER_FRAME`], rendered.
///
/// Why in pieces: a connection keeps its write buffer at the size of the largest frame it
/// ever sent, so one frame listing a meeting of hundreds would stay in memory for as long as
/// the participant does — for each of them.
fn joined_frames(
    joined: &Joined,
    reference: Option<Value>,
    media: Option<&MediaOffer>,
) -> Result<Vec<String>, ()> {
    let (meeting, later) =
        MeetingDetail::for_participants(&joined.snapshot, PARTICIPANTS_PER_FRAME);
    let me = joined.link.id.to_string();
    let you = meeting
        .participants()
        .iter()
        .chain(&later)
        .find(|p| p.client_uuid() == me);
    let total = meeting.participants().len() + later.len();
    let mut sent = meeting.participants().len();
    let session_id = joined.session.to_string();
    let first = JoinedFrame {
        kind: "joined",
        reference: &reference,
        client_uuid: &me,
        session_id: &session_id,
        seq: joined.snapshot.seq,
        you,
        participant_count: total,
        remaining_participants: total - sent,
        meeting: &meeting,
        media,
    };
    let mut frames = vec![serde_json::to_string(&first).map_err(|_| ())?];
    for chunk in later.chunks(PARTICIPANTS_PER_FRAME) {
        sent += chunk.len();
        let frame = ParticipantsFrame {
            kind: "participants",
            seq: joined.snapshot.seq,
            participants: chunk,
            remaining_participants: total - sent,
        };
        frames.push(serde_json::to_string(&frame).map_err(|_| ())?);
    }
    Ok(frames)
}

/// The server's first frame.
#[derive(Serialize)]
struct Hello {
    #[serde(rename = "type")]
    kind: &'static str,
    protocol: u32,
    heartbeat_interval_ms: u64,
    heartbeat_timeout_ms: u64,
}

/// `joined` (docs/client-protocol.md).
#[derive(Serialize)]
struct JoinedFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "ref")]
    reference: &'a Option<Value>,
    client_uuid: &'a str,
    session_id: &'a str,
    seq: u64,
    you: Option<&'a ParticipantItem>,
    participant_count: usize,
    remaining_participants: usize,
    meeting: &'a MeetingDetail,
    /// ICE servers and limits, when the server carries media.
    #[serde(skip_serializing_if = "Option::is_none")]
    media: Option<&'a MediaOffer>,
}

/// A media push in the client protocol (docs/client-protocol.md, "Media").
fn render_media(push: &MediaPush) -> Value {
    match push {
        MediaPush::Signal(Signal::Subscribe {
            version,
            sdp,
            tracks,
        }) => json!({
            "type": "subscribe",
            "version": version,
            "sdp": sdp,
            "tracks": tracks.iter().map(|t| json!({
                "mid": t.mid,
                "client_uuid": id(t.participant),
                "kind": match t.kind { Kind::Audio => "audio", Kind::Video => "video" },
            })).collect::<Vec<_>>(),
        }),
        MediaPush::Signal(Signal::MediaClosed { connection, reason }) => json!({
            "type": "media_closed",
            "connection": connection_name(*connection),
            "reason": match reason { CloseReason::Failed => "failed", CloseReason::Timeout => "timeout" },
        }),
        MediaPush::View {
            shown,
            max_views,
            lecturer,
            pinned,
        } => json!({
            "type": "view",
            "shown": shown.iter().map(id).collect::<Vec<_>>(),
            "max_views": max_views,
            "lecturer": optional_id(*lecturer),
            "pinned": optional_id(*pinned),
        }),
        MediaPush::ActiveSpeaker(speaker) => json!({
            "type": "active_speaker",
            "client_uuid": optional_id(*speaker),
        }),
    }
}

/// The rest of a join's snapshot, after `joined`.
#[derive(Serialize)]
struct ParticipantsFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    seq: u64,
    participants: &'a [ParticipantItem],
    remaining_participants: usize,
}

enum Step {
    Frame(Option<Result<Message, axum::Error>>),
    Delivery(Option<Delivery>),
}

fn id(id: impl ToString) -> Value {
    Value::String(id.to_string())
}

fn optional_id(id: Option<impl ToString>) -> Value {
    id.map_or(Value::Null, |i| Value::String(i.to_string()))
}

/// An event as the protocol shows it: its `type`, `seq`, `at` (ms) and its fields.
fn render(seq: u64, at: i64, event: &Event) -> Value {
    let mut message = match event {
        Event::ParticipantJoined { participant: p } => json!({
            "participant": {
                "client_uuid": id(p.id),
                "name": p.display_name,
                "type": participant_type(p),
                "device_type": p.device_type.as_str(),
                "media_type": p.media_type.as_str(),
                "mute_audio": p.mute_audio,
                "mute_video": p.mute_video,
                "allow_self_unmute": p.may_unmute_self,
                "join_time": p.joined_at.as_millisecond(),
            }
        }),
        Event::ParticipantLeft {
            client_uuid,
            reason,
            ..
        } => json!({"client_uuid": id(client_uuid), "reason": reason.as_str()}),
        Event::MuteChanged {
            client_uuid,
            mute_audio,
            mute_video,
            may_unmute_self,
        } => json!({
            "client_uuid": id(client_uuid),
            "mute_audio": mute_audio,
            "mute_video": mute_video,
            "allow_self_unmute": may_unmute_self,
        }),
        Event::AllMuted {
            may_unmute_self,
            except,
        } => json!({
            "allow_self_unmute": may_unmute_self,
            "except": except.iter().map(id).collect::<Vec<_>>(),
        }),
        Event::AllUnmuted => json!({}),
        Event::UnmuteRequested { client_uuid } | Event::UnmuteAllowed { client_uuid } => {
            json!({"client_uuid": id(client_uuid)})
        }
        Event::OverlayChanged { overlay } => json!({
            "overlay": overlay.as_ref().map(|o| json!({
                "content": o.content,
                "repeat": o.repeat,
                "position": o.position,
                "enable_scroll": o.enable_scroll,
            }))
        }),
        Event::LecturerChanged { client_uuid } | Event::MeetingPinChanged { client_uuid } => {
            json!({"client_uuid": optional_id(*client_uuid)})
        }
        Event::EndTimeChanged { end_time } => {
            json!({"end_time": end_time.map(|t| t.as_millisecond())})
        }
        Event::ParticipantRenamed {
            client_uuid,
            display_name,
        } => json!({"client_uuid": id(client_uuid), "name": display_name}),
        Event::RecordingChanged { recording, failure } => match failure {
            Some(reason) => json!({"recording": recording, "failure": reason}),
            None => json!({"recording": recording}),
        },
        Event::LiveChanged { live } => json!({
            "live": live.is_some(),
            "live_url": live.as_ref().map(|l| l.url.clone()),
            "live_passcode": live.as_ref().and_then(|l| l.passcode.clone()),
        }),
        Event::ParticipantPinChanged { viewer, pinned } => {
            json!({"client_uuid": id(viewer), "pinned": optional_id(*pinned)})
        }
        Event::LayoutChanged { viewer, layout } => json!({
            "client_uuid": id(viewer),
            "max_views": layout.max_views,
            "layout": layout.mode.as_str(),
        }),
        Event::LockChanged { locked } => json!({"locked": locked}),
        Event::MeetingEnded { reason, rejoin } => json!({
            "reason": reason.as_str(),
            "rejoin": rejoin,
        }),
    };
    message["type"] = json!(event.kind());
    message["seq"] = json!(seq);
    message["at"] = json!(at);
    message
}

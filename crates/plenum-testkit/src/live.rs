//! A participant's client for tests: a real WebSocket speaking the client protocol
//! (`docs/client-protocol.md`) as raw JSON, so tests see exactly what a client sees.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::TestApp;

/// How long a test waits for a frame it expects before failing.
pub const WAIT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct LiveClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The `hello` the server sent.
    pub hello: Value,
    /// After a successful `join`: this participant's id.
    pub client_uuid: Option<String>,
}

/// How a connection ended, as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    Code(u16),
    Abruptly,
}

impl LiveClient {
    /// Connects to `/api/v1/live`, with a bearer token on the upgrade if given.
    pub async fn connect(app: &TestApp, token: Option<&str>) -> Self {
        let url = app.url("/api/v1/live").replacen("http://", "ws://", 1);
        let mut request = url
            .into_client_request()
            .unwrap_or_else(|e| panic!("bad url: {e}"));
        if let Some(token) = token {
            request.headers_mut().insert(
                "authorization",
                format!("Bearer {token}")
                    .parse()
                    .unwrap_or_else(|e| panic!("bad header: {e}")),
            );
        }
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .unwrap_or_else(|e| panic!("cannot connect the client protocol: {e}"));
        let mut client = Self {
            socket,
            hello: Value::Null,
            client_uuid: None,
        };
        client.hello = client.recv().await;
        assert_eq!(
            client.hello["type"], "hello",
            "first frame: {}",
            client.hello
        );
        client
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap_or_else(|e| panic!("cannot send {message}: {e}"));
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.socket
            .send(message)
            .await
            .unwrap_or_else(|e| panic!("cannot send a frame: {e}"));
    }

    /// The next JSON frame (panics after [`WAIT`] or if the connection closes).
    pub async fn recv(&mut self) -> Value {
        match self.next().await {
            Ok(v) => v,
            Err(closed) => panic!("the connection closed ({closed:?}) while a frame was expected"),
        }
    }

    /// The next JSON frame, or how the connection closed.
    pub async fn next(&mut self) -> Result<Value, Closed> {
        loop {
            let frame = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("no frame within {WAIT:?}"));
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Ok(serde_json::from_str(text.as_str())
                        .unwrap_or_else(|e| panic!("not JSON ({e}): {text}")));
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(frame.map_or(Closed::Abruptly, |f| Closed::Code(f.code.into())));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Err(Closed::Abruptly),
            }
        }
    }

    /// Skips frames until one of type `kind` (panics if the connection closes first).
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.recv().await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// Skips frames until the connection closes; returns the close code.
    pub async fn closed(&mut self) -> Closed {
        loop {
            if let Err(closed) = self.next().await {
                return closed;
            }
        }
    }

    /// Sends a join and returns the answer (`joined` or `refused` or `error`).
    pub async fn join(&mut self, join: Value) -> Value {
        let mut message = json!({"type": "join"});
        for (k, v) in join.as_object().cloned().unwrap_or_default() {
            message[k] = v;
        }
        self.send(message).await;
        loop {
            let answer = self.recv().await;
            match answer["type"].as_str() {
                Some("joined") => {
                    self.client_uuid = answer["client_uuid"].as_str().map(str::to_owned);
                    return answer;
                }
                Some("refused" | "error") => return answer,
                _ => continue,
            }
        }
    }

    /// Joins as a guest named `name`, expecting success.
    pub async fn join_ok(&mut self, number: &str, password: Option<&str>, name: &str) -> Value {
        let answer = self
            .join(json!({"meeting_number": number, "password": password, "display_name": name, "device_type": "bot"}))
            .await;
        assert_eq!(answer["type"], "joined", "join of {name}: {answer}");
        answer
    }

    /// This participant's id (after a join).
    pub fn id(&self) -> &str {
        self.client_uuid
            .as_deref()
            .unwrap_or_else(|| panic!("not joined"))
    }

    /// Drops the TCP connection without a close handshake.
    pub fn drop_connection(self) {
        drop(self.socket);
    }
}

//! [`MediaSession`]: the tokio driver of a [`MediaClient`]: two UDP sockets (one per peer
//! connection), the clock, and the queue of signalling frames for the participant's WebSocket.
//! [`crate::Participant::run_with_media`] drives it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::net::UdpSocket;

use super::client::{Connection, MediaClient, MediaConfig, Signal};
use super::source::Fixtures;
use super::stats::MediaStats;
use crate::protocol::Fields;

/// Largest datagram read (str0m's MTU is below 1500; DTLS handshakes fit too).
const DATAGRAM_BYTES: usize = 2_048;
/// How often [`crate::Participant::run_with_media`] hands the observer the statistics, unless
/// [`MediaSession::set_report_every`] says otherwise: once a second, as `plenum bot` prints.
pub const DEFAULT_REPORT_EVERY: Duration = Duration::from_secs(1);
/// When nothing is due, the driver still wakes this often (a bound, not a poll rate).
const IDLE_WAKE: Duration = Duration::from_secs(1);

/// One participant's media over real sockets.
#[derive(Debug)]
pub struct MediaSession {
    client: MediaClient,
    publish: UdpSocket,
    subscribe: UdpSocket,
    publish_buf: Vec<u8>,
    subscribe_buf: Vec<u8>,
    /// Datagrams dropped because a socket's send buffer was full.
    pub dropped_sends: u64,
    report_every: Duration,
    /// Receive only: [`MediaSession::start`] offers no publish connection.
    receive_only: bool,
}

impl MediaSession {
    /// Binds the two sockets on `ip` (port 0: any free port); `video` publishes video too
    /// (`media_type: video`). The fixtures are the embedded ones.
    pub async fn bind(ip: IpAddr, video: bool) -> anyhow::Result<Self> {
        let fixtures = Fixtures::embedded()?;
        Self::bind_with(ip, video, fixtures).await
    }

    pub async fn bind_with(
        ip: IpAddr,
        video: bool,
        fixtures: Arc<Fixtures>,
    ) -> anyhow::Result<Self> {
        let bind = |what: &'static str| async move {
            UdpSocket::bind(SocketAddr::new(ip, 0))
                .await
                .with_context(|| format!("binding the {what} socket on {ip}"))
        };
        let publish = bind("publish").await?;
        let subscribe = bind("subscribe").await?;
        let config = MediaConfig {
            video,
            publish_addr: publish.local_addr()?,
            subscribe_addr: subscribe.local_addr()?,
        };
        Ok(Self {
            client: MediaClient::new(config, fixtures),
            publish,
            subscribe,
            publish_buf: vec![0; DATAGRAM_BYTES],
            subscribe_buf: vec![0; DATAGRAM_BYTES],
            dropped_sends: 0,
            report_every: DEFAULT_REPORT_EVERY,
            receive_only: false,
        })
    }

    /// Offers the publish connection (call once joined); the `publish` frame is then in
    /// [`MediaSession::next_signalling`].
    pub fn start(&mut self) {
        if self.receive_only {
            return;
        }
        self.client.start(Instant::now());
        self.flush();
    }

    /// Makes this session receive only: [`MediaSession::start`] then publishes nothing (the
    /// subscribe connection is still created by the first offer). For a viewer, e.g. the
    /// subscribers of the benchmarks' lecture shape.
    pub fn set_receive_only(&mut self, receive_only: bool) {
        self.receive_only = receive_only;
    }

    /// Acts on media signalling that did not come as a Plenum frame: another signalling
    /// channel (e.g. the Janus VideoRoom that plenum-bench compares with) maps its offers and
    /// answers to a [`Signal`]. The client's own offers and answers are then in
    /// [`MediaSession::next_signalling`], as Plenum frames (`publish`, `subscribe_answer`).
    pub fn handle_signal(&mut self, signal: Signal) {
        self.client.handle_signal(signal, Instant::now());
        self.flush();
    }

    /// A frame from the server: acts on it if it is media signalling.
    pub fn handle_frame(&mut self, fields: &Fields<'_>) {
        if let Some(signal) = Signal::from_fields(fields) {
            self.handle_signal(signal);
        }
    }

    /// The next frame to send on the WebSocket.
    pub fn next_signalling(&mut self) -> Option<String> {
        self.client.poll_signalling()
    }

    /// Waits for a datagram or the next deadline and handles it; returns whether signalling
    /// is waiting to be sent. Cancel-safe: it awaits only the sockets' reads and a timer, and
    /// all the work after them is synchronous.
    pub async fn drive(&mut self) -> bool {
        let deadline = self
            .client
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + IDLE_WAKE);
        let received = tokio::select! {
            r = self.publish.recv_from(&mut self.publish_buf) => Some((Connection::Publish, r)),
            r = self.subscribe.recv_from(&mut self.subscribe_buf) => Some((Connection::Subscribe, r)),
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => None,
        };
        let now = Instant::now();
        match received {
            Some((connection, Ok((len, source)))) => {
                let buf = match connection {
                    Connection::Publish => &self.publish_buf,
                    Connection::Subscribe => &self.subscribe_buf,
                };
                self.client
                    .handle_datagram(connection, source, &buf[..len], now);
                // Frames may have come due meanwhile.
                self.client.handle_timeout(now);
            }
            Some((connection, Err(e))) => {
                // ICMP port unreachable and the like: the ICE agent copes with losses.
                tracing::debug!("receiving on the {} socket: {e}", connection.name());
            }
            None => self.client.handle_timeout(now),
        }
        self.flush();
        // Each datagram's answer goes out at once; other datagrams already waiting are read
        // on the next call.
        self.client.has_signalling()
    }

    /// Sends the datagrams the client has ready (a full socket buffer drops them: UDP).
    fn flush(&mut self) {
        while let Some(t) = self.client.poll_transmit() {
            let socket = match t.connection {
                Connection::Publish => &self.publish,
                Connection::Subscribe => &self.subscribe,
            };
            if let Err(e) = socket.try_send_to(&t.contents, t.destination) {
                self.dropped_sends += 1;
                tracing::debug!("sending to {}: {e}", t.destination);
            }
        }
    }

    pub fn stats(&self) -> &MediaStats {
        self.client.stats()
    }

    /// How often the observer of [`crate::Participant::run_with_media`] gets the statistics
    /// ([`crate::Observer::media_stats`]); tests that time media use less than the default
    /// second. Zero keeps the default.
    pub fn set_report_every(&mut self, every: Duration) {
        if !every.is_zero() {
            self.report_every = every;
        }
    }

    pub fn report_every(&self) -> Duration {
        self.report_every
    }

    pub fn client(&self) -> &MediaClient {
        &self.client
    }

    /// The local addresses of the publish and subscribe sockets.
    pub fn local_addrs(&self) -> (SocketAddr, SocketAddr) {
        (
            self.publish
                .local_addr()
                .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0))),
            self.subscribe
                .local_addr()
                .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0))),
        )
    }
}

//! One peer connection: a str0m `Rtc` and what the room knows about it. Every call into the
//! `Rtc` goes through [`Peer::call`], under `catch_unwind`, and is followed by a drain of its
//! output (str0m's run-loop rule), so a panic inside str0m ends this connection only.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use str0m::{Candidate, Event, Output as RtcOutput, Rtc, RtcConfig};

use crate::Output;
use crate::routing::ConnKey;

/// How long a connection may go without a datagram from its peer before it is closed.
pub(crate) const CONNECTIVITY_TIMEOUT: Duration = Duration::from_secs(30);

/// What draining the connections produced, for the room to act on.
#[derive(Debug)]
pub(crate) struct Outbox<P> {
    /// Ready for [`crate::Room::poll_output`].
    pub out: VecDeque<Output<P>>,
    /// str0m events the room handles after the call that caused them (never re-entrantly).
    pub events: VecDeque<(ConnKey<P>, Event)>,
    /// Addresses that completed ICE with a connection.
    pub learned: Vec<(ConnKey<P>, SocketAddr)>,
    /// Connections whose `Rtc` panicked or failed; the room closes them.
    pub failed: Vec<ConnKey<P>>,
}

impl<P> Outbox<P> {
    pub fn new() -> Self {
        Outbox {
            out: VecDeque::new(),
            events: VecDeque::new(),
            learned: Vec::new(),
            failed: Vec::new(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Peer {
    rtc: Rtc,
    pub ufrag: String,
    /// Remote addresses that completed ICE with this connection.
    pub addresses: Vec<SocketAddr>,
    /// When str0m next wants `handle_timeout`.
    pub next_timeout: Instant,
    /// The last datagram from an address that completed ICE (or the creation).
    pub last_heard: Instant,
    /// DTLS is up: writes reach the peer.
    pub connected: bool,
    /// Panicked or failed; no further calls, the room closes it.
    pub broken: bool,
}

impl Peer {
    /// An ICE-lite `Rtc` with the advertised host candidates; `video` enables the video
    /// codecs (an audio-only participant's video m-line then finds no codec).
    pub fn new(advertise: &[SocketAddr], video: bool, now: Instant) -> Peer {
        let config = RtcConfig::new()
            .set_ice_lite(true)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(video)
            .enable_h264(video);
        Peer::with_config(config, advertise, now)
    }

    /// A live-stream viewer's connection: ICE-lite, Opus and VP8 only (what the composed
    /// stream is).
    pub fn viewer(advertise: &[SocketAddr], now: Instant) -> Peer {
        let config = RtcConfig::new()
            .set_ice_lite(true)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true);
        Peer::with_config(config, advertise, now)
    }

    fn with_config(config: RtcConfig, advertise: &[SocketAddr], now: Instant) -> Peer {
        let mut rtc = config.build(now);
        for address in advertise {
            match Candidate::host(*address, "udp") {
                Ok(candidate) => {
                    rtc.add_local_candidate(candidate);
                }
                Err(e) => tracing::warn!(%address, error = %e, "advertised address refused"),
            }
        }
        let ufrag = rtc.direct_api().local_ice_credentials().ufrag;
        Peer {
            rtc,
            ufrag,
            addresses: Vec::new(),
            next_timeout: now,
            last_heard: now,
            connected: false,
            broken: false,
        }
    }

    /// Runs `f` on the `Rtc`, then drains it. `None` when it panicked or failed: the
    /// connection is then marked broken and queued for the room to close.
    pub fn call<P: Copy, R>(
        &mut self,
        key: ConnKey<P>,
        local: SocketAddr,
        outbox: &mut Outbox<P>,
        f: impl FnOnce(&mut Rtc) -> R,
    ) -> Option<R> {
        if self.broken {
            return None;
        }
        let rtc = &mut self.rtc;
        let result = catch_unwind(AssertUnwindSafe(|| f(rtc)));
        let drained = self.drain(key, local, outbox);
        match (result, drained) {
            (Ok(r), true) => Some(r),
            (Err(_), _) => {
                tracing::error!("str0m panicked; closing the connection");
                self.break_off(key, outbox);
                None
            }
            (Ok(_), false) => None,
        }
    }

    fn break_off<P: Copy>(&mut self, key: ConnKey<P>, outbox: &mut Outbox<P>) {
        if !self.broken {
            self.broken = true;
            outbox.failed.push(key);
        }
    }

    /// Polls the `Rtc` until its timeout. False when it panicked or failed.
    fn drain<P: Copy>(
        &mut self,
        key: ConnKey<P>,
        local: SocketAddr,
        outbox: &mut Outbox<P>,
    ) -> bool {
        loop {
            let rtc = &mut self.rtc;
            let output = match catch_unwind(AssertUnwindSafe(|| rtc.poll_output())) {
                Ok(Ok(output)) => output,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "str0m failed; closing the connection");
                    self.break_off(key, outbox);
                    return false;
                }
                Err(_) => {
                    tracing::error!("str0m panicked; closing the connection");
                    self.break_off(key, outbox);
                    return false;
                }
            };
            match output {
                RtcOutput::Timeout(at) => {
                    self.next_timeout = at;
                    if !self.rtc.is_alive() {
                        self.break_off(key, outbox);
                        return false;
                    }
                    return true;
                }
                RtcOutput::Transmit(transmit) => {
                    // An ICE-lite agent only answers checks whose integrity it verified with
                    // our password, so the first datagram to an address means that address
                    // completed ICE with this connection's credentials.
                    if !self.addresses.contains(&transmit.destination) {
                        self.addresses.push(transmit.destination);
                        outbox.learned.push((key, transmit.destination));
                    }
                    outbox.out.push_back(Output::Transmit {
                        source: local,
                        destination: transmit.destination,
                        contents: transmit.contents.into(),
                    });
                }
                RtcOutput::Event(event) => match event {
                    Event::Connected => {
                        self.connected = true;
                        outbox.events.push_back((key, event));
                    }
                    Event::MediaAdded(_)
                    | Event::MediaChanged(_)
                    | Event::MediaData(_)
                    | Event::KeyframeRequest(_) => outbox.events.push_back((key, event)),
                    _ => {}
                },
            }
        }
    }
}

//! Media: the I/O edge of the SFU.
//!
//! One UDP socket serves every meeting (`media.listen`). Each running meeting has a media
//! task that owns its [`Room`] (the sans-IO SFU of `plenum-media`). The socket's receive
//! loop hands each datagram to the task that owns its peer: by the sender's address once it
//! completed ICE there, else — a STUN check from an address not seen yet — by the ICE
//! username fragment it names. Nothing scans peers per packet.
//!
//! The media task never waits for the disk: signalling (`publish`, `subscribe_answer`) goes
//! from the participant's connection straight to it, and the meeting task tells it who is
//! in, who may be heard and seen, and who sees whom, as the meeting changes.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use plenum_domain::ids::AttendanceId;
use plenum_domain::live::ViewRule;
use plenum_media::{
    Connection, Kind, MediaConfig, Output, Room, Route, Signal, SignalError, ViewerId, ViewerSample,
};
use plenum_metrics::media::{Dropped, Traffic};
use serde::{Deserialize, Serialize};
use std::panic::AssertUnwindSafe;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use super::egress::{
    EgressContext, EgressHandle, EgressInput, EgressNews, LivePlan, RecordingPlan, Tell,
};
use super::task::Message;
use super::{Delivery, MeetingSummary, Outbox};
use crate::{Clock, ServiceError};

/// The media server's settings (`media.*` in the configuration, docs/media.md).
#[derive(Debug, Clone)]
pub struct MediaSettings {
    /// The UDP address every meeting's media uses.
    pub listen: SocketAddr,
    /// The addresses clients are given as the server's candidates; empty: the bound address.
    pub advertise: Vec<SocketAddr>,
    /// STUN/TURN servers for clients (`RTCConfiguration.iceServers`).
    pub ice_servers: Vec<IceServer>,
    pub max_peers_per_meeting: usize,
    pub max_video_bitrate: u64,
    pub max_audio_bitrate: u64,
}

impl Default for MediaSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 7481)),
            advertise: Vec::new(),
            ice_servers: Vec::new(),
            max_peers_per_meeting: 100,
            max_video_bitrate: 2_500_000,
            max_audio_bitrate: 128_000,
        }
    }
}

/// One entry of `media.ice_servers`: a STUN or TURN server, handed to clients as a
/// browser's `RTCIceServer` (the same field names).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceServer {
    /// `stun:`, `turn:` or `turns:` URLs.
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// The credential stays out of logs and panics.
impl std::fmt::Debug for IceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IceServer")
            .field("urls", &self.urls)
            .field("username", &self.username)
            .field(
                "credential",
                &self.credential.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// What a participant's client is told about media in `joined`.
#[derive(Debug, Clone, Serialize)]
pub struct MediaOffer {
    pub ice_servers: Vec<IceServer>,
    pub max_video_bitrate: u64,
    pub max_audio_bitrate: u64,
}

/// Media signalling pushed to one participant's connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaPush {
    Signal(Signal<AttendanceId>),
    /// Whose video this viewer is sent (docs/client-protocol.md, `view`).
    View {
        shown: Vec<AttendanceId>,
        max_views: u8,
        lecturer: Option<AttendanceId>,
        pinned: Option<AttendanceId>,
    },
    ActiveSpeaker(Option<AttendanceId>),
}

/// Datagrams one meeting may have waiting before more are dropped (UDP may drop; a slow
/// meeting must not hold the socket's loop).
const ROOM_QUEUE: usize = 4096;
/// The media socket's receive and send buffers asked of the kernel.
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;
/// Largest datagram read: above any MTU WebRTC uses.
const MAX_DATAGRAM: usize = 2048;
/// Datagrams a media task takes from its queue before looking at its controls again.
const DATAGRAM_BATCH: usize = 64;

/// The installation's media server: the socket and the routes to the meetings' tasks.
#[derive(Debug)]
pub struct MediaService {
    socket: Arc<UdpSocket>,
    config: MediaConfig,
    offer: MediaOffer,
    router: Arc<Router>,
}

impl MediaService {
    /// Binds `settings.listen` and starts the receive loop.
    pub async fn start(settings: &MediaSettings) -> std::io::Result<Self> {
        let socket = Arc::new(UdpSocket::bind(settings.listen).await?);
        // Every meeting's media arrives on this one socket; the kernel's default receive
        // buffer (~200 KB) overflowed at 20 recorded meetings of 4 (BENCHMARKS.md,
        // "Recording and live streaming"): ask for more. The kernel caps what it grants at
        // net.core.rmem_max / wmem_max; a smaller buffer still works, it only drops sooner.
        let buffers = socket2::SockRef::from(socket.as_ref());
        let _ = buffers.set_recv_buffer_size(SOCKET_BUFFER);
        let _ = buffers.set_send_buffer_size(SOCKET_BUFFER);
        tracing::debug!(
            receive = buffers.recv_buffer_size().unwrap_or(0),
            send = buffers.send_buffer_size().unwrap_or(0),
            "media socket buffers"
        );
        let local = socket.local_addr()?;
        let advertise = if settings.advertise.is_empty() {
            vec![local]
        } else {
            // An advertised address without its own port is reached at the bound one.
            settings
                .advertise
                .iter()
                .map(|a| match a.port() {
                    0 => SocketAddr::new(a.ip(), local.port()),
                    _ => *a,
                })
                .collect()
        };
        let config = MediaConfig {
            local,
            advertise,
            max_peers: settings.max_peers_per_meeting,
            max_video_bitrate: settings.max_video_bitrate,
            max_audio_bitrate: settings.max_audio_bitrate,
            keyframe_throttle: Duration::from_secs(1),
        };
        let router = Arc::new(Router::default());
        tokio::spawn(receive(socket.clone(), router.clone()));
        Ok(Self {
            socket,
            config,
            offer: MediaOffer {
                ice_servers: settings.ice_servers.clone(),
                max_video_bitrate: settings.max_video_bitrate,
                max_audio_bitrate: settings.max_audio_bitrate,
            },
            router,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.config.local
    }

    pub fn offer(&self) -> &MediaOffer {
        &self.offer
    }

    /// Starts the media task of a meeting that just started.
    pub(super) fn open_room(
        &self,
        clock: Arc<dyn Clock>,
        meeting: String,
        egress: Option<EgressContext>,
        mailbox: mpsc::WeakSender<Message>,
        summary: Arc<Mutex<MeetingSummary>>,
    ) -> MediaHandle {
        let (control, controls) = mpsc::unbounded_channel();
        let (datagrams, inbox) = mpsc::channel(ROOM_QUEUE);
        let now = clock.instant();
        let meeting_name = meeting.clone();
        let task = RoomTask {
            room: Room::new(self.config.clone(), now),
            socket: self.socket.clone(),
            router: self.router.clone(),
            datagrams,
            clock,
            local: self.config.local,
            outboxes: HashMap::new(),
            rules: HashMap::new(),
            views: HashMap::new(),
            senders: BTreeSet::new(),
            tracks_seen: 0,
            using_media: HashSet::new(),
            meeting,
            egress_context: egress,
            egress: None,
            own_controls: control.downgrade(),
            mailbox,
            summary,
            recording: false,
            live: false,
            lecturer: None,
            traffic: Traffic::new(),
        };
        let (router, queue) = (self.router.clone(), task.datagrams.clone());
        tokio::spawn(async move {
            // Calls into str0m are isolated per connection inside the room; a bug in the
            // rest of the media task ends this meeting's media, not the meeting or the
            // server: its routes go, and the meeting goes on without audio and video.
            if let Err(panic) = AssertUnwindSafe(task.run(controls, inbox))
                .catch_unwind()
                .await
            {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(meeting = %meeting_name, panic = %what, "the meeting's media task failed; its media ends");
                router.forget(&queue);
            }
        });
        MediaHandle { control }
    }
}

/// Where datagrams go: the meetings' queues by remote address and by our ICE ufrag.
#[derive(Debug, Default)]
struct Router {
    by_address: Mutex<HashMap<SocketAddr, RoomQueue>>,
    by_ufrag: Mutex<HashMap<String, RoomQueue>>,
}

type RoomQueue = mpsc::Sender<Datagram>;

#[derive(Debug)]
struct Datagram {
    source: SocketAddr,
    contents: Vec<u8>,
}

impl Router {
    /// STUN checks go by the ufrag they name (a client may use one address for
    /// connections in two meetings, one after the other); everything else by its address.
    /// RFC 7983: a datagram whose first byte is below 4 is STUN.
    fn route(&self, source: SocketAddr, contents: &[u8]) -> Option<RoomQueue> {
        if contents.first().is_some_and(|b| *b < 4) {
            let ufrag = plenum_media::stun_ufrag(contents)?;
            return lock(&self.by_ufrag).get(ufrag).cloned();
        }
        lock(&self.by_address).get(&source).cloned()
    }

    /// Drops every route to `queue` (its task is gone without withdrawing them).
    fn forget(&self, queue: &RoomQueue) {
        lock(&self.by_address).retain(|_, q| !q.same_channel(queue));
        lock(&self.by_ufrag).retain(|_, q| !q.same_channel(queue));
    }

    fn apply(&self, route: Route, queue: &RoomQueue) {
        match route {
            Route::AddUfrag(u) => {
                lock(&self.by_ufrag).insert(u, queue.clone());
            }
            Route::RemoveUfrag(u) => {
                lock(&self.by_ufrag).remove(&u);
            }
            Route::AddAddress(a) => {
                lock(&self.by_address).insert(a, queue.clone());
            }
            Route::RemoveAddress(a) => {
                let mut by_address = lock(&self.by_address);
                // Only our own: the address may since have completed ICE in another meeting.
                if by_address.get(&a).is_some_and(|q| q.same_channel(queue)) {
                    by_address.remove(&a);
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The socket's receive loop: every datagram to the meeting that owns its peer, or dropped.
async fn receive(socket: Arc<UdpSocket>, router: Arc<Router>) {
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    let traffic = Traffic::new();
    loop {
        let (n, source) = match socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            // ICMP errors of earlier sends surface here on some systems: not fatal.
            Err(e) => {
                tracing::debug!(error = %e, "media socket receive");
                continue;
            }
        };
        let contents = &buffer[..n];
        traffic.received(n);
        let Some(queue) = router.route(source, contents) else {
            traffic.dropped(Dropped::Unrouted);
            continue;
        };
        let queued = queue.try_send(Datagram {
            source,
            contents: contents.to_vec(),
        });
        if queued.is_err() {
            traffic.dropped(Dropped::QueueFull);
        }
    }
}

/// A meeting's line to its media task.
#[derive(Debug, Clone)]
pub(super) struct MediaHandle {
    control: mpsc::UnboundedSender<MediaControl>,
}

#[derive(Debug)]
pub(super) enum MediaControl {
    /// The meeting ended: every connection closes.
    Close,
    /// A participant is in (its join is durable): it may publish and is offered the others.
    Admit {
        participant: AttendanceId,
        receive_video: bool,
        /// Whether its audio and video may be forwarded from the start.
        audio: bool,
        video: bool,
        outbox: Outbox,
    },
    Depart(AttendanceId),
    Forwarding {
        participant: AttendanceId,
        audio: bool,
        video: bool,
    },
    /// What decides whose video the viewer is sent (pins, lecturer, layout).
    View {
        viewer: AttendanceId,
        rule: ViewRule,
    },
    Publish {
        participant: AttendanceId,
        offer: String,
        reply: oneshot::Sender<Result<String, SignalError>>,
    },
    SubscribeAnswer {
        participant: AttendanceId,
        version: u64,
        answer: String,
        reply: oneshot::Sender<Result<(), SignalError>>,
    },
    Candidate {
        participant: AttendanceId,
        connection: Connection,
        candidate: String,
        reply: oneshot::Sender<Result<(), SignalError>>,
    },
    /// Recording starts (its set's plan) or stops.
    Record(Option<RecordingPlan>),
    /// The live stream starts or stops (viewers are dropped when it stops).
    Live(Option<LivePlan>),
    /// A live-stream viewer's WHEP offer: the answer, or why not.
    AddViewer {
        viewer: ViewerId,
        offer: String,
        reply: oneshot::Sender<Result<String, SignalError>>,
    },
    RemoveViewer(ViewerId),
    /// From the egress: a keyframe of this participant's video (a file or the composition
    /// needs one).
    KeyframeFor(AttendanceId),
    /// From the egress: a sample of the composition for the viewers.
    ToViewers(ViewerSample),
}

impl MediaHandle {
    pub(super) fn send(&self, control: MediaControl) {
        // The task is gone only once the meeting ended: nothing left to tell it.
        let _ = self.control.send(control);
    }

    /// Sends a request to the media task and waits for its answer.
    pub(super) async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, SignalError>>) -> MediaControl,
    ) -> Result<T, ServiceError> {
        // No task to answer: the meeting's media ended (the meeting itself, or a failure of
        // its media task).
        let (reply, answer) = oneshot::channel();
        if self.control.send(make(reply)).is_err() {
            return Err(ServiceError::MediaUnavailable);
        }
        match answer.await {
            Ok(result) => result.map_err(ServiceError::Media),
            Err(_) => Err(ServiceError::MediaUnavailable),
        }
    }
}

struct RoomTask {
    room: Room<AttendanceId>,
    socket: Arc<UdpSocket>,
    router: Arc<Router>,
    /// This room's own queue, which the router hands datagrams to.
    datagrams: RoomQueue,
    clock: Arc<dyn Clock>,
    /// The socket's address: every datagram's destination.
    local: SocketAddr,
    outboxes: HashMap<AttendanceId, Outbox>,
    /// What decides each participant's view, from the meeting task.
    rules: HashMap<AttendanceId, ViewRule>,
    /// Each participant's current view ([`MediaPush::View`]).
    views: HashMap<AttendanceId, Arc<MediaPush>>,
    /// Participants who send video, in join order (ids are time-ordered).
    senders: BTreeSet<AttendanceId>,
    /// The room's `tracks_changed` when `senders` was last worked out.
    tracks_seen: u64,
    /// Participants who published or answered a subscribe offer: they are told their view.
    using_media: HashSet<AttendanceId>,
    meeting: String,
    /// Recording and streaming, when the server records (`None`: it does not).
    egress_context: Option<EgressContext>,
    /// The meeting's egress thread, from the first recording or stream on.
    egress: Option<EgressHandle>,
    /// This task's own controls, for the egress to answer on.
    own_controls: mpsc::WeakUnboundedSender<MediaControl>,
    /// The meeting task, which the egress tells when a recording fails.
    mailbox: mpsc::WeakSender<Message>,
    /// Where the meeting shows its viewer count.
    summary: Arc<Mutex<MeetingSummary>>,
    recording: bool,
    live: bool,
    /// The lecturer, as the view rules name it (the composition follows it).
    lecturer: Option<AttendanceId>,
    /// The media port's counters (`plenum_media_*`).
    traffic: Traffic,
}

impl RoomTask {
    async fn run(
        mut self,
        mut controls: mpsc::UnboundedReceiver<MediaControl>,
        mut inbox: mpsc::Receiver<Datagram>,
    ) {
        let mut batch = Vec::with_capacity(DATAGRAM_BATCH);
        let mut wake = self.drain();
        loop {
            tokio::select! {
                biased;
                control = controls.recv() => match control {
                    Some(MediaControl::Close) | None => break,
                    Some(control) => self.control(control),
                },
                n = inbox.recv_many(&mut batch, DATAGRAM_BATCH) => {
                    if n == 0 {
                        break;
                    }
                    let now = self.clock.instant();
                    let local = self.local;
                    for d in batch.drain(..) {
                        if !self.room.handle_datagram(now, d.source, local, &d.contents) {
                            self.traffic.dropped(Dropped::NotAccepted);
                        }
                    }
                }
                () = tokio::time::sleep_until(wake.into()) => {
                    self.room.handle_timeout(self.clock.instant());
                }
            }
            // Tracks open and close on a publish, a leave, a failed or timed-out connection:
            // whichever input it was, the views follow (one comparison when nothing changed).
            if self.room.tracks_changed() != self.tracks_seen {
                self.tracks_seen = self.room.tracks_changed();
                self.senders_changed(self.clock.instant());
            }
            wake = self.drain();
        }
        for route in self.room.routes() {
            let removal = match route {
                Route::AddUfrag(u) => Route::RemoveUfrag(u),
                Route::AddAddress(a) => Route::RemoveAddress(a),
                other => other,
            };
            self.router.apply(removal, &self.datagrams);
        }
        tracing::debug!(meeting = %self.meeting, stats = ?self.room.stats(), "media closed");
    }

    fn control(&mut self, control: MediaControl) {
        let now = self.clock.instant();
        match control {
            MediaControl::Close => {}
            MediaControl::Admit {
                participant,
                receive_video,
                audio,
                video,
                outbox,
            } => {
                self.outboxes.insert(participant, outbox);
                self.room.add_participant(participant, receive_video, now);
                self.room.set_forwarding(participant, audio, video, now);
            }
            MediaControl::Depart(participant) => {
                if let Some(egress) = &self.egress {
                    egress.control(EgressInput::Left(participant));
                }
                self.outboxes.remove(&participant);
                self.views.remove(&participant);
                self.rules.remove(&participant);
                self.using_media.remove(&participant);
                self.room.remove_participant(participant, now);
            }
            MediaControl::Forwarding {
                participant,
                audio,
                video,
            } => self.room.set_forwarding(participant, audio, video, now),
            MediaControl::View { viewer, rule } => {
                if rule.lecturer != self.lecturer {
                    self.lecturer = rule.lecturer;
                    if let Some(egress) = &self.egress {
                        egress.control(EgressInput::Lecturer(rule.lecturer));
                    }
                }
                self.rules.insert(viewer, rule);
                self.refresh_view(viewer, now);
            }
            MediaControl::Record(plan) => {
                self.recording = plan.is_some();
                if let Some(egress) = self.egress() {
                    egress.control(EgressInput::Record(plan));
                }
                self.room.set_tap(self.recording || self.live, now);
            }
            MediaControl::Live(plan) => {
                self.live = plan.is_some();
                if plan.is_none() {
                    self.room.remove_all_viewers(now);
                    self.viewers_changed();
                }
                if let Some(egress) = self.egress() {
                    egress.control(EgressInput::Live(plan));
                }
                self.room.set_tap(self.recording || self.live, now);
            }
            MediaControl::AddViewer {
                viewer,
                offer,
                reply,
            } => {
                let answer = if self.live {
                    self.room.add_viewer(viewer, &offer, now)
                } else {
                    Err(SignalError::UnknownParticipant)
                };
                let _ = reply.send(answer);
                self.viewers_changed();
            }
            MediaControl::RemoveViewer(viewer) => {
                self.room.remove_viewer(viewer, now);
                self.viewers_changed();
            }
            MediaControl::KeyframeFor(participant) => {
                self.room.request_keyframe_of(participant, now);
            }
            MediaControl::ToViewers(sample) => {
                if self.live {
                    self.room.write_to_viewers(&sample, now);
                }
            }
            MediaControl::Publish {
                participant,
                offer,
                reply,
            } => {
                let answer = if self.outboxes.contains_key(&participant) {
                    self.room.publish(participant, &offer, now)
                } else {
                    Err(SignalError::UnknownParticipant)
                };
                let published = answer.is_ok();
                let _ = reply.send(answer);
                if published {
                    // After the answer: the view is the first push of a participant who
                    // uses media.
                    self.uses_media(participant);
                }
            }
            MediaControl::SubscribeAnswer {
                participant,
                version,
                answer,
                reply,
            } => {
                let _ = reply.send(
                    self.room
                        .subscribe_answer(participant, version, &answer, now),
                );
            }
            MediaControl::Candidate {
                participant,
                connection,
                candidate,
                reply,
            } => {
                let _ =
                    reply.send(
                        self.room
                            .add_candidate(participant, connection, &candidate, now),
                    );
            }
        }
    }

    /// The participant publishes or receives: from now on it is told its view (a client
    /// without media, a phone gateway or a bot of the join storm, would get a frame per join
    /// for nothing).
    fn uses_media(&mut self, participant: AttendanceId) {
        if self.using_media.insert(participant)
            && let Some(view) = self.views.get(&participant)
        {
            self.push(participant, view.as_ref().clone());
        }
    }

    /// Who sends video changed: every viewer's view follows.
    fn senders_changed(&mut self, now: std::time::Instant) {
        let senders: BTreeSet<AttendanceId> = self
            .outboxes
            .keys()
            .copied()
            .filter(|p| self.room.publishes(*p, Kind::Video))
            .collect();
        if senders == self.senders {
            return;
        }
        self.senders = senders;
        let viewers: Vec<AttendanceId> = self.rules.keys().copied().collect();
        for viewer in viewers {
            self.refresh_view(viewer, now);
        }
    }

    /// Decides whose video `viewer` is sent (the domain's rule over who sends video), tells
    /// the room, and the viewer if it uses media, when that changed.
    fn refresh_view(&mut self, viewer: AttendanceId, now: std::time::Instant) {
        let Some(rule) = self.rules.get(&viewer) else {
            return;
        };
        let view = MediaPush::View {
            shown: rule.shown(viewer, &self.senders),
            max_views: rule.max_views,
            lecturer: rule.lecturer,
            pinned: rule.own_pin.or(rule.meeting_pin),
        };
        if self.views.get(&viewer).is_some_and(|v| **v == view) {
            return;
        }
        if let MediaPush::View { shown, .. } = &view {
            self.room.set_view(viewer, Some(shown.clone()), now);
        }
        let view = Arc::new(view);
        if self.using_media.contains(&viewer) {
            self.push(viewer, view.as_ref().clone());
        }
        self.views.insert(viewer, view);
    }

    /// Does what the room asks until it only waits; returns when to wake it.
    fn drain(&mut self) -> Instant {
        loop {
            match self.room.poll_output() {
                Output::Transmit {
                    destination,
                    contents,
                    ..
                } => {
                    // A full socket buffer drops the datagram, as the network would.
                    match self.socket.try_send_to(&contents, destination) {
                        Ok(_) => self.traffic.sent(contents.len()),
                        Err(_) => self.traffic.dropped(Dropped::SendFailed),
                    }
                }
                Output::Signal(participant, signal) => {
                    self.push(participant, MediaPush::Signal(signal));
                }
                Output::Route(route) => self.router.apply(route, &self.datagrams),
                Output::Frame {
                    participant,
                    kind,
                    frame,
                } => {
                    if let Some(egress) = &mut self.egress {
                        egress.frame(EgressInput::Frame {
                            participant,
                            kind,
                            frame,
                        });
                    }
                }
                Output::ViewerClosed(_) => self.viewers_changed(),
                Output::ViewerKeyframeWanted => {
                    if let Some(egress) = &self.egress {
                        egress.control(EgressInput::ViewerKeyframeWanted);
                    }
                }
                Output::ActiveSpeaker(speaker) => {
                    if let Some(egress) = &self.egress {
                        egress.control(EgressInput::Speaker(speaker));
                    }
                    let push = Arc::new(MediaPush::ActiveSpeaker(speaker));
                    for outbox in self.outboxes.values() {
                        let _ = outbox.try_send(Delivery::Media(push.clone()));
                    }
                }
                Output::Timeout(at) => return at,
            }
        }
    }

    /// The meeting's egress, started at its first use; `None` if the server does not record
    /// or the thread could not start.
    fn egress(&mut self) -> Option<&EgressHandle> {
        if self.egress.is_none() {
            let context = self.egress_context.clone()?;
            let (controls, mailbox) = (self.own_controls.clone(), self.mailbox.clone());
            let tell: Tell = Box::new(move |news| match news {
                EgressNews::KeyframeFor(p) => {
                    if let Some(controls) = controls.upgrade() {
                        let _ = controls.send(MediaControl::KeyframeFor(p));
                    }
                }
                EgressNews::ToViewers(sample) => {
                    if let Some(controls) = controls.upgrade() {
                        let _ = controls.send(MediaControl::ToViewers(sample));
                    }
                }
                EgressNews::RecordingFailed(reason) => {
                    if let Some(mailbox) = mailbox.upgrade() {
                        // From the egress thread (not a runtime's): a blocking send.
                        let _ = mailbox.blocking_send(Message::Apply {
                            command: plenum_domain::live::Command::RecordingFailed { reason },
                            reply: None,
                        });
                    }
                }
            });
            match EgressHandle::start(context, self.meeting.clone(), tell) {
                Ok(egress) => self.egress = Some(egress),
                Err(e) => {
                    tracing::error!(meeting = %self.meeting, error = %e, "the recorder could not start");
                    return None;
                }
            }
        }
        self.egress.as_ref()
    }

    /// The meeting's detail shows how many watch its live stream.
    fn viewers_changed(&self) {
        let viewers = self.room.viewer_count() as u32;
        let mut summary = self
            .summary
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        summary.viewers = viewers;
    }

    fn push(&self, participant: AttendanceId, push: MediaPush) {
        if let Some(outbox) = self.outboxes.get(&participant) {
            // A full outbox is a client too slow for its events; the meeting task drops it.
            let _ = outbox.try_send(Delivery::Media(Arc::new(push)));
        }
    }
}

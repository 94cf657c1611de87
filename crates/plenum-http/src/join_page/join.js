// Plenum's browser join page: joins a meeting over the client protocol
// (docs/client-protocol.md) and, when the server carries media, sends the camera and
// microphone on a "publish" RTCPeerConnection and receives the others on a "subscribe" one.
// Plain modern JavaScript, standard Web APIs only (Chromium and Firefox), no dependencies.
// A member who may control the meeting also gets the host's controls (host.js).

import { createHost } from './host.js';

const $ = (id) => document.getElementById(id);

// --- what the page knows ---------------------------------------------------------------------

const meetingNumber = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() || '');
const query = new URLSearchParams(location.search);

const REFUSALS = {
  unknown_meeting: () => `There is no meeting with the number ${meetingNumber}.`,
  wrong_password: () => 'The meeting password is wrong. Check it and try again.',
  meeting_locked: () => 'The meeting is locked: a host has closed it to new participants.',
  not_open_yet: (m) => m.opens_at
    ? `The meeting is not open yet. It opens at ${formatTime(m.opens_at)}.`
    : 'The meeting is not open yet.',
  meeting_ended: () => 'The meeting has ended.',
  meeting_full: () => 'The meeting is full: it has as many participants as it may have.',
  server_full: () => 'The server is full right now. Try again in a few minutes.',
  guests_not_allowed: () => 'This meeting does not allow guests. Members: sign in below to join.',
  unauthorized: () => 'Your sign-in is no longer valid. Sign in again.',
  too_many_attempts: (m) => m.retry_at
    ? `Too many wrong passwords. You can try again at ${formatTime(m.retry_at)}.`
    : 'Too many wrong passwords. Try again later.',
};

const CLOSES = {
  4000: 'You left the meeting.',
  4001: 'You were disconnected by a host.',
  4002: 'The meeting has ended.',
  4003: 'You were disconnected: the server did not hear from this page in time.',
  4004: 'You were disconnected: this connection could not keep up with the meeting.',
};

const ENDED = {
  stopped: 'The meeting has ended: a host stopped it.',
  stopped_no_rejoin: 'The meeting has ended: a host stopped it.',
  end_time_reached: 'The meeting has ended: its time is over.',
  empty: 'The meeting has ended.',
  server_shutdown: 'The meeting has ended: the server is shutting down.',
};

const state = {
  ws: null,
  hello: null,
  joining: false,
  joined: false,
  ended: false,
  refusal: null,
  endedText: '',
  clientUuid: null,
  token: null, // a member's access token: in memory only, never stored
  member: null,
  session: null, // the web app's session (its cookie, which script never sees): {csrf, name}
  meeting: null,
  participants: new Map(), // client_uuid -> participant
  order: [], // client_uuids in join order
  shown: null, // the server's `view.shown`, when it sends one
  maxViews: 9,
  layout: 'auto',
  lecturer: null,
  meetingPin: null,
  ownPin: null,
  overlay: null,
  locked: false,
  recording: false,
  live: null, // {url, passcode} while the meeting is streamed live
  activeSpeaker: null,
  serverSpeaks: false, // whether the server names a speaker now (`active_speaker`)
  wantAudio: true,
  wantVideo: true,
  stream: null,
  pendingRefs: new Map(),
  nextRef: 1,
  heartbeat: null,
  media: null,
  publish: null,
  subscribe: null,
  subscribeChain: Promise.resolve(),
  tracks: new Map(), // mid -> {client_uuid, kind}
  remoteStreams: new Map(), // client_uuid -> MediaStream
  speakerTimer: null,
  soundBlocked: false,
  devicesTried: false, // whether the camera and microphone were asked for yet
  leaving: false,
};

const host = createHost({
  meetingNumber,
  state: () => state,
  credentials: () => ({ token: state.token, csrf: state.session ? state.session.csrf : '' }),
  status: (text) => status(text),
  nameOf: (id) => nameOf(id),
});

function formatTime(ms) {
  const when = new Date(ms);
  const today = new Date();
  const sameDay = when.toDateString() === today.toDateString();
  const options = sameDay
    ? { hour: '2-digit', minute: '2-digit' }
    : { weekday: 'long', day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit' };
  return when.toLocaleString(undefined, options);
}

// --- status and alerts -------------------------------------------------------------------------

function status(text) {
  $('status').textContent = text;
}

function alertText(text) {
  const el = $('alert');
  el.textContent = text || '';
  el.hidden = !text;
}

// --- the camera and microphone ---------------------------------------------------------------

async function openDevices() {
  const micId = $('microphone').value;
  const camId = $('camera').value;
  const audio = micId ? { deviceId: { exact: micId } } : true;
  const video = camId ? { deviceId: { exact: camId } } : { width: { ideal: 1280 }, height: { ideal: 720 } };
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    status('This browser gives the page no camera or microphone (it needs https or localhost). You can still join to watch and listen.');
    return null;
  }
  let stream = null;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio, video });
  } catch (e) {
    // Try each alone: a machine without a camera still has a microphone.
    const parts = await Promise.allSettled([
      navigator.mediaDevices.getUserMedia({ audio }),
      navigator.mediaDevices.getUserMedia({ video }),
    ]);
    const tracks = parts.filter((p) => p.status === 'fulfilled').flatMap((p) => p.value.getTracks());
    if (tracks.length) {
      stream = new MediaStream(tracks);
    } else {
      status(e && e.name === 'NotAllowedError'
        ? 'The browser did not allow the camera and microphone. You can still join to watch and listen.'
        : 'No camera or microphone was found. You can still join to watch and listen.');
      return null;
    }
  }
  return stream;
}

async function useStream(stream) {
  const old = state.stream;
  state.stream = stream;
  applyWants();
  const preview = $('preview');
  preview.srcObject = stream;
  preview.play().catch(() => {});
  if (state.publish) {
    // Swap the tracks on the publish connection: no renegotiation needed.
    for (const t of state.publish.getTransceivers()) {
      const kind = t.sender.track ? t.sender.track.kind : t.receiver.track.kind;
      const track = stream ? stream.getTracks().find((x) => x.kind === kind) : null;
      if (track) await t.sender.replaceTrack(track).catch(() => {});
    }
  }
  if (old && old !== stream) old.getTracks().forEach((t) => t.stop());
  renderSelf();
  await listDevices();
}

async function listDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
  const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
  const current = (kind) => {
    const t = state.stream && state.stream.getTracks().find((x) => x.kind === kind);
    return t && t.getSettings ? t.getSettings().deviceId : '';
  };
  fill($('microphone'), devices.filter((d) => d.kind === 'audioinput'), current('audio'), 'Microphone');
  fill($('camera'), devices.filter((d) => d.kind === 'videoinput'), current('video'), 'Camera');
}

function fill(select, devices, selected, word) {
  if (!devices.length) return;
  const keep = select.value || selected;
  select.replaceChildren();
  devices.forEach((d, i) => {
    const option = document.createElement('option');
    option.value = d.deviceId;
    option.textContent = d.label || `${word} ${i + 1}`;
    select.append(option);
  });
  if (keep && devices.some((d) => d.deviceId === keep)) select.value = keep;
}

function track(kind) {
  return state.stream ? state.stream.getTracks().find((t) => t.kind === kind) : null;
}

/// The tracks follow what the participant wants and what the hosts allow.
function applyWants() {
  const me = state.participants.get(state.clientUuid);
  const audio = track('audio');
  const video = track('video');
  if (audio) audio.enabled = state.wantAudio && !(me && me.mute_audio);
  if (video) video.enabled = state.wantVideo && !(me && me.mute_video);
  renderToggles();
}

function renderToggles() {
  const me = state.participants.get(state.clientUuid);
  const micOn = state.wantAudio && !(me && me.mute_audio) && !!track('audio');
  const camOn = state.wantVideo && !(me && me.mute_video) && !!track('video');
  setToggle($('preview-mic'), state.wantAudio && !!track('audio'), 'Mute microphone', 'Unmute microphone');
  setToggle($('preview-cam'), state.wantVideo && !!track('video'), 'Turn camera off', 'Turn camera on');
  setToggle($('mic-toggle'), micOn, 'Mute microphone', 'Unmute microphone');
  setToggle($('cam-toggle'), camOn, 'Turn camera off', 'Turn camera on');
  $('mic-toggle').disabled = !track('audio');
  $('cam-toggle').disabled = !track('video');
  $('preview-mic').disabled = !track('audio');
  $('preview-cam').disabled = !track('video');
  $('preview-off').hidden = !!(track('video') && state.wantVideo);
  $('preview-off').textContent = !state.devicesTried ? 'Starting the camera…'
    : track('video') ? 'Camera off' : 'No camera';
}

/// A toggle's label says what pressing it does ("Mute microphone" / "Unmute microphone"), so
/// it carries no aria-pressed (a changing label and a pressed state would contradict).
function setToggle(button, on, onText, offText) {
  button.dataset.on = on ? 'true' : 'false';
  button.textContent = on ? onText : offText;
  button.classList.toggle('off', !on);
}

// --- the WebSocket -----------------------------------------------------------------------------

function connect() {
  return new Promise((resolve, reject) => {
    if (state.ws && state.ws.readyState === WebSocket.OPEN && state.hello) {
      resolve(state.ws);
      return;
    }
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/api/v1/live`);
    state.ws = ws;
    state.hello = null;
    let opened = false;
    ws.onmessage = (e) => {
      let message;
      try {
        message = JSON.parse(e.data);
      } catch {
        return;
      }
      if (message.type === 'hello') {
        opened = true;
        state.hello = message;
        resolve(ws);
        return;
      }
      onMessage(message);
    };
    ws.onclose = (e) => {
      if (!opened) reject(new Error('The server could not be reached.'));
      if (state.ws === ws) onClose(e.code);
    };
    ws.onerror = () => {};
  });
}

function send(message) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
}

/// Sends a request with a `ref`; resolves with the server's answer to it.
function request(message) {
  const ref = state.nextRef++;
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return Promise.resolve({ type: 'closed' });
  return new Promise((resolve) => {
    state.pendingRefs.set(ref, resolve);
    send({ ...message, ref });
  });
}

function startHeartbeats() {
  stopHeartbeats();
  const every = (state.hello && state.hello.heartbeat_interval_ms) || 10000;
  state.heartbeat = setInterval(() => send({ type: 'heartbeat' }), every);
}

function stopHeartbeats() {
  if (state.heartbeat) clearInterval(state.heartbeat);
  state.heartbeat = null;
}

// --- joining -----------------------------------------------------------------------------------

async function join() {
  if (state.joining || state.joined) return;
  const name = $('display-name').value.trim();
  if (!name && !state.token && !state.session) {
    alertText('Enter your name to join.');
    $('display-name').focus();
    return;
  }
  state.joining = true;
  state.refusal = null;
  $('join-button').disabled = true;
  alertText('');
  status('Joining…');
  try {
    await connect();
  } catch (e) {
    state.joining = false;
    $('join-button').disabled = false;
    alertText(e.message);
    status('');
    return;
  }
  const message = {
    type: 'join',
    meeting_number: meetingNumber,
    display_name: name || undefined,
    device_type: 'web',
    media_type: track('video') ? 'video' : 'audio',
  };
  const password = $('meeting-password').value.trim();
  if (password) message.password = password;
  if (state.token) message.token = state.token;
  const answer = await request(message);
  state.joining = false;
  $('join-button').disabled = false;
  if (answer.type === 'joined') {
    onJoined(answer);
  } else if (answer.type === 'refused') {
    const words = REFUSALS[answer.reason];
    state.refusal = answer.reason;
    alertText(words ? words(answer) : answer.message || 'The meeting refused the join.');
    status('');
    if (answer.reason === 'wrong_password') $('meeting-password').focus();
    if (answer.reason === 'unauthorized') forgetMember();
    if (answer.reason === 'guests_not_allowed' || answer.reason === 'unauthorized') $('member').open = true;
  } else if (answer.type === 'closed') {
    // The connection closed while joining; onClose said why.
  } else {
    alertText(answer.message || 'The join did not work.');
    status('');
  }
}

function onJoined(joined) {
  state.joined = true;
  state.ended = false;
  state.clientUuid = joined.client_uuid;
  state.meeting = joined.meeting || {};
  state.media = joined.media || null;
  state.participants.clear();
  state.order = [];
  state.shown = null;
  state.serverSpeaks = false;
  state.activeSpeaker = null;
  for (const p of state.meeting.participants || []) addParticipant(p);
  if (joined.you) addParticipant(joined.you);
  state.locked = !!state.meeting.locked;
  state.recording = !!state.meeting.recording;
  state.live = state.meeting.live
    ? { url: state.meeting.live_url || '', passcode: state.meeting.live_passcode || '' }
    : null;
  state.overlay = state.meeting.overlay || null;
  state.meetingPin = state.meeting.pinned || null;
  const lecturer = (state.meeting.participants || []).find((p) => p.lecture);
  state.lecturer = lecturer ? lecturer.client_uuid : null;
  const me = state.participants.get(state.clientUuid);
  if (me) {
    state.ownPin = me.pinned || null;
    state.maxViews = me.max_views || 9;
    state.layout = me.layout || 'auto';
  }
  $('title').textContent = state.meeting.meeting_name || `Meeting ${meetingNumber}`;
  $('lobby').hidden = true;
  $('ended').hidden = true;
  $('meeting').hidden = false;
  alertText('');
  status(`You joined ${state.meeting.meeting_name || 'the meeting'}.`);
  startHeartbeats();
  // What was turned off before joining is off in the meeting too.
  if (me && !state.wantAudio && !me.mute_audio) {
    me.mute_audio = true;
    send({ type: 'set_mute', audio: true, ref: state.nextRef++ });
  }
  if (me && !state.wantVideo && !me.mute_video) {
    me.mute_video = true;
    send({ type: 'set_mute', video: true, ref: state.nextRef++ });
  }
  applyWants();
  render();
  renderOverlay();
  renderIndicators();
  renderSpeak();
  $('mic-toggle').focus();
  if (state.media) startPublishing();
  startSpeakerDetection();
  // Whether this member may control the meeting is the server's to say.
  if (state.token || state.session) host.check();
}

function addParticipant(p) {
  const known = state.participants.get(p.client_uuid);
  state.participants.set(p.client_uuid, { ...(known || {}), ...p });
  if (!state.order.includes(p.client_uuid)) state.order.push(p.client_uuid);
}

function removeParticipant(id) {
  state.participants.delete(id);
  state.order = state.order.filter((x) => x !== id);
  state.remoteStreams.delete(id);
  const tile = document.querySelector(`li[data-id="${CSS.escape(id)}"]`);
  if (tile) tile.remove();
}

// --- what the server says ------------------------------------------------------------------------

function onMessage(m) {
  if (m.ref !== undefined && m.ref !== null && state.pendingRefs.has(m.ref)) {
    const resolve = state.pendingRefs.get(m.ref);
    state.pendingRefs.delete(m.ref);
    resolve(m);
    return;
  }
  const me = state.clientUuid;
  switch (m.type) {
    case 'participants':
      for (const p of m.participants || []) addParticipant(p);
      render();
      break;
    case 'participant_joined':
      addParticipant(m.participant);
      status(`${m.participant.name} joined.`);
      render();
      break;
    case 'participant_left': {
      const p = state.participants.get(m.client_uuid);
      if (m.client_uuid === me) break; // the close code says the rest
      removeParticipant(m.client_uuid);
      if (p) status(`${p.name} left.`);
      render();
      break;
    }
    case 'participant_renamed':
      update(m.client_uuid, { name: m.name });
      break;
    case 'mute_changed': {
      const before = state.participants.get(m.client_uuid);
      const wasMuted = before ? before.mute_audio : false;
      update(m.client_uuid, {
        mute_audio: m.mute_audio,
        mute_video: m.mute_video,
        allow_self_unmute: m.allow_self_unmute,
        // Unmuted: no request is pending any more (as the server has it).
        ...(m.mute_audio ? {} : { unmute_requested: false }),
      });
      if (m.client_uuid === me) onOwnMute(wasMuted);
      break;
    }
    case 'all_muted': {
      const except = new Set(m.except || []);
      const wasMuted = state.participants.get(me) ? state.participants.get(me).mute_audio : false;
      for (const [id, p] of state.participants) {
        if (!except.has(id)) {
          p.mute_audio = true;
          p.allow_self_unmute = !!m.allow_self_unmute;
        }
      }
      render();
      if (!except.has(me)) onOwnMute(wasMuted);
      break;
    }
    case 'all_unmuted': {
      for (const p of state.participants.values()) {
        p.mute_audio = false;
        p.allow_self_unmute = true;
        p.unmute_requested = false;
      }
      state.wantAudio = true;
      applyWants();
      render();
      renderSpeak();
      status('The hosts unmuted everyone.');
      break;
    }
    case 'unmute_requested':
      update(m.client_uuid, { unmute_requested: true });
      if (m.client_uuid === me) {
        status('You asked to speak. A host will decide.');
        renderSpeak();
      } else if (host.enabled) {
        status(`${nameOf(m.client_uuid)} asks to speak.`);
      }
      break;
    case 'unmute_allowed':
      update(m.client_uuid, { unmute_requested: false, allow_self_unmute: true });
      if (m.client_uuid === me) {
        status('A host allowed you to speak: unmute your microphone when you are ready.');
        renderSpeak();
      }
      break;
    case 'overlay_changed':
      state.overlay = m.overlay || null;
      renderOverlay();
      break;
    case 'lecturer_changed':
      state.lecturer = m.client_uuid || null;
      status(state.lecturer ? `${nameOf(state.lecturer)} is the lecturer.` : 'The lecturer layout ended.');
      render();
      break;
    case 'meeting_pin_changed':
      state.meetingPin = m.client_uuid || null;
      status(state.meetingPin ? `${nameOf(state.meetingPin)} is pinned for everyone.` : 'Nobody is pinned any more.');
      render();
      break;
    case 'participant_pin_changed':
      if (m.client_uuid === me) {
        state.ownPin = m.pinned || null;
        render();
      }
      break;
    case 'layout_changed':
      if (m.client_uuid === me) {
        state.maxViews = m.max_views || state.maxViews;
        state.layout = m.layout || state.layout;
        render();
      }
      break;
    case 'lock_changed':
      state.locked = !!m.locked;
      status(state.locked ? 'A host locked the meeting: nobody new can join.' : 'The meeting is open to new participants again.');
      renderIndicators();
      break;
    case 'recording_changed':
      state.recording = !!m.recording;
      status(m.failure
        ? `The recording stopped: ${m.failure}`
        : state.recording ? 'The meeting is being recorded.' : 'The recording stopped.');
      renderIndicators();
      break;
    case 'live_changed':
      state.live = m.live ? { url: m.live_url || '', passcode: m.live_passcode || '' } : null;
      status(state.live ? 'The meeting is streamed live.' : 'The live stream stopped.');
      renderIndicators();
      break;
    case 'end_time_changed':
      if (state.meeting) state.meeting.end_time = m.end_time;
      renderIndicators();
      break;
    case 'meeting_ended':
      ended(ENDED[m.reason] || 'The meeting has ended.', 'The meeting has ended');
      break;
    case 'active_speaker':
      // The server's speaker wins while it names one; when it names nobody (no one loud
      // enough by its measure), the levels this page receives decide again.
      state.serverSpeaks = Boolean(m.client_uuid);
      if (m.client_uuid) setSpeaker(m.client_uuid);
      break;
    case 'view':
      state.shown = Array.isArray(m.shown) ? m.shown : null;
      if (typeof m.max_views === 'number') state.maxViews = m.max_views;
      render();
      break;
    case 'subscribe':
      onSubscribe(m);
      break;
    case 'media_closed':
      onMediaClosed(m);
      break;
    case 'error':
      if (m.code === 'unmute_not_allowed') {
        state.wantAudio = false;
        applyWants();
        renderSpeak(true);
      }
      break;
    default:
      break;
  }
}

function update(id, fields) {
  const p = state.participants.get(id);
  if (!p) return;
  Object.assign(p, fields);
  if (id === state.clientUuid) {
    applyWants();
    renderSpeak();
  }
  render();
}

function nameOf(id) {
  const p = state.participants.get(id);
  return p ? p.name : 'Someone';
}

/// The hosts changed this participant's own mute state.
function onOwnMute(wasMuted) {
  const me = state.participants.get(state.clientUuid);
  if (!me) return;
  if (me.mute_audio && !wasMuted && state.wantAudio) {
    status(me.allow_self_unmute
      ? 'A host muted your microphone. You may unmute yourself.'
      : 'You were muted by the host.');
  }
  if (!me.mute_audio && wasMuted) state.wantAudio = true;
  applyWants();
  renderSpeak();
}

/// "Muted by the host" and the "Ask to speak" button, when the hosts hold the microphone.
function renderSpeak(force) {
  const me = state.participants.get(state.clientUuid);
  const held = !!me && me.mute_audio && !me.allow_self_unmute;
  const box = $('speak');
  box.hidden = !(held || force);
  if (box.hidden) return;
  $('speak-text').textContent = me && me.unmute_requested
    ? 'Muted by the host. You asked to speak; a host will decide.'
    : 'Muted by the host.';
  $('ask-to-speak').disabled = !!(me && me.unmute_requested);
}

async function toggleMic() {
  const me = state.participants.get(state.clientUuid);
  const on = state.wantAudio && !(me && me.mute_audio);
  if (on) {
    state.wantAudio = false;
    applyWants();
    render();
    const answer = await request({ type: 'set_mute', audio: true });
    if (answer.type === 'error') status(answer.message || 'Muting did not work.');
    return;
  }
  if (me && me.mute_audio && !me.allow_self_unmute) {
    renderSpeak(true);
    status('You were muted by the host. Ask to speak, and a host can let you.');
    $('ask-to-speak').focus();
    return;
  }
  const answer = await request({ type: 'set_mute', audio: false });
  if (answer.type === 'ok') {
    state.wantAudio = true;
    if (me) me.mute_audio = false;
    applyWants();
    render();
  } else if (answer.code === 'unmute_not_allowed') {
    renderSpeak(true);
    status('You were muted by the host. Ask to speak, and a host can let you.');
  } else {
    status(answer.message || 'Unmuting did not work.');
  }
}

async function toggleCam() {
  const me = state.participants.get(state.clientUuid);
  const on = state.wantVideo && !(me && me.mute_video);
  state.wantVideo = !on;
  applyWants();
  const answer = await request({ type: 'set_mute', video: on });
  if (answer.type === 'ok') {
    if (me) me.mute_video = on;
    applyWants();
    render();
  } else {
    state.wantVideo = on;
    applyWants();
    status(answer.message || 'The camera could not be changed.');
  }
}

async function askToSpeak() {
  const answer = await request({ type: 'request_unmute' });
  if (answer.type === 'ok') {
    update(state.clientUuid, { unmute_requested: true });
    status('You asked to speak. A host will decide.');
  } else if (answer.code === 'not_muted') {
    renderSpeak();
    status('You are not muted.');
  } else {
    status(answer.message || 'The request did not work.');
  }
}

async function leave() {
  state.leaving = true;
  const answer = state.joined ? await Promise.race([
    request({ type: 'leave' }),
    new Promise((r) => setTimeout(() => r({ type: 'timeout' }), 3000)),
  ]) : null;
  if (!answer || answer.type !== 'left') ended('You left the meeting.', 'You left the meeting');
}

function onClose(code) {
  stopHeartbeats();
  for (const resolve of state.pendingRefs.values()) resolve({ type: 'closed', code });
  state.pendingRefs.clear();
  state.hello = null;
  if (!state.joined) {
    if (state.joining) {
      alertText('The connection to the server was lost. Try again.');
      status('');
    }
    return;
  }
  if (code === 4000) {
    ended('You left the meeting.', 'You left the meeting');
  } else if (code === 4002) {
    ended(state.endedText || 'The meeting has ended.', 'The meeting has ended');
  } else if (CLOSES[code]) {
    ended(CLOSES[code], 'You were disconnected');
  } else {
    ended('You were disconnected: the connection to the server was lost.', 'You were disconnected');
  }
}

function ended(text, heading) {
  if (state.ended && heading === 'The meeting has ended') return;
  state.ended = true;
  state.endedText = text;
  state.joined = false;
  stopHeartbeats();
  stopMedia();
  host.reset();
  $('meeting').hidden = true;
  $('lobby').hidden = true;
  $('ended').hidden = false;
  $('ended-heading').textContent = heading;
  $('ended-text').textContent = text;
  status(text);
  $('rejoin-button').focus();
}

function rejoin() {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.close(1000);
  state.ws = null;
  state.ended = false;
  state.leaving = false;
  state.participants.clear();
  state.order = [];
  $('tiles').replaceChildren();
  $('ended').hidden = true;
  $('meeting').hidden = true;
  $('lobby').hidden = false;
  $('title').textContent = `Join meeting ${meetingNumber}`;
  status('');
  $('join-button').focus();
}

// --- members ---------------------------------------------------------------------------------------

async function signIn() {
  const username = $('username').value.trim();
  const password = $('user-password').value;
  if (!username || !password) {
    alertText('Enter your username and password to sign in.');
    return;
  }
  $('sign-in-button').disabled = true;
  status('Signing in…');
  try {
    const response = await fetch('/api/v1/user/sign_in', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
      credentials: 'omit',
      cache: 'no-store',
    });
    const body = await response.json().catch(() => ({}));
    if (response.ok && body.user_token) {
      state.token = body.user_token;
      state.member = body.real_name || body.username || username;
      $('user-password').value = '';
      $('member-name').textContent = state.member;
      $('member-line').hidden = false;
      $('member').open = false;
      $('member').hidden = true;
      alertText('');
      status(`Signed in as ${state.member}. Join when you are ready.`);
      if (!$('display-name').value.trim()) $('display-name').value = state.member;
      $('join-button').focus();
    } else {
      alertText(body.error ? `Sign-in failed: ${body.error}` : 'Sign-in failed: the username or password is wrong.');
      status('');
    }
  } catch {
    alertText('Sign-in failed: the server could not be reached.');
    status('');
  } finally {
    $('sign-in-button').disabled = false;
  }
}

/// Forgets the member's token (signed out, or no longer valid).
function forgetMember() {
  state.token = null;
  state.member = null;
  $('member-line').hidden = !state.session;
  $('member').hidden = !!state.session;
  if (state.session) $('member-name').textContent = state.session.name;
}

async function signOut() {
  if (state.token || !state.session) {
    forgetMember();
  } else {
    // The web app's session: ended on the server, as the app's sign-out does.
    const response = await fetch('/api/v1/user/session', {
      method: 'DELETE',
      headers: { 'X-CSRF-Token': state.session.csrf },
      credentials: 'same-origin',
      cache: 'no-store',
    }).catch(() => null);
    if (!response || !response.ok) {
      alertText('Signing out did not work: the server could not be reached. Try again.');
      return;
    }
    state.session = null;
    forgetMember();
  }
  status(state.session ? `Signed in as ${state.session.name}.` : 'Signed out. You join as a guest.');
  $('display-name').focus();
}

/// The web app's session, when this browser has one (its cookie goes with the page's calls
/// to the API and with the WebSocket): the member joins as themselves, and the page learns
/// the CSRF token its control calls need. Script never sees the cookie's token.
async function loadSession() {
  let response = null;
  try {
    response = await fetch('/api/v1/user/session', { credentials: 'same-origin', cache: 'no-store' });
  } catch {
    return;
  }
  if (!response.ok) return; // 401: no session; a guest, or a member who signs in here
  const body = await response.json().catch(() => null);
  if (!body || typeof body.csrf_token !== 'string') return;
  state.session = { csrf: body.csrf_token, name: body.real_name || body.username || '' };
  if (!state.token) {
    $('member-name').textContent = state.session.name;
    $('member-line').hidden = false;
    $('member').hidden = true;
  }
  if (!$('display-name').value.trim()) $('display-name').value = state.session.name;
}

// --- theme: the web app's choice (localStorage `plenum-theme`), else the system's ----------------

const THEME_KEY = 'plenum-theme';

function systemDark() {
  return !!(window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches);
}

function applyTheme() {
  let chosen = null;
  try { chosen = localStorage.getItem(THEME_KEY); } catch { chosen = null; }
  if (chosen === 'light' || chosen === 'dark') document.documentElement.dataset.theme = chosen;
  else delete document.documentElement.dataset.theme;
  const dark = chosen ? chosen === 'dark' : systemDark();
  $('theme-toggle').setAttribute('aria-pressed', String(dark));
}

function toggleTheme() {
  const dark = $('theme-toggle').getAttribute('aria-pressed') === 'true';
  // Only the look is kept in storage, shared with the web app; never a credential.
  try { localStorage.setItem(THEME_KEY, dark ? 'light' : 'dark'); } catch { /* private mode */ }
  applyTheme();
}

// --- tiles and layout --------------------------------------------------------------------------------

/// Who is shown, in order: the server's view when it sends one; otherwise the same rule
/// computed here (own pin, meeting pin, lecturer, then join order).
function shownOrder() {
  if (state.shown) return state.shown.filter((id) => state.participants.has(id));
  const first = [state.ownPin, state.meetingPin, state.lecturer].filter((id) => id && state.participants.has(id));
  const rest = state.order.filter((id) => !first.includes(id));
  return [...new Set([...first, ...rest])];
}

function render() {
  if (!state.joined) return;
  const tiles = $('tiles');
  const shown = shownOrder();
  const featured = state.ownPin || state.meetingPin || state.lecturer
    || (state.layout === 'speaker' ? (state.activeSpeaker || shown[0]) : null);
  const spotlight = !!featured && state.participants.has(featured);
  tiles.classList.toggle('spotlight', spotlight);
  tiles.dataset.count = String(Math.min(state.participants.size, state.maxViews));
  const ids = [...shown, ...state.order.filter((id) => !shown.includes(id))];
  if (spotlight) ids.sort((a, b) => (b === featured) - (a === featured));
  ids.forEach((id, index) => {
    const p = state.participants.get(id);
    if (!p) return;
    const tile = tileFor(id);
    tile.style.order = String(index);
    tile.classList.toggle('featured', spotlight && id === featured);
    tile.classList.toggle('hidden-video', state.shown ? !state.shown.includes(id) && id !== state.clientUuid : index >= state.maxViews);
    tile.querySelector('.name').textContent = p.name + (id === state.clientUuid ? ' (you)' : '');
    const muted = !!p.mute_audio || (id === state.clientUuid && !state.wantAudio);
    const mark = tile.querySelector('.muted-mark');
    mark.hidden = !muted;
    mark.textContent = muted ? (p.mute_audio && !p.allow_self_unmute ? 'Muted by the host' : 'Muted') : '';
    tile.dataset.muted = muted ? 'true' : 'false';
    const roles = [];
    if (id === state.lecturer) roles.push('Lecturer');
    if (id === state.meetingPin) roles.push('Pinned');
    if (id === state.ownPin) roles.push('Pinned for you');
    if (p.unmute_requested) roles.push('Asks to speak');
    tile.querySelector('.roles').textContent = roles.join(' · ');
    const cameraOff = !!p.mute_video || (id === state.clientUuid && (!state.wantVideo || !track('video')));
    tile.classList.toggle('camera-off', cameraOff);
    tile.setAttribute('aria-label', `${p.name}${id === state.clientUuid ? ' (you)' : ''}${muted ? ', microphone muted' : ''}${id === state.activeSpeaker ? ', speaking' : ''}`);
  });
  renderSelf();
  host.render();
}

function tileFor(id) {
  let tile = document.querySelector(`li[data-id="${CSS.escape(id)}"]`);
  if (tile) return tile;
  tile = document.createElement('li');
  tile.className = 'tile';
  tile.dataset.id = id;
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = true; // sound plays from the participant's <audio>
  const initials = document.createElement('span');
  initials.className = 'initials';
  initials.setAttribute('aria-hidden', 'true');
  const p = state.participants.get(id);
  initials.textContent = p ? initialsOf(p.name) : '?';
  const label = document.createElement('div');
  label.className = 'label';
  const mark = document.createElement('span');
  mark.className = 'muted-mark';
  mark.hidden = true;
  const name = document.createElement('span');
  name.className = 'name';
  const roles = document.createElement('span');
  roles.className = 'roles';
  label.append(mark, name, roles);
  tile.append(video, initials, label);
  if (id !== state.clientUuid) {
    const audio = document.createElement('audio');
    audio.autoplay = true;
    tile.append(audio);
  }
  $('tiles').append(tile);
  attachRemote(id);
  return tile;
}

function initialsOf(name) {
  return (name || '?').trim().split(/\s+/).slice(0, 2).map((w) => [...w][0] || '').join('').toUpperCase() || '?';
}

function renderSelf() {
  if (!state.clientUuid) return;
  const tile = document.querySelector(`li[data-id="${CSS.escape(state.clientUuid)}"]`);
  if (!tile) return;
  tile.classList.add('self');
  const video = tile.querySelector('video');
  const stream = state.stream && track('video') ? new MediaStream([track('video')]) : null;
  const current = video.srcObject && video.srcObject.getVideoTracks()[0];
  if ((current || null) !== (track('video') || null)) {
    video.srcObject = stream;
    if (stream) video.play().catch(() => {});
  }
}

function setSpeaker(id) {
  if (state.activeSpeaker === id) return;
  state.activeSpeaker = id;
  for (const tile of document.querySelectorAll('li.tile')) {
    tile.classList.toggle('speaking', tile.dataset.id === id);
  }
  if (state.layout === 'speaker') render();
}

function renderOverlay() {
  const box = $('overlay');
  const text = $('overlay-text');
  const o = state.overlay;
  box.hidden = !o;
  if (!o) {
    host.render();
    return;
  }
  text.textContent = o.content;
  const position = Math.max(0, Math.min(100, Number(o.position) || 0));
  box.style.top = `${position}%`;
  box.style.transform = `translateY(-${position}%)`;
  text.classList.toggle('scroll', !!o.enable_scroll);
  text.style.animationIterationCount = o.enable_scroll && o.repeat > 0 ? String(o.repeat) : 'infinite';
  host.render();
}

function renderIndicators() {
  const parts = [];
  if (state.locked) parts.push('Locked');
  if (state.recording) parts.push('Recording');
  if (state.live) parts.push('Live');
  if (state.meeting && state.meeting.end_time) parts.push(`Ends at ${formatTime(state.meeting.end_time)}`);
  $('indicators').textContent = parts.join(' · ');
  host.render();
}

// --- media: publish and subscribe connections ---------------------------------------------------

function rtcConfig() {
  const servers = (state.media && Array.isArray(state.media.ice_servers)) ? state.media.ice_servers : [];
  return { iceServers: servers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' };
}

async function startPublishing() {
  if (!state.stream || !state.stream.getTracks().length || typeof RTCPeerConnection === 'undefined') return;
  try {
    const pc = new RTCPeerConnection(rtcConfig());
    state.publish = pc;
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' && state.publish === pc) {
        status('Your camera and microphone cannot reach the media server (its UDP port may be blocked on this network).');
      }
    };
    for (const kind of ['audio', 'video']) {
      const t = track(kind);
      if (t) pc.addTransceiver(t, { direction: 'sendonly', streams: [state.stream] });
    }
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const answer = await request({ type: 'publish', sdp: pc.localDescription.sdp });
    if (answer.type === 'answer' && state.publish === pc) {
      await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    } else if (answer.type === 'error') {
      status(answer.code === 'media_unavailable'
        ? 'This server carries no audio or video: you see who is here, and the hosts\u2019 controls.'
        : `Your camera and microphone could not be sent: ${answer.message || answer.code}.`);
      closePublish();
    }
  } catch (e) {
    status(`Your camera and microphone could not be sent: ${e.message}.`);
    closePublish();
  }
}

function closePublish() {
  if (state.publish) state.publish.close();
  state.publish = null;
}

function onSubscribe(m) {
  // One offer at a time, in order: the server sends the next only after this one's answer.
  state.subscribeChain = state.subscribeChain.then(() => answerSubscribe(m)).catch((e) => {
    status(`Receiving the others' audio and video failed: ${e.message}.`);
  });
}

async function answerSubscribe(m) {
  if (!state.joined) return;
  if (!state.subscribe) {
    const pc = new RTCPeerConnection(rtcConfig());
    state.subscribe = pc;
    pc.ontrack = () => attachAll();
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' && state.subscribe === pc) {
        status('The others\u2019 audio and video cannot reach this page (the media server\u2019s UDP port may be blocked on this network).');
      }
    };
  }
  const pc = state.subscribe;
  state.tracks = new Map((m.tracks || []).map((t) => [String(t.mid), t]));
  await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  send({ type: 'subscribe_answer', ref: state.nextRef++, version: m.version, sdp: pc.localDescription.sdp });
  attachAll();
}

/// Puts each received track into its participant's stream, by the `tracks` map (mid ->
/// client_uuid, kind) of the latest offer.
function attachAll() {
  const pc = state.subscribe;
  if (!pc) return;
  const byParticipant = new Map();
  for (const t of pc.getTransceivers()) {
    const info = t.mid !== null ? state.tracks.get(String(t.mid)) : null;
    if (!info || !t.receiver.track) continue;
    if (!byParticipant.has(info.client_uuid)) byParticipant.set(info.client_uuid, []);
    byParticipant.get(info.client_uuid).push(t.receiver.track);
  }
  for (const [id, tracks] of byParticipant) {
    let stream = state.remoteStreams.get(id);
    if (!stream) {
      stream = new MediaStream();
      state.remoteStreams.set(id, stream);
    }
    for (const old of stream.getTracks()) if (!tracks.includes(old)) stream.removeTrack(old);
    for (const t of tracks) if (!stream.getTracks().includes(t)) stream.addTrack(t);
  }
  for (const [id, stream] of state.remoteStreams) {
    if (!byParticipant.has(id)) for (const old of stream.getTracks()) stream.removeTrack(old);
    attachRemote(id);
  }
}

function attachRemote(id) {
  const stream = state.remoteStreams.get(id);
  const tile = document.querySelector(`li[data-id="${CSS.escape(id)}"]`);
  if (!stream || !tile || id === state.clientUuid) return;
  const video = tile.querySelector('video');
  const audio = tile.querySelector('audio');
  const videoTrack = stream.getVideoTracks()[0] || null;
  const audioTrack = stream.getAudioTracks()[0] || null;
  const currentVideo = video.srcObject ? video.srcObject.getVideoTracks()[0] || null : null;
  if (currentVideo !== videoTrack) {
    video.srcObject = videoTrack ? new MediaStream([videoTrack]) : null;
    if (videoTrack) video.play().catch(() => {});
  }
  tile.classList.toggle('has-video', !!videoTrack);
  if (audio) {
    const currentAudio = audio.srcObject ? audio.srcObject.getAudioTracks()[0] || null : null;
    if (currentAudio !== audioTrack) {
      audio.srcObject = audioTrack ? new MediaStream([audioTrack]) : null;
      if (audioTrack) {
        audio.play().catch(() => {
          // Autoplay with sound needs a gesture (autojoin on a kiosk): ask for one.
          state.soundBlocked = true;
          $('sound-button').hidden = false;
        });
      }
    }
  }
}

function enableSound() {
  for (const audio of document.querySelectorAll('li.tile audio')) audio.play().catch(() => {});
  state.soundBlocked = false;
  $('sound-button').hidden = true;
}

function onMediaClosed(m) {
  if (m.connection === 'publish') {
    closePublish();
    status('Sending your camera and microphone stopped; trying again.');
    if (state.joined && state.media) setTimeout(startPublishing, 1000);
  } else if (m.connection === 'subscribe') {
    if (state.subscribe) state.subscribe.close();
    state.subscribe = null;
    status('Receiving the others stopped.');
  }
}

function stopMedia() {
  closePublish();
  if (state.subscribe) state.subscribe.close();
  state.subscribe = null;
  state.subscribeChain = Promise.resolve();
  state.tracks = new Map();
  state.remoteStreams.clear();
  if (state.speakerTimer) clearInterval(state.speakerTimer);
  state.speakerTimer = null;
}

/// The active speaker from the received audio levels, when the server names none: the
/// receivers' synchronization sources (RTP audio-level extension) where they show someone
/// speaking, else the decoded levels in the inbound statistics.
function startSpeakerDetection() {
  if (state.speakerTimer) clearInterval(state.speakerTimer);
  let busy = false;
  state.speakerTimer = setInterval(async () => {
    if (busy || state.serverSpeaks || !state.subscribe) return;
    busy = true;
    try {
      let levels = levelsFromSources(state.subscribe);
      if (!levels || Math.max(0, ...levels.values()) <= 0.02) levels = await levelsFromStats(state.subscribe);
      let best = null;
      let bestLevel = 0.02;
      for (const [id, level] of levels) {
        if (level > bestLevel) {
          best = id;
          bestLevel = level;
        }
      }
      // The server may have named a speaker while the statistics were read: its word wins.
      if (best && !state.serverSpeaks) setSpeaker(best);
    } catch {
      // No levels this time.
    } finally {
      busy = false;
    }
  }, 400);
}

/// client_uuid -> audio level from `getSynchronizationSources()`, or null if no source has one.
function levelsFromSources(pc) {
  const levels = new Map();
  let any = false;
  for (const t of pc.getTransceivers()) {
    const receiver = t.receiver;
    if (!receiver.track || receiver.track.kind !== 'audio' || !receiver.getSynchronizationSources) continue;
    const info = t.mid !== null ? state.tracks.get(String(t.mid)) : null;
    if (!info) continue;
    for (const source of receiver.getSynchronizationSources()) {
      if (typeof source.audioLevel !== 'number') continue;
      any = true;
      levels.set(info.client_uuid, Math.max(levels.get(info.client_uuid) || 0, source.audioLevel));
    }
  }
  return any ? levels : null;
}

/// The mid of an inbound-rtp statistic: its own `mid` (Chromium), else found through its
/// track (`trackIdentifier`, for browsers whose statistics carry no mid).
function midOf(pc, s) {
  if (s.mid !== undefined && s.mid !== null) return String(s.mid);
  for (const t of pc.getTransceivers()) {
    if (t.mid !== null && t.receiver.track && t.receiver.track.id === s.trackIdentifier) return String(t.mid);
  }
  return null;
}

/// client_uuid -> audio level from the inbound-rtp statistics.
async function levelsFromStats(pc) {
  const levels = new Map();
  const report = await pc.getStats();
  report.forEach((s) => {
    if (s.type !== 'inbound-rtp' || s.kind !== 'audio') return;
    const mid = midOf(pc, s);
    const info = mid !== null ? state.tracks.get(mid) : null;
    if (info && typeof s.audioLevel === 'number') levels.set(info.client_uuid, s.audioLevel);
  });
  return levels;
}

/// Inbound media statistics, per participant: what tests and diagnostics read.
async function inboundStats() {
  if (!state.subscribe) return [];
  const pc = state.subscribe;
  const report = await pc.getStats();
  const out = [];
  report.forEach((s) => {
    if (s.type !== 'inbound-rtp') return;
    const mid = midOf(pc, s);
    const info = mid !== null ? state.tracks.get(mid) : null;
    out.push({
      kind: s.kind,
      mid,
      client_uuid: info ? info.client_uuid : null,
      packetsReceived: s.packetsReceived || 0,
      framesDecoded: s.framesDecoded || 0,
      totalAudioEnergy: s.totalAudioEnergy || 0,
      audioLevel: s.audioLevel || 0,
      bytesReceived: s.bytesReceived || 0,
    });
  });
  return out;
}

// --- read-only hooks for tests ----------------------------------------------------------------------

function snapshot() {
  return JSON.parse(JSON.stringify({
    joined: state.joined,
    ended: state.ended,
    client_uuid: state.clientUuid,
    refusal: state.refusal,
    signed_in: !!state.token,
    active_speaker: state.activeSpeaker,
    shown: shownOrder(),
    media: !!state.media,
    devices: { audio: !!track('audio'), video: !!track('video') },
    publishing: !!(state.publish && state.publish.connectionState === 'connected'),
    host: host.enabled,
    host_checked: host.checked,
    locked: state.locked,
    recording: state.recording,
    live: !!state.live,
    lecturer: state.lecturer,
    pinned: state.meetingPin,
    own_pin: state.ownPin,
    max_views: state.maxViews,
    layout: state.layout,
    overlay: state.overlay ? state.overlay.content : null,
    participants: state.order.map((id) => {
      const p = state.participants.get(id) || {};
      return {
        client_uuid: id,
        name: p.name,
        mute_audio: !!p.mute_audio,
        mute_video: !!p.mute_video,
        allow_self_unmute: p.allow_self_unmute !== false,
        unmute_requested: !!p.unmute_requested,
      };
    }),
  }));
}

Object.defineProperty(window, 'plenum', {
  value: Object.freeze({ state: snapshot, stats: inboundStats }),
  writable: false,
  configurable: false,
});

// --- start -----------------------------------------------------------------------------------------

function wire() {
  applyTheme();
  $('theme-toggle').addEventListener('click', toggleTheme);
  if (window.matchMedia) window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', applyTheme);
  $('title-number').textContent = meetingNumber;
  document.title = `Join meeting ${meetingNumber} · Plenum`;
  if (query.has('name')) $('display-name').value = query.get('name');
  if (query.has('password')) $('meeting-password').value = query.get('password');
  $('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    join();
  });
  $('sign-in-form').addEventListener('submit', (e) => {
    e.preventDefault();
    signIn();
  });
  $('sign-out').addEventListener('click', signOut);
  $('preview-mic').addEventListener('click', () => {
    state.wantAudio = !state.wantAudio;
    applyWants();
  });
  $('preview-cam').addEventListener('click', () => {
    state.wantVideo = !state.wantVideo;
    applyWants();
    renderSelf();
  });
  $('mic-toggle').addEventListener('click', toggleMic);
  $('cam-toggle').addEventListener('click', toggleCam);
  $('ask-to-speak').addEventListener('click', askToSpeak);
  $('leave-button').addEventListener('click', leave);
  $('rejoin-button').addEventListener('click', rejoin);
  $('sound-button').addEventListener('click', enableSound);
  const change = async () => {
    const stream = await openDevices();
    if (stream) await useStream(stream);
  };
  $('microphone').addEventListener('change', change);
  $('camera').addEventListener('change', change);
  window.addEventListener('pagehide', () => {
    if (state.joined) send({ type: 'leave' });
  });
  renderToggles();
}

async function start() {
  wire();
  const autojoin = query.get('autojoin') === '1';
  const session = loadSession();
  const devices = openDevices().then(async (stream) => {
    state.devicesTried = true;
    if (stream) await useStream(stream);
    else renderToggles();
  });
  if (autojoin) {
    // Kiosks and room systems: join at once, with whatever devices there are (and a
    // member's page as the member).
    await Promise.all([devices.catch(() => {}), session]);
    join();
  } else {
    await session;
    $('display-name').value ? $('join-button').focus() : $('display-name').focus();
    await devices.catch(() => {});
  }
}

start();

// Plenum's watch page: plays a meeting's live stream over WebRTC with WHEP
// (draft-ietf-wish-whep): the page posts an SDP offer to /live/{id}/whep and sets the answer.
// Plain modern JavaScript, standard Web APIs only, no dependencies.

const $ = (id) => document.getElementById(id);

const liveId = decodeURIComponent(location.pathname.split('/').filter(Boolean)[1] || '');
const base = `/live/${encodeURIComponent(liveId)}`;

/** How often the stream's status is asked for. */
const POLL_MS = 2000;
/** How long the offer waits for the browser's own ICE candidates before it is sent anyway
 * (the server is ICE-lite: it learns the browser's address from its checks). */
const GATHER_MS = 1500;

const state = {
  phase: 'loading', // loading, passcode, waiting, connecting, watching, ended, missing
  name: '',
  live: false,
  passcodeRequired: false,
  viewers: 0,
  passcode: null,
  pc: null,
  session: null, // the WHEP session's Location
  poll: null,
  alert: '',
};

function setStatus(text) {
  $('status').textContent = text;
}

function setAlert(text) {
  state.alert = text;
  $('alert').textContent = text;
  $('alert').hidden = !text;
}

function show(phase) {
  state.phase = phase;
  $('passcode-form').hidden = phase !== 'passcode';
  $('player').hidden = !(phase === 'connecting' || phase === 'watching');
  $('ended').hidden = phase !== 'ended';
}

async function fetchStatus() {
  const res = await fetch(`${base}/status`, { cache: 'no-store' });
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`status ${res.status}`);
  return res.json();
}

function applyStatus(s) {
  state.name = s.name;
  state.live = s.live;
  state.passcodeRequired = s.passcode_required;
  state.viewers = s.viewers;
  $('title').textContent = s.name ? `${s.name} · live` : 'Live stream';
  document.title = `${s.name || 'Live stream'} · Plenum`;
  $('viewers').textContent = String(s.viewers);
}

async function start() {
  let s;
  try {
    s = await fetchStatus();
  } catch (e) {
    setStatus('The server could not be reached. Reload the page to try again.');
    return;
  }
  if (!s) {
    show('missing');
    setStatus('There is no live stream at this address: the meeting is not running.');
    return;
  }
  applyStatus(s);
  state.poll = setInterval(poll, POLL_MS);
  begin();
}

/** Asks for the passcode, waits for the stream, or starts watching, as the status says. */
function begin() {
  if (!state.live) {
    show('waiting');
    setStatus('The live stream has not started yet. This page starts it when it does.');
    return;
  }
  if (state.passcodeRequired && state.passcode === null) {
    show('passcode');
    setStatus('This live stream needs a passcode.');
    $('passcode').focus();
    return;
  }
  watch();
}

async function poll() {
  let s;
  try {
    s = await fetchStatus();
  } catch (e) {
    return; // a missed poll: the next one tells
  }
  if (!s) {
    ended();
    return;
  }
  const wasLive = state.live;
  applyStatus(s);
  if (!s.live && (wasLive || state.phase === 'connecting' || state.phase === 'watching')) {
    ended();
  } else if (s.live && state.phase === 'waiting') {
    begin();
  }
}

async function watch() {
  closePeer();
  setAlert('');
  show('connecting');
  setStatus('Connecting to the live stream…');
  const pc = new RTCPeerConnection();
  state.pc = pc;
  const stream = new MediaStream();
  const video = $('video');
  video.srcObject = stream;
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.ontrack = (e) => {
    stream.addTrack(e.track);
    play();
  };
  pc.onconnectionstatechange = () => {
    if (state.pc !== pc) return;
    if (pc.connectionState === 'connected') {
      show('watching');
      setStatus('Watching live.');
    } else if (pc.connectionState === 'failed' && state.phase !== 'ended') {
      setStatus('The connection to the live stream was lost. Reload the page to try again.');
    }
  };
  try {
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const headers = { 'Content-Type': 'application/sdp' };
    if (state.passcode) headers.Authorization = `Bearer ${state.passcode}`;
    const res = await fetch(`${base}/whep`, {
      method: 'POST',
      headers,
      body: pc.localDescription.sdp,
    });
    if (state.pc !== pc) return;
    if (res.status === 201) {
      state.session = res.headers.get('Location');
      await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
      return;
    }
    closePeer();
    const body = await res.json().catch(() => ({}));
    if (res.status === 401) {
      state.passcode = null;
      show('passcode');
      setAlert('Wrong passcode. Check it and try again.');
      setStatus('This live stream needs a passcode.');
      $('passcode').value = '';
      $('passcode').focus();
    } else if (res.status === 404) {
      ended();
    } else if (res.status === 429) {
      const wait = Number(res.headers.get('Retry-After')) || 60;
      show(state.passcodeRequired ? 'passcode' : 'waiting');
      setAlert(`Too many attempts from this address. Try again in ${wait} seconds.`);
    } else {
      show('waiting');
      setAlert(body.error ? `The stream cannot be played: ${body.error}` : `The stream cannot be played (error ${res.status}).`);
    }
  } catch (e) {
    if (state.pc === pc) {
      closePeer();
      show('waiting');
      setAlert(`The stream cannot be played: ${e.message || e}`);
    }
  }
}

/** Resolves when ICE gathering is complete, or after GATHER_MS. */
function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === 'complete') {
        pc.removeEventListener('icegatheringstatechange', done);
        resolve();
      }
    };
    pc.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, GATHER_MS);
  });
}

/** Plays with sound when the browser allows it; muted, with a button for sound, when not. */
function play() {
  const video = $('video');
  video.muted = false;
  video.play().catch(() => {
    video.muted = true;
    $('unmute-button').hidden = false;
    video.play().catch(() => {});
  });
}

function unmute() {
  const video = $('video');
  video.muted = false;
  video.play().catch(() => {});
  $('unmute-button').hidden = true;
}

/** Closes the connection and ends the WHEP session (DELETE its Location). */
function closePeer() {
  if (state.pc) {
    state.pc.close();
    state.pc = null;
  }
  if (state.session) {
    fetch(state.session, { method: 'DELETE', keepalive: true }).catch(() => {});
    state.session = null;
  }
}

function ended() {
  if (state.phase === 'ended') return;
  closePeer();
  clearInterval(state.poll);
  state.live = false;
  const video = $('video');
  video.srcObject = null;
  setAlert('');
  show('ended');
  setStatus('The live stream has ended.');
}

$('passcode-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const given = $('passcode').value.trim();
  if (!given) {
    setAlert('Enter the live passcode.');
    $('passcode').focus();
    return;
  }
  state.passcode = given;
  watch();
});
$('unmute-button').addEventListener('click', unmute);
window.addEventListener('pagehide', closePeer);

// For tests and the curious: what the page knows, and its connection.
window.plenumWatch = {
  state: () => ({
    phase: state.phase,
    name: state.name,
    live: state.live,
    passcodeRequired: state.passcodeRequired,
    viewers: state.viewers,
    session: state.session,
    alert: state.alert,
  }),
  peer: () => state.pc,
};

start();

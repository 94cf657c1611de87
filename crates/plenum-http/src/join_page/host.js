// The host's controls in the join page: FRTC "Meeting Control" (docs/frtc.md) through the
// public REST API, with the member's credentials: the web app's session cookie and its
// `X-CSRF-Token`, or the access token of a member who signed in on this page. Whether the
// controls show is the server's judgement (`may_control` in `GET /api/v1/meeting/{n}`); the
// server checks every call again. What the calls change comes back to every page, this one
// included, as events of the client protocol: the page draws from those, not from the calls.
// Nodes are built with the DOM, never from HTML strings.

const $ = (id) => document.getElementById(id);

/// An FRTC error (or a lost connection) in words.
export class HostError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// The codes a person needs said differently; the others are the server's sentence, which
// names the field and the rule (docs/errors.md).
const WORDS = {
  token_missing: 'You are not signed in any more. Sign in again to use the host controls.',
  token_invalid: 'Your sign-in has ended. Sign in again to use the host controls.',
  token_expired: 'Your sign-in has expired. Sign in again to use the host controls.',
  meeting_not_running: 'The meeting is not running any more.',
  participant_not_found: 'That participant is not in the meeting any more.',
  already_recording: 'The meeting is already being recorded.',
  not_recording: 'The meeting is not being recorded.',
  already_live: 'The meeting is already streamed live with this passcode.',
  not_live: 'The meeting is not streamed live.',
  media_unavailable: 'This server carries no audio or video for the meeting, so it cannot record or stream it.',
  ffmpeg_unavailable: 'The server cannot push the stream to an RTMP address: it has no ffmpeg.',
  internal_error: 'Something went wrong on the server. Try again; if it keeps happening, tell your administrator.',
};

function sentence(text) {
  const t = String(text || '').trim();
  if (!t) return '';
  const word = t.split(/\s/)[0];
  const first = word.includes('_') ? t : t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/// The words for an FRTC error body.
export function describe(status, body) {
  const code = body && typeof body.errorCode === 'string' ? body.errorCode : '';
  const said = body && typeof body.error === 'string' ? body.error : '';
  if (code === 'permission_denied') {
    return `You are not allowed to do this${said ? `: ${sentence(said)}` : '.'}`;
  }
  if (WORDS[code]) return WORDS[code];
  if (said) return sentence(said);
  return `The server answered ${status} without saying why.`;
}

/// The host's panel. `page` is what join.js lends it: the meeting's number, its live state
/// (read only), the credentials, the status line and names.
export function createHost(page) {
  let enabled = false;
  let checked = false; // whether the server was asked since the join
  let expanded = true;
  let disarmTimer = null;
  const base = `/api/v1/meeting/${encodeURIComponent(page.meetingNumber)}`;

  async function call(method, path, body) {
    const { token, csrf } = page.credentials();
    const headers = { Accept: 'application/json' };
    // A member signed in on this page presents the token; the web app's session presents
    // its cookie, and the CSRF token with every change.
    if (token) headers.Authorization = `Bearer ${token}`;
    else if (method !== 'GET') headers['X-CSRF-Token'] = csrf || '';
    let payload;
    if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    let response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers,
        body: payload,
        credentials: token ? 'omit' : 'same-origin',
        cache: 'no-store',
      });
    } catch {
      throw new HostError(0, 'network', 'The server could not be reached. Check the connection and try again.');
    }
    const text = await response.text();
    let parsed = null;
    if (text) {
      try { parsed = JSON.parse(text); } catch { parsed = null; }
    }
    if (!response.ok) {
      const code = parsed && typeof parsed.errorCode === 'string' ? parsed.errorCode : '';
      throw new HostError(response.status, code, describe(response.status, parsed));
    }
    return parsed;
  }

  function alertText(text) {
    const el = $('host-alert');
    el.textContent = text || '';
    el.hidden = !text;
  }

  /// Runs one control call from `button`: the button waits for the answer, an error is said
  /// in words (what was tried, then why), success in the status line.
  async function act(button, what, method, path, body, done) {
    // The button waits, marked busy rather than disabled: a disabled button would lose the
    // keyboard focus.
    if (button && button.getAttribute('aria-disabled') === 'true') return false;
    alertText('');
    if (button) button.setAttribute('aria-disabled', 'true');
    try {
      await call(method, path, body);
      if (done) page.status(done);
      return true;
    } catch (e) {
      alertText(`${what} did not work. ${e.message}`);
      return false;
    } finally {
      if (button) button.removeAttribute('aria-disabled');
      render();
    }
  }

  // --- whether this page may control the meeting --------------------------------------------

  /// Asks the server whether the signed-in member may control the meeting; shows or hides
  /// the controls by its answer. Guests are not asked: they never may.
  async function check() {
    const { token, csrf } = page.credentials();
    let may = false;
    if (token || csrf) {
      try {
        const detail = await call('GET', '');
        may = !!detail && detail.may_control === true;
      } catch {
        may = false; // not one who may see the meeting (403), or it is gone: no controls
      }
    }
    enabled = may && page.state().joined;
    checked = true;
    show();
    render();
  }

  function reset() {
    enabled = false;
    checked = false;
    alertText('');
    show();
  }

  function show() {
    $('host-toggle').hidden = !enabled;
    $('host').hidden = !enabled || !expanded;
    $('host-toggle').setAttribute('aria-expanded', String(expanded));
  }

  function toggle() {
    expanded = !expanded;
    show();
    if (expanded) $('host-heading').focus();
  }

  // --- drawing ----------------------------------------------------------------------------------

  function participants() {
    const s = page.state();
    return s.order.map((id) => [id, s.participants.get(id)]).filter(([, p]) => !!p);
  }

  function render() {
    if (!enabled) return;
    const s = page.state();
    const requests = participants().filter(([id, p]) => p.unmute_requested && id !== s.clientUuid).length;
    $('host-toggle').textContent = requests
      ? `Host controls (${requests} ${requests === 1 ? 'asks' : 'ask'} to speak)`
      : 'Host controls';
    renderPeople();
    renderViewer();
    label($('host-lock'), s.locked ? 'Unlock the meeting' : 'Lock the meeting');
    label($('host-record'), s.recording ? 'Stop recording' : 'Start recording');
    label($('host-live'), s.live ? 'Stop the live stream' : 'Start the live stream');
    label($('host-end'), 'End the meeting for everyone');
    label($('host-disconnect-all'), 'Disconnect everyone');
    $('host-live-passcode').disabled = !!s.live;
    $('host-live-rtmp').disabled = !!s.live;
    const info = $('host-live-info');
    info.hidden = !s.live;
    info.replaceChildren();
    if (s.live) {
      info.append('Viewers watch at ');
      const link = document.createElement('a');
      link.href = s.live.url || '#';
      link.textContent = s.live.url || '(no address)';
      link.target = '_blank';
      link.rel = 'noopener';
      info.append(link, s.live.passcode ? ` with the passcode ${s.live.passcode}.` : ', without a passcode.');
    }
  }

  /// A button's text, unless it waits for its confirmation.
  function label(button, text) {
    if (button.dataset.armed !== 'true') button.textContent = text;
  }

  function renderPeople() {
    const s = page.state();
    const list = $('host-people');
    const ids = participants().map(([id]) => id);
    // Those who ask to speak first, then in the order they joined.
    ids.sort((a, b) => Number(!!s.participants.get(b).unmute_requested) - Number(!!s.participants.get(a).unmute_requested));
    for (const row of [...list.children]) {
      if (s.participants.has(row.dataset.id)) continue;
      // Whoever left takes no keyboard focus with them.
      const focused = row.contains(document.activeElement);
      row.remove();
      if (focused) $('host-people-heading').focus();
    }
    ids.forEach((id, index) => {
      const p = s.participants.get(id);
      const row = rowFor(id);
      if (list.children[index] !== row) list.insertBefore(row, list.children[index] || null);
      const you = id === s.clientUuid;
      row.querySelector('.who').textContent = p.name + (you ? ' (you)' : '');
      const facts = [];
      if (p.mute_audio) facts.push(p.allow_self_unmute ? 'Muted' : 'Muted, may not unmute themselves');
      if (p.mute_video) facts.push('Camera off');
      if (p.unmute_requested) facts.push('Asks to speak');
      if (id === s.lecturer) facts.push('Lecturer');
      if (id === s.meetingPin) facts.push('Pinned for everyone');
      row.querySelector('.facts').textContent = facts.join(' · ');
      const button = (action) => row.querySelector(`button[data-action="${action}"]`);
      const allow = button('allow');
      const hideAllow = you || !p.unmute_requested;
      // A button that goes away hands the keyboard focus on to its neighbour.
      if (hideAllow && !allow.hidden && allow.contains(document.activeElement)) button('mute').focus();
      allow.hidden = hideAllow;
      button('mute').hidden = you;
      button('mute').textContent = p.mute_audio ? 'Unmute' : 'Mute';
      button('lecturer').textContent = id === s.lecturer ? 'End the lecture' : 'Make lecturer';
      button('pin').textContent = id === s.meetingPin ? 'Unpin' : 'Pin for everyone';
      button('disconnect').hidden = you;
      row.dataset.requested = p.unmute_requested ? 'true' : 'false';
    });
  }

  function rowFor(id) {
    const list = $('host-people');
    let row = [...list.children].find((r) => r.dataset.id === id);
    if (row) return row;
    row = document.createElement('li');
    row.dataset.id = id;
    const who = document.createElement('span');
    who.className = 'who';
    who.id = `host-name-${id}`;
    const facts = document.createElement('span');
    facts.className = 'facts';
    const buttons = document.createElement('div');
    buttons.className = 'buttons';
    for (const [action, text] of [
      ['allow', 'Allow to speak'],
      ['mute', 'Mute'],
      ['lecturer', 'Make lecturer'],
      ['pin', 'Pin for everyone'],
      ['disconnect', 'Disconnect'],
    ]) {
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.action = action;
      b.textContent = text;
      // The button's name is its text; the participant's name describes it.
      b.setAttribute('aria-describedby', who.id);
      if (action === 'disconnect') b.className = 'danger';
      b.addEventListener('click', () => onPerson(action, id, b));
      buttons.append(b);
    }
    row.append(who, facts, buttons);
    return row;
  }

  /// The viewer and pin choices, kept as chosen while people come and go.
  function renderViewer() {
    const s = page.state();
    const people = participants();
    const viewer = $('host-viewer');
    const chosen = viewer.value;
    const wanted = people.map(([id, p]) => `${id}\u0000${p.name}`).join('\u0001');
    if (viewer.dataset.people !== wanted) {
      viewer.dataset.people = wanted;
      viewer.replaceChildren(...people.map(([id, p]) => option(id, p.name + (id === s.clientUuid ? ' (you)' : ''))));
      if (people.some(([id]) => id === chosen)) viewer.value = chosen;
      else fillLayout();
    }
    const pin = $('host-viewer-pin');
    const pinChosen = pin.value;
    const others = people.filter(([id]) => id !== viewer.value);
    const pinWanted = `${viewer.value}\u0002${others.map(([id, p]) => `${id}\u0000${p.name}`).join('\u0001')}`;
    if (pin.dataset.people !== pinWanted) {
      pin.dataset.people = pinWanted;
      pin.replaceChildren(option('', 'Nobody'), ...others.map(([id, p]) => option(id, p.name)));
      if (others.some(([id]) => id === pinChosen)) pin.value = pinChosen;
    }
  }

  function option(value, text) {
    const o = document.createElement('option');
    o.value = value;
    o.textContent = text;
    return o;
  }

  /// The layout fields show what the chosen viewer has, as far as this page knows.
  function fillLayout() {
    const p = page.state().participants.get($('host-viewer').value);
    if (!p) return;
    $('host-max-views').value = String(p.max_views || 9);
    $('host-layout').value = p.layout || 'auto';
    $('host-viewer-pin').value = p.pinned || '';
  }

  // --- what the buttons do -------------------------------------------------------------------------

  function onPerson(action, id, button) {
    const s = page.state();
    const name = page.nameOf(id);
    const one = { participants: [id] };
    switch (action) {
      case 'allow':
        return act(button, `Letting ${name} speak`, 'POST', '/allow_unmute', one, `${name} may unmute now.`);
      case 'mute':
        return s.participants.get(id) && s.participants.get(id).mute_audio
          ? act(button, `Unmuting ${name}`, 'POST', '/unmute', one, `You unmuted ${name}.`)
          : act(button, `Muting ${name}`, 'POST', '/mute',
            { participants: [id], allow_self_unmute: $('host-self-unmute').checked }, `You muted ${name}.`);
      case 'lecturer':
        return id === s.lecturer
          ? act(button, 'Ending the lecture', 'DELETE', '/lecturer', undefined, 'The lecture ended.')
          : act(button, `Making ${name} the lecturer`, 'POST', '/lecturer', { lecturer: id }, `${name} is the lecturer.`);
      case 'pin':
        return id === s.meetingPin
          ? act(button, `Unpinning ${name}`, 'DELETE', '/pin', undefined, 'Nobody is pinned for everyone now.')
          : act(button, `Pinning ${name}`, 'POST', '/pin', one, `${name} is pinned for everyone.`);
      case 'disconnect':
        return act(button, `Disconnecting ${name}`, 'DELETE', '/disconnect', one, `You disconnected ${name}.`);
      default:
        return null;
    }
  }

  /// A button that asks for a second press before it acts (in place, not a dialog).
  function confirmFirst(button, confirmText, run) {
    if (button.dataset.armed === 'true') {
      disarm(button);
      run();
      return;
    }
    button.dataset.armed = 'true';
    button.textContent = confirmText;
    page.status(`Press “${confirmText}” to confirm.`);
    clearTimeout(disarmTimer);
    disarmTimer = setTimeout(() => disarm(button), 8000);
  }

  function disarm(button) {
    clearTimeout(disarmTimer);
    delete button.dataset.armed;
    render();
  }

  function wire() {
    $('host-toggle').addEventListener('click', toggle);
    $('host-heading').tabIndex = -1;
    $('host-mute-all').addEventListener('click', (e) => {
      const me = page.state().clientUuid;
      act(e.currentTarget, 'Muting everyone', 'POST', '/mute_all',
        { allow_self_unmute: $('host-self-unmute').checked, exclusions: me ? [me] : [] },
        'You muted everyone else.');
    });
    $('host-unmute-all').addEventListener('click', (e) => {
      act(e.currentTarget, 'Unmuting everyone', 'POST', '/unmute_all', {}, 'You unmuted everyone.');
    });
    $('host-lock').addEventListener('click', (e) => {
      if (page.state().locked) act(e.currentTarget, 'Unlocking the meeting', 'DELETE', '/lock', undefined, 'The meeting is open to new participants.');
      else act(e.currentTarget, 'Locking the meeting', 'POST', '/lock', {}, 'The meeting is locked: nobody new can join.');
    });
    $('host-record').addEventListener('click', (e) => {
      if (page.state().recording) act(e.currentTarget, 'Stopping the recording', 'DELETE', '/recording', undefined, 'The recording stopped.');
      else act(e.currentTarget, 'Starting the recording', 'POST', '/recording', {}, 'The meeting is being recorded.');
    });
    $('host-live').addEventListener('click', (e) => {
      if (page.state().live) {
        act(e.currentTarget, 'Stopping the live stream', 'DELETE', '/live', undefined, 'The live stream stopped.');
        return;
      }
      const body = {};
      const passcode = $('host-live-passcode').value.trim();
      const rtmp = $('host-live-rtmp').value.trim();
      if (passcode) body.live_password = passcode;
      if (rtmp) body.rtmp_url = rtmp;
      act(e.currentTarget, 'Starting the live stream', 'POST', '/live', body, 'The meeting is streamed live.');
    });
    $('host-disconnect-all').addEventListener('click', (e) => {
      const button = e.currentTarget;
      confirmFirst(button, 'Press again: disconnect everyone', () => {
        act(button, 'Disconnecting everyone', 'DELETE', '/disconnect_all', undefined, 'You disconnected everyone.');
      });
    });
    $('host-end').addEventListener('click', (e) => {
      const button = e.currentTarget;
      confirmFirst(button, 'Press again: end the meeting', () => {
        act(button, 'Ending the meeting', 'POST', '/stop', { rejoin: !$('host-end-close').checked }, 'You ended the meeting.');
      });
    });
    $('host-overlay-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const content = $('host-overlay-text').value.trim();
      if (!content) {
        alertText('Showing the overlay did not work. Write the text to show first.');
        $('host-overlay-text').focus();
        return;
      }
      const repeat = Number($('host-overlay-repeat').value || '0');
      if (!Number.isInteger(repeat) || repeat < 0) {
        alertText('Showing the overlay did not work. How many times it runs must be a whole number, 0 or more.');
        $('host-overlay-repeat').focus();
        return;
      }
      act($('host-overlay-show'), 'Showing the overlay', 'POST', '/overlay', {
        content,
        repeat,
        position: Number($('host-overlay-position').value),
        enable_scroll: $('host-overlay-scroll').checked,
      }, 'The overlay is shown to everyone.');
    });
    $('host-overlay-remove').addEventListener('click', (e) => {
      act(e.currentTarget, 'Removing the overlay', 'DELETE', '/overlay', undefined, 'The overlay is removed.');
    });
    $('host-viewer').addEventListener('change', () => {
      renderViewer();
      fillLayout();
    });
    $('host-viewer-pin-apply').addEventListener('click', (e) => {
      const viewer = $('host-viewer').value;
      const pinned = $('host-viewer-pin').value;
      if (!viewer) return;
      const whose = page.nameOf(viewer);
      if (pinned) {
        act(e.currentTarget, `Pinning on ${whose}'s screen`, 'POST', `/participant/${encodeURIComponent(viewer)}/pin`,
          { participants: [pinned] }, `${page.nameOf(pinned)} is pinned on ${whose}'s screen.`);
      } else {
        act(e.currentTarget, `Unpinning on ${whose}'s screen`, 'DELETE', `/participant/${encodeURIComponent(viewer)}/pin`,
          undefined, `Nobody is pinned on ${whose}'s screen now.`);
      }
    });
    $('host-layout-apply').addEventListener('click', (e) => {
      const viewer = $('host-viewer').value;
      if (!viewer) return;
      const maxViews = Number($('host-max-views').value);
      if (!Number.isInteger(maxViews) || maxViews < 1 || maxViews > 19) {
        alertText('Setting the layout did not work. The most videos on a screen is a whole number from 1 to 19.');
        $('host-max-views').focus();
        return;
      }
      const whose = page.nameOf(viewer);
      act(e.currentTarget, `Setting ${whose}'s layout`, 'POST', `/participant/${encodeURIComponent(viewer)}/layout_change`,
        { max_views: maxViews, layout: $('host-layout').value }, `${whose}'s screen shows at most ${maxViews} ${maxViews === 1 ? 'video' : 'videos'}.`);
    });
  }

  wire();
  return {
    check,
    reset,
    render,
    get enabled() {
      return enabled;
    },
    get checked() {
      return checked;
    },
  };
}

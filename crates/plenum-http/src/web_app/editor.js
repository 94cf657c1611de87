// Scheduling: create a reservation or a recurring series, edit a reservation, one occurrence
// or a whole series, with invitees from the company's directory, a time zone and the FRTC
// meeting settings. Calls: `POST /api/v1/meeting_schedule` (create), `POST
// /api/v1/meeting_schedule/{reservation_id}` (update a meeting or an occurrence), `POST
// /api/v1/meeting_schedule/recurrence` (create a series), `POST
// /api/v1/meeting_schedule/recurrence/{gid}` (update it), `GET /api/v1/user/public/users`
// (invitees), `GET /api/v1/meeting_room` (rooms).

import * as api from './api.js';
import { checkbox, field, fill, h, heading } from './dom.js';
import { HOUR, MINUTE, endOfDay, fromLocal, isZone, isoDate, localZone, toLocal, zones } from './time.js';

const CALL_RATES = ['128K', '256K', '384K', '512K', '768K', '1024K', '1536K', '2048K', '4096K', '8192K'];

const $ = (id) => document.getElementById(id);

function select(id, options, value) {
  return h('select', { id },
    options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
}

/// The invitee picker: search the company's directory, add, remove.
function invitees(app, initial) {
  const chosen = new Map(initial.map((u) => [u.user_id, u]));
  const chosenList = h('ul', { id: 'm-invitees', class: 'chips', 'aria-label': 'Invited' });
  const results = h('ul', { id: 'm-invite-results', class: 'results', 'aria-label': 'People found' });
  const search = h('input', { id: 'm-invite-search', type: 'search', autocomplete: 'off', maxlength: '128' });
  const render = () => {
    fill(chosenList, chosen.size
      ? [...chosen.values()].map((u) => h('li', {},
        `${u.real_name || u.username} (${u.username}) `,
        h('button', { type: 'button', class: 'small', onclick: () => { chosen.delete(u.user_id); render(); search.focus(); } },
          `Remove ${u.real_name || u.username}`)))
      : h('li', { class: 'empty' }, 'Nobody is invited yet.'));
  };
  let timer = 0;
  let asked = 0;
  const find = async () => {
    const text = search.value.trim();
    const mine = ++asked;
    if (!text) {
      fill(results);
      return;
    }
    let page;
    try {
      page = await api.get(`/api/v1/user/public/users${api.query({ filter: text, page_size: 8 })}`);
    } catch (error) {
      fill(results, h('li', { class: 'empty' }, error.message));
      return;
    }
    if (mine !== asked) return;
    const found = page.users.filter((u) => u.user_id !== app.session.user_id);
    fill(results, found.length
      ? found.map((u) => h('li', {}, h('button', {
        type: 'button',
        class: 'small',
        disabled: chosen.has(u.user_id),
        onclick: () => {
          chosen.set(u.user_id, u);
          render();
          fill(results);
          search.value = '';
          search.focus();
          app.status(`Invited ${u.real_name || u.username}.`);
        },
      }, `Invite ${u.real_name || u.username} (${u.username})`)))
      : h('li', { class: 'empty' }, `Nobody in your company matches “${text}”.`));
  };
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(find, 200);
  });
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      clearTimeout(timer);
      find();
    }
  });
  render();
  return {
    element: h('fieldset', { class: 'invitees' },
      h('legend', {}, 'Invitees'),
      field('Find people in your company', search, 'Type a name or username, then choose.'),
      results,
      h('p', { class: 'label' }, 'Invited:'),
      chosenList),
    ids: () => [...chosen.keys()],
  };
}

async function roomOptions() {
  try {
    const page = await api.get(`/api/v1/meeting_room${api.query({ page_size: 500 })}`);
    return page.meeting_rooms.map((r) => [r.meeting_room_id, `${r.meetingroom_name} (${r.meeting_number})`]);
  } catch {
    return [];
  }
}

/// The form, for `mode` "create", "meeting" (a reservation or one occurrence) or "series".
async function form(app, mode, current) {
  const c = current || {};
  const zone = c.time_zone || localZone();
  const start = c.schedule_start_time || (Math.ceil((Date.now() + HOUR) / (30 * MINUTE)) * 30 * MINUTE);
  const end = c.schedule_end_time || start + HOUR;
  const occurrence = mode === 'meeting' && !!c.recurrence_gid;
  const rooms = occurrence || mode === 'series' ? [] : await roomOptions();

  const zoneInput = h('input', { id: 'm-zone', type: 'text', list: 'm-zones', value: zone, autocomplete: 'off', required: true });
  const zoneList = h('datalist', { id: 'm-zones' }, zones().map((z) => h('option', { value: z })));
  const startInput = h('input', { id: 'm-start', type: 'datetime-local', value: toLocal(start, zone), required: true });
  const endInput = h('input', { id: 'm-end', type: 'datetime-local', value: toLocal(end, zone), required: true });
  startInput.dataset.initial = startInput.value;
  endInput.dataset.initial = endInput.value;
  // Keep the length when the start moves.
  startInput.addEventListener('change', () => {
    const z = isZone(zoneInput.value.trim()) ? zoneInput.value.trim() : localZone();
    const before = fromLocal(startInput.dataset.last || startInput.dataset.initial, z);
    const length = fromLocal(endInput.value, z) - before;
    const now = fromLocal(startInput.value, z);
    if (Number.isFinite(length) && length > 0 && Number.isFinite(now)) endInput.value = toLocal(now + length, z);
    startInput.dataset.last = startInput.value;
  });

  const repeats = mode === 'series' || (mode === 'create' && c.repeats);
  const repeatBox = mode === 'create' ? checkbox('m-repeats', 'Repeats (a series)', repeats) : null;
  const frequency = select('m-frequency', [['DAILY', 'Every day'], ['WEEKLY', 'Every week'], ['MONTHLY', 'Every month']], c.recurrence_type || 'WEEKLY');
  const interval = h('input', { id: 'm-interval', type: 'number', min: '1', max: '99', inputmode: 'numeric', value: c.interval || (mode === 'series' ? '' : '1') });
  const until = h('input', { id: 'm-until', type: 'date', value: c.until || (mode === 'series' ? '' : isoDate(start + 28 * 24 * HOUR)) });
  const repeatFields = h('fieldset', { id: 'm-repeat', class: 'repeat' },
    h('legend', {}, 'Repeats'),
    field('How often', frequency),
    field('Every how many (days, weeks or months)', interval, mode === 'series' ? 'Leave empty to keep it as it is.' : '1 is every time, 2 every other, up to 99.'),
    field('Last day', until, mode === 'series' ? 'Leave empty to keep it as it is.' : 'The last day an occurrence may start on.'));
  repeatFields.hidden = !repeats;
  if (repeatBox) {
    repeatBox.querySelector('input').addEventListener('change', (e) => { repeatFields.hidden = !e.target.checked; });
  }

  const name = h('input', { id: 'm-name', type: 'text', value: c.meeting_name || '', required: true, maxlength: '128' });
  const description = h('textarea', { id: 'm-description', rows: '3', maxlength: '1024' });
  description.value = c.meeting_description || '';
  const password = h('input', { id: 'm-password', type: 'text', inputmode: 'numeric', autocomplete: 'off', maxlength: '16', value: c.meeting_password || '' });
  const number = h('input', { id: 'm-number', type: 'text', inputmode: 'numeric', autocomplete: 'off', maxlength: '12', value: '' });
  const room = rooms.length ? select('m-room', [['', 'No room'], ...rooms], c.meeting_room_id || '') : null;
  const callRate = select('m-call-rate', CALL_RATES.map((r) => [r, r.replace('K', ' kbit/s')]), c.call_rate_type || '2048K');
  const timeToJoin = h('input', { id: 'm-time-to-join', type: 'number', min: '0', max: '1440', inputmode: 'numeric', value: String(c.time_to_join ?? 30) });
  const watermarkType = select('m-watermark-type', [['single', 'Once'], ['multiple', 'Tiled']], c.watermark_type || 'single');
  const people = invitees(app, c.invited_users_detail || []);

  const save = h('button', { type: 'submit', id: 'm-save', class: 'primary' },
    mode === 'create' ? 'Schedule' : 'Save changes');
  const title = {
    create: 'New meeting',
    meeting: occurrence ? `Edit one occurrence of “${c.meeting_name}”` : `Edit “${c.meeting_name}”`,
    series: `Edit the series “${c.meeting_name}”`,
  }[mode];

  const formEl = h('form', { id: 'meeting-form', novalidate: true },
    occurrence ? h('p', { class: 'hint' }, 'Changes apply to this occurrence only; the rest of the series stays as it is.') : null,
    mode === 'series' ? h('p', { class: 'hint' }, 'Changes apply to every occurrence again; changes made to single occurrences are replaced.') : null,
    field('Name', name),
    field('Description', description),
    h('fieldset', { class: 'when' },
      h('legend', {}, mode === 'series' ? 'When (the first occurrence)' : 'When'),
      field('Starts', startInput),
      field('Ends', endInput),
      field('Time zone', zoneInput, 'The times above are in this zone; a series keeps its local time across daylight-saving changes.'),
      zoneList),
    repeatBox,
    repeatFields,
    people.element,
    h('fieldset', { class: 'settings' },
      h('legend', {}, 'Meeting settings'),
      field('Meeting password', password, '4 to 16 digits; empty for none. Everyone joining gives it.'),
      mode === 'create' ? field('Meeting number', number, '6 to 12 digits; empty to have one made.') : null,
      room ? field('Room', room, 'A meeting in a room uses the room’s number.') : null,
      field('Call rate', callRate),
      field('People may join this many minutes before the start', timeToJoin),
      checkbox('m-mute', 'Mute people when they join', c.mute_upon_entry === 'ENABLE'),
      checkbox('m-guests', 'Guests may join without an account', c.guest_dial_in ?? true),
      checkbox('m-watermark', 'Show a watermark', !!c.watermark),
      field('Watermark', watermarkType),
      checkbox('m-live', 'Make a live stream address', !!c.generate_live_url)),
    h('div', { class: 'actions' },
      save,
      h('a', { class: 'button', href: '#/meetings' }, 'Cancel')));

  formEl.addEventListener('submit', async (event) => {
    event.preventDefault();
    const z = zoneInput.value.trim();
    if (!name.value.trim()) {
      app.alert('Give the meeting a name.');
      name.focus();
      return;
    }
    if (!isZone(z)) {
      app.alert(`“${z}” is not a time zone this browser knows. Choose one from the list, such as Europe/Berlin.`);
      zoneInput.focus();
      return;
    }
    const startMs = fromLocal(startInput.value, z);
    const endMs = fromLocal(endInput.value, z);
    if (!Number.isFinite(startMs) || !Number.isFinite(endMs)) {
      app.alert('Give both the start and the end, with a date and a time.');
      (Number.isFinite(startMs) ? endInput : startInput).focus();
      return;
    }
    const body = {
      meeting_name: name.value.trim(),
      meeting_description: description.value,
      meeting_password: password.value.trim(),
      invited_users: people.ids(),
      call_rate_type: callRate.value,
      time_to_join: Number(timeToJoin.value || 0),
      mute_upon_entry: $('m-mute').checked ? 'ENABLE' : 'DISABLE',
      guest_dial_in: $('m-guests').checked,
      watermark: $('m-watermark').checked,
      watermark_type: watermarkType.value,
      generate_live_url: $('m-live').checked,
    };
    if (room) body.meeting_room_id = room.value || null;
    const series = mode === 'series' || (mode === 'create' && $('m-repeats').checked);
    let path;
    if (series) {
      body.recurrence_type = frequency.value;
      const moved = startInput.value !== startInput.dataset.initial || endInput.value !== endInput.dataset.initial
        || zoneInput.value.trim() !== zone || mode === 'create';
      if (moved) {
        body.time_zone = z;
        body.recurrenceStartTime = startMs;
        body.recurrenceEndTime = endMs;
      }
      if (interval.value) body.recurrenceInterval = Number(interval.value);
      if (until.value) body.recurrenceEndDay = endOfDay(until.value, z);
      if (mode === 'create' && (!interval.value || !until.value)) {
        app.alert('Say how often the series repeats and its last day.');
        (interval.value ? until : interval).focus();
        return;
      }
      path = mode === 'create' ? '/api/v1/meeting_schedule/recurrence' : `/api/v1/meeting_schedule/recurrence/${encodeURIComponent(c.recurrence_gid)}`;
    } else {
      body.schedule_start_time = startMs;
      body.schedule_end_time = endMs;
      if (mode === 'create') {
        body.meeting_type = 'reservation';
        if (number.value.trim() && !(room && room.value)) body.meeting_number = number.value.trim();
      }
      path = mode === 'create' ? '/api/v1/meeting_schedule' : `/api/v1/meeting_schedule/${encodeURIComponent(c.reservation_id)}`;
    }
    save.disabled = true;
    const ok = await app.attempt(() => api.post(path, body));
    save.disabled = false;
    if (ok) {
      app.status(mode === 'create' ? `Scheduled “${body.meeting_name}”.` : `Saved “${body.meeting_name}”.`);
      app.go(`#/week/${isoDate(startMs)}`);
    }
  });

  return h('section', {}, heading(title), formEl);
}

/// `#/meetings/new`
export function create(app) {
  return form(app, 'create', null);
}

/// `#/meetings/{reservation_id}/edit`: a reservation, or one occurrence of a series.
export async function editMeeting(app, id) {
  const detail = await api.get(`/api/v1/meeting_schedule/${encodeURIComponent(id)}`);
  return form(app, 'meeting', detail);
}

/// `#/series/{gid}/edit`: the whole series, its settings taken from its first occurrence.
export async function editSeries(app, gid) {
  const page = await api.get(`/api/v1/meeting_schedule/recurrence/${encodeURIComponent(gid)}${api.query({ page_size: 1 })}`);
  const first = page.scheduled_meetings[0];
  if (!first) throw new api.ApiError(404, 'recurrence_not_found', 'This series has no occurrences left.');
  const detail = await api.get(`/api/v1/meeting_schedule/${encodeURIComponent(first.reservation_id)}`);
  return form(app, 'series', detail);
}

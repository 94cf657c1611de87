// A member's meeting history (`GET /api/v1/history/meetings`): the meetings they owned or
// attended (an administrator: the company's), newest first, each with its attendance (who,
// from when to when, with what) and the recordings they may see. Recordings Plenum stored
// play in the page (their signed links are on this server); others are links.

import * as api from './api.js';
import { field, h, heading } from './dom.js';
import { formatDateTime, formatSlot, formatTime, isoDate } from './time.js';

const PAGE_SIZE = 10;

export const DEVICES = {
  desktop: 'Desktop app',
  web: 'Browser',
  mobile: 'Phone or tablet app',
  room_system: 'Room system',
  phone: 'Telephone',
  gateway: 'Gateway',
  bot: 'Bot',
};

/// The parameters of `#/history?page=2&q=review`.
export function params(query) {
  const p = new URLSearchParams(query || '');
  const page = Math.max(1, parseInt(p.get('page') || '1', 10) || 1);
  return { page, q: p.get('q') || '' };
}

export function hashOf(base, { page, q }) {
  const p = new URLSearchParams();
  if (page > 1) p.set('page', String(page));
  if (q) p.set('q', q);
  const s = p.toString();
  return s ? `${base}?${s}` : base;
}

function duration(ms) {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function when(start, end) {
  if (end === null || end === undefined) return `${formatDateTime(start)} – still running`;
  return `${formatSlot(start, end)} (${duration(end - start)})`;
}

function leftAt(stay, joined) {
  if (stay.leave_time === null || stay.leave_time === undefined) return 'still in the meeting';
  return isoDate(stay.leave_time) === isoDate(joined) ? formatTime(stay.leave_time) : formatDateTime(stay.leave_time);
}

function attendanceTable(m, captionId) {
  if (!m.attendance.length) return h('p', { class: 'empty' }, 'Nobody joined.');
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': captionId },
    h('table', { class: 'attendance' },
      h('caption', { id: captionId }, `Attendance (${m.attendance.length})`),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Who'),
        h('th', { scope: 'col' }, 'Joined'),
        h('th', { scope: 'col' }, 'Left'),
        h('th', { scope: 'col' }, 'Device'))),
      h('tbody', {}, m.attendance.map((s) => h('tr', {},
        h('th', { scope: 'row' }, s.display_name, s.username ? '' : ' (guest)'),
        h('td', {}, formatDateTime(s.join_time)),
        h('td', {}, leftAt(s, s.join_time)),
        h('td', {}, `${DEVICES[s.device_type] || s.device_type}, ${s.media_type}`))))));
}

/// Whether `url` is served by this server (the page's policy lets media come only from here).
function playable(url) {
  try {
    return new URL(url, location.href).origin === location.origin;
  } catch {
    return false;
  }
}

function recording(m, r, index) {
  const who = r.client_uuid
    ? (m.attendance.find((s) => s.client_uuid === r.client_uuid) || { display_name: 'a participant' }).display_name
    : 'the meeting';
  const label = `Recording ${index + 1} of ${m.meeting_name}: ${r.type} of ${who}`;
  const facts = `${r.type === 'audio' ? 'Audio' : 'Video'} of ${who} · ${formatDateTime(r.start_time)} · ${duration(r.duration_secs * 1000)}`;
  const factsId = `recording-${r.recording_id}`;
  let body;
  if (r.status !== 'completed' || !r.download_url) {
    body = h('p', { class: 'meta' }, r.status === 'failed'
      ? `It failed: ${r.failure || 'no reason given'}.`
      : 'Still being recorded or stored; it can be played once it is complete.');
  } else if (playable(r.download_url)) {
    const media = h(r.type === 'audio' ? 'audio' : 'video', {
      controls: true, preload: 'metadata', src: r.download_url, 'aria-label': label, class: 'player',
    });
    body = h('div', {}, media,
      h('p', {}, h('a', { href: r.download_url, download: true, 'aria-describedby': factsId }, 'Download the recording')));
  } else {
    body = h('p', {}, h('a', { href: r.download_url, rel: 'noreferrer', 'aria-describedby': factsId }, 'Open the recording (stored elsewhere)'));
  }
  return h('li', { class: 'recording', dataset: { recording: r.recording_id } },
    h('p', { class: 'meta', id: factsId }, `${m.meeting_name}: ${facts}`), body);
}

/// The meeting's own recordings first, then the participants', each by start.
function meetingFirst(recordings) {
  return [...recordings].sort((a, b) => (!!a.client_uuid - !!b.client_uuid) || (a.start_time - b.start_time));
}

function meetingCard(m) {
  const id = `past-${m.session_id}`;
  return h('li', { class: 'card past-meeting', dataset: { session: m.session_id } },
    h('h2', { id, class: 'meeting-name' }, m.meeting_name),
    h('p', { class: 'when' }, when(m.start_time, m.end_time)),
    h('p', { class: 'meta' },
      `Number ${m.meeting_number} · Host ${m.owner.real_name || m.owner.username}`,
      m.status === 'running' ? ' · Running now' : '',
      m.peak_participants ? ` · At most ${m.peak_participants} at once` : ''),
    attendanceTable(m, `${id}-attendance`),
    h('h3', {}, m.recordings.length ? `Recordings (${m.recordings.length})` : 'Recordings'),
    m.recordings.length
      ? h('ul', { class: 'recordings' }, meetingFirst(m.recordings).map((r, i) => recording(m, r, i)))
      : h('p', { class: 'empty' }, 'No recordings you may see.'));
}

/// Previous / next links and where we are.
export function pager(label, base, state, totalPages) {
  if (totalPages <= 1) return null;
  const { page } = state;
  return h('nav', { class: 'pager', 'aria-label': label },
    page > 1 ? h('a', { class: 'button', href: hashOf(base, { ...state, page: page - 1 }) }, 'Previous page') : null,
    h('p', { class: 'meta' }, `Page ${page} of ${totalPages}`),
    page < totalPages ? h('a', { class: 'button', href: hashOf(base, { ...state, page: page + 1 }) }, 'Next page') : null);
}

/// A search form that puts its text in the view's address.
export function searchForm(id, label, base, state, hint) {
  const input = h('input', { id, type: 'search', value: state.q, maxlength: '128' });
  const form = h('form', { class: 'search', role: 'search', 'aria-label': label },
    field(label, input, hint),
    h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = hashOf(base, { page: 1, q: input.value.trim() });
  });
  return form;
}

/// `#/history`.
export async function page(app, query) {
  const state = params(query);
  const found = await api.get(`/api/v1/history/meetings${api.query({
    page_num: state.page, page_size: PAGE_SIZE, filter: state.q,
  })}`);
  const meetings = found.meetings || [];
  const whose = app.isManager() ? 'The meetings held in your company' : 'The meetings you hosted or attended';
  return h('section', { 'aria-labelledby': 'history-heading' },
    Object.assign(heading('Meeting history'), { id: 'history-heading' }),
    h('p', { class: 'hint' }, `${whose}, newest first, with who was there and the recordings you may see.`),
    searchForm('history-search', 'Meeting name', '#/history', state),
    meetings.length
      ? h('ul', { class: 'cards', id: 'history-list', 'aria-label': 'Meetings' }, meetings.map(meetingCard))
      : h('p', { class: 'empty' }, state.q ? 'No meeting has that name.' : 'No meetings yet.'),
    pager('Pages of the history', '#/history', state, found.total_page_num));
}

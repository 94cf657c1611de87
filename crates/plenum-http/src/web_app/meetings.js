// A member's meetings: the upcoming ones as a list, and a week view. Both read
// `GET /api/v1/meeting_schedule` (single meetings and the occurrences of series, by start
// time) and act with the FRTC calls: delete (`DELETE /api/v1/meeting_schedule/{id}` or
// `.../recurrence/{gid}`), join (`/join/{number}`, the join page), copy the link (`meeting_url`).

import * as api from './api.js';
import { fill, h, heading } from './dom.js';
import { DAY, addDays, formatDay, formatSlot, formatTime, isoDate, parseDate, weekStart } from './time.js';

const PAGE_SIZE = 100;

async function page(number) {
  return api.get(`/api/v1/meeting_schedule${api.query({ page_num: number, page_size: PAGE_SIZE })}`);
}

/// The meetings that overlap [from, to), at most `limit`, by start. The list is ordered by
/// start and a meeting lasts at most a day, so the first page to read is found by halving
/// (a few requests, however long the history), then pages are read on until `to`.
export async function between(from, to, limit = 500) {
  const first = await page(1);
  const pages = Math.max(1, first.total_page_num || 1);
  const cache = new Map([[1, first]]);
  const load = async (n) => {
    if (!cache.has(n)) cache.set(n, await page(n));
    return cache.get(n);
  };
  let lo = 1;
  let hi = pages;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const rows = (await load(mid)).scheduled_meetings;
    const last = rows[rows.length - 1];
    if (!last || last.schedule_start_time >= from - DAY) hi = mid;
    else lo = mid + 1;
  }
  const found = [];
  for (let n = lo; n <= pages; n += 1) {
    const rows = (await load(n)).scheduled_meetings;
    if (!rows.length) break;
    for (const row of rows) {
      if (row.schedule_start_time >= to) return found;
      if (row.schedule_end_time > from) found.push(row);
      if (found.length >= limit) return found;
    }
  }
  return found;
}

/// The join page of a meeting, with the member's name and the password filled in: one click.
export function joinHref(app, meeting) {
  const q = new URLSearchParams({ name: app.displayName(), autojoin: '1' });
  if (meeting.meeting_password) q.set('password', meeting.meeting_password);
  return `/join/${encodeURIComponent(meeting.meeting_number)}?${q}`;
}

/// Copies `url` to the clipboard; where the browser does not allow it, says it in words.
export async function copyLink(app, url) {
  try {
    await navigator.clipboard.writeText(url);
    app.status(`Copied the join link: ${url}`);
  } catch {
    app.status(`Copy the join link: ${url}`);
  }
}

function kindLabel(m) {
  if (m.recurrence_gid) {
    const every = { DAILY: 'daily', WEEKLY: 'weekly', MONTHLY: 'monthly' }[m.recurrence_type] || 'repeating';
    return `Repeats ${every}`;
  }
  return m.meeting_type === 'instant' ? 'Instant meeting' : 'One meeting';
}

async function remove(app, m, reload) {
  const series = !!m.recurrence_gid;
  // An occurrence's reservation id deletes that occurrence only.
  const ok = await app.attempt(() => api.del(`/api/v1/meeting_schedule/${encodeURIComponent(m.reservation_id)}`));
  if (ok) {
    app.status(series ? `Deleted this occurrence of “${m.meeting_name}”.` : `Deleted “${m.meeting_name}”.`);
    await reload();
  }
}

async function removeSeries(app, m, reload) {
  const ok = await app.attempt(() => api.del(`/api/v1/meeting_schedule/recurrence/${encodeURIComponent(m.recurrence_gid)}`));
  if (ok) {
    app.status(`Deleted the series “${m.meeting_name}” and all its occurrences.`);
    await reload();
  }
}

/// A confirm step in the page (not window.confirm): the button turns into "Really delete?".
function confirmButton(label, confirmLabel, action) {
  const button = h('button', { type: 'button', class: 'danger' }, label);
  let armed = false;
  button.addEventListener('click', async () => {
    if (!armed) {
      armed = true;
      button.textContent = confirmLabel;
      return;
    }
    button.disabled = true;
    await action();
    button.disabled = false;
  });
  button.addEventListener('blur', () => {
    armed = false;
    button.textContent = label;
  });
  return button;
}

/// One meeting, with what can be done with it.
function card(app, m, reload, { showDate = true } = {}) {
  const mine = app.session && m.owner_id === app.session.user_id;
  const canChange = mine || app.isManager();
  const id = `meeting-${m.reservation_id}`;
  const actions = [
    h('a', { class: 'button primary', href: joinHref(app, m), 'aria-describedby': id }, 'Join'),
    h('button', { type: 'button', onclick: () => copyLink(app, m.meeting_url), 'aria-describedby': id }, 'Copy link'),
  ];
  if (canChange) {
    if (m.recurrence_gid) {
      actions.push(h('a', { class: 'button', href: `#/meetings/${encodeURIComponent(m.reservation_id)}/edit`, 'aria-describedby': id }, 'Edit this occurrence'));
      actions.push(h('a', { class: 'button', href: `#/series/${encodeURIComponent(m.recurrence_gid)}/edit`, 'aria-describedby': id }, 'Edit the series'));
      actions.push(confirmButton('Delete this occurrence', 'Really delete this occurrence?', () => remove(app, m, reload)));
      actions.push(confirmButton('Delete the series', 'Really delete the whole series?', () => removeSeries(app, m, reload)));
    } else {
      if (m.meeting_type !== 'instant') {
        actions.push(h('a', { class: 'button', href: `#/meetings/${encodeURIComponent(m.reservation_id)}/edit`, 'aria-describedby': id }, 'Edit'));
      }
      actions.push(confirmButton('Delete', 'Really delete?', () => remove(app, m, reload)));
    }
  }
  return h('li', { class: 'card meeting', dataset: { reservation: m.reservation_id, series: m.recurrence_gid || '' } },
    h('h3', { id, class: 'meeting-name' }, m.meeting_name),
    h('p', { class: 'when' }, showDate ? formatSlot(m.schedule_start_time, m.schedule_end_time)
      : `${formatTime(m.schedule_start_time)} – ${formatTime(m.schedule_end_time)}`),
    h('p', { class: 'meta' },
      `${kindLabel(m)} · Number ${m.meeting_number}`,
      m.meeting_password ? ` · Password ${m.meeting_password}` : '',
      mine ? '' : ` · Host ${m.owner_name}`),
    h('div', { class: 'actions' }, actions));
}

/// `#/meetings`: what is coming, from now on.
export async function upcoming(app) {
  const list = h('ul', { class: 'cards', id: 'upcoming-list', 'aria-labelledby': 'upcoming-heading' });
  const root = h('section', { 'aria-labelledby': 'upcoming-heading' });
  const reload = async () => {
    const rows = await between(Date.now(), Number.MAX_SAFE_INTEGER, 50);
    if (!rows.length) {
      fill(list, h('li', { class: 'empty' }, 'No meetings are planned. Schedule one with “New meeting”.'));
    } else {
      fill(list, rows.map((m) => card(app, m, reload)));
    }
  };
  await reload();
  const title = heading('Upcoming meetings');
  title.id = 'upcoming-heading';
  return fill(root,
    h('div', { class: 'view-top' }, title,
      h('a', { class: 'button primary', href: '#/meetings/new', id: 'new-meeting' }, 'New meeting')),
    h('p', { class: 'hint' }, app.isManager()
      ? 'All of your company’s meetings, as you manage them. Times are in your browser’s time zone.'
      : 'Meetings you host or are invited to. Times are in your browser’s time zone.'),
    list);
}

/// `#/week/YYYY-MM-DD`: the seven days from that Monday, each with its meetings.
export async function week(app, date) {
  const given = parseDate(date);
  const monday = weekStart(Number.isNaN(given) ? Date.now() : given);
  const sunday = addDays(monday, 6);
  const next = addDays(monday, 7);
  const rows = await between(monday, next, 1000);
  const reload = () => app.go(`#/week/${isoDate(monday)}`);
  const days = [];
  for (let d = 0; d < 7; d += 1) {
    const start = addDays(monday, d);
    const end = addDays(monday, d + 1);
    const today = isoDate(start) === isoDate(Date.now());
    const those = rows.filter((m) => m.schedule_start_time < end && m.schedule_end_time > start);
    const dayId = `day-${isoDate(start)}`;
    days.push(h('li', { class: today ? 'day today' : 'day', 'aria-labelledby': dayId },
      h('h2', { id: dayId }, formatDay(start), today ? ' (today)' : ''),
      those.length
        ? h('ul', { class: 'cards' }, those.map((m) => card(app, m, reload, { showDate: false })))
        : h('p', { class: 'empty' }, 'Nothing planned.')));
  }
  const range = `${formatDay(monday)} – ${formatDay(sunday)}`;
  return h('section', {},
    h('div', { class: 'view-top' }, heading(`Week of ${formatDay(monday)}`),
      h('a', { class: 'button primary', href: '#/meetings/new' }, 'New meeting')),
    h('nav', { class: 'week-nav', 'aria-label': 'Weeks' },
      h('a', { class: 'button', href: `#/week/${isoDate(addDays(monday, -7))}`, id: 'previous-week' }, 'Previous week'),
      h('a', { class: 'button', href: '#/week', id: 'this-week' }, 'This week'),
      h('a', { class: 'button', href: `#/week/${isoDate(next)}`, id: 'next-week' }, 'Next week')),
    h('p', { class: 'hint' }, `${range}. Times are in your browser’s time zone.`),
    h('ol', { class: 'week', id: 'week' }, days));
}

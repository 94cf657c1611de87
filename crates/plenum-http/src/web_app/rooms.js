// The company's persistent rooms (`GET /api/v1/meeting_room`), the member's own first, each
// with its join link and one-click join.

import * as api from './api.js';
import { fill, h, heading } from './dom.js';
import { copyLink, joinHref } from './meetings.js';

export async function list(app) {
  const page = await api.get(`/api/v1/meeting_room${api.query({ page_size: 500 })}`);
  const rooms = page.meeting_rooms || [];
  const me = app.session.user_id;
  const mine = rooms.filter((r) => r.owner_id === me);
  const others = rooms.filter((r) => r.owner_id !== me);
  const card = (r) => {
    const id = `room-${r.meeting_room_id}`;
    const link = `${location.origin}/j/${encodeURIComponent(r.meeting_number)}`;
    return h('li', { class: 'card room' },
      h('h3', { id }, r.meetingroom_name),
      h('p', { class: 'meta' }, `Number ${r.meeting_number}`,
        r.meeting_password ? ` · Password ${r.meeting_password}` : '',
        r.owner_id === me ? '' : ` · Owner ${r.owner_name}`),
      h('div', { class: 'actions' },
        h('a', { class: 'button primary', href: joinHref(app, r), 'aria-describedby': id }, 'Join'),
        h('button', { type: 'button', onclick: () => copyLink(app, link), 'aria-describedby': id }, 'Copy link')));
  };
  const section = (title, id, items, empty) => h('section', { 'aria-labelledby': id },
    h('h2', { id }, title),
    items.length ? h('ul', { class: 'cards' }, items.map(card)) : h('p', { class: 'empty' }, empty));
  return fill(h('section', {}),
    heading('Rooms'),
    h('p', { class: 'hint' }, 'Rooms are always open at their number. ',
      app.isManager() ? 'Rooms are created and changed by meeting operators and administrators.' : 'Ask an administrator for a room of your own.'),
    section('Your rooms', 'rooms-mine', mine, 'You own no rooms.'),
    section('Other rooms of your company', 'rooms-others', others, 'There are no other rooms.'));
}

// The SystemAdmin's pages (`#/admin/...`): users, rooms, the meetings running now, the company
// and its licence use, API keys and Huawei apps, history import, webhooks and the audit log;
// companies for the platform operator. Each uses only the public API (docs/web-app.md lists
// the calls); the server refuses every one of them to anyone else anyway.

import * as api from './api.js';
import { field, fill, h, heading } from './dom.js';
import { formatDateTime } from './time.js';
import { DEVICES, hashOf, pager, params, searchForm } from './history.js';

const ROLES = ['Normal', 'MeetingOperator', 'SystemAdmin'];
const ROLE_WORDS = { Normal: 'Member', MeetingOperator: 'Meeting operator', SystemAdmin: 'Administrator' };

export const SECTIONS = [
  { path: 'users', title: 'Users' },
  { path: 'rooms', title: 'Rooms' },
  { path: 'running', title: 'Running meetings' },
  { path: 'company', title: 'Company' },
  { path: 'keys', title: 'API keys' },
  { path: 'import', title: 'Import' },
  { path: 'webhooks', title: 'Webhooks' },
  { path: 'audit', title: 'Audit log' },
  { path: 'companies', title: 'Companies', operator: true },
];

export function isAdmin(app) {
  return !!(app.session && app.session.role && app.session.role[0] === 'SystemAdmin');
}

/// The administration's own navigation, with the current section marked.
function subnav(app, current) {
  return h('nav', { class: 'subnav', 'aria-label': 'Administration' },
    h('ul', {}, SECTIONS.filter((s) => !s.operator || app.session.platform_operator).map((s) =>
      h('li', {}, h('a', {
        href: `#/admin/${s.path}`, id: `admin-nav-${s.path}`, 'aria-current': s.path === current ? 'page' : undefined,
      }, s.title)))));
}

function frame(app, current, title, ...content) {
  return h('section', { 'aria-labelledby': 'admin-heading' },
    subnav(app, current),
    Object.assign(heading(title), { id: 'admin-heading' }),
    ...content);
}

/// A value shown once (a secret), ready to copy, with the warning that it will not come back.
function shownOnce(app, id, label, value) {
  const input = h('input', { id, type: 'text', readonly: true, value, class: 'secret', spellcheck: 'false', 'aria-describedby': `${id}-hint` });
  return h('div', { class: 'once' },
    h('label', { for: id, class: 'label' }, label),
    input,
    h('p', { class: 'hint', id: `${id}-hint` }, 'Shown this once: copy it now. It cannot be shown again; revoke it and make a new one if it is lost.'),
    h('button', {
      type: 'button',
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(value);
          app.status(`Copied: ${label}.`);
        } catch {
          input.select();
          app.status('Copy the selected text.');
        }
      },
    }, 'Copy'));
}

/// A button that asks again in place before it acts.
function confirmButton(label, confirmLabel, action, describedBy) {
  const button = h('button', { type: 'button', class: 'danger', 'aria-describedby': describedBy }, label);
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
    armed = false;
    button.textContent = label;
  });
  button.addEventListener('blur', () => {
    armed = false;
    button.textContent = label;
  });
  return button;
}

function select(id, options, value) {
  return h('select', { id }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
}

function table(caption, headings, rows, id) {
  // A region a keyboard can reach and scroll, when the table is wider than a phone.
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption },
    h('table', { id },
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headings.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)));
}

// --- users ---------------------------------------------------------------------------------

const USERS_PAGE = 20;

function newUserForm(app) {
  const username = h('input', { id: 'new-user-username', type: 'text', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: '64' });
  const realName = h('input', { id: 'new-user-name', type: 'text', autocomplete: 'off', maxlength: '128' });
  const email = h('input', { id: 'new-user-email', type: 'email', autocomplete: 'off' });
  const role = select('new-user-role', ROLES.map((r) => [r, ROLE_WORDS[r]]), 'Normal');
  const password = h('input', { id: 'new-user-password', type: 'password', autocomplete: 'new-password' });
  const button = h('button', { type: 'submit', class: 'primary', id: 'create-user' }, 'Create the user');
  const form = h('form', { id: 'new-user-form', novalidate: true },
    h('fieldset', {}, h('legend', {}, 'New user'),
      field('Username', username),
      field('Name', realName),
      field('E-mail (optional)', email),
      field('Role', role),
      field('Password', password, 'At least 8 characters. Tell it to the person; they can change it on their account page.'),
      button));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!username.value.trim() || !password.value) {
      app.alert('Enter a username and a password for the new user.');
      (username.value.trim() ? password : username).focus();
      return;
    }
    button.disabled = true;
    const body = { username: username.value.trim(), real_name: realName.value.trim(), role: role.value, password: password.value };
    if (email.value.trim()) body.email = email.value.trim();
    const ok = await app.attempt(() => api.post('/api/v1/user/users', body));
    button.disabled = false;
    if (ok) {
      app.status(`Created the user ${body.username}.`);
      app.go(hashOf('#/admin/users', { page: 1, q: body.username }));
    }
  });
  return form;
}

export async function users(app, query) {
  const state = params(query);
  const found = await api.get(`/api/v1/user/public/users${api.query({ page_num: state.page, page_size: USERS_PAGE, filter: state.q })}`);
  const list = found.users || [];
  // The directory has no roles: each user's detail has.
  const details = await Promise.all(list.map((u) => api.get(`/api/v1/user/users/${encodeURIComponent(u.user_id)}`).catch(() => null)));
  const rows = list.map((u, i) => {
    const d = details[i];
    const id = `user-${u.user_id}`;
    return h('tr', { dataset: { user: u.username } },
      h('th', { scope: 'row', id }, u.username),
      h('td', {}, u.real_name),
      h('td', {}, d ? ROLE_WORDS[d.role[0]] || d.role[0] : '—'),
      h('td', {}, h('a', { href: `#/admin/users/${encodeURIComponent(u.user_id)}`, 'aria-describedby': id }, 'Edit')));
  });
  return frame(app, 'users', 'Users',
    searchForm('user-search', 'Find users', '#/admin/users', state, 'Part of a username or a name.'),
    rows.length ? table(`Users (${found.total_size})`, ['Username', 'Name', 'Role', ''], rows, 'users-table')
      : h('p', { class: 'empty' }, state.q ? 'No user matches.' : 'No users.'),
    pager('Pages of users', '#/admin/users', state, found.total_page_num),
    newUserForm(app));
}

export async function editUser(app, userId) {
  const u = await api.get(`/api/v1/user/users/${encodeURIComponent(userId)}`);
  const realName = h('input', { id: 'edit-user-name', type: 'text', value: u.real_name, maxlength: '128' });
  const email = h('input', { id: 'edit-user-email', type: 'email', value: u.email });
  const department = h('input', { id: 'edit-user-department', type: 'text', value: u.department });
  const mobile = h('input', { id: 'edit-user-mobile', type: 'tel', value: u.mobile });
  const role = select('edit-user-role', ROLES.map((r) => [r, ROLE_WORDS[r]]), u.role[0]);
  const save = h('button', { type: 'submit', class: 'primary', id: 'save-user' }, 'Save');
  const form = h('form', { id: 'edit-user-form', novalidate: true },
    h('fieldset', {}, h('legend', {}, 'Profile and role'),
      field('Name', realName), field('E-mail', email), field('Department', department), field('Mobile', mobile),
      field('Role', role, 'Administrators manage the company; meeting operators manage every meeting and room.'),
      save));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    save.disabled = true;
    const ok = await app.attempt(() => api.post(`/api/v1/user/users/${encodeURIComponent(userId)}`, {
      real_name: realName.value.trim(), email: email.value.trim(), department: department.value.trim(),
      mobile: mobile.value.trim(), role: role.value,
    }));
    save.disabled = false;
    if (ok) app.status(`Saved ${u.username}.`);
  });
  const password = h('input', { id: 'reset-password', type: 'password', autocomplete: 'new-password' });
  const reset = h('button', { type: 'submit', id: 'reset-password-button' }, 'Set the new password');
  const resetForm = h('form', { id: 'reset-password-form', novalidate: true },
    h('fieldset', {}, h('legend', {}, 'Reset the password'),
      field('New password', password, 'Their sessions end at once; tell them the new password.'),
      reset));
  resetForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!password.value) {
      app.alert('Enter the new password.');
      password.focus();
      return;
    }
    reset.disabled = true;
    const ok = await app.attempt(() => api.post(`/api/v1/user/users/${encodeURIComponent(userId)}`, { password: password.value }));
    reset.disabled = false;
    if (ok) {
      resetForm.reset();
      app.status(`The password of ${u.username} is reset; their sessions have ended.`);
    }
  });
  return frame(app, 'users', `User ${u.username}`,
    h('p', {}, h('a', { href: '#/admin/users' }, 'Back to the users')),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Username'), h('dd', { id: 'edit-user-username' }, u.username),
      h('dt', {}, 'Created'), h('dd', {}, formatDateTime(u.created_time))),
    form, resetForm);
}

// --- rooms ---------------------------------------------------------------------------------

export async function rooms(app) {
  const found = await api.get(`/api/v1/meeting_room${api.query({ page_size: 500 })}`);
  const list = found.meeting_rooms || [];
  const rows = list.map((r) => {
    const id = `admin-room-${r.meeting_room_id}`;
    return h('tr', {},
      h('th', { scope: 'row', id }, r.meetingroom_name),
      h('td', {}, r.meeting_number),
      h('td', {}, r.meeting_password || 'none'),
      h('td', {}, r.owner_name),
      h('td', { class: 'row-actions' }, h('a', { href: `#/admin/rooms/${encodeURIComponent(r.meeting_room_id)}`, 'aria-describedby': id }, 'Edit'), ' ',
        confirmButton('Delete', 'Really delete?', async () => {
        if (await app.attempt(() => api.del(`/api/v1/meeting_room/${encodeURIComponent(r.meeting_room_id)}`))) {
          app.status(`Deleted the room ${r.meetingroom_name}.`);
          app.go('#/admin/rooms');
        }
      }, id)));
  });
  const name = h('input', { id: 'new-room-name', type: 'text', maxlength: '128' });
  const number = h('input', { id: 'new-room-number', type: 'text', inputmode: 'numeric', maxlength: '12' });
  const password = h('input', { id: 'new-room-password', type: 'text', inputmode: 'numeric', maxlength: '16' });
  const button = h('button', { type: 'submit', class: 'primary', id: 'create-room' }, 'Create the room');
  const form = h('form', { id: 'new-room-form', novalidate: true },
    h('fieldset', {}, h('legend', {}, 'New room'),
      field('Name', name), field('Number (optional)', number, '6 to 12 digits; one is chosen when left empty.'),
      field('Password (optional)', password, '4 to 16 digits.'), button));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { meetingroom_name: name.value.trim() };
    if (number.value.trim()) body.meeting_number = number.value.trim();
    if (password.value.trim()) body.meeting_password = password.value.trim();
    button.disabled = true;
    const ok = await app.attempt(() => api.post('/api/v1/meeting_room', body));
    button.disabled = false;
    if (ok) {
      app.status(`Created the room ${body.meetingroom_name}.`);
      app.go('#/admin/rooms');
    }
  });
  return frame(app, 'rooms', 'Rooms',
    rows.length ? table(`Rooms (${found.total_size})`, ['Name', 'Number', 'Password', 'Owner', ''], rows, 'rooms-table')
      : h('p', { class: 'empty' }, 'The company has no rooms.'),
    form);
}

export async function editRoom(app, roomId) {
  const [r, people] = await Promise.all([
    api.get(`/api/v1/meeting_room/${encodeURIComponent(roomId)}`),
    api.get(`/api/v1/user/public/users${api.query({ page_size: 500 })}`),
  ]);
  const users = people.users || [];
  if (!users.some((u) => u.user_id === r.owner_id)) users.unshift({ user_id: r.owner_id, username: r.owner_name, real_name: '' });
  const name = h('input', { id: 'edit-room-name', type: 'text', value: r.meetingroom_name, maxlength: '128' });
  const password = h('input', { id: 'edit-room-password', type: 'text', inputmode: 'numeric', maxlength: '16', value: r.meeting_password });
  const owner = select('edit-room-owner', users.map((u) => [u.user_id, u.real_name ? `${u.real_name} (${u.username})` : u.username]), r.owner_id);
  const save = h('button', { type: 'submit', class: 'primary', id: 'save-room' }, 'Save');
  const form = h('form', { id: 'edit-room-form', novalidate: true },
    field('Name', name), field('Password', password, '4 to 16 digits; empty for none.'), field('Owner', owner), save);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    save.disabled = true;
    const ok = await app.attempt(() => api.post(`/api/v1/meeting_room/${encodeURIComponent(roomId)}`, {
      meetingroom_name: name.value.trim(), meeting_password: password.value.trim() || null, owner_id: owner.value,
    }));
    save.disabled = false;
    if (ok) {
      app.status(`Saved the room ${name.value.trim()}.`);
      app.go('#/admin/rooms');
    }
  });
  return frame(app, 'rooms', `Room ${r.meetingroom_name}`,
    h('p', {}, h('a', { href: '#/admin/rooms' }, 'Back to the rooms')),
    h('dl', { class: 'facts' }, h('dt', {}, 'Number'), h('dd', {}, r.meeting_number),
      h('dt', {}, 'Created'), h('dd', {}, `${formatDateTime(r.created_time)} by ${r.creator_name}`)),
    form);
}

// --- running meetings ----------------------------------------------------------------------

export async function running(app) {
  const found = await api.get('/api/v1/meeting');
  const list = found.meetings || [];
  const details = await Promise.all(list.map((m) => api.get(`/api/v1/meeting/${encodeURIComponent(m.meeting_number)}`).catch(() => null)));
  const reload = () => app.go('#/admin/running');
  // One control: the FRTC Meeting Control call, said in words, then the page drawn again.
  const control = (label, attrs, work, done) => h('button', {
    type: 'button',
    ...attrs,
    onclick: async () => {
      if (await app.attempt(work)) {
        app.status(done);
        reload();
      }
    },
  }, label);
  const cards = list.map((m, i) => {
    const d = details[i];
    const n = encodeURIComponent(m.meeting_number);
    const id = `running-${m.meeting_number}`;
    const q = new URLSearchParams({ name: app.displayName() });
    if (d && d.meeting_password) q.set('password', d.meeting_password);
    const people = d ? d.participants : [];
    const row = (p) => {
      const who = `${id}-${p.client_uuid}`;
      const one = { participants: [p.client_uuid] };
      return h('tr', {},
        h('th', { scope: 'row', id: who }, p.name, p.lecture ? ' (lecturer)' : ''),
        h('td', {}, { USER: 'Signed in', GUEST: 'Guest', GATEWAY: 'Gateway' }[p.type] || p.type),
        h('td', {}, DEVICES[p.device_type] || p.device_type),
        h('td', {}, p.mute_audio ? 'Muted' : 'On'),
        h('td', {}, formatDateTime(p.join_time)),
        h('td', { class: 'row-actions' },
          p.mute_audio
            ? control('Unmute', { 'aria-describedby': who }, () => api.post(`/api/v1/meeting/${n}/unmute`, one), `Unmuted ${p.name}.`)
            : control('Mute', { 'aria-describedby': who }, () => api.post(`/api/v1/meeting/${n}/mute`, { ...one, allow_self_unmute: true }), `Muted ${p.name}.`),
          ' ',
          control('Disconnect', { class: 'danger', 'aria-describedby': who }, () => api.post(`/api/v1/meeting/${n}/disconnect`, one), `Disconnected ${p.name}.`)));
    };
    return h('li', { class: 'card running-meeting', dataset: { number: m.meeting_number } },
      h('h2', { id, class: 'meeting-name' }, m.meeting_name),
      h('p', { class: 'meta' }, `Number ${m.meeting_number} · Host ${m.owner_name} · Since ${formatDateTime(m.start_time)}`,
        m.locked ? ' · Locked' : '', d && d.recording ? ' · Recording' : '', d && d.live ? ' · Live' : ''),
      people.length
        ? table(`Participants (${people.length})`, ['Name', 'Kind', 'Device', 'Audio', 'Joined', ''], people.map(row))
        : h('p', { class: 'empty' }, 'Nobody is in it now.'),
      h('div', { class: 'actions' },
        h('a', { class: 'button primary', href: `/join/${n}?${q}`, 'aria-describedby': id }, 'Open with host controls'),
        m.locked
          ? control('Unlock', { 'aria-describedby': id }, () => api.del(`/api/v1/meeting/${n}/lock`), `Unlocked ${m.meeting_name}: people can join again.`)
          : control('Lock', { 'aria-describedby': id }, () => api.post(`/api/v1/meeting/${n}/lock`), `Locked ${m.meeting_name}: nobody new can join.`),
        control('Mute everyone', { 'aria-describedby': id }, () => api.post(`/api/v1/meeting/${n}/mute_all`, { allow_self_unmute: true }), `Muted everyone in ${m.meeting_name}; they may unmute themselves.`),
        confirmButton('End the meeting', 'Really end it for everyone?', async () => {
          if (await app.attempt(() => api.post(`/api/v1/meeting/${n}/stop`, {}))) {
            app.status(`Ended ${m.meeting_name}.`);
            reload();
          }
        }, id)));
  });
  return frame(app, 'running', 'Running meetings',
    h('p', { class: 'hint' }, 'The meetings someone is in now, with the main controls. Every control (lecturer, pins, layout, overlay, recording, live) is in the join page: "Open with host controls".'),
    h('div', { class: 'actions' }, h('button', { type: 'button', id: 'refresh-running', onclick: reload }, 'Refresh')),
    cards.length ? h('ul', { class: 'cards', id: 'running-list' }, cards) : h('p', { class: 'empty' }, 'No meeting is running.'));
}

// --- company and licence -------------------------------------------------------------------

export async function company(app) {
  const [c, capacity, version] = await Promise.all([
    api.get('/api/v1/company'),
    api.get('/api/v1/system/capacity'),
    api.get('/api/v1/system/version').catch(() => null),
  ]);
  const sys = capacity.system || {};
  const meter = (id, label, used, max) => h('div', { class: 'field' },
    h('label', { for: id }, `${label}: ${used} of ${max}`),
    h('meter', { id, min: '0', max: String(Math.max(max, 1)), value: String(used) }));
  return frame(app, 'company', 'Company and licence',
    h('dl', { class: 'facts', id: 'company-facts' },
      h('dt', {}, 'Name'), h('dd', {}, c.name),
      h('dt', {}, 'Time zone'), h('dd', {}, c.time_zone),
      h('dt', {}, 'Licensed users'), h('dd', {}, String(c.max_users)),
      h('dt', {}, 'Created'), h('dd', {}, formatDateTime(c.created_time)),
      version ? h('dt', {}, 'Server version') : null, version ? h('dd', {}, version.version) : null),
    h('h2', {}, 'Licence use'),
    meter('capacity-users', 'Users of the company', sys.current_users || 0, sys.max_users || 0),
    meter('capacity-calls', 'Participants in meetings now, on the whole server', sys.current_calls || 0, sys.max_calls || 0),
    companySettings(app, c));
}

/// The company's settings: name and time zone for its administrators, the licence too for a
/// platform operator (POST /api/v1/companies/{id}; the server decides either way).
function companySettings(app, c) {
  const operator = !!app.session.platform_operator;
  const name = h('input', { id: 'company-name', type: 'text', value: c.name, maxlength: '128', autocomplete: 'organization' });
  const zone = h('input', { id: 'company-time-zone', type: 'text', value: c.time_zone, maxlength: '64', list: 'company-zones' });
  const zones = h('datalist', { id: 'company-zones' },
    (Intl.supportedValuesOf ? Intl.supportedValuesOf('timeZone') : []).map((z) => h('option', { value: z })));
  const licence = operator
    ? h('input', { id: 'company-max-users', type: 'number', min: '1', step: '1', value: String(c.max_users) })
    : null;
  const save = h('button', { type: 'submit', class: 'primary', id: 'save-company' }, 'Save the settings');
  const form = h('form', { id: 'company-form', novalidate: true },
    h('fieldset', {}, h('legend', {}, 'Settings'),
      field('Name', name),
      field('Time zone', zone, 'An IANA time zone, such as Europe/Berlin: the default of new meetings and of the vendor surfaces\' local times.'),
      zones,
      licence ? field('Licensed users', licence, 'Not fewer than the users the company has.') : null,
      save),
    operator ? null : h('p', { class: 'hint' }, 'The licence is set by the platform operator.'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = {};
    if (name.value.trim() !== c.name) body.name = name.value.trim();
    if (zone.value.trim() !== c.time_zone) body.time_zone = zone.value.trim();
    if (licence && Number(licence.value) !== c.max_users) body.max_users = Number(licence.value);
    if (!Object.keys(body).length) {
      app.status('Nothing changed.');
      return;
    }
    save.disabled = true;
    const ok = await app.attempt(() => api.post(`/api/v1/companies/${encodeURIComponent(c.company_id)}`, body));
    save.disabled = false;
    if (ok) {
      app.status('Saved the company\'s settings.');
      app.go('#/admin/company');
    }
  });
  return form;
}

// --- API keys and Huawei apps --------------------------------------------------------------

/// Draws a view again in place, with the focus on `focusId` (a secret just shown).
function redraw(view, focusId) {
  const container = document.getElementById('view');
  fill(container, view);
  const target = document.getElementById(focusId);
  if (target) target.focus();
}

const secretOf = (made) => (made.app_key
  ? h('p', {}, 'App id: ', h('code', { id: 'new-app-id' }, made.app_id))
  : null);

export async function keys(app, made) {
  const found = await api.get('/api/v1/api_keys');
  const out = h('div', { id: 'key-secret' });
  if (made) {
    fill(out, secretOf(made), made.app_key
      ? shownOnce(app, 'new-secret', `App key of ${made.name}`, made.app_key)
      : shownOnce(app, 'new-secret', `API key ${made.name}`, made.api_key));
  }
  const rows = (found.api_keys || []).map((k) => {
    const id = `key-${k.api_key_id}`;
    return h('tr', { dataset: { key: k.name } },
      h('th', { scope: 'row', id }, k.name),
      h('td', {}, k.kind === 'huawei_app' ? `Huawei app ${k.app_id || ''}` : 'API key'),
      h('td', {}, h('code', {}, `${k.prefix}…`)),
      h('td', {}, formatDateTime(k.created_time)),
      h('td', {}, k.revoked_time ? `Revoked ${formatDateTime(k.revoked_time)}`
        : confirmButton('Revoke', 'Really revoke?', async () => {
          if (await app.attempt(() => api.del(`/api/v1/api_keys/${encodeURIComponent(k.api_key_id)}`))) {
            app.status(`Revoked ${k.name}: it and the tokens made with it stop working now.`);
            app.go('#/admin/keys');
          }
        }, id)));
  });
  const name = h('input', { id: 'new-key-name', type: 'text', maxlength: '128' });
  const kind = select('new-key-kind', [['api_key', 'API key (Rokid, Telnyx)'], ['huawei_app', 'Huawei app (app id and app key)']], 'api_key');
  const button = h('button', { type: 'submit', class: 'primary', id: 'create-key' }, 'Create');
  const form = h('form', { id: 'new-key-form', novalidate: true },
    h('fieldset', {}, h('legend', {}, 'New key'), field('What it is for', name), field('Kind', kind), button));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!name.value.trim()) {
      app.alert('Say what the key is for.');
      name.focus();
      return;
    }
    button.disabled = true;
    let created;
    let view;
    const ok = await app.attempt(async () => {
      created = await api.post('/api/v1/api_keys', { name: name.value.trim(), kind: kind.value });
      view = await keys(app, created);
    });
    button.disabled = false;
    if (!ok) return;
    redraw(view, 'new-secret');
    app.status(`Created ${created.name}. Copy its secret now: it is shown this once.`);
  });
  return frame(app, 'keys', 'API keys and Huawei apps',
    h('p', { class: 'hint' }, 'Integrations read the company\'s meeting record with these (docs: the history surfaces).'),
    form, out,
    rows.length ? table('Keys', ['Name', 'Kind', 'Starts with', 'Created', ''], rows, 'keys-table')
      : h('p', { class: 'empty' }, 'No keys yet.'));
}

// --- history import ------------------------------------------------------------------------

export function importPage(app) {
  const file = h('input', { id: 'import-file', type: 'file', accept: '.jsonl,.ndjson,.json,application/x-ndjson,text/plain' });
  const button = h('button', { type: 'submit', class: 'primary', id: 'import-button' }, 'Import');
  const out = h('div', { id: 'import-result', 'aria-live': 'polite' });
  const form = h('form', { id: 'import-form', novalidate: true },
    field('History file (JSON lines)', file, 'Rooms, sessions, attendance and recordings, one JSON object per line. All of the file is imported, or nothing. At most 32 MiB.'),
    button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const chosen = file.files && file.files[0];
    if (!chosen) {
      app.alert('Choose a file to import.');
      file.focus();
      return;
    }
    button.disabled = true;
    fill(out);
    app.status(`Importing ${chosen.name}…`);
    let answer;
    const ok = await app.attempt(async () => {
      const text = await chosen.text();
      answer = await api.call('POST', '/api/v1/history/import', text, { raw: true, contentType: 'application/x-ndjson' });
    });
    button.disabled = false;
    if (!ok) {
      app.status(`Nothing of ${chosen.name} was imported.`);
      return;
    }
    app.status(`Imported ${chosen.name}.`);
    fill(out, h('h2', {}, 'Imported'),
      h('dl', { class: 'facts', id: 'import-counts' },
        ['rooms', 'sessions', 'attendance', 'recordings', 'unchanged'].flatMap((k) => [
          h('dt', {}, { rooms: 'Rooms', sessions: 'Meetings (sessions)', attendance: 'Stays (attendance)', recordings: 'Recordings', unchanged: 'Already there, unchanged' }[k]),
          h('dd', { dataset: { count: k } }, String(answer[k])),
        ])));
  });
  return frame(app, 'import', 'Import meeting history',
    h('p', { class: 'hint' }, 'Brings another system\'s meeting record into this company. Importing the same file again changes nothing.'),
    form, out);
}

// --- webhooks ------------------------------------------------------------------------------

export async function webhooks(app, made) {
  const found = await api.get('/api/v1/webhooks');
  const out = h('div', { id: 'webhook-secret' });
  if (made) fill(out, shownOnce(app, 'webhook-secret-value', `Secret of ${made.url}`, made.secret));
  const log = h('div', { id: 'delivery-log' });
  const showSecret = (label, secret) => {
    fill(out, shownOnce(app, 'webhook-secret-value', label, secret));
    out.querySelector('input').focus();
  };
  const deliveries = async (w) => {
    let answer;
    if (!await app.attempt(async () => {
      answer = await api.get(`/api/v1/webhooks/${encodeURIComponent(w.webhook_id)}/deliveries${api.query({ limit: 50 })}`);
    })) return;
    const items = answer.deliveries || [];
    fill(log, h('h2', { id: 'delivery-heading', tabindex: '-1' }, `Deliveries to ${w.url}`),
      items.length ? table('The most recent attempts, newest first', ['Event', 'Attempt', 'When', 'Result', ''], items.map((d) => h('tr', {},
        h('th', { scope: 'row' }, d.event_type),
        h('td', {}, String(d.attempt)),
        h('td', {}, formatDateTime(d.time)),
        h('td', {}, d.status === 'delivered' ? `Delivered (${d.response_code})` : `Failed: ${d.error || `answer ${d.response_code}`}`),
        h('td', {}, h('button', {
          type: 'button',
          onclick: async () => {
            if (await app.attempt(() => api.post(`/api/v1/webhooks/${encodeURIComponent(w.webhook_id)}/replay`, { event_id: d.event_id }))) {
              app.status(`The ${d.event_type} event is being sent again.`);
            }
          },
        }, 'Send again')))), 'deliveries-table')
        : h('p', { class: 'empty' }, 'Nothing delivered yet.'));
    log.querySelector('h2').focus();
  };
  const rows = (found.webhooks || []).map((w) => {
    const id = `webhook-${w.webhook_id}`;
    return h('li', { class: 'card', dataset: { webhook: w.url } },
      h('h3', { id }, w.url),
      h('p', { class: 'meta' }, w.status === 'failing' ? `Failing since ${formatDateTime(w.failing_since)}` : 'Active',
        ` · ${w.all_event_types ? 'Every event' : w.event_types.join(', ')}`, w.description ? ` · ${w.description}` : ''),
      h('div', { class: 'actions' },
        h('button', { type: 'button', 'aria-describedby': id, onclick: () => deliveries(w) }, 'Delivery log'),
        h('button', {
          type: 'button',
          'aria-describedby': id,
          onclick: async () => {
            const since = Date.now() - 24 * 3600 * 1000;
            let answer;
            if (await app.attempt(async () => { answer = await api.post(`/api/v1/webhooks/${encodeURIComponent(w.webhook_id)}/replay`, { since }); })) {
              app.status(answer.replayed === 1
                ? `Sending again 1 event of the last 24 hours to ${w.url}.`
                : `Sending again ${answer.replayed} events of the last 24 hours to ${w.url}.`);
            }
          },
        }, 'Replay the last day'),
        confirmButton('New secret', 'Really replace the secret?', async () => {
          let answer;
          if (await app.attempt(async () => { answer = await api.post(`/api/v1/webhooks/${encodeURIComponent(w.webhook_id)}/secret`); })) {
            showSecret(`New secret of ${w.url}`, answer.secret);
            app.status('The secret is replaced: every attempt from now on is signed with the new one.');
          }
        }, id),
        confirmButton('Delete', 'Really delete?', async () => {
          if (await app.attempt(() => api.del(`/api/v1/webhooks/${encodeURIComponent(w.webhook_id)}`))) {
            app.status(`Deleted the webhook ${w.url}.`);
            app.go('#/admin/webhooks');
          }
        }, id)));
  });
  const url = h('input', { id: 'new-webhook-url', type: 'url', spellcheck: 'false' });
  const types = h('input', { id: 'new-webhook-types', type: 'text', spellcheck: 'false' });
  const description = h('input', { id: 'new-webhook-description', type: 'text' });
  const button = h('button', { type: 'submit', class: 'primary', id: 'create-webhook' }, 'Add the endpoint');
  const form = h('form', { id: 'new-webhook-form', novalidate: true },
    h('fieldset', {}, h('legend', {}, 'New endpoint'),
      field('Address', url, 'An http or https address on the internet, where the receiver listens.'),
      field('Event types (optional)', types, 'Separated by commas, e.g. meeting.started, participant.joined. Empty: every event.'),
      field('Description (optional)', description), button));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { url: url.value.trim() };
    const list = types.value.split(',').map((t) => t.trim()).filter(Boolean);
    if (list.length) body.event_types = list;
    if (description.value.trim()) body.description = description.value.trim();
    button.disabled = true;
    let created;
    let view;
    const ok = await app.attempt(async () => {
      created = await api.post('/api/v1/webhooks', body);
      view = await webhooks(app, created);
    });
    button.disabled = false;
    if (!ok) return;
    redraw(view, 'webhook-secret-value');
    app.status(`Added ${created.url}. Copy its secret now: it is shown this once.`);
  });
  return frame(app, 'webhooks', 'Webhooks',
    h('p', { class: 'hint' }, 'Plenum posts each event of the company to these addresses, signed with the endpoint\'s secret (Standard Webhooks).'),
    form, out,
    rows.length ? h('ul', { class: 'cards', id: 'webhook-list', 'aria-label': 'Endpoints' }, rows) : h('p', { class: 'empty' }, 'No endpoints.'),
    log);
}

// --- audit log -----------------------------------------------------------------------------

const AUDIT_PAGE = 50;

export async function audit(app, query) {
  const p = new URLSearchParams(query || '');
  const state = { page: Math.max(1, parseInt(p.get('page') || '1', 10) || 1) };
  const filters = {};
  for (const k of ['actor', 'action', 'meeting_number', 'since', 'until']) if (p.get(k)) filters[k] = p.get(k);
  const found = await api.get(`/api/v1/audit${api.query({ ...filters, page_num: state.page, page_size: AUDIT_PAGE })}`);
  const action = h('input', { id: 'audit-action', type: 'text', value: filters.action || '', spellcheck: 'false' });
  const number = h('input', { id: 'audit-meeting', type: 'text', inputmode: 'numeric', value: filters.meeting_number || '' });
  const actor = h('input', { id: 'audit-actor', type: 'text', value: filters.actor || '', spellcheck: 'false' });
  const toDate = (ms) => (ms ? new Date(+ms).toISOString().slice(0, 10) : '');
  const since = h('input', { id: 'audit-since', type: 'date', value: toDate(filters.since) });
  const until = h('input', { id: 'audit-until', type: 'date', value: toDate(filters.until) });
  const form = h('form', { id: 'audit-form', class: 'filters', novalidate: true },
    h('fieldset', {}, h('legend', {}, 'Filters'),
      field('Action', action, 'e.g. meeting.mute, user.create'),
      field('Meeting number', number),
      field('Actor (a user id, or operator)', actor),
      field('From (UTC date)', since), field('Until (UTC date, exclusive)', until),
      h('button', { type: 'submit' }, 'Show')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const q = new URLSearchParams();
    if (action.value.trim()) q.set('action', action.value.trim());
    if (number.value.trim()) q.set('meeting_number', number.value.trim());
    if (actor.value.trim()) q.set('actor', actor.value.trim());
    if (since.value) q.set('since', String(Date.parse(`${since.value}T00:00:00Z`)));
    if (until.value) q.set('until', String(Date.parse(`${until.value}T00:00:00Z`)));
    const s = q.toString();
    location.hash = s ? `#/admin/audit?${s}` : '#/admin/audit';
  });
  const base = `#/admin/audit${Object.keys(filters).length ? `?${new URLSearchParams(filters)}` : ''}`;
  const pageHash = (n) => `${base}${base.includes('?') ? '&' : '?'}page=${n}`;
  const entries = found.entries || [];
  const total = found.total_page_num || 0;
  return frame(app, 'audit', 'Audit log',
    h('p', { class: 'hint' }, 'What hosts and administrators did, newest first.'),
    form,
    entries.length ? table(`Entries (${found.total_size})`, ['When', 'Who', 'Action', 'On', 'Details'], entries.map((e) => h('tr', {},
      h('td', {}, formatDateTime(e.time)),
      h('td', {}, e.actor.name, e.address ? ` (${e.address})` : ''),
      h('th', { scope: 'row' }, e.action),
      h('td', {}, e.meeting_number ? `${e.target} (meeting ${e.meeting_number})` : e.target),
      h('td', {}, h('code', {}, JSON.stringify(e.details))))), 'audit-table')
      : h('p', { class: 'empty' }, 'No entries match.'),
    total > 1 ? h('nav', { class: 'pager', 'aria-label': 'Pages of the audit log' },
      state.page > 1 ? h('a', { class: 'button', href: pageHash(state.page - 1) }, 'Previous page') : null,
      h('p', { class: 'meta' }, `Page ${state.page} of ${total}`),
      state.page < total ? h('a', { class: 'button', href: pageHash(state.page + 1) }, 'Next page') : null) : null);
}

// --- companies (the platform operator) -----------------------------------------------------

export async function companies(app) {
  const found = await api.get('/api/v1/companies');
  const list = found.companies || [];
  const name = h('input', { id: 'new-company-name', type: 'text' });
  const zone = h('input', { id: 'new-company-zone', type: 'text', value: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC', spellcheck: 'false' });
  const maxUsers = h('input', { id: 'new-company-max-users', type: 'number', min: '1' });
  const admin = h('input', { id: 'new-company-admin', type: 'text', autocapitalize: 'none', spellcheck: 'false' });
  const adminName = h('input', { id: 'new-company-admin-name', type: 'text' });
  const password = h('input', { id: 'new-company-password', type: 'password', autocomplete: 'new-password' });
  const button = h('button', { type: 'submit', class: 'primary', id: 'create-company' }, 'Create the company');
  const form = h('form', { id: 'new-company-form', novalidate: true },
    h('fieldset', {}, h('legend', {}, 'New company'),
      field('Name', name), field('Time zone', zone, 'An IANA name, e.g. Europe/Berlin.'),
      field('Licensed users (optional)', maxUsers)),
    h('fieldset', {}, h('legend', {}, 'Its first administrator'),
      field('Username', admin), field('Name', adminName), field('Password', password)),
    button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = {
      name: name.value.trim(), time_zone: zone.value.trim(),
      admin: { username: admin.value.trim(), real_name: adminName.value.trim(), password: password.value },
    };
    if (maxUsers.value) body.max_users = Number(maxUsers.value);
    button.disabled = true;
    const ok = await app.attempt(() => api.post('/api/v1/companies', body));
    button.disabled = false;
    if (ok) {
      app.status(`Created the company ${body.name} and its administrator ${body.admin.username}.`);
      app.go('#/admin/companies');
    }
  });
  return frame(app, 'companies', 'Companies',
    list.length ? table('Companies', ['Name', 'Time zone', 'Licensed users', 'Created'], list.map((c) => h('tr', {},
      h('th', { scope: 'row' }, c.name, c.is_default ? ' (this installation\'s own)' : ''),
      h('td', {}, c.time_zone), h('td', {}, String(c.max_users)), h('td', {}, formatDateTime(c.created_time)))), 'companies-table')
      : h('p', { class: 'empty' }, 'No companies.'),
    form);
}

/// `#/admin`: where to go.
export function index(app) {
  return frame(app, '', 'Administration',
    h('p', {}, 'Choose what to manage.'),
    h('ul', {}, SECTIONS.filter((s) => !s.operator || app.session.platform_operator).map((s) => h('li', {}, h('a', { href: `#/admin/${s.path}` }, s.title)))));
}


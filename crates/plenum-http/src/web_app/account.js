// The member's account: who they are (the session), their password (`POST
// /api/v1/user/password`) and their calendar feed (`POST /api/v1/user/calendar_feed`).

import * as api from './api.js';
import { field, fill, h, heading } from './dom.js';

function passwordForm(app) {
  const current = h('input', { id: 'current-password', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { id: 'new-password', type: 'password', autocomplete: 'new-password', required: true, minlength: '8' });
  const again = h('input', { id: 'repeat-password', type: 'password', autocomplete: 'new-password', required: true });
  const button = h('button', { type: 'submit', id: 'change-password', class: 'primary' }, 'Change password');
  const form = h('form', { id: 'password-form', novalidate: true },
    field('Current password', current),
    field('New password', next, 'At least 8 characters.'),
    field('New password again', again),
    button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!current.value || !next.value) {
      app.alert('Enter your current password and the new one.');
      (current.value ? next : current).focus();
      return;
    }
    if (next.value !== again.value) {
      app.alert('The new password and its repetition differ.');
      again.focus();
      return;
    }
    button.disabled = true;
    const ok = await app.attempt(() => api.post('/api/v1/user/password', {
      password_old: current.value,
      password_new: next.value,
    }));
    button.disabled = false;
    if (ok) {
      form.reset();
      app.status('Your password is changed. Your other sessions have ended; this one goes on.');
    }
  });
  return form;
}

function calendarFeed(app) {
  const out = h('div', { id: 'feed-result' });
  const button = h('button', { type: 'button', id: 'make-feed' }, 'Make my calendar address');
  button.addEventListener('click', async () => {
    let answer;
    const ok = await app.attempt(async () => {
      answer = await api.post('/api/v1/user/calendar_feed');
    });
    if (!ok) return;
    const url = answer.calendar_url;
    const input = h('input', { id: 'feed-url', type: 'text', readonly: true, value: url });
    const webcal = url.replace(/^https?:/, 'webcal:');
    fill(out,
      field('Your calendar address', input, 'Shown once. Making a new one stops this one working.'),
      h('div', { class: 'actions' },
        h('a', { class: 'button', href: webcal, id: 'feed-subscribe' }, 'Subscribe in my calendar app'),
        h('button', {
          type: 'button',
          onclick: async () => {
            try {
              await navigator.clipboard.writeText(url);
              app.status('Copied your calendar address.');
            } catch {
              input.select();
              app.status('Copy the selected address.');
            }
          },
        }, 'Copy the address')));
    app.status('Your new calendar address is below. Any earlier one no longer works.');
    input.focus();
  });
  return h('div', {},
    h('p', {}, 'Calendar apps (Outlook, Apple Calendar, Google Calendar, Thunderbird) can subscribe to an address that lists the meetings you host or are invited to, and keep them up to date.'),
    button,
    out);
}

export function page(app) {
  const s = app.session;
  return h('section', {},
    heading('Your account'),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Username'), h('dd', { id: 'account-username' }, s.username),
      h('dt', {}, 'Name'), h('dd', {}, s.real_name || '—'),
      h('dt', {}, 'Email'), h('dd', {}, s.email || '—'),
      h('dt', {}, 'Role'), h('dd', {}, s.role.join(', '))),
    h('section', { 'aria-labelledby': 'password-heading' },
      h('h2', { id: 'password-heading' }, 'Change your password'),
      passwordForm(app)),
    h('section', { 'aria-labelledby': 'feed-heading' },
      h('h2', { id: 'feed-heading' }, 'Your meetings in your calendar'),
      calendarFeed(app)));
}

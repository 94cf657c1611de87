// The app's frame: the session (sign-in, sign-out), the theme, and the views, addressed by
// the URL's fragment (#/meetings, #/week, #/rooms, #/account, #/meetings/new, ...).

import * as api from './api.js';
import { fill, h } from './dom.js';
import * as meetings from './meetings.js';
import * as editor from './editor.js';
import * as rooms from './rooms.js';
import * as account from './account.js';

const $ = (id) => document.getElementById(id);

const app = {
  session: null,
  status(text) {
    $('status').textContent = text || '';
  },
  alert(text) {
    const el = $('alert');
    el.textContent = text || '';
    el.hidden = !text;
  },
  /// Runs `work`, showing any error in words; answers whether it succeeded.
  async attempt(work) {
    app.alert('');
    try {
      await work();
      return true;
    } catch (error) {
      app.alert(error instanceof api.ApiError ? error.message : `Something went wrong in the page: ${error && error.message ? error.message : error}`);
      return false;
    }
  },
  go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  isManager() {
    const role = app.session && app.session.role ? app.session.role[0] : '';
    return role === 'SystemAdmin' || role === 'MeetingOperator';
  },
  displayName() {
    const s = app.session || {};
    return s.real_name || s.username || '';
  },
};

// --- theme -------------------------------------------------------------------------------------

const THEME_KEY = 'plenum-theme';

function systemDark() {
  return window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches;
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
  // Only the look is kept in storage; the session never is.
  try { localStorage.setItem(THEME_KEY, dark ? 'light' : 'dark'); } catch { /* private mode */ }
  applyTheme();
}

// --- session -----------------------------------------------------------------------------------

function showSignedIn() {
  $('sign-in').hidden = true;
  $('nav').hidden = false;
  $('who').hidden = false;
  $('who').textContent = `Signed in as ${app.displayName()}`;
  $('sign-out').hidden = false;
}

function showSignIn(message) {
  app.session = null;
  api.setCsrf('');
  fill($('view'));
  $('nav').hidden = true;
  $('who').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
  app.alert(message || '');
  document.title = 'Sign in · Plenum';
  $('sign-in-heading').focus();
}

async function signIn(event) {
  event.preventDefault();
  const username = $('username').value.trim();
  const password = $('password').value;
  if (!username || !password) {
    app.alert('Enter your username and your password.');
    (username ? $('password') : $('username')).focus();
    return;
  }
  $('sign-in-button').disabled = true;
  app.status('Signing in…');
  const ok = await app.attempt(async () => {
    const session = await api.call('POST', '/api/v1/user/session', { username, password });
    start(session);
  });
  $('sign-in-button').disabled = false;
  if (ok) {
    $('password').value = '';
  } else {
    app.status('');
    $('password').focus();
  }
}

async function signOut() {
  app.status('Signing out…');
  const ok = await app.attempt(() => api.del('/api/v1/user/session'));
  if (ok) {
    showSignIn('');
    app.status('You are signed out.');
  }
}

function start(session) {
  app.session = session;
  api.setCsrf(session.csrf_token);
  showSignedIn();
  app.status(`Signed in as ${app.displayName()}.`);
  route();
}

// --- views -------------------------------------------------------------------------------------

const VIEWS = [
  { pattern: /^#\/week(?:\/(\d{4}-\d{2}-\d{2}))?$/, nav: 'nav-week', view: (m) => meetings.week(app, m[1]) },
  { pattern: /^#\/meetings\/new$/, nav: 'nav-meetings', view: () => editor.create(app) },
  { pattern: /^#\/meetings\/([^/]+)\/edit$/, nav: 'nav-meetings', view: (m) => editor.editMeeting(app, decodeURIComponent(m[1])) },
  { pattern: /^#\/series\/([^/]+)\/edit$/, nav: 'nav-meetings', view: (m) => editor.editSeries(app, decodeURIComponent(m[1])) },
  { pattern: /^#\/rooms$/, nav: 'nav-rooms', view: () => rooms.list(app) },
  { pattern: /^#\/account$/, nav: 'nav-account', view: () => account.page(app) },
  { pattern: /^(?:#\/meetings)?$|^#\/?$/, nav: 'nav-meetings', view: () => meetings.upcoming(app) },
];

let rendering = 0;

async function route() {
  if (!app.session) return;
  const hash = location.hash || '#/meetings';
  const found = VIEWS.find((v) => v.pattern.test(hash));
  for (const link of document.querySelectorAll('#nav a')) link.removeAttribute('aria-current');
  const container = $('view');
  if (!found) {
    fill(container, h('h1', { tabindex: '-1', class: 'view-heading' }, 'Not found'),
      h('p', {}, 'There is no such page. ', h('a', { href: '#/meetings' }, 'Go to your meetings.')));
    container.querySelector('h1').focus();
    return;
  }
  $(found.nav).setAttribute('aria-current', 'page');
  const mine = ++rendering;
  app.alert('');
  let view;
  try {
    view = await found.view(hash.match(found.pattern));
  } catch (error) {
    if (mine !== rendering || !app.session) return;
    view = h('div', {},
      h('h1', { tabindex: '-1', class: 'view-heading' }, 'This page could not be shown'),
      h('p', {}, error instanceof api.ApiError ? error.message : String(error)));
  }
  if (mine !== rendering || !app.session) return;
  fill(container, view);
  const heading = container.querySelector('.view-heading');
  document.title = `${heading ? heading.textContent : 'Plenum'} · Plenum`;
  if (heading) heading.focus();
}

api.whenSessionEnds((error) => {
  if (app.session) showSignIn(error.message);
});

async function boot() {
  applyTheme();
  if (window.matchMedia) {
    window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', applyTheme);
  }
  $('theme-toggle').addEventListener('click', toggleTheme);
  $('sign-in-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', signOut);
  window.addEventListener('hashchange', route);
  try {
    start(await api.get('/api/v1/user/session'));
  } catch (error) {
    const quiet = error instanceof api.ApiError && error.status === 401;
    showSignIn(quiet ? '' : error.message);
  }
  window.plenumApp = Object.freeze({
    ready: true,
    signedIn: () => !!app.session,
    role: () => (app.session ? app.session.role[0] : null),
  });
}

boot();

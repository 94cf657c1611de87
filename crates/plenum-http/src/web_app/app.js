// The app's frame: the session (sign-in, sign-out), the theme, and the views, addressed by
// the URL's fragment (#/meetings, #/week, #/rooms, #/account, #/meetings/new, ...).

import * as api from './api.js';
import { fill, h } from './dom.js';
import * as meetings from './meetings.js';
import * as editor from './editor.js';
import * as rooms from './rooms.js';
import * as account from './account.js';
import * as history from './history.js';
import * as admin from './admin.js';

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
  const toggle = $('theme-toggle');
  toggle.setAttribute('aria-pressed', String(dark));
  // The name stays "Dark theme" (a toggle's state is its pressed state); what it is now, and
  // whether that comes from the system's preference, is said next to it.
  $('theme-state').textContent = `${dark ? 'on' : 'off'}${chosen ? '' : ', as the system'}`;
  toggle.title = dark
    ? (chosen ? 'The dark theme is on. Press for the light theme.' : 'The dark theme is on, as your system prefers. Press for the light theme.')
    : (chosen ? 'The light theme is on. Press for the dark theme.' : 'The light theme is on, as your system prefers. Press for the dark theme.');
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
  $('nav-admin-item').hidden = !admin.isAdmin(app);
}

function showSignIn(message) {
  app.session = null;
  api.setCsrf('');
  fill($('view'));
  $('nav').hidden = true;
  $('nav-admin-item').hidden = true;
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
  { pattern: /^#\/history(?:\?(.*))?$/, nav: 'nav-history', view: (m) => history.page(app, m[1]) },
  { pattern: /^#\/admin\/?$/, nav: 'nav-admin', admin: true, view: () => admin.index(app) },
  { pattern: /^#\/admin\/users(?:\?(.*))?$/, nav: 'nav-admin', admin: true, view: (m) => admin.users(app, m[1]) },
  { pattern: /^#\/admin\/users\/([^/?]+)$/, nav: 'nav-admin', admin: true, view: (m) => admin.editUser(app, decodeURIComponent(m[1])) },
  { pattern: /^#\/admin\/rooms$/, nav: 'nav-admin', admin: true, view: () => admin.rooms(app) },
  { pattern: /^#\/admin\/rooms\/([^/?]+)$/, nav: 'nav-admin', admin: true, view: (m) => admin.editRoom(app, decodeURIComponent(m[1])) },
  { pattern: /^#\/admin\/running$/, nav: 'nav-admin', admin: true, view: () => admin.running(app) },
  { pattern: /^#\/admin\/company$/, nav: 'nav-admin', admin: true, view: () => admin.company(app) },
  { pattern: /^#\/admin\/keys$/, nav: 'nav-admin', admin: true, view: () => admin.keys(app) },
  { pattern: /^#\/admin\/import$/, nav: 'nav-admin', admin: true, view: () => admin.importPage(app) },
  { pattern: /^#\/admin\/webhooks$/, nav: 'nav-admin', admin: true, view: () => admin.webhooks(app) },
  { pattern: /^#\/admin\/audit(?:\?(.*))?$/, nav: 'nav-admin', admin: true, view: (m) => admin.audit(app, m[1]) },
  { pattern: /^#\/admin\/companies$/, nav: 'nav-admin', admin: true, view: () => admin.companies(app) },
  { pattern: /^(?:#\/meetings)?$|^#\/?$/, nav: 'nav-meetings', view: () => meetings.upcoming(app) },
];

let rendering = 0;

async function route() {
  if (!app.session) return;
  const hash = location.hash || '#/meetings';
  // The administration's pages are for SystemAdmins only (the server refuses their calls to
  // anyone else anyway): others are told so, and see no link to them.
  const found = VIEWS.find((v) => v.pattern.test(hash) && (!v.admin || admin.isAdmin(app)));
  for (const link of document.querySelectorAll('#nav a')) link.removeAttribute('aria-current');
  const container = $('view');
  if (!found) {
    const forAdmins = VIEWS.some((v) => v.admin && v.pattern.test(hash));
    fill(container, h('h1', { tabindex: '-1', class: 'view-heading' }, forAdmins ? 'For administrators only' : 'Not found'),
      h('p', {}, forAdmins ? 'This page is for the company\'s administrators. ' : 'There is no such page. ',
        h('a', { href: '#/meetings' }, 'Go to your meetings.')));
    document.title = `${forAdmins ? 'For administrators only' : 'Not found'} · Plenum`;
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

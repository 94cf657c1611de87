// The app's only way to the server: the public FRTC API, authenticated by the HttpOnly session
// cookie (sent by the browser, never seen here) and, for calls that change something, the
// session's CSRF token in `X-CSRF-Token`. Every failure becomes an ApiError whose message is
// a sentence for a person.

let csrf = '';
let onSessionEnded = () => {};

export function setCsrf(token) {
  csrf = token || '';
}

/// What to do when a call finds the session gone (expired, or ended elsewhere).
export function whenSessionEnds(callback) {
  onSessionEnded = callback;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// The codes whose server sentence a person needs said differently; others are shown as the
// server wrote them (they name the field and the rule: docs/errors.md).
const WORDS = {
  invalid_credentials: 'The username or password is wrong.',
  token_missing: 'You are not signed in. Sign in again.',
  token_invalid: 'Your session has ended. Sign in again.',
  token_expired: 'Your session has expired. Sign in again.',
  permission_denied: 'You are not allowed to do this.',
  wrong_old_secret: 'The current password is wrong.',
  schedule_not_found: 'This meeting does not exist any more, or you may not see it.',
  recurrence_not_found: 'This series does not exist any more, or you may not see it.',
  username_taken: 'This username is taken. Choose another.',
  last_system_admin: 'This is the company\'s last administrator: make someone else an administrator first.',
  session_not_found: 'This meeting does not exist, or you may not see it.',
  meeting_not_running: 'This meeting is not running any more.',
  internal_error: 'Something went wrong on the server. Try again; if it keeps happening, tell your administrator.',
};

function sentence(text) {
  const t = String(text || '').trim();
  if (!t) return '';
  // "meeting_password must be ..." keeps the field's name as the API spells it.
  const word = t.split(/\s/)[0];
  const first = word.includes('_') ? t : t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/// The words for an FRTC error body.
export function describe(status, body) {
  const code = body && typeof body.errorCode === 'string' ? body.errorCode : '';
  const said = body && typeof body.error === 'string' ? body.error : '';
  if (code === 'account_locked') {
    return `Too many failed sign-ins: this account is locked for now. ${sentence(said)}`;
  }
  if (code === 'permission_denied' && said) return `You are not allowed to do this: ${sentence(said)}`;
  if (WORDS[code]) return WORDS[code];
  if (said) return sentence(said);
  return `The server answered ${status} without saying why.`;
}

/// One call. `body` is sent as JSON. Answers the parsed JSON (or null for an empty answer).
export async function call(method, path, body, { raw = false, contentType } = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf;
  let payload;
  if (raw) {
    payload = body;
    headers['Content-Type'] = contentType || 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'network', 'The server could not be reached. Check the connection and try again.');
  }
  const text = await response.text();
  let parsed = null;
  if (text) {
    try { parsed = JSON.parse(text); } catch { parsed = null; }
  }
  if (!response.ok) {
    const code = parsed && parsed.errorCode ? parsed.errorCode : '';
    const error = new ApiError(response.status, code, describe(response.status, parsed));
    if (response.status === 401 && code.startsWith('token_')) onSessionEnded(error);
    throw error;
  }
  return parsed;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body === undefined ? {} : body);
export const del = (path) => call('DELETE', path);

/// `?a=1&b=2` of the defined values of `params`.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// Times: the API speaks milliseconds since the Unix epoch; people speak wall-clock times in a
// time zone. Only the browser's Intl is used (no time-zone database is shipped).

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/// The browser's own zone.
export function localZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/// Every zone the browser knows (for the zone picker).
export function zones() {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return [localZone(), 'UTC'];
  }
}

export function isZone(name) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const partsFormats = new Map();

/// The wall-clock fields of instant `ms` in `zone`.
function wall(ms, zone) {
  let format = partsFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    partsFormats.set(zone, format);
  }
  const parts = {};
  for (const p of format.formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    year: Number(parts.year), month: Number(parts.month), day: Number(parts.day),
    hour: Number(parts.hour) % 24, minute: Number(parts.minute), second: Number(parts.second),
  };
}

/// How far `zone`'s wall clock is ahead of UTC at instant `ms`.
function offset(ms, zone) {
  const w = wall(ms, zone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/// `YYYY-MM-DDTHH:MM` in `zone` -> milliseconds. As jiff (the server) does by default: a time a
/// daylight-saving change repeats is its earlier instant; one it skips moves on by the gap.
export function fromLocal(text, zone) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(text || '');
  if (!m) return NaN;
  const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  // The zone's offsets half a day before and after (about) that instant: a change between
  // them is the only one.
  const near = guess - offset(guess, zone);
  const before = guess - offset(near - DAY / 2, zone);
  const after = guess - offset(near + DAY / 2, zone);
  const fits = [before, after].filter((ms) => {
    const w = wall(ms, zone);
    return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) === guess;
  });
  if (fits.length) return Math.min(...fits);
  return before;
}

const pad = (n) => String(n).padStart(2, '0');

/// milliseconds -> `YYYY-MM-DDTHH:MM` in `zone` (what a datetime-local input holds).
export function toLocal(ms, zone) {
  const w = wall(ms, zone);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}`;
}

/// The last instant of the day `YYYY-MM-DD` in `zone`.
export function endOfDay(date, zone) {
  return fromLocal(`${date}T23:59`, zone) + 59_999;
}

/// Midnight (browser time) of the Monday of the week that has `ms`.
export function weekStart(ms) {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  const back = (d.getDay() + 6) % 7;
  d.setDate(d.getDate() - back);
  return d.getTime();
}

/// `ms` plus `days` calendar days (browser time: DST-safe).
export function addDays(ms, days) {
  const d = new Date(ms);
  d.setDate(d.getDate() + days);
  return d.getTime();
}

/// `YYYY-MM-DD` of `ms` in browser time.
export function isoDate(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/// Midnight (browser time) of `YYYY-MM-DD`, or NaN.
export function parseDate(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || '');
  if (!m) return NaN;
  return new Date(+m[1], +m[2] - 1, +m[3]).getTime();
}

const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit',
});
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

export const formatDay = (ms) => dayFormat.format(new Date(ms));
export const formatDateTime = (ms) => dateTimeFormat.format(new Date(ms));
export const formatTime = (ms) => timeFormat.format(new Date(ms));

/// "Tue, 3 Jun 2026, 10:00 – 11:00" (the end's date only when it differs).
export function formatSlot(start, end) {
  const sameDay = isoDate(start) === isoDate(end);
  return `${formatDateTime(start)} – ${sameDay ? formatTime(end) : formatDateTime(end)}`;
}

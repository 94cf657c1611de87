//! In-memory list indexes of the history surfaces: a company's sessions and recordings in
//! list order, trusted while their change generation holds (`generations.rs`).
//!
//! Rokid's meeting history, Rocket.Chat's calls of a room and Telnyx's recordings page by
//! number over one company's ~10,000 rows, and every answer carries its exact total. In
//! SQLite a deep page walks every skipped index entry, a name search lower-cases and tests
//! every name, a filtered total counts every match: milliseconds per request at 1,000,000
//! sessions (PostgreSQL is no better at either). Here the company's rows are held newest start first (ties: newest number), with
//! only what the filters test: a start window is two binary searches, a page is a slice, a
//! name search is one substring scan over the folded names, and the other filters test
//! compact columns. Only the rows of the page are read from the database, in the same read
//! transaction as the generation the index was checked against, so page and total describe
//! the same snapshot.
//!
//! What is not indexed does not move the generation: a running meeting's end, last-seen
//! instant and peak, and every join and leave, so live meetings never force a rebuild.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use uuid::Uuid;

use plenum_domain::Timestamp;
use plenum_domain::history::{RecordingKind, RecordingStatus};
use plenum_domain::history_query::{InstantRange, RecordingFilter, SessionQuery, search_key};
use plenum_domain::ids::{CompanyId, RoomId};
use plenum_domain::paging::PageRequest;

use super::{RecordingEntry, SessionEntry};

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// The rows one page shows (their numbers, in list order) and how many match in all.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Selection {
    pub total: u64,
    pub seqs: Vec<i64>,
}

/// Collects the page's part of a stream of matches, counting all of them.
struct Pager {
    skip: u64,
    limit: usize,
    selection: Selection,
}

impl Pager {
    fn new(page: PageRequest) -> Self {
        Self {
            skip: page.offset(),
            limit: page.limit() as usize,
            selection: Selection::default(),
        }
    }

    fn push(&mut self, seq: i64) {
        if self.selection.total >= self.skip && self.selection.seqs.len() < self.limit {
            self.selection.seqs.push(seq);
        }
        self.selection.total += 1;
    }

    /// Adds a run of `seqs` that all match, without visiting those outside the page.
    fn extend(&mut self, seqs: &[i64]) {
        let n = seqs.len() as u64;
        let from = self.skip.saturating_sub(self.selection.total).min(n) as usize;
        let room = self.limit - self.selection.seqs.len();
        let to = seqs.len().min(from.saturating_add(room));
        self.selection.seqs.extend_from_slice(&seqs[from..to]);
        self.selection.total += n;
    }
}

/// Logs a (re)build: its cost is paid by the first request after a change.
pub(super) fn built(what: &str, company: CompanyId, rows: usize, began: Instant) {
    tracing::debug!(
        company_id = %company,
        rows,
        elapsed_ms = began.elapsed().as_secs_f64() * 1000.0,
        "history index of {what} built"
    );
}

/// Rooms as small numbers (an index holds one per row).
#[derive(Debug, Default)]
struct Rooms(HashMap<Uuid, u32>);

/// A row held in no room.
const NO_ROOM: u32 = u32::MAX;

impl Rooms {
    fn number(&mut self, room: Option<Uuid>) -> u32 {
        match room {
            None => NO_ROOM,
            Some(id) => {
                let next = u32::try_from(self.0.len()).unwrap_or(NO_ROOM - 1);
                *self.0.entry(id).or_insert(next)
            }
        }
    }

    /// The number of `room`; `None` if no row is in it.
    fn find(&self, room: RoomId) -> Option<u32> {
        self.0.get(&room.as_uuid()).copied()
    }
}

/// The positions `[lo, hi)` of a non-increasing list of starts that lie in `window`.
fn window_positions(starts: &[i64], window: &InstantRange) -> (usize, usize) {
    let lo = window
        .until
        .map_or(0, |until| starts.partition_point(|&s| s >= ms(until)));
    let hi = window.from.map_or(starts.len(), |from| {
        starts.partition_point(|&s| s >= ms(from))
    });
    (lo, hi.max(lo))
}

/// Whether a row started at `a` (start ms, number) comes before one at `b` in list order:
/// newest start first, ties newest number first.
fn before(a: (i64, i64), b: (i64, i64)) -> bool {
    a > b
}

/// Where the next row of a patched index comes from.
#[derive(Debug, Clone, Copy)]
enum Pick {
    /// The held index's row at this position.
    Held(usize),
    /// The fresh row at this position.
    Fresh(usize),
}

/// The rows of a patched index in list order: the held index's (`held`: start and number of
/// each, in list order), but those numbered in `changed`, merged with the `fresh` ones (in list
/// order).
fn merge(
    held: impl Iterator<Item = (i64, i64)>,
    changed: &[i64],
    fresh: &[(i64, i64)],
) -> Vec<Pick> {
    let changed: HashSet<i64> = changed.iter().copied().collect();
    let mut picks = Vec::new();
    let mut next = 0;
    for (position, key) in held.enumerate() {
        if changed.contains(&key.1) {
            continue;
        }
        while next < fresh.len() && before(fresh[next], key) {
            picks.push(Pick::Fresh(next));
            next += 1;
        }
        picks.push(Pick::Held(position));
    }
    picks.extend((next..fresh.len()).map(Pick::Fresh));
    picks
}

// --- sessions --------------------------------------------------------------------------------

/// A session as [`SessionEntry`] gives it, owned (read before an index is patched).
#[derive(Debug)]
pub(super) struct OwnedSession {
    seq: i64,
    started_at: i64,
    room: Option<Uuid>,
    name: String,
}

impl From<SessionEntry<'_>> for OwnedSession {
    fn from(entry: SessionEntry<'_>) -> Self {
        Self {
            seq: entry.seq,
            started_at: entry.started_at,
            room: entry.room,
            name: entry.name.to_owned(),
        }
    }
}

/// A company's sessions in list order, with their rooms and folded names.
#[derive(Debug, Default)]
pub struct SessionIndex {
    seqs: Vec<i64>,
    /// Start instants (ms), non-increasing.
    starts: Vec<i64>,
    rooms: Vec<u32>,
    room_numbers: Rooms,
    /// Every name folded as the domain folds search texts (`search_key`), in list order, each followed by
    /// a NUL: a search text has no control characters, so no match spans two names.
    names: String,
    /// Where each name ends in `names` (the offset of its NUL).
    name_ends: Vec<usize>,
}

impl SessionIndex {
    /// Adds the next session in list order.
    pub(super) fn push(&mut self, entry: SessionEntry<'_>) {
        let room = self.room_numbers.number(entry.room);
        self.push_folded(entry.seq, entry.started_at, room, &search_key(entry.name));
    }

    fn push_folded(&mut self, seq: i64, started_at: i64, room: u32, folded: &str) {
        self.seqs.push(seq);
        self.starts.push(started_at);
        self.rooms.push(room);
        self.names.push_str(folded);
        self.name_ends.push(self.names.len());
        self.names.push('\0');
    }

    fn name(&self, position: usize) -> &str {
        &self.names[self.name_start(position)..self.name_ends[position]]
    }

    /// This index with the sessions numbered `changed` as `fresh` gives them now (absent: gone
    /// or not the company's): the index a build from the same snapshot gives, without reading
    /// the company's other sessions again.
    pub(super) fn patched(&self, changed: &[i64], mut fresh: Vec<OwnedSession>) -> Self {
        fresh.sort_by_key(|r| std::cmp::Reverse((r.started_at, r.seq)));
        let keys: Vec<(i64, i64)> = fresh.iter().map(|s| (s.started_at, s.seq)).collect();
        let mut index = SessionIndex {
            room_numbers: Rooms(self.room_numbers.0.clone()),
            ..SessionIndex::default()
        };
        let held = self.starts.iter().copied().zip(self.seqs.iter().copied());
        for pick in merge(held, changed, &keys) {
            match pick {
                Pick::Held(p) => {
                    index.push_folded(self.seqs[p], self.starts[p], self.rooms[p], self.name(p))
                }
                Pick::Fresh(p) => {
                    let s = &fresh[p];
                    index.push(SessionEntry {
                        seq: s.seq,
                        started_at: s.started_at,
                        room: s.room,
                        name: &s.name,
                    })
                }
            }
        }
        index
    }

    pub(super) fn len(&self) -> usize {
        self.seqs.len()
    }

    fn name_start(&self, position: usize) -> usize {
        match position {
            0 => 0,
            p => self.name_ends[p - 1] + 1,
        }
    }

    /// The sessions matching `query` (`name`: its name as `SearchText::folded` folds it), paged.
    pub fn select(&self, query: &SessionQuery, name: Option<&str>, page: PageRequest) -> Selection {
        let mut pager = Pager::new(page);
        let room = match query.room {
            None => None,
            Some(room) => match self.room_numbers.find(room) {
                Some(n) => Some(n),
                None => return pager.selection,
            },
        };
        let (lo, hi) = window_positions(&self.starts, &query.started);
        if lo == hi {
            return pager.selection;
        }
        let in_room = |p: usize| room.is_none_or(|r| self.rooms[p] == r);
        match name {
            None if room.is_none() => pager.extend(&self.seqs[lo..hi]),
            None => (lo..hi)
                .filter(|&p| in_room(p))
                .for_each(|p| pager.push(self.seqs[p])),
            Some(needle) => {
                // One scan of the window's names; after a hit, on to the next name.
                let finder = memchr::memmem::Finder::new(needle.as_bytes());
                let names = self.names.as_bytes();
                let end = self.name_ends[hi - 1];
                let mut at = self.name_start(lo);
                while let Some(found) = finder.find(&names[at..end]) {
                    let hit = at + found;
                    let p = self.name_ends.partition_point(|&e| e <= hit);
                    if in_room(p) {
                        pager.push(self.seqs[p]);
                    }
                    at = self.name_ends[p] + 1;
                    if at >= end {
                        break;
                    }
                }
            }
        }
        pager.selection
    }
}

// --- recordings ------------------------------------------------------------------------------

const NO_END: i64 = i64::MIN;
/// A meeting's recording has no stay.
const NO_STAY: i64 = i64::MIN;
/// The status takes the two low bits (`STATUS`), the kind the next.
const STATUS: u8 = 0b011;
const COMPLETED: u8 = 1;
const FAILED: u8 = 2;
const VIDEO: u8 = 4;

fn status_bit(status: RecordingStatus) -> u8 {
    match status {
        RecordingStatus::Completed => COMPLETED,
        RecordingStatus::Failed => FAILED,
        RecordingStatus::Processing => 0,
    }
}

fn kind_bit(kind: RecordingKind) -> u8 {
    match kind {
        RecordingKind::Video => VIDEO,
        RecordingKind::Audio => 0,
    }
}

/// A recording filter (all but its start window and its session or participant) as tests of
/// the index's columns, each one a tight pass that the compiler vectorises: counting the
/// matches of 10,000 recordings is a few microseconds.
#[derive(Debug)]
struct EntryTest {
    room: Option<u32>,
    /// `(mask, bits)`: the status and type bits a match has.
    code: Option<(u8, u8)>,
    duration: Option<(u32, u32)>,
    /// `[from, until)` of the end; a recording without an end matches no end filter.
    ended: Option<(i64, i64)>,
}

impl EntryTest {
    fn new(filter: &RecordingFilter, room: Option<u32>) -> Self {
        let (mut mask, mut bits) = (0, 0);
        if let Some(status) = filter.status {
            mask |= STATUS;
            bits |= status_bit(status);
        }
        if let Some(kind) = filter.kind {
            mask |= VIDEO;
            bits |= kind_bit(kind);
        }
        let duration = (filter.min_duration_secs.is_some() || filter.max_duration_secs.is_some())
            .then(|| {
                (
                    filter.min_duration_secs.unwrap_or(0),
                    filter.max_duration_secs.unwrap_or(u32::MAX),
                )
            });
        Self {
            room,
            code: (mask != 0).then_some((mask, bits)),
            duration,
            ended: (!filter.ended.is_open()).then(|| {
                (
                    filter.ended.from.map_or(i64::MIN, ms),
                    filter.ended.until.map_or(i64::MAX, ms),
                )
            }),
        }
    }
}

/// Clears the entries of `matched` whose value in `column` fails `test`.
fn narrow<T: Copy>(matched: &mut [u8], column: &[T], test: impl Fn(T) -> bool) {
    for (m, &v) in matched.iter_mut().zip(column) {
        *m &= u8::from(test(v));
    }
}

/// A company's recordings in list order.
#[derive(Debug, Default)]
pub struct RecordingIndex {
    seqs: Vec<i64>,
    /// Start instants (ms), non-increasing.
    starts: Vec<i64>,
    /// What the filters test, a column each: the end (ms, `NO_END` while recording), the
    /// duration, the room, and the status (`STATUS`) and `VIDEO` bits.
    ends: Vec<i64>,
    durations: Vec<u32>,
    rooms: Vec<u32>,
    codes: Vec<u8>,
    /// Its session's number, and its stay's (`NO_STAY` for a meeting's recording): a
    /// session's or a participant's filter.
    sessions: Vec<i64>,
    stays: Vec<i64>,
    room_numbers: Rooms,
}

/// A session's or a stay's filter as the numbers the index holds (the backend finds them
/// from the filter's ids in the same snapshot).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Owners {
    pub session: Option<i64>,
    pub stay: Option<i64>,
}

impl RecordingIndex {
    /// Adds the next recording in list order.
    pub(super) fn push(&mut self, entry: RecordingEntry) {
        let room = self.room_numbers.number(entry.room);
        self.seqs.push(entry.seq);
        self.starts.push(entry.started_at);
        self.ends.push(entry.ended_at.unwrap_or(NO_END));
        self.durations.push(entry.duration_secs);
        self.rooms.push(room);
        self.codes
            .push(status_bit(entry.status) | kind_bit(entry.kind));
        self.sessions.push(entry.session);
        self.stays.push(entry.stay.unwrap_or(NO_STAY));
    }

    /// Adds the held index's recording at `position` (its room numbered as here).
    fn push_held(&mut self, held: &Self, position: usize) {
        self.seqs.push(held.seqs[position]);
        self.starts.push(held.starts[position]);
        self.ends.push(held.ends[position]);
        self.durations.push(held.durations[position]);
        self.rooms.push(held.rooms[position]);
        self.codes.push(held.codes[position]);
        self.sessions.push(held.sessions[position]);
        self.stays.push(held.stays[position]);
    }

    /// This index with the recordings numbered `changed` as `fresh` gives them now (absent:
    /// gone or not the company's): the index a build from the same snapshot gives.
    pub(super) fn patched(&self, changed: &[i64], mut fresh: Vec<RecordingEntry>) -> Self {
        fresh.sort_by_key(|r| std::cmp::Reverse((r.started_at, r.seq)));
        let keys: Vec<(i64, i64)> = fresh.iter().map(|r| (r.started_at, r.seq)).collect();
        let mut index = RecordingIndex {
            room_numbers: Rooms(self.room_numbers.0.clone()),
            ..RecordingIndex::default()
        };
        let held = self.starts.iter().copied().zip(self.seqs.iter().copied());
        for pick in merge(held, changed, &keys) {
            match pick {
                Pick::Held(p) => index.push_held(self, p),
                Pick::Fresh(p) => index.push(fresh[p]),
            }
        }
        index
    }

    pub(super) fn len(&self) -> usize {
        self.seqs.len()
    }

    /// The recordings matching `filter`, its session and participant given as `owners`,
    /// paged.
    pub fn select(&self, filter: &RecordingFilter, owners: Owners, page: PageRequest) -> Selection {
        let mut pager = Pager::new(page);
        if filter.matches_nothing() {
            return pager.selection;
        }
        let room = match filter.room {
            None => None,
            Some(room) => match self.room_numbers.find(room) {
                Some(n) => Some(n),
                None => return pager.selection,
            },
        };
        let (lo, hi) = window_positions(&self.starts, &filter.started);
        let only_started = RecordingFilter {
            started: InstantRange::default(),
            ..filter.clone()
        } == RecordingFilter::default()
            && owners == Owners::default();
        if only_started {
            pager.extend(&self.seqs[lo..hi]);
            return pager.selection;
        }
        let test = EntryTest::new(filter, room);
        // Which of the window's recordings match, one column at a time; the total, then the
        // page from the window's start until it is full.
        let mut matched = vec![1u8; hi - lo];
        if let Some(session) = owners.session {
            narrow(&mut matched, &self.sessions[lo..hi], |s| s == session);
        }
        if let Some(stay) = owners.stay {
            narrow(&mut matched, &self.stays[lo..hi], |s| s == stay);
        }
        if let Some(room) = test.room {
            narrow(&mut matched, &self.rooms[lo..hi], |r| r == room);
        }
        if let Some((mask, bits)) = test.code {
            narrow(&mut matched, &self.codes[lo..hi], |c| c & mask == bits);
        }
        if let Some((min, max)) = test.duration {
            narrow(&mut matched, &self.durations[lo..hi], |d| {
                (d >= min) & (d <= max)
            });
        }
        if let Some((from, until)) = test.ended {
            narrow(&mut matched, &self.ends[lo..hi], |e| {
                (e != NO_END) & (e >= from) & (e < until)
            });
        }
        let total = matched.iter().filter(|&&m| m != 0).count() as u64;
        let mut selection = Selection {
            total,
            seqs: Vec::new(),
        };
        let (skip, limit) = (page.offset(), page.limit() as usize);
        if skip < total {
            let mut seen = 0;
            for (&m, &seq) in matched.iter().zip(&self.seqs[lo..hi]) {
                if m != 0 {
                    if seen >= skip {
                        selection.seqs.push(seq);
                        if selection.seqs.len() == limit {
                            break;
                        }
                    }
                    seen += 1;
                }
            }
        }
        selection
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(offset: i64, limit: i64) -> PageRequest {
        PageRequest::by_offset(offset, limit, 1000).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_pager_counts_every_match_and_keeps_the_page() {
        let mut pager = Pager::new(page(3, 4));
        pager.extend(&[1, 2]);
        pager.push(3);
        pager.extend(&[4, 5, 6, 7, 8, 9]);
        pager.push(10);
        assert_eq!(pager.selection.total, 10);
        assert_eq!(pager.selection.seqs, vec![4, 5, 6, 7]);

        let mut beyond = Pager::new(page(20, 5));
        beyond.extend(&[1, 2, 3]);
        assert_eq!(
            beyond.selection,
            Selection {
                total: 3,
                seqs: vec![]
            }
        );
    }

    /// An index patched with a few changed rows selects what an index built from all rows
    /// selects: rows added at any place in the order, moved, changed and gone.
    #[test]
    fn a_patched_index_selects_as_one_built_afresh() {
        let room = |n: u128| Some(Uuid::from_u128(n));
        let built = |rows: &[(i64, i64, Option<Uuid>, &str)]| {
            let mut rows = rows.to_vec();
            rows.sort_by_key(|r| std::cmp::Reverse((r.1, r.0)));
            let mut index = SessionIndex::default();
            for (seq, started_at, room, name) in rows {
                index.push(SessionEntry {
                    seq,
                    started_at,
                    room,
                    name,
                });
            }
            index
        };
        let before = [
            (1, 100, room(1), "Planning"),
            (2, 200, room(2), "Review"),
            (3, 300, None, "Planning"),
            (4, 300, room(1), "Stand-up"),
            (5, 500, room(2), "Retro"),
        ];
        // 6 is new (between others), 2 renamed and moved to another room, 4 moved in time,
        // 5 gone; 7 is new and newest.
        let after = [
            (1, 100, room(1), "Planning"),
            (2, 200, room(3), "Planning too"),
            (3, 300, None, "Planning"),
            (4, 50, room(1), "Stand-up"),
            (6, 250, room(2), "Planning"),
            (7, 900, room(1), "Review"),
        ];
        let changed = [2, 4, 5, 6, 7];
        let fresh: Vec<OwnedSession> = after
            .iter()
            .filter(|r| changed.contains(&r.0))
            .map(|&(seq, started_at, room, name)| OwnedSession {
                seq,
                started_at,
                room,
                name: name.to_owned(),
            })
            .collect();
        let patched = built(&before).patched(&changed, fresh);
        let afresh = built(&after);
        let name = |text: &str| Some(search_key(text));
        for query in [
            SessionQuery::default(),
            SessionQuery {
                room: Some(RoomId::from_uuid(Uuid::from_u128(1))),
                ..SessionQuery::default()
            },
            SessionQuery {
                room: Some(RoomId::from_uuid(Uuid::from_u128(3))),
                ..SessionQuery::default()
            },
        ] {
            for needle in [None, name("planning"), name("review")] {
                for offset in 0..4 {
                    assert_eq!(
                        patched.select(&query, needle.as_deref(), page(offset, 2)),
                        afresh.select(&query, needle.as_deref(), page(offset, 2)),
                        "{query:?} {needle:?} at {offset}"
                    );
                }
            }
        }
        assert_eq!(patched.seqs, afresh.seqs);
    }

    /// The same for recordings: status, end, duration and room changes, and one gone.
    #[test]
    fn a_patched_recording_index_selects_as_one_built_afresh() {
        let entry = |seq: i64, started_at: i64, status: RecordingStatus, duration_secs: u32| {
            RecordingEntry {
                seq,
                started_at,
                ended_at: (status != RecordingStatus::Processing)
                    .then_some(started_at + i64::from(duration_secs) * 1000),
                duration_secs,
                status,
                kind: RecordingKind::Audio,
                room: Some(Uuid::from_u128(seq as u128 % 2)),
                // Sessions 10 and 11; the even-numbered recordings are a stay's.
                session: 10 + seq % 2,
                stay: (seq % 2 == 0).then_some(100 + seq),
            }
        };
        let built = |rows: &[RecordingEntry]| {
            let mut rows = rows.to_vec();
            rows.sort_by_key(|r| std::cmp::Reverse((r.started_at, r.seq)));
            let mut index = RecordingIndex::default();
            rows.into_iter().for_each(|r| index.push(r));
            index
        };
        use RecordingStatus::{Completed, Processing};
        let before = [
            entry(1, 100, Completed, 60),
            entry(2, 200, Processing, 0),
            entry(3, 300, Completed, 600),
            entry(4, 400, Completed, 30),
        ];
        let after = [
            entry(1, 100, Completed, 60),
            entry(2, 200, Completed, 900),
            entry(3, 300, Completed, 600),
            entry(5, 500, Processing, 0),
        ];
        let changed = [2, 4, 5];
        let fresh: Vec<RecordingEntry> = after
            .iter()
            .filter(|r| changed.contains(&r.seq))
            .copied()
            .collect();
        let patched = built(&before).patched(&changed, fresh);
        let afresh = built(&after);
        for filter in [
            RecordingFilter::default(),
            RecordingFilter {
                status: Some(Completed),
                ..RecordingFilter::default()
            },
            RecordingFilter {
                min_duration_secs: Some(100),
                ..RecordingFilter::default()
            },
            RecordingFilter {
                room: Some(RoomId::from_uuid(Uuid::from_u128(0))),
                ..RecordingFilter::default()
            },
        ] {
            for owners in [
                Owners::default(),
                Owners {
                    session: Some(10),
                    stay: None,
                },
                Owners {
                    session: None,
                    stay: Some(102),
                },
            ] {
                for offset in 0..3 {
                    assert_eq!(
                        patched.select(&filter, owners, page(offset, 2)),
                        afresh.select(&filter, owners, page(offset, 2)),
                        "{filter:?} {owners:?} at {offset}"
                    );
                }
            }
        }
        // A session's and a stay's recordings are theirs alone, newest first.
        let all = RecordingFilter::default();
        let of = |owners| patched.select(&all, owners, page(0, 10));
        let session = of(Owners {
            session: Some(10),
            stay: None,
        });
        assert_eq!((session.total, session.seqs), (1, vec![2]));
        let session = of(Owners {
            session: Some(11),
            stay: None,
        });
        assert_eq!((session.total, session.seqs), (3, vec![5, 3, 1]));
        let stay = of(Owners {
            session: None,
            stay: Some(102),
        });
        assert_eq!((stay.total, stay.seqs), (1, vec![2]));
        let nobody = of(Owners {
            session: Some(11),
            stay: Some(102),
        });
        assert_eq!((nobody.total, nobody.seqs), (0, vec![]));
    }

    #[test]
    fn windows_are_half_open_over_descending_starts() {
        let t = |ms: i64| {
            plenum_domain::Timestamp::from_millisecond(ms).unwrap_or_else(|e| panic!("{e}"))
        };
        let starts = [50, 40, 40, 30, 20];
        let w = |from: Option<i64>, until: Option<i64>| InstantRange {
            from: from.map(t),
            until: until.map(t),
        };
        assert_eq!(window_positions(&starts, &w(None, None)), (0, 5));
        assert_eq!(window_positions(&starts, &w(Some(30), Some(50))), (1, 4));
        assert_eq!(window_positions(&starts, &w(Some(40), Some(41))), (1, 3));
        assert_eq!(window_positions(&starts, &w(Some(60), None)), (0, 0));
        assert_eq!(window_positions(&starts, &w(None, Some(20))), (5, 5));
    }
}

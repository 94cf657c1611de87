//! A company's scheduled meetings as its list shows them, in list order, in memory: the list
//! over a whole company (what MeetingOperators and SystemAdmins see) is answered from here
//! without reading a row.
//!
//! Why: with 100,000 meetings in a company, SQLite answered a filtered page by checking every
//! trigram candidate row twice (text, then scope) and a deep page by walking every skipped
//! entry of the start index; the best plan measured 8.5 % of the static baseline's
//! requests/s, PostgreSQL's trigram search 1.6 % (BENCHMARKS.md). Here a page is a slice of positions, a search an intersection
//! of two in-memory posting lists, and its rows are summaries kept here. The index is trusted
//! while the company's 'schedules' generation holds (see `generations.rs`; every change a
//! summary shows bumps it), so it is never stale.
//!
//! Memory: a summary, its name key, number and trigram postings, ~0.5 KB per meeting
//! (measured in BENCHMARKS.md).
//!
//! The filter means what [`MeetingFilter`] says: the name key contains its name key (found
//! through trigram postings, or by a scan of the keys when it is shorter than a trigram), or
//! its number prefix starts the meeting's number (a range of the numbers in text order).

use std::collections::HashMap;
use std::sync::Arc;

use plenum_domain::ids::UserId;
use plenum_domain::schedule::{MeetingFilter, ScheduleSummary, UserRef};
use plenum_store::{StoreError, StoreResult};

use super::ScheduleEntry;

/// Three consecutive characters of a name key, packed (21 bits each).
type Trigram = u64;

/// Hashes a trigram with one multiplication (Fibonacci hashing): building a company's index
/// inserts millions of them, and SipHash's resistance to chosen keys buys nothing for keys
/// that are meeting names' own letters.
#[derive(Debug, Default, Clone, Copy)]
struct TrigramHasher(u64);

impl std::hash::Hasher for TrigramHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}

type Postings = HashMap<Trigram, Vec<Occurrence>, std::hash::BuildHasherDefault<TrigramHasher>>;

fn trigrams(text: &str) -> impl Iterator<Item = Trigram> + '_ {
    let mut window = [0u64; 3];
    text.chars().enumerate().filter_map(move |(i, c)| {
        window = [window[1], window[2], u64::from(u32::from(c))];
        (i >= 2).then(|| (window[0] << 42) | (window[1] << 21) | window[2])
    })
}

#[derive(Debug, Default)]
pub struct ScheduleIndex {
    /// The meetings in list order (start, then id): position `p` is the list's `p`-th.
    rows: Vec<ScheduleSummary>,
    /// Name keys of all positions, concatenated; position `p`'s ends at `name_ends[p]`.
    names: String,
    name_ends: Vec<u32>,
    /// Meeting numbers in text order with their positions, for the digit-prefix filter.
    numbers: Vec<(Box<str>, u32)>,
    /// For each trigram of any name key, where it occurs: (position, character offset in
    /// that position's key), ascending.
    postings: Postings,
    /// Each owner once: a company's thousands of meetings have a few dozen owners.
    owners: HashMap<UserId, Arc<UserRef>>,
}

/// A trigram's occurrence: the meeting's position and the trigram's character offset.
type Occurrence = (u32, u32);

/// The positions a filter selects, ascending (list order).
enum Selection {
    All,
    Some(Vec<u32>),
}

impl ScheduleIndex {
    /// Adds the next meeting of the company's list order (see `ScheduleSnapshot`).
    pub fn push(&mut self, entry: ScheduleEntry<'_>) -> StoreResult<()> {
        let ScheduleEntry {
            mut summary,
            name_key: name,
        } = entry;
        let position = u32::try_from(self.rows.len()).map_err(too_many)?;
        summary.owner = Arc::clone(
            self.owners
                .entry(summary.owner.id)
                .or_insert_with(|| Arc::clone(&summary.owner)),
        );
        for (offset, trigram) in trigrams(name).enumerate() {
            let offset = u32::try_from(offset).map_err(too_many)?;
            self.postings
                .entry(trigram)
                .or_default()
                .push((position, offset));
        }
        self.names.push_str(name);
        self.name_ends
            .push(u32::try_from(self.names.len()).map_err(too_many)?);
        self.numbers
            .push((summary.meeting_number.as_str().into(), position));
        self.rows.push(summary);
        Ok(())
    }

    /// Ends the build: the numbers in text order, the postings' spare room returned.
    pub fn finish(mut self) -> Self {
        self.numbers.sort_unstable();
        self.postings.shrink_to_fit();
        self.owners = HashMap::new();
        self
    }

    fn name(&self, position: u32) -> &str {
        let p = position as usize;
        let start = if p == 0 {
            0
        } else {
            self.name_ends[p - 1] as usize
        };
        &self.names[start..self.name_ends[p] as usize]
    }

    fn select(&self, filter: Option<&MeetingFilter>) -> Selection {
        let Some(filter) = filter else {
            return Selection::All;
        };
        let key = filter.name_key();
        let names: Vec<u32> = if key.chars().count() >= 3 {
            let key_trigrams: Vec<Trigram> = trigrams(key).collect();
            let mut lists = Vec::new();
            for i in covering(key_trigrams.len()) {
                match self.postings.get(&key_trigrams[i]) {
                    Some(list) => lists.push((i, list.as_slice())),
                    None => return self.with_numbers(filter, Vec::new()),
                }
            }
            phrase(&mut lists)
        } else {
            // Too short for a trigram: every key is searched.
            let finder = memchr::memmem::Finder::new(key.as_bytes());
            (0..self.len())
                .filter(|&p| finder.find(self.name(p).as_bytes()).is_some())
                .collect()
        };
        self.with_numbers(filter, names)
    }

    /// Adds the meetings whose number starts with the filter's number prefix, if it has one.
    fn with_numbers(&self, filter: &MeetingFilter, mut positions: Vec<u32>) -> Selection {
        if let Some(prefix) = filter.number_prefix() {
            let from = self
                .numbers
                .partition_point(|(number, _)| &**number < prefix);
            positions.extend(
                self.numbers[from..]
                    .iter()
                    .take_while(|(number, _)| number.starts_with(prefix))
                    .map(|&(_, p)| p),
            );
            positions.sort_unstable();
            positions.dedup();
        }
        Selection::Some(positions)
    }

    fn len(&self) -> u32 {
        // Positions are u32 by construction (`push` refuses more).
        self.rows.len() as u32
    }

    /// The page's meetings (in list order) and how many meetings match in all.
    pub fn page(
        &self,
        filter: Option<&MeetingFilter>,
        offset: u64,
        limit: u32,
    ) -> (Vec<ScheduleSummary>, u64) {
        let window = |total: usize| {
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(total);
            start..(start + limit as usize).min(total)
        };
        match self.select(filter) {
            Selection::All => {
                let total = self.rows.len();
                (self.rows[window(total)].to_vec(), total as u64)
            }
            Selection::Some(positions) => {
                let total = positions.len();
                let rows = positions[window(total)]
                    .iter()
                    .map(|&p| self.rows[p as usize].clone())
                    .collect();
                (rows, total as u64)
            }
        }
    }
}

fn too_many(_: std::num::TryFromIntError) -> StoreError {
    StoreError::Internal("a company has more meetings than an index holds".into())
}

/// Which of a key's `n` trigrams (by index) cover every character of it: the 0th, every third
/// after it and the last. Finding those at consistent offsets is finding the key itself, so a
/// search needs no check of the text.
fn covering(n: usize) -> impl Iterator<Item = usize> {
    (0..n).step_by(3).chain((n % 3 != 1).then(|| n - 1))
}

/// The positions (ascending, once each) where the key occurs: where the trigram of index `i`
/// of each list is found at offset `start + i` for one `start`. The rarest list drives; the
/// others are walked forward with it, as both are ordered by (position, offset).
fn phrase(lists: &mut [(usize, &[Occurrence])]) -> Vec<u32> {
    lists.sort_by_key(|(_, list)| list.len());
    let Some((&(driver_index, driver), others)) = lists.split_first() else {
        return Vec::new();
    };
    let mut cursors = vec![0usize; others.len()];
    let mut found = Vec::new();
    'occurrence: for &(position, offset) in driver {
        let Some(start) = offset.checked_sub(driver_index as u32) else {
            continue;
        };
        if found.last() == Some(&position) {
            continue;
        }
        for ((index, list), cursor) in others.iter().zip(cursors.iter_mut()) {
            let wanted = (position, start + *index as u32);
            *cursor = gallop(list, *cursor, wanted);
            if list.get(*cursor) != Some(&wanted) {
                continue 'occurrence;
            }
        }
        found.push(position);
    }
    found
}

/// The first index from `from` whose occurrence is not below `wanted`. Successive wanted
/// occurrences are usually a step or two ahead in the list (lists of similar length), so a
/// few entries are tried in turn before galloping: steps doubling, then a binary search in
/// the last step — a few reads where a binary search over the rest would read a dozen
/// scattered ones.
fn gallop(list: &[Occurrence], from: usize, wanted: Occurrence) -> usize {
    let near = (from + 8).min(list.len());
    if let Some(i) = list[from..near].iter().position(|&o| o >= wanted) {
        return from + i;
    }
    let mut step = 1;
    let mut low = near;
    while low + step <= list.len() && list[low + step - 1] < wanted {
        low += step;
        step *= 2;
    }
    let high = (low + step).min(list.len());
    low + list[low..high].partition_point(|&o| o < wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigrams_are_windows_of_three_characters() {
        assert_eq!(trigrams("ab").count(), 0);
        assert_eq!(trigrams("abcd").count(), 2);
        assert_eq!(trigrams("äbcd").count(), 2);
        let abc: Vec<_> = trigrams("abc").collect();
        let bcd: Vec<_> = trigrams("bcd").collect();
        assert_eq!(trigrams("abcd").collect::<Vec<_>>(), [abc[0], bcd[0]]);
    }

    #[test]
    fn covering_trigrams_reach_every_character() {
        for n in 1..40 {
            let cover: Vec<usize> = covering(n).collect();
            // Trigram i covers characters i..i+3 of a key of n + 2 characters.
            for c in 0..n + 2 {
                assert!(
                    cover.iter().any(|&i| (i..i + 3).contains(&c)),
                    "n {n}, char {c}"
                );
            }
            assert!(cover.iter().all(|&i| i < n));
        }
    }

    #[test]
    fn galloping_finds_the_first_occurrence_not_below() {
        let list: Vec<Occurrence> = (0..100).map(|p| (p * 2, 0)).collect();
        for from in [0, 1, 10, 99, 100] {
            for wanted in [
                (0, 0),
                (1, 0),
                (2, 0),
                (57, 3),
                (198, 0),
                (199, 0),
                (500, 0),
            ] {
                let expected = from + list[from..].partition_point(|&o| o < wanted);
                assert_eq!(gallop(&list, from, wanted), expected, "{from} {wanted:?}");
            }
        }
    }

    #[test]
    fn a_phrase_needs_its_trigrams_at_consistent_offsets() {
        // "abcdef" in position 1 at offset 2; position 0 has both trigrams, apart.
        let abc: &[Occurrence] = &[(0, 0), (1, 2)];
        let def: &[Occurrence] = &[(0, 1), (1, 5), (2, 3)];
        assert_eq!(phrase(&mut [(0, abc), (3, def)]), vec![1]);
        assert_eq!(phrase(&mut [(0, abc)]), vec![0, 1]);
    }
}

//! Ended calls as JSON, remembered together with what they were written from.
//!
//! A call's JSON is a function of its session summary, its room and its join link alone. An
//! ended call's summary rarely changes again, while Rocket.Chat clients list a room's calls
//! over and over (the default page: 50 calls with their users, ~60 KB). Writing that JSON was
//! ~40 % of the list's CPU. Here each ended call's JSON is kept with a copy of its inputs and
//! used again only if the inputs of the new request are equal to them, so an answer is always
//! exactly what writing it afresh would give (tested), whatever changed in between and
//! whoever changed it. A running call is always written afresh. The inputs include the
//! session's company, so a call remembered for one company is never another's answer.
//!
//! Memory: at most [`RenderedCalls::CAPACITY`] calls (~2.5 KB each with their inputs); past
//! that, everything is forgotten and remembering starts over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use plenum_domain::history_query::SessionSummary;
use plenum_domain::ids::{RoomId, SessionId};

/// One call's JSON and the inputs it was written from.
#[derive(Debug)]
struct Rendered {
    summary: SessionSummary,
    room: RoomId,
    url: String,
    json: Box<[u8]>,
}

#[derive(Debug, Default)]
pub struct RenderedCalls {
    calls: Mutex<HashMap<SessionId, Arc<Rendered>>>,
}

impl RenderedCalls {
    /// Calls remembered at most (~5 MB).
    pub const CAPACITY: usize = 2048;

    /// Appends each call's JSON to `out`, separated by commas: the remembered JSON where its
    /// inputs are unchanged, else what `write` writes (then remembered if the call ended).
    pub fn write_all(
        &self,
        out: &mut Vec<u8>,
        calls: &[(&SessionSummary, RoomId, String)],
        write: impl Fn(&mut Vec<u8>, &SessionSummary, RoomId, &str),
    ) {
        // The lock only for the lookups and the inserts, not for writing.
        let known: Vec<Option<Arc<Rendered>>> = match self.calls.lock() {
            Ok(map) => calls
                .iter()
                .map(|(summary, _, _)| map.get(&summary.session.id).cloned())
                .collect(),
            Err(_) => vec![None; calls.len()],
        };
        let mut written = Vec::new();
        for (i, ((summary, room, url), known)) in calls.iter().zip(known).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match known.filter(|r| r.room == *room && r.url == *url && r.summary == **summary) {
                Some(r) => out.extend_from_slice(&r.json),
                None => {
                    let start = out.len();
                    write(out, summary, *room, url);
                    if !summary.session.is_running() {
                        written.push(Arc::new(Rendered {
                            summary: (*summary).clone(),
                            room: *room,
                            url: url.clone(),
                            json: out[start..].into(),
                        }));
                    }
                }
            }
        }
        if written.is_empty() {
            return;
        }
        let Ok(mut map) = self.calls.lock() else {
            return;
        };
        if map.len() + written.len() > Self::CAPACITY {
            map.clear();
        }
        for rendered in written {
            map.insert(rendered.summary.session.id, rendered);
        }
    }
}

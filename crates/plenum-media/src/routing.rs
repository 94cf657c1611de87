//! Which connection of the room a datagram belongs to, by maps: the remote address once it
//! completed ICE, else (STUN only) the ufrag in the USERNAME attribute. Never by asking every
//! `Rtc` whether it accepts the datagram.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::SocketAddr;

use str0m::ice::StunMessage;

use crate::{Connection, ViewerId};

/// One connection of the room: one of a participant's two, or a live-stream viewer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ConnKey<P> {
    Member {
        participant: P,
        connection: Connection,
    },
    Viewer(ViewerId),
}

#[derive(Debug)]
pub(crate) struct Router<P> {
    by_address: HashMap<SocketAddr, ConnKey<P>>,
    by_ufrag: HashMap<String, ConnKey<P>>,
}

impl<P: Copy + Eq + Hash> Router<P> {
    pub fn new() -> Self {
        Router {
            by_address: HashMap::new(),
            by_ufrag: HashMap::new(),
        }
    }

    /// The connection `contents` from `source` goes to, if any.
    pub fn lookup(&self, source: SocketAddr, contents: &[u8]) -> Option<ConnKey<P>> {
        if is_stun(contents) {
            // A STUN message that does not parse is dropped even from a known address:
            // str0m would drop it too, and it must not refresh the connection's liveness.
            let message = StunMessage::parse(contents).ok()?;
            if let Some((ours, _theirs)) = message.split_username() {
                // The ufrag is authoritative: a client may use one address for both of its
                // connections, and only the ufrag tells them apart.
                return self.by_ufrag.get(ours).copied();
            }
        }
        self.by_address.get(&source).copied()
    }

    pub fn add_ufrag(&mut self, ufrag: String, key: ConnKey<P>) {
        self.by_ufrag.insert(ufrag, key);
    }

    pub fn remove_ufrag(&mut self, ufrag: &str) {
        self.by_ufrag.remove(ufrag);
    }

    /// True when the address is new to the room (a route to announce).
    pub fn add_address(&mut self, address: SocketAddr, key: ConnKey<P>) -> bool {
        self.by_address.insert(address, key).is_none()
    }

    /// True when the address was this connection's (a route to withdraw).
    pub fn remove_address(&mut self, address: SocketAddr, key: ConnKey<P>) -> bool {
        if self.by_address.get(&address) == Some(&key) {
            self.by_address.remove(&address);
            true
        } else {
            false
        }
    }

    pub fn ufrags(&self) -> impl Iterator<Item = &String> {
        self.by_ufrag.keys()
    }

    pub fn addresses(&self) -> impl Iterator<Item = &SocketAddr> {
        self.by_address.keys()
    }
}

/// RFC 7983 demultiplexing: STUN's first byte is 0..=3.
fn is_stun(contents: &[u8]) -> bool {
    contents.first().is_some_and(|b| *b < 4)
}

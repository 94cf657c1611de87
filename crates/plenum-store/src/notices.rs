//! Notices between the servers of one installation: what one server changed that the others
//! hold in memory (docs/scaling.md, "Caches across nodes").
//!
//! Each server keeps recently checked tokens and keys in memory. A sign-out, a password
//! change or a revoked key on one server must end them on every server at once, not after
//! the others' revalidation interval. The changing server announces a [`Notice`] after its
//! change is committed; every server (itself included) hears it and forgets what it names.
//! SQLite serves one server, so its notices stay in the process; PostgreSQL carries them to
//! every server on the database (`NOTIFY`).
//!
//! A notice can be missed (a server's connection to the database broke for a while): a
//! subscriber is then told [`Notice::Everything`] and forgets all it holds, which costs only
//! re-reads.

use plenum_domain::credentials::TokenHash;
use plenum_domain::ids::{ApiKeyId, CompanyId, UserId};

use crate::StoreResult;

/// What another server may hold in memory and must forget now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// One sign-in token ended (signed out).
    Token(TokenHash),
    /// A user's tokens ended or their account changed (password, role, enabled).
    User(UserId),
    /// An integration key was revoked, with every token issued through it.
    ApiKey(ApiKeyId),
    /// A company's settings changed (name, time zone, licence).
    Company(CompanyId),
    /// Notices may have been missed: forget everything.
    Everything,
}

impl Notice {
    /// The notice as one line of text (PostgreSQL's `NOTIFY` payload).
    pub fn to_wire(&self) -> String {
        match self {
            Notice::Token(hash) => {
                let mut out = String::with_capacity(6 + 64);
                out.push_str("token:");
                for b in hash.0 {
                    out.push_str(&format!("{b:02x}"));
                }
                out
            }
            Notice::User(id) => format!("user:{id}"),
            Notice::ApiKey(id) => format!("key:{id}"),
            Notice::Company(id) => format!("company:{id}"),
            Notice::Everything => "everything".to_owned(),
        }
    }

    /// Reads [`Notice::to_wire`]'s text; anything unreadable (a newer server's notice) is
    /// [`Notice::Everything`], the safe reading.
    pub fn from_wire(text: &str) -> Self {
        let parsed = match text.split_once(':') {
            Some(("token", hex)) if hex.len() == 64 => {
                let mut hash = [0u8; 32];
                let ok = hash.iter_mut().enumerate().all(|(i, b)| {
                    u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                        .map(|v| *b = v)
                        .is_ok()
                });
                ok.then_some(Notice::Token(TokenHash(hash)))
            }
            Some(("user", id)) => id.parse().ok().map(Notice::User),
            Some(("key", id)) => id.parse().ok().map(Notice::ApiKey),
            Some(("company", id)) => id.parse().ok().map(Notice::Company),
            _ => None,
        };
        parsed.unwrap_or(Notice::Everything)
    }
}

/// Notices to every server on this database.
#[async_trait::async_trait]
pub trait Notices {
    /// Tells every server on this database, this one included. Call it after the change it
    /// is about is committed.
    async fn announce(&self, notice: &Notice) -> StoreResult<()>;

    /// The notices announced from now on, by any server on this database.
    fn notices(&self) -> tokio::sync::broadcast::Receiver<Notice>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_read_back_from_their_wire_text_and_strangers_mean_everything() {
        let notices = [
            Notice::Token(TokenHash::of("a token")),
            Notice::User(UserId::from_uuid(uuid_of(7))),
            Notice::ApiKey(ApiKeyId::from_uuid(uuid_of(9))),
            Notice::Company(CompanyId::from_uuid(uuid_of(11))),
            Notice::Everything,
        ];
        for notice in notices {
            assert_eq!(Notice::from_wire(&notice.to_wire()), notice);
        }
        for strange in [
            "",
            "token:zz",
            "token:00",
            "user:nope",
            "meeting:1",
            "company:x",
        ] {
            assert_eq!(Notice::from_wire(strange), Notice::Everything, "{strange}");
        }
    }

    fn uuid_of(n: u128) -> uuid::Uuid {
        uuid::Uuid::from_u128(n)
    }
}

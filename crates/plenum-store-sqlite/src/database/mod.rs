//! The database file: its migrations, backups, the read connections and the change
//! generations that tell the in-memory indexes whether they are current.

pub(crate) mod backup;
pub(crate) mod generations;
pub(crate) mod migrate;
pub(crate) mod reads;

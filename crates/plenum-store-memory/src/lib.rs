//! The speed layer over any store: what a backend cannot answer fast enough from its own
//! indexes is answered from memory, and memory is trusted only while the database says
//! nothing it covers changed.
//!
//! A backend implements a small port — one consistent read of its database that reports the
//! company's change generations (`generations.rs`), scans a company's rows in list order to
//! build an index, and reads rows by number for a page — and calls the layer with it. The
//! layer holds the indexes and remembered rows and decides, from the generations, whether they
//! may answer. SQLite and PostgreSQL both use it, so the same equivalence tests prove it on
//! both.
//!
//! - `history`: the session and recording lists (Rokid, Rocket.Chat, Telnyx, Huawei).
//! - `schedules`: the company-wide meeting list (MeetingOperators', SystemAdmins').

pub mod generations;
pub mod history;
pub mod schedules;

pub use generations::{Fresh, GenerationCache, NumberCache, RowCache, Subject};

//! Plenum's domain: the types and rules of a self-hosted meeting server.
//!
//! Nothing in this crate performs I/O or reads the clock. Every rule that depends on time
//! takes the current instant as an argument, so it is tested in simulated time (the sans-IO
//! style of str0m). Wire formats live in the dialect modules of `plenum-http`; persistence
//! lives behind the `Store` trait of `plenum-store`.

pub mod api_keys;
pub mod audit;
pub mod calendar;
pub mod company;
pub mod credentials;
pub mod history;
pub mod history_import;
pub mod history_query;
pub mod ids;
pub mod limits;
pub mod live;
pub mod nodes;
pub mod paging;
pub mod recurrence;
pub mod schedule;
pub mod sign_in;
pub mod text;
pub mod user;
pub mod webhooks;

mod error;

pub use error::{Field, Rule, ValidationError};
pub use jiff::{SignedDuration, Timestamp};

//! The `plenum` binary's library half: configuration, start-up, and the offline commands.
//! `main.rs` only parses the command line; tests and the test kit start servers through
//! [`server::start`].

pub mod bot;
pub mod cli;
pub mod config;
pub mod generate;
pub mod generate_history;
pub mod metrics;
pub mod secret_input;
pub mod server;
pub mod telemetry;
pub mod tls;

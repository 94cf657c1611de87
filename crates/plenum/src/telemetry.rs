//! Logging. Structured (`tracing`), to stderr, pretty or JSON. The level comes from
//! `PLENUM_LOG` (or `RUST_LOG`), e.g. `PLENUM_LOG=debug` or `PLENUM_LOG=plenum_http=debug,info`.
//! Nothing logs tokens or secrets: request spans carry the path without its query, and the
//! service logs user ids, never credentials.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("PLENUM_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // `try_init`: a second call (tests) keeps the first subscriber instead of panicking.
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

//! Secrets read from standard input rather than the command line, which the process list
//! shows to everyone on the machine.

use anyhow::Context as _;
use std::io::BufRead as _;

/// The first line of standard input, without its line ending: how every command that takes
/// `--…-stdin` reads a password (so it stays out of the process list).
pub fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

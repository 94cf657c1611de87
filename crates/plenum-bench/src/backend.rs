//! Which store a run's server uses: SQLite in its data directory, or PostgreSQL. A run may
//! measure both, one after the other, each against the baseline of its own server
//! (`--backend both`).
//!
//! PostgreSQL is either a database the caller names (`--database-url`, e.g. one the history
//! data set was loaded into once) or a throwaway cluster started for the run with
//! `scripts/pg-test-server.sh`. That script's defaults are for tests (fsync off); the
//! benchmarks add settings that make every commit durable, as SQLite's `durability = full` is.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};
use clap::ValueEnum;

/// What `--backend` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    Sqlite,
    Postgres,
    /// SQLite first, then PostgreSQL, in one run.
    Both,
}

impl BackendChoice {
    /// The backends to measure, in order.
    pub fn backends(self) -> &'static [Backend] {
        match self {
            Self::Sqlite => &[Backend::Sqlite],
            Self::Postgres => &[Backend::Postgres],
            Self::Both => &[Backend::Sqlite, Backend::Postgres],
        }
    }
}

/// One store a server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// Settings of the throwaway cluster on top of the script's (a later `-c` wins): every commit
/// waits for its WAL on disk, as a join must be durable; buffers sized for the history data
/// set rather than for a test's few rows.
pub const DURABLE_CLUSTER_SETTINGS: &str = "-c fsync=on -c synchronous_commit=on \
     -c full_page_writes=on -c shared_buffers=1GB -c effective_cache_size=8GB \
     -c max_wal_size=8GB";

/// A PostgreSQL database for a run. A throwaway cluster is stopped and removed on drop.
#[derive(Debug)]
pub struct Database {
    url: String,
    /// The throwaway cluster's directory and the script that stops it.
    cluster: Option<(PathBuf, PathBuf)>,
}

impl Database {
    /// The database at `url`, used as it is and left as it is.
    pub fn existing(url: String) -> Self {
        Self { url, cluster: None }
    }

    /// A new durable cluster started with `script` (scripts/pg-test-server.sh).
    pub fn start_cluster(script: &Path) -> Result<Self> {
        if !script.is_file() {
            bail!(
                "{} not found: run from the repository's root, or pass --pg-script PATH or \
                 --database-url URL",
                script.display()
            );
        }
        let started = Command::new(script)
            .arg("start")
            .env("PLENUM_PG_OPTIONS", DURABLE_CLUSTER_SETTINGS)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("running {} start", script.display()))?;
        if !started.status.success() {
            bail!("{} start failed ({})", script.display(), started.status);
        }
        let dir = PathBuf::from(String::from_utf8_lossy(&started.stdout).trim());
        // From here on the guard stops the cluster, whatever fails next.
        let mut database = Self {
            url: String::new(),
            cluster: Some((dir.clone(), script.to_owned())),
        };
        let url = Command::new(script)
            .arg("url")
            .arg(&dir)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {} url", script.display()))?;
        if !url.status.success() {
            bail!("{} url failed ({})", script.display(), url.status);
        }
        database.url = String::from_utf8_lossy(&url.stdout).trim().to_owned();
        Ok(database)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The throwaway cluster's server process (its first line of `postmaster.pid`): the
    /// harness adds the CPU time of it and its children to the server's.
    pub fn postmaster_pid(&self) -> Option<u32> {
        let (dir, _) = self.cluster.as_ref()?;
        let text = std::fs::read_to_string(dir.join("data/postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// For the report: where the database is and how durable its commits are.
    pub fn describe(&self) -> String {
        match &self.cluster {
            Some((dir, _)) => format!(
                "a throwaway cluster in {} (scripts/pg-test-server.sh with {DURABLE_CLUSTER_SETTINGS}), \
                 over its Unix socket",
                dir.display()
            ),
            None => "the database of --database-url, with its own settings".to_owned(),
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((dir, script)) = self.cluster.take() {
            let stopped = Command::new(&script)
                .arg("stop")
                .arg(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .status();
            if !stopped.is_ok_and(|status| status.success()) {
                eprintln!(
                    "plenum-bench: stopping the PostgreSQL cluster in {} failed; stop it with \
                     `{} stop {}`",
                    dir.display(),
                    script.display(),
                    dir.display()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_measures_sqlite_then_postgres() {
        assert_eq!(BackendChoice::Sqlite.backends(), [Backend::Sqlite]);
        assert_eq!(BackendChoice::Postgres.backends(), [Backend::Postgres]);
        assert_eq!(
            BackendChoice::Both.backends(),
            [Backend::Sqlite, Backend::Postgres]
        );
    }
}

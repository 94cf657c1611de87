//! `plenum-bench`: starts a release build of the Plenum server on a free loopback port with a
//! fresh data directory, drives one endpoint and the static baseline (`GET /healthz`) of the
//! same binary with N keep-alive connections, interleaved in one run, and reports requests/s
//! and p50/p99 latency for both. Traffic goes to 127.0.0.1 only, and every loop is bounded in
//! time and count.

mod backend;
mod changes;
mod client;
mod history;
mod janus;
mod live;
mod load;
mod media;
mod mixed;
mod record;
mod report;
mod scenario;
mod server;
mod webhook_sink;
mod whep;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Parser;

use crate::backend::{Backend, BackendChoice, Database};
use crate::load::{LoadGenerator, PhaseStats, Work};
use crate::report::{EndpointReport, Machine, PhaseRecord, Role, RunReport, Settings};
use crate::scenario::{Scenario, SetupContext};
use crate::server::{Node, Server, ServerConfig};

/// mimalloc, as the server: the participants of a join storm allocate per connection, and
/// glibc's malloc was ~29 % of the harness's CPU inclusive (BENCHMARKS.md, "Join storm,
/// second pass"; the gain measured in the third pass is small: 0–10 µs per join).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Longest measured time accepted for `--duration`.
const MAX_DURATION: Duration = Duration::from_secs(3_600);
/// Longest warm-up accepted for `--warmup`.
const MAX_WARMUP: Duration = Duration::from_secs(600);
/// Shortest measured phase: below this, scheduling noise dominates.
const MIN_PHASE: Duration = Duration::from_millis(100);
/// How long the pre-flight request to each endpoint may take.
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(10);

/// Benchmark one Plenum endpoint against the static baseline `GET /healthz` of the same
/// server binary, in one run, over loopback.
#[derive(Debug, Parser)]
#[command(name = "plenum-bench", version, about, long_about = None)]
struct Cli {
    /// The server binary to start (a release build; scripts/bench.sh builds it).
    #[arg(
        long,
        value_name = "PATH",
        env = "PLENUM_BENCH_SERVER",
        default_value = "target/release/plenum"
    )]
    server: PathBuf,

    /// What to measure against the baseline.
    #[arg(long, value_enum, default_value_t = Scenario::UserInfo)]
    scenario: Scenario,

    /// Concurrent keep-alive connections, each with one request in flight at a time.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=4096))]
    connections: u16,

    /// Measured time per endpoint, e.g. `10s`, `1.5s`, `500ms`, `2m` or plain seconds `10`.
    #[arg(long, value_name = "TIME", default_value = "10s", value_parser = parse_duration)]
    duration: Duration,

    /// Unmeasured warm-up before measuring, split evenly between the two endpoints (`0` for none).
    #[arg(long, value_name = "TIME", default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,

    /// Baseline/target pairs the measured time is split into (2: baseline, target, baseline,
    /// target, each for half of --duration).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=100))]
    rounds: u32,

    /// Tokio worker threads for the load generator (it shares the CPUs with the server).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    client_threads: u16,

    /// Print one JSON object instead of the Markdown report.
    #[arg(long)]
    json: bool,

    /// Live scenarios: participants [default: 5000 for live-join-storm, 10000 for
    /// live-idle, 500 for live-mute-all].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=50_000))]
    participants: Option<u32>,

    /// live-join-storm and live-idle: rooms the participants are spread over [default: 500
    /// for live-join-storm, 100 for live-idle].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    rooms: Option<u32>,

    /// live-join-storm on PostgreSQL: `plenum serve` processes (nodes of one installation,
    /// docs/scaling.md) on the one database, each with its own data directory, node address
    /// and the first's secrets; the participants are spread over them, and joins that reach a
    /// node not running their meeting are relayed to the one that does.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=8))]
    nodes: u8,

    /// Live scenarios: participants connecting or joining at once.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    join_concurrency: u32,

    /// live-idle: how long the participants stay idle before the memory is read.
    #[arg(long, value_name = "TIME", default_value = "15s", value_parser = parse_duration)]
    settle: Duration,

    /// live-join-storm: register this many webhook endpoints (taking every event type) at a
    /// fast receiver in the harness before the joins, and measure how long the deliveries of
    /// the joins' events take (events/s).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=16))]
    webhooks: u32,

    /// live-mute-all: measured mute_all calls (each followed by an unmeasured unmute_all).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    mute_rounds: u32,
    /// Serve an existing data directory instead of a fresh one (it is neither seeded nor
    /// deleted): for the history scenarios, whose data set (`plenum dev generate-history`)
    /// takes minutes to make. Needs --admin-password.
    #[arg(long, value_name = "PATH", requires = "admin_password")]
    data_dir: Option<PathBuf>,

    /// Password of `admin` in the --data-dir directory.
    #[arg(long, env = "PLENUM_BENCH_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,

    /// history-mixed: seed of the mix (each connection's sequence is derived from it).
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// history-mixed: change the data through the server meanwhile at this many changes
    /// per second (stays written, meetings ended, recordings completed); 0 for none.
    #[arg(long, value_name = "N", default_value_t = 0.0)]
    changing_rate: f64,

    /// The store the server runs on: SQLite in its data directory, PostgreSQL, or both one
    /// after the other in one run (each against the baseline of its own server).
    #[arg(long, value_enum, default_value_t = BackendChoice::Sqlite)]
    backend: BackendChoice,

    /// PostgreSQL: the database to serve (for the history scenarios, the one the data set was
    /// loaded into with `plenum --data-dir DIR --database-url URL dev generate-history`).
    /// Without it, a durable throwaway cluster is started for the run with --pg-script.
    #[arg(long, value_name = "URL", hide_env_values = true)]
    database_url: Option<String>,

    /// PostgreSQL without --database-url: the script that starts and stops a cluster.
    #[arg(long, value_name = "PATH", default_value = "scripts/pg-test-server.sh")]
    pg_script: PathBuf,

    /// Keep the server's stderr in this file (default: a temporary file, shown on failure).
    #[arg(long, value_name = "PATH")]
    server_log: Option<PathBuf>,
}

fn main() -> ExitCode {
    // `plenum-bench media ...`: the SFU benchmarks (media.rs), with their own flags.
    if std::env::args().nth(1).as_deref() == Some("media") {
        let cli = <media::MediaCli as clap::Parser>::parse_from(std::env::args().skip(1));
        return match cli.shape {
            media::Shape::Record => record::main(&cli),
            media::Shape::Live => whep::main(&cli),
            _ => media::main(cli),
        };
    }
    let cli = Cli::parse();
    if cli.scenario.is_live() {
        return main_live(&cli);
    }
    match run_main(&cli) {
        Ok(reports) => {
            if cli.json {
                println!("{:#}", report::json_of_runs(&reports));
            } else {
                for report in &reports {
                    print!("{}", report.markdown());
                }
                if reports.len() > 1 {
                    print!("{}", report::side_by_side(&reports));
                }
            }
            let errors: u64 = reports.iter().map(RunReport::total_errors).sum();
            if errors > 0 {
                eprintln!("plenum-bench: FAILED: {errors} requests failed (see the report)");
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            eprintln!("plenum-bench: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_main(cli: &Cli) -> Result<Vec<RunReport>> {
    validate(cli)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(cli.client_threads))
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let mut reports = Vec::new();
    for &backend in cli.backend.backends() {
        let database = database(cli, backend)?;
        reports.push(runtime.block_on(async {
            tokio::select! {
                result = run(cli, backend, database.as_ref()) => result,
                // Dropping `run` drops the server guard, which stops the server.
                _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
            }
        })?);
        // `database` is dropped here: a throwaway cluster stops after its server.
    }
    Ok(reports)
}

/// The PostgreSQL database of a run on `backend` (none for SQLite).
fn database(cli: &Cli, backend: Backend) -> Result<Option<Database>> {
    Ok(match (backend, &cli.database_url) {
        (Backend::Sqlite, _) => None,
        (Backend::Postgres, Some(url)) => Some(Database::existing(url.clone())),
        (Backend::Postgres, None) => {
            if cli.scenario.is_history() {
                bail!(
                    "{} on PostgreSQL reads the history data set from a database it was loaded                      into: `plenum --data-dir DIR --database-url URL dev generate-history                      --admin-password P`, then pass --database-url URL (with the same --data-dir                      and --admin-password)",
                    cli.scenario.name()
                );
            }
            progress(&format!(
                "starting a throwaway PostgreSQL cluster with {}",
                cli.pg_script.display()
            ));
            Some(Database::start_cluster(&cli.pg_script)?)
        }
    })
}

/// The live scenario `cli` asks for, with its sizes.
fn live_scenario(cli: &Cli) -> Result<live::LiveScenario> {
    Ok(match cli.scenario {
        Scenario::LiveJoinStorm => live::LiveScenario::JoinStorm {
            participants: cli.participants.unwrap_or(5_000),
            rooms: cli.rooms.unwrap_or(500),
        },
        Scenario::LiveIdle => live::LiveScenario::Idle {
            participants: cli.participants.unwrap_or(10_000),
            rooms: cli.rooms.unwrap_or(100),
            settle: cli.settle,
        },
        Scenario::LiveMuteAll => live::LiveScenario::MuteAll {
            participants: cli.participants.unwrap_or(500),
            rounds: cli.mute_rounds,
        },
        other => bail!("{} is not a live scenario", other.name()),
    })
}

fn main_live(cli: &Cli) -> ExitCode {
    let result = (|| -> Result<Vec<live::LiveReport>> {
        validate(cli)?;
        let scenario = live_scenario(cli)?;
        // One thread: everything on it, so the participants' tasks and the collector of
        // their results do not wake each other across threads.
        let runtime = match cli.client_threads {
            1 => tokio::runtime::Builder::new_current_thread(),
            n => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(usize::from(n));
                builder
            }
        }
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
        let mut reports = Vec::new();
        for &backend in cli.backend.backends() {
            let database = database(cli, backend)?;
            reports.push(runtime.block_on(async {
                tokio::select! {
                    result = run_live(cli, scenario, backend, database.as_ref()) => result,
                    _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
                }
            })?);
        }
        Ok(reports)
    })();
    match result {
        Ok(reports) => {
            if cli.json {
                let runs: Vec<_> = reports.iter().map(live::LiveReport::json).collect();
                match <[_; 1]>::try_from(runs) {
                    Ok([one]) => println!("{one:#}"),
                    Err(runs) => println!("{:#}", serde_json::json!({ "runs": runs })),
                }
            } else {
                for report in &reports {
                    print!("{}", report.markdown());
                }
            }
            let problems: Vec<&str> = reports
                .iter()
                .flat_map(|report| report.problems.iter().map(String::as_str))
                .collect();
            if problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                eprintln!("plenum-bench: FAILED: {}", problems.join("; "));
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("plenum-bench: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_live(
    cli: &Cli,
    scenario: live::LiveScenario,
    backend: Backend,
    database: Option<&Database>,
) -> Result<live::LiveReport> {
    let mut extra_args = scenario.serve_args();
    // A media port of its own for each node (the default one would be shared), on loopback.
    extra_args.extend(["--media-listen".to_owned(), "127.0.0.1:0".to_owned()]);
    // The webhook sink listens on loopback: the server must be allowed to post there.
    let config = tempfile::NamedTempFile::new().context("a configuration file")?;
    if cli.webhooks > 0 {
        std::fs::write(config.path(), "[webhooks]\nallow_private = true\n")
            .context("writing the configuration file")?;
        extra_args.push("--config".to_owned());
        extra_args.push(config.path().display().to_string());
    }
    let mut servers: Vec<Server> = Vec::with_capacity(usize::from(cli.nodes));
    for n in 0..cli.nodes {
        progress(&format!(
            "starting {} on {}{}",
            cli.server.display(),
            backend.name(),
            if cli.nodes > 1 {
                format!(" as node {} of {}", n + 1, cli.nodes)
            } else {
                String::new()
            }
        ));
        let node = (cli.nodes > 1).then(|| Node {
            first: servers.first().map(|first| {
                (
                    first.data_dir().to_owned(),
                    first.admin_password().to_owned(),
                )
            }),
        });
        // The first node's log is --server-log; the others' stay in their temporary directories.
        let log_path = if n == 0 { cli.server_log.clone() } else { None };
        let server = Server::start(&ServerConfig {
            binary: cli.server.clone(),
            log_path,
            seed: None,
            existing: None,
            extra_args: extra_args.clone(),
            database_url: database.map(|db| db.url().to_owned()),
            node,
        })
        .await?;
        progress(&format!("server ready at {}", server.addr()));
        servers.push(server);
    }
    let first = &servers[0];
    let report = live::run(
        cli.scenario.name(),
        cli.scenario.description().to_owned(),
        scenario,
        &live::Target {
            nodes: servers
                .iter()
                .map(|server| live::NodeProcess {
                    addr: server.addr(),
                    pid: server.pid(),
                })
                .collect(),
            store: store_line(backend, database),
            database_pid: database.and_then(Database::postmaster_pid),
            logs_slow_commits: backend == Backend::Sqlite,
            admin_password: first.admin_password(),
            server_binary: cli.server.display().to_string(),
            server_log: first.log_path(),
            client_threads: usize::from(cli.client_threads),
            concurrency: cli.join_concurrency as usize,
            webhooks: cli.webhooks,
        },
    )
    .await?;
    for server in &mut servers {
        server.ensure_running()?;
        progress(&format!("server {}", server.stop()?));
    }
    Ok(report)
}

fn validate(cli: &Cli) -> Result<()> {
    if cli.duration.is_zero() || cli.duration > MAX_DURATION {
        bail!("--duration must be above 0 and at most {MAX_DURATION:?}");
    }
    if cli.warmup > MAX_WARMUP {
        bail!("--warmup must be at most {MAX_WARMUP:?}");
    }
    if !(0.0..=1_000.0).contains(&cli.changing_rate) {
        bail!("--changing-rate must be between 0 and 1000 changes per second");
    }
    if cli.changing_rate > 0.0 && cli.scenario != Scenario::HistoryMixed {
        bail!("--changing-rate is for --scenario history-mixed");
    }
    if cli.database_url.is_some() && cli.backend == BackendChoice::Sqlite {
        bail!("--database-url is for --backend postgres or --backend both");
    }
    if cli.nodes > 1 {
        // Nodes share one PostgreSQL database; SQLite serves one server.
        if cli.backend != BackendChoice::Postgres {
            bail!("--nodes above 1 is for --backend postgres (several nodes share one database)");
        }
        if cli.scenario != Scenario::LiveJoinStorm {
            bail!("--nodes above 1 is for --scenario live-join-storm");
        }
    }
    if cli.duration / cli.rounds < MIN_PHASE {
        bail!(
            "--duration / --rounds gives phases shorter than {MIN_PHASE:?}; use a longer \
             duration or fewer rounds"
        );
    }
    Ok(())
}

/// One phase of the schedule.
#[derive(Debug, Clone, Copy)]
struct Phase {
    role: Role,
    duration: Duration,
    measured: bool,
}

/// Warm-up (baseline, target; half of `warmup` each), then `rounds` measured pairs
/// (baseline, target; `duration / rounds` each).
fn schedule(warmup: Duration, duration: Duration, rounds: u32) -> Vec<Phase> {
    let mut phases = Vec::new();
    if !warmup.is_zero() {
        for role in [Role::Baseline, Role::Target] {
            phases.push(Phase {
                role,
                duration: warmup / 2,
                measured: false,
            });
        }
    }
    for _ in 0..rounds {
        for role in [Role::Baseline, Role::Target] {
            phases.push(Phase {
                role,
                duration: duration / rounds,
                measured: true,
            });
        }
    }
    phases
}

/// For the reports: the store a server ran on.
fn store_line(backend: Backend, database: Option<&Database>) -> String {
    match database {
        Some(database) => format!("{} ({})", backend.name(), database.describe()),
        None => format!(
            "{} in the data directory (`durability = full`: each commit synced)",
            backend.name()
        ),
    }
}

async fn run(cli: &Cli, backend: Backend, database: Option<&Database>) -> Result<RunReport> {
    let machine = Machine::detect();
    let connections = usize::from(cli.connections);
    let scenario = cli.scenario;

    progress(&format!(
        "starting {} on {}",
        cli.server.display(),
        backend.name()
    ));
    if scenario.is_history() && cli.data_dir.is_none() {
        anyhow::bail!(
            "{} reads the history data set: make it once with `plenum --data-dir DIR dev generate-history` and pass --data-dir DIR --admin-password P",
            scenario.name()
        );
    }
    let mut server = Server::start(&ServerConfig {
        binary: cli.server.clone(),
        log_path: cli.server_log.clone(),
        seed: scenario.seed(),
        existing: cli.data_dir.clone().zip(cli.admin_password.clone()),
        extra_args: scenario.server_args(),
        database_url: database.map(|db| db.url().to_owned()),
        node: None,
    })
    .await?;
    let addr = server.addr();
    progress(&format!("server healthy at {addr}"));

    let setup = SetupContext {
        addr,
        admin_password: server.admin_password(),
        data_dir: server.data_dir(),
    };
    let baseline = scenario::baseline(addr)?;
    preflight(addr, &baseline).await?;
    let mut mix = None;
    let target = if scenario == Scenario::HistoryMixed {
        progress("reading the data set's ids, names and sizes for the mix");
        let found = Arc::new(
            mixed::discover(&setup, cli.seed)
                .await
                .context("preparing scenario history-mixed")?,
        );
        progress(&format!(
            "mix pool: {} meetings, {} recordings, {} sessions, {} rooms, {} participants, {} names, {} attendee names, days {}..{}",
            found.pool.meetings,
            found.pool.recordings,
            found.pool.sessions.len(),
            found.pool.rooms.len(),
            found.pool.participants.len(),
            found.pool.names.len(),
            found.pool.attendees.len(),
            mixed::civil(found.pool.first_day),
            mixed::civil(found.pool.last_day),
        ));
        mix = Some(found.clone());
        Work::Mixed(found)
    } else {
        let target = if scenario.is_history() {
            history::prepare(scenario, &setup).await
        } else {
            scenario.prepare(&setup).await
        }
        .with_context(|| format!("preparing scenario {}", scenario.name()))?;
        preflight(addr, &target).await?;
        Work::Fixed(Arc::new(target))
    };
    let endpoints = [Work::Fixed(Arc::new(baseline)), target];
    let endpoint_for = |role: Role| match role {
        Role::Baseline => &endpoints[0],
        Role::Target => &endpoints[1],
    };

    // The changing data runs through every phase, warm-up included, baseline and mix alike.
    let (stop_changes, stopped) = tokio::sync::watch::channel(false);
    let changer = match (&mix, cli.changing_rate > 0.0) {
        (Some(mix), true) => {
            let rooms = changes::rooms(addr, mix.token()).await?;
            progress(&format!(
                "changing the data at {} changes/s in {} rooms",
                cli.changing_rate,
                rooms.len()
            ));
            let limit = cli.warmup + cli.duration * 2 + Duration::from_secs(120);
            Some(tokio::spawn(changes::run(
                addr,
                mix.token().to_owned(),
                rooms,
                cli.changing_rate,
                stopped,
                limit,
            )))
        }
        _ => None,
    };

    let load = LoadGenerator::open(addr, connections).await?;
    let mut totals = [
        (PhaseStats::new()?, Duration::ZERO, 0_u64),
        (PhaseStats::new()?, Duration::ZERO, 0_u64),
    ];
    let phases = schedule(cli.warmup, cli.duration, cli.rounds);
    let mut records = Vec::with_capacity(phases.len());
    for (index, phase) in phases.iter().enumerate() {
        let endpoint = endpoint_for(phase.role);
        progress(&format!(
            "phase {}/{}: {} {} `{}` for {:.2} s",
            index + 1,
            phases.len(),
            if phase.measured { "measure" } else { "warm up" },
            phase.role.name(),
            endpoint.label(),
            phase.duration.as_secs_f64()
        ));
        let result = load.run_phase(endpoint, phase.duration).await?;
        let (stats, measured, warmup_errors) = &mut totals[usize::from(phase.role == Role::Target)];
        if phase.measured {
            stats.merge(&result.stats)?;
            *measured += result.elapsed;
        } else {
            *warmup_errors += result.stats.errors();
        }
        records.push(PhaseRecord {
            role: phase.role,
            measured: phase.measured,
            elapsed: result.elapsed,
            ok: result.stats.ok,
            errors: result.stats.errors(),
        });
    }
    let _ = stop_changes.send(true);
    let changes = match changer {
        Some(task) => Some(task.await.context("the changing data's task failed")?),
        None => None,
    };
    load.close().await;
    server.ensure_running()?;
    progress(&format!("server {}", server.stop()?));

    let [
        (baseline_stats, baseline_time, baseline_warmup_errors),
        (target_stats, target_time, target_warmup_errors),
    ] = totals;
    let [baseline, target] = endpoints;
    Ok(RunReport {
        machine,
        settings: Settings {
            scenario: scenario.name().to_owned(),
            description: scenario.description().to_owned(),
            server: cli.server.display().to_string(),
            backend: backend.name(),
            store: store_line(backend, database),
            connections,
            duration: cli.duration,
            warmup: cli.warmup,
            rounds: cli.rounds,
            client_threads: usize::from(cli.client_threads),
        },
        baseline: EndpointReport {
            role: Role::Baseline,
            label: baseline.label(),
            stats: baseline_stats,
            measured: baseline_time,
            warmup_errors: baseline_warmup_errors,
        },
        target: EndpointReport {
            role: Role::Target,
            label: target.label(),
            stats: target_stats,
            measured: target_time,
            warmup_errors: target_warmup_errors,
        },
        phases: records,
        changes,
    })
}

/// One request to `endpoint` that must succeed before any load is sent, so a broken setup
/// (wrong token, missing route) fails fast with the server's answer instead of a table of
/// errors.
async fn preflight(addr: std::net::SocketAddr, endpoint: &client::Endpoint) -> Result<()> {
    let (status, body) = client::send_once(addr, endpoint, PREFLIGHT_TIMEOUT)
        .await
        .with_context(|| format!("pre-flight {}", endpoint.label))?;
    if !status.is_success() {
        bail!(
            "pre-flight {} answered {status}: {}",
            endpoint.label,
            client::snippet(&body)
        );
    }
    Ok(())
}

fn progress(message: &str) {
    eprintln!("plenum-bench: {message}");
}

/// Parses `10s`, `1.5s`, `500ms`, `2m`, `1h` or plain seconds (`10`, `0.5`).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 10s, 500ms, 2m or 10"))?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" | "secs" => value,
        "ms" => value / 1_000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3_600.0,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use ms, s, m or h)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|error| format!("{text:?}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1_500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn schedule_interleaves_after_warmup() {
        let phases = schedule(Duration::from_secs(2), Duration::from_secs(10), 2);
        let shape: Vec<(Role, u64, bool)> = phases
            .iter()
            .map(|phase| (phase.role, phase.duration.as_secs(), phase.measured))
            .collect();
        assert_eq!(
            shape,
            vec![
                (Role::Baseline, 1, false),
                (Role::Target, 1, false),
                (Role::Baseline, 5, true),
                (Role::Target, 5, true),
                (Role::Baseline, 5, true),
                (Role::Target, 5, true),
            ]
        );
        assert_eq!(schedule(Duration::ZERO, Duration::from_secs(4), 1).len(), 2);
    }

    #[test]
    fn several_nodes_only_for_the_join_storm_on_postgres() {
        let checked = |args: &[&str]| -> Result<u8, String> {
            let cli =
                Cli::try_parse_from(std::iter::once("plenum-bench").chain(args.iter().copied()))
                    .map_err(|error| error.to_string())?;
            validate(&cli).map_err(|error| error.to_string())?;
            Ok(cli.nodes)
        };
        let storm = ["--scenario", "live-join-storm"];
        assert_eq!(checked(&storm), Ok(1));
        assert_eq!(
            checked(&[&storm[..], &["--backend", "postgres", "--nodes", "2"]].concat()),
            Ok(2)
        );
        for backend in ["sqlite", "both"] {
            let refused = checked(&[&storm[..], &["--backend", backend, "--nodes", "2"]].concat());
            assert!(
                refused
                    .as_ref()
                    .is_err_and(|e| e.contains("--backend postgres")),
                "{backend}: {refused:?}"
            );
        }
        let idle = checked(&[
            "--scenario",
            "live-idle",
            "--backend",
            "postgres",
            "--nodes",
            "2",
        ]);
        assert!(
            idle.as_ref().is_err_and(|e| e.contains("live-join-storm")),
            "{idle:?}"
        );
        assert!(
            checked(&[&storm[..], &["--backend", "postgres", "--nodes", "0"]].concat()).is_err()
        );
        assert!(
            checked(&[&storm[..], &["--backend", "postgres", "--nodes", "9"]].concat()).is_err()
        );
    }

    #[test]
    fn cli_defaults() {
        let cli = Cli::try_parse_from(["plenum-bench"]).map_err(|error| error.to_string());
        let cli = match cli {
            Ok(cli) => cli,
            Err(error) => panic!("defaults must parse: {error}"),
        };
        assert_eq!(cli.scenario, Scenario::UserInfo);
        assert_eq!(cli.connections, 32);
        assert_eq!(cli.duration, Duration::from_secs(10));
        assert_eq!(cli.warmup, Duration::from_secs(2));
        assert_eq!(cli.client_threads, 1);
        assert!(validate(&cli).is_ok());
        assert!(Cli::try_parse_from(["plenum-bench", "--scenario", "user-info"]).is_ok());
        assert!(Cli::try_parse_from(["plenum-bench", "--scenario", "nope"]).is_err());
        assert!(Cli::try_parse_from(["plenum-bench", "--connections", "0"]).is_err());
    }
}

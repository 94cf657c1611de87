//! What a run found, and how it is shown: a Markdown table for people, one JSON object for
//! tools.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::changes::ChangeFigures;
use crate::load::PhaseStats;
use crate::mixed::SURFACES;

/// Which of the two endpoints a phase drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The static baseline, `GET /healthz`.
    Baseline,
    /// The scenario's endpoint.
    Target,
}

impl Role {
    /// Lower-case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Baseline => "baseline",
            Self::Target => "target",
        }
    }
}

/// Facts about the machine the run happened on.
#[derive(Debug, Clone)]
pub struct Machine {
    /// CPUs this process may use (what `nproc` prints).
    pub nproc: usize,
    /// `model name` from /proc/cpuinfo, or "unknown".
    pub cpu_model: String,
}

impl Machine {
    /// Reads the facts of this machine.
    pub fn detect() -> Self {
        let nproc = std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get);
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .filter_map(|line| line.split_once(':'))
                    .find(|(key, _)| key.trim() == "model name")
                    .map(|(_, value)| value.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        Self { nproc, cpu_model }
    }
}

/// The settings a run used, as reported.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Scenario name.
    pub scenario: String,
    /// What the scenario measures.
    pub description: String,
    /// Server binary path as given.
    pub server: String,
    /// The store's name (SQLite, PostgreSQL).
    pub backend: &'static str,
    /// The store the server ran on, described.
    pub store: String,
    /// Keep-alive connections.
    pub connections: usize,
    /// Total measured time per endpoint.
    pub duration: Duration,
    /// Total unmeasured warm-up (split between the two endpoints).
    pub warmup: Duration,
    /// Baseline/target pairs the measured time is split into.
    pub rounds: u32,
    /// Tokio worker threads of the load generator.
    pub client_threads: usize,
}

/// One phase as it ran.
#[derive(Debug, Clone)]
pub struct PhaseRecord {
    /// Which endpoint it drove.
    pub role: Role,
    /// Whether it counts (warm-up phases do not).
    pub measured: bool,
    /// Wall time from start until the last answer.
    pub elapsed: Duration,
    /// 2xx responses.
    pub ok: u64,
    /// Failed requests.
    pub errors: u64,
}

impl PhaseRecord {
    /// 2xx responses per second of this phase.
    pub fn requests_per_s(&self) -> f64 {
        per_second(self.ok, self.elapsed)
    }
}

/// One endpoint's figures over all its measured phases.
#[derive(Debug, Clone)]
pub struct EndpointReport {
    /// Baseline or target.
    pub role: Role,
    /// e.g. `GET /healthz`.
    pub label: String,
    /// Merged over the measured phases.
    pub stats: PhaseStats,
    /// Sum of the measured phases' wall times.
    pub measured: Duration,
    /// Failed requests during this endpoint's warm-up.
    pub warmup_errors: u64,
}

impl EndpointReport {
    /// 2xx responses per second of measured time.
    pub fn requests_per_s(&self) -> f64 {
        per_second(self.stats.ok, self.measured)
    }
}

/// Everything a run found.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The machine.
    pub machine: Machine,
    /// The settings.
    pub settings: Settings,
    /// The static baseline's figures.
    pub baseline: EndpointReport,
    /// The scenario endpoint's figures.
    pub target: EndpointReport,
    /// Every phase in the order it ran.
    pub phases: Vec<PhaseRecord>,
    /// `history-mixed --changing-rate`: what the changing data achieved.
    pub changes: Option<ChangeFigures>,
}

impl RunReport {
    /// Failed requests in the whole run, warm-up included.
    pub fn total_errors(&self) -> u64 {
        self.baseline.stats.errors()
            + self.target.stats.errors()
            + self.baseline.warmup_errors
            + self.target.warmup_errors
            + self.changes.as_ref().map_or(0, |c| c.failed_cycles)
    }

    /// Target requests/s as a percentage of the baseline's.
    pub fn target_vs_baseline_percent(&self) -> Option<f64> {
        let baseline = self.baseline.requests_per_s();
        (baseline > 0.0).then(|| self.target.requests_per_s() / baseline * 100.0)
    }

    /// How baseline and target were interleaved, in one sentence.
    pub fn method(&self) -> String {
        let s = &self.settings;
        let order = vec!["baseline, target"; s.rounds as usize].join(", ");
        let phase = s.duration / s.rounds;
        let warmup = if s.warmup.is_zero() {
            "no warm-up".to_owned()
        } else {
            format!(
                "after an unmeasured warm-up of {} per endpoint",
                secs(s.warmup / 2)
            )
        };
        format!(
            "baseline and target interleaved in one run as {order} ({} round(s) of {} per \
             endpoint and phase, {} measured per endpoint), {warmup}, all over the same {} \
             keep-alive connections; each endpoint's figures are over all its measured phases \
             (requests/s = 2xx responses / summed phase time; p50/p99 from the merged latency \
             histogram of 2xx responses)",
            s.rounds,
            secs(phase),
            secs(s.duration),
            s.connections,
        )
    }

    /// The Markdown report.
    pub fn markdown(&self) -> String {
        let s = &self.settings;
        let mut out = String::new();
        // Writing into a String cannot fail; the results are ignored for that reason.
        let _ = writeln!(out, "## plenum-bench: scenario `{}`", s.scenario);
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "- machine: {} CPUs (nproc), {}",
            self.machine.nproc, self.machine.cpu_model
        );
        let _ = writeln!(
            out,
            "- load generator: {} keep-alive HTTP/1.1 connections on {} client thread(s), \
             sharing the machine with the server `{}`",
            s.connections, s.client_threads, s.server
        );
        let _ = writeln!(out, "- store: {}", s.store);
        let _ = writeln!(out, "- target: {}", s.description);
        let _ = writeln!(out, "- method: {}", self.method());
        let phases: Vec<String> = self
            .phases
            .iter()
            .filter(|phase| phase.measured)
            .map(|phase| format!("{} {:.0}", phase.role.name(), phase.requests_per_s()))
            .collect();
        let _ = writeln!(
            out,
            "- requests/s per measured phase: {}",
            phases.join(", ")
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "| endpoint | connections | requests/s | p50 ms | p99 ms | errors | requests/s vs baseline |"
        );
        let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        let baseline_rps = self.baseline.requests_per_s();
        for endpoint in [&self.baseline, &self.target] {
            let ratio = if baseline_rps > 0.0 {
                format!("{:.1} %", endpoint.requests_per_s() / baseline_rps * 100.0)
            } else {
                "–".to_owned()
            };
            let _ = writeln!(
                out,
                "| {} `{}` | {} | {:.0} | {} | {} | {} | {} |",
                endpoint.role.name(),
                endpoint.label,
                s.connections,
                endpoint.requests_per_s(),
                ms(endpoint.stats.quantile_ms(0.50)),
                ms(endpoint.stats.quantile_ms(0.99)),
                endpoint.stats.errors(),
                ratio,
            );
        }
        let t = &self.target.stats;
        if !t.surfaces.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "| surface (mix) | requests | requests/s | p50 ms | p99 ms | errors |"
            );
            let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: |");
            for (surface, figures) in SURFACES.iter().zip(&t.surfaces) {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.0} | {} | {} | {} |",
                    surface.name(),
                    figures.ok,
                    per_second(figures.ok, self.target.measured),
                    ms(figures.quantile_ms(0.50)),
                    ms(figures.quantile_ms(0.99)),
                    figures.errors,
                );
            }
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "- answers checked (every answer must be 200; one in {} parsed and its shape checked): {} checked, {} malformed",
                crate::mixed::CHECK_EVERY,
                t.checked,
                t.malformed
            );
        }
        if let Some(changes) = &self.changes {
            let _ = writeln!(out, "- changing data: {}", changes.summary());
        }
        let mut notes = Vec::new();
        for endpoint in [&self.baseline, &self.target] {
            if endpoint.stats.errors() > 0 {
                notes.push(format!(
                    "**errors** {} `{}`: {}",
                    endpoint.role.name(),
                    endpoint.label,
                    endpoint.stats.error_summary()
                ));
            }
            if endpoint.warmup_errors > 0 {
                notes.push(format!(
                    "**errors** during the warm-up of {} `{}`: {}",
                    endpoint.role.name(),
                    endpoint.label,
                    endpoint.warmup_errors
                ));
            }
            if endpoint.stats.reconnects > 0 {
                notes.push(format!(
                    "{} `{}`: {} connections had to be reopened while measuring",
                    endpoint.role.name(),
                    endpoint.label,
                    endpoint.stats.reconnects
                ));
            }
        }
        if !notes.is_empty() {
            let _ = writeln!(out);
            for note in notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out
    }

    /// The JSON report.
    pub fn json(&self) -> Value {
        let s = &self.settings;
        let endpoint = |report: &EndpointReport| {
            json!({
                "role": report.role.name(),
                "endpoint": report.label,
                "connections": s.connections,
                "requests": report.stats.ok,
                "measured_s": report.measured.as_secs_f64(),
                "requests_per_s": report.requests_per_s(),
                "p50_ms": report.stats.quantile_ms(0.50),
                "p99_ms": report.stats.quantile_ms(0.99),
                "errors": report.stats.errors(),
                "error_summary": report.stats.error_summary(),
                "warmup_errors": report.warmup_errors,
                "reconnects": report.stats.reconnects,
            })
        };
        let phases: Vec<Value> = self
            .phases
            .iter()
            .map(|phase| {
                json!({
                    "role": phase.role.name(),
                    "measured": phase.measured,
                    "elapsed_s": phase.elapsed.as_secs_f64(),
                    "requests": phase.ok,
                    "requests_per_s": phase.requests_per_s(),
                    "errors": phase.errors,
                })
            })
            .collect();
        json!({
            "scenario": s.scenario,
            "description": s.description,
            "machine": {
                "nproc": self.machine.nproc,
                "cpu_model": self.machine.cpu_model,
            },
            "settings": {
                "server": s.server,
                "backend": s.backend,
                "store": s.store,
                "connections": s.connections,
                "duration_s": s.duration.as_secs_f64(),
                "warmup_s": s.warmup.as_secs_f64(),
                "rounds": s.rounds,
                "client_threads": s.client_threads,
            },
            "method": self.method(),
            "baseline": endpoint(&self.baseline),
            "target": endpoint(&self.target),
            "target_vs_baseline_requests_per_s_percent": self.target_vs_baseline_percent(),
            "phases": phases,
            "surfaces": SURFACES.iter().zip(&self.target.stats.surfaces).map(|(surface, f)| json!({
                "surface": surface.name(),
                "requests": f.ok,
                "requests_per_s": per_second(f.ok, self.target.measured),
                "p50_ms": f.quantile_ms(0.50),
                "p99_ms": f.quantile_ms(0.99),
                "errors": f.errors,
            })).collect::<Vec<_>>(),
            "checked": self.target.stats.checked,
            "malformed": self.target.stats.malformed,
            "changes": self.changes.as_ref().map(|c| json!({
                "asked_per_s": c.rate,
                "achieved_per_s": c.achieved_per_s(),
                "changes": c.changes(),
                "stays_written": c.stays_written,
                "meetings_ended": c.meetings_ended,
                "recordings_completed": c.recordings_completed,
                "cycles": c.cycles,
                "failed_cycles": c.failed_cycles,
                "skipped": c.skipped,
                "first_failure": c.first_failure,
                "elapsed_s": c.elapsed.as_secs_f64(),
            })),
            "errors_total": self.total_errors(),
            "ok": self.total_errors() == 0,
        })
    }
}

/// One run's JSON object as it is; several runs (`--backend both`) as `{"runs": [...]}`.
pub fn json_of_runs(reports: &[RunReport]) -> Value {
    match reports {
        [one] => one.json(),
        runs => json!({ "runs": runs.iter().map(RunReport::json).collect::<Vec<_>>() }),
    }
}

/// The runs of one scenario on several stores, one row each: each row's share is of the
/// baseline of its own server, measured in the same run.
pub fn side_by_side(reports: &[RunReport]) -> String {
    let mut out = String::new();
    let Some(first) = reports.first() else {
        return out;
    };
    let _ = writeln!(
        out,
        "\n## side by side: scenario `{}`\n",
        first.settings.scenario
    );
    let _ = writeln!(
        out,
        "| store | requests/s | p50 ms | p99 ms | % of its baseline | baseline requests/s | errors |"
    );
    let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for report in reports {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {} | {} | {} | {:.0} | {} |",
            report.settings.backend,
            report.target.requests_per_s(),
            ms(report.target.stats.quantile_ms(0.50)),
            ms(report.target.stats.quantile_ms(0.99)),
            report
                .target_vs_baseline_percent()
                .map_or_else(|| "–".to_owned(), |share| format!("{share:.1} %")),
            report.baseline.requests_per_s(),
            report.total_errors(),
        );
    }
    out
}

fn per_second(count: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        // u64 -> f64 loses precision only above 2^53 requests.
        count as f64 / seconds
    } else {
        0.0
    }
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |ms| format!("{ms:.3}"))
}

fn secs(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

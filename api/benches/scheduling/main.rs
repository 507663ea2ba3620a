//! QUALITY B1, B2, B3 — scheduling benchmarks (issue 5). One program, one subcommand each:
//!
//! * `b1` — `POST /api/v1/appointments` throughput at 8/32/64 concurrent clients; ceiling:
//!   the same SQL statements from `pgbench` on the same database and tenant schema. Target
//!   ≥ 0.7×.
//! * `b2` — insert cost into `appointments` with its two exclusion constraints; ceiling: a copy
//!   of the table without them (same columns, indexes, checks and foreign keys), same rows.
//!   Target ≤ 1.5× slower.
//! * `b3` — slot search latency, 1 provider × 28 days with 5,000 bookings and a 20-provider
//!   department, through the HTTP layer; floor: `slots::compute` on rows preloaded once.
//!   Targets: ≤ 2× the floor; p99 ≤ 10 ms single, ≤ 50 ms department.
//! * `b4` — bulk scheduling end to end (submit over the API, embedded runner until 100 %);
//!   ceiling: `COPY` of the same appointment rows (a bare copy table and the real table).
//!   Target ≥ 0.5×.
//! * `b8` — the outbox relay publishing with confirms; ceiling: a bare lapin publish loop with
//!   the same flags on a fresh RabbitMQ vhost. Target ≥ 0.8×.
//!
//! Run: `cargo bench -p swiftacare --bench scheduling -- [b1|b2|b3|all|b4|b8|jobs] [options]`; see
//! `ops/bench/README.md` for the options and what each figure means. Each subcommand creates
//! a fresh database `swiftacare_bench_<pid>` (dropped at the end, also on error), prints its
//! report to stdout (progress to stderr), writes JSON to `$CARGO_TARGET_DIR/bench/`, and exits
//! 0 whatever the verdicts.

mod b1;
mod b2;
mod b3;
mod b4;
mod b8;
mod common;

use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use serde_json::Value;

use common::{BenchDb, load_average, output_path, progress};

/// Options shared by all subcommands: `--name value` or `--name=value`, env `SCHED_<NAME>`
/// (upper case, dashes as underscores) as the fallback; flags win.
pub struct Args {
    pub command: String,
    flags: Vec<(String, String)>,
}

impl Args {
    fn parse() -> anyhow::Result<Args> {
        let mut command = None;
        let mut flags = Vec::new();
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            // `cargo bench` passes `--bench` to every harness-less bench binary.
            if arg == "--bench" {
                continue;
            }
            if let Some(flag) = arg.strip_prefix("--") {
                let (name, value) = match flag.split_once('=') {
                    Some((n, v)) => (n.to_owned(), v.to_owned()),
                    None => (
                        flag.to_owned(),
                        it.next()
                            .with_context(|| format!("--{flag} needs a value"))?,
                    ),
                };
                flags.push((name, value));
            } else if command.is_none() {
                command = Some(arg);
            } else {
                bail!("unexpected argument {arg:?}");
            }
        }
        Ok(Args {
            command: command.unwrap_or_else(|| "all".into()),
            flags,
        })
    }

    fn raw(&self, name: &str) -> Option<String> {
        self.flags
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .or_else(|| {
                std::env::var(format!("SCHED_{}", name.to_uppercase().replace('-', "_"))).ok()
            })
    }

    pub fn get<T: std::str::FromStr>(&self, name: &str, default: T) -> anyhow::Result<T> {
        match self.raw(name) {
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| anyhow!("--{name} {v:?} is not valid")),
            None => Ok(default),
        }
    }

    /// A comma-separated list of numbers.
    pub fn list(&self, name: &str, default: &[usize]) -> anyhow::Result<Vec<usize>> {
        match self.raw(name) {
            Some(v) => v
                .split(',')
                .map(|x| {
                    x.trim()
                        .parse()
                        .map_err(|_| anyhow!("--{name}: {x:?} is not a number"))
                })
                .collect(),
            None => Ok(default.to_vec()),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse()?;
    let commands: Vec<&str> = match args.command.as_str() {
        "all" => vec!["b1", "b2", "b3"],
        "jobs" => vec!["b4", "b8"],
        "b1" | "b2" | "b3" | "b4" | "b8" => vec![args.command.as_str()],
        other => bail!("unknown benchmark {other:?}: use b1, b2, b3, all, b4, b8 or jobs"),
    };
    for name in commands {
        // Before this program does anything: afterwards the load average counts its own work.
        let load = load_average();
        let started = Instant::now();
        let db = BenchDb::create()?;
        progress(started, &format!("{name}: created database {}", db.name));
        let result: anyhow::Result<Value> = match name {
            "b1" => b1::run(&args, &db, started, load).await,
            "b2" => b2::run(&args, &db, started, load).await,
            "b4" => b4::run(&args, &db, started, load).await,
            "b8" => b8::run(&args, &db, started, load).await,
            _ => b3::run(&args, &db, started, load).await,
        };
        drop(db);
        match result {
            Ok(report) => {
                let path = output_path(&format!("{name}_scheduling"));
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
                std::fs::write(&path, serde_json::to_string_pretty(&report)?)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("JSON report: {}", path.display());
                println!();
            }
            // A benchmark that could not run says why and lets the others run.
            Err(e) => println!("{name}: could not run: {e:#}\n"),
        }
    }
    Ok(())
}

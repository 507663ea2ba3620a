//! B4 — bulk scheduling end to end against `COPY` of the same rows.
//!
//! App arm (timed): `POST /api/v1/bulk-batches` with a CSV of `--rows` rows (one client each,
//! 400 rows per provider, a 15-minute type, a 17-day window; each round has its own providers
//! and its own window, so no round competes with an earlier one), then the embedded runner
//! (`Runner::poll_once(50)`, as `swiftacare serve` loops it, handling `--concurrency` jobs at
//! once, default `SWIFTACARE_JOB_CONCURRENCY`'s) until no job is due, then the
//! progress read, which must say 100 %. That covers parsing and resolving the rows, the fair
//! order, the chunk jobs, placement (per chunk: one load of the calendars, in-memory slot
//! choice, one insert per table under the exclusion constraints), the reminder outbox rows and
//! the audit entries. The reminders themselves are days away and not sent (no mail).
//!
//! Ceiling (timed): the appointment rows the first app round booked, with new ids and moved
//! to a free stretch of the calendar, loaded with psql's `\copy` (its `\timing`, i.e. the
//! statement and its commit as the client sees them) into (a) `appointments_bare`, a copy made
//! with `LIKE appointments` (columns and NOT NULL only: no key, index, check, foreign key or
//! exclusion constraint), and (b) the tenant's real `appointments` with all of them. Rounds
//! alternate (app first in odd rounds, COPY first in even ones); each figure is rows per second,
//! the verdict is the median app rate / the median COPY rate into the real table (≥ 0.5).

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, ensure};
use poem::http::Method;
use serde_json::{Value, json};
use swiftacare_api::jobs::Runner;

use crate::Args;
use crate::common::{App, BenchDb, fmt_load, median, progress, psql_on, verdict};

const ROWS_PER_PROVIDER: usize = 400;
const WINDOW_DAYS: i64 = 17;

fn day(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).to_string()
}

/// Milliseconds from psql's `\timing` lines ("Time: 12.345 ms"), summed.
fn timing_ms(out: &str) -> anyhow::Result<f64> {
    let mut total = 0.0;
    let mut seen = false;
    for line in out.lines() {
        if let Some(rest) = line.trim().strip_prefix("Time: ") {
            let ms = rest
                .split_whitespace()
                .next()
                .context("timing line")?
                .parse::<f64>()
                .with_context(|| format!("timing line {line:?}"))?;
            total += ms;
            seen = true;
        }
    }
    ensure!(seen, "no timing in psql output: {out}");
    Ok(total)
}

struct AppRound {
    secs: f64,
    submit_ms: f64,
    booked: i64,
    failed: i64,
    reminders: i64,
    jobs: usize,
}

async fn app_round(
    app: &App,
    runner: &Runner,
    t: &crate::common::Tenant,
    db_url: &str,
    type_id: &str,
    rows: usize,
    round: usize,
) -> anyhow::Result<AppRound> {
    // Untimed: this round's providers with working hours around the clock.
    let providers = rows.div_ceil(ROWS_PER_PROVIDER);
    let mut ids = Vec::with_capacity(providers);
    for p in 0..providers {
        let id = app
            .person(t, "provider", 1000 * (round + 1) + p, None)
            .await?;
        app.hours(t, &id, "UTC", "00:00", "23:55").await?;
        ids.push(id);
    }
    let from = 3 + 20 * round as i64;
    let (wf, wu) = (day(from), day(from + WINDOW_DAYS - 1));
    let mut csv = String::from("client_email,provider_id,type_id,window_from,window_until\n");
    for i in 1..=rows {
        csv.push_str(&format!(
            "b4-{i}@{}.test,{},{type_id},{wf},{wu}\n",
            t.slug(),
            ids[i % providers]
        ));
    }
    let reminders_sql =
        "SELECT count(*) FROM swiftacare_jobs.outbox WHERE kind = 'reminder.send'".to_owned();
    let reminders_before: i64 = psql_on(db_url, &reminders_sql)?.parse()?;
    let batch = uuid::Uuid::now_v7().to_string();

    let started = Instant::now();
    let resp = app
        .client
        .request(
            Method::POST,
            format!("/api/v1/bulk-batches?batch_id={batch}"),
        )
        .header("X-Tenant", t.slug())
        .header("Authorization", &t.bearer)
        .header("Content-Type", "text/csv")
        .body(csv)
        .send()
        .await
        .0;
    let status = resp.status().as_u16();
    let submit_ms = started.elapsed().as_secs_f64() * 1e3;
    ensure!(
        status == 202,
        "submit: {status} {}",
        resp.into_body().into_string().await.unwrap_or_default()
    );
    let mut jobs = 0;
    loop {
        let n = runner
            .poll_once(50)
            .await
            .map_err(|e| anyhow::anyhow!("poll: {e}"))?;
        if n == 0 {
            break;
        }
        jobs += n;
    }
    let (code, _, p) = app
        .call(
            Method::GET,
            t.slug(),
            Some(&t.bearer),
            &format!("/api/v1/bulk-batches/{batch}"),
            None,
            None,
        )
        .await?;
    let secs = started.elapsed().as_secs_f64();
    ensure!(code == 200, "progress: {code} {p}");
    ensure!(
        p["percent"].as_i64() == Some(100),
        "the batch is not settled after the runner drained: {p}"
    );
    let reminders_after: i64 = psql_on(db_url, &reminders_sql)?.parse()?;
    Ok(AppRound {
        secs,
        submit_ms,
        booked: p["booked"].as_i64().unwrap_or(0),
        failed: p["failed"].as_i64().unwrap_or(0),
        reminders: reminders_after - reminders_before,
        jobs,
    })
}

/// Writes the template rows, moved by `shift_days` with new ids, to `file` (untimed).
fn stage(db_url: &str, schema: &str, shift_days: i64, file: &str) -> anyhow::Result<()> {
    psql_on(
        db_url,
        &format!(
            "DROP TABLE IF EXISTS {schema}.b4_stage;
             CREATE TABLE {schema}.b4_stage AS SELECT * FROM {schema}.b4_template;
             UPDATE {schema}.b4_stage SET id = gen_random_uuid(),
               starts_at = starts_at + interval '{shift_days} days',
               ends_at = ends_at + interval '{shift_days} days',
               busy_from = busy_from + interval '{shift_days} days',
               busy_until = busy_until + interval '{shift_days} days';
             \\copy {schema}.b4_stage TO '{file}' WITH (FORMAT csv)"
        ),
    )?;
    Ok(())
}

/// Times `\copy table FROM file` (one statement, autocommit); milliseconds.
fn copy_ms(db_url: &str, table: &str, file: &str) -> anyhow::Result<f64> {
    let out = psql_on(
        db_url,
        &format!("\\timing on\n\\copy {table} FROM '{file}' WITH (FORMAT csv)\n"),
    )?;
    timing_ms(&out)
}

pub async fn run(
    args: &Args,
    db: &BenchDb,
    started: Instant,
    load: Option<f64>,
) -> anyhow::Result<Value> {
    let rows: usize = args.get("rows", 2000)?;
    let rounds: usize = args.get("rounds", 3)?;
    let concurrency: usize = args.get("concurrency", swiftacare_api::jobs::DEFAULT_CONCURRENCY)?;
    ensure!(concurrency >= 1, "--concurrency must be at least 1");
    ensure!(
        (1..=10_000).contains(&rows),
        "--rows must be 1..=10000 (the API's batch limit)"
    );
    ensure!(rounds >= 1, "--rounds must be at least 1");

    let app = App::with_body_limit(&db.url, 16, 4 << 20)?;
    app.migrate_control().await?;
    let t = app.tenant("b4").await?;
    let schema = t.tenant.schema.as_str().to_owned();
    let type_id = app
        .appointment_type(&t, "B4 session", 15, json!({}))
        .await?;
    psql_on(
        &db.url,
        &format!(
            "INSERT INTO {schema}.people (id, kind, given_name, family_name, email)
             SELECT gen_random_uuid(), 'client', 'Bulk', 'Client ' || i, 'b4-' || i || '@b4.test'
             FROM generate_series(1, {rows}) AS i;
             CREATE TABLE {schema}.appointments_bare (LIKE {schema}.appointments);
             ANALYZE {schema}.people;"
        ),
    )?;
    let mailer = swiftacare_api::mail::Mailer::new(
        None,
        "Bench <bench@swiftacare.test>",
        std::env::temp_dir().join("swiftacare-bench-mail"),
    )
    .context("mailer")?;
    let runner = Runner::new(app.tenancy.clone(), Arc::new(mailer)).with_concurrency(concurrency);
    let file = std::env::temp_dir()
        .join(format!("swiftacare_b4_{}.csv", std::process::id()))
        .display()
        .to_string();
    progress(
        started,
        &format!("b4: tenant, type and {rows} clients ready"),
    );

    let mut app_rates = Vec::new();
    let mut bare_rates = Vec::new();
    let mut real_rates = Vec::new();
    let mut lines = Vec::new();
    let mut rounds_json = Vec::new();
    let mut template_rows = 0i64;
    for r in 0..rounds {
        let app_first = r % 2 == 0;
        let mut copy_done = None;
        for step in 0..2 {
            if (step == 0) == app_first {
                let a = app_round(&app, &runner, &t, &db.url, &type_id, rows, r).await?;
                if r == 0 {
                    template_rows = psql_on(
                        &db.url,
                        &format!(
                            "CREATE TABLE {schema}.b4_template AS SELECT * FROM {schema}.appointments;
                             SELECT count(*) FROM {schema}.b4_template"
                        ),
                    )?
                    .parse()?;
                    ensure!(template_rows > 0, "the first batch booked nothing");
                }
                let rate = a.booked as f64 / a.secs;
                progress(
                    started,
                    &format!(
                        "b4 round {}: app {:.2} s, {} booked, {rate:.0} rows/s",
                        r + 1,
                        a.secs,
                        a.booked
                    ),
                );
                lines.push(format!(
                    "  {}. app (submit + runner)   {:>9.3} s  {:>10.0} rows/s   booked {} failed {}, {} chunk jobs, {} reminder jobs written, submit {:.0} ms",
                    r + 1,
                    a.secs,
                    rate,
                    a.booked,
                    a.failed,
                    a.jobs,
                    a.reminders,
                    a.submit_ms
                ));
                rounds_json.push(json!({"round": r + 1, "arm": "app", "secs": a.secs, "rows_per_s": rate,
                    "booked": a.booked, "failed": a.failed, "jobs": a.jobs, "reminder_jobs": a.reminders,
                    "submit_ms": a.submit_ms}));
                app_rates.push(rate);
            } else {
                // Shifts far beyond every app round's window (20 days per round).
                let shift = 20 * (rounds as i64 + 2) + 20 * r as i64;
                stage(&db.url, &schema, shift, &file)?;
                let bare = copy_ms(&db.url, &format!("{schema}.appointments_bare"), &file)?;
                let real = copy_ms(&db.url, &format!("{schema}.appointments"), &file)?;
                copy_done = Some((bare, real));
            }
        }
        let (bare, real) = copy_done.context("copy arm did not run")?;
        let n = template_rows as f64;
        let (rb, rr) = (n / (bare / 1e3), n / (real / 1e3));
        for (name, ms, rate) in [
            ("COPY, no constraints", bare, rb),
            ("COPY, real table", real, rr),
        ] {
            lines.push(format!(
                "  {}. {name:<22} {:>9.3} s  {:>10.0} rows/s   {template_rows} rows",
                r + 1,
                ms / 1e3,
                rate
            ));
            rounds_json.push(json!({"round": r + 1, "arm": name, "secs": ms / 1e3, "rows_per_s": rate, "rows": template_rows}));
        }
        bare_rates.push(rb);
        real_rates.push(rr);
        progress(
            started,
            &format!(
                "b4 round {}: COPY bare {rb:.0} rows/s, real {rr:.0} rows/s",
                r + 1
            ),
        );
    }
    let _ = std::fs::remove_file(&file);

    let (ma, mb, mr) = (median(&app_rates), median(&bare_rates), median(&real_rates));
    let ratio_real = ma / mr;
    let ratio_bare = ma / mb;
    println!(
        "B4 bulk scheduling — {}",
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
    );
    println!(
        "rows = {rows} per batch ({} providers × ≤{ROWS_PER_PROVIDER}, one client per row, 15-min type, {WINDOW_DAYS}-day window), rounds = {rounds} (alternating)",
        rows.div_ceil(ROWS_PER_PROVIDER)
    );
    println!(
        "machine: {} CPUs; app in-process (poem TestClient), embedded runner poll_once(50), {concurrency} jobs at once",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "1-minute load average before the run: {} (more than ~0.5 = something else was running; rerun)",
        fmt_load(load)
    );
    println!();
    println!("  round / arm                   wall       throughput");
    for l in &lines {
        println!("{l}");
    }
    println!();
    println!("  median rows/s: app {ma:.0}, COPY no constraints {mb:.0}, COPY real table {mr:.0}");
    println!(
        "  app / COPY real table = {ratio_real:.3} (target ≥ 0.5) {}",
        verdict(ratio_real >= 0.5)
    );
    println!("  app / COPY no constraints = {ratio_bare:.3} (informational)");
    println!(
        "  per-round app / COPY real: {}",
        app_rates
            .iter()
            .zip(&real_rates)
            .map(|(a, c)| format!("{:.3}", a / c))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!();
    println!("total run time {:.1} s", started.elapsed().as_secs_f64());
    Ok(json!({
        "benchmark": "B4", "rows": rows, "rounds": rounds, "concurrency": concurrency, "load_average_1m": load,
        "copy_rows": template_rows,
        "rounds_detail": rounds_json,
        "median_rows_per_s": {"app": ma, "copy_bare": mb, "copy_real": mr},
        "ratio_app_over_copy_real": ratio_real, "ratio_app_over_copy_bare": ratio_bare,
        "target": 0.5, "pass": ratio_real >= 0.5,
    }))
}

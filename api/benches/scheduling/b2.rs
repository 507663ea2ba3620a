//! B2 — what the exclusion constraints cost an insert. `appointments` (two `EXCLUDE USING gist`
//! constraints: provider × busy range, client × appointment range, both for active rows) against
//! `appointments_nox`, a copy made in the same tenant schema with `LIKE … INCLUDING ALL` (same
//! columns, defaults, checks, primary key and btree indexes), minus the two exclusion
//! constraints, plus the same foreign keys (LIKE does not copy those). The only difference
//! between the two tables is the exclusion constraints.
//!
//! Rows: generated once into a staging table (`b2_rows`), non-overlapping per provider and per
//! client, in a pseudo-random order (bookings do not arrive in time order). Each round and
//! table: `TRUNCATE`, prefill `--prefill` rows in one statement (untimed: the gist indexes
//! then have the depth of a working calendar), `CHECKPOINT`, then insert the same `--rows`
//! rows one `INSERT` at a time through `Tenancy::tx` (the app's door: pooled connection,
//! `set_config(search_path)`), twice: one row per transaction (what a booking pays, commit
//! included) and 100 rows per transaction (the index work without the commit). Rounds
//! alternate tables; the verdict compares medians of the per-row cost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, ensure};
use chrono::{DateTime, Utc};
use diesel::sql_types::{Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Args;
use crate::common::{
    App, BenchDb, Latency, Tenant, fmt_load, latency, latency_json, median, progress, psql_on,
    verdict,
};

const TARGET_SLOWDOWN: f64 = 1.5;
const BATCH: usize = 100;
/// The same rows in one `INSERT … SELECT`: no round trips, only the insert and its indexes.
const SET_BASED: &str = "1 INSERT…SELECT";

struct Row {
    id: Uuid,
    provider: Uuid,
    client: Uuid,
    type_id: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    busy_from: DateTime<Utc>,
    busy_until: DateTime<Utc>,
}

struct Measure {
    table: &'static str,
    mode: &'static str,
    round: usize,
    wall: Duration,
    rows: usize,
    latency: Latency,
}

impl Measure {
    fn per_row_us(&self) -> f64 {
        self.wall.as_secs_f64() * 1e6 / self.rows.max(1) as f64
    }
    fn json(&self) -> Value {
        json!({"table": self.table, "mode": self.mode, "round": self.round,
               "wall_s": self.wall.as_secs_f64(), "rows": self.rows,
               "per_row_us": self.per_row_us(), "statement": latency_json(&self.latency)})
    }
}

fn parse_rows(text: &str) -> anyhow::Result<Vec<Row>> {
    let at = |s: &str| -> anyhow::Result<DateTime<Utc>> {
        let us: i64 = s.parse().with_context(|| format!("microseconds {s:?}"))?;
        DateTime::from_timestamp_micros(us).with_context(|| format!("instant {us}"))
    };
    let uuid = |s: &str| Uuid::parse_str(s).with_context(|| format!("uuid {s:?}"));
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            ensure!(f.len() == 8, "row {l:?}");
            Ok(Row {
                id: uuid(f[0])?,
                provider: uuid(f[1])?,
                client: uuid(f[2])?,
                type_id: uuid(f[3])?,
                starts_at: at(f[4])?,
                ends_at: at(f[5])?,
                busy_from: at(f[6])?,
                busy_until: at(f[7])?,
            })
        })
        .collect()
}

/// Inserts `rows` into `table`, `per_tx` rows per transaction; returns (wall, per-statement).
async fn insert_rows(
    app: &Arc<App>,
    t: &Tenant,
    table: &str,
    rows: &[Row],
    per_tx: usize,
) -> anyhow::Result<(Duration, Vec<Duration>)> {
    let sql = format!(
        "INSERT INTO {table} (id, provider_id, client_id, type_id, starts_at, ends_at, busy_from, \
         busy_until, timezone, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'UTC', 'booked')"
    );
    let mut samples = Vec::with_capacity(rows.len());
    let started = Instant::now();
    for chunk in rows.chunks(per_tx.max(1)) {
        let sql = sql.as_str();
        let took: Vec<Duration> = app
            .tenancy
            .tx(&t.tenant, async |c| {
                let mut took = Vec::with_capacity(chunk.len());
                for r in chunk {
                    let t0 = Instant::now();
                    diesel::sql_query(sql)
                        .bind::<SqlUuid, _>(r.id)
                        .bind::<SqlUuid, _>(r.provider)
                        .bind::<SqlUuid, _>(r.client)
                        .bind::<SqlUuid, _>(r.type_id)
                        .bind::<Timestamptz, _>(r.starts_at)
                        .bind::<Timestamptz, _>(r.ends_at)
                        .bind::<Timestamptz, _>(r.busy_from)
                        .bind::<Timestamptz, _>(r.busy_until)
                        .execute(c)
                        .await?;
                    took.push(t0.elapsed());
                }
                anyhow::Ok(took)
            })
            .await?;
        samples.extend(took);
    }
    Ok((started.elapsed(), samples))
}

/// The timed rows in one statement from the staging table, in the same order.
async fn insert_select(
    app: &Arc<App>,
    t: &Tenant,
    table: &str,
    from: usize,
    to: usize,
) -> anyhow::Result<(Duration, Vec<Duration>)> {
    let sql = format!(
        "INSERT INTO {table} (id, provider_id, client_id, type_id, starts_at, ends_at, busy_from, \
         busy_until, timezone, status) SELECT id, provider_id, client_id, type_id, starts_at, \
         ends_at, busy_from, busy_until, 'UTC', 'booked' FROM b2_rows \
         WHERE n >= {from} AND n < {to} ORDER BY n"
    );
    let started = Instant::now();
    let sql = sql.as_str();
    app.tenancy
        .tx(&t.tenant, async |c| {
            diesel::sql_query(sql).execute(c).await?;
            anyhow::Ok(())
        })
        .await?;
    let wall = started.elapsed();
    Ok((wall, vec![wall]))
}

pub async fn run(
    args: &Args,
    db: &BenchDb,
    t_start: Instant,
    load_start: Option<f64>,
) -> anyhow::Result<Value> {
    let providers: usize = args.get("providers", 50)?;
    let clients: usize = args.get("b2-clients", 200)?;
    let prefill: usize = args.get("prefill", 20_000)?;
    let rows_n: usize = args.get("rows", 2_000)?;
    // Five rounds: single-row commits swing with whatever else flushes WAL on the machine.
    let rounds: usize = args.get("rounds", 5)?;
    ensure!(providers >= 1, "--providers must be at least 1");
    ensure!(
        clients >= providers,
        "--b2-clients must be at least --providers (no client overlaps)"
    );
    ensure!(rows_n >= 100, "--rows must be at least 100");
    ensure!(rounds >= 1, "--rounds must be at least 1");
    let url = db.url.as_str();
    let pg_version =
        psql_on(url, "SHOW server_version").unwrap_or_else(|e| format!("unknown ({e})"));
    let durability = psql_on(
        url,
        "SELECT current_setting('fsync') || ' / ' || current_setting('synchronous_commit')",
    )
    .unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, |c| c.get());

    let app = App::new(url, 4)?;
    app.migrate_control().await?;
    let t = app.tenant("b2-insert").await?;
    let type_id = app
        .appointment_type(&t, "Bench session", 30, json!({"buffer_after_minutes": 10}))
        .await?;
    let mut provider_ids = Vec::with_capacity(providers);
    for p in 0..providers {
        provider_ids.push(app.person(&t, "provider", p, None).await?);
    }
    let mut client_ids = Vec::with_capacity(clients);
    for c in 0..clients {
        client_ids.push(app.person(&t, "client", c, None).await?);
    }
    progress(
        t_start,
        &format!("b2: tenant with {providers} providers, {clients} clients"),
    );

    // The copy without the exclusion constraints, and the rows.
    let schema = t.tenant.schema.as_str();
    let total = prefill + rows_n;
    let per_provider = total.div_ceil(providers);
    let list = |ids: &[String]| {
        ids.iter()
            .map(|i| format!("'{i}'::uuid"))
            .collect::<Vec<_>>()
            .join(",")
    };
    psql_on(
        url,
        &format!(
            r#"
SET search_path = {schema}, swiftacare_ext;
CREATE TABLE appointments_nox (LIKE appointments INCLUDING ALL);
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT conname FROM pg_constraint
           WHERE conrelid = 'appointments_nox'::regclass AND contype = 'x' LOOP
    EXECUTE format('ALTER TABLE appointments_nox DROP CONSTRAINT %I', r.conname);
  END LOOP;
  FOR r IN SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
           WHERE conrelid = 'appointments'::regclass AND contype = 'f' LOOP
    EXECUTE format('ALTER TABLE appointments_nox ADD CONSTRAINT %I %s', r.conname || '_nox', r.def);
  END LOOP;
END $$;
GRANT SELECT, INSERT, UPDATE, DELETE ON appointments_nox TO swiftacare_app;
-- Slot k of provider p: 30 minutes every 45 (10 minutes of buffer after), from tomorrow on;
-- client (p + k·P) mod C is never in two places at once because P ≤ C.
CREATE TABLE b2_rows AS
WITH p AS (SELECT * FROM unnest(ARRAY[{providers_list}]) WITH ORDINALITY AS p(id, i)),
     c AS (SELECT * FROM unnest(ARRAY[{clients_list}]) WITH ORDINALITY AS c(id, i)),
     s AS (
       SELECT p.id AS provider_id, (p.i - 1) AS pi, k,
              date_trunc('day', now()) + interval '1 day' + k * interval '45 minutes' AS starts_at
       FROM p, generate_series(0, {last_k}) AS k)
SELECT row_number() OVER (ORDER BY md5(s.pi || '-' || s.k)) - 1 AS n,
       gen_random_uuid() AS id, s.provider_id, c.id AS client_id, '{type_id}'::uuid AS type_id,
       s.starts_at, s.starts_at + interval '30 minutes' AS ends_at,
       s.starts_at AS busy_from, s.starts_at + interval '40 minutes' AS busy_until
FROM s JOIN c ON c.i - 1 = (s.pi + s.k * {providers}) % {clients};
CREATE INDEX ON b2_rows (n);
ANALYZE b2_rows;
GRANT SELECT ON b2_rows TO swiftacare_app;
"#,
            providers_list = list(&provider_ids),
            clients_list = list(&client_ids),
            last_k = per_provider.saturating_sub(1),
        ),
    )?;
    let timed = parse_rows(&psql_on(
        url,
        &format!(
            "SELECT id, provider_id, client_id, type_id, {}, {}, {}, {} FROM {schema}.b2_rows \
             WHERE n >= {prefill} AND n < {total} ORDER BY n",
            "(extract(epoch FROM starts_at) * 1000000)::bigint",
            "(extract(epoch FROM ends_at) * 1000000)::bigint",
            "(extract(epoch FROM busy_from) * 1000000)::bigint",
            "(extract(epoch FROM busy_until) * 1000000)::bigint",
        ),
    )?)?;
    ensure!(
        timed.len() == rows_n,
        "staged {} timed rows, expected {rows_n}",
        timed.len()
    );
    // The rows never overlap, so every insert into the constrained table succeeds (an
    // exclusion failure aborts the benchmark with the constraint's name).
    progress(t_start, "b2: staged rows and the copy table");

    let columns = "id, provider_id, client_id, type_id, starts_at, ends_at, busy_from, busy_until, timezone, status";
    let mut measures: Vec<Measure> = Vec::new();
    for r in 1..=rounds {
        for table in ["appointments", "appointments_nox"] {
            for (mode, per_tx) in [("1 row/tx", 1usize), ("100 rows/tx", BATCH), (SET_BASED, 0)] {
                psql_on(
                    url,
                    &format!(
                        "TRUNCATE {schema}.{table} CASCADE; \
                         INSERT INTO {schema}.{table} ({columns}) \
                         SELECT id, provider_id, client_id, type_id, starts_at, ends_at, busy_from, busy_until, 'UTC', 'booked' \
                         FROM {schema}.b2_rows WHERE n < {prefill}; \
                         ANALYZE {schema}.{table}; CHECKPOINT;"
                    ),
                )?;
                let (wall, samples) = if per_tx == 0 {
                    insert_select(&app, &t, table, prefill, total).await
                } else {
                    insert_rows(&app, &t, table, &timed, per_tx).await
                }
                .map_err(|e| anyhow!("inserting into {table} ({mode}): {e:#}"))?;
                measures.push(Measure {
                    table,
                    mode,
                    round: r,
                    wall,
                    rows: timed.len(),
                    latency: latency(&samples),
                });
            }
        }
        progress(t_start, &format!("b2: round {r}/{rounds} done"));
    }

    // ------------------------------------------------------------ report
    let when = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    println!();
    println!("B2 exclusion-constraint insert cost — {when}");
    println!(
        "{providers} providers, {clients} clients; per round and table: prefill {prefill} rows (untimed), then {rows_n} single-row INSERTs"
    );
    println!(
        "machine: {cpus} CPUs; PostgreSQL {pg_version}; fsync / synchronous_commit: {durability}"
    );
    println!(
        "1-minute load average before the run: {} (more than ~0.5 = something else was running; rerun)",
        fmt_load(load_start)
    );
    println!();
    println!(
        "  {:<40} {:>9} {:>11} {:>12} {:>12}",
        "round", "wall s", "µs per row", "stmt p50 ms", "stmt p99 ms"
    );
    for m in &measures {
        println!(
            "  {:<40} {:>9.3} {:>11.1} {:>12.3} {:>12.3}",
            format!("{}. {} ({})", m.round, m.table, m.mode),
            m.wall.as_secs_f64(),
            m.per_row_us(),
            m.latency.p50,
            m.latency.p99,
        );
    }
    println!();
    let mut verdicts = Vec::new();
    for mode in ["1 row/tx", "100 rows/tx", SET_BASED] {
        let per_row = |table: &str| -> Vec<f64> {
            measures
                .iter()
                .filter(|m| m.table == table && m.mode == mode)
                .map(Measure::per_row_us)
                .collect()
        };
        let with = median(&per_row("appointments"));
        let without = median(&per_row("appointments_nox"));
        let ratio = with / without;
        // The same comparison round by round (the two tables a few seconds apart): steadier
        // when the machine's load changes between rounds.
        let paired: Vec<f64> = per_row("appointments")
            .iter()
            .zip(per_row("appointments_nox"))
            .map(|(w, wo)| w / wo)
            .collect();
        let paired_median = median(&paired);
        let pass = ratio <= TARGET_SLOWDOWN;
        println!(
            "  {mode:<16} median µs per row: with exclusion {with:.1}, without {without:.1} → {ratio:.2}× (target ≤ {TARGET_SLOWDOWN}×) {}",
            verdict(pass)
        );
        println!(
            "  {:<16} per-round ratios {} → median {paired_median:.2}×",
            "",
            paired
                .iter()
                .map(|r| format!("{r:.2}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        verdicts.push(json!({"mode": mode, "with_us": with, "without_us": without,
                              "ratio": ratio, "pass": pass, "per_round_ratios": paired,
                              "per_round_ratio_median": paired_median}));
    }
    println!(
        "  (\"1 row/tx\" is what one booking pays, commit included; \"100 rows/tx\" leaves out the commit;\n   \"{SET_BASED}\" leaves out the round trips too: the insert and its index work alone)"
    );
    println!();
    println!("total run time {:.1} s", t_start.elapsed().as_secs_f64());
    Ok(json!({
        "bench": "b2_insert",
        "when": when,
        "args": {"providers": providers, "clients": clients, "prefill": prefill, "rows": rows_n,
                 "rounds": rounds},
        "machine": {"cpus": cpus, "postgres": pg_version, "durability": durability,
                    "load_average_before": load_start},
        "measures": measures.iter().map(Measure::json).collect::<Vec<_>>(),
        "verdicts": verdicts,
        "target_slowdown": TARGET_SLOWDOWN,
        "total_s": t_start.elapsed().as_secs_f64(),
    }))
}

//! B1 — booking throughput: `POST /api/v1/appointments` through the whole app (session check,
//! tenant resolution, one tenant transaction holding the reach and time checks, the insert
//! guarded by the exclusion constraints, the appointment event, the audit row and the reply's
//! names) at 8/32/64 concurrent clients, against `pgbench` running the same SQL statements on
//! the same database and tenant schema, in alternating rounds.
//!
//! Every client `w` books for provider `w` and client `w` (both created through the API), at
//! its own consecutive 15-minute slots, so no booking conflicts with another and every request
//! should answer 201; the pgbench clients do the same with `:client_id`. The admin books (staff
//! booking): the per-client hoarding limits apply to clients booking themselves only.
//!
//! The script was updated by hand when booking began writing its reminder jobs to the outbox
//! and building its reply before the audit record (the policy read, two outbox inserts, and
//! the name look-ups moved before the chain lock), and again when the provider's zone came
//! from the hours already read instead of a second query; recapture to check it.
//!
//! The pgbench script ([`SCRIPT`]) was written from the statements PostgreSQL logged for one
//! booking (`--capture 1` sets `log_statement = all` on the bench database for one booking:
//! compare the server log with the script whenever `booking::book` changes).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use chrono::{DateTime, Utc};
use poem::http::Method;
use serde_json::{Value, json};

use crate::Args;
use crate::common::{
    App, BenchDb, Latency, Tenant, fmt_load, latency, latency_json, median, progress, psql_on,
    verdict,
};

const TARGET_RATIO: f64 = 0.7;
/// Slot length; working hours are 00:00–23:55 UTC every day, so 95 slots a day.
const SLOT_MINUTES: i64 = 15;
const SLOTS_PER_DAY: i64 = 95;
/// Staff may book up to two years ahead; stop well before.
const MAX_DAYS_AHEAD: i64 = 700;

/// The statements one staff booking sends, in order, as PostgreSQL logged them (`--capture 1`,
/// 2026-11-24): the session check (`identity::service::authenticate`, its own transaction),
/// then `booking::book`. Each transaction starts with the pool's `SELECT $1` check (deadpool's
/// verified recycling) and `set_config('search_path', …, true)` (the tenancy door).
///
/// Differences from the app, all small (both now prepare `set_config` once per connection;
/// until branch `slots-b3` diesel prepared it again in every transaction); ids are made in SQL (time-ordered like the app's UUIDv7s); the audit hash is SHA-256 in SQL
/// where the app hashes the entry in Rust; the audit insert returns its hash for the head update.
/// pgbench variables: `-D first,t,init,base,type_id,account,schema`; `:client_id` is the worker;
/// `{schema}` is replaced by the tenant's schema when the script is written.
const SCRIPT: &str = r#"\if :init = 0
SELECT provider_id AS p, client_id AS c, '{' || provider_id || '}' AS parr,
       '{' || client_id || '}' AS carr, '{' || provider_id || ',' || client_id || '}' AS pcarr,
       '{' || :type_id::text || '}' AS tarr,
       (SELECT id FROM {schema}.sessions WHERE account_id = :account::uuid AND revoked_at IS NULL
        ORDER BY created_at DESC LIMIT 1) AS sid
FROM {schema}.b1_workers WHERE w = :client_id \gset
SET ROLE swiftacare_app;
\set init 1
\endif
\set t :t + 1
\set k :first + :t
\set st :base + (:k / 95) * 86400 + (:k % 95) * 900
\set en :st + 900
SELECT 1;
BEGIN;
SELECT set_config('search_path', :schema, true);
SELECT "security_policy"."session_idle_minutes", "security_policy"."session_max_hours", "security_policy"."mfa_required_roles", "security_policy"."updated_at", "security_policy"."version" FROM "security_policy" LIMIT 1;
SELECT "sessions"."id", "sessions"."account_id", "accounts"."person_id", "accounts"."email", "sessions"."expires_at", "sessions"."last_seen_at", "sessions"."mfa_enrolment_required" FROM ("sessions" INNER JOIN "accounts" ON ("sessions"."account_id" = "accounts"."id")) WHERE ((((("sessions"."id" = :sid) AND ("sessions"."revoked_at" IS NULL)) AND ("sessions"."expires_at" > CURRENT_TIMESTAMP)) AND ("sessions"."last_seen_at" > now() - interval '30 minutes')) AND ("accounts"."status" = 'active')) LIMIT 1;
SELECT "role_grants"."role", "role_grants"."department_id" FROM "role_grants" WHERE ("role_grants"."account_id" = :account) ORDER BY "role_grants"."role", "role_grants"."department_id";
COMMIT;
SELECT 1;
BEGIN;
SELECT set_config('search_path', :schema, true);
SELECT "people"."id", "people"."kind", "people"."given_name", "people"."family_name", "people"."email", "people"."department_id", "people"."status", "people"."created_at", "people"."updated_at", "people"."version" FROM "people" WHERE ("people"."id" = :p) LIMIT 1;
SELECT "people"."id", "people"."kind", "people"."given_name", "people"."family_name", "people"."email", "people"."department_id", "people"."status", "people"."created_at", "people"."updated_at", "people"."version" FROM "people" WHERE ("people"."id" = :c) LIMIT 1;
SELECT "appointment_types"."id", "appointment_types"."name", "appointment_types"."duration_minutes", "appointment_types"."buffer_before_minutes", "appointment_types"."buffer_after_minutes", "appointment_types"."slot_interval_minutes", "appointment_types"."min_notice_minutes", "appointment_types"."max_advance_days", "appointment_types"."cancellation_window_minutes", "appointment_types"."modality", "appointment_types"."location_id", "appointment_types"."client_bookable", "appointment_types"."requires_approval", "appointment_types"."department_id", "appointment_types"."active", "appointment_types"."created_at", "appointment_types"."updated_at", "appointment_types"."version" FROM "appointment_types" WHERE ("appointment_types"."id" = :type_id) LIMIT 1;
SELECT "provider_schedules"."provider_id", "provider_schedules"."timezone" FROM "provider_schedules" WHERE ("provider_schedules"."provider_id" = ANY(:parr));
SELECT "availability_rules"."provider_id", "availability_rules"."id", "availability_rules"."weekday", "availability_rules"."start_time", "availability_rules"."end_time", "availability_rules"."location_id", "availability_rules"."valid_from", "availability_rules"."valid_until" FROM "availability_rules" WHERE ("availability_rules"."provider_id" = ANY(:parr));
SELECT "availability_overrides"."id", "availability_overrides"."provider_id", "availability_overrides"."on_date", "availability_overrides"."kind", "availability_overrides"."start_time", "availability_overrides"."end_time", "availability_overrides"."location_id" FROM "availability_overrides" WHERE (("availability_overrides"."provider_id" = ANY(:parr)) AND ("availability_overrides"."on_date" BETWEEN (to_timestamp(:st)::date - 2) AND (to_timestamp(:st)::date + 2)));
INSERT INTO "appointments" ("id", "provider_id", "client_id", "type_id", "location_id", "series_id", "occurrence_local", "starts_at", "ends_at", "busy_from", "busy_until", "timezone", "status", "booked_by") VALUES ((lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7' || substr(md5(random()::text), 1, 19))::uuid, :p, :c, :type_id, DEFAULT, DEFAULT, DEFAULT, to_timestamp(:st), to_timestamp(:en), to_timestamp(:st), to_timestamp(:en), 'UTC', 'booked', :account) RETURNING "appointments"."id", "appointments"."provider_id", "appointments"."client_id", "appointments"."type_id", "appointments"."location_id", "appointments"."series_id", "appointments"."occurrence_local", "appointments"."series_exception", "appointments"."starts_at", "appointments"."ends_at", "appointments"."busy_from", "appointments"."busy_until", "appointments"."timezone", "appointments"."status", "appointments"."cancelled_by", "appointments"."late_cancellation", "appointments"."booked_by", "appointments"."created_at", "appointments"."updated_at", "appointments"."version" \gset a_
INSERT INTO "appointment_events" ("id", "appointment_id", "actor_account", "action", "from_status", "to_status", "reason_code", "late", "previous_start", "previous_end") VALUES ((lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7' || substr(md5(random()::text), 1, 19))::uuid, :a_id, :account, 'booked', NULL, 'booked', NULL, false, NULL, NULL);
SELECT "scheduling_policy"."reminders_enabled", "scheduling_policy"."reminder_offsets_minutes", "scheduling_policy"."reminder_channels" FROM "scheduling_policy" LIMIT 1;
INSERT INTO "swiftacare_jobs"."outbox" ("id", "tenant_id", "kind", "payload", "available_at") VALUES ((lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7' || substr(md5(random()::text), 1, 19))::uuid, 1, 'reminder.send', json_build_object('appointment_id', :a_id::uuid, 'offset_minutes', 2880, 'channel', 'email', 'starts_at', to_timestamp(:st))::jsonb, to_timestamp(:st) - interval '2880 minutes');
INSERT INTO "swiftacare_jobs"."outbox" ("id", "tenant_id", "kind", "payload", "available_at") VALUES ((lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7' || substr(md5(random()::text), 1, 19))::uuid, 1, 'reminder.send', json_build_object('appointment_id', :a_id::uuid, 'offset_minutes', 120, 'channel', 'email', 'starts_at', to_timestamp(:st))::jsonb, to_timestamp(:st) - interval '120 minutes');
SELECT "people"."id", "people"."given_name", "people"."family_name" FROM "people" WHERE ("people"."id" = ANY(:pcarr));
SELECT "appointment_types"."id", "appointment_types"."name" FROM "appointment_types" WHERE ("appointment_types"."id" = ANY(:tarr));
SELECT "audit_head"."seq", "audit_head"."hash" FROM "audit_head" LIMIT 1 FOR UPDATE \gset h_
\set nseq :h_seq + 1
INSERT INTO "audit_log" ("seq", "occurred_at", "actor_type", "actor_id", "action", "resource_type", "resource_id", "subjects", "outcome", "request_id", "details", "prev_hash", "hash") VALUES (:nseq, clock_timestamp(), 'account', :account, 'appointment.create', 'appointment', :a_id, :carr, 'success', :a_id, '{"status": "booked"}', :h_hash, sha256(:h_hash::bytea || convert_to(:nseq::text || :a_id::text || :account::text, 'UTF8'))) RETURNING "hash" \gset n_
UPDATE "audit_head" SET "seq" = :nseq, "hash" = :n_hash;
COMMIT;
"#;

/// `--diagnose 1`: the same script without the audit chain's head row — no `SELECT … FOR
/// UPDATE` of `audit_head`, no head update; the audit row is still written, numbered from a
/// sequence. Run by pgbench only, to measure what the per-tenant chain lock costs.
fn script_without_chain_lock(script: &str) -> String {
    script
        .lines()
        .filter(|l| !l.contains("FROM \"audit_head\"") && !l.starts_with("UPDATE \"audit_head\""))
        .map(|l| {
            if l.starts_with("\\set nseq") {
                "SELECT nextval('b1_diag_seq') AS nseq, '\\x00'::bytea AS h_hash \\gset".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

struct Setup {
    tenant: Tenant,
    type_id: String,
    /// (provider, client) per worker.
    workers: Vec<(String, String)>,
    /// Midnight UTC tomorrow: slot 0.
    base: DateTime<Utc>,
}

fn slot_start(base: DateTime<Utc>, t: i64) -> DateTime<Utc> {
    base + chrono::Duration::days(t / SLOTS_PER_DAY)
        + chrono::Duration::minutes((t % SLOTS_PER_DAY) * SLOT_MINUTES)
}

/// One arm of one round.
struct Arm {
    arm: &'static str,
    clients: usize,
    round: usize,
    ok: u64,
    failed: u64,
    wall: Duration,
    tps: f64,
    latency: Option<Latency>,
    note: String,
}

impl Arm {
    fn json(&self) -> Value {
        json!({"arm": self.arm, "clients": self.clients, "round": self.round, "ok": self.ok,
               "failed": self.failed, "wall_s": self.wall.as_secs_f64(), "tps": self.tps,
               "latency": self.latency.as_ref().map(latency_json), "note": self.note})
    }
}

async fn setup(app: &App, workers: usize) -> anyhow::Result<Setup> {
    let tenant = app.tenant("b1-booking").await?;
    let type_id = app
        .appointment_type(&tenant, "Bench session", SLOT_MINUTES as i32, json!({}))
        .await?;
    let mut pairs = Vec::with_capacity(workers);
    for w in 0..workers {
        let provider = app.person(&tenant, "provider", w, None).await?;
        app.hours(&tenant, &provider, "UTC", "00:00", "23:55")
            .await?;
        let client = app.person(&tenant, "client", w, None).await?;
        pairs.push((provider, client));
    }
    let base = (Utc::now().date_naive() + chrono::Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .context("midnight")?
        .and_utc();
    Ok(Setup {
        tenant,
        type_id,
        workers: pairs,
        base,
    })
}

/// The next free slot index: one past the latest booking so far.
fn next_slot(db: &BenchDb, s: &Setup) -> anyhow::Result<i64> {
    let schema = s.tenant.tenant.schema.as_str();
    let latest = psql_on(
        &db.url,
        &format!(
            "SELECT coalesce(extract(epoch FROM max(starts_at))::bigint, 0) FROM {schema}.appointments"
        ),
    )?;
    let latest: i64 = latest.parse().context("max(starts_at)")?;
    if latest == 0 {
        return Ok(0);
    }
    let since = latest - s.base.timestamp();
    let t = since / 86_400 * SLOTS_PER_DAY + (since % 86_400) / (SLOT_MINUTES * 60);
    ensure!(
        t / SLOTS_PER_DAY < MAX_DAYS_AHEAD,
        "the benchmark used up its {MAX_DAYS_AHEAD} days of slots: use fewer or shorter rounds"
    );
    Ok(t + 1)
}

/// `clients` tasks book for `secs`, each on its own provider from slot `first` on.
async fn app_round(
    app: &Arc<App>,
    s: &Setup,
    clients: usize,
    first: i64,
    secs: f64,
) -> anyhow::Result<(u64, u64, Duration, Vec<Duration>, String)> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(secs);
    let mut handles = Vec::with_capacity(clients);
    for w in 0..clients {
        let app = app.clone();
        let (provider, client) = s.workers[w].clone();
        let (slug, bearer, type_id, base) = (
            s.tenant.slug().to_owned(),
            s.tenant.bearer.clone(),
            s.type_id.clone(),
            s.base,
        );
        handles.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut failed = 0u64;
            let mut first_error = None;
            let mut t = first;
            while Instant::now() < deadline {
                let body = json!({"provider_id": provider, "client_id": client, "type_id": type_id,
                                  "starts_at": slot_start(base, t).to_rfc3339()});
                t += 1;
                let t0 = Instant::now();
                let (status, _, v) = app
                    .call(
                        Method::POST,
                        &slug,
                        Some(&bearer),
                        "/api/v1/appointments",
                        None,
                        Some(body),
                    )
                    .await?;
                let took = t0.elapsed();
                if status == 201 {
                    samples.push(took);
                } else {
                    failed += 1;
                    first_error.get_or_insert_with(|| format!("{status} {v}"));
                }
            }
            anyhow::Ok((samples, failed, first_error))
        }));
    }
    let mut samples = Vec::new();
    let mut failed = 0;
    let mut note = String::new();
    for h in handles {
        let (s, f, e) = h.await.map_err(|e| anyhow!("booking task: {e}"))??;
        samples.extend(s);
        failed += f;
        if let (true, Some(e)) = (note.is_empty(), e) {
            note = format!("first failure: {e}");
        }
    }
    let wall = started.elapsed();
    Ok((samples.len() as u64, failed, wall, samples, note))
}

/// What pgbench printed that the report needs.
struct PgbenchOut {
    processed: u64,
    failed: u64,
    tps: f64,
    latency_ms: f64,
    aborted: bool,
    stderr_tail: String,
}

fn field<'a>(out: &'a str, prefix: &str) -> Option<&'a str> {
    out.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .map(str::trim)
}

#[expect(
    clippy::too_many_arguments,
    reason = "one argument per pgbench variable"
)]
fn pgbench_round(
    db: &BenchDb,
    s: &Setup,
    script: &std::path::Path,
    clients: usize,
    first: i64,
    secs: f64,
    account: &str,
    schema: &str,
) -> anyhow::Result<PgbenchOut> {
    let out = std::process::Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-f"])
        .arg(script)
        .args(["-c", &clients.to_string(), "-j", "2"])
        .args(["-T", &format!("{}", secs.ceil() as u64)])
        .args(["-D", &format!("first={first}")])
        .args(["-D", "t=-1", "-D", "init=0"])
        .args(["-D", &format!("base={}", s.base.timestamp())])
        .args(["-D", &format!("type_id={}", s.type_id)])
        .args(["-D", &format!("account={account}")])
        .args(["-D", &format!("schema={schema}")])
        .arg(&db.url)
        .output()
        .context("running pgbench")?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let processed = field(&stdout, "number of transactions actually processed:")
        .and_then(|v| v.split('/').next())
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("pgbench printed no transaction count:\n{stdout}\n{stderr}"))?;
    let failed = field(&stdout, "number of failed transactions:")
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let tps = field(&stdout, "tps =")
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("pgbench printed no tps:\n{stdout}\n{stderr}"))?;
    let latency_ms = field(&stdout, "latency average =")
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
    Ok(PgbenchOut {
        processed,
        failed,
        tps,
        latency_ms,
        aborted: stderr.contains("aborted") || !out.status.success(),
        stderr_tail: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
    })
}

fn pgbench_available() -> bool {
    std::process::Command::new("pgbench")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

pub async fn run(
    args: &Args,
    db: &BenchDb,
    t_start: Instant,
    load_start: Option<f64>,
) -> anyhow::Result<Value> {
    let clients = args.list("clients", &[8, 32, 64])?;
    let secs: f64 = args.get("secs", 10.0)?;
    let rounds: usize = args.get("rounds", 3)?;
    let pool: usize = args.get("pool", 16)?;
    let capture: u8 = args.get("capture", 0)?;
    let diagnose: u8 = args.get("diagnose", 0)?;
    ensure!(
        !clients.is_empty() && clients.iter().all(|&c| c >= 1),
        "--clients needs numbers ≥ 1"
    );
    ensure!(secs >= 1.0, "--secs must be at least 1");
    ensure!(rounds >= 1, "--rounds must be at least 1");
    let workers = clients.iter().copied().max().unwrap_or(1);
    let pg_version =
        psql_on(&db.url, "SHOW server_version").unwrap_or_else(|e| format!("unknown ({e})"));
    let cpus = std::thread::available_parallelism().map_or(0, |c| c.get());

    if capture != 0 {
        psql_on(
            &db.url,
            &format!("ALTER DATABASE {} SET log_statement = 'all'", db.name),
        )?;
    }
    let app = App::new(&db.url, pool)?;
    app.migrate_control().await?;
    let mut s = setup(&app, workers).await?;
    progress(
        t_start,
        &format!("b1: tenant with {workers} providers and clients"),
    );
    let schema = s.tenant.tenant.schema.as_str().to_owned();
    // The pgbench clients look their provider and client up here, once per connection.
    let mut workers_sql = format!(
        "CREATE TABLE {schema}.b1_workers (w int PRIMARY KEY, provider_id uuid NOT NULL, client_id uuid NOT NULL);\n"
    );
    for (w, (p, c)) in s.workers.iter().enumerate() {
        workers_sql.push_str(&format!(
            "INSERT INTO {schema}.b1_workers VALUES ({w}, '{p}', '{c}');\n"
        ));
    }
    psql_on(&db.url, &workers_sql)?;
    let account = psql_on(
        &db.url,
        &format!("SELECT id FROM {schema}.accounts WHERE email = 'admin@b1-booking.test'"),
    )?;
    ensure!(!account.is_empty(), "no admin account row found");
    if capture != 0 {
        // One booking on fresh pooled connections (they were opened after the ALTER).
        let first = next_slot(db, &s)?;
        let (ok, failed, _, _, note) = app_round(&app, &s, 1, first, 0.001).await?;
        psql_on(
            &db.url,
            &format!("ALTER DATABASE {} RESET log_statement", db.name),
        )?;
        println!(
            "b1 --capture: {ok} booking(s) ({failed} failed {note}) logged with log_statement = all; \
             read the server log for database {}",
            db.name
        );
        return Ok(json!({"bench": "b1_booking", "capture": true}));
    }

    let have_pgbench = pgbench_available();
    let script_dir = tempfile::Builder::new()
        .prefix("b1-pgbench-")
        .tempdir()
        .context("temp dir")?;
    let script = script_dir.path().join("booking.sql");
    let script_text = SCRIPT.replace("{schema}", &schema);
    std::fs::write(&script, &script_text).context("writing the pgbench script")?;
    let diag_script = script_dir.path().join("booking-no-chain-lock.sql");
    if diagnose != 0 {
        std::fs::write(&diag_script, script_without_chain_lock(&script_text))
            .context("writing the diagnostic script")?;
        psql_on(
            &db.url,
            &format!(
                "CREATE SEQUENCE {schema}.b1_diag_seq START 1000000000; \
                 GRANT USAGE ON SEQUENCE {schema}.b1_diag_seq TO swiftacare_app;"
            ),
        )?;
    }

    // Warm-up (untimed): opens the app's pooled connections and fills their statement caches.
    let first = next_slot(db, &s)?;
    app_round(&app, &s, workers, first, 2.0).await?;
    progress(t_start, "b1: warmed up");

    let mut arms: Vec<Arm> = Vec::new();
    for &n in &clients {
        for r in 1..=rounds {
            // The access token lives 10 minutes; sign in again before each round.
            app.login(&mut s.tenant).await?;
            let first = next_slot(db, &s)?;
            let (ok, failed, wall, samples, note) = app_round(&app, &s, n, first, secs).await?;
            arms.push(Arm {
                arm: "app",
                clients: n,
                round: r,
                ok,
                failed,
                wall,
                tps: ok as f64 / wall.as_secs_f64(),
                latency: Some(latency(&samples)),
                note,
            });
            if have_pgbench {
                let first = next_slot(db, &s)?;
                let started = Instant::now();
                let out = pgbench_round(db, &s, &script, n, first, secs, &account, &schema)?;
                let note = if out.aborted {
                    format!("pgbench aborted a client: {}", out.stderr_tail)
                } else {
                    String::new()
                };
                arms.push(Arm {
                    arm: "pgbench",
                    clients: n,
                    round: r,
                    ok: out.processed,
                    failed: out.failed,
                    wall: started.elapsed(),
                    tps: out.tps,
                    latency: Some(Latency {
                        n: out.processed as usize,
                        p50: f64::NAN,
                        p90: f64::NAN,
                        p99: f64::NAN,
                        max: f64::NAN,
                        mean: out.latency_ms,
                    }),
                    note,
                });
            }
            if have_pgbench && diagnose != 0 {
                let first = next_slot(db, &s)?;
                let started = Instant::now();
                let out = pgbench_round(db, &s, &diag_script, n, first, secs, &account, &schema)?;
                arms.push(Arm {
                    arm: "pgbench, no chain lock",
                    clients: n,
                    round: r,
                    ok: out.processed,
                    failed: out.failed,
                    wall: started.elapsed(),
                    tps: out.tps,
                    latency: Some(Latency {
                        n: out.processed as usize,
                        p50: f64::NAN,
                        p90: f64::NAN,
                        p99: f64::NAN,
                        max: f64::NAN,
                        mean: out.latency_ms,
                    }),
                    note: if out.aborted {
                        format!("pgbench aborted a client: {}", out.stderr_tail)
                    } else {
                        String::new()
                    },
                });
            }
            progress(
                t_start,
                &format!("b1: {n} clients, round {r}/{rounds} done"),
            );
        }
    }
    let total_rows = psql_on(
        &db.url,
        &format!("SELECT count(*) FROM {schema}.appointments"),
    )?;
    let audit_rows = psql_on(
        &db.url,
        &format!("SELECT count(*) FROM {schema}.audit_log WHERE action = 'appointment.create'"),
    )?;

    // ------------------------------------------------------------ report
    let when = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    println!();
    println!("B1 booking throughput — {when}");
    println!(
        "clients {clients:?}, {secs} s per arm, rounds = {rounds}, app pool = {pool} connections"
    );
    println!("machine: {cpus} CPUs; PostgreSQL {pg_version}; app in-process (poem TestClient)");
    println!(
        "1-minute load average before the run: {} (more than ~0.5 = something else was running; rerun)",
        fmt_load(load_start)
    );
    if !have_pgbench {
        println!();
        println!("pgbench not found: the ceiling is skipped (no ratio). Install it with");
        println!(
            "  apt-get install postgresql-contrib   (Debian/Ubuntu; pgbench ships with the client)"
        );
    }
    println!();
    println!(
        "  {:<34} {:>7} {:>7} {:>9} {:>9} {:>9} {:>9}  note",
        "round", "ok", "failed", "tps", "p50 ms", "p99 ms", "mean ms"
    );
    for a in &arms {
        let l = a.latency.unwrap_or(Latency {
            n: 0,
            p50: f64::NAN,
            p90: f64::NAN,
            p99: f64::NAN,
            max: f64::NAN,
            mean: f64::NAN,
        });
        println!(
            "  {:<34} {:>7} {:>7} {:>9.1} {:>9.2} {:>9.2} {:>9.2}  {}",
            format!("{} × {} #{}", a.arm, a.clients, a.round),
            a.ok,
            a.failed,
            a.tps,
            l.p50,
            l.p99,
            l.mean,
            a.note
        );
    }
    println!();
    let mut verdicts = Vec::new();
    for &n in &clients {
        let tps = |arm: &str| -> Vec<f64> {
            arms.iter()
                .filter(|a| a.arm == arm && a.clients == n)
                .map(|a| a.tps)
                .collect()
        };
        let app_tps = median(&tps("app"));
        let pg_tps = median(&tps("pgbench"));
        let ratio = app_tps / pg_tps;
        let diag_tps = median(&tps("pgbench, no chain lock"));
        if diagnose != 0 && have_pgbench {
            println!(
                "  {n:>3} clients: diagnostic — pgbench without the audit_head lock: median tps {diag_tps:.1} ({:.2}× the full script)",
                diag_tps / pg_tps
            );
        }
        if have_pgbench {
            let pass = ratio >= TARGET_RATIO;
            println!(
                "  {n:>3} clients: median tps app {app_tps:.1}, pgbench {pg_tps:.1} → ratio {ratio:.2} (target ≥ {TARGET_RATIO}) {}",
                verdict(pass)
            );
            verdicts.push(
                json!({"clients": n, "app_tps": app_tps, "pgbench_tps": pg_tps,
                                  "ratio": ratio, "pass": pass}),
            );
        } else {
            println!("  {n:>3} clients: median tps app {app_tps:.1} (no ceiling)");
            verdicts.push(json!({"clients": n, "app_tps": app_tps}));
        }
    }
    println!();
    println!(
        "  rows at the end: {total_rows} appointments, {audit_rows} appointment.create audit rows (app + pgbench)"
    );
    println!(
        "  not measured: TLS and HTTP parsing (the outbox rows of the reminders are in both arms)"
    );
    println!();
    println!("total run time {:.1} s", t_start.elapsed().as_secs_f64());
    if arms.iter().any(|a| a.failed > 0 || !a.note.is_empty()) {
        println!("(some requests failed: see the note column; their time is not in the tps)");
    }
    if verdicts.is_empty() {
        bail!("no rounds ran");
    }
    Ok(json!({
        "bench": "b1_booking",
        "when": when,
        "args": {"clients": clients, "secs": secs, "rounds": rounds, "pool": pool,
                 "diagnose": diagnose != 0},
        "machine": {"cpus": cpus, "postgres": pg_version, "load_average_before": load_start},
        "pgbench": have_pgbench,
        "script": script_text,
        "arms": arms.iter().map(Arm::json).collect::<Vec<_>>(),
        "verdicts": verdicts,
        "target_ratio": TARGET_RATIO,
        "total_s": t_start.elapsed().as_secs_f64(),
    }))
}

//! QUALITY B6 — tenants 1 → N: create, migrate all, request latency on random tenants.
//!
//! Ceiling: the same request on one tenant, measured in the same run. Targets: p99 ratio
//! (random tenants / one tenant) ≤ 1.2; migration time linear in tenants.
//!
//! Run: `cargo bench -p swiftacare --bench b6_tenants -- [--tenants N] [--requests R]`
//! (env `B6_TENANTS`, `B6_REQUESTS`, `B6_SAMPLE`, `B6_ROUNDS`, `B6_SEED` too; flags win).
//! See `ops/bench/README.md` for what each figure means.
//!
//! The program:
//! 1. creates a fresh database `swiftacare_bench_<pid>` (dropped at the end, also on error);
//! 2. migrates control; creates tenant #1 fully (admin, session, departments) and measures
//!    its latency while it is the only tenant (informational);
//! 3. creates tenants 2..=N/10 (`provision::create`, concurrency 4), then runs `migrate_all`
//!    with one new trivial migration over those N/10 tenants (t_small);
//! 4. creates tenants N/10+1..=N, then runs `migrate_all` with another new trivial migration
//!    over all N tenants (t_all); per-tenant t_all / per-tenant t_small ≈ 1 means linear;
//! 5. gives a random sample of tenants an admin session, then alternates latency rounds:
//!    one tenant (the ceiling), random tenants, one tenant, … and compares median p99s.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel_migrations::FileBasedMigrations;
use futures::StreamExt;
use metrics_exporter_prometheus::PrometheusHandle;
use poem::EndpointExt;
use poem::endpoint::BoxEndpoint;
use poem::http::StatusCode;
use poem::test::TestClient;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use swiftacare_api::app::{self, AppState};
use tenancy::migrate::{self, MigrationReport, TENANT_MIGRATIONS};
use tenancy::provision;
use tenancy::{ShardId, Slug, Tenancy, TenancyOptions, TenantKind, TenantRef};

const PASSWORD: &str = "correct horse battery staple";
/// Departments created in every tenant that serves requests, so every response has one shape.
const DEPARTMENTS: usize = 3;
/// Concurrency of tenant creation and of `migrate_all` (the CLI's default too).
const CONCURRENCY: usize = 4;
const TARGET_P99_RATIO: f64 = 1.2;
const ROUTE: &str = "/api/v1/departments";

// ---------------------------------------------------------------- arguments

#[derive(Debug, Clone)]
struct Args {
    tenants: usize,
    requests: usize,
    sample: usize,
    rounds: usize,
    seed: u64,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| anyhow!("{name}={v:?} is not a valid number")),
        Err(_) => Ok(default),
    }
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        tenants: env_or("B6_TENANTS", 1000)?,
        requests: env_or("B6_REQUESTS", 2000)?,
        sample: env_or("B6_SAMPLE", 50)?,
        rounds: env_or("B6_ROUNDS", 3)?,
        seed: env_or("B6_SEED", 0x00b6_5eed)?,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let slot: Option<&mut usize> = match flag.as_str() {
            "--tenants" => Some(&mut args.tenants),
            "--requests" => Some(&mut args.requests),
            "--sample" => Some(&mut args.sample),
            "--rounds" => Some(&mut args.rounds),
            "--seed" => None,
            // `cargo bench` passes `--bench` to every harness-less bench binary.
            "--bench" => continue,
            other => {
                eprintln!("b6: ignoring unknown argument {other:?}");
                continue;
            }
        };
        let value = match inline {
            Some(v) => v,
            None => it.next().with_context(|| format!("{flag} needs a value"))?,
        };
        match slot {
            Some(s) => {
                *s = value
                    .parse()
                    .map_err(|_| anyhow!("{flag} {value:?} is not a number"))?
            }
            None => {
                args.seed = value
                    .parse()
                    .map_err(|_| anyhow!("--seed {value:?} is not a number"))?
            }
        }
    }
    ensure!(
        args.tenants >= 20,
        "--tenants must be at least 20 (N/10 tenants form the small migration scale)"
    );
    ensure!(args.requests >= 100, "--requests must be at least 100");
    ensure!(args.rounds >= 1, "--rounds must be at least 1");
    args.sample = args.sample.clamp(1, args.tenants - 1);
    Ok(args)
}

// ---------------------------------------------------------------- database guard

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn psql(sql: &str) -> anyhow::Result<String> {
    let out = std::process::Command::new("psql")
        .arg(admin_url())
        .args(["-X", "-v", "ON_ERROR_STOP=1", "-qtAc", sql])
        .output()
        .context("running psql (is it installed?)")?;
    ensure!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The benchmark's own database; dropped when the guard drops (normal end, `?`, or panic).
struct BenchDb {
    name: String,
    url: String,
}

impl BenchDb {
    fn create() -> anyhow::Result<BenchDb> {
        let name = format!("swiftacare_bench_{}", std::process::id());
        psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        psql(&format!("CREATE DATABASE {name}"))?;
        let admin = admin_url();
        let (base, _) = admin
            .rsplit_once('/')
            .context("TEST_DATABASE_URL needs a database path")?;
        Ok(BenchDb {
            url: format!("{base}/{name}"),
            name,
        })
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        // WITH (FORCE) ends the pooled connections that are still open.
        match psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )) {
            Ok(_) => eprintln!("b6: dropped database {}", self.name),
            Err(e) => eprintln!("b6: could not drop database {}: {e:#}", self.name),
        }
    }
}

// ---------------------------------------------------------------- statistics

#[derive(Debug, Clone, Copy)]
struct Latency {
    n: usize,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

/// Nearest-rank percentiles, in milliseconds.
fn latency(samples: &[Duration]) -> Latency {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    let at = |q: f64| {
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n.max(1));
        ms.get(rank - 1).copied().unwrap_or(f64::NAN)
    };
    Latency {
        n,
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: ms.last().copied().unwrap_or(f64::NAN),
        mean: ms.iter().sum::<f64>() / n.max(1) as f64,
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn latency_json(l: &Latency) -> Value {
    json!({"n": l.n, "p50_ms": l.p50, "p90_ms": l.p90, "p99_ms": l.p99, "max_ms": l.max, "mean_ms": l.mean})
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// ---------------------------------------------------------------- the application under test

type Client = TestClient<BoxEndpoint<'static>>;

struct Bench {
    tenancy: Tenancy,
    client: Client,
    metrics: PrometheusHandle,
}

/// A tenant that can serve authenticated requests.
#[derive(Clone)]
struct Session {
    slug: Slug,
    bearer: String,
}

fn slug_for(i: usize) -> anyhow::Result<Slug> {
    Slug::parse(&format!("b6-{i:05}")).map_err(|e| anyhow!("slug for tenant {i}: {e}"))
}

/// Timings of creating one batch of tenants.
struct Batch {
    range: RangeInclusive<usize>,
    create_wall: Duration,
    create_calls: Vec<Duration>,
    activate_wall: Duration,
}

impl Batch {
    fn count(&self) -> usize {
        self.create_calls.len()
    }
    fn per_tenant_ms(&self) -> f64 {
        ms(self.create_wall) / self.count().max(1) as f64
    }
    fn json(&self) -> Value {
        json!({
            "first": self.range.start(), "last": self.range.end(), "tenants": self.count(),
            "create_wall_s": self.create_wall.as_secs_f64(),
            "create_per_tenant_ms": self.per_tenant_ms(),
            "create_call": latency_json(&latency(&self.create_calls)),
            "activate_wall_s": self.activate_wall.as_secs_f64(),
            "activate_per_tenant_ms": ms(self.activate_wall) / self.count().max(1) as f64,
        })
    }
}

/// One `migrate_all` run over every tenant that is behind.
struct Migration {
    tenants_total: usize,
    migrated: usize,
    wall: Duration,
    tenant_calls: Vec<Duration>,
}

impl Migration {
    fn per_tenant_ms(&self) -> f64 {
        ms(self.wall) / self.migrated.max(1) as f64
    }
    fn json(&self) -> Value {
        json!({
            "tenants_total": self.tenants_total, "migrated": self.migrated,
            "wall_s": self.wall.as_secs_f64(), "per_tenant_ms": self.per_tenant_ms(),
            "tenant_call": latency_json(&latency(&self.tenant_calls)),
        })
    }
}

struct Round {
    arm: &'static str,
    index: usize,
    latency: Latency,
    cache_misses: u64,
    cache_hits: u64,
}

impl Bench {
    fn new(url: &str) -> anyhow::Result<Bench> {
        // Production defaults: pool of 16, registry_ttl 5 s.
        let tenancy = Tenancy::new(TenancyOptions::single(url)).context("tenancy")?;
        let metrics = swiftacare_api::telemetry::metrics_handle();
        let state = AppState {
            tenancy: tenancy.clone(),
            base_domain: None,
            metrics: metrics.clone(),
            public_url: "http://bench".into(),
            mailer: std::sync::Arc::new(
                swiftacare_api::mail::Mailer::new(
                    None,
                    "Bench <bench@swiftacare.test>",
                    std::env::temp_dir().join("swiftacare-bench-mail"),
                )
                .context("mailer")?,
            ),
            throttle: std::sync::Arc::new(swiftacare_api::throttle::Throttle::memory(
                Default::default(),
            )),
            trust_forwarded_for: true,
            signer: std::sync::Arc::new(
                domain::identity::tokens::TokenSigner::new(&[42u8; 32]).expect("signer"),
            ),
        };
        let ep = app::build(state, 64 * 1024, None).map_to_response().boxed();
        Ok(Bench {
            tenancy,
            client: TestClient::new(ep),
            metrics,
        })
    }

    /// `swiftacare_tenant_cache_total{result=…}` as rendered by the Prometheus exporter.
    fn cache_counter(&self, result: &str) -> u64 {
        let prefix = format!("swiftacare_tenant_cache_total{{result=\"{result}\"}}");
        self.metrics
            .render()
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    }

    async fn post(
        &self,
        slug: &str,
        bearer: Option<&str>,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .post(path)
            .header("X-Tenant", slug)
            .body_json(&body);
        if let Some(b) = bearer {
            req = req.header("Authorization", b);
        }
        let resp = req.send().await.0;
        let status = resp.status().as_u16();
        let text = resp.into_body().into_string().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// The measured request: authenticated `GET /api/v1/departments`, body read to the end.
    async fn get_departments(&self, s: &Session) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let resp = self
            .client
            .get(ROUTE)
            .header("X-Tenant", s.slug.as_str())
            .header("Authorization", s.bearer.as_str())
            .send()
            .await
            .0;
        let status = resp.status();
        let body = resp
            .into_body()
            .into_bytes()
            .await
            .map_err(|e| anyhow!("reading the body: {e}"))?;
        let elapsed = started.elapsed();
        ensure!(
            status == StatusCode::OK,
            "GET {ROUTE} on {}: {status} {}",
            s.slug,
            String::from_utf8_lossy(&body)
        );
        Ok(elapsed)
    }

    /// Signs the tenant's first admin in. Access tokens live 10 minutes: sign in again before
    /// measuring with a session that is older than that.
    async fn login(&self, tenant: &TenantRef) -> anyhow::Result<Session> {
        let slug = tenant.slug.as_str();
        let (status, body) = self
            .post(
                slug,
                None,
                "/api/v1/auth/login",
                json!({"email": format!("admin@{slug}.test"), "password": PASSWORD}),
            )
            .await;
        ensure!(status == 200, "login on {slug}: {status} {body}");
        let token = body["access_token"]
            .as_str()
            .with_context(|| format!("login on {slug} returned no token: {body}"))?;
        Ok(Session {
            slug: tenant.slug.clone(),
            bearer: format!("Bearer {token}"),
        })
    }

    /// First admin → activate → set password → log in → departments: what an onboarded
    /// tenant looks like. `activate` is skipped when the tenant is already active.
    async fn onboard(&self, tenant: &TenantRef, activate: bool) -> anyhow::Result<Session> {
        let slug = tenant.slug.as_str();
        let email = format!("admin@{slug}.test");
        let name = swiftacare_api::demo::person_name("Ada", "Admin")?;
        let issued =
            domain::identity::service::create_first_admin(&self.tenancy, tenant, &email, name)
                .await
                .map_err(|e| anyhow!("first admin of {slug}: {e}"))?;
        if activate {
            provision::activate(&self.tenancy, &tenant.slug)
                .await
                .map_err(|e| anyhow!("activate {slug}: {e}"))?;
        }
        let (status, body) = self
            .post(
                slug,
                None,
                "/api/v1/auth/setup",
                json!({"token": issued.token, "password": PASSWORD}),
            )
            .await;
        ensure!(status == 204, "setup on {slug}: {status} {body}");
        let session = self.login(tenant).await?;
        for d in 0..DEPARTMENTS {
            let (status, body) = self
                .post(
                    slug,
                    Some(&session.bearer),
                    ROUTE,
                    json!({"name": format!("Department {d}"), "kind": "department"}),
                )
                .await;
            ensure!(
                status == 201,
                "create department on {slug}: {status} {body}"
            );
        }
        Ok(session)
    }

    /// Creates tenants `range` with `provision::create` (`CONCURRENCY` at a time), then
    /// activates them (same concurrency). Creation includes migrating each new schema.
    async fn create_batch(
        &self,
        range: RangeInclusive<usize>,
        records: &mut HashMap<usize, TenantRef>,
    ) -> anyhow::Result<Batch> {
        let tenancy = &self.tenancy;
        let started = Instant::now();
        let created: Vec<anyhow::Result<(usize, TenantRef, Duration)>> =
            futures::stream::iter(range.clone())
                .map(|i| async move {
                    let slug = slug_for(i)?;
                    let t0 = Instant::now();
                    let record = provision::create(
                        tenancy,
                        &slug,
                        &format!("B6 tenant {i}"),
                        TenantKind::Clinic,
                        &ShardId::primary(),
                    )
                    .await
                    .map_err(|e| anyhow!("provision {slug}: {e}"))?;
                    Ok((i, record.tenant, t0.elapsed()))
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
        let create_wall = started.elapsed();
        let mut create_calls = Vec::with_capacity(created.len());
        for r in created {
            let (i, tenant, took) = r?;
            create_calls.push(took);
            records.insert(i, tenant);
        }
        let started = Instant::now();
        let activated: Vec<anyhow::Result<()>> = futures::stream::iter(range.clone())
            .map(|i| async move {
                let slug = slug_for(i)?;
                provision::activate(tenancy, &slug)
                    .await
                    .map_err(|e| anyhow!("activate {slug}: {e}"))
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let activate_wall = started.elapsed();
        activated.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
        Ok(Batch {
            range,
            create_wall,
            create_calls,
            activate_wall,
        })
    }

    async fn migrate(&self, dir: &Path, tenants_total: usize) -> anyhow::Result<Migration> {
        // Start each timed run from the same state: creating tenants leaves a lot of WAL and
        // dirty catalog pages behind, and a checkpoint landing inside one run but not the
        // other would skew the linearity ratio. Needs a superuser (the default URL is one).
        if let Err(e) = psql("CHECKPOINT") {
            eprintln!("b6: CHECKPOINT before migrating failed ({e:#}); timing anyway");
        }
        let source = FileBasedMigrations::from_path(dir)
            .map_err(|e| anyhow!("migrations in {}: {e}", dir.display()))?;
        let started = Instant::now();
        let report: MigrationReport = migrate::migrate_all(&self.tenancy, source, CONCURRENCY)
            .await
            .map_err(|e| anyhow!("migrate_all: {e}"))?;
        let wall = started.elapsed();
        if let Some(f) = report.failed().next() {
            bail!(
                "{} tenant(s) failed to migrate; first {}: {:?}",
                report.failed().count(),
                f.slug,
                f.error
            );
        }
        Ok(Migration {
            tenants_total,
            migrated: report.tenants.len(),
            wall,
            tenant_calls: report
                .tenants
                .iter()
                .map(|t| Duration::from_millis(t.millis as u64))
                .collect(),
        })
    }

    /// One latency round: a warm-up pass (untimed), then `picks.len()` sequential requests.
    async fn round(
        &self,
        arm: &'static str,
        index: usize,
        sessions: &[Session],
        warmup: &[usize],
        picks: &[usize],
    ) -> anyhow::Result<Round> {
        // Warm means fresh: the registry cache's TTL runs from insertion (a hit does not
        // extend it), so drop the arm's entries and let the warm-up re-insert them. A round
        // shorter than the TTL then sees no expiry; the misses it reports are expiries.
        for s in sessions {
            self.tenancy.invalidate(&s.slug).await;
        }
        for &i in warmup {
            self.get_departments(&sessions[i]).await?;
        }
        let (miss0, hit0) = (self.cache_counter("miss"), self.cache_counter("hit"));
        let mut samples = Vec::with_capacity(picks.len());
        for &i in picks {
            let took = self.get_departments(&sessions[i]).await?;
            samples.push(took);
        }
        Ok(Round {
            arm,
            index,
            latency: latency(&samples),
            cache_misses: self.cache_counter("miss").saturating_sub(miss0),
            cache_hits: self.cache_counter("hit").saturating_sub(hit0),
        })
    }
}

// ---------------------------------------------------------------- migration directories

fn tenant_migrations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/tenant")
}

/// A copy of `migrations/tenant` plus one trivial migration `version_name` creating `table`.
fn migrations_with_marker(version_name: &str, table: &str) -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("b6-migrations-")
        .tempdir()
        .context("temp dir")?;
    let src = tenant_migrations_dir();
    for entry in std::fs::read_dir(&src).with_context(|| format!("reading {}", src.display()))? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let to = dir.path().join(entry.file_name());
        std::fs::create_dir(&to)?;
        for file in std::fs::read_dir(entry.path())? {
            let file = file?;
            if file.file_type()?.is_file() {
                std::fs::copy(file.path(), to.join(file.file_name()))?;
            }
        }
    }
    // The copy must hold exactly what this binary embedded (and provisioned tenants with):
    // a migration added on disk after the build would otherwise be timed with the marker.
    let versions = |source: &dyn MigrationSource<Pg>| -> anyhow::Result<Vec<String>> {
        let mut v: Vec<String> = source
            .migrations()
            .map_err(|e| anyhow!("listing migrations: {e}"))?
            .iter()
            .map(|m| m.name().version().to_string())
            .collect();
        v.sort();
        Ok(v)
    };
    let on_disk = FileBasedMigrations::from_path(dir.path())
        .map_err(|e| anyhow!("migrations copied from {}: {e}", src.display()))?;
    let (disk, embedded) = (versions(&on_disk)?, versions(&TENANT_MIGRATIONS)?);
    ensure!(
        disk == embedded,
        "{} holds {disk:?} but this build embedded {embedded:?}; rebuild the bench",
        src.display()
    );
    let marker = dir.path().join(version_name);
    std::fs::create_dir(&marker)?;
    std::fs::write(
        marker.join("up.sql"),
        format!("CREATE TABLE {table} (id int);\n"),
    )?;
    std::fs::write(marker.join("down.sql"), format!("DROP TABLE {table};\n"))?;
    Ok(dir)
}

// ---------------------------------------------------------------- report

fn output_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("bench").join("b6_tenants.json")
}

/// The 1-minute load average (Linux), to tell a disturbed run from a quiet one.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn fmt_load(load: Option<f64>) -> String {
    load.map_or_else(|| "n/a".to_owned(), |l| format!("{l:.2}"))
}

fn progress(started: Instant, what: &str) {
    eprintln!("b6 [{:>7.1}s] {what}", started.elapsed().as_secs_f64());
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    // Before this program does anything: afterwards the load average counts its own work.
    let load_start = load_average();
    let t_start = Instant::now();
    let db = BenchDb::create()?;
    progress(t_start, &format!("created database {}", db.name));
    let result = run(&args, &db, t_start, load_start).await;
    drop(db);
    let report = result?;
    let path = output_path();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", path.display()))?;
    println!("JSON report: {}", path.display());
    Ok(())
}

async fn run(
    args: &Args,
    db: &BenchDb,
    t_start: Instant,
    load_start: Option<f64>,
) -> anyhow::Result<Value> {
    let n = args.tenants;
    let small = n / 10;
    let mut rng = StdRng::seed_from_u64(args.seed);
    let pg_version = psql("SHOW server_version").unwrap_or_else(|e| format!("unknown ({e})"));
    let cpus = std::thread::available_parallelism().map_or(0, |c| c.get());

    let bench = Bench::new(&db.url)?;
    let mut records: HashMap<usize, TenantRef> = HashMap::new();
    // Both migration sources are copied now, before anything is timed: a run at 10,000 tenants
    // takes a while, and a migration added to the tree meanwhile must not end up in the copy.
    let dir_small = migrations_with_marker("2099-12-31-000001_b6_marker_small", "b6_marker_small")?;
    let dir_all = migrations_with_marker("2099-12-31-000002_b6_marker_all", "b6_marker_all")?;

    // Control schema (no tenants yet).
    let t0 = Instant::now();
    migrate::migrate_all(&bench.tenancy, TENANT_MIGRATIONS, CONCURRENCY)
        .await
        .map_err(|e| anyhow!("migrating control: {e}"))?;
    let control_migrate = t0.elapsed();
    progress(t_start, "migrated control");

    // Tenant #1: the ceiling.
    let t0 = Instant::now();
    let slug1 = slug_for(1)?;
    let record1 = provision::create(
        &bench.tenancy,
        &slug1,
        "B6 tenant 1",
        TenantKind::Clinic,
        &ShardId::primary(),
    )
    .await
    .map_err(|e| anyhow!("provision tenant 1: {e}"))?;
    let single = bench.onboard(&record1.tenant, true).await?;
    records.insert(1, record1.tenant);
    let tenant1_setup = t0.elapsed();
    progress(t_start, "tenant #1 onboarded");

    // Latency while tenant #1 is the only tenant in the database (informational).
    let singles = vec![single];
    let ones = vec![0usize; args.requests];
    let alone = bench
        .round("single-alone", 0, &singles, &[0; 50], &ones)
        .await?;
    progress(t_start, "measured tenant #1 alone");

    // Small scale: tenants 2..=N/10, then one new migration over all of them.
    let batch_small = bench.create_batch(2..=small, &mut records).await?;
    progress(
        t_start,
        &format!(
            "created tenants 2..={small} ({:.1} s)",
            batch_small.create_wall.as_secs_f64()
        ),
    );
    let mig_small = bench.migrate(dir_small.path(), small).await?;
    ensure!(
        mig_small.migrated == small,
        "small-scale migration touched {} tenants, expected {small}",
        mig_small.migrated
    );
    progress(
        t_start,
        &format!(
            "migrated {small} tenants ({:.1} s)",
            mig_small.wall.as_secs_f64()
        ),
    );

    // Full scale: tenants N/10+1..=N, then another new migration over all N.
    let batch_rest = bench.create_batch(small + 1..=n, &mut records).await?;
    progress(
        t_start,
        &format!(
            "created tenants {}..={n} ({:.1} s)",
            small + 1,
            batch_rest.create_wall.as_secs_f64()
        ),
    );
    // The source holds the base migrations and the second marker only: every tenant (those
    // that already have the first marker and those that do not) applies exactly one migration,
    // the same work per tenant as the small-scale run.
    let mig_all = bench.migrate(dir_all.path(), n).await?;
    ensure!(
        mig_all.migrated == n,
        "full-scale migration touched {} tenants, expected {n}",
        mig_all.migrated
    );
    progress(
        t_start,
        &format!("migrated {n} tenants ({:.1} s)", mig_all.wall.as_secs_f64()),
    );
    let mig_noop = bench.migrate(dir_all.path(), n).await?;
    progress(t_start, "re-ran migrate_all (nothing pending)");

    // Sessions for a random sample of tenants 2..=N.
    let t0 = Instant::now();
    let picked = rand::seq::index::sample(&mut rng, n - 1, args.sample).into_vec();
    let mut sample: Vec<Session> = Vec::with_capacity(args.sample);
    for k in picked {
        let i = k + 2;
        let tenant = records
            .get(&i)
            .with_context(|| format!("tenant {i} was not recorded"))?;
        sample.push(bench.onboard(tenant, false).await?);
    }
    let sample_setup = t0.elapsed();
    progress(
        t_start,
        &format!("onboarded {} sample tenants", sample.len()),
    );

    // Alternating rounds: single, random, single, random, …
    // Tenant #1 signs in again: its first access token (10 minutes) may have expired while
    // thousands of tenants were created.
    let tenant1 = records.get(&1).context("tenant 1 was not recorded")?;
    let singles = vec![bench.login(tenant1).await?];
    let mut rounds: Vec<Round> = Vec::new();
    let warm_single = vec![0usize; args.sample.max(50)];
    for r in 1..=args.rounds {
        rounds.push(
            bench
                .round("single", r, &singles, &warm_single, &ones)
                .await?,
        );
        let mut warm_random: Vec<usize> = (0..sample.len()).collect();
        warm_random.shuffle(&mut rng);
        let picks: Vec<usize> = (0..args.requests)
            .map(|_| rng.random_range(0..sample.len()))
            .collect();
        rounds.push(
            bench
                .round("random", r, &sample, &warm_random, &picks)
                .await?,
        );
        progress(t_start, &format!("latency round {r}/{} done", args.rounds));
    }
    drop(dir_small);
    drop(dir_all);

    // ------------------------------------------------------------ figures
    let p99s = |arm: &str| -> Vec<f64> {
        rounds
            .iter()
            .filter(|r| r.arm == arm)
            .map(|r| r.latency.p99)
            .collect()
    };
    let p50s = |arm: &str| -> Vec<f64> {
        rounds
            .iter()
            .filter(|r| r.arm == arm)
            .map(|r| r.latency.p50)
            .collect()
    };
    let single_p99 = median(&p99s("single"));
    let random_p99 = median(&p99s("random"));
    let single_p50 = median(&p50s("single"));
    let random_p50 = median(&p50s("random"));
    let p99_ratio = random_p99 / single_p99;
    let p50_ratio = random_p50 / single_p50;
    let pass = p99_ratio <= TARGET_P99_RATIO;
    let mig_linearity = mig_all.per_tenant_ms() / mig_small.per_tenant_ms();
    let create_linearity = batch_rest.per_tenant_ms() / batch_small.per_tenant_ms();
    let when = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);

    // ------------------------------------------------------------ text report
    println!();
    println!("B6 tenants — {when}");
    println!(
        "N = {n} tenants, R = {} requests per round, sample = {} random tenants, rounds = {}, seed = {}",
        args.requests, args.sample, args.rounds, args.seed
    );
    println!("machine: {cpus} CPUs; PostgreSQL {pg_version}; app in-process (poem TestClient)");
    println!(
        "1-minute load average before the run: {} (more than ~0.5 = something else was running; rerun)",
        fmt_load(load_start)
    );
    println!();
    println!("setup");
    let setup_rows = [
        (
            "migrate control (no tenants yet)".to_owned(),
            format!("{:.1} ms", ms(control_migrate)),
        ),
        (
            format!("tenant #1: create, admin, login, {DEPARTMENTS} departments"),
            format!("{:.1} ms", ms(tenant1_setup)),
        ),
        (
            format!(
                "{} sample tenants: admin, login, {DEPARTMENTS} departments",
                sample.len()
            ),
            format!(
                "{:.1} s ({:.1} ms each, sequential)",
                sample_setup.as_secs_f64(),
                ms(sample_setup) / sample.len().max(1) as f64
            ),
        ),
    ];
    for (label, value) in setup_rows {
        println!("  {label:<52} {value}");
    }
    println!();
    println!(
        "tenant creation (provision::create incl. schema migration, concurrency {CONCURRENCY}; then activate, concurrency {CONCURRENCY})"
    );
    println!(
        "  {:<14} {:>7} {:>9} {:>14} {:>13} {:>13} {:>15}",
        "tenants",
        "count",
        "wall s",
        "per-tenant ms",
        "call p50 ms",
        "call p99 ms",
        "activate ms/t"
    );
    for b in [&batch_small, &batch_rest] {
        let l = latency(&b.create_calls);
        println!(
            "  {:<14} {:>7} {:>9.2} {:>14.2} {:>13.1} {:>13.1} {:>15.2}",
            format!("{}..={}", b.range.start(), b.range.end()),
            b.count(),
            b.create_wall.as_secs_f64(),
            b.per_tenant_ms(),
            l.p50,
            l.p99,
            ms(b.activate_wall) / b.count().max(1) as f64
        );
    }
    println!(
        "  per-tenant ratio (later batch / first batch) = {create_linearity:.2}  (≈1.0: creation cost does not grow with tenants)"
    );
    println!();
    println!(
        "migrate_all with one new trivial migration (CREATE TABLE), concurrency {CONCURRENCY}"
    );
    println!(
        "  {:<14} {:>7} {:>9} {:>14} {:>13} {:>13}",
        "scale", "tenants", "wall s", "per-tenant ms", "tenant p50 ms", "tenant p99 ms"
    );
    for (label, m) in [("N/10", &mig_small), ("N", &mig_all)] {
        let l = latency(&m.tenant_calls);
        println!(
            "  {:<14} {:>7} {:>9.2} {:>14.2} {:>13.1} {:>13.1}",
            label,
            m.migrated,
            m.wall.as_secs_f64(),
            m.per_tenant_ms(),
            l.p50,
            l.p99
        );
    }
    println!(
        "  linearity: per-tenant at N / per-tenant at N/10 = {mig_linearity:.2}  (≈1.0 = linear; >1 = superlinear)"
    );
    println!(
        "  re-run with nothing pending: {:.1} ms for {n} tenants ({} migrated)",
        ms(mig_noop.wall),
        mig_noop.migrated
    );
    println!();
    println!(
        "latency: authenticated GET {ROUTE} ({DEPARTMENTS} items), {} sequential requests per round",
        args.requests
    );
    println!(
        "  registry cache TTL 5 s (production default); each round drops the arm's cache entries, then"
    );
    println!(
        "  runs an untimed warm-up ({} requests; random: every sample tenant once); misses are TTL expiries",
        args.sample.max(50)
    );
    println!(
        "  {:<22} {:>8} {:>8} {:>8} {:>8} {:>8} {:>12}",
        "round", "p50 ms", "p90 ms", "p99 ms", "max ms", "mean ms", "cache miss"
    );
    let print_round = |label: String, r: &Round| {
        let l = &r.latency;
        println!(
            "  {:<22} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>5}/{:<6}",
            label,
            l.p50,
            l.p90,
            l.p99,
            l.max,
            l.mean,
            r.cache_misses,
            r.cache_misses + r.cache_hits
        );
    };
    print_round("tenant #1, alone".into(), &alone);
    for r in &rounds {
        let label = match r.arm {
            "single" => format!("{}. one tenant (#1)", r.index),
            _ => format!("{}. random of {}", r.index, sample.len()),
        };
        print_round(label, r);
    }
    println!();
    println!(
        "  median p99: one tenant {single_p99:.3} ms, random tenants {random_p99:.3} ms → ratio {p99_ratio:.2} (target ≤ {TARGET_P99_RATIO}) {}",
        if pass { "PASS" } else { "FAIL" }
    );
    println!(
        "  median p50: one tenant {single_p50:.3} ms, random tenants {random_p50:.3} ms → ratio {p50_ratio:.2}"
    );
    println!(
        "  (the ceiling is tenant #1 measured at N tenants in alternation; \"alone\" is tenant #1 before tenant #2 existed)"
    );
    println!();
    println!("total run time {:.1} s", t_start.elapsed().as_secs_f64());

    let round_json = |r: &Round| {
        json!({"arm": r.arm, "round": r.index, "latency": latency_json(&r.latency),
               "cache_misses": r.cache_misses, "cache_hits": r.cache_hits})
    };
    Ok(json!({
        "bench": "b6_tenants",
        "when": when,
        "args": {"tenants": n, "requests": args.requests, "sample": args.sample,
                 "rounds": args.rounds, "seed": args.seed, "concurrency": CONCURRENCY},
        "machine": {"cpus": cpus, "postgres": pg_version,
                    "load_average_before": load_start},
        "setup": {"control_migrate_ms": ms(control_migrate), "tenant1_ms": ms(tenant1_setup),
                  "sample_tenants_s": sample_setup.as_secs_f64()},
        "creation": {"batches": [batch_small.json(), batch_rest.json()],
                     "per_tenant_ratio": create_linearity},
        "migration": {"small": mig_small.json(), "all": mig_all.json(), "noop": mig_noop.json(),
                      "linearity_ratio": mig_linearity},
        "latency": {
            "route": ROUTE,
            "registry_ttl_s": 5,
            "alone": round_json(&alone),
            "rounds": rounds.iter().map(round_json).collect::<Vec<_>>(),
            "median_p99_single_ms": single_p99, "median_p99_random_ms": random_p99,
            "median_p50_single_ms": single_p50, "median_p50_random_ms": random_p50,
            "p99_ratio": p99_ratio, "p50_ratio": p50_ratio,
            "target_p99_ratio": TARGET_P99_RATIO, "pass": pass,
        },
        "total_s": t_start.elapsed().as_secs_f64(),
    }))
}

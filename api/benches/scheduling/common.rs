//! What B1, B2 and B3 share: the throwaway database, statistics, the application under test
//! (the real `app::build` behind poem's in-process `TestClient`) and the API calls that set a
//! tenant up (providers, clients, working hours, appointment types). Same shape as
//! `b6_tenants.rs`, which these benchmarks copy rather than share code with (a bench target
//! cannot import another).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, ensure};
use poem::EndpointExt;
use poem::endpoint::BoxEndpoint;
use poem::http::Method;
use poem::test::TestClient;
use serde_json::{Value, json};
use swiftacare_api::app::{self, AppState};
use tenancy::migrate::{self, TENANT_MIGRATIONS};
use tenancy::provision;
use tenancy::{ShardId, Slug, Tenancy, TenancyOptions, TenantKind, TenantRef};

pub const PASSWORD: &str = "correct horse battery staple";

// ---------------------------------------------------------------- database guard

pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Runs SQL with `psql` on `url` (the script goes through stdin: some are large).
pub fn psql_on(url: &str, sql: &str) -> anyhow::Result<String> {
    use std::io::Write;
    let mut child = std::process::Command::new("psql")
        .arg(url)
        .args(["-X", "-v", "ON_ERROR_STOP=1", "-qtA", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("running psql (is it installed?)")?;
    child
        .stdin
        .take()
        .context("psql stdin")?
        .write_all(sql.as_bytes())
        .context("writing to psql")?;
    let out = child.wait_with_output().context("waiting for psql")?;
    let head: String = sql.chars().take(200).collect();
    ensure!(
        out.status.success(),
        "psql {head}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

pub fn psql(sql: &str) -> anyhow::Result<String> {
    psql_on(&admin_url(), sql)
}

/// The benchmark's own database; dropped when the guard drops (normal end, `?`, or panic).
pub struct BenchDb {
    pub name: String,
    pub url: String,
}

impl BenchDb {
    pub fn create() -> anyhow::Result<BenchDb> {
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
            Ok(_) => eprintln!("scheduling: dropped database {}", self.name),
            Err(e) => eprintln!("scheduling: could not drop database {}: {e:#}", self.name),
        }
    }
}

// ---------------------------------------------------------------- statistics

#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub n: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

/// Nearest-rank percentiles, in milliseconds.
pub fn latency(samples: &[Duration]) -> Latency {
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

pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

pub fn latency_json(l: &Latency) -> Value {
    json!({"n": l.n, "p50_ms": l.p50, "p90_ms": l.p90, "p99_ms": l.p99, "max_ms": l.max, "mean_ms": l.mean})
}

pub fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "FAIL" }
}

// ---------------------------------------------------------------- report plumbing

pub fn output_path(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("bench").join(format!("{name}.json"))
}

/// The 1-minute load average (Linux), to tell a disturbed run from a quiet one.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

pub fn fmt_load(load: Option<f64>) -> String {
    load.map_or_else(|| "n/a".to_owned(), |l| format!("{l:.2}"))
}

pub fn progress(started: Instant, what: &str) {
    eprintln!(
        "scheduling [{:>7.1}s] {what}",
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------- the application under test

pub type Client = TestClient<BoxEndpoint<'static>>;

/// The real application in-process. Cheap to share between tasks (`Arc`).
pub struct App {
    pub tenancy: Tenancy,
    pub client: Client,
}

/// A tenant with a signed-in institution admin.
#[derive(Clone)]
pub struct Tenant {
    pub tenant: TenantRef,
    pub bearer: String,
}

impl Tenant {
    pub fn slug(&self) -> &str {
        self.tenant.slug.as_str()
    }
}

impl App {
    pub fn new(url: &str, pool_size: usize) -> anyhow::Result<Arc<App>> {
        App::with_body_limit(url, pool_size, 64 * 1024)
    }

    /// The same with another request body limit (B4 posts batches of up to 10,000 CSV rows).
    pub fn with_body_limit(
        url: &str,
        pool_size: usize,
        max_body_bytes: usize,
    ) -> anyhow::Result<Arc<App>> {
        let mut options = TenancyOptions::single(url);
        options.pool_size = pool_size;
        let tenancy = Tenancy::new(options).context("tenancy")?;
        let state = AppState {
            tenancy: tenancy.clone(),
            base_domain: None,
            metrics: swiftacare_api::telemetry::metrics_handle(),
            public_url: "http://bench".into(),
            mailer: Arc::new(
                swiftacare_api::mail::Mailer::new(
                    None,
                    "Bench <bench@swiftacare.test>",
                    std::env::temp_dir().join("swiftacare-bench-mail"),
                )
                .context("mailer")?,
            ),
            throttle: Arc::new(swiftacare_api::throttle::Throttle::memory(
                Default::default(),
            )),
            trust_forwarded_for: true,
            signer: Arc::new(
                domain::identity::tokens::TokenSigner::new(&[42u8; 32])
                    .map_err(|e| anyhow!("token signer: {e}"))?,
            ),
        };
        let ep = app::build(state, max_body_bytes, None)
            .map_to_response()
            .boxed();
        Ok(Arc::new(App {
            tenancy,
            client: TestClient::new(ep),
        }))
    }

    /// Sends one request; returns the status and the body (JSON when it parses).
    pub async fn call(
        &self,
        method: Method,
        slug: &str,
        bearer: Option<&str>,
        path: &str,
        if_match: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Option<String>, Value)> {
        let mut req = self.client.request(method, path).header("X-Tenant", slug);
        if let Some(b) = bearer {
            req = req.header("Authorization", b);
        }
        if let Some(m) = if_match {
            req = req.header("If-Match", m);
        }
        if let Some(b) = body {
            req = req.body_json(&b);
        }
        let resp = req.send().await.0;
        let status = resp.status().as_u16();
        let etag = resp
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = resp
            .into_body()
            .into_string()
            .await
            .map_err(|e| anyhow!("reading the body of {path}: {e}"))?;
        Ok((
            status,
            etag,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    pub async fn post(&self, t: &Tenant, path: &str, body: Value) -> anyhow::Result<Value> {
        let (status, _, v) = self
            .call(
                Method::POST,
                t.slug(),
                Some(&t.bearer),
                path,
                None,
                Some(body),
            )
            .await?;
        ensure!(
            status == 201 || status == 200,
            "POST {path} on {}: {status} {v}",
            t.slug()
        );
        Ok(v)
    }

    /// Control schema first (idempotent: later calls find nothing to do).
    pub async fn migrate_control(&self) -> anyhow::Result<()> {
        migrate::migrate_all(&self.tenancy, TENANT_MIGRATIONS, 4)
            .await
            .map_err(|e| anyhow!("migrating control: {e}"))?;
        Ok(())
    }

    /// Creates, activates and onboards a tenant; returns its admin's session.
    pub async fn tenant(&self, slug: &str) -> anyhow::Result<Tenant> {
        let s = Slug::parse(slug).map_err(|e| anyhow!("slug {slug}: {e}"))?;
        let record = provision::create(
            &self.tenancy,
            &s,
            &format!("Bench {slug}"),
            TenantKind::Clinic,
            &ShardId::primary(),
        )
        .await
        .map_err(|e| anyhow!("provision {slug}: {e}"))?;
        let email = format!("admin@{slug}.test");
        let name = swiftacare_api::demo::person_name("Ada", "Admin")?;
        let issued = domain::identity::service::create_first_admin(
            &self.tenancy,
            &record.tenant,
            &email,
            name,
        )
        .await
        .map_err(|e| anyhow!("first admin of {slug}: {e}"))?;
        provision::activate(&self.tenancy, &s)
            .await
            .map_err(|e| anyhow!("activate {slug}: {e}"))?;
        let (status, _, body) = self
            .call(
                Method::POST,
                slug,
                None,
                "/api/v1/auth/setup",
                None,
                Some(json!({"token": issued.token, "password": PASSWORD})),
            )
            .await?;
        ensure!(status == 204, "setup on {slug}: {status} {body}");
        let mut t = Tenant {
            tenant: record.tenant,
            bearer: String::new(),
        };
        self.login(&mut t).await?;
        Ok(t)
    }

    /// Signs the admin in again (access tokens live 10 minutes).
    pub async fn login(&self, t: &mut Tenant) -> anyhow::Result<()> {
        let slug = t.slug().to_owned();
        let (status, _, body) = self
            .call(
                Method::POST,
                &slug,
                None,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": format!("admin@{slug}.test"), "password": PASSWORD})),
            )
            .await?;
        ensure!(status == 200, "login on {slug}: {status} {body}");
        let token = body["access_token"]
            .as_str()
            .with_context(|| format!("login on {slug} returned no token: {body}"))?;
        t.bearer = format!("Bearer {token}");
        Ok(())
    }

    pub async fn department(&self, t: &Tenant, name: &str) -> anyhow::Result<String> {
        let v = self
            .post(
                t,
                "/api/v1/departments",
                json!({"name": name, "kind": "department"}),
            )
            .await?;
        id_of(&v)
    }

    /// A directory entry (`provider` or `client`), optionally in a department.
    pub async fn person(
        &self,
        t: &Tenant,
        kind: &str,
        n: usize,
        department: Option<&str>,
    ) -> anyhow::Result<String> {
        let v = self
            .post(
                t,
                "/api/v1/people",
                json!({"kind": kind, "given_name": format!("{kind} {n}"), "family_name": "Bench",
                       "email": format!("{kind}-{n}@{}.test", t.slug()), "department_id": department}),
            )
            .await?;
        id_of(&v)
    }

    /// Working hours every day `start`–`end` in `zone` (GET for the ETag, then PUT If-Match).
    pub async fn hours(
        &self,
        t: &Tenant,
        provider: &str,
        zone: &str,
        start: &str,
        end: &str,
    ) -> anyhow::Result<()> {
        let path = format!("/api/v1/providers/{provider}/availability");
        let (status, etag, body) = self
            .call(Method::GET, t.slug(), Some(&t.bearer), &path, None, None)
            .await?;
        ensure!(status == 200, "GET {path}: {status} {body}");
        let rules: Vec<Value> = (1..=7)
            .map(|d| json!({"weekday": d, "start": start, "end": end}))
            .collect();
        let (status, _, body) = self
            .call(
                Method::PUT,
                t.slug(),
                Some(&t.bearer),
                &path,
                etag.as_deref(),
                Some(json!({"timezone": zone, "rules": rules})),
            )
            .await?;
        ensure!(status == 200, "PUT {path}: {status} {body}");
        Ok(())
    }

    /// A video appointment type; `extra` fields override the defaults.
    pub async fn appointment_type(
        &self,
        t: &Tenant,
        name: &str,
        minutes: i32,
        extra: Value,
    ) -> anyhow::Result<String> {
        let mut b = json!({"name": name, "duration_minutes": minutes, "modality": "video"});
        if let (Some(o), Some(e)) = (b.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                o.insert(k.clone(), v.clone());
            }
        }
        let v = self.post(t, "/api/v1/appointment-types", b).await?;
        id_of(&v)
    }
}

pub fn id_of(v: &Value) -> anyhow::Result<String> {
    Ok(v["id"]
        .as_str()
        .with_context(|| format!("no id in {v}"))?
        .to_owned())
}

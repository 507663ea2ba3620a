//! Test harness: a fresh PostgreSQL database per test (dropped on drop, even after a panic),
//! migrated with the real migrations, and the real application endpoint.

use std::sync::atomic::{AtomicU32, Ordering};

use poem::EndpointExt;
use poem::endpoint::BoxEndpoint;
use poem::test::{TestClient, TestResponse};
use serde_json::{Value, json};
use swiftacare_api::app::{self, AppState};
use tenancy::migrate::{self, TENANT_MIGRATIONS};
use tenancy::{ShardId, Slug, Tenancy, TenancyOptions, TenantKind, TenantRef, provision};

/// The server tests create their databases on (trust auth). Override with TEST_DATABASE_URL.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn url_for(db: &str) -> String {
    let admin = admin_url();
    let (base, _) = admin
        .rsplit_once('/')
        .expect("TEST_DATABASE_URL has a database path");
    format!("{base}/{db}")
}

fn psql(sql: &str) {
    let out = std::process::Command::new("psql")
        .arg(admin_url())
        .args(["-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .expect("psql is installed");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A database that exists for one test.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    pub fn new() -> TestDb {
        let name = format!(
            "swiftacare_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            uuid::Uuid::new_v4()
                .simple()
                .to_string()
                .get(..8)
                .unwrap_or("x")
        );
        psql(&format!("CREATE DATABASE {name}"));
        TestDb {
            url: url_for(&name),
            name,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // WITH (FORCE) ends the test's pooled connections still open.
        let _ = std::process::Command::new("psql")
            .arg(admin_url())
            .args([
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

/// Tenancy options for tests: no tenant caching (changes visible at once), small pool.
pub fn options(url: &str, pool_size: usize) -> TenancyOptions {
    let mut o = TenancyOptions::single(url);
    o.pool_size = pool_size;
    o.registry_ttl = std::time::Duration::from_millis(0);
    o
}

pub struct TestApp {
    /// Kept for its `Drop`: the database lives as long as the app.
    _db: TestDb,
    /// Where the file mailer writes when no SMTP sink is used.
    pub mail_dir: tempfile::TempDir,
    pub tenancy: Tenancy,
    pub client: TestClient<BoxEndpoint<'static>>,
}

pub struct TenantCtx {
    pub tenant: TenantRef,
    pub admin_email: String,
    pub admin_token: String,
}

pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp::with(|_| {}).await
    }

    pub async fn with(customize: impl FnOnce(&mut AppState)) -> TestApp {
        TestApp::build(customize, None).await
    }

    /// The app with the web app's static export served from `web_dir`.
    pub async fn with_web(web_dir: std::path::PathBuf) -> TestApp {
        TestApp::build(|_| {}, Some(web_dir)).await
    }

    async fn build(
        customize: impl FnOnce(&mut AppState),
        web_dir: Option<std::path::PathBuf>,
    ) -> TestApp {
        let db = TestDb::new();
        let tenancy = Tenancy::new(options(&db.url, 4)).expect("tenancy");
        migrate::migrate_all(&tenancy, TENANT_MIGRATIONS, 2)
            .await
            .expect("migrate");
        let mail_dir = tempfile::tempdir().expect("mail dir");
        let mailer = swiftacare_api::mail::Mailer::new(
            None,
            "Swiftacare <no-reply@swiftacare.test>",
            mail_dir.path().to_owned(),
        )
        .expect("mailer");
        let mut state = AppState {
            tenancy: tenancy.clone(),
            base_domain: None,
            metrics: swiftacare_api::telemetry::metrics_handle(),
            public_url: "http://test".into(),
            mailer: std::sync::Arc::new(mailer),
            throttle: std::sync::Arc::new(swiftacare_api::throttle::Throttle::memory(
                crate::support::fast_policy(),
            )),
            trust_forwarded_for: true,
            signer: std::sync::Arc::new(
                domain::identity::tokens::TokenSigner::new(&rand_key()).expect("signer"),
            ),
        };
        customize(&mut state);
        let ep = app::build(state, 64 * 1024, web_dir)
            .map_to_response()
            .boxed();
        TestApp {
            _db: db,
            mail_dir,
            tenancy,
            client: TestClient::new(ep),
        }
    }

    pub fn db_url(&self) -> &str {
        &self._db.url
    }

    /// Provisions a tenant the way `tenant create` does and signs its first admin in.
    pub async fn tenant(&self, slug: &str) -> TenantCtx {
        let s = Slug::parse(slug).expect("slug");
        let record = provision::create(
            &self.tenancy,
            &s,
            &format!("Tenant {slug}"),
            TenantKind::Hospital,
            &ShardId::primary(),
        )
        .await
        .expect("provision");
        let email = format!("admin@{slug}.test");
        let name = swiftacare_api::demo::person_name("Ada", "Admin").expect("name");
        let issued = domain::identity::service::create_first_admin(
            &self.tenancy,
            &record.tenant,
            &email,
            name,
        )
        .await
        .expect("first admin");
        provision::activate(&self.tenancy, &s)
            .await
            .expect("activate");
        let r = self
            .post(
                slug,
                None,
                "/api/v1/auth/setup",
                json!({"token": issued.token, "password": PASSWORD}),
            )
            .await;
        r.assert_status(poem::http::StatusCode::NO_CONTENT);
        let admin_token = self.login(slug, &email, PASSWORD).await;
        let tenant = self
            .tenancy
            .resolve(&s)
            .await
            .expect("resolve")
            .expect("tenant exists");
        TenantCtx {
            tenant,
            admin_email: email,
            admin_token,
        }
    }

    pub async fn login(&self, slug: &str, email: &str, password: &str) -> String {
        let r = self
            .post(
                slug,
                None,
                "/api/v1/auth/login",
                json!({"email": email, "password": password}),
            )
            .await;
        r.assert_status_is_ok();
        let v = body(r).await;
        v["access_token"].as_str().expect("access_token").to_owned()
    }

    pub async fn get(&self, slug: &str, token: Option<&str>, path: &str) -> TestResponse {
        let mut req = self.client.get(path).header("X-Tenant", slug);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        req.send().await
    }

    pub async fn post(
        &self,
        slug: &str,
        token: Option<&str>,
        path: &str,
        body: Value,
    ) -> TestResponse {
        let mut req = self
            .client
            .post(path)
            .header("X-Tenant", slug)
            .body_json(&body);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        req.send().await
    }

    pub async fn patch(
        &self,
        slug: &str,
        token: &str,
        path: &str,
        if_match: Option<&str>,
        body: Value,
    ) -> TestResponse {
        let mut req = self
            .client
            .patch(path)
            .header("X-Tenant", slug)
            .header("Authorization", format!("Bearer {token}"))
            .body_json(&body);
        if let Some(m) = if_match {
            req = req.header("If-Match", m);
        }
        req.send().await
    }

    /// Creates a department as the tenant's admin and returns its JSON.
    pub async fn department(&self, t: &TenantCtx, name: &str, parent: Option<&str>) -> Value {
        let r = self
            .post(
                t.tenant.slug.as_str(),
                Some(&t.admin_token),
                "/api/v1/departments",
                json!({"name": name, "kind": "department", "parent_id": parent}),
            )
            .await;
        r.assert_status(poem::http::StatusCode::CREATED);
        body(r).await
    }

    pub async fn person(
        &self,
        t: &TenantCtx,
        kind: &str,
        given: &str,
        email: &str,
        department: Option<&str>,
    ) -> Value {
        let r = self
            .post(
                t.tenant.slug.as_str(),
                Some(&t.admin_token),
                "/api/v1/people",
                json!({"kind": kind, "given_name": given, "family_name": "Test", "email": email, "department_id": department}),
            )
            .await;
        r.assert_status(poem::http::StatusCode::CREATED);
        body(r).await
    }

    /// Signs in a new account with the given roles for a directory entry.
    pub async fn account(
        &self,
        t: &TenantCtx,
        person: &Value,
        grants: &[domain::identity::RoleGrant],
    ) -> String {
        let pid = uuid::Uuid::parse_str(person["id"].as_str().expect("id")).expect("uuid");
        let email = person["email"].as_str().expect("email");
        domain::identity::service::create_account_with_password(
            &self.tenancy,
            &t.tenant,
            pid,
            email,
            PASSWORD,
            grants,
        )
        .await
        .expect("account");
        self.login(t.tenant.slug.as_str(), email, PASSWORD).await
    }
}

pub async fn body(r: TestResponse) -> Value {
    let text = r.0.into_body().into_string().await.expect("body");
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// Asserts an RFC 9457 problem with this status and returns it.
pub async fn problem(r: TestResponse, status: u16) -> Value {
    assert_eq!(r.0.status().as_u16(), status, "status");
    let ct =
        r.0.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
    assert!(
        ct.starts_with("application/problem+json"),
        "content-type {ct}"
    );
    let v = body(r).await;
    assert_eq!(v["status"].as_u64(), Some(status as u64), "{v}");
    assert!(
        v["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:swiftacare:problem:")),
        "{v}"
    );
    assert!(v["title"].is_string(), "{v}");
    v
}

/// A real SMTP server (aiosmtpd, tests/smtp_sink.py) on a free loopback port, killed on drop.
pub struct SmtpSink {
    child: std::process::Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        use std::io::BufRead;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let dir = tempfile::tempdir().expect("dir");
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/smtp_sink.py");
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(dir.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the SMTP sink (python3 with aiosmtpd; see ops/dev/ensure-services.sh)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("sink output");
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        SmtpSink { child, port, dir }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// All messages received so far, as raw text, oldest first.
    pub fn messages(&self) -> Vec<String> {
        read_eml(self.dir.path())
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn read_eml(dir: &std::path::Path) -> Vec<String> {
    let mut out: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .filter_map(|e| {
                    Some((
                        e.metadata().ok()?.modified().ok()?,
                        std::fs::read_to_string(e.path()).ok()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|(t, _)| *t);
    out.into_iter().map(|(_, m)| decode_qp(&m)).collect()
}

/// The single-use secret (`sco_` + 64 hex) in a message.
pub fn token_in(message: &str) -> Option<String> {
    let at = message.find("sco_")?;
    let hex: String = message[at + 4..].chars().take(64).collect();
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then(|| format!("sco_{hex}"))
}

/// Decodes quoted-printable (soft line breaks and `=XX`), as a mail client does before showing
/// the text. Applied to the whole message: harmless for the headers these tests read.
pub fn decode_qp(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The production throttling policy with millisecond delays, so tests exercise every step fast.
pub fn fast_policy() -> swiftacare_api::throttle::Policy {
    swiftacare_api::throttle::Policy {
        delay_unit: std::time::Duration::from_millis(5),
        ..Default::default()
    }
}

/// A fresh random signing key (each test app signs its own tokens).
pub fn rand_key() -> Vec<u8> {
    uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .chain(uuid::Uuid::new_v4().as_bytes())
        .copied()
        .collect()
}

/// The TOTP code an authenticator app would show for this base32 secret, `steps` steps of 30 s
/// from now (0 = now; the server accepts one step either side).
pub fn totp_code(secret_base32: &str, steps: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret_base32).expect("base32 secret");
    let t = totp_rs::Builder::new()
        .with_secret(secret)
        .build()
        .expect("totp");
    let at = (chrono::Utc::now().timestamp() + steps * 30).max(0) as u64;
    t.generate(at).to_string()
}

/// Enrols and confirms an authenticator for the signed-in caller; returns (secret, recovery codes).
pub async fn enrol_totp(app: &TestApp, slug: &str, token: &str) -> (String, Vec<String>) {
    let r = app
        .post(
            slug,
            Some(token),
            "/api/v1/auth/mfa/totp",
            serde_json::json!({}),
        )
        .await;
    r.assert_status_is_ok();
    let e = body(r).await;
    let secret = e["secret"].as_str().expect("secret").to_owned();
    let r = app
        .post(
            slug,
            Some(token),
            "/api/v1/auth/mfa/totp/confirm",
            serde_json::json!({"code": totp_code(&secret, 0)}),
        )
        .await;
    r.assert_status_is_ok();
    let codes = body(r).await["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect();
    (secret, codes)
}

/// An application client over the given pools (for tests that build their own `Tenancy`), with
/// a file mailer, the fast throttle and this signing key.
pub fn client_for(tenancy: Tenancy, key: &[u8]) -> TestClient<BoxEndpoint<'static>> {
    let state = AppState {
        tenancy,
        base_domain: None,
        metrics: swiftacare_api::telemetry::metrics_handle(),
        public_url: "http://test".into(),
        mailer: std::sync::Arc::new(
            swiftacare_api::mail::Mailer::new(
                None,
                "T <t@t.test>",
                std::env::temp_dir().join("swiftacare-test-mail"),
            )
            .expect("mailer"),
        ),
        throttle: std::sync::Arc::new(swiftacare_api::throttle::Throttle::memory(fast_policy())),
        trust_forwarded_for: true,
        signer: std::sync::Arc::new(
            domain::identity::tokens::TokenSigner::new(key).expect("signer"),
        ),
    };
    TestClient::new(app::build(state, 1024, None).map_to_response().boxed())
}

/// Runs one SQL statement as the database owner, through psql (as the test databases are
/// made), to set up what no API may do, such as moving a deadline into the past.
pub async fn sql(url: &str, statement: &str) {
    let out = tokio::process::Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", statement])
        .output()
        .await
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The instant of `hour`:00 local time on `date` in `zone`.
pub fn at_local(date: chrono::NaiveDate, hour: u32, zone: &str) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    let tz: chrono_tz::Tz = zone.parse().expect("zone");
    tz.from_local_datetime(&date.and_hms_opt(hour, 0, 0).expect("time"))
        .earliest()
        .expect("local time exists")
        .with_timezone(&chrono::Utc)
}

/// The first column of the first row of a `SELECT count(*) …`, through psql.
pub async fn sql_count(url: &str, query: &str) -> i64 {
    let out = tokio::process::Command::new("psql")
        .args([
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            url,
            "-c",
            query,
        ])
        .output()
        .await
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a count")
}

//! The real `swiftacare` binary: `tenant create` / `tenant list`, `migrate` idempotency, bad
//! configuration, and a running `serve` whose logs and metrics carry no personal data.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::TestDb;

fn swiftacare(db: &TestDb) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_swiftacare"));
    // Keep the binary's data directory (token key, mail) out of the source tree.
    c.env(
        "SWIFTACARE_DATA_DIR",
        std::env::temp_dir().join(format!("swiftacare-cli-test-{}", db.name)),
    );
    c.env("DATABASE_URL", &db.url)
        .env("SWIFTACARE_LOG", "warn")
        .env_remove("SWIFTACARE_ADDR");
    c
}

fn run(mut c: Command) -> (bool, String, String) {
    let out = c.output().expect("run swiftacare");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn tenant_create_list_and_idempotent_migrate() {
    let db = TestDb::new();
    let (ok, out, err) = run({
        let mut c = swiftacare(&db);
        c.arg("migrate");
        c
    });
    assert!(ok, "{out}{err}");
    let control = tenancy::migrate::CONTROL_MIGRATIONS;
    let n = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&control)
        .expect("control migrations")
        .len();
    assert!(
        out.contains(&format!("control: {n} migration(s) applied")),
        "{out}"
    );

    let (ok, out, err) = run({
        let mut c = swiftacare(&db);
        c.args([
            "tenant",
            "create",
            "--slug",
            "st-marys",
            "--name",
            "St Mary's Hospital",
            "--kind",
            "hospital",
            "--admin-email",
            "it@stmarys.test",
        ]);
        c
    });
    assert!(ok, "{out}{err}");
    assert!(out.contains("Created tenant st-marys (hospital)"), "{out}");
    assert!(out.contains("sco_"), "prints the one-time secret: {out}");

    let (ok, out, _) = run({
        let mut c = swiftacare(&db);
        c.args(["tenant", "list"]);
        c
    });
    assert!(ok);
    let latest =
        tenancy::migrate::latest_version(&tenancy::migrate::TENANT_MIGRATIONS).expect("latest");
    let line = out
        .lines()
        .find(|l| l.starts_with("st-marys"))
        .unwrap_or_else(|| panic!("listed: {out}"));
    assert!(
        line.contains("active") && line.contains("hospital") && line.contains(&latest),
        "{line}"
    );

    // The same slug again is refused with a clear message, and nothing changes.
    let (ok, out, err) = run({
        let mut c = swiftacare(&db);
        c.args([
            "tenant",
            "create",
            "--slug",
            "st-marys",
            "--name",
            "Again",
            "--kind",
            "clinic",
            "--admin-email",
            "x@y.test",
        ]);
        c
    });
    assert!(!ok, "{out}");
    assert!(err.contains("already exists"), "{err}");
    // A malformed slug names the flag.
    let (ok, _, err) = run({
        let mut c = swiftacare(&db);
        c.args([
            "tenant",
            "create",
            "--slug",
            "Bad Slug",
            "--name",
            "x",
            "--kind",
            "clinic",
            "--admin-email",
            "x@y.test",
        ]);
        c
    });
    assert!(!ok);
    assert!(err.contains("--slug"), "{err}");

    // migrate is idempotent.
    for _ in 0..2 {
        let (ok, out, err) = run({
            let mut c = swiftacare(&db);
            c.arg("migrate");
            c
        });
        assert!(ok, "{out}{err}");
        assert!(
            out.contains("summary: 0 migrated, 0 failed, 1 up to date"),
            "{out}"
        );
    }

    // Suspend, then list shows it.
    let (ok, _, _) = run({
        let mut c = swiftacare(&db);
        c.args(["tenant", "suspend", "st-marys"]);
        c
    });
    assert!(ok);
    let (_, out, _) = run({
        let mut c = swiftacare(&db);
        c.args(["tenant", "list"]);
        c
    });
    assert!(
        out.lines()
            .any(|l| l.starts_with("st-marys") && l.contains("suspended")),
        "{out}"
    );
}

#[test]
fn invalid_configuration_names_the_variable() {
    let db = TestDb::new();
    let mut c = swiftacare(&db);
    c.env("SWIFTACARE_DB_POOL_SIZE", "lots").arg("migrate");
    let (ok, _, err) = run(c);
    assert!(!ok);
    assert!(err.contains("SWIFTACARE_DB_POOL_SIZE"), "{err}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("write");
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok();
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn serve_answers_and_logs_no_personal_data() {
    let db = TestDb::new();
    let (ok, out, err) = run({
        let mut c = swiftacare(&db);
        c.args([
            "tenant",
            "create",
            "--slug",
            "logtest",
            "--name",
            "Log Test",
            "--kind",
            "clinic",
            "--admin-email",
            "secret.person@logtest.test",
            "--admin-given-name",
            "Zebediah",
            "--admin-family-name",
            "Quixote",
        ]);
        c
    });
    assert!(ok, "{out}{err}");
    let token = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("sco_").map(|t| format!("sco_{t}")))
        .expect("token printed");

    let port = free_port();
    let mut child = swiftacare(&db)
        .env("SWIFTACARE_ADDR", format!("127.0.0.1:{port}"))
        .env("SWIFTACARE_LOG", "debug")
        .env("SWIFTACARE_LOG_FORMAT", "json")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    // Drain stderr continuously: a full pipe would block the server's logging.
    let mut stderr = child.stderr.take().expect("stderr");
    let drain = std::thread::spawn(move || {
        let mut logs = String::new();
        stderr.read_to_string(&mut logs).ok();
        logs
    });
    let started = Instant::now();
    while http_ok(port).is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "serve did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(http(port, "GET", "/readyz", &[], "").0, 200);
    let (status, spec) = http(port, "GET", "/openapi.json", &[], "");
    assert_eq!(status, 200);
    assert!(spec.contains("\"openapi\""));
    assert_eq!(http(port, "GET", "/docs", &[], "").0, 200);

    let json = [
        ("Content-Type", "application/json"),
        ("X-Tenant", "logtest"),
    ];
    let password = "zebediah's very own passphrase";
    let (status, _) = http(
        port,
        "POST",
        "/api/v1/auth/setup",
        &json,
        &format!(r#"{{"token":"{token}","password":"{password}"}}"#),
    );
    assert_eq!(status, 204);
    let (status, body) = http(
        port,
        "POST",
        "/api/v1/auth/login",
        &json,
        &format!(r#"{{"email":"secret.person@logtest.test","password":"{password}"}}"#),
    );
    assert_eq!(status, 200, "{body}");
    let session = body
        .split("\"access_token\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("session")
        .to_owned();
    let (status, _) = http(
        port,
        "POST",
        "/api/v1/auth/login",
        &json,
        r#"{"email":"secret.person@logtest.test","password":"not the password"}"#,
    );
    assert_eq!(status, 401);
    let auth = format!("Bearer {session}");
    let authed = [
        ("Content-Type", "application/json"),
        ("X-Tenant", "logtest"),
        ("Authorization", auth.as_str()),
    ];
    let (status, person) = http(
        port,
        "POST",
        "/api/v1/people",
        &authed,
        r#"{"kind":"client","given_name":"Ophelia","family_name":"Nightingale","email":"ophelia@patients.test"}"#,
    );
    assert_eq!(status, 201);
    // A referral: its reason is health data and its referrer a name.
    let client_id = serde_json::from_str::<serde_json::Value>(&person).expect("person")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, _) = http(
        port,
        "POST",
        "/api/v1/referrals",
        &authed,
        &format!(
            r#"{{"client_id":"{client_id}","reason":"Recurrent panickyattacks canary","referrer_name":"Dr Canarywharf"}}"#
        ),
    );
    assert_eq!(status, 201);
    let (_, metrics) = http(port, "GET", "/metrics", &[], "");
    assert!(
        metrics.contains("swiftacare_http_requests_total{route=\"createPerson\""),
        "{metrics}"
    );
    assert!(
        !metrics.contains("logtest") && !metrics.contains("tenant="),
        "metrics must not carry tenants"
    );

    child.kill().ok();
    child.wait().ok();
    let logs = drain.join().expect("drain");
    assert!(
        logs.contains("\"request_id\""),
        "logs are JSON with request ids: {logs}"
    );
    assert!(
        logs.contains("\"tenant_id\""),
        "requests carry the tenant id: {logs}"
    );
    for secret in [
        "secret.person",
        "Zebediah",
        "Quixote",
        "Ophelia",
        "Nightingale",
        "ophelia@",
        "panickyattacks",
        "Canarywharf",
        password,
        &session,
        &token,
        "logtest.test",
    ] {
        assert!(
            !logs.contains(secret),
            "the logs contain personal data or a secret: {secret}"
        );
    }
}

fn http_ok(port: u16) -> Option<()> {
    std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    (http(port, "GET", "/healthz", &[], "").0 == 200).then_some(())
}

//! Brute-force protection (identity issue; QUALITY T9): per-account and per-address lockout,
//! the same answer for unknown accounts, counters in Redis without emails, and sign-in that
//! keeps working — and keeps being throttled — when Redis is down.

use std::sync::Arc;

use serde_json::{Value, json};
use swiftacare_api::throttle::Throttle;

use crate::support::{PASSWORD, TestApp, fast_policy, problem};

async fn attempt(app: &TestApp, email: &str, password: &str, address: &str) -> (u16, Value) {
    let r = app
        .client
        .post("/api/v1/auth/login")
        .header("X-Tenant", "acme")
        .header("X-Forwarded-For", address)
        .body_json(&json!({"email": email, "password": password}))
        .send()
        .await;
    let status = r.0.status().as_u16();
    let retry =
        r.0.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
    let mut body = crate::support::body(r).await;
    if let Some(r) = retry {
        body["retry_after_header"] = json!(r);
    }
    (status, body)
}

/// Ten failures lock the account key: the right password is refused too, an unknown email is
/// treated the same, other accounts are unaffected, and the lockout is audited.
async fn lockout_scenario(app: &TestApp, admin_email: &str) {
    let policy = fast_policy();
    for i in 0..policy.account_lock_at {
        let (status, _) = attempt(
            app,
            admin_email,
            "wrong password!",
            &format!("198.51.100.{i}"),
        )
        .await;
        assert_eq!(status, 401, "attempt {i}");
    }
    let (status, body) = attempt(app, admin_email, PASSWORD, "198.51.100.200").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["type"], "urn:swiftacare:problem:too-many-attempts");
    assert!(
        body["retry_after_header"]
            .as_str()
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|s| s > 60),
        "{body}"
    );

    // An unknown email gets exactly the same treatment (no account enumeration).
    for _ in 0..policy.account_lock_at {
        assert_eq!(
            attempt(app, "nobody@acme.test", "wrong password!", "198.51.100.201")
                .await
                .0,
            401
        );
    }
    assert_eq!(
        attempt(app, "nobody@acme.test", "wrong password!", "198.51.100.202")
            .await
            .0,
        429
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_failures_lock_the_account_in_memory() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;
    let colleague = app.person(&a, "staff", "Col", "col@acme.test", None).await;
    app.account(
        &a,
        &colleague,
        &[domain::identity::RoleGrant {
            role: domain::identity::Role::Staff,
            department_id: None,
        }],
    )
    .await;
    lockout_scenario(&app, &a.admin_email).await;
    // Another account still signs in.
    assert_eq!(
        attempt(&app, "col@acme.test", PASSWORD, "198.51.100.203")
            .await
            .0,
        200
    );
    // Audited as denied, by nobody in particular.
    let events = crate::support::body(
        app.get(
            "acme",
            Some(&app.login("acme", "col@acme.test", PASSWORD).await),
            "/api/v1/audit-events",
        )
        .await,
    )
    .await;
    assert_eq!(
        events["status"], 403,
        "a staff member cannot read the audit log: {events}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_address_trying_many_accounts_is_locked() {
    let app = TestApp::new().await;
    let a = app.tenant("acme").await;
    let policy = fast_policy();
    for i in 0..policy.address_lock_at {
        assert_eq!(
            attempt(
                &app,
                &format!("guess{i}@acme.test"),
                "password guess",
                "203.0.113.9"
            )
            .await
            .0,
            401
        );
    }
    assert_eq!(
        attempt(&app, &a.admin_email, PASSWORD, "203.0.113.9")
            .await
            .0,
        429
    );
    assert_eq!(
        attempt(&app, &a.admin_email, PASSWORD, "203.0.113.10")
            .await
            .0,
        200
    );
}

fn redis_keys(prefix: &str) -> Vec<String> {
    let out = std::process::Command::new("redis-cli")
        .args([
            "-h",
            "127.0.0.1",
            "--scan",
            "--pattern",
            &format!("{prefix}:*"),
        ])
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn redis_del(prefix: &str) {
    for k in redis_keys(prefix) {
        let _ = std::process::Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "DEL", &k])
            .output();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn counters_live_in_redis_without_emails_or_addresses() {
    let prefix = format!("swiftacare-test-{}", uuid::Uuid::new_v4().simple());
    let throttle =
        Throttle::redis("redis://127.0.0.1:6379", &prefix, fast_policy()).expect("redis url");
    let app = TestApp::with(|s| s.throttle = Arc::new(throttle)).await;
    let a = app.tenant("acme").await;
    lockout_scenario(&app, &a.admin_email).await;
    let keys = redis_keys(&prefix);
    assert!(
        keys.iter().any(|k| k.contains(":throttle:lock:")),
        "{keys:?}"
    );
    for k in &keys {
        assert!(
            !k.contains("acme.test") && !k.contains("198.51") && !k.contains("nobody"),
            "{k}"
        );
    }
    // A second server sharing Redis sees the same lockout.
    let shared =
        Throttle::redis("redis://127.0.0.1:6379", &prefix, fast_policy()).expect("redis url");
    let keys2 = swiftacare_api::throttle::Keys::new(a.tenant.id, &a.admin_email, None);
    assert!(matches!(
        shared.check(&keys2).await,
        swiftacare_api::throttle::Decision::Locked(_)
    ));
    redis_del(&prefix);
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_down_sign_in_works_and_is_still_throttled() {
    // Nothing listens on port 1.
    let throttle = Throttle::redis("redis://127.0.0.1:1", "swiftacare-down", fast_policy())
        .expect("redis url");
    let app = TestApp::with(|s| s.throttle = Arc::new(throttle)).await;
    let a = app.tenant("acme").await;
    assert_eq!(
        attempt(&app, &a.admin_email, PASSWORD, "192.0.2.1").await.0,
        200
    );
    lockout_scenario(&app, &a.admin_email).await;
    // Authorization does not depend on Redis at all: an existing session keeps working.
    app.get("acme", Some(&a.admin_token), "/api/v1/auth/me")
        .await
        .assert_status_is_ok();
    problem(
        app.get("acme", Some("sct_forged"), "/api/v1/auth/me").await,
        401,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lockout_expires() {
    let policy = swiftacare_api::throttle::Policy {
        lockout: std::time::Duration::from_secs(1),
        ..fast_policy()
    };
    let app = TestApp::with(|s| s.throttle = Arc::new(Throttle::memory(policy))).await;
    let a = app.tenant("acme").await;
    for _ in 0..policy.account_lock_at {
        assert_eq!(
            attempt(&app, &a.admin_email, "wrong password!", "198.51.100.7")
                .await
                .0,
            401
        );
    }
    assert_eq!(
        attempt(&app, &a.admin_email, PASSWORD, "198.51.100.7")
            .await
            .0,
        429
    );
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(
        attempt(&app, &a.admin_email, PASSWORD, "198.51.100.7")
            .await
            .0,
        200,
        "the lock lifted after its time"
    );
}

//! Jobs (issue 6) against the real database and the real RabbitMQ on loopback (each broker
//! test in a vhost of its own, deleted afterwards): reminders written through the outbox in
//! the booking's transaction, sent once, never for a cancelled or moved appointment; the
//! embedded runner; the broker relay and consumer, redeliveries, and a poison message parked
//! in the dead-letter queue while the rest keep flowing.

use std::sync::Arc;

use poem::http::Method;
use serde_json::json;

use crate::scheduling::{at, book_as, calendar, client, etag_of, send};
use crate::support::{TenantCtx, TestApp, body, read_eml, sql};
use swiftacare_api::jobs::Runner;
use swiftacare_api::mail::Mailer;

pub fn runner(app: &TestApp) -> Runner {
    let mailer = Mailer::new(
        None,
        "Swiftacare <no-reply@swiftacare.test>",
        app.mail_dir.path().to_owned(),
    )
    .expect("mailer");
    Runner::new(app.tenancy.clone(), Arc::new(mailer))
}

/// Makes every pending job due now (the reminders are days away).
pub async fn all_due(app: &TestApp) {
    sql(
        app.db_url(),
        "UPDATE swiftacare_jobs.outbox SET available_at = now() WHERE status = 'pending'",
    )
    .await;
}

fn mails_to(app: &TestApp, email: &str) -> Vec<String> {
    let to = format!("To: {email}");
    read_eml(app.mail_dir.path())
        .into_iter()
        .filter(|m| m.contains(&to))
        .collect()
}

pub(crate) async fn reminder_log(
    app: &TestApp,
    t: &TenantCtx,
    id: &str,
) -> Vec<(String, Option<String>)> {
    let r = app
        .get(
            t.tenant.slug.as_str(),
            Some(&t.admin_token),
            &format!("/api/v1/appointments/{id}/reminders"),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 200);
    body(r)
        .await
        .as_array()
        .expect("log")
        .iter()
        .map(|d| {
            (
                d["status"].as_str().unwrap_or_default().to_owned(),
                d["detail"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn reminders_are_sent_once_and_never_for_cancelled_or_moved_appointments() {
    let app = TestApp::new().await;
    let t = app.tenant("rem").await;
    let cal = calendar(&app, &t, "r", "America/Toronto").await;
    let (kept, cancelled, moved) = (
        client(&app, &t, "kept").await,
        client(&app, &t, "gone").await,
        client(&app, &t, "moved").await,
    );
    let book = |c: String, minutes: i64| {
        let (app, t, cal) = (&app, &t, &cal);
        async move {
            let r = book_as(
                app,
                "rem",
                &t.admin_token,
                &cal.provider,
                Some(&c),
                &cal.type_id,
                at(4, minutes),
            )
            .await;
            assert_eq!(r.0.status().as_u16(), 201);
            let tag = etag_of(&r);
            (body(r).await["id"].as_str().expect("id").to_owned(), tag)
        }
    };
    let (a_kept, _) = book(kept.clone(), 15 * 60).await;
    let (a_gone, gone_tag) = book(cancelled.clone(), 16 * 60).await;
    let (a_moved, moved_tag) = book(moved.clone(), 17 * 60).await;
    // Two reminders (48 h and 2 h) per booking, written with the booking.
    let r = send(
        &app,
        Method::POST,
        "rem",
        &t.admin_token,
        &format!("/api/v1/appointments/{a_gone}/transitions"),
        Some(&gone_tag),
        Some(json!({"action": "cancel"})),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let r = send(
        &app,
        Method::POST,
        "rem",
        &t.admin_token,
        &format!("/api/v1/appointments/{a_moved}/reschedule"),
        Some(&moved_tag),
        Some(json!({"starts_at": at(5, 17 * 60).to_rfc3339()})),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 200);
    all_due(&app).await;
    let runner = runner(&app);
    let handled = runner.poll_once(100).await.expect("poll");
    assert_eq!(
        handled, 8,
        "2 kept + 2 cancelled + 2 for the old time + 2 for the new time"
    );
    assert_eq!(
        runner.poll_once(100).await.expect("poll"),
        0,
        "nothing left"
    );

    let kept_mails = mails_to(&app, "kept@rem.test");
    assert_eq!(kept_mails.len(), 2, "one per offset");
    let m = &kept_mails[0];
    assert!(m.contains("Prov Test"), "names the provider: {m}");
    assert!(m.contains("America/Toronto"), "{m}");
    // 15:00 UTC in Toronto: 10:00 (EST) or 11:00 (EDT), depending on the date.
    assert!(
        m.contains("10:00") || m.contains("11:00"),
        "local time: {m}"
    );
    assert!(
        !m.contains("Session r"),
        "no appointment type (health information) in the text: {m}"
    );
    assert!(!m.contains("Extra"), "no client name in the text: {m}");
    assert!(
        mails_to(&app, "gone@rem.test").is_empty(),
        "never for a cancelled appointment"
    );
    assert_eq!(
        mails_to(&app, "moved@rem.test").len(),
        2,
        "only the new time's reminders"
    );

    assert_eq!(
        reminder_log(&app, &t, &a_kept).await,
        vec![("sent".into(), None); 2]
    );
    assert_eq!(
        reminder_log(&app, &t, &a_gone).await,
        vec![("skipped".into(), Some("cancelled".into())); 2]
    );
    let moved_log = reminder_log(&app, &t, &a_moved).await;
    assert_eq!(
        moved_log.iter().filter(|d| d.0 == "sent").count(),
        2,
        "{moved_log:?}"
    );
    assert_eq!(
        moved_log
            .iter()
            .filter(|d| d.1.as_deref() == Some("moved"))
            .count(),
        2,
        "{moved_log:?}"
    );

    // A redelivery (the runner crashed after sending, before marking the row): no second mail.
    sql(
        app.db_url(),
        "UPDATE swiftacare_jobs.outbox SET status = 'pending', available_at = now()",
    )
    .await;
    assert_eq!(runner.poll_once(100).await.expect("poll"), 8);
    assert_eq!(mails_to(&app, "kept@rem.test").len(), 2, "never sent twice");
    assert_eq!(mails_to(&app, "moved@rem.test").len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn reminders_follow_the_tenant_policy() {
    let app = TestApp::new().await;
    let t = app.tenant("pol").await;
    let cal = calendar(&app, &t, "p", "UTC").await;
    let r = app
        .get("pol", Some(&t.admin_token), "/api/v1/scheduling/policy")
        .await;
    let tag = etag_of(&r);
    // An unknown channel and bad offsets: both named.
    let r = app
        .patch(
            "pol",
            &t.admin_token,
            "/api/v1/scheduling/policy",
            Some(&tag),
            json!({"reminder_channels": ["fax"], "reminder_offsets_minutes": [0]}),
        )
        .await;
    let p = crate::support::problem(r, 422).await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"/reminder_channels") && fields.contains(&"/reminder_offsets_minutes"),
        "{p}"
    );
    let r = app
        .patch("pol", &t.admin_token, "/api/v1/scheduling/policy", Some(&tag), json!({"reminder_offsets_minutes": [1440], "reminder_template": "See {provider} {date} {time}"}))
        .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let who = client(&app, &t, "one").await;
    let r = book_as(
        &app,
        "pol",
        &t.admin_token,
        &cal.provider,
        Some(&who),
        &cal.type_id,
        at(3, 600),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 201);
    all_due(&app).await;
    assert_eq!(
        runner(&app).poll_once(100).await.expect("poll"),
        1,
        "one offset now"
    );
    let mails = mails_to(&app, "one@pol.test");
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("See Prov Test"), "{}", mails[0]);
    // Reminders off: nothing is even scheduled.
    let r = app
        .get("pol", Some(&t.admin_token), "/api/v1/scheduling/policy")
        .await;
    let tag = etag_of(&r);
    let r = app
        .patch(
            "pol",
            &t.admin_token,
            "/api/v1/scheduling/policy",
            Some(&tag),
            json!({"reminders_enabled": false}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let r = book_as(
        &app,
        "pol",
        &t.admin_token,
        &cal.provider,
        Some(&who),
        &cal.type_id,
        at(3, 720),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 201);
    all_due(&app).await;
    assert_eq!(runner(&app).poll_once(100).await.expect("poll"), 0);
}

/// A RabbitMQ vhost of the test's own, deleted on drop.
struct Vhost {
    name: String,
}

impl Vhost {
    fn new() -> Vhost {
        let name = format!("swiftacare_test_{}", uuid::Uuid::now_v7().simple());
        for args in [
            vec!["add_vhost", name.as_str()],
            vec![
                "set_permissions",
                "-p",
                name.as_str(),
                "guest",
                ".*",
                ".*",
                ".*",
            ],
        ] {
            let out = std::process::Command::new("rabbitmqctl")
                .args(&args)
                .output()
                .expect("rabbitmqctl runs (ops/dev/ensure-services.sh starts RabbitMQ)");
            assert!(
                out.status.success(),
                "rabbitmqctl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Vhost { name }
    }
    fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:5672/{}", self.name)
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl")
            .args(["delete_vhost", &self.name])
            .output();
    }
}

async fn queue_depth(ch: &lapin::Channel, queue: &str) -> u32 {
    ch.queue_declare(
        queue.into(),
        lapin::options::QueueDeclareOptions {
            passive: true,
            durable: true,
            ..Default::default()
        },
        lapin::types::FieldTable::default(),
    )
    .await
    .expect("queue exists")
    .message_count()
}

#[tokio::test(flavor = "multi_thread")]
async fn broker_relay_and_consumers_deliver_once_and_park_poison_messages() {
    use swiftacare_api::jobs::amqp;
    let vhost = Vhost::new();
    let app = TestApp::new().await;
    let t = app.tenant("mq").await;
    let cal = calendar(&app, &t, "q", "UTC").await;
    let mut emails = Vec::new();
    for i in 0..5 {
        let c = client(&app, &t, &format!("m{i}")).await;
        let r = book_as(
            &app,
            "mq",
            &t.admin_token,
            &cal.provider,
            Some(&c),
            &cal.type_id,
            at(4, 600 + i * 60),
        )
        .await;
        assert_eq!(r.0.status().as_u16(), 201);
        emails.push(format!("m{i}@mq.test"));
    }
    all_due(&app).await;
    let runner = runner(&app);
    let (_conn, publish_ch, consume_ch) = amqp::connect(&vhost.url()).await.expect("broker");
    // A poison message, before the real ones: it must not hold them up.
    publish_ch
        .basic_publish(
            amqp::EXCHANGE.into(),
            "job".into(),
            lapin::options::BasicPublishOptions::default(),
            b"{not json",
            lapin::BasicProperties::default(),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    let relayed = amqp::relay_once(&runner, &publish_ch, 100)
        .await
        .expect("relay");
    assert_eq!(relayed, 10, "5 bookings × 2 reminders");
    assert_eq!(
        amqp::relay_once(&runner, &publish_ch, 100)
            .await
            .expect("relay"),
        0,
        "published rows are not relayed again"
    );
    // Relay the same jobs a second time, as after a crash between publishing and marking.
    sql(
        app.db_url(),
        "UPDATE swiftacare_jobs.outbox SET status = 'pending'",
    )
    .await;
    assert_eq!(
        amqp::relay_once(&runner, &publish_ch, 100)
            .await
            .expect("relay"),
        10
    );

    let consumer_runner = runner.clone();
    let consuming = tokio::spawn(async move {
        let _ = amqp::consume(&consumer_runner, &consume_ch, 8).await;
    });
    let started = std::time::Instant::now();
    loop {
        let sent: usize = emails.iter().map(|e| mails_to(&app, e).len()).sum();
        let idle = queue_depth(&publish_ch, amqp::QUEUE).await == 0;
        if sent >= 10 && idle {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "consumers stalled: {sent} sent"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    consuming.abort();
    for e in &emails {
        assert_eq!(
            mails_to(&app, e).len(),
            2,
            "{e}: exactly one mail per reminder"
        );
    }
    assert_eq!(
        queue_depth(&publish_ch, amqp::DEAD).await,
        1,
        "the poison message is parked"
    );
    let done = crate::support::sql_count(
        app.db_url(),
        "SELECT count(*) FROM swiftacare_jobs.outbox WHERE status = 'done'",
    )
    .await;
    assert_eq!(done, 10);
}

/// Counts the `.eml` files per recipient in `dir`.
fn mail_counts(dir: &std::path::Path) -> std::collections::HashMap<String, usize> {
    let mut counts = std::collections::HashMap::new();
    for m in read_eml(dir) {
        if let Some(to) = m.lines().find_map(|l| l.strip_prefix("To: ")) {
            *counts.entry(to.trim().to_owned()).or_insert(0) += 1;
        }
    }
    counts
}

fn rabbitmqctl(args: &[&str]) {
    let out = std::process::Command::new("rabbitmqctl")
        .args(args)
        .output()
        .expect("rabbitmqctl runs");
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// QUALITY T7 for reminders: the broker is stopped and started while the real `swiftacare
/// worker` runs the jobs, and the worker is killed with SIGKILL and replaced. At the end every
/// reminder has exactly one delivery record and no client received a reminder twice.
/// (The bulk-scheduling half of T7 waits for bulk scheduling.)
#[tokio::test(flavor = "multi_thread")]
async fn broker_restart_and_killed_worker_lose_or_repeat_no_reminder() {
    const BOOKINGS: i64 = 150;
    let vhost = Vhost::new();
    let app = TestApp::new().await;
    let t = app.tenant("t7").await;
    let cal = calendar(&app, &t, "t7", "UTC").await;
    for i in 0..BOOKINGS {
        let c = client(&app, &t, &format!("c{i}")).await;
        let r = book_as(
            &app,
            "t7",
            &t.admin_token,
            &cal.provider,
            Some(&c),
            &cal.type_id,
            at(4 + i / 40, (i % 40) * 30),
        )
        .await;
        assert_eq!(r.0.status().as_u16(), 201);
    }
    all_due(&app).await;
    let data = tempfile::tempdir().expect("data dir");
    let mail_dir = data.path().join("mail");
    let port = crate::idp::free_port();
    let worker = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_swiftacare"))
            .arg("worker")
            .env("SWIFTACARE_ADDR", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", app.db_url())
            .env("SWIFTACARE_AMQP_URL", vhost.url())
            .env("SWIFTACARE_DATA_DIR", data.path())
            .env("SWIFTACARE_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("worker starts")
    };
    let total = |dir: &std::path::Path| mail_counts(dir).values().sum::<usize>();
    let wait_for = |n: usize, dir: std::path::PathBuf| async move {
        let started = std::time::Instant::now();
        while total(&dir) < n && started.elapsed() < std::time::Duration::from_secs(120) {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    let expected = (BOOKINGS * 2) as usize;
    let mut first = worker();
    wait_for(expected / 4, mail_dir.clone()).await;
    // The broker goes away mid-run and comes back.
    eprintln!(
        "T7: {} of {expected} mails before the broker stops",
        total(&mail_dir)
    );
    rabbitmqctl(&["stop_app"]);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    rabbitmqctl(&["start_app"]);
    wait_for(expected / 2, mail_dir.clone()).await;
    // The worker dies without any chance to clean up; another takes over.
    eprintln!(
        "T7: {} of {expected} mails before SIGKILL",
        total(&mail_dir)
    );
    first.kill().expect("SIGKILL");
    let _ = first.wait();
    let mut second = worker();
    let started = std::time::Instant::now();
    loop {
        let done = crate::support::sql_count(
            app.db_url(),
            "SELECT count(*) FROM swiftacare_jobs.outbox WHERE status = 'done'",
        )
        .await;
        if done as usize == expected {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(180),
            "only {done} of {expected} jobs done"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // The worker's own metrics: what it processed, and nothing personal.
    let metrics = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .expect("worker metrics")
        .text()
        .await
        .expect("body");
    assert!(
        metrics.contains("swiftacare_jobs_processed_total"),
        "{metrics}"
    );
    assert!(!metrics.contains("@t7.test"), "no addresses in metrics");
    let _ = second.kill();
    let _ = second.wait();
    let counts = mail_counts(&mail_dir);
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 2).collect();
    assert!(
        repeated.is_empty(),
        "reminders delivered twice: {repeated:?}"
    );
    let schema = t.tenant.schema.as_str();
    let records = crate::support::sql_count(
        app.db_url(),
        &format!("SELECT count(*) FROM {schema}.reminder_deliveries"),
    )
    .await;
    assert_eq!(
        records as usize, expected,
        "one delivery record per reminder"
    );
    let sent = crate::support::sql_count(
        app.db_url(),
        &format!("SELECT count(*) FROM {schema}.reminder_deliveries WHERE status = 'sent'"),
    )
    .await;
    let mails = counts.values().sum::<usize>();
    // A SIGKILL between sending and recording `sent` leaves `sending` (at most once): the mail
    // count lies between the records marked sent and all records, and never above.
    assert!(
        mails >= sent as usize && mails <= expected,
        "{mails} mails, {sent} marked sent"
    );
    assert!(
        expected - sent as usize <= 16,
        "only the killed worker's in-flight reminders may be unconfirmed: {sent}/{expected}"
    );
}

/// What the test SMS gateway received: the signature header, the idempotency key, the body.
pub(crate) type Received = Arc<std::sync::Mutex<Vec<(String, String, serde_json::Value, Vec<u8>)>>>;

/// A tenant's SMS gateway on loopback: records each POST to `/sms` and answers 202.
pub(crate) async fn sms_gateway() -> (String, Received) {
    use poem::{EndpointExt, Route, Server, handler, listener::TcpListener, post, web::Data};
    #[handler]
    async fn take(req: &poem::Request, body: poem::Body, seen: Data<&Received>) -> poem::Response {
        let header = |n: &str| {
            req.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let bytes = body.into_vec().await.unwrap_or_default();
        let json = serde_json::from_slice(&bytes).unwrap_or_default();
        seen.0.lock().expect("lock").push((
            header("swiftacare-signature"),
            header("idempotency-key"),
            json,
            bytes,
        ));
        poem::Response::builder()
            .status(poem::http::StatusCode::ACCEPTED)
            .finish()
    }
    let seen: Received = Arc::default();
    let port = crate::idp::free_port();
    let app = Route::new().at("/sms", post(take)).data(seen.clone());
    tokio::spawn(Server::new(TcpListener::bind(format!("127.0.0.1:{port}"))).run(app));
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    (format!("http://127.0.0.1:{port}/sms"), seen)
}

pub(crate) async fn field_errors(r: poem::test::TestResponse) -> Vec<String> {
    let p = crate::support::problem(r, 422).await;
    p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sms_reminders_go_signed_to_the_gateway_once_and_only_with_consent() {
    use hmac::{Hmac, Mac};
    use swiftacare_api::jobs::sms::WebhookSms;
    const SECRET: &str = "a-gateway-secret-of-at-least-32-chars";
    let signer = Arc::new(domain::identity::tokens::TokenSigner::new(&[7u8; 32]).expect("signer"));
    let app = TestApp::with(|s| s.signer = signer.clone()).await;
    let t = app.tenant("sms").await;
    let cal = calendar(&app, &t, "s", "America/Toronto").await;
    let (url, seen) = sms_gateway().await;
    let policy = "/api/v1/scheduling/policy";
    let tag = etag_of(&app.get("sms", Some(&t.admin_token), policy).await);
    // Refused, each naming its field, nothing changed: SMS without a gateway, a gateway
    // without its secret, a URL that is not http(s), a secret too short.
    for (patch, field) in [
        (
            json!({"reminder_channels": ["email", "sms"]}),
            "/reminder_channels",
        ),
        (json!({"sms_webhook_url": url}), "/sms_webhook_secret"),
        (
            json!({"sms_webhook_url": "ftp://gw.example/x", "sms_webhook_secret": SECRET}),
            "/sms_webhook_url",
        ),
        (
            json!({"reminder_channels": ["sms", "sms"]}),
            "/reminder_channels",
        ),
    ] {
        let r = app
            .patch("sms", &t.admin_token, policy, Some(&tag), patch.clone())
            .await;
        assert!(field_errors(r).await.contains(&field.to_owned()), "{patch}");
    }
    let r = app
        .patch(
            "sms",
            &t.admin_token,
            policy,
            Some(&tag),
            json!({"sms_webhook_url": url, "sms_webhook_secret": "short"}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 400, "poem's length check");
    let r = app
        .patch(
            "sms",
            &t.admin_token,
            policy,
            Some(&tag),
            json!({"reminder_channels": ["email", "sms"], "reminder_offsets_minutes": [120],
                   "sms_webhook_url": url, "sms_webhook_secret": SECRET}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let p = body(r).await;
    assert_eq!(p["sms_webhook_secret_set"], true);
    assert!(
        !p.to_string().contains(SECRET),
        "the secret is never returned"
    );

    // Phone numbers are checked and kept in E.164; consent needs a number.
    let (texted, not_asked) = (
        client(&app, &t, "texted").await,
        client(&app, &t, "plain").await,
    );
    let person = |id: &str| format!("/api/v1/people/{id}");
    let tag = etag_of(&app.get("sms", Some(&t.admin_token), &person(&texted)).await);
    for (patch, field) in [
        (json!({"phone": "416 555 0123"}), "/phone"),
        (json!({"sms_reminders": true}), "/sms_reminders"),
    ] {
        let r = app
            .patch("sms", &t.admin_token, &person(&texted), Some(&tag), patch)
            .await;
        assert_eq!(field_errors(r).await, vec![field.to_owned()]);
    }
    let r = app
        .patch(
            "sms",
            &t.admin_token,
            &person(&texted),
            Some(&tag),
            json!({"phone": "+1 (416) 555-0123", "sms_reminders": true}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 200);
    let p = body(r).await;
    assert_eq!(
        (p["phone"].as_str(), p["sms_reminders"].as_bool()),
        (Some("+14165550123"), Some(true))
    );
    let tag = etag_of(
        &app.get("sms", Some(&t.admin_token), &person(&not_asked))
            .await,
    );
    let r = app
        .patch(
            "sms",
            &t.admin_token,
            &person(&not_asked),
            Some(&tag),
            json!({"phone": "+44 7911 123456"}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 200);

    let mut ids = Vec::new();
    for (who, minutes) in [(&texted, 600), (&not_asked, 660)] {
        let r = book_as(
            &app,
            "sms",
            &t.admin_token,
            &cal.provider,
            Some(who),
            &cal.type_id,
            at(4, minutes),
        )
        .await;
        assert_eq!(r.0.status().as_u16(), 201);
        ids.push(body(r).await["id"].as_str().expect("id").to_owned());
    }
    all_due(&app).await;
    let texting = runner(&app).with_sms(Arc::new(WebhookSms::new(signer.clone(), true)));
    assert_eq!(
        texting.poll_once(100).await.expect("poll"),
        4,
        "email + sms for each"
    );
    assert_eq!(texting.poll_once(100).await.expect("poll"), 0);
    {
        let got = seen.lock().expect("lock");
        assert_eq!(got.len(), 1, "one text: only the client who agreed");
        let (signature, key, json, raw) = &got[0];
        assert_eq!(json["to"], "+14165550123");
        let text = json["text"].as_str().expect("text");
        assert!(
            text.contains("Prov Test") && !text.contains("Session"),
            "{text}"
        );
        assert_eq!(json["message_id"].as_str(), Some(key.as_str()));
        // The gateway can check the signature with the secret alone.
        let (t_part, v1) = signature.split_once(",v1=").expect("t=…,v1=…");
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
        mac.update(format!("{}.", t_part.trim_start_matches("t=")).as_bytes());
        mac.update(raw);
        mac.verify_slice(&hex::decode(v1).expect("hex"))
            .expect("signature verifies");
    }
    let log = reminder_log(&app, &t, &ids[0]).await;
    assert_eq!(
        log.iter().filter(|(s, _)| s == "sent").count(),
        2,
        "{log:?}"
    );
    let log = reminder_log(&app, &t, &ids[1]).await;
    assert!(
        log.contains(&("skipped".into(), Some("no_consent".into()))),
        "{log:?}"
    );

    // The same gateway on loopback, with private addresses not allowed (production's
    // default): nothing leaves, and the log says why.
    let r = book_as(
        &app,
        "sms",
        &t.admin_token,
        &cal.provider,
        Some(&texted),
        &cal.type_id,
        at(5, 600),
    )
    .await;
    assert_eq!(r.0.status().as_u16(), 201);
    let id = body(r).await["id"].as_str().expect("id").to_owned();
    all_due(&app).await;
    let strict = runner(&app).with_sms(Arc::new(WebhookSms::new(signer, false)));
    assert_eq!(strict.poll_once(100).await.expect("poll"), 2);
    assert_eq!(seen.lock().expect("lock").len(), 1);
    let log = reminder_log(&app, &t, &id).await;
    assert!(
        log.contains(&("failed".into(), Some("sms_address_refused".into()))),
        "{log:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn waitlist_offers_are_emailed_once_and_not_once_taken() {
    let app = TestApp::new().await;
    let t = app.tenant("wlm").await;
    let cal = calendar(&app, &t, "w", "Europe/London").await;
    let policy = "/api/v1/scheduling/policy";
    let tag = etag_of(&app.get("wlm", Some(&t.admin_token), policy).await);
    let r = app
        .patch(
            "wlm",
            &t.admin_token,
            policy,
            Some(&tag),
            json!({"waitlist_offer_batch": 1}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 200);
    // Two slots held by others; two clients wait, in order.
    let mut held = Vec::new();
    for (i, minutes) in [(0, 600), (1, 720)] {
        let holder = client(&app, &t, &format!("holder{i}")).await;
        let r = book_as(
            &app,
            "wlm",
            &t.admin_token,
            &cal.provider,
            Some(&holder),
            &cal.type_id,
            at(6, minutes),
        )
        .await;
        assert_eq!(r.0.status().as_u16(), 201);
        let tag = etag_of(&r);
        held.push((body(r).await["id"].as_str().expect("id").to_owned(), tag));
    }
    let mut waiting = Vec::new();
    for i in 0..2 {
        waiting.push(
            crate::scheduling::waiting_client(
                &app,
                &t,
                &cal,
                &format!("w{i}@wlm.test"),
                at(6, 0),
                at(7, 0),
            )
            .await,
        );
    }
    let cancel = |(id, tag): (String, String)| {
        let (app, t) = (&app, &t);
        async move {
            let r = send(
                app,
                Method::POST,
                "wlm",
                &t.admin_token,
                &format!("/api/v1/appointments/{id}/transitions"),
                Some(&tag),
                Some(json!({"action": "cancel"})),
            )
            .await;
            assert_eq!(r.0.status().as_u16(), 200);
        }
    };
    // The first slot frees; the first client accepts in the app before the mail job runs:
    // no mail for an offer already taken.
    cancel(held[0].clone()).await;
    let v = body(app.get("wlm", Some(&waiting[0]), "/api/v1/waitlist").await).await;
    let offer = v[0]["offers"][0]["id"].as_str().expect("offer").to_owned();
    let r = app
        .post(
            "wlm",
            Some(&waiting[0]),
            &format!("/api/v1/waitlist/offers/{offer}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(r.0.status().as_u16(), 201, "accepted");
    let jobs = runner(&app);
    assert!(jobs.poll_once(100).await.expect("poll") >= 1);
    assert!(
        mails_to(&app, "w0@wlm.test").is_empty(),
        "taken before the mail: none"
    );
    // The second slot frees: the next client in line is told, once.
    cancel(held[1].clone()).await;
    assert!(jobs.poll_once(100).await.expect("poll") >= 1);
    assert_eq!(jobs.poll_once(100).await.expect("poll"), 0);
    let mails = mails_to(&app, "w1@wlm.test");
    assert_eq!(mails.len(), 1, "one offer, one mail");
    let m = &mails[0];
    // 12:00 UTC in June-ish or winter: the provider's zone is named either way.
    assert!(
        m.contains("A time has opened up with Prov Test") && m.contains("(Europe/London)"),
        "{m}"
    );
    assert!(m.contains("held for you until"), "{m}");
    assert!(!m.contains("Session"), "no service name: {m}");
    assert!(mails_to(&app, "w0@wlm.test").is_empty());
}

/// A transaction of its own holding the batch row (`FOR UPDATE`): the next chunk to finish
/// waits in `complete` with its rows written but not committed. Returns it with its xid.
#[expect(
    clippy::disallowed_methods,
    reason = "a second session outside the app, holding its transaction open on purpose"
)]
async fn hold_batch(url: &str, schema: &str, batch: &str) -> (tokio_postgres::Client, String) {
    let (db, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    db.batch_execute(&format!(
        "BEGIN; SELECT 1 FROM {schema}.bulk_batches WHERE id = '{batch}' FOR UPDATE"
    ))
    .await
    .expect("lock the batch row");
    let xid: String = db
        .query_one("SELECT pg_current_xact_id()::text", &[])
        .await
        .expect("xid")
        .get(0);
    (db, xid)
}

/// Waits until a backend (a chunk in flight) waits for transaction `xid`: the chunk met a row
/// that `xid` holds (a locked batch row, or an uncommitted booking under the exclusion
/// constraints).
pub async fn until_waited_on(url: &str, xid: &str) {
    let started = std::time::Instant::now();
    while crate::support::sql_count(
        url,
        &format!(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'
               AND transactionid::text = '{xid}'"
        ),
    )
    .await
        == 0
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "no chunk reached what transaction {xid} holds"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// QUALITY T7 for bulk scheduling: a 10,000-row batch runs through the real `swiftacare
/// worker`. Mid-batch, with a chunk in flight, the broker is stopped: that chunk commits but
/// its ack is lost, so it is delivered again after the broker is back. Later, with another
/// chunk in flight (its rows written, not committed), the worker is killed with SIGKILL and
/// replaced. At the end every row is booked once, every chunk applied once, and every booked
/// appointment has its reminders scheduled exactly once (two jobs: 48 h and 2 h before).
#[tokio::test(flavor = "multi_thread")]
async fn broker_restart_and_killed_worker_during_a_10000_row_bulk_batch() {
    use crate::scheduling::{all_week, appointment_type, hours};
    use crate::support::sql_count;
    use domain::identity::{Principal, Role, RoleGrant};
    use domain::scheduling::bulk::{self, input::RawRow};
    const ROWS: usize = 10_000;
    const PROVIDERS: usize = 25;
    let vhost = Vhost::new();
    let app = TestApp::new().await;
    let t = app.tenant("t7b").await;
    let schema = t.tenant.schema.as_str().to_owned();
    appointment_type(
        &app,
        &t,
        "T7",
        json!({"duration_minutes": 15, "slot_interval_minutes": 15}),
    )
    .await;
    let mut providers = Vec::new();
    for p in 0..PROVIDERS {
        let person = app
            .person(&t, "provider", "Prov", &format!("p{p}@t7b.test"), None)
            .await;
        let id = person["id"].as_str().expect("id").to_owned();
        hours(&app, &t, &id, "UTC", all_week("00:00", "23:55")).await;
        providers.push(id);
    }
    sql(
        app.db_url(),
        &format!(
            "INSERT INTO {schema}.people (id, kind, given_name, family_name, email)
             SELECT gen_random_uuid(), 'client', 'Bulk', 'Client ' || i, 'k' || i || '@t7b.test'
             FROM generate_series(1, {ROWS}) AS i"
        ),
    )
    .await;
    let day = |d: i64| (chrono::Utc::now().date_naive() + chrono::Duration::days(d)).to_string();
    let (from, until) = (day(3), day(19));
    // Submitted through the domain service the endpoint calls (the test app's body limit is
    // 64 KiB; the HTTP path is covered by the 500-row test in `bulk`).
    let rows: Vec<RawRow> = (1..=ROWS)
        .map(|i| RawRow {
            line: i as i32 + 1,
            client_email: Some(format!("k{i}@t7b.test")),
            provider_id: Some(providers[i % PROVIDERS].clone()),
            type_name: Some("T7".into()),
            window_from: Some(from.clone()),
            window_until: Some(until.clone()),
            ..RawRow::default()
        })
        .collect();
    let admin: String = {
        let out = tokio::process::Command::new("psql")
            .args([
                "-X",
                "-tA",
                app.db_url(),
                "-c",
                &format!(
                    "SELECT id FROM {schema}.accounts WHERE lower(email) = lower('{}')",
                    t.admin_email
                ),
            ])
            .output()
            .await
            .expect("psql");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let principal = Principal {
        account_id: admin.parse().expect("admin account id"),
        person_id: None,
        session_id: uuid::Uuid::now_v7(),
        grants: vec![RoleGrant {
            role: Role::InstitutionAdmin,
            department_id: None,
        }],
        request_id: None,
        mfa_enrolment_required: false,
        scopes: None,
    };
    let batch_id = uuid::Uuid::now_v7();
    let batch = batch_id.to_string();
    let submitted = bulk::submit(&app.tenancy, &t.tenant, &principal, batch_id, rows)
        .await
        .expect("submit");
    assert_eq!(submitted.total, ROWS as i64);
    let chunks = sql_count(
        app.db_url(),
        &format!("SELECT count(DISTINCT chunk) FROM {schema}.bulk_rows WHERE chunk >= 0"),
    )
    .await;
    assert!(chunks >= 4, "enough chunks to fail in the middle: {chunks}");
    let settled_sql = format!(
        "SELECT count(*) FROM {schema}.bulk_rows WHERE batch_id = '{batch}' AND status <> 'pending'"
    );
    let settled = || sql_count(app.db_url(), &settled_sql);

    let data = tempfile::tempdir().expect("data dir");
    let port = crate::idp::free_port();
    let worker = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_swiftacare"))
            .arg("worker")
            .env("SWIFTACARE_ADDR", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", app.db_url())
            .env("SWIFTACARE_AMQP_URL", vhost.url())
            .env("SWIFTACARE_DATA_DIR", data.path())
            .env("SWIFTACARE_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("worker starts")
    };
    let mut first = worker();
    let started = std::time::Instant::now();
    while settled().await == 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(120));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // 1. A chunk in flight when the broker stops: it commits once the batch row is free, but
    // its ack cannot reach the broker, so the broker delivers it again later.
    let (held, xid) = hold_batch(app.db_url(), &schema, &batch).await;
    until_waited_on(app.db_url(), &xid).await;
    let at_stop = settled().await;
    eprintln!("T7 bulk: {at_stop} of {ROWS} rows settled when the broker stops");
    assert!((at_stop as usize) < ROWS, "the broker must stop mid-batch");
    rabbitmqctl(&["stop_app"]);
    held.batch_execute("COMMIT").await.expect("release");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    rabbitmqctl(&["start_app"]);

    // 2. Another chunk in flight, its rows written but not committed: SIGKILL.
    let before = settled().await;
    let started = std::time::Instant::now();
    while settled().await == before {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the worker did not resume after the broker came back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (held, xid) = hold_batch(app.db_url(), &schema, &batch).await;
    until_waited_on(app.db_url(), &xid).await;
    let at_kill = settled().await;
    eprintln!("T7 bulk: {at_kill} of {ROWS} rows settled at SIGKILL");
    assert!((at_kill as usize) < ROWS, "the worker must die mid-batch");
    first.kill().expect("SIGKILL");
    let _ = first.wait();
    held.batch_execute("COMMIT").await.expect("release");
    let mut second = worker();
    let started = std::time::Instant::now();
    loop {
        let done = sql_count(
            app.db_url(),
            &format!(
                "SELECT count(*) FROM {schema}.bulk_batches WHERE id = '{batch}' AND status = 'completed'"
            ),
        )
        .await;
        if done == 1 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(180),
            "the batch did not complete: {} rows settled",
            settled().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = second.kill();
    let _ = second.wait();

    let count = |q: String| {
        let url = app.db_url().to_owned();
        async move { sql_count(&url, &q).await }
    };
    assert_eq!(
        count(format!(
            "SELECT count(*) FROM {schema}.bulk_rows WHERE batch_id = '{batch}' AND status = 'booked'"
        ))
        .await,
        ROWS as i64,
        "every row booked"
    );
    assert_eq!(
        count(format!("SELECT count(*) FROM {schema}.appointments")).await,
        ROWS as i64,
        "one appointment per row, none twice"
    );
    // Each chunk applied exactly once: one processed-job record and one audit entry each.
    assert_eq!(
        count(format!(
            "SELECT count(*) FROM {schema}.processed_jobs WHERE kind = 'bulk.place'"
        ))
        .await,
        chunks
    );
    assert_eq!(
        count(format!(
            "SELECT count(*) FROM {schema}.audit_log WHERE action = 'appointment.bulk_create'"
        ))
        .await,
        chunks
    );
    // Every booked appointment: its two reminders, scheduled exactly once.
    let wrong = count(format!(
        "SELECT count(*) FROM (SELECT a.id FROM {schema}.appointments a
           LEFT JOIN swiftacare_jobs.outbox o ON o.kind = 'reminder.send'
                AND (o.payload->>'appointment_id')::uuid = a.id
          GROUP BY a.id HAVING count(o.id) <> 2) x"
    ))
    .await;
    assert_eq!(wrong, 0, "appointments without exactly two reminder jobs");
    assert_eq!(
        count("SELECT count(*) FROM swiftacare_jobs.outbox WHERE kind = 'reminder.send'".into())
            .await,
        2 * ROWS as i64
    );
    let overlaps = count(format!(
        "SELECT count(*) FROM {schema}.appointments a JOIN {schema}.appointments b
           ON a.provider_id = b.provider_id AND a.id < b.id
          AND tstzrange(a.busy_from, a.busy_until) && tstzrange(b.busy_from, b.busy_until)"
    ))
    .await;
    assert_eq!(overlaps, 0);
}
